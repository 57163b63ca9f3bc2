"""Audit 12, part D: output files -- the lock file (F1), protected inputs (F5), write
failures in the figure process (F8), names equal but for case and Windows device names
(F12), a long --out and ``mapping from-redcap --out`` through a link (F13)."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from aplcohort.cli import main
from aplcohort.plan.write import (OutputError, OutputLock, atomic_write_bytes,
                                  output_transaction, safe_output_names, validate_output_name)

ROOT = Path(__file__).resolve().parents[1]
DICT = ROOT / "tests" / "data" / "redcap" / "APLRelapse_DataDictionary.csv"
PATIENTS = b"patient_id,t,d\nP1,3,1\nP2,5,0\n"


def small_plan(folder: Path, *, ids=("km",), data: Path | None = None, figures=("png",)):
    """A fast plan (one Kaplan-Meier analysis per id) on a small generic table."""
    rng = np.random.default_rng(5)
    n = 30
    if data is None:
        data = folder / "data.csv"
        data.parent.mkdir(parents=True, exist_ok=True)
        pd.DataFrame({"patient_id": [f"P{i:02d}" for i in range(n)],
                      "arm": np.repeat(["A", "B"], n // 2),
                      "t": np.round(rng.exponential(10, n), 1) + 0.1,
                      "d": rng.integers(0, 2, n)}).to_csv(data, index=False)
    plan = {"plan": "small", "title": "Small", "data": {"source": str(data)},
            "endpoints": {"os": {"time": "t", "event": "d", "unit": "months"}},
            "analyses": [{"id": i, "kind": "km", "endpoint": "os", "group": "arm"} for i in ids],
            "output": {"formats": list(figures), "tables": ["csv"]}}
    path = folder / "plan.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(plan, sort_keys=False), encoding="utf-8")
    return path, data


def digest(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


# ----------------------------------------------------------------------------- F1 lock file
def test_f1_lock_symlink_to_the_data_is_refused_and_the_data_kept(tmp_path, capsys):
    data = tmp_path / "data" / "cohort.csv"
    data.parent.mkdir()
    data.write_bytes(PATIENTS)
    reports = tmp_path / "reports"
    reports.mkdir()
    link = reports / ".res.aplcohort.lock"
    link.symlink_to(Path("..") / "data" / "cohort.csv")
    with pytest.raises(OutputError, match="is a symbolic link"):
        with OutputLock(reports / "res"):
            pass
    assert data.read_bytes() == PATIENTS      # before: truncated, the PID written into it
    assert link.is_symlink()                  # left as it was
    # every subcommand takes this lock: synth min2022 too (exit 2, nothing written)
    assert main(["synth", "min2022", "--out", str(reports / "res")]) == 2
    assert "symbolic link" in capsys.readouterr().err
    assert data.read_bytes() == PATIENTS and not (reports / "res").exists()


def test_f1_dangling_lock_link_creates_nothing(tmp_path):
    target = tmp_path / "elsewhere.txt"
    (tmp_path / ".res.aplcohort.lock").symlink_to(target)
    with pytest.raises(OutputError, match="symbolic link"):
        with OutputLock(tmp_path / "res"):
            pass
    assert not target.exists()                # before: the target was created


def test_f1_lock_file_that_is_a_second_name_of_the_data_is_never_written(tmp_path):
    data = tmp_path / "cohort.csv"
    data.write_bytes(PATIENTS)
    os.link(data, tmp_path / ".res.aplcohort.lock")   # a hard link: no symbolic link to see
    with pytest.raises(OutputError, match="not an aplcohort lock file"):
        with OutputLock(tmp_path / "res"):
            pass
    assert data.read_bytes() == PATIENTS and (tmp_path / ".res.aplcohort.lock").exists()


def test_f1_lock_of_a_killed_run_is_replaced_and_removed(tmp_path):
    stale = tmp_path / ".res.aplcohort.lock"
    stale.write_text("999999")                # a run killed outright leaves its lock file
    with OutputLock(tmp_path / "res"):
        assert stale.read_text() == str(os.getpid())
        assert not stale.is_symlink()
    assert not stale.exists()


def test_f1_single_file_outputs_refuse_a_planted_lock_link(tmp_path):
    precious = tmp_path / "precious.txt"
    precious.write_bytes(b"keep me\n")
    (tmp_path / ".cohort.csv.aplcohort.lock").symlink_to(precious)
    with pytest.raises(OutputError, match="symbolic link"):
        atomic_write_bytes(tmp_path / "cohort.csv", b"a,b\n")
    assert precious.read_bytes() == b"keep me\n" and not (tmp_path / "cohort.csv").exists()


def test_f1_single_file_output_never_written_through_a_link(tmp_path):
    target = tmp_path / "target.csv"
    target.write_bytes(b"theirs\n")
    out = tmp_path / "out.csv"
    out.symlink_to(target)
    with pytest.raises(OutputError, match="symbolic link"):   # exists (a link): refused
        atomic_write_bytes(out, b"mine\n")
    atomic_write_bytes(out, b"mine\n", force=True)             # the link is replaced
    assert not out.is_symlink() and out.read_bytes() == b"mine\n"
    assert target.read_bytes() == b"theirs\n"
    dangling = tmp_path / "dangling.csv"
    dangling.symlink_to(tmp_path / "nowhere.csv")
    with pytest.raises(OutputError, match="already exists"):   # before: silently replaced
        atomic_write_bytes(dangling, b"mine\n")
    assert dangling.is_symlink() and not (tmp_path / "nowhere.csv").exists()


# ----------------------------------------------------------------------------- F13
def test_f13_mapping_from_redcap_never_writes_through_a_dangling_link(tmp_path, capsys):
    outside = tmp_path / "outside_created_by_mapping.yaml"
    (tmp_path / "e").mkdir()
    link = tmp_path / "e" / "dangling.yaml"
    link.symlink_to(outside)
    assert main(["mapping", "from-redcap", str(DICT), "--out", str(link)]) == 2
    assert "symbolic link" in capsys.readouterr().err
    assert not outside.exists()               # before: the mapping was written there
    # a missing parent folder is created, as the other commands do (before: file not found)
    new = tmp_path / "nodir" / "m.yaml"
    assert main(["mapping", "from-redcap", str(DICT), "--out", str(new)]) == 0
    assert "# NOT MATCHED" in new.read_text(encoding="utf-8")
    assert sorted(p.name for p in new.parent.iterdir()) == ["m.yaml"]  # no lock or temp left


def test_f13_a_long_out_name_gets_lock_and_temporary_names_that_fit(tmp_path):
    out = tmp_path / ("o" * 240)               # legal: 240 < 255
    with output_transaction(out) as t:          # before: ENAMETOOLONG on the lock file
        (t / "a.txt").write_text("x")
    with output_transaction(out) as t:          # replaced: the "old" folder name fits too
        (t / "a.txt").write_text("y")
    assert (out / "a.txt").read_text() == "y"
    assert sorted(p.name for p in tmp_path.iterdir()) == [out.name]
    with OutputLock(out) as lock:
        assert len(lock.path.name) <= 255 and lock.path.parent == tmp_path


def test_f13_out_name_with_pattern_characters(tmp_path):
    out = tmp_path / "res[1]"
    with output_transaction(out) as t:
        (t / "a.txt").write_text("x")
    os.rename(out, tmp_path / ".res[1].aplcohort-old-abc")   # killed between the renames
    with output_transaction(out) as t:
        (t / "a.txt").write_text("y")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["res[1]"]


# ----------------------------------------------------------------------------- F5
def test_f5_force_never_deletes_the_plan_file(tmp_path, capsys):
    w = tmp_path / "W"
    _plan, data = small_plan(tmp_path / "in")
    plan, _data = small_plan(w, data=data)    # the plan in --out, the data elsewhere
    before = digest(plan)
    assert main(["run", str(plan), "--out", str(w), "--force"]) == 2
    err = capsys.readouterr().err
    assert "contains the input file" in err and "plan.yaml" in err
    assert plan.exists() and digest(plan) == before   # before: exit 0, plan.yaml deleted


def test_f5_run_plan_refuses_an_out_holding_the_plan(tmp_path):
    from aplcohort.plan.runner import run_plan
    _plan, data = small_plan(tmp_path / "in")
    plan, _data = small_plan(tmp_path / "W", data=data)
    with pytest.raises(OutputError, match="contains the input file"):
        run_plan(str(plan), out=tmp_path / "W", force=True, figures=False)
    assert plan.exists()


def _scenario(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    src = ROOT / "aplcohort" / "synthetic" / "scenarios" / "admiral.yaml"
    sc = folder / "sc.yaml"
    sc.write_bytes(src.read_bytes())
    return sc


@pytest.mark.parametrize("cmd", ["power", "sweep"])
def test_f5_power_and_sweep_never_delete_the_scenario_file(tmp_path, capsys, cmd):
    sc = _scenario(tmp_path / "W")
    before = digest(sc)
    extra = ["--scheduler", "none"] if cmd == "sweep" else []
    assert main([cmd, str(sc), "--n", "40", "--reps", "2", "--out", str(tmp_path / "W"),
                 "--force", "--no-progress", *extra]) == 2
    assert "contains the input file" in capsys.readouterr().err
    assert digest(sc) == before


@pytest.mark.parametrize("cmd", ["power", "sweep"])
def test_f5_power_and_sweep_refuse_before_simulating(tmp_path, capsys, monkeypatch, cmd):
    # the refusal comes before the replicates are simulated, not after them
    def simulated(*a, **k):
        raise AssertionError("simulated before the output folder was checked")
    monkeypatch.setattr("aplcohort.batch.power.power_curve", simulated)
    monkeypatch.setattr("aplcohort.batch.sweep.power_sweep", simulated)
    sc = _scenario(tmp_path / "W")
    extra = ["--scheduler", "none"] if cmd == "sweep" else []
    assert main([cmd, str(sc), "--n", "40", "--reps", "2", "--out", str(tmp_path / "W"),
                 "--force", "--no-progress", *extra]) == 2
    assert "contains the input file" in capsys.readouterr().err
    # a folder of the user's (not written by aplcohort) is refused first too, without --force
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("mine")
    assert main([cmd, str(sc), "--n", "40", "--reps", "2", "--out", str(mine),
                 "--no-progress", *extra]) == 2
    assert (mine / "notes.txt").read_text() == "mine"


def test_f5_synth_scenario_never_replaces_its_scenario_file(tmp_path, capsys):
    sc = _scenario(tmp_path)
    before = digest(sc)
    assert main(["synth", "scenario", str(sc), "--n", "20", "--out", str(sc), "--force"]) == 2
    assert "is the input file" in capsys.readouterr().err
    assert digest(sc) == before


# ----------------------------------------------------------------------------- F8
@pytest.mark.skipif(not hasattr(os, "fork") or sys.platform != "linux",
                    reason="file-size limit (RLIMIT_FSIZE) and figure helper processes: Linux")
def test_f8_failed_write_names_the_file_without_a_traceback(tmp_path):
    import resource
    plan, _data = small_plan(tmp_path / "in", ids=("km_a", "km_b", "km_c"),
                             figures=("png", "pdf"))
    out = tmp_path / "res"
    with output_transaction(out, kind="run") as t:   # the previous outputs
        (t / "a.txt").write_text("previous")
    before = sorted(p.name for p in out.iterdir())

    def limit():  # a 48 KiB file-size limit: the first 300-dpi figure is larger
        resource.setrlimit(resource.RLIMIT_FSIZE, (48 * 1024, 48 * 1024))

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("APLCOHORT_DEBUG", None)
    r = subprocess.run([sys.executable, "-m", "aplcohort.cli", "run", str(plan), "--out",
                        str(out), "--force"], capture_output=True, text=True, env=env,
                       preexec_fn=limit, timeout=600)
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr and "Process aplcohort-figures" not in r.stderr, r.stderr
    assert "File too large" in r.stderr
    # the message names the file, where the user would look for it
    assert f"{out}{os.sep}" in r.stderr, r.stderr
    assert sorted(p.name for p in out.iterdir()) == before
    assert (out / "a.txt").read_text() == "previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in", "res"]


_HELPER_FAILS = """
import sys
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
import aplcohort.plots.export as E
from aplcohort.plan import write as W
pre = W.FigurePrerender.start(("png",), 300)
if pre is None:
    print("NO-HELPER")
    sys.exit(0)
