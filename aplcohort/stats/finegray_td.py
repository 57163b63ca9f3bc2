"""Fine–Gray regression on (start, stop] data: ``survival::finegray`` weights + weighted Cox.

R survival fits the Fine–Gray subdistribution-hazard model without ``cmprsk``
(vignette "compete", section "Fine-Gray model"): :func:`finegray_expand` turns
each subject who failed from a competing cause into a subject who stays in the
risk set after that failure with a decreasing probability weight
``G(t) / G(t_i)`` (``G`` = Kaplan–Meier of censoring), and a weighted Cox model on
the expanded (start, stop] data,
``coxph(Surv(fgstart, fgstop, fgstatus) ~ ..., weights = fgwt)``, estimates the
subdistribution hazard ratios. Because the data are already in counting-process
form, a time-dependent covariate (a transplant, acute GVHD) can be carried, which
``cmprsk::crr`` cannot.

We keep our own implementation of the expansion because there is no Python
equivalent of ``survival::finegray``; it is a transcription of its R code and of
its C routine ``finegray.c`` (survival 3.5):

* times are ranked; an event time (any cause) is moved 0.2 rank before a tied
  censoring, so that censorings at an event time happen after it;
* ``G`` is the counting-process Kaplan–Meier of the censorings on each subject's
  last row;
* a competing-cause failure is extended to the end of the censoring interval
  containing its time (weight 1), then one row per later censoring interval that
  contains a failure of the cause, with weight ``G(interval) / G(failure
  interval)``; intervals without a failure of the cause are left out.

Not supported (each rejected with a message, as R where R refuses): delayed
entry (a subject's first interval starting after the earliest stop time), strata
of the censoring distribution, an event before a subject's last interval, gaps.

The variance is R's: with non-integer weights R ``coxph`` reports the robust
sandwich variance (rows as independent units, ``robust_se``); ``cluster=True``
clusters the sandwich on the subject id (``coxph(..., cluster = id)``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import InputError
from .cox import CoxResult

__all__ = ["finegray_expand", "td_fine_gray", "TDFineGrayResult"]


@dataclass(frozen=True, eq=False)
class TDFineGrayResult(CoxResult):
    """Fine–Gray fit on (start, stop] data (``kind = "td_finegray"``).

    The terms shape of :class:`aplcohort.stats.cox.CoxResult`; ``estimate`` is the
    subdistribution hazard ratio (``scale = "SHR"``), ``robust_se`` the SE R reports.
    """

    kind = "td_finegray"
    scale = "SHR"

    @property
    def title(self) -> str:
        return (f"Fine-Gray subdistribution hazard regression on (start, stop] data, "
                f"cause {self._choices.get('cause')}")

FG_COLUMNS = ("fgstart", "fgstop", "fgstatus", "fgwt")


def _censoring_km_counting(start, stop, cens):
    """Kaplan–Meier of ``cens`` on (start, stop] rows: (times with a censoring, G after)."""
    ct = np.unique(stop[cens])
    if ct.size == 0:
        return ct, ct
    ss = np.sort(start)
    st = np.sort(stop)
    # at risk at tau: start < tau <= stop
    n_risk = (np.searchsorted(ss, ct, side="left")
              - np.searchsorted(st, ct, side="left")).astype(float)
    tc = np.sort(stop[cens])
    nc = (np.searchsorted(tc, ct, side="right") - np.searchsorted(tc, ct, side="left")).astype(float)
    return ct, np.cumprod(1 - nc / n_risk)


def finegray_expand(data: pd.DataFrame, *, stop: str, code: str, cause=1, start: str | None = None,
                    id: str | None = None) -> pd.DataFrame:
    """Expanded data of the Fine–Gray model (``survival::finegray``).

    Parameters
    ----------
    data : DataFrame
        One row per subject (``start=None``: right-censored, ``stop`` = follow-up
        time) or (start, stop] rows with ``id`` (contiguous intervals, the event
        code on the last one).
    stop, code : str
        Stop (follow-up) time and event code (0 = censored, 1, 2, ... = cause).
    cause : int
        The cause of interest (R ``etype``).
    start, id : str, optional
        Start time and subject id of (start, stop] data (both or neither).

    Returns
    -------
    DataFrame
        The columns of ``data`` repeated per output row plus ``fgstart``,
        ``fgstop``, ``fgstatus`` (1 = failure from ``cause`` on that row) and
        ``fgwt``; rows in input order, each extended row right after its subject's
        original last row (R's order).

    Examples
    --------
    >>> d = pd.DataFrame({"t": [1., 2., 3., 4., 5.], "c": [1, 2, 0, 1, 0]})
    >>> finegray_expand(d, stop="t", code="c")[["fgstart", "fgstop", "fgstatus", "fgwt"]].shape
    (6, 4)

    Validated against: ``survival::finegray`` (survival 3.5) on ``KMsurv::bmt``
    split with ``tmerge`` (time-dependent acute GVHD) and on ``survival::mgus2``:
    identical rows, times and weights (rtol 1e-12).
    """
    if not isinstance(data, pd.DataFrame):
        raise InputError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    if (start is None) != (id is None):
        raise InputError("finegray_expand: give both start= and id= ((start, stop] data) or neither")
    cols = [stop, code] + ([start, id] if start is not None else [])
    miss = [c for c in cols if c not in data.columns]
    if miss:
        raise InputError(f"columns {miss} not found in data; available: {list(data.columns)}")
    clash = [c for c in FG_COLUMNS if c in data.columns]
    if clash:
        raise InputError(f"data already has column(s) {clash}; rename them first")
    y2 = pd.to_numeric(data[stop], errors="coerce").to_numpy(dtype=float)
    st = pd.to_numeric(data[code], errors="coerce").to_numpy(dtype=float)
    if not (np.all(np.isfinite(y2)) and np.all(np.isfinite(st))):
        raise InputError(f"{stop!r} and {code!r} must be numeric without missing values")
    if np.any((st < 0) | (st != np.round(st))):
        raise InputError(f"{code!r} must hold integer codes 0 = censored, 1, 2, ... = cause")
    st = st.astype(np.int64)
    if not np.any(st == cause):
        raise InputError(f"cause={cause!r} does not occur in {code!r} (codes: {sorted(set(st.tolist()))})")
    n = y2.size
    if start is None:
        m = float(np.min(y2))
        y1 = np.full(n, 0.0 if m > 0 else 2 * m - 1)
        last = np.ones(n, dtype=bool)
        first = last
    else:
        y1 = pd.to_numeric(data[start], errors="coerce").to_numpy(dtype=float)
        if not np.all(np.isfinite(y1)):
            raise InputError(f"{start!r} must be numeric without missing values")
        if np.any(y1 >= y2):
            bad = np.flatnonzero(y1 >= y2)[:10].tolist()
            raise InputError(f"rows {bad}: start >= stop")
        ids = data[id].to_numpy(dtype=object)
        order = np.lexsort((y2, pd.factorize(ids)[0]))
        ids_o = pd.factorize(ids)[0][order]
        new = np.r_[True, ids_o[1:] != ids_o[:-1]]
        is_last = np.r_[new[1:], True]
        if np.any(st[order][~is_last] != 0):
            raise InputError("a subject has an event before their last interval (R finegray: "
                             "'a subject has a transition before their last time point')")
        gap = y1[order][1:] != y2[order][:-1]
        if np.any(gap & ~new[1:]):
            raise InputError("a subject has gaps in time between intervals; finegray needs "
                             "contiguous (start, stop] rows")
        first = np.zeros(n, bool)
        last = np.zeros(n, bool)
        first[order[new]] = True
        last[order[is_last]] = True
        if np.any(y1[first] > np.min(y2)):
            raise InputError("delayed entry (a first interval starting after the earliest stop "
                             "time) is not supported here; R finegray handles it with a second "
                             "weight for the truncation distribution")
    utime = np.unique(np.concatenate([y1, y2]))
    r1 = np.searchsorted(utime, y1, side="right").astype(float)
    r2 = np.searchsorted(utime, y2, side="right").astype(float)
    r2 = np.where(st != 0, r2 - 0.2, r2)
    cr, cprob = _censoring_km_counting(r1, r2, last & (st == 0))
    ctime = utime[cr.astype(np.int64) - 1] if cr.size else np.zeros(0)
    times = np.unique(y2[st == cause])
    ct2 = np.concatenate([ctime, [np.max(y2)]])
    cp2 = np.concatenate([[1.0], cprob])
    idx = np.searchsorted(ct2, times, side="left")      # findInterval(left.open = TRUE)
    keep = np.zeros(ct2.size + 1, dtype=bool)
    keep[0] = True
    keep[idx[idx >= 1]] = True
    ncut = cp2.size
    expand = (st != 0) & (st != cause) & last
    # every row once, and after each expanded row (a competing-cause failure on a
    # subject's last row) one row per kept censoring interval after the one containing
    # its time: built with repeat / cumsum, O(output rows), in R's order
    kept = np.flatnonzero(keep[:ncut])                  # kept interval indices, sorted
    ei = np.flatnonzero(expand)
    j = np.searchsorted(ct2, y2[ei], side="left")       # first ct2 >= stop
    first_k = np.searchsorted(kept, j, side="right")    # first kept index > j
    extra = np.zeros(n, dtype=np.int64)
    extra[ei] = kept.size - first_k
    size = 1 + extra
    rows = np.repeat(np.arange(n), size)
    head = np.cumsum(size) - size                       # output position of each row
    k = np.arange(rows.size) - head[rows]               # 0 = the row itself, 1.. = added
    s_out = y1[rows].astype(float)
    e_out = y2[rows].astype(float)
    w_out = np.ones(rows.size)
    jrow = np.zeros(n, dtype=np.int64)
    jrow[ei] = j
    e_out[head[ei]] = ct2[j]                            # extended to its interval's end
    fk = np.zeros(n, dtype=np.int64)
    fk[ei] = first_k
    add = k > 0
    ra = rows[add]
    jj = kept[fk[ra] + k[add] - 1]
    s_out[add] = ct2[jj - 1]
    e_out[add] = ct2[jj]
    w_out[add] = cp2[jj] / cp2[jrow[ra]]
    out = data.iloc[rows].reset_index(drop=True)
    out["fgstart"] = s_out
    out["fgstop"] = e_out
    out["fgstatus"] = (st[rows] == cause).astype(np.int64)
    out["fgwt"] = w_out
    return out


def td_fine_gray(data: pd.DataFrame, *, time: str, code: str, covariates=(), cause=1,
                 id: str | None = None, exposure_time: str | None = None,
                 start: str | None = None, exposure: str = "exposed",
                 same_day_rule: str = "unexposed", same_day_offset: float = 0.5,
                 categorical=None, ties: str = "efron", cluster: bool = False,
                 conf_level: float = 0.95):
    """Fine–Gray regression with a time-dependent exposure (finegray + weighted Cox).

    Two ways to call it (as :func:`aplcohort.stats.timedep.td_coxph`):

    * one row per patient with ``exposure_time=`` (treatment start; NaN = never):
      the follow-up is split at the exposure with
      :func:`aplcohort.stats.timedep.split_at_exposure` (0/1 column ``exposure``,
      the FIRST term);
    * (start, stop] data with ``start=`` (``time`` is then the stop column) and
      the exposure column named by ``exposure`` (prepended to ``covariates`` if
      missing).

    The split data are expanded with :func:`finegray_expand` and fitted with
    :func:`aplcohort.stats.cox.coxph` on ``(fgstart, fgstop]`` with weights
    ``fgwt`` — R ``coxph(Surv(fgstart, fgstop, fgstatus) ~ ..., weights = fgwt,
    data = finegray(...))``.

    Parameters
    ----------
    data : DataFrame
    time, code : str
        Follow-up (stop) time and event code (0 = censored, 1, 2, ... = cause).
    covariates : sequence of str
        Other covariates (fixed, or time-varying columns of (start, stop] data).
    cause : int
        Cause of interest (R ``finegray(etype=)``).
    id : str
        Subject id (required).
    exposure_time, start, exposure, same_day_rule, same_day_offset
        As :func:`aplcohort.stats.timedep.td_coxph`.
    categorical, ties, conf_level
        As :func:`aplcohort.stats.cox.coxph` (R's default ties = "efron").
    cluster : bool
        ``False`` (default, R's call of the vignette): the robust variance that R
        ``coxph`` reports for non-integer weights, rows as independent units;
        ``True``: robust variance clustered on ``id`` (``cluster = id``).

    Returns
    -------
    TDFineGrayResult
        Terms in the shared shape; ``estimate`` is the subdistribution hazard
        ratio, ``se`` the model SE, ``robust_se`` the SE R reports (the CI and p
        use it). ``choices`` records the model, cause and variance.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> df = pd.DataFrame({"pid": range(10), "t": [9., 4., 12., 11., 15., 3., 10., 6., 7., 14.],
    ...                    "c": [1, 2, 0, 1, 0, 1, 2, 1, 0, 1],
    ...                    "tx": [3., np.nan, 5., np.nan, 2., np.nan, 8., 1., np.nan, 4.]})
    >>> td_fine_gray(df, time="t", code="c", id="pid", exposure_time="tx").terms["term"].tolist()
    ['exposed']

    Validated against: R ``coxph(Surv(fgstart, fgstop, fgstatus) ~ gvhd + z1 +
    factor(group), weights = fgwt, data = finegray(Surv(tstart, tstop, ev) ~ .,
    id = id))`` on ``KMsurv::bmt`` with acute GVHD built by ``tmerge`` (efron and
    breslow, with and without ``cluster = id``) and on ``survival::mgus2``
    (rtol 1e-6).
    """
    from .cox import coxph
    from .timedep import _counting_data

    if id is None:
        raise InputError("td_fine_gray: id= (the subject id column) is required")
    if not isinstance(cluster, (bool, np.bool_)):
        raise InputError(f"cluster must be true or false, got {cluster!r}")
    d, s, t = _counting_data(data, time=time, event=code, id=id, exposure_time=exposure_time,
                             start=start, exposure_name=exposure, same_day_rule=same_day_rule,
                             same_day_offset=same_day_offset, caller="td_fine_gray")
    from ._design import as_columns
    covs = as_columns(covariates, "covariates")
    if exposure not in covs:
        covs = [exposure] + covs
    fg = finegray_expand(d, stop=t, code=code, cause=cause, start=s, id=id)
    # R's robust variance without cluster() treats every row as its own unit; our coxph
    # asks for an explicit cluster on (start, stop] data, so give each row its own
    row = "_fg_row"
    while row in fg.columns:
        row = "_" + row
    fg[row] = np.arange(len(fg))
    res = coxph(fg, time="fgstop", event="fgstatus", entry="fgstart", weights="fgwt",
                covariates=covs, categorical=categorical, ties=ties, robust=True,
                cluster=id if cluster else row, conf_level=conf_level)
    ch = dict(res.choices)
    ch["cluster"] = id if cluster else None
    ch.update({"model": "Fine-Gray by finegray() weights + weighted Cox (R survival)",
               "cause": int(cause), "time-dependent exposure": exposure,
               "data": ("split here at " + repr(exposure_time)) if exposure_time
               else "(start, stop] as given",
               "variance": ("robust, clustered on " + repr(id)) if cluster
               else "robust, rows as units (R coxph default with non-integer weights)",
               "expanded rows": int(len(fg))})
    if exposure_time is not None:
        ch["same_day_rule"] = same_day_rule
    vals = {f.name: getattr(res, f.name) for f in dataclasses.fields(res)}
    vals["_choices"] = ch
    # patients and their events, not the rows of the expanded data (those are in choices)
    vals["n"] = int(pd.Series(d[id]).nunique())
    vals["events"] = int(fg["fgstatus"].sum())
    return TDFineGrayResult(**vals)
