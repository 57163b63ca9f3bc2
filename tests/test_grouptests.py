"""Tests of aplcohort.stats.grouptests against R 4.2.2 (stats package).

Reference values: tests/reference/grouptests.R -> tests/reference/grouptests.json
(input data: tests/reference/data/grouptests_lung.csv = R survival::lung).
The R call behind each comparison is written beside it.
"""

from __future__ import annotations

import json
import math
import warnings
from fractions import Fraction
from math import comb
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from aplcohort.errors import ApproximationWarning, InputError, StatisticalWarning
from aplcohort.stats import grouptests as gt
from aplcohort.stats._padjust import p_adjust

REF_DIR = Path(__file__).parent / "reference"


def _conv(v):
    if isinstance(v, str):
        return {"Inf": math.inf, "-Inf": -math.inf, "NA": math.nan, "NaN": math.nan}.get(v, v)
    if isinstance(v, list):
        return [_conv(a) for a in v]
    if isinstance(v, dict):
        return {k: _conv(a) for k, a in v.items()}
    return v


REF = _conv(json.loads((REF_DIR / "grouptests.json").read_text()))
LUNG = pd.read_csv(REF_DIR / "data" / "grouptests_lung.csv")


def close(actual, desired, rtol):
    np.testing.assert_allclose(np.asarray(actual, float), np.asarray(desired, float), rtol=rtol, atol=0)


# --------------------------------------------------------------------------- #
# Fisher
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("case", REF["fisher_2x2"], ids=lambda c: f"{c['name']}-{c['alternative']}-{c['conf_level']}")
def test_fisher_2x2_matches_r(case):
    # R: fisher.test(x, alternative = alt, conf.level = cl)
    r = gt.fisher_exact(case["table"], alternative=case["alternative"], conf_level=case["conf_level"])
    close(r.p, case["p"], 1e-10)
    # odds ratio and CI: R's uniroot is reproduced step by step
    close([r.estimate, r.lower, r.upper], [case["estimate"], case["lower"], case["upper"]], 1e-12)
    assert r.test == "Fisher's exact test"
    assert r.alternative == case["alternative"]


@pytest.mark.parametrize("name", list(REF["fisher_rxc"]))
def test_fisher_rxc_matches_r(name):
    # R: fisher.test(x)$p.value   (FEXACT network algorithm)
    case = REF["fisher_rxc"][name]
    r = gt.fisher_exact(case["table"])
    close(r.p, case["p"], 1e-10)
    assert math.isnan(r.estimate) and math.isnan(r.statistic)


def test_fisher_2x2_hand_worked():
    # [[3, 1], [1, 3]]: hypergeometric with margins 4/4, N = 8. P(x) = C(4,x)C(4,4-x)/C(8,4)
    # two-sided p = P(0)+P(1)+P(3)+P(4) = (1+16+16+1)/70 = 34/70
    r = gt.fisher_exact([[3, 1], [1, 3]])
    assert r.p == pytest.approx(34 / 70, rel=1e-14)
    # one-sided 'greater': P(x >= 3) = 17/70
    assert gt.fisher_exact([[3, 1], [1, 3]], alternative="greater").p == pytest.approx(17 / 70, rel=1e-14)
    # conditional MLE solves E[X; psi] = 3; by symmetry of the margins
    # the odds ratio for x = 1 is its reciprocal
    a = gt.fisher_exact([[3, 1], [1, 3]]).estimate
    b = gt.fisher_exact([[1, 3], [3, 1]]).estimate
    assert a * b == pytest.approx(1.0, rel=1e-4)  # R's uniroot tolerance is ~1e-4


def test_fisher_2x2_boundary_odds_ratio():
    r = gt.fisher_exact([[7, 0], [0, 4]])
    assert r.estimate == math.inf and r.upper == math.inf and r.lower > 0
    r0 = gt.fisher_exact([[0, 5], [6, 2]])
    assert r0.estimate == 0.0 and r0.lower == 0.0
    d = r.to_dict()
    assert d["kind"] == "test" and d["estimate"] is None  # inf -> None in JSON form
    json.dumps(d)


