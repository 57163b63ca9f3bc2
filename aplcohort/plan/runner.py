"""Run an analysis plan: cohort file -> results.json, tables, figures, report.

Entry point: :func:`run_plan`. The CLI (``aplcohort run``, ``aplcohort
replicate``) and notebooks call it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
import warnings as _warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from .. import _yaml

from .._checks import check_bool
from .._results import jsonable
from ..errors import AplcohortWarning, PlanError
from . import kinds as _kinds
from .derived import add_derived
from .provenance import provenance as _provenance
from .spec import parse_analysis, validate_plan

PLANS_DIR = Path(__file__).parent / "plans"


@dataclass
class AnalysisOutput:
    """What one analysis produced."""

    id: str
    kind: str
    title: str
    summary: dict                      # the results.json entry
    result: Any = None                 # the statistics result object(s)
    tables: list = field(default_factory=list)    # [(name, caption, table-like)]
    figures: list = field(default_factory=list)   # [(name, matplotlib Figure)]
    notes: list = field(default_factory=list)
    choices: str = ""
    status: str = "ok"                 # or "not estimable"
    reason: str | None = None          # why not estimable
    exclusions: list = field(default_factory=list)  # [{reason, n, ids}]
    attrition: Any = None              # the analysis's AttritionLog (plan filters + its own steps)


@dataclass
class PlanResults:
    """Everything a plan run produced (returned by :func:`run_plan`)."""

    plan: dict
    analyses: dict[str, AnalysisOutput]
    provenance: dict
    cohort: Any
    warnings: list[str]
    published: pd.DataFrame | None = None
    out_dir: Path | None = None
    #: figures being saved while the run went on (plan.write.FigurePrerender; CLI only)
    _prerender: Any = field(default=None, repr=False, compare=False)
    #: the plan file read (protected from --out like the data: plan.write._protected_inputs)
    _plan_path: Any = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict:
        """The ``results.json`` document."""
        d = {"analyses": {k: jsonable(v.summary) for k, v in self.analyses.items()},
             "provenance": jsonable(self.provenance)}
        if self.published is not None:
            d["published_vs_reproduced"] = jsonable(self.published)
            d["published_vs_reproduced_explanation"] = self.published.attrs.get("explanation", "")
        d["not_estimable"] = dict(self.not_estimable)
        d["failed"] = dict(self.failed)
        d["attrition"] = jsonable(self.cohort.attrition.to_dict())
        d["warnings"] = list(self.warnings)
        return d

    def __getitem__(self, key):
        return self.analyses[key]

    @property
    def not_estimable(self) -> dict[str, str]:
        """``{analysis id: reason}`` of the analyses without a result: not estimable on
        these data, or failed by an internal error (see :attr:`failed`)."""
        return {k: v.reason for k, v in self.analyses.items() if v.status != "ok"}

    @property
    def failed(self) -> dict[str, str]:
        """``{analysis id: reason}`` of the analyses that failed by an internal error (a bug
        of aplcohort, not a property of the data)."""
        out = {k: v.reason for k, v in self.analyses.items() if v.status == "error"}
        for k, v in self.analyses.items():   # an optional part (hr, zph, ...) that failed
            if k not in out and v.summary.get("internal_errors"):
                out[k] = "; ".join(v.summary["internal_errors"])
        return out

    def _repr_html_(self):
        import html as _html
        rows = "".join(f"<tr><td>{_html.escape(k)}</td><td>{v.kind}</td><td>{_html.escape(v.title)}</td>"
                       f"<td>{_html.escape(v.status if v.status == 'ok' else f'{v.status}: {v.reason}')}</td></tr>"
                       for k, v in self.analyses.items())
        return (f"<div><strong>Plan {self.plan.get('plan', '')}</strong>: "
                f"{len(self.analyses)} analyses on {self.cohort.n} patients"
                f"{' (SYNTHETIC)' if self.provenance.get('synthetic_data') else ''}</div>"
                f"<table><tr><th>id</th><th>kind</th><th>title</th><th>status</th></tr>{rows}</table>")


_NUMPY_WORDS = (
    ("divide by zero", "a division by zero occurred (typically a group with no patient at risk "
                       "or no event)"),
    ("invalid value", "an undefined value (0/0, log of a negative number, or similar) occurred"),
    ("overflow", "a number grew too large to represent (typically a coefficient running "
                 "to infinity)"),
    ("underflow", "a number became too small to represent"),
    ("mean of empty slice", "an average over no values was asked for (an empty group)"),
    ("degrees of freedom", "a variance was asked for with too few values"),
)


def is_numerical_warning(w) -> bool:
    """True for a caught ``RuntimeWarning`` that tells of a numerical problem (numpy,
    scipy, the statistics code): not matplotlib's resource warnings ("More than 20
    figures have been opened ..."), which say nothing about the estimates.

    ``w`` is a :class:`warnings.WarningMessage` (from ``catch_warnings(record=True)``).
    """
    if not issubclass(w.category, RuntimeWarning):
        return False
    if "matplotlib" in Path(str(getattr(w, "filename", "") or "")).parts:
        return False
    return not any(p.search(str(w.message)) for p in _NOT_NUMERICAL)


#: RuntimeWarnings that are not numerical problems (matplotlib's ``warn_external`` names
#: the caller's file, so the text is what tells them apart).
_NOT_NUMERICAL = (re.compile(r"More than \d+ figures have been opened"),
                  re.compile(r"matplotlib\.pyplot"))


def numerical_warning_text(message: str) -> str:
    """A numpy / scipy RuntimeWarning in words for the report (the raw text in brackets).

    Examples
    --------
    >>> numerical_warning_text("divide by zero encountered in log")[:40]
    'While computing this analysis a division'
    """
    low = message.lower()
    what = next((words for key, words in _NUMPY_WORDS if key in low),
                "a numerical problem occurred")
    return (f"While computing this analysis {what}; check its estimates for missing or "
            f"infinite values (numpy: {message})")


def _collect_warnings(aid: str, caught, out_a, run_warnings: list,
                      settings=frozenset()) -> None:
    """The warnings caught while analysis ``aid`` ran, into its notes, its summary and the
    run's warnings (aplcohort's own warnings by class; numerical ``RuntimeWarning`` s in
    words, see :func:`is_numerical_warning`; anything else is not reported). Their advice
    names the plan settings of the analysis's kind (``settings``, its keys), not the
    Python API's arguments and functions (:func:`aplcohort.stats.shapes.plan_advice`)."""
    from ..stats.shapes import plan_advice
    msgs = []
    for w in caught:
        if issubclass(w.category, AplcohortWarning):
            m = f"[{aid}] {w.category.__name__}: {plan_advice(str(w.message), settings, aid)}"
        elif is_numerical_warning(w):
            m = f"[{aid}] NumericalWarning: {numerical_warning_text(str(w.message))}"
        else:
            continue
        if m not in msgs:
            msgs.append(m)
    out_a.notes.extend(m.split("] ", 1)[1] for m in msgs)
    out_a.summary.setdefault("warnings", [m.split("] ", 1)[1] for m in msgs])
    run_warnings.extend(msgs)


