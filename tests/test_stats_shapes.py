"""The shared result shapes (curves, terms) and result objects usable as values."""

from __future__ import annotations

import dataclasses
import importlib
import json
import pkgutil
import warnings

import numpy as np
import pandas as pd
import pytest

import aplcohort.stats as S
from aplcohort.stats import shapes
from aplcohort.stats.competing import cumulative_incidence, gray_test, pairwise_gray
from aplcohort.stats.cox import cox_fit, coxph, univariable_multivariable
from aplcohort.stats.finegray import crr_fit, fine_gray
from aplcohort.stats.finegray_td import td_fine_gray
from aplcohort.stats.firth import firth_cox_fit, firth_coxph
from aplcohort.stats.grouptests import compare_response_rates, fisher_exact
from aplcohort.stats.km import kaplan_meier, rmst_difference
from aplcohort.stats.landmark import landmark
from aplcohort.stats.logrank import logrank_test, pairwise_logrank
from aplcohort.stats.outcome import Outcome
from aplcohort.stats._design import build_design
from aplcohort.stats.timedep import (check_intervals, compare_naive_vs_timedependent,
                                     immortal_time_check, mantel_byar, simon_makuch,
                                     split_at_exposure)
from aplcohort.stats.zph import cox_zph


def _cohort(n=60, seed=3):
    rng = np.random.default_rng(seed)
    d = pd.DataFrame({"pid": range(n), "t": rng.exponential(20, n).round(1) + 0.5,
                      "e": rng.integers(0, 2, n), "code": rng.integers(0, 3, n),
                      "arm": rng.choice(["A", "B"], n), "age": rng.normal(50, 8, n).round(),
                      })
    d["tx"] = np.where(rng.random(n) < 0.5, (d["t"] * rng.random(n)).round(1), np.nan)
    return d


def _instances():
    from aplcohort.stats.rmst import rmst2 as _rmst2
    d = _cohort()
    km = kaplan_meier(d.t, d.e, d.arm)
    cox = coxph(d, time="t", event="e", covariates=["age", "arm"])
    sp = split_at_exposure(d, id="pid", time="t", event="e", exposure_time="tx")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lm = landmark(d, landmark=5, time="t", event="e", id="pid", exposure_time="tx")
        nv = compare_naive_vs_timedependent(d, time="t", event="e", id="pid",
                                            exposure_time="tx")
        itc = immortal_time_check(d.assign(g=d.tx.notna().astype(int)), time="t", group="g",
                                  treatment_time={1: "tx"}, warn=False)
    return {
        "KMResult": km,
        "RMSTDifferenceResult": rmst_difference(d.t, d.e, d.arm, tau=10),
        "LogRankResult": logrank_test(d.t, d.e, d.arm),
        "PairwiseResult": pairwise_logrank(d.t, d.e, d.arm),
        "CIFResult": cumulative_incidence(d.t, d.code, d.arm),
        "GrayResult": gray_test(d.t, d.code, d.arm),
        "PairwiseGrayResult": pairwise_gray(d.t, d.code, d.arm),
        "CoxResult": cox,
        "CoxFit": cox_fit(d[["age"]].to_numpy(float), d.t, d.e),
        "UniMultiResult": univariable_multivariable(d, time="t", event="e",
                                                    covariates=["age", "arm"]),
        "FineGrayResult": fine_gray(d, time="t", code="code", covariates=["age"]),
        "CrrFit": crr_fit(d.t, d.code, d[["age"]].to_numpy(float)),
        "FirthCoxResult": firth_coxph(d, time="t", event="e", covariates=["arm"]),
        "FirthFit": firth_cox_fit(d[["age"]].to_numpy(float), d.t, d.e, profile=False),
        "TestResult": fisher_exact([[3, 4], [5, 1]]),
        "RateComparisonResult": compare_response_rates(3, 10, 7, 10),
        "LandmarkResult": lm,
        "IntervalCheck": check_intervals(sp, id="pid", start="tstart", stop="tstop", event="e"),
        "ImmortalTimeCheck": itc,
        "MantelByarResult": mantel_byar(d, time="t", event="e", id="pid", exposure_time="tx"),
        "SimonMakuchResult": simon_makuch(d, time="t", event="e", id="pid", exposure_time="tx"),
        "NaiveVsTimeDependent": nv,
        "ZphResult": cox_zph(cox),
        "ConcordanceResult": cox.concordance(),
        "CoxSurvivalResult": cox.survfit(),
        "Outcome": Outcome.right(d.t, d.e),
        "Design": build_design(d, ["age", "arm"]),
        "CumHazResult": km.cumhaz(),
        "RMSTResult": _rmst2(d.t, d.e, d.arm),
        "TDFineGrayResult": td_fine_gray(d, time="t", code="code", id="pid", exposure_time="tx",
                                         covariates=["age"]),
    }


def _stats_dataclasses():
    out = {}
    for m in pkgutil.iter_modules(S.__path__):
        mod = importlib.import_module(f"aplcohort.stats.{m.name}")
        for name, obj in vars(mod).items():
            if isinstance(obj, type) and dataclasses.is_dataclass(obj) \
                    and obj.__module__ == mod.__name__:
                out[name] = obj
    return out


