"""Figures consistent across a paper (issue 15): palette, fonts, swimmer markers, forest
labels, CIF axes, y labels, risk tables from the result, in grids and when saved."""

from __future__ import annotations

import re

import matplotlib

matplotlib.use("Agg")
import matplotlib.colors as mcolors  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from hypothesis import assume, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from aplcohort.errors import InputError  # noqa: E402
from aplcohort.plots.export import save, save_figure  # noqa: E402
from aplcohort.plots.forest import plot_forest  # noqa: E402
from aplcohort.plots.style import (GROUP_COLORS, MARKER_COLORS,  # noqa: E402
                                   NEUTRAL_COLORS, Palette)
from aplcohort.plots.survival import (align_risk_tables, cif_upper_limit, plot_cif,  # noqa: E402
                                      plot_km, risk_table_values)
from aplcohort.plots.swimmer import EVENTS, dodge_positions, plot_swimmer  # noqa: E402
from aplcohort.stats.competing import cumulative_incidence  # noqa: E402
from aplcohort.stats.km import kaplan_meier, number_at_risk  # noqa: E402


def hexc(c) -> str:
    return mcolors.to_hex(c, keep_alpha=False).lower()


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


# ----------------------------------------------------------------------------- palette
def test_palette_keeps_a_level_style_and_reserves_marker_colours():
    p = Palette(["ATO-based", "IC", "none"])
    first = p.style("IC")
    p.add("auto HSCT")
    p.add("allo HSCT")
    assert p.style("IC") == first  # registration of later levels changes nothing
    assert p.color("none") == NEUTRAL_COLORS[0]
    assert p.color("all") == "#000000" and p.color(None) == "#000000"
    group_cols = [p.color(lv) for lv in ("ATO-based", "IC", "auto HSCT", "allo HSCT")]
    assert len(set(group_cols)) == 4
    assert not {c.lower() for c in group_cols} & {c.lower() for c in MARKER_COLORS}
    styles = [str(p.style(lv)["linestyle"]) for lv in ("ATO-based", "IC", "auto HSCT", "allo HSCT")]
    assert len(set(styles)) == 4  # distinct in greyscale too
    assert Palette(["x"], colors={"x": "grey"}).color("x") == "grey"


@settings(max_examples=50, deadline=None)
@given(st.lists(st.text(min_size=1, max_size=6), min_size=1, max_size=20, unique=True))
def test_palette_color_and_linestyle_pair_unique(levels):
    from aplcohort.plots.style import NEUTRAL_LEVELS
    assume(not any(lv.strip().lower() in NEUTRAL_LEVELS or lv == "all" for lv in levels))
    p = Palette(levels)
    pairs = {(p.style(lv)["color"], str(p.style(lv)["linestyle"])) for lv in levels}
    assert len(pairs) == len(levels)
    assert Palette(levels).to_dict() == p.to_dict()  # deterministic


def test_same_level_same_colour_in_km_cif_and_swimmer():
    rng = np.random.default_rng(7)
    n = 30
    g = np.array(["ATO-based", "auto HSCT", "allo HSCT"] * 10, dtype=object)
    t = rng.exponential(20, n)
    code = rng.integers(0, 3, n)
    pal = Palette(["allo HSCT", "ATO-based", "auto HSCT"])
    ax_km = plot_km(kaplan_meier(t, code > 0, g), palette=pal)
    # order differs from the palette's on purpose: colours follow the level, not the position
    ax_cif = plot_cif(cumulative_incidence(t, code, g), cause=1, palette=pal,
                      order=["auto HSCT", "allo HSCT", "ATO-based"])
    for ax in (ax_km, ax_cif):
        for lv in ("ATO-based", "auto HSCT", "allo HSCT"):
            line = [ln for ln in ax.lines if ln.get_gid() == f"curve:{lv}"][0]
            assert hexc(line.get_color()) == pal.color(lv).lower()
            lab = [tx for a in ax.figure.axes for tx in a.texts
                   if tx.get_gid() == f"risk-label:n_risk:{lv}"][0]
            assert hexc(lab.get_color()) == pal.color(lv).lower()


