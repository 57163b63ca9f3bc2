"""Landmark analysis: compare groups among patients still event-free at a landmark time.

At landmark time ``L`` (e.g. 60 days after CR2):

* only patients with follow-up beyond ``L`` (``time > L``: alive, event-free and
  still followed at ``L``) are analysed; patients with an event at or before
  ``L`` and patients censored at or before ``L`` are excluded, counted and
  (optionally) recorded in an :class:`~aplcohort.cohort.attrition.AttritionLog`;
* exposure is as known at ``L``: exposed if the treatment started at or before
  ``L`` (``exposure_time <= L``; same-day rule: a treatment started on the
  landmark day counts as exposed); a treatment started after ``L`` does not
  change the group (intention-to-treat at the landmark);
* time restarts at ``L`` (``landmark_time = time - L``);
* Kaplan–Meier, log-rank and Cox are fitted on the landmark set.

Several landmark times can be given at once; each gives its own analysis set.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .._results import Result
from ..errors import InputError, StatisticalWarning
from .shapes import without_firth_hint


def _helpers():
    # imported lazily: aplcohort.stats.timedep re-exports this module's functions
    from .timedep import _ids_text, _numeric, _require_columns
    return _ids_text, _numeric, _require_columns

__all__ = ["landmark", "LandmarkResult", "landmark_set"]

_SUMMARY_COLUMNS = ["landmark", "n", "events", "term", "estimate", "lower", "upper", "p_cox",
                    "logrank_statistic", "logrank_df", "logrank_p", "estimable", "note"]
_TERM_COLUMNS = ["landmark", "term", "level", "coef", "se", "estimate", "lower", "upper", "p",
                 "estimable", "note"]
_ATTRITION_COLUMNS = ["landmark", "n_start", "n_event_before", "n_censored_before",
                      "n_included", "events_after"]
_GROUP_COLUMNS = ["landmark", "group", "n", "events"]


def _landmarks(landmark) -> tuple:
    vals = np.atleast_1d(np.asarray(landmark, dtype=float))
    if vals.ndim != 1 or vals.size == 0 or not np.all(np.isfinite(vals)) or np.any(vals < 0):
        raise InputError(f"landmark must be a non-negative number or a sequence of them, got "
                         f"{landmark!r}")
    if len(np.unique(vals)) != vals.size:
        raise InputError(f"landmark times must be distinct, got {vals.tolist()}")
    return tuple(float(v) for v in vals)


def landmark_set(data: pd.DataFrame, *, landmark: float, time: str, event: str,
                 id: str | None = None, exposure_time: str | None = None,
                 group: str | None = None, exposure: str = "exposed", exposure_labels=None):
    """Build the analysis set of one landmark time (no model fitted).

    Returns
    -------
    (DataFrame, dict)
        The landmark set: the included rows of ``data`` with two added columns,
        ``"landmark_time"`` (time since the landmark) and, with ``exposure_time``,
        the 0/1 column ``exposure`` (exposed by the landmark; with ``exposure_labels =
        (not exposed, exposed)`` these two labels instead of 0/1); and the exclusions
        ``{"event at or before landmark": ids, "censored at or before landmark":
        ids}`` (ids are the ``id`` column, or the row labels without ``id``).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> df = pd.DataFrame({"pid": [1, 2, 3, 4], "t": [10., 40., 90., 30.], "d": [1, 0, 1, 1],
    ...                    "tx": [np.nan, 20., 45., np.nan]})
    >>> s, excl = landmark_set(df, landmark=30, time="t", event="d", id="pid",
    ...                        exposure_time="tx")
    >>> s[["pid", "landmark_time", "exposed"]]
       pid  landmark_time  exposed
    1    2           10.0        1
    2    3           60.0        0
    >>> excl
    {'event at or before landmark': [1, 4], 'censored at or before landmark': []}

    Validated against: the landmark subsets built in tests/reference/timedep.R (same
    patient ids and counts).
    """
    _ids_text, _numeric, _require_columns = _helpers()
    L = _landmarks(landmark)
    if len(L) != 1:
        raise InputError("landmark_set takes one landmark time")
    L = L[0]
    if (exposure_time is None) == (group is None):
        raise InputError("give exactly one of exposure_time= (treatment start column; exposed "
                         "if started at or before the landmark) or group= (a grouping known at "
                         "the landmark)")
    _require_columns(data, [time, event, id, exposure_time, group])
    T = _numeric(data, time)
    E = _numeric(data, event)
    ids = data[id].to_numpy() if id is not None else data.index.to_numpy()
    bad = ~np.isfinite(T) | (T < 0)
    if bad.any():
        raise InputError(f"{time!r} must be finite and >= 0; bad for ids {_ids_text(ids[bad])}")
    bad = ~np.isin(E, (0.0, 1.0))
    if bad.any():
        raise InputError(f"{event!r} must be coded 0 = censored, 1 = event; bad for ids "
                         f"{_ids_text(ids[bad])}. For a competing-risk code use data[{event!r}]"
                         " == cause")
    ended = T <= L
    excl = {"event at or before landmark": ids[ended & (E == 1)].tolist(),
            "censored at or before landmark": ids[ended & (E == 0)].tolist()}
    keep = ~ended
    out = data.take(np.flatnonzero(keep))   # a copy with the row labels (= .loc[keep].copy())
    if "landmark_time" in out.columns:
        raise InputError("data already has a column 'landmark_time'; rename it")
    out["landmark_time"] = T[keep] - L
    if exposure_time is not None:
        X = _numeric(data, exposure_time)
        neg = np.isfinite(X) & (X < 0)
        if neg.any():
            raise InputError(f"{exposure_time!r} is negative (treatment before time zero) for ids "
                             f"{_ids_text(ids[neg])}")
        if exposure in out.columns:
            raise InputError(f"data already has a column {exposure!r}; pass another exposure=")
        known = (np.isfinite(X) & (X <= L))[keep]
        if exposure_labels is None:
            out[exposure] = known.astype(np.int64)
        else:
            out[exposure] = np.where(known, exposure_labels[1], exposure_labels[0]).astype(object)
    elif out[group].isna().any():
        miss = out[group].isna().to_numpy()
        who = (out[id] if id else out.index).to_numpy()[miss]
        raise InputError(f"group column {group!r} has missing values among the patients in the "
                         f"landmark set ({'ids' if id else 'rows with index'} "
                         f"{_ids_text(who)})")
    return out, excl


@dataclass(frozen=True, eq=False)
class LandmarkResult(Result):
    """Landmark analyses at one or more landmark times.

    Attributes
    ----------
    landmarks : tuple of float
    summary : DataFrame
        ``[landmark, n, events, term, estimate, lower, upper, p_cox,
        logrank_statistic, logrank_df, logrank_p, estimable, note]``: one row per
        landmark and exposure / group term (adjusted for ``covariates``); a hazard
        ratio that cannot be estimated (no patient still followed at the landmark,
        one group at the landmark, an infinite coefficient) has ``estimable`` False
        and the reason in ``note``: every landmark has at least one row.
    terms : DataFrame
        ``[landmark, term, level, coef, se, estimate, lower, upper, p, estimable,
        note]``: every term of each landmark's Cox model (exposure / group and the
        covariates).
    attrition : DataFrame
        ``[landmark, n_start, n_event_before, n_censored_before, n_included,
        events_after]``.
    group_counts : DataFrame
        ``[landmark, group, n, events]``: the groups as known at each landmark.
    km, logrank, cox : dict
        ``{landmark: KMResult / LogRankResult / CoxResult}`` (None where a fit
        was impossible, e.g. a single group at the landmark).
    excluded : dict
        ``{landmark: {reason: [ids]}}``.
    """

    landmarks: tuple
    summary: pd.DataFrame
    terms: pd.DataFrame
    attrition: pd.DataFrame
    group_counts: pd.DataFrame
    km: dict
    logrank: dict
    cox: dict
    excluded: dict
    group_column: str
    _sets: dict = field(default_factory=dict, repr=False)
    _choices: dict = field(default_factory=dict, repr=False)
    kind = "landmark"

    def set(self, landmark: float) -> pd.DataFrame:
        """The analysis set of one landmark time (a copy)."""
        return self._sets[float(landmark)].copy()

    @property
    def title(self) -> str:
        return "Landmark analysis at " + ", ".join(f"{v:g}" for v in self.landmarks)

    @property
    def choices(self) -> dict:
        return dict(self._choices)

    @property
    def tables(self) -> dict:
        return {"summary": self.summary, "terms": self.terms, "attrition": self.attrition,
                "groups at landmark": self.group_counts}


def landmark(data: pd.DataFrame, *, landmark, time: str, event: str, id: str | None = None,
             exposure_time: str | None = None, group: str | None = None, covariates=(),
             exposure: str = "exposed", categorical=None, ties: str = "efron",
             conf_type: str = "log", conf_level: float = 0.95, attrition=None,
             order=None, exposure_labels=None) -> LandmarkResult:
    """Landmark analysis at one or more landmark times.

    Parameters
    ----------
    data : DataFrame
        One row per patient.
    landmark : float or sequence of float
        Landmark time(s), in the unit of ``time``.
    time, event : str
        Follow-up from time zero and 0/1 event.
    id : str, optional
        Patient id (used to name excluded patients; row labels otherwise).
    exposure_time : str, optional
        Treatment start (NaN = never): exposed if ``exposure_time <= landmark``.
    group : str, optional
        Instead of ``exposure_time``: a grouping column already known at the
        landmark (exactly one of the two).
    covariates : sequence of str
        Adjustment covariates for the Cox model (baseline values).
    exposure : str
        Name of the exposure column created from ``exposure_time``.
    categorical : dict, optional
        Reference levels for the Cox model (see :func:`aplcohort.stats.cox.coxph`);
        a ``group`` column is categorical with its first sorted level as reference
        unless given here.
    ties, conf_type, conf_level
        As :func:`~aplcohort.stats.cox.coxph` and
        :func:`~aplcohort.stats.km.kaplan_meier`.
    attrition : AttritionLog, optional
        If given, one step per landmark is recorded in it (the patients excluded,
        with the two reasons).
    order : sequence, optional
        Group order for the KM curves.
    exposure_labels : (str, str), optional
        With ``exposure_time``: the values of the exposure column for "not exposed
        by the landmark" and "exposed by the landmark" (default 0 and 1); the first
        is the Cox reference and the first KM group.

    Returns
    -------
    LandmarkResult

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(1)
    >>> n = 60
    >>> df = pd.DataFrame({"pid": range(n), "t": rng.exponential(100, n).round() + 1,
    ...                    "d": rng.integers(0, 2, n), "tx": rng.uniform(0, 200, n)})
    >>> res = landmark(df, landmark=[30, 60], time="t", event="d", id="pid",
    ...                exposure_time="tx")
    >>> res.attrition.columns.tolist()[:4]
    ['landmark', 'n_start', 'n_event_before', 'n_censored_before']

    Validated against: R ``survfit``, ``survdiff`` and ``coxph`` on the landmark subsets
    of the Stanford heart transplant data at 30 and 60 days built in
    tests/reference/timedep.R (same patients; rel. diff. < 1e-9).
    """
    from ._design import as_categorical, as_columns, check_complete
    from .cox import coxph
    from .km import kaplan_meier
    from .logrank import logrank_test

    _ids_text, _numeric, _require_columns = _helpers()
    Ls = _landmarks(landmark)
    if (exposure_time is None) == (group is None):
        raise InputError("landmark: give exactly one of exposure_time= or group=")
    covariates = as_columns(covariates, "covariates")
    _require_columns(data, covariates)
    gcol = exposure if exposure_time is not None else group
    if exposure_labels is not None:
        exposure_labels = tuple(str(v) for v in exposure_labels)
        if exposure_time is None or len(exposure_labels) != 2 or \
                exposure_labels[0] == exposure_labels[1]:
            raise InputError("exposure_labels= takes two different labels (not exposed, "
                             "exposed) and needs exposure_time=")
        if order is None:
            order = list(exposure_labels)
    if order is not None and (exposure_time is not None or group in data.columns):
        # a label the column cannot take is a typo (it would be dropped without a word);
        # a label absent at one landmark only is not (the curves there omit it)
        from .km import check_order_known
        check_order_known(order, (list(exposure_labels or (0, 1)) if exposure_time is not None
                                  else pd.unique(data[group].dropna()).tolist()))
    n_start = len(data)
    sets, km, lr, cx, excluded = {}, {}, {}, {}, {}
    summ, attr, gcounts, tterms = [], [], [], []
    for L in Ls:
        s, excl = landmark_set(data, landmark=L, time=time, event=event, id=id,
                               exposure_time=exposure_time, group=group, exposure=exposure,
                               exposure_labels=exposure_labels)
        sets[L] = s
        excluded[L] = excl
        ev = s[event].to_numpy(float)
        attr.append({"landmark": L, "n_start": n_start,
                     "n_event_before": len(excl["event at or before landmark"]),
                     "n_censored_before": len(excl["censored at or before landmark"]),
                     "n_included": len(s), "events_after": int(ev.sum())})
        if attrition is not None:
            attrition.record(step=f"landmark at {L:g}", n_before=n_start,
                             excluded_ids=excl["event at or before landmark"]
                             + excl["censored at or before landmark"],
                             reason=f"event or end of follow-up at or before the landmark "
                                    f"({L:g})", reasons=excl)
        if len(s) == 0:
            why = (f"no patient is still followed at the landmark (all {n_start} had an event "
                   f"or ended follow-up at or before {L:g})")
            warnings.warn(f"landmark {L:g}: {why}", StatisticalWarning, stacklevel=2)
            km[L] = lr[L] = cx[L] = None
            summ.append({"landmark": L, "n": 0, "events": 0, "term": None,
                         "estimate": np.nan, "lower": np.nan, "upper": np.nan, "p_cox": np.nan,
                         "logrank_statistic": np.nan, "logrank_df": np.nan, "logrank_p": np.nan,
                         "estimable": False, "note": why})
            continue
        gv = s[gcol].to_numpy()
        counts = []
        for g in (order if order is not None else sorted(pd.unique(gv), key=lambda v: (str(type(v)), v))):
            m = gv == g
            gcounts.append({"landmark": L, "group": g, "n": int(m.sum()),
                            "events": int(ev[m].sum())})
            counts.append(f"{g}: {int(m.sum())} patient(s), {int(ev[m].sum())} event(s)")
        here = set(gv.tolist())
        km[L] = kaplan_meier(s["landmark_time"].to_numpy(float), ev, gv, conf_type=conf_type,
                             conf_level=conf_level,
                             order=None if order is None else [g for g in order if g in here])
        if len(pd.unique(gv)) < 2:
            why = (f"only one group ({', '.join(str(v) for v in pd.unique(gv))}) among the "
                   f"{len(s)} patients at the landmark; no comparison possible")
            warnings.warn(f"landmark {L:g}: {why}", StatisticalWarning, stacklevel=2)
            lr[L] = cx[L] = None
            summ.append({"landmark": L, "n": len(s), "events": int(ev.sum()), "term": None,
                         "estimate": np.nan, "lower": np.nan, "upper": np.nan, "p_cox": np.nan,
                         "logrank_statistic": np.nan, "logrank_df": np.nan, "logrank_p": np.nan,
                         "estimable": False, "note": why})
            continue
        lr[L] = logrank_test(s["landmark_time"].to_numpy(float), ev, gv)
        try:   # missing covariates of the patients in the model, named by id
            check_complete(s, covariates, id=None if id is None else s[id].to_numpy())
        except InputError as e:
            raise InputError(f"landmark {L:g}, among the patients followed at the landmark: "
                             f"{e}") from None
        cat = as_categorical(categorical)
        if exposure_labels is not None:
            cat.setdefault(gcol, exposure_labels[0])
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            cx[L] = coxph(s, time="landmark_time", event=event, covariates=[gcol] + covariates,
                          categorical=cat or None, ties=ties, conf_level=conf_level)
        for w in caught:   # say which landmark's model the warning is about
            warnings.warn(f"landmark {L:g}: {w.message}", w.category, stacklevel=2)
        terms = cx[L].terms
        gterms = cx[L]._design.assign.get(gcol, ()) if cx[L]._design is not None else (0,)
        ok = terms["estimable"].to_numpy(bool)
        notes = [without_firth_hint(str(v)) if isinstance(v, str) else ""
                 for v in terms["note"]]
        for j in range(len(terms)):
            tterms.append({"landmark": L, **{c: terms[c].iloc[j] for c in _TERM_COLUMNS[1:-1]},
                           "note": notes[j]})
        tcol = {c: terms[c].to_numpy() for c in ("term", "estimate", "lower", "upper", "p")}
        for j in gterms:
            r = {c: v[j] for c, v in tcol.items()}   # row j (a row Series costs more)
            note = notes[j]
            if not ok[j]:
                note = (f"{note or 'not estimable'} (groups at the landmark: "
                        f"{'; '.join(counts)})")
            summ.append({"landmark": L, "n": len(s), "events": int(ev.sum()), "term": r["term"],
                         "estimate": r["estimate"], "lower": r["lower"], "upper": r["upper"],
                         "p_cox": r["p"], "logrank_statistic": lr[L].statistic,
                         "logrank_df": lr[L].df, "logrank_p": lr[L].p,
                         "estimable": bool(ok[j]), "note": note})
    choices = {"landmarks": list(Ls), "groups": (f"{exposure} = treatment started at or before "
                                                 f"the landmark ({exposure_time!r})"
                                                 if exposure_time is not None else group),
               "included": "time > landmark (event-free and followed at the landmark)",
               "time": "restarted at the landmark", "ties": ties, "conf_type": conf_type,
               "conf_level": conf_level, "covariates": covariates or None}
    return LandmarkResult(landmarks=Ls,
                          summary=pd.DataFrame(summ, columns=_SUMMARY_COLUMNS),
                          terms=pd.DataFrame(tterms, columns=_TERM_COLUMNS),
                          attrition=pd.DataFrame(attr, columns=_ATTRITION_COLUMNS),
                          group_counts=pd.DataFrame(gcounts, columns=_GROUP_COLUMNS),
                          km=km, logrank=lr, cox=cx, excluded=excluded, group_column=gcol,
                          _sets=sets, _choices=choices)
