"""The log-rank family of tests, agreeing with R ``survival::survdiff``.

Public functions
----------------
logrank_test
    k-group (optionally stratified) G-rho test: ``rho = 0`` log-rank,
    ``rho = 1`` Peto–Peto as R defines it (weights = pooled KM ``S(t-)``).
weighted_logrank
    Log-rank, Peto–Peto, Fleming–Harrington(p, q), Gehan–Breslow (weight = n at
    risk) and Tarone–Ware (weight = sqrt(n at risk)).
trend_test
    Test for trend over ordered groups, ``(s'(O - E))^2 / (s' V s)`` on 1 df.
pairwise_logrank
    Every pair of groups, with Holm / Bonferroni / BH adjustment.

Conventions
-----------
* ``observed`` / ``expected`` are weighted sums for weighted tests, as R
  ``survdiff`` reports them for ``rho > 0``; ``variance`` is the diagonal of
  the variance matrix (``.var`` holds the whole matrix).
* The chi-square uses the groups with ``expected > 0`` and drops the first,
  as ``survdiff``; ``df`` = number of such groups - 1.
* Stratified tests add O, E and V over strata; time weights (n at risk, pooled
  KM) are computed within each stratum.
* Right-censored data only (as ``survdiff``).
"""

from __future__ import annotations

import itertools
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .._align import align_rows
from .._results import Result
from ..errors import InputError, StatisticalWarning
from . import _surv_core as core
from ._aeq import aeq_outcome
from ._padjust import p_adjust
from .km import _group_codes, _group_codes_counted

__all__ = ["logrank_test", "weighted_logrank", "trend_test", "pairwise_logrank",
           "LogRankResult", "PairwiseResult", "p_adjust"]

_WEIGHTS = ("logrank", "peto", "fleming-harrington", "gehan", "tarone-ware", "peto-prentice")


@dataclass(frozen=True, eq=False)
class LogRankResult(Result):
    """Result of a log-rank-family test (frozen).

    Attributes
    ----------
    test : str
        e.g. ``"log-rank"``, ``"Peto-Peto"``, ``"Fleming-Harrington(1,0)"``,
        ``"Gehan-Breslow"``, ``"Tarone-Ware"``, ``"trend (log-rank)"``; prefixed
        ``"stratified "`` when strata were given.
    statistic, df, p : float, int, float
        Chi-square statistic, degrees of freedom, p-value.
    table : DataFrame
        ``[group, n, observed, expected, o_minus_e, variance]``.
    var : ndarray
        Full k x k variance matrix (R ``survdiff$var``).
    note : str
        Why ``p`` is NaN when it is: fewer than two groups with expected events
        (then ``statistic`` is 0 and ``df`` 0, as R ``survdiff``).
    """

    kind = "logrank"

    test: str
    statistic: float
    df: int
    p: float
    table: pd.DataFrame
    var: np.ndarray
    groups: tuple
    weights: str = "logrank"
    rho: float = 0.0
    fh_p: float = 0.0
    fh_q: float = 0.0
    n_strata: int = 1
    scores: tuple | None = None
    note: str = ""

    @property
    def title(self) -> str:
        return f"{self.test} test"

    @property
    def choices(self) -> dict:
        ch = {"test": self.test, "weights": self.weights}
        if self.weights == "fleming-harrington":
            ch["p"] = self.fh_p
            ch["q"] = self.fh_q
        ch["strata"] = self.n_strata if self.n_strata > 1 else "none"
        if self.scores is not None:
            ch["scores"] = list(self.scores)
        return ch

    @property
    def tables(self) -> dict:
        test = pd.DataFrame({"test": [self.test], "statistic": [self.statistic],
                             "df": [self.df], "p": [self.p]})
        return {"test": test, "groups": self.table}


