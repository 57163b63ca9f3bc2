"""build_transitions on arrays (issue 13, growth) changes no output.

The former implementation (one Python iteration per patient) is kept below, verbatim
but for the names of the functions, their imports and docstrings, as the oracle: the public function must give the same
rows (values, order, dtypes, carried columns, index), the same report (problems in the
same order with the same texts, transition counts), the same exclusions with their
reasons, the same transition counts and raise the same errors, on random cohorts built to
reach every rule: time zero not reached / undated / after the cut-off / after the end
of follow-up, dates missing while the condition holds, dates given without the
condition (one warning per date column), dates before time zero, after the cut-off,
after the last follow-up, events after death (absorbing), transitions not in the model,
same-day events (on and after the time-zero day), entries on the last day, no follow-up
after time zero, unknown condition values, missing patient ids; with both bundled
models, a custom model (two absorbing states, a state without a date, states sharing a
date column, a condition on an absent column, an unreachable state), each time zero,
unit, cut-off and on_error.
"""

import numpy as np
import pandas as pd
import pytest

from aplcohort.errors import InputError
from aplcohort.multistate import (StateModel, StateRule, TransitionCheckError,
                                  build_transitions, relapsed_leukemia_model)
from aplcohort.multistate.transitions import (_EPOCH, _PROBLEM_COLUMNS, ZERO_FOLLOWUP_REASON,
                                              CheckReport, TransitionsData, _as_frame,
                                              _date, _day, check_intervals)


# ------------------------------------------------------------------ the former code

def pair_counts_loop(fr, to, fr_dtype, to_dtype):
    """The former _pair_counts (a Counter of the row pairs)."""
    from collections import Counter

    n = Counter(zip(fr, to))
    tr = pd.DataFrame([(a, b, k) for (a, b), k in sorted(n.items())],
                      columns=["from_state", "to_state", "n"])
    for c, dt in (("from_state", fr_dtype), ("to_state", to_dtype)):
        if tr[c].dtype != dt:   # groupby keeps the key column's dtype
            tr[c] = tr[c].astype(dt)
    return tr


def rows_frame_loop(df, rows, cols, carry) -> pd.DataFrame:
    """The rows built by :func:`build_transitions` as a DataFrame.

    ``rows`` are tuples ``(i, tstart, tstop, from_state, to_state, start_date,
    stop_date, same_day)`` (``i``: position of the patient in ``df``), followed by the
    patient's cohort columns ``carry``.  The dtypes are those pandas infers from one
    dict per row holding ``df.at[i, c]`` (how these rows used to be built): columns
    whose inferred dtype is known in advance (float64, int64, bool, and datetime64[ns]
    with a date) are taken in one go; every other column is inferred from its cells as
    before (one dict per row with ``df.at`` for ~50 columns cost ~1 ms per patient).
    """
    allcols = list(dict.fromkeys(["patient_id"] + cols + carry))
    if not rows:
        return pd.DataFrame([], columns=allcols)
    src = np.fromiter((r[0] for r in rows), dtype=np.intp, count=len(rows))
    built = dict(zip(cols[1:], zip(*[r[1:] for r in rows])))
    direct, infer = {}, {}
    for c in allcols:
        if c in built:
            infer[c] = built[c]
            continue
        v = df[c]._values   # v[r] is df.at[r, c]
        if isinstance(v, np.ndarray) and v.dtype in (np.float64, np.int64, np.bool_):
            direct[c] = v[src]
        elif isinstance(v, np.ndarray) or v.dtype.kind in "mM":
            taken = v[src]
            if taken.dtype == "M8[ns]" and not pd.isna(taken).all():
                direct[c] = taken
            else:  # the same scalars (numpy scalars, Timestamps) as v[r], boxed in one go
                infer[c] = list(taken)
        elif isinstance(v, (pd.arrays.BooleanArray, pd.arrays.IntegerArray,
                            pd.arrays.FloatingArray)):
            # what v[r] returns: the NA value where masked, else the numpy scalar
            na = v.dtype.na_value
            infer[c] = [na if m else x for x, m in zip(v._data[src], v._mask[src])]
        else:
            infer[c] = [v[r] for r in src]
    names = list(infer)
    inferred = pd.DataFrame(list(zip(*infer.values())), columns=names)
    for c in names:   # arrays, not Series: the frame below is built ~2x faster
        ser = inferred[c]
        direct[c] = ser.to_numpy() if isinstance(ser.dtype, np.dtype) else ser.array
    return pd.DataFrame({c: direct[c] for c in allcols})


