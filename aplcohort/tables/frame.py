"""Tidy result frames as journal tables: the formatter of every table a plan writes.

:func:`format_frame` turns a result frame (curves, medians, terms, tests, counts...)
into a :class:`~aplcohort.tables.export.JournalTable`:

* every p-value column, whatever its name (``p``, ``p_adj``, ``p_value``,
  ``Pr(>|z|)``, ``p (Gray)``, ``logrank_p``, ``p_cox``, ``p_uni`` ...; see
  :func:`is_p_column`), goes through the one p formatter of the chosen style;
* an estimate with its bounds (``estimate/lower/upper``, ``median/lower/upper``,
  ``hr_uni/lower_uni/upper_uni``, ``odds_ratio/or_lower/or_upper`` ...) becomes one
  ``"x (y–z)"`` column; probabilities of curves print as percentages;
* internal columns (``cause``, ``std_err``, ``se``, ``variance``, ``coef``,
  ``estimable``, ``note``) are not shown; a row's ``note`` becomes a footnote;
* a median that was not reached prints ``NR``; a value that could not be
  estimated prints ``NE`` with a footnote saying why (the row's note), and so does a
  median's confidence limit whose note says it is not estimable (not "not reached");
* model terms, column names and level values print with their labels
  (:mod:`aplcohort.tables.labels`).
"""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd

from .export import JournalTable
from .format import DASH, decimals_for, format_ci

#: Columns never shown in a formatted table (kept in the full-precision CSV).
INTERNAL = ("cause", "std_err", "se", "robust_se", "variance", "coef", "estimable", "note",
            "level")
_P_RE = re.compile(r"^(p|pr\(>\|?[a-z]\|?\)|p[ ._-]?val(ue)?|p[ _.-].*|.*[_ .-]p|.*[_ .-]p[_ .-]"
                   r"(value|adj.*)|p_?adj.*|.*p[_.-]?value)$", re.I)

#: Printed names of the standard result columns.
HEADERS = {
    "group": "Group", "time": "Time", "n": "n", "events": "Events", "n_risk": "At risk",
    "n_event": "Events", "n_censor": "Censored", "competing": "Competing events",
    "median": "Median", "rmean": "Restricted mean", "rmst": "RMST", "rmtl": "RMTL",
    "tau": "Up to", "term": "Variable",
    "method": "Method", "statistic": "Statistic", "df": "df", "test": "Test",
    "group1": "Group 1", "group2": "Group 2", "landmark": "Landmark", "state": "State",
    "measure": "Measure", "observed": "Observed", "expected": "Expected",
    "o_minus_e": "O \u2212 E", "chisq": "\u03c7\u00b2", "estimate": "Estimate",
    "hr": "HR", "odds_ratio": "OR", "from_state": "From", "to_state": "To",
    "n_start": "n at start", "n_included": "n included", "events_after": "Events after",
    "logrank_statistic": "Log-rank \u03c7\u00b2", "logrank_df": "Log-rank df",
    # balance and weighted characteristics tables (propensity-score adjustment)
    "covariate": "Covariate", "variable": "Variable", "comparison": "Comparison",
    "sample": "Sample", "mean_treated": "Mean treated", "mean_control": "Mean control",
    "smd": "SMD", "variance_ratio": "Variance ratio", "sd": "SD", "mean": "Mean",
    "weighted_n": "Weighted n", "weighted_mean": "Weighted mean", "weighted_sd": "Weighted SD",
}
#: Statistics printed with a fixed number of decimals, as Table 1 prints its SMD column: a
#: difference that is zero up to rounding error prints "0.00", not "-0.0000000000000071".
FIXED_DECIMALS = {"smd": 2, "variance_ratio": 2}
#: Summary statistics whose decimals follow the value (1 from 10 up, else 2, more below
#: 0.01) but never more than 3: a mean or SD that is zero up to rounding error prints
#: "0.000", not 16 digits of noise.
CAPPED_DECIMALS = {"mean_treated": 3, "mean_control": 3, "mean": 3, "sd": 3,
                   "weighted_mean": 3, "weighted_sd": 3, "weighted_n": 3}
