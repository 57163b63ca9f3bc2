"""Column mappings: from an institution's spreadsheet to the data dictionary.

A mapping is a YAML file (or the same structure as a dict)::

    columns:                 # their column name -> dictionary column
      Pt No: patient_id
      Dx: disease
      Last FU: last_followup_date
      WBC at Dx (/uL): wbc_diagnosis
    values:                  # dictionary column -> {their code: canonical label}
      relapse_type: {"1": hematologic, "2": molecular, "3": extramedullary}
    date_format: "%d/%m/%Y"  # every date column ...
    # ... or per column, with an optional default:
    # date_format: {default: "%d/%m/%Y", birth_date: "%Y"}
    units:                   # values are multiplied by `factor` to give the dictionary unit
      wbc_diagnosis: {from: "/uL", factor: 0.001}   # /uL -> x10^9/L
    sheet: Patients          # Excel sheet name (the `sheet=` argument of load() wins); a
                             # number is read as a name (a sheet named 2019), not a position
    header_row: 3            # row (from 1) holding the column names, for a CSV or sheet with
                             # title rows above the header (default: the first non-empty row)
    unicode_digits: true     # accept full-width / Arabic-Indic digits in numbers and dates
                             # (default false: such digits are an error, never read silently)
    encoding: cp949          # text encoding of a CSV (default: detected, and stated)
    partial_dates: mid       # 2015-03 -> 2015-03-15, 2015 -> 2015-07-01 (or first; default
                             # reject); every imputed date is recorded
    excel_serial_dates: true # a day number in a date column is an Excel serial date
                             # (automatic for numeric cells of an .xlsx; CSV needs this)
    sas_stata_dates: true    # ... or days since 1960-01-01 (a Stata/SAS file whose dates lost
                             # their %td / DATE9. format); never both
    derive:                  # columns the file lacks
      disease: {constant: APL}
      age_at_relapse: {expression: "(relapse1_date - birth_date) / 365.25"}

Codes in ``values`` are matched with the vocabulary matching rule
(:func:`aplcohort.cohort.vocab.match_key`), and the values they map to must be
canonical labels (or synonyms) of the column's vocabulary. ``from_unit`` units
known to the toolkit (``/uL``, ``/mm3``, ``x10^3/uL``, ``G/L``, ``x10^9/L``)
need no factor; any other unit must state its factor.

:func:`load_mapping` checks the mapping itself and raises
:class:`MappingError` listing every problem in it.
"""

from __future__ import annotations

import datetime as _dt
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .. import _yaml

from ..errors import InputError
from .schema import load_dictionary
from .vocab import match_key


class MappingError(InputError):
    """A column mapping is invalid; the message lists every problem."""


#: Conversion factors to x10^9/L for the cell-count units the toolkit knows.
KNOWN_UNIT_FACTORS = {
    "/ul": 1e-3, "/µl": 1e-3, "/mm3": 1e-3, "cells/ul": 1e-3, "/mm^3": 1e-3,
    "x10^3/ul": 1.0, "x10³/µl": 1.0, "10^3/ul": 1.0, "k/ul": 1.0,
    "g/l": 1.0, "x10^9/l": 1.0, "10^9/l": 1.0,
}

_ALLOWED_KEYS = {"columns", "values", "date_format", "units", "sheet", "unicode_digits",
                 "encoding", "partial_dates", "excel_serial_dates", "derive", "query", "table",
                 "redcap_dictionary", "header_row", "sas_stata_dates"}


@dataclass(frozen=True)
class UnitConversion:
    """``value_in_dictionary_unit = value * factor``."""

    column: str
    from_unit: str
    to_unit: str
    factor: float


