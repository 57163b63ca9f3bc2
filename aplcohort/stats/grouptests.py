"""Group-comparison tests for Table 1 and response rates, agreeing with R.

Every function reproduces the R (``stats`` package, R 4.2.2) function named in
its docstring: same statistic, same p-value, same defaults. Where scipy
matches R it could be used, but the formulas are short, so they are written
out here with R's code paths (continuity corrections, tie corrections, exact
distributions, root finder) so that the numbers agree to rounding.

Public API
----------
fisher_exact(table, ...)            R ``fisher.test`` (2x2 with conditional MLE
                                     odds ratio and exact CI; r x c exact)
chisq_test(table, correct=True)     R ``chisq.test`` on a matrix
wilcoxon_ranksum(x, y, exact=None)  R ``wilcox.test(x, y)``
kruskal_wallis(values, groups)      R ``kruskal.test``
t_test(x, y, var_equal=False)       R ``t.test(x, y)``
anova_oneway(values, groups)        R ``oneway.test(var.equal=TRUE)`` = ``aov`` F
binom_ci(x, n)                      Clopper-Pearson interval of R ``binom.test``
binom_test(x, n, p=0.5)             R ``binom.test``
compare_response_rates(...)         two response rates with exact CIs, the
                                     conditional-MLE odds ratio and Fisher p
compare_groups(values, groups)      automatic choice of test (rule below)
standardized_mean_difference(...)   SMD as R ``tableone``
p_adjust(p, method)                 R ``p.adjust``

Automatic choice of test (``compare_groups``)
---------------------------------------------
* Missing values (in ``values`` or ``groups``) are excluded and counted in
  ``n_missing``.
* ``kind="auto"``: a variable is *categorical* when its dtype is not numeric
  (object, string, category) or is boolean; otherwise *continuous*.
* Categorical: Pearson chi-square (R defaults: Yates correction for a 2x2
  table) when every expected count is >= 5; otherwise Fisher's exact test
  (2x2 or r x c). If an r x c table is too large for exact enumeration
  (see ``FISHER_MAX_WORK``) the chi-square test is used instead, with an
  :class:`~aplcohort.errors.ApproximationWarning`.
* Continuous, default (skewed clinical data): Wilcoxon rank-sum for two
  groups, Kruskal-Wallis for more. With ``parametric=True``: Welch t-test for
  two groups, one-way ANOVA (equal variances, as ``aov``) for more.
* When no test is possible (fewer than two groups with data, a single
  observed level, all values identical) the result has ``test="none"`` and
  p = NaN with the reason in ``method``.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import pandas as pd
from ._lazy import LazyModule

special = LazyModule("scipy.special")
stats = LazyModule("scipy.stats")   # only for the t-test, ANOVA and binomial test

from aplcohort.stats import _ranktests as _rt

from aplcohort._align import align_rows
from aplcohort._checks import check_bool, check_int
from aplcohort._results import Result
from aplcohort.errors import ApproximationWarning, InputError, StatisticalWarning
from aplcohort.stats._padjust import p_adjust

__all__ = [
    "TestResult",
    "RateComparisonResult",
    "fisher_exact",
    "chisq_test",
    "wilcoxon_ranksum",
    "kruskal_wallis",
    "t_test",
    "anova_oneway",
    "binom_ci",
    "binom_test",
    "compare_response_rates",
    "compare_groups",
    "standardized_mean_difference",
    "p_adjust",
    "FISHER_MAX_WORK",
]

_NAN = float("nan")
_EPS = float(np.finfo(float).eps)
_ALTERNATIVES = ("two.sided", "less", "greater")

#: Work limit of the exact r x c Fisher enumeration: number of (partial table,
#: next column) steps. Above it ``fisher_exact`` raises ``InputError``. Tables of
#: Table-1 size (e.g. 2 x 5 with n = 300, 3 x 4 with n = 150) stay far below it.
FISHER_MAX_WORK = 2_000_000


# --------------------------------------------------------------------------- #
# Result object
# --------------------------------------------------------------------------- #
@dataclass(frozen=True, eq=False)
class TestResult(Result):
    """Result of one hypothesis test (frozen).

    Attributes
    ----------
    test : str
        Name of the test, e.g. ``"Fisher's exact test"``,
        ``"Pearson's chi-squared test with Yates' continuity correction"``,
        ``"Wilcoxon rank-sum exact test"``.
    statistic : float
        Test statistic as R reports it (X-squared, W, t, F, Kruskal-Wallis
        chi-squared; NaN for Fisher r x c; number of successes for binomial).
    df : float
        Degrees of freedom (numerator df for F tests); NaN where undefined.
    p : float
        p-value.
    estimate, lower, upper : float
        Point estimate and confidence interval (``estimate_name`` says what it
        is: conditional-MLE odds ratio, difference in means, proportion); NaN
        where undefined.
    alternative : str
        ``"two.sided"``, ``"less"`` or ``"greater"``.
    df2 : float
        Denominator degrees of freedom of an F test, else NaN.
    estimate_name : str
        What ``estimate`` is ("" when there is none).
    conf_level : float
        Confidence level of ``lower``/``upper``.
    n : int
        Number of observations used.
    n_missing : int
        Number of observations excluded because of a missing value.
    method : str
        R's method string and computational notes.
    counts : pandas.DataFrame or None
        For tests on a contingency table: long table with columns
        ``[row, column, observed, expected]``.
    """

    __test__: ClassVar[bool] = False  # not a pytest test class
    kind: ClassVar[str] = "test"

    test: str
    statistic: float
    df: float
    p: float
    estimate: float = _NAN
    lower: float = _NAN
    upper: float = _NAN
    alternative: str = "two.sided"
    df2: float = _NAN
    estimate_name: str = ""
    conf_level: float = 0.95
    n: int = 0
    n_missing: int = 0
    method: str = ""
    counts: pd.DataFrame | None = field(default=None, repr=False)

    @property
    def title(self) -> str:
        return self.test

    @property
    def choices(self) -> dict:
        out = {"alternative": self.alternative, "method": self.method}
        if self.estimate_name:
            out["estimate"] = self.estimate_name
            out["conf_level"] = self.conf_level
        return out

    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        row = pd.DataFrame(
            [
                {
                    "test": self.test,
                    "statistic": self.statistic,
                    "df": self.df,
                    "df2": self.df2,
                    "p": self.p,
                    "estimate": self.estimate,
                    "lower": self.lower,
                    "upper": self.upper,
                    "alternative": self.alternative,
                    "n": self.n,
                    "n_missing": self.n_missing,
                }
            ]
        )
        out = {"test": row}
        if self.counts is not None:
            out["counts"] = self.counts
        return out


@dataclass(frozen=True, eq=False)
class RateComparisonResult(Result):
    """Two response rates with exact CIs, odds ratio and Fisher p (frozen).

    Attributes
    ----------
    rates : pandas.DataFrame
        Columns ``[group, n, responders, rate, lower, upper]`` (Clopper-Pearson).
    fisher : TestResult
        Fisher's exact test of the 2x2 table ``[[x1, n1 - x1], [x2, n2 - x2]]``;
        ``fisher.estimate`` is the conditional-MLE odds ratio (group 1 vs 2).
    conf_level : float
    """

    kind: ClassVar[str] = "rates"

    rates: pd.DataFrame
    fisher: TestResult
    conf_level: float = 0.95

    @property
    def title(self) -> str:
        return "Response rates"

    @property
    def choices(self) -> dict:
        return {
            "rate CI": "Clopper-Pearson (exact)",
            "odds ratio": "conditional MLE with exact CI (R fisher.test)",
            "conf_level": self.conf_level,
        }

    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        f = self.fisher
        comp = pd.DataFrame(
            [
                {
                    "contrast": f"{self.rates['group'].iloc[0]} vs {self.rates['group'].iloc[1]}",
                    "odds_ratio": f.estimate,
                    "lower": f.lower,
                    "upper": f.upper,
                    "p": f.p,
                    "test": f.test,
                }
            ]
        )
        return {"rates": self.rates, "odds ratio": comp}


# --------------------------------------------------------------------------- #
# helpers
# --------------------------------------------------------------------------- #
def _check_alternative(alternative: str) -> str:
    if alternative not in _ALTERNATIVES:
        raise InputError(
            f"alternative must be one of {_ALTERNATIVES}, got {alternative!r}."
        )
    return alternative


def _check_conf_level(conf_level: float) -> float:
    try:
        c = float(conf_level)
    except (TypeError, ValueError):
        c = _NAN
    if not (0 < c < 1):
        raise InputError(f"conf_level must be a number strictly between 0 and 1, got {conf_level!r}.")
    return c


def _as_table(table, name: str) -> tuple[np.ndarray, list, list]:
    """Validate a contingency table; return integer counts and labels."""
    if isinstance(table, pd.DataFrame):
        rows = list(table.index)
        cols = list(table.columns)
        arr = table.to_numpy(dtype=float)
    else:
        try:
            arr = np.asarray(table, dtype=float)
        except (TypeError, ValueError) as exc:
            raise InputError(f"{name}: the table must be a 2-D array of counts ({exc}).") from None
        rows = cols = None
    if arr.ndim != 2 or arr.shape[0] < 2 or arr.shape[1] < 2:
        raise InputError(
            f"{name}: the table must be 2-D with at least 2 rows and 2 columns, got shape {arr.shape}."
        )
    if not np.all(np.isfinite(arr)):
        raise InputError(f"{name}: the table contains missing or infinite counts.")
    if np.any(arr < 0):
        raise InputError(f"{name}: the table contains negative counts.")
    if np.any(arr != np.round(arr)):
        raise InputError(f"{name}: the table contains non-integer counts; pass whole-number counts.")
    if rows is None:
        rows = list(range(arr.shape[0]))
        cols = list(range(arr.shape[1]))
    return arr.astype(np.int64), rows, cols


def _counts_frame(obs: np.ndarray, exp: np.ndarray, rows, cols) -> pd.DataFrame:
    r, c = obs.shape
    return pd.DataFrame(
        {
            "row": [rows[i] for i in range(r) for _ in range(c)],
            "column": [cols[j] for _ in range(r) for j in range(c)],
            "observed": obs.ravel().astype(np.int64),
            "expected": exp.ravel().astype(float),
        }
    )


def _expected(obs: np.ndarray) -> np.ndarray:
    n = obs.sum()
    return np.outer(obs.sum(1), obs.sum(0)) / n if n > 0 else np.full(obs.shape, _NAN)


def _numeric_vector(x, name: str) -> np.ndarray:
    try:
        arr = np.asarray(x, dtype=float).ravel()
    except (TypeError, ValueError):
        raise InputError(f"{name} must be numeric.") from None
    return arr


def _uniroot(f, lower: float, upper: float, tol: float = _EPS**0.25, maxiter: int = 1000) -> float:
    """R's ``uniroot`` (Brent's zeroin, R_zeroin2) with R's default tolerance.

    Kept instead of ``scipy.optimize.brentq``: brentq's iterates differ from R's
    zeroin, so at R's loose tolerance the roots differ (see ``_Fisher2x2``).

    Reproducing R's root finder step by step makes the fisher.test odds ratio
    and its CI agree with R to rounding, not merely to the root tolerance.
    """
    a, b = float(lower), float(upper)
    fa, fb = f(a), f(b)
    if fa * fb > 0:
        raise InputError("internal root search: f() values at the interval ends have the same sign.")
    c, fc = a, fa
    if fa == 0.0:
        return a
    if fb == 0.0:
        return b
    maxit = maxiter + 1
    while maxit:
        maxit -= 1
        prev_step = b - a
        if abs(fc) < abs(fb):
            a, b, c = b, c, b
            fa, fb, fc = fb, fc, fb
        tol_act = 2 * _EPS * abs(b) + tol / 2
        new_step = (c - b) / 2
        if abs(new_step) <= tol_act or fb == 0.0:
            return b
        if abs(prev_step) >= tol_act and abs(fa) > abs(fb):
            cb = c - b
            if a == c:
                t1 = fb / fa
                p = cb * t1
                q = 1.0 - t1
            else:
                q = fa / fc
                t1 = fb / fc
                t2 = fb / fa
                p = t2 * (cb * q * (q - t1) - (b - a) * (t1 - 1.0))
                q = (q - 1.0) * (t1 - 1.0) * (t2 - 1.0)
            if p > 0:
                q = -q
            else:
                p = -p
            if p < (0.75 * cb * q - abs(tol_act * q) / 2) and p < abs(prev_step * q / 2):
                new_step = p / q
        if abs(new_step) < tol_act:
            new_step = tol_act if new_step > 0 else -tol_act
        a, fa = b, fb
        b += new_step
        fb = f(b)
        if (fb > 0 and fc > 0) or (fb < 0 and fc < 0):
            c, fc = a, fa
    return b


# --------------------------------------------------------------------------- #
# Fisher's exact test
# --------------------------------------------------------------------------- #
class _Fisher2x2:
    """The noncentral hypergeometric machinery of R's fisher.test (2x2).

    Kept instead of scipy: ``scipy.stats.contingency.odds_ratio(kind="conditional")``
    finds the exact root, R stops ``uniroot`` at tolerance ``eps^0.25``; on our R
    reference tables the two odds ratios / CI limits differ by up to 0.7 % (relative).
    The two-sided p uses R's relative tolerance ``1 + 1e-7`` for "no more probable"
    (``scipy.stats.fisher_exact`` uses ``1 + 1e-14``, which can differ from R when
    table probabilities tie up to rounding), on the same ``dnhyper`` as the CI.
    """

    def __init__(self, tab: np.ndarray):
        self.m = int(tab[:, 0].sum())
        self.n = int(tab[:, 1].sum())
        self.k = int(tab[0, :].sum())
        self.x = int(tab[0, 0])
        self.lo = max(0, self.k - self.n)
        self.hi = min(self.k, self.m)
        self.support = np.arange(self.lo, self.hi + 1, dtype=float)
        self.logdc = _rt.hypergeom_logpmf(self.support, self.m + self.n, self.m, self.k)

    def dnhyper(self, ncp: float) -> np.ndarray:
        d = self.logdc + math.log(ncp) * self.support
        d = np.exp(d - d.max())
        return d / d.sum()

    def mnhyper(self, ncp: float) -> float:
        if ncp == 0:
            return float(self.lo)
        if ncp == math.inf:
            return float(self.hi)
        return float(np.sum(self.support * self.dnhyper(ncp)))

    def pnhyper(self, q: float, ncp: float, upper_tail: bool = False) -> float:
        if ncp == 0:
            return float(q <= self.lo) if upper_tail else float(q >= self.lo)
        if ncp == math.inf:
            return float(q <= self.hi) if upper_tail else float(q >= self.hi)
        d = self.dnhyper(ncp)
        sel = self.support >= q if upper_tail else self.support <= q
        return float(d[sel].sum())

    def pvalue(self, alternative: str) -> float:
        x = self.x
        if alternative == "less":
            return self.pnhyper(x, 1.0)
        if alternative == "greater":
            return self.pnhyper(x, 1.0, upper_tail=True)
        d = self.dnhyper(1.0)
        rel_err = 1 + 1e-7
        return float(d[d <= d[x - self.lo] * rel_err].sum())

    def mle(self) -> float:
        x = self.x
        if x == self.lo:
            return 0.0
        if x == self.hi:
            return math.inf
        mu = self.mnhyper(1.0)
        if mu > x:
            return _uniroot(lambda t: self.mnhyper(t) - x, 0.0, 1.0)
        if mu < x:
            return 1.0 / _uniroot(lambda t: self.mnhyper(1.0 / t) - x, _EPS, 1.0)
        return 1.0

    def ncp_upper(self, alpha: float) -> float:
        x = self.x
        if x == self.hi:
            return math.inf
        p = self.pnhyper(x, 1.0)
        if p < alpha:
            return _uniroot(lambda t: self.pnhyper(x, t) - alpha, 0.0, 1.0)
        if p > alpha:
            return 1.0 / _uniroot(lambda t: self.pnhyper(x, 1.0 / t) - alpha, _EPS, 1.0)
        return 1.0

    def ncp_lower(self, alpha: float) -> float:
        x = self.x
        if x == self.lo:
            return 0.0
        p = self.pnhyper(x, 1.0, upper_tail=True)
        if p > alpha:
            return _uniroot(lambda t: self.pnhyper(x, t, upper_tail=True) - alpha, 0.0, 1.0)
        if p < alpha:
            return 1.0 / _uniroot(
                lambda t: self.pnhyper(x, 1.0 / t, upper_tail=True) - alpha, _EPS, 1.0
            )
        return 1.0


class _TooLarge(Exception):
    pass


_FEXACT_TOL = 3.45254e-7  # R fexact.c: tolerance added to the observed log-probability


def _compositions(total: int, caps: tuple[int, ...]):
    """All vectors x with 0 <= x_i <= caps_i and sum(x) == total."""
    k = len(caps)
    suffix = [0] * (k + 1)
    for i in range(k - 1, -1, -1):
        suffix[i] = suffix[i + 1] + caps[i]
    out = []
    cur = [0] * k

    def rec(i: int, left: int):
        if i == k - 1:
            cur[i] = left
            out.append(tuple(cur))
            return
        lo = max(0, left - suffix[i + 1])
        hi = min(caps[i], left)
        for v in range(lo, hi + 1):
            cur[i] = v
            rec(i + 1, left - v)

    if total <= suffix[0]:
        rec(0, total)
    return out


# Kept instead of scipy: scipy.stats.fisher_exact has no exact r x c test (only a
# Monte Carlo permutation method); this enumeration reproduces R's FEXACT p-value.
def _fisher_rxc_pvalue(tab: np.ndarray, max_work: int = FISHER_MAX_WORK) -> float:
    """Exact r x c Fisher p-value (R's FEXACT convention), by a network search.

    Tables with the observed margins are built column by column; a node is the
    multiset of remaining row totals. Paths with equal partial log-probability
    are merged. At each node the exact longest and shortest completions bound
    the log-probability: if every completion is at most as probable as the
    observed table (within R's tolerance 3.45254e-7 on the log scale) the
    whole completion mass is added in closed form; if none is, the node is
    dropped; otherwise the next column is enumerated.
    """
    tab = tab[tab.sum(1) > 0][:, tab.sum(0) > 0]
    if tab.shape[0] < 2 or tab.shape[1] < 2:
        return 1.0
    if tab.shape[0] > tab.shape[1]:
        tab = tab.T
    rows = tab.sum(1)
    cols = np.sort(tab.sum(0))[::-1]
    ntot = int(tab.sum())
    lf = special.gammaln(np.arange(ntot + 2, dtype=float) + 1.0)
    ncol = len(cols)
    cols_t = tuple(int(c) for c in cols)
    lf_cols_suffix = np.concatenate([np.cumsum(lf[cols][::-1])[::-1], [0.0]])
    const = float(lf[rows].sum() + lf[cols].sum() - lf[ntot])
    obs_val = -float(lf[tab].sum())
    thr = obs_val + _FEXACT_TOL
    work = [0]
    lfl = lf.tolist()

    trans_cache: dict = {}

    def transitions(stage: int, node: tuple):
        key = (stage, node)
        res = trans_cache.get(key)
        if res is None:
            comps = _compositions(cols_t[stage], node)
            work[0] += len(comps)
            if work[0] > max_work:
                raise _TooLarge
            res = []
            for x in comps:
                child = tuple(sorted([n - v for n, v in zip(node, x)]))
                val = 0.0
                for v in x:
                    val -= lfl[v]
                res.append((val, child))
            trans_cache[key] = res
        return res

    bound_cache: dict = {}

    def bounds(stage: int, node: tuple) -> tuple[float, float]:
        """(min, max) over completions of -sum log x! for columns stage..end."""
        key = (stage, node)
        res = bound_cache.get(key)
        if res is None:
            if stage == ncol - 1:
                v = 0.0
                for nn in node:
                    v -= lfl[nn]
                res = (v, v)
            else:
                lo_b, hi_b = math.inf, -math.inf
                for val, child in transitions(stage, node):
                    cmin, cmax = bounds(stage + 1, child)
                    lo_b = min(lo_b, val + cmin)
                    hi_b = max(hi_b, val + cmax)
                res = (lo_b, hi_b)
            bound_cache[key] = res
        return res

    def log_mass(stage: int, node: tuple) -> float:
        # log of sum over completions of prod 1/x!  (closed form)
        nrem = sum(node)
        return float(lfl[nrem] - sum([lfl[n] for n in node]) - lf_cols_suffix[stage])

    pval = 0.0
    root = tuple(sorted(int(r) for r in rows))
    # pasts: node -> (values array, counts array)
    level = {root: (np.array([0.0]), np.array([1.0]))}
    for stage in range(ncol):
        nxt: dict = {}
        for node, (vals, cnts) in level.items():
            bmin, bmax = bounds(stage, node)
            full = vals + bmax <= thr
            if np.any(full):
                pval += float(np.sum(cnts[full] * np.exp(vals[full] + log_mass(stage, node) + const)))
            keep = (~full) & (vals + bmin <= thr)
            if not np.any(keep):
                continue
            kv, kc = vals[keep], cnts[keep]
            for val, child in transitions(stage, node):
                cmin, cmax = bounds(stage + 1, child)
                nv = kv + val
                cfull = nv + cmax <= thr
                if np.any(cfull):
                    pval += float(
                        np.sum(kc[cfull] * np.exp(nv[cfull] + log_mass(stage + 1, child) + const))
                    )
                ck = (~cfull) & (nv + cmin <= thr)
                if np.any(ck):
                    nxt.setdefault(child, []).append((nv[ck], kc[ck]))
        # merge equal partial values at each node
        level = {}
        for child, parts in nxt.items():
            v = np.concatenate([p[0] for p in parts])
            c = np.concatenate([p[1] for p in parts])
            keys = np.round(v, 10)
            uk, first, inv = np.unique(keys, return_index=True, return_inverse=True)
            csum = np.bincount(inv, weights=c, minlength=len(uk))
            level[child] = (v[first], csum)
            work[0] += len(uk)
            if work[0] > max_work:
                raise _TooLarge
        if not level:
            break
    return max(0.0, min(1.0, pval))


def fisher_exact(
    table,
    *,
    alternative: str = "two.sided",
    conf_level: float = 0.95,
    conf_int: bool = True,
    max_work: int = FISHER_MAX_WORK,
) -> TestResult:
    """Fisher's exact test for a 2x2 or r x c contingency table, as R ``fisher.test``.

    Parameters
    ----------
    table : array_like or pandas.DataFrame
        Counts (non-negative integers), at least 2 x 2. DataFrame labels are
        kept in ``result.counts``.
    alternative : {"two.sided", "less", "greater"}
        Only for 2x2 tables (as R); r x c tables are always two-sided.
    conf_level : float
        Confidence level of the odds-ratio CI (2x2).
    conf_int : bool
        Compute the conditional-MLE odds ratio and its exact CI (2x2).
    max_work : int
        Work limit of the r x c enumeration (default ``FISHER_MAX_WORK``);
        above it an :class:`~aplcohort.errors.InputError` is raised advising
        ``chisq_test``.

    Returns
    -------
    TestResult
        ``test = "Fisher's exact test"``; ``p`` exact. For 2x2 tables
        ``estimate`` is the conditional maximum-likelihood odds ratio
        (noncentral hypergeometric) with exact ``lower``/``upper``, exactly as
        R (including R's ``uniroot`` tolerance, so agreement is to rounding).
        ``statistic`` and ``df`` are NaN.

    Notes
    -----
    Two-sided p-value: sum of the probabilities of all tables with the
    observed margins that are no more probable than the observed table, with
    R's relative tolerance (``1 + 1e-7`` for 2x2; ``3.45254e-7`` on the log
    scale, R's FEXACT, for r x c). Rows or columns with zero total are
    dropped for r x c tables (they do not change the p-value).

    Examples
    --------
    >>> r = fisher_exact([[3, 1], [1, 3]])
    >>> round(r.p, 6), round(r.estimate, 4)
    (0.485714, 6.4083)
    >>> round(fisher_exact([[2, 0, 1], [0, 3, 1]]).p, 6)
    0.142857

    Validated against: R 4.2.2 ``fisher.test`` (2x2 small counts, zero
    cells, one-sided; 2x3, 3x3 sparse, 3x4, 2x5), p rtol 1e-10, odds ratio
    and CI rtol 1e-9 (tests/reference/grouptests.R).
    """
    conf_int = check_bool("conf_int", conf_int)
    max_work = check_int("max_work", max_work, minimum=1)
    _check_alternative(alternative)
    conf_level = _check_conf_level(conf_level)
    tab, rows, cols = _as_table(table, "fisher_exact")
    n = int(tab.sum())
    if n == 0:
        raise InputError("fisher_exact: the table is empty (all counts are zero).")
    exp = _expected(tab)
    counts = _counts_frame(tab, exp, rows, cols)
    if tab.shape == (2, 2):
        fh = _Fisher2x2(tab)
        p = fh.pvalue(alternative)
        est = lo = hi = _NAN
        if conf_int:
            est = fh.mle()
            if alternative == "less":
                lo, hi = 0.0, fh.ncp_upper(1 - conf_level)
            elif alternative == "greater":
                lo, hi = fh.ncp_lower(1 - conf_level), math.inf
            else:
                a = (1 - conf_level) / 2
                lo, hi = fh.ncp_lower(a), fh.ncp_upper(a)
        return TestResult(
            test="Fisher's exact test",
            statistic=_NAN,
            df=_NAN,
            p=float(p),
            estimate=float(est),
            lower=float(lo),
            upper=float(hi),
            alternative=alternative,
            estimate_name="odds ratio (conditional MLE)" if conf_int else "",
            conf_level=conf_level,
            n=n,
            method="Fisher's Exact Test for Count Data (2x2, R fisher.test)",
            counts=counts,
        )
    if alternative != "two.sided":
        raise InputError(
            "fisher_exact: one-sided alternatives exist only for 2x2 tables (as in R); "
            "use alternative='two.sided' for an r x c table."
        )
    try:
        p = _fisher_rxc_pvalue(tab, max_work=max_work)
    except _TooLarge:
        raise InputError(
            f"fisher_exact: the {tab.shape[0]}x{tab.shape[1]} table with n={n} is too large for "
            f"exact enumeration (work limit max_work={max_work}). Use chisq_test(), merge "
            "sparse categories, or raise max_work if you can wait."
        ) from None
    return TestResult(
        test="Fisher's exact test",
        statistic=_NAN,
        df=_NAN,
        p=float(p),
        alternative="two.sided",
        conf_level=conf_level,
        n=n,
        method=f"Fisher's Exact Test for Count Data ({tab.shape[0]}x{tab.shape[1]}, exact "
        "enumeration, R FEXACT tolerance)",
        counts=counts,
    )


# --------------------------------------------------------------------------- #
# chi-square
# --------------------------------------------------------------------------- #
def chisq_test(table, correct: bool = True) -> TestResult:
    """Pearson's chi-squared test of independence, as R ``chisq.test(matrix)``.

    Parameters
    ----------
    table : array_like or pandas.DataFrame
        Counts, at least 2 x 2, with no all-zero row or column.
    correct : bool
        Yates' continuity correction for 2x2 tables (R default ``TRUE``):
        ``X2 = sum((|O - E| - Y)^2 / E)`` with ``Y = min(0.5, min |O - E|)``.

    Returns
    -------
    TestResult
        ``statistic`` X-squared, ``df = (r-1)(c-1)``, ``p`` from the
        chi-square upper tail; ``counts`` holds observed and expected counts.

    Warns
    -----
    StatisticalWarning
        "Chi-squared approximation may be incorrect" when any expected count
        is below 5 (as R).

    Examples
    --------
    >>> r = chisq_test([[12, 5], [7, 15]])
    >>> round(r.statistic, 6), r.df
    (4.32212, 1.0)

    Validated against: R 4.2.2 ``chisq.test`` (2x2 with and without
    correction, 2x3, 3x3), rtol 1e-12.
    """
    correct = check_bool("correct", correct)
    tab, rows, cols = _as_table(table, "chisq_test")
    if np.any(tab.sum(1) == 0) or np.any(tab.sum(0) == 0):
        raise InputError(
            "chisq_test: a row or column of the table has zero total, so expected counts are "
            "zero and the statistic is undefined (R returns NaN). Drop the empty level(s)."
        )
    # scipy's Yates correction (per cell min(0.5, |O - E|), only when df == 1) is R's
    # (one min over the cells, only for 2x2): in a 2x2 table |O - E| is the same in
    # every cell, so the numbers are identical
    stat, p, df, e = _rt.chisq(tab, correct)
    df = float(df)
    method = "Pearson's Chi-squared test"
    if correct and tab.shape == (2, 2) and np.min(np.abs(tab - e)) > 0:
        method += " with Yates' continuity correction"
    if np.any(e < 5):
        warnings.warn(
            "Chi-squared approximation may be incorrect: an expected count is below 5 "
            f"(smallest {e.min():.3g}); consider fisher_exact().",
            StatisticalWarning,
            stacklevel=2,
        )
    return TestResult(
        test=method,
        statistic=stat,
        df=df,
        p=p,
        n=int(tab.sum()),
        method=f"R chisq.test(correct={'TRUE' if correct else 'FALSE'})",
        counts=_counts_frame(tab, e, rows, cols),
    )


# --------------------------------------------------------------------------- #
# rank tests
# --------------------------------------------------------------------------- #
def _rank(x: np.ndarray) -> np.ndarray:
    return _rt.rank_average(x)[0]


def wilcoxon_ranksum(
    x,
    y,
    *,
    alternative: str = "two.sided",
    exact: bool | None = None,
    correct: bool = True,
) -> TestResult:
    """Wilcoxon rank-sum (Mann-Whitney) test, as R ``wilcox.test(x, y)``.

    Parameters
    ----------
    x, y : array_like
        The two samples (no missing values: remove them first, or use
        ``compare_groups`` which excludes and counts them).
    alternative : {"two.sided", "less", "greater"}
    exact : bool or None
        ``None`` (R default): exact p-value when both samples have fewer than
        50 observations and there are no ties. The exact distribution cannot
        be used with ties: then the normal approximation is used (an
        :class:`~aplcohort.errors.ApproximationWarning` is issued only if
        ``exact=True`` was asked for explicitly; R warns in both cases).
    correct : bool
        Continuity correction of the normal approximation (R default).

    Returns
    -------
    TestResult
        ``statistic`` is R's W = sum of ranks of ``x`` minus n_x(n_x+1)/2.
        The normal approximation uses the tie-corrected variance.

    Examples
    --------
    >>> r = wilcoxon_ranksum([1.1, 2.2, 3.1, 4.5], [2.5, 5.2, 6.3, 7.1, 8.8])
    >>> r.statistic, round(r.p, 6)
    (2.0, 0.063492)

    Validated against: R 4.2.2 ``wilcox.test`` (exact, ties, n >= 50, one-
    sided, no correction), rtol 1e-10.
    """
    exact = check_bool("exact", exact, allow_none=True)
    correct = check_bool("correct", correct)
    _check_alternative(alternative)
    xa = _numeric_vector(x, "x")
    ya = _numeric_vector(y, "y")
    if np.any(~np.isfinite(xa)) or np.any(~np.isfinite(ya)):
        raise InputError("wilcoxon_ranksum: x and y must not contain missing or infinite values.")
    nx, ny = xa.size, ya.size
    if nx < 1:
        raise InputError("wilcoxon_ranksum: not enough (non-missing) 'x' observations.")
    if ny < 1:
        raise InputError("wilcoxon_ranksum: not enough 'y' observations.")
    r, tie_sizes = _rt.rank_average(np.concatenate([xa, ya]))
    w = float(r[:nx].sum() - nx * (nx + 1) / 2)
    use_exact = (nx < 50 and ny < 50) if exact is None else bool(exact)
    ties = np.unique(r).size != r.size
    if not use_exact or ties:
        _, nties = np.unique(r, return_counts=True)
        if np.all(nties == nx + ny):
            raise InputError("wilcoxon_ranksum: all values are identical; the test is undefined.")
    # W is the Mann-Whitney U of x; its exact null distribution (R pwilcox), the
    # tie-corrected normal approximation and R's continuity correction are in _ranktests
    if use_exact and not ties:
        test = "Wilcoxon rank-sum exact test"
        p = _rt.rank_sum_p_exact(w, nx, ny, alternative)
        method = "Wilcoxon rank sum exact test (R wilcox.test)"
    else:
        test = "Wilcoxon rank-sum test"
        if correct:
            test += " with continuity correction"
        p = _rt.rank_sum_p_normal(w, nx, ny, tie_sizes, alternative, correct)
        method = "Wilcoxon rank sum test, normal approximation with tie-corrected variance (R wilcox.test)"
        if use_exact and ties:
            method += "; exact p-value not possible with ties"
            if exact:
                warnings.warn(
                    "wilcoxon_ranksum: cannot compute exact p-value with ties; normal "
                    "approximation used.",
                    ApproximationWarning,
                    stacklevel=2,
                )
    return TestResult(
        test=test,
        statistic=w,
        df=_NAN,
        p=float(p),
        alternative=alternative,
        n=nx + ny,
        method=method,
    )


def _grouped(values, groups, order, name: str):
    values, groups = align_rows(name, values=values, groups=groups)
    if order is None:   # a pandas Categorical: its category order (else sorted)
        from .km import categorical_order
        order = categorical_order(groups)
    v = _numeric_vector(values, "values")
    g = pd.Series(np.asarray(groups, dtype=object).ravel())
    if v.size != len(g):
        raise InputError(f"{name}: values ({v.size}) and groups ({len(g)}) differ in length.")
    if np.any(~np.isfinite(v)) or g.isna().any():
        raise InputError(
            f"{name}: values or groups contain missing values; remove them first "
            "(compare_groups() excludes and counts them)."
        )
    levels = _levels(g, order, name, known=True)
    data = [v[(g == lev).to_numpy()] for lev in levels]
    return levels, data


def _levels(g: pd.Series, order, name: str, *, known: bool = False) -> list:
    """Levels of ``g`` (sorted, or in ``order``). With ``known``, a label of ``order`` that
    ``g`` does not have is an error (checked on all rows, before rows with missing values
    are set aside, where a group may legitimately become empty)."""
    present = list(pd.unique(g))
    if order is None:
        from .km import categorical_order
        cats = categorical_order(g)     # a pandas Categorical: its category order
        if cats is not None:
            return cats
        try:
            return sorted(present)
        except TypeError:
            return sorted(present, key=str)
    order = list(order)
    missing = [lev for lev in present if lev not in order]
    if missing:
        raise InputError(f"{name}: group value(s) {missing!r} are not in order={order!r}.")
    if known:
        from .km import check_order_known
        try:
            check_order_known(order, present)
        except InputError as exc:
            raise InputError(f"{name}: {exc}") from None
    return [lev for lev in order if lev in present]


def kruskal_wallis(values, groups, *, order=None) -> TestResult:
    """Kruskal-Wallis rank-sum test, as R ``kruskal.test(values, groups)``.

    Parameters
    ----------
    values : array_like
        Numeric values (no missing values).
    groups : array_like
        Group label of each value; at least two groups.
    order : sequence, optional
        Group order (does not change the test).

    Returns
    -------
    TestResult
        Tie-corrected Kruskal-Wallis chi-squared, ``df = k - 1``.

    Examples
    --------
    >>> r = kruskal_wallis([1, 2, 3, 4, 5, 6], ["a", "a", "b", "b", "c", "c"])
    >>> round(r.statistic, 6), r.df
    (4.571429, 2.0)

    Validated against: R 4.2.2 ``kruskal.test`` (with and without ties),
    rtol 1e-12.
    """
    levels, data = _grouped(values, groups, order, "kruskal_wallis")
    if len(levels) < 2:
        raise InputError("kruskal_wallis: all observations are in the same group.")
    x = np.concatenate(data)
    n = x.size
    if np.all(x == x[0]):
        raise InputError("kruskal_wallis: all values are identical; the test is undefined.")
    # the tie-corrected H of R's kruskal.test
    stat, p = _rt.kruskal(data)
    df = float(len(levels) - 1)
    return TestResult(
        test="Kruskal-Wallis rank-sum test",
        statistic=float(stat),
        df=df,
        p=float(p),
        n=n,
        method="Kruskal-Wallis rank sum test, tie-corrected (R kruskal.test)",
    )


# --------------------------------------------------------------------------- #
# t-test and ANOVA
# --------------------------------------------------------------------------- #
def t_test(
    x,
    y,
    *,
    var_equal: bool = False,
    alternative: str = "two.sided",
    conf_level: float = 0.95,
) -> TestResult:
    """Two-sample t-test, as R ``t.test(x, y)`` (Welch by default).

    Parameters
    ----------
    x, y : array_like
        The two samples (no missing values).
    var_equal : bool
        ``False`` (R default): Welch's test with Satterthwaite df; ``True``:
        pooled-variance Student test.
    alternative : {"two.sided", "less", "greater"}
    conf_level : float

    Returns
    -------
    TestResult
        ``statistic`` t, ``df``, ``estimate`` = mean(x) - mean(y) with its CI.

    Examples
    --------
    >>> r = t_test([5.1, 4.9, 6.2, 5.8, 6.0], [4.1, 4.5, 3.9, 5.0])
    >>> round(r.estimate, 4)
    1.225

    Validated against: R 4.2.2 ``t.test`` (Welch and var.equal = TRUE,
    one-sided), rtol 1e-12.
    """
    var_equal = check_bool("var_equal", var_equal)
    _check_alternative(alternative)
    conf_level = _check_conf_level(conf_level)
    xa = _numeric_vector(x, "x")
    ya = _numeric_vector(y, "y")
    if np.any(~np.isfinite(xa)) or np.any(~np.isfinite(ya)):
        raise InputError("t_test: x and y must not contain missing or infinite values.")
    nx, ny = xa.size, ya.size
    if var_equal:
        if nx < 1 or ny < 1 or nx + ny < 3:
            raise InputError("t_test: not enough observations (need n_x + n_y >= 3, each >= 1).")
    else:
        if nx < 2:
            raise InputError("t_test: not enough 'x' observations (need at least 2 for Welch).")
        if ny < 2:
            raise InputError("t_test: not enough 'y' observations (need at least 2 for Welch).")
    mx, my = float(xa.mean()), float(ya.mean())
    # R's check of essentially constant data, on the standard error of the difference
    vx = float(xa.var(ddof=1)) if nx > 1 else 0.0
    vy = float(ya.var(ddof=1)) if ny > 1 else 0.0
    se = (math.sqrt(((nx - 1) * vx + (ny - 1) * vy) / (nx + ny - 2) * (1 / nx + 1 / ny))
          if var_equal else math.sqrt(vx / nx + vy / ny))
    if se == 0 or se < 10 * _EPS * max(abs(mx), abs(my)):
        raise InputError("t_test: data are essentially constant; the t statistic is undefined.")
    # scipy's ttest_ind (pooled or Welch-Satterthwaite) and its CI are R's t.test
    res = stats.ttest_ind(xa, ya, equal_var=var_equal,
                          alternative={"two.sided": "two-sided"}.get(alternative, alternative))
    t, df, p = float(res.statistic), float(res.df), float(res.pvalue)
    ci = res.confidence_interval(conf_level)
    test = "Two-sample t-test" if var_equal else "Welch two-sample t-test"
    return TestResult(
        test=test,
        statistic=t,
        df=df,
        p=p,
        estimate=mx - my,
        lower=float(ci.low),
        upper=float(ci.high),
        alternative=alternative,
        estimate_name="difference in means (x - y)",
        conf_level=conf_level,
        n=nx + ny,
        method=f"R t.test(var.equal={'TRUE' if var_equal else 'FALSE'})",
    )


def anova_oneway(values, groups, *, var_equal: bool = True, order=None) -> TestResult:
    """One-way analysis of means (F test), as R ``oneway.test`` / ``aov``.

    Parameters
    ----------
    values : array_like
        Numeric values (no missing values).
    groups : array_like
        Group label of each value; at least two groups.
    var_equal : bool
        ``True`` (default here, = ``aov`` / ``oneway.test(var.equal=TRUE)``):
        classical F test. ``False``: Welch's heteroscedastic F test (R
        ``oneway.test`` default).
    order : sequence, optional

    Returns
    -------
    TestResult
        ``statistic`` F, ``df`` numerator and ``df2`` denominator df.

    Examples
    --------
    >>> r = anova_oneway([1, 2, 3, 4, 5, 6], ["a", "a", "b", "b", "c", "c"])
    >>> round(r.statistic, 6), r.df, r.df2
    (16.0, 2.0, 3.0)

    Validated against: R 4.2.2 ``oneway.test`` (var.equal TRUE and FALSE),
    rtol 1e-12.
    """
    var_equal = check_bool("var_equal", var_equal)
    levels, data = _grouped(values, groups, order, "anova_oneway")
    k = len(levels)
    if k < 2:
        raise InputError("anova_oneway: need at least two groups.")
    n_i = np.array([d.size for d in data], dtype=float)
    n = n_i.sum()
    if var_equal:
        if n - k < 1:
            raise InputError("anova_oneway: not enough observations (need n > number of groups).")
        df1, df2 = float(k - 1), float(n - k)
        test = "One-way ANOVA F test"
        method = "R oneway.test(var.equal=TRUE) / aov"
    else:
        if np.any(n_i < 2):
            raise InputError("anova_oneway: Welch's test needs at least 2 observations per group.")
        v_i = np.array([d.var(ddof=1) for d in data])
        if np.any(v_i == 0):
            raise InputError("anova_oneway: a group has zero variance; Welch's test is undefined.")
        w_i = n_i / v_i
        tmp = float(np.sum((1 - w_i / w_i.sum()) ** 2 / (n_i - 1)) / (k**2 - 1))
        df1, df2 = float(k - 1), 1 / (3 * tmp)          # scipy does not report Welch's df2
        test = "Welch one-way ANOVA"
        method = "R oneway.test(var.equal=FALSE)"
    # scipy's F (classical, and Welch's with equal_var=False) is R's oneway.test
    stat, p = stats.f_oneway(*data, equal_var=var_equal)
    return TestResult(
        test=test,
        statistic=float(stat),
        df=df1,
        df2=float(df2),
        p=float(p),
        n=int(n),
        method=method,
    )


# --------------------------------------------------------------------------- #
# binomial
# --------------------------------------------------------------------------- #
def _check_binom(x, n, name: str) -> tuple[int, int]:
    try:
        xf, nf = float(x), float(n)
    except (TypeError, ValueError):
        raise InputError(f"{name}: x and n must be numbers.") from None
    if not (math.isfinite(xf) and math.isfinite(nf)) or xf != round(xf) or nf != round(nf):
        raise InputError(f"{name}: x and n must be whole numbers, got x={x!r}, n={n!r}.")
    if nf < 1 or xf < 0 or xf > nf:
        raise InputError(f"{name}: need n >= 1 and 0 <= x <= n, got x={x!r}, n={n!r}.")
    return int(xf), int(nf)


def _cp_lower(x: int, n: int, alpha: float) -> float:
    return 0.0 if x == 0 else _rt.beta_ppf(alpha, x, n - x + 1)


def _cp_upper(x: int, n: int, alpha: float) -> float:
    return 1.0 if x == n else _rt.beta_ppf(1 - alpha, x + 1, n - x)


def binom_ci(x, n, conf_level: float = 0.95) -> tuple[float, float, float]:
    """Proportion with its exact Clopper-Pearson CI, as R ``binom.test(x, n)$conf.int``.

    Parameters
    ----------
    x : int
        Number of successes (e.g. responders).
    n : int
        Number of trials.
    conf_level : float

    Returns
    -------
    (estimate, lower, upper) : tuple of float
        ``x / n`` and the two-sided Clopper-Pearson interval (lower is 0 when
        ``x == 0``, upper is 1 when ``x == n``).

    Examples
    --------
    >>> [round(v, 6) for v in binom_ci(7, 10)]
    [0.7, 0.347547, 0.93326]

    Validated against: R 4.2.2 ``binom.test`` (x = 0, x = n, several n,
    conf.level 0.9/0.95/0.99), rtol 1e-10.
    """
    x, n = _check_binom(x, n, "binom_ci")
    conf_level = _check_conf_level(conf_level)
    # R qbeta, not scipy's binomtest(...).proportion_ci("exact"): the latter solves the
    # binomial tail by root finding and differs from R by up to ~3e-10 (relative)
    a = (1 - conf_level) / 2
    return x / n, _cp_lower(x, n, a), _cp_upper(x, n, a)


def binom_test(x, n, p: float = 0.5, *, alternative: str = "two.sided", conf_level: float = 0.95) -> TestResult:
    """Exact binomial test, as R ``binom.test(x, n, p)``.

    Parameters
    ----------
    x, n : int
        Successes and trials.
    p : float
        Hypothesised probability of success.
    alternative : {"two.sided", "less", "greater"}
    conf_level : float

    Returns
    -------
    TestResult
        ``statistic`` = x, ``estimate`` = x/n with Clopper-Pearson CI
        (one-sided intervals for one-sided alternatives, as R). Two-sided p:
        probabilities no larger than that of x (relative tolerance 1e-7).

    Examples
    --------
    >>> round(binom_test(7, 10).p, 6)
    0.34375

    Validated against: R 4.2.2 ``binom.test``, rtol 1e-10.
    """
    x, n = _check_binom(x, n, "binom_test")
    _check_alternative(alternative)
    conf_level = _check_conf_level(conf_level)
    if not (0 <= p <= 1):
        raise InputError(f"binom_test: p must lie in [0, 1], got {p!r}.")
    # scipy's binomtest is R's binom.test: two-sided p sums the outcomes no more
    # probable than x with R's relative tolerance 1 + 1e-7. Clopper-Pearson intervals
    # (one-sided for one-sided alternatives) with R's qbeta, see binom_ci
    bt = stats.binomtest(x, n, p, alternative={"two.sided": "two-sided"}.get(alternative,
                                                                              alternative))
    pv = float(bt.pvalue)
    if alternative == "less":
        lo, hi = 0.0, _cp_upper(x, n, 1 - conf_level)
    elif alternative == "greater":
        lo, hi = _cp_lower(x, n, 1 - conf_level), 1.0
    else:
        a = (1 - conf_level) / 2
        lo, hi = _cp_lower(x, n, a), _cp_upper(x, n, a)
    return TestResult(
        test="Exact binomial test",
        statistic=float(x),
        df=_NAN,
        p=float(pv),
        estimate=x / n,
        lower=lo,
        upper=hi,
        alternative=alternative,
        estimate_name="probability of success (Clopper-Pearson CI)",
        conf_level=conf_level,
        n=n,
        method=f"R binom.test(p={p})",
    )


def compare_response_rates(
    x1,
    n1,
    x2,
    n2,
    *,
    labels: tuple = ("group 1", "group 2"),
    conf_level: float = 0.95,
) -> RateComparisonResult:
    """Compare two response rates (e.g. mCR2 after ATO vs IC).

    Parameters
    ----------
    x1, n1 : int
        Responders and patients in group 1.
    x2, n2 : int
        Responders and patients in group 2.
    labels : tuple of two labels
        Group names used in the output.
    conf_level : float

    Returns
    -------
    RateComparisonResult
        ``rates``: each group's rate with its Clopper-Pearson CI;
        ``fisher``: Fisher's exact test of ``[[x1, n1-x1], [x2, n2-x2]]``
        with the conditional-MLE odds ratio (odds of response in group 1
        over group 2) and its exact CI, as R ``fisher.test``.

    Examples
    --------
    >>> r = compare_response_rates(18, 20, 9, 15, labels=("ATO", "IC"))
    >>> r.rates["responders"].tolist(), round(r.fisher.p, 6)
    ([18, 9], 0.051498)

    Validated against: R 4.2.2 ``binom.test`` and ``fisher.test``, rtol 1e-9.
    """
    x1, n1 = _check_binom(x1, n1, "compare_response_rates (group 1)")
    x2, n2 = _check_binom(x2, n2, "compare_response_rates (group 2)")
    if len(labels) != 2:
        raise InputError("compare_response_rates: labels must have exactly two entries.")
    conf_level = _check_conf_level(conf_level)
    recs = []
    for lab, x, n in ((labels[0], x1, n1), (labels[1], x2, n2)):
        est, lo, hi = binom_ci(x, n, conf_level)
        recs.append({"group": lab, "n": n, "responders": x, "rate": est, "lower": lo, "upper": hi})
    rates = pd.DataFrame(recs, columns=["group", "n", "responders", "rate", "lower", "upper"])
    tab = pd.DataFrame(
        [[x1, n1 - x1], [x2, n2 - x2]], index=list(labels), columns=["response", "no response"]
    )
    return RateComparisonResult(rates=rates, fisher=fisher_exact(tab, conf_level=conf_level), conf_level=conf_level)


# --------------------------------------------------------------------------- #
# automatic choice of test
# --------------------------------------------------------------------------- #
def _is_categorical(s: pd.Series) -> bool:
    return (
        isinstance(s.dtype, pd.CategoricalDtype)
        or pd.api.types.is_bool_dtype(s.dtype)
        or not pd.api.types.is_numeric_dtype(s.dtype)
    )


def compare_groups(
    values,
    groups,
    kind: str = "auto",
    *,
    parametric: bool = False,
    order=None,
    correct: bool = True,
    fisher_max_work: int | None = None,
) -> TestResult:
    """Compare one variable between groups, choosing the test automatically.

    Rule (documented choice for Table 1):

    * Rows with a missing value or a missing group are excluded and counted
      in ``n_missing``.
    * ``kind="auto"``: categorical if the dtype is non-numeric (object,
      string, category) or boolean, else continuous.
    * Categorical: chi-square (``chisq_test``, Yates for 2x2) when all
      expected counts are >= 5; otherwise Fisher's exact test (2x2 or r x c).
      If the r x c Fisher enumeration exceeds ``FISHER_MAX_WORK`` the
      chi-square test is used with an ``ApproximationWarning``. A variable
      with a single observed level gives ``test="none"`` and p = NaN.
    * Continuous: Wilcoxon rank-sum (2 groups) / Kruskal-Wallis (> 2) by
      default; with ``parametric=True`` Welch t-test / one-way ANOVA.
    * No test is possible (``test="none"``, p = NaN, the reason in
      ``method``) when fewer than two groups have non-missing values, when a
      categorical variable has a single observed level, when all values are
      identical, or (parametric, 2 groups) when a group has < 2 values.
      Fewer than two groups in ``groups`` at all is an ``InputError``.

    Parameters
    ----------
    values : array_like or pandas.Series
        The variable (one entry per patient).
    groups : array_like or pandas.Series
        Group of each patient; at least two groups must be observed.
    kind : {"auto", "categorical", "continuous"}
    parametric : bool
        Use t-test / ANOVA for continuous variables.
    order : sequence, optional
        Group order (columns of the contingency table).
    correct : bool
        Yates correction of the 2x2 chi-square (R default ``True``).
    fisher_max_work : int, optional
        Work limit of the r x c Fisher enumeration (default
        ``FISHER_MAX_WORK``).

    Returns
    -------
    TestResult
        ``test`` names the test chosen; ``n`` and ``n_missing`` are set; for
        categorical variables ``counts`` holds observed and expected counts
        (rows = levels of the variable, columns = groups).

    Examples
    --------
    >>> r = compare_groups(["CR", "CR", "PR", "CR", "PR", None], ["A", "A", "A", "B", "B", "B"])
    >>> r.test, r.n, r.n_missing
    ("Fisher's exact test", 5, 1)
    >>> compare_groups([1.2, 3.4, 2.2, 5.1, 4.4, 6.0], [0, 0, 0, 1, 1, 1]).test
    'Wilcoxon rank-sum exact test'

    Validated against: the same R functions as the tests it dispatches to
    (tests/test_grouptests.py checks the choice and the p-values).
    """
    parametric = check_bool("parametric", parametric)
    correct = check_bool("correct", correct)
    fisher_max_work = check_int("fisher_max_work", fisher_max_work, minimum=1, allow_none=True)
    if kind not in ("auto", "categorical", "continuous"):
        raise InputError(f"compare_groups: kind must be 'auto', 'categorical' or 'continuous', got {kind!r}.")
    values, groups = align_rows("compare_groups", values=values, groups=groups)
    v = values if isinstance(values, pd.Series) else pd.Series(list(values) if not isinstance(values, np.ndarray) else values)
    g = groups if isinstance(groups, pd.Series) else pd.Series(list(groups) if not isinstance(groups, np.ndarray) else groups)
    v = v.reset_index(drop=True)
    g = g.reset_index(drop=True)
    if len(v) != len(g):
        raise InputError(f"compare_groups: values ({len(v)}) and groups ({len(g)}) differ in length.")
    if kind == "auto":
        kind = "categorical" if _is_categorical(v) else "continuous"
    if order is None:   # a pandas Categorical: its category order (else sorted)
        from .km import categorical_order
        order = categorical_order(g)
    all_levels = _levels(g[g.notna()].astype(object), order, "compare_groups", known=True)
    if len(all_levels) < 2:
        raise InputError(
            f"compare_groups: need at least two groups to compare, found {all_levels!r}."
        )
    miss = (v.isna() | g.isna()).to_numpy()
    n_missing = int(miss.sum())
    v = v[~miss].reset_index(drop=True)
    g = g[~miss].reset_index(drop=True)
    glevels = _levels(g.astype(object), order, "compare_groups")

    def _none(reason: str, counts=None) -> TestResult:
        return TestResult(
            test="none",
            statistic=_NAN,
            df=_NAN,
            p=_NAN,
            n=int(len(v)),
            n_missing=n_missing,
            method=f"compare_groups: {reason}: no test",
            counts=counts,
        )

    if len(glevels) < 2:
        return _none("fewer than two groups have non-missing values")
    if kind == "categorical":
        if isinstance(v.dtype, pd.CategoricalDtype):
            vlevels = [c for c in v.cat.categories if (v == c).any()]
        else:
            vlevels = _levels(v.astype(object), None, "compare_groups")
        tab = np.array(
            [[int(((v == lv) & (g == gl)).sum()) for gl in glevels] for lv in vlevels], dtype=np.int64
        )
        frame = pd.DataFrame(tab, index=vlevels, columns=glevels)
        if len(vlevels) < 2:
            return _none("only one level observed", _counts_frame(tab, _expected(tab), vlevels, glevels))
        e = _expected(tab)
        if np.any(e < 5):
            try:
                res = fisher_exact(
                    frame, max_work=FISHER_MAX_WORK if fisher_max_work is None else fisher_max_work
                )
                reason = "Fisher's exact test because an expected count is < 5"
            except InputError:
                warnings.warn(
                    f"compare_groups: the {tab.shape[0]}x{tab.shape[1]} table is too large for exact "
                    "Fisher enumeration; chi-square test used although an expected count is < 5.",
                    ApproximationWarning,
                    stacklevel=2,
                )
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", StatisticalWarning)
                    res = chisq_test(frame, correct=correct)
                reason = "chi-square (Fisher enumeration too large) although an expected count is < 5"
        else:
            res = chisq_test(frame, correct=correct)
            reason = "chi-square test because all expected counts are >= 5"
    elif kind == "continuous":
        try:
            vnum = pd.to_numeric(v).to_numpy(dtype=float)
        except (TypeError, ValueError):
            raise InputError("compare_groups: kind='continuous' but the values are not numeric.") from None
        garr = g.to_numpy(dtype=object)
        if np.unique(vnum).size == 1:
            return _none("all values are identical")
        if parametric and len(glevels) == 2 and min((garr == gl).sum() for gl in glevels) < 2:
            return _none("a group has fewer than 2 values (Welch t-test undefined)")
        if len(glevels) == 2:
            a = vnum[garr == glevels[0]]
            b = vnum[garr == glevels[1]]
            if parametric:
                res = t_test(a, b)
                reason = "Welch t-test (parametric, 2 groups)"
            else:
                res = wilcoxon_ranksum(a, b)
                reason = "Wilcoxon rank-sum (2 groups)"
        else:
            if parametric:
                res = anova_oneway(vnum, garr, order=glevels)
                reason = "one-way ANOVA (parametric, > 2 groups)"
            else:
                res = kruskal_wallis(vnum, garr, order=glevels)
                reason = "Kruskal-Wallis (> 2 groups)"
    return dataclasses.replace(
        res, n_missing=n_missing, method=f"compare_groups: {reason}; {res.method}"
    )


# --------------------------------------------------------------------------- #
# standardized mean difference
# --------------------------------------------------------------------------- #
def standardized_mean_difference(values, groups, kind: str = "auto", *, order=None) -> float:
    """Standardized mean difference between groups, as R ``tableone``.

    Continuous: ``|m1 - m2| / sqrt((s1^2 + s2^2) / 2)``. Categorical (incl.
    binary): Yang & Dalton's multivariate SMD ``sqrt(T' S^+ T)`` with
    ``T`` the difference of level proportions (first level dropped) and
    ``S`` the average of the two multinomial covariance matrices (``S^+`` a
    Moore-Penrose inverse, as ``MASS::ginv``); for a binary variable this is
    ``|p1 - p2| / sqrt((p1(1-p1) + p2(1-p2)) / 2)``. With more than two
    groups, the mean of all pairwise SMDs (tableone's printed SMD). Missing
    values are excluded.

    Parameters
    ----------
    values, groups : array_like
    kind : {"auto", "categorical", "continuous"}
        As in :func:`compare_groups`.
    order : sequence, optional

    Returns
    -------
    float

    Examples
    --------
    >>> round(standardized_mean_difference([1, 2, 3, 4, 5, 6], [0, 0, 0, 1, 1, 1]), 6)
    3.0

    Validated against: hand-computed values (formulas of tableone's
    ``StdDiff``/``StdDiffMulti``); tableone itself is not installed here.
    """
    if kind not in ("auto", "categorical", "continuous"):
        raise InputError(
            f"standardized_mean_difference: kind must be 'auto', 'categorical' or 'continuous', got {kind!r}."
        )
    values, groups = align_rows("standardized_mean_difference", values=values, groups=groups)
    v = pd.Series(values).reset_index(drop=True) if not isinstance(values, pd.Series) else values.reset_index(drop=True)
    g = pd.Series(groups).reset_index(drop=True) if not isinstance(groups, pd.Series) else groups.reset_index(drop=True)
    if len(v) != len(g):
        raise InputError("standardized_mean_difference: values and groups differ in length.")
    if kind == "auto":
        kind = "categorical" if _is_categorical(v) else "continuous"
    keep = ~(v.isna() | g.isna())
    if order is None:   # a pandas Categorical: its category order (else sorted)
        from .km import categorical_order
        order = categorical_order(g)
    _levels(g[g.notna()].astype(object), order, "standardized_mean_difference", known=True)
    v, g = v[keep].reset_index(drop=True), g[keep].reset_index(drop=True)
    glevels = _levels(g.astype(object), order, "standardized_mean_difference")
    if len(glevels) < 2:
        raise InputError("standardized_mean_difference: need at least two groups.")
    pairs = [(i, j) for i in range(len(glevels)) for j in range(i + 1, len(glevels))]
    out = []
    if kind == "continuous":
        x = pd.to_numeric(v).to_numpy(dtype=float)
        garr = g.to_numpy(dtype=object)
        means = [x[garr == gl].mean() for gl in glevels]
        vars_ = [x[garr == gl].var(ddof=1) if (garr == gl).sum() > 1 else _NAN for gl in glevels]
        for i, j in pairs:
            out.append(abs(means[i] - means[j]) / math.sqrt((vars_[i] + vars_[j]) / 2))
    else:
        vlevels = _levels(v.astype(object), None, "standardized_mean_difference")
        props = []
        for gl in glevels:
            vv = v[g == gl]
            props.append(np.array([(vv == lv).mean() for lv in vlevels])[1:])
        covs = [np.diag(pp) - np.outer(pp, pp) for pp in props]
        for i, j in pairs:
            t = props[i] - props[j]
            s = (covs[i] + covs[j]) / 2
            if np.all(t == 0):
                out.append(0.0)
                continue
            sinv = np.linalg.pinv(s, rcond=math.sqrt(_EPS))
            out.append(math.sqrt(max(0.0, float(t @ sinv @ t))))
    return float(np.mean(out))
