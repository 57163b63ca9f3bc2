"""Shared helpers of :mod:`aplcohort.adjust` (design matrices, checks, warnings).

We build our own small design matrices here instead of reusing the Cox
front-end's private helper because balance needs *every* level of a factor (as
``MatchIt::summary`` / cobalt report them), while a model needs treatment
contrasts; both are built from one level order so that they agree.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import InputError

#: Events per covariate (model degree of freedom) below which a warning is given.
MIN_EVENTS_PER_COVARIATE = 10
#: Effective sample size (Kish) of a group below which a warning is given.
MIN_ESS = 10.0


def name_rows(data: pd.DataFrame, rows, limit: int = 10) -> str:
    """``"rows 0, 3 (patient_id SYN-001, SYN-004)"``: row labels of ``data`` for a message,
    with the patients' ids when ``data`` has a ``patient_id`` column (at most ``limit``
    shown, then how many more)."""
    rows = list(rows)
    shown = rows[:limit]
    more = f" and {len(rows) - limit} more" if len(rows) > limit else ""
    text = f"row{'s' if len(rows) != 1 else ''} {', '.join(str(r) for r in shown)}{more}"
    if "patient_id" in data.columns:
        ids = [str(v) for v in data.loc[shown, "patient_id"].tolist()]
        if ids != [str(r) for r in shown]:
            text += f" (patient_id {', '.join(ids)}{more})"
    return text


def plain(v):
    """``v`` with numpy scalars as the Python values they hold (``np.int64(1)`` -> ``1``,
    ``np.str_('IC')`` -> ``'IC'``), in lists and tuples too: group values in messages,
    notes and result attributes read as the data's values, not as numpy reprs.

    Examples
    --------
    >>> plain([np.int64(0), np.float64(1.5), "IC"])
    [0, 1.5, 'IC']
    """
    if isinstance(v, (np.number, np.bool_, np.str_)):
        return v.item()
    if isinstance(v, (list, tuple)):
        return type(v)(plain(x) for x in v)
    return v


def check_columns(data, columns, role):
    if not isinstance(data, pd.DataFrame):
        raise InputError(f"data must be a pandas DataFrame; got {type(data).__name__}")
    missing = [plain(c) for c in columns if c not in data.columns]
    if missing:
        raise InputError(f"{role} column(s) {missing} not in the data; available: "
                         f"{list(data.columns)}")


def is_categorical(s: pd.Series) -> bool:
    return not (pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s))


def levels_of(s: pd.Series, order=None) -> list:
    """Level order: ``order`` if given, Categorical order, else sorted unique values.

    Levels are plain Python values (:func:`plain`), so messages and results show ``0``,
    not ``np.int64(0)``."""
    present = plain(list(pd.unique(s.dropna())))
    if order is not None:
        order = plain(list(order))
        extra = [v for v in present if v not in order]
        if extra:
            raise InputError(f"column {s.name!r} has values {extra} not in the given level "
                             f"order {order}")
        return [v for v in order if v in set(present)]
    if isinstance(s.dtype, pd.CategoricalDtype):
        return [v for v in plain(list(s.cat.categories)) if v in set(present)]
    try:
        return sorted(present)
    except TypeError:
        return sorted(present, key=str)


def complete_rows(data, columns, role):
    """Boolean mask of rows complete in ``columns`` and a DataFrame of the others.

    Returns ``(mask, excluded)``; ``excluded`` has columns ``row, reason``.
    """
    miss = data[list(columns)].isna()
    mask = ~miss.any(axis=1).to_numpy()
    rows = []
    for idx, r in miss[~mask].iterrows():
        cols = [c for c in columns if r[c]]
        rows.append((idx, f"missing {role}: {', '.join(map(str, cols))}"))
    return mask, pd.DataFrame(rows, columns=["row", "reason"])


def design(data: pd.DataFrame, covariates, categorical=None, full_dummies=False):
    """Numeric design (no intercept) for ``covariates``.

    Categorical covariates (non-numeric columns, or those named in
    ``categorical``: a list, or a dict ``{column: reference level}``) give
    indicator columns named ``<column>=<level>``: every level when
    ``full_dummies`` (balance), every level but the reference otherwise (model).
    Returns ``(X DataFrame, {column: [levels]})``.
    """
    cat = categorical or {}
    if isinstance(cat, str):   # one name, as covariates=
        cat = [cat]
    if isinstance(cat, (list, tuple, set)):
        cat = {c: None for c in cat}
    unknown = [c for c in cat if c not in covariates]
    if unknown:
        raise InputError(f"categorical names {unknown} that are not covariates {list(covariates)}")
    cols, levels = {}, {}
    for c in covariates:
        s = data[c]
        if c in cat or is_categorical(s):
            lv = levels_of(s)
            ref = cat.get(c)
            if ref is not None:
                if ref not in lv:
                    raise InputError(f"reference level {plain(ref)!r} of {c!r} not among "
                                     f"its levels {lv}")
                lv = [ref] + [v for v in lv if v != ref]
            levels[c] = lv
            if len(lv) < 2:
                raise InputError(f"covariate {c!r} has a single level {lv} in the analysed rows; "
                                 "it cannot adjust for anything: drop it")
            for v in (lv if full_dummies else lv[1:]):
                cols[f"{c}={v}"] = (s == v).to_numpy(dtype=float)
        else:
            cols[c] = s.to_numpy(dtype=float)
    return pd.DataFrame(cols, index=data.index), levels


def kish_ess(w) -> float:
    """Kish effective sample size ``(sum w)^2 / sum w^2``."""
    w = np.asarray(w, float)
    return float(w.sum() ** 2 / np.sum(w ** 2)) if w.size else 0.0
