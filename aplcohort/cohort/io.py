"""Load a patient table from any source through one entry point.

CSV (any common encoding, :mod:`aplcohort.cohort.encoding`), Excel (.xlsx), Parquet,
SPSS/Stata/SAS (:mod:`aplcohort.cohort.sources.statfiles`), a REDCap export
(:mod:`aplcohort.cohort.redcap`), DuckDB/PostgreSQL (:mod:`aplcohort.cohort.sql`) or
a DataFrame (docs/data_sources.md).

Everything is read as text/objects first (CSV cells as text, typed formats' cells
as the objects stored), so that nothing is coerced silently; each column is then
parsed with its dictionary type by :func:`aplcohort.cohort.validate.validate` and
every failure is collected into one report: the same path for every source.

Every failure raises a subclass of :class:`aplcohort.errors.InputError`:
:class:`EmptyFileError`, :class:`NotATableError`, :class:`SheetNotFoundError`,
:class:`UnsupportedFormatError`, :class:`aplcohort.cohort.mapping.MappingError`,
:class:`aplcohort.errors.CohortValidationError` (the table broke validation
rules), and :class:`CohortFileNotFoundError`.
"""

from __future__ import annotations

import csv
import io as _io
import os
import re
import stat
import warnings as _warnings
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError  # noqa: F401 (documented base class)
from .encoding import _utf16_without_bom, decode_bytes
from .mapping import load_mapping
from .types import SourceRows, header_key


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


class SheetChoiceError(SheetNotFoundError):
    """A workbook has several visible sheets and no sheet was named."""


class WorkbookCellError(CohortLoadError):
    """Workbook cells that cannot be read as data (formula without value, error value, merge)."""


class WorkbookTooLargeError(CohortLoadError):
    """A workbook decompresses to more than the allowed size."""


class DuplicateColumnError(CohortLoadError):
    """Two columns of a file have the same name."""


class NotARegularFileError(CohortLoadError):
    """The input is a named pipe, device or socket, not a file."""


class HeaderRowError(CohortLoadError):
    """The header row is not where it was taken from (a title row above it), or
    ``header_row`` names a row that cannot be the header."""


class _SheetOnNonWorkbook(CohortLoadError):
    """A sheet name was given for a file that is not a workbook."""


_CSV_EXT = {".csv", ".tsv", ".txt"}
_XLSX_EXT = {".xlsx", ".xlsm"}
_PARQUET_EXT = {".parquet", ".pq"}
_MAGIC = {b"\x89PNG": "a PNG image", b"%PDF": "a PDF document", b"\xff\xd8\xff": "a JPEG image",
          b"GIF8": "a GIF image", b"PK\x03\x04": "a ZIP archive (an Excel .xlsx file?)",
          b"PAR1": "a Parquet file", b"\xd0\xcf\x11\xe0": "an old Excel .xls / OLE file"}


def _os_reason(exc: OSError) -> str:
    """The reason of an OS error in words ("permission denied", "input/output error")."""
    if isinstance(exc, PermissionError):
        return "permission denied"
    return (exc.strerror or str(exc)).lower()


def _sniff_magic(head: bytes) -> str | None:
    for m, what in _MAGIC.items():
        if head.startswith(m):
            return what
    return None


def _read_csv(path: Path, encoding: str | None = None, header_row: int | None = None
              ) -> tuple[pd.DataFrame, dict]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CohortLoadError(f"{path}: cannot be read ({_os_reason(exc)})") from None
    if not data.strip():
        raise EmptyFileError(f"{path}: the file is empty; expected a header row and one row per "
                             "patient")
    what = _sniff_magic(data[:8])
    utf16 = data[:2] in (b"\xff\xfe", b"\xfe\xff") or (
        encoding is not None and "16" in str(encoding)) or _utf16_without_bom(data[:4096]) is not None
    if what is not None or (b"\x00" in data[:8192] and not utf16):
        raise NotATableError(f"{path}: this is not a text table (it looks like "
                             f"{what or 'a binary file'}); save the sheet as CSV (UTF-8), "
                             "or give the .xlsx/.parquet file itself")
    text, enc = decode_bytes(data, encoding, where=str(path))
    del data  # memory: the text is all that is needed from here
    sample = text[:20000]
    if path.suffix.lower() == ".tsv":
        delim = "\t"
    else:
        first = sample.splitlines()[(header_row or 1) - 1:][:1] if sample else []
        try:
            delim = csv.Sniffer().sniff(first[0] if first else "",
                                        delimiters=",;\t|").delimiter
        except csv.Error:
            delim = ","
    fast = _read_csv_fast(text, delim, header_row, where=str(path))
    if fast is not None:
        header, df, rows = fast
    else:
        header, df, rows = _read_csv_records(path, text, delim, header_row)
    # trailing separators give nameless, empty columns: drop only those
    blank = [i for i, h in enumerate(header)
             if h == "" and all(not str(v).strip() for v in df.iloc[:, i])]
    if blank:
        df = df.iloc[:, [i for i in range(len(header)) if i not in blank]]
    _check_duplicate_headers(path, header)
    _check_header(path, df)
    if header_row is None:
        header_row, start = 1, 0  # the first line with content (no copy of the text)
        while start < len(text):
            end = text.find("\n", start)
            end = len(text) if end < 0 else end
            if text[start:end].replace(delim, "").strip():
                break
            header_row, start = header_row + 1, end + 1
        notes = []
    else:
        notes = [f"{path}: {_rows_text(list(range(1, header_row)))} above the header "
                 f"(row {header_row}, header_row) not read"] if header_row > 1 else []
    info = {"format": "csv", "delimiter": delim, "_rows": rows, **enc,
            "header_row": header_row, "source_notes": notes}
    return df, info



