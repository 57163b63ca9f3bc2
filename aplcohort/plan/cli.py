"""``aplcohort run`` and ``aplcohort replicate``."""

from __future__ import annotations

from pathlib import Path

from .._checks import seed_arg


def _count_phrase(n: int, verdict: str) -> str:
    """``"3 do not hold"``, ``"1 does not hold"``: a verdict (written for one fact) after a count."""
    if verdict.startswith("does not ") and n != 1:
        verdict = "do not " + verdict[len("does not "):]
    return f"{n} {verdict}"


def _print_summary(res, out):
    n_hold = None
    print(f"{len(res.analyses)} analyses on {res.cohort.n} patients"
          f"{' (SYNTHETIC data)' if res.provenance.get('synthetic_data') else ''}")
    if res.published is not None:
        pub = res.published
        if "verdict" in pub.columns:
            # verdicts of aplcohort.plan.min2022.published_vs_reproduced: "holds" only where the
            # quantity was reproduced; by-construction rows of the synthetic replica are not findings
            vc = pub["verdict"].value_counts()
            # rows decided by the generator's fixed counts agree "by construction": counted
            # apart from the facts that hold (the counts themselves and the rows they force)
            eq, forced = int(vc.get("equal by construction", 0)), int(vc.get("agrees by construction", 0))
            line = f"published vs reproduced: {int(pub['holds'].sum())}/{len(pub)} facts hold"
            if eq + forced:
                line += (f"; {eq + forced} more agree by construction, not findings ({eq} equal "
                         f"count{'s' * (eq != 1)}" + (f", {forced} forced by those counts" if forced
                                                       else "") + ")")
            rest = ", ".join(_count_phrase(int(v), k) for k, v in vc.items()
                             if k not in ("holds", "equal by construction", "agrees by construction"))
            print(line + (f"; {rest}" if rest else ""))
            if pub.attrs.get("explanation"):
                print(pub.attrs["explanation"])
            marks = {"holds": "ok ", "equal by construction": "=  ", "agrees by construction": "=  ",
                     "not estimable": "n/e"}
            why = pub.attrs.get("why") or {}
            for _, r in pub.iterrows():
                mark = marks.get(r["verdict"], "NO ")
                print(f"  {mark} [{r['kind']}] {r['fact'].strip()}: published {r['published']}; "
                      f"this run {r['reproduced']}")
                if why.get(r["id"]):  # why the row is labelled so, who was not counted (table note)
                    print(f"        note: {why[r['id']]}")
        else:
            n_hold = int(pub["holds"].sum())
            print(f"published vs reproduced: {n_hold}/{len(pub)} facts hold")
            for _, r in pub.iterrows():
                mark = "ok " if r["holds"] else "NO "
                print(f"  {mark} {r['fact']}: published {r['published']}; this run {r['reproduced']}")
    for w in res.warnings:
        print(f"warning: {w}")
    failed = res.failed
    bad = {k: v for k, v in res.not_estimable.items() if k not in failed}
    if bad:
        print(f"{len(bad)} analysis(es) not estimable (written with status 'not estimable'):")
        for aid, reason in bad.items():
            print(f"  {aid}: {reason}")
    print(f"wrote {out}/results.json, tables/, figures/, report.html")


def _exit(res, args) -> int:
    """0; 1 when an analysis failed by an internal error (a bug: the outputs are written,
    the failure is said, and a script sees it); 2 under --strict when any analysis is not
    estimable."""
    import sys
    failed = res.failed
    if failed:
        print(f"error: {len(failed)} analysis(es) failed by an internal error of aplcohort "
              f"(a bug, not a property of the data; the other analyses were written): "
              f"{', '.join(failed)}. Please report it with the plan.", file=sys.stderr)
        return 1
    bad = res.not_estimable
    if getattr(args, "strict", False) and bad:
        print(f"--strict: {len(bad)} analysis(es) not estimable: {', '.join(bad)}", file=sys.stderr)
        return 2
    return 0


def _run(args) -> int:
    from .runner import run_plan
    from .write import OutputLock, check_output_dir, input_paths, write_outputs
    # the plan, data and mapping files are never inside --out (it is replaced whole)
    inputs = input_paths(args.plan, args.data, args.mapping)
    with OutputLock(args.out):  # a second run into the same --out stops here, with a message
        check_output_dir(args.out, force=args.force, protect=inputs)  # refuse before any work
        res = run_plan(args.plan, data=args.data, mapping=args.mapping, sheet=args.sheet, out=None,
                       _prerender=True, header_row=args.header_row)
        write_outputs(res, args.out, force=args.force, protect=inputs)  # confined, atomic
    _print_summary(res, args.out)
    return _exit(res, args)


