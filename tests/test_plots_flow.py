"""Flow diagram: box counts/texts from the attrition log, layout, baseline image."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from aplcohort.cohort.attrition import AttritionLog  # noqa: E402
from aplcohort.errors import InputError  # noqa: E402
from aplcohort.plots.export import check_baseline  # noqa: E402
from aplcohort.plots.flow import count_groups, flow_layout, plot_flow  # noqa: E402

BASE = Path(__file__).parent / "baseline_images"


def min2022_log():
    log = AttritionLog(52, "Patients with relapsed APL")
    log.record("reinduced", 52, [f"n{i}" for i in range(11)], "Not reinduced",
               reasons={"Early death": ["n0", "n1", "n2", "n3"], "Poor performance": ["n4", "n5", "n6"],
                        "Not reported": ["n7", "n8", "n9", "n10"]})
    log.record("postremission", 41, ["o1", "o2", "o3", "o4"], "Other / no post-remission therapy")
    return log


SPLITS = {"reinduced": ("Reinduction", {"ATO-based": 30, "IC": 11}),
          "postremission": ("Post-remission therapy in CR2",
                            {"ATO-based": 19, "auto HSCT": 12, "allo HSCT": 6})}
TEXTS = {"reinduced": "Reinduced", "postremission": "Post-remission therapy"}


def test_layout_counts_from_the_log():
    lay = flow_layout(min2022_log(), SPLITS, step_texts=TEXTS)
    b = lay["boxes"]
    assert b[b.kind == "main"]["n"].tolist() == [52, 41, 37]
    assert b[b.kind == "exclusion"]["n"].tolist() == [11, 4]
    assert b[b.kind == "group"]["n"].tolist() == [30, 11, 19, 12, 6]
    ex = b[b.kind == "exclusion"].iloc[0]["text"]
    assert ex.splitlines()[0] == "Not reinduced (n = 11)"
    assert "\u2022 Early death (n = 4)" in ex.splitlines()
    assert b[b.kind == "main"].iloc[1]["text"] == "Reinduced\n(n = 41)"
    # boxes inside the page width and not overlapping vertically in the main column
    assert (b.x >= 0).all() and (b.x + b.w <= lay["width"] + 1e-9).all()
    m = b[b.kind == "main"].sort_values("y")
    assert ((m.y.to_numpy()[1:] - (m.y + m.h).to_numpy()[:-1]) > 0).all()
    assert lay["width"] == pytest.approx(85 / 25.4 * 72)


def test_split_must_add_up_and_log_must_chain():
    with pytest.raises(InputError, match="add the missing group"):
        flow_layout(min2022_log(), {"reinduced": {"ATO-based": 30, "IC": 10}})
    with pytest.raises(InputError, match="unknown steps"):
        flow_layout(min2022_log(), {"consolidation": {"x": 37}})
    log = AttritionLog(52, "x")
    log.record("a", 52, ["1"], "r")
    log.record("b", 40, ["2"], "r")
    with pytest.raises(InputError, match="single chain"):
        flow_layout(log)


def test_count_groups():
    df = pd.DataFrame({"arm": ["ATO", "IC", "ATO", None]})
    with pytest.raises(InputError, match="missing"):
        count_groups(df, "arm")
    assert count_groups(df, "arm", dropna=True) == {"ATO": 2, "IC": 1}


def test_plot_texts_and_baseline():
    ax = plot_flow(min2022_log(), SPLITS, step_texts=TEXTS)
    texts = {t.get_gid(): t.get_text() for t in ax.texts}
    assert "Patients with relapsed APL\n(n = 52)" in texts.values()
    assert "auto HSCT\n(n = 12)" in texts.values()
    assert all(t.get_fontsize() >= 7 for t in ax.texts)
    w_in = ax.figure.get_size_inches()[0]
    assert w_in == pytest.approx(85 / 25.4)
    msg = check_baseline(ax.figure, "flow_min2022", BASE)
    plt.close("all")
    assert msg is None, msg
