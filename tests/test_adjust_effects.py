"""Weighted curves, weighted Cox / robust score test, adjusted risks and E-values against R.

R calls (tests/reference/adjust.R): ``survfit(Surv(time, status) ~ sex, weights = w_ato,
robust = TRUE, id = id)`` (lung); ``survfit(Surv(time, factor(code)) ~ mtx, weights = w,
id = id)`` (KMsurv bmt; conf.type "log" and "log-log"); ``coxph(Surv(time, status) ~ sex,
weights = w_ate, robust = TRUE)`` and ``summary(.)$robscore``; colon three groups with ATO
weights; ``riskRegression::ate(coxph(... ties = "breslow"), estimator = "GFORMULA")``.
"""

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as hs, assume

from aplcohort.adjust import (adjusted_risks, evalue_hr, evalue_rr, propensity_score,
                              psweights, weighted_cif, weighted_cox, weighted_km,
                              weighted_logrank)
from aplcohort.adjust.curves import CURVE_COLUMNS
from aplcohort.adjust.effects import TERM_COLUMNS
from aplcohort.errors import InputError, StatisticalWarning

REF_DIR = Path(__file__).parent / "reference"
REF = json.loads((REF_DIR / "adjust.json").read_text())
LUNG_COVS = ["age", "ph_ecog", "wt_loss"]


def _arr(x):
    return np.array([np.nan if v is None else v for v in x], float)


@pytest.fixture(scope="module")
def lung():
    d = pd.read_csv(REF_DIR / "data" / "adjust_lung.csv").set_index("id", drop=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)
        ps = propensity_score(d, "sex", LUNG_COVS, categorical=["ph_ecog"])
    return d, ps


@pytest.fixture(scope="module")
def bmt():
    d = pd.read_csv(REF_DIR / "data" / "adjust_bmt.csv").set_index("id", drop=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)
        ps = propensity_score(d, "mtx", ["age", "donor_age", "fab", "disease"],
                              categorical=["fab"])
    return d, ps


@pytest.fixture(scope="module")
def colon():
    d = pd.read_csv(REF_DIR / "data" / "adjust_colon.csv").set_index("id", drop=False)
    ps = propensity_score(d, "rx", ["age", "sex", "extent", "nodes"], categorical=["extent"])
    return d, ps


def _check_km(res, r, strata_map):
    t = res.table
    assert list(t.columns) == CURVE_COLUMNS
    strata = [strata_map[s] for s in r["strata"]]
    got = pd.concat([t[(t["group"] == g) & (t["time"] == tm)] for g, tm in
                     zip(strata, r["time"])])
    assert len(got) == len(r["time"])
    np.testing.assert_allclose(got["estimate"], r["surv"], rtol=1e-6)
    np.testing.assert_allclose(got["std_err"], r["std_err"], rtol=1e-6)
    np.testing.assert_allclose(got["lower"], _arr(r["lower"]), rtol=1e-6)
    np.testing.assert_allclose(got["upper"], _arr(r["upper"]), rtol=1e-6)


def test_weighted_km_ij_matches_survfit(lung):
    d, ps = lung
    res = weighted_km(d, "time", "status", "sex", psweights(ps, "ATO"))
    _check_km(res, REF["weighted_lung"]["km_ato"], {"sex=F": "F", "sex=M": "M"})
    assert res.curve == "survival" and res.weighting == "ATO weights"


def test_weighted_km_three_groups(colon):
    d, ps = colon
    res = weighted_km(d, "os_time", "os_status", "rx", psweights(ps, "ATO"))
    _check_km(res, REF["weighted_colon"]["km_ato"],
              {"rx=Lev": "Lev", "rx=Lev+5FU": "Lev+5FU", "rx=Obs": "Obs"})


@pytest.mark.parametrize("key,est,conf", [("cif_ate", "ATE", "log"),
                                          ("cif_ato_loglog", "ATO", "log-log")])
def test_weighted_cif_matches_survfit(bmt, key, est, conf):
    d, ps = bmt
    np.testing.assert_allclose(ps.scores[1], REF["weighted_bmt"]["p_mtx"], rtol=1e-6)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)
        w = psweights(ps, est)
    res = weighted_cif(d, "time", "code", "mtx", w, id="id", conf_type=conf)
    r = REF["weighted_bmt"][key]
    t = res.table
    assert list(t.columns) == CURVE_COLUMNS
    for k in (1, 2):
        rk = r[f"F{k}"]
        got = pd.concat([t[(t["group"] == int(s[-1])) & (t["cause"] == k) & (t["time"] == tm)]
                         for s, tm in zip(r["strata"], r["time"])])
        assert len(got) == len(r["time"])
        np.testing.assert_allclose(got["estimate"], rk["est"], rtol=1e-6, atol=1e-14)
        np.testing.assert_allclose(got["std_err"], rk["se"], rtol=1e-6, atol=1e-14)
        np.testing.assert_allclose(got["lower"], _arr(rk["lower"]), rtol=1e-6)
        np.testing.assert_allclose(got["upper"], _arr(rk["upper"]), rtol=1e-6)


