"""One function per analysis kind: plan entry -> :class:`AnalysisOutput`.

Every handler builds the ``results.json`` summary with the contract's field
names (see ``docs/results_json.md``): ``n``, ``events``; tests ``statistic``,
``df``, ``p``; curves ``groups`` -> ``{n, events, median, median_lower,
median_upper, at: [{time, estimate, std_err, lower, upper, n_risk, note}]}``
(the curve shape of :mod:`aplcohort.stats.shapes`); regression ``terms`` -> the
terms shape ``[{term, level, coef, se, robust_se, estimate, lower, upper,
statistic, p, estimable, note}]``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .._results import jsonable
from ..errors import InputError, PlanError

DAYS = {"days": 1.0, "months": 30.4375, "years": 365.25}


@dataclass
class Context:
    plan: dict
    cohort: Any
    figures: bool
    endpoints: dict
    output: dict
    _ep_cache: dict = field(default_factory=dict)


def _num(x):
    try:
        f = float(x)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


# ----------------------------------------------------------------------------- data access
def analysis_set(ctx: Context, a: dict):
    """The cohort restricted by the analysis's ``where`` (NA in the mask counts as not kept)."""
    cohort = ctx.cohort
    where = a.get("where")
    if not where:
        return cohort, None
    try:
        mask = cohort.data.eval(where, engine="python")
    except Exception as exc:  # pandas raises many types for a bad expression
        raise PlanError(f"analysis '{a['id']}': cannot evaluate where = {where!r}: {exc}") from None
    mask = pd.Series(mask, index=cohort.data.index).astype("boolean").fillna(False).astype(bool)
    sub = cohort.filter(mask.to_numpy(), step=f"{a['id']}: analysis set",
                        reason=f"not ({where})")
    step = sub.attrition.steps[-1]
    return sub, {"where": where, "n_before": step.n_before, "n": step.n_after,
                 "excluded": step.n_excluded}


def endpoint_frame(ctx: Context, a: dict, cohort) -> tuple[pd.DataFrame, dict]:
    """Endpoint data for the analysis set: DataFrame with ``time``, ``event`` + cohort columns."""
    eid = a["endpoint"]
    spec = ctx.endpoints[eid]
    unit = spec.get("unit", "days")
    if "endpoint" in spec:
        ep = cohort.endpoint(spec["endpoint"], time_zero=spec["time_zero"], unit=unit)
        df = ep.data.copy()
        info = {"endpoint": eid, "definition": ep.definition, "time_zero": spec["time_zero"],
                "unit": unit, "kind": ep.kind, "excluded": len(ep.excluded),
                "excluded_reasons": ep.excluded["reason"].value_counts().to_dict()
                if len(ep.excluded) else {}}
    else:
        d = cohort.data.copy()
        col = spec.get("event", spec.get("code"))
        keep = d[spec["time"]].notna() & d[col].notna()
        excl = d.loc[~keep, "patient_id"].tolist()
        df = d[keep].copy()
        df["time"] = df[spec["time"]].astype(float)
        df["event"] = df[col].astype(int)
        info = {"endpoint": eid, "definition": f"given directly: time = {spec['time']}, "
                f"{'code' if 'code' in spec else 'event'} = {col}", "time_zero": "as given",
                "unit": unit, "kind": "competing" if "code" in spec else "survival",
                "excluded": len(excl), "excluded_reasons": {"time or event missing": len(excl)}
                if excl else {}}
    info["label"] = spec.get("label", eid)
    return df.reset_index(drop=True), info


def _drop_missing(df: pd.DataFrame, cols) -> tuple[pd.DataFrame, dict]:
    cols = [c for c in cols if c]
    if not cols:
        return df, {}
    miss = df[cols].isna().any(axis=1)
    dropped = {}
    if miss.any():
        dropped = {"missing " + "/".join(cols): df.loc[miss, "patient_id"].astype(str).tolist()}
    return df[~miss].reset_index(drop=True), dropped


