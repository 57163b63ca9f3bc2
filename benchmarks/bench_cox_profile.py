"""Timing of the public ``coxph`` (issue 13): small cohort, 1e6 rows, floor, R, memory.

Scratch script of the Cox front-end work, on the SAME data as
``benchmarks/bench_public.py`` (its ``make_data``, seed 20261130; 7 covariates,
whole-day times, Efron ties). Everything that is compared is timed interleaved in
one process (best of ``--repeat``) because the machine is shared; R runs in its own
process (best of ``--repeat`` inside R, CSV reading excluded) right after.

Run::

    PYTHONPATH=$PWD .venv/bin/python benchmarks/bench_cox_profile.py [--quick] [--no-r]
        [--baseline DIR] [--profile]

``--baseline DIR``: DIR holds an older copy of the package renamed ``aplcohort_base``
(e.g. ``git archive <commit> aplcohort | tar -x -C DIR && mv DIR/aplcohort
DIR/aplcohort_base``); its ``coxph`` is timed interleaved with the current one and
the largest relative difference of every number of the terms and tests tables is
printed (the speed work must not change results beyond the last bits).
``--clock cpu``: process CPU time instead of wall time (the machine is shared), for
R too (user + system time of its ``coxph`` calls).
``--lifelines``: lifelines ``CoxPHFitter`` timed interleaved on the large data.
``--profile``: cProfile of the n = 52 call (where the time goes).

Nothing here is a test: speed is never asserted.
"""

from __future__ import annotations

import argparse
import cProfile
import importlib
import os
import pstats
import sys
import time
import tracemalloc

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_public import COVS, floor_cox, lifelines_cox, make_data, run_r  # noqa: E402

from aplcohort.stats.cox import coxph  # noqa: E402


def _call(fn, df):
    r = fn(df, time="time", event="event", covariates=COVS)
    return r.terms["coef"].to_numpy(), r


_CLOCK = time.perf_counter


def _best_interleaved(fns, repeat, inner=1):
    best = {k: np.inf for k in fns}
    for _ in range(repeat):
        for k, f in fns.items():
            t0 = _CLOCK()
            for _ in range(inner):
                f()
            best[k] = min(best[k], (_CLOCK() - t0) / inner)
    return best


def _peak_mb(fn):
    tracemalloc.start()
    tracemalloc.reset_peak()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2 ** 20


R_CPU = r"""
suppressPackageStartupMessages({library(survival); library(jsonlite)})
args <- commandArgs(TRUE)
d <- read.csv(args[1]); rep <- as.integer(args[3])
k <- if (nrow(d) <= 100) 200 else 1
b <- Inf
for (i in seq_len(rep)) {
  st <- system.time(for (j in seq_len(k)) cf <- coxph(Surv(time, event) ~ x1 + x2 + x3 + x4 +
                                                      x5 + x6 + x7, data = d, ties = "efron"))
  b <- min(b, (st[["user.self"]] + st[["sys.self"]]) / k) }
writeLines(toJSON(list(cox = b, cox_coef = unname(coef(cf))), digits = NA, auto_unbox = TRUE),
           args[2])
"""


def run_r_cpu(df, repeat):
    """R ``coxph`` CPU time (user + system, best of ``repeat``), like ``--clock cpu``."""
    import json
    import shutil
    import subprocess
    import tempfile
    if not shutil.which("Rscript"):
        return None
    with tempfile.TemporaryDirectory() as d:
        csv, script, out = (os.path.join(d, f) for f in ("d.csv", "b.R", "o.json"))
        df.to_csv(csv, index=False)
        with open(script, "w") as fh:
            fh.write(R_CPU)
        subprocess.run(["Rscript", script, csv, out, str(repeat)], check=True)
        with open(out) as fh:
            return json.load(fh)


