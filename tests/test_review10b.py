"""Review 10, part B: Simon-Makuch with one exposure state and landmarks after everyone's
follow-up (F5, F6 of the fifth audit).

- F5: when only one exposure state occurs (nobody exposed during follow-up, or everyone
  exposed on day 0) the default figure made the analysis "not estimable" with plot_km's
  internal message ("labels name group(s) 1 that the result does not have"); with
  ``figure: false`` it was ok. Now the one curve is drawn whatever ``figure`` says and a note
  says which state is missing and why; the API (``simon_makuch`` + ``plot_simon_makuch``
  with labels of both states) draws it too.
- F6: ``landmarks: [400]`` (after everyone's follow-up) was ``status: ok`` with an empty
  summary, a 0-byte estimates CSV and "(no columns)" in the report. Now every landmark has a
  summary row (``estimable: false`` with the reason), an analysis with no landmark analysed
  is not estimable with that reason, and the writer never writes a table silently empty.

The plans run on the bundled synthetic cohort (as the audit's ``min2022.csv``)."""

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from aplcohort.cli import main
from aplcohort.errors import InputError, StatisticalWarning

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data" / "synthetic" / "min2022.csv"
EP = {"os_cr2": {"endpoint": "OS", "time_zero": "response", "unit": "months"}}


def _run(tmp_path, analyses, name="r10b"):
    plan = {"plan": name, "data": {"source": str(DATA)}, "endpoints": EP,
            "analyses": analyses}
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(plan, allow_unicode=True), encoding="utf-8")
    out = tmp_path / "out"
    assert main(["run", str(path), "--out", str(out)]) == 0
    doc = json.loads((out / "results.json").read_text(encoding="utf-8"))
    return doc, out


# ----------------------------------------------------------------------------- F5
def _sm_frame(tx):
    return pd.DataFrame({"pid": range(5), "t": [9., 4., 12., 7., 15.], "d": [1, 1, 0, 1, 0],
                         "tx": tx})


@pytest.mark.parametrize("tx, present, missing, words", [
    ([np.nan] * 5, 0, 1, "no patient was exposed during follow-up: only the unexposed curve"),
    ([0.] * 5, 1, 0, "every patient was exposed from the start of follow-up: only the "
                     "exposed curve"),
])
def test_f5_api_one_state_draws_the_one_curve_with_labels_of_both(tx, present, missing, words):
    import matplotlib.pyplot as plt
    from aplcohort.plots.survival import plot_simon_makuch
    from aplcohort.stats.timedep import simon_makuch
    with pytest.warns(StatisticalWarning, match=words):
        sm = simon_makuch(_sm_frame(tx), time="t", event="d", id="pid", exposure_time="tx")
    assert tuple(sm.groups) == (present,)
    assert sm.note.startswith(words)
    names = {0: "before", 1: "after"}
    ax = plot_simon_makuch(sm, labels=names)   # raised InputError before
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert names[present] in legend[0] and not any(names[missing] in t for t in legend)
    # a key that is no exposure state is still a typo
    with pytest.raises(InputError, match="labels name"):
        plot_simon_makuch(sm, labels={present: "x", "treated": "y"})
    plt.close("all")


def test_f5_api_both_states_have_no_note():
    from aplcohort.stats.timedep import simon_makuch
    with warnings.catch_warnings():
        warnings.simplefilter("error", StatisticalWarning)
        sm = simon_makuch(_sm_frame([3., np.nan, 5., np.nan, 2.]), time="t", event="d",
                          id="pid", exposure_time="tx")
    assert sm.note is None and sm.mantel_byar is not None


def test_f5_plan_result_does_not_depend_on_figure(tmp_path):
    base = {"kind": "simon_makuch", "endpoint": "os_cr2", "times": [12]}
    analyses = [
        {"id": "after_nofig", **base, "exposure": "data_cutoff_date", "figure": False},
        {"id": "after_fig", **base, "exposure": "data_cutoff_date"},
        {"id": "after_labels", **base, "exposure": "data_cutoff_date",
         "labels": ["before", "after"]},
        {"id": "day0", **base, "exposure": "response_date"},
    ]
    doc, out = _run(tmp_path, analyses)
    a = doc["analyses"]
    assert doc["not_estimable"] == {}
    for aid in ("after_nofig", "after_fig", "after_labels", "day0"):
        assert a[aid]["status"] == "ok", aid
    g = a["after_nofig"]["groups"]["before data_cutoff_date"]
    assert a["after_fig"]["groups"] == a["after_nofig"]["groups"]
    assert a["after_labels"]["groups"] == {"before": g}
    assert g["at"][0]["estimate"] == pytest.approx(12 / 13)   # the audit's 0.923
    for aid in ("after_fig", "after_labels", "day0"):
        assert (out / "figures" / f"{aid}.png").is_file()
    assert not (out / "figures" / "after_nofig.png").exists()
    # which state is missing and why: in the summary and the notes of the report
    assert a["after_fig"]["curves"]["shown"] == "before data_cutoff_date"
    assert "no patient was exposed during follow-up" in a["after_fig"]["curves"]["reason"]
    assert a["day0"]["curves"]["shown"] == "after response_date"
    assert "every patient was exposed from the start" in a["day0"]["curves"]["reason"]
    assert any("only the unexposed curve" in w for w in a["after_labels"]["warnings"])
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "plot_km" not in html and "does not have" not in html
    assert "only the exposed curve" in html


