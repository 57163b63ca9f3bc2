"""Multi-state rows from dates (build_transitions) and survcheck-like checks, by hand."""

import numpy as np
import pandas as pd
import pytest

from aplcohort.errors import InputError
from aplcohort.multistate import (StateModel, StateRule, TransitionCheckError,
                                  build_transitions, check_intervals, relapsed_leukemia_model)

DATES = ["relapse1_date", "response_date", "postremission_start_date", "relapse2_date",
         "salvage2_start_date", "death_date", "last_followup_date", "data_cutoff_date"]


def cohort(rows):
    """Rows as dicts with day offsets from 2020-01-01 for the date columns."""
    base = pd.Timestamp("2020-01-01")
    df = pd.DataFrame(rows)
    if "relapse1_date" not in df:
        df["relapse1_date"] = 0  # time zero: first relapse on 2020-01-01
    for c in DATES:
        if c not in df:
            df[c] = np.nan
        df[c] = [base + pd.Timedelta(days=v) if pd.notna(v) else pd.NaT for v in df[c]]
    return df


def path(tr, pid):
    d = tr.data[tr.data.patient_id == pid]
    return [(r.tstart, r.tstop, r.from_state, r.to_state) for r in d.itertuples()]


GOOD = [
    # full course: CR2 day 40, auto HSCT day 100, relapse2 day 400, salvage allo 420, alive
    dict(patient_id="p1", response="mCR2", response_date=40, postremission_modality="auto HSCT",
         postremission_start_date=100, relapse2_date=400, salvage2_modality="allo HSCT",
         salvage2_start_date=420, status_after_salvage2="mCR", last_followup_date=900),
    # not reinduced, death on the day of relapse (time-zero day rule: 0.5)
    dict(patient_id="p2", response=None, death_date=0, last_followup_date=0),
    # CR2, ATO-based; relapse2 and death on the same day (same-day rule)
    dict(patient_id="p3", response="CR2", response_date=30,
         postremission_modality="ATO-based", postremission_start_date=60, relapse2_date=300,
         death_date=300, last_followup_date=300),
    # CR2, death after the cut-off: censored at the cut-off (day 200)
    dict(patient_id="p4", response="mCR2", response_date=20, postremission_modality="none",
         death_date=250, last_followup_date=250, data_cutoff_date=200),
    # post-remission 'other' date given: not a model state -> warning, stays in CR2
    dict(patient_id="p5", response="mCR2", response_date=25, postremission_modality="other",
         postremission_start_date=50, last_followup_date=500),
]


def test_rows_worked_by_hand():
    tr = build_transitions(cohort(GOOD), relapsed_leukemia_model(cr3_entry="salvage_start"))
    assert path(tr, "p1") == [
        (0.0, 40.0, "relapse1", "CR2"), (40.0, 100.0, "CR2", "auto HSCT"),
        (100.0, 400.0, "auto HSCT", "relapse2"), (400.0, 419.5, "relapse2", "salvage allo HSCT"),
        (419.5, 420.0, "salvage allo HSCT", "CR3"), (420.0, 900.0, "CR3", "censor")]
    assert path(tr, "p2") == [(0.0, 0.5, "relapse1", "death")]
    assert path(tr, "p3") == [
        (0.0, 30.0, "relapse1", "CR2"), (30.0, 60.0, "CR2", "ATO-based"),
        (60.0, 299.5, "ATO-based", "relapse2"), (299.5, 300.0, "relapse2", "death")]
    assert path(tr, "p4") == [(0.0, 20.0, "relapse1", "CR2"), (20.0, 200.0, "CR2", "censor")]
    assert path(tr, "p5") == [(0.0, 25.0, "relapse1", "CR2"), (25.0, 500.0, "CR2", "censor")]
    p = tr.report.problems
    assert set(p[p.severity == "note"]["rule"]) == {"same-day rule", "after cut-off"}
    assert p[p.rule == "after cut-off"]["patient_id"].tolist() == ["p4"]
    w = p[p.severity == "warning"]
    assert w["patient_id"].tolist() == ["p5"] and "2020-02-20" in w["detail"].iloc[0]
    assert tr.report.ok and len(tr.excluded) == 0
    assert tr.data.loc[tr.data.patient_id == "p1", "stop_date"].iloc[0] == "2020-02-10"
    counts = tr.transition_counts()
    assert counts[(counts.from_state == "relapse1") & (counts.to_state == "CR2")]["n"].item() == 4


