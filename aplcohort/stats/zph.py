"""Test of proportional hazards, as R ``survival::cox.zph`` (survival >= 3.0).

The current R test is a score test: for each term, the Cox model is augmented by
the covariate(s) times ``g(t)`` (``g`` = the chosen transform of time, centred at
its mean over the events) and the score test for the added coefficients, at the
fitted coefficients and with the full information matrix of the augmented model,
is reported (the first-block score is zero at the estimate).  The global test adds
every term at once.  A categorical covariate is one term with ``df`` = number of
its indicator columns, as in R (``terms=TRUE``).

Transforms: ``"km"`` (default; ``1 - S(t-)`` from the Kaplan-Meier estimate of all
rows, unweighted, without strata), ``"rank"`` (ranks of all times, ties averaged)
and ``"identity"``.  Counting-process ``(entry, time]`` fits are supported (R uses
the stop time).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from ._lazy import scipy_stats as _st

from .._results import Result
from ..errors import InputError

__all__ = ["cox_zph", "ZphResult"]

_COLUMNS = ["term", "chisq", "df", "p"]


@dataclass(frozen=True, eq=False)
class ZphResult(Result):
    """Proportional-hazards tests.

    Attributes
    ----------
    table : DataFrame
        ``[term, chisq, df, p]``, one row per covariate and a final "GLOBAL" row.
    transform : str
    """

    table: pd.DataFrame
    transform: str
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
    transform : {"km", "rank", "identity"}
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
    if transform not in ("km", "rank", "identity"):
        raise InputError(f"transform must be 'km', 'rank' or 'identity', got {transform!r}")
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
    else:
        tt = _km_left(time, event, entry)
    g_row = tt - tt[event == 1].mean()
    # g at each event time: all rows with that time share it
    sidx, tau, schoen, V = eng.event_terms(fit.coef)
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
    for term, cols in design.assign.items():
        cols = list(cols)
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
    return ZphResult(table, transform, choices)
