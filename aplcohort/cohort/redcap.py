"""REDCap: a project's raw CSV export read with its Data Dictionary.

REDCap (https://projectredcap.org) is where most academic retrospective cohorts are
collected. Export the data as **CSV (raw data)** and the **Data Dictionary** (Project
Setup -> Data Dictionary -> Download); then::

    load("APLRelapse_DATA.csv", redcap_dictionary="APLRelapse_DataDictionary.csv",
         mapping="redcap_mapping.yaml")

or ``redcap_dictionary:`` in the mapping. ``aplcohort mapping from-redcap
DICTIONARY.csv`` drafts that mapping (:func:`draft_mapping`).

What the dictionary is used for
-------------------------------
* **choices** (radio, dropdown; ``"1, ATO+ATRA | 2, IDA+AraC"``): codes become their
  labels, so the mapping's ``values:`` (or the vocabulary's synonyms) see
  ``ATO+ATRA``; a code not in the field's choices is kept as it is and reported
  by the validator if the column is a dictionary column. ``yesno`` and
  ``truefalse`` fields: 1/0 become ``yes``/``no``.
* **checkboxes** (``field___1``, ``field___2``... holding 1/0): each becomes
  ``yes``/``no`` under its own name, and a column ``field`` lists the checked
  labels separated by ``"; "`` (missing when none is checked).
* **dates**: ``date_ymd``/``date_dmy``/``date_mdy`` and the ``datetime_*`` and
  ``datetime_seconds_*`` variants. A raw export writes every date as
  ``YYYY-MM-DD`` (and datetimes as ``YYYY-MM-DD HH:MM[:SS]``) whatever the
  field's display format; an export made with another date format (REDCap's
  "DMY"/"MDY" export option) is read in the field's own order. Dates become ISO
  text ``YYYY-MM-DD`` (the time of a datetime is dropped, and said so in the
  notes), then go through the one date rule of the validator.
* ``{form}_complete`` status columns are dropped (they are about data entry, not
  patients; listed in the notes).

Repeating instruments and events
--------------------------------
A longitudinal project has ``redcap_event_name``; repeating instruments/events add
``redcap_repeat_instrument`` and ``redcap_repeat_instance``. The patient table has
**one row per record**: the non-repeating rows of a record (one per event) are
merged, each field taken from the event where it is filled; a field filled with
two different values in two events is an error naming the record, field and
events. Rows of a repeating instrument (e.g. ``courses``, ``transplants``) become
**long tables**, one per instrument (or per repeating event), with ``record_id``,
``redcap_repeat_instance`` (and the event) and that instrument's fields:
:func:`read_redcap_export` returns them in :attr:`RedcapExport.repeating`.

Row numbers in messages are the lines of the export file (the record's first
non-repeating row). Every record is a patient row or named in an error: a record with
only repeating-instrument rows (``redcap_no_patient_row``), or on two rows of a project
without events (or twice in one event: ``duplicate_id``, never merged), is reported
with its export lines (:attr:`RedcapExport.problems`). The fields of a repeating
instrument are columns of its long table only.

Export kind and identifiers
---------------------------
A "CSV (labels)" export (label header, ``Checked``/``Unchecked`` checkbox cells,
``Complete`` status, choice labels where codes are expected) is refused, asking for
the raw export. Fields flagged ``Identifier? = y`` in the dictionary, or labelled like
an identifier ("Patient name"), are identifying columns (:func:`identifying_fields`):
:func:`read_redcap` records them in the frame's ``attrs["identifying_columns"]``, and
the load warning, plans, tables and plots treat them like columns named as
identifiers (:mod:`aplcohort.plan.identifiers`).
"""

from __future__ import annotations

import csv
import difflib
import io as _io
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..errors import InputError
from .types import is_missing

#: The Data Dictionary's columns as REDCap writes them (first six are required here).
DICTIONARY_HEADERS = (
    "Variable / Field Name", "Form Name", "Section Header", "Field Type", "Field Label",
    "Choices, Calculations, OR Slider Labels", "Field Note",
    "Text Validation Type OR Show Slider Number", "Text Validation Min",
    "Text Validation Max", "Identifier?", "Branching Logic (Show field only if...)",
    "Required Field?", "Custom Alignment", "Question Number (surveys only)",
    "Matrix Group Name", "Matrix Ranking?", "Field Annotation")
