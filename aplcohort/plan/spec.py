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

from .._checks import MAX_SEED
from ..errors import PlanError
from .identifiers import check_identifiers
from .registry import KINDS, PRESENTATION_KEYS, Presentation
from .write import output_problems, validate_output_name

TOP_KEYS = {"plan", "title", "description", "data", "filters", "endpoints", "analyses",
            "output", "seed", "allow_identifiers", *PRESENTATION_KEYS}
DATA_KEYS = {"source", "mapping", "sheet", "header_row", "types",
             "query", "table", "encoding"}  # issue 18: databases and encodings
FILTER_KEYS = {"id", "keep", "reason"}
#: Keys older plans carried that change nothing: rejected with what to do instead, so a
#: reader never believes they had an effect.
RETIRED_KEYS = {
    ("top level", "published"): "published values come with the study (aplcohort replicate "
                                "min2022|admiral|tower), not from the plan: remove this key",
    ("data", "synthetic"): "whether the data are synthetic is read from the data's own "
                           "`synthetic` column (and stated in every output): remove this key",
}
OUTPUT_KEYS = {"formats", "dpi", "tables"}
ENDPOINT_KEYS = {"endpoint", "time_zero", "unit", "time", "event", "code", "label", "where",
                 "remission"}
DATE_ENDPOINTS = {"OS", "EFS", "RFS", "LFS", "CIR", "NRM", "ANC_recovery", "PLT_recovery"}
COMPETING_ENDPOINTS = {"CIR", "NRM", "ANC_recovery", "PLT_recovery"}
UNITS = {"days", "months", "years"}

# What each kind accepts comes from ONE place, the registry of analysis kinds
# (aplcohort.plan.registry); these views are derived from it so they cannot drift.
ANALYSIS_KEYS: dict[str, set[str]] = {k: set(v.keys) for k, v in KINDS.items()}
REQUIRED: dict[str, set[str]] = {k: v.required for k, v in KINDS.items() if v.required}
NEEDS_COMPETING = {k for k, v in KINDS.items() if v.competing}
NEEDS_SURVIVAL = {k for k, v in KINDS.items() if v.survival}

#: The kind that does for a competing-risk endpoint what a survival-only kind does
#: (named in the plan error of a survival-only kind given a competing-risk endpoint)
COMPETING_KIND_FOR = {"km": "cif", "logrank": "gray", "cox": "cause_specific_cox or finegray",
                      "td_cox": "td_finegray"}
#: ... and the converse
SURVIVAL_KIND_FOR = {"cif": "km", "gray": "logrank", "finegray": "cox",
                     "cause_specific_cox": "cox", "td_finegray": "td_cox"}


def _counterpart(kind: str, table: dict) -> str:
    """", or kind: X for this endpoint" when another kind does that analysis."""
    other = table.get(kind)
    if other is None:
        return ""
    return f"; for this endpoint use kind: {other}"


@dataclass(frozen=True)
class PlanProblem:
    where: str
    message: str
    fix: str = ""

    def __str__(self):
        s = f"- {self.where}: {self.message}"
        return s + (f"\n    fix: {self.fix}" if self.fix else "")


def as_written(value) -> str:
    """``value`` shown as the plan's author wrote it, not as a Python repr: YAML reads
    ``2020-01-01`` as a date, ``12`` as an integer, ``!!set {a, b}`` as a set.

    Examples
    --------
    >>> import datetime
    >>> as_written(datetime.date(2020, 1, 1)), as_written(True), as_written({"b", "a"})
    ('2020-01-01', 'true', '{a, b}')
    """
    import datetime
    import numbers
    if isinstance(value, str):
        return repr(value)
    if value is None:
        return "null (empty)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (datetime.date, datetime.datetime)):
        return str(value)
    if isinstance(value, numbers.Number):
        try:
            text = str(value)
        except ValueError:  # an integer past Python's digit limit
            return "a number with thousands of digits"
        return text if len(text) <= 40 else text[:37] + "..."
    if isinstance(value, (set, frozenset)):
        return "{" + ", ".join(sorted(as_written(v).strip("'") for v in value)) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(as_written(v) for v in value[:10]) + (", ..." if len(value) > 10
                                                                      else "") + "]"
    if isinstance(value, dict):
        return "a mapping {" + ", ".join(str(k) for k in list(value)[:10]) + "}"
    return type(value).__name__