# ----------------------------------------------------------------------------- swimmer
def _swimmer_frame():
    d = pd.DataFrame({
        "patient_id": ["P1", "P2", "P3"],
        "relapse1_date": ["2020-01-01"] * 3,
        "reinduction_start_date": ["2020-01-03", "2020-01-02", None],
        "response": ["mCR2", "CR2", None],
        "response_date": ["2020-01-20", "2020-02-01", None],
        "postremission_start_date": ["2020-02-01", "2020-03-01", None],
        "postremission_modality": ["allo HSCT", "auto HSCT", None],
        "relapse2_date": ["2020-02-10", None, None],
        "salvage2_start_date": ["2020-02-12", None, None],
        "death_date": [None, None, "2020-02-01"],
        "last_followup_date": ["2024-01-01", "2023-01-01", "2020-02-01"],
    })
    return d


def test_swimmer_markers_never_in_a_lane_colour_and_relapse_marker_not_a_group_colour():
    pal = Palette(["ATO-based", "auto HSCT", "allo HSCT"])
    ax = plot_swimmer(_swimmer_frame(), palette=pal, missing_label="not reinduced")
    bars = {hexc(p.get_facecolor()) for p in ax.patches if (p.get_gid() or "").startswith("lane:")}
    assert hexc(pal.color("allo HSCT")) in bars
    markers = [ln for ln in ax.lines if (ln.get_gid() or "").startswith("event:")]
    assert markers
    for ln in markers:
        assert hexc(ln.get_markerfacecolor()) not in bars, ln.get_gid()
    shapes = [(ln.get_marker(), hexc(ln.get_markerfacecolor())) for ln in markers]
    assert len(set(shapes)) == len(shapes)  # one shape (filled / open) per event
    rel = [ln for ln in ax.lines if ln.get_gid() == "event:relapse2"][0]
    assert hexc(rel.get_markerfacecolor()) not in {c.lower() for c in GROUP_COLORS}
    assert hexc(rel.get_markeredgecolor()) == "#000000"  # visible on every bar
    assert set(EVENTS["relapse2"][2:4]) <= set(MARKER_COLORS) | {"black"}


def test_swimmer_early_markers_do_not_overlap():
    ax = plot_swimmer(_swimmer_frame(), unit="months")
    fig = ax.figure
    fig.canvas.draw()
    # P1: mCR2, post-remission, relapse2, salvage within 6 weeks on a 4-year axis
    by_lane = {}
    for ln in ax.lines:
        gid = ln.get_gid() or ""
        if not gid.startswith("event:"):
            continue
        for x, y in ax.transData.transform(np.c_[ln.get_xdata(), ln.get_ydata()]):
            by_lane.setdefault(round(float(y), 3), []).append(float(x))
    width_px = 3.8 * fig.dpi / 72.0
    assert max(len(v) for v in by_lane.values()) >= 5
    for xs in by_lane.values():
        assert np.all(np.diff(np.sort(xs)) >= width_px * 0.999), xs
    ax2 = plot_swimmer(_swimmer_frame(), unit="months", dodge=False)
    rel = [ln for ln in ax2.lines if ln.get_gid() == "event:relapse2"][0]
    assert rel.get_xdata()[0] == pytest.approx(40 / (365.25 / 12))  # exact time without dodge


def test_dodge_positions_rule():
    assert dodge_positions([0.0, 0.5, 1.0, 20.0], 2.0).tolist() == [0.0, 2.0, 4.0, 20.0]
    assert dodge_positions([1.0, 5.0, 9.0], 2.0).tolist() == [1.0, 5.0, 9.0]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0, 100), min_size=1, max_size=12), st.floats(0.01, 5))
def test_dodge_positions_properties(times, gap):
    t = np.sort(np.asarray(times))
    x = dodge_positions(t, gap)
    assert np.all(x >= t)                                   # only moved right
    assert np.all(np.diff(x) >= gap - 1e-9)                 # never closer than one marker
    assert np.all(x - t <= gap * np.arange(1, t.size + 1))  # by at most a few markers


# ----------------------------------------------------------------------------- forest
def test_forest_labels_inside_their_column_at_every_dpi():
    df = pd.DataFrame({
        "label": ["postremission_modality: allo HSCT vs ATO-based",
                  "postremission_modality: auto HSCT vs ATO-based", "age_at_relapse"],
        "hr": [1.15, 1.34, 1.01], "lower": [0.48, 0.59, 0.97], "upper": [2.74, 3.0, 1.05],
        "p": [0.75, 0.48, 0.67]})
    fig = plot_forest(df)
    pax = [a for a in fig.axes if a.get_label() == "forest"][0]
    for dpi in (72, 100, 150, 300, 600):
        fig.set_dpi(dpi)
        fig.canvas.draw()
        r = fig.canvas.get_renderer()
        fb = fig.bbox
        x_plot = pax.get_window_extent(r).x0
        for t in (t for a in fig.axes for t in a.texts):
            bb = t.get_window_extent(r)
            assert bb.x0 >= fb.x0 - 0.5 and bb.x1 <= fb.x1 + 0.5, (dpi, t.get_text())
            if (t.get_gid() or "").startswith("cell:label:"):
                assert bb.x1 < x_plot, (dpi, t.get_text(), bb.x1, x_plot)


