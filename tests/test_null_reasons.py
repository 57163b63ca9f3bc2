"""Every null in results.json carries its reason (review 15, F15a).

The rule (docs/results_json.md, "Null values and their reasons"): a field F of an object
O that is ``null`` has its reason in O itself, as ``O["not_estimable"][F]`` (the data cannot
give the value) or ``O["not_applicable"][F]`` (the value is not asked for or not defined
for this row), a non-empty text. Fields that are themselves reasons (``note``, ``notes``,
``reason``, ``*_note``) are null when there is nothing to explain and are not values. The
two maps name only null fields of O, and never the same field twice.

The full-precision CSV of a result frame carries the same reasons in two columns
``not_estimable`` / ``not_applicable`` (``test_csv_blanks_have_their_reason``).

Walked here: ``aplcohort replicate min2022`` and a plan with every plan kind of
``aplcohort.plan.registry`` run through ``aplcohort.cli.main(["run", ...])`` on a copy of
the bundled CSV with blank cells and small groups. Both failed before the reasons were
written (hundreds of bare nulls: ``robust_se`` without a robust variance, Table 1's
categorical rows, the count rows of the published-vs-reproduced table, ...).

A third plan (``_propensity_plan``) runs every kind that takes ``propensity:`` (weighting
and matching, ATE / ATT / ATO, with and without trim / truncate / caliper) without a
``seed:``; it failed before those reasons were written (132 bare nulls: the adjustment's
settings not used, the weighted Table 1 rows, Table 1's ``unadjusted``, the weighted
Kaplan–Meier curve's ``cause``, ``provenance.seed``).
"""

import json
import math
import re
import warnings
from pathlib import Path

import pandas as pd
import pytest
import yaml

from aplcohort.cli import main
from aplcohort.plan.registry import KINDS

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data" / "synthetic" / "min2022.csv"
W = "postremission_modality in ['ATO-based', 'auto HSCT', 'allo HSCT']"
R = "reinduction_regimen in ['ATO-based', 'IC']"
MAPS = ("not_estimable", "not_applicable")


def _is_reason_field(key) -> bool:
    return key in ("note", "notes", "reason") or str(key).endswith("_note")


