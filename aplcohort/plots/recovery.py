"""Count recovery after reinduction (days to ANC / platelet recovery) by arm.

Two views:

* ``kind="cif"`` (default, the correct analysis): cumulative incidence of recovery
  with death before recovery as a competing event (Aalen–Johansen,
  :func:`aplcohort.stats.competing.cumulative_incidence`), Gray's test, and the
  number at risk under the plot (:func:`aplcohort.stats.km.number_at_risk` with any
  event leaving the risk set);
* ``kind="box"``: box plot with every patient as a point, of days to recovery among
  the patients who recovered, with the not-recovered (died / censored) counted
  under each box; the p-value (Wilcoxon / Kruskal–Wallis among recovered patients)
  is labelled as such because it ignores the patients who did not recover.

:func:`recovery_summary` is the pure function holding the counts both views print.
"""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ..errors import InputError
from ..stats.outcome import Outcome
from .style import figure_size, group_label, group_styles, journal_style, ordered_groups
from .survival import plot_cif, pvalue_text


def _groups(group, n, order):
    g = pd.Series(np.asarray(group, dtype=object))
    if len(g) != n:
        raise InputError(f"group has {len(g)} values for {n} patients")
    if g.isna().any():
        raise InputError(f"{int(g.isna().sum())} patients have no group; filter them explicitly")
    return g.to_numpy(), ordered_groups(sorted(pd.unique(g), key=str), order)


def recovery_summary(time, code, group, *, order=None) -> pd.DataFrame:
    """Per group: n, recovered, died before recovery, censored, median [IQR] days among recovered.

    Parameters
    ----------
    time : array of float (days from reinduction start)
    code : array of int (0 censored, 1 recovery, 2 death before recovery)
    group : array (reinduction arm)

    Returns
    -------
    DataFrame [group, n, recovered, died, censored, median, q1, q3] (quantiles of the
    recovered patients' times, R quantile type 7).

    Examples
    --------
    >>> recovery_summary([20, 25, 30, 8], [1, 1, 0, 2], ["ATO", "ATO", "IC", "IC"]).values.tolist()
    [['ATO', 2, 2, 0, 0, 22.5, 21.25, 23.75], ['IC', 2, 0, 1, 1, nan, nan, nan]]
    """
    from .._align import align_rows
    time, code, group = align_rows("recovery_summary", time=time, code=code, group=group)
    out = Outcome.competing(time, code)
    if out.event.max(initial=0) > 2:
        raise InputError("recovery codes must be 0 (censored), 1 (recovery) or 2 (death before "
                         "recovery)")
    g, groups = _groups(group, out.n, order)
    rows = []
    for lv in groups:
        m = g == lv
        t, e = out.time[m], out.event[m]
        rec = t[e == 1]
        q = np.quantile(rec, [0.5, 0.25, 0.75]) if rec.size else [np.nan] * 3
        rows.append({"group": lv, "n": int(m.sum()), "recovered": int((e == 1).sum()),
                     "died": int((e == 2).sum()), "censored": int((e == 0).sum()),
                     "median": float(q[0]), "q1": float(q[1]), "q3": float(q[2])})
    return pd.DataFrame(rows, columns=["group", "n", "recovered", "died", "censored", "median",
                                       "q1", "q3"])


def _strip_offsets(values: np.ndarray, width: float = 0.28) -> np.ndarray:
    """Deterministic horizontal offsets: points with equal values spread symmetrically."""
    off = np.zeros(values.size)
    for v in np.unique(values):
        idx = np.flatnonzero(values == v)
        k = idx.size
        if k > 1:
            off[idx] = np.linspace(-width / 2, width / 2, k) * min(1.0, k / 6)
    return off


