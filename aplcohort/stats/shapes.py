"""The two result shapes shared by every estimator, plot, table and ``results.json``.

Curves (Kaplan–Meier, cumulative incidence, Simon–Makuch, landmark KM)
    ``.table`` has exactly :data:`CURVE_COLUMNS`::

        group, cause, time, estimate, std_err, lower, upper, n_risk, n_event, n_censor

    ``cause`` is a nullable ``Int64`` column: ``<NA>`` for survival curves, the
    cause code for cumulative incidence; ``estimate`` is S(t) for survival curves
    and F_k(t) for cumulative incidence; ``std_err`` is the standard error of the
    estimate (not of its log).  ``.at(times, extend=False)`` returns
    :data:`AT_COLUMNS` (rows past a group's follow-up are kept with NaN and a
    reason in ``note``), ``.median()`` returns :data:`MEDIAN_COLUMNS` (NaN =
    "not reached", said in ``note``), ``.risk_table(times)`` the numbers at risk.
    Metadata: ``conf_type``, ``conf_level``, ``curve`` ("survival" or
    "cumulative incidence"), ``groups``.

Regression terms (Cox, cause-specific Cox, time-dependent Cox, Fine–Gray, Firth)
    ``.terms`` has exactly :data:`TERM_COLUMNS`::

        term, level, coef, se, robust_se, estimate, lower, upper, statistic, p,
        estimable, note

    ``estimate/lower/upper`` are on the ratio scale (HR, or SHR for Fine–Gray);
    ``robust_se`` is NaN unless a robust / cluster variance is used, and then the
    CI and p use it; a term that cannot be estimated has every number NaN,
    ``estimable = False`` and the reason in ``note``.  Metadata: ``scale``
    ("HR" / "SHR"), ``conf_level``, ``variance`` ("model" / "robust").

Plots (:mod:`aplcohort.plots`), tables (:mod:`aplcohort.tables`) and the plan
layer read only these columns, so a new estimator that returns these shapes
reaches figures, tables and the report without an adapter.
"""

from __future__ import annotations

import functools
import math
import warnings

import numpy as np
import pandas as pd

__all__ = ["CURVE_COLUMNS", "AT_COLUMNS", "MEDIAN_COLUMNS", "TERM_COLUMNS",
           "NOTE_NOT_REACHED", "NOTE_PAST_FOLLOWUP", "NOTE_INFINITE", "NOTE_CONSTANT",
           "NOTE_SE_ZERO", "NOTE_SE_ZERO_EVENTS", "NOTE_SE_UNDEFINED", "NOTE_UPPER_NOT_REACHED",
           "CurveShape", "TermsShape", "curve_frame", "at_frame", "median_frame",
           "terms_frame", "z_value", "frame", "BOUND_TOL", "at_bound", "curve_complete",
           "SETTING_HINTS", "KIND_HINTS", "NOT_ESTIMABLE_SEP", "note_cause", "IMMORTAL_TIME_ADVICE", "IMMORTAL_TIME_ADVICE_COMPETING",
           "immortal_time_guard_advice", "plan_advice"]

CURVE_COLUMNS = ["group", "cause", "time", "estimate", "std_err", "lower", "upper", "n_risk",
                 "n_event", "n_censor"]
AT_COLUMNS = ["group", "cause", "time", "estimate", "std_err", "lower", "upper", "n_risk", "note"]
MEDIAN_COLUMNS = ["group", "cause", "n", "events", "median", "lower", "upper", "note"]
TERM_COLUMNS = ["term", "level", "coef", "se", "robust_se", "estimate", "lower", "upper",
                "statistic", "p", "estimable", "note"]

NOTE_NOT_REACHED = "not reached"
NOTE_PAST_FOLLOWUP = "after the last follow-up time of the group"
NOTE_INFINITE = ("coefficient may be infinite (monotone likelihood); consider firth: true")
#: the advice part of NOTE_INFINITE: only the plan kind ``cox`` has a ``firth`` setting
FIRTH_HINT = "; consider firth: true"


def without_firth_hint(note):
    """``note`` without :data:`FIRTH_HINT` (for models that cannot be fitted with
    Firth's correction); anything that is not text is returned as it is.

    >>> without_firth_hint(NOTE_INFINITE)
    'coefficient may be infinite (monotone likelihood)'
    """
    return note.replace(FIRTH_HINT, "") if isinstance(note, str) else note


#: the advice of the Cox model's SeparationWarning (:func:`aplcohort.stats.cox.coxph`)
SEPARATION_ADVICE = ("use Firth's penalised Cox model (aplcohort.stats.firth.firth_coxph) "
                     "for a finite estimate and profile-likelihood CI.")
