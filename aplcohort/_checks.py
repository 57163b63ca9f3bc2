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


#: Largest seed accepted (0 .. 2**63 - 1, a signed 64-bit integer): numpy's generators
#: would take any size, but a seed is printed and recorded in provenance.
MAX_SEED = 2**63 - 1


def check_seed(value, name: str = "seed", *, error=InputError) -> int:
    """``value`` as a seed: a Python or numpy integer from 0 to :data:`MAX_SEED`.

    Examples
    --------
    >>> check_seed(2022)
    2022
    >>> check_seed(10**30)
    Traceback (most recent call last):
    ...
    aplcohort.errors.InputError: seed must be a non-negative integer, at most 2**63 - 1 (9223372036854775807); got a number with 31 digits
    """
    ok = isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))
    if ok and 0 <= int(value) <= MAX_SEED:
        return int(value)
    if ok:
        digits = len(str(abs(int(value)))) if abs(int(value)) < 10**4000 else None
        shown = (str(int(value)) if digits is not None and digits <= 20 else
                 f"a number with {digits} digits" if digits is not None else
                 "a number with thousands of digits")
    else:
        shown = repr(value) if isinstance(value, (str, float)) else type(value).__name__
    raise error(f"{name} must be a non-negative integer, at most 2**63 - 1 ({MAX_SEED}); "
                f"got {shown}")


def seed_arg(text: str) -> int:
    """argparse ``type=`` for ``--seed``: ``int`` for a value of up to 40 characters (its
    range is checked by the command, :func:`check_seed`); a longer value is refused in one
    short line (``int`` would echo all of it, or give Python's digit-limit advice)."""
    import argparse
    t = str(text).strip()
    if len(t) > 40:
        raise argparse.ArgumentTypeError(
            f"must be a non-negative integer, at most 2**63 - 1; got {t[:20]!r}... "
            f"({len(t):,} characters)")
    return int(t)  # ValueError: argparse says "invalid int value: 'abc'"


seed_arg.__name__ = "int"  # argparse names the type in "invalid int value"
