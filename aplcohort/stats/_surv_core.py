"""Array kernels shared by the Kaplan–Meier and log-rank code.

Everything here works on plain numpy arrays, is vectorised (one sort, then
``np.unique`` / ``np.bincount`` / cumulative sums; no Python loop per subject)
and does no input checking: the public front-ends in :mod:`aplcohort.stats.km`
and :mod:`aplcohort.stats.logrank` check their inputs and call these kernels.
The kernels are written so that a batch engine can call them on many replicate
cohorts (e.g. :func:`oev_from_counts` takes per-time count matrices).

Conventions follow R survival 3.x:

* at-risk set at time ``t`` for a counting-process row ``(entry, stop]`` is
  ``entry < t <= stop`` (right-censored data: ``entry = -inf``); a censoring at
  ``t`` is still at risk at ``t``;
* Greenwood increment ``d / (n (n - d))`` on (case-weighted) counts; when
  ``n == d`` the increment is ``+inf`` (R: the standard error of S is then NaN);
* confidence intervals as ``survival:::survfit_confint`` with ``logse = TRUE``;
* quantiles as ``survival:::findq`` (used by ``quantile.survfit``);
* restricted mean and its standard error as ``survival:::survmean``.
"""

from __future__ import annotations

import functools

import numpy as np

_TOL = np.sqrt(np.finfo(float).eps)


# --------------------------------------------------------------------------- KM
def km_curve(time, event, entry=None, weights=None):
    """Kaplan–Meier estimate of one group.

    Parameters
    ----------
    time, event : ndarray
        Stop time and 0/1 event indicator.
    entry : ndarray or None
        Counting-process start (left truncation); the row is at risk on
        ``(entry, time]``.
    weights : ndarray or None
        Case weights.

    Returns
    -------
    dict of ndarray
        ``time`` (distinct stop times, sorted), ``n_risk``, ``n_event``,
        ``n_censor``, ``surv``, ``cumvar`` (cumulative Greenwood sum, i.e. the
        variance of log S as R's ``survfit$std.err^2``).
    """
    time = np.asarray(time, float)
    event = np.asarray(event, float)
    w = np.ones_like(time) if weights is None else np.asarray(weights, float)
    ut, inv = np.unique(time, return_inverse=True)
    n_event = np.bincount(inv, weights=w * event, minlength=ut.size)
    n_all = np.bincount(inv, weights=w, minlength=ut.size)
    n_censor = n_all - n_event
    # rows with stop >= t: reverse cumulative sum over the sorted distinct times
    n_risk = np.cumsum(n_all[::-1])[::-1]
    if entry is not None:
        entry = np.asarray(entry, float)
        order = np.argsort(entry, kind="stable")
        se, sw = entry[order], w[order]
        tail = np.concatenate([np.cumsum(sw[::-1])[::-1], [0.0]])
        # rows not yet entered at t: entry >= t
        n_risk = n_risk - tail[np.searchsorted(se, ut, side="left")]
    surv, cumvar = km_from_counts(n_risk, n_event)
    out = {"time": ut, "n_risk": n_risk, "n_event": n_event, "n_censor": n_censor,
           "surv": surv, "cumvar": cumvar}
    if weights is not None:   # number of event rows (Fleming–Harrington ties)
        out["n_event_rows"] = np.bincount(inv, weights=event, minlength=ut.size)
    return out


def right_outcome(time, event):
    """Checked right-censored outcome without copying clean numeric arrays.

    A fast pre-check: float times that are all finite and >= 0 (two reductions) and
    0/1 events are wrapped in an :class:`~aplcohort.stats.outcome.Outcome` as they are;
    anything else goes through ``Outcome.right``, which copies, checks and raises the
    row-level :class:`~aplcohort.errors.InputError`. The pre-check accepts a subset of
    what ``Outcome.right`` accepts, so no input passes here that would fail there. No
    copy is needed: the front-ends that call this keep no reference to these arrays in
    their results (the curve tables are built from new arrays).
    """
    from .outcome import Outcome

    t = np.asarray(time)
    e = np.asarray(event)
    if (t.dtype == np.float64 and t.ndim == 1 and e.shape == t.shape and t.size
            and e.dtype.kind in "iubf"):
        with np.errstate(invalid="ignore"):
            ok_t = bool(t.min() >= 0) and bool(t.max() < np.inf)     # NaN fails both
        if ok_t:
            if e.dtype.kind in "iub":
                ok_e = bool(e.min() >= 0) and bool(e.max() <= 1)
            else:
                ok_e = bool(((e == 0) | (e == 1)).all())
            if ok_e:
                return Outcome(t, e, None, "right")
    return Outcome.right(time, event)


