"""Time ``aplcohort replicate min2022`` warm, as a user runs it, and split it by phase.

Not a test (the suite makes no timing assertions); run by hand::

    PYTHONPATH=$PWD .venv/bin/python benchmarks/bench_replicate.py [--runs 3]

Two measurements:

1. **Wall and CPU time of the command** -- ``aplcohort replicate min2022 --out DIR --force``
   in a fresh process (the way a user runs it), best of ``--runs`` after one warm-up run,
   with the load average printed beside it (the project's machine is shared: on a loaded
   machine the CPU time, which counts the figure helper process too, is the steadier
   number). ``--baseline DIR`` times another source tree interleaved with this one, e.g.
   the commit before a change: ``git archive COMMIT | tar -x -C DIR``.
2. **Phases** -- the same work in one fresh process with timers wrapped around the
   functions of each phase (best of ``--runs`` fresh processes, phase by phase):

   ``startup``      interpreter + ``import aplcohort.cli`` + building the argument parser
   ``data``         generating the synthetic replica (``synthetic.min2022.write_files``)
   ``analyses``     ``run_plan`` (loading, validating, every analysis handler), split by
                    analysis kind (the kind times include drawing)
   ``drawing``      the figures the handlers create (``plots.*.plot_*``), inside ``analyses``
   ``tables``       per-table CSV / TeX / HTML files and the formatting of result frames
   ``docx``         per-table ``.docx`` files and ``manuscript.docx``
   ``figures``      ``plots.export.save_figure`` (every format of every figure); with two
                    CPUs a forked helper saves figures while the tables are written, and
                    this phase is then what is left: this process's share plus the wait
   ``report``       ``results.json``, ``provenance.json``, ``report.html``, copying the data

The phase timers wrap module attributes, so they do not change what is computed; the
sum of the phases is compared with the measured total (the rest is "other").

3. **Floor** -- a lower bound on the wall time of *any* implementation that writes the same
   figure files with matplotlib on this machine's CPUs: in one fresh process, the CPU time
   of importing the libraries every such implementation needs (numpy, pandas, matplotlib
   with its Agg and PDF back ends), plus the CPU time of saving every figure of the run once
   per format, serially (``save_figure`` with the forked helper switched off, so font
   subsets and glyph caches are shared as well as they can be). Floor = imports + saving /
   CPUs: the imports come before any figure exists, and saving is assumed to split
   perfectly over the CPUs. Analyses, tables, DOCX and the report are left out (they count
   zero), so the true floor is higher.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _env(root: Path) -> dict:
    """The environment of a timed run: ``root`` on the path, and bytecode caching on, as in
    a user's installation. With ``PYTHONDONTWRITEBYTECODE`` set (some sandboxes set it),
    the warm-up run writes no ``__pycache__`` and every timed run compiles again each
    module whose source changed, and a ``git archive`` baseline tree all of them."""
    env = dict(os.environ, PYTHONPATH=str(root))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def _cli_run(out: str, root: Path = ROOT) -> tuple[float, float]:
    """Wall and CPU seconds (user + system, the command and every process it started)."""
    import resource
    env = _env(root)
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "aplcohort.cli", "replicate", "min2022", "--out", out,
                    "--force"], check=True, env=env, stdout=subprocess.DEVNULL, cwd=root)
    wall = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)


_CHILD = r"""
import json, sys, time
T0 = time.perf_counter()
C0 = time.process_time()
import aplcohort.cli as cli
cli.build_parser()
T_START = time.perf_counter() - T0
phases = {"startup": T_START}
cpu = {"startup": time.process_time() - C0}
from contextlib import contextmanager
stack = []

def wrap(mod, name, phase):
    import importlib
    m = importlib.import_module(mod)
    *owner, name = name.split(".")
    for o in owner:              # "Class.method"
        m = getattr(m, o)
    f = getattr(m, name)
    def w(*a, **k):
        # exclusive time: a timed function called inside another counts in its own phase
        stack.append([0.0, 0.0])
        t, c = time.perf_counter(), time.process_time()
        try:
            return f(*a, **k)
        finally:
            el, ec = time.perf_counter() - t, time.process_time() - c
            child, cchild = stack.pop()
            phases[phase] = phases.get(phase, 0.0) + el - child
            cpu[phase] = cpu.get(phase, 0.0) + ec - cchild
            if stack:
                stack[-1][0] += el
                stack[-1][1] += ec
    setattr(m, name, w)

