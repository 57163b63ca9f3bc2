"""Every row accounted for; partial failure reported, not fatal; DataFrame input."""

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from aplcohort.cli import main
from aplcohort.plan import run_plan

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data" / "synthetic" / "min2022.csv"
W = "postremission_modality in ['ATO-based', 'auto HSCT', 'allo HSCT']"
ENDPOINTS = {"os": {"endpoint": "OS", "time_zero": "response", "unit": "months"},
             "nrm": {"endpoint": "NRM", "time_zero": "response", "unit": "months"},
             "os_rel": {"endpoint": "OS", "time_zero": "relapse1", "unit": "months"},
             "cir": {"endpoint": "CIR", "time_zero": "response", "unit": "months"}}


def _plan(analyses, **over):
    p = {"plan": "acct", "data": {"source": str(DATA)}, "endpoints": ENDPOINTS, "analyses": analyses}
    p.update(over)
    return p


@pytest.fixture(scope="module")
def min2022():
    return run_plan("min2022", data=DATA, figures=False)


def test_every_analysis_accounts_for_every_patient(min2022):
    """n used + every recorded exclusion = the patients loaded, for every analysis of the
    bundled plan; each exclusion lists exactly its patient ids."""
    n_start = min2022.cohort.attrition.n_start
    assert n_start == 52
    for aid, a in min2022.analyses.items():
        s = a.summary
        assert s["status"] == "ok", (aid, s.get("reason"))
        excl = s["exclusions"]
        for e in excl:
            assert e["reason"] and e["n"] == len(e["ids"]) == len(set(e["ids"])), (aid, e)
        ids = [i for e in excl for i in e["ids"]]
        assert len(ids) == len(set(ids)), aid  # nobody excluded twice
        assert s["n"] + len(ids) == n_start, (aid, s["n"], len(ids))
        # the analysis's attrition log holds the same exclusions
        logged = [i for st in a.attrition.steps for i in st.excluded_ids]
        assert sorted(logged) == sorted(ids), aid


def test_flow_denominators_equal_the_analyses_n(min2022):
    flow = min2022["flow"].summary
    steps = {s["step"]: s for s in flow["steps"]["steps"]}
    reinduced = steps["Received reinduction"]["n_after"]
    consolidated = steps["Post-remission treatment in CR2"]["n_after"]
    split_r = flow["splits"]["Received reinduction"]
    split_c = flow["splits"]["Post-remission treatment in CR2"]
    for aid in ("table1_reinduction", "mcr2_by_reinduction", "infection_by_reinduction",
                "anc_recovery_by_reinduction", "plt_recovery_by_reinduction"):
        s = min2022[aid].summary
        assert s["n"] == reinduced == sum(split_r.values()), aid
        assert {g: v["n"] for g, v in s["groups"].items()} == split_r, aid
    for aid in ("table1_consolidation", "os_by_consolidation", "rfs_by_consolidation",
                "cir_by_consolidation", "nrm_by_consolidation"):
        s = min2022[aid].summary
        assert s["n"] == consolidated == sum(split_c.values()), aid
        if "groups" in s:
            assert {g: v["n"] for g, v in s["groups"].items()} == split_c, aid
    # the time-dependent / landmark analyses of HSCT start from every patient in CR2, not
    # only the consolidated (issue 14): whoever died or relapsed before consolidation counts
    d = pd.read_csv(DATA)
    in_cr2 = int(d["response"].isin(["CR2", "mCR2"]).sum())
    assert in_cr2 > consolidated
    for aid in ("td_cox_hsct", "mantel_byar_hsct", "simon_makuch_hsct",
                "immortal_time_transplant", "landmark_os", "cir_by_hsct_all_cr2"):
        assert min2022[aid].summary["n"] == in_cr2, aid


def test_missing_group_rows_are_recorded_with_ids():
    d = pd.read_csv(DATA)
    missing = sorted(d.loc[d["postremission_modality"].isna(), "patient_id"].astype(str))
    assert missing  # the replica has patients without a post-remission group
    analyses = [{"id": "km", "kind": "km", "endpoint": "os_rel", "group": "postremission_modality"},
                {"id": "t1", "kind": "table1", "group": "postremission_modality",
                 "variables": ["age_at_relapse"]},
                {"id": "lr", "kind": "logrank", "endpoint": "os_rel", "group": "postremission_modality"},
                {"id": "cif", "kind": "cif", "endpoint": "cir", "group": "postremission_modality"},
                {"id": "resp", "kind": "response", "group": "postremission_modality",
                 "outcome": "response == 'mCR2'"}]
    res = run_plan(_plan(analyses), figures=False)
    for aid in ("km", "t1", "lr", "cif", "resp"):
        excl = res[aid].summary["exclusions"]
        assert set(missing) <= {i for e in excl for i in e["ids"]}, aid
        assert res[aid].summary["n"] + sum(e["n"] for e in excl) == len(d), aid
        if aid == "cif":  # CIR from CR2: these patients have no CR2, they leave the endpoint first
            continue
        grp = [e for e in excl if e["reason"] == "missing group 'postremission_modality'"]
        assert len(grp) == 1 and sorted(grp[0]["ids"]) == missing, (aid, excl)


