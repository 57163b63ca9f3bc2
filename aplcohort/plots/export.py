"""Save a figure in journal formats (PNG, SVG, PDF, TIFF) at 300 or 600 dpi."""

from __future__ import annotations

import contextlib
import types
import warnings
from pathlib import Path

import matplotlib as mpl
import numpy as np

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

    def load_font(self, *args, **kwargs):
        # delete the unused tables before subsetting starts: fontTools >= 4.6x decompiles
        # GSUB / GPOS (to "compact" them) before it prunes the tables it was told to drop
        font = self._m.load_font(*args, **kwargs)
        for tag in _UNUSED_LAYOUT_TABLES:
            if tag in font:
                del font[tag]
        return font


#: Characters every embedded font subset holds besides the figure's own glyphs (printable
#: ASCII, the symbols aplcohort prints, and the "fi" / "fl" ligatures matplotlib >= 3.11
#: shapes text with). With them, the glyph set of nearly every figure
#: is the same, so one subset per font serves every PDF of a run (cached); the output of a
#: figure still depends only on that figure (its glyphs plus this fixed set).
_BASE_CHARS = ("".join(chr(c) for c in range(32, 127))
               + "\u2013\u2014\u00d7\u2079\u2265\u2264\u00b1\u03c7\u00b2\u00b5\u00b7\u00b0\u2026"
               "\u2022\ufb01\ufb02")
_BASE_GLYPHS: dict = {}
_SUBSETS: dict = {}   # (font path, face index, glyph ids) -> (font bytes, glyph index map)
_SUBSETS_MAX = 32


def subset_cache() -> dict:
    """A copy of this process's font-subset cache (see :func:`_lean_font_subsets`)."""
    return dict(_SUBSETS)


def adopt_subset_cache(entries: dict) -> None:
    """Add subsets computed by another process (a forked figure process) to this one's
    cache, so that the processes forked later inherit them instead of subsetting the same
    fonts again. An entry is keyed by the font file and the exact glyph set, so what is
    embedded in a PDF does not depend on which process made it."""
    for key, hit in entries.items():
        if key not in _SUBSETS and len(_SUBSETS) < _SUBSETS_MAX:
            _SUBSETS[key] = hit


class _SubsetFont:
    """The subset font of a cached subsetting: only its bytes (what the PDF embeds)."""

    def __init__(self, data: bytes):
        self.data = data


def _base_glyphs(fontfile) -> frozenset:
    key = (str(fontfile), getattr(fontfile, "face_index", 0))
    if key not in _BASE_GLYPHS:
        from matplotlib.ft2font import FT2Font
        f = FT2Font(fontfile)
        _BASE_GLYPHS[key] = frozenset(g for g in (f.get_char_index(ord(c)) for c in _BASE_CHARS)
                                      if g)
    return _BASE_GLYPHS[key]


