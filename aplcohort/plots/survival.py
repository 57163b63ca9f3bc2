"""Kaplan–Meier, cumulative-incidence and Simon–Makuch plots with a number-at-risk table.

The numbers the figure shows are not computed here: curves come from the result
object's ``.table``; the at-risk table from ``KMResult.risk_table(times)`` (i.e.
:func:`aplcohort.stats.km.number_at_risk`, counted at the START of each interval
as R ``summary(survfit, times=)``); medians from ``KMResult.median()``; p-values
and hazard ratios from the test / Cox result passed in. The plot only draws.

Every text artist of the risk table carries a ``gid``
``"risk:<row>:<group>:<time>"`` (row in ``n_risk``, ``cum_events``,
``cum_censored``) so tests and users can read back exactly what is printed.
The risk-table axes has the label ``"risk table"`` and shares the x axis of the
curve axes, so its columns sit exactly under the x ticks.
"""

from __future__ import annotations

import contextlib

import weakref

import matplotlib.pyplot as plt
import matplotlib.transforms as mtransforms
import numpy as np
import pandas as pd
from matplotlib.ticker import MaxNLocator
from mpl_toolkits.axes_grid1 import axes_size, make_axes_locatable

from ..errors import InputError
from ..tables.format import DASH, check_decimals, format_num, format_p
from .style import figure_size, group_label, group_styles, journal_style, ordered_groups

TIME_UNITS = ("days", "weeks", "months", "years")
RISK_ROWS = {"n_risk": "Number at risk", "cum_events": "Cumulative events",
             "cum_censored": "Cumulative censored",
             "cum_entered": "Moved into the curve (cumulative)",
             "cum_switched_out": "Moved to the other curve (cumulative)"}
_LINE_IN = 0.155  # height of one risk-table line (inches) at 7 pt
HATCHES = ("", "////", "....", "xxxx", "\\\\\\\\")  # greyscale-safe fills of stacked areas
#: risk-table axes -> (its height in the divider, its number of text lines)
_TABLES: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


# ---------------------------------------------------------------------------- pure helpers
def format_test_name(test) -> str:
    """Display name of a test for a p-value annotation.

    Examples
    --------
    >>> format_test_name("log-rank"), format_test_name("gray"), format_test_name("mantel-byar")
    ('Log-rank', 'Gray', 'Mantel–Byar')
    >>> format_test_name("stratified Gray")
    'Stratified Gray'
    """
    name = str(getattr(test, "test", test) or "").strip()
    low = name.lower()
    if low in ("log-rank", "logrank", "log rank"):
        return "Log-rank"
    if "gray" in low:   # a stratified test says so (the plan's cif with strata:)
        return "Stratified Gray" if low.startswith("stratified") else "Gray"
    if "mantel" in low and "byar" in low:
        return "Mantel" + DASH + "Byar"
    if not name:
        raise InputError("the p-value annotation must name its test; pass a test result "
                         "(with .test) or pvalue_test='log-rank' / 'Gray' / 'Mantel-Byar'")
    return name[0].upper() + name[1:]


def pvalue_text(pvalue, test=None, digits: int | None = None) -> str:
    """``"Log-rank p = 0.012"`` from a test result (``.p``, ``.test``) or a float + name.

    Examples
    --------
    >>> pvalue_text(0.0123, "log-rank"), pvalue_text(0.0002, "Gray")
    ('Log-rank p = 0.012', 'Gray p < 0.001')
    >>> pvalue_text(float("nan"), "Mantel-Byar")
    'Mantel–Byar: not estimable'
    
    """
    if hasattr(pvalue, "p"):
        p = pvalue.p
        name = test if test is not None else getattr(pvalue, "test", None)
    else:
        p, name = pvalue, test
    try:
        defined = p is not None and np.isfinite(float(p))
    except (TypeError, ValueError):
        defined = False
    if not defined:   # never "p = NA": the reason is in the result's note / the report
        return f"{format_test_name(name)}: not estimable"
    return f"{format_test_name(name)} {format_p(p, digits=digits, prefix=True)}"


def hr_text(result, term=None, label: str = "HR", decimals: int = 2) -> str:
    """``"HR 0.64 (95% CI 0.49–0.83)"`` from a Cox / Fine–Gray result's ``.terms``.

    Examples
    --------
    >>> import pandas as pd
    >>> class R:  # stand-in for a CoxResult
    ...     terms = pd.DataFrame({"term": ["arm"], "estimate": [0.6412], "lower": [0.49],
    ...                           "upper": [0.8349], "p": [0.001], "estimable": [True],
    ...                           "note": [""]})
    >>> hr_text(R())
    'HR 0.64 (95% CI 0.49–0.83)'
    """
    terms = getattr(result, "terms", None)
    if not isinstance(terms, pd.DataFrame):
        raise InputError("hr= needs a CoxResult / FineGrayResult (with a .terms DataFrame)")
    if term is None:
        if len(terms) != 1:
            raise InputError(f"the Cox result has {len(terms)} terms {terms['term'].tolist()}; "
                             "name the one to annotate with hr_term=")
        row = terms.iloc[0]
    else:
        hit = terms[terms["term"] == term]
        if hit.empty:
            raise InputError(f"hr_term {term!r} not in the Cox terms {terms['term'].tolist()}")
        row = hit.iloc[0]
    if not bool(row.get("estimable", True)):
        return f"{label} not estimable ({row.get('note', '')})".replace(" ()", "")
    lvl = _conf_level(result)
    return (f"{label} {format_num(row['estimate'], decimals)} ({lvl} CI "
            f"{format_num(row['lower'], decimals)}{DASH}{format_num(row['upper'], decimals)})")


def _conf_level(result) -> str:
    cl = getattr(result, "conf_level", None)
    if cl is None:
        cl = (getattr(result, "choices", None) or {}).get("conf_level", 0.95)
    return f"{100 * float(cl):g}%"


def median_label(row, decimals: int = 1) -> str:
    """``"25.1 (14.2–NR)"`` from a row of ``KMResult.median()`` (NR = not reached).

    >>> median_label({"median": float("nan"), "lower": 3.0, "upper": float("nan")})
    'NR (3.0–NR)'
    >>> median_label({"median": float("nan"), "lower": float("nan"), "upper": float("nan")})
    'NR'
    """
    m = format_num(row["median"], decimals, "NR")
    lo, hi = format_num(row["lower"], decimals, "NR"), format_num(row["upper"], decimals, "NR")
    if m == lo == hi == "NR":  # nothing reached: "NR (NR–NR)" says no more than "NR"
        return m
    return f"{m} ({lo}{DASH}{hi})"


def default_ticks(tmax: float, nbins: int = 6) -> np.ndarray:
    """Tick positions 0, step, ..., covering ``tmax`` (matplotlib MaxNLocator steps).

    >>> default_ticks(47.3).tolist()
    [0.0, 10.0, 20.0, 30.0, 40.0, 50.0]
    """
    if not np.isfinite(tmax) or tmax <= 0:
        return np.array([0.0])
    loc = MaxNLocator(nbins=nbins, steps=[1, 2, 2.5, 3, 5, 6, 10], min_n_ticks=3)
    t = np.asarray(loc.tick_values(0.0, float(tmax)), dtype=float)
    t = t[t >= 0]
    last = np.searchsorted(t, tmax - 1e-12 * max(1.0, tmax))
    return t[: last + 1]


