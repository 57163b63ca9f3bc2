"""The cohort table as known at each patient's data cut-off (for counts).

The endpoints (:func:`aplcohort.cohort.endpoints.endpoint_arrays`) ignore an event
dated after the patient's ``data_cutoff_date`` and censor at the cut-off; an event
on the cut-off day counts, and a missing cut-off means none. A count of such events
(how many second relapses, salvages, deaths) must follow the same rule, or one
table shows "5 second relapses" beside a cumulative incidence built on 4.
:func:`as_of_cutoff` applies it to the table: the events the endpoints censor
(death, second relapse, count recovery) and what is recorded about them (the cause
of death; the salvage after a second relapse, its start, the status after it and
a third remission) are blanked when dated after the cut-off, and the derived
``vital_status`` becomes ``alive``. Everything else (groups, regimens, responses)
is kept as recorded, as the endpoints keep it.
"""

from __future__ import annotations

import pandas as pd

#: Event date -> (what the event is called, columns recorded about the event). When the
#: date is after the patient's cut-off, the date and these columns are blanked.
CUTOFF_EVENTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "relapse2_date": ("second relapse",
                      ("salvage2_modality", "salvage2_start_date", "status_after_salvage2",
                       "cr3_date")),
    "salvage2_start_date": ("salvage after the second relapse",
                            ("salvage2_modality", "status_after_salvage2", "cr3_date")),
    "cr3_date": ("third remission", ()),
    "death_date": ("death", ("death_cause",)),
    "anc_recovery_date": ("neutrophil recovery", ()),
    "plt_recovery_date": ("platelet recovery", ()),
}


def as_of_cutoff(data: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, list[str]]]:
    """``data`` with the events after each patient's data cut-off not happened.

    Parameters
    ----------
    data : pandas.DataFrame
        A cohort table (``patient_id``, dates as datetimes). Without a
        ``data_cutoff_date`` column it is returned unchanged.

    Returns
    -------
    (DataFrame, dict)
        The table as known at the cut-off (a copy), and ``{patient_id: [events
        dated after the cut-off, e.g. "second relapse"]}`` for the patients it
        changed.

    Examples
    --------
    >>> d = pd.DataFrame({"patient_id": ["A", "B"],
    ...                   "relapse2_date": pd.to_datetime(["2006-01-14", "2004-05-01"]),
    ...                   "salvage2_modality": ["allo HSCT", "ATO-based"],
    ...                   "death_date": pd.to_datetime([None, "2005-12-31"]),
    ...                   "vital_status": ["alive", "dead"],
    ...                   "data_cutoff_date": pd.to_datetime(["2005-12-31", "2005-12-31"])})
    >>> cut, after = as_of_cutoff(d)
    >>> cut["salvage2_modality"].tolist(), cut["vital_status"].tolist(), after
    ([None, 'ATO-based'], ['alive', 'dead'], {'A': ['second relapse']})
    """
    out = data.copy()
    changed: dict[str, list[str]] = {}
    if "data_cutoff_date" not in out.columns or not len(out):
        return out, changed
    cut = pd.to_datetime(out["data_cutoff_date"])
    for col, (what, about) in CUTOFF_EVENTS.items():
        if col not in out.columns:
            continue
        # an event on the cut-off day counts; a missing cut-off is none (endpoint_arrays)
        after = (pd.to_datetime(out[col]) > cut).fillna(False).to_numpy(dtype=bool)
        if not after.any():
            continue
        for c in (col, *about):
            if c in out.columns:
                out.loc[after, c] = pd.NaT if pd.api.types.is_datetime64_any_dtype(out[c]) else None
        if col == "death_date" and "vital_status" in out.columns:
            out.loc[after, "vital_status"] = "alive"
        for pid in out.loc[after, "patient_id"].astype(str):
            if what not in changed.setdefault(pid, []):
                changed[pid].append(what)
    return out, changed


def describe(changed: dict[str, list[str]]) -> str:
    """``"KH-018 (second relapse); KH-020 (death)"`` for the patients :func:`as_of_cutoff` changed.

    >>> describe({"A": ["second relapse"], "B": ["death"]})
    'A (second relapse); B (death)'
    """
    return "; ".join(f"{pid} ({', '.join(ev)})" for pid, ev in changed.items())
