"""Fine–Gray subdistribution hazard regression, as ``cmprsk::crr``.

Model and estimation follow Fine & Gray (1999) exactly as implemented in
cmprsk 2.2 (Fortran ``crrfsv``, ``crrvv``, ``crrfit``):

* censoring weights from the Kaplan–Meier estimate of the censoring
  distribution ``G`` (``survfit(Surv(time, code == 0) ~ 1)``), evaluated just
  before each time (``G(t-)``, as crr's ``approx(..., ftime * (1 - 100 eps))``);
* risk set at a cause-``cause`` failure time ``u``: every subject with
  ``time >= u`` (weight 1; ties of censoring or other causes with ``u`` are at
  risk), plus every subject who failed from another cause before ``u`` with
  weight ``G(u-) / G(time-)``;
* tied failure times: Breslow;
* Newton–Raphson with crr's step halving, convergence rule
  ``max|score| * max(|b|, 1) < max(|loglik|, 1) * gtol`` (gtol 1e-6, at most 10
  iterations), the sandwich variance ``H^-1 (sum_i (eta_i + psi_i)^2) H^-1``
  of Fine & Gray, and the baseline jumps used by ``predict.crr``.

All risk-set sums are computed with one forward and one backward cumulative sum
over the time-sorted data, so a fit costs O(n log n) for the sort and O(n p^2)
per iteration (a 100,000-row cohort fits in about a second).

With time-varying coefficients (crr's ``cov2`` multiplied by a named function of
time ``tf``) or censoring-group-specific weights (crr's ``cengroup``) the fit goes
through :class:`_GeneralProblem`, a direct vectorised transcription of the same
Fortran routines (O(n K p^2) time per iteration and O(n K) memory, K = distinct
failure times; about 3 s for n = 5,000 with K ~ 500): the linear predictor then
differs at each failure time, which the linear-time sums cannot express. Time functions are chosen by name only (:func:`time_function`),
never given as code.
"""

from __future__ import annotations

import dataclasses
import re
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from ._lazy import scipy_stats as _st

from .._results import Result
from ..errors import ConvergenceWarning, InputError, SeparationWarning
from .._checks import check_int
from ._design import as_categorical, as_columns, build_design, check_columns, column_arg
from .cox import alias_notes, singular_columns
from ._aeq import aeq_outcome
from .outcome import Outcome
from .shapes import FG_CONVERGENCE_ADVICE, FG_MOVING_HINT, TermsShape, term_levels, terms_frame

__all__ = ["crr_fit", "CrrFit", "fine_gray", "FineGrayResult", "time_function", "TIME_FUNCTIONS"]

_EPS = np.finfo(float).eps


@dataclass(frozen=True, eq=False)
class CrrFit:
    """Array-level Fine–Gray fit (mirrors the ``crr`` object).

    Attributes
    ----------
    coef : ndarray (p,)
    var : ndarray (p, p)
        Sandwich variance (``crr$var``).
    inf : ndarray (p, p)
        Information matrix (``crr$inf``).
    loglik, loglik_null : float
        Log pseudo-partial likelihood at ``coef`` and at 0 (``crr$loglik``,
        ``crr$loglik.null``).
    score : ndarray (p,)
    converged : bool
    iterations : int
    uftime : ndarray
        Distinct failure times of the cause (``crr$uftime``).
    bfitj : ndarray
        Jumps of the baseline cumulative subdistribution hazard (``crr$bfitj``).
    n, events, competing, censored : int
    """

    coef: np.ndarray
    var: np.ndarray
    inf: np.ndarray
    loglik: float
    loglik_null: float
    score: np.ndarray
    converged: bool
    iterations: int
    uftime: np.ndarray
    bfitj: np.ndarray
    n: int
    events: int
    competing: int
    censored: int
    aliased: np.ndarray = None
    alias_notes: dict = field(default_factory=dict)
    infinite: np.ndarray = None
    tfs: np.ndarray = None          # (K, p2) time functions at uftime (crr$tfs); None without cov2
    n_cengroups: int = 1
    #: the direction (p,) along which several coefficients diverge together (the Newton
    #: step of the flagged terms, 0 elsewhere), or None (see :func:`_joint_divergence`)
    diverge_dir: np.ndarray = None
    #: (p,) the terms whose next Newton step is still large (R coxph's rule, eps = gtol)
    moving: np.ndarray = None
    #: (p,) the terms flagged as infinite on their own (moving one coefficient further
    #: does not lower the pseudo-likelihood); ``infinite`` adds those diverging together
    diverge_alone: np.ndarray = None

    def predict(self, Z, times=None) -> np.ndarray:
        """Predicted cumulative incidence for covariate rows ``Z`` (as ``predict.crr``).

        Returns an array (len(times) or len(uftime), n_profiles).  ``times=None``
        gives the values at ``uftime``; otherwise step-function values (0 before
        the first failure time).
        """
        Z = np.atleast_2d(np.asarray(Z, dtype=float))
        if Z.shape[1] != self.coef.size:
            raise InputError(f"profiles need {self.coef.size} covariate values, got {Z.shape[1]}")
        # an aliased column (coef NaN) is out of the model: contributes 0
        b = np.nan_to_num(self.coef)
        if self.tfs is not None and self.tfs.shape[1]:
            # predict.crr with cov2: exp(cov1 b1 + tfs %*% (cov2 * b2)) at each failure time
            p2 = self.tfs.shape[1]
            p1 = b.size - p2
            lp = (Z[:, :p1] @ b[:p1])[None, :] + self.tfs @ (Z[:, p1:] * b[p1:]).T
            lhat = np.cumsum(self.bfitj[:, None] * np.exp(lp), axis=0)
        else:
            lhat = np.cumsum(self.bfitj)[:, None] * np.exp(Z @ b)[None, :]
        cif = 1 - np.exp(-lhat)
        if times is None:
            return cif
        t = np.asarray(times, dtype=float).ravel()
        idx = np.searchsorted(self.uftime, t, side="right") - 1
        out = np.where(idx[:, None] >= 0, cif[np.clip(idx, 0, None)], 0.0)
        return out


def _censoring_km_left(t_sorted, cens_sorted):
    """KM of the censoring distribution just before each time (crr's ``uuu``)."""
    n = t_sorted.size
    ut, idx_first, cnt = np.unique(t_sorted, return_index=True, return_counts=True)
    nc = np.add.reduceat(cens_sorted.astype(float), idx_first)
    risk = n - idx_first.astype(float)
    surv = np.cumprod(1 - nc / risk)
    # approx(c(min(0, t) - 10 eps, t, max(t)(1 + 10 eps)), c(1, surv, 0),
    #        xout = ftime * (1 - 100 eps), method = "constant", f = 0, rule = 2)
    xout = t_sorted * (1 - 100 * _EPS)
    k = np.searchsorted(ut, xout, side="right") - 1
    return np.where(k >= 0, surv[np.clip(k, 0, None)], 1.0)