#: Counts of a curve that are sums of weights in a weighted (pseudo-population) curve.
WEIGHTED_COUNTS = ("n_risk", "n_event", "n_censor", "competing")
#: Columns whose values are the names of data columns (printed with their labels).
_NAME_COLUMNS = ("covariate", "variable")
_P_HEADERS = {"p": "p", "p_value": "p", "pvalue": "p", "p.value": "p", "p_adj": "Adjusted p",
              "p_cox": "p (Cox)", "logrank_p": "p (log-rank)", "p_uni": "p", "p_multi": "p"}


def is_p_column(name) -> bool:
    """True for the column names that hold p-values.

    Examples
    --------
    >>> [is_p_column(c) for c in ("p", "p_adj", "Pr(>|z|)", "p (Gray)", "logrank_p", "p_cox",
    ...                           "p_uni", "p.value", "pvalue", "group", "n_risk", "tau")]
    [True, True, True, True, True, True, True, True, True, False, False, False]
    """
    return bool(_P_RE.match(str(name).strip()))


def _triplets(cols: list[str]) -> list[tuple[str, str, str, str]]:
    """(estimate, lower, upper, header) column triplets present in ``cols``."""
    out, used = [], set()
    s = set(cols)

    def add(e, lo, hi, head):
        if {e, lo, hi} <= s and not ({e, lo, hi} & used):
            out.append((e, lo, hi, head))
            used.update((e, lo, hi))

    for suf in ("uni", "multi", "adj", "unadj", "weighted"):
        add(f"hr_{suf}", f"lower_{suf}", f"upper_{suf}", "HR")
        add(f"estimate_{suf}", f"lower_{suf}", f"upper_{suf}", "Estimate")
    add("odds_ratio", "or_lower", "or_upper", "OR")
    for e in ("hr", "shr", "estimate", "rate"):
        add(e, f"{e}_lower", f"{e}_upper", HEADERS.get(e, e.upper()))
    add("reproduced_estimate", "ci_lower", "ci_upper", "Reproduced estimate")
    for e in ("estimate", "median", "rmean", "rmst", "hr", "rate"):
        add(e, "lower", "upper", HEADERS.get(e, e))
    for c in cols:
        if c.endswith("_lower"):
            b = c[: -len("_lower")]
            add(b, c, b + "_upper", HEADERS.get(b, b.replace("_", " ").capitalize()))
    return out


def _isnan(x) -> bool:
    try:
        return x is None or bool(pd.isna(x))
    except (TypeError, ValueError):
        return False


