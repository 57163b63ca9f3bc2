"""Survival-curve and test extras of issue 16 against R survival 3.5-3.

Reference values: tests/reference/surv_extras.R -> surv_extras.json (17 significant
digits), on the CSVs of tests/reference/km_logrank.R. The R call of each compared value
is written beside the comparison. rtol 1e-6 (closed-form estimators).
"""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from aplcohort.errors import InputError
from aplcohort.stats._aeq import aeq_times
from aplcohort.stats.competing import cumulative_incidence
from aplcohort.stats.cox import coxph
from aplcohort.stats.finegray import fine_gray
from aplcohort.stats.km import kaplan_meier, median_followup, reverse_kaplan_meier
from aplcohort.stats.logrank import logrank_test, weighted_logrank
from aplcohort.stats.rmst import rmst2

matplotlib.use("Agg")

REF_DIR = Path(__file__).parent / "reference"
REF = json.loads((REF_DIR / "surv_extras.json").read_text())
DATA = {n: pd.read_csv(REF_DIR / "data" / f"km_{n}.csv")
        for n in ("aml", "lung", "veteran", "heart")}
RTOL = 1e-6


def _arr(x):
    """JSON list (null = R NA) -> float array."""
    return np.array([np.nan if v is None else v for v in np.atleast_1d(x)], dtype=float)


def _close(ours, ref, what):
    np.testing.assert_allclose(np.asarray(ours, float), _arr(ref), rtol=RTOL, atol=0,
                               equal_nan=True, err_msg=what)


def _outcome(case):
    d = DATA[case["dataset"]]
    if case.get("entry"):
        return d, d["stop"], d["event"], d["start"]
    return d, d["time"], d["status"], None


def _name(cases):
    return [c["name"] for c in cases]


# ------------------------------------------------------------ 1. cumulative hazard
@pytest.mark.parametrize("case", REF["cumhaz"], ids=_name(REF["cumhaz"]))
def test_cumulative_hazard_ctype_stype_match_r(case):
    # R: survfit(Surv ~ g, ctype =, stype =, conf.type =, weights =):
    #    surv, std.err, lower, upper, cumhaz, std.chaz; the cumulative-hazard CI of
    #    plot(fit, cumhaz = TRUE): survfit_confint(cumhaz, std.chaz, logse = FALSE, ...)
    d, time, event, entry = _outcome(case)
    fit = kaplan_meier(time, event, None if case["group"] is None else d[case["group"]],
                       entry=entry, weights=None if case["weights"] is None else d[case["weights"]],
                       ctype=case["ctype"], stype=case["stype"], conf_type=case["conf_type"])
    r = case["rows"]
    t = fit.table
    assert [str(g) for g in t["group"]] == [str(g) for g in r["group"]]
    _close(t["time"], r["time"], "time")
    _close(t["n_risk"], r["n_risk"], "n_risk")
    _close(t["estimate"], r["surv"], "surv")
    logse = _arr(r["logse"])
    fin = np.isfinite(logse)     # R: Inf where the curve reaches 0 (std_err NaN here, as test_km)
    _close((t["std_err"] / t["estimate"])[fin], logse[fin], "std.err")
    _close(t["lower"], r["lower"], "lower")
    _close(t["upper"], r["upper"], "upper")
    h = fit.cumhaz(case["chaz_conf_type"])
    assert list(h.table.columns) == list(t.columns) and h.curve == "cumulative hazard"
    _close(h.table["estimate"], r["cumhaz"], "cumhaz")
    _close(h.table["std_err"], r["std_chaz"], "std.chaz")
    _close(h.table["lower"], r["chaz_lower"], "cumhaz lower")
    _close(h.table["upper"], r["chaz_upper"], "cumhaz upper")


def test_stype2_is_exp_of_the_chosen_cumulative_hazard():
    d = DATA["veteran"]
    for ctype in (1, 2):
        fit = kaplan_meier(d["time"], d["status"], d["trt"], ctype=ctype, stype=2)
        np.testing.assert_allclose(fit.table["estimate"],
                                   np.exp(-fit.cumhaz().table["estimate"]), rtol=1e-14)
    assert "Fleming" in fit.choices["cumulative hazard"]


