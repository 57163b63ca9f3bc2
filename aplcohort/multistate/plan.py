"""Plan handlers for ``kind: multistate`` and ``kind: clfs`` (to be registered by the plan layer).

Each handler takes the cohort and the plan entry's settings as keyword arguments
(so the keys a kind accepts are exactly the handler's signature:
``accepted_settings(h_multistate)``) and returns a :class:`MultistateOutput` with a
JSON-safe ``summary`` for ``results.json``, tables and figures.  Unknown settings
are rejected by :func:`run_handler` with a did-you-mean message, never ignored.

Also here: :func:`model_from_settings` (a YAML state model -> :class:`StateModel`)
and :func:`salvage_summary` (the Min 2022 salvage facts as counts beside the state
probabilities).
"""

from __future__ import annotations

import difflib
import inspect
from dataclasses import dataclass, field
import warnings

import numpy as np
import pandas as pd

from .._results import jsonable
from ..errors import ImmortalTimeWarning, InputError, PlanError
from .clfs import clfs
from .cox import transition_cox
from .model import StateModel, StateRule, relapsed_leukemia_model
from .occupancy import state_occupancy
from .transitions import ZERO_FOLLOWUP_REASON, build_transitions

__all__ = ["MultistateOutput", "h_multistate", "h_clfs", "run_handler", "accepted_settings",
           "model_from_settings", "salvage_summary", "salvage_probabilities"]

_RULE_KEYS = {"name", "date", "when", "remission", "absorbing"}


@dataclass
class MultistateOutput:
    """What a multi-state plan entry produced.

    Attributes
    ----------
    summary : dict
        JSON-safe entry for ``results.json``.
    tables : list of (name, caption, DataFrame)
    figures : list of (name, matplotlib Figure)
    notes : list of str
        Rules applied (same-day rule, CR3 assumption, excluded patients).
    result : dict
        The result objects (``transitions``, ``occupancy``, ``cox``, ``clfs``).
    """

    summary: dict
    tables: list = field(default_factory=list)
    figures: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    result: dict = field(default_factory=dict)


def accepted_settings(handler) -> list:
    """Setting names a handler accepts (its keyword-only parameters)."""
    sig = inspect.signature(handler)
    return [p.name for p in sig.parameters.values() if p.kind == p.KEYWORD_ONLY]


def run_handler(handler, cohort, settings: dict, *, where: str = "analysis"):
    """Call ``handler(cohort, **settings)`` after rejecting unknown settings.

    Examples
    --------
    >>> run_handler(h_clfs, None, {"tme_zero": "CR2"})
    Traceback (most recent call last):
    ...
    aplcohort.errors.PlanError: analysis: unknown setting 'tme_zero' (did you mean 'time_zero'?)...
    """
    ok = accepted_settings(handler)
    bad = [k for k in settings if k not in ok]
    if bad:
        msgs = []
        for k in bad:
            close = difflib.get_close_matches(k, ok, n=1)
            msgs.append(f"unknown setting {k!r}" + (f" (did you mean {close[0]!r}?)"
                                                     if close else ""))
        raise PlanError(f"{where}: " + "; ".join(msgs) + f". Accepted: {', '.join(ok)}")
    return handler(cohort, **settings)