def test_fisher_rxc_dataframe_labels_and_counts():
    df = pd.DataFrame([[2, 0, 1], [0, 3, 1]], index=["ATO", "IC"], columns=["CR", "PR", "NR"])
    r = gt.fisher_exact(df)
    assert list(r.counts.columns) == ["row", "column", "observed", "expected"]
    assert r.counts["row"].tolist()[:3] == ["ATO", "ATO", "ATO"]
    # R: fisher.test(matrix(c(2,0,1,0,3,1), 2, byrow=TRUE))$p.value = 1/7 (hand: the
    # observed table and its mirror are the only tables as improbable)
    assert r.p == pytest.approx(REF["fisher_rxc"]["t2x3"]["p"], rel=1e-12)
    assert r.p == pytest.approx(1 / 7, rel=1e-12)


def test_fisher_rxc_too_large_raises():
    with pytest.raises(InputError, match="too large for exact enumeration"):
        gt.fisher_exact(np.array([[20, 15, 12, 9, 8], [14, 18, 11, 10, 9], [12, 10, 16, 13, 7]]), max_work=1000)


def test_fisher_rxc_one_sided_rejected():
    with pytest.raises(InputError, match="only for 2x2"):
        gt.fisher_exact([[1, 2, 3], [3, 2, 1]], alternative="less")


@pytest.mark.parametrize(
    "bad, msg",
    [
        ([[1, 2], [3, -1]], "negative"),
        ([[1, 2.5], [3, 1]], "non-integer"),
        ([[1, 2, 3]], "at least 2 rows"),
        ([[1, np.nan], [3, 1]], "missing or infinite"),
    ],
)
def test_table_validation(bad, msg):
    with pytest.raises(InputError, match=msg):
        gt.fisher_exact(bad)
    with pytest.raises(InputError, match=msg):
        gt.chisq_test(bad)


def test_fisher_empty_table_rejected():
    with pytest.raises(InputError, match="empty"):
        gt.fisher_exact(np.zeros((2, 2), dtype=int))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 12), min_size=4, max_size=4))
def test_fisher_rxc_path_equals_2x2_path(cells):
    # the network enumeration of a 2x2 table gives the 2x2 (R 2x2 code path) p-value
    tab = np.array(cells).reshape(2, 2)
    assume(tab.sum() > 0)  # the empty table is rejected (test_fisher_empty_table_rejected)
    p2 = gt.fisher_exact(tab).p
    prc = gt._fisher_rxc_pvalue(tab)
    assert 0.0 <= p2 <= 1.0 + 1e-12
    # tolerances differ only for near-ties (1e-7 relative vs 3.45e-7 on log scale);
    # with integer tables ties are exact, so the sums agree
    assert prc == pytest.approx(p2, rel=1e-9, abs=1e-15)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(0, 6), min_size=6, max_size=6))
def test_fisher_rxc_invariants(cells):
    tab = np.array(cells).reshape(2, 3)
    p = gt._fisher_rxc_pvalue(tab)
    assert 0.0 <= p <= 1.0
    # invariant to permuting rows / columns and transposing
    assert gt._fisher_rxc_pvalue(tab[::-1, ::-1]) == pytest.approx(p, rel=1e-9, abs=1e-15)
    assert gt._fisher_rxc_pvalue(tab.T) == pytest.approx(p, rel=1e-9, abs=1e-15)


