"""Review 16: hostile review of the review-15 changes (null reasons, rank-test kernels, plan
advice, SAS/Stata dates). Each test failed on the code before its fix.

1. A Stata/SAS day number from 1900 to 2199 (1965-03-15 .. 1966-01-09, a birth date) was read
   as a year: refused as "a partial date", or with ``partial_dates: mid`` silently imputed as
   1 July of that year. Under ``sas_stata_dates: true`` it is the day; with partial dates
   declared too it is refused naming both readings (cells and cut-off alike).
2. A negative Stata/SAS day number in a text cell (``-100`` = 1959-09-23: any date before 1960,
   e.g. a birth date) was refused as "not an ISO date", advising a date format; a numeric
   cell was read. Text and numbers are read alike.
3. Table 1 with ``smd: true`` where one group has no known value of a variable: the whole
   analysis ended "not estimable: standardized_mean_difference: need at least two groups"
   (with a NumericalWarning for a constant column); now that row's SMD is not estimable.
4. Table 1's null p and SMD had a generic reason in results.json ("the test of 'X' is not
   defined on these values"; "a group with too few known values, or no variation") while
   the table knew which: the rows carry ``test_note`` / ``smd_note`` (only in a table with
   such a null), the reason beside the null.
5. The immortal-time advice of an analysis of a competing-risk endpoint (cif, gray, finegray,
   cause_specific_cox) named td_cox, mantel_byar, simon_makuch, landmark and immortal_time,
   each of which refuses such an endpoint; it names td_finegray.
6. The immortal-time check (table ``column`` and message) named the internal column
   'treatment_time' (the immortal_time kind: 'exposure_time'); it names the start-date column
   of the data (postremission_start_date; the kind's exposure:).
7. The warnings of the immortal-time comparison's models read as the analysis's own: a cox
   analysis with firth: true said "Firth's correction is not available for this model"; they
   start with "immortal-time comparison (its models take none of the analysis's settings)".
8. ``replicate min2022 --data`` on a cohort without ANC recovery dates stopped the whole run
   (exit 2, "cause=1 does not occur in code (causes present: [2])"): the fact is not
   estimable with its reason and the rest of the replication runs.
9. A response analysis whose outcome is missing for every patient said "a response table
   compares at least two groups" (there were two); it says the outcomes are missing.
10. td_finegray's variance is always robust ("robust, rows as units ..."), yet a term that is
    not estimable had ``robust_se`` "not applicable: no robust variance asked".
11. A model without an estimable coefficient: its global tests (0 df) had a null p without a
    reason.
12. multistate / clfs with a group: and no patient left (where:) failed as an internal error
    ("No objects to concatenate", exit 1); they are not estimable with the reason.
13. A comparison with no patient left said "one group only (none) in 'postremission_modality'",
    which reads as the level 'none' of that column; it says no patient is left.
14. The immortal-time advice "td_cox ... with exposure: its start date", followed with the
    start column the check names (postremission_start_date, which the ATO-based reference has
    too), gave an 'exposed' term that is not estimable (every patient exposed). A plan
    analysis's check names the immortal_time analysis that gives its comparison (group,
    reference, exposure), and the binary kinds "a date only the treated patients have".
15. A date typed as the number YYYYMMDD (19990103) in an .xlsx date column (read as an Excel
    serial), or as text under excel_serial_dates / sas_stata_dates, stopped validation with an
    internal error (OutOfBoundsTimedelta, exit 1): it is a cell error naming the date it
    looks like.
"""

import datetime as dt
import warnings
from types import SimpleNamespace

import json

import pandas as pd
import pytest
import yaml

import aplcohort as apc
from aplcohort.cohort import load
from aplcohort.cohort.endpoints import parse_cutoff
from aplcohort.errors import CohortValidationError, InputError
from pathlib import Path

ROOT = Path(apc.__file__).resolve().parents[1]
DATA = ROOT / "data" / "synthetic" / "min2022.csv"
ORIGIN = pd.Timestamp("1960-01-01")


def _raw() -> pd.DataFrame:
    return pd.read_csv(DATA, dtype=str, keep_default_na=False)