def _read_csv_fast(text: str, delim: str, header_row: int | None = None, where=None):
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
    if header_row is not None:
        if header_row > len(lines) or blank[header_row - 1]:
            return None  # the record reader says what is wrong
        blank[:header_row - 1] = True  # the lines above the header are not read
    n_lines = len(lines)
    del lines  # memory: a million line strings
    idx = np.flatnonzero(~blank)
    if not len(idx) or (nf[idx] != nf[idx[0]]).any():
        return None
    try:
        # categories: a column of a million cells holds a few thousand distinct texts,
        # stored once each (memory), and the validator parses each once (time)
        raw = pd.read_csv(_io.StringIO(text), sep=delim, header=None, dtype="category",
                          keep_default_na=False, na_filter=False, skip_blank_lines=False,
                          engine="c", quoting=csv.QUOTE_NONE)
    except (pd.errors.ParserError, ValueError, csv.Error):
        return None
    if raw.shape != (n_lines, int(nf[idx[0]])):
        return None
    if header_row is None and where is not None:
        first = [[str(v).strip() for v in raw.iloc[i].tolist()] for i in idx[:31]]
        _check_title_row(where, [(int(i) + 1, [bool(v) for v in r], [v for v in r if v])
                                 for i, r in zip(idx[:31], first)], "--header-row")
    header = [str(h).strip() for h in raw.iloc[idx[0]].tolist()]
    data_idx = idx[1:]
    df = raw.iloc[data_idx] if len(data_idx) < n_lines - 1 else raw.iloc[1:]
    df = df.reset_index(drop=True)
    df.columns = header
    for k in range(df.shape[1]):  # drop the header text from each column's categories
        df.isetitem(k, df.iloc[:, k].cat.remove_unused_categories())
    return header, df, (data_idx + 1).tolist()


def _read_csv_records(path, text: str, delim: str, header_row: int | None = None):
    try:
        records = list(csv.reader(_io.StringIO(text), delimiter=delim))
    except csv.Error as exc:
        raise NotATableError(f"{path}: could not be read as a table ({exc})") from None
    lines = [(i + 1, r) for i, r in enumerate(records) if any(f.strip() for f in r)]
    if not lines:
        raise EmptyFileError(f"{path}: no columns found; expected a header row")
    if header_row is not None:
        if lines[-1][0] < header_row or not any(ln == header_row for ln, _ in lines):
            raise HeaderRowError(
                f"{path}: header_row: {header_row} names "
                + ("an empty row" if header_row <= lines[-1][0] else
                   f"a row after the last row with content (row {lines[-1][0]})")
                + "; give the row that holds the column names")
        lines = [(ln, r) for ln, r in lines if ln >= header_row]
    else:
        _check_title_row(str(path), [(ln, [bool(f.strip()) for f in r],
                                      [f.strip() for f in r if f.strip()])
                                     for ln, r in lines[:31]], "--header-row")
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


#: Default limit on the decompressed size of an .xlsx workbook (sum of its zip members,
#: checked before anything is decompressed). ``read_table``/``load`` take
#: ``max_uncompressed_bytes`` to change it.
MAX_XLSX_UNCOMPRESSED_BYTES = 512 * 2**20

_PATIENT_HEADER_KEYS = {"patientid", "patient", "pid", "id", "ptid", "ptno"}


def _col_letter(k: int) -> str:
    from openpyxl.utils import get_column_letter
    return get_column_letter(k)


