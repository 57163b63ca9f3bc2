"""Log-rank family against R survival 3.5-3 (tests/reference/km_logrank.R -> .json).

Log-rank / G-rho / stratified: R ``survdiff``. Gehan, Tarone–Ware and
Fleming–Harrington(p, q) have no R survival implementation: their reference is
an explicit R loop (``wlr`` in km_logrank.R) that the script checks against
``survdiff`` for rho = 0, 0.5, 1 and strata before writing any value.
"""

from __future__ import annotations

import json
from fractions import Fraction as F
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aplcohort.errors import InputError, StatisticalWarning
from aplcohort.stats._padjust import p_adjust
from aplcohort.stats.logrank import (LogRankResult, PairwiseResult, logrank_test,
                                     pairwise_logrank, trend_test, weighted_logrank)

REF_DIR = Path(__file__).parent / "reference"
REF = json.loads((REF_DIR / "km_logrank.json").read_text())
DATA = {name: pd.read_csv(REF_DIR / "data" / f"km_{name}.csv")
        for name in ("hand", "aml", "lung", "veteran", "heart")}
RTOL = 1e-9


def _data(case):
    d = DATA[case["dataset"]]
    d = d[d[case["group"]].notna()]
    if case.get("strata") is not None:
        d = d[d[case["strata"]].notna()]
    d = d.copy()
    for col in (case["group"], case.get("strata")):
        if col is not None and d[col].dtype.kind == "f":   # ECOG read as float (CSV has NA)
            d[col] = d[col].astype(np.int64)
    return d


def _check(res, case):
    assert [str(g) for g in res.table["group"]] == [str(g) for g in case["groups"]]
    np.testing.assert_allclose(res.table["observed"], case["observed"], rtol=RTOL)
    np.testing.assert_allclose(res.table["expected"], case["expected"], rtol=RTOL)
    np.testing.assert_allclose(res.var, np.array(case["var"], float), rtol=RTOL, atol=1e-12)
    np.testing.assert_allclose(res.table["variance"], np.diag(np.array(case["var"], float)),
                               rtol=RTOL)
    np.testing.assert_allclose(res.statistic, case["chisq"], rtol=RTOL)
    assert res.df == case["df"]
    np.testing.assert_allclose(res.p, case["p"], rtol=RTOL)


@pytest.mark.parametrize("case", REF["survdiff"], ids=lambda c: c["name"])
def test_survdiff_matches_r(case):
    # R: survdiff(Surv(time, status) ~ g [+ strata(s)], data, rho = rho);
    #    O, E summed over strata; p = pchisq(chisq, df, lower.tail = FALSE)
    d = _data(case)
    res = logrank_test(d["time"], d["status"], d[case["group"]], rho=case["rho"],
                       strata=None if case["strata"] is None else d[case["strata"]])
    _check(res, case)
    assert res.table["n"].tolist() == case["n"]
    assert list(res.table.columns) == ["group", "n", "observed", "expected", "o_minus_e",
                                       "variance"]


@pytest.mark.parametrize("case", REF["weighted"], ids=lambda c: c["name"])
def test_weighted_family_matches_r_reference(case):
    # R: wlr(time, status, group, strata, wfun) in km_logrank.R (validated against survdiff)
    d = _data(case)
    res = weighted_logrank(d["time"], d["status"], d[case["group"]], weights=case["weights"],
                           p=case["p_fh"], q=case["q_fh"],
                           strata=None if case["strata"] is None else d[case["strata"]])
    _check(res, case)


def test_weighted_named_equals_grho():
    d = DATA["veteran"]
    a = weighted_logrank(d["time"], d["status"], d["celltype"], weights="peto")
    b = logrank_test(d["time"], d["status"], d["celltype"], rho=1)
    c = weighted_logrank(d["time"], d["status"], d["celltype"], weights="fleming-harrington",
                         p=1, q=0)
    assert a.statistic == pytest.approx(b.statistic, rel=1e-14)
    assert c.statistic == pytest.approx(b.statistic, rel=1e-14)
    assert (a.test, b.test, c.test) == ("Peto-Peto", "Peto-Peto", "Fleming-Harrington(1,0)")


