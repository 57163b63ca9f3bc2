"""Regression table: HR / SHR (95% CI) and p, univariable and multivariable side by side.

Accepts a :class:`~aplcohort.stats.cox.CoxResult`, a Fine–Gray result (ratio label
"SHR"), or a :class:`~aplcohort.stats.cox.UniMultiResult` (both models side by side
under spanning headers). Categorical covariates get a header row, a
"reference" row for the reference level, and one indented row per other level.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from ..errors import InputError
from .export import JournalTable
from .format import decimals_for, format_ci, format_p


def _refs(result) -> dict:
    refs = {}
    ch = getattr(result, "choices", None) or {}
    refs.update(ch.get("reference_levels") or {})
    refs.update(getattr(result, "reference_levels", None) or {})
    return {str(k): v for k, v in refs.items()}


def _layout(terms: list[str], refs: dict, labels: dict):
    """Rows [(kind, label, term)] with kind in header / reference / level / term."""
    rows, seen = [], set()
    for term in terms:
        var = next((v for v in sorted(refs, key=len, reverse=True)
                    if term.startswith(v) and term != v), None)
        if var is None:
            rows.append(("term", labels.get(term, term), term))
            continue
        if var not in seen:
            seen.add(var)
            rows.append(("header", labels.get(var, var), None))
            rows.append(("reference", f"{refs[var]}", None))
        rows.append(("level", labels.get(term, term[len(var):]), term))
    return rows


def regression_table(result, *, labels: Mapping | None = None, ratio_label: str | None = None,
                     decimals: int = 2, conf_level: float | None = None,
                     model_labels=("Univariable", "Multivariable"),
                     title: str | None = None) -> JournalTable:
    """Journal table of a Cox / Fine–Gray fit or a univariable + multivariable result.

    Parameters
    ----------
    result : CoxResult, FineGrayResult or UniMultiResult
    labels : mapping {term or variable: label}
    ratio_label : "HR" / "SHR" (default from the result kind)
    decimals : int
        Decimals of ratios and CIs (a row with a value below 0.1 gets up to 3 so a bound
        never prints as 0.00; p-values: 3, "<0.001").

    Returns
    -------
    JournalTable
        ``.raw`` columns [term, model, hr, lower, upper, p] (model "univariable",
        "multivariable" or "model").

    Examples
    --------
    >>> import pandas as pd
    >>> from aplcohort.stats.cox import coxph
    >>> df = pd.DataFrame({"t": [5, 8, 12, 3, 9, 15, 7, 11, 4, 6],
    ...                    "e": [1, 1, 0, 1, 1, 0, 1, 0, 1, 1],
    ...                    "age": [60, 52, 45, 70, 58, 40, 66, 49, 72, 55]})
    >>> regression_table(coxph(df, time="t", event="e", covariates=["age"])).data.iloc[0, 0]
    'age'

    Validated against: cells are the result's ``.terms`` formatted (the fits are
    validated against R ``coxph`` / ``cmprsk::crr``); checked in
    ``tests/test_tables_regression.py``.
    """
    labels = dict(labels or {})
    table = getattr(result, "table", None)
    two = isinstance(table, pd.DataFrame) and {"hr_uni", "hr_multi"} <= set(table.columns)
    if two:
        src = result.multivariable
        ratio_label = ratio_label or "HR"
        cl = conf_level or (src.choices or {}).get("conf_level", 0.95)
        est = {r.term: ((r.hr_uni, r.lower_uni, r.upper_uni, r.p_uni),
                        (r.hr_multi, r.lower_multi, r.upper_multi, r.p_multi))
               for r in table.itertuples()}
        terms = list(table["term"])
    else:
        terms_df = getattr(result, "terms", None)
        if not isinstance(terms_df, pd.DataFrame):
            raise InputError(f"regression_table needs a CoxResult, FineGrayResult or "
                             f"UniMultiResult; got {type(result).__name__}")
        src = result
        ratio_label = ratio_label or getattr(result, "scale", "HR")
        cl = conf_level or getattr(result, "conf_level", None) or \
            (getattr(result, "choices", None) or {}).get("conf_level", 0.95)
        est = {r.term: ((r.estimate, r.lower, r.upper, r.p),) for r in terms_df.itertuples()}
        terms = list(terms_df["term"])
    # terms not estimable (shared terms shape: estimable False, reason in note): "NE"
    st = src.terms
    why = {r.term: r.note for r in st.itertuples() if not r.estimable}
    sep = set(why)
    pct = f"{100 * float(cl):g}%"
    rows_spec = _layout(terms, _refs(src), labels)
    nmod = 2 if two else 1
    head = ["Variable"]
    for k in range(nmod):
        head += [f"{ratio_label} ({pct} CI)" + (" " * k), "p" + (" " * k)]
    # column names must be unique: the second model's get a trailing space (invisible)
    rows, indent, raw = [], [], []
    for kind, label, term in rows_spec:
        if kind == "header":
            rows.append([label] + [""] * (2 * nmod))
            indent.append(0)
            continue
        if kind == "reference":
            rows.append([label] + ["1 (reference)", ""] * nmod)
            indent.append(1)
            continue
        cells = [label]
        for k, (hr, lo, hi, p) in enumerate(est[term]):
            if term in sep and k == nmod - 1 or not np.isfinite(hr):
                cells += ["NE", ""]
            else:
                dec = max(decimals, decimals_for([hr, lo, hi], 3))  # 0.004, not 0.00
                cells += [format_ci(hr, lo, hi, dec, na="NE", na_bound="NE"), format_p(p)]
            raw.append({"term": term, "model": (("univariable", "multivariable")[k] if two
                                                else "model"),
                        "estimate": hr, "lower": lo, "upper": hi, "p": p})
        rows.append(cells)
        indent.append(1 if kind == "level" else 0)
    df = pd.DataFrame(rows, columns=head)
    spans = ((model_labels[0], 1, 2), (model_labels[1], 3, 4)) if two else ()
    n = getattr(src, "n", None)
    ev = getattr(src, "events", None)
    notes = []
    if n is not None:
        notes.append(f"n = {n}, events = {ev}." if not two else
                     f"Univariable models: each covariate alone; multivariable: all together "
                     f"(n = {n}, events = {ev}, same patients in every model).")
    name = "Fine" + chr(8211) + "Gray subdistribution hazards" if ratio_label == "SHR" else "Cox proportional hazards"
    notes.append(f"{ratio_label}, {'subdistribution ' if ratio_label == 'SHR' else ''}hazard ratio "
                 f"({name} model); {pct} Wald CI; p, Wald test.")
    if sep:
        notes.append("NE, not estimable: " + "; ".join(
            f"{labels.get(t, t)}, {why[t]}" for t in terms if t in why) + ".")
    raw_df = pd.DataFrame(raw, columns=["term", "model", "estimate", "lower", "upper", "p"])
    return JournalTable(title or f"{'Univariable and multivariable ' if two else ''}"
                        f"{'Fine' + chr(8211) + 'Gray' if ratio_label == 'SHR' else 'Cox'} regression",
                        df, raw_df, tuple(indent), tuple(notes), spans,
                        table_choices={"ratio": ratio_label, "conf_level": float(cl),
                                       "reference_levels": _refs(src)})