def test_every_result_class_is_usable_as_a_value():
    inst = _instances()
    classes = _stats_dataclasses()
    assert set(classes) == set(inst), "give every dataclass of aplcohort.stats an instance here"
    for name, a in inst.items():
        assert type(a).__name__ == name
        b = _instances()[name] if name in ("KMResult", "CoxResult") else None
        assert a == a and not (a != a)          # no crash on DataFrame / array fields
        assert isinstance(hash(a), int) and hash(a) == hash(a)
        assert {a: 1}[a] == 1 and len({a, a}) == 1
        if b is not None:                       # identity semantics: equal values, distinct
            assert a != b and len({a, b}) == 2
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(a, dataclasses.fields(a)[0].name, None)


# ----------------------------------------------------------------------------- curves
def _curve_results():
    d = _cohort()
    sm = simon_makuch(d, time="t", event="e", id="pid", exposure_time="tx")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lm = landmark(d, landmark=5, time="t", event="e", id="pid", exposure_time="tx")
    cox = coxph(d, time="t", event="e", covariates=["age", "arm"])
    return [kaplan_meier(d.t, d.e, d.arm), kaplan_meier(d.t, d.e),
            cumulative_incidence(d.t, d.code, d.arm), sm, lm.km[5.0],
            cox.survfit(d.iloc[:2][["age", "arm"]])]


@pytest.mark.parametrize("k", range(6))
def test_curve_shape(k):
    r = _curve_results()[k]
    assert list(r.table.columns) == shapes.CURVE_COLUMNS
    assert str(r.table["cause"].dtype) == "Int64"
    if r.curve == "survival":
        assert r.table["cause"].isna().all()
    else:
        assert r.curve == "cumulative incidence" and r.table["cause"].notna().all()
    at = r.at([0, 5, 1e6])
    assert list(at.columns) == shapes.AT_COLUMNS
    past = at[at["time"] == 1e6]
    assert past["estimate"].isna().all() and (past["note"] == shapes.NOTE_PAST_FOLLOWUP).all()
    shown = at[at["estimate"].notna()]
    # an SE of 0 (no event yet) or an undefined SE carries its reason; other rows no note
    want = np.select([shown["std_err"] == 0, shown["std_err"].isna()],
                     [shapes.NOTE_SE_ZERO, shapes.NOTE_SE_UNDEFINED], "")
    assert (shown["note"] == want).all()
    med = r.median()
    assert list(med.columns) == shapes.MEDIAN_COLUMNS
    # a NaN median or limit always carries its reason
    assert (med["note"] == np.select([med["median"].isna(), med["lower"].isna() & med["upper"].isna(),
                                      med["lower"].isna(), med["upper"].isna()],
                                     ["not reached", "confidence limits not reached",
                                      "lower confidence limit not reached",
                                      "upper confidence limit not reached"], "")).all()
    assert {"group", "time", "n_risk"} <= set(r.risk_table([0, 5]).columns)
    assert r.conf_type in ("log", "log-log", "plain") and 0 < r.conf_level < 1
    assert list(r.groups) == list(pd.unique(r.table["group"]))
    json.dumps(r.to_dict())
    with pytest.warns(DeprecationWarning, match="at"):
        old = r.survival_at([5])
    pd.testing.assert_frame_equal(old, r.at([5]))


# ----------------------------------------------------------------------------- terms
def test_terms_shape_for_every_regression():
    d = _cohort()
    sp = d.assign(cs=(d.code == 1).astype(int))
    from aplcohort.stats.competing import cause_specific_cox
    from aplcohort.stats.timedep import td_coxph
    res = [coxph(d, time="t", event="e", covariates=["age", "arm"]),
           cause_specific_cox(d, time="t", code="code", cause=1, covariates=["age"]),
           td_coxph(d, time="t", event="e", id="pid", exposure_time="tx"),
           fine_gray(sp, time="t", code="code", covariates=["age", "arm"]),
           firth_coxph(d, time="t", event="e", covariates=["arm"])]
    for r in res:
        assert list(r.terms.columns) == shapes.TERM_COLUMNS
        assert r.scale in ("HR", "SHR") and r.variance in ("model", "robust")
        assert 0 < r.conf_level < 1
        t = r.terms
        np.testing.assert_allclose(t["estimate"], np.exp(t["coef"]), rtol=1e-14)
        assert (t["lower"] < t["estimate"]).all() and (t["estimate"] < t["upper"]).all()
        assert t["estimable"].all() and (t["note"] == "").all()
    assert res[3].scale == "SHR"


def test_terms_frame_non_estimable_and_robust():
    t = shapes.terms_frame(["a", "b"], [0.5, 7.0], [0.2, 0.1], robust_se=[0.4, 0.1],
                           conf_level=0.9, estimable=[True, False], notes=["", "why"])
    z = shapes.z_value(0.9)
    assert t.loc[0, "lower"] == pytest.approx(np.exp(0.5 - z * 0.4), rel=1e-14)
    assert t.loc[0, "statistic"] == pytest.approx(0.5 / 0.4, rel=1e-14)
    assert t.loc[1, ["coef", "se", "robust_se", "estimate", "lower", "upper", "statistic",
                     "p"]].isna().all()
    assert t.loc[1, "note"] == "why" and not t.loc[1, "estimable"]
    from scipy import stats as sst
    assert shapes.z_value(0.9) == pytest.approx(sst.norm.ppf(0.95), rel=1e-15)
