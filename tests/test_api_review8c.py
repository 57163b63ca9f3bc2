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


# ---------------------------------------------------------------- F4 plot the right kind
def _cif_and_km():
    from aplcohort.stats.competing import cumulative_incidence
    from aplcohort.stats.km import kaplan_meier
    d = _surv()
    return (cumulative_incidence(d.time, d.code, d.arm), kaplan_meier(d.time, d.event, d.arm), d)


def test_f4_plot_km_refuses_a_cumulative_incidence_result():
    from aplcohort.plots import plot_km
    cif, km, _ = _cif_and_km()
    with pytest.raises(InputError, match="cumulative incidence result: draw it with plot_cif"):
        plot_km(cif)


def test_f4_plot_km_refuses_a_weighted_cif_and_a_cumulative_hazard():
    from aplcohort.adjust import weighted_cif
    from aplcohort.plots import plot_km
    cif, km, d = _cif_and_km()
    wc = weighted_cif(d, "time", "code", "arm", pd.Series(1.0, index=d.index))
    with pytest.raises(InputError, match="plot_cif"):
        plot_km(wc)
    with pytest.raises(InputError, match="cumulative hazard result: draw it with aplcohort.plots.cumhaz.plot_cumhaz"):
        plot_km(km.cumhaz())


def test_f4_plot_cif_refuses_a_survival_result():
    from aplcohort.plots import plot_cif
    _, km, _ = _cif_and_km()
    with pytest.raises(InputError, match="survival result: draw it with plot_km"):
        plot_cif(km)


def test_f4_other_plots_refuse_the_wrong_result():
    from aplcohort.plots import plot_predicted_survival
    from aplcohort.plots.multistate import plot_clfs, plot_state_occupancy
    cif, km, _ = _cif_and_km()
    for fn in (plot_clfs, plot_state_occupancy, plot_predicted_survival):
        with pytest.raises(InputError, match="draw it with plot_cif"):
            fn(cif)


# ---------------------------------------------------------------- F8 labels / kinds
def test_f8_plot_km_labels_for_a_missing_group():
    from aplcohort.plots import plot_km
    _, km, _ = _cif_and_km()
    with pytest.raises(InputError, match="labels name group.*'C'.*groups are 'A', 'B'"):
        plot_km(km, labels={"A": "Arm A", "C": "Arm C"})
    ax = plot_km(km, labels={"A": "Arm A"})
    assert ax.get_legend().get_texts()[0].get_text().startswith("Arm A")


def test_f8_plot_cif_labels_for_a_missing_group_or_cause():
    from aplcohort.plots import plot_cif
    cif, _, _ = _cif_and_km()
    with pytest.raises(InputError, match="'X'"):
        plot_cif(cif, labels={"X": "x"})
    with pytest.raises(InputError, match="cause"):
        plot_cif(cif, stacked=True, group="A", cause_labels={7: "other"})


@pytest.mark.parametrize("arg", ["kinds", "labels", "level_order", "summary"])
def test_f8_table1_settings_for_variables_not_in_the_table(arg):
    from aplcohort.tables import table1
    d = _surv()
    val = {"kinds": "continuous", "labels": "Age", "level_order": ["x"], "summary": "mean"}[arg]
    want = ("labels names 'agee', not a column of the data" if arg == "labels"
            else f"{arg} names 'agee', not among the variables")
    with pytest.raises(InputError, match=want):
        table1(d, "arm", ["age"], **{arg: {"agee": val}})


def test_f8_table1_labels_may_be_shared_between_tables():
    # one labels dictionary for several tables (and the group's own label) is the usual
    # notebook pattern (notebooks/01_replicate_min2022.ipynb): not a typo
    from aplcohort.tables import table1
    d = _surv()
    other = [c for c in d.columns if c not in ("arm", "age")][0]
    t = table1(d, "arm", ["age"], labels={"age": "Age, years", "arm": "Arm", other: "Other"})
    assert "Age, years" in t.data.to_string()


