"""Findings of a user's audit (session 7), checked on the path users take: a plan run on
a CSV file. Each test failed before its fix."""

import json
from html import unescape
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from aplcohort.cli import main

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data" / "synthetic" / "min2022.csv"
ENDPOINTS = {"os_rel": {"endpoint": "OS", "time_zero": "relapse1", "unit": "months"},
             "os_cr2": {"endpoint": "OS", "time_zero": "response", "unit": "months"},
             "cir": {"endpoint": "CIR", "time_zero": "response", "unit": "months"}}


def _run(tmp_path, analyses, capsys, data=DATA, name="p", **extra):
    plan = {"plan": name, "data": {"source": str(data)}, "endpoints": ENDPOINTS,
            "analyses": analyses, **extra}
    p = tmp_path / f"{name}.yaml"
    p.write_text(yaml.safe_dump(plan, sort_keys=False), encoding="utf-8")
    out = tmp_path / f"out_{name}"
    rc = main(["run", str(p), "--out", str(out)])
    cap = capsys.readouterr()
    doc = json.loads((out / "results.json").read_text()) if rc == 0 else None
    return rc, cap.err, doc, out


def _all_censored(tmp_path):
    d = pd.read_csv(DATA, dtype=str, keep_default_na=False)
    d["death_date"] = ""
    d["death_cause"] = ""
    p = tmp_path / "censored.csv"
    d.to_csv(p, index=False)
    return p


def test_logrank_and_gray_write_their_test_as_a_table(tmp_path, capsys):
    """The test (statistic, df, p) was only in results.json: no table, no report line."""
    rc, err, doc, out = _run(tmp_path, [
        {"id": "lr", "kind": "logrank", "endpoint": "os_rel", "group": "reinduction_regimen"},
        {"id": "gr", "kind": "gray", "endpoint": "cir", "group": "postremission_modality"}],
        capsys)
    assert rc == 0, err
    for aid in ("lr", "gr"):
        s = doc["analyses"][aid]
        t = pd.read_csv(out / "tables" / f"{aid}__test.csv")
        assert len(t) == 1
        assert t["statistic"].iloc[0] == pytest.approx(s["statistic"], rel=1e-12)
        assert t["df"].iloc[0] == s["df"] and t["p"].iloc[0] == pytest.approx(s["p"], rel=1e-12)
        assert (out / "tables" / f"{aid}__test.docx").exists()
    html = unescape((out / "report.html").read_text(encoding="utf-8"))
    assert "Log-rank test of 'reinduction_regimen'" in html
    assert "Gray's test of 'postremission_modality', cause 1" in html


def test_an_optional_part_that_cannot_be_estimated_leaves_the_analysis(tmp_path, capsys):
    """A hazard ratio beside KM curves of one group, cox.zph of a model with an infinite
    coefficient, the Mantel-Byar test of Simon-Makuch curves without events: the part is
    not estimable with its reason; the curves / model stand (they were all lost)."""
    rc, err, doc, out = _run(tmp_path, [
        {"id": "km_hr", "kind": "km", "endpoint": "os_rel", "group": "reinduction_regimen",
         "where": "reinduction_regimen == 'IC'", "times": [12], "hr": True},
        {"id": "cox_zph", "kind": "cox", "endpoint": "os_rel",
         "covariates": ["center", "age_at_relapse"], "zph": True}], capsys)
    assert rc == 0, err
    km = doc["analyses"]["km_hr"]
    assert km["status"] == "ok" and km["groups"]
    assert km["hr"]["status"] == "not estimable" and "one group only" in km["hr"]["reason"]
    assert (out / "tables" / "km_hr__medians.csv").exists()
    assert not (out / "tables" / "km_hr__hr.csv").exists()
    cox = doc["analyses"]["cox_zph"]
    assert cox["status"] == "ok" and cox["terms"]
    assert cox["zph"]["status"] == "not estimable" and "infinite" in cox["zph"]["reason"]
    html = unescape((out / "report.html").read_text(encoding="utf-8"))
    assert "No proportional-hazards test (cox.zph): cox_zph: the Cox model" in html
    assert "No hazard ratio: one group only" in html

    rc, err, doc, out = _run(tmp_path, [
        {"id": "km", "kind": "km", "endpoint": "os_rel", "group": "reinduction_regimen",
         "hr": True},
        {"id": "sm", "kind": "simon_makuch", "endpoint": "os_cr2",
         "exposure": "postremission_start_date"}], capsys, data=_all_censored(tmp_path),
        name="cens")
    assert rc == 0, err
    km, sm = doc["analyses"]["km"], doc["analyses"]["sm"]
    assert km["status"] == "ok" and km["hr"]["status"] == "not estimable"
    assert "no events" in km["hr"]["reason"]
    assert sm["status"] == "ok" and sm["groups"]
    assert sm["test"]["status"] == "not estimable" and "no events" in sm["test"]["reason"]


