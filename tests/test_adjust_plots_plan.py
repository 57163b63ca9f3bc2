"""Love plot / PS histogram (values read back from the artists) and the plan handlers."""

import warnings
from pathlib import Path

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from aplcohort.adjust import balance, propensity_score, psweights  # noqa: E402
from aplcohort.adjust.plan import (adjusted_cif, adjusted_cox, adjusted_finegray,  # noqa: E402
                                   adjusted_km, adjusted_logrank, adjusted_table1)
from aplcohort.errors import InputError, StatisticalWarning  # noqa: E402
from aplcohort.plots.balance import (love_plot, love_plot_frame, ps_histogram,  # noqa: E402
                                     ps_histogram_frame)

REF_DIR = Path(__file__).parent / "reference"
COVS = ["age", "ph_ecog", "wt_loss"]


@pytest.fixture(scope="module")
def lung():
    return pd.read_csv(REF_DIR / "data" / "adjust_lung.csv").set_index("id", drop=False)


@pytest.fixture(scope="module")
def bal(lung):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)
        ps = propensity_score(lung, "sex", COVS, categorical=["ph_ecog"])
    return ps, balance(lung, "sex", COVS, psweights(ps, "ATE"), categorical=["ph_ecog"])


def test_love_plot_shows_the_balance_table(bal):
    ps, b = bal
    fr = love_plot_frame(b)
    t = b.table
    assert len(fr) == t["covariate"].count() // 2
    assert (np.diff(fr["unadjusted"].to_numpy()) <= 0).all()          # largest on top
    age = fr[fr["label"] == "age"].iloc[0]
    ref = t[(t["covariate"] == "age") & (t["sample"] == "adjusted")]["smd"].abs().iloc[0]
    assert age["adjusted"] == pytest.approx(ref)
    fig = love_plot(b)
    ax = fig.axes[0]
    pts = {c.get_gid(): c.get_offsets() for c in ax.collections}
    np.testing.assert_allclose(np.asarray(pts["smd:adjusted"])[:, 0], fr["adjusted"])
    np.testing.assert_allclose(np.asarray(pts["smd:unadjusted"])[:, 0], fr["unadjusted"])
    labels = [tl.get_text() for tl in ax.get_yticklabels()]
    ticks = ax.get_yticks()
    assert [lab for _, lab in sorted(zip(-ticks, labels))] == fr["label"].tolist()  # top first
    plt.close(fig)


def test_ps_histogram_counts_every_patient(bal):
    ps, _ = bal
    fr = ps_histogram_frame(ps, bins=10)
    up = fr[fr["side"] == "up"]["count"].sum()
    down = fr[fr["side"] == "down"]["count"].sum()
    assert (up, down) == ((ps.treatment == "M").sum(), (ps.treatment == "F").sum())
    fig = ps_histogram(ps, bins=10)
    heights = {p.get_gid(): p.get_height() for p in fig.axes[0].patches if p.get_gid()}
    assert heights["bar:0:up:5"] == fr[fr["side"] == "up"]["count"].iloc[5]
    assert heights["bar:0:down:5"] == -fr[fr["side"] == "down"]["count"].iloc[5]
    plt.close(fig)


def test_plan_handlers_run_unadjusted_beside_adjusted(lung):
    adj = {"method": "iptw", "estimand": "ATO", "covariates": COVS, "categorical": ["ph_ecog"]}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)
        km = adjusted_km(lung, time="time", event="status", group="sex", adjust=adj)
        cox = adjusted_cox(lung, time="time", event="status", group="sex", adjust=adj)
        lr = adjusted_logrank(lung, time="time", event="status", group="sex", adjust=adj)
        d = lung.assign(code=lung["status"] * np.where(lung["age"] > 65, 2, 1))
        cif = adjusted_cif(d, time="time", code="code", group="sex", adjust=adj)
        t1 = adjusted_table1(lung, group="sex", variables=COVS, adjust=adj,
                             categorical=["ph_ecog"])
    assert km.unadjusted is not None and km.adjusted.curve == "survival"
    assert km.balance.max_abs_smd().set_index("sample").loc["adjusted", "abs_smd"] < 1e-6
    assert cox.unadjusted.terms["estimate"].iloc[0] != cox.adjusted.terms["estimate"].iloc[0]
    assert any(n.startswith("E-values") for n in cox.notes)
    assert lr.unadjusted.statistic != lr.adjusted.statistic
    assert cif.adjusted.curve == "cumulative incidence"
    assert set(t1.adjusted["group"]) == {"F", "M"}
    assert list(km.tables)[0] == "balance"                   # balance is shown first
    m = adjusted_km(lung, time="time", event="status", group="sex",
                    adjust={"method": "matching", "covariates": ["age"], "caliper": 0.2})
    assert m.balance.estimand == "ATT"


def test_plan_adjust_settings_are_validated(lung):
    with pytest.raises(InputError, match="did you mean 'estimand'"):
        adjusted_km(lung, time="time", event="status", group="sex",
                    adjust={"covariates": ["age"], "estimnd": "ATO"})
    with pytest.raises(InputError, match=r"do not apply to method 'iptw'"):
        adjusted_km(lung, time="time", event="status", group="sex",
                    adjust={"covariates": ["age"], "caliper": 0.2})
    with pytest.raises(InputError, match="non-empty list"):
        adjusted_km(lung, time="time", event="status", group="sex", adjust={"method": "iptw"})



def test_plan_finegray_handler(lung):
    d = lung.assign(code=lung["status"] * np.where(lung["age"] > 65, 2, 1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)
        fg = adjusted_finegray(d, time="time", code="code", group="sex", cause=1,
                               adjust={"covariates": ["age", "wt_loss"], "estimand": "ATO"})
    assert fg.adjusted.scale == "SHR" and fg.unadjusted.scale == "SHR"
    assert any("finegray() expansion" in n for n in fg.notes)


def test_adjusted_results_are_json_safe_and_render(lung):
    import json
    adj = {"method": "iptw", "estimand": "ATO", "covariates": COVS, "categorical": ["ph_ecog"]}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)
        res = adjusted_cox(lung, time="time", event="status", group="sex", adjust=adj)
    out = json.loads(json.dumps(res.to_dict()))
    assert out["kind"] == "adjusted_analysis"
    assert out["balance"]["kind"] == "balance"
    assert out["adjusted"]["terms"][0]["term"] == "sexM"
    figs = res.figures()
    assert list(figs) == ["love plot", "propensity-score overlap"]
    for f in figs.values():
        plt.close(f)
    # a palette keyed by level reaches both figures (as in a plan run)
    from matplotlib.colors import to_hex
    from aplcohort.plots import Palette
    levels = [str(g) for g in res.ps.groups]
    pal = Palette(["other level"] + levels[::-1])  # colours differ from the default order
    default = {to_hex(p.get_facecolor(), keep_alpha=False)
               for p in figs["propensity-score overlap"].axes[0].patches}
    figs = res.figures(palette=pal)
    used = {to_hex(p.get_facecolor(), keep_alpha=False)
            for p in figs["propensity-score overlap"].axes[0].patches}
    assert used != default and {to_hex(pal.color(g)) for g in levels} & used
    for f in figs.values():
        plt.close(f)
    html = res._repr_html_()
    assert html.index("balance") < html.index("unadjusted: terms") < html.index("adjusted: terms")