def test_fisher_rxc_brute_force_small():
    # brute force over all 2x3 tables with the margins of [[2, 1, 3], [1, 4, 0]]
    tab = np.array([[2, 1, 3], [1, 4, 0]])
    rs, cs = tab.sum(1), tab.sum(0)
    n = tab.sum()

    def prob(t):
        num = Fraction(1)
        for v in list(rs) + list(cs):
            num *= math.factorial(int(v))
        den = math.factorial(int(n))
        for v in t.ravel():
            den *= math.factorial(int(v))
        return num / den

    p_obs = prob(tab)
    total = Fraction(0)
    for a in range(cs[0] + 1):
        for b in range(cs[1] + 1):
            c = rs[0] - a - b
            if 0 <= c <= cs[2]:
                t = np.array([[a, b, c], [cs[0] - a, cs[1] - b, cs[2] - c]])
                if prob(t) <= p_obs:
                    total += prob(t)
    assert gt.fisher_exact(tab).p == pytest.approx(float(total), rel=1e-12)


# --------------------------------------------------------------------------- #
# chi-square
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("case", REF["chisq"], ids=lambda c: f"{c['name']}-{c['correct']}")
def test_chisq_matches_r(case):
    # R: chisq.test(x, correct = correct)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)
        r = gt.chisq_test(case["table"], correct=case["correct"])
    close(r.statistic, case["statistic"], 1e-12)
    close(r.p, case["p"], 1e-10)
    assert r.df == case["df"]
    exp = np.array(case["expected"], float)
    close(r.counts["expected"].to_numpy(), exp.ravel(), 1e-12)
    assert r.test == case["method"]  # R's method string


def test_chisq_yates_by_hand():
    # [[12, 5], [7, 15]]: N = 39, E11 = 17*19/39; |O-E| = 12 - 323/39 = 145/39 for every cell
    # X2 = (145/39 - 1/2)^2 * sum(1/E)
    e = np.array([[17 * 19, 17 * 20], [22 * 19, 22 * 20]]) / 39
    expected = (145 / 39 - 0.5) ** 2 * np.sum(1 / e)
    r = gt.chisq_test([[12, 5], [7, 15]])
    assert r.statistic == pytest.approx(expected, rel=1e-13)
    r2 = gt.chisq_test([[12, 5], [7, 15]], correct=False)
    assert r2.statistic == pytest.approx((145 / 39) ** 2 * np.sum(1 / e), rel=1e-13)
    assert r2.test == "Pearson's Chi-squared test"


def test_chisq_warns_small_expected_and_rejects_empty_margin():
    with pytest.warns(StatisticalWarning, match="Chi-squared approximation may be incorrect"):
        gt.chisq_test([[3, 1], [1, 3]])
    with pytest.raises(InputError, match="zero total"):
        gt.chisq_test([[3, 0], [1, 0]])


# --------------------------------------------------------------------------- #
# Wilcoxon
# --------------------------------------------------------------------------- #
def _wilcox_args(case):
    vec = REF["vectors"]
    if case["name"] == "small_exact":
        return [1.1, 2.2, 3.1, 4.5], [2.5, 5.2, 6.3, 7.1, 8.8]
    if case["name"] == "extreme":
        return list(range(1, 6)), list(range(6, 16))
    key = {"noties": "noties", "ties": "ties", "big": "big"}[case["name"]]
    return vec[f"a_{key}"], vec[f"b_{key}"]


@pytest.mark.parametrize(
    "case",
    REF["wilcox"],
    ids=lambda c: f"{c['name']}-{c.get('alternative')}-{c.get('exact', 'auto')}-{c.get('correct', True)}",
)
def test_wilcoxon_matches_r(case):
    # R: wilcox.test(x, y, alternative = alt[, exact = , correct = ])
    x, y = _wilcox_args(case)
    kw = {"alternative": case.get("alternative", "two.sided")}
    if "exact" in case:
        kw["exact"] = case["exact"]
    if "correct" in case:
        kw["correct"] = case["correct"]
    r = gt.wilcoxon_ranksum(x, y, **kw)
    assert r.statistic == case["statistic"]
    close(r.p, case["p"], 1e-10)
    assert ("exact" in r.test) == ("exact" in case["method"])


