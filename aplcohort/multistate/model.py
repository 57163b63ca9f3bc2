"""State models: the states a patient can be in and the transitions allowed.

A :class:`StateModel` declares, for each state, how its entry is read from the
cohort's dates (:class:`StateRule`: a date column, optionally only when other
columns have given values) and which transitions are allowed.  The bundled
relapsed-leukaemia model (:func:`relapsed_leukemia_model`) follows the disease
course of the Min 2022 study:

    relapse1 -> CR2 (CR2 or mCR2) -> post-remission therapy (ATO-based / auto HSCT /
    allo HSCT) -> relapse2 -> salvage (allo HSCT / other) -> CR3, death from every
    state.

Remission states (CR2, the three post-remission states, CR3) define current
leukaemia-free survival (CLFS).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .._checks import check_bool
from ..errors import InputError

__all__ = ["StateRule", "StateModel", "relapsed_leukemia_model", "REMISSION_STATUS"]

#: values of ``status_after_salvage2`` that mean the patient is in remission (CR3)
REMISSION_STATUS = ("mCR", "CR")


@dataclass(frozen=True)
class StateRule:
    """How entry into one state is read from a cohort row.

    Parameters
    ----------
    name : str
        State name.
    date : str or None
        Date column giving the entry date.
    when : dict, optional
        ``{column: [values]}``: the state is entered only if every column has one of
        its values (e.g. ``{"response": ["CR2", "mCR2"]}``). When the condition holds
        but the date is missing, the builder reports an error for the patient.
    remission : bool
        Alive and in remission (counted in CLFS).
    absorbing : bool
        No transition out (death).
    """

    name: str
    date: str | None
    when: dict = field(default_factory=dict)
    remission: bool = False
    absorbing: bool = False

    def __post_init__(self):
        for k in ("remission", "absorbing"):
            object.__setattr__(self, k, check_bool(f"StateRule {self.name!r}: {k}",
                                                   getattr(self, k)))


@dataclass(frozen=True)
class StateModel:
    """A user-declared multi-state model.

    Parameters
    ----------
    states : sequence of StateRule
        In the order of the disease course; same-day transitions are ordered by this
        order (see :func:`aplcohort.multistate.build_transitions`).
    transitions : sequence of (from, to)
        Allowed transitions.
    name : str

    Examples
    --------
    >>> m = StateModel([StateRule("CR", "response_date"), StateRule("relapse", "relapse2_date"),
    ...                 StateRule("death", "death_date", absorbing=True)],
    ...                [("CR", "relapse"), ("CR", "death"), ("relapse", "death")])
    >>> m.state_names
    ('CR', 'relapse', 'death')
    """

    states: tuple
    transitions: tuple
    name: str = "user model"

    def __post_init__(self):
        object.__setattr__(self, "states", tuple(self.states))
        object.__setattr__(self, "transitions", tuple(tuple(t) for t in self.transitions))
        names = [s.name for s in self.states]
        problems = []
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            problems.append(f"duplicated state names {dup}")
        if "censor" in names:
            problems.append("'censor' is reserved for 'no transition'; rename that state")
        for a, b in self.transitions:
            for s in (a, b):
                if s not in names:
                    problems.append(f"transition ({a!r}, {b!r}) names unknown state {s!r}")
            if a == b:
                problems.append(f"transition ({a!r}, {b!r}) stays in the same state")
        for s in self.states:
            if s.absorbing and any(a == s.name for a, _ in self.transitions):
                problems.append(f"absorbing state {s.name!r} has transitions out of it")
        if problems:
            raise InputError("invalid state model: " + "; ".join(problems))

    @property
    def state_names(self) -> tuple:
        return tuple(s.name for s in self.states)

    @property
    def remission_states(self) -> tuple:
        return tuple(s.name for s in self.states if s.remission)

    @property
    def absorbing_states(self) -> tuple:
        return tuple(s.name for s in self.states if s.absorbing)

    def rule(self, name) -> StateRule:
        for s in self.states:
            if s.name == name:
                return s
        raise InputError(f"unknown state {name!r}; the model has {list(self.state_names)}")

    def allowed(self, a, b) -> bool:
        return (a, b) in self.transitions

    def reachable_from(self, name) -> set:
        """States reachable from ``name`` (not including it)."""
        seen, todo = set(), [name]
        while todo:
            a = todo.pop()
            for x, y in self.transitions:
                if x == a and y not in seen:
                    seen.add(y)
                    todo.append(y)
        seen.discard(name)
        return seen


def relapsed_leukemia_model(cr3_entry: str = "date") -> StateModel:
    """The bundled relapsed-leukaemia (APL) disease-course model.

    States (cohort columns of ``aplcohort/cohort/dictionary.yaml``):

    ============== =========================== =========================================
    state          entry date                  condition
    ============== =========================== =========================================
    relapse1       ``relapse1_date``
    CR2            ``response_date``           ``response`` in CR2, mCR2
    ATO-based      ``postremission_start_date`` ``postremission_modality`` ATO-based
    auto HSCT      ``postremission_start_date`` ``postremission_modality`` auto HSCT
    allo HSCT      ``postremission_start_date`` ``postremission_modality`` allo HSCT
    relapse2       ``relapse2_date``
    salvage allo   ``salvage2_start_date``     ``salvage2_modality`` allo HSCT
    salvage other  ``salvage2_start_date``     ``salvage2_modality`` auto HSCT, ATO-based,
                                                IC, other
    CR3            see ``cr3_entry``           ``status_after_salvage2`` mCR or CR
    death          ``death_date``
    ============== =========================== =========================================

    Transitions: relapse1 -> CR2; CR2 -> each post-remission state and relapse2;
    post-remission -> relapse2; relapse2 -> salvage allo / salvage other;
    salvage -> CR3; every non-death state -> death.  Remission (CLFS) states: CR2,
    ATO-based, auto HSCT, allo HSCT, CR3.

    Parameters
    ----------
    cr3_entry : {"date", "salvage_start"}
        The cohort dictionary records the status after salvage
        (``status_after_salvage2``) but no date of CR3.  ``"date"`` (default) reads
        the entry from a ``cr3_date`` column; patients whose status is mCR/CR without
        a ``cr3_date`` are reported as errors.  ``"salvage_start"`` is an explicit
        assumption: a patient in mCR/CR after salvage is counted in CR3 from the
        salvage start (same-day rule: the salvage state lasts the half day before).

    Returns
    -------
    StateModel

    Examples
    --------
    >>> m = relapsed_leukemia_model(cr3_entry="salvage_start")
    >>> m.remission_states
    ('CR2', 'ATO-based', 'auto HSCT', 'allo HSCT', 'CR3')
    """
    if cr3_entry not in ("date", "salvage_start"):
        raise InputError(f"cr3_entry must be 'date' or 'salvage_start', got {cr3_entry!r}")
    post = ["ATO-based", "auto HSCT", "allo HSCT"]
    cr3_date = "cr3_date" if cr3_entry == "date" else "salvage2_start_date"
    states = [
        StateRule("relapse1", "relapse1_date"),
        StateRule("CR2", "response_date", {"response": ["CR2", "mCR2"]}, remission=True),
        *[StateRule(p, "postremission_start_date", {"postremission_modality": [p]},
                    remission=True) for p in post],
        StateRule("relapse2", "relapse2_date"),
        StateRule("salvage allo HSCT", "salvage2_start_date",
                  {"salvage2_modality": ["allo HSCT"]}),
        StateRule("salvage other", "salvage2_start_date",
                  {"salvage2_modality": ["auto HSCT", "ATO-based", "IC", "other"]}),
        StateRule("CR3", cr3_date, {"status_after_salvage2": list(REMISSION_STATUS)},
                  remission=True),
        StateRule("death", "death_date", absorbing=True),
    ]
    tr = [("relapse1", "CR2")]
    tr += [("CR2", p) for p in post] + [("CR2", "relapse2")]
    tr += [(p, "relapse2") for p in post]
    tr += [("relapse2", "salvage allo HSCT"), ("relapse2", "salvage other")]
    tr += [("salvage allo HSCT", "CR3"), ("salvage other", "CR3")]
    tr += [(s.name, "death") for s in states if s.name != "death"]
    return StateModel(states, tr, name=f"relapsed leukaemia (cr3_entry={cr3_entry})")
