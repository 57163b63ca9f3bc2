"""Benchmark of the PUBLIC functions a user calls, against lifelines, scikit-survival and R.

Run (writes benchmarks/RESULTS.md; the README table is then generated from it by
``python benchmarks/readme_table.py --write``):

    .venv/bin/python benchmarks/bench_public.py [--no-r] [--repeat 3] [--out FILE]
    .venv/bin/python benchmarks/bench_public.py --quick      # smoke run, seconds, to stdout
    .venv/bin/python benchmarks/bench_public.py --growth-only [--only coxph,cox_zph]
        # the growth exponents alone (to stdout; never writes RESULTS.md, --out FILE does)

Everything is measured in ONE run on the SAME simulated data (whole-day times, so
heavy ties; 3 groups; 7 covariates; a competing cause; an exposure that starts during
follow-up), after checking that the tools agree. Every figure is printed with its
ratio to aplcohort and with the floor of the same data: one ``argsort`` of the times
plus the cumulative sums any implementation must at least compute (of the events per
group for KM / CIF; of ``[1, x, x x']`` for Cox / Fine-Gray).

Workloads (the targets of issue 13; each is checked in the "Targets" table, whose
last column is computed from the measured ratios):

* n = 52, 3 arms (one study): ``kaplan_meier`` + ``.median()`` + ``logrank_test`` vs
  R ``survfit`` + ``quantile`` + ``survdiff``; ``cumulative_incidence`` + ``gray_test``
  vs R ``cmprsk::cuminc``; DataFrame ``coxph`` vs R ``coxph`` -- at least as fast as R.
* n = 1e6: KM + log-rank (lifelines, scikit-survival, R); ``coxph`` Efron with 7
  covariates (lifelines >= 3x, R >= 8x, peak memory <= 500 MB; scikit-survival at 1e5:
  it holds dense per-row arrays); CIF + Gray vs R ``cuminc`` (keeps its lead).
* n = 1e7: KM + log-rank, public functions vs the internal batch path (<= 2x) and
  lifelines (faster).
* Fine-Gray ``fine_gray`` vs R ``cmprsk::crr`` at 1e4 rows (keeps its lead).
* growth exponent (slope of log time on log n, 1e3 .. 1e6 rows) of every public
  estimator, Fine-Gray and the time-dependent ones included: <= 1.1. Both the slope
  fitted over all sizes and the slope of the last decade are shown (fixed overheads
  flatten the first); the target is checked on the larger of the two.

Timings are the best of ``--repeat`` runs for every tool (R: ``system.time`` inside R,
CSV reading excluded). Ratios are tool time / aplcohort time: > 1 means aplcohort is
faster. The machine is shared: the load average at start and end is recorded, and
ratios from one run are more meaningful than absolute seconds. Never a test: the
suite only checks that ``--quick`` runs (tests/test_bench_public.py).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
import warnings

import numpy as np
import pandas as pd

from aplcohort.stats.competing import cumulative_incidence, gray_test
from aplcohort.stats.cox import coxph
from aplcohort.stats.finegray import fine_gray
from aplcohort.stats.km import kaplan_meier
from aplcohort.stats.logrank import logrank_test
from aplcohort.stats.rmst import rmst2
from aplcohort.stats.timedep import mantel_byar, simon_makuch, td_coxph

BETA = np.array([0.3, -0.2, 0.1, 0.0, 0.05, 0.2, -0.1])
COVS = [f"x{j + 1}" for j in range(7)]

#: full and --quick sizes
SIZES = {
    "full": {"big": 1_000_000, "huge": 10_000_000, "fg": 10_000, "sk": 100_000,
             "growth": [1_000, 10_000, 100_000, 1_000_000], "budget": 60.0, "loop": 20_000},
    "quick": {"big": 5_000, "huge": 20_000, "fg": 300, "sk": 2_000,
              "growth": [500, 2_000], "budget": 2.0, "loop": 500},
}
#: small inputs are called in a loop covering this many rows (timer resolution)
LOOP_ROWS = [SIZES["full"]["loop"]]


def make_data(n, seed):
    """n rows: 3 groups, 7 covariates, whole-day times, a competing cause, an exposure."""
    rng = np.random.default_rng(seed)
    group = rng.integers(0, 3, n)
    X = np.column_stack([group == 1, group == 2, rng.normal(size=(n, 3)),
                         rng.integers(0, 2, n), rng.normal(size=n)]).astype(float)
    lp = X @ BETA
    t = np.ceil(rng.exponential(365 * np.exp(-lp)))
    c = np.ceil(rng.uniform(30, 1500, n))
    time_ = np.minimum(t, c)
    event = (t <= c).astype(float)
    code = np.where(event > 0, 1 + (rng.random(n) < 0.35), 0)
    df = pd.DataFrame(X, columns=COVS)
    df["time"], df["event"], df["group"], df["code"] = time_, event, group, code
    df["id"] = np.arange(n)
    df["trt"] = (group > 0).astype(int)   # a two-arm treatment (propensity, weights)
    # an exposure (e.g. transplant) starting during follow-up for about half the rows
    df["tx"] = np.where(rng.random(n) < 0.5, np.floor(time_ * rng.random(n)), np.nan)
    return df


def best(fn, repeat):
    b, out = np.inf, None
    for _ in range(max(1, repeat)):
        t0 = time.perf_counter()
        out = fn()
        b = min(b, time.perf_counter() - t0)
    return b, out


def per_call(fn, repeat, n):
    """Best-of-``repeat`` seconds of one call, looping small inputs for resolution."""
    k = max(1, LOOP_ROWS[0] // max(n, 1))
    return best(lambda: [fn() for _ in range(k)], repeat)[0] / k


def peak_mb(fn):
    tracemalloc.start()
    tracemalloc.reset_peak()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2 ** 20


# ------------------------------------------------------------------ our public calls
def ours_km(df):
    g = df["group"].to_numpy()
    fit = kaplan_meier(df["time"].to_numpy(), df["event"].to_numpy(), g)
    med = fit.median()["median"].to_numpy()
    lr = logrank_test(df["time"].to_numpy(), df["event"].to_numpy(), g)
    return med, lr.statistic


def ours_cox(df):
    r = coxph(df, time="time", event="event", covariates=COVS)
    return r.terms["coef"].to_numpy()


def ours_cif(df):
    g = df["group"].to_numpy()
    r = cumulative_incidence(df["time"].to_numpy(), df["code"].to_numpy(), g)
    gt = gray_test(df["time"].to_numpy(), df["code"].to_numpy(), g, cause=1)
    return r, gt.statistic


def ours_fg(df):
    r = fine_gray(df, time="time", code="code", covariates=COVS, cause=1)
    return r.terms["coef"].to_numpy()


def _quiet(fn):
    def run(*a, **k):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return fn(*a, **k)
    return run


#: every public estimator, one call each, for the growth exponents
ESTIMATORS = {
    "kaplan_meier": lambda d: kaplan_meier(d["time"].to_numpy(), d["event"].to_numpy(),
                                           d["group"].to_numpy()),
    "logrank_test": lambda d: logrank_test(d["time"].to_numpy(), d["event"].to_numpy(),
                                           d["group"].to_numpy()),
    "rmst2": lambda d: rmst2(d["time"].to_numpy(), d["event"].to_numpy(),
                             (d["group"].to_numpy() > 0).astype(int), tau=365.0),
    "coxph": ours_cox,
    "cumulative_incidence": lambda d: cumulative_incidence(
        d["time"].to_numpy(), d["code"].to_numpy(), d["group"].to_numpy()),
    "gray_test": lambda d: gray_test(d["time"].to_numpy(), d["code"].to_numpy(),
                                     d["group"].to_numpy(), cause=1),
    "fine_gray": ours_fg,
    "td_coxph": _quiet(lambda d: td_coxph(d, time="time", event="event", covariates=["x3"],
                                          id="id", exposure_time="tx")),
    "mantel_byar": _quiet(lambda d: mantel_byar(d, time="time", event="event", id="id",
                                                exposure_time="tx")),
    "simon_makuch": _quiet(lambda d: simon_makuch(d, time="time", event="event", id="id",
                                                  exposure_time="tx")),
}


class Staged:
    """An estimator that takes a fitted object: ``setup(d)`` builds it (not timed) and
    ``run(obj)`` is timed. The object is built afresh for every timed call, because
    fitted objects cache work lazily (a Cox fit builds its per-row residual engine on
    the first call that needs it): each call pays what a user's first call pays."""

    def __init__(self, setup, run):
        self.setup, self.run = setup, run

    def per_call(self, d, repeat, n):
        """As :func:`per_call`, the setup of each call excluded from the time."""
        k = max(1, LOOP_ROWS[0] // max(n, 1))
        b = np.inf
        for _ in range(max(1, repeat)):
            tot = 0.0
            for _ in range(k):
                obj = self.setup(d)
                t0 = time.perf_counter()
                self.run(obj)
                tot += time.perf_counter() - t0
            b = min(b, tot)
        return b / k

    def peak_mb(self, d):
        obj = self.setup(d)
        return peak_mb(lambda: self.run(obj))


_CACHE = {}


def _cached(key, build):
    """``build(d)`` once per (key, data object), for setups that are only read (data
    frames built from ``d``), shared by several estimators."""
    def get(d):
        k = (key, id(d))
        if k not in _CACHE:
            _CACHE[k] = (d, build(d))   # keep ``d`` alive so its id is not reused
        return _CACHE[k][1]
    return get


def _stats(name):
    import aplcohort.stats as s
    return getattr(s, name)


def _adjust(name):
    import aplcohort.adjust as a
    return getattr(a, name)


def _ms(name):
    import aplcohort.multistate as m
    return getattr(m, name)


def _arrays(d):
    return d["time"].to_numpy(), d["event"].to_numpy(), d["group"].to_numpy()


def _two(d, col):
    """``col`` in group 0 and in group 1 (two-sample tests)."""
    x, g = d[col].to_numpy(), d["group"].to_numpy()
    return x[g == 0], x[g == 1]


def illness_death(d):
    """(start, stop] multi-state rows from the simulated data: healthy -> ill at the
    exposure time ``tx`` (when 0 < tx < time), then -> dead (event) or censored."""
    t, e, tx = d["time"].to_numpy(), d["event"].to_numpy(), d["tx"].to_numpy()
    ill = np.isfinite(tx) & (tx > 0) & (tx < t)
    ids, x3 = d["id"].to_numpy(), d["x3"].to_numpy()
    end = np.where(e > 0, "dead", "censor")
    first = pd.DataFrame({"id": ids, "tstart": 0.0, "tstop": np.where(ill, tx, t),
                          "from_state": "healthy", "to_state": np.where(ill, "ill", end),
                          "x3": x3})
    second = pd.DataFrame({"id": ids[ill], "tstart": tx[ill], "tstop": t[ill],
                           "from_state": "ill", "to_state": end[ill], "x3": x3[ill]})
    out = pd.concat([first, second], ignore_index=True)
    return out.sort_values(["id", "tstart"], kind="stable").reset_index(drop=True)


def cr2_cohort(d):
    """Dates for :func:`aplcohort.multistate.build_transitions` from time zero CR2 (day
    10 after the first relapse), ``time`` days later: code 0 censored in CR2, 2 death in
    CR2, 1 second relapse, then death ``time // 2 + 1`` days later in group 0 (others
    alive then)."""
    base = np.datetime64("2020-01-01", "D")
    n = len(d)
    t = d["time"].to_numpy().astype("int64")
    code = d["code"].to_numpy()
    t2 = t // 2 + 1
    dies = d["group"].to_numpy() == 0
    nat = np.datetime64("NaT", "D")
    rel = np.where(code == 1, base + 10 + t, nat)
    death = np.where(code == 2, base + 10 + t,
                     np.where((code == 1) & dies, base + 10 + t + t2, nat))
    last = base + 10 + t + np.where(code == 1, t2, 0)
    ns = "datetime64[ns]"
    return pd.DataFrame({"patient_id": np.char.add("p", np.arange(n).astype(str)),
                         "relapse1_date": np.full(n, base).astype(ns), "response": "mCR2",
                         "response_date": np.full(n, base + 10).astype(ns),
                         "relapse2_date": rel.astype(ns), "death_date": death.astype(ns),
                         "last_followup_date": last.astype(ns)})


PS_COVS = ["x3", "x4", "x5", "x6", "x7"]


def _cox_fit(d):
    return coxph(d, time="time", event="event", covariates=COVS)


def _zph_fit(d):
    return _stats("cox_zph")(_cox_fit(d))


def _ps_fit(d):
    return _adjust("propensity_score")(d, "trt", PS_COVS)


def _dw(d):
    return d, _adjust("psweights")(_ps_fit(d), "ATE")


_ms_rows = _cached("ms", illness_death)
_ms_nofrom = _cached("msfrom", lambda d: _ms_rows(d).drop(columns="from_state"))
_cr2 = _cached("cr2", cr2_cohort)


def _cr2_tr(d):
    return _ms("build_transitions")(_cr2(d), _ms("relapsed_leukemia_model")("salvage_start"),
                                    time_zero="CR2")



_MS3 = ["healthy", "ill", "dead"]

#: the rest of the public API (aplcohort.stats, .multistate, .adjust), one call each;
#: a Staged entry times only the call on its (untimed, shared) setup
ESTIMATORS.update({
    "median_followup": lambda d: _stats("median_followup")(*_arrays(d)),
    "number_at_risk": lambda d: _stats("number_at_risk")(
        d["time"].to_numpy(), d["event"].to_numpy(), [0, 90, 180, 365, 730, 1095],
        d["group"].to_numpy()),
    "rmst_difference": lambda d: _stats("rmst_difference")(
        d["time"].to_numpy(), d["event"].to_numpy(), (d["group"].to_numpy() > 0).astype(int),
        365.0),
    "reverse_kaplan_meier": lambda d: _stats("reverse_kaplan_meier")(*_arrays(d)),
    "weighted_logrank": lambda d: _stats("weighted_logrank")(
        *_arrays(d), weights="fleming-harrington", p=1.0, q=1.0),
    "trend_test": lambda d: _stats("trend_test")(*_arrays(d)),
    "pairwise_logrank": lambda d: _stats("pairwise_logrank")(*_arrays(d)),
    "coxph(strata+robust)": lambda d: coxph(d, time="time", event="event",
                                             covariates=COVS[2:], strata="group", robust=True),
    "univariable_multivariable": lambda d: _stats("univariable_multivariable")(
        d, time="time", event="event", covariates=COVS),
    # one covariate: the profile-likelihood CIs take ~30 penalised fits per covariate
    # (hundreds with 7), each O(n p^3); the growth in n is what is measured here
    "firth_coxph": lambda d: _stats("firth_coxph")(d, time="time", event="event",
                                                   covariates=["x3"]),
    "cox_zph": Staged(_cox_fit, lambda f: _stats("cox_zph")(f)),
    "zph_smooth": Staged(_zph_fit, lambda z: _stats("zph_smooth")(z, "x3")),
    "predict_lp": Staged(_cox_fit, lambda f: _stats("predict_lp")(f)),
    "basehaz": Staged(_cox_fit, lambda f: _stats("basehaz")(f)),
    "predict_survival": Staged(_cox_fit, lambda f: _stats("predict_survival")(f)),
    "cox_residuals(martingale)": Staged(_cox_fit, lambda f: _stats("cox_residuals")(f)),
    "cox_residuals(dfbeta)": Staged(_cox_fit, lambda f: _stats("cox_residuals")(f, "dfbeta")),
    "concordance": Staged(_cox_fit, lambda f: _stats("concordance")(f)),
    "td_auc": Staged(_cox_fit, lambda f: _stats("td_auc")(f, [180.0, 365.0, 730.0])),
    "wilcoxon_ranksum": lambda d: _stats("wilcoxon_ranksum")(*_two(d, "x3")),
    "kruskal_wallis": lambda d: _stats("kruskal_wallis")(d["x3"].to_numpy(),
                                                         d["group"].to_numpy()),
    "t_test": lambda d: _stats("t_test")(*_two(d, "x3")),
    "compare_groups": lambda d: _stats("compare_groups")(d["x6"].to_numpy(),
                                                         d["group"].to_numpy()),
    "pairwise_gray": lambda d: _stats("pairwise_gray")(d["time"].to_numpy(),
                                                       d["code"].to_numpy(),
                                                       d["group"].to_numpy()),
    "cause_specific_cox": lambda d: _stats("cause_specific_cox")(
        d, time="time", code="code", cause=1, covariates=COVS),
    "split_at_exposure": _quiet(lambda d: _stats("split_at_exposure")(
        d, id="id", time="time", event="event", exposure_time="tx")),
    "td_coxph(robust)": _quiet(lambda d: td_coxph(d, time="time", event="event",
                                                  covariates=["x3"], id="id",
                                                  exposure_time="tx", robust=True)),
    "landmark": _quiet(lambda d: _stats("landmark")(d, landmark=90.0, time="time",
                                                    event="event", id="id",
                                                    exposure_time="tx")),
    "immortal_time_check": _quiet(lambda d: _stats("immortal_time_check")(
        d, time="time", group="group", treatment_time="tx", warn=False)),
    "compare_naive_vs_timedependent": _quiet(lambda d: _stats(
        "compare_naive_vs_timedependent")(d, time="time", event="event", id="id",
                                          exposure_time="tx")),
    "finegray_expand": lambda d: _stats("finegray_expand")(d, stop="time", code="code",
                                                           cause=1),
    "td_fine_gray": _quiet(lambda d: _stats("td_fine_gray")(
        d, time="time", code="code", covariates=["x3"], id="id", exposure_time="tx")),
    "check_intervals": Staged(_ms_rows, lambda r: _ms("check_intervals")(r)),
    "add_from_state": Staged(_ms_nofrom, lambda r: _ms("add_from_state")(r,
                                                                         initial="healthy")),
    "aalen_johansen": Staged(_ms_rows, lambda r: _ms("aalen_johansen")(
        r["tstart"].to_numpy(), r["tstop"].to_numpy(),
        pd.Categorical(r["from_state"], _MS3).codes,
        pd.Categorical(r["to_state"], _MS3).codes + 1, r["id"].to_numpy(), 3)),
    "state_occupancy": Staged(_ms_rows, lambda r: _ms("state_occupancy")(r, states=_MS3)),
    "transition_cox": Staged(_ms_rows, lambda r: _ms("transition_cox")(r, ["x3"])),
    "build_transitions": Staged(_cr2, lambda c: _ms("build_transitions")(
        c, _ms("relapsed_leukemia_model")("salvage_start"), time_zero="CR2")),
    "clfs": Staged(_cr2_tr, lambda tr: _ms("clfs")(tr)),
    "propensity_score": lambda d: _adjust("propensity_score")(d, "trt", PS_COVS),
    "psweights": Staged(_ps_fit, lambda ps: _adjust("psweights")(ps, "ATE")),
    "balance": Staged(_dw, lambda dw: _adjust("balance")(dw[0], "trt", PS_COVS, dw[1])),
    "weighted_table1": Staged(_dw, lambda dw: _adjust("weighted_table1")(dw[0], "trt", PS_COVS,
                                                                          dw[1])),
    "weighted_km": Staged(_dw, lambda dw: _adjust("weighted_km")(dw[0], "time", "event", "trt",
                                                                  dw[1])),
    "weighted_cif": Staged(_dw, lambda dw: _adjust("weighted_cif")(dw[0], "time", "code", "trt",
                                                                    dw[1])),
    "weighted_cox": Staged(_dw, lambda dw: _adjust("weighted_cox")(dw[0], "time", "event",
                                                                    "trt", dw[1])),
    "adjust.weighted_logrank": Staged(_dw, lambda dw: _adjust("weighted_logrank")(
        dw[0], "time", "event", "trt", dw[1])),
    "adjusted_risks(gcomp)": lambda d: _adjust("adjusted_risks")(
        d, "time", "event", "trt", [180.0, 365.0], method="gcomp", covariates=PS_COVS),
    "finegray_data": lambda d: _adjust("finegray_data")(d["time"].to_numpy(),
                                                        d["code"].to_numpy()),
    "weighted_finegray": Staged(_dw, lambda dw: _adjust("weighted_finegray")(
        dw[0], "time", "code", "trt", dw[1])),
})

_FG_ROWS = ("its output has one row per competing-cause failure and per later censoring "
            "interval holding a failure of the cause (R survival::finegray makes the same "
            "rows): with these whole-day times ~2.3e4 rows at 1e3, 1.4e6 at 1e4, 2.8e7 at 1e5 "
            "(~12 GB peak) and ~3.4e8 at 1e6; timed to 1e4 rows only")
#: estimators timed only up to a size, and why (printed in RESULTS)
CAPPED = {"finegray_expand": (10_000, _FG_ROWS), "td_fine_gray": (10_000, _FG_ROWS),
          "finegray_data": (10_000, _FG_ROWS), "weighted_finegray": (10_000, _FG_ROWS)}

#: public functions not timed from 1e3 to 1e6 rows, and why (printed in RESULTS)
EXCLUDED = {
    "fisher_exact, chisq_test": "take a contingency table, not rows: the work does not grow "
                                "with n (fisher_exact is bounded by max_work)",
    "binom_ci, compare_response_rates": "take counts (scalars), not rows",
    "evalue, evalue_hr, evalue_rr": "take an estimate and its CI (scalars), not rows",
    "match_nearest": "greedy nearest-neighbour matching without replacement scans the "
                     "controls for every treated patient, O(n_treated x n_control), as "
                     "MatchIt's nearest method (agreement with MatchIt pair by pair is its "
                     "purpose); 1e6 rows would be ~2.5e11 distance evaluations",
    "Outcome": "the checked outcome container: its checks run inside the estimators above",
    "time_function, relapsed_leukemia_model, dfs_states, StateModel": "constructors and "
                                                                      "look-ups, not estimators",
}


# ------------------------------------------------------------------ floors
def floor_km(df):
    """One sort plus the cumulative sums of the events per group."""
    t = df["time"].to_numpy()
    e = df["event"].to_numpy()
    g = df["group"].to_numpy()
    o = np.argsort(t, kind="stable")
    return [np.cumsum(e[o] * (g[o] == k)) for k in range(3)]


def floor_cox(df):
    """One sort plus the cumulative sums of ``[1, x, x x']`` (one likelihood evaluation)."""
    t = df["time"].to_numpy()
    X = df[COVS].to_numpy()
    o = np.argsort(t, kind="stable")
    Xs = X[o]
    i0, i1 = np.triu_indices(7)
    return np.cumsum(Xs, axis=0), np.cumsum(Xs[:, i0] * Xs[:, i1], axis=0)


# ------------------------------------------------------------------ other tools
def lifelines_km(df):
    from lifelines import KaplanMeierFitter
    from lifelines.statistics import multivariate_logrank_test
    t, e, g = df["time"].to_numpy(), df["event"].to_numpy(), df["group"].to_numpy()
    meds = [KaplanMeierFitter().fit(t[g == k], e[g == k]).median_survival_time_
            for k in range(3)]
    return np.array(meds), multivariate_logrank_test(t, g, e).test_statistic


def lifelines_cox(df):
    from lifelines import CoxPHFitter
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        f = CoxPHFitter().fit(df[COVS + ["time", "event"]], "time", "event")
    return f.params_.to_numpy()


def sksurv_cox(df):
    from sksurv.linear_model import CoxPHSurvivalAnalysis
    from sksurv.util import Surv
    y = Surv.from_arrays(df["event"].to_numpy() > 0, df["time"].to_numpy())
    m = CoxPHSurvivalAnalysis(ties="efron", n_iter=100, tol=1e-9).fit(df[COVS].to_numpy(), y)
    return m.coef_


def sksurv_km(df):
    from sksurv.compare import compare_survival
    from sksurv.nonparametric import kaplan_meier_estimator
    from sksurv.util import Surv
    t, e, g = df["time"].to_numpy(), df["event"].to_numpy() > 0, df["group"].to_numpy()
    for k in range(3):
        kaplan_meier_estimator(e[g == k], t[g == k])
    return compare_survival(Surv.from_arrays(e, t), g)[0]


R_SCRIPT = r"""
suppressPackageStartupMessages({library(survival); library(cmprsk); library(jsonlite)})
args <- commandArgs(TRUE)
d <- read.csv(args[1]); rep <- as.integer(args[3]); what <- strsplit(args[4], ",")[[1]]
out <- list(version = R.version.string, survival = as.character(packageVersion("survival")))
tm_many <- function(expr, k) { e <- substitute(expr); b <- Inf
  for (i in seq_len(rep)) b <- min(b, system.time(for (j in seq_len(k)) eval(e, parent.frame()))[["elapsed"]] / k); b }
k <- if (nrow(d) <= 100) 200 else 1
if ("km" %in% what) {
  out$km <- tm_many({fit <- survfit(Surv(time, event) ~ group, data = d)
                     med <- as.vector(quantile(fit, 0.5)$quantile)
                     sd <- survdiff(Surv(time, event) ~ group, data = d)}, k)
  out$km_chisq <- sd$chisq; out$km_median <- med }
if ("cox" %in% what) {
  out$cox <- tm_many(cf <- coxph(Surv(time, event) ~ x1 + x2 + x3 + x4 + x5 + x6 + x7,
                                 data = d, ties = "efron"), k)
  out$cox_coef <- unname(coef(cf)) }
if ("cif" %in% what) {
  out$cif <- tm_many(ci <- cuminc(d$time, d$code, d$group), k)
  out$cif_gray <- unname(ci$Tests[1, 1]) }
if ("crr" %in% what) {
  X <- as.matrix(d[, paste0("x", 1:7)])
  rep <- 1  # crr is slow: one run
  out$crr <- tm_many(fg <- crr(d$time, d$code, X, failcode = 1, cencode = 0), 1)
  out$crr_coef <- unname(fg$coef) }
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE), args[2])
"""


def run_r(df, what, repeat):
    if not shutil.which("Rscript"):
        return None
    with tempfile.TemporaryDirectory() as d:
        csv = os.path.join(d, "d.csv")
        df.to_csv(csv, index=False)
        script = os.path.join(d, "b.R")
        with open(script, "w") as fh:
            fh.write(R_SCRIPT)
        out = os.path.join(d, "o.json")
        subprocess.run(["Rscript", script, csv, out, str(repeat), ",".join(what)], check=True)
        with open(out) as fh:
            return json.load(fh)


def rel(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    ok = np.isfinite(a) & np.isfinite(b)
    return float(np.max(np.abs(a[ok] - b[ok]) / np.maximum(np.abs(b[ok]), 1e-300)))


def _have(module):
    try:
        __import__(module)
        return True
    except ImportError:
        return False


class Bench:
    """Collects timings (rows), floors, agreement checks and targets of one run."""

    def __init__(self):
        self.rows, self.agree, self.notes, self.targets = [], [], [], []
        self.ours, self.floor = {}, {}

    def add(self, task, tool, sec, note=""):
        if tool.startswith("aplcohort") and "internal" not in tool:
            self.ours[task] = sec
        if tool.startswith("floor"):
            self.floor[task] = sec
        self.rows.append({"task": task, "tool": tool, "seconds": sec, "note": note})

    def seconds(self, task, prefix):
        for r in self.rows:
            if r["task"] == task and r["tool"].startswith(prefix):
                return r["seconds"]
        return None

    def target(self, task, what, value, op, threshold, shown, floor=""):
        """One target; ``value`` None = not measured (``shown`` says why)."""
        if value is None or not np.isfinite(value):
            met = "not measured"
        else:
            met = "yes" if (value >= threshold if op == ">=" else value <= threshold) else "no"
        self.targets.append({"task": task, "target": what, "measured": shown,
                             "floor": floor, "met?": met})


def _floor_text(b, task):
    f, o = b.floor.get(task), b.ours.get(task)
    if f is None or o is None:
        return ""
    return f"{f:.3g} s (aplcohort = {o / f:.2f}x floor)"


def ratio_target(b, task, peer_prefix, what, threshold):
    p, o = b.seconds(task, peer_prefix), b.ours.get(task)
    if p is None or o is None:
        b.target(task, what, None, ">=", threshold, f"{peer_prefix.strip()} not run",
                 _floor_text(b, task))
        return
    b.target(task, what, p / o, ">=", threshold, f"{p / o:.2f}x ({o:.3g} s vs {p:.3g} s)",
             _floor_text(b, task))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true",
                    help="smoke run on small data (seconds); prints, writes only with --out")
    ap.add_argument("--no-r", action="store_true", help="skip R")
    ap.add_argument("--repeat", type=int, default=None, help="best of N (default 3; quick 1)")
    ap.add_argument("--seed", type=int, default=20261130)
    ap.add_argument("--out", default=None,
                    help="markdown output (default benchmarks/RESULTS.md; --quick: none)")
    ap.add_argument("--growth-only", action="store_true",
                    help="only the growth exponents (1e3..1e6 rows; quick: small sizes)")
    ap.add_argument("--only", default=None,
                    help="comma-separated estimator names for the growth part (default all)")
    ap.add_argument("--budget", type=float, default=None,
                    help="growth part: seconds per call above which the next size is not run "
                         "(default 60; quick 2)")
    ap.add_argument("--sizes", default=None,
                    help="growth part: comma-separated row counts (default 1e3,1e4,1e5,1e6)")
    ap.add_argument("--no-memory", action="store_true",
                    help="growth part: skip the peak-memory call at the largest size")
    a = ap.parse_args(argv)
    mode = "quick" if a.quick else "full"
    S = dict(SIZES[mode])
    if a.budget is not None:
        S["budget"] = a.budget
    if a.sizes is not None:
        S["growth"] = [int(float(x)) for x in a.sizes.split(",")]
    LOOP_ROWS[0] = S["loop"]
    rep = a.repeat if a.repeat is not None else (1 if a.quick else 3)
    a.repeat = rep
    if a.out is None and not a.quick:
        a.out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "RESULTS.md")
    a.load_start = os.getloadavg()          # the machine is shared: say how busy it was
    use_r = not a.no_r and shutil.which("Rscript") is not None
    if not a.no_r and not use_r:
        print("Rscript not found: the R rows are missing", file=sys.stderr)
    have_ll, have_sk = _have("lifelines"), _have("sksurv")
    b = Bench()
    if not use_r:
        b.notes.append("R not run" + (" (--no-r)" if a.no_r else " (Rscript not found)"))
    if not have_ll:
        b.notes.append("lifelines not installed: its rows are missing")
    if not have_sk:
        b.notes.append("scikit-survival not installed: its rows are missing")
    big, huge = S["big"], S["huge"]
    only = None if a.only is None else [x.strip() for x in a.only.split(",") if x.strip()]
    if only:
        unknown = sorted(set(only) - set(ESTIMATORS))
        if unknown:
            ap.error(f"--only: unknown estimator(s) {unknown}; known: {list(ESTIMATORS)}")
    if a.growth_only:
        grow = growth(S, rep, a.seed, b, only, not a.no_memory)
        a.load_end = os.getloadavg()
        text = render(b, grow, a, mode)
        print(text)
        if a.out and a.out != os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                           "RESULTS.md"):
            with open(a.out, "w") as fh:
                fh.write(text)
        return 0

    # ---- study size, n = 52
    small = make_data(52, a.seed)
    T = {"km": "n=52: KM + median + log-rank", "cox": "n=52: Cox Efron, 7 covariates (DataFrame)",
         "cif": "n=52: CIF + Gray test"}
    b.add(T["km"], "aplcohort kaplan_meier + logrank_test", per_call(lambda: ours_km(small), rep, 52))
    b.add(T["km"], "floor: argsort + cumsum", per_call(lambda: floor_km(small), rep, 52))
    b.add(T["cox"], "aplcohort coxph", per_call(lambda: ours_cox(small), rep, 52))
    b.add(T["cox"], "floor: argsort + cumsum of [1, x, xx']", per_call(lambda: floor_cox(small),
                                                                        rep, 52))
    b.add(T["cif"], "aplcohort cumulative_incidence + gray_test",
          per_call(lambda: ours_cif(small), rep, 52))
    b.add(T["cif"], "floor: argsort + cumsum", per_call(lambda: floor_km(small), rep, 52))
    if use_r:
        r = run_r(small, ["km", "cox", "cif"], rep)
        b.add(T["km"], "R survfit + quantile + survdiff", r["km"])
        b.add(T["cox"], "R coxph", r["cox"])
        b.add(T["cif"], "R cmprsk::cuminc", r["cif"])
        b.agree.append(("n=52 log-rank chisq vs R", rel(ours_km(small)[1], r["km_chisq"])))
        b.agree.append(("n=52 Cox coef vs R", rel(ours_cox(small), r["cox_coef"])))
        b.agree.append(("n=52 Gray statistic vs R", rel(ours_cif(small)[1], r["cif_gray"])))
    for key in ("km", "cox", "cif"):
        ratio_target(b, T[key], "R ", "at least as fast as R (R / aplcohort >= 1)", 1.0)

    # ---- large cohorts
    df = make_data(big, a.seed)
    tk_, tc_, ti_ = (f"n={big:.0e}: KM + median + log-rank", f"n={big:.0e}: Cox Efron, 7 covariates",
                     f"n={big:.0e}: CIF + Gray test")
    tk, (med, chisq) = best(lambda: ours_km(df), rep)
    b.add(tk_, "aplcohort kaplan_meier + logrank_test", tk)
    b.add(tk_, "floor: argsort + cumsum", best(lambda: floor_km(df), rep)[0])
    if have_ll:
        tl, (lmed, lchi) = best(lambda: lifelines_km(df), rep)
        b.add(tk_, "lifelines KaplanMeierFitter x3 + multivariate_logrank_test", tl)
        b.agree.append(("KM medians vs lifelines", rel(med, lmed)))
        b.agree.append(("log-rank chisq vs lifelines", rel(chisq, lchi)))
    if have_sk:
        ts, schi = best(lambda: sksurv_km(df), rep)
        b.add(tk_, "scikit-survival kaplan_meier_estimator x3 + compare_survival (no medians)",
              ts)
        b.agree.append(("log-rank chisq vs scikit-survival", rel(chisq, schi)))

    tc, coef = best(lambda: ours_cox(df), rep)
    mem = peak_mb(lambda: ours_cox(df))
    b.add(tc_, "aplcohort coxph", tc, f"peak traced memory {mem:.0f} MB")
    b.add(tc_, "floor: argsort + cumsum of [1, x, xx']", best(lambda: floor_cox(df), rep)[0])
    if have_ll:
        tlc, lcoef = best(lambda: lifelines_cox(df), rep)
        b.add(tc_, "lifelines CoxPHFitter", tlc)
        b.agree.append(("Cox coef vs lifelines", rel(coef, lcoef)))
    if have_sk:
        mid = make_data(S["sk"], a.seed)
        tm_ = f"n={S['sk']:.0e}: Cox Efron, 7 covariates"
        tcm, coefm = best(lambda: ours_cox(mid), rep)
        b.add(tm_, "aplcohort coxph", tcm)
        b.add(tm_, "floor: argsort + cumsum of [1, x, xx']", best(lambda: floor_cox(mid), rep)[0])
        tsk, skcoef = best(lambda: sksurv_cox(mid), 1)
        b.add(tm_, "scikit-survival CoxPHSurvivalAnalysis", tsk)
        b.agree.append((f"Cox coef vs scikit-survival ({S['sk']:.0e})", rel(coefm, skcoef)))
        ratio_target(b, tm_, "scikit-survival", "faster than scikit-survival", 1.0)
    tci, (_cif, gstat) = best(lambda: ours_cif(df), rep)
    b.add(ti_, "aplcohort cumulative_incidence + gray_test", tci)
    b.add(ti_, "floor: argsort + cumsum", best(lambda: floor_km(df), rep)[0])
    if use_r:
        r = run_r(df, ["km", "cox", "cif"], rep)
        b.add(tk_, "R survfit + quantile + survdiff", r["km"])
        b.add(tc_, "R coxph", r["cox"])
        b.add(ti_, "R cmprsk::cuminc", r["cif"])
        b.agree.append(("log-rank chisq vs R", rel(chisq, r["km_chisq"])))
        b.agree.append(("KM medians vs R", rel(med, r["km_median"])))
        b.agree.append(("Cox coef vs R", rel(coef, r["cox_coef"])))
        b.agree.append(("Gray statistic vs R", rel(gstat, r["cif_gray"])))
    ratio_target(b, tc_, "lifelines", "coxph >= 3x faster than lifelines", 3.0)
    ratio_target(b, tc_, "R ", "coxph >= 8x faster than R", 8.0)
    b.target(tc_, "coxph peak memory <= 500 MB", mem, "<=", 500.0, f"{mem:.0f} MB",
             f"input arrays {df[COVS + ['time', 'event']].to_numpy().nbytes / 2 ** 20:.0f} MB")
    ratio_target(b, tk_, "lifelines", "KM + log-rank faster than lifelines", 1.0)
    ratio_target(b, ti_, "R ", "CIF + Gray keeps its lead over R (R / aplcohort > 1)", 1.0)
    del df

    # ---- Fine-Gray vs R crr
    fgd = make_data(S["fg"], a.seed)
    tf_ = f"n={S['fg']:.0e}: Fine-Gray, 7 covariates"
    tfg, fcoef = best(lambda: ours_fg(fgd), rep)
    b.add(tf_, "aplcohort fine_gray", tfg)
    b.add(tf_, "floor: argsort + cumsum of [1, x, xx']", best(lambda: floor_cox(fgd), rep)[0])
    if use_r:
        r = run_r(fgd, ["crr"], 1)
        b.add(tf_, "R cmprsk::crr", r["crr"], "R: one run")
        b.agree.append(("Fine-Gray coef vs R crr", rel(fcoef, r["crr_coef"])))
    ratio_target(b, tf_, "R ", "Fine-Gray keeps its lead over R crr", 1.0)

    # ---- 10 million rows: KM + log-rank, public vs internal path vs lifelines
    dh = make_data(huge, a.seed + 1)
    th_ = f"n={huge:.0e}: KM + median + log-rank"
    r2 = max(1, rep - 1)
    b.add(th_, "aplcohort kaplan_meier + logrank_test", best(lambda: ours_km(dh), r2)[0])
    b.add(th_, "floor: argsort + cumsum", best(lambda: floor_km(dh), r2)[0])
    try:
        from aplcohort.batch.large import cohort_km_logrank
    except ImportError:
        cohort_km_logrank = None
        b.notes.append("aplcohort.batch.large.cohort_km_logrank not found: no internal path")
    if cohort_km_logrank is not None:
        b.add(th_, "aplcohort.batch.large.cohort_km_logrank (internal path)", best(
            lambda: cohort_km_logrank(dh["time"].to_numpy(), dh["event"].to_numpy(),
                                      dh["group"].to_numpy()), r2)[0])
    if have_ll:
        b.add(th_, "lifelines KaplanMeierFitter x3 + multivariate_logrank_test",
              best(lambda: lifelines_km(dh), 1)[0])
    o, i = b.ours[th_], b.seconds(th_, "aplcohort.batch")
    b.target(th_, "public KM + log-rank <= 2x the internal path", None if i is None else o / i,
             "<=", 2.0, "internal path not run" if i is None else
             f"{o / i:.2f}x ({o:.3g} s vs {i:.3g} s)", _floor_text(b, th_))
    ratio_target(b, th_, "lifelines", "KM + log-rank faster than lifelines", 1.0)
    del dh

    # ---- growth exponents of every public estimator
    grow = growth(S, rep, a.seed, b, only, not a.no_memory)

    a.load_end = os.getloadavg()
    text = render(b, grow, a, mode)
    print(text)
    if a.out:
        with open(a.out, "w") as fh:
            fh.write(text)
    return 0


