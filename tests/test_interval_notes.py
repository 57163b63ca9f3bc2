"""An interval that is a point (SE 0), an undefined SE and an undefined or unreached
confidence limit each carry their reason in ``note``, in the Python API and in a plan's
tables (before: S = 1 with SE 0 and CI 1 to 1, or a NaN limit, with an empty note)."""

from pathlib import Path

import numpy as np
import pytest
import pandas as pd

from aplcohort.stats import cumulative_incidence, kaplan_meier, shapes

from test_plan_review7 import _run  # the plan runner on CSV input

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data" / "synthetic" / "min2022.csv"

# group A: no event; group B: events, the last one ends the curve at S = 0
TIME = np.array([5, 8, 12, 3, 6, 9, 10], float)
EVENT = np.array([0, 0, 0, 1, 1, 0, 1])
GROUP = np.array(["A"] * 3 + ["B"] * 4)


def test_km_point_interval_and_undefined_se_have_reasons():
    a = kaplan_meier(TIME, EVENT, GROUP).at([4, 7, 10, 11])
    ga, gb = a[a["group"] == "A"], a[a["group"] == "B"]
    # R survfit: S = 1, std.err 0, CI 1 to 1 while no event has happened
    assert (ga["estimate"] == 1).all() and (ga["std_err"] == 0).all()
    assert (ga["note"] == shapes.NOTE_SE_ZERO).all()
    at10 = gb[gb["time"] == 10].iloc[0]
    assert at10["estimate"] == 0 and np.isnan(at10["std_err"])
    assert at10["note"] == shapes.NOTE_SE_UNDEFINED
    informative = gb[gb["time"].isin([4, 7])]
    assert (informative["std_err"] > 0).all() and (informative["note"] == "").all()
    assert gb[gb["time"] == 11]["note"].item() == shapes.NOTE_PAST_FOLLOWUP


def test_median_with_an_unreached_limit_says_which():
    m = kaplan_meier(TIME, EVENT, GROUP).median().set_index("group")
    assert m.loc["A", "note"] == shapes.NOTE_NOT_REACHED
    # S = 0.5 exactly from 6 to 10: R's median is the midpoint, 8
    assert m.loc["B", "median"] == 8
    assert np.isnan(m.loc["B", "upper"])
    # the upper band never falls to 0.5 where it is defined, but it is undefined from
    # time 10 (S = 0, R: NA), where it could have: not estimable, with why (audit 11 F7b)
    assert m.loc["B", "note"] == (
        "upper confidence limit not estimable: the confidence interval of the Kaplan-Meier "
        "curve is undefined from time 10 (the standard error is not defined at an estimate "
        "of 0)")
    # a band defined to the end of the curve that stays above 0.5: not reached
    m2 = kaplan_meier([3, 6, 9, 12], [1, 1, 0, 0]).median()
    assert m2["median"].item() == 9 and m2["note"].item() == shapes.NOTE_UPPER_NOT_REACHED


def test_log_log_band_undefined_only_at_the_start_is_not_reached():
    # log-log: the band is undefined while S = 1 (times 1, 2 of the reverse curve: deaths
    # before the first censoring) and defined to the end, where it stays above 0.5: the
    # median follow-up's upper limit is not reached (before: "not estimable ... from time 1")
    from aplcohort.stats import median_followup
    t = np.arange(1, 14, dtype=float)
    e = np.array([1, 1, 0, 0, 0, 0, 0, 1, 0, 0, 1, 1, 1])
    m = median_followup(t, e, conf_type="log-log")
    assert m["median"].item() == 9 and np.isnan(m["upper"].item())
    assert m["note"].item() == shapes.NOTE_UPPER_NOT_REACHED


def test_cif_of_one_with_an_undefined_log_log_interval_says_why():
    # every patient of group B has the event of cause 1: F = 1 at the end, and the
    # log(-log) interval is undefined there (cmprsk's variance is not 0)
    t = np.array([1, 2, 3, 4, 2, 5], float)
    c = np.array([1, 1, 1, 1, 0, 2])
    g = np.array(["B"] * 4 + ["C"] * 2)
    a = cumulative_incidence(t, c, g).at([4])
    row = a[(a["group"] == "B") & (a["cause"] == 1)].iloc[0]
    assert row["estimate"] == 1 and np.isnan(row["lower"])
    assert row["note"].startswith("confidence limits not defined at an estimate of 1")