#: the advice of the Cox model's ConvergenceWarning
CONVERGENCE_ADVICE = "Check for a covariate that perfectly predicts events or raise max_iter."
#: the second explanation of a coefficient still moving when the Cox iterations ran out
MAX_ITER_HINT = ", or the fit needs a larger max_iter"
#: what joins a row's description and the cause in the note of a row that is not estimable
#: (an immortal-time comparison row, :func:`aplcohort.stats.timedep.compare_naive_vs_timedependent`)
NOT_ESTIMABLE_SEP = "; not estimable: "


def note_cause(note):
    """The cause in a row's note that describes the row, then :data:`NOT_ESTIMABLE_SEP` and
    why: the reason of its nulls (results.json, the CSV, the journal table's NE footnote),
    the description being in the row already. Any other note is returned as it is.

    >>> note_cause("groups from time zero (immortal-time bias); not estimable: no events")
    'no events'
    >>> note_cause("no events")
    'no events'
    """
    if not isinstance(note, str):
        return note
    _, sep, cause = note.partition(NOT_ESTIMABLE_SEP)
    return cause.strip() if sep and cause.strip() else note


#: the advice of the Fine-Gray fit's ConvergenceWarning (:func:`aplcohort.stats.finegray.crr_fit`)
FG_CONVERGENCE_ADVICE = "; estimates may be unreliable (raise max_iter)"
#: the advice of a Fine-Gray term still moving beside a diverging one (its note)
FG_MOVING_HINT = "no maximum was found for it; raise max_iter"
#: the advice of the separation entry of a Cox model's ``choices``
SEPARATION_CHOICE_HINT = "; use firth_coxph (firth: true)"

#: Advice in the estimators' notes and warnings that names a setting, by the plan setting it
#: is about: ``(text as the estimators write it for the Python API, text in a plan analysis
#: whose kind has that setting, text in one whose kind has not)``; ``{id}`` is the analysis
#: id. :func:`plan_advice` applies it (``propensity.max_iter`` is no plan key: the
#: propensity model of a plan always runs its 100 iterations).
SETTING_HINTS = {
    "firth": (
        (FIRTH_HINT, FIRTH_HINT, ""),
        (SEPARATION_ADVICE,
         "add firth: true to analysis '{id}' (Firth's penalised Cox model) for a finite "
         "estimate and profile-likelihood CI.",
         "Firth's correction is not available for this model, so the term is reported as "
         "not estimable."),
        (SEPARATION_CHOICE_HINT, "; firth: true gives a finite estimate", ""),
    ),
    "max_iter": (
        (MAX_ITER_HINT, MAX_ITER_HINT, ", or the fit converges only slowly"),
        (CONVERGENCE_ADVICE, "Check for a covariate that perfectly predicts events or raise "
                             "max_iter in analysis '{id}'.",
         "Check for a covariate that perfectly predicts events."),
        (FG_CONVERGENCE_ADVICE, "; estimates may be unreliable: raise max_iter in analysis "
                                "'{id}'", "; estimates may be unreliable"),
        (FG_MOVING_HINT, FG_MOVING_HINT, "no maximum was found for it"),
    ),
    "propensity.max_iter": (
        ("; raise max_iter (the default is 100)", "",
         "; a plan's propensity model runs 100 iterations: use fewer covariates or merge "
         "levels"),
    ),
}


#: the advice of the immortal-time warning (:func:`aplcohort.stats.timedep.immortal_time_check`)
#: as the Python API writes it, and as a plan analysis says it, where the same tools are kinds
IMMORTAL_TIME_ADVICE = ("Treat the treatment as time-dependent (split_at_exposure + td_coxph / "
                        "mantel_byar / simon_makuch) or use a landmark analysis (landmark); "
                        "compare_naive_vs_timedependent shows both.")
#: "exposure: its start date" was read as the group's start column, which the reference group
#: may have too (postremission_start_date of ATO-based consolidation: every patient exposed,
#: the term not estimable); the binary kinds need a date only the treated patients have
TREATED_ONLY_DATE = "a date only the treated patients have, e.g. hsct_start_date"
KIND_HINTS = ((IMMORTAL_TIME_ADVICE,
               "Treat the treatment as time-dependent (the kinds td_cox, mantel_byar and "
               f"simon_makuch with exposure: {TREATED_ONLY_DATE}) or use a landmark analysis "
               "(kind landmark); the immortal_time kind shows both."),)
#: the same advice in a plan analysis of a competing-risk endpoint (cif, gray, finegray,
#: cause_specific_cox), where td_cox, mantel_byar, simon_makuch, landmark and immortal_time
#: are refused (they take a survival endpoint): the kind that takes the treatment as
#: time-dependent there is td_finegray
IMMORTAL_TIME_ADVICE_COMPETING = ("Treat the treatment as time-dependent: the kind td_finegray "
                                  f"with exposure: {TREATED_ONLY_DATE} (the survival kinds "
                                  "td_cox, mantel_byar, simon_makuch and landmark do not take a "
                                  "competing-risk endpoint).")


