"""Every null of ``results.json`` with its reason beside it (docs/results_json.md, "Null
values and their reasons").

The one rule: a field ``F`` of an object ``O`` that is null has its reason in ``O``
itself, as ``O["not_estimable"][F]`` (the data cannot give the value: a median not
reached, a coefficient that diverges, a curve past follow-up) or ``O["not_applicable"][F]``
(the value is not asked for or not defined for this row: no robust variance asked, a
count has no confidence interval, a categorical Table 1 row has no median). Fields that
are themselves reasons (``note``, ``notes``, ``reason``, ``*_note``) are null when there is
nothing to explain and are not values.

:func:`explain_nulls` derives the reasons from the result document the writer is about to
save, in this order, for each null field:

1. the object's own note for that field (``median_note``, ``odds_ratio_note``,
   ``statistic_note``, ``test_note``, ``delay_note``, ``<field>_note``);
2. what the row is (:func:`_not_applicable`): a term of a model without a robust
   variance, a numeric term (no level), a Table 1 row of the other variable type, a score
   test (no hazard ratio), a Kaplan–Meier row or a weighted survival curve (no cause), a
   setting not given (a plan's seed, a propensity-score block's trim / truncate / caliper /
   focal), a weighted Table 1 row's SD of a categorical level, a fact that is a count, ...;
3. what the data left of the row: a Table 1 row's empty group (weighted or not), a
   model's global test on 0 degrees of freedom (no estimable coefficient);
4. the row's own reason: its ``note`` (or ``reason``) when the row is not declared
   estimable (``estimable: false``, a curve entry past follow-up, an analysis or part
   with ``status: "not estimable"``); a comparison row (immortal-time comparison: its
   note is the row's description, then ``"; not estimable: "`` and the cause) gives only
   the cause; a per-landmark part that is null takes the reason of its landmark's
   ``summary`` row.

A null none of these explains is left as it is (``tests/test_null_reasons.py`` walks the
results of every plan kind, and of every kind's ``propensity:`` block, and fails on it), so a new null shape needs its reason here or
where its row is built, never a generic "missing".
"""

from __future__ import annotations

import math

import pandas as pd

from ..stats.shapes import note_cause

#: A null field explained by a note of its row that covers a family of fields:
#: ``{field: note field}``.
FAMILY_NOTES = {"median": "median_note", "median_lower": "median_note",
                "median_upper": "median_note",
                "odds_ratio": "odds_ratio_note", "or_lower": "odds_ratio_note",
                "or_upper": "odds_ratio_note",
                "statistic": "statistic_note", "df": "statistic_note",
                "test": "test_note", "p": "test_note",
                "median_delay": "delay_note", "min_delay": "delay_note",
                "max_delay": "delay_note"}
#: Notes that say a value is not defined for the row, not that the data cannot give it.
NOT_APPLICABLE_NOTES = frozenset({"statistic_note"})
#: The two maps of reasons.
MAPS = ("not_estimable", "not_applicable")


def is_reason_field(key) -> bool:
    """Whether a field is itself a reason (null there means: nothing to explain).

    >>> [is_reason_field(k) for k in ("note", "median_note", "reason", "p")]
    [True, True, True, False]
    """
    return key in ("note", "notes", "reason") or str(key).endswith("_note")


def _null(v) -> bool:
    return v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and math.isnan(v))


def _text(v) -> str:
    return v.strip() if isinstance(v, str) else ""


