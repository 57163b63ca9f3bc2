"""Min 2022 specifics: the patient flow (Fig. 1 analogue) and "published vs reproduced".

Every fact the abstract of Min GJ, Cho BS, et al. (Blood Res 2022;57:197-206)
states is checked against this run's data and analyses. Counts are read from
the cohort; comparisons from the plan's analyses (ids of the bundled plan).
"""

from __future__ import annotations

import pandas as pd

from ..cohort.attrition import AttritionLog

REINDUCTION = ["ATO-based", "IC"]
CONSOLIDATION = ["ATO-based", "auto HSCT", "allo HSCT"]


def _reasons(d: pd.DataFrame, mask, column: str, default: str) -> dict:
    sub = d[mask]
    if column in d.columns:
        r = sub[column].astype(object).where(sub[column].notna(), default)
    else:
        r = pd.Series(default, index=sub.index)
    out: dict[str, list[str]] = {}
    for reason, pid in zip(r, sub["patient_id"]):
        out.setdefault(str(reason), []).append(str(pid))
    return out


def study_flow(cohort) -> tuple[AttritionLog, dict]:
    """Attrition log and group splits of the study flow (relapse -> reinduction -> consolidation)."""
    d = cohort.data
    log = AttritionLog(n_start=len(d), label="Patients with relapsed APL")
    reg = d.get("reinduction_regimen", pd.Series(index=d.index, dtype=object))
    reinduced = reg.notna() & (reg != "none")
    log.record("Received reinduction", len(d), d.loc[~reinduced, "patient_id"], "Not reinduced",
               reasons=_reasons(d, ~reinduced, "no_reinduction_reason", "reason not recorded"))
    splits = {"Received reinduction": {k: int(v) for k, v in reg[reinduced].value_counts().items()}}
    splits["Received reinduction"] = {k: splits["Received reinduction"][k] for k in
                             [*REINDUCTION, *sorted(set(splits["Received reinduction"]) - set(REINDUCTION))]
                             if k in splits["Received reinduction"]}
    mod = d.get("postremission_modality", pd.Series(index=d.index, dtype=object))
    cons = reinduced & mod.isin(CONSOLIDATION)
    not_cons = reinduced & ~cons
    reasons = _reasons(d, not_cons, "no_postremission_reason", "reason not recorded")
    log.record("Post-remission treatment in CR2", int(reinduced.sum()), d.loc[not_cons, "patient_id"],
               "No post-remission treatment group", reasons=reasons)
    counts = mod[cons].value_counts()
    splits["Post-remission treatment in CR2"] = {k: int(counts[k]) for k in CONSOLIDATION if k in counts}
    return log, splits


def _fmt_p(p):
    """'p = 0.022' / 'p < 0.001' (journal style)."""
    from ..tables.format import format_p
    return "p = NA" if p is None else format_p(p, prefix=True)


