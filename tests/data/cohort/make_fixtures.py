"""Regenerate the cohort fixtures: .venv/bin/python tests/data/cohort/make_fixtures.py

Every date is written as an offset in days from the first relapse (2020-01-01)
in OFFSETS below; the hand-worked expected endpoints in
tests/test_cohort_endpoints.py are arithmetic on these offsets. The same cohort
is written as CSV (text, synonyms), XLSX (real date and number cells, sheet
"Patients" plus a "Notes" sheet) and Parquet (typed columns).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd

HERE = Path(__file__).parent
R1 = dt.date(2020, 1, 1)
CUTOFF = dt.date(2021, 6, 30)  # day 546
# pid: reinduction regimen, reinduction day, response, response day, anc day, plt day,
#      postremission modality, postremission day, relapse2 day, death day, lfu day
OFFSETS = {
    "P1": ("ATO+ATRA", 5, "mCR", 40, 25, 30, "ATO", 60, 200, 300, 300),
    "P2": ("ato", 3, "CR2", 35, 28, 40, "ASCT", 90, 150, 150, 150),
    "P3": ("IC", 2, "none", None, 20, None, "none", None, None, 20, 20),
    "P4": ("not reinduced", None, "none", None, None, None, "none", None, None, None, 100),
    "P5": ("arsenic", 4, "mCR2", 45, 30, 35, "none", None, None, None, 800),
    "P6": ("ATO", 1, "molecular CR2", 30, None, None, "Allo", 100, None, 130, 130),
    "P7": ("ATO", 2, "CR2", 33, 27, 31, "ATO", 70, 600, None, 650),
    "P8": ("ATO", 3, "CR2", None, None, None, None, None, None, None, 200),
}


def day(k):
    return None if k is None else R1 + dt.timedelta(days=k)


def frame() -> pd.DataFrame:
    rows = []
    for i, (pid, o) in enumerate(OFFSETS.items()):
        reg, rd, resp, rsd, anc, plt, pr, prd, r2, death, lfu = o
        rows.append({
            "patient_id": pid, "disease": "APL", "fusion": "PML-RARA",
            "sex": "M" if i % 2 else "F",
            "birth_date": dt.date(1960 + i, 3, 1), "diagnosis_date": dt.date(2018, 1, 10),
            "wbc_diagnosis": [2.5, 15.0, 4.0, 8.0, 30.5, 1.2, 9.9, 3.0][i],
            "plt_diagnosis": [50.0, 20.0, 30.0, 41.0, 10.0, 80.0, 40.0, 100.0][i],
            "cr1_date": dt.date(2018, 3, 1), "relapse1_date": R1,
            "relapse_type": "hematologic",
            "reinduction_regimen": reg, "reinduction_start_date": day(rd),
            "response": resp, "response_date": day(rsd),
            "anc_recovery_date": day(anc), "plt_recovery_date": day(plt),
            "postremission_modality": pr, "postremission_start_date": day(prd),
            "relapse2_date": day(r2), "death_date": day(death),
            "death_cause": None if death is None else "progression",
            "last_followup_date": day(lfu), "data_cutoff_date": CUTOFF,
        })
    return pd.DataFrame(rows)


def main():
    df = frame()
    text = df.copy()
    for c in text.columns:
        text[c] = text[c].map(lambda v: "" if v is None or (isinstance(v, float) and v != v)
                              else (v.isoformat() if isinstance(v, dt.date) else str(v)))
    text.to_csv(HERE / "endpoints.csv", index=False)
    typed = df.copy()
    for c in typed.columns:
        if c.endswith("_date"):
            typed[c] = pd.to_datetime(typed[c])
    with pd.ExcelWriter(HERE / "endpoints.xlsx", engine="openpyxl") as xw:
        pd.DataFrame({"note": ["synthetic fixture, not patient data"]}).to_excel(
            xw, sheet_name="Notes", index=False)
        typed.to_excel(xw, sheet_name="Patients", index=False)
    typed.to_parquet(HERE / "endpoints.parquet", index=False)
    (HERE / "empty.csv").write_bytes(b"")
    (HERE / "header_only.csv").write_text("patient_id,disease,last_followup_date\n")
    # a PNG image renamed .csv (8-byte signature + IHDR chunk)
    (HERE / "not_a_table.csv").write_bytes(
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00"
        b"\x00\x90wS\xde")


if __name__ == "__main__":
    main()
