"""Tests of aplcohort.stats.cox against R survival 3.5-3 (tests/reference/cox.R).

Reference values: tests/reference/cox.json written by tests/reference/cox.R from the
CSVs in tests/reference/data/cox_*.csv.  The R call of each case is written beside it.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as hst

from aplcohort.errors import (ConvergenceWarning, InputError, SeparationWarning,
                             StatisticalWarning)
from aplcohort.stats.cox import CoxResult, cox_fit, coxph, univariable_multivariable

REF = Path(__file__).parent / "reference"
R = json.loads((REF / "cox.json").read_text())
DATA = REF / "data"
LUNG = pd.read_csv(DATA / "cox_lung.csv")
VET = pd.read_csv(DATA / "cox_veteran.csv")
OVA = pd.read_csv(DATA / "cox_ovarian.csv")
AML = pd.read_csv(DATA / "cox_aml.csv")
HEART = pd.read_csv(DATA / "cox_heart.csv")

LUNG_REF = {"sex": "M", "ph_ecog": 0}
LUNG3 = dict(time="time", event="event", covariates=["age", "sex", "ph_ecog"],
             categorical=LUNG_REF)
HEART3 = dict(time="stop", event="event", entry="start",
              covariates=["age", "transplant", "surgery"])

# key in cox.json -> (data, coxph keyword arguments); the R call is in the comment.
CASES = {
    # coxph(Surv(time, event) ~ age + sex + ph_ecog, data = L, ties = "efron")
    "lung_efron": (LUNG, dict(LUNG3)),
    # coxph(Surv(time, event) ~ age + sex + ph_ecog, data = L, ties = "breslow")
    "lung_breslow": (LUNG, dict(LUNG3, ties="breslow")),
    # coxph(Surv(time, event) ~ age + sex + ph_ecog, data = L, robust = TRUE)
    "lung_robust": (LUNG, dict(LUNG3, robust=True)),
    # coxph(Surv(time, event) ~ age + sex + ph_ecog + cluster(inst), data = L)
    "lung_cluster": (LUNG, dict(LUNG3, cluster="inst")),
    # coxph(Surv(time, event) ~ age + sex + strata(inst), data = L)
    "lung_strata": (LUNG, dict(time="time", event="event", covariates=["age", "sex"],
                               categorical={"sex": "M"}, strata="inst")),
    # coxph(Surv(time, event) ~ age + sex + strata(inst), data = L, ties = "breslow")
    "lung_strata_breslow": (LUNG, dict(time="time", event="event", covariates=["age", "sex"],
                                       categorical={"sex": "M"}, strata="inst",
                                       ties="breslow")),
    # coxph(Surv(time, event) ~ age + sex + ph_ecog, data = L, weights = w)  (robust by default)
    "lung_weights": (LUNG, dict(LUNG3, weights="w")),  # R default: robust (w not integer)
    # coxph(Surv(time, event) ~ age + sex + ph_ecog, data = L, weights = w, robust = FALSE)
    "lung_weights_naive": (LUNG, dict(LUNG3, weights="w", robust=False)),
    # L1$ph_ecog <- relevel(L1$ph_ecog, ref = "1"); coxph(Surv(time, event) ~ age + sex + ph_ecog)
    "lung_ref1": (LUNG, dict(LUNG3, categorical={"sex": "M", "ph_ecog": 1})),
    # V$celltype <- relevel(V$celltype, ref = "large")
    # coxph(Surv(time, status) ~ trt + karno + age + celltype, data = V)
    "veteran": (VET, dict(time="time", event="status",
                          covariates=["trt", "karno", "age", "celltype"],
                          categorical={"celltype": "large"})),
    # coxph(Surv(futime, fustat) ~ age + ecog.ps + rx, data = ovarian)
    "ovarian": (OVA, dict(time="futime", event="fustat", covariates=["age", "ecog.ps", "rx"])),
    # coxph(Surv(futime, fustat) ~ age + ecog.ps + rx, data = ovarian, ties = "breslow")
    "ovarian_breslow": (OVA, dict(time="futime", event="fustat",
                                  covariates=["age", "ecog.ps", "rx"], ties="breslow")),
    # coxph(Surv(time, status) ~ x, data = aml)
    "aml_efron": (AML, dict(time="time", event="status", covariates=["x"])),
    # coxph(Surv(time, status) ~ x, data = aml, ties = "breslow")
    "aml_breslow": (AML, dict(time="time", event="status", covariates=["x"], ties="breslow")),
    # coxph(Surv(start, stop, event) ~ age + transplant + surgery, data = heart)
    "heart": (HEART, dict(HEART3)),
    # coxph(Surv(start, stop, event) ~ age + transplant + surgery, data = heart, ties = "breslow")
    "heart_breslow": (HEART, dict(HEART3, ties="breslow")),
    # coxph(Surv(start, stop, event) ~ age + transplant + surgery + cluster(id), data = heart)
    "heart_cluster": (HEART, dict(HEART3, cluster="id")),
}

RTOL = 1e-8  # iterative fit at R's eps = 1e-9: we reach ~1e-13 in practice


def _vec(x):
    return np.atleast_1d(np.asarray(x, dtype=float))


def _aligned(res: CoxResult, ref: dict):
    """Our terms table re-ordered into R's term order (R keeps factor-level order)."""
    names = list(np.atleast_1d(ref["terms"]))
    assert sorted(res.terms["term"]) == sorted(names)
    return res.terms.set_index("term").loc[names]


