"""Large single cohorts (10^6 rows): KM summaries by group and the k-group log-rank.

Everything here reduces the rows to a count table -- rows and events per
distinct time and group, ``(J, k)`` -- in one pass (a counting pass for
whole-number times such as days, else one ``np.unique``), then works on the
``J`` distinct times only. The log-rank uses the same kernels as
:func:`aplcohort.stats.logrank.logrank_test`
(:func:`aplcohort.stats._surv_core.oev_from_counts`,
:func:`~aplcohort.stats._surv_core.chisq_from_oev`); the KM summaries follow
:func:`aplcohort.batch.batch_km` (R ``quantile.survfit``, ``summary(times=)``,
``survmean``). Cox regression on large cohorts is
:func:`aplcohort.batch.batch_cox` (its aggregated path).
"""

from __future__ import annotations

import numpy as np
from ..stats._lazy import scipy_stats as st

from ..stats import _surv_core as core
from ._layout import as_batch
from .cox import distinct_times
from .km import _TOL, BatchKM
from .logrank import BatchLogRank

__all__ = ["cohort_km_logrank", "count_table"]


def count_table(time, event, group, k):
    """Distinct times ``ut`` (J,), rows ``n_all`` (J, k) and events ``n_ev`` (J, k)."""
    ut, inv = distinct_times(time)
    J = ut.size
    cell = inv * k + group
    n_all = np.bincount(cell, minlength=J * k).reshape(J, k).astype(float)
    n_ev = np.bincount(cell, weights=event, minlength=J * k).reshape(J, k)
    return ut, n_all, n_ev


def _km_summary(ut, n_all, n_ev, times, tau):
    J, k = n_all.shape
    n_risk = np.cumsum(n_all[::-1], axis=0)[::-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = np.where(n_ev > 0, 1.0 - n_ev / n_risk, 1.0)
    S = np.cumprod(frac, axis=0)                                          # (J, k)
    n_g = n_all.sum(axis=0)
    events = n_ev.sum(axis=0)
    empty = n_g == 0
    tmax = np.array([ut[np.flatnonzero(n_all[:, g])[-1]] if n_g[g] else -np.inf
                     for g in range(k)])
    y = 1.0 - S
    y_last = y[-1]
    c1 = (y + _TOL) >= 0.5
    c2 = (y - _TOL) >= 0.5
    x1 = ut[np.argmax(c1, axis=0)]
    x2 = ut[np.argmax(c2, axis=0)]
    found1, found2 = c1.any(axis=0), c2.any(axis=0)
    at_last = np.abs(0.5 - y_last) < _TOL
    med = np.where(at_last, np.where(found1, (x1 + tmax) / 2.0, np.nan),
                   np.where(found1 & found2, (x1 + x2) / 2.0, np.nan))
    med = np.where((y_last >= 0.5) & ~empty, med, np.nan)
    cnt = np.searchsorted(ut, times, side="right")                        # times <= t
    S_at = np.where((cnt > 0)[:, None], S[np.maximum(cnt - 1, 0)], 1.0)   # (m, k)
    S_at = np.where((times[:, None] > tmax[None, :]) | empty[None, :], np.nan, S_at)
    if tau is not None:
        hi = np.minimum(ut, tau)
        lo = np.concatenate([[0.0], hi[:-1]])
        S_prev = np.vstack([np.ones((1, k)), S[:-1]])
        area = (hi - lo)[:, None] * S_prev
        tail = (tau - hi[-1]) * S[-1]
        rm = area.sum(axis=0) + tail
        after = np.cumsum(area[::-1], axis=0)[::-1]
        A = np.vstack([after[1:], np.zeros((1, k))]) + tail[None, :]
        with np.errstate(divide="ignore", invalid="ignore"):
            hh = np.where((n_ev > 0) & (n_risk - n_ev != 0), n_ev / (n_risk * (n_risk - n_ev)),
                          0.0)
        hh = np.where((ut <= tau)[:, None], hh, 0.0)
        se = np.sqrt((A * A * hh).sum(axis=0))
        rm, se = np.where(empty, np.nan, rm), np.where(empty, np.nan, se)
    else:
        rm = se = np.full(k, np.nan)
    return BatchKM(n=n_g.astype(np.int64)[None], events=events[None], median=med[None],
                   times=times, surv=S_at.T[None], tau=tau, rmst=rm[None], rmst_se=se[None])


def cohort_km_logrank(time, event, group, *, k=None, times=None, tau=None):
    """KM summaries by group and the k-group log-rank of one (large) cohort.

    Parameters
    ----------
    time, event : array-like (n,)
        Times (>= 0) and 0/1 events.
    group : array-like of int (n,)
        Group codes ``0 .. k-1``.
    times : sequence of float, optional
        Times for S(t).
    tau : float, optional
        RMST horizon.

    Returns
    -------
    (BatchKM, BatchLogRank), each with one replicate.

    Notes
    -----
    Validated against: :func:`aplcohort.stats.km.kaplan_meier` (median,
    survival_at, rmst) and :func:`aplcohort.stats.logrank.logrank_test` on
    cohorts with integer and non-integer times, rtol 1e-10
    (tests/test_batch_large.py). Memory: the input plus a few O(n) integer
    arrays; time: one pass over the rows plus O(J k) work.

    Examples
    --------
    >>> from aplcohort.batch.large import cohort_km_logrank
    >>> km, lr = cohort_km_logrank([1, 3, 2, 4], [1, 1, 1, 0], [0, 0, 1, 1])
    >>> round(float(lr.statistic[0]), 6), float(km.median[0, 0])
    (0.615385, 2.0)
    """
    b = as_batch(time, event, group, k=k)
    if b["reps"] != 1:
        from ..errors import InputError
        raise InputError("cohort_km_logrank takes one cohort (1-D arrays); use batch_km / "
                         "batch_logrank for replicate batches")
    kk = b["k"]
    t, e, g = b["time"][0], b["event"][0], b["group"][0]
    tt = np.sort(np.atleast_1d(np.asarray([] if times is None else times, dtype=float)))
    if tt.ndim != 1 or not np.all(np.isfinite(tt)) or np.any(tt < 0):
        from ..errors import InputError
        raise InputError("times must be a 1-D sequence of finite numbers >= 0")
    ut, n_all, n_ev = count_table(t, e, g, kk)
    km = _km_summary(ut, n_all, n_ev, tt, None if tau is None else float(tau))
    n_risk = np.cumsum(n_all[::-1], axis=0)[::-1]
    has = n_ev.sum(axis=1) > 0
    O, E, V = core.oev_from_counts(n_risk[has], n_ev[has], np.ones(int(has.sum())))
    chisq, df = core.chisq_from_oev(O, E, V)
    undefined = df < 1
    p = np.nan if undefined else float(st.chi2.sf(chisq, df))
    lr = BatchLogRank(statistic=np.array([chisq]), df=np.array([df], np.int64),
                      p=np.array([p]), observed=O[None], expected=E[None], var=V[None],
                      undefined=np.array([undefined]), k=kk)
    return km, lr
