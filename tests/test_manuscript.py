"""manuscript.docx and tables.tex of a plan run, read back as a reviewer would.

One small plan on the bundled synthetic replica with plan-level labels, levels, an AMA
style and "—" reference rows; the outputs are reopened with python-docx, the LaTeX is
compiled with pdflatex (skipped with the reason when pdflatex is absent) and the DOCX is
converted to PDF with LibreOffice (skipped when ``soffice`` is absent).
"""

import json
import re
import shutil
import subprocess
from pathlib import Path

import docx
import pandas as pd
import pytest

from aplcohort.plan import run_plan

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data" / "synthetic" / "min2022.csv"
WHERE_R = "reinduction_regimen in ['ATO-based', 'IC']"
WHERE_P = "postremission_modality in ['ATO-based', 'auto HSCT', 'allo HSCT']"
DASH = "\u2014"

PLAN = {
    "plan": "manuscript_test",
    "title": "Manuscript test (synthetic replica)",
    "data": {"source": str(DATA)},
    "labels": {"age_at_relapse": "Age at relapse",
               "sex": {"label": "Sex", "levels": {"M": "Male", "F": "Female"}},
               "postremission_modality": "Post-remission therapy"},
    "levels": {"sanz_risk": ["high", "intermediate", "low"]},
    "style": "ama",
    "reference_rows": DASH,
    "endpoints": {
        "os_cr2": {"endpoint": "OS", "time_zero": "response", "unit": "months",
                   "label": "Overall survival from CR2"},
        "cir_cr2": {"endpoint": "CIR", "time_zero": "response", "unit": "months",
                    "label": "Cumulative incidence of relapse from CR2"},
    },
    "analyses": [
        {"id": "t1", "kind": "table1", "title": "Baseline characteristics", "where": WHERE_R,
         "group": "reinduction_regimen", "order": ["ATO-based", "IC"],
         "variables": ["age_at_relapse", "sex", "sanz_risk", "wbc_relapse"]},
        {"id": "t1_post", "kind": "table1", "title": "Characteristics by post-remission therapy",
         "where": WHERE_P, "group": "postremission_modality", "smd": True,
         "order": ["ATO-based", "auto HSCT", "allo HSCT"],
         "variables": ["age_at_relapse", "cr1_duration_months", "sanz_risk", "frontline_regimen",
                       "wbc_relapse", "plt_relapse"]},
        {"id": "mcr2", "kind": "response", "title": "Molecular CR2", "where": WHERE_R,
         "group": "reinduction_regimen", "order": ["ATO-based", "IC"],
         "outcome": "response == 'mCR2'", "outcome_label": "mCR2"},
        {"id": "os", "kind": "km", "title": "Overall survival", "where": WHERE_P,
         "endpoint": "os_cr2", "group": "postremission_modality",
         "order": ["ATO-based", "auto HSCT", "allo HSCT"], "times": [12, 36]},
        {"id": "cox", "kind": "cox", "title": "Cox model of overall survival", "where": WHERE_P,
         "endpoint": "os_cr2", "covariates": ["postremission_modality", "age_at_relapse"],
         "categorical": {"postremission_modality": "ATO-based"}, "univariable": True},
        {"id": "cir", "kind": "cif", "title": "Relapse", "where": WHERE_P, "endpoint": "cir_cr2",
         "group": "postremission_modality", "order": ["ATO-based", "auto HSCT", "allo HSCT"],
         "times": [12]},
    ],
}
# text box of a page that fits both A4 (210 x 297 mm) and US Letter (215.9 x 279.4 mm)
# with margins of at least 25 mm
MAX_TEXT = {"portrait": (165.9, 229.4), "landscape": (229.4, 165.9)}
AMA_P = re.compile(r"^(<\.001|\.\d{2,3}|>\.99)$")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("manuscript") / "out"
    res = run_plan(PLAN, out=out)
    return res, out