class _Problem:
    """Sorted data and the linear-time risk-set sums of the crr likelihood."""

    def __init__(self, time, status, X):
        order = np.argsort(time, kind="mergesort")
        self.t = time[order]
        self.st = status[order]  # 0 censored, 1 cause, 2 other cause
        self.X = X[order]
        self.order = order
        self.n, self.p = self.X.shape
        self.xmean = self.X.mean(axis=0) if self.n else np.zeros(self.p)
        self.Xc = self.X - self.xmean
        # the same values column-major for the risk-set sums: a cumulative sum down a
        # column of a row-major (n, p) array strides over every row once per column,
        # which stops fitting in the cache between 1e5 and 1e6 rows (the super-linear
        # growth of the fit); column by column it streams. Same sums, same order.
        self.XcF = np.asfortranarray(self.Xc)
        self.G = _censoring_km_left(self.t, self.st == 0)
        fail = self.st == 1
        self.uft, self.d = np.unique(self.t[fail], return_counts=True)
        self.d = self.d.astype(float)
        self.pos = np.searchsorted(self.t, self.uft, side="left")  # first index with t >= u
        self.Gu = self.G[self.pos]  # G(u-)
        self.comp = self.st == 2
        self.fail = fail

    def sums(self, b, need2=True):
        """S0, S1, S2 at each distinct failure time, with centred covariates.

        Weights are scaled by exp(-shift); returns also the shift.
        """
        eta = self.Xc @ b
        shift = float(eta.max()) if eta.size else 0.0
        w = np.exp(eta - shift)
        cw = np.where(self.comp, w / self.G, 0.0)

        pos = self.pos
        before = pos - 1
        first = before < 0
        # (n, p) work arrays reused by every call: a fresh array of 1e6 x 7 doubles is
        # 56 MB of newly mapped pages each time (the page faults cost as much as the sums)
        if getattr(self, "_work", None) is None:
            self._work = [np.empty((self.n, self.p), order="F") for _ in range(4)]
        wx, cx, prod, csum = self._work

        def rev_at(v, out=None):  # sum over index >= pos
            if out is None:
                return np.cumsum(v[::-1], axis=0)[::-1][pos]
            np.cumsum(v[::-1], axis=0, out=out[::-1])
            return out[pos]

        def fwd_at(v, out=None):  # sum over index < pos (0 where pos = 0), no padded copy
            c = np.cumsum(v, axis=0, out=out)[before]
            c[first] = 0.0
            return c

        Gu = self.Gu
        S0 = rev_at(w) + Gu * fwd_at(cw)
        X = self.XcF                      # column-major: the cumulative sums stream
        np.multiply(w[:, None], X, out=wx)
        np.multiply(cw[:, None], X, out=cx)
        S1 = rev_at(wx, csum) + Gu[:, None] * fwd_at(cx, csum)
        S2 = None
        if need2:  # one column at a time: memory O(n p), not O(n p^2)
            S2 = np.empty((self.uft.size, self.p, self.p))
            for j in range(self.p):
                xj = X[:, j:j + 1]
                r = rev_at(np.multiply(wx, xj, out=prod), csum)
                S2[:, :, j] = r + Gu[:, None] * fwd_at(np.multiply(cx, xj, out=prod), csum)
        return eta, shift, w, S0, S1, S2

    def objective(self, b, need_derivs=True):
        """crr's minimised objective: -loglik, its gradient and Hessian."""
        eta, shift, _, S0, S1, S2 = self.sums(b, need2=need_derivs)
        lik = -eta[self.fail].sum() + float(np.sum(self.d * (np.log(S0) + shift)))
        # the centring of X does not change the likelihood (sum of d = number of failures)
        if not need_derivs:
            return lik, None, None
        xbar = S1 / S0[:, None]
        score = -self.Xc[self.fail].sum(axis=0) + (self.d[:, None] * xbar).sum(axis=0)
        info = np.einsum("k,kij->ij", self.d, S2 / S0[:, None, None]
                         - xbar[:, :, None] * xbar[:, None, :])
        return lik, score, info

    def sandwich(self, b):
        """Information and Fine–Gray's variance of the score (crr ``crrvv``)."""
        eta, shift, w, S0, S1, S2 = self.sums(b)
        xbar = S1 / S0[:, None]
        info = np.einsum("k,kij->ij", self.d, S2 / S0[:, None, None]
                         - xbar[:, :, None] * xbar[:, None, :])
        a = self.d / S0
        X = self.Xc
        t = self.t
        K = self.uft.size
        # index of the last failure time <= t_i
        kle = np.searchsorted(self.uft, t, side="right") - 1
        A = np.concatenate(([0.0], np.cumsum(a)))  # A[k+1] = sum_{j<=k} a_j
        Bc = np.vstack([np.zeros((1, self.p)), np.cumsum(a[:, None] * xbar, axis=0)])
        Ai = A[kle + 1]
        Bi = Bc[kle + 1]
        ag = a * self.Gu
        AGt = np.concatenate([np.cumsum(ag[::-1])[::-1], [0.0]])  # AGt[k] = sum_{j>=k}
        BGt = np.vstack([np.cumsum((ag[:, None] * xbar)[::-1], axis=0)[::-1], np.zeros((1, self.p))])
        AGi = AGt[kle + 1]  # sum over tau > t_i
        BGi = BGt[kle + 1]
        xb_i = np.where(self.fail[:, None], xbar[np.clip(kle, 0, None)], 0.0)
        eta_i = (np.where(self.fail[:, None], X - xb_i, 0.0)
                 - w[:, None] * (X * Ai[:, None] - Bi)
                 - np.where(self.comp, w / self.G, 0.0)[:, None] * (X * AGi[:, None] - BGi))
        # censoring-martingale part psi_i
        psi = np.zeros_like(eta_i)
        cens = self.st == 0
        if cens.any() and K:
            ct, cfirst, ccount = np.unique(t[cens], return_index=True, return_counts=True)
            cpos = np.searchsorted(t, ct, side="left")  # first index with t >= c
            Y = (self.n - cpos).astype(float)
            cw = np.where(self.comp, w / self.G, 0.0)
            C0 = np.concatenate(([0.0], np.cumsum(cw)))[cpos]  # competing with t < c
            C1 = np.vstack([np.zeros((1, self.p)), np.cumsum(cw[:, None] * X, axis=0)])[cpos]
            kge = np.searchsorted(self.uft, ct, side="left")  # first tau >= c
            QA = AGt[kge]
            QB = BGt[kge]
            q = C1 * QA[:, None] - C0[:, None] * QB
            cum = np.cumsum(ccount[:, None] * q / (Y ** 2)[:, None], axis=0)
            # for subject i: subtract the sum over censoring times c <= t_i
            jc = np.searchsorted(ct, t, side="right") - 1
            psi = -np.where(jc[:, None] >= 0, cum[np.clip(jc, 0, None)], 0.0)
            ci = np.searchsorted(ct, t[cens])
            psi[cens] += q[ci] / Y[ci][:, None]
        r = eta_i + psi
        v2 = r.T @ r
        return info, v2, a, shift


# --------------------------------------------------------------------------
# time functions of crr's cov2 (named only: never user code)
# --------------------------------------------------------------------------
#: named time functions ``tf`` accepted for ``cov2`` columns
TIME_FUNCTIONS = {
    "identity": "t",
    "log": "log(t)",
    "step(t0)": "1 if t >= t0 else 0 (e.g. step(6))",
}
_STEP = re.compile(r"^step\(\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*\)$")


