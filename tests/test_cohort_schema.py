"""Data dictionary objects, the generated docs page, required_for."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from aplcohort.cohort import data_dictionary, load_dictionary, required_for
from aplcohort.cohort.schema import render_data_dictionary_markdown, write_data_dictionary_doc
from aplcohort.errors import InputError

ROOT = Path(__file__).resolve().parents[1]


def test_dictionary_matches_yaml():
    raw = yaml.safe_load((ROOT / "aplcohort/cohort/dictionary.yaml").read_text())
    d = load_dictionary()
    assert list(d.columns) == list(raw["columns"])
    assert d.required == ("patient_id", "disease", "last_followup_date")
    assert d.column("plt_diagnosis").unit == "x10^9/L"
    assert (d.column("age_at_diagnosis").min, d.column("age_at_diagnosis").max) == (0, 110)
    assert d.column("infection_grade3").vocabulary == "yes_no"
    assert d.vocabularies["response"].labels == ("mCR2", "CR2", "MRD-negative CR", "CRh", "CRi", "MLFS",
                                                 "PR", "none")
    with pytest.raises(InputError, match="unknown column"):
        d.column("transplant")


def test_data_dictionary_frame():
    dd = data_dictionary()
    assert list(dd.columns) == ["column", "type", "unit", "required", "vocabulary", "description"]
    assert len(dd) == len(load_dictionary().columns)
    row = dd.set_index("column").loc["postremission_modality"]
    assert (row["type"], row["vocabulary"], bool(row["required"])) == \
        ("category", "postremission_modality", False)


def test_committed_doc_is_up_to_date(tmp_path):
    committed = (ROOT / "docs/data_dictionary.md").read_text(encoding="utf-8")
    assert committed == render_data_dictionary_markdown(), \
        "regenerate: python -c 'from aplcohort.cohort import write_data_dictionary_doc as w; w()'"
    p = write_data_dictionary_doc(tmp_path / "dd.md")
    assert p.read_text(encoding="utf-8") == committed
    assert "| `auto HSCT` | `asct`, `auto`" in committed


def test_required_for():
    assert required_for("core") == ("patient_id", "disease", "last_followup_date")
    assert required_for("OS", time_zero="relapse1") == (
        "patient_id", "disease", "relapse1_date", "death_date", "last_followup_date")
    assert required_for("LFS", time_zero="mcr2") == required_for("RFS", time_zero="mcr2")
    assert "response" in required_for("RFS", time_zero="mcr2")
    assert "anc_recovery_date" in required_for("anc_recovery", time_zero="reinduction")
    assert "cr1_date" in required_for("OS", time_zero="cr1_date")
    with pytest.raises(InputError, match="unknown analysis"):
        required_for("PFS")
    with pytest.raises(InputError, match="unknown time zero"):
        required_for("OS", time_zero="sex")
