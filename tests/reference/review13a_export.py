"""Export the Min 2022 replica's endpoint rows used by tests/reference/review13a.R.

Run from the repository root (before the R script):
    PYTHONPATH=. python tests/reference/review13a_export.py
Writes tests/reference/data/review13a_plt.csv (platelet recovery from reinduction, days,
ATO-based vs IC: the bundled plan's plt_recovery_by_reinduction) and
tests/reference/data/review13a_rfs.csv (RFS from post-remission start, years, by
post-remission modality: the km analysis of the review-13 caption plan).
tests/test_review13a.py rebuilds the rows and checks they equal these files.
"""

from aplcohort.cohort import load

DATA = "data/synthetic/min2022.csv"


def plt_rows():
    ep = load(DATA).endpoint("PLT_recovery", time_zero="reinduction", unit="days")
    d = ep.data[ep.data["reinduction_regimen"].isin(["ATO-based", "IC"])]
    return d[["patient_id", "time", "event", "reinduction_regimen"]].rename(
        columns={"reinduction_regimen": "group"}).reset_index(drop=True)


def rfs_rows():
    ep = load(DATA).endpoint("RFS", time_zero="postremission", unit="years")
    d = ep.data[ep.data["postremission_modality"].isin(["ATO-based", "auto HSCT", "allo HSCT"])]
    return d[["patient_id", "time", "event", "postremission_modality"]].rename(
        columns={"postremission_modality": "group"}).reset_index(drop=True)


if __name__ == "__main__":
    for name, rows in (("plt", plt_rows()), ("rfs", rfs_rows())):
        path = f"tests/reference/data/review13a_{name}.csv"
        rows.to_csv(path, index=False, float_format="%.17g")
        print("wrote", path, len(rows), "rows")