def plot_recovery(time, code, group, ax=None, *, kind: str = "cif", count: str = "ANC",
                  order=None, labels: Mapping | None = None, colors=None, times=None,
                  test: bool = True, risk_table: bool = True, width="single", title=None,
                  ylabel: str | None = None, palette=None):
    """Days to count recovery by reinduction arm.

    Parameters
    ----------
    time, code, group : arrays
        From ``Cohort.endpoint("ANC_recovery", time_zero="reinduction", unit="days")``
        (codes 0 censored, 1 recovery, 2 death before recovery) and the arm.
    kind : {"cif", "box"}
    count : str
        Name used in labels ("ANC", "Platelet").
    test : bool
        ``cif``: Gray's test p; ``box``: Wilcoxon / Kruskal–Wallis among recovered.
    palette : Palette, optional
        Colour per arm shared with the run's other figures (``colors`` wins).

    Returns
    -------
    Axes

    Examples
    --------
    >>> ax = plot_recovery([12, 15, 20, 9, 30, 25], [1, 1, 1, 2, 1, 0], list("AAABBB"),
    ...                    test=False)

    Validated against: curves from ``cumulative_incidence`` (cmprsk ``cuminc``); counts
    from :func:`recovery_summary`, checked in ``tests/test_plots_recovery.py``.
    """
    if kind not in ("cif", "box"):
        raise InputError(f"kind must be 'cif' or 'box'; got {kind!r}")
    from .._align import align_rows
    time, code, group = align_rows("plot_recovery", time=time, code=code, group=group)
    out = Outcome.competing(time, code)
    g, groups = _groups(group, out.n, order)
    summ = recovery_summary(out.time, out.event, g, order=groups)
    lab = {lv: group_label((labels or {}).get(lv, str(lv))) for lv in groups}
    if kind == "cif":
        from ..stats.competing import cumulative_incidence, gray_test
        from ..stats.km import number_at_risk
        if not (out.event == 1).any():
            raise InputError("no recovery events: nothing to draw")
        cif = cumulative_incidence(out.time, out.event, g, order=groups)
        p = gray_test(out.time, out.event, g, cause=1, order=groups) if test and len(groups) > 1 else None
        tmax = float(out.time.max())
        from .survival import default_ticks
        ticks = default_ticks(tmax) if times is None else np.asarray(times, float)
        rt = number_at_risk(out.time, out.event > 0, ticks, g, order=groups) if risk_table else False
        return plot_cif(cif, ax, cause=1, times=ticks, risk_table=rt, pvalue=p, order=groups,
                        labels=lab, colors=colors, time_unit="days",
                        xlabel="Days from start of reinduction",
                        ylabel=ylabel or f"Cumulative incidence of {count} recovery",
                        legend_loc="auto",
                        annotation_loc="auto", title=title, width=width, palette=palette)
    styles = group_styles(groups, colors, palette=palette)
    with journal_style():
        if ax is None:
            fig = plt.figure(figsize=figure_size(width, aspect=0.8))
            ax = fig.add_axes([0.16, 0.22, 0.8, 0.72])
        data = [out.time[(g == lv) & (out.event == 1)] for lv in groups]
        ax.boxplot([d if d.size else [np.nan] for d in data], positions=range(len(groups)),
                   widths=0.5, showfliers=False, medianprops={"color": "black", "linewidth": 1.2},
                   boxprops={"linewidth": 0.8}, whiskerprops={"linewidth": 0.8},
                   capprops={"linewidth": 0.8})
        for i, (lv, d) in enumerate(zip(groups, data)):
            ax.plot(i + _strip_offsets(d), d, linestyle="none", marker="o", markersize=3.2,
                    markerfacecolor=styles[lv]["color"], markeredgecolor="white",
                    markeredgewidth=0.4, alpha=0.9, gid=f"points:{lv}", zorder=3)
        ax.set_xticks(range(len(groups)))
        ticklabels = []
        for lv in groups:
            r = summ[summ["group"] == lv].iloc[0]
            ticklabels.append(f"{lab[lv]}\nrecovered {r.recovered}/{r.n}\n"
                              f"died {r.died}, censored {r.censored}")
        ax.set_xticklabels(ticklabels)
        ax.set_xlim(-0.6, len(groups) - 0.4)
        ax.set_ylabel(ylabel or f"Days to {count} recovery")
        allv = np.concatenate([d for d in data if d.size]) if any(d.size for d in data) else np.r_[0.0, 1.0]
        lo_v, hi_v = float(allv.min()), float(allv.max())
        ax.set_ylim(max(0.0, lo_v - 0.08 * (hi_v - lo_v + 1)), hi_v + 0.3 * (hi_v - lo_v + 1))
        if test and len(groups) > 1 and all(d.size for d in data):
            from ..stats.grouptests import kruskal_wallis, wilcoxon_ranksum
            if len(groups) == 2:
                r = wilcoxon_ranksum(data[0], data[1])
                name = "Wilcoxon"
            else:
                r = kruskal_wallis(np.concatenate(data),
                                   np.repeat(np.array(groups, dtype=object), [d.size for d in data]))
                name = "Kruskal\u2013Wallis"
            ax.text(0.98, 0.98, pvalue_text(r.p, name) + "\n(recovered patients)",
                    transform=ax.transAxes, ha="right", va="top", gid="annotation")
        if title:
            ax.set_title(title, loc="left")
    return ax


def recovery_figure(panels: Mapping, *, kind: str = "cif", order=None, labels=None, colors=None,
                    width="double", test: bool = True, palette=None):
    """Side-by-side recovery panels, e.g. ``{"ANC": (t, code, arm), "Platelet": (t, code, arm)}``.

    Returns
    -------
    Figure (one column of axes per panel, each with its risk table for ``kind="cif"``).
    """
    if not panels:
        raise InputError("panels must name at least one count, e.g. {'ANC': (time, code, group)}")
    k = len(panels)
    with journal_style():
        w, h = figure_size(width, aspect=0.5 if kind == "box" else 0.42)
        fig = plt.figure(figsize=(w, h + (0.9 if kind == "cif" else 0)))
        bottom = 0.42 if kind == "cif" else 0.24
        for i, (name, (t, c, g)) in enumerate(panels.items()):
            ax = fig.add_axes([0.1 + i / k, bottom, 1 / k - 0.14, 0.9 - bottom])
            plot_recovery(t, c, g, ax, kind=kind, count=name, order=order, labels=labels,
                          colors=colors, test=test, palette=palette, title=f"{chr(65 + i)}  {name} recovery",
                          ylabel="Cumulative incidence" if kind == "cif" else "Days to recovery")
    return fig
