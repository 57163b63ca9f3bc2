"""Three "no silent answer" leftovers of the plan kinds (review 16). Each test failed on the
code before its fix.

1. An ``order:`` level with no patient in the analysis set (a ``where:`` that removes it)
   was dropped without a word: km / cif / table1 / response / logrank / gray / landmark /
   immortal_time ran on the other groups and nothing said so (multistate / clfs refused it
   as "not a group label of the data", which it is). One rule (plan.kinds._order): a StatisticalWarning
   in the analysis's notes and ``warnings`` and in the report; the plan-level ``levels:``
   is named as such.
2. F8: an immortal-time comparison row's not-estimable reason repeated the row's whole
   description ("groups from time zero, reference ... (immortal-time bias); not estimable:
   ..."): the reason is the cause only.
3. The Fine-Gray non-convergence warning named no setting although the finegray kind has
   ``max_iter``: it says "raise max_iter in analysis '<id>'" (the Python API: "raise max_iter").
"""

import json
import warnings
from pathlib import Path

import pandas as pd
import pytest
import yaml

import aplcohort as apc
from aplcohort.cli import main

ROOT = Path(apc.__file__).resolve().parents[1]
DATA = ROOT / "data" / "synthetic" / "min2022.csv"
W = "postremission_modality in ['ATO-based', 'auto HSCT', 'allo HSCT']"
ORDER = ["ATO-based", "auto HSCT", "allo HSCT", "none"]
G = "postremission_modality"


def _run(tmp_path, analyses, edit=None, **top):
    """The plan run through the CLI on the bundled CSV (read as text: blank cells kept;
    ``edit(df)`` changes it first)."""
    df = pd.read_csv(DATA, dtype=str, keep_default_na=False)
    if edit is not None:
        edit(df)
    assert (df == "").any().any()          # the CSV has blank cells
    csv = tmp_path / "cohort.csv"
    df.to_csv(csv, index=False)
    plan = {"plan": "t", "data": {"source": str(csv)}, "seed": 1,
            "output": {"formats": ["png"], "tables": ["csv"]},
            "endpoints": {"os": {"endpoint": "OS", "time_zero": "response", "unit": "months"},
                          "cir": {"endpoint": "CIR", "time_zero": "response", "unit": "months"}},
            "analyses": analyses, **top}
    p = tmp_path / "plan.yaml"
    p.write_text(yaml.safe_dump(plan, sort_keys=False), encoding="utf-8")
    out = tmp_path / "out"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert main(["run", str(p), "--out", str(out), "--force"]) == 0
    return (json.loads((out / "results.json").read_text(encoding="utf-8")),
            (out / "report.html").read_text(encoding="utf-8"))


# ------------------------------------------------------------------------------ item 1
ORDER_KINDS = [
    {"id": "km", "kind": "km", "endpoint": "os", "figure": False, "times": [12]},
    {"id": "cif", "kind": "cif", "endpoint": "cir", "figure": False, "times": [12]},
    {"id": "t1", "kind": "table1", "variables": ["age_at_diagnosis", "sex"]},
    {"id": "resp", "kind": "response", "outcome": "sex == 'F'"},
    {"id": "lr", "kind": "logrank", "endpoint": "os"},
    {"id": "gray", "kind": "gray", "endpoint": "cir"},
    {"id": "lm", "kind": "landmark", "endpoint": "os", "landmarks": [3]},
    {"id": "ms", "kind": "multistate", "times": [12], "figure": False},   # was refused:
    {"id": "clfs", "kind": "clfs", "times": [12], "figure": False},       # "not a group label"
]


def test_order_level_without_patient_is_said(tmp_path):
    an = [{**a, "group": G, "order": ORDER, "where": W} for a in ORDER_KINDS]
    an.append({"id": "it", "kind": "immortal_time", "endpoint": "os", "group": G,
               "reference": "ATO-based", "exposure": "postremission_start_date",
               "order": ["auto HSCT", "allo HSCT", "none"], "where": W})
    doc, html = _run(tmp_path, an)
    n_none = int((pd.read_csv(DATA, dtype=str)[G] == "none").sum())
    assert n_none > 0
    for aid, a in doc["analyses"].items():
        assert a["status"] == "ok", (aid, a.get("reason"))
        said = [w for w in a.get("warnings", []) if "'none'" in w]
        assert len(said) == 1, (aid, a.get("warnings"))
        assert said[0].startswith("StatisticalWarning: order lists 'none', which has no "
                                  "patient in this analysis (after where: `"), said[0]
        assert "left out of the comparison" in said[0]
        # the patients of 'none' are in the exclusions log (the where: that removed them)
        assert sum(e["n"] for e in a["exclusions"] if W in e["reason"]) >= n_none, aid
    assert html.count("order lists &#x27;none&#x27;") + html.count("order lists 'none'") >= 10