def exposure_time(df: pd.DataFrame, col: str, unit: str) -> pd.Series:
    """Exposure start in the endpoint's time scale (NaN = not exposed)."""
    v = df[col]
    if pd.api.types.is_datetime64_any_dtype(v):
        return (v - pd.to_datetime(df["time_zero_date"])).dt.days.astype(float) / DAYS[unit]
    return v.astype(float)


# ----------------------------------------------------------------------------- summaries
def curve_groups(medians: pd.DataFrame, at: pd.DataFrame, *, value_col: str = "estimate",
                 variance: bool = False) -> dict:
    """``groups`` of results.json from a curve result's ``median()`` and ``at()`` frames.

    ``value_col`` and ``variance`` are kept for old callers; every curve has the
    shared shape, so the entries are always ``time, estimate, std_err, lower, upper,
    n_risk, note``.
    """
    groups = {}
    for _, m in medians.iterrows():
        g = m["group"]
        rows = at[at["group"] == g] if len(at) else at
        entries = []
        for _, r in rows.iterrows():
            entries.append({"time": _num(r["time"]), "estimate": _num(r["estimate"]),
                            "std_err": _num(r["std_err"]), "lower": _num(r["lower"]),
                            "upper": _num(r["upper"]), "n_risk": _num(r["n_risk"]),
                            "note": str(r["note"]) if "note" in r else ""})
        groups[str(g)] = {"n": int(m["n"]), "events": int(m["events"]),
                          "median": _num(m["median"]), "median_lower": _num(m["lower"]),
                          "median_upper": _num(m["upper"]), "at": entries}
    return groups


def survival_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A curve frame for a survival table: without the shape's all-<NA> ``cause`` column."""
    if "cause" in df.columns and df["cause"].isna().all():
        return df.drop(columns="cause")
    return df


def test_summary(res, name=None) -> dict:
    return {"test": name or getattr(res, "test", None), "statistic": _num(res.statistic),
            "df": _num(res.df), "p": _num(res.p)}


def terms_summary(terms: pd.DataFrame) -> list[dict]:
    """results.json ``terms``: the shared terms shape, one dict per term (robust SE included)."""
    out = []
    for _, r in terms.iterrows():
        lv = r["level"]
        out.append({"term": str(r["term"]),
                    "level": None if lv is None or (isinstance(lv, float) and math.isnan(lv))
                    else (lv.item() if hasattr(lv, "item") else lv),
                    "coef": _num(r["coef"]), "se": _num(r["se"]),
                    "robust_se": _num(r["robust_se"]), "estimate": _num(r["estimate"]),
                    "lower": _num(r["lower"]), "upper": _num(r["upper"]),
                    "statistic": _num(r["statistic"]), "p": _num(r["p"]),
                    "estimable": bool(r["estimable"]), "note": str(r["note"])})
    return out


def _fig(ctx):
    return ctx.figures


from ..cohort.endpoints import TREATMENT_START  # noqa: E402  (shared with EndpointData.grouped)


