"""DataFrames everywhere (issue 18): run_plan(data=df), replicate(data=df),
validate(df, mapping=...) give the same checks, messages and results as a file."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pandas as pd
import pytest

from aplcohort.cohort import load, validate
from aplcohort.errors import CohortValidationError, DataQualityWarning

ROOT = Path(__file__).resolve().parent.parent
CSV = ROOT / "data" / "synthetic" / "min2022.csv"
BAD = ("Pt,Dx,relapse,FU,WBC\n"
       "P1,M3,2015-03-02,2020-01-01,\"1,5\"\n"
       "P2,APL,2016-13-01,2020-02-01,3\n"
       "P1,APL,2017-01-10,2010-03-01,NA\n")
MAP = {"columns": {"Pt": "patient_id", "Dx": "disease", "relapse": "relapse1_date",
                   "FU": "last_followup_date", "WBC": "wbc_relapse"}}


def test_validate_dataframe_same_problems_as_the_file(tmp_path):
    f = tmp_path / "bad.csv"
    f.write_text(BAD)
    with pytest.raises(CohortValidationError) as e:
        load(f, mapping=MAP)
    from_file = [str(p) for p in e.value.problems]
    df = pd.read_csv(f, dtype=str, keep_default_na=False)
    from_frame = [str(p) for p in validate(df, mapping=MAP).problems]
    assert from_frame == from_file
    assert any("decimal comma" in p for p in from_file), from_file
    assert any("[duplicate_id]" in p for p in from_file), from_file


def test_replicate_dataframe_equals_file(tmp_path):
    from aplcohort.plan import replicate, run_plan
    from aplcohort.plan.write import write_outputs
    df = pd.read_csv(CSV, dtype=str, keep_default_na=False)
    a = replicate(data=df, figures=False)
    b = run_plan("min2022", data=str(CSV), figures=False)
    c = replicate(figures=False)  # the synthetic replica, seed 2022 = the bundled file
    out = {}
    for k, res in {"a": a, "b": b, "c": c}.items():
        write_outputs(res, tmp_path / k)
        d = json.loads((tmp_path / k / "results.json").read_text(encoding="utf-8"))
        d.pop("provenance", None)
        out[k] = d
    assert out["a"] == out["b"] == out["c"]
    assert a.provenance["input_file"] == "DataFrame" and a.cohort.source["path"] == "DataFrame"


def test_run_plan_dataframe_keeps_typed_cells():
    """A DataFrame with datetime64 columns (from pandas) is not written as text and re-read:
    its dates reach the validator as dates, as from an .xlsx or a database."""
    from aplcohort.plan import run_plan
    df = pd.read_csv(CSV, dtype=str, keep_default_na=False)
    typed = df.copy()
    for c in ("relapse1_date", "last_followup_date", "death_date"):
        typed[c] = pd.to_datetime(typed[c].replace("", None)) + pd.Timedelta(hours=13)
    plan = {"data": {"source": "unused.csv"},
            "endpoints": {"os": {"endpoint": "OS", "time_zero": "relapse1", "unit": "months"}},
            "analyses": [{"id": "km", "kind": "km", "endpoint": "os"}]}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        r1 = run_plan(plan, data=typed, figures=False)
        r2 = run_plan(plan, data=df, figures=False)
    pd.testing.assert_frame_equal(r1["km"].result.table, r2["km"].result.table)


def test_dataframe_rows_named_by_its_own_index():
    from aplcohort.plan import run_plan
    df = pd.read_csv(CSV, dtype=str, keep_default_na=False)
    sub = df[df["reinduction_regimen"] == "ATO-based"]  # a filtered frame keeps its labels
    label = int(sub.index[3])
    assert label != 5  # its position + 2
    sub = sub.copy()
    sub.loc[label, "relapse1_date"] = "2015-13-01"
    rep = validate(sub)
    bad = [p for p in rep.errors if p.column == "relapse1_date"]
    assert [p.row for p in bad] == [label]
    assert "Rows are the DataFrame's index labels" in str(rep)
    plan = {"data": {"source": "unused.csv"},
            "endpoints": {"os": {"endpoint": "OS", "time_zero": "relapse1", "unit": "months"}},
            "analyses": [{"id": "km", "kind": "km", "endpoint": "os"}]}
    with pytest.raises(CohortValidationError, match=rf"row {label}, patient "):
        run_plan(plan, data=sub, figures=False)
    # a default index keeps the spreadsheet convention (position + 2)
    rep0 = validate(sub.reset_index(drop=True))
    assert [p.row for p in rep0.errors if p.column == "relapse1_date"] == [5]


def test_file_options_refused_for_a_dataframe():
    from aplcohort.cohort.io import CohortLoadError
    df = pd.DataFrame({"patient_id": ["a"], "disease": ["APL"],
                       "last_followup_date": ["2020-01-01"]})
    with pytest.raises(CohortLoadError, match="encoding, table do\\(es\\) not apply"):
        load(df, encoding="cp949", table="x")


def test_time_of_day_dropped_is_said_once_per_column():
    """A datetime column with clock times keeps its calendar dates, and the validator says
    that the times were dropped (before, they were cut silently)."""
    base = load(CSV).data
    d = base.copy()
    d["relapse1_date"] = pd.to_datetime(d["relapse1_date"]) + pd.Timedelta(hours=14)
    death = d["death_date"].astype(object)   # one cell time-zone aware, as a mixed export
    i = death.first_valid_index()
    death[i] = pd.Timestamp(death[i]).tz_localize("Asia/Seoul")
    d["death_date"] = death
    r = validate(d)
    said = [n for n in r.notes if "time of day" in n]
    assert any(n.startswith("relapse1_date: 52 cell(s)") for n in said)
    assert any(n.startswith("death_date: 1 cell(s)") for n in said)
    assert (r.data["death_date"].dropna() == base["death_date"].dropna()).all()
    assert (r.data["relapse1_date"] == base["relapse1_date"]).all()
    midnight = validate(base)
    assert not [n for n in midnight.notes if "time of day" in n]
