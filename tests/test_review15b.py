"""Review 15, part B, on the path users take (plans run through
``aplcohort.cli.main(["run", ...])`` on CSV files with blank cells; ``aplcohort validate``;
the Python API where it is the path). Each test failed before its fix.

1. Notes, tables and results.json of a plan analysis named settings its kind does not have
   (``max_iter`` in a ``cif`` / ``td_finegray`` / ``cox`` analysis, ``firth`` in kinds
   without it).
2. The warnings a run prints pointed to the Python function ``firth_coxph`` and to
   ``max_iter``; in a plan they name the plan setting and the analysis.
3. Validation said nothing about a transplant without its date.
4. The immortal-time comparison listed the treated groups alphabetically, not in the
   analysis's group order.
5. A cut-off given as a day number under ``sas_stata_dates: true`` was refused with advice
   to declare ``excel_serial_dates`` (which misreads every date by 21,916 days).
"""

import json
import re
import warnings
from pathlib import Path

import pandas as pd
import pytest
import yaml

import aplcohort as apc
from aplcohort.cli import main
from aplcohort.plan.registry import KINDS

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data" / "synthetic" / "min2022.csv"
ENDPOINTS = {"os_cr2": {"endpoint": "OS", "time_zero": "response", "unit": "months"},
             "os_rel": {"endpoint": "OS", "time_zero": "relapse1", "unit": "months"},
             "cir_cr2": {"endpoint": "CIR", "time_zero": "response", "unit": "months"}}
CONS = "postremission_modality in ['ATO-based', 'auto HSCT', 'allo HSCT']"


def _raw() -> pd.DataFrame:
    """The bundled CSV as text (blank cells stay blank when written back)."""
    return pd.read_csv(DATA, dtype=str, keep_default_na=False)


def _run(tmp_path, analyses, source=DATA, mapping=None, name="out"):
    data = {"source": str(source)}
    if mapping is not None:
        data["mapping"] = str(mapping)
    plan = {"plan": "review15b", "data": data, "seed": 1,
            "output": {"formats": ["png"], "tables": ["csv"]}, "endpoints": ENDPOINTS,
            "analyses": analyses}
    p = tmp_path / f"{name}.yaml"
    p.write_text(yaml.safe_dump(plan, sort_keys=False), encoding="utf-8")
    out = tmp_path / name
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rc = main(["run", str(p), "--out", str(out)])
    assert rc == 0
    return out, json.loads((out / "results.json").read_text(encoding="utf-8"))


# ------------------------------------------------------------------------- items 1 and 2
#: advice that names a Python argument / function, or a plan setting, by the setting
PYTHON_ADVICE = ("firth_coxph", "aplcohort.stats")
SETTING_WORDS = {"firth": "firth: true", "max_iter": "max_iter"}


