"""Worked example of docs/adjustment.md: Min 2022 replica, consolidation comparison.

Run from the repository root:  python docs/adjustment_example.py
Prints every number quoted in docs/adjustment.md and writes the two figures to
docs/figures/adjust_love_min2022.png and docs/figures/adjust_ps_min2022.png.
"""

import warnings

import numpy as np
import pandas as pd

from aplcohort.adjust import (PositivityError, adjusted_risks, balance, propensity_score,
                              psweights, weighted_cox, weighted_km, weighted_logrank)
from aplcohort.adjust.evalue import evalue_hr
from aplcohort.cohort.endpoints import DAYS_PER_MONTH
from aplcohort.plots.balance import love_plot, ps_histogram
from aplcohort.stats import kaplan_meier, logrank_test

pd.set_option("display.width", 140)
pd.set_option("display.max_columns", 20)
d = pd.read_csv("data/synthetic/min2022.csv", parse_dates=[
    "cr1_date", "relapse1_date", "postremission_start_date", "death_date", "last_followup_date"])
d = d[d["postremission_modality"].isin(["ATO-based", "auto HSCT", "allo HSCT"])].copy()
d = d.set_index("patient_id")
d["group"] = d["postremission_modality"]
d["age"] = d["age_at_diagnosis"]
d["cr1_months"] = (d["relapse1_date"] - d["cr1_date"]).dt.days / DAYS_PER_MONTH
# time zero = start of post-remission therapy (no immortal time inside the groups;
# the comparison is among patients who started their consolidation)
end = d["death_date"].fillna(d["last_followup_date"])
d["os_months"] = (end - d["postremission_start_date"]).dt.days / DAYS_PER_MONTH
d["death"] = d["death_date"].notna().astype(int)
print(len(d), "patients;", d["group"].value_counts().to_dict(), "deaths", int(d["death"].sum()))
print(pd.crosstab(d["group"], d["reinduction_regimen"]))

print("\n== 1. three groups, age + CR1 duration + reinduction regimen")
try:
    propensity_score(d, "group", ["age", "cr1_months", "reinduction_regimen"])
except PositivityError as e:
    print("PositivityError:", e)

print("\n== 2. three groups, age + CR1 duration (reinduction cannot be adjusted for)")
with warnings.catch_warnings(record=True) as w:
    warnings.simplefilter("always")
    ps = propensity_score(d, "group", ["age", "cr1_months"], order=["ATO-based", "auto HSCT",
                                                                     "allo HSCT"])
    ow = psweights(ps, "ATO")
for x in w:
    print("warning:", x.message)
print(ps.overlap.round(3).to_string())
print(ow.ess.round(2).to_string())
bal = balance(d, "group", ["age", "cr1_months", "reinduction_regimen"], ow,
              order=["ATO-based", "auto HSCT", "allo HSCT"])
print(bal.table.round(3).to_string())

fig = love_plot(bal, labels={"age": "age at diagnosis", "cr1_months": "CR1 duration",
                             "reinduction_regimen": "reinduction"},
                adjusted_label="ATO (overlap) weights")
fig.savefig("docs/figures/adjust_love_min2022.png", dpi=200)
fig = ps_histogram(ps, bins=10)
fig.savefig("docs/figures/adjust_ps_min2022.png", dpi=200)

print("\n== 3. OS: unadjusted vs ATO-weighted")
un = kaplan_meier(d["os_months"], d["death"], d["group"])
ad = weighted_km(d, "os_months", "death", "group", ow)
print(un.at([24, 60]).round(3).to_string())
print(ad.at([24, 60]).round(3).to_string())
print("log-rank unadjusted:", round(logrank_test(d["os_months"], d["death"], d["group"]).p, 3))
with warnings.catch_warnings(record=True) as w:
    warnings.simplefilter("always")
    print("weighted robust score test:", weighted_logrank(d, "os_months", "death", "group", ow))
    ones = pd.Series(1.0, index=d.index)
    cu = weighted_cox(d, "os_months", "death", "group", ones)
    ca = weighted_cox(d, "os_months", "death", "group", ow)
for x in w:
    print("warning:", x.message)
print(cu.terms[["term", "level", "estimate", "lower", "upper", "p"]].round(3).to_string())
print(ca.terms[["term", "level", "estimate", "lower", "upper", "p"]].round(3).to_string())
for r in ca.terms[ca.terms["estimable"]].itertuples():
    print(r.level, evalue_hr(r.estimate, r.lower, r.upper).round(2).to_string())
rk = adjusted_risks(d, "os_months", "death", "group", [24, 60], weights=ow)
print(rk.risks.round(3).to_string())
print(rk.differences.round(3).to_string())

print("\n== 4. two groups ATO-based vs auto HSCT (ATO-reinduced only is where they overlap)")
d2 = d[d["group"].isin(["ATO-based", "auto HSCT"])]
ps2 = propensity_score(d2, "group", ["age", "cr1_months"])
w2 = psweights(ps2, "ATO")
print(w2.ess.round(2).to_string())
print(balance(d2, "group", ["age", "cr1_months"], w2).table.round(3).to_string())
with warnings.catch_warnings(record=True) as w:
    warnings.simplefilter("always")
    c2u = weighted_cox(d2, "os_months", "death", "group", pd.Series(1.0, index=d2.index))
    c2 = weighted_cox(d2, "os_months", "death", "group", w2)
print(c2u.terms[["level", "estimate", "lower", "upper", "p"]].round(3).to_string())
print(c2.terms[["level", "estimate", "lower", "upper", "p"]].round(3).to_string())
