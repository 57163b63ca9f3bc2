"""Cumulative incidence (Aalen–Johansen, Gray's variance) and Gray's test of many
replicate cohorts.

:func:`batch_cif` is the kernel of :func:`aplcohort.stats.competing.cumulative_incidence`
(:func:`~aplcohort.stats.competing.cinc_from_counts`) run over a replicate axis: the
replicates of a chunk share one grid of distinct times (the union of theirs), on which
a replicate's times without events change nothing (factors exactly 1, increments
exactly 0), so every replicate gets the numbers the single-cohort function gives it,
bit for bit.

:func:`batch_gray` is the kernel of :func:`aplcohort.stats.competing.gray_test`
(:func:`~aplcohort.stats.competing.gray_from_counts`) over the same axis.

Near-tied times (R ``timefix``) are not merged here, as in the other batch kernels:
for whole-number times (days) there is nothing to merge.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .._results import Result
from ..errors import InputError
from ..stats.competing import (_gray_kind, cinc_from_counts, gray_chisq, gray_counts,
                               gray_failure_note, gray_from_counts)

__all__ = ["batch_cif", "BatchCIF", "batch_gray", "BatchGray"]


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


# ----------------------------------------------------------------------------- Gray's test
#: why a replicate's Gray test is not estimable (besides NOTE_GRAY_SINGULAR)
NOTE_NO_EVENTS = "no event of cause {cause} in this replicate (gray_test refuses it)"
NOTE_ONE_GROUP = "fewer than two groups have rows in this replicate (gray_test refuses it)"


@dataclass(frozen=True, eq=False)
class BatchGray(Result):
    """Gray's K-sample test of one cause per replicate cohort (frozen).

    Attributes
    ----------
    cause : int
    rho : float
    statistic, p : float arrays (reps,)
        As ``gray_test(...)`` of that replicate; NaN where not estimable.
    df : int array (reps,)
        Groups with rows in the replicate - 1.
    estimable : bool array (reps,)
    note : object array (reps,)
        Why a replicate's test is not estimable ("" where it is).
    k : int
        Number of group codes.
    """

    kind = "batch_gray"

    cause: int
    rho: float
    statistic: np.ndarray
    df: np.ndarray
    p: np.ndarray
    estimable: np.ndarray
    note: np.ndarray
    k: int
    stratified: bool = False

    @property
    def reps(self) -> int:
        return int(self.statistic.shape[0])

    @property
    def title(self) -> str:
        return f"Gray's test of cause {self.cause} in {self.reps} replicate cohorts"

    @property
    def choices(self) -> dict:
        return {"cause": self.cause, "rho": self.rho, "stratified": self.stratified,
                "test": "Gray (1988), cmprsk::cuminc $Tests"}

    @property
    def tables(self) -> dict:
        return {"replicates": pd.DataFrame({
            "replicate": np.arange(self.reps), "statistic": self.statistic, "df": self.df,
            "p": self.p, "estimable": self.estimable, "note": self.note})}


def _gray_chunk(t, code, g, s, k, S, cause, rho):
    """Scores and variances (summed over strata) of one chunk of replicates."""
    reps, n = t.shape
    m = _gray_kind(code, cause)
    cell = (np.arange(reps)[:, None] * S + s).ravel()
    d1, d2, rs = gray_counts(t.ravel(), m.ravel(), g.ravel(), cell, reps * S, k)
    sc, v = gray_from_counts(d1, d2, rs, rho)
    sc = sc.reshape(reps, S, k)
    v = v.reshape(reps, S, k, k)
    s_tot = np.zeros((reps, k))
    v_tot = np.zeros((reps, k, k))
    for j in range(S):                          # strata summed in order, as gray_test
        s_tot += sc[:, j]
        v_tot += v[:, j]
    rows = np.bincount((np.arange(reps)[:, None] * k + g).ravel(),
                       minlength=reps * k).reshape(reps, k)
    has_cause = (m == 1).any(axis=1)
    return s_tot, v_tot, rows > 0, has_cause


def batch_gray(time, code, group, *, cause=1, rho=0.0, strata=None, k=None,
               chunk=None) -> BatchGray:
    """Gray's test comparing the cumulative incidence of one cause, per replicate.

    The kernel of :func:`aplcohort.stats.competing.gray_test`
    (:func:`~aplcohort.stats.competing.gray_counts`,
    :func:`~aplcohort.stats.competing.gray_from_counts`,
    :func:`~aplcohort.stats.competing.gray_chisq`) run over a replicate axis: every
    (replicate, stratum) is one cell with its own event times, so a replicate gets
    the test ``gray_test`` gives it.

    Parameters
    ----------
    time : array-like, shape (reps, n) or (n,)
        Follow-up times (finite, >= 0).
    code : array-like of int, shape (reps, n) or (n,)
        0 = censored, 1, 2, ... = cause.
    group : array-like of int, shape (reps, n) or (n,)
        Group codes ``0 .. k-1``. A replicate in which a group has no rows is tested
        on the groups it has (as ``gray_test`` on that replicate: ``df`` is one less).
    cause : int
        Cause whose cumulative incidence is compared.
    rho : float
        Weight ``(1 - F(t-))**rho`` (``cmprsk::cuminc(rho=)``).
    strata : array-like of int, shape (reps, n) or (n,), optional
        Stratum codes ``0 .. S-1`` (``cuminc(strata=)``): scores and variances are
        summed over strata.
    k : int, optional
        Number of groups (default ``max(group) + 1``).
    chunk : int, optional
        Replicates per chunk (memory bound; default about 1e6 cells of the largest
        temporary).

    Returns
    -------
    BatchGray
        ``statistic``, ``df``, ``p``, ``estimable`` and ``note`` per replicate. A
        replicate without events of the cause, with fewer than two groups, or whose
        score variance is singular is not estimable (NaN, with the reason in
        ``note``) instead of raising or warning as ``gray_test`` does.

    Notes
    -----
    Validated against: :func:`aplcohort.stats.competing.gray_test` (itself validated
    against ``cmprsk::cuminc(...)$Tests``) on every replicate of seeded batches with
    ties, strata, rho != 0, a group without events of the cause, a group without
    rows and non-estimable replicates: statistic and p within 1e-12
    (tests/test_batch_gray.py).

    Examples
    --------
    >>> from aplcohort.batch import batch_gray
    >>> r = batch_gray([[1, 2, 3, 4, 5, 6, 7, 8]], [[1, 1, 2, 0, 1, 2, 1, 0]],
    ...                [[0, 0, 0, 0, 1, 1, 1, 1]])
    >>> int(r.df[0]), bool(r.estimable[0])
    (1, True)
    """
    t = np.asarray(time, dtype=float)
    if t.ndim not in (1, 2) or t.shape[-1] == 0:
        raise InputError(f"time must have shape (reps, n) or (n,) with n >= 1; got {t.shape}")
    if group is None:
        raise InputError("group is required for Gray's test")
    dims = [np.asarray(x) for x in (t, code, group) + ((strata,) if strata is not None else ())]
    reps = max(x.shape[0] if x.ndim == 2 else 1 for x in dims)
    n = t.shape[-1]
    if t.ndim == 2 and t.shape[0] != reps:
        raise InputError(f"time has {t.shape[0]} replicates but another input has {reps}")
    if not np.all(np.isfinite(t)) or np.any(t < 0):
        raise InputError("time must be finite and >= 0 in every replicate")
    tb = np.broadcast_to(t, (reps, n))
    cb = _as_codes(code, "code", reps, n)
    gb = _as_codes(group, "group", reps, n)
    sb = _as_codes(np.zeros(n, np.int64) if strata is None else strata, "strata", reps, n)
    kk = int(gb.max()) + 1 if k is None else int(k)
    if gb.max() >= kk:
        raise InputError(f"group codes must be < k = {kk}")
    if kk < 2:
        raise InputError(f"Gray's test needs at least two groups; k = {kk}")
    if not isinstance(cause, (int, np.integer)) or isinstance(cause, bool) or cause < 1:
        raise InputError(f"cause must be a positive integer code; got {cause!r}")
    if not isinstance(rho, (int, float, np.integer, np.floating)) or isinstance(rho, bool) \
            or not np.isfinite(rho):
        raise InputError(f"rho must be a finite number, got {rho!r}")
    S = int(sb.max()) + 1
    if chunk is None:
        step = max(1, int(1e6 // (S * n * kk ** 3)))
    else:
        step = max(1, int(chunk))
    parts = [_gray_chunk(np.ascontiguousarray(tb[a:a + step]), cb[a:a + step],
                         gb[a:a + step], sb[a:a + step], kk, S, int(cause), float(rho))
             for a in range(0, reps, step)]
    s_tot, v_tot, present, has_cause = (np.concatenate([p[i] for p in parts])
                                        for i in range(4))
    stat = np.full(reps, np.nan)
    p = np.full(reps, np.nan)
    ok = np.zeros(reps, bool)
    note = np.full(reps, "", dtype=object)
    df = present.sum(axis=1) - 1
    note[~has_cause] = NOTE_NO_EVENTS.format(cause=int(cause))
    few = has_cause & (df < 1)
    note[few] = NOTE_ONE_GROUP
    todo = has_cause & ~few
    # the groups present decide which scores are tested (gray_test on the replicate
    # sees only those groups and drops the last): one pass per pattern of presence
    pats, which = np.unique(present[todo], axis=0, return_inverse=True)
    rows = np.flatnonzero(todo)
    for j, pat in enumerate(pats):
        r = rows[which.ravel() == j]
        keep = np.flatnonzero(pat)[:-1]
        st, pv, good = gray_chisq(s_tot[np.ix_(r, keep)],
                                  v_tot[r][:, keep][:, :, keep])
        stat[r], p[r], ok[r] = st, pv, good
        for i in np.flatnonzero(~good):
            note[r[i]] = gray_failure_note(v_tot[r[i]][np.ix_(keep, keep)])
    return BatchGray(cause=int(cause), rho=float(rho), statistic=stat, df=df.astype(np.int64),
                     p=p, estimable=ok, note=note, k=kk, stratified=strata is not None)
