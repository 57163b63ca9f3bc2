"""One typing and missing-value policy for every column of a patient table.

Used by the validator for data-dictionary columns (:mod:`aplcohort.cohort.validate`)
and by the plan layer for every other column (:func:`type_extra_columns`), so a
cell means the same thing wherever it is read.

Missing values
--------------
A cell is missing when it is empty or white space, or (ignoring case and
surrounding spaces) one of :data:`MISSING_TOKENS`: ``NA``, ``N/A``, ``#N/A``,
``NaN``, ``NaT``, ``null`` and ``.`` (the SAS/Stata missing value). Nothing
else is missing: ``none``, ``-``, ``unknown`` or ``0`` are values (``none`` is
a label of several vocabularies). In an Excel workbook an *error value*
(``#N/A``, ``#DIV/0!``) is not a missing value but an error
(:mod:`aplcohort.cohort.io`).

Numbers
-------
A number is written with ASCII digits, an optional sign, an optional decimal
point and an optional exponent (``12``, ``-0.5``, ``.5``, ``1e3``). Rejected,
each with its own message: a decimal comma (``1,5``), a thousands separator
(``1,200``, ``1 200``, ``1.200,5``), an underscore (``1_0`` is not 10, although
Python's ``float`` reads it so), non-ASCII digits (full-width ``１２``,
Arabic-Indic ``١٢``) unless declared (``unicode_digits=True``), infinities,
units or text in the cell, and yes/no values.

Columns outside the data dictionary
-----------------------------------
:func:`type_extra_columns` gives them a type: a column whose every non-missing
cell is a number becomes numeric (float); a column that *looks* numeric (at
least as many number-like cells as text cells) but holds a cell that is
neither a number nor missing is an error naming row, patient, column and
value, never a category made of numbers; other columns are text (missing
tokens become missing). A plan can declare a column's type (``data.types``):
``number`` or ``integer`` (missing tokens are missing, anything else is an
error), ``date`` (ISO ``YYYY-MM-DD`` text or a date cell; anything else is an
error), ``text`` (kept as text even when every value is a number, e.g. codes
``01``, ``02``); or a mapping ``{type: number, unicode_digits: true}``. An
undeclared column whose every non-missing cell is a date becomes a date column.
"""

from __future__ import annotations

import datetime as _dt
import difflib
import math
import re
import unicodedata

import numpy as np
import pandas as pd

from ..errors import CohortValidationError

#: Cell texts read as missing (compared after ``strip().casefold()``).
MISSING_TOKENS = frozenset({"", "na", "n/a", "#n/a", "nan", "nat", "null", "."})

#: Declared types accepted for columns outside the data dictionary.
DECLARED_TYPES = ("number", "integer", "date", "text")

# ASCII only: [0-9] rather than \d, which also matches full-width and Arabic-Indic digits.
_NUMBER = r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
_NUMBER_RE = re.compile(_NUMBER)
_THOUSANDS_COMMA = re.compile(r"[+-]?[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?")
_THOUSANDS_DOT = re.compile(r"[+-]?[0-9]{1,3}(?:\.[0-9]{3})+,[0-9]+")
_THOUSANDS_SPACE = re.compile(r"[+-]?[0-9]{1,3}(?:[ \u00a0\u202f'][0-9]{3})+(?:[.,][0-9]+)?")
_DECIMAL_COMMA = re.compile(r"[+-]?[0-9]*,[0-9]+")
_INF = frozenset({"inf", "+inf", "-inf", "infinity", "+infinity", "-infinity"})

#: Reasons that say a cell is meant as a number (used to tell a numeric column with a
#: typo from a text column).
_NUMBER_LIKE_REASONS = ("uses", "contains an underscore", "non-ASCII digits",
                        "is not a finite number")

NUMBER_FIX = "write a plain number with ASCII digits and a decimal point, nothing else in the cell"


def header_key(name) -> str:
    """Key for tolerant header matching: case, spaces and line breaks are ignored.

    Examples
    --------
    >>> header_key("WBC\\n(Rel)") == header_key("WBC (Rel)") == header_key("wbc(rel)")
    True
    """
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(name)).casefold())