def rows_ok_loop(rows, pid_values, model) -> bool:
    """True when the built rows pass every rule of :func:`check_intervals` with ``model``
    (each patient's rows contiguous from 0, non-empty, each starting in the state the
    previous one entered, transitions of the model, nothing after an absorbing state)."""
    names = set(model.state_names)
    absorbing = set(model.absorbing_states)
    prev = None
    for r in rows:
        i, a, b, fs, ts = r[:5]
        if not (np.isfinite(a) and np.isfinite(b) and a < b) or pd.isna(pid_values[i]):
            return False
        if fs not in names or fs in absorbing or (ts != "censor" and (
                ts not in names or not model.allowed(fs, ts))):
            return False
        if prev is not None and prev[0] == i:
            if prev[4] == "censor" or prev[2] != a or prev[4] != fs:
                return False
        elif a != 0.0:
            return False
        prev = r
    return True


def build_transitions_loop(cohort, model=None, *, time_zero=None, unit="days", cutoff=None,
                           on_error="raise"):
    """The former build_transitions: one Python iteration per patient."""
    from aplcohort.cohort.endpoints import UNITS

    df = _as_frame(cohort).reset_index(drop=True)
    model = relapsed_leukemia_model() if model is None else model
    if not isinstance(model, StateModel):
        raise InputError(f"model must be a StateModel, got {type(model).__name__}")
    time_zero = model.state_names[0] if time_zero is None else time_zero
    model.rule(time_zero)
    if unit not in UNITS:
        raise InputError(f"unit must be one of {', '.join(UNITS)}, got {unit!r}")
    if on_error not in ("raise", "exclude"):
        raise InputError(f"on_error must be 'raise' or 'exclude', got {on_error!r}")
    if "patient_id" not in df.columns or "last_followup_date" not in df.columns:
        raise InputError("the cohort needs patient_id and last_followup_date columns")
    dup = df["patient_id"][df["patient_id"].duplicated()].unique().tolist()
    if dup:
        raise InputError(f"patient_id must be unique (one row per patient); repeated: "
                         f"{dup[:10]}")
    scale = UNITS[unit]
    rules = {s.name: s for s in model.states}
    order = {s: i for i, s in enumerate(model.state_names)}
    scope = model.reachable_from(time_zero)

    # entry day of each state (NaN = not entered) and whether its condition holds
    entry, cond = {}, {}
    for s in model.states:
        ok = np.ones(len(df), bool)
        for col, vals in s.when.items():
            v = df[col] if col in df.columns else pd.Series([None] * len(df))
            ok &= v.isin(list(vals)).to_numpy()
        cond[s.name] = ok
        entry[s.name] = _day(df, s.date) if s.date else np.full(len(df), np.nan)
    last = np.fmax(_day(df, "last_followup_date"), _day(df, "death_date"))
    if cutoff is not None:
        cut = np.full(len(df), float((pd.Timestamp(cutoff) - _EPOCH).days))
    else:
        cut = _day(df, "data_cutoff_date")
    end = np.fmin(last, np.where(np.isnan(cut), np.inf, cut))

    probs, rows, excluded = [], [], []
    carry = [c for c in df.columns if c not in ("tstart", "tstop", "from_state", "to_state",
                                                "start_date", "stop_date", "same_day")]

    def problem(sev, rule, pid, detail, a=np.nan, b=np.nan, fs="", ts=""):
        probs.append((sev, rule, pid, np.nan, a, b, fs, ts, detail))

    pid_values = df["patient_id"]._values   # pid_values[i] is df.at[i, "patient_id"]
    for i in range(len(df)):
        pid = pid_values[i]
        r0 = rules[time_zero]
        if not cond[time_zero][i]:
            if ("response" in r0.when and "reinduction_regimen" in df.columns
                    and df.at[i, "reinduction_regimen"] == "none"
                    and ("response" not in df.columns or pd.isna(df.at[i, "response"]))):
                excluded.append((pid, f"{time_zero} not reached (not reinduced: "
                                      "reinduction_regimen none)"))
                continue
            what = ", ".join(f"{c} " + (str(df.at[i, c]) if c in df.columns
                                                    and not pd.isna(df.at[i, c]) else "missing")
                             for c in r0.when)
            excluded.append((pid, f"{time_zero} not reached ({what})"))
            continue
        t0 = entry[time_zero][i]
        if np.isnan(t0):
            excluded.append((pid, f"{r0.date} missing (time zero: entry into {time_zero})"))
            continue
        if not np.isfinite(end[i]):
            excluded.append((pid, "last_followup_date missing"))
            continue
        if end[i] < t0:
            excluded.append((pid, "follow-up ends before time zero" if last[i] < t0 else
                             "time zero after the data cut-off"))
            continue
        errs = 0
        whys = []   # the errors without their dates: the reason of exclusion
        events = []
        warned = set()
        for s in model.states:
            if s.name == time_zero or s.name not in scope:
                continue
            day = entry[s.name][i]
            if s.when and cond[s.name][i] and np.isnan(day):
                when = ", ".join(f"{c} = {df.at[i, c]}" for c in s.when)
                col = s.date if s.date in df.columns else f"{s.date} (column absent)"
                fix = (" (or choose relapsed_leukemia_model(cr3_entry='salvage_start'))"
                       if s.name == "CR3" and s.date == "cr3_date" else "")
                problem("error", "date missing", pid, f"{s.name} indicated ({when}) but "
                        f"{col} is missing; give the date{fix}")
                whys.append(f"{s.name} indicated ({when}) but {col} is missing; give the "
                            f"date{fix}")
                errs += 1
                continue
            if np.isnan(day):
                continue
            if not cond[s.name][i]:
                if s.when and s.date not in warned and not any(
                        o.date == s.date and cond[o.name][i]
                        for o in model.states if o.name != s.name):
                    warned.add(s.date)
                    when = ", ".join(f"{c} = {df.at[i, c] if c in df.columns else None}"
                                     for c in s.when)
                    problem("warning", "date without condition", pid,
                            f"{s.date} {_date(day)} given but {when}: not counted as "
                            f"entry into {s.name}")
                continue
            if day < t0:
                problem("error", "before time zero", pid, f"{s.name} on {_date(day)} is "
                        f"before time zero ({time_zero} on {_date(t0)})")
                whys.append(f"{s.name} dated before time zero ({time_zero})")
                errs += 1
                continue
            if day > end[i]:
                if np.isfinite(cut[i]) and day > cut[i]:
                    problem("note", "after cut-off", pid, f"{s.name} on {_date(day)} is "
                            f"after the data cut-off {_date(cut[i])}: ignored")
                else:
                    problem("error", "after last follow-up", pid, f"{s.name} on "
                            f"{_date(day)} is after the last follow-up {_date(last[i])}")
                    whys.append(f"{s.name} dated after the last follow-up")
                    errs += 1
                continue
            events.append((day, order[s.name], s.name))
        events.sort()
        # walk the path and check the model
        cur = time_zero
        path = []
        for day, _, s in events:
            if cur in model.absorbing_states:
                problem("error", "after absorbing state", pid, f"{s} on {_date(day)} after "
                        f"{cur}", fs=cur, ts=s)
                whys.append(f"{s} dated after {cur} (absorbing)")
                errs += 1
                break
            if not model.allowed(cur, s):
                prev = path[-1][0] if path else t0
                problem("error", "transition not in model", pid,
                        f"{cur} (from {_date(prev)}) -> {s} on {_date(day)}", fs=cur, ts=s)
                whys.append(f"{cur} -> {s} is not a transition of the model")
                errs += 1
            path.append((day, cur, s))
            cur = s
        if errs:
            assert len(whys) == errs
            excluded.append((pid, f"data error{'s' if errs > 1 else ''} in the multi-state "
                                  "path: " + "; ".join(whys)))
            continue
        # same-day rule
        days = np.array([p[0] for p in path], float)
        times = days - t0
        moved = np.zeros(days.size, bool)
        for d in np.unique(days):
            idx = np.flatnonzero(days == d)
            m = idx.size
            if d == t0:
                times[idx] = np.arange(1, m + 1) / (m + 1)
            elif m > 1:
                times[idx] = (d - t0) - (m - np.arange(1, m + 1)) / m
            else:
                continue
            moved[idx] = True
            for j in idx:
                problem("note", "same-day rule", pid,
                        f"{path[j][1]} -> {path[j][2]} dated {_date(d)} placed at "
                        f"{times[j]:g} days after time zero", fs=path[j][1], ts=path[j][2])
        tprev, dprev = 0.0, t0
        for (day, fs, ts), tt, mv in zip(path, times, moved):
            rows.append((i, tprev / scale, tt / scale, fs, ts, _date(dprev), _date(day),
                         bool(mv)))
            tprev, dprev = tt, day
        final = end[i] - t0
        if not path and final <= 0:
            # alive, no transition, follow-up ends on the time-zero day: no (0, 0] row
            # exists (R survcheck / survfit reject entry >= exit); left out with the reason
            excluded.append((pid, ZERO_FOLLOWUP_REASON if last[i] <= t0 else
                             "no follow-up after time zero (time zero on the data cut-off "
                             "date)"))
            continue
        if cur not in model.absorbing_states and final > tprev:
            rows.append((i, tprev / scale, final / scale, cur, "censor", _date(dprev),
                         _date(end[i]), False))
    cols = ["patient_id", "tstart", "tstop", "from_state", "to_state", "start_date",
            "stop_date", "same_day"]
    data = rows_frame_loop(df, rows, cols, carry)
    problems = pd.DataFrame(probs, columns=_PROBLEM_COLUMNS)
    if len(data):   # counts of the built (string) states, as a groupby of the rows
        tr = pair_counts_loop([r[3] for r in rows], [r[4] for r in rows],
                          data["from_state"].dtype, data["to_state"].dtype)
    else:
        tr = pd.DataFrame(columns=["from_state", "to_state", "n"])
    report = CheckReport(problems, tr)
    if on_error == "raise":
        report.raise_if_errors()
    # the built rows satisfy the interval checks by construction; verify (as tmerge does):
    # on the arrays, and with the full check_intervals report only if that finds anything
    if not rows_ok_loop(rows, pid_values, model):
        chk = check_intervals(data, id="patient_id", model=model)
        if not chk.ok:  # pragma: no cover - a builder bug, never user data
            raise RuntimeError("build_transitions produced invalid rows:\n" + chk.text())
    excl = pd.DataFrame(excluded, columns=["patient_id", "reason"])
    return TransitionsData(data, model, time_zero, unit, excl, report)