@contextlib.contextmanager
def _lean_font_subsets():
    """Faster font subsetting while saving (restored afterwards): :class:`_LeanSubset`
    (no unused layout tables), and subsets cached across PDFs with the glyphs of
    :data:`_BASE_CHARS` added to each (``_backend_pdf_ps.get_glyphs_subset`` /
    ``font_as_file``). Only used around ``save_figure``, which writes no PS/EPS (the PS
    backend needs the subset's font object, not only its bytes). If matplotlib's
    internals differ from what we expect, nothing is changed and saving is only slower.

    Why our own wrapper: matplotlib re-reads and re-subsets the whole font file for every
    PDF (about 25 ms per font even without the layout tables); a run writes dozens.
    """
    try:
        from matplotlib.backends import _backend_pdf_ps as mod
        orig = mod.subset
        orig_get, orig_file = mod.get_glyphs_subset, mod.font_as_file
        ok = (hasattr(orig, "Options") and hasattr(orig, "Subsetter")
              and callable(orig_get) and callable(orig_file))
    except (ImportError, AttributeError):
        ok = False
    if not ok:
        yield
        return

    @contextlib.contextmanager
    def get_glyphs_subset(fontfile, glyphs):
        wanted = frozenset(int(g) for g in glyphs) | _base_glyphs(fontfile)
        key = (str(fontfile), getattr(fontfile, "face_index", 0), wanted)
        hit = _SUBSETS.get(key)
        if hit is None:
            with orig_get(fontfile, set(wanted)) as res:
                hit = (orig_file(res.font).getvalue(), dict(res.glyph_index_map))
            if len(_SUBSETS) >= _SUBSETS_MAX:
                _SUBSETS.clear()
            _SUBSETS[key] = hit
        yield types.SimpleNamespace(font=_SubsetFont(hit[0]), glyph_index_map=dict(hit[1]))

    def font_as_file(font):
        import io
        return io.BytesIO(font.data) if isinstance(font, _SubsetFont) else orig_file(font)

    mod.subset = _LeanSubset(orig)
    mod.get_glyphs_subset, mod.font_as_file = get_glyphs_subset, font_as_file
    try:
        yield
    finally:
        mod.subset = orig
        mod.get_glyphs_subset, mod.font_as_file = orig_get, orig_file


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

    Each format is rendered once. PNG and TIFF are cut from ONE Agg render at ``dpi``
    whose layout also gives the tight bounding box (every artist, the risk table's
    labels included), snapped outward to whole pixels (:func:`snap_bbox`); PDF and SVG
    are drawn once each with that box. matplotlib's ``bbox_inches="tight"`` would lay
    the figure out again for each format before drawing it. The PNG is pixel for pixel
    what ``savefig(bbox_inches=<the same box>)`` gives (tested). When an artist lies
    outside the figure, or with ``transparent=True``, rasters are drawn by ``savefig``
    with the box instead (one more layout). The PNG of the one render is encoded by
    :func:`write_png` (the same pixels, RGB when every pixel is opaque, about four times
    faster than Pillow's encoder).

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
    from .style import limit_figure_texts
    from .survival import apply_pending_fit
    limit_figure_texts(fig)  # long labels shortened (said once): the size stays bounded
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=_GLYPH_WARNING, category=UserWarning)
        apply_pending_fit(fig)  # a fit postponed by plots.survival.deferred_fit
    check_figure_size(fig, dpi, stem=path_stem)
    stem = Path(path_stem)
    if stem.suffix.lower().lstrip(".") in FORMATS + ("tif",):
        stem = stem.with_suffix("")
    stem.parent.mkdir(parents=True, exist_ok=True)
    out = []
    pad = 0.03
    raster = [f for f in formats if f in _RASTER]
    with mpl.rc_context(SAVE_RC), _lean_font_subsets(), warnings.catch_warnings():
        # said once, naming the text, by limit_figure_texts (FigureTextWarning)
        warnings.filterwarnings("ignore", message=_GLYPH_WARNING, category=UserWarning)
        box, pixels = None, None
        if raster and not transparent:
            # one Agg render at the raster dpi gives the pixels and (same renderer, layout
            # cached) the tight box; PNG and TIFF are cut from it
            box, pixels = _render_raster(fig, dpi, pad)
        if box is None:
            box = snap_bbox(tight_bbox(fig, pad_inches=pad, dpi=dpi), dpi)
        check_figure_size(fig, dpi, box=box, stem=path_stem)  # texts outside the figure
        for f in formats:
            p = stem.with_name(stem.name + "." + f)
            if f == "png" and pixels is not None:
                write_png(p, pixels, dpi)
                out.append(p)
                continue
            if f in _RASTER and pixels is not None:
                mpl.image.imsave(p, pixels, format=f, origin="upper", dpi=dpi,
                                 metadata=_METADATA.get(f), pil_kwargs=_pil_kwargs(f))
                out.append(p)
                continue
            kw = {"dpi": dpi, "format": f, "bbox_inches": box, "transparent": transparent}
            if f in _METADATA:
                kw["metadata"] = _METADATA[f]
            if f in _RASTER:
                kw["pil_kwargs"] = _pil_kwargs(f)
            fig.savefig(p, **kw)
            out.append(p)
    return out


_RASTER = ("png", "tiff")
#: matplotlib's warning for a character the font cannot draw: named once, with its text,
#: by ``plots.style.limit_figure_texts`` instead (a FigureTextWarning)
_GLYPH_WARNING = r"Glyph \d+ .*missing from (current )?font"

#: Most pixels a saved figure may have at its dpi (Pillow's decompression-bomb warning
#: threshold, so that every PNG reader opens it; a double-column figure at 600 dpi has
#: about 25 million). Texts are shortened before (``plots.style.limit_figure_texts``),
#: so only a figure drawn oversized by hand reaches it.
MAX_FIGURE_PIXELS = 89_478_485


class FigureTooLargeError(InputError):
    """A figure that would be larger than :data:`MAX_FIGURE_PIXELS`: not saved."""