def _doc_tables(d):
    """[(caption, rows of cell texts, footnotes)] of every table of a python-docx Document."""
    body = d.element.body
    out, caption, current = [], None, None
    for el in body.iterchildren():
        tag = el.tag.split("}")[1]
        if tag == "p":
            text = "".join(t.text or "" for t in el.iter() if t.tag.endswith("}t"))
            if current is not None and text and not re.match(r"^(Table|Figure) \d+\.", text):
                current[2].append(text)
                continue
            current = None
            if re.match(r"^Table \d+\.", text):
                caption = text
        elif tag == "tbl":
            t = docx.table.Table(el, d)
            rows = [[c.text for c in r.cells] for r in t.rows]
            current = (caption, rows, [])
            out.append(current)
    return out


def test_every_table_and_figure_numbered_in_order(run):
    res, out = run
    d = docx.Document(str(out / "manuscript.docx"))
    paras = [p.text for p in d.paragraphs]
    tables = [p for p in paras if re.match(r"^Table \d+\. ", p)]
    figures = [p for p in paras if re.match(r"^Figure \d+\. ", p)]
    n_tab = sum(len(a.tables) for a in res.analyses.values())
    n_fig = sum(len(a.figures) for a in res.analyses.values())
    assert n_tab >= 8 and n_fig >= 3
    assert [int(p.split()[1][:-1]) for p in tables] == list(range(1, n_tab + 1))
    assert [int(p.split()[1][:-1]) for p in figures] == list(range(1, n_fig + 1))
    assert len(d.tables) == n_tab and len(d.inline_shapes) == n_fig
    # in the order of the plan: Table 1 is the first analysis' table
    assert tables[0] == "Table 1. Baseline characteristics"
    # per-table files are written too
    names = {p.name for p in (out / "tables").iterdir()}
    assert {"t1.docx", "t1.tex", "t1.csv", "mcr2.docx", "tables.tex"} <= names


def test_pages_fit_a4_and_letter_and_wide_tables_are_landscape(run):
    _, out = run
    d = docx.Document(str(out / "manuscript.docx"))
    orients = []
    for s in d.sections:
        o = "landscape" if s.page_width > s.page_height else "portrait"
        orients.append(o)
        w = (s.page_width - s.left_margin - s.right_margin) / 36000
        h = (s.page_height - s.top_margin - s.bottom_margin) / 36000
        assert w <= MAX_TEXT[o][0] + 1e-6 and h <= MAX_TEXT[o][1] + 1e-6, (o, w, h)
    assert "landscape" in orients and "portrait" in orients
    # no table is wider than the text width of its section
    body = d.element.body
    sec_i = 0
    for el in body.iterchildren():
        if el.tag.endswith("}tbl"):
            grid = [int(g.get(docx.oxml.ns.qn("w:w"))) for g in el.iter()
                    if g.tag.endswith("}gridCol")]
            s = d.sections[sec_i]
            text_w = s.page_width - s.left_margin - s.right_margin
            assert sum(grid) * 635 <= text_w + 635 * len(grid)  # twips -> EMU, rounding
        if el.tag.endswith("}p") and any(c.tag.endswith("}sectPr") for c in el.iter()):
            sec_i += 1


def test_labels_levels_and_reference_rows_read_back(run):
    _, out = run
    tabs = _doc_tables(docx.Document(str(out / "manuscript.docx")))
    t1 = next(rows for cap, rows, _ in tabs if cap == "Table 1. Baseline characteristics")
    first = [r[0] for r in t1]
    # plan label + unit from the dictionary; dictionary label + unit; level labels
    assert "Age at relapse, years, median [IQR]" in first
    assert "WBC at relapse, \u00d710\u2079/L, median [IQR]" in first
    assert first.index("Male") < first.index("Female")
    # plan level order, not alphabetical
    i = first.index("Sanz risk, n (%)")
    assert first[i + 1:i + 4] == ["high", "intermediate", "low"]
    cox = next(rows for cap, rows, _ in tabs if cap.startswith("Table") and
               "Univariable" in rows[0])
    col = [r[0] for r in cox]
    j = col.index("Post-remission therapy")
    assert col[j + 1] == "ATO-based" and cox[j + 1][1] == DASH and cox[j + 1][3] == DASH
    assert {"auto HSCT", "allo HSCT"} <= set(col[j + 2:j + 4])
    assert "Age at relapse, years" in col
    # no internal column is shown anywhere
    for _, rows, _ in tabs:
        heads = set(rows[0]) | set(rows[1] if len(rows) > 1 else [])
        assert not heads & {"cause", "variance", "std_err", "se", "estimable", "note", "coef"}


