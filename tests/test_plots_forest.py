"""Forest plots: printed cells equal the Cox / subgroup numbers; baseline image."""

import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from aplcohort.errors import InputError  # noqa: E402
from aplcohort.plots.export import check_baseline  # noqa: E402
from aplcohort.plots.forest import (forest_frame, log_ticks, plot_forest,  # noqa: E402
                                    subgroup_hazard_ratios)
from aplcohort.tables.format import format_ci, format_p  # noqa: E402

BASE = Path(__file__).parent / "baseline_images"


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def cells(fig):
    return {t.get_gid(): t.get_text() for a in fig.axes for t in a.texts if t.get_gid()}


def cohort():
    rng = np.random.default_rng(7)
    n = 80
    df = pd.DataFrame({"age": rng.normal(50, 10, n).round(),
                       "arm": rng.choice(["ATO", "IC"], n),
                       "sex": rng.choice(["F", "M"], n)})
    rate = 0.02 * np.exp(0.03 * (df.age - 50) + 0.5 * (df.arm == "IC"))
    t = rng.exponential(1 / rate)
    c = rng.uniform(10, 80, n)
    df["time"] = np.minimum(t, c).round(2)
    df["event"] = (t <= c).astype(int)
    return df


def test_cells_equal_cox_terms():
    from aplcohort.stats.cox import coxph
    df = cohort()
    r = coxph(df, time="time", event="event", covariates=["age", "arm"], categorical={"arm": "ATO"})
    fig = plot_forest(r, labels={"age": "Age (per year)"})
    c = cells(fig)
    assert c["cell:label:0"] == "Age (per year)"
    assert c["cell:label:1"] == "arm: IC vs ATO"
    assert c["head:label"] == f"n = {r.n}, events = {r.events}"
    for i, row in enumerate(r.terms.itertuples()):
        assert c[f"cell:estimate:{i}"] == format_ci(row.estimate, row.lower, row.upper, 2)
        assert c[f"cell:p:{i}"] == format_p(row.p)
    pax = [a for a in fig.axes if a.get_label() == "forest"][0]
    assert pax.get_xscale() == "log"
    est = [ln for ln in pax.lines if ln.get_gid() == "est:0"][0]
    np.testing.assert_allclose(est.get_xdata(), r.terms["estimate"])
    ci0 = [ln for ln in pax.lines if ln.get_gid() == "ci:0:1"][0]
    np.testing.assert_allclose(ci0.get_xdata(), r.terms[["lower", "upper"]].iloc[1])


def test_uni_multi_two_estimates():
    from aplcohort.stats.cox import univariable_multivariable
    um = univariable_multivariable(cohort(), time="time", event="event",
                                   covariates=["age", "arm", "sex"])
    fig = plot_forest(um)
    c = cells(fig)
    t = um.table
    for i, row in enumerate(t.itertuples()):
        assert c[f"cell:estimate:{i}"] == format_ci(row.hr_uni, row.lower_uni, row.upper_uni, 2)
        assert c[f"cell:estimate2:{i}"] == format_ci(row.hr_multi, row.lower_multi, row.upper_multi, 2)
        assert c[f"cell:p2:{i}"] == format_p(row.p_multi)
    assert c["head:estimate"] == "Univariable\nHR (95% CI)"


def test_subgroups_interaction_p():
    from aplcohort.stats.cox import coxph
    df = cohort()
    sg = subgroup_hazard_ratios(df, time="time", event="event", treatment="arm", subgroups=["sex"])
    assert sg["label"].tolist() == ["All patients (IC vs ATO)", "sex", "F", "M"]
    assert sg["header"].tolist() == [False, True, False, False]
    assert sg.loc[2, "n"] == (df.sex == "F").sum() and sg.loc[2, "events"] == df.event[df.sex == "F"].sum()
    # HR in F equals a Cox fit on the F subset
    f = df[df.sex == "F"].assign(x=lambda d: (d.arm == "IC").astype(float))
    ref = coxph(f, time="time", event="event", covariates=["x"]).terms.iloc[0]
    assert sg.loc[2, "hr"] == pytest.approx(ref.estimate, rel=1e-10)
    # interaction LR test by hand from two fits
    d = df.assign(x=(df.arm == "IC").astype(float), m=(df.sex == "M").astype(float))
    d["xm"] = d.x * d.m
    f0 = coxph(d, time="time", event="event", covariates=["x", "m"])
    f1 = coxph(d, time="time", event="event", covariates=["x", "m", "xm"])
    from scipy.stats import chi2
    p = chi2.sf(2 * (f1.loglik[1] - f0.loglik[1]), 1)
    assert sg.loc[1, "p"] == pytest.approx(p, rel=1e-10)
    # HR is IC vs ATO: HR < 1 (left of 1) favours IC
    fig = plot_forest(sg, favours=("IC better", "ATO better"))
    c = cells(fig)
    assert c["head:p"] == "p for\ninteraction"
    assert c["cell:p:1"] == format_p(p)
    assert c["favours:left"] == "\u2190 IC better"
    assert c["favours:right"] == "ATO better \u2192"


