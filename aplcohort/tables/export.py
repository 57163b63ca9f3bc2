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
import functools
import html as _html
import io
import re
import weakref
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
    source_rows : tuple, optional
        Per row of ``data``, the position of the row of the result frame it prints (None
        for a row the layout adds: a variable heading, a reference level).
    source_fields : tuple, optional
        Per column of ``data``, the fields of the result frame it prints (an estimate
        with its bounds: three). With ``source_rows`` they let a blank cell say why it is
        blank (:func:`aplcohort.tables.blanks.explain_blanks`).
    source_cells : tuple, optional
        Per row of ``data``, per column, the position of the row of the result frame the
        cell prints (None: a cell the layout adds; ``(position, fields)``: a cell that
        prints other fields than its column's), for a table whose cells of one row
        come from different rows of the frame (Table 1: one frame row per group); given,
        it is used instead of ``source_rows``.
    """

    kind = "table"

    caption: str
    data: pd.DataFrame
    raw: pd.DataFrame
    indent: tuple = ()
    footnotes: tuple = ()
    spans: tuple = ()
    table_choices: dict = field(default_factory=dict)
    source_rows: tuple = ()
    source_fields: tuple = ()
    source_cells: tuple = ()

    def __post_init__(self):
        if not isinstance(self.data, pd.DataFrame):
            raise InputError("JournalTable.data must be a DataFrame of formatted cells")
        if not self.data.shape[1]:
            # a LaTeX longtable and a Word table need a column (``{@{}@{}}`` does not
            # compile): a frame with rows but no column gets one, empty
            object.__setattr__(self, "data", pd.DataFrame({"(no columns)": [""] * len(self.data)}))
        ind = tuple(int(i) for i in self.indent) if self.indent else (0,) * len(self.data)
        if len(ind) != len(self.data):
            raise InputError(f"indent has {len(ind)} entries for {len(self.data)} rows")
        object.__setattr__(self, "indent", ind)
        object.__setattr__(self, "footnotes", tuple(self.footnotes))
        object.__setattr__(self, "spans", tuple(tuple(s) for s in self.spans))
        object.__setattr__(self, "source_rows", tuple(self.source_rows))
        object.__setattr__(self, "source_fields", tuple(tuple(f) for f in self.source_fields))
        object.__setattr__(self, "source_cells", tuple(tuple(r) for r in self.source_cells))

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
        # the cells as one object array (DataFrame.iterrows builds a Series per row: it
        # was ~1 s of the 55 tables of a Min 2022 run, each exported 3 to 5 times)
        for i, r in enumerate(self.data.to_numpy(dtype=object).tolist()):
            cells = [v if isinstance(v, str) else "" if pd.isna(v) else str(v) for v in r]
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
        text = html_safe_controls("\n".join(out))  # ESC, BEL... from the data: symbols
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
        """LaTeX table, ASCII only, that fits the text width (see :func:`latex_table`).

        Needs ``booktabs``, ``longtable``, ``array`` and, for wide tables,
        ``pdflscape`` (the preamble of :func:`latex_document`).
        """
        text = latex_table(self, label=label)
        if path is not None:
            Path(path).write_text(text, encoding="ascii")
        return text

    def is_wide(self) -> bool:
        """True when the table cannot fit the portrait text width, even by wrapping its
        columns (to 60% of their width, never inside a word): it gets a landscape page."""
        return not _fits_portrait(self)

    def to_docx(self, path, *, font: str = "Arial", font_size: float = 9.0,
                landscape: bool | None = None):
        """Write a Word document holding the table (three-rule journal layout).

        The page is A4 with margins that also fit US Letter; a table wider than the
        portrait text width gets a landscape page (``landscape=None``, the default).
        Returns the path written (python-docx reads it back: ``docx.Document(path)``).
        """
        return _write_docx(self, path, font=font, font_size=font_size, landscape=landscape)

    def save(self, path_stem, formats=TABLE_FORMATS, *,
             allow_identifiers: bool = False) -> list[Path]:
        """Write ``<path_stem>.<fmt>`` for each of csv, html, tex, docx; return the paths
        (:func:`save_table`, which refuses identifying columns unless
        ``allow_identifiers=True``)."""
        return save_table(self, path_stem, formats, allow_identifiers=allow_identifiers)


#: Characters (at ~0.55 em each) of the text width in portrait (A4 or US Letter with
#: 2.5 cm margins: 453 pt, the narrower A4 binding) and in landscape (Letter: 650 pt,
#: the narrower); a table that cannot fit portrait by wrapping goes landscape.
PORTRAIT_CHARS = 88
LANDSCAPE_CHARS = 126
_EM_PER_CHAR = 0.55
_WORD = re.compile(r"\(n = \d+\)|\S+")

# text characters with a LaTeX meaning
_LATEX_TEXT = {
    "\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
    "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
    "\u2013": "--", "\u2014": "---", "\u00a0": "~", "\u2018": "`", "\u2019": "'",
    "\u201c": "``", "\u201d": "''", "\u2026": r"\ldots{}", "\u00a7": r"\S{}",
    "\u2192": r"$\rightarrow$", "\u2009": r"\,", "\u00b0": r"\textdegree{}",
    # a line break inside a caption or cell would end the paragraph (a LaTeX error)
    "\n": " ", "\r": " ", "\t": " ",
}
# characters typeset in math mode (runs of them share one $...$)
_LATEX_MATH = {
    "<": "<", ">": ">", "\u2265": r"\geq", "\u2264": r"\leq", "\u00b1": r"\pm",
    "\u00d7": r"\times", "\u2212": "-", "\u00b7": r"\cdot", "\u221e": r"\infty",
    "\u03b1": r"\alpha", "\u03b2": r"\beta", "\u03b3": r"\gamma", "\u03b4": r"\delta",
    "\u03ba": r"\kappa", "\u03bb": r"\lambda", "\u03bc": r"\mu", "\u00b5": r"\mu",
    "\u03c0": r"\pi", "\u03c1": r"\rho", "\u03c3": r"\sigma", "\u03c4": r"\tau",
    "\u03c7": r"\chi", "\u0394": r"\Delta", "\u2248": r"\approx", "\u2260": r"\neq",
    "\u00b2": "^{2}", "\u00b3": "^{3}", "\u00b9": "^{1}", "\u2070": "^{0}", "\u2074": "^{4}",
    "\u2075": "^{5}", "\u2076": "^{6}", "\u2077": "^{7}", "\u2078": "^{8}", "\u2079": "^{9}",
    "\u207b": "^{-}", "\u2080": "_{0}", "\u2081": "_{1}", "\u2082": "_{2}",
}


#: text that :func:`latex_escape` returns unchanged: printable ASCII without a character
#: of _LATEX_TEXT or _LATEX_MATH
_LATEX_PLAIN = re.compile(r"[ !\"'()*+,\-./0-9:;=?@A-Z\[\]`a-z|]*")


def latex_escape(s: str) -> str:
    """Escape text for LaTeX, returning ASCII only.

    Special characters are escaped; symbols become math (``χ²`` -> ``$\\chi^{2}$``,
    ``×10⁹/L`` -> ``$\\times$10$^{9}$/L``, ``<`` -> ``$<$``, the Lancet decimal point
    ``·`` -> ``$\\cdot$``); accented letters lose their accent; any other non-ASCII
    character is written visibly as ``[U+XXXX]`` (never dropped).

    >>> latex_escape("p <0.001 & 5% \\u2013 ok")
    'p $<$0.001 \\\\& 5\\\\% -- ok'
    >>> latex_escape("\\u03c7\\u00b2, \\u00d710\\u2079/L, \\u2265 3")
    '$\\\\chi^{2}$, $\\\\times$10$^{9}$/L, $\\\\geq$ 3'
    >>> latex_escape("NE\\u00b9\\u2070")
    'NE$^{10}$'
    """
    s = str(s)
    if _LATEX_PLAIN.fullmatch(s):  # most cells: printable ASCII with no special character
        return s
    import unicodedata
    out, math = [], []

    def flush():
        if math:
            out.append("$" + "".join(math) + "$")
            math.clear()

    for ch in s:
        if ch in _LATEX_MATH:
            m = _LATEX_MATH[ch]
            if math and m[:2] in ("^{", "_{") and math[-1][:2] == m[:2]:
                # superscript digits in a row (the footnote marker ¹⁰) are one exponent:
                # "^{1}^{0}" is a "Double superscript" error
                math[-1] = math[-1][:-1] + m[2:]
                continue
            if math and m[:1].isalpha() and math[-1][-1:].isalpha():
                m = " " + m
            math.append(m)
            continue
        flush()
        if ch in _LATEX_TEXT:
            out.append(_LATEX_TEXT[ch])
        elif 32 <= ord(ch) < 127:
            out.append(ch)
        elif ord(ch) < 128:  # a control character: shown, never passed to TeX
            out.append(f"[U+{ord(ch):04X}]")
        else:
            base = unicodedata.normalize("NFKD", ch).encode("ascii", "ignore").decode("ascii")
            out.append(latex_escape(base) if base else f"[U+{ord(ch):04X}]")
    flush()
    return "".join(out)


def _cell_widths(t: "JournalTable", words: bool = False) -> list[int]:
    """Natural width of each column in characters (longest cell; header words may wrap);
    with ``words=True`` the longest unbreakable word of each column instead."""
    widths = []
    rows = list(t._rows("  "))
    for j, c in enumerate(t.data.columns):
        cells = [r[j] for r in rows]
        if words:
            body = max([len(w) for x in cells for w in _WORD.findall(x)] or [0])
        else:
            body = max([len(x) for x in cells] or [0])
        head = (max([len(w) for w in _WORD.findall(str(c))] or [0]) if words
                else len(str(c).strip()))
        head = -(-head * 23 // 20)  # bold header characters are ~15% wider
        widths.append(max(body, head, 3))
    return widths


def _natural_width(t: "JournalTable") -> int:
    w = _cell_widths(t)
    return sum(w) + 3 * len(w)


def _fits_portrait(t: "JournalTable") -> bool:
    """Fits the portrait text width, wrapping columns to no less than 60% of their natural
    width and never inside a word."""
    nat = _cell_widths(t)
    word = _cell_widths(t, words=True)
    if len(nat) == 1:  # one column (a list of notes): its text wraps to the page width
        return word[0] + 3 <= PORTRAIT_CHARS
    need = sum(max(wd, int(0.6 * n + 0.999)) for n, wd in zip(nat, word))
    return need + 3 * len(nat) <= PORTRAIT_CHARS


def latex_table(t: "JournalTable", *, label: str | None = None) -> str:
    """The LaTeX source of a journal table: ASCII only, booktabs rules, fits the text width.

    A ``longtable`` (breaks across pages, header repeated) whose columns are
    ``p{}`` boxes sized from their natural widths: a table wider than the portrait
    text width goes on a landscape page (``pdflscape``), and one wider than that
    wraps its longest columns. The caption, spanning headers and footnotes are kept.
    """
    ncol = t.data.shape[1]
    widths = _cell_widths(t)
    natural = sum(widths) + 3 * ncol
    landscape = t.is_wide()
    budget = LANDSCAPE_CHARS if landscape else PORTRAIT_CHARS
    size = "\\small"
    if landscape and natural > budget:
        size, budget = "\\footnotesize", int(budget * 9 / 8)  # 8 pt instead of 9 pt
    if natural > budget:  # wrap the widest columns until the table fits
        widths = _shrink(widths, budget - 3 * ncol, _cell_widths(t, words=True))
    spec = []
    total_em = sum(_EM_PER_CHAR * w + 0.4 for w in widths)
    for j, w in enumerate(widths):
        align = "\\raggedright" if j == 0 else "\\centering"
        spec.append(f">{{{align}\\arraybackslash}}p{{{_EM_PER_CHAR * w + 0.4:.1f}em}}")
    out = [f"% {latex_escape(t.title)}",
           "% needs \\usepackage{booktabs,longtable,array}"
           + (" and pdflscape (landscape page)" if landscape else "")]
    if landscape:
        out.append("\\begin{landscape}")
    out += ["{" + size, "\\setlength{\\LTcapwidth}{\\linewidth}",
            "\\begin{longtable}{@{}" + "".join(spec) + "@{}}",
            f"\\caption{{{latex_escape(t.title)}}}" + (f"\\label{{{label}}}" if label else "")
            + " \\\\", "\\toprule"]
    head = []
    if t.spans:
        cells, rules, pos = [], [], 0
        for lab, a, b in sorted(t.spans, key=lambda s: s[1]):
            cells += [""] * (a - pos)
            cells.append(f"\\multicolumn{{{b - a + 1}}}{{c}}{{{latex_escape(lab)}}}")
            rules.append(f"\\cmidrule(lr){{{a + 1}-{b + 1}}}")
            pos = b + 1
        cells += [""] * (ncol - pos)
        head.append(" & ".join(cells) + " \\\\")
        head.append(" ".join(rules))
    head.append(" & ".join(re.sub(r"\(n = (\d+)\)", r"(n~=~\1)", latex_escape(str(c).strip()))
                           for c in t.data.columns) + " \\\\")
    head.append("\\midrule")
    out += head + ["\\endfirsthead"]
    out += [f"\\multicolumn{{{ncol}}}{{@{{}}l}}{{\\footnotesize\\itshape "
            "Table \\thetable{} (continued)} \\\\", "\\toprule"] + head + ["\\endhead",
                                                                                  "\\bottomrule",
                                                                                  "\\endfoot",
                                                                                  "\\bottomrule"]
    if t.footnotes:
        for f in t.footnotes:
            out.append(f"\\multicolumn{{{ncol}}}{{@{{}}p{{\\dimexpr{total_em:.1f}em+"
                       f"{2 * (ncol - 1)}\\tabcolsep\\relax}}@{{}}}}"
                       f"{{\\footnotesize {latex_escape(f)}}} \\\\")
    out.append("\\endlastfoot")
    for i, cells in enumerate(t._rows("")):
        cells = [latex_escape(c) for c in cells]
        if t.indent[i]:
            cells[0] = f"\\hspace*{{{t.indent[i]}em}}" + cells[0]
        out.append(" & ".join(cells) + " \\\\")
    out += ["\\end{longtable}", "}"]
    if landscape:
        out.append("\\end{landscape}")
    text = "\n".join(out) + "\n"
    text.encode("ascii")  # every character was escaped to ASCII
    return text


def _shrink(widths: list[int], budget: int, floor: list[int] | None = None) -> list[int]:
    """Cap the widest columns so the widths sum to ``budget``, never below ``floor`` (the
    longest word of each column) nor 6 characters, when that is possible."""
    w = list(widths)
    lo = [max(6, f) for f in (floor or [6] * len(w))]
    lo = [min(a, b) for a, b in zip(lo, w)]
    while sum(w) > budget:
        room = [x - m for x, m in zip(w, lo)]
        if max(room) <= 0:
            break
        k = room.index(max(room))
        w[k] -= 1
    return w


def latex_document(inputs, *, title: str | None = None, paper: str = "a4paper") -> str:
    """A ``tables.tex`` that ``\\input``s every table file (ASCII, compiles with pdflatex).

    Parameters
    ----------
    inputs : sequence of str
        File names (relative to the document) of the table fragments, in order.
    paper : {"a4paper", "letterpaper"}
    """
    if paper not in ("a4paper", "letterpaper"):
        raise InputError(f"paper must be a4paper or letterpaper; got {paper!r}")
    out = ["% Tables of an aplcohort run; compile with: pdflatex tables.tex",
           "\\documentclass[10pt]{article}",
           f"\\usepackage[{paper},margin=2.5cm]{{geometry}}",
           "\\usepackage[T1]{fontenc}",
           "\\usepackage{booktabs,longtable,array,pdflscape}",
           "\\begin{document}"]
    if title:  # a comment: a title line alone would take the page before a landscape table
        out.insert(1, f"% {latex_escape(title)}")
    for name in inputs:
        name = str(name)
        if not re.fullmatch(r"[A-Za-z0-9_./-]+", name):
            raise InputError(f"table file name {name!r} cannot be used in LaTeX")
        out.append(f"\\input{{{name}}}")
        out.append("\\clearpage")
    out.append("\\end{document}")
    return "\n".join(out) + "\n"


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

    Numeric columns are untouched (full precision is kept). When no cell and no column
    name needs escaping (nearly every result table), ``df`` itself is returned: the copy
    and the per-column ``map`` were most of the time of writing a small CSV.
    """
    names = [csv_safe_cell(c) if isinstance(c, str) else c for c in df.columns]
    if all(a is b for a, b in zip(names, df.columns)):
        clean = True
        for c in df.columns:
            col = df[c]
            if col.dtype == object or pd.api.types.is_string_dtype(col.dtype):
                if any(isinstance(v, str) and v.startswith(FORMULA_START)
                       for v in col.to_numpy(dtype=object)):
                    clean = False
                    break
        if clean:
            return df
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


_HTML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def html_safe_controls(text: str) -> str:
    """HTML text without control characters (invalid in HTML; ESC, BEL... from a data
    file): each is shown as its visible symbol as in the DOCX (``\x07`` -> ``␇``, DEL ->
    ``␡``; a C1 character as U+FFFD). Tab and new-line stay.

    >>> html_safe_controls("a\x1b[31mb\x7f")
    'a␛[31mb␡'
    """
    def pic(m):
        c = ord(m.group(0))
        return chr(0x2400 + c) if c < 0x20 else "\u2421" if c == 0x7F else "\ufffd"
    return _HTML_ILLEGAL.sub(pic, str(text))


#: Parts that are compressed images already: stored as they are (deflating the PNGs of a
#: manuscript again took most of the time of writing it, for no smaller file).
_STORED_SUFFIXES = (".png", ".jpeg", ".jpg", ".gif", ".tif", ".tiff")


def _deterministic_zip(data: bytes) -> bytes:
    """Re-pack a zip with fixed entry dates and attributes (python-docx stamps the clock)."""
    src = zipfile.ZipFile(io.BytesIO(data))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            zi = _zip_info(info.filename)
            if info.filename.lower().endswith(_STORED_SUFFIXES):
                zi.compress_type = zipfile.ZIP_STORED
            dst.writestr(zi, src.read(info.filename))
    return buf.getvalue()


#: Page geometry (mm) whose text area fits both A4 and US Letter: A4 paper, side margins
#: 25 mm (text 160 mm wide; Letter is 215.9 mm wide), top/bottom 34 mm (text 229 mm high;
#: Letter is 279.4 mm high). Landscape: the same text box turned (229 x 160 mm... see below).
PAGE = {"portrait": {"width": 210.0, "height": 297.0, "left": 25.0, "right": 25.0,
                     "top": 34.0, "bottom": 34.0},
        # landscape text 229 mm x 160 mm: fits A4 (297 x 210) and Letter (279.4 x 215.9)
        "landscape": {"width": 297.0, "height": 210.0, "left": 34.0, "right": 34.0,
                      "top": 25.0, "bottom": 25.0}}


def text_width_mm(orientation: str) -> float:
    """Text width of a manuscript page (mm): 160 portrait, 229 landscape."""
    g = PAGE[orientation]
    return g["width"] - g["left"] - g["right"]


def set_page(section, orientation: str) -> None:
    """Give a python-docx section the A4/Letter-safe geometry of :data:`PAGE`."""
    from docx.enum.section import WD_ORIENT
    from docx.shared import Mm
    g = PAGE[orientation]
    section.orientation = WD_ORIENT.LANDSCAPE if orientation == "landscape" else WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Mm(g["width"]), Mm(g["height"])
    section.left_margin, section.right_margin = Mm(g["left"]), Mm(g["right"])
    section.top_margin, section.bottom_margin = Mm(g["top"]), Mm(g["bottom"])


def new_document(font: str = "Arial", font_size: float = 9.0, title: str = ""):
    """A python-docx Document with fixed metadata (same bytes for the same content)."""
    import docx
    from docx.shared import Pt
    doc = docx.Document()
    cp = doc.core_properties
    cp.author = "aplcohort"
    cp.last_modified_by = "aplcohort"
    cp.created = cp.modified = DOCX_DATE
    cp.revision = 1
    cp.title = docx_safe_text(title)[:255]
    style = doc.styles["Normal"]
    style.font.name = font
    style.font.size = Pt(font_size)
    set_page(doc.sections[0], "portrait")
    return doc


def save_document(doc, path) -> None:
    """Save a Document with fixed zip dates (deterministic bytes)."""
    buf = io.BytesIO()
    doc.save(buf)
    with open(path, "wb") as fh:
        fh.write(_deterministic_zip(buf.getvalue()))


# ----------------------------------------------------------------------------- DOCX tables
# Why the table XML is written as text and not through python-docx's per-cell API:
# that API looks every child element up by name (``get_or_add_*``), about 70,000 calls
# and ~3 s for the 55 tables of the Min 2022 replica, while the same elements written
# as text take about a millisecond per table. The XML is exactly what python-docx wrote
# (same elements, attributes and order: checked byte for byte on every table of the
# replica when this was changed); python-docx still assembles manuscript.docx (sections,
# pictures) and reads every file back in the tests.
_W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_RUN_BREAKS = re.compile(r"[\t\r\n]")
#: Per table, the XML of its ``w:tbl`` and footnote paragraphs for each layout, so a
#: table written to ``tables/<name>.docx`` is not built again for ``manuscript.docx``.
_TABLE_XML: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _twips_of_emu(emu: int) -> int:
    return int(round(emu / 635.0))          # docx.shared.Length.twips


def _twips_mm(mm: float) -> int:
    return _twips_of_emu(int(mm * 36000))   # docx.shared.Mm


def _twips_pt(pt: float) -> int:
    return _twips_of_emu(int(pt * 12700))   # docx.shared.Pt


def _half_points(pt: float) -> int:
    return int(int(pt * 12700) / 12700.0 * 2)  # docx ST_HpsMeasure


def _xml_text(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _xml_attr(s: str) -> str:
    return (_xml_text(s).replace('"', "&quot;").replace("\n", "&#10;").replace("\r", "&#13;")
            .replace("\t", "&#9;"))


def _run_text_xml(text: str) -> str:
    """The content of a ``w:r`` holding ``text``: tab -> ``w:tab``, line break -> ``w:br``,
    runs of other characters -> ``w:t`` (``xml:space="preserve"`` when they begin or end
    with white space), as python-docx's ``Run.text``."""
    if not text:
        return ""
    out = []
    pos = 0
    for m in _RUN_BREAKS.finditer(text):
        out.append(_t_xml(text[pos:m.start()]))
        out.append("<w:tab/>" if m.group(0) == "\t" else "<w:br/>")
        pos = m.end()
    out.append(_t_xml(text[pos:]))
    return "".join(out)


def _t_xml(chunk: str) -> str:
    if not chunk:
        return ""
    sp = ' xml:space="preserve"' if len(chunk.strip()) < len(chunk) else ""
    return f"<w:t{sp}>{_xml_text(chunk)}</w:t>"


def _caption_xml(text: str) -> str:
    return ("<w:p><w:pPr><w:keepNext/></w:pPr><w:r><w:rPr><w:b/></w:rPr>"
            f"{_run_text_xml(docx_safe_text(text))}</w:r></w:p>")


def _border_xml(edges: dict) -> str:
    if not edges:
        return ""
    return ("<w:tcBorders>" + "".join(
        f'<w:{e} w:val="single" w:sz="{int(sz)}" w:space="0" w:color="000000"/>'
        for e, sz in edges.items()) + "</w:tcBorders>")


class _Tc:
    """One table cell while the table XML is built (width in twips, borders in order)."""

    __slots__ = ("width", "span", "borders", "para")

    def __init__(self, width: int):
        self.width, self.span, self.borders, self.para = width, 1, {}, "<w:p/>"

    def xml(self) -> str:
        span = f'<w:gridSpan w:val="{self.span}"/>' if self.span > 1 else ""
        return (f'<w:tc><w:tcPr><w:tcW w:type="dxa" w:w="{self.width}"/>{span}'
                f"{_border_xml(self.borders)}</w:tcPr>{self.para}</w:tc>")


def _table_body_xml(t: "JournalTable", *, font: str, font_size: float, width_mm,
                    block_emu: int) -> str:
    """``w:tbl`` + footnote paragraphs of a journal table (three rules, header rows that
    repeat on every page); ``block_emu`` is the text width of the section (python-docx's
    default cell width)."""
    # the key holds the cells too: a table whose DataFrame was changed in place since it
    # was last written is built again, never taken from the cache
    key = (font, float(font_size), width_mm, int(block_emu), tuple(map(str, t.data.columns)),
           tuple(tuple(r) for r in t._rows("")), t.indent, t.footnotes, t.spans)
    try:
        cache = _TABLE_XML.setdefault(t, {})
    except TypeError:  # pragma: no cover - a table that cannot be weakly referenced
        cache = {}
    if key in cache:
        return cache[key]
    ncol = t.data.shape[1]
    nhead = 2 if t.spans else 1
    default_w = _twips_of_emu(block_emu // ncol) if ncol else 0
    widths = _cell_widths(t)
    if width_mm is not None:
        # Arial digits are 0.556 em (1.77 mm at 9 pt), capitals up to 0.78 em; Word pads
        # each cell 1.9 mm a side
        mm_per_char, pad = 2.0 * font_size / 9.0, 4.0
        budget = int((width_mm - pad * ncol) / mm_per_char)
        if sum(widths) > budget:
            widths = _shrink(widths, budget, _cell_widths(t, words=True))
        col_mm = [w * mm_per_char + pad for w in widths]
        if sum(col_mm) > width_mm:  # words longer than the budget: scale (they wrap)
            col_mm = [c * width_mm / sum(col_mm) for c in col_mm]
        col_tw = [_twips_mm(c) for c in col_mm]
        grid_tw, layout = col_tw, "fixed"
    else:
        col_tw = [default_w] * ncol
        grid_tw, layout = col_tw, "autofit"
    fa = _xml_attr(font)
    hp = _half_points(font_size)

    def para(text, bold, align, indent=0):
        ind = f'<w:ind w:left="{_twips_pt(10 * indent)}"/>' if indent else ""
        b = "<w:b/>" if bold else '<w:b w:val="0"/>'
        return (f'<w:p><w:pPr><w:spacing w:after="0" w:before="0"/>{ind}'
                f'<w:jc w:val="{"left" if align == "left" else "center"}"/></w:pPr><w:r/>'
                f'<w:r><w:rPr><w:rFonts w:ascii="{fa}" w:hAnsi="{fa}"/>{b}<w:sz w:val="{hp}"/>'
                f"</w:rPr>{_run_text_xml(docx_safe_text(text))}</w:r></w:p>")

    rows: list[list[_Tc]] = []  # one entry per grid column (a merged cell repeats)
    if t.spans:
        top = [_Tc(default_w) for _ in range(ncol)]
        for lab, a, b in t.spans:
            cell = top[a]
            if b > a:  # python-docx merge: the first cell spans, the others go
                cell.width = sum(c.width for c in top[a:b + 1])
                cell.span = b - a + 1
                for k in range(a + 1, b + 1):
                    top[k] = cell
            cell.para = para(lab, True, "center")
            cell.borders["bottom"] = 4
        rows.append(top)
    hdr = []
    for j, col in enumerate(t.data.columns):
        # "(n = 30)" never splits over two lines
        head = re.sub(r"\(n = (\d+)\)", "(n\u00a0=\u00a0\\1)", str(col).strip())
        c = _Tc(col_tw[j])
        c.para = para(head, True, "left" if j == 0 else "center")
        hdr.append(c)
    rows.append(hdr)
    for i, cells in enumerate(t._rows("")):
        row = []
        for j, v in enumerate(cells):
            c = _Tc(col_tw[j])
            c.para = para(v, False, "left" if j == 0 else "center",
                          t.indent[i] if j == 0 else 0)
            row.append(c)
        rows.append(row)
    for j in range(ncol):
        rows[0][j].borders["top"] = 12
        hdr[j].borders["bottom"] = 8
        rows[-1][j].borders["bottom"] = 12
    out = ['<w:tbl><w:tblPr><w:tblW w:type="auto" w:w="0"/>'
           f'<w:tblLayout w:type="{layout}"/><w:tblLook w:firstColumn="1" w:firstRow="1" '
           'w:lastColumn="0" w:lastRow="0" w:noHBand="0" w:noVBand="1" w:val="04A0"/>'
           "</w:tblPr><w:tblGrid>"]
    out += [f'<w:gridCol w:w="{w}"/>' for w in grid_tw]
    out.append("</w:tblGrid>")
    for k, row in enumerate(rows):
        out.append("<w:tr><w:trPr><w:tblHeader w:val=\"true\"/></w:trPr>" if k < nhead
                   else "<w:tr>")
        seen = set()
        for c in row:
            if id(c) not in seen:
                seen.add(id(c))
                out.append(c.xml())
        out.append("</w:tr>")
    out.append("</w:tbl>")
    fhp = _half_points(max(7.0, font_size - 1))
    for f in t.footnotes:
        out.append(f'<w:p><w:pPr><w:spacing w:after="0"/></w:pPr><w:r><w:rPr><w:sz w:val="{fhp}"/>'
                   f"</w:rPr>{_run_text_xml(docx_safe_text(f))}</w:r></w:p>")
    xml = "".join(out)
    cache[key] = xml
    return xml


def _block_emu(section) -> int:
    """Text width of a python-docx section in EMU (python-docx's ``Document._block_width``)."""
    from docx.shared import Inches
    return int((section.page_width or Inches(8.5)) - (section.left_margin or Inches(1))
               - (section.right_margin or Inches(1)))


def add_table(doc, t: JournalTable, *, caption: str | None = None, font: str = "Arial",
              font_size: float = 9.0, width_mm: float | None = None):
    """Append a journal table (caption, three rules, footnotes) to a python-docx Document.

    Column widths come from the cells' natural widths, scaled to ``width_mm`` (the
    text width) when wider; header rows repeat on every page. The table's XML is built
    once per layout and reused (see :func:`_table_body_xml`). Returns the
    ``docx.table.Table``.
    """
    from docx.oxml import parse_xml
    from docx.oxml.ns import qn
    from docx.table import Table

    body = doc.element.body
    xml = _caption_xml(caption if caption is not None else t.title) + _table_body_xml(
        t, font=font, font_size=font_size, width_mm=width_mm,
        block_emu=_block_emu(doc.sections[-1]))
    frag = parse_xml(f'<w:body xmlns:w="{_W_NS}">{xml}</w:body>')
    anchor = body.find(qn("w:sectPr"))
    tbl = None
    for el in list(frag):
        if anchor is not None:
            anchor.addprevious(el)
        else:
            body.append(el)
        if el.tag == qn("w:tbl"):
            tbl = el
    return Table(tbl, doc._body)


def _zip_info(name: str) -> zipfile.ZipInfo:
    zi = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    zi.compress_type = zipfile.ZIP_DEFLATED
    zi.external_attr = 0o644 << 16
    zi.create_system = 3
    return zi


@functools.lru_cache(maxsize=16)
def _docx_template(font: str, font_size: float, orientation: str):
    """A one-table document package, built once per layout by python-docx: the zip of
    every part but ``word/document.xml`` and ``docProps/core.xml`` (compressed once), the
    document XML before and after the body content, the core properties, the text width."""
    doc = new_document(font, font_size, "")
    set_page(doc.sections[0], orientation)
    buf = io.BytesIO()
    doc.save(buf)
    src = zipfile.ZipFile(buf)
    xml = src.read("word/document.xml").decode("utf-8")
    cut = xml.rindex("<w:sectPr")
    static = io.BytesIO()
    with zipfile.ZipFile(static, "w", compression=zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            if info.filename not in ("word/document.xml", "docProps/core.xml"):
                dst.writestr(_zip_info(info.filename), src.read(info.filename))
    return (static.getvalue(), xml[:cut], xml[cut:], src.read("docProps/core.xml"),
            _block_emu(doc.sections[0]))


def _core_xml(template: bytes, title: str) -> bytes:
    from lxml import etree
    root = etree.fromstring(template)
    root.find("{http://purl.org/dc/elements/1.1/}title").text = docx_safe_text(title)[:255]
    return etree.tostring(root, encoding="UTF-8", standalone=True)


def _write_docx(t: JournalTable, path, *, font, font_size, landscape):
    """One table in its own .docx: the cached package of its layout plus its XML (same
    bytes for the same table)."""
    if landscape is None:
        landscape = t.is_wide()
    orient = "landscape" if landscape else "portrait"
    static, head, tail, core, block = _docx_template(font, float(font_size), orient)
    body = _caption_xml(t.title) + _table_body_xml(
        t, font=font, font_size=font_size, width_mm=text_width_mm(orient), block_emu=block)
    buf = io.BytesIO(static)
    with zipfile.ZipFile(buf, "a") as z:  # the static parts are copied, not recompressed
        z.writestr(_zip_info("docProps/core.xml"), _core_xml(core, t.title))
        z.writestr(_zip_info("word/document.xml"), (head + body + tail).encode("utf-8"))
    with open(path, "wb") as fh:
        fh.write(buf.getvalue())
    return Path(path)


def save_table(table: JournalTable, path_stem, formats=TABLE_FORMATS, *,
               allow_identifiers: bool = False) -> list[Path]:
    """Write a :class:`JournalTable` as ``<path_stem>.csv/.html/.tex/.docx``.

    A table that holds a column identifying patients (recorded by ``table1(...,
    allow_identifiers=True)``, or a column of the table or of its ``raw`` frame named
    like an identifier: :mod:`aplcohort.plan.identifiers`) is not written unless
    ``allow_identifiers=True``: files travel, and would list patients one by one.

    Examples
    --------
    >>> import pandas as pd, tempfile, os
    >>> t = JournalTable("T", pd.DataFrame({"a": ["x"], "b": ["1"]}), pd.DataFrame())
    >>> [p.suffix for p in save_table(t, os.path.join(tempfile.mkdtemp(), "t1"), ("csv", "tex"))]
    ['.csv', '.tex']
    """
    from ..plan.identifiers import refuse_identifiers
    recorded = (table.table_choices or {}).get("identifying columns", [])
    raw_cols = list(table.raw.columns) if isinstance(table.raw, pd.DataFrame) else []
    refuse_identifiers("save_table", [(c, "table variable", "recorded") for c in recorded]
                       + [(c, "table column", False) for c in [*table.data.columns, *raw_cols]],
                       allow_identifiers=allow_identifiers)
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
