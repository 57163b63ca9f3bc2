"""Blank cells of a journal table say why they are blank: the one rule for every table.

A result frame's null values carry their reasons (:mod:`aplcohort.plan.null_reasons`:
the same text as the ``not_estimable`` / ``not_applicable`` columns of its full-precision
CSV and the maps of ``results.json``). :func:`explain_blanks` prints them in the journal
table built from the frame (DOCX, TeX, HTML, ``report.html``, ``manuscript.docx``):

* a cell left blank because its value is null shows **NE** (not estimable) or an en
  dash **–** (not applicable), and a footnote gives the reason; identical reasons are
  said once (the columns they concern named), and when several reasons differ each has a
  numbered marker (``–¹``, ``NE²``, numbered after the table's own markers). A
  not-estimable reason the table's own "NE, not estimable" footnote already gives is not
  repeated;
* a column blank in every row for the same not-applicable reason is left out of the
  journal table, and a footnote says which column and why (the CSV keeps it);
* a cell the layout leaves blank (a variable heading, a reference row: rows that print
  no row of the frame) and a cell whose value is not null are not touched.

Which row and fields of the frame a cell prints comes from the table's
``source_rows`` / ``source_fields`` (set by :func:`aplcohort.tables.frame.format_frame`
and :func:`aplcohort.tables.regression.regression_table`), or per cell from its
``source_cells`` (:func:`aplcohort.tables.table1.table1`: one frame row per group, which
applies the rule to itself). A plan run applies the rule to
every table it builds from a result frame (:func:`aplcohort.plan.write.write_outputs`,
with the reasons of the analysis) and to the published-vs-reproduced table; in Python:
``explain_blanks(t, frame_reasons(t.raw))`` for a table of :func:`format_frame`.
"""

from __future__ import annotations

import dataclasses

import pandas as pd

#: Put in a cell's text where a part of it is blank (Table 1's ``0 (%)`` of a group with
#: no known value): the part prints NE / – like a blank cell, explained the same way.
PART = "\ue000"
#: The cell of a blank value, by the kind of its reason.
ABBREVIATION = {"not_estimable": "NE", "not_applicable": "\u2013"}
_SAY = {"not_estimable": "not estimable", "not_applicable": "not applicable"}
_SUPERSCRIPTS = "\u2070\u00b9\u00b2\u00b3\u2074\u2075\u2076\u2077\u2078\u2079"


def _blank(v) -> bool:
    if isinstance(v, str):
        return not v.strip() or PART in v
    try:
        return v is None or bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def _markers_used(footnotes) -> int:
    """The highest numbered marker (``¹``, ``²`` ...) that opens a footnote of the table."""
    top = 0
    for f in footnotes:
        digits = ""
        for ch in str(f):
            if ch not in _SUPERSCRIPTS:
                break
            digits += str(_SUPERSCRIPTS.index(ch))
        if digits:
            top = max(top, int(digits))
    return top


def _names(cols) -> str:
    cols = [str(c).strip() for c in dict.fromkeys(cols)]
    return cols[0] if len(cols) == 1 else ", ".join(cols[:-1]) + " and " + cols[-1]


