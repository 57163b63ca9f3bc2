"""Variable labels, units and level order: one place for every table, figure and report.

Sources, later ones winning:

1. the data dictionary (``aplcohort/cohort/dictionary.yaml``): ``label`` and ``unit``
   of each column, and level order = the order of the column's vocabulary;
2. labels of the derived columns (:mod:`aplcohort.plan.derived`) kept here;
3. a plan's top-level ``labels:`` and ``levels:`` (or the Python API's
   ``labels=`` / ``levels=``).

:func:`resolve_labels` returns a frozen :class:`Labels`; tables, figures and the
report ask it for ``.column(name)`` ("WBC at relapse, ×10⁹/L"), ``.level(column,
value)``, ``.order(column, values)`` and ``.term(term)`` ("Post-remission
treatment: allo HSCT" for the model term ``postremission_modalityallo HSCT``).

Plan syntax::

    labels:
      age_at_relapse: "Age at relapse"            # a label (the unit is kept)
      age_at_diagnosis: "Age (years)"             # names its unit: not appended again
      wbc_relapse: {label: "WBC", unit: "×10⁹/L"}
      sex: {label: "Sex", levels: {M: Male, F: Female}}
    levels:
      sanz_risk: [low, intermediate, high]        # row / legend order
"""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import TYPE_CHECKING

from .. import _yaml

from ..errors import InputError

if TYPE_CHECKING:   # annotations only: this module does not need pandas to import
    import pandas as pd

#: Labels of the derived analysis columns (aplcohort.plan.derived) and of terms the
#: time-dependent analyses create.
DERIVED = {
    "age_at_relapse": ("Age at first relapse", "years"),
    "cr1_duration_months": ("CR1 duration", "months"),
    "early_death": ("Early death (\u2264 30 days)", None),
    "vital_status": ("Vital status", None),
    "hsct": ("HSCT in CR2", None),
    "hsct_start_date": ("Date of HSCT", None),
    "exposed": ("Treatment received (time-dependent)", None),
    "state": ("State", None),
    "group_at_landmark": ("Group at the landmark", None),
    "exposure_at_landmark": ("Exposure known at the landmark", None),
    "ever_treated": ("Ever treated", None),
}
#: Level order of derived columns.
DERIVED_LEVELS = {"vital_status": ("alive", "dead"), "hsct": ("no HSCT", "HSCT")}

#: How dictionary units print (ASCII in the YAML, typeset here; LaTeX export turns them
#: back into ASCII math).
UNIT_TEXT = {"x10^9/L": "\u00d710\u2079/L", "x10^9/l": "\u00d710\u2079/L"}


@functools.lru_cache(maxsize=1)
def _dictionary_raw() -> dict:
    text = resources.files("aplcohort.cohort").joinpath("dictionary.yaml").read_text("utf-8")
    return _yaml.safe_load(text)


def dictionary_labels() -> tuple[dict, dict, dict]:
    """``(labels, units, level orders)`` from the packaged data dictionary."""
    raw = _dictionary_raw()
    vocabs = raw.get("vocabularies") or {}
    labels, units, levels = {}, {}, {}
    for name, spec in (raw.get("columns") or {}).items():
        if spec.get("label"):
            labels[name] = str(spec["label"])
        if spec.get("unit"):
            units[name] = str(spec["unit"])
        voc = spec.get("vocabulary")
        if voc and voc in vocabs and spec.get("type") == "category":
            levels[name] = tuple(str(v) for v in vocabs[voc])
    return labels, units, levels