#: Upper limits a cumulative-incidence axis may end at (the smallest that leaves room
#: above the highest curve is used; 1 when a curve passes 0.5).
CIF_UPPER_LIMITS = (0.05, 0.1, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.8)


def cif_upper_limit(ymax: float, headroom: float = 1.15) -> float:
    """Top of a cumulative-incidence y axis for curves reaching ``ymax`` (pure).

    The axis ends at the smallest of :data:`CIF_UPPER_LIMITS` that is at least
    ``headroom`` x ``ymax`` (so a non-relapse mortality of 17 % is drawn on 0–0.2, not
    squeezed against the x axis of a 0–1 plot); curves higher than about 0.7 keep the
    full 0–1 scale (1.03, so a curve reaching 1 is not drawn on the frame).

    Examples
    --------
    >>> cif_upper_limit(0.167), cif_upper_limit(0.0), cif_upper_limit(0.45), cif_upper_limit(0.9)
    (0.2, 0.05, 0.6, 1.03)
    """
    if not np.isfinite(ymax) or ymax < 0:
        raise InputError(f"ymax must be a number >= 0; got {ymax!r}")
    need = ymax * headroom
    for lim in CIF_UPPER_LIMITS:
        if lim >= need:
            return lim
    return 1.03


def needs_inset(peak: float, axis_top: float, fraction: float = 0.25) -> bool:
    """The inset rule of :func:`plot_cif`: curves reaching ``peak`` are "near zero" on an
    axis ending at ``axis_top`` when they rise above 0 but stay below ``fraction`` of it
    (pure).

    Examples
    --------
    >>> needs_inset(0.03, 1.0), needs_inset(0.3, 1.0), needs_inset(0.0, 1.0), needs_inset(0.17, 0.2)
    (True, False, False, False)
    """
    return bool(peak > 0 and axis_top > 0 and peak < fraction * axis_top)


def inset_upper_limit(peak: float, headroom: float = 1.15) -> float:
    """Top of an inset's y axis: the smallest 1, 2, 2.5 or 5 x 10^k at least
    ``headroom`` x ``peak`` (pure).

    >>> inset_upper_limit(0.031), inset_upper_limit(0.0042), inset_upper_limit(0.2)
    (0.05, 0.005, 0.25)
    """
    if not np.isfinite(peak) or peak <= 0:
        raise InputError(f"peak must be a number > 0; got {peak!r}")
    need = peak * headroom
    k = np.floor(np.log10(need))
    for m in (1.0, 2.0, 2.5, 5.0, 10.0):
        v = float(np.round(m * 10.0 ** k, 12))
        if v >= need * (1 - 1e-12):
            return v
    return float(10.0 ** (k + 1))


#: Box of the inset (axes fraction: x0, y0, width, height): upper left, over the empty
#: upper part of a near-zero CIF.
_INSET_BOX = (0.1, 0.42, 0.5, 0.5)


