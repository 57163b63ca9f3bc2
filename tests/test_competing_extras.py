"""Competing-risks extras (issue 16) against R: CIF variances, extend, crr cov2/tf/cengroup,
Fine–Gray on (start, stop] data.

Reference values: ``tests/reference/competing_extras.R`` (cmprsk 2.2-11, survival 3.5-3,
etm 1.1.1) -> ``tests/reference/competing_extras.json``. The R calls are quoted beside
each test.
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from aplcohort.errors import InputError
from aplcohort.stats.competing import cumulative_incidence
from aplcohort.stats.finegray import crr_fit, fine_gray, time_function
from aplcohort.stats.finegray_td import finegray_expand, td_fine_gray

REF_DIR = Path(__file__).parent / "reference"
REF = json.loads((REF_DIR / "competing_extras.json").read_text())
DATA = REF_DIR / "data"
MG = pd.read_csv(DATA / "mgus2_competing.csv")
SIM = pd.read_csv(DATA / "competing_sim.csv")
CS = pd.read_csv(DATA / "competing_extras_crr.csv")
TD = pd.read_csv(DATA / "competing_extras_bmt_td.csv")
BMT = pd.read_csv(DATA / "competing_extras_bmt.csv")

RTOL = 1e-6
RTOL_IT = 1e-5  # iterative fits

CIF_SETS = {
    "mgus2": (MG.etime, MG.event),
    "mgus2_F": (MG.etime[MG.sex == "F"], MG.event[MG.sex == "F"]),
    "sim_A": (SIM.time[SIM.grp == "A"], SIM.code[SIM.grp == "A"]),
    "sim": (SIM.time, SIM.code),
}


# ---------------------------------------------------------------------------
# 1. CIF variances
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(CIF_SETS))
@pytest.mark.parametrize("variance", ["greenwood", "aalen", "ij"])
def test_cif_variance_matches_r(name, variance):
    """greenwood: etm(...)$cov["0 k", "0 k", ]; ij: survfit(Surv(t, factor(code)))$std.err;
    aalen: the Aalen-type recursion written in the R script (aj_aalen)."""
    t, c = CIF_SETS[name]
    res = cumulative_incidence(t.to_numpy(), c.to_numpy(), variance=variance)
    ref = REF["cif_var"][name][variance]
    for k in (1, 2):
        at = res.at(ref["time"])
        at = at[at["cause"] == k]
        np.testing.assert_allclose(at["estimate"], ref["cause"][k - 1]["est"], rtol=RTOL, atol=1e-14)
        np.testing.assert_allclose(at["std_err"], ref["cause"][k - 1]["se"], rtol=RTOL, atol=1e-14)


def test_gray_stays_the_default_and_alternatives_differ():
    t, c = CIF_SETS["sim"]
    base = cumulative_incidence(t, c)
    assert base.variance == "gray" and base.choices["variance"].startswith("Gray")
    times = [5.0, 15.0]
    se = {v: cumulative_incidence(t, c, variance=v).at(times)["std_err"].to_numpy()
          for v in ("gray", "greenwood", "aalen", "ij")}
    np.testing.assert_allclose(base.at(times)["std_err"], se["gray"], rtol=0)
    for v in ("greenwood", "aalen", "ij"):
        assert not np.allclose(se[v], se["gray"], rtol=1e-8), v
    # same point estimates whatever the variance
    np.testing.assert_allclose(cumulative_incidence(t, c, variance="ij").at(times)["estimate"],
                               base.at(times)["estimate"], rtol=1e-12)


def test_alternative_variance_ci_uses_its_std_err():
    t, c = CIF_SETS["mgus2"]
    r = cumulative_incidence(t, c, variance="greenwood", conf_type="plain")
    at = r.at([100.0])
    np.testing.assert_allclose(at["upper"], np.clip(at["estimate"] + 1.959963984540054 * at["std_err"], 0, 1),
                               rtol=1e-9)


def test_variance_is_checked():
    with pytest.raises(InputError, match="variance must be one of"):
        cumulative_incidence([1, 2, 3], [1, 0, 2], variance="delta")


# ---------------------------------------------------------------------------
# 2. extend
# ---------------------------------------------------------------------------
def test_extend_matches_summary_survfit_extend():
    """summary(survfit(Surv(etime, factor(event)) ~ sex), times, extend = TRUE)$pstate."""
    ref = REF["extend"]
    res = cumulative_incidence(MG.etime, MG.event, MG.sex, extend=True)
    at = res.at(sorted(set(ref["times"])))
    for i, (t, s) in enumerate(zip(ref["times"], ref["strata"])):
        g = s.split("=")[1]
        for k, key in ((1, "pstate1"), (2, "pstate2")):
            row = at[(at.group == g) & (at.cause == k) & (at.time == t)]
            np.testing.assert_allclose(row["estimate"], ref[key][i], rtol=RTOL)


def test_default_is_not_estimable_past_followup_as_timepoints():
    """cmprsk::timepoints(cuminc(etime, event, sex), times)$est: NA past a group's follow-up."""
    ref = REF["extend"]
    res = cumulative_incidence(MG.etime, MG.event, MG.sex)
    tx = [100.0, 300.0, 424.0, 425.0, 500.0]
    at = res.at(tx)
    for rowname, vals in ref["timepoints_est"].items():
        g, k = rowname.split()
        sub = at[(at.group == g) & (at.cause == int(k))].sort_values("time")
        for v, (_, r) in zip(vals, sub.iterrows()):
            if v == "NA":
                assert np.isnan(r["estimate"]) and "after the last follow-up" in r["note"]
            else:
                assert r["estimate"] == pytest.approx(v, rel=RTOL) and r["note"] == ""
    ext = res.at(tx, extend=True)
    past = ext[ext.time > 394]
    f = past[past.group == "F"]
    assert f["note"].str.contains("carried forward").all() and f["estimate"].notna().all()


