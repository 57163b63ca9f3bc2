"""Invariants of the Aalen–Johansen state occupancy (hypothesis).

* the occupancy probabilities sum to 1 at every time (with left truncation too);
* with the states alive/dead only, alive = Kaplan–Meier and dead = 1 - KM, and the
  IJ standard error equals KM's robust (infinitesimal-jackknife) SE;
* with one absorbing cause and competing death, the cause's occupancy equals the
  cumulative incidence of :func:`aplcohort.stats.competing.cumulative_incidence`;
* CLFS built from dates at a CR2 time zero: DFS <= CLFS <= OS at every time (one
  Aalen–Johansen fit), and with ``dfs_os="kaplan-meier"`` DFS and OS equal KM of RFS
  and OS computed directly from the dates.
"""

import numpy as np
import pandas as pd
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from aplcohort.multistate import state_occupancy
from aplcohort.stats.competing import cumulative_incidence
from aplcohort.stats.km import kaplan_meier

subject = st.tuples(st.integers(0, 4),            # entry (left truncation)
                    st.integers(1, 15),           # first time after entry
                    st.sampled_from(["censor", "ill", "death"]),
                    st.integers(1, 15),           # second time after the first
                    st.sampled_from(["censor", "death"]))


def illness_death(subjects, truncate):
    rows = []
    for i, (e, t1, s1, t2, s2) in enumerate(subjects):
        e = e if truncate else 0
        rows.append((i, e, e + t1, "healthy", s1))
        if s1 == "ill":
            rows.append((i, e + t1, e + t1 + t2, "ill", s2))
    return pd.DataFrame(rows, columns=["id", "tstart", "tstop", "from_state", "to_state"])


@settings(max_examples=60, deadline=None)
@given(st.lists(subject, min_size=2, max_size=30), st.booleans())
def test_probabilities_sum_to_one(subjects, truncate):
    d = illness_death(subjects, truncate)
    assume((d["to_state"] != "censor").any())
    r = state_occupancy(d, states=["healthy", "ill", "death"])
    wide = r.occupancy.pivot(index="time", columns="state", values="estimate")
    np.testing.assert_allclose(wide.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    assert (wide.to_numpy() >= -1e-12).all() and (wide.to_numpy() <= 1 + 1e-12).all()
    # death never decreases (absorbing)
    assert (np.diff(wide["death"].to_numpy()) >= -1e-12).all()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 20), st.booleans()), min_size=2, max_size=40))
def test_alive_dead_equals_kaplan_meier(data):
    t = np.array([x[0] for x in data], float)
    e = np.array([x[1] for x in data], int)
    assume(e.any())
    d = pd.DataFrame({"id": np.arange(t.size), "tstart": 0.0, "tstop": t, "from_state": "alive",
                      "to_state": np.where(e == 1, "dead", "censor")})
    r = state_occupancy(d, states=["alive", "dead"])
    km = kaplan_meier(t, e, variance="robust").table
    occ = r.occupancy
    alive = occ[occ.state == "alive"].set_index("time")
    dead = occ[occ.state == "dead"].set_index("time")
    np.testing.assert_allclose(alive.loc[km["time"], "estimate"], km["estimate"], rtol=1e-12,
                               atol=1e-14)
    np.testing.assert_allclose(dead.loc[km["time"], "estimate"], 1 - km["estimate"], rtol=1e-12,
                               atol=1e-14)
    np.testing.assert_allclose(alive.loc[km["time"], "std_err"], km["std_err"], rtol=1e-10,
                               atol=1e-14)
    np.testing.assert_allclose(alive.loc[km["time"], "n_risk"], km["n_risk"])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 20), st.integers(0, 2)), min_size=2, max_size=40))
def test_one_cause_and_death_equals_cumulative_incidence(data):
    t = np.array([x[0] for x in data], float)
    c = np.array([x[1] for x in data], int)
    assume((c > 0).any())
    d = pd.DataFrame({"id": np.arange(t.size), "tstart": 0.0, "tstop": t,
                      "from_state": "CR", "to_state": np.array(["censor", "relapse",
                                                                "death"])[c]})
    r = state_occupancy(d, states=["CR", "relapse", "death"])
    cif = cumulative_incidence(t, c).table
    for cause, state in [(1, "relapse"), (2, "death")]:
        ct = cif[(cif.cause == cause) & (cif.time > 0)]
        assume(len(ct))
        got = r.state_at(ct["time"].to_numpy())
        got = got[got.state == state]
        np.testing.assert_allclose(got["estimate"], ct["estimate"], rtol=1e-12, atol=1e-14)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 30), st.integers(0, 2), st.integers(1, 30),
                          st.booleans()), min_size=3, max_size=25))
def test_clfs_dfs_os_equal_kaplan_meier_from_cr2(pts):
    from aplcohort.multistate import build_transitions, clfs, relapsed_leukemia_model

    base = pd.Timestamp("2020-01-01")
    rows, rfs_t, rfs_e, os_t, os_e = [], [], [], [], []
    for i, (t1, kind, t2, dies) in enumerate(pts):
        # kind 0: censored in CR2 at t1; 1: relapse at t1 (then death at t1+t2 or alive);
        # 2: death in CR2 at t1
        rel = base + pd.Timedelta(days=10 + t1) if kind == 1 else pd.NaT
        death = (base + pd.Timedelta(days=10 + t1) if kind == 2 else
                 base + pd.Timedelta(days=10 + t1 + t2) if kind == 1 and dies else pd.NaT)
        last = base + pd.Timedelta(days=10 + t1 + (t2 if kind == 1 else 0))
        rows.append({"patient_id": f"p{i}", "relapse1_date": base, "response": "mCR2",
                     "response_date": base + pd.Timedelta(days=10), "relapse2_date": rel,
                     "death_date": death, "last_followup_date": last})
        rfs_t.append(t1)
        rfs_e.append(int(kind > 0))
        os_t.append(t1 + (t2 if kind == 1 else 0))
        os_e.append(int(kind == 2 or (kind == 1 and dies)))
    assume(any(rfs_e) and any(os_e))
    df = pd.DataFrame(rows)
    for c in ["relapse2_date", "death_date"]:
        df[c] = pd.to_datetime(df[c])
    tr = build_transitions(df, relapsed_leukemia_model("salvage_start"), time_zero="CR2")
    aj = clfs(tr).curves
    wide = aj.pivot(index="time", columns="measure", values="estimate")
    assert (wide["DFS"] <= wide["CLFS"] + 1e-12).all()
    assert (wide["CLFS"] <= wide["OS"] + 1e-12).all()
    res = clfs(tr, dfs_os="kaplan-meier")
    for measure, t, e in [("DFS", rfs_t, rfs_e), ("OS", os_t, os_e)]:
        km = kaplan_meier(np.array(t, float), np.array(e)).table
        got = res.measure_at(km["time"].to_numpy())
        got = got[got.measure == measure]
        np.testing.assert_allclose(got["estimate"], km["estimate"], rtol=1e-12, atol=1e-14)
