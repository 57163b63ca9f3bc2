"""Review 9, part A: multi-state fixes (F1, F2, F6 multi-state part, F11 attrition reason).

F1  transition-specific Cox: a coefficient with a monotone likelihood whose iterations run
    out (the likelihood tends to 0: R says only "Ran out of iterations") was reported as
    estimable (HR 1.7e7, p 3e-62 on the replica); now not estimable with a reason that
    does not offer ``firth: true`` (no Firth for multi-state models).
F2  a figure name built from a group level with a space (or a long analysis id) stopped
    the whole run at write time; names are now made file-safe and unique.
F6  the transition Cox table printed raw column names; now the plan's labels.
F11 ``on_error: exclude`` gave "1 data error(s) in the multi-state path (see report)"
    as the reason; now the problem itself, without dates.
"""

import datetime as dt
import json
import os
import re
import warnings

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from aplcohort.cohort import load  # noqa: E402
from aplcohort.multistate import (build_transitions, relapsed_leukemia_model,  # noqa: E402
                                  transition_cox)
from aplcohort.plan import run_plan  # noqa: E402
from aplcohort.plan.write import validate_output_name  # noqa: E402
from aplcohort.stats.cox import cox_fit, coxph  # noqa: E402

CSV = os.path.join(os.path.dirname(__file__), "..", "data", "synthetic", "min2022.csv")
DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
NOW = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)


@pytest.fixture(scope="module")
def cohort():
    return load(CSV)


@pytest.fixture(scope="module")
def rows(cohort):
    return build_transitions(cohort, relapsed_leukemia_model())


@pytest.fixture(autouse=True)
def _close():
    yield
    import matplotlib.pyplot as plt
    plt.close("all")


def _plan(analyses, **extra):
    return {"plan": "review9a", "data": {"source": os.path.abspath(CSV)},
            "analyses": analyses, **extra}


# ------------------------------------------------------------------------------- F1
def test_f1_cox_fit_flags_a_coefficient_still_growing_when_iterations_run_out():
    # the only event has the highest x of its risk set: the partial likelihood tends to 1
    # (log-likelihood to 0), R's relative criterion is never met ("Ran out of
    # iterations and did not converge") and the linear predictor stays far below 500
    x = np.array([[5.0], [1.0], [2.0], [3.0], [4.0]])
    f = cox_fit(x, [1, 2, 3, 4, 5], [1, 0, 0, 0, 0], warn=False)
    assert not f.converged
    assert np.abs(f.coef[0] * np.ptp(x)) < 500
    assert f.infinite.tolist() == [True]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = coxph(pd.DataFrame({"t": [1, 2, 3, 4, 5], "e": [1, 0, 0, 0, 0],
                                "x": x[:, 0]}), time="t", event="e", covariates=["x"])
    t = r.terms.iloc[0]
    assert not t.estimable and np.isnan(t.estimate) and "monotone" in t.note


def test_f1_a_converged_finite_fit_is_not_flagged():
    # a finite maximum: the Newton step is ~0 at the end, nothing is flagged
    rng = np.random.default_rng(9)
    x = rng.normal(size=(60, 2))
    t = rng.exponential(size=60)
    f = cox_fit(x, t, np.ones(60))
    assert f.converged and not f.infinite.any()


@pytest.mark.parametrize("covariates", [["age_at_diagnosis"],
                                        ["age_at_diagnosis", "center"]])
def test_f1_transition_cox_on_the_replica_reports_no_divergent_estimate(rows, covariates):
    r = transition_cox(rows, covariates)
    t = r.terms
    key = "age_at_diagnosis [allo HSCT -> death]"   # 6 at risk, 1 death: the oldest
    row = t.set_index("term").loc[key]
    assert not row.estimable and np.isnan(row.estimate) and np.isnan(row.p)
    assert "monotone likelihood" in row.note
    est = t[t.estimable]
    # what is reported as an estimate is one: finite, with a model SE of the same order as
    # the robust one (a diverging coefficient had 4128 against 1.0) and no absurd HR
    assert np.isfinite(est[["coef", "se", "robust_se", "lower", "upper"]].to_numpy()).all()
    assert (est["se"] > 0).all() and (est["robust_se"] > 0).all()
    assert (est["se"] / est["robust_se"]).max() < 10
    assert est["estimate"].between(1e-3, 1e3).all()
    # never the Fine-Gray / Cox advice: multi-state models take no firth setting
    ne = t[~t.estimable]
    assert len(ne) and ne["note"].str.len().gt(0).all()
    assert not ne["note"].str.contains("firth: true").any()
    # by_transition carries the same decision
    bt = r.by_transition
    b = bt[(bt.from_state == "allo HSCT") & (bt.to_state == "death")
           & (bt.term == "age_at_diagnosis")].iloc[0]
    assert not b.estimable


