"""Two blank / NA leftovers of the journal tables and figures. Each test failed on the code
before its fix.

1. Table 1 printed "NA" with no footnote for a continuous variable with no known value in a
   group (and "x (NA)" for the mean (SD) of a group with one known value): its cells come
   from one result row per group, which the rule of every table
   (:func:`aplcohort.tables.blanks.explain_blanks`) did not reach. They print NE with the
   reason of that row, the text of results.json; so do a percentage with no known value
   ("0 (NE)"), a p-value, test and SMD that are not estimable (they printed "–" with a
   footnote of their own wording).
2. The flow kind failed ("split for 'Received reinduction' must be a non-empty mapping")
   when nobody was reinduced (or nobody consolidated): the box stands with n = 0 and no
   split row is drawn.
"""

import json
from html import escape
import re
import warnings
from pathlib import Path

import docx
import pandas as pd
import pytest
import yaml

from aplcohort.cli import main
from aplcohort.tables.export import latex_escape

DATA = Path(__file__).resolve().parents[1] / "data" / "synthetic" / "min2022.csv"
SUP = "\u2070\u00b9\u00b2\u00b3\u2074\u2075\u2076\u2077\u2078\u2079"


def _run(tmp, d, analyses, tables=("csv",)):
    csv = tmp / "cohort.csv"
    d.to_csv(csv, index=False)
    types = {"types": {"const": "number"}} if "const" in d.columns else {}
    plan = {"plan": "p", "data": {"source": str(csv), **types},
            "output": {"formats": ["png"], "tables": list(tables)}, "analyses": analyses}
    p = tmp / "plan.yaml"
    p.write_text(yaml.safe_dump(plan, sort_keys=False), encoding="utf-8")
    out = tmp / "out"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert main(["run", str(p), "--out", str(out)]) == 0
    return out, json.loads((out / "results.json").read_text(encoding="utf-8"))


def _raw():
    return pd.read_csv(DATA, dtype=str, keep_default_na=False)


# ------------------------------------------------------------------------------- Table 1
@pytest.fixture(scope="module")
def table1_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("t1na")
    d = _raw()
    ic = d["reinduction_regimen"] == "IC"
    d.loc[ic, "wbc_relapse"] = ""             # no known value in IC: continuous
    d.loc[ic, "sex"] = ""                     # no known value in IC: categorical
    d["const"] = "5"                          # no variation: no test, no SMD
    return _run(tmp, d, [{"id": "t1", "kind": "table1", "group": "reinduction_regimen",
                          "variables": ["age_at_diagnosis", "wbc_relapse", "const", "sex"],
                          "where": "reinduction_regimen != 'none'", "smd": True}],
                tables=("csv", "docx", "tex", "html"))


def _docx(path):
    d = docx.Document(str(path))
    (t,) = d.tables
    rows = [[c.text for c in r.cells] for r in t.rows]
    notes = [p.text for p in d.paragraphs if p.text.strip()]
    return rows[0], rows[1:], notes


def _reason(doc, var, group, field):
    (r,) = [r for r in doc["analyses"]["t1"]["rows"]
            if r["variable"] == var and r["group"] == group
            and r["level"] in (None, "F")]
    return r["not_estimable"][field]


def _footnote_of(cell, notes):
    m = re.search(rf"NE([{SUP}]+)", cell)
    assert m, cell
    (note,) = [n for n in notes if n.startswith(m.group(1) + " ")]
    return note


def test_table1_blank_cells_print_ne_with_the_reason_of_results_json(table1_run):
    out, doc = table1_run
    header, rows, notes = _docx(out / "tables" / "t1.docx")
    text = "\n".join("\t".join(r) for r in rows)
    assert "NA" not in text and "NA" not in " ".join(notes)
    by = {r[0]: dict(zip(header, r)) for r in rows}
    ic = next(h for h in header if h.startswith("IC"))
    wbc = next(v for k, v in by.items() if k.startswith("WBC at relapse"))
    # the median of a group with no known value: NE, the footnote says why (results.json)
    note = _footnote_of(wbc[ic], notes)
    assert note.endswith(": " + _reason(doc, "wbc_relapse", "IC", "median") + ".")
    assert _reason(doc, "wbc_relapse", "IC", "median") == \
        "no known value of 'wbc_relapse' in group 'IC'"
    # p, test and SMD not estimable: NE with the reason of results.json (test_note, smd_note)
    assert _footnote_of(wbc["p"], notes).endswith(
        ": " + _reason(doc, "wbc_relapse", "IC", "p") + ".")
    assert wbc["Test"] == wbc["p"]
    assert _footnote_of(wbc["SMD"], notes).endswith(
        ": " + _reason(doc, "wbc_relapse", "IC", "smd") + ".")
    const = next(v for k, v in by.items() if k.startswith("const"))
    assert _footnote_of(const["p"], notes).endswith(
        ": no p-value: all values are identical: no test.")
    # a percentage with no known value: "0 (NE)", the reason of its row
    assert by["F"][ic].startswith("0 (NE") and by["F"][ic].endswith(")")
    assert _footnote_of(by["F"][ic], notes).endswith(
        ": " + _reason(doc, "sex", "IC", "pct") + ".")


