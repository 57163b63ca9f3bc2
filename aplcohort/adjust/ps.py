"""Propensity scores for two or more treatment groups.

The model is fitted with statsmodels (a maintained library): a binomial GLM
(logit link, IRLS) for two groups and a multinomial logit (``MNLogit``,
Newton-Raphson) for three or more. Covariates may be numeric or categorical
(treatment contrasts, first level = reference unless given).

Positivity is checked before anything is estimated: a level of a categorical
covariate in which some treatment group has no patient, or a numeric covariate
whose range in one group does not overlap the others, makes that group's
probability 0 for some patients and the weights infinite; we raise
:class:`PositivityError` naming the group, the covariate and the patients (the
labels of the data's index: a plan indexes the data by patient id). After
fitting, scores closer to 0 or 1 than ``1e-8`` (separation found by the
model) raise the same error.

Validated against R ``glm(family = binomial)`` and ``nnet::multinom`` fitted
values on survival's ``lung`` / ``colon`` and KMsurv ``bmt``
(``tests/reference/adjust.R``).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .._results import Result
from ..errors import InputError, StatisticalWarning
from .._checks import check_int
from ..stats._design import as_columns
from ._common import (MIN_EVENTS_PER_COVARIATE, check_columns, complete_rows, design, levels_of,
                      plain)

__all__ = ["propensity_score", "PropensityScore", "PositivityError"]

_EPS = 1e-8


class PositivityError(InputError):
    """A treatment group has (numerically) no overlap with the others."""


@dataclass(frozen=True)
class PropensityScore(Result):
    """Fitted propensity scores (frozen).

    Attributes
    ----------
    scores : DataFrame
        One column per group (in ``groups`` order): P(group | covariates), one row
        per analysed patient, indexed like the input rows.
    treatment : Series
        Group of each analysed row (same index as ``scores``).
    groups : tuple
        Level order; ``groups[0]`` is the reference of the model.
    covariates : tuple
        Covariates named by the user.
    coef : DataFrame
        ``[equation, term, coef, se]`` (``equation`` = the group modelled against
        the reference).
    excluded : DataFrame
        ``[row, reason]``: rows left out (missing treatment or covariate).
    overlap : DataFrame
        Per group and score: min, quartiles, max of the score among the group's
        patients, and the number of its patients outside the common support.
    model : str
        ``"logistic"`` or ``"multinomial logistic"``.
    """

    kind = "propensity_score"

    scores: pd.DataFrame
    treatment: pd.Series
    groups: tuple
    covariates: tuple
    coef: pd.DataFrame
    excluded: pd.DataFrame
    overlap: pd.DataFrame
    model: str
    n_params: int = 0
    notes: tuple = field(default=())

    @property
    def title(self):
        return "Propensity score model"

    @property
    def choices(self):
        return {"model": self.model, "groups": list(self.groups),
                "reference group": self.groups[0], "covariates": list(self.covariates),
                "rows excluded": len(self.excluded)}

    @property
    def tables(self):
        return {"coefficients": self.coef, "overlap": self.overlap,
                **({"excluded": self.excluded} if len(self.excluded) else {})}

    def score_of_own_group(self) -> pd.Series:
        """P(received group | covariates) for each row (the ATE weight is its inverse)."""
        col = self.scores.columns.get_indexer(self.treatment.to_numpy())
        return pd.Series(self.scores.to_numpy()[np.arange(len(col)), col], index=self.scores.index)

    def logit(self, group=None) -> pd.Series:
        """Logit of P(``group``) (default: the second group, the 'treated' of a binary model)."""
        g = self.groups[1] if group is None else group
        p = self.scores[g].to_numpy()
        return pd.Series(np.log(p / (1 - p)), index=self.scores.index, name=f"logit P({g})")


def _check_positivity(df, tr, groups, covariates, categorical):
    """Raise PositivityError on a covariate pattern that one group never shows."""
    cat = categorical or {}
    if isinstance(cat, (list, tuple, set)):
        cat = {c: None for c in cat}
    problems = []
    for c in covariates:
        s = df[c]
        if c in cat or not pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s):
            tab = pd.crosstab(s, tr)
            for lv, row in tab.iterrows():
                absent = plain([g for g in groups if g not in row.index or row[g] == 0])
                if absent and row.sum() > 0:
                    # named by patient_id where the frame has one (else by index label)
                    ids = df["patient_id"] if "patient_id" in df.columns else df.index
                    who = pd.Index(ids)[(s == lv).to_numpy()].tolist()
                    problems.append(f"{c} = {plain(lv)!r}: no patient of group(s) {absent} "
                                    f"({int(row.sum())} patient(s) of other groups: "
                                    f"{', '.join(map(str, who[:10]))}"
                                    f"{' ...' if len(who) > 10 else ''})")
        else:
            x = s.to_numpy(float)
            for g in groups:
                m = (tr == g).to_numpy()
                lo, hi = x[m].min(), x[m].max()
                olo, ohi = x[~m].min(), x[~m].max()
                if hi < olo or lo > ohi:
                    problems.append(f"{c}: group {plain(g)!r} ranges {lo:g} to {hi:g}, all other "
                                    f"patients {olo:g} to {ohi:g} (no overlap)")
    if problems:
        raise PositivityError(
            "positivity fails: some patients could not have received every treatment, so "
            "their weights would be infinite and no adjustment is possible:\n  - "
            + "\n  - ".join(problems)
            + "\nFix: merge sparse levels, drop the covariate, or restrict the cohort to "
              "patients eligible for every treatment (and say so).")


def _overlap_table(scores, tr, groups):
    rows = []
    for g_score in groups:
        col = scores[g_score].to_numpy()
        mins = [col[(tr == g).to_numpy()].min() for g in groups]
        maxs = [col[(tr == g).to_numpy()].max() for g in groups]
        lo_cs, hi_cs = max(mins), min(maxs)
        for g in groups:
            v = col[(tr == g).to_numpy()]
            rows.append((f"P({g_score})", g, v.size, v.min(), *np.quantile(v, [0.25, 0.5, 0.75]),
                         v.max(), int(np.sum((v < lo_cs) | (v > hi_cs)))))
        if len(groups) == 2:
            break   # the second score is one minus the first
    return pd.DataFrame(rows, columns=["score", "group", "n", "min", "q25", "median", "q75",
                                       "max", "outside_common_support"])


def _fit_scores(sm, tr, groups, Xc, uniq, inv, names, max_iter) -> dict:
    """Fit the score model with ``max_iter`` iterations: ``{"ok", "P", "coef", "model"}``
    (``ok``: converged with finite scores)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # separation is reported by the caller, in our words
        if len(groups) == 2:
            y = (tr == groups[1]).to_numpy(float)
            fit = sm.GLM(y, Xc, family=sm.families.Binomial()).fit(maxiter=max_iter, tol=1e-12)
            converged = bool(fit.converged)
            # scores of the distinct covariate rows, given to every row like it: patients
            # with the same covariates get the same score bit for bit (as in R). The
            # product over all rows (fittedvalues) can differ in the last bit between two
            # identical rows (BLAS kernels handle rows differently), which reordered exact
            # ties in matching and so changed which controls were matched.
            p1 = np.asarray(fit.predict(uniq))[inv]
            P = np.column_stack([1 - p1, p1])
            coef = pd.DataFrame({"equation": groups[1], "term": names,
                                 "coef": np.asarray(fit.params), "se": np.asarray(fit.bse)})
            model = "logistic"
        else:
            y = pd.Categorical(tr, categories=groups).codes
            fit = sm.MNLogit(y, Xc).fit(method="newton", maxiter=max_iter, disp=False,
                                        tol=1e-12)
            converged = bool(fit.mle_retvals.get("converged", False))
            P = np.asarray(fit.predict(uniq))[inv]   # same covariates, same scores (above)
            params, bse = np.asarray(fit.params), np.asarray(fit.bse)
            coef = pd.concat([pd.DataFrame({"equation": groups[j + 1], "term": names,
                                            "coef": params[:, j], "se": bse[:, j]})
                              for j in range(len(groups) - 1)], ignore_index=True)
            model = "multinomial logistic"
    return {"ok": converged and bool(np.isfinite(P).all()), "P": P, "coef": coef,
            "model": model}


