"""Load a patient table from CSV, Excel (.xlsx) or Parquet through one entry point.

Everything is read as text/objects first (CSV cells as text, Excel and Parquet
cells as the objects stored), so that nothing is coerced silently; each column
is then parsed with its dictionary type by :func:`aplcohort.cohort.validate.validate`
and every failure is collected into one report.

Every failure raises a subclass of :class:`aplcohort.errors.InputError`:
:class:`EmptyFileError`, :class:`NotATableError`, :class:`SheetNotFoundError`,
:class:`UnsupportedFormatError`, :class:`aplcohort.cohort.mapping.MappingError`,
:class:`aplcohort.errors.CohortValidationError` (the table broke validation
rules), and :class:`CohortFileNotFoundError`.
"""

from __future__ import annotations

import csv
import io as _io
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError  # noqa: F401 (documented base class)
from .mapping import load_mapping


class CohortLoadError(InputError):
    """A cohort file could not be read as a table."""


class CohortFileNotFoundError(CohortLoadError):
    """The file does not exist."""


class EmptyFileError(CohortLoadError):
    """The file is empty or has no data rows."""


class NotATableError(CohortLoadError):
    """The file is not a table of the format its name says (e.g. a PNG renamed .csv)."""


class SheetNotFoundError(CohortLoadError):
    """The requested Excel sheet does not exist."""


class UnsupportedFormatError(CohortLoadError):
    """The file format is not supported."""


class _SheetOnNonWorkbook(CohortLoadError):
    """A sheet name was given for a file that is not a workbook."""


_CSV_EXT = {".csv", ".tsv", ".txt"}
_XLSX_EXT = {".xlsx", ".xlsm"}
_PARQUET_EXT = {".parquet", ".pq"}
_MAGIC = {b"\x89PNG": "a PNG image", b"%PDF": "a PDF document", b"\xff\xd8\xff": "a JPEG image",
          b"GIF8": "a GIF image", b"PK\x03\x04": "a ZIP archive (an Excel .xlsx file?)",
          b"PAR1": "a Parquet file", b"\xd0\xcf\x11\xe0": "an old Excel .xls / OLE file"}


def _sniff_magic(head: bytes) -> str | None:
    for m, what in _MAGIC.items():
        if head.startswith(m):
            return what
    return None


def _read_csv(path: Path) -> tuple[pd.DataFrame, dict]:
    data = path.read_bytes()
    if not data.strip():
        raise EmptyFileError(f"{path}: the file is empty; expected a header row and one row per "
                             "patient")
    what = _sniff_magic(data[:8])
    if what is not None or b"\x00" in data[:8192]:
        raise NotATableError(f"{path}: this is not a text table (it looks like "
                             f"{what or 'a binary file'}); save the sheet as CSV (UTF-8), "
                             "or give the .xlsx/.parquet file itself")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise NotATableError(f"{path}: the file is not UTF-8 text (byte {exc.start}); save it as "
                             "'CSV UTF-8' from your spreadsheet program") from None
    sample = text[:20000]
    if path.suffix.lower() == ".tsv":
        delim = "\t"
    else:
        try:
            delim = csv.Sniffer().sniff(sample.splitlines()[0] if sample else "",
                                        delimiters=",;\t|").delimiter
        except csv.Error:
            delim = ","
    fast = _read_csv_fast(text, delim)
    if fast is not None:
        header, df, rows = fast
    else:
        header, df, rows = _read_csv_records(path, text, delim)
    # trailing separators give nameless, empty columns: drop only those
    blank = [i for i, h in enumerate(header)
             if h == "" and all(not str(v).strip() for v in df.iloc[:, i])]
    if blank:
        df = df.iloc[:, [i for i in range(len(header)) if i not in blank]]
    _check_header(path, df)
    return df, {"format": "csv", "delimiter": delim, "_rows": rows}