_REQUIRED_HEADERS = DICTIONARY_HEADERS[:6]
_DATE_TYPES = {"date_ymd": "ymd", "date_dmy": "dmy", "date_mdy": "mdy",
               "datetime_ymd": "ymd", "datetime_dmy": "dmy", "datetime_mdy": "mdy",
               "datetime_seconds_ymd": "ymd", "datetime_seconds_dmy": "dmy",
               "datetime_seconds_mdy": "mdy"}
_SPECIAL = ("redcap_event_name", "redcap_repeat_instrument", "redcap_repeat_instance",
            "redcap_data_access_group", "redcap_survey_identifier")
_YMD = re.compile(r"^([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})(?:[ T]([0-9]{1,2}):([0-9]{2})"
                  r"(?::([0-9]{2}))?)?$")
_XYZ = re.compile(r"^([0-9]{1,2})[-/.]([0-9]{1,2})[-/.]([0-9]{4})(?:[ T]([0-9]{1,2}):([0-9]{2})"
                  r"(?::([0-9]{2}))?)?$")


class RedcapError(InputError):
    """A REDCap export or data dictionary cannot be read (the message says why)."""


@dataclass(frozen=True)
class Field:
    """One field of a REDCap data dictionary."""

    name: str
    form: str
    type: str
    label: str
    choices: dict = field(default_factory=dict)  # code -> label
    validation: str = ""
    identifier: bool = False  # "Identifier?" = y in the dictionary


@dataclass(frozen=True)
class RedcapExport:
    """A REDCap export read with its dictionary.

    Attributes
    ----------
    patients : DataFrame
        One row per record (texts: labels, ISO dates), ready for validation.
    repeating : dict
        ``{instrument or event: DataFrame}`` long tables (one row per instance).
    fields : dict
        ``{field name: Field}`` from the dictionary.
    rows : list of int
        Export line of each patient row.
    notes : list of str
    problems : list of Problem
        Records the patient table cannot hold as they are (a record with only
        repeating-instrument rows; a record twice in a project without events, or
        twice in one event), as validation problems naming the export lines; only
        filled with ``problems="report"`` (the default raises them).
    """

    patients: pd.DataFrame
    repeating: dict
    fields: dict
    rows: list
    notes: list
    problems: list = field(default_factory=list)


#: The API's metadata export names the dictionary's columns differently (same order).
API_HEADERS = dict(zip((
    "field_name", "form_name", "section_header", "field_type", "field_label",
    "select_choices_or_calculations", "field_note", "text_validation_type_or_show_slider_number",
    "text_validation_min", "text_validation_max", "identifier", "branching_logic",
    "required_field", "custom_alignment", "question_number", "matrix_group_name",
    "matrix_ranking", "field_annotation"), DICTIONARY_HEADERS))


def _read_csv_text(path, encoding=None, text=None, max_bytes=None) -> list[list[str]]:
    """The CSV records of ``path`` (or of ``text``); ``max_bytes`` limits the file's size
    (the data dictionary; the export is data, read whatever its size)."""
    from .._files import check_regular_file
    from .encoding import decode_bytes
    p = path
    if text is None:
        p = Path(path)
        check_regular_file(p, "REDCap file", RedcapError, max_bytes)
        text, _info = decode_bytes(p.read_bytes(), encoding, where=str(p))
    try:
        return [r for r in csv.reader(_io.StringIO(text))]
    except csv.Error as exc:
        raise RedcapError(f"{p}: could not be read as CSV ({exc})") from None


def parse_choices(text: str, where: str = "") -> dict:
    """``{code: label}`` from REDCap's choices text.

    Examples
    --------
    >>> parse_choices("1, ATO+ATRA | 2, IDA+AraC, then ATO")
    {'1': 'ATO+ATRA', '2': 'IDA+AraC, then ATO'}
    """
    out = {}
    for part in str(text or "").split("|"):
        part = part.strip()
        if not part:
            continue
        if "," not in part:
            raise RedcapError(f"{where}choice {part!r} is not 'code, label'")
        code, label = part.split(",", 1)
        out[code.strip()] = label.strip()
    return out