def time_function(name):
    """The named function of time multiplying a ``cov2`` column (crr's ``tf``).

    Parameters
    ----------
    name : str
        ``"identity"`` (t), ``"log"`` (log t; failure times must be > 0) or
        ``"step(t0)"`` (1 for t >= t0, else 0).

    Returns
    -------
    (callable, str)
        The vectorised function and the label used in term names.

    Examples
    --------
    >>> f, lab = time_function("step(6)")
    >>> f(np.array([5.0, 6.0, 7.0])).tolist(), lab
    ([0.0, 1.0, 1.0], 'step(6)')
    """
    if not isinstance(name, str):
        raise InputError(f"tf must be the name of a time function {list(TIME_FUNCTIONS)}, "
                         f"got {name!r} (functions are chosen by name, never given as code)")
    key = name.strip()
    if key == "identity":
        return (lambda t: np.asarray(t, float)), "t"
    if key == "log":
        def _log(t):
            t = np.asarray(t, float)
            if np.any(t <= 0):
                raise InputError("tf 'log' needs failure times > 0 (log(0) is not finite); "
                                 "use identity or step(t0)")
            return np.log(t)
        return _log, "log(t)"
    m = _STEP.match(key)
    if m:
        t0 = float(m.group(1))
        return (lambda t: (np.asarray(t, float) >= t0).astype(float)), f"step({m.group(1)})"
    raise InputError(f"unknown time function {name!r}; choose one of {list(TIME_FUNCTIONS)}")


def _censoring_km_groups(t_sorted, cens_sorted, cg, ncg):
    """crr's ``uuu``: KM of censoring within each censoring group, at every ``t-``.

    Row ``g`` evaluates group ``g``'s curve at ``t * (1 - 100 eps)`` for every
    subject, with crr's ``approx(..., rule = 2)`` ends: 1 before the group's
    first time and 0 at or after ``max(time) * (1 + 10 eps)`` of the group.
    """
    n = t_sorted.size
    out = np.zeros((ncg, n))
    xout = t_sorted * (1 - 100 * _EPS)
    for g in range(ncg):
        sel = cg == g
        tg = t_sorted[sel]
        ut, idx_first = np.unique(tg, return_index=True)
        nc = np.add.reduceat(cens_sorted[sel].astype(float), idx_first)
        risk = tg.size - idx_first.astype(float)
        surv = np.cumprod(1 - nc / risk)
        k = np.searchsorted(ut, xout, side="right") - 1
        val = np.where(k >= 0, surv[np.clip(k, 0, None)], 1.0)
        out[g] = np.where(xout >= ut[-1] * (1 + 10 * _EPS), 0.0, val)
    return out


class _GeneralProblem:
    """crr with ``cov2``/``tf`` and ``cengroup``: Fortran ``crrfsv``/``crrf``/``crrvv``/
    ``crrfit`` of cmprsk 2.2, vectorised over subjects at each failure time.

    The covariate vector of subject i at failure time u_k is ``X_i * F_k`` with
    ``F_k = (1, ..., 1, tf_1(u_k), ..., tf_p2(u_k))``; the risk-set weight is 1 while
    ``time >= u_k`` and ``G_g(u_k-) / G_g(time_i-)`` after an other-cause failure
    (``g`` = the subject's censoring group); 0 otherwise.
    """

    def __init__(self, time, status, X, tfs, cg, ncg):
        order = np.argsort(time, kind="mergesort")
        self.t = time[order]
        self.st = status[order]
        self.X = X[order]
        self.cg = cg[order]
        self.n, self.p = self.X.shape
        p2 = tfs.shape[1]
        self.fail = self.st == 1
        self.comp = self.st == 2
        self.uft, self.d = np.unique(self.t[self.fail], return_counts=True)
        self.d = self.d.astype(float)
        K = self.uft.size
        self.F = np.hstack([np.ones((K, self.p - p2)), tfs])
        self.wt = _censoring_km_groups(self.t, self.st == 0, self.cg, ncg)
        pos = np.searchsorted(self.t, self.uft, side="left")
        Gu = self.wt[:, pos]                                  # (ncg, K): G_g(u_k-)
        own = self.wt[self.cg, np.arange(self.n)]             # G_{g_i}(t_i-)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(own[None, :] > 0, Gu[self.cg].T / own[None, :], 0.0)
        later = self.t[None, :] >= self.uft[:, None]
        self.R = np.where(later, 1.0, np.where(self.comp[None, :], ratio, 0.0))  # (K, n)
        self.kf = np.searchsorted(self.uft, self.t)           # failure index of each failure
        self.ncg = ncg

    def _W(self, b):
        lp = (self.X[None, :, :] * self.F[:, None, :]) @ b   # (K, n)
        live = self.R > 0
        m = np.max(np.where(live, lp, -np.inf), axis=1)
        W = self.R * np.exp(np.where(live, lp - m[:, None], 0.0))
        return lp, m, W

    def objective(self, b, need_derivs=True):
        lp, m, W = self._W(b)
        S0 = W.sum(axis=1)
        lik = -lp[self.kf[self.fail], np.flatnonzero(self.fail)].sum() + float(
            np.sum(self.d * (np.log(S0) + m)))
        if not need_derivs:
            return lik, None, None
        S1 = (W @ self.X) * self.F
        xbar = S1 / S0[:, None]
        S2 = np.einsum("kn,na,nb->kab", W, self.X, self.X, optimize=True) * (
            self.F[:, :, None] * self.F[:, None, :])
        zf = self.X[self.fail] * self.F[self.kf[self.fail]]
        score = -zf.sum(axis=0) + (self.d[:, None] * xbar).sum(axis=0)
        info = np.einsum("k,kij->ij", self.d, S2 / S0[:, None, None]
                         - xbar[:, :, None] * xbar[:, None, :])
        return lik, score, info

    def sandwich(self, b):
        """Information, Fine–Gray's variance of the score (crrvv) and the baseline jumps."""
        lp, m, W = self._W(b)
        S0 = W.sum(axis=1)
        S1 = (W @ self.X) * self.F
        xbar = S1 / S0[:, None]
        S2 = np.einsum("kn,na,nb->kab", W, self.X, self.X, optimize=True) * (
            self.F[:, :, None] * self.F[:, None, :])
        info = np.einsum("k,kij->ij", self.d, S2 / S0[:, None, None]
                         - xbar[:, :, None] * xbar[:, None, :])
        A = W * (self.d / S0)[:, None]                        # (K, n)
        X, F, t = self.X, self.F, self.t
        kf = np.clip(self.kf, 0, self.uft.size - 1)
        eta = (np.where(self.fail[:, None], X * F[kf] - xbar[kf], 0.0)
               - (X * (A.T @ F) - A.T @ xbar))
        psi = np.zeros_like(eta)
        cens = self.st == 0
        if cens.any() and self.uft.size:
            # cmprsk 2.2-11 keeps q(u) per censoring group g: the failures j1 and the
            # other-cause failures j2 of its double sum are both those of group g
            ct = np.unique(t[cens])
            cpos = np.searchsorted(t, ct, side="left")       # first index with t >= c
            jc = np.searchsorted(ct, t, side="right") - 1     # last censoring time <= t_i
            K = self.uft.size
            for g in range(self.ncg):
                ing = self.cg == g
                dg = np.bincount(self.kf[self.fail & ing], minlength=K).astype(float)
                ag = W * (dg / S0)[:, None]
                compw = (self.comp & ing).astype(float)
                qu = np.zeros((ct.size, self.p))
                for k in np.flatnonzero(dg):
                    a = ag[k] * compw
                    c0 = np.concatenate(([0.0], np.cumsum(a)))[cpos]
                    c1 = np.vstack([np.zeros((1, self.p)), np.cumsum(a[:, None] * X, axis=0)])[cpos]
                    use = (self.uft[k] >= ct)[:, None]
                    qu += np.where(use, F[k] * c1 - xbar[k] * c0[:, None], 0.0)
                tg = np.sort(t[ing])
                Y = (tg.size - np.searchsorted(tg, ct, side="left")).astype(float)
                tcg = np.sort(t[ing & cens])
                ncen = (np.searchsorted(tcg, ct, side="right")
                        - np.searchsorted(tcg, ct, side="left")).astype(float)
                Ys = np.where(Y > 0, Y, 1.0)
                inc = np.where((ncen > 0)[:, None], -qu * (ncen / Ys ** 2)[:, None], 0.0)
                cum = np.cumsum(inc, axis=0)
                sel = np.flatnonzero(ing)
                psi[sel] = np.where(jc[sel, None] >= 0, cum[np.clip(jc[sel], 0, None)], 0.0)
                cs = np.flatnonzero(ing & cens)
                cis = np.searchsorted(ct, t[cs])
                psi[cs] += qu[cis] / Ys[cis][:, None]
        r = eta + psi
        v2 = r.T @ r
        bfitj = self.d / (S0 * np.exp(m))
        return info, v2, bfitj


