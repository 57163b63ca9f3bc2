"""Batch engine == single-cohort functions on every replicate (rtol 1e-10).

The single-cohort functions (aplcohort.stats.logrank.logrank_test,
aplcohort.stats.km.kaplan_meier, aplcohort.stats.cox.cox_fit) are validated
against R survival in their own test files; here every replicate of random
batches (heavy ties, empty groups, all-censored replicates, groups without
events, medians exactly at 0.5) is compared with them one by one. Tiny
hand-worked cohorts check exact fractions.
"""

import warnings
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest

from aplcohort.batch import batch_cox, batch_km, batch_logrank
from aplcohort.errors import InputError
from aplcohort.stats.cox import cox_fit
from aplcohort.stats.km import kaplan_meier
from aplcohort.stats.logrank import logrank_test

RTOL = 1e-10


def _random_batch(seed, reps=150, n=24, k=3, tmax=8):
    rng = np.random.default_rng(seed)
    t = rng.integers(0, tmax, (reps, n)).astype(float)          # heavy ties, time 0 allowed
    e = (rng.random((reps, n)) < 0.6).astype(float)
    g = rng.integers(0, k, (reps, n))
    # degenerate replicates
    e[0] = 0                                                     # all censored
    g[1][g[1] == k - 1] = 0                                      # last group empty
    e[2][g[2] == 1] = 0                                          # group 1 without events
    t[3] = np.arange(n)                                          # distinct times: S hits 0.5
    e[3] = 1
    e[4][:] = 0                                                  # one event only
    e[4][5] = 1
    g[5][:] = 0                                                  # a single group
    t[6] = np.where(g[6] == 0, t[6], t[6] + 100)                 # group 0 censored before
    e[6] = np.where(g[6] == 0, 0, e[6])                          # others' events: E = 0
    return t, e, g


# ------------------------------------------------------------------ log-rank
def test_logrank_hand_worked():
    # A: 1 (event), 3 (event); B: 2 (event), 4 (censored)
    # E_A = 1/2 + 1/3 + 1/2 = 4/3 ; V = 1/4 + 2/9 + 1/4 = 13/18 ; chisq = (2/3)^2 / V = 8/13
    r = batch_logrank([[1, 3, 2, 4]], [[1, 1, 1, 0]], [0, 0, 1, 1])
    assert r.statistic[0] == pytest.approx(float(Fraction(8, 13)), rel=1e-14)
    assert r.expected[0, 0] == pytest.approx(4 / 3, rel=1e-14)
    assert r.var[0, 0, 0] == pytest.approx(13 / 18, rel=1e-14)
    assert r.df[0] == 1 and not r.undefined[0]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_logrank_equals_single_cohort(seed):
    t, e, g = _random_batch(seed)
    r = batch_logrank(t, e, g, k=3)
    n_undefined = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i in range(t.shape[0]):
            s = logrank_test(t[i], e[i], g[i])
            assert r.df[i] == s.df
            if s.df == 0:
                assert r.statistic[i] == s.statistic == 0 and np.isnan(r.p[i]) and r.undefined[i]
                n_undefined += 1
                continue
            assert not r.undefined[i]
            np.testing.assert_allclose(r.statistic[i], s.statistic, rtol=RTOL)
            np.testing.assert_allclose(r.p[i], s.p, rtol=RTOL)
            present = list(s.groups)
            np.testing.assert_allclose(r.observed[i, present], s.table["observed"], rtol=RTOL)
            np.testing.assert_allclose(r.expected[i, present], s.table["expected"], rtol=RTOL)
            np.testing.assert_allclose(r.var[i][np.ix_(present, present)], s.var, rtol=RTOL,
                                       atol=1e-14)
    assert n_undefined >= 2          # all-censored and single-group replicates
    assert r.n_undefined == n_undefined


def test_logrank_degenerate_flags():
    t, e, g = _random_batch(7)
    r = batch_logrank(t, e, g, k=3)
    assert r.undefined[0] and r.statistic[0] == 0 and np.isnan(r.p[0]) and r.df[0] == 0  # all censored
    assert r.undefined[5] and np.isnan(r.p[5])                            # single group
    assert r.df[1] == 1                                                   # empty group
    assert not r.undefined[2] and r.observed[2, 1] == 0                   # no events in group 1
    assert r.df[6] == 1                                                   # group with E = 0


