"""Concordance of a Cox model: Harrell's C with R's standard error, and time-dependent AUC.

:func:`concordance` reproduces R ``concordance(fit)`` (survival 3.5) with its defaults
``timewt = "n"``: a pair is comparable when the earlier time is an event and the other
row is still at risk then (a censored time tied with the event time counts as at risk;
with (entry, stop] data the other row must have entry < t <= stop); pairs are within
strata; pairs weigh ``w_i w_j``.  ``C = (concordant + tied.x / 2) / (concordant +
discordant + tied.x)``, where concordant = the row with the event has the higher
linear predictor; pairs tied on time (two events at t) are not comparable (R's
``tied.y``).  The standard error is R's infinitesimal-jackknife one
(``sqrt(concordance(fit)$var)``): ``var = sum_i dfbeta_i^2 / 4`` with ``dfbeta_i = w_i
[(I_conc,i - I_disc,i) / N - somers_d / N (I_conc,i + I_disc,i + I_tied.x,i)]`` and ``I_k,i``
the weighted number of type-k pairs row ``i`` is part of.  A model fitted with a
``cluster`` gives, as R (which takes the fit's cluster), the grouped jackknife: the
``dfbeta_i`` are summed within cluster before squaring, ``var = sum_g (sum_{i in g}
dfbeta_i)^2 / 4`` (rows of one patient, or of a family, are not independent; the
unclustered formula would understate the SE).  The counting sweeps the
event times with a binary indexed tree over the predictor's ranks, O(n log n) per
stratum like R's C code (our own code: no Python library gives R's counts and IJ
variance; lifelines' ``concordance_index`` has no SE, strata or (entry, stop] data).
R merges floating-point near-ties of times (``timefix``); we do
not (times equal up to rounding are rare in day-valued data).

:func:`td_auc` (optional) is the cumulative-case / dynamic-control AUC at chosen times
with inverse-probability-of-censoring weights (Uno et al. 2007; timeROC's
"cumulative/dynamic" AUC with marginal Kaplan-Meier censoring weights): cases ``T_i <=
t`` with an event, weight ``1 / G(T_i-)``; controls ``T_j > t``, weight ``1 / G(t)``;
``AUC(t) = sum w_i w_j [I(m_i > m_j) + I(m_i = m_j) / 2] / (sum w_i sum w_j)`` with ``m``
the linear predictor and ``G`` the Kaplan-Meier estimate of the censoring distribution.

Validated against: R survival 3.5-3 ``concordance(fit)`` (C, var, counts, per-stratum
counts; per-stratum C and SE via ``concordance(y ~ lp, reverse = TRUE)`` on the
stratum) on lung (Efron, Breslow, non-integer weights, strata), lung in months (heavy
ties), veteran, ovarian and heart ((start, stop]); ``td_auc`` against the same
definition written independently in R (tests/reference/cox_extras.R; timeROC is not
installed).  Relative differences below 1e-10.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .._results import Result
from ..errors import InputError
from .shapes import z_value

# ``concordance`` is both this module and its function, bound eagerly in
# ``aplcohort.stats`` (as ``landmark``): keep the import cheap, load the Cox code on use.

__all__ = ["concordance", "ConcordanceResult", "td_auc"]

_COLUMNS = ["strata", "concordance", "std_err", "lower", "upper", "concordant", "discordant",
            "tied_x", "tied_y", "tied_xy"]


def _earlier_below(rank, w, is_query):
    """For each item of a sequence: the sum of ``w`` over the EARLIER points (items with
    ``is_query`` False) whose rank is below the item's.

    Bottom-up merge sort in numpy: at each level every pair of sibling blocks is merged
    by rank (a stable sort of two runs already sorted, arrays carried in merged order so
    that the moves stay inside a block), and a query in the right block gains the
    cumulative weight of the left block's points merged before it (at equal rank the
    query goes first). Every earlier point is counted once, at the level where the two
    items' blocks meet; sums restart at each block, so an empty set sums to exactly 0.
    O(n log n) array work.
    """
    m = rank.size
    if m < 2:
        return np.zeros(m)
    L = int(m - 1).bit_length()
    N = 1 << L
    r = np.full(N, int(rank.max()) + 1, dtype=np.int64)
    r[:m] = rank
    q = np.ones(N, dtype=bool)                   # padding: queries, never counted
    q[:m] = is_query
    wp = np.zeros(N)
    wp[:m] = np.where(is_query, 0.0, w)
    key2 = r * 2 + (~q)                          # at equal rank, queries before points
    big = 2 * (int(r.max()) + 2)
    pos = np.arange(N, dtype=np.int64)
    out = np.zeros(N)
    for lev in range(L):
        size = 2 << lev
        o = np.argsort((pos >> (lev + 1)) * big + key2, kind="stable")
        pos, key2, wp, q = pos[o], key2[o], wp[o], q[o]
        left = ((pos >> lev) & 1) == 0
        cs = np.where(left, wp, 0.0).reshape(-1, size).cumsum(axis=1).ravel()
        hit = ~left & q
        out[pos[hit]] += cs[hit]
    return out[:m]


def _earlier_equal(rank, w, is_query):
    """For each item: the sum of ``w`` over the earlier points of the same rank."""
    o = np.lexsort((np.arange(rank.size), rank))
    cs = np.cumsum(np.where(is_query, 0.0, w)[o])
    rs = rank[o]
    first = np.r_[True, rs[1:] != rs[:-1]]
    start = np.maximum.accumulate(np.where(first, np.arange(rank.size), 0))
    before = np.where(start > 0, cs[np.maximum(start - 1, 0)], 0.0)
    out = np.empty(rank.size)
    out[o] = cs - before
    return out


def _dominance(pkey, prank, pw, qkey, qrank, later_first):
    """Sums over points ``p`` of ``pw`` with ``pkey`` beyond ``qkey`` for each query:
    (rank below, rank not above, any rank). ``later_first``: beyond = greater (else
    smaller); a point with the query's key is never counted."""
    np_, nq = pkey.size, qkey.size
    key = np.concatenate([pkey, qkey])
    isq = np.r_[np.zeros(np_, bool), np.ones(nq, bool)]
    # sequence: by key (descending when greater counts), queries before points at ties
    k = -key if later_first else key
    seq = np.lexsort((~isq, k))
    rank = np.concatenate([prank, qrank])[seq]
    w = np.concatenate([pw, np.zeros(nq)])[seq]
    iq = isq[seq]
    lt = _earlier_below(rank, w, iq)
    le = lt + _earlier_equal(rank, w, iq)
    al = np.cumsum(np.where(iq, 0.0, w))
    back = np.empty(seq.size, dtype=np.int64)
    back[seq] = np.arange(seq.size)
    at = back[np_:]
    return lt[at], le[at], al[at]


