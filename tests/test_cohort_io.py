"""Loading CSV / XLSX / Parquet, malformed inputs, and the `aplcohort validate` exit codes."""

from __future__ import annotations

import subprocess
import sys
import warnings

import pandas as pd
import pytest

from aplcohort.cli import main
from aplcohort.cohort import (CohortFileNotFoundError, EmptyFileError, MappingError,
                              NotATableError, SheetNotFoundError, UnsupportedFormatError, load)
from aplcohort.cohort.io import SheetChoiceError
from aplcohort.errors import CohortValidationError, DataQualityWarning, InputError

FIX = "tests/data/cohort/"


def _load(*a, **k):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        return load(*a, **k)


def test_csv_xlsx_parquet_load_to_identical_data():
    csv = _load(FIX + "endpoints.csv")
    xlsx = _load(FIX + "endpoints.xlsx", sheet="Patients")
    pq = _load(FIX + "endpoints.parquet")
    pd.testing.assert_frame_equal(csv.data, xlsx.data)
    pd.testing.assert_frame_equal(csv.data, pq.data)
    assert [str(p) for p in csv.warnings] == [str(p) for p in xlsx.warnings] \
        == [str(p) for p in pq.warnings]
    assert csv.source["format"] == "csv" and xlsx.source["sheet"] == "Patients"
    assert pq.source["format"] == "parquet"
    assert str(csv.data["relapse1_date"].dtype) == "datetime64[ns]"
    assert csv.data["reinduction_regimen"].iloc[0] == "ATO-based"  # "ATO+ATRA" in the file


def test_row_numbers_follow_spreadsheet_in_every_format():
    # the first warning is P7 on the 7th data row = spreadsheet row 8
    for f, kw in [("endpoints.csv", {}), ("endpoints.xlsx", {"sheet": "Patients"}),
                  ("endpoints.parquet", {})]:
        c = _load(FIX + f, **kw)
        assert c.warnings[0].row == 8 and c.warnings[0].patient_id == "P7"


def test_xlsx_several_visible_sheets_need_a_name_and_sheet_from_mapping(tmp_path):
    # two visible sheets ("Notes", "Patients"): never guess, list them
    with pytest.raises(SheetChoiceError, match=r"2 visible sheets \('Notes', 'Patients'\)"):
        _load(FIX + "endpoints.xlsx")
    m = tmp_path / "m.yaml"
    m.write_text("sheet: Patients\n")
    assert _load(FIX + "endpoints.xlsx", mapping=m).n == 8


MALFORMED_CSV = {
    "wrong_type": ("patient_id,disease,wbc_diagnosis,last_followup_date\n"
                   "a,APL,high,2020-01-01\n", CohortValidationError, "[type_number]"),
    "bad_date": ("patient_id,disease,last_followup_date\na,APL,2020-02-30\n",
                 CohortValidationError, "[type_date]"),
    "unknown_code": ("patient_id,disease,last_followup_date\na,CML,2020-02-01\n",
                     CohortValidationError, "[vocabulary]"),
    "duplicates": ("patient_id,disease,last_followup_date\na,APL,2020-02-01\n"
                   "a,APL,2020-03-01\n", CohortValidationError, "[duplicate_id]"),
    "header_only": ("patient_id,disease,last_followup_date\n", EmptyFileError, "no patient rows"),
    "ragged": ("patient_id,disease,last_followup_date\na,APL,2020-01-01,extra\n",
               NotATableError, "line 2 has 4"),
    "missing_required": ("patient_id,disease\na,APL\n", CohortValidationError,
                         "[required_column]"),
}


@pytest.mark.parametrize("name", sorted(MALFORMED_CSV))
def test_malformed_csv_typed_error_and_cli_exit_2(name, tmp_path, capsys):
    text, exc, match = MALFORMED_CSV[name]
    f = tmp_path / f"{name}.csv"
    f.write_text(text)
    with pytest.raises(exc) as ei:
        load(f)
    assert match in str(ei.value)
    assert isinstance(ei.value, InputError)
    assert main(["validate", str(f)]) == 2
    cap = capsys.readouterr()
    assert "Traceback" not in cap.err and match in cap.err


@pytest.mark.parametrize("path, kw, exc, match", [
    (FIX + "empty.csv", {}, EmptyFileError, "empty"),
    (FIX + "header_only.csv", {}, EmptyFileError, "no patient rows"),
    (FIX + "not_a_table.csv", {}, NotATableError, "PNG"),
    (FIX + "endpoints.xlsx", {"sheet": "Sheet9"}, SheetNotFoundError, "'Patients'"),
    (FIX + "nope.csv", {}, CohortFileNotFoundError, "file not found"),
    (FIX + "endpoints.csv", {"mapping": FIX + "nope.yaml"}, MappingError, "not found"),
    (FIX + "make_fixtures.py", {}, UnsupportedFormatError, "unknown file type"),
], ids=["empty", "header_only", "png_as_csv", "missing_sheet", "missing_file",
        "missing_mapping", "unsupported"])
def test_bad_files(path, kw, exc, match, capsys):
    with pytest.raises(exc, match=match):
        load(path, **kw)
    argv = ["validate", path]
    if "sheet" in kw:
        argv += ["--sheet", kw["sheet"]]
    if "mapping" in kw:
        argv += ["--mapping", kw["mapping"]]
    assert main(argv) == 2
    assert "Traceback" not in capsys.readouterr().err