def test_forest_row_of_a_level_in_the_palette_colour():
    pal = Palette(["ATO-based", "auto HSCT", "allo HSCT"])
    df = pd.DataFrame({"label": ["modality: allo HSCT vs ATO-based", "age"], "hr": [1.2, 1.0],
                       "lower": [0.5, 0.9], "upper": [2.5, 1.1]})
    fig = plot_forest(df, palette=pal)
    pax = [a for a in fig.axes if a.get_label() == "forest"][0]
    ci0 = [ln for ln in pax.lines if ln.get_gid() == "ci:0:0"][0]
    ci1 = [ln for ln in pax.lines if ln.get_gid() == "ci:0:1"][0]
    assert hexc(ci0.get_color()) == pal.color("allo HSCT").lower()
    assert hexc(ci1.get_color()) == "#000000"


# ----------------------------------------------------------------------------- CIF / KM axes
def test_cif_upper_limit():
    assert cif_upper_limit(0.167) == 0.2
    assert cif_upper_limit(0.0) == 0.05
    assert cif_upper_limit(0.3) == 0.4
    assert cif_upper_limit(0.75) == 1.03
    with pytest.raises(InputError, match="ymax"):
        cif_upper_limit(float("nan"))


def _nrm_like():
    # 3 groups; only one has an event of cause 2 (17 %), two have none
    t = np.array([12, 30, 40, 50, 60, 70, 20, 25, 35, 45, 55, 65, 15, 22, 33, 44, 66, 77.0])
    code = np.array([2, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 1, 0, 0, 1, 0])
    g = np.array(["allo HSCT"] * 6 + ["ATO-based"] * 6 + ["auto HSCT"] * 6, dtype=object)
    return t, code, g


def test_cif_axis_scaled_to_the_curves_and_zero_curves_visible():
    t, code, g = _nrm_like()
    ax = plot_cif(cumulative_incidence(t, code, g), cause=2)
    assert ax.get_ylim() == (0.0, 0.2)
    assert ax.spines["bottom"].get_position() == ("outward", 3)
    ax2 = plot_cif(cumulative_incidence(t, code, g), cause=2, ylim=(0, 1))
    assert ax2.get_ylim() == (0.0, 1.0)


def test_cif_risk_table_and_censor_marks_from_the_result_alone():
    t, code, g = _nrm_like()
    res = cumulative_incidence(t, code, g)
    times = [0, 20, 40, 60]
    ax = plot_cif(res, cause=1, times=times)  # no data=
    got = risk_table_values(ax)
    want = number_at_risk(t, code > 0, times, g)
    for r in want.itertuples():
        cell = got[(got.row == "n_risk") & (got.group == str(r.group)) & (got.time == r.time)]
        assert cell["text"].iloc[0] == str(int(r.n_risk))
    marks = [ln for ln in ax.lines if ln.get_gid() == "censor:allo HSCT"][0]
    assert sorted(marks.get_xdata()) == [30.0, 40.0, 50.0, 60.0, 70.0]


def test_km_y_label_is_not_overall_survival_by_default():
    km = kaplan_meier([5, 8, 12, 20], [1, 0, 1, 0])
    assert plot_km(km).get_ylabel() == "Survival probability"
    assert plot_km(km, ylabel="Relapse-free survival").get_ylabel() == "Relapse-free survival"


# ----------------------------------------------------------------------------- risk tables
def _text_boxes(fig):
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    return [(t, t.get_window_extent(r)) for a in fig.axes for t in a.texts if t.get_text()]


