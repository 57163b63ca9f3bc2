"""Audit 12 (hostile files), findings 2, 10, 11 and 13 (loader parts): XLSX read in
proportion to the cells present, classic-Mac CSV line ends, size/device checks for plans,
scenarios, mappings and REDCap dictionaries, ``--n`` ranges, and smaller loader messages."""

from __future__ import annotations

import io as _io
import os
import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook

from aplcohort import _yaml
from aplcohort.batch.power import MAX_N_SIZES, parse_n_grid
from aplcohort.cli import main
from aplcohort.cohort import io as cio
from aplcohort.cohort import load
from aplcohort.cohort.io import NotATableError, read_table
from aplcohort.cohort.mapping import MappingError, load_mapping
from aplcohort.errors import InputError, PlanError, ScenarioError
from aplcohort.plan.runner import load_plan
from aplcohort.synthetic.scenario import load_scenario

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = ROOT / "aplcohort" / "synthetic" / "scenarios" / "admiral.yaml"
HEADER = ["patient_id", "disease", "last_followup_date"]
ROWS = [["P1", "APL", "2020-01-31"], ["P2", "APL", "2021-03-01"]]


def _workbook(path, extra=()):
    wb = Workbook()
    ws = wb.active
    ws.title = "Patients"
    for r in [HEADER, *ROWS]:
        ws.append(r)
    for (row, col), v in extra:
        ws.cell(row=row, column=col).value = v
    wb.save(path)
    return path