def test_cumhaz_at_extend_carries_last_value_and_marks_past_followup():
    # R: summary(survfit(...), times = c(0.5, 50, 200), extend = TRUE)$cumhaz
    d = DATA["aml"]
    h = kaplan_meier(d["time"], d["status"], d["group"]).cumhaz()
    last = h.table.groupby("group")["estimate"].last()
    ext = h.at([0.5, 200], extend=True)
    assert (ext[ext["time"] == 0.5]["estimate"] == 0).all()
    for g in h.groups:
        assert ext[(ext["group"] == g) & (ext["time"] == 200)]["estimate"].iloc[0] == last[g]
    noext = h.at([200])
    assert noext["estimate"].isna().all()
    assert (noext["note"] == "after the last follow-up time of the group").all()


def test_cumhaz_rejects_what_it_cannot_give():
    d = DATA["lung"]
    with pytest.raises(InputError, match="'plain'"):
        kaplan_meier(d["time"], d["status"]).cumhaz("log-log")
    fit = kaplan_meier(d["time"], d["status"], weights=d["w"])   # robust by default (R)
    with pytest.raises(InputError, match="robust SE of the cumulative hazard"):
        fit.cumhaz()
    with pytest.raises(InputError, match="stype 1, ctype 1"):
        kaplan_meier(d["time"], d["status"], weights=d["w"], stype=2)
    with pytest.raises(InputError, match="ctype must be 1"):
        kaplan_meier(d["time"], d["status"], ctype=3)
    with pytest.raises(InputError, match="no median"):
        kaplan_meier(d["time"], d["status"]).cumhaz().median()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 15), st.integers(0, 1)), min_size=2, max_size=40))
def test_nelson_aalen_survival_bounds_km_and_fh_bounds_na(rows):
    # exp(-H_NA) >= S_KM (since 1 - x <= exp(-x)); H_FH >= H_NA (1/(n-k) >= 1/n)
    t = np.array([r[0] for r in rows], float)
    e = np.array([r[1] for r in rows])
    assume(e.sum() > 0)
    km = kaplan_meier(t, e)
    na = km.cumhaz().table["estimate"].to_numpy()
    fh = kaplan_meier(t, e, ctype=2).cumhaz().table["estimate"].to_numpy()
    assert np.all(np.exp(-na) >= km.table["estimate"].to_numpy() - 1e-15)
    assert np.all(fh >= na - 1e-15)


# ------------------------------------------------------------ 2. influence
@pytest.mark.parametrize("case", REF["influence"], ids=_name(REF["influence"]))
def test_influence_values_match_r(case):
    # R: survfit(Surv ~ g, influence = TRUE)$influence.surv (rows: observations in data
    #    order within group; columns: the group's times) and its (robust) std.err
    d, time, event, entry = _outcome(case)
    w = None if case.get("weights") is None else d[case["weights"]]
    fit = kaplan_meier(time, event, None if case["group"] is None else d[case["group"]],
                       entry=entry, influence=True, weights=w)
    assert fit.variance == "robust"          # R: influence = TRUE implies robust = TRUE
    inf = fit.influence
    assert list(inf.columns) == ["group", "row", "time", "influence"]
    groups = case["groups"] if isinstance(case["groups"], list) else [case["groups"]]
    mats = case["influence"] if isinstance(case["influence"], list) else \
        list(case["influence"].values())
    for g, m in zip(groups, mats):
        sub = inf[inf["group"].astype(str) == str(g)]
        r = np.array(m, float)
        ours = sub["influence"].to_numpy().reshape(r.shape)
        np.testing.assert_allclose(ours, r, rtol=RTOL, atol=1e-13 * np.abs(r).max(),
                                   err_msg=f"{case['name']} {g}")
        rows = sub["row"].to_numpy().reshape(r.shape)[:, 0]
        gcol = d[case["group"]].astype(str) if case["group"] else pd.Series(["all"] * len(d))
        assert rows.tolist() == np.flatnonzero(gcol.to_numpy() == str(g)).tolist()
    _close(fit.table["std_err"], case["std_err"], "robust std.err")
    # the robust variance is the sum of squared influence values (one cluster per row; R's
    # influence values of weighted rows already carry the weight)
    v = inf.groupby(["group", "time"], sort=False)["influence"].apply(lambda x: (x ** 2).sum())
    np.testing.assert_allclose(np.sqrt(v.to_numpy()), fit.table["std_err"].to_numpy(),
                               rtol=1e-9)