def _check_zip_size(path: Path, limit: int) -> None:
    # The declared sizes bound what can be decompressed: zipfile never returns more than
    # a member's declared size (a member that inflates further fails its CRC check), so
    # checking the directory before opening is enough, and costs nothing.
    try:
        with zipfile.ZipFile(path) as zf:
            total = sum(i.file_size for i in zf.infolist())
    except (zipfile.BadZipFile, OSError) as exc:
        raise NotATableError(f"{path}: could not be opened as an Excel workbook ({exc})") from None
    if total > limit:
        raise WorkbookTooLargeError(
            f"{path}: the workbook decompresses to {total / 2**20:,.0f} MiB, more than the limit "
            f"of {limit / 2**20:,.0f} MiB; a patient table is far smaller, so the file is "
            "probably not what it seems (or holds images/other sheets): save the patient sheet "
            "alone as .xlsx or CSV, or raise the limit with max_uncompressed_bytes=")


def _read_xlsx(path: Path, sheet, max_uncompressed_bytes: int | None = None,
               header_row: int | None = None) -> tuple[pd.DataFrame, dict]:
    """Read one sheet with openpyxl, knowing every cell: values, formulas, errors, merges.

    Errors (never an empty cell in their place): a formula without a cached value, an
    error value (``#DIV/0!``, ``#N/A``, ...), a merged range in the table; each names
    the sheet, the cell (e.g. ``D7``), the column and the patient. Hidden sheets are
    never chosen by default; several visible sheets and no ``sheet`` is an error listing
    them. Rows are the sheet's own row numbers.
    """
    with open(path, "rb") as fh:
        head = fh.read(8)
    if not head:
        raise EmptyFileError(f"{path}: the file is empty")
    if not head.startswith(b"PK\x03\x04"):
        what = _sniff_magic(head)
        raise NotATableError(f"{path}: this is not an Excel .xlsx workbook"
                             f"{' (it looks like ' + what + ')' if what else ''}")
    limit = MAX_XLSX_UNCOMPRESSED_BYTES if max_uncompressed_bytes is None \
        else int(max_uncompressed_bytes)
    _check_zip_size(path, limit)
    import openpyxl
    try:
        with _warnings.catch_warnings():
            _warnings.simplefilter("ignore", UserWarning)  # openpyxl style/extension notes
            wb_v = openpyxl.load_workbook(path, data_only=True)
    except Exception as exc:  # openpyxl raises many types (zip, XML, its own) for bad files
        raise NotATableError(f"{path}: could not be opened as an Excel workbook "
                             f"({type(exc).__name__}: {exc})") from None
    sheets = list(wb_v.sheetnames)
    states = {n: wb_v[n].sheet_state for n in sheets}
    visible = [n for n in sheets if states[n] == "visible"]
    if sheet is None:
        if len(visible) == 1:
            chosen = visible[0]
        elif not visible:
            raise SheetNotFoundError(f"{path}: the workbook has no visible sheet")
        else:
            hidden = [n for n in sheets if n not in visible]
            raise SheetChoiceError(
                f"{path}: the workbook has {len(visible)} visible sheets "
                f"({', '.join(repr(n) for n in visible)}); say which one holds the patients "
                "(--sheet NAME, sheet=, or 'sheet:' in the mapping or plan)"
                + (f"; hidden sheets, never read unless named: "
                   f"{', '.join(repr(n) for n in hidden)}" if hidden else ""))
    elif str(sheet) in sheets:
        chosen = str(sheet)
    else:
        shown = ", ".join(repr(n) + ("" if states[n] == "visible" else f" ({states[n]})")
                          for n in sheets)
        hint = ("; a sheet is named, not numbered (a number is read as a name, for a sheet "
                "named e.g. 2019)" if str(sheet).strip().isdigit() else "")
        raise SheetNotFoundError(f"{path}: no sheet named {str(sheet)!r}{hint}; the workbook "
                                 f"has: {shown}")
    ws_v = wb_v[chosen]
    # formulas (and whether Excel stored their value) need the workbook read a second
    # time without data_only; read-only mode streams it
    formulas = {}
    try:
        with _warnings.catch_warnings():
            _warnings.simplefilter("ignore", UserWarning)
            wb_f = openpyxl.load_workbook(path, data_only=False, read_only=True)
        try:
            for frow in wb_f[chosen].iter_rows():
                for fc in frow:
                    if getattr(fc, "data_type", None) == "f":
                        formulas[(fc.row, fc.column)] = fc.value
        finally:
            wb_f.close()
    except Exception as exc:  # as above: many exception types for a damaged file
        raise NotATableError(f"{path}: could not be opened as an Excel workbook "
                             f"({type(exc).__name__}: {exc})") from None
    grid = [list(r) for r in ws_v.iter_rows()]
    # the header is the first row with any content, or the row `header_row` names
    def blank(v):
        return v is None or (isinstance(v, str) and not v.strip())
    content = [i for i, r in enumerate(grid) if any(not blank(c.value) for c in r)]
    if not content:
        raise EmptyFileError(f"{path}: sheet {chosen!r} is empty")
    width = max(len(r) for r in grid)
    where = f"{path}: sheet {chosen!r}"
    skipped_above: list[int] = []
    if header_row is None:
        _check_title_row(where, [(grid[i][0].row, [not blank(c.value) for c in grid[i]],
                                  [_as_cell_text(c.value) for c in grid[i] if not blank(c.value)])
                                 for i in content[:31]], "--header-row")
    else:
        pos = next((j for j, i in enumerate(content) if grid[i][0].row == header_row), None)
        if pos is None:
            last = grid[content[-1]][0].row
            raise HeaderRowError(
                f"{where}: header_row: {header_row} names "
                + ("an empty row" if header_row <= last else
                   f"a row after the last row with content (row {last})")
                + "; give the row that holds the column names")
        skipped_above = list(range(1, header_row))
        content = content[pos:]
    h = content[0]
    hdr_cells = grid[h] + [None] * (width - len(grid[h]))
    header = ["" if c is None or blank(c.value) else _header_text(c.value) for c in hdr_cells]
    hdr_row = grid[h][0].row
    pid_col = next((k for k, name in enumerate(header)
                    if re.sub(r"[\s_\-]+", "", name.casefold()) in _PATIENT_HEADER_KEYS), None)

    def who(r_idx):
        if pid_col is None or r_idx is None:
            return ""
        if r_idx == h:  # the header row names no patient
            return ", header row"
        r = grid[r_idx]
        v = r[pid_col].value if pid_col < len(r) else None
        return "" if blank(v) else f", patient {_as_cell_text(v)}"

    row_of = {grid[i][0].row: i for i in content if grid[i]}
    problems = []
    for rng in ws_v.merged_cells.ranges:
        if rng.max_row < hdr_row or rng.size["rows"] * rng.size["columns"] <= 1:
            continue
        cols = ", ".join(header[k - 1] or _col_letter(k)
                         for k in range(rng.min_col, rng.max_col + 1) if k - 1 < len(header))
        first = row_of.get(rng.min_row)
        problems.append(
            f"sheet {chosen!r}, cells {rng.coord} (column {cols}{who(first)}): the cells are "
            "merged, so all but the first are empty; unmerge them and fill in every cell")
    keep_rows = []
    for i in content[1:]:
        for c in grid[i]:
            if c.data_type == "e":
                problems.append(
                    f"sheet {chosen!r}, cell {c.coordinate} (column "
                    f"{header[c.column - 1] if c.column - 1 < len(header) else ''}{who(i)}): "
                    f"the error value {c.value} is not data; correct the formula or type the "
                    "value (leave the cell empty if it is unknown)")
                continue
            if c.value is None and (c.row, c.column) in formulas:
                col = header[c.column - 1] if c.column - 1 < len(header) else ""
                problems.append(
                    f"sheet {chosen!r}, cell {c.coordinate} (column {col}{who(i)}): the formula "
                    f"{formulas[(c.row, c.column)]} has no stored value (the file was written by "
                    "a program that does not calculate); open and save it in Excel or "
                    "LibreOffice, or type the value")
        keep_rows.append(i)
    for c in hdr_cells:
        if c is not None and c.data_type == "e":
            problems.append(f"sheet {chosen!r}, cell {c.coordinate}: the header holds the "
                            f"error value {c.value}; type the column name")
        elif c is not None and c.value is None and (c.row, c.column) in formulas:
            problems.append(f"sheet {chosen!r}, cell {c.coordinate}: the header is the formula "
                            f"{formulas[(c.row, c.column)]} without a stored value; type the "
                            "column name")
    if problems:
        raise WorkbookCellError(
            f"{path}: {len(problems)} cell(s) of sheet {chosen!r} cannot be read as data "
            "(nothing is read as empty in their place):\n"
            + "\n".join(f"  - {p}" for p in problems))
    data = {k: [] for k in range(width)}
    for i in keep_rows:
        r = grid[i]
        for k in range(width):
            v = r[k].value if k < len(r) else None
            data[k].append(v)
    df = pd.DataFrame({k: pd.Series(v, dtype=object) for k, v in data.items()})
    df.columns = header
    nameless_empty = [k for k, name in enumerate(header)
                      if name == "" and all(blank(v) for v in data[k])]
    if nameless_empty:
        df = df.iloc[:, [k for k in range(width) if k not in nameless_empty]]
    rows = [grid[i][0].row for i in keep_rows]
    _check_duplicate_headers(path, list(df.columns), sheet=chosen)
    _check_header(path, df)
    import datetime as _dtm
    # the workbook's date system, for numbers in date columns (Excel serial dates)
    df.attrs["excel_date_system"] = ("1904" if getattr(wb_v, "epoch", None) ==
                                     _dtm.datetime(1904, 1, 1) else "1900")
    notes = []
    if skipped_above:
        notes.append(f"{where}: {_rows_text(skipped_above)} above the header (row {hdr_row}, "
                     "header_row) not read")
    notes += _hidden_notes(ws_v, where, grid, h, keep_rows, width, header, nameless_empty, who)
    return df, {"format": "xlsx", "sheet": chosen, "sheets": sheets,
                "hidden_sheets": [n for n in sheets if n not in visible], "_rows": rows,
                "header_row": hdr_row, "source_notes": notes}