def read_dictionary(path, encoding=None, *, text=None) -> dict:
    """Read a REDCap Data Dictionary CSV; ``{field name: Field}`` in order.

    ``text``: the CSV text itself (e.g. the API's metadata export, whose column names
    :data:`API_HEADERS` are translated) instead of reading ``path``.

    Raises
    ------
    RedcapError
        When a required REDCap header is missing (naming it) or a choices text is
        malformed.
    """
    from .._files import MAX_TEXT_FILE_BYTES
    rows = _read_csv_text(path, encoding, text, max_bytes=MAX_TEXT_FILE_BYTES)
    if not rows:
        raise RedcapError(f"{path}: the data dictionary is empty")
    header = [API_HEADERS.get(h.strip(), h.strip()) for h in rows[0]]
    missing = [h for h in _REQUIRED_HEADERS if h not in header]
    if missing:
        raise RedcapError(f"{path}: not a REDCap data dictionary: the header lacks "
                          + ", ".join(repr(h) for h in missing)
                          + " (download it from Project Setup -> Data Dictionary)")
    ix = {h: header.index(h) for h in DICTIONARY_HEADERS if h in header}
    fields = {}
    for line, r in enumerate(rows[1:], start=2):
        if not any(x.strip() for x in r):
            continue
        r = r + [""] * (len(header) - len(r))
        name = r[ix["Variable / Field Name"]].strip()
        ftype = r[ix["Field Type"]].strip()
        choices = {}
        if ftype in ("radio", "dropdown", "checkbox"):
            choices = parse_choices(r[ix["Choices, Calculations, OR Slider Labels"]],
                                    f"{path}, line {line} ({name}): ")
        elif ftype == "yesno":
            choices = {"1": "yes", "0": "no"}
        elif ftype == "truefalse":
            choices = {"1": "yes", "0": "no"}
        val = r[ix["Text Validation Type OR Show Slider Number"]].strip() \
            if "Text Validation Type OR Show Slider Number" in ix else ""
        ident = r[ix["Identifier?"]].strip().casefold() in ("y", "yes") \
            if "Identifier?" in ix else False
        fields[name] = Field(name=name, form=r[ix["Form Name"]].strip(), type=ftype,
                             label=r[ix["Field Label"]].strip(), choices=choices,
                             validation=val, identifier=ident)
    return fields


def identifying_fields(fields: dict) -> dict:
    """``{export column: why}`` of the fields that identify a patient: flagged
    ``Identifier? = y`` in the Data Dictionary, or whose field label looks like an
    identifier ("Patient name", "MRN"...: the detection column names go through,
    :func:`aplcohort.plan.identifiers.looks_identifying`). A checkbox field's
    ``field___code`` columns and summary column count too. The record id field (the
    patient id) is not listed.

    Examples
    --------
    >>> f = {"record_id": Field("record_id", "f", "text", "Record ID"),
    ...      "pt_code": Field("pt_code", "f", "text", "Code", identifier=True),
    ...      "nm": Field("nm", "f", "text", "Patient name"),
    ...      "age": Field("age", "f", "text", "Age")}
    >>> identifying_fields(f)  # doctest: +NORMALIZE_WHITESPACE
    {'pt_code': "flagged 'Identifier? = y' in the REDCap data dictionary",
     'nm': "labelled 'Patient name' in the REDCap data dictionary, which looks like a name"}
    """
    from ..plan.identifiers import describe, looks_identifying
    out = {}
    for i, (name, f) in enumerate(fields.items()):
        if i == 0:
            continue  # the record id: the patient id
        by_label = looks_identifying(f.label) if f.label else None
        if f.identifier and by_label:
            why = f"flagged 'Identifier? = y' and labelled {f.label!r} in the REDCap data dictionary"
        elif f.identifier:
            why = "flagged 'Identifier? = y' in the REDCap data dictionary"
        elif by_label:
            why = (f"labelled {f.label!r} in the REDCap data dictionary, which "
                   f"{describe(by_label)}")
        else:
            continue
        out[name] = why
        if f.type == "checkbox":
            out.update({f"{name}___{c.lower()}": why for c in f.choices})
    return out


#: How a "CSV (labels)" export writes what the raw export writes as codes.
_LABEL_CHECKBOX = {"checked", "unchecked"}
_LABEL_STATUS = {"incomplete", "unverified", "complete"}
_LABEL_YESNO = {"yesno": {"yes", "no"}, "truefalse": {"true", "false"}}


