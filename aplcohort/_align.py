"""Pairing of per-row inputs given as separate pandas Series (one rule for the whole API).

The functions that take one value per row in separate arguments (``time``, ``event``,
``group``, ``strata``, ``entry``, ``weights``, ...) pair the rows as follows:

* pandas Series (and DataFrames) are paired **by index label**, as pandas does: when two or
  more of them have indexes that differ but hold the same labels (e.g. a column of a
  sorted or shuffled copy of the data), they are put in the order of the first one given
  (normally ``time``). Nothing is re-paired by position behind the user's back.
* When their labels differ (a column of another table, of a filtered copy, or repeated
  labels), the rows cannot be paired by label, and :class:`~aplcohort.errors.InputError`
  says so: pass columns of one table, or ``.to_numpy()`` to pair them by position on
  purpose.
* NumPy arrays and lists carry no labels and are taken by position (in the order of the
  first Series, after the alignment above).

Series of different lengths are left to the function's own length check.
"""

from __future__ import annotations

import pandas as pd

from .errors import InputError

__all__ = ["align_rows", "align_to_index"]


def _labels_text(labels, k: int = 5) -> str:
    vals = [v.item() if hasattr(v, "item") else v for v in list(labels)[:k]]
    more = f" and {len(labels) - k} more" if len(labels) > k else ""
    return ", ".join(repr(v) for v in vals) + more


def align_to_index(name: str, value, index: pd.Index, *, ref: str, who: str):
    """``value`` (a Series or DataFrame) in the order of ``index`` (the labels of ``ref``).

    Returns ``value`` unchanged when its index equals ``index`` or when it is not a pandas
    object, or when the lengths differ (the caller's length check reports that). Raises
    :class:`InputError` when the labels differ.

    Examples
    --------
    >>> import pandas as pd
    >>> s = pd.Series(["a", "b", "c"], index=[10, 11, 12])
    >>> align_to_index("group", s, pd.Index([12, 10, 11]), ref="time", who="f").tolist()
    ['c', 'a', 'b']
    >>> align_to_index("group", s, pd.Index([1, 2, 3]), ref="time", who="f")
    Traceback (most recent call last):
    ...
    aplcohort.errors.InputError: f: group and time are pandas Series with different index labels (labels 10, 11, 12 of group are not in the index of time), so their rows cannot be paired; pass columns of the same table, or .to_numpy() to pair the rows by position
    """
    if not isinstance(value, (pd.Series, pd.DataFrame)):
        return value
    idx = value.index
    if idx is index or len(idx) != len(index) or idx.equals(index):
        return value
    hint = ("pass columns of the same table, or .to_numpy() to pair the rows by position")
    if not (idx.is_unique and index.is_unique):
        raise InputError(f"{who}: {name} and {ref} are pandas Series whose indexes differ and "
                         f"repeat labels, so their rows cannot be paired by label; {hint}")
    missing = idx[~idx.isin(index)]
    if len(missing):
        raise InputError(f"{who}: {name} and {ref} are pandas Series with different index "
                         f"labels (labels {_labels_text(missing)} of {name} are not in the "
                         f"index of {ref}), so their rows cannot be paired; {hint}")
    return value.reindex(index)


# arguments whose values become printed labels (curves, table rows, legends)
_GROUPING = frozenset({"group", "groups", "strata"})


def _refuse_identifying_group(who: str, name: str, value: pd.Series) -> None:
    """Refuse a ``group``/``strata`` Series that is an identifying column (a name, MRN,
    birth date... by its name, or marked by the data's source): each patient would be a
    group of their own, printed in every table and legend (the plans refuse the same
    columns; :mod:`aplcohort.plan.identifiers`)."""
    if value.name is None:
        return
    from .plan.identifiers import _what, describe, recorded_identifiers
    what = _what(value.name, recorded_identifiers(value))
    if what is None:
        return
    raise InputError(f"{who}: {name} is column {str(value.name)!r}, which {describe(what)}: "
                     f"grouping by it prints patients' identifiers as group labels in every "
                     f"result, table and figure; group by a study variable, or pass "
                     f"{name}=<column>.to_numpy() if identified output is intended and "
                     f"permitted")


def align_rows(who: str, **inputs) -> tuple:
    """The ``inputs`` values, in the order given, with pandas objects paired by label.

    The first Series/DataFrame among ``inputs`` sets the row order; every other one is
    reindexed to it when it holds the same labels in another order (see the module
    docstring), and an :class:`InputError` names the two arguments when the labels differ.
    Values that are not pandas objects are returned as they are. A ``group``, ``groups``
    or ``strata`` Series that is an identifying column (its name looks like a name, MRN,
    birth date..., or the loader marked it) is refused: its labels would print patients'
    identifiers (pass ``.to_numpy()`` to group by it on purpose).

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.Series([5.0, 3.0, 8.0], index=["p1", "p2", "p3"])
    >>> g = pd.Series(["B", "A", "A"], index=["p3", "p2", "p1"])
    >>> time, group = align_rows("kaplan_meier", time=t, group=g)
    >>> group.tolist()
    ['A', 'A', 'B']
    """
    ref = None
    out = []
    for name, value in inputs.items():
        if name in _GROUPING and isinstance(value, pd.Series):
            _refuse_identifying_group(who, name, value)
        if isinstance(value, (pd.Series, pd.DataFrame)):
            if ref is None:
                ref = (name, value.index)
            else:
                value = align_to_index(name, value, ref[1], ref=ref[0], who=who)
        out.append(value)
    return tuple(out)
