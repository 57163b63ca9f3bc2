"""Tests of the synthetic Min 2022 replica (aplcohort.synthetic.min2022)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import given, settings, strategies as st

from aplcohort.errors import ScenarioError
from aplcohort.synthetic import min2022

ROOT = Path(__file__).resolve().parents[1]
DICT = yaml.safe_load((ROOT / "aplcohort" / "cohort" / "dictionary.yaml").read_text())


def _d(df, col):
    return pd.to_datetime(df[col])


def check_counts(df: pd.DataFrame) -> None:
    """Every count stated in the Min 2022 abstract (written out by hand)."""
    assert len(df) == 52
    assert df.patient_id.tolist() == [f"SYN-{i:03d}" for i in range(1, 53)]
    rel = _d(df, "relapse1_date")
    assert rel.min() >= pd.Timestamp("2000-01-01") and rel.max() <= pd.Timestamp("2019-12-31")
    assert (df.reinduction_regimen == "ATO-based").sum() == 30
    assert (df.reinduction_regimen == "IC").sum() == 11
    nr = df.reinduction_regimen == "none"
    assert nr.sum() == 11
    assert df.no_reinduction_reason[nr].notna().all() and df.no_reinduction_reason[~nr].isna().all()
    pm = df.postremission_modality
    assert (pm == "ATO-based").sum() == 19
    assert (pm == "auto HSCT").sum() == 12
    assert (pm == "allo HSCT").sum() == 6
    none = pm == "none"
    assert none.sum() == 4 and (~nr[none]).all()
    assert df.no_postremission_reason[none].notna().all()
    assert df.no_postremission_reason[~none].isna().all()
    assert pm[nr].isna().all()
    ato_mcr2 = (df.reinduction_regimen == "ATO-based") & (df.response == "mCR2")
    r2 = df.relapse2_date.notna()
    # all 12 auto patients are ATO-reinduced mCR2 (5/12 = 41.7 %)
    assert ato_mcr2[pm == "auto HSCT"].all()
    assert (r2 & ato_mcr2 & (pm == "ATO-based")).sum() == 9
    assert (r2 & (pm == "auto HSCT")).sum() == 5
    the14 = r2 & ato_mcr2 & pm.isin(["ATO-based", "auto HSCT"])
    s = df[the14]
    alive = s.death_date.isna()
    allo = s.salvage2_modality == "allo HSCT"
    ato = s.salvage2_modality == "ATO-based"
    assert allo.sum() == 7 and ato.sum() == 7
    assert (allo & alive).sum() == 6
    assert (ato & ~alive).sum() == 5
    assert (s.death_cause[ato & ~alive] == "disease progression").all()
    assert (ato & alive).sum() == 2
    assert (s.status_after_salvage2[ato & alive] == "mCR").all()
    # implied by 50.7 % with 9 relapses (>= 18 patients) and 41.7 % = 5/12 (docs/synthetic.md)
    reg = df.reinduction_regimen
    assert (df.response[reg == "ATO-based"] == "mCR2").all()
    assert (ato_mcr2 & (pm == "ATO-based")).sum() == 18
    assert ((reg == "IC") & (pm == "ATO-based")).sum() == 1
    assert (reg[pm == "allo HSCT"] == "IC").all() and (reg[none] == "IC").all()
    # the 14 designed second relapses happen within 60 months of CR2
    months = (_d(s, "relapse2_date") - _d(s, "response_date")).dt.days / 30.4375
    assert (months <= 60).all()


def check_dates(df: pd.DataFrame) -> list[str]:
    """The date-order rules a careful loader applies; returns every violation."""
    probs = []
    D = {c: _d(df, c) for c in min2022.DATE_COLUMNS}
    cut = D["data_cutoff_date"]

    def rule(mask, text):
        mask = mask.fillna(False) if hasattr(mask, "fillna") else mask
        for pid in df.patient_id[mask]:
            probs.append(f"{pid}: {text}")

    rule(~(D["diagnosis_date"] <= D["cr1_date"]), "diagnosis <= CR1")
    rule(~(D["cr1_date"] < D["relapse1_date"]), "CR1 < relapse1")
    ri = df.reinduction_regimen != "none"
    rule(ri & ~(D["relapse1_date"] <= D["reinduction_start_date"]), "relapse1 <= reinduction start")
    rule(~ri & D["reinduction_start_date"].notna(), "no start date without reinduction")
    for c in ("response_date", "anc_recovery_date", "plt_recovery_date"):
        rule(D[c].notna() & ~(D[c] >= D["reinduction_start_date"]), f"reinduction start <= {c}")
    resp = df.response.isin(["mCR2", "CR2"])
    rule(resp != D["response_date"].notna(), "response date iff CR2/mCR2")
    rule(resp & ~(D["response_date"] >= D["anc_recovery_date"]), "CR requires ANC recovery first")
    rule(resp & ~(D["response_date"] >= D["plt_recovery_date"]), "CR requires PLT recovery first")
    post = df.postremission_modality.isin(["ATO-based", "auto HSCT", "allo HSCT"])
    rule(post & ~resp, "post-remission therapy only in CR2")
    rule(post & ~(D["postremission_start_date"] > D["response_date"]), "post-remission start after response")
    rule(~post & D["postremission_start_date"].notna(), "no post-remission date without therapy")
    r2 = D["relapse2_date"].notna()
    rule(r2 & ~(D["relapse2_date"] > D["postremission_start_date"]), "relapse2 after post-remission start")
    s2 = df.salvage2_modality.notna()
    rule(s2 & ~r2, "salvage2 only after relapse2")
    # relapse2 -> death before salvage (COURSE_MODEL): within death_before_salvage_max_days
    pre = (D["death_date"] - D["relapse2_date"]).dt.days
    rule(r2 & ~s2 & ~(pre <= min2022.DEFAULT_PARAMS["death_before_salvage_max_days"]),
         "a second relapse without salvage dies before salvage")
    rule(s2 & ~(D["salvage2_start_date"] >= D["relapse2_date"]), "salvage2 start >= relapse2")
    # salvage -> CR3: a CR3 date iff in remission after salvage, after the salvage start
    in_cr3 = df.status_after_salvage2.isin(["mCR", "CR"])
    rule(in_cr3 != D["cr3_date"].notna(), "CR3 date iff in remission after salvage")
    rule(in_cr3 & ~(D["cr3_date"] > D["salvage2_start_date"]), "CR3 after the salvage start")
    rule(s2 != df.status_after_salvage2.notna(), "status after salvage iff salvaged")
    dead = D["death_date"].notna()
    rule(dead != df.death_cause.notna(), "death cause iff death date")
    rule(dead & (D["last_followup_date"] != D["death_date"]), "last follow-up = death date")
    for c in min2022.DATE_COLUMNS:
        if c in ("data_cutoff_date",):
            continue
        rule(D[c] > cut, f"{c} after cut-off")
        rule(D[c] > D["last_followup_date"], f"{c} after last follow-up")
        rule(dead & (D[c] > D["death_date"]), f"{c} after death")
    sanz = np.where(df.wbc_diagnosis > 10, "high", np.where(df.plt_diagnosis > 40, "low", "intermediate"))
    rule(df.sanz_risk != sanz, "Sanz risk consistent with WBC/PLT")
    return probs


@pytest.mark.parametrize("seed", [2022, 0, 1, 7, 42, 99, 123, 2021, 31337, 10**9])
def test_exact_counts_and_dates(seed):
    df = min2022.generate(seed)
    check_counts(df)
    assert check_dates(df) == []


@settings(max_examples=40, deadline=None)
@given(st.integers(min_value=0, max_value=2**32 - 1))
def test_exact_counts_any_seed(seed):
    df = min2022.generate(seed)
    check_counts(df)
    assert check_dates(df) == []


def test_canonical_columns_and_vocabularies():
    df = min2022.generate(2022)
    cols = DICT["columns"]
    assert set(df.columns) <= set(cols)
    for c in (k for k, v in cols.items() if v.get("required")):
        assert c in df.columns
    assert (df.synthetic == "yes").all()
    assert (df.fusion == "PML-RARA").all() and (df.disease == "APL").all()
    for c in df.columns:
        spec = cols[c]
        if spec["type"] in ("category", "bool"):
            vocab = DICT["vocabularies"][spec.get("vocabulary", "yes_no")]
            vals = set(df[c].dropna())
            assert vals <= set(vocab), (c, vals - set(vocab))
        if spec["type"] == "number":
            v = df[c].astype(float)
            assert (v >= spec["min"]).all() and (v <= spec["max"]).all()
    # frontline regimen follows the calendar: ATRA+chemo early, ATRA+ATO later
    early = pd.to_datetime(df.diagnosis_date) < pd.Timestamp("2005-01-01")
    assert (df.frontline_regimen[early] == "ATRA+chemo").all()


def test_same_seed_same_bytes(tmp_path):
    a = min2022.to_csv_bytes(min2022.generate(2022))
    b = min2022.to_csv_bytes(min2022.generate(2022))
    assert a == b
    assert hashlib.sha256(a).hexdigest() == hashlib.sha256(b).hexdigest()
    assert a != min2022.to_csv_bytes(min2022.generate(2023))
    p1 = min2022.write_files(tmp_path / "one", seed=5)
    p2 = min2022.write_files(tmp_path / "two", seed=5)
    for name in p1:
        assert p1[name].read_bytes() == p2[name].read_bytes(), name


def test_committed_default_cohort_is_current():
    """data/synthetic/ is exactly what the generator writes for seed 2022."""
    d = ROOT / "data" / "synthetic"
    csv = (d / "min2022.csv").read_bytes()
    assert csv == min2022.to_csv_bytes(min2022.generate(2022))
    prov = json.loads((d / "min2022_provenance.json").read_text())
    assert prov["seed"] == 2022 and prov["synthetic"] is True
    assert "SYNTHETIC" in prov["label"]
    assert prov["files"]["min2022.csv"]["sha256"] == hashlib.sha256(csv).hexdigest()
    assert prov["generator_version"] == min2022.GENERATOR_VERSION
    assert prov["parameters"] == json.loads(json.dumps(min2022.DEFAULT_PARAMS))
    assert "SYNTHETIC" in (d / "README.md").read_text()
    dic = pd.read_csv(d / "min2022_dictionary.csv")
    assert dic.column.tolist() == min2022.COLUMNS


def test_default_cohort_shows_the_abstract_findings():
    f = min2022.findings(min2022.generate(2022))
    assert f["mcr2"]["p"] < 0.05 and f["mcr2"]["estimate"] > 0 and f["mcr2"]["agrees"]
    assert f["anc"]["p"] < 0.05 and f["anc"]["estimate"] > 0 and f["anc"]["agrees"]
    assert f["plt"]["p"] < 0.05 and f["plt"]["estimate"] > 0 and f["plt"]["agrees"]
    assert f["infection"]["p"] < 0.05 and f["infection"]["estimate"] < 0 and f["infection"]["agrees"]
    assert f["survival"]["p"] >= 0.05 and f["survival"]["agrees"]


def test_findings_follow_the_model_not_edits():
    """The findings are switched by the model's parameters, not by edits of the data.

    Over 40 seeds: with the default (ATO-favouring) parameters the infection and
    neutrophil findings hold in most cohorts; with equal infection probabilities and
    equal recovery medians they hold only at about the false-positive rate
    (significant AND in ATO's favour: about 2.5 % per seed; 7 or more of 40 has
    probability < 0.001 under the null).
    """
    seeds = range(1, 41)
    null = dict(p_infection_ato_hematologic=0.7, p_infection_ato_other=0.7, p_infection_ic=0.7,
                p_neutropenia_ato_hematologic=1.0, p_neutropenia_ato_other=1.0,
                anc_recovery_median_ato=27.0, anc_recovery_median_ic=27.0)
    held_default = {"infection": 0, "anc": 0}
    held_null = {"infection": 0, "anc": 0}
    for s in seeds:
        fd = min2022.findings(min2022.generate(s))
        df = min2022.generate(s, **null)
        fn = min2022.findings(df)
        check_counts(df)
        for k in held_default:
            held_default[k] += bool(fd[k]["agrees"])
            held_null[k] += bool(fn[k]["agrees"])
    assert held_default["infection"] >= 20 and held_default["anc"] >= 20, held_default
    assert held_null["infection"] <= 6 and held_null["anc"] <= 6, held_null


def test_parameter_errors():
    with pytest.raises(ScenarioError, match=r"did you mean 'p_infection_ic'"):
        min2022.generate(1, p_infecton_ic=0.3)
    with pytest.raises(ScenarioError, match=r"p_no_reinduction_reason_molecular .* summing to 1"):
        min2022.generate(1, p_no_reinduction_reason_molecular=[0.5, 0.5, 0.5, 0.0])
    with pytest.raises(ScenarioError, match=r"p_mcr2_ic = 1.5: a probability"):
        min2022.generate(1, p_mcr2_ic=1.5)
    with pytest.raises(ScenarioError, match="seed must be a non-negative integer"):
        min2022.generate(-1)
    with pytest.raises(ScenarioError, match="at least 450 days"):
        min2022.generate(1, data_cutoff="2020-01-31")


def test_cli_writes_the_files(tmp_path):
    from aplcohort.cli import main
    assert main(["synth", "min2022", "--seed", "2022", "--out", str(tmp_path)]) == 0
    for name in ("min2022.csv", "min2022_dictionary.csv", "min2022_provenance.json", "README.md"):
        assert (tmp_path / name).exists()
    assert (tmp_path / "min2022.csv").read_bytes() == (ROOT / "data/synthetic/min2022.csv").read_bytes()


@pytest.mark.parametrize("seed", [2022, 3, 17])
def test_local_endpoints_agree_with_the_cohort_package(seed):
    """endpoint_local (the stand-in) gives the same days and codes as aplcohort.cohort."""
    from aplcohort.cohort import from_dataframe
    df = min2022.generate(seed)
    c = from_dataframe(df)
    for name, tz in (("ANC_recovery", "reinduction"), ("PLT_recovery", "reinduction"), ("OS", "postremission")):
        loc = min2022.endpoint_local(df, name, tz).set_index("patient_id")
        ref = c.endpoint(name, time_zero=tz, unit="days").data.set_index("patient_id")
        if name == "OS":
            loc = loc.loc[df.set_index("patient_id").loc[loc.index, "postremission_modality"] != "none"]
            ref = ref.loc[ref.index.isin(loc.index)]
        assert sorted(loc.index) == sorted(ref.index)
        np.testing.assert_array_equal(loc.time.to_numpy(), ref.loc[loc.index, "time"].to_numpy(float))
        np.testing.assert_array_equal(loc.event.to_numpy(), ref.loc[loc.index, "event"].to_numpy())


@pytest.mark.parametrize("seed", [2022, 1, 2, 3, 4, 5, 17, 99])
def test_cohort_validator_accepts_generated_cohorts(seed):
    """aplcohort.cohort.validate finds no error and no warning in generated cohorts."""
    from aplcohort.cohort import validate
    rep = validate(min2022.generate(seed))
    assert "0 error(s), 0 warning(s)" in str(rep), str(rep)


SEEDS40 = range(1, 41)


def test_relapse_type_drives_early_death_cytopenia_and_recovery():
    """Molecular relapses never die before treatment; near-normal counts need no "recovery";
    IC always causes aplasia (recovery after day 0)."""
    n_mol_nr = n_other_ato = n_day0 = 0
    for s in SEEDS40:
        df = min2022.generate(s)
        mol = df.relapse_type == "molecular"
        assert not (mol & (df.no_reinduction_reason == "early death before treatment")).any()
        n_mol_nr += int((mol & (df.reinduction_regimen == "none")).sum())
        start = _d(df, "reinduction_start_date")
        day0 = _d(df, "anc_recovery_date") == start
        ic = df.reinduction_regimen == "IC"
        assert not (ic & day0).any()
        other_ato = (df.reinduction_regimen == "ATO-based") & (df.relapse_type != "hematologic")
        n_other_ato += int(other_ato.sum())
        n_day0 += int((other_ato & day0).sum())
        # a day-0 recovery only where the counts at relapse were near normal or ATO was given
        assert (df.reinduction_regimen[day0] == "ATO-based").all()
    assert n_mol_nr > 0
    # p_neutropenia_ato_other = 0.05: most ATO-treated molecular / extramedullary relapses
    assert n_day0 >= 0.85 * n_other_ato, (n_day0, n_other_ato)


def test_transplant_timing_and_allo_deaths():
    """Auto HSCT 90-200 days after CR2 (ATO consolidation + harvest), allo 60-240 days;
    at least one death among the 6 allo patients in most seeds."""
    with_allo_death = 0
    for s in SEEDS40:
        df = min2022.generate(s)
        gap = (_d(df, "postremission_start_date") - _d(df, "response_date")).dt.days
        pm = df.postremission_modality
        assert gap[pm == "auto HSCT"].between(90, 200).all()
        assert gap[pm == "allo HSCT"].between(60, 240).all()
        assert gap[pm == "ATO-based"].between(7, 60).all()
        with_allo_death += bool(((pm == "allo HSCT") & df.death_date.notna()).any())
    assert with_allo_death >= 30, with_allo_death


def test_course_model_is_the_analysis_model():
    """The generator's declared disease course names exactly the transitions of the
    multi-state analysis model (relapsed_leukemia_model, CR3 from cr3_date)."""
    from aplcohort.multistate import relapsed_leukemia_model
    declared = {(a, b) for a, b, *_ in min2022.COURSE_MODEL}
    assert declared == set(relapsed_leukemia_model().transitions)
    for a, b, who, time, params, source in min2022.COURSE_MODEL:
        assert set(params) <= set(min2022.DEFAULT_PARAMS), (a, b, params)
        assert who and time and source


@pytest.mark.parametrize("seed", [2022, 3, 77])
def test_every_generated_transition_is_declared_and_cr3_dated(seed):
    """The replica builds multi-state data with CR3 from its own cr3_date column (no
    same-day assumption), and every observed transition is in COURSE_MODEL."""
    from aplcohort.cohort import from_dataframe
    from aplcohort.multistate import build_transitions, relapsed_leukemia_model
    tr = build_transitions(from_dataframe(min2022.generate(seed)), relapsed_leukemia_model())
    assert tr.report.ok
    declared = {(a, b) for a, b, *_ in min2022.COURSE_MODEL}
    d = tr.data[tr.data.to_state != "censor"]
    assert set(zip(d.from_state, d.to_state)) <= declared
    # salvage and CR3 are different days: the CR3 state is entered after the salvage start
    into_cr3 = d[d.to_state == "CR3"]
    assert len(into_cr3) >= 9 and (into_cr3.tstop > into_cr3.tstart).all()
    assert not into_cr3.same_day.any()
