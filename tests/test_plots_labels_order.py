"""Figure legends from the label resolver; default group order from the data dictionary;
balance figures on the run palette."""

import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.colors as mcolors  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from aplcohort.plan import run_plan  # noqa: E402
from aplcohort.plots.style import GROUP_COLORS, Palette  # noqa: E402
from aplcohort.tables.labels import resolve_labels  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data" / "synthetic" / "min2022.csv"
W = "postremission_modality in ['ATO-based', 'auto HSCT', 'allo HSCT']"
ENDPOINTS = {"os": {"endpoint": "OS", "time_zero": "response", "unit": "months"},
             "cir": {"endpoint": "CIR", "time_zero": "response", "unit": "months"}}


def hexc(c) -> str:
    return mcolors.to_hex(c, keep_alpha=False).lower()


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def _run(**over):
    plan = {"plan": "labels", "data": {"source": str(DATA)}, "endpoints": ENDPOINTS,
            "analyses": [
                {"id": "km", "kind": "km", "endpoint": "os", "where": W,
                 "group": "postremission_modality", "test": "logrank"},
                {"id": "cif", "kind": "cif", "endpoint": "cir", "where": W,
                 "group": "postremission_modality", "cause": 1, "test": "gray"},
                {"id": "swim", "kind": "swimmer", "color_by": "postremission_modality"}]}
    plan.update(over)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return run_plan(plan)


def _legend(res, aid):
    fig = res.analyses[aid].figures[0][1]
    ax = [a for a in fig.axes if a.get_legend() is not None][0]
    return [t.get_text() for t in ax.get_legend().get_texts()]


def test_default_order_is_the_dictionary_level_order_not_alphabetical():
    dict_order = ["ATO-based", "auto HSCT", "allo HSCT"]
    assert resolve_labels().order("postremission_modality", sorted(dict_order)) == dict_order
    assert sorted(dict_order, key=str) != dict_order  # the rule is not alphabetical
    res = _run()
    km = res.analyses["km"].result
    assert list(km.groups) == dict_order
    assert [t.split(" (n")[0] for t in _legend(res, "km")] == dict_order
    assert [t for t in _legend(res, "cif")] == dict_order
    # a column without a vocabulary keeps the alphabetical rule
    assert resolve_labels().order("my_arm", ["b", "a", "c"]) == ["a", "b", "c"]


def test_plan_levels_and_level_labels_reach_every_legend():
    res = _run(labels={"postremission_modality": {
                   "label": "Consolidation", "levels": {"allo HSCT": "Allogeneic HSCT"}}},
               levels={"postremission_modality": ["allo HSCT", "ATO-based", "auto HSCT"]})
    assert list(res.analyses["km"].result.groups) == ["allo HSCT", "ATO-based", "auto HSCT"]
    km = [t.split(" (n")[0] for t in _legend(res, "km")]
    assert km == ["Allogeneic HSCT", "ATO-based", "auto HSCT"]
    assert _legend(res, "cif") == ["Allogeneic HSCT", "ATO-based", "auto HSCT"]
    swim = _legend(res, "swim")
    assert swim[0] == "Consolidation" and "Allogeneic HSCT" in swim and "allo HSCT" not in swim
    # the risk table prints the same names
    fig = res.analyses["km"].figures[0][1]
    names = {t.get_text() for a in fig.axes for t in a.texts
             if (t.get_gid() or "").startswith("risk-label:")}
    assert "Allogeneic HSCT" in names and "allo HSCT" not in names


# ----------------------------------------------------------------------------- balance figures
@pytest.fixture(scope="module")
def three_arms():
    from aplcohort.adjust import balance, propensity_score, psweights
    rng = np.random.default_rng(5)
    n = 90
    df = pd.DataFrame({"age": rng.normal(50, 12, n), "wbc": rng.lognormal(1, 1, n)})
    df["arm"] = np.where(df.age + rng.normal(0, 10, n) > 55, "allo HSCT",
                         np.where(rng.random(n) < .5, "ATO-based", "auto HSCT"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ps = propensity_score(df, "arm", ["age", "wbc"])
        b = balance(df, "arm", ["age", "wbc"], psweights(ps, "ATE"))
    return ps, b


def test_love_plot_and_ps_histogram_use_the_run_palette(three_arms):
    from aplcohort.plots.balance import OTHERS_COLOR, love_plot, love_plot_frame, ps_histogram
    ps, b = three_arms
    pal = Palette(["ATO-based", "IC", "auto HSCT", "allo HSCT"])
    fig = love_plot(b, palette=pal, level_labels={"allo HSCT": "Allogeneic HSCT"})
    ax = fig.axes[0]
    fr = love_plot_frame(b)
    treated = [c.split(" vs ")[0] for c in fr["comparison"]]
    for gid in ("smd:unadjusted", "smd:adjusted"):
        coll = [c for c in ax.collections if c.get_gid() == gid][0]
        got = [hexc(c) for c in coll.get_edgecolors()]
        assert got == [pal.color(t).lower() for t in treated], gid
    assert "Allogeneic HSCT vs ATO-based" in [t.get_text() for t in ax.get_legend().get_texts()]
    # two comparisons with the same treated level differ in marker shape
    adj = [c for c in ax.collections if c.get_gid() == "smd:adjusted"][0]
    paths = adj.get_paths()
    by_comp = {}
    for comp, p in zip(fr["comparison"], paths):
        by_comp.setdefault(comp, p.vertices.shape)
    auto = [c for c in by_comp if c.startswith("auto HSCT vs")]
    assert len(auto) == 2 and by_comp[auto[0]] != by_comp[auto[1]]

    fig = ps_histogram(ps, palette=pal)
    for ax in fig.axes:
        up = [p for p in ax.patches if (p.get_gid() or "").split(":")[2:3] == ["up"]]
        down = [p for p in ax.patches if (p.get_gid() or "").split(":")[2:3] == ["down"]]
        level = ax.get_xlabel().split("P(", 1)[1].rstrip(")")
        assert {hexc(p.get_facecolor()) for p in up} == {pal.color(level).lower()}
        assert {hexc(p.get_facecolor()) for p in down} == {OTHERS_COLOR.lower()}
    assert OTHERS_COLOR.lower() not in {c.lower() for c in GROUP_COLORS}
    assert "others" not in pal  # "all others" is not registered as a level of the run
