"""The plan runner end to end: the Min 2022 replication on the bundled synthetic cohort."""

import datetime as dt
import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from aplcohort.cli import main
from aplcohort.plan import run_plan

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data" / "synthetic" / "min2022.csv"
NOW = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("min2022")
    res = run_plan("min2022", data=DATA, out=out, now=NOW)
    return res, out


def test_outputs_written(run):
    res, out = run
    for name in ("results.json", "provenance.json", "report.html"):
        assert (out / name).is_file()
    tables = {p.name for p in (out / "tables").iterdir()}
    for ext in ("csv", "docx", "tex"):
        assert f"mcr2_by_reinduction.{ext}" in tables
        assert f"table1_reinduction.{ext}" in tables
    figs = {p.name for p in (out / "figures").iterdir()}
    for stem in ("flow", "os_by_consolidation", "cir_by_consolidation", "anc_recovery_by_reinduction",
                 "simon_makuch_hsct", "swimmer"):
        assert f"{stem}.png" in figs and f"{stem}.pdf" in figs


#: the reasons of a row's nulls (docs/results_json.md, "Null values and their reasons")
REASONS = {"not_estimable", "not_applicable"}


def test_results_json_contract(run):
    res, out = run
    doc = json.loads((out / "results.json").read_text())
    assert set(doc) >= {"analyses", "provenance"}
    plan_ids = [a["id"] for a in res.plan["analyses"]]
    assert list(doc["analyses"]) == plan_ids
    for aid, a in doc["analyses"].items():
        assert "kind" in a, aid
    km = doc["analyses"]["os_by_consolidation"]
    assert km["kind"] == "km" and set(km) >= {"n", "events", "statistic", "df", "p", "groups"}
    assert list(km["groups"]) == ["ATO-based", "auto HSCT", "allo HSCT"]
    for g in km["groups"].values():
        assert set(g) >= {"n", "events", "median", "median_lower", "median_upper", "at"}
        assert [e["time"] for e in g["at"]] == [12.0, 36.0, 60.0]
        for e in g["at"]:
            assert set(e) - REASONS == {"time", "estimate", "std_err", "lower", "upper",
                                        "n_risk", "note"}
    assert sum(g["n"] for g in km["groups"].values()) == km["n"] == 37
    cif = doc["analyses"]["cir_by_consolidation"]
    assert cif["kind"] == "cif"
    for g in cif["groups"].values():
        for e in g["at"]:
            assert set(e) - REASONS == {"time", "estimate", "std_err", "lower", "upper",
                                        "n_risk", "note"}
    td = doc["analyses"]["td_cox_hsct"]
    # every patient in CR2 (issue 14), not only the 37 consolidated
    assert td["kind"] == "td_cox" and td["n"] == int(
        pd.read_csv(DATA)["response"].isin(["CR2", "mCR2"]).sum()) > 37
    for t in td["terms"]:
        assert set(t) - REASONS == {"term", "level", "coef", "se", "robust_se", "estimate",
                                    "lower", "upper", "statistic", "p", "estimable", "note"}
        assert t["estimate"] == pytest.approx(np.exp(t["coef"]), rel=1e-12)
        # td_cox follows R's coxph(id=) default: no patient has more than one event, so the
        # model-based variance (audit 11 F2; before, the robust one, said to be R's default)
        assert t["robust_se"] is None
        assert t["upper"] == pytest.approx(np.exp(t["coef"] + 1.959963984540054 * t["se"]), rel=1e-9)
    assert td["variance"] == "model"
    mb = doc["analyses"]["mantel_byar_hsct"]
    assert mb["kind"] == "mantel_byar" and mb["df"] == 1 and 0 <= mb["p"] <= 1


def test_not_reached_median_is_null(run):
    res, out = run
    doc = json.loads((out / "results.json").read_text())
    groups = doc["analyses"]["os_by_consolidation"]["groups"]
    # a median is null exactly when the group's curve never drops to 0.5
    km = res["os_by_consolidation"].result
    for g, v in groups.items():
        col = "estimate" if "estimate" in km.table.columns else "surv"
        reached = (km.table.loc[km.table["group"] == g, col] <= 0.5).any()
        assert (v["median"] is None) == (not reached)
    assert any(v["median"] is None for v in groups.values())


def test_published_counts_hold_on_the_replica(run):
    """The 14 counts are equal on the replica, by construction: never reported as 'holds'."""
    res, _ = run
    pub = res.published
    counts = pub[pub["published"].str.fullmatch(r"\d+")]
    assert len(counts) == 14
    assert counts["matches"].all(), counts[~counts["matches"]]
    assert (counts["verdict"] == "equal by construction").all() and not counts["holds"].any()


def test_published_counts_are_read_from_the_data():
    """The counts above hold on the replica by construction; here they must follow the data:
    one IC patient fewer changes exactly the facts that count them."""
    d = pd.read_csv(DATA)
    drop = d.index[d["reinduction_regimen"] == "IC"][0]
    res = run_plan("min2022", data=d.drop(index=drop), figures=False)
    pub = res.published.set_index("fact")
    assert pub.loc["Patients with relapsed APL", "reproduced"].split()[0] == "51"
    assert pub.loc["Intensive-chemotherapy (IC) reinduction", "reproduced"].split()[0] == "10"
    assert pub.loc["Received reinduction", "reproduced"].split()[0] == "40"
    assert not pub.loc[["Patients with relapsed APL", "Intensive-chemotherapy (IC) reinduction",
                        "Received reinduction"], "matches"].any()
    assert pub.loc["ATO-based reinduction", "matches"]


def test_immortal_time_warning_recorded(run):
    res, _ = run
    assert any("ImmortalTimeWarning" in w for w in res.warnings)


