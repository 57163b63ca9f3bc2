"""The (entry, stop] Cox fit (counting-process data) gives the numbers it must.

* every entry at 0: the counting-process fit equals the right-censored fit;
* each subject's follow-up split at a random time into two (entry, stop] rows with the
  same covariates: the partial likelihood is unchanged, so is the fit;
* the cache-blocked evaluation of a large cohort with entry times equals the per-row
  engine (strata, weights);
* the counting passes that replace sorts give ``np.unique``'s values and codes.

Sizes cover the three layouts of :class:`aplcohort.stats._coxcore.RiskSetKernel` for
one cohort: small (block order), unblocked, blocked (above ``_ENTRY_BLOCKED_MIN``).
"""

import warnings

import numpy as np
import pytest

from aplcohort.stats import _coxcore
from aplcohort.stats import cox as C
from aplcohort.stats._coxcore import _dense_codes, distinct_intervals

P = 2
#: small (block order), between (unsorted, not blocked), large (blocked)
SIZES = [300, _coxcore._FLAT_MAX // (P + 1) + 500, _coxcore._ENTRY_BLOCKED_MIN + 5000]
TOL = 1e-10


def _cohort(seed, n, whole=True):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, P))
    X[:, 1] = rng.integers(0, 2, n)                      # a binary covariate too
    t = rng.exponential(200, n) + 2.0
    t = np.ceil(t) if whole else t
    e = (rng.random(n) < 0.7).astype(float)
    return rng, X, t, e


def _close(a, b, what):
    a, b = np.asarray(a, float), np.asarray(b, float)
    scale = np.maximum(np.abs(b), 1.0) if b.ndim == 0 else np.maximum(np.abs(b), np.abs(b).max())
    assert np.all(np.abs(a - b) <= TOL * scale), (what, np.max(np.abs(a - b) / scale))


def _same_fit(f, g):
    _close(f.coef, g.coef, "coef")
    _close(f.var, g.var, "var")
    _close(np.array(f.loglik), np.array(g.loglik), "loglik")
    assert f.n_events == g.n_events
    if g.robust_var is not None:
        _close(f.robust_var, g.robust_var, "robust var")


def _fit(X, t, e, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return C.cox_fit(X, t, e, **kw)


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("case", ["plain", "strata", "weights", "breslow"])
def test_zero_entry_equals_right_censored(n, case):
    rng, X, t, e = _cohort(n + len(case), n)
    kw = {}
    if case == "strata":
        kw["strata"] = rng.integers(0, 3, n)
    if case == "weights":
        kw["weights"] = rng.integers(1, 4, n).astype(float)
    if case == "breslow":
        kw["ties"] = "breslow"
    _same_fit(_fit(X, t, e, entry=np.zeros(n), **kw), _fit(X, t, e, **kw))


def test_zero_entry_equals_right_censored_robust_and_fractional_times():
    n = 2000
    rng, X, t, e = _cohort(5, n, whole=False)            # not whole days: the sorted path
    cl = np.arange(n) // 2
    _same_fit(_fit(X, t, e, entry=np.zeros(n), cluster=cl), _fit(X, t, e, cluster=cl))


def _split(rng, X, t, e, entry, *extra):
    """Each row's (entry, t] cut at a random whole time u into (entry, u] and (u, t]."""
    u = entry + 1 + np.floor(rng.random(t.size) * (t - entry - 1))      # entry < u < t
    ok = u < t
    i = np.flatnonzero(ok)
    rows = np.concatenate([np.arange(t.size), i])
    start = np.concatenate([entry, u[i]])
    stop = np.concatenate([np.where(ok, u, t), t[i]])
    ev = np.concatenate([np.where(ok, 0.0, e), e[i]])
    # shuffle the rows: the fit must not depend on their order
    perm = rng.permutation(rows.size)
    return (X[rows][perm], stop[perm], ev[perm], start[perm]) + tuple(a[rows][perm]
                                                                       for a in extra)


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("case", ["plain", "strata_weights", "late_entry", "breslow",
                                  "fractional"])
def test_split_follow_up_equals_unsplit(n, case):
    rng, X, t, e = _cohort(7 * n + len(case), n)
    entry = np.zeros(n)
    if case == "late_entry":                               # left truncation as well
        entry = np.floor(t * rng.uniform(0, 0.5, n))
    strata = rng.integers(0, 2, n) if case == "strata_weights" else np.zeros(n, int)
    w = rng.uniform(0.5, 2.0, n) if case == "strata_weights" else np.ones(n)
    ties = "breslow" if case == "breslow" else "efron"
    Xs, ts, es, ss, st_s, w_s = _split(rng, X, t, e, entry, strata, w)
    assert ts.size > 1.5 * n
    if case == "fractional":
        # times in 1/64 day (not whole numbers: the sorted path of the distinct times;
        # exact binary fractions 1/64 apart, so R's timefix merges nothing in either fit;
        # continuous random cut times would be merged with near-tied times, which
        # changes the split data's likelihood)
        t, entry, ts, ss = t / 64, entry / 64, ts / 64, ss / 64
    kw = dict(ties=ties, robust=False)
    if case == "strata_weights":
        one = _fit(X, t, e, entry=entry, strata=strata, weights=w, **kw)
        two = _fit(Xs, ts, es, entry=ss, strata=st_s, weights=w_s, **kw)
    else:
        one = _fit(X, t, e, entry=entry, **kw)
        two = _fit(Xs, ts, es, entry=ss, **kw)
    _same_fit(two, one)
    if case == "plain":                                    # and the right-censored fit
        _same_fit(two, _fit(X, t, e, **kw))


@pytest.mark.parametrize("kind", ["days", "half_days", "negative", "wide", "empty"])
def test_distinct_intervals_equals_unique(kind):
    rng = np.random.default_rng(3)
    n = 0 if kind == "empty" else 5000
    stop = np.ceil(rng.exponential(300, n)) + 1
    if kind == "half_days":
        stop = stop + 0.5 * (rng.random(n) < 0.5)
    if kind == "negative":
        stop = stop - 100
    if kind == "wide":
        stop = stop * 1e4                                  # range >> n: the sorted path
    entry = stop - 1 - np.floor(rng.random(n) * 10)
    vals, tr, er = distinct_intervals(entry, stop)
    u, inv = np.unique(np.concatenate([stop, entry]), return_inverse=True)
    np.testing.assert_array_equal(vals, u)
    np.testing.assert_array_equal(tr, inv[:n])
    np.testing.assert_array_equal(er, inv[n:])


@pytest.mark.parametrize("kmax", [50, 10_000_000])
def test_dense_codes_equals_unique(kmax):
    key = np.random.default_rng(kmax).integers(0, kmax, 3000)
    u, inv = _dense_codes(key, kmax)
    u2, inv2 = np.unique(key, return_inverse=True)
    np.testing.assert_array_equal(u, u2)
    np.testing.assert_array_equal(inv, inv2)
