"""Tests of aplcohort.stats.competing: cumulative incidence and Gray's test.

Reference values: tests/reference/competing.R (cmprsk 2.2-11, survival 3.5-3)
-> tests/reference/competing.json, inputs in tests/reference/data/.
"""

from __future__ import annotations

import dataclasses
import json
from fractions import Fraction as Fr
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy import stats as sst

from aplcohort.errors import InputError, StatisticalWarning
from aplcohort.stats.competing import cumulative_incidence, gray_test, pairwise_gray

REF = Path(__file__).parent / "reference"
R = json.loads((REF / "competing.json").read_text())
MG = pd.read_csv(REF / "data" / "mgus2_competing.csv")
SIM = pd.read_csv(REF / "data" / "competing_sim.csv")
HAND = pd.read_csv(REF / "data" / "competing_hand.csv")
RTOL = 1e-6


def _num(v):
    return np.array([np.nan if x in ("NA", None) else x for x in v], dtype=float)


def _r_dedup(t, e, v):
    """cmprsk's corner vectors (0, t1, t1, ..., tK, tK, tmax) -> our rows."""
    t, e, v = np.asarray(t, float), np.asarray(e, float), np.asarray(v, float)
    k = (len(t) - 2) // 2
    jt, je, jv = t[2:2 * k + 1:2], e[2:2 * k + 1:2], v[2:2 * k + 1:2]
    T, E, V = list(jt), list(je), list(jv)
    if k == 0 or jt[0] > 0:
        T, E, V = [0.0] + T, [0.0] + E, [0.0] + V
    if k == 0 or t[-1] > jt[-1]:
        T.append(t[-1]), E.append(e[-1]), V.append(v[-1])
    return np.array(T), np.array(E), np.array(V)


def _gname(g):
    return "1" if g == "all" else str(g)


def _check_against_r(res, block):
    """Compare every curve and the timepoints with cmprsk."""
    tab = res.table.assign(gs=[_gname(g) for g in res.table.group])
    assert len(block["curves"]) == len(res.groups) * len(res.causes)
    for c in block["curves"]:
        g, cause = c["name"].rsplit(" ", 1)
        T, E, V = _r_dedup(c["time"], c["est"], c["var"])
        sub = tab[(tab.cause == int(cause)) & (tab.gs == g)]
        np.testing.assert_array_equal(sub.time.to_numpy(), T)
        np.testing.assert_allclose(sub.estimate.to_numpy(), E, rtol=RTOL, atol=1e-14)
        np.testing.assert_allclose((sub.std_err.to_numpy() ** 2), V, rtol=RTOL, atol=1e-14)
    tp = block["timepoints"]
    at = res.at(tp["times"])
    at = at.assign(gs=[_gname(g) for g in at.group])
    for nm, e, v in zip(tp["names"], tp["est"], tp["var"]):
        g, cause = nm.rsplit(" ", 1)
        s = at[(at.cause == int(cause)) & (at.gs == g)]
        np.testing.assert_array_equal(s.time.to_numpy(), tp["times"])
        np.testing.assert_allclose(s.estimate.to_numpy(), _num(e), rtol=RTOL, atol=1e-14)
        np.testing.assert_allclose((s.std_err.to_numpy() ** 2), _num(v), rtol=RTOL, atol=1e-14)


# ---------------------------------------------------------------- hand cohort
# time: 1 2 2 2 3 4 4 5 6 6 ; code: 1 1 2 0 0 1 2 0 1 0   (n = 10)
# t=1: 10 at risk, 1 cause-1 death: F1 = 1/10, S = 9/10
# t=2: 9 at risk, one of each cause (+1 censored): F1 += 9/10 * 1/9, F2 = 1/10, S = 7/10
# t=3: censored (6 at risk)
# t=4: 5 at risk, one of each cause: F1 += 7/10 * 1/5 = 7/50, F2 += 7/50, S = 21/50
# t=5: censored
# t=6: 2 at risk, one cause-1 death: F1 += 21/50 * 1/2, S = 21/100
HAND_F1 = {1: Fr(1, 10), 2: Fr(2, 10), 3: Fr(2, 10), 4: Fr(17, 50), 5: Fr(17, 50), 6: Fr(11, 20)}
HAND_F2 = {1: Fr(0), 2: Fr(1, 10), 3: Fr(1, 10), 4: Fr(6, 25), 5: Fr(6, 25), 6: Fr(6, 25)}
HAND_S = {1: Fr(9, 10), 2: Fr(7, 10), 3: Fr(7, 10), 4: Fr(21, 50), 5: Fr(21, 50), 6: Fr(21, 100)}