def test_provenance(run):
    res, out = run
    prov = json.loads((out / "provenance.json").read_text())
    assert prov["input_sha256"] == hashlib.sha256(DATA.read_bytes()).hexdigest()
    assert prov["synthetic_data"] is True
    assert prov["seed"] == 2022
    assert prov["run_time_utc"] == "2026-01-01T00:00:00+00:00"
    assert len(prov["plan_sha256"]) == 64 and "numpy" in prov["packages"]


def test_report_is_self_contained(run):
    _, out = run
    html = (out / "report.html").read_text()
    assert "SYNTHETIC DATA" in html
    assert "Published vs reproduced" in html
    assert html.count("data:image/png;base64,") >= 10
    assert 'src="http' not in html and "src='http" not in html and "<link" not in html


def test_same_input_same_results(run, tmp_path):
    res, out = run
    run_plan("min2022", data=DATA, out=tmp_path, now=NOW)
    assert (tmp_path / "results.json").read_bytes() == (out / "results.json").read_bytes()
    for p in sorted((out / "tables").glob("*.csv")):
        assert (tmp_path / "tables" / p.name).read_bytes() == p.read_bytes(), p.name


def test_replicate_cli_regenerates_bundled_cohort(tmp_path, capsys):
    rc = main(["replicate", "min2022", "--out", str(tmp_path / "r")])
    assert rc == 0
    assert (tmp_path / "r" / "data" / "min2022.csv").read_bytes() == DATA.read_bytes()
    assert (tmp_path / "r" / "report.html").is_file()
    assert "facts hold" in capsys.readouterr().out


def test_direct_time_event_endpoints(tmp_path):
    rng = np.random.default_rng(7)
    n = 80
    arm = np.repeat(["A", "B"], n // 2)
    t = np.round(rng.exponential(np.where(arm == "A", 20, 12)), 1) + 0.1
    code = rng.choice([0, 1, 2], size=n, p=[0.3, 0.5, 0.2])
    # a generic table, not in the date-based schema: no disease, no dates, no patient_id
    df = pd.DataFrame({"t": t, "d": (code > 0).astype(int),
                       "k": code, "arm": arm, "age": rng.normal(60, 10, n).round(1)})
    path = tmp_path / "direct.csv"
    df.to_csv(path, index=False)
    plan = {"plan": "direct", "data": {"source": str(path)},
            "endpoints": {"os": {"time": "t", "event": "d", "unit": "months"},
                          "cr": {"time": "t", "code": "k", "unit": "months"}},
            "analyses": [{"id": "km", "kind": "km", "endpoint": "os", "group": "arm", "times": [12]},
                         {"id": "cox", "kind": "cox", "endpoint": "os", "covariates": ["arm", "age"],
                          "categorical": {"arm": "A"}},
                         {"id": "cif", "kind": "cif", "endpoint": "cr", "group": "arm", "cause": 1},
                         {"id": "fg", "kind": "finegray", "endpoint": "cr", "covariates": ["arm"],
                          "categorical": {"arm": "A"}}]}
    res = run_plan(plan, figures=False)
    from aplcohort.stats.cox import coxph
    from aplcohort.stats.logrank import logrank_test
    direct = coxph(df, time="t", event="d", covariates=["arm", "age"], categorical={"arm": "A"})
    got = {t["term"]: t["coef"] for t in res["cox"].summary["terms"]}
    for _, r in direct.terms.iterrows():
        assert got[r["term"]] == pytest.approx(r["coef"], rel=1e-12)
    assert res["km"].summary["p"] == pytest.approx(logrank_test(df["t"], df["d"], df["arm"]).p, rel=1e-12)
    assert res["cif"].summary["events"] == int((code == 1).sum())
    assert res.cohort.data["patient_id"].iloc[0] == "row 2"  # spreadsheet row labels


def test_date_endpoint_plan_still_requires_the_schema(tmp_path):
    pd.DataFrame({"t": [1.0, 2.0], "d": [1, 0]}).to_csv(tmp_path / "g.csv", index=False)
    plan = {"plan": "x", "data": {"source": str(tmp_path / "g.csv")},
            "endpoints": {"os": {"endpoint": "OS", "time_zero": "relapse1"}},
            "analyses": [{"id": "km", "kind": "km", "endpoint": "os"}]}
    from aplcohort.errors import CohortValidationError
    with pytest.raises(CohortValidationError, match="required column 'patient_id' is missing"):
        run_plan(plan, figures=False)


def test_declared_numeric_column_with_text_is_an_error(tmp_path):
    df = pd.DataFrame({"patient_id": ["a", "b", "c"], "t": ["1.5", "two", "3"], "d": [1, 0, 1]})
    path = tmp_path / "x.csv"
    df.to_csv(path, index=False)
    plan = {"plan": "x", "data": {"source": str(path), "types": {"t": "number"}},
            "endpoints": {"os": {"time": "t", "event": "d"}},
            "analyses": [{"id": "km", "kind": "km", "endpoint": "os"}]}
    from aplcohort.errors import PlanError
    with pytest.raises(PlanError, match=r"column 't' is declared number.*row 3: 'two'"):
        run_plan(plan, figures=False)


def test_immortal_time_guard_fires_on_naive_consolidation_comparison(run):
    res, out = run
    doc = json.loads((out / "results.json").read_text())
    km = doc["analyses"]["os_by_consolidation"]
    assert any("ImmortalTimeWarning" in w for w in km["warnings"])
    methods = {r["method"] for r in km["immortal_time"]["comparison"]}
    assert "naive (groups fixed at time zero)" in methods and "time-dependent Cox" in methods
    # reinduction comparisons start at reinduction itself: no guard there
    assert "immortal_time" not in doc["analyses"]["mcr2_by_reinduction"]
