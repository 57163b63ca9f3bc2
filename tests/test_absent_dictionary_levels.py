"""A centre's own cohort without one arm of the study (no allogeneic transplant) runs the
study's plan (`replicate min2022 --data`), and says what it could not compare.

The plan's `order: [ATO-based, auto HSCT, allo HSCT]` used to be refused as a misspelt level
("'allo HSCT' is not a value of column 'postremission_modality'; did you mean 'auto HSCT'?"),
so the whole replication stopped. A level of the data dictionary is not a misspelling: it is
accepted, each analysis ordering by it says that it has no patient, and the publication's
three-group comparisons are not estimable with that reason (a two-group test is not the
publication's comparison). A level outside the dictionary is still refused.
"""

from __future__ import annotations

import html
import json
import warnings
from pathlib import Path

import pandas as pd
import yaml

from aplcohort.cli import main

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data" / "synthetic" / "min2022.csv"


def _own_cohort(tmp: Path) -> Path:
    """The replica as an institution's file: no synthetic flag, own ids, no allo HSCT (those
    patients had an autologous transplant), and some blank cells."""
    d = pd.read_csv(DATA, dtype=str, keep_default_na=False).drop(columns=["synthetic"])
    d["patient_id"] = [f"P{i:03d}" for i in range(len(d))]
    d.loc[d["postremission_modality"] == "allo HSCT", "postremission_modality"] = "auto HSCT"
    d.loc[[1, 4], "wbc_relapse"] = ""
    p = tmp / "own.csv"
    d.to_csv(p, index=False)
    return p


def test_replicate_on_a_cohort_without_allo_hsct_runs_and_says_what_it_cannot_compare(
        tmp_path, capsys):
    out = tmp_path / "out"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rc = main(["replicate", "min2022", "--data", str(_own_cohort(tmp_path)),
                   "--out", str(out), "--force"])
    err = capsys.readouterr().err
    assert rc == 0, err
    doc = json.loads((out / "results.json").read_text(encoding="utf-8"))
    # every analysis ordering by the consolidation arms ran and says 'allo HSCT' had nobody
    said = [aid for aid, a in doc["analyses"].items()
            if any("'allo HSCT', which has no patient" in w for w in a.get("warnings", []))]
    assert {"os_by_consolidation", "rfs_by_consolidation", "cir_by_consolidation",
            "nrm_by_consolidation", "table1_consolidation"} <= set(said)
    for aid in said:
        assert doc["analyses"][aid]["status"] == "ok", aid
        assert "allo HSCT" not in json.dumps(doc["analyses"][aid].get("groups", {})), aid
    assert "'allo HSCT', which has no patient" in html.unescape(
        (out / "report.html").read_text("utf-8"))
    # the three-group facts are not the publication's comparison on two groups
    facts = {r["id"]: r for r in doc["published_vs_reproduced"]}
    for fid in ("os", "rfs"):
        r = facts[fid]
        assert r["verdict"] == "not estimable" and r["p"] is None, r
        assert "compares the three groups" in r["not_estimable"]["p"]
        assert "allo HSCT" in r["not_estimable"]["p"]
        assert r["not_estimable"]["ci_lower"].startswith("no reproduced estimate (the publication")
    assert facts["n_post_allo"]["reproduced"] == "0"
    # a user's cohort: every null has its reason (the share of seeds is the replica's only),
    # and the report leaves the share-of-seeds column out, saying why
    from test_null_reasons import unexplained
    assert unexplained(doc) == []
    assert facts["os"]["not_applicable"]["share_of_seeds"].startswith("your cohort")
    report = html.unescape((out / "report.html").read_text("utf-8"))
    facts_part = report[report.index("<h2>Published vs reproduced"):]
    facts_part = facts_part[:facts_part.index("</div>")]
    assert "<th>share of seeds</th>" not in facts_part
    assert "Share of seeds is not shown (blank in every row), not applicable: your cohort" \
        in facts_part


