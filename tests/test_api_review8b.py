"""Third audit of the Python API (review 8), part B: input alignment, cohort, group handling.

F1  per-row pandas Series with differently ordered indexes are paired by label (or refused
    when the labels differ), never by position; Cohort.filter applies a mask Series by label
    and its attrition names the right patients.
F5  cutoff= is read by the loader's date rules (no nanoseconds, no month-first guessing).
F8  order= labels that no row has, p/q with weights that ignore them, survival_summary
    cause without competing and negative times are errors; cumulative_incidence records
    its strata.
F10 endpoint(cutoff="garbage") is a readable InputError.
F14 from_dataframe(df.set_index("patient_id")) says the column is the index.

The tests run from any working directory (no relative paths): the data are the packaged
synthetic replica.
"""

from __future__ import annotations

import datetime as dt
import json
import warnings

import numpy as np
import pandas as pd
import pytest

from aplcohort.cohort import from_dataframe
from aplcohort.datasets import example_cohort, example_data
from aplcohort.errors import InputError


@pytest.fixture(scope="module")
def cohort():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return example_cohort()


@pytest.fixture(scope="module")
def ep(cohort):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        d = cohort.endpoint("OS", time_zero="relapse1", unit="months").data
    return d


@pytest.fixture(scope="module")
def cir(cohort):
    """CIR: event 1 = relapse, 2 = death in remission (competing)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        d = cohort.endpoint("CIR", time_zero="response", unit="months").data
    return d


def _sorted(s: pd.Series, frame: pd.DataFrame) -> pd.Series:
    """The same column taken from a copy of the frame sorted on another column."""
    return frame.sort_values(["age_at_diagnosis", "patient_id"])[s.name]


def _json(res):
    return json.dumps(res.to_dict(), sort_keys=True, default=str)


# ----------------------------------------------------------------------------- F1
def _survival_calls():
    from aplcohort import stats as S
    from aplcohort.tables import survival_summary
    return {
        "kaplan_meier": lambda t, e, g: S.kaplan_meier(t, e, g).table,
        "kaplan_meier influence": lambda t, e, g: S.kaplan_meier(t, e, g, influence=True).table,
        "logrank_test": lambda t, e, g: S.logrank_test(t, e, g).table,
        "weighted_logrank": lambda t, e, g: S.weighted_logrank(t, e, g, weights="gehan").table,
        "trend_test": lambda t, e, g: S.trend_test(t, e, g).table,
        "pairwise_logrank": lambda t, e, g: S.pairwise_logrank(t, e, g).table,
        "rmst2": lambda t, e, g: S.rmst2(t, e, g, tau=12).table,
        "rmst_difference": lambda t, e, g: S.rmst_difference(t, e, g, tau=12).table,
        "median_followup": lambda t, e, g: S.median_followup(t, e, g),
        "reverse_kaplan_meier": lambda t, e, g: S.reverse_kaplan_meier(t, e, g).table,
        "number_at_risk": lambda t, e, g: S.number_at_risk(t, e, [0, 12, 24], g),
        "survival_summary": lambda t, e, g: survival_summary(t, e, g, times=[12]).data,
    }


@pytest.mark.parametrize("name", list(_survival_calls()))
def test_f1_sorted_group_series_gives_the_same_result(ep, name):
    """A group Series taken from a sorted copy of the endpoint frame: same labels, another
    order. Before: paired by position (log-rank p 0.871 became 0.141)."""
    fn = _survival_calls()[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = fn(ep["time"], ep["event"], ep["sex"])
        got = fn(ep["time"], ep["event"], _sorted(ep["sex"], ep))
    pd.testing.assert_frame_equal(got, want)


def test_f1_every_argument_may_come_sorted(ep):
    """time, event and group each from a differently sorted copy: still the same patients."""
    from aplcohort.stats import kaplan_meier, logrank_test
    t = ep.sort_values("patient_id", ascending=False)["time"]
    e = ep.sort_values(["age_at_diagnosis", "patient_id"])["event"]
    g = ep.sort_values(["sex", "patient_id"])["sex"]
    want = logrank_test(ep["time"], ep["event"], ep["sex"])
    got = logrank_test(t, e, g)
    assert got.p == want.p and got.statistic == want.statistic
    pd.testing.assert_frame_equal(kaplan_meier(t, e, g).table,
                                  kaplan_meier(ep["time"], ep["event"], ep["sex"]).table)


def test_f1_strata_entry_and_weights_are_aligned(ep):
    from aplcohort.stats import kaplan_meier, logrank_test
    w = pd.Series(np.where(ep["sex"] == "M", 2.0, 1.0), index=ep.index, name="w")
    srt = ep.assign(w=w).sort_values(["age_at_diagnosis", "patient_id"])
    a = kaplan_meier(ep["time"], ep["event"], ep["sex"], weights=w)
    b = kaplan_meier(ep["time"], ep["event"], ep["sex"], weights=srt["w"])
    pd.testing.assert_frame_equal(a.table, b.table)
    s1 = logrank_test(ep["time"], ep["event"], ep["sex"], strata=ep["reinduction_regimen"])
    s2 = logrank_test(ep["time"], ep["event"], ep["sex"],
                      strata=_sorted(ep["reinduction_regimen"], ep))
    assert s1.p == s2.p


def test_f1_competing_risk_functions_align(cir):
    from aplcohort.stats import cumulative_incidence, gray_test, pairwise_gray
    t, c, g = cir["time"], cir["event"], cir["reinduction_regimen"]
    gs = _sorted(g, cir)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pd.testing.assert_frame_equal(cumulative_incidence(t, c, gs).table,
                                      cumulative_incidence(t, c, g).table)
        assert gray_test(t, c, gs).p == gray_test(t, c, g).p
        pd.testing.assert_frame_equal(pairwise_gray(t, c, gs).table, pairwise_gray(t, c, g).table)


def test_f1_group_tests_align(ep):
    from aplcohort.stats.grouptests import (anova_oneway, compare_groups, kruskal_wallis,
                                            standardized_mean_difference)
    v, g = ep["age_at_diagnosis"], ep["reinduction_regimen"]
    gs = _sorted(g, ep)
    assert kruskal_wallis(v, gs).p == kruskal_wallis(v, g).p
    assert anova_oneway(v, gs).p == anova_oneway(v, g).p
    assert compare_groups(v, gs).p == compare_groups(v, g).p
    assert standardized_mean_difference(v, gs) == standardized_mean_difference(v, g)


def test_f1_finegray_data_aligns():
    from aplcohort.adjust.finegray import finegray_data
    t = pd.Series([1.0, 2, 2, 3, 4, 4, 5, 6, 7, 8], index=list("abcdefghij"))
    c = pd.Series([1, 2, 0, 2, 0, 1, 2, 0, 1, 0], index=list("abcdefghij"))
    pd.testing.assert_frame_equal(finegray_data(t, c.iloc[::-1]), finegray_data(t, c))


def test_f1_different_labels_are_refused(ep):
    """A column of another table with the same length but other labels cannot be paired."""
    from aplcohort.stats import cumulative_incidence, kaplan_meier, logrank_test
    other = ep["sex"].set_axis(ep.index + 1000)
    with pytest.raises(InputError, match=r"group and time .*different index labels.*"
                                         r"to_numpy\(\)"):
        kaplan_meier(ep["time"], ep["event"], other)
    with pytest.raises(InputError, match="different index labels"):
        logrank_test(ep["time"], ep["event"], other)
    with pytest.raises(InputError, match="different index labels"):
        cumulative_incidence(ep["time"], ep["event"], other)
    dup = ep["sex"].set_axis([0] * len(ep))
    with pytest.raises(InputError, match="repeat labels"):
        logrank_test(ep["time"], ep["event"], dup)


def test_f1_arrays_stay_positional(ep):
    from aplcohort.stats import logrank_test
    a = logrank_test(ep["time"].to_numpy(), ep["event"].to_numpy(), ep["sex"].to_numpy())
    b = logrank_test(ep["time"], ep["event"], ep["sex"].to_numpy())
    c = logrank_test(ep["time"], ep["event"], ep["sex"].tolist())
    assert a.p == b.p == c.p


def test_f1_outcome_and_recovery_summary_align(cir):
    from aplcohort.plots.recovery import recovery_summary
    from aplcohort.stats import Outcome
    t = pd.Series([1.0, 2.0, 3.0], index=["a", "b", "c"])
    e = pd.Series([0, 0, 1], index=["a", "b", "c"])
    assert Outcome.right(t, e.iloc[::-1]).event.tolist() == [0, 0, 1]
    assert Outcome.competing(t, e.iloc[::-1]).event.tolist() == [0, 0, 1]
    s = pd.Series([0.0, 0.0, 0.0], index=["a", "b", "c"])
    assert Outcome.counting(s, t.iloc[::-1], e).time.tolist() == [1.0, 2.0, 3.0]
    g = cir["reinduction_regimen"]
    pd.testing.assert_frame_equal(recovery_summary(cir["time"], cir["event"], _sorted(g, cir)),
                                  recovery_summary(cir["time"], cir["event"], g))


def test_f1_aalen_johansen_aligns():
    from aplcohort.multistate.occupancy import aalen_johansen
    idx = ["p1", "p2", "p3", "p4"]
    start = pd.Series([0.0, 0, 0, 0], index=idx)
    stop = pd.Series([1.0, 2, 3, 4], index=idx)
    frm = pd.Series([0, 0, 0, 0], index=idx)
    to = pd.Series([2, 0, 2, 0], index=idx)
    sid = pd.Series([1, 2, 3, 4], index=idx)
    want = aalen_johansen(start, stop, frm, to, sid, 2)
    got = aalen_johansen(start, stop, frm, to.iloc[::-1], sid, 2)
    np.testing.assert_array_equal(got.pstate, want.pstate)


def test_f1_filter_mask_from_sorted_copy_names_the_right_patients(cohort):
    """Before: 25 kept of whom 13 women; the attrition called 14 men 'women'."""
    srt = cohort.data.sort_values("age_at_diagnosis")
    kept = cohort.filter(srt["sex"].eq("M"), step="men", reason="women")
    assert kept.data["sex"].eq("M").all()
    assert kept.n == int(cohort.data["sex"].eq("M").sum())
    women = set(cohort.data.loc[cohort.data["sex"] != "M", "patient_id"])
    assert set(kept.attrition.steps[-1].excluded_ids) == women
    # the same as the mask taken from cohort.data itself
    direct = cohort.filter(cohort.data["sex"].eq("M"), step="men", reason="women")
    assert kept.patient_ids == direct.patient_ids


def test_f1_filter_mask_with_other_labels_is_refused(cohort):
    foreign = cohort.data["sex"].eq("M").set_axis(cohort.data.index + 500)
    with pytest.raises(InputError, match=r"Cohort.filter \(men\): the mask .* not the rows "
                                         r"of cohort.data.*to_numpy\(\)"):
        cohort.filter(foreign, step="men", reason="women")
    # by position on purpose
    kept = cohort.filter(foreign.to_numpy(), step="men", reason="women")
    assert kept.data["sex"].eq("M").all()


# ----------------------------------------------------------------------------- F5 / F10
@pytest.mark.parametrize("bad, why", [
    ("01/03/2010", "ambiguous"),            # was 3 January
    (2010, "a year, not a full date"),      # was 2010 ns after 1970: every patient excluded
    (40238, "a number, not a date"),        # Excel serial without the mapping's option
    (np.int64(40238), "cutoff=40238 is a number"),
    ("garbage", "not an ISO date"),         # was a pandas DateParseError
    ("2010-03", "partial date"),
    ("2010-02-30", "not a valid calendar date"),
    (True, "not a date"),
])
def test_f5_cutoff_refused(cohort, bad, why):
    with pytest.raises(InputError, match=why):
        cohort.endpoint("OS", time_zero="relapse1", cutoff=bad)


def test_f5_cutoff_ambiguous_message_offers_both_readings(cohort):
    with pytest.raises(InputError) as ei:
        cohort.endpoint("OS", time_zero="relapse1", cutoff="01/03/2010")
    msg = str(ei.value)
    assert "'2010-03-01' (1 March)" in msg and "'2010-01-03' (3 January)" in msg


def test_f5_cutoff_dates_accepted(cohort):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        iso = cohort.endpoint("OS", time_zero="relapse1", cutoff="2010-03-01").data
        for v in (dt.date(2010, 3, 1), pd.Timestamp("2010-03-01 15:30"),
                  np.datetime64("2010-03-01")):
            d = cohort.endpoint("OS", time_zero="relapse1", cutoff=v).data
            pd.testing.assert_frame_equal(d, iso)
    assert len(iso) == 26


def test_f5_cutoff_by_the_mapping(cohort):
    """Excel serials with excel_serial_dates: true; the mapping's date_format is used."""
    raw = example_data()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        iso = cohort.endpoint("OS", time_zero="relapse1", cutoff="2010-03-01").data
        c1 = from_dataframe(raw, mapping={"excel_serial_dates": True})
        d1 = c1.endpoint("OS", time_zero="relapse1", cutoff=40238).data
        c2 = from_dataframe(raw, mapping={"date_format": "%d/%m/%Y"})
        d2 = c2.endpoint("OS", time_zero="relapse1", cutoff="01/03/2010").data
    for d in (d1, d2):
        np.testing.assert_array_equal(d["time"].to_numpy(), iso["time"].to_numpy())
        np.testing.assert_array_equal(d["event"].to_numpy(), iso["event"].to_numpy())