def _whole_days(t, bins_per_time, budget):
    """``t`` as int64 when every time is a whole number in ``[0, tmax]`` with
    ``(tmax + 1) * bins_per_time <= budget`` (else None): the counting fast path."""
    if not t.size:
        return None, 0
    with np.errstate(invalid="ignore"):
        if not (t.min() >= 0):
            return None, 0
    tmax = t.max()
    if not np.isfinite(tmax) or (tmax + 1.0) * bins_per_time > budget:
        return None, 0
    ti = t.astype(np.int64)
    if not np.equal(ti, t).all():
        return None, 0
    return ti, int(tmax)


def _merge_near_ties(ut):
    """R ``aeqSurv`` on sorted distinct times: ``(merged_ut, index)`` or None.

    ``index[j]`` is the merged time of ``ut[j]``. Merging the distinct times and
    then the rows that carry them is the same as merging the rows' times first
    (:func:`aplcohort.stats._aeq.aeq_times`): the cut points depend only on the set
    of distinct values.
    """
    from ._aeq import AEQ_TOLERANCE, _cuts, _snap

    if ut.size < 2:
        return None
    # the test of _cuts on values already sorted, distinct and finite (the usual answer,
    # "nothing is tied", without another np.unique)
    dy = np.diff(ut)
    with np.errstate(divide="ignore", invalid="ignore"):
        tied = (dy <= AEQ_TOLERANCE) | (dy / np.mean(np.abs(ut)) <= AEQ_TOLERANCE)
    if not tied.any():
        return None
    cuts = _cuts(ut, AEQ_TOLERANCE)
    if cuts is None:
        return None
    snapped = _snap(ut, cuts)
    return np.unique(snapped, return_inverse=True)


def count_table(time, event, codes, k, weights=None, timefix=False):
    """Rows and events per (distinct time, group): the one counting pass.

    Every Kaplan–Meier and log-rank computation on right-censored data starts
    here: :func:`km_curves_by_group` (``kaplan_meier``), :func:`risk_event_counts`
    (``logrank_test``) and :func:`aplcohort.batch.large.cohort_km_logrank`.

    Parameters
    ----------
    time : ndarray (n,)
        Times >= 0 (checked by the caller).
    event : ndarray (n,)
        0/1 events (int, bool or float).
    codes : ndarray of int (n,)
        Group codes ``0 .. k-1``.
    k : int
    weights : ndarray (n,), optional
        Case weights.
    timefix : bool
        Merge near-tied times first (R ``aeqSurv``).

    Returns
    -------
    ut : ndarray (J,)
        Sorted distinct times.
    n_all, n_ev : ndarray (J, k) of float
        (Weighted) rows and events at each time in each group.
    cnt, ev_rows : ndarray (J, k) or None
        With weights: the unweighted numbers of rows and of event rows.

    Notes
    -----
    Whole-number times (days) take one ``bincount`` of the key
    ``(time * k + group) * 2 + event`` (rows and events of every cell in one pass,
    no sort, no per-row index array); other times one ``np.unique`` and two
    ``bincount`` of the cell index. All counts are exact integers (unweighted) or
    sums in row order (weighted), so both paths give the same table.

    Examples
    --------
    >>> import numpy as np
    >>> ut, n_all, n_ev, _, _ = count_table(np.array([2., 1., 2.]), np.array([1, 0, 1]),
    ...                                     np.array([0, 0, 1]), 2)
    >>> ut.tolist(), n_all.tolist(), n_ev.tolist()
    ([1.0, 2.0], [[1.0, 0.0], [1.0, 1.0]], [[0.0, 0.0], [1.0, 1.0]])
    """
    from ._coxcore import distinct_times

    t = np.asarray(time, float)
    e = np.asarray(event)
    g = np.asarray(codes)
    if g.dtype != np.int64:
        g = g.astype(np.int64)
    n = t.size
    if weights is None and e.dtype.kind in "iubf":
        # the (time, group, event) cells fit in a table no larger than ~2 x the input
        ti, tmax = _whole_days(t, 2 * k, 2 * n + (1 << 20))
        if ti is not None:
            key = ti                      # a new array (astype): updated in place
            key *= k
            key += g
            key <<= 1
            if e.dtype.kind == "f":
                np.add(key, e, out=key, casting="unsafe")     # 0.0 / 1.0 -> 0 / 1
            else:
                key += e
            c = np.bincount(key, minlength=(tmax + 1) * 2 * k).reshape(tmax + 1, k, 2)
            del key
            tot = c.sum(axis=2)
            present = tot.any(axis=1)
            ut = np.flatnonzero(present).astype(float)
            n_all = tot[present].astype(float)
            n_ev = c[present, :, 1].astype(float)
            # whole numbers are near-tied only beyond ~6.7e7 (diff / mean <= 1.5e-8),
            # far past this path's range; if ever, the general path below merges them
            if not (timefix and _merge_near_ties(ut) is not None):
                return ut, n_all, n_ev, None, None
    ut, inv = distinct_times(t)
    if timefix:
        m = _merge_near_ties(ut)
        if m is not None:
            ut, idx = m
            inv = idx[inv]
    J = ut.size
    cell = inv * k + g
    w = None if weights is None else np.asarray(weights, float)
    ef = e.astype(float, copy=False)
    n_all = np.bincount(cell, weights=w, minlength=J * k).reshape(J, k).astype(float)
    n_ev = np.bincount(cell, weights=ef if w is None else w * ef,
                       minlength=J * k).reshape(J, k)
    if w is None:
        return ut, n_all, n_ev, None, None
    cnt = np.bincount(cell, minlength=J * k).reshape(J, k)
    ev_rows = np.bincount(cell, weights=ef, minlength=J * k).reshape(J, k)
    return ut, n_all, n_ev, cnt, ev_rows


