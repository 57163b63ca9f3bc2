"""Count-recovery plots: counts by hand, curves = cumulative_incidence, Gray p label, baseline."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from aplcohort.errors import InputError  # noqa: E402
from aplcohort.plots.export import check_baseline  # noqa: E402
from aplcohort.plots.recovery import (_strip_offsets, plot_recovery, recovery_figure,  # noqa: E402
                                      recovery_summary)
from aplcohort.plots.survival import pvalue_text, risk_table_values  # noqa: E402
from aplcohort.stats.competing import cumulative_incidence, gray_test  # noqa: E402

BASE = Path(__file__).parent / "baseline_images"

# ATO: recoveries on days 12, 14, 14, 16, 20, one death on day 9, one censored day 30
# IC : recoveries on days 21, 25, 28, 35, one death on day 15
T = np.array([12, 14, 14, 16, 20, 9, 30, 21, 25, 28, 35, 15], float)
C = np.array([1, 1, 1, 1, 1, 2, 0, 1, 1, 1, 1, 2])
G = np.array(["ATO"] * 7 + ["IC"] * 5)


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def test_summary_by_hand():
    s = recovery_summary(T, C, G).set_index("group")
    assert s.loc["ATO", ["n", "recovered", "died", "censored"]].tolist() == [7, 5, 1, 1]
    assert s.loc["IC", ["n", "recovered", "died", "censored"]].tolist() == [5, 4, 1, 0]
    assert s.loc["ATO", "median"] == 14.0  # median of 12, 14, 14, 16, 20
    assert s.loc["IC", ["median", "q1", "q3"]].tolist() == [26.5, 24.0, 29.75]  # R quantile type 7
    with pytest.raises(InputError, match="codes"):
        recovery_summary(T, np.where(C == 2, 3, C), G)


def test_cif_view_draws_cuminc_and_gray():
    ax = plot_recovery(T, C, G, times=[0, 10, 20, 30, 40])
    cif = cumulative_incidence(T, C, G)
    for g in ("ATO", "IC"):
        line = [ln for ln in ax.lines if ln.get_gid() == f"curve:{g}"][0]
        sub = cif.table[(cif.table.group == g) & (cif.table.cause == 1)]
        np.testing.assert_array_equal(line.get_ydata(), sub["estimate"])
    ann = [t for t in ax.texts if t.get_gid() == "annotation"][0]
    assert ann.get_text() == pvalue_text(gray_test(T, C, G, cause=1))
    assert ann.get_text().startswith("Gray p = ")
    v = risk_table_values(ax)
    # any event (recovery or death) leaves the risk set: ATO at risk at day 20 = {20, 30}
    got = v[(v.row == "n_risk") & (v.group == "ATO")].sort_values("time")["text"].tolist()
    assert got == ["7", "6", "2", "1", "0"]
    got = v[(v.row == "n_risk") & (v.group == "IC")].sort_values("time")["text"].tolist()
    assert got == ["5", "5", "4", "1", "0"]


def test_box_view():
    ax = plot_recovery(T, C, G, kind="box")
    pts = [ln for ln in ax.lines if ln.get_gid() == "points:ATO"][0]
    assert sorted(pts.get_ydata().tolist()) == [12, 14, 14, 16, 20]
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels[0] == "ATO\nrecovered 5/7\ndied 1, censored 1"
    ann = [t for t in ax.texts if t.get_gid() == "annotation"][0]
    assert ann.get_text().startswith("Wilcoxon p = ") and "(recovered patients)" in ann.get_text()
    off = _strip_offsets(np.array([14.0, 14.0, 12.0]))
    assert off[2] == 0 and off[0] == -off[1] != 0
    with pytest.raises(InputError, match="kind"):
        plot_recovery(T, C, G, kind="violin")


def test_recovery_baseline():
    fig = recovery_figure({"ANC": (T, C, G), "Platelet": (T + 2, C, G)})
    msg = check_baseline(fig, "recovery_two_panels", BASE)
    assert msg is None, msg