def test_hand_cohort_exact_fractions():
    res = cumulative_incidence(HAND.time, HAND.code)
    at = res.at([1, 2, 3, 4, 5, 6])
    f1 = at[at.cause == 1].estimate.to_numpy()
    f2 = at[at.cause == 2].estimate.to_numpy()
    np.testing.assert_allclose(f1, [float(HAND_F1[t]) for t in range(1, 7)], rtol=1e-14)
    np.testing.assert_allclose(f2, [float(HAND_F2[t]) for t in range(1, 7)], rtol=1e-14, atol=0)
    for t in range(1, 7):  # F1 + F2 + S = 1 exactly
        assert HAND_F1[t] + HAND_F2[t] + HAND_S[t] == 1
    # Gray's variance at the first jump, by hand from cmprsk's cinc recursion:
    # fk=1, fkn=9/10, f=1/10, t6=1/100, t3=10/9, t4=1+t3 f=10/9
    # v1=v2=v3=(10/9)^2/100 = 1/81 -> v = 1/81 (1 + f^2 - 2 f) = 1/100
    assert at[(at.cause == 1) & (at.time == 1)].std_err.item() ** 2 == pytest.approx(0.01, rel=1e-13)
    # rows: time 0, the jump times of the cause, the largest follow-up time
    assert res.table[res.table.cause == 1].time.tolist() == [0, 1, 2, 4, 6]
    assert res.table[res.table.cause == 2].time.tolist() == [0, 2, 4, 6]


def test_hand_cohort_against_cmprsk():
    # cuminc(hand$time, hand$code); timepoints(., c(0, 0.5, 1, 2, 3.5, 6, 7))
    _check_against_r(cumulative_incidence(HAND.time, HAND.code), R["hand"])


def test_hand_median():
    med = cumulative_incidence(HAND.time, HAND.code).median()
    assert list(med.columns) == ["group", "cause", "n", "events", "median", "lower", "upper",
                                 "note"]
    assert med[med.cause == 1]["median"].item() == 6  # F1 first >= 0.5 at t = 6 (11/20)
    assert np.isnan(med[med.cause == 2]["median"].item())  # F2 never reaches 0.5
    assert med[med.cause == 2]["note"].item() == "not reached"
    # F1's upper confidence band never reaches 0.5: that limit is NaN, with its reason
    assert np.isnan(med[med.cause == 1]["upper"].item())
    assert med[med.cause == 1]["note"].item() == "upper confidence limit not reached"


# ---------------------------------------------------------------- R references
def test_mgus2_no_groups():
    # cuminc(mg$etime, mg$event); timepoints(., c(0, 12, 60, 120, 240, 400, 500))
    _check_against_r(cumulative_incidence(MG.etime, MG.event), R["mgus_all"])


def test_mgus2_by_sex():
    # cuminc(mg$etime, mg$event, mg$sex)
    res = cumulative_incidence(MG.etime, MG.event, MG.sex)
    assert res.groups == ("F", "M")
    _check_against_r(res, R["mgus_sex_curves"])


def test_simulated_three_groups_with_ties():
    # cuminc(sim$time, sim$code, sim$grp); timepoints(., c(0, 1, 5, 10, 15, 20, 39, 50))
    _check_against_r(cumulative_incidence(SIM.time, SIM.code, SIM.grp), R["sim_curves"])


@pytest.mark.parametrize("conf_type", ["log-log", "log", "plain"])
def test_confidence_intervals_formula(conf_type):
    # CI from cmprsk's variance: log-log est^exp(+-z se/(est log est)), log est exp(+-z se/est),
    # plain est +- z se (clipped to [0, 1])
    blk = R["mgus_sex_curves"]["timepoints"]
    res = cumulative_incidence(MG.etime, MG.event, MG.sex, conf_type=conf_type, conf_level=0.9)
    at = res.at(blk["times"])
    z = sst.norm.ppf(0.95)
    for nm, e, v in zip(blk["names"], blk["est"], blk["var"]):
        g, cause = nm.split(" ")
        e, v = _num(e), _num(v)
        ok = np.isfinite(e) & (e > 0)
        e, se = e[ok], np.sqrt(v[ok])
        if conf_type == "log-log":
            lo, hi = e ** np.exp(-z * se / (e * np.log(e))), e ** np.exp(z * se / (e * np.log(e)))
        elif conf_type == "log":
            lo, hi = e * np.exp(-z * se / e), np.minimum(e * np.exp(z * se / e), 1)
        else:
            lo, hi = np.clip(e - z * se, 0, 1), np.clip(e + z * se, 0, 1)
        s = at[(at.group == g) & (at.cause == int(cause))]
        np.testing.assert_allclose(s.lower.to_numpy()[ok], lo, rtol=RTOL)
        np.testing.assert_allclose(s.upper.to_numpy()[ok], hi, rtol=RTOL)
        assert np.all(s.lower.to_numpy()[ok] <= s.estimate.to_numpy()[ok])
        assert np.all(s.upper.to_numpy()[ok] >= s.estimate.to_numpy()[ok])


