"""Every key the registry accepts changes the output, or is rejected.

Generic over :data:`aplcohort.plan.registry.KINDS`: for each kind, every key its
settings model accepts must appear in ``VARIANTS`` below with a value that changes
the analysis's output (results.json summary, tables, or figures) relative to the
same analysis without it -- or with a value that validation rejects. A key added to
the registry without an effect (or without an entry here) fails this test.
"""

import dataclasses
import hashlib
import io
import json
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
import pandas as pd
import pytest

from aplcohort.errors import PlanError
from aplcohort.plan.kinds import run_analysis
from aplcohort.plan.registry import KINDS
from aplcohort.plan.runner import plan_context
from aplcohort.plan.spec import parse_analysis

matplotlib.use("Agg")

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data" / "synthetic" / "min2022.csv"
W = "postremission_modality in ['ATO-based', 'auto HSCT', 'allo HSCT']"
R = "reinduction_regimen in ['ATO-based', 'IC']"

PLAN = {"plan": "keys", "data": {"source": str(DATA)},
        "endpoints": {"os": {"endpoint": "OS", "time_zero": "response", "unit": "months"},
                      "os_rel": {"endpoint": "OS", "time_zero": "relapse1", "unit": "months"},
                      "cir": {"endpoint": "CIR", "time_zero": "response", "unit": "months"},
                      "nrm": {"endpoint": "NRM", "time_zero": "response", "unit": "months"},
                      # times recorded to the whole month (tied event times, where `ties` matters)
                      "os_m": {"time": "os_months", "event": "died", "unit": "months"},
                      "cr_m": {"time": "cr_months", "code": "cr_code", "unit": "months"}},
        "analyses": [{"id": "c", "kind": "counts", "columns": ["sex"]}]}


class Rej:
    """A value (in a context) that validation must reject with ``match``."""

    def __init__(self, value, match, **ctx):
        self.value, self.match, self.ctx = value, match, ctx


def V(value, without=(), **ctx):
    """A value that must change the output; ``ctx`` keys are added to both runs,
    ``without`` keys removed from both."""
    return {"value": value, "ctx": ctx, "without": tuple(without)}


BASE = {
    "km": {"endpoint": "os", "group": "postremission_modality", "where": W},
    "logrank": {"endpoint": "os", "group": "postremission_modality", "where": W},
    "rmst": {"endpoint": "os", "group": "sex", "where": W},
    "cif": {"endpoint": "cir", "group": "postremission_modality", "where": W},
    "gray": {"endpoint": "cir", "group": "postremission_modality", "where": W},
    "cox": {"endpoint": "os_rel", "covariates": ["age_at_relapse", "sex"], "categorical": {"sex": "F"}},
    "finegray": {"endpoint": "cir", "covariates": ["age_at_relapse", "sex"], "categorical": {"sex": "F"},
                 "where": "response.notna()"},
    "cause_specific_cox": {"endpoint": "cir", "covariates": ["age_at_relapse", "sex"],
                           "categorical": {"sex": "F"}, "cause": 1, "where": "response.notna()"},
    "landmark": {"endpoint": "os", "exposure": "hsct_start_date", "landmarks": [3], "where": W},
    "td_cox": {"endpoint": "os", "exposure": "hsct_start_date", "where": W},
    "td_finegray": {"endpoint": "cir", "exposure": "hsct_start_date", "where": W},
    "mantel_byar": {"endpoint": "os", "exposure": "hsct_start_date", "where": W},
    "simon_makuch": {"endpoint": "os", "exposure": "hsct_start_date", "where": W},
    "immortal_time": {"endpoint": "os", "group": "hsct", "exposure": "hsct_start_date", "where": W},
    "response": {"group": "reinduction_regimen", "outcome": "response == 'mCR2'", "where": R},
    "table1": {"group": "reinduction_regimen", "variables": ["age_at_relapse", "sex"], "where": R},
    "counts": {"columns": ["sex"]},
    "flow": {},
    "swimmer": {},
    "multistate": {"cr3_entry": "salvage_start", "times": [12, 60]},
    "clfs": {"cr3_entry": "salvage_start", "times": [12, 60]},
}
ALIVE_DEAD = {"states": [{"name": "relapse", "date": "relapse1_date"},
                         {"name": "death", "date": "death_date", "absorbing": True}],
              "transitions": [["relapse", "death"]]}