def _draw_inset(ax, tab, groups, cause, styles, lab, peak, times, scale, percent):
    ins = ax.inset_axes(list(_INSET_BOX))
    ins.set_label("cif inset")
    for g in groups:
        sc = tab[_sel(tab, g) & (tab["cause"] == cause)].sort_values("time")
        x, y = _step_xy(sc["time"], sc["estimate"], 0.0)
        st = styles[g]
        ins.step(x, y * scale, where="post", color=st["color"], linestyle=st["linestyle"],
                 linewidth=1.0, gid=f"inset:{g}")
    top = inset_upper_limit(peak)
    ins.set_xlim(0, float(times[-1]) if len(times) > 1 else None)
    ins.set_ylim(0, top * scale)
    ins.set_yticks([0, top * scale / 2, top * scale])
    ins.set_xticks([float(times[0]), float(times[len(times) // 2]), float(times[-1])]
                   if len(times) > 2 else list(times))
    ins.xaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:g}"))
    ins.yaxis.set_major_formatter(plt.FuncFormatter(
        lambda v, _: f"{v:g}" if percent else f"{v:.3g}"))
    ins.tick_params(labelsize=max(6.5, plt.rcParams["font.size"] - 1.5), length=2, pad=1.5)
    ins.spines["bottom"].set_position(("outward", 2))
    ins.set_facecolor("white")
    ins.patch.set_alpha(0.9)
    ins.text(0.02, 0.98, "zoom", transform=ins.transAxes, ha="left", va="top",
             fontsize=max(6.5, plt.rcParams["font.size"] - 1.5), color="0.35")
    return ins


def _check_unit(unit):
    if unit not in TIME_UNITS:
        raise InputError(f"time_unit must be one of {TIME_UNITS}; got {unit!r}")


#: The function that draws each kind of curve result (the others refuse it, naming this one).
PLOT_FOR = {"survival": "plot_km(result)",
            "cumulative incidence": "plot_cif(result, cause=...)",
            "cumulative hazard": "aplcohort.plots.cumhaz.plot_cumhaz(result)",
            "state occupancy": "aplcohort.plots.multistate.plot_state_occupancy(result)",
            "current leukaemia-free survival": "aplcohort.plots.multistate.plot_clfs(result)"}


def curve_kind(result) -> str:
    """What a curve result estimates: ``"survival"``, ``"cumulative incidence"``,
    ``"cumulative hazard"``, ``"state occupancy"``, ``"current leukaemia-free survival"``,
    or ``""`` for an object that is not a curve result.

    Read from the result's ``kind`` / ``curve``, else from its ``.table`` (a table with
    cause codes is a cumulative incidence, one without a survival curve).

    Examples
    --------
    >>> from aplcohort.stats.competing import cumulative_incidence
    >>> curve_kind(cumulative_incidence([1, 2, 3, 4], [1, 2, 0, 1]))
    'cumulative incidence'
    """
    kind = getattr(result, "kind", None)
    if kind in ("cif", "batch_cif"):
        return "cumulative incidence"
    if kind == "state_occupancy":
        return "state occupancy"
    if kind == "clfs":
        return "current leukaemia-free survival"
    curve = getattr(result, "curve", None)
    if isinstance(curve, str) and curve in PLOT_FOR:
        return curve
    table = getattr(result, "table", None)
    if not isinstance(table, pd.DataFrame) or not {"group", "time", "estimate"} <= set(
            table.columns):
        return ""
    if "cause" in table.columns and table["cause"].notna().any():
        return "cumulative incidence"
    return "survival"


def check_curve_kind(result, fn: str, expected: str) -> None:
    """Refuse a result that is not a ``expected`` curve, naming the function that draws it
    (e.g. a competing-risks result given to ``plot_km`` would be drawn as a survival curve,
    with the cause curves joined and "medians" read off them)."""
    what = curve_kind(result)
    if what == expected:
        return
    name = type(result).__name__
    if not what:
        raise InputError(f"{fn} draws {expected} curves from a result with a curve .table "
                         f"(group, time, estimate); got {name}")
    raise InputError(f"{fn} draws {expected} curves, and this {name} is a {what} result: "
                     f"draw it with {PLOT_FOR[what]}")


def check_labels(labels, groups, fn: str, what: str = "group") -> None:
    """Refuse display labels for groups (or causes) the result does not have: the label
    would be ignored without a word (e.g. ``labels={"ATO": ...}`` for the group
    ``"ATO-based"``)."""
    if labels is None:
        return
    if not hasattr(labels, "keys"):
        raise InputError(f"{fn}: labels must be a mapping {{{what}: label}}; got "
                         f"{type(labels).__name__}")
    known = list(groups)
    unknown = [k for k in labels.keys() if not any(k == g for g in known)]
    if unknown:
        raise InputError(f"{fn}: labels name {what}(s) {', '.join(map(repr, unknown))} that "
                         f"the result does not have; its {what}s are "
                         f"{', '.join(map(repr, known))}")


def _result_groups(result, table: pd.DataFrame) -> list:
    g = getattr(result, "groups", None)
    if g is not None and len(tuple(g)):
        return list(g)
    return list(pd.unique(table["group"]))


def _risk_from_result(result, times) -> pd.DataFrame:
    rt = getattr(result, "risk_table", None)
    if callable(rt):
        return rt(list(times))
    if isinstance(rt, pd.DataFrame):
        return rt
    raise InputError("this result has no risk_table(times); pass risk_table=<DataFrame from "
                     "aplcohort.stats.km.number_at_risk(...)> or risk_table=False")


def _result_data(result):
    """``(time, code, group index)`` arrays a CIFResult keeps for its risk table, or None."""
    d = getattr(result, "_data", None)
    if not (isinstance(d, tuple) and len(d) == 3):
        return None
    return tuple(np.asarray(x) for x in d)


def _sel(tab: pd.DataFrame, g):
    """Rows of group ``g`` (``None`` = the ungrouped curve)."""
    if g is None:
        return tab["group"].isna()
    return tab["group"] == g


def _default_label(g, groups) -> str:
    """"All patients" for the single ungrouped curve (group None / "all"), else str(g)."""
    if len(groups) == 1 and (g is None or g == "all"):
        return "All patients"
    return str(g)


def _fmt_count(v) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return ""
    return str(int(round(float(v))))


# ---------------------------------------------------------------------------- drawing core
def _new_axes(width, height_mm, n_table_lines):
    base_h = height_mm if height_mm is not None else None
    w, h = figure_size(width, base_h, aspect=0.72 if width == "single" else 0.45)
    h_total = h + (n_table_lines * _LINE_IN + 0.35 if n_table_lines else 0.0)
    fig = plt.figure(figsize=(w, h_total))
    ax = fig.add_axes([0.17, 0.0, 0.80, 1.0])
    return ax


def _draw_risk_table(ax, risk: pd.DataFrame, times, groups, labels, styles, rows, unit_xlabel):
    nlines = sum(1 + len(groups) for _ in rows)
    divider = make_axes_locatable(ax)
    size = axes_size.Fixed(nlines * _LINE_IN)  # kept: align_risk_tables may make it taller
    rax = divider.append_axes("bottom", size=size, pad=0.42, sharex=ax)
    _TABLES[rax] = (size, nlines)
    rax.set_label("risk table")
    for sp in rax.spines.values():
        sp.set_visible(False)
    rax.tick_params(axis="both", which="both", length=0, labelbottom=False, labelleft=False)
    # no ticks or tick labels are shown: invisible axes are not laid out at every draw
    rax.xaxis.set_visible(False)
    rax.yaxis.set_visible(False)
    rax.set_ylim(nlines - 0.5, -0.5)
    rax.set_yticks([])
    fs = max(7.0, plt.rcParams["font.size"] - 1)
    line = 0
    trans = rax.get_yaxis_transform()  # x in axes coords, y in data
    lab_trans = mtransforms.offset_copy(trans, fig=rax.figure, x=-16, units="points")
    for row in rows:
        if row not in risk.columns:
            raise InputError(f"risk-table row {row!r} is not a column of the risk table "
                             f"{list(risk.columns)}")
        rax.text(-0.03, line, RISK_ROWS.get(row, row), transform=trans, ha="left", va="center",
                 fontsize=fs, fontweight="bold", clip_on=False, gid=f"risk-title:{row}")
        line += 1
        for g in groups:
            sub = risk[_sel(risk, g)] if "group" in risk.columns else risk
            rax.text(0.0, line, str(labels[g]), transform=lab_trans, ha="right", va="center",
                     fontsize=fs, color=styles[g]["color"], clip_on=False, gid=f"risk-label:{row}:{g}")
            sub_t, sub_v = sub["time"].to_numpy(dtype=float), sub[row].to_numpy()
            for t in times:
                hit = np.flatnonzero(np.isclose(sub_t, float(t)))  # the first row at t
                if not len(hit):
                    raise InputError(f"risk table has no row for group {g!r} at time {t}")
                rax.text(float(t), line, _fmt_count(sub_v[hit[0]]), ha="center", va="center",
                         fontsize=fs, clip_on=False, gid=f"risk:{row}:{g}:{float(t):g}")
            line += 1
    ax.tick_params(labelbottom=True)
    rax.set_xlabel("")
    return rax


#: True inside :func:`deferred_fit`: :func:`fit_inside` only marks the figure.
_DEFER_FIT = False


@contextlib.contextmanager
def deferred_fit():
    """Within this block :func:`fit_inside` marks a figure instead of laying it out; the
    fit is done by :func:`apply_pending_fit`, which :func:`aplcohort.plots.export.save_figure`
    calls before it renders. The fit is the same computation on the same figure, only
    later, so the saved files are the same bytes.

    Why: measuring where everything lies needs one layout pass of every text, about a
    third of the time to draw a figure. The command line saves figures in a forked
    process while the next analyses run (``plan.write.FigurePrerender``); deferred, that
    pass happens there too, not in the process computing the analyses.
    """
    global _DEFER_FIT
    old, _DEFER_FIT = _DEFER_FIT, True
    try:
        yield
    finally:
        _DEFER_FIT = old


def apply_pending_fit(fig) -> None:
    """Do the :func:`fit_inside` that :func:`deferred_fit` postponed (nothing otherwise)."""
    pad = fig.__dict__.pop("_aplcohort_fit_pad", None)
    if pad is not None:
        _fit_inside_now(fig, pad)


def fit_inside(fig, pad_in: float = 0.04) -> None:
    """Resize a figure we made so everything drawn (risk-table labels left of the axes,
    tick labels, y label, legend) lies inside it, with ``pad_in`` inches to spare.

    The axes keep their size in inches (the risk table was sized in inches); the figure
    grows or shrinks around them, as ``bbox_inches="tight"`` would crop it when saving.
    After this, ``fig.savefig(path)`` cuts nothing off. Inside :func:`deferred_fit`
    the figure is only marked, and fitted when saved.
    """
    if _DEFER_FIT:
        fig._aplcohort_fit_pad = pad_in
        return
    _fit_inside_now(fig, pad_in)


def _fit_inside_now(fig, pad_in: float) -> None:
    from .style import limit_figure_texts
    limit_figure_texts(fig)  # a 5000-character label would make the figure 160 inches wide
    # get_tightbbox lays every artist out (tick labels, legend, risk-table texts, axes
    # locators) itself: a draw_without_rendering first would lay the figure out twice
    bb = fig.get_tightbbox(fig.canvas.get_renderer())  # inches
    W, H = fig.get_size_inches()
    if (bb.x0 >= pad_in and bb.y0 >= pad_in and bb.x1 <= W - pad_in and bb.y1 <= H - pad_in
            and bb.x0 <= 2 * pad_in and bb.y0 <= 2 * pad_in):
        return
    W2, H2 = bb.width + 2 * pad_in, bb.height + 2 * pad_in
    dx, dy = pad_in - bb.x0, pad_in - bb.y0
    for a in fig.axes:
        if a.get_label() == "risk table":
            continue  # placed by its curve axes' divider
        p = a.get_position(original=True)
        a.set_position([(p.x0 * W + dx) / W2, (p.y0 * H + dy) / H2, p.width * W / W2,
                        p.height * H / H2])
    fig.set_size_inches(W2, H2)


def _risk_pairs(fig):
    """[(curve axes, risk-table axes)] of a figure."""
    pairs = []
    for rax in fig.axes:
        if rax.get_label() != "risk table":
            continue
        for a in rax.get_shared_x_axes().get_siblings(rax):
            if a is not rax and a.get_label() != "risk table":
                pairs.append((a, rax))
                break
    return pairs


def align_risk_tables(fig, pad_pt: float = 6.0) -> None:
    """Line up the KM / CIF panels of a grid and keep their risk-table labels apart.

    * Panels of one row get risk tables of the same height (the tallest; a table with
      fewer groups keeps its lines at the top and blank space below), so their curve
      axes, x axes and table rows line up even when the panels have different numbers
      of groups.
    * Each risk table prints its group labels left of its axes, where the panel to the
      left has its last column of numbers: a panel whose labels would overlap that
      panel (or stick out of the figure) is narrowed from the left, keeping its right
      edge, until ``pad_pt`` points separate them; every panel of the same grid column
      is narrowed by the same amount, so the columns' x axes stay aligned.

    Called by :func:`plot_km` / :func:`plot_cif` whenever they draw into a figure with
    other panels; call it again after changing a layout by hand.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> from aplcohort.stats.km import kaplan_meier
    >>> km = kaplan_meier([5, 8, 12, 20, 3, 9], [1, 0, 1, 0, 1, 1], ["ATO-based"] * 3 + ["IC"] * 3)
    >>> fig, (a1, a2) = plt.subplots(1, 2, figsize=(6, 3))
    >>> _ = plot_km(km, a1); _ = plot_km(km, a2)
    >>> align_risk_tables(fig)   # nothing left to move
    """
    pairs = _risk_pairs(fig)
    if not pairs:
        return
    from .style import limit_figure_texts
    limit_figure_texts(fig)  # labels measured below as they will be drawn

    def base(ax):
        """Grid cell of a panel: (row key, column key, position before any narrowing)."""
        ss = ax.get_subplotspec() if hasattr(ax, "get_subplotspec") else None
        if ss is not None:
            gs = id(ss.get_gridspec())
            return ((gs, ss.rowspan.start, ss.rowspan.stop),
                    (gs, ss.colspan.start, ss.colspan.stop), ss.get_position(fig))
        p = ax.get_position(original=True)  # placed by hand: its own place is the base
        return ((round(p.y0, 3), round(p.height, 3)), (round(p.x0, 3), round(p.width, 3)), p)
    cells = {ax: base(ax) for ax, _ in pairs}
    rows: dict = {}
    for ax, rax in pairs:
        rows.setdefault(cells[ax][0], []).append(rax)
    for raxes in rows.values():
        known = [r for r in raxes if r in _TABLES]
        if len(known) < 2:
            continue
        most = max(_TABLES[r][1] for r in known)
        for r in known:
            size, _n = _TABLES[r]
            size.fixed_size = most * _LINE_IN
            r.set_ylim(most - 0.5, -0.5)   # lines stay at the top

    fig.draw_without_rendering()
    r = fig.canvas.get_renderer()
    W = fig.get_size_inches()[0] * fig.dpi
    pad = pad_pt * fig.dpi / 72.0
    need = {}
    for ax, rax in pairs:
        labels = [t for t in rax.texts if (t.get_gid() or "").startswith(("risk-label:", "risk-title:"))]
        if not labels:
            continue
        lab_x0 = min(t.get_window_extent(r).x0 for t in labels)
        rb = rax.get_window_extent(r)
        cb = ax.get_window_extent(r)
        y0, y1 = min(rb.y0, cb.y0), max(rb.y1, cb.y1)
        limit = 0.0
        for other in fig.axes:
            if other is ax or other is rax:
                continue
            ob = other.get_tightbbox(r)
            if ob is None or ob.x1 > cb.x0 or ob.y1 < y0 or ob.y0 > y1:
                continue  # not a panel to the left in the same row
            limit = max(limit, ob.x1)
        # shift from the panel's grid cell (it may have been narrowed by an earlier call)
        done = (ax.get_position(original=True).x0 - cells[ax][2].x0) * W
        need[ax] = (limit + pad) - lab_x0 + done
    # the panels to the left keep their right edges, so every need is known in one pass;
    # a grid column moves together, by the largest need of its panels
    cols: dict = {}
    for ax in need:
        cols.setdefault(cells[ax][1], []).append(ax)
    moved = False
    for axes in cols.values():
        dx = max(max(need[a] for a in axes), 0.0) / W
        for a in axes:
            b, cur = cells[a][2], a.get_position(original=True)
            new = [b.x0 + dx, cur.y0, max(b.x1 - b.x0 - dx, 0.05), cur.height]
            if not np.allclose(new, [cur.x0, cur.y0, cur.width, cur.height]):
                a.set_position(new)
                moved = True
    if moved:
        fig.draw_without_rendering()


def _finish_axes(ax, times, xlabel, ylabel, ylim, title):
    ax.set_xticks(times)
    ax.set_xlim(0, float(times[-1]) if len(times) > 1 else None)
    ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:g}"))
    ax.set_ylim(*ylim)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title, loc="left")


