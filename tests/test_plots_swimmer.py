"""Swimmer plot: lane ends / event times by hand; drawn bars and markers as values; baseline."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from aplcohort.errors import InputError  # noqa: E402
from aplcohort.plots.export import check_baseline  # noqa: E402
from aplcohort.plots.swimmer import plot_swimmer, swimmer_events  # noqa: E402

BASE = Path(__file__).parent / "baseline_images"


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def cohort():
    N = None
    return pd.DataFrame({
        "patient_id": ["P1", "P2", "P3", "P4", "P5", "P6"],
        "relapse1_date": ["2010-01-01", "2012-03-01", "2015-06-01", "2016-01-01", "2018-01-01", "2019-05-01"],
        "reinduction_start_date": ["2010-01-03", "2012-03-02", "2015-06-05", None, "2018-01-02", "2019-05-03"],
        "response": ["mCR2", "CR2", "mCR2", None, "none", "mCR2"],
        "response_date": ["2010-03-01", "2012-05-01", "2015-08-01", None, None, "2019-07-01"],
        "postremission_modality": ["ATO-based", "allo HSCT", "auto HSCT", None, None, "ATO-based"],
        "postremission_start_date": ["2010-03-15", "2012-07-01", "2015-10-01", N, N, "2019-07-15"],
        "relapse2_date": ["2011-01-01", None, None, None, None, None],
        "salvage2_start_date": ["2011-01-10", None, None, None, None, None],
        "death_date": [None, "2013-01-01", None, "2016-01-05", "2018-02-01", None],
        "last_followup_date": ["2014-01-01", "2013-01-01", "2020-06-01", "2016-01-05", "2018-02-01", "2021-01-01"],
        "data_cutoff_date": ["2020-12-31"] * 6,
    })


def test_events_by_hand():
    lanes, ev = swimmer_events(cohort(), unit="days")
    # P1 alive: 2010-01-01 -> 2014-01-01 = 1461 days; P6 capped at cut-off 2020-12-31: 610 days
    end = dict(zip(lanes.patient_id, lanes.end))
    assert end == {"P1": 1461.0, "P2": 306.0, "P3": 1827.0, "P4": 4.0, "P5": 31.0, "P6": 610.0}
    assert dict(zip(lanes.patient_id, lanes.status)) == {
        "P1": "alive", "P2": "dead", "P3": "alive", "P4": "dead", "P5": "dead", "P6": "alive"}
    p1 = ev[ev.patient_id == "P1"][["event", "time"]].values.tolist()
    assert p1 == [["reinduction", 2.0], ["mCR2", 59.0], ["postremission", 73.0],
                  ["relapse2", 365.0], ["salvage2", 374.0], ["alive", 1461.0]]
    assert ev[ev.patient_id == "P2"]["event"].tolist() == ["reinduction", "CR2", "postremission", "death"]
    lanes_m, _ = swimmer_events(cohort(), unit="months")
    assert lanes_m.end.iloc[0] == pytest.approx(1461 / 30.4375)


def test_plot_values_and_order():
    ax = plot_swimmer(cohort(), color_by="postremission_modality", unit="days")
    bars = {p.get_gid(): p for p in ax.patches if (p.get_gid() or "").startswith("lane:")}
    assert bars["lane:P1"].get_width() == 1461.0
    # grouped by modality in the data dictionary's order (ATO-based, auto HSCT, allo HSCT;
    # not alphabetical), missing last, longest first within a group
    ys = {gid[5:]: b.get_y() + b.get_height() / 2 for gid, b in bars.items()}
    assert sorted(ys, key=ys.get) == ["P1", "P6", "P3", "P2", "P5", "P4"]
    death = [ln for ln in ax.lines if ln.get_gid() == "event:death"][0]
    assert sorted(death.get_xdata().tolist()) == [4.0, 31.0, 306.0]
    relapse = [ln for ln in ax.lines if ln.get_gid() == "event:relapse2"][0]
    assert relapse.get_xdata().tolist() == [365.0] and relapse.get_ydata().tolist() == [ys["P1"]]
    assert ax.get_xlabel() == "Time from first relapse (days)"


def test_errors():
    df = cohort()
    df.loc[2, "relapse1_date"] = None
    with pytest.raises(InputError, match="P3"):
        swimmer_events(df)
    with pytest.raises(InputError, match="color_by"):
        plot_swimmer(cohort(), color_by="nope")
    with pytest.raises(InputError, match="unit"):
        swimmer_events(cohort(), unit="hours")


def test_swimmer_baseline():
    ax = plot_swimmer(cohort(), color_by="postremission_modality", unit="months", width="single")
    msg = check_baseline(ax.figure, "swimmer_small", BASE)
    assert msg is None, msg


def test_sort_by_other_column_labels_the_groups():
    df = cohort()
    df["arm"] = ["ATO", "IC", "ATO", "none", "IC", "ATO"]
    ax = plot_swimmer(df, color_by="postremission_modality", sort_by="arm", unit="days")
    bars = {p.get_gid()[5:]: p.get_y() + p.get_height() / 2 for p in ax.patches
            if (p.get_gid() or "").startswith("lane:")}
    assert sorted(bars, key=bars.get) == ["P3", "P1", "P6", "P2", "P5", "P4"]
    labels = sorted(t.get_gid() for t in ax.texts if (t.get_gid() or "").startswith("sortlabel:"))
    assert labels == ["sortlabel:ATO", "sortlabel:IC", "sortlabel:none"]
