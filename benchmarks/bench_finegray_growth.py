"""Growth exponent of ``fine_gray`` alone, with ``bench_public.py``'s own ``growth``.

Run:

    .venv/bin/python benchmarks/bench_finegray_growth.py [--repeat 3] [--seed 20261130]

Calls :func:`bench_public.growth` (same data from ``make_data``, same sizes 1e3..1e6,
same per-call timing and the same floor) with the estimator table reduced to
``fine_gray``, and prints its row: seconds per call at each size, the exponent
fitted over all sizes, over the last decade, and the floor's. Not a test.
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_public  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--seed", type=int, default=20261130)
    a = ap.parse_args(argv)
    bench_public.ESTIMATORS = {"fine_gray": bench_public.ESTIMATORS["fine_gray"]}
    S = bench_public.SIZES["full"]
    bench_public.LOOP_ROWS[0] = S["loop"]
    load0 = os.getloadavg()
    b = bench_public.Bench()
    grow = bench_public.growth(S, a.repeat, a.seed, b)
    load1 = os.getloadavg()
    print(bench_public.md_table(grow))
    for t in b.targets:
        print(f"{t['target']}: {t['measured']} -> met? {t['met?']} ({t['floor']})")
    print(f"load average start {', '.join(f'{x:.2f}' for x in load0)}; "
          f"end {', '.join(f'{x:.2f}' for x in load1)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