STATES = {"table": [V(False)], "figure": [V(False)],
          "cr3_entry": [V("date", on_error="exclude"), Rej("cr4", "salvage_start")],
          "unit": [V("days")], "cutoff": [V("2015-01-01")],
          "on_error": [V("exclude", cr3_entry="date")],
          "group": [V("sex")], "order": [V(["F", "M"], group="sex"), Rej(["M"], "needs 'group'")],
          "times": [V([24.0])], "tau": [V(60.0), Rej(-1, "greater than 0")],
          "conf_type": [V("plain")], "conf_level": [V(0.9)]}

COMMON = {"title": [V("Another title")], "where": [V("sex == 'F'")]}
CURVE = {"times": [V([12.0, 36.0])], "ticks": [V([0.0, 10.0, 20.0]), Rej([0, 10], "figure is false", figure=False)],
         "label": [V("Another label")], "figure": [V(False)], "table": [V(False)]}
GROUPED = {"group": [V("sex")], "order": [V(["allo HSCT", "auto HSCT", "ATO-based"])]}

VARIANTS = {
    "km": {**COMMON, **CURVE, **GROUPED, "where": [V(W + " and sex == 'F'")],
           "endpoint": [V("os_rel")], "strata": [V("sex")],
           "conf_type": [V("plain"), Rej("lgo", "not allowed")], "conf_level": [V(0.9), Rej(1.5, "less than 1")],
           "test": [V("peto"), V("none")], "rho": [V(1.0), Rej(1.0, "test: logrank only", test="peto")],
           "p": [V(1.0, test="fleming-harrington"), V(1.0, test="fleming-harrington", pairwise=True),
                 Rej(1.0, "fleming-harrington only"), Rej(1.0, "fleming-harrington only", test="peto")],
           "q": [V(1.0, test="fleming-harrington"), Rej(1.0, "fleming-harrington only")],
           "pairwise": [V(True)],
           "adjust": [V("bonferroni", pairwise=True), Rej("bonferroni", "set pairwise: true")],
           "hr": [V(True)], "median_followup": [V(True)], "landmarks": [V([3.0, 6.0])],
           "ctype": [V(2, stype=2), Rej(3, "ctype")], "stype": [V(2)],
           "start_time": [V(6.0)], "cumhaz": [V(True)]},
    "logrank": {**COMMON, **GROUPED, "where": [V(W + " and sex == 'F'")], "endpoint": [V("os_rel")],
                "table": [V(False)], "strata": [V("sex")], "test": [V("gehan")], "rho": [V(1.0)],
                "p": [V(1.0, test="fleming-harrington"), Rej(1.0, "fleming-harrington only")],
                "q": [V(1.0, test="fleming-harrington")], "trend": [V(True)],
                "scores": [V([0.0, 1.0, 3.0], trend=True), Rej([0, 1, 2], "needs trend: true")],
                "pairwise": [V(True)], "adjust": [V("BH", pairwise=True)],
                "landmarks": [V([3.0, 6.0])]},
    "rmst": {**COMMON, "where": [V(W + " and postremission_modality != 'allo HSCT'")],
             "endpoint": [V("os_rel")], "table": [V(False)],
             "group": [V("postremission_modality",
                         where=W + " and postremission_modality != 'allo HSCT'")],
             "order": [V(["F", "M"])], "tau": [V(12.0), Rej(-1, "greater than 0")],
             "conf_level": [V(0.9)]},
    "cif": {**COMMON, **CURVE, **GROUPED, "where": [V(W + " and sex == 'F'")], "endpoint": [V("nrm")],
            "cause": [V(2)], "strata": [V("sex")], "conf_type": [V("log")], "conf_level": [V(0.9)],
            "test": [V("none"), Rej("grey", "not allowed")], "rho": [V(1.0)], "pairwise": [V(True)],
            "adjust": [V("none", pairwise=True)],
            "variance": [V("ij"), V("greenwood"), V("aalen"), Rej("delta", "not allowed")],
            "extend": [V(True, times=[12.0, 1200.0]), Rej(True, "give times")],
            "landmarks": [V([3.0, 6.0], times=[12.0])]},
    "gray": {**COMMON, **GROUPED, "where": [V(W + " and sex == 'F'")], "endpoint": [V("nrm")],
             "table": [V(False)], "cause": [V(2)], "rho": [V(1.0)], "strata": [V("sex")],
             "landmarks": [V([3.0, 6.0])]},
    "cox": {**COMMON, "where": [V("center == 'Center A'")], "endpoint": [V("os")],
            "covariates": [V(["age_at_relapse"], without=("categorical",))],
            "categorical": [V({"sex": "M"}), Rej({"center": "Center A"}, "not among the covariates")],
            "conf_level": [V(0.9)], "figure": [V(False)], "table": [V(False)], "strata": [V("center")],
            "ties": [V("breslow", endpoint="os_m"), V("exact", endpoint="os_m"),
                     Rej("exact", "no robust", robust=True)], "robust": [V(True), Rej(True, "not available with firth", firth=True)],
            "cluster": [V("center"), Rej("center", "implies the robust variance", robust=False)], "univariable": [V(True)], "firth": [V(True)], "zph": [V(True)],
            # issue 16 (Cox extras)
            "zph_transform": [V("log", zph=True, where="os_months > 0"), Rej("rank", "need zph: true")],
            "zph_plot": [V(True, zph=True), Rej(True, "need zph: true")],
            "concordance": [V(True), Rej(True, "not available with firth", firth=True)],
            "auc_times": [V([12.0, 24.0], concordance=True), Rej([12.0], "needs concordance: true")],
            "residuals": [V(["martingale", "dfbeta"]), V(["deviance"], ties="exact", endpoint="os_m"),
                          Rej(["score"], "not available with ties: exact", ties="exact")],
            "basehaz": [V("centered"), V("zero")],
            "predict": [V({"60 F": {"age_at_relapse": 60, "sex": "F"}}),
                        Rej({"a": {"age_at_relapse": 60}}, "lacks covariate"),
                        Rej({"a": {"age_at_relapse": 60, "sex": "F", "wbc": 3}}, "not covariates")],
            "predict_times": [V([12.0], predict={"p": {"age_at_relapse": 60, "sex": "F"}}),
                              Rej([12.0], "need 'predict'")],
            "predict_conf_type": [V("log-log", predict={"p": {"age_at_relapse": 60, "sex": "F"}})]},
    "finegray": {**COMMON, "where": [V("center == 'Center A'")], "endpoint": [V("nrm")], "covariates": [V(["age_at_relapse"], without=("categorical",))],
                 "categorical": [V({"sex": "M"})], "conf_level": [V(0.9)], "figure": [V(False)],
                 "table": [V(False)], "cause": [V(2), Rej(0, "greater than or equal to 1")],
                 "cov2": [V({"age_at_relapse": "identity"}), V({"age_at_relapse": "step(12)"}),
                          Rej({"age_at_relapse": "exp"}, "unknown time function"),
                          Rej({"age_at_relapse": "__import__('os')"}, "unknown time function")],
                 "cengroup": [V("center"),
                              Rej("center", "not combined", propensity={"treatment": "sex", "method": "iptw", "covariates": ["age_at_relapse"]})],
                 "max_iter": [V(1), Rej(0, "whole number >= 1"), Rej(True, "whole number >= 1"),
                              Rej(2.5, "whole number >= 1"), Rej("25", "whole number >= 1")]},
    "cause_specific_cox": {**COMMON, "where": [V("center == 'Center A'")], "endpoint": [V("nrm")],
                           "covariates": [V(["age_at_relapse"], without=("categorical",))],
                           "categorical": [V({"sex": "M"})], "conf_level": [V(0.9)], "figure": [V(False)],
                           "table": [V(False)], "cause": [V(2)], "ties": [V("breslow", endpoint="cr_m")]},
    "landmark": {**COMMON, "where": [V(W + " and sex == 'F'")], "endpoint": [V("os_rel")],
                 "exposure": [V("postremission_start_date"), Rej("hsct_start_date", "exactly one",
                                                                  group="sex")],
                 "group": [V("sex", without=("exposure",), group="postremission_modality")],
                 "order": [V(["F", "M"], without=("exposure",), group="sex"),
                           Rej(["M", "F"], "'order' needs 'group'")],
                 "landmarks": [V([6.0])], "times": [V([12.0])],
                 "covariates": [V(["age_at_relapse"])],
                 # M is the dictionary's first level of sex, the default reference (review 14)
                 "categorical": [V({"sex": "F"}, covariates=["sex"])], "ties": [V("breslow")],
                 "conf_type": [V("plain")], "conf_level": [V(0.9)], "table": [V(False)],
                 "labels": [V(["no HSCT yet", "HSCT by the landmark"]),
                            Rej(["a", "a"], "two different labels")]},
    "td_cox": {**COMMON, "where": [V(W + " and sex == 'F'")], "endpoint": [V("os_rel")],
               "exposure": [V("postremission_start_date")], "covariates": [V(["age_at_relapse"])],
               "categorical": [V({"sex": "F"}, covariates=["sex"]), Rej({"sex": "M"}, "not among the covariates")],
               "ties": [V("breslow", endpoint="os_m", exposure="hsct_months", covariates=["age_at_relapse"])],
               "robust": [V(True)], "conf_level": [V(0.9)], "table": [V(False)],
               "figure": [V(False)]},
    "td_finegray": {**COMMON, "where": [V(W + " and sex == 'F'")], "endpoint": [V("nrm")],
                    "exposure": [V("postremission_start_date")], "covariates": [V(["age_at_relapse"])],
                    "categorical": [V({"sex": "F"}, covariates=["sex"]), Rej({"sex": "M"}, "not among the covariates")],
                    "cause": [V(2), Rej(0, "greater than or equal to 1")],
                    "ties": [V("breslow", endpoint="cr_m", exposure="hsct_months")],
                    "cluster": [V(True)], "conf_level": [V(0.9)], "table": [V(False)]},
    "mantel_byar": {**COMMON, "where": [V(W + " and sex == 'F'")], "endpoint": [V("os_rel")],
                    # (postremission_start_date: every patient is exposed before the first
                    # death, so the test is not defined; it used to print 0, p = 1)
                    "exposure": [V("relapse2_date")],
                    "ties": [V("breslow", where="os_months > 0", endpoint="os_m", exposure="hsct_months")]},
    "simon_makuch": {**COMMON, **CURVE, "where": [V(W + " and sex == 'F'")], "endpoint": [V("os_rel")],
                     "exposure": [V("postremission_start_date")], "conf_type": [V("plain")],
                     "conf_level": [V(0.9)], "labels": [V(["no HSCT yet", "HSCT"]), Rej(["a"], "at least 2")]},
    "immortal_time": {**COMMON, "where": [V(W + " and sex == 'F'")], "endpoint": [V("os_rel")],
                      "exposure": [V("relapse2_date")],
                      "group": [V("postremission_modality", reference="ATO-based")],
                      "order": [V(["auto HSCT"], group="postremission_modality", reference="ATO-based"),
                                Rej(["HSCT"], "give 'reference'")],
                      "reference": [V("ATO-based", group="postremission_modality")],
                      "landmarks": [V([3.0])], "table": [V(False)]},
    "response": {**COMMON, "where": [V(R + " and sex == 'F'")], "group": [V("sex")],
                 "order": [V(["IC", "ATO-based"])], "outcome": [V("infection_grade3 == True")],
                 "outcome_label": [V("molecular CR2")], "conf_level": [V(0.9)], "table": [V(False)]},
    "table1": {**COMMON, "where": [V(R + " and sex == 'F'")], "group": [V("sex")],
               "order": [V(["IC", "ATO-based"])], "variables": [V(["age_at_relapse"])],
               "parametric": [V(True)], "smd": [V(True)], "overall": [V(False)], "table": [V(False)],
               "kinds": [V({"age_at_relapse": "categorical"}),
                         Rej({"sex": "continuous", "age_at_diagnosis": "categorical"},
                             "not among the variables")]},
    "counts": {**COMMON, "columns": [V(["center"])], "table": [V(False)]},
    "flow": {**COMMON, "figure": [V(False)]},
    "multistate": {**COMMON, **STATES, "model": [V(ALIVE_DEAD)], "time_zero": [V("CR2")],
                   "covariates": [V(["age_at_diagnosis"])],
                   "shared": [V({"age_at_diagnosis": [["ATO-based", "relapse2"], ["auto HSCT", "relapse2"]]})],
                   "categorical": [V({"sex": "M"}, covariates=["sex"])]},
    "clfs": {**COMMON, **STATES, "time_zero": [V("relapse1")], "dfs_os": [V("kaplan-meier")]},
    "swimmer": {**COMMON, "figure": [V(False)], "color_by": [V("sex")], "sort_by": [V("sex")],
                "unit": [V("days"), Rej("fortnights", "not allowed")],
                "missing_label": [V("no consolidation")]},
}

