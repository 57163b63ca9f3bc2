"""Blank cells of the journal tables say why they are blank (docs/tables.md, "Blank cells").

A null of a result frame has its reason in the full-precision CSV (``not_estimable`` /
``not_applicable``, :mod:`aplcohort.plan.null_reasons`); the journal tables built from the
frame (per-table DOCX / TeX / HTML, ``report.html``, ``manuscript.docx``) print NE or an en
dash there with the same reason in a footnote (:mod:`aplcohort.tables.blanks`), or leave
out a column blank in every row for one not-applicable reason and say so.

Walked here: every table of ``aplcohort replicate min2022`` and of a plan with every plan
kind run through ``aplcohort.cli.main(["run", ...])`` on a copy of the bundled CSV with
blank cells (the plan of ``tests/test_null_reasons.py``). Before the rule, the multi-state
data report printed three empty columns (Row, Start, Stop), the immortal-time comparisons
an empty p beside "NE", the landmark tables empty cells and "None" for a landmark with no
patient.
"""

import dataclasses
import re
import warnings
from pathlib import Path

import docx
import lxml.html
import pandas as pd
import pytest
import yaml

from aplcohort.cli import main
from aplcohort.tables.export import latex_escape

from test_null_reasons import _every_kind_plan, blanked_cohort

