"""Time ``aplcohort replicate min2022`` warm, as a user runs it, and split it by phase.

Not a test (the suite makes no timing assertions); run by hand::

    PYTHONPATH=$PWD .venv/bin/python benchmarks/bench_replicate.py [--runs 3]

Two measurements:

1. **Wall time of the command** -- ``aplcohort replicate min2022 --out DIR --force`` in a
   fresh process (the way a user runs it), best of ``--runs`` after one warm-up run, with
   the load average printed beside it (the project's machine is shared).
2. **Phases** -- the same work in one fresh process with timers wrapped around the
   functions of each phase (best of ``--runs`` fresh processes, phase by phase):

   ``startup``      interpreter + ``import aplcohort.cli`` + building the argument parser
   ``data``         generating the synthetic replica (``synthetic.min2022.write_files``)
   ``analyses``     ``run_plan`` (loading, validating, every analysis handler; figures that
                    handlers draw are drawn here), split by analysis kind
   ``tables``       per-table CSV / TeX / HTML files and the formatting of result frames
   ``docx``         per-table ``.docx`` files and ``manuscript.docx``
   ``figures``      ``plots.export.save_figure`` (every format of every figure); with two
                    CPUs a forked helper saves figures while the tables are written, and
                    this phase is then what is left: this process's share plus the wait
   ``report``       ``results.json``, ``provenance.json``, ``report.html``, copying the data

The phase timers wrap module attributes, so they do not change what is computed; the
sum of the phases is compared with the measured total (the rest is "other").
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


def _cli_run(out: str) -> float:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "aplcohort.cli", "replicate", "min2022", "--out", out,
                    "--force"], check=True, env=env, stdout=subprocess.DEVNULL, cwd=ROOT)
    return time.perf_counter() - t0


_CHILD = r"""
import json, sys, time
T0 = time.perf_counter()
import aplcohort.cli as cli
cli.build_parser()
T_START = time.perf_counter() - T0
phases = {"startup": T_START}
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
        stack.append([0.0])
        t = time.perf_counter()
        try:
            return f(*a, **k)
        finally:
            el = time.perf_counter() - t
            child = stack.pop()[0]
            phases[phase] = phases.get(phase, 0.0) + el - child
            if stack:
                stack[-1][0] += el
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
print("@@" + json.dumps({"phases": phases, "by_kind": by_kind}))
"""

#: (module, function, phase); time is exclusive (a timed call inside another is its own).
PHASES = [
    ("aplcohort.synthetic.min2022", "write_files", "data"),
    ("aplcohort.plan.runner", "run_plan", "analyses"),
    ("aplcohort.plots.export", "save_figure", "figures"),
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


def _phases(out: str) -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    p = subprocess.run([sys.executable, "-c", _CHILD, out, json.dumps(PHASES)], check=True,
                       env=env, capture_output=True, text=True, cwd=ROOT)
    line = [x for x in p.stdout.splitlines() if x.startswith("@@")][-1]
    return json.loads(line[2:])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-replicate-") as d:
        out = str(Path(d) / "out")
        _cli_run(out)  # warm-up: file caches, compiled bytecode, font cache
        walls = []
        phase_runs = []
        for _ in range(a.runs):  # interleaved: wall run, then instrumented run
            walls.append(_cli_run(out))
            phase_runs.append(_phases(out))
        nfiles = {}
        for p in Path(out).rglob("*"):
            if p.is_file():
                nfiles[p.suffix or p.name] = nfiles.get(p.suffix or p.name, 0) + 1
    load = os.getloadavg()
    print(f"aplcohort replicate min2022, warm: best {min(walls):.2f} s of {a.runs} "
          f"({', '.join(f'{w:.2f}' for w in walls)}); load average {load[0]:.2f} "
          f"{load[1]:.2f} {load[2]:.2f}; {os.cpu_count()} CPUs")
    print("files written: " + ", ".join(f"{n} {k}" for k, n in sorted(nfiles.items())))
    keys = ["startup", "data", "analyses", "tables", "docx", "figures", "report"]
    best = {k: min(r["phases"].get(k, 0.0) for r in phase_runs) for k in keys}
    tot = min(r["phases"]["total"] for r in phase_runs)
    print(f"\nphases (best of {a.runs} instrumented runs; in-process total {tot:.2f} s)")
    for k in keys:
        print(f"  {k:<10} {best[k]:6.2f} s  {100 * best[k] / tot:5.1f} %")
    print(f"  {'other':<10} {max(0.0, tot - sum(best.values())):6.2f} s")
    kinds = {}
    for r in phase_runs:
        for k, v in r["by_kind"].items():
            kinds[k] = min(kinds.get(k, v), v)
    print("\nanalyses by kind (best, s): " + ", ".join(
        f"{k} {v:.2f}" for k, v in sorted(kinds.items(), key=lambda kv: -kv[1])))


if __name__ == "__main__":
    main()