def test_binary_renamed_xlsx_and_parquet(tmp_path):
    png = (FIX + "not_a_table.csv")
    data = open(png, "rb").read()
    for ext, exc in [(".xlsx", NotATableError), (".parquet", NotATableError)]:
        f = tmp_path / f"x{ext}"
        f.write_bytes(data)
        with pytest.raises(exc, match="PNG"):
            load(f)
    # a zip that is not a workbook
    z = tmp_path / "y.xlsx"
    import zipfile
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("hello.txt", "hi")
    with pytest.raises(NotATableError):
        load(z)
    # truncated parquet
    t = tmp_path / "t.parquet"
    t.write_bytes(open(FIX + "endpoints.parquet", "rb").read()[:200])
    with pytest.raises(NotATableError):
        load(t)


def test_not_utf8_and_semicolon(tmp_path):
    f = tmp_path / "latin.csv"
    f.write_bytes("patient_id;disease;last_followup_date;center\na;APL;2020-01-01;Sé\n"
                  .encode("latin-1"))
    # issue 18: a Latin-1 file is no longer refused; it is read with the detected (or
    # given) encoding, and the encoding is stated (tests/test_io_encoding.py)
    c = load(f, encoding="latin-1")
    assert c.data["center"].tolist() == ["Sé"] and c.source["encoding_source"] == "given"
    f.write_text("patient_id;disease;last_followup_date\na;APL;2020-01-01\n", encoding="utf-8")
    assert load(f).source["delimiter"] == ";"


def test_cli_subprocess_exit_2_no_traceback(tmp_path):
    f = tmp_path / "bad.csv"
    f.write_text("patient_id,disease,last_followup_date\na,APL,31/12/2020\n")
    r = subprocess.run([sys.executable, "-m", "aplcohort.cli", "validate", str(f)],
                       capture_output=True, text=True)
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    assert "row 2" in r.stderr and "column last_followup_date" in r.stderr \
        and "[type_date]" in r.stderr


def test_cli_valid_prints_report_and_summary(capsys):
    assert main(["validate", FIX + "inst.csv", "--mapping", FIX + "inst_mapping.yaml"]) == 0
    out = capsys.readouterr().out
    assert "0 error(s)" in out and "3 patients" in out
    assert "reinduction_regimen: ATO-based 2, IC 1" in out
    assert "postremission_modality: allo HSCT 1, auto HSCT 1, none 1" in out
    assert "note: wbc_diagnosis: /uL x 0.001 -> x10^9/L" in out


def test_cli_warnings_listed(capsys):
    assert main(["validate", FIX + "endpoints.xlsx", "--sheet", "Patients"]) == 0
    out = capsys.readouterr().out
    assert "2 warning(s)" in out and "[after_cutoff]" in out and "warnings: 2" in out


def test_trailing_separators_and_blank_lines(tmp_path):
    f = tmp_path / "t.csv"
    f.write_text("patient_id,disease,last_followup_date,\n\na,APL,2020-01-01,\n\nb,AML,bad,\n")
    with pytest.raises(CohortValidationError) as ei:
        load(f)
    # blank line 4 skipped: patient b is on file line 5, reported as row 5
    p = ei.value.problems[0]
    assert (p.row, p.patient_id, p.column, p.rule) == (5, "b", "last_followup_date", "type_date")
    assert not [q for q in ei.value.problems if q.rule == "extra_column"]


def test_sheet_option_only_for_workbooks(tmp_path):
    with pytest.raises(InputError, match="not an Excel workbook"):
        load(FIX + "endpoints.csv", sheet="Patients")
    m = tmp_path / "m.yaml"
    m.write_text("sheet: Patients\n")
    # a mapping written for the workbook also serves the CSV export
    assert _load(FIX + "endpoints.csv", mapping=m).n == 8


def test_cli_validate_checks_columns_an_analysis_needs(tmp_path, capsys):
    from aplcohort.cli import main
    path = tmp_path / "c.csv"
    path.write_text("patient_id,disease,relapse1_date,last_followup_date\n"
                    "P1,APL,2020-01-01,2021-01-01\n")
    assert main(["validate", str(path), "--analysis", "OS", "--time-zero", "relapse1"]) == 2
    err = capsys.readouterr().err
    assert "death_date" in err and "required_column" in err and "Traceback" not in err
    path.write_text("patient_id,disease,relapse1_date,death_date,last_followup_date\n"
                    "P1,APL,2020-01-01,,2021-01-01\n")
    assert main(["validate", str(path), "--analysis", "OS", "--time-zero", "relapse1"]) == 0
    assert "columns for OS from relapse1: all present" in capsys.readouterr().out


def test_parquet_without_pyarrow_names_the_extra(monkeypatch):
    """pyarrow is an optional extra (issue 13): its absence is a readable InputError."""
    import builtins

    from aplcohort.cohort import load
    real_import = builtins.__import__

    def no_pyarrow(name, *args, **kwargs):
        if name.startswith("pyarrow"):
            raise ImportError("No module named 'pyarrow'")
        return real_import(name, *args, **kwargs)
    monkeypatch.setattr(builtins, "__import__", no_pyarrow)
    with pytest.raises(InputError, match=r'aplcohort\[parquet\]'):
        load(FIX + "endpoints.parquet")
