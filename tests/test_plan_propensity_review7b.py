"""`propensity:` in plans, second user audit (review 7b): the reference group of the adjusted
models, adjusted-only exclusions by patient id and apart from `exclusions`, a failing
adjustment that leaves the unadjusted analysis standing, settings validated before anything
runs, and the block's unadjusted Fine-Gray equal to the plan's own. All through the plan
path (CLI or run_plan) on CSV input."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from aplcohort.cli import main

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data" / "synthetic" / "min2022.csv"
TWO = "reinduction_regimen in ['ATO-based', 'IC']"
EP = {"os_rel": {"endpoint": "OS", "time_zero": "relapse1", "unit": "months"},
      "cir": {"endpoint": "CIR", "time_zero": "response", "unit": "months"}}


def _km(aid, **ps):
    return {"id": aid, "kind": "km", "endpoint": "os_rel", "group": "reinduction_regimen",
            "where": TWO, "times": [12], "propensity": ps}


def _run(tmp_path, analyses, csv=DATA, name="p"):
    analyses = [{"figure": False, **a} for a in analyses]      # figures: not tested here
    plan = {"plan": name, "data": {"source": str(csv)}, "endpoints": EP, "analyses": analyses}
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(plan), encoding="utf-8")
    out = tmp_path / f"out_{name}"
    rc = main(["run", str(path), "--out", str(out)])
    doc = json.loads((out / "results.json").read_text()) if rc == 0 else None
    return rc, doc, out


@pytest.fixture(scope="module")
def ps_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ps")
    analyses = [
        _km("km_trim", method="iptw", covariates=["age_at_relapse", "wbc_relapse"], trim=0.1),
        _km("km_match", method="matching", covariates=["age_at_relapse", "wbc_relapse"],
            caliper=0.2),
        {"id": "cox_ref", "kind": "cox", "endpoint": "os_rel", "where": TWO,
         "covariates": ["reinduction_regimen"], "categorical": {"reinduction_regimen": "IC"},
         "propensity": {"treatment": "reinduction_regimen", "method": "iptw",
                        "covariates": ["age_at_relapse", "wbc_relapse"]}},
        {"id": "fg", "kind": "finegray", "endpoint": "cir", "where": TWO,
         "covariates": ["reinduction_regimen"],
         "propensity": {"treatment": "reinduction_regimen", "method": "iptw", "estimand": "ATO",
                        "covariates": ["age_at_relapse"]}},
    ]
    rc, doc, out = _run(tmp, analyses)
    assert rc == 0
    return doc["analyses"], out


def test_adjusted_cox_uses_the_plans_reference_level(ps_run):
    """categorical: {reinduction_regimen: IC}: the adjusted models compare ATO-based with IC,
    as the plan's own model does (they used ATO-based as reference under an 'IC' label)."""
    a, out = ps_run
    s = a["cox_ref"]
    main_term = s["terms"][0]
    assert main_term["level"] == "ATO-based"
    for part in ("unadjusted", "adjusted"):
        t = s["adjusted"][part]["terms"]
        assert [r["level"] for r in t] == ["ATO-based"], part
    # the unadjusted model of the block is the plan's own model (one covariate, the treatment)
    np.testing.assert_allclose(s["adjusted"]["unadjusted"]["terms"][0]["estimate"],
                               main_term["estimate"], rtol=1e-6)
    tab = pd.read_csv(out / "tables" / "cox_ref__adjusted_adjusted_terms.csv")
    assert tab["term"].tolist() == ["reinduction_regimenATO-based"]


def test_trimmed_and_unmatched_patients_are_named_by_id(ps_run):
    a, _ = ps_run
    d = pd.read_csv(DATA)
    sub = d[d["reinduction_regimen"].isin(["ATO-based", "IC"])]
    known = set(sub["patient_id"])
    t = a["km_trim"]
    ex = t["adjusted"]["exclusions"]
    assert len(ex) == 1 and ex[0]["reason"].startswith("trimmed") and ex[0]["n"] == 1
    assert set(ex[0]["ids"]) <= known
    assert [r["row"] for r in t["adjusted"]["adjustment"]["excluded"]] == ex[0]["ids"]
    assert t["adjusted"]["n"] == t["n"] - 1
    ess = {r["group"]: r["n"] for r in t["adjusted"]["adjustment"]["ess"]}
    assert sum(ess.values()) == t["adjusted"]["n"]
    m = a["km_match"]
    ex = m["adjusted"]["exclusions"]
    un = m["adjusted"]["adjustment"]["unmatched"]
    assert sum(e["n"] for e in ex) == len(un) > 0
    assert {i for e in ex for i in e["ids"]} == {r["row"] for r in un} <= known
    assert all(e["reason"].startswith("unmatched") for e in ex)
    pairs = m["adjusted"]["adjustment"]["pairs"]
    assert {p["treated_row"] for p in pairs} | {p["control_row"] for p in pairs} <= known
    assert m["adjusted"]["n"] + len(un) == m["n"]
    # neither is among the analysis's exclusions: they are in the unadjusted analysis
    for s in (t, m):
        assert all(not e["reason"].startswith(("trimmed", "unmatched")) for e in s["exclusions"])


def test_adjusted_only_drops_are_shown_in_the_report(ps_run):
    _, out = ps_run
    html = (out / "report.html").read_text()
    a, _ = ps_run
    tid = a["km_trim"]["adjusted"]["exclusions"][0]["ids"][0]
    assert "in the unadjusted analysis only, trimmed" in html and tid in html
    assert "unmatched (ATO-based): control not selected as a match" in html