def model_from_settings(model, cr3_entry="date") -> StateModel:
    """``"relapsed_leukemia"`` (bundled) or a mapping from a YAML plan.

    A mapping has ``states`` (list of ``{name, date, when, remission, absorbing}``)
    and ``transitions`` (list of ``[from, to]``), optionally ``name``.

    Examples
    --------
    >>> m = model_from_settings({"states": [{"name": "CR", "date": "response_date"},
    ...     {"name": "death", "date": "death_date", "absorbing": True}],
    ...     "transitions": [["CR", "death"]]})
    >>> m.state_names
    ('CR', 'death')
    """
    if isinstance(model, StateModel):
        return model
    if model in (None, "relapsed_leukemia"):
        return relapsed_leukemia_model(cr3_entry=cr3_entry)
    if not isinstance(model, dict):
        raise InputError(f"model must be 'relapsed_leukemia' or a mapping with states and "
                         f"transitions; got {model!r}")
    extra = set(model) - {"states", "transitions", "name"}
    if extra:
        raise InputError(f"model: unknown keys {sorted(extra)} (accepted: states, "
                         "transitions, name)")
    rules = []
    for i, s in enumerate(model.get("states") or []):
        if not isinstance(s, dict) or "name" not in s:
            raise InputError(f"model.states[{i}] must be a mapping with at least 'name'")
        bad = set(s) - _RULE_KEYS
        if bad:
            raise InputError(f"model.states[{i}] ({s['name']}): unknown keys {sorted(bad)} "
                             f"(accepted: {', '.join(sorted(_RULE_KEYS))})")
        when = {k: list(v) if isinstance(v, (list, tuple)) else [v]
                for k, v in (s.get("when") or {}).items()}
        flags = {k: s.get(k) or False for k in ("remission", "absorbing")}
        for k, v in flags.items():   # a quoted 'no' would read as True
            if not isinstance(v, bool):
                raise InputError(f"model.states[{i}] ({s['name']}): {k} must be true or false "
                                 f"(unquoted); got {v!r}")
        rules.append(StateRule(str(s["name"]), s.get("date"), when, flags["remission"],
                               flags["absorbing"]))
    if not rules:
        raise InputError("model.states is empty")
    return StateModel(rules, [tuple(t) for t in model.get("transitions") or []],
                      name=model.get("name", "plan model"))


def salvage_summary(transitions) -> pd.DataFrame:
    """Patients entering each salvage state and where they are at last follow-up.

    Returns
    -------
    DataFrame ``[salvage_state, n, alive, alive_in_remission, dead]`` (counts of
    patients; the last state of each patient's rows), to set beside the state
    probabilities (e.g. Min 2022: 7 salvage allo-HSCT, 6 alive).
    """
    d = transitions.data
    model = transitions.model
    salv = [s for s in model.state_names if s.startswith("salvage")]
    last = d.sort_values(["patient_id", "tstop"]).groupby("patient_id").tail(1)
    end_state = pd.Series(np.where(last["to_state"] == "censor", last["from_state"],
                                   last["to_state"]), index=last["patient_id"].to_numpy())
    rows = []
    rem = set(model.remission_states)
    for s in salv:
        ids = d.loc[d["to_state"] == s, "patient_id"].unique()
        e = end_state.reindex(ids)
        dead = int(e.isin(model.absorbing_states).sum())
        rows.append((s, len(ids), len(ids) - dead, int(e.isin(rem).sum()), dead))
    return pd.DataFrame(rows, columns=["salvage_state", "n", "alive", "alive_in_remission",
                                       "dead"])


def salvage_probabilities(cohort, model, times, *, unit="months", cutoff=None,
                          on_error="raise", conf_type="log", conf_level=0.95) -> pd.DataFrame:
    """State probabilities after each salvage, from the salvage start (Aalen–Johansen).

    For each salvage state of ``model`` entered by at least one patient, the rows are
    rebuilt with time zero = entry into that salvage, and the probabilities of being
    alive in remission, alive not in remission and dead are given at ``times`` (the
    published "7 salvage allo-HSCT, 6 alive" as probabilities with a CI).

    Returns
    -------
    DataFrame ``[salvage_state, n, measure, time, estimate, std_err, lower, upper,
    n_risk, note]``.
    """
    rows = []
    rem = list(model.remission_states)
    # only the states' dates and conditions are used here: the rows are built from those
    # columns (the other cohort columns would be carried into every row for nothing)
    from ..cohort.endpoints import parse_cutoff
    from .transitions import _as_frame
    frame = _as_frame(cohort)
    if cutoff is not None:   # by the cohort's mapping (the frame below no longer has it)
        cutoff = parse_cutoff(cutoff, cohort)
    used = ["patient_id", "last_followup_date", "death_date", "data_cutoff_date"]
    for st in model.states:
        used += ([st.date] if st.date else []) + list(st.when)
    frame = frame[[c for c in dict.fromkeys(used) if c in frame.columns]]
    for s in [x for x in model.state_names if x.startswith("salvage")]:
        tr = build_transitions(frame, model, time_zero=s, unit=unit, cutoff=cutoff,
                               on_error=on_error)
        n = int(tr.data["patient_id"].nunique())
        if n == 0:
            continue
        living = [x for x in model.state_names if x not in model.absorbing_states]
        sums = {"alive in remission": rem,
                "alive, not in remission": [x for x in living if x not in rem],
                "dead": list(model.absorbing_states)}
        occ = state_occupancy(tr.data, id="patient_id", states=list(model.state_names),
                              sums=sums, conf_type=conf_type, conf_level=conf_level)
        a = occ.state_at(list(times))
        a = a[a["state"].isin(list(sums))].rename(columns={"state": "measure"})
        zero = tr.excluded.loc[tr.excluded["reason"] == ZERO_FOLLOWUP_REASON, "patient_id"]
        if len(zero):   # entered the salvage on the last follow-up date: said, not dropped
            msg = (f"{len(zero)} patient(s) left out: {ZERO_FOLLOWUP_REASON} ("
                   f"{', '.join(map(str, zero))})")
            a = a.assign(note=[f"{x}; {msg}" if isinstance(x, str) and x else msg
                               for x in a["note"]])
        a.insert(0, "salvage_state", s)
        a.insert(1, "n", n)
        rows.append(a.drop(columns="group"))
    cols = ["salvage_state", "n", "measure", "time", "estimate", "std_err", "lower", "upper",
            "n_risk", "note"]
    return pd.concat(rows, ignore_index=True)[cols] if rows else pd.DataFrame(columns=cols)


