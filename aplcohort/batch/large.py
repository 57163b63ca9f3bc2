"""Large single cohorts (10^6 rows): KM summaries by group and the k-group log-rank.

Everything here reduces the rows to a count table -- rows and events per
distinct time and group, ``(J, k)`` -- in one pass
(:func:`aplcohort.stats._surv_core.count_table`, the same kernel as
``kaplan_meier`` and ``logrank_test``: one ``bincount`` for whole-number times
such as days, else one ``np.unique``), then works on the ``J`` distinct times only. The log-rank uses the same kernels as
:func:`aplcohort.stats.logrank.logrank_test`
(:func:`aplcohort.stats._surv_core.oev_from_counts`,
:func:`~aplcohort.stats._surv_core.chisq_from_oev`); the KM summaries are
:func:`aplcohort.batch.km.km_summaries` (the kernels of ``kaplan_meier``: R
``quantile.survfit``, ``summary(times=)``, ``survmean``). Cox regression on large cohorts is
:func:`aplcohort.batch.batch_cox` (its aggregated path).
"""

from __future__ import annotations

import numpy as np
from ..stats._lazy import scipy_stats as st

from ..stats import _surv_core as core
from ._layout import as_batch
from .km import BatchKM, km_summaries
from .logrank import BatchLogRank

__all__ = ["cohort_km_logrank", "count_table"]


def count_table(time, event, group, k):
    """Distinct times ``ut`` (J,), rows ``n_all`` (J, k) and events ``n_ev`` (J, k)
    (:func:`aplcohort.stats._surv_core.count_table`, no near-tie merging)."""
    ut, n_all, n_ev, _, _ = core.count_table(time, event, group, k)
    return ut, n_all, n_ev


def _km_summary(ut, n_all, n_ev, times, tau):
    """KM summaries from the ``(J, k)`` count table: :func:`~aplcohort.batch.km.km_summaries`
    (the kernels of :func:`aplcohort.stats.km.kaplan_meier`) with one replicate."""
    J, k = n_all.shape
    n_risk = np.cumsum(n_all[::-1], axis=0)[::-1]
    n_g = n_all.sum(axis=0)
    last = J - 1 - np.argmax(n_all[::-1] > 0, axis=0)                      # group's last row
    tmax = np.where(n_g > 0, ut[last] if J else -np.inf, -np.inf)
    out = km_summaries(ut, n_risk.T[None], n_ev.T[None], n_g.astype(np.int64)[None],
                       n_ev.sum(axis=0)[None], tmax[None], times, tau)
    n, events, med, surv, rm, se = out
    return BatchKM(n=n, events=events, median=med, times=times, surv=surv, tau=tau, rmst=rm,
                   rmst_se=se)


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
