"""Greedy nearest-neighbour propensity-score matching (1:k), as R MatchIt.

Algorithm (MatchIt 4.x ``method = "nearest"``, reproduced here because no
maintained Python library implements MatchIt's exact rules -- caliper on the
logit, ``m.order``, rounds for ``ratio > 1``, exact strata -- and results must
agree patient by patient):

* distance between a treated patient ``i`` and a control ``j`` =
  ``|logit e(x_i) - logit e(x_j)|`` (MatchIt ``distance = "glm", link =
  "linear.logit"``);
* ``caliper`` is in standard deviations of the logit score over all analysed
  patients (MatchIt ``std.caliper = TRUE``: ``sd()`` of the distance measure,
  denominator n - 1); a pair farther apart is not allowed (``<=`` binds);
* treated patients are visited in ``m_order``: ``"largest"`` score first
  (MatchIt's default for ATT), ``"smallest"``, ``"data"`` (row order) or
  ``"random"`` (a permutation drawn from ``numpy.random.default_rng(seed)``;
  deterministic, but not R's random stream);
* with ``ratio = k``, matching proceeds in ``k`` rounds: every treated patient
  gets its first control, then its second, ... (so later rounds cannot steal
  an earlier round's nearest control);
* each visit takes the nearest eligible control (not yet used unless
  ``replace``; same values of every ``exact`` variable; within the caliper);
  ties go to the control that comes first in row order;
* with ``replace=True`` each treated patient simply gets its ``k`` nearest
  eligible controls (the visiting order does not matter).

Weights are MatchIt's: matched treated 1; a control gets ``sum 1/m_i`` over the
treated patients ``i`` it is matched to (``m_i`` = their number of controls),
then control weights are rescaled to sum to the number of matched controls.

Validated against MatchIt 4.5.1 called with a treated x control distance
matrix (its correct path; its vector/glm path truncates distance differences to
integers in 4.5.1, fixed in 4.5.4), exact equality of the matched sets
(``tests/reference/adjust.R``).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .._checks import check_bool
from .._results import Result
from ..errors import InputError, StatisticalWarning
from ..stats._design import as_columns
from ._common import plain
from .ps import PropensityScore

__all__ = ["match_nearest", "MatchResult"]

_ORDERS = ("largest", "smallest", "data", "random")


@dataclass(frozen=True)
class MatchResult(Result):
    """Matched sets (frozen).

    Attributes
    ----------
    pairs : DataFrame
        ``[treated_row, control_row, round, distance, subclass]``, one row per
        matched pair (``round`` 1..k; ``subclass`` = the treated patient's set id).
    weights : Series
        MatchIt weights for every analysed patient (0 = unmatched).
    treatment : Series
    treated, control : object
        The treated (focal) and control group labels.
    unmatched : DataFrame
        ``[row, group, reason]``: patients who left the matched sample and why.
    caliper_logit : float or None
        Caliper in logit units actually applied.
    """

    kind = "ps_match"

    pairs: pd.DataFrame
    weights: pd.Series
    treatment: pd.Series
    treated: object
    control: object
    ratio: int
    replace: bool
    caliper: float | None
    caliper_logit: float | None
    m_order: str
    exact: tuple
    unmatched: pd.DataFrame
    notes: tuple = field(default=())

    @property
    def title(self):
        return f"Nearest-neighbour matching 1:{self.ratio}"

    @property
    def choices(self):
        return {"distance": "|difference of logit propensity scores|",
                "ratio": self.ratio, "replacement": self.replace,
                "caliper": "none" if self.caliper is None else
                f"{self.caliper:g} SD of the logit score = {self.caliper_logit:.4g}",
                "order": self.m_order, "exact": list(self.exact) or "none",
                "treated": self.treated, "control": self.control}

    @property
    def summary(self) -> pd.DataFrame:
        t = self.treatment
        rows = []
        for g in (self.control, self.treated):
            m = (t == g).to_numpy()
            w = self.weights.to_numpy()[m]
            rows.append((g, int(m.sum()), int((w > 0).sum()), int((w == 0).sum()),
                         float((w.sum() ** 2) / np.sum(w ** 2)) if (w > 0).any() else 0.0))
        return pd.DataFrame(rows, columns=["group", "n", "matched", "unmatched", "ess"])

    @property
    def tables(self):
        return {"sample sizes": self.summary, "pairs": self.pairs}

    def match_matrix(self) -> dict:
        """``{treated_row: [control rows in round order]}`` (as MatchIt's ``match.matrix``)."""
        out = {}
        for tr, cr in zip(self.pairs["treated_row"], self.pairs["control_row"]):
            out.setdefault(tr, []).append(cr)
        return out


def match_nearest(ps: PropensityScore, *, ratio=1, caliper=None, replace=False,
                  m_order="largest", exact=None, data=None, treated=None, seed=None
                  ) -> MatchResult:
    """1:k nearest-neighbour matching on the logit propensity score.

    Parameters
    ----------
    ps : PropensityScore
        A two-group propensity score.
    ratio : int
        Controls per treated patient (k).
    caliper : float, optional
        Maximum distance in SDs of the logit score.
    replace : bool
        Allow a control to be matched to several treated patients.
    m_order : {"largest", "smallest", "data", "random"}
        Order in which treated patients choose (see module docstring).
    exact : str or list of str, optional
        Columns of ``data`` on which pairs must agree exactly.
    data : DataFrame, optional
        Needed with ``exact`` (the data the score was fitted on).
    treated : optional
        Treated (focal) group; default the second group.
    seed : int, optional
        Required for ``m_order="random"``.

    Returns
    -------
    MatchResult

    Examples
    --------
    >>> import pandas as pd
    >>> from aplcohort.adjust import propensity_score
    >>> d = pd.DataFrame({"tx": [0, 1] * 8, "age": [40, 45, 52, 48, 61, 55, 38, 60,
    ...                                             47, 52, 58, 66, 44, 41, 63, 70]})
    >>> m = match_nearest(propensity_score(d, "tx", ["age"], categorical=None))
    >>> int(m.summary["matched"].sum())
    16
    """
    replace = check_bool("replace", replace)
    if not isinstance(ps, PropensityScore):
        raise InputError("ps must be a PropensityScore (from propensity_score)")
    if len(ps.groups) != 2:
        raise InputError(f"matching compares two groups; the score has {len(ps.groups)} "
                         f"{plain(list(ps.groups))}. Use weights (ATO/ATM/ATE) for more groups, or "
                         "fit a score on two of them")
    if int(ratio) != ratio or ratio < 1:
        raise InputError(f"ratio must be a positive integer; got {ratio!r}")
    ratio = int(ratio)
    if m_order not in _ORDERS:
        raise InputError(f"m_order must be one of {_ORDERS}; got {m_order!r}")
    if m_order == "random" and seed is None:
        raise InputError("m_order='random' needs seed= (results must be reproducible)")
    if caliper is not None and not (np.isfinite(caliper) and caliper > 0):
        raise InputError(f"caliper must be a positive number of SDs; got {caliper!r}")
    groups = plain(list(ps.groups))
    treated = groups[1] if treated is None else treated
    if treated not in groups:
        raise InputError(f"treated group {plain(treated)!r} is not one of {groups}")
    treated = groups[groups.index(treated)]   # the group's own (plain) value
    control = [g for g in groups if g != treated][0]
    idx = ps.scores.index
    lp = ps.logit(treated).to_numpy()
    t = (ps.treatment == treated).to_numpy()
    exact = as_columns(exact, "exact")
    if exact:
        if data is None:
            raise InputError("exact= needs data= (the DataFrame the score was fitted on)")
        miss = [c for c in exact if c not in data.columns]
        if miss:
            raise InputError(f"exact column(s) {miss} not in data")
        ex = data.loc[idx, exact]
        if ex.isna().any().any():
            raise InputError(f"exact columns {exact} have missing values for analysed "
                             f"patient(s) {', '.join(map(str, ex.index[ex.isna().any(axis=1)][:20]))}")
        key = pd.Series(list(map(tuple, ex.astype(object).to_numpy())), index=idx)
        key_codes = pd.factorize(key)[0]
    else:
        key_codes = np.zeros(len(idx), int)
    cal = None if caliper is None else float(caliper) * float(np.std(lp, ddof=1))
    ti = np.flatnonzero(t)
    ci = np.flatnonzero(~t)
    if m_order == "largest":
        ord_ = ti[np.argsort(-lp[ti], kind="stable")]
    elif m_order == "smallest":
        ord_ = ti[np.argsort(lp[ti], kind="stable")]
    elif m_order == "random":
        ord_ = ti[np.random.default_rng(seed).permutation(ti.size)]
    else:
        ord_ = ti
    used = np.zeros(len(idx), bool)
    taken = {i: [] for i in ti}
    dist_of = {}
    reason = {}
    for r in range(1, ratio + 1):
        for i in ord_:
            if r > 1 and len(taken[i]) < r - 1:
                continue
            ok = key_codes[ci] == key_codes[i]
            if not replace:
                ok &= ~used[ci]
            d = np.abs(lp[ci] - lp[i])
            if cal is not None:
                ok &= d <= cal
            if taken[i]:
                ok &= ~np.isin(ci, taken[i])
            if not ok.any():
                if r == 1:
                    if cal is not None and (key_codes[ci] == key_codes[i]).any() and \
                            not (np.abs(lp[ci] - lp[i])[key_codes[ci] == key_codes[i]]
                                 <= cal).any():
                        reason[i] = "no control within the caliper"
                    elif not (key_codes[ci] == key_codes[i]).any():
                        reason[i] = f"no control with the same {', '.join(exact)}"
                    else:
                        reason[i] = "no eligible control left (all used)"
                continue
            cand = np.flatnonzero(ok)
            j = ci[cand[np.argmin(d[cand])]]     # argmin: first in row order on ties
            taken[i].append(j)
            dist_of[(i, j)] = float(abs(lp[j] - lp[i]))
            used[j] = True
    rows = []
    sub = 0
    for i in ti:                                   # subclasses numbered in row order
        if taken[i]:
            sub += 1
            for r, j in enumerate(taken[i], start=1):
                rows.append((idx[i], idx[j], r, dist_of[(i, j)], sub))
    pairs = pd.DataFrame(rows, columns=["treated_row", "control_row", "round", "distance",
                                        "subclass"])
    w = np.zeros(len(idx))
    for i in ti:
        if taken[i]:
            w[i] = 1.0
            for j in taken[i]:
                w[j] += 1.0 / len(taken[i])
    wc = w[ci]
    if wc.sum() > 0:
        w[ci] = wc * np.sum(wc > 0) / wc.sum()
    if not (w[ti] > 0).any():
        raise InputError("no treated patient could be matched (caliper too narrow or exact "
                         "strata without controls)")
    un = [(idx[i], treated, reason[i]) for i in ti if not taken[i]]
    un += [(idx[j], control, "control not selected as a match") for j in ci if w[j] == 0]
    unmatched = pd.DataFrame(un, columns=["row", "group", "reason"])
    notes = []
    n_un = sum(1 for i in ti if not taken[i])
    if n_un:
        notes.append(f"{n_un} of {ti.size} treated patients (group {plain(treated)!r}) have "
                     "no match and "
                     "leave the analysis: the estimand is no longer the ATT of the full cohort")
    short = sum(1 for i in ti if 0 < len(taken[i]) < ratio)
    if short:
        notes.append(f"{short} treated patients got fewer than {ratio} controls")
    for msg in notes:
        warnings.warn(msg, StatisticalWarning, stacklevel=2)
    return MatchResult(pairs=pairs, weights=pd.Series(w, index=idx, name="weight"),
                       treatment=ps.treatment.copy(), treated=treated, control=control,
                       ratio=ratio, replace=bool(replace),
                       caliper=None if caliper is None else float(caliper), caliper_logit=cal,
                       m_order=m_order, exact=tuple(exact), unmatched=unmatched,
                       notes=tuple(notes))