def explain_nulls(doc: dict) -> dict:
    """Add ``not_estimable`` / ``not_applicable`` maps beside the nulls of a results
    document (in place; returned for convenience).

    >>> d = {"analyses": {"a": {"kind": "cox", "status": "ok", "terms": [
    ...     {"term": "age", "level": None, "coef": 0.2, "se": 0.1, "robust_se": None,
    ...      "estimate": 1.22, "note": None}]}}}
    >>> t = explain_nulls(d)["analyses"]["a"]["terms"][0]
    >>> sorted(t["not_applicable"])
    ['level', 'robust_se']
    >>> t["not_applicable"]["robust_se"]
    'no robust variance asked: the SE, CI and p are model-based (se)'
    """
    for key, value in doc.items():
        if key == "analyses" and isinstance(value, dict):
            for a in value.values():
                _walk(a, {"analysis": a, "kind": a.get("kind") if isinstance(a, dict) else None,
                          "key": None, "parent": None, "siblings": None})
        elif key == "published_vs_reproduced" and isinstance(value, list):
            for row in value:
                _explain_row(row, {"fact": True, "analysis": {}, "kind": None, "key": key,
                                   "parent": None, "siblings": value})
        elif isinstance(value, (dict, list)) and key not in MAPS:
            _walk(value, {"analysis": {}, "kind": None, "key": key, "parent": doc,
                          "siblings": None})
    return doc


def explain_frame(tab: pd.DataFrame, *, analysis: dict | None = None, kind: str | None = None,
                  fact: bool = False, reasons: list | None = None) -> pd.DataFrame:
    """A result frame as its full-precision CSV is written: with the same reasons as
    results.json, as two text columns ``not_estimable`` and ``not_applicable``
    (``"field, field: reason; field: reason"``, empty for a row without such a null), added
    only when the frame has a null (the frame itself is not changed). ``reasons``: those
    :func:`frame_reasons` gave for ``tab`` already.

    >>> t = pd.DataFrame({"term": ["age"], "level": [None], "coef": [0.2], "se": [0.1],
    ...                   "robust_se": [float("nan")], "estimate": [1.22], "note": [""]})
    >>> explain_frame(t, kind="cox")["not_applicable"].iloc[0]
    "level: 'age' is not a level of a categorical covariate (a numeric or 0/1 term); robust_se: no robust variance asked: the SE, CI and p are model-based (se)"
    """
    if any(m in tab.columns for m in MAPS):
        return tab
    cols: dict = {m: [] for m in MAPS}
    if reasons is None:
        reasons = frame_reasons(tab, analysis=analysis, kind=kind, fact=fact)
    for r in reasons:
        for m in MAPS:
            by_reason: dict = {}
            for f, (m_f, why) in r.items():
                if m_f == m:
                    by_reason.setdefault(why, []).append(f)
            cols[m].append("; ".join(f"{', '.join(fs)}: {why}" for why, fs in by_reason.items()))
    if not any(any(c) for c in cols.values()):
        return tab
    return tab.assign(**cols)


def frame_reasons(tab: pd.DataFrame, *, analysis: dict | None = None, kind: str | None = None,
                  fact: bool = False) -> list:
    """The reasons :func:`explain_frame` writes, per row of ``tab``: ``{field: (map,
    reason)}`` for each null field (``map`` "not_estimable" or "not_applicable"); the
    journal tables print them under the table (:func:`aplcohort.tables.blanks.explain_blanks`).

    >>> t = pd.DataFrame({"term": ["age"], "level": [None], "coef": [0.2], "se": [0.1],
    ...                   "robust_se": [float("nan")], "estimate": [1.22], "note": [""]})
    >>> frame_reasons(t, kind="cox")[0]["robust_se"]
    ('not_applicable', 'no robust variance asked: the SE, CI and p are model-based (se)')
    """
    # a frame's missing cell is NaN / pd.NA under pandas 3 where pandas 2 gives None (string
    # columns): one null, None, as in results.json, so each rule reads it the same way
    rows = [{str(k): (None if _null(v) else v) for k, v in r.items()}
            for r in tab.to_dict(orient="records")]
    ctx = {"analysis": analysis or {}, "kind": kind, "key": None, "parent": None,
           "siblings": rows, "fact": fact}
    out = []
    for r in rows:
        _explain_row(r, ctx)
        out.append({f: (m, why) for m in MAPS for f, why in (r.get(m) or {}).items()})
    return out


