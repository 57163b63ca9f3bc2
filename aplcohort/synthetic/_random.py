"""Small vectorised random-draw helpers shared by the synthetic generators.

Every helper takes an explicit :class:`numpy.random.Generator`; none touches a
global random state. Truncated draws use the inverse-CDF method so that one
uniform is consumed per value whatever the bounds (the stream stays aligned).
"""

from __future__ import annotations

import numpy as np
from scipy import special as _sp


def norm_cdf(z):
    return 0.5 * _sp.erfc(-np.asarray(z, dtype=float) / np.sqrt(2.0))


def norm_ppf(p):
    return _sp.ndtri(np.asarray(p, dtype=float))


def trunc_exponential(rng, rate, lo, hi, size):
    """Exponential(rate) draws truncated to ``[lo, hi]`` (arrays broadcast)."""
    rate = np.broadcast_to(np.asarray(rate, dtype=float), (size,))
    lo = np.broadcast_to(np.asarray(lo, dtype=float), (size,))
    hi = np.broadcast_to(np.asarray(hi, dtype=float), (size,))
    u = rng.random(size)
    fa = -np.expm1(-rate * lo)
    fb = -np.expm1(-rate * hi)
    p = fa + u * (fb - fa)
    return -np.log1p(-p) / rate


def trunc_lognormal(rng, median, sdlog, lo, hi, size):
    """Lognormal(log(median), sdlog) draws truncated to ``[lo, hi]`` (``lo > 0``)."""
    median = np.broadcast_to(np.asarray(median, dtype=float), (size,))
    lo = np.broadcast_to(np.asarray(lo, dtype=float), (size,))
    hi = np.broadcast_to(np.asarray(hi, dtype=float), (size,))
    u = rng.random(size)
    mu = np.log(median)
    with np.errstate(divide="ignore"):
        za = (np.log(np.maximum(lo, 1e-300)) - mu) / sdlog
        zb = (np.log(hi) - mu) / sdlog
    fa, fb = norm_cdf(za), norm_cdf(zb)
    p = np.clip(fa + u * (fb - fa), 1e-15, 1 - 1e-15)
    return np.exp(mu + sdlog * norm_ppf(p))


def trunc_normal(rng, mean, sd, lo, hi, size):
    """Normal(mean, sd) draws truncated to ``[lo, hi]``."""
    u = rng.random(size)
    fa, fb = norm_cdf((lo - mean) / sd), norm_cdf((hi - mean) / sd)
    p = np.clip(fa + u * (fb - fa), 1e-15, 1 - 1e-15)
    return mean + sd * norm_ppf(p)


def choose_exactly(rng, candidates, k, log_weight=None):
    """Choose exactly ``k`` of ``candidates`` without replacement.

    Weighted sampling without replacement by the Gumbel-top-k trick
    (Efraimidis-Spirakis): each candidate gets key ``log w + Gumbel``; the
    ``k`` largest keys are chosen. The chosen number is exactly ``k`` for every
    random stream; the weights only change *who* is chosen.

    Parameters
    ----------
    rng : numpy.random.Generator
    candidates : array of int
        Indices to choose from.
    k : int
    log_weight : array of float, optional
        Log-weights aligned with ``candidates`` (default: equal weights).

    Returns
    -------
    ndarray of int
        The chosen indices, sorted.
    """
    candidates = np.asarray(candidates, dtype=np.int64)
    if k > candidates.size or k < 0:
        raise ValueError(f"cannot choose {k} of {candidates.size} candidates")
    g = rng.gumbel(size=candidates.size)
    if log_weight is not None:
        g = g + np.asarray(log_weight, dtype=float)
    order = np.argsort(-g, kind="stable")
    return np.sort(candidates[order[:k]])
