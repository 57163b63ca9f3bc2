"""Review 14, part B (F6, F7, F9, F10, F11), on the path users take: plans run through
``aplcohort.cli.main(["run", ...])`` on the bundled CSV, and the Python API as the README
tour uses it. Each test failed before its fix.

* F6: "consider firth: true" was advised in tables of kinds that refuse ``firth``
  (``cif``, ``immortal_time``, the immortal-time comparison of ``km``).
* F7: the Python API ordered groups alphabetically (allo HSCT before auto HSCT; ``high``
  the reference of ``sanz_risk``), a plan in the data dictionary's order.
* F9: results.json nulls without their reason (km medians not reached, a zero-cell odds
  ratio, Fisher's missing statistic, the delays of an untreated group).
* F10: plan validation held back ``style:`` and a second ``output`` problem.
* F11: ``km`` on a competing-risk endpoint passed validation.
"""

import json
import warnings
from pathlib import Path

import pandas as pd
import pytest
import yaml

import aplcohort as apc
from aplcohort.cli import main
from aplcohort.errors import PlanError
from aplcohort.plan.runner import run_plan

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data" / "synthetic" / "min2022.csv"
ENDPOINTS = {"os_cr2": {"endpoint": "OS", "time_zero": "response", "unit": "months"},
             "os_rel": {"endpoint": "OS", "time_zero": "relapse1", "unit": "months"},
             "cir_cr2": {"endpoint": "CIR", "time_zero": "response", "unit": "months"}}
CONS = "postremission_modality in ['ATO-based', 'auto HSCT', 'allo HSCT']"


def _plan(tmp_path, analyses, **top) -> Path:
    plan = {"plan": "review14b", "data": {"source": str(DATA)}, "seed": 1,
            "output": {"formats": ["png"], "tables": ["csv"]}, "endpoints": ENDPOINTS,
            "analyses": analyses, **top}
    p = tmp_path / "plan.yaml"
    p.write_text(yaml.safe_dump(plan, sort_keys=False), encoding="utf-8")
    return p


def _run(tmp_path, analyses, **top):
    p = _plan(tmp_path, analyses, **top)
    out = tmp_path / "out"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rc = main(["run", str(p), "--out", str(out)])
    assert rc == 0
    return out, json.loads((out / "results.json").read_text(encoding="utf-8"))


# ------------------------------------------------------------------------------ F6
def test_f6_no_firth_advice_in_kinds_without_firth(tmp_path):
    out, res = _run(tmp_path, [
        {"id": "cif1", "kind": "cif", "endpoint": "cir_cr2", "group": "hsct", "cause": 2,
         "times": [12], "figure": False},
        {"id": "cir_cons", "kind": "cif", "endpoint": "cir_cr2",
         "group": "postremission_modality", "where": CONS, "times": [12], "figure": False,
         "landmarks": [6]},
        {"id": "km_cons", "kind": "km", "endpoint": "os_cr2", "group": "postremission_modality",
         "where": CONS, "times": [12], "figure": False, "landmarks": [6]},
        {"id": "it", "kind": "immortal_time", "endpoint": "os_cr2", "group": "hsct",
         "exposure": "hsct_start_date", "reference": "no HSCT", "landmarks": [3]}])
    texts = {f.name: f.read_text(encoding="utf-8") for f in (out / "tables").glob("*.csv")}
    texts["results.json"] = (out / "results.json").read_text(encoding="utf-8")
    texts["report.html"] = (out / "report.html").read_text(encoding="utf-8")
    assert not [k for k, v in texts.items() if "consider firth" in v]
    # the reason itself stays: the fit is still called not estimable with its cause
    assert "monotone likelihood" in texts["cif1__immortal_time.csv"]
    assert any("monotone likelihood" in v for k, v in texts.items() if k.startswith("it__"))