def _count(time, event, entry, lp, w):
    """Pair counts and per-row influence of one stratum (R ``concordance`` counting).

    Returns (counts (5,), imat (n, 3)) with counts = [concordant, discordant, tied.x,
    tied.y, tied.xy] (weighted) and imat the weighted numbers of concordant, discordant
    and tied.x pairs each row is part of.

    Row ``j`` is a comparator of the events at the k-th event time ``U[k]`` when
    ``lo_j <= k < hi_j`` (``hi``: event times before its stop, or at it when censored;
    ``lo``: event times at or before its entry). Both sides are offline dominance sums
    over (event-time index, rank of the linear predictor), answered by
    :func:`_dominance` (O(n log n) array work, as R's C code counts with a tree).
    """
    n = time.size
    imat = np.zeros((n, 3))
    counts = np.zeros(5)
    dead = event == 1
    U = np.unique(time[dead])
    J = U.size
    if J == 0:
        return counts, imat
    _u, rank = np.unique(lp, return_inverse=True)
    rank = rank.ravel()
    hi = np.where(dead, np.searchsorted(U, time, side="left"),
                  np.searchsorted(U, time, side="right")).astype(np.int64)
    lo = (np.zeros(n, np.int64) if entry is None
          else np.searchsorted(U, entry, side="right").astype(np.int64))
    di = np.flatnonzero(dead)
    kd = np.searchsorted(U, time[di]).astype(np.int64)
    # events' side: sums over their comparators (rows with lo <= k < hi), by rank:
    # rows with hi > k, minus rows with lo > k
    rd = rank[di]
    a_lt, a_le, a_all = _dominance(hi, rank, w, kd, rd, True)
    if entry is not None:
        b_lt, b_le, b_all = _dominance(lo, rank, w, kd, rd, True)
        a_lt, a_le, a_all = a_lt - b_lt, a_le - b_le, a_all - b_all
    side = np.zeros((n, 3))
    side[di, 0] = a_lt                               # comparator lower: concordant
    side[di, 1] = a_all - a_le                       # comparator higher: discordant
    side[di, 2] = a_le - a_lt
    # comparators' side: sums over the events they are compared with (lo <= k_i < hi):
    # events with k_i < hi, minus events with k_i < lo
    e_lt, e_le, e_all = _dominance(kd, rd, w[di], hi, rank, False)
    if entry is not None:
        f_lt, f_le, f_all = _dominance(kd, rd, w[di], lo, rank, False)
        e_lt, e_le, e_all = e_lt - f_lt, e_le - f_le, e_all - f_all
    imat[:, 0] = e_all - e_le                        # event higher: concordant
    imat[:, 1] = e_lt
    imat[:, 2] = e_le - e_lt
    imat += side
    counts[:3] = w @ side                          # each pair once, from its event's side
    # pairs of events at the same time (R's tied.y; tied.xy when the predictor ties too)
    wd, td, rd = w[dead], time[dead], rank[dead]
    for keys, slot in (((td,), 3), ((td, rd), 4)):
        _k, grp = np.unique(np.column_stack(keys), axis=0, return_inverse=True)
        grp = grp.ravel()
        sw = np.bincount(grp, weights=wd)
        sw2 = np.bincount(grp, weights=wd * wd)
        counts[slot] = np.sum(sw * sw - sw2) / 2
    counts[3] -= counts[4]
    return counts, imat