def _gray_cases():
    for blk, data, t, c, g, s in [("mgus_sex", MG, "etime", "event", "sex", "agegrp"),
                                  ("sim", SIM, "time", "code", "grp", "st")]:
        for r in R[blk]:
            for k, cause in enumerate(r["tests"]["cause"]):
                yield pytest.param(blk, data, t, c, g, s, r, k, int(cause),
                                   id=f"{blk}-rho{r['rho']}-cause{cause}")


@pytest.mark.parametrize("blk,data,t,c,g,s,r,k,cause", list(_gray_cases()))
def test_gray_against_cmprsk(blk, data, t, c, g, s, r, k, cause):
    # cuminc(time, code, group, rho = r)$Tests  and  cuminc(..., strata = s)$Tests
    res = gray_test(data[t], data[c], data[g], cause=cause, rho=r["rho"])
    np.testing.assert_allclose(res.statistic, r["tests"]["stat"][k], rtol=RTOL)
    np.testing.assert_allclose(res.p, r["tests"]["pv"][k], rtol=RTOL)
    assert res.df == r["tests"]["df"][k]
    res = gray_test(data[t], data[c], data[g], cause=cause, rho=r["rho"], strata=data[s])
    np.testing.assert_allclose(res.statistic, r["tests_strata"]["stat"][k], rtol=RTOL)
    np.testing.assert_allclose(res.p, r["tests_strata"]["pv"][k], rtol=RTOL)
    assert res.strata == tuple(sorted(data[s].unique()))


def test_gray_does_not_depend_on_group_order():
    a = gray_test(SIM.time, SIM.code, SIM.grp)
    b = gray_test(SIM.time, SIM.code, SIM.grp, order=["C", "A", "B"])
    assert b.groups == ("C", "A", "B")
    np.testing.assert_allclose(a.statistic, b.statistic, rtol=1e-10)


def test_pairwise_gray_against_cmprsk_and_holm():
    # cuminc(time[s], code[s], grp[s])$Tests[1, ] on each pair; holm as p.adjust
    res = pairwise_gray(SIM.time, SIM.code, SIM.grp, adjust="holm")
    assert list(res.table.columns) == ["group1", "group2", "statistic", "df", "p", "p_adj",
                                      "estimable", "note"]
    ref = R["sim_pairwise"]
    assert list(zip(res.table.group1, res.table.group2)) == [(r["g1"], r["g2"]) for r in ref]
    np.testing.assert_allclose(res.table.statistic, [r["stat"] for r in ref], rtol=RTOL)
    np.testing.assert_allclose(res.table.p, [r["pv"] for r in ref], rtol=RTOL)
    # Holm by hand on cmprsk's p-values: sorted p1 < p3 < p2 -> 3 p1, max(3 p1, 2 p3), max(., p2)
    p = [r["pv"] for r in ref]
    holm = [3 * p[0], max(3 * p[0], 2 * p[2], p[1]), max(3 * p[0], 2 * p[2])]
    np.testing.assert_allclose(res.table.p_adj, np.minimum(holm, 1), rtol=RTOL)
    bonf = pairwise_gray(SIM.time, SIM.code, SIM.grp, adjust="bonferroni")
    np.testing.assert_allclose(bonf.table.p_adj, np.minimum(3 * np.array(p), 1), rtol=RTOL)


# ---------------------------------------------------------------- invariants
@st.composite
def cohorts(draw):
    n = draw(st.integers(min_value=1, max_value=40))
    times = draw(st.lists(st.integers(0, 8), min_size=n, max_size=n))  # many ties
    codes = draw(st.lists(st.integers(0, 3), min_size=n, max_size=n))
    if not any(codes):
        codes[0] = 1
    groups = draw(st.lists(st.sampled_from(["a", "b"]), min_size=n, max_size=n))
    return np.array(times, float), np.array(codes), np.array(groups, dtype=object)


