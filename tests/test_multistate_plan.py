"""Plan handlers kind: multistate / kind: clfs on the Min 2022 replica."""

import json
import os

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from aplcohort.cohort import load  # noqa: E402
from aplcohort.errors import ImmortalTimeWarning, InputError, PlanError  # noqa: E402
from aplcohort.multistate import TransitionCheckError, build_transitions  # noqa: E402
from aplcohort.multistate.plan import (accepted_settings, h_clfs, h_multistate,  # noqa: E402
                                       model_from_settings, run_handler, salvage_summary)

CSV = os.path.join(os.path.dirname(__file__), "..", "data", "synthetic", "min2022.csv")


@pytest.fixture(scope="module")
def cohort():
    return load(CSV)


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def test_unknown_setting_rejected_with_suggestion(cohort):
    with pytest.raises(PlanError, match="unknown setting 'tme_zero' \\(did you mean "
                                        "'time_zero'\\?\\)"):
        run_handler(h_clfs, cohort, {"tme_zero": "CR2"})
    assert "covariates" in accepted_settings(h_multistate)
    assert "covariates" not in accepted_settings(h_clfs)


def test_default_cr3_rule_refuses_a_cohort_without_cr3_dates(cohort):
    from aplcohort.cohort import from_dataframe
    no_cr3 = from_dataframe(cohort.data.drop(columns=["cr3_date"]))
    with pytest.raises(TransitionCheckError, match="cr3_date \\(column absent\\)"):
        run_handler(h_multistate, no_cr3, {"figures": False})


def test_replica_has_cr3_dates_so_no_same_day_assumption(cohort):
    """Generator >= 3.0.0 draws CR3 dates: the default rule reads them, salvage -> CR3 is a
    real waiting time (a transition Cox term), and no assumption note is printed."""
    o = run_handler(h_multistate, cohort, {"times": [12, 60], "tau": 60, "figures": False})
    assert not any("salvage_start" in n for n in o.notes)
    d = cohort.data
    tr = {(t["from_state"], t["to_state"]): t["n"] for t in o.summary["transitions"]}
    assert tr[("salvage allo HSCT", "CR3")] == int(
        (d["cr3_date"].notna() & (d["salvage2_modality"] == "allo HSCT")).sum())
    assert not any(n.startswith("transition salvage allo HSCT -> CR3: every one is a same-day")
                   for n in o.notes)


def test_multistate_entry(cohort):
    o = run_handler(h_multistate, cohort, {"cr3_entry": "salvage_start", "times": [12, 60],
                                           "tau": 60, "covariates": ["age_at_diagnosis"],
                                           "figures": True})
    s = json.loads(json.dumps(o.summary))  # JSON-safe
    assert s["n"] == 52 and s["excluded"] == []
    tr = {(t["from_state"], t["to_state"]): t["n"] for t in s["transitions"]}
    # the transition counts follow the cohort's own columns (not constants of the replica)
    d = cohort.data
    assert tr[("relapse1", "CR2")] == int(d["response_date"].notna().sum())
    assert tr[("CR2", "auto HSCT")] == int((d["postremission_modality"] == "auto HSCT").sum())
    at = o.result["occupancy"].state_at([12, 60])
    total = at[at.state.isin(o.result["occupancy"].states)].groupby("time")["estimate"].sum()
    np.testing.assert_allclose(total, 1.0, atol=1e-12)
    # the time in states adds up to tau
    rm = o.result["occupancy"].rmean
    assert rm["rmean"].sum() == pytest.approx(60.0)
    # salvage -> CR3 under the salvage_start assumption has no waiting time: not modelled
    assert any(n.startswith("transition salvage allo HSCT -> CR3: every one is a same-day")
               for n in o.notes)
    terms = o.result["cox"].terms
    assert not terms["term"].str.contains("-> CR3").any()
    assert [f[0] for f in o.figures] == ["transition_diagram", "state_occupancy"]


def test_clfs_entry_and_salvage_facts(cohort):
    o = run_handler(h_clfs, cohort, {"cr3_entry": "salvage_start", "times": [24, 60],
                                     "figures": True})
    res = o.result["clfs"]
    assert set(res.measures) == {"CLFS", "alive after relapse2", "DFS", "OS"}
    at = o.summary["at"]
    clfs24 = [r for r in at if r["measure"] == "CLFS" and r["time"] == 24][0]
    dfs24 = [r for r in at if r["measure"] == "DFS" and r["time"] == 24][0]
    # rescued patients count again in CLFS, never in DFS
    assert clfs24["estimate"] >= dfs24["estimate"]
    salv = salvage_summary(o.result["transitions"]).set_index("salvage_state")
    # counted independently from the cohort columns
    c = cohort.data
    allo = c[(c.salvage2_modality == "allo HSCT") & c.response.isin(["CR2", "mCR2"])]
    assert salv.loc["salvage allo HSCT", "n"] == len(allo)
    assert salv.loc["salvage allo HSCT", "dead"] == int(allo.death_date.notna().sum())
    assert [f[0] for f in o.figures] == ["clfs"]


def test_group_decided_after_time_zero_warns(cohort):
    with pytest.warns(ImmortalTimeWarning, match="immortal time"):
        o = run_handler(h_clfs, cohort, {"cr3_entry": "salvage_start", "figures": False,
                                         "group": "postremission_modality",
                                         "on_error": "exclude"})
    assert any(n.startswith("warning: group 'postremission_modality'") for n in o.notes)