def is_missing(v) -> bool:
    """Whether one cell is missing under the policy of this module.

    Examples
    --------
    >>> [is_missing(v) for v in ["", " NA ", ".", "n/a", "none", 0, float("nan"), None]]
    [True, True, True, True, False, False, True, True]
    """
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


def factorize_cells(values):
    """``(codes, distinct cells)`` of a column, so each distinct cell is parsed once.

    Vectorised (``pandas.factorize``) for text columns, where a column of a million
    cells usually holds a few thousand distinct values; other columns are grouped by
    (type, value) so that ``1``, ``1.0`` and ``True`` stay apart.

    Examples
    --------
    >>> codes, uniq = factorize_cells(["a", "b", "a"])
    >>> codes.tolist(), uniq
    ([0, 1, 0], ['a', 'b'])
    """
    if isinstance(values, pd.Series) and isinstance(values.dtype, pd.CategoricalDtype) and \
            pd.api.types.infer_dtype(values.cat.categories, skipna=False) in ("string", "empty"):
        # text read as categories (the CSV reader): already factorised
        codes = values.cat.codes.to_numpy().astype(np.intp)
        uniq = list(values.cat.categories)
        if (codes < 0).any():  # missing (NaN) cells
            codes = np.where(codes < 0, len(uniq), codes)
            uniq.append(None)
        return codes, uniq
    arr = (values.to_numpy(dtype=object) if isinstance(values, pd.Series)
           else np.array(list(values) + [None], dtype=object)[:-1])
    if pd.api.types.infer_dtype(arr, skipna=False) in ("string", "empty"):
        codes, uniq = pd.factorize(arr, use_na_sentinel=False)
        return np.asarray(codes, dtype=np.intp), list(uniq)
    index: dict = {}
    uniq: list = []
    codes = np.empty(len(arr), dtype=np.intp)
    for i, v in enumerate(arr):
        try:
            key = (type(v), v)
            k = index.get(key)
        except TypeError:  # unhashable cell
            key, k = None, None
        if k is None:
            k = len(uniq)
            uniq.append(v)
            if key is not None:
                index[key] = k
        codes[i] = k
    return codes, uniq


def texts_of(cells) -> tuple[np.ndarray, np.ndarray]:
    """``(as_text of each cell, is_missing of each cell)``, vectorised for text cells.

    Examples
    --------
    >>> t, m = texts_of([" a ", "NA", 12.0])
    >>> t.tolist(), m.tolist()
    (['a', 'NA', '12'], [False, True, False])
    """
    arr = np.array(list(cells) + [None], dtype=object)[:-1]
    if len(arr) and pd.api.types.infer_dtype(arr, skipna=False) == "string":
        stripped = pd.Series(arr, dtype=object).str.strip()
        # copies: under pandas 3 (copy-on-write) to_numpy() returns a read-only view, and
        # callers write into the text array
        return (stripped.to_numpy(dtype=object, copy=True),
                stripped.str.casefold().isin(MISSING_TOKENS).to_numpy(copy=True))
    miss = np.fromiter((is_missing(v) for v in arr), bool, len(arr))
    text = np.array([None if m else as_text(v) for v, m in zip(arr, miss)] + [None],
                    dtype=object)[:-1]
    for i in np.flatnonzero(miss):
        text[i] = str(arr[i]).strip() if isinstance(arr[i], str) else None
    return text, miss


def missing_mask(values) -> np.ndarray:
    """Vectorised :func:`is_missing` over a sequence of cells (boolean array).

    Examples
    --------
    >>> missing_mask(["1", "NA", None, " ", "x"]).tolist()
    [False, True, True, True, False]
    """
    s = values if isinstance(values, pd.Series) else pd.Series(
        np.array(list(values) + [None], dtype=object)[:-1], dtype=object)
    if s.dtype != object and not isinstance(s.dtype, pd.CategoricalDtype):
        return s.isna().to_numpy()
    codes, uniq = factorize_cells(s)
    umiss = np.fromiter((is_missing(u) for u in uniq), bool, len(uniq))
    return umiss[codes] if len(codes) else np.zeros(0, bool)


