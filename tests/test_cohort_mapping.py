"""Column mappings: synonyms, institution codes, date formats, units, and mapping errors."""

from __future__ import annotations

import pandas as pd
import pytest

from aplcohort.cohort import MappingError, load, load_mapping, validate

FIX = "tests/data/cohort/"


def test_institution_sheet_with_mapping():
    c = load(FIX + "inst.csv", mapping=FIX + "inst_mapping.yaml")
    d = c.data.set_index("patient_id")
    assert c.source["delimiter"] == ";"
    assert d["disease"].tolist() == ["APL", "APL", "APL"]
    assert d["fusion"].tolist() == ["PML-RARA"] * 3
    # institution codes 1/2/3 mapped through `values`
    assert d["relapse_type"].tolist() == ["hematologic", "molecular", "extramedullary"]
    # synonyms: "ATO + ATRA", "Arsenic trioxide" -> ATO-based; "chemo" -> IC
    assert d["reinduction_regimen"].tolist() == ["ATO-based", "IC", "ATO-based"]
    assert d["response"].tolist() == ["mCR2", "CR2", "none"]
    assert d["postremission_modality"].tolist() == ["auto HSCT", "allo HSCT", "none"]
    assert d["death_cause"].tolist()[1:] == ["disease progression", "infection"]
    # dd/mm/yyyy
    assert d.loc["K-001", "relapse1_date"] == pd.Timestamp("2019-02-03")
    assert d.loc["K-002", "death_date"] == pd.Timestamp("2020-12-31")
    # /uL -> x10^9/L with the stated factor 0.001
    assert d["wbc_diagnosis"].tolist() == [2.5, 15.0, 0.8]
    assert d["sanz_risk"].tolist() == ["low", "high", "low"]
    assert c.source["mapping"]["units"]["wbc_diagnosis"]["factor"] == 0.001
    assert any("/uL x 0.001" in n for n in c.source["notes"])


def test_date_format_per_column_and_iso_always_accepted():
    m = load_mapping({"date_format": {"default": "%d/%m/%Y", "birth_date": "%Y%m%d"}})
    assert m.date_format_for("birth_date") == "%Y%m%d"
    assert m.date_format_for("death_date") == "%d/%m/%Y"
    df = pd.DataFrame({"patient_id": ["a"], "disease": ["APL"], "birth_date": ["19700601"],
                       "diagnosis_date": ["2018-01-10"], "last_followup_date": ["02/03/2020"]})
    rep = validate(df, m)
    assert rep.ok, str(rep)
    assert rep.data["birth_date"].iloc[0] == pd.Timestamp("1970-06-01")
    assert rep.data["last_followup_date"].iloc[0] == pd.Timestamp("2020-03-02")


def test_wrong_date_format_reported_with_format():
    df = pd.DataFrame({"patient_id": ["a"], "disease": ["APL"],
                       "last_followup_date": ["2020/03/02"]})
    rep = validate(df, {"date_format": "%d/%m/%Y"})
    p = rep.errors[0]
    assert p.rule == "type_date" and "%d/%m/%Y" in p.message and p.row == 2


def test_known_unit_needs_no_factor_unknown_unit_does():
    m = load_mapping({"units": {"plt_diagnosis": "/uL"}})
    assert m.units["plt_diagnosis"].factor == 1e-3
    with pytest.raises(MappingError, match="state the factor"):
        load_mapping({"units": {"wbc_diagnosis": {"from": "cells per litre"}}})


def test_code_values_must_be_canonical():
    with pytest.raises(MappingError, match="not in vocabulary 'relapse_type'"):
        load_mapping({"values": {"relapse_type": {"1": "bone marrow relapse"}}})


def test_mapping_problems_all_listed():
    with pytest.raises(MappingError) as ei:
        load_mapping({"columns": {"Pt": "patient_no", "A": "disease", "B": "disease"},
                      "values": {"death_date": {"x": "y"}, "nonsense": {}},
                      "date_format": "dd/mm/yyyy",
                      "units": {"sex": {"from": "x", "factor": 2},
                                "wbc_relapse": {"from": "/uL", "factor": -1}},
                      "colums": {}})
    msg = str(ei.value)
    for expected in ["'patient_no' is not a dictionary column", "both 'A' and 'B' map to",
                     "has no vocabulary", "'nonsense' is not a dictionary column",
                     "not a strptime format", "'sex' is not numeric", "factor must be > 0",
                     "unknown key 'colums'"]:
        assert expected in msg
    assert "8 problem(s)" in msg


def test_mapping_file_errors(tmp_path):
    with pytest.raises(MappingError, match="not found"):
        load_mapping(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("columns: [unclosed\n")
    with pytest.raises(MappingError, match="not valid YAML"):
        load_mapping(bad)
    lst = tmp_path / "list.yaml"
    lst.write_text("- a\n- b\n")
    with pytest.raises(MappingError, match="expected a mapping"):
        load_mapping(lst)


def test_unknown_code_still_reported_with_mapping():
    df = pd.DataFrame({"patient_id": ["a"], "disease": ["APL"], "relapse_type": ["9"],
                       "last_followup_date": ["2020-01-01"]})
    rep = validate(df, {"values": {"relapse_type": {"1": "hematologic"}}})
    p = rep.errors[0]
    assert (p.rule, p.column, p.value) == ("vocabulary", "relapse_type", "9")
