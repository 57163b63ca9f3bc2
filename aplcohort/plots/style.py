"""Journal figure styles: column widths, legible fonts, colour-blind-safe colours.

Everything here is applied through a context manager (:func:`journal_style`),
built on :func:`matplotlib.rc_context`, so the global ``rcParams`` are restored
when the block ends; nothing in aplcohort mutates them permanently.

Defaults
--------
* widths: single column 85 mm, double column 175 mm (most haematology journals:
  Blood, Blood Research, Leukemia, BMT);
* fonts: DejaVu Sans (shipped with matplotlib, so figures are identical on
  every machine), 8 pt body, never below 7 pt (:data:`MIN_FONT_PT`);
* colours: the Okabe–Ito palette (Okabe & Ito 2008), safe for the common
  colour-vision deficiencies; :data:`PALETTE` is ordered so the first colours
  are the most distinct from one another and from white;
* line styles: solid, dashed, dotted, dash-dot, ... (:data:`LINESTYLES`) so the
  curves stay distinguishable when printed in greyscale.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping, Sequence

import matplotlib as mpl
import numpy as np

from ..errors import InputError

MM_PER_INCH = 25.4
#: Journal column widths in millimetres.
COLUMN_WIDTHS_MM = {"single": 85.0, "onehalf": 130.0, "double": 175.0}
#: Smallest font size (points) aplcohort uses in a figure.
MIN_FONT_PT = 7.0

#: Okabe–Ito colours by name.
OKABE_ITO = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky blue": "#56B4E9",
    "bluish green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish purple": "#CC79A7",
}

#: Default group colours (Okabe–Ito, yellow last: it is hard to see on white).
PALETTE: tuple[str, ...] = (
    OKABE_ITO["blue"],
    OKABE_ITO["vermillion"],
    OKABE_ITO["bluish green"],
    OKABE_ITO["reddish purple"],
    OKABE_ITO["orange"],
    OKABE_ITO["sky blue"],
    OKABE_ITO["black"],
    OKABE_ITO["yellow"],
)

#: Greyscale-safe line styles (all distinct dash patterns).
LINESTYLES: tuple = (
    "-",
    (0, (5.0, 2.0)),
    (0, (1.0, 1.5)),
    (0, (6.0, 2.0, 1.0, 2.0)),
    (0, (2.5, 1.5)),
    (0, (8.0, 2.0, 1.0, 2.0, 1.0, 2.0)),
    (0, (10.0, 3.0)),
    (0, (1.0, 3.0)),
)

#: Marker shapes used where points must be told apart in greyscale.
MARKERS: tuple[str, ...] = ("o", "s", "^", "D", "v", "P", "X", "*")


def column_width(width: str | float = "single") -> float:
    """Figure width in inches for a journal column name or a width in mm.

    Examples
    --------
    >>> round(column_width("single"), 3)
    3.346
    >>> round(column_width(100), 3)
    3.937
    """
    if isinstance(width, str):
        if width not in COLUMN_WIDTHS_MM:
            raise InputError(f"width must be one of {sorted(COLUMN_WIDTHS_MM)} or a number of "
                             f"millimetres; got {width!r}")
        mm = COLUMN_WIDTHS_MM[width]
    else:
        mm = float(width)
        if not mm > 0:
            raise InputError(f"width in mm must be positive; got {width!r}")
    return mm / MM_PER_INCH


def figure_size(width: str | float = "single", height_mm: float | None = None,
                aspect: float = 0.75) -> tuple[float, float]:
    """(width, height) in inches; height from ``height_mm`` or ``aspect`` x width.

    Examples
    --------
    >>> w, h = figure_size("double", height_mm=100)
    >>> round(w * 25.4), round(h * 25.4)
    (175, 100)
    """
    w = column_width(width)
    if height_mm is not None:
        if not height_mm > 0:
            raise InputError(f"height_mm must be positive; got {height_mm!r}")
        return w, float(height_mm) / MM_PER_INCH
    if not aspect > 0:
        raise InputError(f"aspect must be positive; got {aspect!r}")
    return w, w * float(aspect)


def style_rc(font_size: float = 8.0, *, font: str = "DejaVu Sans", grid: bool = False) -> dict:
    """The rcParams aplcohort figures use (pure; nothing is applied)."""
    if font_size < MIN_FONT_PT:
        raise InputError(f"font_size {font_size} pt is below {MIN_FONT_PT} pt, the smallest size "
                         "legible in print; use >= 7")
    small = max(MIN_FONT_PT, font_size - 1)
    return {
        "font.family": "sans-serif",
        "font.sans-serif": [font, "DejaVu Sans"],
        "font.size": font_size,
        "axes.titlesize": font_size + 1,
        "axes.labelsize": font_size,
        "xtick.labelsize": small,
        "ytick.labelsize": small,
        "legend.fontsize": small,
        "legend.title_fontsize": small,
        "figure.titlesize": font_size + 1,
        "axes.linewidth": 0.8,
        "lines.linewidth": 1.3,
        "xtick.major.width": 0.8,
        "ytick.major.width": 0.8,
        "xtick.major.size": 3.0,
        "ytick.major.size": 3.0,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.grid": grid,
        "axes.prop_cycle": mpl.cycler(color=list(PALETTE)),
        "legend.frameon": False,
        "savefig.bbox": "tight",
        "savefig.pad_inches": 0.03,
        "pdf.fonttype": 42,   # embed TrueType (journals reject Type 3 fonts)
        "ps.fonttype": 42,
        "svg.fonttype": "none",  # SVG text stays text (editable)
        "svg.hashsalt": "aplcohort",  # deterministic SVG ids
        "text.usetex": False,
        "mathtext.default": "regular",
    }


@contextlib.contextmanager
def journal_style(font_size: float = 8.0, *, font: str = "DejaVu Sans", grid: bool = False,
                  rc: Mapping | None = None):
    """Context manager applying the aplcohort journal style; restores rcParams on exit.

    Parameters
    ----------
    font_size : float
        Body font size in points (>= 7; tick and legend text use ``font_size - 1``
        but never below 7).
    font : str
        Font family (default DejaVu Sans, shipped with matplotlib).
    grid : bool
        Draw a background grid.
    rc : mapping, optional
        Extra rcParams applied on top.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> with journal_style():
    ...     fig, ax = plt.subplots(figsize=figure_size("single"))
    >>> plt.close(fig)
    """
    params = style_rc(font_size, font=font, grid=grid)
    if rc:
        params.update(dict(rc))
    # rc_context restores "interactive" on exit; a backend that switches interactive
    # mode on while the context is open (Jupyter's inline backend on the first
    # figure) would otherwise be switched off again, hiding every later figure.
    with mpl.rc_context(params):
        try:
            yield
        finally:
            interactive_now = mpl.is_interactive()
    mpl.interactive(interactive_now)


def group_styles(groups: Sequence, colors=None, linestyles=None, markers=None,
                 palette: "Palette | None" = None) -> dict:
    """Map each group label to ``{"color", "linestyle", "marker"}``.

    ``colors`` / ``linestyles`` may be a sequence (in group order) or a mapping
    {group: value}; missing groups take their style from ``palette`` (a
    :class:`Palette`, the same for every figure of a run) or, without one, from
    :data:`PALETTE` / :data:`LINESTYLES` in group order.

    Examples
    --------
    >>> s = group_styles(["ATO", "IC"], colors={"IC": "grey"})
    >>> s["ATO"]["color"], s["IC"]["color"]
    ('#0072B2', 'grey')
    """
    groups = list(groups)

    def pick(spec, default, i, g):
        if spec is None:
            return default[i % len(default)]
        if isinstance(spec, Mapping):
            return spec.get(g, default[i % len(default)])
        if isinstance(spec, str):
            return spec
        spec = list(spec)
        if len(spec) < len(groups):
            raise InputError(f"got {len(spec)} styles for {len(groups)} groups {groups}; "
                             "give one per group or a mapping {group: style}")
        return spec[i]

    if palette is not None:
        out = {}
        for i, g in enumerate(groups):
            st = palette.style(g)
            out[g] = {"color": pick(colors, [st["color"]] * len(groups), i, g) if colors is not None
                      else st["color"],
                      "linestyle": pick(linestyles, [st["linestyle"]] * len(groups), i, g)
                      if linestyles is not None else st["linestyle"],
                      "marker": pick(markers, [st["marker"]] * len(groups), i, g)
                      if markers is not None else st["marker"]}
        return out
    return {g: {"color": pick(colors, PALETTE, i, g),
                "linestyle": pick(linestyles, LINESTYLES, i, g),
                "marker": pick(markers, MARKERS, i, g)} for i, g in enumerate(groups)}


def ordered_groups(available: Iterable, order=None) -> list:
    """Groups in the requested ``order`` (all must exist) else as given."""
    available = list(available)
    if order is None:
        return available
    order = list(order)
    missing = [g for g in order if g not in available]
    if missing:
        raise InputError(f"order names groups {missing} that are not in the result; "
                         f"available groups: {available}")
    return order


#: Colours reserved for markers and never given to a group level (swimmer events,
#: censor marks): black, white and Okabe–Ito yellow.
MARKER_COLORS: tuple[str, ...] = ("#000000", "#FFFFFF", OKABE_ITO["yellow"])
#: Group colours of a :class:`Palette`: Okabe–Ito without black and yellow (kept for
#: markers), most distinct first.
GROUP_COLORS: tuple[str, ...] = tuple(c for c in PALETTE if c not in MARKER_COLORS)
#: Levels that mean "no group" (not treated, not recorded): drawn in greys, not colours.
NEUTRAL_LEVELS = ("none", "not reinduced", "not recorded", "missing", "unknown", "other",
                  "no hsct", "not transplanted")
#: Greys of the neutral levels (distinct from one another and from every group colour).
NEUTRAL_COLORS: tuple[str, ...] = ("#999999", "#C8C8C8", "#7A7A7A")
#: Colour of the single ungrouped curve ("All patients").
ALL_COLOR = "#000000"


def _is_neutral(level) -> bool:
    return isinstance(level, str) and level.strip().lower() in NEUTRAL_LEVELS


class Palette:
    """One colour, line style and marker per group level, for every figure of a run.

    A level keeps the style it was first given: the plan runner registers every group
    level of a plan (in plan order) before any figure is drawn and passes the same
    palette to every figure, so "allo HSCT" has one colour in the KM, CIF, swimmer and
    recovery figures alike. Colours are Okabe–Ito (colour-blind safe) without black and
    yellow, which stay free for markers (:data:`MARKER_COLORS`); line styles differ for
    every level (distinct in greyscale). Levels meaning "no group" (:data:`NEUTRAL_LEVELS`,
    e.g. "none", "not reinduced") are grey; the single ungrouped curve ("all") is black.

    Parameters
    ----------
    levels : iterable, optional
        Levels to register now, in order.
    colors, linestyles : mapping {level: value}, optional
        Fixed styles for some levels (user choices win over the automatic ones).

    Examples
    --------
    >>> p = Palette(["ATO-based", "auto HSCT", "allo HSCT"])
    >>> p.color("allo HSCT") == GROUP_COLORS[2]
    True
    >>> p.color("none"), p.color("IC") == GROUP_COLORS[3]
    ('#999999', True)
    """

    def __init__(self, levels=(), *, colors: Mapping | None = None,
                 linestyles: Mapping | None = None):
        self._styles: dict = {}
        self._n_group = 0
        self._n_neutral = 0
        self._colors = dict(colors or {})
        self._linestyles = dict(linestyles or {})
        for lv in levels:
            self.add(lv)

    @staticmethod
    def _key(level):
        if level is None or (isinstance(level, float) and level != level):
            return None
        if isinstance(level, (bool, np.bool_)):
            return bool(level)
        if isinstance(level, (np.integer, np.floating)):
            return level.item()
        return level

    def add(self, level) -> dict:
        """Register ``level`` (no-op if known); return its style."""
        k = self._key(level)
        if k in self._styles:
            return self._styles[k]
        if k is None or k == "all":
            st = {"color": ALL_COLOR, "linestyle": "-", "marker": "o"}
        elif _is_neutral(k):
            i = self._n_neutral
            self._n_neutral += 1
            st = {"color": NEUTRAL_COLORS[i % len(NEUTRAL_COLORS)],
                  "linestyle": LINESTYLES[(len(LINESTYLES) - 1 - i) % len(LINESTYLES)],
                  "marker": MARKERS[(len(MARKERS) - 1 - i) % len(MARKERS)]}
        else:
            i = self._n_group
            self._n_group += 1
            st = {"color": GROUP_COLORS[i % len(GROUP_COLORS)],
                  "linestyle": LINESTYLES[i % len(LINESTYLES)],
                  "marker": MARKERS[i % len(MARKERS)]}
        if k in self._colors:
            st["color"] = self._colors[k]
        if k in self._linestyles:
            st["linestyle"] = self._linestyles[k]
        self._styles[k] = st
        return st

    def style(self, level) -> dict:
        """``{"color", "linestyle", "marker"}`` of ``level`` (registered on first use)."""
        return dict(self.add(level))

    def color(self, level) -> str:
        """Colour of ``level``."""
        return self.add(level)["color"]

    @property
    def levels(self) -> list:
        """Registered levels in registration order."""
        return list(self._styles)

    def to_dict(self) -> dict:
        """``{level: {"color", "linestyle", "marker"}}`` (line styles as given to matplotlib)."""
        return {k: dict(v) for k, v in self._styles.items()}

    def __contains__(self, level) -> bool:
        return self._key(level) in self._styles

    def __repr__(self) -> str:
        inner = ", ".join(f"{k!r}: {v['color']}" for k, v in self._styles.items())
        return f"Palette({inner})"


#: Longest line (characters) of a text in a figure: a longer label (a group level, a
#: variable name, a free-text reason) is cut there with an ellipsis; tables keep the full
#: text. 80 characters leave room for a group label (:data:`GROUP_LABEL_MAX_CHARS`) and
#: its legend entry's "(n = 30): 13.6 (5.7-NR)".
LABEL_MAX_CHARS = 80
#: Most lines of one text in a figure (a flow-diagram box of exclusion reasons has a few);
#: the last line shown ends with an ellipsis.
TEXT_MAX_LINES = 30

#: Control characters (BEL, ESC, vertical tab, DEL, C1...) in a figure text: drawn as the
#: replacement character (DejaVu Sans has no control pictures, U+2400 block). So are the
#: bidirectional overrides and marks: drawn, U+202E reverses the rest of a legend line
#: ("(n = 38)" read as "(83 = n)").
_CONTROL = str.maketrans({c: "\ufffd" for c in (*range(0x20), *range(0x7F, 0xA0), 0x061C,
                                                 0x200E, 0x200F, *range(0x202A, 0x202F),
                                                 *range(0x2066, 0x206A))
                          if c not in (9, 10)})


def shorten_text(text: str, max_chars: int = LABEL_MAX_CHARS,
                 max_lines: int = TEXT_MAX_LINES) -> str:
    """``text`` as a figure shows it: control characters as the replacement character
    ``\ufffd`` (the figure font has no control pictures), each line at most ``max_chars`` characters and at most
    ``max_lines`` lines, cut with an ellipsis (``…``). A text that was cut and holds a
    ``$`` has its dollar signs escaped (a cut would leave an unbalanced math expression).

    Examples
    --------
    >>> shorten_text("L" * 100, 10)
    'LLLLLLLLL…'
    >>> shorten_text("ATO + ATRA")
    'ATO + ATRA'
    >>> shorten_text("a\\x07b") == "a\\ufffdb"
    True
    """
    s = str(text)
    if s.isprintable() and len(s) <= max_chars:   # nearly every text: nothing to do
        return s
    s = s.translate(_CONTROL)
    lines = s.split("\n")
    cut = len(lines) > max_lines
    lines = lines[:max_lines]
    out = []
    for ln in lines:
        if len(ln) > max_chars:
            ln, cut = ln[:max_chars - 1].rstrip() + "\u2026", True
        out.append(ln)
    if len(lines) == max_lines and cut and not out[-1].endswith("\u2026"):
        out[-1] = out[-1][:max_chars - 1] + "\u2026"
    s = "\n".join(out)
    if cut and "$" in s:
        s = s.replace("\\$", "$").replace("$", "\\$")
    return s


#: Longest group label (characters) in a legend or risk table: the legend entry adds
#: "(n = 30): 13.6 (5.7-NR)" after it, the risk table puts it left of the axes.
GROUP_LABEL_MAX_CHARS = 40


def group_label(text) -> str:
    """A group level as legends and risk tables show it: one line of at most
    :data:`GROUP_LABEL_MAX_CHARS` characters (:func:`shorten_text`); tables keep the full
    text.

    >>> group_label("Reinduction with arsenic trioxide and all-trans retinoic acid, then HSCT")
    'Reinduction with arsenic trioxide and a…'
    """
    s = str(text)
    if len(s) <= GROUP_LABEL_MAX_CHARS and s.isprintable():
        return s
    new = shorten_text(s.replace("\n", " "), GROUP_LABEL_MAX_CHARS, 1)
    import warnings

    from ..errors import FigureTextWarning
    if len(s) > GROUP_LABEL_MAX_CHARS:
        warnings.warn(f"a group label of {len(s):,} characters is shortened to "
                      f"{GROUP_LABEL_MAX_CHARS} in the figure's legend and risk table (tables "
                      f"keep the full text): {new!r}", FigureTextWarning, stacklevel=2)
    elif new != s:
        warnings.warn(f"control characters in a group label are drawn as '\ufffd' in the "
                      f"figure: {new!r}", FigureTextWarning, stacklevel=2)
    return new


def _missing_glyphs(text_obj, s: str, cache: dict) -> list:
    """Characters of ``s`` the font of ``text_obj`` has no glyph for (drawn as boxes)."""
    chars = {c for c in s if ord(c) > 126}
    if not chars:
        return []
    try:
        from matplotlib.font_manager import findfont, get_font
        path = findfont(text_obj.get_fontproperties())
        font = cache.get(path) or cache.setdefault(path, get_font(path))
    except Exception:  # noqa: BLE001 - a check only
        return []
    return sorted(c for c in chars if font.get_char_index(ord(c)) == 0)


def _figure_texts(fig):
    """The texts of ``fig`` that come from data or the plan, found without a full
    artist walk (``Figure.findobj`` costs 5-35 ms a figure): figure texts and legends;
    each axes' texts, titles, axis labels and legend; fixed tick labels."""
    from matplotlib.text import Text
    for t in getattr(fig, "texts", ()):
        yield t
    legends = list(getattr(fig, "legends", ()))
    for ax in getattr(fig, "axes", ()):
        yield from ax.texts
        for t in (ax.title, getattr(ax, "_left_title", None), getattr(ax, "_right_title", None),
                  ax.xaxis.label, ax.yaxis.label):
            if isinstance(t, Text):
                yield t
        if ax.get_legend() is not None:
            legends.append(ax.get_legend())
    for leg in legends:
        yield from leg.texts
        yield leg.get_title()