def propensity_score(data: pd.DataFrame, treatment: str, covariates, *, categorical=None,
                     order=None, max_iter=100) -> PropensityScore:
    """Fit a propensity-score model (logistic for 2 groups, multinomial for more).

    Parameters
    ----------
    data : DataFrame
        One row per patient.
    treatment : str
        Column with the treatment group (any values; 2 or more groups).
    covariates : str or list of str
        Confounders (one string = one column, as in :func:`aplcohort.stats.coxph`).
        Non-numeric columns are categorical.
    categorical : str, list or dict, optional
        Numeric columns to treat as categorical; a dict gives ``{column: reference}``.
    order : list, optional
        Group order; the first group is the model's reference (default: sorted).
    max_iter : int
        Iteration limit of the fit (an integer >= 1). A fit that stops at the limit
        without converging raises :class:`PositivityError` saying so (raise the limit).

    Returns
    -------
    PropensityScore

    Raises
    ------
    PositivityError
        When a group cannot be compared with the others (see module docstring); the
        patients concerned are named by ``patient_id`` where ``data`` has that column,
        else by index label.

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"tx": ["A", "B"] * 6, "age": [50, 52, 61, 45, 70, 58, 49, 66, 55, 60, 63, 47]})
    >>> ps = propensity_score(d, "tx", ["age"])
    >>> ps.scores.columns.tolist()
    ['A', 'B']

    Validated against R ``glm`` / ``nnet::multinom`` fitted values (1e-6 / 1e-5).
    """
    import statsmodels.api as sm

    covariates = as_columns(covariates, "covariates")
    max_iter = check_int("max_iter", max_iter, minimum=1)
    if isinstance(categorical, str):
        categorical = [categorical]
    if not covariates:
        raise InputError("a propensity-score model needs at least one covariate")
    check_columns(data, [treatment], "treatment")
    check_columns(data, covariates, "covariate")
    if treatment in covariates:
        raise InputError(f"the treatment {treatment!r} cannot also be a covariate")
    mask, excluded = complete_rows(data, [treatment] + covariates, "treatment/covariate")
    df = data.loc[mask]
    tr = df[treatment]
    groups = levels_of(tr, order)
    if len(groups) < 2:
        raise InputError(f"treatment {treatment!r} has {len(groups)} group(s) {groups} in the "
                         "analysed rows; a comparison needs at least two")
    small = {g: int((tr == g).sum()) for g in groups if (tr == g).sum() < 2}
    if small:
        raise InputError(f"group(s) {small} have fewer than 2 patients; no propensity model "
                         "can be fitted")
    _check_positivity(df, tr, groups, covariates, categorical)
    X, _ = design(df, covariates, categorical)
    Xc = np.column_stack([np.ones(len(df)), X.to_numpy()])
    names = ["(Intercept)"] + list(X.columns)
    rank = np.linalg.matrix_rank(Xc)
    if rank < Xc.shape[1]:
        raise InputError(f"the covariates are collinear (design rank {rank} < {Xc.shape[1]} "
                         f"columns {names}); drop a redundant covariate")
    notes = []
    n_params = (len(groups) - 1) * (Xc.shape[1] - 1)
    n_min = min(int((tr == g).sum()) for g in groups)
    if n_min < MIN_EVENTS_PER_COVARIATE * n_params:
        msg = (f"propensity model with {n_params} coefficient(s) (besides intercepts) and "
               f"{n_min} patients in the smallest group: fewer than {MIN_EVENTS_PER_COVARIATE} "
               "per coefficient; the scores are unstable, prefer fewer covariates")
        warnings.warn(msg, StatisticalWarning, stacklevel=2)
        notes.append(msg)
    uniq, inv = np.unique(Xc, axis=0, return_inverse=True)
    inv = np.asarray(inv).reshape(-1)
    fitted = _fit_scores(sm, tr, groups, Xc, uniq, inv, names, max_iter)
    if not fitted["ok"]:
        # a fit stopped by the iteration limit is not a separation: refit with a generous
        # limit and say which it was
        roomy = max(100, 10 * max_iter)
        if roomy > max_iter and _fit_scores(sm, tr, groups, Xc, uniq, inv, names, roomy)["ok"]:
            raise PositivityError(
                f"the propensity model did not converge within max_iter={max_iter} "
                f"iteration(s): the iteration limit stopped it (it converges with more); "
                f"raise max_iter (the default is 100)")
        raise PositivityError("the propensity model did not converge (quasi-separation: some "
                              "covariate pattern almost determines the treatment); use fewer "
                              "covariates or merge levels")
    P, coef, model = fitted["P"], fitted["coef"], fitted["model"]
    if (P < _EPS).any():
        i, j = np.argwhere(P < _EPS)[0]
        raise PositivityError(
            f"positivity fails: patient {df.index[i]} has an estimated probability "
            f"{P[i, j]:.2g} of receiving {plain(groups[j])!r} (separation in the propensity model); "
            "the covariates almost determine the treatment. Use fewer covariates, merge levels, "
            "or restrict the cohort to patients eligible for every treatment.")
    scores = pd.DataFrame(P, index=df.index, columns=list(groups))
    return PropensityScore(scores=scores, treatment=tr.copy(), groups=tuple(groups),
                           covariates=tuple(covariates), coef=coef, excluded=excluded,
                           overlap=_overlap_table(scores, tr, groups), model=model,
                           n_params=n_params, notes=tuple(notes))
