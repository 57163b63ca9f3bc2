"""Audit 11 (every printed number against R), part C: the tables.

* F5: ``table1`` with ``parametric: true`` printed t-test p-values beside "median [IQR]"
  rows and a footnote saying "rank tests"; now mean (SD) rows and a footnote naming the
  Welch t-test / one-way ANOVA (API and plan kind).
* F7b: the median follow-up of a one-patient group printed "6.0 (NR–NR)"; its limits are
  not "not reached" but not estimable (the reverse Kaplan–Meier band is undefined at an
  estimate of 0; R's ``quantile`` gives NA): NE with the reason.
* F7c: the landmark tables named the exposure term ``exposure_at_landmarktx by the
  landmark``; now the label the report uses, in the CSV, DOCX and TeX tables.

Reference values: ``tests/reference/review11c.R`` -> ``tests/reference/review11c.json``
(R 4.2, survival), on ``tests/reference/data/review11c_*.csv``. Each test failed before its
fix.
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from aplcohort.cli import main
from aplcohort.stats.km import median_followup
from aplcohort.tables.frame import format_frame
from aplcohort.tables.table1 import table1

HERE = Path(__file__).parent
REF = json.loads((HERE / "reference" / "review11c.json").read_text())
NASTY = HERE / "reference" / "data" / "review11c_nasty.csv"
TD = HERE / "reference" / "data" / "review11c_td.csv"
RTOL = 1e-6


def _nan(x):
    return np.nan if x is None else float(x)


def _run(tmp_path, analyses, data, endpoints=None, tables=("csv", "docx", "tex")):
    plan = {"plan": "p", "data": {"source": str(data)}, "output": {"tables": list(tables)},
            "analyses": analyses}
    if endpoints:
        plan["endpoints"] = endpoints
    p = tmp_path / "p.yaml"
    p.write_text(yaml.safe_dump(plan, sort_keys=False), encoding="utf-8")
    out = tmp_path / "out"
    rc = main(["run", str(p), "--out", str(out)])
    assert rc == 0
    return out


def _docx_text(path):
    import docx
    d = docx.Document(str(path))
    parts = [p.text for p in d.paragraphs]
    for t in d.tables:
        for row in t.rows:
            parts.extend(c.text for c in row.cells)
    return "\n".join(parts)


# ------------------------------------------------------------------ F5: table1 parametric
def _ab():
    d = pd.read_csv(NASTY)
    return d[d["grp"].isin(["A", "B"])]


@pytest.mark.parametrize("var", ["age", "male"])
def test_parametric_table1_shows_mean_sd_and_welch_p_as_r(var):
    ref = REF["table1_parametric"][var]
    t = table1(_ab(), "grp", [var], parametric=True, kinds={var: "continuous"})
    row = t.data.iloc[0]
    assert row["Characteristic"] == f"{var}, mean (SD)"
    assert row["Test"] == "t-test"
    raw = t.raw.set_index("group")
    for g, col in (("A", "A (n = 17)"), ("B", "B (n = 17)"), ("Overall", "Overall (n = 34)")):
        r = ref["columns"][g]
        np.testing.assert_allclose(raw.at[g, "mean"], r["mean"], rtol=RTOL)
        np.testing.assert_allclose(raw.at[g, "sd"], r["sd"], rtol=RTOL)
        assert raw.at[g, "n"] == r["n"]
        assert row[col] == f"{r['mean']:.1f} ({r['sd']:.1f})"
    np.testing.assert_allclose(raw["p"].iloc[0], ref["welch_p"], rtol=RTOL)
    notes = " ".join(t.footnotes)
    assert "continuous: mean (standard deviation)" in notes
    assert "Welch t-test with 2 groups" in notes
    assert "median" not in notes and "rank test" not in notes


def test_parametric_table1_three_groups_anova_as_r():
    d = pd.read_csv(NASTY)
    d = d[d["grp"].isin(["A", "B", "C"])]
    t = table1(d, "grp", ["age"], parametric=True)
    ref = REF["table1_parametric"]["age"]
    assert t.data.iloc[0]["Characteristic"] == "age, mean (SD)"
    assert t.data.iloc[0]["Test"] == "ANOVA"
    np.testing.assert_allclose(t.raw["p"].iloc[0], ref["anova_p_abc"], rtol=RTOL)
    raw = t.raw.set_index("group")
    for g in ("A", "B", "C"):
        np.testing.assert_allclose(raw.at[g, "mean"], ref["columns_abc"][g]["mean"], rtol=RTOL)
        np.testing.assert_allclose(raw.at[g, "sd"], ref["columns_abc"][g]["sd"], rtol=RTOL)
    assert "one-way ANOVA" in " ".join(t.footnotes)


def test_rank_tests_keep_median_iqr_and_an_explicit_summary_is_named():
    t = table1(_ab(), "grp", ["age"])
    assert t.data.iloc[0]["Characteristic"] == "age, median [IQR]"
    notes = " ".join(t.footnotes)
    assert "continuous: median [interquartile range]" in notes
    assert "rank tests" in notes and "Welch" not in notes
    # parametric tests beside a summary asked for explicitly: the footnote says what is shown
    t = table1(_ab(), "grp", ["age"], parametric=True, summary="median")
    assert t.data.iloc[0]["Characteristic"] == "age, median [IQR]"
    assert t.data.iloc[0]["Test"] == "t-test"
    notes = " ".join(t.footnotes)
    assert "continuous: median [interquartile range]" in notes and "Welch t-test" in notes
    # a mapping naming one variable: the others follow the tests
    t = table1(_ab(), "grp", ["age", "male"], parametric=True, summary={"age": "median"},
               kinds={"male": "continuous"})
    assert t.data["Characteristic"].tolist()[::2] == ["age, median [IQR]", "male, mean (SD)"]
    assert "continuous: as labelled" in " ".join(t.footnotes)


def test_plan_table1_parametric_rows_and_footnote(tmp_path):
    out = _run(tmp_path, [{"id": "t1p", "kind": "table1", "group": "grp",
                           "where": "grp in ['A', 'B']", "variables": ["age", "st"],
                           "parametric": True}], NASTY)
    csv = (out / "tables" / "t1p.csv").read_text(encoding="utf-8")
    ref = REF["table1_parametric"]["age"]["columns"]["A"]
    assert f"age, mean (SD)\",{ref['mean']:.1f} ({ref['sd']:.1f})" in csv
    assert "median" not in csv and "rank tests" not in csv
    assert "Welch t-test with 2 groups" in csv
    docx_text = _docx_text(out / "tables" / "t1p.docx")
    assert "age, mean (SD)" in docx_text and "median" not in docx_text


# ------------------------------------------------------------------ F7b: follow-up limits
def test_median_followup_limits_undefined_are_not_estimable_as_r():
    d = pd.read_csv(NASTY)
    fu = median_followup(d["time"], d["event"], d["grp"]).set_index("group")
    ref = REF["median_followup"]
    for k, g in enumerate(ref["group"]):
        for key in ("median", "lower", "upper"):
            np.testing.assert_allclose(fu.at[g, key], _nan(ref[key][k]), rtol=RTOL,
                                       equal_nan=True, err_msg=f"{g} {key}")
    curve = pd.DataFrame(ref["curve"]).astype({"lower": float, "upper": float})
    # R: group D's only row is S = 0 with SE NaN and no band; B's band is defined throughout
    assert curve[curve.group == "D"][["lower", "upper"]].isna().all().all()
    assert curve[curve.group == "B"][["lower", "upper"]].notna().all().all()
    note = fu["note"]
    assert note["D"].startswith("confidence limits not estimable")
    assert "undefined from time 6" in note["D"] and "estimate of 0" in note["D"]
    assert "not reached" not in note["D"]
    assert note["C"].startswith("upper confidence limit not estimable")
    assert "undefined from time 11" in note["C"]
    assert note["B"] == "upper confidence limit not reached"


def test_median_followup_table_prints_ne_with_reason_not_nr():
    d = pd.read_csv(NASTY)
    fu = median_followup(d["time"], d["event"], d["grp"])
    t = format_frame(fu, "Median follow-up")
    cells = dict(zip(t.data["Group"], t.data["Median (95% CI)"]))
    assert cells == {"A": "NR (5.0–NR)", "B": "9.0 (6.0–NR)", "C": "9.0 (6.0–NE)",
                     "D": "6.0 (NE–NE)"}
    ne = next(f for f in t.footnotes if f.startswith("NE, not estimable"))
    assert "D: confidence limits not estimable" in ne and "C: upper confidence limit" in ne
    assert "NR, not reached." in t.footnotes   # A and B still have a limit not reached


def test_plan_median_followup_one_patient_group(tmp_path):
    out = _run(tmp_path, [{"id": "km", "kind": "km", "endpoint": "os", "group": "grp",
                           "median_followup": True, "figure": False}], NASTY,
               endpoints={"os": {"time": "time", "event": "event"}})
    csv = pd.read_csv(out / "tables" / "km__median_followup.csv").set_index("group")
    assert csv.at["D", "note"].startswith("confidence limits not estimable")
    text = _docx_text(out / "tables" / "km__median_followup.docx")
    assert "6.0 (NE–NE)" in text and "NR–NR" not in text
    tex = (out / "tables" / "km__median_followup.tex").read_text(encoding="utf-8")
    assert "6.0 (NE--NE)" in tex


# ------------------------------------------------------------------ F7c: landmark label
def test_landmark_tables_name_the_exposure_term_by_its_label(tmp_path):
    out = _run(tmp_path, [{"id": "lm", "kind": "landmark", "endpoint": "os", "exposure": "tx",
                           "landmarks": [3], "covariates": ["age"]}], TD,
               endpoints={"os": {"time": "time", "event": "event"}})
    label = "Exposure known at the landmark: tx by the landmark"
    ref = REF["landmark"]
    summ = pd.read_csv(out / "tables" / "lm__summary.csv")
    terms = pd.read_csv(out / "tables" / "lm__terms.csv")
    assert summ["term"].tolist() == [label]
    assert terms["term"].tolist() == [label, "age"]
    np.testing.assert_allclose(summ["estimate"].iloc[0], ref["hr"], rtol=RTOL)
    np.testing.assert_allclose(summ["p_cox"].iloc[0], ref["p"], rtol=RTOL)
    assert summ["n"].iloc[0] == ref["n"] and summ["events"].iloc[0] == ref["events"]
    for stem in ("lm__summary", "lm__terms"):
        assert label in _docx_text(out / "tables" / f"{stem}.docx")
        tex = (out / "tables" / f"{stem}.tex").read_text(encoding="utf-8")
        assert label in tex and "exposure_at_landmark" not in tex
    assert "exposure_at_landmarktx" not in (out / "report.html").read_text(encoding="utf-8")
