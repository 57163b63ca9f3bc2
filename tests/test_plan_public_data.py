"""Plans on public data sets saved as a user would save them, against R.

KMsurv ``bmt``, survival ``jasa`` and survival ``mgus2`` are stored in
``tests/data/public/*.csv`` with missing cells in numeric columns written as empty cells
and as the text ``NA``; ``tests/data/public/*.yaml`` are plans over them.  The reference
values come from ``tests/reference/plans_public.R`` (survdiff, survfit, coxph, cuminc,
crr and tmerge-based coxph run on the SAME CSV files, read with
``read.csv(na.strings = c("", "NA"))``), stored at 17 significant digits in
``tests/reference/plans_public.json``; the R call is in each entry's ``call`` field.

Tolerances: rtol 1e-6 for closed-form statistics (KM, log-rank, cumulative incidence,
Gray's test); 1e-5 for iterative fits (coxph, crr).

Complete-case analyses are also checked for what left them: ``n`` equals R's ``n`` and the
excluded rows (named as in the spreadsheet, ``row 2`` = first data row) are listed in
``results.json``.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from aplcohort import run_plan

HERE = Path(__file__).parent
PUBLIC = HERE / "data" / "public"
REF = json.loads((HERE / "reference" / "plans_public.json").read_text())

RTOL = 1e-6        # closed-form statistics
RTOL_FIT = 1e-5    # iterative fits (Newton-Raphson coxph, crr)

INT_LABELS = ("integer-valued columns are typed float, so group labels and dummy names read "
              "'1.0' / 'group2.0' where R (and the spreadsheet) say '1' / 'group2'")


# ----------------------------------------------------------------------------- runs
class _Run:
    """A plan run, or the exception it raised (re-raised inside the test that needs it)."""

    def __init__(self, plan: str, out: Path, data=None):
        self.plan = plan
        self.out = out
        try:
            self.res = run_plan(PUBLIC / f"{plan}.yaml", data=data, out=out, figures=False)
            self.doc = json.loads((out / "results.json").read_text())
            self.error = None
        except Exception as exc:  # noqa: BLE001 -- re-raised by .summary() in the test
            self.error = exc

    def summary(self, aid: str) -> dict:
        if self.error is not None:
            raise self.error
        return self.doc["analyses"][aid]

    def result(self, aid: str):
        if self.error is not None:
            raise self.error
        return self.res[aid].result


_RUNS: dict = {}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    def get(plan: str, xlsx: bool = False) -> _Run:
        key = (plan, xlsx)
        if key not in _RUNS:
            tmp = tmp_path_factory.mktemp(f"public_{plan}{'_xlsx' if xlsx else ''}")
            data = None
            if xlsx:
                data = tmp / f"{plan}.xlsx"
                _write_xlsx(PUBLIC / f"{plan}.csv", data)
            _RUNS[key] = _Run(plan, tmp / "out", data=data)
        return _RUNS[key]
    yield get
    _RUNS.clear()


def _label(x) -> str:
    """A group label as R prints it ('1' for the number 1, text unchanged)."""
    try:
        f = float(x)
    except (TypeError, ValueError):
        return str(x)
    return str(int(f)) if f.is_integer() else repr(f)


def _close(actual, desired, rtol, what=""):
    np.testing.assert_allclose(np.asarray(actual, dtype=float), np.asarray(desired, dtype=float),
                               rtol=rtol, atol=0, err_msg=what)


def _excluded_ids(summary: dict) -> list[str]:
    ids: list[str] = []
    for e in summary.get("exclusions") or []:
        ids += [str(i) for i in e["ids"]]
    return ids


# ----------------------------------------------------------------------------- Kaplan–Meier + log-rank
KM_CASES = [("bmt", "km_group"), ("jasa", "km_surgery"), ("mgus2", "km_sex")]


def _km_at(summary: dict) -> dict:
    return {(_label(g), float(e["time"])): e for g, v in summary["groups"].items() for e in v["at"]}


@pytest.mark.parametrize("plan,aid", [
    ("bmt", "km_group"),
    pytest.param("jasa", "km_surgery"),
    pytest.param("mgus2", "km_sex"),
])
def test_km_estimates_and_test_match_r(runs, plan, aid):
    """summary(survfit(...), times) and survdiff(...) (rho as in the plan)."""
    s = runs(plan).summary(aid)
    r = REF[plan][aid]
    at = _km_at(s)
    assert len(at) == len(r["time"])
    for g, t, surv, lo, hi in zip(r["group"], r["time"], r["surv"], r["lower"], r["upper"]):
        e = at[(g, float(t))]
        _close([e["estimate"], e["lower"], e["upper"]], [surv, lo, hi], RTOL, f"{aid} {g} t={t}")
    rt = r["test"]
    assert s["n"] == rt["n"]
    assert s["df"] == rt["df"]
    _close([s["statistic"], s["p"]], [rt["chisq"], rt["p"]], RTOL, f"{aid} test")


def test_stratified_logrank_matches_survdiff(runs):
    """survdiff(Surv(t2, d3) ~ group + strata(z8)): the plan's `strata` reaches the test."""
    s = runs("bmt").summary("logrank_strat")
    r = REF["bmt"]["logrank_strat"]
    assert s["n"] == r["n"] and s["df"] == r["df"]
    _close([s["statistic"], s["p"]], [r["chisq"], r["p"]], RTOL)
    tab = sorted(s["table"], key=lambda row: float(row["group"]))
    _close([row["observed"] for row in tab], r["observed"], RTOL)
    _close([row["expected"] for row in tab], r["expected"], RTOL)
    # the stratified statistic differs from the unstratified one: strata were not ignored
    assert not np.isclose(s["statistic"], REF["bmt"]["km_group"]["test"]["chisq"], rtol=1e-3)