_CORNERS = {"lower right": (0.98, 0.04, "right", "bottom"),
            "upper right": (0.98, 0.98, "right", "top"),
            "lower left": (0.02, 0.04, "left", "bottom"),
            "upper left": (0.02, 0.98, "left", "top"),
            "center right": (0.98, 0.5, "right", "center"),
            "center left": (0.02, 0.5, "left", "center")}


def _annotate(ax, lines, loc):
    if not lines:
        return None
    if loc not in _CORNERS:
        raise InputError(f"annotation_loc must be 'auto' or one of {list(_CORNERS)}; got {loc!r}")
    x, y, ha, va = _CORNERS[loc]
    return ax.text(x, y, "\n".join(lines), transform=ax.transAxes, ha=ha, va=va,
                   gid="annotation", linespacing=1.3)


def _curve_points(curves, xlim, ylim, n=400) -> np.ndarray:
    """Points (axes fraction) along step curves, for choosing free corners."""
    pts = []
    x0, x1 = xlim
    y0, y1 = ylim
    grid = np.linspace(x0, x1, n)
    for x, y in curves:
        x = np.asarray(x, float)
        y = np.asarray(y, float)
        if x.size == 0:
            continue
        idx = np.searchsorted(x, grid, side="right") - 1
        ok = (idx >= 0) & (grid <= x.max())
        gy = y[np.maximum(idx, 0)]
        pts.append(np.c_[grid[ok], gy[ok]])
        for i in range(1, x.size):  # vertical parts of the steps
            if np.isfinite(y[i]) and np.isfinite(y[i - 1]) and y[i] != y[i - 1]:
                vy = np.linspace(y[i - 1], y[i], 12)
                pts.append(np.c_[np.full(vy.size, x[i]), vy])
    if not pts:
        return np.empty((0, 2))
    p = np.vstack(pts)
    p = p[np.isfinite(p).all(axis=1)]
    return np.c_[(p[:, 0] - x0) / (x1 - x0), (p[:, 1] - y0) / (y1 - y0)]


