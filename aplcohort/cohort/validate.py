"""Parse a raw patient table with the data dictionary and collect every problem.

:func:`validate` takes a table as read (text/objects, nothing coerced), applies
an optional column mapping, parses every column with its dictionary type and
checks every rule below. It never stops at the first problem: the
:class:`ValidationReport` lists them all, each as a :class:`Problem` with the
row, patient id, column, value, rule and how to fix it.

Row numbers follow the spreadsheet: **row 1 is the header, row 2 the first
patient** (for a CSV file that is also the line number). Tables built in
Python are numbered the same way (position + 2).

Missing values and numbers follow the one policy of :mod:`aplcohort.cohort.types`:
empty cells, white space, and the tokens ``NA``, ``N/A``, ``#N/A``, ``NaN``,
``NaT``, ``null`` and ``.`` (any case) are missing; nothing else is. Numbers are
parsed strictly (ASCII digits and a decimal point; a decimal comma, a thousands
separator, an underscore or non-ASCII digits are errors with their own message).

Performance: every column is parsed once per distinct value and every rule is a
vectorised mask; problems are then reported cell by cell in row order.

Rules (``Problem.rule``) and severity
-------------------------------------
errors
    ``required_column``, ``required_value``, ``duplicate_column``,
    ``ambiguous_column`` (a header matches two mapping names once case, spaces
    and line breaks are ignored),
    ``type_number``, ``type_integer``, ``type_date`` (unparseable date),
    ``vocabulary`` (unknown code), ``duplicate_id``, ``range`` (outside the
    dictionary min/max: negative counts, ages out of range), ``future_date``,
    ``date_order``, ``after_death``, ``followup_before_event``,
    ``contradiction``, ``age_birth_date_mismatch`` (> 1 year apart),
    ``sanz_risk_mismatch`` (given Sanz risk differs from the one derived from
    WBC and platelets: reported, never overwritten), ``derive`` (a mapping's
    derived-column expression cannot be evaluated), ``derive_conflict`` (a
    derived column the file already has).
    From a REDCap export (:mod:`aplcohort.cohort.redcap`), with the export's line:
    ``duplicate_id`` (a record on two rows of a project without events, or twice in
    one event), ``redcap_no_patient_row`` (a record with only repeating-instrument
    rows).
warnings
    ``mapped_column_absent``, ``extra_column`` (a column the dictionary does not know;
    a column aplcohort derives itself, ``aplcohort.plan.derived.DERIVED_COLUMNS``, as in
    a frame after ``Cohort.with_derived()``, is read as derived with a note when it equals
    the derivation, and this warning says how it differs otherwise), ``followup_before_death``,
    ``after_cutoff`` (an event after the data cut-off; endpoints censor it at
    the cut-off), ``response_date_missing``, ``treatment_start_missing`` (a treatment
    recorded as given whose start date is empty, e.g. a transplant without
    ``postremission_start_date``: the analyses taking that date as ``exposure`` leave the
    patient out), ``ato_resistant_fusion``
    (ATO for PLZF-RARA or STAT5b-RARA), ``atra_resistant_fusion`` (ATRA or
    tamibarotene for PLZF-RARA or STAT5b-RARA), ``response_for_disease`` (a
    response category of another disease, ``vocab.RESPONSE_BY_DISEASE``),
    ``ato_non_pml_rara`` (ATO for another RARA fusion),
    ``ato_non_apl``, ``fusion_non_apl``, ``mixed_fusions`` (cohort mixes
    PML-RARA and variant fusions), ``molecular_relapse_high_wbc`` (molecular
    relapse with WBC at relapse > 10 x10^9/L), ``partial_date_imputed`` (a
    partial date imputed under the mapping's ``partial_dates`` policy; also in
    the attrition log).

Dates: ISO text, a date cell, the mapping's ``date_format``; Excel serial day
numbers in numeric cells of an .xlsx (the workbook's 1900/1904 system) or when
the mapping declares ``excel_serial_dates``; Stata/SAS day numbers (days since
1960-01-01) when it declares ``sas_stata_dates`` (a number in a date column of a
Stata/SAS file is never read as an Excel serial); partial dates (``2015-03``, ``2015``)
per the mapping's ``partial_dates`` (default reject) -- see docs/mapping.md.

Derived values (recorded in ``ValidationReport.derived``, never overwriting a
given value): ``sanz_risk`` for APL from ``wbc_diagnosis``/``plt_diagnosis``
(high: WBC > 10, platelets not needed; low: WBC <= 10 and PLT > 40;
intermediate: WBC <= 10 and PLT <= 40); ``age_at_diagnosis`` from
``birth_date`` and ``diagnosis_date`` (days / 365.25) when it is missing.

Dates after the data cut-off are warnings, not errors: the endpoint derivation
censors at the cut-off, so the table stays usable and the report shows them.
A ``last_followup_date`` after the cut-off is normal and not reported.
"""

from __future__ import annotations

import datetime as _dt
import difflib
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import CohortValidationError
from .mapping import ColumnMapping, load_mapping
from .vocab import RESPONSE_BY_DISEASE, resistant_fusions
from .schema import CORE_REQUIRED, load_dictionary, required_for
from .types import (MISSING_TOKENS, as_text, is_missing, parse_number,  # noqa: F401
                    factorize_cells, header_key, parse_numbers, row_numbers_of,
                    texts_of)
from .types import SourceRows, _has_unicode_digit, _unicode_to_ascii
from .vocab import match_key

# [0-9], not \d: \d also matches full-width and Arabic-Indic digits
_ISO = re.compile(r"^([0-9]{4})-([0-9]{2})-([0-9]{2})(?:[ T]00:00(?::00(?:\.0+)?)?)?$")
ROW_CONVENTION = "Rows are numbered as in the spreadsheet: row 1 is the header, row 2 the first patient."
#: For a DataFrame with its own integer index (e.g. a filtered frame): rows are its labels.
INDEX_CONVENTION = "Rows are the DataFrame's index labels (df.loc[row])."

#: WBC at relapse (x10^9/L) above which a molecular relapse is flagged.
MOLECULAR_RELAPSE_WBC_LIMIT = 10.0


@dataclass(frozen=True)
class Problem:
    """One problem found in a cohort table.

    Attributes
    ----------
    row : int or None
        Spreadsheet row (header = row 1); ``None`` for table-level problems.
    patient_id : str or None
    column : str or None
        Dictionary column (or the file's column name when it is not mapped).
    value : object
        The offending value as recorded.
    rule : str
        Rule name (see module docstring).
    message : str
        What is wrong.
    fix : str
        How to fix it.
    severity : {"error", "warning"}
    """

    row: int | None
    patient_id: str | None
    column: str | None
    value: object
    rule: str
    message: str
    fix: str
    severity: str = "error"

    def __str__(self) -> str:
        where = []
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.patient_id is not None:
            where.append(f"patient {self.patient_id}")
        if self.column is not None:
            where.append(f"column {self.column}")
        loc = ", ".join(where) if where else "table"
        val = "" if self.value is None else f" value {_show(self.value)}:"
        return f"{loc}:{val} [{self.rule}] {self.message}. Fix: {self.fix}"


def _show(v) -> str:
    if isinstance(v, (pd.Timestamp, _dt.date)):
        return repr(pd.Timestamp(v).date().isoformat())
    if isinstance(v, float) and v.is_integer():
        return repr(v)
    return repr(v)


