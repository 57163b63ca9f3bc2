"""Response table: rates with exact 95% CIs, odds ratio with CI and p (e.g. mCR2 after ATO vs IC).

Numbers come from :mod:`aplcohort.stats.grouptests`: Clopper–Pearson intervals
(``binom_ci``, R ``binom.test``) and Fisher's exact test with the conditional-MLE
odds ratio and its exact CI (``compare_response_rates`` / ``fisher_exact``, R
``fisher.test``). With more than two groups the p-value is the r x 2 Fisher test
and no odds ratio is printed.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from ..errors import InputError
from ..stats.grouptests import binom_ci, compare_response_rates, fisher_exact
from .export import JournalTable
from .format import DASH, decimals_for, format_ci, format_pct_ci


def odds_ratio_zero_cell_note(orv, lower, upper, style=None, pct="95%") -> str:
    """Footnote of an odds ratio that a zero cell makes 0 or infinite.

    R ``fisher.test`` returns the conditional MLE 0 (or Inf) and a one-sided exact CI
    ``[0, upper]`` (or ``[lower, Inf]``); the table prints "NE" and this note gives R's
    numbers, so no cell reads ``inf (9.77–inf)``.

    >>> odds_ratio_zero_cell_note(float("inf"), 9.7712, float("inf"))
    'odds ratio not estimable (a zero cell): conditional MLE infinite, exact 95% CI 9.77 to infinity'
    >>> odds_ratio_zero_cell_note(0.0, 0.0, 14.3)
    'odds ratio not estimable (a zero cell): conditional MLE 0, exact 95% CI 0 to 14.30'
    """
    from .style import get_style
    st = get_style(style)

    def f(x):
        if np.isinf(x):
            return "infinity"
        if x == 0:
            return "0"
        return st.num(format_ci(x, x, x, max(2, decimals_for([x], 3))).split(" ")[0])

    mle = "infinite" if np.isinf(orv) else "0"
    return (f"odds ratio not estimable (a zero cell): conditional MLE {mle}, exact {pct} CI "
            f"{f(lower)} to {f(upper)}")


def _outcome_spec(spec, name):
    if isinstance(spec, str):
        return spec, None
    if isinstance(spec, (tuple, list)) and len(spec) == 2:
        col, lv = spec
        return col, (list(lv) if isinstance(lv, (list, tuple, set)) else [lv])
    raise InputError(f"outcome {name!r}: give a column name (yes/no or bool) or "
                     "(column, [responder levels])")


def response_table(data: pd.DataFrame, group: str, outcomes: Mapping, *, order=None,
                   labels: Mapping | None = None, conf_level: float = 0.95, decimals: int = 1,
                   or_decimals: int = 2, title: str = "Response to reinduction",
                   style=None) -> JournalTable:
    """Rates per group with exact CIs, odds ratio (first vs second group) with CI and p.

    Parameters
    ----------
    data : DataFrame (one row per patient)
    group : str
        Group column (e.g. ``"reinduction_regimen"``); rows with a missing group raise.
    outcomes : mapping {row label: column | (column, [responder levels])}
        A bare column is a yes/no (or boolean) column; e.g.
        ``{"mCR2": ("response", ["mCR2"]), "CR2 or mCR2": ("response", ["CR2", "mCR2"]),
        "Grade >= 3 infection": "infection_grade3"}``.
        Patients with a missing outcome value are not in that row's denominator; their
        number is given in a footnote (never silently dropped).
    order : sequence
        Groups (columns) in order; the odds ratio is group 1 vs group 2.
    labels : mapping {group: label} or Labels
        A :class:`~aplcohort.tables.labels.Labels` gives the group levels' labels.
    style : str or TableStyle
        Journal style (p-values, decimal mark).

    Returns
    -------
    JournalTable
        ``.raw`` columns [outcome, group, responders, n, rate, lower, upper, missing,
        odds_ratio, or_lower, or_upper, p, test].

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"arm": ["ATO"] * 5 + ["IC"] * 4,
    ...                    "resp": ["mCR2"] * 4 + ["none"] + ["mCR2"] + ["none"] * 3})
    >>> t = response_table(df, "arm", {"mCR2": ("resp", ["mCR2"])})
    >>> t.data.iloc[0, 1]
    '4/5, 80.0 (28.4–99.5)'

    Validated against: R ``binom.test`` / ``fisher.test`` through grouptests (rtol 1e-9);
    cells checked in ``tests/test_tables_response.py``.
    """
    if group not in data.columns:
        raise InputError(f"group column {group!r} not in the data")
    if data[group].isna().any():
        raise InputError(f"{int(data[group].isna().sum())} rows have no {group!r}; filter them "
                         "explicitly first")
    groups = list(order) if order is not None else sorted(data[group].unique().tolist(), key=str)
    absent = sorted(set(data[group].unique()) - set(groups), key=str)
    if absent:
        raise InputError(f"groups {absent} are in the data but not in order={groups}; filter the "
                         "data to the groups compared")
    if len(groups) < 2:
        raise InputError("a response table compares at least two groups")
    from .format import check_decimals
    from .labels import Labels
    from .style import get_style
    decimals = check_decimals("decimals", decimals)
    or_decimals = check_decimals("or_decimals", or_decimals)
    st = get_style(style)
    if isinstance(labels, Labels):
        lab = {g: labels.level(group, g) for g in groups}
    else:
        lab = {g: (labels or {}).get(g, str(g)) for g in groups}
    ng = {g: int((data[group] == g).sum()) for g in groups}
    pct = f"{100 * conf_level:g}%"
    head = (["Outcome"] + [f"{lab[g]} (n = {ng[g]})" for g in groups]
            + ([f"OR ({pct} CI)"] if len(groups) == 2 else []) + ["p"])
    rows, raw, notes, or_notes = [], [], [], []
    for name, spec in outcomes.items():
        col, levels = _outcome_spec(spec, name)
        if col not in data.columns:
            raise InputError(f"outcome {name!r}: column {col!r} not in the data")
        s = data[col]
        if levels is None:
            vals = {str(v).strip().lower() for v in s.dropna().unique()}
            if not (pd.api.types.is_bool_dtype(s.dtype) or vals <= {"yes", "no", "true", "false",
                                                                    "1", "0", "y", "n"}):
                raise InputError(f"outcome {name!r}: column {col!r} is not yes/no; give "
                                 f"(column, [responder levels]) with levels from {sorted(vals)}")
            resp = s.map(lambda v: None if pd.isna(v) else str(v).strip().lower()
                         in ("yes", "true", "1", "y"))
        else:
            resp = s.map(lambda v: None if pd.isna(v) else v in levels)
        counts = {}
        for g in groups:
            m = data[group] == g
            r = resp[m]
            counts[g] = (int((r == True).sum()), int(r.notna().sum()), int(r.isna().sum()))  # noqa: E712
        miss = {g: c[2] for g, c in counts.items() if c[2]}
        if miss:
            notes.append(f"{name}: outcome missing for " + ", ".join(f"{lab[g]} {k}" for g, k in miss.items())
                         + " patient(s), not in the denominators.")
        if any(c[1] == 0 for c in counts.values()):
            raise InputError(f"outcome {name!r}: a group has no patient with a known value")
        if len(groups) == 2:
            (x1, n1, _), (x2, n2, _) = counts[groups[0]], counts[groups[1]]
            rc = compare_response_rates(x1, n1, x2, n2, labels=(groups[0], groups[1]),
                                        conf_level=conf_level)
            f = rc.fisher
            orv, olo, ohi, p, test = f.estimate, f.lower, f.upper, f.p, f.test
        else:
            tab = pd.DataFrame([[counts[g][0], counts[g][1] - counts[g][0]] for g in groups],
                               index=groups, columns=["yes", "no"])
            f = fisher_exact(tab)
            orv = olo = ohi = np.nan
            p, test = f.p, f.test
        cells = []
        for g in groups:
            x, n, m = counts[g]
            est, lo, hi = binom_ci(x, n, conf_level)
            cells.append(st.num(f"{x}/{n}, {format_pct_ci(est, lo, hi, decimals, sep=st.ci_sep)}"))
            raw.append({"outcome": name, "group": g, "responders": x, "n": n, "rate": est,
                        "lower": lo, "upper": hi, "missing": m, "odds_ratio": orv,
                        "or_lower": olo, "or_upper": ohi, "p": p, "test": test})
        row = [name, *cells]
        if len(groups) == 2:
            if np.isinf(orv) or orv == 0:
                # a zero cell: R's conditional MLE is 0 or Inf; never "inf (9.77-inf)"
                row.append("NE")
                or_notes.append(f"{name}: {odds_ratio_zero_cell_note(orv, olo, ohi, st, pct)}")
            else:
                dec = max(or_decimals, decimals_for([orv, olo, ohi], 3))  # 0.004, not 0.00
                row.append(st.num(format_ci(orv, olo, ohi, dec, na_bound="NE", sep=st.ci_sep)))
        row.append(st.p(p))
        rows.append(row)
    df = pd.DataFrame(rows, columns=head)
    notes = [f"Cells: responders/evaluable, % ({pct} CI, Clopper{DASH}Pearson exact)."] + (
        [f"OR, odds ratio {lab[groups[0]]} vs {lab[groups[1]]} (conditional maximum likelihood, "
         "exact CI); p, Fisher's exact test."] if len(groups) == 2 else
        ["p, Fisher's exact test (r x 2)."]) + notes
    if or_notes:
        notes.append("NE, not estimable: " + "; ".join(or_notes) + ".")
    raw_df = pd.DataFrame(raw, columns=["outcome", "group", "responders", "n", "rate", "lower",
                                        "upper", "missing", "odds_ratio", "or_lower", "or_upper",
                                        "p", "test"])
    return JournalTable(title, df, raw_df, (0,) * len(df), tuple(notes),
                        table_choices={"rate CI": "Clopper-Pearson", "conf_level": conf_level,
                                       "odds ratio": "conditional MLE (fisher.test)",
                                       "groups": groups, "style": st.name})