@pytest.fixture(scope="module")
def separated(tmp_path_factory):
    """A run where fits diverge: 'lucky' (6 patients alive at the end, blank for none) has
    no death in one level; hsct has a group without events in the comparisons."""
    tmp = tmp_path_factory.mktemp("separated")
    df = _raw()
    yes = df.index[df["death_date"] == ""][:6]
    df["lucky"] = "no"
    df.loc[yes, "lucky"] = "yes"
    src = tmp / "lucky.csv"
    df.to_csv(src, index=False)
    analyses = [
        {"id": "cx", "kind": "cox", "endpoint": "os_rel", "covariates": ["lucky"],
         "figure": False},
        # its propensity-score adjustment is never fitted with firth: true
        {"id": "cxp", "kind": "cox", "endpoint": "os_rel", "covariates": ["lucky"],
         "figure": False, "propensity": {"treatment": "lucky",
                                         "covariates": ["age_at_diagnosis"]}},
        {"id": "csc", "kind": "cause_specific_cox", "endpoint": "cir_cr2", "cause": 2,
         "covariates": ["lucky"], "figure": False},
        {"id": "kmhr", "kind": "km", "endpoint": "os_rel", "group": "lucky", "hr": True,
         "figure": False},
        {"id": "lm", "kind": "landmark", "endpoint": "os_cr2", "exposure": "hsct_start_date",
         "landmarks": [3], "covariates": ["lucky"]},
        {"id": "tdc", "kind": "td_cox", "endpoint": "os_cr2", "exposure": "hsct_start_date",
         "covariates": ["lucky"], "figure": False},
        {"id": "tdfg", "kind": "td_finegray", "endpoint": "cir_cr2", "cause": 2,
         "exposure": "hsct_start_date", "covariates": ["lucky"]},
        {"id": "it", "kind": "immortal_time", "endpoint": "os_cr2", "group": "hsct",
         "exposure": "hsct_start_date", "reference": "no HSCT", "landmarks": [3]},
        {"id": "cif1", "kind": "cif", "endpoint": "cir_cr2", "group": "hsct", "cause": 2,
         "times": [12], "figure": False},
        {"id": "kmit", "kind": "km", "endpoint": "os_cr2", "group": "hsct", "times": [12],
         "figure": False, "landmarks": [3]},
        {"id": "fgit", "kind": "finegray", "endpoint": "cir_cr2", "cause": 2,
         "covariates": ["hsct"], "figure": False},
    ]
    plan = {"plan": "review15b", "data": {"source": str(src)}, "seed": 1,
            "output": {"formats": ["png"], "tables": ["csv"]}, "endpoints": ENDPOINTS,
            "analyses": analyses}
    p = tmp / "plan.yaml"
    p.write_text(yaml.safe_dump(plan, sort_keys=False), encoding="utf-8")
    return p, tmp / "out", analyses


@pytest.fixture(scope="module")
def separated_run(separated):
    p, out, analyses = separated
    import contextlib
    import io
    buf = io.StringIO()
    with warnings.catch_warnings(), contextlib.redirect_stdout(buf), \
            contextlib.redirect_stderr(buf):
        warnings.simplefilter("ignore")
        rc = main(["run", str(p), "--out", str(out)])
    assert rc == 0
    return out, json.loads((out / "results.json").read_text(encoding="utf-8")), \
        buf.getvalue(), analyses


def _texts_of(out, res, printed, aid):
    """Every text a user sees of analysis ``aid``: its tables, its results.json entry, the
    run's warnings and the terminal lines about it."""
    texts = {f.name: f.read_text(encoding="utf-8") for f in (out / "tables").glob(f"{aid}__*")}
    texts["results.json"] = json.dumps(res["analyses"][aid], ensure_ascii=False)
    texts["run warnings"] = "\n".join(w for w in res["warnings"] if w.startswith(f"[{aid}]"))
    texts["terminal"] = "\n".join(ln for ln in printed.splitlines() if f"[{aid}]" in ln)
    return texts


def test_notes_and_warnings_name_only_settings_of_the_kind(separated_run):
    out, res, printed, analyses = separated_run
    # the run has the cases: a separated term, a fit stopped by the iterations, warnings
    assert "SeparationWarning" in printed and "ConvergenceWarning" in printed
    assert "the coefficient still moving" in json.dumps(res)
    for a in analyses:
        fields = KINDS[a["kind"]].model.model_fields
        for where, text in _texts_of(out, res, printed, a["id"]).items():
            for word in PYTHON_ADVICE:
                assert word not in text, (a["id"], where, word)
            for key, word in SETTING_WORDS.items():
                if key not in fields:
                    assert word not in text, (a["id"], where, word)
    # the comparison of a finegray analysis is not fitted with its max_iter: not named there
    fgit = _texts_of(out, res, printed, "fgit")
    assert "max_iter" not in fgit["fgit__immortal_time.csv"] + fgit["terminal"]
    # what stays: the reason (not estimable, monotone likelihood) and, in cox, the setting
    assert "monotone likelihood" in (out / "tables" / "cif1__immortal_time.csv").read_text()
    cx = _texts_of(out, res, printed, "cx")
    assert "consider firth: true" in cx["cx__terms.csv"]
    # the adjusted and unadjusted models of a propensity block take no setting of the kind
    cxp = _texts_of(out, res, printed, "cxp")
    adjusted = {k: v for k, v in cxp.items() if k.startswith("cxp__adjusted")}
    assert "cxp__adjusted_adjusted_terms.csv" in adjusted
    assert "monotone likelihood" in adjusted["cxp__adjusted_adjusted_terms.csv"]
    assert not [k for k, v in adjusted.items() if "firth:" in v or "firth_coxph" in v]
    assert "Firth's correction is not available" in adjusted["cxp__adjusted_notes.csv"]
    assert "consider firth: true" in cxp["cxp__terms.csv"]


