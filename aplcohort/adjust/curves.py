"""Adjusted (weighted) survival and cumulative-incidence curves.

* :func:`weighted_km` calls :func:`aplcohort.stats.km.kaplan_meier` with the
  weights and ``variance="robust"`` (infinitesimal jackknife, one cluster per
  patient): R ``survfit(Surv(t, e) ~ g, weights = w, robust = TRUE, id = id)``.
* :func:`weighted_cif` is implemented here because ``stats.competing`` has no
  case weights: the weighted Aalen-Johansen estimator
  ``F_k(t) = sum_{s <= t} S(s-) d_k(s) / n(s)`` on weighted counts, with the
  infinitesimal-jackknife variance ``var F_k(t) = sum_i (w_i U_ik(t))^2``,
  ``U_ik`` the derivative of ``F_k(t)`` with respect to patient ``i``'s weight,
  computed by the recursions

      U_iS(t_j)  = U_iS(t_{j-1}) (1 - d_j/n_j) + S(t_{j-1}) (d_j Y_ij / n_j^2 - dN_ij / n_j)
      U_ik(t_j)  = U_ik(t_{j-1}) + U_iS(t_{j-1}) d_kj / n_j
                   + S(t_{j-1}) (dN_ikj / n_j - d_kj Y_ij / n_j^2)

  (rows of one ``id`` are summed before squaring). This is what R ``survfit``
  reports for ``Surv(t, factor(status))`` with ``weights`` (its multi-state
  ``std.err`` is always the IJ one).

  The recursions are not run row by row (that is O(rows x times)); they are
  solved in closed form. While a row is at risk (``Y_ij = 1``) its influence is
  the one common to all rows at risk: ``U_iS = S(t_j) G(t_j)``, ``G`` the
  weighted Greenwood sum ``sum d/(n(n-d))``, and ``U_ik = b_k(t_j)``, a
  cumulative sum. After its own time ``t_p`` only the first term of each
  recursion is left, so ``U_iS(t_j) = U_iS(t_p) S(t_j)/S(t_p)`` and
  ``U_ik(t_j) = alpha_ik + beta_i F_k(t_j)`` with ``beta_i = U_iS(t_p)/S(t_p)``:
  affine in ``F_k``. The variance at ``t_j`` is then
  ``b_k^2 W + A + 2 B F_k + C F_k^2``, with ``W`` the sum of ``w_i^2`` over the
  rows still at risk after ``t_j`` (suffix sums) and ``A, B, C`` prefix sums of
  ``(w alpha)^2, w^2 alpha beta, (w beta)^2`` over the rows that have left; an
  ``id`` with rows at different times changes state at each of them (difference
  arrays). One sort and cumulative sums: O(n log n). The standard errors equal
  the row-by-row recursion to ~1e-13 relative (``tests/test_growth_wcif.py``); a
  single ``id`` holding a whole group, whose influence is 0, gets an SE at
  rounding level (~1e-9 instead of ~1e-17).

Both treat the weights as known (not re-estimated): the usual, slightly
conservative, robust variance for IPTW curves (Austin 2016 recommends the
bootstrap when the difference matters; see ``adjusted_risks(..., n_boot=)``).

Results have the shared *curves* shape: ``.table`` with columns
``group, cause, time, estimate, std_err, lower, upper, n_risk, n_event, n_censor``
(``n_*`` are weighted counts), ``.at(times)``, ``.median()``.

Validated against R survival 3.5-3 ``survfit`` with weights
(``tests/reference/adjust.R``): estimates and standard errors to 1e-6.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats as st

from .._checks import check_bool
from .._results import Result
from ..errors import InputError
from ..stats.shapes import CURVE_COLUMNS, NOTE_PAST_FOLLOWUP, CurveShape, at_frame, curve_frame

__all__ = ["weighted_km", "weighted_cif", "AdjustedCurves", "CURVE_COLUMNS"]

_CONF = ("plain", "log", "log-log")


def _ci(est, se, conf_type, conf_level, cif):
    """Pointwise CI as R ``survfit_confint`` (on S for survival, on F for a CIF)."""
    z = st.norm.ppf(1 - (1 - conf_level) / 2)
    p = np.asarray(est, float)
    se = np.asarray(se, float)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if conf_type == "plain":
            return np.maximum(p - z * se, 0.0), np.minimum(p + z * se, 1.0)
        if conf_type == "log":
            xx = np.where(p == 0, np.nan, p)
            s2 = z * se / xx
            return np.exp(np.log(xx) - s2), np.minimum(np.exp(np.log(xx) + s2), 1.0)
        xx = np.where((p == 0) | (p == 1), np.nan, p)
        s2 = z * (se / xx) / np.log(xx)
        lo = np.exp(-np.exp(np.log(-np.log(xx)) - s2))
        hi = np.exp(-np.exp(np.log(-np.log(xx)) + s2))
        return lo, hi


@dataclass(frozen=True)
class AdjustedCurves(CurveShape, Result):
    """Weighted survival or cumulative-incidence curves (frozen; shared curves shape).

    Attributes
    ----------
    table : DataFrame
        ``group, cause, time, estimate, std_err, lower, upper, n_risk, n_event,
        n_censor``; ``cause`` is <NA> for survival curves.
    curve : str
        ``"survival"`` or ``"cumulative incidence"``.
    groups : tuple
    conf_type, conf_level
    weighting : str
        Description of the weights (e.g. ``"ATO weights"``).
    variance : str
    excluded : DataFrame
        ``row[, patient_id], reason``: rows of the data left out (weight 0: trimmed,
        unmatched or set to 0; no propensity score); summarised in ``choices``.
    """

    kind = "adjusted_curves"

    table: pd.DataFrame
    groups: tuple
    conf_type: str
    conf_level: float
    weighting: str
    curve: str = "survival"
    variance: str = "robust (infinitesimal jackknife), weights treated as known"
    _medians: object = field(default=None, repr=False)
    excluded: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(
        columns=["row", "reason"]), repr=False)

    @property
    def title(self):
        return ("Weighted Kaplan–Meier" if self.curve == "survival"
                else "Weighted cumulative incidence (Aalen–Johansen)")

    @property
    def choices(self):
        return {"weights": self.weighting, "variance": self.variance,
                "conf_type": self.conf_type, "conf_level": self.conf_level,
                "groups": list(self.groups), "excluded": _excluded_choice(self.excluded)}

    @property
    def tables(self):
        return {"curve": self.table}

    def at(self, times, extend=False) -> pd.DataFrame:
        """Estimates at ``times`` (step function, right-continuous).

        Returns ``group, cause, time, estimate, std_err, lower, upper, n_risk, note``;
        times after a group's last observation get NaN and a ``note`` unless
        ``extend``.
        """
        extend = check_bool("extend", extend)   # a string such as 'no' would read as True
        t = np.sort(np.atleast_1d(np.asarray(times, float)))
        if not np.isfinite(t).all() or (t < 0).any():
            raise InputError(f"times must be finite and >= 0; got {t.tolist()}")
        parts = []
        for (g, c), cur in self.table.groupby(["group", "cause"], sort=False, dropna=False):
            ct = cur["time"].to_numpy()
            i = np.searchsorted(ct, t, side="right") - 1
            j = np.searchsorted(ct, t, side="left")
            nr = np.concatenate([cur["n_risk"].to_numpy(), [0.0]])[j]
            base = 1.0 if self.curve == "survival" else 0.0
            vals = {}
            for col, before in (("estimate", base), ("std_err", 0.0), ("lower", base),
                                ("upper", base)):
                v = cur[col].to_numpy()
                vals[col] = np.where(i < 0, before, v[np.maximum(i, 0)])
            past = (t > ct.max()) & (not extend)
            for col in vals:
                vals[col] = np.where(past, np.nan, vals[col])
            note = np.where(past, NOTE_PAST_FOLLOWUP, "")
            parts.append(at_frame(g, None if pd.isna(c) else int(c), t, vals["estimate"],
                                  vals["std_err"], vals["lower"], vals["upper"], nr, note))
        return pd.concat(parts, ignore_index=True)

    def risk_table(self, times) -> pd.DataFrame:
        """Weighted number at risk at each time and cumulated weighted events / censorings.

        Returns ``group, time, n_risk, cum_events, cum_censored`` (one row per group
        and time; for a CIF the events of all causes). Numbers are sums of weights
        (the pseudo-population), not patients.
        """
        t = np.sort(np.atleast_1d(np.asarray(times, float)))
        rows = []
        first = self.table.drop_duplicates(["group", "time"])
        ev = self.table.groupby(["group", "time"], sort=False)["n_event"].sum().reset_index()
        for g in self.groups:
            cur = first[first["group"] == g]
            e = ev[ev["group"] == g]["n_event"].to_numpy()
            ct = cur["time"].to_numpy()
            i = np.searchsorted(ct, t, side="right")
            j = np.searchsorted(ct, t, side="left")
            nr = np.concatenate([cur["n_risk"].to_numpy(), [0.0]])[j]
            ce = np.concatenate([[0.0], np.cumsum(e)])[i]
            cc = np.concatenate([[0.0], np.cumsum(cur["n_censor"].to_numpy())])[i]
            rows += [(g, tk, nr[k], ce[k], cc[k]) for k, tk in enumerate(t)]
        return pd.DataFrame(rows, columns=["group", "time", "n_risk", "cum_events",
                                           "cum_censored"])

    def median(self) -> pd.DataFrame:
        """Median survival with CI (survival curves only; NaN = not reached).

        Computed by :meth:`aplcohort.stats.km.KMResult.median` (R ``quantile.survfit``
        rules) on the weighted curve; ``n`` = patients, ``events`` = weighted events.
        Returns ``group, cause, n, events, median, lower, upper, note``.
        """
        if self.curve != "survival" or self._medians is None:
            raise InputError("a median is defined for survival curves; for a CIF read the "
                             "time at which it crosses 0.5 with .at()")
        return self._medians.copy()


def _weights_array(weights, data):
    """Check ``weights`` against ``data``; return ``(w, label, excluded)``.

    ``w``: the positive weights (Series, index = the analysed rows of ``data``);
    ``excluded``: ``row[, patient_id], reason`` for the rows of ``data`` left out, which are
    only rows with weight 0 (trimmed, unmatched, or set to 0 by the user) and, for
    :class:`PSWeights` / :class:`MatchResult`, rows without a propensity score. A NaN,
    negative or infinite weight, a Series without a weight for some row of ``data``, and
    weights for rows that are not in ``data`` are errors naming the rows (a weight that
    is missing is a data problem, not a decision to leave the patient out).
    """
    from ._common import name_rows
    from .matching import MatchResult
    from .weights import PSWeights
    if not isinstance(data, pd.DataFrame):
        raise InputError(f"data must be a pandas DataFrame; got {type(data).__name__}")
    if isinstance(weights, PSWeights):
        label, w, kind = f"{weights.estimand} weights", weights.weights, "ps"
        known = dict(zip(weights.excluded["row"], weights.excluded["reason"]))
    elif isinstance(weights, MatchResult):
        label, w, kind = f"1:{weights.ratio} matching weights", weights.weights, "match"
        known = dict(zip(weights.unmatched["row"], weights.unmatched["reason"]))
    elif isinstance(weights, pd.Series):
        label, w, kind, known = "weights", weights, "series", {}
    else:
        raise InputError("weights must be PSWeights, MatchResult or a Series indexed like "
                         f"data; got {type(weights).__name__}")
    if not data.index.is_unique:
        dup = data.index[data.index.duplicated()].unique().tolist()
        raise InputError("weights are matched to the rows of data by index label, and data's "
                         f"index repeats {', '.join(map(str, dup[:10]))}: give data a unique "
                         "index (e.g. data.reset_index(drop=True) before computing the weights)")
    if not w.index.is_unique:
        dup = w.index[w.index.duplicated()].unique().tolist()
        raise InputError(f"the weights' index repeats {', '.join(map(str, dup[:10]))}: one "
                         "weight per row of data")
    extra = w.index[~w.index.isin(data.index)]
    if len(extra):
        raise InputError(f"weights for rows not in data: {', '.join(map(str, extra[:10]))}"
                         f"{' ...' if len(extra) > 10 else ''} (the weights were computed on "
                         "other data)")
    try:
        vals = pd.Series(np.asarray(w, dtype=float), index=w.index)
    except (TypeError, ValueError):
        raise InputError(f"weights must be numbers; got dtype {w.dtype}") from None
    problems = []
    for bad, what in ((vals.isna(), "missing (NaN)"), (np.isinf(vals), "infinite"),
                      (vals < 0, "negative")):
        if bad.any():
            problems.append(f"{what} for {name_rows(data, vals.index[bad])}")
    if problems:
        raise InputError("weights must be finite and >= 0 (0 leaves a patient out on "
                         f"purpose); the weight is {'; '.join(problems)}")
    rows = []
    absent = data.index[~data.index.isin(w.index)]
    if len(absent) and kind == "series":
        raise InputError(f"the weights have no value for {len(absent)} row(s) of data: "
                         f"{name_rows(data, absent)}; give every row of data a weight (0 "
                         "to leave a patient out on purpose)")
    if len(absent) and kind == "ps":
        unknown = [r for r in absent if r not in known]
        if unknown:
            raise InputError(f"{name_rows(data, unknown)} of data are not in the data the "
                             "propensity score was fitted on (no weight and no recorded "
                             "reason): compute the weights on the same data")
    for r in absent:
        rows.append((r, known.get(r, "no propensity score (missing treatment or covariate "
                                     "value), so not in the matching")))
    zero = vals.index[vals == 0]
    for r in zero:
        rows.append((r, known.get(r, "not matched (weight 0)" if kind == "match"
                                  else "weight 0")))
    excluded = pd.DataFrame(rows, columns=["row", "reason"])
    if "patient_id" in data.columns:
        excluded.insert(1, "patient_id", data.loc[excluded["row"], "patient_id"].to_numpy()
                        if len(excluded) else [])
    return vals[vals > 0], label, excluded


def _excluded_choice(excluded) -> str:
    """``choices["excluded"]`` text: how many rows were left out and why (in short)."""
    if excluded is None or not len(excluded):
        return "none"
    short = excluded["reason"].str.split(":").str[0].str.split(" (", regex=False).str[0]
    counts = short.value_counts(sort=False)
    n = len(excluded)
    return (f"{n} patient{'s' if n != 1 else ''} without a positive weight left out (see "
            ".excluded): "
            + ", ".join(f"{n} {why}" for why, n in counts.items()))


def weighted_km(data: pd.DataFrame, time: str, event: str, group: str, weights, *,
                conf_type="log", conf_level=0.95) -> AdjustedCurves:
    """Weighted Kaplan–Meier with robust (IJ) pointwise CIs.

    Parameters
    ----------
    data : DataFrame
    time, event, group : str
        Columns (event 1 = event, 0 = censored).
    weights : PSWeights, MatchResult or Series
        One weight >= 0 per row of ``data`` (matched by index label). Patients with
        weight 0 (trimmed, unmatched) and, for PSWeights / MatchResult, those without a
        propensity score are left out and listed in ``.excluded``; a NaN, negative or
        missing weight is an error naming the rows.
    conf_type : {"log", "log-log", "plain"}
    conf_level : float
        Strictly between 0 and 1 (0.95, not 95).

    Returns
    -------
    AdjustedCurves

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"t": [1, 2, 3, 4, 5, 6], "e": [1, 0, 1, 1, 0, 1], "g": list("ABABAB")})
    >>> w = pd.Series([0.5, 1, 1.5, 1, 2, 1.0])
    >>> float(weighted_km(d, "t", "e", "g", w).at([2])["estimate"].iloc[0])
    0.875

    Validated against R ``survfit(..., weights = w, robust = TRUE, id = id)``.
    """
    from ..stats.km import kaplan_meier
    from .._checks import check_conf_level
    if conf_type not in _CONF:
        raise InputError(f"conf_type must be one of {_CONF}; got {conf_type!r}")
    conf_level = check_conf_level(conf_level)
    w, label, excluded = _weights_array(weights, data)
    d = data.loc[w.index]
    fit = kaplan_meier(d[time].to_numpy(float), d[event].to_numpy(), d[group].to_numpy(),
                       weights=w.to_numpy(float), conf_type=conf_type, conf_level=conf_level,
                       variance="robust")
    t = fit.table.copy()
    return AdjustedCurves(table=t[CURVE_COLUMNS].reset_index(drop=True), curve="survival",
                          groups=tuple(fit.groups), conf_type=conf_type,
                          conf_level=conf_level, weighting=label, _medians=fit.median(),
                          excluded=excluded)


def _aj_one(time, code, w, ids, causes):
    """Weighted Aalen–Johansen for one group; returns dict of arrays over distinct times.

    The IJ variance in closed form (sorts and cumulative sums, no loop over times; see
    the module docstring): a row still at risk after ``t_j`` has the influence common to
    all of them, ``US = S(t_j) G(t_j)`` (``G`` the weighted Greenwood sum) and
    ``UF_k = b_k(t_j)``; once it has left (at its time ``t_p``) its influence on
    ``F_k(t_j)`` is ``alpha_ik + beta_i F_k(t_j)`` with ``beta_i = US_i(t_p) / S(t_p)``.
    """
    ut, pos = np.unique(time, return_inverse=True)     # pos: index of each row's time
    J = ut.size
    n_risk = np.cumsum(np.bincount(pos, weights=w, minlength=J)[::-1])[::-1]
    ev = code > 0
    d_all = np.bincount(pos[ev], weights=w[ev], minlength=J)
    n_cens = np.bincount(pos[~ev], weights=w[~ev], minlength=J)
    d_k = {k: np.bincount(pos[code == k], weights=w[code == k], minlength=J) for k in causes}
    S = np.cumprod(1 - d_all / n_risk)                  # S(t_j)
    S_prev = np.concatenate([[1.0], S[:-1]])            # S(t_{j-1})
    alive = n_risk > d_all                              # S(t_j) > 0 (all but maybe the last)
    with np.errstate(divide="ignore", invalid="ignore"):
        G = np.cumsum(np.where(alive, d_all / (n_risk * (n_risk - d_all)), 0.0))
        g_ev = np.where(alive, 1.0 / (n_risk - d_all), 0.0)
    US_prev = np.concatenate([[0.0], S[:-1] * G[:-1]])  # US of the at-risk at t_{j-1}
    # US_i(t_p) / S(t_p) of each row at its own time; 0 where S(t_p) = 0 (no later time)
    beta = np.where(alive[pos], G[pos] - ev * g_ev[pos], 0.0)
    F, b, alpha = {}, {}, {}
    for k in causes:
        F[k] = np.cumsum(S_prev * d_k[k] / n_risk)
        b[k] = np.cumsum(d_k[k] / n_risk * (US_prev - S_prev / n_risk))
        uf = b[k][pos] + S_prev[pos] * (code == k) / n_risk[pos]    # UF_ik(t_p)
        alpha[k] = uf - beta * F[k][pos]
    uid, inv = np.unique(ids, return_inverse=True)
    out_se = _ij_se(pos, inv, uid.size, w, beta, alpha, F, b, d_k, J, causes)
    if uid.size == 1:
        # one cluster: its influences sum to zero (F does not change when every weight is
        # scaled alike), so the robust variance is exactly 0; the closed form leaves
        # rounding (~1e-9) that would read as a tiny, real SE
        out_se = {k: np.zeros_like(v) for k, v in out_se.items()}
    return {"time": ut, "n_risk": n_risk, "n_event": d_k, "n_censor": n_cens, "F": F,
            "se": out_se}


def _ij_se(pos, inv, n_id, w, beta, alpha, F, b, d_k, J, causes):
    """``sqrt(sum_c (sum_{i in c} w_i U_ik(t_j))^2)`` for each cause and time, by prefix sums.

    A cluster ``c`` (an ``id``) whose rows with time index ``> j`` weigh ``W_c(j)`` and
    whose other rows sum to ``A_ck(j) = sum w_i alpha_ik``, ``B_c(j) = sum w_i beta_i``
    has influence ``W_c b_k(t_j) + A_ck + B_c F_k(t_j)`` on ``F_k(t_j)``. Its state
    changes only at its rows' times: the state before its first time (``W_c`` = all its
    weight) is summed by suffix sums, the state after its last time (``W_c = 0``) by
    prefix sums, states in between (clusters with rows at different times) by
    difference arrays. The SE only changes at times with an event of the cause: it is
    carried over the others (as the recursion left it exactly unchanged there).
    """
    wb = w * beta
    wa = {k: w * alpha[k] for k in causes}
    if n_id == pos.size:                                # one row per cluster
        first_pos, w_tot = pos, w
        last_pos, last_B, last_A = pos, wb, wa
        mid = None
    else:                                               # cells: a cluster's rows at one time
        order = np.lexsort((pos, inv))
        ci, cp = inv[order], pos[order]
        st = np.flatnonzero(np.concatenate([[True], (ci[1:] != ci[:-1])
                                            | (cp[1:] != cp[:-1])]))
        cinv, cpos = ci[st], cp[st]
        cw = np.add.reduceat(w[order], st)
        cells = pd.DataFrame({"b": np.add.reduceat(wb[order], st)})
        for k in causes:
            cells[f"a{k}"] = np.add.reduceat(wa[k][order], st)
        cum = cells.groupby(cinv, sort=False).cumsum()  # A_c, B_c after each cell
        # the cluster's weight at its cell and later cells
        w_ge = pd.Series(cw[::-1]).groupby(cinv[::-1], sort=False).cumsum().to_numpy()[::-1]
        first = np.concatenate([[True], cinv[1:] != cinv[:-1]])
        last = np.concatenate([first[1:], [True]])
        first_pos, w_tot = cpos[first], w_ge[first]
        last_pos, last_B = cpos[last], cum["b"].to_numpy()[last]
        last_A = {k: cum[f"a{k}"].to_numpy()[last] for k in causes}
        mid = np.flatnonzero(~last)
        m_from, m_to = cpos[mid], cpos[mid + 1]         # active on [t_from, t_to)
        m_W, m_B = w_ge[mid + 1], cum["b"].to_numpy()[mid]
        m_A = {k: cum[f"a{k}"].to_numpy()[mid] for k in causes}
        if mid.size == 0:
            mid = None

    def prefix(idx, v):
        return np.cumsum(np.bincount(idx, weights=v, minlength=J))

    def between(v):
        return np.cumsum(np.bincount(m_from, weights=v, minlength=J)
                         - np.bincount(m_to, weights=v, minlength=J))

    WW = np.cumsum(np.bincount(first_pos, weights=w_tot * w_tot, minlength=J + 1)[::-1])
    WW = WW[::-1][1:]                                   # clusters with no row left by t_j
    BB = prefix(last_pos, last_B * last_B)
    if mid is not None:
        WW = WW + between(m_W * m_W)
        BB = BB + between(m_B * m_B)
        WB = between(m_W * m_B)
    idx = np.arange(J)
    out = {}
    for k in causes:
        A, Fk, bk = last_A[k], F[k], b[k]
        V = bk * bk * WW + prefix(last_pos, A * A) + 2 * Fk * prefix(last_pos, A * last_B) \
            + Fk * Fk * BB
        if mid is not None:
            mA = m_A[k]
            V = V + between(mA * mA) + 2 * Fk * between(mA * m_B) \
                + 2 * bk * (between(m_W * mA) + Fk * WB)
        # a variance within the rounding error of its sums is 0 (an influence that cancels
        # exactly, e.g. F = 1 once every patient of the group had this cause, would else
        # leave a root of ~1e-9 that reads as a real SE): the squares' sums bound it
        sq = bk * bk * WW + prefix(last_pos, A * A) + Fk * Fk * BB
        if mid is not None:
            sq = sq + between(m_A[k] * m_A[k])
        floor = 64 * np.finfo(float).eps * (float(np.max(np.abs(sq))) if sq.size else 0.0)
        se = np.sqrt(np.where(V > floor, V, 0.0))
        last_ev = np.maximum.accumulate(np.where(d_k[k] > 0, idx, -1))
        out[k] = np.where(last_ev >= 0, se[np.maximum(last_ev, 0)], 0.0)
    return out


def weighted_cif(data: pd.DataFrame, time: str, code: str, group: str, weights, *,
                 id=None, conf_type="log", conf_level=0.95) -> AdjustedCurves:
    """Weighted cumulative incidence (Aalen–Johansen) with IJ robust CIs.

    Parameters
    ----------
    data : DataFrame
    time : str
    code : str
        0 = censored, 1, 2, ... = cause.
    group : str
    weights : PSWeights, MatchResult or Series
        As in :func:`weighted_km` (weight 0 leaves a patient out, listed in
        ``.excluded``; NaN, negative or missing weights are errors).
    id : str, optional
        Patient id (rows of one id are one cluster in the variance); default one
        row per patient.
    conf_type : {"log", "log-log", "plain"}
        Transform for the CI of F (R ``survfit``'s default for multi-state curves
        is ``"log"``).
    conf_level : float

    Returns
    -------
    AdjustedCurves
        One curve per group and cause (``n_event`` = weighted events of that cause).

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"t": [1, 2, 3, 4], "c": [1, 2, 0, 1], "g": ["A"] * 4})
    >>> r = weighted_cif(d, "t", "c", "g", pd.Series([1.0, 1.0, 1.0, 1.0]))
    >>> r.at([4])["estimate"].round(3).tolist()
    [0.75, 0.25]

    Validated against R ``survfit(Surv(t, factor(code)) ~ g, weights = w, id = id)``.
    """
    from .._checks import check_conf_level
    if conf_type not in _CONF:
        raise InputError(f"conf_type must be one of {_CONF}; got {conf_type!r}")
    conf_level = check_conf_level(conf_level)
    w, label, excluded = _weights_array(weights, data)
    d = data.loc[w.index]
    tt = d[time].to_numpy(float)
    cc = d[code].to_numpy()
    if not np.isfinite(tt).all() or (tt < 0).any():
        raise InputError(f"{time} must be finite and >= 0 for every weighted patient")
    if pd.isna(cc).any() or (np.asarray(cc, float) != np.round(np.asarray(cc, float))).any() \
            or (np.asarray(cc, float) < 0).any():
        raise InputError(f"{code} must be 0 (censored) or a positive integer cause code")
    cc = np.asarray(cc, int)
    causes = sorted(set(cc[cc > 0].tolist()))
    if not causes:
        raise InputError(f"no events in {code}: nothing to estimate")
    ids = d.index.to_numpy() if id is None else d[id].to_numpy()
    from ._common import levels_of
    groups = levels_of(d[group])
    parts = []
    for g in groups:
        m = (d[group] == g).to_numpy()
        r = _aj_one(tt[m], cc[m], w.to_numpy(float)[m], ids[m], causes)
        for k in causes:
            lo, hi = _ci(r["F"][k], r["se"][k], conf_type, conf_level, True)
            parts.append(curve_frame(g, k, r["time"], r["F"][k], r["se"][k], lo, hi,
                                     r["n_risk"], r["n_event"][k], r["n_censor"]))
    t = pd.concat(parts, ignore_index=True)
    return AdjustedCurves(table=t[CURVE_COLUMNS], curve="cumulative incidence",
                          groups=tuple(groups), conf_type=conf_type, conf_level=conf_level,
                          weighting=label, excluded=excluded)
