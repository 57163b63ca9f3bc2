"""Time the immortal-time and multi-state statistics of ``aplcohort replicate min2022``.

Issue 13 ("the main job fast"): the statistics of the time-dependent and multi-state
analyses at n = 52 were far slower than they should be.  This driver measures the
time spent in each of those functions *inside the real plan run* (``run_plan`` of the
bundled ``min2022`` plan on the synthetic replica, seed 2022), warm (one run first for
imports and caches), as the best of ``--runs`` runs.

Two code versions are compared interleaved: the baseline (a ``git archive`` of
``--base``, default ``main``) and this worktree, each in its own process, alternated
``--rounds`` times; per function the best over all runs of a version is kept.

Run (from the worktree)::

    /work/main/.venv/bin/python benchmarks/bench_td13.py [--base main] [--rounds 2] [--runs 3]
    /work/main/.venv/bin/python benchmarks/bench_td13.py --growth     # td growth exponents

``--growth`` runs :func:`bench_public.growth` (unchanged) for ``td_coxph``,
``mantel_byar`` and ``simon_makuch`` only, at 1e3..1e6 rows.

"together" is the wall time spent inside any of the measured functions (nested calls
counted once), with figure drawing called from the multi-state handlers left out
(``plots/`` is not part of this work; it is listed on its own line).
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

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

#: (module, attribute) measured; the label is ``attribute`` (module-qualified if ambiguous)
TARGETS = [
    ("aplcohort.stats.timedep", "split_at_exposure"),
    ("aplcohort.stats.timedep", "collapse_intervals"),
    ("aplcohort.stats.timedep", "check_intervals"),
    ("aplcohort.stats.timedep", "_counting_data"),
    ("aplcohort.stats.timedep", "immortal_time_check"),
    ("aplcohort.stats.timedep", "compare_naive_vs_timedependent"),
    ("aplcohort.stats.timedep", "td_coxph"),
    ("aplcohort.stats.timedep", "mantel_byar"),
    ("aplcohort.stats.timedep", "simon_makuch"),
    ("aplcohort.stats.landmark", "landmark"),
    ("aplcohort.stats.landmark", "landmark_set"),
    ("aplcohort.multistate.transitions", "build_transitions"),
    ("aplcohort.multistate.transitions", "check_intervals"),
    ("aplcohort.multistate.occupancy", "state_occupancy"),
    ("aplcohort.multistate.clfs", "clfs"),
    ("aplcohort.multistate.plan", "salvage_probabilities"),
    ("aplcohort.multistate.plan", "salvage_summary"),
    ("aplcohort.multistate.plan", "h_multistate"),
    ("aplcohort.multistate.plan", "h_clfs"),
    ("aplcohort.stats.cox", "coxph"),
]
#: figure drawing inside the handlers: its time is taken out of "together"
EXCLUDED = [
    ("aplcohort.plots.multistate", "plot_state_occupancy"),
    ("aplcohort.plots.multistate", "plot_transition_diagram"),
    ("aplcohort.plots.multistate", "plot_clfs"),
]
#: not part of "together" (another owner's code), shown for information
INFO_ONLY = {"aplcohort.stats.cox.coxph"}


def _label(mod, name):
    dup = sum(1 for _, n in TARGETS if n == name) > 1
    return f"{mod.rsplit('.', 1)[-1]}.{name}" if dup else name


def _instrument():
    """Wrap every target (in every module that holds it); return the stats dict."""
    import importlib

    stats = {"@together": 0.0, "@figures": 0.0}
    depth = [0]
    paused = [0.0]
    originals = {}
    for mod, name in TARGETS + EXCLUDED:
        m = importlib.import_module(mod)
        originals[(mod, name)] = getattr(m, name)

    def make(fn, label, excluded, info):
        def wrapper(*a, **k):
            t0 = time.perf_counter()
            top = depth[0] == 0 and not excluded and not info
            if not excluded and not info:
                depth[0] += 1
            p0 = paused[0]
            try:
                return fn(*a, **k)
            finally:
                dt = time.perf_counter() - t0
                if excluded:
                    stats["@figures"] += dt
                    if depth[0] > 0:
                        paused[0] += dt
                else:
                    s = stats.setdefault(label, [0.0, 0])
                    s[0] += dt
                    s[1] += 1
                    if not info:
                        depth[0] -= 1
                    if top:
                        stats["@together"] += dt - (paused[0] - p0)
        wrapper.__wrapped__ = fn
        return wrapper

    wrappers = {}
    for mod, name in TARGETS + EXCLUDED:
        fn = originals[(mod, name)]
        wrappers[id(fn)] = make(fn, _label(mod, name), (mod, name) in EXCLUDED,
                                f"{mod}.{name}" in INFO_ONLY)
    # replace the function wherever a module holds it (from-imports bind early)
    for m in list(sys.modules.values()):
        if m is None or not getattr(m, "__name__", "").startswith("aplcohort"):
            continue
        for k, v in list(vars(m).items()):
            if callable(v) and id(v) in wrappers:
                setattr(m, k, wrappers[id(v)])
    return stats


def inner(runs: int) -> dict:
    """In this process: warm run, then ``runs`` instrumented runs; best per function."""
    import warnings

    from aplcohort.plan.runner import run_plan
    from aplcohort.synthetic.min2022 import write_files

    tmp = tempfile.mkdtemp(prefix="td13-bench-")
    data = write_files(Path(tmp) / "data", seed=2022)["min2022.csv"]

    def once():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t0 = time.perf_counter()
            run_plan("min2022", data=data, out=None)
            return time.perf_counter() - t0

    once()                      # imports, caches
    import aplcohort.multistate.plan  # noqa: F401  (so that it is instrumented)
    import aplcohort.plots.multistate  # noqa: F401
    stats = _instrument()
    best: dict = {}
    for _ in range(runs):
        for k in list(stats):
            stats[k] = 0.0 if k.startswith("@") else [0.0, 0]
        total = once()
        cur = {k: (v if k.startswith("@") else tuple(v)) for k, v in stats.items()}
        cur["@run_plan"] = total
        for k, v in cur.items():
            if k not in best or (v if k.startswith("@") else v[0]) < (
                    best[k] if k.startswith("@") else best[k][0]):
                best[k] = v
    return best


def _export_base(ref: str) -> Path:
    sha = subprocess.run(["git", "rev-parse", ref], cwd=ROOT, capture_output=True, text=True,
                         check=True).stdout.strip()
    dest = Path(tempfile.gettempdir()) / f"td13_basesrc_{sha[:10]}"
    if not (dest / "aplcohort").is_dir():
        dest.mkdir(parents=True, exist_ok=True)
        arch = subprocess.run(["git", "archive", sha, "aplcohort"], cwd=ROOT,
                              capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(dest)], input=arch, check=True)
    return dest


def compare(base_ref: str, rounds: int, runs: int) -> int:
    base = _export_base(base_ref)
    versions = {"before": base, "after": ROOT}
    best = {"before": {}, "after": {}}
    load0 = os.getloadavg()
    for r in range(rounds):
        for v, path in (list(versions.items()) if r % 2 == 0 else
                        list(reversed(list(versions.items())))):
            env = dict(os.environ, PYTHONPATH=str(path))
            out = subprocess.run([sys.executable, __file__, "--inner", "--runs", str(runs)],
                                 env=env, capture_output=True, text=True, cwd=str(path))
            if out.returncode != 0:
                sys.stderr.write(out.stderr)
                return 1
            res = json.loads(out.stdout.strip().splitlines()[-1])
            for k, val in res.items():
                cur = best[v].get(k)
                key = (lambda x: x if isinstance(x, float) else x[0])
                if cur is None or key(val) < key(cur):
                    best[v][k] = val
    load1 = os.getloadavg()
    b, a = best["before"], best["after"]
    labels = [_label(m, n) for m, n in TARGETS]
    lines = [f"load average (1, 5, 15 min) at start {', '.join(f'{x:.2f}' for x in load0)}; "
             f"at end {', '.join(f'{x:.2f}' for x in load1)}; best of {rounds * runs} runs "
             f"per version, {rounds} interleaved rounds", "",
             "| function (cumulative, per run) | calls | before (ms) | after (ms) | ratio |",
             "|---|---|---|---|---|"]
    for lab in labels:
        if lab not in b and lab not in a:
            continue
        tb = b.get(lab, [float("nan"), 0])
        ta = a.get(lab, [float("nan"), 0])
        lines.append(f"| {lab}{' (not ours; info)' if lab == 'coxph' else ''} | {tb[1]} | "
                     f"{1e3 * tb[0]:.1f} | {1e3 * ta[0]:.1f} | {tb[0] / ta[0]:.2f} |")
    lines.append(f"| **together** (nested counted once, figures excluded) | | "
                 f"{1e3 * b['@together']:.1f} | {1e3 * a['@together']:.1f} | "
                 f"{b['@together'] / a['@together']:.2f} |")
    lines.append(f"| figures drawn by the multi-state handlers (excluded) | | "
                 f"{1e3 * b['@figures']:.1f} | {1e3 * a['@figures']:.1f} | |")
    lines.append(f"| whole run_plan (no output writing) | | {1e3 * b['@run_plan']:.0f} | "
                 f"{1e3 * a['@run_plan']:.0f} | {b['@run_plan'] / a['@run_plan']:.2f} |")
    print("\n".join(lines))
    return 0


def td_growth(repeat: int, seed: int) -> int:
    """bench_public.growth for the three time-dependent estimators only."""
    sys.path.insert(0, str(HERE))
    import bench_public as bp

    keep = ("td_coxph", "mantel_byar", "simon_makuch")
    bp.ESTIMATORS = {k: v for k, v in bp.ESTIMATORS.items() if k in keep}

    load0 = os.getloadavg()
    b = bp.Bench()
    g = bp.growth(bp.SIZES["full"], repeat, seed, b)
    print(f"load average at start {load0}, at end {os.getloadavg()}; best of {repeat}")
    print(bp.md_table(g))
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--base", default=None,
                    help="git ref of the baseline (default: merge-base of HEAD and main)")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--growth", action="store_true", help="td growth exponents (bench_public)")
    ap.add_argument("--repeat", type=int, default=3, help="with --growth: best of")
    ap.add_argument("--seed", type=int, default=20261130, help="as bench_public")
    a = ap.parse_args(argv)
    if a.inner:
        print(json.dumps(inner(a.runs)))
        return 0
    if a.growth:
        return td_growth(a.repeat, a.seed)
    base = a.base or subprocess.run(["git", "merge-base", "HEAD", "main"], cwd=ROOT,
                                    capture_output=True, text=True, check=True).stdout.strip()
    return compare(base, a.rounds, a.runs)


if __name__ == "__main__":
    sys.exit(main())
