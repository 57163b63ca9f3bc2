"""Tests of the Fine-Gray regression (aplcohort.stats.finegray) and cause-specific Cox.

Reference values: tests/reference/competing.R (cmprsk 2.2-11 crr / predict.crr,
survival 3.5-3 coxph) -> tests/reference/competing.json.
"""

from __future__ import annotations

import dataclasses
import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sst

from aplcohort.errors import ConvergenceWarning, InputError, SeparationWarning
from aplcohort.stats.competing import cause_specific_cox, fine_gray
from aplcohort.stats.finegray import _Problem, crr_fit

REF = Path(__file__).parent / "reference"
R = json.loads((REF / "competing.json").read_text())
MG = pd.read_csv(REF / "data" / "mgus2_competing.csv")
SIM = pd.read_csv(REF / "data" / "competing_sim.csv")
RTOL = 1e-5  # iterative fits
X_MG = np.column_stack([MG.age, (MG.sex == "M").astype(float)])


@pytest.mark.parametrize("key,cause", [("crr_mgus1", 1), ("crr_mgus2", 2)])
def test_crr_mgus2_array_level(key, cause):
    # crr(mg$etime, mg$event, cbind(age, sexM = sex == "M"), failcode = cause)
    r = R[key]
    f = crr_fit(MG.etime, MG.event, X_MG, cause=cause)
    assert f.converged is True and r["converged"] is True
    np.testing.assert_allclose(f.coef, r["coef"], rtol=RTOL)
    np.testing.assert_allclose(f.var, np.array(r["var"]), rtol=RTOL)
    np.testing.assert_allclose(f.loglik, r["loglik"], rtol=RTOL)
    np.testing.assert_allclose(f.loglik_null, r["loglik_null"], rtol=RTOL)
    np.testing.assert_array_equal(f.uftime, r["uftime"])
    np.testing.assert_allclose(f.bfitj, r["bfitj"], rtol=RTOL)
    # predict(fit, rbind(c(60, 0), c(75, 1), c(85, 0)))
    pred = f.predict(np.array(r["profiles"]))
    np.testing.assert_allclose(pred.T, np.array(r["predict"]), rtol=RTOL)
    np.testing.assert_array_equal(r["predict_time"], f.uftime)


@pytest.mark.parametrize("key,cause", [("crr_sim", 1), ("crr_sim2", 2)])
def test_fine_gray_front_end_with_factors(key, cause):
    # crr(sim$time, sim$code, model.matrix(~ x1 + x2 + fac + grpf)[, -1], failcode = cause)
    # with fac reference "lo" and grp reference "A"
    r = R[key]
    res = fine_gray(SIM, time="time", code="code", covariates=["x1", "x2", "fac", "grp"],
                    categorical={"fac": "lo", "grp": "A"}, cause=cause, conf_level=0.9)
    assert list(res.terms.columns) == ["term", "level", "coef", "se", "robust_se", "estimate",
                                       "lower", "upper", "statistic", "p", "estimable", "note"]
    assert res.scale == "SHR" and res.terms["estimable"].all()
    assert sorted(res.terms.term) == sorted(r["names"])
    t = res.terms.set_index("term").loc[r["names"]]
    coef = np.array(r["coef"])
    se = np.sqrt(np.diag(np.array(r["var"])))
    np.testing.assert_allclose(t.coef, coef, rtol=RTOL)
    np.testing.assert_allclose(t.se, se, rtol=RTOL)
    # summary.crr: exp(coef), exp(coef -+ qnorm(0.95) se), z = coef/se, p = 2(1 - pnorm|z|)
    z = sst.norm.ppf(0.95)
    np.testing.assert_allclose(t.estimate, np.exp(coef), rtol=RTOL)
    np.testing.assert_allclose(t.lower, np.exp(coef - z * se), rtol=RTOL)
    np.testing.assert_allclose(t.upper, np.exp(coef + z * se), rtol=RTOL)
    np.testing.assert_allclose(t.statistic, coef / se, rtol=RTOL)
    np.testing.assert_allclose(t.p, 2 * sst.norm.sf(np.abs(coef / se)), rtol=RTOL)
    assert res.loglik == pytest.approx((r["loglik_null"], r["loglik"]), rel=RTOL)
    assert res.converged and res.reference_levels == {"fac": "lo", "grp": "A"}
    assert res.n == len(SIM) and res.events == int((SIM.code == cause).sum())
    assert res.events + res.competing + res.censored == res.n
    # predict.crr for profiles (x1, x2, fac, grp) = (0, 0, lo, A) and (1, 1, hi, B)
    prof = pd.DataFrame({"x1": [0, 1], "x2": [0, 1], "fac": ["lo", "hi"], "grp": ["A", "B"]})
    order = [r["names"].index(n) for n in ["x1", "x2", "facmid", "fachi", "grpB", "grpC"]]
    assert order == list(range(6))  # R profile columns are in this order
    pred = res.predict(prof)
    assert list(pred.columns) == ["profile", "time", "estimate"]
    for k in range(2):
        p = pred[pred.profile == k]
        np.testing.assert_array_equal(p.time, r["predict_time"])
        np.testing.assert_allclose(p.estimate, r["predict"][k], rtol=RTOL)
    # step-function values at chosen times: 0 before the first failure time
    ut = np.array(r["predict_time"])
    pt = res.predict(prof, times=[0, ut[0], ut[2] + 0.5, 1e6])
    exp0 = [0.0, r["predict"][0][0], r["predict"][0][2], r["predict"][0][-1]]
    np.testing.assert_allclose(pt[pt.profile == 0].estimate, exp0, rtol=RTOL)