@dataclass(frozen=True, eq=False)
class ValidationReport:
    """Every problem found in a cohort table.

    Attributes
    ----------
    problems : tuple of Problem
    n_rows : int
    source : str
        File or description of the table.
    data : DataFrame or None
        The parsed table (canonical columns and types); cells that failed to
        parse are missing in it.
    derived : dict
        ``{column: [patient ids]}`` for values derived by the loader.
    notes : tuple of str
        Informational notes (renamed columns, unit conversions, ...).
    """

    problems: tuple
    n_rows: int
    source: str = "table"
    data: pd.DataFrame | None = None
    derived: dict = field(default_factory=dict)
    notes: tuple = ()
    row_convention: str = ROW_CONVENTION

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def to_frame(self) -> pd.DataFrame:
        """Problems as a table ``[severity, row, patient_id, column, value, rule, message, fix]``."""
        cols = ["severity", "row", "patient_id", "column", "value", "rule", "message", "fix"]
        df = pd.DataFrame([{c: getattr(p, c) for c in cols} for p in self.problems], columns=cols)
        df["row"] = df["row"].astype("Int64")  # whole-table problems have no row
        return df

    def __str__(self) -> str:
        e, w = self.errors, self.warnings
        lines = [f"Cohort validation of {self.source}: {self.n_rows} row(s), "
                 f"{len(e)} error(s), {len(w)} warning(s).", self.row_convention]
        if e:
            lines.append("ERRORS")
            lines += [f"  - {p}" for p in e]
        if w:
            lines.append("WARNINGS")
            lines += [f"  - {p}" for p in w]
        if not e and not w:
            lines.append("No problems found.")
        return "\n".join(lines)

    def raise_if_errors(self) -> None:
        """Raise :class:`~aplcohort.errors.CohortValidationError` if there are errors."""
        if self.errors:
            raise CohortValidationError(str(self), list(self.problems))


# --------------------------------------------------------------------------------------
# helpers (the missing-value and number policy lives in aplcohort.cohort.types)
# --------------------------------------------------------------------------------------

_as_text = as_text


def _parse_date(v, fmt, unicode_digits=False):
    """Return (Timestamp, None) or (None, reason)."""
    if isinstance(v, str) and not v.isascii() and _has_unicode_digit(v):
        if not unicode_digits:
            return None, ("uses non-ASCII digits (full-width or Arabic-Indic); retype it with "
                          "ASCII digits 0-9, or declare unicode_digits: true in the mapping")
        v = _unicode_to_ascii(v)
    try:
        ts, why = _parse_date_raw(v, fmt)
    except (ValueError, OverflowError, pd.errors.OutOfBoundsDatetime):
        return None, "is not a valid calendar date"
    if ts is not None and not (1900 <= ts.year <= 2199):
        return None, "has a year outside 1900-2199"
    return ts, why


def _has_clock(v) -> bool:
    """A datetime value with a time of day other than midnight, or a time zone: the date
    parsers keep only its calendar date, which the validator then says in a note."""
    if isinstance(v, (pd.Timestamp, np.datetime64, _dt.datetime)):
        ts = pd.Timestamp(v)
        return ts.tzinfo is not None or ts != ts.normalize()
    return False


def _parse_date_raw(v, fmt):
    if isinstance(v, (_dt.datetime, _dt.date)) and not isinstance(v, pd.Timestamp):
        return pd.Timestamp(v.year, v.month, v.day), None
    if isinstance(v, (pd.Timestamp, np.datetime64)):
        ts = pd.Timestamp(v)
        if ts.tzinfo is not None:
            ts = ts.tz_localize(None)
        return ts.normalize(), None
    if isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool):
        return None, "is a number, not a date"
    s = str(v).strip()
    if fmt is not None:
        try:
            d = _dt.datetime.strptime(s, fmt)
            return pd.Timestamp(d.year, d.month, d.day), None
        except ValueError:
            m = _ISO.match(s)
            if m:  # an ISO date is unambiguous whatever the stated format
                try:
                    return pd.Timestamp(int(m[1]), int(m[2]), int(m[3])), None
                except ValueError:
                    return None, "is not a valid calendar date"
            return None, f"does not match the date format {fmt!r}"
    m = _ISO.match(s)
    if not m:
        return None, "is not an ISO date (YYYY-MM-DD) and no date format was stated"
    try:
        return pd.Timestamp(int(m[1]), int(m[2]), int(m[3])), None
    except ValueError:
        return None, "is not a valid calendar date"


def _parse_number(v):
    return parse_number(v)


def _own_integer_index(df: pd.DataFrame, row_numbers) -> bool:
    """A DataFrame given by the user with its own integer index (not 0..n-1, unique, no
    reader's rows): its messages name rows by index label, as the user finds them."""
    if row_numbers is not None or df.attrs.get("source_rows") is not None:
        return False
    idx = df.index
    if isinstance(idx, pd.RangeIndex) and idx.start == 0 and idx.step == 1:
        return False
    return pd.api.types.is_integer_dtype(idx.dtype) and idx.is_unique and len(idx) > 0


#: Stata and SAS count dates in days from this day (Excel from 1899-12-30: 21,916 days earlier).
SAS_STATA_DATE_ORIGIN = pd.Timestamp("1960-01-01")


def _sas_stata_day(u):
    """``(Timestamp, None)`` for a whole number of days since 1960-01-01, else ``(None, why)``."""
    from .types import is_serial_text
    try:
        x = float(u.strip()) if isinstance(u, str) and is_serial_text(u) else float(u)
    except (TypeError, ValueError):
        return None, "is not a Stata/SAS day number"
    if not np.isfinite(x) or not x.is_integer():
        return None, ("is not a whole number of days since 1960-01-01 (a Stata %tc / SAS "
                      "datetime counts milliseconds or seconds: convert it to a date first)")
    from .types import day_number_date
    ts, why = day_number_date(SAS_STATA_DATE_ORIGIN.date(), int(x),
                              "Stata/SAS day number (days since 1960-01-01)")
    return ts, why


def _negative_day_text(u) -> bool:
    """A text cell holding a negative whole day number (``-100``: a Stata/SAS date before
    1960-01-01, e.g. a birth date)."""
    return isinstance(u, str) and bool(re.fullmatch(r"-[0-9]+(?:\.[0-9]+)?", u.strip()))


def _sas_stata_cell(u, part, policy):
    """``_parse_date_cell`` of a number (or number text) in a date column under
    ``sas_stata_dates: true``: a day number since 1960-01-01. A whole number 1900-2199 is
    also a year; it is read as the day the mapping declares unless the mapping declares
    partial dates too (``partial_dates`` other than ``reject``), where it is refused naming
    both readings."""
    ts, why = _sas_stata_day(u)
    if ts is None:
        return None, why, None
    if part is not None and policy != "reject":
        return None, (f"is ambiguous: the year {part[0]} (a partial date, partial_dates: "
                      f"{policy}) or the Stata/SAS day {ts.date().isoformat()} (days since "
                      "1960-01-01, sas_stata_dates: true); write the full date as YYYY-MM-DD"), None
    if not 1900 <= ts.year <= 2199:
        return None, "has a year outside 1900-2199 (as days since 1960-01-01)", None
    return ts, None, (ts.date().isoformat(), "is a Stata/SAS day number")


