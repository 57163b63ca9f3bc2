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
        "svg.fonttype": "path",
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


def group_styles(groups: Sequence, colors=None, linestyles=None, markers=None) -> dict:
    """Map each group label to ``{"color", "linestyle", "marker"}``.

    ``colors`` / ``linestyles`` may be a sequence (in group order) or a mapping
    {group: value}; missing groups fall back to :data:`PALETTE` / :data:`LINESTYLES`.

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
