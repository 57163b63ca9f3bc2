"""Derived analysis variables computed from the canonical cohort columns.

Added by the plan runner before filters and analyses run, so plans can name
them like any column. Each is documented here and in ``docs/plans.md``; none
overwrites a column the data already has.

========================  ==============================================================
column                    definition
========================  ==============================================================
age_at_relapse            years from birth_date to relapse1_date, else age_at_diagnosis
                          plus years from diagnosis_date to relapse1_date
cr1_duration_months       (relapse1_date - cr1_date) / 30.4375
early_death               true if death_date within 30 days of reinduction_start_date
                          (inclusive), false if reinduced and not, missing otherwise
vital_status              "dead" if death_date is present, else "alive"
hsct                      "HSCT" for auto/allo HSCT post-remission, "no HSCT" for other
                          documented modalities, missing when modality is missing
hsct_start_date           postremission_start_date for auto/allo HSCT, else missing
========================  ==============================================================
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: The columns :func:`add_derived` can add (the table above); the loader recognises them.
DERIVED_COLUMNS = ("age_at_relapse", "cr1_duration_months", "early_death", "vital_status",
                   "hsct", "hsct_start_date")

DAYS_PER_MONTH = 30.4375
DAYS_PER_YEAR = 365.25


def _days(a: pd.Series, b: pd.Series) -> pd.Series:
    return (pd.to_datetime(b) - pd.to_datetime(a)).dt.days.astype(float)


def add_derived(df: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Return a copy of ``df`` with the derived columns that can be computed, and their names."""
    out = df.copy()
    added: list[str] = []

    def put(name, values):
        if name not in out.columns:
            out[name] = values
            added.append(name)

    cols = set(out.columns)
    if "relapse1_date" in cols:
        if "birth_date" in cols:
            age = _days(out["birth_date"], out["relapse1_date"]) / DAYS_PER_YEAR
        else:
            age = pd.Series(np.nan, index=out.index)
        if {"age_at_diagnosis", "diagnosis_date"} <= cols:
            alt = out["age_at_diagnosis"].astype(float) + _days(out["diagnosis_date"], out["relapse1_date"]) / DAYS_PER_YEAR
            age = age.fillna(alt)
        if age.notna().any():
            put("age_at_relapse", age.round(1))
    if {"cr1_date", "relapse1_date"} <= cols:
        put("cr1_duration_months", (_days(out["cr1_date"], out["relapse1_date"]) / DAYS_PER_MONTH).round(2))
    if {"reinduction_start_date", "death_date"} <= cols:
        reinduced = out["reinduction_start_date"].notna()
        d = _days(out["reinduction_start_date"], out["death_date"])
        ed = pd.Series(pd.NA, index=out.index, dtype="boolean")
        ed[reinduced] = d[reinduced].le(30).fillna(False).to_numpy()
        put("early_death", ed)
    if "death_date" in cols:
        put("vital_status", np.where(out["death_date"].notna(), "dead", "alive"))
    if "postremission_modality" in cols:
        m = out["postremission_modality"]
        is_tx = m.isin(["auto HSCT", "allo HSCT"])
        h = pd.Series(pd.NA, index=out.index, dtype="object")
        h[m.notna()] = np.where(is_tx[m.notna()], "HSCT", "no HSCT")
        put("hsct", h)
        if "postremission_start_date" in cols:
            put("hsct_start_date", out["postremission_start_date"].where(is_tx))
    return out, added
