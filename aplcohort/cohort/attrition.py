"""The attrition log: every exclusion, with its reason.

Filters, endpoint analysis sets and landmark sets append a step here; the
flow diagram (``aplcohort.plots.flow``) is drawn from it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from .._results import jsonable


@dataclass(frozen=True)
class AttritionStep:
    """One exclusion step.

    Attributes
    ----------
    step : str
        Short name of the step (e.g. ``"reinduced"``, ``"OS from mCR2: analysis set"``).
    n_before, n_after : int
        Patients before and after the step.
    excluded_ids : tuple of str
        Patient ids excluded at this step.
    reason : str
        Why they were excluded (shown in the flow diagram).
    reasons : dict
        Optional breakdown ``{reason: [patient ids]}`` of the excluded patients.
    """

    step: str
    n_before: int
    n_after: int
    excluded_ids: tuple[str, ...]
    reason: str
    reasons: dict = field(default_factory=dict)

    @property
    def n_excluded(self) -> int:
        return self.n_before - self.n_after


class AttritionLog:
    """Ordered list of :class:`AttritionStep`; append-only."""

    def __init__(self, n_start: int | None = None, label: str = "Patients"):
        self.n_start = n_start
        self.label = label
        self._steps: list[AttritionStep] = []
        #: values imputed at loading (partial dates): {patient_id, column, value, imputed, rule}
        self.imputed: list[dict] = []

    def record_imputed(self, patient_id, column: str, value, imputed: str, rule: str) -> None:
        """Record a value imputed at loading (e.g. a partial date ``2015-03`` -> 2015-03-15)."""
        self.imputed.append({"patient_id": None if patient_id is None else str(patient_id),
                             "column": str(column), "value": str(value),
                             "imputed": str(imputed), "rule": str(rule)})

    def record(self, step: str, n_before: int, excluded_ids, reason: str, reasons=None) -> AttritionStep:
        ids = tuple(str(i) for i in excluded_ids)
        s = AttritionStep(step=step, n_before=int(n_before), n_after=int(n_before) - len(ids),
                          excluded_ids=ids, reason=reason,
                          reasons={str(k): [str(i) for i in v] for k, v in (reasons or {}).items()})
        self._steps.append(s)
        return s

    @property
    def steps(self) -> tuple[AttritionStep, ...]:
        return tuple(self._steps)

    def __len__(self):
        return len(self._steps)

    def __iter__(self):
        return iter(self._steps)

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            [{"step": s.step, "n_before": s.n_before, "n_after": s.n_after,
              "n_excluded": s.n_excluded, "reason": s.reason,
              "excluded_ids": ", ".join(s.excluded_ids)} for s in self._steps],
            columns=["step", "n_before", "n_after", "n_excluded", "reason", "excluded_ids"])

    def to_dict(self) -> dict:
        out = {"n_start": self.n_start, "label": self.label,
               "steps": [jsonable(s) for s in self._steps]}
        if self.imputed:  # only when something was imputed: other outputs stay as they were
            out["imputed"] = [dict(x) for x in self.imputed]
        return out

    def copy(self) -> "AttritionLog":
        new = AttritionLog(self.n_start, self.label)
        new._steps = list(self._steps)
        new.imputed = list(self.imputed)
        return new

    def _repr_html_(self):
        return self.to_frame().to_html(index=False)
