"""REDCap raw export + Data Dictionary (issue 18).

The fixture (tests/data/redcap/) follows REDCap's documented layout: the Data
Dictionary's 18 columns with REDCap's exact headers, and a raw CSV export of a
longitudinal project (events baseline_arm_1, followup_arm_1) with two repeating
instruments (courses, transplants), checkbox columns ``em_sites___1..3``, form status
columns ``*_complete``, radio/dropdown/yesno codes and dates as REDCap's raw export
writes them (Y-M-D whatever the field's date_dmy/date_mdy validation; datetimes with
the time).
"""

from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path

import pandas as pd
import pytest
import yaml

from aplcohort.cohort import load
from aplcohort.cohort.mapping import load_mapping
from aplcohort.cohort.redcap import (RedcapError, draft_mapping, parse_choices,
                                     read_dictionary, read_redcap_export)
from aplcohort.errors import DataQualityWarning

HERE = Path(__file__).parent / "data" / "redcap"
EXPORT = HERE / "APLRelapse_DATA.csv"
DICT = HERE / "APLRelapse_DataDictionary.csv"
MAP = {"columns": {"record_id": "patient_id", "dx_date": "diagnosis_date",
                   "relapse_date": "relapse1_date", "reinduction": "reinduction_regimen",
                   "infection": "infection_grade3", "wbc_rel": "wbc_relapse",
                   "fu_date": "last_followup_date"},
       "values": {"reinduction_regimen": {"ATO+ATRA": "ATO-based", "IDA+AraC": "IC",
                                          "No reinduction": "none"}}}


def _load(*a, **k):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        return load(*a, **k)


def test_dictionary_headers_are_redcaps():
    head = DICT.read_text(encoding="utf-8").splitlines()[0]
    assert head.startswith('"Variable / Field Name","Form Name","Section Header","Field Type",'
                           '"Field Label","Choices, Calculations, OR Slider Labels"')
    f = read_dictionary(DICT)
    assert f["em_sites"].choices == {"1": "CNS", "2": "Skin", "3": "Other, specify"}
    assert f["infection"].choices == {"1": "yes", "0": "no"}
    assert f["dx_date"].validation == "date_dmy"


def test_patients_one_row_per_record():
    ex = read_redcap_export(EXPORT, DICT)
    p = ex.patients
    assert p["record_id"].tolist() == ["1", "2", "3"]
    assert p["disease"].tolist() == ["APL"] * 3
    assert p["sex"].tolist() == ["Male", "Female", "Female"]
    assert p["reinduction"].tolist() == ["ATO+ATRA", "IDA+AraC", "No reinduction"]
    assert p["em_sites___1"].tolist() == ["yes", "no", "no"]
    assert p["em_sites"].tolist() == ["CNS", "Skin; Other, specify", None]
    assert p["infection"].tolist() == ["no", "yes", None]
    assert p["fu_date"].tolist() == ["2021-06-30", "2018-03-01", "2016-01-05"]
    assert p["vital"].tolist() == ["Alive", "Dead", "Alive"]  # from the followup event
    assert "baseline_complete" not in p.columns
    assert ex.rows == [2, 7, 10]  # the export lines of each record's first row
    assert any("time of 2 REDCap datetime" in n for n in ex.notes)


def test_repeating_instruments_are_long_tables():
    ex = read_redcap_export(EXPORT, DICT)
    assert set(ex.repeating) == {"courses", "transplants"}
    c = ex.repeating["courses"]
    assert c.columns.tolist() == ["record_id", "redcap_event_name", "redcap_repeat_instance",
                                  "course_regimen", "course_start"]
    assert c["record_id"].tolist() == ["1", "1", "2"]
    assert c["course_regimen"].tolist() == ["ATO", "ATRA", "IDA"]
    t = ex.repeating["transplants"]
    assert t[["record_id", "hsct_type", "hsct_date"]].values.tolist() == [
        ["1", "auto", "2016-09-20"]]