def _km(t, event, at):
    """Plain product-limit estimate (ties: all events at t before censorings at t)."""
    out = []
    for x in at:
        s = 1.0
        for u in np.unique(t[(event == 1) & (t <= x)]):
            s *= 1 - ((t == u) & (event == 1)).sum() / (t >= u).sum()
        out.append(s)
    return np.array(out)


@settings(max_examples=60, deadline=None)
@given(cohorts())
def test_cif_plus_km_is_one(data):
    t, code, grp = data
    res = cumulative_incidence(t, code, grp)
    grid = np.unique(np.concatenate([t, t + 0.5, [0.0]]))
    for g in res.groups:
        sel = grp == g
        gt, gc = t[sel], code[sel]
        inside = grid[grid <= gt.max()]
        at = res.at(inside)
        at = at[at.group == g]
        total = at.groupby("time").estimate.sum().to_numpy()
        km = _km(gt, (gc > 0).astype(int), inside)
        np.testing.assert_allclose(total + km, 1.0, rtol=0, atol=1e-12)
        for c in res.causes:
            cur = res.table[(res.table.group == g) & (res.table.cause == c)]
            est = cur.estimate.to_numpy()
            assert np.all(np.diff(est) >= -1e-15) and est.min() >= 0 and est.max() <= 1 + 1e-12
            assert np.all(cur.std_err.to_numpy() >= -1e-15)
            # past the last follow-up time: NaN, as cmprsk::timepoints
            assert np.isnan(res.at([gt.max() + 1]).query("group == @g and cause == @c").estimate.item())


@settings(max_examples=30, deadline=None)
@given(cohorts())
def test_gray_statistic_nonnegative_and_monotone_transform_invariant(data):
    t, code, grp = data
    assume(len(set(grp)) >= 2 and (code == 1).any())
    with _nowarn():
        a = gray_test(t, code, grp)
        b = gray_test(np.exp(t / 3.0), code, grp)  # rank-based: same statistic
    if np.isfinite(a.statistic):
        assert a.statistic >= -1e-10
        np.testing.assert_allclose(a.statistic, b.statistic, rtol=1e-8, atol=1e-10)
    else:
        assert np.isnan(b.statistic)


class _nowarn:
    def __enter__(self):
        import warnings
        self._c = warnings.catch_warnings()
        self._c.__enter__()
        warnings.simplefilter("ignore", StatisticalWarning)

    def __exit__(self, *exc):
        return self._c.__exit__(*exc)


# ---------------------------------------------------------------- result objects
def test_result_object():
    res = cumulative_incidence(MG.etime, MG.event, MG.sex)
    assert res.kind == "cif"
    assert list(res.table.columns) == ["group", "cause", "time", "estimate", "std_err",
                                       "lower", "upper", "n_risk", "n_event", "n_censor"]
    assert list(res.at([12]).columns) == ["group", "cause", "time", "estimate", "std_err",
                                          "lower", "upper", "n_risk", "note"]
    assert list(res.median().columns) == ["group", "cause", "n", "events", "median", "lower",
                                          "upper", "note"]
    # n_risk / n_event / n_censor by direct counting in the data
    t, e, g = MG.etime.to_numpy(), MG.event.to_numpy(), MG.sex.to_numpy()
    for r in res.table.sample(25, random_state=1).itertuples():
        m = g == r.group
        assert r.n_risk == np.sum(m & (t >= r.time))
        assert r.n_event == np.sum(m & (t == r.time) & (e == r.cause))
        assert r.n_censor == np.sum(m & (t == r.time) & (e == 0))
    rt = res.risk_table([0, 12, 1e6])
    for r in rt.itertuples():
        m = g == r.group
        assert r.n_risk == np.sum(m & (t >= r.time))
        assert r.cum_events == np.sum(m & (t <= r.time) & (e > 0))
    past = res.at([1e6])
    assert past["estimate"].isna().all() and (past["note"] != "").all()
    ext = res.at([1e6], extend=True)
    last = res.table.groupby(["group", "cause"])["estimate"].last().to_numpy()
    np.testing.assert_allclose(ext["estimate"].to_numpy(), last, rtol=0)
    assert res.choices["conf_type"] == "log-log" and res.choices["conf_level"] == 0.95
    d = res.to_dict()
    json.dumps(d)
    assert d["kind"] == "cif"
    html = res._repr_html_()
    assert "log-log" in html and "Aalen-Johansen" in html
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.conf_type = "plain"
    g = gray_test(MG.etime, MG.event, MG.sex, rho=1, strata=MG.agegrp)
    assert g.kind == "gray" and g.choices["rho"] == 1.0 and g.choices["strata"] == ["70+", "<70"]
    assert list(g.table.columns) == ["group", "n", "events", "competing", "censored"]
    assert g.table.n.sum() == len(MG)
    json.dumps(g.to_dict())
    assert "rho" in g._repr_html_()


