"""Tests of aplcohort.stats.landmark against R (tests/reference/timedep.R, "landmark")."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from aplcohort.cohort.attrition import AttritionLog
from aplcohort.errors import InputError, StatisticalWarning
from aplcohort.stats.landmark import landmark, landmark_set

REF_DIR = Path(__file__).parent / "reference"
REF = json.loads((REF_DIR / "timedep.json").read_text())["landmark"]
JASA = pd.read_csv(REF_DIR / "data" / "timedep_jasa_tx.csv")
KM_COLS = ["time", "n_risk", "n_event", "n_censor", "surv", "std_err", "lower", "upper"]


def test_landmark_set_hand_example():
    # landmark 30: pid 1 died at 10 and pid 4 died at 30 (event AT the landmark: excluded),
    # pid 5 censored at 30 (excluded); pid 2 transplanted at 20 (exposed), pid 3 at 30
    # (on the landmark day: exposed), pid 6 at 45 (after the landmark: unexposed)
    df = pd.DataFrame({"pid": [1, 2, 3, 4, 5, 6], "t": [10., 40., 90., 30., 30., 70.],
                       "d": [1, 0, 1, 1, 0, 1], "tx": [np.nan, 20., 30., np.nan, 5., 45.]})
    s, excl = landmark_set(df, landmark=30, time="t", event="d", id="pid", exposure_time="tx")
    assert s["pid"].tolist() == [2, 3, 6]
    assert s["landmark_time"].tolist() == [10.0, 60.0, 40.0]
    assert s["exposed"].tolist() == [1, 1, 0]
    assert excl == {"event at or before landmark": [1, 4], "censored at or before landmark": [5]}


@pytest.mark.parametrize("L", [30, 60])
def test_landmark_matches_R(L):
    ref = REF[str(L)]
    log = AttritionLog(n_start=len(JASA))
    res = landmark(JASA, landmark=L, time="futime", event="fustat", id="id",
                   exposure_time="txtime", exposure="tx", attrition=log)
    s = res.set(L)
    # R: d <- tdata[tdata$futime > L, ]; d$tx <- !is.na(txtime) & txtime <= L
    assert s["id"].tolist() == ref["ids"]
    a = res.attrition.iloc[0]
    assert (a["n_start"], a["n_event_before"], a["n_censored_before"], a["n_included"]) == (
        ref["n_start"], ref["n_event_before"], ref["n_censored_before"], ref["n_included"])
    assert int(s["tx"].sum()) == ref["n_exposed"]
    # R: survfit(Surv(t, fustat) ~ tx, data = d)
    km = res.km[float(L)].table
    assert km["group"].astype(str).tolist() == ref["km"]["group"]
    for c in KM_COLS:
        b = np.asarray(ref["km"][c], float)
        a_ = km[{"surv": "estimate"}.get(c, c)].to_numpy(float)  # R survfit name -> ours
        ok = np.isfinite(b)
        assert np.array_equal(np.isfinite(a_), ok)
        np.testing.assert_allclose(a_[ok], b[ok], rtol=1e-6, err_msg=c)
    # R: survdiff(Surv(t, fustat) ~ tx, data = d)
    lr = res.logrank[float(L)]
    np.testing.assert_allclose(lr.statistic, ref["logrank"]["statistic"], rtol=1e-6)
    np.testing.assert_allclose(lr.table["expected"], ref["logrank"]["expected"], rtol=1e-6)
    np.testing.assert_allclose(lr.table["observed"], ref["logrank"]["observed"])
    # R: coxph(Surv(t, fustat) ~ tx, data = d)
    row = res.summary.iloc[0]
    assert row["term"] == "tx"
    np.testing.assert_allclose(row["estimate"], np.exp(ref["cox"]["coef"]), rtol=1e-6)
    np.testing.assert_allclose([row["lower"], row["upper"]], ref["cox"]["conf"][0],
                               rtol=1e-6)
    np.testing.assert_allclose(row["p_cox"], ref["cox"]["p"], rtol=1e-6)
    np.testing.assert_allclose(row["logrank_p"], ref["logrank"]["p"], rtol=1e-6)
    # attrition log: one step, excluded ids with reasons
    (step,) = log.steps
    assert step.n_before == 103 and step.n_after == ref["n_included"]
    assert len(step.reasons["event at or before landmark"]) == ref["n_event_before"]
    assert set(step.excluded_ids).isdisjoint(str(i) for i in ref["ids"])


def test_several_landmarks_at_once():
    res = landmark(JASA, landmark=[30, 60], time="futime", event="fustat", id="id",
                   exposure_time="txtime", covariates=["age"])
    assert res.landmarks == (30.0, 60.0)
    assert res.attrition["n_included"].tolist() == [REF["30"]["n_included"],
                                                    REF["60"]["n_included"]]
    assert res.summary["term"].tolist() == ["exposed", "exposed"]   # age not in the summary
    gc = res.group_counts
    assert gc.groupby("landmark")["n"].sum().tolist() == res.attrition["n_included"].tolist()
    assert res.to_dict()["kind"] == "landmark"
    assert "Landmark analysis at 30, 60" in str(res)


def test_landmark_group_column_and_errors():
    df = JASA.assign(arm=np.where(JASA["surgery"] == 1, "surgery", "none"))
    res = landmark(df, landmark=30, time="futime", event="fustat", id="id", group="arm")
    assert res.summary["term"].tolist() == ["armsurgery"]
    with pytest.raises(InputError, match="exactly one of"):
        landmark(df, landmark=30, time="futime", event="fustat", id="id")
    with pytest.raises(InputError, match="non-negative number"):
        landmark(df, landmark=-1, time="futime", event="fustat", group="arm")
    with pytest.raises(InputError, match="coded 0 = censored"):
        landmark(df.assign(fustat=2), landmark=30, time="futime", event="fustat", group="arm")
    with pytest.warns(StatisticalWarning, match="only one group"):
        r = landmark(df, landmark=30, time="futime", event="fustat", id="id",
                     exposure_time="futime")   # everyone "exposed" at end of follow-up > L
    assert np.isnan(r.summary["estimate"].iloc[0])
