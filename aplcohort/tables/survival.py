"""Survival summary table: per group n, events, median (95% CI), x-time estimates (95% CI), p.

Numbers come from :func:`aplcohort.stats.km.kaplan_meier` (``median()``,
``survival_at(times)``; R ``survfit`` / ``quantile`` / ``summary(times=)``) and
:func:`aplcohort.stats.logrank.logrank_test` (R ``survdiff``); with
``competing=True`` from :func:`aplcohort.stats.competing.cumulative_incidence`
(``.at(times)``, cmprsk ``timepoints``) and :func:`~aplcohort.stats.competing.gray_test`.
An estimate at a time after a group's last follow-up prints "NE" with a footnote (R omits it).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from ..errors import InputError
from .export import JournalTable
from .format import format_ci, format_pct_ci

_SINGULAR = {"days": "day", "weeks": "week", "months": "month", "years": "year"}


def time_label(t: float, unit: str) -> str:
    """``"2-year"``, ``"12-month"``.

    >>> time_label(2, "years"), time_label(12.0, "months")
    ('2-year', '12-month')
    """
    if unit not in _SINGULAR:
        raise InputError(f"time_unit must be one of {list(_SINGULAR)}; got {unit!r}")
    return f"{float(t):g}-{_SINGULAR[unit]}"


def survival_summary(time, event, group=None, *, times=(), time_unit: str = "months",
                     order=None, labels: Mapping | None = None, conf_type: str | None = None,
                     conf_level: float = 0.95, test: bool = True, competing: bool = False,
                     cause: int = 1, decimals: int = 1, pct_decimals: int = 1,
                     group_header: str = "Group", title: str | None = None, style=None,
                     group_column: str | None = None) -> JournalTable:
    """Per-group survival (or cumulative incidence) summary as a journal table.

    Parameters
    ----------
    time, event : arrays
        ``event`` 0/1 (KM), or 0/1/2... cause codes with ``competing=True``.
    group : array, optional
        pandas Series are paired by index label (:mod:`aplcohort._align`).
    times : sequence of float
        Times (in ``time_unit``, >= 0) for the x-time estimates, e.g. ``(1, 2, 3)`` years.
    time_unit : {"days", "weeks", "months", "years"}
        The unit ``time`` is in (labels only).
    conf_type : str, optional
        KM: "log" (default, R), "log-log", "plain"; CIF: "log-log" (default).
    test : bool
        Log-rank (KM) or Gray (CIF, for ``cause``) p in the first row.
    competing, cause
        Cumulative incidence of ``cause`` with the other causes competing (``cause``
        other than 1 without ``competing=True`` is an error: it would change nothing).
    labels : mapping {group: label} or Labels
        With a :class:`~aplcohort.tables.labels.Labels`, ``group_column`` names the
        cohort column the groups are levels of (labels and order from it).
    style : str or TableStyle
        Journal style (p-values, decimal mark).

    Returns
    -------
    JournalTable
        ``.raw`` columns [group, n, events, competing, median, median_lower,
        median_upper, time, estimate, lower, upper, p, test, note] (one row per group x
        time; ``time`` NaN when no times are requested). ``note`` is the ``.at()`` note of
        the estimate: a cell whose interval has one (SE 0, so the interval is a point; an
        SE or a limit not defined) carries a footnote marker (¹, ² ...) and the note is
        the footnote; an estimate that cannot be given prints NE with its reason.

    Examples
    --------
    >>> t = survival_summary([5, 8, 12, 20, 3, 9], [1, 0, 1, 0, 1, 1], list("AAABBB"),
    ...                      times=[6], test=False)
    >>> t.data.iloc[0].tolist()
    ['A', '3', '2', '12.0 (5.0–NR)', '66.7 (30.0–100.0)']

    Validated against: the KM / CIF / test functions it calls (R survival / cmprsk);
    cells checked in ``tests/test_tables_survival.py``.
    """
    from .._align import align_rows
    from .format import check_decimals
    from .frame import footnote_marker
    from .labels import Labels
    from .style import get_style
    time, event, group = align_rows("survival_summary", time=time, event=event, group=group)
    if not competing and cause != 1:
        raise InputError(f"cause={cause!r} applies to cumulative incidence only; give "
                         "competing=True (with event codes 0/1/2...) or leave cause at 1")
    decimals = check_decimals("decimals", decimals)
    pct_decimals = check_decimals("pct_decimals", pct_decimals)
    st = get_style(style)
    if isinstance(labels, Labels):
        if order is None and group is not None and group_column and labels.has_order(group_column):
            order = labels.order(group_column, [g for g in pd.unique(np.asarray(group, dtype=object))
                                                if not pd.isna(g)])
        labels = ({} if not group_column else
                  {g: labels.level(group_column, g)
                   for g in pd.unique(np.asarray(group, dtype=object))} if group is not None else {})
    time_label(1, time_unit)
    t = np.asarray(time, dtype=float)
    e = np.asarray(event)
    times = [float(x) for x in np.atleast_1d(np.asarray(times, dtype=float))] if len(times) else []
    if any(not np.isfinite(x) or x < 0 for x in times):
        raise InputError(f"times must be finite and >= 0 (in {time_unit} from time zero); got "
                         f"{times}")
    pct = f"{100 * conf_level:g}%"
    if competing:
        from ..stats.competing import cumulative_incidence, gray_test
        res = cumulative_incidence(t, e, group, conf_type=conf_type or "log-log",
                                   conf_level=conf_level, order=order)
        if cause not in res.causes:
            raise InputError(f"cause {cause} has no events; causes present: {list(res.causes)}")
        groups = [g for g in res.groups]
        counts = res.counts[res.counts["cause"] == cause].set_index("group", drop=False)
        at = res.at(times) if times else None
        p = np.nan
        tname = ""
        if test and group is not None and len(groups) > 1:
            gt = gray_test(t, e, group, cause=cause, order=order)
            p, tname = gt.p, "Gray"
    else:
        from ..stats.km import kaplan_meier
        res = kaplan_meier(t, e, group, conf_type=conf_type or "log", conf_level=conf_level,
                           order=order)
        groups = list(res.groups)
        med = res.median().set_index("group", drop=False)
        at = res.at(times) if times else None
        p = np.nan
        tname = ""
        if test and group is not None and len(groups) > 1:
            from ..stats.logrank import logrank_test
            lr = logrank_test(t, e, group, order=order)
            p, tname = lr.p, "log-rank"
    lab = {g: (labels or {}).get(g, "All patients" if g in (None, "all") and group is None else str(g))
           for g in groups}
    head = [group_header, "n", "Events"]
    if competing:
        head.append("Competing events")
    else:
        head.append(f"Median ({pct} CI), {time_unit}")
    head += [f"{time_label(x, time_unit)} ({pct} CI), %" for x in times]
    if tests_col := (test and group is not None and len(groups) > 1):
        head.append("p")
    rows, raw = [], []
    marked = {}   # note of an interval -> [(group label, time label)]: a footnote each
    ne_notes = []
    for i, g in enumerate(groups):
        if competing:
            c = counts.loc[g] if g is not None else counts.iloc[0]
            n, ev, comp = int(c["n"]), int(c["events"]), int(c["competing"])
            cells = [lab[g], str(n), str(ev), str(comp)]
            m = (np.nan, np.nan, np.nan)
        else:
            r = med.loc[g]
            n, ev, comp = int(r["n"]), int(r["events"]), np.nan
            m = (r["median"], r["lower"], r["upper"])
            cells = [lab[g], str(n), str(ev),
                     st.num(format_ci(m[0], m[1], m[2], decimals, na="NR", na_bound="NR",
                                      sep=st.ci_sep))]
        for x in times:
            # both results have the shared curve shape: .at() -> group, cause, time, estimate
            sel = ((at["group"] == g) if g is not None else at["group"].isna()) & \
                np.isclose(at["time"], x)
            if competing:
                sel &= (at["cause"] == cause).fillna(False).to_numpy(bool)
            a = at[sel].iloc[0]
            est, lo, hi = a["estimate"], a["lower"], a["upper"]
            note = str(a["note"]) if "note" in a.index and isinstance(a["note"], str) else ""
            cell = st.num(format_pct_ci(est, lo, hi, pct_decimals, sep=st.ci_sep, na="NE"))
            if note and pd.isna(est):
                ne_notes.append(note)
            elif note:
                # an interval with a reason (SE 0: a point; SE or a limit undefined): the
                # cell carries a footnote marker and the reason is the footnote
                marked.setdefault(note, []).append((lab[g], time_label(x, time_unit)))
                cell += footnote_marker(list(marked).index(note))
            cells.append(cell)
            raw.append({"group": g, "n": n, "events": ev, "competing": comp, "median": m[0],
                        "median_lower": m[1], "median_upper": m[2], "time": x, "estimate": est,
                        "lower": lo, "upper": hi, "p": p, "test": tname, "note": note})
        if not times:
            raw.append({"group": g, "n": n, "events": ev, "competing": comp, "median": m[0],
                        "median_lower": m[1], "median_upper": m[2], "time": np.nan,
                        "estimate": np.nan, "lower": np.nan, "upper": np.nan, "p": p, "test": tname,
                        "note": ""})
        if tests_col:
            cells.append(st.p(p, na="NE") if i == 0 else "")
        rows.append(cells)
    df = pd.DataFrame(rows, columns=head)
    ctype = conf_type or ("log-log" if competing else "log")
    notes = []
    if competing:
        notes.append(f"Cumulative incidence of cause {cause} (Aalen{chr(8211)}Johansen), other "
                     f"causes competing; {pct} CI on the {ctype} scale.")
    else:
        notes.append(f"Kaplan{chr(8211)}Meier estimates; {pct} CI on the {ctype} scale (Greenwood); "
                     "NR, not reached.")
    if times:
        if any("NE" == c for r in rows for c in r):
            from ..stats.shapes import NOTE_PAST_FOLLOWUP
            why = ["time beyond the last follow-up of the group" if w == NOTE_PAST_FOLLOWUP
                   else w for w in dict.fromkeys(ne_notes)] or [
                "time beyond the last follow-up of the group"]
            notes.append("NE, not estimable: " + "; ".join(why) + ".")
        for k, (note, where) in enumerate(marked.items()):
            cells_at = "; ".join(f"{gl}, {tl}" for gl, tl in where)
            notes.append(f"{footnote_marker(k)} {note} ({cells_at}).")
    if tests_col:
        notes.append(f"p, {'Gray test' if competing else 'log-rank test'}.")
    raw_df = pd.DataFrame(raw, columns=["group", "n", "events", "competing", "median",
                                        "median_lower", "median_upper", "time", "estimate",
                                        "lower", "upper", "p", "test", "note"])
    title = title or ("Cumulative incidence" if competing else "Survival")
    return JournalTable(title, df, raw_df, (0,) * len(df), tuple(notes),
                        table_choices={"estimator": "Aalen-Johansen" if competing else "Kaplan-Meier",
                                       "conf_type": ctype, "conf_level": conf_level,
                                       "time_unit": time_unit, "test": tname or None,
                                       "style": st.name})
