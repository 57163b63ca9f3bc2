"""Findings of a user's second audit (session 7b), checked on the path users take: a plan
run on a CSV file (or the CLI). Each test failed before its fix."""

from html import unescape

import pandas as pd
import pytest

from test_plan_review7 import _run  # noqa: E402  (the same plan runner on CSV input)


def _cox_pred(profile, **kw):
    return {"id": "a", "kind": "cox", "endpoint": "os_rel",
            "covariates": kw.pop("covariates", ["age_at_relapse", "sex"]),
            "predict": {"p": profile}, **kw}


@pytest.mark.parametrize("profile, words", [
    ({"age_at_relapse": 40, "sex": "X"},
     ["predict.p.sex", "'X' is not a value of column 'sex'"]),
    ({"age_at_relapse": "forty", "sex": "F"},
     ["predict.p.age_at_relapse", "'forty' is not a number", "numeric covariate"]),
    ({"age_at_relapse": ".nan", "sex": "F"}, ["predict.p.age_at_relapse"]),
])
def test_a_bad_predict_profile_value_is_a_plan_error(tmp_path, capsys, profile, words):
    """Finding 4: a level typo or a text for a numeric covariate in a `predict:` profile
    made the whole Cox model not estimable with exit 0; now exit 2 before anything runs."""
    if profile["age_at_relapse"] == ".nan":
        profile = {**profile, "age_at_relapse": float("nan")}
    rc, err, doc, out = _run(tmp_path, [_cox_pred(profile)], capsys)
    assert rc == 2, err
    assert "Traceback" not in err
    assert all(w in err for w in words), err
    assert not out.exists()


def test_a_good_profile_runs_and_a_profile_outside_the_subset_leaves_the_model(tmp_path,
                                                                                capsys):
    """A level of the data that the analysis subset (after `where`) lacks cannot be
    predicted: the prediction is not estimable with its reason, the model terms stand."""
    rc, err, doc, out = _run(tmp_path, [
        _cox_pred({"age_at_relapse": 40, "sex": "F"}, predict_times=[12]),
        {**_cox_pred({"age_at_relapse": 40, "center": "Center D"},
                     covariates=["age_at_relapse", "center"]),
         "id": "b", "where": "center != 'Center D'"}], capsys)
    assert rc == 0, err
    a, b = doc["analyses"]["a"], doc["analyses"]["b"]
    assert a["status"] == "ok" and a["predicted"]["at"]
    assert b["status"] == "ok" and b["terms"]
    assert b["predicted"]["status"] == "not estimable"
    assert "Center D" in b["predicted"]["reason"]
    assert (out / "tables" / "b__terms.csv").exists()
    assert not (out / "tables" / "b__predicted_curves.csv").exists()
    html = unescape((out / "report.html").read_text(encoding="utf-8"))
    assert "No predicted survival" in html


LM = {"kind": "landmark", "endpoint": "os_cr2", "exposure": "hsct_start_date"}


def test_landmark_not_estimable_hr_has_its_reason_and_the_warning_names_the_landmark(
        tmp_path, capsys):
    """Finding 11a: at landmark 3 one patient is exposed (0 events): the HR was blank with
    no reason, and the SeparationWarning did not say which landmark."""
    rc, err, doc, out = _run(tmp_path, [{**LM, "id": "lm", "landmarks": [3, 6]}], capsys)
    assert rc == 0, err
    summ = pd.read_csv(out / "tables" / "lm__summary.csv", keep_default_na=False,
                       na_values=[""])
    assert {"estimable", "note"} <= set(summ.columns)
    r3, r6 = summ.iloc[0], summ.iloc[1]
    assert not r3["estimable"] and pd.isna(r3["estimate"])
    assert "infinite" in r3["note"] and "1 patient(s), 0 event(s)" in r3["note"]
    assert r6["estimable"] and r6["estimate"] > 0
    a = doc["analyses"]["lm"]
    assert any(w.startswith("SeparationWarning: landmark 3:") for w in a["warnings"]), \
        a["warnings"]
    html = unescape((out / "report.html").read_text(encoding="utf-8"))
    assert "Landmark 3: hazard ratio" in html and "not estimable: coefficient may be" in html


