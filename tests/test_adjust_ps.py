"""Propensity scores, weights and matching against R (tests/reference/adjust.R -> adjust.json).

R calls (see the script): ``glm(I(sex == "M") ~ age + factor(ph_ecog) + wt_loss, binomial)``
on survival's lung (complete cases, ECOG 3 merged into 2); ``nnet::multinom(rx ~ age + sex +
factor(extent) + nodes)`` on survival's colon; weights by formula on those fitted values;
``MatchIt::matchit(method = "nearest", distance = <treated x control |logit PS| matrix>)``.
"""

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from aplcohort.adjust import (PositivityError, match_nearest, propensity_score, psweights)
from aplcohort.errors import InputError, StatisticalWarning

REF_DIR = Path(__file__).parent / "reference"
REF = json.loads((REF_DIR / "adjust.json").read_text())


def _lung():
    return pd.read_csv(REF_DIR / "data" / "adjust_lung.csv").set_index("id", drop=False)


def _colon():
    return pd.read_csv(REF_DIR / "data" / "adjust_colon.csv")


@pytest.fixture(scope="module")
def lung_ps():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)
        return propensity_score(_lung(), "sex", ["age", "ph_ecog", "wt_loss"],
                                categorical=["ph_ecog"])


@pytest.fixture(scope="module")
def colon_ps():
    return propensity_score(_colon(), "rx", ["age", "sex", "extent", "nodes"],
                            categorical=["extent"])


def test_binary_ps_matches_glm(lung_ps):
    r = REF["ps_lung"]
    assert lung_ps.groups == ("F", "M")
    np.testing.assert_allclose(lung_ps.scores["M"], r["p_M"], rtol=1e-6)
    np.testing.assert_allclose(lung_ps.coef["coef"], r["coef"], rtol=1e-6)
    np.testing.assert_allclose(lung_ps.coef["se"], r["se"], rtol=1e-6)


def test_multinomial_ps_matches_multinom(colon_ps):
    r = REF["ps_colon"]
    assert colon_ps.groups == ("Lev", "Lev+5FU", "Obs")
    np.testing.assert_allclose(colon_ps.scores.to_numpy(), np.array(r["P"]), rtol=1e-5)
    np.testing.assert_allclose(colon_ps.scores.sum(axis=1), 1.0, rtol=1e-12)


@pytest.mark.parametrize("est,key,kw", [("ATE", "w_ate", {}), ("ATE", "w_ate_stab", {"stabilize": True}),
                                        ("ATT", "w_att", {}), ("ATO", "w_ato", {}),
                                        ("ATM", "w_atm", {})])
def test_binary_weights(lung_ps, est, key, kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)
        w = psweights(lung_ps, est, **kw)
    np.testing.assert_allclose(w.weights, REF["ps_lung"][key], rtol=1e-6)


def test_ess_trim_truncate(lung_ps):
    r = REF["ps_lung"]
    w = psweights(lung_ps, "ATE")
    np.testing.assert_allclose(w.ess["ess"], r["ess_ate"], rtol=1e-6)
    tr = psweights(lung_ps, "ATE", trim=0.2)
    assert tr.weights.index.tolist() == r["trim_keep_id"]
    np.testing.assert_allclose(tr.weights, r["w_ate_trim"], rtol=1e-6)
    assert tr.n_trimmed == len(lung_ps.scores) - len(r["trim_keep_id"])
    assert set(tr.excluded["row"]) == set(lung_ps.scores.index) - set(r["trim_keep_id"])
    assert "0.2" in tr.choices["trimming"]
    tc = psweights(lung_ps, "ATE", truncate=0.9)
    np.testing.assert_allclose(tc.weights, r["w_ate_trunc"], rtol=1e-6)
    assert tc.ess["n_truncated"].sum() > 0


@pytest.mark.parametrize("est,key,kw", [("ATE", "w_ate", {}), ("ATT", "w_att_5fu", {"focal": "Lev+5FU"}),
                                        ("ATO", "w_ato", {}), ("ATM", "w_atm", {})])