def _is_null(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def unexplained(doc) -> list:
    """Every null of ``doc`` without its reason beside it, and every reason map that is
    not well formed, as printable paths."""
    bad = []

    def walk(o, path):
        if isinstance(o, dict):
            maps = {m: o.get(m) for m in MAPS if isinstance(o.get(m), dict)}
            # the top-level `not_estimable` is {analysis id: reason} (no nulls there)
            for m, mp in maps.items():
                for k, why in mp.items():
                    if not (isinstance(why, str) and why.strip()):
                        bad.append(f"{path}/{m}/{k}: empty reason")
                    if path and (k not in o or not _is_null(o[k])):
                        bad.append(f"{path}/{m}/{k}: reason for a field that is not null")
            if len(maps) == 2 and set(maps["not_estimable"]) & set(maps["not_applicable"]):
                bad.append(f"{path}: a field both not estimable and not applicable")
            for k, v in o.items():
                if _is_null(v):
                    if _is_reason_field(k):
                        continue
                    if not any(k in mp for mp in maps.values()):
                        bad.append(f"{path}/{k}")
                elif k not in MAPS:
                    walk(v, f"{path}/{k}")
        elif isinstance(o, list):
            for i, v in enumerate(o):
                if _is_null(v):
                    bad.append(f"{path}[{i}] (null list item)")
                else:
                    walk(v, f"{path}[{i}]")

    walk(doc, "")
    return bad


def _summary(bad, n=40):
    shapes = sorted({re.sub(r"\[\d+\]", "[]", b) for b in bad})
    return f"{len(bad)} null(s) without a reason, e.g.:\n" + "\n".join(shapes[:n])


def _reason(o, field):
    for m in MAPS:
        if field in (o.get(m) or {}):
            return m, o[m][field]
    return None, None


# ---------------------------------------------------------------------------- runs
@pytest.fixture(scope="module")
def min2022(tmp_path_factory):
    out = tmp_path_factory.mktemp("nullreasons") / "min2022"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rc = main(["replicate", "min2022", "--out", str(out)])
    assert rc in (0, None)
    return json.loads((out / "results.json").read_text(encoding="utf-8")), out


def _every_kind_plan(csv) -> dict:
    analyses = [
        {"id": "km", "kind": "km", "endpoint": "os", "group": "postremission_modality",
         "where": W, "times": [12, 36, 400], "hr": True, "median_followup": True,
         "cumhaz": True, "pairwise": True, "figure": False},
        {"id": "lr", "kind": "logrank", "endpoint": "os", "group": "postremission_modality",
         "where": W, "pairwise": True},
        {"id": "rmst", "kind": "rmst", "endpoint": "os", "group": "sex", "where": W},
        {"id": "rmst_small", "kind": "rmst", "endpoint": "os", "group": "sex", "tau": 2,
         "where": "postremission_modality == 'allo HSCT'"},
        {"id": "cif", "kind": "cif", "endpoint": "cir", "group": "postremission_modality",
         "where": W, "times": [12, 36], "figure": False},
        {"id": "gray", "kind": "gray", "endpoint": "cir", "group": "postremission_modality",
         "where": W},
        {"id": "cox", "kind": "cox", "endpoint": "os_rel",
         "covariates": ["age_at_diagnosis", "sex", "sanz_risk"], "categorical": {"sex": "F"},
         "zph": True, "concordance": True, "univariable": True},
        {"id": "cox_robust", "kind": "cox", "endpoint": "os_rel",
         "covariates": ["age_at_diagnosis", "sex"], "cluster": "center"},
        {"id": "fg", "kind": "finegray", "endpoint": "cir",
         "covariates": ["age_at_diagnosis", "sex"], "categorical": {"sex": "F"},
         "where": "response.notna()"},
        {"id": "csc", "kind": "cause_specific_cox", "endpoint": "cir",
         "covariates": ["age_at_diagnosis", "sex"], "categorical": {"sex": "F"}, "cause": 1,
         "where": "response.notna()"},
        {"id": "lm", "kind": "landmark", "endpoint": "os", "exposure": "hsct_start_date",
         "landmarks": [3, 6, 400], "times": [12, 24], "where": W},
        {"id": "tdc", "kind": "td_cox", "endpoint": "os", "exposure": "hsct_start_date",
         "covariates": ["sex"], "where": W},
        {"id": "tdfg", "kind": "td_finegray", "endpoint": "cir", "exposure": "hsct_start_date",
         "where": W},
        {"id": "mb", "kind": "mantel_byar", "endpoint": "os", "exposure": "hsct_start_date",
         "where": W},
        {"id": "sm", "kind": "simon_makuch", "endpoint": "os", "exposure": "hsct_start_date",
         "where": W, "times": [12], "figure": False},
        {"id": "it", "kind": "immortal_time", "endpoint": "os", "group": "hsct",
         "exposure": "hsct_start_date", "where": W},
        {"id": "resp", "kind": "response", "group": "reinduction_regimen",
         "outcome": "response == 'mCR2'", "where": R},
        {"id": "t1", "kind": "table1", "group": "reinduction_regimen",
         "variables": ["age_at_diagnosis", "sex", "wbc_relapse", "sanz_risk"], "where": R,
         "smd": True},
        {"id": "cnt", "kind": "counts", "columns": ["sex", "postremission_modality"]},
        {"id": "flow", "kind": "flow"},
        {"id": "swim", "kind": "swimmer"},
        {"id": "ms", "kind": "multistate", "cr3_entry": "salvage_start",
         "times": [12, 60, 400], "tau": 60, "group": "sex"},
        {"id": "clfs", "kind": "clfs", "cr3_entry": "salvage_start", "times": [12, 60, 400],
         "tau": 60, "group": "sex"},
    ]
    return {"plan": "null_reasons", "data": {"source": str(csv)}, "seed": 1,
            "output": {"formats": ["png"], "tables": ["csv"]},
            "endpoints": {"os": {"endpoint": "OS", "time_zero": "response", "unit": "months"},
                          "os_rel": {"endpoint": "OS", "time_zero": "relapse1",
                                     "unit": "months"},
                          "cir": {"endpoint": "CIR", "time_zero": "response",
                                  "unit": "months"}},
            "analyses": analyses}


def blanked_cohort(tmp):
    """The replica with blank cells in covariates (age, sex, WBC), written to ``tmp``."""
    d = pd.read_csv(DATA, dtype=str, keep_default_na=False)
    for i in (1, 5, 9):
        d.loc[i, "age_at_diagnosis"] = ""
    for i in (2, 7):
        d.loc[i, "sex"] = ""
    d.loc[3, "wbc_relapse"] = ""
    csv = tmp / "cohort.csv"
    d.to_csv(csv, index=False)
    return csv


@pytest.fixture(scope="module")
def every_kind(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("nullreasons_kinds")
    return _run_plan(tmp, _every_kind_plan(blanked_cohort(tmp)))


def _run_plan(tmp, plan):
    """Run ``plan`` as a user does (``aplcohort run``): ``(plan, results.json, out)``."""
    p = tmp / "plan.yaml"
    p.write_text(yaml.safe_dump(plan, sort_keys=False), encoding="utf-8")
    out = tmp / "out"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rc = main(["run", str(p), "--out", str(out)])
    assert rc == 0
    return plan, json.loads((out / "results.json").read_text(encoding="utf-8")), out


# --------------------------------------------------------------------------- tests
def test_the_plan_exercises_every_kind(every_kind):
    plan, doc, _ = every_kind
    assert {a["kind"] for a in plan["analyses"]} == set(KINDS)
    assert all(a["status"] == "ok" for a in doc["analyses"].values()), \
        {k: a.get("reason") for k, a in doc["analyses"].items() if a["status"] != "ok"}


def test_every_null_of_min2022_has_its_reason(min2022):
    bad = unexplained(min2022[0])
    assert not bad, _summary(bad)


def test_every_null_of_every_kind_has_its_reason(every_kind):
    _, doc, _ = every_kind
    bad = unexplained(doc)
    assert not bad, _summary(bad)


def test_the_walker_catches_a_bare_null():
    """The rule itself: a bare null, an empty reason, a stale reason are each reported."""
    assert unexplained({"a": [{"p": None}]}) == ["/a[0]/p"]
    assert unexplained({"a": {"p": None, "not_applicable": {"p": ""}}}) == \
        ["/a/not_applicable/p: empty reason"]
    assert unexplained({"a": {"p": 0.5, "not_estimable": {"p": "x"}}}) == \
        ["/a/not_estimable/p: reason for a field that is not null"]
    assert unexplained({"a": {"p": None, "note": None, "not_estimable": {"p": "x"}}}) == []


def test_the_reasons_are_those_of_the_row(min2022, every_kind):
    """Not a generic 'missing': each reason is the one of its row."""
    _, doc, _ = every_kind
    an = doc["analyses"]
    # no robust variance asked: robust_se is not applicable; with cluster: it is there
    for t in an["cox"]["terms"]:
        assert t["robust_se"] is None
        kind, why = _reason(t, "robust_se")
        assert kind == "not_applicable" and "robust" in why
    assert all(t["robust_se"] is not None for t in an["cox_robust"]["terms"])
    assert not [t for t in an["cox_robust"]["terms"] if _reason(t, "robust_se")[0]]
    # Table 1: a categorical row has no median, a continuous row no percentage
    rows = an["t1"]["rows"]
    cat = next(r for r in rows if r["variable"] == "sex" and r["level"] is not None)
    assert _reason(cat, "median")[0] == "not_applicable"
    assert "categorical" in _reason(cat, "median")[1]
    num = next(r for r in rows if r["variable"] == "age_at_diagnosis")
    assert _reason(num, "pct")[0] == "not_applicable" and "continuous" in _reason(num, "pct")[1]
    # Fisher's exact test has no statistic: not applicable, with the analysis's own note
    r = an["resp"]
    assert r["statistic"] is None and _reason(r, "statistic") == ("not_applicable",
                                                                   r["statistic_note"])
    # an estimable: false term keeps its own note as the reason
    for t in an["lm"]["landmarks"]["terms"]:
        if t["estimable"] is False:
            assert _reason(t, "coef") == ("not_estimable", t["note"])
    # the published-vs-reproduced count rows: a count has no CI and no test
    counts = [r for r in min2022[0]["published_vs_reproduced"] if r["test"] == "count"]
    assert counts
    for r in counts:
        for f in ("ci_lower", "ci_upper", "p", "published_in_ci"):
            kind, why = _reason(r, f)
            assert kind == "not_applicable" and "count" in why, (r["id"], f)


def _unexplained_blanks(out) -> list:
    """Blank cells of the full-precision CSV tables of result frames without their reason
    in the row's ``not_estimable`` / ``not_applicable`` columns (text columns such as ``ci``
    and the note columns are not values; the formatted tables have footnotes)."""
    bad = []
    for f in sorted((out / "tables").glob("*.csv")):
        d = pd.read_csv(f, dtype=str, keep_default_na=False)
        if not all(re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", c) for c in d.columns):
            continue   # a formatted journal table (labelled columns, footnote lines)
        raw = pd.read_csv(f, keep_default_na=True)
        for i, r in d.iterrows():
            named = set()
            for m in MAPS:
                for part in filter(None, str(r.get(m, "")).split("; ")):
                    named |= set(part.split(": ", 1)[0].split(", "))
            for c in d.columns:
                # a text column (object under pandas 2, str under pandas 3) with some text
                text_col = (not pd.api.types.is_numeric_dtype(raw[c])
                            and not raw[c].isna().all())
                if r[c] == "" and not _is_reason_field(c) and c not in MAPS \
                        and not text_col and c not in named:
                    bad.append(f"{f.name}[{i}]/{c}")
    return bad


def test_csv_blanks_have_their_reason(min2022, every_kind):
    """The full-precision CSV tables carry the same reasons (the formatted tables keep
    their NR / NE footnotes)."""
    for out in (min2022[1], every_kind[2]):
        bad = _unexplained_blanks(out)
        assert not bad, bad[:40]
    terms = pd.read_csv(every_kind[2] / "tables" / "cox__terms.csv", keep_default_na=False)
    assert (terms["robust_se"] == "").all()
    assert terms["not_applicable"].str.contains("robust_se: no robust variance asked").all()


# ------------------------------------------------------------- propensity-score blocks
P = "postremission_modality in ['ATO-based', 'auto HSCT']"
COV = ["age_at_diagnosis", "sex"]


def _propensity_plan(csv) -> dict:
    """Every kind that takes ``propensity:``, with both methods, the ATE / ATT / ATO
    estimands, and with and without trim / truncate / caliper, so each null of a
    propensity-score block (a setting not used, a weighted Table 1 row's empty group or a
    categorical row's SD, Table 1's unadjusted part, a weighted survival curve's cause)
    appears; no ``seed:`` (the provenance's seed is null)."""
    def ps(**kw):
        return {"covariates": COV, **kw}
    analyses = [
        {"id": "t1_w", "kind": "table1", "group": "reinduction_regimen", "where": R,
         "variables": ["age_at_diagnosis", "plt_relapse", "sex"],
         "propensity": ps(method="iptw")},
        {"id": "t1_m", "kind": "table1", "group": "reinduction_regimen", "where": R,
         "variables": ["age_at_diagnosis", "sex"], "propensity": ps(method="matching")},
        {"id": "km_m", "kind": "km", "endpoint": "os", "group": "postremission_modality",
         "where": P, "figure": False, "propensity": ps(method="matching")},
        {"id": "km_mc", "kind": "km", "endpoint": "os", "group": "postremission_modality",
         "where": P, "figure": False, "propensity": ps(method="matching", caliper=0.2)},
        {"id": "km_att", "kind": "km", "endpoint": "os", "group": "postremission_modality",
         "where": P, "figure": False, "propensity": ps(method="iptw", estimand="ATT")},
        {"id": "km_tt", "kind": "km", "endpoint": "os", "group": "postremission_modality",
         "where": P, "figure": False,
         "propensity": ps(method="iptw", trim=0.05, truncate=0.99)},
        {"id": "lr_ato", "kind": "logrank", "endpoint": "os", "group": "postremission_modality",
         "where": P, "propensity": ps(method="iptw", estimand="ATO")},
        {"id": "cif_w", "kind": "cif", "endpoint": "cir", "group": "postremission_modality",
         "where": P, "figure": False, "propensity": ps(method="iptw")},
        {"id": "cox_w", "kind": "cox", "endpoint": "os", "where": P, "covariates": ["sex"],
         "propensity": ps(method="iptw", treatment="postremission_modality")},
        {"id": "fg_m", "kind": "finegray", "endpoint": "cir", "where": P, "covariates": ["sex"],
         "propensity": ps(method="matching", treatment="postremission_modality")},
    ]
    plan = _every_kind_plan(csv)
    del plan["seed"]
    return {**plan, "plan": "null_reasons_propensity", "analyses": analyses,
            "output": {"formats": ["png"], "tables": ["csv", "tex"]}}


@pytest.fixture(scope="module")
def propensity(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("nullreasons_ps")
    csv = blanked_cohort(tmp)
    d = pd.read_csv(csv, dtype=str, keep_default_na=False)
    d.loc[d["reinduction_regimen"] == "IC", "plt_relapse"] = ""   # a group with no value
    d.to_csv(csv, index=False)
    return _run_plan(tmp, _propensity_plan(csv))


def test_the_propensity_plan_exercises_every_adjusted_kind(propensity):
    plan, doc, _ = propensity
    assert {a["kind"] for a in plan["analyses"]} == \
        {k for k, m in KINDS.items() if "propensity" in m.model.model_fields}
    bad = {k: a["adjusted"].get("reason") for k, a in doc["analyses"].items()
           if a["status"] != "ok" or a["adjusted"].get("status") in ("not estimable", "error")}
    assert not bad, bad


def test_every_null_of_the_propensity_blocks_has_its_reason(propensity):
    bad = unexplained(propensity[1])
    assert not bad, _summary(bad)


def test_the_propensity_reasons_are_those_of_the_row(propensity):
    _, doc, _ = propensity
    an = {k: a["adjusted"] for k, a in doc["analyses"].items()}
    # a setting not asked / not used by the estimand: not applicable, naming it
    w = an["cox_w"]["adjustment"]
    assert w["estimand"] == "ATE" and w["focal"] is None
    assert _reason(w, "focal")[0] == "not_applicable" and "ATE" in _reason(w, "focal")[1]
    for f in ("trim", "truncate"):
        assert _reason(w, f)[0] == "not_applicable" and f"{f}: not set" in _reason(w, f)[1]
    t = an["km_tt"]["adjustment"]
    assert (t["trim"], t["truncate"]) == (0.05, 0.99) and _reason(t, "trim") == (None, None)
    assert an["km_att"]["adjustment"]["focal"] is not None
    m, mc = an["km_m"]["adjustment"], an["km_mc"]["adjustment"]
    for f in ("caliper", "caliper_logit"):
        assert m[f] is None and _reason(m, f)[0] == "not_applicable"
        assert "caliper: not set" in _reason(m, f)[1]
        assert mc[f] is not None and _reason(mc, f) == (None, None)
    # Table 1: the unadjusted values are columns of the one frame
    t1 = an["t1_w"]
    assert t1["unadjusted"] is None
    assert _reason(t1, "unadjusted")[0] == "not_applicable"
    assert "mean and sd columns" in _reason(t1, "unadjusted")[1]
    rows = t1["adjusted"]
    empty = next(r for r in rows if r["variable"] == "plt_relapse" and r["group"] == "IC")
    assert empty["n"] == 0
    for f in ("mean", "sd", "weighted_mean", "weighted_sd"):
        assert _reason(empty, f) == ("not_estimable",
                                     "no known value of 'plt_relapse' in group 'IC'")
    cat = next(r for r in rows if r["variable"] == "sex")
    assert cat["mean"] is not None
    for f in ("sd", "weighted_sd"):
        assert _reason(cat, f)[0] == "not_applicable" and "categorical" in _reason(cat, f)[1]
    # the weighted / matched Kaplan-Meier curve has no cause; the CIF curve has one
    for r in an["km_m"]["adjusted"]["table"]:
        assert r["cause"] is None and _reason(r, "cause")[0] == "not_applicable"
    assert all(r["cause"] is not None for r in an["cif_w"]["adjusted"]["table"])
    # no seed: in the plan
    prov = doc["provenance"]
    assert prov["seed"] is None and _reason(prov, "seed")[0] == "not_applicable"


def test_propensity_tables_print_their_blanks(propensity):
    """The CSV of the adjusted frames has the reason columns; their journal table prints NE
    / – with the reason as footnote."""
    out = propensity[2]
    bad = _unexplained_blanks(out)
    assert not bad, bad[:40]
    t1 = pd.read_csv(out / "tables" / "t1_w__adjusted_adjusted.csv", keep_default_na=False)
    row = t1[(t1["variable"] == "plt_relapse") & (t1["group"] == "IC")].iloc[0]
    assert row["mean"] == "" and "no known value of 'plt_relapse'" in row["not_estimable"]
    tex = (out / "tables" / "t1_w__adjusted_adjusted.tex").read_text(encoding="utf-8")
    assert "NE$^{" in tex and "no known value of 'plt\\_relapse' in group 'IC'" in tex
    assert "--$^{" in tex and "categorical variable" in tex


def test_weighted_table1_rows_the_run_does_not_reach():
    """The rows of a weighted Table 1 the plan's data do not give: one known value (no SD),
    known values but no positive weight (matching leaves them unmatched)."""
    from aplcohort.plan.null_reasons import explain_nulls
    one = {"variable": "age", "level": "", "group": "IC", "n": 1, "weighted_n": 2.0,
           "mean": 40.0, "sd": None, "weighted_mean": 40.0, "weighted_sd": None}
    unw = {"variable": "age", "level": "", "group": "IC", "n": 3, "weighted_n": 0.0,
           "mean": 40.0, "sd": 2.0, "weighted_mean": None, "weighted_sd": None}
    doc = explain_nulls({"analyses": {"t": {"kind": "table1", "adjusted": {
        "kind": "adjusted_analysis", "analysis": "table1", "adjusted": [one, unw]}}}})
    assert not unexplained(doc), unexplained(doc)
    assert _reason(one, "sd") == ("not_estimable", "one known value of 'age' in group 'IC': no SD")
    assert _reason(one, "weighted_sd")[0] == "not_estimable"
    assert "positive weight" in _reason(unw, "weighted_mean")[1]
    assert "positive weight" in _reason(unw, "weighted_sd")[1]
