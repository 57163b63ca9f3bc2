"""Vectorised simulation of scenario cohorts.

:func:`simulate` draws ``reps`` replicate cohorts of ``n`` patients at once and
returns arrays of shape ``(reps, n)``. Each replicate ``r`` has its own random
stream, the ``r``-th child of ``numpy.random.SeedSequence(seed)`` (equivalently
``SeedSequence(seed, spawn_key=(r,))``), from which one block of uniforms
``(K, n)`` is drawn; every quantity is an inverse-CDF transform of its own row
of that block. Results therefore do not depend on how replicates are chunked:
replicates 0..9 drawn in one call equal replicates 0..4 and 5..9 drawn with
``first_rep=0`` and ``first_rep=5``. The only Python loops are over
replicates (one ``rng.random`` call each), arms and causes - never patients.

Event times: for cause ``k`` with cumulative baseline hazard ``H_k`` and linear
predictor ``lp`` (covariate log-hazard ratios), the latent time solves
``exp(lp) H_k(T) = E`` with ``E ~ Exp(1)``; a cure fraction sets ``T = inf``
with its probability. A treatment planned at time ``tau`` is given only if the
patient is still event-free and uncensored at ``tau``; its true effect
multiplies the hazard by ``exp(beta_k)`` after ``tau`` (time-dependent
hazard, inverted exactly). Observed time is ``min(T_1, ..., T_K, C)`` with
``C = min(loss to follow-up, administrative cut-off - entry, max follow-up)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import special as _sp

from ..errors import ScenarioError
from .scenario import EventModel, Scenario, load_scenario, parse_scenario


@dataclass(frozen=True, eq=False)
class Simulation:
    """Replicate cohorts drawn from a scenario; every array has shape ``(reps, n)``.

    Attributes
    ----------
    time : float array
        Observed time from entry (scenario time unit).
    event : int array
        0 = censored, else the cause code (1, 2, ... in scenario order).
    arm : int array
        Index into :attr:`arms`.
    entry : float array
        Entry time from accrual start.
    treatment_time : float array
        Time from entry at which the follow-up treatment was given (NaN if not).
    covariates : dict
        name -> array (categorical covariates as integer codes into
        :attr:`levels`).
    latent : float array, shape (reps, K, n)
        Latent event times per cause (inf = cured / never), after treatment.
    os_time, os_event : arrays or None
        Overall survival (time from entry to death or censoring, 1 = died) when
        the scenario has fatal causes or ``death_after`` models; else None.
    """

    scenario: Scenario
    seed: int
    first_rep: int
    time: np.ndarray
    event: np.ndarray
    arm: np.ndarray
    entry: np.ndarray
    treatment_time: np.ndarray
    covariates: dict
    latent: np.ndarray
    os_time: np.ndarray | None = None
    os_event: np.ndarray | None = None

    @property
    def reps(self) -> int:
        return self.time.shape[0]

    @property
    def n(self) -> int:
        return self.time.shape[1]

    @property
    def arms(self) -> tuple:
        return self.scenario.arms

    @property
    def causes(self) -> dict:
        """Cause code -> name."""
        return {c.code: c.name for c in self.scenario.causes}

    @property
    def levels(self) -> dict:
        return {c.name: c.params["levels"] for c in self.scenario.covariates if c.dist == "categorical"}


# --------------------------------------------------------------------------- hazards

def cumhaz(model: EventModel, t):
    """Baseline cumulative hazard ``H(t)`` of the non-cured part (vectorised).

    Examples
    --------
    >>> from aplcohort.synthetic.scenario import EventModel
    >>> float(cumhaz(EventModel("piecewise_exponential", breaks=(0.0, 1.0), rates=(0.5, 0.2)), 3.0))
    0.9

    Validated against: hand values and inverse round trips (tests/test_synthetic_scenario.py).
    """
    t = np.asarray(t, dtype=float)
    if model.model == "none":
        return np.zeros_like(t)
    if model.model == "exponential":
        return model.rate * t
    if model.model == "weibull":
        return (np.maximum(t, 0.0) / model.scale) ** model.shape
    br = np.asarray(model.breaks)
    rt = np.asarray(model.rates)
    hb = np.concatenate([[0.0], np.cumsum(rt[:-1] * np.diff(br))])
    j = np.clip(np.searchsorted(br, t, side="right") - 1, 0, len(br) - 1)
    return hb[j] + rt[j] * (t - br[j])


def inv_cumhaz(model: EventModel, h):
    """Inverse of :func:`cumhaz` (``inf`` where the hazard never reaches ``h``).

    Examples
    --------
    >>> from aplcohort.synthetic.scenario import EventModel
    >>> float(inv_cumhaz(EventModel("exponential", rate=0.5), 1.0))
    2.0

    Validated against: round trips with :func:`cumhaz` (tests/test_synthetic_scenario.py).
    """
    h = np.asarray(h, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        if model.model == "none":
            return np.full_like(h, np.inf)
        if model.model == "exponential":
            return h / model.rate if model.rate > 0 else np.full_like(h, np.inf)
        if model.model == "weibull":
            return model.scale * h ** (1.0 / model.shape)
        br = np.asarray(model.breaks)
        rt = np.asarray(model.rates)
        hb = np.concatenate([[0.0], np.cumsum(rt[:-1] * np.diff(br))])
        j = np.clip(np.searchsorted(hb, h, side="right") - 1, 0, len(br) - 1)
        out = br[j] + (h - hb[j]) / rt[j]
        return np.where(rt[j] > 0, out, np.inf)


def survival(model: EventModel, t, lp=0.0):
    """Survival of one cause alone: ``cure + (1 - cure) exp(-exp(lp) H(t))``.

    Examples
    --------
    >>> from aplcohort.synthetic.scenario import EventModel
    >>> round(float(survival(EventModel("exponential", rate=0.1, cure_fraction=0.5), 0.0)), 6)
    1.0

    Validated against: simulated survival at n = 40,000 (tests/test_synthetic_scenario.py).
    """
    return model.cure_fraction + (1 - model.cure_fraction) * np.exp(-np.exp(lp) * cumhaz(model, t))


# --------------------------------------------------------------------------- simulate

def _norm_ppf(u):
    return _sp.ndtri(u)


def _n_rows(sc: Scenario) -> int:
    return 3 + len(sc.covariates) + 3 * len(sc.causes) + 2


def simulate(scenario, n: int | None = None, reps: int = 1, seed: int = 0, *,
             first_rep: int = 0) -> Simulation:
    """Draw ``reps`` replicate cohorts from a scenario, vectorised.

    Parameters
    ----------
    scenario : Scenario, dict, str or path
        A validated :class:`~aplcohort.synthetic.scenario.Scenario`, a mapping
        (validated here), a YAML path or a bundled scenario name.
    n : int, optional
        Patients per replicate (default: the scenario's ``n`` / arm sizes);
        arm sizes are exact (largest-remainder rounding of the ratios).
    reps : int
        Number of replicates.
    seed : int
        Root seed; replicate ``r`` uses ``SeedSequence(seed, spawn_key=(r,))``.
    first_rep : int
        Index of the first replicate (for drawing replicates in chunks).

    Returns
    -------
    Simulation

    Examples
    --------
    >>> from aplcohort.synthetic.engine import simulate
    >>> sim = simulate({"name": "toy", "n": 100, "arms": {"A": {"ratio": 1}, "B": {"ratio": 1}},
    ...                 "events": {"death": {"model": "exponential", "median": 12}}},
    ...                reps=3, seed=1)
    >>> sim.time.shape
    (3, 100)

    Validated against: closed-form survival of the scenario models at large n
    (tests/test_synthetic_engine.py) and chunk independence.
    """
    if isinstance(scenario, dict):
        sc = parse_scenario(scenario)
    elif isinstance(scenario, Scenario):
        sc = scenario
    else:
        sc = load_scenario(scenario)
    n = sc.default_n() if n is None else n
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ScenarioError(f"simulate: n must be a positive integer, got {n!r}")
    if isinstance(reps, bool) or not isinstance(reps, (int, np.integer)) or reps < 1:
        raise ScenarioError(f"simulate: reps must be a positive integer, got {reps!r}")
    from .._checks import check_seed
    check_seed(seed, "simulate: seed", error=ScenarioError)
    if first_rep < 0:
        raise ScenarioError(f"simulate: first_rep must be >= 0, got {first_rep!r}")
    n, reps = int(n), int(reps)
    K = _n_rows(sc)
    U = np.empty((K, reps, n))
    for r in range(reps):
        ss = np.random.SeedSequence(int(seed), spawn_key=(first_rep + r,))
        U[:, r, :] = np.random.Generator(np.random.PCG64(ss)).random((K, n))
    # guard the open interval (0, 1) for the inverse CDFs
    U = np.clip(U, 1e-300, 1.0 - 2.0**-53)
    row = iter(range(K))

    # arms: exact sizes, random order
    sizes = sc.arm_sizes(n)
    base = np.repeat(np.arange(len(sizes)), sizes)
    arm = base[np.argsort(U[next(row)], axis=1, kind="stable")]
    entry = U[next(row)] * sc.accrual_duration
    cens_u = U[next(row)]

    covs = {}
    lp_parts = {}
    for c in sc.covariates:
        u = U[next(row)]
        if c.dist == "normal":
            x = c.params["mean"] + c.params["sd"] * _norm_ppf(u)
        elif c.dist == "lognormal":
            x = np.exp(c.params["meanlog"] + c.params["sdlog"] * _norm_ppf(u))
        elif c.dist == "bernoulli":
            x = (u < c.params["p"]).astype(np.int64)
        else:
            cum = np.cumsum(c.params["probs"])
            cum[-1] = 1.0
            x = np.minimum(np.searchsorted(cum, u, side="right"), len(cum) - 1).astype(np.int64)
        covs[c.name] = x
        lp_parts[c.name] = x

    def linpred(cause):
        lp = np.zeros((reps, n))
        for cov, beta in cause.effects.items():
            x = lp_parts[cov]
            if isinstance(beta, dict):
                levels = next(c for c in sc.covariates if c.name == cov).params["levels"]
                b = np.array([beta.get(lv, 0.0) for lv in levels])
                lp = lp + b[x]
            else:
                lp = lp + beta * x
        return lp

    nc = len(sc.causes)
    cure_u = np.empty((nc, reps, n))
    E = np.empty((nc, reps, n))
    Ed = np.empty((nc, reps, n))
    for k in range(nc):
        cure_u[k] = U[next(row)]
        E[k] = -np.log(U[next(row)])
        Ed[k] = -np.log(U[next(row)])
    tr_u = U[next(row)]
    delay_u = U[next(row)]

    # untreated latent times
    lps = [linpred(c) for c in sc.causes]
    T0 = np.full((nc, reps, n), np.inf)
    for k, c in enumerate(sc.causes):
        for a_i, a in enumerate(sc.arms):
            m = arm == a_i
            if not m.any():
                continue
            em = c.models[a]
            t = inv_cumhaz(em, E[k][m] * np.exp(-lps[k][m]))
            t = np.where(cure_u[k][m] < em.cure_fraction, np.inf, t)
            T0[k][m] = t

    # censoring
    C = np.full((reps, n), np.inf)
    if sc.loss_rate > 0:
        C = -np.log(cens_u) / sc.loss_rate
    if sc.admin_time is not None:
        C = np.minimum(C, sc.admin_time - entry)
    if sc.max_followup is not None:
        C = np.minimum(C, sc.max_followup)

    # treatment during follow-up
    ttime = np.full((reps, n), np.nan)
    T = T0.copy()
    tr = sc.treatment
    if tr is not None:
        d = tr.delay
        if d["dist"] == "exponential":
            tau = -np.log(delay_u) * d["mean"]
        elif d["dist"] == "lognormal":
            tau = d["median"] * np.exp(d["sdlog"] * _norm_ppf(delay_u))
        elif d["dist"] == "uniform":
            tau = d["low"] + (d["high"] - d["low"]) * delay_u
        else:
            tau = np.full((reps, n), float(d["value"]))
        elig = np.isin(arm, [sc.arms.index(a) for a in tr.arms]) & (tr_u < tr.probability)
        first0 = T0.min(axis=0)
        given = elig & (tau < first0) & (tau < C)
        ttime = np.where(given, tau, np.nan)
        for k, c in enumerate(sc.causes):
            beta = tr.effects.get(c.name, 0.0)
            if beta == 0.0:
                continue
            for a_i, a in enumerate(sc.arms):
                m = given & (arm == a_i) & np.isfinite(T0[k])
                if not m.any():
                    continue
                em = c.models[a]
                e = E[k][m] * np.exp(-lps[k][m])
                h_tau = cumhaz(em, tau[m])
                T[k][m] = inv_cumhaz(em, h_tau + (e - h_tau) * np.exp(-beta))

    first = T.min(axis=0)
    cause_idx = T.argmin(axis=0)
    observed = first <= C
    time = np.where(observed, first, C)
    event = np.where(observed, cause_idx + 1, 0).astype(np.int64)
    if not np.all(np.isfinite(time)):
        bad = int((~np.isfinite(time)).sum())
        raise ScenarioError(
            f"scenario {sc.name!r}: {bad} simulated patients have neither an event nor censoring "
            "(a cure fraction or zero hazard without any censoring); add censoring "
            "(loss_rate, followup/cutoff or max_followup)")
    os_time = os_event = None
    if any(c.fatal or c.death_after for c in sc.causes):
        death = np.full((reps, n), np.inf)
        for k, c in enumerate(sc.causes):
            mk = observed & (cause_idx == k)
            if c.fatal:
                death = np.where(mk, first, death)
            elif c.death_after:
                for a_i, a in enumerate(sc.arms):
                    m = mk & (arm == a_i)
                    if m.any():
                        em = c.death_after[a]
                        d = inv_cumhaz(em, Ed[k][m])
                        death[m] = first[m] + d
        os_obs = death <= C
        os_time = np.where(os_obs, death, C)
        os_event = os_obs.astype(np.int64)
    return Simulation(scenario=sc, seed=int(seed), first_rep=int(first_rep), time=time, event=event,
                      arm=arm, entry=entry, treatment_time=ttime, covariates=covs, latent=np.moveaxis(T, 0, 1),
                      os_time=os_time, os_event=os_event)


def to_frame(sim: Simulation, rep: int = 0) -> pd.DataFrame:
    """Tidy per-patient table of replicate ``rep``.

    Columns: ``patient_id, synthetic, arm, entry, entry_date, time, event, cause,
    treatment_time, treated`` followed by the scenario's covariates (categorical
    ones as level labels). ``event`` is 0 = censored or the cause code;
    ``cause`` is the cause name or ``"censored"``; ``entry_date`` is filled when
    the scenario has calendar accrual dates.

    Examples
    --------
    >>> from aplcohort.synthetic.engine import simulate, to_frame
    >>> sim = simulate("admiral", n=30, seed=3)
    >>> list(to_frame(sim).columns[:6])
    ['patient_id', 'synthetic', 'arm', 'entry', 'entry_date', 'time']

    Validated against: the arrays of the Simulation (tests/test_synthetic_scenario.py).
    """
    if not 0 <= rep < sim.reps:
        raise ScenarioError(f"to_frame: rep must be in 0..{sim.reps - 1}, got {rep}")
    sc = sim.scenario
    n = sim.n
    width = max(3, len(str(n)))
    names = {0: "censored", **sim.causes}
    entry = sim.entry[rep]
    if sc.accrual_start is not None:
        start = np.datetime64(sc.accrual_start, "D")
        entry_date = [str(start + np.timedelta64(int(np.floor(e * sc.days_per_unit)), "D")) for e in entry]
    else:
        entry_date = [None] * n
    df = pd.DataFrame({
        "patient_id": [f"SYN-{i + 1:0{width}d}" for i in range(n)],
        "synthetic": "yes",
        "arm": np.asarray(sc.arms, dtype=object)[sim.arm[rep]],
        "entry": entry,
        "entry_date": entry_date,
        "time": sim.time[rep],
        "event": sim.event[rep],
        "cause": [names[int(e)] for e in sim.event[rep]],
        "treatment_time": sim.treatment_time[rep],
        "treated": np.isfinite(sim.treatment_time[rep]),
    })
    if sim.os_time is not None:
        df["os_time"] = sim.os_time[rep]
        df["os_event"] = sim.os_event[rep]
    for c in sc.covariates:
        x = sim.covariates[c.name][rep]
        df[c.name] = np.asarray(c.params["levels"], dtype=object)[x] if c.dist == "categorical" else x
    return df
