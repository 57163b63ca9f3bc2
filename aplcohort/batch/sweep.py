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
* ``scheduler="auto"`` (default): a local cluster is started only when
  ``distributed`` is installed, the machine has at least 2 cores of which at
  least one is idle (1-minute load average <= cores - 1: on a busy machine the
  workers would share the busy cores) and a small probe block, run in-process
  and extrapolated, estimates the sweep at more than :data:`AUTO_MIN_SECONDS`
  in-process (starting worker processes costs a few seconds, which a short
  sweep never wins back); else the sweep runs in-process.
  ``df.attrs["executor_reason"]`` says why.

When to pass a scheduler address: when a cluster is already running (several
machines, or a long-lived local scheduler reused by many sweeps, so no start-up
cost), or for sweeps of minutes or more. On one small machine (2 cores) the gain
of a local cluster is at most the number of cores.

Chunks: on a cluster each (scenario, n) is split into blocks so that there are
at least ``4 x workers`` tasks (load balance); ``chunk`` stays the upper bound
(memory). The numbers never depend on the blocks.

The local cluster and its client are context managers: worker processes are
shut down when the sweep ends, also on an error or interrupt.

Dask is an optional extra (``pip install aplcohort[dask]``).
"""

from __future__ import annotations

import math
import os
import re
import time

import pandas as pd

from ..errors import InputError
from .power import (Progress, _check, check_ns, load_any_scenario, power_chunk,
                    table_from_counts)

__all__ = ["power_sweep", "sweep_tasks", "cluster_chunk", "AUTO_MIN_SECONDS"]

#: ``scheduler="auto"`` starts a local cluster only for sweeps estimated to take
#: longer than this in-process (seconds).
AUTO_MIN_SECONDS = 10.0
_PROBE_REPS = 50


def sweep_tasks(n_scenarios, ns, reps, chunk):
    """Work units ``(scenario_index, n, first_rep, size)`` of a sweep, in a fixed order."""
    out = []
    for i in range(n_scenarios):
        for n in ns:
            for s in range(0, reps, chunk):
                out.append((i, int(n), s, min(chunk, reps - s)))
    return out


def cluster_chunk(n_pairs, reps, chunk, workers):
    """Replicates per task on a cluster: at most ``chunk``, small enough for at least
    ``4 * workers`` tasks over the ``n_pairs`` (scenario, n) pairs.

    Examples
    --------
    >>> cluster_chunk(1, 1000, 2000, 2)      # one pair: 8 blocks of 125
    125
    >>> cluster_chunk(20, 1000, 2000, 2)     # enough pairs already
    1000
    """
    per_pair = max(1, math.ceil(4 * workers / max(1, n_pairs)))
    return max(1, min(int(chunk), reps, math.ceil(reps / per_pair)))


_ADDRESS = re.compile(r"(?:[a-z][a-z0-9+.-]*://)?(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):[0-9]{1,5}")


def check_scheduler(scheduler) -> None:
    """``scheduler`` is ``None``, ``"auto"``, ``"local"``, ``"none"`` or an address
    ``[protocol://]host:port``; anything else is a user error (checked before any work).

    Examples
    --------
    >>> check_scheduler("tcp://127.0.0.1:8786")
    >>> check_scheduler("bogus")
    Traceback (most recent call last):
    ...
    aplcohort.errors.InputError: scheduler must be auto, local, none or a scheduler address host:port (e.g. tcp://127.0.0.1:8786); got 'bogus'
    """
    if scheduler is None or scheduler in ("auto", "local", "none"):
        return
    ok = isinstance(scheduler, str) and _ADDRESS.fullmatch(scheduler) is not None
    if ok:
        port = int(scheduler.rsplit(":", 1)[1])
        ok = 0 < port < 65536
    if not ok:
        shown = (repr(scheduler[:60] + ("..." if len(scheduler) > 60 else ""))
                 if isinstance(scheduler, str) else type(scheduler).__name__)
        raise InputError("scheduler must be auto, local, none or a scheduler address host:port "
                         f"(e.g. tcp://127.0.0.1:8786); got {shown}")


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

    def run(client):
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

    if address is not None:
        try:
            client = Client(address)
        except (OSError, ValueError) as exc:  # nobody listening, a refused protocol...
            raise InputError(f"cannot connect to the Dask scheduler at {address} ({exc}); "
                             "start it first, or use --scheduler local or none") from None
        with client:
            return run(client)
    # context managers: the worker processes are shut down on return, error or interrupt
    with LocalCluster(n_workers=_local_workers(len(tasks)), threads_per_worker=1,
                      processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        return run(client)


def _load():
    """1-minute load average (0 where the platform has none)."""
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return 0.0


def _local_workers(n_tasks):
    return max(1, min(os.cpu_count() or 1, n_tasks))


def power_sweep(scenarios, ns, *, reps=1_000, alpha=0.05, seed=0, endpoint="any", chunk=2_000,
                scheduler="auto", progress=False) -> pd.DataFrame:
    """Log-rank power for every scenario x sample size.

    Parameters
    ----------
    scenarios : sequence
        Scenarios (objects, dicts, YAML paths or bundled names).
    ns : sequence of int or str
        Distinct total sample sizes (or a grid string ``"40:200:40"``).
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
    mean_events, note]`` (as :class:`~aplcohort.batch.power.PowerResult`: exact 95 %
    interval, ``mc_se`` NaN with a note at power 0 or 1); ``df.attrs["executor"]``
    records where it ran.

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
    ns = check_ns(ns)
    _check(alpha, reps, seed, chunk)
    pairs = len(scs) * len(ns)
    reason = f"scheduler={scheduler!r}"
    done_tasks, done = [], []
    check_scheduler(scheduler)
    if scheduler in (None, "auto"):
        scheduler, reason, done_tasks, done = _auto(scs, ns, reps, seed, alpha, endpoint)
    elif scheduler != "none" and not _have_distributed():
        raise InputError(f"scheduler {scheduler!r} needs Dask: pip install 'aplcohort[dask]' "
                         f"(or use scheduler='none' to run in-process)")
    if scheduler == "none":
        ch = chunk
    else:                               # an existing scheduler: assume 4 workers
        ch = cluster_chunk(pairs, reps, chunk, _local_workers(10 ** 9)
                           if scheduler == "local" else 4)
    tasks = sweep_tasks(len(scs), ns, reps, ch)
    if done_tasks:                      # the auto probe: replicates 0 .. m-1 of one pair
        i0, n0, _, m = done_tasks[0]
        rest = [(i0, n0, s + m, size) for (_i, _n, s, size) in sweep_tasks(1, [n0], reps - m, ch)]
        tasks = [t for t in tasks if (t[0], t[1]) != (i0, n0)] + rest
    bar = Progress(len(tasks) + len(done_tasks), label="sweep", enabled=bool(progress))
    if done_tasks:
        bar.update(len(done_tasks))
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
    tasks, res = done_tasks + tasks, done + res
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
    df.attrs["executor_reason"] = reason
    return df


def _auto(scs, ns, reps, seed, alpha, endpoint):
    """``scheduler="auto"``: ``(scheduler, reason, probe_tasks, probe_results)``.

    A probe of the first replicates of the first scenario at the LARGEST n (the
    most expensive cell) is run in-process and kept as part of the result; the
    sweep is extrapolated from it with a cost per replicate proportional to n.
    """
    if not _have_distributed():
        return "none", "auto: dask.distributed not installed", [], []
    cores = os.cpu_count() or 1
    if cores < 2:
        return "none", "auto: one CPU core", [], []
    free = cores - _load()
    if free < 1:
        # the other cores are busy: worker processes would only share this one, after paying
        # for their start-up (measured: 11-14 s at load 6 on 2 cores, benchmarks/bench_sweep.py)
        return ("none", f"auto: no idle core (load average {cores - free:.1f} on {cores} cores); "
                f"a local cluster would not run faster", [], [])
    n0 = max(ns)
    m = min(_PROBE_REPS, reps)
    t0 = time.perf_counter()
    r0 = power_chunk(scs[0], n0, 0, m, seed, alpha, endpoint)
    # cost per replicate taken as proportional to n (measured at the largest n)
    est = (time.perf_counter() - t0) / m * reps * len(scs) * sum(ns) / n0
    probe = ([(0, n0, 0, m)], [r0])
    if est < AUTO_MIN_SECONDS:
        return ("none", f"auto: estimated {est:.1f} s in-process < {AUTO_MIN_SECONDS:g} s "
                f"(a local cluster would not pay for its start-up)", *probe)
    return ("local", f"auto: estimated {est:.1f} s in-process >= {AUTO_MIN_SECONDS:g} s, "
            f"{cores} cores", *probe)

