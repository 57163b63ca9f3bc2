"""Firth-penalised Cox regression (Heinze & Schemper 2001).

The estimate maximises the penalised log partial likelihood

    l*(beta) = l(beta) + 1/2 log det I(beta),

(Jeffreys prior), which stays finite under monotone likelihood (e.g. a group
without events) and reduces small-sample bias.  Implemented on the same risk-set
engine as :func:`aplcohort.stats.cox.coxph` (strata, (entry, time] data, weights,
Breslow or Efron ties); the derivative of ``log det I`` uses the third central
moments of the covariates over each risk set.

Inference, as R ``coxphf``:

* SE from ``I(beta_hat)^{-1}`` (the information at the penalised estimate);
* profile penalised-likelihood confidence intervals: the set of ``b`` with
  ``2 [l*(beta_hat) - max_{beta: beta_j = b} l*(beta)] <= chi2_{1, conf_level}``;
* penalised likelihood-ratio tests: per term ``2 [l*(beta_hat) - max_{beta_j=0} l*]``
  (1 df) and globally ``2 [l*(beta_hat) - l*(0)]`` (p df).  The penalty is always
  the full-model ``log det I``.

Ties default to Breslow, the convention of ``coxphf`` and of the independent
implementation used for validation (PyPI ``firthmodels``); Efron is available.
"""

from __future__ import annotations

import dataclasses
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from ._lazy import scipy_optimize as _opt
from ._lazy import scipy_stats as _st

from .._results import Result
from ..errors import ConvergenceWarning, InputError
from .._checks import check_bool, check_int
from ._design import (as_categorical, as_columns, build_design, check_columns, check_complete,
                      column_arg)
from .cox import _Engine, _event_array, _prepare, _risk_sums, alias_notes, singular_columns
from .shapes import TermsShape, term_levels, terms_frame

__all__ = ["firth_cox_fit", "FirthFit", "firth_coxph", "FirthCoxResult"]

_TEST_COLUMNS = ["test", "statistic", "df", "p"]


def _risk_weights(st, alpha):
    """Adjoint of :func:`aplcohort.stats.cox._risk_sums`: for each row of the stratum,
    the sum of ``alpha[j]`` over the risk sets ``j`` that contain it, so that
    ``alpha @ _risk_sums(st, v) == _risk_weights(st, alpha) @ v`` (one cumsum)."""
    n = len(st.time)
    out = np.empty(n)
    out[st.ord_stop] = np.cumsum(np.bincount(st.n_stop_lt, weights=alpha, minlength=n + 1))[:n]
    if st.entry is not None:
        out[st.ord_entry] -= np.cumsum(np.bincount(st.n_entry_lt, weights=alpha,
                                                   minlength=n + 1))[:n]
    return out


def _cubes(X, omega, block=1 << 16):
    """``sum_i omega_i x_i (x) x_i (x) x_i`` (p, p, p), in row blocks (no (n, p^3) array)."""
    n, p = X.shape
    out = np.zeros((p, p * p))
    for s in range(0, n, block):
        Xb = X[s:s + block]
        out += (omega[s:s + block, None] * Xb).T @ (Xb[:, :, None] * Xb[:, None, :]).reshape(
            -1, p * p)
    return out.reshape(p, p, p)