@contextlib.contextmanager
def _figures_held_open(figures: bool):
    """A run keeps every figure it draws open until it is written (then closed): no
    "More than 20 figures have been opened" warning from matplotlib while it runs (the
    setting is restored afterwards)."""
    if not figures:
        yield
        return
    import matplotlib as mpl
    old = mpl.rcParams["figure.max_open_warning"]
    mpl.rcParams["figure.max_open_warning"] = 0
    try:
        yield
    finally:
        mpl.rcParams["figure.max_open_warning"] = old


def load_plan(plan) -> tuple[dict, str, Path | None]:
    """Read a plan from a path, a bundled plan name, or a dict.

    Returns ``(plan_dict, plan_text, plan_path)``.
    """
    if isinstance(plan, dict):
        return plan, yaml.safe_dump(plan, sort_keys=True), None
    p = Path(plan)
    if not p.exists() and (PLANS_DIR / f"{plan}.yaml").exists():
        p = PLANS_DIR / f"{plan}.yaml"
    if not p.exists():
        raise PlanError(f"plan file not found: {plan}")
    from .._files import read_text_file
    text = read_text_file(p, "plan file", PlanError)
    try:
        d = _yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise PlanError(f"{p.name}: not valid YAML: {exc}") from None
    return d, text, p