def _figure(ax):
    return ax.figure


def _immortal_time_check(model, time_zero, group, notes):
    """A group defined by a state entered after time zero favours that group."""
    later = model.reachable_from(time_zero)
    hits = [s.name for s in model.states if s.name in later and group in s.when]
    if hits:
        msg = (f"group {group!r} is decided by entering {hits} after time zero "
               f"({time_zero}): comparing its groups from time zero is biased by immortal "
               "time; the multi-state model already separates these states (compare "
               "transition hazards with transition_cox instead)")
        warnings.warn(msg, ImmortalTimeWarning, stacklevel=3)
        notes.append("warning: " + msg)


def h_multistate(cohort, *, model="relapsed_leukemia", cr3_entry="date", time_zero=None,
                 unit="months", cutoff=None, on_error="raise", group=None, order=None,
                 times=(), tau=None, covariates=(), shared=None, categorical=None,
                 conf_type="log", conf_level=0.95, figures=True,
                 palette=None) -> MultistateOutput:
    """``kind: multistate``: transitions, state occupancy, transition-specific Cox.

    ``palette`` (a :class:`aplcohort.plots.style.Palette`) gives the states the run's
    colours: a plan passes its own, so a state named like a group level ("allo HSCT")
    has that level's colour in every figure.

    Parameters
    ----------
    cohort : Cohort or DataFrame
    model : "relapsed_leukemia" or mapping
        See :func:`model_from_settings`.
    cr3_entry : {"date", "salvage_start"}
        Bundled model only (see :func:`relapsed_leukemia_model`).
    time_zero : str, optional
        State whose entry is time zero (default the model's first state).
    unit : {"days", "months", "years"}
    cutoff : date, optional
    on_error : {"raise", "exclude"}
    group : str, optional
        Grouping column fixed at time zero (a treatment started later would be
        immortal time: use it as a state instead, or ``time_zero`` at its start).
    order : list, optional
    times : list of float
        Times at which to report the occupancy probabilities.
    tau : float, optional
        Horizon of the restricted mean time in each state.
    covariates : list of str
        Transition-specific Cox covariates (none: no Cox model).
    shared : dict, optional
        ``{covariate: [[from, to], ...]}`` common effects.
    categorical : dict, optional
    conf_type, conf_level
    figures : bool

    Returns
    -------
    MultistateOutput
    """
    m = model_from_settings(model, cr3_entry)
    tr = build_transitions(cohort, m, time_zero=time_zero, unit=unit, cutoff=cutoff,
                           on_error=on_error)
    pre_notes = []
    if group is not None:
        _immortal_time_check(m, tr.time_zero, group, pre_notes)
    if group is not None and group not in tr.data.columns:
        raise InputError(f"group column {group!r} is not in the cohort")
    if group is not None:
        gd = tr.data[group]
        if gd.isna().any():
            miss = tr.data.loc[gd.isna(), "patient_id"].unique().tolist()
            raise InputError(f"group {group!r} is missing for patients {miss[:10]}; recode or "
                             "exclude them before the analysis (with the reason)")
    order = _default_order(group, tr.data, order)
    occ = state_occupancy(tr.data, id="patient_id", states=list(m.state_names), group=group,
                          order=order, tau=tau, conf_type=conf_type, conf_level=conf_level)
    out = MultistateOutput(summary={})
    at = occ.state_at(list(times)) if len(times) else None
    cox = None
    cox_notes = []
    if covariates or shared:
        sh = {k: [tuple(t) for t in v] for k, v in (shared or {}).items()}
        cox = transition_cox(tr, list(covariates), shared=sh, categorical=categorical,
                             conf_level=conf_level)
        cox_notes = [f"transition {x} -- not in the Cox model"
                     for x in cox.choices.get("not modelled", [])]
    notes = [f"time zero: entry into {tr.time_zero}; unit: {unit}",
             "same-day rule: the j-th of m transitions dated day d is placed at "
             "d - (m - j)/m days (on the time-zero day: j/(m + 1) days)"]
    if cr3_entry == "salvage_start" and model in (None, "relapsed_leukemia"):
        notes.append("assumption (cr3_entry: salvage_start): patients in mCR/CR after "
                     "salvage are counted in CR3 from the salvage start")
    n_notes = int((tr.report.problems["severity"] == "note").sum())
    if n_notes:
        notes.append(f"{n_notes} rule applications listed in the transitions report")
    for r in tr.excluded.itertuples():
        notes.append(f"excluded {r.patient_id}: {r.reason}")
    notes += pre_notes + cox_notes
    out.notes = notes
    # The data report names patient and rule; calendar dates stay on the local machine
    # (the same rule as warnings in report.html/results.json: identifiers.redact_dates).
    problems = _redacted(tr.report.problems)
    out.summary = jsonable({
        "kind": "multistate", "model": m.name, "states": list(m.state_names),
        "time_zero": tr.time_zero, "unit": unit, "n": int(tr.data["patient_id"].nunique()),
        "excluded": tr.excluded, "transitions": tr.transition_counts(),
        "groups": list(occ.groups), "at": at, "rmean": occ.rmean,
        "cox_terms": cox.terms if cox is not None else None,
        "problems": problems, "choices": occ.choices, "notes": notes})
    out.tables = [("transitions", "Patients making each transition", tr.transition_counts())]
    if at is not None:
        out.tables.append(("state_probabilities", "State occupancy probabilities (Aalen–"
                           "Johansen, IJ standard errors)", at))
    if occ.rmean is not None:
        out.tables.append(("time_in_state", f"Restricted mean time in state to {tau} {unit}",
                           occ.rmean))
    if cox is not None:
        terms = cox.terms.copy()   # its reference levels go with it (the table names them)
        terms.attrs["reference_levels"] = dict(cox.choices.get("reference_levels") or {})
        out.tables.append(("transition_cox", "Transition-specific Cox model (robust SE)",
                           terms))
    if len(problems):
        out.tables.append(("transition_report", "Multi-state data report", problems))
    if figures:
        from ..plots.multistate import plot_state_occupancy, plot_transition_diagram

        out.figures.append(("transition_diagram", _figure(plot_transition_diagram(
            m, tr.transition_counts(), palette=palette))))
        for g, name in zip(occ.groups, _figure_names("state_occupancy", occ.groups)):
            out.figures.append((name, _figure(plot_state_occupancy(
                occ, g, xlabel=f"{unit.capitalize()} from {tr.time_zero}",
                title=None if len(occ.groups) == 1 else str(g), palette=palette))))
    out.result = {"transitions": tr, "occupancy": occ, "cox": cox}
    return out