def _c_and_var(counts, imat, w, cluster=None):
    """C and its infinitesimal-jackknife SE; ``cluster`` (integer codes, one per row):
    the rows' influences summed within cluster first (R ``concordancefit``: ``dfbeta <-
    tapply(dfbeta, cluster, sum)``)."""
    npair = counts[:3].sum()
    if npair == 0:
        return np.nan, np.nan
    somer = (counts[0] - counts[1]) / npair
    dfb = w * ((imat[:, 0] - imat[:, 1]) / npair - somer / npair * imat.sum(axis=1))
    if cluster is not None:
        dfb = np.bincount(cluster, weights=dfb)
    return (somer + 1) / 2, float(np.sqrt(np.sum(dfb ** 2) / 4))


@dataclass(frozen=True, eq=False)
class ConcordanceResult(Result):
    """Harrell's C of a Cox model (R ``concordance(fit)``), optionally time-dependent AUC.

    Attributes
    ----------
    table : DataFrame
        ``[strata, concordance, std_err, lower, upper, concordant, discordant, tied_x,
        tied_y, tied_xy]``: first row "all" (R's overall C and SE), then one row per
        stratum for a stratified model.  ``std_err`` of a model fitted with a cluster is
        the grouped (cluster) jackknife SE, as R; ``choices["std_err"]`` says which.  ``lower/upper``: Wald interval ``C +- z SE``
        at ``conf_level`` (R prints only C and its SE).
    auc : DataFrame or None
        ``[time, auc, cases, controls]`` from :func:`td_auc` when ``times`` were given.
    """

    table: pd.DataFrame
    auc: pd.DataFrame = None
    _choices: dict = field(default_factory=dict, repr=False)

    kind = "cox_concordance"

    @property
    def title(self) -> str:
        return "Concordance (Harrell's C, R concordance())"

    @property
    def choices(self) -> dict:
        return dict(self._choices)

    @property
    def tables(self) -> dict:
        out = {"concordance": self.table}
        if self.auc is not None:
            out["time-dependent AUC"] = self.auc
        return out

    @property
    def estimate(self) -> float:
        """The overall C."""
        return float(self.table["concordance"].iloc[0])