def _plan(tmp: Path, order: list) -> Path:
    plan = {"plan": "p", "data": {"source": str(_own_cohort(tmp))},
            "endpoints": {"os_cr2": {"endpoint": "OS", "time_zero": "response",
                                     "unit": "months"}},
            "output": {"formats": ["png"], "tables": ["csv"]},
            "analyses": [{"id": "km", "kind": "km", "endpoint": "os_cr2",
                          "group": "postremission_modality", "order": order,
                          "where": "postremission_modality != 'none'"}]}
    p = tmp / "plan.yaml"
    p.write_text(yaml.safe_dump(plan, sort_keys=False), encoding="utf-8")
    return p


def test_a_level_outside_the_dictionary_is_still_refused(tmp_path, capsys):
    rc = main(["run", str(_plan(tmp_path, ["ATO-based", "auto HSCT", "allo hsct"])),
               "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert rc == 2 and "Traceback" not in err
    assert "'allo hsct' is not a value of column 'postremission_modality'" in err


def test_a_dictionary_level_no_patient_has_is_said_by_the_analysis(tmp_path, capsys):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rc = main(["run", str(_plan(tmp_path, ["ATO-based", "auto HSCT", "allo HSCT"])),
                   "--out", str(tmp_path / "o")])
    assert rc == 0, capsys.readouterr().err
    a = json.loads((tmp_path / "o" / "results.json").read_text("utf-8"))["analyses"]["km"]
    assert any("order lists 'allo HSCT', which has no patient" in w for w in a["warnings"])
    assert [g for g in a["groups"]] == ["ATO-based", "auto HSCT"]


def _replicate(tmp: Path, d: pd.DataFrame, capsys):
    p = tmp / "own.csv"
    d.to_csv(p, index=False)
    out = tmp / "out"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rc = main(["replicate", "min2022", "--data", str(p), "--out", str(out), "--force"])
    err = capsys.readouterr().err
    doc = (json.loads((out / "results.json").read_text(encoding="utf-8")) if rc == 0
           else None)
    return rc, err, doc


def _plain_cohort() -> pd.DataFrame:
    d = pd.read_csv(DATA, dtype=str, keep_default_na=False).drop(columns=["synthetic"])
    d["patient_id"] = [f"P{i:03d}" for i in range(len(d))]
    return d


def test_a_cohort_without_second_relapses_runs(tmp_path, capsys):
    """No second relapse recorded: the second-relapse incidences of the mCR2 subgroups were an
    internal error (KeyError, exit 1); they are not estimable, saying why."""
    d = _plain_cohort()
    for c in ("relapse2_date", "salvage2_modality", "salvage2_start_date",
              "status_after_salvage2", "cr3_date"):
        d[c] = ""
    rc, err, doc = _replicate(tmp_path, d, capsys)
    assert rc == 0, err
    facts = {r["id"]: r for r in doc["published_vs_reproduced"]}
    for fid, grp in (("cir_ato", "ATO-based"), ("cir_auto", "auto HSCT")):
        assert facts[fid]["verdict"] == "not estimable"
        assert f"no second relapse in the {grp} group" in facts[fid]["reproduced"]
    from test_null_reasons import unexplained
    assert unexplained(doc) == []


def test_a_cohort_without_recovery_dates_is_told_how_to_run(tmp_path, capsys):
    """Columns the study plan needs but the cohort lacks are refused with the way out, and
    the way out works: empty columns make those analyses not estimable, the rest run."""
    d = _plain_cohort().drop(columns=["anc_recovery_date", "plt_recovery_date"])
    rc, err, _ = _replicate(tmp_path, d, capsys)
    assert rc == 2 and "Traceback" not in err
    assert "needs column(s) 'anc_recovery_date'" in err and "an empty column" in err
    d["anc_recovery_date"] = ""
    d["plt_recovery_date"] = ""
    rc, err, doc = _replicate(tmp_path, d, capsys)
    assert rc == 0, err
    assert doc["analyses"]["anc_recovery_by_reinduction"]["status"] == "not estimable"
    assert "no events of cause 1" in doc["not_estimable"]["anc_recovery_by_reinduction"]
    assert doc["analyses"]["os_by_consolidation"]["status"] == "ok"