def h_clfs(cohort, *, cr3_entry="date", time_zero="CR2", unit="months", cutoff=None,
           on_error="raise", group=None, order=None, times=(), tau=None, conf_type="log",
           conf_level=0.95, dfs_os="aalen-johansen", figures=True) -> MultistateOutput:
    """``kind: clfs``: CLFS with CI beside DFS and OS; salvage facts as counts and
    probabilities.

    Uses the bundled relapsed-leukaemia model; ``time_zero`` defaults to CR2 (DFS
    needs a remission time zero); ``dfs_os`` as :func:`aplcohort.multistate.clfs`.
    Other parameters as :func:`h_multistate`.

    Returns
    -------
    MultistateOutput
    """
    m = relapsed_leukemia_model(cr3_entry=cr3_entry)
    tr = build_transitions(cohort, m, time_zero=time_zero, unit=unit, cutoff=cutoff,
                           on_error=on_error)
    pre_notes = []
    if group is not None:
        _immortal_time_check(m, tr.time_zero, group, pre_notes)
    order = _default_order(group, tr.data, order)
    res = clfs(tr, group=group, order=order, conf_type=conf_type, conf_level=conf_level,
               tau=tau, dfs_os=dfs_os)
    at = res.measure_at(list(times)) if len(times) else None
    salv = salvage_summary(tr)
    salv_p = (salvage_probabilities(cohort, m, times, unit=unit, cutoff=cutoff,
                                    on_error=on_error, conf_type=conf_type,
                                    conf_level=conf_level) if len(times) else None)
    notes = [f"time zero: entry into {tr.time_zero}; unit: {unit}",
             "CLFS = alive in a remission state (" +
             ", ".join(m.remission_states) + "), Aalen–Johansen; DFS and OS: " + dfs_os]
    notes += [f"{k}: {v}" for k, v in res.notes.items()]
    if cr3_entry == "salvage_start":
        notes.append("assumption (cr3_entry: salvage_start): patients in mCR/CR after "
                     "salvage are counted in CR3 from the salvage start")
    for r in tr.excluded.itertuples():
        notes.append(f"excluded {r.patient_id}: {r.reason}")
    notes += pre_notes
    out = MultistateOutput(summary=jsonable({
        "kind": "clfs", "time_zero": tr.time_zero, "unit": unit,
        "n": int(tr.data["patient_id"].nunique()), "excluded": tr.excluded,
        "definitions": res.definitions, "groups": list(res.groups), "at": at,
        "salvage": salv, "salvage_probabilities": salv_p, "choices": res.choices,
        "notes": notes}), notes=notes)
    rm = getattr(res.occupancy, "rmean", None)
    if tau is not None and rm is not None:  # restricted mean time alive in remission, ...
        rm = rm[rm["state"].isin(res.measures)].reset_index(drop=True)
        out.summary["rmean"] = jsonable(rm)
    out.tables = [("clfs_definitions", "What each curve measures", res.definitions),
                  ("salvage_outcomes", "Patients entering each salvage state and their "
                   "state at last follow-up", salv)]
    if tau is not None and rm is not None:
        out.tables.append(("clfs_rmean", f"Restricted mean time to {tau} {unit} (CLFS: alive "
                           "in remission)", rm))
    if at is not None:
        out.tables.insert(0, ("clfs_at", "CLFS, DFS and OS at chosen times", at))
        out.tables.append(("salvage_probabilities", "State probabilities from the start of "
                           "each salvage (Aalen–Johansen, IJ SE)", salv_p))
    if figures:
        from ..plots.multistate import plot_clfs

        for g, name in zip(res.groups, _figure_names("clfs", res.groups)):
            out.figures.append((name, _figure(plot_clfs(
                res, g, xlabel=f"{unit.capitalize()} from {tr.time_zero}",
                title=None if len(res.groups) == 1 else str(g)))))
    out.result = {"transitions": tr, "clfs": res}
    return out