def as_text(v) -> str:
    """Text form of a cell (Excel numbers 12.0 -> '12', booleans -> 'true', dates ISO)."""
    if isinstance(v, (bool, np.bool_)):
        return "true" if v else "false"
    if isinstance(v, (float, np.floating)) and math.isfinite(v) and float(v).is_integer():
        return str(int(v))
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (pd.Timestamp, _dt.datetime, _dt.date)):
        return pd.Timestamp(v).date().isoformat()
    return str(v).strip()


def _has_unicode_digit(s: str) -> bool:
    return any(not ch.isascii() and unicodedata.decimal(ch, None) is not None for ch in s)


def _unicode_to_ascii(s: str) -> str:
    s = unicodedata.normalize("NFKC", s)  # full-width digits, signs and points
    return "".join(str(unicodedata.decimal(ch)) if not ch.isascii()
                   and unicodedata.decimal(ch, None) is not None else ch for ch in s)


def _text_reason(s: str) -> str:
    """Why a (stripped, non-missing) text is not a number."""
    if "_" in s and _NUMBER_RE.fullmatch(s.replace("_", "")):
        return (f"contains an underscore ({s!r} is not read as "
                f"{s.replace('_', '')}); write the digits without '_'")
    if _THOUSANDS_DOT.fullmatch(s):
        return "uses '.' as a thousands separator and a decimal comma"
    if _THOUSANDS_COMMA.fullmatch(s):
        return (f"uses ',' as a thousands separator (or is it a decimal comma?); write "
                f"{s.replace(',', '')} without separators, or with a decimal point if the "
                "comma is a decimal comma")
    if _THOUSANDS_SPACE.fullmatch(s):
        return "uses a space or apostrophe as a thousands separator"
    if _DECIMAL_COMMA.fullmatch(s):
        return f"uses a decimal comma; write {s.replace(',', '.')} with a decimal point"
    if s.casefold() in _INF:
        return "is not a finite number"
    if _has_unicode_digit(s):
        return ("uses non-ASCII digits (full-width or Arabic-Indic); retype it with ASCII "
                "digits 0-9, or declare unicode digits")
    return "is not a number"


def parse_number(v, *, unicode_digits: bool = False):
    """Parse one non-missing cell as a number, strictly.

    Parameters
    ----------
    v : object
        A cell (text, int, float, ...). Call :func:`is_missing` first.
    unicode_digits : bool
        Accept non-ASCII decimal digits (full-width, Arabic-Indic, ...) as
        digits.

    Returns
    -------
    (float, None) or (None, str)
        The number, or ``None`` and the reason it is not one.

    Examples
    --------
    >>> parse_number("1.5"), parse_number("1_0")[0], parse_number("1,200")[1][:5]
    ((1.5, None), None, 'uses ')
    >>> parse_number("１２")[0], parse_number("１２", unicode_digits=True)
    (None, (12.0, None))
    """
    if isinstance(v, (bool, np.bool_)):
        return None, "is a yes/no value, not a number"
    if isinstance(v, (int, float, np.integer, np.floating)):
        f = float(v)
        if not math.isfinite(f):
            return None, "is not a finite number"
        return f, None
    if isinstance(v, (pd.Timestamp, _dt.date, _dt.datetime)):
        return None, "is a date, not a number"
    s = str(v).strip()
    if unicode_digits and not s.isascii():
        s = _unicode_to_ascii(s)
    if _NUMBER_RE.fullmatch(s):
        f = float(s)
        if not math.isfinite(f):
            return None, "is not a finite number"
        return f, None
    return None, _text_reason(s)


