"""aplcohort.multistate against R survival 3.5-3 multi-state survfit / coxph.

Reference values: tests/reference/multistate.R -> tests/reference/multistate.json
(full precision); input rows in tests/reference/data/multistate_*.csv (the Min 2022
rows are exported from Python by tests/reference/multistate_export_min2022.py and
read by R).  Tolerance: rtol 1e-6 (1e-5 for the iterative Cox fits).
"""

import json
import os
import sys

import numpy as np
import pandas as pd
import pytest

from aplcohort.multistate import add_from_state, clfs, state_occupancy, transition_cox

HERE = os.path.dirname(__file__)
REF = json.load(open(os.path.join(HERE, "reference", "multistate.json")))
DATA = os.path.join(HERE, "reference", "data")


def _read(name):
    return pd.read_csv(os.path.join(DATA, f"multistate_{name}.csv"),
                       keep_default_na=False, na_values=[""])


def _stack(res, states, value):
    """R layout: rows = groups stacked in order, columns = states in R's order."""
    occ = res.occupancy
    blocks = []
    for g in res.groups:
        o = occ[occ["group"] == g]
        blocks.append(o.pivot(index="time", columns="state", values=value)[states].to_numpy())
    return np.vstack(blocks)


def _num(x):
    """JSON matrix with R's "NA" strings -> float array with NaN."""
    return np.array([[np.nan if v == "NA" else v for v in row] for row in x], float)


def _close(a, b, rtol=1e-6, atol=1e-12):
    np.testing.assert_allclose(np.asarray(a, float), np.asarray(b, float), rtol=rtol,
                               atol=atol)


# (key in JSON, data file, group column, tau)
AJ_CASES = [("mgus2_cr", "mgus2_cr", "sex", 240), ("mgus2_id", "mgus2_illness_death", "sex", 300),
            ("mgus2_id_all", "mgus2_illness_death", None, 300),
            ("myeloid", "myeloid", "trt", 1000)]


@pytest.mark.parametrize("key,data,group,tau", AJ_CASES)
def test_aalen_johansen_matches_r_survfit(key, data, group, tau):
    # R: survfit(Surv(tstart, tstop, event) ~ g, data, id = id, istate = istate)
    r = REF[key]
    d = _read(data)
    res = state_occupancy(d, group=group, states=r["states"], tau=tau)
    st = r["states"]
    times = np.concatenate([res.occupancy[(res.occupancy.group == g) &
                                          (res.occupancy.state == st[0])]["time"].to_numpy()
                            for g in res.groups])
    _close(times, r["time"])
    _close(_stack(res, st, "estimate"), r["pstate"])
    _close(_stack(res, st, "std_err"), r["std_err"])
    _close(_stack(res, st, "n_risk"), r["n_risk"])
    _close(_stack(res, st, "n_event"), r["n_event"])
    nc = np.concatenate([res.occupancy[(res.occupancy.group == g) &
                                       (res.occupancy.state == st[0])]["n_censor"].to_numpy()
                         for g in res.groups])
    _close(nc, r["n_censor"])
    # log CI (R's default); R gives NA where pstate = 0, we give [0, 0]
    p = np.array(r["pstate"], float)
    lo = _num(r["lower"])
    hi = _num(r["upper"])
    pos = p > 0
    _close(_stack(res, st, "lower")[pos], lo[pos])
    _close(_stack(res, st, "upper")[pos], hi[pos])
    assert (_stack(res, st, "lower")[~pos] == 0).all()
    # restricted mean time in state: R rows "sex=F, entry" (group, state), state-major
    rm = res.rmean
    want = dict(zip(r["rmean_rows"], r["rmean"]))
    se_r = np.atleast_2d(np.array(r["se_rmean"], float))
    for gi, g in enumerate(res.groups):
        for si, s in enumerate(st):
            row = rm[(rm.group == g) & (rm.state == s)].iloc[0]
            label = s if group is None else f"{group}={g}, {s}"
            _close(row.rmean, want[label])
            _close(row.se, se_r[gi, si])


def test_left_truncation_matches_r():
    # R: rows of myeloid restricted to (30, stop]: subjects enter at day 30
    r = REF["myeloid_lt"]
    d = _read("myeloid")
    d = d[d.tstop > 30].copy()
    d["tstart"] = d["tstart"].clip(lower=30)
    assert len(d) == r["n_rows"]
    res = state_occupancy(d, states=r["states"], tau=1000)
    assert res.left_truncated
    _close(res.occupancy[res.occupancy.state == r["states"][0]]["time"], r["time"])
    _close(_stack(res, r["states"], "estimate"), r["pstate"])
    _close(_stack(res, r["states"], "std_err"), r["std_err"])
    _close(_stack(res, r["states"], "n_risk"), r["n_risk"])
    _close(res.rmean["rmean"], r["rmean"])
    _close(res.rmean["se"], np.ravel(r["se_rmean"]))


def test_add_from_state_equals_r_tracking():
    d = _read("myeloid")
    got = add_from_state(d.drop(columns="from_state"), initial="entry")
    assert (got["from_state"] == d["from_state"]).all()


def test_transition_table_matches_r_survcheck():
    # R: survcheck(Surv(tstart, tstop, event) ~ 1, id = id, istate = istate)$transitions
    r = REF["myeloid_transitions"]
    res = state_occupancy(_read("myeloid"), group=None)
    n = np.array(r["n"], int)
    for i, a in enumerate(r["from"]):
        for j, b in enumerate(r["to"]):
            if b == "(censored)":
                continue
            t = res.transitions
            got = t[(t.from_state == a) & (t.to_state == b)]["n"].sum()
            assert got == n[i, j], (a, b)


