"""Table 1: cells checked as values on a tiny hand-worked cohort (R values in comments)."""

import numpy as np
import pandas as pd
import pytest

from aplcohort.errors import InputError
from aplcohort.tables.table1 import short_test_name, table1


def tiny():
    # ATO: 4 patients (one age missing); IC: 3 patients
    return pd.DataFrame({
        "arm": ["ATO"] * 4 + ["IC"] * 3,
        "sex": ["M", "F", "M", "M", "F", "F", "M"],
        "age": [34, 51, 47, 29, 60, 55, 41],
        "wbc": [1.0, 2.0, np.nan, 4.0, 10.0, 20.0, 30.0],
        "infection": ["yes", "no", "no", "no", "yes", "yes", None],
    })


def test_cells_by_hand():
    t = table1(tiny(), "arm", ["sex", "age", "wbc", "infection"],
               labels={"age": "Age, years"}, smd=True)
    d = t.data
    assert d.columns.tolist() == ["Characteristic", "ATO (n = 4)", "IC (n = 3)",
                                  "Overall (n = 7)", "p", "Test", "SMD"]
    assert d["Characteristic"].tolist() == [
        "Sex, n (%)", "M", "F", "Age, years, median [IQR]", "wbc, median [IQR]", "Missing",
        "infection, n (%)", "Missing"]
    assert t.indent == (0, 1, 1, 0, 0, 1, 0, 1)
    # sex: label and level order (M, F) from the data dictionary
    # F 1/4 = 25.0 %, IC 2/3 = 66.7 %, overall 3/7 = 42.9 %
    assert d.iloc[2, 1:4].tolist() == ["1 (25.0)", "2 (66.7)", "3 (42.9)"]
    assert d.iloc[1, 1:4].tolist() == ["3 (75.0)", "1 (33.3)", "4 (57.1)"]
    # R: fisher.test(matrix(c(3,1,1,2),2))$p.value = 0.4857143 (expected counts < 5)
    assert (d.iloc[0]["p"], d.iloc[0]["Test"]) == ("0.49", "Fisher")
    # age: R quantile(c(34,51,47,29), c(.5,.25,.75)) = 40.5, 32.75, 48 (type 7)
    assert d.iloc[3, 1:4].tolist() == ["40.5 [32.8\u201348.0]", "55.0 [48.0\u201357.5]",
                                       "47.0 [37.5\u201353.0]"]
    # R: wilcox.test(c(34,51,47,29), c(60,55,41))$p.value = 0.2285714
    assert (d.iloc[3]["p"], d.iloc[3]["Test"]) == ("0.23", "Wilcoxon")
    # wbc: one missing in ATO -> median of 1, 2, 4 = 2; Missing row 1 / 0 / 1
    assert d.iloc[4, 1] == "2.0 [1.5\u20133.0]"
    assert d.iloc[5, 1:4].tolist() == ["1", "0", "1"]
    # yes/no -> one row, denominators exclude the missing value: IC 2/2
    assert d.iloc[6, 1:4].tolist() == ["1 (25.0)", "2 (100.0)", "3 (50.0)"]
    assert d.iloc[7, 1:4].tolist() == ["0", "1", "1"]
    # SMD for a binary variable, continuous: |m1-m2| / sqrt((s1^2+s2^2)/2)
    a, b = np.array([34, 51, 47, 29.0]), np.array([60, 55, 41.0])
    smd = abs(a.mean() - b.mean()) / np.sqrt((a.var(ddof=1) + b.var(ddof=1)) / 2)
    assert d.iloc[3]["SMD"] == f"{smd:.2f}"
    r = t.raw
    row = r[(r.variable == "age") & (r.group == "ATO")].iloc[0]
    assert (row["median"], row["q1"], row["q3"]) == (40.5, 32.75, 48.0)


def test_mean_sd_overall_off_and_order():
    t = table1(tiny(), "arm", ["age"], summary="mean", overall=False, tests=False, order=["IC", "ATO"])
    assert t.data.columns.tolist() == ["Characteristic", "IC (n = 3)", "ATO (n = 4)"]
    sd = np.std([60, 55, 41], ddof=1)
    assert t.data.iloc[0, 1] == f"52.0 ({sd:.1f})"


def test_errors():
    df = tiny()
    df.loc[0, "arm"] = None
    with pytest.raises(InputError, match="no value in the group column"):
        table1(df, "arm", ["sex"])
    with pytest.raises(InputError, match="not in the data"):
        table1(tiny(), "arm", ["height"])
    with pytest.raises(InputError, match="does not match"):
        table1(tiny(), "arm", ["sex"], order=["ATO"])


def test_short_names():
    assert short_test_name("Pearson's chi-squared test with Yates' continuity correction") == "\u03c7\u00b2"
    assert short_test_name("Kruskal-Wallis rank-sum test") == "Kruskal\u2013Wallis"
    assert short_test_name("none") == "\u2013"


def test_synthetic_cohort_table1_counts():
    from aplcohort.synthetic.min2022 import generate
    df = generate()
    re = df[df.reinduction_regimen.isin(["ATO-based", "IC"])]
    t = table1(re, "reinduction_regimen", ["sex", "age_at_diagnosis", "sanz_risk", "relapse_type"])
    assert t.data.columns[1:3].tolist() == ["ATO-based (n = 30)", "IC (n = 11)"]
    # every level row's counts add up to the column n (no patient lost)
    r = t.raw[(t.raw.variable == "sanz_risk")]
    for g, n in (("ATO-based", 30), ("IC", 11), ("Overall", 41)):
        sub = r[r.group == g]
        assert sub["n"].sum() + sub["missing"].iloc[0] == n
