"""Balance and overlap figures for propensity-score analyses.

* :func:`love_plot_frame` (pure) turns a :class:`aplcohort.adjust.BalanceResult`
  into one row per covariate / level / comparison with the unadjusted and
  adjusted SMD; :func:`love_plot` draws it (dots = unadjusted, filled = adjusted,
  dashed lines at +-threshold). Markers carry gids ``"smd:<sample>:<row>"``.
* :func:`ps_histogram_frame` (pure) bins propensity scores by group;
  :func:`ps_histogram` draws the mirrored histogram (a group's patients above
  the axis, the comparison group below), one panel per score for more than
  two groups. Bars carry gids ``"bar:<panel>:<side>:<bin>"``.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ..errors import InputError
from .style import figure_size, journal_style

#: Colour of "all other groups" in a propensity histogram of more than two groups
#: (a grey: it is not a group level of the run).
OTHERS_COLOR = "#4D4D4D"

__all__ = ["love_plot_frame", "love_plot", "ps_histogram_frame", "ps_histogram"]


def love_plot_frame(balance, absolute=True, labels=None) -> pd.DataFrame:
    """Rows ``[label, comparison, unadjusted, adjusted]`` in plotting order (top first).

    ``absolute`` takes |SMD|; ``labels`` maps covariate names to display labels.
    Rows are sorted by the unadjusted value, largest on top (as cobalt does).
    """
    t = balance.table
    if t.empty:
        raise InputError("the balance table is empty")
    labels = labels or {}

    def lab(r):
        base = labels.get(r["covariate"], r["covariate"])
        return f"{base}: {r['level']}" if r["level"] != "" else base
    piv = t.assign(label=t.apply(lab, axis=1)).pivot_table(
        index=["label", "comparison"], columns="sample", values="smd", sort=False,
        dropna=False).reset_index()
    piv.columns.name = None
    for c in ("unadjusted", "adjusted"):
        if c not in piv.columns:
            piv[c] = np.nan
    if absolute:
        piv[["unadjusted", "adjusted"]] = piv[["unadjusted", "adjusted"]].abs()
    piv = piv.sort_values("unadjusted", ascending=False, kind="stable").reset_index(drop=True)
    return piv[["label", "comparison", "unadjusted", "adjusted"]]


def _comparison_levels(balance, comparison):
    """``(treated, control)`` levels of a ``"<treated> vs <control>"`` comparison."""
    groups = list(getattr(balance, "groups", ()) or ())
    for a in groups:
        for b in groups:
            if a != b and f"{a} vs {b}" == str(comparison):
                return a, b
    head, _, tail = str(comparison).partition(" vs ")
    return head, tail


def love_plot(balance, *, threshold=0.1, absolute=True, labels=None, ax=None,
              adjusted_label=None, palette=None, level_labels=None):
    """Love plot of standardised mean differences before and after adjustment.

    Parameters
    ----------
    balance : BalanceResult
    threshold : float
        Reference lines at +-threshold (0.1 by convention).
    absolute : bool
        Plot |SMD|.
    labels : dict, optional
        Display labels of covariates.
    ax : matplotlib Axes, optional
    adjusted_label : str, optional
        Legend text of the adjusted sample (default: the adjustment's description).
    palette : Palette, optional
        The run's palette: each comparison ``"<treated> vs <control>"`` is drawn in the
        colour of its treated level, as that level's curves and bars in every other
        figure of the run; unadjusted = open markers, adjusted = filled markers. Without
        one, a palette of the balance's group levels in order (the same colours a plan
        run without other groups would give).
    level_labels : mapping {level: label}, optional
        Printed names of the group levels in the legend (the run's label resolver).

    Returns
    -------
    matplotlib Figure

    Examples
    --------
    >>> # fig = love_plot(balance(df, "arm", ["age"], psweights(ps, "ATE")), palette=pal)
    """
    from .style import Palette
    fr = love_plot_frame(balance, absolute, labels)
    comps = list(dict.fromkeys(fr["comparison"]))
    multi = len(comps) > 1
    pairs = {c: _comparison_levels(balance, c) for c in comps}
    pal = palette if palette is not None else Palette(
        [g for g in (getattr(balance, "groups", ()) or ())] or [pairs[c][0] for c in comps])
    colour = {c: pal.color(pairs[c][0]) for c in comps}
    # pairwise comparisons of 3+ groups share treated levels: the marker shape is that of
    # the control level, so "auto vs allo" and "auto vs ATO" differ in shape
    shape = {c: (pal.style(pairs[c][1])["marker"] if multi else "o") for c in comps}
    names = dict(level_labels or {})

    def cname(c):
        t, k = pairs[c]
        return f"{names.get(t, t)} vs {names.get(k, k)}"
    ylab = [f"{a} ({cname(c)})" if multi else a for a, c in zip(fr["label"], fr["comparison"])]
    with journal_style():
        if ax is None:
            fig, ax = plt.subplots(figsize=figure_size("double", 30 + 6 * len(fr)))
        else:
            fig = ax.figure
        y = np.arange(len(fr))[::-1]
        cols = [colour[c] for c in fr["comparison"]]
        from matplotlib.markers import MarkerStyle
        paths = [MarkerStyle(shape[c]).get_path().transformed(MarkerStyle(shape[c]).get_transform())
                 for c in fr["comparison"]]
        unadj = ax.scatter(fr["unadjusted"], y, facecolors="white", edgecolors=cols, s=22,
                           linewidths=1.0, zorder=3, gid="smd:unadjusted")
        adj = ax.scatter(fr["adjusted"], y, facecolors=cols, edgecolors=cols, s=22, zorder=4,
                         gid="smd:adjusted")
        if multi:
            unadj.set_paths(paths)
            adj.set_paths(paths)
        for i in range(len(fr)):
            ax.plot([fr["unadjusted"][i], fr["adjusted"][i]], [y[i], y[i]], color="0.8", lw=0.6,
                    zorder=1)
        for v in ((threshold,) if absolute else (-threshold, threshold)):
            ax.axvline(v, ls="--", color="0.4", lw=0.7)
        ax.axvline(0, color="0.2", lw=0.6)
        ax.set_yticks(y)
        ax.set_yticklabels(ylab)
        ax.set_xlabel("absolute standardised mean difference" if absolute
                      else "standardised mean difference")
        ax.set_ylim(-0.7, len(fr) - 0.3)
        ax.set_xlim(left=0 if absolute else None)
        from matplotlib.lines import Line2D
        handles = [Line2D([], [], ls="none", marker="o", markersize=4.5, markerfacecolor="white",
                          markeredgecolor="0.2", label="unadjusted"),
                   Line2D([], [], ls="none", marker="o", markersize=4.5, markerfacecolor="0.2",
                          markeredgecolor="0.2", label=adjusted_label or balance.adjustment)]
        handles += [Line2D([], [], ls="none", marker=shape[c] if multi else "s", markersize=5,
                           markerfacecolor=colour[c], markeredgecolor=colour[c], label=cname(c))
                    for c in comps]
        ax.legend(handles=handles, loc="lower left", bbox_to_anchor=(0.0, 1.0),
                  ncol=2 if len(handles) > 3 else len(handles), frameon=False)
        fig.tight_layout()
    return fig


def ps_histogram_frame(ps, bins=20) -> pd.DataFrame:
    """Counts of propensity scores per bin: ``[panel, side, group, bin_left, bin_right, count]``.

    For two groups one panel, score = P(second group): ``side`` "up" for the
    second group, "down" for the first. For more groups one panel per group ``g``
    (score P(g)): "up" = patients who received ``g``, "down" = all others (group "others").
    """
    groups = list(ps.groups)
    edges = np.linspace(0, 1, int(bins) + 1)
    rows = []
    panels = [groups[1]] if len(groups) == 2 else groups
    for g in panels:
        s = ps.scores[g].to_numpy()
        own = (ps.treatment == g).to_numpy()
        other = groups[0] if len(groups) == 2 else "others"
        for side, m, lab in (("up", own, g), ("down", ~own, other)):
            cnt, _ = np.histogram(s[m], bins=edges)
            rows += [(f"P({g})", side, lab, edges[i], edges[i + 1], int(cnt[i]))
                     for i in range(len(cnt))]
    return pd.DataFrame(rows, columns=["panel", "side", "group", "bin_left", "bin_right",
                                       "count"])


def ps_histogram(ps, *, bins=20, palette=None, labels=None):
    """Mirrored histogram of propensity scores (overlap diagnostic).

    Parameters
    ----------
    ps : PropensityScore
    bins : int
        Equal-width bins on [0, 1]. Counts are of patients (unweighted): overlap is
        about who exists, not about the weighted pseudo-population.
    palette : Palette, optional
        Colour per treatment level shared with the run's other figures (default: a
        palette of the score's levels in order). "All others" (the comparison side of a
        panel of more than two groups) is grey, never a group colour.
    labels : mapping {level: label}, optional
        Printed names of the levels (the run's label resolver).

    Returns
    -------
    matplotlib Figure
    """
    from .style import Palette
    fr = ps_histogram_frame(ps, bins)
    panels = list(dict.fromkeys(fr["panel"]))
    pal = palette if palette is not None else Palette(list(ps.groups))
    with journal_style():
        fig, axes = plt.subplots(len(panels), 1, squeeze=False,
                                 figsize=figure_size("single", 50 * len(panels) + 10))
        for p_i, (panel, ax) in enumerate(zip(panels, axes[:, 0])):
            f = fr[fr["panel"] == panel]
            for side, sign in (("up", 1), ("down", -1)):
                s = f[f["side"] == side]
                lv = s["group"].iloc[0]
                colour = OTHERS_COLOR if lv == "others" else pal.color(lv)
                name = "all others" if lv == "others" else (labels or {}).get(lv, lv)
                bars = ax.bar(s["bin_left"], sign * s["count"], width=s["bin_right"] -
                              s["bin_left"], align="edge", color=colour, alpha=0.8,
                              edgecolor="white", lw=0.3, label=f"{name} "
                              f"(n = {int(s['count'].sum())})")
                for b_i, b in enumerate(bars):
                    b.set_gid(f"bar:{p_i}:{side}:{b_i}")
            ax.axhline(0, color="0.2", lw=0.6)
            ax.set_xlim(0, 1)
            ax.set_xlabel(f"propensity score {panel}")
            ax.set_ylabel("patients")
            ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{abs(v):g}"))
            ax.legend(loc="lower left", bbox_to_anchor=(0.0, 1.0), ncol=2, frameon=False,
                      fontsize=7)
        fig.tight_layout()
    return fig