def immortal_time_guard(a: dict, df: pd.DataFrame, info: dict, group: str | None, order, out) -> None:
    """Detect groups defined by a treatment that starts after time zero; warn and compare.

    When ``group`` is a treatment column whose start date (``TREATMENT_START``) falls
    after the endpoint's time zero for some patients, an ImmortalTimeWarning names the
    groups and the naive analysis is shown beside the time-dependent and landmark ones
    (treatment start as a time-dependent state; before it, patients count in the
    first group of ``order``, the reference).
    """
    start_col = TREATMENT_START.get(group or "")
    if (start_col is None or start_col not in df.columns or "time_zero_date" not in df.columns
            or info.get("kind") != "survival" or len(order or []) < 2):
        return
    from ..stats.timedep import compare_naive_vs_timedependent, immortal_time_check
    d = df.copy()
    d["treatment_time"] = exposure_time(d, start_col, info["unit"])
    ref = order[0]
    tt = {g: "treatment_time" for g in order[1:]}
    chk = immortal_time_check(d, time="time", group=group, treatment_time=tt, unit=info["unit"],
                              warn=False)
    if not len(chk.flagged):
        return
    import warnings
    from ..errors import ImmortalTimeWarning
    warnings.warn(
        f"analysis '{a['id']}' compares groups of '{group}' from {info['time_zero']}, but "
        f"the treatment defining {', '.join(map(str, chk.flagged))} starts after time zero "
        f"('{start_col}'); the naive comparison credits the waiting time to the treated groups. "
        f"The time-dependent and landmark analyses are shown beside it.", ImmortalTimeWarning)
    try:
        d = d.assign(treatment_time=d["treatment_time"].where(d[group] != ref))
        cmp = compare_naive_vs_timedependent(d, time="time", event="event", id="patient_id",
                                             group=group, treatment_time=tt, reference=ref,
                                             landmarks=list(a.get("landmarks") or []))
    except Exception as exc:  # a comparison that cannot be fitted is reported, not fatal
        out.summary["immortal_time"] = {"check": jsonable(chk.to_dict()),
                                        "comparison_error": str(exc)}
        return
    out.summary["immortal_time"] = {"check": jsonable(chk.to_dict()),
                                    "comparison": jsonable(cmp.table)}
    out.tables.append(("immortal_time", "Immortal-time check: naive vs time-dependent vs landmark",
                       cmp.table))


# ----------------------------------------------------------------------------- handlers
def run_analysis(ctx: Context, a: dict):
    from .runner import AnalysisOutput
    kind = a["kind"]
    handler = HANDLERS[kind]
    cohort, aset = analysis_set(ctx, a)
    out = AnalysisOutput(id=a["id"], kind=kind, title=a.get("title", a["id"]), summary={"kind": kind})
    if aset:
        out.summary["analysis_set"] = aset
    handler(ctx, a, cohort, out)
    return out


def _order(a, values):
    present = [v for v in pd.unique(values) if not pd.isna(v)]
    if a.get("order"):
        order = [o for o in a["order"] if o in set(present)]
        extra = sorted(set(present) - set(order), key=str)
        return order + extra
    return sorted(present, key=str)


def h_km(ctx, a, cohort, out):
    from ..stats.km import kaplan_meier
    from ..stats.logrank import logrank_test, pairwise_logrank, weighted_logrank
    df, info = endpoint_frame(ctx, a, cohort)
    group = a.get("group")
    df, dropped = _drop_missing(df, [group])
    g = df[group].to_numpy(dtype=object) if group else None
    order = _order(a, df[group]) if group else None
    res = kaplan_meier(df["time"], df["event"], g, conf_type=a.get("conf_type", "log"),
                       conf_level=a.get("conf_level", 0.95), order=order)
    times = a.get("times") or []
    med = res.median()
    at = res.at(times) if times else res.at([0.0]).iloc[0:0]
    s = out.summary
    s.update({"endpoint": info, "n": int(len(df)), "events": int((df["event"] == 1).sum()),
              "groups": curve_groups(med, at),
              "conf_type": res.conf_type, "conf_level": res.conf_level})
    if dropped:
        s["dropped"] = {k: len(v) for k, v in dropped.items()}
    test = None
    if group and len(order) >= 2:
        kind = a.get("test", "logrank")
        if kind in ("logrank", "log-rank"):
            test = logrank_test(df["time"], df["event"], g, rho=a.get("rho", 0.0), order=order)
        else:
            test = weighted_logrank(df["time"], df["event"], g, weights=kind, order=order)
        s["test"] = test_summary(test)
        s.update({"statistic": s["test"]["statistic"], "df": s["test"]["df"], "p": s["test"]["p"]})
        if a.get("pairwise"):
            pw = pairwise_logrank(df["time"], df["event"], g, adjust=a.get("adjust", "holm"), order=order)
            s["pairwise"] = jsonable(pw.table)
            out.tables.append(("pairwise", "Pairwise comparisons", pw.table))
    out.result = res
    immortal_time_guard(a, df, info, group, order, out)
    out.choices = f"CI {res.conf_type} {int(res.conf_level*100)}%; time from {info['time_zero']} in {info['unit']}"
    tab = survival_frame(med.copy())
    out.tables.append(("medians", f"{info['label']}: median (95% CI), {info['unit']}", tab))
    if len(at):
        out.tables.append(("estimates", f"{info['label']} at chosen times", survival_frame(at)))
    if _fig(ctx):
        from ..plots.survival import plot_km
        fig = plot_km(res, times=_ticks(a, df["time"], info["unit"]),
                      pvalue=test.p if test is not None else None,
                      pvalue_test=test.test if test is not None else None,
                      time_unit=info["unit"], ylabel=info["label"], order=order,
                      width="double")
        out.figures.append((a["id"], _figure_of(fig)))


