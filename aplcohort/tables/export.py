"""The journal table object and its exporters (CSV, HTML, LaTeX, Word .docx).

Every table builder in :mod:`aplcohort.tables` returns a :class:`JournalTable`:

* ``.data``: a DataFrame of formatted cells (strings), exactly as printed;
* ``.raw``: a tidy DataFrame of the unformatted numbers (fixed column names);
* ``.indent``: indentation level of each row (0 = variable, 1 = level);
* ``.spans``: optional spanning headers over column ranges;
* ``.footnotes``: notes printed under the table (tests used, abbreviations).

The notebook display (``_repr_html_``) is the HTML export.
"""

from __future__ import annotations

import csv
import datetime as _dt
import html as _html
import io
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .._results import Result, jsonable
from ..errors import InputError

TABLE_FORMATS = ("csv", "html", "tex", "docx")

_CSS = (
    "border-collapse:collapse;font-family:Arial,Helvetica,sans-serif;font-size:10pt;"
    "border-top:1.5px solid black;border-bottom:1.5px solid black;"
)


@dataclass(frozen=True, eq=False)
class JournalTable(Result):
    """A formatted publication table (see module docstring).

    Parameters
    ----------
    caption : str
        The table title (also ``.title``).
    data : DataFrame of str
    raw : DataFrame
    indent : tuple of int, optional (one per row of ``data``)
    footnotes : tuple of str
    spans : tuple of (label, first_col, last_col)
        Spanning header cells over ``data`` columns ``first_col..last_col`` (inclusive,
        0-based positions).
    table_choices : dict
        Choices made (tests, decimals, CI method) shown in the notebook header.
    """

    kind = "table"

    caption: str
    data: pd.DataFrame
    raw: pd.DataFrame
    indent: tuple = ()
    footnotes: tuple = ()
    spans: tuple = ()
    table_choices: dict = field(default_factory=dict)

    def __post_init__(self):
        if not isinstance(self.data, pd.DataFrame):
            raise InputError("JournalTable.data must be a DataFrame of formatted cells")
        ind = tuple(int(i) for i in self.indent) if self.indent else (0,) * len(self.data)
        if len(ind) != len(self.data):
            raise InputError(f"indent has {len(ind)} entries for {len(self.data)} rows")
        object.__setattr__(self, "indent", ind)
        object.__setattr__(self, "footnotes", tuple(self.footnotes))
        object.__setattr__(self, "spans", tuple(tuple(s) for s in self.spans))

    # ------------------------------------------------------------------ Result API
    @property
    def title(self) -> str:
        return self.caption

    @property
    def choices(self) -> dict:
        return dict(self.table_choices)

    @property
    def tables(self) -> dict:
        return {self.title: self.data}

    def to_dict(self) -> dict:
        return {"kind": self.kind, "title": self.title, "data": jsonable(self.data),
                "raw": jsonable(self.raw), "indent": list(self.indent),
                "footnotes": list(self.footnotes), "choices": jsonable(self.choices)}

    def cell(self, row_label: str, column: str) -> str:
        """The formatted cell in the first row whose first column equals ``row_label``."""
        first = self.data.columns[0]
        hit = self.data.index[self.data[first] == row_label]
        if len(hit) == 0:
            raise KeyError(f"no row {row_label!r} in table {self.title!r}")
        return self.data.loc[hit[0], column]

    # ------------------------------------------------------------------ exporters
    def _rows(self, indent_str: str):
        for i, (_, r) in enumerate(self.data.iterrows()):
            cells = ["" if pd.isna(v) else str(v) for v in r.tolist()]
            cells[0] = indent_str * self.indent[i] + cells[0]
            yield cells

    def to_csv(self, path=None) -> str:
        """CSV text (levels indented by two spaces); written to ``path`` if given.

        Text cells that a spreadsheet would run as a formula are escaped (see
        :func:`csv_safe_cell`); footnotes follow the table, one quoted cell each.
        """
        df = pd.DataFrame(list(self._rows("  ")), columns=list(self.data.columns))
        text = escape_csv_frame(df).to_csv(index=False, lineterminator="\n")
        if self.footnotes:
            buf = io.StringIO()
            w = csv.writer(buf, lineterminator="\n", quoting=csv.QUOTE_ALL)
            for f in self.footnotes:
                w.writerow([csv_safe_cell(str(f))])
            text += buf.getvalue()
        if path is not None:
            with open(path, "w", encoding="utf-8", newline="") as fh:
                fh.write(text)
        return text

    def to_html(self, path=None, *, standalone: bool = False) -> str:
        """Journal-style HTML table (three rules, caption, footnotes)."""
        esc = _html.escape
        ncol = self.data.shape[1]
        out = [f"<table class='aplcohort-table' style='{_CSS}'>",
               f"<caption style='caption-side:top;text-align:left;font-weight:bold;"
               f"padding-bottom:4px'>{esc(self.title)}</caption>", "<thead>"]
        if self.spans:
            out.append("<tr>")
            pos = 0
            for label, a, b in sorted(self.spans, key=lambda s: s[1]):
                if a > pos:
                    out.append(f"<th colspan='{a - pos}'></th>")
                out.append(f"<th colspan='{b - a + 1}' style='text-align:center;"
                           f"border-bottom:1px solid black;padding:2px 6px'>{esc(label)}</th>")
                pos = b + 1
            if pos < ncol:
                out.append(f"<th colspan='{ncol - pos}'></th>")
            out.append("</tr>")
        out.append("<tr>")
        for j, c in enumerate(self.data.columns):
            al = "left" if j == 0 else "center"
            out.append(f"<th style='text-align:{al};border-bottom:1px solid black;"
                       f"padding:2px 6px;vertical-align:bottom'>{esc(str(c))}</th>")
        out.append("</tr></thead><tbody>")
        for i, cells in enumerate(self._rows("")):
            out.append("<tr>")
            for j, v in enumerate(cells):
                if j == 0:
                    pad = 6 + 14 * self.indent[i]
                    out.append(f"<td style='text-align:left;padding:1px 6px 1px {pad}px'>{esc(v)}</td>")
                else:
                    out.append(f"<td style='text-align:center;padding:1px 6px'>{esc(v)}</td>")
            out.append("</tr>")
        out.append("</tbody>")
        if self.footnotes:
            out.append("<tfoot>")
            for f in self.footnotes:
                out.append(f"<tr><td colspan='{ncol}' style='text-align:left;font-size:8.5pt;"
                           f"border-top:none;padding:1px 6px'>{esc(f)}</td></tr>")
            out.append("</tfoot>")
        out.append("</table>")
        text = "\n".join(out)
        if standalone:
            text = ("<!DOCTYPE html>\n<html><head><meta charset='utf-8'>"
                    f"<title>{esc(self.title)}</title></head><body>\n{text}\n</body></html>\n")
        if path is not None:
            Path(path).write_text(text if standalone else text + "\n", encoding="utf-8")
        return text

    def _repr_html_(self) -> str:
        return self.to_html()

    def __str__(self) -> str:
        df = pd.DataFrame(list(self._rows("  ")), columns=list(self.data.columns))
        lines = [self.title, df.to_string(index=False)]
        lines += list(self.footnotes)
        return "\n".join(lines)

    def to_latex(self, path=None, *, label: str | None = None) -> str:
        """LaTeX ``table`` with booktabs rules (needs ``\\usepackage{booktabs}``)."""
        ncol = self.data.shape[1]
        spec = "l" + "c" * (ncol - 1)
        out = ["\\begin{table}[ht]", "\\centering", "\\small",
               f"\\caption{{{latex_escape(self.title)}}}"]
        if label:
            out.append(f"\\label{{{label}}}")
        out += [f"\\begin{{tabular}}{{{spec}}}", "\\toprule"]
        if self.spans:
            cells, rules, pos = [], [], 0
            for lab, a, b in sorted(self.spans, key=lambda s: s[1]):
                cells += [""] * (a - pos)
                cells.append(f"\\multicolumn{{{b - a + 1}}}{{c}}{{{latex_escape(lab)}}}")
                rules.append(f"\\cmidrule(lr){{{a + 1}-{b + 1}}}")
                pos = b + 1
            cells += [""] * (ncol - pos)
            out.append(" & ".join(cells) + " \\\\")
            out.append(" ".join(rules))
        out.append(" & ".join(latex_escape(str(c)) for c in self.data.columns) + " \\\\")
        out.append("\\midrule")
        for i, cells in enumerate(self._rows("")):
            cells = [latex_escape(c) for c in cells]
            if self.indent[i]:
                cells[0] = f"\\hspace{{{self.indent[i]}em}}" + cells[0]
            out.append(" & ".join(cells) + " \\\\")
        out.append("\\bottomrule")
        for f in self.footnotes:
            out.append(f"\\multicolumn{{{ncol}}}{{l}}{{\\footnotesize {latex_escape(f)}}} \\\\")
        out += ["\\end{tabular}", "\\end{table}"]
        text = "\n".join(out) + "\n"
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        return text

    def to_docx(self, path, *, font: str = "Arial", font_size: float = 9.0, landscape: bool = False):
        """Write a Word document holding the table (three-rule journal layout).

        Returns the ``docx.Document``.
        """
        return _write_docx(self, path, font=font, font_size=font_size, landscape=landscape)

    def save(self, path_stem, formats=TABLE_FORMATS) -> list[Path]:
        """Write ``<path_stem>.<fmt>`` for each of csv, html, tex, docx; return the paths."""
        return save_table(self, path_stem, formats)


