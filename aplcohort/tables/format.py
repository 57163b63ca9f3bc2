"""Journal number formatting: p-values, estimates with CIs, n (%), median [IQR].

All functions are pure and return strings; a missing value (None/NaN) gives
``na`` ("NA" by default, "NR" for a median not reached where documented).
The en dash "–" separates interval bounds, as most journals print them.
"""

from __future__ import annotations

import math

import numpy as np

DASH = "\u2013"  # en dash


def _isna(x) -> bool:
    if x is None:
        return True
    try:
        return bool(np.isnan(float(x)))
    except (TypeError, ValueError):
        return False


def format_p(p, *, digits: int | None = None, threshold: float | None = None,
             na: str = "NA", prefix: bool = False, style=None) -> str:
    """Format a p-value: the one p-value formatter of every table, figure and report.

    Default rule (``style=None``, the aplcohort style): ``p < threshold`` (0.001)
    prints ``"< 0.001"``; otherwise 2 significant digits (``0.88``, ``0.050``,
    ``0.0012``), and a value that would round to 1 prints ``"> 0.99"``. A journal
    style (``"ama"``, ``"lancet"``, ``"blood"`` or a
    :class:`~aplcohort.tables.style.TableStyle`) changes the threshold, the digits,
    the leading zero and the decimal mark (see ``docs/tables.md``). ``digits=`` asks
    for that many *decimals* instead (a fixed-width column, e.g. figure annotations).
    With ``prefix=True`` ``"p = "`` / ``"p < "`` is prepended (figure annotations).

    Examples
    --------
    >>> format_p(0.0004), format_p(0.01234), format_p(0.878), format_p(0.9996)
    ('< 0.001', '0.012', '0.88', '> 0.99')
    >>> format_p(0.0004, prefix=True), format_p(0.05, digits=3, prefix=True)
    ('p < 0.001', 'p = 0.050')
    >>> format_p(0.0321, style="ama"), format_p(0.00004, style="lancet")
    ('.03', '<0\u00b70001')
    """
    from .style import get_style
    if _isna(p):
        return na
    p = float(p)
    if p < 0 or p > 1 + 1e-12:
        raise ValueError(f"p-value must be in [0, 1]; got {p}")
    st = get_style(style)
    if digits is not None:  # fixed decimals (legacy / figure annotations)
        digits = check_decimals("digits", digits)
        thr = 0.001 if threshold is None else float(threshold)
        if p < thr:
            body, op = st.number_text(np.format_float_positional(thr, trim="-")), "<"
        else:
            s = f"{p:.{digits}f}"
            if float(s) >= 1:
                body, op = st.number_text(f"{1 - 10 ** (-digits):.{digits}f}"), ">"
            else:
                body, op = st.number_text(s), "="
    else:
        op, body = st.p_parts(p, threshold)
    if prefix:
        return f"p {op} {body}"
    if op == "=":
        return body
    return f"{op}{st.p_space}{body}"


def check_decimals(name: str, value) -> int:
    """A number of decimals (``decimals=``, ``pct_decimals=`` ...): an integer >= 0.

    >>> check_decimals("decimals", -1)
    Traceback (most recent call last):
    ...
    aplcohort.errors.InputError: decimals must be an integer >= 0; got -1
    """
    from .._checks import check_int
    return check_int(name, value, minimum=0)


def format_num(x, decimals: int = 1, na: str = "NA") -> str:
    """Fixed decimals (``-0.0`` printed as ``0.0``).

    >>> format_num(2.345, 2), format_num(float("nan")), format_num(-0.04, 1)
    ('2.35', 'NA', '0.0')
    """
    if type(decimals) is not int or decimals < 0:
        decimals = check_decimals("decimals", decimals)
    if _isna(x):
        return na
    s = f"{float(x):.{decimals}f}"
    if s.startswith("-") and float(s) == 0:
        s = s[1:]
    return s