def check_figure_size(fig, dpi, box=None, stem=None) -> None:
    """Raise :class:`FigureTooLargeError` when ``fig`` (or its box ``box``, inches) at
    ``dpi`` has more than :data:`MAX_FIGURE_PIXELS` pixels or a side over 65,000 pixels,
    before anything that size is drawn.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> fig = plt.figure(figsize=(400, 3))
    >>> check_figure_size(fig, 300, stem="km")
    Traceback (most recent call last):
    ...
    aplcohort.plots.export.FigureTooLargeError: figure 'km' would be 120,000 x 900 pixels at 300 dpi (more than 89,478,485 pixels, or a side over 65,000); it was not saved. Something in it is drawn far too large (a text or an axis range): shorten the labels or draw fewer items.
    >>> plt.close(fig)
    """
    if box is not None:
        w_in, h_in = box.width, box.height
    else:
        w_in, h_in = fig.get_size_inches()
    w, h = int(round(float(w_in) * dpi)), int(round(float(h_in) * dpi))
    if w * h > MAX_FIGURE_PIXELS or max(w, h) > 65_000:
        name = f" {Path(str(stem)).name!r}" if stem is not None else ""
        raise FigureTooLargeError(
            f"figure{name} would be {w:,} x {h:,} pixels at {dpi} dpi (more than "
            f"{MAX_FIGURE_PIXELS:,} pixels, or a side over 65,000); it was not saved. Something "
            "in it is drawn far too large (a text or an axis range): shorten the labels or "
            "draw fewer items.")


def write_png(path, pixels, dpi: float) -> None:
    """Write an ``(h, w, 4)`` uint8 RGBA array (first row on top) as a PNG file: RGB when
    every pixel is opaque (alpha carries nothing), else RGBA; 8 bits per channel; the
    resolution in a ``pHYs`` chunk (pixels per metre, as Pillow writes it); no text or
    time chunks, so the same pixels give the same bytes.

    Why our own encoder: Pillow (which ``matplotlib.image.imsave`` calls) tries the five
    PNG row filters on every row and keeps the smallest, ~100 ms for one 300-dpi figure;
    one "Up" filter (row minus the row above) computed with numpy and zlib level 3 gives
    files within a few per cent of Pillow's in about a quarter of the time. Any PNG reader
    decodes the same pixels (tested against Pillow).

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> from PIL import Image
    >>> px = np.zeros((2, 3, 4), np.uint8); px[..., 0] = [[0, 128, 255], [1, 2, 3]]; px[..., 3] = 255
    >>> p = os.path.join(tempfile.mkdtemp(), "x.png"); write_png(p, px, 300)
    >>> im = Image.open(p); im.mode, im.size, np.asarray(im)[..., 0].tolist()
    ('RGB', (3, 2), [[0, 128, 255], [1, 2, 3]])
    """
    import struct
    import zlib
    px = np.asarray(pixels)
    if px.dtype != np.uint8 or px.ndim != 3 or px.shape[2] != 4:
        raise InputError(f"write_png needs an (h, w, 4) uint8 array; got {px.dtype} {px.shape}")
    h, w, _ = px.shape
    opaque = bool((px[..., 3] == 255).all())
    nc = 3 if opaque else 4
    # rows of contiguous bytes: numpy's subtraction over the (h, w, 3) view of an RGBA
    # render is ~3x slower than one copy to RGB followed by a subtraction of whole rows
    src = np.ascontiguousarray(px[..., :nc]).reshape(h, w * nc)
    filtered = np.empty((h, w * nc + 1), dtype=np.uint8)
    filtered[:, 0] = 2  # filter type "Up" on every row
    body = filtered[:, 1:]                         # a view of the filtered rows
    body[0] = src[0]
    np.subtract(src[1:], src[:-1], out=body[1:])  # modulo 256, as PNG defines it

    def chunk(tag: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + tag + data
                + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF))

    ppm = int(dpi / 0.0254 + 0.5)
    data = (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2 if opaque else 6, 0, 0, 0))
            + chunk(b"pHYs", struct.pack(">IIB", ppm, ppm, 1))
            + chunk(b"IDAT", zlib.compress(memoryview(filtered).cast("B"), 3))
            + chunk(b"IEND", b""))
    with open(path, "wb") as fh:
        fh.write(data)


def _pil_kwargs(fmt: str) -> dict:
    # TIFF: LZW; PNG: zlib level 3 (same pixels as level 6, ~3x faster to encode)
    return {"compression": "tiff_lzw"} if fmt == "tiff" else {"compress_level": 3}