def test_not_estimable_and_errors():
    df = pd.DataFrame({"label": ["A", "B"], "hr": [np.nan, 0.5], "lower": [np.nan, 0.2],
                       "upper": [np.nan, 500.0]})
    fig = plot_forest(df)
    c = cells(fig)
    assert c["cell:estimate:0"] == "NE"
    pax = [a for a in fig.axes if a.get_label() == "forest"][0]
    assert pax.get_xlim()[1] == 100.0  # clipped; CI ends in an arrow
    with pytest.raises(InputError, match="needs columns"):
        forest_frame(pd.DataFrame({"x": [1]}))
    with pytest.raises(InputError, match="unknown forest column"):
        plot_forest(df, columns=["hr"])
    assert log_ticks(0.2, 4.5) == [0.2, 0.5, 1, 2]


def test_forest_baseline():
    df = pd.DataFrame({"label": ["All patients", "Sex", "F", "M", "Sanz risk", "low/intermediate", "high"],
                       "hr": [0.62, np.nan, 0.55, 0.71, np.nan, 0.66, 0.48],
                       "lower": [0.35, np.nan, 0.22, 0.31, np.nan, 0.33, 0.12],
                       "upper": [1.10, np.nan, 1.37, 1.62, np.nan, 1.32, 1.92],
                       "p": [0.10, 0.64, np.nan, np.nan, 0.71, np.nan, np.nan],
                       "n": [41, np.nan, 19, 22, np.nan, 30, 11],
                       "events": [18, np.nan, 8, 10, np.nan, 12, 6],
                       "indent": [0, 0, 1, 1, 0, 1, 1],
                       "header": [False, True, False, False, True, False, False]})
    fig = plot_forest(df, favours=("ATO better", "IC better"))
    msg = check_baseline(fig, "forest_subgroups", BASE)
    assert msg is None, msg


def test_fine_gray_forest_says_shr():
    from aplcohort.stats.finegray import fine_gray
    rng = np.random.default_rng(3)
    n = 120
    df = pd.DataFrame({"age": rng.normal(50, 10, n).round(), "arm": rng.choice(["ATO", "IC"], n)})
    df["time"] = rng.exponential(20, n).round(1)
    df["code"] = rng.choice([0, 1, 2], n, p=[0.3, 0.4, 0.3])
    r = fine_gray(df, time="time", code="code", covariates=["age", "arm"], categorical={"arm": "ATO"})
    fig = plot_forest(r)
    c = cells(fig)
    assert c["head:estimate"] == "SHR (95% CI)"
    assert c["cell:label:1"] == "arm: IC vs ATO"
    row = r.terms.iloc[1]
    assert c["cell:estimate:1"] == format_ci(row.estimate, row.lower, row.upper, 2)


def test_forest_labels_subdistribution_ratios_shr_for_every_fine_gray_result():
    """A time-dependent Fine–Gray result (scale SHR) is labelled SHR, not HR."""

    import numpy as np
    import pandas as pd

    from aplcohort.plots.forest import plot_forest
    from aplcohort.stats.finegray_td import td_fine_gray
    rng = np.random.default_rng(1)
    n = 80
    d = pd.DataFrame({"pid": range(n), "t": rng.exponential(10, n) + 0.5,
                      "code": rng.integers(0, 3, n),
                      "tx": np.where(rng.random(n) < .5, rng.uniform(0, 3, n), np.nan),
                      "age": rng.normal(60, 8, n)})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = td_fine_gray(d, time="t", code="code", id="pid", exposure_time="tx", covariates=["age"])
    f = plot_forest(r)
    fig = getattr(f, "figure", f)
    texts = [t.get_text() for t in fig.findobj(lambda a: a.__class__.__name__ == "Text")]
    assert any("SHR" in t for t in texts)


def test_forest_labels_from_the_label_resolver_keep_the_palette_colour():
    import matplotlib.colors as mcolors

    from aplcohort.plots.forest import _term_label
    from aplcohort.plots.style import Palette
    from aplcohort.tables.labels import resolve_labels

    class Res:  # a Cox result's naming: column name + level, reference levels in choices
        choices = {"reference_levels": {"postremission_modality": "ATO-based"}}
        terms = pd.DataFrame({"term": ["postremission_modalityallo HSCT", "age_at_relapse"],
                              "estimate": [1.2, 1.01], "lower": [0.5, 0.97], "upper": [2.9, 1.05],
                              "p": [0.7, 0.6], "estimable": [True, True], "note": ["", ""]})
    lab = resolve_labels(labels={"postremission_modality": {"levels": {"allo HSCT": "Allogeneic HSCT"}}})
    assert _term_label("postremission_modalityallo HSCT", Res(), lab) == \
        "Post-remission treatment: Allogeneic HSCT vs ATO-based"
    assert _term_label("age_at_relapse", Res(), lab) == "Age at first relapse, years"
    assert _term_label("postremission_modalityallo HSCT", Res(), {}) == \
        "postremission_modality: allo HSCT vs ATO-based"   # a plain mapping: names as given
    pal = Palette(["ATO-based", "auto HSCT", "allo HSCT"])
    fig = plot_forest(Res(), labels=lab, palette=pal)
    texts = [t.get_text() for a in fig.axes for t in a.texts]
    assert "Post-remission treatment: Allogeneic HSCT vs ATO-based" in texts
    pax = [a for a in fig.axes if a.get_label() == "forest"][0]
    ci0 = [ln for ln in pax.lines if ln.get_gid() == "ci:0:0"][0]
    assert mcolors.to_hex(ci0.get_color()) == pal.color("allo HSCT").lower()
    plt.close(fig)