def _ticks(a: dict, time: pd.Series, unit: str):
    """Risk-table / x-axis ticks: plan ``ticks``, else clinical spacing for the unit
    (every 12 or 24 months, every 1 or 2 years, every 7 or 14 days)."""
    if a.get("ticks"):
        return list(a["ticks"])
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


def h_logrank(ctx, a, cohort, out):
    from ..stats.logrank import logrank_test, trend_test, weighted_logrank
    df, info = endpoint_frame(ctx, a, cohort)
    group = a["group"]
    df, dropped = _drop_missing(df, [group, a.get("strata")])
    order = _order(a, df[group])
    strata = df[a["strata"]].to_numpy(dtype=object) if a.get("strata") else None
    g = df[group].to_numpy(dtype=object)
    if a.get("trend"):
        res = trend_test(df["time"], df["event"], g, scores=a.get("scores"), strata=strata, order=order)
    elif a.get("test", "logrank") in ("logrank", "log-rank"):
        res = logrank_test(df["time"], df["event"], g, strata=strata, rho=a.get("rho", 0.0), order=order)
    else:
        res = weighted_logrank(df["time"], df["event"], g, weights=a["test"], p=a.get("p", 0.0),
                               q=a.get("q", 0.0), strata=strata, order=order)
    out.summary.update({"endpoint": info, "n": int(len(df)), "events": int((df["event"] == 1).sum()),
                        **test_summary(res), "table": jsonable(res.table)})
    out.result = res
    immortal_time_guard(a, df, info, group, order, out)
    out.tables.append(("observed_expected", res.test, res.table))


def h_cif(ctx, a, cohort, out):
    from ..stats.competing import cumulative_incidence, gray_test
    df, info = endpoint_frame(ctx, a, cohort)
    if info["kind"] != "competing":
        raise PlanError(f"analysis '{a['id']}': endpoint '{a['endpoint']}' is not a competing-risk endpoint")
    group = a.get("group")
    df, dropped = _drop_missing(df, [group])
    order = _order(a, df[group]) if group else None
    g = df[group].to_numpy(dtype=object) if group else None
    cause = int(a.get("cause", 1))
    res = cumulative_incidence(df["time"], df["event"], g, conf_type=a.get("conf_type", "log-log"),
                               conf_level=a.get("conf_level", 0.95), order=order)
    times = a.get("times") or []
    at = res.at(times) if times else res.table.iloc[0:0]
    at = at[at["cause"] == cause]
    med = res.median()
    med = med[med["cause"] == cause].copy() if "cause" in med.columns else med.copy()
    gcol = df[group] if group else pd.Series("all", index=df.index)
    med["n"] = [int((gcol == g).sum()) if group else len(df) for g in med["group"]]
    med["events"] = [int(((gcol == g) & (df["event"] == cause)).sum()) if group
                     else int((df["event"] == cause).sum()) for g in med["group"]]
    s = out.summary
    s.update({"endpoint": info, "cause": cause, "n": int(len(df)),
              "events": int((df["event"] == cause).sum()),
              "competing_events": int(((df["event"] > 0) & (df["event"] != cause)).sum()),
              "groups": curve_groups(med, at),
              "conf_type": a.get("conf_type", "log-log"), "conf_level": a.get("conf_level", 0.95)})
    test = None
    if group and len(order) >= 2:
        test = gray_test(df["time"], df["event"], g, cause=cause, rho=a.get("rho", 0.0), order=order)
        s["test"] = test_summary(test, "Gray")
        s.update({"statistic": s["test"]["statistic"], "df": s["test"]["df"], "p": s["test"]["p"]})
    out.result = res
    out.choices = f"cause {cause}; CI {s['conf_type']}; time from {info['time_zero']} in {info['unit']}"
    if len(at):
        out.tables.append(("estimates", f"{info['label']} at chosen times", at))
    if _fig(ctx):
        from ..plots.survival import plot_cif
        fig = plot_cif(res, cause=cause, data=(df["time"].to_numpy(), df["event"].to_numpy(), g),
                       times=_ticks(a, df["time"], info["unit"]),
                       pvalue=test.p if test is not None else None,
                       pvalue_test="Gray" if test is not None else None, time_unit=info["unit"],
                       ylabel=info["label"], order=order, width="double")
        out.figures.append((a["id"], _figure_of(fig)))


