"""Table 1: how a variable is summarised, and the plan's ``kinds`` setting.

* A numeric column holding only 0 and 1 (a yes/no code, often read with blanks as floats)
  is summarised as n (%) with levels "0" / "1" and a chi-square / Fisher test, like a
  yes/no column; before, it showed "median [IQR] 1.0 [0.0-1.0]" and a rank test.
* The plan kind ``table1`` takes ``kinds: {column: categorical | continuous}``, as the
  Python function does, so a user's own codes can be summarised as they mean them; a
  column that is not among the variables is refused before anything runs.
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from aplcohort.cli import main
from aplcohort.stats.grouptests import compare_groups
from aplcohort.tables.table1 import table1


def _df():
    return pd.DataFrame({"arm": ["A"] * 5 + ["B"] * 5,
                         "flt3": [0, 1, 1, np.nan, 0, 1, 1, 1, 0, 1],
                         "age": [30, 40, 50, 60, 70, 35, 45, 55, 65, 75],
                         "cnt": [0, 1, 2, 0, 1, 0, 1, 1, 0, 2]})


def test_zero_one_column_is_summarised_as_counts():
    d = _df()
    t = table1(d, "arm", ["flt3", "age", "cnt"])
    rows = t.data["Characteristic"].tolist()
    assert rows[:4] == ["flt3, n (%)", "0", "1", "Missing"]
    assert t.data.iloc[1, 1:4].tolist() == ["2 (50.0)", "1 (20.0)", "3 (33.3)"]
    assert t.data.iloc[2, 1:4].tolist() == ["2 (50.0)", "4 (80.0)", "6 (66.7)"]
    ref = compare_groups(d["flt3"].astype(object).where(d["flt3"].notna(), None), d["arm"],
                         kind="categorical")
    assert t.data.iloc[0]["Test"] == "Fisher"
    assert float(t.raw.loc[t.raw["variable"] == "flt3", "p"].dropna().iloc[0]) == \
        pytest.approx(ref.p, rel=1e-12)
    # a count with a 2 stays continuous; age is continuous
    assert "age, median [IQR]" in rows and "cnt, median [IQR]" in rows


def test_kinds_override_both_ways():
    d = _df()
    t = table1(d, "arm", ["flt3", "cnt"], kinds={"flt3": "continuous", "cnt": "categorical"})
    rows = t.data["Characteristic"].tolist()
    assert rows[0] == "flt3, median [IQR]"
    assert rows[rows.index("cnt, n (%)") + 1: rows.index("cnt, n (%)") + 4] == ["0", "1", "2"]


def _plan(tmp_path, t1, csv):
    plan = {"plan": "p", "data": {"source": str(csv)}, "output": {"tables": ["csv"]},
            "analyses": [dict({"id": "t1", "kind": "table1", "group": "arm"}, **t1)]}
    p = tmp_path / "p.yaml"
    p.write_text(yaml.safe_dump(plan, sort_keys=False), encoding="utf-8")
    return p


def _csv_with_blanks(tmp_path):
    # the path users take: a CSV whose 0/1 column has blank cells
    csv = tmp_path / "d.csv"
    d = _df()
    d.insert(0, "patient_id", [f"P{i}" for i in range(len(d))])
    csv.write_text(d.to_csv(index=False), encoding="utf-8")
    assert ",," in csv.read_text(encoding="utf-8")
    return csv


def test_plan_table1_zero_one_and_kinds_setting(tmp_path):
    csv = _csv_with_blanks(tmp_path)
    p = _plan(tmp_path, {"variables": ["flt3", "cnt"]}, csv)
    assert main(["run", str(p), "--out", str(tmp_path / "o1")]) == 0
    auto = (tmp_path / "o1" / "tables" / "t1.csv").read_text(encoding="utf-8")
    assert "flt3, n (%)" in auto and "cnt, median [IQR]" in auto
    p = _plan(tmp_path, {"variables": ["flt3", "cnt"],
                         "kinds": {"flt3": "continuous", "cnt": "categorical"}}, csv)
    assert main(["run", str(p), "--out", str(tmp_path / "o2")]) == 0
    given = (tmp_path / "o2" / "tables" / "t1.csv").read_text(encoding="utf-8")
    assert "flt3, median [IQR]" in given and "cnt, n (%)" in given


@pytest.mark.parametrize("kinds, expect", [
    ({"age": "categorical"}, "not among the variables"),
    ({"flt3": "ordinal"}, "categorical"),
])
def test_plan_table1_kinds_refused(tmp_path, capsys, kinds, expect):
    csv = _csv_with_blanks(tmp_path)
    p = _plan(tmp_path, {"variables": ["flt3"], "kinds": kinds}, csv)
    assert main(["run", str(p), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert expect in err and "Traceback" not in err
    assert not (tmp_path / "o").exists()
