"""Cox regression (Efron or Breslow ties) fitted to many replicate cohorts at once.

:func:`batch_cox` runs the Newton–Raphson iteration of
:func:`aplcohort.stats.cox.cox_fit` (R ``coxph``: start at 0, at most 20
iterations, convergence when ``|1 - loglik_old / loglik_new| <= 1e-9``,
step-halving when the log-likelihood decreases, R's infinite-coefficient rule)
for every replicate simultaneously: each iteration evaluates the partial
likelihood, score and information of all still-active replicates with array
operations (risk-set sums are reverse cumulative sums over the time-sorted
rows; the Efron correction for ``d`` tied deaths uses each death's rank
``0 .. d-1`` within its tie block), then solves all Newton systems in one
batched call. Replicates leave the iteration as they converge, so each one
follows exactly the path the single-cohort fit takes.

Degenerate replicates (flagged, never silent)
---------------------------------------------
* no events: coefficients, SEs and tests are NaN, ``status`` is
  ``"no events"`` (the single-cohort function raises an InputError);
* monotone likelihood (e.g. a group with no events): the coefficients are the
  single-cohort values (as R, they keep growing with the iterations), but
  ``infinite`` flags the term, ``status`` is ``"infinite coefficient"`` and
  ``valid`` is False;
* no convergence in ``max_iter`` iterations: ``status`` ``"not converged"``.

Only right-censored data without strata or weights (the simulation use).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from ..stats._lazy import scipy_stats as st

from .._results import Result, jsonable
from ..errors import InputError
from ..stats._coxcore import RiskSetKernel
from ..stats.cox import _solve_psd as _solve_one  # the single-cohort fit's Newton solver
from ..stats.cox import cox_fit, singular_columns
from ._layout import as_batch

__all__ = ["batch_cox", "BatchCox"]

_STATUS = {0: "ok", 1: "no events", 2: "infinite coefficient", 3: "not converged",
           4: "term not estimable"}


@dataclass(frozen=True, eq=False)
class BatchCox(Result):
    """Cox fits of a batch of replicate cohorts (frozen).

    Attributes
    ----------
    coef, se : float arrays (reps, p)
    var : float array (reps, p, p)
        Model-based variance (inverse information).
    loglik0, loglik : float arrays (reps,)
        Log partial likelihood at 0 and at the estimate.
    score_test, wald_test, lr_test : float arrays (reps,)
        As R ``fit$score``, ``fit$wald.test``, ``2 * diff(fit$loglik)``.
    n_iter : int array ; converged : bool array ; infinite : bool array (reps, p)
    events : int array (reps,)
    status_code : int array (reps,)
        0 ok, 1 no events, 2 infinite coefficient, 3 not converged, 4 term not
        estimable: a column is constant or aliased with earlier ones in that
        replicate (a bootstrap resample without a group, say); as R ``coxph`` its
        coefficient, SE and variance are NaN and the other terms are the fit without
        it (see :attr:`status`).
    ties : str
    """

    kind = "batch_cox"

    coef: np.ndarray
    se: np.ndarray
    var: np.ndarray
    loglik0: np.ndarray
    loglik: np.ndarray
    score_test: np.ndarray
    wald_test: np.ndarray
    lr_test: np.ndarray
    n_iter: np.ndarray
    converged: np.ndarray
    infinite: np.ndarray
    events: np.ndarray
    status_code: np.ndarray
    ties: str = "efron"

    @property
    def reps(self) -> int:
        return int(self.coef.shape[0])

    @property
    def status(self) -> np.ndarray:
        """Status label of each replicate (``"ok"``, ``"no events"``, ...)."""
        return np.array([_STATUS[int(c)] for c in self.status_code], dtype=object)

    @property
    def valid(self) -> np.ndarray:
        """Replicates whose estimates are usable (status ``"ok"``)."""
        return self.status_code == 0

    @property
    def hr(self) -> np.ndarray:
        return np.exp(self.coef)

    def wald_p(self) -> np.ndarray:
        """Two-sided Wald p-value of each coefficient (reps, p)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return 2.0 * st.norm.sf(np.abs(self.coef / self.se))

    @property
    def title(self) -> str:
        return f"Cox fits of {self.reps} replicate cohorts"

    @property
    def choices(self) -> dict:
        return {"ties": self.ties, "iteration": "R coxph (Newton-Raphson, step-halving)",
                "flagged replicates": int((self.status_code != 0).sum())}

    def frame(self) -> pd.DataFrame:
        """Long table ``[rep, term, coef, se, hr, status]`` (terms x1, x2, ...)."""
        reps, p = self.coef.shape
        return pd.DataFrame({"rep": np.repeat(np.arange(reps), p),
                             "term": np.tile([f"x{j + 1}" for j in range(p)], reps),
                             "coef": self.coef.ravel(), "se": self.se.ravel(),
                             "hr": np.exp(self.coef.ravel()),
                             "status": np.repeat(self.status, p)})

    @property
    def tables(self) -> dict:
        return {"replicates": self.frame()}

    def to_dict(self) -> dict:
        return {"kind": self.kind, "reps": self.reps, "ties": self.ties,
                "coef": jsonable(self.coef), "se": jsonable(self.se),
                "loglik0": jsonable(self.loglik0), "loglik": jsonable(self.loglik),
                "status": jsonable(self.status), "choices": jsonable(self.choices)}