def test_failing_propensity_block_leaves_the_unadjusted_km(tmp_path):
    """Center C and D have no IC patient: positivity fails; the KM itself is reported."""
    plain = {k: v for k, v in _km("km_plain").items() if k != "propensity"}
    rc, doc, _ = _run(tmp_path, [_km("km_pos", method="iptw",
                                     covariates=["age_at_relapse", "center"]), plain])
    assert rc == 0
    pos, ref = doc["analyses"]["km_pos"], doc["analyses"]["km_plain"]
    assert pos["status"] == "ok"
    assert pos["groups"] == ref["groups"] and pos["p"] == ref["p"]
    adj = pos["adjusted"]
    assert adj["status"] == "not estimable" and adj["reason"].startswith("positivity fails")
    # patients named by id, not by 0-based position within the where-subset
    d = pd.read_csv(DATA)
    c_ids = d.loc[d["reinduction_regimen"].isin(["ATO-based", "IC"])
                  & (d["center"] == "Center C"), "patient_id"].tolist()
    assert ", ".join(c_ids[:10]) in adj["reason"]
    assert "rows [" not in adj["reason"]


def test_propensity_exclusions_keep_the_accounting_contract(tmp_path):
    """n + exclusions = patients loaded; a missing propensity covariate is an adjusted-only
    drop, listed under adjusted.exclusions (was counted in n and in exclusions: 55 of 52)."""
    d = pd.read_csv(DATA, dtype=str, keep_default_na=False)
    blank = ["SYN-012", "SYN-048", "SYN-050"]
    d.loc[d["patient_id"].isin(blank), "wbc_relapse"] = ""
    csv = tmp_path / "blank.csv"
    d.to_csv(csv, index=False)
    ps = {"method": "iptw", "covariates": ["age_at_relapse", "wbc_relapse"]}
    rc, doc, _ = _run(tmp_path, [
        _km("km_blank", **ps),
        {"id": "cox_blank", "kind": "cox", "endpoint": "os_rel", "where": TWO,
         "covariates": ["reinduction_regimen"], "propensity": {"treatment": "reinduction_regimen",
                                                             **ps}}], csv=csv)
    assert rc == 0
    for aid, s in doc["analyses"].items():
        assert s["n"] + sum(e["n"] for e in s["exclusions"]) == len(d), aid
        ex = s["adjusted"]["exclusions"]
        assert [sorted(e["ids"]) for e in ex] == [blank], aid
        assert "missing a propensity-score covariate" in ex[0]["reason"]
        assert s["adjusted"]["n"] + 3 == s["n"], aid
        # said once, by id (the count-only note of the Python API was shown beside it)
        said = [n for n in s["adjusted"]["notes"] if "unadjusted" in n]
        assert len(said) == 1 and all(i in said[0] for i in blank), (aid, said)


@pytest.mark.parametrize("ps, words", [
    ({"stabilize": "no"}, "propensity.stabilize must be true or false"),
    ({"method": "matching", "replace": "false"}, "propensity.replace must be true or false"),
    ({"method": "matching", "seed": 5}, "seed only applies to m_order: random"),
    ({"trim": "0.05"}, "propensity.trim must be a propensity-score bound"),
    ({"covariates": ["age_at_relapse", "wbc_relpase"]},
     "propensity.covariates: column 'wbc_relpase' is not in the data"),
    ({"trim": 0.6}, "propensity.trim must be"),
    ({"truncate": 0.3}, "propensity.truncate must be"),
    ({"estimand": "ATX"}, "propensity.estimand must be one of"),
    ({"estimand": "ATT", "focal": "Ic"}, "propensity.focal: level 'Ic' is not a value"),
    ({"method": "matching", "ratio": 0}, "propensity.ratio must be a whole number"),
    ({"method": "matching", "ratio": 1.5}, "propensity.ratio must be a whole number"),
    ({"method": "matching", "caliper": -1}, "propensity.caliper must be a positive number"),
    ({"method": "matching", "m_order": "biggest"}, "propensity.m_order must be one of"),
    ({"method": "matching", "exact": ["sexx"]}, "propensity.exact: column 'sexx' is not in"),
    ({"categorical": ["sex"]}, "propensity.categorical names ['sex'], which are not among"),
])
def test_bad_propensity_settings_exit_2_before_anything_runs(tmp_path, capsys, ps, words):
    settings = {"method": "iptw", "covariates": ["age_at_relapse"], **ps}
    rc, _, out = _run(tmp_path, [_km("a", **settings)])
    err = capsys.readouterr().err
    assert rc == 2, err
    assert words in err
    assert not (out / "results.json").exists()
    assert "internal error" not in err
    # the internal columns of an analysis are never offered as available columns
    for internal in ("'time'", "'event'", "time_zero_date", "end_date"):
        assert internal not in err


def test_unquoted_booleans_are_read_as_written(tmp_path):
    rc, doc, _ = _run(tmp_path, [_km("a", method="iptw", covariates=["age_at_relapse"],
                                     stabilize=False),
                                 _km("b", method="iptw", covariates=["age_at_relapse"],
                                     stabilize=True)])
    assert rc == 0
    ch = {k: doc["analyses"][k]["adjusted"]["adjustment"]["stabilized"] for k in ("a", "b")}
    assert ch == {"a": False, "b": True}


def test_block_unadjusted_finegray_equals_the_plans_finegray(ps_run):
    """The plan's Fine-Gray (cmprsk crr) and the block's unadjusted fit (finegray expansion +
    weighted Cox) give the same SHR: both handle tied event times as Breslow (the block used
    Efron ties: SHR 0.6353 vs 0.6339 on this cohort, which has a tied time)."""
    a, _ = ps_run
    s = a["fg"]
    got = s["adjusted"]["unadjusted"]["terms"][0]
    want = s["terms"][0]
    assert got["term"] == want["term"]
    np.testing.assert_allclose(got["coef"], want["coef"], rtol=1e-5)
