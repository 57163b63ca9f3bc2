"""Plan validation: every problem reported at once, before anything runs."""

import json

import pytest
import yaml

from aplcohort.cli import main
from aplcohort.errors import PlanError
from aplcohort.plan import load_plan, validate_plan


def _plan(**over):
    p = {"plan": "t", "data": {"source": "x.csv"},
         "endpoints": {"os": {"endpoint": "OS", "time_zero": "relapse1", "unit": "months"},
                       "cir": {"endpoint": "CIR", "time_zero": "response"}},
         "analyses": [{"id": "a", "kind": "km", "endpoint": "os", "group": "reinduction_regimen"}]}
    p.update(over)
    return p


def test_bundled_plan_is_valid():
    plan, text, path = load_plan("min2022")
    assert path.name == "min2022.yaml"
    validate_plan(plan, None, path.name)


def test_unknown_keys_get_did_you_mean():
    p = _plan(analyses=[{"id": "a", "kind": "km", "endpoint": "os", "gruop": "x"}], outptu={})
    with pytest.raises(PlanError) as ei:
        validate_plan(p)
    msg = str(ei.value)
    assert "unknown key 'gruop'" in msg and "did you mean 'group'?" in msg
    assert "unknown key 'outptu'" in msg and "did you mean 'output'?" in msg
    assert len(ei.value.problems) == 2


def test_unknown_kind_and_undefined_endpoint():
    p = _plan(analyses=[{"id": "a", "kind": "kaplan", "endpoint": "os"},
                        {"id": "b", "kind": "km", "endpoint": "oss"}])
    with pytest.raises(PlanError) as ei:
        validate_plan(p)
    msg = str(ei.value)
    assert "unknown kind 'kaplan'" in msg
    assert "endpoint 'oss' is not defined" in msg and "did you mean 'os'?" in msg


def test_competing_analysis_needs_competing_endpoint():
    p = _plan(analyses=[{"id": "g", "kind": "gray", "endpoint": "os", "group": "g"}])
    with pytest.raises(PlanError, match="needs a competing-risk endpoint"):
        validate_plan(p)
    validate_plan(_plan(analyses=[{"id": "g", "kind": "gray", "endpoint": "cir", "group": "g"}]))


def test_missing_columns_checked_against_data():
    p = _plan(analyses=[{"id": "c", "kind": "cox", "endpoint": "os",
                         "covariates": ["age_at_relapse", "sexx"]}])
    with pytest.raises(PlanError) as ei:
        validate_plan(p, {"age_at_relapse", "sex", "patient_id"})
    assert "column 'sexx' is not in the data" in str(ei.value)
    assert "did you mean 'sex'?" in str(ei.value)


def test_required_fields_and_duplicate_ids():
    p = _plan(analyses=[{"id": "a", "kind": "cox", "endpoint": "os"},
                        {"id": "a", "kind": "km", "endpoint": "os"}],
              filters=[{"keep": "disease == 'APL'"}])
    with pytest.raises(PlanError) as ei:
        validate_plan(p)
    msg = str(ei.value)
    assert "'cox' needs 'covariates'" in msg
    assert "duplicate id 'a'" in msg
    assert "filters[0]: missing 'reason'" in msg


def test_direct_endpoints_time_event_or_code():
    p = _plan(endpoints={"e": {"time": "t", "event": "d"}, "c": {"time": "t", "code": "k"}},
              analyses=[{"id": "a", "kind": "km", "endpoint": "e"},
                        {"id": "b", "kind": "cif", "endpoint": "c"}])
    validate_plan(p, {"t", "d", "k"})
    with pytest.raises(PlanError, match="column 'k' is not in the data"):
        validate_plan(p, {"t", "d"})