def crr_fit(time, code, X, *, cause=1, max_iter=10, gtol=1e-6, init=None, cov2=None,
            tf=None, cengroup=None) -> CrrFit:
    """Array-level Fine–Gray fit (``cmprsk::crr(ftime, fstatus, cov1, cov2, tf, cengroup,
    failcode=cause)``).

    Parameters
    ----------
    time : array_like (n,)
    code : array_like (n,) of int, 0 = censored, 1, 2, ... = cause
    X : array_like (n, p)
        Time-fixed covariates (crr ``cov1``); may have 0 columns when ``cov2`` is given.
    cause : int
        Failure code of interest (crr ``failcode``).
    max_iter, gtol : as crr ``maxiter`` (an integer >= 1), ``gtol``.
    init : array_like (p,), optional
    cov2 : array_like (n, p2), optional
        Covariates whose coefficient multiplies a function of time (crr ``cov2``);
        their coefficients follow those of ``X``.
    tf : str or sequence of str, optional
        Named time function per ``cov2`` column (one name = all columns), see
        :func:`time_function` (crr ``tf``, here evaluated at the distinct failure
        times as crr does).
    cengroup : array_like (n,), optional
        Censoring groups (crr ``cengroup``): the censoring distribution is
        estimated separately within each group.

    Returns
    -------
    CrrFit

    Examples
    --------
    >>> import numpy as np
    >>> f = crr_fit([1, 2, 3, 4, 5, 6, 7, 8], [1, 2, 1, 0, 1, 2, 1, 0],
    ...             np.array([[0.], [1], [0], [1], [1], [0], [0], [1]]))
    >>> f.converged
    True

    Validated against: ``cmprsk::crr`` (coef, var, loglik, bfitj,
    ``predict.crr``) on ``survival::mgus2`` and a simulated cohort with ties,
    both causes (rtol 1e-5).
    """
    out = aeq_outcome(Outcome.competing(time, code))   # R finegray timefix (stats/_aeq.py)
    X = np.asarray(X, dtype=float)
    if X.ndim == 1:
        X = X[:, None]
    if X.shape[0] != out.n:
        raise InputError(f"X has {X.shape[0]} rows but there are {out.n} subjects")
    if not np.all(np.isfinite(X)):
        raise InputError("X has non-finite values; remove or impute them first")
    if cause not in out.causes():
        raise InputError(f"cause={cause!r} does not occur in code (causes present: {out.causes()})")
    status = np.where(out.event == cause, 1, np.where(out.event > 0, 2, 0))
    general = cov2 is not None or cengroup is not None
    if tf is not None and cov2 is None:
        raise InputError("tf= is the time function of cov2 columns; give cov2= too")
    if general:
        X, tfs, cg, ncg = _general_inputs(out, status, X, cov2, tf, cengroup)
        pr = _GeneralProblem(out.time, status, X, tfs, cg, ncg)
    else:
        pr = _Problem(out.time, status, X)
        tfs, ncg = None, 1
    p = X.shape[1]
    b = np.zeros(p) if init is None else np.asarray(init, dtype=float).copy()
    converged = False
    it = 0
    lik, score, info = pr.objective(b)
    sing = singular_columns(info) if p else np.zeros(0, bool)
    if sing.any() and general:
        raise InputError(f"Fine-Gray: the covariate columns {np.flatnonzero(sing).tolist()} "
                         "(cov1 then cov2) carry no information (constant or collinear); "
                         "remove them")
    if sing.any():
        # cmprsk::crr stops with "system is exactly singular"; we fit without the
        # columns that carry no information (R coxph's rule) and report them as NA
        notes = alias_notes(X, sing, [f"x{j + 1}" for j in range(p)])
        keep = np.flatnonzero(~sing)
        sub = crr_fit(time, code, X[:, keep], cause=cause, max_iter=max_iter, gtol=gtol,
                      init=None if init is None else np.asarray(init, float)[keep])
        coef = np.full(p, np.nan)
        coef[keep] = sub.coef
        var = np.zeros((p, p))
        var[np.ix_(keep, keep)] = sub.var
        inf_m = np.zeros((p, p))
        inf_m[np.ix_(keep, keep)] = sub.inf
        score_f = np.zeros(p)
        score_f[keep] = sub.score
        infinite = np.zeros(p, bool)
        infinite[keep] = sub.infinite
        ddir = None
        if sub.diverge_dir is not None:
            ddir = np.zeros(p)
            ddir[keep] = sub.diverge_dir
        moving = np.zeros(p, bool)
        if sub.moving is not None:
            moving[keep] = sub.moving
        alone = np.zeros(p, bool)
        if sub.diverge_alone is not None:
            alone[keep] = sub.diverge_alone
        return dataclasses.replace(sub, coef=coef, var=var, inf=inf_m, score=score_f,
                                   aliased=sing, alias_notes=notes, infinite=infinite,
                                   diverge_dir=ddir, moving=moving,
                                   diverge_alone=alone)
    for ll in range(max_iter + 1):
        it = ll
        if np.max(np.abs(score) * np.maximum(np.abs(b), 1)) < max(abs(lik), 1) * gtol:
            converged = True
            break
        if ll == max_iter:
            break
        sc = -np.linalg.solve(info, score)
        bn = b + sc
        fbn = pr.objective(bn, need_derivs=False)[0]
        i = 0
        while not np.isfinite(fbn) or fbn > lik + 1e-4 * np.sum(sc * score):
            i += 1
            sc = sc * 0.5
            bn = b + sc
            fbn = pr.objective(bn, need_derivs=False)[0]
            if i > 20:
                break
        if i > 20:
            break
        b = bn
        lik, score, info = pr.objective(b)
    if not converged:
        warnings.warn(f"Fine-Gray fit did not converge in {max_iter} iterations "
                      f"(max |score| = {np.max(np.abs(score)):.3g}){FG_CONVERGENCE_ADVICE}",
                      ConvergenceWarning, stacklevel=2)
    if general:
        inf, v2, bfitj = pr.sandwich(b)
    else:
        inf, v2, a, shift = pr.sandwich(b)
        # baseline jumps with the original (uncentred) covariates: d / S0_raw
        bfitj = a * np.exp(-(shift + float(pr.xmean @ b)))
    h = np.linalg.inv(inf)
    var = h @ v2 @ h.T
    # cmprsk has no flag for a diverging coefficient (monotone pseudo-likelihood, e.g. a
    # group with no events of the cause: crr stops on the gradient with a large coefficient
    # and a deceptively small sandwich SE). Our check: moving the coefficient a further
    # 10 units of the linear predictor (over the column's range) away from 0 does not
    # lower the pseudo-likelihood, which a finite maximum always would.
    infinite = np.zeros(p, dtype=bool)
    for j in range(p):
        rng_j = float(np.ptp(X[:, j] * (np.abs(pr.F[:, j]).max() if general else 1.0)))
        if b[j] == 0 or rng_j == 0:
            continue
        bb = b.copy()
        bb[j] += np.sign(b[j]) * 10.0 / rng_j
        l2 = pr.objective(bb, need_derivs=False)[0]
        infinite[j] = bool(np.isfinite(l2) and l2 <= lik + 1e-6 * max(abs(lik), 1.0))
    # Several coefficients may diverge only together (a column and its time-varying copy
    # `cov2`: -inf before a step, their sum finite after): moving one alone lowers the
    # pseudo-likelihood, so the check above misses them. R coxph's infinite-coefficient
    # rule (the next Newton step still large relative to the coefficient), applied
    # whether or not the fit converged (as cox_fit does when the iterations run out),
    # names them; the pseudo-likelihood along that step confirms it (see
    # _joint_divergence).
    joint, ddir, moving = _joint_divergence(pr, X, b, lik, score, info, gtol, general)
    alone = infinite.copy()
    infinite |= joint
    lik0 = pr.objective(np.zeros(p), need_derivs=False)[0]
    return CrrFit(coef=b, var=var, inf=inf, loglik=-lik, loglik_null=-lik0, score=-score,
                  converged=converged, iterations=it, uftime=pr.uft, bfitj=bfitj,
                  n=out.n, events=int((status == 1).sum()), competing=int((status == 2).sum()),
                  censored=int((status == 0).sum()), aliased=np.zeros(p, bool), alias_notes={},
                  infinite=infinite, tfs=tfs, n_cengroups=ncg, diverge_dir=ddir,
                  moving=moving, diverge_alone=alone)


