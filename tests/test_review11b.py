"""Audit 11 (review 11), part B: plan kinds.

F2  ``td_cox``'s default variance is R's ``coxph(id =)`` default (robust only when some
    patient has more than one event), stated in the choices line; ``robust: true/false``
    stays an explicit setting. Reference: ``tests/reference/review11b_tdcox.R`` ->
    ``review11b_tdcox.json`` (survival 3.5-3, on ``tests/data/public/jasa.csv``).
F3  the group test of a ``km`` analysis and the (stratified) Gray test of a ``cif`` analysis
    are a table of their own (``<id>__test``: CSV, DOCX, report, manuscript), built as the
    ``logrank`` / ``gray`` kinds build theirs, with or without a figure; the CIF figure's
    p says "stratified" when the test is.
F6  ``km`` with ``test: none`` refuses ``pairwise`` (and so ``adjust``); ``km`` / ``cif``
    refuse ``landmarks`` without ``group`` (the immortal-time guard needs the groups).
F7d ``km`` with ``ctype: 2`` but ``stype: 1`` and no ``cumhaz`` (nothing would change) is
    refused.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from aplcohort import run_plan
from aplcohort.errors import InputError, PlanError
from aplcohort.plan.spec import parse_analysis

HERE = Path(__file__).parent
ROOT = HERE.parent
JASA = HERE / "data" / "public" / "jasa.csv"
REF = json.loads((HERE / "reference" / "review11b_tdcox.json").read_text())
RTOL_FIT = 1e-5    # iterative fits (coxph)


def _plan(tmp_path: Path, source: Path, analyses: list[str], endpoints: str,
          tables: str = "[csv]") -> Path:
    p = tmp_path / "plan.yaml"
    p.write_text("plan: review11b\n"
                 f"data: {{source: '{source}'}}\n"
                 f"output: {{tables: {tables}}}\n"
                 f"endpoints:\n{endpoints}\n"
                 "analyses:\n" + "".join(f"  - {a}\n" for a in analyses), encoding="utf-8")
    return p


# ------------------------------------------------------------------------------------ F2
JASA_EP = "  os: {time: futime, event: fustat, unit: days}"


@pytest.fixture(scope="module")
def td_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("td")
    plan = _plan(tmp, JASA, [
        "{id: td_default, kind: td_cox, endpoint: os, exposure: wait.time, "
        "covariates: [age, surgery], figure: false}",
        "{id: td_robust, kind: td_cox, endpoint: os, exposure: wait.time, "
        "covariates: [age, surgery], robust: true, figure: false}",
        "{id: td_model, kind: td_cox, endpoint: os, exposure: wait.time, "
        "covariates: [age, surgery], robust: false, figure: false}"], JASA_EP)
    res = run_plan(plan, out=tmp / "out", figures=False)
    doc = json.loads((tmp / "out" / "results.json").read_text())
    return res, doc


def _close(got, want, what):
    np.testing.assert_allclose(np.asarray(got, float), np.asarray(want, float),
                               rtol=RTOL_FIT, atol=0, err_msg=what)


def test_td_cox_default_is_r_coxph_id_default(td_run):
    """No robust: setting: R coxph(..., id = id) on the tmerge data, which uses the
    model-based variance (no patient has more than one event); before, the plan used the
    robust one and said it was R's default."""
    res, doc = td_run
    s, r = doc["analyses"]["td_default"], REF["jasa_default"]
    assert r["robust"] is False and r["max_events_per_id"] == 1
    assert [t["term"] for t in s["terms"]][1:] == r["terms"][1:]
    _close([t["coef"] for t in s["terms"]], r["coef"], "coef")
    _close([t["se"] for t in s["terms"]], r["se"], "se")
    _close([t["lower"] for t in s["terms"]], r["hr_lower"], "lower")
    _close([t["upper"] for t in s["terms"]], r["hr_upper"], "upper")
    _close([t["p"] for t in s["terms"]], r["p"], "p")
    assert all(t["robust_se"] is None for t in s["terms"])
    assert s["variance"] == "model"
    ch = res["td_default"].choices
    assert "model-based SE" in ch and "no patient has more than one event" in ch
    # the same numbers as the explicit robust: false and as the API's default
    m = doc["analyses"]["td_model"]
    assert [t["p"] for t in m["terms"]] == [t["p"] for t in s["terms"]]


