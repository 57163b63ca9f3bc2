"""Scratch timing of the survival front-ends against their kernels (issue 13).

Times, interleaved in one process (best of ``--repeat``), on the data of
``benchmarks/bench_public.py`` (``make_data``, same seeds):

* 10M rows: public ``kaplan_meier`` + ``.median()`` + ``logrank_test`` vs the
  internal ``aplcohort.batch.large.cohort_km_logrank`` vs the floor (one argsort +
  cumulative sums);
* n = 52: ``kaplan_meier`` + ``logrank_test`` and ``cumulative_incidence`` +
  ``gray_test`` (per call, averaged over 200 calls);
* growth exponents 1e3 -> 1e6 of KM + log-rank, CIF + Gray, Fine–Gray.

Run with the code to measure first on ``PYTHONPATH`` (e.g. an exported older commit
to get "before" numbers), from the repository root::

    PYTHONPATH=$PWD .venv/bin/python benchmarks/bench_surv_profile.py [--quick]

Prints seconds and ratios; never used by tests (no timed assertions anywhere).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_public import floor_km, make_data, ours_cif, ours_km  # noqa: E402


def interleaved(fns, repeat):
    """Best time of each function, the functions run in turn ``repeat`` times."""
    best = {k: np.inf for k in fns}
    for _ in range(repeat):
        for k, f in fns.items():
            t0 = time.perf_counter()
            f()
            best[k] = min(best[k], time.perf_counter() - t0)
    return best


def ours_fg(df):
    from aplcohort.stats.finegray import fine_gray
    r = fine_gray(df[["time", "code", "x1", "x2", "x3"]], time="time", code="code", cause=1,
                  covariates=["x1", "x2", "x3"])
    return r


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--seed", type=int, default=20261130)
    ap.add_argument("--only", default="huge,small,growth")
    a = ap.parse_args(argv)
    only = a.only.split(",")
    print("load average at start:", os.getloadavg())
    if "huge" in only:
        from aplcohort.batch.large import cohort_km_logrank
        huge = 1_000_000 if a.quick else 10_000_000
        dh = make_data(huge, a.seed + 1)
        t, e, g = dh["time"].to_numpy(), dh["event"].to_numpy(), dh["group"].to_numpy()
        b = interleaved({"public kaplan_meier+median+logrank_test": lambda: ours_km(dh),
                         "internal cohort_km_logrank": lambda: cohort_km_logrank(t, e, g),
                         "floor argsort+cumsum": lambda: floor_km(dh)}, max(2, a.repeat - 2))
        for k, v in b.items():
            print(f"n={huge:.0e} {k:45s} {v:.4f} s")
        print(f"ratio public / internal = {b['public kaplan_meier+median+logrank_test'] / b['internal cohort_km_logrank']:.2f}")
        del dh
    if "small" in only:
        small = make_data(52, a.seed)
        many = 200
        b = interleaved({"km+logrank": lambda: [ours_km(small) for _ in range(many)],
                         "cif+gray": lambda: [ours_cif(small) for _ in range(many)]}, a.repeat)
        for k, v in b.items():
            print(f"n=52 {k:20s} {v / many * 1e3:.3f} ms per call")
    if "growth" in only:
        sizes = [1_000, 10_000, 100_000] + ([] if a.quick else [1_000_000])
        for name, fn in (("kaplan_meier + logrank_test", ours_km),
                         ("cumulative_incidence + gray_test", ours_cif),
                         ("fine_gray (3 covariates)", ours_fg)):
            ts = []
            for n in sizes:
                d = make_data(n, a.seed)
                k = max(1, 20_000 // n)
                ts.append(min(interleaved({"x": lambda: [fn(d) for _ in range(k)]},
                                          3).values()) / k)
            slope = np.polyfit(np.log10(sizes), np.log10(ts), 1)[0]
            print(f"growth {name:35s} " + " ".join(f"{x:.4g}" for x in ts)
                  + f"  exponent {slope:.3f}")
    print("load average at end:", os.getloadavg())


if __name__ == "__main__":
    main()