@dataclass(frozen=True)
class ColumnMapping:
    """A checked column mapping (see module docstring).

    Attributes
    ----------
    columns : dict
        ``{their column name: dictionary column}``.
    values : dict
        ``{dictionary column: {their code: canonical label}}``.
    date_format : str or None
        Default ``strptime`` format of date columns (``None``: ISO 8601 dates).
    date_formats : dict
        Per-column formats overriding ``date_format``.
    units : dict
        ``{dictionary column: UnitConversion}``.
    sheet : str or None
        Excel sheet name.
    header_row : int or None
        Row (from 1) of a CSV or Excel sheet that holds the column names.
    unicode_digits : bool
        Numbers and dates may use non-ASCII decimal digits (full-width,
        Arabic-Indic); they are read as the ASCII digits they stand for.
    source : str
        Where the mapping came from (file path or ``"dict"``).
    """

    columns: dict = field(default_factory=dict)
    values: dict = field(default_factory=dict)
    date_format: str | None = None
    date_formats: dict = field(default_factory=dict)
    units: dict = field(default_factory=dict)
    sheet: str | None = None
    unicode_digits: bool = False
    source: str = "dict"
    encoding: str | None = None
    partial_dates: str = "reject"
    excel_serial_dates: bool = False
    derive: dict = field(default_factory=dict)
    query: str | None = None
    table: str | None = None
    redcap_dictionary: str | None = None
    header_row: int | None = None
    sas_stata_dates: bool = False

    def date_format_for(self, column: str) -> str | None:
        return self.date_formats.get(column, self.date_format)

    def code_lookup(self, column: str) -> dict:
        """``{match_key(code): canonical}`` for one dictionary column."""
        return {match_key(k): v for k, v in self.values.get(column, {}).items()}

    def describe(self) -> dict:
        return {"source": self.source, "columns": dict(self.columns),
                "values": {k: dict(v) for k, v in self.values.items()},
                "date_format": self.date_format, "date_formats": dict(self.date_formats),
                "units": {k: {"from": u.from_unit, "to": u.to_unit, "factor": u.factor}
                          for k, u in self.units.items()},
                "sheet": self.sheet, "unicode_digits": self.unicode_digits,
                **({"encoding": self.encoding} if self.encoding else {}),
                **({"partial_dates": self.partial_dates} if self.partial_dates != "reject"
                   else {}),
                **({"excel_serial_dates": True} if self.excel_serial_dates else {}),
                **({"derive": {k: {kind: (v if kind == "constant" else v.text)}
                               for k, (kind, v) in self.derive.items()}} if self.derive else {}),
                **({"query": self.query} if self.query else {}),
                **({"table": self.table} if self.table else {}),
                **({"redcap_dictionary": self.redcap_dictionary}
                   if self.redcap_dictionary else {}),
                **({"header_row": self.header_row} if self.header_row is not None else {}),
                **({"sas_stata_dates": True} if self.sas_stata_dates else {})}


#: strptime directives that read a part of a date (a date format needs one).
_DATE_DIRECTIVES = set("YymdbBhjGUWV")


def _check_format(fmt, where, problems):
    """A strptime format that reads a date: it has a date directive (``%Y``, ``%m``,
    ``%d``, ``%b``, ...) and reads back the date it writes (``'%'`` and ``'%Q'`` do not)."""
    if not isinstance(fmt, str) or "%" not in fmt:
        problems.append(f"{where}: {fmt!r} is not a strptime format (e.g. \"%d/%m/%Y\")")
        return
    directives = set(re.findall(r"%[-#]?(.)", fmt.replace("%%", "")))
    if not directives & _DATE_DIRECTIVES:
        problems.append(f"{where}: {fmt!r} has no date directive (%Y, %y, %m, %d, %b, %B, "
                        "%j); e.g. \"%d/%m/%Y\"")
        return
    d = _dt.datetime(2001, 2, 3, 4, 5, 6)
    try:
        _dt.datetime.strptime(d.strftime(fmt), fmt)
    except ValueError as exc:
        problems.append(f"{where}: {fmt!r} is not a valid date format ({exc})")


