"""Balance (SMD, variance ratio) against MatchIt 4.5.1 (tests/reference/adjust.R).

Matched samples: ``summary(matchit(..., distance = <matrix>), standardize = TRUE)``;
weighted samples: ``MatchIt:::bal1var(x, tt, ww = w, s.d.denom = "pooled" / "treated")``
(the routine summary.matchit uses); three groups: our stated convention, by formula in R.
"""

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from aplcohort.adjust import PositivityError, match_nearest, propensity_score, psweights
from aplcohort.adjust.balance import balance, weighted_table1
from aplcohort.errors import StatisticalWarning

REF_DIR = Path(__file__).parent / "reference"
REF = json.loads((REF_DIR / "adjust.json").read_text())
COVS = ["age", "ph_ecog", "wt_loss"]


@pytest.fixture(scope="module")
def lung():
    d = pd.read_csv(REF_DIR / "data" / "adjust_lung.csv").set_index("id", drop=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)
        ps = propensity_score(d, "sex", COVS, categorical=["ph_ecog"])
    return d, ps


def _arr(x):
    return np.array([np.nan if v is None else v for v in x], float)


def _part(b, sample):
    t = b.table
    return t[t["sample"] == sample]


@pytest.mark.parametrize("name,kw", [("nn1", {}), ("cal02", {"caliper": 0.2}),
                                     ("k2_cal025_smallest", {"ratio": 2, "caliper": 0.25,
                                                              "m_order": "smallest"})])
def test_matched_balance_equals_matchit_summary(lung, name, kw):
    d, ps = lung
    r = REF["match_lung"][name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)
        m = match_nearest(ps, **kw)
    b = balance(d, "sex", COVS, m, categorical=["ph_ecog"])
    assert b.estimand == "ATT"
    assert r["bal_names"] == ["age", "ph_ecog_f0", "ph_ecog_f1", "ph_ecog_f2", "wt_loss"]
    un, adj = _part(b, "unadjusted"), _part(b, "adjusted")
    assert un["level"].tolist() == ["", "0", "1", "2", ""]
    np.testing.assert_allclose(un["mean_treated"], r["mt_all"], rtol=1e-10)
    np.testing.assert_allclose(un["mean_control"], r["mc_all"], rtol=1e-10)
    np.testing.assert_allclose(un["smd"], r["smd_all"], rtol=1e-10)
    np.testing.assert_allclose(un["variance_ratio"], _arr(r["vr_all"]), rtol=1e-10)
    np.testing.assert_allclose(adj["mean_control"], r["mc_m"], rtol=1e-10)
    np.testing.assert_allclose(adj["smd"], r["smd_m"], rtol=1e-10)
    np.testing.assert_allclose(adj["variance_ratio"], _arr(r["vr_m"]), rtol=1e-10)