def _hidden_notes(ws, where, grid, h, keep_rows, width, header, nameless_empty, who):
    """Notes naming the hidden rows and columns of the table that were read as data.

    Hiding a row in Excel does not exclude the patient: the row is read like any
    other, and the note says so (with the patient id when the table has one).
    """
    notes = []
    rdims = ws.row_dimensions
    hidden_rows = [i for i in [h, *keep_rows]
                   if grid[i] and grid[i][0].row in rdims and rdims[grid[i][0].row].hidden]
    if hidden_rows:
        shown = [f"row {grid[i][0].row}{who(i).replace(', ', ' (', 1) + ')' if who(i) else ''}"
                 for i in hidden_rows[:20]]
        more = f" and {len(hidden_rows) - 20} more" if len(hidden_rows) > 20 else ""
        notes.append(f"{where}: {len(hidden_rows)} row(s) hidden in Excel read as data "
                     f"(hiding a row does not exclude it; delete the row, or exclude the patient "
                     f"with a filter, to leave it out): {', '.join(shown)}{more}")
    hidden_cols = set()
    for dim in ws.column_dimensions.values():
        if getattr(dim, "hidden", False) and dim.min is not None:
            hidden_cols.update(range(int(dim.min), int(dim.max or dim.min) + 1))
    cols = [k for k in range(width) if k + 1 in hidden_cols and k not in nameless_empty]
    if cols:
        shown = ", ".join(f"{_col_letter(k + 1)} ({header[k]!r})" if header[k] else
                          _col_letter(k + 1) for k in cols)
        notes.append(f"{where}: {len(cols)} column(s) hidden in Excel read as data: {shown}")
    return notes


