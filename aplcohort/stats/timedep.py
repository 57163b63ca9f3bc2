"""Time-dependent treatment exposure: splitting follow-up, Cox with time-varying
covariates, the Mantel–Byar test, Simon–Makuch curves and the immortal-time guard.

A treatment that starts after time zero (a transplant in CR2, the start of
post-remission therapy) must not define groups at time zero: a patient has to
survive, event-free, until the treatment starts, and that waiting time is
"immortal" if it is credited to the treated group.  The remedies provided here:

* :func:`split_at_exposure` splits each patient's follow-up into (tstart, tstop]
  intervals, unexposed then exposed, and checks the result
  (:func:`check_intervals`, :func:`collapse_intervals`);
* :func:`td_coxph`: Cox regression on the split data (exposure as a
  time-dependent covariate; the model-based SE by default, as R ``coxph(id =)`` when
  no patient has more than one event; ``robust=True`` clusters on the patient);
* :func:`mantel_byar`: the score test of the time-dependent exposure;
* :func:`simon_makuch`: Kaplan–Meier curves by *current* exposure status;
* :func:`landmark` (in :mod:`aplcohort.stats.landmark`, re-exported here);
* :func:`immortal_time_check` and :func:`compare_naive_vs_timedependent`.

Same-day rule (documented once, used everywhere)
------------------------------------------------
Intervals are (tstart, tstop]: an event at ``t`` belongs to the interval that ends
at ``t``.  With exposure (treatment start) time ``e`` and end of follow-up ``T``:

* ``e == 0`` (treatment on the day of time zero): exposed from the start, one
  interval ``(0, T]`` with exposure 1;
* ``0 < e < T``: ``(0, e]`` unexposed, ``(e, T]`` exposed;
* ``e == T`` (treatment on the day of the event / censoring): by default
  (``same_day_rule="unexposed"``) the exposure is ignored: the event happened
  before or at the start of the treatment and cannot be credited to it. This is
  what R ``tmerge(..., tdc(e))`` does with ``e == T``.  With
  ``same_day_rule="exposed"`` the treatment start is moved ``same_day_offset``
  time units earlier (``(0, T - offset]`` unexposed, ``(T - offset, T]``
  exposed), the convention of the R survival "timedep" vignette for the
  Stanford heart data (``survival::jasa1``);
* ``e > T`` (treatment after the end of follow-up) is ignored (unexposed), with a
  :class:`~aplcohort.errors.DataQualityWarning` naming the patients;
* ``e < 0`` raises :class:`~aplcohort.errors.InputError` (a treatment before time
  zero means time zero is wrong); ``NaN`` means never exposed.

Follow-up of length 0 cannot form a (0, 0] interval and raises ``InputError``
(R ``tmerge`` stops too: "found an ending time of 0"). The plan kinds
(:mod:`aplcohort.plan.kinds`) exclude such patients before the split, with the reason
"event or censoring at time zero: no (start, stop] interval" recorded in the analysis's
exclusions; a direct caller can do the same, or give them a documented small positive
time (the R vignette's half a day).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .._checks import check_bool
from .._results import Result
from .shapes import IMMORTAL_TIME_ADVICE, NOT_ESTIMABLE_SEP, CurveShape
from ..errors import (AplcohortError, DataQualityWarning, ImmortalTimeWarning, InputError,
                      StatisticalWarning)

__all__ = [
    "split_at_exposure",
    "check_intervals",
    "collapse_intervals",
    "IntervalCheck",
    "td_coxph",
    "mantel_byar",
    "MantelByarResult",
    "simon_makuch",
    "SimonMakuchResult",
    "landmark",
    "landmark_set",
    "LandmarkResult",
    "immortal_time_check",
    "ImmortalTimeCheck",
    "compare_naive_vs_timedependent",
    "NaiveVsTimeDependent",
]

_SAME_DAY_RULES = ("unexposed", "exposed")


def _require_columns(data: pd.DataFrame, cols, what="data"):
    if not isinstance(data, pd.DataFrame):
        raise InputError(f"{what} must be a pandas DataFrame, got {type(data).__name__}")
    missing = [c for c in cols if c is not None and c not in data.columns]
    if missing:
        raise InputError(f"{what}: column(s) {missing} not found; available columns: "
                         f"{list(data.columns)}")


def _numeric(data: pd.DataFrame, col: str) -> np.ndarray:
    s = data[col]
    if not (pd.api.types.is_numeric_dtype(s) or s.isna().all()):
        raise InputError(f"column {col!r} must be numeric (time since time zero); got dtype "
                         f"{s.dtype}. Convert dates to times first, e.g. "
                         f"(df[{col!r}] - df['time_zero_date']).dt.days")
    return s.to_numpy(dtype=float, na_value=np.nan)


def _ids_text(ids, k=10) -> str:
    ids = list(ids)
    more = f" (+{len(ids) - k} more)" if len(ids) > k else ""
    return ", ".join(str(i) for i in ids[:k]) + more


# ----------------------------------------------------------------------------------
# splitting
# ----------------------------------------------------------------------------------
def _check_no_clash(data, *, id, time, event, exposure_time, exposure_name):
    """The error :func:`split_at_exposure` gives with its default ``keep`` when a column
    of ``data`` would be overwritten; for callers that split with a narrower ``keep``
    (only the columns their model reads), so that they reject the same data."""
    cols = getattr(data, "columns", ())
    clash = [c for c in cols if c in ("tstart", "tstop", exposure_name)
             and c not in (id, time, event, exposure_time)]
    if clash:
        raise InputError(f"columns {clash} would be overwritten by the split; rename them or "
                         "pass keep= without them")


def split_at_exposure(data: pd.DataFrame, *, id: str, time: str, event: str,
                      exposure_time: str, exposure_name: str = "exposed",
                      same_day_rule: str = "unexposed", same_day_offset: float = 0.5,
                      keep=None) -> pd.DataFrame:
    """Split each patient's follow-up at the start of a treatment.

    Parameters
    ----------
    data : DataFrame
        One row per patient.
    id : str
        Patient identifier column (unique).
    time, event : str
        Follow-up time from time zero (> 0) and event code (0 = censored; other
        non-negative integer codes are kept on the last interval).
    exposure_time : str
        Column with the treatment start, in the same unit and from the same time
        zero as ``time``; NaN = never exposed.
    exposure_name : str
        Name of the 0/1 exposure column created.
    same_day_rule : {"unexposed", "exposed"}
        What to do when the treatment starts on the day follow-up ends (see the
        module docstring). Default "unexposed" (R ``tmerge`` behaviour).
    same_day_offset : float
        With ``same_day_rule="exposed"``: how much earlier the treatment start is
        moved (default 0.5 time units, as ``survival::jasa1``). If the follow-up
        is not longer than the offset, the patient is exposed from time zero.
    keep : list of str, optional
        Other columns to carry (constant over a patient's intervals); default all
        columns except ``time`` and ``exposure_time``.

    Returns
    -------
    DataFrame
        Columns ``[id, "tstart", "tstop", event, exposure_name, *keep]``, one row
        per (tstart, tstop] interval, sorted by patient then ``tstart``; the event
        code sits on the last interval of each patient only. The result is checked
        before it is returned: each patient's intervals start at 0, follow each
        other without overlap or gap, none is of length zero, the last ends at the
        follow-up time and carries the event code (what :func:`check_intervals` and
        :func:`collapse_intervals` verify, done here on the arrays).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> df = pd.DataFrame({"pid": [1, 2, 3], "t": [10.0, 5.0, 8.0], "d": [1, 0, 1],
    ...                    "tx": [4.0, np.nan, 8.0]})
    >>> split_at_exposure(df, id="pid", time="t", event="d", exposure_time="tx")
       pid  tstart  tstop  d  exposed
    0    1     0.0    4.0  0        0
    1    1     4.0   10.0  1        1
    2    2     0.0    5.0  0        0
    3    3     0.0    8.0  1        0

    Validated against: R ``tmerge(data, data, id, death = event(futime, fustat),
    transplant = tdc(txtime))`` on the Stanford heart transplant data (``jasa``):
    identical intervals; with ``same_day_rule="exposed"`` identical to
    ``survival::jasa1``.
    """
    _require_columns(data, [id, time, event, exposure_time])
    if same_day_rule not in _SAME_DAY_RULES:
        raise InputError(f"same_day_rule must be one of {_SAME_DAY_RULES}, got {same_day_rule!r}")
    if not (np.isfinite(same_day_offset) and same_day_offset > 0):
        raise InputError(f"same_day_offset must be a positive number, got {same_day_offset!r}")
    if exposure_name in (id, event, "tstart", "tstop"):
        raise InputError(f"exposure_name {exposure_name!r} clashes with an output column; "
                         "choose another name")
    ids = data[id]
    if ids.isna().any():
        raise InputError(f"column {id!r}: missing patient ids at rows "
                         f"{_ids_text(np.flatnonzero(ids.isna().to_numpy()))}")
    dup = ids[ids.duplicated(keep=False)]
    if len(dup):
        raise InputError(f"column {id!r} must be unique (one row per patient) for "
                         f"split_at_exposure; duplicated ids: {_ids_text(pd.unique(dup))}. "
                         "For data already in (start, stop] form use check_intervals/td_coxph.")
    T = _numeric(data, time)
    E = _numeric(data, event)
    X = _numeric(data, exposure_time)
    problems = []
    bad = ~np.isfinite(T)
    if bad.any():
        problems.append(f"{time!r} missing or not finite for ids {_ids_text(ids[bad])}")
    bad = np.isfinite(T) & (T <= 0)
    if bad.any():
        problems.append(f"{time!r} must be > 0 (a (0, 0] interval does not exist); ids "
                        f"{_ids_text(ids[bad])}: values {T[bad][:10].tolist()}. Fix the dates, "
                        "or give same-day events a small positive time (e.g. 0.5 day)")
    bad = ~np.isfinite(E) | (E < 0) | (E != np.round(E))
    if bad.any():
        problems.append(f"{event!r} must be a non-negative integer code (0 = censored); ids "
                        f"{_ids_text(ids[bad])}")
    bad = np.isinf(X)
    if bad.any():
        problems.append(f"{exposure_time!r} must be finite or NaN (never exposed); ids "
                        f"{_ids_text(ids[bad])}")
    bad = np.isfinite(X) & (X < 0)
    if bad.any():
        problems.append(f"{exposure_time!r} is negative (treatment before time zero) for ids "
                        f"{_ids_text(ids[bad])}: values {X[bad][:10].tolist()}. Check the time "
                        "zero of the analysis: a treatment given before it defines a baseline "
                        "group, not a time-dependent exposure")
    if problems:
        raise InputError("split_at_exposure: invalid input:\n  - " + "\n  - ".join(problems))

    from ._aeq import aeq_snap
    T, X = aeq_snap(T, X)   # near-ties of exposure and follow-up merged, as R timefix
    after = np.isfinite(X) & (X > T)
    if after.any():
        warnings.warn(f"split_at_exposure: {int(after.sum())} patient(s) have {exposure_time!r} "
                      f"after the end of follow-up; the exposure is ignored (counted unexposed): "
                      f"ids {_ids_text(ids[after])}", DataQualityWarning, stacklevel=2)
    x = X.copy()
    same = np.isfinite(x) & (x == T)
    if same_day_rule == "exposed":
        moved = same & (T - same_day_offset > 0)
        x[moved] = T[moved] - same_day_offset
        # a same-day treatment with follow-up <= offset: exposed from time zero
        x[same & ~moved] = 0.0
    # otherwise x == T falls in the "ignored" branch below
    exp0 = np.isfinite(x) & (x == 0)
    split = np.isfinite(x) & (x > 0) & (x < T)

    if keep is None:
        keep = [c for c in data.columns if c not in (id, time, event, exposure_time)]
    else:
        keep = list(keep)
        _require_columns(data, keep)
        keep = [c for c in keep if c not in (id, time, event, exposure_time)]
    clash = [c for c in keep if c in ("tstart", "tstop", exposure_name)]
    if clash:
        raise InputError(f"columns {clash} would be overwritten by the split; rename them or "
                         "pass keep= without them")

    n = len(data)
    # Rows of the output, in order: each patient's first piece, then (if split) its
    # second piece. Written in place at each patient's offset: O(n), no sort.
    pieces = 1 + split.astype(np.int64)
    first = np.cumsum(pieces) - pieces            # output row of each patient's first piece
    second = first[split] + 1
    n_out = n + int(second.size)
    rows_pos = np.repeat(np.arange(n), pieces)
    tstart = np.zeros(n_out)
    tstop = np.empty(n_out)
    ev = np.empty(n_out, dtype=np.int64)
    ex = np.empty(n_out, dtype=np.int64)
    tstop[first] = np.where(split, x, T)
    ev[first] = np.where(split, 0, E)
    ex[first] = exp0
    tstart[second] = x[split]
    tstop[second] = T[split]
    ev[second] = E[split]
    ex[second] = 1

    # self-check: the pieces must partition each patient's follow-up (0, T] -- first
    # piece from 0, contiguous, none empty, ending at T, the event code on the last piece
    last = first + split
    ok = (np.all(tstop > tstart) and np.all(tstart[first] == 0)
          and np.array_equal(tstart[second], tstop[second - 1])
          and np.array_equal(tstop[last], T) and np.array_equal(ev[last], E.astype(np.int64))
          and not np.any(ev[second - 1]))
    # one take of the carried columns (a per-column loop of setitem costs ~1 ms per column)
    ids_out = data[id].iloc[rows_pos].reset_index(drop=True)   # .iloc keeps the dtype
    out = pd.DataFrame({id: ids_out, "tstart": tstart, "tstop": tstop, event: ev,
                        exposure_name: ex})
    keep = list(dict.fromkeys(keep))
    if keep:
        if data.columns.is_unique:
            body = data.iloc[rows_pos, data.columns.get_indexer(keep)]
        else:
            body = pd.DataFrame({c: data[c].iloc[rows_pos] for c in keep})
        body = body.set_axis(pd.RangeIndex(n_out), axis=0)
        out = pd.concat([out, body], axis=1)
    if not ok:   # pragma: no cover - a bug of this function, never user data
        chk = check_intervals(out, id=id, start="tstart", stop="tstop", event=event)
        raise AplcohortError("split_at_exposure produced intervals that do not partition the "
                             "follow-up; please report this bug:\n" + str(chk))
    return out


# ----------------------------------------------------------------------------------
# checking (start, stop] data
# ----------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class IntervalCheck(Result):
    """Report of every problem in (start, stop] data (like R ``survcheck``).

    Attributes
    ----------
    problems : DataFrame
        ``[row, id, problem, start, stop, detail]``: one line per problem found.
        ``problem`` is one of ``"missing value"``, ``"zero-length interval"``,
        ``"start after stop"``, ``"overlap"``, ``"gap"``, ``"event not on last
        interval"``, ``"invalid event code"``.
    n_ids, n_rows : int
    """

    problems: pd.DataFrame
    n_ids: int
    n_rows: int
    kind = "interval_check"

    @property
    def ok(self) -> bool:
        return len(self.problems) == 0

    @property
    def counts(self) -> pd.DataFrame:
        c = self.problems.groupby("problem", sort=True).agg(
            n_rows=("row", "size"), n_ids=("id", "nunique")).reset_index()
        return c[["problem", "n_rows", "n_ids"]]

    @property
    def title(self) -> str:
        return ("Interval check: OK" if self.ok else
                f"Interval check: {len(self.problems)} problem(s)")

    @property
    def choices(self) -> dict:
        return {"intervals": "(start, stop]", "patients": self.n_ids, "rows": self.n_rows}

    @property
    def tables(self) -> dict:
        return {"problems by type": self.counts, "problems": self.problems} if not self.ok else {}


def check_intervals(df: pd.DataFrame, id: str, start: str, stop: str,
                    event: str | None = None) -> IntervalCheck:
    """Report every problem of (start, stop] counting-process data.

    Checks, per patient: missing values; zero-length (``start == stop``) and
    reversed (``start > stop``) intervals; overlaps and gaps between consecutive
    intervals (sorted by ``start``); and, when ``event`` is given, invalid event
    codes and an event on an interval that is not the patient's last.

    Parameters
    ----------
    df : DataFrame
    id, start, stop : str
        Column names.
    event : str, optional
        Event column (0 = censored).

    Returns
    -------
    IntervalCheck
        ``.ok`` is True when no problem was found; ``.problems`` lists them all
        (rows are positional indices into ``df``).

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"id": [1, 1, 2, 2], "a": [0, 5, 0, 4], "b": [5, 9, 3, 6]})
    >>> check_intervals(d, "id", "a", "b").problems[["id", "problem"]]
       id problem
    0   2     gap

    Validated against: hand-built data sets with one problem of each kind (tests),
    and the R ``tmerge`` output for ``jasa`` (no problem).
    """
    _require_columns(df, [id, start, stop, event], "check_intervals")
    n = len(df)
    s = _numeric(df, start)
    t = _numeric(df, stop)
    ids = df[id].to_numpy()
    rows = []

    def add(i, problem, detail):
        rows.append({"row": int(i), "id": ids[i], "problem": problem,
                     "start": s[i], "stop": t[i], "detail": detail})

    miss = df[id].isna().to_numpy() | ~np.isfinite(s) | ~np.isfinite(t)
    if event is not None:
        e = _numeric(df, event)
        miss |= np.isnan(e)
        badcode = ~np.isnan(e) & ((e < 0) | (e != np.round(e)) | np.isinf(e))
        for i in np.flatnonzero(badcode):
            add(i, "invalid event code", f"{event}={e[i]!r}; use 0 = censored, 1, 2... = event")
    for i in np.flatnonzero(miss):
        add(i, "missing value", f"missing/non-finite {id}, {start} or {stop}"
            + (f" or {event}" if event is not None else ""))
    ok = ~miss
    for i in np.flatnonzero(ok & (s == t)):
        add(i, "zero-length interval", f"{start} == {stop} == {s[i]!r}")
    for i in np.flatnonzero(ok & (s > t)):
        add(i, "start after stop", f"{start}={s[i]!r} > {stop}={t[i]!r}")

    idx = np.flatnonzero(ok)
    if idx.size:
        codes, _ = pd.factorize(pd.Series(ids[idx]))
        order = np.lexsort((t[idx], s[idx], codes))
        o = idx[order]
        c = codes[order]
        same = c[1:] == c[:-1]
        prev, nxt = o[:-1][same], o[1:][same]
        for i, j in zip(prev[t[prev] > s[nxt]], nxt[t[prev] > s[nxt]]):
            add(j, "overlap", f"({s[j]!r}, {t[j]!r}] overlaps the previous interval "
                f"({s[i]!r}, {t[i]!r}] (row {i})")
        for i, j in zip(prev[t[prev] < s[nxt]], nxt[t[prev] < s[nxt]]):
            add(j, "gap", f"gap ({t[i]!r}, {s[j]!r}] after the previous interval (row {i}); "
                "if the patient was truly not at risk, this is fine for Cox/KM but not for "
                "split_at_exposure output")
        if event is not None:
            e = _numeric(df, event)
            for j in prev[(e[prev] > 0)]:
                add(j, "event not on last interval",
                    f"{event}={e[j]!r} but the patient has later intervals")
    cols = ["row", "id", "problem", "start", "stop", "detail"]
    prob = pd.DataFrame(rows, columns=cols)
    if len(prob):
        prob = prob.sort_values(["row", "problem"], kind="stable").reset_index(drop=True)
    n_ids = int(pd.Series(ids).nunique())
    return IntervalCheck(problems=prob, n_ids=n_ids, n_rows=n)


def collapse_intervals(df: pd.DataFrame, id: str, start: str, stop: str,
                       event: str) -> pd.DataFrame:
    """Collapse (start, stop] rows back to one row per patient.

    Returns a DataFrame ``[id, "entry", "exit", event, "n_intervals"]``: the first
    start, the last stop, the event code of the last interval and the number of
    intervals (in order of first appearance of the id). Intended for checking
    that a split reproduces the original follow-up.

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"id": [1, 1], "a": [0.0, 4.0], "b": [4.0, 9.0], "d": [0, 1]})
    >>> collapse_intervals(d, "id", "a", "b", "d")
       id  entry  exit  d  n_intervals
    0   1    0.0   9.0  1            2

    Validated against: round trip with :func:`split_at_exposure` (hypothesis tests).
    """
    _require_columns(df, [id, start, stop, event], "collapse_intervals")
    d = df[[id, start, stop, event]].copy()
    d["_o"] = np.arange(len(d))
    d = d.sort_values([id, start, "_o"], kind="stable")
    g = d.groupby(id, sort=False)
    out = pd.DataFrame({"entry": g[start].first(), "exit": g[stop].last(),
                        event: g[event].last(), "n_intervals": g.size()})
    first_seen = df.drop_duplicates(id)[id]
    out = out.loc[first_seen.to_numpy()].reset_index().rename(columns={"index": id})
    out.columns = [id, "entry", "exit", event, "n_intervals"]
    return out


# ----------------------------------------------------------------------------------
# immortal-time guard
# ----------------------------------------------------------------------------------
_UNIT_DAYS = {"days": 1.0, "weeks": 7.0, "months": 365.25 / 12.0, "years": 365.25}


def _delay(data: pd.DataFrame, col: str, time_zero: str | None, unit: str) -> np.ndarray:
    """Treatment start as time since time zero (NaN = not treated)."""
    s = data[col]
    if pd.api.types.is_datetime64_any_dtype(s):
        if time_zero is None:
            raise InputError(f"column {col!r} holds dates; pass time_zero= (the column with the "
                             "date of time zero, e.g. the CR2 date) to turn it into a delay")
        _require_columns(data, [time_zero])
        z = data[time_zero]
        if not pd.api.types.is_datetime64_any_dtype(z):
            raise InputError(f"time_zero column {time_zero!r} must hold dates (datetime64), got "
                             f"{z.dtype}")
        if unit not in _UNIT_DAYS:
            raise InputError(f"unit must be one of {sorted(_UNIT_DAYS)}, got {unit!r}")
        days = (s - z).dt.total_seconds().to_numpy(dtype=float, na_value=np.nan) / 86400.0
        return days / _UNIT_DAYS[unit]
    return _numeric(data, col)


@dataclass(frozen=True, eq=False)
class ImmortalTimeCheck(Result):
    """Result of :func:`immortal_time_check`.

    Attributes
    ----------
    table : DataFrame
        ``[group, column, n, n_start_known, n_start_after_zero, median_delay,
        min_delay, max_delay, n_start_after_followup, n_others_ended_before_median]``,
        one row per group. ``n_others_ended_before_median``: patients of the
        other groups whose follow-up ended before this group's median delay (they
        could not have joined it).
    flagged : tuple
        Groups whose defining treatment starts after time zero.
    message : str
        The warning text ("" when nothing was flagged).
    """

    table: pd.DataFrame
    flagged: tuple
    message: str
    group_column: str
    delay_unit: str
    kind = "immortal_time_check"

    @property
    def immortal_time_risk(self) -> bool:
        return len(self.flagged) > 0

    @property
    def title(self) -> str:
        return ("Immortal-time check: groups defined after time zero" if self.flagged
                else "Immortal-time check: no treatment starting after time zero")

    @property
    def choices(self) -> dict:
        return {"group": self.group_column, "delay unit": self.delay_unit,
                "flagged": ", ".join(str(g) for g in self.flagged) or "none"}

    @property
    def tables(self) -> dict:
        return {"treatment start by group": self.table}


def immortal_time_check(data: pd.DataFrame, *, time: str, group: str, treatment_time,
                        time_zero: str | None = None, unit: str | None = None,
                        tolerance: float = 0.0, warn: bool = True) -> ImmortalTimeCheck:
    """Detect groups defined by a treatment that starts after time zero.

    Parameters
    ----------
    data : DataFrame
        One row per patient.
    time : str
        Follow-up time from time zero.
    group : str
        The grouping column being compared (e.g. post-remission therapy
        ``"ATO-based" / "auto" / "allo"``).
    treatment_time : str or dict
        Either one column with the start of the group-defining treatment
        (NaN where there is none), or a dict ``{group label: column}`` naming the
        start column of each group's treatment (groups not in the dict are not
        checked). Columns hold times since time zero, or dates (then give
        ``time_zero``).
    time_zero : str, optional
        Column with the date of time zero, needed when treatment columns are dates.
    unit : {"days", "weeks", "months", "years"}, optional
        Unit of the delays computed from dates (must match ``time``; default
        "days"); with numeric columns it only labels the delays in the message.
    tolerance : float
        Delays ``<= tolerance`` count as "at time zero" (default 0).
    warn : bool
        Emit :class:`~aplcohort.errors.ImmortalTimeWarning` when a group is
        flagged (default True).

    Returns
    -------
    ImmortalTimeCheck

    Examples
    --------
    >>> import numpy as np, pandas as pd, warnings
    >>> df = pd.DataFrame({"t": [30., 50., 20., 90.], "grp": ["allo", "allo", "none", "none"],
    ...                    "hsct": [40., 35., np.nan, np.nan]})
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     chk = immortal_time_check(df, time="t", group="grp", treatment_time="hsct")
    >>> chk.flagged
    ('allo',)
    >>> float(chk.table.loc[0, "median_delay"])
    37.5

    Validated against: hand-built cohorts (tests); the rule is a data check, not an
    estimate.
    """
    warn = check_bool("warn", warn)
    _require_columns(data, [time, group])
    if isinstance(treatment_time, dict):
        colmap = {g: c for g, c in treatment_time.items()}
    elif isinstance(treatment_time, str):
        colmap = None
    else:
        raise InputError("treatment_time must be a column name or a dict {group label: column}")
    cols = list(colmap.values()) if colmap is not None else [treatment_time]
    _require_columns(data, cols)
    if data[group].isna().any():
        raise InputError(f"column {group!r} has missing group labels at rows "
                         f"{_ids_text(np.flatnonzero(data[group].isna().to_numpy()))}")
    T = _numeric(data, time)
    labels = data[group].to_numpy()
    uniq = sorted(pd.unique(labels), key=lambda v: (str(type(v)), v))
    if colmap is not None:
        unknown = [g for g in colmap if g not in set(uniq)]
        if unknown:
            raise InputError(f"treatment_time names groups {unknown} not found in column "
                             f"{group!r} (groups: {uniq})")
    date_unit = unit or "days"
    delays = {c: _delay(data, c, time_zero, date_unit) for c in cols}
    any_dates = any(pd.api.types.is_datetime64_any_dtype(data[c]) for c in cols)
    unit_label = date_unit if any_dates else (unit or "time units")
    rows, flagged, parts = [], [], []
    for g in uniq:
        col = (colmap.get(g) if colmap is not None else treatment_time)
        m = labels == g
        base = {"group": g, "column": col, "n": int(m.sum())}
        if col is None:
            rows.append({**base, "n_start_known": 0, "n_start_after_zero": 0,
                         "median_delay": np.nan, "min_delay": np.nan, "max_delay": np.nan,
                         "n_start_after_followup": 0, "n_others_ended_before_median": 0})
            continue
        d = delays[col][m]
        known = np.isfinite(d)
        dk = d[known]
        after = int((dk > tolerance).sum())
        med = float(np.median(dk)) if dk.size else np.nan
        n_end = int(((~m) & (T < med)).sum()) if np.isfinite(med) else 0
        rows.append({**base, "n_start_known": int(known.sum()), "n_start_after_zero": after,
                     "median_delay": med,
                     "min_delay": float(dk.min()) if dk.size else np.nan,
                     "max_delay": float(dk.max()) if dk.size else np.nan,
                     "n_start_after_followup": int((dk > T[m][known]).sum()),
                     "n_others_ended_before_median": n_end})
        if after:
            flagged.append(g)
            parts.append(f"{g!r} (column {col!r}: {after} of {int(m.sum())} patients start "
                         f"after time zero, median delay {med:.4g} {unit_label}"
                         f"; {n_end} patient{'' if n_end == 1 else 's'} of other groups had "
                         "already died or been censored by then)")
    table = pd.DataFrame(rows, columns=["group", "column", "n", "n_start_known",
                                        "n_start_after_zero", "median_delay", "min_delay",
                                        "max_delay", "n_start_after_followup",
                                        "n_others_ended_before_median"])
    msg = ""
    if flagged:
        msg = (f"Immortal-time bias risk: groups of {group!r} are defined by a treatment that "
               f"starts after time zero: " + "; ".join(parts) + ". A comparison from time zero "
               "credits the waiting time to the treated group(s). " + IMMORTAL_TIME_ADVICE)
        if warn:
            warnings.warn(msg, ImmortalTimeWarning, stacklevel=2)
    return ImmortalTimeCheck(table=table, flagged=tuple(flagged), message=msg,
                             group_column=group,
                             delay_unit=unit_label)


# ----------------------------------------------------------------------------------
# Cox with a time-dependent exposure, Mantel-Byar
# ----------------------------------------------------------------------------------
def _counting_data(data, *, time, event, id, exposure_time, start, exposure_name,
                   same_day_rule, same_day_offset, caller, keep=None):
    """Return (split data, start column, stop column, exposure column).

    ``keep``: the columns the caller's model reads (default all), carried into the split
    rows (at 1e6 rows, carrying every column was most of the split's time and memory).
    """
    if (exposure_time is None) == (start is None):
        raise InputError(f"{caller}: give exactly one of exposure_time= (one row per patient, "
                         "split here at the treatment start) or start= (data already in "
                         "(start, stop] form, with the exposure column named by exposure=)")
    if exposure_time is not None:
        if id is None:
            raise InputError(f"{caller}: id= (the patient id column) is needed to split the "
                             "follow-up at exposure_time")
        d = split_at_exposure(data, id=id, time=time, event=event, exposure_time=exposure_time,
                              exposure_name=exposure_name, same_day_rule=same_day_rule,
                              same_day_offset=same_day_offset, keep=keep)
        if keep is not None:   # after the split's own checks, as with its default keep
            _check_no_clash(data, id=id, time=time, event=event, exposure_time=exposure_time,
                            exposure_name=exposure_name)
        return d, "tstart", "tstop"
    _require_columns(data, [start, time, event, id, exposure_name])
    if id is not None:
        chk = check_intervals(data, id=id, start=start, stop=time, event=event)
        bad = chk.problems[chk.problems["problem"] != "gap"]
        if len(bad):
            raise InputError(f"{caller}: the (start, stop] data have problems (gaps are allowed, "
                             f"these are not):\n{bad[['row', 'id', 'problem', 'detail']].to_string(index=False)}")
    return data, start, time


def td_coxph(data: pd.DataFrame, *, time: str, event: str, covariates=(), id: str | None = None,
             exposure_time: str | None = None, start: str | None = None,
             exposure: str = "exposed", same_day_rule: str = "unexposed",
             same_day_offset: float = 0.5, categorical=None, strata=None, ties: str = "efron",
             robust: bool = False, conf_level: float = 0.95):
    """Cox regression with a time-dependent treatment exposure.

    Two ways to call it:

    * one row per patient with ``exposure_time=`` (treatment start; NaN = never):
      the follow-up is split here with :func:`split_at_exposure` and the 0/1
      exposure column ``exposure`` is added as the FIRST term;
    * data already in (start, stop] form with ``start=`` (``time`` is then the stop
      column) and the exposure column named by ``exposure`` (which must also be
      listed in ``covariates`` if it is to be in the model; it is prepended if
      missing). When ``id`` is given the intervals are checked (overlaps,
      zero-length intervals, an event before the last interval raise
      :class:`~aplcohort.errors.InputError`; gaps are allowed).

    Parameters
    ----------
    data : DataFrame
    time, event : str
        Follow-up (stop) time and 0/1 event columns.
    covariates : sequence of str
        Baseline covariates (fixed over a patient's intervals) or other
        time-varying columns of (start, stop] data.
    id : str
        Patient id; required with ``exposure_time`` and with ``robust``.
    exposure_time, start : str
        See above (exactly one).
    exposure : str
        Name of the exposure column (created when splitting).
    same_day_rule, same_day_offset
        See :func:`split_at_exposure`.
    categorical, strata, ties, conf_level
        As :func:`aplcohort.stats.cox.coxph`.
    robust : bool
        Robust (sandwich) SE clustered on ``id`` (R ``cluster = id``); True or False.
        The default False is R's ``coxph(..., id = id)`` default whenever no patient has
        more than one event (always so with ``exposure_time=``): R switches to the robust
        variance by itself only when some id has more than one event (recurrent events in
        the ``start=`` form), not because a patient has several rows. Pass
        ``robust=True`` for R's ``cluster = id`` fit.

    A missing value in a covariate or strata column raises
    :class:`~aplcohort.errors.InputError` naming the patient ids (or, without ``id``, the
    row labels of ``data``) and the columns to drop or impute.

    Returns
    -------
    CoxResult
        As :func:`aplcohort.stats.cox.coxph`; ``choices`` also records the
        exposure column and the same-day rule.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> df = pd.DataFrame({"pid": range(8), "t": [9., 4., 12., 11., 15., 3., 10., 6.],
    ...                    "d": [1, 1, 0, 0, 0, 1, 1, 0],
    ...                    "tx": [3., np.nan, 5., np.nan, 2., np.nan, 8., 1.]})
    >>> res = td_coxph(df, time="t", event="d", id="pid", exposure_time="tx")
    >>> list(res.terms["term"])
    ['exposed']

    Validated against: R ``coxph(Surv(tstart, tstop, death) ~ transplant + age +
    surgery, ties = "efron"/"breslow", cluster = id)`` on ``tmerge``-built Stanford
    heart transplant data and on ``survival::heart`` (rel. diff. < 1e-9).
    """
    from ._design import as_columns, check_complete
    from .cox import coxph

    robust = check_bool("robust", robust)
    covariates = as_columns(covariates, "covariates")
    strata_cols = as_columns(strata, "strata")
    used = [c for c in covariates + strata_cols
            if isinstance(c, str) and c in getattr(data, "columns", ()) and c != exposure]
    if isinstance(data, pd.DataFrame):
        # missing model values are reported on the user's rows, by patient id, before the
        # split (the split's rows are not the user's); the (start, stop] form's exposure
        # column is the user's too
        mine = list(dict.fromkeys(used + ([exposure] if start is not None and exposure in
                                          data.columns else [])))
        ids = data[id].to_numpy() if id is not None and id in data.columns else None
        check_complete(data, mine, id=ids)
    d, s, t = _counting_data(data, time=time, event=event, id=id, exposure_time=exposure_time,
                             start=start, exposure_name=exposure, same_day_rule=same_day_rule,
                             same_day_offset=same_day_offset, caller="td_coxph",
                             keep=used)
    covs = [c for c in covariates]
    if exposure not in covs:
        covs = [exposure] + covs
    if robust and id is None:
        raise InputError("td_coxph: robust=True needs id= (several rows belong to one patient; "
                         "the sandwich variance is clustered on the patient, R cluster = id)")
    res = coxph(d, time=t, event=event, covariates=covs, entry=s, categorical=categorical,
                strata=strata, ties=ties, robust=robust, cluster=id if robust else None,
                conf_level=conf_level)
    ch = dict(res.choices)
    ch["time-dependent exposure"] = exposure
    ch["data"] = ("split here at " + repr(exposure_time)) if exposure_time else "(start, stop] as given"
    if exposure_time is not None:
        ch["same_day_rule"] = same_day_rule
    import dataclasses as _dc
    return _dc.replace(res, _choices=ch)


@dataclass(frozen=True, eq=False)
class MantelByarResult(Result):
    """Mantel–Byar test of a time-dependent exposure.

    Attributes
    ----------
    statistic, df, p : float
        Score test of the exposure in a Cox model on (start, stop] data (R
        ``coxph(Surv(tstart, tstop, event) ~ exposed)$score``), chi-square on 1 df.
    test : str
    table : DataFrame
        ``[exposure state, exposed, observed, expected, o_minus_e, variance]``: events
        observed in unexposed / exposed person-time (``exposure state`` "before X" /
        "after X", X the ``exposure=`` name, or the ``exposure_time`` column when the
        exposure keeps its default name "exposed" -- with neither, "not exposed" /
        "exposed"; ``exposed`` the 0/1 code) and expected under no exposure effect
        (``sum_t d_t * n_{1t} / n_t`` over event times, risk sets by current
        exposure status); ``variance`` is the hypergeometric variance of O − E.
    n_patients, n_rows, events : int
    ties : str
    note : str
        Why ``statistic`` and ``p`` are NaN when they are; "" otherwise.
    """

    statistic: float
    df: int
    p: float
    test: str
    table: pd.DataFrame
    n_patients: int
    n_rows: int
    events: int
    ties: str
    note: str = ""
    kind = "mantel_byar"

    @property
    def title(self) -> str:
        return "Mantel–Byar test (time-dependent exposure)"

    @property
    def choices(self) -> dict:
        return {"test": self.test, "ties": self.ties, "risk sets": "current exposure status"}

    @property
    def tables(self) -> dict:
        return {"test": pd.DataFrame({"test": [self.test], "statistic": [self.statistic],
                                      "df": [self.df], "p": [self.p], "note": [self.note]}),
                "observed and expected events": self.table}


def _state_labels(exposure, exposure_time=None) -> tuple:
    """Names of the exposure states 0 / 1 in result tables: "before X" / "after X", X the
    exposure's own name, or the ``exposure_time`` column when the exposure column keeps
    its default name ("exposed"); "not exposed" / "exposed" when neither says more."""
    if exposure == "exposed":
        if exposure_time is None:
            return ("not exposed", "exposed")
        exposure = exposure_time
    return (f"before {exposure}", f"after {exposure}")


def _observed_expected(start, stop, event, x):
    """O, E and hypergeometric V for the exposed, risk sets (start, stop]."""
    tt = np.unique(stop[event == 1])
    ss = np.sort(start)
    st_ = np.sort(stop)
    s1 = np.sort(start[x == 1])
    t1 = np.sort(stop[x == 1])
    # at risk at t: start < t <= stop  ->  #(start < t) - #(stop < t)
    n = np.searchsorted(ss, tt, "left") - np.searchsorted(st_, tt, "left")
    n1 = np.searchsorted(s1, tt, "left") - np.searchsorted(t1, tt, "left")
    dstop = stop[event == 1]
    d = np.searchsorted(np.sort(dstop), tt, "right") - np.searchsorted(np.sort(dstop), tt, "left")
    p1 = n1 / n
    E1 = float(np.sum(d * p1))
    with np.errstate(invalid="ignore", divide="ignore"):
        v = np.where(n > 1, d * p1 * (1 - p1) * (n - d) / (n - 1), 0.0)
    O1 = float(np.sum((event == 1) & (x == 1)))
    return O1, E1, float(np.sum(v)), float(np.sum(event == 1))


def mantel_byar(data: pd.DataFrame, *, time: str, event: str, id: str | None = None,
                exposure_time: str | None = None, start: str | None = None,
                exposure: str = "exposed", same_day_rule: str = "unexposed",
                same_day_offset: float = 0.5, ties: str = "efron") -> MantelByarResult:
    """Mantel–Byar test: does a treatment that starts during follow-up change the hazard?

    The score test of the time-dependent 0/1 exposure in a Cox model on
    (start, stop] data (patients count as unexposed until treatment starts).
    Called like :func:`td_coxph` (``exposure_time=`` to split here, or ``start=``
    for data already in (start, stop] form).

    Parameters
    ----------
    data : DataFrame
    time, event, id, exposure_time, start, exposure, same_day_rule, same_day_offset
        As :func:`td_coxph`.
    ties : {"efron", "breslow"}
        Tie handling of the Cox score test (R default "efron").

    Returns
    -------
    MantelByarResult

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> df = pd.DataFrame({"pid": range(6), "t": [9., 4., 12., 7., 15., 3.],
    ...                    "d": [1, 1, 0, 1, 0, 1], "tx": [3., np.nan, 5., np.nan, 2., np.nan]})
    >>> r = mantel_byar(df, time="t", event="d", id="pid", exposure_time="tx")
    >>> r.df, r.table["observed"].tolist()
    (1, [3.0, 1.0])

    Validated against: R ``coxph(Surv(tstart, tstop, death) ~ transplant)$score``
    (Efron and Breslow) on the Stanford heart transplant data (tmerge-built and
    ``survival::heart``), O/E and variance against a hand loop in R.
    """
    # chdtrc is what scipy.stats.chi2.sf evaluates (same bits); scipy.stats takes ~1 s to
    # import, which a notebook calling mantel_byar alone should not pay
    from scipy.special import chdtrc

    from ..errors import ConvergenceWarning
    from .cox import _coxph

    d, s, t = _counting_data(data, time=time, event=event, id=id, exposure_time=exposure_time,
                             start=start, exposure_name=exposure, same_day_rule=same_day_rule,
                             same_day_offset=same_day_offset, caller="mantel_byar", keep=[])
    xv = d[exposure]
    if not set(pd.unique(xv.dropna()).tolist()) <= {0, 1}:
        raise InputError(f"mantel_byar: exposure column {exposure!r} must be coded 0/1")
    O1, E1, V, D = _observed_expected(d[s].to_numpy(float), d[t].to_numpy(float),
                                      d[event].to_numpy(float), xv.to_numpy(float))
    table = pd.DataFrame({"exposure state": list(_state_labels(exposure, exposure_time)),
                          "exposed": [0, 1], "observed": [D - O1, O1], "expected": [D - E1, E1],
                          "o_minus_e": [E1 - O1, O1 - E1], "variance": [V, V]},
                         columns=["exposure state", "exposed", "observed", "expected",
                                  "o_minus_e", "variance"])
    if D == 0:  # no Cox score test without events (coxph would stop): not estimable, why
        stat, note = float("nan"), "there are no events: the score test is not defined"
    else:
        with warnings.catch_warnings():
            # the score test is evaluated at beta = 0, so no Newton step is taken (max_iter=0:
            # the same statistic, bit for bit, without fitting a model nothing reads); the
            # "did not converge" warning that comes with it means nothing here
            warnings.simplefilter("ignore", ConvergenceWarning)
            res = _coxph(d, time=t, event=event, covariates=[exposure], entry=s, ties=ties,
                         max_iter=0)
        stat = float(res.tests.set_index("test").loc["score", "statistic"])
        note = ""
        if not (np.isfinite(stat) and V > 0):
            note = ("the exposure does not vary within the risk sets at the event times (no "
                    "event time has both exposed and unexposed patients at risk): the score "
                    "test is not defined")
            stat = float("nan")
    if note:
        warnings.warn(f"mantel_byar: {note}", StatisticalWarning, stacklevel=2)
    return MantelByarResult(statistic=stat, df=1,
                            p=float(chdtrc(1, stat)) if not note else float("nan"),
                            test="Mantel-Byar (Cox score test, time-dependent exposure)",
                            table=table,
                            n_patients=int(d[id].nunique()) if id is not None else int(len(d)),
                            n_rows=int(len(d)), events=int(D), ties=ties, note=note)


# ----------------------------------------------------------------------------------
# Simon-Makuch curves
# ----------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class SimonMakuchResult(CurveShape, Result):
    """Simon–Makuch curves: Kaplan–Meier by current exposure status (the curve shape).

    Attributes
    ----------
    km : KMResult
        The curves (R ``survfit(Surv(tstart, tstop, event) ~ exposed)``); group
        labels are the exposure values 0 / 1.
    exposure : str
        Exposure column.
    same_day_rule : str or None
        Rule used when the data were split here (None for given (start, stop] data).
    mantel_byar : MantelByarResult or None
        The Mantel–Byar test of the same data (Efron ties; None when only one
        exposure level is present).
    note : str or None
        When only one exposure state occurs in the whole follow-up (nobody exposed
        during follow-up, or everyone exposed from the start): which curve is
        missing and why (``simon_makuch`` also warns with it); None otherwise.

    Methods
    -------
    risk_table(times)
        Patients in each curve at chosen times and how they moved between curves.
    median(), at(times)
        Those of :attr:`km` (curve shape of :mod:`aplcohort.stats.shapes`).
    """

    km: object
    exposure: str
    same_day_rule: str | None
    mantel_byar: object = None
    _split: pd.DataFrame = field(default=None, repr=False)
    _cols: tuple = field(default=(), repr=False)
    kind = "simon_makuch"

    @property
    def table(self) -> pd.DataFrame:
        return self.km.table

    @property
    def groups(self) -> tuple:
        return self.km.groups

    @property
    def split_data(self) -> pd.DataFrame:
        """The (start, stop] data the curves were computed from (a copy)."""
        return self._split.copy()

    @property
    def note(self) -> str | None:
        present = set(self.km.groups)
        if len(present) != 1:
            return None
        return _one_state_note(next(iter(present)))

    curve = "survival"

    @property
    def conf_type(self) -> str:
        return self.km.conf_type

    @property
    def conf_level(self) -> float:
        return self.km.conf_level

    @property
    def start_time(self) -> float:
        return self.km.start_time

    def median(self) -> pd.DataFrame:
        return self.km.median()

    def at(self, times, *, extend=False) -> pd.DataFrame:
        return self.km.at(times, extend=extend)

    def risk_table(self, times) -> pd.DataFrame:
        """Patients in each curve at ``times`` and the moves between curves.

        Returns
        -------
        DataFrame ``[group, time, n_risk, n_entered, n_switched_out, n_events,
        n_censored, cum_entered, cum_switched_out, cum_events, cum_censored]``
        (``times`` sorted). ``n_risk`` counts the intervals (tstart, tstop] of that
        exposure group that contain ``t`` (at the earliest start time: the
        intervals starting there), so a patient who dies at ``t`` is still at
        risk at ``t`` (R convention). The cumulative counts are of what happened
        strictly before ``t``: intervals entered after the start (treatment
        started: the patient moved into this curve), intervals left by a switch
        (the patient moved to the other curve), events, and censorings (end of
        follow-up without event). The ``n_*`` columns are the same counts per
        interval ``[previous time, t)`` (the first row: everything before the
        first time). Hence, for each group and ``t`` after the start,
        ``n_risk = n at start + cum_entered - cum_switched_out - cum_events -
        cum_censored``.
        """
        idc, s_c, t_c, e_c = self._cols
        d = self._split
        tt = np.sort(np.asarray(times, dtype=float))
        if tt.size == 0 or not np.all(np.isfinite(tt)):
            raise InputError("risk_table: times must be a non-empty sequence of finite numbers")
        s = d[s_c].to_numpy(float)
        t = d[t_c].to_numpy(float)
        e = d[e_c].to_numpy(float)
        # a row ends with a switch if the same patient has a later row
        nxt_same = np.zeros(len(d), dtype=bool)
        o = np.lexsort((s, pd.factorize(d[idc])[0]))
        ids_o = d[idc].to_numpy()[o]
        nxt_same[o[:-1]] = ids_o[1:] == ids_o[:-1]
        t0 = float(s.min())
        x = d[self.exposure].to_numpy()
        rows = []
        for g in self.km.groups:
            m = x == g
            sg, tg, eg, sw = s[m], t[m], e[m], nxt_same[m]
            for ti in tt:
                if ti <= t0:
                    nr = int(np.sum((sg <= ti) & (tg > ti)))
                else:
                    nr = int(np.sum((sg < ti) & (tg >= ti)))
                before = tg < ti
                rows.append({"group": g, "time": ti, "n_risk": nr,
                             "cum_entered": int(np.sum((sg > t0) & (sg < ti))),
                             "cum_switched_out": int(np.sum(before & sw)),
                             "cum_events": int(np.sum(before & ~sw & (eg > 0))),
                             "cum_censored": int(np.sum(before & ~sw & (eg == 0)))})
        out = pd.DataFrame(rows, columns=["group", "time", "n_risk", "cum_entered",
                                          "cum_switched_out", "cum_events", "cum_censored"])
        for c in ("entered", "switched_out", "events", "censored"):
            out["n_" + c] = out.groupby("group", sort=False)["cum_" + c].diff().fillna(
                out["cum_" + c]).astype(np.int64)
        return out[["group", "time", "n_risk", "n_entered", "n_switched_out", "n_events",
                    "n_censored", "cum_entered", "cum_switched_out", "cum_events",
                    "cum_censored"]]

    @property
    def title(self) -> str:
        return "Simon–Makuch curves (Kaplan–Meier by current exposure)"

    @property
    def choices(self) -> dict:
        ch = dict(self.km.choices)
        ch["exposure"] = f"{self.exposure} (current status; patients move 0 -> 1 when treated)"
        if self.same_day_rule:
            ch["same_day_rule"] = self.same_day_rule
        return ch

    @property
    def tables(self) -> dict:
        out = {"median": self.km.median(), "curve": self.km.table}
        if self.mantel_byar is not None:
            m = self.mantel_byar
            out = {"Mantel-Byar test": pd.DataFrame({"test": [m.test], "statistic": [m.statistic],
                                                     "df": [m.df], "p": [m.p]}), **out}
        return out


def _one_state_note(state) -> str:
    """Why a Simon–Makuch result has one curve only (``state``: the one that occurs)."""
    if state == 0:
        return ("no patient was exposed during follow-up: only the unexposed curve (no "
                "comparison between exposure states)")
    return ("every patient was exposed from the start of follow-up: only the exposed curve "
            "(no comparison between exposure states)")


def simon_makuch(data: pd.DataFrame, *, time: str, event: str, id: str,
                 exposure_time: str | None = None, start: str | None = None,
                 exposure: str = "exposed", same_day_rule: str = "unexposed",
                 same_day_offset: float = 0.5, conf_type: str = "log",
                 conf_level: float = 0.95) -> SimonMakuchResult:
    """Simon–Makuch curves: Kaplan–Meier by current exposure status.

    Each patient contributes to the unexposed curve until the treatment starts and
    to the exposed curve afterwards (``kaplan_meier(tstop, event,
    group=exposed, entry=tstart)`` on the split data). Called like
    :func:`td_coxph` (``exposure_time=`` to split here or ``start=`` for
    (start, stop] data).

    Parameters
    ----------
    data : DataFrame
    time, event, id, exposure_time, start, exposure, same_day_rule, same_day_offset
        As :func:`td_coxph` (``id`` is required here).
    conf_type, conf_level
        As :func:`aplcohort.stats.km.kaplan_meier` (R defaults "log", 0.95).

    Returns
    -------
    SimonMakuchResult

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> df = pd.DataFrame({"pid": range(5), "t": [9., 4., 12., 7., 15.],
    ...                    "d": [1, 1, 0, 1, 0], "tx": [3., np.nan, 5., np.nan, 2.]})
    >>> sm = simon_makuch(df, time="t", event="d", id="pid", exposure_time="tx")
    >>> sm.risk_table([0, 6])[["group", "time", "n_risk", "cum_entered", "cum_switched_out"]]
       group  time  n_risk  cum_entered  cum_switched_out
    0      0   0.0       5            0                 0
    1      0   6.0       1            0                 3
    2      1   0.0       0            0                 0
    3      1   6.0       3            3                 0

    Validated against: R ``survfit(Surv(tstart, tstop, death) ~ transplant,
    conf.type = "log"/"log-log"/"plain")`` on ``tmerge``-built Stanford heart
    transplant data and on ``survival::heart`` (time, n.risk, n.event, n.censor,
    surv, std.err, CI; rel. diff. < 1e-12); risk table by hand-worked examples.
    """
    from .km import kaplan_meier

    if id is None:
        raise InputError("simon_makuch: id= is required (to follow patients between curves)")
    d, s, t = _counting_data(data, time=time, event=event, id=id, exposure_time=exposure_time,
                             start=start, exposure_name=exposure, same_day_rule=same_day_rule,
                             same_day_offset=same_day_offset, caller="simon_makuch")
    if d[exposure].isna().any():
        raise InputError(f"simon_makuch: exposure column {exposure!r} has missing values")
    km = kaplan_meier(d[t].to_numpy(float), d[event].to_numpy(float), d[exposure].to_numpy(),
                      entry=d[s].to_numpy(float), conf_type=conf_type, conf_level=conf_level)
    mb = None
    if d[exposure].nunique() == 1:   # one state only: say which curve is missing and why
        warnings.warn("simon_makuch: " + _one_state_note(d[exposure].iloc[0]),
                      StatisticalWarning, stacklevel=2)
    if d[exposure].nunique() == 2:
        mb = mantel_byar(d, time=t, event=event, id=id, start=s, exposure=exposure)
        if exposure_time is not None:   # split here: the states are named as the user's call
            import dataclasses as _dc
            mb = _dc.replace(mb, table=mb.table.assign(**{"exposure state": list(
                _state_labels(exposure, exposure_time))}))
    return SimonMakuchResult(km=km, exposure=exposure,
                             same_day_rule=same_day_rule if exposure_time is not None else None,
                             mantel_byar=mb,
                             # split here: d is this call's own frame; given data: a copy
                             _split=(d if exposure_time is not None
                                     else d.reset_index(drop=True).copy()),
                             _cols=(id, s, t, event))


# ----------------------------------------------------------------------------------
# naive versus time-dependent / landmark, side by side
# ----------------------------------------------------------------------------------
_COMPARE_COLUMNS = ["method", "term", "estimate", "lower", "upper", "p", "n", "events", "note"]


@dataclass(frozen=True, eq=False)
class NaiveVsTimeDependent(Result):
    """Naive and immortal-time-safe analyses side by side.

    Attributes
    ----------
    table : DataFrame
        ``[method, term, estimate, lower, upper, p, n, events, note]``; ``estimate``
        is the hazard ratio of ``term`` (vs the reference / unexposed) with its
        Wald CI and p; the score-test (Mantel–Byar) row has only ``p``. ``n`` is
        patients (landmark: patients in the landmark set), ``events`` the events
        analysed.
    check : ImmortalTimeCheck
        The immortal-time check of the naive grouping.
    naive, time_dependent : CoxResult
    landmark : LandmarkResult or None
    """

    table: pd.DataFrame
    check: ImmortalTimeCheck
    naive: object
    time_dependent: object
    landmark: object
    _choices: dict = field(default_factory=dict, repr=False)
    kind = "naive_vs_timedependent"

    def __post_init__(self):
        # the level of the table's intervals goes with the table: a report printing it
        # alone (the immortal-time table of a plan analysis) heads it with this level
        cl = self._choices.get("conf_level")
        if cl is not None and isinstance(self.table, pd.DataFrame):
            self.table.attrs["conf_level"] = float(cl)

    @property
    def title(self) -> str:
        return "Naive versus time-dependent / landmark analyses (immortal-time bias)"

    @property
    def choices(self) -> dict:
        return dict(self._choices)

    @property
    def tables(self) -> dict:
        return {"comparison": self.table, "treatment start by group": self.check.table}


def compare_naive_vs_timedependent(data: pd.DataFrame, *, time: str, event: str, id: str,
                                   exposure_time: str | None = None, group: str | None = None,
                                   treatment_time=None, reference=None, covariates=(),
                                   landmarks=(), not_started_label=None,
                                   ties: str = "efron", conf_level: float = 0.95,
                                   same_day_rule: str = "unexposed") -> NaiveVsTimeDependent:
    """Show the naive (groups fixed at time zero) and the time-dependent / landmark
    analyses of a treatment that starts after time zero, side by side.

    Two forms:

    * binary: ``exposure_time=`` (treatment start, NaN = never). Naive: Cox of
      "ever treated" (``exposure_time`` not missing) from time zero.
      Time-dependent: :func:`td_coxph` and :func:`mantel_byar`. Landmark:
      exposed = treated by the landmark.
    * groups: ``group=`` with ``treatment_time=`` (one column, or a dict
      ``{group: column}``) giving the start of each patient's group-defining
      treatment (e.g. auto / allo HSCT after CR2, versus ATO-based consolidation
      without transplant). Naive: Cox of ``group`` (reference ``reference``).
      Time-dependent: the current state of each patient is their group once
      their treatment has started and, before that, the reference group (or
      ``not_started_label`` if given): only what is known at each time is used.
      Patients of a group without a start column are in it from time zero
      (typically the reference, e.g. "no transplant"). Cox of the current state
      with the same reference, and its score test (Mantel–Byar generalised to k
      states). Landmark: the group as known at the landmark (treatment not
      started yet -> the reference group / ``not_started_label``). The rows of
      each model list the groups in the category order of a ``Categorical``
      ``group`` column (a cohort's frames: the data dictionary's), else sorted.

      Do not give the pre-treatment time of future-treated patients a state of
      its own unless patients who never start a treatment share it: a state
      entered only by patients who are known to survive until treatment is
      itself immortal time.

    Parameters
    ----------
    data : DataFrame
        One row per patient.
    time, event, id : str
    exposure_time, group, treatment_time, reference
        See above.
    covariates : sequence of str
        Baseline covariates adjusted for in every Cox model.
    landmarks : sequence of float
        Landmark times (none by default).
    not_started_label : str, optional
        State of patients before their treatment starts (group form); default:
        the reference group.
    ties, conf_level, same_day_rule
        As :func:`td_coxph`.

    Returns
    -------
    NaiveVsTimeDependent

    Examples
    --------
    >>> import numpy as np, pandas as pd, warnings
    >>> rng = np.random.default_rng(7)
    >>> n = 400
    >>> t = rng.exponential(12, n)                       # no treatment effect at all
    >>> wait = rng.uniform(1, 8, n)                      # scheduled transplant (months)
    >>> donor = rng.random(n) < 0.6                      # 60 % are transplant candidates
    >>> df = pd.DataFrame({"pid": range(n), "t": t, "d": 1,
    ...                    "tx": np.where(donor & (wait < t), wait, np.nan)})
    >>> res = compare_naive_vs_timedependent(df, time="t", event="d", id="pid",
    ...                                      exposure_time="tx", landmarks=[8])
    >>> res.table["method"].tolist()
    ['naive (groups fixed at time zero)', 'time-dependent Cox', 'Mantel-Byar score test', 'landmark at 8']

    Validated against: its parts (coxph, td_coxph, mantel_byar, landmark) are each
    validated against R; the simulation in docs/immortal_time.md is a test.
    """
    from .cox import coxph
    from .landmark import landmark as _landmark

    covariates = list(covariates)
    if (exposure_time is None) == (group is None):
        raise InputError("compare_naive_vs_timedependent: give exactly one of exposure_time= "
                         "(binary treatment) or group= with treatment_time=")
    rows = []

    def cox_rows(method, res, terms, n, note=""):
        # positional look-up of each term (a set_index per call cost more than the fit)
        names = res.terms["term"].tolist()
        col = {c: res.terms[c].to_numpy() for c in ("estimate", "lower", "upper", "p",
                                                    "estimable", "note")}
        for term in terms:
            if term not in names:
                raise KeyError(term)
            j = names.index(term)
            rows.append({"method": method, "term": term, "estimate": col["estimate"][j],
                         "lower": col["lower"][j], "upper": col["upper"][j], "p": col["p"][j],
                         "n": n, "events": res.events,
                         "note": (note if col["estimable"][j]
                                  else f"{note}{NOT_ESTIMABLE_SEP}{col['note'][j]}")})

    work = data.copy()
    if exposure_time is not None:
        _require_columns(data, [time, event, id, exposure_time] + covariates)
        ever = "ever_treated"
        if ever in work.columns:
            raise InputError("data already has a column 'ever_treated'; rename it")
        work[ever] = work[exposure_time].notna().astype(np.int64)
        check = immortal_time_check(work, time=time, group=ever,
                                    treatment_time={1: exposure_time}, warn=False)
        naive = coxph(work, time=time, event=event, covariates=[ever] + covariates, ties=ties,
                      conf_level=conf_level)
        cox_rows("naive (groups fixed at time zero)", naive, [ever], len(work),
                 "treated vs never treated, from time zero (immortal-time bias)")
        td = td_coxph(data, time=time, event=event, id=id, exposure_time=exposure_time,
                      covariates=covariates, exposure="exposed", ties=ties,
                      conf_level=conf_level, same_day_rule=same_day_rule)
        cox_rows("time-dependent Cox", td, ["exposed"], len(data),
                 "exposure switches 0 -> 1 at the treatment start")
        mb = mantel_byar(data, time=time, event=event, id=id, exposure_time=exposure_time,
                         ties=ties, same_day_rule=same_day_rule)
        rows.append({"method": "Mantel-Byar score test", "term": "exposed", "estimate": np.nan,
                     "lower": np.nan, "upper": np.nan, "p": mb.p, "n": len(data),
                     "events": mb.events, "note": f"chi-square {mb.statistic:.4g} on 1 df"})
        lm = None
        if len(landmarks):
            lm = _landmark(data, landmark=landmarks, time=time, event=event, id=id,
                           exposure_time=exposure_time, covariates=covariates, ties=ties,
                           conf_level=conf_level)
            for L in lm.landmarks:
                c = lm.cox[L]
                if c is None:
                    rows.append({"method": f"landmark at {L:g}", "term": "exposed",
                                 "estimate": np.nan, "lower": np.nan, "upper": np.nan,
                                 "p": np.nan, "n": len(lm.set(L)), "events": np.nan,
                                 "note": "single group at the landmark"})
                    continue
                cox_rows(f"landmark at {L:g}", c, ["exposed"], c.n,
                         "treated by the landmark vs not; time restarted at the landmark")
        choices = {"estimate": "hazard ratio, exposed vs unexposed", "ties": ties,
                   "conf_level": conf_level, "covariates": covariates or None,
                   "same_day_rule": same_day_rule}
        return NaiveVsTimeDependent(table=pd.DataFrame(rows, columns=_COMPARE_COLUMNS),
                                    check=check, naive=naive, time_dependent=td, landmark=lm,
                                    _choices=choices)

    # ---- several groups
    if treatment_time is None:
        raise InputError("with group= give treatment_time= (a column or {group: column})")
    _require_columns(data, [time, event, id, group] + covariates)
    check = immortal_time_check(data, time=time, group=group, treatment_time=treatment_time,
                                warn=False)
    labels = data[group]
    if isinstance(labels.dtype, pd.CategoricalDtype):   # its category order (a cohort's frames)
        present = set(labels.dropna())
        levels = [c for c in labels.cat.categories if c in present]
        labels = labels.astype(object)
    else:
        levels = sorted(pd.unique(labels.dropna()), key=lambda v: (str(type(v)), v))
    if reference is None:
        reference = levels[0]
    if reference not in levels:
        raise InputError(f"reference {reference!r} is not a level of {group!r} ({levels})")
    pre = reference if not_started_label is None else not_started_label
    if not_started_label is not None and not_started_label in levels:
        raise InputError(f"not_started_label {not_started_label!r} is also a group label; "
                         "choose another")
    colmap = (treatment_time if isinstance(treatment_time, dict)
              else {g: treatment_time for g in levels})
    start = np.full(len(data), np.nan)
    for g, col in colmap.items():
        m = (labels == g).to_numpy()
        start[m] = _numeric(data, col)[m]
    grouped_at_zero = ~labels.isin(list(colmap)).to_numpy()
    start[grouped_at_zero] = 0.0
    missing = ~grouped_at_zero & ~np.isfinite(start)
    if missing.any():
        raise InputError(f"patients of groups with a treatment start column have no start "
                         f"time: ids {_ids_text(data[id][missing])}; a patient of a group must "
                         "have started its treatment")
    if "_start" in work.columns or "state" in work.columns:
        raise InputError("data has a column named '_start' or 'state'; rename it")
    work["_start"] = start
    cat_ref = {group: reference}
    naive = coxph(work, time=time, event=event, covariates=[group] + covariates,
                  categorical=cat_ref, ties=ties, conf_level=conf_level)
    gterms = [naive.terms["term"].iloc[j] for j in naive._design.assign[group]]
    cox_rows("naive (groups fixed at time zero)", naive, gterms, len(work),
             f"groups from time zero, reference {reference!r} (immortal-time bias)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        # only the columns the model uses are carried into the split data
        sp = split_at_exposure(work, id=id, time=time, event=event,
                               exposure_time="_start", exposure_name="_exp",
                               same_day_rule=same_day_rule, keep=[group] + covariates)
        _check_no_clash(work, id=id, time=time, event=event, exposure_time="_start",
                        exposure_name="_exp")
    # the states and the groups at a landmark keep the order of the groups (the terms of
    # every model follow it; the reference first)
    state_levels = levels + ([pre] if pre not in levels else [])

    def in_order(values):
        return pd.Categorical(values, categories=state_levels)

    sp["state"] = in_order(np.where(sp["_exp"].to_numpy() == 1,
                                    sp[group].astype(object).to_numpy(), pre))
    td = coxph(sp, time="tstop", event=event, entry="tstart", covariates=["state"] + covariates,
               categorical={"state": reference}, ties=ties, conf_level=conf_level)
    sterms = [td.terms["term"].iloc[j] for j in td._design.assign["state"]]
    cox_rows("time-dependent Cox", td, sterms, len(data),
             f"current state; {pre!r} until the treatment starts")
    tests = td.tests
    score = tests.iloc[tests["test"].tolist().index("score")]
    # score test of the state terms only (with covariates: all terms; reported as such)
    rows.append({"method": "Mantel-Byar score test", "term": "state",
                 "estimate": np.nan, "lower": np.nan, "upper": np.nan,
                 "p": float(score["p"]) if not covariates else np.nan, "n": len(data),
                 "events": td.events,
                 "note": (f"chi-square {score['statistic']:.4g} on {int(score['df'])} df"
                          if not covariates else "score test not separable from covariates; "
                          "see the time-dependent Cox rows")})
    lm_res = None
    if len(landmarks):
        parts = {}
        for L in landmarks:
            w2 = work.copy()
            known = (w2["_start"].to_numpy() <= float(L))
            w2["group_at_landmark"] = in_order(np.where(
                known, w2[group].astype(object).to_numpy(), pre))
            r = _landmark(w2, landmark=L, time=time, event=event, id=id,
                          group="group_at_landmark", covariates=covariates,
                          categorical={"group_at_landmark": reference}, ties=ties,
                          conf_level=conf_level)
            parts[float(L)] = r
            c = r.cox[float(L)]
            if c is None:
                continue
            lt = [c.terms["term"].iloc[j] for j in c._design.assign["group_at_landmark"]]
            cox_rows(f"landmark at {float(L):g}", c, lt, c.n,
                     "group as known at the landmark; time restarted at the landmark")
        lm_res = parts
    choices = {"estimate": f"hazard ratio vs {reference!r}", "ties": ties,
               "conf_level": conf_level, "covariates": covariates or None,
               "before the treatment starts": pre, "same_day_rule": same_day_rule}
    return NaiveVsTimeDependent(table=pd.DataFrame(rows, columns=_COMPARE_COLUMNS), check=check,
                                naive=naive, time_dependent=td, landmark=lm_res,
                                _choices=choices)


# re-exported so that the whole toolkit for time-dependent exposure is in one namespace
from .landmark import LandmarkResult, landmark, landmark_set  # noqa: E402
