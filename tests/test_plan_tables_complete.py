"""Every table of a plan run has its rows in every format (review 7b, findings 6, 8, 10, 12).

A plan with propensity-score blocks on the bundled synthetic replica: the one-column
"notes" tables (too few patients per coefficient, still imbalanced after adjustment) were
written with no column at all (an empty DOCX table, ``\\begin{longtable}{@{}@{}}`` that
pdflatex rejects); captions of the unadjusted results named the weighting; the ``km``
hazard-ratio table printed model term names; matplotlib's "More than 20 figures" warning
was reported as a numerical problem.
"""

import re
import shutil
import subprocess
from pathlib import Path

import docx
import pandas as pd
import pytest

from aplcohort.plan import run_plan
from aplcohort.tables.export import JournalTable

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data" / "synthetic" / "min2022.csv"
WHERE = "reinduction_regimen in ['ATO-based', 'IC']"
PS = {"method": "iptw", "estimand": "ATE", "covariates": ["age_at_relapse", "wbc_relapse"]}
GROUP = {"group": "reinduction_regimen", "where": WHERE}

PLAN = {
    "plan": "tables_complete",
    "data": {"source": str(DATA)},
    "endpoints": {"os_rel": {"endpoint": "OS", "time_zero": "relapse1", "unit": "months"}},
    "analyses": [
        {"id": "km_iptw", "kind": "km", "endpoint": "os_rel", **GROUP, "times": [12],
         "propensity": PS},
        {"id": "km_match", "kind": "km", "endpoint": "os_rel", **GROUP,
         "propensity": {"method": "matching", "covariates": ["age_at_relapse", "wbc_relapse"],
                        "caliper": 0.2}},
        {"id": "lr_iptw", "kind": "logrank", "endpoint": "os_rel", **GROUP,
         "propensity": {**PS, "estimand": "ATO"}},
        {"id": "cox_iptw", "kind": "cox", "endpoint": "os_rel", "where": WHERE,
         "covariates": ["reinduction_regimen", "age_at_relapse"],
         "propensity": {"treatment": "reinduction_regimen", **PS}},
        {"id": "km_hr", "kind": "km", "endpoint": "os_rel", "group": "reinduction_regimen",
         "hr": True},
    ],
}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("tables_complete") / "out"
    res = run_plan(PLAN, out=out, figures=False)
    return res, out


def _docx_tables(path):
    """[(header rows, data rows)] of every table of a DOCX, rows as lists of cell texts
    (header rows are the ones marked to repeat on every page)."""
    d = docx.Document(str(path))
    out = []
    for t in d.tables:
        head, body = [], []
        for r in t.rows:
            cells = [c.text for c in r.cells]
            is_head = any(el.tag.endswith("}tblHeader") for el in r._tr.iter())
            (head if is_head else body).append(cells)
        out.append((head, body))
    return out


def _stem(out, aid, name):
    return out / "tables" / (aid if name == aid else f"{aid}__{name}")


def test_every_table_has_its_rows_and_columns_in_docx_and_manuscript(run):
    res, out = run
    manuscript = _docx_tables(out / "manuscript.docx")
    k = 0
    for aid, a in res.analyses.items():
        for name, _caption, tab in a.tables:
            stem = _stem(out, aid, name)
            if isinstance(tab, JournalTable):
                want = len(tab.data)
            else:
                want = len(pd.read_csv(stem.with_suffix(".csv").with_name(stem.name + ".csv"),
                                       keep_default_na=False))
                assert want == len(tab)
            (head, body), = _docx_tables(stem.with_name(stem.name + ".docx"))
            where = f"{aid}__{name}"
            assert head and all(len(r) >= 1 for r in head), where
            assert all(len(r) >= 1 for r in body), where   # never a row without a cell
            is_terms = not isinstance(tab, JournalTable) and "term" in tab.columns
            if is_terms:   # variable headers and reference rows are added
                assert len(body) >= want, where
            else:
                assert len(body) == want, where
            # the manuscript holds the same table
            assert manuscript[k] == (head, body), where
            k += 1
    assert k == len(manuscript)


def test_propensity_notes_are_shown_in_docx_tex_and_manuscript(run):
    res, out = run
    csv = pd.read_csv(out / "tables" / "km_iptw__adjusted_notes.csv")
    notes = csv["note"].tolist()
    assert any(n.startswith("still imbalanced after adjustment") for n in notes)
    (head, body), = _docx_tables(out / "tables" / "km_iptw__adjusted_notes.docx")
    assert head == [["Note"]] and [r[0] for r in body] == notes
    text = "\n".join(p.text for p in docx.Document(str(out / "manuscript.docx")).paragraphs)
    cells = {c.text for t in docx.Document(str(out / "manuscript.docx")).tables
             for r in t.rows for c in r.cells}
    assert set(notes) <= cells
    assert re.search(r"^Table \d+\. km_iptw: notes on the propensity-score adjustment "
                     r"\(ATE weighting\)$", text, re.M)
    tex = (out / "tables" / "km_iptw__adjusted_notes.tex").read_text()
    assert "still imbalanced after adjustment" in tex


