"""E-values for unmeasured confounding (VanderWeele & Ding, Ann Intern Med 2017).

For a risk ratio ``RR`` (taken as ``1/RR`` when below 1):

    E = RR + sqrt(RR * (RR - 1))

The E-value of a confidence interval is that of the limit closer to 1, and 1
when the interval contains 1. It is the minimum strength of association, on the
risk-ratio scale, that an unmeasured confounder would need with both treatment
and outcome to explain the estimate away.

Hazard ratios (VanderWeele & Ding 2017, Table 2):

* rare outcome (< 15% by the end of follow-up): ``RR ~ HR``;
* common outcome: ``RR ~ (1 - 0.5^sqrt(HR)) / (1 - 0.5^sqrt(1/HR))``.

Relapsed-leukemia outcomes (relapse, death) are common, so ``rare=False`` is
the default for hazard ratios and must be changed knowingly.

Validated against the worked values of VanderWeele & Ding 2017 (RR 3.9, CI
1.8-8.7 -> E 7.26, 3.0) and the formulas evaluated in R (``tests/reference/adjust.R``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._checks import check_bool
from ..errors import InputError

__all__ = ["evalue", "evalue_rr", "evalue_hr"]


def _e(rr):
    rr = np.where(rr < 1, 1 / rr, rr)
    return rr + np.sqrt(rr * (rr - 1))


def evalue_rr(estimate, lower=None, upper=None) -> pd.DataFrame:
    """E-value of a risk ratio and of its CI limit closer to 1.

    Returns
    -------
    DataFrame ``[scale, estimate, lower, upper, rr_estimate, evalue_estimate, evalue_ci,
    note]`` (one row).

    Examples
    --------
    >>> round(float(evalue_rr(3.9, 1.8, 8.7)["evalue_estimate"].iloc[0]), 2)
    7.26
    """
    return _table("RR", estimate, lower, upper, estimate, lower, upper, "")


def evalue_hr(estimate, lower=None, upper=None, *, rare=False) -> pd.DataFrame:
    """E-value of a hazard ratio (see module docstring for the approximation).

    Examples
    --------
    >>> round(float(evalue_hr(0.64, 0.49, 0.83)["evalue_estimate"].iloc[0]), 3)
    2.063
    """
    rare = check_bool("rare", rare)
    _check_ratios(estimate, lower, upper)   # before the conversion (no numpy warnings first)

    def conv(h):
        if h is None:
            return None
        h = float(h)
        return h if rare else (1 - 0.5 ** np.sqrt(h)) / (1 - 0.5 ** np.sqrt(1 / h))
    note = ("rare outcome: RR taken equal to HR" if rare else
            "common outcome: RR = (1 - 0.5^sqrt(HR)) / (1 - 0.5^sqrt(1/HR))")
    return _table("HR", estimate, lower, upper, conv(estimate), conv(lower), conv(upper), note)


def evalue(estimate, lower=None, upper=None, *, scale="HR", rare=False) -> pd.DataFrame:
    """E-value on the given scale ("HR" or "RR")."""
    rare = check_bool("rare", rare)
    if scale == "HR":
        return evalue_hr(estimate, lower, upper, rare=rare)
    if scale == "RR":
        return evalue_rr(estimate, lower, upper)
    raise InputError(f"scale must be 'HR' or 'RR'; got {scale!r}")


def _check_ratios(est, lo, hi):
    """Positive finite ratios, both CI limits or neither, the estimate inside its CI."""
    vals = {}
    for name, v in (("estimate", est), ("lower", lo), ("upper", hi)):
        if v is None and name != "estimate":
            continue
        try:
            x = float(v)
        except (TypeError, ValueError):
            x = float("nan")
        if not (np.isfinite(x) and x > 0):
            shown = v.item() if isinstance(v, np.generic) else v
            raise InputError(f"{name} must be a positive finite ratio; got {shown!r}")
        vals[name] = x
    if (lo is None) != (hi is None):
        raise InputError("give both lower and upper CI limits, or neither")
    if lo is not None and not (vals["lower"] <= vals["estimate"] <= vals["upper"]):
        raise InputError(f"the estimate {vals['estimate']:g} is not inside its CI "
                         f"[{vals['lower']:g}, {vals['upper']:g}]")


def _table(scale, est, lo, hi, rr, rlo, rhi, note):
    _check_ratios(est, lo, hi)
    e_est = float(_e(np.float64(rr)))
    if lo is None:
        e_ci, why = np.nan, "no CI given"
    elif rlo <= 1 <= rhi:
        e_ci, why = 1.0, "CI includes 1"
    else:
        e_ci, why = float(_e(np.float64(rlo if rr > 1 else rhi))), ""
    return pd.DataFrame([(scale, float(est), np.nan if lo is None else float(lo),
                          np.nan if hi is None else float(hi), float(rr), e_est, e_ci,
                          "; ".join(x for x in (note, why) if x))],
                        columns=["scale", "estimate", "lower", "upper", "rr_estimate",
                                 "evalue_estimate", "evalue_ci", "note"])