def test_wilcoxon_exact_by_hand():
    # x = [1, 2], y = [3, 4, 5]: W = 0, P(W <= 0) = 1/C(5,2) = 1/10, two-sided 2/10
    r = gt.wilcoxon_ranksum([1, 2], [3, 4, 5])
    assert r.statistic == 0.0
    assert r.p == pytest.approx(0.2, rel=1e-14)
    # x = ranks {1, 3, 4} of 7: W = 8 - 6 = 2; the exact null distribution enumerated by hand
    from itertools import combinations
    ws = [sum(c) - 6 for c in combinations(range(1, 8), 3)]
    assert len(ws) == comb(7, 3)
    lower = Fraction(sum(w <= 2 for w in ws), len(ws))
    r = gt.wilcoxon_ranksum([1, 3, 4], [2, 5, 6, 7])
    assert r.statistic == 2.0
    assert r.p == pytest.approx(float(min(2 * lower, 1)), rel=1e-14)


def test_wilcoxon_ties_with_explicit_exact_warns():
    with pytest.warns(ApproximationWarning, match="ties"):
        gt.wilcoxon_ranksum([1, 2, 2], [2, 3, 4], exact=True)
    with pytest.raises(InputError, match="missing"):
        gt.wilcoxon_ranksum([1, np.nan], [2, 3])


# --------------------------------------------------------------------------- #
# lung: Kruskal-Wallis, t-test, ANOVA, compare_groups
# --------------------------------------------------------------------------- #
L = REF["lung"]


def test_lung_compare_groups_continuous():
    # R: wilcox.test(age ~ sex, data = lung)
    r = gt.compare_groups(LUNG["age"], LUNG["sex"])
    assert r.test == "Wilcoxon rank-sum test with continuity correction"
    close([r.statistic, r.p], [L["wilcox_age_sex"]["statistic"], L["wilcox_age_sex"]["p"]], 1e-10)
    # R: t.test(age ~ sex, data = lung)
    r = gt.compare_groups(LUNG["age"], LUNG["sex"], parametric=True)
    assert r.test == "Welch two-sample t-test"
    ref = L["welch_age_sex"]
    close([r.statistic, r.df, r.p, r.estimate, r.lower, r.upper],
          [ref["statistic"], ref["df"], ref["p"], ref["estimate"], ref["lower"], ref["upper"]], 1e-10)


def test_lung_student_t():
    # R: t.test(age ~ sex, data = lung, var.equal = TRUE)
    a = LUNG.loc[LUNG.sex == 1, "age"]
    b = LUNG.loc[LUNG.sex == 2, "age"]
    r = gt.t_test(a, b, var_equal=True)
    ref = L["student_age_sex"]
    close([r.statistic, r.df, r.p, r.lower, r.upper], [ref["statistic"], ref["df"], ref["p"], ref["lower"], ref["upper"]], 1e-10)


def test_lung_kruskal_with_missing():
    # R: kruskal.test(wt.loss, factor(ph.ecog)) on complete cases
    ref = L["kruskal_wtloss_ecog"]
    r = gt.compare_groups(LUNG["wt.loss"], LUNG["ph.ecog"])
    assert r.test == "Kruskal-Wallis rank-sum test"
    assert r.n_missing == ref["n_missing"]
    assert r.n + r.n_missing == len(LUNG)
    close([r.statistic, r.p], [ref["statistic"], ref["p"]], 1e-10)
    assert r.df == ref["df"]
    ref = L["kruskal_mealcal_ecog"]
    r = gt.compare_groups(LUNG["meal.cal"], LUNG["ph.ecog"])
    close([r.statistic, r.p], [ref["statistic"], ref["p"]], 1e-10)


