"""Weighted Fine–Gray model, as R ``finegray()`` + weighted ``coxph``.

``stats.finegray`` (a port of cmprsk ``crr``) takes no case weights, so the
weighted subdistribution-hazard model is fitted here the way R survival does
it: the data are expanded by :func:`finegray_data` (R ``finegray(Surv(t,
factor(code)) ~ ., data, etype = cause, weights = w)``) and a Cox model is fitted
on ``(fgstart, fgstop]`` with weights ``fgwt`` and a robust variance clustered
on the patient (R ``coxph(Surv(fgstart, fgstop, fgstatus) ~ g, weights = fgwt,
cluster = id)``).

Expansion (right-censored data, no strata, no delayed entry): ``G`` is the
Kaplan–Meier curve of censoring computed **without the case weights** (as R's
``finegray``; the user weights are then *multiplied* into ``fgwt``), with
events placed before censorings at tied times. A patient with a competing event
at ``t_i`` stays in the risk set after ``t_i``: a first row ``(0, c_1]`` (``c_1``
= first censoring time ``>= t_i``, or ``t_i`` if none) with weight 1, then rows
``(c_j, c_{j+1}]`` with weight ``G(c_j) / G(t_i-)``, kept only where an event of
the cause of interest falls in the interval (other intervals contribute
nothing). Everyone else keeps one row ``(0, t_i]``.

Validated against R survival 3.5-3 (``tests/reference/adjust.R``): the
expanded data row by row and the weighted fit's coefficient and robust SE.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats as st

from .._align import align_rows
from ..errors import InputError
from ._common import check_columns, design
from .effects import WeightedCoxResult, fit_terms

__all__ = ["finegray_data", "weighted_finegray"]


def finegray_data(time, code, cause=1) -> pd.DataFrame:
    """Expanded (start, stop] data with Fine–Gray weights (R ``finegray``).

    Parameters
    ----------
    time : array_like
    code : array_like of int
        0 = censored, else the cause.
    cause : int
        Cause of interest.

    Returns
    -------
    DataFrame ``[row, fgstart, fgstop, fgstatus, fgwt]`` (``row`` = position in
    the input; ``fgwt`` without case weights).

    Examples
    --------
    >>> fg = finegray_data([1, 2, 2, 3, 4, 4, 5, 6, 7, 8], [1, 2, 0, 2, 0, 1, 2, 0, 1, 0])
    >>> fg[fg["row"] == 1][["fgstart", "fgstop", "fgwt"]].round(4).values.tolist()
    [[0.0, 2.0, 1.0], [2.0, 4.0, 0.875], [6.0, 8.0, 0.4667]]
    """
    time, code = align_rows("finegray_data", time=time, code=code)
    t = np.asarray(time, float)
    c = np.asarray(code)
    if t.ndim != 1 or t.shape != c.shape:
        raise InputError("time and code must be 1-D of the same length")
    if not np.isfinite(t).all() or (t <= 0).any():
        raise InputError("finegray_data needs finite times > 0")
    c = c.astype(int)
    if cause not in set(c.tolist()):
        raise InputError(f"no event of cause {cause} in the data")
    # censoring KM, events before censorings at tied times, unweighted: at a censoring
    # time u the risk set is t > u plus the censorings at u (one sort, no loop)
    ctimes, n_cens = np.unique(t[c == 0], return_counts=True)
    at_risk = t.size - np.searchsorted(np.sort(t), ctimes, side="right") + n_cens
    G = np.cumprod(1 - n_cens / at_risk)
    maxtime = t.max()
    ct2 = np.concatenate([ctimes, [maxtime]])
    cp2 = np.concatenate([[1.0], G])          # G at the start of (ct2[j-1], ct2[j]]
    ev_times = np.unique(t[c == cause])
    # interval k = (ct2[k-1], ct2[k]] (k = 0: (0, ct2[0]]) containing an event of interest
    keep_int = np.zeros(ct2.size + 1, bool)
    keep_int[np.searchsorted(ct2, ev_times, side="left")] = True
    # rows: one per subject; a competing event (time t_i) runs to the end of its censoring
    # interval (ct2[k0], weight 1), then one row per later kept interval with weight
    # G(interval) / G(t_i-); built with repeat / cumsum in input order
    n = t.size
    kept = np.arange(1, ct2.size)
    kept = kept[keep_int[kept] & (ct2[kept] > ct2[kept - 1])]
    comp = np.flatnonzero((c != 0) & (c != cause))
    k0 = np.searchsorted(ct2, t[comp], side="left")          # first ct2 >= t_i
    g_ti = cp2[np.searchsorted(ctimes, t[comp], side="left")]
    inside = k0 < ct2.size
    extra = np.zeros(n, dtype=np.int64)
    first = np.searchsorted(kept, k0, side="right")           # first kept k > k0
    extra[comp[inside]] = kept.size - first[inside]
    size = 1 + extra
    row = np.repeat(np.arange(n), size)
    head = np.cumsum(size) - size
    k = np.arange(row.size) - head[row]
    start = np.zeros(row.size)
    stop = t[row].astype(float)
    wt = np.ones(row.size)
    status = ((c == cause).astype(np.int64))[row]
    stop[head[comp[inside]]] = ct2[k0[inside]]
    add = k > 0
    pos = np.zeros(n, dtype=np.int64)
    pos[comp] = np.arange(comp.size)
    ra = pos[row[add]]
    kk = kept[first[ra] + k[add] - 1]
    start[add] = ct2[kk - 1]
    stop[add] = ct2[kk]
    wt[add] = cp2[kk] / g_ti[ra]
    return pd.DataFrame({"row": row.astype(np.int64), "fgstart": start, "fgstop": stop,
                         "fgstatus": status, "fgwt": wt})


def weighted_finegray(data: pd.DataFrame, time: str, code: str, treatment: str, weights, *,
                      cause=1, id=None, conf_level=0.95, reference=None,
                      ties="efron") -> WeightedCoxResult:
    """Weighted Fine–Gray subdistribution-hazard ratio for the treatment (robust SE).

    Parameters
    ----------
    data : DataFrame
    time, code, treatment : str
    weights : PSWeights, MatchResult or Series
        As in :func:`~aplcohort.adjust.weighted_cox` (weight 0 leaves a patient out,
        listed in ``.excluded``; NaN, negative or missing weights are errors).
    cause : int
    id : str, optional
        Patient id (cluster of the robust variance); default one row per patient.
    conf_level : float
    reference : optional
        Reference group of the treatment (default: the first level in sorted order).
    ties : {"efron", "breslow"}
        Ties of the weighted Cox fit on the expanded data. ``"efron"`` is R coxph's
        default; ``"breslow"`` gives cmprsk ``crr``'s estimate (crr handles tied event
        times as Breslow does), which the plan uses so that the unadjusted SHR equals the
        plan's own Fine–Gray model.

    Returns
    -------
    WeightedCoxResult
        ``scale = "SHR"``; ``estimate/lower/upper`` are subdistribution HRs.

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"t": [1, 2, 2, 3, 4, 4, 5, 6, 7, 8], "c": [1, 2, 0, 2, 0, 1, 2, 0, 1, 0],
    ...                   "g": ["a", "b"] * 5})
    >>> weighted_finegray(d, "t", "c", "g", pd.Series([1.0] * 10)).scale
    'SHR'

    Validated against R ``coxph(Surv(fgstart, fgstop, fgstatus) ~ g, weights = fgwt,
    cluster = id, data = finegray(..., weights = w))``.
    """
    from ..stats.cox import cox_fit
    from .._checks import check_conf_level
    from .curves import _weights_array
    conf_level = check_conf_level(conf_level)
    w, label, excluded = _weights_array(weights, data)
    check_columns(data, [time, code, treatment] + ([id] if id else []), "analysis")
    d = data.loc[w.index]
    if d[[time, code, treatment]].isna().any().any():
        raise InputError(f"weighted rows with missing {time}/{code}/{treatment}")
    from .effects import _treatment_levels
    groups = _treatment_levels(d[treatment], reference)
    fg = finegray_data(d[time].to_numpy(float), d[code].to_numpy(), cause)
    X, _ = design(d, [treatment], categorical={treatment: groups[0]})
    Xe = X.to_numpy()[fg["row"].to_numpy()]
    ww = fg["fgwt"].to_numpy() * w.to_numpy(float)[fg["row"].to_numpy()]
    cl = (d.index.to_numpy() if id is None else d[id].to_numpy())[fg["row"].to_numpy()]
    fit = cox_fit(Xe, fg["fgstop"].to_numpy(), fg["fgstatus"].to_numpy(float),
                  entry=fg["fgstart"].to_numpy(), weights=ww, robust=True, cluster=cl, ties=ties,
                  term_names=list(X.columns))
    k = X.shape[1]
    tests = pd.DataFrame({"test": ["robust wald", "robust score"],
                          "statistic": [float(fit.wald_test), float(fit.robust_score_test)],
                          "df": [k, k], "p": [float(st.chi2.sf(fit.wald_test, k)),
                                             float(st.chi2.sf(fit.robust_score_test, k))]})
    return WeightedCoxResult(terms=fit_terms(fit, list(X.columns), conf_level), tests=tests,
                             n=int(len(d)), events=int((d[code] == cause).sum()),
                             weighting=label + "; censoring distribution unweighted (as R "
                             "finegray), weights multiplied into fgwt", scale="SHR",
                             conf_level=conf_level, ties=ties, excluded=excluded)
