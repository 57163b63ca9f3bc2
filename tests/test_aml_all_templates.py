"""Relapsed AML and ALL usable (issue 14): vocabularies merged into the dictionary, the
plan templates rr_aml / rr_all run end to end on synthetic cohorts calibrated to ADMIRAL and
TOWER and write their reports, and variant-APL QC is one definition."""

import json
import warnings

import numpy as np
import pandas as pd
import pytest

from aplcohort.cli import main
from aplcohort.cohort import validate
from aplcohort.cohort.vocab import FUSION_SENSITIVITY, RESPONSE_BY_DISEASE, resistant_fusions
from aplcohort.errors import ScenarioError
from aplcohort.synthetic import rr_trials, variant_apl


@pytest.mark.parametrize("value,label", [
    ("venetoclax + azacitidine", "venetoclax-based"), ("Gilteritinib", "FLT3 inhibitor"),
    ("ivosidenib", "IDH inhibitor"), ("enasidenib", "IDH inhibitor"),
    ("Gemtuzumab ozogamicin", "gemtuzumab-based"), ("FLAG-Ida", "FLAG-Ida"), ("MEC", "MEC"),
    ("CLAG", "CLAG"), ("Blinatumomab", "blinatumomab"), ("inotuzumab", "inotuzumab"),
    ("CAR T", "CAR-T"), ("ponatinib + blinatumomab", "TKI-based"), ("Hyper-CVAD", "hyper-CVAD"),
    ("Tamibarotene", "tamibarotene"), ("AM80", "tamibarotene")])
def test_validation_accepts_current_regimens(value, label):
    df = pd.DataFrame({"patient_id": ["P1"], "disease": ["AML"], "reinduction_regimen": [value],
                       "last_followup_date": ["2020-01-01"]})
    rep = validate(df)
    assert rep.ok and not [p for p in rep.problems if p.column == "reinduction_regimen"]
    assert rep.data["reinduction_regimen"].iloc[0] == label


@pytest.mark.parametrize("disease,value,label", [
    ("AML", "CRi", "CRi"), ("AML", "CRh", "CRh"), ("AML", "MLFS", "MLFS"),
    ("ALL", "CR (MRD-)", "MRD-negative CR"), ("ALL", "CR MRD-negative", "MRD-negative CR"),
    ("AML", "complete remission", "CR2")])
def test_validation_accepts_response_categories_by_disease(disease, value, label):
    df = pd.DataFrame({"patient_id": ["P1"], "disease": [disease], "response": [value],
                       "last_followup_date": ["2020-01-01"]})
    rep = validate(df)
    assert rep.ok and rep.warnings == [] and rep.data["response"].iloc[0] == label


def test_response_of_another_disease_is_flagged():
    df = pd.DataFrame({"patient_id": ["P1", "P2"], "disease": ["APL", "ALL"],
                       "response": ["CRi", "MLFS"], "last_followup_date": ["2020-01-01"] * 2})
    rep = validate(df)
    w = [(p.rule, p.value) for p in rep.warnings]
    assert w == [("response_for_disease", "CRi"), ("response_for_disease", "MLFS")]
    assert "not a APL response category" in rep.warnings[0].message


def test_variant_resistance_one_definition_in_validation_and_scenario():
    assert set(variant_apl.ATO_RESISTANT) == set(resistant_fusions("ato")) == {"PLZF-RARA", "STAT5b-RARA"}
    assert set(variant_apl.ATRA_RESISTANT) == set(resistant_fusions("atra"))
    df = variant_apl.generate(seed=3)
    rep = validate(df)
    ato = set(df.patient_id[df.fusion.isin(resistant_fusions("ato"))
                            & (df.reinduction_regimen == "ATO-based")])
    atra = set(df.patient_id[df.fusion.isin(resistant_fusions("atra"))])  # frontline ATRA+chemo
    assert ato and atra
    got = {r: {p.patient_id for p in rep.warnings if p.rule == r}
           for r in ("ato_resistant_fusion", "atra_resistant_fusion")}
    assert got["ato_resistant_fusion"] == ato          # STAT5b-RARA included, not only PLZF
    assert got["atra_resistant_fusion"] == atra
    assert set(FUSION_SENSITIVITY) >= set(resistant_fusions("ato"))
    with pytest.raises(Exception, match="drug must be 'ato' or 'atra'"):
        resistant_fusions("venetoclax")


def test_tamibarotene_for_an_atra_resistant_variant_is_flagged():
    df = pd.DataFrame({"patient_id": ["A", "B"], "disease": ["APL", "APL"],
                       "fusion": ["PLZF-RARA", "NPM1-RARA"],
                       "reinduction_regimen": ["tamibarotene", "tamibarotene"],
                       "last_followup_date": ["2020-01-01"] * 2})
    rep = validate(df)
    assert [(p.patient_id, p.rule) for p in rep.warnings if p.rule == "atra_resistant_fusion"] \
        == [("A", "atra_resistant_fusion")]


