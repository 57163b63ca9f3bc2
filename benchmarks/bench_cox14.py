"""Growth of the (start, stop] Cox fit with n, before and after (issue 13, branch cox14).

Times three public calls on the data of ``bench_public.py`` (``make_data``: whole-day
times, an exposure that starts during follow-up for about half the patients) at
1e3 .. 1e6 patients:

* ``coxph(split, time="tstop", event="event", covariates=["exposed", "x3"],
  entry="tstart")`` on the (start, stop] rows of ``split_at_exposure`` (~1.5 rows per
  patient), the fit this branch changes;
* ``td_coxph`` and ``mantel_byar`` exactly as ``bench_public.ESTIMATORS`` calls them
  (split + that fit).

Two versions run side by side, each in its own worker process: the baseline (a
``git archive`` of ``--base``, default ``main``, extracted to a temporary folder) and
this tree. The driver alternates them call by call (same size, same estimator, base
then this tree) for ``--rounds`` rounds and keeps each one's best time, so a change of
the machine's load hits both alike. Before timing, the two versions' results are
compared (coefficients, variance, statistic): max relative difference printed.

The floor, timed in the same run on the same (start, stop] rows: one ``argsort`` of
the stop times plus the cumulative sums of ``[x, x x']`` in that order (the least any
Cox fit must do once; bench_public's ``floor_cox``).

Run (from the worktree)::

    /work/main/.venv/bin/python benchmarks/bench_cox14.py [--base main] [--rounds 3]
    /work/main/.venv/bin/python benchmarks/bench_cox14.py --quick     # smoke run

Never a test: timings are not asserted anywhere.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
ESTIMATORS = ["coxph (entry=)", "td_coxph", "mantel_byar"]
LOOP_ROWS = 20_000          # small sizes: calls looped over this many patients

WORKER = r'''
import json, sys, time, warnings
sys.path.insert(0, sys.argv[1])            # the aplcohort tree of this version
sys.path.insert(1, sys.argv[2])            # benchmarks/ (make_data) of the worktree
import numpy as np
import aplcohort
from bench_public import make_data
from aplcohort.stats.cox import coxph
from aplcohort.stats.timedep import mantel_byar, split_at_exposure, td_coxph

SEED = int(sys.argv[3])
DATA = {}

def data(n):
    if n not in DATA:
        d = make_data(n, SEED)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            s = split_at_exposure(d, id="id", time="time", event="event",
                                  exposure_time="tx", keep=["x3"])
        DATA[n] = (d, s)
    return DATA[n]

def run(est, n):
    d, s = data(n)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if est == "coxph (entry=)":
            r = coxph(s, time="tstop", event="event", covariates=["exposed", "x3"],
                      entry="tstart")
            return list(r._fit.coef) + list(np.ravel(r._fit.var)) + list(r._fit.loglik)
        if est == "td_coxph":
            r = td_coxph(d, time="time", event="event", covariates=["x3"], id="id",
                         exposure_time="tx")
            return list(r._fit.coef) + list(np.ravel(r._fit.var)) + list(r._fit.loglik)
        if est == "mantel_byar":
            r = mantel_byar(d, time="time", event="event", id="id", exposure_time="tx")
            return [float(r.statistic)]
        if est == "floor":
            # one argsort of the stop times + cumulative sums of [x, x x'] in that order
            t = s["tstop"].to_numpy()
            X = s[["exposed", "x3"]].to_numpy(float)
            o = np.argsort(t, kind="stable")
            Xs = X[o]
            i0, i1 = np.triu_indices(2)
            np.cumsum(Xs, axis=0)
            np.cumsum(Xs[:, i0] * Xs[:, i1], axis=0)
            return []
    raise ValueError(est)

print(json.dumps({"file": aplcohort.__file__}), flush=True)
for line in sys.stdin:
    q = json.loads(line)
    n, k = q["n"], q["k"]
    if q["cmd"] == "rows":
        print(json.dumps({"rows": int(len(data(n)[1]))}), flush=True)
        continue
    t0 = time.perf_counter()
    for _ in range(k):
        out = run(q["est"], n)
    sec = (time.perf_counter() - t0) / k
    print(json.dumps({"sec": sec, "out": [float(v) for v in out]}), flush=True)
'''


class Worker:
    def __init__(self, tree, seed):
        self.tree = str(tree)
        code = Path(tempfile.gettempdir()) / "bench_cox14_worker.py"
        code.write_text(WORKER)
        env = dict(os.environ, PYTHONPATH="")
        self.p = subprocess.Popen([sys.executable, str(code), self.tree, str(HERE), str(seed)],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                  env=env)
        self.file = json.loads(self.p.stdout.readline())["file"]

    def ask(self, **q):
        self.p.stdin.write(json.dumps(q) + "\n")
        self.p.stdin.flush()
        return json.loads(self.p.stdout.readline())

    def close(self):
        self.p.stdin.close()
        self.p.wait(timeout=60)


def export(ref):
    sha = subprocess.run(["git", "rev-parse", ref], cwd=ROOT, capture_output=True, text=True,
                         check=True).stdout.strip()
    dest = Path(tempfile.gettempdir()) / f"cox14_base_{sha[:10]}"
    if not (dest / "aplcohort").is_dir():
        dest.mkdir(parents=True, exist_ok=True)
        arch = subprocess.run(["git", "archive", sha, "aplcohort"], cwd=ROOT,
                              capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(dest)], input=arch, check=True)
    return dest, sha


def rel(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-300))) if a.size else 0.0


def slope(sizes, secs):
    x, y = np.log10(sizes), np.log10(secs)
    return float(np.polyfit(x, y, 1)[0]), float((y[-1] - y[-2]) / (x[-1] - x[-2]))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", default="main", help="baseline git ref (default main)")
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds (best kept)")
    ap.add_argument("--seed", type=int, default=20261130)
    ap.add_argument("--quick", action="store_true", help="smoke run: 500 and 5000 patients")
    ap.add_argument("--sizes", default="1e3,1e4,1e5,1e6", help="patients per size (comma list)")
    a = ap.parse_args(argv)
    sizes = [500, 5_000] if a.quick else [int(float(x)) for x in a.sizes.split(",")]
    load0 = os.getloadavg()
    base_dir, sha = export(a.base)
    here_sha = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                              capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "aplcohort"], cwd=ROOT,
                           capture_output=True, text=True).stdout.strip()
    W = {"before": Worker(base_dir, a.seed), "after": Worker(ROOT, a.seed)}
    try:
        rows = {n: W["after"].ask(cmd="rows", n=n, k=1)["rows"] for n in sizes}
        for w in W.values():
            for n in sizes:
                w.ask(cmd="rows", n=n, k=1)                  # build the data (not timed)
        # ---- same numbers first
        agree = {}
        for est in ESTIMATORS:
            for n in sizes:
                o = {v: W[v].ask(cmd="time", est=est, n=n, k=1)["out"] for v in W}
                agree[(est, n)] = rel(o["after"], o["before"])
        # ---- interleaved timing
        best = {(v, est, n): np.inf for v in W for est in ESTIMATORS + ["floor"] for n in sizes}
        for _ in range(a.rounds):
            for n in sizes:
                k = max(1, LOOP_ROWS // n)
                for est in ESTIMATORS:
                    for v in ("before", "after"):
                        s = W[v].ask(cmd="time", est=est, n=n, k=k)["sec"]
                        best[(v, est, n)] = min(best[(v, est, n)], s)
                s = W["after"].ask(cmd="time", est="floor", n=n, k=k)["sec"]
                best[("after", "floor", n)] = min(best[("after", "floor", n)], s)
    finally:
        for w in W.values():
            w.close()
    load1 = os.getloadavg()

    out = ["# bench_cox14: growth of the (start, stop] Cox fit, before and after", "",
           f"`python benchmarks/bench_cox14.py --base {a.base} --rounds {a.rounds}"
           f"{' --quick' if a.quick else ' --sizes ' + a.sizes}`", "",
           f"before: `{a.base}` = {sha[:10]} ({W['before'].file}); after: this tree, HEAD "
           f"{here_sha}{' + uncommitted changes in aplcohort/' if dirty else ''} "
           f"({W['after'].file}).", "",
           f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, Python "
           f"{platform.python_version()}, numpy {np.__version__}. Load average (1, 5, 15 min) "
           f"at start {', '.join(f'{x:.2f}' for x in load0)}; at end "
           f"{', '.join(f'{x:.2f}' for x in load1)}. Best of {a.rounds} interleaved rounds "
           f"(before, after alternating call by call; calls looped over {LOOP_ROWS:,} "
           "patients at small sizes).", "",
           "(start, stop] rows per size: " + ", ".join(f"{n:.0e} patients -> {rows[n]:,} rows"
                                                       for n in sizes) + ".", ""]
    hdr = ["estimator", "version"] + [f"n={n:.0e} (s)" for n in sizes] + \
        ["exponent (fit, all sizes)", "exponent (last decade)", "x floor at largest n"]
    out += ["| " + " | ".join(hdr) + " |", "|" + "---|" * len(hdr)]
    fl = [best[("after", "floor", n)] for n in sizes]
    for est in ESTIMATORS:
        for v in ("before", "after"):
            ts = [best[(v, est, n)] for n in sizes]
            f, last = slope(sizes, ts)
            out.append(f"| {est} | {v} | " + " | ".join(f"{t:.4g}" for t in ts) +
                       f" | {f:.2f} | {last:.2f} | {ts[-1] / fl[-1]:.1f} |")
        tb = [best[("before", est, n)] for n in sizes]
        ta = [best[("after", est, n)] for n in sizes]
        out.append(f"| {est} | ratio before/after | " +
                   " | ".join(f"{x / y:.2f}" for x, y in zip(tb, ta)) + " | | | |")
    f, last = slope(sizes, fl)
    out.append("| floor: argsort of stop + cumsum of [x, xx'] on the (start, stop] rows | - | " +
               " | ".join(f"{t:.4g}" for t in fl) + f" | {f:.2f} | {last:.2f} | 1.0 |")
    out += ["", "Agreement before vs after (max relative difference of coefficients, "
            "variance and log-likelihoods; Mantel-Byar statistic):", ""]
    for est in ESTIMATORS:
        out.append(f"* {est}: " + ", ".join(f"{n:.0e}: {agree[(est, n)]:.1e}" for n in sizes))
    text = "\n".join(out) + "\n"
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