def _label_export_evidence(header, body, fields, known_checkbox, form_complete) -> list:
    """Cells showing the export was made as "CSV (labels)" (the raw export writes codes):
    ``[(line, column, value, what the raw export writes)]``, at most one per column."""
    out = []
    for k, col in enumerate(header):
        f = fields.get(col)
        if not (col in known_checkbox or col in form_complete or
                (f is not None and f.choices)):
            continue
        for ln, r in body:
            v = r[k].strip()
            if not v:
                continue
            low = v.casefold()
            if col in known_checkbox:
                hit = low in _LABEL_CHECKBOX and "1 or 0"
            elif col in form_complete:
                hit = low in _LABEL_STATUS and "0, 1 or 2"
            elif f is not None and f.type in _LABEL_YESNO:
                hit = low in _LABEL_YESNO[f.type] and "1 or 0"
            elif f is not None and f.choices:
                hit = v not in f.choices and v in f.choices.values() and \
                    f"its code {next(c for c, lab in f.choices.items() if lab == v)!r}"
            else:
                hit = False
            if hit:
                out.append((ln, col, v, hit))
                break
    # the checkbox cells and status columns first: no raw export has them
    return sorted(out, key=lambda e: (e[1] not in known_checkbox, e[1] not in form_complete))


def _date(value: str, order: str):
    """ISO date text of a REDCap date/datetime, ``(text, had_time)``; unparseable as is."""
    s = value.strip()
    m = _YMD.match(s)
    if m:
        return f"{int(m[1]):04d}-{int(m[2]):02d}-{int(m[3]):02d}", m[4] is not None
    m = _XYZ.match(s)
    if m and order in ("dmy", "mdy"):
        d, mo = (m[1], m[2]) if order == "dmy" else (m[2], m[1])
        return f"{int(m[3]):04d}-{int(mo):02d}-{int(d):02d}", m[4] is not None
    return value, False


