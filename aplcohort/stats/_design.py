"""Design matrices for the Cox front-ends.

Naming scheme (R-like, as ``model.matrix`` with treatment contrasts): a numeric
covariate ``age`` gives the term ``"age"``; a categorical covariate ``sex`` with
reference level ``"M"`` gives one indicator column per non-reference level, named
``<column><level>``, e.g. ``"sexF"``; ``ph_ecog`` with reference ``0`` gives
``"ph_ecog1"``, ``"ph_ecog2"``.  These are the names R's ``coxph`` prints, so a
table can be compared with R output line by line.

Which covariates are categorical:

* every column named in ``categorical={column: reference_level}`` (a list of names, or
  a dict value ``None``, takes the first level as the reference);
* every non-numeric column (object, string, category, boolean) not named there,
  with the FIRST level as reference (levels of a pandas ``Categorical`` in their
  category order, otherwise sorted unique values).  The reference actually used
  is always recorded in :attr:`Design.reference_levels` and reported in the
  result's ``choices``.

Numeric columns are used as they are.  Missing values are never dropped here:
they raise :class:`aplcohort.errors.InputError` naming the rows.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import InputError


@dataclass(frozen=True, eq=False)
class Design:
    """A numeric design matrix with its term bookkeeping.

    Attributes
    ----------
    XT : ndarray, shape (p, n)
        The design held transposed (C-ordered): one contiguous row per column, the
        layout the Cox kernel works on.
    X : ndarray, shape (n, p)
        The usual C-ordered design (built from ``XT`` on first use and kept).
    names : tuple of str
        Column (term) names, e.g. ``("age", "sexF")``.
    assign : dict
        ``{covariate: (column indices,)}`` in covariate order (as R's ``assign``);
        used to group the columns of one categorical covariate (e.g. cox.zph df).
    reference_levels : dict
        ``{covariate: reference level}`` for every categorical covariate.
    levels : dict
        ``{covariate: (all levels, reference first)}``.
    """

    XT: np.ndarray
    names: tuple
    assign: dict
    reference_levels: dict = field(default_factory=dict)
    levels: dict = field(default_factory=dict)

    @functools.cached_property
    def X(self) -> np.ndarray:
        # the (n, p) C-ordered copy other estimators take, made only when asked for
        # (a strided copy: at 1e6 x 7 it cost a fifth of a public coxph call)
        return np.ascontiguousarray(self.XT.T)


def _is_categorical(s: pd.Series) -> bool:
    dt = s.dtype
    if isinstance(dt, np.dtype) and dt.kind in "fiu":     # plain numeric: the common case
        return False
    return not (pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s))


def _levels_of(s: pd.Series) -> list:
    if isinstance(s.dtype, pd.CategoricalDtype):
        present = set(s.dropna().unique())
        return [c for c in s.cat.categories if c in present]
    vals = s.dropna().unique().tolist()
    try:
        return sorted(vals)
    except TypeError:
        return sorted(vals, key=str)


def _match_level(levels, ref):
    for lv in levels:
        if lv == ref or str(lv) == str(ref):
            return lv
    return None


def labels_text(labels, k: int = 20) -> str:
    """Row labels or ids for a message: plain values (``3``, ``SYN-008``, not
    ``np.int64(3)``), the first ``k`` then how many more.

    >>> labels_text([np.int64(2), np.int64(5)])
    '2, 5'
    >>> labels_text(range(25), k=3)
    '0, 1, 2 (+22 more)'
    """
    labels = list(labels)
    shown = [v.item() if isinstance(v, np.generic) else v for v in labels[:k]]
    more = f" (+{len(labels) - k} more)" if len(labels) > k else ""
    return ", ".join(str(v) for v in shown) + more


def plural(n: int, word: str) -> str:
    """``"1 row"``, ``"3 rows"`` (regular plurals only)."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _kind_of(value) -> str:
    if isinstance(value, np.ndarray):
        return "a numpy array"
    if isinstance(value, (pd.Series, pd.Index, pd.DataFrame)):
        return f"a pandas {type(value).__name__}"
    name = type(value).__name__
    return f"an {name}" if name[:1] in "aeiou" else f"a {name}"


def column_arg(value, arg: str, *, optional: bool = True):
    """``value`` of a column argument (``time=``, ``weights=``, ...) of a DataFrame
    front-end: a column label, or None when ``optional``. Arrays and Series are refused
    with the way to pass them (the front-ends take column names; the array-level
    functions such as :func:`~aplcohort.stats.km.kaplan_meier` take arrays)."""
    if value is None and optional:
        return None
    if isinstance(value, (np.ndarray, pd.Series, pd.Index, list, tuple, dict, set)) or \
            not isinstance(value, (str, int, np.integer)) or isinstance(value, bool):
        what = _kind_of(value)
        raise InputError(f"{arg}= takes the name of a column of data, not {what}; add the "
                         f"values as a column first, e.g. data = data.assign(my_{arg}=values), "
                         f"then pass {arg}='my_{arg}'")
    return value


def as_columns(value, arg: str = "covariates") -> list:
    """A list of column names from ``value``: one name (a string) is one column, as for
    ``strata=``; a list/tuple of names as given. Anything else (an array, a Series, a
    dict) is refused with a message.

    >>> as_columns("age")
    ['age']
    """
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, (pd.Series, pd.DataFrame, np.ndarray, dict)) or \
            not hasattr(value, "__iter__"):
        raise InputError(f"{arg}= takes column names (a name or a list of names), not "
                         f"{_kind_of(value)}")
    cols = list(value)
    bad = [c for c in cols if not isinstance(c, (str, int, np.integer)) or isinstance(c, bool)]
    if bad:
        raise InputError(f"{arg}= takes column names; {bad[:3]!r} "
                         f"{'is not a name' if len(bad) == 1 else 'are not names'}")
    return cols


