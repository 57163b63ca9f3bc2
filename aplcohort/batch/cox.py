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
from scipy import stats as st

from .._results import Result, jsonable
from ..errors import InputError
from ..stats.cox import _solve_psd  # same Newton step solver as the single-cohort fit
from ._layout import as_batch

__all__ = ["batch_cox", "BatchCox"]

_STATUS = {0: "ok", 1: "no events", 2: "infinite coefficient", 3: "not converged"}


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
        0 ok, 1 no events, 2 infinite coefficient, 3 not converged
        (see :attr:`status`).
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
    """Rows of a chunk of replicates sorted by DEcreasing time (independent of beta).

    Risk-set sums are then forward cumulative sums read at the last row of each
    tie block; everything per death is held in compressed ``(M, ...)`` arrays
    (M = number of deaths in the chunk), summed per replicate with
    ``np.add.reduceat``.
    """

    def __init__(self, time, event, X, ties):
        r, n = time.shape
        p = X.shape[2]
        order = np.argsort(time, axis=1, kind="stable")[:, ::-1]
        ts = np.take_along_axis(time, order, axis=1)
        ev = np.take_along_axis(event, order, axis=1)
        Xs = np.take_along_axis(X, order[:, :, None], axis=1)
        # centring as cox_fit (weights 1): does not change any estimate
        self.X = Xs - X.sum(axis=1, keepdims=True) / n
        self.iu = np.triu_indices(p)
        self.p = p
        last = np.ones((r, n), bool)
        last[:, :-1] = ts[:, 1:] != ts[:, :-1]
        pos = np.broadcast_to(np.arange(n), (r, n))
        end = np.minimum.accumulate(np.where(last, pos, n - 1)[:, ::-1], axis=1)[:, ::-1]
        dead = ev > 0
        self.r, self.n = r, n
        self.dflat = np.flatnonzero(dead.ravel())                     # death rows (flat)
        drep = self.dflat // n
        self.drep = drep
        self.rep_starts = np.flatnonzero(np.r_[True, drep[1:] != drep[:-1]])
        self.dend = drep * n + end.ravel()[self.dflat]               # risk set: rows <= end
        blk = self.dend
        self.blk_starts = np.flatnonzero(np.r_[True, blk[1:] != blk[:-1]])
        blk_id = np.cumsum(np.r_[True, blk[1:] != blk[:-1]]) - 1
        d = np.bincount(blk_id).astype(float)
        rank = np.arange(blk.size) - self.blk_starts[blk_id]
        self.blk_id = blk_id
        self.frac = rank / d[blk_id] if ties == "efron" else np.zeros(blk.size)
        Xf = self.X.reshape(r * n, p)
        self.Xd = Xf[self.dflat]                                       # (M, p)
        self.XXu = self.X[:, :, self.iu[0]] * self.X[:, :, self.iu[1]]  # (r, n, npair)
        self.Xsum_dead = np.add.reduceat(self.Xd, self.rep_starts, axis=0)

    def sub(self, idx):
        """The same bookkeeping restricted to replicates ``idx`` (sorted)."""
        c = object.__new__(_Chunk)
        r, n = len(idx), self.n
        c.r, c.n, c.p, c.iu = r, n, self.p, self.iu
        c.X, c.XXu = self.X[idx], self.XXu[idx]
        keep = np.isin(self.drep, idx)
        newrep = np.searchsorted(idx, self.drep[keep])
        c.drep = newrep
        c.dflat = newrep * n + self.dflat[keep] % n
        c.dend = newrep * n + self.dend[keep] % n
        c.rep_starts = np.flatnonzero(np.r_[True, newrep[1:] != newrep[:-1]])
        blk = c.dend
        c.blk_starts = np.flatnonzero(np.r_[True, blk[1:] != blk[:-1]])
        c.blk_id = np.cumsum(np.r_[True, blk[1:] != blk[:-1]]) - 1
        c.frac = self.frac[keep]
        c.Xd = self.Xd[keep]
        c.Xsum_dead = self.Xsum_dead[idx]
        return c

    def stats(self, beta):
        """Log-likelihood (r,), score (r, p), information (r, p, p) at beta (r, p)."""
        r, n, p = self.r, self.n, self.p
        eta = np.einsum("rnp,rp->rn", self.X, beta)
        c = eta.max(axis=1, keepdims=True)
        risk = np.exp(eta - c)
        # columns: risk, risk * x (p), risk * x_a x_b (a <= b)
        V = np.concatenate([risk[:, :, None], risk[:, :, None] * self.X,
                            risk[:, :, None] * self.XXu], axis=2)
        q = V.shape[2]
        cum = np.cumsum(V, axis=1).reshape(r * n, q)
        S = cum[self.dend]                                             # (M, q) risk-set sums
        Vd = V.reshape(r * n, q)[self.dflat]
        D = np.add.reduceat(Vd, self.blk_starts, axis=0)[self.blk_id]  # tied-death sums
        A = S - self.frac[:, None] * D
        den = A[:, 0]
        m = A[:, 1:1 + p] / den[:, None]
        s2 = A[:, 1 + p:] / den[:, None]
        eta_d = (eta - c).ravel()[self.dflat]
        ll = np.add.reduceat(eta_d, self.rep_starts) - \
            np.add.reduceat(np.log(den), self.rep_starts)
        U = self.Xsum_dead - np.add.reduceat(m, self.rep_starts, axis=0)
        iu = self.iu
        Ipair = np.add.reduceat(s2 - m[:, iu[0]] * m[:, iu[1]], self.rep_starts, axis=0)
        Imat = np.empty((r, p, p))
        Imat[:, iu[0], iu[1]] = Ipair
        Imat[:, iu[1], iu[0]] = Ipair
        return ll, U, Imat

    def max_abs_lp(self, coef):
        return np.abs(np.einsum("rnp,rp->rn", self.X, coef)).max(axis=1)