def _sas_csv(tmp_path, birth: str, partial: str | None = None):
    """The bundled CSV with every date as a Stata/SAS day number and a birth_date column
    (``birth`` for the first patient, blank for the others)."""
    df = _raw()
    for c in df.columns:
        if c.endswith("_date"):
            df[c] = [str((pd.Timestamp(v) - ORIGIN).days) if v else "" for v in df[c]]
    df["birth_date"] = ""
    df.loc[0, "birth_date"] = birth
    df.loc[0, "age_at_diagnosis"] = ""   # (the age would contradict the birth date)
    src = tmp_path / "sas.csv"
    df.to_csv(src, index=False)
    mp = tmp_path / "mapping.yaml"
    mp.write_text("sas_stata_dates: true\n" + (f"partial_dates: {partial}\n" if partial else ""),
                  encoding="utf-8")
    return src, mp


# ------------------------------------------------------------------------------ item 1
def test_sas_day_number_1900_to_2199_is_a_day_not_a_year(tmp_path):
    src, mp = _sas_csv(tmp_path, "2000")          # 1965-06-23, not the year 2000
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        c = load(src, mapping=mp)
    assert c.data.loc[0, "birth_date"].date() == dt.date(1965, 6, 23)


def test_sas_day_number_or_year_with_partial_dates_is_refused(tmp_path):
    src, mp = _sas_csv(tmp_path, "2000", partial="mid")   # was silently 2000-07-01
    with pytest.raises(CohortValidationError) as ei, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        load(src, mapping=mp)
    msg = str(ei.value)
    assert "birth_date" in msg and "ambiguous" in msg
    assert "the year 2000" in msg and "1965-06-23" in msg


def test_sas_cutoff_1900_to_2199_read_as_the_cells_are():
    cohort = SimpleNamespace(source={"mapping": {"sas_stata_dates": True}})
    assert parse_cutoff(2000, cohort) == pd.Timestamp("1965-06-23")
    assert parse_cutoff("2000", cohort) == pd.Timestamp("1965-06-23")
    mixed = SimpleNamespace(source={"mapping": {"sas_stata_dates": True,
                                                "partial_dates": "mid"}})
    with pytest.raises(InputError, match="ambiguous.*1965-06-23"):
        parse_cutoff(2000, mixed)


# ------------------------------------------------------------------------------ item 2
def test_negative_sas_day_number_text_is_a_date_before_1960(tmp_path):
    src, mp = _sas_csv(tmp_path, "-3650")          # 1950-01-03
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        c = load(src, mapping=mp)
    assert c.data.loc[0, "birth_date"].date() == dt.date(1950, 1, 3)
    assert (pd.Timestamp("1960-01-01") - pd.Timedelta(days=3650)).date() == dt.date(1950, 1, 3)
    src, mp = _sas_csv(tmp_path, "-3650.5")       # a datetime, not a day: refused as such
    with pytest.raises(CohortValidationError, match="not a whole number of days"), \
            warnings.catch_warnings():
        warnings.simplefilter("ignore")
        load(src, mapping=mp)


# --------------------------------------------------------------------------- items 3, 4
def _run(tmp_path, analyses, df, name="p"):
    rc, doc = _run_plan(tmp_path, analyses, name, df, types={"const": "number"})
    assert rc == 0
    return tmp_path / f"out_{name}", doc


@pytest.fixture(scope="module")
def table1_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("t1")
    d = _raw()
    d.loc[d["reinduction_regimen"] == "IC", "wbc_relapse"] = ""   # no known value in IC
    d["const"] = "5"                                               # no variation
    return _run(tmp, [{"id": "t1", "kind": "table1", "group": "reinduction_regimen",
                       "variables": ["age_at_diagnosis", "wbc_relapse", "const", "sex"],
                       "where": "reinduction_regimen != 'none'", "smd": True}], d)


def _rows(doc, var):
    return [r for r in doc["analyses"]["t1"]["rows"] if r["variable"] == var]


def test_table1_smd_of_a_group_without_values_is_one_row_not_the_table(table1_run):
    out, doc = table1_run
    a = doc["analyses"]["t1"]
    assert a["status"] == "ok", a.get("reason")
    assert not [w for w in a.get("warnings") or [] if "NumericalWarning" in w]
    age = _rows(doc, "age_at_diagnosis")
    assert age and all(isinstance(r["smd"], float) for r in age)
    wbc = _rows(doc, "wbc_relapse")
    assert all(r["smd"] is None and r["p"] is None for r in wbc)