def test_no_tex_table_has_an_empty_column_spec(run):
    _, out = run
    files = [p for p in (out / "tables").glob("*.tex") if p.name != "tables.tex"]
    assert any(p.name.endswith("_notes.tex") for p in files)
    for p in files:
        text = p.read_text()
        spec = re.search(r"\\begin\{longtable\}\{@\{\}(.*)@\{\}\}", text).group(1)
        assert spec.count("p{") >= 1, p.name
        assert "\\multicolumn{0}" not in text, p.name


def test_tables_tex_with_propensity_notes_compiles(run, tmp_path):
    _, out = run
    pdflatex = shutil.which("pdflatex")
    if pdflatex is None:
        pytest.skip("pdflatex is not installed (Debian: texlive-latex-base, "
                    "texlive-latex-recommended; .ci/run installs them)")
    work = tmp_path / "tex"
    shutil.copytree(out / "tables", work)
    r = subprocess.run([pdflatex, "-interaction=nonstopmode", "-halt-on-error", "tables.tex"],
                       cwd=work, capture_output=True, text=True, timeout=300)
    log = (work / "tables.log").read_text(errors="replace")
    assert r.returncode == 0, log[-3000:]
    over = re.findall(r"Overfull \\hbox \(([\d.]+)pt too wide\)", log)
    assert not [float(x) for x in over if float(x) > 1.0], over


def test_a_table_without_columns_still_has_one_in_tex_and_docx(tmp_path):
    t = JournalTable("nothing", pd.DataFrame(index=range(2)), pd.DataFrame())
    tex = t.to_latex()
    assert "{@{}@{}}" not in tex and "\\multicolumn{0}" not in tex
    t.to_docx(tmp_path / "t.docx")
    (head, body), = _docx_tables(tmp_path / "t.docx")
    assert len(head[0]) == 1 and len(body) == 2


def test_propensity_captions_say_unadjusted_or_adjusted_with_the_analysis_id(run):
    res, out = run
    caps = [p.text for p in docx.Document(str(out / "manuscript.docx")).paragraphs
            if re.match(r"^Table \d+\. ", p.text)]
    caps = [c.split(". ", 1)[1] for c in caps]
    assert "km_iptw: median, unadjusted (without ATE weighting)" in caps
    assert "km_iptw: curve, adjusted (ATE weighting)" in caps
    assert "km_match: covariate balance before and after 1:1 matching" in caps
    assert "km_match: notes on the propensity-score adjustment (1:1 matching)" in caps
    assert ("lr_iptw: weighted log-rank test (robust score test of the weighted Cox model), "
            "adjusted (ATO weighting)") in caps
    # no unadjusted result is captioned with the weights alone
    assert not [c for c in caps if "unadjusted" in c and "without" not in c]
    # every propensity table names its analysis
    for aid, a in res.analyses.items():
        for name, caption, _ in a.tables:
            if name.startswith("adjusted_"):
                assert any(c.startswith(f"{aid}: ") and c.endswith(caption[1:]) for c in caps), \
                    caption
    test = pd.read_csv(out / "tables" / "lr_iptw__adjusted_adjusted_test.csv")
    assert test["test"].tolist() == ["robust score (weighted Cox)"]


def test_km_hazard_ratios_are_labelled_as_in_the_cox_tables(run):
    _, out = run
    (head, body), = _docx_tables(out / "tables" / "km_hr__hr.docx")
    first = [r[0] for r in body]
    assert not [c for c in first if c.startswith("reinduction_regimen")], first
    i = first.index("Reinduction")
    assert first[i + 1] == "ATO-based" and body[i + 1][1].startswith("1")   # reference
    assert {"IC", "none"} <= set(first[i + 2:])


def test_many_figures_are_not_reported_as_a_numerical_problem(tmp_path):
    import matplotlib.pyplot as plt
    plan = dict(PLAN, analyses=[dict(PLAN["analyses"][0], id=f"km_{i}") for i in range(6)])
    before = set(plt.get_fignums())
    try:
        res = run_plan(plan, figures=True)
        assert len(set(plt.get_fignums()) - before) > 20   # the run holds its figures open
    finally:
        for n in set(plt.get_fignums()) - before:
            plt.close(n)
    assert not [w for w in res.warnings if "NumericalWarning" in w], res.warnings


def test_matplotlib_runtime_warnings_are_not_numerical():
    import warnings

    from aplcohort.plan.runner import is_numerical_warning

    def msg(text, filename="aplcohort/plots/survival.py"):
        return warnings.WarningMessage(RuntimeWarning(text), RuntimeWarning, filename, 1)

    assert is_numerical_warning(msg("divide by zero encountered in log"))
    assert not is_numerical_warning(msg(
        "More than 20 figures have been opened. Figures created through the pyplot interface "
        "(`matplotlib.pyplot.figure`) are retained until explicitly closed"))
    assert not is_numerical_warning(msg("x", "/usr/lib/python3/site-packages/matplotlib/a.py"))
    assert not is_numerical_warning(warnings.WarningMessage(UserWarning("x"), UserWarning,
                                                            "f.py", 1))
