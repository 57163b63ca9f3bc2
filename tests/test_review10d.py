"""Review 10, part D: user files in an output folder (F10); the notebooks (F14)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd
import pytest

from aplcohort.cli import main
from aplcohort.errors import InputError
import aplcohort
from aplcohort.plan import write as W
from aplcohort.plan.write import MARKER, OutputError, output_transaction

ROOT = Path(aplcohort.__file__).resolve().parents[1]


def small_plan(tmp_path):
    """The small plan of test_security_outputs, PNG and CSV only (fast)."""
    from test_security_outputs import small_plan as security_plan
    return security_plan(tmp_path, extra={"output": {"formats": ["png"], "tables": ["csv"]}})[0]


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


# ----------------------------------------------------------------------------- F14
def _nb(name):
    import nbformat
    return nbformat.read(ROOT / "notebooks" / name, as_version=4)


def test_f14a_notebook03_transplant_timing_is_printed_from_the_data():
    nb = _nb("03_competing_risks_and_transplant_timing.ipynb")
    i = next(k for k, c in enumerate(nb.cells)
             if c.cell_type == "markdown" and "## A4. Transplant timing" in c.source)
    text = nb.cells[i].source
    assert "1.5 to 4.5" not in text and "printed below" in text
    code = nb.cells[i + 1].source
    assert 'tx = rfs["hsct_months"].dropna()' in code and "tx.min()" in code and "tx.max()" in code
    # what the cell prints: the range of the transplant times of the bundled replica
    c = aplcohort.example_cohort("min2022").with_derived()
    cr2 = c.filter(c.data["postremission_modality"].isin(["ATO-based", "auto HSCT", "allo HSCT"])
                   .to_numpy(), step="s", reason="r")
    rfs = cr2.endpoint("RFS", time_zero="response", unit="months").data
    tx = ((rfs["hsct_start_date"] - rfs["time_zero_date"]).dt.days / 30.4375).dropna()
    assert 2.5 < tx.min() < tx.max() < 6  # the old text's "1.5 to 4.5" was wrong


def test_f14b_notebooks_print_p_values_with_the_toolkit_formatter():
    import re
    fixed = re.compile(r"p(?:'\])?\s*:\s*\.\d+[fg]\}")   # {x.p:.4f}, {d['p']:.3f}, {p:.2g}
    for name in ("01_replicate_min2022.ipynb", "02_your_cohort.ipynb",
                 "03_competing_risks_and_transplant_timing.ipynb"):
        code = "\n".join(c.source for c in _nb(name).cells if c.cell_type == "code")
        assert not fixed.search(code), f"{name}: {fixed.search(code).group(0)}"
    code01 = "\n".join(c.source for c in _nb("01_replicate_min2022.ipynb").cells
                       if c.cell_type == "code")
    assert "Fisher {format_p(summary['p'], prefix=True)}" in code01
    from aplcohort.tables import format_p
    assert format_p(1e-6, prefix=True) == "p < 0.001"


def test_f14c_loader_recognises_its_own_derived_columns():
    from aplcohort.cohort.validate import validate
    c = aplcohort.example_cohort().with_derived()
    names = c.source["derived_columns"]
    assert len(names) == 6
    rep = validate(c.data)
    assert not [p for p in rep.problems if p.rule == "extra_column"]
    assert any("read as derived" in n for n in rep.notes)
    assert str(rep.data["early_death"].dtype) == "boolean"
    assert pd.api.types.is_datetime64_any_dtype(rep.data["hsct_start_date"])
    # a column with a derived name whose values differ is reported, with the row, kept as given
    d = c.data.copy()
    d.loc[d.index[3], "age_at_relapse"] = 99.0
    rep = validate(d)
    ex = [p for p in rep.problems if p.rule == "extra_column"]
    assert len(ex) == 1 and ex[0].column == "age_at_relapse" and ex[0].patient_id == d["patient_id"].iat[3]
    assert "differs from the derived value in 1 row" in ex[0].message and "given 99.0" in ex[0].message
    assert "np." not in ex[0].message
    assert rep.data["age_at_relapse"].iat[3] == 99.0


def test_f14d_positivity_message_names_patient_ids():
    from aplcohort.adjust import PositivityError, propensity_score
    d = pd.DataFrame({"patient_id": [f"KR-{i:03d}" for i in range(12)],
                      "tx": ["A", "B"] * 6,
                      "reg": ["x", "y"] * 6,         # B never has reg = x
                      "age": [50, 52, 61, 45, 70, 58, 49, 66, 55, 60, 63, 47]})
    with pytest.raises(PositivityError) as exc:
        propensity_score(d, "tx", ["reg", "age"])
    msg = str(exc.value)
    assert "KR-000, KR-002, KR-004" in msg and ": 0, 2, 4" not in msg
    # without a patient_id column: the index labels, as before
    with pytest.raises(PositivityError, match=r"of other groups: 0, 2, 4"):
        propensity_score(d.drop(columns="patient_id"), "tx", ["reg", "age"])
