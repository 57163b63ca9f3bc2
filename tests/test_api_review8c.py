"""Review 8 (notebook API audit), part C: weights, conf_level, plots, tables, identifiers,
interval notes (FINDINGS.md F2, F3, F4, F8, F10, F11, F12, F13)."""

from __future__ import annotations

import warnings

import matplotlib
import numpy as np
import pandas as pd
import pytest

matplotlib.use("Agg")

from aplcohort.errors import InputError  # noqa: E402


def _surv(n=40, seed=1):
    rng = np.random.default_rng(seed)
    g = np.where(np.arange(n) % 2 == 0, "A", "B")
    t = np.round(rng.exponential(np.where(g == "A", 20, 12)), 1) + 0.1
    e = (rng.random(n) < 0.7).astype(int)
    return pd.DataFrame({"patient_id": [f"P{i:03d}" for i in range(n)], "time": t,
                         "event": e, "arm": g, "age": rng.normal(60, 10, n).round(),
                         "code": np.where(e == 1, 1 + (rng.random(n) < 0.4), 0)})


# ---------------------------------------------------------------- F2 weights
@pytest.mark.parametrize("fn", ["weighted_km", "weighted_cox", "weighted_cif",
                                "weighted_logrank"])
@pytest.mark.parametrize("bad", [np.nan, -1.0])
def test_f2_nan_or_negative_weight_is_an_error_naming_the_patient(fn, bad):
    import aplcohort.adjust as adj
    d = _surv()
    w = pd.Series(1.0, index=d.index)
    w.iloc[3] = bad
    col = "code" if fn == "weighted_cif" else "event"
    with pytest.raises(InputError, match=r"row 3 \(patient_id P003\)"):
        getattr(adj, fn)(d, "time", col, "arm", w)


@pytest.mark.parametrize("fn", ["weighted_km", "weighted_cox", "weighted_cif",
                                "weighted_logrank"])
def test_f2_series_not_covering_data_is_an_error(fn):
    import aplcohort.adjust as adj
    d = _surv()
    w = pd.Series(1.0, index=d.index).iloc[:-2]
    col = "code" if fn == "weighted_cif" else "event"
    with pytest.raises(InputError, match="no value for 2 row.*P038, P039"):
        getattr(adj, fn)(d, "time", col, "arm", w)


@pytest.mark.parametrize("fn", ["weighted_km", "weighted_cox", "weighted_cif",
                                "weighted_logrank"])
def test_f2_weight_zero_is_listed_in_excluded_and_choices(fn):
    import aplcohort.adjust as adj
    d = _surv()
    w = pd.Series(1.0, index=d.index)
    w.iloc[[0, 5]] = 0.0
    col = "code" if fn == "weighted_cif" else "event"
    r = getattr(adj, fn)(d, "time", col, "arm", w)
    assert r.excluded["patient_id"].tolist() == ["P000", "P005"]
    assert r.excluded["reason"].tolist() == ["weight 0", "weight 0"]
    assert r.choices["excluded"].startswith("2 patients without a positive weight left out")
    assert "excluded" in r.tables
    # the patients really are out: the same as dropping them with unit weights
    full = getattr(adj, fn)(d.drop(index=[0, 5]), "time", col, "arm",
                            pd.Series(1.0, index=d.index.drop([0, 5])))
    assert full.choices["excluded"] == "none"
    for name, tab in full.tables.items():
        pd.testing.assert_frame_equal(r.tables[name], tab)


def test_f2_trimmed_patients_listed_with_the_trimming_reason():
    from aplcohort.adjust import propensity_score, psweights, weighted_km
    d = _surv(80, seed=4)
    d["age"] = np.where(d["arm"] == "A", 50, 70) + np.random.default_rng(5).normal(0, 8, 80)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ps = propensity_score(d, "arm", ["age"])
        w = psweights(ps, "ATE", trim=0.1)
    r = weighted_km(d, "time", "event", "arm", w)
    assert len(r.excluded) == len(w.excluded) > 0
    assert r.excluded["reason"].str.startswith("trimmed").all()
    assert sorted(r.excluded["row"]) == sorted(w.excluded["row"])


def test_f2_psweights_from_other_data_are_refused():
    from aplcohort.adjust import propensity_score, psweights, weighted_km
    d = _surv(60)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        w = psweights(propensity_score(d.iloc[:50], "arm", ["age"]), "ATE")
    with pytest.raises(InputError, match="not in the data the propensity score was fitted on"):
        weighted_km(d, "time", "event", "arm", w)


# ---------------------------------------------------------------- F3 conf_level
@pytest.mark.parametrize("fn", ["weighted_km", "weighted_cox", "weighted_cif",
                                "weighted_finegray", "adjusted_risks"])
@pytest.mark.parametrize("level", [95, 0, 1.0, "0.95", True, float("nan")])
def test_f3_conf_level_checked_like_coxph(fn, level):
    import aplcohort.adjust as adj
    d = _surv()
    w = pd.Series(1.0, index=d.index)
    col = "code" if fn in ("weighted_cif", "weighted_finegray") else "event"
    args = (d, "time", col, "arm", [10]) if fn == "adjusted_risks" else (d, "time", col, "arm")
    kw = {"weights": w} if fn == "adjusted_risks" else {}
    with pytest.raises(InputError, match="conf_level must be a number strictly between 0 and 1"):
        getattr(adj, fn)(*args, *([] if kw else [w]), conf_level=level, **kw)
