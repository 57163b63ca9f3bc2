"""Tests of aplcohort.stats.timedep (time-dependent exposure).

Reference values: tests/reference/timedep.R -> tests/reference/timedep.json, on the
Stanford heart transplant data (R survival: jasa, jasa1, heart) exported to
tests/reference/data/.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

from aplcohort.errors import DataQualityWarning, ImmortalTimeWarning, InputError, StatisticalWarning
from aplcohort.stats.timedep import (check_intervals, collapse_intervals, immortal_time_check,
                                     split_at_exposure)

REF_DIR = Path(__file__).parent / "reference"
REF = json.loads((REF_DIR / "timedep.json").read_text())


def _data(name):
    return pd.read_csv(REF_DIR / "data" / name)


@pytest.fixture(scope="module")
def jasa_tx():
    return _data("timedep_jasa_tx.csv")


# ---------------------------------------------------------------- split_at_exposure
def test_split_hand_example_same_day_rules():
    # 1: treated at 4, dies at 10 -> (0,4] unexposed, (4,10] exposed, event on the last
    # 2: never treated; 3: treated on the day of death -> ignored (unexposed)
    # 4: treated at time 0 -> exposed from the start
    df = pd.DataFrame({"pid": ["a", "b", "c", "d"], "t": [10.0, 5.0, 8.0, 7.0],
                       "d": [1, 0, 1, 0], "tx": [4.0, np.nan, 8.0, 0.0], "age": [50, 60, 70, 80]})
    s = split_at_exposure(df, id="pid", time="t", event="d", exposure_time="tx")
    assert list(s.columns) == ["pid", "tstart", "tstop", "d", "exposed", "age"]
    assert s["pid"].tolist() == ["a", "a", "b", "c", "d"]
    assert s["tstart"].tolist() == [0.0, 4.0, 0.0, 0.0, 0.0]
    assert s["tstop"].tolist() == [4.0, 10.0, 5.0, 8.0, 7.0]
    assert s["d"].tolist() == [0, 1, 0, 1, 0]
    assert s["exposed"].tolist() == [0, 1, 0, 0, 1]
    assert s["age"].tolist() == [50, 50, 60, 70, 80]
    # carried columns keep their dtype
    df2 = df.assign(risk=pd.Categorical(["low", "high", "low", "int"],
                                        categories=["low", "int", "high"]),
                    dx=pd.to_datetime(["2020-01-01", "2020-02-01", "2020-03-01", "2020-04-01"]))
    s3 = split_at_exposure(df2, id="pid", time="t", event="d", exposure_time="tx")
    assert isinstance(s3["risk"].dtype, pd.CategoricalDtype)
    assert list(s3["risk"].cat.categories) == ["low", "int", "high"]
    assert s3["risk"].tolist() == ["low", "low", "high", "low", "int"]
    assert pd.api.types.is_datetime64_any_dtype(s3["dx"])
    # same_day_rule="exposed": the same-day treatment moves 0.5 earlier
    s2 = split_at_exposure(df, id="pid", time="t", event="d", exposure_time="tx",
                           same_day_rule="exposed")
    c = s2[s2["pid"] == "c"]
    assert c["tstart"].tolist() == [0.0, 7.5] and c["tstop"].tolist() == [7.5, 8.0]
    assert c["exposed"].tolist() == [0, 1] and c["d"].tolist() == [0, 1]


def test_split_exposure_after_followup_ignored_with_warning():
    df = pd.DataFrame({"id": [1, 2], "t": [10.0, 5.0], "d": [0, 1], "tx": [12.0, 2.0]})
    with pytest.warns(DataQualityWarning, match="after the end of follow-up.*ids 1"):
        s = split_at_exposure(df, id="id", time="t", event="d", exposure_time="tx")
    assert s.loc[s["id"] == 1, "exposed"].tolist() == [0]
    assert s.loc[s["id"] == 1, "tstop"].tolist() == [10.0]


@pytest.mark.parametrize("col,val,match", [
    ("tx", -1.0, "negative .*treatment before time zero"),
    ("t", 0.0, "must be > 0"),
    ("t", np.nan, "missing or not finite"),
    ("d", 0.5, "non-negative integer code"),
    ("tx", np.inf, "finite or NaN"),
])
def test_split_input_errors(col, val, match):
    df = pd.DataFrame({"id": [1, 2], "t": [10.0, 5.0], "d": [0.0, 1.0], "tx": [3.0, np.nan]})
    df.loc[0, col] = val
    with pytest.raises(InputError, match=match):
        split_at_exposure(df, id="id", time="t", event="d", exposure_time="tx")


def test_split_other_input_errors():
    df = pd.DataFrame({"id": [1, 1], "t": [10.0, 5.0], "d": [0, 1], "tx": [3.0, np.nan]})
    with pytest.raises(InputError, match="must be unique"):
        split_at_exposure(df, id="id", time="t", event="d", exposure_time="tx")
    df["id"] = [1, 2]
    with pytest.raises(InputError, match="not found"):
        split_at_exposure(df, id="id", time="t", event="d", exposure_time="nope")
    with pytest.raises(InputError, match="same_day_rule"):
        split_at_exposure(df, id="id", time="t", event="d", exposure_time="tx",
                          same_day_rule="later")
    df["tstart"] = 1
    with pytest.raises(InputError, match="overwritten"):
        split_at_exposure(df, id="id", time="t", event="d", exposure_time="tx")
    df2 = df.drop(columns="tstart").assign(tx=pd.to_datetime(["2020-01-01", None]))
    with pytest.raises(InputError, match="must be numeric"):
        split_at_exposure(df2, id="id", time="t", event="d", exposure_time="tx")


def test_split_matches_tmerge_jasa(jasa_tx):
    # R: tmerge(tdata, tdata, id = id, death = event(futime, fustat), transplant = tdc(txtime))
    s = split_at_exposure(jasa_tx, id="id", time="futime", event="fustat",
                          exposure_time="txtime", exposure_name="transplant")
    tm = _data("timedep_jasa_tmerge.csv")
    assert len(s) == len(tm) == 169
    np.testing.assert_array_equal(s[["id", "tstart", "tstop", "fustat", "transplant"]].to_numpy(),
                                  tm[["id", "tstart", "tstop", "death", "transplant"]].to_numpy())
    np.testing.assert_array_equal(s[["age", "year", "surgery"]].to_numpy(),
                                  tm[["age", "year", "surgery"]].to_numpy())


def test_split_exposed_rule_matches_jasa1(jasa_tx):
    # R: survival::jasa1 (vignette convention: transplant on the day of death moved 0.5 earlier)
    s = split_at_exposure(jasa_tx, id="id", time="futime", event="fustat",
                          exposure_time="txtime", exposure_name="transplant",
                          same_day_rule="exposed")
    j1 = _data("timedep_jasa1.csv").sort_values(["id", "start"])
    assert len(s) == len(j1) == 170
    np.testing.assert_array_equal(s[["id", "tstart", "tstop", "fustat", "transplant"]].to_numpy(),
                                  j1[["id", "start", "stop", "event", "transplant"]].to_numpy())


# ---------------------------------------------------------------- check_intervals
def test_check_intervals_reports_every_problem():
    d = pd.DataFrame({
        "id":  [1, 1, 2, 2, 3, 4, 4, 5, 6],
        "a":   [0, 5, 0, 4, 3, 0, 2, 0, 0],
        "b":   [5, 9, 3, 6, 3, 3, 8, np.nan, 4],
        "ev":  [1, 0, 0, 1, 0, 0, 1, 0, 2.5],
    })
    chk = check_intervals(d, "id", "a", "b", event="ev")
    assert not chk.ok
    got = sorted(zip(chk.problems["row"], chk.problems["problem"]))
    assert got == [(0, "event not on last interval"), (3, "gap"),
                   (4, "zero-length interval"), (6, "overlap"), (7, "missing value"),
                   (8, "invalid event code")]
    assert chk.counts.set_index("problem").loc["gap", "n_ids"] == 1
    assert "problem" in str(chk)
    assert chk.to_dict()["kind"] == "interval_check"


def test_check_intervals_reversed_and_clean():
    d = pd.DataFrame({"id": [1, 2], "a": [5.0, 0.0], "b": [2.0, 3.0]})
    chk = check_intervals(d, "id", "a", "b")
    assert chk.problems["problem"].tolist() == ["start after stop"]
    tm = _data("timedep_jasa_tmerge.csv")
    assert check_intervals(tm, "id", "tstart", "tstop", event="death").ok
    assert check_intervals(_data("timedep_heart.csv"), "id", "start", "stop", event="event").ok


def test_collapse_intervals():
    d = pd.DataFrame({"id": [2, 1, 1], "a": [0.0, 4.0, 0.0], "b": [3.0, 9.0, 4.0],
                      "d": [0, 1, 0]})
    c = collapse_intervals(d, "id", "a", "b", "d")
    assert c.to_dict("list") == {"id": [2, 1], "entry": [0.0, 0.0], "exit": [3.0, 9.0],
                                 "d": [0, 1], "n_intervals": [1, 2]}


# ---------------------------------------------------------------- hypothesis invariants
@st.composite
def cohorts(draw):
    n = draw(st.integers(1, 25))
    # integer days make ties (same-day treatment / event) frequent
    t = draw(st.lists(st.integers(1, 60), min_size=n, max_size=n))
    d = draw(st.lists(st.integers(0, 2), min_size=n, max_size=n))
    tx = draw(st.lists(st.one_of(st.none(), st.integers(0, 70)), min_size=n, max_size=n))
    return pd.DataFrame({"id": np.arange(n) * 7 + 3, "t": np.array(t, float), "d": d,
                         "tx": np.array([np.nan if v is None else v for v in tx], float)})


@settings(max_examples=150, deadline=None)
@given(cohorts(), st.sampled_from(["unexposed", "exposed"]))
def test_split_then_collapse_roundtrip(df, rule):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        s = split_at_exposure(df, id="id", time="t", event="d", exposure_time="tx",
                              same_day_rule=rule)
    assert check_intervals(s, "id", "tstart", "tstop", event="d").ok
    c = collapse_intervals(s, "id", "tstart", "tstop", "d")
    np.testing.assert_array_equal(c["id"], df["id"])
    np.testing.assert_array_equal(c["entry"], 0.0)
    np.testing.assert_array_equal(c["exit"], df["t"])
    np.testing.assert_array_equal(c["d"], df["d"])
    # total time at risk is preserved, exposed time is (T - tx)+ for tx < T
    np.testing.assert_allclose((s["tstop"] - s["tstart"]).groupby(s["id"]).sum().to_numpy(),
                               df["t"].to_numpy())
    tx = df["tx"].to_numpy()
    T = df["t"].to_numpy()
    eff = tx.copy()
    if rule == "exposed":
        same = tx == T
        eff[same] = np.where(T[same] > 0.5, T[same] - 0.5, 0.0)
    expected_exp = np.where(np.isfinite(eff) & (eff < T), T - np.nan_to_num(eff, nan=0.0), 0.0)
    got_exp = ((s["tstop"] - s["tstart"]) * s["exposed"]).groupby(s["id"]).sum().to_numpy()
    np.testing.assert_allclose(got_exp, expected_exp)
    # exposure never goes back from 1 to 0 and at most two intervals per patient
    assert (s.groupby("id")["exposed"].apply(lambda x: np.all(np.diff(x.to_numpy()) >= 0))).all()
    assert s.groupby("id").size().max() <= 2


# ---------------------------------------------------------------- immortal_time_check
def _consolidation_cohort():
    # post-remission groups compared from CR2: transplants start weeks after CR2
    return pd.DataFrame({
        "pid": list(range(1, 9)),
        "t": [400.0, 30.0, 500.0, 200.0, 60.0, 700.0, 20.0, 365.0],
        "grp": ["ATO", "ATO", "ATO", "auto", "auto", "allo", "allo", "allo"],
        "auto_t": [np.nan, np.nan, np.nan, 40.0, 50.0, np.nan, np.nan, np.nan],
        "allo_t": [np.nan, np.nan, np.nan, np.nan, np.nan, 80.0, 10.0, 100.0],
    })


def test_immortal_time_check_dict_of_columns():
    df = _consolidation_cohort()
    with pytest.warns(ImmortalTimeWarning, match=r"'allo' \(column 'allo_t'.*median delay 80"):
        chk = immortal_time_check(df, time="t", group="grp",
                                  treatment_time={"auto": "auto_t", "allo": "allo_t"})
    assert chk.flagged == ("allo", "auto")
    tab = chk.table.set_index("group")
    assert tab.loc["auto", "median_delay"] == 45.0
    assert tab.loc["allo", "n_start_after_zero"] == 3
    # patients of other groups whose follow-up ended before 45 days: pid 2 (30), pid 7 (20)
    assert tab.loc["auto", "n_others_ended_before_median"] == 2
    # allo: median 80 -> pids 2 (30), 5 (60) ended before
    assert tab.loc["allo", "n_others_ended_before_median"] == 2
    # pid 7: allo at 10 but follow-up 20 -> fine; none after follow-up
    assert tab.loc["allo", "n_start_after_followup"] == 0
    assert np.isnan(tab.loc["ATO", "median_delay"])
    assert chk.immortal_time_risk


def test_immortal_time_check_dates_and_no_warning_at_time_zero():
    z = pd.to_datetime(["2020-01-01", "2020-02-01", "2020-03-01"])
    df = pd.DataFrame({"t": [100.0, 50.0, 80.0], "g": ["tx", "tx", "none"], "cr2": z,
                       "txdate": pd.to_datetime(["2020-01-31", "2020-02-11", None])})
    with pytest.warns(ImmortalTimeWarning, match="median delay 20 days"):
        chk = immortal_time_check(df, time="t", group="g", treatment_time="txdate",
                                  time_zero="cr2")
    assert chk.table.set_index("group").loc["tx", "max_delay"] == 30.0
    df["txdate"] = df["cr2"].where(df["g"] == "tx")
    with warnings.catch_warnings():
        warnings.simplefilter("error", ImmortalTimeWarning)
        chk = immortal_time_check(df, time="t", group="g", treatment_time="txdate",
                                  time_zero="cr2")
    assert chk.flagged == () and chk.message == ""
    with pytest.raises(InputError, match="pass time_zero"):
        immortal_time_check(df, time="t", group="g", treatment_time="txdate")
    with pytest.raises(InputError, match="not found in column"):
        immortal_time_check(df, time="t", group="g", treatment_time={"auto": "txdate"},
                            time_zero="cr2")


# ---------------------------------------------------------------- td_coxph vs R
from aplcohort.stats.timedep import (compare_naive_vs_timedependent, mantel_byar,  # noqa: E402
                                     simon_makuch, td_coxph)


def _rel(a, b):
    a = np.asarray(a, float)
    b = np.asarray(b, float)
    return np.max(np.abs(a - b) / np.abs(b))


@pytest.mark.parametrize("ties", ["efron", "breslow"])
@pytest.mark.parametrize("robust", [False, True])
def test_td_coxph_split_here_matches_R_tmerge(jasa_tx, ties, robust):
    # R: coxph(Surv(tstart, tstop, death) ~ transplant + age + surgery, data = tm,
    #          ties = ties [, cluster = id])   with tm = tmerge(..., transplant = tdc(txtime))
    ref = REF[f"tm_cox_{'robust_' if robust else ''}{ties}"]
    res = td_coxph(jasa_tx, time="futime", event="fustat", id="id", exposure_time="txtime",
                   exposure="transplant", covariates=["age", "surgery"], ties=ties,
                   robust=robust)
    assert res.terms["term"].tolist() == ref["names"] == ["transplant", "age", "surgery"]
    assert res.n == ref["n"] == 169 and res.events == ref["nevent"]
    np.testing.assert_allclose(res.terms["coef"], ref["coef"], rtol=1e-6)
    np.testing.assert_allclose(res.loglik, ref["loglik"], rtol=1e-6)
    if robust:
        np.testing.assert_allclose(res.terms["robust_se"], ref["robust_se"], rtol=1e-6)
        np.testing.assert_allclose(res.terms["se"], ref["naive_se"], rtol=1e-6)
    else:
        np.testing.assert_allclose(res.terms["se"], ref["se"], rtol=1e-6)
    np.testing.assert_allclose(res.terms[["lower", "upper"]].to_numpy(),
                               np.asarray(ref["conf"]), rtol=1e-6)
    np.testing.assert_allclose(res.terms["p"], ref["p"], rtol=1e-6)
    tests = res.tests.set_index("test")["statistic"]
    np.testing.assert_allclose(tests["score"], ref["score"], rtol=1e-6)
    np.testing.assert_allclose(tests["wald"], ref["wald"], rtol=1e-6)
    assert res.choices["time-dependent exposure"] == "transplant"
    assert res.choices["ties"] == ties


@pytest.mark.parametrize("ties", ["efron", "breslow"])
@pytest.mark.parametrize("robust", [False, True])
def test_td_coxph_given_intervals_matches_R_heart(ties, robust):
    # R: coxph(Surv(start, stop, event) ~ age + year + surgery + transplant, data = heart,
    #          ties = ties [, cluster = id])
    ref = REF[f"heart_cox_{'robust_' if robust else ''}{ties}"]
    h = _data("timedep_heart.csv")
    res = td_coxph(h, time="stop", event="event", start="start", id="id",
                   exposure="transplant", covariates=["age", "year", "surgery", "transplant"],
                   ties=ties, robust=robust)
    np.testing.assert_allclose(res.terms["coef"], ref["coef"], rtol=1e-6)
    se = res.terms["robust_se"] if robust else res.terms["se"]
    np.testing.assert_allclose(se, ref["robust_se"] if robust else ref["se"], rtol=1e-6)
    np.testing.assert_allclose(res.loglik, ref["loglik"], rtol=1e-6)


def test_td_coxph_input_errors(jasa_tx):
    with pytest.raises(InputError, match="exactly one of exposure_time"):
        td_coxph(jasa_tx, time="futime", event="fustat", id="id")
    with pytest.raises(InputError, match="id= .*needed"):
        td_coxph(jasa_tx, time="futime", event="fustat", exposure_time="txtime")
    bad = pd.DataFrame({"id": [1, 1, 2], "a": [0.0, 3.0, 0.0], "b": [5.0, 8.0, 4.0],
                        "d": [0, 1, 1], "x": [0, 1, 0]})
    with pytest.raises(InputError, match="overlap"):
        td_coxph(bad, time="b", event="d", start="a", id="id", exposure="x")
    with pytest.raises(InputError, match="robust=True needs id"):
        td_coxph(bad, time="b", event="d", start="a", exposure="x", robust=True)


# ---------------------------------------------------------------- Mantel-Byar vs R
@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_mantel_byar_matches_R(jasa_tx, ties):
    # R: f <- coxph(Surv(tstart, tstop, death) ~ transplant, data = tm, ties = ties); f$score
    ref = REF[f"tm_mantel_byar_{ties}"]
    r = mantel_byar(jasa_tx, time="futime", event="fustat", id="id", exposure_time="txtime",
                    ties=ties)
    np.testing.assert_allclose(r.statistic, ref["statistic"], rtol=1e-6)
    np.testing.assert_allclose(r.p, ref["p"], rtol=1e-6)
    assert r.df == 1 and r.events == 75 and r.n_patients == 103 and r.n_rows == 169
    t = r.table.set_index("exposed")
    assert t.loc[1, "observed"] == ref["observed"]
    # O/E and hypergeometric variance: hand loop over event times in the R script
    np.testing.assert_allclose(t.loc[1, "expected"], ref["expected"], rtol=1e-10)
    np.testing.assert_allclose(t.loc[1, "variance"], ref["var_hypergeometric"], rtol=1e-10)
    np.testing.assert_allclose(t["observed"].sum(), t["expected"].sum(), rtol=1e-12)
    # heart (given intervals)
    ref = REF[f"heart_mantel_byar_{ties}"]
    r = mantel_byar(_data("timedep_heart.csv"), time="stop", event="event", start="start",
                    id="id", exposure="transplant", ties=ties)
    np.testing.assert_allclose(r.statistic, ref["statistic"], rtol=1e-6)
    np.testing.assert_allclose(r.table.set_index("exposed").loc[1, "expected"], ref["expected"],
                               rtol=1e-10)


def test_mantel_byar_hand_example():
    # split data: A (0,2] x0, (2,6] x1 event at 6; B (0,4] x0 event; C (0,8] x0 censored
    # event t=4: risk set A(x1), B(x0), C(x0): n=3, n1=1 -> E1 = 1/3
    # event t=6: risk set A(x1), C(x0): n=2, n1=1 -> E1 = 1/2 ; O1 = 1
    # hypergeometric V = (1/3)(2/3) + (1/2)(1/2) = 2/9 + 1/4 = 17/36
    df = pd.DataFrame({"id": ["A", "B", "C"], "t": [6.0, 4.0, 8.0], "d": [1, 1, 0],
                       "tx": [2.0, np.nan, np.nan]})
    r = mantel_byar(df, time="t", event="d", id="id", exposure_time="tx", ties="breslow")
    t = r.table.set_index("exposed")
    assert t.loc[1, "observed"] == 1 and t.loc[0, "observed"] == 1
    np.testing.assert_allclose(t.loc[1, "expected"], 5 / 6, rtol=1e-14)
    np.testing.assert_allclose(t.loc[1, "variance"], 17 / 36, rtol=1e-14)
    # no tied events: the Breslow score test is (O - E)^2 / V = (1/6)^2 / (17/36) = 1/17
    np.testing.assert_allclose(r.statistic, 1 / 17, rtol=1e-10)


# ---------------------------------------------------------------- Simon-Makuch vs R
_KM_COLS = ["time", "n_risk", "n_event", "n_censor", "surv", "std_err", "lower", "upper"]


def _compare_km(table, ref):
    refdf = pd.DataFrame({k: ref[k] for k in ["group"] + _KM_COLS})
    assert table["group"].astype(str).tolist() == refdf["group"].tolist()
    for c in _KM_COLS:
        a = table[{"surv": "estimate"}.get(c, c)].to_numpy(float)  # R survfit name -> ours
        b = refdf[c].to_numpy(float)
        assert np.array_equal(np.isfinite(a), np.isfinite(b)), c
        ok = np.isfinite(b)
        np.testing.assert_allclose(a[ok], b[ok], rtol=1e-6, atol=0, err_msg=c)


@pytest.mark.parametrize("ct", ["log", "log-log", "plain"])
def test_simon_makuch_matches_R_survfit(jasa_tx, ct):
    # R: survfit(Surv(tstart, tstop, death) ~ transplant, data = tm, conf.type = ct)
    sm = simon_makuch(jasa_tx, time="futime", event="fustat", id="id", exposure_time="txtime",
                      exposure="transplant", conf_type=ct)
    _compare_km(sm.table, REF[f"tm_survfit_{ct}"])
    assert sm.groups == (0, 1)
    # R: coxph(Surv(tstart, tstop, death) ~ transplant, data = tm)$score
    np.testing.assert_allclose(sm.mantel_byar.statistic, REF["tm_mantel_byar_efron"]["statistic"],
                               rtol=1e-6)
    assert sm.choices["same_day_rule"] == "unexposed"


def test_simon_makuch_heart_given_intervals():
    # R: survfit(Surv(start, stop, event) ~ transplant, data = heart)
    sm = simon_makuch(_data("timedep_heart.csv"), time="stop", event="event", start="start",
                      id="id", exposure="transplant")
    _compare_km(sm.table, REF["heart_survfit_log"])


def test_simon_makuch_risk_table_moves(jasa_tx):
    sm = simon_makuch(jasa_tx, time="futime", event="fustat", id="id", exposure_time="txtime",
                      exposure="transplant")
    times = [0, 30, 100, 365, 1000]
    rt = sm.risk_table(times)
    assert list(rt.columns) == ["group", "time", "n_risk", "n_entered", "n_switched_out",
                                "n_events", "n_censored", "cum_entered", "cum_switched_out",
                                "cum_events", "cum_censored"]
    for c in ("entered", "switched_out", "events", "censored"):
        np.testing.assert_array_equal(rt.groupby("group")["n_" + c].cumsum(), rt["cum_" + c])
    d = sm.split_data
    for g, sub in rt.groupby("group"):
        n0 = int(((d["transplant"] == g) & (d["tstart"] == 0)).sum())
        later = sub[sub["time"] > 0]
        np.testing.assert_array_equal(
            later["n_risk"], n0 + later["cum_entered"] - later["cum_switched_out"]
            - later["cum_events"] - later["cum_censored"])
        assert sub.iloc[0]["n_risk"] == n0
    # everyone who moved out of the unexposed curve moved into the exposed one
    u = rt[rt["group"] == 0].set_index("time")
    e = rt[rt["group"] == 1].set_index("time")
    np.testing.assert_array_equal(u["cum_switched_out"], e["cum_entered"])
    # total: 103 patients, 2 transplanted on day 0 (ids 3, 45)
    assert u.loc[0, "n_risk"] == 101 and e.loc[0, "n_risk"] == 2
    # patients moving in by day 1000: transplanted after day 0 before day 1000
    tx = jasa_tx["txtime"]
    assert e.loc[1000, "cum_entered"] == int(((tx > 0) & (tx < 1000) & (tx < jasa_tx["futime"])).sum())


# ---------------------------------------------------------------- immortal-time worked example
DOC = Path(__file__).parents[1] / "docs" / "immortal_time.md"


def _doc_blocks():
    import re
    text = DOC.read_text()
    return re.findall(r"```python\n(.*?)```\n\n```text\n(.*?)```", text, flags=re.S)


def test_immortal_time_doc_runs_as_shown():
    import contextlib
    import io
    blocks = _doc_blocks()
    assert len(blocks) == 6
    ns: dict = {}
    for code, shown in blocks:
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            exec(compile(code, str(DOC), "exec"), ns)
        assert buf.getvalue().rstrip() == shown.rstrip(), code
    # the qualitative claim (n = 2000, seed 2022): transplant has no effect, yet
    tab = ns["res"].table.set_index("method")
    naive = tab.loc["naive (groups fixed at time zero)"]
    assert naive["upper"] < 0.8 and naive["p"] < 1e-6           # large false benefit
    td = tab.loc["time-dependent Cox"]
    assert td["lower"] < 1 < td["upper"]                         # gone when time-dependent
    for L in (6, 12):
        lm = tab.loc[f"landmark at {L}"]
        assert lm["lower"] < 1 < lm["upper"]                     # and with a landmark
    assert tab.loc["Mantel-Byar score test", "p"] > 0.05


# ---------------------------------------------------------------- compare_naive_vs_timedependent
def _three_group_cohort(n, seed):
    # ATO-based consolidation (no transplant) vs auto vs allo from CR2; survival independent
    # of the consolidation; a planned transplant happens only if the patient is still alive
    rng = np.random.default_rng(seed)
    death = rng.exponential(30 / np.log(2), n)
    cens = rng.uniform(24, 72, n)
    t = np.minimum(death, cens)
    intent = rng.choice(["ATO", "auto", "allo"], n, p=[0.4, 0.35, 0.25])
    sched = np.where(intent == "auto", rng.uniform(2, 5, n), rng.uniform(3, 8, n))
    grp = np.where((intent != "ATO") & (sched < t), intent, "ATO")
    return pd.DataFrame({"pid": np.arange(n), "months": t, "died": (death <= cens).astype(int),
                         "consolidation": grp,
                         "auto_m": np.where(grp == "auto", sched, np.nan),
                         "allo_m": np.where(grp == "allo", sched, np.nan)})


def test_compare_groups_false_benefit_disappears():
    df = _three_group_cohort(3000, seed=11)
    with pytest.warns(ImmortalTimeWarning, match="'allo' \\(column 'allo_m'"):
        immortal_time_check(df, time="months", group="consolidation",
                            treatment_time={"auto": "auto_m", "allo": "allo_m"})
    r = compare_naive_vs_timedependent(df, time="months", event="died", id="pid",
                                       group="consolidation",
                                       treatment_time={"auto": "auto_m", "allo": "allo_m"},
                                       reference="ATO", landmarks=[8])
    t = r.table
    assert list(t.columns) == ["method", "term", "estimate", "lower", "upper", "p", "n",
                               "events", "note"]
    naive = t[t["method"].str.startswith("naive")]
    assert naive["term"].tolist() == ["consolidationallo", "consolidationauto"]
    assert (naive["upper"] < 0.85).all()
    for m in ("time-dependent Cox", "landmark at 8"):
        rows = t[t["method"] == m]
        assert len(rows) == 2
        assert ((rows["lower"] < 1) & (rows["upper"] > 1)).all(), m
    assert r.check.flagged == ("allo", "auto")
    assert r.to_dict()["kind"] == "naive_vs_timedependent"


def test_compare_groups_time_dependent_equals_binary_td_coxph():
    # with one treated group and a reference without a start column, the group form's
    # time-dependent Cox is exactly td_coxph of the binary exposure
    df = _three_group_cohort(400, seed=3)
    df = df[df["consolidation"] != "auto"].reset_index(drop=True)
    r = compare_naive_vs_timedependent(df, time="months", event="died", id="pid",
                                       group="consolidation", treatment_time={"allo": "allo_m"},
                                       reference="ATO")
    b = td_coxph(df, time="months", event="died", id="pid", exposure_time="allo_m")
    row = r.table[r.table["method"] == "time-dependent Cox"].iloc[0]
    np.testing.assert_allclose(row["estimate"], b.terms["estimate"].iloc[0], rtol=1e-10)
    mb = mantel_byar(df, time="months", event="died", id="pid", exposure_time="allo_m")
    np.testing.assert_allclose(
        r.table.loc[r.table["method"] == "Mantel-Byar score test", "p"].iloc[0], mb.p,
        rtol=1e-10)


def test_compare_input_errors():
    df = _three_group_cohort(50, seed=1)
    with pytest.raises(InputError, match="exactly one of"):
        compare_naive_vs_timedependent(df, time="months", event="died", id="pid")
    with pytest.raises(InputError, match="treatment_time"):
        compare_naive_vs_timedependent(df, time="months", event="died", id="pid",
                                       group="consolidation")
    with pytest.raises(InputError, match="not a level"):
        compare_naive_vs_timedependent(df, time="months", event="died", id="pid",
                                       group="consolidation", reference="none",
                                       treatment_time={"allo": "allo_m"})
    bad = df.copy()
    bad.loc[bad["consolidation"] == "allo", "allo_m"] = np.nan
    with pytest.raises(InputError, match="no start time"):
        compare_naive_vs_timedependent(bad, time="months", event="died", id="pid",
                                       group="consolidation", treatment_time={"allo": "allo_m"},
                                       reference="ATO")


# ---------------------------------------------------------------- result objects, misc. errors
def test_results_are_json_safe_and_display(jasa_tx):
    small = jasa_tx.head(60)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        objs = [
            check_intervals(_data("timedep_jasa_tmerge.csv"), "id", "tstart", "tstop"),
            mantel_byar(small, time="futime", event="fustat", id="id", exposure_time="txtime"),
            simon_makuch(small, time="futime", event="fustat", id="id", exposure_time="txtime"),
            immortal_time_check(small.assign(g=small["txtime"].notna()), time="futime",
                                group="g", treatment_time={True: "txtime"}),
            compare_naive_vs_timedependent(small, time="futime", event="fustat", id="id",
                                           exposure_time="txtime", landmarks=[30]),
        ]
    kinds = []
    for o in objs:
        d = o.to_dict()
        json.dumps(d, allow_nan=False)
        kinds.append(d["kind"])
        assert isinstance(o._repr_html_(), str) and len(str(o)) > 0
    assert kinds == ["interval_check", "mantel_byar", "simon_makuch", "immortal_time_check",
                     "naive_vs_timedependent"]


def test_counting_mode_errors_and_gaps():
    d = pd.DataFrame({"id": [1, 1, 2, 3], "a": [0.0, 5.0, 0.0, 0.0], "b": [3.0, 9.0, 4.0, 6.0],
                      "d": [0, 1, 1, 0], "x": [0, 1, 0, 0]})
    # a gap (3, 5] is allowed in given (start, stop] data (patient not at risk)
    # no event time has exposed and unexposed at risk: not defined, and said (was 0, p = 1)
    with pytest.warns(StatisticalWarning, match="score test is not defined"):
        r = mantel_byar(d, time="b", event="d", start="a", id="id", exposure="x")
    assert r.n_rows == 4
    assert np.isnan(r.statistic) and np.isnan(r.p) and "does not vary" in r.note
    assert r.tables["test"]["note"].tolist() == [r.note]
    with pytest.raises(InputError, match="coded 0/1"):
        mantel_byar(d.assign(x=[0, 2, 0, 0]), time="b", event="d", start="a", id="id",
                    exposure="x")
    with pytest.raises(InputError, match="id= is required"):
        simon_makuch(d, time="b", event="d", start="a", id=None, exposure="x")
    with pytest.raises(InputError, match="not found"):
        simon_makuch(d, time="b", event="d", start="a", id="id", exposure="nope")
    with pytest.raises(InputError, match="zero-length"):
        simon_makuch(d.assign(a=[0.0, 9.0, 0.0, 0.0]), time="b", event="d", start="a",
                     id="id", exposure="x")


def test_td_coxph_strata_matches_R(jasa_tx):
    # R: coxph(Surv(tstart, tstop, death) ~ transplant + age + strata(surgery), data = tm)
    ref = REF["tm_cox_strata_efron"]
    res = td_coxph(jasa_tx, time="futime", event="fustat", id="id", exposure_time="txtime",
                   exposure="transplant", covariates=["age"], strata="surgery")
    np.testing.assert_allclose(res.terms["coef"], ref["coef"], rtol=1e-6)
    np.testing.assert_allclose(res.terms["se"], ref["se"], rtol=1e-6)
    np.testing.assert_allclose(res.loglik, ref["loglik"], rtol=1e-6)


def test_split_carries_other_columns_with_their_dtypes_and_values():
    # the carried columns are taken in one go: each must equal the patient's value, with
    # the column's dtype (categories, dates, nullable integers, strings, booleans)
    df = pd.DataFrame({
        "pid": ["a", "b", "c", "d"], "t": [10.0, 5.0, 8.0, 3.0], "d": [1, 0, 1, 0],
        "tx": [4.0, np.nan, 8.0, 1.0],
        "grp": pd.Categorical(["x", "y", "x", None], categories=["y", "x"]),
        "day": pd.to_datetime(["2020-01-01", None, "2021-05-02", "2019-12-31"]),
        "n": pd.array([1, None, 3, 4], dtype="Int64"),
        "flag": pd.array([True, None, False, True], dtype="boolean"),
        "txt": ["u", None, "w", "z"]})
    s = split_at_exposure(df, id="pid", time="t", event="d", exposure_time="tx")
    assert list(s.columns) == ["pid", "tstart", "tstop", "d", "exposed", "grp", "day", "n",
                               "flag", "txt"]
    rows = df.set_index("pid").loc[s["pid"]].reset_index()
    for c in ["grp", "day", "n", "flag", "txt"]:
        assert s[c].dtype == df[c].dtype, c
        pd.testing.assert_series_equal(s[c], rows[c], check_names=True)
    assert s.index.equals(pd.RangeIndex(len(s)))
    # keep= chooses (and de-duplicates) the carried columns
    k = split_at_exposure(df, id="pid", time="t", event="d", exposure_time="tx",
                          keep=["n", "grp", "n"])
    assert list(k.columns) == ["pid", "tstart", "tstop", "d", "exposed", "n", "grp"]
    pd.testing.assert_series_equal(k["grp"], s["grp"])


def test_model_columns_only_split_rejects_the_same_clashing_columns():
    # td_coxph / mantel_byar / simon_makuch / the group comparison split with only the
    # columns their model reads; a column the split would overwrite is still an error
    df = pd.DataFrame({"pid": range(8), "t": [9., 4., 12., 11., 15., 3., 10., 6.],
                       "d": [1, 1, 0, 0, 0, 1, 1, 0], "g": ["a", "b"] * 4,
                       "tx": [3., 2., 5., 1., 2., 1., 8., 1.], "tstart": 0})
    for f in (td_coxph, mantel_byar, simon_makuch):
        with pytest.raises(InputError, match=r"columns \['tstart'\] would be overwritten"):
            f(df, time="t", event="d", id="pid", exposure_time="tx")
    with pytest.raises(InputError, match=r"columns \['tstart'\] would be overwritten"):
        compare_naive_vs_timedependent(df, time="t", event="d", id="pid", group="g",
                                       treatment_time={"b": "tx"}, reference="a")