def test_plain_savefig_keeps_the_risk_table_labels(tmp_path):
    g = np.array(["ATO-based (long label)"] * 4 + ["IC"] * 4, dtype=object)
    km = kaplan_meier([5, 8, 12, 20, 3, 9, 14, 30], [1, 0, 1, 0, 1, 1, 0, 1], g)
    ax = plot_km(km, risk_rows=("n_risk", "cum_events"))
    fig = ax.figure
    fb = fig.bbox
    for t, bb in _text_boxes(fig):
        assert fb.x0 - 0.5 <= bb.x0 and bb.x1 <= fb.x1 + 0.5, t.get_text()
        assert fb.y0 - 0.5 <= bb.y0 and bb.y1 <= fb.y1 + 0.5, t.get_text()
    for ext in ("png", "pdf", "svg"):
        p = save(ax, tmp_path / f"km.{ext}")
        assert p.exists() and p.stat().st_size > 0
    with pytest.raises(InputError, match="extension"):
        save(ax, tmp_path / "km.jpg")


def test_risk_table_labels_do_not_overlap_in_a_grid():
    rng = np.random.default_rng(3)
    t = rng.exponential(30, 40)
    e = rng.integers(0, 2, 40)
    g = rng.choice(["ATO-based", "auto HSCT", "allo HSCT"], 40)
    km = kaplan_meier(t, e, g)
    fig, axes = plt.subplots(1, 2, figsize=(7, 3.2))
    plot_km(km, axes[0])
    plot_km(km, axes[1])
    align_risk_tables(fig)
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    risk_axes = [a for a in fig.axes if a.get_label() == "risk table"]
    left, right = sorted(risk_axes, key=lambda a: a.get_position().x0)
    right_labels = [t.get_window_extent(r) for t in right.texts
                    if (t.get_gid() or "").startswith("risk-label:")]
    left_cells = [t.get_window_extent(r) for t in left.texts if (t.get_gid() or "").startswith("risk:")]
    assert min(b.x0 for b in right_labels) > max(b.x1 for b in left_cells)
    assert min(b.x0 for b in right_labels) >= 0


# ----------------------------------------------------------------------------- fonts
def _pdf_fonts(data: bytes) -> tuple[list, list]:
    """(font subtypes, embedded font-file keys) of a PDF (matplotlib writes font
    dictionaries uncompressed)."""
    subtypes = re.findall(rb"/Subtype\s*/(Type3|TrueType|Type0|Type1|CIDFontType2)", data)
    files = re.findall(rb"/(FontFile2|FontFile3|FontFile)\b", data)
    return subtypes, files


def test_pdf_fonts_truetype_and_svg_text_as_text(tmp_path):
    km = kaplan_meier([5, 8, 12, 20, 3, 9], [1, 0, 1, 0, 1, 1], ["A"] * 3 + ["B"] * 3)
    ax = plot_km(km, pvalue=0.04, pvalue_test="log-rank")
    pdf, svg = save_figure(ax, tmp_path / "km", formats=("pdf", "svg"))
    subtypes, files = _pdf_fonts(pdf.read_bytes())
    assert b"Type3" not in subtypes and subtypes
    assert b"FontFile2" in files
    text = svg.read_text(encoding="utf-8")
    assert "<text" in text and "Log-rank" in text
    # nothing global was changed
    assert matplotlib.rcParams["pdf.fonttype"] == matplotlib.rcParamsDefault["pdf.fonttype"]


def test_state_named_like_a_group_level_takes_its_colour_and_no_colour_is_used_twice():
    from aplcohort.plots.multistate import palette_state_colors, state_colors
    states = ["relapse1", "CR2", "ATO-based", "auto HSCT", "allo HSCT", "relapse2",
              "salvage allo HSCT", "CR3", "death"]
    pal = Palette(["ATO-based", "IC", "auto HSCT", "allo HSCT"])
    cols = palette_state_colors(states, pal, state_colors(states))
    for lv in ("ATO-based", "auto HSCT", "allo HSCT"):
        assert cols[lv] == pal.color(lv)
    assert len({str(c).lower() for c in cols.values()}) == len(states)
    assert palette_state_colors(states, None, state_colors(states)) == state_colors(states)


def test_swimmer_legend_in_the_run_order():
    pal = Palette(["ATO-based", "auto HSCT", "allo HSCT"])
    ax = plot_swimmer(_swimmer_frame(), palette=pal, missing_label="not reinduced")
    names = [t.get_text() for t in ax.get_legend().get_texts()]
    assert names[1:4] == ["auto HSCT", "allo HSCT", "not reinduced"]