# ------------------------------------------------------------------ random cohorts
RESPONSE = ["CR2", "mCR2", "none", None, "PR", "CR2"]
POST = ["ATO-based", "auto HSCT", "allo HSCT", "none", "other", None, "ATO-based"]
SALVAGE = ["allo HSCT", "auto HSCT", "ATO-based", "IC", "other", "none", None]
STATUS = ["mCR", "CR", "NR", None, "CR"]
#: day steps between consecutive dates: ties (0), short and long gaps, reversed order.
#: All even: with events on the time-zero day and two on the next day the former loop
#: failed (an empty row, RuntimeError for the whole cohort); build_transitions places
#: them apart now (tested on its own below), so such days are kept out of the random
#: cohorts whose rows are compared with the loop's
STEPS = np.array([0, 0, 0, 2, 2, 4, 8, 30, 120, -2, -6])


def random_cohort(n, seed, *, pid="str", no_cutoff_col=False):
    """``n`` patients, dates ``STEPS`` apart along the disease course, each date missing
    now and then; conditions drawn among model and non-model values (and missing)."""
    rng = np.random.default_rng(seed)
    base = np.datetime64("2020-01-01", "D")

    def pick(vals):
        return [vals[k] for k in rng.integers(0, len(vals), n)]

    def step():
        return rng.choice(STEPS, n)

    def missing(p):
        return rng.random(n) < p

    r1 = rng.choice([0, 0, 0, 3, -2], n)
    resp = r1 + step()
    post = resp + step()
    rel2 = post + step()
    salv = rel2 + step()
    cr3 = salv + step()
    anchor = np.stack([r1, resp, post, rel2, salv, cr3])[rng.integers(0, 6, n), np.arange(n)]
    death = anchor + step()
    last = np.where(rng.random(n) < 0.6, np.maximum.reduce([r1, resp, post, rel2, salv, cr3]),
                    anchor) + rng.choice([0, 0, 1, 10, 200, -3], n)
    cutd = last + rng.choice([0, 5, -1, -40, 300, -400], n)
    days = {"relapse1_date": (r1, 0.05), "response_date": (resp, 0.15),
            "postremission_start_date": (post, 0.2), "relapse2_date": (rel2, 0.35),
            "salvage2_start_date": (salv, 0.35), "cr3_date": (cr3, 0.4),
            "death_date": (death, 0.5), "last_followup_date": (last, 0.05),
            "data_cutoff_date": (cutd, 0.7)}
    ids = {"str": [f"p{i:04d}" for i in range(n)], "int": list(range(100, 100 + n))}[pid]
    df = pd.DataFrame({"patient_id": ids, "disease": "APL"})
    for col, (d, p) in days.items():
        if col == "data_cutoff_date" and no_cutoff_col:
            continue
        v = (base + d.astype("timedelta64[D]")).astype("datetime64[ns]")
        v[missing(p)] = np.datetime64("NaT")
        df[col] = v
    df["response"] = pick(RESPONSE)
    df["postremission_modality"] = pick(POST)
    df["salvage2_modality"] = pick(SALVAGE)
    df["status_after_salvage2"] = pick(STATUS)
    # carried covariates of several dtypes
    df["age"] = np.where(missing(0.1), np.nan, rng.normal(40, 10, n))
    df["sex"] = pick(["F", "M", None])
    df["score"] = pd.array(np.where(missing(0.2), None, rng.integers(0, 5, n)).tolist(),
                           dtype="Int64")
    df["arm"] = pd.Categorical(pick(["a", "b", None]))
    df["flagged"] = rng.random(n) < 0.3
    df["count"] = rng.integers(0, 9, n)
    # a few rows shuffled (the output follows the cohort order)
    return df.iloc[rng.permutation(n)].reset_index(drop=True) if seed % 2 else df