@pytest.mark.parametrize("chunk", [1, 7, None])
def test_logrank_chunk_invariance(chunk):
    t, e, g = _random_batch(4, reps=40)
    full = batch_logrank(t, e, g, k=3)
    part = batch_logrank(t, e, g, k=3, chunk=chunk)
    np.testing.assert_array_equal(part.statistic, full.statistic)
    np.testing.assert_array_equal(part.var, full.var)


def test_shared_time_broadcast():
    rng = np.random.default_rng(0)
    t = rng.integers(1, 6, 20).astype(float)
    e = (rng.random(20) < 0.7).astype(float)
    g = np.stack([rng.permutation(np.arange(20) % 2) for _ in range(5)])
    r = batch_logrank(t, e, g)
    for i in range(5):
        np.testing.assert_allclose(r.statistic[i], logrank_test(t, e, g[i]).statistic,
                                   rtol=RTOL)


def test_input_errors():
    with pytest.raises(InputError, match="event must be 0"):
        batch_logrank([[1, 2]], [[2, 1]], [0, 1])
    with pytest.raises(InputError, match="time must be finite"):
        batch_logrank([[1, -2]], [[1, 1]], [0, 1])
    with pytest.raises(InputError, match="integer codes"):
        batch_logrank([[1, 2]], [[1, 1]], ["a", "b"])
    with pytest.raises(InputError, match="same number of rows"):
        batch_logrank([[1, 2, 3]], [[1, 1]], [0, 1])
    with pytest.raises(InputError, match="tau must be"):
        batch_km([[1, 2]], [[1, 1]], tau=[1, 2])
    with pytest.raises(InputError, match="ties must be"):
        batch_cox(np.ones((2, 1)), [[1, 2]], [[1, 1]], ties="exact")


# ------------------------------------------------------------------ Kaplan–Meier
def test_km_hand_worked():
    # S: 4/5 at 1, 3/5 at 2, 3/10 at 3; median 3; RMST(4) = 1 + 4/5 + 3/5 + 3/10 = 27/10
    r = batch_km([[1, 2, 2, 3, 4]], [[1, 1, 0, 1, 0]], times=[0.5, 2, 3.5, 5], tau=4)
    assert r.median[0, 0] == 3.0
    np.testing.assert_allclose(r.surv[0, 0], [1.0, 0.6, 0.3, np.nan], rtol=1e-15)
    assert r.rmst[0, 0] == pytest.approx(2.7, rel=1e-14)
    # median exactly at 0.5 over [2, 3): midpoint 2.5 (R quantile.survfit)
    r2 = batch_km([[1, 2, 3, 4]], [[1, 1, 1, 1]])
    assert r2.median[0, 0] == 2.5


@pytest.mark.parametrize("seed", [11, 12])
def test_km_equals_single_cohort(seed):
    t, e, g = _random_batch(seed)
    times = [0, 0.5, 3, 5, 7.5, 30]
    tau = 6.5
    r = batch_km(t, e, g, k=3, times=times, tau=tau)
    n_half = 0
    for i in range(t.shape[0]):
        f = kaplan_meier(t[i], e[i], g[i])
        med, sa, rm = f.median(), f.at(times), f.rmst(tau)
        for gg in range(3):
            if gg not in f.groups:
                assert r.n[i, gg] == 0
                assert np.isnan(r.median[i, gg]) and np.isnan(r.rmst[i, gg])
                assert np.isnan(r.surv[i, gg]).all()
                continue
            m = med[med["group"] == gg]
            assert r.n[i, gg] == m["n"].iloc[0] and r.events[i, gg] == m["events"].iloc[0]
            np.testing.assert_allclose(r.median[i, gg], m["median"].iloc[0], rtol=RTOL)
            n_half += float(m["median"].iloc[0]) % 1 == 0.5
            np.testing.assert_allclose(r.surv[i, gg], sa[sa["group"] == gg]["estimate"],
                                       rtol=RTOL)
            x = rm[rm["group"] == gg]
            np.testing.assert_allclose(r.rmst[i, gg], x["rmst"].iloc[0], rtol=RTOL)
            np.testing.assert_allclose(r.rmst_se[i, gg], x["se"].iloc[0], rtol=RTOL,
                                       atol=1e-14)
    assert n_half > 0       # the midpoint rule was exercised


