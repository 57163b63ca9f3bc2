"""Excel serial dates and partial dates (issue 18).

Serial numbers are checked against dates Excel itself shows for them (documented by
Microsoft: 1 = 1900-01-01, 60 = the non-existent 1900-02-29, 61 = 1900-03-01; 1904
system: 0 = 1904-01-01) and against openpyxl's own converter.
"""

from __future__ import annotations

import datetime as dt
import warnings

import pandas as pd
import pytest

from aplcohort.cohort import load
from aplcohort.cohort.types import excel_serial_to_date
from aplcohort.errors import CohortValidationError, DataQualityWarning

HEAD = "patient_id,disease,relapse1_date,last_followup_date\n"


def _load(*a, **k):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        return load(*a, **k)


@pytest.mark.parametrize("n", [1, 59, 61, 367, 36526, 43831, 44000.5, 73050])
def test_serials_agree_with_openpyxl(n):
    from openpyxl.utils.datetime import from_excel
    ours = excel_serial_to_date(n)[0]
    theirs = from_excel(n)
    assert ours == pd.Timestamp(theirs.year, theirs.month, theirs.day)


def test_serial_60_is_the_leap_year_bug():
    ts, why = excel_serial_to_date(60)
    assert ts is None and "1900-02-29" in why and "leap-year bug" in why
    assert excel_serial_to_date(0)[0] is None and excel_serial_to_date(-3)[0] is None
    assert excel_serial_to_date(0, "1904")[0] == pd.Timestamp(1904, 1, 1)


def _xlsx(path, rows, epoch1904=False):
    import openpyxl
    wb = openpyxl.Workbook()
    if epoch1904:
        from openpyxl.utils.datetime import CALENDAR_MAC_1904
        wb.epoch = CALENDAR_MAC_1904
    ws = wb.active
    ws.append(["patient_id", "disease", "relapse1_date", "last_followup_date"])
    for r in rows:
        ws.append(r)
    wb.save(path)
    return path


def test_xlsx_numeric_cells_in_date_columns_are_serials(tmp_path):
    f = _xlsx(tmp_path / "s.xlsx", [["P1", "APL", 43831, dt.date(2021, 1, 1)],
                                    ["P2", "APL", 43900.25, 44197]])
    c = _load(f)
    assert c.data["relapse1_date"].tolist() == [pd.Timestamp("2020-01-01"),
                                                pd.Timestamp("2020-03-10")]
    assert c.data["last_followup_date"].tolist() == [pd.Timestamp("2021-01-01")] * 2
    assert any("Excel serial dates (1900 date system" in n for n in c.source["notes"])


def test_xlsx_1904_date_system(tmp_path):
    f = _xlsx(tmp_path / "m.xlsx", [["P1", "APL", 42369, 42370]], epoch1904=True)
    c = _load(f)
    from openpyxl.utils.datetime import CALENDAR_MAC_1904, from_excel
    assert from_excel(42369, epoch=CALENDAR_MAC_1904).date() == dt.date(2020, 1, 1)
    assert c.data["relapse1_date"].iat[0] == pd.Timestamp("2020-01-01")
    assert any("1904 date system" in n for n in c.source["notes"])


def test_xlsx_serial_60_error(tmp_path):
    f = _xlsx(tmp_path / "b.xlsx", [["P1", "APL", 60, 43831]])
    with pytest.raises(CohortValidationError, match="leap-year bug"):
        load(f)


def test_csv_serials_need_the_mapping(tmp_path):
    f = tmp_path / "s.csv"
    f.write_text(HEAD + "P1,APL,43831,2021-01-01\n")
    with pytest.raises(CohortValidationError, match="excel_serial_dates: true"):
        load(f)
    c = _load(f, mapping={"excel_serial_dates": True})
    assert c.data["relapse1_date"].iat[0] == pd.Timestamp("2020-01-01")
    assert c.data["last_followup_date"].iat[0] == pd.Timestamp("2021-01-01")


@pytest.mark.parametrize("policy, expect", [("mid", ["2015-03-15", "2016-07-01", "2017-04-02"]),
                                            ("first", ["2015-03-01", "2016-01-01",
                                                       "2017-04-02"])])
def test_partial_dates_policy_and_record(tmp_path, policy, expect):
    f = tmp_path / "p.csv"
    f.write_text(HEAD + "P1,APL,2015-03,2020-01-01\nP2,APL,2016,2020-01-01\n"
                 "P3,APL,2017-04-02,2020-01-01\n")
    c = _load(f, mapping={"partial_dates": policy})
    assert [d.date().isoformat() for d in c.data["relapse1_date"]] == expect
    imp = c.attrition.imputed
    assert [(x["patient_id"], x["column"], x["value"], x["imputed"]) for x in imp] == [
        ("P1", "relapse1_date", "2015-03", expect[0]), ("P2", "relapse1_date", "2016", expect[1])]
    assert imp[0]["rule"] == f"partial_dates: {policy}"
    assert c.attrition.to_dict()["imputed"] == imp
    rules = [(w.row, w.rule) for w in c.warnings if w.rule == "partial_date_imputed"]
    assert rules == [(2, "partial_date_imputed"), (3, "partial_date_imputed")]


def test_partial_dates_rejected_by_default(tmp_path):
    f = tmp_path / "p.csv"
    f.write_text(HEAD + "P1,APL,2015-03,2020-01-01\n")
    with pytest.raises(CohortValidationError,
                       match=r"row 2, patient P1, column relapse1_date.*partial date "
                             r"\(year and month\).*partial_dates: mid"):
        load(f)


def test_partial_dates_from_a_workbook_and_dataframe(tmp_path):
    f = _xlsx(tmp_path / "p.xlsx", [["P1", "APL", "2015-03", "2020-01-01"],
                                    ["P2", "APL", 2016, "2020-01-01"]])
    c = _load(f, mapping={"partial_dates": "mid"})
    assert c.data["relapse1_date"].tolist() == [pd.Timestamp("2015-03-15"),
                                                pd.Timestamp("2016-07-01")]
    df = pd.DataFrame({"patient_id": ["P1"], "disease": ["APL"], "relapse1_date": ["03/2015"],
                       "last_followup_date": ["2020-01-01"]})
    d = _load(df, mapping={"partial_dates": "first"})
    assert d.data["relapse1_date"].iat[0] == pd.Timestamp("2015-03-01")
    assert d.attrition.imputed[0]["value"] == "03/2015"


def test_no_imputation_no_key(tmp_path):
    f = tmp_path / "p.csv"
    f.write_text(HEAD + "P1,APL,2015-03-02,2020-01-01\n")
    assert "imputed" not in _load(f, mapping={"partial_dates": "mid"}).attrition.to_dict()


def test_bad_policy_is_a_mapping_error():
    from aplcohort.cohort.mapping import MappingError, load_mapping
    with pytest.raises(MappingError, match="partial_dates: expected one of reject, mid, first"):
        load_mapping({"partial_dates": "middle"})
    with pytest.raises(MappingError, match="excel_serial_dates: expected true or false"):
        load_mapping({"excel_serial_dates": "yes"})
