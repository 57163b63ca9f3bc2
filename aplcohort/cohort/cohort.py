"""The :class:`Cohort`: a validated patient table with its warnings and attrition log."""

from __future__ import annotations

import html
import warnings as _warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import DataQualityWarning, InputError
from ..expr import Expression, ExpressionError
from ..expr import parse as parse_expression
from .attrition import AttritionLog
from .mapping import load_mapping
from .validate import ValidationReport, validate


@dataclass(frozen=True, eq=False)
class Cohort:
    """A validated cohort (immutable; :meth:`filter` returns a new one).

    Attributes
    ----------
    data : DataFrame
        One row per patient; dictionary columns in canonical form (dates as
        ``datetime64``, categories as canonical labels, bools as ``boolean``),
        columns the dictionary does not know kept unchanged at the end.
    warnings : tuple of Problem
        Warning-level problems found at loading.
    attrition : AttritionLog
        Exclusions applied since loading.
    source : dict
        Where the data came from (path, format, sheet, mapping, derived
        values, notes).
    report : ValidationReport
        The full validation report of the loaded table.
    """

    data: pd.DataFrame
    warnings: tuple = ()
    attrition: AttritionLog = field(default_factory=AttritionLog)
    source: dict = field(default_factory=dict)
    report: ValidationReport | None = None

    @property
    def n(self) -> int:
        return len(self.data)

    def __len__(self) -> int:
        return len(self.data)

    @property
    def patient_ids(self) -> list[str]:
        return self.data["patient_id"].tolist()

    @property
    def derived(self) -> dict:
        """``{column: [patient ids]}`` of values derived at loading."""
        return dict(self.source.get("derived", {}))

    def filter(self, mask, step: str, reason: str) -> "Cohort":
        """Keep the patients where ``mask`` is true; record the exclusion.

        Parameters
        ----------
        mask : boolean array/Series, callable, str or Expression
            A boolean per patient, a function ``data -> booleans``, or an
            expression of :mod:`aplcohort.expr` (e.g. ``"reinduction_regimen in
            ['ATO-based', 'IC'] and age_at_relapse < 60"``; never evaluated as
            Python). A pandas Series is applied by index label, as pandas does
            (a mask computed on a sorted copy of ``data`` selects the same
            patients); a Series whose labels are not those of ``data`` is an
            error (pass ``.to_numpy()`` to apply a mask by position). An array
            or list is applied by position. For an expression, a patient whose result is missing (a
            value it reads is missing) is excluded, and the attrition reason says
            how many were excluded that way. For an array or a function, missing
            values in the mask are an error (decide explicitly how to treat them,
            e.g. ``.fillna(False)``).
        step : str
            Name of the step (shown in the flow diagram).
        reason : str
            Why the excluded patients are excluded.

        Returns
        -------
        Cohort
            A new cohort; its attrition log has one more step (step, n before,
            n after, excluded patient ids, reason).

        Examples
        --------
        >>> import pandas as pd
        >>> c = from_dataframe(pd.DataFrame({"patient_id": ["a", "b"], "disease": ["APL", "AML"],
        ...                                  "last_followup_date": ["2020-01-01", "2020-02-01"]}))
        >>> apl = c.filter(lambda d: d["disease"] == "APL", step="APL", reason="not APL")
        >>> apl.n, apl.attrition.steps[-1].excluded_ids
        (1, ('b',))
        >>> c.filter("disease in ['APL', 'AML'] and last_followup_date >= '2020-01-15'",
        ...          step="late", reason="early follow-up").patient_ids
        ['b']

        Validated against: tests/test_cohort_cohort.py.
        """
        if not step or not reason:
            raise InputError("Cohort.filter needs a step name and a reason (for the attrition log)")
        if callable(mask):
            m = mask(self.data)
        elif isinstance(mask, (str, Expression)):
            # Our own expression language: pandas eval/query would run code from the text.
            try:
                m, unknown = parse_expression(mask).mask_detail(self.data)
            except ExpressionError as exc:
                raise ExpressionError(f"Cohort.filter ({step}): cannot evaluate the {exc}",
                                      text=None, token=exc.token,
                                      position=exc.position) from None
            n_unknown = int((unknown & ~m).sum())
            if n_unknown:
                reason = (f"{reason} ({n_unknown} of them because a value the expression "
                          "reads is missing)")
        else:
            m = mask
        if isinstance(m, pd.Series) and len(m) == self.n:
            m = self._mask_by_label(m, step)
        m = pd.Series(m.to_numpy() if isinstance(m, pd.Series) else np.asarray(m, dtype=object),
                      dtype=object)
        if len(m) != self.n:
            raise InputError(f"Cohort.filter: the mask has {len(m)} values for {self.n} patients")
        if m.isna().any():
            bad = [self.data["patient_id"].iloc[i] for i in np.flatnonzero(m.isna().to_numpy())]
            raise InputError(f"Cohort.filter ({step}): the mask is missing for patients {bad}; "
                             "decide how to treat them (e.g. mask.fillna(False)) and filter again")
        if not all(isinstance(v, (bool, np.bool_)) for v in m):
            raise InputError(f"Cohort.filter ({step}): the mask must be booleans")
        keep = m.astype(bool).to_numpy()
        excluded = self.data["patient_id"][~keep].tolist()
        log = self.attrition.copy()
        log.record(step, self.n, excluded, reason)
        return Cohort(data=self.data[keep].reset_index(drop=True), warnings=self.warnings,
                      attrition=log, source=self.source, report=self.report)

    def _mask_by_label(self, m: pd.Series, step: str) -> pd.Series:
        """A mask Series in the order of ``self.data``: its index labels name the patients
        (pandas semantics), so a mask computed on a sorted copy of ``data`` applies to the
        right patients; a mask whose labels are not ``data``'s rows is an error."""
        idx = self.data.index
        if m.index is idx or m.index.equals(idx):
            return m
        if m.index.is_unique and idx.is_unique and m.index.isin(idx).all():
            return m.reindex(idx)
        from .._align import _labels_text
        odd = m.index[~m.index.isin(idx)] if m.index.is_unique else m.index[m.index.duplicated()]
        raise InputError(f"Cohort.filter ({step}): the mask is a pandas Series whose index "
                         f"labels are not the rows of cohort.data (labels {_labels_text(odd)} "
                         f"{'are not in cohort.data' if m.index.is_unique else 'repeat'}), so "
                         "it cannot be applied by label; compute it from cohort.data (e.g. "
                         "cohort.data['sex'].eq('M')), or pass mask.to_numpy() to apply it "
                         "by position")

    def with_derived(self) -> "Cohort":
        """Return the cohort with the derived analysis columns added.

        The columns a plan computes before it runs (age at relapse, CR1 duration,
        early death, HSCT flags and dates, ...; see
        :func:`aplcohort.plan.derived.add_derived`) are added where the dates they
        need are present; existing columns are never overwritten. The names of the
        added columns are in ``source["derived_columns"]``.

        Examples
        --------
        >>> import aplcohort as apc
        >>> c = apc.example_cohort().with_derived()
        >>> "cr1_duration_months" in c.data.columns
        True
        """
        import dataclasses

        from ..plan.derived import add_derived
        data, added = add_derived(self.data)
        return dataclasses.replace(self, data=data,
                                   source={**self.source, "derived_columns": list(added)})

    def endpoint(self, name: str, time_zero: str, unit: str = "days", **kwargs):
        """Derive an endpoint; see :func:`aplcohort.cohort.endpoints.derive_endpoint`.

        The endpoint's ``.data`` holds every text column with a level order in the data
        dictionary as a pandas ``Categorical`` in that order (:func:`dictionary_ordered`),
        so the estimators given its columns (``kaplan_meier``, ``coxph(ep.data, ...,
        categorical=[col])`` ...) compare groups in the order of a plan, the first level
        the reference. ``self.data`` keeps them as text (for ``fillna``, string
        operations); its groups are sorted unless ``order=`` is given.
        """
        import dataclasses

        from .endpoints import derive_endpoint
        ep = derive_endpoint(self, name, time_zero=time_zero, unit=unit, **kwargs)
        return dataclasses.replace(ep, data=dictionary_ordered(ep.data))

    def summary(self) -> dict:
        """Counts for a quick look: n, disease, reinduction, response, post-remission."""
        out = {"n": self.n}
        for col in ("disease", "fusion", "reinduction_regimen", "response",
                    "postremission_modality"):
            if col in self.data.columns:
                vc = self.data[col].astype(object).fillna("(missing)").value_counts()
                out[col] = {str(k): int(v) for k, v in sorted(vc.items())}
        out["warnings"] = len(self.warnings)
        return out

    def summary_text(self) -> str:
        s = self.summary()
        lines = [f"{s['n']} patients"]
        for k, v in s.items():
            if isinstance(v, dict):
                lines.append(f"  {k}: " + ", ".join(f"{a} {b}" for a, b in v.items()))
        lines.append(f"  warnings: {s['warnings']}")
        if self.derived:
            lines.append("  derived: " + ", ".join(f"{k} for {len(v)} patient(s)"
                                                    for k, v in self.derived.items()))
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (f"Cohort(n={self.n}, columns={self.data.shape[1]}, warnings={len(self.warnings)}, "
                f"attrition_steps={len(self.attrition)}, source={self.source.get('path', '?')!r})")

    def _repr_html_(self) -> str:
        head = html.escape(self.summary_text()).replace("\n", "<br>")
        return f"<div><strong>Cohort</strong><br><small>{head}</small></div>" + \
            self.data.head(10).to_html(index=False, na_rep="")