def growth(S, rep, seed, b, only=None, memory=True):
    """Seconds per call of each estimator at each size; exponents; targets.

    ``only``: names of the estimators to run (default all). ``memory``: also the peak
    traced memory (tracemalloc) of one call at the largest size run.
    """
    sizes = S["growth"]
    data = {n: make_data(n, seed) for n in sizes}
    floors = [per_call(lambda d=data[n]: floor_km(d), rep, n) for n in sizes]
    out = []
    for name, fn in ESTIMATORS.items():
        if only and name not in only:
            continue
        ts = []
        for n in sizes:
            if name in CAPPED and n > CAPPED[name][0] and ts:
                break
            if isinstance(fn, Staged):
                sec = fn.per_call(data[n], rep, n)
            else:
                sec = per_call(lambda d=data[n], f=fn: f(d), rep, n)
            ts.append(sec)
            if sec > S["budget"]:  # the next size would take ~10x longer: stop here
                break
            if len(ts) >= 2 and n != sizes[-1]:
                # nor when the growth so far projects the next size beyond 10x the budget
                k = len(ts) - 1
                slope = np.log(ts[k] / ts[k - 1]) / np.log(sizes[k] / sizes[k - 1])
                if sec * (sizes[k + 1] / n) ** max(slope, 1.0) > 10 * S["budget"]:
                    break
        dl = data[sizes[len(ts) - 1]]
        mem = np.nan
        if memory and ts[-1] <= S["budget"]:
            mem = fn.peak_mb(dl) if isinstance(fn, Staged) else peak_mb(lambda: fn(dl))
        _CACHE.clear()
        m = len(ts)
        row = {"estimator": name}
        row.update({f"n={n:.0e} (s)": (f"{t:.3g}" if k < m else "not run")
                    for k, (n, t) in enumerate(zip(sizes, ts + [np.nan] * (len(sizes) - m)))})
        if m >= 2:
            x = np.log10(sizes[:m])
            fit = float(np.polyfit(x, np.log10(ts), 1)[0])
            last = float((np.log10(ts[-1]) - np.log10(ts[-2])) / (x[-1] - x[-2]))
            fl = float(np.polyfit(x, np.log10(floors[:m]), 1)[0])
            row.update({"exponent (fit)": f"{fit:.2f}", "exponent (last decade)": f"{last:.2f}",
                        "floor exponent": f"{fl:.2f}"})
            worst = max(fit, last)
            shown = f"fit {fit:.2f}, last decade {last:.2f} ({sizes[0]:.0e}..{sizes[m - 1]:.0e})"
        else:
            worst, shown = None, f"one size only ({ts[0]:.3g} s at {sizes[0]:.0e})"
            row.update({"exponent (fit)": "", "exponent (last decade)": "", "floor exponent": ""})
        row["peak MB (largest n run)"] = "" if not np.isfinite(mem) else f"{mem:.0f}"
        b.target(f"growth: {name}", f"{name}: growth exponent <= 1.1", worst, "<=", 1.1, shown,
                 f"floor exponent {row['floor exponent']}" if row["floor exponent"] else "")
        out.append(row)
        print(" | ".join(str(v) for v in row.values()), file=sys.stderr, flush=True)
    return pd.DataFrame(out)


