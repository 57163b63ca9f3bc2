"""Audit 10, part A: REDCap exports (findings 1-4 of the fifth audit).

Every export here is built in the test from the fixture of tests/test_redcap.py
(tests/data/redcap/): the REDCap Data Dictionary and a raw CSV export of a longitudinal
project with two repeating instruments.
"""

from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path

import pytest
import yaml

from aplcohort.cohort import load
from aplcohort.cohort.redcap import RedcapError, read_dictionary, read_redcap_export
from aplcohort.errors import CohortValidationError, DataQualityWarning, InputError

from test_redcap import DICT, EXPORT, MAP  # noqa: E402  (the fixture and its mapping)
NAMES = {"1": "Kim Minji", "2": "Lee Jiwoo", "3": "Park Seoyeon"}


def _load(*a, **k):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        return load(*a, **k)


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# --------------------------------------------------------------------------------------
# F1: the dictionary's "Identifier?" flag, and identifying field labels
# --------------------------------------------------------------------------------------

def _identified_project(tmp_path):
    """The fixture plus two baseline text fields: ``pt_code`` (label "Code", flagged
    Identifier? = y) and ``fld_x`` (label "Patient name", not flagged), holding names."""
    lines = DICT.read_text(encoding="utf-8").splitlines()
    lines.insert(2, 'pt_code,baseline,,text,"Code",,,,,,y,,,,,,,')
    lines.insert(3, 'fld_x,baseline,,text,"Patient name",,,,,,,,,,,,,')
    d = _write(tmp_path / "dict.csv", "\n".join(lines) + "\n")
    out = []
    for k, line in enumerate(EXPORT.read_text(encoding="utf-8").splitlines()):
        cells = line.split(",")
        if k == 0:
            extra = ["pt_code", "fld_x"]
        elif cells[1] == "baseline_arm_1" and not cells[2]:
            extra = [NAMES[cells[0]], NAMES[cells[0]].split()[1]]
        else:
            extra = ["", ""]
        out.append(",".join(cells + extra))
    e = _write(tmp_path / "export.csv", "\n".join(out) + "\n")
    return e, d


def test_f1_dictionary_flag_and_label_are_read(tmp_path):
    from aplcohort.cohort.redcap import identifying_fields
    e, d = _identified_project(tmp_path)
    f = read_dictionary(d)
    assert f["pt_code"].identifier is True and f["fld_x"].identifier is False
    assert f["disease"].identifier is False
    ident = identifying_fields(f)
    assert set(ident) == {"pt_code", "fld_x"}
    assert "Identifier? = y" in ident["pt_code"]
    assert "'Patient name'" in ident["fld_x"] and "looks like a name" in ident["fld_x"]


def test_f1_load_warns_and_records_the_identifying_fields(tmp_path):
    e, d = _identified_project(tmp_path)
    c = _load(e, redcap_dictionary=d, mapping=MAP)
    assert c.data["pt_code"].tolist() == list(NAMES.values())
    w = [p for p in c.warnings if p.rule == "identifying_column"]
    assert len(w) == 1 and "'pt_code'" in w[0].message and "'fld_x'" in w[0].message
    assert "Identifier? = y" in w[0].message
    assert set(c.data.attrs["identifying_columns"]) == {"pt_code", "fld_x"}