def custom_model():
    """Two absorbing states, a state without a date, two states on one date column
    (different conditions), a condition on a column the cohort lacks, a state not
    reachable from the first."""
    states = [
        StateRule("entry", "relapse1_date"),
        StateRule("resp", "response_date", {"response": ["CR2", "mCR2"]}, remission=True),
        StateRule("partial", "response_date", {"response": ["PR"]}),
        StateRule("marker", None),
        StateRule("flag", "postremission_start_date", {"absent_column": ["x"]}),
        StateRule("relapse", "relapse2_date"),
        StateRule("death", "death_date", absorbing=True),
        StateRule("lost", "cr3_date", absorbing=True),
        StateRule("history", "salvage2_start_date"),
    ]
    tr = [("entry", "resp"), ("entry", "partial"), ("resp", "relapse"),
          ("partial", "relapse"), ("entry", "death"), ("resp", "death"),
          ("relapse", "death"), ("relapse", "lost"), ("entry", "lost"),
          ("history", "entry"), ("entry", "flag"), ("flag", "death"), ("entry", "marker")]
    return StateModel(states, tr, name="custom")


MODELS = {"date": lambda: relapsed_leukemia_model("date"),
          "salvage_start": lambda: relapsed_leukemia_model("salvage_start"),
          "custom": custom_model}
