"""Declarative synthetic-cohort scenarios (YAML) and their validation.

A scenario describes how one cohort is generated; :func:`aplcohort.synthetic.engine.simulate`
draws any number of replicate cohorts from it. Schema (every key is checked;
unknown keys are reported with a did-you-mean suggestion)::

    name: admiral                     # required
    description: free text
    time_unit: months                 # days | weeks | months | years (default months)
    n: 371                            # total size (optional when every arm has a size)
    arms:                             # required; all `size` or all `ratio`
      gilteritinib: {ratio: 2}
      chemotherapy: {ratio: 1}
    accrual:                          # optional; uniform entry over the period
      start: 2015-10-01               # calendar dates ...
      end: 2017-12-31
      # duration: 26                  # ... or a duration in time units
    covariates:                       # optional
      age:  {dist: normal, mean: 60, sd: 12}
      wbc:  {dist: lognormal, meanlog: 1.5, sdlog: 1.0}     # or median: instead of meanlog
      sex:  {dist: categorical, levels: [M, F], probs: [0.55, 0.45]}
      itd:  {dist: bernoulli, p: 0.88}
    events:                           # required; causes in order get codes 1, 2, ...
      death:
        model: exponential            # exponential | weibull | piecewise_exponential | none
        median: 5.6                   # exponential: rate or median
        cure_fraction: 0.0            # optional, in [0, 1)
        effects: {age: 0.02, sex: {F: -0.1}}   # optional log-hazard ratios
        arms:                         # optional per-arm overrides of the keys above
          gilteritinib: {median: 9.3}
      # weibull: shape + (scale or median); piecewise_exponential: breaks [0, ...] + rates
      relapse:                        # a non-fatal cause may be followed by death
        model: exponential
        rate: 0.1
        death_after: {model: exponential, rate: 0.3}   # time from relapse to death (per-arm `arms:` allowed)
      # `fatal: true` marks a cause that is a death; with fatal causes or
      # death_after models the engine also returns overall survival (os_time, os_event).
    competing: latent                 # causes combine as independent latent times
    treatment:                        # optional: given during follow-up if still event-free
      name: hsct
      arms: [gilteritinib]            # default: every arm
      probability: 0.6                # P(planned); given only if event-free and uncensored
      delay: {dist: lognormal, median: 3, sdlog: 0.5}  # exponential(mean|rate) | uniform(low, high) | fixed(value)
      effects: {death: -0.3}          # true log-HR after treatment, per cause (default 0)
    censoring:                        # optional
      loss_rate: 0.01                 # exponential loss to follow-up (per time unit)
      cutoff: 2021-06-30              # administrative cut-off date (needs accrual dates)
      # followup: 60                  # or: cut-off this long after accrual start
      max_followup: 120               # optional per-patient cap from entry

Competing risks: independent latent event times per cause (each drawn from its
own cause-specific hazard, the earliest wins). This is the same joint law of
(time, cause) as simulating from the cause-specific hazards directly, so
``competing: cause_specific`` is accepted as a synonym.

Examples
--------
>>> from aplcohort.synthetic.scenario import parse_scenario
>>> sc = parse_scenario({"name": "toy", "n": 10, "arms": {"A": {"ratio": 1}},
...                      "events": {"death": {"model": "exponential", "rate": 0.1}}})
>>> sc.arm_sizes(10)
(10,)
"""

from __future__ import annotations

import datetime as _dt
import difflib
import math
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import yaml

from .. import _yaml

from ..errors import ScenarioError

DAYS_PER_UNIT = {"days": 1.0, "weeks": 7.0, "months": 365.25 / 12.0, "years": 365.25}

_TOP_KEYS = {"name", "description", "time_unit", "n", "arms", "accrual", "covariates", "events",
             "competing", "treatment", "censoring", "source", "derivation", "targets"}
_ARM_KEYS = {"size", "ratio", "label"}
_ACCRUAL_KEYS = {"start", "end", "duration"}
_COV_KEYS = {
    "normal": {"dist", "mean", "sd"},
    "lognormal": {"dist", "meanlog", "median", "sdlog"},
    "categorical": {"dist", "levels", "probs"},
    "bernoulli": {"dist", "p"},
}
_MODEL_KEYS = {
    "exponential": {"rate", "median"},
    "weibull": {"shape", "scale", "median"},
    "piecewise_exponential": {"breaks", "rates"},
    "none": set(),
}
_EVENT_KEYS = ({"model", "cure_fraction", "effects", "arms", "label", "fatal", "death_after"}
               | set().union(*_MODEL_KEYS.values()))