def test_plan_levels_level_without_patient_names_levels(tmp_path):
    an = [{"id": "km", "kind": "km", "endpoint": "os", "group": G, "where": W, "figure": False}]
    doc, _ = _run(tmp_path, an, levels={G: ORDER})
    said = [w for w in doc["analyses"]["km"]["warnings"] if "'none'" in w]
    assert said and said[0].startswith(f"StatisticalWarning: the plan's levels: for '{G}' "
                                       "lists 'none'")


def test_order_levels_all_present_say_nothing(tmp_path):
    an = [{"id": "km", "kind": "km", "endpoint": "os", "group": G, "order": ORDER[:3],
           "where": W, "figure": False}]
    doc, _ = _run(tmp_path, an)
    assert not [w for w in doc["analyses"]["km"].get("warnings", []) if "lists" in w]


# ------------------------------------------------------------------------------ item 2
def _walk(o, path=""):
    if isinstance(o, dict):
        yield path, o
        for k, v in o.items():
            yield from _walk(v, f"{path}/{k}")
    elif isinstance(o, list):
        for i, v in enumerate(o):
            yield from _walk(v, f"{path}[{i}]")


def _allo_alive(df):
    """No allo HSCT patient dies: its naive hazard ratio runs to zero (not estimable)."""
    m = df[G] == "allo HSCT"
    df.loc[m, "death_date"] = ""
    df.loc[m, "death_cause"] = ""


def test_comparison_row_reason_is_the_cause_only(tmp_path):
    an = [{"id": "km", "kind": "km", "endpoint": "os", "group": G, "where": W,
           "figure": False}]
    doc, html = _run(tmp_path, an, edit=_allo_alive)
    rows = [(p, o) for p, o in _walk(doc["analyses"]["km"])
            if "method" in o and "term" in o and o.get("not_estimable")]
    assert rows, "the naive comparison has a term that is not estimable"
    for p, o in rows:
        assert "not estimable: " in o["note"]           # the row keeps its description
        cause = o["note"].split("not estimable: ", 1)[1]
        for f, why in o["not_estimable"].items():
            assert why == cause, (p, f, why)
            assert "immortal-time bias" not in why and "groups from time zero" not in why
    # the CSV's reason column and the journal table's NE footnote (report.html) say the same
    csv = pd.read_csv(tmp_path / "out" / "tables" / "km__immortal_time.csv",
                      keep_default_na=False)
    ne = [r for r in csv["not_estimable"] if r]
    assert ne and all("immortal-time bias" not in r for r in ne), ne
    foot = [ln for ln in html.split("NE, not estimable: ")[1:]]
    assert foot and all("immortal-time bias" not in f.split("<", 1)[0] for f in foot)
    assert "allo HSCT: coefficient may be infinite (monotone likelihood)" in html


# ------------------------------------------------------------------------------ item 3
def test_finegray_not_converged_names_max_iter(tmp_path):
    an = [{"id": "fg", "kind": "finegray", "endpoint": "cir", "covariates": ["sex", "age_at_diagnosis"],
           "max_iter": 1}]
    doc, html = _run(tmp_path, an)
    said = [w for w in doc["analyses"]["fg"].get("warnings", []) if "did not converge" in w]
    assert said, doc["analyses"]["fg"].get("warnings")
    assert said[0].endswith("estimates may be unreliable: raise max_iter in analysis 'fg'")
    assert "raise max_iter in analysis" in html


def test_finegray_python_api_names_the_argument():
    cohort = apc.load(DATA)
    d = cohort.endpoint("CIR", time_zero="response", unit="months").data
    with pytest.warns(apc.errors.ConvergenceWarning, match=r"unreliable \(raise max_iter\)"):
        apc.stats.fine_gray(d, time="time", code="event", covariates=["age_at_diagnosis"],
                            max_iter=1)
