"""``aplcohort validate FILE [--mapping MAP] [--sheet NAME]`` and
``aplcohort mapping from-redcap DICTIONARY.csv``."""

from __future__ import annotations

import sys
import warnings

from ..errors import DataQualityWarning


def register(subparsers) -> None:
    """Add the ``validate`` subcommand."""
    p = subparsers.add_parser(
        "validate", help="load and validate a patient table; print every problem",
        description="Load a patient table (CSV in any common encoding, XLSX, Parquet, SPSS, "
                    "Stata, SAS, a REDCap export, or a database URL such as "
                    "duckdb:///file.duckdb with --table/--query), check it against the data "
                    "dictionary and print every problem (row, patient, column, value, rule, "
                    "fix). Exit status 0 when valid (warnings allowed), 2 on errors.")
    p.add_argument("file", help="patient table (.csv, .xlsx, .parquet, .sav, .dta, .sas7bdat, "
                                ".xpt) or database URL (duckdb:///f.duckdb, postgresql:///db)")
    p.add_argument("--mapping", help="column mapping YAML (institution columns/codes -> dictionary)")
    p.add_argument("--sheet", help="Excel sheet name (default: the mapping's sheet, else the "
                                   "only visible sheet; several visible sheets need a name)")
    p.add_argument("--header-row", dest="header_row", type=int, metavar="N",
                   help="row (from 1) of the CSV or sheet that holds the column names (default: "
                        "the mapping's header_row, else the first row that is not empty)")
    p.add_argument("--max-xlsx-mib", dest="max_xlsx_mib", type=float, default=None,
                   metavar="MIB", help="limit on the decompressed size of an .xlsx workbook "
                                       "(default 512 MiB)")
    p.add_argument("--analysis", action="append", metavar="ENDPOINT",
                   help="also check the columns an analysis needs (core, OS, EFS, RFS, LFS, "
                        "CIR, NRM, ANC_recovery, PLT_recovery); repeatable")
    p.add_argument("--time-zero", dest="time_zero",
                   help="time zero for --analysis (relapse1, reinduction, response, mcr2, "
                        "postremission, or a date column)")
    p.add_argument("--encoding", help="text encoding of a CSV (default: detected and stated), "
                                      "e.g. cp949, euc-kr, latin-1, utf-16")
    p.add_argument("--query", help="for a database URL: one read-only SELECT")
    p.add_argument("--table", help="for a database URL: a table name")
    p.add_argument("--redcap-dictionary", dest="redcap_dictionary", metavar="CSV",
                   help="REDCap Data Dictionary CSV: FILE is then a REDCap raw CSV export")
    p.set_defaults(handler=_run_validate)

    m = subparsers.add_parser(
        "mapping", help="draft a column mapping (from a REDCap data dictionary)",
        description="Draft a column mapping to the data dictionary.")
    msub = m.add_subparsers(dest="mapping_command", metavar="SOURCE", required=True)
    r = msub.add_parser("from-redcap", help="draft a mapping from a REDCap Data Dictionary CSV",
                        description="Match each REDCap field to a data-dictionary column by name "
                                    "or label and each choice label to the column's vocabulary; "
                                    "print the mapping as YAML, with what could not be matched "
                                    "listed as comments.")
    r.add_argument("dictionary", help="REDCap Data Dictionary CSV")
    r.add_argument("--out", help="write the mapping to this file (default: print it); an "
                                 "existing file is not overwritten")
    r.set_defaults(handler=_run_from_redcap)


def _run_from_redcap(args) -> int:
    import os
    from pathlib import Path

    from .redcap import draft_mapping_yaml
    text = draft_mapping_yaml(args.dictionary)
    if args.out:
        from ..errors import InputError
        from ..plan.write import atomic_write_bytes, input_paths
        out = Path(args.out)
        if os.path.lexists(out) and not out.is_dir():  # a dangling link too: never written through
            link = " (a symbolic link)" if out.is_symlink() else ""
            raise InputError(f"{out}{link} exists; choose another --out (a mapping is never "
                             "overwritten)")
        # a new file beside it, then renamed: never written through a link, never half
        # written; the parent folder is created if missing
        atomic_write_bytes(out, text.encode("utf-8"), force=False,
                           protect=input_paths(args.dictionary))
        print(f"mapping drafted to {out}")
    else:
        sys.stdout.write(text)
    return 0


def _run_validate(args) -> int:
    from .io import load
    if args.analysis:  # a name that is not an analysis: one line, before the file is read
        from .schema import required_for
        for name in args.analysis:
            required_for(name, args.time_zero)

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
                      max_uncompressed_bytes=limit, encoding=args.encoding, query=args.query,
                      table=args.table, redcap_dictionary=args.redcap_dictionary,
                      header_row=args.header_row)
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