_TREAT_KEYS = {"name", "arms", "probability", "delay", "effects"}
_DELAY_KEYS = {
    "exponential": {"dist", "mean", "rate"},
    "lognormal": {"dist", "median", "sdlog"},
    "uniform": {"dist", "low", "high"},
    "fixed": {"dist", "value"},
}
_CENS_KEYS = {"loss_rate", "cutoff", "followup", "max_followup"}


@dataclass(frozen=True)
class EventModel:
    """One arm's event-time model for one cause (parameters in the scenario's time unit)."""

    model: str
    rate: float = math.nan
    shape: float = math.nan
    scale: float = math.nan
    breaks: tuple = ()
    rates: tuple = ()
    cure_fraction: float = 0.0


@dataclass(frozen=True)
class Cause:
    name: str
    code: int
    models: dict  # arm name -> EventModel
    effects: dict  # covariate -> float | {level: float}
    fatal: bool = False  # the cause is a death (ends overall survival)
    death_after: dict | None = None  # arm -> EventModel of time from this event to death


@dataclass(frozen=True)
class Covariate:
    name: str
    dist: str
    params: dict


@dataclass(frozen=True)
class Treatment:
    name: str
    arms: tuple
    probability: float
    delay: dict
    effects: dict  # cause name -> log HR


@dataclass(frozen=True)
class Scenario:
    """A validated scenario (build with :func:`parse_scenario` or :func:`load_scenario`)."""

    name: str
    description: str
    time_unit: str
    n: int | None
    arms: tuple
    sizes: tuple | None
    ratios: tuple
    accrual_start: str | None
    accrual_duration: float
    covariates: tuple
    causes: tuple
    treatment: Treatment | None
    loss_rate: float
    admin_time: float | None
    max_followup: float | None
    raw: dict = field(default_factory=dict, compare=False, repr=False)

    def default_n(self) -> int:
        if self.n is not None:
            return self.n
        return int(sum(self.sizes))

    def arm_sizes(self, n: int | None = None) -> tuple:
        """Exact arm sizes for a cohort of ``n`` (largest-remainder rounding of the ratios)."""
        n = self.default_n() if n is None else int(n)
        if self.sizes is not None and n == sum(self.sizes):
            return tuple(self.sizes)
        tot = float(sum(self.ratios))
        raw = [n * r / tot for r in self.ratios]
        base = [int(math.floor(x)) for x in raw]
        rem = n - sum(base)
        order = sorted(range(len(raw)), key=lambda i: (-(raw[i] - base[i]), i))
        for i in order[:rem]:
            base[i] += 1
        return tuple(base)

    @property
    def days_per_unit(self) -> float:
        return DAYS_PER_UNIT[self.time_unit]


# --------------------------------------------------------------------------- validation

