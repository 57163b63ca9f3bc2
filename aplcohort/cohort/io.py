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
    mac = "\r" in text and "\n" not in text
    if mac:  # old Mac line ends (Excel's "CSV (Macintosh)"): each \r ends a line
        text = text.replace("\r", "\n")
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
    if mac:
        notes.append(f"{path}: the file uses old Mac line ends (a carriage return alone ends "
                     "each line); read as lines")
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
        if "new-line character" in str(exc):
            raise NotATableError(
                f"{path}: could not be read as a table: its lines end in different ways "
                "(some with a carriage return alone, as old Mac files do, others with a line "
                "feed); save the sheet again as CSV UTF-8") from None
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


#: The longest text an Excel cell holds (characters): a run of XML whitespace longer than
#: this in a workbook part can be no cell's text, and is cut while reading.
_XLSX_MAX_CELL_TEXT = 32767
#: Most whitespace (bytes, after the cut) a workbook part may pass to the XML parser when
#: it is more than half of the part: Excel writes none between tags, and an indented
#: sheet has a few bytes per cell.
_XLSX_MAX_PADDING = 64 * 2**20
_XML_WS = b" \t\r\n"


class _XLSXPaddingError(Exception):
    """A workbook part that is mostly whitespace padding."""


class _SqueezedXML:
    """A workbook part read through a filter against whitespace padding.

    Whitespace padding (hundreds of MiB between two tags, under the decompression limit)
    would otherwise be held in memory while the XML parser reads it (a tag's "tail").
    Blocks of whitespace past :data:`_XLSX_MAX_CELL_TEXT` characters in a row are dropped
    (no cell text changes: no cell holds more), so one long run costs the time to inflate
    it, not memory; a part that still passes more than :data:`_XLSX_MAX_PADDING` bytes of
    whitespace, more than half of what it holds (many shorter runs), is refused.
    """

    _CHUNK = 1 << 20

    def __init__(self, raw, name=""):
        self._raw = raw
        self._name = name
        self._run = 0  # whitespace bytes at the end of what was passed on
        self._passed = self._passed_ws = 0

    def read(self, n=-1):
        if n is None or n < 0:
            parts = []
            while True:
                out = self.read(self._CHUNK)
                if not out:
                    return b"".join(parts)
                parts.append(out)
        while True:
            chunk = self._raw.read(self._CHUNK)
            if not chunk:
                return b""
            if not chunk.translate(None, _XML_WS):  # whitespace only
                keep = max(0, _XLSX_MAX_CELL_TEXT - self._run)
                chunk = chunk[:keep]
                self._run += len(chunk)
                ws = len(chunk)
            else:
                ws = len(chunk) - len(chunk.translate(None, _XML_WS))
                self._run = len(chunk) - len(chunk.rstrip())
            self._passed += len(chunk)
            self._passed_ws += ws
            if self._passed_ws > _XLSX_MAX_PADDING and 2 * self._passed_ws > self._passed:
                raise _XLSXPaddingError(
                    f"the workbook part {self._name} holds more than "
                    f"{_XLSX_MAX_PADDING / 2**20:,.0f} MiB of blank padding (spaces and line "
                    "breaks between its cells, more than half of the part), not data")
            if chunk:
                return chunk

    def close(self):
        self._raw.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _open_workbook_streaming(path: Path):
    """``openpyxl.load_workbook(path, read_only=True, data_only=True)`` whose workbook
    parts are read through :class:`_SqueezedXML` (the workbook keeps the archive open:
    close it with ``wb.close()``)."""
    import zipfile as _zf

    from openpyxl.reader.excel import ExcelReader
    from openpyxl.worksheet._read_only import ReadOnlyWorksheet

    class _Zip(_zf.ZipFile):
        def open(self, name, mode="r", *args, **kwargs):
            fh = super().open(name, mode, *args, **kwargs)
            return _SqueezedXML(fh, str(name)) if mode == "r" else fh

    class _Sheet(ReadOnlyWorksheet):
        def _get_size(self):
            # openpyxl reads each sheet's extent when the workbook opens, the whole
            # sheet when the file does not state it; the cells are streamed once
            # later (_sheet_cells), so the extent is never needed
            pass

    class _Reader(ExcelReader):
        def read_worksheets(self):
            # as openpyxl's read-only mode (sheets in order, chart sheets listed), with
            # sheets that are not read when the workbook opens
            for sheet, rel in self.parser.find_sheets():
                if rel.target not in self.valid_files:
                    continue
                if "chartsheet" in rel.Type:
                    self.read_chartsheet(sheet, rel)
                    continue
                ws = _Sheet(self.wb, sheet.name, rel.target, self.shared_strings)
                ws.sheet_state = sheet.state
                self.wb._sheets.append(ws)

    reader = _Reader(str(path), read_only=True, data_only=True, keep_links=False)
    reader.archive.close()
    reader.archive = _Zip(path)
    try:
        reader.read()
    except BaseException:
        reader.archive.close()
        raise
    return reader.wb


