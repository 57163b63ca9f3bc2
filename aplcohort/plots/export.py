"""Save a figure in journal formats (PNG, SVG, PDF, TIFF) at 300 or 600 dpi."""

from __future__ import annotations

import contextlib
from pathlib import Path

import matplotlib as mpl

from ..errors import InputError

#: Formats :func:`save_figure` writes.
FORMATS = ("png", "svg", "pdf", "tiff")

#: rcParams every save uses (set around ``savefig`` only, never globally): TrueType
#: (Type 42) fonts in PDF / PS, since journals' submission systems reject Type 3
#: fonts; SVG text kept as text (editable, searchable); deterministic SVG ids.
SAVE_RC = {"pdf.fonttype": 42, "ps.fonttype": 42, "svg.fonttype": "none",
           "svg.hashsalt": "aplcohort"}

#: OpenType layout tables left out of the font subsets embedded in PDF / PS. matplotlib
#: has already shaped the text (the PDF names glyph ids and positions), so these tables
#: are never used by a viewer; dropping them before subsetting skips decompiling
#: DejaVu Sans' large kerning (GPOS) and substitution (GSUB) tables, which made each
#: PDF save ~0.7 s slower with TrueType fonts.
_UNUSED_LAYOUT_TABLES = ["GSUB", "GPOS", "GDEF", "BASE", "JSTF", "MATH", "kern"]


class _LeanSubset:
    """Stand-in for the ``fontTools.subset`` module seen by matplotlib's PDF/PS backend:
    identical except that its ``Options`` drop :data:`_UNUSED_LAYOUT_TABLES`."""

    def __init__(self, module):
        self._m = module

    def __getattr__(self, name):
        return getattr(self._m, name)

    def Options(self, *args, **kwargs):  # noqa: N802  (mirrors fontTools' name)
        opts = self._m.Options(*args, **kwargs)
        opts.drop_tables += [t for t in _UNUSED_LAYOUT_TABLES if t not in opts.drop_tables]
        return opts


@contextlib.contextmanager
def _lean_font_subsets():
    """Use :class:`_LeanSubset` in matplotlib's font subsetting while saving (restored
    afterwards). If matplotlib's internals differ from what we expect, nothing is
    changed and saving is only slower."""
    try:
        from matplotlib.backends import _backend_pdf_ps as mod
        orig = mod.subset
        ok = hasattr(orig, "Options") and hasattr(orig, "Subsetter")
    except (ImportError, AttributeError):
        ok = False
    if not ok:
        yield
        return
    mod.subset = _LeanSubset(orig)
    try:
        yield
    finally:
        mod.subset = orig


_METADATA = {
    # fixed / empty metadata so the same figure gives the same bytes
    "png": {"Software": None},
    "svg": {"Date": None, "Creator": None},
    "pdf": {"CreationDate": None, "ModDate": None, "Producer": None, "Creator": None},
}


def save_figure(fig, path_stem, formats=("png", "svg", "pdf", "tiff"), dpi: int = 300,
                *, transparent: bool = False) -> list[Path]:
    """Save ``fig`` as ``<path_stem>.<fmt>`` for each format; return the paths.

    Parameters
    ----------
    fig : matplotlib.figure.Figure (or an Axes, whose figure is saved)
    path_stem : str or Path
        Path without extension; parent directories are created.
    formats : sequence of {"png", "svg", "pdf", "tiff"}
    dpi : {300, 600}
        Raster resolution (PNG/TIFF; also embedded images in PDF/SVG). Journals ask
        for 300 dpi (colour/halftone) or 600 dpi (line art).
    transparent : bool
        Transparent background (PNG/SVG/PDF).

    Returns
    -------
    list of Path

    Notes
    -----
    TIFF files are LZW-compressed RGBA. PDF embeds TrueType (Type 42) fonts, never
    Type 3; SVG keeps text as text (:data:`SAVE_RC`, applied around each save only).
    Time stamps are not written, so output is reproducible.

    The tight bounding box (every artist, the risk table's labels included) is
    computed once per figure, at the raster dpi, and used for every format:
    matplotlib's ``bbox_inches="tight"`` would lay the figure out again for each
    format before drawing it. PNG is written with zlib level 3 instead of 6: the same pixels,
    a slightly larger file, about three times faster to encode.

    Examples
    --------
    >>> import matplotlib.pyplot as plt, tempfile, os
    >>> fig, ax = plt.subplots()
    >>> d = tempfile.mkdtemp()
    >>> [p.suffix for p in save_figure(fig, os.path.join(d, "fig1"), formats=("png", "pdf"))]
    ['.png', '.pdf']
    >>> plt.close(fig)
    """
    if hasattr(fig, "figure") and not hasattr(fig, "savefig"):
        fig = fig.figure
    if hasattr(fig, "get_figure") and not hasattr(fig, "savefig"):
        fig = fig.get_figure()
    if not hasattr(fig, "savefig"):
        raise InputError(f"save_figure needs a matplotlib Figure or Axes; got {type(fig).__name__}")
    if isinstance(formats, str):
        formats = (formats,)
    formats = tuple(f.lower().lstrip(".") for f in formats)
    formats = tuple("tiff" if f == "tif" else f for f in formats)
    bad = [f for f in formats if f not in FORMATS]
    if bad or not formats:
        raise InputError(f"unsupported figure format(s) {bad or formats}; choose from {FORMATS}")
    if dpi not in (300, 600):
        raise InputError(f"dpi must be 300 (colour / halftone) or 600 (line art); got {dpi!r}")
    stem = Path(path_stem)
    if stem.suffix.lower().lstrip(".") in FORMATS + ("tif",):
        stem = stem.with_suffix("")
    stem.parent.mkdir(parents=True, exist_ok=True)
    out = []
    with mpl.rc_context(SAVE_RC), _lean_font_subsets():
        # laid out at the raster dpi: the PNG is pixel for pixel what bbox_inches="tight"
        # gave; vector formats share the box (a difference below 0.02 inch of margin)
        bbox = tight_bbox(fig, pad_inches=0.03, dpi=dpi)
        for f in formats:
            p = stem.with_name(stem.name + "." + f)
            kw = {"dpi": dpi, "format": f, "bbox_inches": bbox, "transparent": transparent}
            if f in _METADATA:
                kw["metadata"] = _METADATA[f]
            if f == "tiff":
                kw["pil_kwargs"] = {"compression": "tiff_lzw"}
            if f == "png":
                kw["pil_kwargs"] = {"compress_level": 3}
            fig.savefig(p, **kw)
            out.append(p)
    return out


