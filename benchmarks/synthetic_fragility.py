"""How fragile are the Min 2022 abstract's facts in a 52-patient cohort?

Generates the synthetic Min 2022 replica for seeds 1..200 (same model, same
fixed counts; only the random draws differ), evaluates every fact of the
abstract on each with ``aplcohort.plan.min2022.evaluate_facts`` -- the very
function the plan report uses, so the definitions (OS from CR2, second relapse
at 60 months from CR2, ...) are the report's -- and writes

* ``aplcohort/synthetic/min2022_seed_shares.json``: per fact, the share of seeds
  in which it agrees with the abstract and the per-seed outcomes (the report
  reads the shares; a test recomputes a few seeds and compares);
* ``docs/min2022_fragility.md``: the same as a readable table, with checks of the
  replica's clinical plausibility (allo deaths, early deaths of molecular
  relapses, transplant timing, ...).

Run:  PYTHONPATH=. .venv/bin/python benchmarks/synthetic_fragility.py [--seeds 200]
Takes well under a minute per 100 seeds on one core.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import beta

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from aplcohort.cohort import from_dataframe  # noqa: E402
from aplcohort.plan import min2022 as facts_mod  # noqa: E402
from aplcohort.synthetic import min2022  # noqa: E402

SHARES = ROOT / "aplcohort" / "synthetic" / "min2022_seed_shares.json"
DOC = ROOT / "docs" / "min2022_fragility.md"


def clopper_pearson(x, n, level=0.95):
    a = (1 - level) / 2
    lo = 0.0 if x == 0 else beta.ppf(a, x, n - x + 1)
    hi = 1.0 if x == n else beta.ppf(1 - a, x + 1, n - x)
    return float(lo), float(hi)


def plausibility(df: pd.DataFrame) -> dict:
    """Clinical plausibility checks of one generated cohort (not facts of the abstract)."""
    d = {c: pd.to_datetime(df[c]) for c in min2022.DATE_COLUMNS}
    mod, reg, rt = df.postremission_modality, df.reinduction_regimen, df.relapse_type
    allo = mod == "allo HSCT"
    tx = mod.isin(["auto HSCT", "allo HSCT"])
    gap = (d["postremission_start_date"] - d["response_date"]).dt.days
    treated_other = (reg == "ATO-based") & (rt != "hematologic")
    ic = reg == "IC"
    anc0 = (d["anc_recovery_date"] == d["reinduction_start_date"])
    return {
        "ato_group_ato_mcr2": int(((mod == "ATO-based") & (reg == "ATO-based") & (df.response == "mCR2")).sum()),
        "allo_from_ic_or_pcr_positive": int((allo & ((reg == "IC") | (df.response != "mCR2"))).sum()),
        "allo_deaths": int((allo & df.death_date.notna()).sum()),
        "molecular_not_reinduced": int(((rt == "molecular") & (reg == "none")).sum()),
        "molecular_early_death": int(((rt == "molecular") & (df.no_reinduction_reason
                                                            == "early death before treatment")).sum()),
        "treated_non_hematologic": int(treated_other.sum()),
        "treated_non_hematologic_anc_day0": int((treated_other & anc0).sum()),
        "ic_treated": int(ic.sum()),
        "ic_anc_day0": int((ic & anc0).sum()),
        "auto_gap_days": gap[mod == "auto HSCT"].tolist(),
        "allo_gap_days": gap[allo].tolist(),
        "hsct_gap_days_min": int(gap[tx].min()),
        # the disease course (generator >= 3.0.0): salvage -> CR3 waiting times, deaths by state
        "salvaged": int(df.salvage2_modality.notna().sum()),
        "cr3": int(df.cr3_date.notna().sum()),
        "cr3_gap_allo": (d["cr3_date"] - d["salvage2_start_date"]).dt.days[
            df.salvage2_modality == "allo HSCT"].dropna().tolist(),
        "cr3_gap_ato": (d["cr3_date"] - d["salvage2_start_date"]).dt.days[
            df.salvage2_modality == "ATO-based"].dropna().tolist(),
        "transitions": sorted(_observed_transitions(df)),
    }


def _observed_transitions(df: pd.DataFrame) -> set:
    from aplcohort.multistate import build_transitions, relapsed_leukemia_model
    t = build_transitions(from_dataframe(df), relapsed_leukemia_model()).data
    t = t[t.to_state != "censor"]
    return set(zip(t.from_state, t.to_state))


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=200)
    ap.add_argument("--out", default=str(DOC))
    ap.add_argument("--shares", default=str(SHARES))
    args = ap.parse_args(argv)
    seeds = list(range(1, args.seeds + 1))
    per: dict[str, list] = {}
    pvals: dict[str, list] = {}
    est: dict[str, list] = {}
    labels: dict[str, str] = {}
    tests: dict[str, str] = {}
    plaus = []
    for s in seeds:
        df = min2022.generate(s)
        for f in facts_mod.evaluate_facts(from_dataframe(df)):
            k = f["id"]
            labels[k], tests[k] = f["fact"], f["test"]
            per.setdefault(k, []).append(bool(f["matches"]))
            pvals.setdefault(k, []).append(np.nan if f["p"] is None else f["p"])
            est.setdefault(k, []).append(np.nan if f["reproduced_estimate"] is None else f["reproduced_estimate"])
        plaus.append(plausibility(df))
    n = len(seeds)
    out = {
        "generator": min2022.GENERATOR,
        "generator_version": min2022.GENERATOR_VERSION,
        "definitions": "aplcohort.plan.min2022.evaluate_facts",
        "second_relapse_horizon_months": facts_mod.SECOND_RELAPSE_HORIZON_MONTHS,
        "seeds": [seeds[0], seeds[-1]],
        "n_seeds": n,
        "facts": {},
        "per_seed": {k: "".join("1" if v else "0" for v in per[k]) for k in per},
    }
    for k in per:
        x = int(np.sum(per[k]))
        lo, hi = clopper_pearson(x, n)
        p = np.asarray(pvals[k], float)
        e = np.asarray(est[k], float)
        out["facts"][k] = {
            "fact": labels[k], "kind": facts_mod.REPLICA_KIND.get(k, "emergent"), "test": tests[k],
            "agrees": x, "n": n, "share": x / n, "share_ci": [lo, hi],
            "median_p": None if np.all(np.isnan(p)) else float(np.nanmedian(p)),
            "median_estimate": None if np.all(np.isnan(e)) else float(np.nanmedian(e)),
            "estimate_q10_q90": None if np.all(np.isnan(e)) else
            [float(np.nanquantile(e, 0.1)), float(np.nanquantile(e, 0.9))],
        }
    Path(args.shares).write_text(json.dumps(out, indent=1, sort_keys=True) + "\n", encoding="utf-8")

    default = {f["id"]: f for f in facts_mod.evaluate_facts(from_dataframe(min2022.generate(2022)))}
    L = ["# Min 2022 replica: how often each fact agrees with the abstract over 200 seeds", "",
         "SYNTHETIC DATA. Written by `benchmarks/synthetic_fragility.py` "
         f"(generator `{min2022.GENERATOR}` {min2022.GENERATOR_VERSION}, seeds {seeds[0]}..{seeds[-1]}, "
         "default parameters). Every fact is evaluated by `aplcohort.plan.min2022.evaluate_facts`, the "
         "function the plan report uses, so the definitions are the report's: OS and RFS from CR2 "
         "(response date), count recovery from reinduction start with death before recovery competing, "
         "second relapse from CR2 with death in remission competing, compared at "
         f"{facts_mod.SECOND_RELAPSE_HORIZON_MONTHS:g} months. The shares are also stored in "
         "`aplcohort/synthetic/min2022_seed_shares.json`, which the report reads.", "",
         "*Kind* says how a fact arises in the replica: **by construction** (the generator fixes it for "
         "every seed, so its agreement shows nothing), **model-driven** (it follows from rates the "
         "generator was given), **emergent** (not targeted by the generator). *Agrees* means: count "
         "equal; stated direction with p < 0.05; p >= 0.05 for 'not significant'; for a percentage, "
         "the published value inside the 95 % CI of the estimate.", "",
         f"| fact | kind | test | agrees (of {n}) | % | 95 % CI (Clopper-Pearson) | median p | "
         "median estimate (10th-90th pct) | seed 2022 |",
         "|---|---|---|---|---|---|---|---|---|"]
    for k, f in out["facts"].items():
        lo, hi = f["share_ci"]
        mp = "" if f["median_p"] is None else f"{f['median_p']:.3g}"
        if k.startswith("cir_") and k != "cir_test" and f["median_estimate"] is not None:
            q = f["estimate_q10_q90"]
            me = f"{100 * f['median_estimate']:.1f}% ({100 * q[0]:.1f}-{100 * q[1]:.1f})"
        else:
            me = ""
        dft = default[k]["reproduced"]
        L.append(f"| {f['fact'].strip()} | {f['kind']} | {f['test']} | {f['agrees']} | {100 * f['share']:.1f} | "
                 f"{100 * lo:.1f}-{100 * hi:.1f} | {mp} | {me} | {dft} |")
    non_constr = [k for k in per if facts_mod.REPLICA_KIND.get(k) != "by construction"]
    allq = np.all([per[k] for k in non_constr], axis=0)
    x = int(allq.sum())
    lo, hi = clopper_pearson(x, n)
    L.append(f"| **every non-constructed fact at once** | | | {x} | {100 * x / n:.1f} | "
             f"{100 * lo:.1f}-{100 * hi:.1f} | | | |")
    pv = np.asarray(pvals["cir_test"], float)
    L += ["", "P = 0.878 is not comparable with the Gray p above (the abstract does not state its test); "
          f"for the record, Gray's p >= 0.8 in {int(np.sum(pv >= 0.8))} of {n} seeds "
          f"(median {np.nanmedian(pv):.3f}).", ""]

    P = pd.DataFrame(plaus)
    auto_gap = np.concatenate([np.asarray(g, float) for g in P.auto_gap_days])
    allo_gap = np.concatenate([np.asarray(g, float) for g in P.allo_gap_days])
    cr3a = np.concatenate([np.asarray(g, float) for g in P.cr3_gap_allo])
    cr3o = np.concatenate([np.asarray(g, float) for g in P.cr3_gap_ato])
    seen = {tuple(t) for ts in P.transitions for t in ts}
    declared = {(a, b) for a, b, *_ in min2022.COURSE_MODEL}
    L += ["## Plausibility of the replica over the same seeds", "",
          "| check | result |", "|---|---|",
          f"| ATO-reinduced mCR2 patients in the ATO-based group (of 19) | "
          f"{int(P.ato_group_ato_mcr2.min())}-{int(P.ato_group_ato_mcr2.max())} (by construction: 18) |",
          f"| allo patients IC-reinduced or not in mCR2 (of 6) | "
          f"{int(P.allo_from_ic_or_pcr_positive.min())}-{int(P.allo_from_ic_or_pcr_positive.max())} |",
          f"| seeds with at least one death in the allo group | {int((P.allo_deaths > 0).sum())} of {n} "
          f"({100 * (P.allo_deaths > 0).mean():.1f} %) |",
          f"| molecular relapses not reinduced / of them early death before treatment | "
          f"{int(P.molecular_not_reinduced.sum())} / {int(P.molecular_early_death.sum())} |",
          f"| ATO-treated molecular or extramedullary relapses with ANC never < 0.5 (recovery on day 0) | "
          f"{int(P.treated_non_hematologic_anc_day0.sum())} of {int(P.treated_non_hematologic.sum())} |",
          f"| IC-treated patients with ANC never < 0.5 | {int(P.ic_anc_day0.sum())} of {int(P.ic_treated.sum())} |",
          f"| days from CR2 to auto HSCT: median (range) | {np.median(auto_gap):.0f} "
          f"({auto_gap.min():.0f}-{auto_gap.max():.0f}) |",
          f"| days from CR2 to allo HSCT: median (range) | {np.median(allo_gap):.0f} "
          f"({allo_gap.min():.0f}-{allo_gap.max():.0f}) |",
          f"| salvaged second relapses with a CR3 date (cr3_date) | {int(P.cr3.sum())} of "
          f"{int(P.salvaged.sum())} |",
          f"| days from salvage allo HSCT to CR3: median (range) | {np.median(cr3a):.0f} "
          f"({cr3a.min():.0f}-{cr3a.max():.0f}) |",
          f"| days from salvage ATO-based to CR3: median (range) | {np.median(cr3o):.0f} "
          f"({cr3o.min():.0f}-{cr3o.max():.0f}) |",
          f"| transitions of the declared model (COURSE_MODEL, {len(declared)}) observed over the seeds | "
          f"{len(seen & declared)}; never: {', '.join(f'{a} -> {b}' for a, b in sorted(declared - seen)) or 'none'}"
          f"; undeclared: {len(seen - declared)} |", "",
          "Reading: the counts of the abstract are fixed by design, and so are the rows those counts "
          "force (labelled by construction): the mCR2 comparison (ATO 30/30 is fixed; only the IC "
          "rate is drawn, and the row fails only if at least 9 of the 11 IC patients reach mCR2) and "
          "the 50.7 % / 41.7 % rows (9/18 and 5/12 relapses, all within 5 years of CR2, put the "
          "60-month incidence at or above 50.0 % / 41.7 %; because 18 and 12 patients give 95 % CIs "
          "about 50 points wide, the published values lie inside them in every seed - the abstract's "
          "percentages cannot discriminate between models). The other ATO advantages (count "
          "recovery, infections) and the absence of survival differences are given to the generator "
          "as rates, so their agreement shows that the generator and the analysis agree, not that a "
          "finding was reproduced."]
    Path(args.out).write_text("\n".join(L) + "\n", encoding="utf-8")
    print("\n".join(L))


if __name__ == "__main__":
    main()