def test_weighted_cif_split_rows_same_id_invariance(bmt):
    # a patient split into two identical rows at half weight, same id: same curve and SE
    d, ps = bmt
    w = psweights(ps, "ATO").weights
    one = weighted_cif(d, "time", "code", "mtx", w, id="id").table
    dd = pd.concat([d, d]).reset_index(drop=True)
    ww = pd.Series(np.concatenate([w.to_numpy(), w.to_numpy()]) / 2, index=dd.index)
    two = weighted_cif(dd, "time", "code", "mtx", ww, id="id").table
    np.testing.assert_allclose(two["estimate"], one["estimate"], rtol=1e-12)
    np.testing.assert_allclose(two["std_err"], one["std_err"], rtol=1e-10)


@settings(max_examples=40, deadline=None)
@given(hs.lists(hs.tuples(hs.integers(1, 30), hs.integers(0, 2), hs.floats(0.2, 5)),
                min_size=3, max_size=25))
def test_cif_plus_km_is_one(rows):
    """Invariant: sum of cause-specific CIFs = 1 - weighted KM of any event."""
    d = pd.DataFrame(rows, columns=["t", "c", "w"])
    assume((d["c"] > 0).any())
    d["g"] = "A"
    d["e"] = (d["c"] > 0).astype(int)
    cif = weighted_cif(d, "t", "c", "g", d["w"]).table
    km = weighted_km(d, "t", "e", "g", d["w"]).table
    tot = cif.groupby("time")["estimate"].sum()
    s = km.set_index("time")["estimate"]
    np.testing.assert_allclose(tot.loc[s.index].to_numpy(), 1 - s.to_numpy(), atol=1e-12)


def test_weighted_cox_robust_matches_coxph(lung):
    d, ps = lung
    res = weighted_cox(d, "time", "status", "sex", psweights(ps, "ATE"))
    r = REF["weighted_lung"]["cox_ate"]
    t = res.terms
    assert list(t.columns) == TERM_COLUMNS
    assert (t["term"].tolist(), t["level"].tolist()) == (["sexM"], ["M"])
    np.testing.assert_allclose(t["coef"], [r["coef"]], rtol=1e-6)
    np.testing.assert_allclose(t["se"], [r["se"]], rtol=1e-6)
    np.testing.assert_allclose(t["robust_se"], [r["robust_se"]], rtol=1e-6)
    np.testing.assert_allclose(t["lower"], np.exp(r["coef"] - 1.959963984540054 * r["robust_se"]),
                               rtol=1e-6)
    lr = weighted_logrank(d, "time", "status", "sex", psweights(ps, "ATE"))
    assert lr.statistic == pytest.approx(r["robscore"], rel=1e-6)
    assert lr.df == r["robscore_df"] == 1


def test_weighted_cox_three_groups(colon):
    d, ps = colon
    w = psweights(ps, "ATO")
    res = weighted_cox(d, "os_time", "os_status", "rx", w)
    r = REF["weighted_colon"]["cox_ato"]
    np.testing.assert_allclose(res.terms["coef"], r["coef"], rtol=1e-5)
    np.testing.assert_allclose(res.terms["robust_se"], r["robust_se"], rtol=1e-5)
    lr = weighted_logrank(d, "os_time", "os_status", "rx", w)
    assert lr.statistic == pytest.approx(r["robscore"], rel=1e-5)
    assert lr.df == 2


def test_gcomp_point_estimates_match_riskregression(lung):
    d, _ = lung
    res = adjusted_risks(d, "time", "status", "sex", [180, 365], method="gcomp",
                         covariates=LUNG_COVS, categorical=["ph_ecog"], ci="none")
    r = REF["weighted_lung"]["gcomp"]
    got = res.risks.set_index(["group", "time"])["risk"]
    for g, t, v in zip(r["treatment"], r["time"], r["risk"]):
        assert got.loc[(g, float(t))] == pytest.approx(v, rel=1e-6)
    assert res.risks["lower"].isna().all() and "ci = 'none'" in " ".join(res.notes)