class _Problems:
    def __init__(self):
        self.items: list[str] = []

    def add(self, path, msg):
        self.items.append(f"{path}: {msg}")

    def keys(self, path, d, allowed):
        if not isinstance(d, dict):
            self.add(path, f"must be a mapping, got {type(d).__name__}")
            return False
        for k in d:
            if k not in allowed:
                close = difflib.get_close_matches(str(k), sorted(allowed), n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                self.add(f"{path}.{k}" if path else str(k),
                         f"unknown key{hint}; allowed: {', '.join(sorted(allowed))}")
        return True

    def number(self, path, v, *, positive=False, nonneg=False, lo=None, hi=None, integer=False, hi_open=False):
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            self.add(path, f"must be a number, got {v!r}")
            return None
        v = float(v)
        if not math.isfinite(v):
            self.add(path, f"must be finite, got {v!r}")
            return None
        if integer and v != int(v):
            self.add(path, f"must be a whole number, got {v!r}")
        if positive and not v > 0:
            self.add(path, f"must be > 0, got {v!r}")
        if nonneg and v < 0:
            self.add(path, f"must be >= 0, got {v!r}")
        if lo is not None and v < lo:
            self.add(path, f"must be >= {lo}, got {v!r}")
        if hi is not None and (v >= hi if hi_open else v > hi):
            self.add(path, f"must be {'<' if hi_open else '<='} {hi}, got {v!r}")
        return v


def _date(p, path, v):
    if isinstance(v, _dt.datetime):
        return v.date()
    if isinstance(v, _dt.date):
        return v
    try:
        return _dt.date.fromisoformat(str(v))
    except ValueError:
        p.add(path, f"must be an ISO date YYYY-MM-DD, got {v!r}")
        return None


def _event_model(p, path, spec, cure_default=0.0):
    model = spec.get("model")
    if model not in _MODEL_KEYS:
        close = difflib.get_close_matches(str(model), list(_MODEL_KEYS), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        p.add(f"{path}.model", f"unknown model {model!r}{hint}; use one of {', '.join(_MODEL_KEYS)}")
        return None
    own = _MODEL_KEYS[model]
    for k in set().union(*_MODEL_KEYS.values()) - own:
        if k in spec:
            p.add(f"{path}.{k}", f"not a parameter of model {model!r} (its parameters: "
                                 f"{', '.join(sorted(own)) or 'none'})")
    cure = spec.get("cure_fraction", cure_default)
    cure = p.number(f"{path}.cure_fraction", cure, lo=0.0, hi=1.0, hi_open=True)
    cure = 0.0 if cure is None else cure
    if model == "none":
        return EventModel("none", cure_fraction=0.0)
    if model == "exponential":
        if ("rate" in spec) == ("median" in spec):
            p.add(path, "exponential needs exactly one of 'rate' or 'median'")
            return None
        if "rate" in spec:
            r = p.number(f"{path}.rate", spec["rate"], nonneg=True)
        else:
            m = p.number(f"{path}.median", spec["median"], positive=True)
            r = None if m is None else math.log(2.0) / m
        return None if r is None else EventModel("exponential", rate=r, cure_fraction=cure)
    if model == "weibull":
        k = p.number(f"{path}.shape", spec.get("shape"), positive=True) if "shape" in spec else None
        if "shape" not in spec:
            p.add(path, "weibull needs 'shape'")
        if ("scale" in spec) == ("median" in spec):
            p.add(path, "weibull needs exactly one of 'scale' or 'median'")
            return None
        if "scale" in spec:
            s = p.number(f"{path}.scale", spec["scale"], positive=True)
        else:
            m = p.number(f"{path}.median", spec["median"], positive=True)
            s = None if (m is None or k is None) else m / math.log(2.0) ** (1.0 / k)
        if k is None or s is None:
            return None
        return EventModel("weibull", shape=k, scale=s, cure_fraction=cure)
    # piecewise exponential
    br, rt = spec.get("breaks"), spec.get("rates")
    ok = True
    if not isinstance(br, list) or not br:
        p.add(f"{path}.breaks", "must be a non-empty list starting at 0")
        ok = False
    if not isinstance(rt, list) or not rt:
        p.add(f"{path}.rates", "must be a non-empty list of hazard rates")
        ok = False
    if not ok:
        return None
    brv = [p.number(f"{path}.breaks[{i}]", b, nonneg=True) for i, b in enumerate(br)]
    rtv = [p.number(f"{path}.rates[{i}]", r, nonneg=True) for i, r in enumerate(rt)]
    if None in brv or None in rtv:
        return None
    if len(brv) != len(rtv):
        p.add(path, f"breaks ({len(brv)}) and rates ({len(rtv)}) must have the same length")
        return None
    if brv[0] != 0:
        p.add(f"{path}.breaks", "must start at 0")
    if any(b2 <= b1 for b1, b2 in zip(brv, brv[1:])):
        p.add(f"{path}.breaks", "must be strictly increasing")
    return EventModel("piecewise_exponential", breaks=tuple(brv), rates=tuple(rtv), cure_fraction=cure)


def _arm_models(p, ep, spec, arms):
    """Per-arm event models: the base keys of ``spec`` merged with ``spec['arms'][arm]``."""
    base = {k: v for k, v in spec.items() if k not in ("arms", "effects", "label", "fatal", "death_after")}
    overrides = spec.get("arms") or {}
    if overrides:
        p.keys(f"{ep}.arms", overrides, set(arms))
    models = {}
    for a in arms:
        ov = overrides.get(a) if isinstance(overrides, dict) else None
        sub = _EVENT_KEYS - {"arms", "effects", "label", "fatal", "death_after"}
        if ov is not None and not p.keys(f"{ep}.arms.{a}", ov, sub):
            continue
        if ov and "model" in ov:
            merged = dict(ov)
            if "cure_fraction" not in merged and "cure_fraction" in base:
                merged["cure_fraction"] = base["cure_fraction"]
        else:
            merged = dict(base)
            if ov:
                # an override of one parameter replaces its alternatives
                for alt in (("rate", "median"), ("scale", "median")):
                    if any(k in ov for k in alt):
                        for k in alt:
                            merged.pop(k, None)
                merged.update(ov)
        if "model" not in merged:
            p.add(f"{ep}" if not ov else f"{ep}.arms.{a}", "no 'model' given")
            continue
        em = _event_model(p, f"{ep}.arms.{a}" if ov else ep, merged)
        if em is not None:
            models[a] = em
    return models


def parse_scenario(data: dict, *, where: str = "scenario") -> Scenario:
    """Validate a scenario mapping and return a :class:`Scenario`.

    Every problem is collected; :class:`aplcohort.errors.ScenarioError` lists them
    all (``.problems``), each as ``path: what is wrong``.

    Examples
    --------
    >>> sc = parse_scenario({"name": "x", "arms": {"A": {"size": 5}},
    ...                      "events": {"death": {"model": "exponential", "median": 12}}})
    >>> round(sc.causes[0].models["A"].rate, 6)
    0.057762

    Validated against: hand-written invalid scenarios in tests/test_synthetic_scenario.py.
    """
    p = _Problems()
    if not isinstance(data, dict):
        raise ScenarioError(f"{where}: a scenario must be a mapping (YAML dictionary)",
                            [f"top level: got {type(data).__name__}"])
    p.keys("", data, _TOP_KEYS)
    name = data.get("name")
    if not isinstance(name, str) or not name:
        p.add("name", "required: a non-empty string")
    unit = data.get("time_unit", "months")
    if unit not in DAYS_PER_UNIT:
        p.add("time_unit", f"must be one of {', '.join(DAYS_PER_UNIT)}, got {unit!r}")
        unit = "months"
    dpu = DAYS_PER_UNIT[unit]
    n = data.get("n")
    if n is not None:
        n = p.number("n", n, positive=True, integer=True)
        n = None if n is None else int(n)

    # arms
    arms_d = data.get("arms")
    arms, sizes, ratios = (), None, ()
    if arms_d is None:
        p.add("arms", "required: a mapping arm name -> {size: N} or {ratio: r}")
    elif p.keys("arms", arms_d, set(arms_d) if isinstance(arms_d, dict) else set()) and arms_d:
        arms = tuple(str(a) for a in arms_d)
        kinds = set()
        sz, rt = [], []
        for a, spec in arms_d.items():
            ap = f"arms.{a}"
            if spec is None:
                spec = {"ratio": 1}
            if not p.keys(ap, spec, _ARM_KEYS):
                continue
            if "size" in spec:
                kinds.add("size")
                v = p.number(f"{ap}.size", spec["size"], positive=True, integer=True)
                sz.append(0 if v is None else int(v))
            if "ratio" in spec:
                kinds.add("ratio")
                v = p.number(f"{ap}.ratio", spec["ratio"], positive=True)
                rt.append(1.0 if v is None else v)
            if "size" not in spec and "ratio" not in spec:
                p.add(ap, "needs 'size' or 'ratio'")
        if kinds == {"size", "ratio"}:
            p.add("arms", "give every arm a 'size' or every arm a 'ratio', not a mix")
        elif kinds == {"size"} and len(sz) == len(arms):
            sizes = tuple(sz)
            ratios = tuple(float(s) for s in sz)
            if n is not None and n != sum(sizes):
                p.add("arms", f"arm sizes sum to {sum(sizes)} but n = {n}; make them agree or drop n")
        elif kinds == {"ratio"} and len(rt) == len(arms):
            ratios = tuple(rt)
            if n is None:
                p.add("n", "required when arms are given as ratios")
    elif isinstance(arms_d, dict):
        p.add("arms", "at least one arm is required")

    # accrual
    acc_start, acc_dur = None, 0.0
    acc = data.get("accrual")
    if acc is not None and p.keys("accrual", acc, _ACCRUAL_KEYS):
        if "duration" in acc and ("start" in acc or "end" in acc) and "end" in acc:
            p.add("accrual", "give either start/end dates or a duration, not both")
        elif "duration" in acc:
            v = p.number("accrual.duration", acc["duration"], nonneg=True)
            acc_dur = v or 0.0
            if "start" in acc:
                d0 = _date(p, "accrual.start", acc["start"])
                acc_start = None if d0 is None else d0.isoformat()
        elif "start" in acc and "end" in acc:
            d0 = _date(p, "accrual.start", acc["start"])
            d1 = _date(p, "accrual.end", acc["end"])
            if d0 and d1:
                if d1 < d0:
                    p.add("accrual", f"end {d1} is before start {d0}")
                else:
                    acc_start = d0.isoformat()
                    acc_dur = (d1 - d0).days / dpu
        else:
            p.add("accrual", "needs start and end dates, or a duration")

    # covariates
    covs = []
    cov_d = data.get("covariates") or {}
    if p.keys("covariates", cov_d, set(cov_d) if isinstance(cov_d, dict) else set()):
        for cname, spec in cov_d.items():
            cp = f"covariates.{cname}"
            if not isinstance(spec, dict):
                p.add(cp, "must be a mapping with a 'dist' key")
                continue
            dist = spec.get("dist")
            if dist not in _COV_KEYS:
                close = difflib.get_close_matches(str(dist), list(_COV_KEYS), n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                p.add(f"{cp}.dist", f"unknown distribution {dist!r}{hint}; use one of {', '.join(_COV_KEYS)}")
                continue
            p.keys(cp, spec, _COV_KEYS[dist])
            prm = {}
            if dist == "normal":
                prm["mean"] = p.number(f"{cp}.mean", spec.get("mean"))
                prm["sd"] = p.number(f"{cp}.sd", spec.get("sd"), positive=True)
            elif dist == "lognormal":
                if ("meanlog" in spec) == ("median" in spec):
                    p.add(cp, "lognormal needs exactly one of 'meanlog' or 'median'")
                elif "meanlog" in spec:
                    prm["meanlog"] = p.number(f"{cp}.meanlog", spec["meanlog"])
                else:
                    m = p.number(f"{cp}.median", spec["median"], positive=True)
                    prm["meanlog"] = None if m is None else math.log(m)
                prm["sdlog"] = p.number(f"{cp}.sdlog", spec.get("sdlog"), positive=True)
            elif dist == "bernoulli":
                prm["p"] = p.number(f"{cp}.p", spec.get("p"), lo=0.0, hi=1.0)
            else:
                lv, pr = spec.get("levels"), spec.get("probs")
                if not isinstance(lv, list) or len(lv) < 1:
                    p.add(f"{cp}.levels", "must be a non-empty list")
                elif len(set(map(str, lv))) != len(lv):
                    p.add(f"{cp}.levels", "levels must be distinct")
                if not isinstance(pr, list) or (isinstance(lv, list) and len(pr) != len(lv)):
                    p.add(f"{cp}.probs", "must be a list of probabilities, one per level")
                else:
                    vals = [p.number(f"{cp}.probs[{i}]", x, nonneg=True) for i, x in enumerate(pr)]
                    if None not in vals and abs(sum(vals) - 1.0) > 1e-8:
                        p.add(f"{cp}.probs", f"must sum to 1 (sum = {sum(vals):.6g})")
                    prm["probs"] = tuple(vals)
                prm["levels"] = tuple(str(x) for x in lv) if isinstance(lv, list) else ()
            if None in prm.values():
                continue
            covs.append(Covariate(str(cname), dist, prm))
    cov_names = {c.name: c for c in covs}

    # events
    causes = []
    ev_d = data.get("events")
    if not ev_d:
        p.add("events", "required: at least one cause, e.g. {death: {model: exponential, median: 12}}")
    elif p.keys("events", ev_d, set(ev_d) if isinstance(ev_d, dict) else set()):
        for code, (cname, spec) in enumerate(ev_d.items(), start=1):
            ep = f"events.{cname}"
            if not p.keys(ep, spec, _EVENT_KEYS):
                continue
            models = _arm_models(p, ep, spec, arms)
            fatal = spec.get("fatal", False)
            if not isinstance(fatal, bool):
                p.add(f"{ep}.fatal", f"must be true or false, got {fatal!r}")
                fatal = False
            after = None
            if "death_after" in spec:
                if fatal:
                    p.add(f"{ep}.death_after", "a fatal cause cannot have a death_after model")
                elif p.keys(f"{ep}.death_after", spec["death_after"],
                            _EVENT_KEYS - {"effects", "label", "fatal", "death_after", "cure_fraction"}):
                    after = _arm_models(p, f"{ep}.death_after", spec["death_after"], arms)
            effects = {}
            eff = spec.get("effects") or {}
            if p.keys(f"{ep}.effects", eff, set(cov_names)):
                for cov, beta in eff.items():
                    if cov not in cov_names:
                        continue
                    c = cov_names[cov]
                    if c.dist == "categorical":
                        if not isinstance(beta, dict):
                            p.add(f"{ep}.effects.{cov}", "a categorical covariate needs {level: log-HR}")
                            continue
                        for lv, b in beta.items():
                            if str(lv) not in c.params["levels"]:
                                p.add(f"{ep}.effects.{cov}.{lv}", f"unknown level; levels: {list(c.params['levels'])}")
                            p.number(f"{ep}.effects.{cov}.{lv}", b)
                        effects[cov] = {str(k): float(v) for k, v in beta.items()
                                        if isinstance(v, (int, float)) and not isinstance(v, bool)}
                    else:
                        v = p.number(f"{ep}.effects.{cov}", beta)
                        if v is not None:
                            effects[cov] = v
            causes.append(Cause(str(cname), code, models, effects, bool(fatal), after))
    comp = data.get("competing", "latent")
    if comp not in ("latent", "cause_specific"):
        p.add("competing", f"must be 'latent' or 'cause_specific', got {comp!r}")

    # treatment
    treat = None
    tr = data.get("treatment")
    if tr is not None and p.keys("treatment", tr, _TREAT_KEYS):
        tname = tr.get("name", "treatment")
        tarms = tr.get("arms", list(arms))
        if not isinstance(tarms, list):
            p.add("treatment.arms", "must be a list of arm names")
            tarms = []
        for a in tarms:
            if a not in arms:
                close = difflib.get_close_matches(str(a), list(arms), n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                p.add("treatment.arms", f"unknown arm {a!r}{hint}")
        prob = p.number("treatment.probability", tr.get("probability", 1.0), lo=0.0, hi=1.0)
        delay = tr.get("delay")
        dspec = None
        if not isinstance(delay, dict):
            p.add("treatment.delay", "required: a distribution, e.g. {dist: lognormal, median: 3, sdlog: 0.5}")
        else:
            dist = delay.get("dist")
            if dist not in _DELAY_KEYS:
                close = difflib.get_close_matches(str(dist), list(_DELAY_KEYS), n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                p.add("treatment.delay.dist", f"unknown distribution {dist!r}{hint}; use one of {', '.join(_DELAY_KEYS)}")
            else:
                p.keys("treatment.delay", delay, _DELAY_KEYS[dist])
                dspec = {"dist": dist}
                if dist == "exponential":
                    if ("mean" in delay) == ("rate" in delay):
                        p.add("treatment.delay", "exponential needs exactly one of 'mean' or 'rate'")
                    elif "mean" in delay:
                        v = p.number("treatment.delay.mean", delay["mean"], positive=True)
                        dspec["mean"] = v
                    else:
                        v = p.number("treatment.delay.rate", delay["rate"], positive=True)
                        dspec["mean"] = None if v is None else 1.0 / v
                elif dist == "lognormal":
                    dspec["median"] = p.number("treatment.delay.median", delay.get("median"), positive=True)
                    dspec["sdlog"] = p.number("treatment.delay.sdlog", delay.get("sdlog"), positive=True)
                elif dist == "uniform":
                    lo = p.number("treatment.delay.low", delay.get("low"), nonneg=True)
                    hi = p.number("treatment.delay.high", delay.get("high"), nonneg=True)
                    if lo is not None and hi is not None and hi < lo:
                        p.add("treatment.delay", f"high ({hi}) must be >= low ({lo})")
                    dspec.update(low=lo, high=hi)
                else:
                    dspec["value"] = p.number("treatment.delay.value", delay.get("value"), nonneg=True)
        teff = tr.get("effects") or {}
        effs = {}
        if p.keys("treatment.effects", teff, {c.name for c in causes}):
            for k, v in teff.items():
                v2 = p.number(f"treatment.effects.{k}", v)
                if v2 is not None and k in {c.name for c in causes}:
                    effs[k] = v2
        if dspec is not None and None not in dspec.values() and prob is not None:
            treat = Treatment(str(tname), tuple(tarms), prob, dspec, effs)

    # censoring
    loss, admin, maxfu = 0.0, None, None
    cens = data.get("censoring")
    if cens is not None and p.keys("censoring", cens, _CENS_KEYS):
        if "loss_rate" in cens:
            loss = p.number("censoring.loss_rate", cens["loss_rate"], nonneg=True) or 0.0
        if "cutoff" in cens and "followup" in cens:
            p.add("censoring", "give either 'cutoff' (a date) or 'followup' (a time), not both")
        elif "cutoff" in cens:
            d = _date(p, "censoring.cutoff", cens["cutoff"])
            if acc_start is None:
                p.add("censoring.cutoff", "a cut-off date needs accrual start/end dates; "
                                          "use 'followup' (time after accrual start) otherwise")
            elif d is not None:
                admin = (d - _dt.date.fromisoformat(acc_start)).days / dpu
                if admin < acc_dur:
                    p.add("censoring.cutoff", f"cut-off {d} falls before the end of accrual")
        elif "followup" in cens:
            admin = p.number("censoring.followup", cens["followup"], positive=True)
            if admin is not None and admin < acc_dur:
                p.add("censoring.followup", f"follow-up ({admin}) is shorter than accrual ({acc_dur:.4g})")
        if "max_followup" in cens:
            maxfu = p.number("censoring.max_followup", cens["max_followup"], positive=True)

    if p.items:
        head = f"{where}: invalid scenario ({len(p.items)} problem{'s' if len(p.items) > 1 else ''})"
        raise ScenarioError(head + "\n" + "\n".join("  " + s for s in p.items), list(p.items))
    return Scenario(
        name=name, description=str(data.get("description", "")), time_unit=unit, n=n, arms=arms,
        sizes=sizes, ratios=ratios, accrual_start=acc_start, accrual_duration=float(acc_dur),
        covariates=tuple(covs), causes=tuple(causes), treatment=treat, loss_rate=float(loss),
        admin_time=admin, max_followup=maxfu, raw=dict(data),
    )


def bundled_scenarios() -> list[str]:
    """Names of the scenario files shipped in ``aplcohort/synthetic/scenarios``.

    Examples
    --------
    >>> "admiral" in bundled_scenarios()
    True
    """
    d = resources.files("aplcohort.synthetic.scenarios")
    return sorted(f.name[:-5] for f in d.iterdir() if f.name.endswith(".yaml"))


def load_scenario(path_or_name) -> Scenario:
    """Read and validate a scenario YAML file (a path, or a bundled scenario name).

    Examples
    --------
    >>> from aplcohort.synthetic.scenario import load_scenario
    >>> load_scenario("admiral").arms
    ('gilteritinib', 'chemotherapy')

    Validated against: every bundled scenario loads and simulates (tests/test_synthetic_scenario.py).
    """
    path = Path(str(path_or_name))
    if path.exists():
        from .._files import read_text_file
        text = read_text_file(path, "scenario file", ScenarioError)
        where = str(path)
    else:
        name = str(path_or_name)
        if name.endswith(".yaml"):
            name = name[:-5]
        names = bundled_scenarios()
        if name not in names:
            close = difflib.get_close_matches(name, names, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ScenarioError(f"scenario {path_or_name!r}: no such file and no bundled scenario of that "
                                f"name{hint}; bundled: {', '.join(names)}")
        text = resources.files("aplcohort.synthetic.scenarios").joinpath(name + ".yaml").read_text(encoding="utf-8")
        where = f"bundled scenario {name!r}"
    try:
        data = _yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{where}: not valid YAML ({exc})") from None
    return parse_scenario(data, where=where)