def read_redcap_export(export, dictionary, *, encoding=None, text=None,
                       problems: str = "raise") -> RedcapExport:
    """Read a REDCap raw CSV export with its data dictionary (see module docstring).

    Parameters
    ----------
    export : str or Path
        "CSV (raw data)" export of the project (or of a report).
    dictionary : str, Path or dict
        The project's Data Dictionary CSV, or an already read ``{name: Field}``.
    encoding : str, optional
        Encoding of the export (default: detected; REDCap writes UTF-8).
    problems : {"raise", "report"}
        A record the patient table cannot hold as it is -- only repeating-instrument
        rows (no patient row), or two rows of one record in a project without events
        (one event) -- raises a :class:`RedcapError` naming the record and export
        lines (``"raise"``), or is returned in :attr:`RedcapExport.problems`
        (``"report"``: :func:`aplcohort.cohort.load` reports them as validation
        errors with the others). The duplicate row is never merged.

    Returns
    -------
    RedcapExport

    Raises
    ------
    RedcapError
        Also for a "CSV (labels)" export (``Checked``/``Unchecked`` checkbox cells,
        ``Complete`` status, choice labels where the raw export writes codes): it is
        refused, asking for the "CSV (raw data)" export.
    """
    if problems not in ("raise", "report"):
        raise InputError(f"read_redcap_export: problems must be 'raise' or 'report', not "
                         f"{problems!r}")
    fields = dictionary if isinstance(dictionary, dict) else read_dictionary(dictionary)
    rows = _read_csv_text(export, encoding, text)
    rows = [(i + 1, r) for i, r in enumerate(rows) if any(x.strip() for x in r)]
    if len(rows) < 2:
        raise RedcapError(f"{export}: the export has no records")
    header = [h.strip() for h in rows[0][1]]
    id_field = next(iter(fields), None)
    if id_field is not None and header[0] != id_field and \
            header[0] in (fields[id_field].label, "Record ID"):
        raise RedcapError(f"{export}: the header holds field labels ({header[0]!r}, ...), not "
                          "field names: this is a 'CSV (labels)' export; export the data "
                          "again as 'CSV (raw data)' (codes and field names), which is what "
                          "is read with the data dictionary")
    if id_field is None or header[0] != id_field:
        raise RedcapError(f"{export}: the first column is {header[0]!r} but the dictionary's "
                          f"record id field is {id_field!r}; is this the export of that "
                          "project (CSV raw data)?")
    bad = [ln for ln, r in rows[1:] if len(r) != len(header)]
    if bad:
        raise RedcapError(f"{export}: line(s) {bad[:10]} do not have {len(header)} fields")
    notes = []
    known_checkbox = {f"{n}___{code.lower()}": (n, code) for n, f in fields.items()
                      if f.type == "checkbox" for code in f.choices}
    form_complete = {f"{f.form}_complete" for f in fields.values()}
    unknown = [h for h in header if h not in fields and h not in known_checkbox
               and h not in form_complete and h not in _SPECIAL]
    if unknown:
        raise RedcapError(f"{export}: column(s) {unknown} are not fields of the data dictionary; "
                          "export the dictionary of the same project and version")
    labels = _label_export_evidence(header, rows[1:], fields, known_checkbox, form_complete)
    if labels:
        shown = "; ".join(f"line {ln}, {col}: {v!r} (the raw export writes {raw})"
                          for ln, col, v, raw in labels[:4])
        raise RedcapError(f"{export}: this is a 'CSV (labels)' export, not 'CSV (raw data)': "
                          f"{len(labels)} column(s) hold labels where the raw export writes "
                          f"codes ({shown}{'; ...' if len(labels) > 4 else ''}). Labels "
                          "cannot be read back reliably (a checkbox cell 'Checked' is not a "
                          "code); export the data again as 'CSV (raw data)'")
    dropped = [h for h in header if h in form_complete]
    if dropped:
        notes.append(f"REDCap form status columns dropped: {', '.join(dropped)}")
    time_dropped: dict = {}

    def convert(col: str, v: str):
        if is_missing(v):
            return None
        if col in known_checkbox:
            return {"1": "yes", "0": "no"}.get(v.strip(), v)
        f = fields.get(col)
        if f is None:
            return v
        if f.choices:
            return f.choices.get(v.strip(), v)
        if f.validation in _DATE_TYPES:
            iso, had_time = _date(v, _DATE_TYPES[f.validation])
            if had_time:
                time_dropped[col] = time_dropped.get(col, 0) + 1
            return iso
        return v

    table = pd.DataFrame([r for _, r in rows[1:]], columns=header, dtype=object)
    lines = [ln for ln, _ in rows[1:]]
    for col in header:
        if col in _SPECIAL:
            continue
        # object dtype: pandas 3 would infer its "str" dtype from a list and turn None into NaN
        table[col] = pd.Series([convert(col, v) for v in table[col]], index=table.index,
                               dtype=object)
    # checkbox summary columns: "label; label" of the checked choices
    for name, f in fields.items():
        if f.type != "checkbox":
            continue
        cols = [(f"{name}___{c.lower()}", lab) for c, lab in f.choices.items()
                if f"{name}___{c.lower()}" in table.columns]
        if cols:
            table[name] = pd.Series(["; ".join(lab for c, lab in cols if table.at[i, c] == "yes")
                                     or None for i in table.index], index=table.index, dtype=object)
    for col, k in time_dropped.items():
        notes.append(f"{col}: the time of {k} REDCap datetime value(s) dropped (dates are days)")

    rid = header[0]
    inst = table["redcap_repeat_instrument"] if "redcap_repeat_instrument" in table else \
        pd.Series([None] * len(table), dtype=object)
    instance = table["redcap_repeat_instance"] if "redcap_repeat_instance" in table else \
        pd.Series([None] * len(table), dtype=object)
    repeat = [not is_missing(a) or not is_missing(b) for a, b in zip(inst, instance)]
    event = "redcap_event_name" if "redcap_event_name" in table else None
    data_cols = [c for c in table.columns if c not in _SPECIAL and c not in form_complete]
    # long tables: one per repeating instrument (or repeating event)
    repeating: dict = {}
    for i, rep in enumerate(repeat):
        if not rep:
            continue
        key = inst.iat[i] if not is_missing(inst.iat[i]) else \
            (table.at[i, event] if event else "repeating")
        repeating.setdefault(str(key), []).append(i)
    long = {}
    for key, idx in repeating.items():
        form_fields = [c for c in data_cols if c != rid and (
            fields.get(c, Field(c, "", "", "")).form == key
            or (c in known_checkbox and fields[known_checkbox[c][0]].form == key))]
        if not form_fields:  # a repeating event: every field filled in it
            form_fields = [c for c in data_cols if c != rid and
                           table.loc[idx, c].map(lambda v: v is not None).any()]
        cols = [rid] + ([event] if event else []) + ["redcap_repeat_instance"] + form_fields
        t = table.loc[idx, [c for c in cols if c in table.columns]].reset_index(drop=True)
        long[key] = t
    # the fields of a repeating instrument belong to its long table, not to the
    # one-row-per-patient table (they are empty on every non-repeating row)
    rep_forms = {str(k) for k in inst if not is_missing(k)}

    def form_of(c):
        f = fields.get(known_checkbox[c][0] if c in known_checkbox else c)
        return f.form if f is not None else None
    nonrep = [i for i, r in enumerate(repeat) if not r]
    in_long = {c for c in data_cols if c != rid and form_of(c) in rep_forms
               and all(table.at[i, c] is None for i in nonrep)}
    patient_cols = [c for c in data_cols if c not in in_long]
    # patients: non-repeating rows merged per record (one row per event)
    conflicts = []
    patients: dict = {}
    first_line: dict = {}
    seen: dict = {}  # (record, event) -> export line
    dups: dict = {}  # (record, event) -> export lines

    def where(ev):
        return f"in event {ev!r}" if ev is not None else "in a row without an event name"
    for i, rep in enumerate(repeat):
        if rep:
            continue
        r = table.iloc[i]
        pid = r[rid]
        if pid is None:
            raise RedcapError(f"{export}, line {lines[i]}: the record id is empty")
        ev = r[event] if event else None
        if (pid, ev) in seen:  # never merged: a duplicate, reported below
            dups.setdefault((pid, ev), [seen[(pid, ev)]]).append(lines[i])
            continue
        seen[(pid, ev)] = lines[i]
        rec = patients.setdefault(pid, {})
        first_line.setdefault(pid, lines[i])
        for c in patient_cols:
            v = r[c]
            if v is None:
                continue
            if c in rec and rec[c][0] != v and c != rid:
                if c in known_checkbox and v == "no":
                    continue  # unchecked boxes are written as 0 in every event
                if c in known_checkbox and rec[c][0] == "no":
                    rec[c] = (v, ev, lines[i])
                    continue
                conflicts.append(f"record {pid}, field {c}: {rec[c][0]!r} {where(rec[c][1])} "
                                 f"and {v!r} {where(ev)} (export lines {rec[c][2]} and "
                                 f"{lines[i]})")
                continue
            rec.setdefault(c, (v, ev, lines[i]))
    if conflicts:
        raise RedcapError(f"{export}: {len(conflicts)} field(s) have different values in "
                          "different events of the same record; the patient table has one "
                          "value per field:\n" + "\n".join(f"  - {x}" for x in conflicts[:20]))
    wide = pd.DataFrame([{c: rec.get(c, (None,))[0] for c in patient_cols}
                         for rec in patients.values()], columns=patient_cols, dtype=object)
    if len(wide) == 0:
        raise RedcapError(f"{export}: no non-repeating rows (every row belongs to a repeating "
                          "instrument): the patient table would be empty")
    from .validate import Problem
    found = []
    for (pid, ev), at in dups.items():
        ln = ", ".join(map(str, at[:-1])) + f" and {at[-1]}"
        found.append(Problem(
            at[0], pid, rid, pid, "duplicate_id",
            (f"record {pid!r} has {len(at)} rows in event {ev!r} (export lines {ln}); the "
             "export has one row per record and event outside repeating instruments")
            if event else
            (f"record {pid!r} is on {len(at)} rows of the export (lines {ln}); a project "
             "without events has one row per record, so the rows are not merged"),
            "keep one row for the record (remove or merge the duplicate rows; REDCap itself "
            "never exports a record twice, so the file was edited) and read it again"))
    orphans: dict = {}
    for i, rep in enumerate(repeat):
        pid = table.at[i, rid]
        if rep and pid is not None and pid not in patients:
            key = inst.iat[i] if not is_missing(inst.iat[i]) else \
                (table.at[i, event] if event else "repeating")
            orphans.setdefault(pid, []).append((lines[i], str(key)))
    for pid, at in orphans.items():
        names = ", ".join(dict.fromkeys(k for _, k in at))
        ln = ", ".join(str(x) for x, _ in at)
        found.append(Problem(
            at[0][0], pid, rid, pid, "redcap_no_patient_row",
            f"record {pid!r} has only repeating-instrument rows ({names}; export line(s) "
            f"{ln}): it has no patient row, so it would not be in the cohort",
            "enter the record's non-repeating forms in REDCap and export again, or delete "
            "the record if it is not a patient of the cohort"))
    found.sort(key=lambda p: p.row)
    if found and problems == "raise":
        raise RedcapError(f"{export}: {len(found)} record(s) do not fit the "
                          "one-row-per-patient table:\n"
                          + "\n".join(f"  - line {p.row}: {p.message}" for p in found))
    if event:
        notes.append(f"REDCap events merged into one row per record "
                     f"({len(set(table[event].dropna()))} event(s))")
    if long:
        notes.append("REDCap repeating instruments/events kept as long tables: "
                     + ", ".join(f"{k} ({len(v)} rows)" for k, v in long.items()))
    return RedcapExport(patients=wide, repeating=long, fields=fields,
                        rows=[first_line[p] for p in patients], notes=notes, problems=found)


