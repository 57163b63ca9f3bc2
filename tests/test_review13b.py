"""Review 13, part B (F2, F5, F1's immortal-time table), on the path users take: plans run
through ``aplcohort.cli.main(["run", ...])`` on a CSV file. Each test failed before its fix.

* F2: a patient whose treatment column says treated (``postremission_modality`` auto /
  allo HSCT) but whose start date is blank had a missing ``hsct_start_date``, read as
  "never transplanted" by every kind taking an ``exposure:`` date, with no exclusion.
* F5: the plain ``cox`` kind had no immortal-time guard for a treatment covariate.
* F1 (immortal-time part): the guard's comparison was at 95 % whatever the analysis's
  ``conf_level``, beside the analysis's own 90 % table.
"""

import json
from html import unescape
from pathlib import Path

import pandas as pd
import pytest
import yaml

from aplcohort.cli import main

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data" / "synthetic" / "min2022.csv"
ENDPOINTS = {"os_cr2": {"endpoint": "OS", "time_zero": "response", "unit": "months"},
             "cir_cr2": {"endpoint": "CIR", "time_zero": "response", "unit": "months"}}
CR2 = "response in ['CR2', 'mCR2']"
#: SYN-009 (allo HSCT, died) and SYN-013 (auto HSCT) lose their transplant date;
#: SYN-001 (ATO-based) loses its consolidation start
BLANKED = {"SYN-009": "allo HSCT", "SYN-013": "auto HSCT", "SYN-001": "ATO-based"}


def _data(tmp_path, extra=None) -> Path:
    d = pd.read_csv(DATA, dtype=str, keep_default_na=False)
    if extra:
        for k, v in extra.items():
            d[k] = v(d)
    for pid, mod in BLANKED.items():
        row = d["patient_id"] == pid
        assert (d.loc[row, "postremission_modality"] == mod).all()
        d.loc[row, "postremission_start_date"] = ""
    p = tmp_path / "cohort.csv"
    d.to_csv(p, index=False)
    return p


def _run(tmp_path, analyses, capsys, data, name="p"):
    plan = {"plan": name, "data": {"source": str(data)}, "endpoints": ENDPOINTS,
            "output": {"formats": ["png"], "tables": ["csv", "tex"]},
            "analyses": analyses}
    p = tmp_path / f"{name}.yaml"
    p.write_text(yaml.safe_dump(plan, sort_keys=False), encoding="utf-8")
    out = tmp_path / f"out_{name}"
    rc = main(["run", str(p), "--out", str(out)])
    cap = capsys.readouterr()
    assert rc == 0, cap.err
    return json.loads((out / "results.json").read_text()), out


def _excluded(a) -> dict:
    """{patient id: reason} of an analysis's exclusions."""
    return {i: e["reason"] for e in a.get("exclusions", []) for i in e["ids"]}


EXPOSURE_KINDS = [
    {"id": "td", "kind": "td_cox", "where": CR2, "endpoint": "os_cr2",
     "exposure": "hsct_start_date"},
    {"id": "mb", "kind": "mantel_byar", "where": CR2, "endpoint": "os_cr2",
     "exposure": "hsct_start_date"},
    {"id": "sm", "kind": "simon_makuch", "where": CR2, "endpoint": "os_cr2",
     "exposure": "hsct_start_date", "times": [12, 36]},
    {"id": "lm", "kind": "landmark", "where": CR2, "endpoint": "os_cr2",
     "exposure": "hsct_start_date", "landmarks": [3, 6]},
    {"id": "it", "kind": "immortal_time", "where": CR2, "endpoint": "os_cr2", "group": "hsct",
     "exposure": "hsct_start_date", "landmarks": [3, 6]},
    {"id": "itg", "kind": "immortal_time", "endpoint": "os_cr2",
     "where": "postremission_modality in ['ATO-based', 'auto HSCT', 'allo HSCT']",
     "group": "postremission_modality", "order": ["ATO-based", "auto HSCT", "allo HSCT"],
     "reference": "ATO-based", "exposure": "hsct_start_date"},
    {"id": "tdfg", "kind": "td_finegray", "where": CR2, "endpoint": "cir_cr2",
     "exposure": "hsct_start_date"},
]


