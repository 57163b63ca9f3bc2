"""Reading inputs losslessly: workbooks read with full knowledge of every cell, duplicate
headers in every format, size limits, non-regular files, tolerant header matching.

Fixture workbooks are built here with openpyxl, which stores formulas without a cached
value (as a program that does not calculate would).
"""

from __future__ import annotations

import os
import threading
import warnings
import zipfile

import pandas as pd
import pytest
from openpyxl import Workbook

from aplcohort.cli import main
from aplcohort.cohort import load, read_table
from aplcohort.cohort.io import (DuplicateColumnError, NotARegularFileError, SheetChoiceError,
                                 SheetNotFoundError, WorkbookCellError, WorkbookTooLargeError)
from aplcohort.errors import CohortValidationError, DataQualityWarning, InputError

HEADER = ["patient_id", "disease", "last_followup_date", "death_date"]
ROWS = [["P1", "APL", "2020-05-01", None], ["P2", "APL", "2020-06-01", "2020-06-01"],
        ["P3", "APL", "2020-07-01", None], ["P4", "APL", "2020-08-01", None]]


def _book(path, rows=ROWS, header=HEADER, title="Patients", extra=None):
    wb = Workbook()
    ws = wb.active
    ws.title = title
    ws.append(header)
    for r in rows:
        ws.append(r)
    if extra:
        extra(wb, ws)
    wb.save(path)
    return path


def _load(*a, **k):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        return load(*a, **k)


def _exit2(path, capsys, *args):
    assert main(["validate", str(path), *args]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err


def test_formula_without_cached_value_is_an_error_naming_sheet_cell_patient(tmp_path, capsys):
    def f(wb, ws):
        ws["D5"] = "=C5+1"  # P4's death date written as a formula, never calculated
    p = _book(tmp_path / "f.xlsx", extra=f)
    with pytest.raises(WorkbookCellError) as ei:
        load(p)
    msg = str(ei.value)
    assert "sheet 'Patients', cell D5" in msg and "patient P4" in msg
    assert "column death_date" in msg and "=C5+1" in msg and "no stored value" in msg
    assert isinstance(ei.value, InputError)
    assert "cell D5" in _exit2(p, capsys)


@pytest.mark.parametrize("err", ["#DIV/0!", "#N/A", "#VALUE!", "#REF!"])
def test_error_values_are_errors(err, tmp_path):
    def f(wb, ws):
        ws["C3"] = err
        ws["C3"].data_type = "e"
    p = _book(tmp_path / "e.xlsx", extra=f)
    with pytest.raises(WorkbookCellError, match=rf"cell C3 \(column last_followup_date, "
                                                rf"patient P2\): the error value {err}"):
        load(p)


def test_merged_data_cells_are_errors(tmp_path):
    def f(wb, ws):
        ws.merge_cells("D3:D4")  # P2 and P3 "share" a death date
    p = _book(tmp_path / "m.xlsx", extra=f)
    with pytest.raises(WorkbookCellError, match=r"cells D3:D4 \(column death_date, patient P2\)"
                                                r": the cells are merged"):
        load(p)


def test_a_merged_header_is_not_called_a_patient(tmp_path):
    def f(wb, ws):
        ws.merge_cells("C1:D1")
    p = _book(tmp_path / "mh.xlsx", extra=f)
    with pytest.raises(WorkbookCellError, match=r"cells C1:D1 \(column [^)]*, header row\)"):
        load(p)


def test_every_bad_cell_listed_at_once(tmp_path):
    def f(wb, ws):
        ws["D5"] = "=1/0"
        ws["C2"] = "#N/A"
        ws["C2"].data_type = "e"
    p = _book(tmp_path / "all.xlsx", extra=f)
    with pytest.raises(WorkbookCellError, match="2 cell") as ei:
        load(p)
    assert "cell C2" in str(ei.value) and "cell D5" in str(ei.value)


def test_hidden_first_sheet_never_chosen(tmp_path):
    def f(wb, ws):
        h = wb.create_sheet("Old", 0)
        for r in [HEADER, ["X1", "APL", "2019-01-01", "2019-01-01"]]:
            h.append(r)
        h.sheet_state = "hidden"
    p = _book(tmp_path / "h.xlsx", extra=f)
    c = _load(p)
    assert c.patient_ids == ["P1", "P2", "P3", "P4"] and c.source["sheet"] == "Patients"
    # named explicitly, a hidden sheet is read
    assert _load(p, sheet="Old").patient_ids == ["X1"]


def test_several_visible_sheets_without_a_name_lists_them(tmp_path, capsys):
    def f(wb, ws):
        wb.create_sheet("Summary").append(["n", 4])
        hid = wb.create_sheet("Scratch")
        hid.sheet_state = "hidden"
    p = _book(tmp_path / "v.xlsx", extra=f)
    with pytest.raises(SheetChoiceError, match=r"2 visible sheets \('Patients', 'Summary'\).*"
                                               r"hidden sheets.*'Scratch'"):
        load(p)
    assert "visible sheets" in _exit2(p, capsys)
    assert _load(p, sheet="Patients").n == 4
    with pytest.raises(SheetNotFoundError, match=r"'Scratch' \(hidden\)"):
        load(p, sheet="Nope")


def test_sheet_row_numbers_are_the_sheet_rows(tmp_path):
    def f(wb, ws):
        ws.insert_rows(1, 2)  # two blank rows above the header: header is row 3
        ws["C7"] = "2020-02-30"  # P4
    p = _book(tmp_path / "r.xlsx", extra=f)
    with pytest.raises(CohortValidationError) as ei:
        load(p)
    bad = [q for q in ei.value.problems if q.rule == "type_date"][0]
    assert (bad.row, bad.patient_id) == (7, "P4")


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "parquet"])
def test_duplicate_headers_are_errors_in_every_format(fmt, tmp_path, capsys):
    header = HEADER + ["death_date"]
    rows = [r + ["2021-01-01"] for r in ROWS]
    p = tmp_path / f"d.{fmt}"
    if fmt == "xlsx":
        _book(p, rows=rows, header=header)
    elif fmt == "csv":
        p.write_text("\n".join(",".join("" if v is None else v for v in r)
                               for r in [header] + rows) + "\n")
    else:
        import pyarrow as pa
        import pyarrow.parquet as pq
        cols = list(zip(*rows))
        pq.write_table(pa.table([pa.array(c) for c in cols], names=header), p)
    with pytest.raises(DuplicateColumnError, match="duplicate column names: 'death_date'"):
        load(p)
    _exit2(p, capsys)