def immortal_time_guard_advice(group, reference, exposure) -> str:
    """The advice of a plan analysis's immortal-time check (survival endpoint): the
    analysis that gives the comparison shown beside it, with this analysis's group,
    reference and start column, and what the binary kinds need.

    >>> immortal_time_guard_advice("hsct", "no HSCT", "hsct_start_date")[:96]
    "Treat the treatment as time-dependent: the kind immortal_time with group: hsct, reference: 'no H"
    """
    return ("Treat the treatment as time-dependent: the kind immortal_time with group: "
            f"{group}, reference: {str(reference)!r}, exposure: {exposure} gives the comparison "
            "shown here (naive, time-dependent Cox, Mantel-Byar; landmarks: adds landmark "
            "analyses); td_cox, mantel_byar, simon_makuch and landmark take as exposure: "
            f"{TREATED_ONLY_DATE}.")


def plan_advice(text, settings, analysis_id=""):
    """``text`` (a note or warning of an estimator) for a plan analysis whose kind has the
    keys ``settings``: advice naming a Python argument or function becomes the plan setting
    where the kind has it, and advice the analysis cannot follow is left out or replaced by
    what can be done (:data:`SETTING_HINTS`). Anything that is not text is returned as it
    is; text already rewritten is left as it is.

    >>> plan_advice(NOTE_INFINITE, {"firth"})
    'coefficient may be infinite (monotone likelihood); consider firth: true'
    >>> plan_advice(NOTE_INFINITE, set())
    'coefficient may be infinite (monotone likelihood)'
    >>> plan_advice("x. " + CONVERGENCE_ADVICE, {"firth"}, "c1")
    'x. Check for a covariate that perfectly predicts events.'
    >>> plan_advice("x; " + SEPARATION_ADVICE, {"firth"}, "c1")[:40]
    "x; add firth: true to analysis 'c1' (Fir"
    >>> plan_advice("Fine-Gray fit did not converge" + FG_CONVERGENCE_ADVICE, {"max_iter"}, "fg")
    "Fine-Gray fit did not converge; estimates may be unreliable: raise max_iter in analysis 'fg'"
    """
    if not isinstance(text, str):
        return text
    for python, in_plan in KIND_HINTS:   # functions of the Python API that are plan kinds
        text = text.replace(python, in_plan)
    for key, hints in SETTING_HINTS.items():
        for python, with_key, without in hints:
            if python in text:
                text = text.replace(python, (with_key if key in settings else without)
                                    .replace("{id}", str(analysis_id)))
    return text
NOTE_CONSTANT = "no information (constant column)"
NOTE_SE_ZERO = "SE 0: no event up to this time, so the interval is a point, not a measure of precision"
#: an SE of 0 where events have happened (the estimate is off its no-event value): the
#: variance is degenerate, e.g. a robust (IJ) variance whose group is one patient or one
#: ``id`` cluster (the influences of one cluster sum to zero)
NOTE_SE_ZERO_EVENTS = ("SE 0 although events have occurred (e.g. every patient of the group "
                       "has had this event, or the group is one patient or one id cluster), so "
                       "the interval is a point, not a measure of precision")
NOTE_SE_ZERO_STATE = ("SE 0: at this time every patient is alike for this state (e.g. no "
                      "transition yet, or none left in it), so the interval is a point, not "
                      "a measure of precision")
NOTE_SE_UNDEFINED = "SE not defined: every patient still at risk had the event (estimate 0)"
NOTE_UPPER_NOT_REACHED = "upper confidence limit not reached"

#: A probability within this distance of 0 or 1 is at that bound: a cumulative incidence
#: summed from increments may end at 0.9999999999999999 where every patient had an event
#: (cmprsk and R survfit give that same value), and an interval whose scale is not defined
#: at the bound (log-log at 1) must not be computed from the round-off (it gives 0-1).
BOUND_TOL = 1e-12


def at_bound(estimate, bound: float) -> np.ndarray:
    """Where ``estimate`` is at ``bound`` (0 or 1) up to round-off (:data:`BOUND_TOL`); the
    one rule of the curve shapes for "an estimate of 0 / of 1" (NaN: False).

    >>> at_bound([1.0, 0.9999999999999999, 0.999, np.nan], 1).tolist()
    [True, True, False, False]
    """
    est = np.asarray(estimate, float)
    with np.errstate(invalid="ignore"):
        return np.abs(est - float(bound)) <= BOUND_TOL