def test_transplanted_without_a_date_leaves_every_exposure_analysis_with_the_reason(
        tmp_path, capsys):
    """F2: before, SYN-009 / SYN-013 ran as never transplanted in td_cox, mantel_byar,
    simon_makuch, landmark, td_finegray and the binary immortal_time (no exclusion);
    the group-form immortal_time was not estimable. Now each leaves with the reason and
    n + exclusions = the patients loaded."""
    doc, _ = _run(tmp_path, EXPOSURE_KINDS, capsys, _data(tmp_path))
    for spec in EXPOSURE_KINDS:
        a = doc["analyses"][spec["id"]]
        assert a["status"] == "ok", (spec["id"], a.get("reason"))
        ex = _excluded(a)
        for pid in ("SYN-009", "SYN-013"):
            assert pid in ex, (spec["id"], ex)
            assert ex[pid] == (f"transplanted (postremission_modality {BLANKED[pid]}) but "
                               "hsct_start_date missing: exposure start unknown"), spec["id"]
        # an ATO-based patient without a consolidation date is not transplanted: kept
        assert "SYN-001" not in ex or "hsct_start_date" not in ex["SYN-001"]
        assert a["n"] + sum(e["n"] for e in a["exclusions"]) == 52, spec["id"]
    # the split rows of td_cox: 2 fewer patients than before, each with one row less
    assert doc["analyses"]["it"]["check"]["table"][0]["n_start_known"] == \
        doc["analyses"]["it"]["check"]["table"][0]["n"]


def test_a_date_column_of_the_data_is_read_through_its_treatment_column(tmp_path, capsys):
    """F2, the general rule: ``exposure: postremission_start_date`` (a date column of the
    data) with ``postremission_modality`` saying treated; the ATO-based patient without a
    date leaves too. A "none" patient (not treated) without a date stays: never exposed."""
    doc, _ = _run(tmp_path, [{"id": "td", "kind": "td_cox", "where": CR2, "endpoint": "os_cr2",
                              "exposure": "postremission_start_date"}], capsys,
                  _data(tmp_path))
    a = doc["analyses"]["td"]
    ex = _excluded(a)
    for pid, mod in BLANKED.items():
        assert ex.get(pid) == (f"post-remission treatment given (postremission_modality {mod}) "
                               "but postremission_start_date missing: exposure start unknown")
    assert "SYN-005" not in ex            # postremission_modality none: never treated
    assert a["n"] + sum(e["n"] for e in a["exclusions"]) == 52


def test_an_exposure_column_of_the_users_own_means_never_when_missing(tmp_path, capsys):
    """F2: an ``exposure:`` column the data dictionary does not know: nothing says who was
    exposed, so a missing date is "never exposed" (docs/plans.md says so): no patient
    leaves for it."""
    doc, _ = _run(tmp_path, [{"id": "td", "kind": "td_cox", "where": CR2, "endpoint": "os_cr2",
                              "exposure": "my_tx_date"}], capsys,
                  _data(tmp_path, {"my_tx_date": lambda d: d["postremission_start_date"].where(
                      d["postremission_modality"].str.contains("HSCT"), "")}))
    a = doc["analyses"]["td"]
    assert not any("my_tx_date" in r for r in _excluded(a).values())
    text = (ROOT / "docs" / "plans.md").read_text(encoding="utf-8")
    assert "exposure start unknown" in text and "never exposed" in text


def test_km_guard_leaves_the_undated_transplant_out_of_its_comparison(tmp_path, capsys):
    """F2 in the curves' guard: the comparison was 'could not be made' (no start time);
    now it is made without the undated patients, who are named."""
    doc, _ = _run(tmp_path, [{"id": "km", "kind": "km", "where": CR2, "endpoint": "os_cr2",
                              "group": "hsct", "order": ["no HSCT", "HSCT"]}], capsys,
                  _data(tmp_path))
    it = doc["analyses"]["km"]["immortal_time"]
    assert "comparison" in it
    left = {i: e["reason"] for e in it["exclusions"] for i in e["ids"]}
    assert {"SYN-009", "SYN-013"} <= set(left)
    assert left["SYN-009"] == "hsct HSCT but hsct_start_date missing: treatment start unknown"
    assert all(r["n"] == doc["analyses"]["km"]["n"] - len(left) for r in it["comparison"])


@pytest.mark.parametrize("categorical", [{"hsct": "no HSCT"}, None])
def test_cox_of_a_treatment_covariate_gets_the_immortal_time_guard(tmp_path, capsys,
                                                                   categorical):
    """F5: ``cox`` with ``covariates: [hsct]`` from CR2 printed a naive transplant HR with no
    warning (finegray / cause_specific_cox / km / cif warned). With or without a
    ``categorical`` reference, the guard now warns and shows the comparison, whose naive
    row is the analysis's own model."""
    a = {"id": "cx", "kind": "cox", "where": CR2, "endpoint": "os_cr2", "covariates": ["hsct"]}
    if categorical:
        a["categorical"] = categorical
    doc, out = _run(tmp_path, [a], capsys, DATA)
    r = doc["analyses"]["cx"]
    assert any("ImmortalTimeWarning" in w and "hsct_start_date" in w for w in r["warnings"])
    cmp = pd.DataFrame(r["immortal_time"]["comparison"])
    assert cmp["method"].tolist()[:2] == ["naive (groups fixed at time zero)",
                                          "time-dependent Cox"]
    assert (out / "tables" / "cx__immortal_time.csv").exists()
    naive = cmp.iloc[0]
    terms = pd.DataFrame(r["terms"])
    est = terms.loc[terms["estimable"], "estimate"].iloc[0]
    # the comparison's reference is the untreated level 'no HSCT'; so is the model's, given
    # or not: the dictionary's order of hsct is no HSCT, HSCT (review 14, F7; without
    # categorical it was the alphabetical 'HSCT', the inverse HR)
    assert naive["term"] == "hsctHSCT"
    expected = est
    assert naive["estimate"] == pytest.approx(expected, rel=1e-9)