@pytest.mark.parametrize("key", sorted(CASES))
def test_against_r(key):
    data, kw = CASES[key]
    ref = R[key]
    res = coxph(data, **kw)
    t = _aligned(res, ref)
    np.testing.assert_allclose(t["coef"], _vec(ref["coef"]), rtol=RTOL)
    np.testing.assert_allclose(t["se"], _vec(ref["se"]), rtol=RTOL)
    np.testing.assert_allclose(t["lower"], _vec(ref["hr_lower"]), rtol=RTOL)
    np.testing.assert_allclose(t["upper"], _vec(ref["hr_upper"]), rtol=RTOL)
    np.testing.assert_allclose(t["p"], _vec(ref["p"]), rtol=1e-7)
    np.testing.assert_allclose(res.loglik, _vec(ref["loglik"]), rtol=1e-10)
    assert (res.n, res.events) == (ref["n"], ref["nevent"])
    tests = res.tests.set_index("test")
    for name, rk in [("likelihood ratio", "logtest"), ("wald", "waldtest"), ("score", "sctest")]:
        np.testing.assert_allclose(tests.loc[name, "statistic"], ref[rk][0], rtol=RTOL)
        assert tests.loc[name, "df"] == ref[rk][1]
        np.testing.assert_allclose(tests.loc[name, "p"], ref[rk][2], rtol=1e-7)
    if ref["robust_se"]:
        np.testing.assert_allclose(t["robust_se"], _vec(ref["robust_se"]), rtol=RTOL)
        np.testing.assert_allclose(tests.loc["robust score", "statistic"], ref["rscore"][0],
                                   rtol=RTOL)
        assert res.choices["robust"] is True
    else:
        assert t["robust_se"].isna().all()
        assert "robust score" not in tests.index
    assert res.n_iter == ref["iter"]  # same Newton-Raphson path as R


def test_result_shape_and_choices():
    res = coxph(LUNG, **LUNG3)
    assert list(res.terms.columns) == ["term", "level", "coef", "se", "robust_se", "estimate",
                                       "lower", "upper", "statistic", "p", "estimable", "note"]
    assert res.terms["level"].tolist() == [None, "F", 1, 2, 3]
    assert res.scale == "HR" and res.conf_level == 0.95 and res.variance == "model"
    assert list(res.tests.columns) == ["test", "statistic", "df", "p"]
    assert list(res.tests["test"]) == ["likelihood ratio", "wald", "score"]
    assert res.kind == "cox"
    assert res.choices["ties"] == "efron"
    assert res.choices["reference_levels"] == {"sex": "M", "ph_ecog": 0}
    d = res.to_dict()
    json.dumps(d)
    assert d["kind"] == "cox" and len(d["terms"]) == 5
    html = res._repr_html_()
    assert "ties: efron" in html and "sexF" in html
    with pytest.raises(Exception):
        res.n = 3  # frozen
    np.testing.assert_allclose(np.sqrt(np.diag(res.var)), res.terms["se"], rtol=1e-12)
    np.testing.assert_allclose(res.terms["estimate"], np.exp(res.terms["coef"]), rtol=1e-14)


def test_conf_level():
    r90 = coxph(LUNG, **LUNG3, conf_level=0.90).terms
    z = 1.6448536269514722
    np.testing.assert_allclose(r90["lower"], np.exp(r90["coef"] - z * r90["se"]), rtol=1e-12)