def as_categorical(categorical, arg: str = "categorical") -> dict:
    """``categorical=`` as ``{column: reference level or None}``.

    A dict gives the reference level of each column; a list of names (or one name)
    marks those columns categorical with their first level as the reference (as a
    dict value ``None`` does, and as in :mod:`aplcohort.adjust`).

    >>> as_categorical(["ecog"])
    {'ecog': None}
    """
    if categorical is None:
        return {}
    if isinstance(categorical, dict):
        return dict(categorical)
    if isinstance(categorical, pd.Series):
        raise InputError(f"{arg}= takes {{column: reference level}} or a list of column "
                         "names, not a pandas Series")
    return {c: None for c in as_columns(categorical, arg)}


def check_columns(data: pd.DataFrame, columns, role: str = "column") -> None:
    """Raise InputError if any of ``columns`` is missing from ``data``."""
    if not isinstance(data, pd.DataFrame):
        raise InputError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    missing = [c for c in columns if c not in data.columns]
    if missing:
        raise InputError(
            f"{role} {missing} not found in data; available columns: {list(data.columns)}"
        )


def _column_has_na(s: pd.Series) -> bool:
    """True when the column has a missing value (numpy-speed for numeric dtypes)."""
    dt = s.dtype
    if isinstance(dt, np.dtype):
        if dt.kind in "iub":
            return False                                  # cannot hold NaN
        if dt.kind == "f":
            return bool(np.isnan(s.to_numpy()).any())
    return bool(s.isna().to_numpy().any())


def check_complete(data: pd.DataFrame, columns, *, id=None, suggest=None) -> None:
    """Raise InputError naming the rows (or, with ``id``, the patients) with a missing
    value in ``columns``.

    ``id``: an array of the patient ids of ``data``'s rows; the message then names and
    counts patients. ``suggest``: the columns of the ``dropna`` suggestion (default
    ``columns``), for callers whose model columns are not all the user's.
    """
    columns = list(columns)
    # fast scan column by column (no sub-DataFrame); the report below is built only
    # when something is missing
    if not any(_column_has_na(data[c]) for c in dict.fromkeys(columns)):
        return
    sub = data[list(dict.fromkeys(columns))]
    bad = sub.isna()
    if bad.values.any():
        rows = np.flatnonzero(bad.values.any(axis=1))
        hint = ("Rows are never dropped silently: drop or impute them first, e.g. "
                f"data = data.dropna(subset={list(suggest if suggest is not None else dict.fromkeys(columns))!r})")
        if id is not None:
            ids_all = np.asarray(id, dtype=object)
            ids = pd.unique(ids_all[rows])
            per_col = {c: len(pd.unique(ids_all[bad[c].to_numpy()]))
                       for c in sub.columns if bad[c].any()}
            raise InputError(
                f"missing values in the model columns ({_counts_text(per_col, 'patient')}); "
                f"{plural(len(ids), 'patient')} in all, ids {labels_text(ids)}. {hint}")
        per_col = {c: int(bad[c].sum()) for c in sub.columns if bad[c].any()}
        raise InputError(
            f"missing values in the model columns ({_counts_text(per_col, 'row')}); "
            f"{plural(len(rows), 'row')} in all, index {labels_text(data.index[rows])}. {hint}")


