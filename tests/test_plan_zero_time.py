"""A patient whose follow-up ends on the time-zero date, through the plan path on CSV input.

* Multi-state kinds (``multistate``, ``clfs``): a patient alive, with no transition, whose
  last follow-up is the time-zero date has no (0, 0] row; the patient is listed in the
  exclusions with the reason, never dropped silently (review 7, F3).
* Time-dependent kinds (``simon_makuch``, ``mantel_byar``, ``td_cox``, ``td_finegray``,
  ``immortal_time`` and the immortal-time guard of ``km``): a death (or censoring) on the
  time-zero date cannot form a (start, stop] interval; the patient is excluded with the
  reason and the analysis runs on the others instead of being not estimable (review 7,
  F11: SYN-021 of the bundled replica died on the day of relapse).
"""

from pathlib import Path

import pandas as pd
import pytest

from aplcohort.plan import run_plan

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data" / "synthetic" / "min2022.csv"
N = 52
ZERO_FU = "no follow-up after time zero (last follow-up on the time-zero date)"
ZERO_T = "event or censoring at time zero: no (start, stop] interval"
OS_REL = {"endpoint": "OS", "time_zero": "relapse1", "unit": "months"}
CIR = {"endpoint": "CIR", "time_zero": "response", "unit": "months"}


def _raw():
    return pd.read_csv(DATA, dtype=str, keep_default_na=False)


def _set(d, pid, **values):
    d = d.copy()
    i = d.index[d["patient_id"] == pid]
    assert len(i) == 1
    for k, v in values.items():
        d.loc[i[0], k] = v
    return d


def _csv(tmp_path, d, name):
    p = tmp_path / f"{name}.csv"
    d.to_csv(p, index=False)
    return p


def _run(path, analyses, endpoints=None):
    plan = {"plan": "zero_time", "data": {"source": str(path)},
            "endpoints": endpoints or {"os_rel": OS_REL}, "analyses": analyses}
    return run_plan(plan, figures=False)


def _accounted(res, aid):
    """n + every exclusion = the patients loaded; the attrition log holds the same ids."""
    s = res[aid].summary
    ids = [i for e in s["exclusions"] for i in e["ids"]]
    assert len(ids) == len(set(ids)), aid
    assert s["n"] + len(ids) == N, (aid, s["n"], s["exclusions"])
    logged = [i for st in res[aid].attrition.steps for i in st.excluded_ids]
    assert sorted(logged) == sorted(ids), aid
    return {e["reason"]: e["ids"] for e in s["exclusions"]}


def _without(summary):
    return {k: v for k, v in summary.items() if k not in ("exclusions", "excluded", "notes")}


# --------------------------------------------------------------------- multi-state (F3)
def test_raw_data_has_the_time_zero_patient():
    d = _raw()
    r = d.loc[d["patient_id"] == "SYN-021"].iloc[0]
    assert r["death_date"] == r["relapse1_date"] == r["last_followup_date"]


@pytest.fixture(scope="module")
def zero_followup(tmp_path_factory):
    """The replica with SYN-021's death removed: alive, last follow-up on the relapse date."""
    tmp = tmp_path_factory.mktemp("zf")
    d = _set(_raw(), "SYN-021", death_date="", death_cause="")
    return tmp, d, _csv(tmp, d, "zero_followup")


def test_multistate_lists_a_patient_with_zero_followup(zero_followup):
    tmp, d, path = zero_followup
    res = _run(path, [{"id": "ms", "kind": "multistate", "times": [12]},
                      {"id": "km", "kind": "km", "endpoint": "os_rel", "times": [12]}])
    assert res["km"].summary["n"] == N
    assert res["ms"].summary["status"] == "ok"
    assert res["ms"].summary["n"] == N - 1
    assert _accounted(res, "ms") == {ZERO_FU: ["SYN-021"]}
    assert res["ms"].summary["excluded"] == [{"patient_id": "SYN-021", "reason": ZERO_FU}]
    assert f"excluded SYN-021: {ZERO_FU}" in res["ms"].notes
    # the patient contributes nothing after 0: the estimates are those without the patient
    other = _run(_csv(tmp, d[d["patient_id"] != "SYN-021"], "without_021"),
                 [{"id": "ms", "kind": "multistate", "times": [12]}])
    assert _without(res["ms"].summary) == _without(other["ms"].summary)


def test_multistate_all_censored_lists_the_zero_followup_patient(tmp_path):
    d = _raw().assign(death_date="", death_cause="")
    res = _run(_csv(tmp_path, d, "all_censored"), [{"id": "ms", "kind": "multistate"}])
    assert res["ms"].summary["status"] == "ok"
    assert _accounted(res, "ms") == {ZERO_FU: ["SYN-021"]}