def curve_complete(n_last, events_last) -> bool:
    """Whether a curve is complete at its last time: every patient still followed then
    (``n_last``, those whose time is the last time) had an event there (``events_last``,
    of any cause), so nobody is left at risk and the all-cause survival is 0. Such a
    curve cannot change afterwards: its last value is known at any later time. A curve
    that ends by a censoring is not complete (what happens after is unknown, not
    estimable). Weighted counts compare within round-off.

    The one rule of :meth:`~aplcohort.stats.competing.CIFResult.at`,
    :meth:`~aplcohort.stats.km.KMResult.at` and the replication facts
    (:mod:`aplcohort.plan.min2022`) for estimates after a group's last time.

    >>> curve_complete(2, 2), curve_complete(2, 1), curve_complete(0, 0)
    (True, False, False)
    """
    n, d = float(n_last), float(events_last)
    return bool(n > 0 and d >= n * (1.0 - BOUND_TOL))
NOTE_LOWER_NOT_REACHED = "lower confidence limit not reached"
NOTE_LIMITS_NOT_REACHED = "confidence limits not reached"


@functools.lru_cache(maxsize=64)
def z_value(conf_level: float) -> float:
    """Two-sided normal quantile ``qnorm(1 - (1 - conf_level) / 2)`` (cached).

    Examples
    --------
    >>> round(z_value(0.95), 6)
    1.959964
    """
    from scipy.special import ndtri  # ndtri is the normal quantile; scipy.stats is slow to import

    return float(-ndtri((1.0 - float(conf_level)) / 2.0))


def _norm_sf2(z):
    """Two-sided normal p-value ``2 * pnorm(-|z|)``."""
    from scipy.special import ndtr

    return 2.0 * ndtr(-np.abs(z))


# ----------------------------------------------------------------------------- curves
def _cause_col(cause, n):
    # IntegerArray(values, mask) is what pd.array(..., dtype="Int64") builds, without
    # inferring the type of every element (that dominated small cohorts)
    if cause is None:
        return pd.arrays.IntegerArray(np.zeros(n, np.int64), np.ones(n, bool))
    if np.ndim(cause) == 0:
        return pd.arrays.IntegerArray(np.full(n, int(cause), np.int64), np.zeros(n, bool))
    return pd.arrays.IntegerArray(np.array(cause, dtype=np.int64), np.zeros(n, bool))


_PANDAS_MAJOR = int(pd.__version__.split(".")[0])


@functools.lru_cache(maxsize=64)
def _columns_index(names: tuple) -> pd.Index:
    """The column Index of a frame of these names (built once; :func:`frame` views or copies it)."""
    return pd.Index(list(names))


def _block_api():
    """pandas 2 internals used by :func:`frame` (None where they are missing)."""
    try:
        from pandas._libs.internals import BlockPlacement
        from pandas.core.dtypes.common import is_1d_only_ea_dtype
        from pandas.core.internals.blocks import new_block
        from pandas.core.internals.managers import BlockManager
    except ImportError:          # pragma: no cover - other pandas layouts
        return None
    if not hasattr(pd.DataFrame, "_from_mgr"):
        return None
    return BlockPlacement, new_block, BlockManager, is_1d_only_ea_dtype


_BLOCK_API = _block_api() if _PANDAS_MAJOR == 2 else None


@functools.lru_cache(maxsize=256)
def _range_index(n: int) -> pd.RangeIndex:
    """``RangeIndex(n)``, built once per length (:func:`frame` takes views)."""
    return pd.RangeIndex(n)


_EXTENSION_ARRAY = pd.api.extensions.ExtensionArray


def _simple_arrays(arrays, n) -> bool:
    """1-D numpy arrays of numbers / objects or 1-D pandas extension arrays, length n."""
    for a in arrays:
        if isinstance(a, np.ndarray):
            if a.ndim != 1 or a.shape[0] != n or a.dtype.kind not in "biufO":
                return False
        elif not (isinstance(a, _EXTENSION_ARRAY) and a.ndim == 1 and len(a) == n):
            return False
    return True


def _frame_from_blocks(names: tuple, arrays: list, n: int) -> pd.DataFrame:
    """The frame of :func:`frame` built from its blocks (pandas 2 internals).

    What ``DataFrame._from_arrays`` ends with (one 2-D block per numpy dtype, one
    block per extension array, consolidated), without its per-column grouping and
    checks, which were most of the time of a small cohort's three result tables.
    Stacking copies the numpy arrays; extension arrays are copied here.
    """
    BlockPlacement, new_block, BlockManager, one_d_ea = _BLOCK_API
    by_dtype: dict = {}
    blocks = []
    for i, a in enumerate(arrays):
        if isinstance(a, np.ndarray):
            by_dtype.setdefault(a.dtype, []).append(i)
        elif not one_d_ea(a.dtype):      # e.g. tz-aware datetimes: 2-D blocks, not handled
            raise TypeError("not a 1-D-only extension array")
        else:
            blocks.append(new_block(a.copy(), BlockPlacement(slice(i, i + 1)), ndim=2))
    for dt, pos in by_dtype.items():
        values = np.empty((len(pos), n), dtype=dt)
        for k, i in enumerate(pos):
            values[k] = arrays[i]
        place = (slice(pos[0], pos[-1] + 1) if pos[-1] - pos[0] + 1 == len(pos)
                 else np.asarray(pos, dtype=np.intp))
        blocks.append(new_block(values, BlockPlacement(place), ndim=2))
    # views of cached Index objects: each frame gets its own (a caller may rename it)
    axes = [_columns_index(names)._view(), _range_index(n)._view()]
    mgr = BlockManager(tuple(blocks), axes, verify_integrity=False)
    return pd.DataFrame._from_mgr(mgr, axes=mgr.axes)