def _replicate(args) -> int:
    import tempfile

    from .runner import run_plan
    from .write import OutputLock, check_output_dir, input_paths, write_outputs
    inputs = input_paths(args.data, args.mapping)
    with OutputLock(args.out), tempfile.TemporaryDirectory(prefix="aplcohort-replica-") as tmp:
        check_output_dir(args.out, force=args.force, protect=inputs)
        data, extra = args.data, None
        trial = args.study in ("admiral", "tower")
        if data is None:  # the replica goes into --out/data with the outputs, in one transaction
            if trial:  # synthetic ADMIRAL / TOWER cohort (aplcohort.synthetic.rr_trials)
                from ..synthetic.rr_trials import write_files as write_trial
                data = write_trial(Path(tmp) / "data", args.study, seed=args.seed)[f"{args.study}.csv"]
            else:
                from ..synthetic.min2022 import write_files
                data = write_files(Path(tmp) / "data", seed=args.seed)["min2022.csv"]
            extra = {"data": Path(tmp) / "data"}
        if trial:
            from ..synthetic.trial_facts import PLANS, published_vs_reproduced
            res = run_plan(PLANS[args.study], data=data, mapping=args.mapping, sheet=args.sheet,
                           out=None, _prerender=True, header_row=args.header_row)
            res.published = published_vs_reproduced(res.cohort, args.study)
        else:
            res = run_plan(args.study, data=data, mapping=args.mapping, sheet=args.sheet, out=None,
                           _prerender=True, header_row=args.header_row)
        write_outputs(res, args.out, force=args.force, extra_dirs=extra, protect=inputs)
    if extra:
        name = {"admiral": "ADMIRAL cohort", "tower": "TOWER cohort"}.get(args.study, "Min 2022 replica")
        print(f"synthetic {name} (seed {args.seed}) written to "
              f"{Path(args.out) / 'data' / (args.study + '.csv')}")
    _print_summary(res, args.out)
    return _exit(res, args)


def register(sub) -> None:
    p = sub.add_parser("run", help="run an analysis plan (YAML) and write results, tables, figures, report",
                       description="Run an analysis plan: writes DIR/results.json, DIR/tables/, "
                                   "DIR/figures/, DIR/report.html and DIR/provenance.json.")
    p.add_argument("plan", help="plan file (YAML) or the name of a bundled plan (min2022)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--data", help="cohort file (overrides data.source in the plan)")
    p.add_argument("--mapping", help="column mapping (YAML) for an institutional cohort")
    p.add_argument("--sheet", help="Excel sheet name")
    p.add_argument("--header-row", dest="header_row", type=int, metavar="N",
                   help="row (from 1) of the CSV or sheet that holds the column names "
                        "(overrides data.header_row; default: the first row that is not empty)")
    p.add_argument("--strict", action="store_true",
                   help="exit with status 2 when any analysis is not estimable (default: written "
                        "with status 'not estimable', listed, exit 0)")
    p.add_argument("--force", action="store_true",
                   help="replace an existing --out folder whole, deleting every file in "
                        "it; needed when aplcohort did not write it, or it holds files that "
                        "the last run did not write or that were changed since (without "
                        "--force these are named and nothing is written)")
    p.set_defaults(handler=_run)

    r = sub.add_parser("replicate", help="replicate a published study (min2022, admiral, tower) on "
                                         "a synthetic cohort or on your own cohort",
                       description="Replicate Min et al., Blood Res 2022 (relapsed APL; plan min2022), "
                                   "ADMIRAL (Perl et al., NEJM 2019; r/r FLT3 AML; plan rr_aml) or TOWER "
                                   "(Kantarjian et al., NEJM 2017; r/r B-ALL; plan rr_all). Without --data "
                                   "a SYNTHETIC cohort is generated (seed 2022) and analysed; with --data "
                                   "your cohort is compared with the publication (admiral/tower need a "
                                   "trial_arm column with the trial's arm names).")
    r.add_argument("study", choices=["min2022", "admiral", "tower"])
    r.add_argument("--out", required=True, help="output folder, e.g. reports/min2022")
    r.add_argument("--data", help="institutional cohort file (CSV, XLSX or Parquet)")
    r.add_argument("--mapping", help="column mapping (YAML) from your columns and codes to the dictionary")
    r.add_argument("--sheet", help="Excel sheet name")
    r.add_argument("--header-row", dest="header_row", type=int, metavar="N",
                   help="row (from 1) of the CSV or sheet that holds the column names")
    r.add_argument("--seed", type=seed_arg, default=2022, help="seed of the synthetic replica (default 2022)")
    r.add_argument("--strict", action="store_true",
                   help="exit with status 2 when any analysis is not estimable")
    r.add_argument("--force", action="store_true",
                   help="replace an existing --out folder whole, deleting every file in "
                        "it; needed when aplcohort did not write it, or it holds files that "
                        "the last run did not write or that were changed since (without "
                        "--force these are named and nothing is written)")
    r.set_defaults(handler=_replicate)
