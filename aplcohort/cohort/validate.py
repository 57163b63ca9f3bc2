"""Parse a raw patient table with the data dictionary and collect every problem.

:func:`validate` takes a table as read (text/objects, nothing coerced), applies
an optional column mapping, parses every column with its dictionary type and
checks every rule below. It never stops at the first problem: the
:class:`ValidationReport` lists them all, each as a :class:`Problem` with the
row, patient id, column, value, rule and how to fix it.

Row numbers follow the spreadsheet: **row 1 is the header, row 2 the first
patient** (for a CSV file that is also the line number). Tables built in
Python are numbered the same way (position + 2).

Missing values: empty cells, white space, and the tokens ``NA``, ``N/A``,
``#N/A``, ``NaN``, ``NaT``, ``null`` (any case) are missing. Nothing else is.

Rules (``Problem.rule``) and severity
-------------------------------------
errors
    ``required_column``, ``required_value``, ``duplicate_column``,
    ``type_number``, ``type_integer``, ``type_date`` (unparseable date),
    ``vocabulary`` (unknown code), ``duplicate_id``, ``range`` (outside the
    dictionary min/max: negative counts, ages out of range), ``future_date``,
    ``date_order``, ``after_death``, ``followup_before_event``,
    ``contradiction``, ``age_birth_date_mismatch`` (> 1 year apart),
    ``sanz_risk_mismatch`` (given Sanz risk differs from the one derived from
    WBC and platelets: reported, never overwritten).
warnings
    ``mapped_column_absent``, ``extra_column``, ``followup_before_death``,
    ``after_cutoff`` (an event after the data cut-off; endpoints censor it at
    the cut-off), ``response_date_missing``, ``ato_resistant_fusion``
    (ATO for PLZF-RARA), ``ato_non_pml_rara`` (ATO for another RARA fusion),
    ``ato_non_apl``, ``fusion_non_apl``, ``mixed_fusions`` (cohort mixes
    PML-RARA and variant fusions), ``molecular_relapse_high_wbc`` (molecular
    relapse with WBC at relapse > 10 x10^9/L).

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
import math
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import CohortValidationError
from .mapping import ColumnMapping, load_mapping
from .schema import CORE_REQUIRED, load_dictionary, required_for
from .vocab import match_key

MISSING_TOKENS = frozenset({"", "na", "n/a", "#n/a", "nan", "nat", "null"})
_ISO = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[ T]00:00(?::00(?:\.0+)?)?)?$")
ROW_CONVENTION = "Rows are numbered as in the spreadsheet: row 1 is the header, row 2 the first patient."

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
                 f"{len(e)} error(s), {len(w)} warning(s).", ROW_CONVENTION]
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
# helpers
# --------------------------------------------------------------------------------------

def is_missing(v) -> bool:
    if v is None or v is pd.NA or v is pd.NaT:
        return True
    if isinstance(v, str):
        return v.strip().casefold() in MISSING_TOKENS
    if isinstance(v, (float, np.floating)):
        return math.isnan(v)
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def _as_text(v) -> str:
    """Text form of a cell (Excel numbers 12.0 -> '12', booleans -> 'true')."""
    if isinstance(v, (bool, np.bool_)):
        return "true" if v else "false"
    if isinstance(v, (float, np.floating)) and float(v).is_integer():
        return str(int(v))
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (pd.Timestamp, _dt.datetime, _dt.date)):
        return pd.Timestamp(v).date().isoformat()
    return str(v).strip()


def _parse_date(v, fmt):
    """Return (Timestamp, None) or (None, reason)."""
    try:
        ts, why = _parse_date_raw(v, fmt)
    except (ValueError, OverflowError, pd.errors.OutOfBoundsDatetime):
        return None, "is not a valid calendar date"
    if ts is not None and not (1900 <= ts.year <= 2199):
        return None, "has a year outside 1900-2199"
    return ts, why


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
    if isinstance(v, (bool, np.bool_)):
        return None, "is a yes/no value, not a number"
    if isinstance(v, (int, float, np.integer, np.floating)):
        f = float(v)
    else:
        s = str(v).strip()
        try:
            f = float(s)
        except ValueError:
            if re.fullmatch(r"[+-]?\d+,\d+", s):
                return None, "uses a decimal comma"
            return None, "is not a number"
    if not math.isfinite(f):
        return None, "is not a finite number"
    return f, None


# --------------------------------------------------------------------------------------
# the validator
# --------------------------------------------------------------------------------------

class _Collector:
    def __init__(self, rows, ids):
        self.rows = rows  # position -> spreadsheet row
        self.ids = ids  # position -> patient id or None
        self.problems: list[Problem] = []

    def add(self, pos, column, value, rule, message, fix, severity="error"):
        row = None if pos is None else int(self.rows[pos])
        pid = None if pos is None else self.ids[pos]
        self.problems.append(Problem(row, pid, column, value, rule, message, fix, severity))


def _apply_columns(raw: pd.DataFrame, mapping: ColumnMapping | None, col: _Collector, notes):
    d = load_dictionary()
    names = [str(c).strip() for c in raw.columns]
    new = []
    mapped_from = {}
    for n in names:
        if mapping is not None and n in mapping.columns:
            target = mapping.columns[n]
        elif n in d.columns:
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
        for theirs, ours in mapping.columns.items():
            if theirs not in names and ours not in names:
                col.add(None, ours, theirs, "mapped_column_absent",
                        f"the mapping maps {theirs!r} to {ours!r} but the file has no column "
                        f"{theirs!r}", "check the column name in the mapping (exact spelling)",
                        "warning")
    for target, srcs in mapped_from.items():
        if len(srcs) > 1:
            col.add(None, target, srcs, "duplicate_column",
                    f"{len(srcs)} columns of the file become {target!r}: {srcs}",
                    "keep one column for each dictionary column (rename or delete the others)")
    out = raw.copy()
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
    rows = list(row_numbers) if row_numbers is not None else [i + 2 for i in range(n)]
    notes: list[str] = []
    raw_ids = [None] * n
    c = _Collector(rows, raw_ids)
    raw, _ = _apply_columns(df.reset_index(drop=True), mapping, c, notes)
    # patient ids first so every problem can name the patient
    if "patient_id" in raw.columns and not isinstance(raw["patient_id"], pd.DataFrame):
        for i, v in enumerate(raw["patient_id"].tolist()):
            raw_ids[i] = None if is_missing(v) else _as_text(v)

    for req in (CORE_REQUIRED if required is None else tuple(required)):
        if req not in raw.columns:
            c.add(None, req, None, "required_column",
                  f"required column {req!r} is missing (columns found: "
                  f"{', '.join(map(str, raw.columns)) or 'none'})",
                  f"add a column {req!r} or map your column to it in the mapping")
    data = {}
    seen = set()
    for name in raw.columns:
        if name in seen:
            continue
        seen.add(name)
        series = raw[name]
        if isinstance(series, pd.DataFrame):  # duplicate column, reported above
            series = series.iloc[:, 0]
        values = series.tolist()
        if name not in d.columns:
            c.add(None, name, None, "extra_column",
                  f"column {name!r} is not in the data dictionary; it is kept unchanged and "
                  "not validated", "map it to a dictionary column if it is one", "warning")
            data[name] = pd.Series(values, dtype=object)
            continue
        data[name] = _parse_column(name, values, mapping, c)

    typed = pd.DataFrame(data, index=range(n))
    derived: dict = {}
    if "patient_id" in typed:
        ids = typed["patient_id"].tolist()
        _check_ids(ids, c)
    _derive_and_check(typed, c, derived)
    _check_dates(typed, c)
    _check_contradictions(typed, c)
    _check_plausibility(typed, c)
    if mapping is not None:
        for u in mapping.units.values():
            notes.append(f"{u.column}: {u.from_unit} x {u.factor:g} -> {u.to_unit}")
    # canonical column order, extras at the end
    order = [k for k in d.columns if k in typed.columns] + \
            [k for k in typed.columns if k not in d.columns]
    typed = typed[order]
    return ValidationReport(problems=tuple(c.problems), n_rows=n, source=source, data=typed,
                            derived=derived, notes=tuple(notes))


def _parse_column(name, values, mapping, c: _Collector) -> pd.Series:
    d = load_dictionary()
    spec = d.columns[name]
    n = len(values)
    t = spec.type
    if t in ("id", "text"):
        out = [None if is_missing(v) else _as_text(v) for v in values]
        if spec.required:
            for i, v in enumerate(out):
                if v is None:
                    c.add(i, name, values[i], "required_value", f"{name} is empty",
                          f"fill in {name} for this patient")
        return pd.Series(out, dtype=object)
    if t in ("category", "bool"):
        vocab = d.vocabularies[spec.vocabulary]
        codes = mapping.code_lookup(name) if mapping is not None else {}
        out = []
        for i, v in enumerate(values):
            if is_missing(v):
                out.append(None)
                if spec.required:
                    c.add(i, name, None, "required_value", f"{name} is empty",
                          f"fill in {name} ({', '.join(vocab.labels)})")
                continue
            txt = _as_text(v)
            lab = codes.get(match_key(txt))
            if lab is None:
                lab = vocab.normalise(txt)
            if lab is None:
                shown = ", ".join(vocab.labels)
                c.add(i, name, v, "vocabulary",
                      f"{txt!r} is not a known {vocab.name} value (labels: {shown})",
                      f"use one of {shown} (synonyms: docs/data_dictionary.md) or map the code "
                      f"under values: {name}: in the mapping")
            out.append(lab)
        if t == "bool":
            return pd.Series([None if x is None else x == "yes" for x in out], dtype="boolean")
        return pd.Series(out, dtype=object)
    if t == "date":
        fmt = mapping.date_format_for(name) if mapping is not None else None
        out = []
        for i, v in enumerate(values):
            if is_missing(v):
                out.append(pd.NaT)
                if spec.required:
                    c.add(i, name, None, "required_value", f"{name} is empty",
                          f"fill in {name} (a date)")
                continue
            ts, why = _parse_date(v, fmt)
            if ts is None:
                fix = (f"write the date in the mapping's format {fmt!r}" if fmt else
                       "write the date as YYYY-MM-DD, or state the format in the mapping "
                       "(date_format: \"%d/%m/%Y\")")
                c.add(i, name, v, "type_date", f"{_as_text(v)!r} {why}", fix)
                out.append(pd.NaT)
            else:
                out.append(ts)
        return pd.Series(pd.to_datetime(pd.Series(out, dtype=object)), dtype="datetime64[ns]")
    # number / integer
    factor = 1.0
    if mapping is not None and name in mapping.units:
        factor = mapping.units[name].factor
    out = np.full(n, np.nan)
    for i, v in enumerate(values):
        if is_missing(v):
            if spec.required:
                c.add(i, name, None, "required_value", f"{name} is empty", f"fill in {name}")
            continue
        f, why = _parse_number(v)
        if f is None:
            c.add(i, name, v, "type_number", f"{_as_text(v)!r} {why}",
                  f"write a plain number{' in ' + spec.unit if spec.unit else ''} "
                  "(decimal point, no units or text in the cell)")
            continue
        if t == "integer" and not float(f).is_integer():
            c.add(i, name, v, "type_integer", f"{f!r} is not a whole number",
                  "write a whole number")
            continue
        f = f * factor
        if (spec.min is not None and f < spec.min) or (spec.max is not None and f > spec.max):
            c.add(i, name, v, "range",
                  f"{f:g}{' ' + spec.unit if spec.unit else ''} is outside the allowed range "
                  f"{spec.min} to {spec.max}",
                  "correct the value" + (f" (unit {spec.unit}; state a unit conversion in the "
                                         "mapping if the file uses another unit)" if spec.unit
                                         else ""))
            continue
        out[i] = f
    return pd.Series(out, dtype=float)


def _check_ids(ids, c: _Collector):
    pos = {}
    for i, v in enumerate(ids):
        if v is not None:
            pos.setdefault(v, []).append(i)
    for v, where in pos.items():
        if len(where) > 1:
            others = [c.rows[j] for j in where]
            for i in where:
                c.add(i, "patient_id", v, "duplicate_id",
                      f"patient id {v!r} appears on {len(where)} rows ({others})",
                      "give every patient one row with a unique patient_id")


def _get(df, col):
    return df[col] if col in df.columns else None


def _derive_and_check(df: pd.DataFrame, c: _Collector, derived: dict):
    # ---- age from birth date
    b, dx = _get(df, "birth_date"), _get(df, "diagnosis_date")
    if b is not None and dx is not None:
        computed = (dx - b).dt.days / 365.25
        if "age_at_diagnosis" not in df.columns:
            df["age_at_diagnosis"] = np.nan
        age = df["age_at_diagnosis"]
        ids = []
        for i in range(len(df)):
            if pd.isna(computed.iloc[i]):
                continue
            if pd.isna(age.iloc[i]):
                if 0 <= computed.iloc[i] <= 110:
                    df.loc[i, "age_at_diagnosis"] = computed.iloc[i]
                    ids.append(c.ids[i])
            elif abs(age.iloc[i] - computed.iloc[i]) > 1.0:
                c.add(i, "age_at_diagnosis", float(age.iloc[i]), "age_birth_date_mismatch",
                      f"age {age.iloc[i]:g} years differs by more than 1 year from the age "
                      f"computed from birth_date and diagnosis_date ({computed.iloc[i]:.1f})",
                      "correct age_at_diagnosis, birth_date or diagnosis_date")
        if ids:
            derived["age_at_diagnosis"] = ids
    # ---- Sanz risk
    w, p = _get(df, "wbc_diagnosis"), _get(df, "plt_diagnosis")
    if w is None:
        return
    dis = _get(df, "disease")
    risk = pd.Series([None] * len(df), dtype=object)
    for i in range(len(df)):
        if dis is not None and dis.iloc[i] != "APL":
            continue
        wi = w.iloc[i]
        pi = p.iloc[i] if p is not None else np.nan
        if pd.isna(wi):
            continue
        if wi > 10:
            risk.iloc[i] = "high"
        elif not pd.isna(pi):
            risk.iloc[i] = "low" if pi > 40 else "intermediate"
    if not risk.notna().any():
        return
    if "sanz_risk" not in df.columns:
        df["sanz_risk"] = pd.Series([None] * len(df), dtype=object)
    ids = []
    for i in range(len(df)):
        r = risk.iloc[i]
        if r is None:
            continue
        given = df["sanz_risk"].iloc[i]
        if given is None or (not isinstance(given, str) and pd.isna(given)):
            df.loc[i, "sanz_risk"] = r
            ids.append(c.ids[i])
        elif given != r:
            c.add(i, "sanz_risk", given, "sanz_risk_mismatch",
                  f"sanz_risk {given!r} contradicts the risk derived from wbc_diagnosis "
                  f"{w.iloc[i]:g} and plt_diagnosis "
                  f"{'missing' if p is None or pd.isna(p.iloc[i]) else format(p.iloc[i], 'g')} "
                  f"x10^9/L ({r!r}); the given value is kept, not overwritten",
                  "correct sanz_risk or the counts (high: WBC > 10; low: WBC <= 10 and PLT > 40;"
                  " intermediate: WBC <= 10 and PLT <= 40)")
    if ids:
        derived["sanz_risk"] = ids


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
]

_EVENT_DATES = ("diagnosis_date", "cr1_date", "relapse1_date", "reinduction_start_date",
                "response_date", "anc_recovery_date", "plt_recovery_date",
                "postremission_start_date", "relapse2_date", "salvage2_start_date")


def _d(ts) -> str:
    return pd.Timestamp(ts).date().isoformat()


def _check_dates(df: pd.DataFrame, c: _Collector):
    n = len(df)
    today = pd.Timestamp(_dt.date.today())
    for col in df.columns:
        if str(df[col].dtype).startswith("datetime64"):
            for i in np.flatnonzero((df[col] > today).to_numpy()):
                c.add(i, col, _d(df[col].iloc[i]), "future_date",
                      f"{_d(df[col].iloc[i])} is in the future", "correct the date")
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
                  f"{late} {_d(lt.iloc[i])} must be {rel} {early} {_d(e.iloc[i])}",
                  f"correct {late} or {early}")
    if "death_date" in df.columns:
        death = df["death_date"]
        for col in (*_EVENT_DATES, "last_followup_date"):
            if col not in df.columns:
                continue
            for i in np.flatnonzero((df[col] > death).to_numpy()):
                c.add(i, col, _d(df[col].iloc[i]), "after_death",
                      f"{col} {_d(df[col].iloc[i])} is after death_date {_d(death.iloc[i])}",
                      f"correct {col} or death_date")
    if "last_followup_date" in df.columns:
        lfu = df["last_followup_date"]
        for col in _EVENT_DATES:
            if col not in df.columns:
                continue
            for i in np.flatnonzero((df[col] > lfu).to_numpy()):
                c.add(i, "last_followup_date", _d(lfu.iloc[i]), "followup_before_event",
                      f"last_followup_date {_d(lfu.iloc[i])} is before {col} "
                      f"{_d(df[col].iloc[i])}",
                      "set last_followup_date to the last date the patient was known alive "
                      "(the death date for patients who died)")
        if "death_date" in df.columns:
            for i in np.flatnonzero((df["death_date"] > lfu).to_numpy()):
                c.add(i, "last_followup_date", _d(lfu.iloc[i]), "followup_before_death",
                      f"last_followup_date {_d(lfu.iloc[i])} is before death_date "
                      f"{_d(df['death_date'].iloc[i])}; endpoints use the death date",
                      "set last_followup_date to the death date", "warning")
    if "data_cutoff_date" in df.columns:
        cut = df["data_cutoff_date"]
        for col in (*_EVENT_DATES, "death_date"):
            if col not in df.columns:
                continue
            for i in np.flatnonzero((df[col] > cut).to_numpy()):
                c.add(i, col, _d(df[col].iloc[i]), "after_cutoff",
                      f"{col} {_d(df[col].iloc[i])} is after data_cutoff_date "
                      f"{_d(cut.iloc[i])}; endpoints ignore it and censor at the cut-off",
                      "check the date or the cut-off", "warning")


def _val(df, col, i):
    if col not in df.columns:
        return None
    v = df[col].iloc[i]
    if v is None or (not isinstance(v, str) and pd.isna(v)):
        return None
    return v


def _check_contradictions(df: pd.DataFrame, c: _Collector):
    for i in range(len(df)):
        def contra(col, value, msg, fix):
            c.add(i, col, value, "contradiction", msg, fix)
        cause, death = _val(df, "death_cause", i), _val(df, "death_date", i)
        if cause is not None and "death_date" in df.columns and death is None:
            contra("death_cause", cause, f"death_cause {cause!r} is given but death_date is empty",
                   "fill in death_date or clear death_cause")
        resp, rdate = _val(df, "response", i), _val(df, "response_date", i)
        if resp == "none" and rdate is not None:
            contra("response_date", _d(rdate), "response_date is given but response is 'none'",
                   "clear response_date or correct response (CR2/mCR2)")
        mod, pdate = _val(df, "postremission_modality", i), _val(df, "postremission_start_date", i)
        if mod == "none" and pdate is not None:
            contra("postremission_start_date", _d(pdate),
                   "postremission_start_date is given but postremission_modality is 'none'",
                   "clear the date or correct postremission_modality")
        if mod is not None and mod != "none" and resp == "none":
            contra("postremission_modality", mod,
                   f"post-remission therapy {mod!r} is given but response is 'none'",
                   "correct response or postremission_modality")
        reg, sdate = _val(df, "reinduction_regimen", i), _val(df, "reinduction_start_date", i)
        if reg == "none" and sdate is not None:
            contra("reinduction_start_date", _d(sdate),
                   "reinduction_start_date is given but reinduction_regimen is 'none'",
                   "clear the date or correct reinduction_regimen")
        if reg == "none" and resp in ("CR2", "mCR2"):
            contra("response", resp, f"response {resp!r} is given but reinduction_regimen is 'none'",
                   "correct response (none) or reinduction_regimen")
        r2 = _val(df, "relapse2_date", i)
        if r2 is not None and resp == "none":
            contra("relapse2_date", _d(r2), "relapse2_date is given but response is 'none' "
                   "(a second relapse needs a second remission)",
                   "correct response or relapse2_date")
        if "relapse2_date" in df.columns and r2 is None:
            s2m, s2d = _val(df, "salvage2_modality", i), _val(df, "salvage2_start_date", i)
            if s2d is not None:
                contra("salvage2_start_date", _d(s2d),
                       "salvage2_start_date is given but relapse2_date is empty",
                       "fill in relapse2_date or clear the salvage columns")
            elif s2m is not None and s2m != "none":
                contra("salvage2_modality", s2m,
                       f"salvage2_modality {s2m!r} is given but relapse2_date is empty",
                       "fill in relapse2_date or clear the salvage columns")
        if resp in ("CR2", "mCR2") and "response_date" in df.columns and rdate is None:
            c.add(i, "response_date", None, "response_date_missing",
                  f"response is {resp!r} but response_date is empty; the patient is left out "
                  "of endpoints that start at the response", "fill in response_date", "warning")


_ATO_COLS = ("reinduction_regimen", "postremission_modality", "salvage2_modality")


def _check_plausibility(df: pd.DataFrame, c: _Collector):
    fus = _get(df, "fusion")
    dis = _get(df, "disease")
    for i in range(len(df)):
        f = _val(df, "fusion", i)
        di = _val(df, "disease", i)
        if f is not None and di is not None and di != "APL" and f not in ("unknown",):
            c.add(i, "fusion", f, "fusion_non_apl",
                  f"a RARA fusion ({f}) is recorded for disease {di}",
                  "check disease (RARA fusions define APL) or clear fusion", "warning")
        for col in _ATO_COLS:
            if _val(df, col, i) != "ATO-based":
                continue
            if f == "PLZF-RARA":
                c.add(i, col, "ATO-based", "ato_resistant_fusion",
                      "ATO-based therapy recorded for a PLZF-RARA (ATO-resistant) APL variant",
                      "check the fusion and the regimen; consider excluding variant APL from "
                      "ATO-efficacy comparisons", "warning")
            elif f is not None and f not in ("PML-RARA", "unknown"):
                c.add(i, col, "ATO-based", "ato_non_pml_rara",
                      f"ATO-based therapy recorded for fusion {f} (ATO is for PML-RARA-positive "
                      "disease)", "check the fusion and the regimen", "warning")
            elif di is not None and di != "APL":
                c.add(i, col, "ATO-based", "ato_non_apl",
                      f"ATO-based therapy recorded for disease {di}",
                      "check disease and the regimen", "warning")
        rt, wr = _val(df, "relapse_type", i), _val(df, "wbc_relapse", i)
        if rt == "molecular" and wr is not None and wr > MOLECULAR_RELAPSE_WBC_LIMIT:
            c.add(i, "wbc_relapse", float(wr), "molecular_relapse_high_wbc",
                  f"molecular relapse with WBC {wr:g} x10^9/L at relapse (> "
                  f"{MOLECULAR_RELAPSE_WBC_LIMIT:g}); a molecular relapse is in haematologic CR",
                  "check relapse_type (hematologic?) and wbc_relapse", "warning")
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
