"""Audit 10, findings 7-9: adjusted_risks limits outside [0, 1] (F7), adjusted_risks settings
that changed nothing (F8), power with MC SE 0 / a [0, 0] interval / one replicate / a
repeated n (F9)."""

import json
import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from aplcohort.adjust import adjusted_risks
from aplcohort.batch.power import parse_n_grid, power_curve, table_from_counts
from aplcohort.batch.sweep import power_sweep
from aplcohort.cli import main
from aplcohort.errors import InputError, StatisticalWarning

REF = Path(__file__).parent / "reference"


@pytest.fixture(scope="module")
def lung():
    return pd.read_csv(REF / "data" / "adjust_lung.csv").set_index("id", drop=False)


def _gcomp(d, times, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)
        return adjusted_risks(d, "time", "status", "sex", times, method="gcomp",
                              covariates=["age", "ph_ecog"], categorical=["ph_ecog"], **kw)


# --- F7 ------------------------------------------------------------------------------------

def test_f7_gcomp_wald_limits_stay_in_0_1_and_say_so(lung):
    # one death by day 6 in 213 patients: the symmetric Wald interval crosses 0
    r = _gcomp(lung, [6, 11, 365])
    k = r.risks
    assert (k["lower"] >= 0).all() and (k["upper"] <= 1).all()
    early = k[k["time"] == 6]
    raw = early["risk"] - 1.959963984540054 * early["std_err"]
    assert (raw < 0).all()                               # the untruncated limit is below 0
    assert (early["lower"] == 0).all()
    assert early["note"].str.contains("lower Wald limit .* truncated at 0", regex=True).all()
    late = k[k["time"] == 365]                           # nothing truncated: no note, plain Wald
    assert (late["note"] == "").all()
    np.testing.assert_allclose(late["lower"], late["risk"] - 1.959963984540054 * late["std_err"],
                               rtol=1e-12)
    assert "[0, 1]" in r.ci and "[-1, 1]" in r.ci


def test_f7_iptw_difference_limits_stay_in_minus1_1():
    # reference A: no event by t=5 (risk 0, SE 0); B: 1 death in 2 (risk 0.5, SE 0.354):
    # the Wald upper limit of the difference, 0.5 + 1.96 * 0.354 = 1.19, is beyond 1
    d = pd.DataFrame({"t": [10, 10, 10, 1, 10], "e": [0, 0, 0, 1, 0],
                      "g": ["A", "A", "A", "B", "B"]})
    r = adjusted_risks(d, "t", "e", "g", [5], weights=pd.Series(1.0, index=d.index))
    diff = r.differences.iloc[0]
    assert diff["difference"] == pytest.approx(0.5)
    assert diff["difference"] + 1.96 * diff["std_err"] > 1
    assert diff["upper"] == 1.0 and diff["lower"] >= -1
    assert "upper Wald limit" in diff["note"] and "truncated at 1" in diff["note"]
    b = r.risks[r.risks["group"] == "B"].iloc[0]
    assert b["upper"] == 1.0 and "truncated at 1" in b["note"]


# --- F8 ------------------------------------------------------------------------------------

@pytest.mark.parametrize("kw, words", [
    (dict(n_boot=3), "n_boot is used only with method='gcomp' and ci='bootstrap'"),
    (dict(seed=1), "seed is used only with method='gcomp' and ci='bootstrap'"),
    (dict(n_boot=3, seed=1, ci="none"), "n_boot and seed are used only"),
    (dict(ci="none", conf_level=0.9), "conf_level is not used with ci='none'"),
])
def test_f8_gcomp_settings_that_change_nothing_are_refused(lung, kw, words):
    with pytest.raises(InputError, match=words.replace("(", r"\(").replace(")", r"\)")):
        _gcomp(lung, [180], **kw)


@pytest.mark.parametrize("kw, words", [
    (dict(categorical=["sex"]), "categorical= is used by method='gcomp'"),
    (dict(n_boot=5), "n_boot is used only with method='gcomp'"),
    (dict(seed=5), "seed is used only with method='gcomp'"),
])
def test_f8_iptw_settings_that_change_nothing_are_refused(lung, kw, words):
    with pytest.raises(InputError, match=words):
        adjusted_risks(lung, "time", "status", "sex", [180],
                       weights=pd.Series(1.0, index=lung.index), **kw)


