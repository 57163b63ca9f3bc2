"""Time-dependent kinds of a plan: the terms table counts patients, not split rows, and a
kind without a ``firth`` setting does not advise one."""

from pathlib import Path

import pandas as pd

from aplcohort.plan.runner import run_plan
from aplcohort.plan.write import write_outputs

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data" / "synthetic" / "min2022.csv"

PLAN = {"plan": "td", "data": {"source": str(DATA)},
        "endpoints": {"os_cr2": {"endpoint": "OS", "time_zero": "response", "unit": "months"},
                      "cir_cr2": {"endpoint": "CIR", "time_zero": "response",
                                  "unit": "months"}},
        "analyses": [{"id": "tdc", "kind": "td_cox", "endpoint": "os_cr2",
                      "exposure": "postremission_start_date"},
                     {"id": "tdfg", "kind": "td_finegray", "endpoint": "cir_cr2",
                      "exposure": "postremission_start_date"}]}


def test_td_cox_table_counts_patients_and_names_the_split_rows(tmp_path):
    res = run_plan(PLAN, figures=False)
    a = res.analyses["tdc"]
    n_pat, n_rows = a.summary["n"], a.result.n
    assert n_rows > n_pat        # the fit's rows are (start, stop] intervals
    write_outputs(res, tmp_path / "o")
    html = (tmp_path / "o" / "report.html").read_text(encoding="utf-8")
    assert (f"n = {n_pat}, events = {a.summary['events']} (patients; the model&#x27;s "
            f"{n_rows} rows are (start, stop] intervals split at the exposure).") in html
    assert f"n = {n_rows}," not in html


def test_kinds_without_firth_do_not_advise_firth(tmp_path):
    res = run_plan(PLAN, figures=False)
    a = res.analyses["tdfg"]
    bad = [t for t in a.summary["terms"] if not t["estimable"]]
    assert bad, "the synthetic data no longer give a diverging td_finegray term"
    assert all("firth" not in t["note"] for t in bad)
    write_outputs(res, tmp_path / "o")
    tab = pd.read_csv(tmp_path / "o" / "tables" / "tdfg__terms.csv")
    assert not tab["note"].fillna("").str.contains("firth").any()
    assert "firth: true" not in (tmp_path / "o" / "report.html").read_text(encoding="utf-8")


def test_km_strata_with_test_none_stratifies_the_hazard_ratio(tmp_path):
    # test: none with hr: true: strata is the Cox model's (it changes the HR), not refused;
    # without hr: true it has no effect and is refused
    import pytest
    from aplcohort.plan.spec import PlanError
    base = {"id": "k", "kind": "km", "endpoint": "os_cr2", "group": "reinduction_regimen",
            "where": "reinduction_regimen in ['ATO-based', 'IC']", "test": "none",
            "hr": True}
    plan = {**PLAN, "analyses": [base, {**base, "id": "ks", "strata": "sex"}]}
    res = run_plan(plan, figures=False)
    hr = [res.analyses[k].summary["hr"][0]["estimate"] for k in ("k", "ks")]
    assert hr[0] != hr[1]
    assert "hazard ratio stratified by sex" in res.analyses["ks"].choices
    no_hr = {**base, "id": "ks", "strata": "sex", "hr": False}
    with pytest.raises(PlanError, match="'strata' has no effect with test: none"):
        run_plan({**PLAN, "analyses": [no_hr]}, figures=False)


def test_td_cox_forest_plot_counts_patients_as_its_table():
    res = run_plan(PLAN, figures=True)
    a = res.analyses["tdc"]
    texts = [t.get_text() for _n, fig in a.figures for ax in fig.axes for t in ax.texts]
    heading = [t for t in texts if t.startswith("n = ")]
    assert heading == [f"n = {a.summary['n']}, events = {a.summary['events']}"]
    assert a.result.n != a.summary["n"]      # before: the split rows ("n = 76")