def test_units_and_time_zero_at_cr2():
    tr = build_transitions(cohort(GOOD[:1]), relapsed_leukemia_model("salvage_start"),
                           time_zero="CR2", unit="months")
    assert path(tr, "p1")[0] == (0.0, 60 / 30.4375, "CR2", "auto HSCT")
    tr2 = build_transitions(cohort(GOOD[1:2]), time_zero="CR2")
    assert tr2.excluded.values.tolist() == [["p2", "CR2 not reached (response missing)"]]


def test_not_reinduced_is_named_as_such_not_as_a_missing_response():
    rows = [dict(GOOD[1], reinduction_regimen="none"),
            dict(GOOD[1], patient_id="p9", reinduction_regimen="ATO-based")]
    tr = build_transitions(cohort(rows), time_zero="CR2")
    assert tr.excluded.values.tolist() == [
        ["p2", "CR2 not reached (not reinduced: reinduction_regimen none)"],
        ["p9", "CR2 not reached (response missing)"]]


BAD = [
    # relapse2 straight from relapse1 (never in CR2): not in the model
    dict(patient_id="b1", response="none", relapse2_date=100, last_followup_date=300),
    # response mCR2 but no response date
    dict(patient_id="b2", response="mCR2", last_followup_date=300),
    # relapse2 after the last follow-up
    dict(patient_id="b3", response="CR2", response_date=10, relapse2_date=400,
         last_followup_date=300),
    # CR2 dated before time zero
    dict(patient_id="b4", response="CR2", response_date=-5, last_followup_date=300),
]


def test_every_problem_in_one_report():
    with pytest.raises(TransitionCheckError, match=r"4 error\(s\)") as ei:
        build_transitions(cohort(GOOD + BAD), relapsed_leukemia_model("salvage_start"))
    text = str(ei.value)
    assert "patient b1: relapse1 (from 2020-01-01) -> relapse2 on 2020-04-10" in text
    assert "patient b2: CR2 indicated (response = mCR2) but response_date is missing" in text
    assert "patient b3: relapse2 on 2021-02-04 is after the last follow-up 2020-10-27" in text
    assert "patient b4: CR2 on 2019-12-27 is before time zero (relapse1 on 2020-01-01)" in text
    rep = ei.value.report
    assert sorted(rep.errors["patient_id"]) == ["b1", "b2", "b3", "b4"]


def test_exclude_records_reason():
    tr = build_transitions(cohort(GOOD + BAD), relapsed_leukemia_model("salvage_start"),
                           on_error="exclude")
    assert sorted(tr.excluded["patient_id"]) == ["b1", "b2", "b3", "b4"]
    assert tr.excluded["reason"].str.contains("data error").all()
    assert set(tr.data.patient_id) == {"p1", "p2", "p3", "p4", "p5"}


def test_cr3_without_date_is_an_error_by_default():
    with pytest.raises(TransitionCheckError, match="cr3_entry='salvage_start'"):
        build_transitions(cohort(GOOD[:1]))


def test_invalid_model_rejected():
    with pytest.raises(InputError, match="unknown state 'CR9'"):
        StateModel([StateRule("CR", "response_date")], [("CR", "CR9")])
    with pytest.raises(InputError, match="absorbing state 'death' has transitions"):
        StateModel([StateRule("CR", "response_date"),
                    StateRule("death", "death_date", absorbing=True)],
                   [("death", "CR")])
    with pytest.raises(InputError, match="cr3_entry must be"):
        relapsed_leukemia_model("guess")