def test_inestimable_analysis_leaves_the_others_intact(tmp_path):
    """NRM among patients who relapsed again has no death in remission: no events of cause 1."""
    others = [{"id": "os", "kind": "km", "endpoint": "os", "group": "postremission_modality", "where": W,
               "times": [12, 36]},
              {"id": "mcr2", "kind": "response", "group": "reinduction_regimen",
               "outcome": "response == 'mCR2'", "where": "reinduction_regimen in ['ATO-based', 'IC']"}]
    bad = {"id": "nrm_after_relapse2", "kind": "cif", "endpoint": "nrm", "group": "postremission_modality",
           "where": "relapse2_date is not missing"}
    good = run_plan(_plan(others), out=tmp_path / "good")
    mixed = run_plan(_plan([others[0], bad, others[1]]), out=tmp_path / "mixed")
    doc = json.loads((tmp_path / "mixed" / "results.json").read_text())
    ref = json.loads((tmp_path / "good" / "results.json").read_text())
    nrm = doc["analyses"]["nrm_after_relapse2"]
    assert nrm["status"] == "not estimable"
    assert "analysis 'nrm_after_relapse2'" in nrm["reason"] and "no events of cause 1" in nrm["reason"]
    assert nrm["exclusions"]  # who was left out is still recorded
    assert mixed.not_estimable == {"nrm_after_relapse2": nrm["reason"]}
    assert good.not_estimable == {}
    for aid in ("os", "mcr2"):
        assert doc["analyses"][aid] == ref["analyses"][aid]
        assert doc["analyses"][aid]["status"] == "ok"
    html = (tmp_path / "mixed" / "report.html").read_text()
    assert "Not estimable" in html and "no events of cause 1" in html
    for aid in ("os", "mcr2"):
        assert f"id <code>{aid}</code>" in html
    assert any("not estimable" in w for w in doc["warnings"])
    assert doc["not_estimable"] == {"nrm_after_relapse2": nrm["reason"]}


def test_cli_lists_inestimable_analyses_and_strict_exits_2(tmp_path, capsys):
    plan = _plan([{"id": "os", "kind": "km", "endpoint": "os"},
                  {"id": "nrm_x", "kind": "cif", "endpoint": "nrm",
                   "where": "relapse2_date is not missing"}])
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(plan))
    assert main(["run", str(path), "--out", str(tmp_path / "a")]) == 0
    out = capsys.readouterr().out
    assert "1 analysis(es) not estimable" in out and "nrm_x: analysis 'nrm_x'" in out
    assert main(["run", str(path), "--out", str(tmp_path / "b"), "--strict"]) == 2
    assert "--strict: 1 analysis(es) not estimable: nrm_x" in capsys.readouterr().err
    assert (tmp_path / "b" / "results.json").is_file()  # the results are still written


def test_run_plan_accepts_a_dataframe():
    d = pd.read_csv(DATA)
    plan = _plan([{"id": "os", "kind": "km", "endpoint": "os", "group": "postremission_modality",
                   "where": W, "times": [12]}])
    from_file = run_plan(plan, figures=False)
    from_frame = run_plan(plan, data=d, figures=False)
    assert from_frame["os"].summary == from_file["os"].summary
    assert from_frame.provenance["input_file"] == "DataFrame"
    assert from_frame.provenance["input_sha256"] == hashlib.sha256(
        d.to_csv(index=False).encode("utf-8")).hexdigest()


def test_dataframe_is_validated_like_a_file():
    from aplcohort.errors import InputError
    d = pd.read_csv(DATA)
    d.loc[3, "relapse1_date"] = "not a date"
    with pytest.raises(InputError, match="relapse1_date"):
        run_plan(_plan([{"id": "os", "kind": "km", "endpoint": "os"}]), data=d, figures=False)


def test_bad_where_names_the_analysis_before_anything_runs():
    from aplcohort.errors import PlanError
    with pytest.raises(PlanError, match=r"(?s)analyses\[0\] \(os\).*where.*not allowed"):
        run_plan(_plan([{"id": "os", "kind": "km", "endpoint": "os",
                         "where": "__import__('os').system('true')"}]), figures=False)
    with pytest.raises(PlanError, match=r"analyses\[0\] \(os\): where: column 'sexx' is not in the "
                                        r"data\n    fix: did you mean 'sex'"):
        run_plan(_plan([{"id": "os", "kind": "km", "endpoint": "os", "where": "sexx == 'F'"}]),
                 figures=False)


