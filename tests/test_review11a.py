"""Review 11, part A: the concordance of a clustered Cox fit (F1), Fine-Gray terms that
diverge together with a time-varying copy (F4) and the note of a blank log-log interval
at S = 1 (F7a). Reference values from the committed R scripts
tests/reference/concordance_cluster.R, finegray_cov2_diverging.R and
km_loglog_no_event.R (the suite itself does not need R)."""

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from aplcohort.cli import main
from aplcohort.errors import PlanError
from aplcohort.plan.spec import parse_analysis
from aplcohort.stats import concordance, coxph, fine_gray, kaplan_meier, shapes

REF = Path(__file__).resolve().parent / "reference"
AB = pd.read_csv(REF / "data" / "review11_ab.csv")
CONC = json.loads((REF / "concordance_cluster.json").read_text())
FG = json.loads((REF / "finegray_cov2_diverging.json").read_text())
KMR = json.loads((REF / "km_loglog_no_event.json").read_text())
COV = dict(covariates=["age", "sex", "grp"], categorical=["grp"])


def _run_plan(tmp_path, analyses, endpoints):
    """A plan on the review data (``sex`` renamed ``male``: the dictionary's sex is M/F)."""
    csv = tmp_path / "ab.csv"
    AB.rename(columns={"sex": "male"}).to_csv(csv, index=False)
    plan = {"plan": "r11a", "data": {"source": str(csv)}, "endpoints": endpoints,
            "output": {"tables": ["csv"]},
            "analyses": [{"figure": False, **a} for a in analyses]}
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(plan), encoding="utf-8")
    out = tmp_path / "out"
    assert main(["run", str(path), "--out", str(out)]) == 0
    return json.loads((out / "results.json").read_text()), out


# ------------------------------------------------------------------------------ F1
def _fit(case):
    kw = dict(COV)
    data = AB
    if case != "no_cluster" and case != "robust_no_cluster":
        kw["cluster"] = "cl"
    if case == "robust_no_cluster":
        kw["robust"] = True
    if case == "cluster_breslow":
        kw["ties"] = "breslow"
    if case == "cluster_strata":
        kw["strata"] = "st"
    if case == "cluster_weights":
        kw["weights"] = "w"
    if case == "cluster_entry":
        data = AB[AB["time"] > 0]
        kw["entry"] = "entry"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return coxph(data, time="time", event="event", **kw)


@pytest.mark.parametrize("case", ["cluster", "no_cluster", "cluster_breslow", "cluster_strata",
                                  "cluster_weights", "cluster_entry", "robust_no_cluster"])
def test_concordance_se_of_a_clustered_fit_is_r_grouped_jackknife(case):
    ref = CONC[case]
    c = concordance(_fit(case))
    row = c.table.iloc[0]
    np.testing.assert_allclose(row["concordance"], ref["concordance"], rtol=1e-6)
    np.testing.assert_allclose(row["std_err"], ref["std_err"], rtol=1e-6)
    np.testing.assert_allclose(row[["concordant", "discordant", "tied_x", "tied_y",
                                    "tied_xy"]].to_numpy(float), ref["count"], rtol=1e-6)
    z = 1.959963984540054
    np.testing.assert_allclose([row["lower"], row["upper"]],
                               [ref["concordance"] - z * ref["std_err"],
                                ref["concordance"] + z * ref["std_err"]], rtol=1e-6)
    grouped = case.startswith("cluster")
    assert c.choices["std_err"].startswith("grouped") is grouped
    if grouped:
        assert "'cl'" in c.choices["std_err"]
    if case == "cluster_strata":
        per = c.table.set_index("strata")
        for lev, r in ref["per_stratum"].items():
            np.testing.assert_allclose(per.loc[lev, "concordance"], r["concordance"], rtol=1e-6)
            np.testing.assert_allclose(per.loc[lev, "std_err"], r["std_err"], rtol=1e-6)


def test_the_clustered_se_differs_from_the_unclustered_one():
    # the audit's numbers: 0.07163 with the clusters, 0.06704 without (R)
    assert CONC["cluster"]["std_err"] > CONC["no_cluster"]["std_err"] * 1.05
    se = concordance(_fit("cluster")).table["std_err"].iloc[0]
    assert abs(se - CONC["no_cluster"]["std_err"]) > 1e-3


