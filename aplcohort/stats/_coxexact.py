"""The exact (discrete / conditional-logistic) Cox partial likelihood, R ``coxph(ties="exact")``.

At each distinct event time ``t`` of a stratum with risk set ``R`` (rows with
``entry < t <= stop``) and ``d`` tied deaths ``D``, the contribution is

    sum_{i in D} eta_i  -  log  sum_{S subset of R, |S| = d}  exp(sum_{i in S} eta_i)

(Kalbfleisch & Prentice's "discrete" likelihood, which R's ``ties = "exact"`` uses; it
equals the conditional logistic likelihood of ``clogit``).  The sum over subsets is the
elementary symmetric polynomial ``e_d`` of the risks ``r_i = exp(eta_i)``, computed by
the recursion ``e_k(r_1..r_m) = e_k(r_1..r_{m-1}) + r_m e_{k-1}(r_1..r_{m-1})``
(Gail, Lubin & Rubinstein 1981) -- vectorised here over ``m`` as one cumulative sum per
``k``, carrying the gradient and Hessian along, so one event time costs O(d |R| p^2).
With one death the term is the ordinary (Breslow) one and is computed in closed form.

Why our own code: R's ``coxexact`` / ``agexact`` are C routines inside survival; the
Python survival libraries (lifelines, scikit-survival, statsmodels ``PHReg``) offer only
Breslow and Efron ties.  As in R, case weights are not supported (R stops: "Case
weights are not supported for the exact method") and neither are score-type residuals
(so neither is the robust variance).

Validated against: R survival 3.5-3 ``coxph(ties = "exact")`` on lung (times in months,
heavy ties, with and without strata), veteran, ovarian and heart ((start, stop] data):
coefficients, variance and log-likelihoods to about 1e-10 (tests/test_cox_extras.py).
"""

from __future__ import annotations

import numpy as np

from ..errors import InputError

__all__ = ["ExactKernel"]

_MAX_HELD = 50_000_000      # risk-set entries held at once (~400 MB of indices)


class ExactKernel:
    """Log partial likelihood, score and information for ``ties="exact"``.

    Same call signature as :class:`~aplcohort.stats._coxcore.RiskSetKernel` (one cohort),
    so :func:`aplcohort.stats.cox.cox_fit` runs the same Newton-Raphson iteration on it.

    Parameters
    ----------
    X : ndarray (n, p)
        Covariates (centred by the caller).
    time, event : ndarray (n,)
    entry : ndarray (n,), optional
        Entry times ((entry, time] data).
    strata : int ndarray (n,), optional
    weights : ndarray (n,), optional
        Must be all ones (R has no case weights with the exact method).

    Examples
    --------
    >>> import numpy as np
    >>> k = ExactKernel(np.array([[0.], [1.], [0.], [1.]]), np.array([1., 1., 2., 3.]),
    ...                 np.array([1, 1, 1, 0]))
    >>> ll, U, I = k.stats(np.zeros(1))
    >>> round(float(ll), 6)   # log(1 / C(4, 2)) + log(1 / 2)
    -2.484907
    """

    def __init__(self, X, time, event, *, entry=None, strata=None, weights=None, ties="exact"):
        X = np.asarray(X, float)
        self.X = X
        self.n, self.p = X.shape
        if weights is not None and np.any(np.asarray(weights, float) != 1):
            raise InputError("case weights are not supported with ties='exact' (as in R "
                             "coxph, which stops); use ties='efron' for a weighted model")
        t = np.asarray(time, float)
        ev = np.asarray(event) > 0
        ent = None if entry is None else np.asarray(entry, float)
        sc = np.zeros(self.n, np.int64) if strata is None else np.asarray(strata, np.int64)
        # one record per (stratum, event time): risk-set rows and deaths.  The risk sets are
        # held explicitly (memory ~ sum of their sizes): the exact likelihood is meant for
        # study-sized cohorts, as in R, whose coxexact is also O(n x event times)
        self.sets = []
        held = 0
        for s in np.unique(sc):
            rows = np.flatnonzero(sc == s)
            for tau in np.unique(t[rows][ev[rows]]):
                at = rows[(t[rows] >= tau) & (True if ent is None else ent[rows] < tau)]
                dead = at[(t[at] == tau) & ev[at]]
                self.sets.append((at, dead))
                held += at.size
                if held > _MAX_HELD:
                    raise InputError(
                        "ties='exact' is meant for study-sized cohorts: this one has more "
                        f"than {_MAX_HELD:,} (row, event time) risk-set entries; use "
                        "ties='efron' (R's default)")

    def stats(self, beta, need_info=True):
        """``(loglik, score (p,), information (p, p))`` at ``beta``."""
        beta = np.asarray(beta, float)
        X, p = self.X, self.p
        eta = X @ beta
        ll = 0.0
        U = np.zeros(p)
        Imat = np.zeros((p, p))
        for at, dead in self.sets:
            d = dead.size
            e = eta[at]
            c = e.max()
            r = np.exp(e - c)
            Xa = X[at]
            if d == 1:
                f = r.sum()
                g = r @ Xa
                h = (Xa * r[:, None]).T @ Xa
            else:
                f, g, h = _esp(r, Xa, d, need_info)
            if not np.isfinite(f) or f <= 0:
                raise InputError(f"ties='exact': the sum over subsets of size {d} out of "
                                 f"{at.size} at risk overflows; use ties='efron'")
            ll += eta[dead].sum() - d * c - np.log(f)
            m = g / f
            U += X[dead].sum(axis=0) - m
            if need_info:
                Imat += h / f - np.outer(m, m)
        return ll, U, Imat


def _esp(r, X, d, need_info=True):
    """``e_d(r)`` with its gradient and Hessian in beta (``dr_i = r_i x_i``).

    ``F[k][m]`` = e_k of the first m risks; ``e_k(.., m) = sum_{j <= m} r_j e_{k-1}(.., j-1)``,
    a cumulative sum over ``j`` per ``k``.
    """
    n, p = X.shape
    f_prev = np.ones(n)                  # e_0 over prefixes ending before j (length n)
    g_prev = np.zeros((n, p))
    h_prev = np.zeros((n, p, p)) if need_info else None
    for k in range(1, d + 1):
        # terms r_j * (values of e_{k-1} over the first j-1 risks)
        tf = r * f_prev
        tg = r[:, None] * (X * f_prev[:, None] + g_prev)
        cf = np.cumsum(tf)
        cg = np.cumsum(tg, axis=0)
        if need_info:
            xg = X[:, :, None] * g_prev[:, None, :]
            th = r[:, None, None] * (X[:, :, None] * X[:, None, :] * f_prev[:, None, None]
                                     + xg + np.transpose(xg, (0, 2, 1)) + h_prev)
            ch = np.cumsum(th, axis=0)
        if k == d:
            return cf[-1], cg[-1], (ch[-1] if need_info else np.zeros((p, p)))
        # shift: e_k over the first j-1 risks, for the next k
        f_prev = np.concatenate([[0.0], cf[:-1]])
        g_prev = np.vstack([np.zeros((1, p)), cg[:-1]])
        if need_info:
            h_prev = np.concatenate([np.zeros((1, p, p)), ch[:-1]])
    raise AssertionError("unreachable")  # d >= 2 always returns in the loop
