"""Checks of keyword arguments shared by the public functions.

A setting the toolkit accepts changes the result, or it is rejected with a message: a
string such as ``"no"`` given for a boolean is truthy in Python and would silently turn the
option on, so booleans are checked, not coerced.
"""

from __future__ import annotations

import numbers

import numpy as np

from .errors import InputError


def check_bool(name: str, value, *, allow_none: bool = False):
    """``value`` as a Python bool; only ``True``/``False`` (numpy bools included) pass.

    Examples
    --------
    >>> check_bool("robust", np.True_)
    True
    >>> check_bool("robust", "no")
    Traceback (most recent call last):
    ...
    aplcohort.errors.InputError: robust must be True or False; got 'no'
    """
    if value is None and allow_none:
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise InputError(f"{name} must be True or False{' (or None)' if allow_none else ''}; "
                     f"got {value!r}")


def check_int(name: str, value, *, minimum: int | None = None, allow_none: bool = False):
    """``value`` as a Python int (not a bool, not a float), at least ``minimum``.

    Examples
    --------
    >>> check_int("max_iter", 20, minimum=1)
    20
    >>> check_int("max_iter", 0, minimum=1)
    Traceback (most recent call last):
    ...
    aplcohort.errors.InputError: max_iter must be an integer >= 1; got 0
    """
    if value is None and allow_none:
        return None
    ok = isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))
    if not ok or (minimum is not None and int(value) < minimum):
        bound = f" >= {minimum}" if minimum is not None else ""
        raise InputError(f"{name} must be an integer{bound}; got {value!r}")
    return int(value)


def check_conf_level(conf_level) -> float:
    """``conf_level`` as a float strictly between 0 and 1, checked as ``coxph`` and
    ``kaplan_meier`` check it (``95`` for 95 % is refused: it would give NaN limits).

    Examples
    --------
    >>> check_conf_level(0.9)
    0.9
    >>> check_conf_level(95)
    Traceback (most recent call last):
    ...
    aplcohort.errors.InputError: conf_level must be a number strictly between 0 and 1, e.g. 0.95 for 95 % intervals; got 95
    """
    ok = isinstance(conf_level, numbers.Real) and not isinstance(conf_level, (bool, np.bool_))
    if ok and 0.0 < float(conf_level) < 1.0:
        return float(conf_level)
    shown = f"{float(conf_level):g}" if ok else repr(conf_level)
    raise InputError("conf_level must be a number strictly between 0 and 1, e.g. 0.95 for "
                     f"95 % intervals; got {shown}")