def test_lung_anova():
    d = LUNG.dropna(subset=["wt.loss", "ph.ecog"])
    d = d[d["ph.ecog"] < 3]
    # R: oneway.test(wt.loss ~ factor(ph.ecog), var.equal = TRUE); summary(aov(...))
    r = gt.anova_oneway(d["wt.loss"], d["ph.ecog"])
    ref = L["anova_wtloss_ecog"]
    close([r.statistic, r.df, r.df2, r.p], [ref["statistic"], ref["df"], ref["df2"], ref["p"]], 1e-10)
    close([r.statistic, r.p], [L["aov_wtloss_ecog"]["F"], L["aov_wtloss_ecog"]["p"]], 1e-10)
    # R: oneway.test(wt.loss ~ factor(ph.ecog))   (Welch)
    r = gt.anova_oneway(d["wt.loss"], d["ph.ecog"], var_equal=False)
    ref = L["welch_anova_wtloss_ecog"]
    close([r.statistic, r.df, r.df2, r.p], [ref["statistic"], ref["df"], ref["df2"], ref["p"]], 1e-10)
    # compare_groups(parametric=True) with > 2 groups is the equal-variance ANOVA
    r2 = gt.compare_groups(d["wt.loss"], d["ph.ecog"], parametric=True)
    assert r2.test == "One-way ANOVA F test"
    close(r2.p, L["anova_wtloss_ecog"]["p"], 1e-10)


def test_lung_compare_groups_categorical():
    # ph.ecog = 3 has one patient -> expected < 5 -> Fisher r x c
    # R: fisher.test(table(lung$ph.ecog, lung$sex))
    r = gt.compare_groups(LUNG["ph.ecog"].astype("Int64").astype("string"), LUNG["sex"])
    assert r.test == "Fisher's exact test"
    assert r.n_missing == 1
    close(r.p, L["fisher_sex_ecog"]["p"], 1e-10)
    obs = np.array(L["fisher_sex_ecog"]["table"])
    assert r.counts["observed"].tolist() == obs.ravel().tolist()
    # R: chisq.test(table(lung$status, lung$sex))  (all expected >= 5, Yates)
    r = gt.compare_groups(LUNG["status"].astype(str), LUNG["sex"])
    assert r.test == "Pearson's Chi-squared test with Yates' continuity correction"
    close([r.statistic, r.p], [L["chisq_status_sex"]["statistic"], L["chisq_status_sex"]["p"]], 1e-10)
    assert "all expected counts are >= 5" in r.method


# --------------------------------------------------------------------------- #
# t-tests and three-group tests on the stored vectors
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("case", REF["t_test"], ids=lambda c: f"{c['var_equal']}-{c['alternative']}")
def test_t_test_matches_r(case):
    # R: t.test(a_ties, b_ties, var.equal = ve, alternative = alt, conf.level = 0.9)
    v = REF["vectors"]
    r = gt.t_test(v["a_ties"], v["b_ties"], var_equal=case["var_equal"], alternative=case["alternative"],
                  conf_level=case["conf_level"])
    close([r.statistic, r.df, r.p, r.lower, r.upper],
          [case["statistic"], case["df"], case["p"], case["lower"], case["upper"]], 1e-10)


def test_three_groups_match_r():
    v = REF["vectors"]
    y = v["a_ties"] + v["b_ties"] + v["a_noties"]
    g = ["a"] * len(v["a_ties"]) + ["b"] * len(v["b_ties"]) + ["c"] * len(v["a_noties"])
    ref = REF["three_groups"]
    # R: kruskal.test(y3, factor(g3))
    r = gt.kruskal_wallis(y, g)
    close([r.statistic, r.p], [ref["kruskal"]["statistic"], ref["kruskal"]["p"]], 1e-12)
    # R: oneway.test(y3 ~ g3, var.equal = TRUE)
    r = gt.anova_oneway(y, g)
    close([r.statistic, r.df, r.df2, r.p], [ref["anova"][k] for k in ("statistic", "df", "df2", "p")], 1e-12)
    # R: oneway.test(y3 ~ g3)
    r = gt.anova_oneway(y, g, var_equal=False)
    close([r.statistic, r.df, r.df2, r.p], [ref["welch"][k] for k in ("statistic", "df", "df2", "p")], 1e-12)