@dataclass(frozen=True)
class Labels:
    """Resolved labels, units, level labels and level orders (see the module docstring).

    Examples
    --------
    >>> lab = resolve_labels()
    >>> lab.column("wbc_relapse"), lab.column("age_at_relapse")
    ('WBC at relapse, ×10⁹/L', 'Age at first relapse, years')
    >>> lab.order("sanz_risk", ["high", "low", "intermediate"])
    ['low', 'intermediate', 'high']
    >>> lab.term("postremission_modalityallo HSCT")
    'Post-remission treatment: allo HSCT'
    """

    columns: Mapping = field(default_factory=dict)
    units: Mapping = field(default_factory=dict)
    levels: Mapping = field(default_factory=dict)
    level_labels: Mapping = field(default_factory=dict)

    def column(self, name, *, unit: bool = True) -> str:
        """Printed name of a column ("Label, unit"); the name itself when unknown.

        The unit is not appended to a label that already names it (a plan's ``age:
        "Age (years)"`` prints "Age (years)", not "Age (years), years"; see
        :func:`label_has_unit`).

        >>> lab = resolve_labels(labels={"age_at_diagnosis": "Age (years)"})
        >>> lab.column("age_at_diagnosis"), lab.column("age_at_relapse")
        ('Age (years)', 'Age at first relapse, years')
        """
        name = str(name)
        lab = self.columns.get(name, name)
        u = self.units.get(name) if unit else None
        if not u:
            return lab
        shown = UNIT_TEXT.get(u, u)
        return lab if label_has_unit(lab, u, shown) else f"{lab}, {shown}"

    def unit(self, name) -> str | None:
        u = self.units.get(str(name))
        return UNIT_TEXT.get(u, u) if u else None

    def level(self, column, value) -> str:
        """Printed name of a level of ``column``."""
        return str((self.level_labels.get(str(column)) or {}).get(str(value), value))

    def level_map(self, column, values) -> dict:
        """``{value: printed label}`` of ``values`` of ``column``: what figure legends
        print (``plot_km(..., labels=lab.level_map("sex", km.groups))``), the same names
        as the tables.

        >>> resolve_labels(labels={"sex": {"levels": {"M": "Male"}}}).level_map("sex", ["F", "M"])
        {'F': 'F', 'M': 'Male'}
        """
        return {v: self.level(column, v) for v in values}

    def order(self, column, values) -> list:
        """``values`` (distinct) in the resolved order of ``column``; unknown ones after,
        sorted as text."""
        vals = list(dict.fromkeys(values))
        known = [str(v) for v in self.levels.get(str(column), ())]
        first = [v for k in known for v in vals if str(v) == k]
        rest = sorted((v for v in vals if str(v) not in known), key=str)
        return first + rest

    def has_order(self, column) -> bool:
        return str(column) in self.levels

    def term(self, term, reference_levels: Mapping | None = None) -> str:
        """Printed name of a model term: ``"<column label>: <level>"`` for a level term
        (column name + level, R's naming), the column label for a numeric term."""
        term = str(term)
        if term in self.columns or term in self.units:
            return self.column(term)
        cands = set(self.columns) | set(reference_levels or {})
        for col in sorted(cands, key=len, reverse=True):
            if term.startswith(col) and len(term) > len(col):
                lv = term[len(col):]
                return f"{self.column(col, unit=False)}: {self.level(col, lv)}"
        return term

    def with_overrides(self, labels: Mapping | None = None,
                       levels: Mapping | None = None) -> "Labels":
        """A copy with a plan's (or user's) ``labels:`` / ``levels:`` applied."""
        cols, units = dict(self.columns), dict(self.units)
        lvls = dict(self.levels)
        lvl_lab = {k: dict(v) for k, v in self.level_labels.items()}
        for col, spec in (labels or {}).items():
            col = str(col)
            if isinstance(spec, str):
                cols[col] = spec
            elif isinstance(spec, Mapping):
                bad = sorted(set(spec) - {"label", "unit", "levels"})
                if bad:
                    raise InputError(f"labels.{col}: unknown key(s) {bad}; use label, unit, levels")
                if spec.get("label") is not None:
                    cols[col] = str(spec["label"])
                if "unit" in spec:
                    if spec["unit"] in (None, ""):
                        units.pop(col, None)
                    else:
                        units[col] = str(spec["unit"])
                if spec.get("levels") is not None:
                    if not isinstance(spec["levels"], Mapping):
                        raise InputError(f"labels.{col}.levels must map each level to its "
                                         "label, e.g. {M: Male, F: Female}")
                    lvl_lab.setdefault(col, {}).update({str(k): str(v)
                                                        for k, v in spec["levels"].items()})
            else:
                raise InputError(f"labels.{col} must be text or {{label, unit, levels}}; "
                                 f"got {spec!r}")
        for col, order in (levels or {}).items():
            if isinstance(order, str) or not isinstance(order, (list, tuple)):
                raise InputError(f"levels.{col} must be a list of levels in order; got {order!r}")
            lvls[str(col)] = tuple(str(v) for v in order)
        return Labels(cols, units, lvls, lvl_lab)


#: Columns a landmark analysis derives (the exposure known / the group at the landmark):
#: their model terms are R-style "<column><level>" names of columns the user never named.
LANDMARK_TERM_COLUMNS = ("exposure_at_landmark", "group_at_landmark")


def label_landmark_terms(frame: pd.DataFrame, labels: "Labels") -> pd.DataFrame:
    """The landmark tables with the derived exposure / group terms named by their label.

    A landmark analysis fits its Cox model on a derived column (``exposure_at_landmark``,
    ``group_at_landmark``), so R's term name runs the column name and the level together
    (``exposure_at_landmarktx by the landmark``). The tables (CSV, DOCX, TeX) name the
    term as the report does, ``"<column label>: <level>"``; other terms (covariates) keep
    their model names, as the Cox tables do.

    >>> import pandas as pd
    >>> f = pd.DataFrame({"term": ["exposure_at_landmarktx by the landmark", "age"]})
    >>> label_landmark_terms(f, resolve_labels())["term"].tolist()
    ['Exposure known at the landmark: tx by the landmark', 'age']
    """
    if "term" not in frame.columns:
        return frame

    def name(t):
        if isinstance(t, str) and any(t.startswith(c) and len(t) > len(c)
                                      for c in LANDMARK_TERM_COLUMNS):
            return labels.term(t)
        return t
    return frame.assign(term=frame["term"].map(name))