def _check_text(value, where: str, problems: list, fix: str = "") -> None:
    """A free-text plan field (title, label, reason...) must be text: YAML reads
    ``title: 2020-01-01`` as a date and ``title: 12`` as a number."""
    if value is not None and not isinstance(value, str):
        problems.append(PlanProblem(where, f"must be text; got {as_written(value)}",
                                    fix or "put the text in quotes, e.g. "
                                    f"\"{as_written(value).strip(chr(39))}\""))


def _suggest(key: str, allowed, what: str = "allowed keys") -> str:
    m = difflib.get_close_matches(str(key), sorted(map(str, allowed)), n=1, cutoff=0.6)
    return f"did you mean '{m[0]}'?" if m else f"{what}: {', '.join(sorted(map(str, allowed)))}"


def _check_keys(obj: dict, allowed: set[str], where: str, problems: list):
    for k in list(obj):
        if (where, k) in RETIRED_KEYS:
            problems.append(PlanProblem(where, f"key '{k}' is no longer used",
                                        RETIRED_KEYS[(where, k)]))
    obj = {k: v for k, v in obj.items() if (where, k) not in RETIRED_KEYS}
    for k in obj:
        if k not in allowed:
            problems.append(PlanProblem(where, f"unknown key '{k}'", _suggest(k, allowed)))


def _pydantic_problem(err: dict, kind: str, where: str, model) -> PlanProblem:
    loc = [str(x) for x in err.get("loc", ())]
    key = loc[0] if loc else ""
    path = ".".join(loc)
    typ = err.get("type", "")
    keys = list(model.model_fields)
    if typ == "extra_forbidden":
        return PlanProblem(where, f"unknown key '{key}'", _suggest(key, keys))
    if typ == "missing" and len(loc) == 1:
        return PlanProblem(where, f"'{kind}' needs '{key}'",
                           (model.model_fields[key].description or "") if key in model.model_fields else "")
    if typ == "literal_error":
        allowed = [a.strip().strip("'") for a in
                   err.get("ctx", {}).get("expected", "").replace(" or ", ", ").split(",")]
        return PlanProblem(where, f"{path}: {err.get('input')!r} is not allowed",
                           _suggest(err.get("input"), allowed, "allowed values"))
    if not loc:  # a rule across keys (model validator)
        msg = err.get("msg", "").removeprefix("Value error, ")
        return PlanProblem(where, msg)
    return PlanProblem(where, f"{path}: {err.get('msg', '').removeprefix('Value error, ')} "
                              f"(got {as_written(err.get('input'))})")


def _rules_beside(model, data: dict, errors: list, kind: str, where: str) -> list:
    """The rules across keys (the model's own validators, e.g. an unknown ``style``, or
    ``'rho' applies to test: logrank only``) of the keys that are valid themselves.

    pydantic does not run a model's rules when one of its keys fails, so a plan would
    show them only after that key is fixed; they are checked again without the failing
    keys, and every rule that does not name one of those keys is reported beside them
    (a rule naming a failing key could be about its default, not what was written)."""
    import re

    from pydantic import ValidationError
    failed = {str(e["loc"][0]) for e in errors if e.get("loc")}
    if not failed or any(not e.get("loc") for e in errors):
        return []
    try:
        model.model_validate({k: v for k, v in data.items() if k not in failed})
    except ValidationError as exc:
        named = re.compile(r"\b(" + "|".join(map(re.escape, failed)) + r")\b")
        return [_pydantic_problem(e, kind, where, model) for e in exc.errors()
                if not e.get("loc") and not named.search(e.get("msg", ""))]
    return []


def parse_analysis(a: dict, where: str = "analysis", problems: list | None = None):
    """Validate one analysis entry against its kind's settings model.

    Returns the validated (frozen) pydantic model, or None when there are problems
    (appended to ``problems``; raised as :class:`PlanError` when ``problems`` is None).

    Examples
    --------
    >>> m = parse_analysis({"id": "a", "kind": "km", "endpoint": "os"})
    >>> m.conf_type, m.conf_level
    ('log', 0.95)
    """
    from pydantic import ValidationError
    own = problems is None
    problems = [] if own else problems
    kind = a.get("kind")
    if kind not in KINDS:
        problems.append(PlanProblem(where, f"unknown kind '{kind}'", _suggest(kind, KINDS, "analysis kinds")))
        model = None
    else:
        spec = KINDS[kind]
        try:
            model = spec.model.model_validate(a)
        except ValidationError as exc:
            for err in exc.errors():
                problems.append(_pydantic_problem(err, kind, where, spec.model))
            problems += _rules_beside(spec.model, a, exc.errors(), kind, where)
            model = None
    if own and problems:
        raise PlanError(f"{len(problems)} problem(s) in the analysis:\n"
                        + "\n".join(str(p) for p in problems), problems)
    return model


