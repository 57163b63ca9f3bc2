"""Time the saving of every figure of a Min 2022 run (PNG + PDF at 300 dpi).

Not a test: run by hand, e.g.::

    PYTHONPATH=$PWD .venv/bin/python benchmarks/bench_savefig.py DATA.csv [--repeat 3]

``DATA.csv``: the ``data/min2022.csv`` of an ``aplcohort replicate min2022`` output
folder. The figures are made once by the plan runner; then each way of saving them is
timed, interleaved in one process (best of ``--repeat``; CPU seconds are the fairer
number on a shared machine), with the number of full figure draws it needs:

``current``
    :func:`aplcohort.plots.export.save_figure`: one Agg render per figure gives the PNG
    and the tight box; the PDF is drawn once with that box; font subsets skip the
    unused layout tables before fontTools decompiles them.
``bbox-once``
    the previous ``save_figure`` (before issue 13's figure work): a layout-only pass at
    300 dpi for the tight box, then ``savefig(bbox_inches=box)`` per format; font
    subsets drop the layout tables only after fontTools has decompiled them.
``mpl-tight``
    matplotlib's ``savefig(bbox_inches="tight")`` per format, TrueType fonts.
``type3``
    the same with matplotlib's default Type 3 fonts (the output before issue 15).

``--replicate MAIN_CHECKOUT`` also times ``aplcohort replicate min2022`` end to end
(figure making included) with this checkout's code and with MAIN_CHECKOUT's,
interleaved, best of ``--repeat``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

MODES = ("current", "bbox-once", "mpl-tight", "type3")


@contextlib.contextmanager
def _old_lean_subsets():
    """The font-subset patch of the previous save_figure: Options only."""
    from matplotlib.backends import _backend_pdf_ps as mod

    from aplcohort.plots import export as ex
    orig = mod.subset

    class Old:
        def __getattr__(self, name):
            return getattr(orig, name)

        def Options(self, *a, **k):  # noqa: N802
            o = orig.Options(*a, **k)
            o.drop_tables += [t for t in ex._UNUSED_LAYOUT_TABLES if t not in o.drop_tables]
            return o
    mod.subset = Old()
    try:
        yield
    finally:
        mod.subset = orig


def save(mode, fig, stem):
    import matplotlib as mpl

    from aplcohort.plots.export import _METADATA, SAVE_RC, save_figure, tight_bbox
    if mode == "current":
        save_figure(fig, stem, formats=("png", "pdf"), dpi=300)
        return
    if mode == "bbox-once":
        with mpl.rc_context(SAVE_RC), _old_lean_subsets():
            box = tight_bbox(fig, pad_inches=0.03, dpi=300)
            for f in ("png", "pdf"):
                kw = {"pil_kwargs": {"compress_level": 3}} if f == "png" else {}
                fig.savefig(f"{stem}.{f}", dpi=300, format=f, bbox_inches=box,
                            metadata=_METADATA[f], **kw)
        return
    rc = dict(SAVE_RC) if mode == "mpl-tight" else {"svg.hashsalt": "aplcohort"}
    with mpl.rc_context(rc):
        for f in ("png", "pdf"):
            fig.savefig(f"{stem}.{f}", dpi=300, format=f, bbox_inches="tight", pad_inches=0.03)


def bench_saving(data, repeat):
    from matplotlib.figure import Figure

    from aplcohort.plan.runner import run_plan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = run_plan("min2022", data=data)
    figs = [(f"{a_.id}__{n}", f) for a_ in res.analyses.values() for n, f in a_.figures]
    draws = [0]
    orig = Figure.draw

    def counting(self, renderer):
        draws[0] += 1
        return orig(self, renderer)
    Figure.draw = counting
    out = Path(tempfile.mkdtemp(prefix="bench-savefig-"))
    wall = {m: 1e9 for m in MODES}
    cpu = {m: 1e9 for m in MODES}
    ndraw = {}
    try:
        for _ in range(repeat):
            for m in MODES:  # interleaved: load changes hit every mode alike
                draws[0] = 0
                t, c = time.perf_counter(), time.process_time()
                for name, fig in figs:
                    save(m, fig, out / f"{m}-{name}")
                wall[m] = min(wall[m], time.perf_counter() - t)
                cpu[m] = min(cpu[m], time.process_time() - c)
                ndraw[m] = draws[0]
    finally:
        Figure.draw = orig
    print(f"{len(figs)} figures, PNG + PDF at 300 dpi, best of {repeat}; "
          f"load average {os.getloadavg()[0]:.2f}")
    print(f"{'mode':10s} {'wall s':>7s} {'CPU s':>7s} {'draws':>6s} {'CPU vs current':>15s}")
    for m in MODES:
        print(f"{m:10s} {wall[m]:7.2f} {cpu[m]:7.2f} {ndraw[m]:6d} {cpu[m] / cpu['current']:14.2f}x")
    with contextlib.suppress(OSError):
        for p in out.iterdir():
            p.unlink()
        out.rmdir()


def bench_replicate(main_checkout, repeat):
    here = Path(__file__).resolve().parents[1]
    py = sys.executable
    best = {}
    for _ in range(repeat):
        for name, root in (("this checkout", here), ("main", Path(main_checkout).resolve())):
            with tempfile.TemporaryDirectory() as d:
                env = dict(os.environ, PYTHONPATH=str(root))
                env.pop("PYTHONDONTWRITEBYTECODE", None)  # bytecode cached, as installed
                t = time.perf_counter()
                subprocess.run([py, "-m", "aplcohort.cli", "replicate", "min2022", "--out",
                                str(Path(d) / "r"), "--force"], env=env, check=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                best[name] = min(best.get(name, 1e9), time.perf_counter() - t)
    print(f"aplcohort replicate min2022 (wall, best of {repeat}, load average "
          f"{os.getloadavg()[0]:.2f}): " + ", ".join(f"{k} {v:.2f} s" for k, v in best.items())
          + f"; ratio main / this {best['main'] / best['this checkout']:.2f}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("data", nargs="?", default=None)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--replicate", metavar="MAIN_CHECKOUT", default=None)
    a = ap.parse_args()
    if a.data is None:
        raise SystemExit("give the cohort CSV (e.g. the data/min2022.csv of an "
                         "`aplcohort replicate min2022` output folder)")
    bench_saving(a.data, a.repeat)
    if a.replicate:
        bench_replicate(a.replicate, a.repeat)


if __name__ == "__main__":
    main()
