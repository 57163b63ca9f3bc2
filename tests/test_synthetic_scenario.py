"""Scenario language: validation errors and the vectorised engine."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from aplcohort.errors import ScenarioError
from aplcohort.synthetic.engine import cumhaz, inv_cumhaz, simulate, to_frame
from aplcohort.synthetic.scenario import EventModel, bundled_scenarios, load_scenario, parse_scenario

Z = 4.5  # tolerance = Z standard errors (two-sided false-alarm probability ~ 7e-6)


def base(**over):
    d = {"name": "t", "n": 1000, "arms": {"A": {"ratio": 1}, "B": {"ratio": 1}},
         "events": {"death": {"model": "exponential", "rate": 0.1}}}
    d.update(over)
    return d


# ---------------------------------------------------------------- validation

def test_unknown_keys_get_suggestions_and_all_problems_are_listed():
    bad = base(censorng={"loss_rate": 0.1},
               events={"death": {"model": "exponential", "rat": 0.1}},
               covariates={"age": {"dist": "normal", "mean": 50, "sd": -1},
                           "sex": {"dist": "categorical", "levels": ["M", "F"], "probs": [0.5, 0.6]}})
    with pytest.raises(ScenarioError) as ei:
        parse_scenario(bad)
    msg = str(ei.value)
    assert "censorng: unknown key (did you mean 'censoring'?)" in msg
    assert "events.death.rat: unknown key (did you mean 'rate'?)" in msg
    assert "covariates.age.sd: must be > 0, got -1" in msg
    assert "covariates.sex.probs: must sum to 1 (sum = 1.1)" in msg
    assert len(ei.value.problems) >= 4


@pytest.mark.parametrize("over, match", [
    ({"events": {"death": {"model": "exponential", "rate": -0.5}}}, r"events.death.rate: must be >= 0"),
    ({"events": {"death": {"model": "exponentail", "rate": 0.5}}}, r"did you mean 'exponential'"),
    ({"events": {"death": {"model": "weibull", "median": 3}}}, r"weibull needs 'shape'"),
    ({"events": {"death": {"model": "piecewise_exponential", "breaks": [1, 2], "rates": [0.1, 0.2]}}},
     r"breaks: must start at 0"),
    ({"events": {"death": {"model": "piecewise_exponential", "breaks": [0, 2], "rates": [0.1]}}},
     r"same length"),
    ({"events": {"death": {"model": "exponential", "rate": 0.1, "cure_fraction": 1.0}}},
     r"cure_fraction: must be < 1"),
    ({"events": {"death": {"model": "exponential", "rate": "fast"}}}, r"rate: must be a number, got 'fast'"),
    ({"arms": {"A": {"size": 10}, "B": {"ratio": 1}}}, r"not a mix"),
    ({"arms": {"A": {"size": 10}, "B": {"size": 20}}, "n": 25}, r"arm sizes sum to 30 but n = 25"),
    ({"arms": {"A": {"ratio": 0}}}, r"arms.A.ratio: must be > 0"),
    ({"n": None}, r"n: required when arms are given as ratios"),
    ({"time_unit": "fortnights"}, r"time_unit: must be one of"),
    ({"treatment": {"arms": ["C"], "delay": {"dist": "fixed", "value": 1}}}, r"unknown arm 'C'"),
    ({"treatment": {"delay": {"dist": "lognorm", "median": 1, "sdlog": 1}}}, r"did you mean 'lognormal'"),
    ({"treatment": {"delay": {"dist": "fixed", "value": 1}, "effects": {"relapse": -1}}},
     r"treatment.effects.relapse: unknown key"),
    ({"censoring": {"cutoff": "2020-01-01"}}, r"needs accrual start/end dates"),
    ({"accrual": {"start": "2020-01-01", "end": "2019-01-01"}}, r"is before start"),
    ({"accrual": {"duration": 24}, "censoring": {"followup": 12}}, r"shorter than accrual"),
    ({"covariates": {"x": {"dist": "bernoulli", "p": 1.2}}}, r"covariates.x.p: must be <= 1.0"),
    ({"events": {"death": {"model": "exponential", "rate": 0.1, "effects": {"agee": 0.1}}},
      "covariates": {"age": {"dist": "normal", "mean": 1, "sd": 1}}}, r"did you mean 'age'"),
    ({"competing": "subdistribution"}, r"competing: must be 'latent'"),
])
def test_validation_messages(over, match):
    with pytest.raises(ScenarioError, match=match):
        parse_scenario(base(**over))


def test_missing_required_and_bad_types():
    with pytest.raises(ScenarioError, match=r"name: required") as ei:
        parse_scenario({"arms": {"A": {"size": 3}}, "events": {}})
    assert any(s.startswith("events: required") for s in ei.value.problems)
    with pytest.raises(ScenarioError, match="must be a mapping"):
        parse_scenario(["not", "a", "mapping"])


def test_load_unknown_bundled_name():
    with pytest.raises(ScenarioError, match=r"did you mean 'admiral'"):
        load_scenario("admiræl")


def test_bundled_scenarios_are_valid():
    names = bundled_scenarios()
    assert {"admiral", "tower", "jalsg_apl97", "eln_registry", "cibmtr_cr2", "variant_apl",
            "immortal_time_demo"} <= set(names)
    for nm in names:
        sc = load_scenario(nm)
        sim = simulate(sc, n=50, reps=2, seed=1)
        assert sim.time.shape == (2, 50)


# ---------------------------------------------------------------- engine

def test_cumhaz_inverse_roundtrip():
    models = [EventModel("exponential", rate=0.3), EventModel("weibull", shape=1.7, scale=4.0),
              EventModel("piecewise_exponential", breaks=(0.0, 1.0, 5.0), rates=(0.5, 0.0, 0.2))]
    t = np.array([0.0, 0.3, 1.0, 2.5, 5.0, 12.0])
    for m in models:
        h = cumhaz(m, t)
        back = inv_cumhaz(m, h)
        if m.model == "piecewise_exponential":
            # a zero-rate segment maps back to its end (H is flat there): 2.5 -> 5.0
            np.testing.assert_allclose(cumhaz(m, back), h, rtol=1e-12)
        else:
            np.testing.assert_allclose(back, t, rtol=1e-12, atol=1e-12)
    # piecewise by hand: H(3) = 0.5*1 + 0*4... = 0.5; H(7) = 0.5 + 0.2*2 = 0.9
    pw = models[2]
    np.testing.assert_allclose(cumhaz(pw, [3.0, 7.0]), [0.5, 0.9], rtol=1e-15)
    assert inv_cumhaz(EventModel("piecewise_exponential", breaks=(0.0, 2.0), rates=(0.1, 0.0)), 0.5) == np.inf


def test_chunk_independence_and_determinism():
    sc = base(covariates={"age": {"dist": "normal", "mean": 60, "sd": 10}},
              treatment={"delay": {"dist": "exponential", "mean": 3}, "probability": 0.5,
                         "effects": {"death": -0.5}},
              censoring={"loss_rate": 0.02, "followup": 30})
    a = simulate(sc, n=40, reps=10, seed=11)
    b = simulate(sc, n=40, reps=4, seed=11)
    c = simulate(sc, n=40, reps=6, seed=11, first_rep=4)
    for name in ("time", "event", "arm", "entry", "treatment_time"):
        np.testing.assert_array_equal(getattr(a, name), np.concatenate([getattr(b, name), getattr(c, name)]))
    np.testing.assert_array_equal(a.covariates["age"], np.concatenate([b.covariates["age"], c.covariates["age"]]))
    # one replicate drawn alone equals the same replicate drawn among others
    d = simulate(sc, n=40, reps=1, seed=11, first_rep=7)
    np.testing.assert_array_equal(d.time[0], a.time[7])
    # SeedSequence.spawn gives the same streams as spawn_key
    kids = np.random.SeedSequence(11).spawn(3)
    assert kids[2].spawn_key == (2,)
    assert not np.array_equal(simulate(sc, n=40, seed=12).time, a.time[:1])


def test_exact_arm_sizes_from_ratios():
    sim = simulate(base(n=371, arms={"g": {"ratio": 2}, "c": {"ratio": 1}}), reps=5, seed=2)
    # 371 * 2/3 = 247.33 -> 247, 371/3 = 123.67 -> 124 (largest remainder)
    assert ((sim.arm == 0).sum(axis=1) == 247).all() and ((sim.arm == 1).sum(axis=1) == 124).all()


def test_exponential_weibull_pwe_cure_match_closed_form():
    n = 40000
    sc = {"name": "cf", "n": n, "arms": {"E": {"ratio": 1}, "W": {"ratio": 1}, "P": {"ratio": 1}},
          "events": {"ev": {"model": "exponential", "median": 10.0, "arms": {
              "W": {"model": "weibull", "shape": 1.6, "scale": 8.0},
              "P": {"model": "piecewise_exponential", "breaks": [0, 6], "rates": [0.12, 0.03],
                    "cure_fraction": 0.25}}}},
          "censoring": {"followup": 200}}
    sim = simulate(sc, seed=3)
    t, arm = sim.time[0], sim.arm[0]
    for a_i, (tt, S) in enumerate([(10.0, 0.5), (8.0, math.exp(-1.0)),
                                   (12.0, 0.25 + 0.75 * math.exp(-(0.12 * 6 + 0.03 * 6)))]):
        x = t[arm == a_i]
        emp = np.mean(x > tt)
        se = math.sqrt(S * (1 - S) / x.size)
        assert abs(emp - S) < Z * se, (a_i, emp, S)


def test_competing_latent_times_cif():
    n = 40000
    sc = {"name": "cr", "n": n, "arms": {"A": {"size": n}},
          "events": {"relapse": {"model": "exponential", "rate": 0.2},
                     "nrm": {"model": "exponential", "rate": 0.05}}}
    sim = simulate(sc, seed=4)
    t, e = sim.time[0], sim.event[0]
    for tt in (2.0, 5.0):
        F = 0.2 / 0.25 * (1 - math.exp(-0.25 * tt))
        emp = np.mean((t <= tt) & (e == 1))
        assert abs(emp - F) < Z * math.sqrt(F * (1 - F) / n)


def test_covariate_log_hazard_ratio():
    n = 40000
    sc = {"name": "cov", "n": n, "arms": {"A": {"size": n}},
          "covariates": {"x": {"dist": "bernoulli", "p": 0.5},
                         "g": {"dist": "categorical", "levels": ["a", "b"], "probs": [0.5, 0.5]}},
          "events": {"d": {"model": "exponential", "rate": 0.1, "effects": {"x": 0.5, "g": {"b": -0.4}}}},
          "censoring": {"followup": 5}}
    sim = simulate(sc, seed=5)
    t, d = sim.time[0], sim.event[0] == 1
    x, g = sim.covariates["x"][0], sim.covariates["g"][0]
    for mask1, mask0, beta in (((x == 1) & (g == 0), (x == 0) & (g == 0), 0.5),
                               ((g == 1) & (x == 0), (g == 0) & (x == 0), -0.4)):
        d1, d0 = d[mask1].sum(), d[mask0].sum()
        est = math.log(d1 / t[mask1].sum()) - math.log(d0 / t[mask0].sum())
        assert abs(est - beta) < Z * math.sqrt(1 / d1 + 1 / d0)


def test_treatment_only_if_event_free_and_true_effect():
    n = 40000
    sc = {"name": "imm", "n": n, "arms": {"A": {"size": n}},
          "events": {"death": {"model": "exponential", "rate": 0.1}},
          "treatment": {"name": "hsct", "probability": 0.6, "delay": {"dist": "fixed", "value": 3.0},
                        "effects": {"death": -0.7}},
          "censoring": {"followup": 100}}
    f = to_frame(simulate(sc, seed=6))
    tr = f[f.treated]
    assert (tr.time > tr.treatment_time).all()
    assert (tr.treatment_time == 3.0).all()
    # P(treated) = 0.6 * P(alive at 3) = 0.6 exp(-0.3)
    p = 0.6 * math.exp(-0.3)
    assert abs(f.treated.mean() - p) < Z * math.sqrt(p * (1 - p) / n)
    # after treatment the hazard is 0.1 exp(-0.7): residual times are exponential
    resid = (tr.time - 3.0)[tr.event == 1]
    rate = (tr.event == 1).sum() / (tr.time - 3.0).sum()
    assert abs(math.log(rate) - (math.log(0.1) - 0.7)) < Z / math.sqrt(resid.size)
    untreated_alive3 = f[~f.treated & (f.time > 3.0)]
    rate0 = (untreated_alive3.event == 1).sum() / (untreated_alive3.time - 3.0).sum()
    assert abs(math.log(rate0) - math.log(0.1)) < Z / math.sqrt((untreated_alive3.event == 1).sum())


def test_censoring_accrual_and_cutoff():
    sc = {"name": "cens", "n": 5000, "arms": {"A": {"size": 5000}}, "time_unit": "months",
          "accrual": {"start": "2015-01-01", "end": "2016-12-31"},
          "events": {"death": {"model": "exponential", "median": 30}},
          "censoring": {"cutoff": "2019-12-31", "loss_rate": 0.01}}
    sim = simulate(sc, seed=8)
    f = to_frame(sim)
    admin = sim.scenario.admin_time
    assert np.all(f.time <= admin - f.entry + 1e-9)
    assert f.entry.min() >= 0 and f.entry.max() <= sim.scenario.accrual_duration
    assert f.entry_date.min() >= "2015-01-01" and f.entry_date.max() <= "2016-12-31"
    assert set(f.cause) == {"censored", "death"}
    assert (f.synthetic == "yes").all()


def test_uncensorable_cure_is_reported():
    sc = {"name": "c", "n": 100, "arms": {"A": {"size": 100}},
          "events": {"d": {"model": "exponential", "rate": 0.1, "cure_fraction": 0.5}}}
    with pytest.raises(ScenarioError, match="neither an event nor censoring"):
        simulate(sc, seed=1)


def test_cli_scenario(tmp_path):
    from aplcohort.cli import main
    out = tmp_path / "adm.csv"
    assert main(["synth", "scenario", "admiral", "--n", "60", "--seed", "3", "--out", str(out)]) == 0
    import pandas as pd
    df = pd.read_csv(out)
    assert len(df) == 60 and set(df.arm) == {"gilteritinib", "chemotherapy"}
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\narms: {A: {size: 3}}\nevents: {d: {model: exponential, rat: 1}}\n")
    assert main(["synth", "scenario", str(bad), "--out", str(tmp_path / "x.csv")]) == 2


def test_docs_example_scenario_runs():
    """The YAML example in docs/synthetic.md is valid and simulates."""
    import re
    from pathlib import Path

    import yaml
    text = (Path(__file__).resolve().parents[1] / "docs" / "synthetic.md").read_text()
    block = re.search(r"```yaml\n(.*?)```", text, re.S).group(1)
    sc = parse_scenario(yaml.safe_load(block))
    sim = simulate(sc, reps=3, seed=1)
    assert sim.time.shape == (3, 300)
    assert ((sim.arm == 0).sum(axis=1) == 100).all()
    assert sim.os_time is not None and np.all(sim.os_time >= sim.time - 1e-12)
    f = to_frame(sim, 2)
    assert f.treated[f.arm == "hsct"].sum() == 0
    assert (f.time[f.treated] > f.treatment_time[f.treated]).all()


def test_immortal_time_demo_shows_the_bias_without_a_true_effect():
    """No true effect, yet the naive ever-vs-never comparison from time zero favours treatment."""
    sim = simulate("immortal_time_demo", n=20000, seed=9)
    f = to_frame(sim)
    tr, un = f[f.treated], f[~f.treated]
    naive_tr = tr.event.sum() / tr.time.sum()
    naive_un = un.event.sum() / un.time.sum()
    assert naive_tr < 0.8 * naive_un  # apparent benefit
    # correct person-time split at the treatment time: equal hazards (true log-HR 0)
    pt_after = (tr.time - tr.treatment_time).sum()
    ev_after = tr.event.sum()
    pt_before = un.time.sum() + tr.treatment_time.sum()
    ev_before = un.event.sum()
    est = math.log(ev_after / pt_after) - math.log(ev_before / pt_before)
    assert abs(est) < Z * math.sqrt(1 / ev_after + 1 / ev_before)


_model = st.one_of(
    st.builds(lambda r, c: {"model": "exponential", "rate": r, "cure_fraction": c},
              st.floats(0.001, 2.0), st.sampled_from([0.0, 0.3])),
    st.builds(lambda k, s: {"model": "weibull", "shape": k, "scale": s},
              st.floats(0.3, 3.0), st.floats(0.5, 20.0)),
    st.builds(lambda b, r1, r2: {"model": "piecewise_exponential", "breaks": [0, b], "rates": [r1, r2]},
              st.floats(0.5, 10.0), st.floats(0.0, 1.0), st.floats(0.001, 1.0)),
)


@settings(max_examples=40, deadline=None)
@given(m1=_model, m2=_model, n=st.integers(1, 60), reps=st.integers(1, 4), seed=st.integers(0, 2**31),
       fu=st.floats(1.0, 50.0), prob=st.floats(0.0, 1.0), beta=st.floats(-2.0, 2.0))
def test_engine_invariants(m1, m2, n, reps, seed, fu, prob, beta):
    sc = {"name": "h", "n": n, "arms": {"A": {"ratio": 1}, "B": {"ratio": 2}},
          "accrual": {"duration": fu / 2},
          "events": {"e1": m1, "e2": dict(m2, fatal=True)},
          "treatment": {"probability": prob, "delay": {"dist": "exponential", "mean": 1.0},
                        "effects": {"e1": beta}},
          "censoring": {"followup": fu}}
    sim = simulate(sc, reps=reps, seed=seed)
    assert sim.time.shape == (reps, n)
    assert np.all(np.isfinite(sim.time)) and np.all(sim.time >= 0)
    assert set(np.unique(sim.event)) <= {0, 1, 2}
    assert np.all(sim.time <= fu - sim.entry + 1e-9)
    sizes = sim.scenario.arm_sizes(n)
    assert ((sim.arm == 0).sum(axis=1) == sizes[0]).all()
    tr = np.isfinite(sim.treatment_time)
    assert np.all(sim.time[tr] >= sim.treatment_time[tr])
    ev = sim.event > 0
    first = sim.latent.min(axis=1)
    np.testing.assert_array_equal(sim.time[ev], first[ev])
    assert np.all(first[~ev] >= sim.time[~ev])
    # e2 is fatal: OS ends at an e2 event
    np.testing.assert_array_equal(sim.os_event[sim.event == 2], 1)
    np.testing.assert_array_equal(sim.os_time[sim.event == 2], sim.time[sim.event == 2])