def test_kruskal_by_hand():
    # ranks 1..6 in pairs: sum R_i^2/n_i = (9 + 49 + 121)/2 = 89.5
    # H = 12*89.5/(6*7) - 21 = 32/7
    r = gt.kruskal_wallis([1, 2, 3, 4, 5, 6], ["a", "a", "b", "b", "c", "c"])
    assert r.statistic == pytest.approx(32 / 7, rel=1e-14)
    with pytest.raises(InputError, match="same group"):
        gt.kruskal_wallis([1, 2, 3], ["a", "a", "a"])


# --------------------------------------------------------------------------- #
# binomial
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize(
    "case", REF["binom"], ids=lambda c: f"{c['x']}/{c['n']}-{c['p0']}-{c['alternative']}-{c['conf_level']}"
)
def test_binom_test_matches_r(case):
    # R: binom.test(x, n, p = p0, alternative = alt, conf.level = cl)
    r = gt.binom_test(case["x"], case["n"], case["p0"], alternative=case["alternative"], conf_level=case["conf_level"])
    close([r.p, r.lower, r.upper], [case["p"], case["lower"], case["upper"]], 1e-10)
    if case["alternative"] == "two.sided":
        est, lo, hi = gt.binom_ci(case["x"], case["n"], case["conf_level"])
        assert est == case["x"] / case["n"]
        close([lo, hi], [case["lower"], case["upper"]], 1e-10)


def test_binom_ci_by_hand():
    # x = 0: upper = 1 - (alpha/2)^(1/n); x = n: lower = (alpha/2)^(1/n)
    est, lo, hi = gt.binom_ci(0, 10)
    assert (est, lo) == (0.0, 0.0) and hi == pytest.approx(1 - 0.025 ** (1 / 10), rel=1e-12)
    est, lo, hi = gt.binom_ci(10, 10)
    assert hi == 1.0 and lo == pytest.approx(0.025 ** (1 / 10), rel=1e-12)
    with pytest.raises(InputError, match="0 <= x <= n"):
        gt.binom_ci(11, 10)


def test_compare_response_rates():
    # R: binom.test(18, 20); binom.test(9, 15); fisher.test(matrix(c(18, 2, 9, 6), 2, byrow = TRUE))
    r = gt.compare_response_rates(18, 20, 9, 15, labels=("ATO", "IC"))
    assert list(r.rates.columns) == ["group", "n", "responders", "rate", "lower", "upper"]
    ref = next(c for c in REF["fisher_2x2"] if c["name"] == "response" and c["alternative"] == "two.sided"
               and c["conf_level"] == 0.95)
    close([r.fisher.p, r.fisher.estimate, r.fisher.lower, r.fisher.upper],
          [ref["p"], ref["estimate"], ref["lower"], ref["upper"]], 1e-12)
    assert r.rates["rate"].tolist() == [18 / 20, 9 / 15]
    d = r.to_dict()
    assert d["kind"] == "rates"
    json.dumps(d)
    assert "odds ratio" in r.tables


# --------------------------------------------------------------------------- #
# p.adjust
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("method", ["holm", "hochberg", "bonferroni", "BH", "fdr", "BY", "none"])
def test_p_adjust_matches_r(method):
    # R: p.adjust(p, method)
    ref = REF["p_adjust"]
    got = p_adjust(ref["p"], method)
    np.testing.assert_allclose(got, np.array(ref[method], float), rtol=1e-12, equal_nan=True)
    assert gt.p_adjust is p_adjust