def _walk(o, ctx) -> None:
    if isinstance(o, dict):
        kind = o.get("kind") if isinstance(o.get("kind"), str) else ctx["kind"]
        _explain_row(o, {**ctx, "kind": kind})
        for k, v in o.items():
            if k in MAPS or _null(v):
                continue
            sub = {**ctx, "kind": kind, "key": k, "parent": o, "siblings": None}
            if isinstance(v, list):
                for item in v:
                    _walk(item, {**sub, "siblings": v})
            else:
                _walk(v, sub)
    elif isinstance(o, list):
        for item in o:
            _walk(item, {**ctx, "siblings": o})


def _explain_row(o: dict, ctx) -> None:
    found: dict = {m: {} for m in MAPS}
    for f, v in o.items():
        if not _null(v) or is_reason_field(f) or f in MAPS:
            continue
        why = _reason(o, f, ctx)
        if why is not None:
            found[why[0]][f] = why[1]
    for m in MAPS:
        if found[m]:
            o.setdefault(m, {}).update(found[m])


def _reason(o: dict, f: str, ctx):
    """``(map, reason)`` for the null field ``f`` of ``o``, or None."""
    note_key = f"{f}_note" if _text(o.get(f"{f}_note")) else FAMILY_NOTES.get(f)
    if note_key and _text(o.get(note_key)):
        return ("not_applicable" if note_key in NOT_APPLICABLE_NOTES else "not_estimable",
                o[note_key])
    if ctx.get("fact"):
        return _fact_reason(o, f)
    na = _not_applicable(o, f, ctx)
    if na:
        return "not_applicable", na
    if _is_table1_row(o):
        return "not_estimable", _table1_not_estimable(o, f)
    if _is_weighted_table1_row(o):
        why = _weighted_table1_not_estimable(o, f)
        return ("not_estimable", why) if why else None
    if f == "p" and {"test", "statistic", "df"} <= set(o) and o.get("df") == 0:
        # a model's global test (likelihood ratio / Wald / score) on 0 degrees of freedom
        return "not_estimable", ("no estimable coefficient (0 degrees of freedom): no "
                                 "global test")
    own = _text(o.get("note")) or _text(o.get("reason"))
    if own and o.get("estimable") is not True and not _is_comparison(o):
        return "not_estimable", note_cause(own)
    if _is_comparison(o) and "not estimable" in own:
        return "not_estimable", note_cause(own)
    return _landmark_part(f, ctx)


# ------------------------------------------------------------------------- not applicable
def _robust_used(o, ctx) -> bool:
    sib = ctx.get("siblings") or [o]
    if any(isinstance(t, dict) and not _null(t.get("robust_se")) for t in sib):
        return True
    a = ctx.get("analysis") or {}
    # td_finegray says how: "robust, clustered on 'patient_id'" / "robust, rows as units ..."
    return bool(str(a.get("variance") or "").startswith("robust") or a.get("robust")
                or a.get("cluster"))


def _is_term(o) -> bool:
    return "term" in o and "coef" in o and "estimate" in o


def _is_table1_row(o) -> bool:
    return {"variable", "level", "denominator", "pct", "median", "smd"} <= set(o)


def _is_comparison(o) -> bool:
    return "method" in o and "term" in o and "estimate" in o