# ---------------------------------------------------------------- hand-worked cohorts
def test_hand_worked_no_ties():
    # t = 1, 2, 3+, 4; x = 1, 0, 1, 0.  At beta = 0:
    # t=1: risk {1,2,3,4}, xbar = 1/2, U += 1/2, I += 1/4
    # t=2: risk {2,3,4},   xbar = 1/3, U += -1/3, I += 2/9 ; t=4: risk {4}: nothing
    # U = 1/6, I = 17/36, score test = U^2 / I = 1/17; null loglik = -log 4 - log 3
    f = cox_fit(np.array([[1.0], [0.0], [1.0], [0.0]]), [1, 2, 3, 4], [1, 1, 0, 1])
    assert f.score_test == pytest.approx(1 / 17, rel=1e-14)
    assert f.loglik[0] == pytest.approx(-math.log(12), rel=1e-14)


def test_hand_worked_ties_efron_breslow():
    # two deaths at t=1 among 4 at risk (x = 1, 0 | 1, 0 censored at 2 | 0 dies at 3).
    # Efron: log-lik at 0 = -log 4 - log(4 - 2/2) = -log 12 ; Breslow: -2 log 4 = -log 16.
    X = np.array([[1.0], [0.0], [1.0], [0.0]])
    t, e = [1, 1, 2, 3], [1, 1, 0, 1]
    fe = cox_fit(X, t, e, ties="efron", max_iter=0)
    fb = cox_fit(X, t, e, ties="breslow", max_iter=0)
    assert fe.loglik[0] == pytest.approx(-math.log(12), rel=1e-14)
    assert fb.loglik[0] == pytest.approx(-math.log(16), rel=1e-14)


def test_hand_worked_late_entry():
    # (0,1] x=1 dies; (0,2] x=0 dies; (1.5,3] x=1 censored; (0,4] x=0 dies.
    # t=1: risk {A,B,D} (C enters at 1.5): xbar = 1/3, U += 2/3, I += 2/9
    # t=2: risk {B,C,D}: xbar = 1/3, U += -1/3, I += 2/9 ; t=4: {D} nothing.
    # U = 1/3, I = 4/9, score = 1/4 ; loglik(0) = -log 3 - log 3
    X = np.array([[1.0], [0.0], [1.0], [0.0]])
    f = cox_fit(X, [1, 2, 3, 4], [1, 1, 0, 1], entry=[0, 0, 1.5, 0], max_iter=0)
    assert f.score_test == pytest.approx(1 / 4, rel=1e-14)
    assert f.loglik[0] == pytest.approx(-math.log(9), rel=1e-14)


# ---------------------------------------------------------------- invariants
@settings(max_examples=25, deadline=None)
@given(hst.integers(min_value=0, max_value=10_000))
def test_integer_weights_equal_duplicated_rows(seed):
    rng = np.random.default_rng(seed)
    n = 20
    x = rng.normal(size=(n, 2))
    t = rng.integers(1, 8, size=n).astype(float)  # many ties
    e = rng.integers(0, 2, size=n)
    e[0] = 1
    w = rng.integers(1, 4, size=n)
    rep = np.repeat(np.arange(n), w)
    # Breslow only: R's Efron approximation counts tied rows, not weights, so a weight of
    # 2 is not the same as two copies of a row at a tied event time (as in R).
    a = cox_fit(x, t, e, weights=w.astype(float), ties="breslow", warn=False)
    b = cox_fit(x[rep], t[rep], e[rep], ties="breslow", warn=False)
    assume(a.converged and b.converged and not a.infinite.any())
    np.testing.assert_allclose(a.coef, b.coef, rtol=1e-7, atol=1e-10)
    np.testing.assert_allclose(a.var, b.var, rtol=1e-7, atol=1e-12)
    np.testing.assert_allclose(a.loglik, b.loglik, rtol=1e-10)