class _Chunk:
    """Replicates ``idx`` of a batch on the one Cox kernel
    (:class:`aplcohort.stats._coxcore.RiskSetKernel`, each replicate its own group of
    rows with its own coefficients): the statistic the single-cohort ``cox_fit`` uses.
    """

    def __init__(self, time, event, X, ties, single=False):
        r, n = time.shape
        p = X.shape[2]
        # centring as cox_fit (weights 1): does not change any estimate
        Xc = X - X.sum(axis=1, keepdims=True) / n
        self.X = Xc
        self.r, self.n, self.p = r, n, p
        self._args = (time, event, ties)
        rep = None if single else np.repeat(np.arange(r), n)
        self.kern = RiskSetKernel(Xc.reshape(r * n, p), time.ravel(), event.ravel(),
                                  ties=ties, rep=rep, nrep=r)

    def sub(self, idx):
        """The same replicates restricted to ``idx`` (sorted)."""
        if len(idx) == self.r:
            return self
        time, event, ties = self._args
        c = object.__new__(_Chunk)
        c.X = self.X[idx]
        c.r, c.n, c.p = len(idx), self.n, self.p
        c._args = (time[idx], event[idx], ties)
        c.kern = RiskSetKernel(c.X.reshape(c.r * c.n, c.p), time[idx].ravel(),
                               event[idx].ravel(), ties=ties,
                               rep=np.repeat(np.arange(c.r), c.n), nrep=c.r)
        return c

    def stats(self, beta):
        """Log-likelihood (r,), score (r, p), information (r, p, p) at beta (r, p)."""
        return self.kern.stats(np.asarray(beta, float).reshape(self.r, self.p))

    def max_abs_lp(self, coef):
        return np.abs(np.einsum("rnp,rp->rn", self.X, coef)).max(axis=1)


class _Aggregated(_Chunk):
    """One large cohort on the same kernel (risk sets aggregated per distinct time)."""

    def __init__(self, time, event, X, ties):
        super().__init__(np.asarray(time)[None], np.asarray(event)[None], np.asarray(X)[None],
                         ties, single=True)


def _solve_psd(A, b):
    """Batched Cholesky solve as cox_fit's ``_solve_psd`` (lstsq fallback per replicate)."""
    if A.shape[0] == 0:
        return np.zeros_like(b)
    try:
        L = np.linalg.cholesky(A)
    except np.linalg.LinAlgError:
        return np.stack([_solve_one(A[i], b[i]) for i in range(A.shape[0])])
    y = np.linalg.solve(L, b[..., None])
    return np.linalg.solve(np.swapaxes(L, 1, 2), y)[..., 0]


def _inv(A):
    try:
        return np.linalg.inv(A)
    except np.linalg.LinAlgError:
        out = np.empty_like(A)
        for i in range(A.shape[0]):
            try:
                out[i] = np.linalg.inv(A[i])
            except np.linalg.LinAlgError:
                out[i] = np.linalg.pinv(A[i])
        return out


def _quad(A, u):
    return np.einsum("rp,rp->r", u, _solve_psd(A, u))


def _singular_reps(Imat) -> np.ndarray:
    """Replicates whose information at 0 has a column R's ``cholesky2`` declares singular
    (:func:`aplcohort.stats.cox.singular_columns`, the single-cohort rule): one batched
    Cholesky, and the rule itself only where that fails or has a small pivot."""
    r = Imat.shape[0]
    try:
        piv = np.diagonal(np.linalg.cholesky(Imat), axis1=1, axis2=2) ** 2
        mx = np.diagonal(Imat, axis1=1, axis2=2).max(axis=1)
        eps = np.where(mx > 0, mx, 1.0) * np.finfo(float).eps ** 0.75
        suspect = ~(piv >= eps[:, None]).all(axis=1)
    except np.linalg.LinAlgError:
        suspect = np.ones(r, bool)
    out = np.zeros(r, bool)
    for i in np.flatnonzero(suspect):
        out[i] = singular_columns(Imat[i]).any()
    return out


