"""Every failure readable: the twelve cases of issue 12 exit 2 with one paragraph, no traceback.

The test process runs as root in CI containers, where ``chmod`` cannot make a file
unreadable or a folder read-only; those cases raise the operating-system error the
kernel would give (PermissionError / EROFS / ENOSPC) at the call that would get it.
"""

from __future__ import annotations

import errno
import json
import os
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from aplcohort.cli import main



def _plan(tmp_path, analyses=None, **extra):
    rng = np.random.default_rng(11)
    n = 40
    df = pd.DataFrame({"patient_id": [f"P{i:02d}" for i in range(n)],
                       "arm": np.repeat(["A", "B"], n // 2),
                       "t": np.round(rng.exponential(10, n), 1) + 0.1,
                       "k": rng.integers(0, 3, n),
                       "age": rng.normal(60, 8, n).round(1)})
    df["age2"] = 2 * df["age"] + 1
    data = tmp_path / "data.csv"
    df.to_csv(data, index=False)
    plan = {"plan": "p", "data": {"source": str(data)},
            "endpoints": {"os": {"time": "t", "event": "k", "unit": "months"},
                          "cr": {"time": "t", "code": "k", "unit": "months"}},
            "analyses": analyses or [{"id": "counts", "kind": "counts", "columns": ["arm"]}]}
    plan.update(extra)
    path = tmp_path / "plan.yaml"
    path.write_text(yaml.safe_dump(plan, sort_keys=False), encoding="utf-8")
    return path, data, df


def _run(argv, capsys):
    rc = main(argv)
    err = capsys.readouterr().err
    return rc, err


def _readable(rc, err, *needles):
    assert rc == 2, err
    assert "Traceback" not in err and "internal error" not in err, err
    for n in needles:
        assert n.lower() in err.lower(), err


def test_01_unreadable_input(tmp_path, capsys, monkeypatch):
    plan, data, _ = _plan(tmp_path)
    real = Path.read_bytes

    def denied(self):
        if Path(self) == data:
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return real(self)
    monkeypatch.setattr(Path, "read_bytes", denied)
    rc, err = _run(["run", str(plan), "--out", str(tmp_path / "o")], capsys)
    _readable(rc, err, str(data))
    assert "permission denied" in err.lower()
    assert not (tmp_path / "o").exists()


def _deny_writes_in(folder: Path, monkeypatch, code):
    real_open, real_mkdir = os.open, os.mkdir

    def inside(p):
        return Path(os.fspath(p)).absolute().parent == folder

    def o(path, flags, *a, **k):
        if inside(path) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
            raise OSError(code, os.strerror(code), os.fspath(path))
        return real_open(path, flags, *a, **k)

    def m(path, *a, **k):
        if inside(path):
            raise OSError(code, os.strerror(code), os.fspath(path))
        return real_mkdir(path, *a, **k)
    monkeypatch.setattr(os, "open", o)
    monkeypatch.setattr(os, "mkdir", m)


@pytest.mark.parametrize("code,needle", [(errno.EROFS, "read-only file system"),
                                         (errno.EACCES, "permission denied")])
def test_02_read_only_or_forbidden_out(tmp_path, capsys, monkeypatch, code, needle):
    plan, _, _ = _plan(tmp_path)
    ro = tmp_path / "ro"
    ro.mkdir()
    _deny_writes_in(ro, monkeypatch, code)
    rc, err = _run(["run", str(plan), "--out", str(ro / "out")], capsys)
    _readable(rc, err, needle)
    assert list(ro.iterdir()) == []


def test_03_disk_full(tmp_path, capsys, monkeypatch):
    plan, _, _ = _plan(tmp_path)
    import aplcohort.tables.export as ex
    real = ex._deterministic_zip

    def full(data):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(ex, "_deterministic_zip", full)
    rc, err = _run(["run", str(plan), "--out", str(tmp_path / "o")], capsys)
    _readable(rc, err, "the disk is full", "Nothing was changed")
    assert not (tmp_path / "o").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.csv", "plan.yaml"]
    monkeypatch.setattr(ex, "_deterministic_zip", real)


def test_04_out_is_a_file(tmp_path, capsys):
    plan, _, _ = _plan(tmp_path)
    f = tmp_path / "o.txt"
    f.write_text("keep")
    rc, err = _run(["run", str(plan), "--out", str(f)], capsys)
    _readable(rc, err, "is a file, not a folder")
    assert f.read_text() == "keep"


def test_05_binary_plan(tmp_path, capsys):
    p = tmp_path / "plan.yaml"
    p.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe binary")
    rc, err = _run(["run", str(p), "--out", str(tmp_path / "o")], capsys)
    _readable(rc, err)
    assert "UTF-8" in err or "not valid YAML" in err or "YAML mapping" in err


def test_06_plan_path_is_a_directory(tmp_path, capsys):
    d = tmp_path / "plans"
    d.mkdir()
    rc, err = _run(["run", str(d), "--out", str(tmp_path / "o")], capsys)
    _readable(rc, err, str(d))


@pytest.mark.parametrize("output", ["png", {"formats": "png"}, {"tables": "csv"},
                                    {"formats": ["gif"]}, {"dpi": "high"}])
def test_07_output_section_of_the_wrong_shape(tmp_path, capsys, output):
    plan, _, _ = _plan(tmp_path, output=output)
    rc, err = _run(["run", str(plan), "--out", str(tmp_path / "o")], capsys)
    _readable(rc, err, "output")
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("where", ["arm", "age + 1", 5, True, "arm == 1"])
def test_08_non_boolean_where(tmp_path, capsys, where):
    plan, _, _ = _plan(tmp_path, analyses=[{"id": "counts", "kind": "counts", "columns": ["arm"],
                                            "where": where}])
    rc, err = _run(["run", str(plan), "--out", str(tmp_path / "o")], capsys)
    _readable(rc, err, "where")


def test_09_300_character_id(tmp_path, capsys):
    plan, _, _ = _plan(tmp_path, analyses=[{"id": "x" * 300, "kind": "counts",
                                            "columns": ["arm"]}])
    rc, err = _run(["run", str(plan), "--out", str(tmp_path / "o")], capsys)
    _readable(rc, err)
    assert len(err) < 2000  # the id is shortened in the message
    assert not (tmp_path / "o").exists()


def test_10_id_into_a_missing_folder(tmp_path, capsys):
    plan, _, _ = _plan(tmp_path, analyses=[{"id": "nofolder/table", "kind": "counts",
                                            "columns": ["arm"]}])
    rc, err = _run(["run", str(plan), "--out", str(tmp_path / "o")], capsys)
    _readable(rc, err, "nofolder/table")
    assert not (tmp_path / "o").exists()


def test_11_control_character_in_a_text_cell_written_to_docx(tmp_path, capsys):
    plan, data, df = _plan(tmp_path)
    df["arm"] = np.where(df["arm"] == "A", "A\x07bell", "B\x0bvt")
    df.to_csv(data, index=False)
    out = tmp_path / "o"
    rc, err = _run(["run", str(plan), "--out", str(out)], capsys)
    assert rc == 0, err  # written, with the characters made visible rather than failing
    with zipfile.ZipFile(out / "tables" / "counts.docx") as z:
        xml = z.read("word/document.xml").decode("utf-8")
    assert "A\u2407bell" in xml and "B\u240bvt" in xml


def test_12_fine_gray_on_a_singular_design(tmp_path, capsys):
    """An aliased covariate is not an error: as R coxph, its term is NA with the reason, the
    other terms are estimated, and the run goes on (exit 0) with no traceback."""
    plan, _, _ = _plan(tmp_path, analyses=[{"id": "fg", "kind": "finegray", "endpoint": "cr",
                                            "covariates": ["age", "age2"], "cause": 1}])
    rc, err = _run(["run", str(plan), "--out", str(tmp_path / "o")], capsys)
    assert rc == 0 and "Traceback" not in err, err
    terms = {t["term"]: t for t in
             json.loads((tmp_path / "o" / "results.json").read_text())["analyses"]["fg"]["terms"]}
    assert terms["age"]["estimable"] and terms["age"]["se"] > 0
    assert not terms["age2"]["estimable"] and terms["age2"]["coef"] is None
    assert "aliased" in terms["age2"]["note"]


def test_malformed_arguments_exit_2(capsys):
    with pytest.raises(SystemExit) as e:
        main(["replicate", "min2022", "--out", "x", "--seed", "abc"])
    assert e.value.code == 2
    assert "invalid int value: 'abc'" in capsys.readouterr().err


def test_internal_error_is_one_paragraph_with_debug_switch(monkeypatch, capsys, tmp_path):
    import aplcohort.plan.runner as runner

    def boom(*a, **k):
        raise ZeroDivisionError("x")
    monkeypatch.setattr(runner, "run_plan", boom)
    plan, _, _ = _plan(tmp_path)
    rc, err = _run(["run", str(plan), "--out", str(tmp_path / "o")], capsys)
    assert rc == 1 and "internal error (ZeroDivisionError: x)" in err
    assert "Traceback" not in err and "APLCOHORT_DEBUG=1" in err
    monkeypatch.setenv("APLCOHORT_DEBUG", "1")
    with pytest.raises(ZeroDivisionError):
        main(["run", str(plan), "--out", str(tmp_path / "o")])


def test_each_command_is_built_from_its_own_module_only():
    """`aplcohort CMD` registers only the module that provides CMD (fewer imports); the
    table that says which module that is matches what every module registers."""
    import argparse
    import importlib

    from aplcohort import cli
    registered = {}
    for modname in cli._SUBCOMMAND_MODULES:
        p = argparse.ArgumentParser()
        importlib.import_module(modname).register(p.add_subparsers(dest="command"))
        sub = next(a for a in p._actions if isinstance(a, argparse._SubParsersAction))
        registered.update({name: modname for name in sub.choices})
    assert registered == cli._COMMAND_MODULE
    for name in registered:
        sub = next(a for a in cli.build_parser(name)._actions
                   if isinstance(a, argparse._SubParsersAction))
        assert name in sub.choices
        assert set(sub.choices) == {c for c, m in registered.items() if m == registered[name]}
    full = next(a for a in cli.build_parser()._actions
                if isinstance(a, argparse._SubParsersAction))
    assert set(full.choices) == set(registered)


def test_unknown_command_lists_every_command(capsys):
    with pytest.raises(SystemExit):
        main(["replicat"])
    err = capsys.readouterr().err
    assert "invalid choice: 'replicat'" in err and "validate" in err and "sweep" in err


_FIGS = [{"id": f"cif{i}", "kind": "cif", "endpoint": "cr", "group": "arm", "figure": True}
         for i in range(3)]


def _tree(d):
    return {str(p.relative_to(d)): p.read_bytes() for p in sorted(d.rglob("*"))
            if p.is_file() and p.name != "provenance.json"}


def _record_saving_pids(monkeypatch, pids):
    """Wrap save_figure so that every process that saves a figure writes its pid to ``pids``."""
    import os

    import aplcohort.plots.export as ex
    real = ex.save_figure

    def save(fig, stem, **kw):
        with open(pids, "a") as fh:
            fh.write(f"{os.getpid()}\n")
        return real(fig, stem, **kw)
    monkeypatch.setattr(ex, "save_figure", save)


def _serial_run_gives_the_same_bytes(tmp_path, plan, pids, capsys, monkeypatch):
    """Run ``plan`` again with one CPU visible (this process saves every figure itself) and
    check that its outputs are the bytes of the run in ``two``."""
    import os

    import aplcohort.plan.write as w
    pids.unlink()
    monkeypatch.setattr(w, "_cpus", lambda: 1)
    rc, err = _run(["run", str(plan), "--out", str(tmp_path / "one")], capsys)
    assert rc == 0, err
    assert pids.read_text().split() == [str(os.getpid())] * 3
    two, one = _tree(tmp_path / "two"), _tree(tmp_path / "one")
    assert sum(k.startswith("figures/") for k in two) == 6  # 3 figures x png, pdf
    assert two == one


def test_figures_saved_by_two_processes_are_the_bytes_of_a_serial_run(tmp_path, capsys,
                                                                      monkeypatch):
    """With two CPUs a forked helper saves some figures (plan/write.py _FigureWriter); the
    outputs are the same bytes as when this process saves every figure itself."""
    import aplcohort.plan.write as w
    if w._cpus() < 2:
        pytest.skip("one CPU: figures are always saved by one process here")
    plan, _, _ = _plan(tmp_path, analyses=_FIGS)
    monkeypatch.setattr(w, "_single_threaded", lambda: True)  # threads left by other tests
    # only the writer's helper here (figures saved during the analyses: the next test)
    monkeypatch.setattr(w.FigurePrerender, "start", classmethod(lambda cls, f, d: None))
    pids = tmp_path / "pids"
    _record_saving_pids(monkeypatch, pids)
    forked = []
    enter = w._FigureWriter.__enter__

    def enter_and_record(self):
        r = enter(self)
        forked.append(self.proc is not None)
        return r
    monkeypatch.setattr(w._FigureWriter, "__enter__", enter_and_record)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")
    rc, err = _run(["run", str(plan), "--out", str(tmp_path / "two")], capsys)
    assert rc == 0, err
    assert forked == [True]
    assert len(pids.read_text().split()) == 3  # each figure saved once, by one process or other
    _serial_run_gives_the_same_bytes(tmp_path, plan, pids, capsys, monkeypatch)
    assert forked == [True, False]


def test_figures_saved_while_the_analyses_run_are_the_bytes_of_a_serial_run(
        tmp_path, capsys, monkeypatch):
    """With two CPUs the command line saves each analysis's figures in a forked process
    while the next analyses run (plan/write.py FigurePrerender); the outputs are the same
    bytes as when this process saves every figure itself, and no temporary file is left."""
    import os
    import tempfile

    import aplcohort.plan.write as w
    if w._cpus() < 2:
        pytest.skip("one CPU: figures are always saved by one process here")
    plan, _, _ = _plan(tmp_path, analyses=_FIGS)
    monkeypatch.setattr(w, "_single_threaded", lambda: True)  # threads left by other tests
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    pids = tmp_path / "pids"
    _record_saving_pids(monkeypatch, pids)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")
    rc, err = _run(["run", str(plan), "--out", str(tmp_path / "two")], capsys)
    assert rc == 0, err
    who = pids.read_text().split()
    assert len(who) == 3 and str(os.getpid()) not in who[:1]  # the first one, at least, forked
    assert list(scratch.iterdir()) == []
    _serial_run_gives_the_same_bytes(tmp_path, plan, pids, capsys, monkeypatch)


def test_a_failed_figure_process_leaves_its_figures_to_the_main_process(
        tmp_path, capsys, monkeypatch):
    """A forked process that fails to save figures (any error) changes nothing: this
    process saves them; the outputs are complete and no temporary file is left."""
    import os
    import tempfile

    import aplcohort.plan.write as w
    import aplcohort.plots.export as ex
    plan, _, _ = _plan(tmp_path, analyses=_FIGS)
    monkeypatch.setattr(w, "_cpus", lambda: 2)
    monkeypatch.setattr(w, "_single_threaded", lambda: True)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    real, me = ex.save_figure, os.getpid()

    def fails_when_forked(fig, stem, **kw):
        if os.getpid() != me and str(scratch) in str(stem):  # the prerender process only
            raise OSError(errno.ENOSPC, "No space left on device", str(stem))
        return real(fig, stem, **kw)
    monkeypatch.setattr(ex, "save_figure", fails_when_forked)
    rc, err = _run(["run", str(plan), "--out", str(tmp_path / "o")], capsys)
    assert rc == 0, err
    figs = sorted(p.name for p in (tmp_path / "o" / "figures").iterdir())
    assert figs == sorted(f"cif{i}.{f}" for i in range(3) for f in ("png", "pdf"))
    assert list(scratch.iterdir()) == []


@pytest.mark.parametrize("cpus", [1, 2])
def test_disk_full_while_saving_figures(tmp_path, capsys, monkeypatch, cpus):
    """An error in whichever process saves a figure is reported as a user error and leaves
    no output folder."""
    import aplcohort.plan.write as w
    import aplcohort.plots.export as ex
    plan, _, _ = _plan(tmp_path, analyses=_FIGS)

    def full(fig, stem, **kw):
        raise OSError(errno.ENOSPC, "No space left on device", str(stem) + ".png")
    monkeypatch.setattr(ex, "save_figure", full)
    monkeypatch.setattr(w, "_cpus", lambda: cpus)
    rc, err = _run(["run", str(plan), "--out", str(tmp_path / "o")], capsys)
    _readable(rc, err, "the disk is full")
    assert not (tmp_path / "o").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.csv", "plan.yaml"]


def test_no_figure_helper_is_forked_beside_other_threads(tmp_path, capsys, monkeypatch):
    """A process with other threads (a Jupyter kernel) saves its figures itself: a forked
    copy could wait forever on a lock one of those threads held."""
    import threading

    import aplcohort.plan.write as w
    plan, _, _ = _plan(tmp_path, analyses=_FIGS)
    monkeypatch.setattr(w, "_cpus", lambda: 2)
    forked = []
    enter = w._FigureWriter.__enter__

    def enter_and_record(self):
        r = enter(self)
        forked.append(self.proc is not None)
        return r
    monkeypatch.setattr(w._FigureWriter, "__enter__", enter_and_record)
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        rc, err = _run(["run", str(plan), "--out", str(tmp_path / "o")], capsys)
    finally:
        stop.set()
        other.join()
    assert rc == 0, err
    assert forked == [False]
    assert len(list((tmp_path / "o" / "figures").glob("*.png"))) == 3


def test_an_error_in_the_figure_helper_is_raised_by_the_main_process(monkeypatch):
    import aplcohort.plan.write as w
    if w._cpus() < 2:
        pytest.skip("one CPU: no helper process is forked")
    import os
    monkeypatch.setattr(w, "_cpus", lambda: 2)
    monkeypatch.setattr(w, "_single_threaded", lambda: True)
    me = os.getpid()

    def full_in_helper(self, i):
        if os.getpid() != me:
            raise OSError(errno.ENOSPC, "No space left on device", f"fig{i}.png")
    monkeypatch.setattr(w._FigureWriter, "_save", full_in_helper)
    with pytest.raises(OSError, match="No space left") as info:
        with w._FigureWriter([(None, "a"), (None, "b")], ("png",), 300) as fw:
            assert fw.proc is not None
            fw.proc.join(timeout=120)  # the helper takes figure 0 and fails on it
            assert not fw.proc.is_alive()
            fw.finish()  # this process saves figure 1, then raises the helper's error
    assert info.value.errno == errno.ENOSPC and info.value.filename == "fig0.png"


def test_plan_description_is_printed_under_the_report_title(tmp_path, capsys):
    """`description:` is accepted, so it shows: under the title of report.html (escaped)."""
    plan, _, _ = _plan(tmp_path, title="T", description="Relapsed APL <cohort> & controls")
    rc, err = _run(["run", str(plan), "--out", str(tmp_path / "o")], capsys)
    assert rc == 0, err
    html = (tmp_path / "o" / "report.html").read_text(encoding="utf-8")
    assert ("<h1>T</h1>\n<p class='description'>Relapsed APL &lt;cohort&gt; &amp; controls</p>"
            in html)


def test_figure_folders_of_killed_runs_are_removed_by_the_next_run(tmp_path, monkeypatch):
    """A run killed outright (SIGKILL) cannot remove its figure process's temporary folder;
    the next run that starts a figure process removes it. Only such a folder: exact name,
    owner file naming this host, boot and pid namespace, process gone. A live process's
    folder, a run's folder from another machine or container sharing the temp directory,
    and a user's own folder that merely starts with the same prefix are left alone."""
    import json
    import os
    import subprocess
    import sys
    import tempfile

    import aplcohort.plan.write as w
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    me = w._process_identity()
    P = w.FigurePrerender.PREFIX

    def folder(name, owner):
        d = tmp_path / name
        d.mkdir()
        (d / "0.png").write_bytes(b"x")
        if owner is not None:
            (d / w._FIGDIR_OWNER).write_text(json.dumps(owner))
        return d
    dead = folder(f"{P}{gone.pid}-abc123de", dict(me, pid=gone.pid))
    live = folder(f"{P}{os.getpid()}-def456gh", me)
    elsewhere = folder(f"{P}{gone.pid}-ijk789lm", dict(me, pid=gone.pid, host="node-17"))
    other_ns = folder(f"{P}{gone.pid}-nop012qr", dict(me, pid=gone.pid, pidns="pid:[1]"))
    no_owner = folder(f"{P}{gone.pid}-stu345vw", None)
    users = folder(f"{P}2024-final-versions", dict(me, pid=2024))
    short = folder(f"{P}{gone.pid}", dict(me, pid=gone.pid))
    pre = w.FigurePrerender(("png",), 300)
    try:
        assert not dead.exists()
        for d in (live, elsewhere, other_ns, no_owner, users, short):
            assert (d / "0.png").exists(), d.name
        assert pre.dir.name.startswith(f"{P}{os.getpid()}-")
        assert json.loads((pre.dir / w._FIGDIR_OWNER).read_text()) == me
    finally:
        pre.close()
    assert not pre.dir.exists()


def test_a_replaced_figure_folder_is_not_trusted(tmp_path, monkeypatch):
    """If the temporary folder is no longer the one the run made (another user swapped it
    in a shared temp directory without the sticky bit), nothing from it is used: no font
    data is read and no file is moved; the caller saves those figures itself."""
    import shutil
    import tempfile

    import aplcohort.plan.write as w
    import aplcohort.plots.export as ex
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    pre = w.FigurePrerender(("png",), 300)
    try:
        assert pre._intact()
        (pre.dir / "0.png").write_bytes(b"theirs")
        (pre.dir / "0.subsets.json").write_text('[{"font": "f", "face": 0, "glyphs": [1], '
                                                '"data": "eHg=", "map": [[1, 1]]}]')
        moved = tmp_path / "moved"
        shutil.move(str(pre.dir), str(moved))
        shutil.copytree(moved, pre.dir)             # same name, another folder
        assert not pre._intact()

        class Fig:
            pass
        fig = Fig()
        pre.files[id(fig)] = {"png": pre.dir / "0.png"}
        assert pre.take(fig, tmp_path / "out" / "fig") is False
        assert not (tmp_path / "out").exists()
        # the font data is checked field by field and only adopted from JSON
        before = ex.subset_cache()
        (pre.dir / "1.subsets.json").write_text('[{"font": 1}]')
        pre._adopt_subsets(1)
        assert ex.subset_cache() == before
    finally:
        pre.close()


def test_the_figure_writer_takes_the_figures_that_take_longest_first():
    """The writer's two processes take figures from one queue; the larger figures go first so
    that neither waits at the end while the other saves a large figure taken last."""
    import matplotlib.pyplot as plt

    import aplcohort.plan.write as w
    small, ax = plt.subplots()
    big, bax = plt.subplots()
    bax.set_yticks(range(60))  # one label and two marks per patient, as a swimmer plot
    bax.barh(range(60), range(60))
    try:
        assert w._save_cost(big) > w._save_cost(small) > w._save_cost(None) == 0
        jobs = w._FigureWriter([(small, "a"), (None, "b"), (big, "c")], ("png",), 300).jobs
        assert [stem for _fig, stem in jobs] == ["c", "a", "b"]
    finally:
        plt.close(small)
        plt.close(big)
