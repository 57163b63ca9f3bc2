"""``aplcohort power`` and ``aplcohort sweep``: simulation-based power from scenario files.

``aplcohort power SCENARIO.yaml --n 40:400:20 --reps 10000 [--alpha 0.05] [--seed S] [--out DIR]``
    Print a power table (n, power, Monte Carlo SE, exact 95 % interval) and write ``power.csv`` and
    ``power.png`` (the power curve) into ``DIR`` (default ``power-<scenario>``).
    A progress bar goes to stderr.

``aplcohort sweep A.yaml B.yaml --n 40:200:40 --reps 2000 [--scheduler local|ADDRESS|none]``
    Power for several scenarios x sample sizes, on Dask when it is installed
    (a local cluster by default, or an existing scheduler by address), else
    in-process; identical numbers either way. Writes ``sweep.csv`` into ``--out``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .._checks import seed_arg


def _power(args: argparse.Namespace) -> int:
    from .power import load_any_scenario, parse_n_grid, power_curve
    from ..plan.write import check_output_dir, input_paths, output_transaction
    sc = load_any_scenario(args.scenario)
    out = Path(args.out) if args.out else Path(f"power-{sc.name}")
    # refused before the simulation, not after it (checked again when writing)
    check_output_dir(out, force=args.force, protect=input_paths(args.scenario))
    ns = parse_n_grid(args.n) if args.n else [sc.default_n()]
    res = power_curve(sc, ns, reps=args.reps, alpha=args.alpha, seed=args.seed,
                      endpoint=args.endpoint, chunk=args.chunk, target=args.target,
                      progress=not args.no_progress)
    t = res.table
    print(f"scenario {sc.name}: log-rank between arms {', '.join(sc.arms)}; endpoint "
          f"{args.endpoint}; alpha {args.alpha:g}; {args.reps} replicates per n; seed {args.seed}")
    print(f"{'n':>6}  {'power':>7}  {'MC SE':>7}  {'95% CI (exact)':>17}  {'events':>8}")
    for row in t.itertuples(index=False):
        se = "NE" if row.mc_se != row.mc_se else f"{row.mc_se:.4f}"     # NaN: not estimable
        ci = f"[{row.lower:.4f}, {row.upper:.4f}]"
        print(f"{row.n:>6d}  {row.power:7.4f}  {se:>7}  {ci:>17}  {row.mean_events:8.1f}")
    for row in t.itertuples(index=False):
        if row.note:
            print(f"note (n = {row.n}): {row.note}")
    if args.target is not None:
        n_grid, n_int = res.sample_size(args.target)
        if n_grid is None:
            print(f"target power {args.target:g} not reached on this grid; extend --n")
        else:
            print(f"target power {args.target:g}: n = {n_grid} (grid); about {n_int:.0f} "
                  f"(linear interpolation)")
    und = int(t["n_undefined"].sum())
    if und:
        print(f"note: {und} replicates had an undefined test (fewer than two arms with "
              f"events) and count as not significant", file=sys.stderr)
    # atomic, marker rule; a folder holding the scenario file is refused even with --force
    with output_transaction(out, force=args.force, kind="power",
                            protect=input_paths(args.scenario)) as tmp:
        res.write(tmp)
    print(f"wrote {out / 'power.csv'} and {out / 'power.png'}", file=sys.stderr)
    return 0


def _sweep(args: argparse.Namespace) -> int:
    from .power import parse_n_grid
    from .sweep import power_sweep
    from ..plan.write import check_output_dir, input_paths, output_transaction
    out = Path(args.out) if args.out else Path("sweep")
    # refused before the simulation, not after it (checked again when writing)
    check_output_dir(out, force=args.force, protect=input_paths(args.scenarios))
    ns = parse_n_grid(args.n)
    df = power_sweep(args.scenarios, ns, reps=args.reps, alpha=args.alpha, seed=args.seed,
                     endpoint=args.endpoint, chunk=args.chunk, scheduler=args.scheduler,
                     progress=not args.no_progress)
    print(df.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    # atomic, marker rule; a folder holding a scenario file is refused even with --force
    with output_transaction(out, force=args.force, kind="sweep",
                            protect=input_paths(args.scenarios)) as tmp:
        # full precision (shortest round-trip repr); text cells starting with = + - @ (a
        # scenario name from a shared file) escaped as in the plan's tables
        from ..tables.export import write_csv_frame
        write_csv_frame(df, tmp / "sweep.csv")
    print(f"wrote {out / 'sweep.csv'} (executed: {df.attrs.get('executor', '?')})",
          file=sys.stderr)
    return 0


def _common(p):
    p.add_argument("--reps", type=int, default=1000,
                   help="replicate cohorts per sample size, at least 2 (default 1000)")
    p.add_argument("--alpha", type=float, default=0.05, help="significance level (default 0.05)")
    p.add_argument("--seed", type=seed_arg, default=1, help="root random seed (default 1)")
    p.add_argument("--endpoint", default="any",
                   help="'any' (first event, default), 'os', or a cause name")
    p.add_argument("--chunk", type=int, default=2000,
                   help="replicates per batch (memory only; results do not depend on it)")
    p.add_argument("--out", default=None, help="output directory")
    p.add_argument("--force", action="store_true",
                   help="replace an existing --out folder whole, deleting every file in "
                        "it; needed when aplcohort did not write it, or it holds files that "
                        "the last run did not write or that were changed since (without "
                        "--force these are named and nothing is written)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def register(subparsers) -> None:
    """Add the ``power`` and ``sweep`` subcommands to the ``aplcohort`` parser."""
    p = subparsers.add_parser(
        "power", help="power and sample size of a log-rank test by simulation",
        description="Simulate replicate cohorts from a scenario file at each sample size and "
                    "report the power of the log-rank test between its arms.")
    p.add_argument("scenario", help="scenario YAML file, or a bundled scenario name")
    p.add_argument("--n", default=None,
                   help="sample sizes START:STOP:STEP (stop included) or a comma list "
                        "(default: the scenario's n)")
    p.add_argument("--target", type=float, default=None,
                   help="target power, a proportion in (0, 1) such as 0.8 (not 80): "
                        "report the smallest n reaching it")
    _common(p)
    p.set_defaults(handler=_power)
    s = subparsers.add_parser(
        "sweep", help="power for several scenarios x sample sizes (Dask optional)",
        description="Power sweep over scenarios x sample sizes x replicates; runs on Dask "
                    "when installed (pip install aplcohort[dask]), else in-process.")
    s.add_argument("scenarios", nargs="+", help="scenario YAML files or bundled names")
    s.add_argument("--n", required=True, help="sample sizes START:STOP:STEP or a comma list")
    s.add_argument("--scheduler", default="auto",
                   help="'auto' (Dask local cluster if installed, else in-process), 'local', "
                        "'none' (in-process) or a dask.distributed scheduler address "
                        "[tcp://]host:port")
    _common(s)
    s.set_defaults(handler=_sweep)