@settings(max_examples=25, deadline=None)
@given(hst.integers(min_value=0, max_value=10_000))
def test_row_order_and_location_scale(seed):
    rng = np.random.default_rng(seed)
    n = 25
    x = rng.normal(size=(n, 2))
    t = rng.integers(1, 10, size=n).astype(float)
    e = rng.integers(0, 2, size=n)
    e[:2] = 1
    a = cox_fit(x, t, e, warn=False)
    assume(a.converged and not a.infinite.any())
    perm = rng.permutation(n)
    b = cox_fit(x[perm], t[perm], e[perm], warn=False)
    np.testing.assert_allclose(a.coef, b.coef, rtol=1e-8, atol=1e-12)
    c = cox_fit(x * np.array([2.0, -0.5]) + 7.0, t, e, warn=False)
    np.testing.assert_allclose(c.coef, a.coef / np.array([2.0, -0.5]), rtol=1e-7, atol=1e-10)
    np.testing.assert_allclose(c.loglik, a.loglik, rtol=1e-10)


def test_entry_zero_equals_right_censored():
    res_r = coxph(OVA, time="futime", event="fustat", covariates=["age", "rx"])
    d = OVA.assign(start=0.0)
    res_c = coxph(d, time="futime", event="fustat", entry="start", covariates=["age", "rx"])
    np.testing.assert_allclose(res_c.terms["coef"], res_r.terms["coef"], rtol=1e-10)
    np.testing.assert_allclose(res_c.loglik, res_r.loglik, rtol=1e-12)


# ---------------------------------------------------------------- warnings and errors
def _separated_data():
    # group g = 1 has no events: monotone likelihood in g
    rng = np.random.default_rng(1)
    n = 30
    g = np.r_[np.zeros(15), np.ones(15)]
    x = np.round(rng.normal(size=n), 2)
    t = np.round(rng.exponential(size=n) * 10, 1)
    e = np.where(g == 1, 0, (rng.random(n) < 0.8).astype(int))
    return pd.DataFrame({"t": t, "e": e, "g": g, "x": x})


def test_separation_warning_names_covariate():
    d = _separated_data()
    with pytest.warns(SeparationWarning, match=r"'g'.*firth_coxph"):
        res = coxph(d, time="t", event="e", covariates=["g", "x"])
    assert res.separated == ("g",)
    assert "separation" in res.choices
    # the diverging coefficient is kept in the fit but the term is shown as not estimable
    assert np.isfinite(res.coef[0]) and res.coef[0] < -10
    g = res.terms.iloc[0]
    assert not g["estimable"] and "may be infinite" in g["note"] and "firth" in g["note"]
    assert g[["coef", "se", "estimate", "lower", "upper", "statistic", "p"]].isna().all()
    # x is estimable and not flagged
    assert "x" not in res.separated
    assert res.terms.iloc[1]["estimable"] and np.isfinite(res.terms.iloc[1]["estimate"])


def test_separated_matches_r():
    # S <- read.csv("cox_separated.csv"); coxph(Surv(t, e) ~ g + x, data = S)
    # R: "Loglik converged before variable 1 ; coefficient may be infinite."
    d = pd.read_csv(DATA / "cox_separated.csv")
    pd.testing.assert_frame_equal(d, _separated_data(), check_dtype=False)
    ref = R["separated"]
    assert "variable  1 ;" in ref["warning"]
    with pytest.warns(SeparationWarning, match="'g'"):
        res = coxph(d, time="t", event="e", covariates=["g", "x"])
    # same iterations and estimates as R, including the diverging one
    assert res.n_iter == ref["iter"]
    np.testing.assert_allclose(res.coef, ref["coef"], rtol=1e-8)
    np.testing.assert_allclose(np.sqrt(np.diag(res.var)), ref["se"], rtol=1e-6)
    np.testing.assert_allclose(res.loglik, ref["loglik"], rtol=1e-10)


def test_convergence_warning():
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        res = coxph(LUNG, **LUNG3, max_iter=2)
    assert res.converged is False


def test_input_errors():
    with pytest.raises(InputError, match="not found"):
        coxph(LUNG, time="time", event="event", covariates=["nope"])
    with pytest.raises(InputError, match="reference level 'X'.*levels"):
        coxph(LUNG, time="time", event="event", covariates=["sex"], categorical={"sex": "X"})
    bad = LUNG.copy()
    bad.loc[3, "age"] = np.nan
    with pytest.raises(InputError, match="missing values.*age"):
        coxph(bad, time="time", event="event", covariates=["age"])
    ev = LUNG.assign(event=LUNG["event"] + 1)
    with pytest.raises(InputError, match="coded 0 = censored"):
        coxph(ev, time="time", event="event", covariates=["age"])
    with pytest.raises(InputError, match="ties must be"):
        coxph(LUNG, time="time", event="event", covariates=["age"], ties="average")
    with pytest.raises(InputError, match="needs cluster"):
        coxph(HEART, **HEART3, robust=True)
    with pytest.raises(InputError, match="start must be < stop"):
        coxph(HEART.assign(start=HEART["stop"]), **HEART3)
    with pytest.raises(InputError, match="no events"):
        coxph(LUNG.assign(event=0), time="time", event="event", covariates=["age"])