@pytest.mark.xfail(strict=True, reason=INT_LABELS)
def test_group_labels_are_as_in_the_spreadsheet(runs):
    s = runs("bmt").summary("km_group")
    assert sorted(s["groups"]) == ["1", "2", "3"]


# ----------------------------------------------------------------------------- Cox models
COX_CASES = [
    pytest.param("bmt", "cox_robust"),
    pytest.param("bmt", "cs_cox"),
    pytest.param("mgus2", "cox"),
    pytest.param("mgus2", "cs_cox_death"),
]


@pytest.mark.parametrize("plan,aid", COX_CASES)
def test_cox_terms_match_coxph(runs, plan, aid):
    """coxph on complete cases: coef, model SE, HR CI and p (robust where R used robust)."""
    s = runs(plan).summary(aid)
    r = REF[plan][aid]
    terms = s["terms"]
    assert len(terms) == len(r["terms"])
    _close([t["coef"] for t in terms], r["coef"], RTOL_FIT, "coef")
    _close([t["se"] for t in terms], r["se"], RTOL_FIT, "se")
    _close([t["lower"] for t in terms], r["hr_lower"], RTOL_FIT, "hr_lower")
    _close([t["upper"] for t in terms], r["hr_upper"], RTOL_FIT, "hr_upper")
    _close([t["p"] for t in terms], r["p"], RTOL_FIT, "p")
    _close(s["loglik"], r["loglik"], RTOL_FIT, "loglik")


@pytest.mark.parametrize("plan,aid", COX_CASES)
def test_cox_complete_case_counts_match_r(runs, plan, aid):
    s = runs(plan).summary(aid)
    r = REF[plan][aid]
    assert s["n"] == r["n"]
    assert s["events"] == r["nevent"]


def test_cox_robust_se_matches_coxph_robust(runs):
    """coxph(..., robust = TRUE): the robust SE drives the CI and p (checked above); here the
    SE itself on the result object."""
    res = runs("bmt").result("cox_robust")
    _close(res.terms["robust_se"], REF["bmt"]["cox_robust"]["robust_se"], RTOL_FIT)


@pytest.mark.parametrize("plan,aid", [
    ("bmt", "cox_robust"),
    ("jasa", "td_cox"),
])
def test_robust_se_in_results_json(runs, plan, aid):
    """The robust SE that gives the CI and p is exported beside the model SE."""
    s = runs(plan).summary(aid)
    _close([t["robust_se"] for t in s["terms"]], REF[plan][aid]["robust_se"], RTOL_FIT)


@pytest.mark.xfail(strict=True, reason=INT_LABELS)
def test_cox_term_names_are_rs(runs):
    s = runs("bmt").summary("cox_robust")
    assert [t["term"] for t in s["terms"]] == REF["bmt"]["cox_robust"]["terms"]


# ----------------------------------------------------------------------------- competing risks
@pytest.mark.parametrize("plan,aid", [("bmt", "cif_group"), ("mgus2", "cif_sex")])
def test_cif_and_gray_match_cuminc(runs, plan, aid):
    """timepoints(cuminc(...), times) estimates and variances; cuminc()$Tests for the cause."""
    s = runs(plan).summary(aid)
    r = REF[plan][aid]
    assert s["n"] == r["n"] and s["cause"] == r["cause"]
    groups = {_label(g): v for g, v in s["groups"].items()}
    assert sorted(groups) == sorted(r["group"])
    for g, est, var in zip(r["group"], r["est"], r["var"]):
        at = {float(e["time"]): e for e in groups[g]["at"]}
        assert sorted(at) == [float(t) for t in r["times"]]
        _close([at[float(t)]["estimate"] for t in r["times"]], est, RTOL, f"{aid} {g} estimate")
        _close([at[float(t)]["std_err"] ** 2 for t in r["times"]], var, RTOL, f"{aid} {g} variance")
    assert s["df"] == r["gray_df"]
    _close([s["statistic"], s["p"]], [r["gray_stat"], r["gray_p"]], RTOL, f"{aid} Gray")