def _parse_date_cell(u, fmt, unicode_digits, serial, declared_serial, policy, stats=False):
    """``(Timestamp, None, imputed)`` or ``(None, reason, None)`` for one date cell.

    Beyond :func:`_parse_date`: Excel serial day numbers (numeric cells of an .xlsx,
    whose workbook records its date system; numbers or digit texts anywhere when the
    mapping declares ``excel_serial_dates: true``), Stata/SAS day numbers (days since
    1960-01-01, when ``serial`` is ``"sas-stata"``: the mapping declares
    ``sas_stata_dates: true``), and partial dates under the mapping's ``partial_dates``
    policy. ``stats``: the source is a Stata/SAS file, whose day numbers are never
    Excel serials (the message says how to read them). ``imputed`` is ``(ISO date, what was done)``
    for a value that was not a full date, else ``None``.
    """
    from .types import (excel_serial_to_date, impute_partial_date, is_serial_text,
                        partial_date)
    is_num = isinstance(u, (int, float, np.integer, np.floating)) and not isinstance(u, bool)
    part = partial_date(u)
    if serial == "sas-stata" and (is_num or is_serial_text(u) or _negative_day_text(u)):
        # the mapping says the column's numbers count days since 1960-01-01: 1900-2199 are
        # the days 1965-03-15 .. 1966-01-09 (birth dates), not years, unless the mapping
        # also says the data have partial dates: then a year is as likely, and it is refused
        return _sas_stata_cell(u, part, policy)
    if part is not None and (is_num or isinstance(u, str)) and not (
            isinstance(u, str) and fmt is not None and _fmt_matches(u, fmt)):
        year, month = part
        shown = f"{year}-{month:02d}" if month else f"{year}"
        if policy == "reject":
            return None, (f"is a partial date ({'year and month' if month else 'year only'}); "
                          "write the full date, or declare partial_dates: mid (15th of the "
                          "month / 1 July) or first in the mapping to impute the day (every "
                          "imputed date is recorded)"), None
        day = impute_partial_date(year, month, policy)
        return day, None, (day.date().isoformat(),
                           f"partial date {shown} (partial_dates: {policy})")
    if serial is not None and (is_num or (declared_serial and is_serial_text(u))):
        system = serial if serial in ("1900", "1904") else "1900"
        ts, why = excel_serial_to_date(u, system)
        if ts is None:
            return None, why, None
        if not 1900 <= ts.year <= 2199:
            return None, "has a year outside 1900-2199", None
        return ts, None, (ts.date().isoformat(),
                          f"is an Excel serial date ({system} date system)")
    if is_num or (isinstance(u, str) and is_serial_text(u) and len(u.strip()) == 5):
        ts, why = _parse_date(u, fmt, unicode_digits)
        if ts is None and stats:
            day, _ = _sas_stata_day(u)
            as_day = f" ({_as_text(u)} = {day.date().isoformat()})" if day is not None else ""
            return None, (f"{why}; Stata and SAS store a date as a number of days since "
                          f"1960-01-01{as_day}, and this variable has lost its date format: "
                          "apply a %td format in Stata (format VARIABLE %td) or DATE9. in SAS "
                          "and save the file again, or declare sas_stata_dates: true in the "
                          "mapping (never excel_serial_dates: Excel counts from 1899-12-30)"), None
        if ts is None:
            return None, (f"{why}; if it is an Excel serial date (a day number such as 43831 "
                          "= 2020-01-01), declare excel_serial_dates: true in the mapping"), None
        return ts, None, None
    ts, why = _parse_date(u, fmt, unicode_digits)
    return ts, why, None


def _fmt_matches(s, fmt) -> bool:
    try:
        _dt.datetime.strptime(s.strip(), fmt)
        return True
    except ValueError:
        return False


_factorize = factorize_cells


# --------------------------------------------------------------------------------------
# the validator
# --------------------------------------------------------------------------------------

class _Collector:
    def __init__(self, rows, ids):
        self.rows = rows  # position -> spreadsheet row
        self.ids = ids  # position -> patient id or None
        self.problems: list[Problem] = []
        self.serials: dict = {}  # column -> cells read as Excel serial dates
        self.stats_file = False  # the source is a Stata/SAS file (day numbers from 1960)
        self.clock: dict = {}  # column -> cells whose time of day / time zone was dropped

    def add(self, pos, column, value, rule, message, fix, severity="error"):
        row = None if pos is None else int(self.rows[pos])
        pid = None if pos is None else self.ids[pos]
        self.problems.append(Problem(row, pid, column, value, rule, message, fix, severity))


def _warn_identifying(columns, c, recorded=None) -> None:
    """One warning naming the extra (non-dictionary) columns that identify patients (a
    name, an MRN ...; the detection of :mod:`aplcohort.plan.identifiers`, and the columns
    the source marked, ``recorded``): kept in the data, they would list patients one by
    one in any table, figure or file using them."""
    from ..plan.identifiers import describe, identifying_columns
    found = identifying_columns(columns, recorded)
    if not found:
        return
    what = ", ".join(f"{k!r} ({describe(v).removeprefix('is ')})" for k, v in found.items())
    c.add(None, ", ".join(map(str, found)), None, "identifying_column",
          f"column{'s' if len(found) > 1 else ''} {what} identif{'y' if len(found) > 1 else 'ies'} "
          "patients: a table, figure or file that uses "
          f"{'them' if len(found) > 1 else 'it'} lists patients one by one (table1, "
          "save_table and the plots refuse identifying columns unless allow_identifiers=True, "
          "plans unless allow_identifiers: true)",
          "drop the column(s) after loading, e.g. cohort.data.drop(columns=[...]), unless "
          "they are needed and may be kept on this machine", "warning")


def _apply_columns(raw: pd.DataFrame, mapping: ColumnMapping | None, col: _Collector, notes):
    d = load_dictionary()
    names = [str(c).strip() for c in raw.columns]
    new = []
    mapped_from = {}
    # mapping names are matched exactly, else ignoring case, spaces and line breaks
    # (a header typed "WBC\n(Rel)" in one file and "WBC (Rel)" in another)
    by_key: dict = {}
    if mapping is not None:
        for theirs in mapping.columns:
            by_key.setdefault(header_key(theirs), []).append(theirs)
    used = set()
    for n in names:
        target = None
        if mapping is not None and n in mapping.columns:
            target = mapping.columns[n]
            used.add(n)
        elif mapping is not None and header_key(n) in by_key:
            cands = by_key[header_key(n)]
            targets = sorted({mapping.columns[k] for k in cands})
            if len(targets) == 1:
                target = targets[0]
                used.update(cands)
                notes.append(f"column {n!r} read as the mapping's {cands[0]!r} -> {target!r} "
                             "(case, spaces and line breaks ignored)")
            else:
                col.add(None, n, cands, "ambiguous_column",
                        f"column {n!r} matches several names of the mapping when case, spaces "
                        f"and line breaks are ignored: "
                        + ", ".join(f"{k!r} -> {mapping.columns[k]!r}" for k in cands),
                        f"spell the mapping's name exactly as the file's header ({n!r})")
                target = n
        if target is None:
            if n in d.columns:
                target = n
            else:
                key = re.sub(r"[\s\-]+", "_", n.casefold())
                if key in d.columns and (mapping is None or key not in mapping.columns.values()):
                    target = key
                    notes.append(f"column {n!r} read as {key!r}")
                else:
                    target = n
        new.append(target)
        mapped_from.setdefault(target, []).append(n)
    if mapping is not None:
        keys = {header_key(n): n for n in names}
        for theirs, ours in mapping.columns.items():
            if theirs not in used and ours not in names:
                close = difflib.get_close_matches(header_key(theirs), list(keys), n=1, cutoff=0.75)
                hint = f"; did you mean {keys[close[0]]!r}?" if close else ""
                col.add(None, ours, theirs, "mapped_column_absent",
                        f"the mapping maps {theirs!r} to {ours!r} but the file has no column "
                        f"{theirs!r}{hint}", "check the column name in the mapping (exact "
                        "spelling; case, spaces and line breaks are ignored)", "warning")
    for target, srcs in mapped_from.items():
        if len(srcs) > 1:
            col.add(None, target, srcs, "duplicate_column",
                    f"{len(srcs)} columns of the file become {target!r}: {srcs}",
                    "keep one column for each dictionary column (rename or delete the others)")
    out = raw.copy(deep=False)  # only the names change; cells are never written
    out.columns = new
    return out, {t: s for t, s in mapped_from.items() if len(s) == 1}