def test_nr_ne_and_p_formats_read_back(run):
    res, out = run
    tabs = _doc_tables(docx.Document(str(out / "manuscript.docx")))
    cells = [c for _, rows, _ in tabs for r in rows[1:] for c in r]
    notes = [n for _, _, fn in tabs for n in fn]
    assert not any(re.search(r"\binf\b|\bnan\b|\bNA\b|0\.000\b", c) for c in cells)
    # medians not reached print NR, with the footnote
    med = next(rows for cap, rows, _ in tabs if "median" in cap.lower() and "Overall" in cap)
    assert any(c.startswith("NR") for r in med for c in r)
    assert any(n == "NR, not reached." for n in notes)
    # the zero-cell odds ratio (30/30 vs 3/11) is NE, with R fisher.test's numbers in a note
    m = next(rows for cap, rows, _ in tabs if "Molecular CR2" in cap)
    assert m[1][3] == "NE"
    assert any("conditional MLE infinite, exact 95% CI 9.77 to infinity" in n for n in notes)
    # every p column, whatever its name, in AMA format
    n_p = 0
    for _, rows, _ in tabs:
        head = rows[1] if rows[0][0] == "" or rows[0][1] in ("Univariable",) else rows[0]
        for j, h in enumerate(head):
            if h.strip() in ("p", "Adjusted p", "p (Cox)", "p (log-rank)") or h.startswith("p "):
                for r in rows[1:]:
                    if r[j] and r[j] != h and r[j] not in ("NE", DASH):
                        assert AMA_P.match(r[j]), (h, r[j])
                        n_p += 1
    assert n_p >= 8


def test_latex_is_ascii_reads_back_and_compiles(run, tmp_path):
    _, out = run
    tdir = out / "tables"
    doc = (tdir / "tables.tex").read_text(encoding="ascii")
    inputs = re.findall(r"\\input\{([^}]+)\}", doc)
    assert sorted(inputs) == sorted(p.name for p in tdir.glob("*.tex") if p.name != "tables.tex")
    for p in tdir.glob("*.tex"):
        p.read_bytes().decode("ascii")  # only ASCII
        assert "\\toprule" in p.read_text() or p.name == "tables.tex"
    t1 = (tdir / "t1.tex").read_text()
    assert "WBC at relapse, $\\times$10$^{9}$/L" in t1 and "$\\chi^{2}$" in t1
    assert "high" in t1 and t1.index("high") < t1.index("intermediate") < t1.index("low")
    m = (tdir / "mcr2.tex").read_text()
    assert " & NE & $<$.001 \\\\" in m
    assert "9.77 to infinity" in m
    cox = (tdir / "cox__univariable_multivariable.tex").read_text()
    assert "--- &  & --- &" in cox  # reference row in both models
    pdflatex = shutil.which("pdflatex")
    if pdflatex is None:
        pytest.skip("pdflatex is not installed (Debian: texlive-latex-base, "
                    "texlive-latex-recommended; .ci/run installs them)")
    work = tmp_path / "tex"
    shutil.copytree(tdir, work)
    r = subprocess.run([pdflatex, "-interaction=nonstopmode", "-halt-on-error", "tables.tex"],
                       cwd=work, capture_output=True, text=True, timeout=300)
    log = (work / "tables.log").read_text(errors="replace")
    assert r.returncode == 0, log[-3000:]
    assert (work / "tables.pdf").stat().st_size > 1000
    over = re.findall(r"Overfull \\hbox \(([\d.]+)pt too wide\)", log)
    assert not [float(x) for x in over if float(x) > 1.0], over  # tables fit the text width


