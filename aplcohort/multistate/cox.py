"""Transition-specific Cox models on multi-state rows (R multi-state ``coxph``).

R ``coxph(Surv(tstart, tstop, state) ~ x, data, id = id, istate = istate)`` fits one
stratified Cox model on stacked data: for every observed transition ``j -> k`` the
rows starting in ``j`` are copied with event ``to_state == k`` and stratum
``j -> k``; each covariate gets a separate coefficient per transition unless it is
declared common to several transitions (R ``1:2 + 1:3 ~ age / common``).  The
variance is the robust (sandwich) variance clustered by subject, which R reports
for multi-state models; the model-based SE is kept in ``se``.

We build exactly that stacked design and fit it with
:func:`aplcohort.stats.cox.cox_fit` (counting-process ``(entry, time]`` data,
strata, cluster), so the coefficients, both SEs and the log-likelihood match R.

Validated against: R survival 3.5-3 multi-state ``coxph`` on the ``mgus2``
illness–death data (age + sex per transition; a shared age effect) and ``myeloid``
(trt + sex on 12 transitions), and the Min 2022 replica, to 1e-6
(``tests/reference/multistate.R``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .._results import Result
from .._checks import check_int
from ..errors import InputError
from ..stats._design import as_columns, build_design, labels_text
from ..stats.cox import cox_fit
from ..stats.shapes import NOTE_CONSTANT, TERM_COLUMNS, term_levels, terms_frame

__all__ = ["transition_cox", "TransitionCoxResult", "TERM_COLUMNS"]

NOTE_INFINITE_MS = ("coefficient may be infinite (monotone likelihood: the events of this "
                    "transition are separated by this term, given the other terms); no Firth "
                    "correction for multi-state models: leave the covariate out or give it "
                    "one effect common to several transitions (shared)")
NOTE_NOINFO = ("no information (every risk set of the transition holds patients with the "
               "same value, e.g. a single patient)")


@dataclass(frozen=True, eq=False)
class TransitionCoxResult(Result):
    """Transition-specific Cox model (frozen).

    Attributes
    ----------
    terms : DataFrame
        The shared regression-terms shape ``[term, level, coef, se, robust_se,
        estimate, lower, upper, statistic, p, estimable, note]``; ``term`` is the
        design term followed by its transition, e.g. ``"age [CR2 -> relapse2]"``
        (a shared term lists its transitions).  ``estimate/lower/upper`` are hazard
        ratios; CI and p use the robust SE (as R).  Not estimable (NaN, ``estimable``
        False, the reason in ``note``): a column without information in its transition
        (R: NA) and a coefficient with a monotone likelihood -- also when the iterations
        run out, as they do when the transition's likelihood tends to 0 (R then prints the
        diverging value with "Ran out of iterations and did not converge").
    by_transition : DataFrame
        ``[from_state, to_state, term, coef, se, robust_se, estimate, lower, upper, p,
        estimable, note]`` (one row per transition a term applies to).
    transitions : DataFrame
        ``[from_state, to_state, n_rows, n_events]`` of every transition fitted.
    loglik : tuple
    scale, conf_level, variance : str, float, str
    """

    terms: pd.DataFrame
    by_transition: pd.DataFrame
    transitions: pd.DataFrame
    loglik: tuple
    n_subjects: int
    conf_level: float
    scale: str = "HR"
    variance: str = "robust"
    converged: bool = True
    _choices: dict = field(default_factory=dict, repr=False)

    kind = "transition_cox"

    @property
    def title(self) -> str:
        return "Transition-specific Cox model (multi-state)"

    @property
    def choices(self) -> dict:
        return dict(self._choices)

    @property
    def tables(self) -> dict:
        return {"terms": self.terms, "transitions": self.transitions}


def transition_cox(data, covariates=(), *, id="id", start="tstart", stop="tstop",
                   from_state="from_state", to_state="to_state", transitions=None,
                   shared=None, categorical=None, ties="efron", conf_level=0.95,
                   max_iter=20) -> TransitionCoxResult:
    """Transition-specific Cox regression (R multi-state ``coxph`` with ``id``).

    Parameters
    ----------
    data : DataFrame or TransitionsData
        Multi-state rows (a ``TransitionsData`` brings its ``patient_id``).
    covariates : sequence of str
        Covariates with a separate effect on every fitted transition.
    id, start, stop, from_state, to_state : str
    transitions : sequence of (from, to), optional
        Transitions to model (default: every observed transition, as R; for a
        ``TransitionsData``, except those made only of same-day placements, listed in
        ``choices["not modelled"]``).
    shared : dict, optional
        ``{covariate: [(from, to), ...]}``: one coefficient common to those
        transitions (R ``1:2 + 1:3 ~ age / common``); the covariate is then not in
        ``covariates``.
    categorical : dict, optional
        ``{column: reference level}``.
    ties : {"efron", "breslow"}
    conf_level : float

    Returns
    -------
    TransitionCoxResult

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"id": [1, 2, 3, 4, 5, 6], "tstart": 0.0,
    ...                   "tstop": [2., 3., 4., 5., 6., 7.], "from_state": "CR",
    ...                   "to_state": ["relapse", "death", "relapse", "censor", "death",
    ...                                "relapse"], "x": [1., 0., 1., 0., 1., 0.]})
    >>> r = transition_cox(d, ["x"])
    >>> r.terms["term"].tolist()
    ['x [CR -> relapse]', 'x [CR -> death]']
    """
    from .transitions import TransitionsData

    skipped = []
    if isinstance(data, TransitionsData):
        id, data = "patient_id", data.data
        if transitions is None:
            # transitions that exist only by the same-day rule have no waiting time
            ev = data[data["to_state"] != "censor"]
            per = ev.groupby(["from_state", "to_state"], sort=False)["same_day"].all()
            skipped = [t for t, all_same in per.items() if all_same]
            transitions = [t for t, all_same in per.items() if not all_same]
    if ties not in ("efron", "breslow"):
        raise InputError(f"ties must be 'efron' or 'breslow', got {ties!r}")
    if not (0 < conf_level < 1):
        raise InputError(f"conf_level must be in (0, 1), got {conf_level}")
    max_iter = check_int("max_iter", max_iter, minimum=1)
    covariates = as_columns(covariates, "covariates")
    shared = {k: [tuple(t) for t in v] for k, v in (shared or {}).items()}
    both = set(covariates) & set(shared)
    if both:
        raise InputError(f"covariates {sorted(both)} are both separate and shared; name each "
                         "once")
    allcov = covariates + [c for c in shared if c not in covariates]
    need = [id, start, stop, from_state, to_state] + allcov
    miss = [c for c in need if c not in data.columns]
    if miss:
        raise InputError(f"columns {miss} not found; available: {list(data.columns)}")
    d = data[need].reset_index(drop=True).copy()
    na = d[allcov].isna().any(axis=1) if allcov else pd.Series(False, index=d.index)
    if na.any():
        raise InputError(f"covariates have missing values in {int(na.sum())} row(s) (positions "
                         f"{labels_text(d.index[na], 10)}; ids "
                         f"{labels_text(d.loc[na, id].unique(), 10)}); impute or drop those "
                         "patients first, recording why")
    d[to_state] = d[to_state].where(d[to_state].notna(), "censor").astype(str)
    d[from_state] = d[from_state].astype(str)
    moved = (d[to_state] != "censor") & (d[to_state] != d[from_state])
    observed = list(dict.fromkeys(zip(d.loc[moved, from_state], d.loc[moved, to_state])))
    if transitions is None:
        transitions = observed
    else:
        transitions = [tuple(t) for t in transitions]
        bad = [t for t in transitions if t not in observed]
        if bad:
            raise InputError(f"transitions {bad} are not observed in the data; observed: "
                             f"{observed}")
    for c, trs in shared.items():
        bad = [t for t in trs if t not in transitions]
        if bad:
            raise InputError(f"shared {c!r}: transitions {bad} are not fitted "
                             f"({transitions})")
        if len(trs) < 2:
            raise InputError(f"shared {c!r} needs at least two transitions, got {trs}")
    if not transitions:
        raise InputError("no transitions observed: nothing to model")
    design = build_design(d, allcov, categorical) if allcov else None
    # stacked data: one block per transition
    blocks, strata, info = [], [], []
    for k, (a, b) in enumerate(transitions):
        idx = np.flatnonzero((d[from_state] == a).to_numpy())
        ev = ((d[to_state].to_numpy()[idx] == b)).astype(float)
        blocks.append(idx)
        strata.append(np.full(idx.size, k))
        info.append((a, b, idx.size, int(ev.sum()), ev))
    rows = np.concatenate(blocks)
    stratum = np.concatenate(strata)
    event = np.concatenate([x[4] for x in info])
    cols, names, meta = [], [], []  # meta: (base term, level, [transitions])
    if design is not None:
        levels = term_levels(design)
        for cov, jdx in design.assign.items():
            for j in jdx:
                base = design.X[rows, j]
                if cov in shared:
                    trs = shared[cov]
                    mask = np.isin(stratum, [transitions.index(t) for t in trs])
                    cols.append(np.where(mask, base, 0.0))
                    names.append(f"{design.names[j]} [" + ", ".join(
                        f"{a} -> {b}" for a, b in trs) + "]")
                    meta.append((design.names[j], levels[j], trs))
                else:
                    for k, t in enumerate(transitions):
                        cols.append(np.where(stratum == k, base, 0.0))
                        names.append(f"{design.names[j]} [{t[0]} -> {t[1]}]")
                        meta.append((design.names[j], levels[j], [t]))
    X = np.column_stack(cols) if cols else np.zeros((rows.size, 0))
    # a column constant within every stratum carries no information (R: NA coefficient)
    informative = np.ones(X.shape[1], bool)
    for j in range(X.shape[1]):
        informative[j] = any(np.ptp(X[stratum == k, j]) > 0 for k in range(len(transitions))
                             if (stratum == k).any())
    # Transitions coupled by a shared term are fitted together; the others one by one.
    # Same estimates as R's single stacked fit (the likelihood and the sandwich
    # variance separate into blocks), but a transition with a monotone likelihood
    # (an infinite coefficient) cannot stop the iterations of the others early.
    comp = list(range(len(transitions)))

    def root(k):
        while comp[k] != k:
            k = comp[k]
        return k

    for trs in shared.values():
        ks = [transitions.index(t) for t in trs]
        for k in ks[1:]:
            comp[root(k)] = root(ks[0])
    p = X.shape[1]
    coef = np.full(p, np.nan)
    se = np.full(p, np.nan)
    rse = np.full(p, np.nan)
    infinite = np.zeros(p, bool)
    alias = {}   # column -> why cox_fit left it out (R: NA coefficient)
    ll0 = ll1 = 0.0
    converged = True
    time_all = d[stop].to_numpy(float)[rows]
    entry_all = d[start].to_numpy(float)[rows]
    id_all = d[id].to_numpy()[rows]
    for r in sorted({root(k) for k in range(len(transitions))}):
        ks = [k for k in range(len(transitions)) if root(k) == r]
        m = np.isin(stratum, ks)
        jj = np.flatnonzero(informative & (np.abs(X[m]).sum(axis=0) > 0))
        if jj.size == 0:
            continue
        with np.errstate(all="ignore"):
            fit = cox_fit(X[np.ix_(m, jj)], time_all[m], event[m], entry=entry_all[m],
                          strata=stratum[m], ties=ties, cluster=id_all[m], max_iter=max_iter,
                          term_names=[names[j] for j in jj], warn=False)
            coef[jj] = fit.coef
            se[jj] = np.sqrt(np.diag(fit.var))
            rse[jj] = np.sqrt(np.diag(fit.robust_var))
        aliased = np.zeros(jj.size, bool) if fit.aliased is None else fit.aliased
        alias.update({int(jj[k]): fit.alias_notes.get(k, NOTE_NOINFO)
                      for k in np.flatnonzero(aliased)})
        infinite[jj] = (fit.infinite | ~np.isfinite(coef[jj])) & ~aliased
        bad_var = ~np.isfinite(se[jj]) | ~np.isfinite(rse[jj])
        se[jj] = np.where(bad_var, 0.0, se[jj])  # reported below as no information
        rse[jj] = np.where(bad_var, 0.0, rse[jj])
        ll0 += fit.loglik[0]
        ll1 += fit.loglik[1]
        converged &= bool(fit.converged)
    # no information: zero or undefined variance (e.g. every risk set of the transition
    # holds a single patient) -- never report a number with SE 0
    is_alias = np.isin(np.arange(p), list(alias))
    noinfo = informative & ~infinite & ~is_alias & ((se == 0) | (rse == 0))
    estimable = informative & ~infinite & ~noinfo & ~is_alias
    notes = np.where(~informative, NOTE_CONSTANT, np.where(
        infinite, NOTE_INFINITE_MS, np.where(noinfo, NOTE_NOINFO, "")))
    notes = [alias.get(j, nt) if informative[j] else nt for j, nt in enumerate(notes)]
    terms = terms_frame(names, coef, se, conf_level=conf_level, robust_se=rse,
                        levels=[m[1] for m in meta], estimable=estimable, notes=notes)
    bt = []
    for i, (base, lvl, trs) in enumerate(meta):
        for a, b in trs:
            r = terms.iloc[i]
            bt.append((a, b, base, r.coef, r.se, r.robust_se, r.estimate, r.lower, r.upper,
                       r.p, r.estimable, r.note))
    by_tr = pd.DataFrame(bt, columns=["from_state", "to_state", "term", "coef", "se",
                                      "robust_se", "estimate", "lower", "upper", "p",
                                      "estimable", "note"])
    trans = pd.DataFrame([x[:4] for x in info], columns=["from_state", "to_state", "n_rows",
                                                         "n_events"])
    choices = {"ties": ties, "variance": "robust, clustered by subject (as R multi-state "
               "coxph)", "strata": "one baseline hazard per transition",
               "shared": {c: [f"{a} -> {b}" for a, b in t] for c, t in shared.items()} or None,
               "reference_levels": dict(design.reference_levels) if design else {},
               "conf_level": conf_level}
    if skipped:
        choices["not modelled"] = [f"{a} -> {b}: every one is a same-day placement (no "
                                   "waiting time)" for a, b in skipped]
    if not converged:
        choices["converged"] = False
    return TransitionCoxResult(terms, by_tr, trans, (ll0, ll1), int(d[id].nunique()),
                               conf_level, "HR", "robust", converged, choices)


