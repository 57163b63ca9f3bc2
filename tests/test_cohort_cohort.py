"""Cohort: from_dataframe, filter with attrition, summary."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from aplcohort.cohort import Cohort, from_dataframe
from aplcohort.errors import InputError


@pytest.fixture
def cohort() -> Cohort:
    return from_dataframe(pd.DataFrame({
        "patient_id": ["a", "b", "c", "d"], "disease": ["APL", "APL", "AML", "APL"],
        "reinduction_regimen": ["ATO", "IC", "IC", "none"],
        "last_followup_date": ["2020-01-01"] * 4}))


def test_filter_records_attrition(cohort):
    c1 = cohort.filter(lambda d: d["disease"] == "APL", step="APL only", reason="not APL")
    c2 = c1.filter(c1.data["reinduction_regimen"] != "none", step="reinduced",
                   reason="not reinduced")
    c3 = c2.filter("reinduction_regimen == 'ATO-based'", step="ATO", reason="IC")
    assert (c1.n, c2.n, c3.n) == (3, 2, 1)
    steps = c3.attrition.steps
    assert [(s.step, s.n_before, s.n_after, s.excluded_ids, s.reason) for s in steps] == [
        ("APL only", 4, 3, ("c",), "not APL"),
        ("reinduced", 3, 2, ("d",), "not reinduced"),
        ("ATO", 2, 1, ("b",), "IC")]
    assert len(cohort.attrition) == 0 and cohort.n == 4  # original untouched
    assert c3.attrition.n_start == 4
    assert c3.data["patient_id"].tolist() == ["a"]
    frame = c3.attrition.to_frame()
    assert frame["n_excluded"].tolist() == [1, 1, 1]


def test_filter_refuses_missing_or_bad_masks(cohort):
    with pytest.raises(InputError, match="missing for patients"):
        cohort.filter(pd.Series([True, None, True, False]), step="s", reason="r")
    with pytest.raises(InputError, match="4 patients"):
        cohort.filter(np.array([True, False]), step="s", reason="r")
    with pytest.raises(InputError, match="booleans"):
        cohort.filter([1, 0, 1, 0], step="s", reason="r")
    with pytest.raises(InputError, match="step name and a reason"):
        cohort.filter([True] * 4, step="", reason="r")
    with pytest.raises(InputError, match="cannot evaluate"):
        cohort.filter("no_such_column > 1", step="s", reason="r")


def test_summary_and_repr(cohort):
    s = cohort.summary()
    assert s["n"] == 4 and s["disease"] == {"AML": 1, "APL": 3}
    assert s["reinduction_regimen"] == {"ATO-based": 1, "IC": 2, "none": 1}
    assert "Cohort(n=4" in repr(cohort)
    assert "<table" in cohort._repr_html_()


def test_from_dataframe_rejects_non_frames_and_empty():
    with pytest.raises(InputError):
        from_dataframe([{"patient_id": "a"}])
    with pytest.raises(InputError, match="empty"):
        from_dataframe(pd.DataFrame())


def test_from_dataframe_accepts_typed_columns():
    c = from_dataframe(pd.DataFrame({
        "patient_id": [1, 2], "disease": ["APL", "APL"],
        "last_followup_date": pd.to_datetime(["2020-01-01", "2020-06-01"]),
        "wbc_diagnosis": [1.5, 20], "infection_grade3": [True, False]}))
    assert c.data["patient_id"].tolist() == ["1", "2"]
    assert c.data["wbc_diagnosis"].tolist() == [1.5, 20.0]
    assert c.data["infection_grade3"].tolist() == [True, False]
    assert c.data["sanz_risk"].tolist()[1] == "high"