def test_multinomial_weights(colon_ps, est, key, kw):
    w = psweights(colon_ps, est, **kw)
    np.testing.assert_allclose(w.weights, REF["ps_colon"][key], rtol=1e-5)
    if est == "ATO":
        np.testing.assert_allclose(w.ess["ess"], REF["ps_colon"]["ess_ato"], rtol=1e-5)


def test_binary_ato_is_one_minus_own_score(lung_ps):
    w = psweights(lung_ps, "ATO")
    np.testing.assert_allclose(w.weights, 1 - lung_ps.score_of_own_group(), rtol=1e-12)


def test_weight_option_errors(lung_ps, colon_ps):
    with pytest.raises(InputError, match="estimand must be one of"):
        psweights(lung_ps, "ATX")
    with pytest.raises(InputError, match="stabilize=True applies to ATE"):
        psweights(lung_ps, "ATO", stabilize=True)
    with pytest.raises(InputError, match="needs focal="):
        psweights(colon_ps, "ATT")
    with pytest.raises(InputError, match="trim must be"):
        psweights(lung_ps, "ATE", trim=0.7)
    with pytest.raises(InputError, match="truncate must be"):
        psweights(lung_ps, "ATE", truncate=99)
    d = pd.DataFrame({"tx": ["A"] * 5 + ["B"] * 8,
                      "age": [20, 21, 22, 23, 60, 25, 55, 60, 65, 70, 75, 80, 58]})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)
        small = propensity_score(d, "tx", ["age"])
    with pytest.raises(InputError, match=r"removes every patient of group\(s\) \['A'"):
        psweights(small, "ATE", trim=0.3)


CONFIGS = {"nn1": {}, "cal02": {"caliper": 0.2},
           "k2_cal025_smallest": {"ratio": 2, "caliper": 0.25, "m_order": "smallest"},
           "repl_cal01": {"replace": True, "caliper": 0.1},
           "k2_repl": {"ratio": 2, "replace": True},
           "exact_ecog": {"exact": ["ph_ecog"], "caliper": 0.5},
           "k3_data": {"ratio": 3, "m_order": "data"}}


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_matching_equals_matchit(lung_ps, name):
    r = REF["match_lung"][name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)
        m = match_nearest(lung_ps, data=_lung(), **CONFIGS[name])
    assert m.treated == "M"
    mm = m.match_matrix()
    ref = {t: [c for c in row if c != -1] for t, row in zip(r["treated_id"], r["match"])}
    got = {t: mm.get(t, []) for t in ref}
    if name == "k2_repl":
        # With replacement and k > 1, MatchIt 4.5.1 breaks EXACT distance ties (controls with
        # identical covariates, hence identical scores) in an order of its own; we take row
        # order. The matched sets are then equal up to interchangeable tied controls: compare
        # the controls' scores exactly, and the ids wherever no tie exists.
        lp = lung_ps.logit("M")
        assert {t: sorted(lp.loc[v]) for t, v in got.items()} == \
            {t: sorted(lp.loc[v]) for t, v in ref.items()}
        no_tie = [t for t, v in ref.items() if lp.loc[v].nunique() == len(v) and
                  not lp[(lung_ps.treatment == "F")].duplicated(keep=False).loc[v].any()]
        assert len(no_tie) > 50
        assert {t: got[t] for t in no_tie} == {t: ref[t] for t in no_tie}
    else:
        assert got == ref                                 # exact equality of matched sets
    w = m.weights.loc[r["weights_id"]]
    rw = pd.Series(r["weights"], index=r["weights_id"])
    if name == "k2_repl":       # tied controls share their total weight
        key = lung_ps.logit("M").loc[r["weights_id"]].to_numpy()
        w, rw = w.groupby(key).sum(), rw.groupby(key).sum()
    np.testing.assert_allclose(w.to_numpy(), rw.to_numpy(), rtol=1e-12)
    n_unmatched_treated = sum(1 for v in ref.values() if not v)
    assert (m.unmatched["group"] == "M").sum() == n_unmatched_treated