def h_gray(ctx, a, cohort, out):
    from ..stats.competing import gray_test
    df, info = endpoint_frame(ctx, a, cohort)
    group = a["group"]
    df, _ = _drop_missing(df, [group, a.get("strata")])
    order = _order(a, df[group])
    strata = df[a["strata"]].to_numpy(dtype=object) if a.get("strata") else None
    res = gray_test(df["time"], df["event"], df[group].to_numpy(dtype=object), cause=int(a.get("cause", 1)),
                    rho=a.get("rho", 0.0), strata=strata, order=order)
    out.summary.update({"endpoint": info, "n": int(len(df)), **test_summary(res, "Gray")})
    out.result = res


def _regression_summary(out, res, info, df, event_value=1):
    out.summary.update({"endpoint": info, "n": int(res.n) if hasattr(res, "n") else int(len(df)),
                        "events": int(getattr(res, "events", (df["event"] == event_value).sum())),
                        "terms": terms_summary(res.terms)})
    ll = getattr(res, "loglik", None)
    if ll is not None:
        out.summary["loglik"] = jsonable(ll)
    tests = getattr(res, "tests", None)
    if isinstance(tests, pd.DataFrame):
        out.summary["tests"] = jsonable(tests)
    out.result = res
    out.tables.append(("terms", "Model terms", res.terms))


def h_cox(ctx, a, cohort, out):
    from ..stats.cox import coxph, univariable_multivariable
    df, info = endpoint_frame(ctx, a, cohort)
    cov = list(a["covariates"])
    df, dropped = _drop_missing(df, cov + [a.get("strata")])
    kw = dict(time="time", event="event", covariates=cov, categorical=a.get("categorical"),
              strata=a.get("strata"), ties=a.get("ties", "efron"), robust=a.get("robust", False),
              cluster=a.get("cluster"), conf_level=a.get("conf_level", 0.95))
    if a.get("firth"):
        from ..stats.firth import firth_coxph
        res = firth_coxph(df, **{k: v for k, v in kw.items() if k not in ("robust", "cluster", "strata")})
    else:
        res = coxph(df, **kw)
    _regression_summary(out, res, info, df)
    if dropped:
        out.summary["dropped"] = {k: len(v) for k, v in dropped.items()}
    if a.get("univariable"):
        um = univariable_multivariable(df, **kw)
        out.tables.append(("univariable_multivariable", "Univariable and multivariable", um.table))
        out.summary["univariable_multivariable"] = jsonable(um.table)
    if a.get("zph"):
        from ..stats.zph import cox_zph
        z = cox_zph(res)
        out.summary["zph"] = jsonable(z.table)
        out.tables.append(("zph", "Proportional-hazards test (cox.zph)", z.table))
    if _fig(ctx):
        from ..plots.forest import plot_forest
        out.figures.append((a["id"], _figure_of(plot_forest(res))))