@dataclass(frozen=True, eq=False)
class PairwiseResult(Result):
    """Pairwise log-rank comparisons (frozen).

    ``table``: ``[group1, group2, statistic, df, p, p_adj, estimable, note]``; a pair whose
    test is not defined has p NaN, ``estimable`` False and the reason in ``note`` (it does not
    count in the p-value adjustment, as ``NA`` in R ``p.adjust``).
    """

    kind = "pairwise_logrank"

    table: pd.DataFrame
    test: str
    adjust: str
    groups: tuple = field(default=())

    @property
    def title(self) -> str:
        return f"Pairwise {self.test} tests"

    @property
    def choices(self) -> dict:
        return {"test": self.test, "p-value adjustment": self.adjust,
                "pairs": "each pair tested on its own two groups' rows"}

    @property
    def tables(self) -> dict:
        return {"pairs": self.table}


# ------------------------------------------------------------------ helpers
def _prepare(time, event, group, strata, order, defer_timefix=False, who="log-rank test"):
    """Checked outcome, group codes and strata.

    pandas Series are paired by index label (:mod:`aplcohort._align`).

    Near-tied times are merged as R ``survdiff`` (``timefix``) here, except with
    ``defer_timefix`` and no strata: then the caller passes ``timefix=True`` to
    :func:`_oev`, which merges them on the distinct times of its one count table
    (same result, no sort of the rows).
    """
    time, event, group, strata = align_rows(who, time=time, event=event, group=group,
                                            strata=strata)
    oc = core.right_outcome(time, event)
    if oc.n == 0:
        raise InputError("no rows: a log-rank test needs observations")
    if not (defer_timefix and strata is None):
        oc = aeq_outcome(oc)                       # R survdiff timefix: near-ties merged
    if group is None:
        raise InputError("group is required: give one group label per row")
    if defer_timefix and strata is None:
        # labels are found from the count table (_counted drops those without rows)
        groups, codes, _ = _group_codes_counted(group, oc.n, order)
        return oc, groups, codes, np.zeros(0, np.int64), 1
    groups, codes = _group_codes(group, oc.n, order)
    if strata is None:
        s_codes, ns = np.zeros(oc.n, np.int64), 1
    else:
        s = pd.Series(np.asarray(strata, dtype=object))
        if len(s) != oc.n:
            raise InputError(f"strata has {len(s)} values but time has {oc.n}; give one "
                             f"stratum label per row")
        miss = s.isna().to_numpy()
        if miss.any():
            raise InputError(f"strata: missing labels at positions "
                             f"{np.flatnonzero(miss)[:20].tolist()}; remove those rows "
                             f"explicitly or give them a label")
        s_codes, uniq = pd.factorize(s)
        s_codes, ns = s_codes.astype(np.int64), len(uniq)
    return oc, groups, codes, s_codes, ns


def _oev(time, event, codes, k, s_codes, ns, weights, p, q, timefix=False, groups=None):
    """O, E, V summed over strata (one vectorised kernel call per stratum) and the
    number of rows per group.

    With ``groups`` (one stratum; candidate labels from :func:`_group_codes_counted`)
    the labels without rows are dropped from the count table first; then the labels
    kept are returned too.
    """
    if groups is not None:
        nr, ne, ng = core.risk_event_counts(time, event, codes, k, timefix)
        present = ng > 0
        if not present.all():
            # C order as a table counted on dense codes (BLAS sums in memory order)
            nr, ne = np.ascontiguousarray(nr[:, present]), np.ascontiguousarray(ne[:, present])
            ng = ng[present]
            groups = tuple(g for g, keep in zip(groups, present) if keep)
        k = len(groups)
        if nr.shape[0] == 0:
            return np.zeros(k), np.zeros(k), np.zeros((k, k)), ng, groups
        w = core.time_weights(nr.sum(axis=1), ne.sum(axis=1), weights, p, q)
        O, E, V = core.oev_from_counts(nr, ne, w)
        return O, E, V, ng, groups
    O = np.zeros(k)
    E = np.zeros(k)
    V = np.zeros((k, k))
    n_group = np.zeros(k, np.int64)
    for s in range(ns):
        if ns == 1:                      # no stratum copies of large cohorts
            nr, ne, ng = core.risk_event_counts(time, event, codes, k, timefix)
        else:
            m = s_codes == s
            nr, ne, ng = core.risk_event_counts(time[m], event[m], codes[m], k)
        n_group += ng
        if nr.shape[0] == 0:
            continue
        w = core.time_weights(nr.sum(axis=1), ne.sum(axis=1), weights, p, q)
        o, e, v = core.oev_from_counts(nr, ne, w)
        O += o
        E += e
        V += v
    return O, E, V, n_group