def tight_bbox(fig, pad_inches: float = 0.03, dpi: float | None = None):
    """Bounding box (inches) of everything drawn in ``fig``, padded: what
    ``bbox_inches="tight"`` would crop to, computed with one layout pass.

    Texts drawn outside the axes with ``clip_on=False`` (risk-table labels, forest
    text columns, swimmer sort labels) are included. ``dpi``: lay out at this
    resolution (raster text is hinted, so extents differ slightly between
    resolutions); the figure's own dpi is restored afterwards.
    """
    old = fig.dpi
    try:
        if dpi is not None:
            fig.set_dpi(dpi)
        fig.draw_without_rendering()
        return fig.get_tightbbox(fig.canvas.get_renderer()).padded(pad_inches)
    finally:
        if dpi is not None:
            fig.set_dpi(old)


def save(fig, path, *, dpi: int = 300, transparent: bool = False) -> Path:
    """Save a figure (or the figure of an Axes) to ``path``; the format is its extension.

    Unlike ``ax.figure.savefig(path)``, nothing is cut off: the number-at-risk table
    under a KM / CIF plot, its group labels left of the axes and the forest plot's text
    columns are inside the saved image (tight bounding box of every artist); fonts are
    TrueType in PDF and text in SVG.

    Parameters
    ----------
    fig : Figure or Axes
    path : str or Path
        ``.png``, ``.pdf``, ``.svg``, ``.tif`` or ``.tiff``.
    dpi : {300, 600}
    transparent : bool

    Returns
    -------
    Path

    Examples
    --------
    >>> import matplotlib.pyplot as plt, tempfile, os
    >>> fig, ax = plt.subplots()
    >>> save(ax, os.path.join(tempfile.mkdtemp(), "km.pdf")).suffix
    '.pdf'
    >>> plt.close(fig)
    """
    p = Path(path)
    ext = p.suffix.lower().lstrip(".")
    if ext not in FORMATS + ("tif",):
        raise InputError(f"cannot tell the format of {str(path)!r} from its extension; use one of "
                         f".png, .pdf, .svg, .tiff (or save_figure(fig, stem, formats=...))")
    written = save_figure(fig, p.with_suffix(""), formats=(ext,), dpi=dpi, transparent=transparent)
    if written[0] != p:  # ".tif" is written as ".tiff" by save_figure; keep the user's name
        written[0].replace(p)
    return p


#: Environment variable that, set to "1", makes :func:`check_baseline` rewrite baselines.
REGEN_ENV = "APLCOHORT_REGEN_BASELINES"


def check_baseline(fig, name: str, baseline_dir, *, tol: float = 2.0, dpi: int = 100,
                   out_dir=None) -> str | None:
    """Compare ``fig`` with the committed baseline PNG ``<baseline_dir>/<name>.png``.

    The figure is rendered to PNG with the Agg renderer at ``dpi`` and compared with
    :func:`matplotlib.testing.compare.compare_images` (RMS tolerance ``tol`` on 0–255
    grey levels). With the environment variable ``APLCOHORT_REGEN_BASELINES=1`` the
    baseline is (re)written instead. A missing baseline is an error, never a pass.

    Returns
    -------
    None if the images agree; otherwise the comparison message (the caller fails the
    test with it). The rendered image is kept in ``out_dir`` (default: a temporary
    directory) so a failure can be inspected, with a ``-failed-diff.png`` beside it.
    """
    import os
    import tempfile

    from matplotlib.testing.compare import compare_images

    if hasattr(fig, "figure") and not hasattr(fig, "savefig"):
        fig = fig.figure
    base = Path(baseline_dir) / f"{name}.png"
    out = Path(out_dir or tempfile.mkdtemp(prefix="aplcohort-img-"))
    out.mkdir(parents=True, exist_ok=True)
    actual = out / f"{name}.png"
    fig.savefig(actual, dpi=dpi, format="png", metadata={"Software": None},
                bbox_inches="tight", pad_inches=0.03)
    if os.environ.get(REGEN_ENV) == "1":
        base.parent.mkdir(parents=True, exist_ok=True)
        base.write_bytes(actual.read_bytes())
        return None
    if not base.exists():
        return (f"baseline image {base} does not exist; create it on purpose with "
                f"{REGEN_ENV}=1 and look at it before committing")
    return compare_images(str(base), str(actual), tol=tol)
