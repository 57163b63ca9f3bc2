"""Survival summary table against R survival on the aml data (R calls in comments)."""

import numpy as np
import pytest

from aplcohort.errors import InputError
from aplcohort.tables.format import format_p
from aplcohort.tables.survival import survival_summary, time_label

# R: survival::aml (public; 23 rows)
AML_T = [9, 13, 13, 18, 23, 28, 31, 34, 45, 48, 161, 5, 5, 8, 8, 12, 16, 23, 27, 30, 33, 43, 45]
AML_E = [1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 0, 1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1]
AML_X = ["Maintained"] * 11 + ["Nonmaintained"] * 12


def test_km_summary_against_r():
    t = survival_summary(AML_T, AML_E, AML_X, times=[12, 24], time_unit="weeks")
    d = t.data
    assert d.columns.tolist() == ["Group", "n", "Events", "Median (95% CI), weeks",
                                  "12-week (95% CI), %", "24-week (95% CI), %", "p"]
    # R: quantile(survfit(Surv(time, status) ~ x, aml), 0.5): 31 (18, NA); 23 (8, NA)
    assert d.iloc[0, :4].tolist() == ["Maintained", "11", "7", "31.0 (18.0\u2013NR)"]
    assert d.iloc[1, :4].tolist() == ["Nonmaintained", "12", "11", "23.0 (8.0\u2013NR)"]
    # R: summary(fit, times = c(12, 24)): 0.9090909 (0.7541338, 1); 0.6136364 (0.3768671, 0.9991576)
    assert d.iloc[0, 4] == "90.9 (75.4\u2013100.0)"
    assert d.iloc[0, 5] == "61.4 (37.7\u201399.9)"
    # 0.5833333 (0.3616137, 0.9409980); 0.4861111 (0.2675182, 0.8833192)
    assert d.iloc[1, 4:6].tolist() == ["58.3 (36.2\u201394.1)", "48.6 (26.8\u201388.3)"]
    # R: survdiff(Surv(time, status) ~ x, aml)$pvalue = 0.06533932
    assert d.iloc[0, 6] == "0.065" and d.iloc[1, 6] == ""
    r = t.raw
    np.testing.assert_allclose(r.loc[(r.group == "Maintained") & (r.time == 24), "estimate"],
                               0.6136364, rtol=1e-6)
    np.testing.assert_allclose(r["p"].iloc[0], 0.06533932, rtol=1e-6)


def test_beyond_follow_up_is_na_and_single_group():
    t = survival_summary(AML_T[11:], AML_E[11:], times=[50], test=True)
    assert t.data.columns.tolist() == ["Group", "n", "Events", "Median (95% CI), months",
                                       "50-month (95% CI), %"]
    assert t.data.iloc[0, 4] == "NE"
    assert "NE, not estimable: time beyond the last follow-up of the group." in t.footnotes


def test_competing_summary_uses_cuminc():
    from aplcohort.stats.competing import cumulative_incidence, gray_test
    code = np.array(AML_E) * np.array([1, 2] * 11 + [1])
    t = survival_summary(AML_T, code, AML_X, times=[24], competing=True, time_unit="weeks")
    assert t.data.columns.tolist() == ["Group", "n", "Events", "Competing events",
                                       "24-week (95% CI), %", "p"]
    ci = cumulative_incidence(AML_T, code, AML_X).at([24])
    row = ci[(ci.group == "Maintained") & (ci.cause == 1)].iloc[0]
    assert t.data.iloc[0, 4] == (f"{100 * row.estimate:.1f} ({100 * row.lower:.1f}\u2013"
                                 f"{100 * row.upper:.1f})")
    assert t.data.iloc[0, 5] == format_p(gray_test(AML_T, code, AML_X).p)
    n_ev = int(((code == 1) & (np.array(AML_X) == "Maintained")).sum())
    assert t.data.iloc[0, 2] == str(n_ev)


def test_errors():
    with pytest.raises(InputError, match="time_unit"):
        time_label(1, "hours")
    with pytest.raises(InputError, match="time_unit"):
        survival_summary(AML_T, AML_E, AML_X, time_unit="hours")
