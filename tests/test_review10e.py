"""Audit 10, findings 11-13: XLSX title rows and hidden rows/columns, integer sheets, and
Stata/SAS dates stored as day numbers (never read as Excel serials)."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pytest
from openpyxl import Workbook

from aplcohort.cli import main
from aplcohort.cohort import load
from aplcohort.cohort.io import HeaderRowError, SheetNotFoundError
from aplcohort.cohort.mapping import MappingError
from aplcohort.errors import CohortValidationError, InputError

ROOT = Path(__file__).resolve().parent.parent
CSV = ROOT / "data" / "synthetic" / "min2022.csv"
TITLE = "Relapsed APL cohort - export 2021-06-30"


def _rows():
    with open(CSV, encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    hdr = rows[0]

    def typed(c, v):
        if v == "":
            return None
        if c.endswith("_date"):
            return dt.date.fromisoformat(v)
        try:
            return float(v) if "." in v else int(v)
        except ValueError:
            return v
    return hdr, [[typed(c, v) for c, v in zip(hdr, r)] for r in rows[1:]]


def _book(path, title=True, hide_row=None, hide_col=None, notes_sheet=False):
    hdr, data = _rows()
    wb = Workbook()
    ws = wb.active
    ws.title = "Patients"
    if title:
        ws.append([TITLE])
        ws.append([])
    ws.append(hdr)
    for r in data:
        ws.append(r)
    if hide_row:
        ws.row_dimensions[hide_row].hidden = True
    if hide_col:
        ws.column_dimensions[hide_col].hidden = True
    if notes_sheet:
        ws2 = wb.create_sheet("Notes")
        ws2.append(["note"])
        ws2.append(["x"])
    wb.save(path)
    return path


# --- F11: a title row above the header ------------------------------------------------

def test_title_row_is_named_with_the_row_that_looks_like_the_header(tmp_path):
    p = _book(tmp_path / "t.xlsx")
    with pytest.raises(HeaderRowError) as ei:
        load(p)
    msg = str(ei.value)
    assert "the header was taken from row 1" in msg
    assert f"one non-empty cell ('{TITLE}')" in msg
    assert "is the header on row 3" in msg and "header_row: 3" in msg
    assert "duplicate" not in msg and "''" not in msg


def test_header_row_reads_the_table_and_is_recorded(tmp_path):
    p = _book(tmp_path / "t.xlsx")
    ref = load(CSV)
    for c in (load(p, header_row=3), load(p, mapping={"header_row": 3})):
        assert c.n == ref.n
        assert c.data["patient_id"].tolist() == ref.data["patient_id"].tolist()
        assert c.source["header_row"] == 3
        assert c.report.row_convention.endswith("row 3 is the header, row 4 the first patient.")
        assert any("rows 1-2 above the header (row 3, header_row) not read" in n
                   for n in c.source["notes"])
    # the rows are the sheet's own: the first patient is on row 4
    bad = _book(tmp_path / "b.xlsx")
    from openpyxl import load_workbook
    wb = load_workbook(bad)
    wb["Patients"]["A4"].value = None  # patient_id of the first patient
    wb.save(bad)
    with pytest.raises(CohortValidationError) as ei:
        load(bad, header_row=3)
    assert "row 4" in str(ei.value)


def test_header_row_validated(tmp_path):
    p = _book(tmp_path / "t.xlsx")
    for bad in (0, True, 2.5, "3"):
        with pytest.raises(InputError, match="header_row must be an integer >= 1"):
            load(p, header_row=bad)
    with pytest.raises(MappingError, match="header_row: expected the number"):
        load(p, mapping={"header_row": "three"})
    with pytest.raises(HeaderRowError, match="header_row: 2 names an empty row"):
        load(p, header_row=2)
    with pytest.raises(HeaderRowError, match="after the last row with content"):
        load(p, header_row=999)
    pytest.importorskip("pyarrow")
    pq = tmp_path / "t.parquet"
    load(CSV).data[["patient_id"]].to_parquet(pq)
    with pytest.raises(InputError, match="header_row=3 was given but the file is not"):
        load(pq, header_row=3)


def test_csv_title_row_and_header_row(tmp_path):
    text = CSV.read_text(encoding="utf-8")
    a = tmp_path / "a.csv"
    a.write_text(f"{TITLE}\n\n{text}", encoding="utf-8")
    b = tmp_path / "b.csv"
    b.write_text(TITLE + "," * (text.splitlines()[0].count(",")) + "\n" + text, encoding="utf-8")
    with pytest.raises(HeaderRowError, match="is the header on row 3"):
        load(a)
    with pytest.raises(HeaderRowError, match="is the header on row 2"):
        load(b)
    ref = load(CSV)
    ca, cb = load(a, header_row=3), load(b, header_row=2)
    for c, h in ((ca, 3), (cb, 2)):
        assert c.data["patient_id"].tolist() == ref.data["patient_id"].tolist()
        assert c.source["header_row"] == h
    assert load(CSV).source["header_row"] == 1


def test_header_row_cli_and_plan(tmp_path, capsys):
    p = _book(tmp_path / "t.xlsx")
    assert main(["validate", str(p)]) == 2
    assert "--header-row 3" in capsys.readouterr().err
    assert main(["validate", str(p), "--header-row", "3"]) == 0
    out = capsys.readouterr().out
    assert "row 3 is the header" in out
    plan = tmp_path / "plan.yaml"
    plan.write_text("plan: t\ndata: {source: t.xlsx, header_row: 3}\n"
                    "endpoints: {os: {endpoint: OS, time_zero: relapse1, unit: months}}\n"
                    "analyses:\n  - {id: km, kind: km, endpoint: os}\n", encoding="utf-8")
    from aplcohort.plan.runner import run_plan
    res = run_plan(plan, figures=False)
    assert res.cohort.n == 52 and res.provenance["input_header_row"] == 3
    # the file's hash covers every sheet: the provenance names the one analysed
    assert res.provenance["input_sheet"] == "Patients"
    plan.write_text(plan.read_text().replace("header_row: 3", "header_row: 0"))
    with pytest.raises(InputError, match="header_row must be a row number >= 1"):
        run_plan(plan, figures=False)


# --- F12: hidden rows and columns; integer sheet ---------------------------------------

def test_hidden_rows_and_columns_are_named(tmp_path):
    p = _book(tmp_path / "h.xlsx", title=False, hide_row=6, hide_col="C", notes_sheet=True)
    c = load(p, sheet="Patients")
    notes = " | ".join(c.source["notes"])
    assert "1 row(s) hidden in Excel read as data" in notes
    assert "row 6 (patient SYN-005)" in notes
    assert "1 column(s) hidden in Excel read as data: C ('center')" in notes
    assert c.n == 52  # read, not excluded: the note says so
    plain = load(_book(tmp_path / "v.xlsx", title=False))
    assert not any("hidden" in n for n in plain.source["notes"])


def test_integer_sheet_is_a_name_and_says_so(tmp_path):
    p = _book(tmp_path / "h.xlsx", title=False, notes_sheet=True)
    with pytest.raises(SheetNotFoundError) as ei:
        load(p, mapping={"sheet": 0})
    assert "a sheet is named, not numbered" in str(ei.value)
    wb = Workbook()
    wb.active.title = "2019"
    hdr, data = _rows()
    wb.active.append(hdr)
    for r in data:
        wb.active.append(r)
    wb.create_sheet("Notes").append(["x"])
    q = tmp_path / "y.xlsx"
    wb.save(q)
    assert load(q, mapping={"sheet": 2019}).n == 52
    from aplcohort.plan.registry import PlanData
    doc = PlanData.model_fields["sheet"].description
    assert "the first" not in doc and "not a position" in doc


# --- F13: Stata/SAS day numbers ------------------------------------------------------

def _dta(tmp_path):
    pyreadstat = pytest.importorskip("pyreadstat")
    import pandas as pd
    df = pd.DataFrame({"patient_id": ["P1", "P2"], "disease": ["APL", "APL"],
                       "relapse1_date": [14632.0, 14700.0],  # days since 1960-01-01
                       "last_followup_date": [dt.date(2005, 1, 1), dt.date(2006, 1, 1)]})
    p = tmp_path / "s.dta"
    pyreadstat.write_dta(df, str(p))
    return p


def test_stata_day_numbers_never_suggest_excel_serials(tmp_path):
    p = _dta(tmp_path)
    with pytest.raises(CohortValidationError) as ei:
        load(p)
    msg = str(ei.value)
    assert "days since 1960-01-01 (14632 = 2000-01-23)" in msg
    assert "%td" in msg and "DATE9." in msg and "sas_stata_dates: true" in msg
    assert "declare excel_serial_dates: true" not in msg
    with pytest.raises(CohortValidationError) as ei:
        load(p, mapping={"excel_serial_dates": True})
    assert "60 years early" in str(ei.value)


def test_sas_stata_dates_reads_days_since_1960(tmp_path):
    p = _dta(tmp_path)
    c = load(p, mapping={"sas_stata_dates": True})
    assert [d.date() for d in c.data["relapse1_date"]] == [dt.date(2000, 1, 23),
                                                           dt.date(2000, 3, 31)]
    assert any("read as Stata/SAS day numbers" in n for n in c.report.notes)
    with pytest.raises(MappingError, match="both true"):
        load(p, mapping={"sas_stata_dates": True, "excel_serial_dates": True})
    with pytest.raises(MappingError, match="sas_stata_dates: expected true or false"):
        load(p, mapping={"sas_stata_dates": "yes"})
