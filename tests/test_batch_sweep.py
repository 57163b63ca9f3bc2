"""Dask sweeps give the same numbers as the in-process sweep (needs the dask extra)."""

import pandas as pd
import pytest

from aplcohort.batch.sweep import power_sweep

import distributed  # noqa: F401  (test extra; a missing package must fail, not skip)


def _sc(name, hr):
    return {"name": name, "n": 40, "arms": {"A": {"ratio": 1}, "B": {"ratio": 1}},
            "events": {"death": {"model": "exponential", "median": 8,
                                 "arms": {"B": {"median": 8 / hr}}}},
            "censoring": {"loss_rate": 0.03}}


def test_dask_local_and_address_equal_inprocess():
    scs = [_sc("a", 0.5), _sc("b", 0.8)]
    kw = dict(reps=60, seed=5, chunk=16)
    ref = power_sweep(scs, [20, 40], scheduler="none", **kw)
    local = power_sweep(scs, [20, 40], scheduler="local", **kw)
    assert local.attrs["executor"] == "dask LocalCluster"
    pd.testing.assert_frame_equal(local, ref)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        remote = power_sweep(scs, [20, 40], scheduler=cluster.scheduler_address, **kw)
    assert remote.attrs["executor"].startswith("dask scheduler tcp://")
    pd.testing.assert_frame_equal(remote, ref)


def _children():
    # worker processes of this test process; multiprocessing's resource tracker is a
    # per-interpreter helper started on first use and kept for the interpreter's life
    # (not a worker), so it is not counted
    import psutil
    out = []
    for p in psutil.Process().children(recursive=True):
        try:
            if p.is_running() and "resource_tracker" not in " ".join(p.cmdline()):
                out.append(p)
        except psutil.NoSuchProcess:
            pass
    return out


def test_local_cluster_shut_down_and_chunks_split():
    # a LocalCluster run leaves no worker process behind, and the per-pair blocks
    # (split for load balance) give the in-process numbers
    import time
    scs = [_sc("a", 0.6)]
    before = {p.pid for p in _children()}
    ref = power_sweep(scs, [30], reps=40, seed=9, chunk=40, scheduler="none")
    local = power_sweep(scs, [30], reps=40, seed=9, chunk=40, scheduler="local")
    pd.testing.assert_frame_equal(local, ref)
    deadline = time.time() + 10
    while time.time() < deadline and {p.pid for p in _children()} - before:
        time.sleep(0.2)
    assert not ({p.pid for p in _children()} - before)


def test_local_cluster_shut_down_after_an_error(monkeypatch):
    # an exception while the cluster runs (here: raised by the progress bar in this
    # process after the first finished block) still shuts the workers down
    import time
    from aplcohort.batch import sweep as sw

    class Boom(RuntimeError):
        pass

    def fail(self, k=1):
        raise Boom("interrupted")

    before = {p.pid for p in _children()}
    monkeypatch.setattr(sw.Progress, "update", fail)
    with pytest.raises(Boom, match="interrupted"):
        power_sweep([_sc("a", 0.6)], [30], reps=40, seed=1, scheduler="local")
    deadline = time.time() + 10
    while time.time() < deadline and {p.pid for p in _children()} - before:
        time.sleep(0.2)
    assert not ({p.pid for p in _children()} - before)


def test_auto_runs_short_sweeps_in_process_with_the_same_numbers(monkeypatch):
    from aplcohort.batch import sweep as sw
    monkeypatch.setattr(sw, "_load", lambda: 0.0)      # an idle machine: the estimate decides
    scs = [_sc("a", 0.5), _sc("b", 0.8)]
    ref = power_sweep(scs, [20, 40], reps=60, seed=5, chunk=16, scheduler="none")
    auto = power_sweep(scs, [20, 40], reps=60, seed=5, chunk=16, scheduler="auto")
    assert auto.attrs["executor"] == "in-process"
    assert auto.attrs["executor_reason"].startswith("auto: estimated")
    pd.testing.assert_frame_equal(auto, ref)


def test_cluster_chunk_rule_and_repeated_n_rejected():
    from aplcohort.batch.sweep import cluster_chunk
    from aplcohort.errors import InputError
    assert cluster_chunk(1, 1000, 2000, 2) == 125          # >= 4 x workers blocks
    assert cluster_chunk(20, 1000, 2000, 2) == 1000        # enough (scenario, n) pairs
    assert cluster_chunk(1, 1000, 100, 2) == 100           # chunk stays the memory bound
    assert cluster_chunk(1, 3, 2000, 2) == 1
    with pytest.raises(InputError, match="repeated"):
        power_sweep([_sc("a", 0.6)], [30, 30], reps=10, scheduler="none")


def test_auto_uses_a_local_cluster_for_long_sweeps_on_an_idle_machine(monkeypatch):
    # the estimate is over the threshold (set to 0 here): a local cluster, same numbers,
    # and the probe block run in-process is part of the result
    from aplcohort.batch import sweep as sw
    monkeypatch.setattr(sw, "_load", lambda: 0.0)
    monkeypatch.setattr(sw, "AUTO_MIN_SECONDS", 0.0)
    monkeypatch.setattr(sw.os, "cpu_count", lambda: 2)
    scs = [_sc("a", 0.5)]
    ref = power_sweep(scs, [20, 40], reps=60, seed=5, chunk=16, scheduler="none")
    auto = power_sweep(scs, [20, 40], reps=60, seed=5, chunk=16, scheduler="auto")
    assert auto.attrs["executor"] == "dask LocalCluster"
    assert auto.attrs["executor_reason"].startswith("auto: estimated")
    pd.testing.assert_frame_equal(auto, ref)


def test_auto_stays_in_process_when_no_core_is_idle(monkeypatch):
    from aplcohort.batch import sweep as sw
    monkeypatch.setattr(sw, "_load", lambda: 2.5)
    monkeypatch.setattr(sw.os, "cpu_count", lambda: 2)
    monkeypatch.setattr(sw, "AUTO_MIN_SECONDS", 0.0)
    scs = [_sc("a", 0.5)]
    ref = power_sweep(scs, [20], reps=30, seed=5, scheduler="none")
    auto = power_sweep(scs, [20], reps=30, seed=5, scheduler="auto")
    assert auto.attrs["executor"] == "in-process"
    assert auto.attrs["executor_reason"] == ("auto: no idle core (load average 2.5 on 2 cores); "
                                             "a local cluster would not run faster")
    pd.testing.assert_frame_equal(auto, ref)