def _figure_names(stem: str, groups) -> list:
    """``stem`` for one group, else ``stem_<level>`` per group, file-safe and unique
    (a level such as "auto HSCT" becomes ``auto_HSCT``: :func:`aplcohort.plan.write.
    safe_output_names`)."""
    from ..plan.write import safe_output_names
    groups = list(groups)
    if len(groups) == 1:
        return [stem]
    return safe_output_names(f"{stem}_{g}" for g in groups)


def _redacted(problems: pd.DataFrame) -> pd.DataFrame:
    """The data report without calendar dates in its free-text column (plan outputs leave
    the machine; ``build_transitions(...).report`` keeps the dates for the data manager)."""
    from ..plan.identifiers import redact_dates

    out = problems.copy()
    if "detail" in out.columns:
        out["detail"] = [redact_dates(d) if isinstance(d, str) else d for d in out["detail"]]
    return out


def _default_order(group, data: pd.DataFrame, order):
    """Without ``order:``, groups follow the data dictionary's level order (as every other
    kind, docs/plans.md "Group order"); columns without a vocabulary: alphabetical."""
    if group is None or order is not None or group not in data.columns:
        return order
    from ..tables.labels import resolve_labels
    present = [v for v in pd.unique(data[group]) if not pd.isna(v)]
    return resolve_labels().order(group, present)
