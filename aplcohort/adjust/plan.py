"""Handler-style functions that run an analysis with an ``adjust:`` block.

Each handler takes the analysis DataFrame (already filtered by the plan), the
analysis' own settings, the ``adjust`` mapping and optionally ``labels`` (a
:class:`~aplcohort.tables.labels.Labels` or a plan-style mapping: the notes then name
covariates and groups by their labels, as a plan's tables do), and returns an
:class:`AdjustedAnalysis`: the propensity model, the weights or matches, the
balance table (to be shown *before* the results), the unadjusted result and
the adjusted one side by side, and every note (small samples, rows left out).

``adjust`` keys (all validated; an unknown key is an error with a suggestion):

=============  ==========================================================
``method``     ``iptw`` (weights, default) or ``matching`` (1:k nearest)
``covariates`` list of confounders (required)
``categorical`` numeric covariates to treat as categorical
``estimand``   ``ATE`` / ``ATT`` / ``ATO`` / ``ATM`` (iptw; default ATE)
``focal``      focal group for ATT
``stabilize``  bool (ATE only)
``trim``       propensity-score bound, e.g. 0.05
``truncate``   weight quantile, e.g. 0.99
``ratio``, ``caliper``, ``replace``, ``m_order``, ``exact``, ``seed``  (matching)
=============  ==========================================================
"""

from __future__ import annotations

import difflib
import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field

import pandas as pd

from .._results import Result
from ..errors import InputError
from .balance import BalanceResult, balance, weighted_table1
from .matching import match_nearest
from .ps import propensity_score
from .weights import psweights

__all__ = ["ADJUST_KEYS", "AdjustedAnalysis", "prepare_adjustment", "adjusted_km",
           "adjusted_cif", "adjusted_cox", "adjusted_logrank", "adjusted_table1",
           "adjusted_finegray", "imbalance_note", "relabel_groups"]

_COMMON = {"method", "covariates", "categorical"}
_IPTW = {"estimand", "focal", "stabilize", "trim", "truncate"}
_MATCH = {"ratio", "caliper", "replace", "m_order", "exact", "seed"}
ADJUST_KEYS = tuple(sorted(_COMMON | _IPTW | _MATCH))


@dataclass(frozen=True)
class AdjustedAnalysis(Result):
    """An analysis run unadjusted and adjusted (frozen)."""

    kind = "adjusted_analysis"

    analysis: str
    settings: dict
    ps: object
    adjustment: object
    balance: BalanceResult
    unadjusted: object
    adjusted: object
    notes: tuple = field(default=())

    @property
    def title(self):
        return f"{self.analysis}: unadjusted and adjusted ({self.balance.adjustment})"

    @property
    def choices(self):
        return dict(self.settings)

    def figures(self, palette=None, level_labels=None, labels=None) -> dict:
        """``{"love plot": Figure, "propensity-score overlap": Figure}`` for the report
        (to be shown before the adjusted results).

        ``palette`` (:class:`aplcohort.plots.Palette`) gives each group level the colour it
        has in every other figure of the run (default: a palette of this analysis's levels
        in order); ``level_labels`` maps levels to display names and ``labels`` covariate
        names to display labels (a plan passes its label resolver's)."""
        from ..plots.balance import love_plot, ps_histogram
        return {"love plot": love_plot(self.balance, palette=palette,
                                       level_labels=level_labels, labels=labels),
                "propensity-score overlap": ps_histogram(self.ps, palette=palette,
                                                         labels=level_labels)}

    @property
    def tables(self):
        out = {"balance": self.balance.table}
        for name, res in (("unadjusted", self.unadjusted), ("adjusted", self.adjusted)):
            if isinstance(res, pd.DataFrame):
                out[name] = res
            elif res is not None:
                for k, v in getattr(res, "tables", {}).items():
                    out[f"{name}: {k}"] = v
        if self.notes:
            out["notes"] = pd.DataFrame({"note": list(self.notes)})
        return out


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and v == v \
        and abs(v) != float("inf")


