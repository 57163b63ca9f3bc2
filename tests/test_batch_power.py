"""Simulated power: determinism, chunk invariance, agreement with a per-replicate loop,
with Schoenfeld's approximation and with alpha under the null; the ``power`` CLI."""

import math

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import stats as st

from aplcohort.batch.power import parse_n_grid, power_curve
from aplcohort.batch.sweep import power_sweep
from aplcohort.cli import main
from aplcohort.errors import InputError
from aplcohort.stats.logrank import logrank_test
from aplcohort.synthetic.engine import simulate


def _scenario(hr=0.5, censor=True):
    sc = {"name": "two_arm", "time_unit": "months", "n": 100,
          "arms": {"control": {"ratio": 1}, "new": {"ratio": 1}},
          "events": {"death": {"model": "exponential", "median": 10,
                               "arms": {"new": {"median": 10 / hr}}}}}
    if censor:
        sc["censoring"] = {"loss_rate": 0.02}
    return sc


def test_parse_n_grid():
    assert parse_n_grid("40:100:20") == [40, 60, 80, 100]
    assert parse_n_grid("40,80") == [40, 80]
    with pytest.raises(InputError, match="START:STOP:STEP"):
        parse_n_grid("40:x")
    with pytest.raises(InputError, match=">= 2"):
        parse_n_grid("1,5")


def test_power_equals_loop_of_single_cohort_tests():
    sc = _scenario(0.6)
    r = power_curve(sc, [30], reps=60, alpha=0.05, seed=4)
    sim = simulate(sc, n=30, reps=60, seed=4)
    rej = sum(logrank_test(sim.time[i], sim.event[i] > 0, sim.arm[i]).p < 0.05
              for i in range(60))
    assert r.table["power"].iloc[0] == rej / 60
    assert r.table["mc_se"].iloc[0] == pytest.approx(math.sqrt(rej / 60 * (1 - rej / 60) / 60))


def test_power_chunk_invariance():
    sc = _scenario(0.6)
    a = power_curve(sc, [20, 40], reps=35, seed=9, chunk=35)
    for chunk in (1, 7):
        b = power_curve(sc, [20, 40], reps=35, seed=9, chunk=chunk)
        pd.testing.assert_frame_equal(a.table, b.table)


def test_power_null_is_alpha_and_schoenfeld():
    # no censoring: D = n events; Schoenfeld power Phi(sqrt(D/4)|log HR| - z_{0.975})
    null = power_curve(_scenario(1.0, censor=False), [60], reps=2000, seed=1)
    p0, se0 = null.table["power"].iloc[0], null.table["mc_se"].iloc[0]
    assert abs(p0 - 0.05) < 4 * se0
    hr, n = 2 / 3, 100
    alt = power_curve(_scenario(hr, censor=False), [n], reps=2000, seed=2)
    schoenfeld = st.norm.cdf(math.sqrt(n / 4) * abs(math.log(hr)) - st.norm.ppf(0.975))
    assert abs(alt.table["power"].iloc[0] - schoenfeld) < 0.04   # approximation + 4 MC SE


def _power_result(n, power):
    from aplcohort.batch.power import PowerResult
    t = pd.DataFrame({"n": n, "reps": 100, "power": power, "mc_se": 0.0, "lower": power,
                      "upper": power, "n_undefined": 0, "mean_events": 0.0})
    return PowerResult(t, "hand", 0.05, 1, "death", ("a", "b"))


def test_sample_size_interpolates_between_grid_points():
    # hand-worked: power 0.6 at n=40 and 0.9 at n=60; 0.8 is 2/3 of the way -> n = 40 + 40/3
    r = _power_result([20, 40, 60, 80], [0.2, 0.6, 0.9, 0.95])
    n_grid, n_int = r.sample_size(0.8)
    assert n_grid == 60
    assert n_int == pytest.approx(40 + 40 / 3, rel=1e-12)
    assert r.sample_size(0.6) == (40, 40.0)            # a grid point hit exactly
    assert r.sample_size(0.1) == (20, 20.0)            # the first grid point already suffices
    assert r.sample_size(0.99) == (None, None)         # never reached on the grid


def test_sample_size_on_a_simulated_grid():
    # several grid points, so the interpolation branch runs on a simulated curve
    res = power_curve(_scenario(2 / 3, censor=False), [40, 100, 160], reps=400, seed=2)
    n, p = res.table["n"].to_numpy(), res.table["power"].to_numpy()
    target = (p[0] + p[1]) / 2                       # strictly between the first two points
    assert p[0] < target < p[1]
    n_grid, n_int = res.sample_size(target)
    assert n_grid == 100
    assert 40 < n_int < 100
    # the interpolated n lies on the straight line through the two bracketing points
    assert np.interp(n_int, n[:2], p[:2]) == pytest.approx(target, rel=1e-12)


