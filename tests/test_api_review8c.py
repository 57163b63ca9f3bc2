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
    with pytest.raises(InputError, match=f"{arg} names 'agee', not among the variables"):
        table1(d, "arm", ["age"], **{arg: {"agee": val}})


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