def concordance(result, *, times=None, conf_level=0.95) -> ConcordanceResult:
    """Harrell's C with R's standard error for a fitted Cox model (R ``concordance(fit)``).

    A model fitted with ``cluster=`` gets R's grouped infinitesimal-jackknife SE (each
    row's influence summed within its cluster); a stratum's SE groups the stratum's rows
    by their clusters.  ``robust=True`` without a cluster does not group (as R).

    Parameters
    ----------
    result : CoxResult
    times : sequence of float, optional
        Also the time-dependent AUC (:func:`td_auc`) at these times.
    conf_level : float
        Level of the Wald interval of C.

    Returns
    -------
    ConcordanceResult

    Examples
    --------
    >>> import pandas as pd
    >>> from aplcohort.stats.cox import coxph
    >>> df = pd.DataFrame({"t": [5, 8, 12, 3, 9, 15, 7, 11], "e": [1, 1, 0, 1, 1, 0, 1, 0],
    ...                    "age": [60, 52, 45, 70, 58, 40, 66, 49]})
    >>> c = concordance(coxph(df, time="t", event="e", covariates=["age"]))
    >>> 0.5 < c.estimate <= 1
    True

    Validated against: R survival 3.5-3 ``concordance(fit)``.
    """
    from .coxpredict import _model, predict_lp

    if not 0 < conf_level < 1:
        raise InputError(f"conf_level must be in (0, 1), got {conf_level}")
    from ._aeq import aeq_times
    m = _model(result)
    lp = predict_lp(result, reference="sample").to_numpy()
    ev = np.asarray(m.event, float)
    # times equal up to rounding are one time, as R's concordance (aeqSurv via timefix)
    mtime, mentry = aeq_times(np.asarray(m.time, float),
                              None if m.entry is None else np.asarray(m.entry, float))
    # the fit's cluster (R concordance(fit) uses it: grouped jackknife variance)
    inp = getattr(result, "_inputs", None) or {}
    ccol = result.choices.get("cluster") if hasattr(result, "choices") else None
    cl = inp.get("cluster")
    ccode = None if cl is None else pd.factorize(pd.Series(cl), sort=True)[0]
    rows = []
    all_counts = np.zeros(5)
    imat = np.zeros((m.n, 3))
    per = []
    for k, lev in enumerate(m.levels):
        idx = np.flatnonzero(m.codes == k)
        c, im = _count(mtime[idx], ev[idx], None if mentry is None else mentry[idx],
                       lp[idx], m.w[idx])
        all_counts += c
        imat[idx] = im
        per.append((lev, c, im, idx))
    z = z_value(conf_level)

    def row(label, c, im, w, cc_):
        cc, se = _c_and_var(c, im, w, cc_)
        return [label, cc, se, cc - z * se, cc + z * se, *c]

    rows.append(row("all", all_counts, imat, m.w, ccode))
    if m.strata is not None:
        for lev, c, im, idx in per:
            # a stratum's SE: its rows alone, grouped by their clusters (as R
            # concordance(y ~ lp, cluster =) on the stratum)
            sub = None if ccode is None else np.unique(ccode[idx], return_inverse=True)[1]
            rows.append(row(lev, c, im, m.w[idx], sub))
    table = pd.DataFrame(rows, columns=_COLUMNS)
    table["strata"] = table["strata"].astype(object)
    auc = None if times is None else td_auc(result, times)
    choices = {"timewt": "n (R default)", "ties": "tied predictors count 1/2; tied event "
               "times not comparable (R)",
               "std_err": "infinitesimal jackknife (R)" if ccode is None else
               "grouped infinitesimal jackknife, influences summed within cluster"
               + (f" '{ccol}'" if isinstance(ccol, str) else "")
               + f" ({int(ccode.max()) + 1} clusters; R concordance(fit) of a clustered fit)",
               "interval": f"Wald, conf_level {conf_level}",
               "strata": m.strata_columns or None, "weights": "case weights" if m.weighted
               else "none"}
    if auc is not None:
        choices["auc"] = ("cumulative cases / dynamic controls, IPCW with Kaplan-Meier "
                          "censoring weights (Uno 2007)")
    return ConcordanceResult(table, auc, choices)


