"""Benchmark: 10,000 replicate cohorts of 52 patients in 3 arms (not a test).

Run:  .venv/bin/python benchmarks/bench_batch.py [--reps 10000] [--full]
      [--lifelines-reps 300] [--r-reps 2000] [--no-r]

Times, in one process on the same simulated replicates:

* ours: :func:`aplcohort.batch.batch_logrank`, :func:`aplcohort.batch.batch_cox`
  (arm indicators, Efron) and :func:`aplcohort.batch.batch_km` over all replicates;
* ours, one replicate at a time: :func:`aplcohort.stats.logrank.logrank_test`
  (what a loop over the single-cohort function costs);
* lifelines: ``multivariate_logrank_test`` and ``CoxPHFitter`` in a loop;
* R (when ``Rscript`` is installed): ``survdiff`` and ``coxph`` in a loop over
  the replicates (timed inside R with ``system.time``, so R start-up and CSV
  reading are excluded).

Loops over single replicates run on the first ``--lifelines-reps`` /
``--r-reps`` replicates and are extrapolated linearly to all replicates
(say so in the output); ``--full`` runs every tool on every replicate.
The script also checks that the statistics agree (max relative difference).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np
import pandas as pd

from aplcohort.batch import batch_cox, batch_km, batch_logrank
from aplcohort.stats.logrank import logrank_test
from aplcohort.synthetic.engine import simulate

SCENARIO = {
    "name": "three_arm_52", "time_unit": "months", "n": 52,
    "arms": {"A": {"ratio": 1}, "B": {"ratio": 1}, "C": {"ratio": 1}},
    "accrual": {"duration": 36},
    "events": {"death": {"model": "exponential", "median": 12,
                         "arms": {"B": {"median": 18}, "C": {"median": 24}}}},
    "censoring": {"loss_rate": 0.01, "followup": 60},
}


def best_of(fn, repeat):
    times = []
    out = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), float(np.median(times)), out


def make_data(reps, seed):
    sim = simulate(SCENARIO, n=52, reps=reps, seed=seed)
    # whole days, as clinical data: many tied times
    t = np.ceil(sim.time * 30.4375)
    e = (sim.event > 0).astype(float)
    return t, e, sim.arm


R_SCRIPT = r"""
suppressPackageStartupMessages({library(survival); library(jsonlite)})
args <- commandArgs(TRUE)
d <- read.csv(args[1])
reps <- split(d, d$rep)
tl <- system.time(chisq <- vapply(reps, function(x)
  survdiff(Surv(time, event) ~ arm, data = x)$chisq, numeric(1)))[["elapsed"]]
tc <- system.time(coefs <- t(vapply(reps, function(x)
  coef(coxph(Surv(time, event) ~ factor(arm), data = x, ties = "efron")), numeric(2))))[["elapsed"]]
writeLines(toJSON(list(logrank_s = tl, cox_s = tc, chisq = unname(chisq),
                       coef = unname(coefs), version = R.version.string,
                       survival = as.character(packageVersion("survival"))),
                  digits = NA, auto_unbox = TRUE), args[2])
