"""Firth-penalised Cox model.

Validated against the independent implementation PyPI ``firthmodels`` (FirthCoxPH,
Breslow ties; test-only dependency) on a data set with monotone likelihood and on
regular data (ovarian, lung), plus analytic checks of the penalised score.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from aplcohort.errors import InputError, SeparationWarning
from aplcohort.stats._design import build_design
from aplcohort.stats.cox import _Engine, coxph
from aplcohort.stats.firth import _penalised, firth_cox_fit, firth_coxph

from test_cox import LUNG, LUNG_REF, OVA, _separated_data  # noqa: E402

import firthmodels  # test extra; a missing package must fail, not skip

SEP = _separated_data()
# (data, firth_coxph kwargs)
FM_CASES = {
    "separated": (SEP, dict(time="t", event="e", covariates=["g", "x"])),
    "ovarian": (OVA, dict(time="futime", event="fustat", covariates=["age", "ecog.ps", "rx"])),
    "lung": (LUNG, dict(time="time", event="event", covariates=["age", "sex", "ph_ecog"],
                        categorical=LUNG_REF)),
}


def _firthmodels_fit(data, kw):
    """firthmodels fits: a tight one (gtol 1e-7) for the estimates and profile CIs, and
    one at gtol 1e-6 for the LR tests (its constrained fits stall at tighter gtol).

    Returns ``(fit, profile CI, LR p-values, stalled)``. On some machines (OpenBLAS on AMD
    EPYC here) firthmodels' line search stalls on `ovarian` with a gradient of ~5e-7,
    above its gtol of 1e-7, and reports no convergence (``stalled``); its estimates are
    then as close to the optimum as that gradient allows, which the test accounts for."""
    X = build_design(data, kw["covariates"], kw.get("categorical")).X
    y = (data[kw["event"]].to_numpy().astype(bool), data[kw["time"]].to_numpy(float))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fm = firthmodels.FirthCoxPH(gtol=1e-7, xtol=1e-6, max_iter=200).fit(X, y)
        ci = fm.conf_int(method="pl", tol=1e-9, max_iter=200)
        fm_lrt = firthmodels.FirthCoxPH(gtol=1e-6, xtol=1e-6, max_iter=200).fit(X, y)
        fm_lrt.lrt()
    assert fm_lrt.converged_
    return fm, ci, fm_lrt.lrt_pvalues_, not fm.converged_


@pytest.mark.parametrize("key", sorted(FM_CASES))
def test_against_firthmodels(key):
    data, kw = FM_CASES[key]
    fm, ci, lrt_p, stalled = _firthmodels_fit(data, kw)
    res = firth_coxph(data, **kw)  # Breslow ties, as firthmodels
    t = res.terms
    if stalled:
        # firthmodels stopped short of its gtol: check that OURS is the optimum (penalised
        # score ~0 and a penalised log-likelihood at least as high as the reference's), and
        # compare with the reference to within the Newton step its own gradient leaves
        X = build_design(data, kw["covariates"], kw.get("categorical")).X
        tt = data[kw["time"]].to_numpy(float)
        eng = _Engine(X - X.mean(0), tt, data[kw["event"]].to_numpy(float), None,
                      np.zeros(len(tt), dtype=np.int64), np.ones(len(tt)), "breslow")
        lp_ours, u_ours, _, _ = _penalised(eng, t["coef"].to_numpy())
        lp_ref, u_ref, i_ref, _ = _penalised(eng, np.asarray(fm.coef_))
        assert np.abs(u_ours).max() < 1e-8 and np.abs(u_ref).max() > 1e-7
        assert lp_ours >= lp_ref - 1e-12 * abs(lp_ref)
        step = np.abs(np.linalg.solve(i_ref, u_ref)).max()     # reference's distance left
        np.testing.assert_allclose(t["coef"], fm.coef_, rtol=0, atol=10 * step)
    else:
        np.testing.assert_allclose(t["coef"], fm.coef_, rtol=1e-7)
    np.testing.assert_allclose(t["se"], fm.bse_, rtol=1e-7)
    np.testing.assert_allclose(res.loglik[1], fm.loglik_, rtol=1e-10)
    np.testing.assert_allclose(t["p"], lrt_p, rtol=1e-6)
    np.testing.assert_allclose(np.log(t[["lower", "upper"]].to_numpy()), ci, rtol=1e-7)


def test_separated_data_firth_is_finite_where_cox_is_not():
    with pytest.warns(SeparationWarning, match="'g'"):
        cox = coxph(SEP, time="t", event="e", covariates=["g", "x"])
    res = firth_coxph(SEP, time="t", event="e", covariates=["g", "x"])
    g = res.terms.iloc[0]
    assert np.isfinite(g["coef"]) and -5 < g["coef"] < 0
    assert 0 < g["lower"] < g["estimate"] < g["upper"] < 1
    assert cox.coef[0] < -10 and not cox.terms.iloc[0]["estimable"]


def test_regular_data_firth_close_to_cox():
    # lung, n = 226 with 163 events: Firth's correction is small except for ph_ecog3
    # (a single patient), where penalised and ordinary estimates differ markedly.
    kw = FM_CASES["lung"][1]
    f = firth_coxph(LUNG, **kw).terms.set_index("term")
    c = coxph(LUNG, **kw, ties="breslow").terms.set_index("term")
    big = ["age", "sexF", "ph_ecog1", "ph_ecog2"]
    np.testing.assert_allclose(f.loc[big, "coef"], c.loc[big, "coef"], rtol=0.03)
    assert abs(f.loc["ph_ecog3", "coef"] / c.loc["ph_ecog3", "coef"] - 1) > 0.1


def _engine(seed, ties):
    rng = np.random.default_rng(seed)
    n = 40
    X = rng.normal(size=(n, 3))
    t = rng.integers(2, 12, size=n).astype(float)
    entry = np.where(rng.random(n) < 0.3, 1.0, 0.0)
    e = rng.integers(0, 2, size=n)
    w = rng.uniform(0.5, 2, size=n)
    s = rng.integers(0, 2, size=n)
    return _Engine(X - X.mean(0), t, e, entry, s, w, ties), rng


@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_penalised_score_is_gradient(ties):
    # analytic penalised score (third moments) == numerical gradient of l*, with ties,
    # strata, late entry and case weights
    eng, rng = _engine(3, ties)
    beta = rng.normal(size=3) * 0.3
    lp, U, I, ll = _penalised(eng, beta)
    h = 1e-6
    num = np.array([(_penalised(eng, beta + h * np.eye(3)[j])[0]
                     - _penalised(eng, beta - h * np.eye(3)[j])[0]) / (2 * h) for j in range(3)])
    np.testing.assert_allclose(U, num, rtol=1e-6, atol=1e-7)
    # the unpenalised part is the ordinary Cox log-likelihood / information
    ll2, U2, I2 = eng.stats(beta)
    np.testing.assert_allclose(ll, ll2, rtol=1e-13)
    np.testing.assert_allclose(I, I2, rtol=1e-12)
    np.testing.assert_allclose(lp, ll + 0.5 * np.linalg.slogdet(I)[1], rtol=1e-13)


def test_efron_firth_runs_and_profile_contains_estimate():
    res = firth_coxph(OVA, time="futime", event="fustat", covariates=["age", "rx"], ties="efron")
    t = res.terms
    assert ((t["lower"] < t["estimate"]) & (t["estimate"] < t["upper"])).all()
    assert res.choices["ties"] == "efron"


def test_profile_ci_is_at_the_chisq_cutoff():
    # 2 (l*(hat) - l*_profile(bound)) == qchisq(0.95, 1) at each bound
    data, kw = FM_CASES["ovarian"]
    res = firth_coxph(data, **kw)
    fit = res._fit
    X = build_design(data, kw["covariates"]).X
    # refit with the first coefficient fixed at the lower bound
    from aplcohort.stats.firth import _maximise
    Xc = X - X.mean(0)
    eng = _Engine(Xc, data["futime"].to_numpy(float), data["fustat"].to_numpy(int), None, None,
                  np.ones(len(data)), "breslow")
    b = fit.coef.copy()
    b[0] = fit.ci[0, 0]
    free = np.array([False, True, True])
    _, lpb, *_ = _maximise(eng, b, free)
    assert 2 * (fit.loglik[1] - lpb) == pytest.approx(3.841458820694124, rel=1e-8)


def test_result_and_errors():
    res = firth_coxph(OVA, time="futime", event="fustat", covariates=["age"])
    assert list(res.terms.columns) == ["term", "level", "coef", "se", "robust_se", "estimate",
                                       "lower", "upper", "statistic", "p", "estimable", "note"]
    assert res.scale == "HR" and res.variance == "model" and res.conf_level == 0.95
    # an aliased column is NA with the reason; the other terms are the fit without it
    both = firth_coxph(OVA.assign(a2=OVA["age"] * 3), time="futime", event="fustat",
                       covariates=["age", "a2"])
    assert both.terms["estimable"].tolist() == [True, False]
    assert both.terms["note"].iloc[1] == "aliased with 'age' (a linear combination of them)"
    np.testing.assert_allclose(both.terms["coef"].iloc[0], res.terms["coef"].iloc[0], rtol=1e-12)
    np.testing.assert_allclose(both.terms[["lower", "upper"]].iloc[0],
                               res.terms[["lower", "upper"]].iloc[0], rtol=1e-10)
    assert list(res.tests["test"]) == ["penalized likelihood ratio"]
    assert res.kind == "firth_cox"
    json.dumps(res.to_dict())
    assert "profile penalised likelihood" in res._repr_html_()
    with pytest.raises(InputError, match="ties must be"):
        firth_coxph(OVA, time="futime", event="fustat", covariates=["age"], ties="exact")
    with pytest.raises(InputError, match="no events"):
        firth_cox_fit(np.ones((3, 1)) * [[0], [1], [2]], [1, 2, 3], [0, 0, 0])
