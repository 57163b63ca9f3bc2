"""A bug of aplcohort inside one analysis is said as a bug (status "error", exit 1, every
other output written), never reported as "not estimable" as if the data could not support
the analysis; and it does not stop the other analyses (before: a pandas ValueError was shown
as the reason an analysis was "not estimable", and a TypeError ended the whole run)."""

import json

import numpy as np
import pandas as pd
import pytest

import aplcohort.stats.km as km_mod
from aplcohort.errors import InputError
from aplcohort.plan import kinds
from test_plan_review7 import _run  # the plan runner on CSV input

KM = {"id": "os", "kind": "km", "endpoint": "os_rel", "group": "reinduction_regimen",
      "where": "reinduction_regimen in ['ATO-based', 'IC']"}
COUNTS = {"id": "n", "kind": "counts", "columns": ["sex"]}


def _raise(exc):
    def f(*a, **k):
        raise exc
    return f


def test_a_bug_in_one_analysis_is_an_error_and_the_others_are_written(tmp_path, capsys,
                                                                       monkeypatch):
    monkeypatch.setattr(kinds, "h_counts", _raise(TypeError("unhashable type: 'list'")))
    rc, err, _doc, out = _run(tmp_path, [KM, COUNTS], capsys)
    assert rc == 1
    assert "failed by an internal error" in err and "n" in err
    doc = json.loads((out / "results.json").read_text())
    assert doc["analyses"]["os"]["status"] == "ok"
    bad = doc["analyses"]["n"]
    assert bad["status"] == "error"
    assert "internal error in aplcohort (TypeError: unhashable type" in bad["reason"]
    assert "not a property of the data" in bad["reason"]
    assert set(doc["failed"]) == {"n"}
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "Failed by an internal error" in html
    assert "1 failed by an internal error" in html and "not estimable" not in html.split(
        "id='summary'")[1].split("</p>")[0]
    assert (out / "tables" / "os__medians.csv").exists()


def test_a_pandas_value_error_is_not_reported_as_not_estimable(tmp_path, capsys, monkeypatch):
    def ambiguous(*a, **k):
        if pd.DataFrame({"a": [1, 2]}):   # the bug: ValueError raised inside pandas
            pass
    monkeypatch.setattr(km_mod, "median_followup", ambiguous)
    rc, err, _doc, out = _run(tmp_path, [dict(KM, median_followup=True)], capsys)
    assert rc == 1, err
    doc = json.loads((out / "results.json").read_text())
    s = doc["analyses"]["os"]
    assert s["status"] == "ok"                       # the analysis stands ...
    assert s["median_followup"]["status"] == "error"  # ... its part failed by a bug
    assert "truth value of a DataFrame is ambiguous" in s["median_followup"]["reason"]
    assert s["internal_errors"] and "os" in doc["failed"]


def test_a_data_problem_stays_not_estimable(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(km_mod, "median_followup",
                        _raise(InputError("no patient censored")))
    rc, err, _doc, out = _run(tmp_path, [dict(KM, median_followup=True)], capsys)
    assert rc == 0, err
    doc = json.loads((out / "results.json").read_text())
    part = doc["analyses"]["os"]["median_followup"]
    assert part == {"status": "not estimable", "reason": "no patient censored"}
    assert doc["failed"] == {}


@pytest.mark.parametrize("make, data", [
    (lambda: np.linalg.inv(np.zeros((2, 2))), True),          # singular: the data's
    (lambda: np.percentile([1.0], 150), True),                 # numpy refuses: the data's
    (lambda: bool(pd.Series([1, 2])), False),                  # inside pandas: a bug
    (lambda: {}["x"], False),                                  # KeyError: a bug
])
def test_which_exceptions_are_the_datas(make, data):
    with pytest.raises(Exception) as info:
        make()
    assert kinds._is_data_problem(info.value) is data