def _penalised(eng: _Engine, beta, penalty=0.5):
    """Penalised loglik, penalised score, information (and unpenalised loglik).

    The derivative of ``log det I`` needs ``sum_r mw_r c3_r``, the weighted third central
    moments over the risk sets. Expanded, ``c3 = s3 - m s2 (three ways) + 2 m m m``; the
    ``s3`` part is linear in the risk-set sums, so it is summed through the adjoint of the
    risk-set sums (a weight per row) instead of per-row (n, p, p, p) arrays.
    """
    X, w, p = eng.X, eng.w, eng.p
    eta = X @ beta
    ll = 0.0
    U = np.zeros(p)
    Imat = np.zeros((p, p))
    dI = np.zeros((p, p, p))
    for st in eng.strata:
        if len(st.tau) == 0:
            continue
        eta_s = eta[st.idx]
        c = eta_s.max()
        r = w[st.idx] * np.exp(eta_s - c)
        Xs = X[st.idx]
        rX = r[:, None] * Xs
        rXX = rX[:, :, None] * Xs[:, None, :]
        J = len(st.tau)
        S0, S1, S2 = (_risk_sums(st, v) for v in (r, rX, rXX))
        dd = st.dead
        S0D = np.bincount(st.dead_j, weights=r[dd], minlength=J)
        S1D = np.zeros((J, p))
        S2D = np.zeros((J, p, p))
        np.add.at(S1D, st.dead_j, rX[dd])
        np.add.at(S2D, st.dead_j, rXX[dd])
        jj, fr = st.row_j, st.frac
        den = S0[jj] - fr * S0D[jj]
        m = (S1[jj] - fr[:, None] * S1D[jj]) / den[:, None]
        s2 = (S2[jj] - fr[:, None, None] * S2D[jj]) / den[:, None, None]
        W = np.bincount(st.dead_j, weights=w[st.idx][dd], minlength=J)
        mw = (W / st.d)[jj]
        wd = w[st.idx][dd]
        ll += np.sum(wd * (eta_s[dd] - c)) - np.sum(mw * np.log(den))
        U += wd @ Xs[dd] - mw @ m
        Imat += np.einsum("r,rab->ab", mw, s2) - np.einsum("r,ra,rb->ab", mw, m, m)
        # sum_r mw_r s3_r = sum_j alpha_j S3_j - sum_j beta_j S3D_j = sum_i omega_i x_i^3
        a = mw / den
        alpha = np.bincount(jj, weights=a, minlength=J)
        beta_d = np.bincount(jj, weights=a * fr, minlength=J)
        omega = r * _risk_weights(st, alpha)
        omega[dd] -= r[dd] * beta_d[st.dead_j]
        ms2 = ((mw[:, None] * m).T @ s2.reshape(-1, p * p)).reshape(p, p, p)  # [a, b, t]
        mmm = ((mw[:, None] * m).T @ (m[:, :, None] * m[:, None, :]).reshape(-1, p * p)
               ).reshape(p, p, p)
        dI += (_cubes(Xs, omega) - ms2 - ms2.transpose(1, 0, 2) - ms2.transpose(1, 2, 0)
               + 2 * mmm)
    sign, logdet = np.linalg.slogdet(Imat)
    if sign <= 0:
        return -np.inf, np.full(p, np.nan), Imat, ll
    Iinv = np.linalg.inv(Imat)
    Ustar = U + penalty * np.einsum("ab,abt->t", Iinv, dI)
    return ll + penalty * logdet, Ustar, Imat, ll


def _maximise(eng, beta0, free, penalty=0.5, max_iter=100, max_step=5.0, tol=1e-10):
    """Maximise l* over the coefficients flagged in ``free`` (others held fixed)."""
    beta = np.array(beta0, dtype=float)
    lp, U, I, _ = _penalised(eng, beta, penalty)
    converged = False
    it = 0
    for it in range(1, max_iter + 1):
        if not free.any():
            converged = True
            break
        Uf = U[free]
        try:
            step = np.linalg.solve(I[np.ix_(free, free)], Uf)
        except np.linalg.LinAlgError:
            break
        mx = np.max(np.abs(step))
        if mx > max_step:
            step *= max_step / mx
        accepted = False
        for _ in range(30):
            nb = beta.copy()
            nb[free] += step
            nlp, nU, nI, _ = _penalised(eng, nb, penalty)
            if np.isfinite(nlp) and nlp >= lp - 1e-12 * abs(lp):
                accepted = True
                break
            step /= 2
        if not accepted:
            break
        beta, lp, U, I = nb, nlp, nU, nI
        if np.max(np.abs(step)) < tol and np.max(np.abs(U[free])) < 1e-6:
            converged = True
            break
    return beta, lp, U, I, converged, it