def test_gcomp_influence_se_matches_riskregression_without_ties():
    # riskRegression::ate(..., se = TRUE) on lung with untied (jittered) times
    d = pd.read_csv(REF_DIR / "data" / "adjust_lung_untied.csv")
    res = adjusted_risks(d, "time", "status", "sex", [180, 365], method="gcomp",
                         covariates=LUNG_COVS, categorical=["ph_ecog"])
    r = REF["weighted_lung"]["gcomp_untied"]
    got = res.risks.set_index(["group", "time"])
    for g, t, v, se in zip(r["treatment"], r["time"], r["risk"], r["se"]):
        assert got.loc[(g, float(t)), "risk"] == pytest.approx(v, rel=1e-6)
        assert got.loc[(g, float(t)), "std_err"] == pytest.approx(se, rel=1e-6)
    dif = res.differences.set_index("time")
    assert (r["diff_A"], r["diff_B"]) == (["F", "F"], ["M", "M"])
    np.testing.assert_allclose(dif.loc[[180.0, 365.0], "difference"], r["diff"], rtol=1e-6)
    np.testing.assert_allclose(dif.loc[[180.0, 365.0], "std_err"], r["diff_se"], rtol=1e-6)


def test_gcomp_bootstrap_is_seeded(lung):
    d, _ = lung
    kw = dict(method="gcomp", covariates=["age"], ci="bootstrap", n_boot=30, seed=7)
    a = adjusted_risks(d, "time", "status", "sex", [365], **kw)
    b = adjusted_risks(d, "time", "status", "sex", [365], **kw)
    pd.testing.assert_frame_equal(a.risks, b.risks)
    assert (a.risks["lower"] <= a.risks["risk"]).all() and (a.risks["risk"] <= a.risks["upper"]).all()


def test_iptw_risks_are_one_minus_weighted_km(lung):
    d, ps = lung
    w = psweights(ps, "ATO")
    res = adjusted_risks(d, "time", "status", "sex", [180, 365], weights=w)
    km = weighted_km(d, "time", "status", "sex", w, conf_type="plain").at([180, 365])
    np.testing.assert_allclose(res.risks["risk"], 1 - km["estimate"], rtol=1e-12)
    diff = res.differences.iloc[0]
    r = res.risks.set_index(["group", "time"])["risk"]
    assert diff["difference"] == pytest.approx(r.loc[("M", 180.0)] - r.loc[("F", 180.0)])


def test_effect_input_errors(lung):
    d, ps = lung
    with pytest.raises(InputError, match="needs weights="):
        adjusted_risks(d, "time", "status", "sex", [100])
    with pytest.raises(InputError, match="needs covariates="):
        adjusted_risks(d, "time", "status", "sex", [100], method="gcomp")
    with pytest.raises(InputError, match="only for method='gcomp'"):
        adjusted_risks(d, "time", "status", "sex", [100], weights=psweights(ps, "ATO"),
                       ci="bootstrap")
    with pytest.raises(InputError, match="method must be"):
        adjusted_risks(d, "time", "status", "sex", [100], method="aipw")
    with pytest.raises(InputError, match="must be 0/1"):
        weighted_cox(d.assign(status=d["status"] + 1), "time", "status", "sex",
                     psweights(ps, "ATO"))


@pytest.mark.parametrize("key,fn", [("rr", "rr"), ("rr_protective", "rr"), ("hr_common", "hr"),
                                    ("hr_rare", "hr_rare")])
def test_evalues(key, fn):
    r = REF["evalue"][key]
    if fn == "rr":
        e = evalue_rr(r["est"], r["lo"], r["hi"])
    else:
        e = evalue_hr(r["est"], r["lo"], r["hi"], rare=(fn == "hr_rare"))
    assert e["evalue_estimate"].iloc[0] == pytest.approx(r["e_est"], rel=1e-12)
    assert e["evalue_ci"].iloc[0] == pytest.approx(r["e_ci"], rel=1e-12)


def test_evalue_published_example_and_ci_including_one():
    e = evalue_rr(3.9, 1.8, 8.7)         # VanderWeele & Ding 2017: 7.26 and 3.0
    assert round(e["evalue_estimate"].iloc[0], 2) == 7.26
    assert e["evalue_ci"].iloc[0] == pytest.approx(3.0)
    e = evalue_hr(1.3, 0.8, 2.1)
    assert e["evalue_ci"].iloc[0] == 1.0 and "CI includes 1" in e["note"].iloc[0]
    with pytest.raises(InputError, match="not inside its CI"):
        evalue_rr(2.0, 2.5, 3.0)


