"""Multi-state data: (id, start, stop, from, to) rows from dates, and their checks.

:func:`build_transitions` turns a cohort (one row per patient, dates) into
counting-process multi-state rows for a :class:`~aplcohort.multistate.StateModel`;
:func:`check_intervals` is R ``survcheck`` for any such rows (overlaps, gaps,
jumps, entry >= exit, transitions not in the model, rows after an absorbing state);
both return every problem in one report naming the patient and the dates.

Rules of :func:`build_transitions`
----------------------------------
* Time zero is the entry into ``time_zero`` (a state of the model, default the
  first).  Patients who never enter it (condition not met or date missing) are
  excluded, each with the reason.  Time = days since time zero, divided by the unit
  (months 30.4375 days, years 365.25 days, as the endpoints).
* States not reachable from the time-zero state (earlier history) are out of scope.
  A reachable state dated before time zero is an error.
* End of follow-up as the endpoints (docs/endpoints.md): the later of
  ``last_followup_date`` and ``death_date``, capped at the cut-off
  (``data_cutoff_date`` or ``cutoff=``); transitions dated after the cut-off are
  ignored (listed as notes); a transition dated after the last follow-up (before
  the cut-off) is an error.
* A state whose condition holds but whose date is missing is an error; a date given
  while the condition does not hold is ignored with a warning.
* Transitions are ordered by date, then by the model's state order.  A transition
  not allowed by the model, or one after an absorbing state, is an error.
* **Same-day rule** (R's survival vignette moves the earlier of two same-day events
  slightly back; we do it deterministically): when ``m`` transitions of one patient
  share day ``d`` they keep the model order and the ``j``-th (``j = 1..m``) is
  placed at ``d - (m - j) / m`` days (two on one day: ``d - 0.5`` then ``d``), so
  every state entered is occupied for a positive time and every transition is
  counted (e.g. second relapse and death on one day: relapse2 at ``d - 0.5``,
  death at ``d``, as CIR counts the relapse).  Transitions dated on the time-zero
  day cannot move before time zero: the ``j``-th of ``m`` is placed at
  ``j / (m + 1)`` days (death on the day of relapse: 0.5 days).  Every moved
  transition is listed in the report as a note.
* A state entered on the last day of follow-up ends the patient's rows there (no
  zero-length censored row).
* A patient with no transition whose follow-up ends on the time-zero day (alive, last
  follow-up on the time-zero date, or time zero on the cut-off date) has no (0, 0]
  row to contribute (R ``survcheck``/``survfit`` reject entry >= exit): the patient
  is listed in ``excluded`` with the reason ("no follow-up after time zero (last
  follow-up on the time-zero date)"), never dropped silently.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .._results import Result
from ..errors import InputError
from .model import StateModel, relapsed_leukemia_model

__all__ = ["build_transitions", "TransitionsData", "check_intervals", "CheckReport",
           "TransitionCheckError", "add_from_state"]

_PROBLEM_COLUMNS = ["severity", "rule", "patient_id", "row", "start", "stop", "from_state",
                    "to_state", "detail"]
_EPOCH = pd.Timestamp("1970-01-01")
#: why :func:`build_transitions` leaves out a patient alive, with no transition, whose
#: last follow-up is the time-zero date (no (0, 0] interval exists)
ZERO_FOLLOWUP_REASON = ("no follow-up after time zero (last follow-up on the time-zero "
                        "date)")


class TransitionCheckError(InputError):
    """Multi-state rows broke one or more rules; ``.report`` holds every problem."""

    def __init__(self, report: "CheckReport"):
        super().__init__(report.text())
        self.report = report


@dataclass(frozen=True, eq=False)
class CheckReport(Result):
    """Every problem found in multi-state rows (R ``survcheck``), in one table.

    Attributes
    ----------
    problems : DataFrame
        ``[severity, rule, patient_id, row, start, stop, from_state, to_state, detail]``;
        severity ``"error"`` (the data cannot be analysed), ``"warning"`` (analysable,
        look at it) or ``"note"`` (a documented rule was applied).
    transitions : DataFrame
        ``[from_state, to_state, n]`` counts of observed transitions (+ ``censor``).
    """

    problems: pd.DataFrame
    transitions: pd.DataFrame

    kind = "multistate_check"

    @property
    def title(self) -> str:
        return "Multi-state data check"

    @property
    def tables(self) -> dict:
        return {"problems": self.problems, "transitions": self.transitions}

    @property
    def errors(self) -> pd.DataFrame:
        return self.problems[self.problems["severity"] == "error"]

    @property
    def ok(self) -> bool:
        return len(self.errors) == 0

    def text(self) -> str:
        """The readable report: one line per problem, errors first."""
        p = self.problems
        if not len(p):
            return "multi-state data: no problems"
        order = {"error": 0, "warning": 1, "note": 2}
        p = p.assign(_o=p["severity"].map(order)).sort_values(["_o", "patient_id"],
                                                              kind="stable")
        n_err = int((p["severity"] == "error").sum())
        lines = [f"multi-state data: {n_err} error(s), "
                 f"{int((p['severity'] == 'warning').sum())} warning(s), "
                 f"{int((p['severity'] == 'note').sum())} note(s)"]
        for r in p.itertuples():
            lines.append(f"  [{r.severity}] {r.rule}: patient {r.patient_id}: {r.detail}")
        return "\n".join(lines)

    def raise_if_errors(self):
        """Raise :class:`TransitionCheckError` (an InputError) listing every problem."""
        if not self.ok:
            raise TransitionCheckError(self)


def _fmt(x):
    if isinstance(x, (float, np.floating)) and float(x).is_integer():
        return str(int(x))
    return f"{x:g}" if isinstance(x, (float, np.floating)) else str(x)


def add_from_state(data, *, id="id", start="tstart", to_state="to_state", initial="entry",
                   column="from_state") -> pd.DataFrame:
    """Add the state each row starts in: ``initial``, then the previous row's ``to_state``.

    Parameters
    ----------
    data : DataFrame
    id, start, to_state : str
        ``to_state`` missing or ``"censor"`` = no transition at the row's stop.
    initial : str or str column name
        Initial state of every subject, or the name of a column giving it (R
        ``istate`` of the first row).
    column : str
        Name of the new column.

    Returns
    -------
    DataFrame
        A copy with ``column``, in the original row order.

    Examples
    --------
    >>> d = pd.DataFrame({"id": [1, 1], "tstart": [0, 3], "to_state": ["pcm", "death"]})
    >>> add_from_state(d)["from_state"].tolist()
    ['entry', 'pcm']
    """
    d = data.copy()
    o = d.sort_values([id, start], kind="stable")
    to = o[to_state].where(o[to_state].notna() & (o[to_state] != "censor"))
    init = o[initial] if initial in o.columns else pd.Series(initial, index=o.index)
    first = ~o[id].duplicated()
    prev = to.groupby(o[id]).shift(1)
    state = prev.where(~first, init)
    state = state.groupby(o[id]).ffill()
    d[column] = state.reindex(d.index)
    return d


def _no_problems(data, id, start, stop, from_state, to_state, model):
    """The transition counts of :func:`check_intervals` when it would find no problem
    at all, else None (then the full check runs and reports).

    Every rule of :func:`check_intervals` is evaluated on numpy arrays; anything
    unusual (non-numeric or non-finite times, non-string states, ids that cannot be
    sorted) returns None rather than being decided here.
    """
    cols = [data[c] for c in (id, start, stop, from_state, to_state)]
    idv, stv, spv, frv, tov = cols
    if not (pd.api.types.is_float_dtype(stv) or pd.api.types.is_integer_dtype(stv)) or not (
            pd.api.types.is_float_dtype(spv) or pd.api.types.is_integer_dtype(spv)):
        return None
    if isinstance(stv.dtype, pd.api.extensions.ExtensionDtype) or isinstance(
            spv.dtype, pd.api.extensions.ExtensionDtype):
        return None
    st = stv.to_numpy(dtype=float)
    sp = spv.to_numpy(dtype=float)
    if not (np.isfinite(st).all() and np.isfinite(sp).all()) or (st >= sp).any():
        return None
    if idv.isna().any():
        return None
    fr = frv.to_numpy(dtype=object)
    if not all(type(x) is str for x in fr):
        return None
    to_na = tov.isna().to_numpy()
    to = np.array(["censor" if na else str(x) for x, na in zip(tov.to_numpy(dtype=object), to_na)],
                  dtype=object)
    try:
        codes = pd.factorize(idv, sort=True)[0]
    except TypeError:   # ids of mixed types: let pandas decide in the full check
        return None
    o = np.lexsort((sp, st, codes))    # as sort_values([id, start, stop]): stable
    c, st, sp, fr, to = codes[o], st[o], sp[o], fr[o], to[o]
    same = c[1:] == c[:-1]
    prev_end = np.where(to[:-1] != "censor", to[:-1], fr[:-1])
    if (same & ((st[1:] != sp[:-1]) | (fr[1:] != prev_end))).any():
        return None      # overlap, duplicate, gap, teleport or jump
    if (to == fr).any():
        return None      # "transition" to the same state
    if model is not None:
        names = set(model.state_names)
        absorbing = set(model.absorbing_states)
        for a, b in zip(fr, to):
            if a not in names or a in absorbing or (b != "censor" and (
                    b not in names or not model.allowed(a, b))):
                return None
    if not len(o):
        return None
    return _pair_counts(fr.tolist(), to.tolist(), frv.dtype,
                        pd.Series(["censor"]).astype(str).dtype)


def _pair_counts(fr, to, fr_dtype, to_dtype) -> pd.DataFrame:
    """``[from_state, to_state, n]``: rows per (from, to) pair of strings, sorted, as
    ``groupby([from, to]).size().reset_index()`` gives them (with the columns' dtypes)."""
    from collections import Counter

    n = Counter(zip(fr, to))
    tr = pd.DataFrame([(a, b, k) for (a, b), k in sorted(n.items())],
                      columns=["from_state", "to_state", "n"])
    for c, dt in (("from_state", fr_dtype), ("to_state", to_dtype)):
        if tr[c].dtype != dt:   # groupby keeps the key column's dtype
            tr[c] = tr[c].astype(dt)
    return tr


def check_intervals(data, *, id="id", start="tstart", stop="tstop", from_state="from_state",
                    to_state="to_state", model: StateModel | None = None) -> CheckReport:
    """Check multi-state (start, stop] rows as R ``survcheck`` does; report every problem.

    Errors: missing values, ``start >= stop``, overlapping (or duplicated) rows of a
    subject, a row starting in a state other than the one the previous row ended in
    (R's "teleport" for contiguous rows, "jump" across a gap), a row after an
    absorbing state and a transition not in ``model`` (both stricter than R, which
    has no model).  Warnings: gaps between rows of a subject (out of the risk set
    meanwhile; R accepts them), a "transition" to the state the row is already in
    (not counted, as R).  The overlap (duplicates included), gap, jump and teleport
    rows are those R ``survcheck`` flags (tests/reference/multistate.R).

    Parameters
    ----------
    data : DataFrame
    id, start, stop, from_state, to_state : str
    model : StateModel, optional

    Returns
    -------
    CheckReport

    Examples
    --------
    >>> d = pd.DataFrame({"id": [1, 1], "tstart": [0, 4], "tstop": [5, 9],
    ...                   "from_state": ["CR", "relapse"], "to_state": ["relapse", None]})
    >>> check_intervals(d).problems["rule"].tolist()
    ['overlap']
    """
    clean = _no_problems(data, id, start, stop, from_state, to_state, model)
    if clean is not None:   # the common case, decided on arrays: nothing to report
        return CheckReport(pd.DataFrame([], columns=_PROBLEM_COLUMNS), clean)
    d = data[[id, start, stop, from_state, to_state]].copy()
    d.columns = ["id", "start", "stop", "from", "to"]
    d["row"] = np.arange(len(d))
    d["to"] = d["to"].where(d["to"].notna(), "censor").astype(str)
    probs = []

    def add(sev, rule, r, detail):
        probs.append((sev, rule, r.id, int(r.row), r.start, r.stop, r["from"], r["to"],
                      detail))

    miss = (d["id"].isna().to_numpy() | d["start"].isna().to_numpy()
            | d["stop"].isna().to_numpy() | d["from"].isna().to_numpy())
    if miss.any():
        for _, r in d[miss].iterrows():
            add("error", "missing value", r, "id, start, stop and from_state are needed")
        d = d[~miss]
    bad = (d["start"] >= d["stop"]).to_numpy()
    if bad.any():
        for _, r in d[bad].iterrows():
            add("error", "entry >= exit", r,
                f"interval ({_fmt(r.start)}, {_fmt(r.stop)}] is empty or reversed")
    o = d.sort_values(["id", "start", "stop"], kind="stable")
    # each row against the previous row of the sorted data (numpy: the pandas shift /
    # where / astype chain cost ~5 ms per call at n = 52); the flagged rows are then
    # reported one by one as before
    n_o = len(o)
    ids = o["id"].to_numpy(dtype=object)
    numeric = (pd.api.types.is_numeric_dtype(o["start"])
               and pd.api.types.is_numeric_dtype(o["stop"]))
    if numeric:
        st = o["start"].to_numpy(dtype=float)
        sp = o["stop"].to_numpy(dtype=float)
    fr = o["from"].to_numpy(dtype=object)
    to_ = o["to"].to_numpy(dtype=object)
    same = np.zeros(n_o, dtype=bool)
    same[1:] = ids[1:] == ids[:-1]
    if numeric:
        prev_stop_a = np.r_[np.nan, sp[:-1]] if n_o else sp
    prev_end_a = np.empty(n_o, dtype=object)
    if n_o:
        prev_end_a[0] = np.nan
        prev_end_a[1:] = np.where(to_[:-1] != "censor", to_[:-1], fr[:-1])
    fr_s = np.array([str(x) for x in fr], dtype=object)
    to_s = np.array([str(x) for x in to_], dtype=object)
    pe_s = np.array([str(x) for x in prev_end_a], dtype=object)
    changed = same & (fr_s != pe_s)
    if numeric:
        ov = same & (st < prev_stop_a)
        gap = same & (st > prev_stop_a)
        prev_start_a = np.r_[np.nan, st[:-1]] if n_o else st
        dup = same & (st == prev_start_a) & (sp == prev_stop_a)
        prev_stop = pd.Series(prev_stop_a, index=o.index)
    else:   # e.g. dates as start / stop
        prev_stop = o["stop"].shift(1)
        ov = same & (o["start"] < prev_stop).to_numpy()
        gap = same & (o["start"] > prev_stop).to_numpy()
        dup = same & ((o["start"] == o["start"].shift(1)) & (o["stop"] == prev_stop)).to_numpy()
    prev_end = pd.Series(prev_end_a, index=o.index)
    for _, r in o[dup].iterrows():
        add("error", "overlap", r, f"row ({_fmt(r.start)}, {_fmt(r.stop)}] repeats the "
            "previous row of this patient (duplicate)")
    ov = ov & ~dup
    for _, r in o[ov].iterrows():
        add("error", "overlap", r, f"row ({_fmt(r.start)}, {_fmt(r.stop)}] starts before the "
            f"previous row of this patient ends ({_fmt(prev_stop[r.name])})")
    for _, r in o[gap & ~changed].iterrows():  # a gap with a change of state is a jump
        add("warning", "gap", r, f"no row between {_fmt(prev_stop[r.name])} and "
            f"{_fmt(r.start)} (not at risk meanwhile)")
    # R survcheck: "teleport" = a contiguous row starting in another state than the
    # previous row ended in; "jump" = the same across a gap
    for _, r in o[changed & ~gap].iterrows():
        add("error", "teleport", r, f"row starts in {r['from']!r} at {_fmt(r.start)} but the "
            f"previous row ended in {prev_end[r.name]!r} without a transition")
    for _, r in o[changed & gap].iterrows():
        add("error", "jump", r, f"row starts in {r['from']!r} after a gap but the previous "
            f"row ended in {prev_end[r.name]!r}")
    selfmove = to_s == fr_s
    for _, r in o[selfmove].iterrows():
        add("warning", "same state", r, f"'transition' {r['from']} -> {r['to']} at "
            f"{_fmt(r.stop)} stays in the same state (not counted, as R)")
    if model is not None:
        names = set(model.state_names)
        absorbing = set(model.absorbing_states)
        # only the rows that break a model rule are visited (row by row, in order)
        fr, to = o["from"].to_numpy(dtype=object), o["to"].to_numpy(dtype=object)
        known = np.array([x in names for x in fr], dtype=bool)
        known_to = np.array([x in names for x in to], dtype=bool)
        allowed = np.array([model.allowed(a, b) for a, b in zip(fr, to)], dtype=bool)
        absorb = np.array([x in absorbing for x in fr], dtype=bool)
        flag = (~known | (~known_to & (to != "censor"))
                | ((to != "censor") & (to != fr) & known & known_to & ~allowed) | absorb)
        for _, r in o[flag].iterrows():
            for s in (r["from"], r["to"]):
                if s != "censor" and s not in names:
                    add("error", "unknown state", r, f"state {s!r} is not in the model "
                        f"{sorted(names)}")
            if (r["to"] != "censor" and r["to"] != r["from"] and r["from"] in names
                    and r["to"] in names and not model.allowed(r["from"], r["to"])):
                add("error", "transition not in model", r,
                    f"{r['from']} -> {r['to']} at {_fmt(r.stop)}")
            if r["from"] in absorbing:
                add("error", "after absorbing state", r, f"row ({_fmt(r.start)}, "
                    f"{_fmt(r.stop)}] after entering absorbing state {r['from']!r}")
    problems = pd.DataFrame(probs, columns=_PROBLEM_COLUMNS)
    tr = o.groupby(["from", "to"]).size().reset_index(name="n")
    tr.columns = ["from_state", "to_state", "n"]
    return CheckReport(problems, tr)


@dataclass(frozen=True, eq=False)
class TransitionsData(Result):
    """Multi-state rows built from a cohort's dates (frozen).

    Attributes
    ----------
    data : DataFrame
        ``[patient_id, tstart, tstop, from_state, to_state, start_date, stop_date,
        same_day]`` then every cohort column (covariates).  ``to_state`` is
        ``"censor"`` when the row ends without a transition; ``same_day`` marks rows
        whose stop was placed by the same-day rule.
    model : StateModel
    time_zero : str
        The state whose entry is time zero.
    unit : str
    excluded : DataFrame
        ``[patient_id, reason]``: patients without a time zero, or with errors.
    report : CheckReport
        Every error, warning and note (same-day rule applied, ignored dates).
    """

    data: pd.DataFrame
    model: StateModel
    time_zero: str
    unit: str
    excluded: pd.DataFrame
    report: CheckReport

    kind = "multistate_transitions"

    @property
    def title(self) -> str:
        return f"Multi-state rows ({self.model.name}, time zero: entry into {self.time_zero})"

    @property
    def choices(self) -> dict:
        return {"model": self.model.name, "time zero": self.time_zero, "unit": self.unit,
                "same-day rule": "j-th of m same-day transitions at d - (m - j)/m days"}

    @property
    def tables(self) -> dict:
        return {"transitions": self.transition_counts(), "excluded": self.excluded,
                "problems": self.report.problems}

    def transition_counts(self) -> pd.DataFrame:
        """Number of patients making each transition ``[from_state, to_state, n]``."""
        order = {s: i for i, s in enumerate(self.model.state_names)}
        fr = self.data["from_state"].tolist()
        to = self.data["to_state"].tolist()
        pairs = [(a, b) for a, b in zip(fr, to) if b != "censor"]
        if pairs and all(type(a) is str and a in order and type(b) is str and b in order
                         for a, b in pairs):
            # the groupby below without pandas: model states, each pair once
            out = _pair_counts([a for a, _ in pairs], [b for _, b in pairs],
                               self.data["from_state"].dtype, self.data["to_state"].dtype)
            key = np.array([order[a] * len(order) + order[b]
                            for a, b in zip(out["from_state"], out["to_state"])])
            return out.iloc[np.argsort(key, kind="stable")].reset_index(drop=True)
        d = self.data[self.data["to_state"] != "censor"]
        out = d.groupby(["from_state", "to_state"]).size().reset_index(name="n")
        return out.sort_values(["from_state", "to_state"], key=lambda s: s.map(order),
                               kind="stable").reset_index(drop=True)


def _as_frame(cohort):
    from ..cohort import Cohort

    if isinstance(cohort, Cohort):
        return cohort.data
    if isinstance(cohort, pd.DataFrame):
        return cohort
    raise InputError(f"expected a Cohort or DataFrame, got {type(cohort).__name__}")


def _day(df, col):
    if col not in df.columns:
        return np.full(len(df), np.nan)
    s = df[col]
    if not pd.api.types.is_datetime64_any_dtype(s):
        raise InputError(f"column {col!r} is not a parsed date column (dtype {s.dtype}); load "
                         "the cohort with aplcohort.cohort.load or from_dataframe so dates "
                         "are parsed and checked, never guessed")
    v = s.to_numpy()
    if v.dtype.kind == "M":   # tz-naive: numpy floors to whole days, as Timedelta.days
        out = v.astype("datetime64[D]").astype(np.int64).astype(float)
        out[np.isnat(v)] = np.nan
        return out
    return ((s - _EPOCH).dt.days).to_numpy(dtype=float)


_EPOCH_ORDINAL = _EPOCH.date().toordinal()


def _date(day):
    # the same ISO date as (_EPOCH + pd.Timedelta(days=int(day))).date(), without pandas
    return _dt.date.fromordinal(_EPOCH_ORDINAL + int(day)).isoformat()


def _rows_frame(df, rows, cols, carry) -> pd.DataFrame:
    """The rows built by :func:`build_transitions` as a DataFrame.

    ``rows`` are tuples ``(i, tstart, tstop, from_state, to_state, start_date,
    stop_date, same_day)`` (``i``: position of the patient in ``df``), followed by the
    patient's cohort columns ``carry``.  The dtypes are those pandas infers from one
    dict per row holding ``df.at[i, c]`` (how these rows used to be built): columns
    whose inferred dtype is known in advance (float64, int64, bool, and datetime64[ns]
    with a date) are taken in one go; every other column is inferred from its cells as
    before (one dict per row with ``df.at`` for ~50 columns cost ~1 ms per patient).
    """
    allcols = list(dict.fromkeys(["patient_id"] + cols + carry))
    if not rows:
        return pd.DataFrame([], columns=allcols)
    src = np.fromiter((r[0] for r in rows), dtype=np.intp, count=len(rows))
    built = dict(zip(cols[1:], zip(*[r[1:] for r in rows])))
    direct, infer = {}, {}
    for c in allcols:
        if c in built:
            infer[c] = built[c]
            continue
        v = df[c]._values   # v[r] is df.at[r, c]
        if isinstance(v, np.ndarray) and v.dtype in (np.float64, np.int64, np.bool_):
            direct[c] = v[src]
        elif isinstance(v, np.ndarray) or v.dtype.kind in "mM":
            taken = v[src]
            if taken.dtype == "M8[ns]" and not pd.isna(taken).all():
                direct[c] = taken
            else:  # the same scalars (numpy scalars, Timestamps) as v[r], boxed in one go
                infer[c] = list(taken)
        elif isinstance(v, (pd.arrays.BooleanArray, pd.arrays.IntegerArray,
                            pd.arrays.FloatingArray)):
            # what v[r] returns: the NA value where masked, else the numpy scalar
            na = v.dtype.na_value
            infer[c] = [na if m else x for x, m in zip(v._data[src], v._mask[src])]
        else:
            infer[c] = [v[r] for r in src]
    names = list(infer)
    inferred = pd.DataFrame(list(zip(*infer.values())), columns=names)
    for c in names:   # arrays, not Series: the frame below is built ~2x faster
        ser = inferred[c]
        direct[c] = ser.to_numpy() if isinstance(ser.dtype, np.dtype) else ser.array
    return pd.DataFrame({c: direct[c] for c in allcols})


def _rows_ok(rows, pid_values, model) -> bool:
    """True when the built rows pass every rule of :func:`check_intervals` with ``model``
    (each patient's rows contiguous from 0, non-empty, each starting in the state the
    previous one entered, transitions of the model, nothing after an absorbing state)."""
    names = set(model.state_names)
    absorbing = set(model.absorbing_states)
    prev = None
    for r in rows:
        i, a, b, fs, ts = r[:5]
        if not (np.isfinite(a) and np.isfinite(b) and a < b) or pd.isna(pid_values[i]):
            return False
        if fs not in names or fs in absorbing or (ts != "censor" and (
                ts not in names or not model.allowed(fs, ts))):
            return False
        if prev is not None and prev[0] == i:
            if prev[4] == "censor" or prev[2] != a or prev[4] != fs:
                return False
        elif a != 0.0:
            return False
        prev = r
    return True


def build_transitions(cohort, model: StateModel | None = None, *, time_zero=None,
                      unit="days", cutoff=None, on_error="raise") -> TransitionsData:
    """Build multi-state (start, stop] rows from a cohort's dates for a state model.

    Parameters
    ----------
    cohort : Cohort or DataFrame
        One row per patient with parsed date columns.
    model : StateModel, optional
        Default: :func:`~aplcohort.multistate.relapsed_leukemia_model` (``cr3_entry``
        ``"date"``).
    time_zero : str, optional
        State whose entry is time zero (default: the model's first state).
    unit : {"days", "months", "years"}
    cutoff : date, optional
        Administrative cut-off for everyone (overrides ``data_cutoff_date``): a date
        or ``"YYYY-MM-DD"``, by the loader's date rules
        (:func:`aplcohort.cohort.endpoints.parse_cutoff`).
    on_error : {"raise", "exclude"}
        ``"raise"``: any error raises :class:`TransitionCheckError` listing every
        problem.  ``"exclude"``: patients with errors are left out (reason recorded
        in ``excluded``) and the errors stay in the report.

    Returns
    -------
    TransitionsData

    Examples
    --------
    >>> import pandas as pd
    >>> from aplcohort.cohort import from_dataframe
    >>> c = from_dataframe(pd.DataFrame({"patient_id": ["a", "b"], "disease": ["APL", "APL"],
    ...     "relapse1_date": ["2020-01-01", "2020-01-01"], "response": ["mCR2", "none"],
    ...     "response_date": ["2020-02-01", None], "death_date": [None, "2020-03-01"],
    ...     "last_followup_date": ["2020-06-01", "2020-03-01"]}))
    >>> tr = build_transitions(c)
    >>> tr.data[["patient_id", "tstart", "tstop", "from_state", "to_state"]].values.tolist()
    [['a', 0.0, 31.0, 'relapse1', 'CR2'], ['a', 31.0, 152.0, 'CR2', 'censor'], \
['b', 0.0, 60.0, 'relapse1', 'death']]

    Validated against: hand-worked cohorts (tests/test_multistate_transitions.py) and,
    through R ``survfit``, the Min 2022 replica (tests/reference/multistate.R).
    """
    from ..cohort.endpoints import UNITS, parse_cutoff

    df = _as_frame(cohort).reset_index(drop=True)
    model = relapsed_leukemia_model() if model is None else model
    if not isinstance(model, StateModel):
        raise InputError(f"model must be a StateModel, got {type(model).__name__}")
    time_zero = model.state_names[0] if time_zero is None else time_zero
    model.rule(time_zero)
    if unit not in UNITS:
        raise InputError(f"unit must be one of {', '.join(UNITS)}, got {unit!r}")
    if on_error not in ("raise", "exclude"):
        raise InputError(f"on_error must be 'raise' or 'exclude', got {on_error!r}")
    if "patient_id" not in df.columns or "last_followup_date" not in df.columns:
        raise InputError("the cohort needs patient_id and last_followup_date columns")
    dup = df["patient_id"][df["patient_id"].duplicated()].unique().tolist()
    if dup:
        raise InputError(f"patient_id must be unique (one row per patient); repeated: "
                         f"{dup[:10]}")
    scale = UNITS[unit]
    rules = {s.name: s for s in model.states}
    order = {s: i for i, s in enumerate(model.state_names)}
    scope = model.reachable_from(time_zero)

    # entry day of each state (NaN = not entered) and whether its condition holds
    entry, cond = {}, {}
    for s in model.states:
        ok = np.ones(len(df), bool)
        for col, vals in s.when.items():
            v = df[col] if col in df.columns else pd.Series([None] * len(df))
            ok &= v.isin(list(vals)).to_numpy()
        cond[s.name] = ok
        entry[s.name] = _day(df, s.date) if s.date else np.full(len(df), np.nan)
    last = np.fmax(_day(df, "last_followup_date"), _day(df, "death_date"))
    if cutoff is not None:
        cut = np.full(len(df), float((parse_cutoff(cutoff, cohort) - _EPOCH).days))
    else:
        cut = _day(df, "data_cutoff_date")
    end = np.fmin(last, np.where(np.isnan(cut), np.inf, cut))

    probs, rows, excluded = [], [], []
    carry = [c for c in df.columns if c not in ("tstart", "tstop", "from_state", "to_state",
                                                "start_date", "stop_date", "same_day")]

    def problem(sev, rule, pid, detail, a=np.nan, b=np.nan, fs="", ts=""):
        probs.append((sev, rule, pid, np.nan, a, b, fs, ts, detail))

    pid_values = df["patient_id"]._values   # pid_values[i] is df.at[i, "patient_id"]
    for i in range(len(df)):
        pid = pid_values[i]
        r0 = rules[time_zero]
        if not cond[time_zero][i]:
            what = ", ".join(f"{c} " + (str(df.at[i, c]) if c in df.columns
                                                    and not pd.isna(df.at[i, c]) else "missing")
                             for c in r0.when)
            excluded.append((pid, f"{time_zero} not reached ({what})"))
            continue
        t0 = entry[time_zero][i]
        if np.isnan(t0):
            excluded.append((pid, f"{r0.date} missing (time zero: entry into {time_zero})"))
            continue
        if not np.isfinite(end[i]):
            excluded.append((pid, "last_followup_date missing"))
            continue
        if end[i] < t0:
            excluded.append((pid, "follow-up ends before time zero" if last[i] < t0 else
                             "time zero after the data cut-off"))
            continue
        errs = 0
        events = []
        warned = set()
        for s in model.states:
            if s.name == time_zero or s.name not in scope:
                continue
            day = entry[s.name][i]
            if s.when and cond[s.name][i] and np.isnan(day):
                when = ", ".join(f"{c} = {df.at[i, c]}" for c in s.when)
                col = s.date if s.date in df.columns else f"{s.date} (column absent)"
                fix = (" (or choose relapsed_leukemia_model(cr3_entry='salvage_start'))"
                       if s.name == "CR3" and s.date == "cr3_date" else "")
                problem("error", "date missing", pid, f"{s.name} indicated ({when}) but "
                        f"{col} is missing; give the date{fix}")
                errs += 1
                continue
            if np.isnan(day):
                continue
            if not cond[s.name][i]:
                if s.when and s.date not in warned and not any(
                        o.date == s.date and cond[o.name][i]
                        for o in model.states if o.name != s.name):
                    warned.add(s.date)
                    when = ", ".join(f"{c} = {df.at[i, c] if c in df.columns else None}"
                                     for c in s.when)
                    problem("warning", "date without condition", pid,
                            f"{s.date} {_date(day)} given but {when}: not counted as "
                            f"entry into {s.name}")
                continue
            if day < t0:
                problem("error", "before time zero", pid, f"{s.name} on {_date(day)} is "
                        f"before time zero ({time_zero} on {_date(t0)})")
                errs += 1
                continue
            if day > end[i]:
                if np.isfinite(cut[i]) and day > cut[i]:
                    problem("note", "after cut-off", pid, f"{s.name} on {_date(day)} is "
                            f"after the data cut-off {_date(cut[i])}: ignored")
                else:
                    problem("error", "after last follow-up", pid, f"{s.name} on "
                            f"{_date(day)} is after the last follow-up {_date(last[i])}")
                    errs += 1
                continue
            events.append((day, order[s.name], s.name))
        events.sort()
        # walk the path and check the model
        cur = time_zero
        path = []
        for day, _, s in events:
            if cur in model.absorbing_states:
                problem("error", "after absorbing state", pid, f"{s} on {_date(day)} after "
                        f"{cur}", fs=cur, ts=s)
                errs += 1
                break
            if not model.allowed(cur, s):
                prev = path[-1][0] if path else t0
                problem("error", "transition not in model", pid,
                        f"{cur} (from {_date(prev)}) -> {s} on {_date(day)}", fs=cur, ts=s)
                errs += 1
            path.append((day, cur, s))
            cur = s
        if errs:
            excluded.append((pid, f"{errs} data error(s) in the multi-state path (see report)"))
            continue
        # same-day rule
        days = np.array([p[0] for p in path], float)
        times = days - t0
        moved = np.zeros(days.size, bool)
        for d in np.unique(days):
            idx = np.flatnonzero(days == d)
            m = idx.size
            if d == t0:
                times[idx] = np.arange(1, m + 1) / (m + 1)
            elif m > 1:
                times[idx] = (d - t0) - (m - np.arange(1, m + 1)) / m
            else:
                continue
            moved[idx] = True
            for j in idx:
                problem("note", "same-day rule", pid,
                        f"{path[j][1]} -> {path[j][2]} dated {_date(d)} placed at "
                        f"{times[j]:g} days after time zero", fs=path[j][1], ts=path[j][2])
        tprev, dprev = 0.0, t0
        for (day, fs, ts), tt, mv in zip(path, times, moved):
            rows.append((i, tprev / scale, tt / scale, fs, ts, _date(dprev), _date(day),
                         bool(mv)))
            tprev, dprev = tt, day
        final = end[i] - t0
        if not path and final <= 0:
            # alive, no transition, follow-up ends on the time-zero day: no (0, 0] row
            # exists (R survcheck / survfit reject entry >= exit); left out with the reason
            excluded.append((pid, ZERO_FOLLOWUP_REASON if last[i] <= t0 else
                             "no follow-up after time zero (time zero on the data cut-off "
                             "date)"))
            continue
        if cur not in model.absorbing_states and final > tprev:
            rows.append((i, tprev / scale, final / scale, cur, "censor", _date(dprev),
                         _date(end[i]), False))
    cols = ["patient_id", "tstart", "tstop", "from_state", "to_state", "start_date",
            "stop_date", "same_day"]
    data = _rows_frame(df, rows, cols, carry)
    problems = pd.DataFrame(probs, columns=_PROBLEM_COLUMNS)
    if len(data):   # counts of the built (string) states, as a groupby of the rows
        tr = _pair_counts([r[3] for r in rows], [r[4] for r in rows],
                          data["from_state"].dtype, data["to_state"].dtype)
    else:
        tr = pd.DataFrame(columns=["from_state", "to_state", "n"])
    report = CheckReport(problems, tr)
    if on_error == "raise":
        report.raise_if_errors()
    # the built rows satisfy the interval checks by construction; verify (as tmerge does):
    # on the arrays, and with the full check_intervals report only if that finds anything
    if not _rows_ok(rows, pid_values, model):
        chk = check_intervals(data, id="patient_id", model=model)
        if not chk.ok:  # pragma: no cover - a builder bug, never user data
            raise RuntimeError("build_transitions produced invalid rows:\n" + chk.text())
    excl = pd.DataFrame(excluded, columns=["patient_id", "reason"])
    return TransitionsData(data, model, time_zero, unit, excl, report)
