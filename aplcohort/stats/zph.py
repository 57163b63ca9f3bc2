"""Test of proportional hazards, as R ``survival::cox.zph`` (survival >= 3.0).

The current R test is a score test: for each term, the Cox model is augmented by
the covariate(s) times ``g(t)`` (``g`` = the chosen transform of time, centred at
its mean over the events) and the score test for the added coefficients, at the
fitted coefficients and with the full information matrix of the augmented model,
is reported (the first-block score is zero at the estimate).  The global test adds
every term at once.  A categorical covariate is one term with ``df`` = number of
its indicator columns, as in R (``terms=TRUE``).

Transforms: ``"km"`` (default; ``1 - S(t-)`` from the Kaplan-Meier estimate of all
rows, unweighted, without strata), ``"rank"`` (ranks of all times, ties averaged),
``"log"`` (``log(time)``) and ``"identity"``.  Counting-process ``(entry, time]`` fits
are supported (R uses the stop time).

The result also carries what ``plot.cox.zph`` draws: the scaled Schoenfeld residuals
of R's ``cox.zph(fit)$y`` against the transformed event times ``$x`` (one column per
term; a categorical term is collapsed as R does, ``r %*% coef`` scaled, plus 1) with the
variance ``$var``, and :func:`zph_smooth` gives the natural-spline fit (``df = 4``) with
its +-2 SE band as R's ``plot.cox.zph``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from ._lazy import scipy_stats as _st

from .._results import Result
from .._checks import check_int
from ..errors import InputError

__all__ = ["cox_zph", "ZphResult", "zph_smooth", "ZPH_TRANSFORMS"]

ZPH_TRANSFORMS = ("km", "rank", "log", "identity")

_COLUMNS = ["term", "chisq", "df", "p"]


@dataclass(frozen=True, eq=False)
class ZphResult(Result):
    """Proportional-hazards tests.

    Attributes
    ----------
    table : DataFrame
        ``[term, chisq, df, p]``, one row per covariate and a final "GLOBAL" row.
    transform : str
    residuals : DataFrame
        One row per event (R's order: stratum, then time): ``time``, ``x`` (the
        transformed time), ``strata`` (stratified fits) and one column per term with
        the scaled Schoenfeld residual (R ``cox.zph(fit)$y``; NaN where the covariate is
        constant within the stratum, as R).
    var : ndarray (terms, terms)
        R ``cox.zph(fit)$var`` (used for the +-2 SE band of :func:`zph_smooth`).
    centers : dict
        ``{term: value}`` the residuals of a term scatter around under proportional
        hazards: its coefficient, or 1 for a categorical term of several columns (R).
    """

    table: pd.DataFrame
    transform: str
    residuals: pd.DataFrame = None
    var: np.ndarray = None
    centers: dict = None
    _choices: dict = field(default_factory=dict, repr=False)

    kind = "cox_zph"

    @property
    def title(self) -> str:
        return "Test of proportional hazards (score test, R cox.zph)"

    @property
    def choices(self) -> dict:
        return dict(self._choices)

    @property
    def tables(self) -> dict:
        return {"proportional hazards": self.table}


def _km_left(time, event, entry):
    """1 - S(t-) for every row: unweighted Kaplan-Meier (left-continuous)."""
    tau = np.unique(time[event == 1])
    st = np.sort(time)
    n_risk = len(time) - np.searchsorted(st, tau, side="left")
    if entry is not None:
        se = np.sort(entry)
        n_risk = n_risk - (len(entry) - np.searchsorted(se, tau, side="left"))
    d = np.bincount(np.searchsorted(tau, time[event == 1]), minlength=len(tau))
    surv = np.cumprod(1.0 - d / n_risk)
    k = np.searchsorted(tau, time, side="left")  # event times strictly before t
    return 1.0 - np.concatenate([[1.0], surv])[k]


def cox_zph(result, transform: str = "km") -> ZphResult:
    """Score test of proportional hazards for a fitted Cox model (R ``cox.zph``).

    Parameters
    ----------
    result : CoxResult
        From :func:`aplcohort.stats.cox.coxph`.
    transform : {"km", "rank", "log", "identity"}
        Transform of time (R's default is "km").

    Returns
    -------
    ZphResult
        ``.table`` columns ``[term, chisq, df, p]`` with a "GLOBAL" row.

    Examples
    --------
    >>> import pandas as pd
    >>> from aplcohort.stats.cox import coxph
    >>> df = pd.DataFrame({"t": [5, 8, 12, 3, 9, 15, 7, 11, 4, 6],
    ...                    "e": [1, 1, 0, 1, 1, 0, 1, 0, 1, 1],
    ...                    "age": [60, 52, 45, 70, 58, 40, 66, 49, 72, 55]})
    >>> z = cox_zph(coxph(df, time="t", event="e", covariates=["age"]))
    >>> list(z.table["term"])
    ['age', 'GLOBAL']

    Validated against: R survival 3.5-3 ``cox.zph`` (transforms km, rank, identity)
    on lung (Efron, Breslow, strata, weights), veteran, ovarian and heart
    (counting process); relative difference about 1e-12.
    """
    fit = getattr(result, "_fit", None)
    design = getattr(result, "_design", None)
    if fit is None or design is None:
        raise InputError("cox_zph needs a CoxResult returned by aplcohort.stats.cox.coxph")
    if transform not in ZPH_TRANSFORMS:
        raise InputError(f"transform must be one of {ZPH_TRANSFORMS}, got {transform!r}")
    if fit.infinite.any() or not fit.converged:
        raise InputError("cox_zph: the Cox model did not converge or has an infinite "
                         "coefficient; the proportional-hazards test is not defined")
    eng = fit._engine
    p = eng.p
    # row-level times (stop), event and entry of the original data order
    time = np.empty(eng.n)
    entry = None
    has_entry = eng.strata and eng.strata[0].entry is not None
    if has_entry:
        entry = np.empty(eng.n)
    for st in eng.strata:
        time[st.idx] = st.time
        if has_entry:
            entry[st.idx] = st.entry
    event = eng.event
    if transform == "identity":
        tt = time
    elif transform == "rank":
        tt = _st.rankdata(time)
    elif transform == "log":
        if np.any(time <= 0):
            raise InputError("transform='log' needs positive times; the data have times "
                             "<= 0 (use 'km' or 'rank')")
        tt = np.log(time)
    else:
        tt = _km_left(time, event, entry)
    g_row = tt - tt[event == 1].mean()
    # g at each event time: all rows with that time share it
    # R drops NA (aliased) coefficients before the test; the engine holds the kept columns
    keep = (np.flatnonzero(~fit.aliased) if fit.aliased is not None
            else np.arange(len(fit.coef)))
    sidx, tau, schoen, V = eng.event_terms(fit.coef[keep])
    # map event time -> g (same function of time for every row)
    order = np.argsort(time, kind="stable")
    pos = np.searchsorted(time[order], tau, side="left")
    g = g_row[order][pos]
    I11 = V.sum(axis=0)
    I12 = np.einsum("j,jab->ab", g, V)
    I22 = np.einsum("j,jab->ab", g * g, V)
    u2 = g @ schoen
    imat = np.block([[I11, I12], [I12.T, I22]])
    rows = []
    pos = {c: i for i, c in enumerate(keep)}
    for term, cols in design.assign.items():
        cols = [pos[c] for c in cols if c in pos]
        if not cols:
            continue
        kk = list(range(p)) + [p + c for c in cols]
        u = np.concatenate([np.zeros(p), u2[cols]])
        sub = imat[np.ix_(kk, kk)]
        stat = float(u @ np.linalg.solve(sub, u))
        rows.append((term, stat, len(cols)))
    u = np.concatenate([np.zeros(p), u2])
    rows.append(("GLOBAL", float(u @ np.linalg.solve(imat, u)), p))
    table = pd.DataFrame({"term": [r[0] for r in rows],
                          "chisq": [r[1] for r in rows],
                          "df": [int(r[2]) for r in rows],
                          "p": [float(_st.chi2.sf(r[1], r[2])) for r in rows]},
                         columns=_COLUMNS)
    choices = {"transform": transform, "test": "score test (survival >= 3.0)",
               "ties": fit.ties, "strata": result.choices.get("strata")}
    resid, zvar, centers = _scaled_residuals(result, design, tt, I11)
    return ZphResult(table, transform, resid, zvar, centers, choices)


def _scaled_residuals(result, design, tt, imat):
    """R ``cox.zph(fit)$y``, ``$x``, ``$time``, ``$var`` (survival 3.5 code, terms=TRUE)."""
    from .coxpredict import _model
    from .residuals import _schoenfeld

    m = _model(result)
    fit = m.fit
    keep = np.flatnonzero(~fit.aliased) if fit.aliased is not None else np.arange(m.p)
    fcoef = fit.coef[keep]
    rows, sres = _schoenfeld(m)
    if m.entry is not None:
        # R (counting process): rev(order(-strata, -stop)): tied times in reverse row order
        o = np.lexsort((-rows, m.time[rows], m.codes[rows]))
        rows, sres = rows[o], sres[o]
    # R: used[s, j] = events of stratum s if column j varies within the stratum
    X = m.X[:, keep]
    ns = len(m.levels)
    used = np.zeros((ns, keep.size))
    for k in range(ns):
        ik = m.codes == k
        dk = float(np.sum(np.asarray(m.event)[ik] == 1))
        used[k] = np.where(np.ptp(X[ik], axis=0) > 0, dk, 0.0) if ik.any() else 0.0
    # terms over the kept columns
    pos = {c: i for i, c in enumerate(keep)}
    asgn = []
    for term, cols in design.assign.items():
        cc = [pos[c] for c in cols if c in pos]
        if cc:
            asgn.append((term, cc))
    for _t, cc in asgn:
        if len(cc) > 1 and np.any(used[:, cc] == 0):
            used[:, cc] = used[:, cc].max(axis=1)[:, None]
    wtmat = sum(np.minimum.outer(u, u) for u in used)
    vmean = imat / np.where(wtmat == 0, 1.0, wtmat)
    nterm = len(asgn)
    multi = any(len(cc) > 1 for _t, cc in asgn)
    if multi:
        T = np.zeros((keep.size, nterm))
        for i, (_t, cc) in enumerate(asgn):
            T[cc, i] = 1.0 if len(cc) == 1 else fcoef[cc]
        sres = sres @ T
        vmean = T.T @ vmean @ T
        used = used[:, [cc[0] for _t, cc in asgn]]
    sres = np.array(sres, dtype=float)
    # rows are grouped by stratum (R's sgrp)
    rcodes = m.codes[rows]
    for k in range(ns):
        j = np.flatnonzero(rcodes == k)
        kk = np.flatnonzero(used[k] > 0)
        if j.size == 0:
            continue
        if kk.size:
            sres[np.ix_(j, kk)] = np.linalg.solve(vmean[np.ix_(kk, kk)],
                                                  sres[np.ix_(j, kk)].T).T
        drop = np.setdiff1d(np.arange(nterm), kk)
        sres[np.ix_(j, drop)] = np.nan
    centers = {t: float(fcoef[cc[0]]) if len(cc) == 1 else 1.0 for t, cc in asgn}
    for i, (t, _cc) in enumerate(asgn):
        sres[:, i] += centers[t]
    cols = {"time": m.time[rows], "x": np.asarray(tt, float)[rows]}
    if m.strata is not None:
        cols["strata"] = m.strata[rows]
    out = pd.DataFrame(cols, index=m.index[rows])
    for i, (term, _cc) in enumerate(asgn):
        out[term] = sres[:, i]
    return out, np.linalg.inv(vmean), centers


def _ns_basis(x, knots, lo, hi):
    """A basis of the natural cubic splines with boundary knots lo, hi and interior
    ``knots`` (the space of R ``splines::ns(..., intercept = TRUE)``; a fit and its
    pointwise SE do not depend on which basis of that space is used).  Truncated power
    form (Hastie, Tibshirani & Friedman, eq. 5.4-5.5) on x scaled to [0, 1]."""
    sc = (hi - lo) if hi > lo else 1.0
    u = (np.asarray(x, float) - lo) / sc
    xi = np.concatenate([[0.0], (np.asarray(knots, float) - lo) / sc, [1.0]])
    K = xi.size

    def dk(k):
        return (np.maximum(u - xi[k], 0) ** 3 - np.maximum(u - xi[K - 1], 0) ** 3) / \
            (xi[K - 1] - xi[k])

    cols = [np.ones_like(u), u] + [dk(k) - dk(K - 2) for k in range(K - 2)]
    return np.column_stack(cols)


def zph_smooth(z: ZphResult, term: str, *, df: int = 4, nsmo: int = 40) -> pd.DataFrame:
    """The smooth of scaled Schoenfeld residuals that R ``plot.cox.zph`` draws.

    A least-squares natural cubic spline (R ``ns(df = 4, intercept = TRUE)``, interior
    knots at the 1/3 and 2/3 quantiles of the evaluation grid and the event times
    together, as R) of the residuals on the transformed time, evaluated at ``nsmo``
    equally spaced points, with the band ``fit +- 2 sqrt(var[term] * s(x))`` where
    ``s(x) = p(x)' (X'X)^-1 p(x)`` (R's ``se = TRUE``).

    Parameters
    ----------
    z : ZphResult
    term : str
        A term of ``z.table`` (not "GLOBAL").
    df : int
        Spline degrees of freedom (R default 4; at least 2).
    nsmo : int
        Number of evaluation points (R default 40; an integer >= 2).

    Returns
    -------
    DataFrame ``[x, time, fit, lower, upper]`` (``time`` = ``x`` back on the time
    scale for the log transform, else NaN: km / rank are not invertible in general).

    Examples
    --------
    >>> import pandas as pd
    >>> from aplcohort.stats.cox import coxph
    >>> df = pd.DataFrame({"t": [5, 8, 12, 3, 9, 15, 7, 11, 4, 6, 2, 13],
    ...                    "e": [1, 1, 0, 1, 1, 0, 1, 0, 1, 1, 1, 1],
    ...                    "age": [60, 52, 45, 70, 58, 40, 66, 49, 72, 55, 75, 50]})
    >>> z = cox_zph(coxph(df, time="t", event="e", covariates=["age"]))
    >>> list(zph_smooth(z, "age").columns)
    ['x', 'time', 'fit', 'lower', 'upper']

    Validated against: R survival 3.5-3 ``plot.cox.zph`` computations (``yhat``,
    ``yhat +- 2 SE``) for every transform (tests/reference/cox_extras.R, ``zphsmooth``).
    """
    terms = [t for t in z.table["term"] if t != "GLOBAL"]
    if term not in terms:
        raise InputError(f"term {term!r} is not one of {terms}")
    df = check_int("df", df, minimum=2)   # 4.0 passed as a whole number before
    nsmo = check_int("nsmo", nsmo, minimum=2)
    res = z.residuals
    xx = res["x"].to_numpy(float)
    y = res[term].to_numpy(float)
    pred = np.linspace(xx.min(), xx.max(), int(nsmo))
    allx = np.concatenate([pred, xx])
    probs = np.linspace(0, 1, df)[1:-1]       # R: df - 1 - intercept interior knots
    knots = np.quantile(allx, probs)
    lo, hi = allx.min(), allx.max()
    P = _ns_basis(pred, knots, lo, hi)
    keep = ~np.isnan(y)
    Xm = _ns_basis(xx[keep], knots, lo, hi)
    if np.linalg.matrix_rank(Xm) < df:
        raise InputError(f"the spline fit for {term!r} is singular (too few distinct event "
                         "times); R skips the variable")
    coef, *_ = np.linalg.lstsq(Xm, y[keep], rcond=None)
    fit = P @ coef
    XtXi = np.linalg.inv(Xm.T @ Xm)
    seval = np.einsum("ij,jk,ik->i", P, XtXi, P)
    i = terms.index(term)
    band = 2 * np.sqrt(z.var[i, i] * seval)
    return pd.DataFrame({"x": pred, "time": np.exp(pred) if z.transform == "log" else
                         (pred if z.transform == "identity" else np.nan),
                         "fit": fit, "lower": fit - band, "upper": fit + band})
