"""Kaplan–Meier estimation, agreeing with R ``survival::survfit``.

Public functions
----------------
kaplan_meier
    Product-limit curves by group with Greenwood variance and ``plain`` /
    ``log`` / ``log-log`` pointwise CIs; left truncation via ``entry``
    (counting-process ``Surv(entry, time, event)``); optional case weights.
number_at_risk
    At risk at the start of each requested time, events / censorings per
    interval and cumulated (R ``summary(survfit, times = )``).
rmst_difference
    Difference of restricted mean survival times of two groups.
median_followup
    Median follow-up by the reverse Kaplan–Meier method.
reverse_kaplan_meier
    The reverse Kaplan–Meier curve (follow-up distribution) with its CI.
KMResult.cumhaz
    Nelson–Aalen / Fleming–Harrington cumulative hazard as a curve result.

Options of :func:`kaplan_meier` beyond the product limit (R ``survfit``): ``ctype``,
``stype``, ``start_time`` (conditional survival), ``influence`` and ``timefix``
(near-tied times merged, :mod:`aplcohort.stats._aeq`).

Conventions (R defaults, documented where we add something)
-----------------------------------------------------------
* ``KMResult.table`` has one row per distinct time per group, censoring-only
  times included (R ``summary(fit, censored = TRUE)``); ``std_err`` is the
  standard error of S(t) (R ``summary(fit)$std.err``).
* Quantiles and medians follow ``quantile.survfit`` (``survival:::findq``):
  where the curve is exactly at ``1 - p`` over an interval the midpoint of that
  interval is returned; "not reached" is NaN, never a number. ``print(fit)``
  uses a slightly different search (``survmean``) that differs only when a
  curve *ends* exactly at ``1 - p``.
* ``survival_at`` follows ``summary(fit, times = , extend = FALSE)``: R omits
  requested times after a group's last observation; we keep such rows with
  NaN estimates and ``n_risk`` 0 so that nothing is dropped silently.
  ``extend=True`` reproduces R ``extend = TRUE`` (last value carried forward).
* Case weights: as R, Greenwood variance on weighted counts when all weights
  are integers, and the robust (infinitesimal jackknife) variance when some are
  not (R's default); ``variance=`` overrides (R ``robust =``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from ._lazy import scipy_stats as st

from .._align import align_rows
from .._checks import check_bool
from .._results import Result
from ..errors import InputError
from . import _surv_core as core
from ._aeq import aeq_outcome
from .outcome import Outcome
from .shapes import CURVE_COLUMNS, CurveShape, at_frame, curve_complete, curve_frame, median_frame

__all__ = ["kaplan_meier", "KMResult", "CumHazResult", "number_at_risk", "rmst_difference",
           "RMSTDifferenceResult", "median_followup", "reverse_kaplan_meier"]

_CONF_TYPES = ("plain", "log", "log-log")
_CTYPE_NAMES = {1: "Nelson–Aalen (ctype 1)", 2: "Fleming–Harrington (ctype 2)"}


# ------------------------------------------------------------------ helpers
def _check_conf(conf_type, conf_level):
    if conf_type not in _CONF_TYPES:
        raise InputError(f"conf_type must be one of {_CONF_TYPES} (R survfit conf.type); "
                         f"got {conf_type!r}")
    try:
        cl = float(conf_level)
    except (TypeError, ValueError):
        raise InputError(f"conf_level must be a number in (0, 1); got {conf_level!r}") from None
    if not 0.0 < cl < 1.0:
        raise InputError(f"conf_level must be in (0, 1), e.g. 0.95; got {conf_level!r}")
    return cl


def categorical_order(values):
    """The levels present in ``values`` in its category order when it is a pandas
    ``Categorical`` (or a Series of that dtype), else None: the group order every
    estimator takes without ``order=`` (otherwise labels are sorted). A cohort's
    frames carry such Categoricals in the data dictionary's order
    (:func:`aplcohort.cohort.cohort.dictionary_ordered`), so the Python API compares
    groups in the order a plan does.

    >>> categorical_order(pd.Categorical(["high", "low"], categories=["low", "mid", "high"]))
    ['low', 'high']
    >>> categorical_order(["high", "low"]) is None
    True
    """
    if isinstance(values, pd.Series) and isinstance(values.dtype, pd.CategoricalDtype):
        values = values.array
    if not isinstance(values, pd.Categorical):
        return None
    used = np.zeros(len(values.categories), bool)
    codes = np.asarray(values.codes)
    used[codes[codes >= 0]] = True
    return [c.item() if isinstance(c, np.generic) else c
            for c, u in zip(values.categories, used) if u]


def _group_codes(group, n, order=None, name="group"):
    """Map group labels to codes 0..k-1; labels sorted unless ``order`` given (or
    ``group`` is a pandas Categorical: its category order, :func:`categorical_order`).

    One hash pass (``pd.factorize``) over the rows, then the few distinct labels
    are sorted: no per-row Python objects for numeric groups.
    """
    if group is None:
        return ("all",), np.zeros(n, np.int64)
    if order is None:
        order = categorical_order(group)
    arr = group.to_numpy() if isinstance(group, pd.Series) else np.asarray(group)
    if arr.ndim != 1 or len(arr) != n:
        raise InputError(f"{name} has {len(arr)} values but time has {n}; give one {name} "
                         f"label per row")
    if arr.dtype.kind == "f" and np.isnan(arr).any() or arr.dtype.kind == "O":
        miss = pd.isna(arr)
        if miss.any():
            idx = np.flatnonzero(miss)[:20].tolist()
            raise InputError(f"{name}: missing labels at positions {idx}; remove those rows "
                             f"explicitly or give them a label")
    if order is None and arr.dtype.kind in "iu" and n:
        # small non-negative integer labels (codes 0..k-1, arms 1..3): a counting pass
        # finds the sorted labels; no hashing. Same levels and codes as below.
        hi = _small_int_labels(arr, n)
        if hi is not None:
            present = np.flatnonzero(np.bincount(arr, minlength=hi + 1))
            levels = tuple(int(v) for v in present)
            if present.size == hi + 1:                 # labels are exactly 0..k-1
                return levels, arr.astype(np.int64, copy=False)
            rank = np.zeros(hi + 1, np.int64)
            rank[present] = np.arange(present.size)
            return levels, rank[arr]
    codes0, uniq = pd.factorize(arr)
    present = [x.item() if isinstance(x, np.generic) else x for x in list(uniq)]
    if order is None:
        try:
            levels = sorted(present)
        except TypeError:
            raise InputError(f"{name}: labels of mixed types cannot be sorted; pass order=[...]")\
                from None
    else:
        levels = list(order)
        if len(set(levels)) != len(levels):
            raise InputError(f"order has duplicated labels: {levels}")
        missing = [x for x in present if x not in levels]
        if missing:
            raise InputError(f"order does not list the {name} labels {missing}; "
                             f"add them to order=")
        check_order_known(levels, present, name)
    levels = [x.item() if isinstance(x, np.generic) else x for x in levels]
    pos = {v: i for i, v in enumerate(levels)}
    remap = np.array([pos[v] for v in present], dtype=np.int64)
    return tuple(levels), remap[codes0]


def check_order_known(order, present, name="group"):
    """Raise when ``order`` names a label that no row has (a typo, or a label of another
    column): it would otherwise be dropped without a word.

    Examples
    --------
    >>> check_order_known(["IC", "ATO"], ["ATO", "IC"])
    >>> check_order_known(["IC", "ATO", "X"], ["ATO", "IC"])
    Traceback (most recent call last):
    ...
    aplcohort.errors.InputError: order names 'X', which is not a group label of the data (the labels are 'ATO', 'IC'); correct or remove it
    """
    order = list(order)
    if len(set(order)) != len(order):
        raise InputError(f"order has duplicated labels: [{_show_labels(order, sort=False)}]")
    have = set(present)
    unknown = [x for x in order if x not in have]
    if unknown:
        raise InputError(f"order names {_show_labels(unknown, sort=False)}, which "
                         + ("is not a " + name + " label" if len(unknown) == 1
                            else "are not " + name + " labels")
                         + f" of the data (the labels are {_show_labels(present)}); "
                           "correct or remove " + ("it" if len(unknown) == 1 else "them"))


def _show_labels(vals, sort=True) -> str:
    """Labels as the user typed them (no numpy reprs), sorted when they can be."""
    vals = [v.item() if isinstance(v, np.generic) else v for v in vals]
    if sort:
        try:
            vals = sorted(vals)
        except TypeError:
            vals = sorted(vals, key=str)
    return ", ".join(repr(v) for v in vals)


def _small_int_labels(arr, n):
    """Largest label when ``arr`` holds small non-negative integers (else None)."""
    lo, hi = int(arr.min()), int(arr.max())
    return hi if lo >= 0 and hi < min(1 << 16, 4 * n + 64) else None


def _group_codes_counted(group, n, order=None):
    """:func:`_group_codes` for front-ends that count rows per group in a table anyway.

    Small non-negative integer labels are their own codes: returns
    ``(candidate labels 0..max, codes, True)`` and the caller drops the labels that
    have no rows after counting (:func:`_drop_absent`), so that finding the present
    labels costs no extra pass over the rows. Otherwise ``(labels, codes, False)``
    as :func:`_group_codes`.
    """
    if group is not None and order is None:
        arr = group.to_numpy() if isinstance(group, pd.Series) else np.asarray(group)
        if arr.dtype.kind in "iu" and arr.ndim == 1 and len(arr) == n and n:
            hi = _small_int_labels(arr, n)
            if hi is not None:
                return tuple(range(hi + 1)), arr.astype(np.int64, copy=False), True
    groups, codes = _group_codes(group, n, order)
    return groups, codes, False


def _outcome(time, event, entry):
    if entry is None:
        return Outcome.right(time, event)
    return Outcome.counting(entry, time, event)


def _check_weights(weights, n):
    if weights is None:
        return None
    w = np.asarray(weights, dtype=float)
    if w.shape != (n,):
        raise InputError(f"weights must be 1-D with one value per row ({n}); got shape {w.shape}")
    bad = ~np.isfinite(w) | (w <= 0)
    if bad.any():
        idx = np.flatnonzero(bad)[:20].tolist()
        raise InputError(f"weights must be finite and > 0; bad at positions {idx}")
    return w


def _check_times(times, name="times"):
    t = np.atleast_1d(np.asarray(times, dtype=float))
    if t.ndim != 1 or t.size == 0:
        raise InputError(f"{name} must be a non-empty 1-D sequence of numbers")
    if not np.isfinite(t).all():
        raise InputError(f"{name} must be finite; got {t[~np.isfinite(t)].tolist()}")
    return t




# ------------------------------------------------------------------ result
@dataclass(frozen=True, eq=False)
class KMResult(CurveShape, Result):
    """Kaplan–Meier curves (frozen; the curve shape of :mod:`aplcohort.stats.shapes`).

    Attributes
    ----------
    table : DataFrame
        ``[group, cause, time, estimate, std_err, lower, upper, n_risk, n_event,
        n_censor]`` (``cause`` <NA>, ``estimate`` = S(t)), one row per distinct
        time per group (R ``summary(fit, censored=TRUE)``).
    groups : tuple
        Group labels in order (``("all",)`` without groups).
    conf_type, conf_level : str, float
        CI transform and level.
    weighted, left_truncated : bool
        Whether case weights / entry times were used.
    ctype, stype : int
        Cumulative hazard (1 Nelson–Aalen, 2 Fleming–Harrington) and survival (1 product
        limit, 2 ``exp(-H)``) as R ``survfit(ctype =, stype =)``.
    hazard : DataFrame or None
        ``[cumhaz, std_chaz]`` per row of ``table`` (see :meth:`cumhaz`); None for robust fits.
    influence : DataFrame or None
        ``[group, row, time, influence]`` when fitted with ``influence=True``.
    reverse, conditional : bool
        Reverse KM (:func:`reverse_kaplan_meier`); conditional on ``start_time``.
    n_before_start : tuple
        Rows per group left out because their follow-up ended before ``start_time``.
    """

    kind = "km"
    curve = "survival"

    table: pd.DataFrame
    groups: tuple
    conf_type: str
    conf_level: float
    weighted: bool = False
    left_truncated: bool = False
    n_records: tuple = field(default=())
    start_time: float = 0.0
    variance: str = "greenwood"
    ctype: int = 1
    stype: int = 1
    hazard: pd.DataFrame | None = None
    influence: pd.DataFrame | None = None
    reverse: bool = False
    conditional: bool = False
    n_before_start: tuple = field(default=())

    @property
    def title(self) -> str:
        if self.reverse:
            return "Reverse Kaplan–Meier estimate (follow-up)"
        return "Kaplan–Meier estimate" if self.stype == 1 else \
            "Survival from the cumulative hazard, exp(-H)"

    @property
    def choices(self) -> dict:
        ch = {"conf_type": self.conf_type, "conf_level": self.conf_level,
              "variance": ("Greenwood" if self.variance == "greenwood"
                           else "robust (infinitesimal jackknife)"),
              "weights": "case weights" if self.weighted else "none",
              "left truncation": "entry times" if self.left_truncated else "none",
              "groups": list(self.groups)}
        if self.stype != 1 or self.ctype != 1:
            ch["survival"] = ("product limit (stype 1)" if self.stype == 1
                              else "exp(-cumulative hazard) (stype 2)")
            ch["cumulative hazard"] = _CTYPE_NAMES[self.ctype]
        if self.conditional:
            ch["conditional on"] = (f"being at risk at {self.start_time:g} (start_time); rows "
                                    f"whose follow-up ended before: {list(self.n_before_start)}")
        if self.reverse:
            ch["reverse"] = "censorings are the events (follow-up distribution)"
        if self.influence is not None:
            ch["influence"] = "influence values of each row on S(t) (R influence = TRUE)"
        return ch

    def cumhaz(self, conf_type="plain") -> "CumHazResult":
        """The cumulative hazard as a curve result (``estimate`` = H(t)).

        ``H`` is Nelson–Aalen (``ctype = 1``, R's default) or Fleming–Harrington
        (``ctype = 2``) as chosen in :func:`kaplan_meier`; ``std_err`` is R's
        ``std.chaz`` and the CI is the one ``plot(fit, cumhaz = TRUE)`` draws:
        ``survfit_confint(cumhaz, std.chaz, logse = FALSE, conf.type)`` with
        ``conf_type`` ``"plain"`` (R's default there) or ``"log"``.

        Examples
        --------
        >>> from aplcohort.stats.km import kaplan_meier
        >>> h = kaplan_meier([1, 2, 2, 3, 4], [1, 1, 0, 1, 0]).cumhaz()
        >>> h.table["estimate"].round(4).tolist()
        [0.2, 0.45, 0.95, 0.95]
        """
        if conf_type not in ("plain", "log"):
            raise InputError(f"conf_type of the cumulative hazard must be 'plain' (R's default "
                             f"for plot(cumhaz = TRUE)) or 'log'; got {conf_type!r}")
        if self.hazard is None:
            raise InputError("this result has no cumulative hazard (weighted robust fits: "
                             "the robust SE of the cumulative hazard is not implemented)")
        t = self.table
        H = self.hazard["cumhaz"].to_numpy(float)
        se = self.hazard["std_chaz"].to_numpy(float)
        lower, upper = core.confint_chaz(H, se, conf_type, self.conf_level)
        table = curve_frame(t["group"].to_numpy(), None, t["time"], H, se, lower, upper,
                            t["n_risk"], t["n_event"], t["n_censor"])
        return CumHazResult(table=table, groups=self.groups, conf_type=conf_type,
                            conf_level=self.conf_level, ctype=self.ctype,
                            n_records=self.n_records, start_time=self.start_time)

    @property
    def tables(self) -> dict:
        return {"median": self.median(), "curve": self.table}

    def _curve(self, g):
        """Columns of group ``g``'s rows as numpy arrays (sliced once per result:
        the table is grouped in ``groups`` order)."""
        cache = self.__dict__.setdefault("_curve_cache", {})
        if not cache:
            t = self.table
            gcol = t["group"].to_numpy()
            cols = {k: t[k].to_numpy() for k in ("time", "estimate", "std_err", "lower",
                                                 "upper", "n_risk", "n_event", "n_censor")}
            bounds = np.flatnonzero(np.r_[True, gcol[1:] != gcol[:-1], True]) \
                if len(gcol) else np.zeros(1, int)
            for a, b in zip(bounds[:-1], bounds[1:]):
                cache[gcol[a]] = {k: v[a:b] for k, v in cols.items()}
        empty = {k: np.zeros(0) for k in ("time", "estimate", "std_err", "lower", "upper",
                                          "n_risk", "n_event", "n_censor")}
        return cache.get(g, empty)

    # ---- quantiles
    def quantile(self, p) -> pd.DataFrame:
        """Survival-time quantiles with CI, as R ``quantile(fit, probs = p)``.

        ``p = 0.25`` is the time by which 25% have had the event (S <= 0.75).

        Returns
        -------
        DataFrame ``[group, n, events, p, quantile, lower, upper, note]``; ``note`` says
        why a value is NaN: "not reached" (the curve never falls to ``1 - p``) or which
        confidence limit is not reached (the rules of :meth:`median`).
        """
        probs = np.atleast_1d(np.asarray(p, dtype=float))
        if not (np.isfinite(probs).all() and (probs >= 0).all() and (probs <= 1).all()):
            raise InputError(f"p must be probabilities in [0, 1]; got {probs.tolist()}")
        rows, und = [], []
        for g, nrec in zip(self.groups, self.n_records):
            c = self._curve(g)
            x = np.concatenate([[0.0], c["time"]])
            u = self._band_undefined(c)

            def fq(curve):
                return core.findq(x, np.concatenate([[0.0], 1.0 - curve]), probs)

            q = fq(c["estimate"])
            lo = fq(c["lower"])
            up = fq(c["upper"])
            ev = float(c["n_event"].sum())
            ev = int(ev) if ev.is_integer() else ev  # whole counts unless weights are fractional
            for i, pr in enumerate(probs):
                rows.append((g, nrec, ev, float(pr), q[i], lo[i], up[i]))
                und.append(u)
        from .shapes import reached_notes
        out = pd.DataFrame(rows, columns=["group", "n", "events", "p", "quantile", "lower",
                                          "upper"])
        out["note"] = reached_notes(out["quantile"], out["lower"], out["upper"], und)
        return out

    def _band_undefined(self, c) -> tuple:
        """(lower, upper): why each confidence band of the curve ``c`` cannot tell where
        it crosses a level (undefined at the curve's end), or None (see
        :func:`aplcohort.stats.shapes.band_end_undefined`)."""
        from .shapes import band_end_undefined
        name = "reverse Kaplan-Meier" if self.reverse else "Kaplan-Meier"
        return tuple(band_end_undefined(c["time"], c["estimate"], c["std_err"], c[side], name)
                     for side in ("lower", "upper"))

    def median(self) -> pd.DataFrame:
        """Median survival with CI (R ``quantile(fit, 0.5)``; NaN = not reached).

        Returns
        -------
        DataFrame ``[group, cause, n, events, median, lower, upper, note]``
        (``note`` = "not reached" where the median is NaN).
        """
        rows, und = [], []
        for g, nrec in zip(self.groups, self.n_records):
            c = self._curve(g)
            und.append(self._band_undefined(c))
            x = np.concatenate([[0.0], c["time"]])
            q, lo, up = (core.findq(x, np.concatenate([[0.0], 1.0 - v]), np.array([0.5]))[0]
                         for v in (c["estimate"], c["lower"], c["upper"]))
            ev = float(c["n_event"].sum())
            rows.append((g, None, nrec, int(ev) if ev.is_integer() else ev, q, lo, up))
        out = median_frame(rows, und)
        if self.conditional:   # a group whose every row ended before start_time has no curve
            empty = out["n"].to_numpy() == 0
            out.loc[empty, "note"] = f"no patient followed to start_time {self.start_time:g}"
        return out

    # ---- survival at times
    def _at(self, times, extend, complete=False):
        t = np.sort(_check_times(times))
        out = []
        for g in self.groups:
            c = self._curve(g)
            ct = c["time"]
            # survfit0: a row at start time with S = 1 and n.risk of the first row
            if ct.size and ct[0] != self.start_time:
                ct0 = np.concatenate([[self.start_time], ct])
                pre = {"estimate": 1.0, "std_err": 0.0, "lower": 1.0, "upper": 1.0,
                       "n_event": 0.0, "n_censor": 0.0}
                col = {k: np.concatenate([[v], c[k]]) for k, v in pre.items()}
                col["n_risk"] = np.concatenate([[c["n_risk"][0]], c["n_risk"]])
            else:
                ct0 = ct
                col = {k: c[k] for k in ("estimate", "std_err", "lower", "upper",
                                         "n_event", "n_censor", "n_risk")}
            i1 = np.searchsorted(ct0, t, side="right")          # findInterval(t, time)
            i2 = np.searchsorted(ct0, t, side="left")           # rows with time < t
            row = np.maximum(i1, 1) - 1
            cum_ev = np.concatenate([[0.0], np.cumsum(col["n_event"])])[i1]
            cum_ce = np.concatenate([[0.0], np.cumsum(col["n_censor"])])[i1]
            n_risk = np.concatenate([col["n_risk"], [0.0]])[i2]
            past = t > ct0.max()
            vals = {k: col[k][row].astype(float) for k in ("estimate", "std_err", "lower",
                                                            "upper")}
            # a complete curve (every patient at risk at the last time had the event:
            # S = 0) cannot change afterwards: its value after the last time is known
            known = complete and bool(c["time"].size) and curve_complete(
                c["n_risk"][-1], c["n_event"][-1])
            if not extend and not known:
                for k in vals:
                    vals[k] = np.where(past, np.nan, vals[k])
            out.append(pd.DataFrame({"group": [g] * t.size, "time": t, "n_risk": n_risk,
                                     "cum_events": cum_ev, "cum_censored": cum_ce, **vals}))
        return pd.concat(out, ignore_index=True)

    def at(self, times, *, extend=False, complete=False) -> pd.DataFrame:
        """Survival with CI at chosen times (R ``summary(fit, times = , extend = )``).

        Parameters
        ----------
        times : sequence of float
            Sorted ascending in the output, as R does.
        extend : bool
            ``False`` (R's default): times after a group's last observation get NaN
            estimates (R omits those rows) and ``n_risk`` 0. ``True``: the last value
            is carried forward as R ``extend = TRUE``.
        complete : bool
            ``True`` (the plan's tables): a complete curve (every patient at risk at
            the group's last time had the event, S = 0:
            :func:`~aplcohort.stats.shapes.curve_complete`) keeps its value after that
            time (known: R ``extend = TRUE``'s); a curve ending by a censoring stays NaN.

        Returns
        -------
        DataFrame ``[group, cause, time, estimate, std_err, lower, upper, n_risk, note]``;
        ``n_risk`` is the number at risk at the start of the time (first survfit row
        >= time); ``note`` says why an estimate is NaN (after the group's follow-up).
        """
        a = self._at(times, check_bool("extend", extend), check_bool("complete", complete))
        return at_frame(a["group"], None, a["time"], a["estimate"], a["std_err"], a["lower"],
                        a["upper"], a["n_risk"], conf_type=self.conf_type)

    def risk_table(self, times) -> pd.DataFrame:
        """At risk at each time and cumulative events / censorings up to it.

        Returns
        -------
        DataFrame ``[group, time, n_risk, cum_events, cum_censored]`` (R
        ``summary(fit, times = , extend = TRUE)`` n.risk and cumsum of n.event /
        n.censor).
        """
        a = self._at(times, True)
        return a[["group", "time", "n_risk", "cum_events", "cum_censored"]]

    # ---- restricted mean
    def rmst(self, tau, conf_level=None) -> pd.DataFrame:
        """Restricted mean survival time to ``tau`` with SE (R ``print(fit, rmean = tau)``).

        The CI (not printed by R) is ``rmst ± z * se`` at ``conf_level``
        (default: the curve's conf_level).

        Returns
        -------
        DataFrame ``[group, tau, rmst, se, lower, upper, note]``. Where R's SE is 0 (no
        events before ``tau``, or a one-patient curve) the SE and CI are NaN with the
        reason in ``note`` ("no events before tau: variance 0"); the RMST is kept.
        """
        tau = float(_check_times(tau, "tau")[0]) if np.ndim(tau) == 0 else None
        if tau is None:
            raise InputError("tau must be a single number (the horizon)")
        if tau < self.start_time:
            raise InputError(f"tau = {tau} is before the start of follow-up "
                             f"({self.start_time}); choose a later horizon")
        cl = self.conf_level if conf_level is None else _check_conf("log", conf_level)
        z = core.z_value(cl)
        rows = []
        for g in self.groups:
            c = self._curve(g)
            m, se = core.rmst(c["time"], c["estimate"], c["n_risk"], c["n_event"], tau,
                              self.start_time)
            note = core.rmst_variance_note(c["time"], c["n_event"], se, tau)
            if note:   # a variance of exactly 0 is not an estimate (never SE 0)
                rows.append((g, tau, m, np.nan, np.nan, np.nan, note))
            else:
                rows.append((g, tau, m, se, m - z * se, m + z * se, ""))
        return pd.DataFrame(rows, columns=["group", "tau", "rmst", "se", "lower", "upper",
                                           "note"])


@dataclass(frozen=True, eq=False)
class CumHazResult(CurveShape, Result):
    """Cumulative hazard curves (frozen; the curve shape, ``estimate`` = H(t)).

    From :meth:`KMResult.cumhaz`. ``std_err`` is R's ``std.chaz``; ``lower`` /
    ``upper`` the CI ``plot(survfit, cumhaz = TRUE)`` draws. ``median()`` is not
    defined for a cumulative hazard (it is a survival-curve quantity).
    """

    kind = "cumhaz"
    curve = "cumulative hazard"

    table: pd.DataFrame
    groups: tuple
    conf_type: str
    conf_level: float
    ctype: int = 1
    n_records: tuple = field(default=())
    start_time: float = 0.0

    @property
    def title(self) -> str:
        return f"Cumulative hazard, {_CTYPE_NAMES[self.ctype].split(' (')[0]}"

    @property
    def choices(self) -> dict:
        return {"estimator": _CTYPE_NAMES[self.ctype], "conf_type": self.conf_type,
                "conf_level": self.conf_level, "groups": list(self.groups)}

    @property
    def tables(self) -> dict:
        return {"curve": self.table}

    def at(self, times, *, extend=False) -> pd.DataFrame:
        """H(t) with CI at chosen times (R ``summary(fit, times = , extend = )$cumhaz``).

        Before the first time H is 0; after a group's last time NaN with a note unless
        ``extend=True`` (last value carried forward, as R).
        """
        extend = check_bool("extend", extend)
        t = np.sort(_check_times(times))
        parts = []
        for g in self.groups:
            sub = self.table[self.table["group"] == g]
            ct = sub["time"].to_numpy(float)
            i1 = np.searchsorted(ct, t, side="right")
            i2 = np.searchsorted(ct, t, side="left")
            vals = {}
            for k, first in (("estimate", 0.0), ("std_err", 0.0), ("lower", 0.0), ("upper", 0.0)):
                v = np.concatenate([[first], sub[k].to_numpy(float)])[i1]
                if not extend and ct.size:
                    v = np.where(t > ct.max(), np.nan, v)
                vals[k] = v
            n_risk = np.concatenate([sub["n_risk"].to_numpy(float), [0.0]])[i2]
            # no event yet: H = 0 (not S = 1)
            parts.append(at_frame(g, None, t, vals["estimate"], vals["std_err"], vals["lower"],
                                  vals["upper"], n_risk, conf_type=self.conf_type,
                                  no_event=vals["estimate"] == 0.0))
        return pd.concat(parts, ignore_index=True)

    def median(self) -> pd.DataFrame:
        raise InputError("a cumulative hazard has no median; use the survival curve "
                         "(KMResult.median())")

    def risk_table(self, times) -> pd.DataFrame:
        """Numbers at risk at the start of each time (as :meth:`KMResult.risk_table`)."""
        a = self.at(times, extend=True)
        return a[["group", "time", "n_risk"]]


# ------------------------------------------------------------------ estimator
def kaplan_meier(time, event, group=None, *, entry=None, weights=None, conf_type="log",
                 conf_level=0.95, order=None, variance=None, ctype=1, stype=1,
                 start_time=None, influence=False, timefix=True) -> KMResult:
    """Kaplan–Meier survival curves with Greenwood variance.

    Parameters
    ----------
    time : array-like
        Follow-up (stop) time of each row.
    event : array-like of {0, 1}
        1 = event, 0 = censored.
    group : array-like, optional
        Group label of each row; one curve per label. Per-row arguments given as pandas
        Series are paired by index label (:mod:`aplcohort._align`), arrays by position.
    entry : array-like, optional
        Entry (start) time of each row: the row is at risk on ``(entry, time]``
        (R ``Surv(entry, time, event)``). With a group value per row of split data
        this gives Simon–Makuch curves.
    weights : array-like, optional
        Positive case weights.
    conf_type : {"log", "plain", "log-log"}
        Pointwise CI transform (R ``conf.type``; ``plain`` is clipped to [0, 1]).
    conf_level : float
        Confidence level, default 0.95.
    order : sequence, optional
        Group order; a label that no row has is an error. Default: a pandas
        ``Categorical``'s category order (a cohort's frames and
        ``EndpointData.grouped`` carry the data dictionary's), else the labels sorted
        (text alphabetically: allo HSCT before auto HSCT).
    variance : {None, "greenwood", "robust"}
        ``None`` follows R: Greenwood, except a robust (infinitesimal jackknife,
        one cluster per row) variance when some case weight is not an integer or
        ``influence=True``. ``"greenwood"`` = R ``robust = FALSE``; ``"robust"`` =
        R ``robust = TRUE``.
    ctype : {1, 2}
        Cumulative hazard (R ``ctype``): 1 = Nelson–Aalen, 2 = Fleming–Harrington
        (tied events leave the risk set one at a time). Used by :meth:`KMResult.cumhaz`
        and, with ``stype=2``, by the survival curve.
    stype : {1, 2}
        Survival curve (R ``stype``): 1 = product limit (Kaplan–Meier), 2 =
        ``exp(-H)`` with the standard error of ``log S`` = that of ``H``.
    start_time : float, optional
        Conditional survival (R ``start.time``): only rows still followed at
        ``start_time`` (stop time >= ``start_time``) are used and the curve starts
        there with S = 1. The number of rows left out per group is in
        ``n_before_start`` and ``choices``.
    influence : bool
        Also return the influence of each row on S(t) (R ``influence = TRUE``) in
        ``.influence`` ``[group, row, time, influence]`` (``row`` = position in the
        input; with case weights the row's weight times its per-unit influence, as R).
        As in R this makes the default variance the robust one.
    timefix : bool
        Merge times equal up to floating-point rounding first (R ``timefix``;
        :mod:`aplcohort.stats._aeq`).

    Returns
    -------
    KMResult

    Notes
    -----
    Validated against: R survival 3.5-3 ``survfit`` / ``summary.survfit`` /
    ``quantile.survfit`` / ``survmean`` on aml, lung, veteran, heart (counting
    process), case weights (Greenwood and robust) and a hand-worked cohort
    (tests/test_km.py), rtol 1e-9; ``ctype``, ``stype``, ``start_time``,
    ``influence`` and near-tied times against ``survfit`` in
    tests/test_surv_extras.py (tests/reference/surv_extras.R), rtol 1e-6.

    Examples
    --------
    >>> from aplcohort.stats.km import kaplan_meier
    >>> fit = kaplan_meier([1, 2, 2, 3, 4], [1, 1, 0, 1, 0])
    >>> fit.table["estimate"].round(3).tolist()
    [0.8, 0.6, 0.3, 0.3]
    >>> float(fit.median()["median"].iloc[0])
    3.0
    >>> kaplan_meier([1, 2, 2, 3, 4], [1, 1, 0, 1, 0], stype=2).table["estimate"].round(4).tolist()
    [0.8187, 0.6376, 0.3867, 0.3867]
    """
    time, event, group, entry, weights = align_rows(
        "kaplan_meier", time=time, event=event, group=group, entry=entry, weights=weights)
    cl = _check_conf(conf_type, conf_level)
    influence = check_bool("influence", influence)
    timefix = check_bool("timefix", timefix)
    if ctype not in (1, 2) or isinstance(ctype, bool):
        raise InputError(f"ctype must be 1 (Nelson–Aalen) or 2 (Fleming–Harrington); got {ctype!r}")
    if stype not in (1, 2) or isinstance(stype, bool):
        raise InputError(f"stype must be 1 (product limit) or 2 (exp(-cumulative hazard)); "
                         f"got {stype!r}")
    oc = core.right_outcome(time, event) if entry is None else _outcome(time, event, entry)
    n = oc.n
    if n == 0:
        raise InputError("no rows: kaplan_meier needs at least one observation")
    w = _check_weights(weights, n)
    if variance is None:
        robust_default = influence or (w is not None and np.any(w != np.floor(w)))
        variance = "robust" if robust_default else "greenwood"
    elif variance not in ("greenwood", "robust"):
        raise InputError(f"variance must be None, 'greenwood' or 'robust'; got {variance!r}")
    if variance == "robust" and (stype == 2 or ctype == 2):
        raise InputError("the robust (infinitesimal jackknife) variance is implemented for the "
                         "Kaplan–Meier curve with Nelson–Aalen hazard only (stype 1, ctype 1); "
                         "use integer case weights or variance='greenwood'")
    # the common case (right-censored, Greenwood, no start_time) works on one table of
    # counts; near-ties are then merged on its distinct times (core.count_table), the
    # same result as merging every row's time first (aeq_outcome) at a fraction of the cost
    counted = oc.start is None and start_time is None and variance == "greenwood" \
        and not influence
    if timefix and not counted:
        oc = aeq_outcome(oc)
    if counted:
        groups, codes, sparse = _group_codes_counted(group, n, order)
    else:
        (groups, codes), sparse = _group_codes(group, n, order), False
    k_groups = len(groups)
    rows_all = None
    if start_time is not None:
        counts_all = np.bincount(codes, minlength=k_groups)
        rows_all = np.arange(n)
        s0 = float(_check_times(start_time, "start_time")[0]) if np.ndim(start_time) == 0 else None
        if s0 is None:
            raise InputError("start_time must be a single number")
        keep = oc.time >= s0                     # R survfitKM: y[, ny - 1] >= start.time
        before = np.bincount(codes[~keep], minlength=k_groups)
        if not keep.any():
            raise InputError(f"start_time = {s0:g}: no row is followed that long (the last "
                             f"time is {oc.time.max():g})")
        oc = type(oc)(time=oc.time[keep], event=oc.event[keep],
                      start=None if oc.start is None else oc.start[keep], type=oc.type)
        codes, rows_all = codes[keep], rows_all[keep]
        w = None if w is None else w[keep]
        start = s0
    else:
        # R: survmean / survfit0 use min(0, stop times) as the start of follow-up
        # (merging near-ties keeps the smallest time of each run: the minimum is unchanged)
        start = min(0.0, float(oc.time.min()))
    parts, nrec, haz, infl = [], [], [], []
    if oc.start is None:
        pre, counts = core.km_curves_by_group(oc.time, oc.event, codes, k_groups, w,
                                              timefix=timefix and counted)
    else:
        pre, counts = None, np.bincount(codes, minlength=k_groups)
    if sparse:                  # labels without rows are not groups (see _group_codes)
        present = counts > 0
        groups = tuple(g for g, p in zip(groups, present) if p)
        pre = [c for c, p in zip(pre, present) if p]
        counts = counts[present]
        k_groups = len(groups)
    if start_time is None:
        counts_all = counts
        before = np.zeros(k_groups, np.int64)
    if influence and rows_all is None:
        rows_all = np.arange(n)
    for k, g in enumerate(groups):
        nrec.append(int(counts[k]) if start_time is not None else int(counts_all[k]))
        if counts[k] == 0:
            continue
        m = None if pre is not None and variance == "greenwood" and not influence \
            else codes == k
        em = None if oc.start is None else oc.start[m]
        wm = None if w is None or m is None else w[m]
        r = pre[k] if pre is not None else core.km_curve(oc.time[m], oc.event[m], em, wm)
        H, varH = core.chaz_from_counts(r["n_risk"], r["n_event"], r.get("n_event_rows"), ctype)
        surv = r["surv"] if stype == 1 else np.exp(-H)
        if variance == "greenwood":
            logse = np.sqrt(r["cumvar"] if stype == 1 else varH)
            with np.errstate(invalid="ignore"):
                se_s = surv * logse
            haz.append((H, np.sqrt(varH)))
        else:
            # R survfit_confint(logse = FALSE): se / p, 0 where se == 0
            se_s = core.km_robust_se(oc.time[m], oc.event[m], em, wm, r)
            with np.errstate(divide="ignore", invalid="ignore"):
                logse = np.where(se_s == 0, 0.0, se_s / r["surv"])
            haz.append(None)
        if influence:
            val = core.km_influence(oc.time[m], oc.event[m], em, r)
            if wm is not None:      # R reports w_i times the per-unit-weight influence
                val = val * wm[:, None]
            nr_, nt_ = val.shape
            infl.append(pd.DataFrame({"group": pd.Series([g] * (nr_ * nt_), dtype=object),
                                      "row": np.repeat(rows_all[m], nt_),
                                      "time": np.tile(r["time"], nr_),
                                      "influence": val.ravel()}))
        lower, upper = core.confint(surv, logse, conf_type, cl)
        parts.append((np.full(r["time"].size, k), r["time"], surv, se_s, lower, upper,
                      r["n_risk"], r["n_event"], r["n_censor"]))
    # one DataFrame at the end (per-group frames dominated small cohorts)
    cols = [np.concatenate(c) for c in zip(*parts)]
    glab = np.empty(len(groups), dtype=object)
    glab[:] = list(groups)
    table = curve_frame(glab[cols[0]], None, *cols[1:])
    hazard = None
    if all(h is not None for h in haz):
        hazard = pd.DataFrame({"cumhaz": np.concatenate([h[0] for h in haz]),
                               "std_chaz": np.concatenate([h[1] for h in haz])})
    infl_tab = None
    if influence:
        infl_tab = pd.concat(infl, ignore_index=True) if infl else pd.DataFrame(
            columns=["group", "row", "time", "influence"])
    res = KMResult(table=table, groups=groups, conf_type=conf_type, conf_level=cl,
                   weighted=w is not None, left_truncated=oc.start is not None,
                   n_records=tuple(nrec), start_time=start, variance=variance,
                   ctype=int(ctype), stype=int(stype), hazard=hazard, influence=infl_tab,
                   conditional=start_time is not None,
                   n_before_start=tuple(int(x) for x in before))
    # the per-group columns KMResult._curve would slice from the table (same values):
    # median() / at() on a fresh fit then skip reading the DataFrame back
    names = ("time", "estimate", "std_err", "lower", "upper", "n_risk", "n_event", "n_censor")
    res.__dict__["_curve_cache"] = {
        groups[p[0][0]]: {k: np.asarray(v, float) for k, v in zip(names, p[1:])}
        for p in parts if p[0].size}
    return res


def number_at_risk(time, event, times, group=None, entry=None, order=None) -> pd.DataFrame:
    """Numbers at risk, events and censorings per interval (pure function).

    At risk is counted at the START of each requested time (R
    ``summary(survfit, times = )`` / SAS); events and censorings are counted in
    the interval ``(previous time, time]`` (the first interval starts at
    -infinity) and cumulated.

    Returns
    -------
    DataFrame ``[group, time, n_risk, n_event_interval, n_censor_interval,
    cum_events, cum_censored]``.

    Notes
    -----
    Validated against: R ``summary(survfit(...), times = , extend = TRUE)``
    n.risk / n.event / n.censor on aml, lung, veteran, heart (rtol 1e-12).

    Examples
    --------
    >>> from aplcohort.stats.km import number_at_risk
    >>> number_at_risk([1, 2, 2, 3, 4], [1, 1, 0, 1, 0], [0, 2, 5])["n_risk"].tolist()
    [5.0, 4.0, 0.0]
    """
    fit = kaplan_meier(time, event, group, entry=entry, order=order)
    rt = fit.risk_table(times)
    out = []
    for g in fit.groups:
        r = rt[rt["group"] == g].copy()
        r["n_event_interval"] = np.diff(np.concatenate([[0.0], r["cum_events"].to_numpy()]))
        r["n_censor_interval"] = np.diff(np.concatenate([[0.0], r["cum_censored"].to_numpy()]))
        out.append(r)
    return pd.concat(out, ignore_index=True)[
        ["group", "time", "n_risk", "n_event_interval", "n_censor_interval", "cum_events",
         "cum_censored"]]


# ------------------------------------------------------------------ RMST difference
@dataclass(frozen=True, eq=False)
class RMSTDifferenceResult(Result):
    """Difference in restricted mean survival time between two groups (frozen).

    ``table``: ``[contrast, estimate, se, lower, upper, p, note]``; ``arms``:
    ``[group, tau, rmst, se, lower, upper, note]``. An arm whose variance is 0 (no
    events before tau) makes the difference not estimable (NaN, reason in ``note``).
    """

    kind = "rmst_difference"

    table: pd.DataFrame
    arms: pd.DataFrame
    tau: float
    conf_level: float

    @property
    def title(self) -> str:
        return "Restricted mean survival time difference"

    @property
    def choices(self) -> dict:
        return {"tau": self.tau, "conf_level": self.conf_level,
                "variance": "survmean (R print.survfit rmean), arms independent",
                "test": "Wald z, two-sided"}

    @property
    def tables(self) -> dict:
        return {"difference": self.table, "arms": self.arms}


def rmst_difference(time, event, group, tau, conf_level=0.95, *, order=None
                    ) -> RMSTDifferenceResult:
    """Difference of restricted mean survival times (second group minus first).

    Each arm's RMST and SE are R ``print(survfit, rmean = tau)``; the difference
    has SE ``sqrt(se1^2 + se2^2)`` (independent arms, as survRM2), a normal CI
    and a two-sided Wald p-value.

    Notes
    -----
    Validated against: R ``survival:::survmean(fit, rmean = tau)`` on aml, lung and
    the hand-worked cohort, with the difference computed in R (rtol 1e-9).

    Examples
    --------
    >>> from aplcohort.stats.km import rmst_difference
    >>> r = rmst_difference([1, 2, 3, 4, 5, 6], [1, 1, 1, 1, 0, 1], list("AAABBB"), tau=4)
    >>> r.table["contrast"].iloc[0]
    'B - A'
    """
    time, event, group = align_rows("rmst_difference", time=time, event=event, group=group)
    groups, _ = _group_codes(group, len(np.asarray(time)), order)
    if len(groups) != 2:
        raise InputError(f"rmst_difference needs exactly two groups; got {len(groups)}: "
                         f"{list(groups)}")
    cl = _check_conf("log", conf_level)
    fit = kaplan_meier(time, event, group, conf_level=cl, order=order)
    arms = fit.rmst(tau)
    lab = f"{groups[1]} - {groups[0]}"
    bad = "; ".join(f"{g!r}: {nt}" for g, nt in zip(arms["group"], arms["note"]) if nt)
    if bad:   # the SE (and p) would rest on a variance of 0
        row = (lab, np.nan, np.nan, np.nan, np.nan, np.nan, f"not estimable: {bad}")
    else:
        est = float(arms["rmst"].iloc[1] - arms["rmst"].iloc[0])
        se = float(np.hypot(arms["se"].iloc[0], arms["se"].iloc[1]))
        z = core.z_value(cl)
        row = (lab, est, se, est - z * se, est + z * se, float(2 * st.norm.sf(abs(est / se))),
               "")
    table = pd.DataFrame([row], columns=["contrast", "estimate", "se", "lower", "upper", "p",
                                         "note"])
    return RMSTDifferenceResult(table=table, arms=arms, tau=float(tau), conf_level=cl)


# ------------------------------------------------------------------ follow-up
def median_followup(time, event, group=None, *, conf_type="log", conf_level=0.95,
                    order=None) -> pd.DataFrame:
    """Median follow-up by the reverse Kaplan–Meier method.

    The censoring indicator is reversed (censored = "event", events censored) and
    the median of that curve is reported with its CI.

    Returns
    -------
    DataFrame ``[group, n, median, lower, upper, note]``: NaN = not reached or not
    estimable, and ``note`` says which and why (no patient censored, so the curve never
    drops; not reached; per confidence limit: "lower confidence limit not reached", or
    "... not estimable: the confidence interval of the reverse Kaplan-Meier curve is
    undefined from time t (...)" where the band is undefined, e.g. at an estimate of 0, as
    for a one-patient group: R's ``quantile`` gives NA for both, a limit that cannot be
    estimated is not one that is "not reached"). Tables print NR / NE accordingly.

    Notes
    -----
    Validated against: R ``quantile(survfit(Surv(time, 1 - status) ~ g), 0.5)`` on
    aml, lung, veteran (rtol 1e-9).

    Examples
    --------
    >>> from aplcohort.stats.km import median_followup
    >>> float(median_followup([1, 2, 3, 4, 5], [1, 0, 0, 1, 0])["median"].iloc[0])
    4.0
    """
    fit = reverse_kaplan_meier(time, event, group, conf_type=conf_type, conf_level=conf_level,
                               order=order)
    med = fit.median()
    # the reverse curve's "events" are the censored patients
    notes = []
    for r in med.itertuples(index=False):
        if not np.isfinite(r.median):
            notes.append("not estimable: no patient censored (every patient had the event), "
                         "so the reverse Kaplan-Meier curve does not drop" if r.events == 0
                         else "not reached: fewer than half of the patients censored by the "
                              "end of follow-up")
        else:   # the reverse curve's own notes: a limit whose band is undefined at the
            # end of the curve is not estimable, with why (KMResult.median)
            notes.append(r.note)
    return med[["group", "n", "median", "lower", "upper"]].assign(note=notes)


def reverse_kaplan_meier(time, event, group=None, *, conf_type="log", conf_level=0.95,
                         order=None) -> KMResult:
    """Reverse Kaplan–Meier: the distribution of follow-up (censorings are the events).

    R ``survfit(Surv(time, status == 0) ~ group)``; a competing-risk code is reversed as
    "censored (0) vs any event". The curve, its CI and :meth:`KMResult.median` (the
    median follow-up, as :func:`median_followup`) are R's.

    Notes
    -----
    Validated against: R ``survfit(Surv(time, 1 - status) ~ g, conf.type = )`` and its
    ``quantile(, 0.5)`` on lung by sex, aml (log-log) and veteran (rtol 1e-6).

    Examples
    --------
    >>> from aplcohort.stats.km import reverse_kaplan_meier
    >>> reverse_kaplan_meier([1, 2, 3, 4, 5], [1, 0, 0, 1, 0]).table["n_event"].tolist()
    [0.0, 1.0, 1.0, 0.0, 1.0]
    """
    time, event, group = align_rows("reverse_kaplan_meier", time=time, event=event,
                                    group=group)
    oc = Outcome.competing(time, event)          # checked codes: 0 = censored, >= 1 = event
    fit = kaplan_meier(oc.time, (oc.event == 0).astype(np.int64), group, conf_type=conf_type, conf_level=conf_level,
                       order=order)
    return dataclasses.replace(fit, reverse=True)