# ------------------------------------------------------------------------------ F7
def test_f7_grouped_follows_the_dictionary_order():
    cohort = apc.load(DATA)
    cons = cohort.filter(CONS, step="consolidation", reason="no post-remission group")
    os_ = cons.endpoint("OS", time_zero="response", unit="months")
    with pytest.warns(apc.errors.ImmortalTimeWarning,
                      match=r"'auto HSCT': 12 of 12 patients start after it"):
        t, e, g = os_.grouped("postremission_modality")
    assert isinstance(g, pd.Categorical)
    assert list(g.categories) == ["ATO-based", "auto HSCT", "allo HSCT"]
    km = apc.stats.kaplan_meier(t, e, g)
    assert km.groups == ("ATO-based", "auto HSCT", "allo HSCT")
    assert list(apc.stats.logrank_test(t, e, g).table["group"]) == list(km.groups)
    # a plain array of text has no order: sorted, as the docstrings say
    assert apc.stats.kaplan_meier(t, e, g.astype(str)).groups == \
        ("ATO-based", "allo HSCT", "auto HSCT")
    # an endpoint's frame carries the order too; the cohort's own frame stays text (a
    # user's fillna("...") or string concatenation keeps working)
    assert list(os_.data["sanz_risk"].cat.categories) == ["low", "intermediate", "high"]
    assert cohort.data["death_cause"].dtype == object
    assert (cohort.data["death_cause"].fillna("alive") == "alive").any()
    own = apc.cohort.dictionary_ordered(cohort.data)
    assert list(own["postremission_modality"].cat.categories)[:3] == \
        ["ATO-based", "auto HSCT", "allo HSCT"]
    cir = cons.endpoint("CIR", time_zero="response", unit="months").data
    cif = apc.stats.cumulative_incidence(cir["time"], cir["event"], cir["postremission_modality"])
    assert cif.groups == ("ATO-based", "auto HSCT", "allo HSCT")


def test_f7_cox_by_api_equals_cox_by_plan(tmp_path):
    _, res = _run(tmp_path, [{"id": "cx", "kind": "cox", "endpoint": "os_rel",
                              "covariates": ["age_at_diagnosis", "sanz_risk"],
                              "figure": False}])
    plan_terms = res["analyses"]["cx"]["terms"]
    ep = apc.load(DATA).endpoint("OS", time_zero="relapse1", unit="months")
    api = apc.coxph(ep.data, time="time", event="event",
                    covariates=["age_at_diagnosis", "sanz_risk"], categorical=["sanz_risk"])
    assert [t["term"] for t in plan_terms] == list(api.terms["term"]) == \
        ["age_at_diagnosis", "sanz_riskintermediate", "sanz_riskhigh"]
    for t, (_, r) in zip(plan_terms, api.terms.iterrows()):
        assert t["estimate"] == pytest.approx(r["estimate"], rel=1e-9)
        assert t["lower"] == pytest.approx(r["lower"], rel=1e-9)
    assert api.choices["reference_levels"] == {"sanz_risk": "low"} or \
        "low" in str(api.choices)


def test_f7_plan_output_has_plain_text_columns(tmp_path):
    """The plan keeps its own ordering (order:, levels:, dictionary) on plain text: the
    API's Categoricals do not reach its frames (no empty levels in counts)."""
    _, res = _run(tmp_path, [{"id": "fl", "kind": "flow"}])
    splits = res["analyses"]["fl"]["splits"]
    assert all(v > 0 for s in splits.values() for v in s.values())