def test_f5_build_transitions_cutoff(cohort):
    from aplcohort.multistate import build_transitions, relapsed_leukemia_model
    m = relapsed_leukemia_model()
    with pytest.raises(InputError, match="a year, not a full date"):
        build_transitions(cohort, m, time_zero="CR2", cutoff=2010)       # was 0 patients
    with pytest.raises(InputError, match="ambiguous"):
        build_transitions(cohort, m, time_zero="CR2", cutoff="01/03/2010")
    a = build_transitions(cohort, m, time_zero="CR2", cutoff="2010-03-01")
    b = build_transitions(cohort, m, time_zero="CR2", cutoff=dt.date(2010, 3, 1))
    pd.testing.assert_frame_equal(a.data, b.data)
    assert a.data["patient_id"].nunique() > 0


# ----------------------------------------------------------------------------- F8
def _order_calls():
    from aplcohort import stats as S
    from aplcohort.stats import grouptests as G
    from aplcohort.tables import survival_summary
    o = ["IC", "ATO-based", "X"]
    return {
        "kaplan_meier": lambda d: S.kaplan_meier(d.time, d.event, d.g, order=o),
        "number_at_risk": lambda d: S.number_at_risk(d.time, d.event, [12], d.g, order=o),
        "rmst_difference": lambda d: S.rmst_difference(d.time, d.event, d.g, 12, order=o),
        "median_followup": lambda d: S.median_followup(d.time, d.event, d.g, order=o),
        "reverse_kaplan_meier": lambda d: S.reverse_kaplan_meier(d.time, d.event, d.g, order=o),
        "rmst2": lambda d: S.rmst2(d.time, d.event, d.g, 12, order=o),
        "logrank_test": lambda d: S.logrank_test(d.time, d.event, d.g, order=o),
        "logrank_test strata": lambda d: S.logrank_test(d.time, d.event, d.g, order=o,
                                                        strata=d.sex),
        "weighted_logrank": lambda d: S.weighted_logrank(d.time, d.event, d.g, order=o),
        "trend_test": lambda d: S.trend_test(d.time, d.event, d.g, order=o),
        "pairwise_logrank": lambda d: S.pairwise_logrank(d.time, d.event, d.g, order=o),
        "cumulative_incidence": lambda d: S.cumulative_incidence(d.time, d.event, d.g, order=o),
        "gray_test": lambda d: S.gray_test(d.time, d.event, d.g, order=o),
        "pairwise_gray": lambda d: S.pairwise_gray(d.time, d.event, d.g, order=o),
        "kruskal_wallis": lambda d: G.kruskal_wallis(d.age_at_diagnosis, d.g, order=o),
        "anova_oneway": lambda d: G.anova_oneway(d.age_at_diagnosis, d.g, order=o),
        "compare_groups": lambda d: G.compare_groups(d.age_at_diagnosis, d.g, order=o),
        "standardized_mean_difference": lambda d: G.standardized_mean_difference(
            d.age_at_diagnosis, d.g, order=o),
        "survival_summary": lambda d: survival_summary(d.time, d.event, d.g, order=o),
        "landmark": lambda d: S.landmark(d, landmark=1, time="time", event="event",
                                         id="patient_id", group="g", order=o),
    }


