"""Journal styles and figure export."""

import matplotlib

matplotlib.use("Agg")
import matplotlib as mpl  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from PIL import Image  # noqa: E402

from aplcohort.errors import InputError  # noqa: E402
from aplcohort.plots.export import save_figure  # noqa: E402
from aplcohort.plots.style import (LINESTYLES, MIN_FONT_PT, OKABE_ITO, PALETTE,  # noqa: E402
                                   column_width, figure_size, group_styles, journal_style,
                                   style_rc)


def test_widths_and_sizes():
    assert column_width("single") == pytest.approx(85 / 25.4)
    assert column_width("double") == pytest.approx(175 / 25.4)
    w, h = figure_size("single", height_mm=60)
    assert (w * 25.4, h * 25.4) == (pytest.approx(85), pytest.approx(60))
    with pytest.raises(InputError, match="width must be one of"):
        column_width("triple")


def test_style_is_a_context_and_restores_rcparams():
    before = dict(mpl.rcParams)
    with journal_style(font_size=9):
        assert mpl.rcParams["font.size"] == 9
        assert mpl.rcParams["font.sans-serif"][0] == "DejaVu Sans"
        assert mpl.rcParams["pdf.fonttype"] == 42
        assert mpl.rcParams["xtick.labelsize"] >= MIN_FONT_PT
    assert dict(mpl.rcParams) == before
    with pytest.raises(InputError, match="below 7"):
        style_rc(6)
    assert all(style_rc(7)[k] >= 7 for k in ("font.size", "xtick.labelsize", "legend.fontsize"))


def test_palette_and_line_styles():
    assert set(PALETTE) == set(OKABE_ITO.values())
    assert len(set(map(str, LINESTYLES))) == len(LINESTYLES)  # all dash patterns distinct
    s = group_styles(["A", "B", "C"], colors={"B": "grey"})
    assert s["A"]["color"] == PALETTE[0] and s["B"]["color"] == "grey" and s["C"]["color"] == PALETTE[2]
    assert len({str(v["linestyle"]) for v in s.values()}) == 3
    with pytest.raises(InputError, match="one per group"):
        group_styles(["A", "B"], colors=["red"])


def test_save_figure_formats_dpi_and_determinism(tmp_path):
    with journal_style():
        fig, ax = plt.subplots(figsize=figure_size("single"))
        ax.plot([0, 1], [0, 1], label="x")
    paths = save_figure(fig, tmp_path / "out" / "fig1", dpi=300)
    assert [p.name for p in paths] == ["fig1.png", "fig1.svg", "fig1.pdf", "fig1.tiff"]
    for p in paths:
        assert p.stat().st_size > 0
    im = Image.open(tmp_path / "out" / "fig1.tiff")
    assert round(im.info["dpi"][0]) == 300
    png = Image.open(tmp_path / "out" / "fig1.png")
    assert round(png.info["dpi"][0]) == 300
    again = save_figure(fig, tmp_path / "again", formats=("png", "svg", "pdf"), dpi=300)
    for a, b in zip(paths[:3], again):
        assert a.read_bytes() == b.read_bytes(), a.suffix
    p600 = save_figure(ax, tmp_path / "f600", formats=("png",), dpi=600)[0]
    assert Image.open(p600).size[0] > 1.9 * png.size[0]
    with pytest.raises(InputError, match="dpi"):
        save_figure(fig, tmp_path / "x", dpi=150)
    with pytest.raises(InputError, match="unsupported"):
        save_figure(fig, tmp_path / "x", formats=("gif",))
    plt.close(fig)


def test_journal_style_keeps_interactive_mode_switched_on_inside_it():
    # Jupyter's inline backend switches interactive mode on when the first figure is
    # made; if that happens inside journal_style, leaving the style must not undo it
    # (otherwise every later figure in the notebook is silently not shown).
    import matplotlib as mpl

    from aplcohort.plots.style import journal_style
    was = mpl.is_interactive()
    try:
        mpl.interactive(False)
        with journal_style():
            mpl.interactive(True)
        assert mpl.is_interactive()
        with journal_style():
            pass
        assert mpl.is_interactive()
    finally:
        mpl.interactive(was)


# ----------------------------------------------------------------------------- one render per format
def _km_fig():
    import numpy as np

    from aplcohort.plots.survival import plot_km
    from aplcohort.stats.km import kaplan_meier
    rng = np.random.default_rng(3)
    g = rng.choice(["ATO-based", "auto HSCT", "allo HSCT"], 40)
    km = kaplan_meier(rng.exponential(30, 40), rng.integers(0, 2, 40), g)
    return plot_km(km, pvalue=0.03, pvalue_test="log-rank", width="double").figure


def _count_draws(monkeypatch):
    from matplotlib.figure import Figure
    calls = []
    orig = Figure.draw

    def draw(self, renderer):
        calls.append(type(renderer).__name__)
        return orig(self, renderer)
    monkeypatch.setattr(Figure, "draw", draw)
    return calls


def test_save_figure_draws_each_format_once(tmp_path, monkeypatch):
    fig = _km_fig()
    calls = _count_draws(monkeypatch)
    save_figure(fig, tmp_path / "km", formats=("png", "pdf", "svg", "tiff"), dpi=300)
    # PNG and TIFF share one Agg render; PDF and SVG one draw each; no layout-only pass
    assert len(calls) == 3, calls
    plt.close(fig)


