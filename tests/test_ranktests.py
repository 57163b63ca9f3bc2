"""The rank and contingency-table kernels of ``aplcohort.stats._ranktests`` against
scipy.stats, on random inputs, and Table 1 without importing scipy.stats.

The kernels replace calls to scipy.stats (whose import alone takes ~0.65 s) in Table 1,
the response tables and Fisher's 2x2 test; R agreement is tested on the R references of
``tests/test_grouptests.py``. Here: the same numbers as scipy.stats, bit for bit where both
compute the same formula (ranks, Kruskal-Wallis, chi-square, hypergeometric log pmf, normal
rank-sum p, beta quantile), to 1e-12 relative for the exact rank-sum p (scipy counts the
arrangements in uint64, we in float64; both exact below 2^53 arrangements).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

st = pytest.importorskip("scipy.stats")

from aplcohort.stats import _ranktests as rt  # noqa: E402


def test_ranks_and_tie_sizes_match_scipy():
    rng = np.random.default_rng(11)
    for _ in range(300):
        x = rng.integers(0, rng.integers(1, 12), rng.integers(1, 60)).astype(float)
        ranks, ties = rt.rank_average(x)
        assert np.array_equal(ranks, st.rankdata(x, method="average"))
        _, counts = np.unique(x, return_counts=True)
        assert np.array_equal(ties, counts.astype(float))


def test_kruskal_matches_scipy_bit_for_bit():
    rng = np.random.default_rng(12)
    checked = 0
    for _ in range(400):
        k = int(rng.integers(2, 5))
        groups = [rng.integers(0, 9, rng.integers(1, 25)).astype(float) for _ in range(k)]
        if np.all(np.concatenate(groups) == groups[0][0]):
            continue
        assert rt.kruskal(groups) == tuple(float(v) for v in st.kruskal(*groups))
        checked += 1
    assert checked > 300


@pytest.mark.parametrize("correct", [True, False])
def test_chisq_matches_scipy_bit_for_bit(correct):
    rng = np.random.default_rng(13)
    for _ in range(400):
        tab = rng.integers(0, 25, tuple(rng.integers(2, 5, 2)))
        if (tab.sum(0) == 0).any() or (tab.sum(1) == 0).any():
            continue
        stat, p, df, e = rt.chisq(tab, correct)
        s2, p2, d2, e2 = st.chi2_contingency(tab, correction=correct)
        assert (stat, p, df) == (s2, p2, d2)
        assert np.array_equal(e, e2)


@pytest.mark.parametrize("alt", ["two.sided", "less", "greater"])
def test_exact_rank_sum_p_matches_scipy(alt):
    rng = np.random.default_rng(14)
    salt = {"two.sided": "two-sided"}.get(alt, alt)
    for _ in range(300):
        n1, n2 = (int(v) for v in rng.integers(1, 50, 2))
        x = rng.permutation(n1 + n2).astype(float)
        ranks, _ = rt.rank_average(x)
        u = float(ranks[:n1].sum() - n1 * (n1 + 1) / 2)
        p = rt.rank_sum_p_exact(u, n1, n2, alt)
        ref = st.mannwhitneyu(x[:n1], x[n1:], alternative=salt, method="exact").pvalue
        assert p == pytest.approx(ref, rel=1e-12, abs=0)


@pytest.mark.parametrize("alt", ["two.sided", "less", "greater"])
@pytest.mark.parametrize("continuity", [True, False])
def test_normal_rank_sum_p_matches_scipy_bit_for_bit(alt, continuity):
    rng = np.random.default_rng(15)
    salt = {"two.sided": "two-sided"}.get(alt, alt)
    for _ in range(200):
        n1, n2 = (int(v) for v in rng.integers(2, 70, 2))
        a = rng.integers(0, 7, n1).astype(float)
        b = rng.integers(0, 7, n2).astype(float)
        xy = np.concatenate([a, b])
        if np.all(xy == xy[0]):
            continue
        ranks, ties = rt.rank_average(xy)
        u = float(ranks[:n1].sum() - n1 * (n1 + 1) / 2)
        ref = st.mannwhitneyu(a, b, alternative=salt, method="asymptotic",
                              use_continuity=continuity).pvalue
        assert rt.rank_sum_p_normal(u, n1, n2, ties, alt, continuity) == ref


def test_hypergeometric_log_pmf_and_beta_quantile_match_scipy_bit_for_bit():
    rng = np.random.default_rng(16)
    for _ in range(400):
        total = int(rng.integers(1, 90))
        good, draws = (int(v) for v in rng.integers(0, total + 1, 2))
        k = np.arange(max(0, draws - (total - good)), min(draws, good) + 1)
        assert np.array_equal(rt.hypergeom_logpmf(k, total, good, draws),
                              st.hypergeom.logpmf(k, total, good, draws))
        a, b = (int(v) for v in rng.integers(1, 60, 2))
        q = float(rng.uniform(1e-6, 1 - 1e-6))
        assert rt.beta_ppf(q, a, b) == st.beta.ppf(q, a, b)


def test_table1_and_response_tables_do_not_import_scipy_stats():
    """Table 1 (rank-sum, Kruskal-Wallis, chi-square, Fisher) and a response table (Fisher
    2x2 odds ratio, Clopper-Pearson) in a fresh interpreter leave scipy.stats unimported:
    the reason the kernels exist (its import costs more than the tables)."""
    code = textwrap.dedent("""
        import sys
        import numpy as np, pandas as pd
        from aplcohort.tables.table1 import table1
        from aplcohort.stats.grouptests import fisher_exact, binom_ci, compare_groups
        rng = np.random.default_rng(1)
        df = pd.DataFrame({"g": rng.choice(["a", "b", "c"], 60),
                           "age": rng.normal(50, 10, 60).round(1),
                           "sex": rng.choice(["M", "F"], 60),
                           "risk": rng.choice(["low", "high"], 60)})
        t = table1(df, group="g", variables=["age", "sex", "risk"])
        t2 = table1(df[df.g != "c"], group="g", variables=["age", "sex"])
        r = fisher_exact([[3, 1], [1, 3]])
        ci = binom_ci(7, 10)
        c = compare_groups(df["age"], df["g"])
        assert len(t.data) and len(t2.data) and r.p > 0 and ci[1] > 0 and c.p > 0
        print("scipy.stats" in sys.modules)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip().splitlines()[-1] == "False", out.stdout + out.stderr


def test_exact_rank_sum_p_of_large_samples_is_finite_and_matches_the_counted_path():
    """Above ~1e290 arrangements the counts would overflow; the distribution is then
    computed rescaled at each step. Forced on small samples it gives the counted path's
    p-values (1e-12); on 210 + 1900 values (C(2110, 210) > 1e290) it is finite and close to
    the normal approximation in the centre."""
    for n1, n2, u in ((60, 80, 1000), (60, 80, 3001), (100, 100, 2000), (7, 9, 20)):
        for alt in ("two.sided", "less", "greater"):
            a = rt.rank_sum_p_exact(u, n1, n2, alt)
            b = rt.rank_sum_p_exact(u, n1, n2, alt, _scaled=True)
            assert b == pytest.approx(a, rel=1e-12, abs=0)
    n1, n2 = 210, 1900
    u = n1 * n2 / 2 - 4000
    p = rt.rank_sum_p_exact(u, n1, n2, "two.sided")
    z = (abs(u - n1 * n2 / 2) - 0.5) / np.sqrt(n1 * n2 * (n1 + n2 + 1) / 12)
    assert np.isfinite(p) and p == pytest.approx(2 * st.norm.sf(z), rel=1e-2)