def _test_name(weights, p, q, stratified):
    name = {"logrank": "log-rank", "peto": "Peto-Peto", "gehan": "Gehan-Breslow",
            "tarone-ware": "Tarone-Ware", "peto-prentice": "Peto-Prentice"}.get(weights)
    if name is None:
        name = f"Fleming-Harrington({p:g},{q:g})"
    return ("stratified " if stratified else "") + name


#: why a log-rank statistic is not defined
NOTE_NO_COMPARISON = ("fewer than two groups have expected events > 0: no comparison is "
                      "possible (statistic 0 on 0 df as R survdiff; p undefined)")
# R survdiff stops here (solve(): "system is exactly singular"); a generalized inverse would
# print a statistic of 0 and p = 1 that nothing supports
NOTE_SINGULAR = ("the variance matrix of O - E is singular (e.g. every event time has a single "
                 "patient at risk in its stratum): the test is not estimable (R survdiff stops "
                 "with 'system is exactly singular')")


def _verdict(chisq, df):
    """``(statistic, p, note)``: p from the chi-square, or NaN and why."""
    if df < 1:
        return chisq, float("nan"), NOTE_NO_COMPARISON
    if not np.isfinite(chisq):
        return float("nan"), float("nan"), NOTE_SINGULAR
    return chisq, _chi2_sf(chisq, df), ""


def _result(oc, groups, codes, s_codes, ns, weights, p, q, rho=0.0, timefix=False):
    if timefix:      # deferred near-tie merging: one stratum, candidate labels (_prepare)
        O, E, V, n_group, groups = _oev(oc.time, oc.event, codes, len(groups), s_codes, ns,
                                        weights, p, q, timefix, groups=groups)
    else:
        O, E, V, n_group = _oev(oc.time, oc.event, codes, len(groups), s_codes, ns, weights,
                                p, q)
    chisq, df = core.chisq_from_oev(O, E, V)
    chisq, pval, note = _verdict(chisq, df)
    if note:
        warnings.warn(f"the test is undefined: {note}", StatisticalWarning, stacklevel=3)
    table = pd.DataFrame({"group": list(groups),
                          "n": n_group,
                          "observed": O, "expected": E, "o_minus_e": O - E,
                          "variance": np.diag(V).copy()})
    return LogRankResult(test=_test_name(weights, p, q, ns > 1), statistic=chisq, df=df,
                         p=pval, table=table, var=V, groups=groups, weights=weights, rho=rho,
                         fh_p=p, fh_q=q, n_strata=ns, note=note)


def _chi2_sf(x, df):
    """Upper chi-square tail: ``scipy.special.chdtrc``, what ``scipy.stats.chi2.sf``
    evaluates (same bits), without its per-call overhead (small cohorts)."""
    from scipy.special import chdtrc

    return float(chdtrc(df, x))


def _check_nonneg(x, name):
    try:
        v = float(x)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a number >= 0; got {x!r}") from None
    if not np.isfinite(v) or v < 0:
        raise InputError(f"{name} must be a finite number >= 0; got {x!r}")
    return v


