"""Review 8, part A: the notebook API's arguments of the Cox family, the time-dependent
functions and the Kaplan–Meier family (FINDINGS.md of the third audit: F6, F7, F9, F10 Cox
part, F14 part A).

* F6: a boolean given as a string (``"no"`` is truthy) is refused, not read as True;
  numpy booleans are accepted.
* F7: ``coxph(max_iter=0)`` (and the other iteration counts) is refused instead of
  returning HR 1 "converged"; ``max_iter=2.5`` gets a message, not a TypeError.
* F9: ``td_coxph`` / ``landmark`` name the user's patients (ids) with a missing covariate,
  count patients, and suggest a ``dropna`` on the user's columns only.
* F10: ``coxph(covariates="age")`` is one column (as ``strata="sex"``); ``categorical=[...]``
  is a list of categorical columns (first level the reference, as in ``aplcohort.adjust``);
  ``weights=<array>`` and ``fine_gray(cengroup=<array>)`` are refused with the way to pass
  a column.
* F14: messages without numpy reprs or "1 rows"; ``evalue_hr(-0.5)`` raises before numpy
  warns; the Mantel–Byar table names its exposure states.
"""

import warnings

import numpy as np
import pandas as pd
import pytest

from aplcohort.errors import InputError


def _cohort(n=40, seed=8):
    rng = np.random.default_rng(seed)
    d = pd.DataFrame({
        "pid": [f"P-{i:03d}" for i in range(n)],
        "time": rng.exponential(20, n).round(2) + 0.5,
        "event": rng.integers(0, 2, n),
        "age": rng.normal(50, 10, n).round(1),
        "arm": rng.choice(["A", "B", "C"], n),
        "ecog": rng.integers(0, 3, n),
        "sex": rng.choice(["F", "M"], n),
        "code": rng.integers(0, 3, n),
    })
    d.loc[:3, "event"] = 1
    d.loc[:5, "code"] = [1, 2, 1, 2, 1, 2]
    tx = rng.uniform(0, 15, n)
    d["tx"] = np.where(rng.random(n) < 0.5, tx, np.nan)
    d.loc[d["tx"] >= d["time"], "tx"] = np.nan
    return d


D = _cohort()


# ------------------------------------------------------------------------ F6 booleans
def _km():
    from aplcohort.stats import kaplan_meier
    return kaplan_meier(D.time, D.event, D.arm)


@pytest.mark.parametrize("call", [
    lambda v: __import__("aplcohort.stats", fromlist=["x"]).kaplan_meier(D.time, D.event, D.arm,
                                                                          influence=v),
    lambda v: __import__("aplcohort.stats", fromlist=["x"]).kaplan_meier(D.time, D.event, D.arm,
                                                                          timefix=v),
    lambda v: _km().at([5, 400], extend=v),
    lambda v: _km().cumhaz().at([5, 400], extend=v),
], ids=["kaplan_meier.influence", "kaplan_meier.timefix", "KMResult.at.extend",
        "CumHazResult.at.extend"])
@pytest.mark.parametrize("value", ["no", "false", 0, 1, None])
def test_km_booleans_given_as_strings_or_numbers_are_refused(call, value):
    with pytest.raises(InputError, match="must be True or False"):
        call(value)


def test_km_booleans_accept_numpy_bools_with_the_same_result():
    from aplcohort.stats import kaplan_meier
    a = kaplan_meier(D.time, D.event, D.arm, influence=np.True_)
    b = kaplan_meier(D.time, D.event, D.arm, influence=True)
    assert a.variance == b.variance == "robust"
    pd.testing.assert_frame_equal(a.table, b.table)
    km = _km()
    pd.testing.assert_frame_equal(km.at([5, 400], extend=np.False_), km.at([5, 400]))
    assert km.at([400], extend=np.False_)["estimate"].isna().all()   # not carried forward