def test_extend_is_checked():
    with pytest.raises(InputError, match="extend must be true or false"):
        cumulative_incidence([1, 2, 3], [1, 0, 2], extend="yes")


# ---------------------------------------------------------------------------
# 3. crr: cov2 / tf, cengroup, predict.crr
# ---------------------------------------------------------------------------
X = CS[["x1", "x2"]].to_numpy(float)
P1 = np.array([[0.0, 0.0], [1.0, 1.0]])
CRR_CASES = {
    # crr(time, code, cov1, cbind(x1), function(u) log(u)); predict(f, prof1, rbind(.5, -1))
    "log": dict(cov2=CS[["x1"]].to_numpy(), tf="log", p2=[[0.5], [-1.0]]),
    "identity": dict(cov2=CS[["x2"]].to_numpy(), tf="identity", p2=[[1.0], [0.0]]),
    # tf = function(u) as.numeric(u >= 5)
    "step": dict(cov2=CS[["x2"]].to_numpy(), tf="step(5)", p2=[[1.0], [0.0]]),
    "cengroup": dict(cengroup=CS.cg.to_numpy()),
    "cengroup_log": dict(cov2=CS[["x1"]].to_numpy(), tf="log", cengroup=CS.cg.to_numpy(),
                         p2=[[0.5], [-1.0]]),
    "cause2_cengroup": dict(cengroup=CS.cg.to_numpy(), cause=2),
    "plain": dict(),
}


@pytest.mark.parametrize("case", sorted(CRR_CASES))
def test_crr_cov2_cengroup_match_r(case):
    kw = dict(CRR_CASES[case])
    p2 = kw.pop("p2", None)
    cause = kw.pop("cause", 1)
    f = crr_fit(CS.time, CS.code, X, cause=cause, **kw)
    ref = REF["crr"][case]
    assert f.converged and ref["converged"]
    np.testing.assert_allclose(f.coef, ref["coef"], rtol=RTOL_IT)
    np.testing.assert_allclose(f.var, ref["var"], rtol=RTOL_IT)
    assert f.loglik == pytest.approx(ref["loglik"], rel=RTOL_IT)
    assert f.loglik_null == pytest.approx(ref["loglik_null"], rel=RTOL)
    np.testing.assert_allclose(f.uftime, ref["uftime"], rtol=0)
    np.testing.assert_allclose(f.bfitj, ref["bfitj"], rtol=RTOL_IT)
    Z = P1 if p2 is None else np.hstack([P1, np.asarray(p2)])
    np.testing.assert_allclose(f.predict(Z), ref["predict"], rtol=RTOL_IT)