def _box(loc, w, h):
    x, y, ha, va = _CORNERS[loc]
    bx0 = x - w if ha == "right" else x
    by0 = y - h if va == "top" else (y - h / 2 if va == "center" else y)
    return bx0, by0, bx0 + w, by0 + h


def _choose_corner(points, w, h, prefs, taken=None):
    """First corner in ``prefs`` whose box (w x h, axes fraction) hits the fewest points
    and does not overlap the box ``taken`` (deterministic)."""
    best, best_n = prefs[0], None
    for loc in prefs:
        b = _box(loc, w, h)
        if taken is not None:
            t = taken
            if not (b[2] <= t[0] or t[2] <= b[0] or b[3] <= t[1] or t[3] <= b[1]):
                continue
        pad = 0.015
        inside = ((points[:, 0] >= b[0] - pad) & (points[:, 0] <= b[2] + pad)
                  & (points[:, 1] >= b[1] - pad) & (points[:, 1] <= b[3] + pad))
        k = int(inside.sum())
        if best_n is None or k < best_n:
            best, best_n = loc, k
        if k == 0:
            break
    return best


def _place(ax, curves, xlim, ylim, legend_labels, legend_title, ann_lines, legend_loc,
           annotation_loc, table_in):
    """Resolve 'auto' legend / annotation corners so neither covers the curves."""
    fig = ax.figure
    bb = ax.get_position()
    w_in = bb.width * fig.get_size_inches()[0]
    h_in = bb.height * fig.get_size_inches()[1] - table_in
    h_in = max(h_in, 0.8)
    fs = max(7.0, plt.rcParams["font.size"] - 1)
    cw = 0.56 * fs / 72.0
    lh = 1.55 * fs / 72.0
    pts = _curve_points(curves, xlim, ylim)
    leg_box = None
    if legend_loc == "auto":
        nl = len(legend_labels) + (1 if legend_title else 0)
        lw = max([len(t) for t in legend_labels] + [len(legend_title or "")]) * cw + 3.6 * fs / 72
        legend_loc = _choose_corner(pts, lw / w_in + 0.02, nl * lh / h_in + 0.03,
                                    ["lower left", "upper right", "lower right", "upper left",
                                     "center left", "center right"])
    if legend_loc in _CORNERS:
        nl = len(legend_labels) + (1 if legend_title else 0)
        lw = max([len(t) for t in legend_labels] + [len(legend_title or "")]) * cw + 3.6 * fs / 72
        leg_box = _box(legend_loc, lw / w_in + 0.02, nl * lh / h_in + 0.03)
    if annotation_loc == "auto":
        aw = (max([len(t) for t in ann_lines] + [1]) * 0.58 * plt.rcParams["font.size"] / 72) / w_in
        ah = len(ann_lines) * 1.4 * plt.rcParams["font.size"] / 72 / h_in
        annotation_loc = _choose_corner(pts, aw + 0.02, ah + 0.02,
                                        ["upper right", "lower right", "lower left", "upper left",
                                         "center right", "center left"], taken=leg_box)
    return legend_loc, annotation_loc


def _step_xy(t, y, start_y, start_t=0.0):
    t = np.asarray(t, float)
    y = np.asarray(y, float)
    if len(t) == 0 or t[0] > start_t:
        t = np.r_[start_t, t]
        y = np.r_[start_y, y]
    return t, y