def _sheet_cells(wb, ws):
    """Stream one sheet's cells (cost proportional to the cells the file holds, never to
    the sheet's extent): returns ``(cells, spaces, row_dims, col_dims, merged)`` where
    ``cells`` maps ``(row, column)`` to ``(value, data_type, formula or None)`` for every
    cell with a value other than blank text, an error value or a formula; ``spaces`` lists
    the ``(row, column)`` of cells holding only spaces; ``row_dims`` the row attributes
    (``hidden``) by row number; ``col_dims`` the ``(min, max)`` column ranges hidden;
    ``merged`` the merged ranges (``CellRange``).
    """
    from openpyxl.worksheet._reader import FORMULA_TAG, WorkSheetParser
    from openpyxl.worksheet.cell_range import CellRange

    class _Parser(WorkSheetParser):
        def parse_cell(self, element):
            cell = super().parse_cell(element)  # data_only: the stored value
            if element.find(FORMULA_TAG) is not None:
                cell["formula"] = self.parse_formula(element)
            return cell

    with ws._get_source() as src:
        parser = _Parser(src, ws._shared_strings, data_only=True, epoch=wb.epoch,
                         date_formats=wb._date_formats,
                         timedelta_formats=wb._timedelta_formats)
        cells: dict = {}
        spaces: list = []
        for _, row in parser.parse():
            for c in row:
                v, f = c["value"], c.get("formula")
                if isinstance(v, str) and not v.strip() and c["data_type"] != "e":
                    if v:
                        spaces.append((c["row"], c["column"]))
                    v = None
                if v is not None or f is not None or c["data_type"] == "e":
                    cells[(c["row"], c["column"])] = (v, c["data_type"], f)

    def truthy(x):
        return str(x).strip().lower() in ("1", "true")

    row_dims = {int(r): a for r, a in parser.row_dimensions.items()
                if str(r).isdigit() and truthy(a.get("hidden"))}
    col_dims = []
    for a in parser.column_dimensions.values():
        try:
            lo = int(a["min"])
            hi = int(a.get("max", lo))
        except (KeyError, TypeError, ValueError):
            continue
        if truthy(a.get("hidden")):
            col_dims.append((lo, hi))
    merged = []
    if parser.merged_cells is not None:
        for m in parser.merged_cells.mergeCell:
            try:
                merged.append(CellRange(m.ref))
            except (TypeError, ValueError):
                continue
    return cells, spaces, row_dims, col_dims, merged


def _coords_text(coords: list, limit: int = 10) -> str:
    shown = ", ".join(f"{_col_letter(c)}{r}" for r, c in coords[:limit])
    return shown + (f" and {len(coords) - limit} more" if len(coords) > limit else "")