def _counts_text(per_col: dict, word: str) -> str:
    return ", ".join(f"{c!r}: {plural(n, word)}" for c, n in per_col.items())


def build_design(data: pd.DataFrame, covariates, categorical=None) -> Design:
    """Build the design matrix of ``covariates`` from ``data``.

    Parameters
    ----------
    data : DataFrame
    covariates : str or sequence of str
        Column names, in the order the terms should appear (one string = one column).
    categorical : dict or sequence of str, optional
        ``{column: reference level}``, or column names whose first level is the
        reference; see the module docstring for the rule applied to non-numeric
        columns not listed.

    Returns
    -------
    Design

    Examples
    --------
    >>> import pandas as pd
    >>> d = build_design(pd.DataFrame({"age": [50, 60, 70], "sex": ["M", "F", "M"]}),
    ...                  ["age", "sex"], {"sex": "M"})
    >>> d.names
    ('age', 'sexF')
    """
    categorical = as_categorical(categorical)
    covariates = as_columns(covariates)
    if len(set(covariates)) != len(covariates):
        dup = sorted({c for c in covariates if covariates.count(c) > 1}, key=str)
        raise InputError(f"covariates name {dup} more than once: {covariates}")
    unknown = [c for c in categorical if c not in covariates]
    if unknown:
        raise InputError(f"categorical= names {unknown} that are not in covariates={covariates}")
    check_columns(data, covariates, "covariate")
    # float columns: one isfinite pass each; when all are finite they have no NaN and no
    # inf, so only the other columns need the NA scan and the loop skips their finite
    # check (the same errors, in the same order, when something is wrong)
    finite = {}
    for c in covariates:
        dt = data[c].dtype
        if isinstance(dt, np.dtype) and dt.kind == "f":
            finite[c] = bool(np.isfinite(data[c].to_numpy()).all())
    if finite and all(finite.values()):
        check_complete(data, [c for c in covariates if c not in finite])
    else:
        check_complete(data, covariates)
    cols, names, assign, refs, levels_out = [], [], {}, {}, {}
    for cov in covariates:
        s = data[cov]
        if cov in categorical or _is_categorical(s):
            levels = _levels_of(s)
            if categorical.get(cov) is not None:
                ref = _match_level(levels, categorical[cov])
                if ref is None:
                    raise InputError(
                        f"reference level {categorical[cov]!r} for {cov!r} is not among its "
                        f"levels {levels}; pass one of these as categorical={{{cov!r}: level}}"
                    )
            else:
                ref = levels[0]
            if len(levels) < 2:
                raise InputError(f"categorical covariate {cov!r} has a single level {levels}; "
                                 "drop it from covariates")
            others = [lv for lv in levels if lv != ref]
            idx = []
            for lv in others:
                cols.append((s == lv).to_numpy(dtype=float))
                idx.append(len(names))
                names.append(f"{cov}{lv}")
            assign[cov] = tuple(idx)
            refs[cov] = ref
            levels_out[cov] = tuple([ref] + others)
        else:
            x = s.to_numpy(dtype=float)
            if not finite.get(cov, False) and not np.all(np.isfinite(x)):
                bad = np.flatnonzero(~np.isfinite(x))
                raise InputError(f"covariate {cov!r} has non-finite values (inf) in "
                                 f"{plural(len(bad), 'row')} with index "
                                 f"{labels_text(data.index[bad])}")
            cols.append(x)
            assign[cov] = (len(names),)
            names.append(cov)
    # held transposed, (p, n) C-ordered: filling it is one contiguous copy per column
    # (column_stack into (n, p) writes with a stride of p), and the Cox kernel works
    # on this layout without a copy; Design.X is the (n, p) copy, made when asked for
    XT = np.empty((len(cols), len(data)))
    for j, c in enumerate(cols):
        XT[j] = c
    # constant or aliased columns are not an error: the estimators report them as not
    # estimable (coefficient NA with the reason), as R does
    return Design(XT, tuple(names), assign, refs, levels_out)
