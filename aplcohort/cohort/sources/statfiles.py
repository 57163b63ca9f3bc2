"""SPSS (``.sav``, ``.zsav``), Stata (``.dta``) and SAS (``.sas7bdat``, ``.xpt``) files.

Read with `pyreadstat <https://github.com/Roche/pyreadstat>`_ (the ReadStat C
library; the optional extra ``aplcohort[stats-files]``). What we do with what the
file knows:

* **value labels are used as codes**: a cell whose value has a label (SPSS value
  labels, Stata label sets, SAS formats) is replaced by the label text, so
  ``1 = "ATO+ATRA"`` reaches the validator as ``ATO+ATRA`` and the mapping's
  ``values:`` maps labels, exactly as for a spreadsheet holding the labels. Values
  without a label are kept as they are.
* **variable labels are kept** in ``Cohort.source["variable_labels"]``.
* **user-missing values are missing and recorded**: SPSS user-missing values and
  ranges, Stata extended missing values ``.a``-``.z`` and SAS special missing values
  ``.A``-``.Z``/``._`` become missing cells, and each one is listed in
  ``Cohort.source["user_missing"]`` (row, column, value, label) and summarised in
  the load notes.
* dates, times and numbers stay typed (``datetime.date``, float), as in an .xlsx.

We read through pyreadstat rather than ``pandas.read_spss``/``read_stata`` because
only pyreadstat gives user-missing values and every label in one place for the four
formats.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..types import as_text

EXTENSIONS = {".sav": "spss", ".zsav": "spss", ".dta": "stata", ".sas7bdat": "sas",
              ".xpt": "sas-xport"}


def _pyreadstat(path):
    try:
        import pyreadstat
    except ImportError:
        from ..io import UnsupportedFormatError
        raise UnsupportedFormatError(
            f"{path}: reading SPSS, Stata and SAS files needs the optional pyreadstat package; "
            "install it with pip install \"aplcohort[stats-files]\" (or save the table as "
            "CSV or XLSX)") from None
    return pyreadstat


def read_stats_file(path: Path, encoding: str | None = None) -> tuple[pd.DataFrame, dict]:
    """Read an SPSS/Stata/SAS file as a raw table (see module docstring).

    Parameters
    ----------
    path : Path
    encoding : str, optional
        Text encoding of an old file that does not record it (passed to ReadStat).

    Returns
    -------
    (DataFrame, dict)
        Cells as objects; info with ``format``, ``variable_labels``,
        ``value_labels_applied`` and ``user_missing``.
    """
    from ..io import EmptyFileError, NotATableError
    kind = EXTENSIONS[path.suffix.lower()]
    prs = _pyreadstat(path)
    reader = {"spss": prs.read_sav, "stata": prs.read_dta, "sas": prs.read_sas7bdat,
              "sas-xport": prs.read_xport}[kind]
    kw = {}
    if kind in ("spss", "stata", "sas"):
        kw["user_missing"] = True
        kw["apply_value_formats"] = False  # labels are applied below, with a record
    if encoding is not None:
        kw["encoding"] = encoding
    if path.stat().st_size == 0:
        raise EmptyFileError(f"{path}: the file is empty")
    try:
        df, meta = reader(str(path), **kw)
    except Exception as exc:  # ReadStat raises its own error types for damaged files
        raise NotATableError(f"{path}: could not be read as a {kind.upper()} file "
                             f"({type(exc).__name__}: {exc})") from None
    df = df.astype(object).where(pd.notna(df), None)
    labels = getattr(meta, "variable_value_labels", None) or {}
    ranges = getattr(meta, "missing_ranges", None) or {}
    user_vals = getattr(meta, "missing_user_values", None) or {}
    var_labels = {str(k): str(v) for k, v in (meta.column_names_to_labels or {}).items()
                  if v not in (None, "")}
    user_missing = []
    for col in df.columns:
        # a copy: under pandas 3 (copy-on-write) to_numpy() is a read-only view
        vals = df[col].to_numpy(dtype=object, copy=True)
        lab = labels.get(col, {})
        miss = np.zeros(len(vals), bool)
        numeric = any(isinstance(x, (int, float, np.integer, np.floating)) for x in vals)
        for i, v in enumerate(vals):
            if v is None:
                continue
            if col in ranges and isinstance(v, (int, float, np.integer, np.floating)):
                miss[i] = any(r["lo"] <= v <= r["hi"] for r in ranges[col])
            if col in ranges and isinstance(v, str):
                miss[i] = any(r["lo"] == v for r in ranges[col])
            if col in user_vals and not miss[i]:
                miss[i] = any(_same(v, u) for u in user_vals[col])
            if kind in ("stata", "sas") and numeric and isinstance(v, str) and \
                    len(v) == 1 and (v.isalpha() or v == "_"):
                miss[i] = True  # an extended missing value .a-.z in a numeric variable
        for i in np.flatnonzero(miss):
            v = vals[i]
            user_missing.append({"row": int(i) + 2, "column": str(col),
                                 "value": as_text(v) if kind == "spss" else f".{v}",
                                 "label": _label_of(lab, v)})
            vals[i] = None
        if lab:
            vals = np.array([_label_of(lab, v) if v is not None and _label_of(lab, v) is not None
                             else v for v in vals] + [None], dtype=object)[:-1]
        df[col] = pd.Series(vals, dtype=object)
    info = {"format": kind, "variable_labels": var_labels,
            "value_labels_applied": sorted(str(c) for c in labels if c in df.columns),
            "user_missing": user_missing}
    notes = []
    if info["value_labels_applied"]:
        notes.append(f"{path}: value labels used as codes in "
                     + ", ".join(info["value_labels_applied"]))
    if user_missing:
        by_col: dict = {}
        for u in user_missing:
            by_col[u["column"]] = by_col.get(u["column"], 0) + 1
        notes.append(f"{path}: {len(user_missing)} user-missing value(s) read as missing ("
                     + ", ".join(f"{c}: {n}" for c, n in by_col.items())
                     + "); listed in source['user_missing']")
    info["source_notes"] = notes
    df = df.reset_index(drop=True)
    if kind in ("stata", "sas", "sas-xport"):
        # a number in a date column is a day count from 1960-01-01 here, never an Excel
        # serial: the validator's message and sas_stata_dates rely on this
        df.attrs["day_number_origin"] = "1960-01-01"
    return df, info


def _same(v, u) -> bool:
    try:
        return v == u or (isinstance(v, str) and isinstance(u, str) and v.lower() == u.lower())
    except (TypeError, ValueError):
        return False


def _label_of(lab: dict, v):
    if v is None or not lab:
        return None
    if v in lab:
        return str(lab[v])
    if isinstance(v, float) and v.is_integer() and int(v) in lab:
        return str(lab[int(v)])
    return None