#: Environment variable holding a REDCap API token (never in a plan or mapping).
TOKEN_ENV = "REDCAP_API_TOKEN"


def read_redcap_api(url: str, *, token: str | None = None, **project_kwargs) -> RedcapExport:
    """Export a project through the REDCap API (PyCap) and read it like the files.

    The records are exported as REDCap's raw CSV (``raw_or_label="raw"``, unique event
    names) and the metadata as CSV, then read by :func:`read_redcap_export` and
    :func:`read_dictionary`: the same table as the "CSV (raw data)" export and the
    Data Dictionary download (tested with a fake transport). Through `PyCap
    <https://github.com/redcap-tools/PyCap>`_ (extra ``aplcohort[redcap]``).

    Parameters
    ----------
    url : str
        The project's API URL (``https://redcap.example.org/api/``).
    token : str, optional
        Default: the environment variable ``REDCAP_API_TOKEN``; a token is never read
        from a plan or mapping.
    """
    try:
        from redcap import Project
    except ImportError:
        raise RedcapError("the REDCap API needs the optional PyCap package; install "
                          "pip install \"aplcohort[redcap]\" (or export the CSV files)") from None
    import os
    token = token if token is not None else os.environ.get(TOKEN_ENV)
    if not token:
        raise RedcapError(f"REDCap API: no token; set the environment variable {TOKEN_ENV} "
                          "(a token is never written in a plan or mapping)")
    try:
        proj = Project(url, token, **project_kwargs)
        meta = proj.export_metadata(format_type="csv")
        records = proj.export_records(format_type="csv", raw_or_label="raw",
                                      event_name="unique")
    except Exception as exc:  # PyCap raises requests' and its own errors
        raise RedcapError(f"REDCap API {url}: the export failed ({type(exc).__name__}: "
                          f"{exc})") from None
    fields = read_dictionary(f"{url} (metadata)", text=meta)
    return read_redcap_export(f"{url} (records)", fields, text=records)


