"""Benchmark: one cohort of 1,000,000 rows (not a test).

Run:  .venv/bin/python benchmarks/bench_large.py [--n 1000000] [--no-r] [--no-lifelines]
      [--single-cox]

Times, in one process on the same simulated data (3 groups, times in whole
days -> heavy ties, 7 covariates):

* KM by 3 groups (medians) plus the 3-group log-rank:
  :func:`aplcohort.batch.large.cohort_km_logrank` (count-table path) and the
  single-cohort :func:`~aplcohort.stats.km.kaplan_meier` +
  :func:`~aplcohort.stats.logrank.logrank_test`;
* Cox, Efron ties, 7 covariates: :func:`aplcohort.batch.batch_cox` (its
  aggregated large-cohort path) and, with ``--single-cox``, the single-cohort
  :func:`aplcohort.stats.cox.cox_fit`;
* lifelines: ``KaplanMeierFitter`` per group + ``multivariate_logrank_test``,
  ``CoxPHFitter``;
* R (when ``Rscript`` is installed): ``survfit`` + ``survdiff``, ``coxph``
  (timed inside R, CSV reading excluded).

Every timing is the best of ``--repeat`` runs (default 3), for every tool.

Peak memory of our steps is measured with ``tracemalloc`` (numpy reports its
allocations to it) in a separate, untimed run of each step; the process peak
RSS is also printed.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
import warnings

import numpy as np
import pandas as pd

from aplcohort.batch import batch_cox
from aplcohort.batch.large import cohort_km_logrank
from aplcohort.stats.cox import cox_fit
from aplcohort.stats.km import kaplan_meier
from aplcohort.stats.logrank import logrank_test

BETA = np.array([0.3, -0.2, 0.1, 0.0, 0.05, 0.2, -0.1])


def make_data(n, seed):
    rng = np.random.default_rng(seed)
    group = rng.integers(0, 3, n)
    X = np.column_stack([group == 1, group == 2, rng.normal(size=(n, 3)),
                         rng.integers(0, 2, n), rng.normal(size=n)]).astype(float)
    lp = X @ BETA
    t = np.ceil(rng.exponential(365 * np.exp(-lp)))
    c = np.ceil(rng.uniform(30, 1500, n))
    time_ = np.minimum(t, c)
    event = (t <= c).astype(float)
    return time_, event, group, X


REPEAT = 3


def timed(fn):
    """Best of REPEAT wall-clock runs (the first run also pays page faults / imports)."""
    best, out = np.inf, None
    for _ in range(REPEAT):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def peak_mb(fn):
    tracemalloc.start()
    tracemalloc.reset_peak()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


R_SCRIPT = r"""
suppressPackageStartupMessages({library(survival); library(jsonlite)})
args <- commandArgs(TRUE)
d <- read.csv(args[1])
rep <- as.integer(args[3])
tk <- Inf; tc <- Inf
for (i in seq_len(rep)) {
  tk <- min(tk, system.time({fit <- survfit(Surv(time, event) ~ group, data = d)
                             med <- as.vector(quantile(fit, 0.5)$quantile)
                             sd <- survdiff(Surv(time, event) ~ group, data = d)})[["elapsed"]])
  tc <- min(tc, system.time(cf <- coxph(Surv(time, event) ~ x1 + x2 + x3 + x4 + x5 + x6 + x7,
                                        data = d, ties = "efron"))[["elapsed"]])
}
writeLines(toJSON(list(km_logrank_s = tk, cox_s = tc, chisq = sd$chisq,
                       median = unname(med), coef = unname(coef(cf)),
                       version = R.version.string,
                       survival = as.character(packageVersion("survival"))),
                  digits = NA, auto_unbox = TRUE), args[2])