# ---------------------------------------------------------------- input checking
def test_input_errors():
    with pytest.raises(InputError, match="finite and >= 0"):
        cumulative_incidence([1, -2, 3], [1, 0, 1])
    with pytest.raises(InputError, match="non-negative integers"):
        cumulative_incidence([1, 2, 3], [1, 0.5, 1])
    with pytest.raises(InputError, match="conf_type"):
        cumulative_incidence([1, 2, 3], [1, 0, 1], conf_type="arcsine")
    with pytest.raises(InputError, match="conf_level"):
        cumulative_incidence([1, 2, 3], [1, 0, 1], conf_level=95)
    with pytest.raises(InputError, match="one value per subject"):
        cumulative_incidence([1, 2, 3], [1, 0, 1], ["a", "b"])
    with pytest.raises(InputError, match="missing values at positions \\[1\\]"):
        cumulative_incidence([1, 2, 3], [1, 0, 1], ["a", None, "b"])
    with pytest.raises(InputError, match="no events"):
        cumulative_incidence([1, 2, 3], [0, 0, 0])
    with pytest.raises(InputError, match="at least two groups"):
        gray_test([1, 2, 3], [1, 0, 1], ["a", "a", "a"])
    with pytest.raises(InputError, match="cause=3 does not occur"):
        gray_test([1, 2, 3, 4], [1, 0, 1, 2], ["a", "a", "b", "b"], cause=3)
    with pytest.raises(InputError, match="rho"):
        gray_test([1, 2, 3, 4], [1, 0, 1, 2], ["a", "a", "b", "b"], rho=float("nan"))
    with pytest.raises(InputError, match="not in order"):
        gray_test([1, 2, 3, 4], [1, 0, 1, 2], ["a", "a", "b", "b"], order=["a"])
    with pytest.raises(InputError, match="group is required"):
        gray_test([1, 2, 3, 4], [1, 0, 1, 2], None)
    with pytest.raises(InputError, match="method"):
        pairwise_gray(SIM.time, SIM.code, SIM.grp, adjust="tukey")


def test_singular_gray_warns():
    # group b has no subject left at any cause-1 time -> singular variance
    with pytest.warns(StatisticalWarning, match="singular"):
        r = gray_test([1, 2, 3, 0.5], [1, 1, 1, 0], ["a", "a", "a", "b"])
    assert np.isnan(r.statistic) and np.isnan(r.p)
    # ... and says why, on the result and in its table (no NaN without a reason)
    from aplcohort.stats.competing import NOTE_GRAY_SINGULAR
    assert r.note == NOTE_GRAY_SINGULAR
    assert r.tables["test"]["note"].tolist() == [NOTE_GRAY_SINGULAR]
    ok = gray_test(SIM.time, SIM.code, SIM.grp)
    assert ok.note == "" and np.isfinite(ok.p)


def test_pairwise_gray_says_why_a_pair_is_not_estimable():
    # only a has cause-1 events: pairs among b (cause 2 and censored), c (censored) and d have
    # none; d's one subject is censored before every cause-1 time -> (a, d) singular
    time = [1, 2, 3, 4, 1.5, 2.5, 3.5, 1.2, 2.2, 0.5]
    code = [1, 1, 1, 0, 2, 0, 2, 0, 0, 0]
    grp = ["a"] * 4 + ["b"] * 3 + ["c"] * 2 + ["d"]
    with pytest.warns(StatisticalWarning, match="singular"):
        r = pairwise_gray(time, code, grp, adjust="holm")
    t = r.table.set_index(["group1", "group2"])
    assert list(r.table.columns)[-2:] == ["estimable", "note"]
    bc = t.loc[("b", "c")]
    assert not bc["estimable"] and np.isnan(bc["statistic"]) and np.isnan(bc["p_adj"])
    assert bc["note"].startswith("no events of cause 1 in groups 'b' and 'c'")
    ad = t.loc[("a", "d")]
    assert not ad["estimable"] and "singular" in ad["note"] and "'a' and 'd'" in ad["note"]
    est = t[t["estimable"]]
    assert not t.loc[("b", "d")]["estimable"] and not t.loc[("c", "d")]["estimable"]
    assert len(est) == 2 and (est["note"] == "").all() and est["p"].notna().all()
    # Holm over the estimable pairs only (R p.adjust: NA not counted)
    from aplcohort.stats._padjust import p_adjust
    np.testing.assert_allclose(est["p_adj"], p_adjust(est["p"].to_numpy(), "holm"), rtol=1e-14)