def read_redcap(export, dictionary, *, encoding=None) -> tuple[pd.DataFrame, dict]:
    """The patient table of a REDCap export as a raw table for :func:`aplcohort.cohort.load`.

    Returns ``(DataFrame, info)`` like :func:`aplcohort.cohort.io.read_table`; the long
    tables' names and sizes are in ``info["repeating"]`` (read them with
    :func:`read_redcap_export`). The identifying fields (:func:`identifying_fields`)
    are in ``DataFrame.attrs["identifying_columns"]`` (and ``info["identifying_fields"]``),
    the records the patient table cannot hold (``RedcapExport.problems``) in
    ``DataFrame.attrs["source_problems"]``: the validator reports both.
    """
    ex = read_redcap_export(export, dictionary, encoding=encoding, problems="report")
    labels = {n: f.label for n, f in ex.fields.items() if f.label}
    ident = identifying_fields(ex.fields)
    ident = {c: why for c, why in ident.items() if c in ex.patients.columns}
    info = {"format": "redcap", "path": str(export), "dictionary": str(dictionary),
            "variable_labels": labels,
            "repeating": {k: len(v) for k, v in ex.repeating.items()},
            "_rows": ex.rows, "source_notes": list(ex.notes)}
    if ident:
        info["identifying_fields"] = dict(ident)
    df = ex.patients
    # read by the validator: identifying fields are warned about, recorded in the data
    # (plans, tables and plots refuse them), and the records the patient table cannot
    # hold are validation errors naming the export lines
    df.attrs["identifying_columns"] = ident
    df.attrs["source_problems"] = list(ex.problems)
    return df, info