FG_CASES = [pytest.param("bmt", "finegray"),
            pytest.param("mgus2", "finegray")]


@pytest.mark.parametrize("plan,aid", FG_CASES)
def test_finegray_matches_crr(runs, plan, aid):
    s = runs(plan).summary(aid)
    r = REF[plan][aid]
    assert s["n"] == r["n"]
    terms = s["terms"]
    assert len(terms) == len(r["terms"])
    _close([t["coef"] for t in terms], r["coef"], RTOL_FIT, "coef")
    _close([t["se"] for t in terms], r["se"], RTOL_FIT, "se")
    _close([t["p"] for t in terms], r["p"], RTOL_FIT, "p")


# ----------------------------------------------------------------------------- time-dependent Cox
def test_td_cox_matches_tmerge_coxph(runs):
    """tmerge(..., transplant = tdc(wait.time)) then coxph(Surv(tstart, tstop, death) ~
    transplant + age + surgery, cluster = id): the exposure column has blank and NA cells
    for the patients never transplanted."""
    s = runs("jasa").summary("td_cox")
    r = REF["jasa"]["td_cox"]
    assert s["n"] == r["n_patients"]
    assert s["events"] == r["nevent"]
    terms = s["terms"]
    assert len(terms) == len(r["terms"])
    _close([t["coef"] for t in terms], r["coef"], RTOL_FIT, "coef")
    _close([t["se"] for t in terms], r["se"], RTOL_FIT, "se")
    _close([t["lower"] for t in terms], r["hr_lower"], RTOL_FIT, "hr_lower (robust)")
    _close([t["upper"] for t in terms], r["hr_upper"], RTOL_FIT, "hr_upper (robust)")
    _close([t["p"] for t in terms], r["p"], RTOL_FIT, "p (robust)")
    _close(runs("jasa").result("td_cox").terms["robust_se"], r["robust_se"], RTOL_FIT, "robust_se")


# ----------------------------------------------------------------------------- exclusions recorded
EXCL_CASES = [("bmt", "cox_robust"), ("bmt", "finegray"), ("bmt", "cs_cox"), ("jasa", "td_cox"),
              ("mgus2", "cox"), ("mgus2", "finegray"), ("mgus2", "cs_cox_death")]


@pytest.mark.parametrize("plan,aid", EXCL_CASES)
def test_complete_case_exclusions_are_recorded_with_ids(runs, plan, aid):
    """Every row R's complete-case analysis leaves out is listed, with a reason, under the
    analysis's ``exclusions`` in results.json."""
    s = runs(plan).summary(aid)
    r = REF[plan][aid]
    ids = _excluded_ids(s)
    assert sorted(ids) == sorted(r["excluded_ids"])
    assert sum(int(e["n"]) for e in s["exclusions"]) == len(r["excluded_ids"])
    assert all(e.get("reason") for e in s["exclusions"])


def test_declared_number_column_with_blanks_is_complete_case(tmp_path):
    """`data.types: {z1: number}` declares what the user means; blank and NA cells are then
    missing values (complete-case Cox as in R), not an error."""
    import yaml
    plan = yaml.safe_load((PUBLIC / "bmt.yaml").read_text())
    plan["data"] = {"source": str(PUBLIC / "bmt.csv"), "types": {"z1": "number"}}
    plan["analyses"] = [a for a in plan["analyses"] if a["id"] == "cox_robust"]
    res = run_plan(plan, out=tmp_path, figures=False)
    s = json.loads((tmp_path / "results.json").read_text())["analyses"]["cox_robust"]
    r = REF["bmt"]["cox_robust"]
    assert s["n"] == r["n"] and res.cohort.n == 137
    _close([t["coef"] for t in s["terms"]], r["coef"], RTOL_FIT)


# ----------------------------------------------------------------------------- settings reach R's answer


def _bmt_plan_with(analysis: dict) -> dict:
    import yaml
    plan = yaml.safe_load((PUBLIC / "bmt.yaml").read_text())
    plan["data"] = {"source": str(PUBLIC / "bmt.csv")}
    plan["analyses"] = [analysis]
    return plan