def frame(columns: dict) -> pd.DataFrame:
    """DataFrame from a dict of equal-length 1-D numpy / pandas extension arrays.

    The same frame as ``pd.DataFrame(columns)`` (each array copied, a RangeIndex,
    the same dtypes). Under pandas 2 the blocks are built directly
    (:func:`_frame_from_blocks`): the constructor's checks of arrays we made
    ourselves were most of the time of a small cohort's result. Falls back to
    ``DataFrame._from_arrays`` / ``pd.DataFrame`` if those internals are missing or
    refuse the input, and uses ``pd.DataFrame`` under pandas 3 (whose constructor
    types string columns differently).

    Examples
    --------
    >>> frame({"a": np.array([1.0, 2.0]), "b": np.array(["x", "y"], dtype=object)}).shape
    (2, 2)
    """
    arrays = list(columns.values())
    n = len(arrays[0]) if arrays else 0
    # numpy arrays of numbers / objects and pandas extension arrays only: anything else
    # (e.g. numpy unicode strings, which pandas turns into objects) takes pd.DataFrame
    simple = _simple_arrays(arrays, n)
    if simple and arrays and _BLOCK_API is not None:
        try:
            return _frame_from_blocks(tuple(columns), arrays, n)
        except (TypeError, ValueError, AttributeError):   # pragma: no cover
            pass
    arrays = [a.copy() for a in arrays]
    # pandas >= 3 infers a string dtype for object columns of strings in pd.DataFrame;
    # the fast constructor would keep objects, so there we keep pd.DataFrame's types
    ctor = getattr(pd.DataFrame, "_from_arrays", None) if _PANDAS_MAJOR < 3 else None
    if ctor is not None and simple:
        try:
            return ctor(arrays, columns=_columns_index(tuple(columns)).copy(),
                        index=pd.RangeIndex(n), verify_integrity=False)
        except TypeError:
            pass
    return pd.DataFrame(dict(zip(columns, arrays)))


def curve_frame(group, cause, time, estimate, std_err, lower, upper, n_risk, n_event,
                n_censor) -> pd.DataFrame:
    """Build a curve table with exactly :data:`CURVE_COLUMNS` (``cause`` as ``Int64``).

    ``group`` may be a scalar label (repeated) or one label per row; ``cause``
    None (survival), a scalar cause code or one code per row.

    Examples
    --------
    >>> curve_frame("A", None, [1.0], [0.5], [0.1], [0.3], [0.8], [2], [1], [0]).columns.tolist()[:4]
    ['group', 'cause', 'time', 'estimate']
    """
    t = np.asarray(time, dtype=float)
    n = t.size
    if np.ndim(group) == 0 and not isinstance(group, (list, tuple)):
        g = np.empty(n, dtype=object)
        g[:] = [group] * n
    else:
        g = np.asarray(group, dtype=object) if not isinstance(group, np.ndarray) else group
    return frame({"group": g, "cause": _cause_col(cause, n),
                  "time": t, "estimate": np.asarray(estimate, float),
                  "std_err": np.asarray(std_err, float), "lower": np.asarray(lower, float),
                  "upper": np.asarray(upper, float), "n_risk": np.asarray(n_risk, float),
                  "n_event": np.asarray(n_event, float),
                  "n_censor": np.asarray(n_censor, float)})   # CURVE_COLUMNS order
    # (no columns=: its reindex cost more than the table itself for small cohorts)