def parse_numbers(values, *, unicode_digits: bool = False):
    """Vectorised :func:`parse_number` over a column.

    Parameters
    ----------
    values : Series or sequence
        The cells of one column.
    unicode_digits : bool
        As :func:`parse_number`.

    Returns
    -------
    numbers : ndarray of float
        NaN where missing or not a number.
    missing : ndarray of bool
        Cells that are missing (:func:`is_missing`).
    bad : dict
        ``{position: reason}`` for every cell that is neither a number nor missing.

    Examples
    --------
    >>> x, miss, bad = parse_numbers(["1", "", "NA", "2.5", "1,5"])
    >>> x.tolist()[3], miss.tolist(), bad[4][:20]
    (2.5, [False, True, True, False, False], 'uses a decimal comma')
    """
    s = values if isinstance(values, pd.Series) else pd.Series(list(values), dtype=object)
    s = s.reset_index(drop=True)
    n = len(s)
    out = np.full(n, np.nan)
    if s.dtype != object and not isinstance(s.dtype, pd.CategoricalDtype):
        if pd.api.types.is_bool_dtype(s.dtype):
            s = s.astype(object)
        elif pd.api.types.is_numeric_dtype(s.dtype):
            f = pd.to_numeric(s, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
            miss = np.isnan(f)
            bad = {int(i): "is not a finite number" for i in np.flatnonzero(np.isinf(f))}
            f[np.isinf(f)] = np.nan
            return f, miss, bad
        else:
            s = s.astype(object)
    codes, uniq = factorize_cells(s)
    uval = np.full(len(uniq), np.nan)
    umiss = np.zeros(len(uniq), bool)
    uwhy: list = [None] * len(uniq)
    for k, u in enumerate(uniq):
        if is_missing(u):
            umiss[k] = True
            continue
        f, why = parse_number(u, unicode_digits=unicode_digits)
        if f is None:
            uwhy[k] = why
        else:
            uval[k] = f
    if not n:
        return out, np.zeros(0, bool), {}
    out = uval[codes]
    miss = umiss[codes]
    ubad = np.array([w is not None for w in uwhy], bool)
    bad = {int(i): uwhy[codes[i]] for i in np.flatnonzero(ubad[codes])}
    return out, miss, dict(sorted(bad.items()))


def _number_like(reason: str) -> bool:
    return reason.startswith(_NUMBER_LIKE_REASONS) or "non-ASCII digits" in reason


def _declared(declared, col):
    """``(type, unicode_digits)`` or raise a message."""
    spec = declared.get(col)
    if spec is None:
        return None, False
    if isinstance(spec, dict):
        unknown = set(spec) - {"type", "unicode_digits"}
        if unknown or "type" not in spec:
            raise ValueError(f"data.types: {col}: expected a type name or {{type: number, "
                             f"unicode_digits: true}}, got {spec!r}")
        kind, uni = spec["type"], spec.get("unicode_digits", False)
        if not isinstance(uni, bool):
            raise ValueError(f"data.types: {col}: unicode_digits must be true or false, "
                             f"got {uni!r}")
    else:
        kind, uni = spec, False
    if kind not in DECLARED_TYPES:
        hint = difflib.get_close_matches(str(kind), DECLARED_TYPES, n=1)
        raise ValueError(f"data.types: {col}: unknown type {kind!r} (use one of "
                         f"{', '.join(DECLARED_TYPES)})"
                         + (f"; did you mean {hint[0]!r}?" if hint else ""))
    return kind, uni


class SourceRows(tuple):
    """Spreadsheet row of each data row, kept in ``DataFrame.attrs["source_rows"]``.

    A tuple (compares with ``==`` to a bool, serialises to JSON, e.g. in Parquet
    metadata) that is immutable, so pandas' deep copy of ``attrs`` on every operation
    returns it as it is instead of copying a million integers.
    """

    __slots__ = ()

    def __deepcopy__(self, memo):
        return self

    def __copy__(self):
        return self


def _dictionary_kind(col) -> str | None:
    """The declared type equivalent to a dictionary column's type (None: no equivalent)."""
    from .schema import load_dictionary
    spec = load_dictionary().columns.get(col)
    if spec is None:
        return None
    return {"number": "number", "integer": "integer", "date": "date", "text": "text",
            "id": "text", "category": "text"}.get(spec.type)


def row_numbers_of(df: pd.DataFrame, row_numbers=None) -> list[int]:
    """Spreadsheet row of each data row (header = row 1).

    ``row_numbers`` if given, else the rows recorded by the reader in
    ``df.attrs["source_rows"]`` (kept by pandas through copies; used only while the
    table has its original length and a default index), else position + 2.
    """
    if row_numbers is not None:
        rows = list(row_numbers)
    else:
        got = df.attrs.get("source_rows")
        # pandas carries attrs through sorting and filtering: trust them only on the
        # table as read (same length, index 0..n-1 in order)
        fresh = isinstance(df.index, pd.RangeIndex) and df.index.start == 0 and \
            df.index.step == 1
        rows = list(got) if got is not None and fresh else []
    if len(rows) != len(df):
        rows = [i + 2 for i in range(len(df))]
    return [int(r) for r in rows]


def type_extra_columns(df: pd.DataFrame, declared: dict | None = None, *, known_columns=(),
                       id_column: str = "patient_id", source: str = "table",
                       row_numbers=None) -> pd.DataFrame:
    """Type the columns of a table that are not data-dictionary columns.

    Parameters
    ----------
    df : DataFrame
        A cohort table; columns in ``known_columns`` and columns that already
        have a non-object dtype are left alone unless declared.
    declared : dict, optional
        ``{column: "number" | "integer" | "text"}`` or
        ``{column: {type: "number", unicode_digits: true}}`` (a plan's
        ``data.types``).
    known_columns : iterable of str
        Columns typed elsewhere (the data dictionary's).
    id_column : str
        Column of patient ids named in messages (when present).
    source : str
        Name of the table in the message.
    row_numbers : sequence of int, optional
        Spreadsheet row of each data row (default: see :func:`row_numbers_of`).

    Returns
    -------
    DataFrame
        A copy with numeric columns as float and text columns as text (missing
        cells as ``None``/NaN).

    Raises
    ------
    CohortValidationError
        Listing every cell that is neither a number nor missing in a numeric or
        numeric-looking column (row, patient, column, value, rule, fix), and
        every invalid declaration.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"patient_id": ["a", "b", "c"], "age": ["61", "", "NA"],
    ...                    "site": ["S1", "S2", "."]})
    >>> out = type_extra_columns(df, known_columns={"patient_id"})
    >>> out["age"].tolist(), out["site"].tolist()
    ([61.0, nan, nan], ['S1', 'S2', None])

    Validated against: hand-made CSV and XLSX tables and a KMsurv ``bmt`` Cox fit in R
    (tests/test_cohort_types.py).
    """
    from .validate import ROW_CONVENTION, Problem

    declared = dict(declared or {})
    if not isinstance(df, pd.DataFrame):
        raise CohortValidationError(f"{source}: expected a pandas DataFrame, got "
                                    f"{type(df).__name__}")
    known = set(known_columns)
    rows = row_numbers_of(df, row_numbers)
    if df.attrs.get("row_convention") and df.attrs.get("source_rows") is not None and \
            len(df.attrs["source_rows"]) == len(df):
        rows = [int(r) for r in df.attrs["source_rows"]]  # index labels (validate)
    ids = [None] * len(df)
    if id_column in df.columns:
        ids = [None if is_missing(v) else as_text(v) for v in df[id_column].tolist()]
    problems: list[Problem] = []
    summaries: list[str] = []
    out = df.copy()
    columns = [str(c) for c in df.columns]
    for col in declared:
        if col not in df.columns:
            hint = difflib.get_close_matches(str(col), columns, n=1)
            msg = (f"data.types declares column {col!r}, which the table does not have"
                   + (f"; did you mean {hint[0]!r}?" if hint else ""))
            problems.append(Problem(None, None, str(col), None, "declared_type", msg,
                                    "correct the column name in data.types"))
            summaries.append(f"- {msg}")
    for col in df.columns:
        try:
            kind, uni = _declared(declared, col)
        except ValueError as exc:
            problems.append(Problem(None, None, str(col), None, "declared_type", str(exc),
                                    f"use one of {', '.join(DECLARED_TYPES)}"))
            summaries.append(f"- {exc}")
            continue
        v = out[col]
        if isinstance(v, pd.DataFrame):  # duplicate names are reported by the reader
            continue
        # pandas 3 reads text columns as the "str" dtype (a StringDtype), pandas 2 as object
        textual = v.dtype == object or isinstance(v.dtype, (pd.CategoricalDtype, pd.StringDtype))
        if kind is None and (col in known or not textual):
            continue
        if col in known:  # declared, but typed elsewhere (the data dictionary)
            fixed = _dictionary_kind(col)
            if fixed != kind:
                msg = (f"data.types declares {col!r} {kind}, but it is a data-dictionary column"
                       + (f" of type {fixed}" if fixed else "") + " and keeps that type")
                problems.append(Problem(None, None, str(col), None, "declared_type", msg,
                                        f"remove {col!r} from data.types"))
                summaries.append(f"- {msg}")
            continue
        if kind == "date" and pd.api.types.is_datetime64_any_dtype(v.dtype):
            continue
        if kind is not None and not textual:
            if kind == "text":
                if pd.api.types.is_numeric_dtype(v.dtype) or pd.api.types.is_bool_dtype(v.dtype):
                    out[col] = pd.Series([None if is_missing(x) else as_text(x)
                                          for x in v.tolist()], index=v.index, dtype=object)
                continue
            if not pd.api.types.is_numeric_dtype(v.dtype) or pd.api.types.is_bool_dtype(v.dtype):
                msg = (f"column {col!r} is declared {kind} but holds {v.dtype} values")
                problems.append(Problem(None, None, str(col), None, "declared_type", msg,
                                        f"remove {col!r} from data.types or declare it text"))
                summaries.append(f"- {msg}")
                continue
        if kind == "text":
            out[col] = pd.Series([None if is_missing(x) else as_text(x) for x in v.tolist()],
                                 index=v.index, dtype=object)
            continue
        nums, miss, bad = parse_numbers(v, unicode_digits=uni)
        n_num = int((~miss).sum()) - len(bad)
        n_like = sum(1 for r in bad.values() if _number_like(r))
        n_text = len(bad) - n_like
        if kind == "date" or (kind is None and n_num == 0 and n_like == 0 and n_text > 0):
            dates, dbad = _parse_dates(v, miss, unicode_digits=uni)
            if kind == "date" or not dbad:
                if dbad:
                    shown = "; ".join(f"row {rows[i]}: {as_text(v.iat[i])!r}"
                                      + (f" (patient {ids[i]})" if ids[i] is not None else "")
                                      for i in list(dbad)[:10])
                    summaries.append(f"- column {col!r} is declared date but has values that "
                                     f"are neither dates nor missing: {shown}")
                    for i, why in dbad.items():
                        problems.append(Problem(
                            rows[i], ids[i], str(col), v.iat[i], "type_date",
                            f"{as_text(v.iat[i])!r} {why}",
                            "write the date as YYYY-MM-DD (or a date cell in Excel); leave "
                            "the cell empty (or NA) if it is unknown"))
                    continue
                out[col] = pd.Series(dates, index=v.index, dtype="datetime64[ns]")
                continue
        if kind is None and n_num == 0 and n_text > 0:
            words = {as_text(x).strip().lower() for x, m in zip(v.tolist(), miss) if not m}
            if words <= {"true", "false"}:
                # True/False written by pandas, R (TRUE/FALSE) or a spreadsheet: a logical
                # column, as R's read.csv reads it (a derived flag written to CSV and read
                # back must compare with true/false as before).
                out[col] = pd.Series([pd.NA if m else as_text(x).strip().lower() == "true"
                                      for x, m in zip(v.tolist(), miss)],
                                     index=v.index, dtype="boolean")
                continue
        if kind is None and not (n_num + n_like > 0 and n_num + n_like >= n_text):
            # a text column: missing tokens become missing, values their text form
            out[col] = pd.Series([None if m else as_text(x) for x, m in zip(v.tolist(), miss)],
                                 index=v.index, dtype=object)
            continue
        if kind == "integer":
            frac = np.flatnonzero(~np.isnan(nums) & (np.mod(nums, 1) != 0))
            for i in frac:
                bad[int(i)] = f"{nums[i]!r} is not a whole number"
            bad = dict(sorted(bad.items()))
        if bad:
            what = (f"is declared {kind}" if kind else
                    f"holds numbers ({n_num} cell(s))")
            shown = "; ".join(f"row {rows[i]}: {as_text(v.iat[i])!r}"
                              + (f" (patient {ids[i]})" if ids[i] is not None else "")
                              for i in list(bad)[:10])
            summaries.append(f"- column {col!r} {what} but has values that are neither numbers "
                             f"nor missing: {shown}{' (and more)' if len(bad) > 10 else ''}")
            fix = (NUMBER_FIX + "; leave the cell empty (or NA) if the value is unknown"
                   + ("" if kind else f", or declare the column text (data.types: "
                      f"{{{col}: text}}) if it is not a number"))
            for i, why in bad.items():
                txt = as_text(v.iat[i])
                msg = why if why.startswith(repr(nums[i])) else f"{txt!r} {why}"
                problems.append(Problem(rows[i], ids[i], str(col), v.iat[i],
                                        "type_integer" if "whole number" in why
                                        else "type_number", msg, fix))
            continue
        out[col] = nums.astype(float) if kind != "integer" else nums
    if problems:
        lines = [f"{source}: {len(problems)} problem(s) typing data columns outside the data "
                 "dictionary; nothing was run.", df.attrs.get("row_convention", ROW_CONVENTION),
                 *summaries, "Every problem:"]
        lines += [f"  - {p}" for p in problems]
        raise ColumnTypeError("\n".join(lines), problems)
    return out


def _parse_dates(v: pd.Series, miss: np.ndarray, *, unicode_digits: bool = False):
    """``(datetime64 array, {position: reason})`` for the non-missing cells of a column."""
    from .validate import _parse_date  # the dictionary's date rule: ISO text or a date cell
    codes, uniq = factorize_cells(v)
    uts = np.full(len(uniq), np.datetime64("NaT"), dtype="datetime64[ns]")
    uwhy: list = [None] * len(uniq)
    for k, u in enumerate(uniq):
        if is_missing(u):
            continue
        ts, why = _parse_date(u, None, unicode_digits)
        if ts is None:
            uwhy[k] = why
        else:
            uts[k] = np.datetime64(ts.to_datetime64(), "ns")
    out = uts[codes] if len(codes) else np.array([], "datetime64[ns]")
    ubad = np.array([w is not None for w in uwhy], bool)
    bad = {int(i): uwhy[codes[i]]
           for i in np.flatnonzero(ubad[codes] & ~miss)} if len(codes) else {}
    return out, bad


class ColumnTypeError(CohortValidationError):
    """Columns outside the data dictionary could not be typed (see :func:`type_extra_columns`)."""


# --------------------------------------------------------------------------------------
# date parts: Excel serial dates and partial dates (issue 18)
# --------------------------------------------------------------------------------------

#: Policies for partial dates (``partial_dates:`` in a mapping).
PARTIAL_DATE_POLICIES = ("reject", "mid", "first")

_PARTIAL_RE = re.compile(r"^([0-9]{4})(?:[-/.]([0-9]{1,2}))?$")
_PARTIAL_MY_RE = re.compile(r"^([0-9]{1,2})[-/.]([0-9]{4})$")
_SERIAL_TEXT_RE = re.compile(r"^[0-9]+(?:\.[0-9]+)?$")


def excel_serial_to_date(n, system: str = "1900"):
    """The date of an Excel serial day number; ``(Timestamp, None)`` or ``(None, reason)``.

    Excel stores a date as the number of days since an epoch. In the **1900 date
    system** (Windows Excel, LibreOffice's default for .xlsx) day 1 is 1900-01-01,
    but Excel also counts the day 1900-02-29, which does not exist (a bug kept from
    Lotus 1-2-3 for compatibility): serial 60 is that non-existent day (an error
    here), serials 1-59 are 1899-12-31 + n days and serials from 61 are
    1899-12-30 + n days, so 61 is 1900-03-01 and 43831 is 2020-01-01. In the **1904
    date system** (old Mac Excel; recorded in the workbook) day 0 is 1904-01-01. A
    fractional part is the time of day and is dropped (dates are whole days here).

    Examples
    --------
    >>> [str(excel_serial_to_date(n)[0].date()) for n in (1, 59, 61, 43831, 43831.75)]
    ['1900-01-01', '1900-02-28', '1900-03-01', '2020-01-01', '2020-01-01']
    >>> excel_serial_to_date(60)[1][:40]
    'is Excel serial 60, the day 1900-02-29 t'
    >>> str(excel_serial_to_date(42369, "1904")[0].date())  # 1462 days less than in 1900
    '2020-01-01'
    """
    try:
        f = float(n)
    except (TypeError, ValueError):
        return None, "is not an Excel serial date number"
    if not math.isfinite(f) or f < 0 or (system == "1900" and f < 1):
        return None, "is not an Excel serial date (a day number from 1)"
    d = int(math.floor(f))
    if system == "1904":
        return day_number_date(_dt.date(1904, 1, 1), d, "Excel serial date")
    if d == 60:
        return None, ("is Excel serial 60, the day 1900-02-29 that Excel counts but that does "
                      "not exist (Excel's 1900 leap-year bug); correct the date")
    return day_number_date(_dt.date(1899, 12, 31) if d < 60 else _dt.date(1899, 12, 30), d,
                           "Excel serial date")


def day_number_date(origin: _dt.date, days: int, what: str):
    """``(Timestamp, None)`` for ``origin + days``, or ``(None, reason)`` when that day is
    after 2199 (the dates read; beyond 2262 pandas cannot hold it: a number such as 19990103
    is a date written as YYYYMMDD, said so).

    >>> day_number_date(_dt.date(1960, 1, 1), 14632, "day")[0].date()
    datetime.date(2000, 1, 23)
    >>> day_number_date(_dt.date(1899, 12, 30), 19990103, "Excel serial date")[1]
    'is not an Excel serial date: day 19990103 would be after the year 2199; it looks like the date 1999-01-03 written as YYYYMMDD: write 1999-01-03'
    """
    try:
        day = origin + _dt.timedelta(days=int(days))
    except OverflowError:
        day = None
    if day is not None and 1900 <= day.year <= 2199:
        return pd.Timestamp(day), None
    if day is not None and day.year < 1900:
        return None, f"has a year outside 1900-2199 ({day.isoformat()} as a {what})"
    hint = ""
    text = str(int(days)) if abs(days) < 1e12 else f"{days:.3g}"
    if len(text) == 8:
        try:
            ymd = _dt.date(int(text[:4]), int(text[4:6]), int(text[6:]))
            hint = (f"; it looks like the date {ymd.isoformat()} written as YYYYMMDD: write "
                    f"{ymd.isoformat()}")
        except ValueError:
            pass
    return None, f"is not an {what}: day {text} would be after the year 2199{hint}" \
        if what.startswith("Excel") else \
        f"is not a {what}: day {text} would be after the year 2199{hint}"


def is_serial_text(s) -> bool:
    """Whether a text cell is a plain day number (``43831`` or ``43831.5``)."""
    return isinstance(s, str) and bool(_SERIAL_TEXT_RE.match(s.strip()))


def partial_date(s):
    """``(year, month or None)`` when a text is a partial date, else ``None``.

    Partial dates are a year (``2015``) or a year and month (``2015-03``, ``2015/3``,
    ``03/2015``).

    Examples
    --------
    >>> partial_date("2015-03"), partial_date("2015"), partial_date("3/2015"), partial_date("x")
    ((2015, 3), (2015, None), (2015, 3), None)
    """
    if isinstance(s, (int, np.integer)) and not isinstance(s, bool) and 1900 <= int(s) <= 2199:
        return int(s), None
    if isinstance(s, float) and s.is_integer() and 1900 <= s <= 2199:
        return int(s), None
    if not isinstance(s, str):
        return None
    t = s.strip()
    m = _PARTIAL_RE.match(t)
    if m:
        month = int(m[2]) if m[2] else None
    else:
        m2 = _PARTIAL_MY_RE.match(t)
        if not m2:
            return None
        m, month = (None, m2[2]), int(m2[1])
    year = int(m[1])
    if month is not None and not 1 <= month <= 12:
        return None
    return year, month


def impute_partial_date(year: int, month, policy: str) -> pd.Timestamp:
    """The day a partial date stands for under a policy.

    ``mid``: the 15th of the month, or 1 July for a year alone (the middle of the
    period, which halves the largest possible error); ``first``: the 1st of the month,
    or 1 January.

    Examples
    --------
    >>> str(impute_partial_date(2015, 3, "mid").date()), str(impute_partial_date(2015, None, "mid").date())
    ('2015-03-15', '2015-07-01')
    >>> str(impute_partial_date(2015, 3, "first").date())
    '2015-03-01'
    """
    if policy == "mid":
        return pd.Timestamp(year, month, 15) if month else pd.Timestamp(year, 7, 1)
    return pd.Timestamp(year, month or 1, 1)
