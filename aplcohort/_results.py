"""Shared machinery for frozen result objects.

Every analysis in aplcohort returns a frozen dataclass that inherits from
:class:`Result`. It gives each result

* ``to_dict()``: a plain, JSON-safe dict (NaN/inf -> ``None``, numpy scalars ->
  Python numbers, DataFrames -> lists of records), always with a ``kind`` key;
* ``_repr_html_()``: a notebook display whose header states the choices made
  (CI type, ties, strata, reference levels, ...) followed by the tidy tables;
* ``__str__``: the same in plain text.

A subclass declares

* ``kind``: a class attribute naming the analysis (``"km"``, ``"logrank"``...);
* ``choices``: a property returning a dict of modelling choices;
* ``tables``: a property returning an ordered dict ``{title: DataFrame}``.

Subclasses may override ``to_dict`` (call ``jsonable`` on what they build).
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import html
import math
from typing import Any

import numpy as np
import pandas as pd


def jsonable(obj: Any) -> Any:
    """Convert ``obj`` to JSON-safe Python types.

    NaN and infinities become ``None``; numpy scalars and arrays become Python
    numbers and lists; DataFrames become lists of records; Series become dicts;
    dataclasses become dicts of their fields; dates become ISO strings.
    """
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, (np.bool_,)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        f = float(obj)
        return f if math.isfinite(f) else None
    if isinstance(obj, Result):
        return obj.to_dict()
    if isinstance(obj, pd.DataFrame):
        return [jsonable(r) for r in obj.to_dict(orient="records")]
    if isinstance(obj, pd.Series):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, np.ndarray):
        return [jsonable(v) for v in obj.tolist()]
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, (pd.Timestamp, _dt.date, _dt.datetime)):
        return obj.isoformat() if not pd.isna(obj) else None
    if obj is pd.NaT or obj is pd.NA:
        return None
    if dataclasses.is_dataclass(obj):
        return {f.name: jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    try:
        if pd.isna(obj):
            return None
    except (TypeError, ValueError):
        pass
    return str(obj)


class Result:
    """Mixin for frozen result dataclasses (see module docstring)."""

    kind: str = "result"

    @property
    def choices(self) -> dict:
        return {}

    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        return {}

    @property
    def title(self) -> str:
        return type(self).__name__

    def to_dict(self) -> dict:
        out: dict[str, Any] = {"kind": self.kind}
        if dataclasses.is_dataclass(self):
            for f in dataclasses.fields(self):
                if f.name.startswith("_"):
                    continue
                out[f.name] = jsonable(getattr(self, f.name))
        out["choices"] = jsonable(self.choices)
        return out

    def _choices_text(self) -> str:
        return "; ".join(f"{k}: {v}" for k, v in self.choices.items())

    def _repr_html_(self) -> str:
        parts = [f"<div class='aplcohort-result'><strong>{html.escape(self.title)}</strong>"]
        ch = self._choices_text()
        if ch:
            parts.append(f"<br><small>{html.escape(ch)}</small>")
        for name, df in self.tables.items():
            parts.append(f"<p><em>{html.escape(name)}</em></p>")
            parts.append(df.to_html(index=False, float_format=lambda v: f"{v:.4g}", na_rep="NA"))
        parts.append("</div>")
        return "\n".join(parts)

    def __str__(self) -> str:
        lines = [self.title]
        ch = self._choices_text()
        if ch:
            lines.append(ch)
        for name, df in self.tables.items():
            lines.append(f"-- {name}")
            lines.append(df.to_string(index=False))
        return "\n".join(lines)