def test_weighted_km_median_matches_quantile_survfit(lung):
    d, ps = lung
    med = weighted_km(d, "time", "status", "sex", psweights(ps, "ATO")).median()
    r = REF["weighted_lung"]["km_ato_median"]
    np.testing.assert_allclose(med["median"], r["median"], rtol=1e-6)
    np.testing.assert_allclose(med["lower"], _arr(r["lower"]), rtol=1e-6)
    np.testing.assert_allclose(med["upper"], _arr(r["upper"]), rtol=1e-6)


def test_docstring_examples_run():
    import doctest
    import importlib
    import aplcohort.adjust as A
    for name in ("balance", "curves", "effects", "evalue", "finegray", "matching", "ps",
                 "weights"):
        mod = importlib.import_module(f"aplcohort.adjust.{name}")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", StatisticalWarning)
            res = doctest.testmod(mod, extraglobs=vars(A))
        assert res.failed == 0, mod.__name__
        assert res.attempted > 0, mod.__name__


def test_finegray_expansion_equals_r_finegray(bmt):
    from aplcohort.adjust.finegray import finegray_data
    d, _ = bmt
    r = REF["finegray_bmt"]
    fg = finegray_data(d["time"], d["code"], cause=1)
    ids = d["id"].to_numpy()[fg["row"].to_numpy()]
    got = pd.DataFrame({"id": ids, "start": fg["fgstart"], "stop": fg["fgstop"],
                        "status": fg["fgstatus"], "wt": fg["fgwt"]})
    ref = pd.DataFrame({"id": r["id"], "start": r["fgstart"], "stop": r["fgstop"],
                        "status": r["fgstatus"], "wt": r["fgwt"]})
    key = ["id", "start"]
    got, ref = got.sort_values(key).reset_index(drop=True), ref.sort_values(key).reset_index(drop=True)
    assert len(got) == len(ref) == 195
    assert (got[["id", "status"]].to_numpy() == ref[["id", "status"]].to_numpy()).all()
    np.testing.assert_allclose(got[["start", "stop"]], ref[["start", "stop"]], rtol=0, atol=0)
    np.testing.assert_allclose(got["wt"], ref["wt"], rtol=1e-12)


def test_weighted_finegray_matches_coxph_on_finegray_data(bmt):
    from aplcohort.adjust.finegray import weighted_finegray
    d, ps = bmt
    r = REF["finegray_bmt"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)
        res = weighted_finegray(d, "time", "code", "mtx", psweights(ps, "ATE"), cause=1, id="id")
    assert res.scale == "SHR"
    np.testing.assert_allclose(res.terms["coef"], [r["coef"]], rtol=1e-6)
    np.testing.assert_allclose(res.terms["se"], [r["se"]], rtol=1e-6)
    np.testing.assert_allclose(res.terms["robust_se"], [r["robust_se"]], rtol=1e-6)
    assert "censoring distribution unweighted" in res.weighting


def test_unit_weights_reproduce_the_unweighted_estimators(lung):
    from aplcohort.stats import kaplan_meier
    from aplcohort.stats.shapes import AT_COLUMNS, MEDIAN_COLUMNS
    d, _ = lung
    ones = pd.Series(1.0, index=d.index)
    wk = weighted_km(d, "time", "status", "sex", ones)
    km = kaplan_meier(d["time"], d["status"], d["sex"])
    times = [100, 365, 2000]
    a, b = wk.at(times), km.at(times)
    assert list(a.columns) == AT_COLUMNS and list(wk.median().columns) == MEDIAN_COLUMNS
    np.testing.assert_allclose(a["estimate"], b["estimate"], rtol=1e-12)
    assert a["note"].tolist() == b["note"].tolist()
    pd.testing.assert_frame_equal(wk.risk_table(times), km.risk_table(times), check_dtype=False)
    np.testing.assert_allclose(wk.median()["median"], km.median()["median"])


def test_cif_at_and_risk_table(bmt):
    d, _ = bmt
    r = weighted_cif(d, "time", "code", "mtx", pd.Series(1.0, index=d.index))
    at = r.at([0, 500, 10_000])
    assert at.loc[at["time"] == 0, "estimate"].eq(0).all()
    assert at.loc[at["time"] == 10_000, "estimate"].isna().all()
    assert (at.loc[at["time"] == 10_000, "note"] != "").all()
    rt = r.risk_table([0])
    assert rt["n_risk"].tolist() == [float((d["mtx"] == g).sum()) for g in (0, 1)]