def test_p_adjust_n_and_errors():
    ref = REF["p_adjust"]
    # R: p.adjust(p, "holm", n = 20); p.adjust(p, "BH", n = 20)
    np.testing.assert_allclose(p_adjust(ref["p"], "holm", n=20), np.array(ref["holm_n20"], float), rtol=1e-12, equal_nan=True)
    np.testing.assert_allclose(p_adjust(ref["p"], "BH", n=20), np.array(ref["BH_n20"], float), rtol=1e-12, equal_nan=True)
    with pytest.raises(InputError, match="unknown method"):
        p_adjust([0.1], "sidak")
    with pytest.raises(InputError, match=r"\[0, 1\]"):
        p_adjust([1.2], "holm")


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(0, 1), min_size=1, max_size=15))
def test_p_adjust_invariants(p):
    p = np.array(p)
    for m in ("holm", "hochberg", "bonferroni", "BH"):
        a = p_adjust(p, m)
        assert np.all(a >= p - 1e-15) and np.all(a <= 1)
    # Hochberg <= Holm <= Bonferroni; BH <= Hochberg
    assert np.all(p_adjust(p, "hochberg") <= p_adjust(p, "holm") + 1e-12)
    assert np.all(p_adjust(p, "holm") <= p_adjust(p, "bonferroni") + 1e-12)
    assert np.all(p_adjust(p, "BH") <= p_adjust(p, "hochberg") + 1e-12)


# --------------------------------------------------------------------------- #
# compare_groups rule, SMD, result object
# --------------------------------------------------------------------------- #
def test_compare_groups_rule_and_missing():
    vals = ["CR", "CR", "PR", "CR", "PR", None, "CR"]
    grp = ["A", "A", "A", "B", "B", "B", None]
    r = gt.compare_groups(vals, grp)
    assert r.test == "Fisher's exact test"  # expected counts < 5
    assert (r.n, r.n_missing) == (5, 2)
    assert "expected count is < 5" in r.method
    # single observed level: explicit "none", not a silent number
    r = gt.compare_groups(["x", "x", "x", "x"], [1, 1, 2, 2])
    assert r.test == "none" and math.isnan(r.p)
    with pytest.raises(InputError, match="at least two groups"):
        gt.compare_groups([1.0, 2.0], ["a", "a"])
    with pytest.raises(InputError, match="differ in length"):
        gt.compare_groups([1.0, 2.0], ["a"])
    with pytest.raises(InputError, match="not in order"):
        gt.compare_groups([1.0, 2.0, 3.0], ["a", "b", "c"], order=["a", "b"])


def test_compare_groups_categorical_falls_back_when_too_large():
    rng = np.random.default_rng(7)
    vals = rng.choice(["a", "b", "c", "d"], size=60, p=[0.4, 0.3, 0.25, 0.05])
    grp = rng.choice(["x", "y", "z"], size=60)
    with pytest.warns(ApproximationWarning, match="too large"):
        r = gt.compare_groups(pd.Series(vals), pd.Series(grp), fisher_max_work=10)
    assert r.test.startswith("Pearson's Chi-squared test")


def test_smd_by_hand():
    # continuous: means 2 and 5, variances 1 and 1 -> 3
    assert gt.standardized_mean_difference([1, 2, 3, 4, 5, 6], [0, 0, 0, 1, 1, 1]) == pytest.approx(3.0, rel=1e-14)
    # binary: p1 = 3/4, p2 = 1/4 -> 0.5 / sqrt((3/16 + 3/16)/2) = 0.5/sqrt(3/16)
    v = ["y", "y", "y", "n", "y", "n", "n", "n"]
    g = ["a"] * 4 + ["b"] * 4
    assert gt.standardized_mean_difference(v, g) == pytest.approx(0.5 / math.sqrt(3 / 16), rel=1e-12)
    # three levels: T = p1 - p2 over levels 2..3, S = mean multinomial covariance
    v = ["u", "v", "w", "w", "u", "u", "v", "u"]
    g = ["a"] * 4 + ["b"] * 4
    p1 = np.array([1 / 4, 2 / 4])  # levels v, w in group a
    p2 = np.array([1 / 4, 0.0])
    s = ((np.diag(p1) - np.outer(p1, p1)) + (np.diag(p2) - np.outer(p2, p2))) / 2
    t = p1 - p2
    assert gt.standardized_mean_difference(v, g) == pytest.approx(math.sqrt(t @ np.linalg.inv(s) @ t), rel=1e-12)
    # three groups: mean of the three pairwise SMDs
    x = [1, 2, 3, 4, 5, 6, 7, 8, 9]
    gg = [0, 0, 0, 1, 1, 1, 2, 2, 2]
    assert gt.standardized_mean_difference(x, gg) == pytest.approx((3 + 6 + 3) / 3, rel=1e-14)


