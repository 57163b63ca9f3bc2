"""Time the immortal-time and multi-state statistics of ``aplcohort replicate min2022``.

Issue 13 ("the main job fast"): the statistics of the time-dependent and multi-state
analyses at n = 52 were far slower than they should be.  This driver measures them on
exactly the calls the real plan run makes (``run_plan`` of the bundled ``min2022`` plan
on the synthetic replica, seed 2022):

1. each version (the baseline: a ``git archive`` of ``--base``, default the merge-base
   with ``main``; and this worktree) runs the plan once warm and once recording every
   call of the measured functions (arguments pickled), in its own process;
2. both versions are then loaded side by side in ONE process (the baseline's
   ``stats.timedep``, ``stats.landmark`` and ``multistate`` under alias names) and the
   recorded calls are replayed, the two versions alternating, ``--rounds`` times; the
   best round of each is kept (the machine is shared: the load average is printed).

Per function: all its calls in the run (nested ones included). "together": the
top-level calls of the run (a measured function not called from another one), i.e. the
time the run spends in these statistics.  Figures of the multi-state handlers are
switched off in the replay (drawing is not part of this work).  ``coxph`` (another
owner's code, the same in both versions) is replayed too, as a control of the noise.

Run (from the worktree)::

    /work/main/.venv/bin/python benchmarks/bench_td13.py [--base REF] [--rounds 5]
    /work/main/.venv/bin/python benchmarks/bench_td13.py --growth     # td growth exponents

``--growth`` runs :func:`bench_public.growth` (unchanged) for ``td_coxph``,
``mantel_byar`` and ``simon_makuch`` only, at 1e3..1e6 rows.
"""

from __future__ import annotations

import argparse
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


def _label(mod, name):
    dup = sum(1 for _, n in TARGETS if n == name) > 1
    return f"{mod.rsplit('.', 1)[-1]}.{name}" if dup else name


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


