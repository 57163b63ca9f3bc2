"""SPSS, Stata and SAS files (issue 18), written by pyreadstat's own writers: value labels
used as codes, variable labels kept, user-missing values missing AND recorded.

SAS: pyreadstat cannot write .sas7bdat and we have no SAS to produce one legitimately,
so SAS is tested through the transport format (.xpt, written by pyreadstat); .sas7bdat
goes through the same reader function (pyreadstat.read_sas7bdat) untested here.
"""

from __future__ import annotations

import datetime as dt
import warnings

import numpy as np
import pandas as pd
import pytest

from aplcohort.cohort import load
from aplcohort.errors import CohortValidationError, DataQualityWarning, InputError

pyreadstat = pytest.importorskip("pyreadstat")


def _frame():
    return pd.DataFrame({
        "pid": ["P1", "P2", "P3", "P4"],
        "dx": [1.0, 1.0, 2.0, 1.0],
        "regimen": [1.0, 2.0, 1.0, np.nan],
        "wbc": [12.5, 99.0, 3.0, 98.0],
        "fu": [dt.date(2020, 1, 1), dt.date(2020, 2, 1), dt.date(2020, 3, 1),
               dt.date(2020, 4, 1)]})


LABELS = {"dx": {1.0: "APL", 2.0: "AML"}, "regimen": {1.0: "ATO+ATRA", 2.0: "IDA+AraC"}}
MAP = {"columns": {"pid": "patient_id", "dx": "disease", "regimen": "reinduction_regimen",
                   "wbc": "wbc_relapse", "fu": "last_followup_date"},
       "values": {"reinduction_regimen": {"ATO+ATRA": "ATO-based", "IDA+AraC": "IC"}}}


def _load(*a, **k):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        return load(*a, **k)


def test_spss_labels_and_user_missing(tmp_path):
    f = tmp_path / "c.sav"
    pyreadstat.write_sav(_frame(), str(f), column_labels={"pid": "Patient number",
                                                          "wbc": "WBC at relapse (x10^9/L)"},
                         variable_value_labels=LABELS,
                         missing_ranges={"wbc": [{"lo": 98.0, "hi": 99.0}]})
    c = _load(f, mapping=MAP)
    assert c.data["disease"].tolist() == ["APL", "APL", "AML", "APL"]
    assert c.data["reinduction_regimen"].tolist() == ["ATO-based", "IC", "ATO-based", None]
    assert c.data["wbc_relapse"].tolist()[0] == 12.5
    assert c.data["wbc_relapse"].isna().tolist() == [False, True, False, True]
    assert c.source["format"] == "spss"
    assert c.source["variable_labels"] == {"pid": "Patient number",
                                           "wbc": "WBC at relapse (x10^9/L)"}
    assert c.source["user_missing"] == [
        {"row": 3, "column": "wbc", "value": "99", "label": None},
        {"row": 5, "column": "wbc", "value": "98", "label": None}]
    assert any("2 user-missing value(s) read as missing (wbc: 2)" in n
               for n in c.source["notes"])


def test_stata_labels_and_extended_missing(tmp_path):
    f = tmp_path / "c.dta"
    df = _frame()
    df["wbc"] = pd.Series([12.5, "a", 3.0, 4.0], dtype=object)
    pyreadstat.write_dta(df, str(f), variable_value_labels={k: {int(a): b for a, b in v.items()}
                                                            for k, v in LABELS.items()},
                         missing_user_values={"wbc": ["a"]})
    c = _load(f, mapping=MAP)
    assert c.source["format"] == "stata"
    assert c.data["reinduction_regimen"].tolist() == ["ATO-based", "IC", "ATO-based", None]
    assert c.data["wbc_relapse"].isna().tolist() == [False, True, False, False]
    assert c.source["user_missing"] == [{"row": 3, "column": "wbc", "value": ".a",
                                         "label": None}]


def test_sas_transport(tmp_path):
    f = tmp_path / "c.xpt"
    df = _frame().assign(dx=["APL", "APL", "AML", "APL"]).drop(columns=["regimen"])
    pyreadstat.write_xport(df, str(f), column_labels={"pid": "Patient"})
    c = _load(f, mapping={"columns": {k: v for k, v in MAP["columns"].items()
                                      if k != "regimen"}})
    assert c.source["format"] == "sas-xport" and c.n == 4
    assert c.data["last_followup_date"].iat[3] == pd.Timestamp("2020-04-01")
    assert c.source["variable_labels"]["pid"] == "Patient"


def test_unlabelled_code_is_reported_like_a_spreadsheet(tmp_path):
    f = tmp_path / "c.sav"
    df = _frame()
    df.loc[1, "regimen"] = 7.0
    pyreadstat.write_sav(df, str(f), variable_value_labels=LABELS)
    with pytest.raises(CohortValidationError,
                       match=r"row 3, patient P2, column reinduction_regimen: value 7.0: "
                             r"\[vocabulary\] '7' is not a known"):
        load(f, mapping=MAP)


def test_damaged_and_missing_extra(tmp_path, monkeypatch):
    f = tmp_path / "bad.sav"
    f.write_bytes(b"not an spss file at all")
    with pytest.raises(InputError, match="could not be read as a SPSS file"):
        load(f)
    import builtins
    real = builtins.__import__

    def fake(name, *a, **k):
        if name == "pyreadstat":
            raise ImportError("no")
        return real(name, *a, **k)
    monkeypatch.setattr(builtins, "__import__", fake)
    with pytest.raises(InputError, match=r"aplcohort\[stats-files\]"):
        load(f)
