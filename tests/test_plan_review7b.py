"""Findings of a user's second audit (session 7b), checked on the path users take: a plan
run on a CSV file (or the CLI). Each test failed before its fix."""

import json
from html import unescape
from pathlib import Path

import pandas as pd
import pytest
import yaml

from aplcohort.cli import main

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data" / "synthetic" / "min2022.csv"
ENDPOINTS = {"os_rel": {"endpoint": "OS", "time_zero": "relapse1", "unit": "months"},
             "os_cr2": {"endpoint": "OS", "time_zero": "response", "unit": "months"}}


def _run(tmp_path, analyses, capsys, data=DATA, name="p", **extra):
    plan = {"plan": name, "data": {"source": str(data)}, "endpoints": ENDPOINTS,
            "analyses": analyses, **extra}
    p = tmp_path / f"{name}.yaml"
    p.write_text(yaml.safe_dump(plan, sort_keys=False), encoding="utf-8")
    out = tmp_path / f"out_{name}"
    rc = main(["run", str(p), "--out", str(out)])
    cap = capsys.readouterr()
    doc = json.loads((out / "results.json").read_text()) if rc == 0 else None
    return rc, cap.err, doc, out


def _cox_pred(profile, **kw):
    return {"id": "a", "kind": "cox", "endpoint": "os_rel",
            "covariates": kw.pop("covariates", ["age_at_relapse", "sex"]),
            "predict": {"p": profile}, **kw}


@pytest.mark.parametrize("profile, words", [
    ({"age_at_relapse": 40, "sex": "X"},
     ["predict.p.sex", "'X' is not a value of column 'sex'"]),
    ({"age_at_relapse": "forty", "sex": "F"},
     ["predict.p.age_at_relapse", "'forty' is not a number", "numeric covariate"]),
    ({"age_at_relapse": ".nan", "sex": "F"}, ["predict.p.age_at_relapse"]),
])
def test_a_bad_predict_profile_value_is_a_plan_error(tmp_path, capsys, profile, words):
    """Finding 4: a level typo or a text for a numeric covariate in a `predict:` profile
    made the whole Cox model not estimable with exit 0; now exit 2 before anything runs."""
    if profile["age_at_relapse"] == ".nan":
        profile = {**profile, "age_at_relapse": float("nan")}
    rc, err, doc, out = _run(tmp_path, [_cox_pred(profile)], capsys)
    assert rc == 2, err
    assert "Traceback" not in err
    assert all(w in err for w in words), err
    assert not out.exists()


def test_a_good_profile_runs_and_a_profile_outside_the_subset_leaves_the_model(tmp_path,
                                                                                capsys):
    """A level of the data that the analysis subset (after `where`) lacks cannot be
    predicted: the prediction is not estimable with its reason, the model terms stand."""
    rc, err, doc, out = _run(tmp_path, [
        _cox_pred({"age_at_relapse": 40, "sex": "F"}, predict_times=[12]),
        {**_cox_pred({"age_at_relapse": 40, "center": "Center D"},
                     covariates=["age_at_relapse", "center"]),
         "id": "b", "where": "center != 'Center D'"}], capsys)
    assert rc == 0, err
    a, b = doc["analyses"]["a"], doc["analyses"]["b"]
    assert a["status"] == "ok" and a["predicted"]["at"]
    assert b["status"] == "ok" and b["terms"]
    assert b["predicted"]["status"] == "not estimable"
    assert "Center D" in b["predicted"]["reason"]
    assert (out / "tables" / "b__terms.csv").exists()
    assert not (out / "tables" / "b__predicted_curves.csv").exists()
    html = unescape((out / "report.html").read_text(encoding="utf-8"))
    assert "No predicted survival" in html