@pytest.mark.parametrize("chunk", [1, 7, None])
def test_km_chunk_invariance(chunk):
    t, e, g = _random_batch(5, reps=30)
    a = batch_km(t, e, g, k=3, times=[2, 4], tau=5)
    b = batch_km(t, e, g, k=3, times=[2, 4], tau=5, chunk=chunk)
    for f in ("median", "surv", "rmst", "rmst_se"):
        np.testing.assert_array_equal(getattr(a, f), getattr(b, f))


# ------------------------------------------------------------------ Cox
def _cox_batch(seed, reps=120, n=30):
    rng = np.random.default_rng(seed)
    t = rng.integers(1, 9, (reps, n)).astype(float)
    e = (rng.random((reps, n)) < 0.6).astype(float)
    g = rng.integers(0, 3, (reps, n))
    X = np.stack([g == 1, g == 2, rng.normal(size=(reps, n))], -1).astype(float)
    e[0] = 0                      # no events
    e[1][g[1] == 1] = 0           # arm 1 without events: infinite coefficient
    return X, t, e


@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_cox_equals_single_cohort(ties):
    X, t, e = _cox_batch(21 if ties == "efron" else 22)
    f = batch_cox(X, t, e, ties=ties, chunk=17)
    assert f.status[0] == "no events" and np.isnan(f.coef[0]).all() and np.isnan(f.se[0]).all()
    assert f.status[1] == "infinite coefficient" and f.infinite[1, 0] and not f.valid[1]
    n_ok = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i in range(1, t.shape[0]):
            s = cox_fit(X[i], t[i], e[i], ties=ties)
            np.testing.assert_array_equal(f.infinite[i], s.infinite)
            assert f.converged[i] == s.converged and f.n_iter[i] == s.n_iter
            if not f.valid[i]:
                # ill-conditioned (infinite coefficient): same path, looser agreement
                np.testing.assert_allclose(f.coef[i], s.coef, rtol=1e-6)
                continue
            n_ok += 1
            np.testing.assert_allclose(f.coef[i], s.coef, rtol=RTOL)
            np.testing.assert_allclose(f.var[i], s.var, rtol=RTOL)
            np.testing.assert_allclose([f.loglik0[i], f.loglik[i]], s.loglik, rtol=RTOL)
            np.testing.assert_allclose([f.score_test[i], f.wald_test[i], f.lr_test[i]],
                                       [s.score_test, s.wald_test, s.lr_test], rtol=RTOL)
    assert n_ok > 100


@pytest.mark.parametrize("ties,method,chunk", [("efron", "rows", 5), ("breslow", "rows", None),
                                               ("efron", "aggregated", None)])
def test_cox_replicates_with_constant_or_aliased_columns_are_fitted_as_one_cohort(
        ties, method, chunk):
    """A replicate whose design has a constant column (a bootstrap resample without one
    arm) or a column aliased with another: as the single-cohort fit (R coxph), that
    coefficient is NA and the others are the fit without it; status 'term not
    estimable', SE NaN (never 0). The batch used to stop with an IndexError."""
    X, t, e = _cox_batch(23, reps=40)
    X[3, :, 0] = 0.0                       # arm 1 absent from replicate 3
    X[4, :, 2] = 2 * X[4, :, 1]            # x3 aliased with x2 in replicate 4
    X[5, :, :2] = 0.0                      # two constant columns
    f = batch_cox(X, t, e, ties=ties, chunk=chunk, method=method)
    assert [f.status[i] for i in (3, 4, 5)] == ["term not estimable"] * 3
    assert not f.valid[[3, 4, 5]].any() and f.valid[6:].sum() > 25
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i in range(2, t.shape[0]):
            s = cox_fit(X[i], t[i], e[i], ties=ties)
            na = np.isnan(s.coef)
            np.testing.assert_array_equal(np.isnan(f.coef[i]), na)
            np.testing.assert_array_equal(np.isnan(f.se[i]), na)
            assert na.any() == (i in (3, 4, 5))
            rtol = RTOL if f.valid[i] or na.any() else 1e-6  # infinite coefficients: looser
            np.testing.assert_allclose(f.coef[i][~na], s.coef[~na], rtol=rtol)
            if f.valid[i] or na.any():
                np.testing.assert_allclose(f.se[i][~na], np.sqrt(np.diag(s.var))[~na], rtol=RTOL)
                np.testing.assert_allclose([f.loglik0[i], f.loglik[i]], s.loglik, rtol=RTOL)
                np.testing.assert_allclose([f.score_test[i], f.wald_test[i], f.lr_test[i]],
                                           [s.score_test, s.wald_test, s.lr_test], rtol=RTOL)