@dataclass(frozen=True, eq=False)
class FirthFit:
    """Array-level Firth fit.

    Attributes
    ----------
    coef, var : ndarray
        Penalised estimate and ``I(beta_hat)^{-1}``.
    loglik : tuple
        Penalised log-likelihood at 0 and at the estimate.
    loglik_unpenalised : float
    lr_chisq : ndarray
        Penalised LR statistic per coefficient (beta_j = 0).
    ci : ndarray (p, 2)
        Profile penalised-likelihood CI for the coefficients.
    global_lr : float
    converged : bool
    n_iter : int
    n, n_events : int
    """

    coef: np.ndarray
    var: np.ndarray
    loglik: tuple
    loglik_unpenalised: float
    lr_chisq: np.ndarray
    ci: np.ndarray
    global_lr: float
    converged: bool
    n_iter: int
    n: int
    n_events: int
    ties: str
    aliased: np.ndarray = None
    alias_notes: dict = field(default_factory=dict)


def _profile_bound(eng, beta_hat, lp_hat, j, direction, crit, se, max_iter):
    """Root of 2 (lp_hat - profile(b)) - crit on one side of beta_hat[j]."""
    p = len(beta_hat)
    free = np.ones(p, dtype=bool)
    free[j] = False
    cache = {"beta": beta_hat.copy()}

    def f(b):
        start = cache["beta"].copy()
        start[j] = b
        bb, lp, *_ = _maximise(eng, start, free, max_iter=max_iter)
        cache["beta"] = bb
        return 2 * (lp_hat - lp) - crit

    step = max(se, 1e-3) if np.isfinite(se) else 1.0
    lo = beta_hat[j]
    hi = lo + direction * step
    for _ in range(60):
        val = f(hi)
        if val > 0:
            break
        lo = hi
        step *= 2
        hi = lo + direction * step
        if abs(hi) > 1e4:
            return np.inf * direction
    cache["beta"] = beta_hat.copy()
    a, b = (lo, hi) if lo < hi else (hi, lo)
    return _opt.brentq(f, a, b, xtol=1e-10, rtol=1e-12, maxiter=200)