def _check_expressions(model, where: str, columns, problems: list) -> None:
    """``where`` and ``outcome`` parse in the plan expression language; their columns exist."""
    from ..expr import ExpressionError, columns as expr_columns
    from .kinds import expression_text
    for key in ("where", "outcome"):
        text = getattr(model, key, None)
        if not text:
            continue
        try:
            used = expr_columns(expression_text(text))
        except ExpressionError as exc:
            problems.append(PlanProblem(where, f"{key}: {exc}"))
            continue
        if columns is not None:
            for c in sorted(used - set(columns)):
                problems.append(PlanProblem(where, f"{key}: column '{c}' is not in the data",
                                            _suggest(c, columns, "columns")))


def _columns_of(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [str(k) for k in value]
    return [str(v) for v in value]


def _check_propensity_columns(model, where: str, columns, problems: list) -> None:
    """The columns a ``propensity:`` block names (treatment, covariates, categorical,
    exact) exist in the data (the block's other settings: registry ``_Adjust``)."""
    ps = getattr(model, "propensity", None)
    if not ps:
        return
    from ..adjust.plan import propensity_columns
    named = {"treatment": [ps["treatment"]] if isinstance(ps.get("treatment"), str) else []}
    named.update(propensity_columns(ps))
    for key, cols in named.items():
        for c in cols:
            if c not in columns:
                problems.append(PlanProblem(where, f"propensity.{key}: column '{c}' is not in "
                                                   "the data", _suggest(c, columns, "columns")))


def _check_time_zero(endpoint: str, time_zero, where: str, problems: list) -> None:
    """The time zero exists and suits the endpoint (the cohort layer's rules)."""
    from ..cohort.endpoints import _REMISSION_ENDPOINTS
    from ..cohort.schema import required_for
    from ..errors import InputError
    try:
        required_for(endpoint, time_zero)
    except InputError as exc:
        problems.append(PlanProblem(where, str(exc)))
        return
    if endpoint in _REMISSION_ENDPOINTS and time_zero in ("relapse1", "reinduction"):
        problems.append(PlanProblem(where, f"{endpoint} starts in remission: time_zero "
                                           f"'{time_zero}' does not suit it",
                                    "use time_zero: response, mcr2 or postremission "
                                    "(EFS covers failure to reach remission)"))


def _check_remission(value, where: str, problems: list) -> None:
    """``remission:`` is a non-empty list of best-response categories of the dictionary."""
    from ..cohort.schema import load_dictionary

    allowed = set(load_dictionary().vocabularies["response"].labels)
    if isinstance(value, str) or not isinstance(value, list) or not value \
            or not all(isinstance(v, str) for v in value):
        problems.append(PlanProblem(f"{where}.remission", "must be a non-empty list of response "
                                    "categories", f"e.g. remission: [CR2] (allowed: "
                                    f"{', '.join(sorted(allowed))})"))
        return
    for v in value:
        if v not in allowed:
            problems.append(PlanProblem(f"{where}.remission", f"unknown response category "
                                        f"'{v}'", _suggest(v, allowed)))


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
                "add the column(s) to the cohort or map them in the column mapping; if your "
                "data do not record them, an empty column makes the analyses using them not "
                "estimable, with the reason, and the others run"))


def _check_presentation(plan: dict, columns, problems: list) -> None:
    """Plan-level labels / levels / style / reference_rows (the registry's Presentation
    model; column names checked against the data when it is known)."""
    from pydantic import ValidationError

    from ..errors import InputError
    from ..tables.labels import check_overrides
    pres = {k: plan[k] for k in PRESENTATION_KEYS if k in plan}
    if not pres:
        return
    try:
        Presentation(**pres)
    except ValidationError as exc:
        for err in exc.errors():
            problems.append(_pydantic_problem(err, "plan", "top level", Presentation))
        problems += _rules_beside(Presentation, pres, exc.errors(), "plan", "top level")
        return
    except InputError as exc:
        problems.append(PlanProblem("style", str(exc)))
        return
    # the printed names inside {column: {label, unit, levels: {value: label}}} are free text
    for col, spec in (plan.get("labels") or {}).items():
        if isinstance(spec, dict):
            for key in ("label", "unit"):
                _check_text(spec.get(key), f"labels.{col}.{key}", problems)
            lv = spec.get("levels")
            for value, text in (lv.items() if isinstance(lv, dict) else ()):
                _check_text(text, f"labels.{col}.levels.{value}", problems)
    if columns is not None:
        for msg in check_overrides(plan.get("labels"), plan.get("levels"), columns):
            problems.append(PlanProblem(msg.split(":", 1)[0].split(".")[0], msg))