"""


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=20261121)
    ap.add_argument("--no-r", action="store_true")
    ap.add_argument("--no-lifelines", action="store_true")
    ap.add_argument("--repeat", type=int, default=3, help="timing repeats (best of)")
    ap.add_argument("--single-cox", action="store_true",
                    help="also time aplcohort.stats.cox.cox_fit (slower, more memory)")
    a = ap.parse_args(argv)
    global REPEAT
    REPEAT = max(1, a.repeat)
    time_, event, group, X = make_data(a.n, a.seed)
    print(f"data: {a.n} rows, 3 groups, {int(event.sum())} events, {np.unique(time_).size} "
          f"distinct times (whole days), 7 covariates")
    rows = []

    def km_lr():
        fit = kaplan_meier(time_, event, group)
        med = fit.median()["median"].to_numpy()
        lr = logrank_test(time_, event, group)
        return med, lr

    def fast():
        return cohort_km_logrank(time_, event, group)

    tk, (kmf, lrf) = timed(fast)
    rows.append(("ours cohort_km_logrank (KM medians by group + log-rank)", "KM + log-rank", tk,
                 peak_mb(fast)))
    ts_, (med, lr) = timed(km_lr)
    rows.append(("ours kaplan_meier + median + logrank_test (single-cohort functions)",
                 "KM + log-rank", ts_, peak_mb(km_lr)))
    agree = {"cohort_km_logrank vs single-cohort (chisq)":
             abs(lrf.statistic[0] - lr.statistic) / lr.statistic,
             "cohort_km_logrank vs single-cohort (medians)":
             float(np.max(np.abs(kmf.median[0] - med) / med))}
    tc, cx = timed(lambda: batch_cox(X, time_, event))
    rows.append(("ours batch_cox (aggregated, Efron)", "Cox", tc,
                 peak_mb(lambda: batch_cox(X, time_, event))))
    coef = cx.coef[0]
    if a.single_cox:
        ts, sf = timed(lambda: cox_fit(X, time_, event))
        rows.append(("ours cox_fit (single-cohort function)", "Cox", ts, np.nan))
        agree["cox_fit vs batch_cox (coef)"] = float(np.max(np.abs(sf.coef - coef)
                                                            / np.abs(coef)))

    if not a.no_lifelines:
        from lifelines import CoxPHFitter, KaplanMeierFitter
        from lifelines.statistics import multivariate_logrank_test

        def ll_km_lr():
            meds = []
            for gg in range(3):
                m = group == gg
                meds.append(KaplanMeierFitter().fit(time_[m], event[m]).median_survival_time_)
            return meds, multivariate_logrank_test(time_, group, event)

        tl, (lmed, llr) = timed(ll_km_lr)
        rows.append(("lifelines KaplanMeierFitter x3 + multivariate_logrank_test",
                     "KM + log-rank", tl, np.nan))
        df = pd.DataFrame(X, columns=[f"x{j + 1}" for j in range(7)])
        df["time"], df["event"] = time_, event
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tlc, lcf = timed(lambda: CoxPHFitter().fit(df, "time", "event"))
        rows.append(("lifelines CoxPHFitter (Efron)", "Cox", tlc, np.nan))
        agree["lifelines vs ours (log-rank chisq)"] = abs(llr.test_statistic - lr.statistic) \
            / lr.statistic
        agree["lifelines vs ours (medians)"] = float(np.max(np.abs(np.array(lmed) - med)
                                                            / med))
        agree["lifelines vs ours (Cox coef)"] = float(np.max(np.abs(lcf.params_.to_numpy()
                                                                    - coef) / np.abs(coef)))

    if not a.no_r and shutil.which("Rscript"):
        with tempfile.TemporaryDirectory() as d:
            df = pd.DataFrame(X, columns=[f"x{j + 1}" for j in range(7)])
            df["time"], df["event"], df["group"] = time_, event.astype(int), group
            csv = os.path.join(d, "d.csv")
            df.to_csv(csv, index=False)
            script = os.path.join(d, "b.R")
            with open(script, "w") as fh:
                fh.write(R_SCRIPT)
            out = os.path.join(d, "o.json")
            subprocess.run(["Rscript", script, csv, out, str(REPEAT)], check=True)
            with open(out) as fh:
                rj = json.load(fh)
        rows.append((f"R survfit + quantile + survdiff ({rj['version'].split(' (')[0]}, "
                     f"survival {rj['survival']})", "KM + log-rank", rj["km_logrank_s"], np.nan))
        rows.append(("R coxph (Efron)", "Cox", rj["cox_s"], np.nan))
        agree["R vs ours (log-rank chisq)"] = abs(rj["chisq"] - lr.statistic) / lr.statistic
        agree["R vs ours (medians)"] = float(np.max(np.abs(np.array(rj["median"]) - med) / med))
        agree["R vs ours (Cox coef)"] = float(np.max(np.abs(np.array(rj["coef"]) - coef)
                                                     / np.abs(coef)))

    ours = {"KM + log-rank": tk, "Cox": tc}
    out = pd.DataFrame([{"tool": r[0], "task": r[1], "seconds": round(r[2], 3),
                         "x slower than ours": round(r[2] / ours[r[1]], 2),
                         "peak traced MB (ours)": (round(r[3]) if np.isfinite(r[3]) else "")}
                        for r in rows])
    print(out.to_string(index=False))
    print(f"process peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    print("agreement (max relative difference):")
    for k, v in agree.items():
        print(f"  {k}: {v:.2e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
