"""Power sweeps (scenarios x sample sizes x replicates), on Dask when available.

The unit of work is :func:`aplcohort.batch.power.power_chunk`: one scenario,
one sample size, one block of replicates ``first_rep .. first_rep + size - 1``,
returning integer counts. Replicate ``r`` always uses the stream
``SeedSequence(seed, spawn_key=(r,))``, and the counts are summed exactly, so
the sweep gives identical numbers whichever way the chunks are executed:

* ``scheduler="none"``: in-process, one chunk after another;
* ``scheduler="local"``: a ``dask.distributed.LocalCluster`` started (and
  closed) here, one single-threaded worker process per core;
* ``scheduler="tcp://host:8786"`` (any address): an existing
  ``dask.distributed`` scheduler;
* ``scheduler="auto"`` (default): ``"local"`` when ``distributed`` is
  installed, else ``"none"``.

Dask is an optional extra (``pip install aplcohort[dask]``).
"""

from __future__ import annotations

import os

import pandas as pd

from ..errors import InputError
from .power import Progress, _check, load_any_scenario, power_chunk, table_from_counts

__all__ = ["power_sweep", "sweep_tasks"]


def sweep_tasks(n_scenarios, ns, reps, chunk):
    """Work units ``(scenario_index, n, first_rep, size)`` of a sweep, in a fixed order."""
    out = []
    for i in range(n_scenarios):
        for n in ns:
            for s in range(0, reps, chunk):
                out.append((i, int(n), s, min(chunk, reps - s)))
    return out


def _have_distributed():
    try:
        import distributed  # noqa: F401
        return True
    except ImportError:
        return False


def _run_inprocess(scs, tasks, seed, alpha, endpoint, bar):
    res = []
    for (i, n, s, size) in tasks:
        res.append(power_chunk(scs[i], n, s, size, seed, alpha, endpoint))
        bar.update(1)
    return res


def _run_dask(scs, tasks, seed, alpha, endpoint, bar, address):
    from distributed import Client, LocalCluster, as_completed
    cluster = None
    if address is None:
        cluster = LocalCluster(n_workers=max(1, min(os.cpu_count() or 1, len(tasks))),
                               threads_per_worker=1, processes=True, dashboard_address=None)
        client = Client(cluster)
    else:
        client = Client(address)
    try:
        sc_futures = client.scatter(list(scs), broadcast=True)
        futs = [client.submit(power_chunk, sc_futures[i], n, s, size, seed, alpha, endpoint,
                              pure=False)
                for (i, n, s, size) in tasks]
        index = {f.key: j for j, f in enumerate(futs)}
        res = [None] * len(futs)
        for f in as_completed(futs):
            res[index[f.key]] = f.result()
            bar.update(1)
        return res
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def power_sweep(scenarios, ns, *, reps=1_000, alpha=0.05, seed=0, endpoint="any", chunk=2_000,
                scheduler="auto", progress=False) -> pd.DataFrame:
    """Log-rank power for every scenario x sample size.

    Parameters
    ----------
    scenarios : sequence
        Scenarios (objects, dicts, YAML paths or bundled names).
    ns : sequence of int
        Total sample sizes.
    reps, alpha, seed, endpoint, chunk
        As :func:`aplcohort.batch.power.power_curve` (the same seed is used for
        every scenario and n: replicate r uses stream r).
    scheduler : {"auto", "none", "local"} or str
        Where to run (see the module docstring); an address such as
        ``"tcp://127.0.0.1:8786"`` connects to an existing scheduler.
    progress : bool
        Progress bar on stderr.

    Returns
    -------
    DataFrame ``[scenario, n, reps, power, mc_se, lower, upper, n_undefined,
    mean_events]``; ``df.attrs["executor"]`` records where it ran.

    Notes
    -----
    Validated against: :func:`~aplcohort.batch.power.power_curve` (identical
    tables) in-process, on a Dask LocalCluster and on a separately started
    scheduler (tests/test_batch_sweep.py).

    Examples
    --------
    >>> from aplcohort.batch.sweep import power_sweep
    >>> sc = {"name": "toy", "n": 40, "arms": {"A": {"ratio": 1}, "B": {"ratio": 1}},
    ...       "events": {"death": {"model": "exponential", "median": 6,
    ...                            "arms": {"B": {"median": 12}}}}}
    >>> df = power_sweep([sc], [40], reps=100, seed=1, scheduler="none")
    >>> df.columns.tolist()[:4]
    ['scenario', 'n', 'reps', 'power']
    """
    scs = [load_any_scenario(s) for s in scenarios]
    if not scs:
        raise InputError("power_sweep needs at least one scenario")
    for sc in scs:
        if len(sc.arms) < 2:
            raise InputError(f"scenario {sc.name!r} has one arm; a between-arm test needs two")
    ns = [int(x) for x in ns]
    if not ns or min(ns) < 2:
        raise InputError(f"sample sizes must be integers >= 2; got {ns!r}")
    _check(alpha, reps, seed, chunk)
    tasks = sweep_tasks(len(scs), ns, reps, chunk)
    if scheduler in (None, "auto"):
        scheduler = "local" if _have_distributed() else "none"
    if scheduler != "none" and not _have_distributed():
        raise InputError(f"scheduler {scheduler!r} needs Dask: pip install 'aplcohort[dask]' "
                         f"(or use scheduler='none' to run in-process)")
    bar = Progress(len(tasks), label="sweep", enabled=bool(progress))
    try:
        if scheduler == "none":
            res = _run_inprocess(scs, tasks, seed, alpha, endpoint, bar)
            executor = "in-process"
        else:
            address = None if scheduler == "local" else str(scheduler)
            res = _run_dask(scs, tasks, seed, alpha, endpoint, bar, address)
            executor = "dask LocalCluster" if address is None else f"dask scheduler {address}"
    finally:
        bar.close()
    frames = []
    for i, sc in enumerate(scs):
        counts = []
        for n in ns:
            tot = {"rejected": 0, "undefined": 0, "events": 0.0, "reps": 0}
            for (ti, tn, _s, _z), c in zip(tasks, res):
                if ti == i and tn == n:
                    for key in tot:
                        tot[key] += c[key]
            counts.append(tot)
        t = table_from_counts(ns, counts)
        t.insert(0, "scenario", sc.name)
        frames.append(t)
    df = pd.concat(frames, ignore_index=True)
    df.attrs["executor"] = executor
    return df