def test_terminal_warnings_name_the_analysis_and_its_setting(separated_run):
    out, res, printed, _ = separated_run
    lines = [ln for ln in printed.splitlines() if "SeparationWarning" in ln]
    cx = [ln for ln in lines if "[cx]" in ln]
    assert cx and all("add firth: true to analysis 'cx'" in ln for ln in cx)
    # a kind without firth: what can be done, no setting it would refuse
    csc = [ln for ln in lines if "[csc]" in ln]
    assert csc and all("Firth's correction is not available for this model" in ln
                       and "firth:" not in ln for ln in csc)
    conv = [ln for ln in printed.splitlines() if "ConvergenceWarning" in ln and "Cox" in ln]
    assert conv and not [ln for ln in conv if "max_iter" in ln]
    # the report groups them by what they say: "this analysis" for the id
    report = (out / "report.html").read_text(encoding="utf-8")
    assert "add firth: true to this analysis" in report
    assert "firth_coxph" not in report


def test_python_api_keeps_its_arguments():
    """The Python API's warnings and notes keep naming the Python function / argument."""
    cohort = apc.load(DATA)
    d = cohort.endpoint("OS", time_zero="relapse1", unit="months").data
    # 'yes': censored patients only, so its coefficient runs to infinity
    d = d.assign(lucky=["yes" if e == 0 and k < 40 else "no"
                        for k, e in enumerate(d["event"])])
    with pytest.warns(apc.errors.SeparationWarning, match="firth_coxph"):
        fit = apc.stats.coxph(d, time="time", event="event", covariates=["lucky"])
    assert not fit.terms["estimable"].all()
    with pytest.warns(apc.errors.ConvergenceWarning, match="raise max_iter"):
        res = apc.stats.coxph(d, time="time", event="event", covariates=["lucky"], max_iter=3)
    assert "max_iter" in " ".join(res.terms["note"].astype(str))


# ------------------------------------------------------------------------------- item 3
def _no_transplant_dates(tmp_path) -> tuple[Path, list[str]]:
    df = _raw()
    tx = df.index[df["postremission_modality"].isin(["auto HSCT", "allo HSCT"])][:2]
    df.loc[tx, "postremission_start_date"] = ""
    p = tmp_path / "no_tx_date.csv"
    df.to_csv(p, index=False)
    return p, df.loc[tx, "patient_id"].tolist()


def test_validation_names_transplants_without_a_date(tmp_path, capsys):
    src, ids = _no_transplant_dates(tmp_path)
    assert main(["validate", str(src)]) == 0
    printed = capsys.readouterr().out
    lines = [ln for ln in printed.splitlines() if "[treatment_start_missing]" in ln]
    assert len(lines) == len(ids) == 2
    for pid, ln in zip(ids, lines):
        assert f"patient {pid}" in ln and "postremission_start_date is empty" in ln
        assert "transplant date" in ln and "hsct_start_date" in ln
    # the Python API's report has them too, as warnings
    rep = apc.cohort.validate(pd.read_csv(src, dtype=str, keep_default_na=False))
    found = [p for p in rep.warnings if p.rule == "treatment_start_missing"]
    assert len(found) == 2


