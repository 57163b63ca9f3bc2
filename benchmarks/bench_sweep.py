"""Power sweep: in-process vs a Dask LocalCluster vs ``scheduler="auto"`` (not a test).

    .venv/bin/python benchmarks/bench_sweep.py [--repeat 2] [--long-reps 16000] [--quick]

Two sweeps (2 scenarios x n = 40..200 step 40): a short one (about 2 s in-process) and
a long one (over 10 s in-process). Each is run in every mode, the modes interleaved in
one process (round robin, best of ``--repeat``), and the tables are checked to be
identical. After every cluster run the script checks that no worker process is left.
Prints seconds, the ratio to in-process (< 1: faster than in-process), what ``auto``
chose and why, and the load average (the machine is shared: ratios from one run are
comparable, absolute seconds less so). Needs the ``dask`` extra.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import pandas as pd

from aplcohort.batch.sweep import AUTO_MIN_SECONDS, power_sweep


def scenario(name, hr):
    return {"name": name, "n": 100, "arms": {"A": {"ratio": 1}, "B": {"ratio": 1}},
            "events": {"death": {"model": "exponential", "median": 12,
                                 "arms": {"B": {"median": 12 / hr}}}},
            "censoring": {"loss_rate": 0.01}}


def children():
    """Worker processes of this process (the resource tracker is not a worker)."""
    import psutil
    out = []
    for p in psutil.Process().children(recursive=True):
        try:
            if p.is_running() and "resource_tracker" not in " ".join(p.cmdline()):
                out.append(p.pid)
        except psutil.NoSuchProcess:
            pass
    return set(out)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--short-reps", type=int, default=2_000)
    ap.add_argument("--long-reps", type=int, default=16_000)
    ap.add_argument("--quick", action="store_true", help="tiny sweeps, one repeat (smoke run)")
    a = ap.parse_args(argv)
    if a.quick:
        a.repeat, a.short_reps, a.long_reps = 1, 100, 400
    scs = [scenario("hr0.6", 0.6), scenario("hr0.8", 0.8)]
    ns = [40, 80, 120, 160, 200]
    load0 = os.getloadavg()
    print(f"{os.cpu_count()} CPUs; load average at start {load0[0]:.2f}, {load0[1]:.2f}, "
          f"{load0[2]:.2f}; auto starts a cluster at an estimated >= {AUTO_MIN_SECONDS:g} s")
    rows = []
    for label, reps in (("short", a.short_reps), ("long", a.long_reps)):
        best = {m: float("inf") for m in ("none", "local", "auto")}
        ref, why, leftover = None, "", 0
        for _ in range(a.repeat):
            for mode in ("none", "local", "auto"):   # interleaved: same load for each mode
                before = children()
                t0 = time.perf_counter()
                df = power_sweep(scs, ns, reps=reps, seed=7, scheduler=mode)
                sec = time.perf_counter() - t0
                best[mode] = min(best[mode], sec)
                if ref is None:
                    ref = df
                pd.testing.assert_frame_equal(df, ref)   # identical numbers in every mode
                if mode == "auto":
                    why = df.attrs["executor_reason"]
                deadline = time.time() + 10
                while time.time() < deadline and children() - before:
                    time.sleep(0.2)
                leftover += len(children() - before)
        rows.append({"sweep": f"{label}: {reps:,} replicates per cell",
                     "in-process (s)": f"{best['none']:.2f}",
                     "local (s)": f"{best['local']:.2f}",
                     "local / in-process": f"{best['local'] / best['none']:.2f}",
                     "auto (s)": f"{best['auto']:.2f}",
                     "auto / in-process": f"{best['auto'] / best['none']:.2f}",
                     "auto chose": why, "workers left": leftover})
    load1 = os.getloadavg()
    df = pd.DataFrame(rows)
    cols = list(df.columns)
    print("| " + " | ".join(cols) + " |")
    print("|" + "---|" * len(cols))
    for r in df.itertuples(index=False):
        print("| " + " | ".join(str(v) for v in r) + " |")
    print(f"load average at end {load1[0]:.2f}, {load1[1]:.2f}, {load1[2]:.2f}; tables identical "
          f"in every mode")
    return 1 if df["workers left"].sum() else 0


if __name__ == "__main__":
    sys.exit(main())