def _run_or_rejected(plan: dict, key: str, tmp_path):
    """The summary of the plan's one analysis, or None when the plan is rejected naming
    ``key`` (an accepted setting must change the result; rejecting it is also honest)."""
    from aplcohort.errors import PlanError
    try:
        run_plan(plan, out=tmp_path, figures=False)
    except PlanError as exc:
        assert key in str(exc)
        return None
    doc = json.loads((tmp_path / "results.json").read_text())
    return doc["analyses"][plan["analyses"][0]["id"]]


def test_km_strata_gives_stratified_survdiff_or_is_rejected(tmp_path):
    plan = _bmt_plan_with({"id": "km", "kind": "km", "endpoint": "dfs", "group": "group",
                           "strata": "z8"})
    s = _run_or_rejected(plan, "strata", tmp_path)
    if s is not None:
        r = REF["bmt"]["logrank_strat"]
        _close([s["statistic"], s["p"]], [r["chisq"], r["p"]], RTOL)


def test_cif_strata_gives_stratified_gray_or_is_rejected(tmp_path):
    plan = _bmt_plan_with({"id": "cif", "kind": "cif", "endpoint": "relapse", "group": "group",
                           "cause": 1, "strata": "z8"})
    s = _run_or_rejected(plan, "strata", tmp_path)
    if s is not None:
        r = REF["bmt"]["cif_group_strata"]
        assert s["df"] == r["gray_df"]
        _close([s["statistic"], s["p"]], [r["gray_stat"], r["gray_p"]], RTOL)


def test_cause_specific_cox_conf_level_or_rejected(tmp_path):
    plan = _bmt_plan_with({"id": "cs", "kind": "cause_specific_cox", "endpoint": "relapse",
                           "covariates": ["group"], "categorical": {"group": 1}, "cause": 1,
                           "conf_level": 0.90})
    s = _run_or_rejected(plan, "conf_level", tmp_path)
    if s is not None:
        r = REF["bmt"]["cs_cox_conf90"]
        assert s["n"] == r["n"]
        _close([t["lower"] for t in s["terms"]], r["hr_lower"], RTOL_FIT)
        _close([t["upper"] for t in s["terms"]], r["hr_upper"], RTOL_FIT)


# ----------------------------------------------------------------------------- other routes in
def _write_xlsx(csv_path: Path, xlsx_path: Path) -> None:
    """Save the CSV as a workbook the way Excel would hold it: numbers as numbers, empty
    cells empty, the text NA as text."""
    from openpyxl import Workbook
    wb = Workbook()
    ws = wb.active
    with csv_path.open(newline="") as fh:
        for i, row in enumerate(csv.reader(fh)):
            cells = []
            for v in row:
                if i == 0 or v in ("", "NA"):
                    cells.append(v if v != "" else None)
                    continue
                try:
                    f = float(v)
                    cells.append(int(f) if f.is_integer() else f)
                except ValueError:
                    cells.append(v)
            ws.append(cells)
    wb.save(xlsx_path)


def test_xlsx_copy_gives_the_r_numbers(runs):
    run = runs("bmt", xlsx=True)
    s, r = run.summary("km_group"), REF["bmt"]["km_group"]
    _close([s["statistic"], s["p"]], [r["test"]["chisq"], r["test"]["p"]], RTOL)
    s, r = run.summary("cif_group"), REF["bmt"]["cif_group"]
    _close([s["statistic"], s["p"]], [r["gray_stat"], r["gray_p"]], RTOL)
    assert run.res.cohort.n == 137 and run.res.cohort.source["format"] == "xlsx"


def test_xlsx_copy_complete_case_cox(runs):
    s = runs("bmt", xlsx=True).summary("cox_robust")
    r = REF["bmt"]["cox_robust"]
    assert s["n"] == r["n"]
    _close([t["coef"] for t in s["terms"]], r["coef"], RTOL_FIT)


def test_cli_run_writes_the_r_numbers(tmp_path):
    """`aplcohort run PLAN --out DIR` (figures and report included) exits 0 and its
    results.json carries the R values."""
    env = {**os.environ, "PYTHONPATH": str(HERE.parent), "MPLBACKEND": "Agg"}
    out = tmp_path / "cli"
    proc = subprocess.run([sys.executable, "-m", "aplcohort.cli", "run", str(PUBLIC / "bmt.yaml"),
                           "--out", str(out)], capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads((out / "results.json").read_text())
    s, r = doc["analyses"]["logrank_strat"], REF["bmt"]["logrank_strat"]
    _close([s["statistic"], s["p"]], [r["chisq"], r["p"]], RTOL)
    s, r = doc["analyses"]["cif_group"], REF["bmt"]["cif_group"]
    _close([s["statistic"], s["p"]], [r["gray_stat"], r["gray_p"]], RTOL)
    assert (out / "report.html").stat().st_size > 0
    assert (out / "figures" / "km_group.png").exists()
