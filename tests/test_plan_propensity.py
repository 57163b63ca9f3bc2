"""`propensity:` on a plan analysis reaches aplcohort.adjust and the report (issue 19)."""

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from aplcohort.adjust.plan import adjusted_km
from aplcohort.cohort import load
from aplcohort.errors import PlanError
from aplcohort.plan import run_plan

DATA = "data/synthetic/min2022.csv"
W = "postremission_modality in ['ATO-based', 'auto HSCT', 'allo HSCT']"
PS = {"method": "iptw", "estimand": "ATO", "covariates": ["age_at_diagnosis"]}


def _plan(tmp_path, **analysis):
    plan = {"plan": "ps", "data": {"source": str(Path(DATA).resolve())},
            "endpoints": {"os": {"endpoint": "OS", "time_zero": "response", "unit": "months"}},
            "analyses": [{"id": "km_ps", "kind": "km", "endpoint": "os",
                          "group": "postremission_modality", "where": W, **analysis}]}
    p = tmp_path / "plan.yaml"
    p.write_text(yaml.safe_dump(plan), encoding="utf-8")
    return p


def test_adjusted_km_in_the_plan_equals_the_python_api(tmp_path):
    res = run_plan(_plan(tmp_path, propensity=PS), out=tmp_path / "o", figures=True)
    s = json.loads((tmp_path / "o" / "results.json").read_text())["analyses"]["km_ps"]
    got = s["adjusted"]["adjusted"]["table"]
    # the same analysis through the Python API on the same patients
    cohort = load(DATA)
    sub = cohort.filter(W, step="w", reason="w")
    d = sub.endpoint("OS", time_zero="response", unit="months").data
    ref = adjusted_km(d, time="time", event="event", group="postremission_modality", adjust=PS)
    want = ref.adjusted.table
    assert len(got) == len(want)
    np.testing.assert_allclose([r["estimate"] for r in got], want["estimate"], rtol=1e-12)
    np.testing.assert_allclose([r["std_err"] for r in got], want["std_err"], rtol=1e-12)
    # balance comes first among the adjusted tables, the love plot and PS overlap are drawn
    names = [n for n, _, _ in res["km_ps"].tables]
    assert names.index("adjusted_balance") < names.index("adjusted_adjusted_curve")
    figs = {p.name for p in (tmp_path / "o" / "figures").glob("*.png")}
    assert {"km_ps__love_plot.png", "km_ps__propensity-score_overlap.png",
            "km_ps__adjusted_curves.png"} <= figs


@pytest.mark.parametrize("ps, match", [
    ({"method": "iptw", "covariates": ["age_at_diagnosis"], "ratio": 2}, "do not apply"),
    ({"method": "weighting", "covariates": ["age_at_diagnosis"]}, "'iptw' or 'matching'"),
    ({"method": "iptw"}, "covariates must be a non-empty list"),
])
def test_bad_propensity_settings_are_rejected_before_anything_runs(tmp_path, ps, match):
    with pytest.raises(PlanError, match=match):
        run_plan(_plan(tmp_path, propensity=ps), figures=False)


def test_weighted_cox_in_the_plan_equals_the_python_api(tmp_path):
    from aplcohort.adjust.plan import adjusted_cox
    two = "postremission_modality in ['ATO-based', 'auto HSCT']"
    ps = {"treatment": "postremission_modality", "method": "iptw", "covariates": ["age_at_diagnosis"]}
    plan = {"plan": "ps", "data": {"source": str(Path(DATA).resolve())},
            "endpoints": {"os": {"endpoint": "OS", "time_zero": "response", "unit": "months"}},
            "analyses": [{"id": "cox_ps", "kind": "cox", "endpoint": "os", "where": two,
                          "covariates": ["postremission_modality"], "propensity": ps}]}
    res = run_plan(plan, figures=False)
    got = res["cox_ps"].summary["adjusted"]["adjusted"]["terms"][0]
    d = load(DATA).filter(two, step="w", reason="w").endpoint("OS", time_zero="response",
                                                              unit="months").data
    want = adjusted_cox(d, time="time", event="event", group="postremission_modality",
                        adjust={k: v for k, v in ps.items() if k != "treatment"}).adjusted.terms
    np.testing.assert_allclose([got["coef"], got["robust_se"]],
                               [want["coef"].iloc[0], want["robust_se"].iloc[0]], rtol=1e-10)
    assert got["robust_se"] > 0  # the CI uses the robust SE, as R coxph(weights, robust = TRUE)