def _check_settings(adjust, name="adjust"):
    """Validate an ``adjust`` mapping (a plan's ``propensity:`` block); raise
    :class:`InputError` with one readable message for the first problem.

    Types are strict: ``stabilize`` / ``replace`` are true or false (a quoted ``'no'`` is
    a string, and ``bool('no')`` is True), numbers are numbers (``trim: '0.05'`` is
    text), ``ratio`` a whole number. Ranges and allowed words are those of
    :func:`~aplcohort.adjust.psweights` and :func:`~aplcohort.adjust.match_nearest`,
    checked here so that a plan fails before anything runs. Columns and levels are
    checked against the data by the plan (they need the data). Returns the method."""
    from .matching import _ORDERS
    from .weights import ESTIMANDS
    if not isinstance(adjust, dict):
        raise InputError(f"{name} must be a mapping such as {{method: iptw, covariates: [age]}}; "
                         f"got {type(adjust).__name__}")
    for k in adjust:
        if k not in ADJUST_KEYS:
            close = difflib.get_close_matches(str(k), ADJUST_KEYS, n=1)
            raise InputError(f"{name}: unknown key {k!r}"
                             + (f"; did you mean {close[0]!r}?" if close else "")
                             + f" Accepted: {list(ADJUST_KEYS)}")
    method = adjust.get("method", "iptw")
    if method not in ("iptw", "matching"):
        raise InputError(f"{name}.method must be 'iptw' or 'matching'; got {method!r}")
    wrong = set(adjust) & (_MATCH if method == "iptw" else _IPTW)
    if wrong:
        raise InputError(f"{name}: key(s) {sorted(wrong)} do not apply to method {method!r}")
    cov = adjust.get("covariates")
    if not cov or not isinstance(cov, (list, tuple)) or \
            not all(isinstance(c, str) and c for c in cov):
        raise InputError(f"{name}.covariates must be a non-empty list of column names; got "
                         f"{cov!r}")
    if len(set(cov)) < len(cov):
        raise InputError(f"{name}.covariates names a column twice: {list(cov)}")
    cat = adjust.get("categorical")
    if cat is not None:
        if isinstance(cat, dict):
            names = list(cat)
        elif isinstance(cat, (list, tuple)) and all(isinstance(c, str) for c in cat):
            names = list(cat)
        else:
            raise InputError(f"{name}.categorical must be a list of covariates or a mapping "
                             f"{{covariate: reference level}}; got {cat!r}")
        extra = [c for c in names if c not in cov]
        if extra:
            raise InputError(f"{name}.categorical names {extra}, which are not among "
                             f"{name}.covariates {list(cov)}")

    def boolean(key):
        v = adjust.get(key)
        if v is not None and not isinstance(v, bool):
            raise InputError(f"{name}.{key} must be true or false (unquoted); got {v!r}")

    def number(key, ok, what):
        v = adjust.get(key)
        if v is not None and not (_is_number(v) and ok(v)):
            raise InputError(f"{name}.{key} must be {what}; got {v!r}")

    if method == "iptw":
        est = adjust.get("estimand", "ATE")
        if est not in ESTIMANDS:
            close = difflib.get_close_matches(str(est).upper(), ESTIMANDS, n=1)
            raise InputError(f"{name}.estimand must be one of {list(ESTIMANDS)}; got {est!r}"
                             + (f"; did you mean {close[0]!r}?" if close else ""))
        if "focal" in adjust and est != "ATT":
            raise InputError(f"{name}.focal is only used with estimand ATT (got {est})")
        focal = adjust.get("focal")
        if focal is not None and not isinstance(focal, (str, int, float)):
            raise InputError(f"{name}.focal must be one group (a level of the treatment); "
                             f"got {focal!r}")
        boolean("stabilize")
        if adjust.get("stabilize") and est != "ATE":
            raise InputError(f"{name}.stabilize applies to ATE weights only; {est} weights are "
                             "already normalised to the target population")
        number("trim", lambda v: 0 < v < 0.5, "a propensity-score bound in (0, 0.5), e.g. 0.05")
        number("truncate", lambda v: 0.5 < v < 1,
               "a weight quantile in (0.5, 1), e.g. 0.99")
    else:
        r = adjust.get("ratio")
        if r is not None and not (isinstance(r, int) and not isinstance(r, bool) and r >= 1):
            raise InputError(f"{name}.ratio must be a whole number of controls per treated "
                             f"patient (1, 2, ...); got {r!r}")
        number("caliper", lambda v: v > 0, "a positive number of SDs of the logit score, "
                                           "e.g. 0.2")
        boolean("replace")
        order = adjust.get("m_order", "largest")
        if order not in _ORDERS:
            close = difflib.get_close_matches(str(order), _ORDERS, n=1)
            raise InputError(f"{name}.m_order must be one of {list(_ORDERS)}; got {order!r}"
                             + (f"; did you mean {close[0]!r}?" if close else ""))
        seed = adjust.get("seed")
        if seed is not None:
            from .._checks import check_seed
            check_seed(seed, f"{name}.seed")
        if seed is not None and order != "random":
            raise InputError(f"{name}.seed only applies to m_order: random (the visiting "
                             f"order of treated patients); with m_order {order!r} it would "
                             "change nothing: remove it")
        if order == "random" and seed is None:
            raise InputError(f"{name}: m_order: random needs seed: (results must be "
                             "reproducible)")
        ex = adjust.get("exact")
        if ex is not None and not (isinstance(ex, (list, tuple)) and ex
                                   and all(isinstance(c, str) and c for c in ex)):
            raise InputError(f"{name}.exact must be a non-empty list of column names; got "
                             f"{ex!r}")
    return method


