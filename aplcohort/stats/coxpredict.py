"""Predictions from a Cox model, as R ``predict.coxph``, ``basehaz`` and ``survfit.coxph``.

* :func:`predict_lp` -- linear predictor / risk score (R ``predict(fit, type = "lp" |
  "risk")``), centred as R: by the model's ``means`` (R ``fit$means``: weighted column
  means, 0 for a column whose values are all in {-1, 0, 1}), or, with strata and the
  default ``reference = "strata"``, by the weighted means of each stratum;
* :func:`basehaz` -- cumulative baseline hazard per stratum (R ``basehaz(fit,
  centered=)``): at the means (``centered=True``) or at covariates 0;
* :func:`predict_survival` -- survival curves for covariate profiles with pointwise CIs
  (R ``survfit(fit, newdata = )``): R's defaults ``stype = 2`` (S = exp(-H)), ``ctype``
  by the fit's ties (Efron baseline hazard for ``ties="efron"``, Breslow otherwise),
  ``conf.type = "log"``, the variance ``varhaz + d' V d`` of the cumulative hazard
  (``V`` the model's variance -- the robust one when the fit is robust, as R); one curve
  per profile, per stratum when the profile does not name its stratum.

The curves come back in the shared curve shape
(:data:`~aplcohort.stats.shapes.CURVE_COLUMNS`, ``group`` = profile label;
``std_err`` = standard error of S = S x se(H)), so KM plots, tables and plans take
them.  Why our own code: lifelines' ``predict_survival_function`` has no confidence
intervals and uses the Breslow baseline whatever the ties; none of the Python peers
reproduces R's ``survfit.coxph`` variance.

Validated against: R survival 3.5-3 ``predict``, ``basehaz`` and ``survfit.coxph`` on
lung (Efron, Breslow, non-integer weights with robust variance, strata), lung in months
(heavy ties), veteran, ovarian and heart ((start, stop] data); relative difference
below 1e-8 (tests/test_cox_extras.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace

import numpy as np
import pandas as pd

from .._checks import check_bool
from ..errors import InputError
from .km import KMResult
from .shapes import curve_frame, z_value

__all__ = ["predict_lp", "basehaz", "predict_survival", "CoxSurvivalResult",
           "design_for", "CONF_TYPES"]

CONF_TYPES = ("log", "log-log", "plain")    # survfit.coxph conf.type (R default "log")


# ------------------------------------------------------------------ model arrays
def _model(result):
    """The arrays of a fitted :class:`~aplcohort.stats.cox.CoxResult` (cached on it)."""
    cache = result.__dict__.get("_pred_model")
    if cache is not None:
        return cache
    fit, design, inp = (getattr(result, "_fit", None), getattr(result, "_design", None),
                        getattr(result, "_inputs", None))
    if fit is None or design is None or inp is None:
        raise InputError("this needs a CoxResult returned by aplcohort.stats.cox.coxph")
    X = np.asarray(design.X, float)
    n, p = X.shape
    w = np.ones(n) if inp["weights"] is None else np.asarray(inp["weights"], float)
    beta = np.where(np.isnan(fit.coef), 0.0, fit.coef)
    # R fit$means: weighted means, 0 for columns with values in {-1, 0, 1} (nocenter)
    zero_one = np.array([np.isin(X[:, j], (-1.0, 0.0, 1.0)).all() for j in range(p)], bool)
    means = np.where(zero_one, 0.0, (w @ X) / w.sum()) if p else np.zeros(0)
    strata = inp["strata"]
    if strata is None:
        codes = np.zeros(n, int)
        levels = [None]
    else:
        codes, lv = pd.factorize(pd.Series(strata), sort=True)
        levels = [str(v) for v in lv]
    m = SimpleNamespace(
        X=X, n=n, p=p, w=w, beta=beta, means=means, time=inp["time"], event=inp["event"],
        entry=inp["entry"], strata=strata, codes=codes, levels=levels,
        strata_columns=inp["strata_columns"], index=inp["index"], ties=fit.ties,
        var=fit.robust_var if fit.robust_var is not None else fit.var,
        naive_var=fit.var, fit=fit, design=design,
        weighted=inp["weights"] is not None)
    result.__dict__["_pred_model"] = m
    return m


def design_for(result, newdata) -> np.ndarray:
    """The model's design matrix for ``newdata`` (same terms, levels and reference levels).

    Parameters
    ----------
    result : CoxResult
    newdata : DataFrame
        One row per profile, with every covariate of the model.

    Returns
    -------
    ndarray (len(newdata), p)
    """
    design = result._design
    if not isinstance(newdata, pd.DataFrame):
        raise InputError(f"newdata must be a DataFrame, got {type(newdata).__name__}")
    missing = [c for c in design.assign if c not in newdata.columns]
    if missing:
        raise InputError(f"newdata lacks the model covariate(s) {missing}; it has "
                         f"{list(newdata.columns)}")
    X = np.zeros((len(newdata), len(design.names)))
    for cov, idx in design.assign.items():
        s = newdata[cov]
        if s.isna().any():
            raise InputError(f"newdata has missing values in {cov!r}")
        levels = design.levels.get(cov)
        if levels is None:
            try:
                X[:, idx[0]] = s.to_numpy(dtype=float)
            except (TypeError, ValueError):
                raise InputError(f"covariate {cov!r} is numeric in the model; newdata has "
                                 f"{s.tolist()}") from None
            continue
        known = {str(v): k for k, v in enumerate(levels)}
        for r, v in enumerate(s.tolist()):
            k = known.get(str(v))
            if k is None:
                raise InputError(f"newdata: {cov!r} = {v!r} is not a level of the model "
                                 f"(levels {list(levels)})")
            if k > 0:
                X[r, idx[k - 1]] = 1.0
    return X


def _newdata_strata(m, newdata):
    """Stratum code of each newdata row, or None when newdata does not name strata."""
    cols = m.strata_columns or []
    if not cols or not all(c in newdata.columns for c in cols):
        return None
    lab = (newdata[cols].astype(str).agg("/".join, axis=1) if len(cols) > 1
           else newdata[cols[0]].astype(str))
    pos = {v: k for k, v in enumerate(m.levels)}
    bad = sorted({v for v in lab if v not in pos})
    if bad:
        raise InputError(f"newdata has strata {bad} not found in the model (strata {m.levels})")
    return np.array([pos[v] for v in lab], int)


# ------------------------------------------------------------------ predict
def predict_lp(result, newdata=None, *, type="lp", reference="strata") -> pd.Series:
    """Linear predictor or risk score, centred as R ``predict.coxph``.

    Parameters
    ----------
    result : CoxResult
    newdata : DataFrame, optional
        Covariate profiles; default the model's own rows.
    type : {"lp", "risk"}
        ``"lp"``: ``(x - center) beta``; ``"risk"``: ``exp(lp)``.
    reference : {"strata", "sample"}
        Centre (R's default ``"strata"``): with strata, each row by the weighted covariate
        means of its stratum (``newdata`` must then name the strata); ``"sample"``, or a
        model without strata: by the model's means (R ``fit$means``).

    Returns
    -------
    Series named ``type``, indexed as the model's rows (or ``newdata``).

    Examples
    --------
    >>> import pandas as pd
    >>> from aplcohort.stats.cox import coxph
    >>> df = pd.DataFrame({"t": [5, 8, 12, 3, 9, 15, 7, 11], "e": [1, 1, 0, 1, 1, 0, 1, 0],
    ...                    "age": [60, 52, 45, 70, 58, 40, 66, 49]})
    >>> fit = coxph(df, time="t", event="e", covariates=["age"])
    >>> round(float(predict_lp(fit).sum()), 10)   # centred at the mean age
    0.0

    Validated against: R ``predict(fit, type = "lp" | "risk")`` (reference "strata" and
    "sample").
    """
    if type not in ("lp", "risk"):
        raise InputError(f"type must be 'lp' or 'risk', got {type!r}")
    if reference not in ("strata", "sample"):
        raise InputError(f"reference must be 'strata' or 'sample', got {reference!r}")
    m = _model(result)
    if newdata is None:
        X, codes, index = m.X, m.codes, m.index
    else:
        X = design_for(result, newdata)
        codes = _newdata_strata(m, newdata)
        index = newdata.index
        if m.strata is not None and reference == "strata" and codes is None:
            raise InputError(f"the model is stratified by {m.strata_columns}: newdata must "
                             "have the strata column(s) for reference='strata' (R), or use "
                             "reference='sample'")
    if m.strata is not None and reference == "strata":
        smeans = np.vstack([(m.w[m.codes == k] @ m.X[m.codes == k]) / m.w[m.codes == k].sum()
                            for k in range(len(m.levels))])
        lp = np.einsum("np,p->n", X - smeans[codes], m.beta)
    else:
        lp = (X - m.means) @ m.beta
    val = lp if type == "lp" else np.exp(lp)
    return pd.Series(val, index=index, name=type)


# ------------------------------------------------------------------ baseline hazard
def _stratum_hazard(m, k, ctype):
    """R ``agsurv`` for stratum ``k`` (centred x, risk = exp((x - means) beta)).

    Returns dict of arrays over the stratum's distinct times: time, n_risk, n_event,
    n_censor, haz, varhaz, xbar (J, p) -- the cumulative versions are taken by the caller.
    """
    idx = np.flatnonzero(m.codes == k)
    Xc = m.X[idx] - m.means
    risk = np.exp(Xc @ m.beta)
    w = m.w[idx]
    stop = m.time[idx]
    dead = m.event[idx] == 1
    entry = None if m.entry is None else m.entry[idx]
    tt = np.unique(stop)
    J = tt.size
    jstop = np.searchsorted(tt, stop)
    wr = w * risk

    def at_risk(v):
        """sum of v over rows with stop >= t (and entry < t), at each t."""
        per = np.zeros((J,) + v.shape[1:])
        np.add.at(per, jstop, v)
        s = np.cumsum(per[::-1], axis=0)[::-1]
        if entry is not None:
            je = np.searchsorted(tt, entry, side="right")   # entry >= tt[j] for j < je
            pe = np.zeros((J + 1,) + v.shape[1:])
            np.add.at(pe, je, v)
            s = s - np.cumsum(pe[::-1], axis=0)[::-1][1:]   # rows with entry >= t
        return s

    nrisk = at_risk(wr)
    irisk = at_risk(w)
    xsum = at_risk(wr[:, None] * Xc)
    nevent = np.bincount(jstop, weights=w * dead, minlength=J)
    ncens = np.bincount(jstop, weights=w * ~dead, minlength=J)
    ndeath = np.bincount(jstop, weights=dead.astype(float), minlength=J).astype(int)
    with np.errstate(divide="ignore", invalid="ignore"):
        if ctype == 1:          # Breslow (R vartype 2)
            haz = nevent / nrisk
            varhaz = nevent / nrisk ** 2
            xbar = xsum / nrisk[:, None] * haz[:, None]
        else:                   # Efron (R agsurv5)
            erisk = np.bincount(jstop, weights=wr * dead, minlength=J)
            xsum2 = np.zeros((J, m.p))
            np.add.at(xsum2, jstop[dead], (wr[dead])[:, None] * Xc[dead])
            sum1 = np.zeros(J)
            sum2 = np.zeros(J)
            xb = np.zeros((J, m.p))
            for j in np.flatnonzero(ndeath > 0):
                dd = ndeath[j]
                f = np.arange(dd) / dd
                den = nrisk[j] - erisk[j] * f
                sum1[j] = np.mean(1 / den)
                sum2[j] = np.mean(1 / den ** 2)
                xb[j] = np.mean((xsum[j] - f[:, None] * xsum2[j]) / den[:, None] ** 2, axis=0)
            haz = nevent * sum1
            varhaz = nevent * sum2
            xbar = nevent[:, None] * xb
    haz = np.where(nevent > 0, haz, 0.0)
    varhaz = np.where(nevent > 0, varhaz, 0.0)
    xbar = np.where(nevent[:, None] > 0, xbar, 0.0)
    return {"time": tt, "n_risk": irisk, "n_event": nevent, "n_censor": ncens,
            "cumhaz": np.cumsum(haz), "varhaz": np.cumsum(varhaz),
            "xbar": np.cumsum(xbar, axis=0)}


def _ctype(m):
    return 2 if m.ties == "efron" else 1   # R survfit.coxph: ctype from the ties method


def basehaz(result, *, centered=True) -> pd.DataFrame:
    """Cumulative baseline hazard of a Cox model (R ``basehaz``).

    Parameters
    ----------
    result : CoxResult
    centered : bool
        ``True`` (R's default): the cumulative hazard at the model's means (R
        ``fit$means``, where 0/1 columns count as 0); ``False``: at covariates all 0.

    Returns
    -------
    DataFrame ``[strata, time, hazard]`` (``strata`` None without strata), one row per
    distinct time of each stratum; ``hazard`` is the cumulative hazard (R's name).

    Examples
    --------
    >>> import pandas as pd
    >>> from aplcohort.stats.cox import coxph
    >>> df = pd.DataFrame({"t": [5, 8, 12, 3, 9, 15, 7, 11], "e": [1, 1, 0, 1, 1, 0, 1, 0],
    ...                    "age": [60, 52, 45, 70, 58, 40, 66, 49]})
    >>> list(basehaz(coxph(df, time="t", event="e", covariates=["age"])).columns)
    ['strata', 'time', 'hazard']

    Validated against: R ``basehaz(fit, centered = TRUE / FALSE)``.
    """
    centered = check_bool("centered", centered)
    m = _model(result)
    shift = 1.0 if centered else np.exp(-float(m.means @ m.beta))
    parts = []
    for k, lev in enumerate(m.levels):
        h = _stratum_hazard(m, k, _ctype(m))
        parts.append(pd.DataFrame({"strata": pd.Series([lev] * h["time"].size, dtype=object),
                                   "time": h["time"], "hazard": h["cumhaz"] * shift}))
    return pd.concat(parts, ignore_index=True)


# ------------------------------------------------------------------ survival curves
@dataclass(frozen=True, eq=False)
class CoxSurvivalResult(KMResult):
    """Predicted survival curves of covariate profiles (R ``survfit(coxph, newdata=)``).

    The curve shape of :class:`~aplcohort.stats.km.KMResult` (``at``, ``median``,
    ``risk_table`` and the KM plots work on it): ``group`` = profile label (with the
    stratum appended when a profile is drawn in every stratum), ``estimate`` = S(t),
    ``std_err`` = S(t) x se(H(t)); ``n_risk``, ``n_event``, ``n_censor`` are the
    (weighted) counts of the model's data in the curve's stratum.

    Attributes
    ----------
    cumhaz : DataFrame
        ``[group, time, cumhaz, std_err]`` (std_err of the cumulative hazard, R's
        ``std.err``).
    profiles : DataFrame
        The profiles, one row per curve, with their linear predictor ``lp``.
    """

    kind = "cox_survival"
    cumhaz: pd.DataFrame = field(default=None)
    profiles: pd.DataFrame = field(default=None)
    ctype: str = "efron"

    @property
    def title(self) -> str:
        return "Predicted survival from a Cox model"

    @property
    def choices(self) -> dict:
        return {"conf_type": self.conf_type, "conf_level": self.conf_level,
                "survival": "exp(-cumulative hazard) (R stype 2)",
                "baseline hazard": ("Efron" if self.ctype == "efron" else "Breslow")
                + " (R ctype from the fit's ties)",
                "variance": "varhaz + d' V d (R survfit.coxph)",
                "groups": list(self.groups)}

    @property
    def tables(self) -> dict:
        return {"profiles": self.profiles, "median": self.median(), "curve": self.table}


def _ci(S, se, conf_type, z):
    """R ``survfit_confint`` with ``logse=TRUE`` (se = se of the cumulative hazard)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        if conf_type == "log":
            xx = np.where(S == 0, np.nan, S)
            return np.exp(np.log(xx) - z * se), np.minimum(np.exp(np.log(xx) + z * se), 1.0)
        if conf_type == "plain":
            se2 = se * S * z
            return np.maximum(S - se2, 0.0), np.minimum(S + se2, 1.0)
        xx = np.where((S == 0) | (S == 1), np.nan, S)
        se2 = z * se / np.log(xx)
        lo = np.exp(-np.exp(np.log(-np.log(xx)) - se2))
        hi = np.exp(-np.exp(np.log(-np.log(xx)) + se2))
        # R: NA at S == 1 (std 0): the interval is the point
        lo = np.where(S == 1, 1.0, lo)
        hi = np.where(S == 1, 1.0, hi)
        return lo, hi


def _profiles_frame(profiles):
    if profiles is None:
        return None
    if isinstance(profiles, dict):
        if not profiles:
            raise InputError("profiles is empty")
        return pd.DataFrame.from_dict(profiles, orient="index")
    if isinstance(profiles, pd.DataFrame):
        if profiles.empty:
            raise InputError("profiles is empty")
        return profiles
    raise InputError("profiles must be a DataFrame (index = labels) or a dict "
                     "{label: {covariate: value}}")


def predict_survival(result, profiles=None, *, conf_type="log", conf_level=0.95):
    """Survival curves with CIs for covariate profiles (R ``survfit(fit, newdata=)``).

    Parameters
    ----------
    result : CoxResult
    profiles : DataFrame or dict, optional
        One row per profile with every model covariate; the index (or dict key) is the
        curve label. A stratified model: a profile with the strata column gets the curve
        of its stratum, one without it a curve in every stratum (as R).  Default: one
        curve at the model's means (R ``survfit(fit)``; 0/1 columns at 0, as R).
    conf_type : {"log", "log-log", "plain"}
        Pointwise CI transform (R ``conf.type``; default "log", R's).
    conf_level : float

    Returns
    -------
    CoxSurvivalResult

    Examples
    --------
    >>> import pandas as pd
    >>> from aplcohort.stats.cox import coxph
    >>> df = pd.DataFrame({"t": [5, 8, 12, 3, 9, 15, 7, 11], "e": [1, 1, 0, 1, 1, 0, 1, 0],
    ...                    "age": [60, 52, 45, 70, 58, 40, 66, 49]})
    >>> fit = coxph(df, time="t", event="e", covariates=["age"])
    >>> cur = predict_survival(fit, {"age 50": {"age": 50}, "age 70": {"age": 70}})
    >>> list(cur.groups)
    ['age 50', 'age 70']

    Validated against: R survival 3.5-3 ``survfit(fit, newdata = )`` (surv, std.err,
    lower, upper, n.risk, n.event, n.censor).
    """
    if conf_type not in CONF_TYPES:
        raise InputError(f"conf_type must be one of {CONF_TYPES}, got {conf_type!r}")
    if not 0 < conf_level < 1:
        raise InputError(f"conf_level must be in (0, 1), got {conf_level}")
    m = _model(result)
    prof = _profiles_frame(profiles)
    if prof is None:
        X2 = m.means[None, :].copy()
        labels = ["mean covariates"]
        scodes = None
        shown = pd.DataFrame({nm: [v] for nm, v in zip(m.design.names, m.means)},
                             index=labels)
    else:
        X2 = design_for(result, prof)
        labels = [str(v) for v in prof.index]
        if len(set(labels)) != len(labels):
            raise InputError(f"profile labels must be unique, got {labels}")
        scodes = _newdata_strata(m, prof)
        shown = prof.copy()
        shown.index = labels
    x2 = X2 - m.means
    lp = x2 @ m.beta
    z = z_value(conf_level)
    V = m.var
    haz = {k: _stratum_hazard(m, k, _ctype(m)) for k in range(len(m.levels))}
    tabs, chz, groups, prow = [], [], [], []
    for i, lab in enumerate(labels):
        ks = range(len(m.levels)) if scodes is None else [scodes[i]]
        for k in ks:
            h = haz[k]
            g = lab if (m.strata is None or scodes is not None) else f"{lab}, {m.levels[k]}"
            r2 = np.exp(lp[i])
            H = h["cumhaz"] * r2
            dt = np.outer(h["cumhaz"], x2[i]) - h["xbar"]
            varh = (h["varhaz"] + np.einsum("jp,pq,jq->j", dt, V, dt)) * r2 ** 2
            se = np.sqrt(varh)
            S = np.exp(-H)
            lo, hi = _ci(S, se, conf_type, z)
            tabs.append(curve_frame(g, None, h["time"], S, S * se, lo, hi, h["n_risk"],
                                    h["n_event"], h["n_censor"]))
            chz.append(pd.DataFrame({"group": [g] * H.size, "time": h["time"], "cumhaz": H,
                                     "std_err": se}))
            groups.append(g)
            prow.append({"group": g, **shown.iloc[i].to_dict(),
                         "strata": m.levels[k], "lp": float(lp[i])})
    table = pd.concat(tabs, ignore_index=True)
    n_rec = tuple(int((m.codes == (k if scodes is None else scodes[i])).sum())
                  for i in range(len(labels))
                  for k in (range(len(m.levels)) if scodes is None else [scodes[i]]))
    profiles_out = pd.DataFrame(prow)
    if m.strata is None:
        profiles_out = profiles_out.drop(columns="strata")
    return CoxSurvivalResult(table=table, groups=tuple(groups), conf_type=conf_type,
                             conf_level=conf_level, weighted=m.weighted,
                             left_truncated=m.entry is not None, n_records=n_rec,
                             cumhaz=pd.concat(chz, ignore_index=True), profiles=profiles_out,
                             ctype="efron" if _ctype(m) == 2 else "breslow")
