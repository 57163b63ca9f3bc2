"""Cumulative-hazard curves (R ``plot(survfit, cumhaz = TRUE)``).

Takes a :class:`aplcohort.stats.km.CumHazResult` (the curve shape with ``estimate``
= H(t)); the curves start at H = 0, the CI band is the result's (R's default
``plain``), the at-risk table comes from ``result.risk_table(times)``.
"""

from __future__ import annotations

import numpy as np

from ..errors import InputError
from .style import group_label, group_styles, journal_style, ordered_groups
from .survival import (_check_unit, _default_label, _draw_risk_table,
                       _finish_axes, _new_axes, _result_groups, _step_xy, check_labels,
                       default_ticks)

__all__ = ["plot_cumhaz"]


def plot_cumhaz(result, ax=None, *, times=None, risk_table=True, ci=None, censor_marks=True,
                time_unit="months", xlabel=None, ylabel=None, order=None, labels=None,
                colors=None, linestyles=None, title=None, width="single", height_mm=None):
    """Cumulative hazard by group with its CI band and an at-risk table.

    Parameters
    ----------
    result : CumHazResult
        From :meth:`aplcohort.stats.km.KMResult.cumhaz`.
    times : sequence of float, optional
        x ticks and risk-table columns.
    ci : bool, optional
        Shade the pointwise CI (``result.conf_type``); default as R ``plot.survfit``:
        only when there is one curve.
    ylabel : str, optional
        Default "Cumulative hazard (Nelson–Aalen)" / "(Fleming–Harrington)".

    Returns
    -------
    Axes

    Examples
    --------
    >>> from aplcohort.stats.km import kaplan_meier
    >>> h = kaplan_meier([5, 8, 12, 20, 3, 9], [1, 0, 1, 0, 1, 1], ["A"] * 3 + ["B"] * 3).cumhaz()
    >>> ax = plot_cumhaz(h, times=[0, 5, 10, 15, 20])
    >>> [ln.get_gid() for ln in ax.lines][:1]
    ['curve:A']
    """
    _check_unit(time_unit)
    if getattr(result, "curve", None) != "cumulative hazard":
        raise InputError("plot_cumhaz takes the result of KMResult.cumhaz()")
    table = result.table
    check_labels(labels, _result_groups(result, table), "plot_cumhaz")
    groups = ordered_groups(_result_groups(result, table), order)
    if ci is None:
        ci = len(groups) == 1
    if ylabel is None:
        ylabel = "Cumulative hazard" + (" (Nelson–Aalen)" if result.ctype == 1
                                        else " (Fleming–Harrington)")
    with journal_style():
        tmax = float(table["time"].max()) if len(table) else 0.0
        times = default_ticks(tmax) if times is None else np.asarray(times, float)
        if np.any(np.diff(times) <= 0) or times[0] < 0:
            raise InputError(f"times must be increasing and >= 0; got {times.tolist()}")
        rows = ("n_risk",) if risk_table else ()
        if ax is None:
            ax = _new_axes(width, height_mm, sum(1 + len(groups) for _ in rows))
        lab = {g: group_label((labels or {}).get(g, _default_label(g, groups))) for g in groups}
        styles = group_styles(groups, colors, linestyles)
        t_start = float(getattr(result, "start_time", 0.0) or 0.0)
        ymax = 0.0
        for g in groups:
            sub = table[table["group"] == g].sort_values("time")
            st = styles[g]
            x, y = _step_xy(sub["time"], sub["estimate"], 0.0, t_start)
            ax.step(x, y, where="post", color=st["color"], linestyle=st["linestyle"],
                    label=lab[g], gid=f"curve:{g}")
            ymax = max(ymax, float(np.nanmax(y)) if len(y) else 0.0)
            if ci:
                _, lo = _step_xy(sub["time"], sub["lower"].ffill(), 0.0, t_start)
                _, hi = _step_xy(sub["time"], sub["upper"].ffill(), 0.0, t_start)
                ax.fill_between(x, lo, hi, step="post", color=st["color"], alpha=0.15,
                                linewidth=0, gid=f"ci:{g}")
                # the band after the last time has no width: its top is not drawn
                shown = np.asarray(hi, float)[:-1]
                if np.isfinite(shown).any():
                    ymax = max(ymax, float(np.nanmax(shown)))
            if censor_marks:
                c = sub[sub["n_censor"] > 0]
                ax.plot(c["time"], c["estimate"], linestyle="none", marker="|", markersize=4.5,
                        markeredgewidth=0.9, color=st["color"], gid=f"censor:{g}")
        ax.legend(loc="upper left", frameon=True, facecolor="white", edgecolor="none",
                  framealpha=0.85)
        _finish_axes(ax, times, xlabel or f"Time ({time_unit})", ylabel,
                     (0.0, ymax * 1.05 if ymax > 0 else 1.0), title)
        if rows:
            risk = result.risk_table(list(times))
            _draw_risk_table(ax, risk, times, groups, lab, styles, rows, None)
    return ax