def validate(df: pd.DataFrame, mapping=None, *, source: str = "data frame",
             row_numbers=None, required=None) -> ValidationReport:
    """Parse and check a patient table; collect every problem.

    Parameters
    ----------
    df : DataFrame
        One row per patient, as read (text or objects; already-typed columns
        are accepted too).
    mapping : str, Path, dict or ColumnMapping, optional
        Column mapping (:func:`aplcohort.cohort.mapping.load_mapping`).
    source : str
        Name of the table used in the report.
    row_numbers : sequence of int, optional
        Spreadsheet row of each data row (default: position + 2).
    required : sequence of str, optional
        Columns that must be present (default: the dictionary's core columns
        ``patient_id, disease, last_followup_date``). A table that is not in the
        date-based schema (endpoints given directly as time/event columns) passes
        ``("patient_id",)``.

    Returns
    -------
    ValidationReport
        ``.data`` holds the parsed table; ``.errors``/``.warnings`` the problems.

    Examples
    --------
    >>> import pandas as pd
    >>> raw = pd.DataFrame({"patient_id": ["P1", "P1"], "disease": ["APL", "apl"],
    ...                     "last_followup_date": ["2020-01-01", "2020-13-01"]})
    >>> rep = validate(raw)
    >>> sorted({p.rule for p in rep.errors})
    ['duplicate_id', 'type_date']

    Validated against: hand-made tables, one per rule (tests/test_cohort_validate.py).
    """
    d = load_dictionary()
    mapping = load_mapping(mapping)
    if not isinstance(df, pd.DataFrame):
        raise CohortValidationError(f"expected a pandas DataFrame, got {type(df).__name__}")
    n = len(df)
    rows = row_numbers_of(df, row_numbers)
    convention = ROW_CONVENTION
    if _own_integer_index(df, row_numbers):  # issue 18: rows as in the frame's index
        rows = [int(i) for i in df.index]
        convention = INDEX_CONVENTION
    elif df.attrs.get("header_row") not in (None, 1):  # title rows above the header
        h = int(df.attrs["header_row"])
        convention = (f"Rows are numbered as in the spreadsheet: row {h} is the header, "
                      f"row {h + 1} the first patient.")
    notes: list[str] = []
    raw_ids = [None] * n
    c = _Collector(rows, raw_ids)
    # problems the reader found in the source itself (a REDCap record without a patient
    # row, a record twice in a project without events): reported with the others
    c.problems.extend(p for p in df.attrs.get("source_problems", ()) if isinstance(p, Problem))
    raw, renamed = _apply_columns(df.reset_index(drop=True), mapping, c, notes)
    # columns the source marks as identifying (a REDCap field flagged "Identifier? = y"),
    # under their names after the mapping; patient_id is the key, printed by design
    flagged = df.attrs.get("identifying_columns") or {}
    recorded = {t: flagged[s[0]] for t, s in renamed.items()
                if s[0] in flagged and t != "patient_id"}
    serial = df.attrs.get("excel_date_system")  # set by the .xlsx reader ("1900"/"1904")
    c.stats_file = df.attrs.get("day_number_origin") == "1960-01-01"  # Stata / SAS reader
    if mapping is not None and mapping.excel_serial_dates:
        if c.stats_file:
            c.add(None, None, None, "excel_serial_dates",
                  "the mapping declares excel_serial_dates: true but the file is a Stata/SAS "
                  "file, whose day numbers count from 1960-01-01 (Excel serials count from "
                  "1899-12-30, 21,916 days earlier: every date would be 60 years early)",
                  "remove excel_serial_dates from the mapping and declare sas_stata_dates: "
                  "true, or apply a %td (Stata) / DATE9. (SAS) format to the date variables")
        serial = serial or "1900"
    if mapping is not None and mapping.sas_stata_dates:
        serial = "sas-stata"
    derive = dict(mapping.derive) if mapping is not None else {}
    for name, (kind, value) in list(derive.items()):
        if name in raw.columns:
            c.add(None, name, None, "derive_conflict",
                  f"the mapping derives {name!r} but the file already has a column {name!r}",
                  f"remove {name!r} from derive: in the mapping, or map the file's column to "
                  "another name", "error")
            derive.pop(name)
        elif kind == "constant":
            raw = raw.copy(deep=False)
            raw[name] = pd.Series([value] * n, dtype=object)
            notes.append(f"{name} set to the constant {value!r} for every patient (mapping)")
    # patient ids first so every problem can name the patient
    if "patient_id" in raw.columns and not isinstance(raw["patient_id"], pd.DataFrame):
        codes, uniq = _factorize(raw["patient_id"])
        utext, umiss = texts_of(uniq)
        utext[umiss] = None
        raw_ids[:] = utext[codes].tolist()

    for req in (CORE_REQUIRED if required is None else tuple(required)):
        if req not in raw.columns:
            c.add(None, req, None, "required_column",
                  f"required column {req!r} is missing (columns found: "
                  f"{', '.join(map(str, raw.columns)) or 'none'})",
                  f"add a column {req!r} or map your column to it in the mapping")
    data = {}
    seen = set()
    own_derived: list = []  # columns aplcohort itself derives (a frame after with_derived())
    for name in raw.columns:
        if name in seen:
            continue
        seen.add(name)
        series = raw[name]
        if isinstance(series, pd.DataFrame):  # duplicate column, reported above
            series = series.iloc[:, 0]
        if isinstance(series.dtype, pd.CategoricalDtype):  # text read as categories
            values = series.reset_index(drop=True)
        else:
            values = pd.Series(series.to_numpy(dtype=object), dtype=object)
        if name not in d.columns:
            if name in _derived_names():  # compared with its derivation below
                own_derived.append(name)
            else:
                c.add(None, name, None, "extra_column",
                      f"column {name!r} is not in the data dictionary; it is kept unchanged "
                      "and not validated", "map it to a dictionary column if it is one",
                      "warning")
            # as objects, never sharing cells with the caller's frame
            data[name] = pd.Series(values.to_numpy(dtype=object, copy=True), dtype=object)
            continue
        data[name] = _parse_column(name, values, mapping, c, serial=serial)
    # dictionary columns are known (birth_date derives the age; table1, the plots and plans
    # still refuse to print it): the warning is for the extra columns kept unchanged
    _warn_identifying([k for k in data if k not in d.columns], c, recorded)

    for name, (kind, expr) in derive.items():
        if kind != "expression":
            continue
        from ..expr import ExpressionError
        try:
            values = expr.evaluate(pd.DataFrame(data, index=range(n)))
        except ExpressionError as exc:
            c.add(None, name, expr.text, "derive",
                  f"the mapping's expression for {name!r} cannot be evaluated: {exc}",
                  "correct the expression under derive: in the mapping (it reads the columns "
                  "after mapping: dictionary names, dictionary types)")
            continue
        notes.append(f"{name} derived from the expression {expr.text!r} (mapping)")
        if name in d.columns:
            if values.dtype == "boolean":
                values = pd.Series([None if v is pd.NA else ("yes" if v else "no")
                                    for v in values], dtype=object)
            data[name] = _parse_column(name, values.reset_index(drop=True), mapping, c)
        else:
            data[name] = values.reset_index(drop=True)

    typed = pd.DataFrame(data, index=range(n))
    if own_derived:
        _check_own_derived(typed, own_derived, c, notes)
    derived: dict = {}
    if "patient_id" in typed:
        ids = typed["patient_id"].tolist()
        _check_ids(ids, c)
    _derive_and_check(typed, c, derived)
    _check_dates(typed, c)
    _check_contradictions(typed, c)
    _check_plausibility(typed, c)
    for name, k in c.serials.items():
        notes.append(f"{name}: {k} cell(s) read as Stata/SAS day numbers (days since "
                     "1960-01-01, sas_stata_dates)" if serial == "sas-stata" else
                     f"{name}: {k} cell(s) read as Excel serial dates "
                     f"({serial} date system; serial 60 = 1900-02-29 does not exist)")
    for name, k in c.clock.items():
        notes.append(f"{name}: {k} cell(s) carried a time of day or a time zone; only the "
                     "calendar date (local to the time zone given) is used, as every analysis "
                     "counts whole days")
    if mapping is not None:
        for u in mapping.units.values():
            notes.append(f"{u.column}: {u.from_unit} x {u.factor:g} -> {u.to_unit}")
    # canonical column order, extras at the end
    order = [k for k in d.columns if k in typed.columns] + \
            [k for k in typed.columns if k not in d.columns]
    typed = typed[order]
    typed.attrs["source_rows"] = SourceRows(rows)  # spreadsheet rows, for later messages
    if recorded:  # read by the identifier checks of plans, tables and plots
        typed.attrs["identifying_columns"] = {k: v for k, v in recorded.items()
                                              if k in typed.columns}
    if convention is not ROW_CONVENTION:
        typed.attrs["row_convention"] = convention
    return ValidationReport(problems=tuple(c.problems), n_rows=n, source=source, data=typed,
                            row_convention=convention,
                            derived=derived, notes=tuple(notes))


def _derived_names() -> tuple:
    from ..plan.derived import DERIVED_COLUMNS
    return DERIVED_COLUMNS