def test_cox_family_booleans_are_checked():
    from aplcohort.stats import (basehaz, cox_residuals, coxph, cumulative_incidence,
                                 td_coxph, univariable_multivariable)
    cv = ["age", "arm"]
    for v in ("no", "false", 0):
        with pytest.raises(InputError, match="robust must be True or False"):
            coxph(D, time="time", event="event", covariates=cv, robust=v)
        with pytest.raises(InputError, match="robust must be True or False"):
            univariable_multivariable(D, time="time", event="event", covariates=cv, robust=v)
        with pytest.raises(InputError, match="robust must be True or False"):
            td_coxph(D, time="time", event="event", id="pid", exposure_time="tx", robust=v)
    r = coxph(D, time="time", event="event", covariates=cv, robust=np.False_)
    assert r.choices["robust"] is False
    assert coxph(D, time="time", event="event", covariates=cv, robust=None).choices["robust"] is False
    with pytest.raises(InputError, match="centered must be True or False"):
        basehaz(r, centered="no")
    with pytest.raises(InputError, match="centered must be True or False"):
        r.basehaz(centered="no")
    with pytest.raises(InputError, match="weighted must be True or False"):
        cox_residuals(r, "dfbeta", weighted="no")
    cif = cumulative_incidence(D.time, D.code, D.arm)
    with pytest.raises(InputError, match="extend must be True or False"):
        cif.at([5], extend="no")
    pd.testing.assert_frame_equal(cif.at([5], extend=np.False_), cif.at([5]))


def test_timedep_and_group_test_booleans_are_checked():
    from aplcohort.stats import (chisq_test, compare_groups, fisher_exact, immortal_time_check,
                                 simon_makuch, t_test, wilcoxon_ranksum)
    from aplcohort.stats.grouptests import anova_oneway
    sm = simon_makuch(D, time="time", event="event", id="pid", exposure_time="tx")
    with pytest.raises(InputError, match="extend must be True or False"):
        sm.at([5], extend="no")
    with pytest.raises(InputError, match="warn must be True or False"):
        immortal_time_check(D, time="time", group="arm", treatment_time="tx", warn="no")
    tab = [[3, 1], [1, 3]]
    x, y = D.age[:20], D.age[20:]
    for f in (lambda v: fisher_exact(tab, conf_int=v), lambda v: chisq_test(tab, correct=v),
              lambda v: wilcoxon_ranksum(x, y, correct=v), lambda v: wilcoxon_ranksum(x, y, exact=v),
              lambda v: t_test(x, y, var_equal=v),
              lambda v: anova_oneway(D.age, D.arm, var_equal=v),
              lambda v: compare_groups(D.age, D.arm, parametric=v),
              lambda v: compare_groups(D.sex, D.arm, correct=v)):
        with pytest.raises(InputError, match="must be True or False"):
            f("no")
    # a numpy bool is a bool
    assert t_test(x, y, var_equal=np.True_).p == t_test(x, y, var_equal=True).p


def test_multistate_at_extend_is_checked():
    from aplcohort.multistate import state_occupancy
    hand = pd.DataFrame({"id": ["s1", "s1", "s2", "s3"], "tstart": [0, 2, 0, 0],
                         "tstop": [2, 5, 3, 4],
                         "from_state": ["CR", "relapse", "CR", "CR"],
                         "to_state": ["relapse", "death", "death", None]})
    r = state_occupancy(hand, states=["CR", "relapse", "death"])
    for f in (r.at, r.state_at):
        with pytest.raises(InputError, match="extend must be True or False"):
            f([1, 9], extend="no")
    assert r.state_at([9], extend=np.False_)["estimate"].isna().all()


def test_psweights_stabilize_and_table1_tests_are_checked():
    from aplcohort import tables
    from aplcohort.adjust import propensity_score, psweights
    ps = propensity_score(D, "sex", ["age"])
    with pytest.raises(InputError, match="stabilize must be True or False"):
        psweights(ps, "ATE", stabilize="no")
    np.testing.assert_array_equal(psweights(ps, "ATE", stabilize=np.False_).weights,
                                  psweights(ps, "ATE").weights)
    for k in ("tests", "overall", "smd", "parametric"):
        with pytest.raises(InputError, match=f"{k} must be True or False"):
            tables.table1(D, "sex", ["age"], **{k: "no"})