def td_auc(result, times) -> pd.DataFrame:
    """Time-dependent AUC (cumulative cases / dynamic controls, IPCW) of a Cox model.

    Parameters
    ----------
    result : CoxResult
        A right-censored, unweighted fit (the linear predictor is the marker).
    times : sequence of float
        Times ``t`` (each must have at least one case and one control).

    Returns
    -------
    DataFrame ``[time, auc, cases, controls]`` (numbers of cases / controls unweighted).

    Examples
    --------
    >>> import pandas as pd
    >>> from aplcohort.stats.cox import coxph
    >>> df = pd.DataFrame({"t": [5, 8, 12, 3, 9, 15, 7, 11], "e": [1, 1, 0, 1, 1, 0, 1, 0],
    ...                    "age": [60, 52, 45, 70, 58, 40, 66, 49]})
    >>> a = td_auc(coxph(df, time="t", event="e", covariates=["age"]), [6, 10])
    >>> list(a.columns)
    ['time', 'auc', 'cases', 'controls']

    Validated against: the definition coded independently in R
    (tests/reference/cox_extras.R, ``td_auc``).
    """
    from .coxpredict import _model, predict_lp

    m = _model(result)
    if m.entry is not None:
        raise InputError("td_auc needs right-censored data; the model has entry times")
    if m.weighted:
        raise InputError("td_auc is defined here for unweighted fits only (the IPCW "
                         "weights would mix with case weights)")
    t_arr = np.atleast_1d(np.asarray(times, float))
    if t_arr.size == 0 or not np.all(np.isfinite(t_arr)):
        raise InputError(f"times must be finite numbers, got {list(np.atleast_1d(times))}")
    time = m.time
    ev = np.asarray(m.event, float)
    lp = predict_lp(result, reference="sample").to_numpy()
    # Kaplan-Meier of the censoring distribution (censoring = the event)
    ut = np.unique(time)
    st = np.sort(time)
    n_risk = time.size - np.searchsorted(st, ut, side="left")
    nc = np.bincount(np.searchsorted(ut, time[ev == 0]), minlength=ut.size)
    G = np.cumprod(1.0 - nc / n_risk)
    Gs = np.concatenate([[1.0], G])

    def G_left(x):
        return Gs[np.searchsorted(ut, x, side="left")]

    def G_at(x):
        return Gs[np.searchsorted(ut, x, side="right")]

    rows = []
    for t in t_arr:
        case = np.flatnonzero((time <= t) & (ev == 1))
        ctrl = np.flatnonzero(time > t)
        if case.size == 0 or ctrl.size == 0:
            raise InputError(f"td_auc at time {t}: there are {case.size} cases (events by t) "
                             f"and {ctrl.size} controls (still event-free after t); choose a "
                             "time inside follow-up")
        wi = 1.0 / G_left(time[case])
        wj = 1.0 / G_at(t)
        # for each case, the controls with a lower marker count 1 and the tied ones 1/2:
        # counted by binary search in the sorted control markers (n log n, not a
        # cases x controls matrix); whole and half counts are exact in float, so the sum
        # equals that matrix's row sum bit for bit
        sc = np.sort(lp[ctrl])
        lo = np.searchsorted(sc, lp[case], side="left")
        hi = np.searchsorted(sc, lp[case], side="right")
        counts = lo + 0.5 * (hi - lo)
        auc = float(wi @ counts * wj / (wi.sum() * wj * ctrl.size))
        rows.append((float(t), auc, int(case.size), int(ctrl.size)))
    return pd.DataFrame(rows, columns=["time", "auc", "cases", "controls"])