def format_frame(df: pd.DataFrame, caption: str, *, labels=None, style=None,
                 conf_level: float = 0.95, group_column: str | None = None,
                 reference_levels=None, percent: bool | None = None,
                 weighted: str | None = None) -> JournalTable:
    """Format a tidy result frame as a journal table (see the module docstring).

    Parameters
    ----------
    df : DataFrame
        A result frame (full-precision numbers; the CSV of the run keeps them).
    caption : str
    labels : Labels, optional
        Default :func:`~aplcohort.tables.labels.resolve_labels` (the data dictionary).
    style : str or TableStyle, optional
    conf_level : float
        Printed in the interval headers.
    group_column : str, optional
        The cohort column the ``group`` values are levels of (their labels are used).
    reference_levels : mapping, optional
        Reference level of each categorical model variable (for term labels).
    percent : bool, optional
        Print curve probabilities as percentages (default: when the frame has ``time``
        and ``estimate`` columns with values in [0, 1] and no ``term``).
    weighted : str, optional
        The weights of a weighted curve (e.g. ``"ATE weights"``): its at-risk, event and
        censoring counts are sums of weights (a pseudo-population), headed "Weighted at
        risk" ... and said so in a footnote.

    Columns naming data columns (``covariate``, ``variable`` of a balance or weighted
    characteristics table) print their labels, their ``level`` the level's label, and a
    ``comparison`` "<level> vs <level>" of ``group_column`` the groups' labels. SMDs and
    variance ratios print with 2 decimals (as Table 1's SMD).

    Returns
    -------
    JournalTable
        ``.raw`` is ``df`` itself.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"group": ["A", "B"], "n": [19.0, 12.0], "events": [5.0, 2.0],
    ...                    "median": [21.7, float("nan")], "lower": [8.7, 9.9],
    ...                    "upper": [float("nan"), float("nan")], "note": ["", "not reached"],
    ...                    "p": [0.0004, float("nan")]})
    >>> format_frame(df, "Medians").data.values.tolist()
    [['A', '19', '5', '21.7 (8.7–NR)', '< 0.001'], ['B', '12', '2', 'NR (9.9–NR)', '']]
    """
    from .labels import Labels, resolve_labels
    from .style import get_style
    lab = labels if isinstance(labels, Labels) else resolve_labels(labels=labels)
    st = get_style(style)
    df = df.reset_index(drop=True)
    cols = [str(c) for c in df.columns]
    df.columns = cols
    notes_col = df["note"].fillna("").astype(str) if "note" in cols else pd.Series("", index=df.index)
    if "estimable" in cols:
        not_est = ~df["estimable"].fillna(True).astype(bool)
    else:
        not_est = pd.Series(False, index=df.index)
    trip = _triplets(cols)
    in_trip = {c for t in trip for c in t[:3]}
    drop = set(INTERNAL)
    if "cause" in cols and df["cause"].nunique(dropna=False) > 1:
        drop.discard("cause")
    if "level" in cols and "term" not in cols:
        drop.discard("level")
    if cols and all(c in drop for c in cols):
        # a frame of internal columns only (e.g. the notes of a propensity-score block, one
        # ``note`` column): its rows are the content, shown rather than dropped to an empty
        # table
        drop = {c for c in drop if c != "note"} if "note" in cols else set()
    if percent is None:
        percent = ("time" in cols and "estimate" in cols and "term" not in cols
                   and bool(df["estimate"].dropna().between(0, 1).all()))
    pct = f"{100 * float(conf_level):g}%"
    row_id = next((c for c in cols if c not in drop and c not in in_trip), None)
    footn: list[str] = []
    footn_na: list[str] = []
    marked: dict[str, list] = {}   # interval note -> rows: a footnote marker each
    nr_used = ne_used = na_used = False
    out_cols: dict[str, list] = {}
    src_fields: dict[str, tuple] = {}   # the frame's fields each printed column shows
    p_cols = [c for c in cols if is_p_column(c)]

    def rowname(i):
        if "group1" in cols and "group2" in cols:   # a pairwise comparison: name the pair
            return f"{_id_text(df.at[i, 'group1'])} vs {_id_text(df.at[i, 'group2'])}"
        if row_id is None:
            return f"row {i + 1}"
        v = df.at[i, row_id]
        if row_id == "term":
            return lab.term(v, reference_levels)
        def part(c):   # as the row prints: labels, times with the cells' decimals
            x = df.at[i, c]
            if c == "term":
                return lab.term(x, reference_levels)
            if c == "group" and group_column:
                return lab.level(group_column, x)
            if c == "time" and isinstance(x, (float, np.floating)) and np.isfinite(x) \
                    and not float(x).is_integer():
                return st.num(_num(x, _auto_decimals(x)))
            return _id_text(x)

        parts = [part(c) for c in ("group", "term", "time", "landmark", "state", "measure")
                 if c in cols and c not in drop and not _isnan(df.at[i, c])]
        return ", ".join(parts) if parts else str(v)

    def has_test(i):
        return any(not _isnan(df.at[i, c]) for c in p_cols)

    def why(i):
        # a note "<what the row is>; not estimable: <cause>" gives its cause (the reason
        # results.json and the CSV give; the row says what it is)
        from ..stats.shapes import note_cause
        n = note_cause(notes_col.iat[i].strip())
        return n or "not estimable"

    name_col = next((c for c in _NAME_COLUMNS if c in cols), None)
    w_cols = [c for c in WEIGHTED_COUNTS if c in cols] if weighted else []
    for c in cols:
        if c in drop:
            continue
        if c in in_trip:
            t = next((t for t in trip if t[0] == c), None)
            if t is None:  # a bound: printed with its estimate
                continue
            e, lo, hi, head = t
            is_median = e in ("median",)
            scale = 100.0 if (percent and e == "estimate") else 1.0
            vals = pd.to_numeric(df[e], errors="coerce") * scale
            los = pd.to_numeric(df[lo], errors="coerce") * scale
            his = pd.to_numeric(df[hi], errors="coerce") * scale
            if scale == 100.0:
                dec = 1
            elif e in ("median", "rmean", "rmst", "tau"):
                dec = 1
            else:
                dec = max(2, decimals_for(pd.concat([vals, los, his]).to_numpy(float), 3))
            cells = []
            for i in range(len(df)):
                v, a, b = vals.iat[i], los.iat[i], his.iat[i]
                note = notes_col.iat[i].lower()
                if e in ("odds_ratio",) and not _isnan(v) and (np.isinf(v) or v == 0):
                    from .response import odds_ratio_zero_cell_note
                    ne_used = True
                    footn.append(f"{rowname(i)}: " + odds_ratio_zero_cell_note(v, a, b, st, pct))
                    cells.append("NE")
                    continue
                if (_isnan(v) and not not_est.iat[i] and not is_median and has_test(i)
                        and notes_col.iat[i].strip()):
                    # a test-only row (e.g. a score test): no estimate to give, the note says
                    # what the row is
                    na_used = True
                    footn_na.append(f"{rowname(i)}: {notes_col.iat[i].strip()}")
                    cells.append("\u2014")
                    continue
                if _isnan(v) or not_est.iat[i] or (not _isnan(v) and not np.isfinite(v)):
                    if is_median and ("not reached" in note or note == ""):
                        nr_used = True
                        cells.append("NR" if _isnan(a) else st.num(
                            f"NR ({_num(a, dec)}{st.ci_sep}{'NR' if _isnan(b) else _num(b, dec)})"))
                    else:
                        ne_used = True
                        footn.append(f"{rowname(i)}: {why(i)}")
                        cells.append("NE")
                    continue
                nb = "NR" if is_median else "NE"
                nb_side = {}
                mark = ""
                if is_median and (_isnan(a) or _isnan(b)):
                    # a limit that is not estimable (its note says so, e.g. the band of a
                    # reverse Kaplan-Meier curve undefined at an estimate of 0) is NE with
                    # the reason, not NR ("not reached" would be the wrong word)
                    for side, x in (("lower", a), ("upper", b)):
                        if _isnan(x):
                            if limit_not_estimable(notes_col.iat[i], side):
                                nb_side[side] = "NE"
                                ne_used = True
                            else:
                                nr_used = True
                    if nb_side:
                        footn.append(f"{rowname(i)}: {why(i)}")
                elif not is_median and (_isnan(a) or _isnan(b)):
                    ne_used = True
                    w = why(i)   # a note naming the limits already ("confidence limits ...")
                    footn.append(f"{rowname(i)}: "
                                 + (w if w.startswith("confidence limit") else
                                    f"confidence limit {w}"))
                elif is_interval_note(notes_col.iat[i].strip()):
                    # an interval printed with a reason (SE 0: a point, not a measure of
                    # precision; SE undefined): a footnote marker and the reason
                    n_i = notes_col.iat[i].strip()
                    marked.setdefault(n_i, []).append(rowname(i))
                    mark = footnote_marker(list(marked).index(n_i))
                cells.append(st.num(format_ci(v, a, b, dec, na="NE", na_bound=nb, sep=st.ci_sep,
                                              na_lower=nb_side.get("lower"),
                                              na_upper=nb_side.get("upper"))) + mark)
            unit = ", %" if scale == 100.0 else ""
            key = f"{head}{unit} ({pct} CI)" + (" " * sum(1 for k in out_cols if k.startswith(head)))
            out_cols[key] = cells
            src_fields[key] = (e, lo, hi)
            continue
        v = df[c]
        if c in p_cols:
            cells = []
            for i, x in enumerate(v):
                if _isnan(x):
                    if not_est.iat[i]:
                        ne_used = True
                        footn.append(f"{rowname(i)}, p: {why(i)}")
                        cells.append("NE")
                    else:
                        cells.append("")
                else:
                    cells.append(st.p(float(x)))
            head = _P_HEADERS.get(c, c)
        elif pd.api.types.is_bool_dtype(v):
            cells = ["" if _isnan(x) else ("yes" if x else "no") for x in v]
            head = _header(c, lab)
        elif pd.api.types.is_numeric_dtype(v):
            fin = pd.to_numeric(v, errors="coerce")
            integer = bool(fin.dropna().apply(lambda x: float(x).is_integer()).all())
            cells = []
            for i, x in enumerate(fin):
                if _isnan(x):
                    cells.append("")
                elif c in FIXED_DECIMALS:
                    cells.append(st.num(_num(x, FIXED_DECIMALS[c])))
                elif integer and abs(x) < 1e9:
                    cells.append(str(int(x)))
                else:
                    dec = _auto_decimals(x)
                    dec = min(dec, CAPPED_DECIMALS.get(c, dec))
                    cells.append(st.num(_num(x, dec)))
            head = _header(c, lab)
            if c in w_cols:
                head = "Weighted " + head[:1].lower() + head[1:]
        else:
            if c == "term":   # a row without a term (a landmark not analysed): blank
                cells = ["" if _isnan(x) else lab.term(x, reference_levels) for x in v]
            elif c == name_col:
                cells = ["" if _isnan(x) else lab.column(x) for x in v]
            elif c == "level" and name_col is not None:
                cells = ["" if _isnan(x) or str(x) == "" else lab.level(df.at[i, name_col], x)
                         for i, x in enumerate(v)]
            elif c == "comparison" and group_column:
                cells = ["" if _isnan(x) else comparison_label(x, group_column, lab)
                         for x in v]
            elif c == "group" and group_column:
                cells = ["" if _isnan(x) else lab.level(group_column, x) for x in v]
            elif c in lab.columns:
                cells = ["" if _isnan(x) else lab.level(c, x) for x in v]
            else:
                cells = ["" if (not isinstance(x, (list, dict)) and _isnan(x)) else str(x)
                         for x in v]
            head = _header(c, lab)
        while head in out_cols:
            head += " "
        out_cols[head] = cells
        src_fields[head] = (c,)
    data = pd.DataFrame(out_cols)
    notes = []
    if nr_used:
        notes.append("NR, not reached.")
    if ne_used:
        seen = list(dict.fromkeys(footn))
        notes.append("NE, not estimable: " + "; ".join(seen) + ".")
    if na_used:
        notes.append("\u2014, no estimate (a test only): " + "; ".join(dict.fromkeys(footn_na))
                     + ".")
    for k, (note, where) in enumerate(marked.items()):
        notes.append(f"{footnote_marker(k)} {note} ({'; '.join(dict.fromkeys(where))}).")
    if w_cols:
        said = [HEADERS[c] if k == 0 else HEADERS[c].lower() for k, c in enumerate(w_cols)]
        said = ", ".join(said[:-1]) + " and " + said[-1] if len(said) > 1 else said[0]
        notes.append(f"{said} are weighted (pseudo-population) counts: sums of the "
                     f"{weighted} of the patients concerned, not numbers of patients.")
    return JournalTable(caption=caption, data=data, raw=df, footnotes=tuple(notes),
                        table_choices={"style": st.name, "conf_level": conf_level},
                        source_rows=tuple(range(len(df))),
                        source_fields=tuple(src_fields[k] for k in out_cols))