def _same_as_derived(given: pd.Series, want: pd.Series) -> np.ndarray:
    """Row by row: does a given cell equal the derived value (both missing counts)?"""
    g = pd.Series(given.to_numpy(dtype=object), dtype=object)
    w = want.reset_index(drop=True)
    g_miss = g.map(lambda v: v is None or v is pd.NA or v is pd.NaT
                   or (isinstance(v, (float, np.floating)) and np.isnan(v))
                   or (isinstance(v, str) and not v.strip())).to_numpy(dtype=bool)
    w_miss = w.isna().to_numpy(dtype=bool)
    same = g_miss & w_miss
    both = ~g_miss & ~w_miss
    if not both.any():
        return same
    if pd.api.types.is_datetime64_any_dtype(w):
        gv = pd.to_datetime(g.where(~g_miss, None), errors="coerce")
        ok = (gv.dt.normalize() == w.dt.normalize()).to_numpy(dtype=bool)
    elif pd.api.types.is_bool_dtype(w) or str(w.dtype) == "boolean":
        words = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}
        gv = g.map(lambda v: bool(v) if isinstance(v, (bool, np.bool_, int, np.integer))
                   else words.get(str(v).strip().lower()))
        ok = np.array([a is not None and b is not pd.NA and a == bool(b)
                       for a, b in zip(gv, w.astype(object))], dtype=bool)
    elif pd.api.types.is_numeric_dtype(w):
        gv = pd.to_numeric(g.where(~g_miss, None), errors="coerce").to_numpy(dtype=float)
        ok = np.isclose(gv, w.to_numpy(dtype=float), rtol=0.0, atol=1e-9)
    else:
        ok = (g.astype(str).str.strip() == w.astype(str)).to_numpy(dtype=bool)
    return same | (both & ok)


def _check_own_derived(typed: pd.DataFrame, names: list, c: _Collector, notes: list) -> None:
    """Columns named like the ones aplcohort derives (``aplcohort.plan.derived``), e.g. a
    frame that went through ``Cohort.with_derived()``: equal to the derivation from the
    dictionary columns -> read as that derived column (typed), with a note; otherwise the
    ``extra_column`` warning says how they differ (kept unchanged; a plan uses them as given,
    never overwriting them)."""
    from ..plan.derived import add_derived
    base = typed.drop(columns=names)
    derived_frame, _added = add_derived(base)
    equal: list = []
    for name in names:
        given = typed[name]
        if name not in derived_frame.columns:
            c.add(None, name, None, "extra_column",
                  f"column {name!r} is a column aplcohort derives (see aplcohort.plan.derived), "
                  "but the dictionary columns it is derived from are absent; it is kept "
                  "unchanged and not validated, and a plan uses it as given",
                  "drop it, or add the dictionary columns it is derived from", "warning")
            continue
        same = _same_as_derived(given, derived_frame[name])
        if same.all():
            typed[name] = derived_frame[name]  # same index (range(n)); the derived dtype
            equal.append(name)
            continue
        bad = np.flatnonzero(~same)
        i = int(bad[0])

        def show(v):
            if v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and np.isnan(v)):
                return "missing"
            if isinstance(v, pd.Timestamp):
                return v.date().isoformat()
            if isinstance(v, np.generic):
                v = v.item()
            return repr(v) if isinstance(v, str) else str(v)
        c.add(i, name, given.iat[i], "extra_column",
              f"column {name!r} has the name of a column aplcohort derives (see "
              f"aplcohort.plan.derived) but differs from the derived value in {len(bad)} "
              f"row{'' if len(bad) == 1 else 's'} (this row: given {show(given.iat[i])}, "
              f"derived {show(derived_frame[name].iat[i])}); it is kept unchanged and not "
              "validated, and a plan uses it as given instead of deriving it",
              "drop the column to have it derived, or rename it if it means something else",
              "warning")
    if equal:
        notes.append(f"{', '.join(equal)}: equal in every row to the column"
                     f"{'' if len(equal) == 1 else 's'} aplcohort derives from the dictionary "
                     "columns (aplcohort.plan.derived, as Cohort.with_derived() adds them); "
                     "read as derived, not reported as extra columns")


def _parse_column(name, values, mapping, c: _Collector, serial=None) -> pd.Series:
    # Vectorised: each distinct cell value is parsed once (_factorize) and problems are
    # built only for the cells that fail, in row order, with the same messages as a
    # cell-by-cell parse.
    d = load_dictionary()
    spec = d.columns[name]
    t = spec.type
    s = pd.Series(values, dtype=object) if not isinstance(values, pd.Series) else \
        values.reset_index(drop=True)
    if s.dtype != object and not isinstance(s.dtype, pd.CategoricalDtype):
        s = s.astype(object)
    n = len(s)
    found: list = []  # (position, args of Collector.add)

    def required(miss, fix):
        if spec.required:
            for i in np.flatnonzero(miss):
                found.append((i, (name, s.iat[i] if t in ("id", "text") else None,
                                  "required_value", f"{name} is empty", fix)))

    def flush():
        found.sort(key=lambda x: x[0])
        for i, args in found:
            c.add(int(i), *args)

    if t != "number" and t != "integer":
        codes, uniq = _factorize(s)
        utext, umiss = texts_of(uniq)
        miss = umiss[codes] if n else np.zeros(0, bool)
    if t in ("id", "text"):
        utext[umiss] = None
        required(miss, f"fill in {name} for this patient")
        flush()
        return pd.Series(utext[codes] if n else [], dtype=object)
    if t in ("category", "bool"):
        vocab = d.vocabularies[spec.vocabulary]
        lookup = mapping.code_lookup(name) if mapping is not None else {}

        def label(v):
            txt = _as_text(v)
            lab = lookup.get(match_key(txt))
            return lab if lab is not None else vocab.normalise(txt)

        ulab = np.array([None if m else label(u) for u, m in zip(uniq, umiss)] + [None],
                        dtype=object)[:-1]
        required(miss, f"fill in {name} ({', '.join(vocab.labels)})")
        shown = ", ".join(vocab.labels)
        ubad = np.array([lab is None for lab in ulab], bool) & ~umiss
        for i in np.flatnonzero(ubad[codes] if n else []):
            v = s.iat[i]
            found.append((i, (name, v, "vocabulary",
                              f"{_as_text(v)!r} is not a known {vocab.name} value (labels: "
                              f"{shown})",
                              f"use one of {shown} (synonyms: docs/data_dictionary.md) or map "
                              f"the code under values: {name}: in the mapping")))
        flush()
        out = ulab[codes] if n else np.array([], dtype=object)
        if t == "bool":
            return pd.Series([None if x is None else x == "yes" for x in out], dtype="boolean")
        return pd.Series(out, dtype=object)
    unicode_digits = bool(getattr(mapping, "unicode_digits", False))
    if t == "date":
        fmt = mapping.date_format_for(name) if mapping is not None else None
        required(miss, f"fill in {name} (a date)")
        fix = (f"write the date in the mapping's format {fmt!r}" if fmt else
               "write the date as YYYY-MM-DD, or state the format in the mapping "
               "(date_format: \"%d/%m/%Y\")")
        policy = mapping.partial_dates if mapping is not None else "reject"
        declared_serial = mapping is not None and mapping.excel_serial_dates
        uts = np.full(len(uniq), np.datetime64("NaT"), dtype="datetime64[ns]")
        uwhy = [None] * len(uniq)
        uimp: list = [None] * len(uniq)  # (imputed date, kind) per distinct value
        for k, (u, m) in enumerate(zip(uniq, umiss)):
            if m:
                continue
            ts, why, imp = _parse_date_cell(u, fmt, unicode_digits, serial, declared_serial,
                                            policy, stats=c.stats_file)
            if ts is None:
                uwhy[k] = why
            else:
                if _has_clock(u):
                    c.clock[name] = c.clock.get(name, 0) + int((codes == k).sum())
                uts[k] = np.datetime64(ts.to_datetime64(), "ns")
                uimp[k] = imp
        ubad = np.array([w is not None for w in uwhy], bool)
        for i in np.flatnonzero(ubad[codes] if n else []):
            v = s.iat[i]
            found.append((i, (name, v, "type_date", f"{_as_text(v)!r} {uwhy[codes[i]]}", fix)))
        uhas = np.array([x is not None for x in uimp], bool)
        for i in np.flatnonzero(uhas[codes] if n else []):
            v = s.iat[i]
            day, what = uimp[codes[i]]
            if not what.startswith("partial"):  # Excel serial: counted, one note a column
                c.serials[name] = c.serials.get(name, 0) + 1
                continue
            found.append((i, (name, v, "partial_date_imputed",
                              f"{_as_text(v)!r} is a {what}: imputed as {day}",
                              "nothing to do if this is right (recorded in the attrition log)",
                              "warning")))
        flush()
        return pd.Series(uts[codes] if n else np.array([], "datetime64[ns]"),
                         dtype="datetime64[ns]")
    # number / integer
    factor = 1.0
    if mapping is not None and name in mapping.units:
        factor = mapping.units[name].factor
    f, miss, bad = parse_numbers(s, unicode_digits=unicode_digits)
    required(miss, f"fill in {name}")
    for i, why in bad.items():
        found.append((i, (name, s.iat[i], "type_number", f"{_as_text(s.iat[i])!r} {why}",
                          f"write a plain number{' in ' + spec.unit if spec.unit else ''} "
                          "(decimal point, no units or text in the cell)")))
    good = ~np.isnan(f)
    if t == "integer":
        frac = good & (np.mod(np.where(good, f, 0.0), 1) != 0)
        for i in np.flatnonzero(frac):
            found.append((i, (name, s.iat[i], "type_integer",
                              f"{float(f[i])!r} is not a whole number", "write a whole number")))
        good &= ~frac
    f = np.where(good, f * factor, np.nan)
    out_of_range = np.zeros(len(f), bool)
    if spec.min is not None:
        out_of_range |= good & (f < spec.min)
    if spec.max is not None:
        out_of_range |= good & (f > spec.max)
    for i in np.flatnonzero(out_of_range):
        found.append((i, (name, s.iat[i], "range",
                          f"{f[i]:g}{' ' + spec.unit if spec.unit else ''} is outside the allowed "
                          f"range {spec.min} to {spec.max}",
                          "correct the value" + (f" (unit {spec.unit}; state a unit conversion "
                                                 "in the mapping if the file uses another unit)"
                                                 if spec.unit else ""))))
    f[out_of_range] = np.nan
    flush()
    return pd.Series(f, dtype=float)


