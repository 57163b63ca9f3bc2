"""Permutation log-rank and bootstrap CIs: exactness, determinism, chunk invariance."""

import itertools
import warnings

import numpy as np
import pytest

from aplcohort.batch.resample import (bootstrap_ci, n_relabellings, permutation_logrank,
                                      replicate_rng)
from aplcohort.errors import InputError
from aplcohort.stats.km import kaplan_meier
from aplcohort.stats.logrank import logrank_test


def _cohort(seed=0, n=30):
    rng = np.random.default_rng(seed)
    t = rng.exponential(10, n).round()
    e = (rng.random(n) < 0.7).astype(int)
    g = np.array(list("ABC"))[np.arange(n) % 3]
    return t, e, g


def test_replicate_rng_is_spawned_child():
    a = replicate_rng(5, 3).random(4)
    b = np.random.Generator(np.random.PCG64(np.random.SeedSequence(5).spawn(4)[3])).random(4)
    np.testing.assert_array_equal(a, b)


def test_n_relabellings():
    assert n_relabellings([3, 3]) == 20
    assert n_relabellings([2, 2, 2]) == 90


def test_exact_permutation_matches_brute_force():
    t = np.array([1, 2, 2, 4, 5, 6, 7, 3.0])
    e = np.array([1, 1, 0, 1, 0, 1, 1, 1])
    g = np.array(list("AAABBBBA"))
    r = permutation_logrank(t, e, g)
    assert r.method == "exact" and r.n_perm == 70 and r.mc_se == 0
    obs = logrank_test(t, e, g).statistic
    count = 0
    for pick in itertools.combinations(range(8), 4):      # positions labelled A
        lab = np.array(["B"] * 8)
        lab[list(pick)] = "A"
        count += logrank_test(t, e, lab).statistic >= obs * (1 - 1e-10)
    assert r.p == count / 70
    assert r.statistic == pytest.approx(obs, rel=1e-12)


def test_exact_hand_worked_extreme_split():
    # 1..6 all events except 5, AAABBB: the observed split and its mirror image are
    # the only two of the 20 relabellings at least as extreme -> p = 2/20
    r = permutation_logrank([1, 2, 3, 4, 5, 6], [1, 1, 1, 1, 0, 1], list("AAABBB"))
    assert r.p == pytest.approx(0.1, abs=1e-15)


def test_monte_carlo_deterministic_chunk_invariant_and_close_to_exact():
    t, e, g = _cohort(1, n=12)
    mc = permutation_logrank(t, e, g, n_perm=50, seed=1)   # 34650 > max_exact: Monte Carlo
    assert mc.method == "monte carlo"
    ex = permutation_logrank(t, e, g, exact=True)
    assert ex.method == "exact" and ex.n_perm == 34650
    a = permutation_logrank(t, e, g, n_perm=3000, seed=7)
    for chunk in (7, 3000):
        assert permutation_logrank(t, e, g, n_perm=3000, seed=7, chunk=chunk).p == a.p
    c1 = permutation_logrank(t, e, g, n_perm=300, seed=7, chunk=1)
    c2 = permutation_logrank(t, e, g, n_perm=300, seed=7, chunk=300)
    assert c1.p == c2.p
    assert abs(a.p - ex.p) < 4 * a.mc_se + 1 / 3001
    assert a.mc_se == pytest.approx(np.sqrt(a.p * (1 - a.p) / 3000))


def test_permutation_needs_seed_for_monte_carlo():
    t, e, g = _cohort(2)
    with pytest.raises(InputError, match="seed"):
        permutation_logrank(t, e, g, n_perm=100)


def test_bootstrap_matches_plain_loop_and_is_chunk_invariant():
    t, e, g = _cohort(3, n=24)
    r = bootstrap_ci(t, e, g, times=[5.0], tau=12, n_boot=60, seed=11, hr=False)
    r2 = bootstrap_ci(t, e, g, times=[5.0], tau=12, n_boot=60, seed=11, hr=False, chunk=7)
    assert r.table.equals(r2.table)
    # plain loop over the same resamples with the single-cohort function
    idx = [np.flatnonzero(g == x) for x in "ABC"]
    meds, survs = [], []
    for b in range(60):
        rng = replicate_rng(11, b)
        ix = np.concatenate([i[rng.integers(0, i.size, i.size)] for i in idx])
        f = kaplan_meier(t[ix], e[ix], g[ix])
        m = f.median()["median"].to_numpy()
        meds.append(np.where(np.isnan(m), np.inf, m))
        survs.append(f.at([5.0])["estimate"].to_numpy())
    meds, survs = np.array(meds), np.array(survs)
    for j, lab in enumerate("ABC"):
        row = r.table[(r.table.quantity == "survival") & (r.table.group == lab)].iloc[0]
        lo, hi = np.quantile(survs[:, j], [0.025, 0.975])
        assert row.lower == pytest.approx(lo, rel=1e-10)
        assert row.upper == pytest.approx(hi, rel=1e-10)
        mrow = r.table[(r.table.quantity == "median") & (r.table.group == lab)].iloc[0]
        assert mrow.n_infinite == int(np.isinf(meds[:, j]).sum())


def test_bootstrap_hr_and_columns():
    t, e, g = _cohort(4, n=45)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = bootstrap_ci(t, e, g, n_boot=200, seed=2, tau=10)
    assert list(r.table.columns) == ["quantity", "group", "time", "estimate", "lower",
                                     "upper", "n_boot", "n_undefined", "n_infinite"]
    hr = r.table[r.table.quantity == "hr"]
    assert list(hr.group) == ["B vs A", "C vs A"]
    assert (hr.lower <= hr.estimate).all() and (hr.estimate <= hr.upper).all()
    assert r.to_dict()["kind"] == "bootstrap"


def test_bootstrap_hr_with_resamples_missing_an_arm_or_its_events():
    """Unstratified resampling of a cohort with a small arm: some resamples have no patient
    of that arm (HR undefined), some none of its events (coefficient infinite: HR 0). The
    hazard-ratio fit used to stop with an IndexError; now both are counted, and every HR 0
    or inf is in n_infinite as the docstring says."""
    rng = np.random.default_rng(0)
    n = 20
    t = rng.exponential(1, n)
    e = (rng.random(n) < 0.8).astype(int)
    g = np.array(["A"] * 18 + ["B"] * 2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = bootstrap_ci(t, e, g, n_boot=200, seed=1, stratified=False)
    row = r.table[r.table.quantity == "hr"].iloc[0]
    # the same resamples, one cohort at a time
    from aplcohort.stats.cox import cox_fit
    hrs = []
    for b in range(200):
        ix = replicate_rng(1, b).integers(0, n, n)
        x = (g[ix] == "B").astype(float)[:, None]
        if x.min() == x.max() or e[ix].sum() == 0:
            hrs.append(np.nan)
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            f = cox_fit(x, t[ix], e[ix])
        hrs.append(np.exp(np.sign(f.coef[0]) * np.inf) if f.infinite[0] else np.exp(f.coef[0]))
    hrs = np.array(hrs)
    assert row.n_undefined == int(np.isnan(hrs).sum()) > 0
    assert row.n_infinite == int(np.sum((hrs == 0) | np.isinf(hrs))) > 0
