"""Benchmark of the PUBLIC functions a user calls, against lifelines, scikit-survival and R.

Run (writes benchmarks/RESULTS.md):
    .venv/bin/python benchmarks/bench_public.py [--quick] [--no-r] [--out benchmarks/RESULTS.md]

Everything is measured in ONE run on the SAME simulated data (whole-day times, so
heavy ties; 3 groups; 7 covariates), after checking that the tools agree:

* KM by 3 groups + medians + 3-group log-rank: ``kaplan_meier(...).median()`` +
  ``logrank_test``; lifelines ``KaplanMeierFitter`` x3 + ``multivariate_logrank_test``;
  R ``survfit`` + ``quantile`` + ``survdiff``. Floor: one ``argsort`` of the times
  plus cumulative sums of the events per group (what any KM must at least do).
* Cox, Efron ties, 7 covariates, DataFrame in: ``coxph``; lifelines
  ``CoxPHFitter``; scikit-survival ``CoxPHSurvivalAnalysis(ties="efron")`` (up to
  1e5 rows: it holds dense per-row arrays); R ``coxph``. Floor: one sort plus the
  cumulative sums of ``[1, x, x x']`` that one likelihood evaluation needs.
* CIF + Gray test (n = 52 and 1e6): ``cumulative_incidence`` + ``gray_test`` vs
  R ``cmprsk::cuminc``.
* study size (n = 52, 3 arms): the three notebook calls vs R, best of many repeats.
* growth exponent of each public estimator from 1e3 to 1e6 rows (slope of
  log time on log n).
* peak memory of ``coxph`` at 1e6 x 7 (``tracemalloc``, numpy allocations included).

Timings are the best of ``--repeat`` runs for every tool (R: ``system.time`` inside
R, CSV reading excluded). Ratios > 1 mean the other tool is slower than aplcohort.
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
from aplcohort.stats.km import kaplan_meier
from aplcohort.stats.logrank import logrank_test

BETA = np.array([0.3, -0.2, 0.1, 0.0, 0.05, 0.2, -0.1])
COVS = [f"x{j + 1}" for j in range(7)]


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
    code = np.where(event > 0, 1 + (rng.random(n) < 0.35), 0)
    df = pd.DataFrame(X, columns=COVS)
    df["time"], df["event"], df["group"], df["code"] = time_, event, group, code
    return df


def best(fn, repeat):
    b, out = np.inf, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        b = min(b, time.perf_counter() - t0)
    return b, out


def peak_mb(fn):
    tracemalloc.start()
    tracemalloc.reset_peak()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2 ** 20


# ------------------------------------------------------------------ our calls
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


def floor_km(df):
    t = df["time"].to_numpy()
    e = df["event"].to_numpy()
    g = df["group"].to_numpy()
    o = np.argsort(t, kind="stable")
    return [np.cumsum(e[o] * (g[o] == k)) for k in range(3)]


def floor_cox(df):
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
tm <- function(expr) { e <- substitute(expr); b <- Inf
  for (i in seq_len(rep)) b <- min(b, system.time(eval(e, parent.frame()))[["elapsed"]]); b }
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


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="1e5 instead of 1e6 / 1e7 rows")
    ap.add_argument("--no-r", action="store_true")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--seed", type=int, default=20261130)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "RESULTS.md"))
    a = ap.parse_args(argv)
    a.load_start = os.getloadavg()          # the machine is shared: say how busy it was
    rep = a.repeat
    big = 100_000 if a.quick else 1_000_000
    huge = 1_000_000 if a.quick else 10_000_000
    rows, agree, notes = [], [], []

    def add(task, tool, sec, ours, extra=""):
        rows.append({"task": task, "tool": tool, "seconds": sec,
                     "ratio (tool / aplcohort)": sec / ours if ours else np.nan, "note": extra})

    # ---- study size, n = 52
    small = make_data(52, a.seed)
    many = 200
    t_km = best(lambda: [ours_km(small) for _ in range(many)], rep)[0] / many
    t_cx = best(lambda: [ours_cox(small) for _ in range(many)], rep)[0] / many
    t_ci = best(lambda: [ours_cif(small) for _ in range(many)], rep)[0] / many
    add("n=52: KM + median + log-rank", "aplcohort kaplan_meier + logrank_test", t_km, t_km)
    add("n=52: Cox Efron, 7 covariates (DataFrame)", "aplcohort coxph", t_cx, t_cx)
    add("n=52: CIF + Gray test", "aplcohort cumulative_incidence + gray_test", t_ci, t_ci)
    if not a.no_r:
        r = run_r(small, ["km", "cox", "cif"], rep)
        if r:
            add("n=52: KM + median + log-rank", "R survfit + quantile + survdiff", r["km"], t_km)
            add("n=52: Cox Efron, 7 covariates (DataFrame)", "R coxph", r["cox"], t_cx)
            add("n=52: CIF + Gray test", "R cmprsk::cuminc", r["cif"], t_ci)
            agree.append(("n=52 log-rank chisq vs R", rel(ours_km(small)[1], r["km_chisq"])))
            agree.append(("n=52 Cox coef vs R", rel(ours_cox(small), r["cox_coef"])))
            agree.append(("n=52 Gray statistic vs R", rel(ours_cif(small)[1], r["cif_gray"])))

    # ---- large cohorts
    df = make_data(big, a.seed)
    tk, (med, chisq) = best(lambda: ours_km(df), rep)
    tf = best(lambda: floor_km(df), rep)[0]
    add(f"n={big:.0e}: KM + median + log-rank", "aplcohort kaplan_meier + logrank_test", tk, tk)
    add(f"n={big:.0e}: KM + median + log-rank", "floor: argsort + cumsum", tf, tk)
    tl, (lmed, lchi) = best(lambda: lifelines_km(df), rep)
    add(f"n={big:.0e}: KM + median + log-rank", "lifelines KaplanMeierFitter x3 + "
        "multivariate_logrank_test", tl, tk)
    agree.append(("KM medians vs lifelines", rel(med, lmed)))
    agree.append(("log-rank chisq vs lifelines", rel(chisq, lchi)))
    try:
        ts, schi = best(lambda: sksurv_km(df), rep)
        add(f"n={big:.0e}: KM + median + log-rank", "scikit-survival kaplan_meier_estimator x3 "
            "+ compare_survival (no medians)", ts, tk)
        agree.append(("log-rank chisq vs scikit-survival", rel(chisq, schi)))
    except ImportError:
        notes.append("scikit-survival not installed: its rows are missing")

    tc, coef = best(lambda: ours_cox(df), rep)
    mem = peak_mb(lambda: ours_cox(df))
    tcf = best(lambda: floor_cox(df), rep)[0]
    add(f"n={big:.0e}: Cox Efron, 7 covariates", "aplcohort coxph", tc, tc,
        f"peak traced memory {mem:.0f} MB")
    add(f"n={big:.0e}: Cox Efron, 7 covariates", "floor: argsort + cumsum of [1, x, xx']", tcf,
        tc)
    tlc, lcoef = best(lambda: lifelines_cox(df), rep)
    add(f"n={big:.0e}: Cox Efron, 7 covariates", "lifelines CoxPHFitter", tlc, tc)
    agree.append(("Cox coef vs lifelines", rel(coef, lcoef)))
    mid = make_data(100_000, a.seed)
    tcm, coefm = best(lambda: ours_cox(mid), rep)
    try:
        tsk, skcoef = best(lambda: sksurv_cox(mid), 1)
        add("n=1e+05: Cox Efron, 7 covariates", "aplcohort coxph", tcm, tcm)
        add("n=1e+05: Cox Efron, 7 covariates", "scikit-survival CoxPHSurvivalAnalysis", tsk, tcm)
        agree.append(("Cox coef vs scikit-survival (1e5)", rel(coefm, skcoef)))
    except ImportError:
        pass
    tci, (cif, gstat) = best(lambda: ours_cif(df), rep)
    add(f"n={big:.0e}: CIF + Gray test", "aplcohort cumulative_incidence + gray_test", tci, tci)
    if not a.no_r:
        r = run_r(df, ["km", "cox", "cif"], rep)
        if r:
            add(f"n={big:.0e}: KM + median + log-rank", "R survfit + quantile + survdiff",
                r["km"], tk)
            add(f"n={big:.0e}: Cox Efron, 7 covariates", "R coxph", r["cox"], tc)
            add(f"n={big:.0e}: CIF + Gray test", "R cmprsk::cuminc", r["cif"], tci)
            agree.append(("log-rank chisq vs R", rel(chisq, r["km_chisq"])))
            agree.append(("KM medians vs R", rel(med, r["km_median"])))
            agree.append(("Cox coef vs R", rel(coef, r["cox_coef"])))
            agree.append(("Gray statistic vs R", rel(gstat, r["cif_gray"])))

    # ---- 10 million rows: KM + log-rank
    dh = make_data(huge, a.seed + 1)
    th = best(lambda: ours_km(dh), max(1, rep - 1))[0]
    add(f"n={huge:.0e}: KM + median + log-rank", "aplcohort kaplan_meier + logrank_test", th, th)
    add(f"n={huge:.0e}: KM + median + log-rank", "floor: argsort + cumsum",
        best(lambda: floor_km(dh), max(1, rep - 1))[0], th)
    from aplcohort.batch.large import cohort_km_logrank
    add(f"n={huge:.0e}: KM + median + log-rank", "aplcohort.batch.large.cohort_km_logrank "
        "(internal path)", best(lambda: cohort_km_logrank(
            dh["time"].to_numpy(), dh["event"].to_numpy(), dh["group"].to_numpy()),
            max(1, rep - 1))[0], th)
    add(f"n={huge:.0e}: KM + median + log-rank", "lifelines KaplanMeierFitter x3 + "
        "multivariate_logrank_test", best(lambda: lifelines_km(dh), 1)[0], th)
    del dh

    # ---- growth exponents 1e3 -> big
    grow = []
    sizes = [1_000, 10_000, 100_000] + ([big] if big > 100_000 else [])
    for name, fn in (("kaplan_meier + logrank_test", ours_km), ("coxph", ours_cox),
                     ("cumulative_incidence + gray_test", ours_cif)):
        ts_ = []
        for n in sizes:
            d = make_data(n, a.seed)
            k = max(1, 20_000 // n)
            ts_.append(best(lambda: [fn(d) for _ in range(k)], rep)[0] / k)
        slope = np.polyfit(np.log10(sizes), np.log10(ts_), 1)[0]
        grow.append({"estimator": name, **{f"n={n:.0e} (s)": v for n, v in zip(sizes, ts_)},
                     "growth exponent": slope})

    res = pd.DataFrame(rows)
    a.load_end = os.getloadavg()
    text = render(res, pd.DataFrame(grow), agree, notes, a)
    print(text)
    with open(a.out, "w") as fh:
        fh.write(text)
    return 0


def md_table(df):
    """A DataFrame as a GitHub markdown table (no tabulate dependency)."""
    cols = [str(c) for c in df.columns]
    out = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for row in df.itertuples(index=False):
        out.append("| " + " | ".join(str(v) for v in row) + " |")
    return "\n".join(out)


def render(res, grow, agree, notes, a):
    import numpy as _np
    lines = ["# Benchmarks of the public API (generated by benchmarks/bench_public.py)", "",
             f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, Python "
             f"{platform.python_version()}, numpy {_np.__version__}, pandas {pd.__version__}; "
             f"best of {a.repeat} runs per tool, all tools in one run on the same data "
             f"(seed {a.seed}).", "",
             "Load average (1, 5, 15 min) at the start: "
             f"{', '.join(f'{x:.2f}' for x in a.load_start)}; at the end: "
             f"{', '.join(f'{x:.2f}' for x in a.load_end)} (other jobs share the CPUs; ratios "
             "from one run are comparable, absolute seconds less so).", "",
             "Ratios are tool time / aplcohort time (> 1: aplcohort is faster). Floors are the "
             "minimum work any implementation must do on the same data.", ""]
    r = res.copy()
    r["seconds"] = r["seconds"].map(lambda v: f"{v:.4g}")
    r["ratio (tool / aplcohort)"] = r["ratio (tool / aplcohort)"].map(lambda v: f"{v:.2f}")
    lines.append(md_table(r))
    lines += ["", "## Growth of the time with n (slope of log time on log n)", ""]
    g = grow.copy()
    for c in g.columns[1:]:
        g[c] = g[c].map(lambda v: f"{v:.4g}")
    lines.append(md_table(g))
    lines += ["", "## Agreement checked before timing (max relative difference)", ""]
    lines += [f"* {k}: {v:.1e}" for k, v in agree]
    lines += [""] + [f"* {n}" for n in notes]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