# ---------------------------------------------------------------- F10 readable errors
def test_f10_plot_cif_absent_cause():
    from aplcohort.plots import plot_cif
    cif, _, _ = _cif_and_km()
    with pytest.raises(InputError, match="cause 3 is not in the result; its causes are 1, 2"):
        plot_cif(cif, cause=3)


@pytest.mark.parametrize("bad", [-1, 1.5, True, "2"])
def test_f10_decimals_checked_everywhere(bad):
    from aplcohort.plots import hr_text, plot_forest, plot_km
    from aplcohort.stats.cox import coxph
    from aplcohort.tables import (format_num, regression_table, response_table,
                                  survival_summary, table1)
    cif, km, d = _cif_and_km()
    fit = coxph(d, time="time", event="event", covariates=["age"])
    d["resp"] = d["event"].astype(bool)
    calls = {
        "decimals": [lambda v: survival_summary(d.time, d.event, d.arm, decimals=v),
                     lambda v: table1(d, "arm", ["age"], decimals=v),
                     lambda v: plot_km(km, decimals=v),
                     lambda v: regression_table(fit, decimals=v),
                     lambda v: response_table(d, "arm", {"resp": "resp"}, decimals=v),
                     lambda v: plot_forest(fit, decimals=v),
                     lambda v: hr_text(fit, decimals=v),
                     lambda v: format_num(1.0, v)],
        "pct_decimals": [lambda v: survival_summary(d.time, d.event, d.arm, times=[5],
                                                    pct_decimals=v),
                         lambda v: table1(d, "arm", ["age"], pct_decimals=v)],
        "or_decimals": [lambda v: response_table(d, "arm", {"resp": "resp"}, or_decimals=v)],
    }
    for name, fns in calls.items():
        for fn in fns:
            with pytest.raises(InputError, match=f"^{name} must be an integer >= 0; got"):
                fn(bad)


# ---------------------------------------------------------------- F11 identifying columns
def _cohort_frame():
    import aplcohort as apc
    d = apc.example_cohort("min2022").data.copy()
    d["patient_name"] = [f"Hong Gil-dong {i}" for i in range(len(d))]
    d["MRN"] = [f"MRN{i:06d}" for i in range(len(d))]
    return d


def test_f11_from_dataframe_warns_naming_identifying_columns():
    from aplcohort.cohort import from_dataframe
    from aplcohort.errors import DataQualityWarning
    raw = pd.read_csv("data/synthetic/min2022.csv")
    raw["patient_name"] = "x"
    raw["MRN"] = "1"
    with pytest.warns(DataQualityWarning, match=r"'patient_name' \(looks like a name\), 'MRN' "
                      r"\(looks like a medical record number\) identify patients"):
        c = from_dataframe(raw)
    assert any("identifying_column" in str(w) for w in c.warnings)


def test_f11_load_warns_too(tmp_path):
    import aplcohort as apc
    from aplcohort.errors import DataQualityWarning
    raw = pd.read_csv("data/synthetic/min2022.csv")
    raw["Patient Name"] = "x"
    raw.to_csv(tmp_path / "d.csv", index=False)
    with pytest.warns(DataQualityWarning, match="'Patient Name' .*identifies patients"):
        apc.load(tmp_path / "d.csv")


def test_f11_no_warning_without_identifiers():
    from aplcohort.cohort import from_dataframe
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        from_dataframe(pd.read_csv("data/synthetic/min2022.csv"))
    assert not [w for w in caught if "identif" in str(w.message)]


def test_f11_table1_refuses_identifying_variables_and_groups():
    from aplcohort.tables import table1
    d = _cohort_frame()
    with pytest.raises(InputError, match="'patient_name' looks like a name .* table variable"):
        table1(d, "sex", ["age_at_diagnosis", "patient_name"])
    with pytest.raises(InputError, match="'MRN' looks like a medical record number .* grouping"):
        table1(d, "MRN", ["sex"])
    with pytest.raises(InputError, match="'relapse1_date' is a per-patient date"):
        table1(d, "sex", ["relapse1_date"])
    with pytest.raises(InputError, match="allow_identifiers must be True or False"):
        table1(d, "sex", ["patient_name"], allow_identifiers="yes")
    t = table1(d, "sex", ["patient_name"], allow_identifiers=True)
    assert "Hong Gil-dong 7" in str(t)
    assert t.choices["identifying columns"] == ["patient_name"]


