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
  at risk in state ``j``; ``se = sqrt(sum_i U_i^2)``;
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
    U = np.zeros((nid, S))
    if p0 is None:
        n0 = at0.sum()
        p0 = np.bincount(frm[at0], minlength=S) / n0
        if (p0 < 1).all():
            U[sid[at0]] = (np.eye(S)[frm[at0]] - p0) / n0
    else:
        p0 = np.asarray(p0, float)
    sp0 = np.sqrt((U ** 2).sum(axis=0))

    A = np.hstack([np.eye(S), combos])  # states, then sums of states
    p = p0.copy()
    pstate = np.empty((T, S))
    std = np.empty((T, A.shape[1]))
    do_rmean = tau is not None
    if do_rmean:
        lag = min(0.0, times[0]) if T else 0.0
        I_int = np.zeros((nid, S))
        r_int = np.zeros(S)
    cur_std = np.sqrt(((U @ A) ** 2).sum(axis=0))
    for it in range(T):
        t = times[it]
        if do_rmean and lag < tau:
            dt = min(t, tau) - lag
            I_int += U * dt
            r_int += p * dt
            lag = min(t, tau)
        ev = moved & (stop == t)
        if ev.any():
            ws = n_risk[it]
            H = np.zeros((S, S))
            np.add.at(H, (frm[ev], to[ev] - 1), 1.0)
            has = ws > 0
            tot = H.sum(axis=1)
            H[has] = H[has] / ws[has, None]
            diag = np.where(has, 1.0 - np.divide(tot, ws, out=np.zeros(S), where=has), 1.0)
            H[np.arange(S), np.arange(S)] = diag
            U = U @ H
            risk = (start < t) & (stop >= t)
            r_from = frm[risk]
            dstate = np.where(ev[risk], to[risk] - 1, r_from)
            coef = p[r_from] / ws[r_from]
            upd = -H[r_from] * coef[:, None]
            upd[np.arange(r_from.size), dstate] += coef
            np.add.at(U, sid[risk], upd)
            p = p @ H
            cur_std = np.sqrt(((U @ A) ** 2).sum(axis=0))
        pstate[it] = p
        std[it] = cur_std
    rmean = se_rmean = crm = cse = None
    if do_rmean:
        if lag < tau:
            dt = tau - lag
            I_int += U * dt
            r_int += p * dt
        rmean = r_int
        se_all = np.sqrt(((I_int @ A) ** 2).sum(axis=0))
        se_rmean = se_all[:S]
        crm = r_int @ combos
        cse = se_all[S:]
    # influences of a sum cancel exactly in theory (e.g. alive = 1 - dead with no deaths
    # yet); floating-point remainders below 1e-14 are reported as the zero they are
    std[std < 1e-14] = 0.0
    return AJFit(times, pstate, std[:, :S], n_risk, n_event, n_censor, p0, sp0,
                 pstate @ combos, std[:, S:], rmean, se_rmean, crm, cse, n_trans, nid)


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