def test_manuscript_converts_to_pdf_with_libreoffice(run, tmp_path):
    _, out = run
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        pytest.skip("LibreOffice (soffice) is not installed; the DOCX was checked with "
                    "python-docx only")
    r = subprocess.run([soffice, "--headless", f"-env:UserInstallation=file://{tmp_path}/lo",
                        "--convert-to", "pdf", "--outdir", str(tmp_path),
                        str(out / "manuscript.docx")], capture_output=True, text=True,
                       timeout=600)
    pdf = tmp_path / "manuscript.pdf"
    assert r.returncode == 0 and pdf.is_file(), r.stderr
    data = pdf.read_bytes()
    n_pages = len(re.findall(rb"/Type\s*/Page\b", data))
    d = docx.Document(str(out / "manuscript.docx"))
    assert n_pages >= len(d.tables)  # every table starts a page


def test_results_json_and_raw_csv_keep_full_precision(run):
    _, out = run
    doc = json.loads((out / "results.json").read_text())
    assert doc["analyses"]["mcr2"]["odds_ratio"] is None  # infinite: null, never a number
    ref = json.loads((ROOT / "tests" / "reference" / "tables15_fisher_zero_cells.json")
                     .read_text())["infinite"]
    assert doc["analyses"]["mcr2"]["or_lower"] == pytest.approx(ref["lower"], rel=1e-6)
    assert doc["analyses"]["mcr2"]["p"] == pytest.approx(ref["p"], rel=1e-6)
    raw = pd.read_csv(out / "tables" / "os__medians.csv")
    assert {"median", "lower", "upper", "note"} <= set(raw.columns)


def test_hostile_text_compiles_and_is_never_run_by_tex(tmp_path):
    from aplcohort.tables.export import JournalTable, latex_document
    pdflatex = shutil.which("pdflatex")
    if pdflatex is None:
        pytest.skip("pdflatex is not installed (Debian: texlive-latex-base, "
                    "texlive-latex-recommended; .ci/run installs them)")
    nasty = "\u03c7\u00b2 \u2265 3 & 100% {x} \\input{/etc/hostname}\n\nnew $1 #_~^ \x07 \u6f22 \u00e9"
    t = JournalTable(nasty, pd.DataFrame({"Characteristic": [nasty, "a"],
                                          "p": ["< 0.001", "0\u00b705"]}),
                     pd.DataFrame(), footnotes=(nasty,))
    t.to_latex(tmp_path / "t.tex")
    (tmp_path / "doc.tex").write_text(latex_document(["t.tex"]), encoding="ascii")
    r = subprocess.run([pdflatex, "-interaction=nonstopmode", "-halt-on-error", "doc.tex"],
                       cwd=tmp_path, capture_output=True, text=True, timeout=300)
    log = (tmp_path / "doc.log").read_text(errors="replace")
    assert r.returncode == 0, log[-3000:]
    assert "/etc/hostname" not in log  # \input was text, not a command
    assert "[U+0007]" in (tmp_path / "t.tex").read_text()


def test_plan_levels_order_the_groups_of_an_analysis_without_order():
    import copy
    plan = copy.deepcopy(PLAN)
    plan["levels"] = {"postremission_modality": ["allo HSCT", "auto HSCT", "ATO-based"]}
    plan["analyses"] = [dict(a) for a in PLAN["analyses"] if a["id"] in ("os", "cir")]
    plan["analyses"][0].pop("order")           # os: the plan-level levels apply
    res = run_plan(plan)
    assert list(res.analyses["os"].summary["groups"]) == ["allo HSCT", "auto HSCT", "ATO-based"]
    # an explicit `order:` wins
    assert list(res.analyses["cir"].summary["groups"]) == ["ATO-based", "auto HSCT", "allo HSCT"]


def test_same_run_same_bytes(tmp_path):
    import datetime as dt
    import hashlib
    now = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    outs = [tmp_path / "a", tmp_path / "b"]
    for o in outs:
        run_plan({**PLAN, "analyses": PLAN["analyses"][:3]}, out=o, now=now)
    for f in ("manuscript.docx", "tables/tables.tex", "tables/t1.docx", "tables/t1.tex"):
        a, b = (hashlib.sha256((o / f).read_bytes()).hexdigest() for o in outs)
        assert a == b, f
