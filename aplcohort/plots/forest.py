"""Forest plots: hazard ratios with CIs on a log axis, with text columns.

:func:`forest_frame` (pure) turns a Cox / Fine–Gray result, a univariable +
multivariable result, or a subgroup table into rows of [label, hr, lower, upper,
p, n, events, ...]; :func:`plot_forest` draws them: the estimate panel in the
middle on a log axis, text columns (n, events, HR (95% CI, or the result's level), p) beside it, all on
the same rows. :func:`subgroup_hazard_ratios` computes the subgroup table
(treatment HR within each level + interaction likelihood-ratio p).

Text artists carry gids ``"cell:<column>:<row>"`` so the printed values can be
read back in tests.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from ..stats._lazy import scipy_stats as stats

from ..errors import InputError
from ..tables.format import format_ci, format_p
from .style import PALETTE, figure_size, journal_style

#: Text widths are measured from the font outlines and multiplied by this so a label
#: still fits when a raster renderer hints it wider (measured up to +8 % at 72 dpi).
HINT_MARGIN = 1.10

FRAME_COLUMNS = ["label", "hr", "lower", "upper", "p", "n", "events", "indent", "header",
                 "hr2", "lower2", "upper2", "p2"]


def _empty_row(**kw):
    r = {c: np.nan for c in FRAME_COLUMNS}
    r.update({"label": "", "indent": 0, "header": False})
    r.update(kw)
    return r


def _is_resolver(labels) -> bool:
    from ..tables.labels import Labels
    return isinstance(labels, Labels)


def _term_label(term, result, labels):
    """Row label of a model term: ``"<variable>: <level> vs <reference>"`` for a level
    term, the term itself otherwise; ``labels`` a mapping {term or variable: label} or a
    :class:`~aplcohort.tables.labels.Labels` (variable labels, level names and units as
    the tables print them)."""
    resolver = _is_resolver(labels)
    if not resolver and term in labels:
        return labels[term]
    refs = {}
    ch = getattr(result, "choices", None) or {}
    refs.update(ch.get("reference_levels") or {})
    refs.update(getattr(result, "reference_levels", None) or {})
    for var, ref in refs.items():
        if term.startswith(str(var)) and term != var:
            lvl = term[len(str(var)):]
            if resolver:
                return (f"{labels.column(var, unit=False)}: {labels.level(var, lvl)} vs "
                        f"{labels.level(var, ref)}")
            return f"{labels.get(var, var)}: {lvl} vs {ref}"
    if resolver:
        return labels.column(term) if (str(term) in labels.columns
                                       or str(term) in labels.units) else str(term)
    return term


def forest_frame(obj, *, labels: Mapping | None = None) -> pd.DataFrame:
    """Rows of a forest plot (pure).

    Parameters
    ----------
    obj : CoxResult, FineGrayResult, UniMultiResult or DataFrame
        * Cox / Fine–Gray / Firth: one row per term (``.terms`` estimate, lower, upper, p
          of the shared terms shape; a term that is not estimable is an empty row,
          printed "NE");
        * UniMultiResult: univariable estimate in ``hr/lower/upper/p`` and the
          multivariable one in ``hr2/lower2/upper2/p2``;
        * DataFrame with at least [label, hr, lower, upper] and optionally p, n,
          events, indent, header (e.g. :func:`subgroup_hazard_ratios`).
    labels : mapping {term or variable: display label}, or Labels
        A :class:`~aplcohort.tables.labels.Labels` (``resolve_labels(plan)``) prints
        variable labels, level names and units as the tables do ("Post-remission
        treatment: allo HSCT vs ATO-based", "Age at first relapse, years").

    Returns
    -------
    DataFrame with columns :data:`FRAME_COLUMNS`.

    Examples
    --------
    >>> import pandas as pd
    >>> f = forest_frame(pd.DataFrame({"label": ["Age"], "hr": [1.2], "lower": [1.0], "upper": [1.4]}))
    >>> f[["label", "hr", "indent", "header"]].values.tolist()
    [['Age', 1.2, 0, False]]
    """
    labels = labels if _is_resolver(labels) else dict(labels or {})
    if isinstance(obj, pd.DataFrame):
        need = {"label", "hr", "lower", "upper"}
        if not need <= set(obj.columns):
            raise InputError(f"a forest DataFrame needs columns {sorted(need)}; got {list(obj.columns)}")
        rows = [_empty_row(**{k: v for k, v in r.items() if k in FRAME_COLUMNS})
                for r in obj.to_dict(orient="records")]
        df = pd.DataFrame(rows, columns=FRAME_COLUMNS)
        df["indent"] = df["indent"].fillna(0).astype(int)
        df["header"] = df["header"].fillna(False).astype(bool)
        return df
    table = getattr(obj, "table", None)
    if isinstance(table, pd.DataFrame) and {"hr_uni", "hr_multi"} <= set(table.columns):
        src = getattr(obj, "multivariable", obj)
        rows = [_empty_row(label=_term_label(r.term, src, labels), hr=r.hr_uni, lower=r.lower_uni,
                           upper=r.upper_uni, p=r.p_uni, hr2=r.hr_multi, lower2=r.lower_multi,
                           upper2=r.upper_multi, p2=r.p_multi) for r in table.itertuples()]
        return pd.DataFrame(rows, columns=FRAME_COLUMNS)
    terms = getattr(obj, "terms", None)
    if isinstance(terms, pd.DataFrame):
        rows = [_empty_row(label=_term_label(r.term, obj, labels), hr=r.estimate, lower=r.lower,
                           upper=r.upper, p=r.p) if r.estimable else
                _empty_row(label=_term_label(r.term, obj, labels), p=np.nan)
                for r in terms.itertuples()]
        return pd.DataFrame(rows, columns=FRAME_COLUMNS)
    raise InputError(f"cannot draw a forest plot from {type(obj).__name__}; give a CoxResult, "
                     "FineGrayResult, UniMultiResult or a DataFrame [label, hr, lower, upper]")


def subgroup_hazard_ratios(data: pd.DataFrame, *, time: str, event: str, treatment: str,
                           subgroups: Sequence[str], reference=None, labels: Mapping | None = None,
                           conf_level: float = 0.95, allow_identifiers: bool = False) -> pd.DataFrame:
    """Treatment HR within each level of each subgroup variable, with interaction p.

    For each subgroup variable a Cox model ``treatment`` is fitted in each level
    (R ``coxph(Surv(time, event) ~ treatment, subset = level)``); the interaction p
    is the likelihood-ratio test of ``treatment + subgroup + treatment:subgroup``
    against ``treatment + subgroup`` (R ``anova(fit0, fit1)``).

    A treatment or subgroup column that identifies patients (a name, an MRN, a
    per-patient date ...: :mod:`aplcohort.plan.identifiers`) is refused unless
    ``allow_identifiers=True``.

    Returns
    -------
    DataFrame [label, hr, lower, upper, p, n, events, indent, header] ready for
    :func:`plot_forest` (header rows carry the interaction p in ``p``).
    """
    from ..stats.cox import coxph

    from ..plan.identifiers import refuse_identifiers
    refuse_identifiers("subgroup_hazard_ratios", [(treatment, "treatment", False)]
                       + [(s, "subgroup variable", True) for s in subgroups],
                       allow_identifiers=allow_identifiers, data=data)
    labels = dict(labels or {})
    cols = [time, event, treatment, *subgroups]
    miss = [c for c in cols if c not in data.columns]
    if miss:
        raise InputError(f"columns {miss} not in the data")
    d = data[cols]
    if d.isna().any().any():
        bad = d.columns[d.isna().any()].tolist()
        raise InputError(f"missing values in {bad}; subgroup analysis needs complete rows (filter "
                         "them explicitly)")
    levels = sorted(d[treatment].unique().tolist(), key=str)
    if len(levels) != 2:
        raise InputError(f"treatment {treatment!r} must have exactly two levels; got {levels}")
    ref = levels[0] if reference is None else reference
    other = [lv for lv in levels if lv != ref][0]
    x = (d[treatment] == other).astype(float)
    rows = []
    overall = coxph(d.assign(_trt=x), time=time, event=event, covariates=["_trt"],
                    conf_level=conf_level)
    t0 = overall.terms.iloc[0]
    rows.append(_empty_row(label=f"All patients ({other} vs {ref})", hr=t0.estimate,
                           lower=t0.lower, upper=t0.upper, p=t0.p, n=overall.n,
                           events=overall.events))
    for sg in subgroups:
        lv_s = sorted(d[sg].unique().tolist(), key=str)
        dummies = pd.DataFrame({f"_sg{i}": (d[sg] == lv).astype(float)
                                for i, lv in enumerate(lv_s[1:])}, index=d.index)
        inter = dummies.mul(x, axis=0).add_prefix("_x")
        base = pd.concat([d[[time, event]], x.rename("_trt"), dummies], axis=1)
        try:
            f0 = coxph(base, time=time, event=event, covariates=["_trt", *dummies.columns])
            f1 = coxph(pd.concat([base, inter], axis=1), time=time, event=event,
                       covariates=["_trt", *dummies.columns, *inter.columns])
            lr = 2 * (f1.loglik[1] - f0.loglik[1])
            p_int = float(stats.chi2.sf(lr, inter.shape[1])) if inter.shape[1] else np.nan
        except InputError:
            p_int = np.nan
        rows.append(_empty_row(label=labels.get(sg, sg), header=True, p=p_int))
        for lv in lv_s:
            sub = d[d[sg] == lv]
            xs = (sub[treatment] == other).astype(float)
            n, ev = len(sub), int(sub[event].sum())
            if xs.nunique() < 2 or ev == 0:
                rows.append(_empty_row(label=str(lv), n=n, events=ev, indent=1))
                continue
            f = coxph(sub.assign(_trt=xs), time=time, event=event, covariates=["_trt"],
                      conf_level=conf_level)
            tr = f.terms.iloc[0]
            if not tr.estimable or not f.converged:  # infinite HR: not estimable, printed "NE"
                rows.append(_empty_row(label=str(lv), n=n, events=ev, indent=1))
                continue
            rows.append(_empty_row(label=str(lv), hr=tr.estimate, lower=tr.lower,
                                   upper=tr.upper, p=np.nan, n=n, events=ev, indent=1))
    return pd.DataFrame(rows, columns=FRAME_COLUMNS)


def _fmt_int(v):
    return "" if v is None or (isinstance(v, float) and np.isnan(v)) else str(int(v))


def log_ticks(lo: float, hi: float, max_ticks: int = 6) -> list:
    """Round tick values for a log axis between lo and hi (finest set with <= max_ticks).

    >>> log_ticks(0.2, 4.5)
    [0.2, 0.5, 1, 2]
    >>> log_ticks(0.02, 40)
    [0.1, 1, 10]
    """
    sets = ([0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100],
            [0.01, 0.03, 0.1, 0.3, 1, 3, 10, 30, 100],
            [0.01, 0.1, 1, 10, 100])
    for cand in sets:
        t = [v for v in cand if lo <= v <= hi]
        if len(t) <= max_ticks:
            return t
    return [v for v in sets[-1] if lo <= v <= hi]


def _cells(f: pd.DataFrame, decimals: int) -> dict:
    out = {k: [] for k in ("label", "n", "events", "estimate", "p", "estimate2", "p2")}
    for r in f.itertuples():
        out["label"].append(str(r.label))
        out["n"].append(_fmt_int(r.n))
        out["events"].append(_fmt_int(r.events))
        for key, hr, lo, hi in (("estimate", r.hr, r.lower, r.upper),
                                ("estimate2", r.hr2, r.lower2, r.upper2)):
            if r.header:
                out[key].append("")
            elif not (np.isfinite(hr) and hr > 0 and np.isfinite(lo) and np.isfinite(hi) and lo > 0):
                out[key].append("NE")  # not estimable (no events / separation)
            else:
                out[key].append(format_ci(hr, lo, hi, decimals))
        out["p"].append(format_p(r.p, na=""))
        out["p2"].append(format_p(r.p2, na=""))
    return out


def _level_text(obj, conf_level=None) -> str:
    """``"90%"``: the given level, else the result's (``conf_level``, ``choices``, the
    multivariable model of a univariable/multivariable table, a frame's attrs), else 95%.

    >>> _level_text(None, 0.9), _level_text(None)
    ('90%', '95%')
    """
    cl = conf_level
    for o in (obj, getattr(obj, "multivariable", None)):
        if cl is not None or o is None:
            break
        cl = getattr(o, "conf_level", None)
        if cl is None:
            ch = getattr(o, "choices", None)
            cl = ch.get("conf_level") if isinstance(ch, dict) else None
        if cl is None and isinstance(o, pd.DataFrame):
            cl = o.attrs.get("conf_level")
    return f"{100 * float(0.95 if cl is None else cl):g}%"


def plot_forest(obj, fig=None, *, labels: Mapping | None = None, ratio_label: str | None = None,
                columns: Sequence[str] | None = None, xlim=None, decimals: int = 2,
                favours: tuple | None = None, width="single", color=None,
                model_labels=("Univariable", "Multivariable"), p_header=None,
                title: str | None = None, min_plot_in: float = 1.1, palette=None,
                n: int | None = None, events: int | None = None,
                conf_level: float | None = None):
    """Forest plot with text columns.

    Parameters
    ----------
    obj : CoxResult / FineGrayResult / UniMultiResult / DataFrame (see :func:`forest_frame`)
    fig : Figure, optional
        Drawn into this (empty) figure; else a new one of the journal width.
    ratio_label : "HR" or "SHR"
        Header of the estimate column and x-axis label (default "SHR" for a Fine–Gray
        result, else "HR").
    columns : subset/order of ("n", "events", "estimate", "p")
        Default: n and events when the frame has them, then estimate and p.
    xlim : (low, high) of the log axis (default: covering all CIs within [0.01, 100];
        longer intervals end in an arrow).
    favours : (left text, right text) printed under the axis.
    width : "single" / "double" / mm. The figure is widened if the text columns and a
        plot panel of ``min_plot_in`` inches do not fit.
    model_labels : legend labels of the two estimates of a UniMultiResult.
    p_header : str, optional
        Header of the p column; default "p", or "p for interaction" when header rows
        carry p-values (a subgroup table).
    palette : Palette, optional
        The run's colours per group level: a row comparing a level with the reference
        (label ``"<variable>: <level> vs <reference>"``) is drawn in that level's colour;
        other rows in ``color`` (default black).
    n, events : int, optional
        The "n = , events = " heading in place of the result's own ``n``/``events`` (a
        model fitted on split rows, whose ``n`` counts rows: give the patients).
    conf_level : float, optional
        The level of the intervals, printed in the estimate column's heading ("HR (90%
        CI)"); default the result's own ``conf_level`` (a frame's ``attrs["conf_level"]``),
        else 0.95.

    Returns
    -------
    Figure; the estimate axes has label ``"forest"``; a not-estimable row (no events,
    infinite coefficient) prints "NE" and draws nothing.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"label": ["Age", "Male"], "hr": [1.2, 0.8], "lower": [1.0, 0.5],
    ...                    "upper": [1.4, 1.3], "p": [0.03, 0.4]})
    >>> fig = plot_forest(df)
    >>> [t.get_text() for a in fig.axes for t in a.texts if t.get_gid() == "cell:estimate:0"]
    ['1.20 (1.00–1.40)']

    Validated against: the printed cells are read back and compared with the Cox terms
    in ``tests/test_plots_forest.py``.
    """
    from matplotlib.font_manager import FontProperties

    from ..tables.format import check_decimals
    decimals = check_decimals("decimals", decimals)
    f = forest_frame(obj, labels=labels)
    if ratio_label is None:
        ratio_label = "SHR" if getattr(obj, "scale", None) == "SHR" or getattr(obj, "kind", "") == "finegray" else "HR"
    two = bool(f["hr2"].notna().any())
    nrow = len(f)
    if nrow == 0:
        raise InputError("nothing to plot: the forest frame has no rows")
    if columns is None:
        columns = [c for c in ("n", "events") if f[c].notna().any()] + ["estimate", "p"]
    for c in columns:
        if c not in ("n", "events", "estimate", "p"):
            raise InputError(f"unknown forest column {c!r}; choose from n, events, estimate, p")
    left_cols = [c for c in columns if c in ("n", "events")]
    right_cols = [c for c in columns if c in ("estimate", "p")]
    if two:
        right_cols = [c for c in right_cols] + [c + "2" for c in right_cols]
    vals = np.r_[f["lower"].to_numpy(float), f["upper"].to_numpy(float),
                 f["lower2"].to_numpy(float), f["upper2"].to_numpy(float),
                 f["hr"].to_numpy(float), f["hr2"].to_numpy(float)]
    vals = vals[np.isfinite(vals) & (vals > 1e-4) & (vals < 1e4)]
    if xlim is None:
        lo = max(0.01, min(0.5, vals.min() / 1.2)) if vals.size else 0.1
        hi = min(100.0, max(2.0, vals.max() * 1.2)) if vals.size else 10.0
        xlim = (lo, hi)
    color = color or "#000000"

    # printed level names back to the levels the palette knows (labels from a resolver)
    printed = ({str(v): k for m in labels.level_labels.values() for k, v in m.items()}
               if _is_resolver(labels) else {})

    def row_color(label, default):
        if palette is None:
            return default
        lvl = str(label).split(": ", 1)[-1].split(" vs ", 1)[0]
        lvl = lvl if lvl in palette else printed.get(lvl, lvl)
        return palette.color(lvl) if lvl in palette else default
    cells = _cells(f, decimals)
    if p_header is None:
        p_header = "p for\ninteraction" if (f["header"] & f["p"].notna()).any() else "p"
    ci_head = f"{ratio_label} ({_level_text(obj, conf_level)} CI)"
    n_all, ev_all = getattr(obj, "n", None), getattr(obj, "events", None)
    if n_all is None and hasattr(obj, "multivariable"):
        n_all, ev_all = obj.multivariable.n, obj.multivariable.events
    n_all = n_all if n is None else n
    ev_all = ev_all if events is None else events
    top_left = (f"n = {int(n_all)}, events = {int(ev_all)}"
                if n_all is not None and ev_all is not None and "n" not in columns else "")
    heads = {"label": top_left, "n": "n", "events": "Events", "estimate": ci_head, "p": p_header,
             "estimate2": ci_head, "p2": p_header}
    if two:
        heads["estimate"] = f"{model_labels[0]}\n{ci_head}"
        heads["estimate2"] = f"{model_labels[1]}\n{ci_head}"
    with journal_style():
        fs = max(7.0, plt.rcParams["font.size"] - 0.5)
        if fig is None:
            fig = plt.figure(figsize=(figure_size("double" if two and width == "single" else width)[0],
                                      1.0))
        prop = FontProperties(family=plt.rcParams["font.sans-serif"][0], size=fs)
        bprop = FontProperties(family=plt.rcParams["font.sans-serif"][0], size=fs, weight="bold")

        from matplotlib.textpath import TextToPath
        ttp = TextToPath()

        def text_w(s, bold=False):
            # Width from the font's outlines (what PDF / SVG draw), times HINT_MARGIN:
            # raster output hints glyphs to the pixel grid, which widens a line by up to
            # ~8 % at 72 dpi (2-3 % at 150-600 dpi); measuring with the screen renderer
            # at one dpi and saving at another clipped labels ("ATO-basec").
            if not s:
                return 0.0
            w = max(ttp.get_text_width_height_descent(line, bprop if bold else prop,
                                                      ismath=False)[0]
                    for line in s.split("\n"))
            return w / 72.0 * HINT_MARGIN

        pad = 0.10
        indent_in = 0.12
        col_w = {"label": max([text_w(c, h) + indent_in * i
                               for c, h, i in zip(cells["label"], f["header"], f["indent"])]
                              + [text_w(heads["label"])]) + pad}
        for c in left_cols + right_cols:
            col_w[c] = max([text_w(heads[c], True)] + [text_w(v) for v in cells[c]]) + pad
        fixed = sum(col_w.values()) + 0.05
        W = fig.get_size_inches()[0]
        plot_w = W - fixed
        if plot_w < min_plot_in:
            plot_w = min_plot_in
            W = fixed + plot_w
        head_lines = max(h.count("\n") + 1 for h in heads.values())
        row_h = 0.19
        top_in = 0.12 + 0.16 * head_lines + (0.2 if two else 0.0) + (0.2 if title else 0.0)
        bottom_in = 0.42 + (0.16 if favours else 0.0)
        H = top_in + row_h * nrow + bottom_in
        fig.set_size_inches(W, H)
        y0, h = bottom_in / H, (row_h * nrow) / H
        x = 0.02 / W
        axes = {}
        for c in ["label", *left_cols, "plot", *right_cols]:
            w = plot_w if c == "plot" else col_w[c]
            axes[c] = fig.add_axes([x, y0, w / W, h])
            x += w / W
        pax = axes["plot"]
        pax.set_label("forest")
        for c, a in axes.items():
            a.set_ylim(nrow - 0.5, -0.5)
            if c != "plot":
                a.set_xlim(0, 1)
                a.set_axis_off()
        head_y = -0.5 - 0.25  # just above the first row
        for c, a in axes.items():
            if c == "plot":
                continue
            if c == "label":
                if heads["label"]:
                    a.text(0.0, head_y, heads["label"], ha="left", va="bottom", fontsize=fs,
                           gid="head:label", clip_on=False)
                continue
            a.text(0.5, head_y, heads[c], ha="center", va="bottom", fontsize=fs,
                   fontweight="bold", gid=f"head:{c}", clip_on=False, linespacing=1.1)
        lab_ax = axes["label"]
        for i, r in enumerate(f.itertuples()):
            lab_ax.text(indent_in * r.indent / col_w["label"], i, cells["label"][i], ha="left",
                        va="center", fontsize=fs, fontweight="bold" if r.header else "normal",
                        gid=f"cell:label:{i}", clip_on=False)
            for c in left_cols + right_cols:
                axes[c].text(0.5, i, cells[c][i], ha="center", va="center", fontsize=fs,
                             gid=f"cell:{c}:{i}", clip_on=False)
        offs = [(0.0, "s", "hr", "lower", "upper")] if not two else \
            [(-0.16, "o", "hr", "lower", "upper"), (0.16, "s", "hr2", "lower2", "upper2")]
        for k, (off, mk, c_hr, c_lo, c_hi) in enumerate(offs):
            col = color if k == 0 else PALETTE[1]
            ys, xs, cs = [], [], []
            for i, r in enumerate(f.itertuples()):
                hr, lo, hi = getattr(r, c_hr), getattr(r, c_lo), getattr(r, c_hi)
                if r.header or not (np.isfinite(hr) and hr > 0 and np.isfinite(lo) and lo > 0
                                    and np.isfinite(hi)):
                    continue
                lo_c, hi_c = max(lo, xlim[0]), min(hi, xlim[1])
                rc = row_color(r.label, col) if k == 0 else col
                pax.plot([lo_c, hi_c], [i + off, i + off], color=rc, lw=1.0, gid=f"ci:{k}:{i}",
                         solid_capstyle="butt")
                if hi > xlim[1]:
                    pax.plot([hi_c], [i + off], marker=">", color=rc, markersize=3.5)
                if lo < xlim[0]:
                    pax.plot([lo_c], [i + off], marker="<", color=rc, markersize=3.5)
                if xlim[0] <= hr <= xlim[1]:
                    ys.append(i + off)
                    xs.append(hr)
                    cs.append(rc if k == 0 else col)
            pax.plot(xs, ys, linestyle="none", marker=mk, color=col, markersize=4.2,
                     markerfacecolor=col if k == 0 else "white", gid=f"est:{k}",
                     label=model_labels[k] if two else None, zorder=3)
            for xx, yy, cc in zip(xs, ys, cs):
                if cc != col:  # a group level's colour from the run's palette
                    pax.plot([xx], [yy], linestyle="none", marker=mk, color=cc, markersize=4.2,
                             gid=f"est:{k}:{int(round(yy - off))}", zorder=4)
        pax.axvline(1.0, color="0.4", lw=0.7, linestyle=(0, (3, 2)), zorder=0)
        pax.set_xscale("log")
        pax.set_xlim(*xlim)
        ticks = log_ticks(*xlim)
        pax.set_xticks(ticks)
        pax.set_xticklabels([f"{t:g}" for t in ticks])
        pax.minorticks_off()
        pax.set_yticks([])
        pax.spines["left"].set_visible(False)
        pax.set_xlabel(f"{ratio_label} (log scale)")
        if favours:
            pax.annotate(f"\u2190 {favours[0]}", xy=(1.0, 0), xycoords=("data", "axes fraction"),
                         xytext=(-3, -15), textcoords="offset points", ha="right", va="top",
                         fontsize=fs, gid="favours:left", annotation_clip=False)
            pax.annotate(f"{favours[1]} \u2192", xy=(1.0, 0), xycoords=("data", "axes fraction"),
                         xytext=(3, -15), textcoords="offset points", ha="left", va="top",
                         fontsize=fs, gid="favours:right", annotation_clip=False)
            pax.xaxis.labelpad = 13
        if two:
            pax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2, fontsize=fs,
                       handletextpad=0.2, columnspacing=0.8, borderaxespad=0.15, frameon=False)
        if title:
            fig.text(0.02 / W, 1 - 0.05 / H, title, ha="left", va="top",
                     fontsize=plt.rcParams["axes.titlesize"], gid="title")
    return fig
