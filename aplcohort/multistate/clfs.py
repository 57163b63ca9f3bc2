"""Current leukaemia-free survival (CLFS) beside DFS and OS, from one multi-state fit.

All three are sums of Aalen–Johansen state occupancy probabilities, so they come
from one estimator and their SEs are the infinitesimal jackknife of the sum (as R:
``rowSums(fit$pstate[, states])`` with the IJ of the summed influence):

* **CLFS** -- alive and in remission at ``t`` whatever happened before: the sum
  of the remission states (bundled model: CR2, ATO-based, auto HSCT, allo HSCT,
  CR3).  A patient rescued by salvage after a second relapse counts again.
* **DFS** -- alive in the first remission reached after time zero, never having
  relapsed since: the remission states reachable from time zero through remission
  states only (bundled model: CR2 and the post-remission states; CR3 is excluded).
  From a CR2 time zero this equals the Kaplan–Meier RFS (relapse or death).
* **OS** -- alive: the sum of every non-absorbing state (= 1 - P(death) = KM OS).
* **alive after relapse2** (bundled model) -- the states entered at or after a
  second relapse, except death.

Validated against: R survival 3.5-3 (sum of ``pstate`` columns, SE from
``influence.pstate``) on the Min 2022 replica to 1e-6; DFS/OS equal the KM
estimates (tests/test_multistate_invariants.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .._results import Result
from ..errors import InputError
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
    """

    table: pd.DataFrame
    curves: pd.DataFrame
    definitions: pd.DataFrame
    occupancy: object
    measures: tuple
    groups: tuple
    conf_type: str
    conf_level: float
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
        """Every measure at chosen times ``[group, measure, time, estimate, std_err,
        lower, upper, n_risk, note]`` (NaN after the last follow-up unless ``extend``)."""
        a = self.occupancy.at(times, extend=extend)
        a = a[a["state"].isin(self.measures)].rename(columns={"state": "measure"})
        return a.reset_index(drop=True)

    def risk_table(self, times) -> pd.DataFrame:
        """Subjects under observation (any non-absorbing state) at chosen times."""
        r = self.occupancy.risk_table(times)
        return r.groupby(["group", "time"], sort=False)["n_risk"].sum().reset_index()


def clfs(transitions: TransitionsData, *, group=None, order=None, conf_type="log",
         conf_level=0.95, tau=None, extra=None) -> CLFSResult:
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
    >>> r.at([100])[["measure", "estimate"]].round(3).values.tolist()
    [['CLFS', 0.667], ['DFS', 0.667], ['OS', 0.667]]
    """
    if not isinstance(transitions, TransitionsData):
        raise InputError("clfs() takes the result of build_transitions(); for other "
                         "multi-state rows use state_occupancy(..., sums=...)")
    model = transitions.model
    rem = model.remission_states
    if not rem:
        raise InputError(f"model {model.name!r} declares no remission states "
                         "(StateRule(..., remission=True)); CLFS is undefined")
    defs = {"CLFS": list(rem), "DFS": list(dfs_states(model, transitions.time_zero)),
            "OS": [s for s in model.state_names if s not in model.absorbing_states]}
    if "relapse2" in model.state_names:
        after = ["relapse2"] + sorted(model.reachable_from("relapse2"),
                                      key=model.state_names.index)
        defs["alive after relapse2"] = [s for s in after if s not in model.absorbing_states]
    for k, v in (extra or {}).items():
        if k in defs:
            raise InputError(f"extra sum {k!r} clashes with a built-in measure")
        defs[k] = list(v)
    d = transitions.data
    occ = state_occupancy(d, id="patient_id", states=list(model.state_names), group=group,
                          order=order, sums=defs, tau=tau, conf_type=conf_type,
                          conf_level=conf_level)
    measures = tuple(defs)
    s = occ.sums
    tabs = []
    for g in occ.groups:
        f = occ._fits[g]
        nr = f.n_risk.sum(axis=1)
        nev = f.n_event.sum(axis=1)
        for k, m in enumerate(measures):
            c = s[(s["group"] == g) & (s["name"] == m)]
            tabs.append(pd.DataFrame({"group": g, "cause": k + 1, "time": c["time"].to_numpy(),
                                      "estimate": c["estimate"].to_numpy(),
                                      "std_err": c["std_err"].to_numpy(),
                                      "lower": c["lower"].to_numpy(),
                                      "upper": c["upper"].to_numpy(), "n_risk": nr,
                                      "n_event": nev, "n_censor": f.n_censor}))
    table = pd.concat(tabs, ignore_index=True)[CURVE_COLUMNS]
    table["cause"] = table["cause"].astype("Int64")
    curves = table.assign(measure=table["cause"].map(lambda c: measures[int(c) - 1]))
    curves = curves.drop(columns="cause")[["group", "measure"] + CURVE_COLUMNS[2:]]
    definitions = pd.DataFrame({"measure": list(defs),
                                "states": [", ".join(v) for v in defs.values()]})
    choices = {"model": model.name, "time zero": f"entry into {transitions.time_zero}",
               "unit": transitions.unit, "estimator": "Aalen–Johansen sums of states",
               "variance": "infinitesimal jackknife of the sum", "conf_type": conf_type,
               "conf_level": conf_level}
    return CLFSResult(table, curves, definitions, occ, measures, occ.groups, conf_type,
                      conf_level, "state occupancy sum", choices)