def test_sweep_inprocess_equals_power_curve():
    sc = _scenario(0.6)
    df = power_sweep([sc, _scenario(0.8)], [20, 40], reps=30, seed=3, chunk=8,
                     scheduler="none")
    assert df.attrs["executor"] == "in-process"
    one = power_curve(sc, [20, 40], reps=30, seed=3).table
    got = df[df["scenario"] == "two_arm"].iloc[:2].drop(columns="scenario").reset_index(drop=True)
    pd.testing.assert_frame_equal(got, one)


def test_power_cli(tmp_path, capsys):
    path = tmp_path / "sc.yaml"
    path.write_text(yaml.safe_dump(_scenario(0.5)))
    out = tmp_path / "out"
    rc = main(["power", str(path), "--n", "20:40:20", "--reps", "40", "--seed", "3",
               "--target", "0.5", "--out", str(out), "--no-progress"])
    assert rc == 0
    text = capsys.readouterr().out
    assert "power" in text and "MC SE" in text
    csv = pd.read_csv(out / "power.csv")
    assert csv.columns.tolist() == ["n", "reps", "power", "mc_se", "lower", "upper",
                                    "n_undefined", "mean_events", "note"]
    assert csv["n"].tolist() == [20, 40]
    assert (out / "power.png").stat().st_size > 1000
    ref = power_curve(_scenario(0.5), [20, 40], reps=40, seed=3).table
    np.testing.assert_allclose(csv["power"], ref["power"], rtol=1e-12)


def test_power_cli_input_error(tmp_path, capsys):
    path = tmp_path / "sc.yaml"
    path.write_text(yaml.safe_dump(_scenario(0.5)))
    assert main(["power", str(path), "--n", "a:b", "--no-progress"]) == 2
    assert "START:STOP:STEP" in capsys.readouterr().err
    assert main(["power", str(path), "--n", "20", "--endpoint", "relapse",
                 "--no-progress", "--out", str(tmp_path / "o")]) == 2


def test_sweep_cli_inprocess(tmp_path, capsys):
    path = tmp_path / "sc.yaml"
    path.write_text(yaml.safe_dump(_scenario(0.5)))
    out = tmp_path / "sw"
    rc = main(["sweep", str(path), "--n", "20,40", "--reps", "30", "--seed", "2",
               "--scheduler", "none", "--out", str(out), "--no-progress"])
    assert rc == 0
    df = pd.read_csv(out / "sweep.csv")
    assert df["scenario"].tolist() == ["two_arm", "two_arm"]
    ref = power_curve(_scenario(0.5), [20, 40], reps=30, seed=2).table
    np.testing.assert_allclose(df["power"], ref["power"], rtol=1e-12)
    assert "in-process" in capsys.readouterr().err


@pytest.mark.parametrize("opt, value, words", [
    ("--target", "80", ["target power", "(0, 1)", "give 0.8"]),
    ("--target", "0", ["target power", "(0, 1)"]),
    ("--target", "1", ["target power", "(0, 1)"]),
    ("--target", "nan", ["target power"]),
    ("--alpha", "1.5", ["alpha", "(0, 1)"]),
    ("--alpha", "nan", ["alpha", "(0, 1)"]),
    ("--reps", "0", ["reps", "integer >= 2"]),
    ("--reps", "1", ["reps", "integer >= 2", "no Monte Carlo SE"]),
    ("--chunk", "0", ["chunk", "positive integer"]),
    ("--seed", "-1", ["seed", "non-negative integer"]),
])
def test_power_cli_numeric_options_range_checked(tmp_path, capsys, opt, value, words):
    """Out-of-range numeric options of `power` are an exit-2 input error with one readable
    message, before anything is simulated or written (review 7b, finding 13: --target 80
    was accepted and reported as 'not reached')."""
    path = tmp_path / "sc.yaml"
    path.write_text(yaml.safe_dump(_scenario(0.5)))
    out = tmp_path / "o"
    rc = main(["power", str(path), "--n", "20,40", "--reps", "5", opt, value, "--out", str(out),
               "--no-progress"])
    err = capsys.readouterr().err
    assert rc == 2
    assert all(w in err for w in words), err
    assert "Traceback" not in err
    assert not out.exists()


@pytest.mark.parametrize("opt, value", [("--alpha", "0"), ("--reps", "-3"), ("--chunk", "0"),
                                        ("--seed", "-2")])
def test_sweep_cli_numeric_options_range_checked(tmp_path, capsys, opt, value):
    path = tmp_path / "sc.yaml"
    path.write_text(yaml.safe_dump(_scenario(0.5)))
    out = tmp_path / "sw"
    rc = main(["sweep", str(path), "--n", "20", "--reps", "5", opt, value, "--scheduler", "none",
               "--out", str(out), "--no-progress"])
    assert rc == 2
    assert opt.lstrip("-") in capsys.readouterr().err
    assert not out.exists()


def test_power_curve_target_must_be_a_proportion():
    with pytest.raises(InputError, match="target power"):
        power_curve(_scenario(0.5), [20], reps=5, seed=1, target=80)