def _check_ids(ids, c: _Collector):
    s = pd.Series(ids, dtype=object)
    dup = s.notna().to_numpy() & s.duplicated(keep=False).to_numpy()
    pos: dict = {}
    for i in np.flatnonzero(dup):
        pos.setdefault(ids[i], []).append(int(i))
    for v, where in pos.items():
        others = [c.rows[j] for j in where]
        for i in where:
            c.add(i, "patient_id", v, "duplicate_id",
                  f"patient id {v!r} appears on {len(where)} rows ({others})",
                  "give every patient one row with a unique patient_id")


def _get(df, col):
    return df[col] if col in df.columns else None


def _derive_and_check(df: pd.DataFrame, c: _Collector, derived: dict):
    # vectorised; problems in row order, as a row-by-row pass would give them
    n = len(df)
    # ---- age from birth date
    b, dx = _get(df, "birth_date"), _get(df, "diagnosis_date")
    if b is not None and dx is not None:
        computed = ((dx - b).dt.days / 365.25).to_numpy(dtype=float)
        if "age_at_diagnosis" not in df.columns:
            df["age_at_diagnosis"] = np.nan
        age = df["age_at_diagnosis"].to_numpy(dtype=float)
        have = ~np.isnan(computed)
        fill = have & np.isnan(age) & (computed >= 0) & (computed <= 110)
        mism = have & ~np.isnan(age) & (np.abs(age - computed) > 1.0)
        for i in np.flatnonzero(mism):
            c.add(i, "age_at_diagnosis", float(age[i]), "age_birth_date_mismatch",
                  f"age {age[i]:g} years differs by more than 1 year from the age "
                  f"computed from birth_date and diagnosis_date ({computed[i]:.1f})",
                  "correct age_at_diagnosis, birth_date or diagnosis_date")
        if fill.any():
            df["age_at_diagnosis"] = np.where(fill, computed, age)
            derived["age_at_diagnosis"] = [c.ids[i] for i in np.flatnonzero(fill)]
    # ---- Sanz risk
    w, p = _get(df, "wbc_diagnosis"), _get(df, "plt_diagnosis")
    if w is None:
        return
    dis = _get(df, "disease")
    wv = w.to_numpy(dtype=float)
    pv = p.to_numpy(dtype=float) if p is not None else np.full(n, np.nan)
    apl = (dis == "APL").to_numpy(dtype=bool) if dis is not None else np.ones(n, bool)
    known = apl & ~np.isnan(wv)
    high = known & (wv > 10)
    low = known & ~high & ~np.isnan(pv) & (pv > 40)
    inter = known & ~high & ~np.isnan(pv) & (pv <= 40)
    risk = np.full(n, None, dtype=object)
    risk[high], risk[low], risk[inter] = "high", "low", "intermediate"
    has = high | low | inter
    if not has.any():
        return
    if "sanz_risk" not in df.columns:
        df["sanz_risk"] = pd.Series([None] * n, dtype=object)
    given = df["sanz_risk"].to_numpy(dtype=object)
    gmiss = pd.isna(df["sanz_risk"]).to_numpy()
    fill = has & gmiss
    mism = has & ~gmiss & (given != risk)
    for i in np.flatnonzero(mism):
        r = risk[i]
        c.add(i, "sanz_risk", given[i], "sanz_risk_mismatch",
              f"sanz_risk {given[i]!r} contradicts the risk derived from wbc_diagnosis "
              f"{wv[i]:g} and plt_diagnosis "
              f"{'missing' if p is None or np.isnan(pv[i]) else format(pv[i], 'g')} "
              f"x10^9/L ({r!r}); the given value is kept, not overwritten",
              "correct sanz_risk or the counts (high: WBC > 10; low: WBC <= 10 and PLT > 40;"
              " intermediate: WBC <= 10 and PLT <= 40)")
    if fill.any():
        df["sanz_risk"] = pd.Series(np.where(fill, risk, given), dtype=object)
        derived["sanz_risk"] = [c.ids[i] for i in np.flatnonzero(fill)]


# (earlier, later, strict, only_if_missing)
_ORDER_RULES = [
    ("birth_date", "diagnosis_date", True, None),
    ("diagnosis_date", "cr1_date", False, None),
    ("cr1_date", "relapse1_date", True, None),
    ("diagnosis_date", "relapse1_date", True, "cr1_date"),
    ("relapse1_date", "reinduction_start_date", False, None),
    ("reinduction_start_date", "response_date", False, None),
    ("relapse1_date", "response_date", True, "reinduction_start_date"),
    ("reinduction_start_date", "anc_recovery_date", False, None),
    ("reinduction_start_date", "plt_recovery_date", False, None),
    ("response_date", "postremission_start_date", False, None),
    ("response_date", "relapse2_date", True, None),
    ("relapse1_date", "relapse2_date", True, "response_date"),
    ("postremission_start_date", "relapse2_date", False, None),
    ("relapse2_date", "salvage2_start_date", False, None),
    ("salvage2_start_date", "cr3_date", False, None),
    ("relapse2_date", "cr3_date", True, "salvage2_start_date"),
]

_EVENT_DATES = ("diagnosis_date", "cr1_date", "relapse1_date", "reinduction_start_date",
                "response_date", "anc_recovery_date", "plt_recovery_date",
                "postremission_start_date", "relapse2_date", "salvage2_start_date", "cr3_date")


def _d(ts) -> str:
    return pd.Timestamp(ts).date().isoformat()


def _gap(a, b) -> str:
    """Days from ``b`` to ``a`` in words. Messages give a patient's dates relative to
    each other, never as calendar dates (issue 12); the cell's value is the report's
    ``value`` field, shown to the data owner only, never written to a run's outputs."""
    k = abs(int((pd.Timestamp(a) - pd.Timestamp(b)).days))
    return f"{k} day{'s' if k != 1 else ''}"


