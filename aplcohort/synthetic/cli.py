"""``aplcohort synth``: write synthetic cohorts.

Subcommands
-----------
``aplcohort synth min2022 --seed N --out DIR [--force]``
    Write the Min 2022 replica (``min2022.csv``, ``min2022_dictionary.csv``,
    ``min2022_provenance.json``, ``README.md``) into ``DIR``. ``DIR`` is written
    atomically; an existing ``DIR`` that aplcohort did not write, or that holds
    files the last run did not write or that were changed since, is refused
    unless ``--force`` (``docs/security.md``).
``aplcohort synth scenario FILE --n N --seed S --out FILE.csv [--force]``
    Simulate one cohort from a YAML scenario file (or a bundled scenario name
    such as ``admiral``) and write the tidy per-patient CSV; an existing file is
    never overwritten unless ``--force``.
``aplcohort synth trial {admiral,tower} --seed S --out FILE.csv [--force]``
    A synthetic r/r AML (ADMIRAL) or ALL (TOWER) cohort in the dictionary's columns
    (:mod:`aplcohort.synthetic.rr_trials`), ready for ``aplcohort run rr_aml`` /
    ``aplcohort run rr_all --data FILE.csv``.
"""

from __future__ import annotations

import argparse
import sys

from .._checks import seed_arg


def _min2022(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ..plan.write import output_transaction
    from . import min2022
    # Written into a temporary folder and moved into place when complete; an existing
    # folder that aplcohort did not write (no marker file), or that holds files the last
    # run did not write or that were changed since, is refused unless --force.
    with output_transaction(args.out, force=args.force, kind="synth") as tmp:
        paths = min2022.write_files(tmp, seed=args.seed)
    for name in sorted(paths):
        print(Path(args.out) / name)
    return 0


def _scenario(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .engine import simulate, to_frame
    from .scenario import load_scenario
    sc = load_scenario(args.file)
    sim = simulate(sc, n=args.n, reps=1, seed=args.seed)
    df = to_frame(sim, rep=0)
    from ..plan.write import atomic_write_bytes, input_paths
    out = Path(args.out)
    text = df.to_csv(index=False, lineterminator="\n", float_format="%.10g")
    # never overwrites unasked; never the scenario file, even with --force
    atomic_write_bytes(out, text.encode("utf-8"), force=args.force,
                       protect=input_paths(args.file))
    print(f"{out}: {len(df)} synthetic patients (scenario {sc.name!r}, seed {args.seed})", file=sys.stderr)
    return 0


def _trial(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ..plan.write import atomic_write_bytes
    from .rr_trials import generate
    df = generate(args.trial, seed=args.seed)
    out = Path(args.out)
    text = df.to_csv(index=False, lineterminator="\n", na_rep="")
    atomic_write_bytes(out, text.encode("utf-8"), force=args.force)  # never overwrites unasked
    print(f"{out}: {len(df)} synthetic patients (trial {args.trial!r}, seed {args.seed}); "
          f"analyse with: aplcohort run {'rr_aml' if args.trial == 'admiral' else 'rr_all'} "
          f"--data {out} --out DIR", file=sys.stderr)
    return 0


def register(subparsers) -> None:
    """Add the ``synth`` subcommand to the ``aplcohort`` parser."""
    p = subparsers.add_parser("synth", help="generate labelled synthetic cohorts",
                              description="Generate labelled synthetic cohorts from explicit models.")
    sub = p.add_subparsers(dest="synth_command", metavar="WHAT", required=True)
    m = sub.add_parser("min2022", help="the Min 2022 relapsed-APL replica (52 patients)")
    m.add_argument("--seed", type=seed_arg, default=2022, help="random seed (default 2022)")
    m.add_argument("--out", required=True, help="output directory")
    m.add_argument("--force", action="store_true",
                   help="replace an existing --out folder whole, deleting every file in "
                        "it; needed when aplcohort did not write it, or it holds files that "
                        "the last run did not write or that were changed since (without "
                        "--force these are named and nothing is written)")
    m.set_defaults(handler=_min2022)
    s = sub.add_parser("scenario", help="simulate a cohort from a YAML scenario file")
    s.add_argument("file", help="scenario YAML file, or the name of a bundled scenario")
    s.add_argument("--n", type=int, default=None, help="number of patients (default: the scenario's n)")
    s.add_argument("--seed", type=seed_arg, default=1, help="random seed (default 1)")
    s.add_argument("--out", required=True, help="output CSV file")
    s.add_argument("--force", action="store_true", help="replace an existing --out file")
    s.set_defaults(handler=_scenario)
    t = sub.add_parser("trial", help="a synthetic r/r AML (admiral) or ALL (tower) cohort in "
                                     "dictionary columns")
    t.add_argument("trial", choices=["admiral", "tower"])
    t.add_argument("--seed", type=seed_arg, default=1, help="random seed (default 1)")
    t.add_argument("--out", required=True, help="output CSV file")
    t.add_argument("--force", action="store_true", help="replace an existing --out file")
    t.set_defaults(handler=_trial)
