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

Exposure dates whose exposure is also recorded by a treatment column
(:data:`EXPOSURE_DEFINED_BY`, used by :func:`exposure_start_unknown`): a missing date means
"never exposed" only where that column does not say the patient was treated. A patient
whose ``postremission_modality`` is ``auto HSCT`` but whose ``postremission_start_date`` is
blank has a missing ``hsct_start_date`` and is *not* never transplanted: the analyses that
take an ``exposure:`` date leave such patients out, with the reason.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: The columns :func:`add_derived` can add (the table above); the loader recognises them.
DERIVED_COLUMNS = ("age_at_relapse", "cr1_duration_months", "early_death", "vital_status",
                   "hsct", "hsct_start_date")

#: ``{exposure date column: (treatment column, levels of it meaning "not treated", what
#: treated means)}``: the treatment column whose level says whether the patient received
#: the treatment the date starts. Any level other than the "not treated" ones (and
#: missing) says treated, so a missing date there is an unknown start, not "never".
EXPOSURE_DEFINED_BY = {
    "hsct_start_date": ("hsct", ("no HSCT",), "transplanted"),
    "postremission_start_date": ("postremission_modality", ("none",),
                                 "post-remission treatment given"),
    "reinduction_start_date": ("reinduction_regimen", ("none",), "reinduced"),
    "salvage2_start_date": ("salvage2_modality", ("none",), "salvage after the second relapse"),
}

#: where the derived ``hsct`` comes from: its reason names the modality the data give
_DETAIL = {"hsct": "postremission_modality"}

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


def untreated_levels(column: str) -> tuple:
    """The levels of a treatment column that mean "not treated" (:data:`EXPOSURE_DEFINED_BY`).

    >>> untreated_levels("hsct"), untreated_levels("postremission_modality"), untreated_levels("x")
    (('no HSCT',), ('none',), ())
    """
    for tcol, untreated, _what in EXPOSURE_DEFINED_BY.values():
        if tcol == column:
            return tuple(untreated)
    return ()


def exposure_start_unknown(df: pd.DataFrame, col: str) -> list[tuple[np.ndarray, str]]:
    """Patients treated by their treatment column but without the exposure date ``col``.

    Returns ``[(mask, reason), ...]``, one entry per level of the treatment column
    (:data:`EXPOSURE_DEFINED_BY`) that says treated and has patients with ``col`` missing;
    ``[]`` when ``col`` is not such a date column (an ``exposure:`` column of the user's
    own: nothing in the data says who was exposed, so a missing date is "never exposed")
    or the treatment column is absent.

    >>> d = pd.DataFrame({"postremission_modality": ["auto HSCT", "ATO-based", "allo HSCT"],
    ...                   "hsct": ["HSCT", "no HSCT", "HSCT"],
    ...                   "hsct_start_date": [pd.NaT, pd.NaT, pd.Timestamp("2020-01-01")]})
    >>> [(m.tolist(), r) for m, r in exposure_start_unknown(d, "hsct_start_date")]
    [([True, False, False], 'transplanted (postremission_modality auto HSCT) but hsct_start_date missing: exposure start unknown')]
    >>> exposure_start_unknown(d, "my_own_date")
    []
    """
    spec = EXPOSURE_DEFINED_BY.get(col)
    if spec is None or col not in df.columns or spec[0] not in df.columns:
        return []
    tcol, untreated, what = spec
    t = df[tcol]
    unknown = (t.notna() & ~t.astype(object).isin(list(untreated)) & df[col].isna()).to_numpy()
    if not unknown.any():
        return []
    detail = _DETAIL.get(tcol)
    # the level the data give (e.g. "postremission_modality auto HSCT" behind the derived
    # hsct), else the treatment column's own level
    texts = np.array([f"{detail} {d}" if detail in df.columns and pd.notna(d) and d != "none"
                      else f"{tcol} {v}"
                      for v, d in zip(t.astype(object),
                                      df[detail].astype(object) if detail in df.columns
                                      else [None] * len(df))], dtype=object)
    out = []
    for text in pd.unique(texts[unknown]):
        mask = unknown & (texts == text)
        out.append((mask, f"{what} ({text}) but {col} missing: exposure start unknown"))
    return out