def _kind_text(v) -> str:
    """A YAML value described for a message ("a date (2020-01-01)"), without Python reprs."""
    if isinstance(v, bool):
        return f"{str(v).lower()} (true/false)"
    if isinstance(v, (_dt.date, _dt.datetime)):
        return f"a date ({v.isoformat()})"
    if isinstance(v, float):
        return f"a number ({v:g})"
    if isinstance(v, dict):
        return "a mapping ({key: value})"
    if isinstance(v, list):
        return "a list"
    return f"a {type(v).__name__}"


def load_mapping(mapping) -> ColumnMapping | None:
    """Read and check a column mapping.

    Parameters
    ----------
    mapping : str, Path, dict, ColumnMapping or None
        A YAML file path, the same structure as a dict, an existing mapping, or
        ``None`` (returns ``None``).

    Returns
    -------
    ColumnMapping or None

    Raises
    ------
    MappingError
        Listing every problem: unknown keys, unknown target columns, two source
        columns mapped to one target, codes for a column that has no
        vocabulary, codes mapped to labels outside the vocabulary, bad date
        formats, units for non-numeric columns or without a factor.

    Examples
    --------
    >>> m = load_mapping({"columns": {"Pt": "patient_id"}, "date_format": "%d/%m/%Y"})
    >>> m.columns, m.date_format_for("death_date")
    ({'Pt': 'patient_id'}, '%d/%m/%Y')

    Validated against: hand-written mappings (tests/test_cohort_mapping.py).
    """
    if mapping is None or isinstance(mapping, ColumnMapping):
        return mapping
    source = "dict"
    if isinstance(mapping, (str, Path)):
        from .._files import read_text_file
        p = Path(mapping)
        text = read_text_file(p, "mapping file", MappingError)
        try:
            raw = _yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise MappingError(f"mapping {p}: not valid YAML ({exc})") from None
        source = str(p)
        if raw is None:
            raw = {}
    else:
        raw = mapping
    if not isinstance(raw, dict):
        raise MappingError(f"mapping {source}: expected a mapping with keys "
                           f"{sorted(_ALLOWED_KEYS)}, got {type(raw).__name__}")
    d = load_dictionary()
    problems: list[str] = []
    for k in raw:
        if k not in _ALLOWED_KEYS:
            problems.append(f"unknown key {k!r} (allowed: {', '.join(sorted(_ALLOWED_KEYS))})")

    columns = {}
    cols_raw = raw.get("columns") or {}
    if not isinstance(cols_raw, dict):
        problems.append("columns: expected {their column name: dictionary column}")
        cols_raw = {}
    targets: dict[str, str] = {}
    for theirs, ours in cols_raw.items():
        theirs = str(theirs).strip()
        if ours not in d.columns:
            problems.append(f"columns: {theirs!r} -> {ours!r}: {ours!r} is not a dictionary "
                            "column (see docs/data_dictionary.md)")
            continue
        if ours in targets:
            problems.append(f"columns: both {targets[ours]!r} and {theirs!r} map to {ours!r}")
            continue
        targets[ours] = theirs
        columns[theirs] = ours

    values = {}
    vals_raw = raw.get("values") or {}
    if not isinstance(vals_raw, dict):
        problems.append("values: expected {dictionary column: {their code: canonical label}}")
        vals_raw = {}
    for col, codes in vals_raw.items():
        if col not in d.columns:
            problems.append(f"values: {col!r} is not a dictionary column")
            continue
        vocab = d.vocabulary_of(col)
        if vocab is None:
            problems.append(f"values: column {col!r} is of type {d.columns[col].type} and has "
                            "no vocabulary; codes can only be mapped for category/bool columns")
            continue
        if not isinstance(codes, dict):
            problems.append(f"values: {col}: expected {{their code: canonical label}}")
            continue
        out = {}
        for code, target in codes.items():
            lab = vocab.normalise(target) if target is not None else None
            if lab is None:
                problems.append(f"values: {col}: code {code!r} -> {target!r}: {target!r} is not "
                                f"in vocabulary {vocab.name!r} (labels: {', '.join(vocab.labels)})")
                continue
            # YAML reads 1, yes, true as numbers/booleans: keep the code's text form.
            key = ("yes" if code else "no") if isinstance(code, bool) else str(code)
            out[key] = lab
        values[col] = out

    date_format = None
    date_formats = {}
    fmt_raw = raw.get("date_format")
    if isinstance(fmt_raw, dict):
        for col, fmt in fmt_raw.items():
            if col == "default":
                _check_format(fmt, "date_format: default", problems)
                date_format = fmt
                continue
            if col not in d.columns:
                problems.append(f"date_format: {col!r} is not a dictionary column")
            elif d.columns[col].type != "date":
                problems.append(f"date_format: {col!r} is not a date column "
                                f"(type {d.columns[col].type})")
            else:
                _check_format(fmt, f"date_format: {col}", problems)
                date_formats[col] = fmt
    elif fmt_raw is not None:
        _check_format(fmt_raw, "date_format", problems)
        date_format = fmt_raw

    units = {}
    units_raw = raw.get("units") or {}
    if not isinstance(units_raw, dict):
        problems.append("units: expected {dictionary column: {from: unit, factor: number}}")
        units_raw = {}
    for col, spec in units_raw.items():
        if col not in d.columns:
            problems.append(f"units: {col!r} is not a dictionary column")
            continue
        cs = d.columns[col]
        if cs.type not in ("number", "integer"):
            problems.append(f"units: {col!r} is not numeric (type {cs.type})")
            continue
        if isinstance(spec, str):
            spec = {"from": spec}
        if not isinstance(spec, dict) or "from" not in spec:
            problems.append(f"units: {col}: expected {{from: unit, factor: number}}")
            continue
        frm = str(spec["from"])
        factor = spec.get("factor")
        if factor is None:
            known = KNOWN_UNIT_FACTORS.get(frm.replace(" ", "").casefold())
            if known is None or cs.unit != "x10^9/L":
                problems.append(f"units: {col}: unit {frm!r} is not known to the toolkit; state "
                                f"the factor that converts it to {cs.unit}, e.g. "
                                f"{{from: {frm!r}, factor: 0.001}}")
                continue
            factor = known
        try:
            if isinstance(factor, bool):
                raise TypeError
            factor = float(factor)
        except (TypeError, ValueError, OverflowError):
            problems.append(f"units: {col}: factor {factor!r} is not a number")
            continue
        if not math.isfinite(factor):
            problems.append(f"units: {col}: factor must be a finite number, got {factor}")
            continue
        if not factor > 0:
            problems.append(f"units: {col}: factor must be > 0, got {factor}")
            continue
        units[col] = UnitConversion(column=col, from_unit=frm, to_unit=cs.unit or "",
                                    factor=factor)

    sheet = raw.get("sheet")
    if sheet is not None and (isinstance(sheet, bool) or not isinstance(sheet, (str, int))):
        problems.append(f"sheet: expected a sheet name, got {_kind_text(sheet)}; write the "
                        "name in quotes (sheet: 'name')")
    unicode_digits = raw.get("unicode_digits", False)
    if not isinstance(unicode_digits, bool):
        problems.append(f"unicode_digits: expected true or false, got {unicode_digits!r}")
    encoding = raw.get("encoding")
    if encoding is not None:
        from .encoding import EncodingError, check_encoding
        try:
            check_encoding(encoding)
        except EncodingError as exc:
            problems.append(str(exc))
    from .types import PARTIAL_DATE_POLICIES
    partial = raw.get("partial_dates", "reject")
    if partial not in PARTIAL_DATE_POLICIES:
        problems.append(f"partial_dates: expected one of {', '.join(PARTIAL_DATE_POLICIES)} "
                        f"(mid: 2015-03 -> 2015-03-15; first: -> 2015-03-01), got {partial!r}")
    serial = raw.get("excel_serial_dates", False)
    if not isinstance(serial, bool):
        problems.append(f"excel_serial_dates: expected true or false, got {serial!r}")
    sas_stata = raw.get("sas_stata_dates", False)
    if not isinstance(sas_stata, bool):
        problems.append(f"sas_stata_dates: expected true or false, got {sas_stata!r}")
    elif sas_stata and serial is True:
        problems.append("excel_serial_dates and sas_stata_dates are both true; a day number "
                        "counts from one origin: Excel 1899-12-30 or Stata/SAS 1960-01-01")
    header_row = raw.get("header_row")
    if header_row is not None:
        from .._checks import check_int
        try:
            header_row = check_int("header_row", header_row, minimum=1)
        except InputError:
            problems.append(f"header_row: expected the number (from 1) of the row that holds "
                            f"the column names, got {header_row!r}")
    derive = _check_derive(raw.get("derive"), d, set(columns.values()), problems)
    for key in ("query", "table", "redcap_dictionary"):
        if raw.get(key) is not None and not isinstance(raw.get(key), str):
            problems.append(f"{key}: expected text, got {raw.get(key)!r}")
    from .sql import CredentialsInPlanError, reject_passwords
    try:
        reject_passwords(raw, f"mapping {source}")
    except CredentialsInPlanError as exc:
        problems.append(str(exc))
    if problems:
        raise MappingError(f"invalid column mapping ({source}): {len(problems)} problem(s)\n"
                           + "\n".join(f"  - {p}" for p in problems))
    return ColumnMapping(columns=columns, values=values, date_format=date_format,
                         date_formats=date_formats, units=units,
                         sheet=None if sheet is None else str(sheet),
                         unicode_digits=unicode_digits is True, source=source,
                         encoding=encoding, partial_dates=partial,
                         excel_serial_dates=serial is True, derive=derive,
                         query=raw.get("query"), table=raw.get("table"),
                         redcap_dictionary=raw.get("redcap_dictionary"),
                         header_row=header_row if isinstance(header_row, int) else None,
                         sas_stata_dates=sas_stata is True)


