"""Synthetic relapsed-APL cohort that includes PML-RARA-negative variant fusions.

SYNTHETIC DATA drawn from the bundled scenario ``variant_apl`` (see the YAML
for its assumptions) and returned in the canonical columns of the aplcohort
data dictionary, so that cohort quality checks can flag ATO given to an
ATO-resistant variant (PLZF-RARA, STAT5b-RARA). Time zero is the start of
salvage, taken as the first-relapse date.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..cohort.vocab import resistant_fusions
from .engine import simulate, to_frame
from .scenario import load_scenario

ATO_RESISTANT = resistant_fusions("ato")
#: ATRA-resistant fusions (seed 004; aplcohort.cohort.vocab.FUSION_SENSITIVITY, shared with
#: validation).
ATRA_RESISTANT = resistant_fusions("atra")


def generate(seed: int = 1, n: int | None = None) -> pd.DataFrame:
    """Generate the variant-APL cohort in canonical dictionary columns.

    Parameters
    ----------
    seed : int
        Root seed of the scenario engine.
    n : int, optional
        Number of patients (default: the scenario's 60).

    Returns
    -------
    pandas.DataFrame
        Columns ``patient_id, synthetic, disease, fusion, sex, age_at_diagnosis,
        frontline_regimen, relapse1_date, reinduction_regimen, reinduction_start_date, death_date,
        death_cause, last_followup_date, data_cutoff_date``; dates ISO strings.

    Examples
    --------
    >>> from aplcohort.synthetic import variant_apl
    >>> df = variant_apl.generate(seed=3)
    >>> bool((df.fusion != "PML-RARA").any())
    True

    Validated against: date-order and vocabulary checks in
    tests/test_synthetic_published.py.
    """
    sc = load_scenario("variant_apl")
    sim = simulate(sc, n=n, reps=1, seed=seed)
    f = to_frame(sim, 0)
    start = pd.to_datetime(f.entry_date)
    end = start + pd.to_timedelta(np.floor(f.time).astype(int), unit="D")
    dead = f.event.to_numpy() == 1
    iso = lambda s: s.dt.strftime("%Y-%m-%d")  # noqa: E731
    df = pd.DataFrame({
        "patient_id": f.patient_id,
        "synthetic": "yes",
        "disease": "APL",
        "fusion": f.fusion,
        "sex": f.sex,
        "age_at_diagnosis": np.clip(np.round(f.age.to_numpy()), 18, 90).astype(int),
        # every patient was first treated as APL with ATRA + chemotherapy (the variant is often
        # recognised only after ATRA failure), so an ATRA-resistant variant is visible to QC
        "frontline_regimen": "ATRA+chemo",
        "relapse1_date": iso(start),
        "reinduction_regimen": f.arm,
        "reinduction_start_date": iso(start),
        "death_date": iso(end).where(dead, None),
        "death_cause": pd.Series(np.where(dead, "disease progression", None), dtype=object),
        "last_followup_date": iso(end),
        "data_cutoff_date": str(sc.raw["censoring"]["cutoff"]),
    })
    return df