@pytest.mark.parametrize("case", REF["survdiff"], ids=lambda c: c["name"])
def test_weighted_family_reproduces_survdiff_rho(case):
    # The weighted family with Fleming-Harrington(p = rho, q = 0) weights S(t-)^rho is R
    # survdiff(rho = rho): ties our weighted path to survdiff itself, not only to the
    # explicit R helper wlr() of km_logrank.R (which that script checks with stopifnot).
    d = _data(case)
    res = weighted_logrank(d["time"], d["status"], d[case["group"]], weights="fleming-harrington",
                           p=case["rho"], q=0.0,
                           strata=None if case["strata"] is None else d[case["strata"]])
    _check(res, case)


@pytest.mark.parametrize("case", REF["trend"], ids=lambda c: c["name"])
def test_trend_matches_r(case):
    # R: s <- survdiff(...); (sum(sc * (s$obs - s$exp)))^2 / (t(sc) %*% s$var %*% sc)
    d = _data(case)
    scores = None if case["name"] != "lung_ecog_scores" else case["scores"]
    res = trend_test(d["time"], d["status"], d[case["group"]], scores,
                     strata=None if case["strata"] is None else d[case["strata"]])
    np.testing.assert_allclose(res.statistic, case["statistic"], rtol=RTOL)
    np.testing.assert_allclose(res.p, case["p"], rtol=RTOL)
    assert res.df == 1 and res.test.startswith("trend")
    np.testing.assert_allclose(res.scores, case["scores"], rtol=0)


@pytest.mark.parametrize("case", REF["pairwise"], ids=lambda c: f"{c['dataset']}_rho{c['rho']}")
@pytest.mark.parametrize("adjust", ["holm", "bonferroni", "BH"])
def test_pairwise_matches_r(case, adjust):
    # R: survdiff on each pair's rows; p.adjust(p, adjust)
    d = _data(case)
    res = pairwise_logrank(d["time"], d["status"], d[case["group"]], adjust=adjust,
                           rho=case["rho"])
    assert isinstance(res, PairwiseResult)
    t = res.table
    assert list(t.columns) == ["group1", "group2", "statistic", "df", "p", "p_adj", "estimable", "note"]
    assert [str(x) for x in t["group1"]] == [str(x) for x in case["group1"]]
    assert [str(x) for x in t["group2"]] == [str(x) for x in case["group2"]]
    np.testing.assert_allclose(t["statistic"], case["statistic"], rtol=RTOL)
    np.testing.assert_allclose(t["p"], case["p"], rtol=RTOL)
    np.testing.assert_allclose(t["p_adj"], case[adjust], rtol=RTOL)


@pytest.mark.parametrize("method", ["holm", "hochberg", "bonferroni", "BH", "BY", "none"])
def test_p_adjust_matches_r(method):
    # R: p.adjust(c(0.01, 0.04, NA, 0.03, 0.2, 0.04, 0.5, 1e-5, 0.9), method)
    ref = REF["p_adjust"]
    p = np.array([np.nan if v is None else v for v in ref["p"]])
    exp = np.array([np.nan if v is None else v for v in ref[method]])
    np.testing.assert_allclose(p_adjust(p, method), exp, rtol=1e-12, equal_nan=True)