def test_caliper_in_sd_of_logit(lung_ps):
    m = match_nearest(lung_ps, caliper=0.2)
    assert m.caliper_logit == pytest.approx(0.2 * REF["match_lung"]["sd_lp"], rel=1e-6)
    assert (m.pairs["distance"] <= m.caliper_logit).all()
    assert set(m.unmatched.loc[m.unmatched["group"] == "M", "reason"]) <= {
        "no control within the caliper", "no eligible control left (all used)"}


def test_random_order_is_seeded(lung_ps):
    a = match_nearest(lung_ps, m_order="random", seed=3, caliper=0.1)
    b = match_nearest(lung_ps, m_order="random", seed=3, caliper=0.1)
    pd.testing.assert_frame_equal(a.pairs, b.pairs)
    with pytest.raises(InputError, match="needs seed="):
        match_nearest(lung_ps, m_order="random")


def test_matching_rejects_three_groups(colon_ps):
    with pytest.raises(InputError, match="matching compares two groups"):
        match_nearest(colon_ps)


def test_positivity_error_names_group_and_level():
    d = pd.DataFrame({"tx": ["ATO"] * 6 + ["allo"] * 4,
                      "regimen": ["IC", "ATO", "ATO", "IC", "ATO", "IC", "ATO", "ATO", "ATO", "ATO"],
                      "age": [30, 41, 52, 63, 45, 38, 29, 33, 50, 47]})
    with pytest.raises(PositivityError, match=r"regimen = 'IC': no patient of group\(s\) \['allo'\]"):
        propensity_score(d, "tx", ["age", "regimen"])
    d2 = pd.DataFrame({"tx": ["A"] * 5 + ["B"] * 5, "age": [20, 22, 25, 27, 29, 50, 55, 60, 61, 70]})
    with pytest.raises(PositivityError, match="group 'A' ranges 20 to 29"):
        propensity_score(d2, "tx", ["age"])


def test_separation_after_fit_is_positivity_error():
    # overlapping ranges, but a linear combination separates the groups
    d = pd.DataFrame({"tx": [0, 0, 0, 0, 1, 1, 1, 1],
                      "x1": [1, 2, 3, 4, 1, 2, 3, 4], "x2": [1, 2, 3, 4, 3, 4, 5, 6]})
    with pytest.raises(PositivityError, match="separation|did not converge"):
        propensity_score(d, "tx", ["x1", "x2"])


def test_missing_covariates_are_recorded():
    d = _lung().reset_index(drop=True).head(60).copy()
    d.loc[[3, 7], "wt_loss"] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)
        ps = propensity_score(d, "sex", ["age", "wt_loss"])
    assert ps.excluded["row"].tolist() == [3, 7]
    assert ps.excluded["reason"].str.contains("wt_loss").all()
    assert len(ps.scores) == 58


def test_low_events_per_covariate_warns():
    d = _lung().head(30)
    with pytest.warns(StatisticalWarning, match="fewer than 10 per coefficient"):
        propensity_score(d, "sex", ["age", "ph_ecog", "wt_loss"], categorical=["ph_ecog"])


def test_patients_with_the_same_covariates_get_the_same_score(lung_ps, colon_ps):
    """Bit for bit, as in R: a score that differed in its last bit between two identical
    rows (a BLAS product over all rows) reordered exact ties in nearest-neighbour matching,
    so the matched controls depended on the machine (lung ids 129 and 213)."""
    for ps, covs, data in ((lung_ps, ["age", "ph_ecog", "wt_loss"], _lung()),
                           (colon_ps, ["age", "sex", "extent", "nodes"], _colon())):
        d = data.loc[ps.scores.index]
        key = d[covs].astype(str).agg("|".join, axis=1)
        dup = key.duplicated(keep=False)
        assert dup.sum() > 10                      # the data have tied covariate rows
        for _, idx in key[dup].groupby(key[dup]).groups.items():
            block = ps.scores.loc[idx].to_numpy()
            assert (block == block[0]).all(), idx.tolist()
    lp = lung_ps.logit("M")
    assert lp.loc[129] == lp.loc[213]