TIME_ZEROS = {"date": [None, "CR2", "relapse2", "death"],
              "salvage_start": [None, "CR2", "relapse2", "salvage other"],
              "custom": [None, "resp", "history", "relapse"]}


def _run(f, cohort, **kw):
    try:
        return f(cohort, **kw), None
    except Exception as e:  # noqa: BLE001 - the same exception is expected of both
        return None, e


def _same_report(a, b):
    pd.testing.assert_frame_equal(a.problems, b.problems, check_exact=True)
    pd.testing.assert_frame_equal(a.transitions, b.transitions, check_exact=True)
    assert a.text() == b.text()


def assert_same(cohort, **kw):
    """build_transitions and the former loop give the same result, or raise the same
    error; the former's result (or error) is returned."""
    new, e_new = _run(build_transitions, cohort, **kw)
    old, e_old = _run(build_transitions_loop, cohort, **kw)
    if e_old is not None or e_new is not None:
        assert type(e_new) is type(e_old), (e_new, e_old)
        assert str(e_new) == str(e_old)
        if isinstance(e_old, TransitionCheckError):
            _same_report(e_new.report, e_old.report)
        return e_old
    pd.testing.assert_frame_equal(new.data, old.data, check_exact=True)
    assert list(new.data.dtypes) == list(old.data.dtypes)
    pd.testing.assert_frame_equal(new.excluded, old.excluded, check_exact=True)
    _same_report(new.report, old.report)
    pd.testing.assert_frame_equal(new.transition_counts(), old.transition_counts(),
                                  check_exact=True)
    assert (new.model, new.time_zero, new.unit) == (old.model, old.time_zero, old.unit)
    assert new.choices == old.choices and new.title == old.title
    return old


