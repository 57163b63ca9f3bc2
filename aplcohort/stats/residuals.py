"""Residuals of a Cox model, as R ``residuals.coxph`` (survival 3.5).

Types (R's names): ``"martingale"``, ``"deviance"``, ``"score"``, ``"schoenfeld"``,
``"scaledsch"`` (scaled Schoenfeld), ``"dfbeta"``, ``"dfbetas"``.  R's conventions:

* martingale ``status - exp(lp) * H_i`` (``H_i`` the cumulative hazard over the row's
  interval, Efron-adjusted at its own tied death time); not weighted; the exact method
  uses R's Breslow form (``coxmart2``);
* score residuals are per row and unweighted; ``dfbeta = score %*% V`` and ``dfbetas =
  dfbeta / sqrt(diag(V))`` with ``V`` the model-based (naive) variance, multiplied by the
  case weights (R's default ``weighted = TRUE`` for these two);
* Schoenfeld residuals: one row per event, ``x_i`` minus the (Efron-averaged) risk-set
  mean, ordered by stratum then time; scaled Schoenfeld ``= r %*% V * (number of events)
  + beta``;
* ``weighted=True`` multiplies any type by the case weights (R ``weighted=TRUE``).
* As R, the exact method has no score-type residuals (score, Schoenfeld, dfbeta).

Frames are keyed by the input rows (index = the row labels of the fitted data); the
Schoenfeld frames have one row per event with its ``time`` (and ``strata``).

Validated against: R survival 3.5-3 ``residuals(fit, type)`` on lung (Efron, Breslow,
non-integer weights, strata), lung in months (heavy ties; exact), veteran, ovarian and
heart ((start, stop] data): relative difference below 1e-8 (tests/test_cox_extras.py).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._checks import check_bool
from ..errors import InputError
from .coxpredict import _model

__all__ = ["cox_residuals", "RESIDUAL_TYPES"]

RESIDUAL_TYPES = ("martingale", "deviance", "score", "schoenfeld", "scaledsch", "dfbeta",
                  "dfbetas")


def _engine_parts(m):
    fit = m.fit
    keep = np.flatnonzero(~fit.aliased) if fit.aliased is not None else np.arange(m.p)
    return fit._engine, keep, fit.coef[keep]


def _martingale(m):
    """status - risk * cumulative hazard (R coxph residuals), per input row."""
    eng, keep, coef = _engine_parts(m)
    eta = eng.X @ coef
    res = np.asarray(m.event, float).copy()
    for st in eng.strata:
        if len(st.tau) == 0:
            continue
        eta_s = eta[st.idx]
        c = eta_s.max()
        risk = np.exp(eta_s - c)
        r = eng.w[st.idx] * risk
        den, _m, _s2, meanwt = eng._stratum_terms(st, eta_s, r, eng.X[st.idx], moments=0)
        J = len(st.tau)
        a = meanwt / den
        haz = np.bincount(st.row_j, weights=a, minlength=J)
        ehaz = np.bincount(st.row_j, weights=(1.0 - st.frac) * a, minlength=J)
        cH = np.concatenate([[0.0], np.cumsum(haz)])
        H = cH[st.j_stop] - cH[st.j_entry]
        # a death's own event time: the Efron-weighted hazard instead of the full one
        H[st.dead] += ehaz[st.dead_j] - haz[st.dead_j]
        res[st.idx] -= risk * H
    return res


def _schoenfeld(m):
    """(rows of the events in R's order, residual matrix (d, p_keep))."""
    eng, keep, coef = _engine_parts(m)
    eta = eng.X @ coef
    rows, out = [], []
    for si, st in enumerate(eng.strata):
        if len(st.tau) == 0:
            continue
        eta_s = eta[st.idx]
        r = eng.w[st.idx] * np.exp(eta_s - eta_s.max())
        Xs = eng.X[st.idx]
        _den, mk, _s2, _mw = eng._stratum_terms(st, eta_s, r, Xs, moments=1)
        J = len(st.tau)
        mbar = np.zeros((J, eng.p))
        np.add.at(mbar, st.row_j, mk)
        mbar /= st.d[:, None]
        dead = st.dead[np.argsort(st.time[st.dead], kind="stable")]
        dj = np.searchsorted(st.tau, st.time[dead])
        rows.append(st.idx[dead])
        out.append(Xs[dead] - mbar[dj])
    if not rows:
        return np.zeros(0, int), np.zeros((0, len(keep)))
    return np.concatenate(rows), np.vstack(out)


def cox_residuals(result, type="martingale", *, weighted=None) -> pd.DataFrame:
    """Residuals of a fitted Cox model (R ``residuals(fit, type = )``).

    Parameters
    ----------
    result : CoxResult
        From :func:`aplcohort.stats.cox.coxph`.
    type : {"martingale", "deviance", "score", "schoenfeld", "scaledsch", "dfbeta", "dfbetas"}
    weighted : bool, optional
        Multiply by the case weights; default as R (True for dfbeta / dfbetas only).

    Returns
    -------
    DataFrame
        martingale / deviance: one column named ``type``; score / dfbeta / dfbetas: one
        column per term; both indexed by the fitted data's row labels.  schoenfeld /
        scaledsch: one row per event (index = its row label), columns ``time``
        (``strata`` when stratified) and one per term.  An aliased term (coefficient NA)
        has NaN residuals.

    Examples
    --------
    >>> import pandas as pd
    >>> from aplcohort.stats.cox import coxph
    >>> df = pd.DataFrame({"t": [5, 8, 12, 3, 9, 15, 7, 11], "e": [1, 1, 0, 1, 1, 0, 1, 0],
    ...                    "age": [60, 52, 45, 70, 58, 40, 66, 49]})
    >>> fit = coxph(df, time="t", event="e", covariates=["age"])
    >>> round(float(cox_residuals(fit)["martingale"].sum()), 10)   # sums to 0
    0.0

    Validated against: R survival 3.5-3 ``residuals.coxph``.
    """
    if type not in RESIDUAL_TYPES:
        raise InputError(f"type must be one of {RESIDUAL_TYPES}, got {type!r}")
    weighted = check_bool("weighted", weighted, allow_none=True)
    m = _model(result)
    if m.ties == "exact" and type not in ("martingale", "deviance"):
        raise InputError(f"{type} residuals are not available for ties='exact' (as in R); "
                         "refit with ties='efron'")
    if weighted is None:
        weighted = type in ("dfbeta", "dfbetas")
    names = list(m.design.names)
    idx = m.index
    if type in ("martingale", "deviance"):
        r = _martingale(m)
        if type == "deviance":
            st = np.asarray(m.event, float)
            with np.errstate(divide="ignore", invalid="ignore"):
                lg = np.where(st == 0, 0.0, st * np.log(np.where(st == 0, 1.0, st - r)))
            r = np.sign(r) * np.sqrt(-2.0 * (r + lg))
        if weighted:
            r = r * m.w
        return pd.DataFrame({type: r}, index=idx)
    eng, keep, coef = _engine_parts(m)
    Vk = m.naive_var[np.ix_(keep, keep)]
    full = np.full((0, m.p), np.nan)
    if type in ("schoenfeld", "scaledsch"):
        rows, r = _schoenfeld(m)
        if type == "scaledsch":
            r = r @ Vk * len(rows) + coef
        if weighted:
            r = r * m.w[rows][:, None]
        full = np.full((len(rows), m.p), np.nan)
        full[:, keep] = r
        cols = {"time": m.time[rows]}
        if m.strata is not None:
            cols["strata"] = pd.Series(m.strata[rows], dtype=object).to_numpy()
        out = pd.DataFrame(cols, index=idx[rows])
        for j, nm in enumerate(names):
            out[nm] = full[:, j]
        return out
    s = eng.score_residuals(coef)
    if type == "dfbeta":
        s = s @ Vk
    elif type == "dfbetas":
        s = (s @ Vk) / np.sqrt(np.diag(Vk))
    if weighted:
        s = s * m.w[:, None]
    full = np.full((m.n, m.p), np.nan)
    full[:, keep] = s
    return pd.DataFrame(full, index=idx, columns=names)