def firth_cox_fit(X, time, event, *, entry=None, strata=None, weights=None, ties="breslow",
                  conf_level=0.95, max_iter=100, term_names=None, profile=True) -> FirthFit:
    """Firth-penalised Cox fit on arrays (Heinze & Schemper 2001).

    Parameters
    ----------
    X, time, event, entry, strata, weights
        As :func:`aplcohort.stats.cox.cox_fit`.
    ties : {"breslow", "efron"}
        Default Breslow (as R coxphf).
    conf_level : float
        Level of the profile-likelihood CIs.
    max_iter : int
    term_names : sequence of str, optional
    profile : bool
        Compute the profile CIs and per-term penalised LR tests.

    Returns
    -------
    FirthFit

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[0.], [0.], [0.], [1.], [1.], [1.]])
    >>> f = firth_cox_fit(x, [1, 2, 3, 4, 5, 6], [1, 1, 1, 0, 0, 0])  # no events in x=1
    >>> bool(np.isfinite(f.coef[0]))
    True

    Validated against: PyPI ``firthmodels`` 0.x ``FirthCoxPH`` (Breslow) on ovarian
    and on a data set with monotone likelihood; with the penalty removed it equals
    R ``coxph``.
    """
    if ties not in ("efron", "breslow"):
        raise InputError(f"ties must be 'efron' or 'breslow', got {ties!r}")
    if not (0 < conf_level < 1):
        raise InputError(f"conf_level must be in (0, 1), got {conf_level}")
    max_iter = check_int("max_iter", max_iter, minimum=1)
    profile = check_bool("profile", profile)
    X, time, event, entry, scode, w, _ = _prepare(X, time, event, entry, strata, weights, None)
    n, p = X.shape
    if event.sum() == 0:
        raise InputError("there are no events: a Cox model cannot be fitted")
    if p == 0:
        raise InputError("firth_cox_fit needs at least one covariate")
    names = list(term_names) if term_names is not None else [f"x{j + 1}" for j in range(p)]
    Xc = X - (w @ X) / w.sum()
    eng = _Engine(Xc, time, event, entry, scode, w, ties)
    sing = singular_columns(eng.stats(np.zeros(p))[2])
    if sing.any():
        # as coxph (R): a column without information is NA and the model is fitted without it
        keep = np.flatnonzero(~sing)
        if keep.size == 0:
            raise InputError(f"no covariate of {names} carries information (constant or "
                             "not varying within the risk sets); nothing to estimate")
        sub = firth_cox_fit(X[:, keep], time, event, entry=entry, strata=strata,
                            weights=weights, ties=ties, conf_level=conf_level, max_iter=max_iter,
                            term_names=[names[j] for j in keep], profile=profile)
        notes = alias_notes(X, sing, names, strata, w)

        def vec(v):
            out = np.full(p, np.nan)
            out[keep] = v
            return out

        var = np.zeros((p, p))
        var[np.ix_(keep, keep)] = sub.var
        ci = np.full((p, 2), np.nan)
        ci[keep] = sub.ci
        return dataclasses.replace(sub, coef=vec(sub.coef), var=var, lr_chisq=vec(sub.lr_chisq),
                                   ci=ci, aliased=sing, alias_notes=notes)
    allfree = np.ones(p, dtype=bool)
    lp0, *_ = _penalised(eng, np.zeros(p))
    beta, lp, U, I, conv, it = _maximise(eng, np.zeros(p), allfree, max_iter=max_iter)
    if not conv:
        warnings.warn(f"Firth Cox model did not converge in {max_iter} iterations "
                      f"(max |penalised score| = {np.max(np.abs(U)):.3g})",
                      ConvergenceWarning, stacklevel=2)
    _, _, _, ll = _penalised(eng, beta)
    var = np.linalg.inv(I)
    se = np.sqrt(np.diag(var))
    lr = np.full(p, np.nan)
    ci = np.full((p, 2), np.nan)
    if profile:
        crit = _st.chi2.ppf(conf_level, 1)
        for j in range(p):
            free = allfree.copy()
            free[j] = False
            b0 = beta.copy()
            b0[j] = 0.0
            _, lpj, *_ = _maximise(eng, b0, free, max_iter=max_iter)
            lr[j] = max(2 * (lp - lpj), 0.0)
            ci[j, 0] = _profile_bound(eng, beta, lp, j, -1, crit, se[j], max_iter)
            ci[j, 1] = _profile_bound(eng, beta, lp, j, +1, crit, se[j], max_iter)
            if not np.all(np.isfinite(ci[j])):
                warnings.warn(f"profile-likelihood CI of {names[j]!r} is unbounded on one side",
                              ConvergenceWarning, stacklevel=2)
    return FirthFit(beta, var, (float(lp0), float(lp)), float(ll), lr, ci,
                    float(max(2 * (lp - lp0), 0.0)), conv, it, n, int(event.sum()), ties,
                    np.zeros(p, dtype=bool), {})


@dataclass(frozen=True, eq=False)
class FirthCoxResult(TermsShape, Result):
    """Firth-penalised Cox model (frozen; the shared terms shape).

    Attributes
    ----------
    terms : DataFrame
        ``[term, level, coef, se, robust_se, estimate, lower, upper, statistic, p,
        estimable, note]``: HR with its CI from the profile penalised likelihood;
        ``statistic``/``p`` the penalised likelihood-ratio chi-square of ``coef = 0``
        (1 df). Aliased / constant columns are not estimable (NaN, reason in ``note``).
    tests : DataFrame
        ``[test, statistic, df, p]``: the global "penalized likelihood ratio" test.
    loglik : tuple
        Penalised log-likelihood (null, final).
    n, events : int
    """

    terms: pd.DataFrame
    tests: pd.DataFrame
    loglik: tuple
    n: int
    events: int
    converged: bool
    _choices: dict = field(default_factory=dict, repr=False)
    _fit: object = field(default=None, repr=False)

    kind = "firth_cox"
    scale = "HR"
    variance = "model"

    @property
    def conf_level(self) -> float:
        return float(self._choices.get("conf_level", 0.95))

    @property
    def title(self) -> str:
        return "Firth-penalised Cox model"

    @property
    def choices(self) -> dict:
        return dict(self._choices)

    @property
    def tables(self) -> dict:
        return {"terms": self.terms, "tests": self.tests}