CASES = [(m, tz, seed) for m in MODELS for tz in TIME_ZEROS[m] for seed in range(3)]
SEEN = {"rules": set(), "reasons": set()}


def _reason_kind(r):
    """An exclusion reason without the patient's values / count."""
    if " not reached (" in r:
        return "not reached"
    if r.startswith("data error"):
        return "data error(s) in the multi-state path"
    return r.split(" ", 1)[1] if r[0].isdigit() else r


@pytest.mark.parametrize("model,time_zero,seed", CASES)
def test_same_output_as_the_loop(model, time_zero, seed):
    rng = np.random.default_rng(1000 + seed)
    n = int(rng.choice([1, 2, 40, 250]))
    kw = dict(model=MODELS[model](), time_zero=time_zero,
              unit=["days", "months", "years"][seed % 3],
              cutoff=[None, None, "2020-06-01"][(seed + len(model)) % 3])
    c = random_cohort(n, 7 * seed + len(model) + len(str(time_zero)),
                      pid="int" if seed == 1 else "str", no_cutoff_col=seed == 2)
    for on_error in ("exclude", "raise"):
        out = assert_same(c, on_error=on_error, **kw)
        assert not isinstance(out, RuntimeError), out
        if isinstance(out, TransitionsData):
            SEEN["rules"].update(out.report.problems["rule"])
            SEEN["reasons"].update(_reason_kind(r) for r in out.excluded["reason"])


