"""Endpoint derivation on hand-worked cohorts.

The fixture tests/data/cohort/endpoints.csv is written by make_fixtures.py from
day offsets after the first relapse (2020-01-01); data cut-off 2021-06-30 =
day 546 (2020 is a leap year: 366 + 180). Expected (time, event) below are
worked out by hand from those offsets:

pid  reinduction response(day) post-rem(day) relapse2 death  lfu   anc  plt
P1   ATO d5      mCR2 d40      ATO d60       d200     d300   d300  d25  d30
P2   ATO d3      CR2  d35      auto d90      d150     d150   d150  d28  d40   (same-day tie)
P3   IC  d2      none          none          -        d20    d20   d20  -     (recovery = death day)
P4   none        none          none          -        -      d100  -    -
P5   ATO d4      mCR2 d45      none          -        -      d800  d30  d35   (censored at cut-off)
P6   ATO d1      mCR2 d30      allo d100     -        d130   d130  -    -     (NRM)
P7   ATO d2      CR2  d33      ATO d70       d600*    -      d650  d27  d31   (*after cut-off)
P8   ATO d3      CR2  (no date) missing      -        -      d200  -    -
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from aplcohort.cohort import (from_dataframe, load,
                              endpoint_arrays)
from aplcohort.errors import DataQualityWarning, InputError

FIX = "tests/data/cohort/endpoints.csv"


@pytest.fixture(scope="module")
def cohort():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        return load(FIX)


def te(ep):
    return {p: (t, e) for p, t, e in zip(ep.data["patient_id"], ep.data["time"], ep.data["event"])}


def test_os_from_relapse1(cohort):
    ep = cohort.endpoint("OS", time_zero="relapse1")
    assert ep.kind == "survival" and ep.unit == "days" and ep.time_zero == "relapse1"
    assert te(ep) == {"P1": (300, 1), "P2": (150, 1), "P3": (20, 1), "P4": (100, 0),
                      "P5": (546, 0), "P6": (130, 1), "P7": (546, 0), "P8": (200, 0)}
    assert list(ep.data.columns[:5]) == ["patient_id", "time", "event", "time_zero_date",
                                         "end_date"]
    assert "postremission_modality" in ep.data.columns  # cohort columns carried along
    assert ep.excluded.empty


def test_os_from_reinduction_excludes_not_reinduced(cohort):
    ep = cohort.endpoint("OS", time_zero="reinduction")
    assert te(ep) == {"P1": (295, 1), "P2": (147, 1), "P3": (18, 1), "P5": (542, 0),
                      "P6": (129, 1), "P7": (544, 0), "P8": (197, 0)}
    step = ep.attrition.steps[-1]
    assert step.step == "OS from reinduction: analysis set"
    assert (step.n_before, step.n_after, step.excluded_ids) == (8, 7, ("P4",))
    assert step.reasons == {"not reinduced (reinduction_regimen none)": ["P4"]}
    # the cohort's own log is not changed
    assert len(cohort.attrition) == 0


def test_efs_failure_is_event_at_time_zero(cohort):
    ep = cohort.endpoint("EFS", time_zero="relapse1")
    assert te(ep) == {"P1": (200, 1), "P2": (150, 1), "P3": (0, 1), "P4": (0, 1),
                      "P5": (546, 0), "P6": (130, 1), "P7": (546, 0), "P8": (200, 0)}


def test_rfs_and_lfs_alias_from_response(cohort):
    ep = cohort.endpoint("RFS", time_zero="response")
    assert te(ep) == {"P1": (160, 1), "P2": (115, 1), "P5": (501, 0), "P6": (100, 1),
                      "P7": (513, 0)}
    assert dict(zip(ep.excluded.patient_id, ep.excluded.reason)) == {
        "P3": "no CR2 (response none)", "P4": "not reinduced (reinduction_regimen none)",
        "P8": "response_date missing"}
    lfs = cohort.endpoint("lfs", time_zero="response")
    assert lfs.name == "RFS" and te(lfs) == te(ep)


def test_cir_nrm_same_day_relapse_and_death(cohort):
    cir = cohort.endpoint("CIR", time_zero="response")
    nrm = cohort.endpoint("NRM", time_zero="response")
    assert cir.kind == nrm.kind == "competing"
    # P2: relapse2 and death on day 150 -> relapse for CIR (1), competing for NRM (2)
    assert te(cir) == {"P1": (160, 1), "P2": (115, 1), "P5": (501, 0), "P6": (100, 2),
                       "P7": (513, 0)}
    assert te(nrm) == {"P1": (160, 2), "P2": (115, 2), "P5": (501, 0), "P6": (100, 1),
                       "P7": (513, 0)}


def test_mcr2_time_zero(cohort):
    ep = cohort.endpoint("OS", time_zero="mcr2")
    assert te(ep) == {"P1": (260, 1), "P5": (501, 0), "P6": (100, 1)}
    reasons = dict(zip(ep.excluded.patient_id, ep.excluded.reason))
    assert reasons["P2"] == "CR2 without molecular CR (response CR2, not mCR2)"
    assert reasons["P8"] == "CR2 without molecular CR (response CR2, not mCR2)"


def test_postremission_time_zero(cohort):
    ep = cohort.endpoint("OS", time_zero="postremission")
    assert te(ep) == {"P1": (240, 1), "P2": (60, 1), "P6": (30, 1), "P7": (476, 0)}
    reasons = dict(zip(ep.excluded.patient_id, ep.excluded.reason))
    assert reasons["P5"].startswith("no post-remission therapy")
    assert reasons["P3"] == "no CR2 (response none)"  # earliest step not reached is named
    assert reasons["P4"] == "not reinduced (reinduction_regimen none)"
    assert reasons["P8"] == "postremission_start_date missing"


def test_recovery_endpoints(cohort):
    anc = cohort.endpoint("ANC_recovery", time_zero="reinduction")
    # P3: recovery and death on day 20 -> recovery (1); P6: died d130 without recovery -> 2
    assert te(anc) == {"P1": (20, 1), "P2": (25, 1), "P3": (18, 1), "P5": (26, 1),
                       "P6": (129, 2), "P7": (25, 1), "P8": (197, 0)}
    plt = cohort.endpoint("plt_recovery", time_zero="reinduction")
    assert te(plt) == {"P1": (25, 1), "P2": (37, 1), "P3": (18, 2), "P5": (31, 1),
                       "P6": (129, 2), "P7": (29, 1), "P8": (197, 0)}


def test_units(cohort):
    d = cohort.endpoint("OS", time_zero="relapse1")
    m = cohort.endpoint("OS", time_zero="relapse1", unit="months")
    y = cohort.endpoint("OS", time_zero="relapse1", unit="years")
    assert d.data["time"].iloc[0] == 300                 # days between the fixture's dates
    # every patient, not one: a month is 365.25 / 12 = 30.4375 days, a year 365.25 days
    np.testing.assert_array_equal(m.data["time"], d.data["time"] / (365.25 / 12))
    np.testing.assert_array_equal(y.data["time"], d.data["time"] / 365.25)
    np.testing.assert_array_equal(d.event, m.event)
    with pytest.raises(InputError, match="unit must be one of"):
        cohort.endpoint("OS", time_zero="relapse1", unit="weeks")


def test_cutoff_override(cohort):
    ep = cohort.endpoint("OS", time_zero="relapse1", cutoff="2020-05-31")  # day 151
    got = te(ep)
    assert got["P1"] == (151, 0)  # death on day 300 is after the cut-off: censored at it
    assert got["P2"] == (150, 1)
    assert got["P4"] == (100, 0)


def test_event_on_cutoff_day_counts():
    with pytest.warns(DataQualityWarning, match="after_cutoff"):
        c = _cutoff_cohort()
    assert te(c.endpoint("OS", time_zero="relapse1")) == {"a": (10, 1), "b": (10, 0)}


def _cutoff_cohort():
    return from_dataframe(pd.DataFrame({
        "patient_id": ["a", "b"], "disease": ["APL", "APL"],
        "relapse1_date": ["2020-01-01", "2020-01-01"],
        "death_date": ["2020-01-11", "2020-01-12"],
        "last_followup_date": ["2020-01-11", "2020-01-12"],
        "data_cutoff_date": ["2020-01-11", "2020-01-11"]}))


def test_death_on_time_zero_day_is_time_zero_event():
    c = from_dataframe(pd.DataFrame({
        "patient_id": ["a"], "disease": ["APL"], "relapse1_date": ["2020-01-01"],
        "death_date": ["2020-01-01"], "last_followup_date": ["2020-01-01"]}))
    assert te(c.endpoint("OS", time_zero="relapse1")) == {"a": (0, 1)}


def test_missing_time_zero_never_time_zero():
    c = from_dataframe(pd.DataFrame({
        "patient_id": ["a", "b"], "disease": ["APL", "APL"],
        "relapse1_date": ["2020-01-01", None],
        "last_followup_date": ["2020-02-01", "2020-03-01"], "death_date": [None, None]}))
    ep = c.endpoint("OS", time_zero="relapse1")
    assert te(ep) == {"a": (31, 0)}
    assert ep.attrition.steps[-1].reasons == {"relapse1_date missing": ["b"]}


def test_missing_optional_columns_reported_when_needed():
    c = from_dataframe(pd.DataFrame({
        "patient_id": ["a"], "disease": ["APL"], "relapse1_date": ["2020-01-01"],
        "last_followup_date": ["2020-02-01"]}))
    with pytest.raises(InputError, match="death_date"):
        c.endpoint("OS", time_zero="relapse1")


def test_remission_endpoint_needs_remission_time_zero(cohort):
    with pytest.raises(InputError, match="starts in remission"):
        cohort.endpoint("CIR", time_zero="relapse1")
    with pytest.raises(InputError, match="unknown time zero"):
        cohort.endpoint("OS", time_zero="transplant")
    with pytest.raises(InputError, match="unknown endpoint"):
        cohort.endpoint("PFS", time_zero="relapse1")


def test_any_date_column_as_time_zero(cohort):
    ep = cohort.endpoint("OS", time_zero="cr1_date")
    # cr1 2018-03-01 -> relapse1 2020-01-01 is 671 days (2018: 306 d, 2019: 365 d)
    assert te(ep)["P1"] == (671 + 300, 1)


def test_outcome_object(cohort):
    ep = cohort.endpoint("CIR", time_zero="response")
    out = ep.outcome()
    assert out.type == "competing" and out.causes() == [1, 2]
    assert cohort.endpoint("OS", time_zero="relapse1").outcome().type == "right"


def test_array_core_ties_and_cutoff():
    # three patients, time zero day 0; NaN = no event
    t, e, p = endpoint_arrays("NRM", [0, 0, 0], [90, 90, 90],
                              death=[30, 30, np.nan], relapse=[30, np.nan, 20],
                              cutoff=[25, np.nan, np.nan])
    # patient 1: relapse and death day 30, both after cut-off 25 -> censored at 25
    assert t.tolist() == [25, 30, 20] and e.tolist() == [0, 1, 2]
    assert list(p) == [None, None, None]
    t, e, p = endpoint_arrays("RFS", [10], [90], relapse=[5])
    assert p[0] == "second relapse before time zero"
    t, e, p = endpoint_arrays("CIR", [0], [90], relapse=[95])
    assert p[0] == "second relapse after the last follow-up"
    with pytest.raises(InputError, match="time zero is missing"):
        endpoint_arrays("OS", [np.nan], [10])


# ---- invariants (hypothesis) ------------------------------------------------------------
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_maybe_day = st.one_of(st.none(), st.integers(0, 400))


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 400), _maybe_day, _maybe_day, _maybe_day),
                min_size=1, max_size=20))
def test_endpoint_invariants(rows):
    t0 = np.zeros(len(rows))
    lfu = np.array([r[0] for r in rows], float)
    death = np.array([np.nan if r[1] is None else r[1] for r in rows], float)
    rel = np.array([np.nan if r[2] is None else r[2] for r in rows], float)
    cut = np.array([np.nan if r[3] is None else r[3] for r in rows], float)
    res = {n: endpoint_arrays(n, t0, lfu, death=death, relapse=rel, cutoff=cut)
           for n in ("OS", "RFS", "CIR", "NRM")}
    ok = np.array([p is None for p in res["RFS"][2]])
    assert [p for p in res["CIR"][2]] == [p for p in res["RFS"][2]]
    # the only problem possible here: a relapse after the last follow-up (and after death);
    # it is reported, never silently turned into longer follow-up
    np.testing.assert_array_equal(~ok, rel > np.fmax(lfu, death))
    res = {n: tuple(a[ok] for a in v) for n, v in res.items()}
    death, cut = death[ok], cut[ok]
    (t_os, e_os, _), (t_rfs, e_rfs, _) = res["OS"], res["RFS"]
    (t_cir, e_cir, _), (t_nrm, e_nrm, _) = res["CIR"], res["NRM"]
    # CIR and NRM describe the same first event with swapped codes
    np.testing.assert_array_equal(t_cir, t_nrm)
    np.testing.assert_array_equal(e_cir, np.choose(e_nrm, [0, 2, 1]))
    # RFS is the composite of the two causes, at the same time
    np.testing.assert_array_equal(t_rfs, t_cir)
    np.testing.assert_array_equal(e_rfs, (e_cir > 0).astype(int))
    # RFS never ends after OS; every time is >= 0 and never beyond the cut-off
    assert (t_rfs <= t_os).all() and (t_os >= 0).all()
    capped = ~np.isnan(cut)
    assert (t_os[capped] <= cut[capped]).all()
    # an OS event is a death on or before the cut-off
    dead = ~np.isnan(death) & (np.isnan(cut) | (death <= cut))
    np.testing.assert_array_equal(e_os, dead.astype(int))


def test_unparsed_dataframe_refused():
    raw = pd.DataFrame({"patient_id": ["a"], "disease": ["APL"],
                        "relapse1_date": ["01/02/2020"], "death_date": [None],
                        "last_followup_date": ["2020-03-01"]})
    from aplcohort.cohort import derive_endpoint
    with pytest.raises(InputError, match="not a parsed date column"):
        derive_endpoint(raw, "OS", time_zero="relapse1")
    parsed = from_dataframe(raw.assign(relapse1_date=["2020-02-01"])).data
    assert te(derive_endpoint(parsed, "OS", time_zero="relapse1")) == {"a": (29, 0)}


def test_grouped_warns_when_groups_are_a_treatment_started_after_time_zero():
    import warnings

    from aplcohort.cohort import from_dataframe
    from aplcohort.errors import ImmortalTimeWarning
    df = pd.DataFrame({
        "patient_id": ["a", "b", "c"], "disease": "APL",
        "relapse1_date": ["2020-01-01"] * 3, "reinduction_regimen": "ATO-based",
        "reinduction_start_date": ["2020-01-02"] * 3, "response": "mCR2",
        "response_date": ["2020-02-01"] * 3,
        "postremission_modality": ["auto HSCT", "ATO-based", "ATO-based"],
        "postremission_start_date": ["2020-04-01", "2020-02-01", "2020-02-10"],
        "death_date": [None] * 3, "last_followup_date": ["2021-01-01"] * 3})
    ep = from_dataframe(df).endpoint("OS", time_zero="response")
    with pytest.warns(ImmortalTimeWarning) as rec:
        t, e, g = ep.grouped("postremission_modality")
    msg = str(rec[0].message)
    # 'b' starts on the day of time zero (not after it); 'c' and 'a' start later
    assert "'ATO-based': 1 of 2 patients" in msg and "'auto HSCT': 1 of 1 patients" in msg
    assert "postremission_start_date" in msg
    assert list(g) == ["auto HSCT", "ATO-based", "ATO-based"]
    # from the start of post-remission therapy itself there is nothing to warn about
    ep2 = from_dataframe(df).endpoint("OS", time_zero="postremission")
    with warnings.catch_warnings():
        warnings.simplefilter("error", ImmortalTimeWarning)
        ep2.grouped("postremission_modality")


# ---------------------------------------------------------------------------------------
# Remission by disease (issue 14): AML / ALL responses CR, CRh, CRi (and MRD-negative CR)
# start the remission clock; MLFS and PR do not; APL keeps CR2 / mCR2.
#
# Day offsets after relapse1 = 2020-01-01 (worked by hand):
# pid disease response(day)          post-rem(day)  relapse2 death  lfu
# A1  AML     CRh d40                allo d100      d200     d250   d250
# A2  AML     CRi d35                none           -        -      d300
# A3  AML     MLFS d30               -              -        d90    d90
# A4  AML     PR d45                 -              -        -      d120
# A5  AML     none                   -              -        d60    d60
# L1  ALL     MRD-negative CR d30    allo d90       -        -      d400
# L2  ALL     CRh d28                none           d150     -      d210
# P1  APL     CRh d40 (not APL)      -              -        -      d100
# P2  APL     mCR2 d42               none           -        -      d365
# ---------------------------------------------------------------------------------------

def _day(k):
    return None if k is None else str((pd.Timestamp("2020-01-01") + pd.Timedelta(days=k)).date())


@pytest.fixture(scope="module")
def mixed():
    rows = [  # pid, disease, response, resp day, post-rem, post day, relapse2, death, lfu
        ("A1", "AML", "CRh", 40, "allo HSCT", 100, 200, 250, 250),
        ("A2", "AML", "CRi", 35, "none", None, None, None, 300),
        ("A3", "AML", "MLFS", 30, None, None, None, 90, 90),
        ("A4", "AML", "PR", 45, None, None, None, None, 120),
        ("A5", "AML", "none", None, None, None, None, 60, 60),
        ("L1", "ALL", "MRD-negative CR", 30, "allo HSCT", 90, None, None, 400),
        ("L2", "ALL", "CRh", 28, "none", None, 150, None, 210),
        ("P1", "APL", "CRh", 40, None, None, None, None, 100),
        ("P2", "APL", "mCR2", 42, "none", None, None, None, 365),
    ]
    df = pd.DataFrame({
        "patient_id": [r[0] for r in rows], "disease": [r[1] for r in rows],
        "relapse1_date": _day(0), "reinduction_regimen": "other",
        "reinduction_start_date": _day(2),
        "response": [r[2] for r in rows], "response_date": [_day(r[3]) for r in rows],
        "postremission_modality": [r[4] for r in rows],
        "postremission_start_date": [_day(r[5]) for r in rows],
        "relapse2_date": [_day(r[6]) for r in rows], "death_date": [_day(r[7]) for r in rows],
        "last_followup_date": [_day(r[8]) for r in rows]})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)  # P1: CRh is not an APL category
        return from_dataframe(df)


def test_remission_by_disease_starts_the_clock(mixed):
    ep = mixed.endpoint("RFS", time_zero="response")
    # A1: relapse d200 - CRh d40; A2 censored d300 - d35; L1 d400 - d30; L2 relapse d150 - d28
    assert te(ep) == {"A1": (160, 1), "A2": (265, 0), "L1": (370, 0), "L2": (122, 1),
                      "P2": (323, 0)}
    reasons = dict(zip(ep.excluded.patient_id, ep.excluded.reason))
    assert reasons == {
        "A3": "response MLFS is not a remission for AML (remission: CR2/MRD-negative CR/CRh/CRi)",
        "A4": "response PR is not a remission for AML (remission: CR2/MRD-negative CR/CRh/CRi)",
        "A5": "no remission (response none)",
        "P1": "response CRh is not a remission for APL (remission: CR2/mCR2)"}
    assert ep.attrition.steps[-1].reasons["no remission (response none)"] == ["A5"]


def test_os_from_response_counts_only_remissions(mixed):
    ep = mixed.endpoint("OS", time_zero="response")
    assert te(ep) == {"A1": (210, 1), "A2": (265, 0), "L1": (370, 0), "L2": (182, 0),
                      "P2": (323, 0)}


def test_efs_counts_a_response_that_is_not_remission_as_failure(mixed):
    ep = mixed.endpoint("EFS", time_zero="relapse1")
    assert te(ep) == {"A1": (200, 1), "A2": (300, 0), "A3": (0, 1), "A4": (0, 1), "A5": (0, 1),
                      "L1": (400, 0), "L2": (150, 1), "P1": (0, 1), "P2": (365, 0)}
    assert ep.event_codes[1] == "no remission, second relapse or death"


def test_cir_from_postremission_includes_crh(mixed):
    # A1 (CRh) and L1 (MRD-negative CR) were transplanted in remission: both are in the set
    ep = mixed.endpoint("CIR", time_zero="postremission")
    assert te(ep) == {"A1": (100, 1), "L1": (310, 0)}


def test_remission_categories_can_be_restricted(mixed):
    cr_only = ["CR2", "MRD-negative CR", "mCR2"]
    ep = mixed.endpoint("RFS", time_zero="response", remission=cr_only)
    assert set(te(ep)) == {"L1", "P2"}
    reasons = dict(zip(ep.excluded.patient_id, ep.excluded.reason))
    assert reasons["A1"] == "response CRh is not a remission for AML (remission: CR2/MRD-negative CR/mCR2)"
    efs = te(mixed.endpoint("EFS", time_zero="relapse1", remission=cr_only))
    assert efs["A1"] == (0, 1) and efs["L2"] == (0, 1) and efs["L1"] == (400, 0)
    with pytest.raises(InputError, match="non-empty list of response categories"):
        mixed.endpoint("RFS", time_zero="response", remission="CR2")
    with pytest.raises(InputError, match=r"\['CR3'\] not in the response vocabulary"):
        mixed.endpoint("RFS", time_zero="response", remission=["CR2", "CR3"])


def test_in_remission_by_disease():
    from aplcohort.cohort.endpoints import REMISSION_BY_DISEASE, in_remission
    from aplcohort.cohort.vocab import RESPONSE_BY_DISEASE
    for dis, cats in REMISSION_BY_DISEASE.items():
        assert set(cats) <= set(RESPONSE_BY_DISEASE[dis])  # remission is a response of that disease
        assert "none" not in cats and "PR" not in cats and "MLFS" not in cats
    assert in_remission(["CRi", None, "CR2"], ["ALL", "AML", None]).tolist() == [True, False, False]
