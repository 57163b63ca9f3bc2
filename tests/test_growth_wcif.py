"""weighted_cif's IJ variance in closed form (issue 13, growth) changes no number.

The former ``_aj_one`` updated every row's influence at every distinct time (O(n T)); it
is kept here, written out, as the reference. ``weighted_cif`` now gets the variance from
prefix sums (``aplcohort.adjust.curves._ij_se``): the estimates must be bit for bit the
same (same cumulative products and sums), the standard errors and CIs equal at rtol 1e-10
(the summation order changed). Cases: whole-day times (ties, censorings at event times),
continuous times, three causes, several groups, unequal weights, a group without events,
a cause absent from a group, one-subject groups, a curve that reaches S = 0, and ``id``
clusters (rows of one id at different and at equal times, string ids). ``weighted_cif``
takes no entry times, so there is no delayed-entry case. A second, independent check
derives each row's influence ``dF_k(t)/dw_i`` by the complex step on a plain Aalen–Johansen.
"""

import numpy as np
import pandas as pd
import pytest

from aplcohort.adjust import curves, weighted_cif


def aj_one_loop(time, code, w, ids, causes):
    """The former ``_aj_one``: every row's influence updated at every distinct time."""
    ut = np.unique(time)
    J = ut.size
    pos = np.searchsorted(ut, time)
    n_risk = np.cumsum(np.bincount(pos, weights=w, minlength=J)[::-1])[::-1]
    ev = code > 0
    d_all = np.bincount(pos[ev], weights=w[ev], minlength=J)
    n_cens = np.bincount(pos[~ev], weights=w[~ev], minlength=J)
    d_k = {k: np.bincount(pos[code == k], weights=w[code == k], minlength=J) for k in causes}
    n = time.size
    S_prev = 1.0
    US = np.zeros(n)
    UF = {k: np.zeros(n) for k in causes}
    F = {k: 0.0 for k in causes}
    out_F = {k: np.empty(J) for k in causes}
    out_se = {k: np.empty(J) for k in causes}
    uid, inv = np.unique(ids, return_inverse=True)
    for j in range(J):
        nj, dj = n_risk[j], d_all[j]
        Y = (time >= ut[j]).astype(float)
        dN = ((pos == j) & ev).astype(float)
        US_new = US * (1 - dj / nj) + S_prev * (dj * Y / nj ** 2 - dN / nj)
        for k in causes:
            dNk = ((pos == j) & (code == k)).astype(float)
            dk = d_k[k][j]
            UF[k] = UF[k] + US * dk / nj + S_prev * (dNk / nj - dk * Y / nj ** 2)
            F[k] = F[k] + S_prev * dk / nj
            out_F[k][j] = F[k]
            per_id = np.bincount(inv, weights=w * UF[k], minlength=uid.size)
            out_se[k][j] = np.sqrt(np.sum(per_id ** 2))
        US = US_new
        S_prev = S_prev * (1 - dj / nj)
    return {"time": ut, "n_risk": n_risk, "n_event": d_k, "n_censor": n_cens, "F": out_F,
            "se": out_se}


