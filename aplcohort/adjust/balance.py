"""Covariate balance before and after weighting or matching.

Conventions (those of ``MatchIt::summary(standardize = TRUE)`` 4.5.1, checked
against its source ``bal1var`` / ``wvar`` / ``pooled_sd``):

* every numeric covariate, and every level of a categorical covariate (0/1
  indicator, *all* levels, no reference dropped);
* means are weighted by the adjustment weights (matching weights for a match);
* **SMD** = (mean treated - mean control) / SD, where the SD denominator is
  computed on the *unadjusted* sample (so before and after share it):
  ATT: SD of the treated; ATC: of the controls; ATE, ATO, ATM and unadjusted:
  ``sqrt((var_treated + var_control) / 2)``; variances are the usual unbiased
  sample variance for continuous covariates and ``p (1 - p)`` for binary ones;
  when ``|difference| <= sqrt(machine eps)`` the SMD is that difference (~0);
* **variance ratio** = weighted variance treated / control with the
  reliability-weights formula ``sum w (x - m)^2 / (1 - sum w^2)`` (weights
  normalised to sum 1); not computed (NaN, ``note`` says why) for binary ones;
* with more than two groups every pair ``(a, b)`` (``a`` before ``b`` in group
  order) is reported as ``b`` minus ``a``, with the denominator averaging the
  variances of *all* groups (cobalt's convention for multi-category
  treatments), so that one covariate has one scale.

Validated against ``MatchIt::summary`` of MatchIt's own matches and against
``MatchIt:::bal1var`` with weights (``tests/reference/adjust.R``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .._results import Result
from ..errors import InputError
from ..stats._design import as_columns
from ._common import check_columns, design, levels_of
from .matching import MatchResult
from .weights import PSWeights

__all__ = ["balance", "BalanceResult", "weighted_table1"]

_TINY = np.sqrt(np.finfo(float).eps)
SMD_THRESHOLD = 0.1


def _wvar(x, w, binary):
    w = w / w.sum()
    m = np.sum(w * x)
    if binary:
        return m * (1 - m)
    return np.sum(w * (x - m) ** 2) / (1 - np.sum(w ** 2))


def _resolve(adjustment, data, treatment):
    """Return (weights Series aligned to the analysed rows or None, estimand, label)."""
    if adjustment is None:
        return None, "ATE", "unadjusted"
    if isinstance(adjustment, PSWeights):
        return adjustment.weights, adjustment.estimand, f"{adjustment.estimand} weights"
    if isinstance(adjustment, MatchResult):
        return adjustment.weights, "ATT", f"1:{adjustment.ratio} matching"
    if isinstance(adjustment, pd.Series):
        return adjustment, "ATE", "weights"
    raise InputError("adjustment must be PSWeights, MatchResult, a weight Series or None")


@dataclass(frozen=True)
class BalanceResult(Result):
    """Balance table (frozen).

    Attributes
    ----------
    table : DataFrame
        ``[covariate, level, comparison, sample, mean_treated, mean_control, smd,
        variance_ratio, note]``; ``sample`` is ``"unadjusted"`` or ``"adjusted"``;
        ``comparison`` is ``"<treated> vs <control>"``; ``level`` is empty for
        numeric covariates.
    estimand, adjustment : str
    sd_denominator : str
    """

    kind = "balance"

    table: pd.DataFrame
    groups: tuple
    estimand: str
    adjustment: str
    sd_denominator: str

    @property
    def title(self):
        return "Covariate balance"

    @property
    def choices(self):
        return {"adjustment": self.adjustment, "estimand": self.estimand,
                "SMD denominator": self.sd_denominator,
                "threshold": f"|SMD| < {SMD_THRESHOLD}"}

    @property
    def tables(self):
        return {"balance": self.table}

    def max_abs_smd(self) -> pd.DataFrame:
        """Largest |SMD| per sample (unadjusted / adjusted)."""
        return (self.table.assign(abs_smd=self.table["smd"].abs())
                .groupby("sample", sort=False)["abs_smd"].max().reset_index())

    def imbalanced(self, threshold=SMD_THRESHOLD) -> pd.DataFrame:
        """Rows of the adjusted sample with |SMD| >= threshold."""
        t = self.table
        return t[(t["sample"] == "adjusted") & (t["smd"].abs() >= threshold)]


def balance(data: pd.DataFrame, treatment: str, covariates, adjustment=None, *,
            categorical=None, order=None, estimand=None) -> BalanceResult:
    """Standardised mean differences and variance ratios before / after adjustment.

    Parameters
    ----------
    data : DataFrame
    treatment : str
    covariates : str or list of str
    adjustment : PSWeights, MatchResult, Series or None
        Weights for the "adjusted" rows (a Series must be indexed like ``data``).
        Rows without a weight (trimmed, missing covariates) are not in the
        adjusted sample; the unadjusted sample is every row complete in the
        covariates and treatment.
    categorical : list, optional
        Numeric columns to treat as categorical.
    order : list, optional
        Group order (second group = "treated" for two groups).
    estimand : str, optional
        Overrides the estimand that sets the SD denominator.

    Returns
    -------
    BalanceResult

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"tx": ["A", "B"] * 4, "age": [50, 60, 55, 65, 52, 58, 49, 70]})
    >>> b = balance(d, "tx", ["age"])
    >>> round(float(b.table["smd"].iloc[0]), 3)
    2.773
    """
    covariates = as_columns(covariates, "covariates")
    check_columns(data, [treatment] + covariates, "balance")
    w_series, est, label = _resolve(adjustment, data, treatment)
    est = (estimand or est).upper()
    df = data.dropna(subset=[treatment] + covariates)
    groups = levels_of(df[treatment], order)
    if len(groups) < 2:
        raise InputError(f"balance needs at least two groups; found {groups}")
    X, _ = design(df, covariates, categorical, full_dummies=True)
    tr = df[treatment].to_numpy()
    if w_series is not None:
        extra = set(w_series.index) - set(df.index)
        if extra:
            raise InputError(f"adjustment weights for rows not in the data: {sorted(extra)[:10]}")
        wa = w_series.reindex(df.index).to_numpy(float)
        wa = np.where(np.isnan(wa), 0.0, wa)
    if len(groups) == 2:
        pairs = [(groups[1], groups[0])]
        denom = {"ATT": "SD of the treated (unadjusted)",
                 "ATC": "SD of the controls (unadjusted)"}.get(
            est, "sqrt of the mean of the two groups' variances (unadjusted)")
    else:
        pairs = [(groups[b], groups[a]) for a in range(len(groups))
                 for b in range(a + 1, len(groups))]
        denom = "sqrt of the mean of all groups' variances (unadjusted)"
    rows = []
    for col in X.columns:
        x = X[col].to_numpy(float)
        binary = bool(np.all((x == 0) | (x == 1)))
        cov, _, lev = col.partition("=")
        ones = np.ones_like(x)
        var_g = {g: _wvar(x[tr == g], ones[tr == g], binary) for g in groups}
        for g1, g0 in pairs:
            if len(groups) == 2 and est == "ATT":
                sd = np.sqrt(var_g[g1])
            elif len(groups) == 2 and est == "ATC":
                sd = np.sqrt(var_g[g0])
            else:
                sd = np.sqrt(np.mean([var_g[g] for g in (groups if len(groups) > 2
                                                        else (g1, g0))]))
            samples = [("unadjusted", ones)] + ([("adjusted", wa)] if w_series is not None
                                                 else [])
            for sname, w in samples:
                m1, m0 = tr == g1, tr == g0
                if w[m1].sum() <= 0 or w[m0].sum() <= 0:
                    rows.append((cov, lev, f"{g1} vs {g0}", sname, np.nan, np.nan, np.nan,
                                 np.nan, "a group has no weight in this sample"))
                    continue
                mt = np.sum(w[m1] * x[m1]) / w[m1].sum()
                mc = np.sum(w[m0] * x[m0]) / w[m0].sum()
                diff = mt - mc
                note = ""
                if abs(diff) <= _TINY:
                    smd = diff
                elif not np.isfinite(sd) or sd < _TINY:
                    smd, note = np.nan, "no variation in the unadjusted sample"
                else:
                    smd = diff / sd
                if binary:
                    vr = np.nan
                    note = note or "binary: variance ratio not defined"
                else:
                    vr = (_wvar(x[m1][w[m1] > 0], w[m1][w[m1] > 0], False) /
                          _wvar(x[m0][w[m0] > 0], w[m0][w[m0] > 0], False))
                rows.append((cov, lev, f"{g1} vs {g0}", sname, mt, mc, smd, vr, note))
    table = pd.DataFrame(rows, columns=["covariate", "level", "comparison", "sample",
                                        "mean_treated", "mean_control", "smd",
                                        "variance_ratio", "note"])
    return BalanceResult(table=table, groups=tuple(groups), estimand=est, adjustment=label,
                         sd_denominator=denom)


def weighted_table1(data: pd.DataFrame, treatment: str, covariates, weights=None, *,
                    categorical=None, order=None) -> pd.DataFrame:
    """Table 1 by group, unweighted and weighted (long format).

    Parameters
    ----------
    data, treatment, covariates, categorical, order
        As :func:`balance`.
    weights : PSWeights, MatchResult, Series or None

    Returns
    -------
    DataFrame ``[variable, level, group, n, weighted_n, mean, sd, weighted_mean,
    weighted_sd]``: for a numeric covariate mean and SD; for a level of a
    categorical one the proportion in ``mean`` (``sd`` NaN). ``weighted_n`` is the
    sum of weights (the size of the pseudo-population). Rows missing a covariate
    are left out of that covariate's row only (``n`` shows how many remain).

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"tx": ["A", "B"] * 3, "sex": ["F", "M", "M", "M", "F", "F"]})
    >>> weighted_table1(d, "tx", ["sex"])["mean"].tolist()
    [0.6666666666666666, 0.3333333333333333, 0.3333333333333333, 0.6666666666666666]
    """
    covariates = as_columns(covariates, "covariates")
    check_columns(data, [treatment] + covariates, "table 1")
    w_series, _, _ = _resolve(weights, data, treatment)
    df = data.dropna(subset=[treatment])
    groups = levels_of(df[treatment], order)
    cat = {categorical} if isinstance(categorical, str) else set(categorical or [])
    rows = []
    for c in covariates:
        d = df.dropna(subset=[c])
        w = (np.ones(len(d)) if w_series is None else
             np.nan_to_num(w_series.reindex(d.index).to_numpy(float), nan=0.0))
        tr = d[treatment].to_numpy()
        s = d[c]
        if c in cat or not pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s):
            for lv in levels_of(s):
                x = (s == lv).to_numpy(float)
                for g in groups:
                    m = tr == g
                    wg = w[m]
                    rows.append((c, str(lv), g, int(m.sum()), float(wg.sum()),
                                 float(x[m].mean()) if m.any() else np.nan, np.nan,
                                 float(np.sum(wg * x[m]) / wg.sum()) if wg.sum() > 0 else np.nan,
                                 np.nan))
        else:
            x = s.to_numpy(float)
            for g in groups:
                m = tr == g
                wg, xg = w[m], x[m]
                pos = wg > 0
                rows.append((c, "", g, int(m.sum()), float(wg.sum()),
                             float(xg.mean()) if m.any() else np.nan,
                             float(xg.std(ddof=1)) if m.sum() > 1 else np.nan,
                             float(np.sum(wg * xg) / wg.sum()) if wg.sum() > 0 else np.nan,
                             float(np.sqrt(_wvar(xg[pos], wg[pos], False)))
                             if pos.sum() > 1 else np.nan))
    return pd.DataFrame(rows, columns=["variable", "level", "group", "n", "weighted_n", "mean",
                                       "sd", "weighted_mean", "weighted_sd"])
