"""The fast paths of the public Cox front-end give the numbers of the generic code.

* the one-cohort kernel (rows in their original order, per-segment bincounts) against
  the per-row engine (``_Engine``, risk sets summed row by row) and against the same
  kernel over a replicate axis (the batch layout): strata, weights, entry times;
* the Wald terms table built in ``cox.py`` against ``shapes.terms_frame``;
* ``Design.X`` (built on demand) equal to the column-stacked design;
* ``coxph`` on a DataFrame against ``cox_fit`` on arrays and ``batch_cox``.
"""

import warnings

import numpy as np
import pandas as pd
import pytest

from aplcohort.batch import batch_cox
from aplcohort.stats import cox as C
from aplcohort.stats._coxcore import RiskSetKernel
from aplcohort.stats._design import build_design
from aplcohort.stats.shapes import terms_frame


def _data(seed, n=120, p=3):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    X -= X.mean(axis=0)
    t = np.ceil(rng.exponential(15, n))          # whole days: many ties
    e = (rng.random(n) < 0.7).astype(float)
    return rng, X, t, e


@pytest.mark.parametrize("case", ["plain", "strata", "weights", "entry", "breslow", "all"])
def test_kernel_equals_per_row_engine(case):
    rng, X, t, e = _data(hash(case) % 1000)
    n = len(t)
    strata = rng.integers(0, 3, n) if case in ("strata", "all") else None
    w = rng.uniform(0.5, 2.0, n) if case in ("weights", "all") else None
    entry = None
    if case in ("entry", "all"):
        entry = np.minimum(np.floor(t * rng.uniform(0, 0.9, n)), t - 1)
    ties = "breslow" if case == "breslow" else "efron"
    beta = rng.normal(size=X.shape[1]) * 0.3
    k = RiskSetKernel(X, t, e, entry=entry, strata=strata, weights=w, ties=ties)
    eng = C._Engine(X, t, e.astype(int), entry, strata, np.ones(n) if w is None else w, ties)
    for got, want in zip(k.stats(beta), eng.stats(beta)):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12 * np.max(np.abs(want)))


def test_kernel_one_cohort_equals_replicate_axis():
    # the same kernel over a replicate axis (batch layout) gives the one-cohort numbers
    _, X, t, e = _data(7, n=90, p=2)
    beta = np.array([0.2, -0.4])
    one = RiskSetKernel(X, t, e).stats(beta)
    X2 = np.concatenate([X, X[::-1]])
    t2, e2 = np.concatenate([t, t[::-1]]), np.concatenate([e, e[::-1]])
    two = RiskSetKernel(X2, t2, e2, rep=np.repeat([0, 1], 90), nrep=2).stats(np.stack([beta] * 2))
    for r in range(2):
        for got, want in zip((two[0][r], two[1][r], two[2][r]), one):
            np.testing.assert_allclose(got, want, rtol=1e-12)


def test_kernel_takes_the_transposed_design_without_copy():
    _, X, t, e = _data(3, n=70_000)          # above the small-cohort size (block order)
    XT = np.ascontiguousarray(X.T)
    k = RiskSetKernel(XT.T, t, e)
    assert np.shares_memory(k.XT, XT)
    np.testing.assert_array_equal(k.stats(np.zeros(3))[1],
                                  RiskSetKernel(X, t, e).stats(np.zeros(3))[1])


@pytest.mark.parametrize("robust", [False, True])
@pytest.mark.parametrize("with_levels", [False, True])
def test_wald_terms_table_equals_terms_frame(robust, with_levels):
    rng = np.random.default_rng(11)
    k = 5
    coef = rng.normal(size=k)
    se = rng.uniform(0.1, 1, k)
    rse = rng.uniform(0.1, 1, k) if robust else None
    ok = np.array([True, False, True, True, False])
    notes = ["", "aliased with 'a'", "", None, "coefficient may be infinite"]
    levels = [None, "B", 2, None, "C"] if with_levels else [None] * k
    names = ["a", "armB", "ecog2", "age", "armC"]
    for cl in (0.95, 0.9):
        got = C._terms_frame_wald(names, coef, se, cl, rse, levels, ok, notes)
        want = terms_frame(names, coef, se, conf_level=cl, robust_se=rse, levels=levels,
                           estimable=ok, notes=notes)
        pd.testing.assert_frame_equal(got, want, check_exact=True)


def test_design_X_is_the_column_stacked_design():
    df = pd.DataFrame({"age": [50.0, 61, 70, 45], "sex": ["M", "F", "M", "F"],
                       "n": [1, 2, 3, 4]})
    d = build_design(df, ["age", "sex", "n"])
    want = np.column_stack([df["age"].to_numpy(float), (df["sex"] == "M").to_numpy(float),
                            df["n"].to_numpy(float)])
    assert d.names == ("age", "sexM", "n")
    np.testing.assert_array_equal(d.X, want)
    assert d.X.flags.c_contiguous and d.XT.flags.c_contiguous
    np.testing.assert_array_equal(d.XT, want.T)