def _r_term(term, states):
    """R name 'age_1:2' -> our 'age [s1 -> s2]'."""
    base, tr = term.rsplit("_", 1)
    a, b = tr.split(":")
    return f"{base} [{states[int(a) - 1]} -> {states[int(b) - 1]}]"


@pytest.mark.parametrize("key,data,covs", [
    ("mgus2_id_cox", "mgus2_illness_death", ["age", "sex"]),
    ("myeloid_cox", "myeloid", ["trt", "sex"])])
def test_transition_cox_matches_r_coxph(key, data, covs):
    # R: coxph(Surv(tstart, tstop, event) ~ covs, data, id = id, istate = istate)
    r = REF[key]
    res = transition_cox(_read(data), covs)
    t = res.terms.set_index("term")
    names = [_r_term(x, r["states"]) for x in r["term"]]
    assert sorted(names) == sorted(t.index)
    _close(t.loc[names, "coef"], r["coef"], rtol=1e-5)
    _close(t.loc[names, "se"], r["se"], rtol=1e-5)
    _close(t.loc[names, "robust_se"], r["robust_se"], rtol=1e-5)
    _close(res.loglik, r["loglik"], rtol=1e-8)
    assert res.variance == "robust" and t["estimable"].all()
    # CI and p use the robust SE, as R summary() of a multi-state coxph
    z = 1.959963984540054
    _close(t.loc[names, "upper"], np.exp(np.array(r["coef"]) + z * np.array(r["robust_se"])),
           rtol=1e-5)


def test_transition_cox_shared_effect_matches_r():
    # R: coxph(list(Surv(...) ~ sex, 1:2 + 1:3 ~ age / common, 1:3 + 2:3 ~ 1), id = id)
    r = REF["mgus2_id_cox_shared"]
    d = _read("mgus2_illness_death")
    res = transition_cox(d, ["sex"], shared={"age": [("entry", "pcm"), ("entry", "death")]})
    t = res.terms.set_index("term")
    names = [("age [entry -> pcm, entry -> death]" if x == "age" else _r_term(x, r["states"]))
             for x in r["term"]]
    _close(t.loc[names, "coef"], r["coef"], rtol=1e-5)
    _close(t.loc[names, "se"], r["se"], rtol=1e-5)
    _close(t.loc[names, "robust_se"], r["robust_se"], rtol=1e-5)
    _close(res.loglik, r["loglik"], rtol=1e-8)


# ------------------------------------------------------------------ Min 2022 replica
@pytest.fixture(scope="module")
def min2022():
    sys.path.insert(0, os.path.join(HERE, "reference"))
    try:
        from multistate_export_min2022 import min2022_transitions
    finally:
        sys.path.pop(0)
    return min2022_transitions()


def test_min2022_rows_equal_the_file_r_read(min2022):
    f = _read("min2022_transitions")
    assert list(f.columns) == list(min2022.columns)
    _close(f[["tstart", "tstop"]], min2022[["tstart", "tstop"]], rtol=0, atol=0)
    for c in ["id", "from_state", "to_state", "postremission_modality"]:
        assert (f[c].fillna("").astype(str) == min2022[c].fillna("").astype(str)).all(), c


def test_min2022_occupancy_and_clfs_match_r(min2022):
    r = REF["min2022"]
    res = state_occupancy(min2022, states=r["states"], tau=1826)
    _close(_stack(res, r["states"], "estimate"), r["pstate"])
    _close(_stack(res, r["states"], "std_err"), r["std_err"])
    _close(_stack(res, r["states"], "n_risk"), r["n_risk"])
    _close(res.rmean["rmean"], r["rmean"])
    # CLFS = sum of the remission states; SE = IJ of the sum (R: influence.pstate)
    rc = REF["min2022_clfs"]
    from aplcohort.cohort import load
    from aplcohort.multistate import build_transitions, relapsed_leukemia_model

    tr = build_transitions(load(os.path.join(HERE, "..", "data", "synthetic", "min2022.csv")),
                           relapsed_leukemia_model())
    c = clfs(tr)
    assert sorted(c.definitions.set_index("measure").loc["CLFS", "states"].split(", ")) == \
        sorted(rc["states"])
    cl = c.curves[c.curves.measure == "CLFS"]
    _close(cl["time"], rc["time"])
    _close(cl["estimate"], rc["estimate"])
    _close(cl["std_err"], rc["std_err"])


def test_min2022_transition_cox_matches_r(min2022):
    r = REF["min2022_cox"]
    d = min2022.assign(age=min2022["age_at_diagnosis"])
    trs = [tuple(x) for x in r["transitions"]]
    res = transition_cox(d, ["age"], transitions=trs)
    t = res.terms.set_index("term")
    names = [f"age [{a} -> {b}]" for a, b in trs]
    # R orders its terms by its transition numbering; match by name
    rnames = [_r_term(x, r["states"]) for x in r["term"]]
    order = [rnames.index(n) for n in names]
    _close(t.loc[names, "coef"], np.array(r["coef"])[order], rtol=1e-5)
    _close(t.loc[names, "se"], np.array(r["se"])[order], rtol=1e-5)
    _close(t.loc[names, "robust_se"], np.array(r["robust_se"])[order], rtol=1e-5)