def test_headers_differing_only_in_case_or_spacing_are_duplicates(tmp_path):
    p = tmp_path / "c.csv"
    p.write_text("patient_id,disease,last_followup_date,WBC (Rel),wbc(rel)\n"
                 "P1,APL,2020-01-01,1,2\n")
    with pytest.raises(DuplicateColumnError, match=r"'WBC \(Rel\)' \(field 4\) and 'wbc\(rel\)'"):
        load(p)


def test_header_matching_tolerates_case_spaces_and_line_breaks(tmp_path):
    header = ["Pt No", "Dx", "Last FU", "WBC\n(Rel)"]
    p = _book(tmp_path / "t.xlsx", rows=[["P1", "APL", "2020-01-01", 3.5]], header=header)
    mapping = {"columns": {"pt no": "patient_id", "DX": "disease", "Last  FU": "last_followup_date",
                           "WBC (Rel)": "wbc_relapse"}}
    c = _load(p, mapping=mapping)
    assert c.data["wbc_relapse"].tolist() == [3.5]
    assert any("WBC (Rel)" in n for n in c.source["notes"])


def test_mapped_column_absent_says_did_you_mean(tmp_path):
    p = tmp_path / "a.csv"
    p.write_text("patient_id,disease,last_followup_date,WBC_Rel\nP1,APL,2020-01-01,3\n")
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always", DataQualityWarning)
        load(p, mapping={"columns": {"WBC Rel": "wbc_relapse"}})
    assert any("did you mean 'WBC_Rel'?" in str(x.message) for x in w)


def test_ambiguous_tolerant_match_is_an_error(tmp_path):
    from aplcohort.cohort import validate
    df = pd.DataFrame({"patient_id": ["P1"], "disease": ["APL"],
                       "last_followup_date": ["2020-01-01"], "WBC(Rel)": ["1"]})
    rep = validate(df, mapping={"columns": {"WBC (Rel)": "wbc_relapse",
                                            "wbc (rel)": "wbc_diagnosis"}})
    p = [q for q in rep.errors if q.rule == "ambiguous_column"][0]
    assert "'WBC (Rel)' -> 'wbc_relapse'" in p.message
    assert "'wbc (rel)' -> 'wbc_diagnosis'" in p.message


