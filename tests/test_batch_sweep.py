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
