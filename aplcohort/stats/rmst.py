"""Restricted mean survival time: difference and ratio of two arms, as survRM2's ``rmst2``.

:func:`rmst2` compares two groups' restricted mean survival time (RMST, the area
under the Kaplan–Meier curve up to ``tau``) by their difference, their ratio and the
ratio of restricted mean times lost (RMTL = ``tau - RMST``), each with a normal CI and
a two-sided Wald test, exactly as ``survRM2::rmst2`` (Uno et al.) without covariates:

* each arm: ``rmst = sum(areas)``, ``var = sum(cumsum(rev(areas[-1]))^2 *
  rev(d / (n (n - d)))[-1])`` on the arm's KM up to ``tau`` (the same as R
  ``print(survfit, rmean = tau)``);
* difference ``rmst1 - rmst0`` with SE ``sqrt(var1 + var0)``;
* ratio ``rmst1 / rmst0`` on the log scale with SE ``sqrt(var1 / rmst1^2 + var0 / rmst0^2)``;
  RMTL ratio likewise.

``tau``: the value given, else the smallest of the two arms' largest observed times
(survRM2's default). A given ``tau`` must be supported by both curves: it may not exceed
the last observed time of an arm whose last observation is censored (beyond it that
arm's curve is unknown); an arm whose curve ends in an event is 0 and known beyond
(survRM2's ``tau_max``). An unsupported ``tau`` is rejected with the largest supported
one in the message.

We keep our own implementation (survRM2 is an R package with no Python equivalent);
validated against survRM2's formulas evaluated in R (tests/reference/surv_extras.R),
cross-checked there with ``survival``'s restricted mean.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .._align import align_rows
from .._results import Result
from ..errors import InputError
from . import _surv_core as core
from .km import _check_conf, _group_codes, kaplan_meier
from .outcome import Outcome
from .shapes import _norm_sf2

__all__ = ["rmst2", "RMSTResult", "rmst_tau_max"]

CONTRAST_COLUMNS = ["contrast", "measure", "estimate", "se", "lower", "upper", "p"]
ARM_COLUMNS = ["group", "n", "events", "tau", "rmst", "se", "lower", "upper", "rmtl"]


@dataclass(frozen=True, eq=False)
class RMSTResult(Result):
    """RMST of two arms and their contrasts (frozen).

    Attributes
    ----------
    table : DataFrame
        ``[contrast, measure, estimate, se, lower, upper, p, note]``: ``measure`` is
        ``"RMST difference"``, ``"RMST ratio"`` or ``"RMTL ratio"``; ``se`` is on the
        scale of the test (the difference; the log ratio for ratios). A contrast that
        is not estimable has NaN numbers and the reason in ``note``: an arm whose
        variance is 0 (no events before tau, or a one-patient arm) makes every
        contrast not estimable; a ratio also needs both arms' RMST (RMTL) > 0.
    arms : DataFrame
        ``[group, n, events, tau, rmst, se, lower, upper, rmtl, note]``; an arm with a
        variance of 0 has its ``rmst`` (tau when it has no events before tau) but SE and
        CI NaN, with the reason in ``note`` ("no events before tau: variance 0").
        ``rmtl`` is the area above the curve (exactly 0 when the curve is 1 to tau).
    tau, tau_max : float
        Horizon used and the largest horizon both curves support.
    tau_source : str
        ``"given"`` or ``"default (smallest of the arms' largest observed times)"``.
    """

    kind = "rmst"

    table: pd.DataFrame
    arms: pd.DataFrame
    groups: tuple
    tau: float
    tau_max: float
    tau_source: str
    conf_level: float

    @property
    def title(self) -> str:
        return f"Restricted mean survival time to {self.tau:g}"

    @property
    def choices(self) -> dict:
        return {"tau": f"{self.tau:g} ({self.tau_source})",
                "largest supported tau": self.tau_max,
                "conf_level": self.conf_level,
                "comparison": f"{self.groups[1]} vs {self.groups[0]} (reference)",
                "method": "survRM2::rmst2 (KM area, Greenwood-type variance; Wald tests)"}

    @property
    def tables(self) -> dict:
        return {"contrasts": self.table, "arms": self.arms}


def rmst_tau_max(time, event, codes):
    """``(default tau, largest supported tau)`` of two arms as survRM2 ``rmst2``."""
    last, last_cens = [], []
    for k in (0, 1):
        t, e = time[codes == k], event[codes == k]
        tm = t.max()
        last.append(float(tm))
        last_cens.append(bool((e[t == tm] == 0).any()))
    cens = [x for x, c in zip(last, last_cens) if c]
    return min(last), (min(cens) if cens else max(last))


def rmst2(time, event, group, tau=None, *, conf_level=0.95, order=None) -> RMSTResult:
    """RMST difference, RMST ratio and RMTL ratio of two groups (survRM2 ``rmst2``).

    Parameters
    ----------
    time, event : array-like
        Right-censored outcome (event 0/1).
    group : array-like
        Two group labels; the first in ``order`` (default: a pandas ``Categorical``'s
        category order, else sorted) is the reference
        (survRM2's ``arm = 0``), contrasts are second vs first.
    tau : float, optional
        Horizon. Default: the smallest of the two arms' largest observed times. Must
        not exceed the largest horizon both curves support (see the module notes).
    conf_level : float
        Confidence level (survRM2 ``alpha = 1 - conf_level``).
    order : sequence, optional
        Group order.

    Returns
    -------
    RMSTResult

    Notes
    -----
    Validated against: survRM2 1.0-3's ``rmst1`` / ``rmst2`` formulas evaluated in R
    (tests/reference/surv_extras.R) on aml (default tau and tau = 30), lung by sex
    (tau = 365 and default), veteran by treatment (tau = 200), rtol 1e-6.

    Examples
    --------
    >>> from aplcohort.stats.rmst import rmst2
    >>> r = rmst2([1, 2, 3, 4, 5, 6, 7, 8], [1, 1, 0, 1, 1, 0, 1, 1], list("AAAABBBB"), tau=4)
    >>> r.table["measure"].tolist()
    ['RMST difference', 'RMST ratio', 'RMTL ratio']
    """
    time, event, group = align_rows("rmst2", time=time, event=event, group=group)
    oc = Outcome.right(time, event)
    groups, codes = _group_codes(group, oc.n, order)
    if len(groups) != 2:
        raise InputError(f"rmst2 compares exactly two groups; got {len(groups)}: {list(groups)}")
    cl = _check_conf("log", conf_level)
    fit = kaplan_meier(oc.time, oc.event, codes, conf_level=cl, variance="greenwood")
    # the times as the curves see them (near-ties merged, R survfit timefix)
    from ._aeq import aeq_times
    t_fix, _ = aeq_times(oc.time)
    default, tau_max = rmst_tau_max(t_fix, oc.event, codes)
    if tau is None:
        tau_v, source = default, "default: smallest of the arms' largest observed times"
    else:
        try:
            tau_v = float(tau)
        except (TypeError, ValueError):
            raise InputError(f"tau must be a number; got {tau!r}") from None
        if not np.isfinite(tau_v) or tau_v <= 0:
            raise InputError(f"tau must be a finite number > 0; got {tau!r}")
        source = "given"
    if tau_v > tau_max:
        raise InputError(f"tau = {tau_v:g} is not supported by the data: the largest horizon "
                         f"at which both curves are known is {tau_max:g} (an arm whose last "
                         f"observation is censored is unknown beyond it); choose tau <= "
                         f"{tau_max:g}")
    z = core.z_value(cl)
    arms, est, arm_notes = [], [], []
    for k, g in enumerate(groups):
        c = fit._curve(k)
        m, se = core.rmst(c["time"], c["estimate"], c["n_risk"], c["n_event"], tau_v, 0.0)
        # RMTL as the area above the curve, not tau - m: exactly 0 (not -2.8e-14) when
        # the curve is 1 up to tau, and never negative from rounding
        tl = core.rmtl(c["time"], c["estimate"], tau_v, 0.0)
        ev = float(oc.event[codes == k].sum())
        # a variance of exactly 0 (no events before tau, or a one-patient arm) is not an
        # estimate: SE and CI not estimable, and no contrast may rest on it
        note = core.rmst_variance_note(c["time"], c["n_event"], se, tau_v)
        lo, hi = (m - z * se, m + z * se) if not note else (np.nan, np.nan)
        arms.append((g, int((codes == k).sum()), int(ev), tau_v, m,
                     se if not note else np.nan, lo, hi, tl))
        arm_notes.append(note)
        est.append((m, se * se, tl))
    (m0, v0, l0), (m1, v1, l1) = est
    degenerate = "; ".join(f"{g!r}: {nt}" for g, nt in zip(groups, arm_notes) if nt)
    rows, notes = [], []
    lab = f"{groups[1]} vs {groups[0]}"
    d, dse = m1 - m0, float(np.sqrt(v1 + v0))
    rows.append((lab, "RMST difference", d, dse, d - z * dse, d + z * dse,
                 float(_norm_sf2(d / dse)) if dse > 0 else np.nan))   # (dse 0: degenerate)
    notes.append("")
    for name, a1, a0 in (("RMST ratio", m1, m0), ("RMTL ratio", l1, l0)):
        if a1 > 0 and a0 > 0:
            lr = float(np.log(a1 / a0))
            lse = float(np.sqrt(v1 / a1 ** 2 + v0 / a0 ** 2))
            rows.append((lab, name, a1 / a0, lse, float(np.exp(lr - z * lse)),
                         float(np.exp(lr + z * lse)), float(_norm_sf2(lr / lse)) if lse > 0 else np.nan))
            notes.append("")
        else:
            rows.append((lab, name, np.nan, np.nan, np.nan, np.nan, np.nan))
            notes.append("not estimable: an arm's restricted mean (or time lost) is 0 at "
                         "this tau")
    if degenerate:   # every contrast's SE (and p) would rest on a variance of 0
        rows = [r[:2] + (np.nan,) * 5 for r in rows]
        notes = [f"not estimable: {degenerate}"] * len(rows)
    table = pd.DataFrame(rows, columns=CONTRAST_COLUMNS)
    table["note"] = notes
    arms_df = pd.DataFrame(arms, columns=ARM_COLUMNS)
    arms_df["group"] = pd.Series(list(groups), dtype=object)
    arms_df["note"] = arm_notes
    return RMSTResult(table=table, arms=arms_df, groups=groups, tau=tau_v,
                      tau_max=float(tau_max), tau_source=source, conf_level=cl)