def _check_pq_used(weights, p, q):
    """p and q are the Fleming-Harrington exponents: with another weight scheme they would
    be accepted and change nothing."""
    if weights != "fleming-harrington" and (p != 0 or q != 0):
        given = ", ".join(f"{k} = {v:g}" for k, v in (("p", p), ("q", q)) if v != 0)
        raise InputError(f"p and q apply to weights='fleming-harrington' only; weights="
                         f"{weights!r} does not use them ({given} given)")


# ------------------------------------------------------------------ public API
def logrank_test(time, event, group, *, strata=None, rho=0.0, order=None) -> LogRankResult:
    """k-group G-rho test, as R ``survdiff(Surv(time, event) ~ group, rho = rho)``.

    Parameters
    ----------
    time, event : array-like
        Right-censored outcome (event 0/1).
    group : array-like
        Group label of each row. pandas Series are paired by index label
        (:mod:`aplcohort._align`), arrays by position.
    strata : array-like, optional
        Stratum label of each row (R ``+ strata(s)``).
    rho : float
        0 = log-rank (default); 1 = Peto–Peto (weights pooled KM S(t-)).
    order : sequence, optional
        Group order (default: a pandas ``Categorical``'s category order, else the
        labels sorted).

    Returns
    -------
    LogRankResult

    Notes
    -----
    Validated against: R survival 3.5-3 ``survdiff`` (chisq, obs, exp, var) on
    aml, lung, veteran (incl. strata, rho = 0, 0.5, 1) and a hand-worked cohort,
    rtol 1e-9.

    Examples
    --------
    >>> from aplcohort.stats.logrank import logrank_test
    >>> r = logrank_test([1, 2, 3, 4, 5, 6], [1, 1, 1, 1, 0, 1], list("AABBAB"))
    >>> r.df, r.table["observed"].tolist()
    (1, [2.0, 3.0])
    """
    rho = _check_nonneg(rho, "rho")
    oc, groups, codes, s_codes, ns = _prepare(time, event, group, strata, order,
                                              defer_timefix=True, who="logrank_test")
    weights = "logrank" if rho == 0 else ("peto" if rho == 1 else "fleming-harrington")
    return _result(oc, groups, codes, s_codes, ns, weights, rho, 0.0, rho=rho,
                   timefix=strata is None)


def weighted_logrank(time, event, group, *, weights="logrank", p=0.0, q=0.0, strata=None,
                     order=None) -> LogRankResult:
    """Weighted log-rank test with a named weight function.

    Parameters
    ----------
    weights : {"logrank", "peto", "fleming-harrington", "gehan", "tarone-ware", "peto-prentice"}
        Weight at each event time: 1; pooled KM S(t-) (``"peto"``: R ``survdiff(rho = 1)``,
        "Peto-Peto"); ``S(t-)^p (1 - S(t-))^q``; n at risk (Gehan–Breslow); sqrt(n at
        risk) (Tarone–Ware); ``"peto-prentice"``: Prentice's modified survivor AT t_j,
        ``prod_{i <= j} (1 - d_i / (n_i + 1))`` (Stata ``sts test, peto``, Kleinbaum &
        Klein's "Peto" test; it differs from R's rho = 1 in both the ``n + 1`` and the
        ``t`` instead of ``t-``). n and S are pooled over groups, within stratum.
    p, q : float
        Fleming–Harrington exponents (``p = rho, q = 0`` is R's G-rho); used by
        ``weights="fleming-harrington"`` only, an error with another weight scheme.

    Returns
    -------
    LogRankResult

    Notes
    -----
    Validated against: R ``survdiff`` for logrank / Peto / FH(rho, 0); Gehan,
    Tarone–Ware and FH(p, q) against an explicit R implementation in
    tests/reference/km_logrank.R (itself checked to reproduce ``survdiff`` to
    1e-10), on aml, veteran (incl. strata), lung and the hand cohort; rtol 1e-9.
    Peto–Prentice against an explicit loop in tests/reference/surv_extras.R (the
    same loop reproduces ``survdiff`` rho = 0 and 1 to 1e-10), rtol 1e-6.

    Examples
    --------
    >>> from aplcohort.stats.logrank import weighted_logrank
    >>> weighted_logrank([1, 2, 3, 4, 5, 6], [1, 1, 1, 1, 0, 1], list("AABBAB"),
    ...                  weights="gehan").test
    'Gehan-Breslow'
    """
    if weights not in _WEIGHTS:
        raise InputError(f"weights must be one of {_WEIGHTS}; got {weights!r}")
    p = _check_nonneg(p, "p")
    q = _check_nonneg(q, "q")
    _check_pq_used(weights, p, q)
    oc, groups, codes, s_codes, ns = _prepare(time, event, group, strata, order,
                                              defer_timefix=True, who="weighted_logrank")
    return _result(oc, groups, codes, s_codes, ns, weights, p, q,
                   rho=p if weights == "fleming-harrington" else (1.0 if weights == "peto"
                                                                  else 0.0),
                   timefix=strata is None)