PHASES = json.loads(sys.argv[2])
for mod, name, phase in PHASES:
    try:
        wrap(mod, name, phase)
    except (ImportError, AttributeError):
        pass
# per-kind split of the analyses
import aplcohort.plan.kinds as kinds
orig = kinds.run_analysis
by_kind = {}
def run_analysis(ctx, a):
    t = time.perf_counter()
    try:
        return orig(ctx, a)
    finally:
        by_kind[a.kind] = by_kind.get(a.kind, 0.0) + time.perf_counter() - t
kinds.run_analysis = run_analysis
t = time.perf_counter()
rc = cli.main(["replicate", "min2022", "--out", sys.argv[1], "--force"])
phases["total_after_startup"] = time.perf_counter() - t
phases["total"] = time.perf_counter() - T0
cpu["total"] = time.process_time() - C0
print("@@" + json.dumps({"phases": phases, "cpu": cpu, "by_kind": by_kind}))
"""

#: (module, function, phase); time is exclusive (a timed call inside another is its own).
PHASES = [
    ("aplcohort.synthetic.min2022", "write_files", "data"),
    ("aplcohort.plan.runner", "run_plan", "analyses"),
    ("aplcohort.plots.export", "save_figure", "figures"),
    *[(f"aplcohort.plots.{m}", f, "drawing") for m, f in (
        ("survival", "plot_km"), ("survival", "plot_cif"), ("survival", "plot_simon_makuch"),
        ("forest", "plot_forest"), ("flow", "plot_flow"), ("swimmer", "plot_swimmer"),
        ("cumhaz", "plot_cumhaz"), ("diagnostics", "plot_cumhaz"), ("diagnostics", "plot_zph"),
        ("diagnostics", "plot_predicted_survival"), ("multistate", "plot_clfs"),
        ("multistate", "plot_state_occupancy"), ("multistate", "plot_transition_diagram"))],
    ("aplcohort.plan.write", "_FigureWriter.finish", "figures"),
    ("aplcohort.tables.manuscript", "write_manuscript", "docx"),
    ("aplcohort.tables.export", "_write_docx", "docx"),
    ("aplcohort.plan.write", "build_report", "report"),
    ("aplcohort.plan.write", "_write_text", "report"),
    ("aplcohort.plan.runner", "PlanResults.to_dict", "report"),
    ("aplcohort.tables.export", "save_table", "tables"),
    ("aplcohort.tables.export", "write_csv_frame", "tables"),
    ("aplcohort.plan.write", "_table_of_frame", "tables"),
]


_FLOOR = r"""
import json, sys, time
c0 = time.process_time()
import numpy, pandas, matplotlib                                # noqa: E401,F401
from matplotlib.figure import Figure                            # noqa: F401
from matplotlib.backends import backend_agg, backend_pdf        # noqa: F401
c_imports = time.process_time() - c0
import aplcohort.cli as cli
import aplcohort.plan.write as write
import aplcohort.plots.export as export
write._cpus = lambda: 1      # serial: every figure saved in this process
orig, acc = export.save_figure, {"cpu": 0.0, "n": 0}
def save_figure(*a, **k):
    c = time.process_time()
    try:
        return orig(*a, **k)
    finally:
        acc["cpu"] += time.process_time() - c
        acc["n"] += 1