def validate_plan(plan: Any, columns: set[str] | None = None, name: str = "plan", *,
                  identifying: dict | None = None) -> dict:
    """Check a plan's structure; raise :class:`PlanError` listing every problem.

    Parameters
    ----------
    plan : dict
        The parsed YAML.
    columns : set of str, optional
        The cohort's columns; when given, columns the plan names are checked.
    name : str
        Shown in messages (usually the file name).
    identifying : dict, optional
        ``{column: why}`` of the columns the data's source marked identifying (a REDCap
        field flagged ``Identifier? = y``: :func:`~aplcohort.plan.identifiers.recorded_identifiers`),
        refused like columns named as identifiers.

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
    _check_presentation(plan, columns, problems)
    if "seed" in plan and not (type(plan["seed"]) is int and 0 <= plan["seed"] <= MAX_SEED):
        # recorded in provenance.json: `yes`, `.nan` or `2022.5` would be recorded as
        # true / null / a float that no generator takes
        problems.append(PlanProblem("seed", f"seed must be a whole number from 0 to "
                                            f"2**63 - 1; got {as_written(plan['seed'])}",
                                    "write e.g. seed: 2022"))
    # free text: the report, manuscript and tables print these (a date or a number read
    # by YAML would fail there, after every analysis ran)
    for key in ("plan", "title", "description"):
        if key in plan:
            _check_text(plan[key], key, problems)
    data = plan.get("data")
    if not isinstance(data, dict) or "source" not in (data or {}):
        problems.append(PlanProblem("data", "missing 'data: {source: FILE}'",
                                    "name the cohort file (CSV, XLSX or Parquet) under data.source"))
    else:
        _check_keys(data, DATA_KEYS, "data", problems)
        hr = data.get("header_row")
        if hr is not None and not (type(hr) is int and hr >= 1):
            problems.append(PlanProblem("data.header_row", f"header_row must be a row number "
                                        f">= 1; got {hr!r}", "write e.g. header_row: 3 (the "
                                        "row that holds the column names)"))
    for i, f in enumerate(plan.get("filters") or []):
        w = f"filters[{i}]"
        if not isinstance(f, dict):
            problems.append(PlanProblem(w, "each filter must be a mapping {id, keep, reason}"))
            continue
        _check_keys(f, FILTER_KEYS, w, problems)
        for key in ("id", "reason"):
            _check_text(f.get(key), f"{w}.{key}", problems)
        if "keep" in f and not isinstance(f["keep"], str):
            problems.append(PlanProblem(w, f"keep must be an expression (text); got "
                                           f"{as_written(f['keep'])}",
                                        "write e.g. keep: age_at_relapse >= 18"))
        for req in ("keep", "reason"):
            if req not in f:
                problems.append(PlanProblem(w, f"missing '{req}'",
                                            "every filter states what it keeps and why others are excluded"))
        if isinstance(f.get("keep"), str):
            from ..expr import ExpressionError, columns as expr_columns
            try:
                used = expr_columns(f["keep"])
            except ExpressionError as exc:
                problems.append(PlanProblem(w, f"keep: {exc}"))
            else:
                for c in sorted(used - set(columns or used)):
                    problems.append(PlanProblem(w, f"keep: column '{c}' is not in the data",
                                                _suggest(c, columns, "columns")))
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
        _check_text(ep.get("label"), f"{w}.label", problems)
        if "endpoint" in ep:
            if ep["endpoint"] not in DATE_ENDPOINTS:
                problems.append(PlanProblem(w, f"unknown endpoint '{ep['endpoint']}'",
                                            _suggest(ep["endpoint"], DATE_ENDPOINTS)))
            if "time_zero" not in ep:
                problems.append(PlanProblem(w, "missing 'time_zero'",
                                            "state time zero: relapse1, reinduction, response, mcr2, "
                                            "postremission, or a date column"))
            ep_kind[eid] = "competing" if ep.get("endpoint") in COMPETING_ENDPOINTS else "survival"
            if ep.get("endpoint") in DATE_ENDPOINTS and "time_zero" in ep:
                _check_time_zero(ep["endpoint"], ep["time_zero"], w, problems)
            if "remission" in ep:
                _check_remission(ep["remission"], w, problems)
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
        if "where" in ep:
            from types import SimpleNamespace
            _check_expressions(SimpleNamespace(where=ep["where"]), w, columns, problems)
    if columns is not None:
        _check_endpoint_columns(plan, endpoints, columns, problems)
    analyses = plan.get("analyses")
    if not isinstance(analyses, list) or not analyses:
        problems.append(PlanProblem("analyses", "must be a non-empty list"))
        analyses = []
    seen: dict = {}   # id in lower case -> id: ids name files, one file on macOS and Windows
    for i, a in enumerate(analyses):
        if not isinstance(a, dict):
            problems.append(PlanProblem(f"analyses[{i}]", "must be a mapping with 'id' and 'kind'"))
            continue
        aid = a.get("id")
        w = f"analyses[{i}]" + (f" ({aid})" if aid else "")
        if not aid:
            problems.append(PlanProblem(w, "missing 'id'", "give every analysis a unique id; "
                                        "it keys the analysis in results.json"))
        elif isinstance(aid, str) and aid.lower() in seen:
            first = seen[aid.lower()]
            problems.append(PlanProblem(w, f"duplicate id '{aid}'" if first == aid else
                                        f"id '{aid}' differs from the id '{first}' only in "
                                        "case; ids name output files, and on macOS and "
                                        "Windows the two would be one file",
                                        "give every analysis an id that differs in letters, "
                                        "not only in case" if first != aid else ""))
        elif aid in seen.values():
            problems.append(PlanProblem(w, f"duplicate id '{aid}'"))
        else:
            try:  # ids name output files: checked here, and again where files are written
                validate_output_name(aid, "analysis id")
            except PlanError as exc:
                problems.append(PlanProblem(w, str(exc)))
        if aid and isinstance(aid, str):
            seen.setdefault(aid.lower(), aid)
        kind = a.get("kind")
        if kind not in KINDS:
            problems.append(PlanProblem(w, f"unknown kind '{kind}'",
                                        _suggest(kind, KINDS, "analysis kinds")))
            continue
        model = parse_analysis(a, w, problems)
        ep = a.get("endpoint")
        if ep is not None and isinstance(ep, str):
            if ep not in endpoints:
                problems.append(PlanProblem(w, f"endpoint '{ep}' is not defined under 'endpoints'",
                                            _suggest(ep, endpoints, "defined endpoints")))
            elif kind in NEEDS_COMPETING and ep_kind.get(ep) != "competing":
                problems.append(PlanProblem(w, f"'{kind}' needs a competing-risk endpoint; "
                                               f"'{ep}' has a 0/1 event",
                                            "use CIR/NRM/ANC_recovery/PLT_recovery or give "
                                            "'code'" + _counterpart(kind, SURVIVAL_KIND_FOR)))
            elif kind in NEEDS_SURVIVAL and ep_kind.get(ep) != "survival":
                problems.append(PlanProblem(w, f"'{kind}' needs a survival (0/1) endpoint; "
                                               f"'{ep}' is a competing-risk endpoint",
                                            "use OS/EFS/RFS/LFS or give 'time' + 'event'"
                                            + _counterpart(kind, COMPETING_KIND_FOR)))
        if model is not None:
            _check_expressions(model, w, columns, problems)
        if columns is not None and model is not None:
            for key in KINDS[kind].column_keys:
                for c in _columns_of(getattr(model, key)):
                    if c not in columns:
                        problems.append(PlanProblem(w, f"{key}: column '{c}' is not in the data",
                                                    _suggest(c, columns, "columns")))
            _check_propensity_columns(model, w, columns, problems)
    out = plan.get("output") or {}
    if isinstance(out, dict):
        _check_keys(out, OUTPUT_KEYS, "output", problems)
    problems += [PlanProblem("output", p) for p in output_problems(plan)]
    # identifying columns (names, MRN, birth date...) never reach an output unless allowed
    problems += [PlanProblem("identifiers", p) for p in check_identifiers(plan, columns,
                                                                      identifying=identifying)]
    if problems:
        lines = [f"{name}: {len(problems)} problem(s) in the analysis plan; nothing was run."]
        lines += [str(p) for p in problems]
        raise PlanError("\n".join(lines), problems)
    return plan