def test_td_cox_robust_true_is_r_cluster_id(td_run):
    res, doc = td_run
    s, r = doc["analyses"]["td_robust"], REF["jasa_robust"]
    _close([t["robust_se"] for t in s["terms"]], r["used_se"], "robust_se")
    _close([t["p"] for t in s["terms"]], r["p"], "p")
    assert s["variance"] == "robust"
    assert "robust (sandwich) SE clustered on the patient (robust: true)" in \
        res["td_robust"].choices


@pytest.mark.parametrize("case", ["recurrent", "one_event_each"])
def test_td_cox_default_rule_is_rs(case):
    """R's rule itself: robust by default iff some id has more than one event."""
    from aplcohort.plan.kinds import td_cox_variance
    r = REF[case]
    d = pd.DataFrame({"patient_id": r["id"], "event": r["status"]})
    robust, why = td_cox_variance(None, d)
    assert robust is r["robust_by_default"]
    assert ("more than one event" in why) and ("R coxph(id=) default" in why)
    assert td_cox_variance(False, d) == (False, "robust: false")


def test_td_cox_docs_do_not_claim_a_robust_r_default():
    from aplcohort.plan.registry import KINDS
    f = KINDS["td_cox"].model.model_fields["robust"]
    assert f.default is None
    doc = (ROOT / "docs" / "plans.md").read_text(encoding="utf-8")
    assert "coxph(id=) robust default with several rows per id" not in doc
    assert "robust only when some id has more than one event" in doc