"""


def run_r(t, e, g, n_reps):
    if shutil.which("Rscript") is None:
        return None
    with tempfile.TemporaryDirectory() as d:
        rows = pd.DataFrame({"rep": np.repeat(np.arange(n_reps), t.shape[1]),
                             "time": t[:n_reps].ravel(), "event": e[:n_reps].ravel().astype(int),
                             "arm": g[:n_reps].ravel()})
        csv = os.path.join(d, "data.csv")
        rows.to_csv(csv, index=False)
        script = os.path.join(d, "bench.R")
        with open(script, "w") as fh:
            fh.write(R_SCRIPT)
        out = os.path.join(d, "out.json")
        subprocess.run(["Rscript", script, csv, out], check=True)
        with open(out) as fh:
            return json.load(fh)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=20261121)
    ap.add_argument("--lifelines-reps", type=int, default=300)
    ap.add_argument("--single-reps", type=int, default=1000)
    ap.add_argument("--r-reps", type=int, default=2000)
    ap.add_argument("--full", action="store_true", help="every tool on every replicate")
    ap.add_argument("--no-r", action="store_true")
    ap.add_argument("--repeat", type=int, default=5, help="timing repeats for ours (best of)")
    a = ap.parse_args(argv)
    R = a.reps
    nl = R if a.full else min(a.lifelines_reps, R)
    ns = R if a.full else min(a.single_reps, R)
    nr = R if a.full else min(a.r_reps, R)

    t, e, g = make_data(R, a.seed)
    X = np.stack([g == 1, g == 2], axis=-1).astype(float)
    print(f"data: {R} replicate cohorts x 52 patients, 3 arms, times in whole days "
          f"(mean {e.sum(1).mean():.1f} events, {np.mean([np.unique(x).size for x in t[:200]]):.1f}"
          f" distinct times per replicate)")
    rows = []

    lr_best, lr_med, lr = best_of(lambda: batch_logrank(t, e, g, k=3), a.repeat)
    rows.append(("ours batch_logrank", "log-rank", R, lr_best, lr_med, R))
    cx_best, cx_med, cx = best_of(lambda: batch_cox(X, t, e), max(1, a.repeat // 2))
    rows.append(("ours batch_cox (Efron)", "Cox", R, cx_best, cx_med, R))
    km_best, km_med, _ = best_of(lambda: batch_km(t, e, g, k=3, times=[365], tau=730), a.repeat)
    rows.append(("ours batch_km (median, S(365), RMST)", "KM", R, km_best, km_med, R))

    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        single = [logrank_test(t[i], e[i], g[i]).statistic for i in range(ns)]
    rows.append(("ours logrank_test loop", "log-rank", ns, time.perf_counter() - t0, np.nan, R))

    agree = {}
    agree["ours single vs batch (chisq)"] = float(np.nanmax(
        np.abs(np.array(single) - lr.statistic[:ns]) / np.abs(lr.statistic[:ns])))

    try:
        from lifelines import CoxPHFitter
        from lifelines.statistics import multivariate_logrank_test
        t0 = time.perf_counter()
        ll_stat = [multivariate_logrank_test(t[i], g[i], e[i]).test_statistic for i in range(nl)]
        rows.append(("lifelines multivariate_logrank_test loop", "log-rank", nl,
                     time.perf_counter() - t0, np.nan, R))
        frames = [pd.DataFrame({"time": t[i], "event": e[i], "b": X[i, :, 0], "c": X[i, :, 1]})
                  for i in range(nl)]
        t0 = time.perf_counter()
        ll_coef = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for df in frames:
                f = CoxPHFitter().fit(df, "time", "event")
                ll_coef.append(f.params_.to_numpy())
        rows.append(("lifelines CoxPHFitter loop", "Cox", nl, time.perf_counter() - t0, np.nan, R))
        agree["lifelines vs ours (chisq)"] = float(np.max(
            np.abs(np.array(ll_stat) - lr.statistic[:nl]) / np.abs(lr.statistic[:nl])))
        ok = cx.valid[:nl]
        agree["lifelines vs ours (Cox coef, valid reps)"] = float(np.max(
            np.abs(np.array(ll_coef)[ok] - cx.coef[:nl][ok]) / np.abs(cx.coef[:nl][ok])))
    except ImportError:
        print("lifelines not installed: skipped")

    rj = None if a.no_r else run_r(t, e, g, nr)
    if rj is not None:
        rows.append((f"R survdiff loop ({rj['version'].split(' (')[0]}, survival "
                     f"{rj['survival']})", "log-rank", nr, rj["logrank_s"], np.nan, R))
        rows.append(("R coxph loop (Efron)", "Cox", nr, rj["cox_s"], np.nan, R))
        agree["R vs ours (chisq)"] = float(np.max(np.abs(np.array(rj["chisq"])
                                                         - lr.statistic[:nr])
                                                  / np.abs(lr.statistic[:nr])))
        rc = np.array(rj["coef"], dtype=float).reshape(nr, 2)
        ok = cx.valid[:nr] & np.isfinite(rc).all(axis=1)
        agree["R vs ours (Cox coef, valid reps)"] = float(np.max(
            np.abs(rc[ok] - cx.coef[:nr][ok]) / np.abs(cx.coef[:nr][ok])))

    ours = {"log-rank": lr_best, "Cox": cx_best, "KM": km_best}
    out = []
    for name, task, ran, best, med, total in rows:
        full = best * total / ran
        out.append({"tool": name, "task": task, "replicates run": ran,
                    "seconds (run)": round(best, 4),
                    "ms per replicate": round(1000 * best / ran, 4),
                    f"seconds for {total} (extrapolated if fewer run)": round(full, 3),
                    "x slower than ours": round(full / ours[task], 1)})
    print(pd.DataFrame(out).to_string(index=False))
    print(f"ours: log-rank best {lr_best:.3f} s (median {lr_med:.3f}); Cox best {cx_best:.3f} s "
          f"(median {cx_med:.3f}); {cx.valid.sum()} of {R} Cox fits 'ok', flagged: "
          f"{dict(pd.Series(cx.status[~cx.valid]).value_counts())}; "
          f"{lr.n_undefined} undefined log-rank tests")
    print("agreement (max relative difference):")
    for k, v in agree.items():
        print(f"  {k}: {v:.2e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