def test_auto_categorical_reference_is_first_level():
    res = coxph(LUNG, time="time", event="event", covariates=["sex"])
    assert list(res.terms["term"]) == ["sexM"]  # levels sorted: F (reference), M
    assert res.choices["reference_levels"] == {"sex": "F"}
    ref = R["lung_efron"]
    # R with reference M: coefficient of sexF; ours (reference F) is minus a 1-covariate fit
    uni = R["lung_uni"]["sex"]
    np.testing.assert_allclose(res.terms["coef"], -np.asarray(uni["coef"]), rtol=1e-8)
    assert ref["terms"][1] == "sexF"


# ---------------------------------------------------------------- uni / multivariable
def test_univariable_multivariable():
    # R: coxph(Surv(time, event) ~ v, data = L) for v in age, sex, ph_ecog, then all together
    um = univariable_multivariable(LUNG, time="time", event="event",
                                   covariates=["age", "sex", "ph_ecog"], categorical=LUNG_REF)
    assert list(um.table.columns) == ["term", "hr_uni", "lower_uni", "upper_uni", "p_uni",
                                      "hr_multi", "lower_multi", "upper_multi", "p_multi"]
    t = um.table.set_index("term")
    for v in ("age", "sex", "ph_ecog"):
        ref = R["lung_uni"][v]
        names = list(np.atleast_1d(ref["terms"]))
        np.testing.assert_allclose(t.loc[names, "hr_uni"], np.exp(_vec(ref["coef"])), rtol=1e-8)
        np.testing.assert_allclose(t.loc[names, "lower_uni"], _vec(ref["hr_lower"]), rtol=1e-8)
        np.testing.assert_allclose(t.loc[names, "p_uni"], _vec(ref["p"]), rtol=1e-7)
    ref = R["lung_efron"]
    np.testing.assert_allclose(t.loc[ref["terms"], "hr_multi"], np.exp(_vec(ref["coef"])),
                               rtol=1e-8)
    np.testing.assert_allclose(t.loc[ref["terms"], "upper_multi"], _vec(ref["hr_upper"]),
                               rtol=1e-8)
    assert list(um.counts["events"]) == [163, 163, 163, 163]
    assert um.kind == "cox_unimulti"
    json.dumps(um.to_dict())


# ---------------------------------------------------------------- non-estimable terms
NE = json.loads((REF / "nonestimable.json").read_text())


def _nan(v):
    return np.array([np.nan if x is None else x for x in np.atleast_1d(v)], dtype=float)


def _check_ne(res, ref, rtol=1e-6):
    t = res.terms
    assert t["term"].tolist() == list(ref["terms"])
    coef = _nan(ref["coef"])
    na = np.isnan(coef)
    np.testing.assert_array_equal(~t["estimable"].to_numpy(bool), na)
    for col, key in (("coef", "coef"), ("se", "se"), ("lower", "lower"), ("upper", "upper"),
                     ("p", "p")):
        np.testing.assert_allclose(t[col].to_numpy(float), _nan(ref[key]), rtol=rtol,
                                   equal_nan=True, err_msg=col)
    if ref["robust_se"]:
        np.testing.assert_allclose(t["robust_se"], _nan(ref["robust_se"]), rtol=rtol,
                                   equal_nan=True)
        assert res.variance == "robust"
    else:
        assert res.variance == "model" and t["robust_se"].isna().all()
    np.testing.assert_allclose(res.loglik, ref["loglik"], rtol=1e-9)
    tests = res.tests.set_index("test")
    assert (tests["df"] == ref["df"]).all()
    np.testing.assert_allclose(tests.loc["likelihood ratio", "statistic"], ref["logtest"][0],
                               rtol=rtol)
    np.testing.assert_allclose(tests.loc["score", "statistic"], ref["sctest"][0], rtol=rtol)
    np.testing.assert_allclose(tests.loc["wald", "statistic"], ref["wald"], rtol=rtol)
    assert res.n_iter == ref["iter"]