SUP = "\u2070\u00b9\u00b2\u00b3\u2074\u2075\u2076\u2077\u2078\u2079"
MARKED = re.compile(rf"^(NE|NR|\u2013|\u2014)([{SUP}]*)$")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("journal_blanks")
    plan = _every_kind_plan(blanked_cohort(tmp))
    plan["output"]["tables"] = ["csv", "docx", "tex", "html"]
    p = tmp / "plan.yaml"
    p.write_text(yaml.safe_dump(plan, sort_keys=False), encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert main(["run", str(p), "--out", str(tmp / "kinds")]) == 0
        assert main(["replicate", "min2022", "--out", str(tmp / "min2022")]) in (0, None)
    return {"kinds": tmp / "kinds", "min2022": tmp / "min2022"}


# ------------------------------------------------------------------------------ readers
def _docx_tables(path: Path):
    """[(header, rows, indents, footnotes)] of a .docx: the footnotes are the paragraphs
    that follow each table."""
    d = docx.Document(str(path))
    out = []
    for t in d.tables:
        rows = [[c.text for c in r.cells] for r in t.rows]
        nhead = 2 if len(rows) > 1 and any(
            r._tr.trPr is not None and "tblHeader" in r._tr.trPr.xml for r in t.rows[1:2]) else 1
        indents = [r.cells[0].paragraphs[0].paragraph_format.left_indent or 0
                   for r in t.rows[nhead:]]
        notes = []
        el = t._tbl.getnext()
        while el is not None and el.tag.endswith("}p"):
            text = "".join(x.text or "" for x in el.iter() if x.tag.endswith("}t"))
            if not text.strip():
                break
            notes.append(text)
            el = el.getnext()
        out.append((rows[nhead - 1], rows[nhead:], indents, notes))
    return out


def _tex_rows(path: Path):
    text = path.read_text(encoding="ascii")
    body = text.split("\\endlastfoot", 1)[1].split("\\end{longtable}", 1)[0]
    rows = []
    for line in body.strip().splitlines():
        line = line.strip()
        if not line.endswith("\\\\"):
            continue
        cells = re.split(r"(?<!\\)&", line[:-2])
        rows.append([re.sub(r"^\\hspace\*\{[\d.]+em\}", "", c.strip()) for c in cells])
    return rows


def _html_tables(path: Path, cls=None):
    root = lxml.html.parse(str(path)).getroot()
    out = []
    for t in root.xpath("//table"):
        if cls is not None and t.get("class") != cls:
            continue
        head = [th.text_content() for th in t.xpath("./thead/tr[last()]/th")]
        rows = [[td.text_content() for td in tr.xpath("./td")] for tr in t.xpath("./tbody/tr")]
        out.append((head, rows))
    return out


# ------------------------------------------------------------------------------ the rule
def _layout_blank(i, j, rows, indents, notes) -> bool:
    """A cell the layout leaves blank (no value of the frame is missing there): a variable
    heading above its levels, a level row whose heading holds the variable's value (Table
    1's p), a reference row's p, a blank note (nothing to note)."""
    if i + 1 < len(rows) and indents[i + 1] > indents[i]:
        return True                                    # a heading row
    if indents[i]:
        k = max(h for h in range(i) if indents[h] < indents[i]) if i else None
        if k is not None and rows[k][j].strip():
            return True                                # the heading holds the value
    ref = any(c == "1 (reference)" for c in rows[i]) or (
        "\u2014" in rows[i] and any("reference level" in n for n in notes))
    return ref


def _problems(header, rows, indents, notes, where) -> list:
    bad = []
    for i, r in enumerate(rows):
        for j, v in enumerate(r):
            if v.strip():
                m = MARKED.match(v.strip())
                if m and m.group(2):
                    if not any(n.startswith(m.group(2) + " ") for n in notes):
                        bad.append(f"{where}: {v!r} in {header[j]!r}: no footnote {m.group(2)}")
                elif m and m.group(1) in ("\u2013", "NE", "NR"):
                    if not any(n.startswith(m.group(1) + ",") for n in notes):
                        bad.append(f"{where}: {v!r} in {header[j]!r} without its footnote")
                continue
            if header[j].strip() == "Note" or _layout_blank(i, j, rows, indents, notes):
                continue
            bad.append(f"{where}: blank cell row {i + 1} ({r[0]!r}), column {header[j]!r} "
                       "without a reason")
    return bad


def test_every_blank_of_every_journal_table_has_its_reason(runs):
    bad, n = [], 0
    for out in runs.values():
        for f in sorted((out / "tables").glob("*.docx")) + [out / "manuscript.docx"]:
            for k, (header, rows, indents, notes) in enumerate(_docx_tables(f)):
                n += 1
                bad += _problems(header, rows, indents, notes, f"{out.name}/{f.name}#{k}")
    assert n > 100
    assert not bad, "\n".join(bad[:40])


def test_tex_and_html_print_the_cells_of_the_docx(runs):
    """The same cells (dashes, NE, markers) in every format: the DOCX walk covers them."""
    for out in runs.values():
        by_header = {}
        for f in sorted((out / "tables").glob("*.docx")):
            (header, rows, _, notes), = _docx_tables(f)
            by_header.setdefault(tuple(h.replace("\u00a0", " ") for h in header), []).append(rows)
            tex = f.with_suffix(".tex")
            if tex.exists():
                assert _tex_rows(tex) == [[latex_escape(c).strip() for c in r] for r in rows], \
                    tex.name
                for note in notes:
                    assert latex_escape(note) in tex.read_text(encoding="ascii"), (tex.name, note)
            html = f.with_suffix(".html")
            if html.exists():
                (head, hrows), = _html_tables(html)
                assert hrows == rows, html.name
        seen = 0
        for head, rows in _html_tables(out / "report.html", cls="dataframe"):
            assert rows in by_header.get(tuple(head), []), (out.name, head)
            seen += 1
        assert seen >= len(by_header) - 1   # published vs reproduced: its own HTML table


def test_the_reasons_are_those_of_the_csv(runs):
    """The dash, NE and left-out columns of the multi-state report and the immortal-time
    comparison print the reason their CSV gives (one source, not written twice)."""
    t = runs["min2022"] / "tables"
    csv = pd.read_csv(t / "disease_course__transition_report.csv", keep_default_na=False)
    why = csv["not_applicable"].iloc[0].split(": ", 1)[1]
    (header, rows, _, notes), = _docx_tables(t / "disease_course__transition_report.docx")
    assert not {"Row", "Start", "Stop"} & set(header)
    assert any(n.startswith("Row, Start and Stop are not shown") and why in n for n in notes)
    assert "Row, Start and Stop are not shown" in (t / "disease_course__transition_report.tex"
                                                   ).read_text(encoding="ascii")
    csv = pd.read_csv(t / "immortal_time_transplant__comparison.csv", keep_default_na=False)
    (header, rows, _, notes), = _docx_tables(t / "immortal_time_transplant__comparison.docx")
    k = csv.index[csv["not_estimable"].str.contains("p: ")][0]
    assert rows[k][header.index("p")] == "NE"
    reason = csv["not_estimable"].iloc[k].split(": ", 1)[1]
    assert any(n.startswith("NE, not estimable") and reason in n for n in notes)
    # docs/tables.md shows these footnotes as the run writes them
    doc = (Path(__file__).resolve().parents[1] / "docs" / "tables.md").read_text(encoding="utf-8")
    for n in notes + [n for _, _, _, ns in _docx_tables(
            t / "disease_course__transition_report.docx") for n in ns]:
        assert f"  {n}\n" in doc, n


def test_the_tables_tex_of_a_replication_compiles(runs, tmp_path):
    """Footnote markers of ten and more (``¹⁰``) are one exponent in TeX: ``$^{1}^{0}$``
    stopped ``pdflatex tables.tex`` of ``aplcohort replicate min2022`` ("Double
    superscript", in the published-vs-reproduced table)."""
    import shutil
    import subprocess
    tex = (runs["min2022"] / "tables" / "published_vs_reproduced.tex").read_text(encoding="ascii")
    assert "$^{10}$" in tex and "^{1}^{0}" not in tex
    pdflatex = shutil.which("pdflatex")
    if pdflatex is None:
        pytest.skip("pdflatex is not installed (Debian: texlive-latex-base, "
                    "texlive-latex-recommended; .ci/run installs them)")
    work = tmp_path / "tex"
    shutil.copytree(runs["min2022"] / "tables", work)
    r = subprocess.run([pdflatex, "-interaction=nonstopmode", "-halt-on-error", "tables.tex"],
                       cwd=work, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, (work / "tables.log").read_text(errors="replace")[-3000:]


def test_several_reasons_get_numbered_markers():
    """Differing reasons: one numbered marker each, numbered after the table's own
    markers (TeX: exponents); identical reasons once, naming their columns; NE where the
    value is not estimable, an en dash where it is not applicable."""
    from aplcohort.tables.blanks import explain_blanks
    from aplcohort.tables.frame import format_frame
    nan = float("nan")
    df = pd.DataFrame({"group": ["A", "B", "C"], "n": [3.0, nan, 5.0],
                       "events": [1.0, nan, nan], "p": [0.2, nan, nan],
                       "rate": [0.1, nan, 0.3], "note": ["", "", ""]})
    t = format_frame(df, "Rates")
    assert t.data["n"].tolist() == ["3", "", "5"]           # the formatter leaves blanks
    why = [{}, {"n": ("not_estimable", "no patient in B"), "events": ("not_estimable",
                                                                      "no patient in B"),
                "p": ("not_applicable", "B is the reference"),
                "rate": ("not_estimable", "no patient in B")},
           {"events": ("not_applicable", "events not counted in C"),
            "p": ("not_applicable", "one test only")}]
    t = dataclasses.replace(t, footnotes=("\u00b9 an interval note.",))
    e = explain_blanks(t, why)
    rows = e.data.values.tolist()
    assert rows[1][1:] == ["NE\u00b2", "NE\u00b2", "\u2013\u00b3", "NE\u00b2"], rows
    assert rows[2][2:4] == ["\u2013\u2074", "\u2013\u2075"], rows
    assert e.footnotes == ("\u00b9 an interval note.",
                           "\u00b2 Not estimable (n, Events and Rate): no patient in B.",
                           "\u00b3 Not applicable (p): B is the reference.",
                           "\u2074 Not applicable (Events): events not counted in C.",
                           "\u2075 Not applicable (p): one test only.")
    assert "NE$^{2}$" in e.to_latex() and "--$^{3}$" in e.to_latex()