def test_cox_one_covariate_shared_design_and_chunks():
    rng = np.random.default_rng(5)
    X = (np.arange(40) % 2).astype(float)[:, None]
    t = rng.exponential(5, (25, 40)).round(1)
    e = (rng.random((25, 40)) < 0.8).astype(float)
    a = batch_cox(X, t, e)
    for chunk in (1, 7):
        b = batch_cox(X, t, e, chunk=chunk)
        np.testing.assert_array_equal(a.coef, b.coef)
    for i in range(25):
        s = cox_fit(X, t[i], e[i])
        np.testing.assert_allclose(a.coef[i], s.coef, rtol=RTOL)
        np.testing.assert_allclose(a.se[i], np.sqrt(np.diag(s.var)), rtol=RTOL)


# ------------------------------------------------------------------ property-based
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as hst  # noqa: E402


@settings(max_examples=40, deadline=None)
@given(hst.lists(hst.tuples(hst.integers(0, 6), hst.integers(0, 1), hst.integers(0, 2)),
                 min_size=2, max_size=25))
def test_property_batch_equals_single(rows):
    t = np.array([r[0] for r in rows], float)
    e = np.array([r[1] for r in rows], float)
    g = np.array([r[2] for r in rows])
    lr = batch_logrank(t[None], e[None], g[None], k=3)
    km = batch_km(t[None], e[None], g[None], k=3, times=[2.5], tau=4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s = logrank_test(t, e, g)
    assert lr.df[0] == s.df
    np.testing.assert_allclose(lr.statistic[0], s.statistic, rtol=RTOL)
    f = kaplan_meier(t, e, g)
    med = f.median()
    for gg in f.groups:
        np.testing.assert_allclose(km.median[0, gg], med[med.group == gg]["median"].iloc[0],
                                   rtol=RTOL)
        np.testing.assert_allclose(km.rmst[0, gg], f.rmst(4).query("group == @gg")["rmst"],
                                   rtol=RTOL)


def test_public_coxph_and_batch_cox_share_one_kernel():
    # both paths of batch_cox and coxph evaluate stats._coxcore.RiskSetKernel: same numbers
    from aplcohort.stats import _coxcore
    from aplcohort.stats.cox import coxph

    rng = np.random.default_rng(21)
    n = 6000
    X = np.column_stack([rng.integers(0, 2, n), rng.normal(size=n)]).astype(float)
    t = np.ceil(rng.exponential(50 * np.exp(-X @ [0.4, -0.3])))
    e = (rng.random(n) < 0.7).astype(float)
    df = pd.DataFrame({"t": t, "e": e, "a": X[:, 0], "b": X[:, 1]})
    pub = coxph(df, time="t", event="e", covariates=["a", "b"])
    for method in ("aggregated", "rows"):
        bc = batch_cox(X, t[None], e[None], method=method)
        np.testing.assert_allclose(bc.coef[0], pub.terms["coef"], rtol=1e-12)
        np.testing.assert_allclose(bc.se[0], pub.terms["se"], rtol=1e-12)
        np.testing.assert_allclose(bc.loglik[0], pub.loglik[1], rtol=1e-13)
        assert bc.n_iter[0] == pub.n_iter
    # and the kernel is what both call
    import aplcohort.batch.cox as bcox
    import aplcohort.stats.cox as scox
    assert bcox.RiskSetKernel is _coxcore.RiskSetKernel is scox.RiskSetKernel


# ------------------------------------------------------------------ one kernel
@pytest.mark.parametrize("seed", range(6))
def test_findq_monotone_equals_r_search(seed):
    # the vectorised quantile search (kaplan_meier and batch_km) against R's findq
    # written line by line, on step curves with plateaus exactly at p and ending at p
    from aplcohort.stats import _surv_core as core
    rng = np.random.default_rng(seed)
    for _ in range(40):
        m = int(rng.integers(1, 12))
        steps = rng.choice([0.0, 0.1, 0.25, 0.5], m)
        y = np.concatenate([[0.0], np.minimum(np.cumsum(steps), 1.0)])
        x = np.concatenate([[0.0], np.cumsum(rng.integers(1, 4, m)).astype(float)])
        p = np.array([0.0, 0.1, 0.25, 0.5, 0.75, 0.9])
        np.testing.assert_array_equal(core.findq_monotone(x, y, p), core._findq_general(x, y, p))
        for pp in p:
            np.testing.assert_array_equal(core.findq_monotone(x, y, pp),
                                          core._findq_general(x, y, np.array([pp])))


# ---------------------------------------------------------------- CIF (issue 13)
from aplcohort.batch import batch_cif  # noqa: E402
from aplcohort.stats.competing import cumulative_incidence  # noqa: E402


def _cif_batch_data(seed, reps=12, n=40):
    rng = np.random.default_rng(seed)
    t = np.ceil(rng.exponential(8, (reps, n)))           # whole days: many ties
    t[0, :5] = 0.0                                         # events and censorings at 0
    code = rng.integers(0, 3, (reps, n))
    code[1] = np.where(code[1] == 1, 2, code[1])           # no event of cause 1
    g = rng.integers(0, 3, (reps, n))
    g[2] = np.where(g[2] == 1, 0, g[2])                    # a group without rows
    return t, code, g


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("cause", [1, 2])
def test_batch_cif_equals_public_cif_bit_for_bit(seed, cause):
    """batch_cif = cumulative_incidence(...).at(times) on every replicate, exactly:
    the public estimator and the batch run the same kernel (cinc_from_counts)."""
    t, code, g = _cif_batch_data(seed)
    times = [0.0, 1.0, 3.5, 7.0, 12.0, 25.0, 60.0]
    b = batch_cif(t, code, g, cause=cause, times=times, k=3)
    checked = 0
    for r in range(t.shape[0]):
        if not (code[r] > 0).any():
            continue
        pub = cumulative_incidence(t[r], code[r], g[r])
        at = pub.at(times)
        for k in range(3):
            rows = at[(at["group"] == k) & (at["cause"] == cause)]
            if (g[r] == k).sum() == 0:                   # group absent: all NaN
                assert np.isnan(b.estimate[r, k]).all() and b.n[r, k] == 0
                continue
            if rows.empty:                                # cause absent: F = 0 up to the end
                last = t[r][g[r] == k].max()
                exp = np.where(np.asarray(times) > last, np.nan, 0.0)
                np.testing.assert_array_equal(b.estimate[r, k], exp)
                continue
            np.testing.assert_array_equal(b.estimate[r, k], rows["estimate"].to_numpy())
            np.testing.assert_array_equal(b.std_err[r, k], rows["std_err"].to_numpy())
            checked += 1
    assert checked >= 20


def test_batch_cif_chunk_invariance():
    t, code, g = _cif_batch_data(5)
    a = batch_cif(t, code, g, cause=1, times=[2, 5, 9], k=3)
    for chunk in (1, 5):
        b = batch_cif(t, code, g, cause=1, times=[2, 5, 9], k=3, chunk=chunk)
        np.testing.assert_array_equal(a.estimate, b.estimate)
        np.testing.assert_array_equal(a.std_err, b.std_err)


def test_batch_cif_input_errors():
    with pytest.raises(InputError, match="time must be finite"):
        batch_cif([[1.0, -1.0]], [[1, 0]], cause=1, times=[1])
    with pytest.raises(InputError, match="non-negative integer codes"):
        batch_cif([[1.0, 2.0]], [[1, 0.5]], cause=1, times=[1])
    with pytest.raises(InputError, match="cause must be a positive integer"):
        batch_cif([[1.0, 2.0]], [[1, 0]], cause=0, times=[1])
    with pytest.raises(InputError, match="times must be"):
        batch_cif([[1.0, 2.0]], [[1, 0]], cause=1, times=[-1])