def capture(out: str) -> None:
    """In this process (one code version): a warm run, then one run recording every call
    of the measured functions (arguments pickled) and which of them were top-level."""
    import pickle
    import warnings

    from aplcohort.plan.runner import run_plan
    from aplcohort.synthetic.min2022 import write_files

    tmp = tempfile.mkdtemp(prefix="td13-bench-")
    data = write_files(Path(tmp) / "data", seed=2022)["min2022.csv"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run_plan("min2022", data=data, out=None)       # imports, caches
    import importlib

    import aplcohort.multistate.plan  # noqa: F401
    rec = {"top": [], "all": {}}
    depth = [0]

    def make(fn, label):
        def wrapper(*a, **k):
            blob = pickle.dumps((a, k))
            rec["all"].setdefault(label, []).append(blob)
            if depth[0] == 0 and label != "coxph":
                rec["top"].append((label, blob))
            depth[0] += label != "coxph"
            try:
                return fn(*a, **k)
            finally:
                depth[0] -= label != "coxph"
        wrapper.__wrapped__ = fn
        return wrapper

    wr = {}
    for mod, name in TARGETS:
        fn = getattr(importlib.import_module(mod), name)
        wr[id(fn)] = make(fn, _label(mod, name))
    for m in list(sys.modules.values()):
        if m is None or not getattr(m, "__name__", "").startswith("aplcohort"):
            continue
        for k, v in list(vars(m).items()):
            if callable(v) and id(v) in wr:
                setattr(m, k, wr[id(v)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run_plan("min2022", data=data, out=None)
    with open(out, "wb") as fh:
        pickle.dump(rec, fh)


_BASE_ALIAS = {"aplcohort.stats.timedep": "aplcohort.stats._td13_base_timedep",
               "aplcohort.stats.landmark": "aplcohort.stats._td13_base_landmark",
               "aplcohort.multistate": "aplcohort._td13_base_multistate"}


def _load_base(base: Path) -> None:
    """The baseline versions of the measured modules, beside this worktree's, in this
    process (so both are timed interleaved): stats.timedep / stats.landmark under alias
    names (their mutual imports redirected), multistate as an alias package."""
    import importlib.util
    import types

    def from_source(name, path, rewrites):
        src = path.read_text(encoding="utf-8")
        for x, y in rewrites:
            src = src.replace(x, y)
        mod = types.ModuleType(name)
        mod.__file__ = str(path)
        mod.__package__ = name.rsplit(".", 1)[0]
        sys.modules[name] = mod
        exec(compile(src, str(path), "exec"), mod.__dict__)

    import aplcohort.stats  # noqa: F401
    st = base / "aplcohort" / "stats"
    from_source(_BASE_ALIAS["aplcohort.stats.landmark"], st / "landmark.py",
                [("from .timedep import", "from ._td13_base_timedep import")])
    from_source(_BASE_ALIAS["aplcohort.stats.timedep"], st / "timedep.py",
                [("from .landmark import", "from ._td13_base_landmark import")])
    ms = base / "aplcohort" / "multistate"
    name = _BASE_ALIAS["aplcohort.multistate"]
    spec = importlib.util.spec_from_file_location(name, ms / "__init__.py",
                                                  submodule_search_locations=[str(ms)])
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    importlib.import_module(name + ".plan")


def _functions(base: bool) -> dict:
    import importlib

    out = {}
    for mod, name in TARGETS:
        m = mod
        if base:
            for k, v in _BASE_ALIAS.items():
                if mod == k or mod.startswith(k + "."):
                    m = v + mod[len(k):]
        out[_label(mod, name)] = getattr(importlib.import_module(m), name)
    return out


def _unpickler(base: bool):
    import pickle

    class U(pickle.Unpickler):
        def find_class(self, module, name):
            if base:   # objects of the measured modules belong to the baseline's classes
                for k, v in _BASE_ALIAS.items():
                    if module == k or module.startswith(k + "."):
                        module = v + module[len(k):]
            return super().find_class(module, name)
    return lambda blob: U(__import__("io").BytesIO(blob)).load()


def _timed(fn, calls) -> float:
    """Seconds for the calls (figures off: not part of this work); errors are part of the
    run (a handler reports them), so they are timed too."""
    t0 = time.perf_counter()
    for a, k in calls:
        try:
            fn(*a, **k)
        except Exception:  # noqa: BLE001 - as the plan runner, which records them
            pass
    return time.perf_counter() - t0


def compare(base_ref: str, rounds: int, after: Path = ROOT) -> int:
    """Capture the calls of each version's run, then replay both in this process,
    interleaved, best of ``rounds`` per function and for the top-level calls together."""
    import pickle
    import warnings

    base = _export_base(base_ref)
    rec = {}
    for v, path in (("before", base), ("after", after)):
        f = Path(tempfile.gettempdir()) / f"td13_calls_{v}.pkl"
        env = dict(os.environ, PYTHONPATH=str(path))
        subprocess.run([sys.executable, __file__, "--capture", str(f)], env=env, check=True,
                       cwd=str(path), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        rec[v] = pickle.loads(f.read_bytes())
    sys.path.insert(0, str(after))
    _load_base(base)
    fns = {"before": _functions(True), "after": _functions(False)}
    loads = {"before": _unpickler(True), "after": _unpickler(False)}
    warnings.simplefilter("ignore")
    best = {"before": {}, "after": {}}
    load0 = os.getloadavg()
    for r in range(rounds + 1):          # round 0: warm-up, not counted
        for v in (("before", "after") if r % 2 else ("after", "before")):
            ld, fn = loads[v], fns[v]

            def args(blobs):
                out = [ld(b) for b in blobs]
                for _, k in out:
                    if "figures" in k:
                        k["figures"] = False
                return out
            top = [(lab, args([b])[0]) for lab, b in rec[v]["top"]]
            t0 = time.perf_counter()
            for lab, (a, k) in top:
                try:
                    fn[lab](*a, **k)
                except Exception:  # noqa: BLE001
                    pass
            tot = time.perf_counter() - t0
            cur = {"@together": tot}
            for lab, blobs in rec[v]["all"].items():
                cur[lab] = (_timed(fn[lab], args(blobs)), len(blobs))
            if r == 0:
                continue
            for k, val in cur.items():
                key = (lambda x: x if isinstance(x, float) else x[0])
                if k not in best[v] or key(val) < key(best[v][k]):
                    best[v][k] = val
    load1 = os.getloadavg()
    b, a = best["before"], best["after"]
    lines = [f"load average (1, 5, 15 min) at start {', '.join(f'{x:.2f}' for x in load0)}; "
             f"at end {', '.join(f'{x:.2f}' for x in load1)}; best of {rounds} interleaved "
             "rounds, both versions in one process (the calls recorded in each version's "
             "min2022 plan run, replayed; multi-state figures off)", "",
             "| function (all its calls in the run) | calls before | calls after | "
             "before (ms) | after (ms) | ratio |", "|---|---|---|---|---|---|"]
    nan = (float("nan"), 0)
    for mod, name in TARGETS:
        lab = _label(mod, name)
        tb, ta = b.get(lab, nan), a.get(lab, nan)
        if not (tb[1] or ta[1]):
            continue
        ratio = f"{tb[0] / ta[0]:.2f}" if tb[1] and ta[1] else "-"
        lines.append(f"| {lab}{' (not ours: a control, same code in both)' if lab == 'coxph' else ''}"
                     f" | {tb[1]} | {ta[1]} | "
                     f"{1e3 * tb[0]:.1f} | {1e3 * ta[0]:.1f} | {ratio} |"
                     .replace("| nan |", "| - |"))
    lines.append(f"| **together** (the top-level calls of the run) | {len(rec['before']['top'])} | "
                 f"{len(rec['after']['top'])} | {1e3 * b['@together']:.1f} | "
                 f"{1e3 * a['@together']:.1f} | {b['@together'] / a['@together']:.2f} |")
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
    ap.add_argument("--capture", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--base", default=None,
                    help="git ref of the baseline (default: merge-base of HEAD and main)")
    ap.add_argument("--rounds", type=int, default=5, help="best of N interleaved rounds")
    ap.add_argument("--after", default=str(ROOT),
                    help="source tree of the 'after' version (default: this worktree), e.g. "
                         "main with this branch's files laid over it")
    ap.add_argument("--growth", action="store_true", help="td growth exponents (bench_public)")
    ap.add_argument("--repeat", type=int, default=3, help="with --growth: best of")
    ap.add_argument("--seed", type=int, default=20261130, help="as bench_public")
    a = ap.parse_args(argv)
    if a.capture:
        capture(a.capture)
        return 0
    if a.growth:
        return td_growth(a.repeat, a.seed)
    base = a.base or subprocess.run(["git", "merge-base", "HEAD", "main"], cwd=ROOT,
                                    capture_output=True, text=True, check=True).stdout.strip()
    return compare(base, a.rounds, Path(a.after))


if __name__ == "__main__":
    sys.exit(main())
