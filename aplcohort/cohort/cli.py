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
    p.add_argument("--sheet", help="Excel sheet name (default: the mapping's sheet, else the "
                                   "only visible sheet; several visible sheets need a name)")
    p.add_argument("--max-xlsx-mib", dest="max_xlsx_mib", type=float, default=None,
                   metavar="MIB", help="limit on the decompressed size of an .xlsx workbook "
                                       "(default 512 MiB)")
    p.add_argument("--analysis", action="append", metavar="ENDPOINT",
                   help="also check the columns an endpoint needs (OS, EFS, RFS, CIR, NRM, "
                        "ANC_recovery, PLT_recovery); repeatable")
    p.add_argument("--time-zero", dest="time_zero",
                   help="time zero for --analysis (relapse1, reinduction, response, mcr2, "
                        "postremission, or a date column)")
    p.set_defaults(handler=_run_validate)


def _run_validate(args) -> int:
    from .io import load

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)  # printed in the report below
        limit = None
        if args.max_xlsx_mib is not None:
            if not args.max_xlsx_mib > 0:
                from .io import CohortLoadError
                raise CohortLoadError(f"--max-xlsx-mib must be a positive number of MiB, got "
                                      f"{args.max_xlsx_mib:g}")
            limit = int(args.max_xlsx_mib * 2**20)
        cohort = load(args.file, mapping=args.mapping, sheet=args.sheet,
                      max_uncompressed_bytes=limit)
    out = sys.stdout
    print(str(cohort.report), file=out)
    for note in cohort.source.get("notes", []):
        print(f"note: {note}", file=out)
    print("", file=out)
    print("Cohort summary", file=out)
    print(cohort.summary_text(), file=out)
    if args.analysis:
        from .validate import check_required
        for name in args.analysis:
            check_required(cohort.data, name, args.time_zero)  # raises -> exit 2 with the report
            tz = f" from {args.time_zero}" if args.time_zero else ""
            print(f"columns for {name}{tz}: all present", file=out)
    return 0