def _check_dates(df: pd.DataFrame, c: _Collector):
    n = len(df)
    today = pd.Timestamp(_dt.date.today())
    for col in df.columns:
        if str(df[col].dtype).startswith("datetime64"):
            for i in np.flatnonzero((df[col] > today).to_numpy()):
                c.add(i, col, _d(df[col].iloc[i]), "future_date",
                      f"{col} is {_gap(df[col].iloc[i], today)} in the future", "correct the date")
    for early, late, strict, only_if_missing in _ORDER_RULES:
        if early not in df.columns or late not in df.columns:
            continue
        if only_if_missing is not None and only_if_missing in df.columns:
            gate = df[only_if_missing].isna().to_numpy()
        else:
            gate = np.ones(n, bool)
        e, lt = df[early], df[late]
        bad = (lt < e) if strict is False else (lt <= e)
        for i in np.flatnonzero(bad.to_numpy() & gate):
            rel = "after" if strict else "on or after"
            c.add(i, late, _d(lt.iloc[i]), "date_order",
                  (f"{late} is on the same day as {early}" if lt.iloc[i] == e.iloc[i] else
                   f"{late} is {_gap(lt.iloc[i], e.iloc[i])} before {early}")
                  + f"; it must be {rel} {early}",
                  f"correct {late} or {early}")
    if "death_date" in df.columns:
        death = df["death_date"]
        for col in (*_EVENT_DATES, "last_followup_date"):
            if col not in df.columns:
                continue
            for i in np.flatnonzero((df[col] > death).to_numpy()):
                c.add(i, col, _d(df[col].iloc[i]), "after_death",
                      f"{col} is {_gap(df[col].iloc[i], death.iloc[i])} after death_date",
                      f"correct {col} or death_date")
    if "last_followup_date" in df.columns:
        lfu = df["last_followup_date"]
        for col in _EVENT_DATES:
            if col not in df.columns:
                continue
            for i in np.flatnonzero((df[col] > lfu).to_numpy()):
                c.add(i, "last_followup_date", _d(lfu.iloc[i]), "followup_before_event",
                      f"last_followup_date is {_gap(lfu.iloc[i], df[col].iloc[i])} before {col}",
                      "set last_followup_date to the last date the patient was known alive "
                      "(the death date for patients who died)")
        if "death_date" in df.columns:
            for i in np.flatnonzero((df["death_date"] > lfu).to_numpy()):
                c.add(i, "last_followup_date", _d(lfu.iloc[i]), "followup_before_death",
                      f"last_followup_date is {_gap(lfu.iloc[i], df['death_date'].iloc[i])} "
                      "before death_date; endpoints use the death date",
                      "set last_followup_date to the death date", "warning")
    if "data_cutoff_date" in df.columns:
        cut = df["data_cutoff_date"]
        for col in (*_EVENT_DATES, "death_date"):
            if col not in df.columns:
                continue
            for i in np.flatnonzero((df[col] > cut).to_numpy()):
                c.add(i, col, _d(df[col].iloc[i]), "after_cutoff",
                      f"{col} is {_gap(df[col].iloc[i], cut.iloc[i])} after data_cutoff_date; "
                      "endpoints ignore it and censor at the cut-off",
                      "check the date or the cut-off", "warning")


class _RowOrder:
    """Collect problems from vectorised checks, then add them in row order.

    A row-by-row pass reports, for each row, its problems in check order; the
    vectorised checks find them check by check. Sorting by (row, check) restores the
    row-by-row order, so messages and their order are unchanged.
    """

    def __init__(self, c: _Collector):
        self.c = c
        self.found: list = []

    def add(self, mask, k, make):
        for i in np.flatnonzero(mask):
            self.found.append((int(i), k, make(int(i))))

    def flush(self):
        self.found.sort(key=lambda x: (x[0], x[1]))
        for i, _, args in self.found:
            self.c.add(i, *args)


def _present(df, col):
    """Non-missing mask of a column (all false when the column is absent)."""
    if col not in df.columns:
        return np.zeros(len(df), bool)
    return pd.notna(df[col]).to_numpy()


def _is(df, col, *labels):
    """Mask: the column holds one of ``labels`` (false when absent or missing)."""
    if col not in df.columns:
        return np.zeros(len(df), bool)
    return df[col].isin(labels).to_numpy()


def _check_contradictions(df: pd.DataFrame, c: _Collector):
    ro = _RowOrder(c)

    def contra(col, value, msg, fix):
        return (col, value, "contradiction", msg, fix)

    def v(col, i):
        return df[col].iat[i]

    if "death_date" in df.columns:
        ro.add(_present(df, "death_cause") & ~_present(df, "death_date"), 0, lambda i: contra(
            "death_cause", v("death_cause", i),
            f"death_cause {v('death_cause', i)!r} is given but death_date is empty",
            "fill in death_date or clear death_cause"))
    resp_none = _is(df, "response", "none")
    ro.add(resp_none & _present(df, "response_date"), 1, lambda i: contra(
        "response_date", _d(v("response_date", i)),
        "response_date is given but response is 'none'",
        "clear response_date or correct response (CR2/mCR2)"))
    mod_none = _is(df, "postremission_modality", "none")
    ro.add(mod_none & _present(df, "postremission_start_date"), 2, lambda i: contra(
        "postremission_start_date", _d(v("postremission_start_date", i)),
        "postremission_start_date is given but postremission_modality is 'none'",
        "clear the date or correct postremission_modality"))
    ro.add(_present(df, "postremission_modality") & ~mod_none & resp_none, 3, lambda i: contra(
        "postremission_modality", v("postremission_modality", i),
        f"post-remission therapy {v('postremission_modality', i)!r} is given but response is "
        "'none'", "correct response or postremission_modality"))
    reg_none = _is(df, "reinduction_regimen", "none")
    ro.add(reg_none & _present(df, "reinduction_start_date"), 4, lambda i: contra(
        "reinduction_start_date", _d(v("reinduction_start_date", i)),
        "reinduction_start_date is given but reinduction_regimen is 'none'",
        "clear the date or correct reinduction_regimen"))
    resp_cr = _is(df, "response", "CR2", "mCR2")
    ro.add(reg_none & resp_cr, 5, lambda i: contra(
        "response", v("response", i),
        f"response {v('response', i)!r} is given but reinduction_regimen is 'none'",
        "correct response (none) or reinduction_regimen"))
    r2 = _present(df, "relapse2_date")
    ro.add(r2 & resp_none, 6, lambda i: contra(
        "relapse2_date", _d(v("relapse2_date", i)), "relapse2_date is given but response is "
        "'none' (a second relapse needs a second remission)",
        "correct response or relapse2_date"))
    if "relapse2_date" in df.columns:
        s2d = _present(df, "salvage2_start_date")
        ro.add(~r2 & s2d, 7, lambda i: contra(
            "salvage2_start_date", _d(v("salvage2_start_date", i)),
            "salvage2_start_date is given but relapse2_date is empty",
            "fill in relapse2_date or clear the salvage columns"))
        ro.add(~r2 & ~s2d & _present(df, "salvage2_modality")
               & ~_is(df, "salvage2_modality", "none"), 7, lambda i: contra(
            "salvage2_modality", v("salvage2_modality", i),
            f"salvage2_modality {v('salvage2_modality', i)!r} is given but relapse2_date is "
            "empty", "fill in relapse2_date or clear the salvage columns"))
    if "response_date" in df.columns:
        ro.add(resp_cr & ~_present(df, "response_date"), 8, lambda i: (
            "response_date", None, "response_date_missing",
            f"response is {v('response', i)!r} but response_date is empty; the patient is left "
            "out of endpoints that start at the response", "fill in response_date", "warning"))
    _check_treatment_starts(df, ro, v)
    ro.flush()


#: treatment levels that are a transplant: their start date is the derived hsct_start_date
_HSCT_LEVELS = ("auto HSCT", "allo HSCT")