# ------------------------------------------------------------------ hand-worked
def test_hand_worked_logrank_exact_fractions():
    """Hand cohort (see tests/test_km.py). Event times 1, 2, 3, 4, 6:

    t  nA nB  n  dA dB  E_A = d nA/n   V = d(n-d)/(n-1) nA nB / n^2
    1   7  6 13   1  0   7/13           42/169
    2   6  6 12   2  1   3/2            27/44
    3   3  5  8   0  1   3/8            15/64
    4   2  3  5   1  1   4/5            9/25
    6   0  2  2   0  1   0              0
    O_A = 4, E_A = 1671/520, V = 4332309/2974400
    """
    d = DATA["hand"]
    res = logrank_test(d["time"], d["status"], d["group"])
    e_a = F(7, 13) + F(3, 2) + F(3, 8) + F(4, 5)
    v = F(42, 169) + F(27, 44) + F(15, 64) + F(9, 25)
    assert e_a == F(1671, 520) and v == F(4332309, 2974400)
    assert res.table["observed"].tolist() == [4.0, 4.0]
    np.testing.assert_allclose(res.table["expected"], [float(e_a), float(8 - e_a)], rtol=1e-14)
    np.testing.assert_allclose(res.var, [[float(v), -float(v)], [-float(v), float(v)]],
                               rtol=1e-14)
    assert res.statistic == pytest.approx(float((4 - e_a) ** 2 / v), rel=1e-14)

    # Peto-Peto (R rho = 1): weights = pooled KM S(t-) = 1, 12/13, 9/13, 63/104, 189/520
    w = [F(1), F(12, 13), F(9, 13), F(63, 104)]
    o_a = 1 * w[0] + 2 * w[1] + 0 * w[2] + 1 * w[3]
    e_a = w[0] * F(7, 13) + w[1] * F(3, 2) + w[2] * F(3, 8) + w[3] * F(4, 5)
    v = (w[0] ** 2 * F(42, 169) + w[1] ** 2 * F(27, 44) + w[2] ** 2 * F(15, 64)
         + w[3] ** 2 * F(9, 25))
    assert o_a == F(359, 104) and o_a - e_a == F(51, 65)
    res = logrank_test(d["time"], d["status"], d["group"], rho=1)
    assert res.table["observed"].iloc[0] == pytest.approx(float(o_a), rel=1e-14)
    assert res.table["o_minus_e"].iloc[0] == pytest.approx(float(o_a - e_a), rel=1e-13)
    assert res.statistic == pytest.approx(float((o_a - e_a) ** 2 / v), rel=1e-13)

    # Gehan: weights n = 13, 12, 8, 5 -> U_A = sum n (O - E) at each time
    u = 13 * (1 - F(7, 13)) + 12 * (2 - F(3, 2)) + 8 * (0 - F(3, 8)) + 5 * (1 - F(4, 5))
    vg = 169 * F(42, 169) + 144 * F(27, 44) + 64 * F(15, 64) + 25 * F(9, 25)
    res = weighted_logrank(d["time"], d["status"], d["group"], weights="gehan")
    assert res.table["o_minus_e"].iloc[0] == pytest.approx(float(u), rel=1e-14)
    assert res.statistic == pytest.approx(float(u * u / vg), rel=1e-14)


# ------------------------------------------------------------------ results & errors
def test_result_object():
    d = DATA["veteran"]
    res = logrank_test(d["time"], d["status"], d["trt"], strata=d["celltype"], rho=1)
    assert isinstance(res, LogRankResult) and res.kind == "logrank"
    assert res.test == "stratified Peto-Peto" and res.n_strata == 4
    with pytest.raises(Exception):
        res.statistic = 0.0
    dd = res.to_dict()
    json.dumps(dd)
    assert dd["choices"]["strata"] == 4
    assert "Peto-Peto" in res._repr_html_()
    pw = pairwise_logrank(d["time"], d["status"], d["celltype"], adjust="BH")
    json.dumps(pw.to_dict())
    assert "BH" in pw._repr_html_()


def test_order_and_single_group():
    d = DATA["aml"]
    a = logrank_test(d["time"], d["status"], d["group"])
    b = logrank_test(d["time"], d["status"], d["group"], order=["Nonmaintained", "Maintained"])
    assert b.table["group"].tolist() == ["Nonmaintained", "Maintained"]
    assert a.statistic == pytest.approx(b.statistic, rel=1e-12)
    with pytest.warns(StatisticalWarning, match="undefined"):
        r = logrank_test([1, 2, 3], [1, 0, 1], ["a", "a", "a"])
    assert np.isnan(r.p) and r.df == 0
    assert r.statistic == 0.0 and "fewer than two groups" in r.note


def test_no_expected_events_in_a_group_gives_zero_as_r():
    # R: survdiff(Surv(t, e) ~ g, d)$chisq == 0 (tests/reference/nonestimable.R)
    import json
    from pathlib import Path
    ref = json.loads((Path(__file__).parent / "reference" / "nonestimable.json").read_text())
    z = ref["survdiff_zero"]
    with pytest.warns(StatisticalWarning, match="undefined"):
        r = logrank_test(z["t"], z["e"], z["g"])
    assert r.statistic == z["chisq"] == 0 and r.df == 0 and np.isnan(r.p)
    assert r.note