def _read_xlsx(path: Path, sheet, max_uncompressed_bytes: int | None = None,
               header_row: int | None = None) -> tuple[pd.DataFrame, dict]:
    """Read one sheet with openpyxl, knowing every cell: values, formulas, errors, merges.

    Errors (never an empty cell in their place): a formula without a cached value, an
    error value (``#DIV/0!``, ``#N/A``, ...), a merged range in the table; each names
    the sheet, the cell (e.g. ``D7``), the column and the patient. Hidden sheets are
    never chosen by default; several visible sheets and no ``sheet`` is an error listing
    them. Rows are the sheet's own row numbers.

    The sheet is streamed once and only the cells it holds are kept (a cell far away,
    e.g. at XFD1048576, costs one cell, not a grid of a million rows); runs of
    whitespace longer than any cell text are cut while reading (padding). Cells that
    hold only spaces outside the table (below its last row or right of its last column)
    are named in a note and not read.
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
    try:
        with _warnings.catch_warnings():
            _warnings.simplefilter("ignore", UserWarning)  # openpyxl style/extension notes
            wb = _open_workbook_streaming(path)
    except _XLSXPaddingError as exc:
        raise NotATableError(f"{path}: {exc}; save the patient sheet again as .xlsx or CSV "
                             "(or as a new workbook)") from None
    except Exception as exc:  # openpyxl raises many types (zip, XML, its own) for bad files
        raise NotATableError(f"{path}: could not be opened as an Excel workbook "
                             f"({type(exc).__name__}: {exc})") from None
    try:
        return _read_xlsx_sheet(path, wb, sheet, header_row)
    finally:
        wb.close()


def _read_xlsx_sheet(path, wb, sheet, header_row):
    sheets = list(wb.sheetnames)
    states = {n: wb[n].sheet_state for n in sheets}
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
    try:
        with _warnings.catch_warnings():
            _warnings.simplefilter("ignore", UserWarning)
            cells, spaces, hidden_rows, hidden_cols, merged = _sheet_cells(wb, wb[chosen])
    except _XLSXPaddingError as exc:
        raise NotATableError(f"{path}: {exc}; save the patient sheet again as .xlsx or CSV "
                             "(or as a new workbook)") from None
    except Exception as exc:  # as above: many exception types for a damaged file
        raise NotATableError(f"{path}: could not be opened as an Excel workbook "
                             f"({type(exc).__name__}: {exc})") from None
    where = f"{path}: sheet {chosen!r}"
    # the rows with content, each with its cells by column
    by_row: dict = {}
    for (r, c), cell in cells.items():
        by_row.setdefault(r, {})[c] = cell
    content = sorted(r for r, rc in by_row.items() if any(v is not None for v, _, _ in rc.values()))
    if not content:
        raise EmptyFileError(f"{path}: sheet {chosen!r} is empty")

    def texts_of(r):
        rc = by_row[r]
        return [(c, _as_cell_text(rc[c][0])) for c in sorted(rc) if rc[c][0] is not None]

    skipped_above: list[int] = []
    if header_row is None:
        first = []
        for r in content[:31]:
            tx = texts_of(r)
            mask = [False] * max(c for c, _ in tx)
            for c, _ in tx:
                mask[c - 1] = True
            first.append((r, mask, [t for _, t in tx]))
        _check_title_row(where, first, "--header-row")
    else:
        if header_row not in by_row or header_row not in set(content):
            last = content[-1]
            raise HeaderRowError(
                f"{where}: header_row: {header_row} names "
                + ("an empty row" if header_row <= last else
                   f"a row after the last row with content (row {last})")
                + "; give the row that holds the column names")
        skipped_above = list(range(1, header_row))
        content = [r for r in content if r >= header_row]
    hdr_row, data_rows = content[0], content[1:]
    hdr = by_row[hdr_row]
    # the table's columns: those with a name or a value in a data row
    used = {c for c, (v, _, _) in hdr.items() if v is not None}
    for r in data_rows:
        used.update(c for c, (v, _, _) in by_row[r].items() if v is not None)
    width = max(used)
    header_of = {c: _header_text(hdr[c][0]) for c in used if c in hdr and hdr[c][0] is not None}
    cols = sorted(used)

    def name(c):
        return header_of.get(c, "")

    pid_col = next((c for c in cols if re.sub(r"[\s_\-]+", "", name(c).casefold())
                    in _PATIENT_HEADER_KEYS), None)

    def who(r):
        if pid_col is None or r is None:
            return ""
        if r == hdr_row:  # the header row names no patient
            return ", header row"
        v = by_row.get(r, {}).get(pid_col, (None,))[0]
        return "" if v is None else f", patient {_as_cell_text(v)}"

    row_set = set(content)
    problems = []
    for rng in merged:
        if rng.max_row < hdr_row or rng.size["rows"] * rng.size["columns"] <= 1:
            continue
        names = [name(k) or _col_letter(k) for k in range(rng.min_col, min(rng.max_col, width) + 1)]
        shown = ", ".join(names[:10]) + (", ..." if len(names) > 10 else "")
        first = rng.min_row if rng.min_row in row_set else None
        problems.append(
            f"sheet {chosen!r}, cells {rng.coord} (column {shown}{who(first)}): the cells are "
            "merged, so all but the first are empty; unmerge them and fill in every cell")
    for r in data_rows:
        for c in sorted(by_row[r]):
            v, dt, f = by_row[r][c]
            coord = f"{_col_letter(c)}{r}"
            if dt == "e":
                problems.append(
                    f"sheet {chosen!r}, cell {coord} (column {name(c)}{who(r)}): "
                    f"the error value {v} is not data; correct the formula or type the "
                    "value (leave the cell empty if it is unknown)")
            elif v is None and f is not None:
                problems.append(
                    f"sheet {chosen!r}, cell {coord} (column {name(c)}{who(r)}): the formula "
                    f"{f} has no stored value (the file was written by "
                    "a program that does not calculate); open and save it in Excel or "
                    "LibreOffice, or type the value")
    for c in sorted(hdr):
        v, dt, f = hdr[c]
        coord = f"{_col_letter(c)}{hdr_row}"
        if dt == "e":
            problems.append(f"sheet {chosen!r}, cell {coord}: the header holds the "
                            f"error value {v}; type the column name")
        elif v is None and f is not None:
            problems.append(f"sheet {chosen!r}, cell {coord}: the header is the formula "
                            f"{f} without a stored value; type the column name")
    if problems:
        raise WorkbookCellError(
            f"{path}: {len(problems)} cell(s) of sheet {chosen!r} cannot be read as data "
            "(nothing is read as empty in their place):\n"
            + "\n".join(f"  - {p}" for p in problems))
    header = [name(c) for c in cols]
    data = {}
    for k, c in enumerate(cols):
        vals = []
        for r in data_rows:
            cell = by_row[r].get(c)
            vals.append(None if cell is None else cell[0])
        data[k] = pd.Series(vals, dtype=object)
    df = pd.DataFrame(data)
    df.columns = header
    letters = [_col_letter(c) for c in cols]
    _check_duplicate_headers(path, header, sheet=chosen, letters=letters)
    _check_header(path, df)
    import datetime as _dtm
    # the workbook's date system, for numbers in date columns (Excel serial dates)
    df.attrs["excel_date_system"] = ("1904" if getattr(wb, "epoch", None) ==
                                     _dtm.datetime(1904, 1, 1) else "1900")
    notes = []
    if skipped_above:
        notes.append(f"{where}: {_rows_text(skipped_above)} above the header (row {hdr_row}, "
                     "header_row) not read")
    outside = sorted((r, c) for r, c in spaces
                     if r > content[-1] or c > width or (r < hdr_row and not skipped_above))
    if outside:
        notes.append(f"{where}: {len(outside)} cell(s) outside the table (rows {hdr_row}-"
                     f"{content[-1]}, columns A-{_col_letter(width)}) hold only spaces and were "
                     f"not read: {_coords_text(outside)}")
    notes += _hidden_notes(where, hdr_row, data_rows, cols, header, hidden_rows, hidden_cols,
                           who)
    return df, {"format": "xlsx", "sheet": chosen, "sheets": sheets,
                "hidden_sheets": [n for n in sheets if n not in visible], "_rows": data_rows,
                "header_row": hdr_row, "source_notes": notes}


def _hidden_notes(where, hdr_row, data_rows, cols, header, hidden_rows, hidden_cols, who):
    """Notes naming the hidden rows and columns of the table that were read as data.

    Hiding a row in Excel does not exclude the patient: the row is read like any
    other, and the note says so (with the patient id when the table has one).
    """
    notes = []
    hidden = [r for r in [hdr_row, *data_rows] if r in hidden_rows]
    if hidden:
        shown = [f"row {r}{who(r).replace(', ', ' (', 1) + ')' if who(r) else ''}"
                 for r in hidden[:20]]
        more = f" and {len(hidden) - 20} more" if len(hidden) > 20 else ""
        notes.append(f"{where}: {len(hidden)} row(s) hidden in Excel read as data "
                     f"(hiding a row does not exclude it; delete the row, or exclude the patient "
                     f"with a filter, to leave it out): {', '.join(shown)}{more}")
    ks = [k for k, c in enumerate(cols) if any(lo <= c <= hi for lo, hi in hidden_cols)]
    if ks:
        shown = ", ".join(f"{_col_letter(cols[k])} ({header[k]!r})" if header[k] else
                          _col_letter(cols[k]) for k in ks)
        notes.append(f"{where}: {len(ks)} column(s) hidden in Excel read as data: {shown}")
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


def _check_duplicate_headers(path, header, sheet=None, letters=None) -> None:
    """Two columns with the same name (ignoring case, spaces and line breaks) are an error.

    ``letters``: the sheet's column letter of each name (default: A, B, ... in order)."""
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
        if sheet:
            return f"column {letters[k] if letters is not None else _col_letter(k + 1)}"
        return f"field {k + 1}"

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
    if max_uncompressed_bytes is not None and ext not in _XLSX_EXT:
        with open(p, "rb") as fh:
            workbook = fh.read(4) == b"PK\x03\x04"
        if not workbook:
            raise _SheetOnNonWorkbook(f"{p}: a limit on the decompressed size of a workbook "
                                      "(--max-xlsx-mib, max_uncompressed_bytes=) was given but "
                                      "the file is not an Excel workbook")
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
        :data:`MAX_XLSX_UNCOMPRESSED_BYTES`), checked before decompressing; given for
        a file that is not a workbook (or a database), it is an error.

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
        if (sheet is not None or encoding is not None or header_row is not None
                or max_uncompressed_bytes is not None):
            raise _SheetOnNonWorkbook(f"{path}: sheet=, encoding=, header_row= and "
                                      "max_uncompressed_bytes= (--max-xlsx-mib) do not apply "
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
        if max_uncompressed_bytes is not None:
            raise _SheetOnNonWorkbook(f"{path}: max_uncompressed_bytes= (--max-xlsx-mib) does "
                                      "not apply to a REDCap export (a CSV file)")
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