def test_table1_null_p_and_smd_have_their_own_reason(table1_run):
    out, doc = table1_run
    for r in _rows(doc, "wbc_relapse"):
        assert r["not_estimable"]["smd"] == "no SMD: IC: fewer than 2 known values"
        assert r["not_estimable"]["p"] == ("no p-value: fewer than two groups have "
                                           "non-missing values: no test")
    for r in _rows(doc, "const"):
        assert r["not_estimable"]["smd"] == "no SMD: no variation within the groups"
        assert r["not_estimable"]["p"] == "no p-value: all values are identical: no test"
    # rows with a value have no note
    assert all(r.get("smd_note") is None and "not_estimable" not in r
               for r in _rows(doc, "age_at_diagnosis"))


# --------------------------------------------------------------------------------- item 5
CONS = "postremission_modality in ['ATO-based', 'auto HSCT', 'allo HSCT']"
ENDPOINTS = {"os": {"endpoint": "OS", "time_zero": "response", "unit": "months"},
             "cir": {"endpoint": "CIR", "time_zero": "response", "unit": "months"}}


def _run_plan(tmp_path, analyses, name, df=None, types=None):
    from aplcohort.cli import main
    csv = tmp_path / f"{name}.csv"
    (_raw() if df is None else df).to_csv(csv, index=False)
    data = {"source": str(csv), **({"types": types} if types else {})}
    plan = {"plan": name, "data": data, "endpoints": ENDPOINTS,
            "output": {"formats": ["png"], "tables": ["csv"]}, "analyses": analyses}
    p = tmp_path / f"{name}.yaml"
    p.write_text(yaml.safe_dump(plan, sort_keys=False), encoding="utf-8")
    out = tmp_path / f"out_{name}"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rc = main(["run", str(p), "--out", str(out)])
    doc = json.loads((out / "results.json").read_text(encoding="utf-8")) if rc == 0 else None
    return rc, doc


@pytest.fixture(scope="module")
def guard_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("guard")
    rc, doc = _run_plan(tmp, [
        {"id": "cif", "kind": "cif", "endpoint": "cir", "group": "postremission_modality",
         "where": CONS, "figure": False},
        {"id": "km", "kind": "km", "endpoint": "os", "group": "postremission_modality",
         "where": CONS, "figure": False},
        {"id": "it", "kind": "immortal_time", "endpoint": "os", "where": CONS,
         "group": "postremission_modality", "order": ["ATO-based", "auto HSCT", "allo HSCT"],
         "reference": "ATO-based", "exposure": "hsct_start_date"}], "guard")
    assert rc == 0
    return tmp, doc


def test_immortal_time_advice_of_a_competing_risk_endpoint_can_be_followed(guard_run):
    """The advice of a cif analysis names td_finegray (which runs on that endpoint), not
    the survival kinds, each of which refuses a competing-risk endpoint."""
    tmp, doc = guard_run
    msg = doc["analyses"]["cif"]["immortal_time"]["check"]["message"]
    assert "the kind td_finegray with exposure: a date only the treated patients have" in msg
    assert "the kinds td_cox" not in msg and "the immortal_time kind shows both" not in msg
    # following each piece of advice: td_finegray runs (on a date only the treated have; on
    # the consolidation start, which ATO-based patients have too, every patient is exposed
    # and the term is not estimable); td_cox is refused on this endpoint
    rc, res = _run_plan(tmp, [{"id": "tdfg", "kind": "td_finegray", "endpoint": "cir",
                               "exposure": "hsct_start_date", "where": CONS}], "follow")
    assert rc == 0 and res["analyses"]["tdfg"]["status"] == "ok"
    assert res["analyses"]["tdfg"]["terms"][0]["estimate"] is not None
    rc, _ = _run_plan(tmp, [{"id": "tdc", "kind": "td_cox", "endpoint": "cir",
                             "exposure": "postremission_start_date", "where": CONS}], "refused")
    assert rc == 2


# --------------------------------------------------------------------------------- item 6
def test_immortal_time_check_names_the_users_start_date_column(guard_run):
    """The check's table and message named the frame's internal column 'treatment_time'."""
    _, doc = guard_run
    for aid in ("cif", "km"):
        chk = doc["analyses"][aid]["immortal_time"]["check"]
        assert "treatment_time" not in json.dumps(chk)
        cols = {r["group"]: r["column"] for r in chk["table"]}
        assert cols == {"ATO-based": None, "auto HSCT": "postremission_start_date",
                        "allo HSCT": "postremission_start_date"}
        assert "'auto HSCT' (column 'postremission_start_date': 12 of 12 patients" \
            in chk["message"]
    # the immortal_time kind named its internal 'exposure_time'
    chk = doc["analyses"]["it"]["check"]
    assert "exposure_time" not in json.dumps(chk)
    assert {r["group"]: r["column"] for r in chk["table"]} == {
        "ATO-based": None, "auto HSCT": "hsct_start_date", "allo HSCT": "hsct_start_date"}
    assert "'auto HSCT' (column 'hsct_start_date': 12 of 12 patients" in chk["message"]