def test_cli_bad_plan_exits_2_without_traceback(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(_plan(analyses=[{"id": "a", "kind": "km", "endpont": "os"}])))
    rc = main(["run", str(bad), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert rc == 2
    assert "did you mean 'endpoint'?" in err
    assert "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_cli_plan_not_yaml(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("analyses: [unclosed\n")
    assert main(["run", str(bad), "--out", str(tmp_path / "o")]) == 2
    assert "not valid YAML" in capsys.readouterr().err


def test_endpoint_needs_date_columns_the_data_lacks():
    p = _plan(analyses=[{"id": "a", "kind": "km", "endpoint": "os"},
                        {"id": "b", "kind": "cif", "endpoint": "cir"}])
    cols = {"patient_id", "disease", "last_followup_date", "relapse1_date", "reinduction_regimen"}
    with pytest.raises(PlanError) as ei:
        validate_plan(p, cols)
    msg = str(ei.value)
    assert "endpoints.os: OS from relapse1 needs column(s) 'death_date'" in msg
    assert "(used by analyses: a)" in msg
    assert "endpoints.cir: CIR from response needs column(s)" in msg and "'relapse2_date'" in msg


def test_filter_and_where_expressions_checked_before_anything_runs():
    p = _plan(filters=[{"id": "f", "keep": "disease = 'APL'", "reason": "r"},
                       {"id": "g", "keep": "diseas == 'APL'", "reason": "r"}],
              analyses=[{"id": "a", "kind": "km", "endpoint": "os", "where": "open('x')"}])
    with pytest.raises(PlanError) as ei:
        validate_plan(p, {"disease", "patient_id", "reinduction_regimen"})
    msg = str(ei.value)
    assert "filters[0]: keep:" in msg
    assert "filters[1]: keep: column 'diseas' is not in the data" in msg and "did you mean 'disease'?" in msg
    assert "analyses[0] (a): where:" in msg


def test_values_checked_by_the_registry():
    p = _plan(analyses=[{"id": "a", "kind": "km", "endpoint": "os", "group": "g", "conf_level": 95,
                         "conf_type": "loglog"},
                        {"id": "b", "kind": "cox", "endpoint": "os", "covariates": [],
                         "ties": "average"},
                        {"id": "c", "kind": "km", "endpoint": "os", "group": "g", "adjust": "holm"}])
    with pytest.raises(PlanError) as ei:
        validate_plan(p)
    msg = str(ei.value)
    assert "analyses[0] (a): conf_level: Input should be less than 1 (got 95)" in msg
    assert "analyses[0] (a): conf_type: 'loglog' is not allowed" in msg and "did you mean 'log-log'?" in msg
    assert "analyses[2] (c): 'adjust' only applies to pairwise comparisons" in msg
    assert "analyses[1] (b): covariates:" in msg
    assert "analyses[1] (b): ties: 'average' is not allowed" in msg


def test_time_zero_checked_against_the_endpoint():
    p = _plan(endpoints={"n": {"endpoint": "NRM", "time_zero": "relapse1"},
                         "o": {"endpoint": "OS", "time_zero": "relapse"}},
              analyses=[{"id": "a", "kind": "cif", "endpoint": "n"}])
    with pytest.raises(PlanError) as ei:
        validate_plan(p)
    msg = str(ei.value)
    assert "endpoints.n: NRM starts in remission: time_zero 'relapse1' does not suit it" in msg
    assert "endpoints.o: unknown time zero 'relapse'" in msg


def test_endpoint_remission_key_validated():
    p = _plan(endpoints={"rfs": {"endpoint": "RFS", "time_zero": "response",
                                 "remission": ["CR", "CRh"]}},
              analyses=[{"id": "a", "kind": "km", "endpoint": "rfs"}])
    with pytest.raises(PlanError, match="unknown response category 'CR'\\n    fix: did you mean"):
        validate_plan(p)
    p["endpoints"]["rfs"]["remission"] = "CR2"
    with pytest.raises(PlanError, match="must be a non-empty list of response categories"):
        validate_plan(p)


def test_endpoint_remission_key_changes_the_analysis_set(tmp_path):
    """remission: [CR2] on an AML cohort keeps only CR patients in RFS; the CRh/CRi patients
    leave with their reason in the attrition log (the default counts CR, CRh and CRi)."""
    from aplcohort.plan import run_plan
    from aplcohort.synthetic import rr_trials

    df = rr_trials.generate("admiral", seed=3)
    base = {"plan": "t", "data": {"source": "inline"},
            "endpoints": {"rfs": {"endpoint": "RFS", "time_zero": "response", "unit": "months"}},
            "analyses": [{"id": "rfs", "kind": "km", "endpoint": "rfs", "group": "trial_arm",
                          "figure": False}]}
    runs = {}
    for label, rem in (("default", None), ("cr_only", ["CR2"])):
        plan = yaml.safe_load(yaml.safe_dump(base))
        if rem is not None:
            plan["endpoints"]["rfs"]["remission"] = rem
        run_plan(plan, data=df, out=str(tmp_path / label))
        runs[label] = json.loads((tmp_path / label / "results.json").read_text())
    resp = df["response"]
    assert runs["cr_only"]["analyses"]["rfs"]["n"] == (resp == "CR2").sum()
    assert runs["default"]["analyses"]["rfs"]["n"] == resp.isin(["CR2", "CRh", "CRi"]).sum()
    assert (resp == "CR2").sum() < resp.isin(["CR2", "CRh", "CRi"]).sum()
    text = json.dumps(runs["cr_only"])
    assert "is not a remission for AML (remission: CR2)" in text
    assert "is not a remission for AML (remission: CR2)" not in json.dumps(runs["default"])


def test_endpoint_where_restricts_the_endpoint(tmp_path):
    """An endpoint's where: is applied (it was accepted and ignored): the patients it leaves
    out are in the analysis's exclusions; a bad expression or column is a plan problem."""
    from aplcohort.plan import run_plan
    from aplcohort.cohort import load
    from pathlib import Path

    csv = Path(__file__).resolve().parent.parent / "data" / "synthetic" / "min2022.csv"
    df = load(str(csv)).data
    plan = {"plan": "t", "data": {"source": "inline"},
            "endpoints": {"os": {"endpoint": "OS", "time_zero": "relapse1", "unit": "months",
                                 "where": "sex == 'F'"}},
            "analyses": [{"id": "os", "kind": "km", "endpoint": "os", "figure": False}]}
    run_plan(plan, data=df, out=str(tmp_path / "r"))
    res = json.loads((tmp_path / "r" / "results.json").read_text())["analyses"]["os"]
    assert res["n"] == int((df["sex"] == "F").sum()) < len(df)
    assert any(e["reason"] == "os: not (sex == 'F')" and e["n"] == int((df["sex"] != "F").sum())
               for e in res["exclusions"])
    bad = yaml.safe_load(yaml.safe_dump(plan))
    bad["endpoints"]["os"]["where"] = "sexx == 'F'"
    with pytest.raises(PlanError, match="endpoints.os: where: column 'sexx' is not in the data"):
        validate_plan(bad, set(df.columns))


@pytest.mark.parametrize("over,where,key", [
    ({"published": {"os": 0.5}}, "top level", "published"),
    ({"data": {"source": "x.csv", "synthetic": True}}, "data", "synthetic")])
def test_keys_without_effect_are_rejected_with_what_to_do(over, where, key):
    with pytest.raises(PlanError, match=f"- {where}: key '{key}' is no longer used\\n    fix: "):
        validate_plan(_plan(**over))