def test_f11_save_table_refuses_an_identified_table(tmp_path):
    from aplcohort.tables import save_table, table1
    from aplcohort.tables.export import JournalTable
    d = _cohort_frame()
    t = table1(d, "sex", ["patient_name"], allow_identifiers=True)
    with pytest.raises(InputError, match="save_table: column 'patient_name'"):
        save_table(t, tmp_path / "t1", formats=("csv",))
    with pytest.raises(InputError, match="save_table"):
        t.save(tmp_path / "t1", formats=("csv",))
    assert not list(tmp_path.iterdir())
    frame_t = JournalTable("x", pd.DataFrame({"MRN": ["1"], "n": ["2"]}), pd.DataFrame())
    with pytest.raises(InputError, match="'MRN' looks like a medical record number"):
        save_table(frame_t, tmp_path / "t2", formats=("csv",))
    paths = save_table(t, tmp_path / "t1", formats=("csv",), allow_identifiers=True)
    assert "Hong Gil-dong" in paths[0].read_text(encoding="utf-8")
    ok = table1(d, "sex", ["age_at_diagnosis"])
    assert save_table(ok, tmp_path / "t3", formats=("csv",))


def test_f11_plot_group_arguments_refuse_identifying_columns():
    from aplcohort.plots import count_groups, plot_swimmer, subgroup_hazard_ratios
    d = _cohort_frame()
    with pytest.raises(InputError, match="plot_swimmer: column 'patient_name'.*plot colour"):
        plot_swimmer(d, color_by="patient_name")
    with pytest.raises(InputError, match="plot_swimmer: column 'MRN'.*lane label"):
        plot_swimmer(d, id_col="MRN", show_ids=True)
    with pytest.raises(InputError, match="count_groups: column 'MRN'"):
        count_groups(d, "MRN")
    assert count_groups(d, "MRN", allow_identifiers=True)["MRN000000"] == 1
    s = _surv(60)
    s["patient_name"] = np.where(np.arange(60) % 2 == 0, "Kim", "Lee")
    with pytest.raises(InputError, match="subgroup_hazard_ratios: column 'patient_name'"):
        subgroup_hazard_ratios(s, time="time", event="event", treatment="arm",
                               subgroups=["patient_name"])


# ---------------------------------------------------------------- F12 interval notes in tables
def _se0_data():
    # group A: no event of cause 2 before 12, group B: events of both causes early
    t = np.array([3, 5, 8, 14, 20, 25, 2, 4, 6, 9, 15, 30], float)
    c = np.array([1, 0, 1, 2, 0, 1, 2, 1, 2, 0, 1, 0])
    g = np.repeat(["A", "B"], 6)
    return t, c, g


def test_f12_survival_summary_marks_se0_intervals_with_a_footnote():
    from aplcohort.stats.shapes import NOTE_SE_ZERO
    from aplcohort.tables import survival_summary
    t, c, g = _se0_data()
    tab = survival_summary(t, c, g, times=[12], competing=True, cause=2, test=False)
    cells = tab.data.iloc[:, -1].tolist()
    assert cells[0] == "0.0 (0.0\u20130.0)\u00b9"          # A: F = 0, SE 0: marked
    assert "\u00b9" not in cells[1]                         # B: a real interval
    assert f"\u00b9 {NOTE_SE_ZERO} (A, 12-month)." in tab.footnotes
    assert tab.raw["note"].tolist() == [NOTE_SE_ZERO, ""]
    km = survival_summary(t, (c == 2).astype(int), g, times=[1], test=False)
    assert km.data.iloc[0, -1].endswith("\u00b9") and km.data.iloc[1, -1].endswith("\u00b9")
    assert f"\u00b9 {NOTE_SE_ZERO} (A, 1-month; B, 1-month)." in km.footnotes