@pytest.mark.parametrize("trial", ["admiral", "tower"])
def test_trial_cohort_is_valid_and_calibrated(trial):
    df = rr_trials.generate(trial, seed=5)
    spec = rr_trials.TRIALS[trial]
    rep = validate(df.drop(columns=list(rr_trials.EXTRA_COLUMNS)))
    assert rep.ok and rep.warnings == []
    assert set(df.response) <= set(RESPONSE_BY_DISEASE[spec["disease"]])
    for arm, a in spec["arms"].items():
        sub = df[df.trial_arm == arm]
        target = sum(a["response"].values())
        rate = (sub.response != "none").mean()
        # within 3 binomial SE of the published rate (among all randomised patients)
        assert abs(rate - target) < 3 * np.sqrt(target * (1 - target) / len(sub)), (arm, rate)
        # transplants only in remission, after the response date, while alive
        tx = sub[sub.postremission_modality == "allo HSCT"]
        assert (tx.response != "none").all()
        assert (pd.to_datetime(tx.postremission_start_date) > pd.to_datetime(tx.response_date)).all()
        assert (pd.to_datetime(tx.postremission_start_date) < pd.to_datetime(tx.last_followup_date)).all()
        # every allo HSCT (in remission or not) is in hsct / hsct_start_date, while alive; in
        # remission it is the post-remission transplant
        allo = sub[sub.hsct == "HSCT"]
        assert allo.hsct_start_date.notna().all() and sub[sub.hsct != "HSCT"].hsct_start_date.isna().all()
        assert (pd.to_datetime(allo.hsct_start_date) < pd.to_datetime(allo.last_followup_date)).all()
        assert (allo.response != "none").sum() == len(tx)
        assert (tx.postremission_start_date == tx.hsct_start_date).all()
        # relapse after remission only: after the response date, by the last follow-up,
        # after a transplant given in remission
        rel = sub[sub.relapse2_date.notna()]
        assert len(rel) and (rel.response != "none").all()
        assert (pd.to_datetime(rel.relapse2_date) > pd.to_datetime(rel.response_date)).all()
        assert (pd.to_datetime(rel.relapse2_date) <= pd.to_datetime(rel.last_followup_date)).all()
        rtx = rel[rel.postremission_modality == "allo HSCT"]
        assert (pd.to_datetime(rtx.relapse2_date) > pd.to_datetime(rtx.postremission_start_date)).all()
        share = (sub.hsct == "HSCT").mean()
        assert abs(share - a["hsct"]) < 3 * np.sqrt(a["hsct"] * (1 - a["hsct"]) / len(sub)), (arm, share)
    # deterministic
    pd.testing.assert_frame_equal(df, rr_trials.generate(trial, seed=5))


def test_unknown_trial_is_rejected_with_a_suggestion():
    with pytest.raises(ScenarioError, match="did you mean 'admiral'"):
        rr_trials.generate("admirall")


@pytest.mark.parametrize("trial,plan", [("admiral", "rr_aml"), ("tower", "rr_all")])
def test_template_runs_end_to_end_and_writes_its_report(trial, plan, tmp_path, capsys):
    csv = tmp_path / f"{trial}.csv"
    assert main(["synth", "trial", trial, "--seed", "2", "--out", str(csv)]) == 0
    out = tmp_path / "out"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert main(["run", plan, "--data", str(csv), "--out", str(out), "--strict"]) == 0
    doc = json.loads((out / "results.json").read_text(encoding="utf-8"))
    html = (out / "report.html").read_text(encoding="utf-8")
    n = len(pd.read_csv(csv))
    for aid, a in doc["analyses"].items():
        # every analysis ok, or not estimable with its reason
        assert a["status"] == "ok" or (a["status"] == "not estimable" and a["reason"]), aid
        assert f"id='a-{aid}'" in html or f'id="a-{aid}"' in html, aid   # report anchors: a-<id>
    km = doc["analyses"]["os_by_arm"]
    assert km["n"] == n and km["median_followup"]
    # the immortal-time guard fires on the naive HSCT comparison and shows the
    # time-dependent analysis on every patient beside it
    naive = doc["analyses"]["os_by_hsct_naive"]["immortal_time"]["comparison"]
    assert any(r["method"] == "time-dependent Cox" for r in naive)
    assert doc["analyses"]["td_cox_hsct"]["n"] == n


def test_hsct_has_no_effect_in_the_generator_so_only_the_naive_analysis_shows_one():
    """The generator gives transplant no effect on survival: over a pooled large cohort the
    time-dependent HR is near 1 while the naive HR is far below it (immortal time)."""
    from aplcohort.stats.timedep import compare_naive_vs_timedependent
    frames = []
    for seed in range(3):
        d = rr_trials.generate("admiral", seed=seed)
        d["patient_id"] = d["patient_id"] + f"-{seed}"
        frames.append(d)
    d = pd.concat(frames, ignore_index=True)
    d = d[d.response != "none"].copy()  # patients in remission (the naive analysis' set)
    t0 = pd.to_datetime(d.response_date)
    d["time"] = (pd.to_datetime(d.last_followup_date) - t0).dt.days / 30.4375
    d["event"] = d.death_date.notna().astype(int)
    d["tx"] = (pd.to_datetime(d.postremission_start_date) - t0).dt.days / 30.4375
    res = compare_naive_vs_timedependent(d, time="time", event="event", id="patient_id",
                                         exposure_time="tx")
    tab = res.table.set_index("method")
    assert tab.loc["naive (groups fixed at time zero)", "estimate"] < 0.6
    assert 0.6 < tab.loc["time-dependent Cox", "estimate"] < 1.5