def test_test_result_frozen_and_tables():
    r = gt.chisq_test([[12, 5], [7, 15]])
    with pytest.raises(Exception):
        r.p = 0.5  # frozen
    t = r.tables["test"]
    assert list(t.columns) == ["test", "statistic", "df", "df2", "p", "estimate", "lower", "upper",
                               "alternative", "n", "n_missing"]
    d = r.to_dict()
    assert d["kind"] == "test" and isinstance(d["counts"], list)
    json.dumps(d)
    assert "Pearson" in r._repr_html_() and "Pearson" in str(r)


def test_compare_groups_no_test_cases_and_dtypes():
    # a group with only missing values -> explicit "none"
    r = gt.compare_groups([1.0, 2.0, np.nan, np.nan], ["a", "a", "b", "b"])
    assert r.test == "none" and math.isnan(r.p) and r.n_missing == 2
    assert "fewer than two groups" in r.method
    r = gt.compare_groups([3.0, 3.0, 3.0, 3.0], ["a", "a", "b", "b"])
    assert r.test == "none" and "identical" in r.method
    # boolean and pandas categorical values are categorical
    rb = gt.compare_groups(pd.Series([True, False, True, True, False, False]), [1, 1, 1, 2, 2, 2])
    assert rb.test == "Fisher's exact test"
    # R: fisher.test(matrix(c(1, 2, 2, 1), 2))$p.value = 1 (hand: margins 3/3, x = 1 is the mode
    # neighbour; P(1) = P(2) = 9/20, P(0) = P(3) = 1/20 -> all four tables count)
    assert rb.p == pytest.approx(1.0, rel=1e-12)
    cat = pd.Series(pd.Categorical(["lo", "hi", "hi", "lo", "mid", "hi"], categories=["lo", "mid", "hi", "xx"]))
    rc = gt.compare_groups(cat, ["a", "a", "a", "b", "b", "b"])
    assert rc.counts["row"].unique().tolist() == ["lo", "mid", "hi"]  # category order, unused dropped
    # explicit kind overrides the dtype rule: 0/1 codes treated as categorical
    rk = gt.compare_groups([0, 1, 1, 0, 0, 0], ["a", "a", "a", "b", "b", "b"], kind="categorical")
    assert rk.test == "Fisher's exact test"
    assert rk.p == pytest.approx(gt.fisher_exact([[1, 3], [2, 0]]).p, rel=1e-14)


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 60).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))),
       st.floats(0.01, 0.99))
def test_binom_invariants(xn, p0):
    x, n = xn
    r = gt.binom_test(x, n, p0)
    assert 0.0 <= r.p <= 1.0
    est, lo, hi = gt.binom_ci(x, n)
    assert 0.0 <= lo <= est <= hi <= 1.0
    # a wider confidence level gives a wider interval
    _, lo99, hi99 = gt.binom_ci(x, n, 0.99)
    assert lo99 <= lo and hi99 >= hi


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(0, 30), min_size=2, max_size=12), st.lists(st.integers(0, 30), min_size=2, max_size=12))
def test_wilcoxon_invariants(x, y):
    assume(len(set(x + y)) > 1)  # all values tied: no ranks to compare
    r = gt.wilcoxon_ranksum(x, y)
    s = gt.wilcoxon_ranksum(y, x)
    assert 0.0 <= r.p <= 1.0
    assert r.statistic + s.statistic == len(x) * len(y)  # W_xy + W_yx = n_x n_y
    assert r.p == pytest.approx(s.p, rel=1e-12)  # two-sided test is symmetric