_NUMBER_WORDS = {1: "one", 2: "two"}


def _check_title_row(where: str, rows: list, cli_opt: str | None) -> None:
    """Refuse a title row taken as the header, naming the row that looks like the header.

    ``rows`` lists the first non-empty rows as ``(row number, [cell non-empty?], [texts of
    the non-empty cells])``. The first row is a title (not the header) when it has one or
    two non-empty cells and a later row has at least three, two or more of them in columns
    where the first row is empty: read that way, those columns would have no name.
    """
    if len(rows) < 2:
        return
    r0, mask0, texts0 = rows[0]
    n0 = sum(mask0)
    if n0 > 2:
        return
    for rk, mask, texts in rows[1:30]:
        nk = sum(mask)
        under_blank = sum(1 for j, m in enumerate(mask) if m and not (j < len(mask0) and mask0[j]))
        if nk >= 3 and nk > n0 and under_blank >= 2:
            shown = ", ".join(repr(t) for t in texts[:4]) + (", ..." if nk > 4 else "")
            opt = f", or {cli_opt} {rk}" if cli_opt else ""
            raise HeaderRowError(
                f"{where}: the header was taken from row {r0}, the first row that is not "
                f"empty, which has {_NUMBER_WORDS[n0]} non-empty cell{'s' if n0 > 1 else ''} "
                f"({', '.join(repr(t) for t in texts0)}); is the header on row {rk} ({nk} "
                f"non-empty cells: {shown})? delete the title row(s) above the header, or set "
                f"header_row: {rk} (in the mapping or the plan's data:{opt})")


def _rows_text(rows: list[int]) -> str:
    """``row 1``, ``rows 1-2``, ``rows 1, 4``."""
    if len(rows) == 1:
        return f"row {rows[0]}"
    if rows == list(range(rows[0], rows[-1] + 1)):
        return f"rows {rows[0]}-{rows[-1]}"
    return "rows " + ", ".join(map(str, rows))


