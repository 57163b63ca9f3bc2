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
  ``j / (m + 1)`` days (death on the day of relapse: 0.5 days); when ``m0`` of them
  are on the time-zero day and ``m`` on the next day, the next day's ``j``-th is
  placed at ``a + (1 - a) j / m`` days with ``a = m0 / (m0 + 1)``, after the
  time-zero day's.  Every moved transition is listed in the report as a note.
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

    return _pair_frame(Counter(zip(fr, to)), fr_dtype, to_dtype)


def _pair_frame(n, fr_dtype, to_dtype) -> pd.DataFrame:
    """:func:`_pair_counts` from the counts ``{(from, to): n}``."""
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
    """The rows ``(i, tstart, tstop, from_state, to_state, start_date, stop_date,
    same_day)`` (``i``: position of the patient in ``df``) followed by the patient's
    cohort columns ``carry``, as a DataFrame (see :func:`_columns_frame`)."""
    allcols = list(dict.fromkeys(["patient_id"] + cols + carry))
    if not rows:
        return pd.DataFrame([], columns=allcols)
    src = np.fromiter((r[0] for r in rows), dtype=np.intp, count=len(rows))
    return _columns_frame(df, src, dict(zip(cols[1:], zip(*[r[1:] for r in rows]))), allcols)


def _columns_frame(df, src, built, allcols) -> pd.DataFrame:
    """The rows built by :func:`build_transitions` as a DataFrame.

    ``src`` is the position in ``df`` of each row's patient; ``built`` maps the built
    columns to their values (a float64 or bool array: taken as it is; any other
    sequence: its dtype inferred as below); the other columns of ``allcols`` are the
    patient's cohort columns.  The dtypes are those pandas infers from one dict per row
    holding ``df.at[i, c]`` (how these rows used to be built): columns whose inferred
    dtype is known in advance (float64, int64, bool, and datetime64[ns] with a date)
    are taken in one go; every other column is inferred from its cells as before (one
    dict per row with ``df.at`` for ~50 columns cost ~1 ms per patient).
    """
    direct, infer = {}, {}
    for c in allcols:
        if c in built:
            v = built[c]
            if isinstance(v, np.ndarray) and v.dtype in (np.float64, np.bool_):
                direct[c] = v     # all floats / all bools: inferred as float64 / bool
            else:
                infer[c] = v
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
    if names:
        inferred = pd.DataFrame(list(zip(*infer.values())), columns=names)
        for c in names:   # arrays, not Series: the frame below is built ~2x faster
            ser = inferred[c]
            direct[c] = ser.to_numpy() if isinstance(ser.dtype, np.dtype) else ser.array
    return pd.DataFrame({c: direct[c] for c in allcols})


def _arrays_ok(src, a, b, fs, ts, pid_na, absorbing, allowed) -> bool:
    """True when the built rows pass every rule of :func:`check_intervals` with the
    model (each patient's rows contiguous from 0, non-empty, each starting in the state
    the previous one entered, transitions of the model, nothing after an absorbing
    state).  ``src``: patient position of each row (rows grouped by patient); ``fs``,
    ``ts``: model positions of the states (-1: censor); ``pid_na``: missing ids;
    ``absorbing``, ``allowed``: the model's states and transitions as arrays."""
    if not src.size:
        return True
    if not (np.isfinite(a).all() and np.isfinite(b).all() and (a < b).all()):
        return False
    cen = ts < 0
    if pid_na[src].any() or absorbing[fs].any() or not allowed[fs[~cen], ts[~cen]].all():
        return False
    same = src[1:] == src[:-1]
    if (same & (cen[:-1] | (b[:-1] != a[1:]) | (ts[:-1] != fs[1:]))).any():
        return False
    return not (a[np.r_[True, ~same]] != 0.0).any()