def _pad_sheet(src, dst, pad: bytes, times: int = 1, between_rows: bool = False):
    """A copy of ``src`` whose sheet XML has ``pad`` inserted ``times`` times inside
    ``<sheetData>`` (after the opening tag, or after each of the first rows)."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for it in zin.infolist():
            data = zin.read(it.filename)
            if it.filename == "xl/worksheets/sheet1.xml":
                if between_rows:
                    data = data.replace(b"</row>", b"</row>" + pad * times)
                else:
                    data = data.replace(b"<sheetData>", b"<sheetData>" + pad * times, 1)
            zout.writestr(it, data)
    return dst


# ---------------------------------------------------------------- F2: XLSX reading cost

def test_xlsx_far_cells_cost_one_cell_each(tmp_path):
    # before: XFD1048576 expanded the sheet to a dense grid (minutes, GBs); now each stray
    # cell costs one cell: a value far down is a data row (reported by the validator, as
    # before), a value far right a nameless column
    p = _workbook(tmp_path / "far.xlsx", [((1048576, 1), "x"), ((3, 16384), "y")])
    df, info = read_table(p)
    assert list(df.columns) == HEADER + [""]
    assert list(df.attrs["source_rows"]) == [2, 3, 1048576]
    assert df.iloc[2, 0] == "x" and df.iloc[1, 3] == "y"


def test_xlsx_blank_cells_outside_table_are_named_in_a_note(tmp_path):
    p = _workbook(tmp_path / "spaces.xlsx", [((5000, 1), " "), ((2, 26), "  ")])
    c = load(p)
    assert c.n == 2
    assert list(c.data["patient_id"]) == ["P1", "P2"]
    notes = " ".join(c.source["notes"])
    assert "2 cell(s) outside the table" in notes and "hold only spaces" in notes
    assert "Z2" in notes and "A5000" in notes


def test_squeezed_xml_drops_whitespace_past_the_longest_cell_text():
    # an 8 MiB run reaches the XML parser as at most the longest cell text plus the two
    # blocks it is read in (1 MiB each); shorter runs (cell texts) pass unchanged
    body = (b"<a>" + b" " * (8 << 20) + b"<b>" + b"\t" * 100 + b"</b>"
            + b"\n" * 70000 + b"</a>")
    sq = cio._SqueezedXML(_io.BytesIO(body), "x.xml")
    parts = []
    while True:
        chunk = sq.read(16 * 1024)
        if not chunk:
            break
        parts.append(chunk)
    out = b"".join(parts)
    run = out.index(b"<b>") - 3
    assert cio._XLSX_MAX_CELL_TEXT <= run <= cio._XLSX_MAX_CELL_TEXT + 2 * sq._CHUNK
    assert out.startswith(b"<a>   ")
    assert out[3 + run:] == b"<b>" + b"\t" * 100 + b"</b>" + b"\n" * 70000 + b"</a>"


def test_xlsx_padded_sheet_reads_as_unpadded(tmp_path):
    p = _workbook(tmp_path / "t.xlsx")
    q = _pad_sheet(p, tmp_path / "pad.xlsx", b" " * (1 << 20), times=3)
    a, _ = read_table(p)
    b, _ = read_table(q)
    assert a.equals(b)


def test_xlsx_mostly_padding_refused(tmp_path, monkeypatch):
    # many runs, each shorter than a cell's longest text, between the rows
    monkeypatch.setattr(cio, "_XLSX_MAX_PADDING", 64 * 1024)
    p = _workbook(tmp_path / "t.xlsx")
    q = _pad_sheet(p, tmp_path / "pad.xlsx", b" " * 30000, times=4, between_rows=True)
    with pytest.raises(NotATableError, match="blank padding"):
        read_table(q)


def test_xlsx_header_duplicate_names_the_sheet_columns(tmp_path):
    # columns are kept by their sheet position: a duplicate names its real letters
    p = tmp_path / "dup.xlsx"
    wb = Workbook()
    ws = wb.active
    ws.append(["patient_id", None, "disease", None, "Disease"])
    ws.append(["P1", None, "APL", None, "APL"])
    wb.save(p)
    with pytest.raises(InputError, match=r"'disease' \(column C\) and 'Disease' \(column E\)"):
        read_table(p)


# ---------------------------------------------------------------- F10: CSV line ends

def test_csv_old_mac_line_ends_read(tmp_path):
    text = "\n".join(",".join(r) for r in [HEADER, *ROWS]) + "\n"
    lf = tmp_path / "lf.csv"
    cr = tmp_path / "cr.csv"
    lf.write_bytes(text.encode())
    cr.write_bytes(text.replace("\n", "\r").encode())
    a, b = load(lf), load(cr)
    assert a.data.equals(b.data)
    assert any("old Mac line ends" in n for n in b.source["notes"])


def test_csv_mixed_line_ends_one_sentence(tmp_path):
    p = tmp_path / "mixed.csv"
    p.write_bytes(b"patient_id,disease\r\nP1,AP\rL\nP2,APL\n")
    with pytest.raises(NotATableError) as ei:
        read_table(p)
    msg = str(ei.value)
    assert "lines end in different ways" in msg and "new-line character" not in msg


# ---------------------------------------------------------------- F11: unbounded reads

def test_plan_scenario_mapping_redcap_refuse_a_device(tmp_path, capsys):
    data = tmp_path / "d.csv"
    data.write_text(",".join(HEADER) + "\n" + ",".join(ROWS[0]) + "\n")
    dev = tmp_path / "dev.yaml"
    os.symlink("/dev/null", dev)
    devcsv = tmp_path / "dev.csv"
    os.symlink("/dev/null", devcsv)
    with pytest.raises(PlanError, match=r"plan file .*dev\.yaml is a device"):
        load_plan(dev)
    with pytest.raises(ScenarioError, match=r"scenario file .*dev\.yaml is a device"):
        load_scenario(dev)
    with pytest.raises(MappingError, match=r"mapping file .*dev\.yaml is a device"):
        load_mapping(dev)
    assert main(["mapping", "from-redcap", str(devcsv)]) == 2
    err = capsys.readouterr().err
    assert "is a device" in err and "not found" not in err
    assert main(["validate", str(data), "--mapping", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "is a folder" in err and "not found" not in err


def test_plan_files_have_a_size_limit(tmp_path):
    big = tmp_path / "big.yaml"
    with open(big, "wb") as fh:  # sparse: no disk space used
        fh.truncate(11 * 2**20)
    with pytest.raises(PlanError, match=r"big\.yaml is 11\.0 MiB, more than the 10\.0 MiB"):
        load_plan(big)
    with pytest.raises(ScenarioError, match="more than the"):
        load_scenario(big)
    with pytest.raises(MappingError, match="more than the"):
        load_mapping(big)


def test_n_range_checked_before_it_is_expanded():
    with pytest.raises(InputError, match="starts at 1"):
        parse_n_grid("1:1000000:1")
    with pytest.raises(InputError, match=f"999,999 sample sizes, more than the {MAX_N_SIZES:,}"):
        parse_n_grid("2:1000000:1")
    assert len(parse_n_grid(f"2:{2 * MAX_N_SIZES}:2")) == MAX_N_SIZES


# ---------------------------------------------------------------- F13: loader messages

def test_non_utf8_plan_mapping_scenario_named(tmp_path):
    p = tmp_path / "latin1.yaml"
    p.write_bytes("title: caf\xe9\n".encode("latin-1"))
    for fn, err in ((load_plan, PlanError), (load_mapping, MappingError),
                    (load_scenario, ScenarioError)):
        with pytest.raises(err, match=r"latin1\.yaml is not UTF-8 text \(byte 0xe9"):
            fn(p)


def test_utf16_mapping_with_bom_read(tmp_path):
    p = tmp_path / "m.yaml"
    p.write_bytes("columns: {Pt: patient_id}\n".encode("utf-16"))
    assert load_mapping(p).columns == {"Pt": "patient_id"}


@pytest.mark.parametrize("factor", [".inf", "-.inf", ".nan", "0", "-1", "true"])
def test_mapping_unit_factor_must_be_finite_positive(factor):
    with pytest.raises(MappingError, match="factor"):
        load_mapping(_yaml.safe_load(
            f"units: {{wbc_relapse: {{from: /weird, factor: {factor}}}}}"))


@pytest.mark.parametrize("fmt", ["'%'", "'%H:%M'", "'%Q/%m'", "'%d/%m/%Y %'"])
def test_mapping_date_format_must_read_a_date(fmt):
    with pytest.raises(MappingError, match="date_format"):
        load_mapping(_yaml.safe_load(f"date_format: {fmt}"))


def test_mapping_date_formats_still_accepted():
    m = load_mapping(_yaml.safe_load(
        "date_format: {default: '%d/%m/%Y', birth_date: '%Y'}"))
    assert m.date_format == "%d/%m/%Y"
    assert load_mapping({"date_format": "%d %b %Y"}).date_format == "%d %b %Y"


def test_mapping_sheet_date_without_python_repr():
    with pytest.raises(MappingError) as ei:
        load_mapping(_yaml.safe_load("sheet: 2020-01-01"))
    msg = str(ei.value)
    assert "a date (2020-01-01)" in msg and "datetime" not in msg


def test_max_xlsx_mib_for_a_csv_refused(tmp_path, capsys):
    p = tmp_path / "d.csv"
    p.write_text(",".join(HEADER) + "\n" + ",".join(ROWS[0]) + "\n")
    assert main(["validate", str(p), "--max-xlsx-mib", "1"]) == 2
    assert "not an Excel workbook" in capsys.readouterr().err


def test_exponent_numbers_read_alike_in_plans_and_scenarios(tmp_path):
    assert _yaml.safe_load("a: [1e-300, 1E5, -2e3, 1e308]") == {"a": [1e-300, 1e5, -2e3, 1e308]}
    p = tmp_path / "s.yaml"
    p.write_text(SCENARIO.read_text(encoding="utf-8").replace(
        "censoring: {followup: 36.0}", "censoring: {followup: 36e0}"), encoding="utf-8")
    assert load_scenario(p) == load_scenario("admiral")
    for text in ("a: 1e309", "a: [1, -1e400]", "a: 1e-400"):
        with pytest.raises(_yaml.yaml.YAMLError, match="out of range"):
            _yaml.safe_load(text)
    p.write_text(SCENARIO.read_text(encoding="utf-8").replace(
        "censoring: {followup: 36.0}", "censoring: {followup: 1e309}"), encoding="utf-8")
    with pytest.raises(ScenarioError, match="1e309 is out of range"):
        load_scenario(p)