def test_mantel_byar_without_events_is_not_estimable_with_the_reason():
    from aplcohort.stats.timedep import mantel_byar
    df = pd.DataFrame({"pid": range(5), "t": [9., 4., 12., 7., 15.], "d": [0] * 5,
                       "tx": [3., np.nan, 5., np.nan, 2.]})
    with pytest.warns(UserWarning, match="no events"):
        r = mantel_byar(df, time="t", event="d", id="pid", exposure_time="tx")
    assert np.isnan(r.statistic) and np.isnan(r.p) and "no events" in r.note
    assert r.events == 0 and r.table["observed"].tolist() == [0.0, 0.0]


def test_immortal_time_warning_does_not_promise_a_comparison_that_failed(tmp_path, capsys):
    """A time-dependent comparison that cannot be made (here: no deaths, so no Cox model).
    The warning said it was 'shown beside it'. (This test first used the 'none' level, not
    reinduced, which had no reinduction start; since review 13 a "not treated" level is in
    its group from time zero and that comparison is made.)"""
    rc, err, doc, out = _run(tmp_path, [
        {"id": "km", "kind": "km", "endpoint": "os_rel", "group": "reinduction_regimen"}],
        capsys, data=_all_censored(tmp_path))
    assert rc == 0, err
    a = doc["analyses"]["km"]
    assert "comparison_error" in a["immortal_time"]
    w = [x for x in a["warnings"] if "ImmortalTimeWarning" in x or "naive" in x]
    assert w and all("shown beside it" not in x for x in w)
    assert any("could not be made" in x for x in w)
    assert not (out / "tables" / "km__immortal_time.csv").exists()


def test_a_level_that_is_not_in_the_data_is_a_plan_error(tmp_path, capsys):
    """order: [M, X] ran with X dropped silently (a misspelt reference level changes the
    comparison); a categorical reference that is no level failed only at run time."""
    for name, a in (("order", {"id": "a", "kind": "km", "endpoint": "os_rel", "group": "sex",
                               "order": ["M", "X"]}),
                    ("ref", {"id": "b", "kind": "cox", "endpoint": "os_rel",
                             "covariates": ["reinduction_regimen"],
                             "categorical": {"reinduction_regimen": "ATO-base"}})):
        rc, err, doc, out = _run(tmp_path, [a], capsys, name=name)
        assert rc == 2 and "Traceback" not in err
        assert "is not a value of column" in err
    assert "'X' is not a value of column 'sex'" in _run(
        tmp_path, [{"id": "a", "kind": "km", "endpoint": "os_rel", "group": "sex",
                    "order": ["M", "X"]}], capsys, name="o2")[1]
    rc, err, _, _ = _run(tmp_path, [{"id": "b", "kind": "cox", "endpoint": "os_rel",
                                     "covariates": ["reinduction_regimen"],
                                     "categorical": {"reinduction_regimen": "ATO-base"}}],
                         capsys, name="r2")
    assert "did you mean 'ATO-based'" in err
    # a level absent only after where: is fine (the subset simply lacks it)
    rc, err, doc, _ = _run(tmp_path, [{"id": "c", "kind": "km", "endpoint": "os_rel",
                                       "group": "reinduction_regimen",
                                       "where": "reinduction_regimen != 'none'",
                                       "order": ["ATO-based", "IC", "none"]}], capsys, name="ok")
    assert rc == 0, err