def limit_figure_texts(fig) -> list[str]:
    """Make every text of ``fig`` drawable at a bounded size, in place, and say what
    changed (also as one :class:`~aplcohort.errors.FigureTextWarning` per kind of change).

    * a line longer than :data:`LABEL_MAX_CHARS` characters, or more than
      :data:`TEXT_MAX_LINES` lines (a free-text group label, a reason used as a group),
      is cut with an ellipsis (:func:`shorten_text`), so that a long label cannot make
      the figure tens of thousands of pixels wide; the tables keep the full text;
    * control characters are drawn as the replacement character (U+FFFD);
    * characters the figure font cannot draw (shown as boxes) are named once, instead
      of matplotlib's "Glyph ... missing from font(s)" warnings at every save.

    Legends, risk-table labels, axis labels, titles, annotations and fixed tick labels
    (``set_yticklabels``: forest, balance, swimmer) of every figure kind are covered.
    Called by the plan runner after each analysis, by :func:`~aplcohort.plots.survival.fit_inside`
    and by :func:`~aplcohort.plots.export.save_figure`; a second call changes nothing.

    Returns
    -------
    list of str
        The messages (empty when nothing changed).
    """
    import functools
    import warnings

    from matplotlib.ticker import FixedFormatter

    from ..errors import FigureTextWarning
    if not hasattr(fig, "savefig") and hasattr(fig, "figure"):  # an Axes
        fig = fig.figure
    cut, controls, missing = [], [], {}
    cache: dict = {}

    def fix(s, obj):
        s = "" if s is None else str(s)
        new = shorten_text(s)
        if new != s:
            if new.replace("\u2026", "") != s.translate(_CONTROL):
                cut.append(s)
            else:
                controls.append(new)
        if obj is not None:
            for c in _missing_glyphs(obj, new, cache):
                missing.setdefault(c, new)
        return new

    for t in _figure_texts(fig):
        s = t.get_text()
        if not s or getattr(t, "_aplcohort_fitted", False):  # laid out to a bound already
            continue
        new = fix(s, t)
        if new != s:
            t.set_text(new)
    for ax in getattr(fig, "axes", ()):
        for axis in (ax.xaxis, ax.yaxis):
            fmt = axis.get_major_formatter()
            if isinstance(fmt, FixedFormatter) and fmt.seq:
                seq = [fix(s, axis.label) for s in fmt.seq]
                if seq != list(fmt.seq):
                    fmt.seq = seq
            func = getattr(fmt, "func", None)
            if (isinstance(func, functools.partial) and func.args
                    and getattr(func.func, "__name__", "") == "_format_with_dict"
                    and isinstance(func.args[0], dict)):
                # set_ticklabels on fixed ticks (matplotlib >= 3.8): {location: label}
                tickd = func.args[0]
                for k, v in list(tickd.items()):
                    tickd[k] = fix(v, axis.label)
    msgs = []

    def shown(s, n=40):
        s = s.translate(_CONTROL).replace("\n", " ")
        return repr(s if len(s) <= n else s[:n - 1] + "\u2026")
    if cut:
        longest = max(cut, key=len)
        msgs.append(f"{len(cut)} text(s) too long for a figure were shortened with '\u2026' "
                    f"(at most {LABEL_MAX_CHARS} characters a line, {TEXT_MAX_LINES} lines; "
                    f"tables keep the full text), the longest {len(longest):,} characters: "
                    f"{shown(longest)}")
    if controls:
        msgs.append(f"control characters in {len(controls)} figure text(s) are drawn as "
                    f"'\ufffd': {shown(controls[0])}")
    if missing:
        chars = "".join(sorted(missing))[:20]
        label = next(iter(missing.values()))
        msgs.append(f"the figure font has no glyph for {chars!r} (drawn as boxes), in "
                    f"{shown(label)}")
    said = fig.__dict__.setdefault("_aplcohort_text_msgs", set())
    for m in msgs:
        if m not in said:    # once per figure (the glyph check finds the same each time)
            said.add(m)
            warnings.warn(m, FigureTextWarning, stacklevel=2)
    return msgs
