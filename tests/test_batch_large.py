"""Large-cohort paths == single-cohort functions (checked on smaller data, rtol 1e-10)."""

import warnings

import numpy as np
import pytest

from aplcohort.batch import batch_cox
from aplcohort.stats._coxcore import distinct_times  # the one kernel batch_cox uses
from aplcohort.batch.large import cohort_km_logrank
from aplcohort.errors import InputError
from aplcohort.stats.cox import cox_fit
from aplcohort.stats.km import kaplan_meier
from aplcohort.stats.logrank import logrank_test

RTOL = 1e-10


@pytest.mark.parametrize("integer", [True, False])
def test_distinct_times_equals_unique(integer):
    rng = np.random.default_rng(1)
    t = rng.exponential(50, 500)
    t = np.ceil(t) if integer else t.round(3)
    ut, inv = distinct_times(t)
    u2, i2 = np.unique(t, return_inverse=True)
    np.testing.assert_array_equal(ut, u2)
    np.testing.assert_array_equal(inv, i2)


@pytest.mark.parametrize("integer,n", [(True, 4000), (False, 4000), (True, 40)])
def test_cohort_km_logrank_equals_single(integer, n):
    rng = np.random.default_rng(n + integer)
    g = rng.integers(0, 3, n)
    t = rng.exponential(100, n) * (1 + 0.3 * g)
    t = np.ceil(t) if integer else t.round(2)
    e = (rng.random(n) < 0.6).astype(float)
    times = [0, 10, 50, 200, 1e6]
    km, lr = cohort_km_logrank(t, e, g, times=times, tau=150)
    f = kaplan_meier(t, e, g)
    s = logrank_test(t, e, g)
    np.testing.assert_allclose(km.median[0], f.median()["median"], rtol=RTOL)
    np.testing.assert_allclose(km.surv[0].ravel(), f.at(times)["estimate"], rtol=RTOL)
    rm = f.rmst(150)
    np.testing.assert_allclose(km.rmst[0], rm["rmst"], rtol=RTOL)
    np.testing.assert_allclose(km.rmst_se[0], rm["se"], rtol=RTOL)
    np.testing.assert_allclose(lr.statistic[0], s.statistic, rtol=RTOL)
    np.testing.assert_allclose(lr.p[0], s.p, rtol=RTOL)
    assert lr.df[0] == s.df
    np.testing.assert_allclose(lr.expected[0], s.table["expected"], rtol=RTOL)


def test_cohort_km_logrank_degenerate_and_errors():
    km, lr = cohort_km_logrank([1, 2, 3, 4], [0, 0, 0, 0], [0, 0, 1, 1])
    assert lr.undefined[0] and lr.statistic[0] == 0 and np.isnan(lr.p[0]) and lr.df[0] == 0
    assert np.isnan(km.median[0]).all()
    with pytest.raises(InputError, match="one cohort"):
        cohort_km_logrank([[1, 2], [3, 4]], [[1, 1], [1, 1]], [0, 1])


def test_cox_aggregated_equals_single_large():
    rng = np.random.default_rng(8)
    n = 6000                                         # method="auto" -> aggregated
    X = np.column_stack([rng.integers(0, 2, n), rng.normal(size=(n, 2))]).astype(float)
    t = np.ceil(rng.exponential(200 * np.exp(-X @ [0.4, 0.2, -0.1])))
    c = np.ceil(rng.uniform(10, 600, n))
    time_, ev = np.minimum(t, c), (t <= c).astype(float)
    for ties in ("efron", "breslow"):
        f = batch_cox(X, time_, ev, ties=ties)
        s = cox_fit(X, time_, ev, ties=ties)
        np.testing.assert_allclose(f.coef[0], s.coef, rtol=RTOL)
        np.testing.assert_allclose(f.var[0], s.var, rtol=RTOL)
        np.testing.assert_allclose([f.loglik0[0], f.loglik[0]], s.loglik, rtol=RTOL)
        np.testing.assert_allclose([f.score_test[0], f.wald_test[0], f.lr_test[0]],
                                   [s.score_test, s.wald_test, s.lr_test], rtol=RTOL)
        assert f.n_iter[0] == s.n_iter


def test_cox_aggregated_equals_rows_path_on_batches():
    rng = np.random.default_rng(9)
    R, n = 40, 30
    t = rng.integers(1, 9, (R, n)).astype(float)
    e = (rng.random((R, n)) < 0.6).astype(float)
    g = rng.integers(0, 3, (R, n))
    X = np.stack([g == 1, g == 2, rng.normal(size=(R, n))], -1).astype(float)
    e[0] = 0
    e[1][g[1] == 1] = 0
    a = batch_cox(X, t, e, method="aggregated")
    b = batch_cox(X, t, e, method="rows")
    np.testing.assert_array_equal(a.status_code, b.status_code)
    np.testing.assert_array_equal(a.n_iter, b.n_iter)
    ok = a.valid
    np.testing.assert_allclose(a.coef[ok], b.coef[ok], rtol=RTOL)
    np.testing.assert_allclose(a.var[ok], b.var[ok], rtol=RTOL, atol=1e-15)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i in np.flatnonzero(ok)[:10]:
            np.testing.assert_allclose(a.coef[i], cox_fit(X[i], t[i], e[i]).coef, rtol=RTOL)
    with pytest.raises(InputError, match="method"):
        batch_cox(X, t, e, method="fast")