def _fit_chunk(ch: _Chunk, max_iter, tol):
    r, n, p = ch.X.shape
    beta = np.zeros((r, p))
    ll0, U, Imat = ch.stats(beta)
    sing = _singular_reps(Imat)
    if sing.any():  # the caller fits these one by one with cox_fit (aliased terms NA)
        return {"singular": sing}
    sctest = _quad(Imat, U)
    loglik = ll0.copy()
    newbeta = beta + _solve_psd(Imat, U)
    halving = np.zeros(r, bool)
    converged = np.zeros(r, bool)
    n_iter = np.zeros(r, np.int64)
    newll = ll0.copy()
    newU, newI = U.copy(), Imat.copy()
    active = np.arange(r)
    for it in range(1, max_iter + 1):
        if active.size == 0:
            break
        sub = ch if active.size == r else ch.sub(active)
        ll_a, U_a, I_a = sub.stats(newbeta[active])
        ll_a = np.where(np.isfinite(ll_a), ll_a, -np.inf)
        newll[active], newU[active], newI[active] = ll_a, U_a, I_a
        n_iter[active] = it
        with np.errstate(divide="ignore", invalid="ignore"):
            conv = np.isfinite(ll_a) & (np.abs(1 - loglik[active] / ll_a) <= tol) \
                & ~halving[active]
        converged[active[conv]] = True
        if it == max_iter:
            break
        go = active[~conv]
        ll_g = newll[go]
        dec = ll_g < loglik[go]
        hv = go[dec]
        halving[hv] = True
        newbeta[hv] = (newbeta[hv] + beta[hv]) / 2
        up = go[~dec]
        halving[up] = False
        loglik[up] = newll[up]
        beta[up] = newbeta[up]
        newbeta[up] = beta[up] + _solve_psd(newI[up], newU[up])
        active = go
    coef = newbeta
    bad = ~np.isfinite(newll)
    if bad.any():
        idx = np.flatnonzero(bad)
        l2, u2, i2 = ch.sub(idx).stats(coef[idx])
        newll[idx], newU[idx], newI[idx] = l2, u2, i2
    var = _inv(newI)
    step = np.abs(np.einsum("rp,rpq->rq", newU, var))
    if max_iter <= 1:
        infinite = np.zeros((r, p), bool)
    else:
        with np.errstate(invalid="ignore", over="ignore"):
            inf_c = ~np.isfinite(newU) | ((step > tol) & (step > np.sqrt(tol) * np.abs(coef)))
            big = ch.max_abs_lp(coef) > 500
            inf_nc = ~np.isfinite(step) | big[:, None]
        infinite = np.where(converged[:, None], inf_c, inf_nc | inf_c)  # as cox_fit
    wald = _quad(var, coef)
    return dict(coef=coef, var=var, loglik0=ll0, loglik=newll, score_test=sctest,
                wald_test=wald, lr_test=2 * (newll - ll0), n_iter=n_iter, converged=converged,
                infinite=infinite)


def _fit_one_aliased(out, i, X, time, event, ties, max_iter, tol) -> None:
    """Replicate ``i``, which has a constant or aliased column, fitted by the single-cohort
    ``cox_fit`` (R ``coxph``: that coefficient NA, the others the fit without it); its
    rows and columns of the variance are NaN here, so no SE of 0 is reported for it."""
    fit = cox_fit(np.asarray(X, float), np.asarray(time, float), np.asarray(event),
                  ties=ties, max_iter=max_iter, tol=tol, warn=False)
    var = np.array(fit.var, dtype=float)
    var[fit.aliased, :] = np.nan
    var[:, fit.aliased] = np.nan
    out["coef"][i], out["var"][i] = fit.coef, var
    out["loglik0"][i], out["loglik"][i] = fit.loglik
    out["score_test"][i], out["wald_test"][i], out["lr_test"][i] = (
        fit.score_test, fit.wald_test, fit.lr_test)
    out["n_iter"][i], out["converged"][i], out["infinite"][i] = (
        fit.n_iter, fit.converged, fit.infinite)