def _not_applicable(o: dict, f: str, ctx) -> str | None:
    kind, key = ctx.get("kind"), ctx.get("key")
    if _is_term(o):
        if f == "robust_se" and not _robust_used(o, ctx):
            return "no robust variance asked: the SE, CI and p are model-based (se)"
        if f == "level":
            return (f"'{o.get('term')}' is not a level of a categorical covariate (a numeric "
                    "or 0/1 term)")
    if _is_table1_row(o):
        return _table1_reason(o, f, ctx)
    if _is_comparison(o) and f in ("estimate", "lower", "upper") \
            and "score test" in str(o.get("method")):
        return f"{o['method']}: a test (P value) only, no hazard ratio"
    if key == "choices":
        return f"not set: no {f} in this analysis"
    if key == "provenance" and f in ("mapping_file", "mapping_sha256"):
        return "no mapping file given: the data's own column names are read"
    if f == "cause" and "n_event" in o and (kind == "km" or _survival_curve(ctx)):
        return "Kaplan–Meier: one event type, no cause"
    if o.get("kind") in ("ps_weights", "ps_match"):
        return _adjustment_reason(o, f)
    if o.get("kind") == "adjusted_analysis" and f == "unadjusted" \
            and o.get("analysis") == "table1":
        return ("Table 1: the unadjusted values are the mean and sd columns of adjusted, "
                "beside the weighted ones (one table, no separate unadjusted result)")
    if _is_weighted_table1_row(o):
        return _weighted_table1_reason(o, f)
    if key == "provenance" and f == "seed":
        return ("no seed: in the plan (it is only recorded here; no analysis of a plan draws "
                "from it: matching's m_order: random takes propensity: seed:)")
    if kind == "km" and f == "influence" and "variance" in o:
        return "influence values not asked (influence: false)"
    if kind == "logrank" and f == "scores" and "rho" in o:
        return "not a trend test: no group scores"
    if f == "column" and "n_start_known" in o:
        return f"no treatment-start column for group '{o.get('group')}' (not a treated group)"
    if kind == "multistate" and f == "cox_terms":
        return "no covariates: or shared: in the plan: no transition-specific Cox model"
    if f in ("row", "start", "stop") and {"rule", "severity", "detail"} <= set(o):
        return (f"found in the dates while building the transitions (rule '{o.get('rule')}'), "
                "not in a row of (start, stop] data")
    return None


def _survival_curve(ctx) -> bool:
    """A row of a propensity-score-weighted (or matched) survival curve (``adjusted_curves``
    of a km analysis: one event type, as its Kaplan–Meier curve)."""
    parent = ctx.get("parent")
    return (ctx.get("kind") == "adjusted_curves" and isinstance(parent, dict)
            and parent.get("curve") == "survival")


def _adjustment_reason(o: dict, f: str) -> str | None:
    """A setting of the weights (``ps_weights``) or of the matching (``ps_match``) that the
    plan's ``propensity:`` did not ask for or that its method / estimand does not use."""
    if f == "focal":
        return (f"estimand {o.get('estimand')}: no focal group (the treated group of an ATT "
                "only)")
    if f == "trim":
        return "no trimming asked (trim: not set): no patient removed for an extreme score"
    if f == "truncate":
        return "no weight truncation asked (truncate: not set): the weights are not capped"
    if f in ("caliper", "caliper_logit"):
        return ("no caliper asked (caliper: not set): each treated patient takes its nearest "
                "control at any distance" + ("" if f == "caliper" else
                                             ", so no caliper on the logit scale"))
    return None


def _is_weighted_table1_row(o) -> bool:
    return {"variable", "level", "group", "n", "weighted_n", "mean", "sd", "weighted_mean",
            "weighted_sd"} <= set(o)


def _weighted_table1_reason(o: dict, f: str) -> str | None:
    """Not applicable: the SD of a categorical row (its mean is a proportion). The rest is
    :func:`_weighted_table1_not_estimable`."""
    if not _null(o.get("level")) and o.get("level") != "" and f in ("sd", "weighted_sd"):
        return (f"'{o.get('variable')}' is a categorical variable: its mean is the proportion "
                "with that level, no SD")
    return None


def _weighted_table1_not_estimable(o: dict, f: str) -> str | None:
    """The not-estimable reason of a null value of a weighted Table 1 row
    (:func:`aplcohort.adjust.balance.weighted_table1`): no known value, one known value,
    no positive weight."""
    var, group, n = o.get("variable"), o.get("group"), o.get("n") or 0
    if n == 0:
        return f"no known value of '{var}' in group '{group}'"
    if f == "sd":
        return f"one known value of '{var}' in group '{group}': no SD"
    if f == "weighted_mean":
        return (f"no patient of group '{group}' with a known '{var}' has a positive weight: "
                "no weighted value")
    if f == "weighted_sd":
        return (f"fewer than two patients of group '{group}' with a known '{var}' have a "
                "positive weight: no weighted SD")
    return None