def test_f12_format_frame_marks_se0_intervals():
    from aplcohort.stats.km import kaplan_meier
    from aplcohort.stats.shapes import NOTE_SE_ZERO
    from aplcohort.tables.frame import format_frame
    t, c, g = _se0_data()
    jt = format_frame(kaplan_meier(t, (c == 2).astype(int), g).at([1, 12]), "at")
    col = [k for k in jt.data.columns if k.startswith("Estimate")][0]
    assert jt.data[col].str.endswith("\u00b9").tolist() == [True, True, True, False]
    assert any(f.startswith(f"\u00b9 {NOTE_SE_ZERO}") for f in jt.footnotes)


# ---------------------------------------------------------------- F13 quantile notes
def test_f13_quantile_says_why_values_are_missing():
    from aplcohort.stats.km import kaplan_meier
    from aplcohort.stats.shapes import (NOTE_LIMITS_NOT_REACHED, NOTE_NOT_REACHED,
                                        NOTE_UPPER_NOT_REACHED)
    t = np.arange(1.0, 21.0)
    e = np.r_[np.ones(8, int), np.zeros(2, int), [1, 1, 0, 1, 0, 1, 1, 0, 1, 0]]
    km = kaplan_meier(t, e, np.repeat(["A", "B"], 10))
    q = km.quantile([0.1, 0.5, 0.99])
    assert "note" in q.columns
    for r in q.itertuples():
        if np.isnan(r.quantile):
            assert r.note == NOTE_NOT_REACHED
        elif np.isnan(r.lower) and np.isnan(r.upper):
            assert r.note == NOTE_LIMITS_NOT_REACHED
        elif np.isnan(r.upper):
            assert r.note == NOTE_UPPER_NOT_REACHED
        elif np.isnan(r.lower):
            assert r.note == "lower confidence limit not reached"
        else:
            assert r.note == ""
    assert (q["note"] == NOTE_NOT_REACHED).any() and (q["note"] == "").any()
    # the median row of quantile(0.5) says what median() says
    med = km.median().set_index("group")["note"]
    q5 = q[q["p"] == 0.5].set_index("group")["note"]
    assert q5.to_dict() == med.to_dict()


@pytest.mark.parametrize("fn", ["kaplan_meier", "logrank_test", "cumulative_incidence",
                                "rmst2", "reverse_kaplan_meier"])
def test_f11_estimator_group_series_that_identifies_patients_is_refused(fn):
    import aplcohort.stats as st
    s = _surv(60)
    s["MRN"] = [f"M{i:05d}" for i in range(60)]
    second = s["code"] if fn == "cumulative_incidence" else s["event"]
    extra = {"tau": 5.0} if fn == "rmst2" else {}
    with pytest.raises(InputError, match=rf"{fn}: group is column 'MRN', which looks like a "
                                         r"medical record number.*to_numpy\(\)"):
        getattr(st, fn)(s["time"], second, group=s["MRN"], **extra)
    # a study variable is fine; the identifier column given by position is the user's choice
    getattr(st, fn)(s["time"], second, group=s["arm"], **extra)
    if fn == "kaplan_meier":
        assert len(st.kaplan_meier(s["time"], s["event"], group=s["MRN"].to_numpy()).groups) == 60


def test_f11_estimator_strata_series_marked_identifying_by_the_source_is_refused():
    from aplcohort.stats import logrank_test
    s = _surv(60)
    s["pt_code"] = np.where(np.arange(60) % 2 == 0, "x1", "x2")
    s.attrs["identifying_columns"] = {"pt_code": "flagged 'Identifier? = y'"}
    with pytest.raises(InputError, match="strata is column 'pt_code', which is flagged"):
        logrank_test(s["time"], s["event"], group=s["arm"], strata=s["pt_code"])


def test_f11_table1_allowed_identifier_group_still_runs_its_tests():
    # table1 decides about identifiers itself; its own tests must not refuse the group again
    from aplcohort.tables import table1
    s = _surv(60)
    s["MRN"] = np.where(np.arange(60) % 2 == 0, "M1", "M2")
    t = table1(s, "MRN", ["age"], allow_identifiers=True)
    assert t.data["Test"].tolist() == ["Wilcoxon"]