def test_pairwise_says_why_a_pair_is_not_estimable():
    # c and d have no events: their pair is not defined (statistic 0 on 0 df as survdiff)
    t = [1, 2, 3, 4, 1.5, 2.5, 3.5, 5, 1, 2, 3, 4]
    e = [1, 1, 0, 1, 1, 0, 1, 1, 0, 0, 0, 0]
    g = list("aaaabbbbccdd")
    with pytest.warns(StatisticalWarning, match="'c' and 'd'"):
        r = pairwise_logrank(t, e, g)
    tab = r.table.set_index(["group1", "group2"])
    cd = tab.loc[("c", "d")]
    assert not cd["estimable"] and np.isnan(cd["p"]) and np.isnan(cd["p_adj"]) and cd["df"] == 0
    assert "fewer than two groups" in cd["note"] and "'c' and 'd'" in cd["note"]
    est = tab[tab["estimable"]]
    assert len(est) == 5 and (est["note"] == "").all() and est["p"].notna().all()
    from aplcohort.stats._padjust import p_adjust
    np.testing.assert_allclose(est["p_adj"], p_adjust(est["p"].to_numpy(), "holm"), rtol=1e-14)


@pytest.mark.parametrize("call, match", [
    (lambda: logrank_test([1, 2], [1, 0], ["a", None]), "missing labels"),
    (lambda: logrank_test([1, 2], [1, 0], ["a", "b"], strata=["x"]), "strata has 1"),
    (lambda: logrank_test([1, 2], [1, 0], ["a", "b"], rho=-1), "rho"),
    (lambda: weighted_logrank([1, 2], [1, 0], ["a", "b"], weights="wilcoxon"), "weights"),
    (lambda: trend_test([1, 2, 3], [1, 0, 1], ["a", "b", "c"], scores=[1, 2]), "scores"),
    (lambda: pairwise_logrank([1, 2], [1, 0], ["a", "b"], adjust="sidak"), "adjust"),
    (lambda: logrank_test([1, 2], [1, 3], ["a", "b"]), "event"),
])
def test_input_errors(call, match):
    with pytest.raises(InputError, match=match):
        call()


# ------------------------------------------------------------------ invariants
@pytest.mark.filterwarnings("ignore::aplcohort.errors.StatisticalWarning")
@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 12), st.integers(0, 1), st.integers(0, 2)),
                min_size=4, max_size=40))
def test_oev_invariants(rows):
    time = [r[0] for r in rows]
    event = [r[1] for r in rows]
    group = [r[2] for r in rows]
    res = logrank_test(time, event, group)
    t = res.table
    # sum O = sum E = number of events; V rows sum to 0; V positive semi-definite
    assert t["observed"].sum() == pytest.approx(sum(event), abs=1e-9)
    assert t["expected"].sum() == pytest.approx(sum(event), abs=1e-9)
    np.testing.assert_allclose(res.var.sum(axis=1), 0, atol=1e-9)
    assert np.linalg.eigvalsh(res.var).min() > -1e-9
    # relabelling the groups does not change the statistic
    res2 = logrank_test(time, event, [2 - g for g in group])
    if np.isfinite(res.statistic):
        assert res2.statistic == pytest.approx(res.statistic, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("weights, lw, kw", [
    ("gehan", "wilcoxon", {}), ("tarone-ware", "tarone-ware", {}),
    ("fleming-harrington", "fleming-harrington", {"p": 1, "q": 1}),
    ("fleming-harrington", "fleming-harrington", {"p": 0.5, "q": 2}),
])
def test_weighted_family_matches_lifelines(weights, lw, kw):
    # second, independent implementation: lifelines.statistics.multivariate_logrank_test
    import warnings
    from lifelines.statistics import multivariate_logrank_test
    d = DATA["veteran"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = multivariate_logrank_test(d["time"], d["celltype"], d["status"], weightings=lw,
                                        **kw)
    res = weighted_logrank(d["time"], d["status"], d["celltype"], weights=weights, **kw)
    assert res.statistic == pytest.approx(ref.test_statistic, rel=1e-9)
    assert res.df == ref.degrees_of_freedom


def test_trend_test_not_defined_says_why():
    with pytest.warns(StatisticalWarning, match="trend test is not defined"):
        r = trend_test([1, 2, 3, 4, 5, 6], [0, 0, 0, 0, 0, 1], list("aabbcc"))
    assert np.isnan(r.statistic) and np.isnan(r.p)
    assert "variance of the trend score is 0" in r.note and "fewer than two groups" in r.note
    ok = trend_test([1, 2, 3, 4, 5, 6], [1, 0, 1, 0, 0, 1], list("aabbcc"))
    assert ok.note == "" and np.isfinite(ok.p)