def test_f1_aliased_transition_term_keeps_its_own_reason(rows):
    # centre B in relapse2 -> salvage other varies, but never inside a risk set at an
    # event time: R gives NA; the reason is that, not "may be infinite"
    r = transition_cox(rows, ["age_at_diagnosis", "center"])
    row = r.terms.set_index("term").loc["centerCenter B [relapse2 -> salvage other]"]
    assert not row.estimable
    assert row.note.startswith("no information")


def test_f1_plan_outputs_say_not_estimable(tmp_path):
    plan = _plan([{"id": "course", "kind": "multistate", "unit": "months",
                   "times": [12, 24, 60], "tau": 60,
                   "covariates": ["age_at_diagnosis", "center"]}])
    run_plan(plan, out=tmp_path / "o", now=NOW)
    doc = json.loads((tmp_path / "o" / "results.json").read_text())
    terms = {t["term"]: t for t in doc["analyses"]["course"]["cox_terms"]}
    for key in ("age_at_diagnosis [allo HSCT -> death]",
                "centerCenter B [allo HSCT -> death]",
                "centerCenter C [relapse2 -> salvage other]",
                "centerCenter C [salvage other -> death]"):
        assert terms[key]["estimable"] is False and terms[key]["estimate"] is None, key
        assert "monotone likelihood" in terms[key]["note"]
    csv = pd.read_csv(tmp_path / "o" / "tables" / "course__transition_cox.csv")
    row = csv.set_index("term").loc["age_at_diagnosis [allo HSCT -> death]"]
    assert not row.estimable and np.isnan(row.estimate)
    tex = (tmp_path / "o" / "tables" / "course__transition_cox.tex").read_text()
    assert "Age at diagnosis, years [allo HSCT -$>$ death] & NE" in tex
    assert "firth: true" not in tex


# ------------------------------------------------------------------------------- F2
def test_f2_safe_output_names():
    from aplcohort.plan.write import safe_output_names
    names = ["km", "clfs_auto HSCT", "clfs_auto_HSCT", "zph_dose2.5", "x" * 70,
             "x" * 70 + "y", "a/b", "", "ok-name"]
    out = safe_output_names(names)
    assert out == safe_output_names(names)            # deterministic
    assert len(set(out)) == len(out)                  # unique
    for n in out:
        validate_output_name(n, "name")               # file-safe, at most 64 characters
    assert out[0] == "km" and out[2] == "clfs_auto_HSCT" and out[-1] == "ok-name"
    assert out[1] == "clfs_auto_HSCT_2"               # collided: its position
    assert out[3] == "zph_dose2_5"


def test_f2_clfs_group_level_with_a_space_does_not_sink_the_run(tmp_path):
    plan = _plan([{"id": "os", "kind": "km", "endpoint": "os"},
                  {"id": "clfs_grp", "kind": "clfs", "group": "postremission_modality",
                   "where": "postremission_modality in ['ATO-based', 'auto HSCT']",
                   "times": [12, 60]}],
                 endpoints={"os": {"endpoint": "OS", "time_zero": "relapse1",
                                   "unit": "months"}})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run_plan(plan, out=tmp_path / "o", now=NOW)
    figs = sorted(p.name for p in (tmp_path / "o" / "figures").glob("*.png"))
    assert figs == ["clfs_grp__clfs_ATO-based.png", "clfs_grp__clfs_auto_HSCT.png", "os.png"]
    doc = json.loads((tmp_path / "o" / "results.json").read_text())
    assert doc["analyses"]["os"]["status"] == "ok"
    assert doc["analyses"]["clfs_grp"]["status"] == "ok"


def test_f2_multistate_group_figure_names_are_file_safe(cohort):
    from aplcohort.multistate.plan import h_multistate
    c = cohort.data.assign(arm=np.where(cohort.data["sex"] == "M", "arm one", "arm/two"))
    out = h_multistate(c, group="arm", times=[12])
    names = [n for n, _ in out.figures]
    assert "state_occupancy_arm_one" in names and "state_occupancy_arm_two" in names
    for n in names:
        validate_output_name(n, "figure name")


def test_f2_a_long_analysis_id_does_not_sink_the_run(tmp_path):
    long_id = "clfs_by_sex_and_a_long_name_that_is_long_enough_to_matter"   # 58 characters
    plan = _plan([{"id": "os", "kind": "km", "endpoint": "os"},
                  {"id": long_id, "kind": "clfs", "group": "sex", "times": [12]}],
                 endpoints={"os": {"endpoint": "OS", "time_zero": "relapse1",
                                   "unit": "months"}})
    run_plan(plan, out=tmp_path / "o", now=NOW)
    figs = [p.stem for p in (tmp_path / "o" / "figures").glob("*.png")]
    assert "os" in figs and len(figs) == 3
    assert all(len(f) <= 64 for f in figs)
    tabs = [p.name for p in (tmp_path / "o" / "tables").glob(f"{long_id[:40]}*.csv")]
    assert len(tabs) == 4 and len(set(tabs)) == 4