def test_decompressed_size_limit_checked_before_reading(tmp_path, capsys):
    p = _book(tmp_path / "big.xlsx")
    # a member that decompresses to 64 MiB from a few kB
    with zipfile.ZipFile(p, "a", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("xl/media/padding.bin", b"\0" * (64 * 2**20))
    assert os.path.getsize(p) < 2**20
    with pytest.raises(WorkbookTooLargeError, match=r"decompresses to 64 MiB, more than the limit "
                                                    r"of 16 MiB"):
        load(p, max_uncompressed_bytes=16 * 2**20)
    assert _load(p).n == 4  # under the default limit
    assert "more than the limit of 16 MiB" in _exit2(p, capsys, "--max-xlsx-mib", "16")
    assert "positive number" in _exit2(p, capsys, "--max-xlsx-mib", "0")
    assert main(["validate", str(p), "--max-xlsx-mib", "100"]) == 0


def test_named_pipe_is_refused_without_hanging(tmp_path, capsys):
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    # if the reader opened the pipe it would block; a writer thread would unblock it, so
    # the test checks the error is raised before any open (no writer is started)
    done = {}

    def go():
        try:
            read_table(fifo)
        except NotARegularFileError as exc:
            done["err"] = str(exc)
    t = threading.Thread(target=go, daemon=True)
    t.start()
    t.join(30)
    assert "named pipe" in done.get("err", "") and "not a regular file" in done["err"]
    assert "named pipe" in _exit2(fifo, capsys)


def test_csv_fast_and_record_readers_agree(tmp_path):
    from aplcohort.cohort.io import _read_csv_fast, _read_csv_records
    text = ("patient_id,disease,last_followup_date,note\n\n"
            "P1,APL,2020-01-01,a\n , , , \n,,,\n"
            "P2,APL,2020-01-02, b \r\nP3,APL,2020-01-03,\n")
    fast = _read_csv_fast(text, ",")
    slow = _read_csv_records("t.csv", text, ",")
    assert fast is not None and fast[0] == slow[0] and fast[2] == slow[2] == [3, 6, 7]
    pd.testing.assert_frame_equal(fast[1].astype(object), slow[1])  # fast: categoricals of text
    assert _read_csv_fast('a,b\n"x,y",1\n', ",") is None  # quotes: the csv module reads it


def test_unreadable_file_is_a_readable_input_error(tmp_path, monkeypatch, capsys):
    import errno
    from pathlib import Path
    from aplcohort.cohort import CohortLoadError
    p = tmp_path / "c.csv"
    p.write_text("patient_id,disease,last_followup_date\nP1,APL,2020-01-01\n")
    x = _book(tmp_path / "c.xlsx")
    real_rb, real_open = Path.read_bytes, open

    def denied_rb(self):
        if Path(self) == p:
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return real_rb(self)
    monkeypatch.setattr(Path, "read_bytes", denied_rb)
    with pytest.raises(CohortLoadError, match=r"c.csv: cannot be read \(permission denied\)"):
        load(p)
    assert "permission denied" in _exit2(p, capsys)

    def denied_open(f, *a, **k):
        if str(f) == str(x):
            raise OSError(errno.EIO, "Input/output error", str(f))
        return real_open(f, *a, **k)
    monkeypatch.setattr("builtins.open", denied_open)
    with pytest.raises(CohortLoadError, match=r"cannot be read \(input/output error\)"):
        load(x)


def test_workbook_with_falsified_member_size_is_not_read(tmp_path):
    # a zip whose directory understates a member's size cannot inflate beyond it:
    # zipfile stops at the declared size and the CRC check fails -> NotATableError
    import struct
    from aplcohort.cohort import NotATableError
    p = _book(tmp_path / "lie.xlsx")
    b = bytearray(p.read_bytes())
    name = b"xl/worksheets/sheet1.xml"
    loc = b.find(b"PK\x03\x04")  # local headers
    while loc >= 0 and b[loc + 30:loc + 30 + len(name)] != name:
        loc = b.find(b"PK\x03\x04", loc + 4)
    cd = b.find(b"PK\x01\x02")
    while b[cd + 46:cd + 46 + len(name)] != name:
        cd = b.find(b"PK\x01\x02", cd + 4)
    b[loc + 22:loc + 26] = struct.pack("<I", 10)
    b[cd + 24:cd + 28] = struct.pack("<I", 10)
    assert loc > 0 and cd > 0
    p.write_bytes(bytes(b))
    with pytest.raises(NotATableError, match="could not be opened as an Excel workbook.*CRC"):
        load(p)
