"""Time loading + validating a large cohort CSV against a plain ``pandas.read_csv``.

Not a test (no timing assertions anywhere in the suite). Run by hand::

    .venv/bin/python benchmarks/bench_validate.py            # 1,000,000 rows
    .venv/bin/python benchmarks/bench_validate.py --rows 100000

The table is the 52-patient synthetic Min 2022 cohort (``data/synthetic/min2022.csv``,
37 dictionary columns) repeated with unique patient ids up to ``--rows`` rows. Both
timings run in the same process on the same file: first ``pandas.read_csv(path)``
(pandas' own type inference, nothing validated), then ``aplcohort.cohort.load(path)``
(read every cell as text, parse every column with its dictionary type, check every
rule). The script prints both times, the ratio, and the peak resident memory of each
step measured in a child process.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import sys
import tempfile
import time
import warnings
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def make_table(path: Path, rows: int) -> None:
    base = pd.read_csv(ROOT / "data" / "synthetic" / "min2022.csv", dtype=str,
                       keep_default_na=False)
    reps = -(-rows // len(base))
    big = pd.concat([base] * reps, ignore_index=True).iloc[:rows].copy()
    big["patient_id"] = [f"B{i:07d}" for i in range(rows)]
    big.to_csv(path, index=False)


def _pandas(path):
    return pd.read_csv(path)


def _aplcohort(path):
    from aplcohort.errors import DataQualityWarning
    from aplcohort.cohort import load
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        return load(path)


def _peak_rss_child(which: str, path: str, q) -> None:
    import aplcohort.cohort  # noqa: F401  (import time is not load time)
    t0 = time.perf_counter()
    res = _pandas(path) if which == "pandas" else _aplcohort(path)
    dt = time.perf_counter() - t0
    q.put((dt, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, len(res)))


def measure(which: str, path: Path):
    ctx = mp.get_context("spawn")  # a fresh process: peak RSS of this step only
    q = ctx.Queue()
    p = ctx.Process(target=_peak_rss_child, args=(which, str(path), q))
    p.start()
    out = q.get()
    p.join()
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.csv"
        make_table(path, args.rows)
        size = path.stat().st_size / 2**20
        print(f"table: {args.rows:,} rows x 37 columns, {size:.0f} MiB CSV")
        t_pd, rss_pd, n_pd = measure("pandas", path)
        t_ap, rss_ap, n_ap = measure("aplcohort", path)
        assert n_pd == n_ap == args.rows
        print(f"pandas.read_csv          : {t_pd:8.2f} s   peak RSS {rss_pd:8.0f} MiB")
        print(f"aplcohort.cohort.load    : {t_ap:8.2f} s   peak RSS {rss_ap:8.0f} MiB")
        print(f"ratio (load / read_csv)  : {t_ap / t_pd:8.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
