"""Kaplan–Meier summaries (median, survival at t, RMST) of many replicate cohorts.

:func:`batch_km` returns, for every replicate and group of a ``(reps, n)``
batch, the numbers :class:`aplcohort.stats.km.KMResult` gives for that
replicate alone: ``median()`` (R ``quantile.survfit``, including the midpoint
rule where the curve is exactly 0.5 over an interval), ``survival_at(times)``
(R ``summary(fit, times=)``, ``extend = FALSE``) and ``rmst(tau)`` (R
``survmean``: restricted mean and its standard error).

Degenerate cells
----------------
* A group with no rows in a replicate (possible in bootstrap resamples): every
  summary is NaN and ``n`` is 0.
* Median not reached: NaN (as the single-cohort function); ``median_reached``
  is False.
* ``survival_at`` for a time after the group's last observation: NaN, as the
  single-cohort ``extend=False`` (R omits the row).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .._results import Result, jsonable
from ..errors import InputError
from ..stats import _surv_core as core
from ._layout import as_batch, layout

__all__ = ["batch_km", "BatchKM", "km_summaries"]


@dataclass(frozen=True, eq=False)
class BatchKM(Result):
    """Kaplan–Meier summaries per replicate and group (frozen).

    Attributes
    ----------
    n, events : int arrays (reps, k)
    median : float array (reps, k)
        NaN = not reached or empty group.
    times : float array (m,)
        Times of ``surv`` (sorted).
    surv : float array (reps, k, m)
        S(t) (NaN after the group's last observation or for an empty group).
    tau : float or None
    rmst, rmst_se : float arrays (reps, k)
        Restricted mean to ``tau`` and its SE (R ``survmean``); NaN if no ``tau``.
        ``rmst_se`` is NaN where R's is 0 (no events before ``tau``, or a one-patient
        group: not estimable, as :meth:`aplcohort.stats.km.KMResult.rmst`).
    """

    kind = "batch_km"

    n: np.ndarray
    events: np.ndarray
    median: np.ndarray
    times: np.ndarray
    surv: np.ndarray
    tau: float | None
    rmst: np.ndarray
    rmst_se: np.ndarray

    @property
    def reps(self) -> int:
        return int(self.n.shape[0])

    @property
    def median_reached(self) -> np.ndarray:
        return ~np.isnan(self.median)

    @property
    def title(self) -> str:
        return f"Kaplan–Meier summaries of {self.reps} replicate cohorts"

    @property
    def choices(self) -> dict:
        return {"median": "R quantile.survfit (findq)", "survival_at": "extend = FALSE",
                "tau": self.tau}

    def frame(self) -> pd.DataFrame:
        """Long table ``[rep, group, n, events, median, rmst, rmst_se]``."""
        reps, k = self.n.shape
        return pd.DataFrame({"rep": np.repeat(np.arange(reps), k),
                             "group": np.tile(np.arange(k), reps),
                             "n": self.n.ravel(), "events": self.events.ravel(),
                             "median": self.median.ravel(), "rmst": self.rmst.ravel(),
                             "rmst_se": self.rmst_se.ravel()})

    @property
    def tables(self) -> dict:
        return {"replicates": self.frame()}

    def to_dict(self) -> dict:
        return {"kind": self.kind, "reps": self.reps, "tau": self.tau,
                "times": jsonable(self.times), "n": jsonable(self.n),
                "events": jsonable(self.events), "median": jsonable(self.median),
                "surv": jsonable(self.surv), "rmst": jsonable(self.rmst),
                "rmst_se": jsonable(self.rmst_se), "choices": jsonable(self.choices)}


def km_summaries(x, n_risk, n_event, n_g, events, tmax, times, tau):
    """Median, S(t) and RMST of ``(reps, k)`` curves from their per-time counts.

    The single-cohort kernels of :mod:`aplcohort.stats._surv_core` over a replicate
    and a group axis: the product-limit estimate is
    :func:`~aplcohort.stats._surv_core.km_from_counts`, the median
    :func:`~aplcohort.stats._surv_core.findq_monotone` and the restricted mean
    :func:`~aplcohort.stats._surv_core.rmst_rows` -- the functions
    :func:`aplcohort.stats.km.kaplan_meier` uses, so no statistic is computed twice.

    Parameters
    ----------
    x : ndarray (reps, m) or (m,)
        Sorted times of the rows (a time may repeat; a row of another group has
        no events and changes nothing).
    n_risk, n_event : ndarray (reps, k, m)
        At risk and events at each row (events counted once per distinct time).
    n_g, events : ndarray (reps, k)
        Rows and events per group.
    tmax : ndarray (reps, k)
        Group's last time (-inf for an empty group).
    times : ndarray (q,)
        Sorted times for S(t).
    tau : float or None
    """
    reps, k, m = n_risk.shape
    x = np.broadcast_to(np.asarray(x, float), (reps, m))
    S, _ = core.km_from_counts(n_risk, n_event)                            # (r, k, m)
    empty = n_g == 0
    x0 = np.concatenate([np.zeros((reps, 1)), x], axis=1)[:, None, :]
    y0 = np.concatenate([np.zeros((reps, k, 1)), 1.0 - S], axis=2)
    med = core.findq_monotone(np.broadcast_to(x0, y0.shape), y0, 0.5, xmax=tmax)[..., 0]
    med = np.where(empty, np.nan, med)
    if times.size:
        if reps == 1:                                                      # one large cohort
            cnt = np.searchsorted(x[0], times, side="right")[None]
        else:
            cnt = (x[:, :, None] <= times).sum(axis=1)                     # (r, q) rows <= t
        idx = np.maximum(cnt - 1, 0)
        S_at = np.take_along_axis(S, np.broadcast_to(idx[:, None, :], (reps, k, times.size)),
                                  axis=2)
        S_at = np.where((cnt > 0)[:, None, :], S_at, 1.0)                  # before any row
        past = times[None, None, :] > tmax[:, :, None]                     # extend = FALSE
        surv = np.where(past | empty[:, :, None], np.nan, S_at)
    else:
        surv = np.zeros((reps, k, 0))
    if tau is not None:
        rm, se = core.rmst_rows(x[:, None, :], S, n_risk, n_event, tau)
        # a variance of exactly 0 (no events before tau, a one-patient group) is not an
        # SE: NaN, as KMResult.rmst (which gives the reason "no events before tau: variance 0")
        rm, se = np.where(empty, np.nan, rm), np.where(empty | (se == 0), np.nan, se)
    else:
        rm = np.full((reps, k), np.nan)
        se = np.full((reps, k), np.nan)
    return n_g, events, med, surv, rm, se


def _chunk(ts, es, gs, k, times, tau):
    """KM summaries of one chunk already in layout order; see :func:`batch_km`."""
    reps, n = ts.shape
    onehot = gs[:, :, None] == np.arange(k)                               # (r, n, k)
    cnt = np.cumsum(onehot[:, ::-1], axis=1, dtype=np.int64)[:, ::-1]
    first = np.ones((reps, n), bool)
    first[:, 1:] = ts[:, 1:] != ts[:, :-1]
    pos = np.broadcast_to(np.arange(n), (reps, n))
    start = np.maximum.accumulate(np.where(first, pos, 0), axis=1)
    n_risk = np.take_along_axis(cnt, start[:, :, None], axis=1).astype(float)
    ev = (onehot * es[:, :, None]).reshape(reps * n, k)
    starts = np.flatnonzero(first.ravel())
    block = np.cumsum(first.ravel()) - 1
    d = np.add.reduceat(ev, starts, axis=0)[block].reshape(reps, n, k)
    d = np.where(first[:, :, None], d, 0.0)                               # once per time
    n_g = cnt[:, 0, :]
    events = ev.reshape(reps, n, k).sum(axis=1)
    tmax = np.where(onehot, ts[:, :, None], -np.inf).max(axis=1)          # group's last time
    return km_summaries(ts, n_risk.transpose(0, 2, 1), d.transpose(0, 2, 1), n_g, events,
                        tmax, times, tau)


def batch_km(time, event, group=None, *, k=None, times=None, tau=None, chunk=None) -> BatchKM:
    """Kaplan–Meier median, survival at times and RMST for every replicate and group.

    Parameters
    ----------
    time, event : array-like, shape (reps, n) or (n,)
        Times (>= 0) and 0/1 events.
    group : array-like of int, shape (reps, n) or (n,), optional
        Group codes ``0 .. k-1`` (default: one group).
    k : int, optional
        Number of groups (default ``max(group) + 1``).
    times : sequence of float, optional
        Times for S(t) (``survival_at``).
    tau : float, optional
        Horizon of the restricted mean.
    chunk : int, optional
        Replicates per chunk (memory bound; results do not depend on it).

    Returns
    -------
    BatchKM

    Notes
    -----
    Validated against: :func:`aplcohort.stats.km.kaplan_meier` ``.median()``,
    ``.survival_at()`` and ``.rmst()`` (validated against R survfit /
    quantile.survfit / survmean) on every replicate of random batches with
    ties, medians exactly at 0.5, empty groups and all-censored replicates;
    rtol 1e-10 (tests/test_batch_engine.py).

    Examples
    --------
    >>> import numpy as np
    >>> from aplcohort.batch import batch_km
    >>> r = batch_km([[1, 2, 2, 3, 4]], [[1, 1, 0, 1, 0]], times=[2.5], tau=4)
    >>> float(r.median[0, 0]), round(float(r.surv[0, 0, 0]), 3), round(float(r.rmst[0, 0]), 3)
    (3.0, 0.6, 2.7)
    """
    if group is None:
        t0 = np.asarray(time)
        group = np.zeros(t0.shape[-1], np.int64)
        k = 1
    b = as_batch(time, event, group, k=k)
    reps, kk = b["reps"], b["k"]
    tt = np.sort(np.atleast_1d(np.asarray([] if times is None else times, dtype=float)))
    if tt.ndim != 1 or not np.all(np.isfinite(tt)) or np.any(tt < 0):
        raise InputError("times must be a 1-D sequence of finite numbers >= 0")
    if tau is not None:
        if np.ndim(tau) != 0 or not np.isfinite(float(tau)) or float(tau) < 0:
            raise InputError(f"tau must be a single finite number >= 0; got {tau!r}")
        tau = float(tau)
    step = reps if chunk is None else max(1, int(chunk))
    parts = []
    for s in range(0, reps, step):
        sl = slice(s, min(s + step, reps))
        L = layout(np.ascontiguousarray(b["time"][sl]), np.ascontiguousarray(b["event"][sl]))
        gs = L.take(b["group"][sl])
        parts.append(_chunk(L.time, L.event, gs, kk, tt, tau))
    cat = [np.concatenate([p[i] for p in parts]) for i in range(6)]
    return BatchKM(n=cat[0], events=cat[1], median=cat[2], times=tt, surv=cat[3], tau=tau,
                   rmst=cat[4], rmst_se=cat[5])