def trend_test(time, event, group, scores=None, *, strata=None, rho=0.0, order=None
               ) -> LogRankResult:
    """Log-rank test for trend over ordered groups (1 df).

    Statistic ``(sum_k s_k (O_k - E_k))^2 / (s' V s)`` from the (stratified)
    G-rho O, E and V, as survminer / EZR compute it from ``survdiff``.

    Parameters
    ----------
    scores : sequence of float, optional
        One score per group in group order; default ``1, 2, ..., k``.
    order : sequence, optional
        Group order (default: a pandas ``Categorical``'s category order, else the
        labels sorted) — the order the trend is tested in.

    Notes
    -----
    Validated against: the same formula evaluated in R on ``survdiff`` output
    (lung by ECOG status, default and custom scores, stratified by sex; veteran
    cell type), rtol 1e-9.

    Examples
    --------
    >>> from aplcohort.stats.logrank import trend_test
    >>> trend_test([1, 2, 3, 4, 5, 6], [1, 1, 1, 1, 0, 1], [0, 0, 1, 1, 2, 2]).df
    1
    """
    rho = _check_nonneg(rho, "rho")
    oc, groups, codes, s_codes, ns = _prepare(time, event, group, strata, order,
                                              who="trend_test")
    k = len(groups)
    if k < 2:
        raise InputError("trend_test needs at least two groups")
    s = np.arange(1.0, k + 1) if scores is None else np.asarray(scores, dtype=float)
    if s.shape != (k,) or not np.isfinite(s).all():
        raise InputError(f"scores must be {k} finite numbers, one per group in the order "
                         f"{list(groups)}; got {scores!r}")
    weights = "logrank" if rho == 0 else ("peto" if rho == 1 else "fleming-harrington")
    base = _result(oc, groups, codes, s_codes, ns, weights, rho, 0.0, rho=rho)
    u = float(s @ base.table["o_minus_e"].to_numpy())
    v = float(s @ base.var @ s)
    note = ""
    if v > 0 and np.isfinite(v):
        stat = u * u / v
        pval = _chi2_sf(stat, 1)
    else:
        stat = pval = float("nan")
        note = ("the variance of the trend score is 0 (at every event time, everyone at risk "
                "has the same score): the trend test is not defined"
                + (f"; {base.note}" if base.note else ""))
        warnings.warn(f"the test is undefined: {note}", StatisticalWarning, stacklevel=2)
    return LogRankResult(test=f"trend ({base.test})", statistic=stat, df=1, p=pval,
                         table=base.table, var=base.var, groups=groups, weights=weights,
                         rho=rho, fh_p=rho, n_strata=ns, scores=tuple(float(x) for x in s),
                         note=note)