def at_frame(group, cause, time, estimate, std_err, lower, upper, n_risk, note=None, *,
             conf_type=None, no_event=None):
    """Build an ``.at()`` frame with exactly :data:`AT_COLUMNS`.

    ``note`` defaults to :data:`NOTE_PAST_FOLLOWUP` where ``estimate`` is NaN. Where the
    caller's note is empty, a standard error of exactly 0 gets :data:`NOTE_SE_ZERO` where
    no event has happened yet (S = 1 for a survival curve, ``cause`` None; F = 0 for a
    cumulative incidence) and :data:`NOTE_SE_ZERO_EVENTS` elsewhere, and an undefined one
    beside an estimate :data:`NOTE_SE_UNDEFINED`, so no SE-0 interval is shown as a
    measure of precision. An SE of 0 whose limits are blank (R NA: the log-log interval at
    S = 1) is not a point: the note says the interval is not defined there and why
    (``conf_type`` names the transformation; ``no_event`` overrides where the estimate is
    at its no-event value, e.g. H = 0 for a cumulative hazard).
    """
    t = np.asarray(time, dtype=float)
    est = np.asarray(estimate, float)
    if note is None:
        note = np.where(np.isnan(est), NOTE_PAST_FOLLOWUP, "")
    if no_event is None:
        no_event = at_bound(est, 1.0) if cause is None else at_bound(est, 0.0)
    note = _interval_notes(note, est, np.asarray(std_err, float), np.asarray(lower, float),
                           np.asarray(upper, float), no_event=no_event, conf_type=conf_type)
    g = [group] * t.size if np.ndim(group) == 0 else list(group)
    if _BLOCK_API is not None:
        # pandas 2: the blocks built directly (pd.DataFrame with columns= was ~2 ms of a
        # small cohort's .at()); object columns stay objects, as below
        go = np.empty(t.size, dtype=object)
        go[:] = g
        no = np.empty(t.size, dtype=object)
        no[:] = list(note)
        return frame({"group": go, "cause": _cause_col(cause, t.size), "time": t,
                      "estimate": est, "std_err": np.asarray(std_err, float),
                      "lower": np.asarray(lower, float), "upper": np.asarray(upper, float),
                      "n_risk": np.asarray(n_risk, float), "note": no})  # AT_COLUMNS order
    return pd.DataFrame({"group": pd.Series(g, dtype=object), "cause": _cause_col(cause, t.size),
                         "time": t, "estimate": est, "std_err": np.asarray(std_err, float),
                         "lower": np.asarray(lower, float), "upper": np.asarray(upper, float),
                         "n_risk": np.asarray(n_risk, float),
                         "note": pd.Series(list(note), dtype=object)}, columns=AT_COLUMNS)


def _scale_text(conf_type, est: float) -> str:
    """Why an interval on ``conf_type``'s scale has no limits at the estimate ``est``."""
    if conf_type == "log-log":
        return (f"the log-log interval, computed on log(-log S), is not defined at "
                f"S = {est:g}")
    if conf_type == "log":
        return f"the log interval, computed on log S, is not defined at S = {est:g}"
    return "the interval's scale transformation is infinite there"


def _interval_notes(note, est, se, lower=None, upper=None, *,
                    zero_note: str = NOTE_SE_ZERO, no_event=None, conf_type=None) -> np.ndarray:
    """``note`` with the reason added where it is empty and the SE is 0 or undefined, or a
    confidence limit is undefined beside an estimate and its SE. ``no_event``: where the
    estimate is at its no-event value; an SE of 0 elsewhere gets
    :data:`NOTE_SE_ZERO_EVENTS` instead of ``zero_note`` (default: ``zero_note`` everywhere).
    An SE of 0 beside blank limits (R's NA: a log-log interval at S = 1) is not called a
    point: the note says the limits are not defined and why (``conf_type``: the interval's
    transformation, e.g. "log-log")."""
    note = np.asarray(note, dtype=object).copy()
    if not note.size:
        return note
    empty = np.array([not n for n in note], dtype=bool)
    finite = np.isfinite(est)
    with np.errstate(invalid="ignore"):
        zero = empty & finite & (se == 0)
        undefined = empty & finite & ~np.isfinite(se)
    if no_event is None:
        note[zero] = zero_note
    else:
        no_event = np.broadcast_to(np.asarray(no_event, dtype=bool), zero.shape)
        note[zero & no_event] = zero_note
        note[zero & ~no_event] = NOTE_SE_ZERO_EVENTS
    note[undefined] = NOTE_SE_UNDEFINED
    if lower is not None:
        with np.errstate(invalid="ignore"):
            blank = ~(np.isfinite(lower) & np.isfinite(upper))
            no_ci = empty & finite & np.isfinite(se) & (se > 0) & blank
            zero_blank = zero & blank
        for i in np.flatnonzero(no_ci):
            note[i] = (f"confidence limits not defined at an estimate of {est[i]:g} ("
                       f"{_scale_text(conf_type, est[i])})")
        for i in np.flatnonzero(zero_blank):
            why = ("no event up to this time" if no_event is None or no_event[i] else
                   "although events have occurred")
            note[i] = (f"confidence limits not defined at an estimate of {est[i]:g}: SE 0 "
                       f"({why}) and {_scale_text(conf_type, est[i])} (R gives NA)")
    return note