def propensity_columns(adjust) -> dict:
    """``{key: [columns]}`` a ``propensity:``/``adjust`` block names (checked against the
    data; ``categorical`` names covariates, so it is covered)."""
    return {k: [c for c in v if isinstance(c, str)] for k, v in (
        ("covariates", list(adjust.get("covariates") or [])),
        ("exact", list(adjust.get("exact") or []))) if v}


def _labels(labels):
    """``labels`` (a :class:`~aplcohort.tables.labels.Labels`, a mapping as a plan's
    ``labels:``, or None) as Labels or None."""
    if labels is None:
        return None
    from ..tables.labels import Labels, resolve_labels
    if isinstance(labels, Labels):
        return labels
    if isinstance(labels, Mapping):
        return resolve_labels(labels=labels)
    raise InputError("labels must be a Labels (aplcohort.tables.labels.resolve_labels) or a "
                     "mapping such as a plan's labels: {column: label}; got "
                     f"{type(labels).__name__}")


def relabel_groups(text: str, column, levels, labels) -> str:
    """``text`` (a message of the propensity-score functions) with the levels of ``column``
    it names replaced by their labels: a text level as it is quoted (``group 'IC'`` ->
    ``group 'Chemo reinduction'``), a numeric one where a message names a group (``group
    0:``, ``(0)``). Unchanged without ``labels`` or for levels without a label.

    >>> from aplcohort.tables.labels import resolve_labels
    >>> lab = resolve_labels(labels={"tx": {"levels": {"IC": "Chemo"}}})
    >>> relabel_groups("group 'IC': effective sample size 8.1", "tx", ["ATO", "IC"], lab)
    "group 'Chemo': effective sample size 8.1"
    """
    lab = _labels(labels)
    if lab is None:
        return str(text)
    out = {}
    for g in levels:
        name = lab.level(column, g)
        if name == str(g):
            continue
        if isinstance(g, str):
            out[repr(g)] = repr(name)
        else:
            out[str(g)] = name
    if not out:
        return str(text)
    quoted = [k for k in out if k[:1] in "'\""]
    plain = [k for k in out if k not in quoted]
    alts = [re.escape(k) for k in sorted(quoted, key=len, reverse=True)]
    alts += [rf"(?<=group ){re.escape(k)}(?![\w.])|(?<=\(){re.escape(k)}(?=\))" for k in plain]
    return re.sub("|".join(alts), lambda m: out[m.group(0)], str(text))


def imbalance_note(bal: BalanceResult, column=None, labels=None) -> str | None:
    """The note of covariates still imbalanced after adjustment (|SMD| >= 0.1), or None;
    with ``labels``, covariates, their levels and the groups of ``column`` by their labels.
    """
    imb = bal.imbalanced()
    if not len(imb):
        return None
    lab = _labels(labels)
    if lab is None:
        return "still imbalanced after adjustment (|SMD| >= 0.1): " + ", ".join(
            f"{r.covariate}{'=' + r.level if r.level else ''} ({r.comparison}: {r.smd:+.2f})"
            for r in imb.itertuples())
    comp = {f"{a} vs {b}": f"{lab.level(column, a)} vs {lab.level(column, b)}"
            for a in bal.groups for b in bal.groups if a != b}
    return "still imbalanced after adjustment (|SMD| >= 0.1): " + ", ".join(
        f"{lab.column(r.covariate, unit=False)}"
        f"{' = ' + lab.level(r.covariate, r.level) if r.level else ''} "
        f"({comp.get(r.comparison, r.comparison)}: {r.smd:+.2f})" for r in imb.itertuples())


