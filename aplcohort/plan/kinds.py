"""One function per analysis kind: validated plan entry -> :class:`AnalysisOutput`.

The settings a handler reads are the fields of its kind's model in
:mod:`aplcohort.plan.registry` (validated before anything runs); a handler reads
nothing else from the plan entry. Every handler

* builds the ``results.json`` summary with the contract's field names (see
  ``docs/results_json.md``): ``status``, ``n``, ``events``, ``exclusions``; tests
  ``statistic``, ``df``, ``p``; curves ``groups`` -> ``{n, events, median,
  median_lower, median_upper, at: [{time, estimate, std_err, lower, upper}]}``;
  regression ``terms`` -> ``[{term, level, coef, se, robust_se, estimate, lower,
  upper, statistic, p, estimable, note}]``;
* drops rows only through :func:`_exclude` / :func:`_drop_missing`, which record
  the patient ids and the reason in the analysis's attrition log and in
  ``exclusions``;
* reads result columns only through the helpers :func:`curve_at`,
  :func:`curve_medians`, :func:`curve_groups` and :func:`terms_summary`.

An analysis that cannot be estimated raises :class:`NotEstimable` (or an
estimator's ``InputError``); :func:`run_analysis` turns it into ``status: "not
estimable"`` with the reason, and the run goes on.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import inspect
import math
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .._results import jsonable
from ..errors import InputError, PlanError
from .registry import KINDS

DAYS = {"days": 1.0, "months": 30.4375, "years": 365.25}


class NotEstimable(Exception):
    """An analysis (or part of it) cannot be estimated on this data; the message says why."""


@dataclass
class Context:
    plan: dict
    cohort: Any
    figures: bool
    endpoints: dict
    output: dict
    _ep_cache: dict = field(default_factory=dict)
    #: colour / line style per group level, one for every figure of the run
    #: (:class:`aplcohort.plots.style.Palette`; the runner fills it before any analysis)
    palette: Any = None


def _pct(level) -> str:
    """A confidence level as printed in captions and headers: ``0.9`` -> ``"90%"``,
    ``0.975`` -> ``"97.5%"`` (as the tables' headers, :func:`aplcohort.tables.frame.format_frame`).

    >>> _pct(0.9), _pct(0.975), _pct(0.29)
    ('90%', '97.5%', '29%')
    """
    return f"{100 * float(level):g}%"


def _num(x):
    try:
        f = float(x)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


# ----------------------------------------------------------------------------- exclusions
#: why a time-dependent analysis leaves out a patient whose follow-up is 0 ((start, stop]
#: rows need stop > start, as R ``tmerge`` / ``Surv(tstart, tstop)``)
ZERO_TIME_REASON = "event or censoring at time zero: no (start, stop] interval"


def _zero_time(df: pd.DataFrame) -> np.ndarray:
    """Rows whose follow-up time is exactly 0 (event or censoring on the time-zero date)."""
    return (df["time"].to_numpy(dtype=float) == 0)


def _drop_zero_time(out, df: pd.DataFrame) -> pd.DataFrame:
    """For the kinds that split follow-up into (start, stop] rows (``td_cox``,
    ``td_finegray``, ``mantel_byar``, ``simon_makuch``, ``immortal_time``): patients whose
    event or censoring is at time 0 are left out with :data:`ZERO_TIME_REASON` in the
    exclusions and attrition log. A (0, 0] interval does not exist (R ``tmerge`` stops:
    "found an ending time of 0"; ``Surv(tstart, tstop)`` makes the row NA, dropped by
    ``coxph`` as missing), and one such patient must not make the whole analysis not
    estimable. Called after the complete-case drops, so a patient also
    missing a covariate or the group is counted under that first reason."""
    return _exclude(out, df, _zero_time(df), ZERO_TIME_REASON)


def _exclude(out, df: pd.DataFrame, mask, reason: str) -> pd.DataFrame:
    """Drop the rows where ``mask`` is true, recording ids and reason; return the rest."""
    mask = np.asarray(mask, dtype=bool)
    if mask.any():
        ids = df.loc[mask, "patient_id"].astype(str).tolist()
        out.exclusions.append({"reason": reason, "n": len(ids), "ids": ids})
        out.attrition.record(f"{out.id}: {reason}", len(df), ids, reason)
    return df[~mask].reset_index(drop=True)


def _drop_missing(out, df: pd.DataFrame, cols: dict) -> pd.DataFrame:
    """Complete-case rows for ``{role: column or [columns]}``; each missing value recorded
    under ``missing <role> '<column>'`` (a row is counted under the first column it lacks).
    Group and strata columns become labels (see :func:`_as_labels`)."""
    for role, col in cols.items():
        for c in ([col] if isinstance(col, str) else list(col or [])):
            if c and c in df.columns:
                df = _exclude(out, df, df[c].isna().to_numpy(), f"missing {role} '{c}'")
    return _as_labels(df, [c for r in ("group", "strata") for c in
                           ([cols.get(r)] if isinstance(cols.get(r), str) else cols.get(r) or [])])


def _as_labels(df: pd.DataFrame, cols) -> pd.DataFrame:
    """Columns used as levels (groups, strata, categorical covariates) keep the labels the
    spreadsheet shows: a numeric column whose values are all whole numbers gives levels
    ``1, 2, 3`` (as R's factor of an integer column), not ``1.0, 2.0, 3.0``."""
    for c in cols:
        if c in df.columns and pd.api.types.is_float_dtype(df[c].dtype):
            v = df[c].to_numpy()
            ok = ~np.isnan(v)
            if ok.any() and np.all(v[ok] == np.round(v[ok])) and np.all(np.abs(v[ok]) < 2**53):
                df = df.assign(**{c: pd.Series([int(x) if k else None for x, k in zip(v, ok)],
                                               index=df.index, dtype=object)})
    return df


# ----------------------------------------------------------------------------- data access
_LEGACY = [(re.compile(r"\b([A-Za-z_]\w*)\.notna\(\)"), r"\1 is not missing"),
           (re.compile(r"\b([A-Za-z_]\w*)\.isna\(\)"), r"\1 is missing")]


def expression_text(text: str) -> str:
    """A plan expression in the :mod:`aplcohort.expr` language.

    Plans written for the earlier pandas-based engine used ``col.notna()`` /
    ``col.isna()``; those two spellings (only) are rewritten to ``col is not missing`` /
    ``col is missing`` -- a text substitution, nothing is evaluated.

    >>> expression_text("relapse2_date.notna() and x == 1")
    'relapse2_date is not missing and x == 1'
    """
    for pat, rep in _LEGACY:
        text = pat.sub(rep, text)
    return text


def _eval(data: pd.DataFrame, expr: str, what: str, aid: str) -> pd.Series:
    """Values of a plan expression (``outcome``) on the cohort table (missing kept)."""
    from ..expr import ExpressionError, evaluate
    try:
        return pd.Series(evaluate(expression_text(expr), data), index=data.index)
    except ExpressionError as exc:
        raise PlanError(f"analysis '{aid}': {what}: {exc}") from None


def analysis_set(ctx: Context, m, out):
    """The cohort restricted by the analysis's ``where`` (a missing result counts as not
    kept, as in :meth:`Cohort.filter`); the left-out patients are recorded in ``out``."""
    cohort = ctx.cohort
    if not m.where:
        return cohort
    sub, step = _restrict(cohort, m.where, f"{m.id}: analysis set", f"not ({m.where})",
                          f"analysis '{m.id}'", out)
    out.summary["analysis_set"] = {"where": m.where, "n_before": step.n_before, "n": step.n_after,
                                   "excluded": step.n_excluded}
    return sub


def endpoint_frame(ctx: Context, m, cohort, out) -> tuple[pd.DataFrame, dict]:
    """Endpoint data for the analysis set: DataFrame with ``time``, ``event`` + cohort columns.
    Patients without the endpoint (no time zero, missing time or event) are recorded in ``out``."""
    eid = m.endpoint
    spec = ctx.endpoints[eid]
    unit = spec.get("unit", "days")
    if spec.get("where"):
        cohort = _endpoint_where(m, eid, spec["where"], cohort, out)
    if "endpoint" in spec:
        # derive_endpoint, not Cohort.endpoint: the plan orders groups itself (order:,
        # levels:, dictionary) on plain text, without the API's Categoricals
        from ..cohort.endpoints import derive_endpoint
        ep = derive_endpoint(cohort, spec["endpoint"], time_zero=spec["time_zero"], unit=unit,
                             remission=spec.get("remission"))
        df = ep.data.copy()
        exc = ep.excluded
        info = {"endpoint": eid, "definition": ep.definition, "time_zero": spec["time_zero"],
                "unit": unit, "kind": ep.kind, "excluded": len(exc),
                "excluded_reasons": exc["reason"].value_counts().to_dict() if len(exc) else {}}
        n_before = len(df) + len(exc)
        for reason, ids in exc.groupby("reason", sort=True)["patient_id"]:
            ids = ids.astype(str).tolist()
            out.exclusions.append({"reason": f"{eid}: {reason}", "n": len(ids), "ids": ids})
            out.attrition.record(f"{out.id}: {eid}", n_before, ids, f"{eid}: {reason}")
            n_before -= len(ids)
    else:
        d = cohort.data.copy()
        col = spec.get("event", spec.get("code"))
        n0 = len(d)
        d = _drop_missing(out, d, {"time": spec["time"], "event" if "event" in spec else "code": col})
        df = d.copy()
        df["time"] = df[spec["time"]].astype(float)
        df["event"] = df[col].astype(int)
        info = {"endpoint": eid, "definition": f"given directly: time = {spec['time']}, "
                f"{'code' if 'code' in spec else 'event'} = {col}", "time_zero": "as given",
                "unit": unit, "kind": "competing" if "code" in spec else "survival",
                "excluded": n0 - len(df),
                "excluded_reasons": {"time or event missing": n0 - len(df)} if n0 > len(df) else {}}
    info["label"] = spec.get("label", eid)
    return df.reset_index(drop=True), info


def _endpoint_where(m, eid: str, where: str, cohort, out):
    """The endpoint's own ``where:`` (e.g. an endpoint defined for one disease only), applied
    after the analysis's ``where``; the patients it leaves out are recorded in ``out``."""
    return _restrict(cohort, where, f"{m.id}: endpoint {eid}", f"{eid}: not ({where})",
                     f"endpoint '{eid}'", out)[0]


def _restrict(cohort, where: str, step_name: str, reason: str, who: str, out):
    """``cohort`` filtered by the plan expression ``where``; the step and the patients it
    leaves out go into ``out`` (attrition log and exclusions). Returns ``(cohort, step)``."""
    from ..expr import ExpressionError
    try:
        sub = cohort.filter(expression_text(where), step=step_name, reason=reason)
    except ExpressionError as exc:
        raise PlanError(f"{who}: where: {exc}") from None
    step = sub.attrition.steps[-1]
    out.attrition = sub.attrition.copy()
    if step.n_excluded:
        out.exclusions.append({"reason": step.reason, "n": step.n_excluded,
                               "ids": list(step.excluded_ids)})
    return sub, step


def exposure_time(df: pd.DataFrame, col: str, unit: str) -> pd.Series:
    """Exposure start in the endpoint's time scale (NaN = not exposed)."""
    v = df[col]
    if pd.api.types.is_datetime64_any_dtype(v):
        return (v - pd.to_datetime(df["time_zero_date"])).dt.days.astype(float) / DAYS[unit]
    try:
        return v.astype(float)
    except (TypeError, ValueError):
        raise InputError(f"exposure column '{col}' is neither a date nor a number "
                         f"(first values: {v.dropna().head(3).tolist()})") from None


# ----------------------------------------------------------------------------- result readers
# Every reading of an estimator's result columns goes through these helpers, so a change
# of the result shapes (aplcohort.stats.shapes) is absorbed here.
def _col(df: pd.DataFrame, *names, default=np.nan) -> pd.Series:
    for n in names:
        if n in df.columns:
            return df[n]
    return pd.Series(default, index=df.index)


def curve_at(res, times) -> pd.DataFrame:
    """``[group, cause, time, estimate, std_err, lower, upper, n_risk, note]`` at ``times``
    (the curve shape of :mod:`aplcohort.stats.shapes`; ``note`` says why a value is missing,
    e.g. a time past a group's follow-up). A Kaplan–Meier or cumulative-incidence curve
    that is complete (nobody left at risk: every patient followed at the group's last
    time had an event) keeps its value after that time (``at(complete=True)``, the rule of
    :func:`aplcohort.stats.shapes.curve_complete`, as the replication facts); a curve
    ending by a censoring is not estimable there."""
    cols = ["group", "cause", "time", "estimate", "std_err", "lower", "upper", "n_risk", "note"]
    if not times:
        return pd.DataFrame(columns=cols)
    if hasattr(res, "at"):
        takes = "complete" in inspect.signature(res.at).parameters
        at = res.at(list(times), **({"complete": True} if takes else {}))
    else:
        at = res.survival_at(list(times))
    se = _col(at, "std_err")
    if "std_err" not in at.columns and "variance" in at.columns:
        se = np.sqrt(at["variance"].astype(float))
    return pd.DataFrame({"group": at["group"].to_numpy(),
                         "cause": _col(at, "cause", default=pd.NA).to_numpy(),
                         "time": at["time"].to_numpy(float),
                         "estimate": _col(at, "estimate", "surv").to_numpy(float),
                         "std_err": np.asarray(se, float), "lower": at["lower"].to_numpy(float),
                         "upper": at["upper"].to_numpy(float),
                         "n_risk": _col(at, "n_risk").to_numpy(float),
                         "note": _col(at, "note", default="").fillna("").astype(str).to_numpy()})


def curve_medians(res) -> pd.DataFrame:
    """``[group, cause, n, events, median, lower, upper, note]`` (NaN median = not reached,
    said in ``note``; ``n``/``events`` NaN when the result does not give them)."""
    med = res.median()
    note = _col(med, "note", default="").fillna("").astype(str).to_numpy().copy()
    nr = ~np.isfinite(med["median"].to_numpy(float)) & (note == "")
    note[nr] = "not reached"
    return pd.DataFrame({"group": med["group"].to_numpy(),
                         "cause": _col(med, "cause", default=pd.NA).to_numpy(),
                         "n": _col(med, "n").to_numpy(float), "events": _col(med, "events").to_numpy(float),
                         "median": med["median"].to_numpy(float), "lower": med["lower"].to_numpy(float),
                         "upper": med["upper"].to_numpy(float), "note": note})


def curve_groups(medians: pd.DataFrame, at: pd.DataFrame, counts: dict) -> dict:
    """results.json ``groups``: ``{level: {n, events, median, median_lower, median_upper, at}}``;
    ``counts`` is ``{level: (n, events)}``."""
    groups = {}
    for _, m in medians.iterrows():
        g = m["group"]
        rows = at[at["group"] == g] if len(at) else at
        entries = [{"time": _num(r["time"]), "estimate": _num(r["estimate"]),
                    "std_err": _num(r["std_err"]), "lower": _num(r["lower"]),
                    "upper": _num(r["upper"]), "n_risk": _num(r["n_risk"]),
                    "note": r["note"] or None} for _, r in rows.iterrows()]
        n, ev = counts.get(g, counts.get(str(g), (None, None)))
        groups[str(g)] = {"n": n, "events": ev, "median": _num(m["median"]),
                          "median_lower": _num(m["lower"]), "median_upper": _num(m["upper"]),
                          "at": entries}
        if any(groups[str(g)][k] is None for k in ("median", "median_lower", "median_upper")):
            # why the median or a limit is null: the tables' NR / NE reason ("not reached",
            # "upper confidence limit not reached", not estimable ...)
            groups[str(g)]["median_note"] = str(m["note"] or "") or "not estimable"
    return groups


def survival_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A curve frame for a survival table: without the shape's all-<NA> ``cause`` column."""
    if "cause" in df.columns and df["cause"].isna().all():
        return df.drop(columns="cause")
    return df


def test_summary(res, name=None) -> dict:
    """A test's summary; a p that is not defined comes with ``status: "not estimable"`` and
    the estimator's reason (its ``note``)."""
    d = {"test": name or getattr(res, "test", None), "statistic": _num(res.statistic),
         "df": _num(res.df), "p": _num(res.p)}
    if d["p"] is None:
        d["status"] = "not estimable"
        d["reason"] = getattr(res, "note", "") or "the p-value is not defined on these data"
    return d


def _undefined_test(res, m, name):
    """The test is the analysis: a test that is not defined makes it not estimable."""
    if _num(res.p) is None:
        raise NotEstimable(f"analysis '{m.id}': {name} is not defined: "
                           f"{getattr(res, 'note', '') or 'the p-value is not defined'}")


def _embedded_test(out, s, name):
    """A test beside curves: when not defined, say why in the notes (curves still shown)."""
    if s.get("status") == "not estimable":
        out.notes.append(f"No {name} p-value: {s['reason']}.")


def test_table(out, res, group: str, n: int, events: int, *, strata: str | None = None,
               cause: int | None = None) -> None:
    """The group test of an analysis as its own table ``<id>__test`` (test, statistic, df,
    p): the estimator's own test frame (``res.tables["test"]``), the one table of the
    ``logrank`` and ``gray`` kinds and of the test beside ``km`` / ``cif`` curves, so the
    test is in the tables, the report and the manuscript whether or not a figure shows it.
    A stratified test says so in its name and caption; a p that is not defined carries the
    estimator's reason (``note``, ``estimable`` False), which the table prints as NE with
    a footnote."""
    tab = res.tables["test"].copy()
    if strata and not tab["test"].astype(str).str.contains("stratified").all():
        tab["test"] = "stratified " + tab["test"].astype(str)   # Gray's name does not say it
    undefined = ~np.isfinite(pd.to_numeric(tab["p"], errors="coerce").to_numpy(float))
    if undefined.any():   # an NE p with its reason (test_summary's), never a blank cell
        why = getattr(res, "note", "") or "the p-value is not defined on these data"
        note = (tab["note"].fillna("").astype(str) if "note" in tab.columns
                else pd.Series("", index=tab.index))
        tab["note"] = note.where(~(undefined & (note == "")), why)
        tab["estimable"] = ~undefined
    name = str(tab["test"].iat[0])
    name = name[:1].upper() + name[1:]
    if "test" not in name.lower():
        name = name.replace("Gray", "Gray's test", 1) if "Gray" in name else name + " test"
    what = f", cause {cause}" if cause is not None else ""
    of = " of the cause" if cause is not None else ""
    by = f"; strata '{strata}'" if strata else ""
    out.tables.append(("test", f"{name} of '{group}'{what} ({n} patients, {events} "
                       f"events{of}{by})", tab))


@contextlib.contextmanager
def _part(out, key: str, name: str):
    """An optional part of an analysis (a hazard ratio beside KM curves, cox.zph or
    concordance beside a Cox model, ...). When it cannot be estimated on these data the
    rest of the analysis stands: ``summary[key]`` is ``{"status": "not estimable",
    "reason": ...}`` and a note says "No <name>: <reason>"; nothing of the part is kept
    (its tables and figures are taken back). A part that fails by a bug of aplcohort (see
    :func:`_is_data_problem`) gets ``status: "error"`` and is listed in the analysis's
    ``internal_errors``. A plan mistake still propagates."""
    n_tables, n_figures = len(out.tables), len(out.figures)
    try:
        yield
    except PlanError:
        raise
    except Exception as exc:  # noqa: BLE001 -- the rest of the analysis stands
        internal, reason = _failure(exc)
        reason = re.sub(r"^analysis '[^']*': ", "", reason)
        del out.tables[n_tables:]
        for _name, fig in out.figures[n_figures:]:
            import matplotlib.pyplot as plt
            plt.close(fig)
        del out.figures[n_figures:]
        out.summary[key] = {"status": "error" if internal else "not estimable",
                            "reason": reason}
        if internal:   # the analysis stands; the run says a part of it failed by a bug
            out.summary.setdefault("internal_errors", []).append(f"{name}: {reason}")
        out.notes.append(f"No {name}: {reason}")


def _pairwise_notes(out, table, name):
    for r in table.itertuples(index=False):
        if not r.estimable:
            out.notes.append(f"{name} {r.group1} vs {r.group2} not estimable: {r.note}.")


TERM_FIELDS = ["term", "level", "coef", "se", "robust_se", "estimate", "lower", "upper",
               "statistic", "p", "estimable", "note"]


def terms_frame(terms: pd.DataFrame) -> pd.DataFrame:
    """Regression terms in the shared shape ``[term, level, coef, se, robust_se, estimate,
    lower, upper, statistic, p, estimable, note]``.

    A term without information (SE 0 or not finite) is not estimable: every number is
    NaN and ``note`` says why (never an HR with SE 0).
    """
    t = pd.DataFrame({"term": terms["term"].astype(str).to_numpy(),
                      "level": _col(terms, "level", default=None).to_numpy(),
                      "coef": _col(terms, "coef").to_numpy(float),
                      "se": _col(terms, "se").to_numpy(float),
                      "robust_se": _col(terms, "robust_se").to_numpy(float),
                      "estimate": _col(terms, "estimate", "hr", "shr").to_numpy(float),
                      "lower": _col(terms, "lower", "hr_lower", "shr_lower").to_numpy(float),
                      "upper": _col(terms, "upper", "hr_upper", "shr_upper").to_numpy(float),
                      "statistic": _col(terms, "statistic", "z").to_numpy(float),
                      "p": _col(terms, "p").to_numpy(float)})
    est = _col(terms, "estimable", default=True).astype(bool).to_numpy()
    note = _col(terms, "note", default="").fillna("").astype(str).to_numpy().copy()
    se_used = np.where(np.isfinite(t["robust_se"]), t["robust_se"], t["se"])
    noinfo = est & ~(np.isfinite(t["coef"]) & np.isfinite(se_used) & (se_used > 0))
    note[noinfo] = "no information (standard error 0 or not finite)"
    est = est & ~noinfo
    num = ["coef", "se", "robust_se", "estimate", "lower", "upper", "statistic", "p"]
    t.loc[~est, num] = np.nan
    t["estimable"] = est
    t["note"] = note
    return t


def terms_summary(terms: pd.DataFrame) -> list[dict]:
    """results.json ``terms`` from a result's terms table (see :func:`terms_frame`)."""
    out = []
    for _, r in terms_frame(terms).iterrows():
        d = {k: _num(r[k]) for k in TERM_FIELDS if k not in ("term", "level", "estimable", "note")}
        d.update({"term": r["term"], "level": None if pd.isna(r["level"]) else str(r["level"]),
                  "estimable": bool(r["estimable"]), "note": r["note"] or None})
        out.append({k: d[k] for k in TERM_FIELDS})
    return out


def _fig(ctx, m) -> bool:
    return bool(ctx.figures and getattr(m, "figure", False))


from ..cohort.endpoints import TREATMENT_START  # noqa: E402  (shared with EndpointData.grouped)
from .derived import untreated_levels  # noqa: E402


def _check_json(chk) -> dict:
    """results.json form of an immortal-time check: a group's delays are null when none of
    its patients has a known treatment start, and ``delay_note`` says so."""
    d = jsonable(chk.to_dict())
    for row in d.get("table") or []:
        if isinstance(row, dict) and row.get("median_delay") is None:
            row["delay_note"] = ("no treatment start known in this group (not a treated "
                                 "group, or every start date missing)"
                                 if not row.get("n_start_known") else "not estimable")
    return d


@contextlib.contextmanager
def _advice_of_no_setting(analysis_id: str, part: str | None = None):
    """The warnings raised inside, issued again with their advice for an analysis that has
    none of the settings they name (:func:`aplcohort.stats.shapes.plan_advice`): for a part
    of an analysis that none of its kind's settings reaches (the immortal-time comparison
    of a ``cox`` analysis is not fitted with its ``firth: true``). ``part``: the warnings
    start with it, so that they are not read as the analysis's own model's (a cox analysis
    with ``firth: true`` whose comparison says "Firth's correction is not available")."""
    import warnings
    from ..stats.shapes import plan_advice
    caught = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            yield
    finally:    # (also when the comparison fails: its warnings are part of the reason)
        for w in caught:
            text = plan_advice(str(w.message), frozenset(), analysis_id)
            if part:
                text = f"{part}: {text}"
            warnings.warn_explicit(text if text != str(w.message) else w.message,
                                   w.category, w.filename, w.lineno)


def _in_order(values: pd.Series, order) -> pd.Series:
    """``values`` as a ``Categorical`` whose categories are ``order`` (then any other level,
    sorted as text): models fitted on it list their terms in the analysis's group order."""
    values = values.astype(object)
    present = [v for v in pd.unique(values) if not pd.isna(v)]
    order = list(order or [])
    cats = order + sorted((v for v in present if v not in order), key=str)
    return pd.Series(pd.Categorical(values, categories=cats), index=values.index,
                     name=values.name)


def immortal_time_guard(m, df: pd.DataFrame, info: dict, group: str | None, order, out,
                        cause: int | None = None) -> None:
    """Detect groups defined by a treatment that starts after time zero; warn and compare.

    When ``group`` is a treatment column whose start date (``TREATMENT_START``) falls
    after the endpoint's time zero for some patients, an ImmortalTimeWarning names the
    groups and the naive analysis is shown beside the time-dependent and landmark ones
    (treatment start as a time-dependent state; before it, patients count in the
    first group of ``order``, the reference).

    For a competing-risk endpoint (``cause`` given: CIF, Gray) the counterparts are the
    time-dependent *cause-specific* Cox model (events of ``cause``; competing events
    censored, R ``coxph(Surv(tstart, tstop, status == cause) ~ state)``) and, at each
    landmark, the cumulative incidence by the group known at the landmark
    (:func:`landmark_cif_rows`).
    """
    landmarks = list(getattr(m, "landmarks", None) or [])
    start_col = TREATMENT_START.get(group or "")
    competing = info.get("kind") == "competing" and cause is not None
    if (start_col is None or start_col not in df.columns or "time_zero_date" not in df.columns
            or not (info.get("kind") == "survival" or competing) or len(order or []) < 2):
        if landmarks:
            out.notes.append(f"landmarks {landmarks} unused: the immortal-time guard applies to "
                             f"groups defined by a treatment starting after time zero")
            out.summary["landmarks_unused"] = landmarks
        return
    from ..stats.timedep import compare_naive_vs_timedependent, immortal_time_check
    # only the columns the comparison reads (the cohort frame has dozens more, which the
    # split into time-dependent rows would copy for nothing)
    d = df[[c for c in dict.fromkeys(("patient_id", "time", "event", group, "time_zero_date",
                                      start_col)) if c in df.columns]].copy()
    d["treatment_time"] = exposure_time(d, start_col, info["unit"])
    # the comparison's rows follow the analysis's group order (the reference first)
    d[group] = _in_order(d[group], order)
    ref = order[0]
    # levels meaning "not treated" (e.g. "no HSCT", "none") are in their group from time
    # zero; every other level is entered when its treatment starts
    untreated = untreated_levels(group)
    tt = {g: "treatment_time" for g in order[1:] if g not in untreated}
    conf_level = float(getattr(m, "conf_level", None) or 0.95)
    # the check names the start-date column the user knows (its delays, in the endpoint's
    # unit, under that name), not the frame's internal treatment_time
    chk = immortal_time_check(d.drop(columns=[start_col]).rename(
                                  columns={"treatment_time": start_col}),
                              time="time", group=group, treatment_time={g: start_col for g in tt},
                              unit=info["unit"], warn=False)
    # the advice a plan can follow: for a competing-risk endpoint td_finegray; else the
    # immortal_time analysis that gives this comparison (this group, reference, start column)
    from ..stats.shapes import (IMMORTAL_TIME_ADVICE, IMMORTAL_TIME_ADVICE_COMPETING,
                                immortal_time_guard_advice)
    chk = dataclasses.replace(chk, message=chk.message.replace(
        IMMORTAL_TIME_ADVICE, IMMORTAL_TIME_ADVICE_COMPETING if competing
        else immortal_time_guard_advice(group, ref, start_col)))
    if not len(chk.flagged):
        if landmarks:
            out.notes.append(f"landmarks {landmarks} unused: no immortal time detected")
            out.summary["landmarks_unused"] = landmarks
        return
    import warnings
    from ..errors import ImmortalTimeWarning
    beside = (f"the time-dependent {'cause-specific Cox model' if competing else 'analysis'} and "
              f"the landmark {'cumulative incidences' if competing else 'analyses'} at "
              f"{', '.join(f'{x:g}' for x in landmarks)} {info['unit']} are shown beside it"
              if landmarks else
              f"the time-dependent {'cause-specific Cox model' if competing else 'analysis'} is "
              f"shown beside it (no landmark analysis: the analysis gives no `landmarks:`)")
    problem = (f"analysis '{m.id}' compares groups of '{group}' from {info['time_zero']}, "
               f"but the treatment defining {', '.join(map(str, chk.flagged))} starts after "
               f"time zero ('{start_col}'); the naive comparison credits the waiting time to "
               f"the treated groups.")
    # the time-dependent comparison needs (start, stop] rows: a patient with follow-up 0
    # stays in this analysis but is left out of the comparison, with the reason; so is a
    # patient of a treated group whose treatment start is unknown (its date missing: the
    # time it enters the group is not known)
    left_out = []
    unknown = (d[group].isin(list(tt)) & d["treatment_time"].isna()).to_numpy()
    zero = _zero_time(d)
    labels = d[group].astype(object).to_numpy()
    for mask, reason in [(zero, ZERO_TIME_REASON)] + [
            (unknown & ~zero & (labels == g),
             f"{group} {g} but {start_col} missing: treatment start unknown") for g in tt]:
        if mask.any():
            ids = d.loc[mask, "patient_id"].astype(str).tolist()
            left_out.append({"reason": reason, "n": len(ids), "ids": ids})
            out.notes.append(f"Immortal-time comparison: {len(ids)} patient(s) left out "
                             f"({reason}): {', '.join(ids)}.")
    drop = zero | unknown
    if drop.any():
        d = d[~drop].reset_index(drop=True)
    try:
        d = d.assign(treatment_time=d["treatment_time"].where(d[group] != ref))
        if competing:
            # cause-specific hazard: events of `cause`, competing events censored
            d = d.assign(event=(d["event"] == cause).astype(np.int64))
        with _advice_of_no_setting(m.id, "immortal-time comparison (its models take none of "
                                   "the analysis's settings)"):
            cmp = compare_naive_vs_timedependent(d, time="time", event="event",
                                                 id="patient_id", group=group,
                                                 treatment_time=tt, reference=ref,
                                                 landmarks=landmarks, conf_level=conf_level)
    except (ValueError, ArithmeticError, np.linalg.LinAlgError) as exc:
        # a comparison that cannot be fitted is reported, not fatal; the warning says so
        # instead of promising a comparison that is not there (a bug is not "cannot be
        # fitted": it goes up to run_analysis, which reports it as an internal error)
        if not _is_data_problem(exc):
            raise
        why = str(exc).rstrip(".")
        warnings.warn(f"{problem} The time-dependent "
                      f"{'cause-specific Cox model' if competing else 'analysis'} could not be "
                      f"made: {why}.", ImmortalTimeWarning)
        out.notes.append(f"Immortal time: no time-dependent comparison: {why}.")
        out.summary["immortal_time"] = {"check": _check_json(chk),
                                        "comparison_error": f"analysis '{m.id}': {exc}",
                                        "exclusions": left_out}
        return
    warnings.warn(f"{problem} {beside[0].upper()}{beside[1:]}.", ImmortalTimeWarning)
    out.notes.append(f"Immortal time: {beside}.")
    table = cmp.table
    if "note" in table.columns:
        # no setting of the kind reaches the comparison (a cox analysis's firth: true, a
        # finegray analysis's max_iter): advice naming one is left out
        from ..stats.shapes import plan_advice
        table = table.assign(note=table["note"].astype(object).map(
            lambda v: plan_advice(v, frozenset(), m.id)))
    if competing:
        table = table.assign(method="cause-specific Cox, " + table["method"].astype(str))
    out.summary["immortal_time"] = {"check": _check_json(chk),
                                    "comparison": jsonable(table), "exclusions": left_out}
    out.summary["immortal_time"]["conf_level"] = conf_level
    table.attrs["conf_level"] = conf_level      # the level its headers print
    out.tables.append(("immortal_time", "Immortal-time check: naive vs time-dependent vs landmark"
                       + (f" (cause-specific hazard of cause {cause}" if competing
                          else " (hazard ratios") + f", {100 * conf_level:g}% CI)", table))
    if competing and landmarks:
        # the patients of the comparison: a treated patient whose start is unknown has no
        # group known at the landmark
        gone = {i for e in left_out if e["reason"] != ZERO_TIME_REASON for i in e["ids"]}
        lm_df = df[~df["patient_id"].astype(str).isin(gone)]
        lm = landmark_cif_rows(lm_df.assign(treatment_time=exposure_time(lm_df, start_col,
                                                                         info["unit"])),
                               group=group, order=order, cause=cause, landmarks=landmarks,
                               times=list(getattr(m, "times", None) or []),
                               conf_type=getattr(m, "conf_type", "log-log"),
                               conf_level=conf_level)
        lm["estimates"].attrs["conf_level"] = conf_level
        out.summary["immortal_time"]["landmark_cif"] = jsonable(lm["estimates"])
        out.summary["immortal_time"]["landmark_sets"] = lm["sets"]
        out.tables.append(("landmark_cif", f"Landmark cumulative incidence of cause {cause} by the "
                           f"group known at the landmark (time since the landmark, {info['unit']})",
                           lm["estimates"]))


def landmark_cif_rows(df: pd.DataFrame, *, group: str, order, cause: int, landmarks, times,
                      conf_type: str = "log-log", conf_level: float = 0.95) -> dict:
    """Landmark cumulative incidence: the immortal-time-safe counterpart of a naive CIF.

    At each landmark ``L`` the analysis set is the patients still event-free and under
    follow-up after ``L`` (``time > L``); their group is the one known at ``L`` (a
    treatment started at or before ``L``; otherwise the reference, ``order[0]``), time
    restarts at ``L``, and the Aalen-Johansen cumulative incidence of ``cause`` is
    estimated by group with Gray's test. Columns ``df``: ``time``, ``event`` (code),
    ``treatment_time`` (endpoint unit, NaN = never), ``group``.

    Returns ``{"estimates": DataFrame[landmark, group, time, estimate, lower, upper,
    n_risk, n, events, gray_p, note], "sets": [{landmark, n, excluded: {reason: n}}]}``.
    A landmark with one group left or no event of ``cause`` is a row with its reason.

    Validated against: its parts (cumulative_incidence, gray_test) are validated against
    R cmprsk::cuminc; the landmark set follows stats.landmark.landmark_set (tested).
    """
    from ..stats.competing import cumulative_incidence, gray_test
    ref = order[0]
    rows, sets = [], []
    T = df["time"].to_numpy(float)
    E = df["event"].to_numpy()
    X = df["treatment_time"].to_numpy(float)
    G = df[group].astype(object).to_numpy()
    for L in landmarks:
        L = float(L)
        keep = T > L
        ended = ~keep
        sets.append({"landmark": L, "n": int(keep.sum()),
                     "excluded": {"event at or before landmark": int((ended & (E > 0)).sum()),
                                  "censored at or before landmark": int((ended & (E == 0)).sum())}})
        g = np.where(np.isfinite(X) & (X <= L), G, ref)[keep]
        t, e = T[keep] - L, E[keep]
        levels = [x for x in order if x in set(g)]
        base = {"landmark": L, "n": int(keep.sum()), "events": int((e == cause).sum())}
        if len(levels) < 2 or not (e == cause).any():
            why = ("one group only at the landmark" if len(levels) < 2
                   else f"no events of cause {cause} after the landmark")
            rows.append({**base, "group": None, "time": np.nan, "estimate": np.nan,
                         "lower": np.nan, "upper": np.nan, "n_risk": np.nan, "gray_p": np.nan,
                         "note": f"not estimable: {why}"})
            continue
        res = cumulative_incidence(t, e, g, conf_type=conf_type, conf_level=conf_level,
                                   order=levels)
        p = gray_test(t, e, g, cause=cause, order=levels).p
        at = curve_at(res, times) if times else pd.DataFrame()
        at = at[at["cause"] == cause] if len(at) else at
        if not len(at):
            rows.append({**base, "group": None, "time": np.nan, "estimate": np.nan,
                         "lower": np.nan, "upper": np.nan, "n_risk": np.nan, "gray_p": p,
                         "note": "no times: give `times:` for landmark estimates"})
            continue
        for _, r in at.iterrows():
            rows.append({**base, "group": r["group"], "time": r["time"], "estimate": r["estimate"],
                         "lower": r["lower"], "upper": r["upper"], "n_risk": r["n_risk"],
                         "gray_p": p, "note": r.get("note", "") or ""})
    cols = ["landmark", "group", "time", "estimate", "lower", "upper", "n_risk", "n", "events",
            "gray_p", "note"]
    return {"estimates": pd.DataFrame(rows, columns=cols), "sets": sets}


# ----------------------------------------------------------------------------- running one analysis
def _plan_level_order(ctx: Context, m):
    """A group column without ``order:`` takes the plan-level ``levels:`` of that column
    (docs/tables.md): the same level order in every table and figure, the first level the
    reference, as with ``order:``. Kinds whose ``order`` means something else are untouched."""
    from .registry import _Group, _OptGroup
    levels = (ctx.plan or {}).get("levels") or {}
    group = getattr(m, "group", None)
    if (isinstance(m, (_Group, _OptGroup)) and isinstance(group, str) and group in levels
            and m.order is None):
        return m.model_copy(update={"order": list(levels[group])})
    return m


INTERNAL_ERROR = "internal error"
#: How each status other than "ok" is said (report, console, warnings).
STATUS_LABEL = {"not estimable": "Not estimable", "error": "Failed by an internal error"}


def _is_data_problem(exc: BaseException) -> bool:
    """Whether ``exc`` says the data cannot support the analysis (not estimable) rather
    than that aplcohort failed (a bug). Our own checks raise :class:`NotEstimable` or
    ``InputError``; a singular matrix or an arithmetic error is the data's too. A bare
    ``ValueError`` counts as the data's only where the numerical libraries raised it (numpy,
    scipy, statsmodels refuse degenerate input that way); one raised inside pandas or the
    standard library is a programming error (e.g. "the truth value of a DataFrame is
    ambiguous"), and so is every other exception type (TypeError, KeyError, ...)."""
    from ..errors import InputError
    if isinstance(exc, (NotEstimable, InputError, ArithmeticError, np.linalg.LinAlgError)):
        return True
    if type(exc) is not ValueError:
        return False
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    # the module of the frame that raised it (not its file path: a checkout or venv folder
    # named "aplcohort" would hold pandas too)
    module = str(tb.tb_frame.f_globals.get("__name__", "")) if tb is not None else ""
    return module.split(".")[0] in ("numpy", "scipy", "statsmodels", "aplcohort")


def _failure(exc: BaseException) -> tuple[bool, str]:
    """``(internal, reason)`` of an analysis or part that raised ``exc``: a bug of
    aplcohort (:func:`internal_error_reason`) or the data's reason (the message)."""
    if _is_data_problem(exc):
        return False, str(exc).strip() or type(exc).__name__
    return True, internal_error_reason(exc)


def internal_error_reason(exc: BaseException) -> str:
    """The reason given for an analysis that failed by a bug: said as such, so nobody reads
    it as a property of their data."""
    msg = str(exc).strip()
    return (f"{INTERNAL_ERROR} in aplcohort ({type(exc).__name__}{': ' + msg if msg else ''}); "
            "this is a bug, not a property of the data: please report it with the plan "
            "(the other analyses are unaffected)")


def run_analysis(ctx: Context, a):
    """Run one analysis (a plan entry or its validated model) -> :class:`AnalysisOutput`.

    A :class:`PlanError` (a mistake in the plan) propagates; anything that makes the
    analysis impossible to estimate on this data (:class:`NotEstimable`, an estimator's
    ``InputError``, a numerical library's ``ValueError``, a singular matrix) gives
    ``status: "not estimable"`` with the reason, naming the analysis. Any other exception
    is a bug of aplcohort: ``status: "error"`` with a reason that says so
    (:func:`internal_error_reason`). Either way the other analyses are unaffected.
    """
    from .runner import AnalysisOutput
    from .spec import parse_analysis
    m = a if not isinstance(a, dict) else parse_analysis(a, f"analysis '{a.get('id')}'")
    from_levels = getattr(m, "order", None) is None
    m = _plan_level_order(ctx, m)
    from_levels = from_levels and getattr(m, "order", None) is not None
    handler = globals()[KINDS[m.kind].handler]
    out = AnalysisOutput(id=m.id, kind=m.kind, title=m.title or m.id,
                         summary={"kind": m.kind, "title": m.title or m.id, "status": "ok"})
    out.attrition = ctx.cohort.attrition.copy()
    for st in ctx.cohort.attrition.steps:  # the plan's filters
        if st.n_excluded:
            out.exclusions.append({"reason": f"plan filter '{st.step}': {st.reason}",
                                   "n": st.n_excluded, "ids": list(st.excluded_ids)})
    cohort = analysis_set(ctx, m, out)
    token = _ORDER_FROM_LEVELS.set(from_levels)
    try:
        handler(ctx, m, cohort, out)
    except PlanError:
        raise
    except Exception as exc:  # noqa: BLE001 -- one failing analysis must not hide the others
        internal, reason = _failure(exc)
        if f"'{m.id}'" not in reason:
            reason = f"analysis '{m.id}': {reason}"
        status = "error" if internal else "not estimable"
        keep = {k: out.summary[k] for k in ("kind", "title", "analysis_set", "endpoint", "n")
                if k in out.summary}
        out.summary = {**keep, "status": status, "reason": reason}
        out.status, out.reason = status, reason
        out.tables, out.figures, out.result = [], [], None
        out.notes.insert(0, f"{STATUS_LABEL[status]}: {reason}")
    finally:
        _ORDER_FROM_LEVELS.reset(token)
    out.summary["exclusions"] = list(out.exclusions)
    dropped = {e["reason"]: e["n"] for e in out.exclusions if e["reason"].startswith("missing ")}
    if dropped:  # older contract: complete-case drops as {reason: n}; `exclusions` has the ids
        out.summary["dropped"] = dropped
    for e in out.exclusions:
        ids = ", ".join(e["ids"][:20]) + (" ..." if len(e["ids"]) > 20 else "")
        out.notes.append(f"Excluded {e['n']}: {e['reason']} ({ids})")
    _kind_advice(out, m)
    if not getattr(m, "table", True):
        out.tables = []
    return out


def kind_settings(m) -> frozenset:
    """The keys analysis ``m``'s kind accepts (the registry's model fields): the settings
    its notes and warnings may name (:func:`aplcohort.stats.shapes.plan_advice`)."""
    return frozenset(type(m).model_fields) if m is not None else frozenset()


def _advisers(settings, analysis_id):
    """``(text, frame)``: a text (or a dict / list of them) and a table with the
    estimators' advice made that of an analysis whose kind has the keys ``settings``
    (:func:`aplcohort.stats.shapes.plan_advice`)."""
    from ..stats.shapes import SETTING_HINTS, plan_advice
    hints = [python for rows in SETTING_HINTS.values() for python, _w, _wo in rows]

    def has_hint(x):
        return isinstance(x, str) and any(h in x for h in hints)

    def text(v):
        if isinstance(v, str):
            return plan_advice(v, settings, analysis_id)
        if isinstance(v, dict):
            return {k: text(x) for k, x in v.items()}
        if isinstance(v, list):
            return [text(x) for x in v]
        if isinstance(v, tuple):
            return tuple(text(x) for x in v)
        return v

    def frame(t):
        if not isinstance(t, pd.DataFrame):
            return t
        # text columns: object under pandas 2, the string dtype under pandas 3
        cols = [j for j in range(t.shape[1])
                if (pd.api.types.is_object_dtype(t.iloc[:, j].dtype)
                    or pd.api.types.is_string_dtype(t.iloc[:, j].dtype))
                and t.iloc[:, j].map(has_hint).any()]
        if not cols:
            return t
        t = t.copy()    # keeps attrs (the conf_level its headers print)
        for j in cols:
            t.iloc[:, j] = t.iloc[:, j].map(text)
        return t

    return text, frame


def _kind_advice(out, m) -> None:
    """The estimators' advice in every table, note and results.json text of analysis ``m``
    made that of its kind (:func:`aplcohort.stats.shapes.plan_advice`): a setting the kind
    has is named as the plan key ("consider firth: true" in ``cox``), advice naming a
    setting it has not (``firth`` in ``cif``, ``immortal_time``, a landmark Cox ...;
    ``max_iter`` everywhere but ``finegray``) or a Python function is left out or replaced
    by what can be done. (The warnings caught while it ran go through the same function in
    :func:`aplcohort.plan.runner._collect_warnings`; the parts no setting reaches, the
    immortal-time comparison and the propensity-score adjustment, were given the advice of
    no setting where they were made.)"""
    text, frame = _advisers(kind_settings(m), m.id)
    out.summary = text(out.summary)
    out.notes = text(out.notes)
    out.choices = text(out.choices)
    out.reason = text(out.reason)
    out.tables = [(name, caption, frame(t), *rest) for name, caption, t, *rest in out.tables]


#: Whether the running analysis's ``order`` came from the plan-level ``levels:`` (set by
#: :func:`run_analysis`; the note of :func:`_absent_levels` names the setting the user wrote).
_ORDER_FROM_LEVELS: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "_ORDER_FROM_LEVELS", default=False)


def _absent_levels(m, present) -> None:
    """The one rule for a level of the group order with no patient in the analysis set (a
    ``where:`` that removes it, or its patients left out for a missing endpoint or group,
    each in the exclusions log): the analysis runs on the other groups and says so -- a
    StatisticalWarning, which the run puts in the analysis's notes and ``warnings``
    (results.json) and the report. Without it the level was dropped without a word."""
    import warnings

    from ..errors import StatisticalWarning
    have = set(present)
    absent = [o for o in (getattr(m, "order", None) or []) if o not in have]
    if not absent:
        return
    group = getattr(m, "group", None)
    setting = (f"the plan's levels: for '{group}'" if _ORDER_FROM_LEVELS.get() else "order")
    where = getattr(m, "where", None)
    after = (f"after where: `{where}` and the exclusions logged" if where
             else "after the exclusions logged")
    names = ", ".join(repr(str(o)) for o in absent)
    which = "has no patient" if len(absent) == 1 else "have no patients"
    warnings.warn(f"{setting} lists {names}, which {which} in this analysis ({after}): "
                  f"left out of the comparison and its tables", StatisticalWarning, stacklevel=3)


def _order(m, values):
    """The analysis's group order on ``values`` (the analysis set's group column): the
    levels of ``order`` present (a level with no patient is left out and said:
    :func:`_absent_levels`), then any other level, sorted as text; without ``order`` the
    data dictionary's level order."""
    present = [v for v in pd.unique(values) if not pd.isna(v)]
    if getattr(m, "order", None):
        _absent_levels(m, present)
        order = [o for o in m.order if o in set(present)]
        extra = sorted(set(present) - set(order), key=str)
        return order + extra
    # neither order: nor levels: -> the data dictionary's level order where the column has
    # a vocabulary (ATO-based, auto HSCT, allo HSCT; no HSCT, HSCT), else alphabetical as
    # text; the first level is the reference (docs/plans.md, "Group order")
    from ..tables.labels import resolve_labels
    return resolve_labels().order(getattr(values, "name", None), present)


def _legend_labels(ctx, column, levels):
    """``{level: printed name}`` for a figure legend: the label resolver of the run (data
    dictionary, plan ``labels:``), the names the tables print; None without groups."""
    if column is None or not levels:
        return None
    from ..tables.labels import resolve_labels
    return resolve_labels(ctx.plan).level_map(column, levels)


def _resolver(ctx):
    """The run's label resolver (data dictionary + plan ``labels:`` / ``levels:``)."""
    from ..tables.labels import resolve_labels
    return resolve_labels(ctx.plan)


def _counts(df: pd.DataFrame, gcol, order, event_value=1) -> dict:
    if gcol is None:
        return {"all": (int(len(df)), int((df["event"] == event_value).sum()))}
    return {g: (int((df[gcol] == g).sum()), int(((df[gcol] == g) & (df["event"] == event_value)).sum()))
            for g in order}


# ----------------------------------------------------------------------------- handlers
def _two_groups(m, order, what="test"):
    if not order:   # ("one group only (none)" read as the level 'none' of a treatment)
        raise NotEstimable(f"analysis '{m.id}': no patient left, so no group of '{m.group}'; "
                           f"a {what} needs two or more")
    if len(order) < 2:
        raise NotEstimable(f"analysis '{m.id}': one group only ({order[0]}) "
                           f"in '{m.group}'; a {what} needs two or more")


def _adjusted(ctx, m, df, out, what: str) -> None:
    """With ``propensity:``, the propensity-score-adjusted analysis beside the unadjusted one
    (:mod:`aplcohort.adjust.plan`): balance table and figures first, then the unadjusted and
    adjusted results. It is an optional part: when it cannot be estimated (positivity fails,
    trimming removes a group, ...) the unadjusted analysis stands and ``adjusted`` is
    ``{status: not estimable, reason}``. The data are indexed by patient id, so every
    patient the adjustment names (positivity, trimming, matching) is named by id."""
    if not getattr(m, "propensity", None):
        return
    # the weighted / matched models take none of the kind's settings (a cox analysis's
    # firth: true, a finegray analysis's max_iter): their advice names none
    n_tables = len(out.tables)
    with _advice_of_no_setting(m.id), _part(out, "adjusted", "propensity-score adjustment"):
        _adjusted_part(ctx, m, df, out, what)
    text, frame = _advisers(frozenset(), m.id)
    out.tables[n_tables:] = [(name, caption, frame(t), *rest)
                             for name, caption, t, *rest in out.tables[n_tables:]]
    if "adjusted" in out.summary:
        out.summary["adjusted"] = text(out.summary["adjusted"])
    failed = out.summary.get("adjusted")
    if isinstance(failed, dict) and failed.get("status") in ("not estimable", "error"):
        # said where the reader of the tables and the manuscript looks, not only in the
        # report's notes and results.json: a table of its own, as the notes of an
        # adjustment that could be made
        settings = dict(m.propensity)
        group = settings.get("treatment") or getattr(m, "group", None)
        reason = str(failed.get("reason", ""))
        if isinstance(group, str) and group in df.columns:
            from ..adjust.plan import relabel_groups
            reason = relabel_groups(reason, group, list(pd.unique(df[group].dropna())),
                                    _resolver(ctx))
        lines = [ln.strip().lstrip("-").strip() for ln in reason.splitlines() if ln.strip()]
        lines = lines or ["no reason given"]
        lines[0] = f"No propensity-score adjustment: {lines[0]}"
        how = _method_text(settings)
        said = "not estimable" if failed["status"] == "not estimable" else "failed"
        out.tables.append(("adjusted_notes", f"Propensity-score adjustment ({how}) {said}",
                           pd.DataFrame({"note": lines})))


def _method_text(settings: dict) -> str:
    """The adjustment a ``propensity:`` block asks for, as captions say it ("ATE
    weighting", "1:2 matching").

    >>> _method_text({"method": "matching", "ratio": 2}), _method_text({"covariates": ["a"]})
    ('1:2 matching', 'ATE weighting')
    """
    if settings.get("method", "iptw") == "matching":
        return f"1:{settings.get('ratio', 1)} matching"
    return f"{settings.get('estimand', 'ATE')} weighting"


def _adjusted_exclusions(res, lab=None, group=None) -> list:
    """Patients in the unadjusted analysis but not in the adjusted one, ``[{reason, n,
    ids}]``: no propensity score (a covariate missing), trimmed, or left unmatched. With
    ``lab`` (the run's labels) each also has ``shown``: the reason with the covariates and
    the groups of ``group`` by their labels (for the notes; ``reason`` keeps the codes)."""
    groups: dict = {}
    shown: dict = {}
    exc = getattr(res.ps, "excluded", None)
    if exc is not None:
        for r in exc.itertuples(index=False):
            cols = str(r.reason).split(": ", 1)[-1]
            key = f"missing a propensity-score covariate ({cols})"
            groups.setdefault(key, []).append(r.row)
            if lab is not None:
                shown[key] = ("missing a propensity-score covariate (" + ", ".join(
                    lab.column(c.strip(), unit=False) for c in cols.split(",")) + ")")
    adj = res.adjustment
    trimmed = getattr(adj, "excluded", None)
    if trimmed is not None and getattr(adj, "trim", None) is not None:
        for r in trimmed.itertuples(index=False):
            if str(r.reason).startswith("trimmed"):
                groups.setdefault(f"trimmed: a propensity score below {adj.trim:g} (or above "
                                  f"{1 - adj.trim:g})", []).append(r.row)
    unmatched = getattr(adj, "unmatched", None)
    if unmatched is not None:
        for r in unmatched.itertuples(index=False):
            key = f"unmatched ({r.group}): {r.reason}"
            groups.setdefault(key, []).append(r.row)
            if lab is not None:
                shown[key] = f"unmatched ({lab.level(group, r.group)}): {r.reason}"
    return [{"reason": k, "n": len(v), "ids": [str(i) for i in v],
             **({"shown": shown.get(k, k)} if lab is not None else {})}
            for k, v in groups.items()]


def _adjusted_part(ctx, m, df, out, what: str) -> None:
    from ..adjust import plan as ap
    settings = dict(m.propensity)
    group = settings.pop("treatment", None) or m.group   # cox/finegray name the treatment
    if group not in df.columns:
        raise PlanError(f"analysis '{m.id}': propensity treatment column '{group}' is not in "
                        "the data")
    if "patient_id" in df.columns and df["patient_id"].is_unique:
        # patients are named by id in every message and in results.json (not by position)
        df = df.set_index(pd.Index(df["patient_id"].astype(str).to_numpy(), name="patient_id"))
    lab = _resolver(ctx)
    kw = dict(group=group, adjust=settings, labels=lab)
    # the treatment's reference group is the one the plan's own model uses
    ref = (m.categorical or {}).get(group) if what in ("cox", "finegray") else None
    if what == "cox":
        res = ap.adjusted_cox(df, time="time", event="event", conf_level=m.conf_level,
                              reference=ref, **kw)
    elif what == "finegray":
        res = ap.adjusted_finegray(df, time="time", code="event", cause=m.cause,
                                   conf_level=m.conf_level, reference=ref, **kw)
    elif what == "km":
        res = ap.adjusted_km(df, time="time", event="event", conf_type=m.conf_type,
                             conf_level=m.conf_level, **kw)
    elif what == "cif":
        res = ap.adjusted_cif(df, time="time", code="event", conf_type=m.conf_type,
                              conf_level=m.conf_level, **kw)
    elif what == "logrank":
        res = ap.adjusted_logrank(df, time="time", event="event", **kw)
    else:
        res = ap.adjusted_table1(df, group=group, variables=list(m.variables), adjust=settings,
                                 labels=lab)
    # adjusted-only drops: the patients are in the unadjusted analysis (its `n`), so they
    # are recorded under `adjusted`, not in the analysis's `exclusions` (n + exclusions =
    # the patients loaded)
    left = _adjusted_exclusions(res, lab, group)
    # the patients the adjusted result leaves out, by id; the Python API's count-only note
    # of the patients without a score says the same, so it is replaced (not shown twice)
    no_score = getattr(res.ps, "excluded", None)
    skip = ap.no_score_note(len(no_score)) if no_score is not None and len(no_score) else None
    by_id = [f"{e['n']} patient(s) in the unadjusted analysis only, {e.pop('shown')} ("
             + ", ".join(e["ids"][:20]) + (" ..." if len(e["ids"]) > 20 else "") + ")"
             for e in left]
    res = dataclasses.replace(res, notes=tuple(n for n in res.notes if n != skip) + tuple(by_id))
    out.summary["adjusted"] = jsonable(res.to_dict())
    out.summary["adjusted"]["n"] = int(len(df) - sum(e["n"] for e in left))
    out.summary["adjusted"]["exclusions"] = left
    method = res.balance.adjustment
    for name, tab in res.tables.items():
        slug = re.sub(r"[^A-Za-z0-9_-]+", "_", str(name)).strip("_")[:40]
        out.tables.append((f"adjusted_{slug}", _adjusted_caption(str(name), method, res),
                           _adjusted_table(str(name), tab, res, group, method)))
    if _fig(ctx, m):
        lab = _legend_labels(ctx, group, list(getattr(res.ps, "groups", ())))
        from ..tables.labels import resolve_labels
        cov = {c: resolve_labels(ctx.plan).column(c) for c in res.balance.table["covariate"]}
        figs = res.figures(palette=ctx.palette, level_labels=lab, labels=cov)
        for name, fig in figs.items():
            slug = re.sub(r"[^A-Za-z0-9_-]+", "_", str(name)).strip("_")[:40]
            out.figures.append((f"{m.id}__{slug}", fig))
        if what in ("km", "cif"):
            # the weighted curves; no risk table (weighted numbers at risk are not patients),
            # no median legend counts from weights
            from ..plots.survival import plot_cif, plot_km
            lab = f"{m.label or out.summary.get('endpoint', {}).get('label', '')} ({method})"
            unit = out.summary.get("endpoint", {}).get("unit", "months")
            names = _legend_labels(ctx, group, list(getattr(res.adjusted, "groups", ()) or ()))
            fig = (plot_km(res.adjusted, risk_table=False, median_legend=False, show_n=False,
                           time_unit=unit, ylabel=lab, width="double", palette=ctx.palette,
                           labels=names)
                   if what == "km" else
                   plot_cif(res.adjusted, cause=m.cause, risk_table=False, time_unit=unit,
                            palette=ctx.palette, labels=names,
                            ylabel=lab, width="double"))
            out.figures.append((f"{m.id}__adjusted_curves", _figure_of(fig)))
    out.notes += [f"adjusted ({method}): {n}" for n in res.notes]


def _adjusted_table(name: str, tab, res, group: str, method: str):
    """A table of a propensity-score block with what its journal table needs to say about
    itself (``DataFrame.attrs``, read by the writer; the CSV keeps the numbers as they are):
    the treatment column its groups are levels of; for a model's terms, the n and events of
    that model (the adjusted model has its own patients: not the main model's) and, for the
    adjusted one, that its patients are weighted; for a weighted curve, that its counts are
    sums of weights."""
    if not isinstance(tab, pd.DataFrame):
        return tab
    tab = tab.copy()
    tab.attrs = dict(tab.attrs)
    tab.attrs["group_column"] = group
    side, _, what = name.partition(": ")
    fit = {"adjusted": res.adjusted, "unadjusted": res.unadjusted}.get(side)
    w = getattr(res.adjustment, "weights", None)
    weighted = False
    if isinstance(w, pd.Series):
        pos = w.to_numpy(float)
        pos = pos[np.isfinite(pos) & (pos > 0)]
        weighted = bool(len(pos)) and not np.allclose(pos, 1.0)
    if what == "terms" and fit is not None:
        n, ev = getattr(fit, "n", None), getattr(fit, "events", None)
        if n is not None and ev is not None:
            tab.attrs["n"], tab.attrs["events"] = int(n), int(ev)
        if side == "adjusted":
            if "matching" in method:
                note = f"the patients of the {method.replace('matching', 'matched')} sample"
                tab.attrs["sample_note"] = note + (
                    ", each counted with its matching weight; a control matched more than "
                    "once counts more" if weighted else "")
            else:
                tab.attrs["sample_note"] = (f"the patients with a positive weight, each "
                                            f"counted with its {method.removesuffix(' weights')}"
                                            " weight in the model")
    if side == "adjusted" and weighted:
        tab.attrs["weighted"] = "matching weights" if "matching" in method else method
    return tab


def _adjusted_caption(name: str, method: str, res) -> str:
    """Caption of a table of a propensity-score block: what the table is, and whether it is
    the unadjusted result (without the weighting / matching) or the adjusted one.

    >>> _adjusted_caption("unadjusted: median", "ATE weights", None)
    'Median, unadjusted (without ATE weighting)'
    >>> _adjusted_caption("balance", "1:1 matching", None)
    'Covariate balance before and after 1:1 matching'
    """
    how = re.sub(r" weights$", " weighting", method)
    if name == "balance":
        return f"Covariate balance before and after {how}"
    if name == "notes":
        return f"Notes on the propensity-score adjustment ({how})"
    if name in ("adjusted", "unadjusted"):   # one frame (table1: both columns in it)
        return (f"Characteristics before and after {how}" if name == "adjusted"
                else f"Unadjusted characteristics (without {how})")
    side, _, what = name.partition(": ")
    what = what.replace("_", " ")
    if side == "adjusted" and what == "test" and getattr(res, "analysis", "") == "logrank":
        what = "weighted log-rank test (robust score test of the weighted Cox model)"
    what = what[:1].upper() + what[1:]
    if side == "unadjusted":
        return f"{what}, unadjusted (without {how})"
    return f"{what}, adjusted ({how})"


def h_km(ctx, m, cohort, out):
    from ..stats.km import kaplan_meier, median_followup
    from ..stats.logrank import logrank_test, pairwise_logrank, weighted_logrank
    df, info = endpoint_frame(ctx, m, cohort, out)
    out.summary["endpoint"] = info
    group = m.group
    df = _drop_missing(out, df, {"group": group, "strata": m.strata})
    if m.start_time is not None:   # conditional survival: R survfit(start.time =)
        df = _exclude(out, df, (df["time"] < m.start_time).to_numpy(),
                      f"followed less than start_time {m.start_time:g} {info['unit']} "
                      f"(conditional survival)")
    if not len(df):
        raise NotEstimable(f"analysis '{m.id}': no patients left")
    g = df[group].to_numpy(dtype=object) if group else None
    order = _order(m, df[group]) if group else None
    res = kaplan_meier(df["time"], df["event"], g, conf_type=m.conf_type, conf_level=m.conf_level,
                       order=order, ctype=m.ctype, stype=m.stype, start_time=m.start_time)
    med, at = curve_medians(res), curve_at(res, m.times)
    counts = _counts(df, group, order) if group else {med["group"].iloc[0]: _counts(df, None, None)["all"]}
    label = m.label or info["label"]
    s = out.summary
    s.update({"n": int(len(df)), "events": int((df["event"] == 1).sum()),
              "groups": curve_groups(med, at, counts), "conf_type": res.conf_type,
              "conf_level": res.conf_level})
    strata = df[m.strata].to_numpy(dtype=object) if m.strata else None
    test = None
    if group and m.test != "none":
        if len(order) < 2:
            s["test"] = {"test": m.test, "statistic": None, "df": None, "p": None,
                         "status": "not estimable", "reason": f"one group only in '{group}'"}
            out.notes.append(f"No test: one group only in '{group}'.")
        else:
            if m.test == "logrank":
                test = logrank_test(df["time"], df["event"], g, strata=strata, rho=m.rho, order=order)
            else:
                test = weighted_logrank(df["time"], df["event"], g, weights=m.test, p=m.p, q=m.q,
                                        strata=strata, order=order)
            s["test"] = test_summary(test)
            _embedded_test(out, s["test"], test.test)
            if m.strata:
                s["test"]["strata"] = m.strata
            s.update({"statistic": s["test"]["statistic"], "df": s["test"]["df"], "p": s["test"]["p"]})
            # the test as a table (as the logrank kind): not only drawn in the figure
            test_table(out, test, group, len(df), s["events"], strata=m.strata)
            if m.pairwise:
                w = None if m.test == "logrank" else m.test
                pw = pairwise_logrank(df["time"], df["event"], g, adjust=m.adjust, rho=m.rho,
                                      weights=w, p=m.p, q=m.q, strata=strata, order=order)
                s["pairwise"] = jsonable(pw.table)
                _pairwise_notes(out, pw.table, "Pairwise test")
                out.tables.append(("pairwise", "Pairwise comparisons", pw.table))
    if m.hr:
        with _part(out, "hr", "hazard ratio"):
            from ..stats.cox import coxph
            _two_groups(m, order, "hazard ratio")
            cox = coxph(df, time="time", event="event",
                        covariates=[group], categorical={group: order[0]}, strata=m.strata,
                        conf_level=m.conf_level)
            s["hr"] = terms_summary(cox.terms)
            hr = terms_frame(cox.terms)
            # the reference level, so that the table labels the terms as the Cox tables do
            # ("Reinduction" / "IC"), not by their model names (reinduction_regimenIC)
            hr.attrs["reference_levels"] = {group: order[0]}
            out.tables.append(("hr", f"Hazard ratios vs {order[0]}"
                               + (f" (Cox model stratified by {m.strata})" if m.strata else ""),
                               hr))
    if m.median_followup:
        with _part(out, "median_followup", "median follow-up"):
            fu = median_followup(df["time"], df["event"], g, conf_type=m.conf_type,
                                 conf_level=m.conf_level, order=order)
            s["median_followup"] = jsonable(fu)
            out.tables.append(("median_followup",
                               f"Median follow-up (reverse Kaplan–Meier), {info['unit']}", fu))
    if m.stype != 1 or m.ctype != 1:
        s["survival"] = res.choices.get("survival")
        s["cumulative_hazard"] = res.choices.get("cumulative hazard")
    if m.start_time is not None:
        s["start_time"] = m.start_time
        out.notes.append(f"Conditional survival: patients still followed at {m.start_time:g} "
                         f"{info['unit']}; curves start there at 1 (R survfit start.time).")
    chaz = None
    if m.cumhaz:
        chaz = res.cumhaz()
        cat = curve_at(chaz, m.times)
        s["cumhaz"] = {"estimator": chaz.choices["estimator"], "conf_type": chaz.conf_type,
                       "groups": {str(gr): [{"time": _num(r["time"]), "estimate": _num(r["estimate"]),
                                             "std_err": _num(r["std_err"]), "lower": _num(r["lower"]),
                                             "upper": _num(r["upper"]), "n_risk": _num(r["n_risk"]),
                                             "note": r["note"] or None}
                                            for _, r in cat[cat["group"] == gr].iterrows()]
                                  for gr in chaz.groups}}
        out.tables.append(("cumulative_hazard", f"{label}: cumulative hazard "
                           f"({chaz.choices['estimator']})", survival_frame(chaz.table)))
    out.result = res
    immortal_time_guard(m, df, info, group, order, out)
    out.choices = (f"CI {res.conf_type} {_pct(res.conf_level)}; time from {info['time_zero']} "
                   f"in {info['unit']}"
                   + (f"; {'test' if m.test != 'none' else ''}"
                      f"{' and ' if m.test != 'none' and m.hr else ''}"
                      f"{'hazard ratio' if m.hr else ''} stratified by {m.strata}"
                      if m.strata else "")
                   + (f"; survival {res.choices['survival']}, cumulative hazard "
                      f"{res.choices['cumulative hazard']}" if m.stype != 1 or m.ctype != 1 else "")
                   + (f"; conditional on follow-up to {m.start_time:g}"
                      if m.start_time is not None else ""))
    out.tables.append(("medians", f"{label}: median ({_pct(m.conf_level)} CI), {info['unit']}",
                       survival_frame(med)))
    if len(at):
        out.tables.append(("estimates", f"{label} at chosen times", survival_frame(at)))
    if _fig(ctx, m):
        from ..plots.survival import plot_km
        fig = plot_km(res, times=_ticks(m, df["time"], info["unit"]),
                      pvalue=test.p if test is not None else None,
                      pvalue_test=test.test if test is not None else None,
                      time_unit=info["unit"], ylabel=label, order=order, width="double",
                      palette=ctx.palette, labels=_legend_labels(ctx, group, order))
        out.figures.append((m.id, _figure_of(fig)))
        if chaz is not None:
            from ..plots.cumhaz import plot_cumhaz
            fig = plot_cumhaz(chaz, times=_ticks(m, df["time"], info["unit"]),
                              time_unit=info["unit"], order=order, width="double")
            out.figures.append((f"{m.id}__cumhaz", _figure_of(fig)))
    _adjusted(ctx, m, df, out, "km")


def _ticks(m, time: pd.Series, unit: str):
    """Risk-table / x-axis ticks: plan ``ticks``, else clinical spacing for the unit
    (every 12 or 24 months, every 1 or 2 years, every 7 or 14 days)."""
    if m.ticks:
        return list(m.ticks)
    tmax = float(np.nanmax(time)) if len(time) else 0.0
    if tmax <= 0:
        return None
    steps = {"months": (12, 24, 60), "years": (1, 2, 5), "days": (7, 14, 28, 90, 365)}[unit]
    step = next((s for s in steps if tmax / s <= 10), steps[-1] * int(np.ceil(tmax / steps[-1] / 10)))
    n = int(np.ceil(tmax / step))  # the last tick at or beyond the longest follow-up
    return [float(step * i) for i in range(n + 1)]


def _figure_of(obj):
    import matplotlib.figure
    if isinstance(obj, matplotlib.figure.Figure):
        return obj
    if hasattr(obj, "figure"):
        return obj.figure
    if isinstance(obj, tuple):
        for o in obj:
            if hasattr(o, "savefig"):
                return o
            if hasattr(o, "figure"):
                return o.figure
    raise TypeError(f"cannot find a matplotlib Figure in {type(obj)}")


def h_logrank(ctx, m, cohort, out):
    from ..stats.logrank import logrank_test, pairwise_logrank, trend_test, weighted_logrank
    df, info = endpoint_frame(ctx, m, cohort, out)
    out.summary["endpoint"] = info
    group = m.group
    df = _drop_missing(out, df, {"group": group, "strata": m.strata})
    order = _order(m, df[group])
    out.summary.update({"n": int(len(df)), "events": int((df["event"] == 1).sum())})
    _two_groups(m, order)
    strata = df[m.strata].to_numpy(dtype=object) if m.strata else None
    g = df[group].to_numpy(dtype=object)
    if m.trend:
        res = trend_test(df["time"], df["event"], g, scores=m.scores, strata=strata, rho=m.rho, order=order)
    elif m.test == "logrank":
        res = logrank_test(df["time"], df["event"], g, strata=strata, rho=m.rho, order=order)
    else:
        res = weighted_logrank(df["time"], df["event"], g, weights=m.test, p=m.p, q=m.q,
                               strata=strata, order=order)
    _undefined_test(res, m, res.test)
    out.summary.update({**test_summary(res), "table": jsonable(res.table)})
    if m.strata:
        out.summary["strata"] = m.strata
    out.result = res
    if m.pairwise:
        w = None if m.test == "logrank" else m.test
        pw = pairwise_logrank(df["time"], df["event"], g, adjust=m.adjust, rho=m.rho, weights=w,
                              p=m.p, q=m.q, strata=strata, order=order)
        out.summary["pairwise"] = jsonable(pw.table)
        _pairwise_notes(out, pw.table, "Pairwise test")
        out.tables.append(("pairwise", "Pairwise comparisons", pw.table))
    immortal_time_guard(m, df, info, group, order, out)
    # the test itself (statistic, df, p) as a table of its own, before the counts it rests on
    test_table(out, res, group, len(df), out.summary["events"], strata=m.strata)
    out.tables.append(("observed_expected", res.test, res.table))
    _adjusted(ctx, m, df, out, "logrank")


def h_rmst(ctx, m, cohort, out):
    from ..stats.rmst import rmst2
    df, info = endpoint_frame(ctx, m, cohort, out)
    out.summary["endpoint"] = info
    group = m.group
    df = _drop_missing(out, df, {"group": group})
    order = _order(m, df[group])
    out.summary.update({"n": int(len(df)), "events": int((df["event"] == 1).sum())})
    if len(order) != 2:
        raise NotEstimable(f"analysis '{m.id}': the RMST comparison needs exactly two groups in "
                           f"'{group}'; found {len(order)}: {order} (restrict with where:)")
    res = rmst2(df["time"], df["event"], df[group].to_numpy(dtype=object), m.tau,
                conf_level=m.conf_level, order=order)
    s = out.summary
    s.update({"tau": res.tau, "tau_source": res.tau_source, "tau_max": res.tau_max,
              "conf_level": res.conf_level, "reference": str(order[0]),
              "arms": jsonable(res.arms), "contrasts": jsonable(res.table)})
    diff = res.table.iloc[0]
    s.update({"statistic": _num(diff["estimate"] / diff["se"]) if diff["se"] > 0 else None,
              "p": _num(diff["p"]), "test": "RMST difference (Wald z)"})
    if s["p"] is None:   # a blank p always comes with its reason
        s["reason"] = str(diff["note"]).removeprefix("not estimable: ")
        out.notes.append(f"No RMST test: {s['reason']}.")
    out.result = res
    immortal_time_guard(m, df, info, group, order, out)
    out.choices = (f"tau {res.tau:g} {info['unit']} ({res.tau_source}); {order[1]} vs "
                   f"{order[0]}; {_pct(res.conf_level)} CI; survRM2 rmst2")
    out.tables.append(("rmst", f"Restricted mean survival time to {res.tau:g} {info['unit']}",
                       res.arms))
    out.tables.append(("rmst_contrasts", f"RMST contrasts, {order[1]} vs {order[0]}", res.table))


def h_cif(ctx, m, cohort, out):
    from ..stats.competing import cumulative_incidence, gray_test, pairwise_gray
    df, info = endpoint_frame(ctx, m, cohort, out)
    out.summary["endpoint"] = info
    group = m.group
    df = _drop_missing(out, df, {"group": group, "strata": m.strata})
    if not len(df):
        raise NotEstimable(f"analysis '{m.id}': no patients left")
    order = _order(m, df[group]) if group else None
    g = df[group].to_numpy(dtype=object) if group else None
    cause = m.cause
    s = out.summary
    s.update({"cause": cause, "n": int(len(df)), "events": int((df["event"] == cause).sum()),
              "competing_events": int(((df["event"] > 0) & (df["event"] != cause)).sum())})
    if not (df["event"] == cause).any():
        raise NotEstimable(f"analysis '{m.id}': no events of cause {cause} in endpoint "
                           f"'{m.endpoint}' (n = {len(df)})")
    res = cumulative_incidence(df["time"], df["event"], g, conf_type=m.conf_type,
                               conf_level=m.conf_level, order=order, variance=m.variance,
                               extend=m.extend)
    at = curve_at(res, m.times)
    at = at[at["cause"] == cause].reset_index(drop=True)
    med = curve_medians(res)
    med = med[med["cause"] == cause].reset_index(drop=True)
    counts = (_counts(df, group, order, cause) if group
              else {med["group"].iloc[0]: _counts(df, None, None, cause)["all"]})
    s.update({"groups": curve_groups(med, at, counts), "conf_type": m.conf_type,
              "conf_level": m.conf_level, "variance": m.variance, "extend": m.extend})
    label = m.label or info["label"]
    test = None
    strata = df[m.strata].to_numpy(dtype=object) if m.strata else None
    if group and m.test != "none":
        if len(order) < 2:
            s["test"] = {"test": "Gray", "statistic": None, "df": None, "p": None,
                         "status": "not estimable", "reason": f"one group only in '{group}'"}
            out.notes.append(f"No test: one group only in '{group}'.")
        else:
            test = gray_test(df["time"], df["event"], g, cause=cause, rho=m.rho, strata=strata,
                             order=order)
            s["test"] = test_summary(test, "Gray")
            _embedded_test(out, s["test"], "Gray's test")
            if m.strata:
                s["test"]["strata"] = m.strata
            s.update({"statistic": s["test"]["statistic"], "df": s["test"]["df"], "p": s["test"]["p"]})
            # the test as a table (as the gray kind): not only drawn in the figure
            test_table(out, test, group, len(df), s["events"], strata=m.strata, cause=cause)
            if m.pairwise:
                pw = pairwise_gray(df["time"], df["event"], g, cause=cause, rho=m.rho, strata=strata,
                                   adjust=m.adjust, order=order)
                s["pairwise"] = jsonable(pw.table)
                _pairwise_notes(out, pw.table, "Pairwise Gray test")
                out.tables.append(("pairwise", "Pairwise Gray tests", pw.table))
    if group:
        immortal_time_guard(m, df, info, group, order, out, cause=cause)
    out.result = res
    out.choices = (f"cause {cause}; CI {m.conf_type} {_pct(m.conf_level)} ({m.variance} "
                   f"variance){'; last value carried past follow-up' if m.extend else ''}; time from "
                   f"{info['time_zero']} in {info['unit']}"
                   + (f"; test stratified by {m.strata}" if m.strata else ""))
    out.tables.append(("medians", f"{label}: median time ({_pct(m.conf_level)} CI), {info['unit']}", med))
    if len(at):
        out.tables.append(("estimates", f"{label} at chosen times", at))
    if _fig(ctx, m):
        from ..plots.survival import plot_cif
        fig = plot_cif(res, cause=cause, data=(df["time"].to_numpy(), df["event"].to_numpy(), g),
                       palette=ctx.palette,
                       times=_ticks(m, df["time"], info["unit"]),
                       pvalue=test.p if test is not None else None,
                       pvalue_test=(("stratified Gray" if m.strata else "Gray")
                                    if test is not None else None), time_unit=info["unit"],
                       ylabel=label, order=order, width="double",
                       labels=_legend_labels(ctx, group, order))
        out.figures.append((m.id, _figure_of(fig)))
    _adjusted(ctx, m, df, out, "cif")


def h_gray(ctx, m, cohort, out):
    from ..stats.competing import gray_test
    df, info = endpoint_frame(ctx, m, cohort, out)
    out.summary["endpoint"] = info
    df = _drop_missing(out, df, {"group": m.group, "strata": m.strata})
    order = _order(m, df[m.group])
    out.summary.update({"n": int(len(df)), "cause": m.cause,
                        "events": int((df["event"] == m.cause).sum())})
    _two_groups(m, order)
    if not (df["event"] == m.cause).any():
        raise NotEstimable(f"analysis '{m.id}': no events of cause {m.cause} in endpoint '{m.endpoint}'")
    strata = df[m.strata].to_numpy(dtype=object) if m.strata else None
    res = gray_test(df["time"], df["event"], df[m.group].to_numpy(dtype=object), cause=m.cause,
                    rho=m.rho, strata=strata, order=order)
    _undefined_test(res, m, "Gray's test")
    out.summary.update({**test_summary(res, "Gray"), "table": jsonable(res.table)})
    if m.strata:
        out.summary["strata"] = m.strata
    immortal_time_guard(m, df, info, m.group, order, out, cause=m.cause)
    out.result = res
    test_table(out, res, m.group, len(df), out.summary["events"], strata=m.strata,
               cause=m.cause)
    out.tables.append(("groups", "Gray's test", res.table))


def _regression_summary(out, res, df, event_value=1, m=None):
    # (the terms' advice is made that of the kind with the rest of the analysis's texts,
    # run_analysis -> _kind_advice)
    terms = res.terms
    out.summary.update({"n": int(getattr(res, "n", len(df))),
                        "events": int(getattr(res, "events", (df["event"] == event_value).sum())),
                        "terms": terms_summary(terms),
                        "conf_level": _num(getattr(res, "conf_level", None))})
    variance = getattr(res, "variance", None)
    if isinstance(variance, str):
        out.summary["variance"] = variance
    elif "robust_se" in res.terms.columns and res.terms["robust_se"].notna().any():
        out.summary["variance"] = "robust"
    ll = getattr(res, "loglik", None)
    if ll is not None:
        out.summary["loglik"] = jsonable(ll)
    tests = getattr(res, "tests", None)
    if isinstance(tests, pd.DataFrame):
        out.summary["tests"] = jsonable(tests)
    bad = [t for t in out.summary["terms"] if not t["estimable"]]
    for t in bad:
        out.notes.append(f"term '{t['term']}' not estimable: {t['note']}")
    out.result = res
    out.tables.append(("terms", "Model terms", terms_frame(terms)))


def _check_events(m, df, event_value=1, what="events"):
    if not (df["event"] == event_value).any():
        raise NotEstimable(f"analysis '{m.id}': no {what} in endpoint '{m.endpoint}' (n = {len(df)})")


def _ordered_covariates(ctx, m, df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with every text covariate of a regression kind that has a level order (the
    plan's ``levels:``, else the data dictionary's) as a pandas ``Categorical`` of its
    present levels in that order: the first is the reference unless ``categorical:``
    names one, and the terms follow that order, as the group order of every other kind
    and the Python API on a cohort's frames (docs/figures.md, "Group order"). Other text
    covariates keep their levels sorted, as the estimators do."""
    lab = _resolver(ctx)
    new = {}
    for c in dict.fromkeys(getattr(m, "covariates", None) or []):
        if c not in df.columns or not lab.has_order(c):
            continue
        s = df[c]
        if (isinstance(s.dtype, pd.CategoricalDtype) or pd.api.types.is_numeric_dtype(s)
                or pd.api.types.is_bool_dtype(s)):
            continue
        present = [v for v in pd.unique(s) if not pd.isna(v)]
        if present and all(isinstance(v, str) for v in present):
            new[c] = pd.Categorical(s.astype(object), categories=lab.order(c, present))
    return df.assign(**new) if new else df


def _regression_frame(ctx, m, cohort, out, drop: dict, *events):
    """Complete-case frame of a regression kind: endpoint data, rows missing a model column
    recorded and dropped, categorical columns as labels, and enough events checked."""
    df, info = endpoint_frame(ctx, m, cohort, out)
    out.summary["endpoint"] = info
    df = _drop_missing(out, df, drop)
    df = _as_labels(df, list(m.categorical or {}))
    _check_events(m, df, *events)
    return df


def h_cox(ctx, m, cohort, out):
    from ..stats.cox import coxph, univariable_multivariable
    cov = list(m.covariates)
    df = _regression_frame(ctx, m, cohort, out,
                           {"covariate": cov, "strata": m.strata, "cluster": m.cluster})
    df = _ordered_covariates(ctx, m, df)
    kw = dict(time="time", event="event", covariates=cov, categorical=m.categorical,
              strata=m.strata, ties=m.ties, conf_level=m.conf_level)
    if m.firth:
        from ..stats.firth import firth_coxph
        res = firth_coxph(df, **kw)
    else:
        kw.update(robust=m.robust, cluster=m.cluster)
        res = coxph(df, **kw)
    _regression_summary(out, res, df, m=m)
    if m.univariable:
        with _part(out, "univariable_multivariable", "univariable models"):
            um = univariable_multivariable(df, **kw)
            out.tables.append(("univariable_multivariable", "Univariable and multivariable",
                               um.table))
            out.summary["univariable_multivariable"] = jsonable(um.table)
    if m.zph:
        with _part(out, "zph", "proportional-hazards test (cox.zph)"):
            from ..stats.zph import cox_zph
            z = cox_zph(res, transform=m.zph_transform)
            out.summary["zph"] = jsonable(z.table)
            if m.zph_transform != "km":
                out.summary["zph_transform"] = m.zph_transform
            out.tables.append(("zph", f"Proportional-hazards test (cox.zph, transform "
                                      f"{m.zph_transform})", z.table))
            if m.zph_plot and _fig(ctx, m):
                from ..plots.diagnostics import plot_zph
                for term in [t for t in z.table["term"] if t != "GLOBAL"]:
                    xl = f"Time ({out.summary.get('endpoint', {}).get('unit', 'days')})"
                    out.figures.append((f"{m.id}__zph_{_slug(term)}",
                                        _figure_of(plot_zph(z, term, xlabel=xl))))
    if _fig(ctx, m):
        from ..plots.forest import plot_forest
        out.figures.append((m.id, _figure_of(plot_forest(res, palette=ctx.palette,
                                                         labels=_resolver(ctx)))))
    if not m.firth:
        _cox_extras(ctx, m, res, df, out)
    # a covariate that is a treatment starting after time zero: the same guard as the
    # competing-risk regressions and the curves
    _treatment_covariate_guard(m, df, out)
    _adjusted(ctx, m, df, out, "cox")


def _slug(text) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", str(text)).strip("_") or "term"


def _cox_extras(ctx, m, res, df, out):
    """Concordance, residual tables, baseline hazard and predicted survival of a Cox fit
    (keys concordance / auc_times, residuals, basehaz, predict / predict_times /
    predict_conf_type; estimators in stats.concordance, stats.residuals, stats.coxpredict)."""
    xlabel = f"Time ({out.summary.get('endpoint', {}).get('unit', 'days')})"
    if m.concordance:
        with _part(out, "concordance", "concordance"):
            from ..stats.concordance import concordance
            c = concordance(res, times=m.auc_times, conf_level=m.conf_level)
            out.summary["concordance"] = jsonable(c.table)
            caption = "Concordance (Harrell's C, R concordance())"
            if c.choices["std_err"].startswith("grouped"):
                # a clustered fit: R's grouped jackknife SE, named where the C is shown
                out.summary["concordance_std_err"] = c.choices["std_err"]
                caption = ("Concordance (Harrell's C, R concordance(); SE and CI grouped by "
                           f"cluster '{m.cluster}')")
            out.tables.append(("concordance", caption, c.table))
            if c.auc is not None:
                out.summary["auc"] = jsonable(c.auc)
                out.tables.append(("auc", "Time-dependent AUC (cumulative/dynamic, IPCW)",
                                   c.auc))
    for rtype in m.residuals:
        from ..stats.residuals import cox_residuals
        r = cox_residuals(res, rtype)
        if "patient_id" in df.columns:
            r.insert(0, "patient_id", df.loc[r.index, "patient_id"].to_numpy())
        out.tables.append((f"residuals_{rtype}", f"Residuals: {rtype} (R residuals.coxph)",
                           r.reset_index(drop=True)))
    if m.basehaz:
        from ..stats.coxpredict import basehaz
        bh = basehaz(res, centered=m.basehaz == "centered")
        out.tables.append(("basehaz", "Cumulative baseline hazard (" + (
            "at the covariate means" if m.basehaz == "centered" else "at covariates 0") + ")", bh))
        if _fig(ctx, m):
            from ..plots.diagnostics import plot_cumhaz
            out.figures.append((f"{m.id}__basehaz", _figure_of(plot_cumhaz(bh, xlabel=xlabel))))
    if m.predict:
        with _part(out, "predicted", "predicted survival"):
            from ..stats.coxpredict import predict_survival
            prof = pd.DataFrame.from_dict({k: dict(v) for k, v in m.predict.items()},
                                          orient="index")
            for col in prof.columns:       # profile values typed as the analysis data
                if col in df.columns and not pd.api.types.is_numeric_dtype(df[col]):
                    prof[col] = prof[col].astype(str)
            cur = predict_survival(res, prof, conf_type=m.predict_conf_type,
                                   conf_level=m.conf_level)
            med = cur.median()
            pred = {"conf_type": m.predict_conf_type, "profiles": jsonable(cur.profiles),
                    "medians": jsonable(med)}
            if m.predict_times:
                at = cur.at(m.predict_times)
                pred["at"] = jsonable(at)
                out.tables.append(("predicted_at", "Predicted survival at chosen times", at))
            out.summary["predicted"] = pred
            out.tables.append(("predicted_curves",
                               "Predicted survival (R survfit(fit, newdata=))", cur.table))
            if _fig(ctx, m):
                from ..plots.diagnostics import plot_predicted_survival
                out.figures.append((f"{m.id}__predicted",
                                    _figure_of(plot_predicted_survival(cur, ci=True,
                                                                       xlabel=xlabel))))


def h_finegray(ctx, m, cohort, out):
    from ..stats.finegray import fine_gray
    cov = list(m.covariates)
    cov2 = list(m.cov2 or {})
    df = _regression_frame(ctx, m, cohort, out,
                           {"covariate": cov + [c for c in cov2 if c not in cov],
                            "cengroup": m.cengroup},
                           m.cause, f"events of cause {m.cause}")
    df = _ordered_covariates(ctx, m, df)
    res = fine_gray(df, time="time", code="event", covariates=cov, cause=m.cause,
                    categorical=m.categorical, conf_level=m.conf_level, cov2=cov2 or None,
                    tf=list(m.cov2.values()) if m.cov2 else None, cengroup=m.cengroup,
                    max_iter=m.max_iter)
    _regression_summary(out, res, df, m.cause, m=m)
    out.summary["cause"] = m.cause
    if not res.converged:   # (its ConvergenceWarning is in notes/warnings; terms: fine_gray)
        out.summary["converged"] = False
    if m.cov2:
        out.summary["cov2"] = dict(m.cov2)
    if m.cengroup:
        out.summary["cengroup"] = m.cengroup
    _treatment_covariate_guard(m, df, out)
    if _fig(ctx, m):
        from ..plots.forest import plot_forest
        out.figures.append((m.id, _figure_of(plot_forest(res, palette=ctx.palette,
                                                         labels=_resolver(ctx)))))
    _adjusted(ctx, m, df, out, "finegray")


def _treatment_covariate_guard(m, df, out):
    """Immortal-time guard of a regression (Cox, Fine-Gray, cause-specific Cox) whose
    covariate is a treatment starting after time zero (``TREATMENT_START``, e.g. ``hsct``
    from CR2): warn and show the naive and the time-dependent Cox model of that treatment
    beside it (unadjusted; for a competing-risk endpoint the cause-specific hazard of the
    analysis's ``cause``). The comparison's reference is the covariate's "not treated"
    level when it has one (e.g. ``no HSCT``: before their treatment starts patients are
    in it), else its ``categorical`` reference or first level."""
    info = out.summary.get("endpoint") or {}
    for cov in m.covariates:
        if cov not in TREATMENT_START or cov not in df.columns:
            continue
        s = df[cov].dropna()
        # the covariate's level order (_ordered_covariates: the plan's levels: or the data
        # dictionary's), else sorted: the comparison's rows follow it
        levels = ([c for c in s.cat.categories if c in set(s)]
                  if isinstance(s.dtype, pd.CategoricalDtype)
                  else sorted(pd.unique(s.astype(object)), key=str))
        untreated = [x for x in levels if x in untreated_levels(cov)]
        ref = untreated[0] if untreated else (m.categorical or {}).get(
            cov, levels[0] if levels else None)
        if ref not in levels:
            continue
        immortal_time_guard(m, df, info, cov, [ref] + [x for x in levels if x != ref], out,
                            cause=getattr(m, "cause", None))


def h_cause_specific_cox(ctx, m, cohort, out):
    from ..stats.competing import cause_specific_cox
    cov = list(m.covariates)
    df = _regression_frame(ctx, m, cohort, out, {"covariate": cov}, m.cause,
                           f"events of cause {m.cause}")
    df = _ordered_covariates(ctx, m, df)
    res = cause_specific_cox(df, time="time", code="event", cause=m.cause, covariates=cov,
                             categorical=m.categorical, ties=m.ties, conf_level=m.conf_level)
    _regression_summary(out, res, df, m.cause, m=m)
    out.summary["cause"] = m.cause
    _treatment_covariate_guard(m, df, out)
    if _fig(ctx, m):
        from ..plots.forest import plot_forest
        out.figures.append((m.id, _figure_of(plot_forest(res, palette=ctx.palette,
                                                         labels=_resolver(ctx)))))


def h_response(ctx, m, cohort, out):
    from ..stats.grouptests import binom_ci, compare_groups, compare_response_rates
    from ..tables.response import response_table
    d = cohort.data.copy()
    group = m.group
    d["_outcome"] = _eval(d, m.outcome, "outcome", m.id).astype("boolean")
    d = _drop_missing(out, d, {"group": group})
    miss = d["_outcome"].isna()
    missing_by_group = d.loc[miss, group].value_counts().to_dict()
    before = _order(m, d[group])
    d = _exclude(out, d, miss.to_numpy(), f"missing outcome ({m.outcome})")
    order = _order(m, d[group])
    lost = [g for g in before if g not in order]
    if lost and len(before) >= 2 and len(order) < 2:
        # the groups were there; their outcomes are not (not "fewer than two groups")
        raise InputError(
            f"the outcome ({m.outcome}) is missing for every patient of "
            + ", ".join(f"'{g}' ({missing_by_group.get(g, 0)} patient(s))" for g in lost)
            + f", so fewer than two groups of '{group}' have a known outcome to compare")
    label = m.outcome_label or m.outcome
    rows = {}
    for g in order:
        v = d.loc[d[group] == g, "_outcome"]
        rows[g] = (int(v.sum()), int(len(v)), int(missing_by_group.get(g, 0)))
    s = out.summary
    s["groups"] = {}
    for g, (x, n, miss_g) in rows.items():
        est, lo, hi = binom_ci(x, n, conf_level=m.conf_level)
        s["groups"][str(g)] = {"n": n, "events": x, "missing": miss_g, "rate": _num(est),
                               "lower": _num(lo), "upper": _num(hi)}
    s.update({"n": int(len(d)), "events": int(d["_outcome"].sum()), "outcome": label,
              "conf_level": m.conf_level})
    from ..tables.style import plan_presentation
    labels, style = plan_presentation(ctx.plan)  # plan-level labels / style (docs/tables.md)
    tab = response_table(d, group, {label: "_outcome"}, order=order, conf_level=m.conf_level,
                         title=out.title, labels=labels, style=style)
    out.tables.append((m.id, out.title, tab))
    if len(order) < 2:
        out.notes.append(f"No comparison: one group only in '{group}'.")
        s.update({"test": None, "statistic": None, "df": None, "p": None,
                  "test_note": f"one group only in '{group}': no comparison"})
    elif len(order) == 2:
        (x1, n1, _), (x2, n2, _) = rows[order[0]], rows[order[1]]
        cmp = compare_response_rates(x1, n1, x2, n2, labels=(str(order[0]), str(order[1])),
                                     conf_level=m.conf_level)
        f = cmp.fisher
        s.update({"test": f.test, "statistic": None, "df": None, "p": _num(f.p),
                  "statistic_note": "Fisher's exact test has no test statistic or degrees "
                                    "of freedom",
                  "odds_ratio": _num(f.estimate), "or_lower": _num(f.lower),
                  "or_upper": _num(f.upper)})
        if any(s[k] is None for k in ("odds_ratio", "or_lower", "or_upper")):
            s["odds_ratio_note"] = _odds_ratio_note(f.estimate, f.lower, f.upper, m.conf_level)
        out.result = cmp
    else:
        res = compare_groups(d["_outcome"].astype(bool).astype(str).to_numpy(dtype=object),
                             d[group].to_numpy(dtype=object), kind="categorical", order=order)
        s.update({"test": res.test, "statistic": _num(res.statistic), "df": _num(res.df), "p": _num(res.p)})
        out.result = res


def _odds_ratio_note(orv, lower, upper, conf_level) -> str:
    """Why results.json's ``odds_ratio`` / ``or_lower`` / ``or_upper`` is null: the table's
    footnote (a zero cell: R's conditional MLE 0 or infinite, its exact CI), with what
    null stands for.

    >>> _odds_ratio_note(float("inf"), 9.7712, float("inf"), 0.95)
    'odds ratio not estimable (a zero cell): conditional MLE infinite, exact 95% CI 9.77 to infinity; null stands for infinity'
    """
    from ..tables.response import odds_ratio_zero_cell_note
    vals = np.array([orv, lower, upper], float)
    if np.isnan(vals).any() or not (np.isinf(orv) or orv == 0):
        return "odds ratio not estimable (conditional MLE undefined for this 2x2 table)"
    note = odds_ratio_zero_cell_note(orv, lower, upper, pct=f"{100 * conf_level:g}%")
    return note + ("; null stands for infinity" if np.isinf(vals).any() else "")


def h_table1(ctx, m, cohort, out):
    from ..tables.table1 import table1
    group = m.group
    d = _drop_missing(out, cohort.data, {"group": group})
    order = _order(m, d[group])
    from ..tables.style import plan_presentation
    labels, style = plan_presentation(ctx.plan)  # plan-level labels / levels / style
    # identifying columns: the plan's own check (check_identifiers, allow_identifiers:) has
    # run before anything, so the Python API's check is not repeated here
    t = table1(d, group, list(m.variables), order=order, smd=m.smd, parametric=m.parametric,
               overall=m.overall, title=out.title, labels=labels, style=style,
               kinds=dict(m.kinds or {}), allow_identifiers=True)
    out.summary.update({"n": int(len(d)), "group": group,
                        "groups": {str(g): {"n": int((d[group] == g).sum())} for g in order},
                        "smd": bool(m.smd), "rows": jsonable(t.raw)})
    out.result = t
    out.tables.append((m.id, out.title, t))
    _adjusted(ctx, m, d, out, "table1")


def _td_frame(ctx, m, cohort, out, kind="survival"):
    df, info = endpoint_frame(ctx, m, cohort, out)
    out.summary["endpoint"] = info
    if info["kind"] != kind:
        raise PlanError(f"analysis '{m.id}': needs a "
                        + ("survival (0/1)" if kind == "survival" else "competing-risk")
                        + " endpoint")
    try:
        df["exposure_time"] = exposure_time(df, m.exposure, info["unit"])
    except InputError as exc:
        raise InputError(f"analysis '{m.id}': {exc}") from None
    df = _drop_unknown_exposure_start(out, df, m.exposure)
    return df, info


def _drop_unknown_exposure_start(out, df: pd.DataFrame, col: str) -> pd.DataFrame:
    """Leave out the patients whose treatment column says exposed but whose exposure date
    ``col`` is missing (:func:`aplcohort.plan.derived.exposure_start_unknown`, e.g. an
    auto-HSCT patient without a transplant date for ``hsct_start_date``): a missing date
    means "never exposed" only when nothing says the patient was; an unknown start is not
    "never". Each is in the exclusions and attrition log with the treatment and the date."""
    from .derived import exposure_start_unknown
    # ids first: the index moves as rows leave
    found = [(set(df.loc[mask, "patient_id"]), reason)
             for mask, reason in exposure_start_unknown(df, col)]
    for ids, reason in found:
        df = _exclude(out, df, df["patient_id"].isin(ids).to_numpy(), reason)
    return df


def td_cox_variance(robust, df: pd.DataFrame, id: str = "patient_id",
                    event: str = "event") -> tuple[bool, str]:
    """The variance of a ``td_cox`` analysis and why: ``(robust, reason)``.

    ``robust`` True / False is the plan's explicit setting. None follows R's
    ``coxph(id = id)`` default (survival 3.x): the robust variance clustered on ``id`` only
    when some id has more than one event (``anyDuplicated(id[status == 1])``), else the
    model-based variance -- not merely because a patient has several rows.

    >>> d = pd.DataFrame({"patient_id": [1, 2, 3], "event": [1, 0, 1]})
    >>> td_cox_variance(None, d)
    (False, 'R coxph(id=) default: no patient has more than one event')
    >>> td_cox_variance(None, pd.DataFrame({"patient_id": [1, 1, 2], "event": [1, 1, 0]}))
    (True, 'R coxph(id=) default: 1 patient has more than one event')
    >>> td_cox_variance(True, d)
    (True, 'robust: true')
    """
    if robust is not None:
        return bool(robust), f"robust: {'true' if robust else 'false'}"
    per_id = df.loc[df[event].to_numpy() == 1, id].value_counts()
    k = int((per_id > 1).sum())
    if k:
        return True, (f"R coxph(id=) default: {k} patient{' has' if k == 1 else 's have'} "
                      "more than one event")
    return False, "R coxph(id=) default: no patient has more than one event"


def _per_patient_terms(out, res, n_patients, events, what):
    """The terms table of a model fitted on split rows counts patients, not rows: its
    footnote says "n = <patients>" and how many rows the fit used (R's ``n=`` of a
    counting-process ``coxph`` is the number of rows)."""
    key, cap, tab = out.tables[-1]
    tab = tab.copy()
    tab.attrs.update({"n": int(n_patients), "events": int(events),
                      "sample_note": f"patients; the model's {int(res.n)} rows are {what}"})
    out.tables[-1] = (key, cap, tab)


def h_td_cox(ctx, m, cohort, out):
    from ..stats.timedep import td_coxph
    df, info = _td_frame(ctx, m, cohort, out)
    cov = list(m.covariates)
    df = _drop_missing(out, df, {"covariate": cov})
    df = _drop_zero_time(out, df)
    _check_events(m, df)
    robust, why = td_cox_variance(m.robust, df)
    df = _ordered_covariates(ctx, m, df)
    res = td_coxph(df, time="time", event="event", covariates=cov, id="patient_id",
                   exposure_time="exposure_time", categorical=m.categorical, ties=m.ties,
                   robust=robust, conf_level=m.conf_level)
    _regression_summary(out, res, df, m=m)
    out.summary.update({"exposure": m.exposure, "n": int(df["patient_id"].nunique()),
                        "events": int(df["event"].sum())})
    _per_patient_terms(out, res, out.summary["n"], out.summary["events"],
                       "(start, stop] intervals split at the exposure")
    out.choices = (f"{'robust (sandwich) SE clustered on the patient' if robust else 'model-based SE'}"
                   f" ({why}); ties {m.ties}; {int(round(m.conf_level * 100))}% CI; time from "
                   f"{info['time_zero']} in {info['unit']}")
    if _fig(ctx, m):
        from ..plots.forest import plot_forest
        # the patients, as the table's footnote (res.n counts the split rows)
        out.figures.append((m.id, _figure_of(plot_forest(
            res, palette=ctx.palette, labels=_resolver(ctx), n=out.summary["n"],
            events=out.summary["events"]))))


def h_td_finegray(ctx, m, cohort, out):
    from ..stats.finegray_td import td_fine_gray
    df, info = _td_frame(ctx, m, cohort, out, kind="competing")
    cov = list(m.covariates)
    df = _drop_missing(out, df, {"covariate": cov})
    df = _drop_zero_time(out, df)
    df = _as_labels(df, list(m.categorical or {}))
    _check_events(m, df, m.cause, f"events of cause {m.cause}")
    df = _ordered_covariates(ctx, m, df)
    res = td_fine_gray(df, time="time", code="event", covariates=cov, cause=m.cause,
                       id="patient_id", exposure_time="exposure_time",
                       categorical=m.categorical, ties=m.ties, cluster=m.cluster,
                       conf_level=m.conf_level)
    _regression_summary(out, res, df, m.cause, m=m)
    out.summary.update({"exposure": m.exposure, "cause": m.cause,
                        "n": int(df["patient_id"].nunique()),
                        "events": int((df["event"] == m.cause).sum()),
                        "variance": res.choices["variance"]})
    out.choices = (f"cause {m.cause}; Fine-Gray by finegray() weights + weighted Cox "
                   f"({m.ties}); {res.choices['variance']}; time from {info['time_zero']} "
                   f"in {info['unit']}")


def h_mantel_byar(ctx, m, cohort, out):
    from ..stats.timedep import mantel_byar
    df, info = _td_frame(ctx, m, cohort, out)
    df = _drop_zero_time(out, df)
    out.summary.update({"n": int(len(df)), "events": int(df["event"].sum()), "exposure": m.exposure})
    _check_events(m, df)
    res = mantel_byar(df, time="time", event="event", id="patient_id", exposure_time="exposure_time",
                      ties=m.ties)
    _undefined_test(res, m, "the Mantel-Byar test")
    out.summary.update(test_summary(res, "Mantel-Byar"))
    out.summary["observed_expected"] = jsonable(res.table.drop(columns="exposure state"))
    out.result = res
    out.choices = f"score test on (start, stop] data, risk sets by current exposure; ties {m.ties}"
    out.tables.append(("test", f"Mantel–Byar test of '{m.exposure}' (time-dependent, {len(df)} "
                       f"patients, {res.events} events)", res.tables["test"]))
    # the exposure states as Simon-Makuch labels them (0/1 are the estimator's codes)
    states = res.table.drop(columns="exposure state").assign(exposed=res.table["exposed"].map(
        {0: f"before {m.exposure}", 1: f"after {m.exposure}"})).rename(
        columns={"exposed": "exposure state"})
    out.tables.append(("observed_expected", "Events observed and expected by current exposure",
                       states))


def h_simon_makuch(ctx, m, cohort, out):
    from ..stats.timedep import simon_makuch
    df, info = _td_frame(ctx, m, cohort, out)
    df = _drop_zero_time(out, df)
    res = simon_makuch(df, time="time", event="event", id="patient_id", exposure_time="exposure_time",
                       conf_type=m.conf_type, conf_level=m.conf_level)
    km = res.km if hasattr(res, "km") else res
    lab = list(m.labels or [f"before {m.exposure}", f"after {m.exposure}"])
    names = {0: lab[0], 1: lab[1]}
    med, at = curve_medians(km), curve_at(km, m.times)
    counts = {names[int(g)]: (int(n), int(e)) for g, n, e in zip(med["group"], med["n"], med["events"])}
    med = med.assign(group=[names[int(g)] for g in med["group"]])
    if len(at):
        at = at.assign(group=[names[int(g)] for g in at["group"]])
    label = m.label or info["label"]
    out.summary.update({"n": int(len(df)), "events": int(df["event"].sum()),
                        "groups": curve_groups(med, at, counts), "exposure": m.exposure,
                        "labels": {"0": lab[0], "1": lab[1]}, "conf_type": m.conf_type,
                        "conf_level": m.conf_level})
    mb = getattr(res, "mantel_byar", None)
    if mb is not None:
        out.summary["test"] = test_summary(mb, "Mantel-Byar")
    else:   # one exposure state in the whole follow-up: nothing to compare
        state = lab[1] if counts.get(lab[1]) else lab[0]
        # which curve is missing and why (simon_makuch's warning says it in the notes)
        out.summary["curves"] = {"status": "one exposure state only", "shown": state,
                                 "reason": getattr(res, "note", None)}
        out.summary["test"] = {"test": "Mantel-Byar", "statistic": None, "df": None, "p": None,
                               "status": "not estimable",
                               "reason": f"every patient's follow-up is '{state}' only: no "
                                         "comparison between exposure states"}
    _embedded_test(out, out.summary["test"], "Mantel-Byar test")
    out.result = res
    out.tables.append(("medians", f"{label} by current exposure: median, {info['unit']}",
                       survival_frame(med)))
    if len(at):
        out.tables.append(("estimates", f"{label} by current exposure", survival_frame(at)))
    if _fig(ctx, m):
        from ..plots.survival import plot_simon_makuch
        # the labels of the states that have a curve (one state only: the result's note,
        # in the analysis's notes, says which is missing and why)
        fig = plot_simon_makuch(res, time_unit=info["unit"], ylabel=label,
                                labels={g: names[int(g)] for g in km.groups},
                                times=_ticks(m, df["time"], info["unit"]),
                                pvalue=mb.p if mb is not None else None,
                                pvalue_test="Mantel-Byar" if mb is not None else None, width="double",
                                palette=ctx.palette)
        out.figures.append((m.id, _figure_of(fig)))


def h_landmark(ctx, m, cohort, out):
    from ..stats.landmark import landmark
    if m.exposure is not None:
        df, info = _td_frame(ctx, m, cohort, out)
        # the exposure as known at the landmark (fixed from then on), named by the plan's
        # labels: or "not yet <exposure>" / "<exposure> by the landmark" (not 0/1)
        lab = list(m.labels or [f"not yet {m.exposure}", f"{m.exposure} by the landmark"])
        kw = {"exposure_time": "exposure_time", "exposure": "exposure_at_landmark",
              "exposure_labels": lab}
    else:
        df, info = endpoint_frame(ctx, m, cohort, out)
        out.summary["endpoint"] = info
        df = _drop_missing(out, df, {"group": m.group})
        kw = {"group": m.group, "order": _order(m, df[m.group])}
    df = _drop_missing(out, df, {"covariate": list(m.covariates)})
    _check_events(m, df)
    df = _ordered_covariates(ctx, m, df)
    res = landmark(df, landmark=list(m.landmarks), time="time", event="event", id="patient_id",
                   covariates=list(m.covariates), categorical=m.categorical, ties=m.ties,
                   conf_type=m.conf_type, conf_level=m.conf_level, **kw)
    if all(k is None for k in res.km.values()):
        # no landmark has a patient still followed: nothing was analysed
        why = "; ".join(f"landmark {r.landmark:g}: {r.note}" for r in
                        res.summary.itertuples(index=False))
        raise NotEstimable(f"analysis '{m.id}': no landmark could be analysed: {why}")
    out.result = res
    unit = info["unit"]
    out.summary.update({"n": int(len(df)), "events": int(df["event"].sum()),
                        "landmarks": jsonable(res.to_dict())})
    if m.exposure is not None:
        out.summary["labels"] = {"not exposed": lab[0], "exposed": lab[1]}
    for lm, ids in (res.excluded or {}).items():
        for reason, pids in ids.items():
            out.summary.setdefault("landmark_sets", []).append(
                {"landmark": _num(lm), "reason": reason, "n": len(pids), "ids": [str(p) for p in pids]})
    from ..tables.labels import label_landmark_terms
    from ..tables.style import plan_presentation
    term_labels = plan_presentation(ctx.plan)[0]   # the derived terms named as the report does
    for r in label_landmark_terms(res.summary, term_labels).itertuples(index=False):
        if not r.estimable:
            out.notes.append(f"Landmark {r.landmark:g}: hazard ratio"
                             + (f" of {r.term}" if isinstance(r.term, str) else "")
                             + f" not estimable: {r.note}.")
    if m.times:
        ests = {lm: _landmark_at(km, lm, m.times) for lm, km in res.km.items()
                if km is not None}
        cols = list(next(iter(ests.values())).columns)   # some landmark has curves (above)
        # a landmark without patients: a row per time with the reason (not left out)
        why = dict(zip(res.summary["landmark"], res.summary["note"]))
        est = pd.concat([ests[lm] if lm in ests else pd.DataFrame(
            [{"time": float(t), "time_since_landmark": np.nan, "landmark": float(lm),
              "note": f"not estimated: {why[lm]}"} for t in m.times], columns=cols)
            for lm in res.km], ignore_index=True)
        out.summary["estimates"] = jsonable(est)
        early = [t for t in m.times if t <= max(res.landmarks)]
        if early:
            out.notes.append("Landmark estimates: `times` count from the endpoint's time zero; a "
                             "time at or before a landmark is not estimated at that landmark "
                             "(the landmark set is event-free at the landmark).")
        out.tables.append(("estimates", f"Survival after each landmark at the requested times "
                           f"(time = {unit} since the endpoint's time zero; time_since_landmark "
                           f"= time − landmark)", est))
    what = "the exposure known at" if m.exposure else "the group at"
    cap = {"summary": f"Hazard ratio of {what} each landmark, with the log-rank test (time "
                      f"since the landmark, {unit})",
           "terms": "Cox model terms at each landmark (all terms: exposure / group and "
                    "covariates)",
           "attrition": "Patients event-free and followed at each landmark",
           "groups at landmark": "Groups at each landmark (events after the landmark)"}
    for name, tab in res.tables.items():
        if not len(tab):   # e.g. no Cox model at any landmark: say so, no empty table
            out.notes.append(f"No table '{cap.get(name, name)}': no landmark has "
                             f"{'a Cox model' if name == 'terms' else 'rows for it'} "
                             "(see the summary's notes).")
            continue
        out.tables.append((name.replace(" ", "_"), cap.get(name, name),
                           label_landmark_terms(tab, term_labels)))


def _landmark_at(km, lm, times) -> pd.DataFrame:
    """KM estimates of one landmark at ``times`` counted from the endpoint's time zero:
    estimated at ``time - landmark`` on the landmark clock; a time at or before the
    landmark is a row per group without estimate, with the reason."""
    lm = float(lm)
    after = [float(t) for t in times if t > lm]
    at = survival_frame(curve_at(km, [t - lm for t in after]))
    at = at.assign(time=at["time"].to_numpy(float) + lm,
                   time_since_landmark=at["time"].to_numpy(float))
    groups = list(pd.unique(km.table["group"])) if hasattr(km, "table") else []
    rows = [{"group": g, "time": float(t), "time_since_landmark": np.nan,
             "note": f"at or before the landmark ({lm:g}): not estimated at this landmark"}
            for t in times if t <= lm for g in groups]
    cols = ["group", "time", "time_since_landmark"] + [c for c in at.columns
                                                      if c not in ("group", "time",
                                                                   "time_since_landmark")]
    out = pd.concat([pd.DataFrame(rows, columns=cols), at[cols]], ignore_index=True) \
        if rows else at[cols]
    rank = {g: k for k, g in enumerate(groups)}
    key = out["group"].map(lambda g: rank.get(g, len(rank)))
    out = out.assign(_k=key).sort_values(["_k", "time"], kind="stable").drop(columns="_k")
    return out.reset_index(drop=True).assign(landmark=lm)


def h_immortal_time(ctx, m, cohort, out):
    """Naive vs immortal-time-safe comparison.

    Binary form (no ``reference``): exposed = ``exposure`` date present. Group form
    (``reference`` given): the levels of ``order`` (default: all but the reference) are
    defined by a treatment starting at ``exposure``; before it starts, patients count in
    the reference group.
    """
    from ..stats.timedep import compare_naive_vs_timedependent, immortal_time_check
    df, info = _td_frame(ctx, m, cohort, out)
    df = _drop_missing(out, df, {"group": m.group})
    df = _drop_zero_time(out, df)
    _check_events(m, df)
    landmarks = list(m.landmarks)
    ref = m.reference
    if ref is None:
        tt = "exposure_time"
        cmp = compare_naive_vs_timedependent(df, time="time", event="event", id="patient_id",
                                             exposure_time="exposure_time", landmarks=landmarks)
    else:
        levels = list(m.order) if m.order else _order(m, df[m.group])
        if m.order:    # a listed treatment group with no patient is said (as in _order)
            _absent_levels(m, [v for v in pd.unique(df[m.group]) if not pd.isna(v)])
        tt = {g: "exposure_time" for g in levels if g != ref and (df[m.group] == g).any()}
        # the rows follow the group order: the reference, then the treated groups in order
        cmp = compare_naive_vs_timedependent(df.assign(**{m.group: _in_order(
                                                 df[m.group], [ref] + list(tt))}),
                                             time="time", event="event", id="patient_id",
                                             group=m.group, treatment_time=tt, reference=ref,
                                             landmarks=landmarks)
    # the check names the exposure column of the data (its delays, in the endpoint's unit,
    # under that name), not the frame's internal exposure_time
    expo = m.exposure
    chk = immortal_time_check(df.drop(columns=[expo], errors="ignore").rename(
                                  columns={"exposure_time": expo}),
                              time="time", group=m.group,
                              treatment_time=expo if isinstance(tt, str) else {g: expo for g in tt},
                              unit=info["unit"])
    out.result = (chk, cmp)
    out.summary.update({"n": int(len(df)), "events": int(df["event"].sum()),
                        "check": _check_json(chk), "comparison": jsonable(cmp.table)})
    cl = float(cmp.choices["conf_level"])
    cmp.table.attrs["conf_level"] = cl      # the level its headers print
    out.tables.append(("comparison", f"Naive vs immortal-time-safe analyses (hazard ratios, "
                                     f"{100 * cl:g}% CI)", cmp.table))


#: Column of a ``counts`` table naming the patients of a row whose recorded event (e.g. a
#: second relapse) is dated after their data cut-off and therefore not counted.
AFTER_CUTOFF_COLUMN = "not counted: after the data cut-off"


def h_counts(ctx, m, cohort, out):
    """Cross-tabulation of ``columns``, by each patient's data cut-off.

    An event dated after the patient's cut-off (death, second relapse and its salvage,
    count recovery: :func:`aplcohort.cohort.cutoff.as_of_cutoff`, the endpoints' rule)
    is not counted: the row counts the patient as known at the cut-off, and a patient
    who meets the analysis's ``where`` only through such an event leaves the analysis
    with the reason. The patients concerned are named in the table's column
    :data:`AFTER_CUTOFF_COLUMN` and in a note.
    """
    from ..cohort.cutoff import as_of_cutoff, describe
    recorded = cohort.data
    d, after = as_of_cutoff(recorded)
    cols = list(m.columns)
    if after and m.where:
        keep = _eval(d, m.where, "where", m.id).astype(object).eq(True).to_numpy()
        if (~keep).any():
            ids = d.loc[~keep, "patient_id"].astype(str).tolist()
            reason = (f"not ({m.where}) by the data cut-off: "
                      f"{describe({i: after[i] for i in ids})} after the cut-off")
            out.exclusions.append({"reason": reason, "n": len(ids), "ids": ids})
            out.attrition.record(f"{m.id}: data cut-off", len(d), ids, reason)
            d, recorded = d[keep], recorded[keep]
            if "analysis_set" in out.summary:
                out.summary["analysis_set"]["n"] = int(len(d))
                out.summary["analysis_set"]["excluded"] += len(ids)
    # patients whose counted values changed at the cut-off (the cells they are counted in)
    def shown(frame):
        return frame[cols].astype(object).where(frame[cols].notna(), "(missing)")
    cells = shown(d)
    differs = (cells != shown(recorded)).any(axis=1).to_numpy()
    counts = (cells.value_counts(sort=False).rename("n").reset_index())
    counts = counts.sort_values(cols).reset_index(drop=True)
    # the denominator of every row is stated (issue 14: which patients a count is out of)
    counts["percent"] = 100.0 * counts["n"] / len(d) if len(d) else np.nan
    caption = (f"{out.title} (denominator: the {len(d)} patients of this analysis; "
               f"percent of {len(d)})")
    if differs.any():
        late = d.loc[differs, "patient_id"].astype(str).to_numpy()
        key = cells.loc[differs].apply(tuple, axis=1).tolist()
        by_cell: dict = {}
        for k, pid in zip(key, late):
            by_cell.setdefault(k, []).append(pid)
        counts[AFTER_CUTOFF_COLUMN] = [
            describe({i: after[i] for i in by_cell.get(tuple(r), [])})
            for r in counts[cols].itertuples(index=False, name=None)]
        said = describe({i: after[i] for i in late})
        caption += f"; events after a patient's data cut-off not counted: {said}"
        out.notes.append("Events dated after a patient's data cut-off are not counted (the "
                         f"endpoints ignore them): {said}. Column '{AFTER_CUTOFF_COLUMN}' names "
                         "them in the row where the patient is counted.")
    out.summary.update({"n": int(len(d)), "counts": jsonable(counts)})
    if differs.any():
        out.summary["after_cutoff"] = {i: after[i] for i in late}
    out.tables.append(("counts", caption, counts))


def h_flow(ctx, m, cohort, out):
    from ..plots.flow import plot_flow
    from .min2022 import study_flow
    log, splits = study_flow(cohort)
    out.summary.update({"n": int(cohort.n), "steps": jsonable(log.to_dict()), "splits": jsonable(splits)})
    out.result = log
    if _fig(ctx, m):
        out.figures.append((m.id, _figure_of(plot_flow(log, splits))))


def _states(handler, ctx, m, cohort, out):
    """Run a multi-state handler (:mod:`aplcohort.multistate.plan`) on the analysis set.

    Patients missing the group, or left out by ``on_error: exclude``, are recorded in
    ``out`` with the reason, like every other exclusion.
    """
    from ..multistate.plan import accepted_settings
    if m.group is not None:
        miss = cohort.data[m.group].isna().to_numpy()
        if miss.any():
            reason = f"missing group '{m.group}'"
            ids = cohort.data.loc[miss, "patient_id"].astype(str).tolist()
            out.exclusions.append({"reason": reason, "n": len(ids), "ids": ids})
            out.attrition.record(f"{m.id}: {reason}", cohort.n, ids, reason)
            cohort = cohort.filter(~miss, step=f"{m.id}: {reason}", reason=reason)
    names = set(accepted_settings(handler)) - {"figures"}
    settings = {k: getattr(m, k) for k in names if k in type(m).model_fields}
    settings = {k: (list(v) if isinstance(v, tuple) else v) for k, v in settings.items()
                if v is not None}
    if m.group is not None and m.order and cohort.data[m.group].notna().any():
        # the group order of every kind (_order): a level with no patient is left out, said
        settings["order"] = _order(m, cohort.data[m.group])
    import inspect
    if "palette" in inspect.signature(handler).parameters:  # the run's colours per level
        settings["palette"] = ctx.palette
    r = handler(cohort, **settings, figures=_fig(ctx, m))
    by_reason: dict[str, list[str]] = {}
    for e in r.summary.get("excluded") or []:
        by_reason.setdefault(str(e.get("reason")), []).append(str(e.get("patient_id")))
    for reason, ids in by_reason.items():
        out.exclusions.append({"reason": reason, "n": len(ids), "ids": ids})
        out.attrition.record(f"{m.id}: {reason}", cohort.n, ids, reason)
    out.summary.update({k: v for k, v in r.summary.items() if k != "kind"})
    out.tables += list(r.tables)
    out.figures += [(f"{m.id}__{name}", fig) for name, fig in r.figures]
    out.notes += list(r.notes)
    out.result = r.result


def h_multistate(ctx, m, cohort, out):
    from ..multistate.plan import h_multistate as handler
    _states(handler, ctx, m, cohort, out)


def h_clfs(ctx, m, cohort, out):
    from ..multistate.plan import h_clfs as handler
    _states(handler, ctx, m, cohort, out)


def h_swimmer(ctx, m, cohort, out):
    from ..plots.swimmer import plot_swimmer
    from ..tables.labels import resolve_labels
    out.summary.update({"n": int(cohort.n), "unit": m.unit})
    if _fig(ctx, m):
        fig = plot_swimmer(cohort.data, color_by=m.color_by, sort_by=m.sort_by, unit=m.unit,
                           missing_label=m.missing_label, palette=ctx.palette,
                           labels=resolve_labels(ctx.plan),
                           allow_identifiers=True)  # checked by the plan (check_identifiers)
        out.figures.append((m.id, _figure_of(fig)))


HANDLERS = {name: globals()[k.handler] for name, k in KINDS.items()}