def test_plan_tables_carry_the_reasons(tmp_path, capsys):
    rc, err, doc, out = _run(tmp_path, [
        {"id": "os", "kind": "km", "endpoint": "os_cr2", "group": "postremission_modality",
         "where": "postremission_modality in ['ATO-based', 'auto HSCT', 'allo HSCT']",
         "times": [12, 36, 60]}], capsys)
    assert rc == 0, err
    est = pd.read_csv(out / "tables" / "os__estimates.csv", keep_default_na=False)
    est["std_err"] = pd.to_numeric(est["std_err"])
    zero = est[est["std_err"] == 0]
    assert len(zero) >= 1   # auto HSCT: no death in the first year of this replica
    assert (zero["note"] == shapes.NOTE_SE_ZERO).all()
    med = pd.read_csv(out / "tables" / "os__medians.csv", keep_default_na=False)
    blank_upper = med[med["upper"] == ""]
    assert len(blank_upper) >= 1
    assert all(n in (shapes.NOTE_NOT_REACHED, shapes.NOTE_UPPER_NOT_REACHED,
                     "confidence limits not reached") for n in blank_upper["note"])
    # the report shows the tables' footnotes too (it showed the marker without the note,
    # and NR / NE cells without what they mean)
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "¹ " + shapes.NOTE_SE_ZERO in html
    assert "NR, not reached." in html


def test_se_zero_after_events_has_its_own_reason():
    # group A is one id cluster: its robust (IJ) variance is exactly 0 although events
    # have happened, which is not "no event up to this time"
    import pandas as pd

    from aplcohort.adjust.curves import weighted_cif
    d = pd.DataFrame({"t": [1, 2, 3, 4, 5, 6, 7], "c": [1, 2, 0, 1, 1, 0, 2],
                      "g": list("AAABBBB"), "id": ["p1"] * 3 + ["p2"] * 3 + ["p3"]})
    at = weighted_cif(d, "t", "c", "g", pd.Series(np.ones(7)), id="id").at([0.5, 2, 5])
    a = at[at["group"] == "A"].set_index(["cause", "time"])
    assert a.loc[(1, 2.0), "estimate"] == pytest.approx(1 / 3)
    assert a.loc[(1, 2.0), "std_err"] == 0.0                 # exactly, not rounding
    assert a.loc[(1, 2.0), "note"] == shapes.NOTE_SE_ZERO_EVENTS
    assert a.loc[(1, 0.5), "note"] == shapes.NOTE_SE_ZERO    # before any event
    b = at[(at["group"] == "B") & (at["cause"] == 1)].set_index("time")
    assert b.loc[5.0, "std_err"] > 0 and b.loc[5.0, "note"] == ""
    from aplcohort.tables.frame import is_interval_note
    assert is_interval_note(shapes.NOTE_SE_ZERO_EVENTS)


def test_variance_that_cancels_is_zero_not_rounding():
    # the closed-form / Gram-matrix IJ variances cancel to rounding (~1e-17) where the
    # influence is exactly 0; before, its root (~4e-9, ~7e-9) read as a real SE with no note
    from aplcohort.adjust.curves import weighted_cif
    from aplcohort.multistate.occupancy import state_occupancy
    d = pd.DataFrame({"t": [1, 2, 3, 4, 5, 6], "c": [1, 1, 1, 1, 2, 0], "g": list("AAABBB")})
    at = weighted_cif(d, "t", "c", "g", pd.Series([1, 2, 0.5, 1, 1, 1.0])).at([3])
    a1 = at[(at["group"] == "A") & (at["cause"] == 1)].iloc[0]
    assert a1["estimate"] == pytest.approx(1.0) and a1["std_err"] == 0.0  # all A had cause 1
    assert a1["note"] == shapes.NOTE_SE_ZERO_EVENTS
    # alive / dead once every patient left has died (the hypothesis example of
    # test_multistate_invariants.test_alive_dead_equals_kaplan_meier)
    t = np.array([1, 1, 1, 1, 1, 1, 2, 3, 3, 3], float)
    e = np.array([0, 0, 0, 1, 1, 1, 1, 1, 1, 1])
    ms = pd.DataFrame({"id": np.arange(10), "tstart": 0.0, "tstop": t, "from_state": "alive",
                       "to_state": np.where(e == 1, "dead", "censor")})
    occ = state_occupancy(ms, states=["alive", "dead"]).occupancy
    last = occ[occ["time"] == 3.0]
    assert (last["std_err"] == 0.0).all()
    assert (occ[occ["time"] < 3.0]["std_err"] > 0.1).all()
    km = kaplan_meier(t, e, variance="robust").table
    np.testing.assert_allclose(occ[occ["state"] == "alive"]["std_err"], km["std_err"],
                               rtol=1e-10, atol=0)