# ------------------------------------------------------------------------------ F9
def test_f9_nulls_have_their_reason(tmp_path):
    _, res = _run(tmp_path, [
        {"id": "km_cons", "kind": "km", "endpoint": "os_cr2", "group": "postremission_modality",
         "where": CONS, "order": ["ATO-based", "auto HSCT", "allo HSCT"], "times": [12],
         "figure": False},
        {"id": "mcr2", "kind": "response", "group": "reinduction_regimen",
         "where": "reinduction_regimen in ['ATO-based', 'IC']",
         "outcome": "response == 'mCR2'"},
        {"id": "it", "kind": "immortal_time", "endpoint": "os_cr2", "group": "hsct",
         "exposure": "hsct_start_date", "reference": "no HSCT"}])
    g = res["analyses"]["km_cons"]["groups"]
    assert g["ATO-based"]["median"] is None
    assert g["ATO-based"]["median_note"] == "not reached"
    assert g["allo HSCT"]["median_lower"] is not None and g["allo HSCT"]["median_upper"] is None
    assert "not reached" in g["allo HSCT"]["median_note"]
    r = res["analyses"]["mcr2"]
    assert r["odds_ratio"] is None and r["or_upper"] is None
    assert r["odds_ratio_note"].startswith("odds ratio not estimable (a zero cell): "
                                           "conditional MLE infinite, exact 95% CI 9.77 to "
                                           "infinity")
    assert r["statistic"] is None and "Fisher" in r["statistic_note"]
    rows = res["analyses"]["it"]["check"]["table"]
    untreated = [x for x in rows if x["group"] == "no HSCT"][0]
    assert untreated["median_delay"] is None and "no treatment start" in untreated["delay_note"]
    treated = [x for x in rows if x["group"] == "HSCT"][0]
    assert "delay_note" not in treated


# ------------------------------------------------------------------------------ F10
def test_f10_every_plan_problem_at_once(tmp_path, capsys):
    p = _plan(tmp_path, [{"id": "a9", "kind": "km", "endpoint": "os_rel", "conf_level": 95,
                          "ctype": 2},
                         {"id": "a16", "kind": "rmst", "endpoint": "os_rel", "group": "sex"}],
              style="nejm", reference_rows="ref",
              output={"formats": ["png"], "dpi": 150, "tables": ["csv", "xlsx"]})
    rc = main(["run", str(p), "--out", str(tmp_path / "o")])
    assert rc == 2
    err = capsys.readouterr().err
    for text in ("reference_rows: 'ref' is not allowed", "unknown table style 'nejm'",
                 "output.tables: ['xlsx'] not supported", "output.dpi must be 300 or 600",
                 "conf_level: Input should be less than 1", "'ctype: 2' changes only"):
        assert text in err, text
    assert "6 problem(s)" in err


# ------------------------------------------------------------------------------ F11
@pytest.mark.parametrize("kind,extra,use", [
    ("km", {}, "cif"), ("logrank", {"group": "sex"}, "gray"),
    ("cox", {"covariates": ["age_at_diagnosis"]}, "cause_specific_cox or finegray")])
def test_f11_survival_kinds_refuse_a_competing_endpoint(tmp_path, kind, extra, use):
    p = _plan(tmp_path, [{"id": "a21", "kind": kind, "endpoint": "cir_cr2", **extra}])
    with pytest.raises(PlanError) as exc:
        run_plan(p, out=tmp_path / "o")
    msg = str(exc.value)
    assert f"'{kind}' needs a survival (0/1) endpoint; 'cir_cr2' is a competing-risk" in msg
    assert f"use kind: {use}" in msg
    assert "Outcome.competing" not in msg


def test_f11_event_column_with_cause_codes_refused_up_front(tmp_path):
    d = pd.read_csv(DATA, dtype=str, keep_default_na=False)
    d["t"] = [str(1 + i) for i in range(len(d))]
    d["ev"] = [str(i % 3) for i in range(len(d))]         # 0/1/2: cause codes
    csv = tmp_path / "d.csv"
    d.to_csv(csv, index=False)
    plan = {"plan": "ev", "data": {"source": str(csv)},
            "endpoints": {"e": {"time": "t", "event": "ev"}},
            "analyses": [{"id": "k", "kind": "km", "endpoint": "e", "group": "sex"}],
            "output": {"tables": ["csv"]}}
    p = tmp_path / "plan.yaml"
    p.write_text(yaml.safe_dump(plan), encoding="utf-8")
    with pytest.raises(PlanError) as exc:
        run_plan(p, out=tmp_path / "o")
    msg = str(exc.value)
    assert "event column 'ev' holds 2 besides 0 (censored) and 1 (event)" in msg
    assert "write 'code: ev' instead of 'event: ev'" in msg
    assert not (tmp_path / "o" / "results.json").exists()
