"""Cumulative incidence (Aalen–Johansen, Gray's variance) of many replicate cohorts.

:func:`batch_cif` is the kernel of :func:`aplcohort.stats.competing.cumulative_incidence`
(:func:`~aplcohort.stats.competing.cinc_from_counts`) run over a replicate axis: the
replicates of a chunk share one grid of distinct times (the union of theirs), on which
a replicate's times without events change nothing (factors exactly 1, increments
exactly 0), so every replicate gets the numbers the single-cohort function gives it,
bit for bit.

Near-tied times (R ``timefix``) are not merged here, as in the other batch kernels:
for whole-number times (days) there is nothing to merge.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .._results import Result
from ..errors import InputError
from ..stats.competing import cinc_from_counts

__all__ = ["batch_cif", "BatchCIF"]


@dataclass(frozen=True, eq=False)
class BatchCIF(Result):
    """Cumulative incidence of one cause per replicate and group at chosen times (frozen).

    Attributes
    ----------
    cause : int
    times : float array (m,)
        Sorted times.
    estimate, std_err : float arrays (reps, k, m)
        F(t) and the square root of Gray's variance, as
        ``cumulative_incidence(...).at(times)`` of that replicate (``cmprsk::timepoints``):
        NaN after the group's last follow-up time or for a group without rows.
    n, events : int arrays (reps, k)
        Rows and events of the cause per replicate and group.
    """

    kind = "batch_cif"

    cause: int
    times: np.ndarray
    estimate: np.ndarray
    std_err: np.ndarray
    n: np.ndarray
    events: np.ndarray

    @property
    def reps(self) -> int:
        return int(self.n.shape[0])

    @property
    def title(self) -> str:
        return f"Cumulative incidence of cause {self.cause} in {self.reps} replicate cohorts"

    @property
    def choices(self) -> dict:
        return {"cause": self.cause, "variance": "Gray (1988), cmprsk::cuminc",
                "at times": "cmprsk::timepoints (NaN after the last follow-up)"}

    @property
    def tables(self) -> dict:
        reps, k, m = self.estimate.shape
        r, g, j = np.meshgrid(np.arange(reps), np.arange(k), np.arange(m), indexing="ij")
        return {"at": pd.DataFrame({"replicate": r.ravel(), "group": g.ravel(),
                                    "time": self.times[j.ravel()],
                                    "estimate": self.estimate.ravel(),
                                    "std_err": self.std_err.ravel()})}


def _as_codes(a, name, reps, n):
    x = np.asarray(a)
    if x.ndim not in (1, 2) or x.shape[-1] != n or (x.ndim == 2 and x.shape[0] != reps):
        raise InputError(f"{name} must have shape ({reps}, {n}) or ({n},); got {x.shape}")
    if x.dtype.kind not in "iub":
        if not (x.dtype.kind == "f" and np.all(np.isfinite(x)) and np.all(x == np.round(x))):
            raise InputError(f"{name} must hold non-negative integer codes")
        x = x.astype(np.int64)
    if x.size and x.min() < 0:
        raise InputError(f"{name} must hold non-negative integer codes")
    return np.broadcast_to(x.astype(np.int64), (reps, n))


def _chunk(t, code, g, k, cause, tq):
    """One chunk of replicates on the union grid of its distinct times."""
    reps, n = t.shape
    ut, inv = np.unique(t, return_inverse=True)
    inv = inv.reshape(reps, n)
    J = ut.size
    kind = np.where(code == cause, 1, np.where(code > 0, 2, 0))
    key = ((np.arange(reps)[:, None] * k + g) * 3 + kind) * J + inv
    D = np.bincount(key.ravel(), minlength=reps * k * 3 * J).reshape(reps, k, 3, J)
    D = D.astype(float)
    tot = D.sum(axis=2)                                         # (reps, k, J)
    rs = np.cumsum(tot[..., ::-1], axis=-1)[..., ::-1]
    d1 = D[:, :, 1]
    f, v = cinc_from_counts(rs, d1, d1 + D[:, :, 2])
    # cmprsk timepoints on cinc's corners: the values after the last jump of the cause
    # at or before t (0 before any), NaN after the group's last follow-up time
    jump_row = np.where(d1 > 0, np.arange(J), -1)
    last_jump = np.maximum.accumulate(jump_row, axis=-1)        # (reps, k, J)
    pos = np.searchsorted(ut, tq, side="right") - 1             # last grid row <= t
    lj = np.where(pos >= 0, last_jump[..., np.maximum(pos, 0)], -1)   # (reps, k, m)
    safe = np.maximum(lj, 0)
    est = np.where(lj >= 0, np.take_along_axis(f, safe, axis=-1), 0.0)
    var = np.where(lj >= 0, np.take_along_axis(v, safe, axis=-1), 0.0)
    present = tot > 0
    last = J - 1 - np.argmax(present[..., ::-1], axis=-1)       # group's last row
    tmax = np.where(present.any(axis=-1), ut[last], -np.inf)
    past = tq[None, None, :] > tmax[..., None]
    est = np.where(past, np.nan, est)
    se = np.where(past, np.nan, np.sqrt(var))
    return est, se, tot.sum(axis=-1).astype(np.int64), d1.sum(axis=-1).astype(np.int64)


def batch_cif(time, code, group=None, *, cause=1, times, k=None, chunk=None) -> BatchCIF:
    """Cumulative incidence of one cause at chosen times for every replicate and group.

    Parameters
    ----------
    time : array-like, shape (reps, n) or (n,)
        Follow-up times (finite, >= 0).
    code : array-like of int, shape (reps, n) or (n,)
        0 = censored, 1, 2, ... = cause.
    group : array-like of int, shape (reps, n) or (n,), optional
        Group codes ``0 .. k-1`` (default one group).
    cause : int
        The cause whose incidence is returned.
    times : sequence of float
        Times (>= 0) at which to report F(t).
    k : int, optional
        Number of groups (default ``max(group) + 1``).
    chunk : int, optional
        Replicates per chunk (memory bound; results do not depend on it). Default:
        chunks of about 2e7 grid cells.

    Returns
    -------
    BatchCIF

    Notes
    -----
    Validated against: :func:`aplcohort.stats.competing.cumulative_incidence`
    ``.at(times)`` (itself validated against ``cmprsk::cuminc`` / ``timepoints``) on
    every replicate of random batches with ties, a group without rows and a
    replicate without events of the cause: equal bit for bit
    (tests/test_batch_engine.py).

    Examples
    --------
    >>> from aplcohort.batch import batch_cif
    >>> r = batch_cif([[1, 2, 2, 3, 4]], [[1, 2, 1, 0, 1]], cause=1, times=[2.5])
    >>> round(float(r.estimate[0, 0, 0]), 3)
    0.4
    """
    t = np.asarray(time, dtype=float)
    if t.ndim not in (1, 2) or t.shape[-1] == 0:
        raise InputError(f"time must have shape (reps, n) or (n,) with n >= 1; got {t.shape}")
    c0 = np.asarray(code)
    reps = max(t.shape[0] if t.ndim == 2 else 1, c0.shape[0] if c0.ndim == 2 else 1,
               np.asarray(group).shape[0] if group is not None and np.ndim(group) == 2 else 1)
    n = t.shape[-1]
    if t.ndim == 2 and t.shape[0] != reps:
        raise InputError(f"time has {t.shape[0]} replicates but another input has {reps}")
    if not np.all(np.isfinite(t)) or np.any(t < 0):
        raise InputError("time must be finite and >= 0 in every replicate")
    tb = np.broadcast_to(t, (reps, n))
    cb = _as_codes(code, "code", reps, n)
    gb = _as_codes(np.zeros(n, np.int64) if group is None else group, "group", reps, n)
    kk = int(gb.max()) + 1 if k is None else int(k)
    if gb.max() >= kk:
        raise InputError(f"group codes must be < k = {kk}")
    if not isinstance(cause, (int, np.integer)) or isinstance(cause, bool) or cause < 1:
        raise InputError(f"cause must be a positive integer code; got {cause!r}")
    tq = np.sort(np.atleast_1d(np.asarray(times, dtype=float)))
    if tq.ndim != 1 or tq.size == 0 or not np.all(np.isfinite(tq)) or np.any(tq < 0):
        raise InputError("times must be a non-empty 1-D sequence of finite numbers >= 0")
    if chunk is None:
        # the grid of a chunk holds up to step * n times: keep step * k * 3 * grid <= 2e7
        step = max(1, int(np.sqrt(2e7 / (3 * kk * n))))
    else:
        step = max(1, int(chunk))
    parts = [_chunk(np.ascontiguousarray(tb[s:s + step]), cb[s:s + step], gb[s:s + step], kk,
                    int(cause), tq) for s in range(0, reps, step)]
    est, se, nn, ev = (np.concatenate([p[i] for p in parts]) for i in range(4))
    return BatchCIF(cause=int(cause), times=tq, estimate=est, std_err=se, n=nn, events=ev)
