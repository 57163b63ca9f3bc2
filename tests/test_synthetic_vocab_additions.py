"""Tests of the proposed AML/ALL vocabularies and variant-APL QC (aplcohort.synthetic.vocab_additions)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import yaml

from aplcohort.cohort.vocab import match_key
from aplcohort.synthetic import variant_apl, vocab_additions

ROOT = Path(__file__).resolve().parents[1]
DICT = yaml.safe_load((ROOT / "aplcohort" / "cohort" / "dictionary.yaml").read_text())


def test_dictionary_vocabularies_have_no_collisions():
    """The AML / ALL vocabularies merged into the dictionary leave every key with one label."""
    assert vocab_additions.collisions(DICT) == []


def test_collision_is_detected():
    d = {"vocabularies": {"reinduction_regimen": {"IC": ["blina"], "blinatumomab": ["blina"]}}}
    assert vocab_additions.collisions(d) == [
        "reinduction_regimen: 'blina' of label 'blinatumomab' already belongs to label 'IC'"]


def test_every_regimen_and_response_named_in_the_brief_is_in_the_dictionary():
    v = DICT["vocabularies"]
    keys = {match_key(k): label for label, syns in v["reinduction_regimen"].items() for k in [label, *syns]}
    for value, label in (("venetoclax + azacitidine", "venetoclax-based"), ("Gilteritinib", "FLT3 inhibitor"),
                         ("ivosidenib", "IDH inhibitor"), ("enasidenib", "IDH inhibitor"),
                         ("Gemtuzumab ozogamicin", "gemtuzumab-based"), ("FLAG-Ida", "FLAG-Ida"),
                         ("MEC", "MEC"), ("CLAG", "CLAG"), ("Blinatumomab", "blinatumomab"),
                         ("inotuzumab", "inotuzumab"), ("CAR T", "CAR-T"),
                         ("ponatinib + blinatumomab", "TKI-based"), ("Hyper-CVAD", "hyper-CVAD"),
                         ("Tamibarotene", "tamibarotene"), ("AM80", "tamibarotene")):
        assert keys.get(match_key(value)) == label, value
    # tamibarotene is no longer a synonym of "other"
    assert "tamibarotene" not in v["reinduction_regimen"]["other"]
    r = {match_key(k): label for label, syns in v["response"].items() for k in [label, *syns]}
    for value, label in (("CR", "CR2"), ("CRi", "CRi"), ("CRh", "CRh"), ("MLFS", "MLFS"),
                         ("CR MRD-negative", "MRD-negative CR"), ("CR (MRD-)", "MRD-negative CR")):
        assert r.get(match_key(value)) == label, value


def test_variant_resistance_is_one_definition():
    fs = vocab_additions.load()["fusion_sensitivity"]
    assert set(variant_apl.ATO_RESISTANT) == {f for f, s in fs.items() if s["ato"] == "resistant"}
    assert set(variant_apl.ATRA_RESISTANT) == {f for f, s in fs.items() if s["atra"] == "resistant"}
    # every fusion of the dictionary except other/unknown has a stated sensitivity
    assert set(fs) == set(DICT["vocabularies"]["fusion"]) - {"other", "unknown"}


def test_variant_qc_flags_ato_and_atra_resistance_in_the_scenario_cohort():
    df = variant_apl.generate(seed=3)
    qc = vocab_additions.variant_qc(df)
    ato = df.fusion.isin(variant_apl.ATO_RESISTANT) & (df.reinduction_regimen == "ATO-based")
    assert ato.any()
    flagged = set(qc.loc[qc.rule == "ato_resistant_variant", "patient_id"])
    assert flagged == set(df.patient_id[ato])
    atra = df.fusion.isin(variant_apl.ATRA_RESISTANT)
    assert set(qc.loc[qc.rule == "atra_resistant_variant", "patient_id"]) == set(df.patient_id[atra])
    # PML-RARA patients are never flagged
    assert not qc.patient_id.isin(df.patient_id[df.fusion == "PML-RARA"]).any()


def test_variant_qc_tamibarotene_counts_as_a_retinoid():
    d = pd.DataFrame({"patient_id": ["A", "B"], "fusion": ["PLZF-RARA", "NPM1-RARA"],
                      "reinduction_regimen": ["tamibarotene", "tamibarotene"]})
    qc = vocab_additions.variant_qc(d)
    assert qc[["patient_id", "rule"]].values.tolist() == [["A", "atra_resistant_variant"]]
