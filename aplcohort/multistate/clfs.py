"""Current leukaemia-free survival (CLFS) beside DFS and OS, from one multi-state fit.

* **CLFS** -- alive and in remission at ``t`` whatever happened before: the sum
  of the Aalen–Johansen occupancy probabilities of the remission states (bundled
  model: CR2, ATO-based, auto HSCT, allo HSCT, CR3), with the infinitesimal-
  jackknife SE of the sum (R: ``rowSums(fit$pstate[, states])``, SE from
  ``influence.pstate``).  A patient rescued by salvage after a second relapse
  counts again.
* **alive after relapse2** (bundled model) -- the same kind of sum over the states
  entered at or after a second relapse, except death.
* **DFS** -- alive in the first remission reached after time zero, never having
  relapsed since: the remission states reachable from time zero through remission
  states only (bundled model: CR2 and the post-remission states).  DFS needs a
  remission time zero (e.g. ``time_zero="CR2"``); from another time zero it is not
  given and ``notes`` says why.
* **OS** -- alive: every non-absorbing state.

``dfs_os="aalen-johansen"`` (default): DFS and OS are sums of the same
Aalen–Johansen fit (IJ SE), so ``DFS <= CLFS <= OS`` at every time on the figure.
``dfs_os="kaplan-meier"``: the Kaplan–Meier curves of time to leaving the DFS
states / to death (Greenwood SE), as the rest of a report shows them.  The two
differ in finite samples: with several living states, when censoring empties one
state's risk set the Aalen–Johansen probability mass stays in that state, whereas
KM redistributes it to the patients still at risk in other states (on the Min 2022
replica, KM OS falls below the Aalen–Johansen CLFS after 5 years).

Validated against: R survival 3.5-3 (CLFS on the Min 2022 replica to 1e-6);
DFS <= CLFS <= OS, and the Kaplan–Meier option equals KM computed directly from the
dates (tests/test_multistate_invariants.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from .._results import Result
from ..errors import InputError
from ..stats.km import kaplan_meier
from .model import StateModel
from .occupancy import CURVE_COLUMNS, state_occupancy
from .transitions import TransitionsData

__all__ = ["clfs", "CLFSResult", "dfs_states"]


def dfs_states(model: StateModel, time_zero: str) -> tuple:
    """Remission states reachable from ``time_zero`` through remission states only."""
    rem = set(model.remission_states)
    start = [time_zero] if time_zero in rem else [b for a, b in model.transitions
                                                  if a == time_zero and b in rem]
    seen, todo = set(start), list(start)
    while todo:
        a = todo.pop()
        for x, y in model.transitions:
            if x == a and y in rem and y not in seen:
                seen.add(y)
                todo.append(y)
    return tuple(s for s in model.state_names if s in seen)


@dataclass(frozen=True, eq=False)
class CLFSResult(Result):
    """CLFS, DFS and OS (and alive after a second relapse) as state-occupancy sums.

    Attributes
    ----------
    table : DataFrame
        The shared curve shape ``[group, cause, time, estimate, std_err, lower, upper,
        n_risk, n_event, n_censor]``; ``cause`` is the 1-based code of the measure in
        ``measures`` (CLFS = 1, DFS = 2, OS = 3, ...); ``n_risk`` = subjects under
        observation just before ``t`` (any state); ``n_event``/``n_censor`` = all
        transitions / censorings at ``t``.
    curves : DataFrame
        The same with a ``measure`` column instead of ``cause``.
    definitions : DataFrame
        ``[measure, states]``: which states each measure sums.
    occupancy : StateOccupancyResult
        The underlying fit (every state).
    measures, groups : tuple
    conf_type, conf_level : str, float
    notes : dict
        Why a measure is not given (DFS without a remission time zero).
    km : dict
        ``{"DFS": KMResult, "OS": KMResult}`` with ``dfs_os="kaplan-meier"`` (else
        empty).
    """

    table: pd.DataFrame
    curves: pd.DataFrame
    definitions: pd.DataFrame
    occupancy: object
    measures: tuple
    groups: tuple
    conf_type: str
    conf_level: float
    notes: dict
    km: dict
    curve: str = "state occupancy sum"
    _choices: dict = field(default_factory=dict, repr=False)

    kind = "clfs"

    @property
    def title(self) -> str:
        return "Current leukaemia-free survival (CLFS), DFS and OS"

    @property
    def choices(self) -> dict:
        return dict(self._choices)

    @property
    def tables(self) -> dict:
        return {"definitions": self.definitions, "curves": self.curves}

    def at(self, times, extend=False) -> pd.DataFrame:
        """The shared ``.at()`` shape ``[group, cause, time, estimate, std_err, lower,
        upper, n_risk, note]``; ``cause`` = 1-based code of the measure in
        ``measures``.  :meth:`measure_at` gives the same with measure names."""
        a = self.measure_at(times, extend=extend)
        code = {m: i + 1 for i, m in enumerate(self.measures)}
        a.insert(1, "cause", pd.array(a["measure"].map(code).to_numpy(), dtype="Int64"))
        return a.drop(columns="measure")

    def measure_at(self, times, extend=False) -> pd.DataFrame:
        """Every measure at chosen times ``[group, measure, time, estimate, std_err,
        lower, upper, n_risk, note]`` (NaN after the last follow-up unless ``extend``)."""
        a = self.occupancy.state_at(times, extend=extend)
        parts = [a[a["state"].isin(self.measures)].rename(columns={"state": "measure"})]
        for m, km in self.km.items():
            k = km.at(times, extend=extend)
            k["measure"] = m
            parts.append(k[parts[0].columns])
        return pd.concat(parts, ignore_index=True)

    def risk_table(self, times) -> pd.DataFrame:
        """Subjects under observation (any non-absorbing state) at chosen times."""
        r = self.occupancy.risk_table(times)
        return r.groupby(["group", "time"], sort=False)["n_risk"].sum().reset_index()


def clfs(transitions: TransitionsData, *, group=None, order=None, conf_type="log",
         conf_level=0.95, tau=None, extra=None, dfs_os="aalen-johansen") -> CLFSResult:
    """CLFS with CI, DFS and OS from multi-state rows built by :func:`build_transitions`.

    Parameters
    ----------
    transitions : TransitionsData
    group : str, optional
        Grouping column of ``transitions.data`` (fixed at time zero).
    order : sequence, optional
    conf_type : {"log", "log-log", "plain"}
    conf_level : float
    tau : float, optional
        Horizon of the restricted mean time (CLFS, DFS, OS) in ``transitions.unit``.
    extra : dict, optional
        More sums ``{name: [states]}``.
    dfs_os : {"aalen-johansen", "kaplan-meier"}
        Estimator of DFS and OS (see the module docstring).

    Returns
    -------
    CLFSResult

    Examples
    --------
    >>> import pandas as pd
    >>> from aplcohort.cohort import from_dataframe
    >>> from aplcohort.multistate import build_transitions
    >>> c = from_dataframe(pd.DataFrame({"patient_id": ["a", "b", "c"],
    ...     "disease": ["APL"] * 3, "relapse1_date": ["2020-01-01"] * 3,
    ...     "response": ["mCR2", "mCR2", "none"],
    ...     "response_date": ["2020-02-01", "2020-02-01", None],
    ...     "death_date": [None, "2020-05-01", "2020-03-01"],
    ...     "last_followup_date": ["2020-12-31", "2020-05-01", "2020-03-01"]}))
    >>> r = clfs(build_transitions(c))
    >>> r.measure_at([100])[["measure", "estimate"]].round(3).values.tolist()
    [['CLFS', 0.667], ['alive after relapse2', 0.0], ['OS', 0.667]]
    """
    if not isinstance(transitions, TransitionsData):
        raise InputError("clfs() takes the result of build_transitions(); for other "
                         "multi-state rows use state_occupancy(..., sums=...)")
    model = transitions.model
    rem = model.remission_states
    if not rem:
        raise InputError(f"model {model.name!r} declares no remission states "
                         "(StateRule(..., remission=True)); CLFS is undefined")
    defs = {"CLFS": list(rem)}
    if "relapse2" in model.state_names:
        after = ["relapse2"] + sorted(model.reachable_from("relapse2"),
                                      key=model.state_names.index)
        defs["alive after relapse2"] = [s for s in after if s not in model.absorbing_states]
    for k, v in (extra or {}).items():
        if k in defs or k in ("DFS", "OS"):
            raise InputError(f"extra sum {k!r} clashes with a built-in measure")
        defs[k] = list(v)
    if dfs_os not in ("aalen-johansen", "kaplan-meier"):
        raise InputError(f"dfs_os must be 'aalen-johansen' or 'kaplan-meier', got {dfs_os!r}")
    notes = {}
    both = {}
    if transitions.time_zero in rem:
        both["DFS"] = list(dfs_states(model, transitions.time_zero))
    else:
        notes["DFS"] = (f"not given: DFS starts in remission; time zero is entry into "
                        f"{transitions.time_zero!r} (build the rows with a remission "
                        "time_zero, e.g. 'CR2')")
    both["OS"] = [s for s in model.state_names if s not in model.absorbing_states]
    km_defs = both if dfs_os == "kaplan-meier" else {}
    if not km_defs:
        defs.update(both)
    d = transitions.data
    occ = state_occupancy(d, id="patient_id", states=list(model.state_names), group=group,
                          order=order, sums=defs, tau=tau, conf_type=conf_type,
                          conf_level=conf_level)
    ends = _km_data(d, km_defs)
    measures = tuple(defs) + tuple(km_defs)
    s = occ.sums
    tabs, kms = [], {}
    for g in occ.groups:
        f = occ._fits[g]
        nr = f.n_risk.sum(axis=1)
        nev = f.n_event.sum(axis=1)
        for k, m in enumerate(defs):
            c = s[(s["group"] == g) & (s["name"] == m)]
            tabs.append(pd.DataFrame({"group": g, "cause": k + 1, "time": c["time"].to_numpy(),
                                      "estimate": c["estimate"].to_numpy(),
                                      "std_err": c["std_err"].to_numpy(),
                                      "lower": c["lower"].to_numpy(),
                                      "upper": c["upper"].to_numpy(), "n_risk": nr,
                                      "n_event": nev, "n_censor": f.n_censor}))
    for k, m in enumerate(km_defs):
        e = ends[m]
        gv = None if group is None else e[group].to_numpy()
        km = kaplan_meier(e["time"].to_numpy(float), e["event"].to_numpy(int), gv,
                          conf_type=conf_type, conf_level=conf_level,
                          order=list(occ.groups) if group is not None else None)
        kms[m] = km
        t = km.table
        tabs.append(pd.DataFrame({"group": t["group"].to_numpy(), "cause": len(defs) + k + 1,
                                  "time": t["time"].to_numpy(), "estimate": t["estimate"].to_numpy(),
                                  "std_err": t["std_err"].to_numpy(),
                                  "lower": t["lower"].to_numpy(), "upper": t["upper"].to_numpy(),
                                  "n_risk": t["n_risk"].to_numpy(),
                                  "n_event": t["n_event"].to_numpy(),
                                  "n_censor": t["n_censor"].to_numpy()}))
    table = pd.concat(tabs, ignore_index=True)[CURVE_COLUMNS]
    table["cause"] = table["cause"].astype("Int64")
    curves = table.assign(measure=table["cause"].map(lambda c: measures[int(c) - 1]))
    curves = curves.drop(columns="cause")[["group", "measure"] + CURVE_COLUMNS[2:]]
    definitions = pd.DataFrame(
        {"measure": list(measures),
         "estimator": ["Aalen–Johansen sum of states (IJ SE)"] * len(defs) +
                      ["Kaplan–Meier (Greenwood SE)"] * len(km_defs),
         "states": [(("in " if m in ("DFS", "OS") else "") + ", ".join(v))
                    for m, v in defs.items()] +
                   [("time to leaving " if m == "DFS" else "time to death from ") +
                    ", ".join(v) for m, v in km_defs.items()]})
    choices = {"model": model.name, "time zero": f"entry into {transitions.time_zero}",
               "unit": transitions.unit, "DFS and OS": dfs_os, "conf_type": conf_type,
               "conf_level": conf_level}
    choices.update(notes)
    return CLFSResult(table, curves, definitions, occ, measures, occ.groups, conf_type,
                      conf_level, notes, kms, "state occupancy sum", choices)


def _km_data(d, km_defs):
    """Per patient (time, event) of leaving a set of states (KM endpoints from the rows)."""
    out = {}
    if not km_defs:
        return out
    o = d.sort_values(["patient_id", "tstart"], kind="stable")
    first = o.groupby("patient_id", sort=False).head(1).set_index("patient_id")
    for m, states in km_defs.items():
        inset = o["from_state"].isin(states)
        leave = inset & (o["to_state"] != "censor") & ~o["to_state"].isin(states)
        # first exit from the set; otherwise censored at the end of the last row in it
        ex = o[leave].groupby("patient_id", sort=False)["tstop"].min()
        last = o[inset].groupby("patient_id", sort=False)["tstop"].max()
        ids = first.index
        t = ex.reindex(ids).fillna(last.reindex(ids))
        ev = ex.reindex(ids).notna().astype(int)
        frame = first.drop(columns=["tstart", "tstop", "from_state", "to_state"],
                           errors="ignore").copy()
        frame["time"] = t.to_numpy()
        frame["event"] = ev.to_numpy()
        out[m] = frame[frame["time"].notna()].reset_index()
    return out
