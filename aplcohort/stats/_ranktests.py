"""Kernels of the rank and contingency-table tests, on ``scipy.special`` only.

Why our own code beside scipy: ``import scipy.stats`` takes about 0.65 s on the project's
machine (most of it rewriting docstrings at import), several times what a whole Table 1
takes to compute, and Table 1 is in nearly every run. The functions here are the few that
Table 1, the response tables and Fisher's 2x2 test call; the distributions come from
``scipy.special`` (``chdtrc``, ``ndtr``, ``betaincinv``, ``betaln``, which are what
``scipy.stats`` evaluates), the statistics are a few lines of numpy. Each gives scipy.stats'
numbers (compared on random inputs in ``tests/test_ranktests.py``: ranks, statistics and
Kruskal-Wallis / chi-square p-values to the last bit, exact rank-sum and hypergeometric
probabilities to 1e-12 relative) and R's (the ``grouptests`` R references).
"""

from __future__ import annotations

import numpy as np
from scipy import special


def rank_average(x) -> tuple[np.ndarray, np.ndarray]:
    """``(ranks, tie sizes)``: ranks 1..n with tied values given their average rank (R
    ``rank``, ``scipy.stats.rankdata(method="average")``), and the size of each group of
    tied values (1 for an untied value), in increasing order of the values."""
    x = np.asarray(x, dtype=float).ravel()
    n = x.size
    order = np.argsort(x, kind="mergesort")
    xs = x[order]
    new = np.empty(n, dtype=bool)
    if n:
        new[0] = True
        np.not_equal(xs[1:], xs[:-1], out=new[1:])
    starts = np.flatnonzero(new)                       # first sorted position of each value
    ends = np.append(starts[1:], n)                    # one past its last
    avg = (starts + 1 + ends) / 2.0                    # mean of ranks starts+1 .. ends
    ranks = np.empty(n, dtype=float)
    ranks[order] = np.repeat(avg, ends - starts)
    return ranks, (ends - starts).astype(float)


def _tie_factor(ties: np.ndarray, n: int) -> float:
    """``1 - sum(t^3 - t) / (n^3 - n)``: the tie correction of Kruskal-Wallis' H."""
    if n < 2:
        return 1.0
    size = float(n)
    return 1.0 - float((ties ** 3 - ties).sum()) / (size ** 3 - size)


def kruskal(groups) -> tuple[float, float]:
    """Tie-corrected Kruskal-Wallis ``(H, p)`` of a list of 1-D samples (R
    ``kruskal.test``); ``p`` is the upper chi-square tail on ``k - 1`` df."""
    sizes = [len(g) for g in groups]
    ranks, ties = rank_average(np.concatenate([np.asarray(g, dtype=float) for g in groups]))
    total = float(sum(sizes))
    h, start = 0.0, 0
    for m in sizes:
        s = ranks[start:start + m].sum()
        h += float(s) * s / m
        start += m
    h = 12.0 / (total * (total + 1)) * h - 3 * (total + 1)
    h /= _tie_factor(ties, int(total))
    return float(h), float(special.chdtrc(len(groups) - 1, h))


def chisq(table, correct: bool) -> tuple[float, float, int, np.ndarray]:
    """Pearson's chi-square of an r x c table of counts: ``(statistic, p, df, expected)``,
    with Yates' continuity correction when ``correct`` and the table has one degree of
    freedom (R ``chisq.test``: every cell moved towards its expected count by
    ``min(0.5, |O - E|)``)."""
    obs = np.asarray(table)
    expected = np.multiply(obs.sum(axis=1, keepdims=True), obs.sum(axis=0, keepdims=True)) \
        / obs.sum()
    df = expected.size - sum(expected.shape) + expected.ndim - 1
    if df == 1 and correct:
        diff = expected - obs
        obs = obs + np.minimum(0.5, np.abs(diff)) * np.sign(diff)
    stat = float(((obs - expected) ** 2 / expected).sum())
    return stat, float(special.chdtrc(df, stat)), int(df), expected