def test_run_warnings_and_report_name_transplants_without_a_date(tmp_path):
    src, ids = _no_transplant_dates(tmp_path)
    out, res = _run(tmp_path, [
        {"id": "it", "kind": "immortal_time", "endpoint": "os_cr2", "group": "hsct",
         "exposure": "hsct_start_date", "reference": "no HSCT"}], source=src)
    w = [x for x in res["warnings"] if "treatment_start_missing" in x]
    assert sorted(re.search(r"patient (\S+),", x).group(1) for x in w) == sorted(ids)
    report = (out / "report.html").read_text(encoding="utf-8")
    assert report.count("treatment_start_missing") == 2
    # and the analysis still leaves them out with the reason
    ex = {e["reason"]: e["ids"] for e in res["analyses"]["it"]["exclusions"]}
    assert any(sorted(v) == sorted(ids) for k, v in ex.items() if "hsct_start_date" in k)


# ------------------------------------------------------------------------------- item 4
def _terms(table_rows, prefix):
    return [r["term"][len(prefix):] for r in table_rows
            if r["term"].startswith(prefix) and r["term"] != prefix]


@pytest.mark.parametrize("order", [None, ["ATO-based", "allo HSCT", "auto HSCT"],
                                   ["allo HSCT", "auto HSCT", "ATO-based"]])
def test_comparison_rows_follow_the_group_order(tmp_path, order):
    extra = {"order": order} if order else {}
    ref = order[0] if order else "ATO-based"
    out, res = _run(tmp_path, [
        {"id": "km_cons", "kind": "km", "endpoint": "os_cr2", "group": "postremission_modality",
         "where": CONS, "times": [12], "figure": False, "landmarks": [6], **extra},
        {"id": "cir_cons", "kind": "cif", "endpoint": "cir_cr2",
         "group": "postremission_modality", "where": CONS, "times": [12], "figure": False,
         "landmarks": [6], **extra},
        {"id": "it", "kind": "immortal_time", "endpoint": "os_cr2",
         "group": "postremission_modality", "where": CONS,
         "exposure": "postremission_start_date", "reference": ref,
         **({"order": order[1:]} if order else {})}])
    # the dictionary's order (ATO-based, auto HSCT, allo HSCT) or the analysis's order:
    want = (order or ["ATO-based", "auto HSCT", "allo HSCT"])[1:]
    for aid in ("km_cons", "cir_cons"):
        rows = res["analyses"][aid]["immortal_time"]["comparison"]
        # as every other table of the analysis (its estimates at 12 months)
        groups = pd.read_csv(out / "tables" / f"{aid}__estimates.csv")["group"].tolist()
        assert _terms(rows, "postremission_modality") == want, aid
        assert _terms(rows, "state") == want, aid
        assert _terms(rows, "group_at_landmark") == want, aid
        assert [g for g in dict.fromkeys(groups) if g != ref] == want
    rows = res["analyses"]["it"]["comparison"]
    assert _terms(rows, "postremission_modality") == want
    assert _terms(rows, "state") == want
    # the reference is the analysis's
    for r in rows:
        assert f"'{ref}'" in r["note"] or r["method"] != "time-dependent Cox"


def test_comparison_estimates_do_not_depend_on_the_order(tmp_path):
    runs = []
    for k, order in enumerate((None, ["ATO-based", "allo HSCT", "auto HSCT"])):
        extra = {"order": order} if order else {}
        _out, res = _run(tmp_path, [
            {"id": "km_cons", "kind": "km", "endpoint": "os_cr2",
             "group": "postremission_modality", "where": CONS, "figure": False,
             "landmarks": [6], **extra}], name=f"o{k}")
        runs.append({(r["method"], r["term"]): r["estimate"]
                     for r in res["analyses"]["km_cons"]["immortal_time"]["comparison"]})
    assert runs[0].keys() == runs[1].keys()
    for key, v in runs[0].items():
        assert (v is None and runs[1][key] is None) or abs(v - runs[1][key]) < 1e-9 * abs(v)