# ------------------------------------------------------------ 3. conditional, reverse
@pytest.mark.parametrize("case", REF["conditional"], ids=_name(REF["conditional"]))
def test_conditional_survival_start_time_matches_r(case):
    # R: survfit(Surv(time, status) ~ g, start.time = s); quantile(fit, 0.5);
    #    summary(fit, times = c(s, s + 30, s + 200), extend = TRUE)
    d = DATA[case["dataset"]]
    g = None if case["group"] is None else d[case["group"]]
    s = case["start_time"]
    fit = kaplan_meier(d["time"], d["status"], g, start_time=s)
    r = case["rows"]
    t = fit.table
    assert [str(x) for x in t["group"]] == [str(x) for x in r["group"]]
    for ours, key in (("time", "time"), ("n_risk", "n_risk"), ("n_event", "n_event"),
                      ("n_censor", "n_censor"), ("estimate", "surv"), ("std_err", "std_err"),
                      ("lower", "lower"), ("upper", "upper")):
        _close(t[ours], r[key], key)
    med = fit.median()
    _close(med["median"], case["median"]["median"], "median")
    _close(med["lower"], case["median"]["lower"], "median lower")
    _close(med["upper"], case["median"]["upper"], "median upper")
    at = fit.at([s, s + 30, s + 200], extend=True)
    _close(at["estimate"], case["at"]["surv"], "at surv")
    _close(at["std_err"], case["at"]["std_err"], "at std.err")
    _close(at["n_risk"], case["at"]["n_risk"], "at n.risk")
    # rows whose follow-up ended before s are counted, per group
    gg = np.full(len(d), "all") if g is None else g.astype(str).to_numpy()
    before = [int(((d["time"] < s) & (gg == str(x))).sum()) for x in fit.groups]
    assert list(fit.n_before_start) == before
    assert fit.conditional and "conditional on" in fit.choices


@pytest.mark.parametrize("case", REF["reverse"], ids=_name(REF["reverse"]))
def test_reverse_km_and_median_followup_match_r(case):
    # R: survfit(Surv(time, 1 - status) ~ g, conf.type =); quantile(fit, 0.5)
    d = DATA[case["dataset"]]
    g = None if case["group"] is None else d[case["group"]]
    fit = reverse_kaplan_meier(d["time"], d["status"], g, conf_type=case["conf_type"])
    r = case["rows"]
    for ours, key in (("time", "time"), ("estimate", "surv"), ("std_err", "std_err"),
                      ("lower", "lower"), ("upper", "upper"), ("n_risk", "n_risk")):
        _close(fit.table[ours], r[key], key)
    fu = median_followup(d["time"], d["status"], g, conf_type=case["conf_type"])
    for key in ("median", "lower", "upper"):
        _close(fu[key], case["median"][key], f"median follow-up {key}")
    assert fit.reverse and "Reverse" in fit.title