#: Footnote markers of cells whose interval has a note (superscript digits: plain text,
#: and typeset as exponents by the LaTeX export).
_SUPERSCRIPTS = "\u2070\u00b9\u00b2\u00b3\u2074\u2075\u2076\u2077\u2078\u2079"


def footnote_marker(k: int) -> str:
    """The ``k``-th footnote marker (0-based): ``¹``, ``²`` ... ``⁹``, ``¹⁰`` ...

    >>> footnote_marker(0), footnote_marker(11)
    ('¹', '¹²')
    """
    return "".join(_SUPERSCRIPTS[int(c)] for c in str(k + 1))


def limit_not_estimable(note: str, side: str) -> bool:
    """True when a median's ``note`` says its ``side`` ("lower" / "upper") confidence limit
    is not estimable (rather than not reached).

    >>> limit_not_estimable("lower confidence limit not estimable: ...; upper confidence "
    ...                     "limit not reached", "lower")
    True
    >>> limit_not_estimable("upper confidence limit not reached", "upper")
    False
    >>> limit_not_estimable("confidence limits not estimable: ...", "upper")
    True
    """
    low = str(note or "").lower()
    return (f"{side} confidence limit not estimable" in low
            or "confidence limits not estimable" in low)


def is_interval_note(note: str) -> bool:
    """True for the notes of :mod:`aplcohort.stats.shapes` that qualify a printed interval
    (SE 0: the interval is a point; SE undefined; limits undefined at the estimate)."""
    from ..stats.shapes import (NOTE_SE_UNDEFINED, NOTE_SE_ZERO, NOTE_SE_ZERO_EVENTS,
                                NOTE_SE_ZERO_STATE)
    return bool(note) and (note in (NOTE_SE_ZERO, NOTE_SE_ZERO_EVENTS, NOTE_SE_ZERO_STATE,
                                    NOTE_SE_UNDEFINED)
                           or note.startswith("confidence limits not defined at an estimate"))


