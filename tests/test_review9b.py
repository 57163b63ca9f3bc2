"""Review 9, part B: propensity-score blocks as the reader of the tables and the manuscript
sees them (F3, F4, F6, F7, F8 of the fourth audit).

- F3: the adjusted Cox / Fine-Gray table's footnote gives the adjusted model's n and events
  and says the CI and p come from the robust (sandwich) SE (it carried the unadjusted
  model's "n = 41, events = 11" and "Wald CI; p, Wald test").
- F4: a block that could not be estimated is said in tables/ and manuscript.docx (it was in
  results.json and report.html only), for every kind that takes `propensity:`.
- F6: balance, weighted characteristics and notes use the plan's labels and proper headers;
  a label that names its unit gets no unit appended ("Age (years), years").
- F7: SMDs print with 2 decimals ("-0.0000000000000071" before).
- F8: weighted curves head and footnote their counts as weighted.

The plan runs on the bundled synthetic cohort with three blank `wbc_relapse` values (as the
audit's `blank_cov.csv`)."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from aplcohort.cli import main

docx = pytest.importorskip("docx")

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data" / "synthetic" / "min2022.csv"
TWO = "reinduction_regimen in ['ATO-based', 'IC']"
LABELS = {"reinduction_regimen": {"label": "Reinduction",
                                  "levels": {"ATO-based": "ATO reinduction",
                                             "IC": "Chemo reinduction"}},
          "age_at_diagnosis": "Age (years)", "wbc_relapse": "WBC at relapse"}
EP = {"os_rel": {"endpoint": "OS", "time_zero": "relapse1", "unit": "months"},
      "cir": {"endpoint": "CIR", "time_zero": "response", "unit": "months"}}
#: a caliper nobody meets: the adjustment cannot be made (F4)
NO_MATCH = {"treatment": "reinduction_regimen", "method": "matching",
            "covariates": ["age_at_diagnosis", "wbc_relapse"], "caliper": 0.000001}
FAIL_KINDS = {
    "f_km": {"kind": "km", "endpoint": "os_rel", "group": "reinduction_regimen"},
    "f_cif": {"kind": "cif", "endpoint": "cir", "group": "reinduction_regimen"},
    "f_cox": {"kind": "cox", "endpoint": "os_rel", "covariates": ["reinduction_regimen"]},
    "f_fg": {"kind": "finegray", "endpoint": "cir", "covariates": ["reinduction_regimen"]},
    "f_lr": {"kind": "logrank", "endpoint": "os_rel", "group": "reinduction_regimen"},
    "f_t1": {"kind": "table1", "group": "reinduction_regimen", "variables": ["sex"]},
}


def _docx_text(path) -> str:
    """Every paragraph and table cell of a .docx, one per line."""
    d = docx.Document(str(path))
    out = [p.text for p in d.paragraphs]
    for t in d.tables:
        for r in t.rows:
            out.append(" | ".join(c.text for c in r.cells))
    return "\n".join(out)


def _table_docx(out, stem) -> str:
    return _docx_text(out / "tables" / f"{stem}.docx")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("r9b")
    d = pd.read_csv(DATA, dtype=str, keep_default_na=False)
    for pid, blank in (("SYN-004", ""), ("SYN-005", "NA"), ("SYN-008", " ")):
        d.loc[d["patient_id"] == pid, "wbc_relapse"] = blank
    csv = tmp / "blank_cov.csv"
    d.to_csv(csv, index=False)
    ps2 = ["age_at_diagnosis", "wbc_relapse"]
    analyses = [
        {"id": "km_ate", "kind": "km", "endpoint": "os_rel", "group": "reinduction_regimen",
         "times": [12], "propensity": {"method": "iptw", "estimand": "ATE", "covariates": ps2}},
        {"id": "cox_iptw", "kind": "cox", "endpoint": "os_rel",
         "covariates": ["reinduction_regimen", "age_at_diagnosis"],
         "categorical": {"reinduction_regimen": "IC"},
         "propensity": {"treatment": "reinduction_regimen", "method": "iptw",
                        "estimand": "ATO", "covariates": ps2}},
        {"id": "cif_ato", "kind": "cif", "endpoint": "cir", "group": "reinduction_regimen",
         "times": [12], "propensity": {"method": "iptw", "estimand": "ATO",
                                       "covariates": ["age_at_diagnosis"]}},
        {"id": "fg_match", "kind": "finegray", "endpoint": "cir",
         "covariates": ["reinduction_regimen"],
         "propensity": {"treatment": "reinduction_regimen", "method": "matching", "ratio": 2,
                        "replace": True, "covariates": ["age_at_diagnosis"]}},
        {"id": "t1_ps", "kind": "table1", "group": "reinduction_regimen",
         "variables": ["age_at_diagnosis", "sex", "center"],
         "propensity": {"method": "iptw", "estimand": "ATE", "trim": 0.1, "covariates": ps2}},
        {"id": "lr_center", "kind": "logrank", "endpoint": "os_rel",
         "group": "reinduction_regimen",
         "propensity": {"method": "iptw", "covariates": ["age_at_diagnosis", "center"]}},
    ]
    for aid, a in FAIL_KINDS.items():
        ps = {k: v for k, v in NO_MATCH.items() if k != "treatment" or "group" not in a}
        analyses.append({"id": aid, **a, "propensity": ps})
    analyses = [{**({"figure": False} if a["kind"] not in ("table1", "logrank") else {}),
                 "where": TWO, **a} for a in analyses]
    plan = {"plan": "r9b", "data": {"source": str(csv)}, "labels": LABELS, "endpoints": EP,
            "analyses": analyses}
    path = tmp / "r9b.yaml"
    path.write_text(yaml.safe_dump(plan, allow_unicode=True), encoding="utf-8")
    out = tmp / "out"
    assert main(["run", str(path), "--out", str(out)]) == 0
    doc = json.loads((out / "results.json").read_text(encoding="utf-8"))
    return doc["analyses"], out, _docx_text(out / "manuscript.docx")


# ----------------------------------------------------------------------------- F3
def test_f3_adjusted_cox_footnote_gives_the_adjusted_models_n_events_and_robust_se(run):
    a, out, _ = run
    adj = a["cox_iptw"]["adjusted"]
    assert (adj["adjusted"]["n"], adj["adjusted"]["events"]) == (38, 10)
    text = _table_docx(out, "cox_iptw__adjusted_adjusted_terms")
    assert "n = 38, events = 10" in text
    assert "n = 41" not in text
    assert "ATO weight" in text                       # the patients are weighted
    assert "robust (sandwich) SE" in text and "Wald test" not in text
    # the unadjusted model of the block is on the unadjusted analysis's patients, model SE
    un = _table_docx(out, "cox_iptw__adjusted_unadjusted_terms")
    assert "n = 41, events = 11." in un and "Wald CI; p, Wald test" in un


def test_f3_adjusted_finegray_footnote_gives_the_matched_sample(run):
    a, out, ms = run
    adj = a["fg_match"]["adjusted"]["adjusted"]
    text = _table_docx(out, "fg_match__adjusted_adjusted_terms")
    assert f"n = {adj['n']}, events = {adj['events']}" in text
    assert adj["n"] == a["fg_match"]["adjusted"]["n"] == 22
    assert "matched sample" in text and "matching weight" in text
    assert "robust (sandwich) SE" in text
    # the manuscript carries the same footnote under the adjusted table
    block = ms.split("fg_match: terms, adjusted (1:2 matching)", 1)[1].split("Table ", 1)[0]
    assert f"n = {adj['n']}, events = {adj['events']}" in block


def test_f3_regression_table_says_which_se_the_ci_rests_on():
    from aplcohort.tables.regression import regression_table
    t = pd.DataFrame({"term": ["x"], "estimate": [1.5], "lower": [1.1], "upper": [2.0],
                      "p": [0.01], "robust_se": [0.15]})
    robust = regression_table(t, n=10, events=4, sample_note="weighted")
    assert "n = 10, events = 4 (weighted)." in robust.footnotes
    assert any("robust (sandwich) SE" in f for f in robust.footnotes)
    model = regression_table(t.assign(robust_se=np.nan))
    assert any("Wald CI; p, Wald test" in f for f in model.footnotes)


# ----------------------------------------------------------------------------- F4
@pytest.mark.parametrize("aid", sorted(FAIL_KINDS))
def test_f4_failed_adjustment_is_said_in_tables_and_manuscript(run, aid):
    a, out, ms = run
    assert a[aid]["adjusted"]["status"] == "not estimable"
    reason = a[aid]["adjusted"]["reason"]
    assert (out / "tables" / f"{aid}__adjusted_notes.csv").exists()
    text = _table_docx(out, f"{aid}__adjusted_notes")
    assert "No propensity-score adjustment: " + reason.splitlines()[0] in text
    assert f"{aid}: propensity-score adjustment (1:1 matching) not estimable" in ms
    # the unadjusted analysis stands
    assert a[aid]["status"] == "ok"


def test_f4_positivity_failure_in_the_manuscript_with_labels(run):
    a, out, ms = run
    assert a["lr_center"]["adjusted"]["status"] == "not estimable"
    text = _table_docx(out, "lr_center__adjusted_notes")
    assert "No propensity-score adjustment: positivity fails" in text
    assert "Center C" in text and "'Chemo reinduction'" in text and "'IC'" not in text
    assert "lr_center: propensity-score adjustment (ATE weighting) not estimable" in ms


# ----------------------------------------------------------------------------- F6
def test_f6_balance_table_uses_labels_and_headers(run):
    _, out, _ = run
    text = _table_docx(out, "km_ate__adjusted_balance")
    assert "SMD" in text and "Smd" not in text
    assert "Age (years)" in text and "WBC at relapse" in text
    assert "Chemo reinduction vs ATO reinduction" in text
    for raw in ("age_at_diagnosis", "wbc_relapse", "IC vs ATO-based"):
        assert raw not in text
    # the CSV keeps the codes (machine-readable, full precision)
    csv = pd.read_csv(out / "tables" / "km_ate__adjusted_balance.csv")
    assert set(csv["covariate"]) == {"age_at_diagnosis", "wbc_relapse"}


def test_f6_weighted_characteristics_table_uses_labels_and_headers(run):
    _, out, _ = run
    text = _table_docx(out, "t1_ps__adjusted_adjusted")
    for head in ("SD", "Weighted SD", "Weighted mean"):
        assert f"| {head} |" in text or f"| {head}\n" in text or text.endswith(f"| {head}")
    assert "Weighted sd" not in text and "| Sd |" not in text
    assert "Centre" in text and "Age (years)" in text and "Sex" in text
    assert "age_at_diagnosis" not in text and "center |" not in text


def test_f6_propensity_notes_use_labels(run):
    a, out, _ = run
    text = _table_docx(out, "km_ate__adjusted_notes")
    assert "group 'IC'" not in text and "wbc_relapse" not in text
    assert "(WBC at relapse)" in text           # the patients without a score
    if any("effective sample size" in n for n in a["km_ate"]["adjusted"]["notes"]):
        assert "group 'Chemo reinduction'" in text
    cox = _table_docx(out, "cox_iptw__adjusted_notes")
    assert "E-values: ATO reinduction:" in cox


def test_f6_imbalance_note_with_labels():
    from aplcohort.adjust import balance
    from aplcohort.adjust.plan import imbalance_note
    from aplcohort.tables.labels import resolve_labels
    d = pd.DataFrame({"tx": ["A"] * 6 + ["B"] * 6,
                      "age": [30, 35, 40, 45, 50, 55, 50, 55, 60, 65, 70, 75]})
    bal = balance(d, "tx", ["age"], pd.Series(1.0, index=d.index))  # adjusted = as is
    raw = imbalance_note(bal)
    assert "age (B vs A: " in raw
    lab = resolve_labels(labels={"age": "Age (years)",
                                 "tx": {"levels": {"A": "Arm A", "B": "Arm B"}}})
    shown = imbalance_note(bal, "tx", lab)
    assert "Age (years) (Arm B vs Arm A: " in shown


def test_f6_label_naming_its_unit_gets_no_unit_appended(run):
    from aplcohort.tables.labels import resolve_labels
    lab = resolve_labels(labels={"age_at_diagnosis": "Age (years)",
                                 "wbc_relapse": "WBC (×10⁹/L)"})
    assert lab.column("age_at_diagnosis") == "Age (years)"
    assert lab.column("wbc_relapse") == "WBC (×10⁹/L)"
    # a label without its unit keeps getting it
    assert resolve_labels(labels={"age_at_diagnosis": "Age"}).column("age_at_diagnosis") \
        == "Age, years"
    _, out, ms = run
    assert "Age (years), years" not in ms
    assert "Age (years)" in _table_docx(out, "cox_iptw__terms")


# ----------------------------------------------------------------------------- F7
def test_f7_smd_prints_with_two_decimals():
    from aplcohort.tables.frame import format_frame
    df = pd.DataFrame({"covariate": ["age", "age"], "level": ["", ""],
                       "comparison": ["B vs A"] * 2, "sample": ["unadjusted", "adjusted"],
                       "mean_treated": [39.1, 39.1], "mean_control": [46.3, 39.1],
                       "smd": [-0.6543, -7.1e-15], "variance_ratio": [0.71, 0.8612],
                       "note": ["", ""]})
    t = format_frame(df, "Balance")
    assert t.data["SMD"].tolist() == ["-0.65", "0.00"]
    assert t.data["Variance ratio"].tolist() == ["0.71", "0.86"]


def test_f7_no_long_numbers_in_the_balance_tables(run):
    a, out, ms = run
    tiny = [r for r in a["cif_ato"]["adjusted"]["balance"]["table"]
            if r["sample"] == "adjusted" and r["smd"] is not None]
    assert tiny and all(abs(r["smd"]) < 1e-8 for r in tiny)    # ATO balances exactly
    text = _table_docx(out, "cif_ato__adjusted_balance")
    assert "0.0000" not in text and "0.00" in text
    assert "0.000000" not in ms


# ----------------------------------------------------------------------------- F8
@pytest.mark.parametrize("aid", ["km_ate", "cif_ato"])
def test_f8_weighted_curve_counts_are_headed_and_footnoted(run, aid):
    _, out, _ = run
    text = _table_docx(out, f"{aid}__adjusted_adjusted_curve")
    assert "Weighted at risk" in text and "Weighted events" in text
    assert "weighted (pseudo-population) counts" in text
    un = _table_docx(out, f"{aid}__adjusted_unadjusted_" + ("curve" if aid == "km_ate"
                                                            else "cumulative_incidence"))
    assert "Weighted" not in un and "pseudo-population" not in un