def test_plan_concordance_table_and_report_carry_the_clustered_se(tmp_path):
    doc, out = _run_plan(tmp_path, [
        {"id": "cx", "kind": "cox", "endpoint": "os", "covariates": ["age", "male", "grp"],
         "categorical": {"grp": "A"}, "cluster": "cl", "concordance": True}],
        {"os": {"time": "time", "event": "event"}})
    a = doc["analyses"]["cx"]
    ref = CONC["cluster"]
    np.testing.assert_allclose(a["concordance"][0]["std_err"], ref["std_err"], rtol=1e-6)
    assert a["concordance_std_err"].startswith("grouped infinitesimal jackknife")
    tab = pd.read_csv(out / "tables" / "cx__concordance.csv")
    np.testing.assert_allclose(tab["std_err"].iloc[0], ref["std_err"], rtol=1e-6)
    np.testing.assert_allclose(tab["lower"].iloc[0],
                               ref["concordance"] - 1.959963984540054 * ref["std_err"], rtol=1e-6)
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "SE and CI grouped by cluster &#x27;cl&#x27;" in html or \
        "SE and CI grouped by cluster 'cl'" in html
    assert "0.56" in html and "0.84" in html        # R's CI 0.560-0.841 (was 0.57-0.83)


# ------------------------------------------------------------------------------ F4
def _fg(max_iter):
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        r = fine_gray(AB, time="time", code="code", cov2=["sex"], tf="step(5)",
                      max_iter=max_iter, **COV)
    return r, [str(x.message) for x in w]


@pytest.mark.parametrize("maxiter", [10, 25])
def test_finegray_pair_diverging_together_leaves_the_other_terms(maxiter):
    ref = FG[f"maxiter{maxiter}"]
    assert FG["events_cause1_sex1_before5"] == 0 and FG["events_cause1_sex0_before5"] > 0
    r, msgs = _fg(maxiter)
    assert r.converged is ref["converged"]
    # the same iterates as crr (every coefficient; the SEs of the finite terms below; those
    # of the diverging pair are meaningless, computed at a nearly singular information)
    np.testing.assert_allclose(r.fit.coef, ref["coef"], rtol=1e-5)
    t = r.terms.set_index("term")
    assert list(t.index) == ["age", "sex", "grpB", "sex*step(5)"]
    for j, name in ((0, "age"), (2, "grpB")):
        assert t.loc[name, "estimable"]
        np.testing.assert_allclose(t.loc[name, "coef"], ref["coef"][j], rtol=1e-5)
        np.testing.assert_allclose(t.loc[name, "se"], ref["se"][j], rtol=1e-5)
        assert t.loc[name, "note"] == ""
    for name, other in (("sex", "sex*step(5)"), ("sex*step(5)", "sex")):
        assert not t.loc[name, "estimable"]
        assert np.isnan(t.loc[name, ["coef", "se", "estimate", "p"]].to_numpy(float)).all()
        note = t.loc[name, "note"]
        assert note.startswith(f"coefficient may be infinite together with {other!r}")
        assert "no events of cause 1 with sex = 1 at the cause-1 event times 0 and 1, i.e. " \
               "every one before 5" in note
        assert "no maximum" not in note
    assert any("may be infinite" in m for m in msgs)


def test_finegray_without_the_time_varying_term_is_unchanged():
    ref = FG["no_cov2"]
    r = fine_gray(AB, time="time", code="code", **COV)
    assert r.converged and r.terms["estimable"].all()
    np.testing.assert_allclose(r.terms["coef"], ref["coef"], rtol=1e-5)
    np.testing.assert_allclose(r.terms["se"], ref["se"], rtol=1e-5)


def test_plan_finegray_max_iter_and_the_pair(tmp_path):
    ep = {"cr": {"time": "time", "code": "code"}}
    base = {"kind": "finegray", "endpoint": "cr", "covariates": ["age", "male", "grp"],
            "categorical": {"grp": "A"}, "cov2": {"male": "step(5)"}}
    doc, out = _run_plan(tmp_path, [{"id": "f10", **base}, {"id": "f25", **base, "max_iter": 25}],
                         ep)
    for aid, ref in (("f10", FG["maxiter10"]), ("f25", FG["maxiter25"])):
        a = doc["analyses"][aid]
        assert a["status"] == "ok"
        assert a.get("converged", True) is ref["converged"]
        terms = {t["term"]: t for t in a["terms"]}
        for j, name in ((0, "age"), (2, "grpB")):
            assert terms[name]["estimable"] is True
            np.testing.assert_allclose(terms[name]["coef"], ref["coef"][j], rtol=1e-5)
        for name in ("male", "male*step(5)"):
            assert terms[name]["estimable"] is False
            assert "no events of cause 1 with male = 1" in terms[name]["note"]
    csv = pd.read_csv(out / "tables" / "f10__terms.csv").set_index("term")
    assert csv.loc["age", "estimable"] and not csv.loc["male", "estimable"]


