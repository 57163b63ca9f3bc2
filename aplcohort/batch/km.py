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
from ._layout import as_batch, layout

__all__ = ["batch_km", "BatchKM"]

_TOL = np.sqrt(np.finfo(float).eps)   # survival:::findq tolerance


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
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = np.where(d > 0, 1.0 - d / n_risk, 1.0)
    S = np.cumprod(frac, axis=1)                                          # S after each row
    n_g = cnt[:, 0, :]
    events = (onehot * es[:, :, None]).sum(axis=1)
    empty = n_g == 0
    tmax = np.where(onehot, ts[:, :, None], -np.inf).max(axis=1)          # group's last time

    # median: survival:::findq on (c(0, time), c(0, 1 - surv)) with p = 0.5
    y = 1.0 - S
    y_last = y[:, -1, :]
    c1 = (y + _TOL) >= 0.5
    c2 = (y - _TOL) >= 0.5
    i1 = np.argmax(c1, axis=1)
    i2 = np.argmax(c2, axis=1)
    x1 = ts[np.arange(reps)[:, None], i1]
    x2 = ts[np.arange(reps)[:, None], i2]
    found1 = c1.any(axis=1)
    found2 = c2.any(axis=1)
    reached = (y_last >= 0.5) & ~empty
    at_last = np.abs(0.5 - y_last) < _TOL
    med = np.where(at_last, np.where(found1, (x1 + tmax) / 2.0, np.nan),
                   np.where(found1 & found2, (x1 + x2) / 2.0, np.nan))
    med = np.where(reached, med, np.nan)

    # survival at times (extend = FALSE)
    m = times.size
    if m:
        cnt_t = (ts[:, :, None] <= times).sum(axis=1)                     # (r, m)
        idx = np.maximum(cnt_t - 1, 0)
        S_at = np.take_along_axis(S, idx[:, :, None].repeat(k, axis=2), axis=1)  # (r, m, k)
        S_at = np.where((cnt_t > 0)[:, :, None], S_at, 1.0)
        past = times[None, :, None] > tmax[:, None, :]
        S_at = np.where(past | empty[:, None, :], np.nan, S_at)
        surv = S_at.transpose(0, 2, 1)
    else:
        surv = np.zeros((reps, k, 0))

    # RMST to tau and its SE (survival:::survmean)
    if tau is not None:
        hi = np.minimum(ts, tau)
        lo = np.concatenate([np.zeros((reps, 1)), hi[:, :-1]], axis=1)
        S_prev = np.concatenate([np.ones((reps, 1, k)), S[:, :-1, :]], axis=1)
        area = (hi - lo)[:, :, None] * S_prev                             # (r, n, k)
        tail = (tau - hi[:, -1])[:, None] * S[:, -1, :]
        rm = area.sum(axis=1) + tail
        # area from each row's time to tau
        after = np.cumsum(area[:, ::-1, :], axis=1)[:, ::-1, :]
        A = np.concatenate([after[:, 1:, :], np.zeros((reps, 1, k))], axis=1) + tail[:, None, :]
        with np.errstate(divide="ignore", invalid="ignore"):
            hh = np.where((d > 0) & (n_risk - d != 0), d / (n_risk * (n_risk - d)), 0.0)
        hh = np.where((ts <= tau)[:, :, None], hh, 0.0)
        se = np.sqrt((A * A * hh).sum(axis=1))
        rm = np.where(empty, np.nan, rm)
        se = np.where(empty, np.nan, se)
    else:
        rm = np.full((reps, k), np.nan)
        se = np.full((reps, k), np.nan)
    return n_g, events, med, surv, rm, se


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