# ------------------------------------------------------------ 4. Peto-Prentice vs rho = 1
@pytest.mark.parametrize("case", REF["tests"], ids=_name(REF["tests"]))
def test_peto_prentice_by_hand_and_survdiff_rho1(case):
    # R: weighted_by_hand(..., "peto_prentice") (explicit loop, weights
    #    prod(1 - d/(n+1)) at t_j) and survdiff(Surv ~ g [+ strata(s)], rho = 1)
    d = DATA[case["dataset"]]
    s = None if case["strata"] is None else d[case["strata"]]
    pp = weighted_logrank(d["time"], d["status"], d[case["group"]], weights="peto-prentice",
                          strata=s)
    ref = case["peto_prentice"]
    _close([pp.statistic], [ref["chisq"]], "chisq")
    _close([pp.p], [ref["p"]], "p")
    assert pp.df == ref["df"]
    _close(pp.table["observed"], ref["observed"], "observed")
    _close(pp.table["expected"], ref["expected"], "expected")
    np.testing.assert_allclose(pp.var, np.array(ref["var"], float), rtol=RTOL, atol=1e-12)
    r1 = logrank_test(d["time"], d["status"], d[case["group"]], rho=1, strata=s)
    ref1 = case["survdiff_rho1"]
    _close([r1.statistic], [ref1["chisq"]], "survdiff rho=1 chisq")
    obs = np.array(ref1["observed"], float)      # stratified: groups x strata, summed
    _close(r1.table["observed"], obs.sum(axis=1) if obs.ndim == 2 else obs, "rho=1 observed")
    # named so that they cannot be confused, and genuinely different numbers
    assert pp.test.endswith("Peto-Prentice") and r1.test.endswith("Peto-Peto")
    assert abs(pp.statistic - r1.statistic) > 1e-6 * r1.statistic


def test_peto_prentice_weights_by_hand_tiny():
    # times 1, 2, 3 (one event each, n = 3, 2, 1): w = 3/4, 3/4 * 2/3, 3/4 * 2/3 * 1/2
    from aplcohort.stats._surv_core import time_weights
    w = time_weights(np.array([3.0, 2.0, 1.0]), np.array([1.0, 1.0, 1.0]), "peto-prentice")
    np.testing.assert_allclose(w, [0.75, 0.5, 0.25], rtol=1e-15)


# ------------------------------------------------------------ 5. near-ties (aeqSurv)
def _near():
    a = REF["aeq"]["data"]
    return pd.DataFrame({"time": [float(x) for x in a["time"]], "status": a["status"],
                         "group": a["group"], "x": a["x"], "cause": a["cause"],
                         "entry": [float(x) for x in a["entry"]]})


def test_near_ties_are_the_floating_point_values_r_used():
    d = _near()
    assert d["time"].nunique() == REF["aeq"]["km_raw_distinct_times"] == 5
    assert (d["time"] == np.array([1, 2, np.sqrt(2) ** 2, 2, np.sqrt(2) ** 2, 3, np.sqrt(3) ** 2,
                                   3, 1, np.sqrt(3) ** 2])).all()


def test_near_ties_km_logrank_match_r():
    d = _near()
    r = REF["aeq"]
    # R: survfit(Surv(time, status) ~ 1): 3 rows, not 5
    fit = kaplan_meier(d["time"], d["status"])
    assert len(fit.table) == 3
    for ours, key in (("time", "time"), ("estimate", "surv"), ("n_risk", "n_risk"),
                      ("n_event", "n_event"), ("std_err", "std_err")):
        _close(fit.table[ours], r["km"][key], key)
    assert len(kaplan_meier(d["time"], d["status"], timefix=False).table) == 5
    # R: survdiff(Surv(time, status) ~ group)
    lr = logrank_test(d["time"], d["status"], d["group"])
    _close([lr.statistic], [r["logrank"]["chisq"]], "log-rank chisq")
    _close(lr.table["expected"], r["logrank"]["expected"], "expected")


def test_near_ties_cox_cif_finegray_match_r():
    d = _near()
    r = REF["aeq"]
    # R: coxph(Surv(time, status) ~ group + x)  (timefix = TRUE)
    c = coxph(d, time="time", event="status", covariates=["group", "x"])
    _close(c.terms["coef"], r["cox"]["coef"], "cox coef")
    _close(c.terms["se"], r["cox"]["se"], "cox se")
    assert not np.allclose(c.terms["coef"], r["cox_no_timefix"]["coef"], rtol=1e-3)
    # R: coxph(Surv(entry, time, status) ~ group + x) on (start, stop] with near-tied starts
    dc = d[d["entry"] < d["time"]]
    c2 = coxph(dc, time="time", event="status", covariates=["group", "x"], entry="entry")
    _close(c2.terms["coef"], r["cox_counting"]["coef"], "counting coef")
    _close(c2.terms["se"], r["cox_counting"]["se"], "counting se")
    # R: survfit(Surv(time, factor(cause, 0:2)) ~ 1)$pstate
    ci = cumulative_incidence(d["time"], d["cause"])
    for cause, key in ((1, "cif1"), (2, "cif2")):
        tab = ci.table[(ci.table["cause"] == cause) & (ci.table["time"] > 0)]
        _close(tab["time"], r["cif"]["time"], "cif time")
        _close(tab["estimate"], r["cif"][key], key)
    # R: crr(aeqSurv-merged time, cause, cbind(group, x)) (cmprsk does not merge itself)
    fg = fine_gray(d, time="time", code="cause", covariates=["group", "x"])
    np.testing.assert_allclose(fg.terms["coef"], r["finegray"]["coef"], rtol=1e-5)
    np.testing.assert_allclose(fg.terms["se"], r["finegray"]["se"], rtol=1e-5)