export.save_figure = save_figure
cli.main(["replicate", "min2022", "--out", sys.argv[1], "--force"])
print("@@" + json.dumps({"imports": c_imports, "save": acc["cpu"], "figures": acc["n"]}))
"""


def _floor(out: str) -> dict:
    p = subprocess.run([sys.executable, "-c", _FLOOR, out], check=True, env=_env(ROOT),
                       capture_output=True, text=True, cwd=ROOT)
    return json.loads([x for x in p.stdout.splitlines() if x.startswith("@@")][-1][2:])


def _phases(out: str) -> dict:
    env = _env(ROOT)
    p = subprocess.run([sys.executable, "-c", _CHILD, out, json.dumps(PHASES)], check=True,
                       env=env, capture_output=True, text=True, cwd=ROOT)
    line = [x for x in p.stdout.splitlines() if x.startswith("@@")][-1]
    return json.loads(line[2:])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--baseline", type=Path, default=None,
                    help="another source tree (e.g. `git archive COMMIT | tar -x -C DIR`) "
                         "whose command is timed interleaved with this one, for a ratio")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-replicate-") as d:
        out = str(Path(d) / "out")
        _cli_run(out)  # warm-up: file caches, compiled bytecode (see _env), font cache
        if a.baseline:
            _cli_run(str(Path(d) / "base"), a.baseline)
        walls, base, phase_runs, floors = [], [], [], []
        for _ in range(a.runs):  # interleaved: this tree, the baseline, then instrumented
            walls.append(_cli_run(out))
            if a.baseline:
                base.append(_cli_run(str(Path(d) / "base"), a.baseline))
            phase_runs.append(_phases(out))
            floors.append(_floor(out))
        nfiles = {}
        for p in Path(out).rglob("*"):
            if p.is_file():
                nfiles[p.suffix or p.name] = nfiles.get(p.suffix or p.name, 0) + 1
    load = os.getloadavg()
    bw, bc = min(w for w, _ in walls), min(c for _, c in walls)
    print(f"aplcohort replicate min2022, warm, best of {a.runs}: wall {bw:.2f} s, CPU {bc:.2f} s "
          f"(wall runs {', '.join(f'{w:.2f}' for w, _ in walls)}); load average "
          f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; {os.cpu_count()} CPUs")
    if base:
        xw, xc = min(w for w, _ in base), min(c for _, c in base)
        print(f"baseline {a.baseline}: wall {xw:.2f} s, CPU {xc:.2f} s -> this tree takes "
              f"{bw / xw:.2f}x the wall time and {bc / xc:.2f}x the CPU time")
    print("files written: " + ", ".join(f"{n} {k}" for k, n in sorted(nfiles.items())))
    keys = ["startup", "data", "analyses", "drawing", "tables", "docx", "figures", "report"]
    tot = min(r["phases"]["total"] for r in phase_runs)
    ctot = min(r["cpu"]["total"] for r in phase_runs)
    print(f"\nphases, best of {a.runs} instrumented runs (wall total {tot:.2f} s; CPU of the "
          f"main process {ctot:.2f} s, a figure helper process not included)")
    print(f"  {'phase':<10} {'wall s':>7} {'CPU s':>7}")
    sw = sc = 0.0
    for k in keys:
        w = min(r["phases"].get(k, 0.0) for r in phase_runs)
        c = min(r["cpu"].get(k, 0.0) for r in phase_runs)
        sw, sc = sw + w, sc + c
        print(f"  {k:<10} {w:7.2f} {c:7.2f}")
    print(f"  {'other':<10} {max(0.0, tot - sw):7.2f} {max(0.0, ctot - sc):7.2f}")
    kinds = {}
    for r in phase_runs:
        for k, v in r["by_kind"].items():
            kinds[k] = min(kinds.get(k, v), v)
    print("\nanalyses by kind (best wall, s): " + ", ".join(
        f"{k} {v:.2f}" for k, v in sorted(kinds.items(), key=lambda kv: -kv[1])))
    ncpu = _cpus()
    imp = min(f["imports"] for f in floors)
    sav = min(f["save"] for f in floors)
    print(f"\nfloor (best of {a.runs}; see the module docstring): importing numpy, pandas and "
          f"matplotlib {imp:.2f} s CPU + saving the {floors[0]['figures']} figures once per "
          f"format, serially, {sav:.2f} s CPU / {ncpu} CPUs = {imp + sav / ncpu:.2f} s wall, "
          f"with every analysis, table and document counted as free")


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


if __name__ == "__main__":
    main()