def batch_cox(X, time, event, *, ties="efron", max_iter=20, tol=1e-9, chunk=None,
              method="auto") -> BatchCox:
    """Fit a Cox model to every replicate cohort of a batch.

    Parameters
    ----------
    X : array-like, shape (reps, n, p) or (n, p)
        Numeric covariates (e.g. arm indicators); a 2-D array is shared by all
        replicates.
    time, event : array-like, shape (reps, n) or (n,)
        Times (>= 0) and 0/1 events.
    ties : {"efron", "breslow"}
    max_iter, tol : int, float
        As :func:`aplcohort.stats.cox.cox_fit` (R ``coxph.control``).
    chunk : int, optional
        Replicates per chunk (default: about 2 million array cells per chunk).
        Results do not depend on it.
    method : {"auto", "rows", "aggregated"}
        ``"rows"``: all replicates of a chunk at once, per-death arrays (small
        cohorts). ``"aggregated"``: one replicate at a time with risk sets
        aggregated per distinct time (large cohorts: 10^6 rows). ``"auto"``:
        aggregated when ``n >= 5000``. Both give the same numbers.

    Returns
    -------
    BatchCox

    Notes
    -----
    Validated against: :func:`aplcohort.stats.cox.coxph` / ``cox_fit``
    (validated against R ``coxph``) on every replicate of random batches with
    tied times, 1-3 covariates, Efron and Breslow ties, separated and
    no-event replicates: coefficients, SEs, log-likelihoods and the three
    tests agree to rtol 1e-10 (tests/test_batch_engine.py).

    Examples
    --------
    >>> import numpy as np
    >>> from aplcohort.batch import batch_cox
    >>> X = np.array([[0.], [1.], [0.], [1.], [1.], [0.]])
    >>> f = batch_cox(X, [[1, 2, 3, 4, 5, 6], [2, 2, 3, 1, 5, 6]], [[1, 1, 0, 1, 1, 1]] * 2)
    >>> f.coef.shape, f.status.tolist()
    ((2, 1), ['ok', 'ok'])
    """
    if ties not in ("efron", "breslow"):
        raise InputError(f"ties must be 'efron' or 'breslow', got {ties!r}")
    b = as_batch(time, event, X=X)
    reps, n = b["reps"], b["n"]
    Xa = b["X"]
    p = Xa.shape[2]
    if p == 0:
        raise InputError("X must have at least one column")
    if method not in ("auto", "rows", "aggregated"):
        raise InputError(f"method must be 'auto', 'rows' or 'aggregated'; got {method!r}")
    aggregated = method == "aggregated" or (method == "auto" and n >= 5000)
    step = max(1, 2_000_000 // max(1, n * p * p)) if chunk is None else max(1, int(chunk))
    nev = b["event"].sum(axis=1).astype(np.int64)
    keys = ("coef", "var", "loglik0", "loglik", "score_test", "wald_test", "lr_test",
            "n_iter", "converged", "infinite")
    out = {"coef": np.full((reps, p), np.nan), "var": np.full((reps, p, p), np.nan),
           "loglik0": np.full(reps, np.nan), "loglik": np.full(reps, np.nan),
           "score_test": np.full(reps, np.nan), "wald_test": np.full(reps, np.nan),
           "lr_test": np.full(reps, np.nan), "n_iter": np.zeros(reps, np.int64),
           "converged": np.zeros(reps, bool), "infinite": np.zeros((reps, p), bool)}
    fit_idx = np.flatnonzero(nev > 0)
    aliased_reps: list = []
    if aggregated:
        step = 1
    for s in range(0, fit_idx.size, step):
        idx = fit_idx[s:s + step]
        if aggregated:
            ch = _Aggregated(np.asarray(b["time"][idx[0]]), np.asarray(b["event"][idx[0]]),
                             np.asarray(Xa[idx[0]]), ties)
        else:
            ch = _Chunk(np.ascontiguousarray(b["time"][idx]),
                        np.ascontiguousarray(b["event"][idx]),
                        np.ascontiguousarray(Xa[idx]), ties)
        res = _fit_chunk(ch, max_iter, tol)
        if "singular" in res:
            sing = res["singular"]
            for i in idx[sing]:
                _fit_one_aliased(out, i, Xa[i], b["time"][i], b["event"][i], ties, max_iter,
                                 tol)
                aliased_reps.append(i)
            ok = np.flatnonzero(~sing)
            if ok.size == 0:
                continue
            res = _fit_chunk(ch.sub(ok), max_iter, tol)
            idx = idx[ok]
        for key in keys:
            out[key][idx] = res[key]
    with np.errstate(invalid="ignore"):
        se = np.sqrt(np.diagonal(out["var"], axis1=1, axis2=2))
    status = np.zeros(reps, np.int64)
    status[~out["converged"]] = 3
    status[out["infinite"].any(axis=1)] = 2
    status[aliased_reps] = 4
    status[nev == 0] = 1
    return BatchCox(se=se, events=nev, status_code=status, ties=ties, **out)