def prepare_adjustment(data: pd.DataFrame, group: str, adjust: dict, labels=None):
    """Fit the propensity score and build weights or matches.

    ``labels`` (a :class:`~aplcohort.tables.labels.Labels` or a mapping as a plan's
    ``labels:``; optional): the notes name covariates and groups by their labels.

    Returns ``(ps, adjustment, balance, notes)``.
    """
    lab = _labels(labels)
    method = _check_settings(adjust)
    cov = list(adjust["covariates"])
    cat = adjust.get("categorical")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ps = propensity_score(data, group, cov, categorical=cat)
        if method == "iptw":
            adj = psweights(ps, adjust.get("estimand", "ATE"), focal=adjust.get("focal"),
                            stabilize=adjust.get("stabilize", False) is True,
                            trim=adjust.get("trim"), truncate=adjust.get("truncate"))
        else:
            adj = match_nearest(ps, ratio=adjust.get("ratio", 1), caliper=adjust.get("caliper"),
                                replace=adjust.get("replace", False) is True,
                                m_order=adjust.get("m_order", "largest"),
                                exact=adjust.get("exact"), data=data, seed=adjust.get("seed"))
        bal = balance(data, group, cov, adj, categorical=cat)
    notes = [relabel_groups(str(w.message), group, ps.groups, lab) for w in caught]
    left = ps.excluded
    if len(left):
        notes.append(no_score_note(len(left)))
    imb = imbalance_note(bal, group, lab)
    if imb:
        notes.append(imb)
    return ps, adj, bal, notes


def no_score_note(n: int) -> str:
    """The note of patients left out of the adjusted result for a missing covariate (the
    plan layer gives the same patients by id instead, so it drops this one)."""
    return (f"{n} patient(s) without a propensity score (missing covariates) are in the "
            "unadjusted result only")


def _settings(adjust, **kw):
    return {**{f"adjust.{k}": v for k, v in adjust.items()}, **kw}


def adjusted_km(data, *, time, event, group, adjust, conf_type="log", conf_level=0.95,
                labels=None):
    """KM unadjusted (Greenwood) and weighted (IJ robust), with balance."""
    from ..stats.km import kaplan_meier
    from .curves import weighted_km
    ps, adj, bal, notes = prepare_adjustment(data, group, adjust, labels)
    un = kaplan_meier(data[time].to_numpy(float), data[event].to_numpy(), data[group].to_numpy(),
                      conf_type=conf_type, conf_level=conf_level)
    ad = weighted_km(data, time, event, group, adj, conf_type=conf_type, conf_level=conf_level)
    return AdjustedAnalysis("km", _settings(adjust), ps, adj, bal, un, ad, tuple(notes))


def adjusted_cif(data, *, time, code, group, adjust, conf_type="log", conf_level=0.95,
                 labels=None):
    """CIF unadjusted (``stats.cumulative_incidence``) and weighted (IJ robust CI)."""
    from ..stats.competing import cumulative_incidence
    from .curves import weighted_cif
    ps, adj, bal, notes = prepare_adjustment(data, group, adjust, labels)
    un = cumulative_incidence(data[time].to_numpy(float), data[code].to_numpy(),
                              data[group].to_numpy(), conf_type=conf_type,
                              conf_level=conf_level)
    ad = weighted_cif(data, time, code, group, adj, conf_type=conf_type, conf_level=conf_level)
    notes.append("unadjusted CIF with the cumulative_incidence variance; adjusted CIF with the "
                 "infinitesimal-jackknife (robust) variance, weights treated as known")
    return AdjustedAnalysis("cif", _settings(adjust), ps, adj, bal, un, ad, tuple(notes))