def test_coxph_dataframe_equals_arrays_and_batch():
    rng, X, t, e = _data(5, n=400, p=2)
    df = pd.DataFrame({"t": t, "e": e, "a": X[:, 0], "b": X[:, 1]})
    pub = C.coxph(df, time="t", event="e", covariates=["a", "b"])
    arr = C.cox_fit(X, t, e)
    np.testing.assert_allclose(pub.terms["coef"], arr.coef, rtol=1e-12)
    np.testing.assert_allclose(pub.terms["se"], np.sqrt(np.diag(arr.var)), rtol=1e-12)
    bc = batch_cox(X, t[None], e[None])
    np.testing.assert_allclose(bc.coef[0], pub.terms["coef"], rtol=1e-12)
    np.testing.assert_allclose(bc.se[0], pub.terms["se"], rtol=1e-12)
    assert bc.n_iter[0] == pub.n_iter


def test_near_tied_times_merged_on_the_distinct_values():
    # R aeqSurv: 2 and sqrt(2)^2 are one time; merging the distinct values and mapping
    # back must give the fit on the exactly tied data
    rng = np.random.default_rng(2)
    n = 60
    x = rng.normal(size=n)
    t = rng.integers(1, 12, n).astype(float)
    e = (rng.random(n) < 0.8).astype(float)
    t_fuzzy = t.copy()
    at2 = np.flatnonzero(t == 2)
    t_fuzzy[at2[::2]] = np.sqrt(2) ** 2          # half of the day-2 rows 4e-16 later
    assert e[at2[::2]].any() and e[at2[1::2]].any()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        a = C.cox_fit(x, t_fuzzy, e)
    b = C.cox_fit(x, t, e)
    np.testing.assert_array_equal(a.coef, b.coef)
    np.testing.assert_array_equal(a.var, b.var)


@pytest.mark.parametrize("case", ["plain", "strata_weights"])
def test_blocked_evaluation_equals_one_pass(case):
    # a large cohort is evaluated in cache-sized blocks of rows: the same terms summed
    # block by block, so the numbers equal the one-pass evaluation up to rounding
    from aplcohort.stats import _coxcore

    n = 4 * _coxcore._CHUNK + 5000
    rng = np.random.default_rng(31)
    X = rng.normal(size=(n, 3))
    X -= X.mean(axis=0)
    t = np.ceil(rng.exponential(200, n))
    e = (rng.random(n) < 0.7).astype(float)
    kw = {}
    if case == "strata_weights":
        kw = {"strata": rng.integers(0, 3, n), "weights": rng.uniform(0.5, 2.0, n)}
    beta = np.array([0.3, -0.2, 0.1])
    k = RiskSetKernel(X, t, e, **kw)
    assert k.blocked
    got = k.stats(beta)
    k1 = RiskSetKernel(X, t, e, **kw)
    k1.blocked = False
    k1._P.buf = np.empty((4, n))
    k1.row5 = None
    want = k1.stats(beta)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-12 * np.max(np.abs(w)))


def test_near_ties_by_the_relative_rule_are_merged():
    # aeqSurv also ties gaps <= tol * mean|t| (here gaps of 1 at t ~ 1e9): the shortcut
    # that skips the merge for well-separated times must not skip these
    rng = np.random.default_rng(4)
    n = 40
    x = rng.normal(size=n)
    e = (rng.random(n) < 0.8).astype(float)
    t = 1e9 + rng.integers(0, 5, n)
    a = C.cox_fit(x, t, e)
    b = C.cox_fit(x, np.full(n, 1e9), e)
    np.testing.assert_array_equal(a.coef, b.coef)
    assert C.cox_fit(x, rng.integers(1, 5, n).astype(float), e).coef[0] != a.coef[0]


@pytest.mark.parametrize("layout", ["unsorted", "blocked"])
def test_unsorted_layout_with_entry_strata_weights_equals_per_row_engine(layout):
    # above the small-cohort size the rows keep their order (bincount sums); with entry
    # times the risk sets use per-row intervals; above _ENTRY_BLOCKED_MIN rows the
    # (entry, stop] evaluation runs in cache blocks: both checked against the per-row engine
    from aplcohort.stats import _coxcore

    rng = np.random.default_rng(17 if layout == "unsorted" else 23)
    p = 2
    n = (_coxcore._FLAT_MAX // (p + 1) + 1000 if layout == "unsorted"
         else _coxcore._ENTRY_BLOCKED_MIN + 3000)
    X = rng.normal(size=(n, p))
    X -= X.mean(axis=0)
    t = np.ceil(rng.exponential(100, n))
    e = (rng.random(n) < 0.7).astype(float)
    entry = np.minimum(np.floor(t * rng.uniform(0, 0.9, n)), t - 1)
    strata = rng.integers(0, 2, n)
    w = rng.uniform(0.5, 2.0, n)
    beta = np.array([0.25, -0.15])
    k = RiskSetKernel(X, t, e, entry=entry, strata=strata, weights=w)
    if layout == "unsorted":
        assert not k.blocked and k.hi_seg is None
    else:
        assert k.blocked
    eng = C._Engine(X, t, e.astype(int), entry, strata, w, "efron")
    for got, want in zip(k.stats(beta), eng.stats(beta)):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12 * np.max(np.abs(want)))