# ------------------------------------------------------------------------ F7 iterations
def test_coxph_max_iter_zero_is_refused_not_a_converged_hr_of_one():
    from aplcohort.stats import coxph, fine_gray, firth_coxph
    for bad in (0, -1, 2.5, "20", True, np.float64(3.0)):
        with pytest.raises(InputError, match="max_iter must be an integer >= 1"):
            coxph(D, time="time", event="event", covariates=["age", "arm"], max_iter=bad)
        with pytest.raises(InputError, match="max_iter must be an integer >= 1"):
            fine_gray(D, time="time", code="code", covariates=["age"], max_iter=bad)
        with pytest.raises(InputError, match="max_iter must be an integer >= 1"):
            firth_coxph(D, time="time", event="event", covariates=["age"], max_iter=bad)
    # numpy integers are integers
    a = coxph(D, time="time", event="event", covariates=["age"], max_iter=np.int64(20))
    b = coxph(D, time="time", event="event", covariates=["age"])
    assert a.terms["estimate"].tolist() == b.terms["estimate"].tolist()


def test_other_integer_settings_are_checked():
    from aplcohort.multistate import transition_cox
    from aplcohort.stats import compare_groups, cox_zph, coxph, fisher_exact, zph_smooth
    with pytest.raises(InputError, match="max_work must be an integer >= 1"):
        fisher_exact([[3, 1], [1, 3]], max_work=0)
    with pytest.raises(InputError, match="fisher_max_work must be an integer >= 1"):
        compare_groups(D.sex, D.arm, fisher_max_work=2.5)
    z = cox_zph(coxph(D, time="time", event="event", covariates=["age"]))
    with pytest.raises(InputError, match="nsmo must be an integer >= 2"):
        zph_smooth(z, "age", nsmo=2.5)
    ms = pd.DataFrame({"id": ["a", "b", "c", "d"], "tstart": [0, 0, 0, 0], "tstop": [2, 3, 4, 5],
                       "from_state": ["CR"] * 4, "to_state": ["death", "death", None, "death"],
                       "age": [50, 60, 55, 70]})
    with pytest.raises(InputError, match="max_iter must be an integer >= 1"):
        transition_cox(ms, ["age"], max_iter=0)


def test_mantel_byar_still_uses_the_score_test_at_zero():
    """mantel_byar evaluates the Cox score test at beta = 0 through the internal fit with
    no Newton step; refusing max_iter=0 in coxph must not change it."""
    from aplcohort.stats import mantel_byar, td_coxph
    mb = mantel_byar(D, time="time", event="event", id="pid", exposure_time="tx")
    td = td_coxph(D, time="time", event="event", id="pid", exposure_time="tx")
    score = float(td.tests.set_index("test").loc["score", "statistic"])
    assert mb.statistic == pytest.approx(score, rel=1e-12)


# ------------------------------------------------------------------------ F9 td messages
def _td_with_missing():
    d = D.copy()
    d.loc[[2, 5], "age"] = np.nan
    return d


def test_td_coxph_missing_covariate_names_the_users_patients():
    from aplcohort.stats import td_coxph
    d = _td_with_missing()
    with pytest.raises(InputError) as e:
        td_coxph(d, time="time", event="event", id="pid", exposure_time="tx", covariates=["age"])
    msg = str(e.value)
    assert "ids P-002, P-005" in msg and "2 patients in all" in msg
    assert "'age': 2 patients" in msg
    assert "dropna(subset=['age'])" in msg
    assert "exposed" not in msg            # not a column the user has
    assert "np." not in msg


def test_td_coxph_start_stop_form_names_patients_once():
    from aplcohort.stats import split_at_exposure, td_coxph
    s = split_at_exposure(D, id="pid", time="time", event="event", exposure_time="tx")
    two = s["pid"].value_counts()
    p = two[two == 2].index[0]            # a patient with two (start, stop] rows
    s.loc[s["pid"] == p, "age"] = np.nan
    with pytest.raises(InputError) as e:
        td_coxph(s, time="tstop", start="tstart", event="event", id="pid",
                 covariates=["exposed", "age"])
    msg = str(e.value)
    assert f"1 patient in all, ids {p}." in msg and "'age': 1 patient" in msg


