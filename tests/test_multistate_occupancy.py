"""Aalen–Johansen state occupancy on a hand-worked cohort (exact fractions) and input errors."""

import numpy as np
import pandas as pd
import pytest

from aplcohort.errors import InputError
from aplcohort.multistate import TransitionCheckError, state_occupancy

# s1: CR -> relapse at 2, relapse -> death at 5; s2: CR -> death at 3; s3: censored in CR at 4;
# s4: enters at 1 (left truncation), CR -> relapse at 2 (tied with s1), censored at 6.
HAND = pd.DataFrame({"id": ["s1", "s1", "s2", "s3", "s4", "s4"],
                     "tstart": [0, 2, 0, 0, 1, 2], "tstop": [2, 5, 3, 4, 2, 6],
                     "from_state": ["CR", "relapse", "CR", "CR", "CR", "relapse"],
                     "to_state": ["relapse", "death", "death", None, "relapse", None]})


def test_hand_worked_exact_fractions():
    r = state_occupancy(HAND, states=["CR", "relapse", "death"], tau=6)
    wide = r.occupancy.pivot(index="time", columns="state", values="estimate")
    # t=2: 4 in CR at risk (s4 entered at 1), 2 relapse -> (1/2, 1/2, 0)
    # t=3: 2 in CR (s2, s3), 1 dies -> CR 1/4, death 1/4
    # t=5: 2 in relapse (s1, s4), 1 dies -> relapse 1/4, death 1/2
    # after t=4 nobody is at risk in CR: its 1/4 stays there
    want = {2: (1 / 2, 1 / 2, 0), 3: (1 / 4, 1 / 2, 1 / 4), 4: (1 / 4, 1 / 2, 1 / 4),
            5: (1 / 4, 1 / 4, 1 / 2), 6: (1 / 4, 1 / 4, 1 / 2)}
    for t, p in want.items():
        np.testing.assert_allclose(wide.loc[t, ["CR", "relapse", "death"]], p, rtol=1e-14)
    nr = r.occupancy.pivot(index="time", columns="state", values="n_risk")
    assert nr.loc[2, "CR"] == 4 and nr.loc[2, "relapse"] == 0
    assert nr.loc[3, "CR"] == 2 and nr.loc[3, "relapse"] == 2 and nr.loc[5, "relapse"] == 2
    # time in state to 6: CR 2 + 1/2 + 3/4; relapse 3/2 + 1/4; death 1/2 + 1/2
    rm = r.rmean.set_index("state")["rmean"]
    np.testing.assert_allclose(rm[["CR", "relapse", "death"]], [3.25, 1.75, 1.0], rtol=1e-14)
    assert r.left_truncated
    assert r.transitions.set_index(["from_state", "to_state"])["n"].to_dict() == {
        ("CR", "relapse"): 2, ("CR", "death"): 1, ("relapse", "death"): 1}


def test_sums_of_states_and_their_ci():
    r = state_occupancy(HAND, states=["CR", "relapse", "death"],
                        sums={"alive": ["CR", "relapse"]})
    s = r.sums.set_index("time")
    np.testing.assert_allclose(s.loc[5, "estimate"], 1 / 2, rtol=1e-14)
    assert (s["lower"] <= s["estimate"]).all() and (s["estimate"] <= s["upper"]).all()
    # the IJ SE of a sum is not the sum of the SEs; alive = 1 - death has the SE of death
    occ = r.occupancy.pivot(index="time", columns="state", values="std_err")
    assert s.loc[3, "std_err"] < occ.loc[3, "CR"] + occ.loc[3, "relapse"]
    np.testing.assert_allclose(s.loc[5, "std_err"], occ.loc[5, "death"], rtol=1e-12)


def test_input_errors_are_reported():
    with pytest.raises(InputError, match="conf_type must be one of"):
        state_occupancy(HAND, conf_type="logit")
    with pytest.raises(InputError, match="not in states="):
        state_occupancy(HAND, states=["CR", "death"])
    with pytest.raises(InputError, match="sum 'x': states \\['CR3'\\]"):
        state_occupancy(HAND, sums={"x": ["CR3"]})
    with pytest.raises(InputError, match="tau must be a positive"):
        state_occupancy(HAND, tau=-1)
    g = HAND.assign(arm=["A", "B", "A", "A", "B", "B"])
    with pytest.raises(InputError, match="changes within subjects \\['s1'\\]"):
        state_occupancy(g, group="arm")
    bad = HAND.copy()
    bad.loc[1, "tstart"] = 1  # s1's second row overlaps the first
    with pytest.raises(TransitionCheckError, match="overlap: patient s1"):
        state_occupancy(bad)
