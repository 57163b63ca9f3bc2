"""One Word file with every table and figure of a run, numbered, in order.

:func:`write_manuscript` writes ``manuscript.docx``: a title, then each item in
the order given -- tables as "Table k. caption" with their footnotes, figures as
the PNG the run wrote with "Figure k. caption" below. Pages are A4 with margins
whose text box also fits US Letter (:data:`aplcohort.tables.export.PAGE`); a
table wider than the portrait text width gets its own landscape section, and
figures are scaled to fit the text box. Same content gives the same bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError
from .export import (JournalTable, PAGE, add_table, docx_safe_text, new_document, save_document,
                     set_page, text_width_mm)

#: Largest figure height (mm) on a portrait page (text box 229 mm, room for the caption).
MAX_FIGURE_HEIGHT_MM = 200.0


@dataclass(frozen=True)
class ManuscriptItem:
    """One table or figure of the manuscript.

    Parameters
    ----------
    kind : {"table", "figure"}
    caption : str
        Without the "Table k." / "Figure k." prefix (added when written).
    table : JournalTable, optional
    figure : path of a PNG, optional
    notes : tuple of str
        Figure footnotes (tables carry their own).
    """

    kind: str
    caption: str
    table: JournalTable | None = None
    figure: Path | None = None
    notes: tuple = ()

    def __post_init__(self):
        if self.kind == "table" and not isinstance(self.table, JournalTable):
            raise InputError("a manuscript table item needs a JournalTable")
        if self.kind == "figure" and (self.figure is None or not Path(self.figure).is_file()):
            raise InputError(f"manuscript figure {self.figure!r} does not exist (the run writes "
                             "figures/<name>.png first)")
        if self.kind not in ("table", "figure"):
            raise InputError(f"manuscript item kind must be 'table' or 'figure'; got {self.kind!r}")


def _png_size(path) -> tuple[int, int]:
    """Width and height in pixels from a PNG's IHDR chunk (no imaging library needed)."""
    import struct
    with open(path, "rb") as fh:
        head = fh.read(24)
    if head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
        raise InputError(f"{path} is not a PNG file")
    return struct.unpack(">II", head[16:24])


def write_manuscript(items, path, *, title: str | None = None, font: str = "Arial",
                     font_size: float = 9.0, notes=()):
    """Write every table and figure, numbered, into one ``.docx``.

    Parameters
    ----------
    items : sequence of ManuscriptItem
    path : str or Path
    title : str, optional
        First line of the document.
    notes : sequence of str
        Paragraphs after the title (e.g. "synthetic data" or the style used).

    Returns
    -------
    dict
        ``{"tables": [captions], "figures": [captions], "landscape": [table numbers]}``,
        captions with their numbers.

    Examples
    --------
    >>> import pandas as pd, tempfile, os
    >>> t = JournalTable("Medians", pd.DataFrame({"Group": ["A"], "Median": ["NR"]}),
    ...                  pd.DataFrame())
    >>> out = write_manuscript([ManuscriptItem("table", "Medians", table=t)],
    ...                        os.path.join(tempfile.mkdtemp(), "m.docx"))
    >>> out["tables"]
    ['Table 1. Medians']
    """
    from docx.enum.section import WD_SECTION
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Mm, Pt

    doc = new_document(font, font_size, title or "Tables and figures")
    if title:
        h = doc.add_paragraph()
        r = h.add_run(docx_safe_text(title))
        r.bold = True
        r.font.size = Pt(font_size + 3)
    for n in notes:
        doc.add_paragraph(docx_safe_text(n))
    nt = nf = 0
    made = {"tables": [], "figures": [], "landscape": []}
    orient = "portrait"
    first = True
    for it in items:
        want = "landscape" if it.kind == "table" and it.table.is_wide() else "portrait"
        if want != orient:
            sec = doc.add_section(WD_SECTION.NEW_PAGE)
            set_page(sec, want)
            orient = want
        elif not first:
            doc.add_page_break()
        first = False
        if it.kind == "table":
            nt += 1
            cap = f"Table {nt}. {it.caption}"
            add_table(doc, it.table, caption=cap, font=font, font_size=font_size,
                      width_mm=text_width_mm(orient))
            made["tables"].append(cap)
            if orient == "landscape":
                made["landscape"].append(nt)
        else:
            nf += 1
            cap = f"Figure {nf}. {it.caption}"
            w_px, h_px = _png_size(it.figure)
            width = text_width_mm(orient)
            g = PAGE[orient]
            max_h = min(MAX_FIGURE_HEIGHT_MM, g["height"] - g["top"] - g["bottom"] - 25)
            height = width * h_px / w_px
            if height > max_h:
                width, height = max_h * w_px / h_px, max_h
            doc.add_picture(str(it.figure), width=Mm(width))
            doc.paragraphs[-1].alignment = WD_ALIGN_PARAGRAPH.CENTER
            doc.paragraphs[-1].paragraph_format.keep_with_next = True
            p = doc.add_paragraph()
            r = p.add_run(docx_safe_text(cap))
            r.bold = True
            for n in it.notes:
                q = doc.add_paragraph()
                q.add_run(docx_safe_text(n)).font.size = Pt(max(7.0, font_size - 1))
            made["figures"].append(cap)
    save_document(doc, path)
    return made
