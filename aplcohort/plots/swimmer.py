"""Swimmer plot: one lane per patient from first relapse onwards.

:func:`swimmer_events` (pure) turns a canonical cohort DataFrame (columns of
``aplcohort/cohort/dictionary.yaml``) into lane ends and event times relative to
the first relapse; :func:`plot_swimmer` draws the lanes (coloured by a chosen
column), event markers (reinduction, CR2 / mCR2, post-remission therapy, second
relapse, salvage, death) and an arrow for patients alive at last follow-up.
Marker shapes differ so the plot reads in greyscale.

Marker colours are black, white and Okabe–Ito yellow only (:data:`~aplcohort.plots.style.MARKER_COLORS`),
which no group level is ever given, so every marker stays visible on every lane
colour; each marker also has its own shape and a black edge.

Overlapping markers: events of one patient closer together than one marker width
(e.g. reinduction, mCR2 and post-remission therapy within weeks, on an axis of
years) are drawn side by side: each marker is moved right just enough to touch the
previous one (:func:`dodge_positions`, in the order the events happened). The
events' true times are those of :func:`swimmer_events`; only the drawing is
offset, by at most a few marker widths.
"""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from ..errors import InputError
from .style import OKABE_ITO, Palette, column_width, journal_style

UNIT_DAYS = {"days": 1.0, "weeks": 7.0, "months": 365.25 / 12, "years": 365.25}

#: Event -> (date column, marker, face colour, edge colour, legend label)
EVENTS = {
    "reinduction": ("reinduction_start_date", "|", "black", "black", "Reinduction"),
    "mCR2": ("response_date", "o", "black", "black", "mCR2"),
    "CR2": ("response_date", "o", "white", "black", "CR2 (PCR+ / NA)"),
    "postremission": ("postremission_start_date", "D", "white", "black", "Post-remission therapy"),
    "relapse2": ("relapse2_date", "X", OKABE_ITO["yellow"], "black", "Second relapse"),
    "salvage2": ("salvage2_start_date", "^", "white", "black", "Salvage"),
    "death": ("death_date", "s", "black", "black", "Death"),
    "alive": ("last_followup_date", ">", "black", "black", "Alive at last follow-up"),
}
#: Marker size (points) of the event markers; the dodge distance is one marker width.
MARKER_PT = 3.8


def dodge_positions(times, min_gap: float) -> np.ndarray:
    """Drawing positions of one lane's markers so that none overlaps the previous one.

    ``times`` are in drawing order (ascending); each position is
    ``max(time, previous position + min_gap)``, so markers closer than ``min_gap``
    (one marker width, in data units) sit side by side in the order the events
    happened, and markers far apart are not moved.

    Examples
    --------
    >>> dodge_positions([0.0, 0.5, 1.0, 20.0], min_gap=2.0).tolist()
    [0.0, 2.0, 4.0, 20.0]
    """
    t = np.asarray(times, dtype=float)
    out = t.copy()
    for i in range(1, t.size):
        out[i] = max(t[i], out[i - 1] + float(min_gap))
    return out


def _dates(df, col):
    if col not in df.columns:
        return pd.Series(pd.NaT, index=df.index)
    try:
        return pd.to_datetime(df[col], errors="raise")
    except (ValueError, TypeError) as exc:
        raise InputError(f"column {col!r} holds values that are not dates ({exc}); validate the "
                         "cohort first (aplcohort.cohort.validate)") from None