def test_aeq_rejects_an_interval_collapsed_by_rounding():
    with pytest.raises(InputError, match="effective length 0"):
        # (2, sqrt(2)^2] is 4.4e-16 long: R aeqSurv stops with the same exception
        aeq_times(np.array([np.sqrt(2) ** 2, 5.0]), np.array([2.0, 1.0]))


def test_aeq_leaves_distinct_times_alone():
    t = np.array([1.0, 2.0, 3.0])
    t2, s2 = aeq_times(t)
    assert t2 is t and s2 is None


# ------------------------------------------------------------ 7. RMST (survRM2 rmst2)
@pytest.mark.parametrize("case", REF["rmst"], ids=_name(REF["rmst"]))
def test_rmst2_matches_survrm2_formulas(case):
    # R: rmst2_by_hand (survRM2 1.0-3 rmst1 / rmst2 formulas), arms cross-checked there
    #    with summary(survfit, rmean = tau)$table
    d = DATA[case["dataset"]]
    g = d[case["group"]]
    arm1 = case["arm1_label"]
    order = [x for x in sorted(g.unique()) if x != arm1] + [arm1]
    res = rmst2(d["time"], d["status"], g, case["tau_given"], order=order)
    assert res.tau == pytest.approx(case["tau"], rel=1e-12)
    assert res.tau_max == pytest.approx(case["tau_max"], rel=1e-12)
    assert res.tau_source == ("given" if case["tau_given"] is not None else
                              "default: smallest of the arms' largest observed times")
    _close(res.arms["rmst"], [case["arm0"]["rmst"], case["arm1"]["rmst"]], "arm rmst")
    _close(res.arms["se"], [case["arm0"]["se"], case["arm1"]["se"]], "arm se")
    _close(res.arms["rmtl"], [case["arm0"]["rmtl"], case["arm1"]["rmtl"]], "arm rmtl")
    t = res.table.set_index("measure")
    for measure, key, se_key in (("RMST difference", "difference", "se"),
                                 ("RMST ratio", "ratio", "log_se"),
                                 ("RMTL ratio", "rmtl_ratio", "log_se")):
        ref = case[key]
        row = t.loc[measure]
        _close([row["estimate"], row["se"], row["lower"], row["upper"], row["p"]],
               [ref["est"], ref[se_key], ref["lower"], ref["upper"], ref["p"]], measure)


def test_rmst2_rejects_an_unsupported_tau_and_wrong_groups():
    d = DATA["aml"]
    tau_max = REF["aml_tau_max"]
    r = rmst2(d["time"], d["status"], d["group"], tau_max)      # the largest supported
    assert r.tau == tau_max
    with pytest.raises(InputError, match=rf"largest horizon at which both curves are known is "
                                         rf"{tau_max:g}"):
        rmst2(d["time"], d["status"], d["group"], tau_max + 1)
    with pytest.raises(InputError, match="exactly two groups"):
        rmst2(DATA["veteran"]["time"], DATA["veteran"]["status"], DATA["veteran"]["celltype"])
    with pytest.raises(InputError, match="> 0"):
        rmst2(d["time"], d["status"], d["group"], -3)