def md_table(df):
    """A DataFrame as a GitHub markdown table (no tabulate dependency)."""
    cols = [str(c) for c in df.columns]
    out = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for row in df.itertuples(index=False):
        out.append("| " + " | ".join(str(v) for v in row) + " |")
    return "\n".join(out)


def render(b, grow, a, mode):
    import numpy as _np
    lines = ["# Benchmarks of the public API (generated by benchmarks/bench_public.py)", ""]
    if mode == "quick":
        lines += ["**--quick smoke run: small sizes; the targets are defined at the full sizes, "
                  "so 'met?' here says nothing about them.**", ""]
    lines += [f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, Python "
              f"{platform.python_version()}, numpy {_np.__version__}, pandas {pd.__version__}; "
              f"best of {a.repeat} runs per tool, all tools in one run on the same data "
              f"(seed {a.seed}).", "",
              "Load average (1, 5, 15 min) at the start: "
              f"{', '.join(f'{x:.2f}' for x in a.load_start)}; at the end: "
              f"{', '.join(f'{x:.2f}' for x in a.load_end)} (other jobs share the CPUs; ratios "
              "from one run are comparable, absolute seconds less so).", "",
              "Ratios are tool time / aplcohort time (> 1: aplcohort is faster). The floor of "
              "a task is one argsort of its times plus the cumulative sums any implementation "
              "needs, on the same data.", "",
              "## Targets (issue 13), checked from the measured ratios", ""]
    lines.append(md_table(pd.DataFrame(b.targets, columns=["task", "target", "measured", "floor",
                                                            "met?"])))
    lines += ["", "## All timings", ""]
    if not b.rows:
        lines.append("(--growth-only: not run)")
    else:
        r = pd.DataFrame(b.rows)
        r["ratio (tool / aplcohort)"] = [s / b.ours[t] if t in b.ours else _np.nan
                                         for t, s in zip(r["task"], r["seconds"])]
        r["floor (s)"] = [f"{b.floor[t]:.4g}" if t in b.floor else "" for t in r["task"]]
        r["seconds"] = r["seconds"].map(lambda v: f"{v:.4g}")
        r["ratio (tool / aplcohort)"] = r["ratio (tool / aplcohort)"].map(lambda v: f"{v:.2f}")
        lines.append(md_table(r[["task", "tool", "seconds", "ratio (tool / aplcohort)",
                                 "floor (s)", "note"]]))
    lines += ["", "## Growth of the time with n (slope of log time on log n)", "",
              "An estimator whose call exceeds the size budget "
              f"({a.budget if a.budget is not None else SIZES[mode]['budget']:g} s), or whose "
              "growth so far projects the next size beyond 10x the budget, is not run at the "
              "next size; its peak memory is then not measured either.", ""]
    lines.append(md_table(grow))
    lines += ["", "Estimators timed only up to a size, and why:", ""]
    lines += [f"* {k}: up to {v[0]:.0e} rows; {v[1]}" for k, v in CAPPED.items()]
    lines += ["", "Public functions not in the growth table, and why:", ""]
    lines += [f"* {k}: {v}" for k, v in EXCLUDED.items()]
    lines += ["", "## Agreement checked before timing (max relative difference)", ""]
    lines += [f"* {k}: {v:.1e}" for k, v in b.agree]
    lines += [""] + [f"* {n}" for n in b.notes]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