def test_a_term_without_information_is_na_with_its_reason_not_hr_1():
    """As R coxph: a constant covariate gets coefficient NA, never HR 1.00 (1.00-1.00), SE 0."""
    d = pd.read_csv(DATA).assign(constant=1.0)
    plan = _plan([{"id": "cox", "kind": "cox", "endpoint": "os_rel",
                   "covariates": ["age_at_relapse", "constant"]}])
    res = run_plan(plan, data=d, figures=False)
    s = res["cox"].summary
    assert s["status"] == "ok"
    terms = {t["term"]: t for t in s["terms"]}
    assert terms["age_at_relapse"]["estimable"] and terms["age_at_relapse"]["se"] > 0
    c = terms["constant"]
    assert c["estimable"] is False and c["note"]
    assert all(c[k] is None for k in ("coef", "se", "estimate", "lower", "upper", "statistic", "p"))
    assert any("constant" in n and "not estimable" in n for n in res["cox"].notes)
    tab = dict((name, t) for name, _, t in res["cox"].tables)["terms"]
    assert tab.loc[tab["term"] == "constant", "estimate"].isna().all()


def _arms_without_deaths():
    """min2022 with an 'arm' column: every patient who died is 'died'; the living alternate
    between 'alive 1' and 'alive 2', so a test between those two has no event at all."""
    d = pd.read_csv(DATA)
    alive = d["death_date"].isna().to_numpy()
    arm = pd.Series("died", index=d.index, dtype=object)
    arm[alive] = ["alive 1" if i % 2 == 0 else "alive 2" for i in range(int(alive.sum()))]
    return d.assign(arm=arm)


def test_undefined_tests_are_not_estimable_with_their_reason():
    """No NaN without a reason: a pair with no events (pairwise log-rank, pairwise Gray), and a
    test that is the analysis with no event in any group, each say why."""
    d = _arms_without_deaths()
    plan = _plan([
        {"id": "os_pairs", "kind": "km", "endpoint": "os_rel", "group": "arm", "pairwise": True},
        {"id": "nrm_pairs", "kind": "cif", "endpoint": "nrm", "group": "arm", "pairwise": True},
        {"id": "lr_alive", "kind": "logrank", "endpoint": "os_rel", "group": "arm",
         "where": "arm in ['alive 1', 'alive 2']"},
        {"id": "gray_alive", "kind": "gray", "endpoint": "nrm", "group": "arm",
         "where": "arm != 'died'"}])
    res = run_plan(plan, data=d, figures=False)
    for aid, name in (("os_pairs", "Pairwise test"), ("nrm_pairs", "Pairwise Gray test")):
        s = res[aid].summary
        assert s["status"] == "ok" and s["p"] is not None            # the 3-group test is fine
        pairs = {(r["group1"], r["group2"]): r for r in s["pairwise"]}
        bad = pairs[("alive 1", "alive 2")]
        assert bad["estimable"] is False and bad["p"] is None and bad["p_adj"] is None
        assert "alive 1" in bad["note"] and "alive 2" in bad["note"]
        assert any(n.startswith(f"{name} alive 1 vs alive 2 not estimable") for n in res[aid].notes)
        good = [r for k, r in pairs.items() if k != ("alive 1", "alive 2")]
        assert all(r["estimable"] and r["note"] == "" and r["p"] is not None for r in good)
        # the undefined pair does not count in the Holm adjustment (R p.adjust with NA)
        ps = sorted(r["p"] for r in good)
        assert sorted(r["p_adj"] for r in good) == pytest.approx(
            [min(1.0, 2 * ps[0]), min(1.0, max(2 * ps[0], ps[1]))], rel=1e-12)
        tab = dict((t[0], t[2]) for t in res[aid].tables)["pairwise"]
        assert list(tab.columns)[-2:] == ["estimable", "note"]
    lr = res["lr_alive"].summary
    assert lr["status"] == "not estimable" and "expected events > 0" in lr["reason"]
    gr = res["gray_alive"].summary
    assert gr["status"] == "not estimable"
    assert "no events of cause 1" in gr["reason"] or "singular" in gr["reason"]