@pytest.mark.parametrize("est,key", [("ATE", "ate"), ("ATO", "ato"), ("ATT", "att")])
def test_weighted_balance_equals_bal1var(lung, est, key):
    d, ps = lung
    r = REF["balance_lung"][key]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)
        w = psweights(ps, est)
    adj = _part(balance(d, "sex", COVS, w, categorical=["ph_ecog"]), "adjusted")
    np.testing.assert_allclose(adj["mean_treated"], r["mt"], rtol=1e-6)
    np.testing.assert_allclose(adj["mean_control"], r["mc"], rtol=1e-6)
    # ATO balances means exactly: both sides are rounding noise (|SMD| < 1e-13) there
    np.testing.assert_allclose(adj["smd"], r["smd"], rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(adj["variance_ratio"], _arr(r["vr"]), rtol=1e-6)


def test_binary_ato_balances_means_exactly(lung):
    # overlap weights give exact mean balance for every covariate in the logistic model
    d, ps = lung
    adj = _part(balance(d, "sex", COVS, psweights(ps, "ATO"), categorical=["ph_ecog"]),
                "adjusted")
    np.testing.assert_allclose(adj["smd"], 0.0, atol=1e-6)


def test_three_group_balance(lung):
    d = pd.read_csv(REF_DIR / "data" / "adjust_colon.csv")
    ps = propensity_score(d, "rx", ["age", "sex", "extent", "nodes"], categorical=["extent"])
    b = balance(d, "rx", ["age", "sex", "extent", "nodes"], psweights(ps, "ATO"),
                categorical=["extent"])
    adj = _part(b, "adjusted")
    assert adj["comparison"].tolist()[:3] == ["Lev+5FU vs Lev", "Obs vs Lev", "Obs vs Lev+5FU"]
    # multinomial ATO weights nearly balance the means (|SMD| ~1e-3 to 1e-5): the SMD is a
    # difference of nearly equal means, so the 1e-5 agreement of the iterative fits (nnet's
    # BFGS vs statsmodels' Newton) shows as an absolute difference of ~1e-8 on it
    np.testing.assert_allclose(adj["smd"], REF["balance_colon_ato"]["smd"], rtol=1e-5, atol=5e-8)
    np.testing.assert_allclose(adj["variance_ratio"], _arr(REF["balance_colon_ato"]["vr"]),
                               rtol=1e-5)
    assert "all groups" in b.sd_denominator


def test_weighted_table1_hand_values():
    d = pd.DataFrame({"tx": ["A", "A", "A", "B", "B"], "age": [40.0, 50.0, 60.0, 30.0, 70.0],
                      "sex": ["F", "M", "M", "F", "F"]})
    w = pd.Series([1.0, 2.0, 1.0, 3.0, 1.0], index=d.index)
    t = weighted_table1(d, "tx", ["age", "sex"], w)
    a = t[(t["variable"] == "age") & (t["group"] == "A")].iloc[0]
    assert a["weighted_n"] == 4.0
    assert a["weighted_mean"] == pytest.approx(50.0)
    # reliability-weighted variance: sum w (x-m)^2 / (1 - sum w~^2) with w~ = w / sum w
    wn = np.array([1, 2, 1]) / 4
    v = np.sum(wn * (np.array([40, 50, 60]) - 50) ** 2) / (1 - np.sum(wn ** 2))
    assert a["weighted_sd"] == pytest.approx(np.sqrt(v))
    f = t[(t["variable"] == "sex") & (t["level"] == "F") & (t["group"] == "B")].iloc[0]
    assert f["mean"] == 1.0 and f["weighted_mean"] == 1.0
    m = t[(t["variable"] == "sex") & (t["level"] == "M") & (t["group"] == "A")].iloc[0]
    assert m["mean"] == pytest.approx(2 / 3) and m["weighted_mean"] == pytest.approx(3 / 4)


from hypothesis import assume, given, settings, strategies as hs  # noqa: E402


@settings(max_examples=30, deadline=None)
@given(hs.integers(0, 10_000), hs.integers(20, 60))
def test_binary_overlap_weights_balance_means_exactly(seed, n):
    """Property (Li, Morgan & Zaslavsky 2018): with a logistic PS, ATO weights give
    identical weighted means of every model covariate in the two groups."""
    rng = np.random.default_rng(seed)
    x1 = rng.normal(size=n)
    x2 = rng.integers(0, 3, size=n)
    p = 1 / (1 + np.exp(-(0.5 * x1 - 0.3 * x2)))
    tx = (rng.uniform(size=n) < p).astype(int)
    d = pd.DataFrame({"tx": tx, "x1": x1, "x2": x2})
    assume(5 <= tx.sum() <= n - 5)
    assume(all(((d["x2"] == v) & (d["tx"] == t)).any() for v in range(3) for t in (0, 1)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)
        try:
            ps = propensity_score(d, "tx", ["x1", "x2"], categorical=["x2"])
        except PositivityError:                       # separation in a small draw
            assume(False)
        w = psweights(ps, "ATO")
    adj = _part(balance(d, "tx", ["x1", "x2"], w, categorical=["x2"]), "adjusted")
    np.testing.assert_allclose(adj["mean_treated"], adj["mean_control"], atol=1e-8)
