"""Propensity-score weights: ATE, ATT, ATO (overlap), matching weights.

With ``e_k(x)`` the propensity score of group ``k`` and ``z`` the group received
(formulas valid for two or more groups):

===========  =====================================  ==================================
estimand     weight of a patient in group ``z``      reference
===========  =====================================  ==================================
``ATE``      ``1 / e_z``                            inverse probability (IPTW)
``ATT``      ``e_f / e_z`` (``f`` = focal group)    focal patients weigh 1
``ATO``      ``(1/e_z) / sum_k (1/e_k)``            Li, Morgan & Zaslavsky 2018; Li & Li
                                                    2019 (binary: ``1 - e_z``)
``ATM``      ``min_k e_k / e_z``                    matching weights, Li & Greene 2013;
                                                    Yoshida et al. 2017
===========  =====================================  ==================================

* ``stabilize=True`` (ATE only) multiplies by the marginal proportion of the
  group, ``P(Z = z)``; other estimands are rejected with a message because their
  weights are already bounded or normalised by the focal group.
* ``trim=a`` (PS trimming, Crump et al. 2009 style) removes patients whose
  score for *any* group is below ``a`` (binary: outside ``[a, 1 - a]``); they are
  listed in ``excluded`` with their scores. The model is *not* refitted on the
  remaining patients (refit yourself with ``propensity_score`` on the kept rows
  if you want that).
* ``truncate=p`` (weight truncation, "winsorising") caps each weight at the
  ``p``-quantile of the weights of its own group (numpy / R type-7 quantile);
  the number capped per group is recorded in ``ess``.
* The Kish effective sample size ``(sum w)^2 / sum w^2`` is reported per group.

Validated against the same formulas evaluated in R on ``glm`` / ``multinom``
fitted values (``tests/reference/adjust.R``).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .._checks import check_bool
from .._results import Result
from ..errors import InputError, StatisticalWarning
from ._common import MIN_ESS, kish_ess, plain
from .ps import PropensityScore

__all__ = ["psweights", "PSWeights", "ESTIMANDS"]

ESTIMANDS = ("ATE", "ATT", "ATO", "ATM")


@dataclass(frozen=True)
class PSWeights(Result):
    """Propensity-score weights (frozen).

    Attributes
    ----------
    weights : Series
        One weight per kept patient (index = input rows).
    treatment : Series
        Group of each kept patient.
    groups : tuple
    estimand : str
    focal : object or None
        Focal group of ATT.
    stabilized : bool
    trim, truncate : float or None
        Settings used (None = not used).
    excluded : DataFrame
        ``[row, reason]``: rows without a propensity score and rows trimmed.
    ess : DataFrame
        ``[group, n, sum_weights, ess, max_weight, n_truncated]`` (Kish ESS).
    notes : tuple of str
        Warnings issued (small ESS, extreme weights).
    """

    kind = "ps_weights"

    weights: pd.Series
    treatment: pd.Series
    groups: tuple
    estimand: str
    focal: object
    stabilized: bool
    trim: float | None
    truncate: float | None
    excluded: pd.DataFrame
    ess: pd.DataFrame
    notes: tuple = field(default=())

    @property
    def title(self):
        return f"Propensity-score weights ({self.estimand})"

    @property
    def choices(self):
        return {"estimand": self.estimand, "focal group": self.focal,
                "stabilized": self.stabilized,
                "trimming": "none" if self.trim is None else
                f"scores < {self.trim:g} removed ({self.n_trimmed} patients)",
                "truncation": "none" if self.truncate is None else
                f"weights capped at the {self.truncate:g} quantile of their group"}

    @property
    def n_trimmed(self) -> int:
        return int(self.excluded["reason"].str.startswith("trimmed").sum())

    @property
    def tables(self):
        return {"effective sample size": self.ess,
                **({"excluded": self.excluded} if len(self.excluded) else {})}


def _raw_weights(P, z, estimand, focal_j):
    ez = P[np.arange(len(z)), z]
    if estimand == "ATE":
        return 1.0 / ez
    if estimand == "ATT":
        return P[:, focal_j] / ez
    if estimand == "ATO":
        return (1.0 / ez) / np.sum(1.0 / P, axis=1)
    return P.min(axis=1) / ez          # ATM


def psweights(ps: PropensityScore, estimand="ATE", *, focal=None, stabilize=False, trim=None,
              truncate=None) -> PSWeights:
    """Weights from a fitted propensity score.

    Parameters
    ----------
    ps : PropensityScore
        From :func:`aplcohort.adjust.propensity_score`.
    estimand : {"ATE", "ATT", "ATO", "ATM"}
        Target population (see module docstring).
    focal : optional
        Focal group for ATT (default: the second group of a binary model; required
        with more groups).
    stabilize : bool
        Multiply ATE weights by the group's marginal proportion.
    trim : float in (0, 0.5), optional
        Remove patients with a score below ``trim`` for any group.
    truncate : float in (0.5, 1), optional
        Cap weights at this quantile within each group.

    Returns
    -------
    PSWeights

    Examples
    --------
    >>> import pandas as pd
    >>> from aplcohort.adjust import propensity_score
    >>> d = pd.DataFrame({"tx": ["A", "B"] * 10, "age": range(40, 60)})
    >>> w = psweights(propensity_score(d, "tx", ["age"]), "ATO")
    >>> round(float(w.ess["n"].sum()))
    20
    """
    stabilize = check_bool("stabilize", stabilize)
    if not isinstance(ps, PropensityScore):
        raise InputError(f"ps must be a PropensityScore (from propensity_score); got "
                         f"{type(ps).__name__}")
    est = str(estimand).upper()
    if est not in ESTIMANDS:
        raise InputError(f"estimand must be one of {ESTIMANDS}; got {estimand!r}")
    groups = plain(list(ps.groups))
    focal_j = None
    if est == "ATT":
        if focal is None:
            if len(groups) > 2:
                raise InputError(f"ATT with {len(groups)} groups needs focal= (one of {groups})")
            focal = groups[1]
        if focal not in groups:
            raise InputError(f"focal group {plain(focal)!r} is not one of {groups}")
        focal_j = groups.index(focal)
        focal = groups[focal_j]   # the group's own (plain) value
    elif focal is not None:
        raise InputError(f"focal= is only used with estimand='ATT' (got estimand={est!r})")
    if stabilize and est != "ATE":
        raise InputError(f"stabilize=True applies to ATE weights only; {est} weights are "
                         "already normalised to the target population")
    if trim is not None and not (0 < float(trim) < 0.5):
        raise InputError(f"trim must be a propensity-score bound in (0, 0.5); got {trim!r}")
    if truncate is not None and not (0.5 < float(truncate) < 1):
        raise InputError(f"truncate must be a weight quantile in (0.5, 1), e.g. 0.99; got "
                         f"{truncate!r}")
    trim = None if trim is None else float(trim)
    truncate = None if truncate is None else float(truncate)
    P = ps.scores.to_numpy()
    z = pd.Categorical(ps.treatment, categories=groups).codes
    idx = ps.scores.index
    excluded = [ps.excluded]
    keep = np.ones(len(z), bool)
    if trim is not None:
        keep = (P >= trim).all(axis=1)
        rows = [(idx[i], f"trimmed: propensity score of group "
                         f"{plain(groups[int(np.argmin(P[i]))])!r} = {P[i].min():.4g} < {trim:g}")
                for i in np.flatnonzero(~keep)]
        excluded.append(pd.DataFrame(rows, columns=["row", "reason"]))
        left = set(z[keep].tolist())
        gone = [groups[j] for j in range(len(groups)) if j not in left]
        if gone:
            raise InputError(f"trimming at {trim:g} removes every patient of group(s) "
                             f"{plain(gone)}; "
                             "use a smaller trim or no trimming")
    P, z, idx = P[keep], z[keep], idx[keep]
    w = _raw_weights(P, z, est, focal_j)
    if stabilize:
        w = w * (np.bincount(z, minlength=len(groups)) / len(z))[z]
    n_trunc = np.zeros(len(groups), int)
    if truncate is not None:
        for j in range(len(groups)):
            m = z == j
            cap = np.quantile(w[m], truncate)
            n_trunc[j] = int(np.sum(w[m] > cap))
            w[m] = np.minimum(w[m], cap)
    rows, notes = [], []
    for j, g in enumerate(groups):
        wj = w[z == j]
        e = kish_ess(wj)
        rows.append((g, int(wj.size), float(wj.sum()), e, float(wj.max()), int(n_trunc[j])))
        if e < MIN_ESS:
            notes.append(f"group {plain(g)!r}: effective sample size {e:.1f} (< {MIN_ESS:g}) after "
                         f"{est} weighting; estimates rest on very few patients")
        elif e < 0.5 * wj.size:
            notes.append(f"group {plain(g)!r}: effective sample size {e:.1f} is less than half of its "
                         f"{wj.size} patients: a few large weights dominate (consider ATO, "
                         "trimming or truncation)")
    for msg in notes:
        warnings.warn(msg, StatisticalWarning, stacklevel=2)
    ess = pd.DataFrame(rows, columns=["group", "n", "sum_weights", "ess", "max_weight",
                                      "n_truncated"])
    exc = pd.concat([e for e in excluded if len(e)], ignore_index=True) if any(
        len(e) for e in excluded) else pd.DataFrame(columns=["row", "reason"])
    return PSWeights(weights=pd.Series(w, index=idx, name="weight"),
                     treatment=ps.treatment.loc[idx].copy(), groups=tuple(groups),
                     estimand=est, focal=focal, stabilized=bool(stabilize),
                     trim=None if trim is None else float(trim),
                     truncate=None if truncate is None else float(truncate),
                     excluded=exc, ess=ess, notes=tuple(notes))