def _read_csv_fast(text: str, delim: str):
    """Read a regular, unquoted CSV text with pandas' C parser, every cell as text.

    Returns ``(header, DataFrame, spreadsheet rows)``, or ``None`` when the text has
    quotes or lone carriage returns, or is not regular (a line with more or fewer
    fields than the header): :func:`_read_csv_records` then reads it with the
    :mod:`csv` module and gives the precise message. Without quotes a line is a
    record, so fields are counted per line; both readers give the same table for
    such a text (tested).
    """
    if '"' in text or text.count("\r") != text.count("\r\n"):
        return None
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if not lines:
        return None
    nf = np.fromiter((ln.count(delim) for ln in lines), np.intp, len(lines)) + 1
    blank = np.fromiter((not ln.replace(delim, "").strip() for ln in lines), bool, len(lines))
    idx = np.flatnonzero(~blank)
    if not len(idx) or (nf[idx] != nf[idx[0]]).any():
        return None
    try:
        raw = pd.read_csv(_io.StringIO(text), sep=delim, header=None, dtype=str,
                          keep_default_na=False, na_filter=False, skip_blank_lines=False,
                          engine="c", quoting=csv.QUOTE_NONE)
    except (pd.errors.ParserError, ValueError, csv.Error):
        return None
    if raw.shape != (len(lines), int(nf[idx[0]])):
        return None
    arr = raw.to_numpy(dtype=object)
    header = [str(h).strip() for h in arr[idx[0]]]
    data_idx = idx[1:]
    df = pd.DataFrame({i: arr[data_idx, i] for i in range(arr.shape[1])}, dtype=object)
    df.columns = header
    return header, df.reset_index(drop=True), (data_idx + 1).tolist()


def _read_csv_records(path, text: str, delim: str):
    try:
        records = list(csv.reader(_io.StringIO(text), delimiter=delim))
    except csv.Error as exc:
        raise NotATableError(f"{path}: could not be read as a table ({exc})") from None
    lines = [(i + 1, r) for i, r in enumerate(records) if any(f.strip() for f in r)]
    if not lines:
        raise EmptyFileError(f"{path}: no columns found; expected a header row")
    header = [h.strip() for h in lines[0][1]]
    bad = [(ln, len(r)) for ln, r in lines[1:] if len(r) != len(header)]
    if bad:
        shown = ", ".join(f"line {ln} has {k}" for ln, k in bad[:10])
        sep = {",": "comma", ";": "semicolon", "\t": "tab", "|": "bar"}.get(delim, delim)
        raise NotATableError(
            f"{path}: the header has {len(header)} {sep}-separated fields but {shown}"
            f"{' (and more)' if len(bad) > 10 else ''}; a cell probably contains the separator "
            f"{delim!r} without quotes: quote such cells or save the sheet again as CSV")
    df = pd.DataFrame([r for _, r in lines[1:]], columns=header, dtype=object)
    if len(df) == 0:
        df = pd.DataFrame(columns=header, dtype=object)
    rows = [ln for ln, _ in lines[1:]]
    return header, df, rows


def _check_header(path, df):
    if df.shape[1] == 0:
        raise EmptyFileError(f"{path}: no columns found; expected a header row")
    if len(df) == 0:
        raise EmptyFileError(f"{path}: the table has a header ({', '.join(map(str, df.columns))}) "
                             "but no patient rows")
    unnamed = [str(c) for c in df.columns if str(c).startswith("Unnamed:") or str(c).strip() == ""]
    if unnamed and len(unnamed) == df.shape[1]:
        raise NotATableError(f"{path}: the first row has no column names; the first row must be "
                             "the header")


def _read_xlsx(path: Path, sheet) -> tuple[pd.DataFrame, dict]:
    head = path.read_bytes()[:8]
    if not head:
        raise EmptyFileError(f"{path}: the file is empty")
    if not head.startswith(b"PK\x03\x04"):
        what = _sniff_magic(head)
        raise NotATableError(f"{path}: this is not an Excel .xlsx workbook"
                             f"{' (it looks like ' + what + ')' if what else ''}")
    try:
        xl = pd.ExcelFile(path, engine="openpyxl")
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise NotATableError(f"{path}: could not be opened as an Excel workbook ({exc})") from None
    sheets = list(xl.sheet_names)
    if sheet is None:
        chosen = sheets[0]
    elif str(sheet) in sheets:
        chosen = str(sheet)
    else:
        raise SheetNotFoundError(f"{path}: no sheet named {sheet!r}; the workbook has: "
                                 f"{', '.join(repr(s) for s in sheets)}")
    try:
        df = xl.parse(chosen, dtype=object, header=0, na_filter=False)
    except ValueError as exc:
        raise NotATableError(f"{path}: sheet {chosen!r} could not be read ({exc})") from None
    # drop fully empty trailing rows/columns that spreadsheets carry
    df = df.loc[:, [not (str(c).startswith("Unnamed:") and
                         df[c].map(lambda v: v is None or str(v).strip() == "").all())
                    for c in df.columns]]
    if df.shape[1] == 0:
        raise EmptyFileError(f"{path}: sheet {chosen!r} is empty")
    empty_row = df.apply(lambda r: all(v is None or (isinstance(v, float) and v != v)
                                       or str(v).strip() == "" for v in r), axis=1)
    keep = ~empty_row
    rows = [i + 2 for i in range(len(df)) if keep.iloc[i]]
    df = df[keep.to_numpy()].reset_index(drop=True)
    _check_header(path, df)
    return df, {"format": "xlsx", "sheet": chosen, "sheets": sheets, "_rows": rows}


