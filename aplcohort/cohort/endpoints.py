"""Endpoint derivation: from dates to (time, event) for a chosen time zero.

Definitions (also in ``docs/endpoints.md``); all times are calendar days from
time zero (date differences), converted to months (/ 30.4375) or years
(/ 365.25) on request.

Time zero
    ``relapse1`` (relapse1_date), ``reinduction`` (reinduction_start_date),
    ``response`` (response_date of patients in remission: a best response
    that counts as remission for the patient's disease, :data:`REMISSION_BY_DISEASE`:
    CR2 or mCR2 for APL; CR (recorded CR2), MRD-negative CR, CRh or CRi for AML
    and ALL; not MLFS or PR),
    ``mcr2`` (response_date of patients with response mCR2 only),
    ``postremission`` (postremission_start_date of patients whose
    postremission_modality is not ``none``), or any date column of the
    dictionary. A patient without a time zero is **excluded** from the
    endpoint's analysis set and the exclusion is recorded in the attrition log
    with the reason; nobody is given time 0 for a missing date.

End of follow-up
    Censoring date = the later of last_followup_date and death_date, capped at
    the data cut-off (``data_cutoff_date`` per patient, or ``cutoff=``).
    Events dated after the cut-off are ignored (the patient is censored at the
    cut-off); an event on the cut-off day counts.

Endpoints (``event``: 0 = censored)
    OS      death from any cause (1).
    EFS     failure to reach remission (a best response that is not a remission
            for the disease: ``none``, and PR / MLFS for AML and ALL: event at
            time 0), second relapse or death, whichever first (1). Patients with
            a missing response are excluded (recorded).
    RFS     (alias LFS; "duration of remission") from a remission time zero
            (response, mcr2, postremission or a date column, patients in
            remission only): second relapse or death, whichever first (1).
    CIR     1 = second relapse; 2 = death without a prior second relapse.
    NRM     1 = death without a prior second relapse; 2 = second relapse.
    ANC_recovery / PLT_recovery
            1 = anc/plt_recovery_date; 2 = death before recovery.

Same-day ties
    relapse2 and death on the same day: one RFS/EFS event that day; CIR counts
    the relapse (1) and NRM the relapse as the competing event (2), so CIR and
    NRM partition the same events. OS counts the death. Recovery and death on
    the same day: recovery (1). An event on the time-zero day has time 0 and
    counts (e.g. death on the day of relapse). An event before time zero (for
    a user-chosen date column) excludes the patient from that endpoint, with
    the reason recorded.
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import InputError
from ..stats.outcome import Outcome
from .attrition import AttritionLog
from .schema import TIME_ZERO_COLUMNS, load_dictionary
from .validate import check_required

DAYS_PER_MONTH = 30.4375
DAYS_PER_YEAR = 365.25
UNITS = {"days": 1.0, "months": DAYS_PER_MONTH, "years": DAYS_PER_YEAR}

ENDPOINTS = ("OS", "EFS", "RFS", "CIR", "NRM", "ANC_recovery", "PLT_recovery")
_ALIASES = {"LFS": "RFS", "DFS": None}
_KIND = {"OS": "survival", "EFS": "survival", "RFS": "survival", "CIR": "competing",
         "NRM": "competing", "ANC_recovery": "competing", "PLT_recovery": "competing"}
EVENT_CODES = {
    "OS": {0: "censored", 1: "death"},
    "EFS": {0: "censored", 1: "no remission, second relapse or death"},
    "RFS": {0: "censored", 1: "second relapse or death"},
    "CIR": {0: "censored", 1: "second relapse", 2: "death without second relapse"},
    "NRM": {0: "censored", 1: "death without second relapse", 2: "second relapse"},
    "ANC_recovery": {0: "censored", 1: "ANC recovery", 2: "death before recovery"},
    "PLT_recovery": {0: "censored", 1: "platelet recovery", 2: "death before recovery"},
}
DEFINITIONS = {
    "OS": "death from any cause",
    "EFS": "failure to reach remission (CR2/mCR2 for APL; CR, CRh or CRi for AML and ALL; "
           "event at time 0), second relapse, or death",
    "RFS": "second relapse or death, from a remission time zero",
    "CIR": "second relapse; death without second relapse competing (same day: relapse)",
    "NRM": "death without second relapse; second relapse competing (same day: relapse)",
    "ANC_recovery": "ANC >= 0.5 x10^9/L; death before recovery competing (same day: recovery)",
    "PLT_recovery": "platelets >= 20 x10^9/L; death before recovery competing (same day: recovery)",
}
_REMISSION_ENDPOINTS = ("RFS", "CIR", "NRM")

#: Best-response categories (the dictionary's ``response`` vocabulary) that count as
#: remission, by disease: they start the remission clock (time zero ``response``), make a
#: patient eligible for RFS / CIR / NRM, and are not an EFS failure.
#:
#: * APL: second complete remission, haematological (``CR2``) or molecular (``mCR2``).
#: * AML: CR (recorded ``CR2`` after a relapse), CR without MRD, CR with partial (``CRh``)
#:   or incomplete (``CRi``) haematological recovery: ELN 2022 defines relapse-free survival
#:   for patients achieving CR, CRh or CRi (Döhner H, et al. Blood 2022;140:1345, Table 8),
#:   and ADMIRAL reported remission duration for CR/CRh (Perl 2019). MLFS (marrow blasts
#:   < 5 % without count recovery) and PR are responses, not remission.
#: * ALL: CR (``CR2``, ``MRD-negative CR``), CRh, CRi: TOWER reported the duration of
#:   remission for CR/CRh/CRi (Kantarjian 2017). PR is not remission.
#:
#: To count fewer categories (e.g. CR only) pass ``remission=`` to :func:`derive_endpoint`.
REMISSION_BY_DISEASE: dict[str, tuple[str, ...]] = {
    "APL": ("CR2", "mCR2"),
    "AML": ("CR2", "MRD-negative CR", "CRh", "CRi"),
    "ALL": ("CR2", "MRD-negative CR", "CRh", "CRi"),
}


def _missing(v) -> bool:
    return v is None or (not isinstance(v, str) and pd.isna(v))


def in_remission(response, disease, remission=None):
    """Whether each best response counts as remission for the patient's disease.

    Parameters
    ----------
    response, disease : array-like of str
        The ``response`` and ``disease`` columns (missing values allowed).
    remission : sequence of str, optional
        The categories that count as remission for every disease (default:
        :data:`REMISSION_BY_DISEASE` per patient).

    Returns
    -------
    numpy.ndarray of bool
        False for a missing response and, with the default, for a missing or
        unknown disease.

    Examples
    --------
    >>> in_remission(["CRh", "CRh", "MLFS", "mCR2", "none"],
    ...              ["AML", "APL", "AML", "APL", "ALL"]).tolist()
    [True, False, False, True, False]
    >>> in_remission(["CRh", "CR2"], ["AML", "AML"], remission=["CR2"]).tolist()
    [False, True]
    """
    r = np.asarray(response, dtype=object)
    d = np.asarray(disease, dtype=object)
    out = np.zeros(len(r), dtype=bool)
    for i, (v, dis) in enumerate(zip(r, d)):
        if _missing(v):
            continue
        cats = remission if remission is not None else REMISSION_BY_DISEASE.get(dis, ())
        out[i] = v in cats
    return out


def _remission_label(disease, remission) -> str:
    """'CR2/mCR2' for APL; the category list otherwise (for exclusion reasons)."""
    cats = remission if remission is not None else REMISSION_BY_DISEASE.get(disease)
    if cats is None:
        return "remission"
    return "/".join(cats)


def canonical_endpoint(name: str) -> str:
    """Canonical endpoint name (case-insensitive; LFS -> RFS)."""
    key = str(name).strip().upper()
    if key == "LFS":
        return "RFS"
    for e in ENDPOINTS:
        if e.upper() == key:
            return e
    raise InputError(f"unknown endpoint {name!r}: use one of {', '.join(ENDPOINTS)} (LFS = RFS)")


# Grouping columns that describe a treatment, and the column holding its start date.
TREATMENT_START = {
    "postremission_modality": "postremission_start_date",
    "hsct": "hsct_start_date",
    "reinduction_regimen": "reinduction_start_date",
    "salvage2_modality": "salvage2_start_date",
}


def treatment_after_time_zero(data: pd.DataFrame, column: str) -> dict:
    """``{group: (n starting after time zero, n in group)}`` for a treatment column.

    Needs ``time_zero_date`` and the treatment's start-date column (``TREATMENT_START``);
    returns ``{}`` when ``column`` is not a treatment column or the dates are absent.
    """
    start = TREATMENT_START.get(column)
    if start is None or start not in data.columns or "time_zero_date" not in data.columns:
        return {}
    after = pd.to_datetime(data[start]) > pd.to_datetime(data["time_zero_date"])
    out = {}
    for g, sub in after.groupby(data[column].astype(object), sort=True):
        k = int(sub.sum())
        if k:
            out[str(g)] = (k, int(len(sub)))
    return out


@dataclass(frozen=True, eq=False)
class EndpointData:
    """An endpoint's analysis set.

    Attributes
    ----------
    name : str
        Canonical endpoint name.
    kind : {"survival", "competing"}
        ``survival``: event 0/1; ``competing``: 0 censored, 1 event of
        interest, 2 competing.
    unit : {"days", "months", "years"}
    time_zero : str
        Named time zero or date column.
    data : DataFrame
        ``[patient_id, time, event, time_zero_date, end_date, <cohort columns>]``.
    attrition : AttritionLog
        The cohort's log plus this endpoint's analysis-set step.
    excluded : DataFrame
        ``[patient_id, reason]`` of patients left out of this endpoint.
    event_codes : dict
        Meaning of each event code.
    definition : str
    """

    name: str
    kind: str
    unit: str
    time_zero: str
    data: pd.DataFrame
    attrition: AttritionLog
    excluded: pd.DataFrame
    event_codes: dict = field(default_factory=dict)
    definition: str = ""

    @property
    def time(self) -> np.ndarray:
        return self.data["time"].to_numpy(dtype=float)

    @property
    def event(self) -> np.ndarray:
        return self.data["event"].to_numpy(dtype=np.int64)

    @property
    def n(self) -> int:
        return len(self.data)

    def outcome(self) -> Outcome:
        """The checked :class:`~aplcohort.stats.outcome.Outcome` (right or competing)."""
        if self.kind == "survival":
            return Outcome.right(self.time, self.event)
        return Outcome.competing(self.time, self.event)

    def grouped(self, column: str, *, warn: bool = True):
        """``(time, event, group)`` for comparing groups of ``column``: ``time`` and
        ``event`` arrays, ``group`` a pandas ``Categorical`` whose categories are the
        column's levels present here in the data dictionary's order (ATO-based, auto
        HSCT, allo HSCT; low, intermediate, high), the order of a plan (docs/figures.md,
        "Group order"); a column without one keeps its Categorical order, else its
        levels sorted. The estimators (``kaplan_meier``, ``logrank_test``,
        ``cumulative_incidence`` ...) take the category order as the group order, the
        first level the reference; ``order=`` overrides it.

        Guards against immortal-time bias: when ``column`` is a treatment whose start
        date (see ``TREATMENT_START``) falls after this endpoint's time zero for some
        patients, an :class:`~aplcohort.errors.ImmortalTimeWarning` names the groups
        and the start column, because comparing those groups from time zero credits
        the waiting time to the treated groups. Patients with a missing group are an
        error (filter them explicitly first).

        Examples
        --------
        >>> from aplcohort.cohort import load  # doctest: +SKIP
        >>> ep = load("data/synthetic/min2022.csv").endpoint("OS", time_zero="response")  # doctest: +SKIP
        >>> t, e, g = ep.grouped("postremission_modality")  # doctest: +SKIP
        ImmortalTimeWarning: groups of 'postremission_modality' are defined by a treatment that starts after time zero (response) — ... 'auto HSCT': 12 of 12 patients start after it ...
        >>> list(g.categories)  # doctest: +SKIP
        ['ATO-based', 'auto HSCT', 'allo HSCT', 'none']
        """
        if column not in self.data.columns:
            raise InputError(f"{column!r} is not a column of the {self.name} analysis set")
        g = self.data[column]
        if g.isna().any():
            ids = self.data.loc[g.isna(), "patient_id"].astype(str).tolist()
            raise InputError(f"{len(ids)} patient(s) have no {column!r} ({', '.join(ids[:10])}); "
                             "filter them out explicitly (Cohort.filter) before comparing groups")
        if warn:
            late = treatment_after_time_zero(self.data, column)
            if late:
                import warnings
                from ..errors import ImmortalTimeWarning
                desc = "; ".join(f"'{k}': {v[0]} of {v[1]} patients" for k, v in late.items())
                warnings.warn(
                    f"groups of '{column}' are defined by a treatment that starts after time "
                    f"zero ({self.time_zero}) — {desc} start after it "
                    f"('{TREATMENT_START[column]}'). Comparing them from time zero credits the "
                    "waiting time to the treated groups (immortal-time bias): use a landmark "
                    "analysis or the treatment as time-dependent (aplcohort.stats.landmark, "
                    "td_coxph, mantel_byar, simon_makuch, compare_naive_vs_timedependent).",
                    ImmortalTimeWarning, stacklevel=2)
        return self.time, self.event, _dictionary_categorical(g)

    def __repr__(self) -> str:
        return (f"EndpointData({self.name} from {self.time_zero}, kind={self.kind}, "
                f"unit={self.unit}, n={self.n}, excluded={len(self.excluded)})")


def _dictionary_categorical(g: pd.Series) -> pd.Categorical:
    """``g`` as a Categorical of its present levels: in the data dictionary's order when
    the column has one (the plan's rule), else in ``g``'s category order, else sorted."""
    from ..stats.km import categorical_order
    from ..tables.labels import resolve_labels
    present = list(pd.unique(g.astype(object)))
    lab = resolve_labels()
    if lab.has_order(g.name):
        cats = lab.order(g.name, present)
    else:
        cats = categorical_order(g)
        if cats is None:
            try:
                cats = sorted(present)
            except TypeError:
                cats = sorted(present, key=str)
    return pd.Categorical(g.astype(object).to_numpy(), categories=cats)


# --------------------------------------------------------------------------------------
# array-level core
# --------------------------------------------------------------------------------------

def endpoint_arrays(name: str, t0, censor, *, death=None, relapse=None, recovery=None,
                    failure=None, cutoff=None):
    """Array-level endpoint derivation on day numbers.

    Parameters
    ----------
    name : str
        Endpoint (``OS, EFS, RFS, CIR, NRM, ANC_recovery, PLT_recovery``).
    t0, censor : array of float
        Time zero and last follow-up as day numbers (e.g. days since
        1970-01-01); ``t0`` must not be NaN.
    death, relapse, recovery : array of float, optional
        Event dates as day numbers; NaN = did not happen. ``relapse`` is the
        second relapse; ``recovery`` the ANC/platelet recovery date.
    failure : array of bool, optional
        EFS only: failure to reach remission (event at time 0).
    cutoff : array of float, optional
        Data cut-off; NaN = none.

    Returns
    -------
    time : ndarray of float
        Days from time zero.
    event : ndarray of int
    problem : ndarray of object
        ``None``, or why the patient cannot be in the analysis set (an event or
        the end of follow-up before time zero).

    Examples
    --------
    >>> t, e, _ = endpoint_arrays("CIR", [0, 0], [100, 100], death=[50, 40],
    ...                           relapse=[50, np.nan])
    >>> t.tolist(), e.tolist()
    ([50.0, 40.0], [1, 2])

    Validated against: hand-worked cohorts (tests/test_cohort_endpoints.py).
    """
    name = canonical_endpoint(name)
    t0 = np.asarray(t0, dtype=float)
    n = t0.shape[0]

    def arr(x):
        return np.full(n, np.nan) if x is None else np.asarray(x, dtype=float)

    censor, death, relapse, recovery, cut = map(arr, (censor, death, relapse, recovery, cutoff))
    if np.isnan(t0).any():
        raise InputError("endpoint_arrays: time zero is missing for some patients; exclude them "
                         "first (they must not be given time 0)")
    cut = np.where(np.isnan(cut), np.inf, cut)
    within = lambda x: np.where(x <= cut, x, np.nan)  # noqa: E731 - events after cut-off ignored
    death_c, rel_c, rec_c = within(death), within(relapse), within(recovery)
    last_known = np.fmax(censor, death)
    cens = np.fmin(last_known, cut)
    problem = np.full(n, None, dtype=object)
    problem[np.isnan(cens)] = "last_followup_date missing"
    problem[(problem == None) & (cens < t0)] = "follow-up ends before time zero"  # noqa: E711
    problem[(problem == None) & (death_c < t0)] = "died before time zero"  # noqa: E711
    for x, what in ((relapse, "second relapse"), (recovery, "recovery")):
        problem[(problem == None) & (x > last_known)] = \
            f"{what} after the last follow-up"  # noqa: E711

    time = cens - t0
    event = np.zeros(n, dtype=np.int64)
    if name == "OS":
        d = ~np.isnan(death_c)
        time = np.where(d, death_c - t0, time)
        event[d] = 1
    elif name in ("EFS", "RFS"):
        if name == "RFS":
            problem[(problem == None) & (rel_c < t0)] = "second relapse before time zero"  # noqa
        first = np.fmin(death_c, rel_c)
        ev = ~np.isnan(first)
        time = np.where(ev, first - t0, time)
        event[ev] = 1
        if name == "EFS":
            fail = np.zeros(n, bool) if failure is None else np.asarray(failure, dtype=bool)
            time = np.where(fail, 0.0, time)
            event[fail] = 1
            problem[(problem == None) & ~fail & (rel_c < t0)] = \
                "second relapse before time zero"  # noqa: E711
    elif name in ("CIR", "NRM"):
        problem[(problem == None) & (rel_c < t0)] = "second relapse before time zero"  # noqa
        rel_first = ~np.isnan(rel_c) & (np.isnan(death_c) | (rel_c <= death_c))
        death_first = ~np.isnan(death_c) & ~rel_first
        time = np.where(rel_first, rel_c - t0, np.where(death_first, death_c - t0, time))
        r_code, d_code = (1, 2) if name == "CIR" else (2, 1)
        event[rel_first] = r_code
        event[death_first] = d_code
    else:  # recovery
        problem[(problem == None) & (rec_c < t0)] = "recovery before time zero"  # noqa: E711
        rec_first = ~np.isnan(rec_c) & (np.isnan(death_c) | (rec_c <= death_c))
        death_first = ~np.isnan(death_c) & ~rec_first
        time = np.where(rec_first, rec_c - t0, np.where(death_first, death_c - t0, time))
        event[rec_first] = 1
        event[death_first] = 2
    return time.astype(float), event, problem


# --------------------------------------------------------------------------------------
# pandas front-end
# --------------------------------------------------------------------------------------

_EPOCH = pd.Timestamp("1970-01-01")
_DMY = re.compile(r"^\s*([0-9]{1,2})[/.-]([0-9]{1,2})[/.-]([0-9]{4})\s*$")


def parse_cutoff(cutoff, cohort=None) -> pd.Timestamp:
    """A ``cutoff=`` argument as a date, by the loader's rules for a date cell.

    Accepted: a date or datetime object (``datetime.date``, ``pandas.Timestamp``,
    ``numpy.datetime64``; the time of day is dropped) or ISO text ``YYYY-MM-DD``; text in
    the date format the cohort's mapping states for ``data_cutoff_date`` (its
    ``date_format``); a day number only when the mapping declares how the date cells'
    day numbers are read, and then read the same way: ``excel_serial_dates: true`` (an
    Excel serial date, 1900 system) or ``sas_stata_dates: true`` (days since 1960-01-01).
    Refused with a readable :class:`InputError`: any other number (``2010`` is not a date;
    it was read as nanoseconds since 1970), text that is not a date, a day/month order that
    was not stated (``01/03/2010``), partial dates, years outside 1900-2199.

    Examples
    --------
    >>> str(parse_cutoff("2010-03-01").date())
    '2010-03-01'
    >>> parse_cutoff("01/03/2010")
    Traceback (most recent call last):
    ...
    aplcohort.errors.InputError: cutoff='01/03/2010' is not an ISO date (YYYY-MM-DD) and no date format was stated; the day/month order of 01/03/2010 is ambiguous: write cutoff='2010-03-01' (1 March) or cutoff='2010-01-03' (3 January)
    """
    from .types import excel_serial_to_date, partial_date
    from .validate import _parse_date

    m = {}
    if cohort is not None and hasattr(cohort, "source"):
        m = cohort.source.get("mapping") or {}
    fmt = (m.get("date_formats") or {}).get("data_cutoff_date", m.get("date_format"))
    serial = bool(m.get("excel_serial_dates", False))
    sas_stata = bool(m.get("sas_stata_dates", False))
    shown = f"cutoff={cutoff!r}"
    iso_hint = "write the date as YYYY-MM-DD, e.g. cutoff='2020-12-31'"
    if isinstance(cutoff, (bool, np.bool_)):
        raise InputError(f"{shown} is not a date; {iso_hint}")
    is_num = isinstance(cutoff, (int, float, np.integer, np.floating))
    digits = isinstance(cutoff, str) and cutoff.strip().replace(".", "", 1).isdigit()
    if serial and (is_num or digits) and partial_date(cutoff) is None:
        ts, why = excel_serial_to_date(cutoff)
        if ts is None or not 1900 <= ts.year <= 2199:
            raise InputError(f"{shown} {why or 'has a year outside 1900-2199'}")
        return ts
    if sas_stata and (is_num or digits):
        # the cohort's date cells are days since 1960-01-01: so is a cut-off given as one,
        # by the same rule (1900-2199 a day unless the mapping declares partial dates)
        from .validate import _sas_stata_cell
        ts, why, _ = _sas_stata_cell(cutoff, partial_date(cutoff),
                                     m.get("partial_dates") or "reject")
        if ts is None:
            raise InputError(f"{shown} {why} (the cohort's mapping declares "
                             "sas_stata_dates: true)")
        return ts
    if is_num or digits:
        if is_num:
            shown = f"cutoff={cutoff.item() if isinstance(cutoff, np.generic) else cutoff!r}"
        part = partial_date(cutoff)
        what = ("a year, not a full date" if part is not None and part[1] is None
                else "a number, not a date")
        raise InputError(f"{shown} is {what}; {iso_hint} (a day number is read only when "
                         "the cohort's mapping says how its date cells count days: "
                         "excel_serial_dates: true or sas_stata_dates: true)")
    if isinstance(cutoff, str) and partial_date(cutoff) is not None:
        raise InputError(f"{shown} is a partial date (year and month); a cut-off is a full "
                         f"date: {iso_hint}")
    if not isinstance(cutoff, (str, pd.Timestamp, np.datetime64, _dt.date)):
        raise InputError(f"{shown} is not a date ({type(cutoff).__name__}); {iso_hint}")
    if cutoff is pd.NaT or (isinstance(cutoff, np.datetime64) and np.isnat(cutoff)):
        raise InputError(f"{shown} is missing; give a date, or leave cutoff=None to use "
                         "each patient's data_cutoff_date")
    ts, why = _parse_date(cutoff, fmt)
    if ts is None:
        hint = iso_hint if fmt is None else f"write it as {fmt!r} (the mapping's format) or YYYY-MM-DD"
        d = _DMY.match(cutoff) if isinstance(cutoff, str) and fmt is None else None
        if d:
            a, b, y = int(d[1]), int(d[2]), d[3]
            if a <= 12 and b <= 12 and a != b:
                hint = (f"the day/month order of {cutoff.strip()} is ambiguous: write "
                        f"cutoff='{y}-{b:02d}-{a:02d}' ({a} {_MONTHS[b - 1]}) or "
                        f"cutoff='{y}-{a:02d}-{b:02d}' ({b} {_MONTHS[a - 1]})")
            elif a <= 12 < b <= 31:
                hint = f"{iso_hint} (here cutoff='{y}-{a:02d}-{b:02d}'?)"
            elif b <= 12 < a <= 31:
                hint = f"{iso_hint} (here cutoff='{y}-{b:02d}-{a:02d}'?)"
        raise InputError(f"{shown} {why}; {hint}")
    return ts


_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")


def _days(df, col):
    if col not in df.columns:
        return np.full(len(df), np.nan)
    s = df[col]
    if not pd.api.types.is_datetime64_any_dtype(s):
        raise InputError(f"column {col!r} is not a parsed date column (dtype {s.dtype}); build "
                         "the cohort with aplcohort.cohort.from_dataframe or load so that "
                         "dates are parsed and checked, never guessed")
    return ((s - _EPOCH).dt.days).to_numpy(dtype=float)


def _col(df, col):
    if col not in df.columns:
        return pd.Series([None] * len(df), index=df.index, dtype=object)
    return df[col]


def _response_reasons(resp, disease, remission):
    """Per patient: None when the best response is a remission for the disease, else why not."""
    out = np.full(len(resp), None, dtype=object)
    for i, (v, dis) in enumerate(zip(resp, disease)):
        label = _remission_label(dis, remission)
        cats = remission if remission is not None else REMISSION_BY_DISEASE.get(dis)
        if _missing(v):
            out[i] = "response missing"
        elif v == "none":
            out[i] = ("no CR2 (response none)" if label == "CR2/mCR2"
                      else "no remission (response none)")
        elif cats is None:
            out[i] = (f"disease {dis!r} has no remission categories: cannot tell whether "
                      f"response {v} is a remission (pass remission=)")
        elif v not in cats:
            out[i] = f"response {v} is not a remission for {dis} (remission: {label})"
    return out


def _time_zero(df: pd.DataFrame, time_zero: str, endpoint: str, remission=None):
    """Return (t0 day numbers, reason array: None = has a time zero)."""
    n = len(df)
    reason = np.full(n, None, dtype=object)
    resp = _col(df, "response")
    r = resp.to_numpy(dtype=object)
    disease = _col(df, "disease").to_numpy(dtype=object)
    resp_reason = _response_reasons(r, disease, remission)
    if time_zero in TIME_ZERO_COLUMNS:
        col = TIME_ZERO_COLUMNS[time_zero]
    else:
        col = time_zero
    t0 = _days(df, col)
    missing = np.isnan(t0)
    if time_zero == "reinduction":
        notre = (_col(df, "reinduction_regimen") == "none").to_numpy()
        reason[missing & notre] = "not reinduced (reinduction_regimen none)"
    elif time_zero in ("response", "mcr2"):
        # the remission clock starts at the response date of a remission for the disease
        reason[:] = resp_reason
        if time_zero == "mcr2":
            for i in np.flatnonzero((reason == None) & (r != "mCR2")):  # noqa: E711
                reason[i] = f"{r[i]} without molecular CR (response {r[i]}, not mCR2)"
    elif time_zero == "postremission":
        nopr = (_col(df, "postremission_modality") == "none").to_numpy()
        reason[nopr] = "no post-remission therapy (postremission_modality none)"
    reason[(reason == None) & missing] = f"{col} missing"  # noqa: E711
    if time_zero in ("reinduction", "response", "mcr2", "postremission"):
        # name the earliest step the patient did not reach
        excluded = reason != None  # noqa: E711
        if time_zero == "postremission":
            isnone = np.array([v == "none" for v in r])
            reason[excluded & isnone] = resp_reason[excluded & isnone]
        notre = (_col(df, "reinduction_regimen") == "none").to_numpy()
        reason[excluded & notre] = "not reinduced (reinduction_regimen none)"
    if endpoint in _REMISSION_ENDPOINTS and time_zero not in ("response", "mcr2"):
        notcr = resp_reason != None  # noqa: E711
        for i in np.flatnonzero((reason == None) & notcr):  # noqa: E711
            reason[i] = f"not in {_remission_label(disease[i], remission)} at time zero"
    t0 = np.where(reason == None, t0, np.nan)  # noqa: E711
    return t0, reason


def derive_endpoint(cohort, name: str, *, time_zero: str, unit: str = "days",
                    cutoff=None, remission=None) -> EndpointData:
    """Derive (time, event) for an endpoint from a chosen time zero.

    Parameters
    ----------
    cohort : Cohort or DataFrame
        A :class:`~aplcohort.cohort.Cohort` (or its parsed ``data``).
    name : str
        ``OS, EFS, RFS`` (alias ``LFS``), ``CIR, NRM, ANC_recovery,
        PLT_recovery`` (case-insensitive).
    time_zero : str
        ``relapse1, reinduction, response, mcr2, postremission`` or a date
        column. RFS/CIR/NRM need a remission time zero (not relapse1 or
        reinduction).
    unit : {"days", "months", "years"}
        Months are 30.4375 days, years 365.25 days.
    cutoff : date, optional
        Administrative cut-off for every patient (overrides
        ``data_cutoff_date``): a date object or ``"YYYY-MM-DD"`` text, read by the
        loader's date rules (:func:`parse_cutoff`; no guessing of the day/month
        order, numbers only as Excel serial dates when the mapping declares them).
    remission : sequence of str, optional
        Best-response categories that count as remission for every patient
        (e.g. ``["CR2", "MRD-negative CR"]`` for CR only). Default: by disease,
        :data:`REMISSION_BY_DISEASE` (APL CR2/mCR2; AML and ALL CR, MRD-negative
        CR, CRh, CRi). Used by time zero ``response``, by RFS/CIR/NRM (patients
        not in remission are excluded with the reason) and by EFS (a best
        response that is not a remission is a failure at time 0).

    Returns
    -------
    EndpointData

    Examples
    --------
    >>> import pandas as pd
    >>> from aplcohort.cohort import from_dataframe
    >>> c = from_dataframe(pd.DataFrame({
    ...     "patient_id": ["a", "b"], "disease": ["APL", "APL"],
    ...     "relapse1_date": ["2020-01-01", "2020-01-01"],
    ...     "death_date": ["2020-01-31", None],
    ...     "last_followup_date": ["2020-01-31", "2020-03-01"]}))
    >>> ep = c.endpoint("OS", time_zero="relapse1")
    >>> ep.data[["patient_id", "time", "event"]].values.tolist()
    [['a', 30.0, 1], ['b', 60.0, 0]]

    Validated against: hand-worked cohorts with expected times written out by
    hand (tests/test_cohort_endpoints.py).
    """
    from .cohort import Cohort

    ep = canonical_endpoint(name)
    if unit not in UNITS:
        raise InputError(f"unit must be one of {', '.join(UNITS)}, got {unit!r}")
    if isinstance(cohort, Cohort):
        df, log = cohort.data, cohort.attrition.copy()
    elif isinstance(cohort, pd.DataFrame):
        df, log = cohort.reset_index(drop=True), AttritionLog(n_start=len(cohort))
    else:
        raise InputError(f"expected a Cohort or DataFrame, got {type(cohort).__name__}")
    d = load_dictionary()
    if time_zero not in TIME_ZERO_COLUMNS and not (time_zero in d.columns and
                                                   d.columns[time_zero].type == "date"):
        raise InputError(f"unknown time zero {time_zero!r}: use one of "
                         f"{', '.join(TIME_ZERO_COLUMNS)} or a date column "
                         f"({', '.join(d.names_of_type('date'))})")
    if ep in _REMISSION_ENDPOINTS and time_zero in ("relapse1", "reinduction"):
        raise InputError(f"{ep} starts in remission: use time_zero='response', 'mcr2' or "
                         f"'postremission' (not {time_zero!r}); EFS covers failure to reach remission")
    check_required(df, ep, time_zero)
    if remission is not None:
        if isinstance(remission, str) or not all(isinstance(c, str) for c in remission) \
                or not len(remission):
            raise InputError(f"remission must be a non-empty list of response categories, "
                             f"got {remission!r}")
        known = set(d.vocabularies["response"].labels) if "response" in d.vocabularies else None
        bad = [c for c in remission if known is not None and c not in known]
        if bad:
            raise InputError(f"remission: {bad} not in the response vocabulary "
                             f"({', '.join(sorted(known))})")
        remission = tuple(remission)

    t0, reason = _time_zero(df, time_zero, ep, remission)
    failure = None
    if ep == "EFS":
        r = _col(df, "response").to_numpy(dtype=object)
        dis = _col(df, "disease").to_numpy(dtype=object)
        ismiss = np.array([_missing(v) for v in r])
        reason[(reason == None) & ismiss] = "response missing (EFS needs it)"  # noqa: E711
        unknown = np.array([remission is None and not _missing(v) and v != "none"
                            and x not in REMISSION_BY_DISEASE for v, x in zip(r, dis)])
        for i in np.flatnonzero((reason == None) & unknown):  # noqa: E711
            reason[i] = (f"disease {dis[i]!r} has no remission categories: cannot tell "
                         f"whether response {r[i]} is a failure (pass remission=)")
        # failure to reach remission: none, and a response that is not a remission for
        # the disease (PR, MLFS) -- an event at time 0
        failure = ~in_remission(r, dis, remission) & ~ismiss
    if cutoff is not None:
        cut = np.full(len(df), float((parse_cutoff(cutoff, cohort) - _EPOCH).days))
    else:
        cut = _days(df, "data_cutoff_date")
    reason[(reason == None) & (t0 > np.where(np.isnan(cut), np.inf, cut))] = \
        "time zero after the data cut-off"  # noqa: E711
    keep = reason == None  # noqa: E711
    recovery_col = {"ANC_recovery": "anc_recovery_date",
                    "PLT_recovery": "plt_recovery_date"}.get(ep)
    time, event, problem = endpoint_arrays(
        ep, t0[keep], _days(df, "last_followup_date")[keep],
        death=_days(df, "death_date")[keep], relapse=_days(df, "relapse2_date")[keep],
        recovery=_days(df, recovery_col)[keep] if recovery_col else None,
        failure=failure[keep] if failure is not None else None, cutoff=cut[keep])
    idx = np.flatnonzero(keep)
    reason[idx[problem != None]] = problem[problem != None]  # noqa: E711
    ok = problem == None  # noqa: E711
    keep_final = reason == None  # noqa: E711

    ids = df["patient_id"].astype(str).to_numpy()
    excluded = pd.DataFrame({"patient_id": ids[~keep_final],
                             "reason": reason[~keep_final].astype(str)},
                            columns=["patient_id", "reason"])
    reasons: dict = {}
    for pid, r in zip(excluded["patient_id"], excluded["reason"]):
        reasons.setdefault(r, []).append(pid)
    summary = "; ".join(f"{r} (n={len(v)})" for r, v in reasons.items()) or "none excluded"
    log.record(f"{ep} from {time_zero}: analysis set", len(df), excluded["patient_id"].tolist(),
               summary, reasons)

    sub = df[keep_final].reset_index(drop=True)
    t0_dates = pd.to_datetime(t0[keep_final], unit="D", origin="unix")
    tdays = time[ok]
    end_dates = t0_dates + pd.to_timedelta(tdays, unit="D")
    out = pd.DataFrame({"patient_id": sub["patient_id"].astype(str),
                        "time": tdays / UNITS[unit],
                        "event": event[ok].astype(np.int64),
                        "time_zero_date": t0_dates, "end_date": end_dates})
    rest = sub.drop(columns=[c for c in sub.columns if c in out.columns])
    out = pd.concat([out, rest.reset_index(drop=True)], axis=1)
    return EndpointData(name=ep, kind=_KIND[ep], unit=unit, time_zero=time_zero, data=out,
                        attrition=log, excluded=excluded, event_codes=dict(EVENT_CODES[ep]),
                        definition=DEFINITIONS[ep])