# the propensity-score adjustment (aplcohort.adjust): on cox / finegray it names its treatment
for _k in ("cox", "finegray"):
    VARIANTS[_k]["propensity"] = [
        V({"treatment": "sex", "method": "iptw", "covariates": ["age_at_relapse"]}),
        Rej({"method": "iptw", "covariates": ["age_at_relapse"]}, "needs 'treatment: COLUMN'"),
        Rej({"treatment": "sex", "method": "iptw", "covariates": ["age_at_relapse"], "ratio": 2},
            "do not apply to method 'iptw'")]
# ... and on the kinds that compare groups
for _k in ("km", "logrank", "cif", "table1"):
    VARIANTS[_k]["propensity"] = [
        V({"method": "iptw", "covariates": ["age_at_relapse"]}),
        Rej({"method": "iptw", "covarites": ["age_at_relapse"]}, "did you mean 'covariates'"),
        Rej({"method": "iptw", "covariates": ["age_at_relapse"], "caliper": 0.2},
            "do not apply to method 'iptw'"),
        Rej({"treatment": "sex", "method": "iptw", "covariates": ["age_at_relapse"]},
            "the treatment is 'group'")]


@pytest.fixture(scope="module")
def ctx(tmp_path_factory):
    """The synthetic Min 2022 cohort plus whole-month follow-up columns (tied times)."""
    d = pd.read_csv(DATA)
    dates = {c: pd.to_datetime(d[c]) for c in ("relapse1_date", "death_date", "last_followup_date",
                                                "relapse2_date", "postremission_start_date")}
    end = dates["death_date"].fillna(dates["last_followup_date"])
    month = pd.Timedelta(days=30.4375)
    d["os_months"] = ((end - dates["relapse1_date"]) / month).round()
    d["died"] = d["death_date"].notna().astype(int)
    first = dates["relapse2_date"].fillna(end)
    d["cr_months"] = ((first - dates["relapse1_date"]) / month).round()
    d["cr_code"] = [1 if pd.notna(r) else (2 if pd.notna(x) else 0)
                    for r, x in zip(d["relapse2_date"], d["death_date"])]
    hsct = d["postremission_modality"].isin(["auto HSCT", "allo HSCT"])
    d["hsct_months"] = ((dates["postremission_start_date"] - dates["relapse1_date"]) / month).round(1).where(hsct)
    # one patient in remission after salvage without a CR3 date (a data error of the kind
    # multistate/clfs `on_error` handles; the replica itself has every CR3 date)
    first_cr3 = d.index[d["cr3_date"].notna()][0]
    d.loc[first_cr3, "cr3_date"] = None
    path = tmp_path_factory.mktemp("keys") / "cohort.csv"
    d.to_csv(path, index=False)
    c = plan_context(PLAN, data=path, figures=False)
    # a numeric column outside the dictionary with blank cells is typed by the cohort's
    # typing policy (issue 11, input layer); here it is made numeric explicitly so that
    # this test does not depend on that policy
    c.cohort = dataclasses.replace(c.cohort, data=c.cohort.data.assign(
        hsct_months=pd.to_numeric(c.cohort.data["hsct_months"].replace("", None))))
    return c