def test_counts_table():
    res = cumulative_incidence(HAND.time, HAND.code)
    c = res.counts
    assert list(c.columns) == ["group", "cause", "n", "events", "competing", "censored"]
    # hand cohort: causes 1 at t = 1, 2, 4, 6; cause 2 at t = 2, 4; 4 censored
    assert c.to_dict("records") == [
        {"group": "all", "cause": 1, "n": 10, "events": 4, "competing": 2, "censored": 4},
        {"group": "all", "cause": 2, "n": 10, "events": 2, "competing": 4, "censored": 4},
    ]


def test_edge_cohort_time_zero_against_cmprsk():
    # events and a censoring at time 0, two groups:
    # cuminc(edge$time, edge$code, edge$g); timepoints(., c(0, 1, 2.5, 3, 7, 8, 9))
    edge = pd.read_csv(REF / "data" / "competing_edge.csv")
    res = cumulative_incidence(edge.time, edge.code, edge.g)
    _check_against_r(res, R["edge"])
    for k, cause in enumerate(R["edge"]["tests"]["cause"]):
        g = gray_test(edge.time, edge.code, edge.g, cause=int(cause))
        np.testing.assert_allclose(g.statistic, R["edge"]["tests"]["stat"][k], rtol=RTOL)
        np.testing.assert_allclose(g.p, R["edge"]["tests"]["pv"][k], rtol=RTOL)


def test_gray_negative_variance_is_not_estimable_with_reason():
    # found by the hypothesis test above: the last patients at risk all have the event at
    # one time, Gray's variance estimate is negative and the "chi-square" is -4.44 (R
    # cmprsk::cuminc prints stat -4.443587, pv 1). Not a statistic: NaN with the reason.
    from aplcohort.stats.competing import NOTE_GRAY_NOT_PD
    t = np.array([0.0, 0, 1, 1, 1])
    code = np.array([1, 0, 1, 1, 1])
    grp = np.array(["b", "a", "a", "a", "b"], dtype=object)
    with _nowarn():
        r = gray_test(t, code, grp)
    assert np.isnan(r.statistic) and np.isnan(r.p)
    assert r.note == NOTE_GRAY_NOT_PD
    assert r.tables["test"]["note"].tolist() == [NOTE_GRAY_NOT_PD]


def test_batch_gray_gives_the_same_reason_for_a_negative_variance():
    from aplcohort.batch import batch_gray
    from aplcohort.stats.competing import NOTE_GRAY_NOT_PD
    t = np.array([0.0, 0, 1, 1, 1])
    code = np.array([1, 0, 1, 1, 1])
    codes = np.array([1, 0, 0, 0, 1])    # "b", "a", "a", "a", "b": a = 0, b = 1 as gray_test
    with _nowarn():
        b = batch_gray(t, code, codes)
    assert np.isnan(b.statistic).all() and not b.estimable.any()
    assert list(b.note) == [NOTE_GRAY_NOT_PD]


def test_complete_curve_has_se_zero_not_nan():
    """A cumulative incidence complete at 1 (every patient still at risk has the event):
    the variance sums to about -1e-16 (R cmprsk::cuminc on these data gives var
    -1.1e-16 at time 3); its SE is 0, not NaN from the square root of a round-off (found by
    test_cif_plus_km_is_one's random search in a CI run)."""
    t = np.array([0., 0., 0., 1., 3., 3., 0., 0., 0., 0., 0., 2., 0., 0., 1., 2.])
    c = np.array([0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1])
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)   # no sqrt of a negative number
        res = cumulative_incidence(t, c)
    last = res.table[res.table.time == 3.0]
    assert last.estimate.item() == pytest.approx(1.0, abs=1e-12)
    assert last.std_err.item() == 0.0