def test_check_intervals_finds_every_problem():
    d = pd.DataFrame({
        "id": [1, 1, 2, 2, 3, 4, 4, 5, 5],
        "tstart": [0, 4, 0, 6, 5, 0, 3, 0, 2],
        "tstop": [5, 9, 5, 8, 5, 3, 7, 2, 4],
        "from_state": ["CR", "relapse", "CR", "CR", "CR", "CR", "CR", "CR", "death"],
        "to_state": ["relapse", None, None, "death", "death", "relapse", None, "death", None]})
    m = StateModel([StateRule("CR", "response_date"), StateRule("relapse", "relapse2_date"),
                    StateRule("death", "death_date", absorbing=True)],
                   [("CR", "death"), ("relapse", "death")])
    rep = check_intervals(d, model=m)
    got = set(zip(rep.problems["rule"], rep.problems["patient_id"]))
    assert got == {("overlap", 1), ("transition not in model", 1), ("gap", 2),
                   ("entry >= exit", 3), ("teleport", 4), ("transition not in model", 4),
                   ("after absorbing state", 5)}
    assert rep.problems.loc[rep.problems.rule == "gap", "severity"].item() == "warning"
    with pytest.raises(TransitionCheckError, match="overlap: patient 1"):
        rep.raise_if_errors()


def test_check_intervals_flags_the_rows_r_survcheck_flags():
    # R: survcheck(Surv(tstart, tstop, event) ~ 1, id = id, istate = istate) on
    # tests/reference/data/multistate_survcheck.csv (rows 1-based in R)
    import json
    import os

    here = os.path.dirname(__file__)
    ref = json.load(open(os.path.join(here, "reference", "multistate.json")))["survcheck"]
    d = pd.read_csv(os.path.join(here, "reference", "data", "multistate_survcheck.csv"))
    p = check_intervals(d).problems
    for rule in ["overlap", "gap", "jump", "teleport"]:
        got = sorted(int(r) + 1 for r in p.loc[p.rule == rule, "row"])
        want = ref[rule] if isinstance(ref[rule], list) else [ref[rule]]
        assert got == sorted(want), rule
        assert len(got) == ref["flag"][rule]


def test_one_row_per_patient_required():
    with pytest.raises(InputError, match="repeated: \\['p1'\\]"):
        build_transitions(cohort(GOOD + GOOD[:1]), relapsed_leukemia_model("salvage_start"))


def test_event_after_death_is_an_error():
    bad = [dict(patient_id="d1", response="CR2", response_date=10, death_date=50,
                relapse2_date=80, last_followup_date=50)]
    with pytest.raises(TransitionCheckError, match="patient d1: relapse2 on 2020-03-21 is "
                                                  "after the last follow-up"):
        build_transitions(cohort(bad), relapsed_leukemia_model("salvage_start"))
    bad[0]["last_followup_date"] = 90  # follow-up recorded past the death date
    with pytest.raises(TransitionCheckError, match="patient d1: relapse2 on 2020-03-21 after "
                                                  "death"):
        build_transitions(cohort(bad), relapsed_leukemia_model("salvage_start"))