def _check_treatment_starts(df: pd.DataFrame, ro, v) -> None:
    """A treatment recorded as given whose start date is empty
    (``aplcohort.plan.derived.EXPOSURE_DEFINED_BY``: e.g. a transplant without
    ``postremission_start_date``): the start is unknown, not "never treated", so the
    analyses that take that date as their ``exposure`` (and the immortal-time comparisons
    of the treatment's groups) leave the patient out with the reason; validation says so
    beforehand. The derived ``hsct`` / ``hsct_start_date`` are checked where the data give
    them (a row the modality already flagged is not flagged twice)."""
    from ..plan.derived import EXPOSURE_DEFINED_BY
    flagged = np.zeros(len(df), bool)
    for k, (date_col, (tcol, untreated, _what)) in enumerate(EXPOSURE_DEFINED_BY.items()):
        if date_col not in df.columns or tcol not in df.columns:
            continue
        given = _present(df, tcol) & ~_is(df, tcol, *untreated)
        bad = given & ~_present(df, date_col) & ~flagged
        flagged |= bad

        def make(i, date_col=date_col, tcol=tcol):
            level = v(tcol, i)
            if tcol == "hsct" or (tcol == "postremission_modality" and level in _HSCT_LEVELS):
                uses = ("the transplant date (hsct_start_date) is unknown, so the analyses "
                        f"with exposure: hsct_start_date or {date_col} and the immortal-time "
                        "comparisons of hsct / postremission_modality leave the patient out"
                        if tcol != "hsct" else
                        "the transplant date is unknown, so the analyses with exposure: "
                        "hsct_start_date and the immortal-time comparisons of hsct leave the "
                        "patient out")
            else:
                uses = (f"the treatment start is unknown, so the analyses with exposure: "
                        f"{date_col} leave the patient out")
            return (date_col, None, "treatment_start_missing",
                    f"{tcol} is {level!r} but {date_col} is empty: {uses}",
                    f"fill in {date_col}", "warning")
        ro.add(bad, 9 + k, make)


_ATO_COLS = ("reinduction_regimen", "postremission_modality", "salvage2_modality")


def _check_plausibility(df: pd.DataFrame, c: _Collector):
    fus = _get(df, "fusion")
    ro = _RowOrder(c)

    def v(col, i):
        return df[col].iat[i]

    f_present, d_present = _present(df, "fusion"), _present(df, "disease")
    not_apl = d_present & ~_is(df, "disease", "APL")
    ro.add(f_present & not_apl & ~_is(df, "fusion", "unknown"), 0, lambda i: (
        "fusion", v("fusion", i), "fusion_non_apl",
        f"a RARA fusion ({v('fusion', i)}) is recorded for disease {v('disease', i)}",
        "check disease (RARA fusions define APL) or clear fusion", "warning"))
    # one definition of variant resistance (cohort.vocab.FUSION_SENSITIVITY), shared with
    # the synthetic variant-APL scenario
    plzf = _is(df, "fusion", *resistant_fusions("ato"))
    other = f_present & ~_is(df, "fusion", "PML-RARA", "unknown") & ~plzf
    for k, col in enumerate(_ATO_COLS, start=1):
        ato = _is(df, col, "ATO-based")
        ro.add(ato & plzf, k, lambda i, col=col: (
            col, "ATO-based", "ato_resistant_fusion",
            f"ATO-based therapy recorded for a {v('fusion', i)} (ATO-resistant) APL variant",
            "check the fusion and the regimen; consider excluding variant APL from "
            "ATO-efficacy comparisons", "warning"))
        ro.add(ato & other, k, lambda i, col=col: (
            col, "ATO-based", "ato_non_pml_rara",
            f"ATO-based therapy recorded for fusion {v('fusion', i)} (ATO is for "
            "PML-RARA-positive disease)", "check the fusion and the regimen", "warning"))
        ro.add(ato & ~plzf & ~other & not_apl, k, lambda i, col=col: (
            col, "ATO-based", "ato_non_apl",
            f"ATO-based therapy recorded for disease {v('disease', i)}",
            "check disease and the regimen", "warning"))
    if "wbc_relapse" in df.columns:
        wr = pd.to_numeric(df["wbc_relapse"], errors="coerce").to_numpy(dtype=float)
        high = _is(df, "relapse_type", "molecular") & ~np.isnan(wr) & \
            (np.nan_to_num(wr, nan=-np.inf) > MOLECULAR_RELAPSE_WBC_LIMIT)
        ro.add(high, len(_ATO_COLS) + 1, lambda i: (
            "wbc_relapse", float(wr[i]), "molecular_relapse_high_wbc",
            f"molecular relapse with WBC {wr[i]:g} x10^9/L at relapse (> "
            f"{MOLECULAR_RELAPSE_WBC_LIMIT:g}); a molecular relapse is in haematologic CR",
            "check relapse_type (hematologic?) and wbc_relapse", "warning"))
    # ATRA / retinoid therapy for an ATRA-resistant variant (PLZF-RARA, STAT5b-RARA)
    atra_res = _is(df, "fusion", *resistant_fusions("atra"))
    if "frontline_regimen" in df.columns:
        fr = df["frontline_regimen"].astype(object)
        atra_front = fr.map(lambda x: isinstance(x, str) and "atra" in x.casefold()).to_numpy(bool)
        ro.add(atra_res & atra_front, len(_ATO_COLS) + 2, lambda i: (
            "frontline_regimen", v("frontline_regimen", i), "atra_resistant_fusion",
            f"ATRA-based therapy recorded for a {v('fusion', i)} (ATRA-resistant) APL variant",
            "check the fusion and the regimen; ATRA-resistant variants are analysed apart",
            "warning"))
    ro.add(atra_res & _is(df, "reinduction_regimen", "tamibarotene"), len(_ATO_COLS) + 3,
           lambda i: ("reinduction_regimen", "tamibarotene", "atra_resistant_fusion",
                      f"tamibarotene (a retinoid) recorded for a {v('fusion', i)} "
                      "(ATRA-resistant) APL variant",
                      "check the fusion and the regimen", "warning"))
    # response categories by disease (cohort.vocab.RESPONSE_BY_DISEASE)
    if "response" in df.columns and "disease" in df.columns:
        for j, (dis, ok) in enumerate(RESPONSE_BY_DISEASE.items()):
            bad = _is(df, "disease", dis) & _present(df, "response") & ~_is(df, "response", *ok)
            ro.add(bad, len(_ATO_COLS) + 4 + j, lambda i, dis=dis, ok=ok: (
                "response", v("response", i), "response_for_disease",
                f"response {v('response', i)!r} is not a {dis} response category "
                f"({', '.join(ok)})", "check disease and response", "warning"))
    ro.flush()
    if fus is not None:
        present = set(fus.dropna())
        variants = sorted(present - {"PML-RARA", "unknown", "other"})
        if "PML-RARA" in present and variants:
            c.add(None, "fusion", variants, "mixed_fusions",
                  f"the cohort mixes PML-RARA APL with variant fusions ({', '.join(variants)}), "
                  "which respond differently to ATRA/ATO",
                  "analyse variants separately (Cohort.filter) for ATO-efficacy comparisons",
                  "warning")


def check_required(data: pd.DataFrame, analysis: str, time_zero: str | None = None) -> None:
    """Raise if a table lacks columns an analysis needs.

    Parameters
    ----------
    data : DataFrame
        Parsed cohort data (``Cohort.data``).
    analysis, time_zero : str
        As :func:`aplcohort.cohort.schema.required_for`.

    Raises
    ------
    CohortValidationError
        Naming every missing column (rule ``required_column``).

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame(columns=["patient_id", "disease", "last_followup_date", "death_date",
    ...                            "relapse1_date"])
    >>> check_required(df, "OS", time_zero="relapse1")  # no error

    Validated against: tests/test_cohort_validate.py.
    """
    need = required_for(analysis, time_zero)
    missing = [col for col in need if col not in data.columns]
    if missing:
        tz = f" from {time_zero}" if time_zero else ""
        probs = [Problem(None, None, m, None, "required_column",
                         f"{analysis}{tz} needs column {m!r}, which the cohort does not have",
                         f"add {m!r} to the table (or map it)") for m in missing]
        rep = ValidationReport(problems=tuple(probs), n_rows=len(data),
                               source=f"cohort for {analysis}{tz}")
        raise CohortValidationError(str(rep), probs)