def test_risk_tables_of_a_grid_line_up_with_different_group_counts():
    rng = np.random.default_rng(3)
    n = 60
    t = rng.exponential(30, n)
    c = rng.integers(0, 3, n)
    g2 = rng.choice(["ATO-based", "IC"], n)
    g3 = rng.choice(["ATO-based (long label)", "auto HSCT", "allo HSCT"], n)
    fig, axes = plt.subplots(2, 2, figsize=(7.2, 7.5))
    plot_km(kaplan_meier(t, c > 0, g2), axes[0, 0])
    plot_cif(cumulative_incidence(t, c, g3), axes[0, 1])          # 3 groups beside 2
    plot_km(kaplan_meier(t, c > 0, g3), axes[1, 0])               # long labels, left column
    plot_km(kaplan_meier(t, c > 0), axes[1, 1])                   # one curve
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    box = {(i, j): axes[i, j].get_window_extent(r) for i in (0, 1) for j in (0, 1)}
    for i in (0, 1):   # rows: same curve-axes bottom and top (x axes on one line)
        assert box[i, 0].y0 == pytest.approx(box[i, 1].y0, abs=0.01)
        assert box[i, 0].y1 == pytest.approx(box[i, 1].y1, abs=0.01)
    for j in (0, 1):   # columns: same left and right edges
        assert box[0, j].x0 == pytest.approx(box[1, j].x0, abs=0.01)
        assert box[0, j].x1 == pytest.approx(box[1, j].x1, abs=0.01)
    # the first group's at-risk row sits at the same height in both panels of the top row
    ys = [tx.get_window_extent(r).y0 for a in fig.axes for tx in a.texts
          if (tx.get_gid() or "").startswith("risk:n_risk:ATO-based") and tx.get_gid().endswith(":0")]
    assert len(ys) == 3
    top_row = [y for y in ys if y > box[1, 0].y1]
    assert len(top_row) == 2 and top_row[0] == pytest.approx(top_row[1], abs=0.01)
    # labels clear of the panel to the left, everything inside the figure
    for tx in (tx for a in fig.axes for tx in a.texts if tx.get_text()):
        bb = tx.get_window_extent(r)
        assert bb.x0 >= -0.5 and bb.x1 <= fig.bbox.x1 + 0.5, tx.get_text()
    align_risk_tables(fig)   # idempotent: a second call moves nothing
    fig.canvas.draw()
    assert axes[0, 1].get_window_extent(fig.canvas.get_renderer()).x0 == pytest.approx(box[0, 1].x0)


def test_cif_inset_when_curves_are_near_zero():
    from aplcohort.plots.survival import inset_upper_limit, needs_inset
    assert needs_inset(0.03, 1.0) and not needs_inset(0.3, 1.0) and not needs_inset(0.0, 1.0)
    assert not needs_inset(0.167, cif_upper_limit(0.167))   # the automatic axis needs none
    assert inset_upper_limit(0.031) == 0.05 and inset_upper_limit(0.0042) == 0.005
    assert inset_upper_limit(0.08) == 0.1 and inset_upper_limit(0.2) == 0.25
    with pytest.raises(InputError, match="peak"):
        inset_upper_limit(0.0)
    t, code, g = _nrm_like()
    res = cumulative_incidence(t, code, g)
    ax = plot_cif(res, cause=2, ylim=(0, 1))     # 17 % on a 0-1 axis: near zero
    ins = [a for a in ax.child_axes if a.get_label() == "cif inset"]
    assert len(ins) == 1
    ins = ins[0]
    assert ins.get_ylim() == (0.0, inset_upper_limit(1 / 6))
    main = [ln for ln in ax.lines if ln.get_gid() == "curve:allo HSCT"][0]
    zoom = [ln for ln in ins.lines if ln.get_gid() == "inset:allo HSCT"][0]
    np.testing.assert_array_equal(zoom.get_xdata(), main.get_xdata())
    np.testing.assert_array_equal(zoom.get_ydata(), main.get_ydata())
    # legend and p-value are placed clear of the inset
    fig = ax.figure
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    ib = ins.get_window_extent(r)
    lb = ax.get_legend().get_window_extent(r)
    assert lb.x0 >= ib.x1 or lb.x1 <= ib.x0 or lb.y0 >= ib.y1 or lb.y1 <= ib.y0
    assert not [a for a in plot_cif(res, cause=2).child_axes]          # axis 0-0.2: no inset
    assert not [a for a in plot_cif(res, cause=2, ylim=(0, 1), inset=False).child_axes]
    assert len(plot_cif(res, cause=2, inset=True).child_axes) == 1
    with pytest.raises(InputError, match="inset"):
        plot_cif(res, cause=2, inset="yes")