def test_rows_carry_cohort_columns_with_the_dtypes_of_one_dict_per_row():
    # build_transitions builds its rows column by column; each carried column must have
    # the dtype and values pandas gives a list of {column: df.at[i, column]} dicts
    from aplcohort.multistate.transitions import _rows_frame

    rng = np.random.default_rng(5)
    n = 12
    df = pd.DataFrame({
        "patient_id": [f"p{i}" for i in range(n)],
        "f": rng.normal(size=n), "f_nan": np.full(n, np.nan), "i": np.arange(n),
        "b": rng.random(n) < 0.5,
        "when": pd.to_datetime("2020-01-01") + pd.to_timedelta(rng.integers(0, 99, n), "D"),
        "nat": pd.Series([pd.NaT] * n, dtype="datetime64[ns]"),
        "obj_none": [None] * n, "obj_num": pd.Series([1.5, None] * (n // 2), dtype=object),
        "txt": ["a", None] * (n // 2),
        "boolean": pd.array([True, None, False] * (n // 3), dtype="boolean"),
        "boolean_full": pd.array([True, False] * (n // 2), dtype="boolean"),
        "Int": pd.array([1, None, 3] * (n // 3), dtype="Int64"),
        "cat": pd.Categorical(["u", "v", None] * (n // 3)),
    })
    cols = ["patient_id", "tstart", "tstop", "from_state", "to_state", "start_date",
            "stop_date", "same_day"]
    carry = list(df.columns)
    src = [0, 0, 3, 5, 5, 5, 11]
    rows = [(i, float(j), float(j + 1), "CR2", "censor", "2020-01-01", "2020-01-02", j == 2)
            for j, i in enumerate(src)]
    got = _rows_frame(df, rows, cols, carry)
    ref = pd.DataFrame([{**{c: df.at[i, c] for c in carry}, "tstart": a, "tstop": b,
                         "from_state": fs, "to_state": ts, "start_date": sd, "stop_date": ed,
                         "same_day": sm} for i, a, b, fs, ts, sd, ed, sm in rows],
                       columns=list(dict.fromkeys(cols + carry)))
    pd.testing.assert_frame_equal(got, ref, check_exact=True)
    assert (got.dtypes == ref.dtypes).all()
    # no rows: the columns of the empty list of dicts
    pd.testing.assert_frame_equal(_rows_frame(df, [], cols, carry),
                                  pd.DataFrame([], columns=list(dict.fromkeys(cols + carry))))


def _random_rows(rng, n_ids):
    states = ["CR2", "relapse2", "salvage", "death", "limbo"]
    out = []
    for pid in range(n_ids):
        t, cur = 0.0, "CR2"
        for _ in range(rng.integers(1, 4)):
            step = float(rng.choice([0.0, 1.0, 2.5]))     # 0: an empty interval now and then
            nxt = rng.choice(states + ["censor", None])
            start = t + float(rng.choice([0.0, 0.0, 0.0, -0.5, 1.0]))  # overlaps, gaps
            frm = cur if rng.random() > 0.1 else rng.choice(states)       # teleports
            out.append({"id": pid if rng.random() > 0.03 else None, "tstart": start,
                        "tstop": start + step, "from_state": frm, "to_state": nxt})
            t = start + step
            cur = nxt if nxt not in ("censor", None) else cur
    return pd.DataFrame(out)


@pytest.mark.parametrize("seed", range(40))
def test_check_intervals_quick_path_agrees_with_the_full_report(seed, monkeypatch):
    # the no-problem case is decided on arrays; it must never hide a problem the full
    # check reports, and its counts must be the full check's
    import aplcohort.multistate.transitions as tr_mod

    rng = np.random.default_rng(seed)
    model = StateModel([StateRule("CR2", None), StateRule("relapse2", None),
                        StateRule("salvage", None),
                        StateRule("death", None, absorbing=True)],
                       [("CR2", "relapse2"), ("CR2", "death"), ("relapse2", "salvage"),
                        ("relapse2", "death"), ("salvage", "death")])
    d = _random_rows(rng, int(rng.integers(1, 8)))
    if seed % 3 == 0:   # and clean rows: a path with contiguous intervals
        d = pd.DataFrame({"id": [1, 1, 1, 2], "tstart": [0.0, 2.0, 3.0, 0.0],
                          "tstop": [2.0, 3.0, 7.0, 4.0],
                          "from_state": ["CR2", "relapse2", "salvage", "CR2"],
                          "to_state": ["relapse2", "salvage", "death", None]}).sample(
            frac=1.0, random_state=seed)
    for m in (None, model):
        quick = check_intervals(d, model=m)
        monkeypatch.setattr(tr_mod, "_no_problems", lambda *a, **k: None)
        full = check_intervals(d, model=m)
        monkeypatch.undo()
        pd.testing.assert_frame_equal(quick.problems, full.problems)
        pd.testing.assert_frame_equal(quick.transitions, full.transitions)
    if seed % 3 == 0:
        assert quick.ok and len(quick.problems) == 0
