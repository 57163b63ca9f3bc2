"""n = 52: ``cumulative_incidence`` + ``gray_test`` against R ``cmprsk::cuminc``, interleaved.

Run:

    .venv/bin/python benchmarks/bench_cif_small.py [--rounds 15] [--calls 300] [--seed 20261130]

The same cohort as the ``small`` task of ``bench_public.py`` (``make_data(52, seed)``: 3
groups, whole-day times, causes 1 and 2). One R process stays open for the whole run;
each round times ``--calls`` calls of our two public functions in this process, then
asks R to time ``--calls`` calls of ``cuminc(time, code, group)`` with ``system.time``
inside R (no process start, no CSV reading in the timing), so both tools see the same
machine load, round after round. Reported: the best round of each (wall clock, and CPU
time for both), the ratio R / aplcohort (> 1: aplcohort is faster), the median ratio of
the rounds, and the load average at the start and the end. The Gray statistic and the
cumulative incidences are compared with R's first.

Not a test: the suite makes no timing assertion.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_public import make_data  # noqa: E402

from aplcohort.stats.competing import cumulative_incidence, gray_test  # noqa: E402

R_SERVER = r"""
suppressPackageStartupMessages(library(cmprsk))
args <- commandArgs(TRUE)
d <- read.csv(args[1])
ci <- cuminc(d$time, d$code, d$group)
cat(sprintf("%.17g", ci$Tests[1, 1]), "\n")
est <- timepoints(ci, c(100, 300, 700))$est
cat(sprintf("%.17g", as.vector(t(est))), "\n")
con <- file("stdin"); open(con)
repeat {
  line <- readLines(con, n = 1)
  if (length(line) == 0 || line == "quit") break
  k <- as.integer(line)
  tm <- system.time(for (j in seq_len(k)) ci <- cuminc(d$time, d$code, d$group))
  cat(sprintf("%.9g %.9g", tm[["elapsed"]] / k, (tm[["user.self"]] + tm[["sys.self"]]) / k), "\n")
  flush(stdout())
}
"""


def ours(t, code, g):
    r = cumulative_incidence(t, code, g)
    gt = gray_test(t, code, g, cause=1)
    return r, gt


def time_ours(t, code, g, k):
    c0, w0 = time.process_time(), time.perf_counter()
    for _ in range(k):
        ours(t, code, g)
    return (time.perf_counter() - w0) / k, (time.process_time() - c0) / k


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--calls", type=int, default=300, help="calls per round and tool")
    ap.add_argument("--seed", type=int, default=20261130)
    a = ap.parse_args(argv)
    if not shutil.which("Rscript"):
        print("Rscript not found: nothing to compare with", file=sys.stderr)
        return 1
    load0 = os.getloadavg()
    d = make_data(52, a.seed)
    t, code, g = (d[c].to_numpy() for c in ("time", "code", "group"))
    with tempfile.TemporaryDirectory() as tmp:
        csv = os.path.join(tmp, "d.csv")
        d.to_csv(csv, index=False)
        script = os.path.join(tmp, "server.R")
        with open(script, "w") as fh:
            fh.write(R_SERVER)
        r = subprocess.Popen(["Rscript", script, csv], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True, bufsize=1)
        try:
            r_stat = float(r.stdout.readline())
            r_est = np.array([float(x) for x in r.stdout.readline().split()])
            res, gt = ours(t, code, g)
            at = res.at([100, 300, 700])
            # timepoints' rows "group cause" in R's order: by cause, then group
            our_est = at.sort_values(["cause", "group"], kind="stable")["estimate"].to_numpy()
            d_stat = abs(gt.statistic - r_stat) / abs(r_stat)
            if our_est.shape != r_est.shape or np.any(np.isnan(our_est) != np.isnan(r_est)):
                raise SystemExit("the cumulative incidences differ in shape from R's")
            ok = np.isfinite(r_est)
            d_est = float(np.max(np.abs(our_est[ok] - r_est[ok])))
            for _ in range(3):                       # warm both
                time_ours(t, code, g, a.calls)
                r.stdin.write(f"{a.calls}\n")
                r.stdout.readline()
            ow, oc, rw, rc, ratios = [], [], [], [], []
            for _ in range(a.rounds):
                w, c = time_ours(t, code, g, a.calls)
                r.stdin.write(f"{a.calls}\n")
                rwi, rci = (float(x) for x in r.stdout.readline().split())
                ow.append(w), oc.append(c), rw.append(rwi), rc.append(rci)
                ratios.append(rwi / w)
            r.stdin.write("quit\n")
        finally:
            r.stdin.close()
            r.wait(timeout=30)
    load1 = os.getloadavg()
    bo, br = min(ow), min(rw)
    print("n = 52, 3 groups: cumulative_incidence + gray_test(cause=1) vs R cmprsk::cuminc")
    print(f"agreement: Gray statistic rel. diff {d_stat:.1e}; CIF at 100/300/700 days "
          f"max abs. diff {d_est:.1e}")
    print(f"best of {a.rounds} rounds x {a.calls} calls, interleaved:")
    print(f"  aplcohort  wall {bo * 1e3:.3f} ms   cpu {min(oc) * 1e3:.3f} ms")
    print(f"  R cuminc   wall {br * 1e3:.3f} ms   cpu {min(rc) * 1e3:.3f} ms "
          "(R's cpu clock ticks at 1 ms: per-call cpu is coarse)")
    print(f"  ratio R / aplcohort: best {br / bo:.2f}x, median of rounds "
          f"{float(np.median(ratios)):.2f}x (> 1: aplcohort faster)")
    print(f"load average (1, 5, 15 min): start {', '.join(f'{x:.2f}' for x in load0)}; "
          f"end {', '.join(f'{x:.2f}' for x in load1)} (2 CPUs shared)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