def h_finegray(ctx, a, cohort, out):
    from ..stats.finegray import fine_gray
    df, info = endpoint_frame(ctx, a, cohort)
    cov = list(a["covariates"])
    df, _ = _drop_missing(df, cov)
    res = fine_gray(df, time="time", code="event", covariates=cov, cause=int(a.get("cause", 1)),
                    categorical=a.get("categorical"), conf_level=a.get("conf_level", 0.95))
    _regression_summary(out, res, info, df, int(a.get("cause", 1)))
    if _fig(ctx):
        from ..plots.forest import plot_forest
        out.figures.append((a["id"], _figure_of(plot_forest(res))))


def h_cause_specific_cox(ctx, a, cohort, out):
    from ..stats.competing import cause_specific_cox
    df, info = endpoint_frame(ctx, a, cohort)
    cov = list(a["covariates"])
    df, _ = _drop_missing(df, cov)
    res = cause_specific_cox(df, time="time", code="event", cause=int(a["cause"]), covariates=cov,
                             categorical=a.get("categorical"), ties=a.get("ties", "efron"))
    _regression_summary(out, res, info, df, int(a["cause"]))


def h_response(ctx, a, cohort, out):
    from ..stats.grouptests import compare_groups, compare_response_rates
    from ..tables.response import response_table
    d = cohort.data.copy()
    group = a["group"]
    try:
        y = d.eval(a["outcome"], engine="python")
    except Exception as exc:
        raise PlanError(f"analysis '{a['id']}': cannot evaluate outcome {a['outcome']!r}: {exc}") from None
    d["_outcome"] = pd.Series(y, index=d.index).astype("boolean")
    d, dropped = _drop_missing(d, [group])
    order = _order(a, d[group])
    label = a.get("outcome_label", a["outcome"])
    rows = {}
    for g in order:
        v = d.loc[d[group] == g, "_outcome"]
        rows[g] = (int(v.fillna(False).sum()), int(v.notna().sum()), int(v.isna().sum()))
    s = out.summary
    from ..stats.grouptests import binom_ci
    s["groups"] = {}
    for g, (x, n, miss) in rows.items():
        est, lo, hi = binom_ci(x, n, conf_level=a.get("conf_level", 0.95)) if n else (None, None, None)
        s["groups"][str(g)] = {"n": n, "events": x, "missing": miss, "rate": _num(est),
                               "lower": _num(lo), "upper": _num(hi)}
    s["n"] = sum(v[1] for v in rows.values())
    s["events"] = sum(v[0] for v in rows.values())
    s["outcome"] = label
    if len(order) == 2:
        (x1, n1, _), (x2, n2, _) = rows[order[0]], rows[order[1]]
        cmp = compare_response_rates(x1, n1, x2, n2, labels=(str(order[0]), str(order[1])),
                                     conf_level=a.get("conf_level", 0.95))
        f = cmp.fisher
        s.update({"test": f.test, "statistic": None, "df": None, "p": _num(f.p),
                  "odds_ratio": _num(f.estimate), "or_lower": _num(f.lower),
                  "or_upper": _num(f.upper)})
        out.result = cmp
    elif len(order) > 2:
        sub = d[d["_outcome"].notna()]
        res = compare_groups(sub["_outcome"].astype(bool).astype(str).to_numpy(dtype=object),
                             sub[group].to_numpy(dtype=object), kind="categorical", order=order)
        s.update({"test": res.test, "statistic": _num(res.statistic), "df": _num(res.df), "p": _num(res.p)})
        out.result = res
    tab = response_table(d, group, {label: "_outcome"}, order=order, title=out.title)
    out.tables.append((a["id"], out.title, tab))


