"""Permutation log-rank p-values and bootstrap confidence intervals.

Both are thin layers over the batch engine: the replicate cohorts (relabelled
or resampled) are built as ``(B, n)`` arrays and handed to
:func:`~aplcohort.batch.batch_logrank`, :func:`~aplcohort.batch.batch_km` and
:func:`~aplcohort.batch.batch_cox` in chunks.

Random streams: replicate ``b`` uses its own generator
``numpy.random.Generator(PCG64(SeedSequence(seed, spawn_key=(b,))))`` -- the
``b``-th child of ``SeedSequence(seed).spawn`` -- so the result is the same for
every ``chunk`` size.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .._results import Result
from ..errors import InputError
from ..stats.km import _group_codes
from ..stats.outcome import Outcome
from .cox import batch_cox
from .km import batch_km
from .logrank import batch_logrank

__all__ = ["permutation_logrank", "PermutationResult", "bootstrap_ci", "BootstrapResult",
           "replicate_rng", "n_relabellings"]

_REL_TOL = 1e-10   # statistics within this relative distance of the observed count as ">="


def replicate_rng(seed, rep):
    """Generator of replicate ``rep``: ``SeedSequence(seed, spawn_key=(rep,))``.

    Equals ``numpy.random.SeedSequence(seed).spawn(rep + 1)[rep]``.

    Examples
    --------
    >>> from aplcohort.batch.resample import replicate_rng
    >>> bool(replicate_rng(1, 5).random() == replicate_rng(1, 5).random())
    True
    """
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(int(seed),
                                                                      spawn_key=(int(rep),))))


def _check_seed(seed):
    if seed is None:
        raise InputError("seed must be a non-negative integer (results are reproducible "
                         "only with an explicit seed); got None")
    from .._checks import check_seed
    return check_seed(seed)


def _check_count(x, name, lo=1):
    if isinstance(x, bool) or not isinstance(x, (int, np.integer)) or x < lo:
        raise InputError(f"{name} must be an integer >= {lo}; got {x!r}")
    return int(x)


def n_relabellings(sizes) -> int:
    """Number of distinct assignments of group labels: ``n! / prod(n_g!)``.

    Examples
    --------
    >>> from aplcohort.batch.resample import n_relabellings
    >>> n_relabellings([3, 3])
    20
    """
    sizes = [int(s) for s in sizes]
    out = math.factorial(sum(sizes))
    for s in sizes:
        out //= math.factorial(s)
    return out


def _all_relabellings(codes, k):
    """Every distinct relabelling (multiset permutation) of ``codes``, as (M, n)."""
    n = codes.size
    sizes = np.bincount(codes, minlength=k)
    rows = []

    def rec(free, g, cur):
        if g == k - 1:
            cur = cur.copy()
            cur[list(free)] = g
            rows.append(cur)
            return
        for pick in itertools.combinations(free, int(sizes[g])):
            nxt = cur.copy()
            nxt[list(pick)] = g
            rest = tuple(i for i in free if i not in set(pick))
            rec(rest, g + 1, nxt)

    rec(tuple(range(n)), 0, np.full(n, -1, np.int64))
    return np.array(rows, dtype=np.int64)


# ---------------------------------------------------------------------------- permutation
@dataclass(frozen=True, eq=False)
class PermutationResult(Result):
    """Permutation log-rank test (frozen).

    Attributes
    ----------
    statistic : float
        Observed log-rank chi-square.
    df : int
    p : float
        Permutation p-value. Exact: the share of all distinct relabellings with
        a statistic >= the observed one. Monte Carlo: ``(1 + c) / (B + 1)``
        with ``c`` of ``B`` random relabellings >= observed.
    mc_se : float
        Monte Carlo standard error ``sqrt(p (1 - p) / B)`` (0 when exact).
    method : {"exact", "monte carlo"}
    n_perm : int
        Relabellings evaluated (all of them when exact).
    n_undefined : int
        Relabellings whose statistic is undefined (never counted as >=).
    asymptotic_p : float
        The chi-square p-value, for comparison.
    """

    kind = "permutation_logrank"

    statistic: float
    df: int
    p: float
    mc_se: float
    method: str
    n_perm: int
    n_undefined: int
    asymptotic_p: float
    groups: tuple
    seed: int | None

    @property
    def title(self) -> str:
        return "Permutation log-rank test"

    @property
    def choices(self) -> dict:
        return {"method": self.method, "relabellings": self.n_perm,
                "seed": self.seed if self.method == "monte carlo" else "not used",
                "ties in statistic": f"relative tolerance {_REL_TOL:g}",
                "groups": list(self.groups)}

    @property
    def tables(self) -> dict:
        return {"test": pd.DataFrame([{"statistic": self.statistic, "df": self.df,
                                       "p": self.p, "mc_se": self.mc_se,
                                       "method": self.method, "n_perm": self.n_perm,
                                       "asymptotic_p": self.asymptotic_p}])}


def permutation_logrank(time, event, group, *, n_perm=10_000, seed=None, max_exact=20_000,
                        exact=None, chunk=2_000, order=None) -> PermutationResult:
    """Log-rank p-value by permuting group labels.

    Parameters
    ----------
    time, event, group : array-like
        One cohort (group labels as given; sorted unless ``order``).
    n_perm : int
        Monte Carlo relabellings (when not exact).
    seed : int
        Root seed of the Monte Carlo streams (required for Monte Carlo).
    max_exact : int
        Enumerate all distinct relabellings when there are at most this many.
    exact : bool, optional
        Force (True) or forbid (False) exact enumeration.
    chunk : int
        Relabellings per batch call (results do not depend on it).

    Returns
    -------
    PermutationResult

    Notes
    -----
    Validated against: exact enumeration checked by hand on a 2 x 2 cohort and
    against the Monte Carlo p-value (within 4 MC SE); the statistic of every
    relabelling is :func:`aplcohort.batch.batch_logrank` (equal to R
    ``survdiff`` through logrank_test).

    Examples
    --------
    >>> from aplcohort.batch.resample import permutation_logrank
    >>> r = permutation_logrank([1, 2, 3, 4, 5, 6], [1, 1, 1, 1, 0, 1], list("AAABBB"))
    >>> r.method, r.n_perm
    ('exact', 20)
    """
    oc = Outcome.right(time, event)
    groups, codes = _group_codes(group, oc.n, order)
    k = len(groups)
    if k < 2:
        raise InputError("permutation_logrank needs at least two groups")
    n_perm = _check_count(n_perm, "n_perm")
    chunk = _check_count(chunk, "chunk")
    obs = batch_logrank(oc.time, oc.event, codes[None, :], k=k)
    stat0, df0 = float(obs.statistic[0]), int(obs.df[0])
    if obs.undefined[0]:
        raise InputError("the observed log-rank statistic is undefined (fewer than two "
                         "groups with expected events > 0); no permutation test possible")
    total = n_relabellings(np.bincount(codes, minlength=k))
    use_exact = (total <= max_exact) if exact is None else bool(exact)
    if use_exact and total > 5_000_000:
        raise InputError(f"exact enumeration of {total} relabellings is too large; use "
                         f"exact=False (Monte Carlo) or fewer patients")
    thresh = stat0 - _REL_TOL * abs(stat0)
    ge = 0
    und = 0
    if use_exact:
        labels = _all_relabellings(codes, k)
        for s in range(0, labels.shape[0], chunk):
            r = batch_logrank(oc.time, oc.event, labels[s:s + chunk], k=k)
            ge += int(np.sum(r.statistic[~r.undefined] >= thresh))
            und += r.n_undefined
        p = ge / total
        return PermutationResult(stat0, df0, p, 0.0, "exact", int(total), und, float(obs.p[0]),
                                 groups, None)
    seed = _check_seed(seed)
    for s in range(0, n_perm, chunk):
        reps = range(s, min(s + chunk, n_perm))
        u = np.stack([replicate_rng(seed, b).random(oc.n) for b in reps])
        labels = codes[np.argsort(u, axis=1, kind="stable")]
        r = batch_logrank(oc.time, oc.event, labels, k=k)
        ge += int(np.sum(r.statistic[~r.undefined] >= thresh))
        und += r.n_undefined
    p = (ge + 1) / (n_perm + 1)
    mc_se = math.sqrt(p * (1 - p) / n_perm)
    return PermutationResult(stat0, df0, p, mc_se, "monte carlo", n_perm, und, float(obs.p[0]),
                             groups, seed)


# ---------------------------------------------------------------------------- bootstrap
_BOOT_COLS = ["quantity", "group", "time", "estimate", "lower", "upper", "n_boot",
              "n_undefined", "n_infinite"]


@dataclass(frozen=True, eq=False)
class BootstrapResult(Result):
    """Percentile bootstrap confidence intervals (frozen).

    ``table`` columns: ``[quantity, group, time, estimate, lower, upper, n_boot,
    n_undefined, n_infinite]``; ``quantity`` is ``"median"``, ``"survival"``,
    ``"rmst_difference"`` or ``"hr"``; ``group`` is the group label, or the
    contrast (``"B vs A"``) for differences and hazard ratios; ``time`` is t
    for survival, tau for RMST (NaN otherwise).

    Undefined replicates (NaN: survival after the last observation in the
    resample, a Cox fit without events) are left out of the percentiles and
    counted in ``n_undefined``; "infinite" ones (median not reached: +inf;
    infinite Cox coefficient: HR 0 or +inf) are kept as infinite values and
    counted in ``n_infinite``, so a bound that falls among them is reported as
    NaN (median: not reached) or 0 / inf (HR).
    """

    kind = "bootstrap"

    table: pd.DataFrame
    conf_level: float
    n_boot: int
    seed: int
    stratified: bool
    groups: tuple

    @property
    def title(self) -> str:
        return "Bootstrap confidence intervals"

    @property
    def choices(self) -> dict:
        return {"interval": "percentile", "conf_level": self.conf_level,
                "resamples": self.n_boot, "seed": self.seed,
                "resampling": "within group (group sizes fixed)" if self.stratified
                else "patients (group sizes vary)", "groups": list(self.groups),
                "hr": "Cox (Efron), reference = first group"}

    @property
    def tables(self) -> dict:
        return {"intervals": self.table}


def _quantile_inf(sorted_v, q):
    """Linear-interpolation quantile (numpy's default) that allows +inf values."""
    h = (sorted_v.size - 1) * q
    lo = int(math.floor(h))
    frac = h - lo
    a = sorted_v[lo]
    if frac == 0 or lo + 1 >= sorted_v.size:
        return float(a)
    b = sorted_v[lo + 1]
    if np.isinf(b) or np.isinf(a):
        return float(b)
    return float(a + (b - a) * frac)


def _percentile(v, conf_level):
    """Percentile interval of v (NaN dropped); returns lower, upper, n_undefined, n_inf."""
    v = np.asarray(v, float)
    und = int(np.isnan(v).sum())
    ok = np.sort(v[~np.isnan(v)])
    ninf = int(np.isinf(ok).sum())
    if ok.size == 0:
        return np.nan, np.nan, und, ninf
    a = (1 - conf_level) / 2
    return _quantile_inf(ok, a), _quantile_inf(ok, 1 - a), und, ninf


def bootstrap_ci(time, event, group, *, times=(), tau=None, hr=True, n_boot=2_000, seed=None,
                 conf_level=0.95, stratified=True, chunk=1_000, order=None) -> BootstrapResult:
    """Percentile bootstrap CIs for medians, S(t), RMST differences and hazard ratios.

    Parameters
    ----------
    time, event, group : array-like
        One cohort.
    times : sequence of float
        Times t for the survival probability S(t) of each group.
    tau : float, optional
        Horizon of the RMST difference (each group minus the first).
    hr : bool
        Hazard ratio of each group vs the first (Cox, Efron ties).
    n_boot : int
    seed : int
        Root seed (required); resample ``b`` uses ``SeedSequence(seed, spawn_key=(b,))``.
    conf_level : float
    stratified : bool
        Resample within each group (default; keeps the group sizes) or resample
        patients from the whole cohort.
    chunk : int
        Resamples per batch call (results do not depend on it).

    Returns
    -------
    BootstrapResult

    Notes
    -----
    Validated against: the estimates are :func:`batch_km` / :func:`batch_cox`
    (equal to the single-cohort functions, themselves validated against R);
    the percentile machinery is checked for chunk invariance and against a
    plain loop over resamples with :func:`aplcohort.stats.km.kaplan_meier`.

    Examples
    --------
    >>> from aplcohort.batch.resample import bootstrap_ci
    >>> r = bootstrap_ci([1, 2, 3, 4, 5, 6, 7, 8], [1, 1, 0, 1, 1, 1, 0, 1], list("AABBAABB"),
    ...                  n_boot=50, seed=1, hr=False)
    >>> r.table["quantity"].tolist()
    ['median', 'median']
    """
    oc = Outcome.right(time, event)
    groups, codes = _group_codes(group, oc.n, order)
    k = len(groups)
    n_boot = _check_count(n_boot, "n_boot")
    chunk = _check_count(chunk, "chunk")
    seed = _check_seed(seed)
    if not 0 < float(conf_level) < 1:
        raise InputError(f"conf_level must be in (0, 1); got {conf_level!r}")
    if (tau is not None or hr) and k < 2:
        raise InputError("RMST differences and hazard ratios need at least two groups")
    times = np.atleast_1d(np.asarray(times, float))
    n = oc.n
    X = (codes[:, None] == np.arange(1, k)).astype(float)

    def summaries(t, e, g, Xb):
        km = batch_km(t, e, g, k=k, times=times, tau=tau)
        med = np.where(np.isnan(km.median) & (km.n > 0), np.inf, km.median)
        out = {"median": med, "surv": km.surv}
        if tau is not None:
            out["rmst"] = km.rmst[:, 1:] - km.rmst[:, :1]
        if hr:
            f = batch_cox(Xb, t, e)
            lc = f.coef.copy()
            inf = f.infinite & (f.status_code != 1)[:, None]
            lc[inf] = np.sign(lc[inf]) * np.inf
            hrv = np.exp(lc)
            absent = (km.n[:, 1:] == 0) | (km.n[:, :1] == 0)
            out["hr"] = np.where(absent | (f.status_code[:, None] == 1), np.nan, hrv)
        return out

    est = summaries(oc.time[None], oc.event[None], codes[None], X[None])
    idx_by_group = [np.flatnonzero(codes == j) for j in range(k)]
    acc = {key: [] for key in est}
    for s in range(0, n_boot, chunk):
        rows = []
        for b in range(s, min(s + chunk, n_boot)):
            rng = replicate_rng(seed, b)
            if stratified:
                rows.append(np.concatenate([ix[rng.integers(0, ix.size, ix.size)]
                                            for ix in idx_by_group]))
            else:
                rows.append(rng.integers(0, n, n))
        ix = np.stack(rows)
        res = summaries(oc.time[ix], oc.event[ix], codes[ix], X[ix])
        for key in acc:
            acc[key].append(res[key])
    boot = {key: np.concatenate(v) for key, v in acc.items()}
    cl = float(conf_level)
    recs = []
    for j, g in enumerate(groups):
        lo, hi, und, ninf = _percentile(boot["median"][:, j], cl)
        e0 = est["median"][0, j]
        recs.append(("median", g, np.nan, np.nan if np.isinf(e0) else e0,
                     lo, np.nan if np.isinf(hi) else hi, n_boot, und, ninf))
    for j, g in enumerate(groups):
        for m, t in enumerate(times):
            lo, hi, und, ninf = _percentile(boot["surv"][:, j, m], cl)
            recs.append(("survival", g, float(t), est["surv"][0, j, m], lo, hi, n_boot, und,
                         ninf))
    for j in range(1, k):
        contrast = f"{groups[j]} vs {groups[0]}"
        if tau is not None:
            lo, hi, und, ninf = _percentile(boot["rmst"][:, j - 1], cl)
            recs.append(("rmst_difference", contrast, float(tau), est["rmst"][0, j - 1], lo, hi,
                         n_boot, und, ninf))
        if hr:
            v = boot["hr"][:, j - 1]
            lo, hi, und, _ninf = _percentile(v, cl)
            ninf = int(np.sum(np.isinf(v) | (v == 0)))  # an infinite coefficient: HR 0 or inf
            recs.append(("hr", contrast, np.nan, est["hr"][0, j - 1], lo, hi, n_boot, und, ninf))
    table = pd.DataFrame(recs, columns=_BOOT_COLS)
    return BootstrapResult(table=table, conf_level=cl, n_boot=n_boot, seed=seed,
                           stratified=bool(stratified), groups=groups)