@pytest.mark.parametrize("name", list(_order_calls()))
def test_f8_unknown_order_label_is_an_error(ep, name):
    d = ep[ep["reinduction_regimen"].isin(["IC", "ATO-based"])].rename(
        columns={"reinduction_regimen": "g"}).reset_index(drop=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(InputError, match=r"order names 'X', which is not a group label"):
            _order_calls()[name](d)


def test_f8_order_with_the_data_labels_still_works(ep):
    from aplcohort.stats import kaplan_meier, landmark
    d = ep[ep["reinduction_regimen"].isin(["IC", "ATO-based"])].reset_index(drop=True)
    km = kaplan_meier(d.time, d.event, d.reinduction_regimen, order=["IC", "ATO-based"])
    assert km.groups == ("IC", "ATO-based")
    # a label of the column that no patient still followed at a late landmark has is not
    # an error there (the curves at that landmark omit it)
    late = float(d.loc[d.reinduction_regimen == "IC", "time"].max()) + 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = landmark(d, landmark=[1, late], time="time", event="event", id="patient_id",
                       group="reinduction_regimen", order=["IC", "ATO-based"])
    assert res is not None


def test_f8_state_occupancy_unknown_order_label(cohort):
    from aplcohort.multistate import build_transitions, relapsed_leukemia_model
    from aplcohort.multistate.occupancy import state_occupancy
    tr = build_transitions(cohort, relapsed_leukemia_model(), time_zero="CR2")
    d = tr.data
    with pytest.raises(InputError, match="order names 'X'"):
        state_occupancy(d, id="patient_id", group="sex", order=["F", "M", "X"])


@pytest.mark.parametrize("weights", ["gehan", "logrank", "peto", "tarone-ware", "peto-prentice"])
@pytest.mark.parametrize("pq", [{"p": 3}, {"q": 2}])
def test_f8_p_q_with_a_weight_that_ignores_them(ep, weights, pq):
    """Before: weighted_logrank(weights='gehan', q=2) gave the Gehan statistic unchanged."""
    from aplcohort.stats import pairwise_logrank, weighted_logrank
    with pytest.raises(InputError, match="apply to weights='fleming-harrington' only"):
        weighted_logrank(ep.time, ep.event, ep.sex, weights=weights, **pq)
    with pytest.raises(InputError, match="apply to weights='fleming-harrington' only"):
        pairwise_logrank(ep.time, ep.event, ep.sex, weights=weights, **pq)


def test_f8_p_q_still_used_by_fleming_harrington_and_rho_with_weights(ep):
    from aplcohort.stats import pairwise_logrank, weighted_logrank
    a = weighted_logrank(ep.time, ep.event, ep.sex, weights="fleming-harrington", q=2)
    b = weighted_logrank(ep.time, ep.event, ep.sex, weights="fleming-harrington")
    assert a.statistic != b.statistic
    with pytest.raises(InputError, match="rho applies without weights= only"):
        pairwise_logrank(ep.time, ep.event, ep.sex, weights="gehan", rho=1)


def test_f8_survival_summary_cause_without_competing(ep):
    from aplcohort.tables import survival_summary
    with pytest.raises(InputError, match="competing=True"):
        survival_summary(ep.time, ep.event, ep.sex, cause=2)


def test_f8_survival_summary_negative_times(ep):
    from aplcohort.tables import survival_summary
    with pytest.raises(InputError, match=r"times must be finite and >= 0"):
        survival_summary(ep.time, ep.event, ep.sex, times=[-5, 12])


def test_f8_cumulative_incidence_records_strata(cir):
    from aplcohort.stats import cumulative_incidence
    t, c = cir["time"], cir["event"]
    plain = cumulative_incidence(t, c, cir["reinduction_regimen"])
    strat = cumulative_incidence(t, c, cir["reinduction_regimen"], strata=cir["sex"])
    # a cohort's sex is a Categorical in the dictionary's order, M then F (review 14, F7)
    assert strat.choices["strata"] == ["M", "F"]
    assert "strata" not in plain.choices
    assert '"strata": ["M", "F"]' in _json(strat)
    assert _json(strat) != _json(plain)
    pd.testing.assert_frame_equal(strat.table, plain.table)     # estimates do not change


# ----------------------------------------------------------------------------- F14
def test_f14_from_dataframe_index_hint():
    raw = example_data()
    with pytest.raises(InputError, match=r"'patient_id' is the index.*reset_index\(\)"):
        from_dataframe(raw.set_index("patient_id"))
    # an index that is not a dictionary column is not an error
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert from_dataframe(raw.rename_axis("row")).n == len(raw)