def test_rmst2_arm_without_events_is_not_estimable():
    # review 7, F7: an arm with no events before tau has survmean's SE 0; a difference of
    # 64 "p 1e-07" rested on it. A: 5 deaths among 6; B: 1 patient, censored at 9.
    t = [1.0, 2.0, 3.0, 4.0, 5.0, 9.5, 9.0]
    e = [1, 1, 1, 1, 1, 0, 0]
    g = ["A"] * 6 + ["B"]
    res = rmst2(t, e, g, 9.0)
    arms = res.arms.set_index("group")
    assert arms.loc["B", "rmst"] == 9.0 and arms.loc["B", "rmtl"] == 0.0
    assert np.isnan(arms.loc["B", ["se", "lower", "upper"]].astype(float)).all()
    assert arms.loc["B", "note"] == "no events before tau: variance 0"
    assert arms.loc["A", "note"] == "" and arms.loc["A", "se"] > 0
    tab = res.table
    assert tab[["estimate", "se", "lower", "upper", "p"]].isna().all().all()
    assert (tab["note"] == "not estimable: 'B': no events before tau: variance 0").all()
    # the same through KMResult.rmst and rmst_difference
    km_arms = kaplan_meier(t, e, g).rmst(9.0).set_index("group")
    assert np.isnan(km_arms.loc["B", "se"]) and km_arms.loc["B", "note"] == \
        "no events before tau: variance 0"
    from aplcohort.stats.km import rmst_difference
    diff = rmst_difference(t, e, g, 9.0).table.iloc[0]
    assert np.isnan(diff[["estimate", "se", "p"]].astype(float)).all()
    assert diff["note"] == "not estimable: 'B': no events before tau: variance 0"


def test_rmst2_all_censored_gives_no_negative_time_lost_and_no_silent_blank():
    # the review's all-censored replica (OS from relapse by sex, days / 30.4375): the
    # widths do not add up to tau exactly, tau - RMST was -2.842e-14 ("-0.000000000000028")
    days_m = [526, 10, 78, 82, 7230, 732, 7043, 41, 389, 5924, 5516, 5489, 5128, 4824, 3693,
              3303, 3294, 474, 3081, 2522, 1118, 1003, 497, 801, 190]
    days_f = [198, 7277, 1015, 7103, 7037, 6080, 6004, 2, 0, 382, 5005, 4487, 516, 154, 2833,
              2648, 7, 2409, 903, 2198, 713, 1479, 1327, 5, 993, 742, 27]
    t = np.array(days_m + days_f) / 30.4375
    e = np.zeros(t.size, int)
    g = ["M"] * len(days_m) + ["F"] * len(days_f)
    res = rmst2(t, e, g, order=["M", "F"])
    assert (res.arms["rmtl"] == 0.0).all()
    assert not np.signbit(res.arms["rmtl"].to_numpy(float)).any()
    assert (res.arms["note"] == "no events before tau: variance 0").all()
    assert res.table["p"].isna().all() and (res.table["note"] == (
        "not estimable: 'M': no events before tau: variance 0; 'F': no events before tau: "
        "variance 0")).all()


def test_plan_rmst_one_patient_arm_has_no_p_value_and_says_why(tmp_path):
    from aplcohort.plan import run_plan
    path = tmp_path / "rm.csv"
    pd.DataFrame({"t": [1.0, 2.0, 3.0, 4.0, 5.0, 9.5, 9.0], "d": [1, 1, 1, 1, 1, 0, 0],
                  "arm": ["A"] * 6 + ["B"]}).to_csv(path, index=False)
    plan = {"plan": "f7", "data": {"source": str(path)},
            "endpoints": {"os": {"time": "t", "event": "d", "unit": "months"}},
            "analyses": [{"id": "rm", "kind": "rmst", "endpoint": "os", "group": "arm",
                          "tau": 9.0}]}
    out = run_plan(plan, figures=False)["rm"]
    assert out.status == "ok", out.reason
    s = out.summary
    arms = {a["group"]: a for a in s["arms"]}
    assert arms["B"]["n"] == 1 and arms["B"]["se"] is None and arms["B"]["lower"] is None
    assert arms["B"]["note"] == "no events before tau: variance 0"
    assert s["p"] is None and s["statistic"] is None
    assert s["reason"] == "'B': no events before tau: variance 0"
    assert "No RMST test: 'B': no events before tau: variance 0." in out.notes
    assert all(c["p"] is None and c["estimate"] is None and c["note"] for c in s["contrasts"])