def _run(ctx, a, figures):
    ctx.figures = figures
    try:
        return run_analysis(ctx, a)
    finally:
        ctx.figures = False


def _rounded(x):
    """Numbers to 9 significant digits: a change must be real, not floating-point noise."""
    if isinstance(x, float):
        return float(f"{x:.9g}")
    if isinstance(x, dict):
        return {k: _rounded(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_rounded(v) for v in x]
    return x


def _tables(out):
    res = []
    for name, cap, tab in out.tables:
        df = getattr(tab, "data", tab)
        res.append((name, cap, df.to_csv(index=False, float_format="%.9g")))
    return res


def _figures(out):
    res = []
    for name, fig in out.figures:
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=30)
        plt.close(fig)
        res.append((name, hashlib.sha256(buf.getvalue()).hexdigest()))
    return res


def _differs(ctx, a, b) -> bool:
    oa, ob = _run(ctx, a, False), _run(ctx, b, False)
    ja = json.dumps(_rounded(oa.summary), default=str)
    jb = json.dumps(_rounded(ob.summary), default=str)
    if ja != jb or _tables(oa) != _tables(ob):
        return True
    fa, fb = _figures(_run(ctx, a, True)), _figures(_run(ctx, b, True))
    return fa != fb


def test_every_kind_has_a_base_and_every_key_a_variant():
    assert set(BASE) == set(KINDS) == set(VARIANTS)
    for kind, spec in KINDS.items():
        keys = set(spec.keys) - {"id", "kind"}
        assert keys == set(VARIANTS[kind]), (
            f"{kind}: keys accepted by the registry without a variant here: "
            f"{sorted(keys - set(VARIANTS[kind]))}; variants of keys the registry does not accept: "
            f"{sorted(set(VARIANTS[kind]) - keys)}")


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_accepted_key_changes_the_output_or_is_rejected(kind, ctx):
    base = {"id": f"{kind}_x", "kind": kind, **BASE[kind]}
    failures = []
    for key, cases in VARIANTS[kind].items():
        assert cases, f"{kind}.{key}: no variant"
        for case in cases:
            if isinstance(case, Rej):
                a = {**base, **case.ctx, key: case.value}
                with pytest.raises(PlanError, match=case.match):
                    parse_analysis(a)
                continue
            ref = {k: v for k, v in {**base, **case["ctx"]}.items() if k not in case["without"]}
            new = {**ref, key: case["value"]}
            parse_analysis(ref)
            parse_analysis(new)
            o = _run(ctx, new, False)
            if o.status != "ok":
                failures.append(f"{key}={case['value']!r}: not estimable: {o.reason}")
            elif not _differs(ctx, ref, new):
                failures.append(f"{key}={case['value']!r} changes nothing")
    assert not failures, f"{kind}: " + "; ".join(failures)