def rank_sum_p_exact(u: float, n1: int, n2: int, alternative: str, *,
                     _scaled: bool | None = None) -> float:
    """Exact p-value of the Wilcoxon rank-sum / Mann-Whitney statistic ``u`` (of the first
    sample, no ties) under the null, R ``pwilcox``. ``alternative``: "two.sided", "less"
    or "greater" (the first sample tends to larger values)."""
    m, n = min(n1, n2), max(n1, n2)
    mn = m * n
    # counts of the arrangements giving each U: the coefficients of the Gaussian binomial
    # [m + n choose m](q) = prod_{i=1..m} (1 - q^(n+i)) / (1 - q^i). Multiplying by
    # (1 - q^(n+i)) and dividing by (1 - q^i) keep whole numbers (exact in float64 below
    # 2^53; beyond, rounded as R's double counts are).
    total = special.binom(m + n, m)
    # Large samples (exact=True asked for): the counts pass 1e308. Each step then rescales
    # by i / (n + i), which keeps the coefficients summing to 1 (C(n+i, i) = C(n+i-1, i-1)
    # (n+i) / i): the same relative rounding, no overflow.
    scaled = (not total < 1e290) if _scaled is None else _scaled   # (_scaled: for tests)
    c = np.zeros(mn + 1)
    c[0] = 1.0
    for i in range(1, m + 1):
        k = n + i
        if k <= mn:
            c[k:] -= c[:-k].copy()          # times (1 - q^k)
        # divided by (1 - q^i): c[j] += c[j - i] for j = i, i+1, ...: a running sum along
        # each residue class modulo i (the rows of a reshape)
        rows = -(-(mn + 1) // i)
        pad = np.zeros(rows * i)
        pad[:mn + 1] = c
        c = np.cumsum(pad.reshape(rows, i), axis=0).ravel()[:mn + 1]
        if scaled:
            c *= i / (n + i)
    pmf = c if scaled else c / total
    cdf = np.cumsum(pmf)

    def upper(k):  # P(U >= k) = P(U <= mn - k) by symmetry, summed from the left end
        k = int(k)
        kc = mn - k
        if k < kc:  # (left of the centre: 1 - P(U < k), fewer terms)
            return 1.0 - float(cdf[k]) + float(pmf[k])
        return float(cdf[kc])

    u2 = mn - u
    if alternative == "greater":
        p = upper(u)
    elif alternative == "less":
        p = upper(u2)
    else:
        p = 2.0 * upper(max(u, u2))
    return min(max(p, 0.0), 1.0)


def rank_sum_p_normal(u: float, n1: int, n2: int, ties: np.ndarray, alternative: str,
                      continuity: bool) -> float:
    """Normal-approximation p-value of the rank-sum statistic ``u`` with the tie-corrected
    variance and, with ``continuity``, R's continuity correction."""
    mu = n1 * n2 / 2
    n = n1 + n2
    s = np.sqrt(n1 * n2 / 12 * ((n + 1) - float((ties ** 3 - ties).sum()) / (n * (n - 1))))
    u2 = n1 * n2 - u
    top, f = {"greater": (u, 1), "less": (u2, 1)}.get(alternative, (max(u, u2), 2))
    num = top - mu - (0.5 if continuity else 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = num / s
    return float(min(max(f * special.ndtr(-z), 0.0), 1.0))


def hypergeom_logpmf(k, total: int, good: int, draws: int) -> np.ndarray:
    """Log probability of ``k`` successes in ``draws`` draws without replacement from
    ``total`` items of which ``good`` are successes (R ``dhyper(log = TRUE)``)."""
    k = np.asarray(k, dtype=float)
    bad = total - good
    betaln = special.betaln
    return (betaln(good + 1, 1) + betaln(bad + 1, 1) + betaln(total - draws + 1, draws + 1)
            - betaln(k + 1, good - k + 1) - betaln(draws - k + 1, bad - draws + k + 1)
            - betaln(total + 1, 1))


def beta_ppf(q: float, a: float, b: float) -> float:
    """Quantile ``q`` of the Beta(a, b) distribution (R ``qbeta``)."""
    return float(special.betaincinv(a, b, q))
