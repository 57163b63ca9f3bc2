"""k-group log-rank test on many replicate cohorts at once.

:func:`batch_logrank` computes, for every replicate of a ``(reps, n)`` batch,
the same observed / expected counts, variance matrix, chi-square, degrees of
freedom and p-value as :func:`aplcohort.stats.logrank.logrank_test` (R
``survdiff``) on that replicate alone -- with array operations over the whole
batch (one sort, cumulative sums over the sorted rows, batched linear solves).

Degenerate replicates
---------------------
As ``survdiff``, the chi-square uses the groups with ``expected > 0`` and
drops the first of them; ``df`` is their number minus one (so a group with no
rows, or whose rows are all censored before the first event, lowers ``df``).
When fewer than two groups have ``expected > 0`` (e.g. no events at all) the
test is undefined: ``statistic`` and ``p`` are NaN, ``df`` is 0 and
``undefined`` is True. The single-cohort function gives the same NaN (with a
:class:`~aplcohort.errors.StatisticalWarning`); the batch reports the count in
``n_undefined`` instead of warning once per replicate.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from ..stats import _surv_core as core
from ..stats._lazy import scipy_stats as st

from .._results import Result
from ._layout import as_batch, layout

__all__ = ["batch_logrank", "BatchLogRank", "logrank_oev"]


@dataclass(frozen=True, eq=False)
class BatchLogRank(Result):
    """Log-rank tests of a batch of replicate cohorts (frozen).

    Attributes
    ----------
    statistic, p : float arrays (reps,)
        Chi-square and p-value (NaN where ``undefined``).
    df : int array (reps,)
    observed, expected : float arrays (reps, k)
    var : float array (reps, k, k)
        R ``survdiff$var`` of each replicate.
    undefined : bool array (reps,)
        Fewer than two groups with expected events > 0.
    k : int
        Number of group codes.
    """

    kind = "batch_logrank"

    statistic: np.ndarray
    df: np.ndarray
    p: np.ndarray
    observed: np.ndarray
    expected: np.ndarray
    var: np.ndarray
    undefined: np.ndarray
    k: int

    @property
    def reps(self) -> int:
        return int(self.statistic.shape[0])

    @property
    def n_undefined(self) -> int:
        return int(self.undefined.sum())

    @property
    def title(self) -> str:
        return f"Log-rank tests of {self.reps} replicate cohorts"

    @property
    def choices(self) -> dict:
        return {"test": "log-rank (R survdiff, rho = 0)", "groups": self.k,
                "undefined replicates": self.n_undefined}

    def frame(self) -> pd.DataFrame:
        """One row per replicate: ``[rep, statistic, df, p, undefined]``."""
        return pd.DataFrame({"rep": np.arange(self.reps), "statistic": self.statistic,
                             "df": self.df, "p": self.p, "undefined": self.undefined})

    @property
    def tables(self) -> dict:
        return {"replicates": self.frame()}

    def to_dict(self) -> dict:
        from .._results import jsonable
        return {"kind": self.kind, "reps": self.reps, "k": self.k,
                "statistic": jsonable(self.statistic), "df": jsonable(self.df),
                "p": jsonable(self.p), "undefined": jsonable(self.undefined),
                "choices": jsonable(self.choices)}


def logrank_oev(L, gs, k):
    """Observed, expected and variance of the log-rank statistic per replicate.

    Parameters
    ----------
    L : Layout
        Sorted layout of the batch (:func:`aplcohort.batch._layout.layout`).
    gs : int array (reps, n)
        Group codes in layout order.
    k : int

    Returns
    -------
    O, E : (reps, k) ; V : (reps, k, k)
    """
    reps, n = gs.shape
    onehot = gs[:, :, None] == np.arange(k)                              # (reps, n, k) bool
    # number at risk by group from each sorted position on (reverse cumulative count)
    rc = np.cumsum(onehot[:, ::-1], axis=1, dtype=np.int64)[:, ::-1].reshape(reps * n, k)
    starts = np.flatnonzero(L.first.ravel())                             # one per tie block
    ev = (onehot * L.event[:, :, None]).reshape(reps * n, k)
    n_ev = np.add.reduceat(ev, starts, axis=0) if starts.size else np.zeros((0, k))
    keep = n_ev.sum(axis=1) > 0                                          # distinct event times
    starts, n_ev = starts[keep], n_ev[keep]
    # the same O / E / V arithmetic as the single-cohort logrank_test, with a replicate axis
    return core.oev_from_counts(rc[starts].astype(float), n_ev, np.ones(starts.size),
                                rep=starts // n, nrep=reps)


def chisq_batch(O, E, V):
    """R survdiff's chi-square per replicate: :func:`aplcohort.stats._surv_core.chisq_from_oev_batch`."""
    return core.chisq_from_oev_batch(O, E, V)


def batch_logrank(time, event, group, *, k=None, chunk=None) -> BatchLogRank:
    """Log-rank test (k groups, ties) for every replicate of a batch.

    Parameters
    ----------
    time, event : array-like, shape (reps, n) or (n,)
        Times (>= 0) and 0/1 events; a 1-D array is shared by all replicates.
    group : array-like of int, shape (reps, n) or (n,)
        Group codes ``0 .. k-1`` (code order = the order of sorted labels in
        :func:`~aplcohort.stats.logrank.logrank_test`).
    k : int, optional
        Number of groups (default ``max(group) + 1``).
    chunk : int, optional
        Process this many replicates at a time (bounds memory; results do not
        depend on it).

    Returns
    -------
    BatchLogRank

    Notes
    -----
    Validated against: :func:`aplcohort.stats.logrank.logrank_test` (itself
    validated against R ``survdiff``) on every replicate of random batches
    with heavy ties, empty groups and all-censored replicates, rtol 1e-10
    (tests/test_batch_engine.py).

    Examples
    --------
    >>> import numpy as np
    >>> from aplcohort.batch import batch_logrank
    >>> t = np.array([[1, 2, 3, 4, 5, 6], [6, 5, 4, 3, 2, 1]])
    >>> r = batch_logrank(t, np.ones((2, 6)), [0, 0, 0, 1, 1, 1])
    >>> r.df.tolist(), bool(np.isclose(r.statistic[0], r.statistic[1]))
    ([1, 1], True)
    """
    b = as_batch(time, event, group, k=k)
    reps, kk = b["reps"], b["k"]
    step = reps if chunk is None else max(1, int(chunk))
    parts = []
    for s in range(0, reps, step):
        sl = slice(s, min(s + step, reps))
        L = layout(np.ascontiguousarray(b["time"][sl]), np.ascontiguousarray(b["event"][sl]))
        gs = L.take(b["group"][sl])
        O, E, V = logrank_oev(L, gs, kk)
        parts.append((O, E, V))
    O = np.concatenate([p[0] for p in parts])
    E = np.concatenate([p[1] for p in parts])
    V = np.concatenate([p[2] for p in parts])
    chisq, df = chisq_batch(O, E, V)
    undefined = df < 1
    p = np.full(reps, np.nan)
    p[~undefined] = st.chi2.sf(chisq[~undefined], df[~undefined])
    return BatchLogRank(statistic=chisq, df=df.astype(np.int64), p=p, observed=O, expected=E,
                        var=V, undefined=undefined, k=kk)
