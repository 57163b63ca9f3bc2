"""Export the Min 2022 replica's multi-state rows for tests/reference/multistate.R.

Run from the repository root (before the R script):
    PYTHONPATH=. python tests/reference/multistate_export_min2022.py
Writes tests/reference/data/multistate_min2022_transitions.csv (times at full precision).
tests/test_multistate_reference.py rebuilds the rows and checks they equal this file.
"""

from aplcohort.cohort import load
from aplcohort.multistate import build_transitions, relapsed_leukemia_model

COLUMNS = ["id", "tstart", "tstop", "from_state", "to_state", "age_at_diagnosis",
           "postremission_modality"]


def min2022_transitions():
    cohort = load("data/synthetic/min2022.csv")
    tr = build_transitions(cohort, relapsed_leukemia_model())  # CR3 from cr3_date (generator >= 3.0.0)
    return tr.data.rename(columns={"patient_id": "id"})[COLUMNS]


if __name__ == "__main__":
    min2022_transitions().to_csv("tests/reference/data/multistate_min2022_transitions.csv",
                                 index=False, float_format="%.17g")
    print("wrote tests/reference/data/multistate_min2022_transitions.csv")
