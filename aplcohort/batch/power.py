"""Power and sample size by simulation from a scenario file.

For each sample size ``n`` the scenario engine
(:func:`aplcohort.synthetic.engine.simulate`) draws ``reps`` replicate
cohorts and :func:`~aplcohort.batch.batch_logrank` tests the arms of every
replicate at once; power is the share of replicates with ``p < alpha``, with
Monte Carlo standard error ``sqrt(power (1 - power) / reps)`` and the exact
(Clopper-Pearson) 95 % interval of a binomial proportion (R ``binom.test``).
Where no or every replicate is significant (power 0 or 1) the binomial SE is 0:
``mc_se`` is then reported as not estimable (NaN) with the reason in ``note``,
and the exact interval (e.g. [0, 0.168] for 0 of 20) says how large the power
may be. At least 2 replicates per sample size are required, and each sample size
is given once.

Random streams: replicate ``r`` of every sample size uses the scenario
engine's stream ``SeedSequence(seed, spawn_key=(r,))``: results do not depend
on the chunk size or on how many workers ran the chunks (the counts of
rejections are integers, summed exactly), and the same stream across sample
sizes (common random numbers) gives a smooth curve.

Replicates whose test is undefined (fewer than two arms with expected events)
count as "not rejected" and are reported in ``n_undefined``.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .._checks import check_int
from .._results import Result
from ..errors import InputError
from .logrank import batch_logrank

__all__ = ["power_curve", "PowerResult", "power_chunk", "parse_n_grid", "Progress",
           "load_any_scenario", "exact_interval", "check_ns"]

_COLS = ["n", "reps", "power", "mc_se", "lower", "upper", "n_undefined", "mean_events",
         "note"]

#: confidence level of the exact interval of the Monte Carlo power
MC_CONF = 0.95


def load_any_scenario(scenario):
    """A validated Scenario from a Scenario, dict, YAML path or bundled name."""
    from ..synthetic.scenario import Scenario, load_scenario, parse_scenario
    if isinstance(scenario, Scenario):
        return scenario
    if isinstance(scenario, dict):
        return parse_scenario(scenario)
    return load_scenario(scenario)


def _endpoint_arrays(sim, endpoint):
    """(time, event 0/1) of the chosen endpoint from a Simulation."""
    if endpoint in (None, "any"):
        return sim.time, (sim.event > 0).astype(float)
    if endpoint == "os":
        if sim.os_time is None:
            raise InputError("endpoint 'os': the scenario has no fatal cause or death_after "
                             "model, so overall survival is not simulated; use 'any' or a "
                             f"cause name ({', '.join(sim.causes.values())})")
        return sim.os_time, sim.os_event.astype(float)
    codes = {name: code for code, name in sim.causes.items()}
    if endpoint not in codes:
        raise InputError(f"unknown endpoint {endpoint!r}: use 'any', 'os' or a cause name "
                         f"({', '.join(codes)})")
    return sim.time, (sim.event == codes[endpoint]).astype(float)


def power_chunk(scenario, n, first_rep, reps, seed, alpha, endpoint="any"):
    """Simulate replicates ``first_rep .. first_rep + reps - 1`` and count rejections.

    Returns a dict of integer / float sums ``{"rejected", "undefined", "events", "reps"}``
    (the unit of work of :func:`power_curve` and of Dask sweeps).
    """
    from ..synthetic.engine import simulate
    sc = load_any_scenario(scenario)
    sim = simulate(sc, n=int(n), reps=int(reps), seed=int(seed), first_rep=int(first_rep))
    t, e = _endpoint_arrays(sim, endpoint)
    r = batch_logrank(t, e, sim.arm, k=len(sc.arms))
    rej = int(np.sum((r.p < alpha) & ~r.undefined))
    return {"rejected": rej, "undefined": int(r.n_undefined), "events": float(e.sum()),
            "reps": int(reps)}


#: Most sample sizes a ``--n`` grid may give (checked before the range is expanded).
MAX_N_SIZES = 1000


def parse_n_grid(text) -> list[int]:
    """``"40:400:20"`` -> 40, 60, ..., 400 (stop included); ``"40,80,120"`` -> a list;
    at most :data:`MAX_N_SIZES` sizes, each >= 2.

    Examples
    --------
    >>> from aplcohort.batch.power import parse_n_grid
    >>> parse_n_grid("40:100:20"), parse_n_grid("50,90")
    ([40, 60, 80, 100], [50, 90])
    """
    s = str(text).strip()
    try:
        if ":" in s:
            parts = [int(x) for x in s.split(":")]
            if len(parts) == 2:
                parts.append(1)
            if len(parts) != 3:
                raise ValueError
            lo, hi, step = parts
            if step <= 0 or hi < lo:
                raise ValueError
            count = (hi - lo) // step + 1
            out = None if lo < 2 or count > MAX_N_SIZES else list(range(lo, hi + 1, step))
        else:
            out = [int(x) for x in s.split(",") if x.strip()]
    except ValueError:
        raise InputError(f"--n must be START:STOP:STEP (e.g. 40:400:20) or a comma list "
                         f"(e.g. 40,80,120) of positive integers; got {text!r}") from None
    if out is None:  # a range checked before it is expanded
        if lo < 2:
            raise InputError(f"sample sizes must be integers >= 2; the range --n {s} starts "
                             f"at {lo}")
        raise InputError(f"--n {s} gives {count:,} sample sizes, more than the "
                         f"{MAX_N_SIZES:,} one run may have; use a larger step")
    if not out or min(out) < 2:
        raise InputError(f"sample sizes must be integers >= 2; got {text!r}")
    if len(out) > MAX_N_SIZES:
        raise InputError(f"--n gives {len(out):,} sample sizes, more than the "
                         f"{MAX_N_SIZES:,} one run may have")
    _no_repeats(out, f"--n {s}")
    return out


def _no_repeats(ns, where):
    seen, dup = set(), []
    for n in ns:
        if n in seen and n not in dup:
            dup.append(n)
        seen.add(n)
    if dup:
        raise InputError(f"{where}: sample size{'s' if len(dup) > 1 else ''} "
                         f"{', '.join(map(str, dup))} repeated; give each n once")


def check_ns(ns) -> list[int]:
    """Sample sizes as a list of distinct Python ints >= 2 (a grid string is parsed with
    :func:`parse_n_grid`); ``40.5`` or a repeated n is an error, not truncated or run twice."""
    if isinstance(ns, str):
        return parse_n_grid(ns)
    if np.ndim(ns) == 0:
        ns = [ns]
    out = [check_int("sample size n", x, minimum=2) for x in ns]
    if not out:
        raise InputError("no sample sizes given: give at least one n >= 2")
    _no_repeats(out, "the sample sizes")
    return out


class Progress:
    """A progress bar: ``tqdm.auto`` (a widget in Jupyter, text on a terminal), or a plain
    text bar on stderr if tqdm cannot be imported."""

    def __init__(self, total, label="", enabled=True, stream=None):
        self.total = max(1, int(total))
        self.done = 0
        self.enabled = enabled
        self.stream = stream or sys.stderr
        self.label = label
        self._tqdm = None
        if enabled:
            try:  # tqdm is a dependency; the plain bar is a fallback for a broken install
                from tqdm.auto import tqdm
                self._tqdm = tqdm(total=self.total, desc=label, file=self.stream)
            except ImportError:
                self._draw()

    def _draw(self):
        tty = getattr(self.stream, "isatty", lambda: False)()
        if not tty and self.done < self.total:
            return          # logs / pipes: only the final bar, no carriage-return noise
        width = 30
        frac = self.done / self.total
        bar = "#" * int(round(width * frac)) + "." * (width - int(round(width * frac)))
        self.stream.write(f"\r{self.label} [{bar}] {100 * frac:5.1f}% ({self.done}/{self.total})")
        self.stream.flush()

    def update(self, k=1, note=""):
        self.done += k
        if not self.enabled:
            return
        if self._tqdm is not None:
            self._tqdm.update(k)
        else:
            self._draw()

    def close(self):
        if not self.enabled:
            return
        if self._tqdm is not None:
            self._tqdm.close()
        else:
            self.stream.write("\n")
            self.stream.flush()


@dataclass(frozen=True, eq=False)
class PowerResult(Result):
    """Simulated power curve (frozen).

    ``table``: ``[n, reps, power, mc_se, lower, upper, n_undefined, mean_events, note]``;
    ``lower``/``upper``: exact (Clopper-Pearson) 95 % interval of the power, as R
    ``binom.test``; ``mc_se`` is NaN where power is 0 or 1 (binomial SE 0), ``note`` says so.
    """

    kind = "power"

    table: pd.DataFrame
    scenario: str
    alpha: float
    seed: int
    endpoint: str
    arms: tuple
    target: float | None = None

    @property
    def title(self) -> str:
        return f"Simulated power: scenario {self.scenario}"

    @property
    def choices(self) -> dict:
        return {"test": "log-rank between arms (R survdiff)", "alpha": self.alpha,
                "endpoint": self.endpoint, "arms": list(self.arms), "seed": self.seed,
                "streams": "replicate r: SeedSequence(seed, spawn_key=(r,))",
                "Monte Carlo SE": "sqrt(power (1 - power) / reps); not estimable at "
                                  "power 0 or 1",
                "interval": "exact (Clopper-Pearson) 95 %, as R binom.test"}

    @property
    def tables(self) -> dict:
        return {"power": self.table}

    def sample_size(self, target=0.8):
        """Smallest n of the grid whose power is >= ``target`` (None if none).

        Also returns the n linearly interpolated between the grid points around
        the target: ``(n_grid, n_interpolated)``.
        """
        t = self.table
        hit = np.flatnonzero(t["power"].to_numpy() >= target)
        if hit.size == 0:
            return None, None
        i = int(hit[0])
        n_grid = int(t["n"].iloc[i])
        if i == 0:
            return n_grid, float(n_grid)
        p0, p1 = t["power"].iloc[i - 1], t["power"].iloc[i]
        n0, n1 = t["n"].iloc[i - 1], t["n"].iloc[i]
        n_int = float(n0 + (target - p0) * (n1 - n0) / (p1 - p0)) if p1 > p0 else float(n1)
        return n_grid, n_int

    def plot(self, ax=None):
        """Power curve with the exact 95 % interval as bars; returns the matplotlib Axes."""
        import matplotlib.pyplot as plt
        if ax is None:
            _, ax = plt.subplots(figsize=(6, 4))
        t = self.table
        yerr = np.vstack([t["power"] - t["lower"], t["upper"] - t["power"]])
        ax.errorbar(t["n"], t["power"], yerr=yerr, marker="o", ms=3, capsize=2,
                    lw=1.2, color="#1f4e79")
        ax.axhline(self.alpha, color="grey", lw=0.8, ls=":")
        if self.target is not None:
            ax.axhline(self.target, color="#b03a2e", lw=0.8, ls="--")
        ax.set_xlabel("total sample size n")
        ax.set_ylabel("power")
        ax.set_ylim(0, 1)
        ax.set_title(f"{self.scenario}: log-rank, alpha = {self.alpha:g}")
        ax.grid(alpha=0.3)
        return ax

    def write(self, out_dir) -> dict:
        """Write ``power.csv`` and ``power.png`` into ``out_dir``; returns the paths."""
        import matplotlib
        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt
        d = Path(out_dir)
        d.mkdir(parents=True, exist_ok=True)
        csv = d / "power.csv"
        # full precision (shortest round-trip repr); text cells escaped against spreadsheet
        # formulas as in the plan's tables
        from ..tables.export import write_csv_frame
        write_csv_frame(self.table, csv)
        fig, ax = plt.subplots(figsize=(6, 4))
        self.plot(ax)
        png = d / "power.png"
        fig.tight_layout()
        fig.savefig(png, dpi=150)
        plt.close(fig)
        return {"csv": csv, "png": png}


def exact_interval(k, reps, conf=MC_CONF):
    """Clopper-Pearson interval of ``k`` successes in ``reps`` trials (R ``binom.test``).

    Examples
    --------
    >>> lo, hi = exact_interval(0, 20)
    >>> lo, round(hi, 4)
    (0.0, 0.1684)
    """
    from scipy.stats import beta
    a = (1 - conf) / 2
    lo = 0.0 if k == 0 else float(beta.ppf(a, k, reps - k + 1))
    hi = 1.0 if k == reps else float(beta.ppf(1 - a, k + 1, reps - k))
    return lo, hi


def table_from_counts(ns, counts):
    """Power table from per-n summed counts (``{"rejected", "undefined", "events", "reps"}``):
    power, binomial MC SE (NaN with a note at power 0 or 1, or with fewer than 2
    replicates), exact 95 % interval."""
    rows = []
    for n, c in zip(ns, counts):
        reps, k = int(c["reps"]), int(c["rejected"])
        pw = k / reps
        lo, hi = exact_interval(k, reps)
        if reps < 2:
            se, note = math.nan, f"MC SE not estimable ({reps} replicate)"
        elif k in (0, reps):
            se = math.nan
            note = (f"MC SE not estimable: {k} of {reps} replicates significant, and the "
                    f"binomial SE sqrt(p (1 - p) / reps) is 0 at power {k // reps}; the exact "
                    f"95 % interval [{lo:.3g}, {hi:.3g}] bounds the power")
        else:
            se, note = math.sqrt(pw * (1 - pw) / reps), ""
        rows.append((int(n), reps, pw, se, lo, hi, c["undefined"], c["events"] / reps, note))
    return pd.DataFrame(rows, columns=_COLS)


def _check(alpha, reps, seed, chunk, target=None):
    if not 0 < float(alpha) < 1:
        raise InputError(f"alpha must be in (0, 1); got {alpha!r}")
    if target is not None:
        num = isinstance(target, (int, float, np.number)) and not isinstance(target, bool)
        if not (num and 0 < float(target) < 1):
            hint = (f" (a proportion: for {float(target):g}% give {float(target) / 100:g})"
                    if num and 1 < float(target) < 100 else "")
            raise InputError(f"target power must be a proportion in (0, 1); got {target!r}{hint}")
    ok = isinstance(reps, (int, np.integer)) and not isinstance(reps, (bool, np.bool_))
    if not ok or reps < 2:
        raise InputError(f"reps must be an integer >= 2 (one replicate gives a power of 0 or 1 "
                         f"with no Monte Carlo SE); got {reps!r}")
    if isinstance(chunk, bool) or not isinstance(chunk, (int, np.integer)) or chunk < 1:
        raise InputError(f"chunk must be a positive integer; got {chunk!r}")
    from .._checks import check_seed
    check_seed(seed)


def power_curve(scenario, ns, *, reps=1_000, alpha=0.05, seed=0, endpoint="any", chunk=2_000,
                target=None, progress=False) -> PowerResult:
    """Simulated power of the log-rank test between the scenario's arms, by sample size.

    Parameters
    ----------
    scenario : Scenario, dict, path or bundled scenario name
    ns : sequence of int or str
        Distinct total sample sizes (arm sizes from the scenario's ratios), or a grid
        string ``"40:400:20"``.
    reps : int
        Replicates per sample size, at least 2.
    alpha : float
        Two-sided significance level.
    seed : int
        Root seed (replicate r uses ``SeedSequence(seed, spawn_key=(r,))``).
    endpoint : str
        ``"any"`` (first event of any cause, the engine's ``time``/``event``),
        ``"os"`` (overall survival) or a cause name (that cause; others censor).
    chunk : int
        Replicates simulated and tested per batch (memory; results do not depend on it).
    target : float, optional
        Target power, a proportion in (0, 1) (0.8, not 80), drawn on the figure
        and used by ``sample_size()``.
    progress : bool
        Draw a progress bar on stderr.

    Returns
    -------
    PowerResult

    Notes
    -----
    Validated against: the two-arm exponential case against Schoenfeld's
    formula and against a loop of :func:`aplcohort.stats.logrank.logrank_test`
    over the same simulated cohorts (tests/test_batch_power.py).

    Examples
    --------
    >>> from aplcohort.batch.power import power_curve
    >>> sc = {"name": "toy", "n": 40, "arms": {"A": {"ratio": 1}, "B": {"ratio": 1}},
    ...       "events": {"death": {"model": "exponential", "median": 6,
    ...                            "arms": {"B": {"median": 12}}}}}
    >>> r = power_curve(sc, [40, 80], reps=200, seed=1)
    >>> r.table["n"].tolist()
    [40, 80]
    """
    sc = load_any_scenario(scenario)
    if len(sc.arms) < 2:
        raise InputError(f"scenario {sc.name!r} has one arm; power of a between-arm test needs "
                         f"at least two arms")
    ns = check_ns(ns)
    _check(alpha, reps, seed, chunk, target)
    bar = Progress(len(ns) * math.ceil(reps / chunk), label=f"power {sc.name}",
                   enabled=bool(progress))
    counts = []
    try:
        for n in ns:
            tot = {"rejected": 0, "undefined": 0, "events": 0.0, "reps": 0}
            for s in range(0, reps, chunk):
                c = power_chunk(sc, n, s, min(chunk, reps - s), seed, alpha, endpoint)
                for key in tot:
                    tot[key] += c[key]
                bar.update(1)
            counts.append(tot)
    finally:
        bar.close()
    return PowerResult(table=table_from_counts(ns, counts), scenario=sc.name, alpha=float(alpha),
                       seed=int(seed), endpoint=str(endpoint), arms=tuple(sc.arms),
                       target=target)