def band_end_undefined(time, estimate, std_err, band, curve: str) -> str | None:
    """Why a time quantile's confidence limit read from ``band`` cannot be told, or None.

    A limit is the first time the band crosses the quantile's level. A band that is
    undefined at the end of the curve (the standard error, or the interval's scale
    transformation, is not defined there: at an estimate of 0 for a survival curve on
    the log scale, or of 0 or 1 on the log-log scale; R gives NA) may have crossed it
    there, so a limit not found is *not estimable*, not "not reached". A band undefined
    only where the curve starts (log-log at an estimate of 1) and defined to the end
    leaves a limit not found "not reached". Returns the reason for the first case.

    >>> band_end_undefined([1, 2, 3], [0.8, 0.4, 0.0], [0.2, 0.3, np.nan],
    ...                    [0.9, 0.7, np.nan], "Kaplan-Meier")
    'the confidence interval of the Kaplan-Meier curve is undefined from time 3 (the standard error is not defined at an estimate of 0)'
    >>> band_end_undefined([1, 2], [1.0, 0.8], [0.0, 0.1], [np.nan, 0.9], "Kaplan-Meier")
    """
    b = np.asarray(band, float)
    if not b.size or np.isfinite(b[-1]):
        return None
    ok = np.flatnonzero(np.isfinite(b))
    i = int(ok[-1]) + 1 if ok.size else 0     # start of the undefined run at the end
    t, est = float(np.asarray(time, float)[i]), float(np.asarray(estimate, float)[i])
    se = float(np.asarray(std_err, float)[i])
    why = (f"the standard error is not defined at an estimate of {est:g}" if not np.isfinite(se)
           else f"the interval's scale transformation is infinite at an estimate of {est:g}")
    return f"the confidence interval of the {curve} curve is undefined from time {t:g} ({why})"


def reached_notes(estimate, lower, upper, undefined=None) -> np.ndarray:
    """Why a time quantile (median, ``quantile(p)``) or one of its limits is NaN: "not
    reached" (the curve never falls that far), which confidence limit is not reached or
    not estimable, or "" (object array).

    ``undefined`` (optional, one per row): ``(lower_reason, upper_reason)``, the reason
    (:func:`band_end_undefined`) why the band giving that limit cannot tell where it
    crosses, or None; a NaN limit with a reason is "not estimable" with it.
    """
    est = np.asarray(estimate, float)
    lo, up = np.asarray(lower, float), np.asarray(upper, float)
    und = [(None, None)] * est.size if undefined is None else list(undefined)
    note = np.empty(est.size, dtype=object)
    out = []
    for m, a, b, (ra, rb) in zip(est, lo, up, und):
        if np.isnan(m):
            out.append(NOTE_NOT_REACHED)
            continue
        ra = ra if np.isnan(a) else None
        rb = rb if np.isnan(b) else None
        if ra is None and rb is None:
            out.append(NOTE_LIMITS_NOT_REACHED if np.isnan(a) and np.isnan(b)
                       else NOTE_LOWER_NOT_REACHED if np.isnan(a)
                       else NOTE_UPPER_NOT_REACHED if np.isnan(b) else "")
        elif ra is not None and ra == rb:
            out.append(f"confidence limits not estimable: {ra}")
        else:
            parts = []
            for side, x, r in (("lower", a, ra), ("upper", b, rb)):
                if np.isnan(x):
                    parts.append(f"{side} confidence limit not estimable: {r}" if r
                                 else f"{side} confidence limit not reached")
            out.append("; ".join(parts))
    note[:] = out
    return note


def median_frame(rows, undefined=None) -> pd.DataFrame:
    """Build a ``.median()`` frame from ``(group, cause, n, events, median, lower, upper)``.

    ``note`` says "not reached" where the median is NaN, and which confidence limit is
    not reached (or not estimable, with ``undefined``: see :func:`reached_notes`) where the
    median is estimated but a limit is NaN.
    """
    rows = list(rows)
    cols = list(zip(*rows)) if rows else [()] * 7
    g = np.empty(len(rows), dtype=object)
    g[:] = list(cols[0])
    cause = pd.arrays.IntegerArray(np.array([0 if c is None else int(c) for c in cols[1]],
                                            dtype=np.int64),
                                   np.array([c is None for c in cols[1]], dtype=bool))
    med = np.asarray(cols[4], float)
    lo, up = np.asarray(cols[5], float), np.asarray(cols[6], float)
    note = reached_notes(med, lo, up, undefined)
    return frame({   # MEDIAN_COLUMNS order (no columns=: its reindex is slow)
        "group": g, "cause": cause,
        "n": _int_or_float(cols[2]), "events": _int_or_float(cols[3]), "median": med,
        "lower": lo, "upper": up, "note": note})


def label_column(values) -> np.ndarray:
    """Labels as pandas types a list column: int64 for Python ints, objects for strings,
    else pandas' own inference (``pd.Series(list)``); for :func:`frame`."""
    vals = list(values)
    if vals and all(type(v) is str for v in vals):
        out = np.empty(len(vals), dtype=object)
        out[:] = vals
        return out
    if vals and all(type(v) is int for v in vals) and -2 ** 63 <= min(vals) \
            and max(vals) < 2 ** 63:
        return np.array(vals, dtype=np.int64)
    return pd.Series(vals).to_numpy()