def error_reason(problems) -> str:
    """The reason of exclusion of a patient with data errors in the multi-state path
    (``on_error="exclude"``): the problems, without their dates (the report has them).

    Examples
    --------
    >>> error_reason(["ATO-based dated after the last follow-up"])
    'data error in the multi-state path: ATO-based dated after the last follow-up'
    """
    problems = list(problems)
    return (f"data error{'s' if len(problems) > 1 else ''} in the multi-state path: "
            + "; ".join(problems))


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
        in ``excluded``: their problems, without the dates) and the errors stay in the
        report.

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

    The rules are applied to all patients at once (numpy arrays; time linear in the
    number of patients); the output is that of the former loop over patients, kept as
    the reference in tests/test_growth_transitions.py.

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
    no_id = np.flatnonzero(df["patient_id"].isna().to_numpy())
    if no_id.size:   # a data error, said as one (it failed the builder's own row check)
        raise InputError(f"patient_id is missing in {no_id.size} row(s) (rows "
                         f"{', '.join(str(int(i)) for i in no_id[:10])}"
                         f"{' ...' if no_id.size > 10 else ''}, counted from 0): every "
                         "patient needs an id")
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
            if col in df.columns:
                ok &= df[col].isin(list(vals)).to_numpy()
            else:   # an absent column: every cell None
                ok &= pd.Series([None]).isin(list(vals)).to_numpy()[0]
        cond[s.name] = ok
        entry[s.name] = _day(df, s.date) if s.date else np.full(len(df), np.nan)
    last = np.fmax(_day(df, "last_followup_date"), _day(df, "death_date"))
    if cutoff is not None:
        cut = np.full(len(df), float((parse_cutoff(cutoff, cohort) - _EPOCH).days))
    else:
        cut = _day(df, "data_cutoff_date")
    end = np.fmin(last, np.where(np.isnan(cut), np.inf, cut))

    # The rules are applied to all patients at once (numpy): per state, who enters it
    # on which day and which check it fails; the events of each patient ordered by
    # (day, model order) with one lexsort; the path walk and the same-day rule on the
    # sorted events; the rows with one stable sort.  Only the report and exclusion
    # texts are written patient by patient (for the patients they concern), in the
    # order in which a loop over patients writes them.
    n = len(df)
    carry = [c for c in df.columns if c not in ("tstart", "tstop", "from_state", "to_state",
                                                "start_date", "stop_date", "same_day")]
    pid_values = df["patient_id"]._values   # pid_values[i] is df.at[i, "patient_id"]
    n_s = len(model.states)
    tz = order[time_zero]
    label = list(model.state_names)   # the state names written in rows and report ...
    label[tz] = time_zero             # ... time zero as given
    absorbing = np.array([bool(s.absorbing) for s in model.states], dtype=bool)
    allowed = np.zeros((n_s, n_s), dtype=bool)
    for a, b in model.transitions:
        allowed[order[a], order[b]] = True
    cells = {}

    def at(i, c):   # df.at[i, c] (RangeIndex), one column lookup per column
        if not df.columns.is_unique:
            return df.at[i, c]
        v = cells.get(c)
        if v is None:
            v = cells[c] = df[c]._values
        return v[i]

    # time zero: who is in, and why the others are left out
    r0 = rules[time_zero]
    t0 = entry[time_zero]
    c0 = cond[time_zero]
    reason = np.full(n, None, dtype=object)
    has_t0 = c0 & ~np.isnan(t0)
    fin = np.isfinite(end)
    early = has_t0 & fin & (end < t0)
    live = has_t0 & fin & ~early
    # a patient who was never reinduced has no response by design: say so (as the
    # endpoints do) instead of "response missing"
    notre = (df["reinduction_regimen"].to_numpy(dtype=object) == "none"
             if "reinduction_regimen" in df.columns and "response" in r0.when
             and df.columns.is_unique else np.zeros(n, dtype=bool))
    for i in np.flatnonzero(~c0).tolist():
        if notre[i] and ("response" not in df.columns or pd.isna(at(i, "response"))):
            reason[i] = f"{time_zero} not reached (not reinduced: reinduction_regimen none)"
            continue
        what = ", ".join(f"{c} " + (str(at(i, c)) if c in df.columns
                                    and not pd.isna(at(i, c)) else "missing")
                         for c in r0.when)
        reason[i] = f"{time_zero} not reached ({what})"
    reason[c0 & np.isnan(t0)] = f"{r0.date} missing (time zero: entry into {time_zero})"
    reason[has_t0 & ~fin] = "last_followup_date missing"
    reason[early & (last < t0)] = "follow-up ends before time zero"
    reason[early & ~(last < t0)] = "time zero after the data cut-off"

    # the report: each problem with its (patient, phase, key); phase 0 = the checks of
    # each state (key: model order), 1 = the path walk, 2 = the same-day rule (key:
    # position of the event in the patient's ordered events).  Sorted by these at the
    # end, the problems are in the order of a loop over patients.
    recs = []
    errs = np.zeros(n, np.int64)
    date_str = {}

    def dates(days):   # [_date(d) for d in days], each distinct day formatted once
        u, inv = np.unique(days, return_inverse=True)
        for x in u.tolist():
            if x not in date_str:
                date_str[x] = _date(x)
        return np.array([date_str[x] for x in u.tolist()], dtype=object)[inv.ravel()].tolist()

    def record(idx, phase, key, sev, rule, fs, ts, detail, why=None):
        """Problems of the patients ``idx``: their keys, the report columns, and (errors)
        ``why``: the problem without its dates, the patient's reason of exclusion."""
        if idx.size:
            recs.append((idx, np.full(idx.size, phase), key, [sev] * idx.size,
                         [rule] * idx.size, fs, ts, detail,
                         detail if why is None else why))

    ev_i, ev_day, ev_k = [], [], []
    warned = {}   # date column -> patients already warned about it
    for k, s in enumerate(model.states):
        if s.name == time_zero or s.name not in scope:
            continue
        day = entry[s.name]
        cs = cond[s.name]
        undated = np.isnan(day)
        miss = live & cs & undated if s.when else np.zeros(n, bool)
        rest = live & ~undated
        if s.when:   # a date given while the condition does not hold: warned once per
            other = np.zeros(n, bool)   # date, unless another state takes that date
            for o in model.states:
                if o.name != s.name and o.date == s.date:
                    other |= cond[o.name]
            w = warned.setdefault(s.date, np.zeros(n, bool))
            warn = rest & ~cs & ~other & ~w
            w |= warn
        else:
            warn = np.zeros(n, bool)
        ok = rest & cs
        before = ok & (day < t0)
        after = ok & ~before & (day > end)
        cut_note = after & np.isfinite(cut) & (day > cut)
        lfu = after & ~cut_note
        key = np.full(n, k)
        idx = np.flatnonzero(miss)
        if idx.size:
            col = s.date if s.date in df.columns else f"{s.date} (column absent)"
            fix = (" (or choose relapsed_leukemia_model(cr3_entry='salvage_start'))"
                   if s.name == "CR3" and s.date == "cr3_date" else "")
            record(idx, 0, key[idx], "error", "date missing", [""] * idx.size,
                   [""] * idx.size, [
                       f"{s.name} indicated ({when}) but {col} is missing; give the date{fix}"
                       for when in (", ".join(f"{c} = {at(i, c)}" for c in s.when)
                                    for i in idx.tolist())])
        idx = np.flatnonzero(warn)
        if idx.size:
            record(idx, 0, key[idx], "warning", "date without condition", [""] * idx.size,
                   [""] * idx.size, [
                       f"{s.date} {d} given but {when}: not counted as entry into {s.name}"
                       for d, when in zip(dates(day[idx]), (", ".join(
                           f"{c} = {at(i, c) if c in df.columns else None}" for c in s.when)
                           for i in idx.tolist()))])
        idx = np.flatnonzero(before)
        record(idx, 0, key[idx], "error", "before time zero", [""] * idx.size,
               [""] * idx.size, [f"{s.name} on {d} is before time zero ({time_zero} on {d0})"
                                 for d, d0 in zip(dates(day[idx]), dates(t0[idx]))],
               [f"{s.name} dated before time zero ({time_zero})"] * idx.size)
        idx = np.flatnonzero(cut_note)
        record(idx, 0, key[idx], "note", "after cut-off", [""] * idx.size, [""] * idx.size,
               [f"{s.name} on {d} is after the data cut-off {dc}: ignored"
                for d, dc in zip(dates(day[idx]), dates(cut[idx]))])
        idx = np.flatnonzero(lfu)
        record(idx, 0, key[idx], "error", "after last follow-up", [""] * idx.size,
               [""] * idx.size, [f"{s.name} on {d} is after the last follow-up {dl}"
                                 for d, dl in zip(dates(day[idx]), dates(last[idx]))],
               [f"{s.name} dated after the last follow-up"] * idx.size)
        errs += miss | before | lfu
        idx = np.flatnonzero(ok & ~before & ~after)
        ev_i.append(idx)
        ev_day.append(day[idx])
        ev_k.append(np.full(idx.size, k))

    # each patient's events by date, then model order
    I = np.concatenate(ev_i) if ev_i else np.zeros(0, np.intp)
    D = np.concatenate(ev_day) if ev_i else np.zeros(0)
    K = np.concatenate(ev_k) if ev_i else np.zeros(0, np.intp)
    o = np.lexsort((K, D, I))
    I, D, K = I[o], D[o], K[o]
    first = np.ones(I.size, bool)
    first[1:] = I[1:] != I[:-1]
    prev_k = np.r_[tz, K[:-1]].astype(np.intp) if I.size else K.copy()
    prev_k[first] = tz
    prev_d = np.r_[np.nan, D[:-1]] if I.size else D.copy()
    prev_d[first] = t0[I[first]]
    # path walk: after an absorbing state the next event is an error and ends the walk;
    # before it, each transition must be in the model
    abs_prev = absorbing[prev_k]
    n_abs = np.cumsum(abs_prev)
    starts = np.flatnonzero(first)
    grp = np.cumsum(first) - 1
    n_abs = n_abs - (n_abs[starts] - abs_prev[starts])[grp]   # within the patient
    j_all = np.arange(I.size)
    labels = np.empty(n_s + 1, dtype=object)
    labels[:] = label + ["censor"]     # labels[-1]: censor
    idx = np.flatnonzero(abs_prev & (n_abs == 1))
    fs_, ts_ = labels[prev_k[idx]].tolist(), labels[K[idx]].tolist()
    record(I[idx], 1, idx, "error", "after absorbing state", fs_, ts_,
           [f"{b} on {d} after {a}" for a, b, d in zip(fs_, ts_, dates(D[idx]))],
           [f"{b} dated after {a} (absorbing)" for a, b in zip(fs_, ts_)])
    errs += np.bincount(I[idx], minlength=n)
    idx = np.flatnonzero((n_abs == 0) & ~allowed[prev_k, K])
    fs_, ts_ = labels[prev_k[idx]].tolist(), labels[K[idx]].tolist()
    record(I[idx], 1, idx, "error", "transition not in model", fs_, ts_,
           [f"{a} (from {dp}) -> {b} on {d}" for a, b, dp, d in
            zip(fs_, ts_, dates(prev_d[idx]), dates(D[idx]))],
           [f"{a} -> {b} is not a transition of the model" for a, b in zip(fs_, ts_)])
    errs += np.bincount(I[idx], minlength=n)
    bad = live & (errs > 0)
    if bad.any():   # each patient's errors, without their dates (in report order)
        why: dict = {}
        errors = sorted((i, ph, k, w) for r in recs if r[3][0] == "error"
                        for i, ph, k, w in zip(r[0].tolist(), r[1].tolist(),
                                               np.asarray(r[2]).tolist(), r[8]))
        for i, _ph, _k, w in errors:
            why.setdefault(i, []).append(w)
        reason[bad] = [error_reason(why[i]) for i in np.flatnonzero(bad).tolist()]
    good = live & (errs == 0)

    # same-day rule on the events of the patients without errors (their whole path)
    g = good[I]
    I, D, K, prev_k, prev_d, first, j_all = (x[g] for x in (I, D, K, prev_k, prev_d,
                                                            first, j_all))
    t0e = t0[I]
    new_day = first.copy()
    new_day[1:] |= D[1:] != D[:-1]
    day_grp = np.cumsum(new_day) - 1
    day_start = np.flatnonzero(new_day)
    m = np.bincount(day_grp)[day_grp] if I.size else np.zeros(0, np.int64)
    jj = np.arange(I.size) - day_start[day_grp] + 1 if I.size else m
    at_t0 = D == t0e
    times = np.where(at_t0, jj / (m + 1),
                     np.where(m > 1, (D - t0e) - (m - jj) / m, D - t0e))
    # the day after time zero, when the patient also has transitions on the time-zero
    # day (placed in (0, a], a = m0 / (m0 + 1)): its m transitions share (a, 1] instead
    # of (0, 1], the j-th at a + (1 - a) j / m, so they stay after the time-zero day's
    # (the plain rule put both at 0.5 days: an empty row, and the whole cohort failed)
    n0 = np.bincount(I[at_t0], minlength=n)[I] if I.size else np.zeros(0, np.int64)
    day1 = ((D - t0e) == 1) & (n0 > 0)
    a0 = n0 / (n0 + 1.0)
    times = np.where(day1, a0 + (1.0 - a0) * jj / m, times)
    moved = at_t0 | (m > 1)
    idx = np.flatnonzero(moved)
    fs_, ts_ = labels[prev_k[idx]].tolist(), labels[K[idx]].tolist()
    record(I[idx], 2, j_all[idx], "note", "same-day rule", fs_, ts_,
           [f"{a} -> {b} dated {d} placed at {t:g} days after time zero"
            for a, b, d, t in zip(fs_, ts_, dates(D[idx]), times[idx].tolist())])
    t_prev = np.r_[0.0, times[:-1]] if I.size else times.copy()
    t_prev[first] = 0.0

    # the row after the last event: censored at the end of follow-up, if any
    last_ev = np.flatnonzero(np.r_[first[1:], True]) if I.size else np.zeros(0, np.intp)
    n_ev = np.bincount(I, minlength=n)
    cur = np.full(n, tz, dtype=np.intp)
    cur[I[last_ev]] = K[last_ev]
    t_last = np.zeros(n)
    t_last[I[last_ev]] = times[last_ev]
    d_last = t0.copy()
    d_last[I[last_ev]] = D[last_ev]
    final = end - t0
    zero = good & (n_ev == 0) & (final <= 0)
    # alive, no transition, follow-up ends on the time-zero day: no (0, 0] row exists
    # (R survcheck / survfit reject entry >= exit); left out with the reason
    reason[zero & (last <= t0)] = ZERO_FOLLOWUP_REASON
    reason[zero & ~(last <= t0)] = ("no follow-up after time zero (time zero on the data "
                                    "cut-off date)")
    cens = np.flatnonzero(good & ~zero & ~absorbing[cur] & (final > t_last))

    # rows: each patient's events, then the censored row
    src = np.concatenate([I, cens])
    ro = np.argsort(src, kind="stable")
    src = src[ro]
    tstart = np.concatenate([t_prev / scale, t_last[cens] / scale])[ro]
    tstop = np.concatenate([times / scale, final[cens] / scale])[ro]
    fs = np.concatenate([prev_k, cur[cens]])[ro]
    ts = np.concatenate([K, np.full(cens.size, -1, dtype=np.intp)])[ro]  # -1: censor
    d_start = np.concatenate([prev_d, d_last[cens]])[ro]
    d_stop = np.concatenate([D, end[cens]])[ro]
    same_day = np.concatenate([moved, np.zeros(cens.size, bool)])[ro]
    both = np.array(dates(np.concatenate([d_start, d_stop])), dtype=object)
    cols = ["patient_id", "tstart", "tstop", "from_state", "to_state", "start_date",
            "stop_date", "same_day"]
    allcols = list(dict.fromkeys(cols + carry))
    if src.size:
        data = _columns_frame(df, src, {
            "tstart": tstart, "tstop": tstop, "from_state": labels[fs],
            "to_state": labels[ts], "start_date": both[:src.size],
            "stop_date": both[src.size:], "same_day": same_day}, allcols)
    else:
        data = pd.DataFrame([], columns=allcols)

    # the report, in the order of a loop over patients
    probs = []
    if recs:
        ri, rp, rk = (np.concatenate(x) for x in list(zip(*recs))[:3])
        ro = np.lexsort((rk, rp, ri)).tolist()
        sev, rule, fs_, ts_, detail = ([c[k] for k in ro] for c in (
            [x for r in recs for x in r[j]] for j in range(3, 8)))
        nan = np.nan
        probs = [(a, b, pid_values[i], nan, nan, nan, c, d, e) for a, b, i, c, d, e in
                 zip(sev, rule, ri[ro].tolist(), fs_, ts_, detail)]
    problems = pd.DataFrame(probs, columns=_PROBLEM_COLUMNS)
    if len(data):   # counts of the built (string) states, as a groupby of the rows
        key = fs * (n_s + 1) + (ts + 1)
        cnt = np.bincount(key, minlength=n_s * (n_s + 1))
        pairs = {(labels[c // (n_s + 1)], labels[c % (n_s + 1) - 1]): int(cnt[c])
                 for c in np.flatnonzero(cnt).tolist()}
        tr = _pair_frame(pairs, data["from_state"].dtype, data["to_state"].dtype)
    else:
        tr = pd.DataFrame(columns=["from_state", "to_state", "n"])
    report = CheckReport(problems, tr)
    if on_error == "raise":
        report.raise_if_errors()
    # the built rows satisfy the interval checks by construction; verify (as tmerge does):
    # on the arrays, and with the full check_intervals report only if that finds anything
    if not _arrays_ok(src, tstart, tstop, fs, ts, pd.isna(pid_values), absorbing, allowed):
        chk = check_intervals(data, id="patient_id", model=model)
        if not chk.ok:  # pragma: no cover - a builder bug, never user data
            raise RuntimeError("build_transitions produced invalid rows:\n" + chk.text())
    has = np.flatnonzero(reason != None)  # noqa: E711 (elementwise)
    excl = pd.DataFrame([(pid_values[i], reason[i]) for i in has.tolist()],
                        columns=["patient_id", "reason"])
    return TransitionsData(data, model, time_zero, unit, excl, report)