def cohort(n, seed, *, days=True, weights="ps", ids=None, groups=3):
    """Competing risks with three causes; ``ids``: None, "clusters", "dup" or "str"."""
    rng = np.random.default_rng(seed)
    t = rng.exponential(60, n)
    t = np.ceil(t) if days else t
    code = rng.choice([0, 1, 2, 3], n, p=[0.35, 0.35, 0.2, 0.1])
    if days:                                   # censorings at event times
        cens = np.flatnonzero(code == 0)
        evt = t[code > 0]
        if cens.size and evt.size:
            pick = cens[: cens.size // 2]
            t[pick] = rng.choice(evt, pick.size)
    w = {"ps": 1 / rng.uniform(0.05, 0.95, n), "unit": np.ones(n),
         "int": rng.integers(1, 4, n).astype(float)}[weights]
    d = pd.DataFrame({"t": t, "c": code, "g": rng.integers(0, groups, n), "w": w})
    if ids == "clusters":                      # 1-4 rows per id, at different times
        d["id"] = rng.integers(0, max(1, n // 2), n)
    elif ids == "str":
        d["id"] = [f"p{v}" for v in rng.integers(0, max(1, n // 3), n)]
    elif ids == "dup":                         # a patient split into rows at one time
        d["id"] = np.arange(n)
        extra = d.sample(n // 3, random_state=seed)
        d = pd.concat([d, extra], ignore_index=True)
        d.loc[d["id"].duplicated(keep=False), "w"] /= 2
    return d


def both(d, monkeypatch, **kw):
    new = weighted_cif(d, "t", "c", "g", d["w"], **kw)
    with monkeypatch.context() as m:
        m.setattr(curves, "_aj_one", aj_one_loop)
        old = weighted_cif(d, "t", "c", "g", d["w"], **kw)
    return new.table, old.table


def assert_same(new, old):
    assert list(new.columns) == list(old.columns) and len(new) == len(old)
    for col in ("group", "cause", "time", "estimate", "n_risk", "n_event", "n_censor"):
        np.testing.assert_array_equal(new[col].to_numpy(), old[col].to_numpy(), err_msg=col)
    for col in ("std_err", "lower", "upper"):
        np.testing.assert_allclose(new[col].to_numpy(float), old[col].to_numpy(float),
                                   rtol=1e-10, atol=0, err_msg=col)
    # a zero SE (before the cause's first event, a lone subject) stays exactly zero
    np.testing.assert_array_equal(new["std_err"].to_numpy() == 0, old["std_err"].to_numpy() == 0)
    # and, as in the loop, changes only at times with an event of the cause (exactly)
    for _, cur in new.groupby(["group", "cause"]):
        se, ev = cur["std_err"].to_numpy(), cur["n_event"].to_numpy()
        assert (se[1:][ev[1:] == 0] == se[:-1][ev[1:] == 0]).all()
        assert (se[:1][ev[:1] == 0] == 0).all()


@pytest.mark.parametrize("seed,n,days,weights,ids", [
    (1, 300, True, "ps", None), (2, 400, False, "ps", None), (3, 250, True, "unit", None),
    (4, 300, True, "int", None), (5, 300, True, "ps", "clusters"),
    (6, 300, False, "ps", "clusters"), (7, 300, True, "ps", "dup"), (8, 200, True, "unit", "str"),
    (9, 3000, True, "ps", None), (10, 2000, True, "ps", "clusters")])
@pytest.mark.parametrize("conf", ["log", "log-log", "plain"])
def test_weighted_cif_equals_the_per_time_loop(monkeypatch, seed, n, days, weights, ids, conf):
    d = cohort(n, seed, days=days, weights=weights, ids=ids)
    new, old = both(d, monkeypatch, id=None if ids is None else "id", conf_type=conf)
    assert_same(new, old)
    assert (new["std_err"] > 0).any()


def test_groups_without_events_one_subject_and_a_missing_cause(monkeypatch):
    d = cohort(200, 11, weights="ps")
    d = d[d["c"] != 3].copy()
    d.loc[d["g"] == 1, "c"] = 0                          # group 1: no event at all
    d.loc[(d["g"] == 2) & (d["c"] == 2), "c"] = 1        # group 2: no cause 2
    extra = pd.DataFrame({"t": [5.0, 7.0, 4.0], "c": [2, 0, 1], "g": [7, 8, 9],
                          "w": [2.5, 1.5, 0.7]})         # three one-subject groups
    d = pd.concat([d, extra], ignore_index=True)
    d.loc[d.index[d["g"] == 0][:3], "c"] = 3             # cause 3 in three rows of group 0
    new, old = both(d, monkeypatch)
    assert_same(new, old)
    assert (new.loc[new["group"] == 1, "std_err"] == 0).all()
    lone = new[(new["group"] == 9) & (new["cause"] == 1)]
    assert lone["estimate"].tolist() == [1.0] and lone["std_err"].tolist() == [0.0]


def test_curve_reaching_zero_survival_and_all_tied(monkeypatch):
    # the last time holds only events (S = 0); one group with every row at one time
    d = pd.DataFrame({"t": [1, 2, 2, 3, 3, 3, 4, 4, 5, 5, 5, 5, 5],
                      "c": [1, 0, 2, 1, 0, 1, 2, 2, 1, 2, 0, 2, 1],
                      "g": [0] * 8 + [1] * 5,
                      "w": [1.0, 2.0, 0.5, 1.5, 1.0, 0.3, 2.0, 1.0, 1.0, 2.0, 0.5, 1.5, 1.0]})
    d.loc[d["g"] == 1, "t"] = 5.0
    for kw in ({}, {"id": "id"}):
        d["id"] = [0, 1, 2, 3, 4, 0, 5, 6, 7, 7, 8, 9, 9]
        new, old = both(d, monkeypatch, **kw)
        assert_same(new, old)


# ---------------------------------------------------------------- an independent check
def aj_complex(time, code, w, causes):
    """Plain Aalen–Johansen F_k at each distinct time for (possibly complex) weights."""
    ut = np.unique(time)
    out = {k: [] for k in causes}
    S = 1.0 + 0j
    F = {k: 0j for k in causes}
    for t in ut:
        n = w[time >= t].sum()
        d = w[(time == t) & (code > 0)].sum()
        for k in causes:
            F[k] = F[k] + S * w[(time == t) & (code == k)].sum() / n
            out[k].append(F[k])
        S = S * (1 - d / n)
    return ut, {k: np.array(v) for k, v in out.items()}


@pytest.mark.parametrize("seed,ids", [(21, False), (22, True), (23, False)])
def test_se_is_the_ij_of_the_complex_step_derivative(seed, ids):
    """var F_k(t) = sum_c (sum_{i in c} w_i dF_k(t)/dw_i)^2, the derivative by complex step."""
    d = cohort(40, seed, weights="ps", groups=1)
    d["id"] = np.random.default_rng(seed).integers(0, 15, len(d)) if ids else np.arange(len(d))
    causes = sorted(set(d["c"][d["c"] > 0]))
    time, code, w = d["t"].to_numpy(float), d["c"].to_numpy(), d["w"].to_numpy(float)
    h = 1e-30
    infl = {k: [] for k in causes}
    for i in range(len(d)):
        wc = w.astype(complex)
        wc[i] += 1j * h
        _, F = aj_complex(time, code, wc, causes)
        for k in causes:
            infl[k].append(F[k].imag / h)
    _, inv = np.unique(d["id"].to_numpy(), return_inverse=True)
    tab = weighted_cif(d, "t", "c", "g", d["w"], id="id").table
    for k in causes:
        U = w[:, None] * np.array(infl[k])                 # rows x times
        per_id = np.zeros((inv.max() + 1, U.shape[1]))
        np.add.at(per_id, inv, U)
        se = np.sqrt((per_id ** 2).sum(axis=0))
        got = tab.loc[tab["cause"] == k, "std_err"].to_numpy()
        np.testing.assert_allclose(got, se, rtol=1e-10)


def test_weights_for_rows_not_in_data_are_still_named():
    # the check of the weights' index now runs in pandas (it built two Python sets)
    from aplcohort.errors import InputError
    d = cohort(20, 31)
    w = pd.Series(1.0, index=list(d.index) + [105, 101])
    with pytest.raises(InputError, match=r"not in data: 105, 101"):
        weighted_cif(d, "t", "c", "g", w)
