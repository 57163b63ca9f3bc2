"""Floating-point near-ties merged as R survival's ``aeqSurv`` does (``timefix = TRUE``).

Times that differ only by rounding (``2`` and ``sqrt(2)**2 = 2.0000000000000004``; a
time computed as ``days / 30.4375`` on two paths) are one time for R: ``survfit``,
``survdiff``, ``coxph`` and ``finegray`` call ``aeqSurv`` on the outcome first. Without
it a Kaplan–Meier curve gets an extra step, a log-rank test counts two risk sets, and a
Cox partial likelihood treats a tie as an ordering. Every front-end of
:mod:`aplcohort.stats` calls :func:`aeq_outcome` (or :func:`aeq_times`) at the one
place it prepares its times, so results agree with R on such data.

The rule, as ``survival:::aeqSurv`` (survival 3.5):

* ``y`` = the sorted distinct finite times (start and stop times together);
* consecutive values are tied when ``diff(y) <= tol`` or ``diff(y) / mean(|y|) <= tol``,
  with ``tol = sqrt(.Machine$double.eps)`` (1.49e-8);
* each time is replaced by the first (smallest) value of its run of tied values
  (``cuts[findInterval(x, cuts)]``);
* a (start, stop] interval that collapses to length 0 is an error (R: "aeqSurv
  exception, an interval has effective length 0").

We keep our own implementation because there is no Python equivalent; it is
checked against R on the data of ``tests/reference/surv_extras.R``.

Examples
--------
>>> import numpy as np
>>> from aplcohort.stats._aeq import aeq_times
>>> t, _ = aeq_times(np.array([1.0, 2.0, np.sqrt(2) ** 2, 3.0]))
>>> np.unique(t).size
3
"""

from __future__ import annotations

import numpy as np

from ..errors import InputError

__all__ = ["AEQ_TOLERANCE", "aeq_times", "aeq_outcome", "aeq_snap"]

AEQ_TOLERANCE = float(np.sqrt(np.finfo(float).eps))   # R sqrt(.Machine$double.eps)


def _cuts(values, tol):
    y = np.unique(values[np.isfinite(values)])
    if y.size < 2:
        return None
    dy = np.diff(y)
    mean_abs = np.mean(np.abs(y))
    with np.errstate(divide="ignore", invalid="ignore"):
        tied = (dy <= tol) | (dy / mean_abs <= tol)
    if not tied.any():
        return None
    return y[np.concatenate([[True], ~tied])]


def _snap(x, cuts):
    out = np.array(x, dtype=float, copy=True)
    fin = np.isfinite(out)
    idx = np.searchsorted(cuts, out[fin], side="right") - 1   # findInterval
    out[fin] = cuts[np.maximum(idx, 0)]
    return out


def aeq_times(time, start=None, tol=AEQ_TOLERANCE):
    """Merge near-tied times as R ``aeqSurv``.

    Parameters
    ----------
    time : ndarray
        Stop (event / censoring) times.
    start : ndarray, optional
        Entry times of (start, stop] data; merged on the same grid as ``time``.
    tol : float
        Tolerance (R ``timefix`` uses ``sqrt(.Machine$double.eps)``); ``tol <= 0``
        turns merging off.

    Returns
    -------
    (time, start)
        The same arrays (not copied) when nothing is tied, else new arrays.

    Raises
    ------
    InputError
        When merging makes an interval ``(start, stop]`` empty.
    """
    time = np.asarray(time, dtype=float)
    if tol <= 0 or time.size < 2 and start is None:
        return time, start
    allv = time if start is None else np.concatenate([np.asarray(start, float), time])
    cuts = _cuts(allv, tol)
    if cuts is None:
        return time, start
    t2 = _snap(time, cuts)
    if start is None:
        return t2, None
    s = np.asarray(start, dtype=float)
    s2 = _snap(s, cuts)
    bad = (s2 == t2) & (s != time)
    if bad.any():
        idx = np.flatnonzero(bad)[:20].tolist()
        raise InputError(f"entry and exit times equal up to rounding at positions {idx} "
                         f"(an interval of effective length 0, R aeqSurv); correct those "
                         f"times or drop the rows explicitly")
    return t2, s2


def aeq_outcome(oc, tol=AEQ_TOLERANCE):
    """:class:`~aplcohort.stats.outcome.Outcome` with near-tied times merged (R ``aeqSurv``).

    Returns ``oc`` itself when nothing is tied.
    """
    t2, s2 = aeq_times(oc.time, oc.start, tol)
    if t2 is oc.time and s2 is oc.start:
        return oc
    return type(oc)(time=t2, event=oc.event, start=s2, type=oc.type)


def aeq_snap(*arrays, tol=AEQ_TOLERANCE):
    """Put several time arrays on one grid with near-ties merged (no interval check).

    For code that builds intervals itself (:func:`aplcohort.stats.timedep.split_at_exposure`):
    an exposure time equal to a follow-up time up to rounding becomes exactly equal, so
    the same-day rule applies instead of a (t, t + 4e-16] interval. NaN stays NaN.

    Examples
    --------
    >>> import numpy as np
    >>> t, x = aeq_snap(np.array([2.0, 5.0]), np.array([np.sqrt(2) ** 2, np.nan]))
    >>> bool(t[0] == x[0])
    True
    """
    arrs = [np.asarray(a, dtype=float) for a in arrays]
    if tol <= 0:
        return tuple(arrs)
    cuts = _cuts(np.concatenate([a.ravel() for a in arrs]), tol)
    if cuts is None:
        return tuple(arrs)
    return tuple(_snap(a, cuts) for a in arrs)