def test_landmark_reports_every_cox_term_so_categorical_shows(tmp_path, capsys):
    """Finding 11b: the covariates' own terms were not reported, so `categorical:` had no
    visible effect."""
    rc, err, doc, out = _run(tmp_path, [
        {**LM, "id": "plain", "landmarks": [6], "covariates": ["sex", "age_at_relapse"]},
        {**LM, "id": "cat", "landmarks": [6], "covariates": ["sex", "age_at_relapse"],
         "categorical": {"sex": "F"}}], capsys)
    assert rc == 0, err
    t0 = pd.read_csv(out / "tables" / "plain__terms.csv")
    t1 = pd.read_csv(out / "tables" / "cat__terms.csv")
    # without categorical: the dictionary's first level of sex, M, is the reference
    # (review 14, F7; it was the alphabetical F)
    assert len(t0) == 3 and {"age_at_relapse", "sexF"} <= set(t0["term"])
    assert "sexM" in set(t1["term"]) and "sexF" not in set(t1["term"])
    assert {"estimable", "note"} <= set(t1.columns)
    hr0 = t0.set_index("term").loc["sexF", "estimate"]
    hr1 = t1.set_index("term").loc["sexM", "estimate"]
    assert hr0 * hr1 == pytest.approx(1, rel=1e-6)        # the same model, other reference
    assert doc["analyses"]["cat"]["landmarks"]["terms"]


def test_landmark_groups_are_the_exposure_known_at_the_landmark(tmp_path, capsys):
    """Finding 11c: groups printed as 0/1 and the variable as 'Treatment received
    (time-dependent)'."""
    rc, err, doc, out = _run(tmp_path, [
        {**LM, "id": "dflt", "landmarks": [6], "times": [12]},
        {**LM, "id": "lab", "landmarks": [6], "labels": ["no HSCT yet", "HSCT by 6 months"]}],
        capsys)
    assert rc == 0, err
    g = pd.read_csv(out / "tables" / "dflt__groups_at_landmark.csv")
    assert g["group"].tolist() == ["not yet hsct_start_date", "hsct_start_date by the landmark"]
    e = pd.read_csv(out / "tables" / "dflt__estimates.csv")
    assert set(e["group"]) == set(g["group"])
    g2 = pd.read_csv(out / "tables" / "lab__groups_at_landmark.csv")
    assert g2["group"].tolist() == ["no HSCT yet", "HSCT by 6 months"]
    assert g2["n"].tolist() == g["n"].tolist()
    assert doc["analyses"]["lab"]["labels"] == {"not exposed": "no HSCT yet",
                                                 "exposed": "HSCT by 6 months"}
    html = unescape((out / "report.html").read_text(encoding="utf-8"))
    assert "Treatment received (time-dependent)" not in html
    assert "Exposure known at the landmark: HSCT by 6 months" in html
    rc, err, _, _ = _run(tmp_path, [{"id": "g", "kind": "landmark", "endpoint": "os_cr2",
                                     "group": "sex", "landmarks": [6], "labels": ["a", "b"]}],
                         capsys, name="badlab")
    assert rc == 2 and "'labels' needs 'exposure'" in err


def test_landmark_times_count_from_time_zero(tmp_path, capsys):
    """Finding 11d: `times` are documented as times since the endpoint's time zero but were
    used as times since the landmark (at landmark 6, times: [12] gave 18 months from CR2)."""
    rc, err, doc, out = _run(tmp_path, [{**LM, "id": "lm", "landmarks": [3, 6],
                                         "times": [4, 12, 24]}], capsys)
    assert rc == 0, err
    e = pd.read_csv(out / "tables" / "lm__estimates.csv", keep_default_na=False,
                    na_values=[""])
    assert {"time", "time_since_landmark", "note"} <= set(e.columns)
    early = e[(e["landmark"] == 6) & (e["time"] == 4)]
    assert len(early) == 2 and early["estimate"].isna().all()
    assert early["note"].str.contains("at or before the landmark").all()
    ok = e[e["estimate"].notna()]
    assert (ok["time_since_landmark"] == ok["time"] - ok["landmark"]).all()
    assert len(ok) == 2 * 3 + 2 * 2
    # the estimate at 12 months from CR2 among patients event-free at 6: KM at 6 months on
    # the landmark clock, from the plan's own analysis frame
    res = doc["analyses"]["lm"]
    km6 = res["landmarks"]["km"]["6.0"]["table"]
    grp = "hsct_start_date by the landmark"
    rows = [r for r in km6 if r["group"] == grp and r["time"] <= 6.0]
    want = rows[-1]["estimate"] if rows else 1.0
    got = ok[(ok["landmark"] == 6) & (ok["time"] == 12) & (ok["group"] == grp)]["estimate"]
    assert got.iloc[0] == pytest.approx(want, rel=1e-12)
    html = unescape((out / "report.html").read_text(encoding="utf-8"))
    assert "since the endpoint's time zero" in html