# ------------------------------------------------------------ plans and the plot
def _plan_ctx(tmp_path):
    from aplcohort.plan.runner import plan_context
    d = DATA["lung"].dropna(subset=["sex"]).copy()
    d["patient_id"] = [f"P{i:03d}" for i in range(len(d))]
    d["sex"] = d["sex"].map({1: "M", 2: "F"})
    path = tmp_path / "lung.csv"
    d.to_csv(path, index=False)
    plan = {"plan": "extras", "data": {"source": str(path)},
            "endpoints": {"os": {"time": "time", "event": "status", "unit": "days"}},
            "analyses": [{"id": "c", "kind": "counts", "columns": ["sex"]}]}
    return plan_context(plan, data=path, figures=False), d


def test_plans_reach_cumhaz_conditional_peto_prentice_and_follow_up(tmp_path):
    from aplcohort.plan.kinds import run_analysis
    ctx, d = _plan_ctx(tmp_path)
    out = run_analysis(ctx, {"id": "km", "kind": "km", "endpoint": "os", "group": "sex",
                             "times": [180.0, 365.0], "cumhaz": True, "ctype": 2,
                             "median_followup": True, "test": "peto-prentice"})
    assert out.status == "ok", out.reason
    s = out.summary
    api = kaplan_meier(d["time"], d["status"], d["sex"], ctype=2).cumhaz().at([180.0, 365.0])
    got = [e["estimate"] for g in ("F", "M") for e in s["cumhaz"]["groups"][g]]
    np.testing.assert_allclose(got, api["estimate"].to_numpy(), rtol=1e-12)
    assert s["test"]["test"] == "Peto-Prentice"
    pp = weighted_logrank(d["time"], d["status"], d["sex"], weights="peto-prentice")
    assert s["p"] == pytest.approx(pp.p, rel=1e-12)
    fu = median_followup(d["time"], d["status"], d["sex"])
    # by group: the plan orders sex as the data dictionary does (M, F), the API as given
    assert ({str(r["group"]): r["median"] for r in s["median_followup"]}
            == dict(zip(fu["group"].astype(str), fu["median"])))
    assert "cumulative_hazard" in [t[0] for t in out.tables]
    cond = run_analysis(ctx, {"id": "kmc", "kind": "km", "endpoint": "os", "group": "sex",
                              "start_time": 180.0, "test": "none"})
    assert cond.status == "ok", cond.reason
    left = [e for e in cond.summary["exclusions"] if "start_time" in e["reason"]]
    assert left and left[0]["n"] == int((d["time"] < 180).sum())
    api = kaplan_meier(d["time"], d["status"], d["sex"], start_time=180.0).median()
    assert [cond.summary["groups"][g]["median"] for g in ("F", "M")] == api["median"].tolist()


def test_plan_rmst_kind_and_unsupported_tau(tmp_path):
    from aplcohort.plan.kinds import run_analysis
    ctx, d = _plan_ctx(tmp_path)
    out = run_analysis(ctx, {"id": "r", "kind": "rmst", "endpoint": "os", "group": "sex",
                             "order": ["M", "F"], "tau": 365.0})
    assert out.status == "ok", out.reason
    api = rmst2(d["time"], d["status"], d["sex"], 365.0, order=["M", "F"])
    got = [c["estimate"] for c in out.summary["contrasts"]]
    np.testing.assert_allclose(got, api.table["estimate"].to_numpy(), rtol=1e-12)
    assert [t[0] for t in out.tables] == ["rmst", "rmst_contrasts"]
    bad = run_analysis(ctx, {"id": "r2", "kind": "rmst", "endpoint": "os", "group": "sex",
                             "tau": 5000.0})
    assert bad.status == "not estimable" and "largest horizon" in bad.reason