def test_user_model_from_yaml_mapping(cohort):
    spec = {"states": [{"name": "CR2", "date": "response_date",
                        "when": {"response": ["CR2", "mCR2"]}, "remission": True},
                       {"name": "relapse2", "date": "relapse2_date"},
                       {"name": "death", "date": "death_date", "absorbing": True}],
            "transitions": [["CR2", "relapse2"], ["CR2", "death"], ["relapse2", "death"]]}
    m = model_from_settings(spec)
    tr = build_transitions(cohort, m)
    n_cr2 = int(cohort.data["response_date"].notna().sum())  # patients in CR2/mCR2
    assert tr.data["patient_id"].nunique() == n_cr2
    assert len(tr.excluded) == cohort.n - n_cr2 and tr.excluded["reason"].str.startswith(
        "CR2 not reached").all()
    with pytest.raises(InputError, match="unknown keys \\['colour'\\]"):
        model_from_settings({"states": [{"name": "CR2", "colour": "red"}], "transitions": []})


def test_at_follows_the_shared_curve_shape(cohort):
    o = run_handler(h_clfs, cohort, {"cr3_entry": "salvage_start", "figures": False})
    res = o.result["clfs"]
    at = res.at([24, 600])
    assert list(at.columns) == ["group", "cause", "time", "estimate", "std_err", "lower",
                                "upper", "n_risk", "note"]
    assert str(at["cause"].dtype) == "Int64"
    late = at[at.time == 600]
    assert late["estimate"].isna().all() and (late["note"] != "").all()
    occ = res.occupancy
    a2 = occ.at([24])
    assert list(a2.columns) == list(at.columns)
    assert {occ.codes[c] for c in a2["cause"]} >= set(occ.states)
    assert list(occ.table.columns) == ["group", "cause", "time", "estimate", "std_err",
                                       "lower", "upper", "n_risk", "n_event", "n_censor"]


def test_salvage_probabilities_from_salvage_start(cohort):
    from aplcohort.multistate import relapsed_leukemia_model
    from aplcohort.multistate.plan import salvage_probabilities

    m = relapsed_leukemia_model("salvage_start")
    p = salvage_probabilities(cohort, m, [12, 60])
    tr = build_transitions(cohort, m)
    counts = salvage_summary(tr).set_index("salvage_state")
    for s, sub in p.groupby("salvage_state"):
        assert sub["n"].iloc[0] == counts.loc[s, "n"]
        tot = sub.groupby("time")["estimate"].sum()
        np.testing.assert_allclose(tot, 1.0, atol=1e-12)
    # salvage allo-HSCT: with death the only exit, P(dead) from the salvage start is
    # 1 - Kaplan-Meier of survival from the salvage start (an independent estimator)
    from aplcohort.stats.km import kaplan_meier
    d = cohort.data[cohort.data["salvage2_modality"] == "allo HSCT"]
    end = d["death_date"].fillna(d["last_followup_date"])
    t = (end - d["salvage2_start_date"]).dt.days.to_numpy(float) / 30.4375
    km = kaplan_meier(t, d["death_date"].notna().to_numpy(int)).at([12, 60], extend=True)
    allo = p[(p.salvage_state == "salvage allo HSCT") & (p.measure == "dead")].sort_values("time")
    np.testing.assert_allclose(allo["estimate"], 1 - km["estimate"], rtol=1e-12)


def test_estimators_take_transitions_data_directly(cohort):
    from aplcohort.multistate import relapsed_leukemia_model, state_occupancy, transition_cox

    tr = build_transitions(cohort, relapsed_leukemia_model("salvage_start"))
    a = state_occupancy(tr)
    b = state_occupancy(tr.data, id="patient_id", states=list(tr.model.state_names))
    assert a.states == tr.model.state_names
    np.testing.assert_array_equal(a.table["estimate"], b.table["estimate"])
    c = transition_cox(tr, ["age_at_diagnosis"], transitions=[("CR2", "ATO-based")])
    assert c.n_subjects == 52


def test_data_report_in_outputs_has_no_calendar_dates(cohort):
    """The same-day notes name patient and rule; the dates themselves stay local (the
    builder's own report keeps them for the data manager)."""
    import re

    o = run_handler(h_multistate, cohort, {"figures": False})
    tables = dict((name, df) for name, _title, df in o.tables)
    report = tables["transition_report"]
    assert len(report) and report["detail"].str.contains("date withheld").any()
    date = re.compile(r"\d{4}-\d{2}-\d{2}")
    assert not any(date.search(str(d)) for d in report["detail"])
    assert not date.search(json.dumps(o.summary["problems"], default=str))
    local = build_transitions(cohort).report.problems
    assert local["detail"].str.contains(date).any()


def test_groups_follow_the_dictionary_order_without_order_key(cohort):
    """ATO-based, auto HSCT, allo HSCT (dictionary), not alphabetical, as the other kinds."""
    o = run_handler(h_multistate, cohort, {"group": "postremission_modality", "figures": False,
                                           "time_zero": "CR2"})
    assert [g for g in o.summary["groups"] if g != "none"][:3] == \
        ["ATO-based", "auto HSCT", "allo HSCT"]