def test_load_with_mapping_validates_like_a_file():
    c = _load(EXPORT, redcap_dictionary=DICT, mapping=MAP)
    assert c.n == 3 and c.source["format"] == "redcap"
    assert c.data["reinduction_regimen"].tolist() == ["ATO-based", "IC", "none"]
    assert c.data["infection_grade3"].tolist()[:2] == [False, True]
    assert c.data["death_date"].tolist()[1] == pd.Timestamp("2018-03-01")
    assert c.data["diagnosis_date"].iat[0] == pd.Timestamp("2014-02-11")
    assert c.source["repeating"] == {"courses": 3, "transplants": 1}
    assert c.source["variable_labels"]["wbc_rel"] == "WBC at relapse (x10^9/L)"
    assert any("long tables" in n for n in c.source["notes"])


def test_mapping_names_the_dictionary(tmp_path):
    m = tmp_path / "m.yaml"
    m.write_text(yaml.safe_dump({**MAP, "redcap_dictionary": DICT.name}))
    (tmp_path / DICT.name).write_bytes(DICT.read_bytes())
    c = _load(EXPORT, mapping=m)
    assert c.n == 3


def test_export_with_dmy_mdy_date_option(tmp_path):
    f = read_dictionary(DICT)
    text = EXPORT.read_text(encoding="utf-8").replace("2014-02-11", "11/02/2014")
    text = text.replace("2018-03-01,2018-03-01", "2018-03-01,03-01-2018")
    e = tmp_path / "e.csv"
    e.write_text(text, encoding="utf-8")
    p = read_redcap_export(e, f).patients
    assert p["dx_date"].iat[0] == "2014-02-11"  # date_dmy field read day first
    assert p["death_date"].iat[1] == "2018-03-01"  # date_mdy field read month first


def test_errors(tmp_path):
    bad = tmp_path / "d.csv"
    bad.write_text("Variable,Form\nx,y\n")
    with pytest.raises(RedcapError, match="not a REDCap data dictionary.*'Field Type'"):
        read_dictionary(bad)
    e = tmp_path / "e.csv"
    e.write_text(EXPORT.read_text().replace("em_sites___3", "mystery"))
    with pytest.raises(RedcapError, match=r"column\(s\) \['mystery'\] are not fields"):
        read_redcap_export(e, DICT)
    e.write_text(EXPORT.read_text().replace("2021-06-30 10:15,,1,2",
                                            "2021-06-30 10:15,,1,2").replace(
        "1,followup_arm_1,,,,,", "1,followup_arm_1,,,2,,"))
    with pytest.raises(RedcapError, match=r"record 1, field disease: 'APL' in event "
                                          r"'baseline_arm_1' and 'AML' in event "
                                          r"'followup_arm_1'"):
        read_redcap_export(e, DICT)
    with pytest.raises(RedcapError, match="is not 'code, label'"):
        parse_choices("1, a | b")


def test_draft_mapping_marks_what_it_could_not_match():
    m, todo = draft_mapping(DICT)
    assert m["columns"]["record_id"] == "patient_id"
    assert m["columns"]["disease"] == "disease" and m["columns"]["sex"] == "sex"
    assert m["columns"]["death_date"] == "death_date"
    assert m["columns"]["dx_date"] == "diagnosis_date"  # by its label
    assert m["columns"]["fu_date"] == "last_followup_date"  # by its label
    assert any(t.startswith("reinduction: choice '2, IDA+AraC' matches no") for t in todo)
    assert any(t.startswith("course_regimen: no dictionary column matches") for t in todo)


