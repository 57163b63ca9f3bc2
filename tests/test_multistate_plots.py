"""Multi-state figures: the numbers they draw come from tested pure functions."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from aplcohort.errors import InputError  # noqa: E402
from aplcohort.multistate import (build_transitions, clfs, relapsed_leukemia_model,  # noqa: E402
                                  state_occupancy)
from aplcohort.plots.multistate import (diagram_layout, occupancy_stack, plot_clfs,  # noqa: E402
                                        plot_state_occupancy, plot_transition_diagram,
                                        state_colors)
from aplcohort.plots.survival import risk_table_values  # noqa: E402

D = pd.DataFrame({"id": [1, 1, 2, 3, 3, 4], "tstart": [0, 2, 0, 0, 1, 0],
                  "tstop": [2, 6, 3, 1, 4, 5],
                  "from_state": ["CR", "relapse", "CR", "CR", "relapse", "CR"],
                  "to_state": ["relapse", "death", "death", "relapse", None, None]})


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def test_occupancy_stack_tops_sum_to_one_and_starts_at_p0():
    r = state_occupancy(D, states=["CR", "relapse", "death"])
    s = occupancy_stack(r)
    top = s[s.state == "death"]
    np.testing.assert_allclose(top["top"], 1.0, atol=1e-12)
    first = s[s.time == 0].set_index("state")["estimate"]
    assert first.to_dict() == {"CR": 1.0, "relapse": 0.0, "death": 0.0}
    # CR at t = 1: 3/4 remain in CR (one relapse among 4)
    assert s[(s.state == "CR") & (s.time == 1)]["estimate"].item() == pytest.approx(0.75)
    with pytest.raises(InputError, match="not in the result"):
        occupancy_stack(r, group="X")


def test_state_occupancy_figure_draws_every_state():
    r = state_occupancy(D, states=["CR", "relapse", "death"])
    ax = plot_state_occupancy(r)
    gids = {c.get_gid() for c in ax.collections}
    assert gids == {"state:CR", "state:relapse", "state:death"}
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["death", "relapse", "CR"]


def test_state_colors_are_fixed_by_meaning():
    c = state_colors(relapsed_leukemia_model().state_names)
    assert c["death"] == "#BBBBBB"
    assert len(set(c.values())) == len(c)  # nine living states, nine distinct colours
    assert c["CR2"] == state_colors(["relapse1", "CR2"])["CR2"]


def test_diagram_layout_counts_and_positions():
    m = relapsed_leukemia_model("salvage_start")
    counts = pd.DataFrame({"from_state": ["relapse1", "CR2"], "to_state": ["CR2", "death"],
                           "n": [5, 2]})
    boxes, edges = diagram_layout(m, counts)
    e = edges.set_index(["from_state", "to_state"])
    assert e.loc[("relapse1", "CR2"), "n"] == 5 and e.loc[("CR2", "death"), "n"] == 2
    assert e.loc[("CR2", "relapse2"), "n"] == 0
    b = boxes.set_index("state")
    assert b.loc["relapse1", "x"] < b.loc["CR2", "x"] < b.loc["auto HSCT", "x"] < \
        b.loc["relapse2", "x"] < b.loc["CR3", "x"]
    assert b.loc["death", "y"] < b["y"].drop("death").min()
    ax = plot_transition_diagram(m, counts)
    shown = {t.get_gid(): t.get_text() for t in ax.texts if (t.get_gid() or "").startswith("count")}
    assert shown == {"count:relapse1->CR2": "5", "count:CR2->death": "2"}


def _tiny_cohort():
    base = pd.Timestamp("2020-01-01")
    rows = []
    for i, (resp, rel2, death, last) in enumerate([
            ("mCR2", None, None, 700), ("mCR2", 200, None, 600), ("CR2", 150, 300, 300),
            ("mCR2", None, 400, 400), ("none", None, 60, 60), ("mCR2", None, None, 500)]):
        rows.append({"patient_id": f"p{i}", "relapse1_date": base,
                     "response": resp,
                     "response_date": base + pd.Timedelta(days=30) if resp != "none" else pd.NaT,
                     "relapse2_date": base + pd.Timedelta(days=rel2) if rel2 else pd.NaT,
                     "death_date": base + pd.Timedelta(days=death) if death else pd.NaT,
                     "last_followup_date": base + pd.Timedelta(days=last)})
    df = pd.DataFrame(rows)
    for c in ["relapse2_date", "death_date", "response_date"]:
        df[c] = pd.to_datetime(df[c])
    return df


def test_clfs_figure_risk_table_and_curves():
    tr = build_transitions(_tiny_cohort(), relapsed_leukemia_model("salvage_start"),
                           time_zero="CR2")
    r = clfs(tr)
    ax = plot_clfs(r, times=[0, 100, 200, 300])
    curves = {ln.get_gid() for ln in ax.lines}
    assert curves == {"curve:CLFS", "curve:DFS", "curve:OS"}
    rt = risk_table_values(ax)
    want = r.risk_table([0, 100, 200, 300])["n_risk"].astype(int).astype(str).tolist()
    # by hand (days from CR2 on day 30): p2 dies on day 270, the others are followed
    # beyond 300 (p1 in relapse2 from day 170 is still alive): 5, 5, 5, 4
    assert rt["text"].tolist() == want == ["5", "5", "5", "4"]


def test_clfs_figure_names_a_measure_it_cannot_draw():
    tr = build_transitions(_tiny_cohort(), relapsed_leukemia_model("salvage_start"))
    r = clfs(tr)  # time zero relapse1: no DFS
    assert "DFS" in r.notes and "DFS" not in r.measures
    ax = plot_clfs(r, risk_table=False)
    assert ax.get_legend().get_title().get_text() == "not shown: DFS"
    with pytest.raises(InputError, match="not in the result"):
        plot_clfs(r, measures=("EFS",))