def test_the_cases_reach_every_rule():
    # the parametrised cases above (run first, in file order) reached every rule of the
    # report and every reason of exclusion; if not, they test less than they claim
    if not SEEN["rules"]:
        for case in CASES:
            test_same_output_as_the_loop(*case)
    assert SEEN["rules"] == {"date missing", "date without condition", "before time zero",
                             "after cut-off", "after last follow-up", "after absorbing state",
                             "transition not in model", "same-day rule"}
    assert SEEN["reasons"] >= {
        "not reached", "relapse1_date missing (time zero: entry into relapse1)",
        "response_date missing (time zero: entry into CR2)", "last_followup_date missing",
        "follow-up ends before time zero", "time zero after the data cut-off",
        "data error(s) in the multi-state path", ZERO_FOLLOWUP_REASON,
        "no follow-up after time zero (time zero on the data cut-off date)"}, SEEN["reasons"]


@pytest.mark.parametrize("seed", range(4))
def test_many_patients_every_model(seed):
    c = random_cohort(1500, 50 + seed, pid="int" if seed == 3 else "str")
    for name, make in MODELS.items():
        out = assert_same(c, model=make(), time_zero=TIME_ZEROS[name][seed],
                          on_error="exclude")
        assert isinstance(out, TransitionsData), out


def test_small_and_degenerate_cohorts():
    m = relapsed_leukemia_model("salvage_start")
    c = random_cohort(30, 3)
    assert_same(c.iloc[:0], model=m, on_error="exclude")              # no patient
    for i in range(10):                                               # one patient
        assert_same(c.iloc[i:i + 1], model=m, on_error="exclude")
        assert_same(c.iloc[i:i + 1], model=m)
    # nobody reaches time zero; nobody has an event (censored rows only)
    assert_same(c.assign(response="none"), model=m, time_zero="CR2", on_error="exclude")
    quiet = c.drop(columns=[x for x in c.columns if x.endswith("_date")] + [
        "response", "postremission_modality", "salvage2_modality", "status_after_salvage2"]
    ).assign(relapse1_date=pd.Timestamp("2020-01-01"),
             last_followup_date=pd.Timestamp("2020-03-01"))
    out = assert_same(quiet, model=m)
    assert len(out.data) == 30 and (out.data["to_state"] == "censor").all()
    # a cohort with another index and dates at a coarser resolution
    c2 = random_cohort(60, 8)
    c2.index = np.arange(60) * 3 + 7
    for col in c2.columns:
        if col.endswith("_date"):
            c2[col] = c2[col].astype("datetime64[s]")
    assert_same(c2, model=m, on_error="exclude")


