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

import html as _html
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
        """CSV text (levels indented by two spaces); written to ``path`` if given."""
        df = pd.DataFrame(list(self._rows("  ")), columns=list(self.data.columns))
        text = df.to_csv(index=False, lineterminator="\n")
        if self.footnotes:
            text += "".join(f'"{f}"\n' for f in self.footnotes)
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
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
    doc.core_properties.author = "aplcohort"
    if landscape:
        sec = doc.sections[0]
        sec.orientation = WD_ORIENT.LANDSCAPE
        sec.page_width, sec.page_height = sec.page_height, sec.page_width
    style = doc.styles["Normal"]
    style.font.name = font
    style.font.size = Pt(font_size)
    cap = doc.add_paragraph()
    run = cap.add_run(t.title)
    run.bold = True
    ncol = t.data.shape[1]
    nhead = 2 if t.spans else 1
    table = doc.add_table(rows=nhead + len(t.data), cols=ncol)
    table.autofit = True

    def put(cell, text, bold=False, align="center", indent=0):
        cell.text = ""
        p = cell.paragraphs[0]
        r = p.add_run(text)
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
        r = p.add_run(f)
        r.font.size = Pt(max(7.0, font_size - 1))
        p.paragraph_format.space_after = Pt(0)
    doc.save(str(path))
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
