"""The ``aplcohort`` command line.

Each capability adds a subcommand by providing a module with a
``register(subparsers)`` function (listed in ``_SUBCOMMAND_MODULES``); the
registered handler receives the parsed ``argparse.Namespace`` and returns an
exit status. Errors derived from :class:`aplcohort.errors.InputError` are
printed as a readable report and the command exits with status 2, without a
traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from ._version import __version__
from .errors import InputError

_SUBCOMMAND_MODULES = [
    "aplcohort.cohort.cli",
    "aplcohort.synthetic.cli",
    "aplcohort.plan.cli",
    "aplcohort.batch.cli",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="aplcohort",
        description="Retrospective cohort analysis of relapsed acute leukemia (APL first): "
                    "load and validate a patient table, derive endpoints, compare treatments "
                    "with survival and competing-risks methods, and export publication output.",
    )
    parser.add_argument("--version", action="version", version=f"aplcohort {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for modname in _SUBCOMMAND_MODULES:
        try:
            mod = importlib.import_module(modname)
        except ModuleNotFoundError as exc:
            if exc.name == modname:
                continue  # capability not present in this build
            raise
        mod.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 0
    try:
        return int(args.handler(args) or 0)
    except InputError as exc:
        print(f"aplcohort {args.command}: error\n{exc}", file=sys.stderr)
        return 2
    except FileNotFoundError as exc:
        print(f"aplcohort {args.command}: error\nfile not found: {exc.filename}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