def h_table1(ctx, a, cohort, out):
    from ..tables.table1 import table1
    d = cohort.data
    group = a["group"]
    d, dropped = _drop_missing(d, [group])
    order = _order(a, d[group])
    t = table1(d, group, list(a["variables"]), order=order, smd=a.get("smd", False),
               parametric=a.get("parametric", False), overall=a.get("overall", True), title=out.title)
    out.summary.update({"n": int(len(d)), "group": group,
                        "groups": {str(g): {"n": int((d[group] == g).sum())} for g in order},
                        "rows": jsonable(t.raw)})
    out.result = t
    out.tables.append((a["id"], out.title, t))


def _td_frame(ctx, a, cohort):
    df, info = endpoint_frame(ctx, a, cohort)
    if info["kind"] != "survival":
        raise PlanError(f"analysis '{a['id']}': needs a survival (0/1) endpoint")
    df["exposure_time"] = exposure_time(df, a["exposure"], info["unit"])
    return df, info


def h_td_cox(ctx, a, cohort, out):
    from ..stats.timedep import td_coxph
    df, info = _td_frame(ctx, a, cohort)
    cov = list(a.get("covariates") or [])
    df, _ = _drop_missing(df, cov)
    res = td_coxph(df, time="time", event="event", covariates=cov, id="patient_id",
                   exposure_time="exposure_time", categorical=a.get("categorical"),
                   ties=a.get("ties", "efron"), robust=a.get("robust", True),
                   conf_level=a.get("conf_level", 0.95))
    _regression_summary(out, res, info, df)
    out.summary.update({"exposure": a["exposure"], "n": int(df["patient_id"].nunique()),
                        "events": int(df["event"].sum())})


def h_mantel_byar(ctx, a, cohort, out):
    from ..stats.timedep import mantel_byar
    df, info = _td_frame(ctx, a, cohort)
    res = mantel_byar(df, time="time", event="event", id="patient_id", exposure_time="exposure_time")
    out.summary.update({"endpoint": info, "n": int(len(df)), "events": int(df["event"].sum()),
                        **test_summary(res, "Mantel-Byar"), "exposure": a["exposure"]})
    out.result = res


def h_simon_makuch(ctx, a, cohort, out):
    from ..stats.timedep import simon_makuch
    df, info = _td_frame(ctx, a, cohort)
    res = simon_makuch(df, time="time", event="event", id="patient_id", exposure_time="exposure_time",
                       conf_type=a.get("conf_type", "log"), conf_level=a.get("conf_level", 0.95))
    km = res.km if hasattr(res, "km") else res
    times = a.get("times") or []
    med = km.median()
    at = km.at(times) if times else km.at([0.0]).iloc[0:0]
    lab = list(a.get("labels") or [f"before {a['exposure']}", f"after {a['exposure']}"])
    names = {0: lab[0], 1: lab[1]}
    med = med.assign(group=[names[int(g)] for g in med["group"]])
    if len(at):
        at = at.assign(group=[names[int(g)] for g in at["group"]])
    out.summary.update({"endpoint": info, "n": int(len(df)), "events": int(df["event"].sum()),
                        "groups": curve_groups(med, at), "exposure": a["exposure"],
                        "labels": {"0": lab[0], "1": lab[1]}})
    mb = getattr(res, "mantel_byar", None)
    if mb is not None:
        out.summary["test"] = test_summary(mb, "Mantel-Byar")
    out.result = res
    if len(at):
        out.tables.append(("estimates", "Survival by current exposure", survival_frame(at)))
    if _fig(ctx):
        from ..plots.survival import plot_simon_makuch
        fig = plot_simon_makuch(res, time_unit=info["unit"], ylabel=info["label"], labels=names,
                                times=_ticks(a, df["time"], info["unit"]),
                                pvalue=mb.p if mb is not None else None,
                                pvalue_test="Mantel-Byar" if mb is not None else None, width="double")
        out.figures.append((a["id"], _figure_of(fig)))


