"""Regression table: HR / SHR (95% CI) and p, univariable and multivariable side by side.

Accepts a :class:`~aplcohort.stats.cox.CoxResult`, a Fine–Gray result (ratio label
"SHR"), or a :class:`~aplcohort.stats.cox.UniMultiResult` (both models side by side
under spanning headers). Categorical covariates get a header row, a
"reference" row for the reference level, and one indented row per other level.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import numpy as np
import pandas as pd

from ..errors import InputError
from .export import JournalTable
from .format import decimals_for, format_ci


def _refs(result) -> dict:
    refs = {}
    ch = getattr(result, "choices", None) or {}
    refs.update(ch.get("reference_levels") or {})
    refs.update(getattr(result, "reference_levels", None) or {})
    return {str(k): v for k, v in refs.items()}


def _variance_of(result, src, variance) -> str:
    """``"robust"`` or ``"model"``: the SE a table's CIs and p-values rest on (see
    :func:`regression_table`)."""
    if variance is not None:
        if variance not in ("model", "robust"):
            raise InputError(f"variance must be 'model' or 'robust'; got {variance!r}")
        return variance
    fit = src if src is not None else result
    if getattr(fit, "variance", None) == "robust":
        return "robust"
    terms = result if isinstance(result, pd.DataFrame) else getattr(fit, "terms", None)
    if isinstance(terms, pd.DataFrame) and "robust_se" in terms.columns:
        rse = pd.to_numeric(terms["robust_se"], errors="coerce").to_numpy(float)
        if np.isfinite(rse).any():
            return "robust"
    return "model"


#: a term of one transition of a multi-state model: "age [CR2 -> relapse2]" (a shared term
#: lists its transitions: "age [CR2 -> relapse2, CR3 -> death]"; aplcohort.multistate.cox)
_TRANSITION = re.compile(r"^(.+?) (\[[^\[\]]*->[^\[\]]*\])$")


def _split_transition(term) -> tuple:
    """``(model term, "[from -> to]")`` of a transition-specific term, else ``(term, None)``."""
    m = _TRANSITION.match(str(term))
    return (m.group(1), m.group(2)) if m else (term, None)


def _layout(terms: list[str], refs: dict):
    """Rows [(kind, variable, term)] with kind in header / reference / level / term."""
    rows, seen = [], set()
    for term in terms:
        if _split_transition(term)[1] is not None:  # one row each, labelled in full
            rows.append(("term", term, term))
            continue
        var = next((v for v in sorted(refs, key=len, reverse=True)
                    if term.startswith(v) and term != v), None)
        if var is None:
            rows.append(("term", term, term))
            continue
        if var not in seen:
            seen.add(var)
            rows.append(("header", var, None))
            rows.append(("reference", var, None))
        rows.append(("level", var, term))
    return rows


def _order_levels(rows, namer):
    """Level rows of each categorical variable in the resolved level order (data
    dictionary / plan ``levels:``), not the model's (alphabetical) order."""
    out, i = [], 0
    while i < len(rows):
        kind, var, term = rows[i]
        if kind != "level":
            out.append(rows[i])
            i += 1
            continue
        j = i
        while j < len(rows) and rows[j][0] == "level" and rows[j][1] == var:
            j += 1
        block = rows[i:j]
        if namer.lab.has_order(var):
            by_level = {t[len(var):]: (k, v, t) for k, v, t in block}
            block = [by_level[lv] for lv in namer.lab.order(var, list(by_level))]
        out += block
        i = j
    return out


class _Namer:
    """Row labels: a plain mapping {term or variable: label} first (legacy ``labels=``),
    then the resolved :class:`~aplcohort.tables.labels.Labels`."""

    def __init__(self, labels):
        from .labels import Labels, resolve_labels
        if isinstance(labels, Labels):
            self.plain, self.lab = {}, labels
        else:
            self.plain, self.lab = dict(labels or {}), resolve_labels()

    def variable(self, var):
        return self.plain.get(var) or self.lab.column(var, unit=False)

    def term(self, term, refs=None):
        base, tr = _split_transition(term)
        if tr is not None and term not in self.plain:  # "Centre: Center B [CR2 -> death]"
            return f"{self.full(base, refs or {})} {tr}"
        return self.plain.get(term) or self.lab.column(term)

    def level(self, var, term):
        lv = term[len(var):]
        return self.plain.get(term) or self.lab.level(var, lv)

    def ref(self, var, value):
        return self.lab.level(var, value)

    def full(self, term, refs):
        base, tr = _split_transition(term)
        if tr is not None and term not in self.plain:
            return f"{self.full(base, refs)} {tr}"
        return self.plain.get(term) or self.lab.term(term, refs)