def test_finegray_two_columns_diverging_only_together_generic_note():
    # a = x + noise and b = noise, no cause-1 event with x = 1: the pseudo-likelihood rises
    # without bound along (-a, +b) while each column alone has a finite optimum. Before,
    # the converged fit (max_iter 30) reported a -16.4 and b +17.3 as estimates.
    rng = np.random.default_rng(3)
    n = 80
    x, noise = rng.integers(0, 2, n), rng.normal(0, 1, n)
    t, code = rng.integers(1, 30, n).astype(float), rng.integers(0, 3, n)
    code[(x == 1) & (code == 1)] = 2
    d = pd.DataFrame(dict(t=t, c=code, a=x + noise, b=noise, z=rng.normal(0, 1, n)))
    z = []
    for mi in (10, 30):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            r = fine_gray(d, time="t", code="c", covariates=["a", "b", "z"], max_iter=mi)
        tt = r.terms.set_index("term")
        assert tt["estimable"].tolist() == [False, False, True]
        assert tt.loc["a", "note"] == ("coefficient may be infinite together with 'b' "
                                       "(monotone pseudo-likelihood: it keeps rising along "
                                       "-1 a + 1 b; too few events)")
        z.append(tt.loc["z", "coef"])
    np.testing.assert_allclose(z[0], z[1], rtol=1e-6)     # z no longer moves


@pytest.mark.parametrize("bad", [0, True, 2.5, "25", None])
def test_plan_finegray_max_iter_is_validated(bad):
    with pytest.raises(PlanError, match="max_iter: must be a whole number >= 1"):
        parse_analysis({"id": "a", "kind": "finegray", "endpoint": "cr",
                        "covariates": ["age"], "max_iter": bad})
    assert parse_analysis({"id": "a", "kind": "finegray", "endpoint": "cr",
                           "covariates": ["age"], "max_iter": 25}).max_iter == 25


# ------------------------------------------------------------------------------ F7a
def _km(conf_type):
    d = pd.DataFrame(KMR["data"])
    return kaplan_meier(d["time"], d["event"], d["grp"], conf_type=conf_type)


@pytest.mark.parametrize("conf_type", ["log-log", "log", "plain"])
def test_km_no_event_interval_note_matches_what_is_shown(conf_type):
    ref = KMR[conf_type]
    a = _km(conf_type).at(ref["time"])
    c = a[a["group"] == "C"].reset_index(drop=True)
    np.testing.assert_allclose(c["estimate"], ref["surv"], rtol=1e-12)
    np.testing.assert_allclose(c["std_err"], ref["std_err"], atol=1e-12)
    for i in range(len(c)):
        lo, hi = ref["lower"][i], ref["upper"][i]
        note = c.loc[i, "note"]
        if lo is None:        # R NA: the log-log interval at S = 1
            assert np.isnan(c.loc[i, "lower"]) and np.isnan(c.loc[i, "upper"])
            assert "is a point" not in note
            assert note.startswith("confidence limits not defined at an estimate of 1")
            assert "log-log interval, computed on log(-log S), is not defined at S = 1" in note
            assert "no event up to this time" in note
        else:                 # 1 to 1: a point interval, said so
            np.testing.assert_allclose([c.loc[i, "lower"], c.loc[i, "upper"]], [lo, hi])
            assert note == shapes.NOTE_SE_ZERO


def test_cumulative_hazard_of_a_no_event_group_is_not_said_to_have_events():
    a = _km("log").cumhaz().at([3, 6.5])
    c = a[a["group"] == "C"]
    assert (c["estimate"] == 0).all() and (c["std_err"] == 0).all()
    assert (c["note"] == shapes.NOTE_SE_ZERO).all()


def test_plan_km_log_log_footnote_gives_the_reason(tmp_path):
    d = pd.DataFrame(KMR["data"])
    csv = tmp_path / "k.csv"
    d.to_csv(csv, index=False)
    plan = {"plan": "k", "data": {"source": str(csv)},
            "endpoints": {"os": {"time": "time", "event": "event"}},
            "output": {"tables": ["csv"]},
            "analyses": [{"id": "ll", "kind": "km", "endpoint": "os", "group": "grp",
                          "conf_type": "log-log", "times": [3, 6.5], "figure": False}]}
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(plan), encoding="utf-8")
    out = tmp_path / "out"
    assert main(["run", str(path), "--out", str(out)]) == 0
    est = pd.read_csv(out / "tables" / "ll__estimates.csv", keep_default_na=False)
    row = est[(est["group"] == "C") & (est["time"] == 6.5)].iloc[0]
    assert row["lower"] == "" and "log-log interval" in row["note"]
    assert "is a point" not in row["note"]
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "confidence limit confidence limits" not in html
    assert "C, 6.50: confidence limits not defined at an estimate of 1" in html