def label_has_unit(label: str, *units: str) -> bool:
    """Whether ``label`` already names one of ``units`` as a word of its own ("Age (years)",
    "Age in years", "WBC, ×10⁹/L"), so the unit is not appended again. The unit must appear
    as written (case matters) and not inside a longer word ("yearsold" does not name
    "years").

    >>> label_has_unit("Age (years)", "years"), label_has_unit("Age", "years")
    (True, False)
    >>> label_has_unit("WBC \u00d710\u2079/L", "x10^9/L", "\u00d710\u2079/L")
    True
    >>> label_has_unit("Follow-up (months since relapse)", "months")
    True
    >>> label_has_unit("Time to CR2 in days", "months")
    False
    """
    text = str(label)
    for u in units:
        u = str(u or "").strip()
        if u and re.search(r"(?<![0-9A-Za-z\u00c0-\u024f])" + re.escape(u)
                           + r"(?![0-9A-Za-z\u00c0-\u024f])", text):
            return True
    return False


def known_columns() -> set[str]:
    """Every column name the dictionary and the derived columns define."""
    labels, units, levels = dictionary_labels()
    raw = _dictionary_raw()
    return set(raw.get("columns") or {}) | set(DERIVED)


def check_overrides(labels: Mapping | None, levels: Mapping | None, columns=None) -> list[str]:
    """Problems of a plan's ``labels:`` / ``levels:`` (unknown columns with "did you mean",
    unknown levels of a dictionary vocabulary); empty when fine.

    Parameters
    ----------
    columns : iterable of str, optional
        The cohort's columns (with derived ones); None: column names are not checked
        (the plan is checked again once the data is loaded).

    Examples
    --------
    >>> check_overrides({"wbc_relaps": "WBC"}, None, ["wbc_relapse", "sex"])
    ["labels: column 'wbc_relaps' is not in the data; did you mean 'wbc_relapse'?"]
    """
    cols = set(map(str, columns)) if columns is not None else None
    _, _, dict_levels = dictionary_labels()
    all_levels = {**dict_levels, **DERIVED_LEVELS}
    out = []
    for what, mapping in (("labels", labels), ("levels", levels)):
        if mapping is None:
            continue
        if not isinstance(mapping, Mapping):
            out.append(f"{what}: must be a mapping {{column: ...}}; got {mapping!r}")
            continue
        for col in mapping:
            if cols is not None and str(col) not in cols:
                m = difflib.get_close_matches(str(col), sorted(cols), n=1, cutoff=0.6)
                out.append(f"{what}: column '{col}' is not in the data; "
                           + (f"did you mean '{m[0]}'?" if m else "check the spelling"))
    for col, order in (levels or {}).items() if isinstance(levels, Mapping) else ():
        vocab = all_levels.get(str(col))
        if isinstance(order, (list, tuple)) and vocab:
            for v in order:
                if str(v) not in vocab:
                    m = difflib.get_close_matches(str(v), list(vocab), n=1, cutoff=0.5)
                    out.append(f"levels.{col}: '{v}' is not a level of '{col}' "
                               f"({', '.join(vocab)})" + (f"; did you mean '{m[0]}'?" if m else ""))
    try:
        resolve_labels(None).with_overrides(labels if isinstance(labels, Mapping) else None,
                                            levels if isinstance(levels, Mapping) else None)
    except InputError as exc:
        out.append(str(exc))
    return out


def resolve_labels(plan: Mapping | None = None, dictionary=None, *, labels: Mapping | None = None,
                   levels: Mapping | None = None) -> Labels:
    """The labels every output of a run uses.

    Parameters
    ----------
    plan : mapping, optional
        A plan (its top-level ``labels:`` and ``levels:`` are applied).
    dictionary : ignored or a tuple ``(labels, units, levels)``
        Default: the packaged data dictionary.
    labels, levels : mapping, optional
        Python-API overrides, applied after the plan's.

    Returns
    -------
    Labels

    Examples
    --------
    >>> resolve_labels({"labels": {"sex": {"levels": {"M": "Male"}}}}).level("sex", "M")
    'Male'
    """
    d_labels, d_units, d_levels = dictionary if isinstance(dictionary, tuple) \
        else dictionary_labels()
    cols = {**d_labels, **{k: v[0] for k, v in DERIVED.items()}}
    units = {**d_units, **{k: v[1] for k, v in DERIVED.items() if v[1]}}
    lvls = {**d_levels, **DERIVED_LEVELS}
    out = Labels(cols, units, lvls, {})
    if plan:
        out = out.with_overrides(plan.get("labels"), plan.get("levels"))
    if labels or levels:
        out = out.with_overrides(labels, levels)
    return out