# ------------------------------------------------------------------------------- F6
def test_f6_transition_cox_table_uses_plan_labels(tmp_path):
    plan = _plan([{"id": "course", "kind": "multistate", "unit": "months", "times": [12],
                   "covariates": ["age_at_diagnosis", "center"]}],
                 labels={"age_at_diagnosis": "Age at first diagnosis",
                         "center": {"label": "Site", "levels": {"Center B": "Site B",
                                                                "Center A": "Site A"}}})
    res = run_plan(plan, out=tmp_path / "o", now=NOW)
    tex = (tmp_path / "o" / "tables" / "course__transition_cox.tex").read_text()
    body = tex.split("\\endlastfoot", 1)[1]
    assert "age\\_at\\_diagnosis" not in body and "centerCenter" not in body
    assert "Age at first diagnosis, years [relapse1 -$>$ CR2] &" in body
    assert "Site: Site B [relapse1 -$>$ CR2] &" in body
    assert "Reference levels: Site, Site A." in tex
    # the NE footnote names the same rows
    assert "centerCenter" not in tex and "age\\_at\\_diagnosis" not in tex
    assert res.analyses["course"].status == "ok"


# ------------------------------------------------------------------------------ F11
def test_f11_exclusion_reason_is_the_problem_without_dates(cohort):
    d = cohort.data.copy()
    d.loc[d.patient_id == "SYN-001", "postremission_start_date"] = pd.NaT
    # SYN-004 (alive): relapse2 after the last follow-up
    lfu = d.loc[d.patient_id == "SYN-004", "last_followup_date"].iloc[0]
    d.loc[d.patient_id == "SYN-004", "relapse2_date"] = lfu + pd.Timedelta(days=40)
    tr = build_transitions(d, relapsed_leukemia_model(), on_error="exclude")
    why = dict(zip(tr.excluded.patient_id, tr.excluded.reason))
    assert why["SYN-001"] == ("data error in the multi-state path: ATO-based indicated "
                              "(postremission_modality = ATO-based) but "
                              "postremission_start_date is missing; give the date")
    assert why["SYN-004"] == ("data error in the multi-state path: relapse2 dated after "
                              "the last follow-up")
    assert not any(DATE.search(r) for r in tr.excluded.reason)
    # the report still has the dates, for the data manager
    rep = tr.report.problems
    assert DATE.search(rep.loc[rep.patient_id == "SYN-004", "detail"].iloc[0])


def test_f11_plan_exclusion_and_attrition_give_the_reason(tmp_path, cohort):
    d = cohort.data.copy()
    d.loc[d.patient_id == "SYN-001", "postremission_start_date"] = pd.NaT
    plan = _plan([{"id": "course", "kind": "multistate", "unit": "months",
                   "on_error": "exclude", "times": [12]}])
    run_plan(plan, data=d, out=tmp_path / "o", now=NOW)
    doc = json.loads((tmp_path / "o" / "results.json").read_text())
    ex = doc["analyses"]["course"]["exclusions"]
    reasons = [e["reason"] for e in ex if "SYN-001" in e["ids"]]
    assert reasons == ["data error in the multi-state path: ATO-based indicated "
                       "(postremission_modality = ATO-based) but postremission_start_date "
                       "is missing; give the date"]
    assert "see report" not in json.dumps(doc)


def test_not_converged_moving_coefficient_says_both_reasons():
    # a finite fit stopped early by a small max_iter is flagged by the moving-coefficient
    # rule too: its note must not claim only a monotone likelihood
    import warnings

    import numpy as np
    import pandas as pd

    from aplcohort.stats import coxph
    from aplcohort.stats.cox import NOTE_INFINITE_NOT_CONVERGED
    rng = np.random.default_rng(1)
    n = 80
    d = pd.DataFrame({"t": rng.exponential(5, n), "e": rng.integers(0, 2, n),
                      "x": rng.normal(size=n), "z": rng.normal(size=n)})
    d["t"] = d["t"] * np.exp(-0.8 * d["x"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        early = coxph(d, time="t", event="e", covariates=["x", "z"], max_iter=2)
        full = coxph(d, time="t", event="e", covariates=["x", "z"])
    assert not early.terms["estimable"].any()
    assert set(early.terms["note"]) == {NOTE_INFINITE_NOT_CONVERGED.format(n=2)}
    assert "max_iter" in early.terms["note"].iloc[0]
    assert full.terms["estimable"].all() and (full.terms["note"] == "").all()
