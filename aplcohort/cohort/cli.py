"""``aplcohort validate FILE [--mapping MAP] [--sheet NAME]``."""

from __future__ import annotations

import sys
import warnings

from ..errors import DataQualityWarning


def register(subparsers) -> None:
    """Add the ``validate`` subcommand."""
    p = subparsers.add_parser(
        "validate", help="load and validate a patient table; print every problem",
        description="Load a patient table (CSV, XLSX or Parquet), check it against the data "
                    "dictionary and print every problem (row, patient, column, value, rule, "
                    "fix). Exit status 0 when valid (warnings allowed), 2 on errors.")
    p.add_argument("file", help="patient table (.csv, .xlsx, .parquet)")
    p.add_argument("--mapping", help="column mapping YAML (institution columns/codes -> dictionary)")
    p.add_argument("--sheet", help="Excel sheet name (default: the mapping's sheet or the first)")
    p.set_defaults(handler=_run_validate)


def _run_validate(args) -> int:
    from .io import load

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)  # printed in the report below
        cohort = load(args.file, mapping=args.mapping, sheet=args.sheet)
    out = sys.stdout
    print(str(cohort.report), file=out)
    for note in cohort.source.get("notes", []):
        print(f"note: {note}", file=out)
    print("", file=out)
    print("Cohort summary", file=out)
    print(cohort.summary_text(), file=out)
    return 0