def test_landmark_missing_covariate_names_patients_at_the_landmark():
    from aplcohort.stats import landmark
    d = _td_with_missing()
    followed = d.loc[[2, 5]].query("time > 1")["pid"].tolist()
    with pytest.raises(InputError) as e:
        landmark(d, landmark=[1], time="time", event="event", id="pid", exposure_time="tx",
                 covariates=["age"])
    msg = str(e.value)
    assert msg.startswith("landmark 1,")
    assert "ids " + ", ".join(followed) in msg
    assert "dropna(subset=['age'])" in msg and "exposed" not in msg and "np." not in msg


def test_landmark_missing_group_names_only_the_patients_with_a_missing_group():
    from aplcohort.stats import landmark
    d = D.copy()
    d.loc[1, "arm"] = None
    d.loc[1, "time"] = 50.0
    with pytest.raises(InputError) as e:
        landmark(d, landmark=[1], time="time", event="event", id="pid", group="arm")
    assert str(e.value).endswith("(ids P-001)")


# ------------------------------------------------------------------------ F10 Cox arguments
def test_coxph_covariates_as_one_string_is_one_column():
    from aplcohort.stats import coxph, fine_gray, firth_coxph
    a = coxph(D, time="time", event="event", covariates="age")
    b = coxph(D, time="time", event="event", covariates=["age"])
    assert a.terms["term"].tolist() == ["age"] and a.covariates == ("age",)
    pd.testing.assert_frame_equal(a.terms, b.terms)
    assert fine_gray(D, time="time", code="code", covariates="age").terms["term"].tolist() == ["age"]
    assert firth_coxph(D, time="time", event="event", covariates="age").terms["term"].tolist() == ["age"]
    with pytest.raises(InputError, match="covariates= takes column names"):
        coxph(D, time="time", event="event", covariates=D[["age"]].to_numpy())


def test_coxph_categorical_as_a_list_uses_the_first_level():
    from aplcohort.stats import coxph, fine_gray, univariable_multivariable
    lst = coxph(D, time="time", event="event", covariates=["age", "ecog"], categorical=["ecog"])
    dct = coxph(D, time="time", event="event", covariates=["age", "ecog"], categorical={"ecog": 0})
    assert lst.terms["term"].tolist() == ["age", "ecog1", "ecog2"]
    pd.testing.assert_frame_equal(lst.terms, dct.terms)
    assert lst.choices["reference_levels"] == {"ecog": 0}
    one = coxph(D, time="time", event="event", covariates=["age", "ecog"], categorical="ecog")
    pd.testing.assert_frame_equal(one.terms, dct.terms)
    fg = fine_gray(D, time="time", code="code", covariates=["ecog"], categorical=["ecog"])
    assert fg.terms["term"].tolist() == ["ecog1", "ecog2"]
    um = univariable_multivariable(D, time="time", event="event", covariates=["age", "ecog"],
                                   categorical=["ecog"])
    assert um.table["term"].tolist() == ["age", "ecog1", "ecog2"]
    with pytest.raises(InputError, match="not in covariates"):
        coxph(D, time="time", event="event", covariates=["age"], categorical=["ecog"])


@pytest.mark.parametrize("arg", ["weights", "cluster", "entry", "time"])
def test_coxph_array_for_a_column_argument_is_refused_clearly(arg):
    from aplcohort.stats import coxph
    kw = dict(time="time", event="event", covariates=["age"])
    kw[arg] = np.ones(len(D)) if arg != "time" else D["time"]
    with pytest.raises(InputError, match=rf"{arg}= takes the name of a column of data, not a "
                                         rf"(numpy array|pandas Series).*data.assign"):
        coxph(D, **kw)


def test_fine_gray_cengroup_array_is_refused_and_a_column_works():
    from aplcohort.stats import fine_gray
    with pytest.raises(InputError, match="cengroup= takes the name of a column"):
        fine_gray(D, time="time", code="code", covariates=["age"], cengroup=D["sex"].to_numpy())
    r = fine_gray(D, time="time", code="code", covariates=["age"], cengroup="sex")
    assert r.cengroup == "sex"


