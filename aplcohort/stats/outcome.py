"""One checked outcome representation taken by every estimator.

Three shapes, as in R's ``Surv``:

* right-censored: ``Outcome.right(time, event)`` with ``event`` in {0, 1};
* counting process: ``Outcome.counting(start, stop, event)`` ((start, stop]
  intervals; late entry / time-dependent covariates);
* competing risks: ``Outcome.competing(time, code)`` with ``code`` 0 = censored,
  1, 2, ... = cause.

Construction pairs pandas Series by index label (:mod:`aplcohort._align`), checks the
arrays (finite, non-negative times, ``start < stop``, integer event codes) and raises :class:`aplcohort.errors.InputError` listing
every offending position, never silently dropping or coercing a value.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._align import align_rows
from ..errors import InputError


def _as_float(x, name):
    a = np.asarray(x)
    try:
        # a copy: results keep these arrays, so a later change to the caller's data
        # must not change them
        return np.array(a, dtype=float)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{name}: values must be numeric ({exc})") from None


def _as_code(x, name):
    a = np.asarray(x)
    if a.dtype.kind in "iub" and (a.size == 0 or a.min() >= 0):
        return a.astype(np.int64)                 # integer codes: nothing to check
    a = _as_float(x, name)
    if a.size and ((a == 0) | (a == 1)).all():     # 0/1 events: the common case
        return a.astype(np.int64)
    bad = ~np.isfinite(a) | (a != np.round(a)) | (a < 0)
    if bad.any():
        idx = np.flatnonzero(bad)[:20].tolist()
        raise InputError(
            f"{name}: event codes must be non-negative integers (0 = censored); "
            f"bad values at positions {idx}: {a[bad][:20].tolist()}"
        )
    return a.astype(np.int64)


@dataclass(frozen=True, eq=False)
class Outcome:
    """A checked time-to-event outcome.

    Attributes
    ----------
    time : ndarray of float
        Event/censoring time (the ``stop`` time for counting-process data).
    event : ndarray of int
        0 = censored; 1 = event (right, counting); 1, 2, ... = cause (competing).
    start : ndarray of float or None
        Entry time for counting-process data, else ``None``.
    type : {"right", "counting", "competing"}
    """

    time: np.ndarray
    event: np.ndarray
    start: np.ndarray | None
    type: str

    @property
    def n(self) -> int:
        return int(self.time.shape[0])

    @classmethod
    def right(cls, time, event) -> "Outcome":
        time, event = align_rows("Outcome.right", time=time, event=event)
        t = _as_float(time, "time")
        e = _as_code(event, "event")
        cls._check_len(t, e)
        cls._check_times(t, "time")
        if (e > 1).any():
            raise InputError("event: right-censored outcomes take 0 (censored) or 1 (event); "
                             "use Outcome.competing for cause codes")
        return cls(t, e, None, "right")

    @classmethod
    def counting(cls, start, stop, event) -> "Outcome":
        start, stop, event = align_rows("Outcome.counting", start=start, stop=stop,
                                        event=event)
        s = _as_float(start, "start")
        t = _as_float(stop, "stop")
        e = _as_code(event, "event")
        cls._check_len(s, t, e)
        cls._check_times(s, "start", allow_negative=True)
        cls._check_times(t, "stop", allow_negative=True)
        bad = ~(s < t)
        if bad.any():
            idx = np.flatnonzero(bad)[:20].tolist()
            raise InputError(f"(start, stop]: start must be < stop; violated at positions {idx}")
        if (e > 1).any():
            raise InputError("event: counting-process outcomes take 0 or 1")
        return cls(t, e, s, "counting")

    @classmethod
    def competing(cls, time, code) -> "Outcome":
        time, code = align_rows("Outcome.competing", time=time, code=code)
        t = _as_float(time, "time")
        e = _as_code(code, "event code")
        cls._check_len(t, e)
        cls._check_times(t, "time")
        return cls(t, e, None, "competing")

    @staticmethod
    def _check_len(*arrays):
        n = {a.shape for a in arrays}
        if len(n) != 1 or any(a.ndim != 1 for a in arrays):
            raise InputError(f"outcome arrays must be 1-D and of equal length; got shapes {sorted(n)}")

    @staticmethod
    def _check_times(t, name, allow_negative=False):
        bad = ~np.isfinite(t)
        if not allow_negative:
            bad |= t < 0
        if bad.any():
            idx = np.flatnonzero(bad)[:20].tolist()
            rule = "finite" if allow_negative else "finite and >= 0"
            raise InputError(f"{name}: values must be {rule}; bad at positions {idx}: "
                             f"{t[bad][:20].tolist()}")

    def causes(self) -> list[int]:
        return sorted(int(c) for c in np.unique(self.event) if c > 0)