def snap_bbox(bbox, dpi: float):
    """``bbox`` (inches) grown outward to whole pixels at ``dpi``: every format saved with
    it has the same extent, and a raster cut from a full render at ``dpi`` is pixel for
    pixel what ``savefig(bbox_inches=<snapped box>)`` draws.

    Examples
    --------
    >>> from matplotlib.transforms import Bbox
    >>> [round(float(v), 6) for v in snap_bbox(Bbox([[0.001, 0.5], [1.996, 1.2]]), 100).bounds]
    [0.0, 0.5, 2.0, 0.7]
    """
    from matplotlib.transforms import Bbox
    x0, y0 = np.floor(bbox.x0 * dpi + 1e-9), np.floor(bbox.y0 * dpi + 1e-9)
    x1, y1 = np.ceil(bbox.x1 * dpi - 1e-9), np.ceil(bbox.y1 * dpi - 1e-9)
    return Bbox([[x0 / dpi, y0 / dpi], [x1 / dpi, y1 / dpi]])


def _render_raster(fig, dpi: float, pad: float):
    """``(box, RGBA pixels)`` of ``fig`` cut to its padded tight box (snapped to whole
    pixels), from ONE Agg render at ``dpi``; ``(box, None)`` when something drawn lies
    outside the figure (a full render cuts it off: the caller draws with
    ``bbox_inches=box``), and ``(None, None)`` when the figure cannot be rendered this
    way (a non-"auto" ``savefig.facecolor`` / ``edgecolor``: matplotlib's own path
    applies those). Padding that reaches past the figure edge is filled with the
    figure's face colour, as ``savefig(bbox_inches=box)`` fills it.

    Why not ``savefig(bbox_inches="tight")``: matplotlib lays the figure out once to
    measure the box and again to draw it, and again for every format; here the
    measurement reuses the layout of the render (same renderer, cached text extents).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    if any(str(mpl.rcParams[f"savefig.{k}"]) != "auto" for k in ("facecolor", "edgecolor")):
        return None, None
    old_canvas, old_dpi = fig.canvas, fig.dpi
    canvas = old_canvas if isinstance(old_canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    try:
        fig.set_dpi(dpi)
        canvas.draw()
        tight = fig.get_tightbbox(canvas.get_renderer())
        box = snap_bbox(tight.padded(pad), dpi)
        w, h = canvas.get_width_height()
        # drawn content must lie in the render (1 px of slack: the canvas is a whole
        # number of pixels, a figure-filling axes may end a fraction of a pixel past it)
        if (tight.x0 * dpi < -1 or tight.y0 * dpi < -1 or tight.x1 * dpi > w + 1
                or tight.y1 * dpi > h + 1):
            return box, None
        x0, y0 = int(round(box.x0 * dpi)), int(round(box.y0 * dpi))
        x1, y1 = int(round(box.x1 * dpi)), int(round(box.y1 * dpi))
        full = np.asarray(canvas.buffer_rgba())
        if x0 >= 0 and y0 >= 0 and x1 <= w and y1 <= h:
            return box, full[h - y1:h - y0, x0:x1].copy()
        face = np.asarray(mpl.colors.to_rgba_array(fig.get_facecolor())[0] * 255 + 0.5,
                          dtype=np.uint8)
        out = np.empty((y1 - y0, x1 - x0, 4), dtype=np.uint8)
        out[...] = face
        cx0, cy0, cx1, cy1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
        out[y1 - cy1:y1 - cy0, cx0 - x0:cx1 - x0] = full[h - cy1:h - cy0, cx0:cx1]
        return box, out
    finally:
        fig.set_dpi(old_dpi)
        if canvas is not old_canvas:
            fig.set_canvas(old_canvas)


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
    test with it). The rendered image is kept in ``out_dir`` so a failure can be
    inspected, with a ``-failed-diff.png`` beside it; without ``out_dir`` it goes to a
    temporary folder that is removed again when the images agree (kept on a failure).
    """
    import os
    import tempfile

    from matplotlib.testing.compare import compare_images

    if hasattr(fig, "figure") and not hasattr(fig, "savefig"):
        fig = fig.figure
    import shutil

    base = Path(baseline_dir) / f"{name}.png"
    own = out_dir is None  # a temporary folder of our own: removed when nothing failed
    out = Path(tempfile.mkdtemp(prefix="aplcohort-img-") if own else out_dir)
    out.mkdir(parents=True, exist_ok=True)
    actual = out / f"{name}.png"
    msg = None
    try:
        fig.savefig(actual, dpi=dpi, format="png", metadata={"Software": None},
                    bbox_inches="tight", pad_inches=0.03)
        if os.environ.get(REGEN_ENV) == "1":
            base.parent.mkdir(parents=True, exist_ok=True)
            base.write_bytes(actual.read_bytes())
        elif not base.exists():
            msg = (f"baseline image {base} does not exist; create it on purpose with "
                   f"{REGEN_ENV}=1 and look at it before committing")
        else:
            msg = compare_images(str(base), str(actual), tol=tol)
    finally:
        if own and msg is None:
            shutil.rmtree(out, ignore_errors=True)
    return msg
