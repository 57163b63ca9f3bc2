"""Audit 13, part A: CI headers state the level used (F1), an estimate of 0 / 1 within
round-off and a complete curve after its last time follow one rule (F4), and ``km``
takes Fleming-Harrington p / q (F6).

R reference: tests/reference/review13a.R (values in review13a.json as "%.17g" strings),
on the rows written by tests/reference/review13a_export.py (checked here to be the rows
the plans use).
"""

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from aplcohort.cli import main
from aplcohort.errors import PlanError

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data" / "synthetic" / "min2022.csv"
REF_DIR = ROOT / "tests" / "reference"
REF = json.loads((REF_DIR / "review13a.json").read_text())
TOL = 1e-6
W3 = "postremission_modality in ['ATO-based', 'auto HSCT', 'allo HSCT']"
WR = "reinduction_regimen in ['ATO-based', 'IC']"


def _f(x):
    return np.nan if x is None else float(x)


def _fa(xs):
    return np.array([_f(x) for x in xs], float)


def _plan(tmp_path, analyses, tables=("csv", "docx", "tex")):
    plan = {"plan": "r13a", "data": {"source": str(DATA)},
            "endpoints": {
                "os_cr2_y": {"endpoint": "OS", "time_zero": "response", "unit": "years",
                             "label": "OS from CR2"},
                "rfs_pr": {"endpoint": "RFS", "time_zero": "postremission", "unit": "years",
                           "label": "RFS from post-remission start"},
                "cir_y": {"endpoint": "CIR", "time_zero": "response", "unit": "years",
                          "label": "CIR from CR2"},
                "plt": {"endpoint": "PLT_recovery", "time_zero": "reinduction", "unit": "days"},
                "anc": {"endpoint": "ANC_recovery", "time_zero": "reinduction", "unit": "days"}},
            "output": {"formats": ["png"], "tables": list(tables)},
            "analyses": analyses}
    path = tmp_path / "plan.yaml"
    path.write_text(yaml.safe_dump(plan, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def _run(tmp_path, analyses, capsys, **kw):
    out = tmp_path / "out"
    rc = main(["run", str(_plan(tmp_path, analyses, **kw)), "--out", str(out)])
    cap = capsys.readouterr()
    assert rc == 0, cap.err
    return out, json.loads((out / "results.json").read_text())["analyses"]


def _tex_header(path):
    """The column header line of a table's .tex (the line after the first \\toprule)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return lines[lines.index("\\toprule") + 1]


def _docx_headers(path):
    import docx
    doc = docx.Document(str(path))
    return [[c.text for c in t.rows[0].cells] for t in doc.tables]


# ------------------------------------------------------------------------------- F1
CAPT = [
    {"id": "km_a", "kind": "km", "where": W3, "endpoint": "os_cr2_y",
     "group": "postremission_modality", "times": [1, 3], "conf_type": "log-log",
     "conf_level": 0.90, "hr": True, "median_followup": True},
    {"id": "km_b", "kind": "km", "where": W3, "endpoint": "rfs_pr",
     "group": "postremission_modality", "times": [1, 3], "conf_type": "plain",
     "conf_level": 0.80},
    {"id": "km_c", "kind": "km", "where": W3, "endpoint": "os_cr2_y",
     "group": "postremission_modality", "times": [1], "conf_level": 0.975},
    {"id": "cif_a", "kind": "cif", "where": W3, "endpoint": "cir_y",
     "group": "postremission_modality", "times": [1, 3], "conf_type": "log",
     "conf_level": 0.90},
    {"id": "cox_a", "kind": "cox", "where": W3, "endpoint": "os_cr2_y",
     "covariates": ["postremission_modality", "age_at_diagnosis"], "conf_level": 0.90},
]


@pytest.fixture(scope="module")
def capt(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("capt")
    out = tmp / "out"
    rc = main(["run", str(_plan(tmp, CAPT)), "--out", str(out)])
    assert rc == 0
    return out


@pytest.mark.parametrize("stem,level,heads", [
    ("km_a__medians", "90%", ["Median (90\\% CI)"]),
    ("km_a__estimates", "90%", ["Estimate, \\% (90\\% CI)"]),
    ("km_a__median_followup", "90%", ["Median (90\\% CI)"]),
    ("km_a__hr", "90%", ["(90\\% CI)"]),
    ("km_b__medians", "80%", ["Median (80\\% CI)"]),
    ("km_b__estimates", "80%", ["Estimate, \\% (80\\% CI)"]),
    ("km_c__medians", "97.5%", ["Median (97.5\\% CI)"]),
    ("cif_a__medians", "90%", ["(90\\% CI)"]),
    ("cif_a__estimates", "90%", ["Estimate, \\% (90\\% CI)"]),
    ("cox_a__terms", "90%", ["HR (90\\% CI)"]),
])
def test_f1_interval_headers_state_the_level_used(capt, stem, level, heads):
    """Every interval header of the analysis says its conf_level (TeX, DOCX); the captions
    of the medians say it too, 97.5% included (was int(97.5) = 97)."""
    tex = capt / "tables" / f"{stem}.tex"
    head = _tex_header(tex)
    for h in heads:
        assert h in head, head
    assert "95\\%" not in head
    caption = tex.read_text(encoding="utf-8").splitlines()[0]
    if stem.endswith("__medians"):
        assert f"({level.replace('%', chr(92) + '%')} CI)" in caption, caption
    docx_heads = [h for t in _docx_headers(capt / "tables" / f"{stem}.docx") for h in t]
    assert any(f"({level} CI)" in h for h in docx_heads), docx_heads
    assert not any("95% CI" in h for h in docx_heads), docx_heads


def test_f1_report_and_manuscript_headers(capt):
    """report.html and manuscript.docx print the same headers: no table of these analyses
    says 95% except the immortal-time comparison, whose level is its own."""
    html = (capt / "report.html").read_text(encoding="utf-8")
    for h in ("Median (90% CI)", "Estimate, % (90% CI)", "Median (80% CI)",
              "Estimate, % (80% CI)", "Median (97.5% CI)", "HR (90% CI)"):
        assert h in html, h
    import docx
    doc = docx.Document(str(capt / "manuscript.docx"))
    heads = [c.text for t in doc.tables for c in t.rows[0].cells]
    assert "Median (90% CI)" in heads and "Median (80% CI)" in heads
    # the 95% headers left are those of the immortal-time tables (their own level)
    imm = [t for t in doc.tables if any("Method" == c.text for c in t.rows[0].cells)]
    n95 = sum(1 for h in heads if "95% CI" in h)
    assert n95 <= len(imm)


def test_f1_forest_heading_states_the_level(capt):
    """The forest plot's estimate column heading: the model's level, not a fixed 95%."""
    from aplcohort.plots.forest import plot_forest
    from aplcohort.stats.cox import coxph
    d = pd.DataFrame({"t": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10.0],
                      "e": [1, 0, 1, 1, 0, 1, 1, 0, 1, 1],
                      "x": [0.1, 0.5, 0.2, 0.9, 0.4, 0.8, 0.3, 0.7, 0.6, 0.05]})
    for cl, want in ((0.9, "HR (90% CI)"), (0.95, "HR (95% CI)"), (0.975, "HR (97.5% CI)")):
        fig = plot_forest(coxph(d, time="t", event="e", covariates=["x"], conf_level=cl))
        texts = [t.get_text() for a in fig.axes for t in a.texts] + [t.get_text() for t in fig.texts]
        assert want in texts, texts
        other = {"HR (90% CI)", "HR (95% CI)", "HR (97.5% CI)"} - {want}
        assert not other & set(texts)
    fig = plot_forest(pd.DataFrame({"label": ["a"], "hr": [1.2], "lower": [1.0],
                                    "upper": [1.4], "p": [0.03]}), conf_level=0.8)
    assert "HR (80% CI)" in [t.get_text() for a in fig.axes for t in a.texts]


def test_f1_a_frame_with_its_own_level_keeps_it():
    """The immortal-time comparison carries its level with its table; the plan's table of
    it is headed with that level, not the analysis's (they may differ)."""
    from aplcohort.plan.write import frame_conf_level
    from aplcohort.stats.timedep import compare_naive_vs_timedependent
    d = pd.DataFrame({"patient_id": [f"p{i}" for i in range(12)],
                      "time": [5, 8, 12, 3, 9, 15, 7, 11, 4, 14, 6, 10.0],
                      "event": [1, 0, 1, 1, 1, 0, 1, 1, 0, 1, 1, 0],
                      "tt": [2, np.nan, 4, np.nan, 3, 5, np.nan, 2, np.nan, 6, 1, np.nan]})
    cmp = compare_naive_vs_timedependent(d, time="time", event="event", id="patient_id",
                                         exposure_time="tt", conf_level=0.9)
    assert cmp.table.attrs["conf_level"] == 0.9

    class A:
        result = None
        summary = {}
    tab = pd.DataFrame({"estimate": [1.0], "lower": [0.5], "upper": [2.0]})
    assert frame_conf_level(tab, A(), {"conf_level": 0.8}) == 0.8
    assert frame_conf_level(tab, A(), {}) == 0.95
    tab.attrs["conf_level"] = 0.9
    assert frame_conf_level(tab, A(), {"conf_level": 0.8}) == 0.9


# ------------------------------------------------------------------------------- F4
def test_reference_rows_are_the_plans_rows():
    import importlib.util
    spec = importlib.util.spec_from_file_location("r13x", REF_DIR / "review13a_export.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    import os
    cwd = os.getcwd()
    try:
        os.chdir(ROOT)
        for name, rows in (("plt", mod.plt_rows()), ("rfs", mod.rfs_rows())):
            ref = pd.read_csv(REF_DIR / "data" / f"review13a_{name}.csv")
            assert ref["patient_id"].tolist() == rows["patient_id"].tolist()
            np.testing.assert_allclose(ref["time"].to_numpy(float), rows["time"].to_numpy(float),
                                       rtol=0, atol=1e-12)
            assert ref["event"].tolist() == rows["event"].astype(int).tolist()
            assert ref["group"].tolist() == rows["group"].tolist()
    finally:
        os.chdir(cwd)


def _plt_cif(**kw):
    from aplcohort.stats.competing import cumulative_incidence
    d = pd.read_csv(REF_DIR / "data" / "review13a_plt.csv")
    return cumulative_incidence(d["time"], d["event"], d["group"], order=["ATO-based", "IC"], **kw)


def test_f4_round_off_one_is_one_as_cmprsk_gives_it():
    """cmprsk sums the complete ATO-based curve to 0.99999999999999989 at day 28 (so do
    we: same value, same variance); the estimate at 1 within round-off has no log-log
    limits, with the same note as an estimate of exactly 1 (IC, day 42). Before: limits
    0 and 1 ("100.0 (0.0–100.0)"), no note."""
    res = _plt_cif()
    at = res.at(REF["plt"]["times"])
    at = at[at["cause"] == 1]
    for r in REF["plt"]["cmprsk"]:
        g = r["name"].rsplit(" ", 1)[0]
        s = at[at["group"] == g].sort_values("time")
        np.testing.assert_allclose(s["estimate"].to_numpy(float), _fa(r["est"]), rtol=0,
                                   atol=TOL, equal_nan=True)
        np.testing.assert_allclose(s["std_err"].to_numpy(float) ** 2, _fa(r["var"]), rtol=0,
                                   atol=TOL, equal_nan=True)
    ato28 = at[(at["group"] == "ATO-based") & (at["time"] == 28)].iloc[0]
    ic42 = at[(at["group"] == "IC") & (at["time"] == 42)].iloc[0]
    assert ato28["estimate"] < 1.0 and 1.0 - ato28["estimate"] < 1e-12   # the round-off
    assert ic42["estimate"] == 1.0
    for row in (ato28, ic42):
        assert np.isnan(row["lower"]) and np.isnan(row["upper"])
        assert "confidence limits not defined at an estimate of 1" in row["note"]
    # the curve table follows the same rule
    tab = res.table
    last = tab[(tab["group"] == "ATO-based") & (tab["cause"] == 1)].iloc[-1]
    assert np.isnan(last["lower"]) and np.isnan(last["upper"])


def test_f4_where_r_survfit_differs():
    """R survfit (IJ variance) gives the same 0.99999999999999989 with an SE of 4e-17
    (round-off) and so a log-log interval (1, 1) there, but NA limits at an exact 1 (IC,
    day 42): two answers for one value. We give the IJ estimate and SE as R (1e-6) and no
    limits at either, with the reason."""
    res = _plt_cif(variance="ij")
    at = res.at(REF["plt"]["times"], complete=True)
    at = at[at["cause"] == 1]
    sf = REF["plt"]["survfit_loglog"]
    for i, (g, t) in enumerate(zip(sf["group"], sf["time"])):
        row = at[(at["group"] == g) & (at["time"] == t)].iloc[0]
        assert row["estimate"] == pytest.approx(_f(sf["pstate"][i]), abs=TOL)
        assert row["std_err"] == pytest.approx(_f(sf["std_err"][i]), abs=TOL)
        if abs(1.0 - row["estimate"]) <= 1e-12:
            assert np.isnan(row["lower"]) and np.isnan(row["upper"])
            assert "not defined at an estimate of 1" in row["note"]
        else:   # away from 1: R's log-log limits (the IJ SE is R's)
            assert row["lower"] == pytest.approx(_f(sf["lower"][i]), abs=TOL)
            assert row["upper"] == pytest.approx(_f(sf["upper"][i]), abs=TOL)
    assert _f(sf["lower"][2]) > 0.999 and np.isnan(_f(sf["lower"][9]))   # R: (1, 1) vs NA


def test_f4_complete_curve_known_after_its_last_time_censored_end_not():
    """One rule (shapes.curve_complete) for the tables and the facts: a curve with nobody
    left at risk because everyone had an event keeps its value after its last time; a
    curve ending by a censoring is not estimable there."""
    from aplcohort.stats.competing import cumulative_incidence
    from aplcohort.stats.km import kaplan_meier
    from aplcohort.stats.shapes import curve_complete
    t = np.array([1, 2, 3, 4, 1, 2, 3, 4.0])
    code = np.array([1, 2, 1, 1, 1, 2, 1, 0])
    g = np.array(["A"] * 4 + ["B"] * 4, dtype=object)
    res = cumulative_incidence(t, code, g)
    assert res.complete() == {"A": True, "B": False}
    at = res.at([5.0], complete=True)
    a1 = at[(at.group == "A") & (at.cause == 1)].iloc[0]
    b1 = at[(at.group == "B") & (at.cause == 1)].iloc[0]
    last_a = res.table[(res.table.group == "A") & (res.table.cause == 1)].iloc[-1]
    assert a1["estimate"] == last_a["estimate"] and a1["std_err"] == last_a["std_err"]
    assert np.isnan(b1["estimate"]) and "after the last follow-up" in b1["note"]
    # cmprsk timepoints' NA stays the library default
    assert res.at([5.0])["estimate"].isna().all()
    km = kaplan_meier(t, (code > 0).astype(int), g)
    k = km.at([5.0], complete=True).set_index("group")
    assert k.loc["A", "estimate"] == 0.0 and np.isnan(k.loc["B", "estimate"])
    assert km.at([5.0])["estimate"].isna().all()
    assert curve_complete(3, 3) and not curve_complete(3, 2) and not curve_complete(0, 0)


def test_f4_plan_table_and_facts_use_the_same_value(tmp_path, capsys):
    """Day-28 neutrophil recovery after ATO: the plan's cif table and the replication
    facts (_cif_at) give the same value (the complete curve's 1, limits not defined);
    before, the table said NE (after the last follow-up) and the facts 100%."""
    from aplcohort.cohort import load
    from aplcohort.plan.min2022 import _cif_at
    out, res = _run(tmp_path, [
        {"id": "anc", "kind": "cif", "where": WR, "endpoint": "anc",
         "group": "reinduction_regimen", "order": ["ATO-based", "IC"], "times": [21, 28, 35]},
        {"id": "plt", "kind": "cif", "where": WR, "endpoint": "plt",
         "group": "reinduction_regimen", "order": ["ATO-based", "IC"], "times": [28, 42]}],
        capsys)
    tex = (out / "tables" / "anc__estimates.tex").read_text(encoding="utf-8")
    assert re.search(r"ATO-based & 28 & 100\.0 \(NE--NE\)", tex), tex
    assert "after the last follow-up" not in tex
    tex = (out / "tables" / "plt__estimates.tex").read_text(encoding="utf-8")
    assert re.search(r"ATO-based & 28 & 100\.0 \(NE--NE\)", tex)
    assert "0.0--100.0" not in tex
    csv = pd.read_csv(out / "tables" / "anc__estimates.csv")
    row = csv[(csv.group == "ATO-based") & (csv.time == 28)].iloc[0]
    ep = load(str(DATA)).endpoint("ANC_recovery", time_zero="reinduction", unit="days").data
    ep = ep[ep["reinduction_regimen"].isin(["ATO-based", "IC"])]
    fact = _cif_at(ep["time"].to_numpy(float), ep["event"].to_numpy(int),
                   ep["reinduction_regimen"].to_numpy(object), 28.0)
    assert fact.loc["ATO-based", "estimate"] == pytest.approx(row["estimate"], abs=1e-12)
    assert np.isnan(fact.loc["ATO-based", "lower"]) and np.isnan(row["lower"])


# ------------------------------------------------------------------------------- F6
@pytest.mark.parametrize("pq,ref,name", [(None, "fh00", "Fleming-Harrington(0,0)"),
                                         ((1, 0), "fh10", "Fleming-Harrington(1,0)"),
                                         ((1, 1), "fh11", "Fleming-Harrington(1,1)")])
def test_f6_km_fleming_harrington_p_q_as_r(tmp_path, capsys, pq, ref, name):
    """km with test: fleming-harrington takes p / q (was refused: always FH(0,0), the
    log-rank test); statistic and p as R (survdiff rho = 1 for FH(1,0), FH(1,1) written
    out), named in the test table and its caption."""
    a = {"id": "km_b", "kind": "km", "where": W3, "endpoint": "rfs_pr",
         "group": "postremission_modality", "test": "fleming-harrington"}
    if pq is not None:
        a.update(p=pq[0], q=pq[1])
    out, res = _run(tmp_path, [a], capsys)
    t = res["km_b"]["test"]
    r = REF["rfs"][ref]
    assert t["test"] == name
    assert t["statistic"] == pytest.approx(_f(r["chisq"]), abs=TOL)
    assert t["p"] == pytest.approx(_f(r["p"]), abs=TOL)
    assert t["df"] == r["df"]
    tex = (out / "tables" / "km_b__test.tex").read_text(encoding="utf-8")
    assert name in tex.splitlines()[0]


def test_f6_km_p_q_same_as_logrank_kind(tmp_path, capsys):
    out, res = _run(tmp_path, [
        {"id": "km", "kind": "km", "where": W3, "endpoint": "rfs_pr",
         "group": "postremission_modality", "test": "fleming-harrington", "p": 0.5, "q": 2,
         "pairwise": True},
        {"id": "lr", "kind": "logrank", "where": W3, "endpoint": "rfs_pr",
         "group": "postremission_modality", "test": "fleming-harrington", "p": 0.5, "q": 2,
         "pairwise": True}], capsys)
    assert res["km"]["test"]["statistic"] == pytest.approx(res["lr"]["statistic"], rel=1e-12)
    assert res["km"]["test"]["test"] == "Fleming-Harrington(0.5,2)"
    assert res["km"]["pairwise"] == res["lr"]["pairwise"]


@pytest.mark.parametrize("extra,match", [
    ({"p": 1}, "'p' and 'q' apply to test: fleming-harrington only"),
    ({"test": "peto", "q": 1}, "'p' and 'q' apply to test: fleming-harrington only"),
    ({"test": "fleming-harrington", "p": -1}, "greater than or equal to 0"),
])
def test_f6_km_p_q_refused_without_fleming_harrington(tmp_path, capsys, extra, match):
    a = {"id": "km", "kind": "km", "where": W3, "endpoint": "rfs_pr",
         "group": "postremission_modality", **extra}
    rc = main(["run", str(_plan(tmp_path, [a])), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert rc == 2
    assert match in err
    from aplcohort.plan.spec import parse_analysis
    with pytest.raises(PlanError, match=re.escape(match)):
        parse_analysis({**a}, "analysis 'km'")