def explain_blanks(t, reasons):
    """The journal table ``t`` with its blank cells explained (see the module docstring).

    Parameters
    ----------
    t : JournalTable
        Built from a result frame, with ``source_rows`` and ``source_fields``.
    reasons : list of dict
        Per row of that frame, ``{field: (map, reason)}`` of its null fields
        (:func:`aplcohort.plan.null_reasons.frame_reasons`).

    Returns
    -------
    JournalTable
        ``t`` itself when no blank cell has a reason.

    Examples
    --------
    >>> import pandas as pd
    >>> from aplcohort.tables.export import JournalTable
    >>> t = JournalTable("T", pd.DataFrame({"Term": ["a", "b"], "p": ["0.12", ""],
    ...                                     "Row": ["", ""]}), pd.DataFrame(),
    ...                  source_rows=(0, 1), source_fields=(("term",), ("p",), ("row",)))
    >>> why = [{"row": ("not_applicable", "not from a data row")},
    ...        {"p": ("not_estimable", "no events"), "row": ("not_applicable", "not from a data row")}]
    >>> e = explain_blanks(t, why)
    >>> e.data.values.tolist()
    [['a', '0.12'], ['b', 'NE']]
    >>> e.footnotes
    ('NE, not estimable (p): no events.', 'Row is not shown (blank in every row), not applicable: not from a data row.')
    """
    data = t.data
    ncol = data.shape[1]
    by_cell = (len(t.source_cells) == len(data)
               and all(len(r) == ncol for r in t.source_cells))
    if (not reasons or len(t.source_fields) != ncol
            or not (by_cell or len(t.source_rows) == len(data))):
        return t
    cols = list(data.columns)
    cells = data.to_numpy(dtype=object).tolist()
    found: dict = {}   # (row, column) -> (map, reason)
    for i in range(len(data)):
        for j, fields in enumerate(t.source_fields):
            r = t.source_cells[i][j] if by_cell else t.source_rows[i]
            if isinstance(r, tuple):   # (row, the fields this cell prints)
                r, fields = r
            if r is None or not 0 <= r < len(reasons) or not reasons[r]:
                continue
            if _blank(cells[i][j]):
                why = next((reasons[r][f] for f in fields if f in reasons[r]), None)
                if why is not None:
                    found[i, j] = why
    if not found:
        return t
    # a column blank in every row for one not-applicable reason: left out, said once
    drop: dict = {}   # column -> reason
    for j in range(1, ncol):
        whys = {found.get((i, j)) for i in range(len(data))}
        if len(data) and len(whys) == 1:
            (why,) = whys
            if why is not None and why[0] == "not_applicable":
                drop[j] = why[1]
    if len(drop) >= ncol - 1 and ncol > 1:   # a table keeps a column beside the first
        drop.pop(max(drop))
    notes = list(t.footnotes)
    # identical reasons said once, with the columns they concern
    groups: dict = {}   # (map, reason) -> [column names]
    for (i, j), why in sorted(found.items()):
        if j not in drop:
            groups.setdefault(why, []).append(cols[j])
    told = [f for f in notes if str(f).startswith(ABBREVIATION["not_estimable"] + ",")]
    said = {why for why in groups
            if why[0] == "not_estimable" and any(why[1] in f for f in told)}
    new = [why for why in groups if why not in said]
    mark_each = len(new) > 1 or any(
        str(f).startswith(ABBREVIATION[why[0]] + ",") for why in new for f in notes)
    first = _markers_used(notes)
    marker = {}
    for k, why in enumerate(new):
        m = _superscript(first + k + 1) if mark_each else ""
        marker[why] = m
        text = why[1].strip().rstrip(".")
        head = (f"{m} {_SAY[why[0]][:1].upper()}{_SAY[why[0]][1:]}" if m
                else f"{ABBREVIATION[why[0]]}, {_SAY[why[0]]}")
        notes.append(f"{head} ({_names(groups[why])}): {text}.")
    for (i, j), why in found.items():
        if j not in drop:
            shown = ABBREVIATION[why[0]] + marker.get(why, "")
            cells[i][j] = (cells[i][j].replace(PART, shown) if PART in str(cells[i][j])
                           else shown)
    by_reason: dict = {}
    for j, why in drop.items():
        by_reason.setdefault(why, []).append(cols[j])
    for why, names in by_reason.items():
        verb = "is" if len(names) == 1 else "are"
        said = _names(names)
        notes.append(f"{said[:1].upper()}{said[1:]} {verb} not shown (blank in every row), "
                     f"not applicable: {why.strip().rstrip('.')}.")
    keep = [j for j in range(ncol) if j not in drop]
    new_data = pd.DataFrame([[row[j] for j in keep] for row in cells],
                            columns=[cols[j] for j in keep], index=data.index)
    return dataclasses.replace(t, data=new_data, footnotes=tuple(notes),
                               spans=_spans_without(t.spans, set(drop)),
                               source_fields=tuple(t.source_fields[j] for j in keep),
                               source_cells=tuple(tuple(r[j] for j in keep)
                                                  for r in t.source_cells) if by_cell else ())


def _superscript(n: int) -> str:
    return "".join(_SUPERSCRIPTS[int(c)] for c in str(n))


def _spans_without(spans, dropped: set) -> tuple:
    """Spanning headers over the columns that are left (a span left with no column goes).

    >>> _spans_without((("Univariable", 1, 2), ("Multivariable", 3, 4)), {2})
    (('Univariable', 1, 1), ('Multivariable', 2, 3))
    >>> _spans_without((("Univariable", 1, 2), ("Multivariable", 3, 4)), {1, 2})
    (('Multivariable', 1, 2),)
    """
    out = []
    for label, a, b in spans:
        kept = [j for j in range(a, b + 1) if j not in dropped]
        if kept:
            shift = lambda j: j - sum(1 for d in dropped if d < j)  # noqa: E731
            out.append((label, shift(kept[0]), shift(kept[-1])))
    return tuple(out)