def _date_based(plan: dict) -> bool:
    return any(isinstance(e, dict) and "endpoint" in e for e in (plan.get("endpoints") or {}).values())


def _load_cohort(source, mapping, sheet, plan, source_kw=None):
    """Load the cohort.

    A plan with a date-based endpoint needs the date-based schema: the table is
    loaded and validated against the data dictionary. A plan whose endpoints are all
    given directly (time/event or time/code columns) also accepts a generic table that
    is not in that schema: columns named like dictionary columns are still parsed and
    validated; ``patient_id`` is optional (row labels ``row 2``, ``row 3``, ... as in
    the spreadsheet are used when it is absent).
    """
    from ..cohort import load
    source_kw = dict(source_kw or {})
    if _date_based(plan) or mapping is not None:
        return load(source, mapping=mapping, sheet=sheet, **source_kw)
    from ..cohort.cohort import from_dataframe
    from ..cohort.io import read_table
    if isinstance(source, pd.DataFrame):
        raw, info = source, {"format": "DataFrame"}
    else:
        raw, info = read_table(source, sheet=sheet, **source_kw)
    if "patient_id" not in raw.columns:
        raw = raw.copy()
        raw.insert(0, "patient_id", [f"row {i + 2}" for i in range(len(raw))])
    path = "DataFrame" if isinstance(source, pd.DataFrame) else str(source)
    cohort = from_dataframe(raw, required=("patient_id",),
                            name=None if isinstance(source, pd.DataFrame) else path)
    return dataclasses.replace(cohort, source={**cohort.source, **info, "path": path,
                                               "generic_table": True})


def _is_synthetic(cohort) -> bool:
    d = cohort.data
    if "synthetic" not in d.columns:
        return False
    v = d["synthetic"]
    return bool(len(v)) and bool(v.fillna(False).astype(bool).all())


def _type_extra_columns(df: pd.DataFrame, plan: dict, name: str) -> pd.DataFrame:
    """Give columns outside the data dictionary a type (``data.types`` declares some).

    The policy lives in the cohort layer: :func:`aplcohort.cohort.types.type_extra_columns`
    (the same missing tokens and number rules as dictionary columns).
    """
    from ..cohort.schema import load_dictionary
    from ..cohort.types import type_extra_columns
    from ..errors import CohortValidationError
    declared = (plan.get("data") or {}).get("types") or {}
    if not isinstance(declared, dict):
        raise PlanError(f"{name}: data.types must map column names to a type "
                        f"(number, integer, text), got {declared!r}")
    try:
        return type_extra_columns(df, declared, known_columns=set(load_dictionary().columns),
                                  source=name)
    except CohortValidationError as exc:
        raise PlanError(str(exc), exc.problems) from None


