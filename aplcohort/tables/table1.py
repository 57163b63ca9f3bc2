"""Table 1: baseline characteristics by group.

Conventions (documented choices)
--------------------------------
* Categorical variables: one header row (with the test and p) and one indented
  row per level, ``n (%)``; the percentage's denominator is the number of
  patients of the column with a non-missing value. Yes/no (and boolean)
  variables print one row, the "yes" count.
* Continuous variables: ``median [Q1–Q3]`` (R ``quantile`` type 7) beside rank tests,
  ``mean (SD)`` (SD with n − 1) with ``parametric=True`` (t-test / ANOVA), or as
  ``summary`` requests.
* Missing values: an indented "Missing" row with the count per column whenever a
  variable has any missing value (never silently dropped).
* Tests: :func:`aplcohort.stats.grouptests.compare_groups` (chi-square when every
  expected count is >= 5, else Fisher's exact; Wilcoxon rank-sum for 2 groups,
  Kruskal–Wallis for more; t-test / ANOVA with ``parametric=True``). The test used
  is printed per row and the p-value formatted ``<0.001``.
* SMD (optional): :func:`aplcohort.stats.grouptests.standardized_mean_difference`.
* A cell with no value (a group with no known value: its median, mean or percentage; the
  SD of one known value; a p-value, test or SMD that cannot be computed) prints NE, and a
  footnote gives the reason results.json gives for that row
  (:func:`aplcohort.tables.blanks.explain_blanks` with
  :func:`aplcohort.plan.null_reasons.frame_reasons` of ``.raw``; never "NA").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from .._checks import check_bool
from ..errors import InputError
from ..stats.grouptests import compare_groups, standardized_mean_difference
from .blanks import PART
from .export import JournalTable
from .format import DASH, format_mean_sd, format_median_iqr, format_n_pct, format_num

_YES = {"yes", "y", "true", "1"}
_NO = {"no", "n", "false", "0"}

#: Short names of the tests chosen by compare_groups, for the "Test" column.
TEST_SHORT = {
    "fisher": "Fisher",
    "chi-squared": "\u03c7\u00b2",
    "chi-square": "\u03c7\u00b2",
    "wilcoxon": "Wilcoxon",
    "kruskal": "Kruskal\u2013Wallis",
    "t-test": "t-test",
    "t test": "t-test",
    "anova": "ANOVA",
    "analysis of variance": "ANOVA",
}


def short_test_name(test: str) -> str:
    """Short column label of a test name.

    >>> short_test_name("Fisher's exact test"), short_test_name("Wilcoxon rank-sum exact test")
    ('Fisher', 'Wilcoxon')
    """
    low = str(test).lower()
    if low in ("none", ""):
        return "\u2013"
    for k, v in TEST_SHORT.items():
        if k in low:
            return v
    return str(test)


def _is_binary_yes_no(s: pd.Series) -> bool:
    if pd.api.types.is_bool_dtype(s.dtype):
        return True
    vals = {str(v).strip().lower() for v in s.dropna().unique()}
    return bool(vals) and vals <= (_YES | _NO) and not pd.api.types.is_numeric_dtype(s.dtype)


def _levels(s: pd.Series, order=None) -> list:
    if order is not None:
        return list(order)
    if isinstance(s.dtype, pd.CategoricalDtype):
        return list(s.cat.categories)
    return sorted(s.dropna().unique().tolist(), key=str)


def _zero_one(s: pd.Series) -> bool:
    """A numeric column whose observed values are all 0 or 1: a yes/no code, summarised as
    n (%) like a yes/no column (a mean of 0.6 would be the proportion, its SD and a rank
    test meaningless beside it; gtsummary treats such columns as dichotomous too)."""
    v = pd.to_numeric(s, errors="coerce").dropna()
    return len(v) > 0 and bool(v.isin([0, 1]).all())


def _whole_numbers(s: pd.Series) -> bool:
    """A float column whose values are all whole numbers (a code read with blanks)."""
    if not pd.api.types.is_float_dtype(s.dtype):
        return False
    v = s.dropna().to_numpy(dtype=float)
    return bool(np.isfinite(v).all() and (v == np.round(v)).all() and (np.abs(v) < 2**53).all())


def table1(data: pd.DataFrame, group: str, variables: Sequence[str], *, labels: Mapping | None = None,
           kinds: Mapping | None = None, summary: str | Mapping | None = None, order=None,
           level_order: Mapping | None = None, overall: bool = True, tests: bool = True,
           smd: bool = False, parametric: bool = False, decimals: int = 1, pct_decimals: int = 1,
           title: str = "Table 1. Baseline characteristics", style=None,
           allow_identifiers: bool = False) -> JournalTable:
    """Baseline characteristics by group with tests, missing counts and optional SMD.

    Parameters
    ----------
    data : DataFrame
        One row per patient (e.g. ``Cohort.data``).
    group : str
        Column defining the columns of the table (e.g. ``"reinduction_regimen"``).
        Missing group values raise (filter them out explicitly first).
    variables : sequence of str
        Rows, in order.
    labels : Labels or mapping {column: row label}
        E.g. ``{"age_at_diagnosis": "Age at diagnosis, years"}``. A
        :class:`~aplcohort.tables.labels.Labels` (``resolve_labels(plan)``) also gives
        units, level labels, level order and the group labels; a plain mapping is applied
        on top of the data dictionary's labels.
    kinds : mapping {column: "categorical" | "continuous"}
        Override the automatic choice: text, boolean and categorical columns, and numeric
        columns whose values are all 0 or 1 (a yes/no code), are categorical (n (%),
        chi-square / Fisher); other numeric columns are continuous.
    summary : "median" | "mean" or mapping {column: "median" | "mean"}, optional
        Default (None, and for the continuous variables a mapping does not name): the
        summary that goes with the test, ``"median"`` (median [IQR]) beside the rank tests
        and ``"mean"`` (mean (SD)) with ``parametric=True`` (t-test / ANOVA). Given
        explicitly, it is used as given (the footnote names what each row shows).
    order : sequence
        Group (column) order; default sorted labels.
    level_order : mapping {column: [levels]}
    overall, tests, smd : bool
        Add an Overall column, test + p columns, an SMD column.
    parametric : bool
        Passed to ``compare_groups`` (Welch t-test for 2 groups / one-way ANOVA for more,
        instead of Wilcoxon rank-sum / Kruskal–Wallis), and the continuous rows then show
        mean (SD) unless ``summary`` says otherwise; the footnote names the tests.
    decimals, pct_decimals : int
        Decimals of continuous summaries and of percentages.
    style : str or TableStyle
        Journal style (p-values, decimal mark; :mod:`aplcohort.tables.style`).
    allow_identifiers : bool
        A group or variable that identifies patients (a name, an MRN, a phone number, a
        birth or other per-patient date: the detection of
        :mod:`aplcohort.plan.identifiers`) is refused, because the table would list
        patients one by one; ``True`` allows it (identified output intended and
        permitted), and the table then records the columns so that
        :func:`~aplcohort.tables.save_table` asks for ``allow_identifiers=True`` too.

    Returns
    -------
    JournalTable
        ``.raw`` columns [variable, level, group, n, denominator, pct, median, q1, q3,
        mean, sd, missing, test, p, smd] (group "Overall" for the overall column), and
        ``test_note`` / ``smd_note`` (why a variable's p / SMD is missing) in a table where
        one is.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"arm": ["ATO"] * 4 + ["IC"] * 3, "sex": list("MFMMFFM"),
    ...                    "age": [34, 51, 47, 29, 60, 55, 41]})
    >>> t = table1(df, "arm", ["sex", "age"])
    >>> t.data.columns.tolist()
    ['Characteristic', 'ATO (n = 4)', 'IC (n = 3)', 'Overall (n = 7)', 'p', 'Test']
    >>> t.cell("M", "ATO (n = 4)")
    '3 (75.0)'

    Validated against: cells checked by hand in ``tests/test_tables_table1.py``; tests and
    p-values are those of ``compare_groups`` (validated against R there).
    """
    overall, tests, smd, parametric = (check_bool(k, v) for k, v in (
        ("overall", overall), ("tests", tests), ("smd", smd), ("parametric", parametric)))
    if not isinstance(data, pd.DataFrame):
        raise InputError("table1 needs a DataFrame (one row per patient)")
    from ..plan.identifiers import identifying_uses, refuse_identifiers
    from .format import check_decimals
    uses = [(group, "grouping variable", True)] + [(v, "table variable", True)
                                                   for v in variables]
    refuse_identifiers("table1", uses, allow_identifiers=allow_identifiers, data=data)
    identifying = list(dict.fromkeys(str(c) for c, _r, _w in identifying_uses(uses, data=data)))
    decimals = check_decimals("decimals", decimals)
    pct_decimals = check_decimals("pct_decimals", pct_decimals)
    missing_cols = [c for c in [group, *variables] if c not in data.columns]
    if missing_cols:
        raise InputError(f"columns {missing_cols} are not in the data; available: {list(data.columns)}")
    # the group column as the tests see it: unnamed, since the identifier check above has
    # already decided about it (allow_identifiers), the estimators' own check must not
    gvals = data[group].rename(None)
    if data[group].isna().any():
        ids = data.index[data[group].isna()].tolist()[:10]
        raise InputError(f"{int(data[group].isna().sum())} rows have no value in the group column "
                         f"{group!r} (index {ids}); filter them explicitly or fill a level such as "
                         "'unknown'")
    from .labels import Labels, resolve_labels
    from .style import get_style
    st = get_style(style)
    lab = labels if isinstance(labels, Labels) else resolve_labels()
    labels = {} if isinstance(labels, Labels) else dict(labels or {})
    kinds = dict(kinds or {})
    level_order = dict(level_order or {})
    # the summary that goes with the test: mean (SD) beside t-tests / ANOVA, median [IQR]
    # beside rank tests (a "median [IQR]" row with a t-test p would describe one thing
    # and test another)
    default_how = "mean" if parametric else "median"
    if summary is None:
        summary = default_how
    if summary not in ("median", "mean") and not isinstance(summary, Mapping):
        raise InputError("summary must be 'median', 'mean' or a mapping {column: 'median'|'mean'}")
    # a setting for a variable that is not a row of the table (a typo) would do nothing
    for name, given in (("kinds", kinds), ("level_order", level_order),
                        ("summary", summary if isinstance(summary, Mapping) else {})):
        unknown = [k for k in given if k not in variables]
        if unknown:
            raise InputError(f"{name} names {', '.join(map(repr, unknown))}, not among the "
                             f"variables of the table ({', '.join(map(repr, variables))})")
    # labels: one dictionary is often shared by several tables (and labels the group), so
    # any column of the data may be named; a name that is no column at all is a typo
    unknown = [k for k in labels if k not in data.columns]
    if unknown:
        raise InputError(f"labels names {', '.join(map(repr, unknown))}, not a column of the "
                         f"data (the table's variables: {', '.join(map(repr, variables))})")
    if order is None and lab.has_order(group):
        order = lab.order(group, data[group].dropna().unique().tolist())
    groups = _levels(data[group], order)
    unknown = [g for g in groups if not (data[group] == g).any()] if order is not None else []
    absent = sorted(set(data[group].unique()) - set(groups), key=str)
    if unknown or absent:
        raise InputError(f"group order {groups} does not match the data: missing in data {unknown}, "
                         f"not listed {absent}")
    cols = [(g, data[group] == g) for g in groups]
    if overall:
        cols.append(("Overall", pd.Series(True, index=data.index)))
    head = ["Characteristic"] + [f"{lab.level(group, g)} (n = {int(m.sum())})"
                                 for g, m in cols[: len(groups)]]
    if overall:
        head.append(f"Overall (n = {len(data)})")
    if tests:
        head += ["p", "Test"]
    if smd:
        head.append("SMD")
    rows, indent, raw = [], [], []
    src = []   # per row of the table, per column: the row of ``raw`` the cell prints
    n_stat = (2 if tests else 0) + (1 if smd else 0)

    def stat_cells(extra):
        out = []
        if tests:
            out += [extra.get("p", ""), extra.get("test", "")]
        if smd:
            out.append(extra.get("smd", ""))
        return out

    used_tests = set()
    used_how = set()   # the summaries shown by the continuous rows (for the footnote)
    continuous_tested = False
    for var in variables:
        first = len(raw)   # the variable's first row of ``raw``: its p, test and SMD
        s = data[var]
        kind = kinds.get(var)
        if kind is None:
            kind = "categorical" if (pd.api.types.is_bool_dtype(s.dtype)
                                     or isinstance(s.dtype, pd.CategoricalDtype)
                                     or not pd.api.types.is_numeric_dtype(s.dtype)
                                     or _zero_one(s)) else "continuous"
        if kind not in ("categorical", "continuous"):
            raise InputError(f"kind for {var!r} must be 'categorical' or 'continuous'; got {kind!r}")
        if kind == "categorical" and _whole_numbers(s):
            s = s.astype("Int64")   # levels "0" / "1", not "0.0" / "1.0" of a column with blanks
        label = labels.get(var) or lab.column(var)
        extra, test_name, p = {}, "", np.nan
        test_note = smd_note = None     # why the row's p / SMD is not estimable (results.json)
        if tests and len(groups) >= 2:
            vals = s.astype(object).where(s.notna(), None) if kind == "categorical" else s
            if kind == "continuous":
                vals = pd.to_numeric(s, errors="raise")
            tr = compare_groups(vals, gvals, kind=kind, parametric=parametric, order=groups)
            test_name, p = tr.test, tr.p
            extra = {"p": st.p(p), "test": short_test_name(test_name)}
            if test_name and test_name != "none":
                used_tests.add(test_name)
            if not np.isfinite(p):
                reason = str(getattr(tr, "method", "") or "").split(": ", 1)[-1] \
                    or "the test is not defined on these values"
                # left blank: NE with this reason (explain_blanks, below)
                extra.update(p="", test="")
                test_note = f"no p-value: {reason}"
        d_smd = np.nan
        if smd and len(groups) >= 2:
            known = {g: int(s[data[group] == g].notna().sum()) for g in groups}
            # fewer than two groups with a known value: no difference to standardise (the
            # row's SMD is not estimable, the footnote names the groups; not the whole table)
            if sum(k > 0 for k in known.values()) >= 2:
                with np.errstate(invalid="ignore", divide="ignore"):  # 0/0: NaN, said below
                    d_smd = standardized_mean_difference(
                        s if kind == "categorical" else pd.to_numeric(s), gvals, kind=kind,
                        order=groups)
            extra["smd"] = format_num(d_smd, 2)
            if not np.isfinite(d_smd):
                few = [str(lab.level(group, g)) for g in groups
                       if known[g] < (2 if kind == "continuous" else 1)]
                extra["smd"] = ""   # NE with this reason (explain_blanks, below)
                smd_note = "no SMD: " + (
                    f"{', '.join(few)}: fewer than {2 if kind == 'continuous' else 1} known "
                    f"value{'s' if kind == 'continuous' else ''}" if few
                    else "no variation within the groups")
        nmiss = {g: int(s[m].isna().sum()) for g, m in cols}
        if kind == "continuous":
            x = pd.to_numeric(s, errors="raise")
            how = summary.get(var, default_how) if isinstance(summary, Mapping) else summary
            if how not in ("median", "mean"):
                raise InputError(f"summary for {var!r} must be 'median' or 'mean'; got {how!r}")
            suffix = "median [IQR]" if how == "median" else "mean (SD)"
            used_how.add(how)
            continuous_tested = continuous_tested or bool(test_name and test_name != "none")
            cells, at = [], []
            for g, m in cols:
                v = x[m].dropna().to_numpy(float)
                med, q1, q3 = (np.quantile(v, [0.5, 0.25, 0.75]) if v.size else (np.nan,) * 3)
                mean = float(v.mean()) if v.size else np.nan
                sd = float(v.std(ddof=1)) if v.size > 1 else np.nan
                # no known value: blank, NE with the reason of its row (explain_blanks)
                # one known value: no SD, "x (NE)" with its reason
                cells.append(format_median_iqr(med, q1, q3, decimals, na="") if how == "median"
                             else f"{format_num(mean, decimals)} ({PART})" if v.size == 1
                             else format_mean_sd(mean, sd, decimals, na=""))
                at.append((len(raw), ("sd",)) if how == "mean" and v.size == 1 else len(raw))
                raw.append({"variable": var, "level": None, "group": g, "n": int(v.size),
                            "denominator": int(v.size), "pct": np.nan, "median": med, "q1": q1,
                            "q3": q3, "mean": mean, "sd": sd, "missing": nmiss[g],
                            "test": test_name, "p": p, "smd": d_smd,
                            "test_note": test_note, "smd_note": smd_note})
            rows.append([f"{label}, {suffix}", *cells, *stat_cells(extra)])
            indent.append(0)
            src.append([first, *at, *[first] * n_stat])
        else:
            sv = s.astype(object).where(s.notna(), None)
            binary = _is_binary_yes_no(s) and var not in level_order
            if binary:
                yes = sv.map(lambda v: None if v is None else str(v).strip().lower() in _YES)
                levels = [True]
                sv = yes
            else:
                levels = list(level_order.get(var) or (
                    lab.order(var, sv.dropna().unique().tolist()) if lab.has_order(var)
                    else _levels(s)))
                extra_lv = sorted(set(sv.dropna().unique()) - set(levels), key=str)
                if extra_lv:
                    raise InputError(f"level_order for {var!r} misses levels {extra_lv} present in "
                                     "the data")
            level_cells = []
            for lv in levels:
                cells = []
                for g, m in cols:
                    nonmiss = int(sv[m].notna().sum())
                    k = int((sv[m] == lv).sum())
                    # no known value in the column: no percentage ("0 (NE)", with the
                    # reason of its row: explain_blanks, below)
                    cells.append(format_n_pct(k, nonmiss, pct_decimals) if nonmiss
                                 else f"{k} ({PART})")
                    raw.append({"variable": var, "level": "yes" if binary else lv, "group": g,
                                "n": k, "denominator": nonmiss,
                                "pct": 100.0 * k / nonmiss if nonmiss else np.nan,
                                "median": np.nan, "q1": np.nan, "q3": np.nan, "mean": np.nan,
                                "sd": np.nan, "missing": nmiss[g], "test": test_name, "p": p,
                                "smd": d_smd, "test_note": test_note, "smd_note": smd_note})
                level_cells.append(cells)
            if binary:
                rows.append([f"{label}, n (%)", *level_cells[0], *stat_cells(extra)])
                indent.append(0)
                src.append([first, *((at, ("pct",)) for at in range(first, first + len(cols))),
                            *[first] * n_stat])
            else:
                rows.append([f"{label}, n (%)", *[""] * len(cols), *stat_cells(extra)])
                indent.append(0)
                src.append([None, *[None] * len(cols), *[first] * n_stat])
                for k, (lv, cells) in enumerate(zip(levels, level_cells)):
                    rows.append([lab.level(var, lv), *cells, *stat_cells({})])
                    indent.append(1)
                    at = first + k * len(cols)
                    src.append([None, *((a, ("pct",)) for a in range(at, at + len(cols))),
                                *[None] * n_stat])
        if sum(nmiss.values()):
            rows.append(["Missing", *[str(nmiss[g]) for g, _ in cols], *stat_cells({})])
            indent.append(1)
            src.append([None] * (1 + len(cols) + n_stat))
    df = pd.DataFrame(rows, columns=head)
    if st.decimal_mark != ".":
        df = df.apply(lambda col: col.map(st.num)) if len(df) else df
    raw_df = pd.DataFrame(raw, columns=["variable", "level", "group", "n", "denominator", "pct",
                                        "median", "q1", "q3", "mean", "sd", "missing", "test",
                                        "p", "smd", "test_note", "smd_note"])
    # the reasons of a null p / SMD (docs/results_json.md), only in a table that has one
    raw_df = raw_df.drop(columns=[c for c in ("test_note", "smd_note")
                                  if raw_df[c].isna().all()])
    shown = {"median": "median [interquartile range]", "mean": "mean (standard deviation)"}
    notes = ["Categorical variables: n (%) of patients with a known value"
             + (f"; continuous: {shown[next(iter(used_how))]}" if len(used_how) == 1
                else "; continuous: as labelled (median [interquartile range] or mean "
                     "(standard deviation))" if used_how else "") + "."]
    if tests:
        rule = ["chi-square if all expected counts >= 5, else Fisher's exact"]
        if continuous_tested:
            rule.append("for continuous variables, Welch t-test with 2 groups and one-way "
                        "ANOVA with more" if parametric else
                        "for continuous variables, rank tests: Wilcoxon rank-sum with 2 "
                        "groups and Kruskal\u2013Wallis with more")
        # one spelling in the footnote: the tests' names as the rule names them (en dash)
        named = sorted(t.replace("Kruskal-Wallis", "Kruskal\u2013Wallis") for t in used_tests)
        notes.append("p-values: " + "; ".join(named) + " (test chosen per row: "
                     + "; ".join(rule) + ")." if used_tests else "p-values: no test possible.")
    if smd:
        notes.append("SMD, standardized mean difference.")
    # the fields of ``raw`` each column prints: a blank cell prints NE / – with the reason
    # results.json and the CSV give for that null (one rule for every table)
    fields = [("variable",)] + [("median", "mean")] * len(cols)
    if tests:
        fields += [("p",), ("test", "p")]
    if smd:
        fields.append(("smd",))
    from ..plan.null_reasons import frame_reasons
    from .blanks import explain_blanks
    # the analysis as results.json has it (whether an SMD was asked, the groups)
    why = frame_reasons(raw_df, kind="table1",
                        analysis={"smd": smd, "groups": {str(g): {} for g in groups}})
    t = explain_blanks(JournalTable(
        title, df, raw_df, tuple(indent), tuple(notes),
                        table_choices={"group": group, "summary": summary if isinstance(summary, str)
                                       else dict(summary), "parametric": parametric,
                                       "percent denominator": "non-missing values",
                                       "quantiles": "type 7 (R default)", "style": st.name,
                                       **({"identifying columns": identifying}
                                          if identifying else {})},
        source_fields=tuple(fields), source_cells=tuple(map(tuple, src))), why)
    if any(PART in str(c) for c in t.data.to_numpy().ravel()):   # never: each has a reason
        raise AssertionError("table1: a percentage left without its reason")
    return t
