"""Outputs confined and atomic: ids as file names, --out rules, lock, interruption, bytes."""

from __future__ import annotations

import hashlib
import io
import json
import os
import signal
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from aplcohort.cli import main
from aplcohort.synthetic import min2022 as synth_min2022
from aplcohort.plan.write import (MARKER, OutputError, OutputLock, check_output_dir,
                                  output_transaction, resolve_inside, validate_output_name)

ROOT = Path(__file__).resolve().parents[1]


def small_plan(tmp_path, *, ids=("km", "counts"), extra=None):
    """A fast plan on a generic table: one KM (figure + tables) and one counts table."""
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
            "analyses": [{"id": ids[0], "kind": "km", "endpoint": "os", "group": "arm",
                          "times": [5]},
                         {"id": ids[1], "kind": "counts", "columns": ["arm"]}],
            "output": {"formats": ["png", "pdf"], "tables": ["csv", "docx", "tex"]}}
    if extra:
        plan.update(extra)
    path = tmp_path / "in" / "plan.yaml"
    path.write_text(yaml.safe_dump(plan, sort_keys=False), encoding="utf-8")
    return path, data


def tree(d: Path) -> dict:
    return {str(p.relative_to(d)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(d.rglob("*")) if p.is_file()}


# ----------------------------------------------------------------------------- names
@pytest.mark.parametrize("bad", ["../../x", "/etc/passwd", "a/b", "a\\b", "..", ".", "",
                                 "x" * 65, "x" * 300, "a b", "a.b", "C:x", "é", "a\x00b",
                                 "nofolder/x"])
def test_validate_output_name_rejects(bad):
    with pytest.raises(OutputError, match="analysis id"):
        validate_output_name(bad)


def test_validate_output_name_accepts_identifiers():
    for ok in ("os_by_consolidation", "A-1", "x" * 64, "0"):
        assert validate_output_name(ok) == ok
    with pytest.raises(OutputError, match="must be text"):
        validate_output_name(12)


def test_resolve_inside_refuses_symlink_escape(tmp_path):
    root = tmp_path / "out"
    root.mkdir()
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (root / "tables").symlink_to(outside)
    with pytest.raises(OutputError, match="outside the output folder"):
        resolve_inside(root, "tables", "t1", suffix=".csv")
    assert resolve_inside(root, "figures", "f", suffix=".png").parent == (root / "figures").resolve()
    with pytest.raises(OutputError, match="extension"):
        resolve_inside(root, "x", suffix="/../../y")


@pytest.mark.parametrize("aid", ["../../escaped", "/tmp/escaped_abs", "a" * 300, "nofolder/x"])
def test_traversal_id_writes_nothing_outside(tmp_path, aid, capsys):
    plan, _ = small_plan(tmp_path, ids=(aid, "counts"))
    out = tmp_path / "a" / "b" / "out"
    rc = main(["run", str(plan), "--out", str(out)])
    err = capsys.readouterr().err
    assert rc == 2, err
    assert "Traceback" not in err
    assert not out.exists()
    assert not (tmp_path / "escaped").exists() and not (tmp_path / "a" / "escaped").exists()
    assert not Path("/tmp/escaped_abs.csv").exists()


def test_write_outputs_enforces_names_even_without_the_validator(tmp_path):
    """Ids reaching write_outputs unchecked (e.g. a plan dict bypassing validation)."""
    from aplcohort.plan import run_plan
    from aplcohort.plan.write import write_outputs
    plan, _ = small_plan(tmp_path)
    res = run_plan(plan, figures=False)
    a = res.analyses.pop("counts")
    res.analyses["../../../pwned"] = a
    out = tmp_path / "out"
    with pytest.raises(OutputError, match=r"'\.\./\.\./\.\./pwned' cannot be used as a file name"):
        write_outputs(res, out)
    assert not out.exists()
    assert not list(tmp_path.parent.glob("pwned*"))
    # names of tables/figures an analysis builds (from data values, e.g. a group level)
    # are made file-safe (safe_output_names): written inside the output folder, never
    # outside it, and they cannot stop the run (review 9 F2)
    res.analyses.pop("../../../pwned")
    a.tables[:] = [("../x", "c", pd.DataFrame({"a": [1]}))]
    res.analyses["counts"] = a
    write_outputs(res, out)
    assert (out / "tables" / "counts___x.csv").exists()   # "counts__" + "../x"
    assert not list(tmp_path.glob("x*")) and not list(tmp_path.parent.glob("x.*"))


# ----------------------------------------------------------------------------- --out rules
def test_existing_user_folder_is_refused_unless_force(tmp_path, capsys):
    plan, _ = small_plan(tmp_path)
    out = tmp_path / "mine"
    out.mkdir()
    (out / "README.md").write_text("my notes")
    assert main(["run", str(plan), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "was not written by aplcohort" in err and "--force" in err
    assert (out / "README.md").read_text() == "my notes"
    assert sorted(p.name for p in out.iterdir()) == ["README.md"]
    assert main(["run", str(plan), "--out", str(out), "--force"]) == 0
    assert (out / MARKER).is_file() and not (out / "README.md").exists()


def test_marker_folder_is_replaced_whole_no_stale_files(tmp_path):
    plan, _ = small_plan(tmp_path)
    out = tmp_path / "res"
    assert main(["run", str(plan), "--out", str(out)]) == 0
    first = tree(out)
    assert "report.html" in first and MARKER in first
    plan2, _ = small_plan(tmp_path, ids=("km2", "counts2"))
    assert main(["run", str(plan2), "--out", str(out)]) == 0
    second = tree(out)
    # the first run's files (listed in its marker) are gone: no stale km.* beside km2.*
    assert not any(k.startswith("tables/km.") for k in second)
    assert any(k.startswith("tables/km2") for k in second)
    # nothing left beside --out (temp folders, old folders, lock)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in", "res"]


def test_out_is_a_file_and_out_holding_the_input(tmp_path, capsys):
    plan, data = small_plan(tmp_path)
    f = tmp_path / "file.txt"
    f.write_text("x")
    assert main(["run", str(plan), "--out", str(f)]) == 2
    assert "is a file, not a folder" in capsys.readouterr().err
    assert f.read_text() == "x"
    # the data folder as --out: refused even with --force (the input would be deleted)
    assert main(["run", str(plan), "--out", str(data.parent), "--force"]) == 2
    assert "contains the input file" in capsys.readouterr().err
    assert data.is_file()


def test_force_never_replaces_home_or_cwd(tmp_path, monkeypatch):
    d = tmp_path / "cwd"
    d.mkdir()
    (d / "x").write_text("x")
    monkeypatch.chdir(d)
    with pytest.raises(OutputError, match="even with --force"):
        check_output_dir(d, force=True)
    with pytest.raises(OutputError, match="even with --force"):
        check_output_dir(tmp_path, force=True)
    assert (d / "x").is_file()


def test_synth_and_replicate_never_overwrite_user_files(tmp_path, capsys):
    d = tmp_path / "mine"
    d.mkdir()
    (d / "README.md").write_text("mine")
    (d / "min2022.csv").write_text("my data")
    assert main(["synth", "min2022", "--out", str(d)]) == 2
    assert main(["replicate", "min2022", "--out", str(d)]) == 2
    err = capsys.readouterr().err
    assert err.count("was not written by aplcohort") == 2
    assert (d / "README.md").read_text() == "mine" and (d / "min2022.csv").read_text() == "my data"
    f = tmp_path / "cohort.csv"
    f.write_text("mine")
    assert main(["synth", "scenario", "admiral", "--n", "20", "--out", str(f)]) == 2
    assert "already exists" in capsys.readouterr().err
    assert f.read_text() == "mine"
    assert main(["synth", "scenario", "admiral", "--n", "20", "--out", str(f), "--force"]) == 0
    assert len(pd.read_csv(f)) == 20
    # synth into its own earlier output: replaced
    s = tmp_path / "synth"
    assert main(["synth", "min2022", "--out", str(s)]) == 0
    first = (s / "min2022.csv").read_bytes()
    assert main(["synth", "min2022", "--out", str(s), "--seed", "3"]) == 0
    assert (s / "min2022.csv").read_bytes() != first
    assert (s / "min2022.csv").read_bytes() == synth_min2022.to_csv_bytes(synth_min2022.generate(3))


# ----------------------------------------------------------------------------- concurrency
_HOLD = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from aplcohort.plan.write import OutputLock
    with OutputLock(sys.argv[1]):
        Path(sys.argv[2]).write_text("locked")
        while not Path(sys.argv[3]).exists():
            time.sleep(0.02)
""")


def _env():
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _wait_for(path: Path, proc):
    """Wait until the helper process has created ``path`` (fails if it exits first)."""
    import time
    while not path.exists():
        if proc.poll() is not None:
            raise AssertionError(f"helper exited early with status {proc.returncode}")
        time.sleep(0.02)


def test_second_concurrent_run_is_stopped_with_a_clear_message(tmp_path, capsys):
    plan, _ = small_plan(tmp_path)
    out = tmp_path / "res"
    ready, release = tmp_path / "ready", tmp_path / "release"
    holder = subprocess.Popen([sys.executable, "-c", _HOLD, str(out), str(ready), str(release)],
                              env=_env())
    try:
        _wait_for(ready, holder)
        assert main(["run", str(plan), "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert "another aplcohort run is writing to" in err and str(holder.pid) in err
        assert not out.exists()
    finally:
        release.write_text("go")
        holder.wait(timeout=60)
    assert holder.returncode == 0
    assert main(["run", str(plan), "--out", str(out)]) == 0  # lock released with the process


def test_two_processes_running_into_the_same_out(tmp_path):
    """Whatever the interleaving: each run exits 0 or 2 (lock), and the tree is one complete run."""
    plan, _ = small_plan(tmp_path)
    out = tmp_path / "res"
    cmd = [sys.executable, "-m", "aplcohort.cli", "run", str(plan), "--out", str(out)]
    procs = [subprocess.Popen(cmd, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(2)]
    results = [(p.wait(timeout=300), p.stderr.read()) for p in procs]
    for rc, err in results:
        assert rc in (0, 2), err
        if rc == 2:
            assert "another aplcohort run is writing" in err
        assert "Traceback" not in err
    assert any(rc == 0 for rc, _ in results)
    got = tree(out)
    assert {"results.json", "provenance.json", "report.html", MARKER} <= set(got)
    with zipfile.ZipFile(out / "tables" / "counts.docx") as z:
        assert z.testzip() is None
    json.loads((out / "results.json").read_text())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in", "res"]


_KILLED = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    import aplcohort.tables.export as ex
    real = ex.save_table
    calls = []
    def slow(*a, **k):
        calls.append(1)
        paths = real(*a, **k)
        if len(calls) == 2:            # some new tables are written: stop here and wait to be killed
            Path(sys.argv[3]).write_text("mid-write")
            time.sleep(600)
        return paths
    ex.save_table = slow
    from aplcohort.cli import main
    sys.exit(main(["run", sys.argv[1], "--out", sys.argv[2]]))
""")


def test_interrupted_run_leaves_previous_outputs_intact(tmp_path):
    plan, _ = small_plan(tmp_path)
    out = tmp_path / "res"
    assert main(["run", str(plan), "--out", str(out)]) == 0
    before = tree(out)
    plan2, _ = small_plan(tmp_path, ids=("km_new", "counts_new"))
    mid = tmp_path / "mid"
    p = subprocess.Popen([sys.executable, "-c", _KILLED, str(plan2), str(out), str(mid)],
                         env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for(mid, p)
    finally:
        p.send_signal(signal.SIGKILL)
        p.wait(timeout=60)
    assert tree(out) == before  # old outputs untouched, no new table beside the old report
    leftovers = [x.name for x in tmp_path.iterdir() if x.name.startswith(".res.aplcohort-tmp-")]
    assert leftovers  # the killed run's temporary folder
    assert main(["run", str(plan2), "--out", str(out)]) == 0  # next run cleans up
    assert any(k.startswith("tables/km_new") for k in tree(out))
    assert sorted(x.name for x in tmp_path.iterdir()) == ["in", "mid", "res"]


def test_failed_write_changes_nothing(tmp_path, monkeypatch, capsys):
    import errno
    plan, _ = small_plan(tmp_path)
    out = tmp_path / "res"
    assert main(["run", str(plan), "--out", str(out)]) == 0
    before = tree(out)
    import aplcohort.plan.write as w

    def full(path, text):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))
    monkeypatch.setattr(w, "_write_text", full)
    assert main(["run", str(plan), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "the disk is full" in err and "Traceback" not in err
    assert tree(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in", "res"]


def test_commit_cut_between_renames_is_recovered(tmp_path):
    out = tmp_path / "res"
    with output_transaction(out) as t:
        (t / "a.txt").write_text("old")
    os.rename(out, tmp_path / ".res.aplcohort-old-abc")   # killed after the first rename
    with output_transaction(out) as t:
        (t / "a.txt").write_text("new")
    assert (out / "a.txt").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["res"]


def test_out_given_as_symlink_to_our_folder(tmp_path):
    real = tmp_path / "real"
    with output_transaction(real) as t:
        (t / "a.txt").write_text("old")
    link = tmp_path / "link"
    link.symlink_to(real)
    with output_transaction(link) as t:
        (t / "a.txt").write_text("new")
    assert (link / "a.txt").read_text() == "new" and not link.is_symlink()
    assert (real / "a.txt").read_text() == "old"  # the link's target is not deleted
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link", "real"]


def test_lock_is_reentrant_and_removed(tmp_path):
    out = tmp_path / "o"
    with OutputLock(out):
        with OutputLock(out):
            pass
        assert (tmp_path / ".o.aplcohort.lock").exists()
    assert not (tmp_path / ".o.aplcohort.lock").exists()


# ----------------------------------------------------------------------------- bytes
def test_same_seed_and_source_date_epoch_give_identical_trees(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")
    a, b = tmp_path / "a", tmp_path / "b"
    assert main(["replicate", "min2022", "--seed", "2022", "--out", str(a)]) == 0
    assert main(["replicate", "min2022", "--seed", "2022", "--out", str(b)]) == 0
    ta, tb = tree(a), tree(b)
    assert ta == tb
    assert {"results.json", "provenance.json", "report.html", "data/min2022.csv"} <= set(ta)
    assert any(k.endswith(".docx") for k in ta) and any(k.endswith(".pdf") for k in ta)
    prov = json.loads((a / "provenance.json").read_text())
    assert prov["run_time_utc"] == "2026-01-01T00:00:00+00:00"
    # the run time appears in provenance.json only
    for name in ("results.json", "report.html"):
        text = (a / name).read_text(encoding="utf-8")
        assert "2026-01-01T00:00:00" not in text and "run_time" not in text, name
    # DOCX: fixed zip dates and core properties
    docx = next(a.glob("tables/*.docx"))
    with zipfile.ZipFile(docx) as z:
        assert {i.date_time for i in z.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        core = z.read("docProps/core.xml").decode()
    assert "2000-01-01T00:00:00Z" in core and "aplcohort" in core


def test_source_date_epoch_must_be_a_number(monkeypatch):
    from aplcohort.errors import InputError
    from aplcohort.plan.provenance import run_time
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "yesterday")
    with pytest.raises(InputError, match="SOURCE_DATE_EPOCH='yesterday' is not a whole number"):
        run_time()


def test_pdf_and_png_carry_no_time(tmp_path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from aplcohort.plots.export import save_figure
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    p1 = save_figure(fig, tmp_path / "a", formats=("png", "pdf"))
    p2 = save_figure(fig, tmp_path / "b", formats=("png", "pdf"))
    plt.close(fig)
    for x, y in zip(p1, p2):
        assert x.read_bytes() == y.read_bytes()
    pdf = p1[1].read_bytes()
    assert b"CreationDate" not in pdf and b"ModDate" not in pdf
    assert b"tIME" not in p1[0].read_bytes()


# ----------------------------------------------------------------------------- CSV injection
def test_csv_formula_cells_are_escaped_numbers_are_not(tmp_path):
    from aplcohort.tables.export import JournalTable, csv_safe_cell, write_csv_frame
    cells = ["=cmd|' /C calc'!A0", "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1", "-0.5", "+3",
             "-1.2e-05", "ok", "", "-0.12 (-0.50, 0.26)", "a=b"]
    want = ["'=cmd|' /C calc'!A0", "'+1+1", "'-2+3", "'@SUM(A1)", "'\t=1", "'\r=1", "-0.5", "+3",
            "-1.2e-05", "ok", "", "'-0.12 (-0.50, 0.26)", "a=b"]
    assert [csv_safe_cell(c) for c in cells] == want
    assert csv_safe_cell(-0.5) == -0.5 and csv_safe_cell(None) is None
    t = JournalTable("T", pd.DataFrame({"=x": ["=1+1", "-0.5"], "b": ["@a", "1"]}),
                     pd.DataFrame(), footnotes=("=HYPERLINK(\"x\")", 'quote " inside'))
    text = t.to_csv()
    back = pd.read_csv(io.StringIO(text), nrows=2, dtype=str)
    assert back.columns.tolist() == ["'=x", "b"]
    assert back["'=x"].tolist() == ["'=1+1", "-0.5"] and back["b"].tolist() == ["'@a", "1"]
    assert text.splitlines()[-2:] == ['"\'=HYPERLINK(""x"")"', '"quote "" inside"']
    raw = pd.DataFrame({"group": ["=evil", "ok"], "est": [-0.5, 1.25]})
    p = write_csv_frame(raw, tmp_path / "r.csv")
    back = pd.read_csv(p)
    assert back["group"].tolist() == ["'=evil", "ok"]
    assert back["est"].tolist() == [-0.5, 1.25]  # numbers stay numbers, full precision


def test_plan_table_csv_escaped_end_to_end(tmp_path):
    plan, data = small_plan(tmp_path)
    df = pd.read_csv(data)
    df["arm"] = np.where(df["arm"] == "A", "=HYPERLINK(\"http://x\")", "B")
    df.to_csv(data, index=False)
    out = tmp_path / "res"
    assert main(["run", str(plan), "--out", str(out)]) == 0
    for p in (out / "tables").glob("*.csv"):
        for line in p.read_text(encoding="utf-8").splitlines():
            for cell in line.split(","):
                assert not cell.strip('"').startswith("="), (p.name, line)
