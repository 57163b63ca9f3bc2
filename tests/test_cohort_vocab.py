"""Vocabulary matching: case, spacing and +/- spacing insensitive; unknown is never guessed."""

from __future__ import annotations

import pytest

from aplcohort.cohort import load_dictionary, match_key, normalise
from aplcohort.cohort.vocab import Vocabulary
from aplcohort.errors import InputError


@pytest.mark.parametrize("value, vocab, expected", [
    ("ASCT", "postremission_modality", "auto HSCT"),
    ("auto", "postremission_modality", "auto HSCT"),
    ("Autologous SCT", "postremission_modality", "auto HSCT"),
    ("  autologous   sct ", "postremission_modality", "auto HSCT"),
    ("AUTO - HSCT", "postremission_modality", "auto HSCT"),
    ("auto HSCT", "postremission_modality", "auto HSCT"),
    ("ATO+ATRA", "reinduction_regimen", "ATO-based"),
    ("ato + atra", "reinduction_regimen", "ATO-based"),
    ("arsenic", "reinduction_regimen", "ATO-based"),
    ("ATO - based", "reinduction_regimen", "ATO-based"),
    ("mcr", "response", "mCR2"),
    ("CR", "response", "CR2"),
    ("cr2 (PCR-)", "response", "mCR2"),
    ("cr2 (pcr +)", "response", "CR2"),
    ("Yes", "yes_no", "yes"),
    ("1", "yes_no", "yes"),
    ("t(15;17)", "fusion", "PML-RARA"),
    ("pml :: rara", "fusion", "PML-RARA"),
])
def test_synonyms(value, vocab, expected):
    assert normalise(value, vocab) == expected


@pytest.mark.parametrize("value, vocab", [
    ("autologus", "postremission_modality"),  # typo: not corrected
    ("auto_hsct", "postremission_modality"),  # underscore is not a hyphen
    ("cr2 (pcr)", "response"),                # sign missing: ambiguous
    ("ATO+", "reinduction_regimen"),
    ("", "disease"),
])
def test_unknown_not_guessed(value, vocab):
    assert normalise(value, vocab) is None


def test_match_key():
    assert match_key("  ATO + ATRA ") == "ato+atra"
    assert match_key("Auto\tHSCT") == "auto hsct"
    assert match_key("A / B") == "a/b"


def test_collisions_rejected():
    with pytest.raises(InputError, match="matches both"):
        Vocabulary.from_mapping("x", {"a": ["Foo Bar"], "b": ["foo  bar"]})
    with pytest.raises(InputError, match="unknown vocabulary"):
        normalise("x", "colours")


def test_every_dictionary_label_matches_itself():
    for v in load_dictionary().vocabularies.values():
        for lab in v.labels:
            assert v.normalise(lab) == lab
            for s in v.synonyms[lab]:
                assert v.normalise(s.upper()) == lab
