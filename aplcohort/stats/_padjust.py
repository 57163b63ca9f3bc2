"""Multiple-comparison p-value adjustment, as R ``stats::p.adjust``.

Shared by the pairwise log-rank test (and available to the group-tests and
competing-risks helpers: ``from aplcohort.stats._padjust import p_adjust``).
"""

from __future__ import annotations

import numpy as np

from ..errors import InputError

METHODS = ("holm", "hochberg", "bonferroni", "BH", "BY", "none")


def p_adjust(p, method="holm", n=None):
    """Adjust p-values for multiple comparisons exactly as R ``p.adjust``.

    Parameters
    ----------
    p : array-like of float
        P-values; NaN entries stay NaN and do not count in ``n`` (R ``NA``).
    method : {"holm", "hochberg", "bonferroni", "BH", "BY", "none"}
        ``"fdr"`` is accepted as an alias of ``"BH"`` (as in R).
    n : int, optional
        Number of comparisons (R ``n``); default the number of non-missing p.

    Returns
    -------
    ndarray of float

    Notes
    -----
    Validated against: R 4.2.2 ``p.adjust`` for every method on a vector with a
    missing value and ties (tests/test_logrank.py), rtol 1e-12.

    Examples
    --------
    >>> p_adjust([0.01, 0.02, 0.03], "holm").round(3).tolist()
    [0.03, 0.04, 0.04]
    """
    if method == "fdr":
        method = "BH"
    if method not in METHODS:
        raise InputError(f"unknown method {method!r}: p_adjust method must be one of "
                         f"{METHODS} (or 'fdr')")
    p0 = np.asarray(p, dtype=float).copy()
    if p0.ndim != 1:
        p0 = p0.ravel()
    ok = ~np.isnan(p0)
    bad = ok & ((p0 < 0) | (p0 > 1))
    if bad.any():
        raise InputError(f"p-values must lie in [0, 1]; got {p0[bad].tolist()}")
    pv = p0[ok]
    lp = pv.size
    if n is None:
        n = lp
    elif int(n) != n or n < lp:
        raise InputError(f"n must be an integer >= the number of non-missing p-values ({lp}); "
                         f"got {n!r}")
    n = int(n)
    if n <= 1 or method == "none":
        return p0
    if method == "bonferroni":
        adj = np.minimum(1.0, n * pv)
    elif method == "holm":
        o = np.argsort(pv, kind="stable")
        i = np.arange(1, lp + 1)
        adj = np.empty(lp)
        adj[o] = np.minimum(1.0, np.maximum.accumulate((n - i + 1) * pv[o]))
    else:
        o = np.argsort(-pv, kind="stable")          # decreasing, ties in original order
        i = np.arange(lp, 0, -1)
        if method == "hochberg":
            scaled = (n - i + 1) * pv[o]
        elif method == "BH":
            scaled = n / i * pv[o]
        else:  # BY
            scaled = np.sum(1.0 / np.arange(1, n + 1)) * n / i * pv[o]
        adj = np.empty(lp)
        adj[o] = np.minimum(1.0, np.minimum.accumulate(scaled))
    p0[ok] = adj
    return p0
