"""Review 10, part D: user files in an output folder (F10); the notebooks (F14)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from aplcohort.cli import main
from aplcohort.errors import InputError
import aplcohort
from aplcohort.plan import write as W
from aplcohort.plan.write import MARKER, OutputError, output_transaction

ROOT = Path(aplcohort.__file__).resolve().parents[1]


def small_plan(tmp_path):
    rng = np.random.default_rng(5)
    n = 30
    df = pd.DataFrame({"patient_id": [f"P{i:02d}" for i in range(n)],
                       "arm": np.repeat(["A", "B"], n // 2),
                       "t": np.round(rng.exponential(10, n), 1) + 0.1,
                       "d": rng.integers(0, 2, n)})
    data = tmp_path / "in" / "data.csv"
    data.parent.mkdir(exist_ok=True)
    df.to_csv(data, index=False)
    plan = {"plan": "small", "title": "Small", "data": {"source": str(data)},
            "endpoints": {"os": {"time": "t", "event": "d", "unit": "months"}},
            "analyses": [{"id": "km", "kind": "km", "endpoint": "os", "group": "arm",
                          "times": [5]},
                         {"id": "counts", "kind": "counts", "columns": ["arm"]}],
            "output": {"formats": ["png"], "tables": ["csv"]}}
    path = tmp_path / "in" / "plan.yaml"
    path.write_text(yaml.safe_dump(plan, sort_keys=False), encoding="utf-8")
    return path


def tree(d: Path) -> dict:
    return {str(p.relative_to(d)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(d.rglob("*")) if p.is_file()}


# ----------------------------------------------------------------------------- F10
def test_f10_rerun_keeps_files_the_user_added_or_edited(tmp_path, capsys):
    plan = small_plan(tmp_path)
    out = tmp_path / "a2x"
    assert main(["run", str(plan), "--out", str(out)]) == 0
    (out / "my_notes.txt").write_text("my notes")
    (out / "tables" / "my_edit.csv").write_text("x")
    (out / "tables" / "counts.csv").write_text("edited by hand")
    before = tree(out)
    capsys.readouterr()
    assert main(["run", str(plan), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "my_notes.txt (added)" in err and "tables/my_edit.csv (added)" in err
    assert "tables/counts.csv (changed)" in err
    assert "--force" in err and "nothing was written" in err and "Traceback" not in err
    assert tree(out) == before  # nothing deleted, nothing written
    # --force replaces the folder whole
    assert main(["run", str(plan), "--out", str(out), "--force"]) == 0
    assert not (out / "my_notes.txt").exists() and not (out / "tables" / "my_edit.csv").exists()
    assert (out / "tables" / "counts.csv").read_text() != "edited by hand"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a2x", "in"]


def test_f10_unchanged_output_is_replaced_and_marker_lists_the_files(tmp_path):
    plan = small_plan(tmp_path)
    out = tmp_path / "res"
    assert main(["run", str(plan), "--out", str(out)]) == 0
    marker = json.loads((out / MARKER).read_text())
    files = tree(out)
    del files[MARKER]
    assert marker["files"] == files  # every file the run wrote, with its SHA-256
    assert {"tables", "figures"} <= set(marker["folders"])
    assert W.user_changes(out) == []
    (out / "report.html").unlink()  # deleting one of the outputs loses nothing of the user's
    assert main(["run", str(plan), "--out", str(out)]) == 0
    now = tree(out)
    assert set(now) == set(files) | {MARKER}  # report.html written again
    assert json.loads((out / MARKER).read_text())["files"] == {k: v for k, v in now.items()
                                                               if k != MARKER}


def test_f10_older_marker_without_manifest_is_refused_unless_force(tmp_path, capsys):
    out = tmp_path / "old"
    out.mkdir()
    (out / MARKER).write_text(json.dumps({"written_by": "aplcohort", "kind": "run"}) + "\n")
    (out / "report.html").write_text("old report")
    with pytest.raises(OutputError, match="older aplcohort version.*--force"):
        with output_transaction(out) as t:
            (t / "a.txt").write_text("new")
    assert (out / "report.html").read_text() == "old report"
    with output_transaction(out, force=True) as t:
        (t / "a.txt").write_text("new")
    assert sorted(p.name for p in out.iterdir()) == [MARKER, "a.txt"]


def test_f10_many_files_folders_and_links_are_named(tmp_path):
    out = tmp_path / "res"
    with output_transaction(out) as t:
        (t / "sub").mkdir()
        (t / "sub" / "a.txt").write_text("a")
    for i in range(12):
        (out / f"n{i:02d}.txt").write_text("mine")
    (out / "empty_dir").mkdir()
    (out / "link").symlink_to(tmp_path)
    got = W.user_changes(out)
    assert "empty_dir/ (added)" in got and "link (added)" in got and len(got) == 14
    with pytest.raises(OutputError, match=r"n00.txt \(added\).* and 4 more; nothing was written"):
        with output_transaction(out) as t:
            (t / "b.txt").write_text("b")
    assert (out / "sub" / "a.txt").read_text() == "a" and (out / "n11.txt").exists()
    # a symbolic link in place of an output is a change; its target is never touched
    target = tmp_path / "target.txt"
    target.write_text("keep")
    out2 = tmp_path / "res2"
    with output_transaction(out2) as t:
        (t / "a.txt").write_text("a")
    (out2 / "a.txt").unlink()
    (out2 / "a.txt").symlink_to(target)
    assert W.user_changes(out2) == ["a.txt (changed)"]
    with output_transaction(out2, force=True) as t:
        (t / "a.txt").write_text("new")
    assert target.read_text() == "keep"


def test_f10_file_added_while_the_run_works_is_kept(tmp_path):
    out = tmp_path / "res"
    with output_transaction(out) as t:
        (t / "a.txt").write_text("old")
    with pytest.raises(OutputError, match=r"late.txt \(added\)"):
        with output_transaction(out) as t:
            (t / "a.txt").write_text("new")
            (out / "late.txt").write_text("written by the user during the run")
    assert (out / "a.txt").read_text() == "old" and (out / "late.txt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["res"]  # no temporary folder left


def test_f10_run_plan_out_refuses_before_running_and_force(tmp_path, monkeypatch):
    from aplcohort.plan import kinds
    from aplcohort.plan.runner import run_plan
    plan = small_plan(tmp_path)
    out = tmp_path / "res"
    run_plan(str(plan), out=out, figures=False)
    (out / "notes.txt").write_text("mine")
    calls = []
    real = kinds.run_analysis
    monkeypatch.setattr(kinds, "run_analysis", lambda *a, **k: calls.append(1) or real(*a, **k))
    with pytest.raises(InputError, match=r"notes.txt \(added\).*force=True"):
        run_plan(str(plan), out=out, figures=False)
    assert not calls  # refused before any analysis ran
    assert (out / "notes.txt").read_text() == "mine"
    with pytest.raises(InputError, match="force must be True or False"):
        run_plan(str(plan), out=out, figures=False, force="yes")
    run_plan(str(plan), out=out, figures=False, force=True)
    assert not (out / "notes.txt").exists() and (out / "results.json").is_file()


def test_f10_docs_and_help_say_the_same(capsys):
    sec = (ROOT / "docs" / "security.md").read_text()
    assert "replaced *whole*" in sec and "did not write" in sec and "manifest" in sec
    readme = (ROOT / "README.md").read_text()
    assert "a file you added or edited there is named" in readme
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    assert "holds files that the last run did not write" in " ".join(capsys.readouterr().out.split())