_LATEX_MAP = {
    "\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
    "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
    "<": r"$<$", ">": r"$>$", "\u2013": "--", "\u2014": "---", "\u2265": r"$\geq$",
    "\u2264": r"$\leq$", "\u00b1": r"$\pm$", "\u00d7": r"$\times$", "\u03b2": r"$\beta$",
}


def latex_escape(s: str) -> str:
    """Escape LaTeX special characters (and typeset <, >, en dash, ≥, ≤).

    >>> latex_escape("p <0.001 & 5% – ok")
    'p $<$0.001 \\\\& 5\\\\% -- ok'
    """
    return "".join(_LATEX_MAP.get(ch, ch) for ch in str(s))


# ----------------------------------------------------------------------------- CSV safety
#: First characters that make a spreadsheet (Excel, LibreOffice, Google Sheets) treat a
#: CSV cell as a formula (OWASP "CSV injection"); tab and carriage return are included
#: because some programs strip them before looking at the next character.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def csv_safe_cell(value):
    """Escape one CSV cell against spreadsheet formula injection.

    The rule: a *text* cell whose first character is ``=``, ``+``, ``-``, ``@``,
    tab or carriage return gets a leading apostrophe ``'`` (the spreadsheet then
    shows it as text), unless the whole cell is a plain number such as ``-0.5``,
    ``+3`` or ``-1.2e-05`` (a number is never a formula, and stays a number).
    Anything else (numbers, missing values, other text) is returned unchanged.

    Examples
    --------
    >>> csv_safe_cell("=1+2"), csv_safe_cell("@SUM(A1)")
    ("'=1+2", "'@SUM(A1)")
    >>> csv_safe_cell("-0.5"), csv_safe_cell("-0.12 (-0.50, 0.26)"), csv_safe_cell(-2.0)
    ('-0.5', "'-0.12 (-0.50, 0.26)", -2.0)
    """
    if isinstance(value, str) and value.startswith(FORMULA_START) \
            and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def escape_csv_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` with text cells and column names escaped by :func:`csv_safe_cell`.

    Numeric columns are untouched (full precision is kept).
    """
    out = df.copy()
    for c in out.columns:
        col = out[c]
        if col.dtype == object or pd.api.types.is_string_dtype(col.dtype):
            out[c] = col.map(csv_safe_cell, na_action="ignore")
    out.columns = [csv_safe_cell(c) if isinstance(c, str) else c for c in out.columns]
    return out


def write_csv_frame(df: pd.DataFrame, path) -> Path:
    """Write a result frame as CSV at full precision, with text cells escaped."""
    escape_csv_frame(df).to_csv(path, index=False, lineterminator="\n")
    return Path(path)


# ----------------------------------------------------------------------------- DOCX
#: Fixed document dates so the same table gives the same bytes (the run time is
#: recorded in provenance.json only).
DOCX_DATE = _dt.datetime(2000, 1, 1, tzinfo=_dt.timezone.utc)
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def docx_safe_text(text: str) -> str:
    """Text Word can store: control characters become their visible symbol (U+2400 block).

    XML 1.0 cannot hold most control characters; rather than fail or drop them
    silently, each one is shown as its control picture (``\\x07`` -> ``␇``).

    >>> docx_safe_text("a\x07b")
    'a␇b'
    """
    def pic(m):
        c = ord(m.group(0))
        return chr(0x2400 + c) if c < 0x20 else "\ufffd"
    return _XML_ILLEGAL.sub(pic, str(text))


def _deterministic_zip(data: bytes) -> bytes:
    """Re-pack a zip with fixed entry dates and attributes (python-docx stamps the clock)."""
    src = zipfile.ZipFile(io.BytesIO(data))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            zi = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o644 << 16
            zi.create_system = 3
            dst.writestr(zi, src.read(info.filename))
    return buf.getvalue()


def _set_cell_border(cell, **edges):
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    tcPr = cell._tc.get_or_add_tcPr()
    borders = tcPr.find(qn("w:tcBorders"))
    if borders is None:
        borders = OxmlElement("w:tcBorders")
        tcPr.append(borders)
    for edge, size in edges.items():
        el = borders.find(qn(f"w:{edge}"))
        if el is None:
            el = OxmlElement(f"w:{edge}")
            borders.append(el)
        el.set(qn("w:val"), "single" if size else "nil")
        if size:
            el.set(qn("w:sz"), str(int(size)))
            el.set(qn("w:space"), "0")
            el.set(qn("w:color"), "000000")


def _write_docx(t: JournalTable, path, *, font, font_size, landscape):
    import docx
    from docx.enum.section import WD_ORIENT
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Pt

    doc = docx.Document()
    cp = doc.core_properties
    cp.author = "aplcohort"
    cp.last_modified_by = "aplcohort"
    cp.created = cp.modified = DOCX_DATE
    cp.revision = 1
    cp.title = docx_safe_text(t.title)[:255]
    if landscape:
        sec = doc.sections[0]
        sec.orientation = WD_ORIENT.LANDSCAPE
        sec.page_width, sec.page_height = sec.page_height, sec.page_width
    style = doc.styles["Normal"]
    style.font.name = font
    style.font.size = Pt(font_size)
    cap = doc.add_paragraph()
    run = cap.add_run(docx_safe_text(t.title))
    run.bold = True
    ncol = t.data.shape[1]
    nhead = 2 if t.spans else 1
    table = doc.add_table(rows=nhead + len(t.data), cols=ncol)
    table.autofit = True

    def put(cell, text, bold=False, align="center", indent=0):
        cell.text = ""
        p = cell.paragraphs[0]
        r = p.add_run(docx_safe_text(text))
        r.bold = bold
        r.font.size = Pt(font_size)
        r.font.name = font
        p.alignment = WD_ALIGN_PARAGRAPH.LEFT if align == "left" else WD_ALIGN_PARAGRAPH.CENTER
        p.paragraph_format.space_after = Pt(0)
        p.paragraph_format.space_before = Pt(0)
        if indent:
            p.paragraph_format.left_indent = Pt(10 * indent)

    if t.spans:
        for lab, a, b in t.spans:
            c = table.cell(0, a).merge(table.cell(0, b)) if b > a else table.cell(0, a)
            put(c, lab, bold=True)
            _set_cell_border(c, bottom=4)
    hdr = nhead - 1
    for j, col in enumerate(t.data.columns):
        put(table.cell(hdr, j), str(col), bold=True, align="left" if j == 0 else "center")
    for i, cells in enumerate(t._rows("")):
        for j, v in enumerate(cells):
            put(table.cell(nhead + i, j), v, align="left" if j == 0 else "center",
                indent=t.indent[i] if j == 0 else 0)
    for j in range(ncol):
        _set_cell_border(table.cell(0, j), top=12)
        _set_cell_border(table.cell(hdr, j), bottom=8)
        _set_cell_border(table.cell(nhead + len(t.data) - 1, j), bottom=12)
    for f in t.footnotes:
        p = doc.add_paragraph()
        r = p.add_run(docx_safe_text(f))
        r.font.size = Pt(max(7.0, font_size - 1))
        p.paragraph_format.space_after = Pt(0)
    buf = io.BytesIO()
    doc.save(buf)
    with open(path, "wb") as fh:
        fh.write(_deterministic_zip(buf.getvalue()))
    return doc


def save_table(table: JournalTable, path_stem, formats=TABLE_FORMATS) -> list[Path]:
    """Write a :class:`JournalTable` as ``<path_stem>.csv/.html/.tex/.docx``.

    Examples
    --------
    >>> import pandas as pd, tempfile, os
    >>> t = JournalTable("T", pd.DataFrame({"a": ["x"], "b": ["1"]}), pd.DataFrame())
    >>> [p.suffix for p in save_table(t, os.path.join(tempfile.mkdtemp(), "t1"), ("csv", "tex"))]
    ['.csv', '.tex']
    """
    if isinstance(formats, str):
        formats = (formats,)
    formats = tuple(f.lower().lstrip(".") for f in formats)
    formats = tuple({"latex": "tex", "htm": "html"}.get(f, f) for f in formats)
    bad = [f for f in formats if f not in TABLE_FORMATS]
    if bad:
        raise InputError(f"unsupported table format(s) {bad}; choose from {TABLE_FORMATS}")
    stem = Path(path_stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    out = []
    for f in formats:
        p = stem.with_name(stem.name + "." + f)
        if f == "csv":
            table.to_csv(p)
        elif f == "html":
            table.to_html(p, standalone=True)
        elif f == "tex":
            table.to_latex(p)
        else:
            table.to_docx(p)
        out.append(p)
    return out