def test_save_figure_png_is_the_savefig_image_of_its_box(tmp_path):
    import io

    import numpy as np

    from aplcohort.plots.export import _render_raster, tight_bbox
    for fig in (_km_fig(), plt.figure(figsize=(2, 1.5))):
        if not fig.axes:  # an axes filling the figure: the padding lies outside the canvas
            a = fig.add_axes([0, 0, 1, 1])
            a.set_axis_off()
            a.add_patch(plt.Rectangle((0, 0), 1, 1, color="#0072B2"))
        p = save_figure(fig, tmp_path / "a", formats=("png",), dpi=300)[0]
        box, px = _render_raster(fig, 300, 0.03)
        assert px is not None
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=300, bbox_inches=box)
        want = np.asarray(Image.open(buf))
        got = np.asarray(Image.open(p))
        # every pixel opaque: written as RGB, which loses nothing
        assert (want[..., 3] == 255).all() and got.shape == want.shape[:2] + (3,)
        assert np.array_equal(got, want[..., :3])
        assert Image.open(p).info["dpi"] == Image.open(buf).info["dpi"]
        # the box is what bbox_inches="tight" crops to, grown to whole pixels
        tight = tight_bbox(fig, 0.03, dpi=300)  # laid out at the raster dpi
        assert box.x0 <= tight.x0 + 1e-9 and box.x1 >= tight.x1 - 1e-9
        assert box.x0 > tight.x0 - 1 / 300 and box.x1 < tight.x1 + 1 / 300
        plt.close(fig)


def test_write_png_decodes_to_the_same_pixels_as_pillow_writes(tmp_path):
    import numpy as np

    from aplcohort.plots.export import write_png
    rng = np.random.default_rng(7)
    for alpha in (255, None):  # opaque (RGB file) and translucent (RGBA file)
        px = rng.integers(0, 256, size=(37, 23, 4), dtype=np.uint8)
        px[5:9] = px[4]           # repeated rows: the "Up" filter gives zeros there
        if alpha is not None:
            px[..., 3] = alpha
        write_png(tmp_path / "ours.png", px, 300)
        Image.fromarray(px).save(tmp_path / "pil.png", dpi=(300, 300))
        ours, pil = Image.open(tmp_path / "ours.png"), Image.open(tmp_path / "pil.png")
        assert ours.mode == ("RGB" if alpha == 255 else "RGBA")
        assert np.array_equal(np.asarray(ours.convert("RGBA")), np.asarray(pil))
        assert ours.info["dpi"] == pil.info["dpi"]
    with pytest.raises(InputError, match="uint8"):
        write_png(tmp_path / "bad.png", np.zeros((2, 2, 4)), 300)


def test_save_figure_keeps_what_lies_outside_the_figure(tmp_path):
    fig, ax = plt.subplots(figsize=(2, 1.5))
    ax.text(-0.9, 0.5, "far left label", transform=ax.transAxes, clip_on=False)
    p = save_figure(fig, tmp_path / "out", formats=("png",), dpi=300)[0]
    w = Image.open(p).size[0]
    assert w > 2 * 300  # wider than the figure: the label was not cut off
    bb = fig.get_tightbbox(fig.canvas.get_renderer()).padded(0.03)
    assert w == pytest.approx(bb.width * 300, abs=2)
    plt.close(fig)


def test_pdf_bytes_depend_only_on_the_figure_not_on_earlier_saves(tmp_path):
    # font subsets are cached across PDFs: a figure's PDF must not depend on what was
    # saved before it (nor on a cold or warm cache)
    from aplcohort.plots import export
    a = _km_fig()
    with journal_style():
        fig_b, ax = plt.subplots()
        ax.set_title("Überleben Ω ≥ 5")   # glyphs outside the shared base set
    export._SUBSETS.clear()
    first = save_figure(a, tmp_path / "a1", formats=("pdf",))[0].read_bytes()
    b1 = save_figure(fig_b, tmp_path / "b1", formats=("pdf",))[0].read_bytes()
    again = save_figure(a, tmp_path / "a2", formats=("pdf",))[0].read_bytes()
    export._SUBSETS.clear()
    b2 = save_figure(fig_b, tmp_path / "b2", formats=("pdf",))[0].read_bytes()
    assert first == again and b1 == b2
    assert b"/FontFile2" in b1 and b"Type3" not in b1
    from matplotlib.backends import _backend_pdf_ps as mod
    assert mod.get_glyphs_subset.__module__ == "matplotlib.backends._backend_pdf_ps"  # restored
    plt.close(fig_b)
    plt.close(a)


def test_making_a_figure_draws_nothing(monkeypatch):
    # layout is measured once (get_tightbbox) when a figure is made; drawing happens only
    # when it is saved, once per format
    calls = _count_draws(monkeypatch)
    fig = _km_fig()
    assert calls == []
    plt.close(fig)


def test_a_deferred_fit_saves_the_same_bytes_as_an_eager_one(tmp_path):
    """plots.survival.deferred_fit (the command line's figure process) only moves the
    layout pass of fit_inside to save time: the files are the same bytes."""
    from aplcohort.plots.survival import deferred_fit
    eager = _km_fig()
    size = tuple(eager.get_size_inches())
    with deferred_fit():
        lazy = _km_fig()
    assert "_aplcohort_fit_pad" in lazy.__dict__           # marked, not yet fitted
    assert tuple(lazy.get_size_inches()) != size             # the fit changes the size
    a = save_figure(eager, tmp_path / "eager", formats=("png", "pdf"), dpi=300)
    b = save_figure(lazy, tmp_path / "lazy", formats=("png", "pdf"), dpi=300)
    assert "_aplcohort_fit_pad" not in lazy.__dict__
    assert tuple(lazy.get_size_inches()) == size
    assert [p.read_bytes() for p in a] == [p.read_bytes() for p in b]
    plt.close(eager)
    plt.close(lazy)