def _build_cohort(df: pd.DataFrame, mapping, *, source: dict, row_numbers=None,
                  required=None) -> Cohort:
    m = load_mapping(mapping)
    name = source.get("path", "data frame")
    if source.get("sheet"):
        name = f"{name} (sheet {source['sheet']!r})"
    report = validate(df, m, source=name, row_numbers=row_numbers, required=required)
    report.raise_if_errors()
    for w in report.warnings:
        _warnings.warn(str(w), DataQualityWarning, stacklevel=3)
    info = dict(source)
    info["mapping"] = m.describe() if m is not None else None
    info["derived"] = report.derived
    info["notes"] = list(report.notes)
    log = AttritionLog(n_start=report.n_rows)
    for w in report.warnings:
        if w.rule == "partial_date_imputed":  # recorded per patient and column (issue 18)
            log.record_imputed(w.patient_id, w.column, _text(w.value),
                               w.message.rsplit("imputed as ", 1)[-1],
                               f"partial_dates: {m.partial_dates}")
    return Cohort(data=report.data, warnings=tuple(report.warnings), attrition=log,
                  source=info, report=report)


def dictionary_ordered(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with every text column that has a level order in the data dictionary (its
    vocabulary: ATO-based, auto HSCT, allo HSCT; low, intermediate, high; no HSCT, HSCT)
    as a pandas ``Categorical`` in that order, values unchanged (a value outside the
    dictionary comes after its levels, sorted as text).

    The estimators take a Categorical's category order as the group order (its first
    level the reference), so the Python API compares groups in the order a plan does
    (docs/figures.md, "Group order"). :meth:`Cohort.endpoint` gives its ``.data`` so;
    apply it to a frame of your own (e.g. ``cohort.data``) for the same order.

    >>> d = dictionary_ordered(pd.DataFrame({"sanz_risk": ["high", "low", None]}))
    >>> list(d["sanz_risk"].cat.categories)
    ['low', 'intermediate', 'high']
    """
    from ..tables.labels import resolve_labels
    lab = resolve_labels()
    out = None
    for col in df.columns:
        s = df[col]
        if not lab.has_order(col) or isinstance(s.dtype, pd.CategoricalDtype) or not (
                s.dtype == object or pd.api.types.is_string_dtype(s.dtype)):
            continue
        vals = s.dropna()
        if not all(isinstance(v, str) for v in vals):
            continue
        cats = lab.order(col, list(lab.levels[col]) + list(pd.unique(vals)))
        if out is None:
            out = df.copy()
        out[col] = pd.Categorical(s, categories=cats)
    return df if out is None else out


def _text(v) -> str:
    from .types import as_text
    return as_text(v)


def _check_index_columns(df: pd.DataFrame, mapping) -> None:
    """A dictionary column (or a column the mapping renames) that is the index of ``df``
    is not read (the index is not data): say so, instead of only "column is missing"."""
    named = [n for n in df.index.names if isinstance(n, str) and n not in df.columns]
    if not named:
        return
    from .schema import load_dictionary
    m = load_mapping(mapping)
    known = set(load_dictionary().columns) | (set(m.columns) if m is not None else set())
    hit = [n for n in named if n in known]
    if hit:
        raise InputError(f"from_dataframe: {', '.join(repr(n) for n in hit)} "
                         f"{'is the index' if len(hit) == 1 else 'are index levels'} of the "
                         "data frame, not a column, and the index is not read; pass "
                         "df.reset_index() to make it a column")


def from_dataframe(df: pd.DataFrame, mapping=None, *, required=None,
                   name: str | None = None) -> Cohort:
    """Build a validated :class:`Cohort` from a DataFrame.

    Parameters
    ----------
    df : DataFrame
        One row per patient (text, objects or already-typed columns). The index is not
        read: a dictionary column that is the index (``df.set_index("patient_id")``)
        is an error that says so (use ``df.reset_index()``).
    mapping : str, Path, dict or ColumnMapping, optional
    required : sequence of str, optional
        Columns that must be present (default: the dictionary's core columns); see
        :func:`aplcohort.cohort.validate.validate`.
    name : str, optional
        What the data is called in the validation report and ``Cohort.source["path"]``
        (default ``"data frame"``; a plan run gives the file it read).

    Returns
    -------
    Cohort

    Raises
    ------
    CohortValidationError
        With the readable report of every error.

    Examples
    --------
    >>> import pandas as pd
    >>> c = from_dataframe(pd.DataFrame({"patient_id": ["a"], "disease": ["apl"],
    ...                                  "last_followup_date": ["2020-01-01"]}))
    >>> c.data["disease"].tolist()
    ['APL']

    Validated against: tests/test_cohort_cohort.py.
    """
    if not isinstance(df, pd.DataFrame):
        raise InputError(f"from_dataframe expects a pandas DataFrame, got {type(df).__name__}")
    if df.shape[1] == 0 or len(df) == 0:
        from .io import EmptyFileError
        raise EmptyFileError("the data frame is empty (no columns or no rows)")
    _check_index_columns(df, mapping)
    if name is not None and not isinstance(name, str):
        raise InputError(f"from_dataframe: name must be a text, got {name!r}")
    return _build_cohort(df, mapping, source={"path": name or "data frame",
                                              "format": "DataFrame"}, required=required)