def test_clfs_lists_a_patient_whose_followup_ends_on_the_cr2_date(tmp_path):
    # SYN-015: CR2 on 2004-12-17, no consolidation, alive; last seen on the CR2 date.
    # SYN-008: salvage allo HSCT on 2002-07-02, last seen that day (no CR3 yet).
    d = _set(_raw(), "SYN-015", last_followup_date="2004-12-17")
    d = _set(d, "SYN-008", last_followup_date="2002-07-02", status_after_salvage2="",
             cr3_date="")
    res = _run(_csv(tmp_path, d, "clfs"), [{"id": "cl", "kind": "clfs", "times": [12]}])
    s = res["cl"].summary
    assert s["status"] == "ok"
    reasons = _accounted(res, "cl")
    assert reasons[ZERO_FU] == ["SYN-015"]
    # the salvage probabilities (time zero: the salvage start) say who they leave out
    sp = pd.DataFrame(s["salvage_probabilities"])
    allo = sp[sp["salvage_state"] == "salvage allo HSCT"]
    assert len(allo) and allo["note"].str.contains(f"left out: {ZERO_FU}", regex=False).all()
    assert allo["note"].str.contains("SYN-008").all()
    assert not sp.loc[sp["salvage_state"] != "salvage allo HSCT", "note"].fillna("") \
        .str.contains("SYN-008").any()


# ------------------------------------------------------------------- time-dependent (F11)
TD = [{"id": "sm", "kind": "simon_makuch", "endpoint": "os_rel",
       "exposure": "salvage2_start_date", "times": [12, 60]},
      {"id": "mb", "kind": "mantel_byar", "endpoint": "os_rel",
       "exposure": "salvage2_start_date"},
      {"id": "tdc", "kind": "td_cox", "endpoint": "os_rel", "exposure": "salvage2_start_date",
       "covariates": ["age_at_relapse"]}]


@pytest.fixture(scope="module")
def bundled(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("td")
    d = _raw()
    full = _run(_csv(tmp, d, "bundled"),
                TD + [{"id": "km", "kind": "km", "endpoint": "os_rel", "times": [12]}])
    rest = _run(_csv(tmp, d[d["patient_id"] != "SYN-021"], "without_021"), TD)
    return full, rest


@pytest.mark.parametrize("aid", ["sm", "mb", "tdc"])
def test_time_dependent_kinds_exclude_a_death_at_time_zero(bundled, aid):
    full, rest = bundled
    assert full["km"].summary["n"] == N   # the KM uses the patient
    s = full[aid].summary
    assert s["status"] == "ok", s.get("reason")
    assert s["n"] == N - 1
    assert _accounted(full, aid) == {ZERO_T: ["SYN-021"]}
    assert full.not_estimable == {}
    # the other 51 patients give exactly the analysis of the data without SYN-021
    assert _without(s) == _without(rest[aid].summary)


def test_td_finegray_excludes_a_competing_event_at_time_zero(tmp_path):
    # SYN-005 (CR2 2001-05-02, no consolidation) dies on the CR2 date: CIR time 0, code 2
    d = _set(_raw(), "SYN-005", death_date="2001-05-02", last_followup_date="2001-05-02")
    res = _run(_csv(tmp_path, d, "t0_nrm"),
               [{"id": "fg", "kind": "td_finegray", "endpoint": "cir",
                 "exposure": "postremission_start_date"}], endpoints={"cir": CIR})
    s = res["fg"].summary
    assert s["status"] == "ok", s.get("reason")
    assert _accounted(res, "fg")[ZERO_T] == ["SYN-005"]


def _reinduced_at_time_zero(tmp_path):
    """SYN-021 given ATO-based reinduction on the relapse date (the day of death)."""
    d = _set(_raw(), "SYN-021", reinduction_regimen="ATO-based",
             reinduction_start_date="2006-06-10", no_reinduction_reason="")
    assert d.loc[d["patient_id"] == "SYN-021", "relapse1_date"].item() == "2006-06-10"
    return _csv(tmp_path, d, "t0_reinduced")


def test_immortal_time_kind_excludes_a_death_at_time_zero(tmp_path):
    res = _run(_reinduced_at_time_zero(tmp_path),
               [{"id": "it", "kind": "immortal_time", "endpoint": "os_rel",
                 "exposure": "reinduction_start_date", "group": "reinduction_regimen",
                 "landmarks": [1], "where": "reinduction_regimen != 'none'"}])
    s = res["it"].summary
    assert s["status"] == "ok", s.get("reason")
    reasons = _accounted(res, "it")
    assert reasons[ZERO_T] == ["SYN-021"]
    assert len(s["comparison"])


def test_immortal_time_guard_runs_without_the_time_zero_patient(tmp_path):
    """The km keeps the patient; its time-dependent comparison leaves it out, with why."""
    res = _run(_reinduced_at_time_zero(tmp_path),
               [{"id": "km", "kind": "km", "endpoint": "os_rel", "group": "reinduction_regimen",
                 "landmarks": [1], "where": "reinduction_regimen != 'none'"}])
    s = res["km"].summary
    assert s["status"] == "ok"
    assert s["n"] == N - 10 and "SYN-021" not in {i for e in s["exclusions"] for i in e["ids"]}
    it = s["immortal_time"]
    assert "comparison_error" not in it
    assert len(it["comparison"])
    assert it["exclusions"] == [{"reason": ZERO_T, "n": 1, "ids": ["SYN-021"]}]
    assert any("SYN-021" in n and ZERO_T in n for n in res["km"].notes)
