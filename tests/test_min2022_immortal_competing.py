"""Immortal-time guard for competing-risk kinds (issue 14): CIF / Gray / Fine-Gray /
cause-specific Cox by a treatment that starts after time zero get the time-dependent
cause-specific Cox model and landmark cumulative incidences beside the naive analysis."""

import os
import warnings

import numpy as np
import pandas as pd
import pytest

from aplcohort.errors import ImmortalTimeWarning
from aplcohort.plan.kinds import landmark_cif_rows, run_analysis
from aplcohort.plan.runner import plan_context

ROOT = os.path.join(os.path.dirname(__file__), "..")
DATA = os.path.join(ROOT, "data", "synthetic", "min2022.csv")
W = "postremission_modality in ['ATO-based', 'auto HSCT', 'allo HSCT']"
PLAN = {"plan": "it", "data": {"source": DATA},
        "endpoints": {"cir": {"endpoint": "CIR", "time_zero": "response", "unit": "months"},
                      "nrm": {"endpoint": "NRM", "time_zero": "response", "unit": "months"}},
        "analyses": [{"id": "c", "kind": "counts", "columns": ["sex"]}]}


@pytest.fixture(scope="module")
def ctx():
    return plan_context(PLAN, data=DATA, figures=False)


def _run(ctx, a):
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        o = run_analysis(ctx, a)
    return o, [x for x in w if issubclass(x.category, ImmortalTimeWarning)]


def test_landmark_cif_exact_fractions():
    """No censoring before the horizon: the landmark CIF is events / patients at risk."""
    # time, event (1 relapse, 2 death in remission), treatment start (NaN = never)
    df = pd.DataFrame({
        "time": [1.0, 2.0, 5.0, 6.0, 7.0, 9.0, 10.0, 12.0, 20.0, 30.0],
        "event": [1, 2, 1, 2, 1, 0, 1, 1, 0, 0],
        "treatment_time": [np.nan, np.nan, 1.5, np.nan, 2.5, 2.0, np.nan, 4.0, 3.5, np.nan],
        "g": ["chemo", "chemo", "HSCT", "chemo", "HSCT", "HSCT", "chemo", "HSCT", "HSCT", "chemo"],
    })
    r = landmark_cif_rows(df, group="g", order=["chemo", "HSCT"], cause=1, landmarks=[3.0],
                          times=[5.0])
    # landmark 3: patients 1, 2 ended before it (1 relapse, 1 death); 8 remain. HSCT by
    # month 3: starts 1.5, 2.5, 2.0 -> HSCT; starts 4.0, 3.5 are after -> chemo at the landmark
    assert r["sets"] == [{"landmark": 3.0, "n": 8,
                          "excluded": {"event at or before landmark": 2,
                                       "censored at or before landmark": 0}}]
    e = r["estimates"].set_index("group")
    # chemo at the landmark: times 6 (death), 10 (relapse), 12 (relapse), 20, 30 -> by 3 + 5 = 8
    # no relapse yet (one competing death): 0 of 5
    assert e.loc["chemo", "estimate"] == pytest.approx(0.0, abs=1e-15)
    # HSCT at the landmark: times 5 (relapse), 7 (relapse), 9 (censored) -> by 8: 2 of 3
    assert e.loc["HSCT", "estimate"] == pytest.approx(2 / 3, rel=1e-12)
    assert (e["n"] == 8).all() and (e["events"] == 4).all()


def test_landmark_cif_one_group_left_is_not_estimable_with_reason():
    df = pd.DataFrame({"time": [1.0, 5.0, 8.0], "event": [1, 1, 0],
                       "treatment_time": [np.nan, 6.0, 7.0], "g": ["a", "b", "b"]})
    r = landmark_cif_rows(df, group="g", order=["a", "b"], cause=1, landmarks=[2.0], times=[3.0])
    row = r["estimates"].iloc[0]
    assert np.isnan(row["estimate"]) and row["note"] == "not estimable: one group only at the landmark"


def test_cif_by_consolidation_gets_td_cause_specific_cox_and_landmark_cif(ctx):
    a = {"id": "cir_x", "kind": "cif", "endpoint": "cir", "group": "postremission_modality",
         "order": ["ATO-based", "auto HSCT", "allo HSCT"], "where": W, "times": [12, 36],
         "landmarks": [3, 6]}
    o, w = _run(ctx, a)
    assert o.status == "ok"
    assert len(w) == 1 and "cause-specific Cox" in str(w[0].message) \
        and "landmark cumulative incidences at 3, 6 months" in str(w[0].message)
    it = o.summary["immortal_time"]
    methods = {r["method"] for r in it["comparison"]}
    assert "cause-specific Cox, time-dependent Cox" in methods
    assert "cause-specific Cox, naive (groups fixed at time zero)" in methods
    assert {"cause-specific Cox, landmark at 3", "cause-specific Cox, landmark at 6"} <= methods
    # the cause-specific models count relapses only (deaths in remission are censored)
    relapses = o.summary["events"]
    assert {r["events"] for r in it["comparison"]
            if r["method"] == "cause-specific Cox, time-dependent Cox"} == {relapses}
    # landmark sets: the patients still relapse-free and followed after the landmark
    d = ctx.cohort.data
    d = d[d.postremission_modality.isin(["ATO-based", "auto HSCT", "allo HSCT"])]
    months = (pd.to_datetime(d.relapse2_date.fillna(d.death_date).fillna(d.last_followup_date))
              - pd.to_datetime(d.response_date)).dt.days / 30.4375
    for s in it["landmark_sets"]:
        assert s["n"] == int((months > s["landmark"]).sum())
    names = [t[0] for t in o.tables]
    assert "immortal_time" in names and "landmark_cif" in names


def test_gray_and_cause_specific_cox_are_guarded(ctx):
    a = {"id": "gray_x", "kind": "gray", "endpoint": "cir", "group": "postremission_modality",
         "where": W, "landmarks": [6]}
    o, w = _run(ctx, a)
    assert o.status == "ok" and len(w) == 1 and "landmark_cif" in [t[0] for t in o.tables]
    b = {"id": "csc_x", "kind": "cause_specific_cox", "endpoint": "cir", "cause": 1, "where": W,
         "covariates": ["postremission_modality"],
         "categorical": {"postremission_modality": "ATO-based"}}
    o, w = _run(ctx, b)
    assert o.status == "ok" and len(w) == 1
    assert "no landmark analysis" in str(w[0].message)
    assert any(r["method"] == "cause-specific Cox, time-dependent Cox"
               for r in o.summary["immortal_time"]["comparison"])


def test_group_fixed_at_time_zero_is_not_flagged(ctx):
    a = {"id": "nrm_sex", "kind": "cif", "endpoint": "nrm", "group": "sex", "where": W,
         "landmarks": [3]}
    o, w = _run(ctx, a)
    assert w == [] and "immortal_time" not in o.summary
    assert o.summary["landmarks_unused"] == [3]
