"""Aalen–Johansen state occupancy probabilities with infinitesimal-jackknife SE.

Array level
    :func:`aalen_johansen` -- one group of (start, stop] multi-state rows.
pandas front-end
    :func:`state_occupancy` -> :class:`StateOccupancyResult` (by group, left
    truncation, restricted mean time in state, sums of states such as CLFS).

Why our own code: no Python library reproduces R ``survival``'s multi-state
``survfit`` (Aalen–Johansen with the infinitesimal-jackknife variance, left
truncation, R's risk-set and initial-state conventions); lifelines has no
multi-state estimator (issue #674) and scikit-survival none either.

Conventions (all as R ``survfit(Surv(tstart, tstop, state) ~ g, data, id = id,
istate = istate)``, survival 3.5, ``stype = 1, ctype = 1``):

* a row is at risk at ``t`` when ``tstart < t <= tstop``, in the state it starts in
  (``from_state``);
* at each time with transitions, ``p(t) = p(t-) H(t)`` with ``H = I + dA``,
  ``dA[j, k] = d_jk / n_j`` (Nelson–Aalen increments); a "transition" to the state
  a subject is already in does not count;
* the initial distribution ``p0`` is the distribution of starting states among the
  rows at risk at the first transition time; when it is not degenerate its
  influence ``(1{state = j} - p0_j) / n0`` enters the variance;
* the standard error is the infinitesimal jackknife, per subject (``id``):
  ``U_i(t) = U_i(t-) H(t) + p_j(t-) / n_j(t) (e_{to_i} - H[j, :])`` for subject ``i``
  at risk in state ``j``; ``se = sqrt(sum_i U_i^2)``.  Computed in O((n + T) S^2 log T)
  rather than R's O(n T S^2) sweep over every subject at every time: only the S x S Gram
  matrix ``sum_i U_i' U_i`` is carried through the times, and a subject's ``U_i`` is
  evaluated at its rows' ends by composing the per-time affine maps (``_ij_gram``); the
  numbers are the former sweep's to ~1e-13 (``tests/test_growth_aj.py``);
* confidence intervals from ``survfit_confint(logse = FALSE)``: ``"log"`` (R's
  default), ``"log-log"`` or ``"plain"``; where the estimate is exactly 0 (state
  not yet entered) the interval is [0, 0];
* restricted mean time in state to ``tau``: the integral of ``p`` from 0 (``p = p0``
  before the first time) to ``tau``, as R ``summary(fit, rmean = tau)$table``; its SE
  is the IJ of the integral (the sum over subjects of the squared integrated
  influence, computed in R from ``influence.pstate``);
* the SE of a sum of states (e.g. current leukaemia-free survival = sum of the
  remission states) is the IJ of the sum: ``sqrt(sum_i (sum_{j in set} U_ij)^2)``.

Validated against: R survival 3.5-3 multi-state ``survfit`` on ``mgus2`` (PCM
competing with death; illness–death built with ``tmerge``), ``myeloid`` (5 states,
by treatment; and left-truncated at day 30) and the Min 2022 replica; ``pstate``,
``std.err``, CI, ``n.risk``, ``n.event``, ``n.censor``, rmean and se(rmean) to 1e-6
(``tests/reference/multistate.R``, ``tests/test_multistate_reference.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .._align import align_rows
from .._results import Result
from .._checks import check_bool
from ..errors import InputError
from ..stats import _surv_core as core
from ..stats.shapes import NOTE_SE_ZERO_STATE, _interval_notes

__all__ = ["aalen_johansen", "AJFit", "state_occupancy", "StateOccupancyResult",
           "CURVE_COLUMNS"]

CURVE_COLUMNS = ["group", "cause", "time", "estimate", "std_err", "lower", "upper",
                 "n_risk", "n_event", "n_censor"]
_CONF_TYPES = ("log", "log-log", "plain")


@dataclass(frozen=True)
class AJFit:
    """Array-level Aalen–Johansen fit of one group.

    Attributes
    ----------
    time : ndarray (T,)
        Every distinct stop time (transitions and censorings), as R ``fit$time``.
    pstate, std_err : ndarray (T, S)
        Occupancy probabilities and IJ standard errors.
    n_risk, n_event : ndarray (T, S)
        Rows at risk in each state just before ``t``; transitions *into* each state
        at ``t``.
    n_censor : ndarray (T,)
    p0, sp0 : ndarray (S,)
        Initial distribution and its IJ standard error.
    combo_estimate, combo_std_err : ndarray (T, m)
        Sums of states requested with ``combos`` and their IJ SE.
    rmean, se_rmean : ndarray (S,) or None
        Restricted mean time in each state to ``tau`` (and for each combo:
        ``combo_rmean``, ``combo_se_rmean``).
    n_transitions : ndarray (S, S)
        Number of transitions ``from -> to`` (rows with an event).
    """

    time: np.ndarray
    pstate: np.ndarray
    std_err: np.ndarray
    n_risk: np.ndarray
    n_event: np.ndarray
    n_censor: np.ndarray
    p0: np.ndarray
    sp0: np.ndarray
    combo_estimate: np.ndarray
    combo_std_err: np.ndarray
    rmean: np.ndarray | None
    se_rmean: np.ndarray | None
    combo_rmean: np.ndarray | None
    combo_se_rmean: np.ndarray | None
    n_transitions: np.ndarray
    n_subjects: int


def _merge_contiguous_censored(start, stop, frm, to, sid):
    """Join a censored row with the next row of the same subject that starts at its stop.

    R ``survfitCI`` does the same (those rows only split follow-up, e.g. for a
    time-dependent covariate); otherwise the split would count as a censoring.
    """
    o = np.lexsort((stop, sid))
    start, stop, frm, to, sid = start[o], stop[o], frm[o], to[o], sid[o]
    nxt_same = np.zeros(len(sid), bool)
    nxt_same[:-1] = (sid[1:] == sid[:-1]) & (start[1:] == stop[:-1])
    extra = nxt_same & (to == 0)
    if not extra.any():
        return start, stop, frm, to, sid
    e = np.flatnonzero(extra)
    new_start = start.copy()
    # the row after each run of extras inherits the start of the run
    keep = ~extra
    # propagate starts forward through chains of extra rows
    for i in e:  # chains are short (a handful of rows per subject)
        new_start[i + 1] = new_start[i]
    return new_start[keep], stop[keep], frm[keep], to[keep], sid[keep]


def aalen_johansen(start, stop, from_state, to_state, subject, n_states, *, p0=None,
                   combos=None, tau=None) -> AJFit:
    """Aalen–Johansen state occupancy with IJ variance for one group (R ``survfitCI``).

    Parameters
    ----------
    start, stop : array_like (n,)
        Interval ``(start, stop]`` of each row (``start < stop``).
    from_state : array_like of int (n,)
        State code (0 .. S-1) the row is in.
    to_state : array_like of int (n,)
        State entered at ``stop`` plus one (1 .. S), 0 = censored / no transition.
    subject : array_like (n,)
        Subject identifier (the IJ is per subject).
    n_states : int
    p0 : array_like (S,), optional
        Initial distribution (default: from the rows at risk at the first transition).
    combos : array_like (S, m) of 0/1, optional
        Sums of states whose estimate and IJ SE are wanted.
    tau : float, optional
        Horizon of the restricted mean time in state.

    Returns
    -------
    AJFit

    Raises
    ------
    InputError
        Two rows of one subject at risk at the same transition time (overlapping rows,
        which ``check_intervals`` reports as errors): the IJ is per subject with one row
        at risk at a time.

    Examples
    --------
    >>> f = aalen_johansen([0, 0, 0], [1., 2., 3.], [0, 0, 0], [2, 0, 2], [1, 2, 3], 2)
    >>> f.pstate[:, 1].round(4).tolist()
    [0.3333, 0.3333, 1.0]
    """
    start, stop, from_state, to_state, subject = align_rows(
        "aalen_johansen", start=start, stop=stop, from_state=from_state, to_state=to_state,
        subject=subject)                      # pandas Series are paired by index label
    start = np.asarray(start, float)
    stop = np.asarray(stop, float)
    frm = np.asarray(from_state, int)
    to = np.asarray(to_state, int)
    sid = pd.factorize(np.asarray(subject))[0]
    S = int(n_states)
    if combos is None:
        combos = np.zeros((S, 0))
    combos = np.asarray(combos, float)
    start, stop, frm, to, sid = _merge_contiguous_censored(start, stop, frm, to, sid)
    nid = int(sid.max()) + 1 if sid.size else 0
    moved = (to > 0) & (to - 1 != frm)
    times = np.unique(stop)
    T = times.size

    # ---- counts (vectorised): at risk in state j at t  <=> start < t <= stop
    n_risk = np.zeros((T, S))
    for j in range(S):
        m = frm == j
        n_risk[:, j] = (np.searchsorted(np.sort(start[m]), times, side="left")
                        - np.searchsorted(np.sort(stop[m]), times, side="left"))
    ti = np.searchsorted(times, stop)
    n_event = np.zeros((T, S))
    np.add.at(n_event, (ti[moved], to[moved] - 1), 1.0)
    n_censor = np.bincount(ti[to == 0], minlength=T).astype(float)
    n_trans = np.zeros((S, S))
    np.add.at(n_trans, (frm[moved], to[moved] - 1), 1.0)

    # ---- initial distribution (R docurve2)
    t0 = times.max() if not moved.any() else stop[moved].min()
    at0 = (start < t0) & (stop >= t0)
    U0 = np.zeros((nid, S))
    if p0 is None:
        n0 = at0.sum()
        p0 = np.bincount(frm[at0], minlength=S) / n0
        if (p0 < 1).all():
            U0[sid[at0]] = (np.eye(S)[frm[at0]] - p0) / n0
    else:
        p0 = np.asarray(p0, float)
    sp0 = np.sqrt((U0 ** 2).sum(axis=0))
    A = np.hstack([np.eye(S), combos])  # states, then sums of states
    do_rmean = tau is not None

    # ---- event times: H(t) = I + dA and p(t) = p(t-) H(t), one step per time with a
    # transition (the same arithmetic as R survfitCI, so p is bit for bit the former loop)
    ev_t = np.unique(stop[moved])
    K = ev_t.size
    ws = n_risk[np.searchsorted(times, ev_t)]                 # (K, S) at risk
    Hs = np.bincount((np.searchsorted(ev_t, stop[moved]) * S + frm[moved]) * S + to[moved] - 1,
                     minlength=K * S * S).astype(float).reshape(K, S, S)   # counts
    has = ws > 0
    tot = Hs.sum(axis=2)
    Hs[has] = Hs[has] / ws[has][:, None]
    diag = np.where(has, 1.0 - np.divide(tot, ws, out=np.zeros_like(ws), where=has), 1.0)
    Hs[:, np.arange(S), np.arange(S)] = diag
    P = np.empty((K + 1, S))
    P[0] = p = p0.copy()
    for k in range(K):
        p = p @ Hs[k]
        P[k + 1] = p
    ne = np.searchsorted(ev_t, times, side="right")           # events at or before t
    pstate = P[ne]

    # ---- restricted mean: the integral of p (as the former loop: sequential sums)
    lag0 = min(0.0, times[0]) if T else 0.0
    rmean = se_rmean = crm = cse = None
    integ = do_rmean and tau > lag0
    if do_rmean:
        r_int = np.zeros(S)
        if integ:
            lag = np.minimum(times, tau)
            dt = np.diff(np.concatenate([[lag0], lag]))
            p_before = np.vstack([p0[None], pstate[:-1]])
            if T:
                r_int = np.cumsum(p_before * dt[:, None], axis=0)[-1]
            r_int = r_int + p * (tau - (lag[-1] if T else lag0))
        rmean = r_int
        crm = r_int @ combos
    # time integrated between event k-1 and event k (for the integrated influence), and
    # after the last event up to tau
    if integ:
        cev = np.minimum(ev_t, tau)
        dts = np.diff(np.concatenate([[lag0], cev]))
        tail = tau - (cev[-1] if K else lag0)
    else:
        dts, tail = np.zeros(K), 0.0

    # ---- infinitesimal jackknife without the (subjects x times) sweep
    # (R survfitaj.c, like the former code here, updates U_i for every subject at every
    # time: O(n T S^2).  Here only the S x S Gram matrices are carried through time, and a
    # subject's influence row is evaluated where it is needed -- at the start and end of
    # each of its rows -- by range compositions of the per-time affine maps; see
    # _ij_gram.)
    std = np.empty((T, A.shape[1]))
    Vs, G = _ij_gram(start, stop, frm, to, sid, moved, ev_t, Hs, P, ws, U0, dts, tail,
                     do_rmean)
    before = ne == 0
    std[before] = (np.sqrt(((U0 @ A) ** 2).sum(axis=0)) if before.any() and U0.any()
                   else 0.0)                                   # the former arithmetic
    if (~before).any():
        std[~before] = _gram_sd(Vs, A)[ne[~before] - 1]
    if do_rmean:
        se_all = _gram_sd(G[None], A)[0]
        se_rmean = se_all[:S]
        cse = se_all[S:]
    # influences of a sum cancel exactly in theory (e.g. alive = 1 - dead with no deaths
    # yet); floating-point remainders below 1e-14 are reported as the zero they are
    std[std < 1e-14] = 0.0
    return AJFit(times, pstate, std[:, :S], n_risk, n_event, n_censor, p0, sp0,
                 pstate @ combos, std[:, S:], rmean, se_rmean, crm, cse, n_trans, nid)


def _gram_sd(Vs, A):
    """``sqrt(diag(A' V A))`` for each Gram matrix ``V`` in ``Vs`` (k, S, S).

    The influence of every subject sums to zero over the states (``U 1 = 0``: p sums to
    a constant), so ``a' V a = (a - c)' V (a - c)`` for any constant ``c``; the ``c``
    among 0 and the entries of ``a`` with the smallest ``|a - c|' |V| |a - c|`` is used
    (the least cancellation: e.g. alive = 1 - dead is computed from the dead column).
    A sum whose influence is identically zero (all states; alive before the first
    death) is then computed from columns that are exactly zero: 0, as the former
    direct sums (below 1e-14). A variance below the rounding error of the Gram
    matrices themselves (see :data:`_ROUNDING`) is 0.
    """
    Vs = np.asarray(Vs, float)
    absV = np.abs(Vs)
    vmax = float(absV.max()) if absV.size else 0.0
    out = np.empty((Vs.shape[0], A.shape[1]))
    for col in range(A.shape[1]):
        a = A[:, col]
        var = scale = None
        for c in np.unique(np.concatenate([[0.0], a])):
            b = a - c
            v = np.einsum("j,kjl,l->k", b, Vs, b)
            s = np.einsum("j,kjl,l->k", np.abs(b), absV, np.abs(b))
            if var is None:
                var, scale = v, s
            else:
                better = s < scale
                var = np.where(better, v, var)
                scale = np.where(better, s, scale)
        # a variance within the rounding error of the Gram matrices is 0: an influence
        # that cancels exactly (alive once everyone has died) leaves in V a remainder of a
        # few ulps of the largest V of the sweep (~1e-17), whose root (~1e-9) would read
        # as a real SE
        floor = _ROUNDING * np.abs(a).sum() ** 2 * vmax
        out[:, col] = np.sqrt(np.where(var > floor, var, 0.0))
    return out


#: the Gram recursion's rounding error, relative to its largest entry: 64 eps (a real
#: variance that small relative to the sweep's largest needs ~1e13 patients)
_ROUNDING = 64 * np.finfo(float).eps


def _pad_mode(B):
    """(n, S, S) offsets by state -> (n, S + 1, S) with a zero row for "not at risk"."""
    return np.concatenate([B, np.zeros((B.shape[0], 1, B.shape[2]))], axis=1)


class _AffineRanges:
    """Compositions of the per-event-time affine maps of one influence row over a range.

    At event time ``k`` (``k = 0 .. K-1``) the influence row ``u`` of a subject and its
    time integral ``v`` (restricted mean) become ``v + dt_k u`` and ``u H_k + b_k[m]``,
    where ``m`` is the state the subject is at risk in (``b_k[m] = c_m (e_m - H_k[m])``,
    ``c_m = p_m(t-) / n_m(t)``) and ``b = 0`` when it is not at risk.  Maps over ranges
    of times are composed in a segment tree (aligned blocks of ``2^l`` times), so a row
    is carried over any range in O(log K) S x S products, without inverses (``H`` can be
    singular).  To bound memory the tree starts at blocks of ``bs`` times; the ends of a
    range inside a block are stepped one time at a time (fewer than ``2 bs`` steps).
    """

    _BUDGET = 2 ** 26  # bytes for the stored levels

    def __init__(self, Hs, Bs, dts, rmean):
        K, S, _ = Hs.shape
        self.Hs, self.dts, self.S, self.rm = Hs, dts, S, rmean
        self.Bs = _pad_mode(Bs)
        per_node = (4 if rmean else 2) * S * S * 8
        L0 = 0
        while (2 * K >> L0) * per_node > self._BUDGET and (K >> L0) > 1:
            L0 += 1
        self.bs = 1 << L0
        M, B = Hs, Bs
        N = dts[:, None, None] * np.eye(S) if rmean else None
        Gm = np.zeros_like(Bs) if rmean else None
        self.levels = []
        lev = 0
        while M.shape[0] > 0:
            if lev >= L0:   # offsets stored with a zero row for "not at risk" (mode S)
                self.levels.append((M, N, _pad_mode(B), _pad_mode(Gm) if rmean else None))
            h = M.shape[0] // 2
            M1, M2, B1, B2 = M[0:2 * h:2], M[1:2 * h:2], B[0:2 * h:2], B[1:2 * h:2]
            if rmean:
                N1, N2, G1, G2 = N[0:2 * h:2], N[1:2 * h:2], Gm[0:2 * h:2], Gm[1:2 * h:2]
                N = N1 + M1 @ N2
                Gm = G1 + B1 @ N2 + G2
            M, B = M1 @ M2, B1 @ M2 + B2
            lev += 1

    def _apply(self, M, N, B, G, u, v, mode, a, x):
        """Rows ``a`` of (u, v) through the maps ``x`` (node indices) in state ``mode``."""
        uo = u[a]
        m = mode[a]
        u[a] = np.einsum("qa,qab->qb", uo, M[x]) + B[x, m]
        if self.rm:
            v[a] += np.einsum("qa,qab->qb", uo, N[x]) + G[x, m]

    def _leaf(self, u, v, mode, a, k):
        uo = u[a]
        u[a] = np.einsum("qa,qab->qb", uo, self.Hs[k]) + self.Bs[k, mode[a]]
        if self.rm:
            v[a] += self.dts[k][:, None] * uo

    def carry(self, u, v, mode, lo, hi):
        """(u, v) carried through times ``lo .. hi-1`` (new arrays).  Rows still zero
        (a subject not yet at risk, no initial influence) depend only on (mode, lo, hi):
        those are computed once per distinct range."""
        u, v = u.copy(), (v.copy() if self.rm else None)
        zero = ~u.any(axis=1)
        if self.rm:
            zero &= ~v.any(axis=1)
        nz = np.flatnonzero(~zero)
        if nz.size:
            uu, vv = u[nz], (v[nz] if self.rm else None)
            self.advance(uu, vv, mode[nz], lo[nz], hi[nz])
            u[nz] = uu
            if self.rm:
                v[nz] = vv
        z = np.flatnonzero(zero & (lo < hi))
        if z.size:
            n1 = np.int64(self.Hs.shape[0] + 1)
            key = (mode[z].astype(np.int64) * n1 + lo[z]) * n1 + hi[z]
            _, first, inv = np.unique(key, return_index=True, return_inverse=True)
            f = z[first]
            uu = np.zeros((f.size, self.S))
            vv = np.zeros((f.size, self.S)) if self.rm else None
            self.advance(uu, vv, mode[f], lo[f], hi[f])
            u[z] = uu[inv]
            if self.rm:
                v[z] = vv[inv]
        return u, v

    def advance(self, u, v, mode, lo, hi):
        """Apply the maps of times ``lo .. hi-1`` to the rows of ``u`` (and ``v``), in
        place; ``mode`` = state at risk in (``S``: not at risk)."""
        pos = lo.copy()
        bs = self.bs
        for _ in range(bs - 1):   # single times up to a block boundary
            a = np.flatnonzero((pos < hi) & (pos % bs != 0))
            if a.size == 0:
                break
            self._leaf(u, v, mode, a, pos[a])
            pos[a] += 1
        cp, ce = pos // bs, hi // bs
        start_cp = cp.copy()
        L = len(self.levels)
        # canonical decomposition: blocks of growing size while the position has the
        # block's bit set, then of shrinking size (each block applied in time order)
        for step, lev in enumerate(list(range(L)) + list(range(L - 1, -1, -1))):
            w = 1 << lev
            fits = cp + w <= ce
            if step < L:
                fits &= ((cp >> lev) & 1) == 1
            a = np.flatnonzero(fits)
            if a.size:
                M, N, B, G = self.levels[lev]
                self._apply(M, N, B, G, u, v, mode, a, cp[a] >> lev)
                cp[a] += w
        pos = np.where(cp > start_cp, cp * bs, pos)
        while True:              # single times after the last whole block
            a = np.flatnonzero(pos < hi)
            if a.size == 0:
                break
            self._leaf(u, v, mode, a, pos[a])
            pos[a] += 1


def _sum_rows(n0, n1, parts):
    """(n0, n1, S) array of the sums of the row vectors ``vals`` at ``[i0, i1]`` over the
    ``parts`` ``[(i0, i1, vals), ...]`` (np.add.at by bincount)."""
    i0 = np.concatenate([p[0] for p in parts]).astype(np.int64)
    i1 = np.concatenate([p[1] for p in parts])
    vals = np.concatenate([p[2] for p in parts])
    flat = i0 * n1 + i1
    return np.stack([np.bincount(flat, vals[:, c], minlength=n0 * n1).reshape(n0, n1)
                     for c in range(vals.shape[1])], axis=2)


def _ij_gram(start, stop, frm, to, sid, moved, ev_t, Hs, P, ws, U0, dts, tail, rmean):
    """Gram matrices ``V_k = sum_i U_i' U_i`` of the IJ influence after each event time
    (K, S, S), and ``G = sum_i I_i' I_i`` of the integrated influence to ``tau``.

    Per event time ``U <- U H + D`` with ``D_i = c_j (e_j - H_j)`` for a subject at risk
    in state ``j`` (plus ``c_j (e_k - e_j)`` when it moves to ``k``) and 0 otherwise, so
    ``V <- H'VH + H'X + X'H + Y`` with ``X = sum_i U_i' D_i = sum_j W_j' b_j + (movers)``,
    ``W_j`` = sum of the rows at risk in ``j`` (carried by the same map, plus the rows
    entering / minus the rows leaving), ``Y = sum_i D_i' D_i``.  The integrated
    influence adds ``C = sum_i I_i' U_i`` and the per-state sums of ``I``.  Each row's
    ``U_i`` at its entry, its last time and its exit comes from _AffineRanges.
    """
    K, S = Hs.shape[0], Hs.shape[1]
    V0 = U0.T @ U0
    if K == 0:
        return np.zeros((0, S, S)), tail * tail * V0
    eye = np.eye(S)
    with np.errstate(divide="ignore", invalid="ignore"):
        c = np.where(ws > 0, P[:-1] / ws, 0.0)                 # (K, S) p_j(t-) / n_j
    Bs = c[:, :, None] * (eye - Hs)                              # b_k[j] = c_j (e_j - H_j)
    # rows at risk at some event time: times a .. b (start < t <= stop)
    a_r = np.searchsorted(ev_t, start, side="right")
    b_r = np.searchsorted(ev_t, stop, side="right") - 1
    eff = np.flatnonzero(a_r <= b_r)
    eff = eff[np.lexsort((start[eff], sid[eff]))]
    es = sid[eff]
    same = es[1:] == es[:-1]
    if (same & (a_r[eff][1:] <= b_r[eff][:-1])).any():
        bad = es[1:][same & (a_r[eff][1:] <= b_r[eff][:-1])][0]
        raise InputError("overlapping rows of one subject (both at risk at the same "
                         f"transition time; subject code {bad}): the IJ variance is per "
                         "subject with one row at risk at a time (check_intervals reports "
                         "overlaps as errors)")
    idx = np.arange(eff.size)
    rank = idx - np.maximum.accumulate(np.where(np.r_[True, ~same], idx, 0))
    tree = _AffineRanges(Hs, Bs, dts, rmean)
    # by (time, state): the rows entering before time k (U_i, I_i), the rows leaving
    # after time k; by (time, column): the movers' c_from U_i' (e_to - e_from) (and I_i)
    ein, eout, xm, ein_v, eout_v, zm, mov = [], [], [], [], [], [], []
    empty = np.zeros((0, S))
    Ucur = U0.copy()
    Icur = np.zeros_like(U0) if rmean else None
    pos = np.zeros(U0.shape[0], np.int64)
    order = np.argsort(rank, kind="stable")
    bounds = np.searchsorted(rank[order], np.arange(rank.max() + 2 if rank.size else 1))
    for q in range(bounds.size - 1):   # the q-th row of each subject (one subject, one row)
        r = eff[order[bounds[q]:bounds[q + 1]]]
        i, j, a, b = sid[r], frm[r], a_r[r], b_r[r]
        u = Ucur[i]
        v = Icur[i] if rmean else None
        u, v = tree.carry(u, v, np.full(r.size, S), pos[i], a)  # not at risk before it
        ein.append((a, j, u))
        if rmean:
            ein_v.append((a, j, v))
        u, v = tree.carry(u, v, j, a, b)                       # at risk in j up to b-1
        up = np.einsum("qa,qab->qb", u, Hs[b]) + Bs[b, j]
        if rmean:
            vp = v + dts[b][:, None] * u
        mv = np.flatnonzero(moved[r])
        if mv.size:                                            # the row's transition
            bm, jm, km = b[mv], j[mv], to[r][mv] - 1
            cm = c[bm, jm]
            up[mv, km] += cm
            up[mv, jm] -= cm
            mov.append((bm, jm * S + km))
            val = cm[:, None] * u[mv]
            xm += [(bm, km, val), (bm, jm, -val)]              # columns 'to', 'from'
            if rmean:
                val = cm[:, None] * vp[mv]
                zm += [(bm, km, val), (bm, jm, -val)]
        eout.append((b, j, up))
        Ucur[i] = up
        if rmean:
            eout_v.append((b, j, vp))
            Icur[i] = vp
        pos[i] = b + 1
    none = [(np.zeros(0, np.int64), np.zeros(0, np.int64), empty)]
    Ein, Eout = _sum_rows(K + 1, S, ein or none), _sum_rows(K, S, eout or none)
    Xm = _sum_rows(K, S, xm or none).transpose(0, 2, 1)
    cnt = np.zeros((K, S * S))          # movers at risk, by time, from, to
    if mov:
        bm, jk = (np.concatenate(x) for x in zip(*mov))
        cnt = np.bincount(bm * S * S + jk, minlength=K * S * S).astype(float)
    cnt = cnt.reshape(K, S, S)
    if rmean:
        EinV, EoutV = _sum_rows(K + 1, S, ein_v or none), _sum_rows(K, S, eout_v or none)
        Zm = _sum_rows(K, S, zm or none).transpose(0, 2, 1)
    # D_i' D_i summed: n_j b_j' b_j, movers (b_j + c_j (e_k - e_j)) instead of b_j
    # (ws = rows at risk in each state at each event time, R's n.risk)
    Y = np.einsum("kj,kja,kjb->kab", ws, Bs, Bs)
    F = ws[:, :, None] * Bs
    for j_, k_ in zip(*np.nonzero(cnt.sum(axis=0))):
        d = cnt[:, j_, k_]
        e = eye[k_] - eye[j_]
        dl = Bs[:, j_] + c[:, j_, None] * e
        Y += d[:, None, None] * (dl[:, :, None] * dl[:, None, :]
                                 - Bs[:, j_, :, None] * Bs[:, j_, None, :])
        F[:, j_] += (d * c[:, j_])[:, None] * e
    DW = F - Eout
    DW += Ein[1:]
    W = Ein[0].copy()
    V = V0
    Vs = np.empty((K, S, S))
    if rmean:
        DWV = EinV[1:] - EoutV
        WV = EinV[0].copy()
        C = np.zeros((S, S))
        G = np.zeros((S, S))
    for k in range(K):
        H = Hs[k]
        if rmean:
            d = dts[k]
            if d:
                G = G + d * (C + C.T) + (d * d) * V
                C = C + d * V
                WV = WV + d * W
            C = C @ H + WV.T @ Bs[k] + Zm[k]
            WV = WV + DWV[k]
        HX = H.T @ (W.T @ Bs[k] + Xm[k])
        V = H.T @ V @ H + HX + HX.T + Y[k]
        W = W @ H + DW[k]
        Vs[k] = V
    if not rmean:
        return Vs, None
    if tail:
        G = G + tail * (C + C.T) + (tail * tail) * V
    return Vs, G


def _confint(est, se, conf_type, conf_level):
    """R ``survfit_confint(p, se, logse = FALSE)``; a zero estimate gets [0, 0]."""
    est = np.asarray(est, float)
    se = np.asarray(se, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        logse = np.where(se == 0, 0.0, se / est)
    lo, hi = core.confint(est, logse, conf_type, conf_level)
    degenerate = ((est == 0) | (est == 1)) & (se == 0)
    lo = np.where(degenerate, est, lo)
    hi = np.where(degenerate, est, hi)
    return lo, hi


@dataclass(frozen=True, eq=False)
class StateOccupancyResult(Result):
    """Aalen–Johansen state occupancy probabilities by group (frozen).

    Attributes
    ----------
    table : DataFrame
        The shared curve shape ``[group, cause, time, estimate, std_err, lower, upper,
        n_risk, n_event, n_censor]``; ``cause`` is the 1-based code of the state in
        ``states`` (``estimate`` = probability of being in that state at ``time``;
        ``n_risk`` = rows at risk in that state just before ``time``; ``n_event`` =
        transitions into it at ``time``; ``n_censor`` = censorings at ``time``, all
        states).
    occupancy : DataFrame
        The same with a ``state`` name column instead of ``cause``.
    sums : DataFrame
        ``[group, name, time, estimate, std_err, lower, upper]`` for each requested sum
        of states (e.g. CLFS).
    rmean : DataFrame or None
        ``[group, state, tau, rmean, se, lower, upper]``: restricted mean time in
        each state (and each sum of states) to ``tau``, with a Wald CI, and ``note``.
    transitions : DataFrame
        ``[group, from_state, to_state, n]`` -- observed transitions.
    states : tuple
        State order (``cause`` codes 1..S).
    groups : tuple
    conf_type, conf_level : str, float
    curve : str
        ``"state occupancy"``.
    """

    table: pd.DataFrame
    occupancy: pd.DataFrame
    sums: pd.DataFrame
    rmean: pd.DataFrame | None
    transitions: pd.DataFrame
    states: tuple
    groups: tuple
    conf_type: str
    conf_level: float
    left_truncated: bool
    p0: pd.DataFrame
    n_subjects: dict = field(default_factory=dict)
    curve: str = "state occupancy"
    _fits: dict = field(default_factory=dict, repr=False)

    kind = "state_occupancy"

    @property
    def title(self) -> str:
        return "Aalen–Johansen state occupancy probabilities"

    @property
    def choices(self) -> dict:
        return {"estimator": "Aalen–Johansen (R survfit, multi-state)",
                "variance": "infinitesimal jackknife, per subject",
                "conf_type": self.conf_type, "conf_level": self.conf_level,
                "left truncation": "entry times" if self.left_truncated else "none",
                "states": list(self.states), "groups": list(self.groups)}

    @property
    def tables(self) -> dict:
        t = {"transitions": self.transitions}
        if self.rmean is not None:
            t["restricted mean time in state"] = self.rmean
        t["occupancy"] = self.occupancy
        if len(self.sums):
            t["sums of states"] = self.sums
        return t

    @property
    def codes(self) -> dict:
        """``{cause code: name}``: states 1..S, then the sums of states."""
        names = list(self.states) + list(self._fits["__sum_names__"])
        return {i + 1: n for i, n in enumerate(names)}

    def at(self, times, extend=False) -> pd.DataFrame:
        """The shared ``.at()`` shape ``[group, cause, time, estimate, std_err, lower, upper,
        n_risk, note]``; ``cause`` = code of the state or sum (see :attr:`codes`).
        :meth:`state_at` gives the same with state names."""
        a = self.state_at(times, extend=extend)
        inv = {v: k for k, v in self.codes.items()}
        a.insert(1, "cause", pd.array(a["state"].map(inv).to_numpy(), dtype="Int64"))
        return a.drop(columns="state")

    def state_at(self, times, extend=False) -> pd.DataFrame:
        """Occupancy probabilities at chosen times, every state and sum of states.

        Parameters
        ----------
        times : sequence of float
        extend : bool
            ``False``: times after a group's last observation get NaN with
            ``note = "after last follow-up"``; ``True`` carries the last value.

        Returns
        -------
        DataFrame ``[group, state, time, estimate, std_err, lower, upper, n_risk,
        note]`` (``n_risk``: subjects at risk in any state at ``time``; the rows of a
        sum of states follow the states).
        """
        extend = check_bool("extend", extend)
        t = np.sort(np.atleast_1d(np.asarray(times, float)))
        if not np.isfinite(t).all():
            raise InputError("times must be finite numbers")
        rows = []
        for g in self.groups:
            f = self._fits[g]
            names = list(self.states) + list(self._fits["__sum_names__"])
            est = np.hstack([f.pstate, f.combo_estimate])
            se = np.hstack([f.std_err, f.combo_std_err])
            p0 = np.concatenate([f.p0, f.p0 @ self._fits["__combos__"]])
            sp0 = np.zeros_like(p0)
            idx = np.searchsorted(f.time, t, side="right") - 1
            nr_tot = f.n_risk.sum(axis=1)
            i2 = np.searchsorted(f.time, t, side="left")
            n_risk = np.concatenate([nr_tot, [0.0]])[i2]
            for k, name in enumerate(names):
                e = np.where(idx >= 0, est[np.maximum(idx, 0), k], p0[k])
                s = np.where(idx >= 0, se[np.maximum(idx, 0), k], sp0[k])
                lo, hi = _confint(e, s, self.conf_type, self.conf_level)
                past = t > f.time.max()
                note = np.where(past & ~extend, "after last follow-up", "")
                if not extend:
                    e, s, lo, hi = (np.where(past, np.nan, v) for v in (e, s, lo, hi))
                note = _interval_notes(note, e, s, lo, hi, zero_note=NOTE_SE_ZERO_STATE)
                for i in range(t.size):
                    rows.append((g, name, t[i], e[i], s[i], lo[i], hi[i], n_risk[i], note[i]))
        return pd.DataFrame(rows, columns=["group", "state", "time", "estimate", "std_err",
                                           "lower", "upper", "n_risk", "note"])

    def risk_table(self, times) -> pd.DataFrame:
        """Subjects at risk in each state at chosen times.

        Returns
        -------
        DataFrame ``[group, time, state, n_risk]`` (rows at risk in the state just
        before ``time``, i.e. the first fit row at or after ``time``; 0 after the end).
        """
        t = np.sort(np.atleast_1d(np.asarray(times, float)))
        rows = []
        for g in self.groups:
            f = self._fits[g]
            i2 = np.searchsorted(f.time, t, side="left")
            nr = np.vstack([f.n_risk, np.zeros((1, len(self.states)))])[i2]
            for i, tt in enumerate(t):
                for k, s in enumerate(self.states):
                    rows.append((g, tt, s, nr[i, k]))
        return pd.DataFrame(rows, columns=["group", "time", "state", "n_risk"])

    def median(self) -> pd.DataFrame:
        """Not defined for state occupancy: returns one explanatory row per group."""
        return pd.DataFrame({"group": list(self.groups), "cause": pd.array(
            [pd.NA] * len(self.groups), dtype="Int64"), "n": [self.n_subjects[g] for g in
                                                             self.groups],
            "events": np.nan, "median": np.nan, "lower": np.nan, "upper": np.nan,
            "note": "no median for state occupancy probabilities (not a survival curve)"})


def state_occupancy(data, *, id="id", start="tstart", stop="tstop", from_state="from_state",
                    to_state="to_state", states=None, group=None, order=None,
                    sums=None, tau=None, conf_type="log", conf_level=0.95
                    ) -> StateOccupancyResult:
    """Aalen–Johansen state occupancy probabilities by group (R multi-state ``survfit``).

    Parameters
    ----------
    data : DataFrame or TransitionsData
        One row per (start, stop] interval of a subject; a
        :class:`~aplcohort.multistate.TransitionsData` brings its ``patient_id`` and
        the model's state order.
    id, start, stop, from_state, to_state : str
        Column names; ``to_state`` is the state entered at ``stop`` (missing or
        ``"censor"`` = no transition).
    states : sequence of str, optional
        State order (default: order of first appearance, starting states first).
    group : str, optional
        Grouping column (constant within a subject).
    order : sequence, optional
        Group order.
    sums : dict, optional
        ``{name: [states]}``: sums of states with IJ SE, e.g.
        ``{"CLFS": ["CR2", "CR3"]}``.
    tau : float, optional
        Horizon for the restricted mean time in each state.
    conf_type : {"log", "log-log", "plain"}
        CI transform (R's default ``"log"``).
    conf_level : float

    Returns
    -------
    StateOccupancyResult

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"id": [1, 2, 3, 3], "tstart": [0, 0, 0, 2],
    ...                   "tstop": [4, 3, 2, 5], "from_state": ["CR", "CR", "CR", "relapse"],
    ...                   "to_state": ["death", None, "relapse", "death"]})
    >>> r = state_occupancy(d)
    >>> r.state_at([4.5])[["state", "estimate"]].round(3).values.tolist()
    [['CR', 0.0], ['relapse', 0.333], ['death', 0.667]]

    Validated against: R survival 3.5-3 ``survfit(Surv(tstart, tstop, state) ~ g,
    id = id, istate = istate)`` (mgus2, myeloid, left truncation, Min 2022 replica) to
    1e-6; see the module docstring.
    """
    from .transitions import TransitionsData, check_intervals  # local: avoid a cycle

    if isinstance(data, TransitionsData):  # rows built from dates: its ids and states
        states = list(data.model.state_names) if states is None else states
        id = "patient_id"
        data = data.data
    if conf_type not in _CONF_TYPES:
        raise InputError(f"conf_type must be one of {_CONF_TYPES}, got {conf_type!r}")
    if not (0 < conf_level < 1):
        raise InputError(f"conf_level must be in (0, 1), got {conf_level}")
    cols = [id, start, stop, from_state, to_state] + ([group] if group else [])
    missing = [c for c in cols if c not in data.columns]
    if missing:
        raise InputError(f"columns {missing} not found; available: {list(data.columns)}")
    d = data[cols].copy()
    d[to_state] = d[to_state].where(d[to_state].notna(), "censor").astype(str)
    report = check_intervals(d, id=id, start=start, stop=stop, from_state=from_state,
                             to_state=to_state)
    report.raise_if_errors()
    if states is None:
        seen = list(pd.unique(d[from_state].astype(str)))
        for s in pd.unique(d[to_state]):
            if s != "censor" and s not in seen:
                seen.append(s)
        states = seen
    states = [str(s) for s in states]
    unknown = (set(d[from_state].astype(str)) | set(d[to_state]) - {"censor"}) - set(states)
    if unknown:
        raise InputError(f"states {sorted(unknown)} occur in the data but not in states="
                         f"{states}")
    code = {s: i for i, s in enumerate(states)}
    sums = dict(sums or {})
    combos = np.zeros((len(states), len(sums)))
    for k, (name, members) in enumerate(sums.items()):
        bad = [m for m in members if m not in code]
        if bad:
            raise InputError(f"sum {name!r}: states {bad} are not in the model {states}")
        combos[[code[m] for m in members], k] = 1.0
    if tau is not None:
        tau = float(tau)
        if not np.isfinite(tau) or tau <= 0:
            raise InputError(f"tau must be a positive finite number (the horizon), got {tau}")
    if group is None:
        gvals = pd.Series(["all"] * len(d), index=d.index)
        groups = ["all"]
    else:
        if d[group].isna().any():
            raise InputError(f"group column {group!r} has missing values (rows "
                             f"{d.index[d[group].isna()][:10].tolist()}); drop or recode them")
        per_id = d.groupby(id)[group].nunique()
        if (per_id > 1).any():
            raise InputError(f"group column {group!r} changes within subjects "
                             f"{per_id.index[per_id > 1][:10].tolist()}; a group must be fixed "
                             "at time zero")
        gvals = d[group]
        present = list(pd.unique(gvals))
        groups = list(order) if order is not None else sorted(present, key=str)
        extra = [g for g in present if g not in groups]
        if extra:
            raise InputError(f"groups {extra} are not in order={groups}")
        if order is not None:
            from ..stats.km import check_order_known
            check_order_known(groups, present)
    if not len(d):   # (an analysis set emptied by where:, ...): no group, no curve
        raise InputError("no rows: no patient in the analysis set, so no state occupation "
                         "probabilities to estimate")
    fits = {}
    tabs, occ, sum_rows, rm_rows, tr_rows, p0_rows = [], [], [], [], [], []
    n_subj = {}
    z = core.z_value(conf_level)
    for g in groups:
        m = (gvals == g).to_numpy()
        if not m.any():
            raise InputError(f"group {g!r} has no rows")
        sub = d[m]
        f = aalen_johansen(sub[start].to_numpy(float), sub[stop].to_numpy(float),
                           sub[from_state].astype(str).map(code).to_numpy(),
                           np.where(sub[to_state] == "censor", 0,
                                    sub[to_state].map(lambda s: code.get(s, -1) + 1)),
                           sub[id].to_numpy(), len(states), combos=combos, tau=tau)
        fits[g] = f
        n_subj[g] = f.n_subjects
        T = f.time.size
        S = len(states)
        # one block per group, states one after the other (state-major, as the former
        # one-frame-per-state loop; the CI is elementwise, so computed on all at once)
        est, se = f.pstate.T.ravel(), f.std_err.T.ravel()
        lo, hi = _confint(est, se, conf_type, conf_level)
        cols_ = {"group": [g] * (S * T),
                 "cause": pd.array(np.repeat(np.arange(1, S + 1, dtype=np.int64), T),
                                   dtype="Int64"),
                 "time": np.tile(f.time, S), "estimate": est, "std_err": se,
                 "lower": lo, "upper": hi, "n_risk": f.n_risk.T.ravel(),
                 "n_event": f.n_event.T.ravel(), "n_censor": np.tile(f.n_censor, S)}
        tabs.append(pd.DataFrame(cols_))
        cols_["state"] = [s for s in states for _ in range(T)]
        occ.append(pd.DataFrame({c: cols_[c] for c in (
            "group", "state", "time", "estimate", "std_err", "lower", "upper", "n_risk",
            "n_event", "n_censor")}))
        p0_rows += [(g, s, f.p0[k], f.sp0[k]) for k, s in enumerate(states)]
        if len(sums):
            M = len(sums)
            est, se = f.combo_estimate.T.ravel(), f.combo_std_err.T.ravel()
            lo, hi = _confint(est, se, conf_type, conf_level)
            sum_rows.append(pd.DataFrame({"group": [g] * (M * T),
                                          "name": [nm for nm in sums for _ in range(T)],
                                          "time": np.tile(f.time, M), "estimate": est,
                                          "std_err": se, "lower": lo, "upper": hi}))
        if tau is not None:
            note = ("" if tau <= f.time.max() else
                    f"tau beyond the last follow-up time ({f.time.max():g}): the last "
                    "probabilities are carried forward, as R does")
            for k, s in enumerate(states):
                rm_rows.append((g, s, tau, f.rmean[k], f.se_rmean[k],
                                f.rmean[k] - z * f.se_rmean[k], f.rmean[k] + z * f.se_rmean[k],
                                note))
            for k, name in enumerate(sums):
                rm_rows.append((g, name, tau, f.combo_rmean[k], f.combo_se_rmean[k],
                                f.combo_rmean[k] - z * f.combo_se_rmean[k],
                                f.combo_rmean[k] + z * f.combo_se_rmean[k], note))
        for a in range(len(states)):
            for b in range(len(states)):
                if f.n_transitions[a, b] > 0:
                    tr_rows.append((g, states[a], states[b], int(f.n_transitions[a, b])))
        del T
    # built in their final column order and dtypes ("cause" Int64)
    table = tabs[0] if len(tabs) == 1 else pd.concat(tabs, ignore_index=True)
    occupancy = occ[0] if len(occ) == 1 else pd.concat(occ, ignore_index=True)
    sums_df = (pd.concat(sum_rows, ignore_index=True) if sum_rows else
               pd.DataFrame(columns=["group", "name", "time", "estimate", "std_err", "lower",
                                     "upper"]))
    rmean = (pd.DataFrame(rm_rows, columns=["group", "state", "tau", "rmean", "se", "lower",
                                            "upper", "note"]) if tau is not None else None)
    transitions = pd.DataFrame(tr_rows, columns=["group", "from_state", "to_state", "n"])
    p0 = pd.DataFrame(p0_rows, columns=["group", "state", "p0", "se"])
    fits["__combos__"] = combos
    fits["__sum_names__"] = tuple(sums)
    # left truncation: some subject enters the risk set after time 0
    codes = pd.factorize(d[id])[0]
    starts_at_zero = np.zeros(codes.max() + 1 if codes.size else 0, dtype=bool)
    starts_at_zero[codes[~(d[start].to_numpy(dtype=float) > 0)]] = True
    lt = bool((~starts_at_zero).any())   # some subject's earliest start is after 0
    return StateOccupancyResult(table, occupancy, sums_df, rmean, transitions, tuple(states),
                                tuple(groups), conf_type, conf_level, lt, p0, n_subj,
                                "state occupancy", fits)
