"""Multi-state figures: stacked state occupancy, transition diagram, CLFS with DFS/OS.

The numbers a figure shows come from pure functions tested on their own
(:func:`occupancy_stack`, :func:`diagram_layout`, the result's ``risk_table``);
the plotting functions take and return matplotlib Axes.  State colours are fixed by
the state order (:func:`state_colors`, Okabe–Ito palette as every other figure;
death is grey) so one state has one colour throughout a run.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import InputError
from .style import OKABE_ITO, PALETTE, figure_size, journal_style

__all__ = ["state_colors", "occupancy_stack", "plot_state_occupancy", "diagram_layout",
           "plot_transition_diagram", "plot_clfs"]

DEATH_COLOR = "#BBBBBB"
#: remission states: cool colours (Okabe–Ito greens/blues, then Tol's teal/green)
REMISSION_COLORS = (OKABE_ITO["bluish green"], OKABE_ITO["blue"], OKABE_ITO["sky blue"],
                    "#44AA99", "#117733", "#88CCEE")
#: disease states (relapse, salvage): warm colours
DISEASE_COLORS = (OKABE_ITO["vermillion"], OKABE_ITO["orange"], OKABE_ITO["reddish purple"],
                  OKABE_ITO["yellow"], "#882255", "#AA4499")
#: the bundled model's remission states (used when none are given)
DEFAULT_REMISSION = ("CR2", "ATO-based", "auto HSCT", "allo HSCT", "CR3")


def state_colors(states, absorbing=("death",), remission=None) -> dict:
    """Colour of each state, fixed by state order: remission states in cool colours,
    disease states in warm colours, absorbing states grey.

    Examples
    --------
    >>> c = state_colors(["relapse1", "CR2", "death"])
    >>> c["CR2"], c["relapse1"], c["death"]
    ('#009E73', '#D55E00', '#BBBBBB')
    """
    rem = set(DEFAULT_REMISSION if remission is None else remission)
    out, kr, kd = {}, 0, 0
    for s in states:
        if s in absorbing:
            out[s] = DEATH_COLOR
        elif s in rem:
            out[s] = REMISSION_COLORS[kr % len(REMISSION_COLORS)]
            kr += 1
        else:
            out[s] = DISEASE_COLORS[kd % len(DISEASE_COLORS)]
            kd += 1
    return out


def occupancy_stack(result, group=None, states=None) -> pd.DataFrame:
    """Step data of a stacked occupancy plot: cumulative probability by state.

    Returns
    -------
    DataFrame ``[time, state, estimate, bottom, top]`` (time 0 = initial
    distribution); ``top`` of the last state is 1 at every time.
    """
    groups = list(result.groups)
    g = groups[0] if group is None else group
    if g not in groups:
        raise InputError(f"group {g!r} not in the result; groups: {groups}")
    states = list(result.states if states is None else states)
    bad = [s for s in states if s not in result.states]
    if bad:
        raise InputError(f"states {bad} are not in the result {list(result.states)}")
    occ = result.occupancy[result.occupancy["group"] == g]
    wide = occ.pivot(index="time", columns="state", values="estimate")[states]
    p0 = result.p0[result.p0["group"] == g].set_index("state")["p0"]
    start = min(0.0, float(wide.index.min()))
    if start not in wide.index:
        wide = pd.concat([pd.DataFrame([p0[states].to_numpy()], index=[start],
                                       columns=states), wide])
    top = wide.cumsum(axis=1)
    rows = []
    for s in states:
        rows.append(pd.DataFrame({"time": wide.index.to_numpy(), "state": s,
                                  "estimate": wide[s].to_numpy(),
                                  "bottom": (top[s] - wide[s]).to_numpy(),
                                  "top": top[s].to_numpy()}))
    return pd.concat(rows, ignore_index=True)


#: Colours given to a state whose default colour is taken by a group level of the run's
#: palette (Paul Tol's muted scheme, colour-blind safe).
SPARE_STATE_COLORS = ("#332288", "#88CCEE", "#44AA99", "#117733", "#999933", "#DDCC77",
                      "#CC6677", "#882255", "#AA4499")


def palette_state_colors(states, palette, base: dict) -> dict:
    """State colours with the run's palette: a state named like a group level (e.g. the
    post-remission states "ATO-based", "auto HSCT", "allo HSCT") takes that level's
    colour, as in the KM / CIF / swimmer figures; any other state whose colour would
    then be used twice gets a spare one (pure).

    Examples
    --------
    >>> from aplcohort.plots.style import Palette
    >>> c = palette_state_colors(["CR2", "allo HSCT", "death"], Palette(["allo HSCT"]),
    ...                          {"CR2": "#0072B2", "allo HSCT": "#009E73", "death": "#BBBBBB"})
    >>> c["allo HSCT"] == Palette(["allo HSCT"]).color("allo HSCT"), c["CR2"] != c["allo HSCT"]
    (True, True)
    """
    cols = dict(base)
    if palette is None:
        return cols
    fixed = {s for s in states if s in palette}
    for s in fixed:
        cols[s] = palette.color(s)
    taken = {str(cols[s]).lower() for s in fixed}
    spare = [c for c in SPARE_STATE_COLORS if c.lower() not in taken]
    for s in states:
        if s in fixed:
            continue
        if str(cols[s]).lower() in taken:
            cols[s] = spare.pop(0) if spare else "#777777"
        taken.add(str(cols[s]).lower())
    return cols


def plot_state_occupancy(result, group=None, ax=None, *, states=None, colors=None,
                         xlabel="Time", title=None, width="single", xmax=None, palette=None):
    """Stacked state-occupancy plot of one group (Aalen–Johansen probabilities).

    Parameters
    ----------
    result : StateOccupancyResult
    group : optional
        Group to draw (default the first).
    ax : matplotlib Axes, optional
    states : sequence, optional
        Stacking order bottom-up (default: the result's state order).
    colors : dict, optional
        ``{state: colour}`` (default :func:`state_colors`).
    palette : Palette, optional
        The run's group colours: states named like a group level take its colour
        (:func:`palette_state_colors`); ``colors`` still wins.
    xlabel, title : str
    width : str or float
        Journal column width when a new figure is made.
    xmax : float, optional

    Returns
    -------
    matplotlib Axes
    """
    import matplotlib.pyplot as plt

    from .survival import check_curve_kind
    check_curve_kind(result, "plot_state_occupancy", "state occupancy")
    data = occupancy_stack(result, group, states)
    states = list(dict.fromkeys(data["state"]))
    cols = palette_state_colors(list(result.states), palette, state_colors(result.states))
    cols.update(colors or {})
    own_fig = ax is None
    with journal_style():
        if ax is None:
            fig, ax = plt.subplots(figsize=figure_size(width, aspect=0.7))
        for s in states:
            d = data[data["state"] == s]
            t = np.r_[d["time"].to_numpy(), xmax if xmax else d["time"].max()]
            lo = np.r_[d["bottom"].to_numpy(), d["bottom"].to_numpy()[-1]]
            hi = np.r_[d["top"].to_numpy(), d["top"].to_numpy()[-1]]
            ax.fill_between(t, lo, hi, step="post", color=cols[s], alpha=0.85, lw=0,
                            label=s, gid=f"state:{s}")
        ax.set_xlim(0, xmax if xmax else float(data["time"].max()))
        ax.set_ylim(0, 1)
        ax.set_xlabel(xlabel)
        ax.set_ylabel("Probability of being in state")
        h, lab = ax.get_legend_handles_labels()
        ax.legend(h[::-1], lab[::-1], loc="center left", bbox_to_anchor=(1.01, 0.5),
                  fontsize=7)
        if title:
            ax.set_title(title, loc="left")
        if own_fig:  # the legend right of the axes inside the figure (plain savefig keeps it)
            from .survival import fit_inside
            fit_inside(ax.figure)
    return ax


def _depths(model):
    """Column of each state: longest path from the first state (death in the last)."""
    names = list(model.state_names)
    depth = {names[0]: 0}
    for _ in names:  # Bellman-Ford style relaxation on the (acyclic) model
        for a, b in model.transitions:
            if a in depth and b not in model.absorbing_states:
                depth[b] = max(depth.get(b, 0), depth[a] + 1)
    for s in names:
        depth.setdefault(s, 0)
    return depth


def diagram_layout(model, counts: pd.DataFrame) -> tuple:
    """Box positions and edge labels of a state-transition diagram (pure).

    Parameters
    ----------
    model : StateModel
    counts : DataFrame
        ``[from_state, to_state, n]`` (e.g. ``TransitionsData.transition_counts()``).

    Returns
    -------
    (boxes, edges)
        ``boxes``: DataFrame ``[state, x, y]`` (x = column of the disease course, y =
        row); ``edges``: DataFrame ``[from_state, to_state, n, label]`` for every
        allowed transition (``n`` = 0 when nobody made it) plus any observed one.
    """
    depth = _depths(model)
    boxes = []
    cols = {}
    for s in model.state_names:
        if s not in model.absorbing_states:
            cols.setdefault(depth[s], []).append(s)
    for x, ss in cols.items():
        for i, s in enumerate(ss):
            boxes.append((s, float(x), (len(ss) - 1) / 2.0 - i))
    # absorbing states (death) in a row below everything, centred
    ymin = min(b[2] for b in boxes) if boxes else 0.0
    xs = [b[1] for b in boxes] or [0.0]
    ab = list(model.absorbing_states)
    for i, s in enumerate(ab):
        boxes.append((s, (min(xs) + max(xs)) / 2.0 + (i - (len(ab) - 1) / 2.0) * 2.0,
                      ymin - 1.3))
    n = {(r.from_state, r.to_state): int(r.n) for r in counts.itertuples()}
    edges = [(a, b, n.get((a, b), 0)) for a, b in model.transitions]
    edges += [(a, b, v) for (a, b), v in n.items() if (a, b) not in model.transitions]
    e = pd.DataFrame(edges, columns=["from_state", "to_state", "n"])
    e["label"] = e["n"].map(lambda v: f"n={v}")
    return pd.DataFrame(boxes, columns=["state", "x", "y"]), e


def plot_transition_diagram(model, counts, ax=None, *, show_zero=False, width="double",
                            title=None, palette=None):
    """State-transition diagram with the number of patients making each transition.

    Parameters
    ----------
    model : StateModel
    counts : DataFrame ``[from_state, to_state, n]``
    ax : matplotlib Axes, optional
    show_zero : bool
        Draw allowed transitions nobody made (dotted).
    width : str or float
    title : str, optional
    palette : Palette, optional
        The run's group colours: a state named like a group level takes its colour, as in
        :func:`plot_state_occupancy`.

    Returns
    -------
    matplotlib Axes
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    boxes, edges = diagram_layout(model, counts)
    pos = {r.state: (r.x, r.y) for r in boxes.itertuples()}
    cols = palette_state_colors(list(model.state_names), palette,
                                state_colors(model.state_names, model.absorbing_states))
    bw, bh = 0.8, 0.42
    with journal_style():
        if ax is None:
            ny = boxes["y"].max() - boxes["y"].min() + 1
            fig, ax = plt.subplots(figsize=figure_size(width, height_mm=22 * ny + 10))
        for s, (x, y) in pos.items():
            w = bw * (3 if s in model.absorbing_states else 1)
            ax.add_patch(FancyBboxPatch((x - w / 2, y - bh / 2), w, bh,
                                        boxstyle="round,pad=0.02", fc=cols[s], ec="black",
                                        lw=0.6, alpha=0.9, gid=f"box:{s}"))
            dark = cols[s] in (OKABE_ITO["blue"], OKABE_ITO["vermillion"], "#117733",
                               "#882255", "#AA4499", OKABE_ITO["bluish green"], "#332288")
            label = s.replace(" ", "\n", 1) if len(s) > 10 else s
            ax.text(x, y, label, ha="center", va="center", fontsize=7, linespacing=1.0,
                    color="white" if dark else "black", gid=f"label:{s}")
        for r in edges.itertuples():
            if r.n == 0 and not show_zero:
                continue
            (x0, y0), (x1, y1) = pos[r.from_state], pos[r.to_state]
            to_abs = r.to_state in model.absorbing_states
            rad = 0.0 if abs(y1 - y0) < 1e-9 or to_abs else 0.12
            if to_abs:  # from the bottom of the box down to the death row
                frac = np.clip((x0 - x1) / (bw * 3), -0.45, 0.45)
                start, end = (x0, y0 - bh / 2), (x1 + frac * bw * 3, y1 + bh / 2)
            else:
                start, end = (x0 + bw / 2, y0), (x1 - bw / 2, y1)
            arr = FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=7,
                                  lw=0.5 + 0.12 * min(r.n, 20), color="#333333",
                                  linestyle=":" if r.n == 0 else "-",
                                  connectionstyle=f"arc3,rad={rad}", shrinkA=0, shrinkB=0,
                                  gid=f"edge:{r.from_state}->{r.to_state}")
            ax.add_patch(arr)
            f = 0.25 if to_abs else 0.5
            mx = start[0] + f * (end[0] - start[0])
            my = start[1] + f * (end[1] - start[1])
            ax.text(mx, my, str(r.n), fontsize=7, ha="center", va="center",
                    bbox=dict(boxstyle="round,pad=0.1", fc="white", ec="none", alpha=0.9),
                    gid=f"count:{r.from_state}->{r.to_state}")
        ax.set_xlim(boxes["x"].min() - 0.5, boxes["x"].max() + 0.5)
        ax.text(boxes["x"].min() - 0.45, boxes["y"].min() - 0.4,
                "numbers: patients making each transition", fontsize=7, ha="left",
                va="bottom", color="#555555")
        ax.set_ylim(boxes["y"].min() - 0.5, boxes["y"].max() + 0.5)
        ax.set_aspect("auto")
        ax.axis("off")
        if title:
            ax.set_title(title, loc="left")
    return ax


