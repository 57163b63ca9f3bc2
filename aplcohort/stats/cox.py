"""Cox proportional-hazards regression that reproduces R ``survival::coxph``.

Array level
    :func:`cox_fit` -- Newton-Raphson fit on a numeric matrix (right-censored or
    counting-process ``(entry, time]`` data, strata, case weights, Efron or
    Breslow ties, robust / cluster sandwich variance).
pandas front-ends
    :func:`coxph` -> :class:`CoxResult`;
    :func:`univariable_multivariable` -> :class:`UniMultiResult`.

Conventions (all as R ``coxph`` with its defaults):

* ties ``"efron"`` (default) or ``"breslow"``;
* iteration as ``coxph.control()``: at most 20 iterations, convergence when
  ``|1 - loglik_old / loglik_new| <= 1e-9``, step-halving whenever the
  log-likelihood decreases;
* ``robust=True``: variance ``D'D`` with ``D`` the weighted dfbeta residuals
  collapsed by ``cluster`` (one row per subject when no cluster is given); giving
  ``cluster`` implies ``robust=True``.  The Wald test, z, p and the HR CI then use
  the robust variance and a robust score test is added, as R does;
* an infinite coefficient is detected with R's rule (the next Newton step is
  still large relative to the coefficient when the log-likelihood has
  converged; unlike R, also when the iterations run out, as they do when the
  likelihood tends to 0, e.g. one event with the highest covariate value) and reported with a :class:`~aplcohort.errors.SeparationWarning`
  naming the term; its coefficient is kept and flagged in the ``terms`` table's
  ``separation`` choice -- Firth's penalised likelihood
  (:func:`aplcohort.stats.firth.firth_coxph`) is the remedy.

Term names follow R (``"sexF"`` for level ``F`` of ``sex``); see
:mod:`aplcohort.stats._design`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .._results import Result
from ..errors import ConvergenceWarning, InputError, SeparationWarning, StatisticalWarning
from .._checks import check_bool, check_int
from ._design import (as_categorical, as_columns, build_design, check_columns, check_complete,
                      column_arg)
from ._coxcore import RiskSetKernel, distinct_intervals, distinct_times
from ._aeq import AEQ_TOLERANCE, aeq_outcome, aeq_times
from ._coxexact import ExactKernel
from .outcome import Outcome
from .shapes import (CONVERGENCE_ADVICE, MAX_ITER_HINT, NOTE_INFINITE, SEPARATION_ADVICE,
                     SEPARATION_CHOICE_HINT, TERM_COLUMNS, TermsShape, term_levels, z_value)

__all__ = ["cox_fit", "CoxFit", "coxph", "CoxResult", "univariable_multivariable",
           "UniMultiResult"]

_TERM_COLUMNS = TERM_COLUMNS
_TEST_COLUMNS = ["test", "statistic", "df", "p"]


# --------------------------------------------------------------------------------------
# risk-set machinery
# --------------------------------------------------------------------------------------
class _Stratum:
    """Pre-sorted bookkeeping of one stratum (independent of beta)."""

    def __init__(self, idx, time, event, entry, ties):
        self.idx = idx
        t = time[idx]
        e = event[idx]
        self.time = t
        self.entry = None if entry is None else entry[idx]
        self.ord_stop = np.argsort(t, kind="stable")
        self.stop_sorted = t[self.ord_stop]
        if self.entry is not None:
            self.ord_entry = np.argsort(self.entry, kind="stable")
            self.entry_sorted = self.entry[self.ord_entry]
        dead = np.flatnonzero(e == 1)
        self.dead = dead  # positions within the stratum
        self.tau, self.dead_j, d = np.unique(t[dead], return_inverse=True, return_counts=True)
        self.d = d
        J = len(self.tau)
        # rows (j, k) of the Efron expansion: k = 0..d_j-1
        self.row_j = np.repeat(np.arange(J), d)
        if ties == "efron":
            starts = np.cumsum(d) - d
            self.frac = (np.arange(d.sum()) - np.repeat(starts, d)) / np.repeat(d, d)
        else:
            self.frac = np.zeros(int(d.sum()))
        # positions (within stratum) of the risk-set boundaries
        self.n_stop_lt = np.searchsorted(self.stop_sorted, self.tau, side="left")
        if self.entry is not None:
            self.n_entry_lt = np.searchsorted(self.entry_sorted, self.tau, side="left")
        # for residuals: event times within (entry_i, stop_i]
        self.j_stop = np.searchsorted(self.tau, t, side="right")
        self.j_entry = (np.searchsorted(self.tau, self.entry, side="right")
                        if self.entry is not None else np.zeros(len(t), dtype=int))


def _revcum(a):
    """Reverse cumulative sum along axis 0 with a trailing zero row."""
    out = np.zeros((a.shape[0] + 1,) + a.shape[1:])
    out[:-1] = np.cumsum(a[::-1], axis=0)[::-1]
    return out


def _risk_sums(st: _Stratum, v):
    """Sum of ``v`` (rows of the stratum) over the risk set at each event time."""
    A = _revcum(v[st.ord_stop])[st.n_stop_lt]
    if st.entry is None:
        return A
    return A - _revcum(v[st.ord_entry])[st.n_entry_lt]


def _bucket_outer(bucket, wts, X, J, block=1 << 16):
    """``sum_i wts_i x_i x_i'`` for each bucket 0..J-1 (J, p, p), over row blocks sorted by
    bucket (no (n, p, p) array); rows with a bucket outside 0..J-1 are left out."""
    p = X.shape[1]
    out = np.zeros((J, p * p))
    keep = np.flatnonzero((bucket >= 0) & (bucket < J))
    o = keep[np.argsort(bucket[keep], kind="stable")]
    b = bucket[o]
    for s in range(0, o.size, block):
        idx, bb = o[s:s + block], b[s:s + block]
        Xb = X[idx]
        prod = ((wts[idx][:, None] * Xb)[:, :, None] * Xb[:, None, :]).reshape(-1, p * p)
        starts = np.flatnonzero(np.r_[True, bb[1:] != bb[:-1]])
        out[bb[starts]] += np.add.reduceat(prod, starts, axis=0)
    return out.reshape(J, p, p)


def _risk_outer(st: _Stratum, r, Xs, J):
    """``_risk_sums(st, r x x')`` at the J event times, from row blocks: a row is in the
    risk sets ``j_entry <= j < j_stop``, so the sums are reverse cumulative sums over
    the buckets ``j_stop - 1`` minus those over ``j_entry - 1``."""
    def rc(a):
        return np.cumsum(a[::-1], axis=0)[::-1]
    out = rc(_bucket_outer(st.j_stop - 1, r, Xs, J))
    if st.entry is not None:
        out = out - rc(_bucket_outer(st.j_entry - 1, r, Xs, J))
    return out


class _LazyEngine:
    """Builds the per-row :class:`_Engine` only when residuals / event terms are needed
    (robust variance, cox.zph); the fit itself runs on :class:`~._coxcore.RiskSetKernel`."""

    def __init__(self, *args):
        self._args = args
        self._eng = None

    def __getattr__(self, name):
        if name.startswith("__") or name in ("_args", "_eng"):
            raise AttributeError(name)
        if self._eng is None:
            self._eng = _Engine(*self._args)
        return getattr(self._eng, name)


class _Engine:
    """Per-row Cox quantities: Schoenfeld / score residuals and per-event-time terms
    (cox.zph, robust variance, Firth); the likelihood, score and information of the
    fit come from :class:`~._coxcore.RiskSetKernel`."""

    def __init__(self, X, time, event, entry, strata, weights, ties):
        self.X = X
        self.n, self.p = X.shape
        self.w = weights
        self.event = event
        self.ties = ties
        self.strata = []
        codes = np.zeros(self.n, dtype=int) if strata is None else strata
        for s in np.unique(codes):
            idx = np.flatnonzero(codes == s)
            self.strata.append(_Stratum(idx, time, event, entry, ties))

    def _stratum_terms(self, st, eta_s, r, Xs, moments=2):
        """Per Efron row: den, mean, second moment (all scaled by exp(-c)).

        ``moments`` = the highest moment wanted: 0 (den only; ``m`` and ``s2`` are None),
        1 (and the mean) or 2. The (n, p, p) second-moment sums are the largest arrays of
        the engine, so the callers that do not use them (martingale and score residuals,
        hence the robust variance) do not build them; what is built is computed as before.
        """
        p = self.p
        J = len(st.tau)
        jj, fr = st.row_j, st.frac
        S0 = _risk_sums(st, r)
        dr = r[st.dead]
        S0D = np.bincount(st.dead_j, weights=dr, minlength=J)
        den = S0[jj] - fr * S0D[jj]
        W = np.bincount(st.dead_j, weights=self.w[st.idx][st.dead], minlength=J)
        meanwt = (W / st.d)[jj]
        m = s2 = None
        if moments >= 1:
            rX = r[:, None] * Xs
            S1 = _risk_sums(st, rX)
            S1D = np.zeros((J, p))
            np.add.at(S1D, st.dead_j, rX[st.dead])
            m = (S1[jj] - fr[:, None] * S1D[jj]) / den[:, None]
        if moments >= 2:
            S2 = _risk_sums(st, rX[:, :, None] * Xs[:, None, :])
            S2D = np.zeros((J, p, p))
            np.add.at(S2D, st.dead_j, (rX[st.dead])[:, :, None] * Xs[st.dead][:, None, :])
            s2 = (S2[jj] - fr[:, None, None] * S2D[jj]) / den[:, None, None]
        return den, m, s2, meanwt

    def stats(self, beta, need_info=True):
        X, w = self.X, self.w
        eta = X @ beta
        ll = 0.0
        U = np.zeros(self.p)
        Imat = np.zeros((self.p, self.p))
        for st in self.strata:
            if len(st.tau) == 0:
                continue
            eta_s = eta[st.idx]
            c = eta_s.max()
            r = w[st.idx] * np.exp(eta_s - c)
            Xs = X[st.idx]
            den, m, s2, meanwt = self._stratum_terms(st, eta_s, r, Xs, 2 if need_info else 1)
            wd = w[st.idx][st.dead]
            ll += np.sum(wd * (eta_s[st.dead] - c)) - np.sum(meanwt * np.log(den))
            U += wd @ Xs[st.dead] - meanwt @ m
            if need_info:
                Imat += np.einsum("r,rab->ab", meanwt, s2) - np.einsum("r,ra,rb->ab", meanwt, m, m)
        return ll, U, Imat

    def event_terms(self, beta):
        """Per distinct event time (all strata): Schoenfeld sums, information.

        Returns (stratum index, tau, schoen (J, p), V (J, p, p)) with
        ``schoen_j = sum_dead w x - sum_k meanwt m_k`` and
        ``V_j = sum_k meanwt (s2_k - m_k m_k')``.
        """
        eta = self.X @ beta
        out_s, out_t, out_u, out_v = [], [], [], []
        for si, st in enumerate(self.strata):
            J = len(st.tau)
            if J == 0:
                continue
            eta_s = eta[st.idx]
            r = self.w[st.idx] * np.exp(eta_s - eta_s.max())
            Xs = self.X[st.idx]
            den, m, _s2, meanwt = self._stratum_terms(st, eta_s, r, Xs, moments=1)
            wd = self.w[st.idx][st.dead]
            u = np.zeros((J, self.p))
            np.add.at(u, st.dead_j, wd[:, None] * Xs[st.dead])
            np.add.at(u, st.row_j, -meanwt[:, None] * m)
            # v_j = sum_k meanwt_k (s2_k - m_k m_k') with s2_k = (S2_j - frac_k S2D_j) / den_k
            #     = alpha_j S2_j - beta_j S2D_j - sum_k meanwt_k m_k m_k',
            # the second-moment sums taken per event time from row blocks (no (n, p, p))
            a = meanwt / den
            alpha = np.bincount(st.row_j, weights=a, minlength=J)
            beta = np.bincount(st.row_j, weights=a * st.frac, minlength=J)
            S2 = _risk_outer(st, r, Xs, J)
            S2D = _bucket_outer(st.dead_j, r[st.dead], Xs[st.dead], J)
            v = (alpha[:, None, None] * S2 - beta[:, None, None] * S2D
                 - _bucket_outer(st.row_j, meanwt, m, J))
            out_s.append(np.full(J, si))
            out_t.append(st.tau)
            out_u.append(u)
            out_v.append(v)
        if not out_t:
            return (np.zeros(0, int), np.zeros(0), np.zeros((0, self.p)),
                    np.zeros((0, self.p, self.p)))
        return (np.concatenate(out_s), np.concatenate(out_t), np.concatenate(out_u),
                np.concatenate(out_v))

    def score_residuals(self, beta):
        """Unweighted score residuals (R ``residuals(fit, "score")``), shape (n, p)."""
        X = self.X
        eta = X @ beta
        res = np.zeros((self.n, self.p))
        for st in self.strata:
            Xs = X[st.idx]
            if len(st.tau) == 0:
                continue
            eta_s = eta[st.idx]
            c = eta_s.max()
            risk = np.exp(eta_s - c)
            r = self.w[st.idx] * risk
            den, m, _s2, meanwt = self._stratum_terms(st, eta_s, r, Xs, moments=1)
            J = len(st.tau)
            a = meanwt / den
            ea = (1.0 - st.frac) * a
            haz = np.bincount(st.row_j, weights=a, minlength=J)
            ehaz = np.bincount(st.row_j, weights=ea, minlength=J)
            xhaz = np.zeros((J, self.p))
            exhaz = np.zeros((J, self.p))
            np.add.at(xhaz, st.row_j, a[:, None] * m)
            np.add.at(exhaz, st.row_j, ea[:, None] * m)
            mbar = np.zeros((J, self.p))
            np.add.at(mbar, st.row_j, m)
            mbar /= st.d[:, None]
            cH = np.concatenate([[0.0], np.cumsum(haz)])
            cXH = np.vstack([np.zeros((1, self.p)), np.cumsum(xhaz, axis=0)])
            H = cH[st.j_stop] - cH[st.j_entry]
            XH = cXH[st.j_stop] - cXH[st.j_entry]
            rs = -risk[:, None] * (Xs * H[:, None] - XH)
            dj = st.dead_j
            xd = Xs[st.dead]
            rd = risk[st.dead][:, None]
            # deaths: own event time uses the Efron-weighted hazard, plus the event term
            rs[st.dead] += rd * (xd * haz[dj][:, None] - xhaz[dj])
            rs[st.dead] -= rd * (xd * ehaz[dj][:, None] - exhaz[dj])
            rs[st.dead] += xd - mbar[dj]
            res[st.idx] = rs
        return res


# --------------------------------------------------------------------------------------
# array-level fit
# --------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class CoxFit:
    """Array-level result of :func:`cox_fit`.

    Attributes
    ----------
    coef : ndarray (p,)
    var : ndarray (p, p)
        Model-based (inverse information) variance.
    robust_var : ndarray (p, p) or None
        Sandwich variance (when ``robust``).
    loglik : tuple (initial, final)
        Log partial likelihood at ``init`` (the null model when init is 0) and at
        the estimate.
    score : ndarray (p,)
        Score vector at the estimate.
    score_test, wald_test, lr_test : float
        As R's ``fit$score``, ``fit$wald.test`` (robust variance when robust) and
        ``2 * diff(loglik)``.
    robust_score_test : float or None
        R's ``fit$rscore``.
    n_iter : int
    converged : bool
    infinite : ndarray of bool (p,)
        R's infinite-coefficient flag (monotone likelihood).
    n, n_events : int ; events_weighted : float
    aliased : ndarray of bool (p,)
        Columns with no information or aliased with earlier ones: ``coef`` NaN and
        zero rows / columns of ``var`` (as R ``coxph``); ``alias_notes`` says why.
    """

    coef: np.ndarray
    var: np.ndarray
    robust_var: np.ndarray | None
    loglik: tuple
    score: np.ndarray
    score_test: float
    wald_test: float
    lr_test: float
    robust_score_test: float | None
    n_iter: int
    converged: bool
    infinite: np.ndarray
    n: int
    n_events: int
    ties: str
    _engine: object = field(default=None, repr=False)
    aliased: np.ndarray = None
    alias_notes: dict = field(default_factory=dict)

    @property
    def df(self) -> int:
        """Number of estimated coefficients (R ``sum(!is.na(coef))``)."""
        return int(len(self.coef) - (0 if self.aliased is None else self.aliased.sum()))


def _expand_fit(fit, sing, notes, p):
    """Full-length CoxFit from a fit on the non-singular columns (R's NA layout)."""
    keep = np.flatnonzero(~sing)

    def vec(v, fill):
        out = np.full(p, fill, dtype=float)
        out[keep] = v
        return out

    def mat(m):
        if m is None:
            return None
        out = np.zeros((p, p))
        out[np.ix_(keep, keep)] = m
        return out

    inf = np.zeros(p, dtype=bool)
    inf[keep] = fit.infinite
    return CoxFit(vec(fit.coef, np.nan), mat(fit.var), mat(fit.robust_var), fit.loglik,
                  vec(fit.score, 0.0), fit.score_test, fit.wald_test, fit.lr_test,
                  fit.robust_score_test, fit.n_iter, fit.converged, inf, fit.n, fit.n_events,
                  fit.ties, fit._engine, sing.copy(), dict(notes))


def singular_columns(info, toler=np.finfo(float).eps ** 0.75):
    """Columns R's ``cholesky2`` declares singular (coef NA in R ``coxph``).

    Pivots are taken in column order; a pivot below ``toler * max(diag)`` is
    singular (R ``coxph.control(toler.chol = .Machine$double.eps^.75)``), so of
    two aliased columns the later one is dropped, as R does.
    """
    A = np.array(info, dtype=float, copy=True)
    n = A.shape[0]
    mx = np.max(np.diag(A)) if n else 0.0
    eps = toler if not mx > 0 else mx * toler
    sing = np.zeros(n, dtype=bool)
    try:  # fast path: the pivots of a successful Cholesky are diag(L)^2
        L = np.linalg.cholesky(A)
        if np.all(np.diag(L) ** 2 >= eps):
            return sing
    except np.linalg.LinAlgError:
        pass
    for i in range(n):
        piv = A[i, i]
        if not np.isfinite(piv) or piv < eps:
            sing[i] = True
            continue
        col = A[i + 1:, i] / piv
        A[i + 1:, i + 1:] -= np.outer(col, A[i, i + 1:])
    return sing


def alias_notes(X, sing, names, strata=None, weights=None):
    """Reason text for each singular column (R only says NA; we say why)."""
    X = np.asarray(X, float)
    w = np.ones(X.shape[0]) if weights is None else np.asarray(weights, float)
    keep = np.flatnonzero(~sing)
    notes = {}
    for j in np.flatnonzero(sing):
        x = X[:, j]
        if np.ptp(x) == 0:
            notes[j] = "no information (constant column)"
            continue
        if strata is not None:
            sc = pd.factorize(pd.Series(np.asarray(strata, dtype=object)))[0]
            if all(np.ptp(x[sc == k]) == 0 for k in np.unique(sc)):
                notes[j] = "no information (constant within every stratum)"
                continue
        sw = np.sqrt(w)
        xc = (x - (w @ x) / w.sum()) * sw
        A = (X[:, keep] - (w @ X[:, keep]) / w.sum()) * sw[:, None] if keep.size else \
            np.zeros((X.shape[0], 0))
        if keep.size:
            b, *_ = np.linalg.lstsq(A, xc, rcond=None)
            resid = xc - A @ b
        else:
            b, resid = np.zeros(0), xc
        if np.linalg.norm(resid) <= 1e-7 * max(np.linalg.norm(xc), 1e-300):
            scale = np.abs(b) * np.linalg.norm(A, axis=0)
            used = [names[keep[k]] for k in np.flatnonzero(scale > 1e-8 * np.linalg.norm(xc))]
            notes[j] = "aliased with " + ", ".join(map(repr, used)) + \
                " (a linear combination of them)"
        else:
            notes[j] = "no information (does not vary within the risk sets at event times)"
    return notes


def _solve_psd(A, b):
    try:
        L = np.linalg.cholesky(A)
    except np.linalg.LinAlgError:
        return np.linalg.lstsq(A, b, rcond=None)[0]
    y = np.linalg.solve(L, b)
    return np.linalg.solve(L.T, y)


def _inv(A):
    try:
        return np.linalg.inv(A)
    except np.linalg.LinAlgError:
        return np.linalg.pinv(A)


def _quad(A, u):
    """u' A^{-1} u."""
    if len(u) == 0:
        return 0.0
    return float(u @ _solve_psd(A, u))


def _may_tie(ut):
    """Whether R's timefix (aeqSurv) could merge two of the sorted distinct times ``ut``.

    aeqSurv ties two neighbours when their gap is <= tol or <= tol * mean|t|; a
    smallest gap above tol * max(1, max|t|) (>= both bounds) ties nothing, so the
    merge is skipped (whole-day times: always).
    """
    return ut.size > 1 and not (np.diff(ut).min() > 1.001 * AEQ_TOLERANCE * max(
        1.0, abs(ut[0]), abs(ut[-1])))


def _prepare(X, time, event, entry, strata, weights, cluster, distinct=None):
    """Checked arrays of a Cox fit.

    ``distinct``: a list that receives ``(values, inverse)`` of the (merged) stop
    times of right-censored data, or ``(values, stop rank, entry rank)`` of the
    (merged) times of (entry, stop] data, so the kernel does not compute them again.
    """
    X = np.asarray(X, dtype=float)
    if X.ndim == 1:
        X = X[:, None]
    if X.ndim != 2:
        raise InputError(f"X must be a 2-D array (n, p); got shape {X.shape}")
    if entry is None:
        out = Outcome.right(time, event)
        # R coxph timefix (stats/_aeq.py) applied to the distinct times: aeqSurv's
        # grid is built from the sorted distinct values, so merging them and mapping
        # back gives the same times as merging every row, without a sort of n values
        ut, inv = distinct_times(out.time)
        ut2 = ut
        if _may_tie(ut):
            ut2, _ = aeq_times(ut)
        if ut2 is not ut:
            out = Outcome(ut2[inv], out.event, None, out.type)
            ut, m = np.unique(ut2, return_inverse=True)
            inv = m[inv]
        if distinct is not None:
            distinct.append((ut, inv))
    else:
        out = Outcome.counting(entry, time, event)
        # the distinct times of both columns, by a counting pass for whole-number times
        # (a sort of 2 n values was the part of a (start, stop] fit that grew faster
        # than n); R coxph timefix (stats/_aeq.py) runs only when two distinct times
        # are close enough to be merged, on all rows as before (rare: never for days)
        dist = distinct_intervals(out.start, out.time)
        if _may_tie(dist[0]):
            oc = aeq_outcome(out)   # near-tied times merged
            if oc is not out:
                out = oc
                dist = distinct_intervals(out.start, out.time)
        if distinct is not None:
            distinct.append(dist)
    entry_a = out.start
    n = out.n
    if X.shape[0] != n:
        raise InputError(f"X has {X.shape[0]} rows but the outcome has {n}")
    if not np.all(np.isfinite(X)):
        bad = np.flatnonzero(~np.isfinite(X).all(axis=1))[:20].tolist()
        raise InputError(f"X has missing or non-finite values in rows {bad}")
    if weights is None:
        w = np.ones(n)
    else:
        w = np.asarray(weights, dtype=float)
        if w.shape != (n,) or not np.all(np.isfinite(w)) or np.any(w <= 0):
            raise InputError("weights must be a 1-D array of finite positive numbers, one per row")
    scode = None
    if strata is not None:
        s = pd.Series(np.asarray(strata, dtype=object) if not isinstance(strata, pd.Series)
                      else strata.to_numpy())
        if len(s) != n:
            raise InputError(f"strata has {len(s)} values for {n} rows")
        if s.isna().any():
            raise InputError(f"strata has missing values at rows {np.flatnonzero(s.isna())[:20].tolist()}")
        scode = pd.factorize(s, sort=True)[0]
    ccode = None
    if cluster is not None:
        c = pd.Series(np.asarray(cluster, dtype=object) if not isinstance(cluster, pd.Series)
                      else cluster.to_numpy())
        if len(c) != n:
            raise InputError(f"cluster has {len(c)} values for {n} rows")
        if c.isna().any():
            raise InputError(f"cluster has missing values at rows {np.flatnonzero(c.isna())[:20].tolist()}")
        ccode = pd.factorize(c, sort=True)[0]
    return X, out.time, out.event.astype(int), entry_a, scode, w, ccode


def _check_exact(w, robust, cluster):
    """R coxph(ties="exact") has no case weights and no score residuals (so no robust SE)."""
    if np.any(w != 1):
        raise InputError("case weights are not supported with ties='exact' (R coxph stops: "
                         "'Case weights are not supported for the exact method'); use "
                         "ties='efron'")
    if robust or cluster is not None:
        raise InputError("a robust / cluster variance is not available with ties='exact' (R "
                         "has no score residuals for the exact method); use ties='efron'")


def cox_fit(X, time, event, *, entry=None, strata=None, weights=None, ties="efron",
            robust=None, cluster=None, init=None, max_iter=20, tol=1e-9,
            term_names=None, warn=True) -> CoxFit:
    """Fit a Cox model by Newton-Raphson, exactly as R ``coxph``.

    Parameters
    ----------
    X : array_like (n, p)
        Numeric covariates (build categorical indicators first, e.g. with
        :func:`coxph`).
    time, event : array_like (n,)
        Event/censoring time (the ``stop`` of counting-process data) and 0/1 status.
    entry : array_like (n,), optional
        Start of each (entry, time] interval: left truncation or time-dependent
        covariates (R ``Surv(entry, time, event)``).
    strata : array_like (n,), optional
        Stratum labels (separate baseline hazards, R ``strata()``).
    weights : array_like (n,), optional
        Positive case weights.
    ties : {"efron", "breslow", "exact"}
        ``"exact"``: the exact discrete partial likelihood (R ``ties="exact"``; no case
        weights, no robust variance, as R).
    robust : bool or None
        Sandwich variance (R ``robust=TRUE``); implied by ``cluster``. ``None``
        (default) follows R ``coxph``: robust when ``cluster`` is given or some case
        weight is not an integer (one cluster per row), model-based otherwise.
    cluster : array_like (n,), optional
        Cluster (subject) ids for the robust variance (R ``cluster(id)``).
    init : array_like (p,), optional
        Starting values (default 0).
    max_iter : int
        Maximum iterations (R ``iter.max`` = 20); ``0`` evaluates the model at ``init``
        only (R ``iter.max = 0``, e.g. a score test), which :func:`coxph` does not allow.
    tol : float
        Convergence tolerance on the relative change of the log-likelihood (R ``eps``).
    term_names : sequence of str, optional
        Used in warning messages.
    warn : bool
        Emit convergence / separation warnings.

    Returns
    -------
    CoxFit

    Examples
    --------
    >>> import numpy as np
    >>> f = cox_fit(np.array([[0.], [1.], [0.], [1.], [1.]]), [1, 2, 3, 4, 5], [1, 1, 0, 1, 1])
    >>> bool(f.converged)
    True

    Validated against: R survival 3.5-3 ``coxph`` (lung, veteran, ovarian, aml,
    heart) -- coefficients, SEs, robust SEs, log-likelihoods and tests to 1e-8.
    """
    if ties not in ("efron", "breslow", "exact"):
        raise InputError(f"ties must be 'efron', 'breslow' or 'exact', got {ties!r}")
    robust = check_bool("robust", robust, allow_none=True)
    max_iter = check_int("max_iter", max_iter, minimum=0)
    warn = check_bool("warn", warn)
    distinct = []
    X, time, event, entry, scode, w, ccode = _prepare(X, time, event, entry, strata,
                                                      weights, cluster, distinct)
    if ties == "exact":
        _check_exact(w, robust, cluster)
    n, p = X.shape
    explicit_robust = robust is not None
    if robust is None:
        # R coxph: robust by default with a cluster or non-integer case weights
        robust = cluster is not None or bool(np.any(w != np.floor(w)))
    if cluster is not None:
        robust = True
    if robust and ccode is None:
        if entry is not None and explicit_robust:
            raise InputError("robust=True with counting-process (entry, time] data needs "
                             "cluster= (the subject id), as in R: several rows may belong to "
                             "one subject")
        ccode = np.arange(n)
    names = list(term_names) if term_names is not None else [f"x{j + 1}" for j in range(p)]
    # centring (as R) does not change any estimate; a small design takes its means from
    # the (n, p) C-ordered layout, as earlier releases (BLAS sums in the same order)
    Xm = X if X.size > 1 << 18 else np.ascontiguousarray(X)
    Xc = X - (w @ Xm) / w.sum()
    # exact ties: own kernel (stats/_coxexact.py); per-row residuals then use R's
    # Breslow-form martingale residuals (coxmart2), as R does for the exact method
    eng = _LazyEngine(Xc, time, event, entry, scode, w, "breslow" if ties == "exact" else ties)
    kern = (ExactKernel(Xc, time, event, entry=entry, strata=scode, weights=w)
            if ties == "exact" else
            RiskSetKernel(Xc, time, event, entry=entry, strata=scode,
                          weights=None if weights is None else w, ties=ties,
                          distinct=distinct[0] if distinct else None))
    beta = np.zeros(p) if init is None else np.asarray(init, dtype=float).copy()
    if beta.shape != (p,):
        raise InputError(f"init must have length {p}")
    ll0, U, Imat = kern.stats(beta)
    n_ev = int(event.sum())
    if p and n_ev:
        sing = singular_columns(Imat)
        if sing.any():
            # R: NA coefficient for a column the information matrix cannot separate; the
            # model is the fit without it (identical likelihood), laid out at full length
            notes = alias_notes(X, sing, names, strata, w)
            if warn:
                warnings.warn("terms not estimable (coefficient NA, as R coxph): " + "; ".join(
                    f"{names[j]!r}: {notes[j]}" for j in np.flatnonzero(sing)),
                    StatisticalWarning, stacklevel=3)
            keep = ~sing
            sub = cox_fit(X[:, keep], time, event, entry=entry, strata=strata, weights=weights,
                          ties=ties, robust=robust, cluster=cluster,
                          init=None if init is None else np.asarray(init, float)[keep],
                          max_iter=max_iter, tol=tol,
                          term_names=[nm for nm, k in zip(names, keep) if k], warn=warn)
            return _expand_fit(sub, sing, notes, p)
    # the score test and the first Newton step solve the same system: solved once
    step0 = _solve_psd(Imat, U) if p and n_ev else None
    sctest = float(U @ step0) if step0 is not None else _quad(Imat, U)
    if p == 0 or n_ev == 0:
        if n_ev == 0:
            raise InputError("there are no events: a Cox model cannot be fitted")
        return CoxFit(beta, np.zeros((0, 0)), None, (ll0, ll0), U, 0.0, 0.0, 0.0, None, 0, True,
                      np.zeros(0, bool), n, n_ev, ties, eng)
    if max_iter == 0:  # evaluate at init only (R iter.max = 0)
        newll, newU, newI = ll0, U, Imat
        converged = True
        it = 0
        newbeta = beta.copy()
    loglik = ll0
    newbeta = beta + step0 if max_iter > 0 else beta.copy()
    halving = False
    converged = max_iter == 0
    it = 0
    newll = ll0
    for it in range(1, max_iter + 1):
        newll, newU, newI = kern.stats(newbeta)
        if not np.isfinite(newll):
            newll = -np.inf
        if np.isfinite(newll) and abs(1 - loglik / newll) <= tol and not halving:
            converged = True
            break
        if it == max_iter:
            break
        if newll < loglik:
            halving = True
            newbeta = (newbeta + beta) / 2
        else:
            halving = False
            loglik = newll
            beta = newbeta
            newbeta = beta + _solve_psd(newI, newU)
    coef = newbeta
    llf = newll
    if not np.isfinite(llf):
        llf, newU, newI = kern.stats(coef)
    var = _inv(newI)
    step = np.abs(newU @ var)
    # R's rule: the next Newton step is still large relative to the coefficient
    with np.errstate(invalid="ignore"):
        moving = ~np.isfinite(newU) | ((step > tol) & (step > np.sqrt(tol) * np.abs(coef)))
    if max_iter <= 1:  # R checks for infinite coefficients only when iter.max > 1
        infinite = np.zeros(p, dtype=bool)
    elif converged:
        infinite = moving
    else:
        # R only says "Ran out of iterations". A monotone likelihood whose limit is 0
        # (each event has the extreme linear predictor of its risk set) never meets the
        # relative convergence criterion, and a moderate linear predictor escapes the 500
        # rule: a coefficient whose Newton step is still large after max_iter iterations
        # is flagged as for a converged fit (a finite one has a step ~0 by then).
        infinite = ~np.isfinite(step) | (np.abs(Xc @ coef).max() > 500)
        infinite = np.broadcast_to(infinite, (p,)).copy() | moving
    if warn:
        if not converged:
            warnings.warn(
                f"Cox model did not converge in {max_iter} iterations (log-likelihood "
                f"{llf:.6g}); estimates are unreliable. {CONVERGENCE_ADVICE}",
                ConvergenceWarning, stacklevel=3)
        if converged and infinite.any():
            bad = [names[j] for j in np.flatnonzero(infinite)]
            warnings.warn(
                f"monotone likelihood: the coefficient of {', '.join(map(repr, bad))} appears "
                "to be infinite (the log-likelihood converged while the coefficient keeps "
                "growing, e.g. a group with no events). Its HR, SE and Wald test are "
                f"meaningless; {SEPARATION_ADVICE}",
                SeparationWarning, stacklevel=3)
    robust_var = None
    rscore = None
    if robust:
        resid = eng.score_residuals(coef) * w[:, None]
        D = resid @ var
        Dc = np.zeros((ccode.max() + 1, p))
        np.add.at(Dc, ccode, D)
        robust_var = Dc.T @ Dc
        r0 = eng.score_residuals(beta * 0 if init is None else np.asarray(init, float)) * w[:, None]
        T = np.zeros((ccode.max() + 1, p))
        np.add.at(T, ccode, r0)
        rscore = _quad(T.T @ T, T.sum(axis=0))
    b0 = coef if init is None else coef - np.asarray(init, float)
    wald = _quad(robust_var if robust else var, b0)
    return CoxFit(coef, var, robust_var, (float(ll0), float(llf)), newU, float(sctest), wald,
                  float(2 * (llf - ll0)), rscore, it, converged, infinite, n, n_ev, ties, eng,
                  np.zeros(p, dtype=bool), {})


# --------------------------------------------------------------------------------------
# pandas front-end
# --------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class CoxResult(TermsShape, Result):
    """Cox proportional-hazards fit (frozen; the terms shape of :mod:`~aplcohort.stats.shapes`).

    Attributes
    ----------
    terms : DataFrame
        ``[term, level, coef, se, robust_se, estimate, lower, upper, statistic, p,
        estimable, note]``; ``estimate`` is the HR; ``robust_se`` is NaN unless
        robust, and then the statistic (Wald z), p and the HR CI use it. A term
        that is aliased, has no information or a coefficient that may be infinite
        (monotone likelihood) has NaN numbers, ``estimable = False`` and the reason
        in ``note``.
    tests : DataFrame
        ``[test, statistic, df, p]`` with rows "likelihood ratio", "wald", "score"
        (+ "robust score" when robust), as R ``summary(coxph)``.
    loglik : tuple
        (null, final) log partial likelihood.
    n, events : int
    covariates : tuple of str
    separated : tuple of str
        Terms flagged with an infinite coefficient (monotone likelihood).
    converged : bool
    n_iter : int
    """

    terms: pd.DataFrame
    tests: pd.DataFrame
    loglik: tuple
    n: int
    events: int
    covariates: tuple
    separated: tuple
    converged: bool
    n_iter: int
    _choices: dict = field(default_factory=dict, repr=False)
    _fit: object = field(default=None, repr=False)
    _design: object = field(default=None, repr=False)
    # the model's input arrays (time, event, entry, strata labels, weights, row index):
    # what predictions, residuals and concordance (coxpredict / residuals / concordance)
    # need besides the fit
    _inputs: dict = field(default=None, repr=False)

    kind = "cox"

    @property
    def title(self) -> str:
        return "Cox proportional hazards model"

    @property
    def choices(self) -> dict:
        return dict(self._choices)

    @property
    def tables(self) -> dict:
        return {"terms": self.terms, "tests": self.tests}

    scale = "HR"

    @property
    def conf_level(self) -> float:
        return float(self._choices.get("conf_level", 0.95))

    @property
    def variance(self) -> str:
        """"robust" when the CI and p use the sandwich variance, else "model"."""
        return "robust" if self._fit is not None and self._fit.robust_var is not None \
            else "model"

    @property
    def coef(self) -> np.ndarray:
        """Coefficients as fitted (NaN for aliased terms; a diverging one is kept here)."""
        return self._fit.coef.copy() if self._fit is not None else self.terms["coef"].to_numpy()

    @property
    def var(self) -> np.ndarray:
        """Model-based variance matrix."""
        return self._fit.var.copy()

    @property
    def robust_var(self):
        """Robust variance matrix (None unless robust)."""
        return None if self._fit.robust_var is None else self._fit.robust_var.copy()

    # ---- predictions, residuals, concordance, PH test (thin wrappers; see the modules)
    def predict(self, newdata=None, *, type="lp", reference="strata"):
        """Linear predictor / risk score (R ``predict``); see
        :func:`aplcohort.stats.coxpredict.predict_lp`."""
        from .coxpredict import predict_lp
        return predict_lp(self, newdata, type=type, reference=reference)

    def basehaz(self, *, centered=True):
        """Cumulative baseline hazard (R ``basehaz``); see
        :func:`aplcohort.stats.coxpredict.basehaz`."""
        from .coxpredict import basehaz
        return basehaz(self, centered=centered)

    def survfit(self, profiles=None, *, conf_type="log", conf_level=0.95):
        """Predicted survival curves of covariate profiles (R ``survfit(fit, newdata=)``);
        see :func:`aplcohort.stats.coxpredict.predict_survival`."""
        from .coxpredict import predict_survival
        return predict_survival(self, profiles, conf_type=conf_type, conf_level=conf_level)

    def residuals(self, type="martingale", *, weighted=None):
        """Residuals (R ``residuals.coxph``); see
        :func:`aplcohort.stats.residuals.cox_residuals`."""
        from .residuals import cox_residuals
        return cox_residuals(self, type, weighted=weighted)

    def concordance(self, *, times=None, conf_level=0.95):
        """Harrell's C with R's SE (R ``concordance``), optionally time-dependent AUC; see
        :func:`aplcohort.stats.concordance.concordance`."""
        from .concordance import concordance
        return concordance(self, times=times, conf_level=conf_level)

    def zph(self, transform="km"):
        """Proportional-hazards test and scaled Schoenfeld residuals (R ``cox.zph``); see
        :func:`aplcohort.stats.zph.cox_zph`."""
        from .zph import cox_zph
        return cox_zph(self, transform=transform)


#: a coefficient still moving when the iterations ran out: an infinite one (a likelihood
#: tending to 0 never meets R's relative convergence criterion) or a fit that is only slow
#: (a small ``max_iter``); the note says both, as the fit cannot tell them apart (a plan
#: keeps only the advice its kind can follow: :func:`aplcohort.stats.shapes.plan_advice`)
NOTE_INFINITE_NOT_CONVERGED = ("no convergence in {n} iterations, the coefficient still "
                               "moving: it may be infinite (monotone likelihood; consider "
                               "firth: true)" + MAX_ITER_HINT)


def _terms_table(names, fit, conf_level, levels=None):
    """Terms in the shared shape; aliased and infinite coefficients not estimable."""
    se = np.sqrt(np.diag(fit.var)) if fit.var.size else np.zeros(0)
    rse = None if fit.robust_var is None else np.sqrt(np.diag(fit.robust_var))
    p = len(names)
    aliased = np.zeros(p, bool) if fit.aliased is None else fit.aliased
    ok = ~aliased & ~fit.infinite
    inf_note = (NOTE_INFINITE if fit.converged else
                NOTE_INFINITE_NOT_CONVERGED.format(n=fit.n_iter))
    notes = [fit.alias_notes.get(j, inf_note if fit.infinite[j] else "") for j in range(p)]
    return _terms_frame_wald(names, fit.coef, se, conf_level, rse, levels, ok, notes)


def _terms_frame_wald(names, coef, se, conf_level, robust_se, levels, estimable, notes):
    """:func:`aplcohort.stats.shapes.terms_frame` for Wald terms, built with fewer
    pandas steps (one float array for the eight numeric columns, no copies).

    The same expressions in the same order, so the same numbers and dtypes (the
    tests compare it with ``terms_frame``); on a study-sized cohort the generic
    builder cost a fifth of a ``coxph`` call.
    """
    from scipy.special import ndtr   # (scipy.special on first use: import aplcohort stays lean)

    k = len(names)
    coef = np.asarray(coef, float).reshape(k)
    se = np.asarray(se, float).reshape(k)
    A = np.empty((8, k))
    A[0], A[1] = coef, se
    A[2] = np.nan if robust_se is None else np.asarray(robust_se, float).reshape(k)
    use = A[1] if robust_se is None else A[2]
    z = z_value(conf_level)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        np.exp(coef, out=A[3])
        np.exp(coef - z * use, out=A[4])
        np.exp(coef + z * use, out=A[5])
        np.divide(coef, use, out=A[6])
        A[7] = 2.0 * ndtr(-np.abs(A[6]))
    ok = np.asarray(estimable, bool).reshape(k)
    A[:, ~ok] = np.nan
    lv = [None if x is None else x for x in levels] if levels is not None else [None] * k
    if any(x is not None for x in lv):
        level = pd.Series(lv, dtype=object)     # object, never inferred as strings
    else:
        level = np.empty(k, dtype=object)       # all None: object without a Series
    return pd.DataFrame({"term": list(names), "level": level,
                         "coef": A[0], "se": A[1], "robust_se": A[2], "estimate": A[3],
                         "lower": A[4], "upper": A[5], "statistic": A[6], "p": A[7],
                         "estimable": ok.copy(),
                         "note": ["" if v is None else str(v) for v in notes]},
                        copy=False)   # TERM_COLUMNS order (no reindex)


def _tests_table(fit: CoxFit, p):
    p = fit.df  # R: degrees of freedom = number of non-NA coefficients
    rows = [("likelihood ratio", fit.lr_test), ("wald", fit.wald_test), ("score", fit.score_test)]
    if fit.robust_score_test is not None:
        rows.append(("robust score", fit.robust_score_test))
    stat = np.array([float(r[1]) for r in rows])
    # chdtrc is what scipy.stats.chi2.sf evaluates (same numbers), without the
    # distribution-object overhead that dominated small-cohort fits
    from scipy.special import chdtrc
    pv = chdtrc(p, stat) if p else np.full(stat.size, np.nan)
    return pd.DataFrame({"test": [r[0] for r in rows], "statistic": stat,
                         "df": np.full(stat.size, int(p)), "p": pv},
                        copy=False)   # _TEST_COLUMNS order
    # (no columns=: the reindex it triggers cost more than the rest of the table)


def _event_array(data, event, name="event"):
    e = data[event]
    if isinstance(e.dtype, np.dtype) and e.dtype.kind in "fiub":
        a = e.to_numpy(dtype=float)
        if ((a == 0) | (a == 1)).all():            # 0/1 coded: the common case, no unique()
            return a
    vals = pd.unique(e.dropna())
    if not set(np.asarray(vals, dtype=object).tolist()) <= {0, 1, True, False}:
        raise InputError(f"{name} column {event!r} must be coded 0 = censored, 1 = event; found "
                         f"values {sorted(map(str, vals))[:10]}. For a competing-risk code use "
                         f"data[{event!r}] == cause")
    return e.to_numpy(dtype=float)


def coxph(data, *, time, event, covariates, entry=None, categorical=None, strata=None,
          ties="efron", robust=None, cluster=None, weights=None, conf_level=0.95,
          max_iter=20, tol=1e-9) -> CoxResult:
    """Cox proportional-hazards regression on a DataFrame (R ``coxph``).

    Parameters
    ----------
    data : DataFrame
    time, event : str
        Column names; ``event`` coded 0/1 (``time`` is the stop time with ``entry``).
    covariates : str or sequence of str
        Covariate columns (one string = one column, as ``strata``); non-numeric
        columns are categorical.
    entry : str, optional
        Entry (start) column for (entry, time] data: late entry / time-dependent
        covariates (R ``Surv(entry, time, event)``).
    categorical : dict or sequence of str, optional
        ``{column: reference level}``, or a list of columns to treat as categorical
        with their first level as the reference (see :mod:`aplcohort.stats._design`).
    strata : str or sequence of str, optional
        Stratification column(s).
    ties : {"efron", "breslow", "exact"}
        ``"exact"``: exact discrete partial likelihood (R ``ties="exact"``,
        :mod:`~aplcohort.stats._coxexact`); no case weights or robust variance, as R.
    robust : bool or None
        Robust sandwich SE (R ``robust=TRUE``). ``None`` (default) follows R:
        robust when ``cluster`` is given or some case weight is not an integer.
    cluster : str, optional
        Cluster id column (R ``cluster(id)``); implies robust.
    weights : str, optional
        Case-weight column. ``time``, ``event``, ``entry``, ``strata``, ``cluster`` and
        ``weights`` are column names of ``data``: an array is refused with a message
        (add it as a column first; :func:`~aplcohort.stats.km.kaplan_meier` is the
        array-level function that takes arrays).
    conf_level : float
        Level of the HR confidence intervals.
    max_iter : int
        Maximum Newton-Raphson iterations, at least 1 (R ``iter.max``; a fit that does
        not converge warns and reports ``converged`` False).
    tol : float
        Convergence tolerance on the relative change of the log-likelihood (R ``eps``).

    Returns
    -------
    CoxResult
        ``.terms`` in the shared terms shape. Terms that cannot be estimated are
        kept with NaN numbers, ``estimable = False`` and a ``note``: a constant
        column, a column aliased with earlier ones (R: coefficient NA), or a
        coefficient that may be infinite (monotone likelihood, e.g. a group with no
        events; R warns "coefficient may be infinite") -- for the latter, fit
        :func:`aplcohort.stats.firth.firth_coxph` (plans: ``firth: true``).

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"t": [5, 8, 12, 3, 9, 15, 7, 11], "e": [1, 1, 0, 1, 1, 0, 1, 0],
    ...                    "arm": ["A", "B", "A", "A", "B", "B", "A", "B"]})
    >>> res = coxph(df, time="t", event="e", covariates=["arm"], categorical={"arm": "A"})
    >>> list(res.terms["term"])
    ['armB']

    Validated against: R survival 3.5-3 ``coxph`` on lung, veteran, ovarian, aml and
    heart (counting process), Efron/Breslow, strata, weights, robust and cluster SEs;
    max relative difference about 1e-10 (see docs/validation/cox.md).
    """
    return _coxph(data, time=time, event=event, covariates=covariates, entry=entry,
                  categorical=categorical, strata=strata, ties=ties, robust=robust,
                  cluster=cluster, weights=weights, conf_level=conf_level,
                  max_iter=check_int("max_iter", max_iter, minimum=1), tol=tol)


def _coxph(data, *, time, event, covariates, entry=None, categorical=None, strata=None,
           ties="efron", robust=None, cluster=None, weights=None, conf_level=0.95,
           max_iter=20, tol=1e-9) -> CoxResult:
    """:func:`coxph`; ``max_iter=0`` allowed here (the model at beta = 0 only, R
    ``iter.max = 0``: :func:`~aplcohort.stats.timedep.mantel_byar`'s score test)."""
    if not (0 < conf_level < 1):
        raise InputError(f"conf_level must be in (0, 1), got {conf_level}")
    robust = check_bool("robust", robust, allow_none=True)
    covariates = as_columns(covariates, "covariates")
    categorical = as_categorical(categorical) or None
    time, event = column_arg(time, "time", optional=False), column_arg(event, "event", optional=False)
    entry, cluster = column_arg(entry, "entry"), column_arg(cluster, "cluster")
    weights = column_arg(weights, "weights")
    strata_cols = as_columns(strata, "strata")
    needed = [time, event] + ([entry] if entry else []) + strata_cols + \
        ([cluster] if cluster else []) + ([weights] if weights else [])
    check_columns(data, needed)
    check_complete(data, needed)
    design = build_design(data, covariates, categorical)
    ev = _event_array(data, event)
    if strata_cols:
        sv = data[strata_cols].astype(str).agg("/".join, axis=1) if len(strata_cols) > 1 \
            else data[strata_cols[0]]
    else:
        sv = None
    fit = cox_fit(design.XT.T, data[time].to_numpy(), ev,
                  entry=None if entry is None else data[entry].to_numpy(),
                  strata=sv, weights=None if weights is None else data[weights].to_numpy(),
                  ties=ties, robust=robust, cluster=None if cluster is None else data[cluster],
                  max_iter=max_iter, tol=tol, term_names=design.names)
    terms = _terms_table(design.names, fit, conf_level, term_levels(design))
    tests = _tests_table(fit, len(design.names))
    separated = tuple(design.names[j] for j in np.flatnonzero(fit.infinite))
    choices = {
        "ties": ties,
        "strata": strata_cols or None,
        "reference_levels": {k: v for k, v in design.reference_levels.items()},
        "robust": bool(fit.robust_var is not None),
        "cluster": cluster,
        "entry": entry,
        "weights": weights,
        "conf_level": conf_level,
        "ci": "Wald, " + ("robust SE" if fit.robust_var is not None else "model SE"),
    }
    if separated:
        choices["separation"] = (f"coefficient(s) {list(separated)} may be infinite (monotone "
                                 "likelihood): not estimable" + SEPARATION_CHOICE_HINT)
    if fit.aliased is not None and fit.aliased.any():
        choices["not estimable"] = {design.names[j]: fit.alias_notes[j]
                                    for j in np.flatnonzero(fit.aliased)}
    if not fit.converged:
        choices["converged"] = False
    inputs = {"time": data[time].to_numpy(dtype=float), "event": ev,
              "entry": None if entry is None else data[entry].to_numpy(dtype=float),
              "strata": None if sv is None else np.asarray(sv.astype(str), dtype=object),
              "strata_columns": strata_cols,
              "weights": None if weights is None else data[weights].to_numpy(dtype=float),
              "cluster": None if cluster is None else data[cluster].to_numpy(),
              "index": data.index}
    return CoxResult(terms, tests, fit.loglik, fit.n, fit.n_events, tuple(covariates), separated,
                     fit.converged, fit.n_iter, choices, fit, design, inputs)


# --------------------------------------------------------------------------------------
# univariable then multivariable
# --------------------------------------------------------------------------------------
_UM_COLUMNS = ["term", "hr_uni", "lower_uni", "upper_uni", "p_uni",
               "hr_multi", "lower_multi", "upper_multi", "p_multi"]


@dataclass(frozen=True, eq=False)
class UniMultiResult(Result):
    """Univariable-then-multivariable Cox table.

    Attributes
    ----------
    table : DataFrame
        ``[term, hr_uni, lower_uni, upper_uni, p_uni, hr_multi, lower_multi,
        upper_multi, p_multi]``: each covariate alone, then all together.
    counts : DataFrame
        ``[model, n, events]`` (one row per univariable model, then "multivariable").
    univariable : tuple of CoxResult
    multivariable : CoxResult
    """

    table: pd.DataFrame
    counts: pd.DataFrame
    univariable: tuple
    multivariable: CoxResult
    _choices: dict = field(default_factory=dict, repr=False)

    kind = "cox_unimulti"

    @property
    def title(self) -> str:
        return "Cox regression: univariable and multivariable"

    @property
    def choices(self) -> dict:
        return dict(self._choices)

    @property
    def tables(self) -> dict:
        return {"hazard ratios": self.table, "n / events": self.counts}


def univariable_multivariable(data, *, time, event, covariates, entry=None, categorical=None,
                              strata=None, ties="efron", robust=None, cluster=None,
                              weights=None, conf_level=0.95) -> UniMultiResult:
    """Each covariate alone, then all together, side by side (R ``coxph`` each).

    All models use the same rows (``data`` must be complete in every column used, so
    the univariable and multivariable estimates are comparable).

    Parameters
    ----------
    data, time, event, covariates, entry, categorical, strata, ties, robust, cluster,
    weights, conf_level
        As :func:`coxph`.

    Returns
    -------
    UniMultiResult

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"t": [5, 8, 12, 3, 9, 15, 7, 11, 4, 6],
    ...                    "e": [1, 1, 0, 1, 1, 0, 1, 0, 1, 1],
    ...                    "age": [60, 52, 45, 70, 58, 40, 66, 49, 72, 55],
    ...                    "arm": ["A", "B", "A", "A", "B", "B", "A", "B", "B", "A"]})
    >>> um = univariable_multivariable(df, time="t", event="e", covariates=["age", "arm"])
    >>> list(um.table.columns)[:3]
    ['term', 'hr_uni', 'lower_uni']

    Validated against: R ``coxph`` univariable and multivariable fits on lung.
    """
    covariates = as_columns(covariates, "covariates")
    if not covariates:
        raise InputError("covariates must name at least one column")
    categorical = as_categorical(categorical)
    kw = dict(time=time, event=event, entry=entry, strata=strata, ties=ties, robust=robust,
              cluster=cluster, weights=weights, conf_level=conf_level)
    check_columns(data, covariates, "covariate")
    check_complete(data, covariates)
    multi = coxph(data, covariates=covariates, categorical=categorical, **kw)
    unis = []
    rows = []
    for cov in covariates:
        cat = {cov: categorical[cov]} if cov in categorical else None
        u = coxph(data, covariates=[cov], categorical=cat, **kw)
        unis.append(u)
        rows.append(u.terms)
    uni = pd.concat(rows, ignore_index=True)
    m = multi.terms
    table = pd.DataFrame({
        "term": m["term"],
        "hr_uni": uni["estimate"].to_numpy(), "lower_uni": uni["lower"].to_numpy(),
        "upper_uni": uni["upper"].to_numpy(), "p_uni": uni["p"].to_numpy(),
        "hr_multi": m["estimate"], "lower_multi": m["lower"], "upper_multi": m["upper"],
        "p_multi": m["p"]}, columns=_UM_COLUMNS)
    counts = pd.DataFrame({"model": covariates + ["multivariable"],
                           "n": [u.n for u in unis] + [multi.n],
                           "events": [u.events for u in unis] + [multi.events]})
    choices = multi.choices
    return UniMultiResult(table, counts, tuple(unis), multi, choices)