@pytest.mark.parametrize("key", ["times", "ticks", "landmarks"])
def test_negative_times_are_rejected(tmp_path, capsys, key):
    """A KM estimate 'at -5 months' is R's S(0) (below 1 when a patient died at time 0)."""
    rc, err, _, _ = _run(tmp_path, [{"id": "a", "kind": "km", "endpoint": "os_rel",
                                     "group": "sex", key: [-5, 12]}], capsys)
    assert rc == 2 and "Traceback" not in err
    assert f"{key}: [-5.0]" in err and ">= 0" in err


def test_registration_number_columns_are_identifiers():
    from aplcohort.plan.identifiers import looks_identifying
    for c in ("registration_no", "RegistrationNo", "reg_no", "Registration_Num"):
        assert looks_identifying(c), c
    for c in ("region", "registered", "registry", "reg_date"):
        assert not looks_identifying(c), c


def test_table1_says_why_a_cell_has_no_number():
    """A constant variable (no test), a group without known values (no percentage) and a
    group of one patient (no SMD) printed NA with no reason. They print NE with the reason
    of the row (the text of results.json: tables/blanks.py, the rule of every table)."""
    from aplcohort.tables.table1 import table1
    df = pd.DataFrame({"arm": ["A"] * 4 + ["B"] * 3 + ["C"],
                       "fusion": ["PML-RARA"] * 8,
                       "inf": [True, False, True, False, None, None, None, True],
                       "age": [34, 51, 47, 29, 60, 55, 41, 70]})
    t = table1(df, "arm", ["fusion", "inf", "age"], smd=True)
    d = t.data.set_index("Characteristic")
    assert "NA" not in t.data.to_csv()
    row = [c for c in d.index if c.startswith("RARA fusion")][0]
    assert d.loc[row, "p"] == "NE\u00b9" and d.loc[row, "Test"] == "NE\u00b9"
    notes = " ".join(t.footnotes)
    assert ("\u00b9 Not estimable (p and Test): no p-value: only one level observed: "
            "no test.") in notes
    inf_row = [c for c in d.index if c.startswith("inf")][0]
    assert d.loc[inf_row, "B (n = 3)"] == "0 (NE\u00b2)"
    assert ("\u00b2 Not estimable (B (n = 3)): no known value of 'inf' in group 'B': no "
            "percentage.") in notes
    age_row = [c for c in d.index if c.startswith("age")][0]
    assert d.loc[age_row, "SMD"] == "NE\u00b3"
    assert "\u00b3 Not estimable (SMD): no SMD: C: fewer than 2 known values." in notes


def test_median_followup_says_why_it_is_missing():
    from aplcohort.stats.km import median_followup
    fu = median_followup([1, 2, 3, 4, 5, 6], [1, 1, 1, 0, 1, 0], ["a"] * 3 + ["b"] * 3)
    a, b = fu.iloc[0], fu.iloc[1]
    assert np.isnan(a["median"]) and "no patient censored" in a["note"]
    # the upper limit is NA in R too, but because the band is undefined at S = 0 (time 6),
    # not because it is not reached (audit 11 F7b, tests/test_review11c.py)
    assert np.isfinite(b["median"]) and b["note"].startswith(
        "upper confidence limit not estimable: the confidence interval of the reverse "
        "Kaplan-Meier curve is undefined from time 6")