def adjusted_cox(data, *, time, event, group, adjust, conf_level=0.95, evalue_rare=False,
                 reference=None, labels=None):
    """Cox HR for the treatment unadjusted (``stats.coxph``, model SE) and weighted
    (robust SE), with E-values of the adjusted HRs. ``reference``: the treatment's
    reference group in both models (default: the first level in sorted order; a plan
    passes its ``categorical:`` reference, as its own model uses)."""
    from .._checks import check_bool
    from ..stats.cox import coxph
    from ._common import levels_of
    from .effects import weighted_cox
    from .evalue import evalue_hr
    evalue_rare = check_bool("evalue_rare", evalue_rare)
    ps, adj, bal, notes = prepare_adjustment(data, group, adjust, labels)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ref = levels_of(data[group])[0] if reference is None else reference
        un = coxph(data, time=time, event=event, covariates=[group],
                   categorical={group: ref}, conf_level=conf_level)
        ad = weighted_cox(data, time, event, group, adj, conf_level=conf_level, reference=ref)
    notes += [str(w.message) for w in caught]
    ev = [evalue_hr(r.estimate, r.lower, r.upper, rare=evalue_rare).assign(
        term=r.term, level=r.level) for r in ad.terms.itertuples() if r.estimable]
    if ev:
        lab = _labels(labels)
        notes.append("E-values: " + "; ".join(
            f"{e['level'].iloc[0] if lab is None else lab.level(group, e['level'].iloc[0])}: "
            f"{e['evalue_estimate'].iloc[0]:.2f} (CI limit "
            f"{e['evalue_ci'].iloc[0]:.2f})" for e in ev))
    return AdjustedAnalysis("cox", _settings(adjust, evalue_rare=evalue_rare), ps, adj, bal,
                            un, ad, tuple(notes))


def adjusted_logrank(data, *, time, event, group, adjust, labels=None):
    """Log-rank test unadjusted and the weighted robust score test (see effects)."""
    from ..stats.logrank import logrank_test
    from .effects import weighted_logrank
    ps, adj, bal, notes = prepare_adjustment(data, group, adjust, labels)
    un = logrank_test(data[time].to_numpy(float), data[event].to_numpy(), data[group].to_numpy())
    ad = weighted_logrank(data, time, event, group, adj)
    return AdjustedAnalysis("logrank", _settings(adjust), ps, adj, bal, un, ad, tuple(notes))


def adjusted_table1(data, *, group, variables, adjust, categorical=None, labels=None):
    """Table 1 with unweighted and weighted columns (long DataFrame, see weighted_table1)."""
    ps, adj, bal, notes = prepare_adjustment(data, group, adjust, labels)
    t = weighted_table1(data, group, variables, adj, categorical=categorical)
    return AdjustedAnalysis("table1", _settings(adjust), ps, adj, bal, None, t, tuple(notes))


def adjusted_finegray(data, *, time, code, group, adjust, cause=1, conf_level=0.95,
                      reference=None, labels=None):
    """Fine–Gray SHR unadjusted (unit weights) and weighted (R finegray + weighted coxph);
    ``reference`` as in :func:`adjusted_cox`."""
    from .finegray import weighted_finegray
    ps, adj, bal, notes = prepare_adjustment(data, group, adjust, labels)
    ones = pd.Series(1.0, index=data.index)
    # Breslow ties, as cmprsk::crr: the unadjusted SHR then equals the plan's own Fine–Gray
    # model (crr); with Efron ties (coxph's default) it differed when event times are tied
    un = weighted_finegray(data, time, code, group, ones, cause=cause, conf_level=conf_level,
                           reference=reference, ties="breslow")
    ad = weighted_finegray(data, time, code, group, adj, cause=cause, conf_level=conf_level,
                           reference=reference, ties="breslow")
    notes.append("Fine–Gray via R's finegray() expansion: censoring distribution estimated "
                 "without the weights, which are then multiplied into the Fine–Gray weights; "
                 "the unadjusted fit uses the same code with unit weights (Breslow ties as "
                 "cmprsk::crr, so its SHR equals the Fine–Gray model's; robust SE of the "
                 "weighted Cox fit, which treats the censoring weights as known, so its CI "
                 "and p can differ slightly from crr's)")
    return AdjustedAnalysis("finegray", _settings(adjust, cause=cause), ps, adj, bal, un, ad,
                            tuple(notes))