def test_unknown_word_gets_did_you_mean():
    with pytest.raises(PlanError, match=r"(?s)conf_type: 'log_log' is not allowed.*did you mean 'log-log'"):
        parse_analysis({"id": "a", "kind": "km", "endpoint": "os", "conf_type": "log_log"})
    with pytest.raises(PlanError, match=r"(?s)adjust: 'holms' is not allowed.*did you mean 'holm'"):
        parse_analysis({"id": "a", "kind": "km", "endpoint": "os", "group": "g", "pairwise": True,
                        "adjust": "holms"})


def test_defaults_are_the_estimators_defaults():
    """A default restated in the registry equals the estimator's own default (R's)."""
    import importlib
    import inspect

    competing, cox, finegray, km, landmark, timedep = (
        importlib.import_module(f"aplcohort.stats.{m}")
        for m in ("competing", "cox", "finegray", "km", "landmark", "timedep"))
    finegray_td = importlib.import_module("aplcohort.stats.finegray_td")
    checks = [("km", "conf_type", km.kaplan_meier), ("km", "conf_level", km.kaplan_meier),
              ("km", "ctype", km.kaplan_meier), ("km", "stype", km.kaplan_meier),
              ("km", "start_time", km.kaplan_meier),
              ("cif", "conf_type", competing.cumulative_incidence),
              ("cif", "rho", competing.gray_test), ("gray", "cause", competing.gray_test),
              ("cif", "adjust", competing.pairwise_gray),
              ("cox", "ties", cox.coxph), ("cox", "robust", cox.coxph), ("cox", "conf_level", cox.coxph),
              ("finegray", "cause", finegray.fine_gray), ("finegray", "max_iter", finegray.fine_gray),
              ("landmark", "conf_type", landmark.landmark), ("landmark", "ties", landmark.landmark),
              ("simon_makuch", "conf_type", timedep.simon_makuch),
              ("mantel_byar", "ties", timedep.mantel_byar), ("td_cox", "ties", timedep.td_coxph),
              ("cif", "variance", competing.cumulative_incidence),
              ("cif", "extend", competing.cumulative_incidence),
              ("td_finegray", "ties", finegray_td.td_fine_gray),
              ("td_finegray", "cluster", finegray_td.td_fine_gray),
              ("td_finegray", "cause", finegray_td.td_fine_gray)]
    for kind, key, fn in checks:
        default = inspect.signature(fn).parameters[key].default
        assert KINDS[kind].model.model_fields[key].default == default, (kind, key)
    # td_cox: none = R's coxph(id=) default (robust only when some patient has more than one
    # event; so model-based here, as td_coxph's default False): audit 11 F2
    assert KINDS["td_cox"].model.model_fields["robust"].default is None
    assert inspect.signature(timedep.td_coxph).parameters["robust"].default is False