def format_ci(est, lower, upper, decimals: int = 2, *, na: str = "NA", na_bound: str = "NR",
              sep: str = DASH, na_lower: str | None = None, na_upper: str | None = None) -> str:
    """``"est (lower–upper)"``; a missing bound prints ``na_bound`` (default "NR"), or
    ``na_lower`` / ``na_upper`` for that bound when given (e.g. "NE" for a limit that is not
    estimable beside one that is not reached).

    >>> format_ci(0.6412, 0.4901, 0.8312)
    '0.64 (0.49–0.83)'
    >>> format_ci(25.1, 14.23, float("nan"), 1)
    '25.1 (14.2–NR)'
    >>> format_ci(6.0, float("nan"), float("nan"), 1, na_lower="NE")
    '6.0 (NE–NR)'
    >>> format_ci(0.0196, 0.00027, 0.309, 3)   # a positive bound never prints as 0.000
    '0.020 (<0.001–0.309)'
    >>> format_ci(-58.64, -132.45, 15.17)      # a negative bound: "to", not a dash
    '-58.64 (-132.45 to 15.17)'
    """
    if _isna(est):
        return na

    def fmt(v, missing):
        s = format_num(v, decimals, missing)
        if not _isna(v) and float(v) > 0 and float(s) == 0:  # positive but rounds to 0
            return "<" + f"{10.0 ** -decimals:.{decimals}f}"
        return s

    lo = fmt(lower, na_bound if na_lower is None else na_lower)
    hi = fmt(upper, na_bound if na_upper is None else na_upper)
    return f"{fmt(est, na)} ({lo}{_sep(sep, lo, hi)}{hi})"


def _sep(sep: str, lo: str, hi: str) -> str:
    """The range separator: a dash, except " to " when a bound is negative (-3–-1 would
    read as a subtraction; journals write "-3 to -1")."""
    return " to " if sep == DASH and (lo.startswith("-") or hi.startswith("-")) else sep


def format_interval(lower, upper, decimals: int = 2, *, na_bound: str = "NR", sep: str = DASH) -> str:
    """``"lower–upper"`` (``"lower to upper"`` when a bound is negative).

    >>> format_interval(1, 2.5, 1), format_interval(-2, 1.5, 1)
    ('1.0–2.5', '-2.0 to 1.5')
    """
    lo, hi = format_num(lower, decimals, na_bound), format_num(upper, decimals, na_bound)
    return f"{lo}{_sep(sep, lo, hi)}{hi}"


def format_n_pct(n, total, decimals: int = 1, *, na: str = "NA") -> str:
    """``"n (pct)"`` with pct = 100 n / total.

    >>> format_n_pct(5, 12), format_n_pct(0, 0)
    ('5 (41.7)', '0 (NA)')
    """
    if _isna(n):
        return na
    n = int(n)
    if total is None or _isna(total) or int(total) == 0:
        return f"{n} (NA)"
    return f"{n} ({format_num(100.0 * n / int(total), decimals)})"


def format_pct_ci(est, lower, upper, decimals: int = 1, *, sep: str = DASH, na: str = "NA") -> str:
    """Proportion (0–1 scale) as ``"pct (lo–hi)"`` in percent.

    >>> format_pct_ci(0.417, 0.152, 0.723)
    '41.7 (15.2–72.3)'
    """
    if _isna(est):
        return na
    return format_ci(100 * float(est), None if _isna(lower) else 100 * float(lower),
                     None if _isna(upper) else 100 * float(upper), decimals, sep=sep, na_bound=na)


def format_median_iqr(median, q1, q3, decimals: int = 1, *, sep: str = DASH, na: str = "NA") -> str:
    """``"median [q1–q3]"``.

    >>> format_median_iqr(54, 41.25, 63.5)
    '54.0 [41.2–63.5]'
    """
    if _isna(median):
        return na
    return f"{format_num(median, decimals)} [{format_num(q1, decimals)}{sep}{format_num(q3, decimals)}]"


def format_mean_sd(mean, sd, decimals: int = 1, *, na: str = "NA") -> str:
    """``"mean (SD)"``.

    >>> format_mean_sd(10, 2.345)
    '10.0 (2.3)'
    """
    if _isna(mean):
        return na
    return f"{format_num(mean, decimals)} ({format_num(sd, decimals)})"


def format_range(lo, hi, decimals: int = 1, *, sep: str = DASH) -> str:
    """``"lo–hi"`` (used for "median (range)").

    >>> format_range(1, 20, 0)
    '1–20'
    """
    return f"{format_num(lo, decimals)}{sep}{format_num(hi, decimals)}"


def decimals_for(values, max_decimals: int = 2) -> int:
    """Smallest number of decimals (<= max) needed so that values < 10 keep 2 significant digits.

    >>> decimals_for([0.64, 1.2]), decimals_for([12.0, 30.5]), decimals_for([0.041])
    (2, 1, 2)
    """
    vals = [abs(float(v)) for v in values if not _isna(v) and float(v) != 0]
    if not vals:
        return 1
    m = min(vals)
    if m >= 10:
        return 1
    if m >= 1:
        return min(max_decimals, 2)
    return min(max_decimals, max(2, int(-math.floor(math.log10(m))) + 1))