def _check_derive(spec, d, mapped_targets, problems) -> dict:
    """``{column: ("constant", value) | ("expression", Expression)}`` from ``derive:``."""
    import datetime as _dtm
    from ..expr import ExpressionError
    from ..expr import parse as parse_expression
    if spec is None:
        return {}
    if not isinstance(spec, dict):
        problems.append("derive: expected {column: {constant: VALUE}} or {column: {expression: "
                        "\"...\"}}")
        return {}
    out = {}
    for col, rule in spec.items():
        col = str(col)
        where = f"derive: {col}"
        if col in mapped_targets:
            problems.append(f"{where}: {col!r} is also the target of a column under columns:; "
                            "a column comes from the file or is derived, not both")
            continue
        if not isinstance(rule, dict) or len(rule) != 1 or \
                next(iter(rule)) not in ("constant", "expression"):
            problems.append(f"{where}: expected {{constant: VALUE}} or {{expression: \"...\"}}, "
                            f"got {rule!r}")
            continue
        kind, value = next(iter(rule.items()))
        if kind == "constant":
            if value is None or not isinstance(value, (str, int, float, bool, _dtm.date)):
                problems.append(f"{where}: constant: expected one value (text, number, date), "
                                f"got {value!r}")
                continue
            if col in d.columns and d.vocabulary_of(col) is not None:
                vocab = d.vocabulary_of(col)
                if vocab.normalise(str(value) if not isinstance(value, bool) else
                                   ("yes" if value else "no")) is None:
                    problems.append(f"{where}: constant {value!r} is not in vocabulary "
                                    f"{vocab.name!r} (labels: {', '.join(vocab.labels)})")
                    continue
            out[col] = ("constant", value)
        else:
            try:
                out[col] = ("expression", parse_expression(value))
            except ExpressionError as exc:
                problems.append(f"{where}: {exc}")
    return out