def test_docs_list_every_kind_and_key():
    from aplcohort.plan.registry import markdown
    doc = (ROOT / "docs" / "plans.md").read_text(encoding="utf-8")
    start, end = "<!-- registry:start -->", "<!-- registry:end -->"
    assert start in doc and end in doc
    block = doc.split(start, 1)[1].split(end, 1)[0].strip()
    assert block == markdown().strip(), "docs/plans.md is out of date: paste aplcohort.plan.registry.markdown()"


def test_plan_level_models_list_every_key_the_plan_accepts():
    """The plan-level keys documented (registry models) are exactly those spec accepts."""
    from typing import get_args

    from aplcohort.plan import spec, write
    from aplcohort.plan.registry import PlanData, PlanEndpoint, PlanFilter, PlanLevel, PlanOutput
    pairs = [(spec.TOP_KEYS, PlanLevel), (spec.DATA_KEYS, PlanData), (spec.OUTPUT_KEYS, PlanOutput),
             (spec.ENDPOINT_KEYS, PlanEndpoint), (spec.FILTER_KEYS, PlanFilter)]
    for accepted, model in pairs:
        assert set(accepted) == set(model.model_fields), (
            f"{model.__name__}: accepted by aplcohort.plan.spec but not documented: "
            f"{sorted(set(accepted) - set(model.model_fields))}; documented but not accepted: "
            f"{sorted(set(model.model_fields) - set(accepted))}")
    # allowed output formats are the writer's
    fig = get_args(get_args(PlanOutput.model_fields["formats"].annotation)[0])
    tab = get_args(get_args(PlanOutput.model_fields["tables"].annotation)[0])
    assert set(fig) == set(write._FIG_FORMATS) and set(tab) == set(write._TAB_FORMATS)
    assert set(spec.UNITS) == set(get_args(PlanEndpoint.model_fields["unit"].annotation))


def test_docs_list_every_plan_level_key():
    """Each key accepted at plan level has a row in its section of docs/plans.md."""
    from aplcohort.plan import spec
    doc = (ROOT / "docs" / "plans.md").read_text(encoding="utf-8")
    block = doc.split("<!-- registry:start -->", 1)[1].split("<!-- registry:end -->", 1)[0]
    sections = {}
    for part in block.split("\n### ")[1:]:
        head, _, body = part.partition("\n")
        sections[head.strip()] = body
    for head, keys in (("Plan level", spec.TOP_KEYS), ("Plan level: `data:`", spec.DATA_KEYS),
                       ("Plan level: `output:`", spec.OUTPUT_KEYS),
                       ("Plan level: `endpoints: {id: ...}`", spec.ENDPOINT_KEYS),
                       ("Plan level: `filters: [...]`", spec.FILTER_KEYS)):
        assert head in sections, f"docs/plans.md: no section '### {head}' in the registry block"
        missing = sorted(k for k in keys if f"| `{k}` |" not in sections[head])
        assert not missing, f"docs/plans.md, {head}: keys accepted but not documented: {missing}"