def test_table1_tex_html_and_report_print_the_same_cells(table1_run):
    out, _ = table1_run
    header, rows, notes = _docx(out / "tables" / "t1.docx")
    tex = (out / "tables" / "t1.tex").read_text(encoding="ascii")
    html = (out / "tables" / "t1.html").read_text(encoding="utf-8")
    report = (out / "report.html").read_text(encoding="utf-8")
    csv = (out / "tables" / "t1.csv").read_text(encoding="utf-8")
    assert ",NA," not in csv and "NE\u00b9" in csv
    for n in notes[-4:]:
        assert escape(n) in html and escape(n) in report and n in csv
    assert "NE" in tex and ",NA" not in tex and "& NA" not in tex
    for n in notes[-4:]:
        assert latex_escape(n) in tex, n


def test_table1_mean_sd_of_one_known_value(tmp_path):
    d = _raw()
    ic = (d["reinduction_regimen"] == "IC").to_numpy()
    keep = ic.nonzero()[0][0]
    d.loc[ic & (d.index != keep), "wbc_relapse"] = ""   # one known value in IC: no SD
    out, doc = _run(tmp_path, d, [{"id": "t1", "kind": "table1",
                                   "group": "reinduction_regimen", "parametric": True,
                                   "variables": ["wbc_relapse"],
                                   "where": "reinduction_regimen != 'none'"}],
                    tables=("csv", "docx"))
    header, rows, notes = _docx(out / "tables" / "t1.docx")
    ic_col = header.index(next(h for h in header if h.startswith("IC")))
    cell = rows[0][ic_col]
    assert "NA" not in cell and re.fullmatch(rf"[\d.]+ \(NE[{SUP}]*\)", cell), cell
    r = next(r for r in doc["analyses"]["t1"]["rows"] if r["group"] == "IC")
    why = r["not_estimable"]["sd"]
    assert why == "one known value of 'wbc_relapse' in group 'IC': no SD"
    assert any(n.endswith(": " + why + ".") for n in notes), notes


# ---------------------------------------------------------------------------------- flow
def _nobody(d, reinduced: bool):
    """The bundled cohort with nobody reinduced, or with nobody in a post-remission group."""
    d = d.copy()
    later = ["postremission_modality", "postremission_start_date", "relapse2_date",
             "salvage2_modality", "salvage2_start_date", "status_after_salvage2", "cr3_date"]
    if not reinduced:
        d["reinduction_regimen"] = "none"
        later = ["reinduction_start_date", "response", "response_date", "anc_recovery_date",
                 "plt_recovery_date", "infection_grade3", "differentiation_syndrome", *later]
        d.loc[d["no_reinduction_reason"] == "", "no_reinduction_reason"] = "other"
    for c in later:
        d[c] = ""
    return d


@pytest.mark.parametrize("reinduced", [False, True])
def test_flow_with_an_empty_box_is_drawn(tmp_path, reinduced):
    out, doc = _run(tmp_path, _nobody(_raw(), reinduced),
                    [{"id": "flow", "kind": "flow", "title": "Flow"}])
    a = doc["analyses"]["flow"]
    assert a["status"] == "ok", a.get("reason")
    assert (out / "figures" / "flow.png").stat().st_size > 0
    steps = {s["step"]: s for s in a["steps"]["steps"]}
    empty = "Received reinduction" if not reinduced else "Post-remission treatment in CR2"
    assert steps[empty]["n_after"] == 0
    assert a["splits"][empty] == {}


def test_flow_layout_of_an_empty_box_has_no_split_row():
    from aplcohort.cohort.attrition import AttritionLog
    from aplcohort.errors import InputError
    from aplcohort.plots.flow import flow_layout
    log = AttritionLog(52, "Patients with relapsed APL")
    log.record("Received reinduction", 52, [f"p{i}" for i in range(52)], "Not reinduced")
    log.record("Post-remission treatment in CR2", 0, [], "No post-remission treatment group")
    lay = flow_layout(log, {"Received reinduction": {}, "Post-remission treatment in CR2": {}})
    assert lay["boxes"][["kind", "n"]].values.tolist() == [
        ["main", 52], ["exclusion", 52], ["main", 0], ["main", 0]]
    # a split of a box that holds patients must still count them all
    log2 = AttritionLog(5, "Patients")
    log2.record("Reinduced", 5, [], "Not reinduced")
    with pytest.raises(InputError, match="holds 5"):
        flow_layout(log2, {"Reinduced": {}})


def test_table1_of_one_group_says_why_it_has_no_p_and_no_smd(tmp_path):
    """One group left (where:): the p, test and SMD cells were blank with no reason; they
    print – (not applicable) with the reason of results.json."""
    out, doc = _run(tmp_path, _raw(), [{"id": "t1", "kind": "table1",
                                        "group": "reinduction_regimen", "smd": True,
                                        "variables": ["age_at_diagnosis", "sex"],
                                        "where": "reinduction_regimen == 'IC'"}],
                    tables=("csv", "docx"))
    header, rows, notes = _docx(out / "tables" / "t1.docx")
    r = doc["analyses"]["t1"]["rows"][0]
    assert r["not_applicable"]["p"] == "one group only: no test"
    assert r["not_applicable"]["smd"] == "one group only: no standardized mean difference"
    age = rows[0]
    for col, field in (("p", "p"), ("Test", "p"), ("SMD", "smd")):
        cell = age[header.index(col)]
        m = re.fullmatch(rf"\u2013([{SUP}]*)", cell)
        assert m, (col, cell)
        assert any(n.startswith(m.group(1) + " Not applicable")
                   and n.endswith(": " + r["not_applicable"][field] + ".") for n in notes), notes