def _int_or_float(values):
    """Counts as pandas would type the list: int64 when all are integers, else float."""
    vals = list(values)
    if not vals:
        return np.array([], dtype=object)
    if all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in vals):
        return np.array(vals, dtype=np.int64)
    return pd.Series(vals).to_numpy()


class CurveShape:
    """Mixin of curve results: metadata and the thin deprecated aliases.

    A subclass has ``table`` (:data:`CURVE_COLUMNS`), ``groups``, ``conf_type``,
    ``conf_level`` and implements ``at``, ``median`` and ``risk_table``.
    """

    curve: str = "survival"

    def survival_at(self, times, *, extend=False) -> pd.DataFrame:
        """Deprecated alias of :meth:`at` (kept for old notebooks)."""
        warnings.warn("survival_at() is deprecated; use at() (columns group, cause, time, "
                      "estimate, std_err, lower, upper, n_risk, note)", DeprecationWarning,
                      stacklevel=2)
        return self.at(times, extend=extend)


# ----------------------------------------------------------------------------- terms
def terms_frame(names, coef, se, *, conf_level, robust_se=None, levels=None, estimable=None,
                notes=None, lower=None, upper=None, statistic=None, p=None) -> pd.DataFrame:
    """Build a regression-terms table with exactly :data:`TERM_COLUMNS`.

    Parameters
    ----------
    names : sequence of str
    coef, se : array (p,)
        Log-ratio coefficients and model-based SEs.
    conf_level : float
    robust_se : array (p,), optional
        When given, the Wald CI, statistic and p use it (as R with a robust variance).
    levels : sequence, optional
        Level of a categorical covariate per term (None for numeric terms).
    estimable : array of bool, optional
        False rows get NaN in every number; ``notes`` gives the reason.
    lower, upper, statistic, p : array, optional
        Override the Wald CI (ratio scale), the statistic (default the Wald z) and
        p, e.g. profile-likelihood CIs and LR tests of a Firth fit.

    Examples
    --------
    >>> t = terms_frame(["x"], [0.5], [0.25], conf_level=0.95)
    >>> round(float(t["estimate"].iloc[0]), 6), bool(t["estimable"].iloc[0])
    (1.648721, True)
    """
    names = list(names)
    k = len(names)
    coef = np.asarray(coef, float).reshape(k)
    se = np.asarray(se, float).reshape(k)
    rse = np.full(k, np.nan) if robust_se is None else np.asarray(robust_se, float).reshape(k)
    use = se if robust_se is None else rse
    z = z_value(conf_level)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        stat = coef / use if statistic is None else np.asarray(statistic, float).reshape(k)
        pv = _norm_sf2(stat) if p is None else np.asarray(p, float).reshape(k)
        lo = np.exp(coef - z * use) if lower is None else np.asarray(lower, float).reshape(k)
        hi = np.exp(coef + z * use) if upper is None else np.asarray(upper, float).reshape(k)
        est = np.exp(coef)
    ok = np.ones(k, bool) if estimable is None else np.asarray(estimable, bool).reshape(k)
    note = [""] * k if notes is None else ["" if v is None else str(v) for v in notes]
    cols = {"coef": coef, "se": se, "robust_se": rse, "estimate": est, "lower": lo,
            "upper": hi, "statistic": stat, "p": pv}
    for key, v in cols.items():
        v = np.array(v, dtype=float)
        v[~ok] = np.nan
        cols[key] = v
    lv = [None] * k if levels is None else [None if x is None else x for x in levels]
    return pd.DataFrame({"term": names, "level": pd.Series(lv, dtype=object), **cols,
                         "estimable": ok, "note": note})   # TERM_COLUMNS order (no reindex)


def term_levels(design) -> list:
    """Level of each design column (None for a numeric covariate)."""
    out = [None] * len(design.names)
    for cov, idx in design.assign.items():
        lv = design.levels.get(cov)
        if lv is None:
            continue
        for k, j in enumerate(idx):
            v = lv[k + 1]
            out[j] = v.item() if isinstance(v, np.generic) else v
    return out


class TermsShape:
    """Mixin of regression results: ``scale``, ``conf_level``, ``variance`` metadata.

    A subclass has ``terms`` (:data:`TERM_COLUMNS`).
    """

    scale: str = "HR"

    @property
    def not_estimable(self) -> pd.DataFrame:
        """The terms that could not be estimated, with the reason."""
        t = self.terms
        return t.loc[~t["estimable"].astype(bool), ["term", "note"]].reset_index(drop=True)


def finite_or_nan(x) -> float:
    """float(x) if finite else NaN (helper for summaries)."""
    try:
        f = float(x)
    except (TypeError, ValueError):
        return float("nan")
    return f if math.isfinite(f) else float("nan")
