"""Multiple-comparison p-value adjustment, as R ``stats::p.adjust``.

Shared by the pairwise log-rank test (and available to the group-tests and
competing-risks helpers: ``from aplcohort.stats._padjust import p_adjust``).
"""

from __future__ import annotations

import numpy as np

from ..errors import InputError

METHODS = ("holm", "hochberg", "bonferroni", "BH", "BY", "none")
_SM_METHOD = {"holm": "holm", "hochberg": "simes-hochberg", "bonferroni": "bonferroni",
              "BH": "fdr_bh", "BY": "fdr_by"}


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
    # statsmodels' multipletests is R's p.adjust for these methods (max relative
    # difference 2.5e-15 on the R reference vectors; tests/test_grouptests.py). R's ``n``
    # (more comparisons than p-values given) equals padding with p = 1: a padded p
    # sorts last, where it changes no step-down/step-up term of the real ones.
    from statsmodels.stats.multitest import multipletests

    padded = np.concatenate([pv, np.ones(n - lp)])
    adj = multipletests(padded, method=_SM_METHOD[method])[1][:lp]
    p0[ok] = adj
    return p0