def _read_parquet(path: Path) -> tuple[pd.DataFrame, dict]:
    head = path.read_bytes()[:4]
    if not head:
        raise EmptyFileError(f"{path}: the file is empty")
    if head != b"PAR1":
        what = _sniff_magic(head)
        raise NotATableError(f"{path}: this is not a Parquet file"
                             f"{' (it looks like ' + what + ')' if what else ''}")
    try:
        df = pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises many types for corrupt files
        raise NotATableError(f"{path}: could not be read as Parquet ({type(exc).__name__}: "
                             f"{exc})") from None
    df = df.astype(object)
    _check_header(path, df)
    return df, {"format": "parquet"}


def read_table(path, sheet=None) -> tuple[pd.DataFrame, dict]:
    """Read a CSV/XLSX/Parquet file as an object table (no type coercion).

    Returns
    -------
    (DataFrame, dict)
        The raw table and source information (format, sheet, delimiter, ...).
    """
    p = Path(path)
    if not p.exists():
        raise CohortFileNotFoundError(f"file not found: {p}")
    if p.is_dir():
        raise CohortLoadError(f"{p} is a directory; give a .csv, .xlsx or .parquet file")
    ext = p.suffix.lower()
    if ext in _XLSX_EXT:
        df, info = _read_xlsx(p, sheet)
    elif ext in _PARQUET_EXT:
        df, info = _read_parquet(p)
    elif ext in _CSV_EXT:
        df, info = _read_csv(p)
    elif ext == ".xls":
        raise UnsupportedFormatError(f"{p}: old Excel .xls files are not supported; save the "
                                     "workbook as .xlsx")
    else:
        head = p.read_bytes()[:8]
        if head.startswith(b"PK\x03\x04"):
            df, info = _read_xlsx(p, sheet)
        elif head.startswith(b"PAR1"):
            df, info = _read_parquet(p)
        else:
            raise UnsupportedFormatError(f"{p}: unknown file type {ext or '(no extension)'}; "
                                         "use .csv, .xlsx or .parquet")
    if sheet is not None and info["format"] != "xlsx":
        raise _SheetOnNonWorkbook(f"{p}: sheet={sheet!r} was given but the file is {info['format']}, "
                         "not an Excel workbook")
    info["path"] = str(p)
    return df, info


def load(path, mapping=None, sheet=None):
    """Load, parse and validate a patient table.

    Parameters
    ----------
    path : str or Path
        ``.csv`` (comma, semicolon or tab separated, UTF-8), ``.xlsx`` or
        ``.parquet``.
    mapping : str, Path, dict or ColumnMapping, optional
        Column mapping (:mod:`aplcohort.cohort.mapping`).
    sheet : str, optional
        Excel sheet name (default: the mapping's ``sheet``, else the first
        sheet).

    Returns
    -------
    Cohort
        Canonical data, warnings (also emitted as ``DataQualityWarning``),
        attrition log and source information.

    Raises
    ------
    InputError subclasses
        ``CohortFileNotFoundError``, ``EmptyFileError``, ``NotATableError``,
        ``SheetNotFoundError``, ``UnsupportedFormatError``, ``MappingError``,
        ``CohortValidationError`` (message = the readable report).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "cohort.csv"
    >>> _ = p.write_text("patient_id,disease,last_followup_date\\nP1,M3,2020-01-31\\n")
    >>> c = load(p)
    >>> c.n, c.data["disease"].tolist()
    (1, ['APL'])

    Validated against: the same cohort saved as CSV, XLSX and Parquet loads to
    identical data (tests/test_cohort_io.py).
    """
    from .cohort import _build_cohort

    m = load_mapping(mapping)
    explicit = sheet is not None
    if sheet is None and m is not None:
        sheet = m.sheet
    try:
        df, info = read_table(path, sheet=sheet)
    except _SheetOnNonWorkbook:
        if explicit:
            raise
        df, info = read_table(path)  # a mapping's sheet only applies to workbooks
    rows = info.pop("_rows", None)
    return _build_cohort(df, m, source=info, row_numbers=rows)