def _maxrel(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    ok = np.isfinite(a) & np.isfinite(b)
    if not ok.any():
        return 0.0
    return float(np.max(np.abs(a[ok] - b[ok]) / np.maximum(np.abs(b[ok]), 1e-300)))


def _table_diff(r_new, r_old):
    cols = ["coef", "se", "estimate", "lower", "upper", "statistic", "p"]
    d = max(_maxrel(r_new.terms[c], r_old.terms[c]) for c in cols)
    d = max(d, _maxrel(r_new.tests["statistic"], r_old.tests["statistic"]),
            _maxrel(r_new.tests["p"], r_old.tests["p"]), _maxrel(r_new.loglik, r_old.loglik))
    return d


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="1e5 rows instead of 1e6")
    ap.add_argument("--no-r", action="store_true")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--seed", type=int, default=20261130)
    ap.add_argument("--baseline", default=None)
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--lifelines", action="store_true",
                    help="also time lifelines CoxPHFitter on the large data (interleaved)")
    ap.add_argument("--clock", choices=["wall", "cpu"], default="wall",
                    help="cpu: process CPU time (steadier on a shared machine; run with "
                         "OPENBLAS_NUM_THREADS=1 so BLAS threads are not summed)")
    a = ap.parse_args(argv)
    global _CLOCK
    _CLOCK = time.process_time if a.clock == "cpu" else time.perf_counter
    print(f"clock: {a.clock}")
    print(f"load average at start: {os.getloadavg()}")
    fns = {"coxph": coxph}
    if a.baseline:
        sys.path.insert(0, a.baseline)
        fns["baseline coxph"] = importlib.import_module("aplcohort_base.stats.cox").coxph
    big = 100_000 if a.quick else 1_000_000

    # ---- n = 52 (3 arms, 7 covariates, DataFrame in)
    small = make_data(52, a.seed)
    res = {k: _call(f, small)[1] for k, f in fns.items()}
    if a.baseline:
        print(f"n=52 max rel diff vs baseline (terms, tests, loglik): "
              f"{_table_diff(res['coxph'], res['baseline coxph']):.2e}")
    t = _best_interleaved({k: (lambda f=f: _call(f, small)) for k, f in fns.items()},
                          a.repeat, inner=300)
    for k, v in t.items():
        print(f"n=52   {k:16s} {v * 1e3:8.3f} ms")
    if a.profile:
        pr = cProfile.Profile()
        pr.enable()
        for _ in range(300):
            _call(coxph, small)
        pr.disable()
        pstats.Stats(pr).sort_stats("tottime").print_stats(25)

    # ---- large
    df = make_data(big, a.seed)
    res = {k: _call(f, df)[1] for k, f in fns.items()}
    if a.baseline:
        print(f"n={big:.0e} max rel diff vs baseline: "
              f"{_table_diff(res['coxph'], res['baseline coxph']):.2e}")
    cands = {k: (lambda f=f: _call(f, df)) for k, f in fns.items()}
    cands["floor (argsort + cumsum of [1, x, xx'])"] = lambda: floor_cox(df)
    if a.lifelines:
        cands["lifelines CoxPHFitter"] = lambda: lifelines_cox(df)
    t_big = _best_interleaved(cands, max(1, a.repeat - 2))
    for k, v in t_big.items():
        print(f"n={big:.0e} {k:40s} {v:8.4f} s  ({v / t_big['coxph']:.2f} x coxph)")
    print(f"n={big:.0e} coxph peak traced memory {_peak_mb(lambda: _call(coxph, df)):.0f} MB")

    # ---- growth exponent 1e3 .. big
    sizes = [1_000, 10_000, 100_000] + ([big] if big > 100_000 else [])
    ts = []
    for n in sizes:
        d = make_data(n, a.seed)
        k = max(1, 20_000 // n)
        ts.append(_best_interleaved({"c": lambda d=d: _call(coxph, d)}, 3, inner=k)["c"])
    slope = np.polyfit(np.log10(sizes), np.log10(ts), 1)[0]
    print("growth:", ", ".join(f"n={n:.0e}: {v:.4g} s" for n, v in zip(sizes, ts)),
          f"-> exponent {slope:.3f}")

    # ---- R (its own process, right after)
    if not a.no_r:
        rr = (lambda d, k: run_r_cpu(d, k)) if a.clock == "cpu" else \
            (lambda d, k: run_r(d, ["cox"], k))
        r_small = rr(small, a.repeat)
        if r_small:
            print(f"n=52   R coxph {r_small['cox'] * 1e3:.3f} ms; ratio R / aplcohort "
                  f"{r_small['cox'] / t['coxph']:.2f}; coef max rel diff "
                  f"{_maxrel(_call(coxph, small)[0], r_small['cox_coef']):.1e}")
            r_big = rr(df, max(1, a.repeat - 2))
            print(f"n={big:.0e} R coxph {r_big['cox']:.3f} s; ratio R / aplcohort "
                  f"{r_big['cox'] / t_big['coxph']:.2f}; coef max rel diff "
                  f"{_maxrel(_call(coxph, df)[0], r_big['cox_coef']):.1e}")
    print(f"load average at end: {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