def _header_text(v) -> str:
    return _as_cell_text(v)


def _as_cell_text(v) -> str:
    from .types import as_text
    return as_text(v)


def _check_duplicate_headers(path, header, sheet=None) -> None:
    """Two columns with the same name (ignoring case, spaces and line breaks) are an error."""
    groups: dict = {}
    for k, name in enumerate(header):
        if str(name) == "":
            continue
        groups.setdefault(header_key(name), []).append(k)
    dups = [ks for ks in groups.values() if len(ks) > 1]
    if not dups:
        return
    where = f"sheet {sheet!r} of " if sheet else ""

    def pos(k):
        return f"column {_col_letter(k + 1)}" if sheet else f"field {k + 1}"

    shown = "; ".join(" and ".join(f"{header[k]!r} ({pos(k)})" for k in ks) for ks in dups)
    raise DuplicateColumnError(
        f"{where}{path}: duplicate column names: {shown}; every column needs its own name "
        "(names that differ only in case, spaces or line breaks count as the same): rename or "
        "delete the extra columns")


def _read_parquet(path: Path) -> tuple[pd.DataFrame, dict]:
    with open(path, "rb") as fh:
        head = fh.read(4)
    if not head:
        raise EmptyFileError(f"{path}: the file is empty")
    if head != b"PAR1":
        what = _sniff_magic(head)
        raise NotATableError(f"{path}: this is not a Parquet file"
                             f"{' (it looks like ' + what + ')' if what else ''}")
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise UnsupportedFormatError(
            f"{path}: reading Parquet needs the optional pyarrow package; install it with "
            "pip install \"aplcohort[parquet]\" (or save the table as CSV or XLSX)") from None
    try:
        names = list(pq.read_schema(path).names)
    except Exception as exc:  # pyarrow raises many types for corrupt files
        raise NotATableError(f"{path}: could not be read as Parquet ({type(exc).__name__}: "
                             f"{exc})") from None
    names = [n for n in names if n != "__index_level_0__"]
    _check_duplicate_headers(path, names)
    try:
        df = pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises many types for corrupt files
        raise NotATableError(f"{path}: could not be read as Parquet ({type(exc).__name__}: "
                             f"{exc})") from None
    df = df.astype(object)
    _check_header(path, df)
    return df, {"format": "parquet"}


def _read_by_format(p: Path, sheet, max_uncompressed_bytes, encoding=None, header_row=None):
    from .sources.statfiles import EXTENSIONS as _STATS_EXT
    from .sources.statfiles import read_stats_file
    ext = p.suffix.lower()
    if encoding is not None and ext not in _CSV_EXT and ext not in _STATS_EXT:
        raise _SheetOnNonWorkbook(f"{p}: encoding={encoding!r} was given but the file is not "
                                  "a text (CSV) file; only CSV, SPSS, Stata and SAS files "
                                  "have an encoding")
    if ext in _STATS_EXT:
        header_row = _header_row_misplaced(p, header_row)
        df, info = read_stats_file(p, encoding=encoding)
    elif ext in _XLSX_EXT:
        df, info = _read_xlsx(p, sheet, max_uncompressed_bytes, header_row)
    elif ext in _PARQUET_EXT:
        header_row = _header_row_misplaced(p, header_row)
        df, info = _read_parquet(p)
    elif ext in _CSV_EXT:
        df, info = _read_csv(p, encoding, header_row)
    elif ext == ".xls":
        raise UnsupportedFormatError(f"{p}: old Excel .xls files are not supported; save the "
                                     "workbook as .xlsx")
    else:
        with open(p, "rb") as fh:
            head = fh.read(8)
        if head.startswith(b"PK\x03\x04"):
            df, info = _read_xlsx(p, sheet, max_uncompressed_bytes, header_row)
        elif head.startswith(b"PAR1"):
            header_row = _header_row_misplaced(p, header_row)
            df, info = _read_parquet(p)
        else:
            raise UnsupportedFormatError(f"{p}: unknown file type {ext or '(no extension)'}; "
                                         "use .csv, .xlsx, .parquet, .sav, .dta, .sas7bdat or "
                                         ".xpt, or a database URL (duckdb:///file.duckdb)")
    return df, info


def _header_row_misplaced(p, header_row):
    if header_row is not None:
        raise _SheetOnNonWorkbook(f"{p}: header_row={header_row} was given but the file is not a "
                                  "CSV or an Excel workbook; only those have a header row to "
                                  "choose")
    return None


def check_header_row(value, where: str = "header_row"):
    """``None`` or a row number from 1 (an integer, checked by :func:`check_int`)."""
    from .._checks import check_int
    return check_int(where, value, minimum=1, allow_none=True)