def _lp_spread(pr, X, d, general):
    """The largest spread (max - min) over the subjects of the change of the linear
    predictor per unit of the direction ``d`` (at any failure time with ``cov2``)."""
    if general:
        dl = (X * d) @ pr.F.T                                 # (n, K), without an (K, n, p) array
        return float(np.ptp(dl, axis=0).max()) if dl.size else 0.0
    return float(np.ptp(X @ d)) if X.size else 0.0


def _joint_divergence(pr, X, b, lik, score, info, gtol, general):
    """Coefficients diverging together (monotone pseudo-likelihood along a direction).

    R coxph's rule, with crr's ``gtol`` as its ``eps``: a coefficient whose next Newton
    step ``|H^-1 U|_j`` exceeds ``eps`` and ``sqrt(eps) |b_j|`` is still moving, converged
    or not. crr's gradient rule is looser than coxph's, so a finite coefficient may pass
    it; the flag is kept only when moving the moving coefficients further along their
    Newton step, by 10 units of the linear predictor, does not lower the pseudo-likelihood
    (the negative log pseudo-likelihood is convex: past a finite maximum it rises). When
    the whole set fails that test, the terms with the dominant steps are tried alone.

    Returns (flags (p,), direction (p,) of the flagged terms or None, moving (p,)).
    """
    p = b.size
    none = (np.zeros(p, bool), None, np.zeros(p, bool))
    if p == 0:
        return none
    try:
        step = -np.linalg.solve(info, score)
    except np.linalg.LinAlgError:
        return none
    if not np.all(np.isfinite(step)):
        return none[0], None, np.ones(p, bool)
    with np.errstate(invalid="ignore"):
        moving = (np.abs(step) > gtol) & (np.abs(step) > np.sqrt(gtol) * np.abs(b))
    if not moving.any():
        return none[0], None, moving
    tried = []
    for sel in (moving, moving & (np.abs(step) >= 0.5 * np.abs(step[moving]).max())):
        if not sel.any() or any(np.array_equal(sel, t) for t in tried):
            continue
        tried.append(sel)
        d = np.where(sel, step, 0.0)
        spread = _lp_spread(pr, X, d, general)
        if not spread > 0:
            continue
        l2 = pr.objective(b + d * (10.0 / spread), need_derivs=False)[0]
        if np.isfinite(l2) and l2 <= lik + 1e-6 * max(abs(lik), 1.0):
            return sel.copy(), d, moving
    return none[0], None, moving


def _general_inputs(out, status, X, cov2, tf, cengroup):
    """Checked (X with cov2 appended, tfs at the failure times, censoring-group codes)."""
    n = out.n
    uft = np.unique(out.time[status == 1])
    if cov2 is None:
        X2 = np.zeros((n, 0))
    else:
        X2 = np.asarray(cov2, dtype=float)
        if X2.ndim == 1:
            X2 = X2[:, None]
        if X2.shape[0] != n:
            raise InputError(f"cov2 has {X2.shape[0]} rows but there are {n} subjects")
        if not np.all(np.isfinite(X2)):
            raise InputError("cov2 has non-finite values; remove or impute them first")
    p2 = X2.shape[1]
    if p2 and tf is None:
        raise InputError(f"cov2 needs tf= (a time function per column: {list(TIME_FUNCTIONS)})")
    names = [tf] * p2 if isinstance(tf, str) or tf is None else list(tf)
    if len(names) != p2:
        raise InputError(f"tf names {len(names)} functions for {p2} cov2 column(s)")
    tfs = np.column_stack([time_function(nm)[0](uft) for nm in names]) if p2 else \
        np.zeros((uft.size, 0))
    if cengroup is None:
        cg, ncg = np.zeros(n, dtype=np.int64), 1
    else:
        arr = np.asarray(cengroup, dtype=object)
        if arr.ndim != 1 or arr.size != n:
            raise InputError(f"cengroup must have one value per subject ({n})")
        if pd.isna(pd.Series(arr)).any():
            raise InputError("cengroup has missing values; rows are never dropped silently")
        labels, cg = np.unique(arr.astype(str), return_inverse=True)
        ncg = labels.size
    if X.shape[1] + p2 == 0:
        raise InputError("no covariates: give X (cov1) and/or cov2 columns")
    return np.hstack([X, X2]), tfs, cg.astype(np.int64), ncg


NOTE_INFINITE_FG = ("coefficient may be infinite (monotone pseudo-likelihood: moving it further "
                    "from 0 does not lower the pseudo-likelihood)")