def test_crr_cov2_without_cov1_matches_r():
    """crr(time, code, cov2 = cbind(x1), tf = log); predict(f, cov2 = 0.5)."""
    f = crr_fit(CS.time, CS.code, np.zeros((len(CS), 0)), cov2=CS[["x1"]].to_numpy(), tf="log")
    ref = REF["crr"]["cov2_only"]
    np.testing.assert_allclose(f.coef, ref["coef"], rtol=RTOL_IT)
    np.testing.assert_allclose(f.var, ref["var"], rtol=RTOL_IT)
    np.testing.assert_allclose(f.bfitj, ref["bfitj"], rtol=RTOL_IT)
    np.testing.assert_allclose(f.predict([[0.5]])[:, 0], ref["predict"], rtol=RTOL_IT)


def test_general_path_with_one_censoring_group_equals_fast_path():
    fast = crr_fit(CS.time, CS.code, X)
    general = crr_fit(CS.time, CS.code, X, cengroup=np.zeros(len(CS)))
    np.testing.assert_allclose(general.coef, fast.coef, rtol=1e-10)
    np.testing.assert_allclose(general.var, fast.var, rtol=1e-9)
    np.testing.assert_allclose(general.bfitj, fast.bfitj, rtol=1e-9)


def test_fine_gray_frontend_names_cov2_terms_and_predicts():
    r = fine_gray(CS, time="time", code="code", covariates=["x1", "x2"], cov2=["x1"], tf="log",
                  cengroup="cg")
    ref = REF["crr"]["cengroup_log"]
    assert r.terms["term"].tolist() == ["x1", "x2", "x1*log(t)"]
    np.testing.assert_allclose(r.terms["coef"], ref["coef"], rtol=RTOL_IT)
    np.testing.assert_allclose(r.terms["se"], np.sqrt(np.diag(ref["var"])), rtol=RTOL_IT)
    # a column in both cov1 and cov2: the profile's value is used in both (predict.crr(cov1, cov2))
    pr = r.predict(pd.DataFrame({"x1": [0.5, -1.0], "x2": [0.0, 1.0]}))
    f = r.fit.predict(np.array([[0.5, 0.0, 0.5], [-1.0, 1.0, -1.0]]))
    np.testing.assert_allclose(pr["estimate"].to_numpy(), f.T.ravel(), rtol=1e-12)
    assert r.choices["cov2"] == {"x1": "log"} and r.choices["cengroup"] == "cg"


def test_time_functions_are_names_only():
    f, lab = time_function("step(2.5)")
    assert f(np.array([2.0, 2.5])).tolist() == [0.0, 1.0] and lab == "step(2.5)"
    for bad in ("exp", "lambda t: t", "__import__('os')", "step(a)"):
        with pytest.raises(InputError, match="unknown time function"):
            time_function(bad)
    with pytest.raises(InputError, match="chosen by name"):
        time_function(np.log)
    with pytest.raises(InputError, match="cov2 needs tf"):
        fine_gray(CS, time="time", code="code", covariates=["x1"], cov2=["x2"])
    with pytest.raises(InputError, match="give cov2"):
        fine_gray(CS, time="time", code="code", covariates=["x1"], tf="log")
    with pytest.raises(InputError, match="log\\(0\\)"):
        crr_fit([0.0, 1.0, 2.0, 3.0], [1, 1, 0, 2], np.zeros((4, 0)), cov2=[[1.0], [0.0], [1.0], [0.0]],
                tf="log")


# ---------------------------------------------------------------------------
# 4. Fine-Gray on (start, stop] data: finegray() + weighted coxph
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("cause,key", [(1, "fg_relapse"), (2, "fg_death")])
def test_finegray_expansion_matches_r(cause, key):
    """finegray(Surv(tstart, tstop, evf) ~ gvhd + z1 + group + id, data = td, id = id, etype)."""
    fg = finegray_expand(TD, stop="tstop", code="ev", cause=cause, start="tstart", id="id")
    ref = REF["td_finegray"][key]
    assert len(fg) == len(ref["id"])
    np.testing.assert_array_equal(fg["id"], ref["id"])
    for c in ("fgstart", "fgstop", "fgstatus"):
        np.testing.assert_array_equal(fg[c].to_numpy(float), np.asarray(ref[c], float))
    np.testing.assert_allclose(fg["fgwt"], ref["fgwt"], rtol=1e-12)