def test_same_day_groups_on_and_after_the_time_zero_day():
    # CR2 on the time-zero day, ATO-based and relapse2 the next day: the former rule
    # placed ATO-based at 0.5 days, where CR2 already was (an empty row), and the whole
    # cohort failed the builder's own check (RuntimeError). The next day's two now share
    # (0.5, 1]: 0.75 and 1 (the former loop keeps the old failure)
    base = pd.Timestamp("2020-01-01")
    one = pd.DataFrame({"patient_id": ["x"], "relapse1_date": [base], "response": ["CR2"],
                        "response_date": [base], "postremission_modality": ["ATO-based"],
                        "postremission_start_date": [base + pd.Timedelta(days=1)],
                        "relapse2_date": [base + pd.Timedelta(days=1)],
                        "last_followup_date": [base + pd.Timedelta(days=9)]})
    m = relapsed_leukemia_model("salvage_start")
    assert isinstance(_run(build_transitions_loop, one, model=m)[1], RuntimeError)
    d = build_transitions(one, model=m).data
    assert d["tstop"].tolist() == [0.5, 0.75, 1.0, 9.0]
    assert d["to_state"].tolist() == ["CR2", "ATO-based", "relapse2", "censor"]
    # two on the time-zero day, three the next: (0, 2/3] then (2/3, 1] in thirds
    two = one.assign(relapse1_date=base, response_date=base, postremission_start_date=base,
                     relapse2_date=base + pd.Timedelta(days=1), salvage2_modality="IC",
                     salvage2_start_date=base + pd.Timedelta(days=1),
                     death_date=base + pd.Timedelta(days=1),
                     last_followup_date=base + pd.Timedelta(days=1))
    d2 = build_transitions(two, model=m).data
    assert np.allclose(d2["tstop"], [1 / 3, 2 / 3, 2 / 3 + 1 / 9, 2 / 3 + 2 / 9, 1.0])
    assert (np.diff(d2["tstop"]) > 0).all()
    # three on the time-zero day, three on a later day, one on the last day
    three = one.assign(postremission_start_date=base, relapse2_date=base,
                       salvage2_modality="IC", salvage2_start_date=base + pd.Timedelta(days=4),
                       status_after_salvage2="CR", death_date=base + pd.Timedelta(days=4),
                       last_followup_date=base + pd.Timedelta(days=4))
    out = assert_same(three, model=relapsed_leukemia_model("salvage_start"))
    assert out.data["same_day"].all() and len(out.data) == 6


def test_missing_patient_id_is_a_data_error():
    # a patient without id: the former loop left him out when excluded for another reason,
    # else his rows failed the builder's own check (RuntimeError); now an InputError
    m = relapsed_leukemia_model("salvage_start")
    c = random_cohort(40, 11)
    c["patient_id"] = c["patient_id"].astype(object)
    c.loc[5, "patient_id"] = None
    with pytest.raises(InputError, match="patient_id is missing in 1 row"):
        build_transitions(c, model=m, on_error="exclude")
    one = pd.DataFrame({"patient_id": ["a", None, "c"],
                        "relapse1_date": pd.to_datetime(["2020-01-01"] * 3),
                        "last_followup_date": pd.to_datetime(["2020-02-01"] * 3)})
    # the former loop failed its own row check (RuntimeError: an internal error); a
    # missing id is the data's, said as such
    assert isinstance(_run(build_transitions_loop, one, model=m)[1], RuntimeError)
    with pytest.raises(InputError, match=r"patient_id is missing in 1 row\(s\) \(rows 1,"):
        build_transitions(one, model=m)


def test_argument_errors_unchanged():
    c = random_cohort(5, 1)
    for kw in (dict(unit="weeks"), dict(on_error="warn"), dict(time_zero="nowhere"),
               dict(model="leukaemia")):
        assert isinstance(assert_same(c, **kw), InputError)


def test_absent_columns():
    # a condition that holds with its date column absent ("column absent" in the text);
    # a condition on an absent column that holds (None allowed): the same KeyError
    c = random_cohort(60, 12).drop(columns=["response_date"])
    m = StateModel([StateRule("a", "relapse1_date"),
                    StateRule("b", "response_date", {"response": ["CR2"]}),
                    StateRule("d", "death_date", absorbing=True)],
                   [("a", "b"), ("a", "d"), ("b", "d")])
    out = assert_same(c, model=m, on_error="exclude")
    assert out.report.problems["detail"].str.contains("column absent").any()
    m2 = StateModel([StateRule("a", "relapse1_date"),
                     StateRule("b", "response_date", {"nocol": [None]}),
                     StateRule("d", "death_date", absorbing=True)],
                    [("a", "b"), ("a", "d"), ("b", "d")])
    assert isinstance(assert_same(random_cohort(20, 3), model=m2, on_error="exclude"), KeyError)