def test_plot_cumhaz_draws_the_result(tmp_path):
    import matplotlib.pyplot as plt
    from aplcohort.plots.cumhaz import plot_cumhaz
    d = DATA["aml"]
    h = kaplan_meier(d["time"], d["status"], d["group"]).cumhaz()
    ax = plot_cumhaz(h, times=[0, 40, 80, 120, 160], time_unit="days")
    for g in h.groups:
        line = [ln for ln in ax.lines if ln.get_gid() == f"curve:{g}"][0]
        y = line.get_ydata()
        sub = h.table[h.table["group"] == g]
        assert y[0] == 0.0
        np.testing.assert_allclose(y[1:], sub["estimate"].to_numpy(), rtol=1e-15)
    assert "Nelson–Aalen" in ax.get_ylabel()
    ax.figure.savefig(tmp_path / "cumhaz.png", dpi=60)
    plt.close(ax.figure)
    with pytest.raises(InputError, match="KMResult.cumhaz"):
        plot_cumhaz(kaplan_meier(d["time"], d["status"]))


def test_split_at_exposure_merges_an_exposure_near_tied_to_follow_up():
    # exposure at sqrt(2)^2 and death at 2: the same time for R (timefix); the split must
    # not create a (2, 2.0000000000000004] interval (coxph would stop on it)
    from aplcohort.stats.timedep import split_at_exposure
    d = pd.DataFrame({"pid": ["a", "b", "c"], "t": [2.0, 5.0, 3.0], "d": [1, 0, 1],
                      "tx": [np.sqrt(2) ** 2, 1.0, np.nan]})
    sp = split_at_exposure(d, id="pid", time="t", event="d", exposure_time="tx")
    a = sp[sp["pid"] == "a"]
    assert (a["tstop"] - a["tstart"] > 1e-9).all()
    ref = split_at_exposure(d.assign(tx=[2.0, 1.0, np.nan]), id="pid", time="t", event="d",
                            exposure_time="tx")
    pd.testing.assert_frame_equal(sp, ref)


def test_singular_logrank_variance_is_not_estimable_not_zero():
    # R: survdiff(Surv(t, s) ~ g + strata(st)) stops: "system is exactly singular"
    # (each stratum has one patient: every event has one at risk, V = 0)
    from aplcohort.errors import StatisticalWarning
    with pytest.warns(StatisticalWarning, match="singular"):
        r = logrank_test([1, 2, 3, 4], [1, 1, 0, 0], [0, 1, 0, 1], strata=[1, 2, 3, 4])
    assert np.isnan(r.statistic) and np.isnan(r.p) and "not estimable" in r.note


def test_conditional_group_without_rows_says_why():
    fit = kaplan_meier([1, 2, 3, 10, 12], [1, 0, 1, 0, 1], list("aaabb"), start_time=5)
    med = fit.median()
    assert med["n"].tolist() == [0, 2] and fit.n_before_start == (3, 0)
    assert med["note"].iloc[0] == "no patient followed to start_time 5"
    with pytest.raises(InputError, match="no row is followed that long"):
        kaplan_meier([1, 2, 3], [1, 0, 1], start_time=5)


def test_concordance_merges_near_ties_as_r():
    """R's concordance() applies timefix: 2 and sqrt(2)**2 are one time, so the pair of
    events there is tied, not ordered. Same C as with the exact value 2."""
    import pandas as pd

    from aplcohort.stats.concordance import concordance
    from aplcohort.stats.cox import coxph
    x = [1.0, 0.0, 2.0, 1.5, 0.5, 3.0]
    e = [1, 1, 1, 0, 1, 1]
    near = pd.DataFrame({"t": [2.0, np.sqrt(2.0) ** 2, 3.0, 4.0, 5.0, 1.0], "e": e, "x": x})
    exact = near.assign(t=[2.0, 2.0, 3.0, 4.0, 5.0, 1.0])
    assert near["t"][0] != near["t"][1]
    c_near = concordance(coxph(near, time="t", event="e", covariates=["x"]))
    c_exact = concordance(coxph(exact, time="t", event="e", covariates=["x"]))
    pd.testing.assert_frame_equal(c_near.table, c_exact.table)