# ------------------------------------------------ brute force (cmprsk Fortran crrf / crrfsv)
def _crrf_bruteforce(t, status, X, b):
    """Direct O(n^2) transcription of cmprsk's negative log pseudo-likelihood and score."""
    n = len(t)
    cens = status == 0
    # survfit KM of censoring, evaluated just before each time
    def G(x):
        s = 1.0
        for u in np.unique(t[cens]):
            if u < x:
                s *= 1 - ((t == u) & cens).sum() / (t >= u).sum()
        return s
    lik, score = 0.0, np.zeros(X.shape[1])
    for u in np.unique(t[status == 1]):
        fails = (t == u) & (status == 1)
        lik -= (X[fails] @ b).sum()
        score -= X[fails].sum(axis=0)
        s0, s1 = 0.0, np.zeros(X.shape[1])
        for i in range(n):
            if t[i] >= u:
                w = np.exp(X[i] @ b)
            elif status[i] == 2:
                w = np.exp(X[i] @ b) * G(u) / G(t[i])
            else:
                continue
            s0 += w
            s1 += w * X[i]
        lik += fails.sum() * np.log(s0)
        score += fails.sum() * s1 / s0
    return lik, score


@st.composite
def small_cohorts(draw):
    n = draw(st.integers(min_value=4, max_value=25))
    t = draw(st.lists(st.integers(1, 6), min_size=n, max_size=n))
    s = draw(st.lists(st.integers(0, 2), min_size=n, max_size=n))
    s[0] = 1
    x = draw(st.lists(st.floats(-2, 2, allow_nan=False), min_size=2 * n, max_size=2 * n))
    b = draw(st.lists(st.floats(-1, 1, allow_nan=False), min_size=2, max_size=2))
    return np.array(t, float), np.array(s), np.array(x).reshape(n, 2), np.array(b)