def distinct_times(time):
    """``(ut, inverse)`` as ``np.unique(time, return_inverse=True)``.

    Whole-number times (days) use a counting pass instead of a sort.
    """
    t = np.asarray(time, float)
    tmax = t.max() if t.size else 0.0
    if t.size and tmax <= 4 * t.size + 100_000 and np.all(t == np.floor(t)):
        ti = t.astype(np.int64)
        present = np.bincount(ti, minlength=int(tmax) + 1) > 0
        ut = np.flatnonzero(present).astype(float)
        rank = np.cumsum(present) - 1
        return ut, rank[ti]
    return np.unique(t, return_inverse=True)


class _Aggregated:
    """One large cohort, risk sets aggregated per distinct time (same interface as _Chunk).

    Rows are grouped (once) into segments "deaths at time j" and "other rows at
    time j" through a sparse segment x row matrix ``P``; per iteration its data
    are the risks ``r_i = exp(x_i b - c)`` and ``P @ [1, x, x_a x_b]`` gives every
    segment's sums in one sparse product. Risk-set sums are reverse cumulative
    sums over the J distinct times. The Efron terms of the ``d_j`` tied deaths
    enter through scalar sums over ``k = 0 .. d_j - 1`` of ``1/den_k``,
    ``f_k/den_k``, ``1/den_k^2``, ``f_k/den_k^2``, ``f_k^2/den_k^2``. Memory is one
    ``n x (1 + p + p(p+1)/2)`` array; no per-iteration copies of the rows.
    """

    def __init__(self, time, event, X, ties):
        from scipy import sparse
        n, p = X.shape
        dead = np.asarray(event) > 0
        ut, tidx = distinct_times(time)
        J = ut.size
        seg = 2 * tidx + (~dead)                    # segment: deaths / others at each time
        # stable sort of small integer keys: numpy uses a radix sort for 16-bit keys
        key = seg.astype(np.uint16) if 2 * J <= 1 << 16 else seg
        order = np.argsort(key, kind="stable")
        counts = np.bincount(seg, minlength=2 * J)
        indptr = np.concatenate([[0], np.cumsum(counts)])
        # rows sorted by segment once: the sparse product then streams through Z
        self.P = sparse.csr_matrix((np.ones(n), np.arange(n), indptr), shape=(2 * J, n))
        Xs = np.take(X, order, axis=0)
        Xs -= X.sum(axis=0) / n                     # centred, in segment order
        self.X = Xs[None]
        self.p = p
        self.iu = np.triu_indices(p)
        i0, i1 = self.iu
        q = 1 + p + i0.size
        Z = np.empty((n, q))
        Z[:, 0] = 1.0
        Z[:, 1:1 + p] = Xs
        blk = 1 << 14
        for s in range(0, n, blk):                  # products in cache-sized blocks
            xb = Xs[s:s + blk]
            np.multiply(xb[:, i0], xb[:, i1], out=Z[s:s + blk, 1 + p:])
        self.Z = Z
        d = counts[0::2]
        self.jd = np.flatnonzero(d > 0)                                  # event times
        dd = d[self.jd]
        self.dead = np.flatnonzero(~(seg[order] & 1).astype(bool))     # rows in death segments
        self.row = np.repeat(np.arange(self.jd.size), dd)                # Efron rows
        k = np.arange(dd.sum()) - np.repeat(np.cumsum(dd) - dd, dd)
        self.f = k / np.repeat(dd, dd) if ties == "efron" else np.zeros(k.size)
        self.Xsum_dead = self.X[0][self.dead].sum(axis=0)[None]

    def sub(self, idx):
        return self

    def max_abs_lp(self, coef):
        return np.abs(self.X[0] @ coef[0]).max(keepdims=True)

    def stats(self, beta):
        X = self.X[0]
        p, iu = self.p, self.iu
        eta = X @ beta[0]
        c = eta.max()
        risk = np.exp(eta - c)
        self.P.data[:] = risk
        G = self.P @ self.Z                                              # per segment
        Gd, Go = G[0::2], G[1::2]
        B = Gd + Go                                                      # per distinct time
        S = np.cumsum(B[::-1], axis=0)[::-1][self.jd]                    # risk-set sums
        D = Gd[self.jd]                                                  # tied-death sums
        f, row = self.f, self.row
        den = S[row, 0] - f * D[row, 0]
        inv = 1.0 / den
        nj = self.jd.size
        a0 = np.bincount(row, weights=inv, minlength=nj)
        a1 = np.bincount(row, weights=f * inv, minlength=nj)
        b0 = np.bincount(row, weights=inv * inv, minlength=nj)
        b1 = np.bincount(row, weights=f * inv * inv, minlength=nj)
        b2 = np.bincount(row, weights=f * f * inv * inv, minlength=nj)
        ll = (eta[self.dead] - c).sum() - np.log(den).sum()
        S1, D1 = S[:, 1:1 + p], D[:, 1:1 + p]
        S2, D2 = S[:, 1 + p:], D[:, 1 + p:]
        U = self.Xsum_dead[0] - (a0 @ S1 - a1 @ D1)
        i, j = iu
        mm = (b0 @ (S1[:, i] * S1[:, j]) - b1 @ (S1[:, i] * D1[:, j] + D1[:, i] * S1[:, j])
              + b2 @ (D1[:, i] * D1[:, j]))
        Ipair = a0 @ S2 - a1 @ D2 - mm
        Imat = np.empty((p, p))
        Imat[i, j] = Ipair
        Imat[j, i] = Ipair
        return np.array([ll]), U[None], Imat[None]