def _level_notes(names, X, levels_of, ev, cause):
    """Reasons why the terms of categorical (or two-valued numeric) covariates cannot be
    estimated because a level has no events of the cause (``{column index: note}``).

    ``levels_of`` is ``{covariate: (column indices, levels with the reference first)}``
    (``levels`` None for a numeric column). A level without events of the cause has a
    subdistribution hazard ratio of 0 against any level with events (the coefficient
    diverges to -inf; crr stops on its gradient with a large finite value and a small
    sandwich SE); a zero-event reference makes every contrast against it diverge (+inf);
    with no events on either side the contrast is 0/0. None of these is an estimate.
    """
    out = {}
    for cov, (idx, levels) in levels_of.items():
        idx = list(idx)
        if levels is None:   # numeric: only a two-valued column is a group comparison
            x = X[:, idx[0]]
            vals = np.unique(x)
            if vals.size != 2:
                continue
            e = [int(ev[x == v].sum()) for v in vals]
            if min(e) > 0:
                continue
            empty = [f"{names[idx[0]]} = {v:g}" for v, k in zip(vals, e) if k == 0]
            out[idx[0]] = (f"coefficient may be infinite (no events of cause {cause} where "
                           f"{' nor where '.join(empty)})")
            continue
        ref = ~np.any(X[:, idx] != 0, axis=1)
        e_ref = int(ev[ref].sum())
        for k, j in enumerate(idx):
            lv = levels[k + 1]
            e_j = int(ev[X[:, j] != 0].sum())
            if e_j == 0 and e_ref == 0:
                out[j] = (f"no events of cause {cause} in level {lv!r} nor in the reference "
                          f"level {levels[0]!r}: nothing to compare")
            elif e_j == 0:
                out[j] = (f"no events of cause {cause} in level {lv!r}: the coefficient "
                          "diverges to -inf (SHR 0)")
            elif e_ref == 0:
                out[j] = (f"no events of cause {cause} in the reference level {levels[0]!r}: "
                          "the coefficient diverges to +inf; choose a reference level with "
                          "events (categorical:)")
    return out


def _infinite_note(x, coef, cause, name):
    """Why a numeric term flagged as diverging is not estimable."""
    side = "highest" if coef > 0 else "lowest"
    return (f"coefficient may be infinite (monotone pseudo-likelihood: each event of cause "
            f"{cause} has the {side} value of {name!r} among those at risk, given the other "
            "terms; too few events)")


def _times_text(uft, ks, cause):
    """The failure times ``uft[ks]`` in words ("the cause-1 event times 0 and 1, i.e.
    every one before 5")."""
    ts = [f"{t:g}" for t in uft[ks]]
    listed = ts[0] if len(ts) == 1 else (", ".join(ts[:-1]) + " and " + ts[-1]
                                         if len(ts) <= 4 else f"from {ts[0]} to {ts[-1]}")
    text = f"the cause-{cause} event time{'s' if len(ts) > 1 else ''} {listed}"
    contiguous = bool(np.all(np.diff(ks) == 1))
    if contiguous and ks[0] == 0 and ks[-1] < uft.size - 1:
        text += f", i.e. {'every one' if len(ts) > 1 else 'the only one'} before {uft[ks[-1] + 1]:g}"
    elif contiguous and ks[-1] == uft.size - 1 and ks[0] > 0:
        text += f", i.e. {'every one' if len(ts) > 1 else 'the only one'} after {uft[ks[0] - 1]:g}"
    return text


def _joint_notes(names, X_all, d, fit, t_event, x_event, cause, source, value_label, targets):
    """Reasons of terms that diverge together (``d`` != 0: the direction of
    :func:`_joint_divergence`): ``{column index: note}`` for the column indices
    ``targets`` (the terms of the set that no more specific reason explains).

    ``t_event`` and ``x_event`` are the times and design rows of the events of the
    cause; ``source[j]`` is the covariate behind term ``j`` (a column and its ``cov2``
    copy have the same); ``value_label(cov, v)`` names a value of the term's design
    column. When the terms are one two-valued covariate and its time-varying copies,
    the note names the value without events of the cause and the event times where it
    has none (e.g. "no events of cause 1 with male = 1 at the cause-1 event times from
    0 to 4"); else it names the terms and the combination along which the
    pseudo-likelihood keeps rising.
    """
    sel = np.flatnonzero(d != 0)
    if sel.size < 2:
        return {}
    targets = [j for j in targets if d[j] != 0]
    tnames = [names[j] for j in sel]
    p2 = 0 if fit.tfs is None else fit.tfs.shape[1]
    K = fit.uftime.size
    F = np.hstack([np.ones((K, d.size - p2)), fit.tfs]) if p2 else np.ones((K, d.size))
    reason = None
    x = X_all[:, sel[0]]
    vals = np.unique(x)
    if len({source[j] for j in sel}) == 1 and vals.size == 2 and \
            all(np.array_equal(X_all[:, j], x) for j in sel):
        cov = source[sel[0]]
        c = F[:, sel] @ d[sel]                  # the column's coefficient change per time
        tol = 1e-8 * np.abs(c).max()
        # at a failure time where c != 0 the value with the lower change of the linear
        # predictor has no events of the cause (that is why the likelihood keeps rising)
        low = np.where(c > tol, 0, np.where(c < -tol, 1, -1))
        k_ev = np.abs(fit.uftime[None, :] - np.asarray(t_event, float)[:, None]).argmin(axis=1)
        xe = np.asarray(x_event, float)[:, sel[0]]
        bits = []
        for side, v in enumerate(vals):
            ks = np.flatnonzero(low == side)
            if ks.size == 0:
                continue
            if np.any((xe == v) & np.isin(k_ev, ks)):
                bits = None                     # not this pattern: the generic note
                break
            bits.append(f"with {cov} = {value_label(cov, v)} at "
                        f"{_times_text(fit.uftime, ks, cause)}")
        if bits:
            reason = f"no events of cause {cause} " + " nor ".join(bits)
    out = {}
    for j in targets:
        together = " and ".join(repr(n) for n in tnames if n != names[j])
        if reason:
            out[j] = (f"coefficient may be infinite together with {together} (monotone "
                      f"pseudo-likelihood, the terms diverge together): {reason}")
        else:
            big = np.abs(d[sel]).max()
            combo = " ".join((("-" if d[k] < 0 else "") if i == 0 else
                              ("+ " if d[k] > 0 else "- ")) + f"{abs(d[k]) / big:.2g} {names[k]}"
                             for i, k in enumerate(sel))
            out[j] = (f"coefficient may be infinite together with {together} (monotone "
                      f"pseudo-likelihood: it keeps rising along {combo}; too few events)")
    return out