def firth_coxph(data, *, time, event, covariates, entry=None, categorical=None, strata=None,
                ties="breslow", weights=None, conf_level=0.95, max_iter=100) -> FirthCoxResult:
    """Firth-penalised Cox regression on a DataFrame, with profile-likelihood CIs.

    Use when the ordinary Cox model has monotone likelihood (a
    :class:`~aplcohort.errors.SeparationWarning`, e.g. a group with no events) or in
    very small cohorts.

    Parameters
    ----------
    data, time, event, covariates, entry, categorical, strata, weights, conf_level
        As :func:`aplcohort.stats.cox.coxph`.
    ties : {"breslow", "efron"}
        Default Breslow, as R ``coxphf``.
    max_iter : int
        Maximum iterations of the penalised Newton-Raphson, at least 1.

    Returns
    -------
    FirthCoxResult

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"t": [2, 3, 5, 7, 8, 10, 12, 14], "e": [1, 1, 1, 0, 1, 0, 0, 0],
    ...                    "grp": ["a", "a", "a", "a", "a", "b", "b", "b"]})
    >>> res = firth_coxph(df, time="t", event="e", covariates=["grp"])
    >>> bool(res.terms["upper"].iloc[0] < 1)
    True

    Validated against: PyPI ``firthmodels`` ``FirthCoxPH`` (Breslow): coefficients,
    SEs, penalised log-likelihood, penalised LR p-values and profile CIs on ovarian
    and on a monotone-likelihood data set (see docs/validation/cox.md).
    """
    max_iter = check_int("max_iter", max_iter, minimum=1)
    covariates = as_columns(covariates, "covariates")
    categorical = as_categorical(categorical) or None
    time, event = column_arg(time, "time", optional=False), column_arg(event, "event", optional=False)
    entry, weights = column_arg(entry, "entry"), column_arg(weights, "weights")
    strata_cols = as_columns(strata, "strata")
    needed = [time, event] + ([entry] if entry else []) + strata_cols + ([weights] if weights else [])
    check_columns(data, needed)
    check_complete(data, needed)
    design = build_design(data, covariates, categorical)
    ev = _event_array(data, event)
    sv = None
    if strata_cols:
        sv = (data[strata_cols].astype(str).agg("/".join, axis=1) if len(strata_cols) > 1
              else data[strata_cols[0]])
    fit = firth_cox_fit(design.X, data[time].to_numpy(), ev,
                        entry=None if entry is None else data[entry].to_numpy(), strata=sv,
                        weights=None if weights is None else data[weights].to_numpy(),
                        ties=ties, conf_level=conf_level, max_iter=max_iter,
                        term_names=design.names)
    se = np.sqrt(np.diag(fit.var))
    with np.errstate(over="ignore"):
        terms = terms_frame(design.names, fit.coef, se, conf_level=conf_level,
                            levels=term_levels(design), estimable=~fit.aliased,
                            notes=[fit.alias_notes.get(j, "") for j in range(len(design.names))],
                            lower=np.exp(fit.ci[:, 0]), upper=np.exp(fit.ci[:, 1]),
                            statistic=fit.lr_chisq, p=_st.chi2.sf(fit.lr_chisq, 1))
    p = int((~fit.aliased).sum())
    tests = pd.DataFrame({"test": ["penalized likelihood ratio"], "statistic": [fit.global_lr],
                          "df": [p], "p": [float(_st.chi2.sf(fit.global_lr, p))]},
                         columns=_TEST_COLUMNS)
    choices = {"method": "Firth penalised likelihood (Heinze & Schemper 2001)",
               "ties": ties, "strata": strata_cols or None,
               "reference_levels": dict(design.reference_levels), "entry": entry,
               "weights": weights, "conf_level": conf_level,
               "ci": "profile penalised likelihood", "p": "penalised likelihood ratio"}
    return FirthCoxResult(terms, tests, fit.loglik, fit.n, fit.n_events, fit.converged, choices,
                          fit)