def plot_km(result, ax=None, *, times=None, risk_table=True, risk_rows=("n_risk",), ci=False,
            censor_marks=True, pvalue=None, pvalue_test=None, hr=None, hr_term=None,
            hr_label="HR", median_legend=True, median_lines=False, time_unit="months",
            xlabel=None, ylabel=None, order=None, labels=None, colors=None,
            linestyles=None, ylim=(0.0, 1.03), legend_loc="auto",
            annotation_loc="auto", title=None, width="single", height_mm=None,
            decimals=1, percent=False, show_n=True, palette=None):
    """Kaplan–Meier curves with censor marks, CI bands, medians, p / HR and risk table.

    Parameters
    ----------
    result : KMResult
        From :func:`aplcohort.stats.km.kaplan_meier` (or ``simon_makuch``).
    ax : Axes, optional
        Draw here (the risk table is appended under it); else a journal-size figure
        is made inside :func:`~aplcohort.plots.style.journal_style`.
    times : sequence of float, optional
        x ticks and risk-table columns (default: about 6 round numbers covering follow-up).
    risk_table : bool or DataFrame
        ``True``: ``result.risk_table(times)``; a DataFrame with columns
        [group, time, n_risk, ...] (e.g. from ``number_at_risk``); ``False``: none.
    risk_rows : sequence of {"n_risk", "cum_events", "cum_censored"}
    ci : bool
        Shade the pointwise confidence band (the result's ``conf_type``).
    pvalue : LogRankResult / TestResult / float, optional
        Annotated as ``"<Test> p = ..."``; a float needs ``pvalue_test``.
    hr, hr_term, hr_label : CoxResult, term name, "HR" / "SHR"
        Annotated as ``"HR 0.64 (95% CI 0.49–0.83)"``.
    ylabel : str, optional
        The endpoint, e.g. "Overall survival", "Relapse-free survival" (the plan passes
        the endpoint's label). Default "Survival probability": a KM curve does not
        know which endpoint it estimates, so it does not guess.
    median_legend : bool
        Legend entries ``"<group> (n = N): median (95% CI)"`` from ``result.median()``.
    median_lines : bool
        Dotted lines at S = 0.5 down to each reached median.
    time_unit : {"days", "weeks", "months", "years"}
        The unit the result's times are in (axis label only; no conversion).
    order, labels, colors, linestyles
        Group order, display labels {group: label}, colours / line styles
        (sequence in order or mapping).
    palette : Palette, optional
        Colour and line style per group level shared by every figure of a run
        (:class:`~aplcohort.plots.style.Palette`); ``colors`` / ``linestyles`` win.
    legend_loc, annotation_loc : "auto" or a corner ("lower left", "upper right", ...)
        "auto" (default) puts each in the first corner its box leaves the curves free
        (deterministic; preference: legend lower left, annotation upper right).
    percent : bool
        y axis in percent.

    Returns
    -------
    Axes
        The curve axes; ``ax.figure`` is the figure; the risk table is the axes
        labelled ``"risk table"`` in ``ax.figure.axes``.

    Examples
    --------
    >>> from aplcohort.stats.km import kaplan_meier
    >>> km = kaplan_meier([5, 8, 12, 20, 3, 9], [1, 0, 1, 0, 1, 1], ["A"] * 3 + ["B"] * 3)
    >>> ax = plot_km(km, times=[0, 5, 10, 15, 20])
    >>> [t.get_text() for t in ax.figure.axes[1].texts if t.get_gid() == "risk:n_risk:A:10"]
    ['1']

    Validated against: the numbers drawn are read back from the figure in
    ``tests/test_plots_survival.py`` and compared with ``number_at_risk`` / ``median``.
    """
    _check_unit(time_unit)
    check_curve_kind(result, "plot_km", "survival")
    decimals = check_decimals("decimals", decimals)
    table = result.table
    check_labels(labels, _result_groups(result, table), "plot_km")
    groups = ordered_groups(_result_groups(result, table), order)
    with journal_style():
        tmax = float(table["time"].max()) if len(table) else 0.0
        times = default_ticks(tmax) if times is None else np.asarray(times, float)
        if np.any(np.diff(times) <= 0) or times[0] < 0:
            raise InputError(f"times must be increasing and >= 0; got {times.tolist()}")
        rows = tuple(risk_rows) if risk_table is not False else ()
        own_fig = ax is None
        if ax is None:
            ax = _new_axes(width, height_mm, sum(1 + len(groups) for _ in rows))
        lab = {g: group_label((labels or {}).get(g, _default_label(g, groups))) for g in groups}
        styles = group_styles(groups, colors, linestyles, palette=palette)
        med = result.median() if median_legend or median_lines else None
        scale = 100.0 if percent else 1.0
        curves, leg_labels = [], []
        for g in groups:
            sub = table[table["group"] == g].sort_values("time")
            st = styles[g]
            t_start = float(getattr(result, "start_time", 0.0) or 0.0)
            x, y = _step_xy(sub["time"], sub["estimate"], 1.0, t_start)
            text = lab[g]
            if med is not None and median_legend:
                mrow = med[med["group"] == g].iloc[0]
                n = f" (n = {int(mrow['n'])})" if show_n else ""
                text = f"{lab[g]}{n}: {median_label(mrow, decimals)}"
            elif show_n:
                text = f"{lab[g]} (n = {int(sub['n_risk'].iloc[0])})" if len(sub) else lab[g]
            ax.step(x, y * scale, where="post", color=st["color"], linestyle=st["linestyle"],
                    label=text, gid=f"curve:{g}")
            curves.append((x, y * scale))
            leg_labels.append(text)
            if ci:
                _, lo = _step_xy(sub["time"], sub["lower"].ffill(), 1.0, t_start)
                _, hi = _step_xy(sub["time"], sub["upper"].ffill(), 1.0, t_start)
                ax.fill_between(x, lo * scale, hi * scale, step="post", color=st["color"],
                                alpha=0.15, linewidth=0, gid=f"ci:{g}")
            if censor_marks:
                c = sub[sub["n_censor"] > 0]
                ax.plot(c["time"], c["estimate"] * scale, linestyle="none", marker="|",
                        markersize=4.5, markeredgewidth=0.9, color=st["color"], gid=f"censor:{g}")
            if median_lines and med is not None:
                m = med[med["group"] == g]["median"].iloc[0]
                if np.isfinite(m):
                    ax.plot([0, m, m], [0.5 * scale, 0.5 * scale, 0], color="0.45",
                            linestyle=(0, (1, 1.5)), linewidth=0.8, gid=f"median:{g}")
        ann = []
        if hr is not None:
            ann.append(hr_text(hr, hr_term, hr_label))
        if pvalue is not None:
            ann.append(pvalue_text(pvalue, pvalue_test))
        leg_title = (f"Median ({_conf_level(result)} CI), {time_unit}"
                     if med is not None and median_legend else None)
        table_in = (sum(1 + len(groups) for _ in rows) * _LINE_IN + 0.42) if rows else 0.0
        legend_loc, annotation_loc = _place(
            ax, curves, (0.0, float(times[-1])), (ylim[0] * scale, ylim[1] * scale), leg_labels,
            leg_title, ann, legend_loc, annotation_loc, table_in)
        _annotate(ax, ann, annotation_loc)
        ax.legend(loc=legend_loc, title=leg_title, handlelength=2.6, borderaxespad=0.3, frameon=True,
                  facecolor="white", edgecolor="none", framealpha=0.85,
                  alignment="left")
        _finish_axes(ax, times, xlabel or f"Time ({time_unit})",
                     (ylabel or "Survival probability") + (" (%)" if percent else ""),
                     (ylim[0] * scale, ylim[1] * scale), title)
        if rows:
            risk = risk_table if isinstance(risk_table, pd.DataFrame) else _risk_from_result(result, times)
            _draw_risk_table(ax, risk, times, groups, lab, styles, rows, None)
        if own_fig:
            fit_inside(ax.figure)
        elif rows and len(_risk_pairs(ax.figure)) > 1:
            align_risk_tables(ax.figure)
    return ax


