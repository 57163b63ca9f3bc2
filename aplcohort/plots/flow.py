"""Patient flow diagram (CONSORT-style) drawn from an attrition log.

:func:`flow_layout` is a pure function turning an
:class:`~aplcohort.cohort.attrition.AttritionLog` (plus group counts) into boxes
and arrows with their texts and counts; :func:`plot_flow` only draws them. The
layout is computed in points at the requested journal width, so text is wrapped
to fit the boxes and stays readable (7.5 pt) at single-column width (85 mm).

Example (the Min 2022 Fig. 1 structure)::

    52 relapsed ─┬─> Not reinduced (n = 11): reasons
                 v
         41 reinduced ──> [ATO-based 30] [IC 11]
                 ├─> No ATO / HSCT consolidation (n = 4)
                 v
         37 post-remission therapy ──> [ATO 19] [auto 12] [allo 6]
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.font_manager import FontProperties
from matplotlib.patches import FancyBboxPatch
from matplotlib.textpath import TextToPath

from ..errors import InputError
from .style import column_width, journal_style

FONT_PT = 7.5
_LINE = 1.25    # line height / font size
_PAD = 3.5      # text padding inside a box (pt)
_GAP = 12.0     # vertical gap between boxes (pt)
_TTP = TextToPath()


def _text_width(s: str, fs: float) -> float:
    """Width in points of ``s`` set in DejaVu Sans at ``fs`` pt (measured, not estimated)."""
    prop = FontProperties(family="DejaVu Sans", size=fs)
    return _TTP.get_text_width_height_descent(s, prop, ismath=False)[0]


def _wrap(text: str, width_pt: float, fs: float) -> list[str]:
    """Greedy word wrap to the measured box width; "(n = 4)" is never split."""
    from .style import TEXT_MAX_LINES, shorten_text
    avail = width_pt - 2 * _PAD
    text = str(text)
    if len(text) > 200 * TEXT_MAX_LINES:  # a free-text reason of pages: more is never shown
        text = text[:200 * TEXT_MAX_LINES]
    text = re.sub(r"\(n = (\d+)\)", "(n\u00a0=\u00a0\\1)", shorten_text(text, 10**9, 10**9))
    lines = []
    for para in text.split("\n"):
        words = []
        for w in para.split(" "):
            # a word wider than the box (measured only when it may be: 0.25 em a character
            # is narrower than any DejaVu Sans letter) is cut into pieces
            ww = _text_width(w.replace("\u00a0", " "), fs) if len(w) * fs * 0.25 > avail else 0
            if ww > avail and len(w) > 1:
                k = max(1, int(len(w) * avail / ww * 0.95))
                words += [w[i:i + k] for i in range(0, len(w), k)]
            else:
                words.append(w)
        cur = ""
        for w in words:
            trial = w if not cur else cur + " " + w
            if cur and _text_width(trial.replace("\u00a0", " "), fs) > avail:
                lines.append(cur)
                cur = w
                if len(lines) > TEXT_MAX_LINES:  # nothing more is shown
                    break
            else:
                cur = trial
        lines.append(cur)
        if len(lines) > TEXT_MAX_LINES:
            break
    if len(lines) > TEXT_MAX_LINES:  # the box stays bounded
        lines = lines[:TEXT_MAX_LINES]
        lines[-1] = lines[-1][:-1] + "\u2026" if len(lines[-1]) > 1 else "\u2026"
    return [ln.replace("\u00a0", " ") for ln in lines]


def _box_h(lines, fs):
    return len(lines) * _LINE * fs + 2 * _PAD


def count_groups(df: pd.DataFrame, column: str, order=None, *, dropna: bool = False,
                 allow_identifiers: bool = False) -> dict:
    """``{level: n}`` counts of a cohort column (in ``order`` if given), for flow splits.

    Missing values raise unless ``dropna`` (they would silently vanish from the diagram).
    A column that identifies patients (a name, an MRN, a per-patient date ...:
    :mod:`aplcohort.plan.identifiers`) is refused unless ``allow_identifiers=True``.

    Examples
    --------
    >>> import pandas as pd
    >>> count_groups(pd.DataFrame({"arm": ["ATO", "IC", "ATO"]}), "arm")
    {'ATO': 2, 'IC': 1}
    """
    if column not in df.columns:
        raise InputError(f"column {column!r} not in the data; columns: {list(df.columns)}")
    from ..plan.identifiers import refuse_identifiers
    refuse_identifiers("count_groups", [(column, "flow-diagram split", True)],
                       allow_identifiers=allow_identifiers, data=df)
    s = df[column]
    if s.isna().any() and not dropna:
        raise InputError(f"{int(s.isna().sum())} missing values in {column!r}; fill them (e.g. "
                         "'unknown') or pass dropna=True to leave them out of the split")
    vc = s.dropna().astype(object).value_counts()     # a Categorical: no empty levels
    levels = list(order) if order is not None else sorted(vc.index, key=str)
    return {lv: int(vc.get(lv, 0)) for lv in levels}


def flow_layout(log, splits=None, *, start_text=None, step_texts=None, width="single",
                font_size: float = FONT_PT, show_reason_counts: bool = True):
    """Boxes and arrows of a flow diagram (pure; no drawing).

    Parameters
    ----------
    log : AttritionLog
        ``log.n_start`` and ``log.label`` give the first box; each step gives an
        exclusion box (``reason`` and the ``reasons`` breakdown) and the next box.
    splits : mapping {step name: {group label: n}} or {step name: (title, {label: n})}
        Group assignment drawn as a row of boxes under the box after that step
        (key ``"start"`` for the first box). Counts must add up to that box's n
        unless the title says otherwise (a mismatch raises: nothing is silently lost). The
        split of a box that holds nobody (n = 0; the split empty or all zeros) is not drawn:
        the box stands with "(n = 0)".
    start_text, step_texts : str, mapping {step name: text}
        Box texts; the count line "(n = N)" is added automatically.
    width : "single" / "double" / mm

    Returns
    -------
    dict with ``boxes`` DataFrame [id, kind, text, n, x, y, w, h] (x, y = top-left,
    y downwards, in points), ``arrows`` list of ((x0, y0), (x1, y1), head: bool),
    ``width``, ``height`` (points), ``font_size``.

    Examples
    --------
    >>> from aplcohort.cohort.attrition import AttritionLog
    >>> log = AttritionLog(52, "Patients with relapsed APL")
    >>> _ = log.record("Reinduced", 52, [f"p{i}" for i in range(11)], "Not reinduced")
    >>> lay = flow_layout(log, {"Reinduced": {"ATO-based": 30, "IC": 11}})
    >>> lay["boxes"][["kind", "n"]].values.tolist()
    [['main', 52], ['exclusion', 11], ['main', 41], ['group', 30], ['group', 11]]
    """
    if log.n_start is None:
        steps = list(log)
        if not steps:
            raise InputError("the attrition log is empty and has no n_start; nothing to draw")
        n_start = steps[0].n_before
    else:
        n_start = int(log.n_start)
    splits = dict(splits or {})
    step_texts = dict(step_texts or {})
    names = [s.step for s in log]
    unknown = [k for k in splits if k != "start" and k not in names]
    if unknown:
        raise InputError(f"splits given for unknown steps {unknown}; steps in the log: {names}")
    fs = float(font_size)
    W = column_width(width) * 72.0
    margin = 2.0
    has_excl = any(s.n_excluded > 0 for s in log)
    main_w = W * (0.48 if has_excl else 0.62)
    main_cx = (margin + main_w / 2) if has_excl else W / 2
    excl_x = main_cx + main_w / 2 + 10.0
    excl_w = W - margin - excl_x
    boxes, arrows = [], []
    y = margin

    def add_box(kind, text, n, x, w, y0, align="center"):
        lines = _wrap(text, w, fs)
        h = _box_h(lines, fs)
        boxes.append({"id": f"{kind}{len(boxes)}", "kind": kind, "text": "\n".join(lines),
                      "n": int(n), "x": x, "y": y0, "w": w, "h": h, "align": align})
        return h

    def add_split(key, n_parent, top, parent_bottom_x):
        spec = splits[key]
        title = None
        if isinstance(spec, tuple):
            title, spec = spec
        if not isinstance(spec, Mapping):
            raise InputError(f"split for {key!r} must be a mapping {{group: n}}")
        total = sum(int(v) for v in spec.values())
        if n_parent == 0 and total == 0:
            # a box that holds nobody (nobody reinduced): it stands with n = 0, and there is
            # no one to split, so no split row is drawn (an empty split is no error)
            return top, None
        if not spec:
            raise InputError(f"split for {key!r} is empty but the box above holds {n_parent} "
                             "patients; give their groups {group: n}")
        if total != n_parent:
            raise InputError(f"split for {key!r} counts {total} patients but the box above holds "
                             f"{n_parent}; add the missing group (e.g. 'other') so none vanish")
        k = len(spec)
        gap = 5.0
        bw = (W - 2 * margin - (k - 1) * gap) / k
        y_title = top + _GAP * 0.5
        if title:
            lines = _wrap(title, W * 0.7, fs)
            th = _box_h(lines, fs)
            tw = min(W * 0.7, max(_text_width(t, fs) for t in lines) * 1.08 + 2 * _PAD)
            boxes.append({"id": f"title{len(boxes)}", "kind": "title", "text": "\n".join(lines),
                          "n": n_parent,
                          "x": min(max(margin, parent_bottom_x - tw / 2), W - margin - tw), "y": y_title, "w": tw,
                          "h": th, "align": "center"})
            bar_y = y_title + th + _GAP * 0.5
        else:
            bar_y = top + _GAP * 0.6
        y0 = bar_y + _GAP * 0.8
        centers = [margin + i * (bw + gap) + bw / 2 for i in range(k)]
        arrows.append(((parent_bottom_x, top), (parent_bottom_x, bar_y), False))
        arrows.append(((centers[0], bar_y), (centers[-1], bar_y), False))
        hs = []
        for i, (lab, nn) in enumerate(spec.items()):
            arrows.append(((centers[i], bar_y), (centers[i], y0), True))
            hs.append(add_box("group", f"{lab}\n(n = {int(nn)})", nn, centers[i] - bw / 2, bw, y0))
        hmax = max(hs)
        for b in boxes[-k:]:
            b["h"] = hmax
        return y0 + hmax, centers

    first_text = start_text or log.label
    h = add_box("main", f"{first_text}\n(n = {n_start})", n_start, main_cx - main_w / 2, main_w, y)
    bottom = y + h
    from_x = main_cx
    n_cur = n_start
    if "start" in splits:
        bottom, centers = add_split("start", n_start, bottom, main_cx)
        from_x = None if centers else main_cx
    for s in log:
        if s.n_before != n_cur:
            raise InputError(f"attrition step {s.step!r} starts from {s.n_before} patients but the "
                             f"previous box holds {n_cur}; the log is not a single chain")
        top = bottom
        if from_x is None:  # merge the previous split row into one connector
            bar_y = top + _GAP * 0.5
            for c in centers:
                arrows.append(((c, top), (c, bar_y), False))
            arrows.append(((centers[0], bar_y), (centers[-1], bar_y), False))
            arrows.append(((main_cx, bar_y), (main_cx, bar_y + _GAP * 0.2), False))
            top = bar_y + _GAP * 0.2
        excl_top = top + _GAP
        if s.n_excluded > 0:
            lines = [f"{s.reason} (n = {s.n_excluded})"]
            for r, ids in s.reasons.items():
                lines.append(f"\u2022 {r} (n = {len(ids)})" if show_reason_counts else f"\u2022 {r}")
            eh = add_box("exclusion", "\n".join(lines), s.n_excluded, excl_x, excl_w, excl_top,
                         align="left")
            mid = excl_top + eh / 2
            arrows.append(((main_cx, mid), (excl_x, mid), True))
            next_top = excl_top + eh + _GAP
        else:
            next_top = top + 1.6 * _GAP
        arrows.append(((main_cx, top), (main_cx, next_top), True))
        text = step_texts.get(s.step, s.step)
        h = add_box("main", f"{text}\n(n = {s.n_after})", s.n_after, main_cx - main_w / 2, main_w,
                    next_top)
        bottom = next_top + h
        n_cur = s.n_after
        from_x = main_cx
        if s.step in splits:
            bottom, centers = add_split(s.step, s.n_after, bottom, main_cx)
            from_x = None if centers else main_cx
    df = pd.DataFrame(boxes, columns=["id", "kind", "text", "n", "x", "y", "w", "h", "align"])
    return {"boxes": df, "arrows": arrows, "width": W, "height": bottom + margin, "font_size": fs}


def plot_flow(log, splits=None, ax=None, *, start_text=None, step_texts=None, width="single",
              font_size: float = FONT_PT, show_reason_counts: bool = True):
    """Draw the flow diagram of an attrition log (see :func:`flow_layout`).

    Parameters
    ----------
    log : AttritionLog
    splits : mapping {step name: {group: n}} (see :func:`flow_layout`)
    ax : Axes, optional
        Drawn in a new figure sized to the journal width if not given.

    Returns
    -------
    Axes (box patches have gid ``"box:<id>"``, texts gid ``"text:<id>"``)

    Examples
    --------
    >>> from aplcohort.cohort.attrition import AttritionLog
    >>> log = AttritionLog(52, "Relapsed APL")
    >>> _ = log.record("Reinduced", 52, [f"p{i}" for i in range(11)], "Not reinduced")
    >>> ax = plot_flow(log, {"Reinduced": {"ATO-based": 30, "IC": 11}})

    Validated against: the box counts are checked against the attrition log in
    ``tests/test_plots_flow.py``.
    """
    lay = flow_layout(log, splits, start_text=start_text, step_texts=step_texts, width=width,
                      font_size=font_size, show_reason_counts=show_reason_counts)
    W, H, fs = lay["width"], lay["height"], lay["font_size"]
    with journal_style():
        if ax is None:
            fig = plt.figure(figsize=(W / 72.0, H / 72.0))
            ax = fig.add_axes([0, 0, 1, 1])
        ax.set_xlim(0, W)
        ax.set_ylim(H, 0)
        ax.set_axis_off()
        for (x0, y0), (x1, y1), head in lay["arrows"]:
            if head:
                ax.annotate("", xy=(x1, y1), xytext=(x0, y0),
                            arrowprops=dict(arrowstyle="-|>", lw=0.7, color="black", shrinkA=0,
                                            shrinkB=0, mutation_scale=6))
            else:
                ax.plot([x0, x1], [y0, y1], color="black", lw=0.7, solid_capstyle="butt")
        for b in lay["boxes"].itertuples():
            if b.kind != "title":
                face = "white" if b.kind != "exclusion" else "#F2F2F2"
                ax.add_patch(FancyBboxPatch((b.x, b.y), b.w, b.h, boxstyle="square,pad=0",
                                            facecolor=face, edgecolor="black", linewidth=0.7,
                                            gid=f"box:{b.id}", zorder=2))
            if b.align == "left":
                t = ax.text(b.x + _PAD, b.y + b.h / 2, b.text, ha="left", va="center", fontsize=fs,
                            linespacing=1.15, gid=f"text:{b.id}", zorder=3)
            else:
                t = ax.text(b.x + b.w / 2, b.y + b.h / 2, b.text, ha="center", va="center",
                            fontsize=fs, linespacing=1.15, gid=f"text:{b.id}", zorder=3,
                            fontstyle="italic" if b.kind == "title" else "normal",
                            bbox=(dict(facecolor="white", edgecolor="none", pad=0.5)
                                  if b.kind == "title" else None))
            t._aplcohort_fitted = True  # wrapped to its box (_wrap): limit_figure_texts keeps it
    return ax