def broken(*a, **k):
    raise OSError(27, "File too large")
E.save_figure = broken
fig = plt.figure()
try:
    pre.submit([("f", fig)])
    pre.finish()
finally:
    pre.close()
print("TAKEN" if id(fig) in pre.files else "NOT-TAKEN")
"""


@pytest.mark.skipif(not hasattr(os, "fork") or sys.platform != "linux" or
                    len(os.sched_getaffinity(0)) < 2,
                    reason="figure helper processes: Linux with 2+ CPUs")
def test_f8_figure_helper_error_is_not_printed(tmp_path):
    """A figure process that fails exits without a traceback; the parent saves the batch
    again (the prerender path). Run in a fresh process: the helper is not started beside
    other threads, which the test session may have."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    r = subprocess.run([sys.executable, "-c", _HELPER_FAILS], capture_output=True, text=True,
                       env=env, cwd=tmp_path, timeout=300)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "NOT-TAKEN", r.stdout + r.stderr   # saved by the parent
    assert "Traceback" not in r.stderr and "Process aplcohort-figures" not in r.stderr, r.stderr


# ----------------------------------------------------------------------------- F12
def test_f12_ids_equal_but_for_case_are_refused_at_validation(tmp_path, capsys):
    plan, _data = small_plan(tmp_path / "in", ids=("KM", "km"))
    out = tmp_path / "res"
    assert main(["run", str(plan), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "only in case" in err and "'KM'" in err
    assert not out.exists()                    # before: figures/KM.png and figures/km.png


@pytest.mark.parametrize("name", ["con", "CON", "nul", "Com1", "lpt9", "aux", "prn"])
def test_f12_windows_device_names_are_refused(name):
    with pytest.raises(OutputError, match="Windows reserves"):
        validate_output_name(name)


@pytest.mark.parametrize("name", ["console", "nul_1", "com10", "conx"])
def test_f12_names_that_only_start_like_a_device_are_fine(name):
    assert validate_output_name(name) == name


def test_f12_derived_names_are_unique_ignoring_case():
    names = ["KM__medians", "km__medians", "Km__Medians", "x", "con", "NUL.txt", "a b", "A_b"]
    out = safe_output_names(names)
    assert out[0] == "KM__medians" and out[3] == "x"
    assert len({s.lower() for s in out}) == len(out)           # before: three collided
    for s in out:
        assert validate_output_name(s) == s                    # none is a device name
    assert safe_output_names(["KM", "km"]) == safe_output_names(["KM", "km"])  # same each run


def test_f12_write_outputs_refuses_ids_equal_but_for_case(tmp_path):
    """Checked again where files are written, whatever the plan validator did."""
    from aplcohort.plan import write as W
    from types import SimpleNamespace
    res = SimpleNamespace(plan={}, analyses={"KM": SimpleNamespace(tables=[], figures=[]),
                                             "km": SimpleNamespace(tables=[], figures=[])})
    with pytest.raises(OutputError, match="only in case"):
        W.write_outputs(res, tmp_path / "res")
    assert not (tmp_path / "res").exists()


def test_docs_describe_the_lock_rules():
    doc = (ROOT / "docs" / "security.md").read_text(encoding="utf-8")
    assert "O_EXCL" in doc and "only in case" in doc and "plan file" in doc