def read_table(path, sheet=None, *, max_uncompressed_bytes: int | None = None,
               encoding: str | None = None, query: str | None = None,
               table: str | None = None, header_row: int | None = None
               ) -> tuple[pd.DataFrame, dict]:
    """Read a table from any source as an object table (no type coercion).

    Parameters
    ----------
    path : str or Path
        A regular file (a named pipe or device is refused, never read): CSV, XLSX,
        Parquet, SPSS ``.sav``, Stata ``.dta``, SAS ``.sas7bdat``/``.xpt``; or a
        database URL (``duckdb:///file.duckdb``, ``postgresql:///dbname``) with
        ``query=`` or ``table=`` (:mod:`aplcohort.cohort.sql`).
    encoding : str, optional
        Text encoding of a CSV (default: detected, :mod:`aplcohort.cohort.encoding`)
        or of an old SPSS/Stata/SAS file.
    query, table : str, optional
        For a database URL: one read-only SELECT, or a table name.
    sheet : str, optional
        Excel sheet name (an integer is read as a name, not a position); required
        when a workbook has several visible sheets. Hidden sheets are read only
        when named.
    header_row : int, optional
        Row (from 1) of a CSV or Excel sheet that holds the column names; the rows
        above it are not read (a note says so). Default: the first row that is not
        empty; a title row there (one or two cells above the real header) is an
        error naming the row that looks like the header.
    max_uncompressed_bytes : int, optional
        Limit on the decompressed size of an .xlsx workbook (default
        :data:`MAX_XLSX_UNCOMPRESSED_BYTES`), checked before decompressing.

    Returns
    -------
    (DataFrame, dict)
        The raw table and source information (format, sheet, delimiter, ...). The
        spreadsheet row of each data row is also in ``DataFrame.attrs["source_rows"]``.
        Cells are the texts or objects stored, never converted; a CSV read by the
        fast reader holds its texts as pandas categoricals (each distinct text stored
        once).

    Raises
    ------
    CohortLoadError subclasses
        Missing, non-regular or unreadable file; duplicate column names (every
        format); workbook cells that cannot be read as data; too-large workbook.
    """
    from .sql import is_database_url, read_sql
    if is_database_url(path):
        if sheet is not None or encoding is not None or header_row is not None:
            raise _SheetOnNonWorkbook(f"{path}: sheet=, encoding= and header_row= do not apply "
                                      "to a database")
        df, info = read_sql(path, query=query, table=table)
        from .sql import _safe
        info["path"] = _safe(path)
        df.attrs["source_rows"] = SourceRows(range(2, len(df) + 2))
        return df, info
    if query is not None or table is not None:
        raise CohortLoadError(f"{path}: query= and table= are for a database URL "
                              "(duckdb:///file.duckdb, postgresql:///dbname), not a file")
    p = Path(path)
    if not p.exists():
        raise CohortFileNotFoundError(f"file not found: {p}")
    if p.is_dir():
        raise CohortLoadError(f"{p} is a directory; give a .csv, .xlsx or .parquet file")
    try:
        mode = os.stat(p).st_mode
    except OSError as exc:
        raise CohortLoadError(f"{p}: cannot be read ({_os_reason(exc)})") from None
    if not stat.S_ISREG(mode):
        kind = ("a named pipe (FIFO)" if stat.S_ISFIFO(mode) else "a socket" if
                stat.S_ISSOCK(mode) else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
                else "not a regular file")
        raise NotARegularFileError(f"{p} is {kind}, not a regular file; save the table to a "
                                   ".csv, .xlsx or .parquet file and give that file")
    if not os.access(p, os.R_OK):
        raise CohortLoadError(f"{p}: permission denied; the file cannot be read")
    try:
        df, info = _read_by_format(p, sheet, max_uncompressed_bytes, encoding,
                                   check_header_row(header_row))
    except OSError as exc:  # a read that fails half-way (permissions, I/O error, ...)
        raise CohortLoadError(f"{p}: cannot be read ({_os_reason(exc)})") from None
    if sheet is not None and info["format"] != "xlsx":
        raise _SheetOnNonWorkbook(f"{p}: sheet={sheet!r} was given but the file is {info['format']}, "
                         "not an Excel workbook")
    info["path"] = str(p)
    rows = info.get("_rows")
    if info.get("header_row") is not None:
        df.attrs["header_row"] = int(info["header_row"])
    df.attrs["source_rows"] = SourceRows(int(r) for r in (rows if rows is not None else
                                                         range(2, len(df) + 2)))
    return df, info