def test_immortal_time_table_uses_the_analysis_conf_level_and_says_it(tmp_path, capsys):
    """F1: a km at 90 % printed its immortal-time comparison at 95 % ("0.778 (0.151–4.011)"
    beside the 90 % "0.78 (0.20–3.08)"). The comparison is now at 90 %: its naive Cox row
    equals a 90 % Cox of the same groups, and caption and header say 90 %."""
    where = "postremission_modality in ['ATO-based', 'auto HSCT', 'allo HSCT']"
    doc, out = _run(tmp_path, [
        {"id": "km", "kind": "km", "where": where, "endpoint": "os_cr2",
         "group": "postremission_modality", "order": ["ATO-based", "auto HSCT", "allo HSCT"],
         "conf_level": 0.9},
        {"id": "cx", "kind": "cox", "where": where, "endpoint": "os_cr2",
         "covariates": ["postremission_modality"], "conf_level": 0.9,
         "categorical": {"postremission_modality": "ATO-based"}},
        {"id": "it", "kind": "immortal_time", "where": where, "endpoint": "os_cr2",
         "group": "postremission_modality", "reference": "ATO-based",
         "exposure": "hsct_start_date"}], capsys, DATA)
    it = doc["analyses"]["km"]["immortal_time"]
    naive = pd.DataFrame(it["comparison"]).iloc[:2].set_index("term")
    terms = pd.DataFrame(doc["analyses"]["cx"]["terms"]).set_index("term")
    for term in naive.index:
        for k in ("estimate", "lower", "upper"):
            assert naive.loc[term, k] == pytest.approx(terms.loc[term, k], rel=1e-9)
    assert it["conf_level"] == 0.9
    # cox's own guard uses its level too
    assert doc["analyses"]["cx"]["immortal_time"]["conf_level"] == 0.9
    tex = (out / "tables" / "km__immortal_time.tex").read_text(encoding="utf-8")
    assert "90\\% CI)}" in tex and "Estimate (90\\% CI)" in tex and "95\\%" not in tex
    html = unescape((out / "report.html").read_text(encoding="utf-8"))
    assert "Immortal-time check: naive vs time-dependent vs landmark (hazard ratios, 90% CI)" \
        in html
    # the immortal_time kind has no conf_level: 95 %, and its caption says so
    assert "Naive vs immortal-time-safe analyses (hazard ratios, 95% CI)" in html


def test_guard_comparison_without_undated_patients_is_the_one_without_them(tmp_path, capsys):
    """F2 in the guard of a competing-risk curve: the naive / time-dependent comparison and
    the landmark cumulative incidence made with the undated transplants left out equal those
    of a cohort where these patients are absent (they are not counted as untransplanted in
    the landmark sets either)."""
    plan = [{"id": "ci", "kind": "cif", "where": CR2, "endpoint": "cir_cr2", "group": "hsct",
             "order": ["no HSCT", "HSCT"], "cause": 1, "landmarks": [6], "times": [24]}]
    doc, _ = _run(tmp_path / "a", plan, capsys, _data(_mk(tmp_path / "a")))
    d = pd.read_csv(_data(_mk(tmp_path / "b")), dtype=str, keep_default_na=False)
    d = d[~d["patient_id"].isin(["SYN-009", "SYN-013"])]
    p = tmp_path / "b" / "without.csv"
    d.to_csv(p, index=False)
    ref, _ = _run(tmp_path / "b", plan, capsys, p)
    it, it0 = doc["analyses"]["ci"]["immortal_time"], ref["analyses"]["ci"]["immortal_time"]
    assert {i for e in it["exclusions"] for i in e["ids"]} == {"SYN-009", "SYN-013"}
    for key in ("comparison", "landmark_cif", "landmark_sets"):
        a, b = pd.DataFrame(it[key]), pd.DataFrame(it0[key])
        pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-12)


def _mk(p: Path) -> Path:
    p.mkdir(parents=True, exist_ok=True)
    return p