def _table1_reason(o: dict, f: str, ctx) -> str | None:
    var = o.get("variable")
    categorical = not _null(o.get("level"))
    if categorical and f in ("median", "q1", "q3", "mean", "sd"):
        return f"'{var}' is a categorical variable: n and percentage, no {f}"
    if not categorical and f in ("level", "pct"):
        return (f"'{var}' is a continuous variable: one row per group "
                + ("without levels" if f == "level" else "with median [IQR] / mean (SD), "
                   "no percentage"))
    a = ctx.get("analysis") or {}
    if f == "smd":
        if not a.get("smd"):
            return "no standardized mean difference asked (smd: false)"
        if len(a.get("groups") or {}) < 2:
            return "one group only: no standardized mean difference"
        return None   # asked but undefined: below (not estimable)
    if f in ("test", "p") and not _text(o.get("test")):
        if len(a.get("groups") or {}) < 2:
            return "one group only: no test"
    return None


def _table1_not_estimable(o: dict, f: str) -> str:
    """The not-estimable reason of a Table 1 row's null value (data too thin)."""
    var, group = o.get("variable"), o.get("group")
    if f == "smd":
        return (f"standardized mean difference of '{var}' not defined (a group with too few "
                "known values, or no variation within the groups)")
    if f in ("test", "p"):
        return f"the test of '{var}' is not defined on these values"
    if not _null(o.get("level")):
        return f"no known value of '{var}' in group '{group}': no percentage"
    if not o.get("n"):
        return f"no known value of '{var}' in group '{group}'"
    return f"one known value of '{var}' in group '{group}': no SD"


# ----------------------------------------------------------------------- published facts
def _fact_reason(o: dict, f: str):
    """A row of the published-vs-reproduced table."""
    count = o.get("test") == "count"
    why_not = (_text(o.get("note")) or _text(o.get("reproduced"))
               or f"the fact '{o.get('id')}' could not be computed")
    has_est, has_ci = not _null(o.get("reproduced_estimate")), not _null(o.get("ci_lower"))
    if f == "share_of_seeds":   # computed over seeds of the generator: the replica's rows only
        return "not_applicable", ("your cohort, not the synthetic replica: no share of "
                                  "generator seeds")
    if count and f in ("ci_lower", "ci_upper", "published_in_ci", "p"):
        return "not_applicable", "a count: no confidence interval and no test"
    if f == "published_value":
        return "not_applicable", ("no published number comparable with reproduced_estimate "
                                  f"(the publication says {o.get('published')!r})")
    if f == "reproduced_estimate":
        if not _null(o.get("p")):
            return "not_applicable", "a comparison: its result is the P value (p), no estimate"
        return "not_estimable", why_not
    if f in ("ci_lower", "ci_upper"):
        if not has_est:
            if not _null(o.get("p")):
                return "not_applicable", ("a comparison by a test: its result is the P value, "
                                          "not an estimate with a confidence interval")
            cause = why_not[len("not estimable: "):] if why_not.startswith(
                "not estimable: ") else why_not
            return "not_estimable", f"no reproduced estimate ({cause}), so no interval"
        return "not_applicable", ("no confidence interval of reproduced_estimate is computed"
                                  + ("; the groups' own intervals are in ci"
                                     if _text(o.get("ci")) else ""))
    if f == "published_in_ci":
        if _null(o.get("published_value")):
            return "not_applicable", "no published_value to place in an interval"
        if not has_ci:
            return "not_applicable", "no confidence interval of reproduced_estimate"
        return None
    if f == "p":
        if has_ci or has_est:
            return "not_applicable", "an estimate with its confidence interval: no test"
        return "not_estimable", why_not
    return None


# ---------------------------------------------------------------------------- landmarks
def _landmark_part(f: str, ctx):
    """A per-landmark part (``landmarks.cox["400.0"]``) that is null: the reason of its
    landmark's ``summary`` row."""
    parent = ctx.get("parent")
    if not isinstance(parent, dict) or not isinstance(parent.get("summary"), list):
        return None
    for row in parent["summary"]:
        if isinstance(row, dict) and str(row.get("landmark")) == str(f) and _text(row.get("note")):
            return "not_estimable", f"landmark {f}: {row['note']}"
    return None