def test_cli_mapping_from_redcap(tmp_path):
    out = tmp_path / "m.yaml"
    r = subprocess.run([sys.executable, "-m", "aplcohort.cli", "mapping", "from-redcap",
                        str(DICT), "--out", str(out)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    text = out.read_text(encoding="utf-8")
    assert "# NOT MATCHED" in text and "#   - course_regimen: no dictionary column" in text
    m = load_mapping(out)  # the draft is a valid mapping
    assert m.columns["record_id"] == "patient_id" and m.redcap_dictionary == str(DICT)
    r2 = subprocess.run([sys.executable, "-m", "aplcohort.cli", "mapping", "from-redcap",
                         str(DICT), "--out", str(out)], capture_output=True, text=True)
    assert r2.returncode == 2 and "is never overwritten" in r2.stderr


def test_cli_validate_redcap():
    r = subprocess.run([sys.executable, "-m", "aplcohort.cli", "validate", str(EXPORT),
                        "--redcap-dictionary", str(DICT)], capture_output=True, text=True)
    # without a mapping the dictionary columns are not named: the report says so (exit 2)
    assert r.returncode == 2 and "required column 'last_followup_date'" in r.stderr


TOKEN = "0123456789ABCDEF0123456789ABCDEF"  # a fake 32-character token


def _api_metadata_csv() -> str:
    """The fixture dictionary as the API's metadata export writes it (API column names)."""
    from aplcohort.cohort.redcap import API_HEADERS
    lines = DICT.read_text(encoding="utf-8").splitlines(keepends=True)
    return ",".join(API_HEADERS) + "\n" + "".join(lines[1:])


class _FakeRedcapTransport:
    """A requests adapter answering REDCap API calls with the fixture files, recording each
    request's parameters (no network)."""

    def __init__(self):
        self.calls = []

    def adapter(self):
        import requests
        from urllib.parse import parse_qs
        outer = self

        class Adapter(requests.adapters.BaseAdapter):
            def send(self, request, **kw):
                body = {k: v[0] for k, v in parse_qs(request.body).items()}
                outer.calls.append(body)
                if body.get("format") == "json":  # PyCap's own look-ups (field names, events)
                    import csv
                    import io
                    import json
                    meta = list(csv.DictReader(io.StringIO(_api_metadata_csv())))
                    events = [{"arm_num": 1, "unique_event_name": e, "form": f}
                              for e, f in (("baseline_arm_1", "baseline"),
                                           ("baseline_arm_1", "relapse"),
                                           ("baseline_arm_1", "courses"),
                                           ("baseline_arm_1", "transplants"),
                                           ("followup_arm_1", "followup"))]
                    text = json.dumps({"metadata": meta, "formEventMapping": events}
                                      .get(body.get("content"), {"error": "unknown"}))
                else:
                    text = {"metadata": _api_metadata_csv(),
                            "record": EXPORT.read_text(encoding="utf-8")}.get(body.get("content"))
                resp = requests.Response()
                resp.status_code = 200 if text is not None and body.get("token") == TOKEN \
                    else 403
                resp._content = (text or '{"error": "forbidden"}').encode("utf-8")
                resp.headers["Content-Type"] = ("application/json" if body.get("format") ==
                                                "json" or text is None else
                                                "text/csv; charset=utf-8")
                resp.encoding = "utf-8"
                resp.url, resp.request = request.url, request
                return resp

            def close(self):
                pass
        return Adapter()


def test_api_export_gives_the_same_table_as_the_files(monkeypatch):
    pytest.importorskip("redcap")
    import redcap.request
    from aplcohort.cohort.redcap import read_redcap_api
    fake = _FakeRedcapTransport()
    redcap.request._session.mount("https://redcap.example.org/", fake.adapter())
    try:
        monkeypatch.setenv("REDCAP_API_TOKEN", TOKEN)
        api = read_redcap_api("https://redcap.example.org/api/")
    finally:
        redcap.request._session.adapters.pop("https://redcap.example.org/", None)
    files = read_redcap_export(EXPORT, DICT)
    pd.testing.assert_frame_equal(api.patients, files.patients)
    assert api.repeating.keys() == files.repeating.keys()
    for k in files.repeating:
        pd.testing.assert_frame_equal(api.repeating[k], files.repeating[k])
    rec = [c for c in fake.calls if c.get("content") == "record"][0]
    assert rec["format"] == "csv" and rec["rawOrLabel"] == "raw" and rec["eventName"] == "unique"


def test_api_needs_a_token_from_the_environment(monkeypatch):
    pytest.importorskip("redcap")
    from aplcohort.cohort.redcap import read_redcap_api
    monkeypatch.delenv("REDCAP_API_TOKEN", raising=False)
    with pytest.raises(RedcapError, match="set the environment variable REDCAP_API_TOKEN"):
        read_redcap_api("https://redcap.example.org/api/")
