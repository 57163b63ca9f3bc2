"""Input checking and the sorted layout shared by the batch kernels.

A *batch* is ``reps`` replicate cohorts of ``n`` rows each, held as arrays of
shape ``(reps, n)``. Every kernel sorts each replicate by time once (a stable
``argsort`` along axis 1) and then works on whole ``(reps, n)`` arrays with
cumulative sums: there is no Python loop over replicates or patients.

Tied times form *tie blocks* (consecutive equal times after sorting). For each
sorted row the layout records the first and last position of its tie block, so
that "number at risk at this time" (reverse cumulative count at the block
start) and "events at this time" (sum over the block) are plain indexing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InputError


def as_batch(time, event, group=None, *, k=None, X=None, allow_1d_time=True):
    """Check and broadcast batch inputs.

    Parameters
    ----------
    time, event : array-like, shape (reps, n) or (n,)
        Follow-up times (>= 0, finite) and 0/1 event indicators. A 1-D array is
        shared by every replicate (e.g. permutations of one cohort).
    group : array-like of int, shape (reps, n) or (n,), optional
        Group codes ``0 .. k-1``.
    k : int, optional
        Number of groups (default ``max(group) + 1``).
    X : array-like, shape (reps, n, p) or (n, p), optional
        Covariates (Cox).

    Returns
    -------
    dict with ``time``, ``event`` (float), ``group`` (int64 or None), ``k``,
    ``X`` (float or None), each broadcast to ``(reps, n[, p])``.
    """
    t = np.asarray(time, dtype=float)
    e = np.asarray(event)
    arrays = [t, e]
    g = None
    if group is not None:
        g = np.asarray(group)
        if g.dtype.kind not in "iub":
            if g.dtype.kind == "f" and np.all(np.isfinite(g)) and np.all(g == np.round(g)):
                g = g.astype(np.int64)
            else:
                raise InputError("group must hold integer codes 0..k-1 (map labels to codes "
                                 "first, e.g. with pandas.factorize on sorted labels)")
        arrays.append(g)
    if X is not None:
        Xa = np.asarray(X, dtype=float)
        if Xa.ndim == 1:
            Xa = Xa[:, None]
        if Xa.ndim not in (2, 3):
            raise InputError(f"X must have shape (reps, n, p) or (n, p); got {Xa.shape}")
    for a, name in zip(arrays, ("time", "event", "group")):
        if a.ndim not in (1, 2):
            raise InputError(f"{name} must have shape (reps, n) or (n,); got {a.shape}")
    reps = max([a.shape[0] for a in arrays if a.ndim == 2]
               + ([Xa.shape[0]] if X is not None and Xa.ndim == 3 else []), default=1)
    n = arrays[0].shape[-1]
    if any(a.shape[-1] != n for a in arrays):
        raise InputError(f"time, event and group must have the same number of rows; got "
                         f"shapes {[a.shape for a in arrays]}")
    if any(a.ndim == 2 and a.shape[0] != reps for a in arrays):
        raise InputError(f"2-D inputs must have the same number of replicates; got shapes "
                         f"{[a.shape for a in arrays]}")
    if n == 0:
        raise InputError("no rows: each replicate needs at least one observation")
    if not np.all(np.isfinite(t)) or np.any(t < 0):
        raise InputError("time must be finite and >= 0 in every replicate")
    if not np.all((e == 0) | (e == 1)):
        raise InputError("event must be 0 (censored) or 1 (event); for a competing-risk "
                         "code pass (code == cause)")
    out = {"time": np.broadcast_to(t, (reps, n)), "event": np.broadcast_to(e.astype(float),
                                                                          (reps, n))}
    if g is not None:
        if np.any(g < 0):
            raise InputError("group codes must be >= 0")
        kk = int(g.max()) + 1 if k is None else int(k)
        if np.any(g >= kk):
            raise InputError(f"group codes must be < k = {kk}")
        out["group"] = np.broadcast_to(g.astype(np.int64), (reps, n))
        out["k"] = kk
    else:
        out["group"], out["k"] = None, None
    if X is not None:
        if Xa.shape[-2] != n:
            raise InputError(f"X has {Xa.shape[-2]} rows per replicate but time has {n}")
        if Xa.ndim == 3 and Xa.shape[0] != reps:
            raise InputError(f"X has {Xa.shape[0]} replicates but time has {reps}")
        if not np.all(np.isfinite(Xa)):
            raise InputError("X has missing or non-finite values")
        out["X"] = np.broadcast_to(Xa, (reps, n, Xa.shape[-1]))
    else:
        out["X"] = None
    out["reps"], out["n"] = reps, n
    return out


@dataclass(frozen=True)
class Layout:
    """Replicates sorted by time, with tie-block bookkeeping (all ``(reps, n)``).

    Attributes
    ----------
    order : int array
        ``argsort(time, axis=1, kind="stable")``.
    time, event : arrays
        Sorted times and events.
    first, last : bool arrays
        Row starts / ends its tie block.
    start, end : int arrays
        Position of the first / last row of the row's tie block.
    """

    order: np.ndarray
    time: np.ndarray
    event: np.ndarray
    first: np.ndarray
    last: np.ndarray
    start: np.ndarray
    end: np.ndarray

    def take(self, a):
        """Sort a ``(reps, n, ...)`` array of per-row values into layout order."""
        a = np.asarray(a)
        idx = self.order.reshape(self.order.shape + (1,) * (a.ndim - 2))
        return np.take_along_axis(a, idx, axis=1)

    def block_sum(self, v):
        """Sum of ``v`` (sorted, shape (reps, n, ...)) over each row's tie block.

        Uses ``np.add.reduceat`` on the flattened blocks, so each block sum is a
        plain sequential sum of its own rows (no difference of cumulative sums).
        """
        reps, n = self.first.shape
        flat = v.reshape((reps * n,) + v.shape[2:])
        starts = np.flatnonzero(self.first.ravel())
        sums = np.add.reduceat(flat, starts, axis=0)
        block_id = np.cumsum(self.first.ravel()) - 1
        return sums[block_id].reshape(v.shape)

    def at_risk(self, v):
        """Sum of ``v`` (sorted) over rows with time >= the row's time."""
        rc = np.cumsum(v[:, ::-1], axis=1)[:, ::-1]
        idx = self.start.reshape(self.start.shape + (1,) * (v.ndim - 2))
        return np.take_along_axis(rc, idx, axis=1)


def layout(time, event):
    """Sort each replicate by time and mark tie blocks."""
    order = np.argsort(time, axis=1, kind="stable")
    ts = np.take_along_axis(time, order, axis=1)
    es = np.take_along_axis(event, order, axis=1)
    reps, n = ts.shape
    first = np.ones((reps, n), bool)
    first[:, 1:] = ts[:, 1:] != ts[:, :-1]
    last = np.ones((reps, n), bool)
    last[:, :-1] = first[:, 1:]
    pos = np.broadcast_to(np.arange(n), (reps, n))
    start = np.maximum.accumulate(np.where(first, pos, 0), axis=1)
    end = np.minimum.accumulate(np.where(last, pos, n - 1)[:, ::-1], axis=1)[:, ::-1]
    return Layout(order, ts, es, first, last, start, end)