def _prepare(plan_d: dict, name: str, plan_path, data, mapping, sheet, figures: bool,
             header_row=None):
    """Validate, load, type and filter: everything before the analyses run."""
    from ..cohort.sql import is_database_url, reject_passwords, resolve_database_url
    reject_passwords(plan_d, name)  # credentials come from the environment, never a plan
    validate_plan(plan_d, None, name)
    dspec = plan_d.get("data") or {}
    source = data if data is not None else dspec.get("source")
    if data is None and plan_path is not None:  # relative to the plan file, as documented
        if is_database_url(source):
            source = resolve_database_url(source, plan_path.parent)
        elif not Path(source).is_absolute():
            source = plan_path.parent / source
    mapping = mapping if mapping is not None else dspec.get("mapping")
    if isinstance(mapping, str) and plan_path is not None and data is None and not Path(mapping).is_absolute():
        mapping = plan_path.parent / mapping
    sheet = sheet or dspec.get("sheet")
    header_row = header_row if header_row is not None else dspec.get("header_row")
    with _warnings.catch_warnings(record=True) as caught:
        _warnings.simplefilter("always", AplcohortWarning)
        cohort = _load_cohort(source, mapping, sheet, plan_d,
                              {**{k: dspec[k] for k in (("query", "table")
                                                        if is_database_url(source)
                                                        else ("encoding",))
                                  if dspec.get(k) is not None},
                               **({"header_row": header_row} if header_row is not None
                                  else {})})
    data_warn = [str(w.message) for w in caught]
    if isinstance(source, pd.DataFrame):
        cohort = dataclasses.replace(cohort, source={**cohort.source, "path": "DataFrame"})
    # the plan orders groups itself (order:, levels:, the data dictionary): its frames
    # hold the values as text, not the Python API's dictionary-ordered Categoricals
    derived_df, _added = add_derived(_plain_text(cohort.data))
    derived_df = _type_extra_columns(derived_df, plan_d, name)
    cohort = dataclasses.replace(cohort, data=derived_df)
    from .identifiers import recorded_identifiers
    validate_plan(plan_d, set(cohort.data.columns) | {"exposed"}, name,
                  identifying=recorded_identifiers(cohort.data))
    _check_levels(plan_d, cohort.data, name)
    _check_event_columns(plan_d, cohort.data, name)

    for f in plan_d.get("filters") or []:
        cohort = cohort.filter(f["keep"], step=f.get("id", f["keep"]), reason=f["reason"])

    ctx = _kinds.Context(plan=plan_d, cohort=cohort, figures=figures,
                         endpoints=plan_d.get("endpoints") or {},
                         output=plan_d.get("output") or {},
                         palette=plan_palette(plan_d, cohort.data))
    return source, mapping, cohort, data_warn, ctx


def _check_event_columns(plan_d: dict, data: pd.DataFrame, name: str) -> None:
    """An endpoint given as ``{time, event}`` is a survival (0/1) endpoint: an ``event``
    column of an endpoint that an analysis uses, holding other values (cause codes 0/1/2) is refused before anything runs,
    saying to give it as ``code:`` (a competing-risk endpoint, for cif / gray / finegray /
    cause_specific_cox), instead of every analysis of it ending not estimable."""
    problems = []
    used = {a.get("endpoint") for a in plan_d.get("analyses") or [] if isinstance(a, dict)}
    for eid, spec in (plan_d.get("endpoints") or {}).items():
        if (eid not in used or not isinstance(spec, dict) or "event" not in spec
                or "time" not in spec):
            continue
        col = spec["event"]
        if not isinstance(col, str) or col not in data.columns:
            continue
        vals = pd.unique(data[col].dropna())
        bad = []
        for v in vals:
            try:
                ok = float(v) in (0.0, 1.0)
            except (TypeError, ValueError):
                ok = False
            if not ok:
                v = v.item() if hasattr(v, "item") else v
                bad.append(int(v) if isinstance(v, float) and v.is_integer() else v)
        if bad:
            shown = ", ".join(repr(b) for b in sorted(bad, key=str)[:5])
            problems.append(f"- endpoints.{eid}: event column '{col}' holds {shown} besides 0 "
                            f"(censored) and 1 (event)\n    fix: for cause codes (0 censored, "
                            f"1, 2, ... causes) write 'code: {col}' instead of 'event: {col}' "
                            f"and use kind: cif, gray, finegray or cause_specific_cox")
    if problems:
        raise PlanError("\n".join([f"{name}: {len(problems)} problem(s) in the analysis plan; "
                                   "nothing was run."] + problems))