def plot_cif(result, ax=None, *, cause=1, causes=None, stacked=False, group=None, times=None,
             data=None, risk_table=None, risk_rows=("n_risk",), ci=False, censor_marks=True, pvalue=None, pvalue_test=None,
             hr=None, hr_term=None, hr_label="SHR", time_unit="months", xlabel=None,
             ylabel="Cumulative incidence", order=None, labels=None, colors=None, linestyles=None,
             cause_labels=None, ylim=None, legend_loc="auto",
             annotation_loc="auto", title=None, width="single", height_mm=None,
             percent=False, palette=None, inset="auto"):
    """Cumulative incidence curves (one cause by group, or stacked causes) + risk table.

    Parameters
    ----------
    result : CIFResult
        From :func:`aplcohort.stats.competing.cumulative_incidence`; ``.table`` has
        the shared curve shape [group, cause, time, estimate, std_err, lower, upper,
        n_risk, n_event, n_censor].
    cause : int
        The cause drawn by group (``stacked=False``).
    causes, stacked, group
        ``stacked=True`` draws the causes ``causes`` (default all) of one ``group``
        (default: the only one) stacked on top of one another (areas).
    data : (time, code, group) arrays, optional
        The data the result was estimated from. Gives censor marks (at censored times,
        on the curve) and, unless ``risk_table`` is given, the number at risk from
        :func:`aplcohort.stats.km.number_at_risk` with any event leaving the risk set.
    risk_table : DataFrame or None or False
        At-risk numbers, e.g. ``number_at_risk(time, code > 0, times, group)``;
        ``None``: from ``data`` if given, else ``result.risk_table(times)`` if the
        result has it, else no table; ``False``: none.
    cause_labels : mapping {cause: label}
    ylim : (low, high), optional
        Default: 0 to :func:`cif_upper_limit` of the highest curve drawn (its CI too
        with ``ci=True``), e.g. 0–0.2 for a non-relapse mortality of 17 %. The x axis
        is set a few points below 0 so a curve that stays at 0 is seen, not hidden in
        the axis line.
    inset : "auto", bool
        A zoomed inset (same curves on 0 to :func:`inset_upper_limit` of the highest
        curve) in the free upper part of the axes. ``"auto"``: drawn when the curves
        are near zero, i.e. every curve stays below a quarter of the y axis (a 0–1 axis
        asked for with ``ylim=``, or curves under 1.25 % on the smallest automatic axis,
        0–0.05) and at least one rises above 0 (:func:`needs_inset`); ``True``: whenever
        a curve rises above 0; ``False``: never. Not drawn for ``stacked=True``. The
        inset axes has the label ``"cif inset"``, its curves gids ``"inset:<group>"``.
    Other parameters as :func:`plot_km`.

    The risk table comes from the result alone (``result.risk_table(times)``, every
    :func:`~aplcohort.stats.competing.cumulative_incidence` result has it), censor marks
    from the censored times the result keeps. ``data=`` is no longer needed for either.

    Returns
    -------
    Axes

    Validated against: curve heights are ``result.table`` (cmprsk ``cuminc``, checked
    in the competing-risks tests); risk table from ``number_at_risk``.
    """
    _check_unit(time_unit)
    check_curve_kind(result, "plot_cif", "cumulative incidence")
    tab = result.table
    all_groups = _result_groups(result, tab)
    check_labels(labels, all_groups, "plot_cif")
    check_labels(cause_labels, pd.unique(tab["cause"].dropna()).tolist(), "plot_cif", "cause")
    scale = 100.0 if percent else 1.0
    with journal_style():
        tmax = float(tab["time"].max()) if len(tab) else 0.0
        times = default_ticks(tmax) if times is None else np.asarray(times, float)
        if stacked:
            if group is None:
                if len(all_groups) != 1:
                    raise InputError(f"stacked=True draws one group; choose group= from {all_groups}")
                group = all_groups[0]
            groups = [group]
        else:
            groups = ordered_groups(all_groups, order)
            present = sorted(pd.unique(tab["cause"].dropna()).tolist())
            if cause not in present:
                raise InputError(f"cause {cause} is not in the result; its causes are "
                                 f"{', '.join(map(str, present)) or 'none'} (the codes of "
                                 "the event column)")
        risk = None
        if data is not None:
            if len(data) != 3:
                raise InputError("data must be (time, code, group); use group=None for one curve")
            d_t = np.asarray(data[0], float)
            d_c = np.asarray(data[1])
            d_g = None if data[2] is None else np.asarray(data[2], dtype=object)
        if isinstance(risk_table, pd.DataFrame):
            risk = risk_table
        elif risk_table is None and data is not None:
            from ..stats.km import number_at_risk
            risk = number_at_risk(d_t, d_c > 0, times, d_g, order=[g for g in all_groups
                                                                    if g is not None] or None)
            if d_g is None:
                risk = risk.assign(group=[all_groups[0]] * len(risk))
        elif risk_table is None and callable(getattr(result, "risk_table", None)):
            try:
                risk = result.risk_table(list(times))
            except (TypeError, ValueError):  # a result built without its data
                risk = None
        elif risk_table is True:
            risk = _risk_from_result(result, times)
        rows = tuple(risk_rows) if risk is not None else ()
        own_fig = ax is None
        if ax is None:
            ax = _new_axes(width, height_mm, sum(1 + len(groups) for _ in rows))
        lab = {g: group_label((labels or {}).get(g, _default_label(g, all_groups)))
               for g in groups}
        styles = group_styles(groups, colors, linestyles, palette=palette)
        curves, leg_labels = [], []
        if stacked:
            sub = tab[_sel(tab, group)]
            cs = sorted(sub["cause"].unique()) if causes is None else list(causes)
            grid = np.unique(np.r_[0.0, sub["time"].to_numpy(float)])
            cstyles = group_styles(cs, colors, linestyles)
            base = np.zeros_like(grid)
            for c in cs:
                sc = sub[sub["cause"] == c].sort_values("time")
                if sc.empty:
                    raise InputError(f"cause {c!r} not in the result for group {group!r}")
                idx = np.searchsorted(sc["time"].to_numpy(float), grid, side="right") - 1
                est = np.where(idx >= 0, sc["estimate"].to_numpy(float)[np.maximum(idx, 0)], 0.0)
                top = base + est
                name = (cause_labels or {}).get(c, f"Cause {c}")
                ax.fill_between(grid, base * scale, top * scale, step="post",
                                facecolor=cstyles[c]["color"], alpha=0.55, linewidth=0,
                                hatch=HATCHES[cs.index(c) % len(HATCHES)], edgecolor="0.3",
                                label=name, gid=f"stack:{c}")
                ax.step(grid, top * scale, where="post", color=cstyles[c]["color"], linewidth=1.0,
                        gid=f"curve:{group}:{c}")
                curves.append((grid, top * scale))
                leg_labels.append(name)
                if c == cs[-1]:  # the filled area below the top curve is occupied too
                    for frac in np.linspace(0, 1, 9)[1:-1]:
                        curves.append((grid, top * scale * frac))
                base = top
        else:
            for g in groups:
                sc = tab[_sel(tab, g) & (tab["cause"] == cause)].sort_values("time")
                st = styles[g]
                x, y = _step_xy(sc["time"], sc["estimate"], 0.0)
                ax.step(x, y * scale, where="post", color=st["color"], linestyle=st["linestyle"],
                        label=lab[g], gid=f"curve:{g}")
                curves.append((x, y * scale))
                leg_labels.append(lab[g])
                if censor_marks and data is not None:
                    gm = np.ones(d_t.size, bool) if g is None or d_g is None else (d_g == g)
                    ct = np.unique(d_t[gm & (d_c == 0)])
                    idx = np.searchsorted(sc["time"].to_numpy(float), ct, side="right") - 1
                    cy = sc["estimate"].to_numpy(float)[np.maximum(idx, 0)]
                    ax.plot(ct, cy * scale, linestyle="none", marker="|", markersize=4.5,
                            markeredgewidth=0.9, color=st["color"], gid=f"censor:{g}")
                elif censor_marks and _result_data(result) is not None:
                    # censored times from the data the result keeps (its table has rows at
                    # event times only, so its n_censor cannot place the marks)
                    r_t, r_c, r_g = _result_data(result)
                    gi = list(result.groups).index(g) if g in tuple(result.groups) else None
                    gm = np.ones(r_t.size, bool) if gi is None else (r_g == gi)
                    ct = np.unique(r_t[gm & (r_c == 0)])
                    idx = np.searchsorted(sc["time"].to_numpy(float), ct, side="right") - 1
                    cy = sc["estimate"].to_numpy(float)[np.maximum(idx, 0)]
                    ax.plot(ct, cy * scale, linestyle="none", marker="|", markersize=4.5,
                            markeredgewidth=0.9, color=st["color"], gid=f"censor:{g}")
                if ci:
                    _, lo = _step_xy(sc["time"], sc["lower"].fillna(0.0), 0.0)
                    _, hi = _step_xy(sc["time"], sc["upper"].fillna(0.0), 0.0)
                    ax.fill_between(x, lo * scale, hi * scale, step="post", color=st["color"],
                                    alpha=0.15, linewidth=0, gid=f"ci:{g}")
        ann = []
        if hr is not None:
            ann.append(hr_text(hr, hr_term, hr_label))
        if pvalue is not None:
            ann.append(pvalue_text(pvalue, pvalue_test))
        auto_ylim = ylim is None
        if auto_ylim:
            top = max([float(np.nanmax(y)) / scale for _x, y in curves if len(y)] + [0.0])
            if ci and not stacked:
                for g in groups:
                    up = tab[_sel(tab, g) & (tab["cause"] == cause)]["upper"]
                    if up.notna().any():
                        top = max(top, float(up.max()))
            ylim = (0.0, cif_upper_limit(top))
        table_in = (sum(1 + len(groups) for _ in rows) * _LINE_IN + 0.42) if rows else 0.0
        peak = max([float(np.nanmax(y)) / scale for _x, y in curves if len(y)] + [0.0])
        if inset not in ("auto", True, False):
            raise InputError(f"inset must be 'auto', True or False; got {inset!r}")
        draw_inset = (not stacked and peak > 0
                      and (inset is True or (inset == "auto" and needs_inset(peak, ylim[1]))))
        place_curves = list(curves)
        if draw_inset:
            # the inset's box is taken: legend and p-value go elsewhere
            x1 = float(times[-1])
            bx0, by0, bw, bh = _INSET_BOX
            ys = np.linspace(ylim[0] + by0 * (ylim[1] - ylim[0]),
                             ylim[0] + (by0 + bh) * (ylim[1] - ylim[0]), 12) * scale
            gx = np.linspace(bx0 * x1, (bx0 + bw) * x1, 60)
            place_curves += [(gx, np.full(gx.size, yy)) for yy in ys]
        legend_loc, annotation_loc = _place(
            ax, place_curves, (0.0, float(times[-1])), (ylim[0] * scale, ylim[1] * scale),
            leg_labels, None, ann, legend_loc, annotation_loc, table_in)
        _annotate(ax, ann, annotation_loc)
        ax.legend(loc=legend_loc, handlelength=2.6, borderaxespad=0.3, frameon=False)
        _finish_axes(ax, times, xlabel or f"Time ({time_unit})", ylabel + (" (%)" if percent else ""),
                     (ylim[0] * scale, ylim[1] * scale), title)
        if auto_ylim:
            # a curve at 0 (no event in a group) would lie on the x axis line: move the axis
            # line a few points down so it shows
            ax.spines["bottom"].set_position(("outward", 3))
        if draw_inset:
            _draw_inset(ax, tab, groups, cause, styles, lab, peak, times, scale, percent)
        if rows:
            _draw_risk_table(ax, risk, times, groups, lab, styles, rows, None)
        if own_fig:
            fit_inside(ax.figure)
        elif rows and len(_risk_pairs(ax.figure)) > 1:
            align_risk_tables(ax.figure)
    return ax