# --------------------------------------------------------------------------------- item 7
def test_comparison_warnings_are_named_as_the_comparisons(tmp_path):
    """A cox analysis with firth: true (its terms finite) showed 'SeparationWarning:
    monotone likelihood ... Firth's correction is not available for this model' from the
    immortal-time comparison's models, as if of its own model."""
    d = _raw()
    allo = d["postremission_modality"] == "allo HSCT"
    d.loc[allo, ["death_date", "death_cause"]] = ""       # no deaths: a separated level
    rc, doc = _run_plan(tmp_path, [{"id": "coxf", "kind": "cox", "endpoint": "os",
                                    "covariates": ["postremission_modality"], "where": CONS,
                                    "firth": True}], "firth", df=d)
    assert rc == 0
    a = doc["analyses"]["coxf"]
    assert all(t["estimate"] is not None for t in a["terms"])      # Firth: finite
    sep = [w for w in a["warnings"] if w.startswith("SeparationWarning")]
    assert sep
    assert all(w.startswith("SeparationWarning: immortal-time comparison") for w in sep), sep


# ----------------------------------------------------------------------------- items 8, 9
@pytest.fixture(scope="module")
def own_min2022(tmp_path_factory):
    """``aplcohort replicate min2022 --data`` on a cohort (not synthetic) whose ANC recovery
    dates and grade >= 3 infections were not collected (blank columns)."""
    from aplcohort.cli import main
    tmp = tmp_path_factory.mktemp("own")
    d = _raw()
    d["synthetic"] = "no"
    d["patient_id"] = [f"P{i:03d}" for i in range(len(d))]
    d["anc_recovery_date"] = ""
    d["infection_grade3"] = ""
    src = tmp / "own.csv"
    d.to_csv(src, index=False)
    out = tmp / "out"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rc = main(["replicate", "min2022", "--data", str(src), "--out", str(out)])
    assert rc == 0     # was 2: "cause=1 does not occur in code (causes present: [2])"
    return json.loads((out / "results.json").read_text(encoding="utf-8"))


def test_no_recovery_recorded_is_one_fact_not_estimable(own_min2022):
    facts = {r["id"]: r for r in own_min2022["published_vs_reproduced"]}
    anc = facts["anc"]
    assert anc["verdict"] == "not estimable"
    assert anc["not_estimable"]["p"] == ("not estimable: no neutrophil recovery recorded in "
                                         "either reinduction group")
    assert facts["plt"]["p"] is not None        # the rest of the table stands


def test_response_without_known_outcomes_says_so(own_min2022):
    """Every infection_grade3 blank: the reason was 'a response table compares at least two
    groups' (there are two groups; their outcomes are missing)."""
    a = own_min2022["analyses"]["infection_by_reinduction"]
    assert a["status"] == "not estimable"
    assert a["reason"] == (
        "analysis 'infection_by_reinduction': the outcome (infection_grade3 == True) is missing "
        "for every patient of 'ATO-based' (30 patient(s)), 'IC' (11 patient(s)), so fewer than "
        "two groups of 'reinduction_regimen' have a known outcome to compare")


# -------------------------------------------------------------------------------- item 10
TWO = "patient_id in ['SYN-003', 'SYN-010']"     # two patients, one exposed, no relapse


def test_td_finegray_robust_se_is_not_called_not_asked(tmp_path):
    """td_finegray always uses a robust variance ('robust, rows as units ...'); a term that
    is not estimable had robust_se null 'not applicable: no robust variance asked'."""
    rc, doc = _run_plan(tmp_path, [{"id": "tdfg", "kind": "td_finegray", "endpoint": "cir",
                                    "exposure": "hsct_start_date", "where": TWO}], "tdfg")
    assert rc == 0
    a = doc["analyses"]["tdfg"]
    assert a["variance"].startswith("robust")
    (t,) = a["terms"]
    assert t["robust_se"] is None and t["estimable"] is False
    assert "robust_se" not in (t.get("not_applicable") or {})
    assert t["not_estimable"]["robust_se"] == t["note"]


