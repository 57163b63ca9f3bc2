"""Save a figure in journal formats (PNG, SVG, PDF, TIFF) at 300 or 600 dpi."""

from __future__ import annotations

from pathlib import Path

import matplotlib as mpl

from ..errors import InputError

#: Formats :func:`save_figure` writes.
FORMATS = ("png", "svg", "pdf", "tiff")

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
    TIFF files are LZW-compressed RGBA. Vector formats embed the fonts (TrueType in
    PDF, paths in SVG). Time stamps are not written, so output is reproducible.

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
    for f in formats:
        p = stem.with_name(stem.name + "." + f)
        kw = {"dpi": dpi, "format": f, "bbox_inches": "tight", "pad_inches": 0.03,
              "transparent": transparent}
        if f in _METADATA:
            kw["metadata"] = _METADATA[f]
        if f == "tiff":
            kw["pil_kwargs"] = {"compression": "tiff_lzw"}
        with mpl.rc_context({"svg.hashsalt": "aplcohort"}):  # deterministic SVG ids
            fig.savefig(p, **kw)
        out.append(p)
    return out


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