def test_f8_repeated_times_refused_and_bootstrap_settings_still_work(lung):
    with pytest.raises(InputError, match="times repeats 180"):
        adjusted_risks(lung, "time", "status", "sex", [180, 365, 180],
                       weights=pd.Series(1.0, index=lung.index))
    a = _gcomp(lung, [180], ci="bootstrap", n_boot=5, seed=3)
    b = _gcomp(lung, [180], ci="bootstrap", n_boot=5, seed=4)
    assert "5 replicates (seed 3)" in a.ci
    assert not np.allclose(a.risks["lower"], b.risks["lower"])     # the seed is used


# --- F9 ------------------------------------------------------------------------------------

def _scenario(hr=0.5):
    return {"name": "two_arm", "time_unit": "months", "n": 100,
            "arms": {"control": {"ratio": 1}, "new": {"ratio": 1}},
            "events": {"death": {"model": "exponential", "median": 10,
                                 "arms": {"new": {"median": 10 / hr}}}},
            "censoring": {"loss_rate": 0.02}}


def test_f9_exact_interval_matches_r_binom_test():
    ref = json.loads((REF / "power_exact_ci.json").read_text())["cases"]
    counts = [{"rejected": c["k"], "undefined": 0, "events": 0.0, "reps": c["reps"]}
              for c in ref]
    t = table_from_counts(range(2, 2 + len(ref)), counts)
    np.testing.assert_allclose(t["lower"], [c["lower"] for c in ref], rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(t["upper"], [c["upper"] for c in ref], rtol=1e-6, atol=1e-12)


def test_f9_power_0_has_no_se_0_and_an_exact_interval():
    # n = 4: almost no events, no replicate significant
    r = power_curve(_scenario(), [4, 200], reps=20, seed=1)
    zero = r.table.iloc[0]
    assert zero["power"] == 0
    assert math.isnan(zero["mc_se"])
    assert "MC SE not estimable: 0 of 20 replicates significant" in zero["note"]
    assert zero["lower"] == 0 and zero["upper"] == pytest.approx(0.16843347098308, rel=1e-6)
    mid = r.table.iloc[1]
    assert 0 < mid["power"] < 1 and mid["note"] == ""
    assert mid["mc_se"] == pytest.approx(math.sqrt(mid["power"] * (1 - mid["power"]) / 20))


def test_f9_one_replicate_and_repeated_n_refused():
    with pytest.raises(InputError, match="reps must be an integer >= 2"):
        power_curve(_scenario(), [40], reps=1)
    with pytest.raises(InputError, match="sample size 40 repeated"):
        power_curve(_scenario(), [40, 40], reps=5)
    with pytest.raises(InputError, match="sample size 40 repeated"):
        parse_n_grid("40,80,40")
    with pytest.raises(InputError, match="sample size n must be an integer"):
        power_curve(_scenario(), [40.5], reps=5)
    with pytest.raises(InputError, match="reps must be an integer >= 2"):
        power_sweep([_scenario()], [40], reps=1, scheduler="none")
    with pytest.raises(InputError, match="sample size n must be an integer"):
        power_sweep([_scenario()], [40.5], reps=5, scheduler="none")


def test_f9_cli_prints_ne_and_the_exact_interval(tmp_path, capsys):
    path = tmp_path / "sc.yaml"
    path.write_text(yaml.safe_dump(_scenario()))
    rc = main(["power", str(path), "--n", "4", "--reps", "20", "--seed", "1",
               "--out", str(tmp_path / "o"), "--no-progress"])
    assert rc == 0
    out = capsys.readouterr().out
    assert "NE" in out and "[0.0000, 0.1684]" in out and "MC SE not estimable" in out
    csv = pd.read_csv(tmp_path / "o" / "power.csv")
    assert csv["upper"].iloc[0] == pytest.approx(0.16843347098308, rel=1e-6)
    for argv in (["--n", "4", "--reps", "1"], ["--n", "40,40", "--reps", "5"]):
        rc = main(["power", str(path), *argv, "--out", str(tmp_path / "p"), "--no-progress"])
        assert rc == 2
    err = capsys.readouterr().err
    assert "reps must be an integer >= 2" in err and "sample size 40 repeated" in err
    rc = main(["sweep", str(path), "--n", "20,20", "--reps", "5", "--scheduler", "none",
               "--out", str(tmp_path / "s"), "--no-progress"])
    assert rc == 2 and "sample size 20 repeated" in capsys.readouterr().err
