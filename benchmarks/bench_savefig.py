"""Time the saving of every figure of a Min 2022 run (PNG + PDF at 300 dpi).

Not a test: run by hand, e.g.::

    PYTHONPATH=$PWD .venv/bin/python benchmarks/bench_savefig.py [cohort.csv] [--mode M]

``--mode current`` (default) uses :func:`aplcohort.plots.export.save_figure`;
``--mode mpl-tight`` saves each format with matplotlib's own ``bbox_inches="tight"``
and the same rcParams (TrueType fonts), i.e. what save_figure did before it computed
the bounding box once and dropped the unused font layout tables; ``--mode type3``
is that plus matplotlib's default Type 3 fonts (the output before issue 15).
Prints the time per figure and the total (best of ``--repeat`` runs each).
"""

from __future__ import annotations

import argparse
import contextlib
import tempfile
import time
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("data", nargs="?", default=None)
    ap.add_argument("--mode", choices=("current", "mpl-tight", "type3"), default="current")
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    import matplotlib as mpl

    from aplcohort.plan.runner import run_plan
    from aplcohort.plots.export import SAVE_RC, save_figure
    data = a.data
    if data is None:
        raise SystemExit("give the cohort CSV (e.g. the data/min2022.csv of an "
                         "`aplcohort replicate min2022` output folder)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = run_plan("min2022", data=data)
    figs = [(f"{a_.id}__{n}", f) for a_ in res.analyses.values() for n, f in a_.figures]
    out = Path(tempfile.mkdtemp(prefix="bench-savefig-"))

    def save(fig, stem):
        if a.mode == "current":
            save_figure(fig, stem, formats=("png", "pdf"), dpi=300)
            return
        rc = dict(SAVE_RC) if a.mode == "mpl-tight" else {"svg.hashsalt": "aplcohort"}
        with mpl.rc_context(rc):
            for f in ("png", "pdf"):
                fig.savefig(f"{stem}.{f}", dpi=300, format=f, bbox_inches="tight",
                            pad_inches=0.03)

    best, cpu = {}, {}
    for _ in range(a.repeat):
        for name, fig in figs:
            t, c = time.perf_counter(), time.process_time()
            save(fig, out / name)
            best[name] = min(best.get(name, 1e9), time.perf_counter() - t)
            cpu[name] = min(cpu.get(name, 1e9), time.process_time() - c)
    for name, t in best.items():
        print(f"{name:55s} {t:6.2f} s wall {cpu[name]:6.2f} s CPU")
    # CPU time is the fairer number on a shared machine (wall time includes waiting)
    print(f"{len(figs)} figures, total {sum(best.values()):.2f} s wall, "
          f"{sum(cpu.values()):.2f} s CPU (mode {a.mode}, best of {a.repeat})")
    with contextlib.suppress(OSError):
        for p in out.iterdir():
            p.unlink()
        out.rmdir()


if __name__ == "__main__":
    main()