def swimmer_events(df: pd.DataFrame, *, unit: str = "months", id_col: str = "patient_id",
                   time_zero: str = "relapse1_date") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Lane ends and event times from first relapse (pure).

    Parameters
    ----------
    df : DataFrame
        Canonical cohort columns: ``patient_id``, ``relapse1_date``,
        ``last_followup_date`` and any of ``reinduction_start_date``, ``response``,
        ``response_date``, ``postremission_start_date``, ``relapse2_date``,
        ``salvage2_start_date``, ``death_date``, ``data_cutoff_date``.
    unit : {"days", "weeks", "months", "years"}
        Months are 365.25 / 12 days, years 365.25 days.

    Returns
    -------
    lanes : DataFrame [patient_id, end, status] (status "dead" or "alive"; follow-up
        ends at death, else at last follow-up, capped at the data cut-off)
    events : DataFrame [patient_id, event, time] (event in :data:`EVENTS`), events after
        the end of follow-up are not shown.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"patient_id": ["P1"], "relapse1_date": ["2020-01-01"],
    ...                    "reinduction_start_date": ["2020-01-03"], "response": ["mCR2"],
    ...                    "response_date": ["2020-03-01"], "death_date": [None],
    ...                    "last_followup_date": ["2021-01-01"]})
    >>> lanes, ev = swimmer_events(df, unit="days")
    >>> lanes.values.tolist(), ev[["event", "time"]].values.tolist()
    ([['P1', 366.0, 'alive']], [['reinduction', 2.0], ['mCR2', 60.0], ['alive', 366.0]])
    """
    if unit not in UNIT_DAYS:
        raise InputError(f"unit must be one of {list(UNIT_DAYS)}; got {unit!r}")
    for c in (id_col, time_zero, "last_followup_date"):
        if c not in df.columns:
            raise InputError(f"the swimmer plot needs column {c!r}; columns: {list(df.columns)}")
    t0 = _dates(df, time_zero)
    if t0.isna().any():
        ids = df.loc[t0.isna(), id_col].tolist()
        raise InputError(f"{len(ids)} patients have no {time_zero} (ids {ids[:10]}); a lane starts "
                         "at first relapse, so filter them explicitly")
    scale = UNIT_DAYS[unit]
    death = _dates(df, "death_date")
    last = _dates(df, "last_followup_date")
    cut = _dates(df, "data_cutoff_date")
    end_date = death.where(death.notna(), last)
    end_date = end_date.where(cut.isna() | (end_date <= cut), cut)
    if end_date.isna().any():
        ids = df.loc[end_date.isna(), id_col].tolist()
        raise InputError(f"patients {ids[:10]} have neither death_date nor last_followup_date")
    end = (end_date - t0).dt.days / scale
    if (end < 0).any():
        ids = df.loc[end < 0, id_col].tolist()
        raise InputError(f"patients {ids[:10]} end follow-up before {time_zero}")
    dead = death.notna() & (cut.isna() | (death <= cut))
    lanes = pd.DataFrame({"patient_id": df[id_col].astype(str).to_numpy(), "end": end.to_numpy(float),
                          "status": np.where(dead, "dead", "alive")})
    resp = df["response"].astype(object) if "response" in df.columns else pd.Series(None, index=df.index)
    recs = []
    for name, (col, *_rest) in EVENTS.items():
        if name in ("alive", "death"):
            continue
        d = _dates(df, col)
        if name in ("mCR2", "CR2"):
            d = d.where(resp == name)
        t = (d - t0).dt.days / scale
        for pid, tt, e in zip(lanes["patient_id"], t, end):
            if pd.notna(tt) and tt <= e:
                recs.append((pid, name, float(tt)))
    for pid, e, st in lanes.itertuples(index=False):
        recs.append((pid, "death" if st == "dead" else "alive", float(e)))
    order = {k: i for i, k in enumerate(EVENTS)}
    ev = pd.DataFrame(recs, columns=["patient_id", "event", "time"])
    ev["_o"] = ev["event"].map(order)
    pos = {p: i for i, p in enumerate(lanes["patient_id"])}
    ev["_p"] = ev["patient_id"].map(pos)
    ev = ev.sort_values(["_p", "time", "_o"], kind="stable").drop(columns=["_o", "_p"])
    return lanes, ev.reset_index(drop=True)


_TITLES = {"postremission_modality": "Post-remission treatment",
           "reinduction_regimen": "Reinduction", "salvage2_modality": "Salvage after 2nd relapse",
           "relapse_type": "Relapse type"}


def _legend_title(column, labels) -> str:
    """The colour legend's title: the column's label from the label resolver (data
    dictionary, plan ``labels:``), as tables print it."""
    from ..tables.labels import Labels, resolve_labels
    lab = labels if isinstance(labels, Labels) else resolve_labels()
    if str(column) in lab.columns:
        return lab.column(column, unit=False)
    return _TITLES.get(column, str(column).replace("_", " ").capitalize())


def _level_text(labels, column, level) -> str:
    from ..tables.labels import Labels
    if isinstance(labels, Labels):
        return labels.level(column, level)
    return str((labels or {}).get(level, level))


def plot_swimmer(df: pd.DataFrame, ax=None, *, color_by: str | None = "postremission_modality",
                 sort_by: str | None = None, unit: str = "months", order=None,
                 colors: Mapping | None = None, labels: Mapping | None = None,
                 show_ids: bool | None = None, id_col: str = "patient_id", width="double",
                 lane_height_in: float = 0.11, missing_label: str = "not recorded",
                 title: str | None = None, palette: Palette | None = None,
                 dodge: bool = True, allow_identifiers: bool = False):
    """Swimmer plot of a canonical cohort from first relapse.

    Parameters
    ----------
    df : DataFrame (canonical cohort columns; see :func:`swimmer_events`)
    ax : Axes, optional
    color_by : str or None
        Column colouring the lanes (e.g. ``"postremission_modality"``,
        ``"reinduction_regimen"``); missing values are shown as ``missing_label``.
    sort_by : str or None
        Lanes are grouped by this column (default: ``color_by``) in ``order``, and
        within a group sorted by follow-up, longest at the top.
    unit : {"days", "weeks", "months", "years"}
    show_ids : bool
        Patient ids as y tick labels (default: only when lanes are >= 0.11 in high).
    labels : mapping {level: label} or Labels, optional
        Legend names of the ``color_by`` levels; a :class:`~aplcohort.tables.labels.Labels`
        (``resolve_labels(plan)``) gives the level names and the legend title of the
        plan, as its tables print them. Default: the data dictionary's column label.
    palette : Palette, optional
        Lane colour per level shared with the run's other figures; ``colors`` wins.
        Without one, a palette of the levels in order (missing level grey).
    dodge : bool
        Draw a patient's markers that are closer than one marker width side by side
        (:func:`dodge_positions`); ``False`` draws every marker at its exact time.
    allow_identifiers : bool
        ``color_by``, ``sort_by`` or a shown ``id_col`` that identifies patients (a name,
        an MRN, a per-patient date ...: :mod:`aplcohort.plan.identifiers`) is refused
        unless ``True`` (identified output intended and permitted).

    Returns
    -------
    Axes; each lane bar has gid ``"lane:<patient_id>"``, markers ``"event:<event>"``.

    Validated against: lane ends and event times are checked by hand in
    ``tests/test_plots_swimmer.py``.
    """
    from ..plan.identifiers import refuse_identifiers
    refuse_identifiers("plot_swimmer", [(color_by, "plot colour", True),
                                        (sort_by, "plot order", False),
                                        (id_col if show_ids is not False else None,
                                         "lane label", True)],
                       allow_identifiers=allow_identifiers, data=df)
    lanes, ev = swimmer_events(df, unit=unit, id_col=id_col)
    sort_by = sort_by if sort_by is not None else color_by
    cat = None
    if color_by is not None:
        if color_by not in df.columns:
            raise InputError(f"color_by column {color_by!r} not in the data")
        cat = df[color_by].astype(object).where(df[color_by].notna(), missing_label).astype(str).to_numpy()
    lanes["colour_key"] = cat if cat is not None else "all"
    if sort_by is not None:
        if sort_by not in df.columns:
            raise InputError(f"sort_by column {sort_by!r} not in the data")
        key = df[sort_by].astype(object).where(df[sort_by].notna(), missing_label).astype(str).to_numpy()
    else:
        key = np.array(["all"] * len(df))
    lanes["sort_key"] = key
    # default order: the data dictionary's level order (as tables and plan analyses),
    # levels outside it alphabetically after
    from ..tables.labels import Labels, resolve_labels
    lab = labels if isinstance(labels, Labels) else resolve_labels()
    levels = (list(order) if order is not None
              else lab.order(color_by, pd.unique(lanes["colour_key"])))
    if order is None and palette is not None:
        # the legend lists levels in the run's order (as every other figure), "no group"
        # levels (none, not reinduced, ...) after the groups, unknown ones last
        from .style import _is_neutral
        known = {lv: i for i, lv in enumerate(palette.levels)}
        levels = sorted(levels, key=lambda lv: (_is_neutral(lv), known.get(lv, len(known)),
                                                str(lv)))
    if missing_label in levels:
        levels = [lv for lv in levels if lv != missing_label] + [missing_label]
    extra = sorted(set(lanes["colour_key"]) - set(levels))
    if extra:
        raise InputError(f"order misses levels {extra} of {color_by!r}")
    skey_levels = levels if sort_by == color_by else lab.order(sort_by, pd.unique(lanes["sort_key"]))
    lanes["_k"] = lanes["sort_key"].map({k: i for i, k in enumerate(skey_levels)})
    lanes = lanes.sort_values(["_k", "end"], ascending=[True, False], kind="stable").reset_index(drop=True)
    pal = palette if palette is not None else Palette(levels)
    cmap = {lv: (colors or {}).get(lv) or pal.color(lv) for lv in levels}
    if missing_label in cmap and not (colors or {}).get(missing_label) \
            and missing_label not in pal:
        cmap[missing_label] = "0.75"
    n = len(lanes)
    if n == 0:
        raise InputError("no patients to draw")
    if show_ids is None:
        show_ids = lane_height_in >= 0.11 and n <= 60
    own_fig = ax is None
    with journal_style():
        if ax is None:
            n_leg = len(levels) + len(EVENTS) + 2
            H = max(0.75 + lane_height_in * n, 0.6 + 0.16 * n_leg)
            W = column_width(width)
            left = (0.45 if show_ids else 0.3) / W
            fig = plt.figure(figsize=(W, H))
            ax = fig.add_axes([left, 0.5 / H, 1 - left - 2.0 / W, 1 - 0.6 / H])
        ypos = {pid: i for i, pid in enumerate(lanes["patient_id"])}
        xmax = lanes["end"].max() * 1.04
        ax.set_xlim(0, xmax)
        ev = ev.copy()
        ev["x"] = ev["time"].astype(float)
        ev.loc[ev["event"] == "alive", "x"] += 0.008 * max(1.0, lanes["end"].max())
        if dodge and xmax > 0:
            fig_w = ax.figure.get_size_inches()[0] * ax.get_position().width
            gap = MARKER_PT / 72.0 / fig_w * xmax  # one marker width in data units
            ev["x"] = ev.groupby("patient_id", sort=False)["x"].transform(
                lambda v: dodge_positions(v.to_numpy(float), gap))
        for r in lanes.itertuples():
            ax.barh(r.Index, r.end, height=0.62, left=0, color=cmap[r.colour_key], edgecolor="none",
                    gid=f"lane:{r.patient_id}")
        for name, (_col, mk, face, edge, _lab) in EVENTS.items():
            sub = ev[ev["event"] == name]
            if sub.empty:
                continue
            y = sub["patient_id"].map(ypos).to_numpy(float)
            x = sub["x"].to_numpy(float)
            ax.plot(x, y, linestyle="none", marker=mk, markersize=MARKER_PT if mk != "|" else 4.5,
                    markerfacecolor=face, markeredgecolor=edge, markeredgewidth=0.7,
                    gid=f"event:{name}", zorder=3)
        ax.set_ylim(n - 0.5, -0.5)
        if show_ids:
            ax.set_yticks(range(n))
            ax.set_yticklabels(lanes["patient_id"], fontsize=7)
        else:
            ax.set_yticks([])
        ax.spines["left"].set_visible(False)
        ax.set_xlabel(f"Time from first relapse ({unit})")
        ax.set_ylabel(f"Patients (n = {n})" if not show_ids and sort_by in (None, color_by) else "")
        if sort_by is not None and sort_by != color_by:
            # facet-style labels of the sort groups, left of the lanes (and of the ids)
            from matplotlib.font_manager import FontProperties
            from matplotlib.textpath import TextToPath
            import matplotlib.transforms as mtransforms
            prop = FontProperties(family="DejaVu Sans", size=7)
            ids_w = max(TextToPath().get_text_width_height_descent(str(i), prop, ismath=False)[0]
                        for i in lanes["patient_id"]) + 6 if show_ids else 2
            tr = mtransforms.offset_copy(ax.get_yaxis_transform(), fig=ax.figure,
                                         x=-(ids_w + 4), units="points")
            for k, sub in lanes.groupby("_k", sort=True):
                y0, y1 = sub.index.min() - 0.4, sub.index.max() + 0.4
                ax.plot([0, 0], [y0, y1], transform=tr, color="0.3", lw=0.8, clip_on=False,
                        gid=f"sortgroup:{skey_levels[k]}")
                ax.text(0, (y0 + y1) / 2, lab.level(sort_by, skey_levels[k]), transform=tr,
                        rotation=90,
                        ha="right", va="center", fontsize=7, clip_on=False,
                        gid=f"sortlabel:{skey_levels[k]}")
                if y0 > 0:
                    ax.axhline(y0 - 0.1, color="0.75", lw=0.5, zorder=0)
        blank = Line2D([], [], linestyle="none")
        cat_title = _legend_title(color_by, labels) if color_by else ""
        if color_by is not None:
            handles = [blank] + [Patch(facecolor=cmap[lv]) for lv in levels]
            names = [cat_title] + [_level_text(labels, color_by, lv) for lv in levels]
        else:
            handles, names = [], []
        shown = [e for e in EVENTS if (ev["event"] == e).any()]
        handles += [blank] + [Line2D([], [], linestyle="none", marker=EVENTS[e][1],
                                     markerfacecolor=EVENTS[e][2], markeredgecolor=EVENTS[e][3],
                                     markersize=4.5, markeredgewidth=0.8) for e in shown]
        names += ["Events"] + [EVENTS[e][4] for e in shown]
        leg = ax.legend(handles, names, loc="upper left", bbox_to_anchor=(1.02, 1.0),
                        borderaxespad=0, frameon=False, handlelength=1.4)
        for txt, name in zip(leg.get_texts(), names):
            if name in (cat_title, "Events") and name:
                txt.set_fontweight("bold")
        if title:
            ax.set_title(title, loc="left")
        if own_fig:
            # sort-group labels and ids left of the lanes, the legend right of them: all
            # inside the figure, so a plain savefig cuts nothing off
            from .survival import fit_inside
            fit_inside(ax.figure)
    return ax