def km_curves_by_group(time, event, codes, k, weights=None, timefix=False):
    """:func:`km_curve` of every group from ONE table of counts (no entry times).

    One pass over the rows (:func:`count_table`) instead of a sort per group;
    each group's curve is the rows of the table where the group has records.
    Also returns the number of rows of each group (from the same table).
    """
    ut, n_all, n_ev, cnt, ev_rows = count_table(time, event, codes, k, weights, timefix)
    if cnt is None:
        cnt = n_all
    out = []
    for g in range(k):
        m = cnt[:, g] > 0
        na, ne = n_all[m, g], n_ev[m, g]
        n_risk = np.cumsum(na[::-1])[::-1]
        surv, cumvar = km_from_counts(n_risk, ne)
        out.append({"time": ut[m], "n_risk": n_risk, "n_event": ne, "n_censor": na - ne,
                    "surv": surv, "cumvar": cumvar})
        if ev_rows is not None:   # number of event rows (Fleming–Harrington ties)
            out[-1]["n_event_rows"] = ev_rows[m, g].astype(float)
    return out, cnt.sum(axis=0).astype(np.int64)


def km_robust_se(time, event, entry, weights, curve):
    """Infinitesimal-jackknife SE of S(t), one cluster per row (R ``robust = TRUE``).

    This is what R ``survfit`` reports by default when case weights are not all
    integers. With influence of row ``i`` on ``log S(t)``

        sum_{t_j <= t} [Y_ij d_j / (n_j (n_j - d_j)) - dN_ij / (n_j - d_j)],

    ``var S(t) = S(t)^2 sum_i w_i^2 infl_i(t)^2``, evaluated with cumulative sums
    (no loop over rows). Where S has reached 0 the SE is 0, as in R.

    Parameters
    ----------
    time, event, entry, weights : ndarray
        One group's rows (``entry`` may be None).
    curve : dict
        Output of :func:`km_curve` for the same rows.

    Returns
    -------
    ndarray
        SE of S at each ``curve["time"]``.
    """
    time = np.asarray(time, float)
    event = np.asarray(event, float)
    w2 = (np.ones_like(time) if weights is None else np.asarray(weights, float)) ** 2
    ut, n, d, surv = curve["time"], curve["n_risk"], curve["n_event"], curve["surv"]
    J = ut.size
    ok = (d > 0) & (n > d)
    with np.errstate(divide="ignore", invalid="ignore"):
        hp = np.where(ok, d / (n * (n - d)), 0.0)
        g = np.where(ok, 1.0 / (n - d), 0.0)
    H = np.cumsum(hp)
    H0 = np.concatenate([[0.0], H])
    js = np.searchsorted(ut, time, side="left")          # row's stop time index
    if entry is None:
        b = np.zeros_like(time)
        je = np.zeros(time.size, np.int64)
    else:
        e = np.asarray(entry, float)
        je = np.searchsorted(ut, e, side="right")        # first time > entry
        b = H0[je]                                      # H(entry)
    a = H[js] - b - event * g[js]                       # influence once the row has left
    A = np.cumsum(np.bincount(js, weights=w2 * a * a, minlength=J))

    def still_in(v):
        # rows with entry < t_j and stop > t_j
        entered = np.cumsum(np.bincount(je, weights=v, minlength=J + 1))[:J]
        left = np.cumsum(np.bincount(js, weights=v, minlength=J))
        return entered - left

    W0, W1, W2 = still_in(w2), still_in(w2 * b), still_in(w2 * b * b)
    var_log = A + H * H * W0 - 2.0 * H * W1 + W2
    # the variance only changes at event times: carry it forward exactly over
    # censoring-only times (as R does), so that rounding cannot make it wiggle
    last = np.maximum.accumulate(np.where(d > 0, np.arange(J), -1))
    var_log = np.where(last >= 0, var_log[np.maximum(last, 0)], 0.0)
    return np.where(surv > 0, surv * np.sqrt(np.maximum(var_log, 0.0)), 0.0)