def comparison_label(text, group_column, lab) -> str:
    """``"<g1> vs <g0>"`` (a balance table's comparison) with the groups' labels; a level
    that itself contains " vs " is kept whole when it is a known level of ``group_column``.

    >>> from aplcohort.tables.labels import resolve_labels
    >>> lab = resolve_labels(labels={"tx": {"levels": {"A": "Arm A", "B": "Arm B"}}})
    >>> comparison_label("B vs A", "tx", lab)
    'Arm B vs Arm A'
    """
    text = str(text)
    col = str(group_column)
    known = set(map(str, lab.level_labels.get(col) or {})) | set(map(str, lab.levels.get(col, ())))
    cuts = [m.start() for m in re.finditer(" vs ", text)]
    if not cuts:
        return lab.level(col, text)
    best = next((i for i in cuts if text[:i] in known and text[i + 4:] in known), cuts[0])
    return f"{lab.level(col, text[:best])} vs {lab.level(col, text[best + 4:])}"


def _auto_decimals(x) -> int:
    """Decimals of a number cell: 1 from 10 up, else 2, or 2 significant digits below 0.01
    (never "0.00" for a value that is not 0)."""
    x = abs(float(x))
    return 1 if x >= 10 else (2 if x >= 0.01 or x == 0 else 1 - int(math.floor(math.log10(x))))


def _id_text(x) -> str:
    """A row identifier as printed: 60.0 -> '60'."""
    if isinstance(x, (float, np.floating)) and float(x).is_integer():
        return str(int(x))
    return str(x)


def _num(x, dec):
    s = f"{float(x):.{dec}f}"
    if s.startswith("-") and float(s) == 0:
        s = s[1:]
    return s


def _header(c: str, lab) -> str:
    if c in HEADERS:
        return HEADERS[c]
    if c in lab.columns:
        return lab.column(c)
    return c.replace("_", " ").capitalize() if re.fullmatch(r"[a-z0-9_]+", c) else c


__all__ = ["format_frame", "is_p_column", "comparison_label", "INTERNAL", "DASH"]