def test_finegray_expansion_right_censored_matches_r():
    """finegray(Surv(etime, evf) ~ sex + age + id, data = mgus2, etype = "pcm")."""
    fg = finegray_expand(MG, stop="etime", code="event", cause=1)
    ref = REF["td_finegray"]["mgus2_fg"]
    assert len(fg) == len(ref["id"])
    np.testing.assert_array_equal(fg["id"], ref["id"])
    np.testing.assert_allclose(fg["fgstop"], ref["fgstop"], rtol=0)
    np.testing.assert_allclose(fg["fgwt"], ref["fgwt"], rtol=1e-12)


def _td(**kw):
    d = TD.assign(group=TD.group.astype(str))
    return td_fine_gray(d, time="tstop", code="ev", start="tstart", id="id", exposure="gvhd",
                        covariates=["gvhd", "z1", "group"], categorical={"group": "1"}, **kw)


@pytest.mark.parametrize("kw,key", [({}, "relapse"), ({"cluster": True}, "relapse_cluster"),
                                    ({"ties": "breslow"}, "relapse_breslow")])
def test_td_fine_gray_matches_weighted_coxph(kw, key):
    """coxph(Surv(fgstart, fgstop, fgstatus) ~ gvhd + z1 + factor(group), weights = fgwt,
    data = fg [, cluster = id] [, ties = "breslow"]): coef, robust SE (fit$var, what R reports),
    model SE (fit$naive.var)."""
    r = _td(**kw)
    ref = REF["td_finegray"][key]
    assert r.terms["term"].tolist() == ["gvhd", "z1", "group2", "group3"]
    np.testing.assert_allclose(r.terms["coef"], ref["coef"], rtol=RTOL_IT)
    np.testing.assert_allclose(r.terms["robust_se"], np.sqrt(np.diag(ref["var"])), rtol=RTOL_IT)
    np.testing.assert_allclose(r.terms["se"], np.sqrt(np.diag(ref["naive_var"])), rtol=RTOL_IT)
    assert r.variance == "robust"
    assert (r.n, r.events, r.scale, r.kind) == (137, 42, "SHR", "td_finegray")
    assert r.choices["expanded rows"] == len(REF["td_finegray"]["fg_relapse"]["id"])


def test_td_fine_gray_other_cause_and_right_censored():
    r = td_fine_gray(TD, time="tstop", code="ev", start="tstart", id="id", exposure="gvhd",
                     covariates=["z1"], cause=2)
    ref = REF["td_finegray"]["death"]
    np.testing.assert_allclose(r.terms["coef"], ref["coef"], rtol=RTOL_IT)
    np.testing.assert_allclose(r.terms["robust_se"], np.sqrt(np.diag(ref["var"])), rtol=RTOL_IT)


def test_td_fine_gray_splits_one_row_per_patient_as_tmerge():
    """One row per patient + exposure time gives R's tmerge(tdc(agvhd)) result."""
    b = BMT.assign(group=BMT.group.astype(str))
    r = td_fine_gray(b, time="t2", code="status", id="id", exposure_time="agvhd", exposure="gvhd",
                     covariates=["z1", "group"], categorical={"group": "1"})
    ref = REF["td_finegray"]["relapse"]
    np.testing.assert_allclose(r.terms["coef"], ref["coef"], rtol=RTOL_IT)
    np.testing.assert_allclose(r.terms["robust_se"], np.sqrt(np.diag(ref["var"])), rtol=RTOL_IT)
    assert r.choices["cause"] == 1 and "rows as units" in r.choices["variance"]