def published_vs_reproduced(cohort, analyses: dict) -> pd.DataFrame:
    """Each fact of the abstract, its published value, this run's value and whether it holds."""
    d = cohort.data
    rows = []

    def count(label, published, value):
        rows.append({"fact": label, "published": str(published), "reproduced": str(value),
                     "holds": bool(value == published)})

    def col(c):
        return d[c] if c in d.columns else pd.Series(pd.NA, index=d.index, dtype=object)

    reg, mod, resp = col("reinduction_regimen"), col("postremission_modality"), col("response")
    count("Patients with relapsed APL", 52, len(d))
    count("Received reinduction", 41, int((reg.notna() & (reg != "none")).sum()))
    count("ATO-based reinduction", 30, int((reg == "ATO-based").sum()))
    count("Intensive-chemotherapy (IC) reinduction", 11, int((reg == "IC").sum()))
    count("Post-remission: ATO-based", 19, int((mod == "ATO-based").sum()))
    count("Post-remission: autologous HSCT", 12, int((mod == "auto HSCT").sum()))
    count("Post-remission: allogeneic HSCT", 6, int((mod == "allo HSCT").sum()))
    base = (reg == "ATO-based") & (resp == "mCR2") & col("relapse2_date").notna()
    count("Second relapse after ATO reinduction and mCR2: ATO-based group", 9,
          int((base & (mod == "ATO-based")).sum()))
    count("Second relapse after ATO reinduction and mCR2: auto-HSCT group", 5,
          int((base & (mod == "auto HSCT")).sum()))
    r2 = base & mod.isin(["ATO-based", "auto HSCT"])
    sal, dead = col("salvage2_modality"), col("death_date").notna()
    count("Salvage allogeneic HSCT after second relapse", 7, int((r2 & (sal == "allo HSCT")).sum()))
    count("  of whom alive", 6, int((r2 & (sal == "allo HSCT") & ~dead).sum()))
    count("Salvage ATO without HSCT after second relapse", 7, int((r2 & (sal == "ATO-based")).sum()))
    count("  of whom died of disease progression", 5,
          int((r2 & (sal == "ATO-based") & dead & (col("death_cause") == "disease progression")).sum()))
    count("  of whom alive in mCR2", 2,
          int((r2 & (sal == "ATO-based") & ~dead & (col("status_after_salvage2") == "mCR")).sum()))

    def comparison(label, published, aid, direction):
        a = analyses.get(aid)
        if a is None:
            rows.append({"fact": label, "published": published, "reproduced": "analysis not run",
                         "holds": False})
            return
        s = a.summary
        p = s.get("p")
        ok_dir, text = direction(s)
        holds = ok_dir and p is not None and p < 0.05
        rows.append({"fact": label, "published": published,
                     "reproduced": f"{text}; {_fmt_p(p)}", "holds": bool(holds)})

    def rate_dir(higher: bool):
        def f(s):
            g = s.get("groups", {})
            a, b = g.get("ATO-based", {}), g.get("IC", {})
            ra, rb = a.get("rate"), b.get("rate")
            if ra is None or rb is None:
                return False, "not estimable"
            ok = ra > rb if higher else ra < rb
            return ok, (f"ATO {a['events']}/{a['n']} ({100*ra:.1f}%) vs "
                        f"IC {b['events']}/{b['n']} ({100*rb:.1f}%)")
        return f

    def recovery_dir(s):
        g = s.get("groups", {})
        a, b = g.get("ATO-based", {}), g.get("IC", {})
        ma, mb = a.get("median"), b.get("median")
        if ma is None:
            return False, "median time to recovery not reached after ATO"
        faster = mb is None or ma < mb
        mb_txt = "not reached" if mb is None else f"{mb:g}"
        return faster, f"median days to recovery: ATO {ma:g} vs IC {mb_txt} (Gray's test)"

    comparison("mCR2 rate higher after ATO than IC", "higher, significant", "mcr2_by_reinduction", rate_dir(True))
    comparison("Neutrophil recovery superior after ATO", "superior (significant)",
               "anc_recovery_by_reinduction", recovery_dir)
    comparison("Platelet recovery superior after ATO", "superior (significant)",
               "plt_recovery_by_reinduction", recovery_dir)
    comparison("Infection rate lower after ATO", "lower (significant)", "infection_by_reinduction", rate_dir(False))

    for aid, label in (("os_by_consolidation", "No significant OS difference among ATO-based / auto / allo"),
                       ("rfs_by_consolidation", "No significant RFS difference among ATO-based / auto / allo")):
        a = analyses.get(aid)
        p = a.summary.get("p") if a is not None else None
        rows.append({"fact": label, "published": "not significant",
                     "reproduced": f"log-rank {_fmt_p(p)}", "holds": bool(p is not None and p >= 0.05)})
    a = analyses.get("second_relapse_ato_mcr2")
    if a is not None:
        g = a.summary.get("groups", {})
        p = a.summary.get("p")
        def at60(v):
            e = [x["estimate"] for x in v.get("at", []) if x["time"] == 60.0 and x["estimate"] is not None]
            return f", 5-y CIR {100*e[0]:.1f}%" if e else ""
        txt = "; ".join(f"{k}: {v['events']}/{v['n']} relapsed{at60(v)}" for k, v in g.items())
        rows.append({"fact": "Second relapse, ATO-based vs auto HSCT after ATO mCR2 (not significant)",
                     "published": "50.7% vs 41.7%, P = 0.878",
                     "reproduced": f"{txt}; Gray {_fmt_p(p)}",
                     "holds": bool(p is not None and p >= 0.05)})
    return pd.DataFrame(rows, columns=["fact", "published", "reproduced", "holds"])
