"""Encodings (issue 18): UTF-8 with/without BOM, CP949/EUC-KR, Latin-1, UTF-16 detected
(charset-normalizer) or given; what was used is stated; Korean names and values survive."""

from __future__ import annotations

import subprocess
import sys
import warnings

import pytest

from aplcohort.cohort import load
from aplcohort.cohort.encoding import EncodingError, decode_bytes
from aplcohort.errors import DataQualityWarning, InputError

KOREAN = ("환자번호,진단,최종추적일,병원\n"
          "P1,급성전골수성백혈병,2020-01-31,서울성모병원\n"
          "P2,급성전골수성백혈병,2021-02-01,여의도성모병원\n"
          "P3,급성골수성백혈병,2019-12-24,의정부성모병원\n")
KOREAN_MAP = {"columns": {"환자번호": "patient_id", "진단": "disease",
                          "최종추적일": "last_followup_date", "병원": "center"},
              "values": {"disease": {"급성전골수성백혈병": "APL", "급성골수성백혈병": "AML"}}}
LATIN = ("patient_id;disease;last_followup_date;center\n"
         "a;APL;2020-01-01;Hôpital Saint-Louis\nb;APL;2020-02-01;Universitätsklinikum Köln\n"
         "c;AML;2020-03-01;Hospital Universitario La Fe, València\n")


def _load(*a, **k):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        return load(*a, **k)


@pytest.mark.parametrize("enc, expect, source", [
    ("utf-8", "utf-8", "valid UTF-8"),
    ("utf-8-sig", "utf-8-sig", "byte-order mark"),
    ("utf-16", "utf-16", "byte-order mark"),
    ("cp949", "cp949", "detected"),
    ("euc-kr", "cp949", "detected"),  # CP949 is a superset of EUC-KR: same text
])
def test_korean_file_any_encoding(tmp_path, enc, expect, source):
    f = tmp_path / "k.csv"
    f.write_bytes(KOREAN.encode(enc))
    c = _load(f, mapping=KOREAN_MAP)
    assert c.data["center"].tolist() == ["서울성모병원", "여의도성모병원", "의정부성모병원"]
    assert c.data["disease"].tolist() == ["APL", "APL", "AML"]
    assert c.source["encoding"] == expect and c.source["encoding_source"] == source
    assert any(str(f) in n and ("read as" in n) for n in c.source["notes"])
    if source == "detected":
        assert "charset-normalizer" in c.source["notes"][0]


def test_korean_column_names_survive_without_mapping(tmp_path):
    f = tmp_path / "k.csv"
    f.write_bytes(("patient_id,disease,last_followup_date,비고\nP1,APL,2020-01-31,재발 후 ATO\n")
                  .encode("cp949"))
    c = _load(f)
    assert c.data["비고"].tolist() == ["재발 후 ATO"]


def test_latin1_detected_and_given(tmp_path):
    f = tmp_path / "l.csv"
    f.write_bytes(LATIN.encode("latin-1"))
    det = _load(f)
    assert det.data["center"].tolist()[1] == "Universitätsklinikum Köln"
    assert det.source["encoding"] in ("cp1252", "iso8859_1")
    given = _load(f, encoding="latin-1")
    assert given.source["encoding_source"] == "given"
    assert given.data["center"].tolist() == det.data["center"].tolist()
    via_mapping = _load(f, mapping={"encoding": "latin-1"})
    assert via_mapping.source["encoding_source"] == "given"


@pytest.mark.parametrize("enc, codec", [("utf-16-le", "utf_16_le"), ("utf-16-be", "utf_16_be")])
def test_utf16_without_bom(tmp_path, enc, codec):
    f = tmp_path / "u.csv"
    f.write_bytes(KOREAN.encode(enc))
    given = _load(f, mapping=KOREAN_MAP, encoding=enc)
    assert given.n == 3 and given.data["center"].iat[0] == "서울성모병원"
    det = _load(f, mapping=KOREAN_MAP)
    assert det.source["encoding"] == codec and det.source["encoding_source"] == "detected"
    assert det.data.equals(given.data)


def test_wrong_encoding_given_is_an_error(tmp_path):
    f = tmp_path / "k.csv"
    f.write_bytes(KOREAN.encode("cp949"))
    with pytest.raises(EncodingError, match="is not valid utf-8 text"):
        load(f, mapping=KOREAN_MAP, encoding="utf-8")
    with pytest.raises(InputError, match="not a known text encoding"):
        load(f, encoding="klingon")
    with pytest.raises(InputError, match="encoding: 'nope' is not a known"):
        load(f, mapping={"encoding": "nope"})


def test_encoding_for_a_workbook_is_refused_when_given(tmp_path):
    import openpyxl
    wb = openpyxl.Workbook()
    wb.active.append(["patient_id", "disease", "last_followup_date"])
    wb.active.append(["P1", "APL", "2020-01-01"])
    wb.save(tmp_path / "w.xlsx")
    with pytest.raises(InputError, match="not a text"):
        load(tmp_path / "w.xlsx", encoding="cp949")
    # a mapping's encoding applies to text files only and is ignored for a workbook
    assert _load(tmp_path / "w.xlsx", mapping={"encoding": "cp949"}).n == 1


def test_decode_bytes_examples():
    text, info = decode_bytes("é,ü\n".encode("utf-16-le"), "utf-16-le")
    assert text == "é,ü\n" and info["encoding_source"] == "given"
    with pytest.raises(EncodingError, match="byte-order mark"):
        decode_bytes(b"\xef\xbb\xbfa,b\n\xff\xfe\xfa")


def test_cli_validate_encoding(tmp_path):
    f = tmp_path / "l.csv"
    f.write_bytes(LATIN.encode("latin-1"))
    r = subprocess.run([sys.executable, "-m", "aplcohort.cli", "validate", str(f),
                        "--encoding", "latin-1"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "read as iso8859-1 (encoding given)" in r.stdout


def test_run_provenance_states_the_encoding(tmp_path):
    from aplcohort.plan.runner import run_plan
    f = tmp_path / "k.csv"
    f.write_bytes(KOREAN.encode("cp949"))
    plan = {"data": {"source": str(f), "mapping": KOREAN_MAP},
            "analyses": [{"id": "flow", "kind": "flow"}]}
    res = run_plan(plan, figures=False)
    assert res.provenance["input_encoding"] == "cp949 (detected)"
    f.write_bytes(KOREAN.encode("utf-8"))
    assert "input_encoding" not in run_plan(plan, figures=False).provenance
