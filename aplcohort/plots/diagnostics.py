"""Cox model diagnostics and predictions: scaled Schoenfeld residuals, predicted survival,
cumulative baseline hazard.

* :func:`plot_zph` -- R's ``plot.cox.zph``: the scaled Schoenfeld residuals of one term
  against the (transformed) event time, the natural-spline smooth (``df = 4``) and its
  +-2 SE band (numbers from :func:`aplcohort.stats.zph.zph_smooth`, tested against R), a
  dotted line at the fitted coefficient; a log time axis for ``transform="log"``, time
  labels under the km / rank scale as R does;
* :func:`plot_predicted_survival` -- the curves of
  :func:`aplcohort.stats.coxpredict.predict_survival` with their pointwise CI band;
* :func:`plot_cumhaz` -- cumulative hazard step curves: the baseline
  (:func:`~aplcohort.stats.coxpredict.basehaz`, one per stratum) or the profiles' of a
  predicted-survival result.

Every function takes an Axes (or makes one at journal width inside
:func:`~aplcohort.plots.style.journal_style`) and returns it.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ..errors import InputError
from .style import PALETTE, figure_size, group_styles, journal_style

__all__ = ["plot_zph", "plot_predicted_survival", "plot_cumhaz", "zph_time_ticks"]


def _axes(ax, width="single", aspect=0.75):
    if ax is not None:
        return ax
    _fig, ax = plt.subplots(figsize=figure_size(width, aspect=aspect), layout="constrained")
    return ax


def zph_time_ticks(z, n: int = 8) -> pd.DataFrame:
    """Tick positions on the transformed-time axis labelled with times (R ``plot.cox.zph``).

    For the km and rank transforms R places 8 ticks at evenly spaced transformed values,
    labels them with the times there rounded to 2 significant digits, and puts each label
    at the transformed value of that rounded time (linear interpolation both ways).

    Returns
    -------
    DataFrame ``[x, label]``.
    """
    res = z.residuals
    xx = res["x"].to_numpy(float)
    tt = res["time"].to_numpy(float)
    _u, first = np.unique(xx, return_index=True)
    keep = np.sort(first)
    xs, ts = xx[keep], tt[keep]
    o = np.argsort(xs)
    xs, ts = xs[o], ts[o]
    grid = np.linspace(xx.min(), xx.max(), 2 * n + 1)[1::2]
    tgrid = np.interp(grid, xs, ts)
    lab = np.array([float(f"{v:.2g}") for v in tgrid])
    o2 = np.argsort(ts)
    xpos = np.interp(lab, ts[o2], xs[o2])
    return pd.DataFrame({"x": xpos, "label": [f"{v:g}" for v in lab]})


def plot_zph(z, term=None, ax=None, *, resid=True, se=True, df=4, nsmo=40, xlabel="Time",
             ylabel=None, title=None, show_coef=True, width="single"):
    """Scaled Schoenfeld residuals against time with the spline smooth (R ``plot.cox.zph``).

    Parameters
    ----------
    z : ZphResult
        From :func:`aplcohort.stats.zph.cox_zph` (its ``transform`` sets the x scale).
    term : str, optional
        The term to draw (default the first).
    ax : Axes, optional
    resid : bool
        Draw the residual points (R ``resid = TRUE``).
    se : bool
        Draw the +-2 SE band (R ``se = TRUE``).
    df, nsmo : int
        Spline degrees of freedom and number of evaluation points (R's 4 and 40).
    xlabel, ylabel, title : str, optional
        ``ylabel`` defaults to R's "Beta(t) for <term>".
    show_coef : bool
        A dotted horizontal line at the Cox coefficient (``z.centers``; a flat smooth near
        it = PH holds). R does not draw it.
    width : str or float
        Figure width when ``ax`` is not given.

    Returns
    -------
    Axes

    Examples
    --------
    >>> import pandas as pd
    >>> from aplcohort.stats.cox import coxph
    >>> from aplcohort.stats.zph import cox_zph
    >>> df = pd.DataFrame({"t": [5, 8, 12, 3, 9, 15, 7, 11, 4, 6, 2, 13],
    ...                    "e": [1, 1, 0, 1, 1, 0, 1, 0, 1, 1, 1, 1],
    ...                    "age": [60, 52, 45, 70, 58, 40, 66, 49, 72, 55, 75, 50]})
    >>> ax = plot_zph(cox_zph(coxph(df, time="t", event="e", covariates=["age"])))
    >>> ax.get_ylabel()
    'Beta(t) for age'
    >>> plt.close(ax.figure)
    """
    from ..stats.zph import zph_smooth

    terms = [t for t in z.table["term"] if t != "GLOBAL"]
    term = terms[0] if term is None else term
    if term not in terms:
        raise InputError(f"term {term!r} is not one of {terms}")
    sm = zph_smooth(z, term, df=df, nsmo=nsmo)
    res = z.residuals
    y = res[term].to_numpy(float)
    keep = ~np.isnan(y)
    xx = res["x"].to_numpy(float)
    xs = sm["x"].to_numpy(float)
    if z.transform == "log":
        xx, xs = np.exp(xx), np.exp(xs)
    with journal_style():
        ax = _axes(ax, width)
        if resid:
            ax.scatter(xx[keep], y[keep], s=6, facecolors="none", edgecolors="0.45",
                       linewidths=0.6, gid="zph:residuals", zorder=1)
        ax.plot(xs, sm["fit"], color=PALETTE[0], lw=1.4, gid="zph:fit", zorder=3)
        if se:
            ax.plot(xs, sm["upper"], color=PALETTE[0], lw=1.0, ls="--", gid="zph:upper",
                    zorder=3)
            ax.plot(xs, sm["lower"], color=PALETTE[0], lw=1.0, ls="--", gid="zph:lower",
                    zorder=3)
        if show_coef:
            # the fitted coefficient (1 for a categorical term of several columns, as R
            # scales those): a flat smooth at this level is proportional hazards
            ax.axhline(z.centers[term], color="0.3", lw=0.7, ls=":", gid="zph:coef", zorder=2)
        if z.transform == "log":
            ax.set_xscale("log")
        elif z.transform in ("km", "rank"):
            tk = zph_time_ticks(z)
            ax.set_xticks(tk["x"].to_numpy())
            ax.set_xticklabels(tk["label"].tolist())
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel if ylabel is not None else f"Beta(t) for {term}")
        row = z.table.set_index("term").loc[term]
        ax.set_title(title if title is not None else
                     f"PH test p = {row['p']:.3g} ({z.transform} time)",
                     fontsize=plt.rcParams["axes.titlesize"])
    return ax


def plot_predicted_survival(curves, ax=None, *, ci=True, xlabel="Time",
                            ylabel="Predicted survival", title=None, colors=None,
                            width="single", legend_title=None):
    """Predicted survival curves of covariate profiles with their CI band.

    Parameters
    ----------
    curves : CoxSurvivalResult
        From :func:`aplcohort.stats.coxpredict.predict_survival` (or ``CoxResult.survfit``).
    ax : Axes, optional
    ci : bool
        Shade the pointwise confidence band (``curves.conf_type``).
    colors : sequence or mapping, optional

    Returns
    -------
    Axes

    Examples
    --------
    >>> import pandas as pd
    >>> from aplcohort.stats.cox import coxph
    >>> df = pd.DataFrame({"t": [5, 8, 12, 3, 9, 15, 7, 11], "e": [1, 1, 0, 1, 1, 0, 1, 0],
    ...                    "age": [60, 52, 45, 70, 58, 40, 66, 49]})
    >>> fit = coxph(df, time="t", event="e", covariates=["age"])
    >>> ax = plot_predicted_survival(fit.survfit({"50": {"age": 50}, "70": {"age": 70}}))
    >>> len(ax.get_lines())
    2
    >>> plt.close(ax.figure)
    """
    from .survival import check_curve_kind
    check_curve_kind(curves, "plot_predicted_survival", "survival")
    tab = curves.table
    groups = list(curves.groups)
    styles = group_styles(groups, colors=colors)
    with journal_style():
        ax = _axes(ax, width)
        for g in groups:
            c = tab[tab["group"] == g]
            t = np.concatenate([[0.0], c["time"].to_numpy(float)])
            s = np.concatenate([[1.0], c["estimate"].to_numpy(float)])
            st = styles[g]
            ax.step(t, s, where="post", color=st["color"], ls=st["linestyle"], label=str(g),
                    gid=f"curve:{g}")
            if ci:
                lo = np.concatenate([[1.0], c["lower"].to_numpy(float)])
                hi = np.concatenate([[1.0], c["upper"].to_numpy(float)])
                ax.fill_between(t, lo, hi, step="post", color=st["color"], alpha=0.15,
                                lw=0, gid=f"band:{g}")
        ax.set_ylim(0, 1.03)
        ax.set_xlim(left=0)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.legend(title=legend_title, loc="best")
        if title is None:
            title = (f"Cox model, {int(round(curves.conf_level * 100))}% CI "
                     f"({curves.conf_type})" if ci else "Cox model")
        ax.set_title(title, fontsize=plt.rcParams["axes.titlesize"])
    return ax


def plot_cumhaz(obj, ax=None, *, xlabel="Time", ylabel="Cumulative hazard", title=None,
                colors=None, width="single"):
    """Cumulative hazard step curves.

    Parameters
    ----------
    obj : DataFrame or CoxSurvivalResult
        ``basehaz(...)`` output (``[strata, time, hazard]``: one curve per stratum) or a
        predicted-survival result (its ``cumhaz`` table, one curve per profile).

    Returns
    -------
    Axes

    Examples
    --------
    >>> import pandas as pd
    >>> from aplcohort.stats.cox import coxph
    >>> df = pd.DataFrame({"t": [5, 8, 12, 3, 9, 15, 7, 11], "e": [1, 1, 0, 1, 1, 0, 1, 0],
    ...                    "age": [60, 52, 45, 70, 58, 40, 66, 49]})
    >>> ax = plot_cumhaz(coxph(df, time="t", event="e", covariates=["age"]).basehaz())
    >>> ax.get_ylabel()
    'Cumulative hazard'
    >>> plt.close(ax.figure)
    """
    if isinstance(obj, pd.DataFrame):
        if not {"time", "hazard"} <= set(obj.columns):
            raise InputError("plot_cumhaz takes basehaz() output ([strata, time, hazard]) or "
                             "a predicted-survival result")
        key = obj["strata"] if "strata" in obj.columns else pd.Series([None] * len(obj))
        frames = [(("baseline" if k is None else str(k)), obj[key.to_numpy() == k]
                   if k is not None else obj[key.isna().to_numpy()])
                  for k in pd.unique(key)]
        frames = [(lab, f["time"].to_numpy(float), f["hazard"].to_numpy(float))
                  for lab, f in frames]
        default_title = "Cumulative baseline hazard"
    elif hasattr(obj, "cumhaz") and isinstance(obj.cumhaz, pd.DataFrame):
        ch = obj.cumhaz
        frames = [(str(g), ch.loc[ch["group"] == g, "time"].to_numpy(float),
                   ch.loc[ch["group"] == g, "cumhaz"].to_numpy(float)) for g in obj.groups]
        default_title = "Cumulative hazard (Cox model)"
    else:
        raise InputError("plot_cumhaz takes basehaz() output or a predicted-survival result")
    styles = group_styles([f[0] for f in frames], colors=colors)
    with journal_style():
        ax = _axes(ax, width)
        for lab, t, h in frames:
            st = styles[lab]
            ax.step(np.concatenate([[0.0], t]), np.concatenate([[0.0], h]), where="post",
                    color=st["color"], ls=st["linestyle"], label=lab, gid=f"cumhaz:{lab}")
        ax.set_xlim(left=0)
        ax.set_ylim(bottom=0)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        if len(frames) > 1:
            ax.legend(loc="upper left")
        ax.set_title(title if title is not None else default_title,
                     fontsize=plt.rcParams["axes.titlesize"])
    return ax