@dataclass(frozen=True, eq=False)
class FineGrayResult(TermsShape, Result):
    """Fine–Gray regression result (``kind = "finegray"``; the shared terms shape).

    Attributes
    ----------
    terms : DataFrame
        ``[term, level, coef, se, robust_se, estimate, lower, upper, statistic, p,
        estimable, note]``; ``estimate`` is the subdistribution hazard ratio
        exp(coef) with its Wald CI (``se`` is crr's sandwich SE; ``robust_se`` NaN).
        Not estimable (NaN, with the reason in ``note``): aliased / constant columns;
        a level of a categorical covariate, or a value of a two-valued numeric one,
        without events of the cause, and every contrast against a reference level
        without events (the coefficient diverges; crr returns a large finite value);
        other coefficients that may be infinite (monotone pseudo-likelihood), alone or
        together (a column and its ``cov2`` copy: each note names the others); and,
        when the fit did not converge, every term if none diverges, else the terms
        still moving (beside diverging terms the others are reported).
    tests : DataFrame ``[test, statistic, df, p]`` (likelihood ratio of the
        pseudo-likelihood, Wald).
    n, events, competing, censored : int
    loglik : tuple (null, final)
    converged : bool
    iterations : int
    cause : int
    conf_level : float
    reference_levels : dict
    fit : CrrFit
    """

    terms: pd.DataFrame
    tests: pd.DataFrame
    n: int
    events: int
    competing: int
    censored: int
    loglik: tuple
    converged: bool
    iterations: int
    cause: int
    conf_level: float
    reference_levels: dict
    _fit: CrrFit
    _design_levels: dict
    _covariates: tuple
    _categorical: dict
    _cov2: tuple = ()
    _cov2_levels: dict = field(default_factory=dict)
    tf: tuple = ()
    cengroup: str = None

    kind = "finegray"
    scale = "SHR"
    variance = "model"  # crr's own (sandwich) variance is its model variance

    @property
    def fit(self) -> CrrFit:
        return self._fit

    @property
    def title(self) -> str:
        return f"Fine-Gray subdistribution hazard regression, cause {self.cause}"

    @property
    def choices(self) -> dict:
        return {"cause": self.cause, "conf_level": self.conf_level,
                "ties": "Breslow (as cmprsk::crr)",
                "censoring weights": "Kaplan-Meier of censoring, G(t-)" + (
                    f", within each level of {self.cengroup!r}" if self.cengroup else ""),
                "variance": "Fine-Gray sandwich (cmprsk::crr)",
                "reference_levels": dict(self.reference_levels),
                "converged": self.converged,
                "cov2": {c: f for c, f in zip(self._cov2, self.tf)} or None,
                "cengroup": self.cengroup}

    @property
    def tables(self) -> dict:
        return {"terms": self.terms, "tests": self.tests}

    def predict(self, profiles, times=None) -> pd.DataFrame:
        """Predicted cumulative incidence of the cause for covariate profiles.

        Parameters
        ----------
        profiles : DataFrame or dict or list of dicts
            One row per profile with the original covariate columns (categorical
            columns as labels).
        times : array_like, optional
            Times to evaluate (step function, 0 before the first failure time);
            default the distinct failure times (``predict.crr``).
            With ``cov2`` the profile also gives the ``cov2`` columns and the
            prediction uses their time functions at each failure time
            (``predict.crr(fit, cov1, cov2)``).

        Returns
        -------
        DataFrame ``[profile, time, estimate]`` (``profile`` = row position).
        """
        if isinstance(profiles, dict):
            profiles = pd.DataFrame([profiles])
        elif isinstance(profiles, list):
            profiles = pd.DataFrame(profiles)
        if not isinstance(profiles, pd.DataFrame):
            raise InputError("profiles must be a DataFrame, a dict or a list of dicts")
        check_columns(profiles, list(self._covariates) + list(self._cov2), "profile column")
        cols = []
        specs = [(c, self._design_levels) for c in self._covariates] + \
            [(c, self._cov2_levels) for c in self._cov2]
        for cov, lvmap in specs:
            s = profiles[cov]
            if cov in lvmap:
                levels = lvmap[cov]
                bad = [v for v in s if not any(v == lv or str(v) == str(lv) for lv in levels)]
                if bad:
                    raise InputError(f"profile values {bad} of {cov!r} are not levels {list(levels)}")
                for lv in levels[1:]:
                    cols.append(np.array([1.0 if (v == lv or str(v) == str(lv)) else 0.0 for v in s]))
            else:
                x = pd.to_numeric(s, errors="coerce").to_numpy(dtype=float)
                if not np.all(np.isfinite(x)):
                    raise InputError(f"profile column {cov!r} must be numeric and finite")
                cols.append(x)
        Z = np.column_stack(cols)
        t = self._fit.uftime if times is None else np.asarray(times, dtype=float).ravel()
        est = self._fit.predict(Z, None if times is None else t)
        k = Z.shape[0]
        return pd.DataFrame({"profile": np.repeat(np.arange(k), t.size),
                             "time": np.tile(t, k),
                             "estimate": est.T.ravel()})