def _plain_text(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with its Categorical columns as plain object columns (same values)."""
    cats = [c for c in df.columns if isinstance(df[c].dtype, pd.CategoricalDtype)]
    if not cats:
        return df
    return df.assign(**{c: df[c].astype(object).where(df[c].notna(), None) for c in cats})


def _check_levels(plan_d: dict, data: pd.DataFrame, name: str) -> None:
    """Every level a plan names (an analysis's ``order:``, a ``categorical:`` reference, the
    plan-level ``levels:``) must be a value of its column somewhere in the cohort: a
    misspelt level was dropped silently, which could change the reference group. A level
    absent only from one analysis's subset (after ``where:``) is fine and is not checked
    here. The values of a Cox ``predict:`` profile are checked too (:func:`_check_profiles`).
    A level of a group order (``order:``, ``levels:``) that the data dictionary lists for the
    column (its vocabulary: e.g. 'allo HSCT' of ``postremission_modality``) is accepted
    although no patient has it -- a centre without allogeneic transplants runs the study's
    plan -- and each analysis ordering by it says it has no patient
    (:func:`aplcohort.plan.kinds._absent_levels`); a reference level must be in the data.
    Raises :class:`PlanError` listing every unknown level, with the closest values."""
    import difflib

    from ..tables.labels import resolve_labels
    from .spec import parse_analysis

    dictionary_levels = resolve_labels().levels

    def known(col):
        vals = pd.unique(data[col].dropna())
        return vals, {str(v) for v in vals}

    def check(col, levels, where, problems, order=False):
        if not isinstance(col, str) or col not in data.columns or not levels:
            return
        vals, texts = known(col)
        vocabulary = {str(v) for v in dictionary_levels.get(col, ())} if order else set()
        for lev in levels:
            if lev is None or str(lev) in texts or any(lev == v for v in vals[:1000]):
                continue
            if str(lev) in vocabulary:
                continue   # a level of the dictionary no patient has: said per analysis
            near = difflib.get_close_matches(str(lev), sorted(texts), n=2, cutoff=0.6)
            hint = (f"; did you mean {' or '.join(repr(x) for x in near)}?" if near else
                    f"; its values: {', '.join(sorted(texts)[:12])}"
                    + (" ..." if len(texts) > 12 else ""))
            problems.append(f"{where}: level {lev!r} is not a value of column '{col}'{hint}")

    problems: list[str] = []
    for col, levels in ((plan_d.get("levels") or {}).items()
                        if isinstance(plan_d.get("levels"), dict) else ()):
        check(col, levels if isinstance(levels, list) else [], f"levels.{col}", problems,
              order=True)
    for a in plan_d.get("analyses") or []:
        try:
            m = parse_analysis(a, f"analysis '{a.get('id')}'")
        except PlanError:
            continue  # reported by validate_plan
        where = f"analysis '{m.id}'"
        from .registry import _Group, _OptGroup
        if isinstance(m, (_Group, _OptGroup)) and m.order:
            check(m.group, list(m.order), f"{where} order", problems, order=True)
        for col, ref in (getattr(m, "categorical", None) or {}).items():
            check(col, [ref], f"{where} categorical.{col}", problems)
        ps = getattr(m, "propensity", None) or {}
        if ps:   # the focal group of ATT and reference levels of the score model
            tr = ps.get("treatment") or getattr(m, "group", None)
            if ps.get("focal") is not None:
                check(tr, [ps["focal"]], f"{where} propensity.focal", problems)
            if isinstance(ps.get("categorical"), dict):
                for col, ref in ps["categorical"].items():
                    check(col, [ref], f"{where} propensity.categorical.{col}", problems)
        _check_profiles(m, data, where, check, problems)
    if problems:
        head = ("levels that are not in the data (a misspelt level would be dropped silently)"
                if all("is not a value of column" in p for p in problems) else
                "values that do not fit the data (a level not in the data, a text where a "
                "number is needed); nothing was run")
        raise PlanError(f"{name}: " + "\n- ".join([head + ":"] + problems))


def _check_profiles(m, data: pd.DataFrame, where: str, check, problems: list) -> None:
    """The values of a Cox ``predict:`` profile: a level of a categorical covariate (or of
    the strata column) must be a value of its column, and a numeric covariate's value a
    finite number. A bad value used to make the whole Cox model not estimable."""
    import math

    from ..stats._design import _is_categorical
    cat = getattr(m, "categorical", None) or {}
    strata = getattr(m, "strata", None)
    for label, prof in (getattr(m, "predict", None) or {}).items():
        for col, val in prof.items():
            if not isinstance(col, str) or col not in data.columns:
                continue   # reported by validate_plan / the model's own checks
            at = f"{where} predict.{label}.{col}"
            if col in cat or col == strata or _is_categorical(data[col]):
                check(col, [val], at, problems)
            elif isinstance(val, bool) or not isinstance(val, (int, float)):
                problems.append(f"{at}: {val!r} is not a number ('{col}' is a numeric "
                                "covariate; give e.g. 40, unquoted)")
            elif not math.isfinite(val):
                problems.append(f"{at}: {val!r} is not a finite number")


def plan_palette(plan_d: dict, data: pd.DataFrame):
    """One :class:`~aplcohort.plots.style.Palette` for every figure of a plan run.

    Every level of every grouping column the plan names (``group:`` of an analysis,
    ``color_by:`` of a swimmer plot) is registered before any analysis runs, in plan
    order (an analysis's ``order:`` first, then the other levels present, sorted), so
    a level has the same colour and line style in every figure whichever analyses run
    or fail. Levels met later (e.g. the 0/1 of a time-dependent exposure) get the next
    free style.
    """
    from ..plots.style import Palette
    pal = Palette()
    for a in plan_d.get("analyses") or []:
        if not isinstance(a, dict):
            continue
        for key in ("group", "color_by"):
            col = a.get(key)
            if not isinstance(col, str) or col not in data.columns:
                continue
            present = [v for v in pd.unique(data[col]) if not pd.isna(v)]
            order = [v for v in (a.get("order") or []) if v in set(present)] if key == "group" else []
            for lv in order + sorted((v for v in present if v not in set(order)), key=str):
                pal.add(lv)
            if key == "color_by" and data[col].isna().any():
                pal.add(a.get("missing_label", "not recorded"))
    return pal


def plan_context(plan, *, data=None, mapping=None, sheet=None, figures: bool = True,
                 header_row=None):
    """The validated, loaded and filtered :class:`aplcohort.plan.kinds.Context` of a plan,
    ready for :func:`aplcohort.plan.kinds.run_analysis` (used to run one analysis at a time,
    e.g. in tests and notebooks)."""
    plan_d, _text, plan_path = load_plan(plan)
    return _prepare(plan_d, plan_path.name if plan_path else "plan", plan_path, data, mapping,
                    sheet, figures, header_row)[4]


def run_plan(plan, *, data=None, mapping=None, sheet=None, out: str | Path | None = None,
             figures: bool = True, now=None, force: bool = False, _plan_text=None,
             _plan_path=None, _prerender: bool = False,
             header_row: int | None = None) -> PlanResults:
    """Run an analysis plan.

    Parameters
    ----------
    plan : str, Path or dict
        A plan file, the name of a bundled plan (``"min2022"``) or a parsed plan.
    data : str, Path or DataFrame, optional
        Cohort file, or a pandas DataFrame (validated exactly like a file: it is
        written as CSV and read back; the provenance records the SHA-256 of those
        CSV bytes and ``input_file: "DataFrame"``); overrides ``data.source``.
    mapping : str, Path or dict, optional
        Column mapping; overrides ``data.mapping``.
    sheet : str, optional
        Excel sheet name; overrides ``data.sheet``.
    header_row : int, optional
        Row (from 1) of a CSV or Excel sheet that holds the column names; overrides
        ``data.header_row``; recorded as ``input_header_row`` in the provenance.
    out : str or Path, optional
        Output folder; when given, writes ``results.json``, ``provenance.json``,
        ``tables/``, ``figures/`` and ``report.html``. An existing folder is replaced
        only if it holds exactly what the last aplcohort run into it wrote, unchanged
        (its marker file lists those files); otherwise ``InputError`` names the added
        or changed files, before anything is run (see ``docs/security.md``).
    figures : bool
        Draw figures (needed for the report).
    now : datetime, optional
        Run time recorded in the provenance (for reproducible outputs in tests).
    force : bool
        Replace an existing ``out`` whole even if aplcohort did not write it or files
        were added to it or changed since (the ``--force`` of ``aplcohort run``).

    Returns
    -------
    PlanResults

    Examples
    --------
    >>> res = run_plan("min2022", data="data/synthetic/min2022.csv")  # doctest: +SKIP
    >>> res["mcr2_by_reinduction"].summary["p"]                          # doctest: +SKIP
    """
    force = check_bool("force", force)
    if out is not None:  # refused before any work, not after the run
        from .write import check_output_dir, input_paths
        check_output_dir(out, force=force, protect=input_paths(plan, data, mapping))
    plan_d, plan_text, plan_path = load_plan(plan)
    name = plan_path.name if plan_path else "plan"
    frame_hash = None
    if isinstance(data, pd.DataFrame):
        # issue 18: the DataFrame itself goes to the one validation path (typed cells kept,
        # as from an .xlsx or a database); the provenance hashes its CSV bytes
        import hashlib
        frame_hash = hashlib.sha256(data.to_csv(index=False).encode("utf-8")).hexdigest()
    if _plan_text is not None:
        plan_text, plan_path = _plan_text, _plan_path
    source, mapping, cohort, data_warn, ctx = _prepare(plan_d, name, plan_path, data, mapping,
                                                       sheet, figures, header_row)
    models = {a["id"]: parse_analysis(a, f"analysis '{a['id']}'") for a in plan_d["analyses"]}
    pre = None
    if (_prerender or out is not None) and figures:
        # the run will be written: save each analysis's figures in a forked process while
        # the next analyses run (None where forking is unsafe or there is one CPU)
        from .write import FigurePrerender, output_options
        opts = output_options(plan_d)
        pre = FigurePrerender.start(opts["formats"], opts["dpi"])
    analyses: dict[str, AnalysisOutput] = {}
    run_warnings = list(data_warn)
    with _figures_held_open(figures):
        for a in plan_d["analyses"]:
            with _warnings.catch_warnings(record=True) as caught:
                _warnings.simplefilter("always")
                if pre is not None:  # every figure is saved: fitted where it is saved
                    from ..plots.survival import deferred_fit
                    with deferred_fit():
                        out_a = _kinds.run_analysis(ctx, models[a["id"]])
                else:
                    out_a = _kinds.run_analysis(ctx, models[a["id"]])
                if out_a.figures:  # long labels shortened, named in this analysis's warnings
                    from ..plots.style import limit_figure_texts
                    for _name, fig in out_a.figures:
                        limit_figure_texts(fig)
            _collect_warnings(a["id"], caught, out_a, run_warnings,
                              _kinds.kind_settings(models[a["id"]]))
            analyses[a["id"]] = out_a
            if pre is not None and out_a.figures:
                pre.submit(out_a.figures)
    for aid, o in analyses.items():
        if o.status != "ok":
            cat = "internal error" if o.status == "error" else "not estimable"
            run_warnings.append(f"[{aid}] {cat}: {o.reason}")

    from ..cohort.sql import _safe, is_database_url
    db_hash = frame_hash
    if frame_hash is not None:
        source = "DataFrame"
    elif is_database_url(source):  # not a file: hash the table as read (CSV of the rows)
        import hashlib
        db_hash = hashlib.sha256(cohort.report.data.to_csv(index=False).encode("utf-8")
                                 ).hexdigest()
        source = _safe(str(source))
    prov = _provenance(data_path=source, plan_text=plan_text, seed=plan_d.get("seed"),
                       mapping_path=mapping if isinstance(mapping, (str, Path)) else None,
                       synthetic=_is_synthetic(cohort), plan_path=plan_path, now=now,
                       input_sha256=db_hash)
    if cohort.source.get("encoding_source") not in (None, "valid UTF-8"):
        # issue 18: a text file that was not plain UTF-8 says how it was decoded
        prov["input_encoding"] = f"{cohort.source['encoding']} ({cohort.source['encoding_source']})"
    if cohort.source.get("format") == "xlsx" and cohort.source.get("sheet") is not None:
        # the file's hash covers every sheet: say which one was analysed
        prov["input_sheet"] = str(cohort.source["sheet"])
    if cohort.source.get("header_row") not in (None, 1):
        prov["input_header_row"] = int(cohort.source["header_row"])
    if frame_hash is not None:
        prov["input_note"] = ("pandas DataFrame passed to run_plan; input_sha256 is the hash of "
                              "its CSV bytes (DataFrame.to_csv(index=False))")
    published = None
    if plan_d.get("plan") == "min2022":
        from .min2022 import published_vs_reproduced
        published = published_vs_reproduced(cohort, analyses)
    res = PlanResults(plan=plan_d, analyses=analyses, provenance=prov, cohort=cohort,
                      warnings=run_warnings, published=published, _prerender=pre,
                      _plan_path=plan_path)
    if out is not None:
        from .write import write_outputs
        write_outputs(res, Path(out), force=force)
        res.out_dir = Path(out)
    return res


def replicate(study: str = "min2022", *, data=None, mapping=None, sheet=None,
              seed: int = 2022, out: str | Path | None = None, figures: bool = True,
              now=None, force: bool = False) -> PlanResults:
    """Replicate a published study: the Python form of ``aplcohort replicate``.

    Parameters
    ----------
    study : {"min2022", "admiral", "tower"}
        The bundled plan to run (ADMIRAL: ``rr_aml``, TOWER: ``rr_all``, with the
        trial's published-vs-reproduced table; :func:`aplcohort.synthetic.trial_facts.run_trial`).
    data : str, Path or DataFrame, optional
        Your cohort: a file, a database URL (with ``mapping={"table": ...}`` or
        ``{"query": ...}``) or a pandas DataFrame, validated like a file. Default:
        the synthetic replica generated with ``seed``.
    mapping, sheet
        As :func:`run_plan`.
    seed : int
        Seed of the synthetic replica (used only when ``data`` is not given).
    out : str or Path, optional
        Output folder (results.json, tables, figures, report).
    force : bool
        As :func:`run_plan`: replace an existing ``out`` whole even if it holds files
        the last run did not write.

    Returns
    -------
    PlanResults

    Examples
    --------
    >>> import pandas as pd
    >>> res = replicate(data=pd.read_csv("data/synthetic/min2022.csv"))  # doctest: +SKIP
    """
    if study in ("admiral", "tower"):  # synthetic trial cohorts (issue 14)
        from ..synthetic.trial_facts import run_trial
        return run_trial(study, data=data, mapping=mapping, sheet=sheet, seed=seed, out=out,
                         figures=figures, now=now, force=force)
    if study != "min2022":
        raise PlanError(f"replicate: unknown study {study!r}; available: min2022, admiral, tower")
    if data is None:
        import tempfile
        from ..synthetic.min2022 import write_files
        with tempfile.TemporaryDirectory(prefix="aplcohort-replica-") as tmp:
            csv = write_files(Path(tmp) / "data", seed=seed)["min2022.csv"]
            frame = pd.read_csv(csv, dtype=str, keep_default_na=False)
        data = frame
    return run_plan(study, data=data, mapping=mapping, sheet=sheet, out=out, figures=figures,
                    now=now, force=force)