def _from_frame(df: pd.DataFrame):
    """(two, est, terms, why) from a terms frame or a univariable/multivariable frame."""
    cols = set(df.columns)
    if {"hr_uni", "hr_multi"} <= cols:
        est = {r.term: ((r.hr_uni, r.lower_uni, r.upper_uni, r.p_uni),
                        (r.hr_multi, r.lower_multi, r.upper_multi, r.p_multi))
               for r in df.itertuples()}
        return True, est, list(df["term"].astype(str)), {}
    if {"term", "estimate", "lower", "upper", "p"} <= cols:
        est = {r.term: ((r.estimate, r.lower, r.upper, r.p),) for r in df.itertuples()}
        why = {}
        if "estimable" in cols:
            notes = df["note"] if "note" in cols else pd.Series("", index=df.index)
            why = {t: (n or "not estimable") for t, e, n in
                   zip(df["term"], df["estimable"], notes.fillna("")) if not bool(e)}
        return False, est, list(df["term"].astype(str)), why
    raise InputError("regression_table needs a CoxResult, FineGrayResult, UniMultiResult or a "
                     "terms frame [term, estimate, lower, upper, p]; got columns "
                     f"{list(df.columns)}")


def regression_table(result, *, labels=None, ratio_label: str | None = None,
                     decimals: int = 2, conf_level: float | None = None,
                     model_labels=("Univariable", "Multivariable"),
                     title: str | None = None, style=None, reference_rows: str | None = None,
                     reference_levels: Mapping | None = None, n=None,
                     events=None, variance: str | None = None,
                     sample_note: str | None = None) -> JournalTable:
    """Journal table of a Cox / Fine–Gray fit or a univariable + multivariable result.

    Parameters
    ----------
    result : CoxResult, FineGrayResult, UniMultiResult or DataFrame
        A DataFrame in the shared terms shape (``term, estimate, lower, upper, p``,
        optionally ``estimable, note``) or the univariable/multivariable frame
        (``term, hr_uni, ..., p_multi``); give ``reference_levels`` with it.
    labels : Labels or mapping {term or variable: label}
        Default: :func:`aplcohort.tables.labels.resolve_labels` (data dictionary).
    ratio_label : "HR" / "SHR" (default from the result kind)
    decimals : int
        Decimals of ratios and CIs (a row with a value below 0.1 gets up to 3 so a bound
        never prints as 0.00).
    style : str or TableStyle
        Journal style (p-values, decimal mark; :mod:`aplcohort.tables.style`).
    reference_rows : {"1 (reference)", "—", "none"}, optional
        Text of the reference-level row (default the style's, "1 (reference)");
        "none" prints no reference row and names the reference levels in a footnote.
    reference_levels : mapping {variable: reference level}, optional
        For a DataFrame ``result`` (a fitted result carries its own).
    n, events : int, optional
        Patients and events of the model, printed in the footnote (default: the fitted
        result's).
    variance : {"model", "robust"}, optional
        Which SE the CIs and p-values rest on, said in the footnote ("Wald CI; p, Wald
        test" or "CI and p from the robust (sandwich) SE"). Default: ``"robust"`` when
        the result says so (``variance == "robust"``) or its terms carry a robust SE (the
        shared terms shape fills ``robust_se`` only when the CI and p use it), else
        ``"model"``.
    sample_note : str, optional
        What ``n`` and ``events`` are, appended to their footnote (e.g. the patients of a
        propensity-score-weighted model: "each counts with its ATO weight").

    Returns
    -------
    JournalTable
        ``.raw`` columns [term, model, estimate, lower, upper, p] (model "univariable",
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
    from .format import check_decimals
    from .style import REFERENCE_CHOICES, get_style
    decimals = check_decimals("decimals", decimals)
    st = get_style(style)
    if reference_rows is not None:
        if reference_rows not in REFERENCE_CHOICES:
            raise InputError(f"reference_rows must be one of {list(REFERENCE_CHOICES)}; "
                             f"got {reference_rows!r}")
        st = st.with_options(reference=reference_rows)
    namer = _Namer(labels)
    table = getattr(result, "table", None)
    why: dict = {}
    src = None
    if isinstance(result, pd.DataFrame):
        two, est, terms, why = _from_frame(result)
        ratio_label = ratio_label or "HR"
        cl = conf_level or 0.95
        refs = {str(k): v for k, v in (reference_levels or {}).items()}
    elif isinstance(table, pd.DataFrame) and {"hr_uni", "hr_multi"} <= set(table.columns):
        two = True
        src = result.multivariable
        ratio_label = ratio_label or "HR"
        cl = conf_level or (src.choices or {}).get("conf_level", 0.95)
        _, est, terms, _ = _from_frame(table)
    else:
        two = False
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
    if src is not None:
        # terms not estimable (shared terms shape: estimable False, reason in note): "NE"
        st_terms = src.terms
        why = {r.term: r.note for r in st_terms.itertuples() if not r.estimable}
        refs = _refs(src)
        if reference_levels:
            refs.update({str(k): v for k, v in reference_levels.items()})
        n = getattr(src, "n", None) if n is None else n
        events = getattr(src, "events", None) if events is None else events
    sep = set(why)
    variance = _variance_of(result, src, variance)
    pct = f"{100 * float(cl):g}%"
    rows_spec = _order_levels(_layout(terms, refs), namer)
    ref_text = st.reference_text
    nmod = 2 if two else 1
    head = ["Variable"]
    for k in range(nmod):
        head += [f"{ratio_label} ({pct} CI)" + (" " * k), "p" + (" " * k)]
    # column names must be unique: the second model's get a trailing space (invisible)
    rows, indent, raw = [], [], []
    # the row of the terms frame each table row prints (None: a heading or reference row)
    frame = result if isinstance(result, pd.DataFrame) else (
        table if two else getattr(result, "terms", None))
    position = ({str(t): k for k, t in enumerate(frame["term"])}
                if isinstance(frame, pd.DataFrame) and "term" in frame.columns else {})
    source_rows = []
    for kind, var, term in rows_spec:
        if kind == "header":
            rows.append([namer.variable(var)] + [""] * (2 * nmod))
            indent.append(0)
            source_rows.append(None)
            continue
        if kind == "reference":
            if ref_text is None:
                continue
            rows.append([namer.ref(var, refs[var])] + [ref_text, ""] * nmod)
            indent.append(1)
            source_rows.append(None)
            continue
        source_rows.append(position.get(str(term)))
        label = namer.level(var, term) if kind == "level" else namer.term(term, refs)
        cells = [label]
        for k, (hr, lo, hi, p) in enumerate(est[term]):
            if term in sep and k == nmod - 1 or not np.isfinite(hr):
                cells += ["NE", ""]
            else:
                dec = max(decimals, decimals_for([hr, lo, hi], 3))  # 0.004, not 0.00
                cells += [st.num(format_ci(hr, lo, hi, dec, na="NE", na_bound="NE",
                                           sep=st.ci_sep)),
                          st.p(p, na="NE")]
            raw.append({"term": term, "model": (("univariable", "multivariable")[k] if two
                                                else "model"),
                        "estimate": hr, "lower": lo, "upper": hi, "p": p})
        rows.append(cells)
        indent.append(1 if kind == "level" else 0)
    df = pd.DataFrame(rows, columns=head)
    # the fields of the terms frame each column prints
    source_fields = [("term",)] + ([f for m in ("uni", "multi") for f in (
        (f"hr_{m}", f"lower_{m}", f"upper_{m}"), (f"p_{m}",))] if two
        else [("estimate", "lower", "upper"), ("p",)])
    spans = ((model_labels[0], 1, 2), (model_labels[1], 3, 4)) if two else ()
    notes = []
    if n is not None:
        extra = f" ({sample_note})" if sample_note else ""
        notes.append(f"n = {n}, events = {events}{extra}." if not two else
                     f"Univariable models: each covariate alone; multivariable: all together "
                     f"(n = {n}, events = {events}, same patients in every model){extra}.")
    name = "Fine" + chr(8211) + "Gray subdistribution hazards" if ratio_label == "SHR" else "Cox proportional hazards"
    how = (f"{pct} CI and p (Wald) from the robust (sandwich) SE" if variance == "robust"
           else f"{pct} Wald CI; p, Wald test")
    notes.append(f"{ratio_label}, {'subdistribution ' if ratio_label == 'SHR' else ''}hazard ratio "
                 f"({name} model); {how}.")
    used_refs = [v for k, v, _ in rows_spec if k == "header"]
    # categorical terms of transitions have no reference row: their reference is named
    tr_refs = [v for v in refs if any(
        b.startswith(v) and b != v for b, tr in map(_split_transition, terms) if tr)]
    if tr_refs:
        notes.append("Reference levels: " + "; ".join(
            f"{namer.variable(v)}, {namer.ref(v, refs[v])}" for v in tr_refs) + ".")
    if used_refs and ref_text is None:
        notes.append("Reference levels: " + "; ".join(
            f"{namer.variable(v)}, {namer.ref(v, refs[v])}" for v in used_refs) + ".")
    elif used_refs and ref_text != "1 (reference)":
        notes.append(f"{ref_text}, reference level.")
    if any(c == "NE" for r in rows for c in r[1:]):
        by_reason: dict = {}   # a reason shared by several terms is said once
        for t in terms:
            if t in why:
                by_reason.setdefault(why[t], []).append(namer.full(t, refs))
        for t in terms:
            if t not in why and any(not np.isfinite(e[0]) for e in est[t]):
                by_reason.setdefault("no finite estimate", []).append(namer.full(t, refs))
        single = [f"{labs[0]}, {r}" for r, labs in by_reason.items() if len(labs) == 1]
        if single:
            notes.append("NE, not estimable: " + "; ".join(single) + ".")
        notes += [f"NE, not estimable ({len(labs)} terms), {r}: " + "; ".join(labs) + "."
                  for r, labs in by_reason.items() if len(labs) > 1]
    raw_df = pd.DataFrame(raw, columns=["term", "model", "estimate", "lower", "upper", "p"])
    return JournalTable(title or f"{'Univariable and multivariable ' if two else ''}"
                        f"{'Fine' + chr(8211) + 'Gray' if ratio_label == 'SHR' else 'Cox'} regression",
                        df, raw_df, tuple(indent), tuple(notes), spans,
                        table_choices={"ratio": ratio_label, "conf_level": float(cl),
                                       "reference_levels": refs, "style": st.name,
                                       "reference_rows": st.reference},
                        source_rows=tuple(source_rows) if position else (),
                        source_fields=tuple(source_fields) if position else ())