def fine_gray(data, *, time, code, covariates, cause=1, categorical=None,
              conf_level=0.95, max_iter=10, gtol=1e-6, cov2=None, tf=None,
              cengroup=None) -> FineGrayResult:
    """Fine–Gray subdistribution hazard regression (``cmprsk::crr``).

    Parameters
    ----------
    data : DataFrame
    time, code : str
        Columns of follow-up time and event code (0 = censored, 1, 2, ... = cause).
    covariates : str or sequence of str
        One column name or a list of them.
    cause : int
        Cause of interest (crr ``failcode``).
    categorical : dict or sequence of str, optional
        ``{column: reference level}``, or columns to treat as categorical with their
        first level as reference; non-numeric columns not listed use their
        first level (see :mod:`aplcohort.stats._design`).  Terms are named as R's
        ``model.matrix`` (``"sexM"``).
    conf_level : float
    max_iter, gtol : as crr ``maxiter``, ``gtol``.
    cov2 : sequence of str, optional
        Columns whose coefficient varies with time as ``beta * tf(t)`` (crr
        ``cov2``); terms are named ``"column*tf"`` (e.g. ``"age*log(t)"``) and
        follow the ``covariates`` terms. A column may be in both (a
        proportional-hazards test of that column).
    tf : str or sequence of str, optional
        Time function(s) of ``cov2`` by name: ``"identity"``, ``"log"``,
        ``"step(t0)"`` (see :func:`time_function`); one name for all columns or
        one per column. Required with ``cov2``.
    cengroup : str, optional
        Column of censoring groups (crr ``cengroup``): the censoring
        distribution is estimated within each group. A column name, as ``time`` and
        ``code`` (an array is refused: add it as a column first).

    Returns
    -------
    FineGrayResult
        ``.terms`` in the shared terms shape (``estimate`` = SHR),
        ``.predict(profiles, times)``.

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"t": [1, 2, 3, 4, 5, 6, 7, 8], "c": [1, 2, 1, 0, 1, 2, 1, 0],
    ...                   "arm": ["a", "b", "a", "b", "b", "a", "a", "b"]})
    >>> fine_gray(d, time="t", code="c", covariates=["arm"]).terms.term.tolist()
    ['armb']

    Validated against: ``cmprsk::crr`` and ``predict.crr`` on
    ``survival::mgus2`` and a simulated cohort with ties and factors (rtol 1e-5).
    """
    if not (isinstance(conf_level, (int, float)) and 0 < conf_level < 1):
        raise InputError(f"conf_level must be strictly between 0 and 1, got {conf_level!r}")
    max_iter = check_int("max_iter", max_iter, minimum=1)
    time, code = column_arg(time, "time", optional=False), column_arg(code, "code", optional=False)
    cengroup = column_arg(cengroup, "cengroup")
    check_columns(data, [time, code], "column")
    covariates = as_columns(covariates, "covariates")
    categorical = as_categorical(categorical)
    cov2 = as_columns(cov2, "cov2")
    if not covariates and not cov2:
        raise InputError("covariates (or cov2) must name at least one column")
    design = build_design(data, covariates, categorical)
    X2 = None
    tf_names = ()
    names2 = []
    levels2 = []
    cov2_levels = {}
    if cov2:
        if tf is None:
            raise InputError(f"cov2 needs tf (a time function per column: {list(TIME_FUNCTIONS)})")
        d2 = build_design(data, cov2, {k: v for k, v in categorical.items() if k in cov2})
        tf_cols = [tf] * len(cov2) if isinstance(tf, str) else list(tf)
        if len(tf_cols) != len(cov2):
            raise InputError(f"tf gives {len(tf_cols)} function(s) for {len(cov2)} cov2 column(s)")
        tf_names = tuple(tf_cols)
        per_col = []
        for cov, f in zip(cov2, tf_cols):
            per_col += [f] * len(d2.assign[cov])
        labels = [time_function(f)[1] for f in per_col]
        names2 = [f"{nm}*{lab}" for nm, lab in zip(d2.names, labels)]
        levels2 = term_levels(d2)
        X2 = d2.X
        tf = per_col
        cov2_levels = {k: v for k, v in d2.levels.items() if k in d2.reference_levels}
    elif tf is not None:
        raise InputError("tf is the time function of cov2 columns; give cov2 too")
    cg = None
    if cengroup is not None:
        check_columns(data, [cengroup], "column")
        cg = data[cengroup].to_numpy(dtype=object)
    fit = crr_fit(data[time].to_numpy(), data[code].to_numpy(), design.X, cause=cause,
                  max_iter=max_iter, gtol=gtol, cov2=X2, tf=tf if cov2 else None, cengroup=cg)
    names = list(design.names) + names2
    se = np.sqrt(np.diag(fit.var))
    notes = [fit.alias_notes.get(j, "") for j in range(len(names))]
    for j, nt in list(enumerate(notes)):
        for k in range(len(names) - 1, -1, -1):  # x10 before x1
            nt = nt.replace(f"'x{k + 1}'", repr(names[k]))
        notes[j] = nt
    infinite = fit.infinite if fit.infinite is not None else np.zeros(len(names), bool)
    aliased = fit.aliased
    # Not estimable, most specific reason first (aliasing keeps its note): a level without
    # events of the cause (as the cause-specific Cox, where R flags these coefficients as
    # infinite; crr gives no flag), a coefficient that still diverges, and -- when the fit
    # did not converge and no diverging term explains it -- every term (no maximum of the
    # pseudo-likelihood was found). With diverging terms crr stops before its convergence
    # rule holds (a coefficient at -12 still moves); the other terms are then reported, as R
    # reports the finite coefficients beside an infinite one, and `converged` is False.
    X_all = design.X if X2 is None else np.hstack([design.X, X2])
    ev = np.asarray(pd.to_numeric(data[code], errors="coerce")) == cause
    levels_of = {cov: (idx, design.levels.get(cov)) for cov, idx in design.assign.items()}
    if cov2:
        off = design.X.shape[1]
        levels_of.update({f"{cov}*": (tuple(off + j for j in idx), d2.levels.get(cov))
                          for cov, idx in d2.assign.items()})
    no_events = _level_notes(names, X_all, levels_of, ev, cause)
    level_of = term_levels(design) + levels2
    joint = {}
    if fit.diverge_dir is not None:
        source = [cov for cov, idx in design.assign.items() for _ in idx]
        if cov2:
            source += [cov for cov, idx in d2.assign.items() for _ in idx]
        all_levels = {**design.levels, **(d2.levels if cov2 else {})}

        def value_label(cov, v):
            lv = all_levels.get(cov)
            if lv is not None and len(lv) == 2:   # a two-level factor's indicator
                return str(lv[int(v)])
            return f"{v:g}"

        ev_rows = np.flatnonzero(ev)
        alone = fit.diverge_alone if fit.diverge_alone is not None else \
            np.zeros(len(names), bool)
        targets = [j for j in range(len(names))
                   if not aliased[j] and not alone[j] and j not in no_events]
        joint = _joint_notes(names, X_all, fit.diverge_dir, fit,
                             data[time].to_numpy(dtype=float)[ev_rows], X_all[ev_rows],
                             cause, source, value_label, targets)
    diverging = np.zeros(len(names), bool)
    for j in range(len(names)):
        if aliased[j]:
            continue
        if j in no_events:
            notes[j] = no_events[j]
            diverging[j] = True
        elif j in joint and infinite[j]:
            notes[j] = joint[j]
            diverging[j] = True
        elif infinite[j]:
            notes[j] = NOTE_INFINITE_FG if level_of[j] is not None else \
                _infinite_note(X_all[:, j], fit.coef[j], cause, names[j])
            diverging[j] = True
    ok = ~aliased & ~diverging
    if not fit.converged and diverging.any() and fit.moving is not None:
        # beside diverging terms the others are reported when they no longer move (the
        # rule of cox_fit when the iterations run out); one still moving is not estimable
        for j in np.flatnonzero(ok & fit.moving):
            notes[j] = (f"the Fine-Gray fit stopped after {fit.iterations} iterations (max_iter) "
                        "with this coefficient still moving beside the diverging term(s) "
                        f"{[names[k] for k in np.flatnonzero(diverging)]}: {FG_MOVING_HINT}")
            ok[j] = False
    if not fit.converged and not diverging.any():
        for j in np.flatnonzero(ok):
            notes[j] = (f"the Fine-Gray fit did not converge in {fit.iterations} iterations "
                        f"(max |score| = {np.max(np.abs(fit.score)):.3g}): no maximum of the "
                        "pseudo-likelihood was found")
        ok[:] = False
    terms = terms_frame(names, fit.coef, se, conf_level=conf_level,
                        levels=level_of, estimable=ok, notes=notes)
    if diverging.any():
        warnings.warn(f"Fine-Gray: the coefficient of {[names[j] for j in np.flatnonzero(diverging)]} "
                      "may be infinite (a level without events of the cause, or a monotone "
                      "pseudo-likelihood); it is reported as not estimable", SeparationWarning,
                      stacklevel=2)
    p = int((~aliased).sum())
    lr = 2 * (fit.loglik - fit.loglik_null)
    keep = ~fit.aliased
    wald = float(fit.coef[keep] @ np.linalg.solve(fit.var[np.ix_(keep, keep)], fit.coef[keep]))
    tests = pd.DataFrame({"test": ["pseudo likelihood ratio", "wald"], "statistic": [lr, wald],
                          "df": [p, p], "p": [_st.chi2.sf(lr, p), _st.chi2.sf(wald, p)]})
    cat_levels = {k: v for k, v in design.levels.items() if k in design.reference_levels}
    return FineGrayResult(terms=terms, tests=tests, n=fit.n, events=fit.events,
                          competing=fit.competing, censored=fit.censored,
                          loglik=(fit.loglik_null, fit.loglik), converged=fit.converged,
                          iterations=fit.iterations, cause=int(cause),
                          conf_level=float(conf_level),
                          reference_levels=dict(design.reference_levels), _fit=fit,
                          _design_levels=cat_levels, _covariates=tuple(covariates),
                          _categorical=categorical, _cov2=tuple(cov2),
                          _cov2_levels=cov2_levels, tf=tf_names, cengroup=cengroup)