def pairwise_logrank(time, event, group, *, adjust="holm", rho=0.0, weights=None, p=0.0,
                     q=0.0, strata=None, order=None) -> PairwiseResult:
    """All pairwise log-rank (G-rho or weighted) tests with p-value adjustment.

    Each pair is tested on the rows of its two groups only (as survminer
    ``pairwise_survdiff``), then p-values are adjusted over all pairs with
    :func:`aplcohort.stats._padjust.p_adjust` (R ``p.adjust``).

    Parameters
    ----------
    adjust : {"holm", "bonferroni", "BH", "hochberg", "BY", "none"}
    rho : float
        G-rho parameter when ``weights`` is None.
    weights, p, q : optional
        As :func:`weighted_logrank`, instead of ``rho`` (``rho`` must then stay 0, and
        ``p``/``q`` are for ``"fleming-harrington"`` only).

    Returns
    -------
    PairwiseResult with table ``[group1, group2, statistic, df, p, p_adj, estimable, note]``.

    Notes
    -----
    Validated against: R ``survdiff`` on each pair + ``p.adjust`` (veteran cell
    type with rho = 0 and 1, lung ECOG), rtol 1e-9.

    Examples
    --------
    >>> from aplcohort.stats.logrank import pairwise_logrank
    >>> r = pairwise_logrank([1, 2, 3, 4, 5, 6], [1, 1, 1, 1, 0, 1], list("ABCABC"))
    >>> r.table[["group1", "group2"]].values.tolist()
    [['A', 'B'], ['A', 'C'], ['B', 'C']]
    """
    if adjust == "fdr":
        adjust = "BH"
    if adjust not in ("holm", "bonferroni", "BH", "hochberg", "BY", "none"):
        raise InputError(f"adjust must be one of holm, bonferroni, BH, hochberg, BY, none; "
                         f"got {adjust!r}")
    oc, groups, codes, s_codes, ns = _prepare(time, event, group, strata, order,
                                              who="pairwise_logrank")
    if weights is None:
        rho = _check_nonneg(rho, "rho")
        weights = "logrank" if rho == 0 else ("peto" if rho == 1 else "fleming-harrington")
        p, q = rho, 0.0
    else:
        if weights not in _WEIGHTS:
            raise InputError(f"weights must be one of {_WEIGHTS}; got {weights!r}")
        if _check_nonneg(rho, "rho") != 0:
            raise InputError(f"rho applies without weights= only (the G-rho test); with "
                             f"weights={weights!r} give p (and q) for 'fleming-harrington', or "
                             f"leave rho at 0")
        p, q = _check_nonneg(p, "p"), _check_nonneg(q, "q")
        _check_pq_used(weights, p, q)
    rows = []
    for a, b in itertools.combinations(range(len(groups)), 2):
        m = (codes == a) | (codes == b)
        sub = np.where(codes[m] == a, 0, 1)
        s_sub, _ = pd.factorize(pd.Series(s_codes[m]))
        O, E, V, _ = _oev(oc.time[m], oc.event[m], sub, 2, s_sub.astype(np.int64),
                          int(s_sub.max()) + 1, weights, p, q)
        chisq, df = core.chisq_from_oev(O, E, V)
        chisq, pv, note = _verdict(chisq, df)
        if note:
            note = f"{note} (groups {groups[a]!r} and {groups[b]!r})"
            warnings.warn(f"pairwise test undefined: {note}", StatisticalWarning, stacklevel=2)
        rows.append((groups[a], groups[b], chisq, df, pv, note))
    table = pd.DataFrame(rows, columns=["group1", "group2", "statistic", "df", "p", "note"])
    table.insert(5, "p_adj", p_adjust(table["p"].to_numpy(dtype=float), adjust))
    table.insert(6, "estimable", np.isfinite(table["p"].to_numpy(dtype=float)))
    return PairwiseResult(table=table, test=_test_name(weights, p, q, ns > 1), adjust=adjust,
                          groups=groups)