def test_python_api_comparison_follows_a_categorical_order():
    cohort = apc.load(DATA)
    cons = cohort.filter(CONS, step="consolidation", reason="no post-remission group")
    os_ = cons.endpoint("OS", time_zero="response", unit="months")
    d = os_.data
    start = (d["postremission_start_date"] - d["time_zero_date"]).dt.days / 30.4375
    d = d.assign(tx=start.where(d["postremission_modality"] != "ATO-based"))
    from aplcohort.stats.timedep import compare_naive_vs_timedependent
    cmp = compare_naive_vs_timedependent(
        d, time="time", event="event", id="patient_id", group="postremission_modality",
        treatment_time={"auto HSCT": "tx", "allo HSCT": "tx"}, reference="ATO-based",
        landmarks=[6])
    rows = cmp.table.to_dict("records")
    assert _terms(rows, "state") == ["auto HSCT", "allo HSCT"]
    assert _terms(rows, "group_at_landmark") == ["auto HSCT", "allo HSCT"]


# ------------------------------------------------------------------------------- item 5
@pytest.fixture(scope="module")
def sas_files(tmp_path_factory):
    """The bundled CSV with every date as a Stata/SAS day number (blank cells kept)."""
    tmp = tmp_path_factory.mktemp("sas")
    df = _raw()
    origin = pd.Timestamp("1960-01-01")
    for c in df.columns:
        if c.endswith("_date"):
            df[c] = [str((pd.Timestamp(v) - origin).days) if v else "" for v in df[c]]
    src = tmp / "sas.csv"
    df.to_csv(src, index=False)
    mp = tmp / "mapping.yaml"
    mp.write_text("sas_stata_dates: true\n", encoding="utf-8")
    return src, mp


CUT_ISO, CUT_DAYS = "2010-01-01", (pd.Timestamp("2010-01-01") - pd.Timestamp("1960-01-01")).days


def test_cutoff_day_number_read_as_the_data_are(sas_files):
    src, mp = sas_files
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cohort = apc.load(src, mapping=mp)
    iso = cohort.endpoint("OS", time_zero="relapse1", unit="months", cutoff=CUT_ISO).data
    for cut in (CUT_DAYS, str(CUT_DAYS)):
        days = cohort.endpoint("OS", time_zero="relapse1", unit="months", cutoff=cut).data
        pd.testing.assert_frame_equal(days, iso)
    with pytest.raises(apc.errors.InputError, match="sas_stata_dates"):
        cohort.endpoint("OS", time_zero="relapse1", unit="months", cutoff=CUT_DAYS + 0.5)


def test_plan_cutoff_day_number_under_sas_stata_dates(tmp_path, sas_files):
    src, mp = sas_files
    got = []
    for k, cut in enumerate((CUT_ISO, str(CUT_DAYS))):
        _out, res = _run(tmp_path, [{"id": "ms", "kind": "multistate", "cutoff": cut,
                                     "times": [12, 60], "figure": False}],
                         source=src, mapping=mp, name=f"ms{k}")
        a = res["analyses"]["ms"]
        assert a["status"] == "ok"
        got.append(json.dumps({k2: v for k2, v in a.items() if k2 != "cutoff"},
                              sort_keys=True))
    assert got[0] == got[1]


def test_immortal_time_advice_names_plan_kinds(tmp_path):
    """The immortal-time check's advice names the Python functions for API users; in a
    plan's results.json and report it names the kinds that do the same (td_cox, mantel_byar,
    simon_makuch, landmark, immortal_time), never a function the plan cannot call."""
    from aplcohort.stats.shapes import IMMORTAL_TIME_ADVICE, plan_advice
    assert "td_coxph" in IMMORTAL_TIME_ADVICE
    assert "td_coxph" not in plan_advice("x. " + IMMORTAL_TIME_ADVICE, frozenset(), "a")
    out, res = _run(tmp_path, [
        {"id": "os_cons", "kind": "km", "endpoint": "os_cr2", "where": CONS,
         "group": "postremission_modality"},
        {"id": "it", "kind": "immortal_time", "endpoint": "os_cr2", "where": CONS,
         "group": "postremission_modality", "exposure": "postremission_start_date"}])
    text = json.dumps(res) + (out / "report.html").read_text(encoding="utf-8")
    assert "Immortal-time bias risk" in text
    for fn in ("split_at_exposure", "td_coxph", "compare_naive_vs_timedependent"):
        assert fn not in text, fn
    assert "the immortal_time kind shows both" in text