def test_finegray_expand_rejects_what_it_cannot_do():
    d = pd.DataFrame({"id": [1, 1, 2], "a": [0.0, 2.0, 0.0], "b": [2.0, 5.0, 4.0], "c": [1, 0, 2]})
    with pytest.raises(InputError, match="event before their last interval"):
        finegray_expand(d, stop="b", code="c", start="a", id="id")
    gap = pd.DataFrame({"id": [1, 1, 2], "a": [0.0, 3.0, 0.0], "b": [2.0, 5.0, 4.0], "c": [0, 1, 2]})
    with pytest.raises(InputError, match="gaps"):
        finegray_expand(gap, stop="b", code="c", start="a", id="id")
    late = pd.DataFrame({"id": [1, 2], "a": [5.0, 0.0], "b": [6.0, 4.0], "c": [1, 2]})
    with pytest.raises(InputError, match="delayed entry"):
        finegray_expand(late, stop="b", code="c", start="a", id="id")
    with pytest.raises(InputError, match="cause=3 does not occur"):
        finegray_expand(d.assign(c=[0, 1, 2]), stop="b", code="c", start="a", id="id", cause=3)
    with pytest.raises(InputError, match="id= .* is required"):
        td_fine_gray(d, time="b", code="c", start="a")


def test_finegray_weights_hand_example():
    """Hand-worked (and R: finegray(Surv(t, factor(c, 0:2)) ~ ., data = d) prints the same).

    Censoring KM G: at 3, 4 at risk (3, 4, 5, 6) -> 3/4; at 5, 2 at risk -> 3/4 * 1/2 = 3/8.
    The competing failure at 2 is extended to the end of its censoring interval (3, weight
    1), then one row per later censoring interval holding a cause-1 failure: (3, 5] with
    weight 3/4 (failure at 4) and (5, 6] with weight 3/8 (failure at 6)."""
    d = pd.DataFrame({"t": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0], "c": [1, 2, 0, 1, 0, 1]})
    fg = finegray_expand(d, stop="t", code="c")
    assert len(fg) == 8
    comp = fg[fg["c"] == 2]
    assert comp[["fgstart", "fgstop"]].values.tolist() == [[0.0, 3.0], [3.0, 5.0], [5.0, 6.0]]
    np.testing.assert_allclose(comp["fgwt"], [1.0, 3 / 4, 3 / 8], rtol=1e-15)
    assert fg["fgstatus"].tolist() == [1, 0, 0, 0, 0, 1, 0, 1]


# ---------------------------------------------------------------------------
# plans: the new keys and kind give the Python API's numbers
# ---------------------------------------------------------------------------
def test_plan_keys_equal_python_api(tmp_path):
    import yaml

    from aplcohort import run_plan

    src = Path(__file__).parent / "data" / "public" / "bmt.csv"
    plan = {"plan": "competing-extras", "data": {"source": str(src)},
            "endpoints": {"relapse": {"time": "t2", "code": "status", "unit": "days"}},
            "analyses": [
                {"id": "cif_ij", "kind": "cif", "endpoint": "relapse", "group": "group",
                 "variance": "ij", "times": [365, 730, 5000], "extend": True},
                {"id": "fg_cov2", "kind": "finegray", "endpoint": "relapse",
                 "covariates": ["group", "z1"], "categorical": {"group": 1},
                 "cov2": {"z1": "log"}, "cengroup": "z8"},
                {"id": "td_fg", "kind": "td_finegray", "endpoint": "relapse", "exposure": "ta",
                 "covariates": ["z1", "group"], "categorical": {"group": 1}, "cluster": True}]}
    (tmp_path / "p.yaml").write_text(yaml.safe_dump(plan))
    run_plan(tmp_path / "p.yaml", out=tmp_path / "out", figures=False)
    doc = json.loads((tmp_path / "out" / "results.json").read_text())["analyses"]

    d = pd.read_csv(src)
    d["group"] = d["group"].astype(str)
    cif = cumulative_incidence(d.t2, d.status, d.group, variance="ij", extend=True)
    at = cif.at([365, 730, 5000])
    at = at[(at.group == "1") & (at.cause == 1)]
    got = doc["cif_ij"]["groups"]["1"]["at"]
    np.testing.assert_allclose([g["estimate"] for g in got], at["estimate"], rtol=1e-12)
    np.testing.assert_allclose([g["std_err"] for g in got], at["std_err"], rtol=1e-12)
    assert "carried forward" in got[-1]["note"] and doc["cif_ij"]["variance"] == "ij"

    cc = d[d["z1"].notna()].reset_index(drop=True)
    fg = fine_gray(cc, time="t2", code="status", covariates=["group", "z1"],
                   categorical={"group": "1"}, cov2=["z1"], tf="log", cengroup="z8")
    terms = doc["fg_cov2"]["terms"]
    assert [t["term"] for t in terms] == fg.terms["term"].tolist() == ["group2", "group3", "z1",
                                                                        "z1*log(t)"]
    np.testing.assert_allclose([t["coef"] for t in terms], fg.terms["coef"], rtol=1e-12)
    np.testing.assert_allclose([t["se"] for t in terms], fg.terms["se"], rtol=1e-12)
    assert doc["fg_cov2"]["n"] == len(cc) == len(d) - 6

    cc["pid"] = np.arange(len(cc))
    td = td_fine_gray(cc, time="t2", code="status", id="pid", exposure_time="ta",
                      covariates=["z1", "group"], categorical={"group": "1"}, cluster=True)
    terms = doc["td_fg"]["terms"]
    assert [t["term"] for t in terms] == td.terms["term"].tolist()
    np.testing.assert_allclose([t["coef"] for t in terms], td.terms["coef"], rtol=1e-12)
    np.testing.assert_allclose([t["robust_se"] for t in terms], td.terms["robust_se"], rtol=1e-12)
    assert doc["td_fg"]["n"] == len(cc) and doc["td_fg"]["events"] == int((cc.status == 1).sum())