def test_aliased_and_constant_columns_match_r():
    # coxph(Surv(time, event) ~ age + sex + a2 + k + ph_ecog, data = L): a2, k NA
    d = LUNG.assign(a2=2 * LUNG["age"] + 3, k=1.0)
    with pytest.warns(StatisticalWarning, match="not estimable"):
        res = coxph(d, time="time", event="event", covariates=["age", "sex", "a2", "k",
                                                               "ph_ecog"],
                    categorical={"sex": "M", "ph_ecog": 0})
    _check_ne(res, NE["aliased"])
    notes = res.terms.set_index("term")["note"]
    assert notes["a2"] == "aliased with 'age' (a linear combination of them)"
    assert notes["k"] == "no information (constant column)"
    assert notes["age"] == "" and set(res.choices["not estimable"]) == {"a2", "k"}


def test_constant_within_strata_matches_r():
    # coxph(Surv(time, event) ~ age + male + strata(sex), data = L): male NA
    d = LUNG.assign(male=(LUNG["sex"] == "M").astype(float))
    with pytest.warns(StatisticalWarning, match="male"):
        res = coxph(d, time="time", event="event", covariates=["age", "male"], strata="sex")
    _check_ne(res, NE["strata_constant"])
    assert res.terms["note"].iloc[1] == "no information (constant within every stratum)"


def test_monotone_likelihood_matches_r():
    # coxph(Surv(t, e) ~ g + x, data = S): "Loglik converged before variable 1; coefficient
    # may be infinite." -> g not estimable; x as R
    ref = NE["monotone"]
    assert "coefficient may be infinite" in ref["warnings"]
    d = pd.read_csv(DATA / "cox_separated.csv")
    with pytest.warns(SeparationWarning):
        res = coxph(d, time="t", event="e", covariates=["g", "x"])
    t = res.terms
    assert t["estimable"].tolist() == [False, True]
    assert t["note"].iloc[0] == ("coefficient may be infinite (monotone likelihood); "
                                 "consider firth: true")
    assert t.iloc[0][["coef", "se", "estimate", "lower", "upper", "statistic", "p"]].isna().all()
    for col in ("coef", "se", "lower", "upper", "p"):
        np.testing.assert_allclose(t[col].iloc[1], ref[col][1], rtol=1e-6, err_msg=col)
    np.testing.assert_allclose(res.coef, ref["coef"], rtol=1e-6)
    np.testing.assert_allclose(res.loglik, ref["loglik"], rtol=1e-9)


def test_monotone_and_aliased_together_match_r():
    ref = NE["monotone_aliased"]
    d = pd.read_csv(DATA / "cox_separated.csv")
    d["x2"] = -d["x"]
    with pytest.warns(SeparationWarning):
        res = coxph(d, time="t", event="e", covariates=["g", "x", "x2"])
    t = res.terms
    assert t["estimable"].tolist() == [False, True, False]
    assert "may be infinite" in t["note"].iloc[0]
    assert t["note"].iloc[2] == "aliased with 'x' (a linear combination of them)"
    np.testing.assert_allclose(t["coef"].iloc[1], ref["coef"][1], rtol=1e-6)
    np.testing.assert_allclose(res.coef, _nan(ref["coef"]), rtol=1e-6, equal_nan=True)
    assert (res.tests["df"] == ref["df"]).all()


def test_non_integer_weights_default_to_robust_as_r():
    # coxph(Surv(time, event) ~ age + sex + ph_ecog, data = L, weights = w)  (no robust=)
    res = coxph(LUNG, **LUNG3, weights="w")
    _check_ne(res, NE["weights_default"])
    assert res.choices["robust"] is True
    naive = coxph(LUNG, **LUNG3, weights="w", robust=False)
    assert naive.variance == "model"
    # counting-process data: R uses one cluster per row
    h = pd.read_csv(DATA / "nonest_heart_w.csv")
    res = coxph(h, **HEART3, weights="w")
    _check_ne(res, NE["heart_weights_default"])
    # integer weights keep the model variance (R)
    assert coxph(LUNG.assign(w2=2.0), **LUNG3, weights="w2").variance == "model"


def test_no_term_reported_as_hr_one_with_se_zero():
    d = LUNG.assign(k=3.0, a2=LUNG["age"] * 2)
    with pytest.warns(StatisticalWarning):
        t = coxph(d, time="time", event="event", covariates=["k", "age", "a2"]).terms
    bad = t[t["se"] == 0]
    assert bad.empty
    assert t["estimable"].tolist() == [False, True, False]