def h_landmark(ctx, a, cohort, out):
    from ..stats.landmark import landmark
    df, info = _td_frame(ctx, a, cohort)
    res = landmark(df, landmark=list(a["landmarks"]), time="time", event="event",
                   exposure_time="exposure_time", id="patient_id",
                   conf_type=a.get("conf_type", "log"), conf_level=a.get("conf_level", 0.95))
    out.result = res
    out.summary.update({"endpoint": info, "landmarks": jsonable(res.to_dict())})
    for name, tab in res.tables.items():
        out.tables.append((name.replace(" ", "_"), name, tab))


def h_immortal_time(ctx, a, cohort, out):
    """Naive vs immortal-time-safe comparison.

    Binary form (no ``reference``): exposed = ``exposure`` date present. Group form
    (``reference`` given): groups of ``group`` other than the reference are defined by
    a treatment starting at ``exposure``; before it starts, patients count in the
    reference group.
    """
    from ..stats.timedep import compare_naive_vs_timedependent, immortal_time_check
    df, info = _td_frame(ctx, a, cohort)
    df, _ = _drop_missing(df, [a["group"]])
    landmarks = list(a.get("landmarks") or [])
    ref = a.get("reference")
    if ref is None:
        tt = "exposure_time"
        cmp = compare_naive_vs_timedependent(df, time="time", event="event", id="patient_id",
                                             exposure_time="exposure_time", landmarks=landmarks)
    else:
        tt = {g: "exposure_time" for g in _order(a, df[a["group"]]) if g != ref}
        cmp = compare_naive_vs_timedependent(df, time="time", event="event", id="patient_id",
                                             group=a["group"], treatment_time=tt, reference=ref,
                                             landmarks=landmarks)
    chk = immortal_time_check(df, time="time", group=a["group"], treatment_time=tt,
                              unit=info["unit"])
    out.result = (chk, cmp)
    out.summary.update({"endpoint": info, "n": int(len(df)), "events": int(df["event"].sum()),
                        "check": jsonable(chk.to_dict()), "comparison": jsonable(cmp.table)})
    out.tables.append(("comparison", "Naive vs immortal-time-safe analyses", cmp.table))


def h_counts(ctx, a, cohort, out):
    d = cohort.data
    cols = list(a.get("columns") or [])
    counts = (d[cols].astype(object).where(d[cols].notna(), "(missing)")
              .value_counts(sort=False).rename("n").reset_index()) if cols else pd.DataFrame()
    counts = counts.sort_values(cols).reset_index(drop=True) if cols else counts
    out.summary.update({"n": int(len(d)), "counts": jsonable(counts)})
    out.tables.append(("counts", out.title, counts))


def h_flow(ctx, a, cohort, out):
    from ..plots.flow import plot_flow
    from .min2022 import study_flow
    log, splits = study_flow(cohort)
    out.summary.update({"n": int(cohort.n), "steps": jsonable(log.to_dict()), "splits": jsonable(splits)})
    out.result = log
    if _fig(ctx):
        out.figures.append((a["id"], _figure_of(plot_flow(log, splits))))


def h_swimmer(ctx, a, cohort, out):
    from ..plots.swimmer import plot_swimmer
    out.summary.update({"n": int(cohort.n)})
    if _fig(ctx):
        fig = plot_swimmer(cohort.data, color_by=a.get("color_by"), sort_by=a.get("sort_by"),
                           missing_label=a.get("missing_label", "not recorded"))
        out.figures.append((a["id"], _figure_of(fig)))


HANDLERS = {
    "km": h_km, "logrank": h_logrank, "cif": h_cif, "gray": h_gray, "cox": h_cox,
    "finegray": h_finegray, "cause_specific_cox": h_cause_specific_cox, "response": h_response,
    "table1": h_table1, "td_cox": h_td_cox, "mantel_byar": h_mantel_byar,
    "simon_makuch": h_simon_makuch, "landmark": h_landmark, "immortal_time": h_immortal_time,
    "counts": h_counts, "flow": h_flow, "swimmer": h_swimmer,
}