# ------------------------------------------------------------------------ F14 messages
def test_missing_value_messages_have_plain_labels_and_plurals():
    from aplcohort.stats import coxph
    d = D.copy()
    d.loc[1, "sex"] = None
    with pytest.raises(InputError) as e:
        coxph(d, time="time", event="event", covariates=["age"], strata="sex")
    msg = str(e.value)
    assert "1 row in all, index 1." in msg and "'sex': 1 row" in msg
    assert "1 rows" not in msg and "np." not in msg
    d.loc[[3, 4], "age"] = np.inf
    d.loc[1, "sex"] = "F"
    with pytest.raises(InputError) as e:
        coxph(d, time="time", event="event", covariates=["age"])
    assert "2 rows with index 3, 4" in str(e.value) and "np." not in str(e.value)


def test_evalue_hr_of_a_negative_ratio_raises_without_numpy_warnings():
    from aplcohort.adjust.evalue import evalue, evalue_hr
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(InputError, match="estimate must be a positive finite ratio; got -0.5"):
            evalue_hr(-0.5)
        with pytest.raises(InputError, match="lower must be a positive finite ratio"):
            evalue_hr(0.5, -0.1, 0.9)
        with pytest.raises(InputError, match="estimate must be a positive finite ratio"):
            evalue_hr("big")
        with pytest.raises(InputError, match="rare must be True or False"):
            evalue(2.0, rare="no")


def test_mantel_byar_table_names_the_exposure_states():
    from aplcohort.stats import mantel_byar, simon_makuch, split_at_exposure
    r = mantel_byar(D, time="time", event="event", id="pid", exposure_time="tx")
    assert r.table["exposure state"].tolist() == ["before tx", "after tx"]
    assert r.table["exposed"].tolist() == [0, 1]
    assert "before tx" in repr(r)
    r2 = mantel_byar(D, time="time", event="event", id="pid", exposure_time="tx",
                     exposure="transplant")
    assert r2.table["exposure state"].tolist() == ["before transplant", "after transplant"]
    s = split_at_exposure(D, id="pid", time="time", event="event", exposure_time="tx")
    r3 = mantel_byar(s, time="tstop", start="tstart", event="event", id="pid")
    assert r3.table["exposure state"].tolist() == ["not exposed", "exposed"]
    sm = simon_makuch(D, time="time", event="event", id="pid", exposure_time="tx")
    assert sm.mantel_byar.table["exposure state"].tolist() == ["before tx", "after tx"]
    np.testing.assert_array_equal(sm.mantel_byar.table["observed"], r.table["observed"])


def test_state_rule_flags_and_match_replace_are_checked():
    from aplcohort.adjust import match_nearest, propensity_score
    from aplcohort.multistate import StateRule
    from aplcohort.multistate.plan import model_from_settings
    with pytest.raises(InputError, match="remission must be True or False"):
        StateRule("CR2", "cr2_date", remission="no")
    assert StateRule("death", "death_date", absorbing=np.True_).absorbing is True
    with pytest.raises(InputError, match=r"model.states\[0\] \(CR\): absorbing must be true or "
                                         "false"):
        model_from_settings({"states": [{"name": "CR", "absorbing": "no"}], "transitions": []})
    ps = propensity_score(D, "sex", ["age"])
    with pytest.raises(InputError, match="replace must be True or False"):
        match_nearest(ps, replace="no")


def test_leftover_arguments_are_checked_too():
    """The last few settings of the audit's F6/F7 list (after the parallel fixes merged):
    AdjustedCurves.at(extend='no'), adjusted_risks(n_boot=2.5), zph_smooth(df=4.0)."""
    import numpy as np
    import pandas as pd
    from aplcohort.adjust import weighted_km
    from aplcohort.errors import InputError
    from aplcohort.stats import cox_zph, coxph, zph_smooth
    d = pd.DataFrame({"t": [5, 8, 12, 3, 9, 15, 7, 11, 4, 6, 2, 13],
                      "e": [1, 1, 0, 1, 1, 0, 1, 0, 1, 1, 1, 1],
                      "g": list("ABABABABABAB"),
                      "age": [60, 52, 45, 70, 58, 40, 66, 49, 72, 55, 75, 50]})
    wk = weighted_km(d, "t", "e", "g", pd.Series(np.ones(12), index=d.index))
    with pytest.raises(InputError, match="extend must be True or False"):
        wk.at([5], extend="no")
    z = cox_zph(coxph(d, time="t", event="e", covariates=["age"]))
    with pytest.raises(InputError, match="df must be an integer"):
        zph_smooth(z, "age", df=4.0)
