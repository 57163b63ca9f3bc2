"""Analysis-plan schema and validation.

A plan is a YAML mapping, like a statistical analysis plan::

    plan: my-study            # name
    title: ...
    data: {source: cohort.csv, mapping: map.yaml, sheet: null}
    filters: [{id, keep, reason}]         # applied in order, recorded in the attrition log
    endpoints: {id: {endpoint, time_zero, unit} | {time, event} | {time, code}}
    analyses: [{id, kind, ...}]
    output: {formats: [png, pdf], dpi: 300, tables: [csv, docx, tex, html]}
    seed: 2022

:func:`validate_plan` checks the structure *before anything runs*: unknown keys
(with "did you mean" suggestions), wrong types, unknown analysis kinds,
references to endpoints that are not defined, and (given the cohort's columns)
columns the plan needs but the data lacks. Every problem is collected and
raised together as one :class:`aplcohort.errors.PlanError`.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

from ..errors import PlanError

TOP_KEYS = {"plan", "title", "description", "data", "filters", "endpoints", "analyses",
            "output", "seed", "published"}
DATA_KEYS = {"source", "mapping", "sheet", "synthetic", "types"}
FILTER_KEYS = {"id", "keep", "reason"}
OUTPUT_KEYS = {"formats", "dpi", "tables", "time_unit"}
ENDPOINT_KEYS = {"endpoint", "time_zero", "unit", "time", "event", "code", "label", "where"}
DATE_ENDPOINTS = {"OS", "EFS", "RFS", "LFS", "CIR", "NRM", "ANC_recovery", "PLT_recovery"}
COMPETING_ENDPOINTS = {"CIR", "NRM", "ANC_recovery", "PLT_recovery"}
UNITS = {"days", "months", "years"}

COMMON = {"id", "kind", "title", "where", "label", "figure", "table"}
SURV = {"endpoint", "group", "order", "conf_type", "conf_level", "times", "strata", "ticks", "labels"}
ANALYSIS_KEYS: dict[str, set[str]] = {
    "counts": COMMON | {"columns"},
    "table1": COMMON | {"group", "order", "variables", "parametric", "smd", "overall"},
    "response": COMMON | {"group", "order", "outcome", "outcome_label", "conf_level"},
    "km": COMMON | SURV | {"test", "rho", "pairwise", "adjust", "hr", "median_followup", "landmarks"},
    "logrank": COMMON | SURV | {"test", "rho", "p", "q", "trend", "scores", "pairwise", "adjust"},
    "cox": COMMON | {"endpoint", "covariates", "categorical", "strata", "ties", "robust",
                     "cluster", "conf_level", "univariable", "firth", "zph"},
    "cif": COMMON | SURV | {"cause", "test", "rho", "pairwise", "adjust"},
    "gray": COMMON | {"endpoint", "group", "order", "cause", "rho", "strata"},
    "finegray": COMMON | {"endpoint", "covariates", "categorical", "cause", "conf_level"},
    "cause_specific_cox": COMMON | {"endpoint", "covariates", "categorical", "cause", "ties",
                                    "conf_level"},
    "landmark": COMMON | SURV | {"landmarks", "exposure", "test"},
    "td_cox": COMMON | {"endpoint", "exposure", "covariates", "categorical", "ties", "robust",
                        "conf_level"},
    "mantel_byar": COMMON | {"endpoint", "exposure"},
    "simon_makuch": COMMON | SURV | {"exposure"},
    "immortal_time": COMMON | {"endpoint", "group", "order", "exposure", "landmarks", "reference"},
    "swimmer": COMMON | {"color_by", "sort_by", "time_zero", "unit", "missing_label"},
    "flow": COMMON | {"groups"},
}
# what each kind needs
REQUIRED: dict[str, set[str]] = {
    "table1": {"group", "variables"},
    "response": {"group", "outcome"},
    "km": {"endpoint"},
    "logrank": {"endpoint", "group"},
    "cox": {"endpoint", "covariates"},
    "cif": {"endpoint"},
    "gray": {"endpoint", "group"},
    "finegray": {"endpoint", "covariates"},
    "cause_specific_cox": {"endpoint", "covariates", "cause"},
    "landmark": {"endpoint", "landmarks"},
    "td_cox": {"endpoint", "exposure"},
    "mantel_byar": {"endpoint", "exposure"},
    "simon_makuch": {"endpoint", "exposure"},
    "immortal_time": {"endpoint", "group", "exposure"},
}
NEEDS_COMPETING = {"cif", "gray", "finegray", "cause_specific_cox"}


@dataclass(frozen=True)
class PlanProblem:
    where: str
    message: str
    fix: str = ""

    def __str__(self):
        s = f"- {self.where}: {self.message}"
        return s + (f"\n    fix: {self.fix}" if self.fix else "")


def _suggest(key: str, allowed, what: str = "allowed keys") -> str:
    m = difflib.get_close_matches(str(key), sorted(map(str, allowed)), n=1, cutoff=0.6)
    return f"did you mean '{m[0]}'?" if m else f"{what}: {', '.join(sorted(map(str, allowed)))}"


def _check_keys(obj: dict, allowed: set[str], where: str, problems: list):
    for k in obj:
        if k not in allowed:
            problems.append(PlanProblem(where, f"unknown key '{k}'", _suggest(k, allowed)))


def _columns_of(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [str(k) for k in value]
    return [str(v) for v in value]


def _check_endpoint_columns(plan: dict, endpoints: dict, columns: set[str], problems: list) -> None:
    """Date-based endpoints need their dates; exposure columns must exist."""
    from ..cohort.schema import required_for
    from ..errors import InputError

    used: dict[str, list[str]] = {}
    for a in plan.get("analyses") or []:
        if isinstance(a, dict) and a.get("endpoint") in endpoints:
            used.setdefault(a["endpoint"], []).append(str(a.get("id")))
    for eid, ep in endpoints.items():
        if not isinstance(ep, dict) or "endpoint" not in ep or eid not in used:
            continue
        try:
            need = required_for(ep["endpoint"], ep.get("time_zero"))
        except InputError:
            continue  # an unknown endpoint or time zero is reported elsewhere
        missing = [c for c in need if c not in columns]
        if missing:
            problems.append(PlanProblem(
                f"endpoints.{eid}",
                f"{ep['endpoint']} from {ep.get('time_zero')} needs column(s) "
                f"{', '.join(repr(c) for c in missing)}, which the data lacks "
                f"(used by analyses: {', '.join(used[eid])})",
                "add the column(s) to the cohort or map them in the column mapping"))


def validate_plan(plan: Any, columns: set[str] | None = None, name: str = "plan") -> dict:
    """Check a plan's structure; raise :class:`PlanError` listing every problem.

    Parameters
    ----------
    plan : dict
        The parsed YAML.
    columns : set of str, optional
        The cohort's columns; when given, columns the plan names are checked.
    name : str
        Shown in messages (usually the file name).

    Returns
    -------
    dict
        The plan (unchanged) when it is valid.
    """
    problems: list[PlanProblem] = []
    if not isinstance(plan, dict):
        raise PlanError(f"{name}: a plan must be a YAML mapping with keys such as "
                        f"'data', 'endpoints', 'analyses'; got {type(plan).__name__}")
    _check_keys(plan, TOP_KEYS, "top level", problems)
    data = plan.get("data")
    if not isinstance(data, dict) or "source" not in (data or {}):
        problems.append(PlanProblem("data", "missing 'data: {source: FILE}'",
                                    "name the cohort file (CSV, XLSX or Parquet) under data.source"))
    else:
        _check_keys(data, DATA_KEYS, "data", problems)
    for i, f in enumerate(plan.get("filters") or []):
        w = f"filters[{i}]"
        if not isinstance(f, dict):
            problems.append(PlanProblem(w, "each filter must be a mapping {id, keep, reason}"))
            continue
        _check_keys(f, FILTER_KEYS, w, problems)
        for req in ("keep", "reason"):
            if req not in f:
                problems.append(PlanProblem(w, f"missing '{req}'",
                                            "every filter states what it keeps and why others are excluded"))
    endpoints = plan.get("endpoints") or {}
    if not isinstance(endpoints, dict):
        problems.append(PlanProblem("endpoints", "must be a mapping {id: definition}"))
        endpoints = {}
    ep_kind: dict[str, str] = {}
    for eid, ep in endpoints.items():
        w = f"endpoints.{eid}"
        if not isinstance(ep, dict):
            problems.append(PlanProblem(w, "must be a mapping"))
            continue
        _check_keys(ep, ENDPOINT_KEYS, w, problems)
        if "endpoint" in ep:
            if ep["endpoint"] not in DATE_ENDPOINTS:
                problems.append(PlanProblem(w, f"unknown endpoint '{ep['endpoint']}'",
                                            _suggest(ep["endpoint"], DATE_ENDPOINTS)))
            if "time_zero" not in ep:
                problems.append(PlanProblem(w, "missing 'time_zero'",
                                            "state time zero: relapse1, reinduction, response, mcr2, "
                                            "postremission, or a date column"))
            ep_kind[eid] = "competing" if ep.get("endpoint") in COMPETING_ENDPOINTS else "survival"
        elif "time" in ep and ("event" in ep or "code" in ep):
            ep_kind[eid] = "competing" if "code" in ep else "survival"
            if columns is not None:
                for c in (ep["time"], ep.get("event"), ep.get("code")):
                    if c is not None and c not in columns:
                        problems.append(PlanProblem(w, f"column '{c}' is not in the data",
                                                    _suggest(c, columns, "columns")))
        else:
            problems.append(PlanProblem(w, "needs either 'endpoint' + 'time_zero' (date-based) "
                                           "or 'time' + 'event' / 'time' + 'code' (given directly)"))
        if ep.get("unit", "days") not in UNITS:
            problems.append(PlanProblem(w, f"unit '{ep.get('unit')}' unknown", f"use one of {sorted(UNITS)}"))
    if columns is not None:
        _check_endpoint_columns(plan, endpoints, columns, problems)
    analyses = plan.get("analyses")
    if not isinstance(analyses, list) or not analyses:
        problems.append(PlanProblem("analyses", "must be a non-empty list"))
        analyses = []
    seen: set[str] = set()
    for i, a in enumerate(analyses):
        if not isinstance(a, dict):
            problems.append(PlanProblem(f"analyses[{i}]", "must be a mapping with 'id' and 'kind'"))
            continue
        aid = a.get("id")
        w = f"analyses[{i}]" + (f" ({aid})" if aid else "")
        if not aid:
            problems.append(PlanProblem(w, "missing 'id'", "give every analysis a unique id; "
                                        "it keys the analysis in results.json"))
        elif aid in seen:
            problems.append(PlanProblem(w, f"duplicate id '{aid}'"))
        seen.add(aid)
        kind = a.get("kind")
        if kind not in ANALYSIS_KEYS:
            problems.append(PlanProblem(w, f"unknown kind '{kind}'",
                                        _suggest(kind, ANALYSIS_KEYS, "analysis kinds")))
            continue
        _check_keys(a, ANALYSIS_KEYS[kind], w, problems)
        for req in sorted(REQUIRED.get(kind, set())):
            if req not in a:
                problems.append(PlanProblem(w, f"'{kind}' needs '{req}'"))
        ep = a.get("endpoint")
        if ep is not None:
            if ep not in endpoints:
                problems.append(PlanProblem(w, f"endpoint '{ep}' is not defined under 'endpoints'",
                                            _suggest(ep, endpoints, "defined endpoints")))
            elif kind in NEEDS_COMPETING and ep_kind.get(ep) != "competing":
                problems.append(PlanProblem(w, f"'{kind}' needs a competing-risk endpoint; "
                                               f"'{ep}' has a 0/1 event",
                                            "use CIR/NRM/ANC_recovery/PLT_recovery or give 'code'"))
        if columns is not None:
            cols: list[str] = []
            for key in ("group", "strata", "exposure", "cluster", "color_by", "sort_by"):
                cols += _columns_of(a.get(key))
            cols += _columns_of(a.get("covariates"))
            cols += _columns_of(a.get("variables"))
            for c in cols:
                if c not in columns:
                    problems.append(PlanProblem(w, f"column '{c}' is not in the data",
                                                _suggest(c, columns, "columns")))
    out = plan.get("output") or {}
    if isinstance(out, dict):
        _check_keys(out, OUTPUT_KEYS, "output", problems)
    if problems:
        lines = [f"{name}: {len(problems)} problem(s) in the analysis plan; nothing was run."]
        lines += [str(p) for p in problems]
        raise PlanError("\n".join(lines), problems)
    return plan