def _solve_psd(A, b):
    """Batched Cholesky solve as cox_fit's ``_solve_psd`` (lstsq fallback per replicate)."""
    if A.shape[0] == 0:
        return np.zeros_like(b)
    try:
        L = np.linalg.cholesky(A)
    except np.linalg.LinAlgError:
        return np.stack([_solve_psd(A[i], b[i]) for i in range(A.shape[0])])
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


def _fit_chunk(ch: _Chunk, max_iter, tol):
    r, n, p = ch.X.shape
    beta = np.zeros((r, p))
    ll0, U, Imat = ch.stats(beta)
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
        infinite = np.where(converged[:, None], inf_c, inf_nc)
    wald = _quad(var, coef)
    return dict(coef=coef, var=var, loglik0=ll0, loglik=newll, score_test=sctest,
                wald_test=wald, lr_test=2 * (newll - ll0), n_iter=n_iter, converged=converged,
                infinite=infinite)


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
        for key in keys:
            out[key][idx] = res[key]
    with np.errstate(invalid="ignore"):
        se = np.sqrt(np.diagonal(out["var"], axis1=1, axis2=2))
    status = np.zeros(reps, np.int64)
    status[~out["converged"]] = 3
    status[out["infinite"].any(axis=1)] = 2
    status[nev == 0] = 1
    return BatchCox(se=se, events=nev, status_code=status, ties=ties, **out)