def test_a_singular_gray_test_and_an_undefined_mantel_byar_are_not_estimable_with_why():
    """Gray's test whose variance is singular (one group: a single patient who leaves the risk
    set, relapsed or censored, before any event of the cause) and a Mantel-Byar test with no event time at which exposed and
    unexposed are both at risk (everyone exposed from day 1): the analyses are not
    estimable and say why; Simon-Makuch keeps its curves and says why it has no test."""
    import warnings

    from aplcohort.cohort.io import load
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        e = load(DATA).endpoint("CIR", time_zero="response", unit="months")
    ep = e.data
    first_event = ep.loc[ep["event"] == 1, "time"].min()
    early = ep.loc[(ep["event"] != 1) & (ep["time"] < first_event)]
    assert len(early)                          # a patient gone before any relapse
    lone = early["patient_id"].iloc[0]
    d = pd.read_csv(DATA)
    d["arm"] = np.where(d["patient_id"] == lone, "lone", "rest")
    d["expo"] = (pd.to_datetime(d["relapse1_date"]) + pd.Timedelta(days=1)).dt.strftime("%Y-%m-%d")
    plan = _plan([
        {"id": "gray_singular", "kind": "gray", "endpoint": "cir", "group": "arm"},
        # SYN-021 died on the day of relapse: a (0, 0] interval the split refuses
        {"id": "mb", "kind": "mantel_byar", "endpoint": "os_rel", "exposure": "expo",
         "where": "patient_id != 'SYN-021'"},
        {"id": "sm", "kind": "simon_makuch", "endpoint": "os_rel", "exposure": "expo",
         "where": "patient_id != 'SYN-021'"}])
    res = run_plan(plan, data=d, figures=False)
    g = res["gray_singular"].summary
    assert g["status"] == "not estimable" and "singular" in g["reason"], g
    mb = res["mb"].summary
    assert mb["status"] == "not estimable" and "does not vary within the risk sets" in mb["reason"]
    sm = res["sm"].summary
    assert sm["status"] == "ok" and sm["groups"]
    assert sm["test"]["status"] == "not estimable" and sm["test"]["p"] is None
    assert "does not vary" in sm["test"]["reason"]
    assert any(n.startswith("No Mantel-Byar test p-value") for n in res["sm"].notes)


def test_propensity_analyses_keep_the_contract(tmp_path):
    """n + exclusions = the patients loaded with a `propensity:` block too: patients who leave
    only the adjusted analysis (missing a propensity-score covariate, trimmed, unmatched)
    are in the unadjusted `n` and are listed under `adjusted.exclusions` with their ids;
    adjusted.n + those = n (review 7b: 41 + 11 + 3 = 55 of 52)."""
    d = pd.read_csv(DATA, dtype=str, keep_default_na=False)
    d.loc[d["patient_id"].isin(["SYN-012", "SYN-048", "SYN-050"]), "wbc_relapse"] = ""
    csv = tmp_path / "blank.csv"
    d.to_csv(csv, index=False)
    two = "reinduction_regimen in ['ATO-based', 'IC']"
    cov = ["age_at_relapse", "wbc_relapse"]
    km = {"kind": "km", "endpoint": "os_rel", "group": "reinduction_regimen", "where": two,
          "figure": False}
    analyses = [{"id": "km_ps", **km, "propensity": {"method": "iptw", "covariates": cov}},
                {"id": "km_trim", **km, "propensity": {"method": "iptw", "covariates": cov,
                                                       "trim": 0.1}},
                {"id": "km_match", **km, "propensity": {"method": "matching", "covariates": cov,
                                                        "caliper": 0.2}},
                {"id": "cox_ps", "kind": "cox", "endpoint": "os_rel", "where": two,
                 "figure": False, "covariates": ["reinduction_regimen"],
                 "propensity": {"treatment": "reinduction_regimen", "method": "iptw",
                                "covariates": cov}}]
    plan = tmp_path / "p.yaml"
    plan.write_text(yaml.safe_dump(_plan(analyses, data={"source": str(csv)})))
    assert main(["run", str(plan), "--out", str(tmp_path / "o")]) == 0
    doc = json.loads((tmp_path / "o" / "results.json").read_text())
    res = run_plan(str(plan), figures=False)
    for aid, s in doc["analyses"].items():
        assert s["status"] == "ok" and s["adjusted"].get("status", "ok") == "ok", aid
        ids = [i for e in s["exclusions"] for i in e["ids"]]
        assert s["n"] + len(ids) == len(d), (aid, s["n"], len(ids))
        logged = [i for st in res[aid].attrition.steps for i in st.excluded_ids]
        assert sorted(logged) == sorted(ids), aid
        adj = [i for e in s["adjusted"]["exclusions"] for i in e["ids"]]
        assert {"SYN-012", "SYN-048", "SYN-050"} <= set(adj), aid
        assert len(adj) == len(set(adj)) and not set(adj) & set(ids), aid
        assert s["adjusted"]["n"] + len(adj) == s["n"], aid