@settings(max_examples=60, deadline=None)
@given(small_cohorts())
def test_linear_scan_equals_bruteforce_risk_sets(data):
    t, s, X, b = data
    pr = _Problem(t, s, X)
    lik, score, _ = pr.objective(b)
    lik_bf, score_bf = _crrf_bruteforce(t, s, X, b)
    np.testing.assert_allclose(lik, lik_bf, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(score, score_bf, rtol=1e-9, atol=1e-9)


def test_invariances():
    # rank-based in time; shifting a covariate changes nothing but the baseline
    a = crr_fit(MG.etime, MG.event, X_MG)
    b = crr_fit(np.log1p(MG.etime) * 7, MG.event, X_MG + np.array([10.0, 0.0]))
    np.testing.assert_allclose(a.coef, b.coef, rtol=1e-9)
    np.testing.assert_allclose(a.var, b.var, rtol=1e-8)
    np.testing.assert_allclose(a.loglik, b.loglik, rtol=1e-10)


def test_nonconvergence_warns():
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        f = crr_fit(MG.etime, MG.event, X_MG, max_iter=1)
    assert f.converged is False


# ------------------------------------------------ cause-specific Cox
@pytest.mark.parametrize("key,data,kw", [
    # coxph(Surv(etime, event == 1) ~ age + sex, data = mg)
    ("cs_mgus1", MG, dict(time="etime", code="event", cause=1, covariates=["age", "sex"])),
    # coxph(Surv(etime, event == 2) ~ age + sex, data = mg)
    ("cs_mgus2", MG, dict(time="etime", code="event", cause=2, covariates=["age", "sex"])),
    # coxph(Surv(time, code == 1) ~ x1 + x2 + fac, data = sim)   (fac reference "lo")
    ("cs_sim1", SIM, dict(time="time", code="code", cause=1, covariates=["x1", "x2", "fac"],
                          categorical={"fac": "lo"})),
])
def test_cause_specific_cox(key, data, kw):
    r = R[key]
    res = cause_specific_cox(data, **kw)
    t = res.terms.set_index("term").loc[r["names"]]
    np.testing.assert_allclose(t.coef, r["coef"], rtol=RTOL)
    np.testing.assert_allclose(t.se, np.sqrt(np.diag(np.array(r["var"]))), rtol=RTOL)
    np.testing.assert_allclose(res.loglik, r["loglik"], rtol=RTOL)
    assert res.events == int((data[kw["code"]] == kw["cause"]).sum())


def test_cause_specific_cox_errors():
    with pytest.raises(InputError, match="cause=3 does not occur"):
        cause_specific_cox(MG, time="etime", code="event", cause=3, covariates=["age"])
    with pytest.raises(InputError, match="not found"):
        cause_specific_cox(MG, time="nope", code="event", cause=1, covariates=["age"])


# ------------------------------------------------ result object and input checking
def test_result_object():
    res = fine_gray(MG, time="etime", code="event", covariates=["age", "sex"], cause=1)
    assert res.kind == "finegray"
    assert res.terms.term.tolist() == ["age", "sexM"]
    assert res.choices["reference_levels"] == {"sex": "F"} and res.choices["cause"] == 1
    assert list(res.tests.columns) == ["test", "statistic", "df", "p"]
    d = res.to_dict()
    json.dumps(d)
    assert d["kind"] == "finegray" and "_fit" not in d
    assert "Breslow" in res._repr_html_() and "sexM" in res._repr_html_()
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.cause = 2


def test_fine_gray_input_errors():
    bad = MG.copy()
    bad.loc[bad.index[3], "age"] = np.nan
    with pytest.raises(InputError, match="missing values"):
        fine_gray(bad, time="etime", code="event", covariates=["age"])
    with pytest.raises(InputError, match="cause=5 does not occur"):
        fine_gray(MG, time="etime", code="event", covariates=["age"], cause=5)
    with pytest.raises(InputError, match="reference level 'X'"):
        fine_gray(MG, time="etime", code="event", covariates=["sex"], categorical={"sex": "X"})
    with pytest.raises(InputError, match="not found"):
        fine_gray(MG, time="etime", code="status", covariates=["age"])
    with pytest.raises(InputError, match="at least one"):
        fine_gray(MG, time="etime", code="event", covariates=[])
    res = fine_gray(MG, time="etime", code="event", covariates=["age", "sex"])
    with pytest.raises(InputError, match="not levels"):
        res.predict({"age": 60, "sex": "U"})
    with pytest.raises(InputError, match="not found"):
        res.predict({"age": 60})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert res.predict({"age": 60, "sex": "M"}, times=[100]).shape == (1, 3)


def test_crr_edge_cohort_time_zero():
    # crr(edge$time, edge$code, cbind(x = edge$x)): events and a censoring at time 0
    # (crr's G(t-) is taken at t * (1 - 100 eps), so the censoring at 0 counts at 0)
    edge = pd.read_csv(REF / "data" / "competing_edge.csv")
    r = R["crr_edge"]
    f = crr_fit(edge.time, edge.code, edge[["x"]].to_numpy())
    np.testing.assert_allclose(f.coef, np.atleast_1d(r["coef"]), rtol=RTOL)
    np.testing.assert_allclose(f.var, np.array(r["var"]).reshape(1, 1), rtol=RTOL)
    np.testing.assert_allclose(f.loglik, r["loglik"], rtol=RTOL)
    np.testing.assert_allclose(f.bfitj, r["bfitj"], rtol=RTOL)
    np.testing.assert_allclose(f.predict(np.array([[0.0], [1.0]])).T, np.array(r["predict"]),
                               rtol=RTOL)


# ---------------------------------------------------------------- non-estimable terms
NE = json.loads((Path(__file__).parent / "reference" / "nonestimable.json").read_text())


def test_aliased_column_is_na_and_rest_matches_crr_without_it():
    # R: crr(etime, event, cbind(age, age2 = 2 * age, male)) stops ("singular");
    #    crr(etime, event, cbind(age, male)) is the model we fit, with age2 NA
    ref = NE["crr_aliased"]
    assert "singular" in ref["r_error"]
    d = MG.assign(age2=2 * MG["age"], male=(MG["sex"] == "M").astype(float))
    res = fine_gray(d, time="etime", code="event", covariates=["age", "age2", "male"])
    t = res.terms
    assert t["estimable"].tolist() == [True, False, True]
    assert t["note"].iloc[1] == "aliased with 'age' (a linear combination of them)"
    assert t.iloc[1][["coef", "se", "estimate", "lower", "upper", "statistic", "p"]].isna().all()
    np.testing.assert_allclose(t["coef"].iloc[[0, 2]], ref["coef"], rtol=1e-5)
    np.testing.assert_allclose(t["se"].iloc[[0, 2]], ref["se"], rtol=1e-5)
    assert res.loglik == pytest.approx((ref["loglik_null"], ref["loglik"]), rel=1e-6)
    assert (res.tests["df"] == 2).all()
    # predictions ignore the aliased column (out of the model)
    p = res.predict({"age": 60, "age2": 0, "male": 1}, times=[100])
    q = fine_gray(d, time="etime", code="event", covariates=["age", "male"]).predict(
        {"age": 60, "male": 1}, times=[100])
    np.testing.assert_allclose(p["estimate"], q["estimate"], rtol=1e-10)


def test_monotone_pseudo_likelihood_not_estimable():
    # R: crr(t, c, cbind(g, x)): g = 1 has no cause-1 events; crr reports coef -12.6 with
    # SE 0.71 (p ~ 1e-69) and no warning -- a silently wrong answer we refuse to give
    ref = NE["crr_monotone"]
    assert ref["events_g1"] == 0
    d = pd.read_csv(Path(__file__).parent / "reference" / "data" / "nonest_fg_monotone.csv")
    with pytest.warns(SeparationWarning, match="may be infinite"):
        res = fine_gray(d, time="t", code="c", covariates=["g", "x"])
    t = res.terms
    assert t["estimable"].tolist() == [False, True]
    assert t["note"].iloc[0].startswith("coefficient may be infinite")
    np.testing.assert_allclose(res.fit.coef, ref["coef"], rtol=1e-5)  # same fit as crr
    np.testing.assert_allclose(t["se"].iloc[1], ref["se"][1], rtol=1e-5)


# ---- review 7, F1: a level without events of the cause (tests/reference/finegray_noevents.R)
NOEV = json.loads((REF / "finegray_noevents.json").read_text())
NOEV_D = pd.read_csv(REF / "data" / "finegray_noevents_min2022.csv")


def _fg_noev(covariates):
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        res = fine_gray(NOEV_D, time="time", code="event", covariates=covariates,
                        categorical={"modality": "ATO-based"} if "modality" in covariates
                        else None)
    return res, [str(x.message) for x in w]


def test_level_without_events_of_the_cause_is_not_estimable():
    # one NRM event (allo HSCT); ATO-based (reference) and auto HSCT have none. crr gives
    # allo 15.2 (18.2 with maxiter 25: it diverges) and auto HSCT ~0 with SE 0.37 -- an SHR
    # of 1.00 (0.49-2.06) for 0 events against 0 events; coxph flags both as infinite.
    ref = NOEV["crr_modality"]
    assert NOEV["events"] == {"ATO-based": 0, "allo HSCT": 1, "auto HSCT": 0}
    assert "may be infinite" in NOEV["coxph_modality"]["warnings"]
    res, msgs = _fg_noev(["modality"])
    f = res.fit
    np.testing.assert_allclose(f.coef[0], ref["coef"][0], rtol=1e-5)   # the same fit as crr
    assert abs(f.coef[1]) < 1e-8 and abs(ref["coef"][1]) < 1e-8
    np.testing.assert_allclose(np.sqrt(np.diag(f.var)), ref["se"], rtol=1e-5)
    assert res.converged is False and ref["converged"] is False
    t = res.terms
    assert t["estimable"].tolist() == [False, False]
    assert t[["coef", "se", "estimate", "lower", "upper", "p"]].isna().all().all()
    assert t["note"].iloc[0] == ("no events of cause 1 in the reference level 'ATO-based': the "
                                 "coefficient diverges to +inf; choose a reference level with "
                                 "events (categorical:)")
    assert t["note"].iloc[1] == ("no events of cause 1 in level 'auto HSCT' nor in the "
                                 "reference level 'ATO-based': nothing to compare")
    assert any("may be infinite" in m for m in msgs)
    # with allo HSCT as the reference, auto HSCT (0 events) has SHR 0: still not estimable
    with pytest.warns(SeparationWarning):
        t2 = fine_gray(NOEV_D, time="time", code="event", covariates=["modality"],
                       categorical={"modality": "allo HSCT"}).terms
    assert not t2["estimable"].any()
    assert t2.set_index("level")["note"]["auto HSCT"] == (
        "no events of cause 1 in level 'auto HSCT': the coefficient diverges to -inf (SHR 0)")


def test_diverging_continuous_covariate_reason_names_the_covariate():
    # crr stops ("system is computationally singular"); we fit (not converged, coefficients
    # 272 / 80 / 10.8) and report no term: the age note names age, not a group
    assert "singular" in NOEV["crr_modality_age"]["r_error"]
    res, _ = _fg_noev(["modality", "age"])
    t = res.terms.set_index("term")
    assert res.converged is False
    assert not t["estimable"].any() and t["estimate"].isna().all()
    assert t.loc["age", "note"] == (
        "coefficient may be infinite (monotone pseudo-likelihood: each event of cause 1 has "
        "the highest value of 'age' among those at risk, given the other terms; too few events)")
    assert "group" not in t.loc["age", "note"]


def test_estimable_term_on_the_same_data_agrees_with_crr():
    ref = NOEV["crr_age"]
    res, msgs = _fg_noev(["age"])
    assert res.converged is True and bool(res.terms["estimable"].iloc[0])
    assert res.terms["note"].iloc[0] == "" and not msgs
    np.testing.assert_allclose(res.terms["coef"].iloc[0], ref["coef"], rtol=1e-5)
    np.testing.assert_allclose(res.terms["se"].iloc[0], ref["se"], rtol=1e-5)
    np.testing.assert_allclose(res.loglik, (ref["loglik_null"], ref["loglik"]), rtol=1e-5)


def test_not_converged_fit_without_divergence_reports_no_term():
    # crr's own max_iter = 1 on mgus2: nothing diverges, the fit simply stopped early
    d = MG.assign(male=(MG.sex == "M").astype(float))
    with pytest.warns(ConvergenceWarning):
        res = fine_gray(d, time="etime", code="event", covariates=["age", "male"], max_iter=1)
    assert res.converged is False
    assert not res.terms["estimable"].any()
    assert res.terms["note"].str.startswith("the Fine-Gray fit did not converge in 1 "
                                            "iterations").all()


def test_plan_finegray_level_without_events_flags_terms_and_convergence(tmp_path):
    from aplcohort.plan import run_plan
    path = tmp_path / "nrm.csv"
    NOEV_D.to_csv(path, index=False)
    plan = {"plan": "f1", "data": {"source": str(path)},
            "endpoints": {"nrm": {"time": "time", "code": "event", "unit": "months"}},
            "analyses": [{"id": "fg", "kind": "finegray", "endpoint": "nrm",
                          "covariates": ["modality", "age"],
                          "categorical": {"modality": "ATO-based"}},
                         {"id": "fg1", "kind": "finegray", "endpoint": "nrm",
                          "covariates": ["modality"], "categorical": {"modality": "ATO-based"}}]}
    res = run_plan(plan, figures=False)
    for aid, k in (("fg", 3), ("fg1", 2)):
        s = res[aid].summary
        assert s["converged"] is False
        assert len(s["terms"]) == k and not any(t["estimable"] for t in s["terms"])
        assert all(t["note"] and t["estimate"] is None for t in s["terms"])
        assert any("did not converge" in w for w in s["warnings"])