# ----------------------------------------------------------------------------- F6
@pytest.mark.filterwarnings("ignore::aplcohort.errors.SeparationWarning")
def test_f6_api_landmark_without_patients_has_a_summary_row():
    from aplcohort.stats.landmark import landmark
    df = _sm_frame([3., np.nan, 5., np.nan, 2.])
    with pytest.warns(StatisticalWarning, match="no patient is still followed"):
        res = landmark(df, landmark=[6, 100], time="t", event="d", id="pid",
                       exposure_time="tx")
    s = res.summary.set_index("landmark")
    assert list(s.index) == [6.0, 100.0]
    assert not s.loc[100.0, "estimable"] and s.loc[100.0, "n"] == 0
    assert s.loc[100.0, "note"].startswith("no patient is still followed at the landmark")
    assert res.km[100.0] is None


def test_f6_plan_landmark_after_everyones_follow_up(tmp_path):
    base = {"kind": "landmark", "endpoint": "os_cr2"}
    analyses = [
        {"id": "lm_late", **base, "exposure": "hsct_start_date", "landmarks": [400],
         "times": [500]},
        {"id": "lm_grp", **base, "group": "sex", "landmarks": [400], "times": [500]},
        {"id": "lm_mixed", **base, "exposure": "hsct_start_date", "landmarks": [3, 400],
         "times": [12, 500]},
        {"id": "lm_zero", **base, "exposure": "response_date", "landmarks": [0, 3],
         "times": [12]},
    ]
    doc, out = _run(tmp_path, analyses)
    a = doc["analyses"]
    for aid in ("lm_late", "lm_grp"):   # no landmark analysed: not estimable, with why
        assert a[aid]["status"] == "not estimable"
        assert "no landmark could be analysed" in doc["not_estimable"][aid]
        assert "no patient is still followed at the landmark" in doc["not_estimable"][aid]
        assert not list((out / "tables").glob(f"{aid}__*"))
    # one landmark analysed: the other has its row with the reason, in every table
    assert a["lm_mixed"]["status"] == "ok"
    summ = pd.read_csv(out / "tables" / "lm_mixed__summary.csv")
    assert summ["landmark"].tolist() == [3.0, 400.0]
    late = summ[summ["landmark"] == 400.0].iloc[0]
    assert not late["estimable"] and "no patient is still followed" in late["note"]
    est = pd.read_csv(out / "tables" / "lm_mixed__estimates.csv")
    e400 = est[est["landmark"] == 400.0]
    assert len(e400) == 2 and e400["estimate"].isna().all()
    assert e400["note"].str.contains("no patient is still followed").all()
    # never a 0-byte or header-only table, never "(no columns)"
    for f in (out / "tables").glob("*.csv"):
        assert len(pd.read_csv(f)) > 0, f.name
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "(no columns)" not in html
    # lm_zero has no Cox model at any landmark (one group): no empty terms table, a note
    assert not (out / "tables" / "lm_zero__terms.csv").exists()
    assert "no landmark has a Cox model" in html


def test_f6_writer_does_not_write_an_empty_table_silently(tmp_path):
    from aplcohort.plan.runner import run_plan
    from aplcohort.plan.write import write_outputs
    plan = {"plan": "r10b_w", "data": {"source": str(DATA)}, "endpoints": EP,
            "analyses": [{"id": "km1", "kind": "km", "endpoint": "os_cr2", "figure": False}]}
    res = run_plan(plan)
    a = res["km1"]
    a.tables.append(("nothing", "A table with no columns", pd.DataFrame()))
    a.tables.append(("none", "A listing with no rows", pd.DataFrame({"patient_id": []})))
    out = write_outputs(res, tmp_path / "out")
    assert not (out / "tables" / "km1__nothing.csv").exists()       # was a 0-byte file
    assert (out / "tables" / "km1__none.csv").read_text().strip() == "patient_id"
    doc = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert doc["analyses"]["km1"]["empty_tables"] == ["A table with no columns",
                                                      "A listing with no rows"]
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "(no columns)" not in html
    assert "A table with no columns&#x27; is empty: not written" in html
    assert "A listing with no rows&#x27; has no rows" in html
