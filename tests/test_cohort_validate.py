"""One test per validation rule: the message names the row, the column and the rule."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest

from aplcohort.cohort import check_required, from_dataframe, validate
from aplcohort.errors import CohortValidationError, DataQualityWarning

BASE = {
    "patient_id": "A1", "disease": "APL", "fusion": "PML-RARA", "sex": "F",
    "birth_date": "1970-06-01", "age_at_diagnosis": "47.6", "diagnosis_date": "2018-01-10",
    "wbc_diagnosis": "2.5", "plt_diagnosis": "50", "sanz_risk": "low",
    "cr1_date": "2018-03-01", "relapse1_date": "2020-01-01", "relapse_type": "hematologic",
    "wbc_relapse": "3", "reinduction_regimen": "ATO", "reinduction_start_date": "2020-01-05",
    "response": "mCR2", "response_date": "2020-02-10", "anc_recovery_date": "2020-01-26",
    "plt_recovery_date": "2020-01-31", "postremission_modality": "auto HSCT",
    "postremission_start_date": "2020-04-01", "relapse2_date": "2020-09-01",
    "salvage2_modality": "allo HSCT", "salvage2_start_date": "2020-10-01",
    "death_date": "2021-01-01", "death_cause": "relapse", "last_followup_date": "2021-01-01",
    "data_cutoff_date": "2021-06-30",
}
OTHER = dict(BASE, patient_id="A2", death_date="", death_cause="", relapse2_date="",
             salvage2_modality="", salvage2_start_date="", last_followup_date="2021-03-01")


def table(**changes):
    row = dict(BASE)
    for k, v in changes.items():
        if v is DROP:
            row.pop(k)
        else:
            row[k] = v
    other = {k: v for k, v in OTHER.items() if k in row}
    return pd.DataFrame([row, other], dtype=object)


DROP = object()


def test_base_table_is_valid():
    rep = validate(table())
    assert rep.ok and not rep.warnings, str(rep)
    assert rep.data["sanz_risk"].tolist() == ["low", "low"]


def problem(rep, rule):
    found = [p for p in rep.problems if p.rule == rule]
    assert found, f"rule {rule} not reported:\n{rep}"
    return found[0]


def check(rep, rule, column, row=2, severity="error"):
    p = problem(rep, rule)
    assert p.column == column and p.row == row and p.severity == severity, str(p)
    text = str(rep)
    line = [ln for ln in text.splitlines() if f"[{rule}]" in ln][0]
    if row is not None:
        assert f"row {row}" in line
    assert f"column {column}" in line
    if severity == "error":
        with pytest.raises(CohortValidationError) as ei:
            rep.raise_if_errors()
        assert f"[{rule}]" in str(ei.value) and ei.value.problems
    return p


CASES = [
    # (changes, rule, column)
    (dict(disease=DROP), "required_column", "disease", None),
    (dict(last_followup_date=""), "required_value", "last_followup_date", 2),
    (dict(wbc_diagnosis="12,5"), "type_number", "wbc_diagnosis", 2),
    (dict(relapse1_date="2020-13-01"), "type_date", "relapse1_date", 2),
    (dict(relapse1_date="01/02/2020"), "type_date", "relapse1_date", 2),
    (dict(relapse1_date="2999-01-01"), "type_date", "relapse1_date", 2),
    (dict(postremission_modality="cord blood"), "vocabulary", "postremission_modality", 2),
    (dict(patient_id="A2"), "duplicate_id", "patient_id", 2),
    (dict(wbc_diagnosis="-1"), "range", "wbc_diagnosis", 2),
    (dict(age_at_diagnosis="130", birth_date=""), "range", "age_at_diagnosis", 2),
    (dict(last_followup_date="2199-01-01", data_cutoff_date=""), "future_date",
     "last_followup_date", 2),
    (dict(cr1_date="2017-12-01"), "date_order", "cr1_date", 2),
    (dict(relapse1_date="2018-03-01"), "date_order", "relapse1_date", 2),
    (dict(reinduction_start_date="2019-12-30"), "date_order", "reinduction_start_date", 2),
    (dict(response_date="2020-01-04"), "date_order", "response_date", 2),
    (dict(anc_recovery_date="2020-01-04"), "date_order", "anc_recovery_date", 2),
    (dict(plt_recovery_date="2020-01-04"), "date_order", "plt_recovery_date", 2),
    (dict(postremission_start_date="2020-02-01"), "date_order", "postremission_start_date", 2),
    (dict(relapse2_date="2020-02-10"), "date_order", "relapse2_date", 2),
    (dict(salvage2_start_date="2020-08-01"), "date_order", "salvage2_start_date", 2),
    (dict(death_date="2020-08-15", last_followup_date="2020-08-15"), "after_death",
     "relapse2_date", 2),
    (dict(last_followup_date="2021-02-01"), "after_death", "last_followup_date", 2),
    (dict(death_date="", death_cause="", last_followup_date="2020-08-01"),
     "followup_before_event", "last_followup_date", 2),
    (dict(death_date=""), "contradiction", "death_cause", 2),
    (dict(response="none", postremission_modality="none", postremission_start_date="",
          relapse2_date="", salvage2_modality="", salvage2_start_date=""),
     "contradiction", "response_date", 2),
    (dict(postremission_modality="none"), "contradiction", "postremission_start_date", 2),
    (dict(reinduction_regimen="none"), "contradiction", "reinduction_start_date", 2),
    (dict(relapse2_date="", salvage2_modality="none"), "contradiction", "salvage2_start_date", 2),
    (dict(age_at_diagnosis="40"), "age_birth_date_mismatch", "age_at_diagnosis", 2),
    (dict(sanz_risk="high"), "sanz_risk_mismatch", "sanz_risk", 2),
]


@pytest.mark.parametrize("changes, rule, column, row", CASES,
                         ids=[f"{c[1]}-{c[2]}" for c in CASES])
def test_error_rule(changes, rule, column, row):
    rep = validate(table(**changes))
    check(rep, rule, column, row=row)


WARN_CASES = [
    (dict(last_followup_date="2020-12-01"), "followup_before_death", "last_followup_date"),
    (dict(data_cutoff_date="2020-12-01"), "after_cutoff", "death_date"),
    (dict(response_date="", postremission_start_date=""), "response_date_missing",
     "response_date"),
    (dict(fusion="PLZF-RARA", reinduction_regimen="ATO+ATRA"), "ato_resistant_fusion",
     "reinduction_regimen"),
    (dict(fusion="NPM1-RARA", reinduction_regimen="arsenic"), "ato_non_pml_rara",
     "reinduction_regimen"),
    (dict(disease="AML", fusion="", sanz_risk=""), "ato_non_apl", "reinduction_regimen"),
    (dict(disease="AML", reinduction_regimen="IC", sanz_risk=""), "fusion_non_apl", "fusion"),
    (dict(relapse_type="molecular", wbc_relapse="25"), "molecular_relapse_high_wbc",
     "wbc_relapse"),
    (dict(hospital_number="123"), "extra_column", "hospital_number"),
]


@pytest.mark.parametrize("changes, rule, column", WARN_CASES, ids=[c[1] for c in WARN_CASES])
def test_warning_rule(changes, rule, column):
    rep = validate(table(**changes))
    row = None if rule == "extra_column" else 2
    check(rep, rule, column, row=row, severity="warning")
    assert rep.ok, str(rep)


def test_mixed_fusions_is_a_cohort_level_warning():
    df = table()
    df.loc[1, "fusion"] = "PLZF-RARA"
    df.loc[1, "reinduction_regimen"] = "IC"
    rep = validate(df)
    p = problem(rep, "mixed_fusions")
    assert p.row is None and p.severity == "warning" and "PLZF-RARA" in p.message


def test_duplicate_column_after_mapping():
    df = table()
    df["Pt"] = ["x", "y"]
    rep = validate(df, mapping={"columns": {"Pt": "patient_id"}})
    check(rep, "duplicate_column", "patient_id", row=None)


def test_mapped_column_absent_is_warning():
    rep = validate(table(), mapping={"columns": {"Centre": "center"}})
    p = problem(rep, "mapped_column_absent")
    assert p.severity == "warning" and "'Centre'" in p.message


def test_every_problem_collected_at_once():
    df = table(wbc_diagnosis="abc", relapse1_date="32/01/2020", sex="X")
    df.loc[1, "patient_id"] = "A1"
    rep = validate(df)
    rules = {p.rule for p in rep.errors}
    assert {"type_number", "type_date", "vocabulary", "duplicate_id"} <= rules
    assert len(rep.errors) >= 5  # duplicate reported on both rows
    frame = rep.to_frame()
    assert list(frame.columns) == ["severity", "row", "patient_id", "column", "value", "rule",
                                   "message", "fix"]
    assert "Rows are numbered as in the spreadsheet" in str(rep)


def test_errors_stop_loading_with_report_message():
    with pytest.raises(CohortValidationError) as ei:
        from_dataframe(table(sex="X"))
    msg = str(ei.value)
    assert "row 2" in msg and "column sex" in msg and "[vocabulary]" in msg and "Fix:" in msg


def test_warnings_kept_and_emitted():
    with pytest.warns(DataQualityWarning) as rec:
        c = from_dataframe(table(fusion="PLZF-RARA"))
    assert [p.rule for p in c.warnings] == ["ato_resistant_fusion", "mixed_fusions"]
    assert len(rec) == 2 and "[ato_resistant_fusion]" in str(rec[0].message)


def test_derived_values_recorded_not_overwritten():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        c = from_dataframe(table(sanz_risk="", age_at_diagnosis=""))
    assert c.data["sanz_risk"].tolist() == ["low", "low"]
    assert c.derived["sanz_risk"] == ["A1"]  # A2 gave "low", which agrees: kept as given
    # 1970-06-01 -> 2018-01-10 is 17390 days
    assert c.data["age_at_diagnosis"].iloc[0] == 17390 / 365.25
    # sanz risk: WBC > 10 high regardless of platelets; WBC <= 10 and PLT <= 40 intermediate
    c2 = from_dataframe(table(sanz_risk="", wbc_diagnosis="10", plt_diagnosis="40"))
    assert c2.data["sanz_risk"].iloc[0] == "intermediate"
    c3 = from_dataframe(table(sanz_risk="", wbc_diagnosis="10.1", plt_diagnosis=""))
    assert c3.data["sanz_risk"].iloc[0] == "high"


def test_missing_tokens_and_no_silent_coercion():
    rep = validate(table(death_date="NA", death_cause="n/a", relapse2_date="",
                         salvage2_modality="", salvage2_start_date=""))
    assert rep.ok, str(rep)
    assert rep.data["death_date"].isna().iloc[0]
    # "none" is a label, not a missing value
    rep = validate(table(postremission_modality="None", postremission_start_date=""))
    assert rep.data["postremission_modality"].iloc[0] == "none"


def test_check_required():
    c = from_dataframe(table(death_date=DROP, death_cause=DROP))
    with pytest.raises(CohortValidationError, match=r"\[required_column\].*death_date"):
        check_required(c.data, "OS", time_zero="relapse1")
    with pytest.raises(CohortValidationError, match="death_date"):
        check_required(c.data, "anc_recovery")
    check_required(c.data, "core", time_zero="reinduction")  # present: no error


def test_header_spelling_variants_are_read_and_noted():
    df = pd.DataFrame({"Patient ID": ["a"], "Disease": ["APL"],
                       "last-followup-date": ["2020-01-01"]})
    rep = validate(df)
    assert rep.ok, str(rep)
    assert list(rep.data.columns) == ["patient_id", "disease", "last_followup_date"]
    assert "column 'Patient ID' read as 'patient_id'" in rep.notes


def test_from_dataframe_with_mapping_dict():
    df = pd.DataFrame({"Pt": ["a"], "Dx": ["m3"], "FU": ["31/12/2020"]})
    c = from_dataframe(df, mapping={"columns": {"Pt": "patient_id", "Dx": "disease",
                                                "FU": "last_followup_date"},
                                    "date_format": "%d/%m/%Y"})
    assert c.data.iloc[0].tolist() == ["a", "APL", pd.Timestamp("2020-12-31")]
    assert c.source["mapping"]["columns"]["Dx"] == "disease"


def test_vectorised_validation_equals_row_by_row():
    # Every row-level rule checked on a whole messy table gives, row for row, the problems
    # that validating that row alone gives (same messages, same order): the vectorised
    # masks are aligned with their rows.
    import numpy as np
    base = pd.read_csv("data/synthetic/min2022.csv", dtype=str, keep_default_na=False)
    df = base.copy()
    rng = np.random.default_rng(7)
    junk = ["", "NA", ".", "x", "2020-02-30", "1,5", "1,200", "1_0", "none", "CR2", "mCR2",
            "ATO-based", "PLZF-RARA", "NPM1-RARA", "AML", "12", "-3", "2030-01-01",
            "1999-01-01", "yes", "150", "1800-01-01", "allo HSCT", "molecular", "11.5", "IC"]
    cols = list(df.columns)
    for _ in range(120):
        df.iat[rng.integers(len(df)), rng.integers(len(cols))] = junk[rng.integers(len(junk))]
    whole = validate(df)
    table_level = {"duplicate_id", "mixed_fusions", "extra_column"}
    got = [str(p) for p in whole.problems if p.row is not None and p.rule not in table_level]
    want = []
    for i in range(len(df)):
        one = validate(df.iloc[[i]].reset_index(drop=True), row_numbers=[i + 2])
        want += [str(p) for p in one.problems if p.row is not None and p.rule not in table_level]
    assert len(got) > 50
    assert sorted(got) == sorted(want)
    # within each column, cell problems come in row order
    rows_by_col = {}
    for p in whole.problems:
        if p.rule in ("type_number", "type_date", "vocabulary", "required_value", "range"):
            rows_by_col.setdefault((p.column, p.rule), []).append(p.row)
    assert all(r == sorted(r) for r in rows_by_col.values())
