"""Mapping constants and derived columns (issue 18): safe expressions of aplcohort.expr
only (never eval), validated with messages, and going through the same typing and
checks as a column of the file."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest

from aplcohort.cohort import load, validate
from aplcohort.cohort.mapping import MappingError, load_mapping
from aplcohort.errors import CohortValidationError, DataQualityWarning

CSV = ("pid,relapse,born,fu,wbc\n"
       "P1,2015-03-02,1960-01-01,2020-01-01,12\n"
       "P2,2016-05-01,1980-06-30,2020-02-01,3\n"
       "P3,2017-01-10,,2020-03-01,\n")
MAP = {"columns": {"pid": "patient_id", "relapse": "relapse1_date", "born": "birth_date",
                   "fu": "last_followup_date", "wbc": "wbc_relapse"},
       "derive": {"disease": {"constant": "apl"},
                  "center": {"constant": "Seoul St. Mary's"},
                  "age_at_relapse": {"expression": "(relapse1_date - birth_date) / 365.25"},
                  "high_wbc": {"expression": "wbc_relapse > 10"}}}


def _load(*a, **k):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        return load(*a, **k)


def test_constants_and_expressions(tmp_path):
    f = tmp_path / "c.csv"
    f.write_text(CSV)
    c = _load(f, mapping=MAP)
    assert c.data["disease"].tolist() == ["APL"] * 3  # through the vocabulary
    assert c.data["center"].tolist() == ["Seoul St. Mary's"] * 3
    exp = [(pd.Timestamp("2015-03-02") - pd.Timestamp("1960-01-01")).days / 365.25,
           (pd.Timestamp("2016-05-01") - pd.Timestamp("1980-06-30")).days / 365.25]
    age = c.data["age_at_relapse"].tolist()
    assert age[:2] == pytest.approx(exp, rel=1e-12) and pd.isna(age[2])
    assert c.data["high_wbc"].tolist()[:2] == [True, False] and \
        c.data["high_wbc"].isna().tolist()[2]
    notes = c.source["notes"]
    assert any("disease set to the constant 'apl'" in n for n in notes)
    assert any("age_at_relapse derived from the expression" in n for n in notes)
    assert c.source["mapping"]["derive"]["disease"] == {"constant": "apl"}


def test_derived_value_checked_like_a_file_column():
    raw = pd.DataFrame({"patient_id": ["P1"], "disease": ["APL"],
                        "last_followup_date": ["2020-01-01"], "born": ["1800-01-01"]})
    rep = validate(raw, {"columns": {"born": "birth_date"},
                         "derive": {"age_at_relapse": {"expression": "(last_followup_date - "
                                                                     "birth_date) / 365.25"}}})
    # a birth date in 1800 is a date error, as in a file; a derived age at diagnosis of
    # 240 years is a range error (dictionary max 110), as in a file
    rep2 = validate(raw.assign(born="1900-01-01"),
                    {"columns": {"born": "birth_date"},
                     "derive": {"age_at_diagnosis": {"expression": "(last_followup_date - "
                                                                   "birth_date) / 365.25 * 2"}}})
    assert [p.rule for p in rep2.errors] == ["range"]
    assert rep2.errors[0].column == "age_at_diagnosis"
    assert "type_date" in [p.rule for p in rep.errors]


def test_mapping_errors_all_listed():
    with pytest.raises(MappingError) as e:
        load_mapping({"columns": {"Dx": "disease"},
                      "derive": {"disease": {"constant": "APL"},
                                 "sex": {"constant": "X"},
                                 "center": {"constant": ["a", "b"]},
                                 "x": {"expression": "__import__('os').system('id')"},
                                 "y": {"expression": "wbc.notna()"},
                                 "z": {"formula": "1"}}})
    msg = str(e.value)
    assert "6 problem(s)" in msg
    assert "derive: disease: 'disease' is also the target of a column" in msg
    assert "derive: sex: constant 'X' is not in vocabulary 'sex'" in msg
    assert "derive: center: constant: expected one value" in msg
    assert "names starting with '__' are not allowed" in msg
    assert "derive: z: expected {constant: VALUE} or {expression:" in msg


def test_unknown_column_in_expression_is_a_validation_error():
    raw = pd.DataFrame({"patient_id": ["P1"], "disease": ["APL"],
                        "last_followup_date": ["2020-01-01"]})
    with pytest.raises(CohortValidationError, match=r"\[derive\].*unknown column 'wbc'"):
        from aplcohort.cohort import from_dataframe
        from_dataframe(raw, {"derive": {"high": {"expression": "wbc > 10"}}})


def test_derive_conflicts_with_a_file_column():
    raw = pd.DataFrame({"patient_id": ["P1"], "disease": ["APL"],
                        "last_followup_date": ["2020-01-01"]})
    rep = validate(raw, {"derive": {"disease": {"constant": "AML"}}})
    assert [p.rule for p in rep.errors] == ["derive_conflict"]
    assert "already has a column 'disease'" in rep.errors[0].message


def test_expression_is_never_python(monkeypatch):
    import builtins
    called = []
    monkeypatch.setattr(builtins, "eval", lambda *a, **k: called.append(a))
    raw = pd.DataFrame({"patient_id": ["P1"], "disease": ["APL"],
                        "last_followup_date": ["2020-01-01"], "wbc_relapse": ["5"]})
    rep = validate(raw, {"derive": {"w2": {"expression": "wbc_relapse * 2"}}})
    assert rep.data["w2"].tolist() == [10.0] and called == []