def test_f1_plan_using_a_flagged_field_is_refused(tmp_path):
    from aplcohort.errors import PlanError
    from aplcohort.plan.runner import run_plan
    e, d = _identified_project(tmp_path)
    m = _write(tmp_path / "m.yaml", yaml.safe_dump({**MAP, "redcap_dictionary": d.name}))
    for col in ("pt_code", "fld_x"):
        plan = {"plan": "p", "data": {"source": e.name, "mapping": m.name},
                "analyses": [{"id": "who", "kind": "counts",
                              "columns": [col, "reinduction_regimen"]}]}
        p = _write(tmp_path / "plan.yaml", yaml.safe_dump(plan))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with pytest.raises(PlanError, match=rf"column '{col}' is .*REDCap data "
                                                r"dictionary.*count variable"):
                run_plan(p)
    # allowed explicitly: it runs, and the check at writing time still reads the flag
    from aplcohort.plan.write import write_outputs
    plan["allow_identifiers"] = True
    _write(tmp_path / "plan.yaml", yaml.safe_dump(plan))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = run_plan(tmp_path / "plan.yaml")
    res.plan["allow_identifiers"] = False
    with pytest.raises(PlanError, match="(?s)identifying columns would be written.*'fld_x'"):
        write_outputs(res, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_f1_cli_run_refuses_and_writes_no_names(tmp_path):
    e, d = _identified_project(tmp_path)
    m = _write(tmp_path / "m.yaml", yaml.safe_dump({**MAP, "redcap_dictionary": d.name}))
    plan = {"plan": "p", "data": {"source": e.name, "mapping": m.name},
            "analyses": [{"id": "who", "kind": "counts",
                          "columns": ["pt_code", "reinduction_regimen"]}]}
    p = _write(tmp_path / "plan.yaml", yaml.safe_dump(plan))
    r = subprocess.run([sys.executable, "-m", "aplcohort.cli", "run", str(p), "--out",
                        str(tmp_path / "out")], capture_output=True, text=True)
    assert r.returncode == 2, r.stderr
    assert "'pt_code' is flagged 'Identifier? = y'" in r.stderr
    assert not (tmp_path / "out").exists()


def test_f1_api_refuses_flagged_fields(tmp_path):
    from aplcohort.tables import table1
    e, d = _identified_project(tmp_path)
    c = _load(e, redcap_dictionary=d, mapping=MAP)
    with pytest.raises(InputError, match=r"column 'pt_code' is flagged 'Identifier\? = y'"):
        table1(c.data, group="reinduction_regimen", variables=["pt_code"])
    with pytest.raises(InputError, match=r"column 'fld_x' is labelled 'Patient name'"):
        table1(c.data, group="fld_x", variables=["sex"])
    sub = c.data[c.data["sex"] == "female"]  # a subset keeps what the loader recorded
    with pytest.raises(InputError, match="'pt_code'"):
        table1(sub, group="reinduction_regimen", variables=["pt_code"])
    t = table1(c.data, group="reinduction_regimen", variables=["pt_code"],
               allow_identifiers=True, tests=False)
    assert t is not None


# --------------------------------------------------------------------------------------
# F2: a record with only repeating-instrument rows
# --------------------------------------------------------------------------------------

def _orphan_export(tmp_path) -> Path:
    text = EXPORT.read_text(encoding="utf-8")
    return _write(tmp_path / "orphan.csv",
                  text + "4,baseline_arm_1,courses,1,,,,,,,,,,,,,,,,,1,2016-05-03,2,,,\n")


def test_f2_record_with_only_repeating_rows_is_named(tmp_path):
    e = _orphan_export(tmp_path)
    with pytest.raises(RedcapError, match=r"record '4' has only repeating-instrument rows "
                                          r"\(courses; export line\(s\) 12\)"):
        read_redcap_export(e, DICT)
    ex = read_redcap_export(e, DICT, problems="report")
    assert [(p.row, p.patient_id, p.rule) for p in ex.problems] == [
        (12, "4", "redcap_no_patient_row")]
    assert ex.repeating["courses"]["record_id"].tolist() == ["1", "1", "2", "4"]


def test_f2_load_reports_it_as_a_validation_error(tmp_path):
    e = _orphan_export(tmp_path)
    with pytest.raises(CohortValidationError) as info:
        _load(e, redcap_dictionary=DICT, mapping=MAP)
    errs = [p for p in info.value.problems if p.severity == "error"]
    assert [(p.row, p.patient_id, p.rule) for p in errs] == [(12, "4", "redcap_no_patient_row")]
    assert "row 12, patient 4" in str(info.value)
    r = subprocess.run([sys.executable, "-m", "aplcohort.cli", "validate", str(e),
                        "--redcap-dictionary", str(DICT), "--mapping",
                        str(_write(tmp_path / "m.yaml", yaml.safe_dump(MAP)))],
                       capture_output=True, text=True)
    assert r.returncode == 2 and "record '4' has only repeating-instrument rows" in r.stderr


# --------------------------------------------------------------------------------------
# F3: a "CSV (labels)" export is refused
# --------------------------------------------------------------------------------------

def _relabel(rows, col, mapping):
    k = rows[0].index(col)
    for r in rows[1:]:
        r[k] = mapping.get(r[k], r[k])


def _label_variant(tmp_path, what) -> Path:
    rows = [line.split(",") for line in EXPORT.read_text(encoding="utf-8").splitlines()]
    if what == "checkbox":
        for c in ("em_sites___1", "em_sites___2", "em_sites___3"):
            _relabel(rows, c, {"1": "Checked", "0": "Unchecked"})
    elif what == "status":
        for c in ("baseline_complete", "relapse_complete", "followup_complete"):
            _relabel(rows, c, {"2": "Complete", "0": "Incomplete"})
    elif what == "choices":
        _relabel(rows, "sex", {"1": "Male", "2": "Female"})
    elif what == "yesno":
        _relabel(rows, "infection", {"1": "Yes", "0": "No"})
    return _write(tmp_path / f"labels_{what}.csv", "\n".join(",".join(r) for r in rows) + "\n")


@pytest.mark.parametrize("what,cell", [("checkbox", "em_sites___1: 'Checked'"),
                                       ("status", "baseline_complete: 'Complete'"),
                                       ("choices", "sex: 'Male'"),
                                       ("yesno", "infection: 'No'")])
def test_f3_label_export_is_refused(tmp_path, what, cell):
    e = _label_variant(tmp_path, what)
    with pytest.raises(RedcapError, match=r"'CSV \(labels\)' export") as info:
        read_redcap_export(e, DICT)
    msg = str(info.value)
    assert cell in msg and "export the data again as 'CSV (raw data)'" in msg


def test_f3_label_headers_and_cli_exit_2(tmp_path):
    text = EXPORT.read_text(encoding="utf-8").replace("record_id,", "Record ID,", 1)
    e = _write(tmp_path / "labels_header.csv", text)
    with pytest.raises(RedcapError, match=r"field labels \('Record ID', \.\.\.\).*"
                                          r"'CSV \(raw data\)'"):
        read_redcap_export(e, DICT)
    e2 = _label_variant(tmp_path, "checkbox")
    r = subprocess.run([sys.executable, "-m", "aplcohort.cli", "validate", str(e2),
                        "--redcap-dictionary", str(DICT)], capture_output=True, text=True)
    assert r.returncode == 2 and "'CSV (labels)' export" in r.stderr
    assert "Traceback" not in r.stderr


def test_f3_raw_export_is_not_taken_for_labels():
    # a raw export whose choice field holds an unknown code is still read (the validator
    # reports the code), not taken for a label export
    ex = read_redcap_export(EXPORT, DICT)
    assert ex.patients["em_sites___1"].tolist() == ["yes", "no", "no"]


# --------------------------------------------------------------------------------------
# F4: duplicates in a project without events; repeating fields in the patient table
# --------------------------------------------------------------------------------------

CLASSIC = ("record_id,disease,sex,dx_date,relapse_date,reinduction,em_sites___1,em_sites___2,"
           "em_sites___3,infection,wbc_rel,fu_date,death_date,vital\n"
           "1,1,1,2014-02-11,2016-05-02,1,1,0,0,0,12.4,2021-06-30,,1\n"
           "2,1,2,2015-07-30,2017-01-15,2,0,1,1,1,3.1,2018-03-01,2018-03-01,2\n"
           "2,1,2,2015-07-30,2017-01-15,2,0,0,0,,,2018-03-01,2018-03-01,2\n"
           "3,1,2,2013-12-01,2015-03-20,3,0,0,0,,,2016-01-05,,1\n")


def test_f4_classic_duplicate_is_an_error_naming_the_lines(tmp_path):
    e = _write(tmp_path / "classic.csv", CLASSIC)
    with pytest.raises(RedcapError, match=r"record '2' is on 2 rows of the export "
                                          r"\(lines 3 and 4\)") as info:
        read_redcap_export(e, DICT)
    assert "event None" not in str(info.value)
    # a conflicting duplicate (the second row says Male) is the same error, no "event None"
    e2 = _write(tmp_path / "classic2.csv",
                CLASSIC + "3,1,1,2013-12-01,2015-03-20,3,0,0,0,,,2016-01-05,,1\n")
    with pytest.raises(RedcapError) as info:
        read_redcap_export(e2, DICT)
    msg = str(info.value)
    assert "event None" not in msg and "record '3' is on 2 rows of the export (lines 5 and 6)" in msg
    # loaded: a duplicate_id error of the validation report, the row is not merged
    with pytest.raises(CohortValidationError) as info:
        _load(e, redcap_dictionary=DICT, mapping=MAP)
    errs = [p for p in info.value.problems if p.severity == "error"]
    assert [(p.row, p.patient_id, p.rule) for p in errs] == [(3, "2", "duplicate_id")]
    assert "lines 3 and 4" in errs[0].message


def test_f4_same_event_twice_and_conflict_lines(tmp_path):
    lines = EXPORT.read_text(encoding="utf-8").splitlines()
    e = _write(tmp_path / "twice.csv", "\n".join(lines + [lines[9]]) + "\n")  # record 3 again
    with pytest.raises(RedcapError, match=r"record '3' has 2 rows in event 'baseline_arm_1' "
                                          r"\(export lines 10 and 12\)"):
        read_redcap_export(e, DICT)
    # a conflict between events names the export lines of both values
    lines2 = list(lines)
    cells = lines2[2].split(",")  # record 1, followup_arm_1
    cells[4] = "2"  # disease AML
    lines2[2] = ",".join(cells)
    e2 = _write(tmp_path / "conflict.csv", "\n".join(lines2) + "\n")
    with pytest.raises(RedcapError, match=r"record 1, field disease: 'APL' in event "
                                          r"'baseline_arm_1' and 'AML' in event "
                                          r"'followup_arm_1' \(export lines 2 and 3\)"):
        read_redcap_export(e2, DICT)


def test_f4_repeating_fields_stay_in_their_long_tables():
    ex = read_redcap_export(EXPORT, DICT)
    for col in ("course_regimen", "course_start", "hsct_type", "hsct_date"):
        assert col not in ex.patients.columns
    assert ex.repeating["courses"]["course_regimen"].tolist() == ["ATO", "ATRA", "IDA"]
    assert ex.repeating["transplants"]["hsct_date"].tolist() == ["2016-09-20"]
    c = _load(EXPORT, redcap_dictionary=DICT, mapping=MAP)
    extra = {p.column for p in c.warnings if p.rule == "extra_column"}
    assert not extra & {"course_regimen", "course_start", "hsct_type", "hsct_date"}
    assert {"vital", "em_sites"} <= extra  # the patient's own extra fields still warned


def test_f4_classic_export_without_duplicates_reads():
    # the classic layout itself is fine: one row per record
    text = "".join(CLASSIC.splitlines(keepends=True)[i] for i in (0, 1, 2, 4))
    ex = read_redcap_export("classic.csv", DICT, text=text)
    assert ex.patients["record_id"].tolist() == ["1", "2", "3"] and ex.problems == []
    assert ex.rows == [2, 3, 4]