# ------------------------------------------------------------------------------------ F3
def _cohort(path: Path) -> Path:
    """40 patients, 3 groups, 2 strata, ties; code 1/2 competing events."""
    rng = np.random.default_rng(11)
    n = 40
    grp = np.repeat(["A", "B", "C"], [14, 14, 12])
    t = rng.integers(1, 12, n).astype(float) + (grp == "A") * 2
    code = rng.choice([0, 1, 2], n, p=[0.3, 0.45, 0.25])
    pd.DataFrame({"time": t, "event": (code > 0).astype(int), "code": code, "grp": grp,
                  "st": np.tile(["x", "y"], n // 2)}).to_csv(path, index=False)
    return path


EPS = "  os: {time: time, event: event, unit: months}\n  cr: {time: time, code: code, unit: months}"


@pytest.fixture(scope="module")
def tests_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("tests")
    data = _cohort(tmp / "d.csv")
    plan = _plan(tmp, data, [
        "{id: km_fig, kind: km, endpoint: os, group: grp, times: [3]}",
        "{id: km_nofig, kind: km, endpoint: os, group: grp, strata: st, times: [3], "
        "figure: false}",
        "{id: ci_fig, kind: cif, endpoint: cr, group: grp, times: [3], strata: st}",
        "{id: ci_nofig, kind: cif, endpoint: cr, group: grp, times: [3], figure: false}",
        "{id: lr, kind: logrank, endpoint: os, group: grp}",
        "{id: gr, kind: gray, endpoint: cr, group: grp, strata: st}"], EPS, "[csv, docx]")
    out = tmp / "out"
    res = run_plan(plan, out=out)
    return res, out, json.loads((out / "results.json").read_text())


@pytest.mark.parametrize("aid", ["km_fig", "km_nofig", "ci_fig", "ci_nofig"])
def test_km_and_cif_tests_are_tables(tests_run, aid):
    """The test beside the curves has its own table, as the logrank / gray kinds:
    same numbers as results.json, with or without a figure."""
    res, out, doc = tests_run
    s = doc["analyses"][aid]
    csv = out / "tables" / f"{aid}__test.csv"
    assert csv.is_file(), sorted(p.name for p in (out / "tables").iterdir())
    assert (out / "tables" / f"{aid}__test.docx").is_file()
    tab = pd.read_csv(csv)
    assert len(tab) == 1
    assert tab["statistic"].iat[0] == pytest.approx(s["statistic"], rel=1e-12)
    assert tab["df"].iat[0] == s["df"]
    assert tab["p"].iat[0] == pytest.approx(s["p"], rel=1e-12)
    stratified = "strata" in s["test"]
    assert tab["test"].iat[0].startswith("stratified ") == stratified
    # and in the report and the manuscript
    captions = [t[1] for t in res[aid].tables if t[0] == "test"]
    assert len(captions) == 1
    html = (out / "report.html").read_text(encoding="utf-8")
    assert captions[0].replace("'", "&#x27;") in html or captions[0] in html
    from docx import Document
    text = "\n".join(p.text for p in Document(out / "manuscript.docx").paragraphs)
    assert f"{aid}: {captions[0].split(' (')[0]}".lower() in text.lower()


def test_test_tables_share_one_builder(tests_run):
    """km's test table has the logrank kind's columns; cif's has the gray kind's."""
    _res, out, _doc = tests_run
    cols = {a: list(pd.read_csv(out / "tables" / f"{a}__test.csv").columns)
            for a in ("km_fig", "lr", "ci_fig", "gr")}
    assert cols["km_fig"] == cols["lr"]
    assert cols["ci_fig"] == cols["gr"]
    # the gray kind's stratified test says it is stratified too
    assert pd.read_csv(out / "tables" / "gr__test.csv")["test"].iat[0] == "stratified Gray"


def test_cif_figure_says_stratified_gray(tests_run):
    res, _out, _doc = tests_run
    fig = dict(res["ci_fig"].figures)["ci_fig"]
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert any(t.startswith("Stratified Gray p") for t in texts), texts
    fig = dict(res["km_fig"].figures)["km_fig"]
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert any(t.startswith("Log-rank p") for t in texts), texts


def test_undefined_km_test_table_gives_the_reason(tmp_path):
    """A km test whose p is not defined (one group has no expected events): the table row
    is NE with the estimator's reason, not a blank p."""
    d = pd.DataFrame({"time": [1., 2., 3., 4., 5., .5, .5, .5],
                      "event": [1, 1, 0, 1, 1, 0, 0, 0],
                      "grp": list("AAAAABBB")})
    d.to_csv(tmp_path / "d.csv", index=False)
    plan = _plan(tmp_path, tmp_path / "d.csv",
                 ["{id: k, kind: km, endpoint: os, group: grp, figure: false}"],
                 "  os: {time: time, event: event, unit: months}", "[csv, docx]")
    res = run_plan(plan, out=tmp_path / "out", figures=False)
    tab = pd.read_csv(tmp_path / "out" / "tables" / "k__test.csv")
    assert np.isnan(tab["p"].iat[0])
    assert "no comparison is possible" in tab["note"].iat[0]
    html = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert "NE, not estimable: " in html and "no comparison is possible" in html
    assert res["k"].summary["test"]["status"] == "not estimable"


# ------------------------------------------------------------------------------------ F6
BASE = {"id": "a", "kind": "km", "endpoint": "os", "group": "g"}


@pytest.mark.parametrize("extra", [{"pairwise": True},
                                   {"pairwise": True, "adjust": "bonferroni"}])
def test_km_pairwise_needs_a_test(extra):
    with pytest.raises(PlanError, match="'pairwise' has no effect with test: none"):
        parse_analysis({**BASE, "test": "none", **extra})
    parse_analysis({**BASE, **extra})          # with the default log-rank test: fine


def test_km_adjust_alone_with_test_none_is_refused():
    with pytest.raises(PlanError, match="'adjust' only applies to pairwise"):
        parse_analysis({**BASE, "test": "none", "adjust": "bonferroni"})


@pytest.mark.parametrize("kind,endpoint", [("km", "os"), ("cif", "cr")])
def test_landmarks_need_group(kind, endpoint):
    with pytest.raises(PlanError, match="'landmarks' needs 'group'"):
        parse_analysis({"id": "a", "kind": kind, "endpoint": endpoint, "landmarks": [3]})
    parse_analysis({"id": "a", "kind": kind, "endpoint": endpoint, "group": "g",
                    "landmarks": [3]})


def test_plan_errors_are_input_errors():
    assert issubclass(PlanError, InputError)


# ------------------------------------------------------------------------------------ F7d
def test_km_ctype_2_without_effect_is_refused():
    with pytest.raises(PlanError, match="'ctype: 2' changes only the cumulative hazard"):
        parse_analysis({"id": "a", "kind": "km", "endpoint": "os", "ctype": 2})
    parse_analysis({"id": "a", "kind": "km", "endpoint": "os", "ctype": 2, "cumhaz": True})
    parse_analysis({"id": "a", "kind": "km", "endpoint": "os", "ctype": 2, "stype": 2})