def km_from_counts(n_risk, n_event):
    """Product-limit survival and cumulative Greenwood sum from per-time counts.

    Works along the last axis, so a batch of curves (2-D arrays) is handled in
    one call.
    """
    n_risk = np.asarray(n_risk, float)
    n_event = np.asarray(n_event, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = np.where(n_event > 0, 1.0 - n_event / n_risk, 1.0)
        surv = np.cumprod(frac, axis=-1)
        denom = n_risk * (n_risk - n_event)
        inc = np.where(n_event > 0, np.where(denom > 0, n_event / denom, np.inf), 0.0)
    return surv, np.cumsum(inc, axis=-1)


@functools.lru_cache(maxsize=64)
def z_value(conf_level):
    """Two-sided normal quantile, as R ``qnorm(1 - (1 - conf.int) / 2)`` (cached).

    ``scipy.special.ndtri`` is what ``scipy.stats.norm.ppf`` evaluates (same bits),
    without the distribution machinery that dominated small cohorts.
    """
    from scipy.special import ndtri

    return float(ndtri(1.0 - (1.0 - float(conf_level)) / 2.0))


def confint(surv, logse, conf_type, conf_level):
    """Pointwise CI of S as R ``survival:::survfit_confint(logse = TRUE, ulimit = TRUE)``.

    ``logse`` is the standard error of log S (``sqrt(cumvar)``).
    Returns ``(lower, upper)``; NaN where R gives ``NA``.
    """
    p = np.asarray(surv, float)
    se = np.asarray(logse, float)
    z = z_value(conf_level)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if conf_type == "plain":
            se2 = se * p * z
            # R pmax / pmin propagate NA; so do np.maximum / np.minimum
            return np.maximum(p - se2, 0.0), np.minimum(p + se2, 1.0)
        if conf_type == "log":
            xx = np.where(p == 0, np.nan, p)
            se2 = z * se
            return np.exp(np.log(xx) - se2), np.minimum(np.exp(np.log(xx) + se2), 1.0)
        if conf_type == "log-log":
            xx = np.where((p == 0) | (p == 1), np.nan, p)
            se2 = z * se / np.log(xx)
            lower = np.exp(-np.exp(np.log(-np.log(xx)) - se2))
            upper = np.exp(-np.exp(np.log(-np.log(xx)) + se2))
            return lower, upper
    raise ValueError(f"unknown conf_type {conf_type!r}")


def findq_monotone(x, y, p, xmax=None, tol=_TOL):
    """R ``survival:::findq`` for curves whose ``y`` never decreases, over leading axes.

    The one quantile search of a Kaplan–Meier estimate: :func:`findq` (one curve)
    and the batch engine (:func:`aplcohort.batch.batch_km`, a replicate and a group
    axis) both call it.

    Parameters
    ----------
    x, y : ndarray (..., m)
        ``x`` = ``c(firstx, time)``, ``y`` = ``c(0, 1 - S)``, non-decreasing along
        the last axis, no NaN. Extra rows where ``y`` does not change (e.g. other
        groups' times in a batch layout) change nothing.
    p : float or ndarray (q,)
        Probabilities.
    xmax : ndarray (...), optional
        The curve's last time (default ``x[..., -1]``), used by R's midpoint rule
        where the curve ends exactly at ``p``.

    Returns
    -------
    ndarray (..., q)
        Times; NaN = not reached.

    Notes
    -----
    Because ``y`` is monotone, R's ``duplicated`` + ``approx(method = "constant",
    f = 1)`` search is "first index where ``y +- tol >= p``": the first
    occurrence of a plateau is the knot ``approx`` returns.
    """
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    p = np.atleast_1d(np.asarray(p, float))
    lead = y.shape[:-1]
    xmax = x[..., -1] if xmax is None else np.broadcast_to(np.asarray(xmax, float), lead)
    y_last = y[..., -1]
    y0 = y[..., 0]
    pp = p.reshape((1,) * len(lead) + (p.size,))

    def first_at_least(shift):
        c = (y[..., None, :] + shift) >= pp[..., None]                    # (..., q, m)
        i = np.argmax(c, axis=-1)
        ok = c.any(axis=-1) & (pp >= (y0 + shift)[..., None])
        return i, ok

    i1, f1 = first_at_least(tol)
    i2, f2 = first_at_least(-tol)
    xq = np.broadcast_to(x[..., None, :], lead + (p.size, x.shape[-1]))
    x1 = np.take_along_axis(xq, i1[..., None], -1)[..., 0]
    x2 = np.take_along_axis(xq, i2[..., None], -1)[..., 0]
    out = np.where(f1 & f2, (x1 + x2) / 2.0, np.nan)
    out = np.where(pp == 0, x[..., :1], out)
    last = np.abs(pp - y_last[..., None]) < tol
    out = np.where(last, np.where(f1, (x1 + xmax[..., None]) / 2.0, np.nan), out)
    # R: no quantile at all when the curve never reaches the smallest p
    return np.where((y_last < p.min())[..., None], np.nan, out)


def findq(x, y, p, tol=_TOL):
    """Quantile search of R ``survival:::findq``.

    ``x`` = ``c(firstx, time)``, ``y`` = ``c(0, 1 - curve)`` (NaN allowed),
    ``p`` = probabilities. Returns an array of times (NaN = not reached).
    A monotone curve without NaN (every Kaplan–Meier estimate) goes through
    :func:`findq_monotone`, the kernel the batch engine uses; confidence limits
    (which may be NaN or not monotone) take R's general search below.
    """
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    p = np.atleast_1d(np.asarray(p, float))
    if y.size and not np.isnan(y).any() and np.all(np.diff(y) >= 0):
        return findq_monotone(x, y, p, tol=tol)
    return _findq_general(x, y, p, tol)


def _findq_general(x, y, p, tol=_TOL):
    """R ``findq`` line by line (any ``y``, NaN allowed): confidence limits."""
    out = np.full(p.shape, np.nan)
    if np.all(np.isnan(y)) or np.nanmax(y) < p.min():
        return out
    xmax = x[-1]
    # duplicated(y): keep first occurrence; NaN duplicates NaN
    key = np.where(np.isnan(y), np.inf, y)
    _, first = np.unique(key, return_index=True)
    keep = np.sort(first)
    x, y = x[keep], y[keep]
    n = y.size
    ok = ~np.isnan(y)
    idx_ok = np.flatnonzero(ok)

    def approx_index(shift):
        # approx(y + shift, 1:n, p, method = "constant", f = 1): first sorted knot >= p
        xs = y[ok] + shift
        o = np.argsort(xs, kind="stable")
        xs, ids = xs[o], idx_ok[o]
        k = np.searchsorted(xs, p, side="left")
        res = np.full(p.shape, -1)
        inside = (k < xs.size) & (p >= xs[0])
        res[inside] = ids[k[inside]]
        return res

    i1 = approx_index(tol)
    i2 = approx_index(-tol)
    good = (i1 >= 0) & (i2 >= 0)
    out[good] = (x[i1[good]] + x[i2[good]]) / 2.0
    out[p == 0] = x[0]
    if not np.isnan(y[n - 1]):
        last = np.abs(p - y[n - 1]) < tol
        lp = last & (i1 >= 0)
        out[lp] = (x[i1[lp]] + xmax) / 2.0
        out[last & (i1 < 0)] = np.nan
    return out


def rmst_rows(time, surv, n_risk, n_event, tau, start_time=0.0):
    """Restricted mean to ``tau`` and its SE (R ``survival:::survmean``), over leading axes.

    The one RMST computation: :func:`rmst` (one curve) and the batch engine call it.

    Parameters
    ----------
    time : ndarray (..., m) or (m,)
        Sorted times of the curve's rows (a batch layout may hold rows of other
        groups, with no events and ``surv`` carried: they add nothing).
    surv, n_risk, n_event : ndarray (..., m)
        S after each row, numbers at risk and events.
    tau, start_time : float

    Returns
    -------
    (rmst, se) : ndarrays (...)
    """
    surv = np.asarray(surv, float)
    n_risk = np.asarray(n_risk, float)
    n_event = np.asarray(n_event, float)
    lead = surv.shape[:-1]
    t = np.broadcast_to(np.asarray(time, float), surv.shape)
    # rows, then tau itself: rectangle widths from the previous row (or the start)
    hi = np.minimum(np.concatenate([t, np.full(lead + (1,), float(tau))], -1), tau)
    lo = np.concatenate([np.full(lead + (1,), float(start_time)), hi[..., :-1]], -1)
    s_prev = np.concatenate([np.ones(lead + (1,)), surv], -1)
    area = (hi - lo) * s_prev
    after = np.cumsum(area[..., ::-1], -1)[..., ::-1]                    # area from row to tau
    with np.errstate(divide="ignore", invalid="ignore"):
        hh = np.where((n_event > 0) & (n_risk - n_event != 0),
                      n_event / (n_risk * (n_risk - n_event)), 0.0)
    hh = np.where(t <= tau, hh, 0.0)
    var = (after[..., 1:] ** 2 * hh).sum(-1)
    return after[..., 0] + start_time, np.sqrt(var)


def rmst(time, surv, n_risk, n_event, tau, start_time=0.0):
    """Restricted mean to ``tau`` and its SE as R ``survival:::survmean``.

    Arrays are one curve's survfit rows. Returns ``(rmst, se)``
    (:func:`rmst_rows` on one curve).
    """
    m, se = rmst_rows(np.asarray(time, float), surv, n_risk, n_event, tau, start_time)
    return float(m), float(se)


NOTE_RMST_NO_EVENTS = "no events before tau: variance 0"
NOTE_RMST_VAR0 = "variance 0: each event before tau empties the risk set (e.g. a one-patient arm)"


def rmst_variance_note(time, n_event, se, tau):
    """Why a restricted mean's SE is not estimable ('' when it is).

    The Greenwood-type variance of :func:`rmst_rows` is exactly 0 when the curve has no
    event before ``tau`` (it is 1 up to tau: RMST = tau with no information about its
    spread) or when every event empties the risk set (a one-patient arm); a normal CI or
    Wald test built on that 0 would be a certainty the data do not give.
    """
    if se > 0:
        return ""
    t = np.asarray(time, float)
    if not (np.asarray(n_event, float)[t < tau] > 0).any():
        return NOTE_RMST_NO_EVENTS
    return NOTE_RMST_VAR0


def rmtl(time, surv, tau, start_time=0.0):
    """Restricted mean time lost to ``tau``: the area ABOVE the curve, ``sum(width * (1 - S))``.

    Mathematically ``tau - rmst``; summed directly so that it is exactly 0 (never
    -2.8e-14 from the rounding of ``tau - rmst``) when the curve is 1 up to ``tau``, and
    never negative.
    """
    t = np.asarray(time, float)
    hi = np.minimum(np.append(t, float(tau)), tau)
    lo = np.append(float(start_time), hi[:-1])
    s_prev = np.append(1.0, np.asarray(surv, float))
    return float(np.sum((hi - lo) * (1.0 - s_prev)))


# --------------------------------------------------------------------- log-rank
def risk_event_counts(time, event, group_idx, k, timefix=False):
    """Per distinct event time, at-risk and event counts by group (one stratum).

    Parameters
    ----------
    time, event : ndarray
        Right-censored data of one stratum.
    group_idx : ndarray of int
        Group code 0..k-1 of each row.
    k : int
        Number of groups.
    timefix : bool
        Merge near-tied times first (R ``aeqSurv``; :func:`count_table`).

    Returns
    -------
    n_risk : ndarray (J, k)
        Number at risk (time >= t_j) in each group at each distinct event time.
    n_event : ndarray (J, k)
        Number of events at t_j in each group.
    n_group : ndarray (k,) of int
        Rows per group.
    """
    _, all_, ev, _, _ = count_table(time, event, group_idx, k, None, timefix)
    risk = np.cumsum(all_[::-1], axis=0)[::-1]
    has = ev.sum(axis=1) > 0
    return risk[has], ev[has], all_.sum(axis=0).astype(np.int64)


def pooled_km_left(n_risk_tot, n_event_tot):
    """Left-continuous pooled KM S(t-) at each event time (R survdiff's weight base)."""
    s = np.cumprod(1.0 - n_event_tot / n_risk_tot)
    return np.concatenate([[1.0], s[:-1]])


def time_weights(n_risk_tot, n_event_tot, weights="logrank", p=0.0, q=0.0):
    """Weight of each distinct event time for the weighted log-rank family.

    ``logrank``: 1; ``peto``: pooled S(t-) (R survdiff rho = 1);
    ``fleming-harrington``: S(t-)^p (1 - S(t-))^q (p = rho, q = 0 is R's G-rho);
    ``gehan``: n at risk; ``tarone-ware``: sqrt(n at risk);
    ``peto-prentice``: Prentice's modified pooled survivor at t_j,
    ``prod_{i <= j} (1 - d_i / (n_i + 1))`` (Stata's ``peto``; not R's rho = 1).
    """
    if weights == "logrank":
        return np.ones_like(n_risk_tot, dtype=float)
    if weights == "gehan":
        return np.asarray(n_risk_tot, float)
    if weights == "tarone-ware":
        return np.sqrt(np.asarray(n_risk_tot, float))
    if weights == "peto-prentice":
        # Prentice's modified survivor AT t_j: prod_{i <= j} (1 - d_i / (n_i + 1))
        # (Stata `sts test, peto`; Kleinbaum & Klein's "Peto" weight)
        n = np.asarray(n_risk_tot, float)
        return np.cumprod(1.0 - np.asarray(n_event_tot, float) / (n + 1.0))
    s = pooled_km_left(n_risk_tot, n_event_tot)
    if weights == "peto":
        return s
    if weights == "fleming-harrington":
        return s ** p * (1.0 - s) ** q
    raise ValueError(f"unknown weights {weights!r}")


def oev_from_counts(n_risk, n_event, w, rep=None, nrep=1):
    """Observed, expected and variance matrix of the weighted log-rank statistic.

    Parameters
    ----------
    n_risk, n_event : ndarray (J, k)
        Counts at the J distinct event times of one stratum (see
        :func:`risk_event_counts`).
    w : ndarray (J,)
        Weight of each time.
    rep, nrep : int ndarray (J,), int, optional
        Replicate of each event time (a batch of cohorts,
        :func:`aplcohort.batch.batch_logrank`): then O, E, V get a leading
        replicate axis. The same arithmetic serves one cohort and a batch.

    Returns
    -------
    O, E : ndarray (k,)
        Weighted observed and expected events (as R ``survdiff``'s obs / exp).
    V : ndarray (k, k)
        Variance matrix (R ``survdiff$var``).
    """
    if rep is not None:
        n_risk = np.asarray(n_risk, float)
        n_event = np.asarray(n_event, float)
        w = np.asarray(w, float)
        k = n_risk.shape[1]
        n = n_risk.sum(axis=1)
        d = n_event.sum(axis=1)
        prop = n_risk / n[:, None]
        with np.errstate(divide="ignore", invalid="ignore"):
            c = np.where(n > 1, w ** 2 * d * (n - d) / (n - 1), 0.0)
        O = np.empty((nrep, k))
        E = np.empty((nrep, k))
        V = np.empty((nrep, k, k))
        for g in range(k):
            O[:, g] = np.bincount(rep, weights=w * n_event[:, g], minlength=nrep)
            E[:, g] = np.bincount(rep, weights=w * d * prop[:, g], minlength=nrep)
            cp = c * prop[:, g]
            for h in range(g, k):
                v = cp * ((1.0 if g == h else 0.0) - prop[:, h])
                V[:, g, h] = V[:, h, g] = np.bincount(rep, weights=v, minlength=nrep)
        return O, E, V
    n_risk = np.asarray(n_risk, float)
    n_event = np.asarray(n_event, float)
    w = np.asarray(w, float)
    n = n_risk.sum(axis=1)
    d = n_event.sum(axis=1)
    prop = n_risk / n[:, None]
    O = w @ n_event
    E = (w * d) @ prop
    with np.errstate(divide="ignore", invalid="ignore"):
        c = np.where(n > 1, w ** 2 * d * (n - d) / (n - 1), 0.0)
    V = np.diag(c @ prop) - (prop * c[:, None]).T @ prop
    return O, E, V


def _solve_rows(vv, z):
    """Batched ``solve(vv, z)`` with survdiff's per-replicate pinv fallback."""
    try:
        return np.linalg.solve(vv, z[..., None])[..., 0]
    except np.linalg.LinAlgError:
        out = np.empty_like(z)
        for i in range(z.shape[0]):
            try:
                out[i] = np.linalg.solve(vv[i], z[i])
            except np.linalg.LinAlgError:
                out[i] = np.linalg.pinv(vv[i]) @ z[i]
        return out


def chisq_from_oev_batch(O, E, V):
    """R survdiff's chi-square for each replicate (groups with E > 0, first dropped).

    The one implementation: :func:`chisq_from_oev` (one cohort) and
    :func:`aplcohort.batch.batch_logrank` call it. Replicates are grouped by their
    pattern of groups with ``E > 0`` (at most ``2^k`` patterns) and each pattern is
    solved as one batched system.

    Returns ``(chisq (reps,), df (reps,))``; 0 / 0 where fewer than two groups have
    E > 0 (R ``survdiff`` sets ``chisq <- 0``; the p-value is undefined there); NaN
    where the reduced variance matrix is singular (R ``survdiff`` stops there).
    """
    O, E, V = np.asarray(O, float), np.asarray(E, float), np.asarray(V, float)
    reps, k = E.shape
    ok = E > 0
    df = ok.sum(axis=1) - 1
    chisq = np.zeros(reps)
    pat = ok @ (1 << np.arange(k))
    for code in np.unique(pat[df >= 1]):
        rows = np.flatnonzero(pat == code)
        cols = np.flatnonzero(ok[rows[0]])[1:]
        z = (O - E)[np.ix_(rows, cols)]
        vv = V[rows][:, cols][:, :, cols]
        sol = _solve_rows(vv, z)
        chisq[rows] = np.einsum("ri,ri->r", sol, z)
        # a singular reduced variance matrix: R survdiff stops ("system is exactly
        # singular"); the statistic is not estimable (NaN), never the 0 of a pseudo-inverse
        sv = np.linalg.svd(vv, compute_uv=False)
        top = sv.max(axis=1)
        sing = ~np.isfinite(top) | (top <= 0) | (sv.min(axis=1) <= 1e-10 * top)
        chisq[rows[sing]] = np.nan
    return chisq, np.maximum(df, 0)


def chisq_from_oev(O, E, V):
    """R survdiff's chi-square: groups with E > 0, drop the first, solve.

    Returns ``(chisq, df)``; ``(0.0, 0)`` when fewer than two groups have E > 0
    (R ``survdiff`` sets ``chisq <- 0`` there; the p-value is then undefined).
    """
    c, d = chisq_from_oev_batch(np.asarray(O, float)[None], np.asarray(E, float)[None],
                                np.asarray(V, float)[None])
    return float(c[0]), int(d[0])


# ------------------------------------------------------- cumulative hazard (issue 16)
def chaz_from_counts(n_risk, n_event, n_event_rows=None, ctype=1):
    """Cumulative hazard and its variance as R ``survfit(ctype = )`` (survfitkm.c).

    ``ctype = 1`` (Nelson–Aalen): increment ``d / n``, variance ``d / n^2``.
    ``ctype = 2`` (Fleming–Harrington): the ``m`` tied events at a time leave one by one,
    each carrying the mean weight ``d / m``: increment ``sum_{k<m} (d/m) / (n - k d/m)``,
    variance ``sum_{k<m} (d/m) / (n - k d/m)^2`` (``m`` = number of event rows,
    ``d`` = their summed case weight; unweighted: ``sum 1 / (n - k)``).

    Returns ``(cumhaz, var_cumhaz)`` along the last axis.
    """
    n = np.asarray(n_risk, float)
    d = np.asarray(n_event, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        if ctype == 1:
            inc = np.where(d > 0, d / n, 0.0)
            vinc = np.where(d > 0, d / (n * n), 0.0)
        elif ctype == 2:
            m = d if n_event_rows is None else np.asarray(n_event_rows, float)
            wbar = np.where(m > 0, d / m, 0.0)
            inc = np.zeros_like(n)
            vinc = np.zeros_like(n)
            kmax = int(m.max()) if m.size else 0
            for k in range(kmax):
                on = m > k
                step = np.where(on, wbar / (n - k * wbar), 0.0)
                inc += step
                vinc += np.where(on, step / (n - k * wbar), 0.0)
        else:
            raise ValueError(f"ctype must be 1 or 2; got {ctype!r}")
    return np.cumsum(inc, axis=-1), np.cumsum(vinc, axis=-1)


def km_influence(time, event, entry, curve):
    """Influence of each row on S(t_j) (R ``survfit(influence = TRUE)$influence.surv``).

    The derivative of the product-limit estimate with respect to the case weight of
    row ``i`` (the same terms as :func:`km_robust_se`):

        S(t) * sum_{t_j <= t} [Y_ij d_j / (n_j (n_j - d_j)) - dN_ij / (n_j - d_j)],

    zero at times where the curve has reached 0 (as R).

    Returns
    -------
    ndarray (rows, J)
        One row per observation (input order), one column per ``curve["time"]``.
    """
    time = np.asarray(time, float)
    event = np.asarray(event, float)
    ut, n, d, surv = curve["time"], curve["n_risk"], curve["n_event"], curve["surv"]
    ok = (d > 0) & (n > d)
    with np.errstate(divide="ignore", invalid="ignore"):
        hp = np.where(ok, d / (n * (n - d)), 0.0)
        g = np.where(ok, 1.0 / (n - d), 0.0)
    H0 = np.concatenate([[0.0], np.cumsum(hp)])       # H0[j] = sum_{l < j} hp_l
    js = np.searchsorted(ut, time, side="left")        # row's stop-time index
    je = (np.zeros(time.size, np.int64) if entry is None
          else np.searchsorted(ut, np.asarray(entry, float), side="right"))
    j = np.arange(ut.size)[None, :]
    upto = np.minimum(j, js[:, None]) + 1               # at-risk times counted up to t_j
    at_risk = np.where(upto > je[:, None], H0[upto] - H0[je][:, None], 0.0)
    left = np.where(j >= js[:, None], (event * g[js])[:, None], 0.0)
    return np.where(surv > 0, surv * (at_risk - left), 0.0)


def confint_chaz(cumhaz, se, conf_type, conf_level):
    """CI of the cumulative hazard as R ``plot.survfit(cumhaz = TRUE)`` draws it:
    ``survfit_confint(cumhaz, std.chaz, logse = FALSE, conf.type, ulimit = FALSE)``.

    ``"plain"``: ``max(H - z se, 0)``, ``H + z se``; ``"log"``: ``H exp(-/+ z se / H)``
    (NaN where H = 0, as R's NA).
    """
    p = np.asarray(cumhaz, float)
    se = np.asarray(se, float)
    z = z_value(conf_level)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if conf_type == "plain":
            return np.maximum(p - z * se, 0.0), p + z * se
        if conf_type == "log":
            sl = np.where(se == 0, 0.0, se / p)
            xx = np.where(p == 0, np.nan, p)
            return np.exp(np.log(xx) - z * sl), np.exp(np.log(xx) + z * sl)
    raise ValueError(f"unknown conf_type {conf_type!r}")