# ---------------------------------------------------------------------------
# invariants (hypothesis)
# ---------------------------------------------------------------------------
from hypothesis import assume, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@st.composite
def _cohorts(draw, causes=(0, 1, 2)):
    n = draw(st.integers(3, 30))
    t = draw(st.lists(st.integers(1, 12), min_size=n, max_size=n))
    c = draw(st.lists(st.sampled_from(causes), min_size=n, max_size=n))
    return np.asarray(t, float), np.asarray(c)


@settings(max_examples=60, deadline=None)
@given(_cohorts(causes=(0, 1)))
def test_one_cause_greenwood_is_greenwood_of_one_minus_km(data):
    """With a single cause F = 1 - S, and the Greenwood-type variance of F is Greenwood's
    formula S^2 sum d / (Y (Y - d)) (worked by hand from the recursion)."""
    t, c = data
    assume((c == 1).any())
    res = cumulative_incidence(t, c, variance="greenwood")
    ut = np.unique(t[c == 1])
    s, gw = 1.0, 0.0
    for u in ut:
        y = (t >= u).sum()
        d = ((t == u) & (c == 1)).sum()
        s *= 1 - d / y
        gw += d / (y * (y - d)) if y > d else np.inf
        row = res.at([u])
        assert row["estimate"].item() == pytest.approx(1 - s, abs=1e-12)
        if np.isfinite(gw) and s > 0:
            assert row["std_err"].item() == pytest.approx(s * np.sqrt(gw), rel=1e-9, abs=1e-12)


@settings(max_examples=60, deadline=None)
@given(_cohorts())
def test_variances_share_the_estimate_and_are_nonnegative(data):
    t, c = data
    assume((c > 0).any())
    times = np.arange(0.0, 13.0)
    ref = cumulative_incidence(t, c).at(times)
    for v in ("greenwood", "aalen", "ij"):
        at = cumulative_incidence(t, c, variance=v).at(times)
        np.testing.assert_allclose(at["estimate"], ref["estimate"], rtol=1e-12, atol=1e-14)
        se = at["std_err"].to_numpy()
        assert np.all(se[np.isfinite(se)] >= 0)
        # causes sum to 1 - KM (any cause) whatever the variance
        tot = at.groupby("time")["estimate"].sum(min_count=1)
        km = [np.prod([1 - ((t == u) & (c > 0)).sum() / (t >= u).sum()
                       for u in np.unique(t[c > 0]) if u <= x]) for x in tot.index]
        ok = np.isfinite(tot.to_numpy())
        np.testing.assert_allclose(tot.to_numpy()[ok], 1 - np.asarray(km)[ok], atol=1e-12)
