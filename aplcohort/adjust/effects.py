"""Adjusted treatment effects: weighted Cox, weighted log-rank, adjusted absolute risks.

* :func:`weighted_cox`: Cox model of the outcome on the treatment with the
  adjustment weights and the robust sandwich variance (R ``coxph(Surv(t, e) ~ g,
  weights = w, robust = TRUE)``; with ``cluster`` R's ``cluster(id)``), fitted
  with :func:`aplcohort.stats.cox.cox_fit`. Terms come in the shared
  regression-terms shape; CI and p use the robust SE.
* :func:`weighted_logrank`: what is implemented is the **robust score test of
  the weighted Cox model** with the treatment as the only covariate, R
  ``summary(coxph(Surv(t, e) ~ g, weights = w, robust = TRUE))$robscore``
  (chi-square with groups - 1 df). Without weights it is the log-rank test with
  a sandwich variance; with weights it is a weighted log-rank comparison whose
  variance accounts for the weights (close to the adjusted log-rank of Xie &
  Liu 2005, which uses a different variance). Weights are treated as known.
* :func:`adjusted_risks`: absolute risks ``1 - S(t)`` at chosen times per group
  and their differences, by
  - ``"iptw"``: the weighted Kaplan–Meier (IJ standard errors, weights known);
  - ``"gcomp"``: standardisation (g-formula) from a Cox model of the outcome on
    treatment + covariates (Breslow baseline hazard, ``ties="breslow"``): each
    patient's risk is predicted under every treatment and averaged over the
    cohort (ATE population) -- the estimator of R ``riskRegression::ate(...,
    estimator = "GFORMULA")``, whose point estimates we reproduce. CIs: Wald on
    the influence-function SE (default; equal to riskRegression's without tied
    event times, up to 2 % apart with ties because of its own tie handling) or
    seeded bootstrap percentiles.

  Wald limits of both methods are restricted to [0, 1] (risks) and [-1, 1]
  (differences), the default of riskRegression's ``confint.ate``; a truncated
  limit is said in the row's ``note``.

Validated against R survival 3.5-3 and riskRegression 2022.11.28
(``tests/reference/adjust.R``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats as st

from .._checks import check_conf_level, check_int, check_seed
from .._results import Result
from ..errors import InputError, StatisticalWarning
from ..stats._design import as_columns
from ..stats.shapes import NOTE_INFINITE, TERM_COLUMNS, TermsShape, terms_frame
from ._common import (MIN_EVENTS_PER_COVARIATE, check_columns, design,
                      levels_of, plain)

__all__ = ["weighted_cox", "weighted_logrank", "adjusted_risks", "WeightedCoxResult",
           "WeightedLogrankResult", "AdjustedRisks", "TERM_COLUMNS"]



def fit_terms(fit, names, conf_level):
    """Shared-shape terms from a robust ``cox_fit``: term ``<column><level>`` (R naming),
    ``level`` the level (None for numeric), CI and p on the robust SE."""
    terms, levels = [], []
    for nm in names:
        col, sep, lev = nm.partition("=")
        terms.append(f"{col}{lev}" if sep else col)
        levels.append(lev if sep else None)
    ok = ~np.asarray(fit.infinite, bool) & np.isfinite(fit.coef)
    return terms_frame(terms, fit.coef, np.sqrt(np.diag(fit.var)), conf_level=conf_level,
                       robust_se=np.sqrt(np.diag(fit.robust_var)), levels=levels,
                       estimable=ok, notes=[("" if o else NOTE_INFINITE) for o in ok])


def _weights_for(weights, data):
    """``(w, label, excluded)``: the checks of :func:`aplcohort.adjust.curves._weights_array`
    (NaN, negative or missing weights are errors naming the rows; weight 0 and rows without
    a propensity score leave the analysis and are listed in ``excluded``)."""
    from .curves import _weights_array
    return _weights_array(weights, data)


def _empty_excluded():
    return pd.DataFrame(columns=["row", "reason"])


def _event01(s, name):
    v = pd.unique(s.dropna())
    if not set(np.asarray(v, dtype=object).tolist()) <= {0, 1, True, False}:
        raise InputError(f"event column {name!r} must be 0/1; found {sorted(map(str, v))[:10]}")
    return s.to_numpy(float)


@dataclass(frozen=True)
class WeightedCoxResult(TermsShape, Result):
    """Weighted Cox model with robust SE (frozen; shared regression-terms shape).

    Attributes
    ----------
    terms : DataFrame
        ``term, level, coef, se, robust_se, estimate, lower, upper, statistic, p,
        estimable, note`` (HR scale; ``se`` is the model-based SE, CI and p use
        ``robust_se``).
    tests : DataFrame
        ``test, statistic, df, p``: robust Wald and robust score.
    scale, conf_level, variance
    excluded : DataFrame
        ``row[, patient_id], reason``: rows of the data left out (weight 0, no propensity
        score); summarised in ``choices``.
    """

    kind = "weighted_cox"

    terms: pd.DataFrame
    tests: pd.DataFrame
    n: int
    events: int
    weighting: str
    scale: str = "HR"
    conf_level: float = 0.95
    variance: str = "robust"
    notes: tuple = field(default=())
    ties: str = "efron"
    excluded: pd.DataFrame = field(default_factory=_empty_excluded, repr=False)

    @property
    def title(self):
        return "Weighted Cox model (robust SE)"

    @property
    def choices(self):
        from .curves import _excluded_choice
        return {"weights": self.weighting, "variance": "robust sandwich (weights known)",
                "ties": self.ties, "conf_level": self.conf_level,
                "excluded": _excluded_choice(self.excluded)}

    @property
    def tables(self):
        return {"terms": self.terms, "tests": self.tests}


def _fit_weighted(data, time, event, treatment, weights, covariates, cluster, ties="efron",
                  reference=None):
    from ..stats.cox import cox_fit
    w, label, excluded = _weights_for(weights, data)
    covariates = as_columns(covariates, "covariates")
    cols = [time, event, treatment] + covariates + ([cluster] if cluster else [])
    check_columns(data, cols, "analysis")
    d = data.loc[w.index]
    bad = d[cols].isna().any(axis=1)
    if bad.any():
        raise InputError(f"rows {d.index[bad].tolist()[:10]} with a weight have missing "
                         f"values in {cols}; the weights and the analysis must use the same "
                         "patients")
    groups = _treatment_levels(d[treatment], reference)
    X, _ = design(d, [treatment] + covariates, categorical={treatment: groups[0]})
    fit = cox_fit(X.to_numpy(), d[time].to_numpy(float), _event01(d[event], event),
                  weights=w.to_numpy(float), ties=ties, robust=True,
                  cluster=None if cluster is None else d[cluster].to_numpy(),
                  term_names=list(X.columns))
    return fit, list(X.columns), groups, label, d, excluded


def _treatment_levels(s: pd.Series, reference=None) -> list:
    """Levels of the treatment among weighted patients, ``reference`` first (default: the
    first level in sorted order)."""
    groups = levels_of(s)
    if len(groups) < 2:
        raise InputError(f"treatment has a single group {groups} among weighted patients")
    if reference is not None:
        if reference not in groups:
            raise InputError(f"reference group {plain(reference)!r} of the treatment is not "
                             f"among its groups {groups} in the weighted patients")
        groups = [g for g in groups if g == reference] + [g for g in groups if g != reference]
    return groups


def weighted_cox(data: pd.DataFrame, time: str, event: str, treatment: str, weights, *,
                 covariates=None, cluster=None, conf_level=0.95,
                 reference=None) -> WeightedCoxResult:
    """Cox model on the treatment with adjustment weights and robust SE.

    Parameters
    ----------
    data : DataFrame
    time, event, treatment : str
    weights : PSWeights, MatchResult or Series
        One weight >= 0 per row of ``data`` (matched by index label); weight 0 (trimmed,
        unmatched) and, for PSWeights / MatchResult, no propensity score leave the
        analysis and are listed in ``.excluded``; a NaN, negative or missing weight is an
        error naming the rows.
    covariates : str or list of str, optional
        Extra covariates in the outcome model ("doubly robust" style adjustment).
    cluster : str, optional
        Cluster column for the robust variance (e.g. matched-set id, patient id).
    conf_level : float
        Strictly between 0 and 1 (0.95, not 95).
    reference : optional
        Reference group of the treatment (default: the first level in sorted order).

    Returns
    -------
    WeightedCoxResult

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"t": [5, 8, 12, 3, 9, 15, 7, 11], "e": [1, 1, 0, 1, 1, 0, 1, 0],
    ...                   "g": ["A", "B", "A", "A", "B", "B", "A", "B"]})
    >>> r = weighted_cox(d, "t", "e", "g", pd.Series([1.0, 0.5, 2, 1, 1, 1.5, 1, 1]))
    >>> r.terms["term"].tolist()
    ['gB']

    Validated against R ``coxph(..., weights = w, robust = TRUE)`` (lung, colon).
    """
    conf_level = check_conf_level(conf_level)
    fit, names, groups, label, d, excluded = _fit_weighted(
        data, time, event, treatment, weights, covariates, cluster, reference=reference)
    terms = fit_terms(fit, names, conf_level)
    k = len(names)
    tests = pd.DataFrame({"test": ["robust wald", "robust score"],
                          "statistic": [float(fit.wald_test), float(fit.robust_score_test)],
                          "df": [k, k],
                          "p": [float(st.chi2.sf(fit.wald_test, k)),
                                float(st.chi2.sf(fit.robust_score_test, k))]})
    notes = []
    if fit.n_events < MIN_EVENTS_PER_COVARIATE * k:
        notes.append(f"{fit.n_events} events for {k} coefficient(s): fewer than "
                     f"{MIN_EVENTS_PER_COVARIATE} per coefficient; the HR is imprecise and may "
                     "be biased away from 1")
        import warnings
        warnings.warn(notes[-1], StatisticalWarning, stacklevel=2)
    return WeightedCoxResult(terms=terms, tests=tests, n=int(fit.n), events=int(fit.n_events),
                             weighting=label, conf_level=conf_level, notes=tuple(notes),
                             excluded=excluded)


@dataclass(frozen=True)
class WeightedLogrankResult(Result):
    """Robust score test of a weighted Cox model (frozen); ``excluded`` lists the rows left
    out (weight 0, no propensity score), summarised in ``choices``."""

    kind = "weighted_logrank"

    statistic: float
    df: int
    p: float
    groups: tuple
    weighting: str
    test: str = ("robust score test of the weighted Cox model "
                 "(R summary(coxph(..., weights, robust = TRUE))$robscore)")
    excluded: pd.DataFrame = field(default_factory=_empty_excluded, repr=False)

    @property
    def title(self):
        return "Weighted log-rank (robust score) test"

    @property
    def choices(self):
        from .curves import _excluded_choice
        return {"test": self.test, "weights": self.weighting, "groups": list(self.groups),
                "excluded": _excluded_choice(self.excluded)}

    @property
    def tables(self):
        return {"test": pd.DataFrame({"test": ["robust score (weighted Cox)"],
                                      "statistic": [self.statistic], "df": [self.df],
                                      "p": [self.p]})}


def weighted_logrank(data: pd.DataFrame, time: str, event: str, treatment: str, weights, *,
                     cluster=None) -> WeightedLogrankResult:
    """Weighted comparison of survival curves (robust score test; see module docstring).

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"t": [5, 8, 12, 3, 9, 15, 7, 11], "e": [1, 1, 0, 1, 1, 0, 1, 0],
    ...                   "g": ["A", "B", "A", "A", "B", "B", "A", "B"]})
    >>> r = weighted_logrank(d, "t", "e", "g", pd.Series([1.0] * 8))
    >>> r.df
    1
    """
    fit, names, groups, label, d, excluded = _fit_weighted(data, time, event, treatment,
                                                           weights, None, cluster)
    k = len(names)
    s = float(fit.robust_score_test)
    return WeightedLogrankResult(statistic=s, df=k, p=float(st.chi2.sf(s, k)),
                                 groups=tuple(groups), weighting=label, excluded=excluded)


@dataclass(frozen=True)
class AdjustedRisks(Result):
    """Adjusted absolute risks at chosen times (frozen).

    Attributes
    ----------
    risks : DataFrame
        ``[group, time, risk, std_err, lower, upper, note]`` (``note`` says why a CI
        is missing).
    differences : DataFrame
        ``[group, reference, time, difference, std_err, lower, upper, note]`` (group
        minus reference).
    method : str
        ``"iptw"`` or ``"gcomp"``.
    ci : str
        How the intervals were obtained.
    """

    kind = "adjusted_risks"

    risks: pd.DataFrame
    differences: pd.DataFrame
    method: str
    ci: str
    conf_level: float
    notes: tuple = field(default=())

    @property
    def title(self):
        return ("Adjusted risks (IPTW)" if self.method == "iptw"
                else "Adjusted risks (g-computation from a Cox model)")

    @property
    def choices(self):
        return {"method": self.method, "CI": self.ci, "conf_level": self.conf_level}

    @property
    def tables(self):
        return {"risks": self.risks, "differences": self.differences}


def _wald_limits(est, se, z, low, high, what):
    """Wald limits ``est -/+ z se`` restricted to ``[low, high]`` (a risk to [0, 1], a
    difference of risks to [-1, 1]), the convention of riskRegression's ``confint.ate``
    (its default, ``transform = "none"``); returns ``(lower, upper, note)``, the note
    saying which limit was truncated (empty when none was)."""
    lo, hi = est - z * se, est + z * se
    cut = []
    if lo < low:
        cut.append(f"lower Wald limit {lo:.4g} truncated at {low:g}")
    if hi > high:
        cut.append(f"upper Wald limit {hi:.4g} truncated at {high:g}")
    note = (("; ".join(cut) + f" ({what} lies in [{low:g}, {high:g}])") if cut else "")
    return min(max(lo, low), high), max(min(hi, high), low), note


def _breslow_risk(X, time, event, coef, Xcf_list, times, w=None):
    """Mean predicted risk 1 - exp(-H0(t) exp(x b)) over patients, per counterfactual X."""
    w = np.ones(len(time)) if w is None else w
    eta = X @ coef
    r = w * np.exp(eta)
    ut = np.unique(time[event == 1])
    d = np.array([np.sum(w[(time == u) & (event == 1)]) for u in ut])
    # risk set at u: time >= u
    order = np.argsort(time)
    ts, rs = time[order], r[order]
    tail = np.concatenate([np.cumsum(rs[::-1])[::-1], [0.0]])
    denom = tail[np.searchsorted(ts, ut, side="left")]
    H0 = np.cumsum(d / denom)
    Ht = np.array([H0[np.searchsorted(ut, t, side="right") - 1] if (ut <= t).any() else 0.0
                   for t in times])
    out = []
    for Xc in Xcf_list:
        e = np.exp(Xc @ coef)
        out.append(np.array([np.mean(1 - np.exp(-h * e)) for h in Ht]))
    return out


def _gcomp_influence(X, tt, ee, fit, treatment, groups, times):
    """Per-patient influence contributions of the standardised risks (n, G, T).

    Mean risk ``R_a(t) = mean_i 1 - exp(-L0(t) exp(x_i(a) b))``; its expansion is
    ``sum_j c_j`` with ``c_j = (F_j(a) - R_a) / n + dR/db . D_j + dR/dL0 . H_j(t)``,
    ``D_j`` the Cox dfbeta (information^-1 x score residual, Breslow) and ``H_j`` the
    influence of patient j on the Breslow cumulative hazard (including its
    dependence on b). Without tied event times this equals riskRegression's
    ``ate(..., se = TRUE)``; with ties riskRegression's differs slightly (see docs).
    """
    Xn = X.to_numpy()
    b = fit.coef
    r = np.exp(Xn @ b)
    n = tt.size
    u = np.unique(tt[ee == 1])
    dk = np.array([ee[tt == x].sum() for x in u])
    atrisk = (tt[None, :] >= u[:, None]).astype(float)
    S0 = atrisk @ r
    S1 = atrisk @ (r[:, None] * Xn)
    xbar = S1 / S0[:, None]
    dL = dk / S0
    U = np.zeros_like(Xn)
    pos = np.searchsorted(u, tt)
    for j in range(n):
        if ee[j] == 1:
            U[j] += Xn[j] - xbar[pos[j]]
        m = u <= tt[j]
        U[j] -= (r[j] * (Xn[j][None, :] - xbar[m]) * dL[m][:, None]).sum(axis=0)
    D = U @ fit.var
    out = np.zeros((n, len(groups), len(times)))
    for ti, t in enumerate(times):
        m = u <= t
        L0 = dL[m].sum()
        dLdb = (dk[m][:, None] * S1[m] / S0[m][:, None] ** 2).sum(axis=0)
        own = np.where((ee == 1) & (tt <= t), 1.0 / S0[np.minimum(pos, u.size - 1)], 0.0)
        H = own - r * (atrisk[m].T @ (dk[m] / S0[m] ** 2)) - D @ dLdb
        for gi, g in enumerate(groups):
            Xa = X.copy()
            for c in X.columns:
                if c.startswith(f"{treatment}="):
                    Xa[c] = 1.0 if c == f"{treatment}={g}" else 0.0
            Xa = Xa.to_numpy()
            ea = np.exp(Xa @ b)
            S = np.exp(-L0 * ea)
            F = 1 - S
            dRdb = ((S * ea)[:, None] * (L0 * Xa)).mean(axis=0)
            dRdL = np.mean(S * ea)
            out[:, gi, ti] = (F - F.mean()) / n + D @ dRdb + H * dRdL
    return out


def _gcomp_point(d, time, event, treatment, covariates, groups, times, categorical,
                 influence=False):
    from ..stats.cox import cox_fit
    X, _ = design(d, [treatment] + list(covariates), categorical=[treatment] + list(
        categorical or []))
    tt = d[time].to_numpy(float)
    ee = _event01(d[event], event)
    fit = cox_fit(X.to_numpy(), tt, ee, ties="breslow", warn=False)
    if not fit.converged or np.any(fit.infinite):
        raise InputError("the outcome Cox model did not converge or has an infinite "
                         "coefficient; g-computation is not possible with these covariates")
    cf = []
    for g in groups:
        Xg = X.copy()
        for c in X.columns:
            if c.startswith(f"{treatment}="):
                Xg[c] = 1.0 if c == f"{treatment}={g}" else 0.0
        cf.append(Xg.to_numpy())
    est = _breslow_risk(X.to_numpy(), tt, ee, fit.coef, cf, times)
    if influence:
        return est, fit, _gcomp_influence(X, tt, ee, fit, treatment, groups, times)
    return est, fit


def adjusted_risks(data: pd.DataFrame, time: str, event: str, treatment: str, times, *,
                   method="iptw", weights=None, covariates=None, categorical=None,
                   ci=None, n_boot=None, seed=None, conf_level=None) -> AdjustedRisks:
    """Adjusted absolute risks ``1 - S(t)`` at ``times`` per treatment group.

    Every setting either changes the result or is refused with a message saying when it
    applies (``covariates``/``categorical`` only with ``"gcomp"``, ``weights`` only with
    ``"iptw"``, ``n_boot``/``seed`` only with ``ci="bootstrap"``, ``conf_level`` not with
    ``ci="none"``).

    Parameters
    ----------
    data : DataFrame
    time, event, treatment : str
    times : list of float
        Distinct times >= 0.
    method : {"iptw", "gcomp"}
    weights : PSWeights, MatchResult or Series
        Required for ``"iptw"`` (refused with ``"gcomp"``).
    covariates, categorical : str or list of str
        Outcome-model covariates (required) and which of them are categorical, for
        ``"gcomp"`` only.
    ci : {"influence", "bootstrap", "none"}
        Default ``"influence"``. ``"gcomp"`` CIs: Wald on the influence-function SE (as
        riskRegression ``ate``; includes the uncertainty of the Cox model), or bootstrap
        percentiles (model refitted in each replicate), or none. ``"iptw"``: only
        ``"influence"`` (the IJ SE of the weighted KM).
    n_boot : int
        Bootstrap replicates (``ci="bootstrap"`` only; default 500).
    seed : int
        Bootstrap seed (``numpy.random.default_rng``; ``ci="bootstrap"`` only; default
        20261130).
    conf_level : float
        Default 0.95; refused with ``ci="none"``.

    Returns
    -------
    AdjustedRisks
        Wald limits are restricted to [0, 1] for risks and [-1, 1] for differences
        (riskRegression's ``confint.ate`` convention); a truncated limit is said in
        the row's ``note``. Bootstrap percentile limits lie in those ranges already.

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"t": [5, 8, 12, 3, 9, 15, 7, 11], "e": [1, 1, 0, 1, 1, 0, 1, 0],
    ...                   "g": ["A", "B", "A", "A", "B", "B", "A", "B"]})
    >>> r = adjusted_risks(d, "t", "e", "g", [6], weights=pd.Series([1.0] * 8))
    >>> r.risks["risk"].round(3).tolist()
    [0.5, 0.0]
    """
    times = np.sort(np.atleast_1d(np.asarray(times, float)))
    if not np.isfinite(times).all() or (times < 0).any():
        raise InputError(f"times must be finite and >= 0; got {times.tolist()}")
    if times.size == 0:
        raise InputError("times is empty: give at least one time at which to report risks")
    dup = sorted({float(t) for t in times[1:][np.diff(times) == 0]})
    if dup:
        raise InputError(f"times repeats {', '.join(f'{t:g}' for t in dup)}: give each time "
                         "once")
    if method not in ("iptw", "gcomp"):
        raise InputError(f"method must be 'iptw' or 'gcomp'; got {method!r}")
    if ci is None:
        ci = "influence"
    if ci not in ("influence", "bootstrap", "none"):
        raise InputError(f"ci must be 'influence', 'bootstrap' or 'none'; got {ci!r}")
    if method == "iptw" and ci != "influence":
        raise InputError("method='iptw' CIs use the infinitesimal-jackknife (influence) "
                         f"SE of the weighted KM; ci={ci!r} is only for method='gcomp'")
    if ci != "bootstrap":
        given = [k for k, v in (("n_boot", n_boot), ("seed", seed)) if v is not None]
        if given:
            raise InputError(f"{' and '.join(given)} {'are' if len(given) > 1 else 'is'} used "
                             "only with method='gcomp' and ci='bootstrap'; "
                             f"here method={method!r}, ci={ci!r}")
    if ci == "none" and conf_level is not None:
        raise InputError("conf_level is not used with ci='none' (no confidence intervals); "
                         "leave it out or choose ci='influence' or 'bootstrap'")
    conf_level = None if ci == "none" else check_conf_level(
        0.95 if conf_level is None else conf_level)
    covariates = as_columns(covariates, "covariates")
    z = st.norm.ppf(1 - (1 - conf_level) / 2) if conf_level is not None else np.nan
    notes = []
    if method == "iptw":
        if weights is None:
            raise InputError("method='iptw' needs weights=")
        if covariates:
            raise InputError("covariates= is used by method='gcomp'; IPTW adjusts through "
                             "the weights")
        if categorical is not None:
            raise InputError("categorical= is used by method='gcomp' (which of the outcome "
                             "model's covariates are categorical); IPTW adjusts through the "
                             "weights")
        from .curves import weighted_km
        km = weighted_km(data, time, event, treatment, weights, conf_type="plain")
        if len(km.excluded):
            from .curves import _excluded_choice
            notes.append(_excluded_choice(km.excluded).replace("(see .excluded)",
                                                               "(weighted_km(...).excluded)"))
        at = km.at(times)
        risks = pd.DataFrame({"group": at["group"], "time": at["time"],
                              "risk": 1 - at["estimate"], "std_err": at["std_err"]})
        lims = [_wald_limits(r, se, z, 0.0, 1.0, "a risk") if np.isfinite(r) and se > 0
                else (np.nan, np.nan, "")
                for r, se in zip(risks["risk"], risks["std_err"])]
        risks["lower"] = [x[0] for x in lims]
        risks["upper"] = [x[1] for x in lims]
        risks["note"] = [x[2] for x in lims]
        flat = risks["std_err"] == 0
        risks.loc[flat, "note"] = "no event by this time: SE 0, no Wald CI"
        risks.loc[risks["risk"].isna(), "note"] = at.loc[risks["risk"].isna(), "note"]
        groups = list(km.groups)
        ci = ("Wald on the IJ (robust) SE of the weighted KM, weights treated as known; "
              "limits restricted to [0, 1] for risks and [-1, 1] for differences")
        diffs = []
        ref = groups[0]
        for g in groups[1:]:
            for t in times:
                a = risks[(risks["group"] == g) & (risks["time"] == t)].iloc[0]
                b = risks[(risks["group"] == ref) & (risks["time"] == t)].iloc[0]
                dd, se = a["risk"] - b["risk"], np.hypot(a["std_err"], b["std_err"])
                if se == 0:
                    diffs.append((g, ref, t, dd, se, np.nan, np.nan,
                                  "no event in either group by this time: no Wald CI"))
                elif not (np.isfinite(dd) and np.isfinite(se)):
                    diffs.append((g, ref, t, dd, se, np.nan, np.nan,
                                  "a risk of the two groups is not estimable at this time"))
                else:
                    diffs.append((g, ref, t, dd, se,
                                  *_wald_limits(dd, se, z, -1.0, 1.0, "a risk difference")))
        differences = pd.DataFrame(diffs, columns=["group", "reference", "time", "difference",
                                                   "std_err", "lower", "upper", "note"])
    else:
        if not covariates:
            raise InputError("method='gcomp' needs covariates= for the outcome Cox model")
        if weights is not None:
            raise InputError("method='gcomp' standardises over the whole cohort; weights= is "
                             "not used (give method='iptw' for weighting)")
        if ci == "bootstrap":
            n_boot = check_int("n_boot", 500 if n_boot is None else n_boot,
                               minimum=2)   # 2.5 was read as 2
            seed = check_seed(20261130 if seed is None else seed)
        cols = [time, event, treatment] + list(covariates)
        check_columns(data, cols, "analysis")
        d = data.dropna(subset=cols)
        if len(d) < len(data):
            notes.append(f"{len(data) - len(d)} rows with missing values in {cols} left out")
        groups = levels_of(d[treatment])
        est, fit, infl = _gcomp_point(d, time, event, treatment, covariates, groups, times,
                                      categorical, influence=True)
        p = len(fit.coef)
        if fit.n_events < MIN_EVENTS_PER_COVARIATE * p:
            notes.append(f"outcome model: {fit.n_events} events for {p} coefficients (< "
                         f"{MIN_EVENTS_PER_COVARIATE} per coefficient): overfitted, unstable")
            import warnings
            warnings.warn(notes[-1], StatisticalWarning, stacklevel=2)
        boots = []
        if ci == "bootstrap":
            rng = np.random.default_rng(seed)
            n = len(d)
            failed = 0
            for _ in range(int(n_boot)):
                bd = d.iloc[rng.integers(0, n, n)].reset_index(drop=True)
                try:
                    if bd[treatment].nunique() < len(groups):
                        raise InputError("group missing")
                    b, _ = _gcomp_point(bd, time, event, treatment, covariates, groups,
                                        times, categorical)
                    boots.append(np.array(b))
                except (InputError, np.linalg.LinAlgError):
                    failed += 1
            if failed:
                notes.append(f"{failed} of {n_boot} bootstrap replicates could not be fitted "
                             "(a group absent or a non-converging model) and were skipped")
            ci_text = (f"bootstrap percentile, {len(boots)} replicates (seed {seed}); point "
                       "estimates as riskRegression::ate GFORMULA")
        elif ci == "influence":
            ci_text = ("Wald on the influence-function SE (Cox model and covariate "
                       "distribution), as riskRegression::ate GFORMULA; limits restricted to "
                       "[0, 1] for risks and [-1, 1] for differences, as its confint.ate")
        else:
            ci_text = "none (ci = 'none')"
        B = np.array(boots) if boots else None        # (B, G, T)
        alpha = (1 - conf_level) / 2 if conf_level is not None else np.nan
        rows, diffs = [], []
        for gi, g in enumerate(groups):
            for ti, t in enumerate(times):
                if ci == "influence":
                    se = float(np.sqrt(np.sum(infl[:, gi, ti] ** 2)))
                    rows.append((g, t, est[gi][ti], se,
                                 *_wald_limits(est[gi][ti], se, z, 0.0, 1.0, "a risk")))
                elif B is not None:
                    v = B[:, gi, ti]
                    rows.append((g, t, est[gi][ti], float(np.std(v, ddof=1)),
                                 *np.quantile(v, [alpha, 1 - alpha]), ""))
                else:
                    rows.append((g, t, est[gi][ti], np.nan, np.nan, np.nan, ""))
        for gi, g in enumerate(groups[1:], start=1):
            for ti, t in enumerate(times):
                dd = est[gi][ti] - est[0][ti]
                if ci == "influence":
                    se = float(np.sqrt(np.sum((infl[:, gi, ti] - infl[:, 0, ti]) ** 2)))
                    diffs.append((g, groups[0], t, dd, se,
                                  *_wald_limits(dd, se, z, -1.0, 1.0, "a risk difference")))
                elif B is not None:
                    v = B[:, gi, ti] - B[:, 0, ti]
                    diffs.append((g, groups[0], t, dd, float(np.std(v, ddof=1)),
                                  *np.quantile(v, [alpha, 1 - alpha]), ""))
                else:
                    diffs.append((g, groups[0], t, dd, np.nan, np.nan, np.nan, ""))
        risks = pd.DataFrame(rows, columns=["group", "time", "risk", "std_err", "lower",
                                            "upper", "note"])
        differences = pd.DataFrame(diffs, columns=["group", "reference", "time", "difference",
                                                   "std_err", "lower", "upper", "note"])
        if ci == "none":
            risks["note"], differences["note"] = "no CI: ci = 'none'", "no CI: ci = 'none'"
            notes.append("no confidence intervals: ci = 'none'")
        ci = ci_text
    return AdjustedRisks(risks=risks, differences=differences, method=method, ci=ci,
                         conf_level=conf_level, notes=tuple(notes))