# --------------------------------------------------------------------------------------
# drafting a mapping from a REDCap dictionary
# --------------------------------------------------------------------------------------

def _norm(s: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", str(s).casefold()).strip("_")


def draft_mapping(dictionary) -> tuple[dict, list[str]]:
    """Draft a column mapping from a REDCap data dictionary to the data dictionary.

    A field is matched to a dictionary column by its name, then by its label, exactly
    (ignoring case and punctuation) or closely (``difflib``, cutoff 0.85: the
    match is marked ``# check``); choice labels are matched to the column's
    vocabulary. Anything not matched is listed, never guessed.

    Returns
    -------
    (mapping dict, list of str)
        The mapping (``columns``, ``values``, ``redcap_dictionary``) and the
        unmatched fields/labels (also written as comments by :func:`draft_mapping_yaml`).

    Examples
    --------
    >>> f = {"record_id": Field("record_id", "f", "text", "Record ID"),
    ...      "dx": Field("dx", "f", "radio", "Disease", {"1": "APL", "2": "Other"})}
    >>> m, todo = draft_mapping(f)
    >>> m["columns"], todo
    ({'record_id': 'patient_id', 'dx': 'disease'}, ["dx: choice '2, Other' matches no disease label"])
    """
    from .schema import load_dictionary
    fields = dictionary if isinstance(dictionary, dict) else read_dictionary(dictionary)
    d = load_dictionary()
    names = list(d.columns)
    by_norm = {_norm(n): n for n in names}
    by_desc = {}
    for n, spec in d.columns.items():
        if spec.description:  # the description, and the description without (...) or ';'
            by_desc.setdefault(_norm(spec.description), n)
            by_desc.setdefault(_norm(re.split(r"[(;]", spec.description)[0]), n)
    columns, values, todo, check = {}, {}, [], []
    used = set()
    for i, (name, f) in enumerate(fields.items()):
        if f.type in ("descriptive", "calc", "file", "signature"):
            continue
        target = "patient_id" if i == 0 else by_norm.get(_norm(name)) or \
            by_norm.get(_norm(f.label)) or by_desc.get(_norm(f.label)) or \
            by_desc.get(_norm(re.split(r"[(;]", f.label)[0]))
        close = False
        if target is None:
            cand = difflib.get_close_matches(_norm(name), list(by_norm), n=1, cutoff=0.85) or \
                difflib.get_close_matches(_norm(f.label), list(by_norm), n=1, cutoff=0.85)
            if cand:
                target, close = by_norm[cand[0]], True
        if target is None or target in used:
            todo.append(f"{name}: no dictionary column matches (label {f.label!r})"
                        + (f"; {target!r} is already taken" if target in used else ""))
            continue
        used.add(target)
        columns[name] = target
        if close:
            check.append(f"{name} -> {target}: a close match of the name or label; check it")
        vocab = d.vocabulary_of(target)
        if vocab is not None and f.choices:
            for code, lab in f.choices.items():
                if vocab.normalise(lab) is None:
                    todo.append(f"{name}: choice '{code}, {lab}' matches no {vocab.name} label")
    return ({"redcap_dictionary": None, "columns": columns, "values": values}, todo + check)


def draft_mapping_yaml(dictionary_path) -> str:
    """The drafted mapping as YAML text with the unmatched items as comments."""
    import yaml
    m, todo = draft_mapping(dictionary_path)
    m["redcap_dictionary"] = str(dictionary_path)
    if not m["values"]:
        m.pop("values")
    head = ["# Column mapping drafted by `aplcohort mapping from-redcap` from",
            f"# {dictionary_path}. Check every line before use (docs/mapping.md).",
            "# Columns are matched by field name or label; choice codes become their",
            "# labels when the export is read, so values: maps labels, not codes."]
    if todo:
        head.append("#")
        head.append("# NOT MATCHED, or TO CHECK (map these by hand, under columns: or values:):")
        head += [f"#   - {t}" for t in todo]
    return "\n".join(head) + "\n" + yaml.safe_dump(m, sort_keys=False, allow_unicode=True)