# -------------------------------------------------------------------------------- item 11
def test_global_test_on_zero_df_has_its_reason(tmp_path):
    """A model without an estimable coefficient: its likelihood-ratio / Wald / score rows
    (0 df) had p null without a reason."""
    rc, doc = _run_plan(tmp_path, [{"id": "tdfg", "kind": "td_finegray", "endpoint": "cir",
                                    "exposure": "hsct_start_date", "where": TWO}], "tdfg0")
    assert rc == 0
    tests = doc["analyses"]["tdfg"]["tests"]
    assert [t["df"] for t in tests] == [0, 0, 0]
    for t in tests:
        assert t["p"] is None
        assert t["not_estimable"]["p"] == ("no estimable coefficient (0 degrees of freedom): "
                                           "no global test")


# -------------------------------------------------------------------------------- item 12
def test_multistate_without_patients_is_not_estimable(tmp_path):
    nobody = "patient_id == 'nobody'"
    rc, doc = _run_plan(tmp_path, [
        {"id": k, "kind": k, "cr3_entry": "salvage_start", "times": [12], "group": "sex",
         "where": nobody} for k in ("multistate", "clfs")], "ms0")
    assert rc == 0          # was 1: an internal error in each
    for k in ("multistate", "clfs"):
        a = doc["analyses"][k]
        assert a["status"] == "not estimable"
        assert "no patient in the analysis set" in a["reason"], a["reason"]


# -------------------------------------------------------------------------------- item 13
def test_no_group_left_is_not_called_the_group_none(tmp_path):
    """With no patient left, a comparison said "one group only (none) in
    'postremission_modality'" - and 'none' is a level of that column."""
    rc, doc = _run_plan(tmp_path, [{"id": "lr", "kind": "logrank", "endpoint": "os",
                                    "group": "postremission_modality",
                                    "where": "patient_id == 'nobody'"}], "lr0")
    assert rc == 0
    reason = doc["analyses"]["lr"]["reason"]
    assert "(none)" not in reason
    assert "no patient left, so no group of 'postremission_modality'" in reason


# -------------------------------------------------------------------------------- item 14
def test_immortal_time_advice_followed_gives_the_comparison(guard_run):
    tmp, doc = guard_run
    km = doc["analyses"]["km"]["immortal_time"]
    msg = km["check"]["message"]
    advised = ("the kind immortal_time with group: postremission_modality, reference: "
               "'ATO-based', exposure: postremission_start_date gives the comparison shown here")
    assert advised in msg and "a date only the treated patients have" in msg
    rc, res = _run_plan(tmp, [
        {"id": "it", "kind": "immortal_time", "endpoint": "os", "where": CONS,
         "group": "postremission_modality", "reference": "ATO-based",
         "exposure": "postremission_start_date"},
        {"id": "tdc", "kind": "td_cox", "endpoint": "os", "where": CONS,
         "exposure": "hsct_start_date"}], "advised")
    assert rc == 0
    got = [(r["method"], r["term"], r["estimate"], r["p"])
           for r in res["analyses"]["it"]["comparison"]]
    assert got == [(r["method"], r["term"], r["estimate"], r["p"]) for r in km["comparison"]]
    assert res["analyses"]["tdc"]["terms"][0]["estimate"] is not None


# -------------------------------------------------------------------------------- item 15
def test_yyyymmdd_number_in_a_date_column_is_a_cell_error(tmp_path, capsys):
    openpyxl = pytest.importorskip("openpyxl")
    from aplcohort.cli import main
    d = _raw()
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(list(d.columns))
    for _, row in d.iterrows():
        ws.append([v if v else None for v in row.values])
    ws.cell(row=2, column=list(d.columns).index("diagnosis_date") + 1).value = 19990103
    xlsx = tmp_path / "yyyymmdd.xlsx"
    wb.save(xlsx)
    assert main(["validate", str(xlsx)]) == 2           # was 1: an internal error
    err = capsys.readouterr()
    text = err.out + err.err
    assert "internal error" not in text
    assert ("'19990103' is not an Excel serial date: day 19990103 would be after the year "
            "2199; it looks like the date 1999-01-03 written as YYYYMMDD: write 1999-01-03") in text
    # text cells under sas_stata_dates: the same
    src, mp = _sas_csv(tmp_path, "20150304")
    with pytest.raises(CohortValidationError, match="it looks like the date 2015-03-04 written "
                                                    "as YYYYMMDD"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        load(src, mapping=mp)