def plot_clfs(result, group=None, ax=None, *, measures=("CLFS", "DFS", "OS"), times=None,
              ci=("CLFS",), risk_table=True, xlabel="Time", title=None, width="single"):
    """CLFS beside DFS and OS, with a CI band and a risk table (patients under follow-up).

    Parameters
    ----------
    result : CLFSResult
    group : optional
        Group to draw (default the first).
    ax : matplotlib Axes, optional
    measures : sequence of str
        Measures to draw (those not in the result, e.g. DFS without a remission time
        zero, are skipped and named in the legend title).
    times : sequence of float, optional
        x ticks and risk-table times.
    ci : sequence of str
        Measures drawn with their pointwise CI band.
    risk_table : bool
    xlabel, title : str
    width : str or float

    Returns
    -------
    matplotlib Axes
    """
    from .survival import _draw_risk_table, _new_axes, _step_xy, check_curve_kind, default_ticks

    check_curve_kind(result, "plot_clfs", "current leukaemia-free survival")
    groups = list(result.groups)
    g = groups[0] if group is None else group
    if g not in groups:
        raise InputError(f"group {g!r} not in the result; groups: {groups}")
    unknown = [m for m in measures if m not in result.measures and m not in result.notes]
    if unknown:
        raise InputError(f"measures {unknown} are not in the result {list(result.measures)}")
    draw = [m for m in measures if m in result.measures]
    cur = result.curves[result.curves["group"] == g]
    tmax = float(cur["time"].max())
    ticks = np.asarray(times, float) if times is not None else default_ticks(tmax)
    styles = {"CLFS": dict(color=PALETTE[0], linestyle="-"),
              "DFS": dict(color=PALETTE[1], linestyle=(0, (5.0, 2.0))),
              "OS": dict(color="#000000", linestyle=(0, (1.0, 1.5))),
              "alive after relapse2": dict(color=PALETTE[2], linestyle=(0, (6, 2, 1, 2)))}
    with journal_style():
        if ax is None:
            ax = _new_axes(width, None, 2 if risk_table else 0)
        a0 = result.measure_at([0.0])
        start0 = a0[a0["group"] == g].set_index("measure")["estimate"]
        for m in draw:
            c = cur[cur["measure"] == m]
            st = styles.get(m, dict(color=PALETTE[3], linestyle="-"))
            # value at time 0 (initial distribution; 1 for a KM curve)
            start = float(start0.loc[m])
            x, y = _step_xy(c["time"], c["estimate"], start)
            ax.step(x, y, where="post", label=m, gid=f"curve:{m}", **st)
            if m in ci:
                lx, lo = _step_xy(c["time"], c["lower"], y[0])
                _, hi = _step_xy(c["time"], c["upper"], y[0])
                ax.fill_between(lx, lo, hi, step="post", color=st["color"], alpha=0.15, lw=0)
        ax.set_xticks(ticks)
        ax.set_xlim(0, float(ticks[-1]))
        ax.set_ylim(0, 1.02)
        ax.set_xlabel(xlabel)
        ax.set_ylabel("Probability")
        skipped = [m for m in measures if m not in draw]
        ax.legend(loc="lower left", title=("not shown: " + ", ".join(skipped)) if skipped
                  else None)
        if title:
            ax.set_title(title, loc="left")
        if risk_table:
            rt = result.risk_table(ticks)
            rt = rt[rt["group"] == g].assign(group="under follow-up")
            _draw_risk_table(ax, rt, ticks, ["under follow-up"],
                             {"under follow-up": "alive"},
                             {"under follow-up": {"color": "black"}}, ("n_risk",), xlabel)
    return ax