def load(path, mapping=None, sheet=None, *, max_uncompressed_bytes: int | None = None,
         encoding: str | None = None, query: str | None = None, table: str | None = None,
         redcap_dictionary=None, header_row: int | None = None):
    """Load, parse and validate a patient table from any source.

    Every source returns the same raw table (texts, or typed cells where the format
    is typed) to the same validation: messages, missing tokens and typing are the
    same whatever the source (docs/data_sources.md).

    Parameters
    ----------
    path : str, Path or DataFrame
        ``.csv`` (comma, semicolon or tab separated; UTF-8 with or without BOM,
        UTF-16, CP949/EUC-KR, Latin-1, detected or given), ``.xlsx``,
        ``.parquet``, SPSS ``.sav``, Stata ``.dta``, SAS ``.sas7bdat``/``.xpt``, a
        REDCap raw export CSV (with ``redcap_dictionary``), a database URL
        (``duckdb:///file.duckdb``, ``postgresql:///dbname``), or a DataFrame.
    encoding : str, optional
        Text encoding of a CSV (default: the mapping's ``encoding``, else detected;
        what was used is in ``Cohort.source["encoding"]`` and the notes).
    query, table : str, optional
        For a database URL: one read-only SELECT, or a table name (default: the
        mapping's ``query``/``table``).
    redcap_dictionary : str or Path, optional
        The REDCap project's Data Dictionary CSV: ``path`` is then read as a REDCap
        raw export (:mod:`aplcohort.cohort.redcap`).
    mapping : str, Path, dict or ColumnMapping, optional
        Column mapping (:mod:`aplcohort.cohort.mapping`).
    sheet : str, optional
        Excel sheet name (default: the mapping's ``sheet``, else the only visible
        sheet; several visible sheets without a name is an error listing them).
        An integer is read as a sheet name, not a position.
    header_row : int, optional
        Row (from 1) of a CSV or Excel sheet that holds the column names (default:
        the mapping's ``header_row``, else the first row that is not empty; a title
        row there is an error that names the row that looks like the header).
        Recorded in ``Cohort.source["header_row"]``.
    max_uncompressed_bytes : int, optional
        Limit on the decompressed size of an .xlsx workbook
        (default :data:`MAX_XLSX_UNCOMPRESSED_BYTES`).

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
    if isinstance(path, pd.DataFrame):
        given = [k for k, v in (("sheet", sheet), ("encoding", encoding), ("query", query),
                                ("table", table), ("redcap_dictionary", redcap_dictionary),
                                ("header_row", header_row))
                 if v is not None]
        if given:
            raise CohortLoadError(f"load(DataFrame): {', '.join(given)} do(es) not apply to a "
                                  "DataFrame (it is already a table)")
        from .cohort import from_dataframe
        return from_dataframe(path, m)
    header_row = check_header_row(header_row)
    explicit_hr = header_row is not None
    explicit = sheet is not None or explicit_hr
    explicit_enc = encoding is not None
    if sheet is None and m is not None:
        sheet = m.sheet
    if header_row is None and m is not None:
        header_row = m.header_row
    if m is not None:
        encoding = encoding if encoding is not None else m.encoding
        if query is None and table is None:
            query, table = m.query, m.table
        if redcap_dictionary is None and m.redcap_dictionary is not None:
            redcap_dictionary = m.redcap_dictionary
            if m.source != "dict" and not Path(redcap_dictionary).is_absolute():
                redcap_dictionary = Path(m.source).parent / redcap_dictionary
    if redcap_dictionary is not None:
        if explicit_hr:
            raise _SheetOnNonWorkbook(f"{path}: header_row= does not apply to a REDCap export "
                                      "(its first row is always the header)")
        from .redcap import read_redcap
        df, info = read_redcap(path, redcap_dictionary, encoding=encoding)
    else:
        kw = dict(max_uncompressed_bytes=max_uncompressed_bytes, encoding=encoding,
                  query=query, table=table, header_row=header_row)
        try:
            df, info = read_table(path, sheet=sheet, **kw)
        except _SheetOnNonWorkbook:
            if explicit or explicit_enc:
                raise
            # a mapping's sheet (or encoding) only applies to the formats that have one
            kw["encoding"] = kw["header_row"] = None
            df, info = read_table(path, **kw)
    rows = info.pop("_rows", None)
    source_notes = list(info.pop("source_notes", []))
    if info.get("encoding_note"):
        source_notes.insert(0, info.pop("encoding_note"))
    cohort = _build_cohort(df, m, source=info, row_numbers=rows)
    cohort.source["notes"] = source_notes + list(cohort.source.get("notes", []))
    return cohort