def plot_simon_makuch(result, ax=None, *, times=None,
                      risk_rows=("n_risk", "cum_entered"), pvalue="auto", labels=None,
                      ylabel=None, censor_marks=False, **kwargs):
    """Simon–Makuch curves (KM by current exposure on (start, stop] data).

    Parameters
    ----------
    result : SimonMakuchResult
        From :func:`aplcohort.stats.timedep.simon_makuch` (or a KMResult with entry times
        and a risk table).
    risk_rows : sequence
        ``"n_risk"`` (patients in each curve at the start of the interval),
        ``"cum_entered"`` (moved into the curve so far, e.g. transplanted),
        ``"cum_switched_out"`` (moved to the other curve), ``"cum_events"``,
        ``"cum_censored"`` — all from ``result.risk_table(times)``.
    pvalue : "auto", a test result, float or None
        "auto" annotates the result's Mantel–Byar test when it has one.
    labels : mapping {group: label}
        Default for 0/1 groups: "not <exposure>" / "<exposure>". A label of an
        exposure state (0 / 1) that has no curve (only one state occurs: nobody
        exposed during follow-up, or everyone exposed from the start; see the
        result's ``note``) is not used: the one curve that exists is drawn.
    censor_marks : bool
        Off by default: a switch of curve ends an interval without an event and would
        be drawn as a censoring.
    Other parameters as :func:`plot_km` (median legend entries off by default).

    Returns
    -------
    Axes

    Validated against: curves and risk table are the result's (R survfit on
    (start, stop] data, checked in the time-dependent tests); values read back in
    ``tests/test_plots_survival.py``.
    """
    kwargs.setdefault("median_legend", False)
    kwargs.setdefault("show_n", False)  # patients move between curves: no fixed n per curve
    table = result.table
    with journal_style():
        tmax = float(table["time"].max()) if len(table) else 0.0
        times = default_ticks(tmax) if times is None else np.asarray(times, float)
    risk = kwargs.pop("risk_table", True)
    if risk is True:
        risk = _risk_from_result(result, times)
    if isinstance(risk, pd.DataFrame):
        missing = [r for r in risk_rows if r not in risk.columns]
        if missing:
            raise InputError(f"risk rows {missing} are not in the result's risk table "
                             f"{list(risk.columns)}")
    if isinstance(pvalue, str) and pvalue == "auto":
        pvalue = getattr(result, "mantel_byar", None)
    exp = getattr(result, "exposure", None)
    groups = _result_groups(result, table)
    if labels is None and exp and set(groups) <= {0, 1, False, True}:
        labels = {g: (exp if g else f"not {exp}") for g in groups}
    elif hasattr(labels, "keys") and len(groups) == 1 and set(groups) <= {0, 1}:
        # one exposure state only: the other state's label names a curve that does not
        # exist here (the result's note says why); any other unknown key is still refused
        labels = {k: v for k, v in labels.items()
                  if any(k == g for g in groups) or not any(k == s for s in (0, 1))}
    return plot_km(result, ax, times=times, risk_table=risk, risk_rows=risk_rows, ylabel=ylabel,
                   pvalue=pvalue, labels=labels, censor_marks=censor_marks, **kwargs)


def risk_table_values(ax) -> pd.DataFrame:
    """Read the printed risk table back from a plot: DataFrame [row, group, time, text].

    Examples
    --------
    >>> # df = risk_table_values(plot_km(km)); df[df.row == "n_risk"]
    """
    recs = []
    for a in ax.figure.axes:
        for t in a.texts:
            gid = t.get_gid() or ""
            if gid.startswith("risk:"):
                _, row, g, tm = gid.split(":", 3)
                recs.append({"row": row, "group": g, "time": float(tm), "text": t.get_text(),
                             "x": t.get_position()[0]})
    return pd.DataFrame(recs, columns=["row", "group", "time", "text", "x"])
