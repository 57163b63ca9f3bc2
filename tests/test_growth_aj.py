"""The O((n + T) S^2 log T) Aalen-Johansen IJ variance changes no number.

``aalen_johansen`` used to update every subject's influence row at every event time
(O(n T S^2)); it now carries the S x S Gram matrices through the event times and
evaluates a subject's row only at its rows' ends, by range compositions of the per-time
affine maps.  The former implementation is kept below as the reference: occupancy
probabilities, counts, p0 and the restricted means are bit for bit the same; the
standard errors (states, sums of states, restricted means) agree to rtol 1e-10 (the
summation order changed).  Values the former code reported as zero (std below 1e-14,
an influence that cancels exactly) are compared with atol 1e-14.
"""

import os

import numpy as np
import pandas as pd
import pytest

from aplcohort.errors import InputError
from aplcohort.multistate import occupancy as occ
from aplcohort.multistate.occupancy import AJFit, aalen_johansen

HERE = os.path.dirname(__file__)


# ------------------------------------------------------------------ the former code
def merge_contiguous_censored_old(start, stop, frm, to, sid):
    """Join a censored row with the next row of the same subject that starts at its stop.

    R ``survfitCI`` does the same (those rows only split follow-up, e.g. for a
    time-dependent covariate); otherwise the split would count as a censoring.
    """
    o = np.lexsort((stop, sid))
    start, stop, frm, to, sid = start[o], stop[o], frm[o], to[o], sid[o]
    nxt_same = np.zeros(len(sid), bool)
    nxt_same[:-1] = (sid[1:] == sid[:-1]) & (start[1:] == stop[:-1])
    extra = nxt_same & (to == 0)
    if not extra.any():
        return start, stop, frm, to, sid
    e = np.flatnonzero(extra)
    new_start = start.copy()
    # the row after each run of extras inherits the start of the run
    keep = ~extra
    # propagate starts forward through chains of extra rows
    for i in e:  # chains are short (a handful of rows per subject)
        new_start[i + 1] = new_start[i]
    return new_start[keep], stop[keep], frm[keep], to[keep], sid[keep]


def aalen_johansen_old(start, stop, from_state, to_state, subject, n_states, *, p0=None,
                   combos=None, tau=None) -> AJFit:
    """The former implementation (U updated for every subject at every time)."""
    start = np.asarray(start, float)
    stop = np.asarray(stop, float)
    frm = np.asarray(from_state, int)
    to = np.asarray(to_state, int)
    sid = pd.factorize(np.asarray(subject))[0]
    S = int(n_states)
    if combos is None:
        combos = np.zeros((S, 0))
    combos = np.asarray(combos, float)
    start, stop, frm, to, sid = merge_contiguous_censored_old(start, stop, frm, to, sid)
    nid = int(sid.max()) + 1 if sid.size else 0
    moved = (to > 0) & (to - 1 != frm)
    times = np.unique(stop)
    T = times.size

    # ---- counts (vectorised): at risk in state j at t  <=> start < t <= stop
    n_risk = np.zeros((T, S))
    for j in range(S):
        m = frm == j
        n_risk[:, j] = (np.searchsorted(np.sort(start[m]), times, side="left")
                        - np.searchsorted(np.sort(stop[m]), times, side="left"))
    ti = np.searchsorted(times, stop)
    n_event = np.zeros((T, S))
    np.add.at(n_event, (ti[moved], to[moved] - 1), 1.0)
    n_censor = np.bincount(ti[to == 0], minlength=T).astype(float)
    n_trans = np.zeros((S, S))
    np.add.at(n_trans, (frm[moved], to[moved] - 1), 1.0)

    # ---- initial distribution (R docurve2)
    t0 = times.max() if not moved.any() else stop[moved].min()
    at0 = (start < t0) & (stop >= t0)
    U = np.zeros((nid, S))
    if p0 is None:
        n0 = at0.sum()
        p0 = np.bincount(frm[at0], minlength=S) / n0
        if (p0 < 1).all():
            U[sid[at0]] = (np.eye(S)[frm[at0]] - p0) / n0
    else:
        p0 = np.asarray(p0, float)
    sp0 = np.sqrt((U ** 2).sum(axis=0))

    A = np.hstack([np.eye(S), combos])  # states, then sums of states
    p = p0.copy()
    pstate = np.empty((T, S))
    std = np.empty((T, A.shape[1]))
    do_rmean = tau is not None
    if do_rmean:
        lag = min(0.0, times[0]) if T else 0.0
        I_int = np.zeros((nid, S))
        r_int = np.zeros(S)
    cur_std = np.sqrt(((U @ A) ** 2).sum(axis=0))
    for it in range(T):
        t = times[it]
        if do_rmean and lag < tau:
            dt = min(t, tau) - lag
            I_int += U * dt
            r_int += p * dt
            lag = min(t, tau)
        ev = moved & (stop == t)
        if ev.any():
            ws = n_risk[it]
            H = np.zeros((S, S))
            np.add.at(H, (frm[ev], to[ev] - 1), 1.0)
            has = ws > 0
            tot = H.sum(axis=1)
            H[has] = H[has] / ws[has, None]
            diag = np.where(has, 1.0 - np.divide(tot, ws, out=np.zeros(S), where=has), 1.0)
            H[np.arange(S), np.arange(S)] = diag
            U = U @ H
            risk = (start < t) & (stop >= t)
            r_from = frm[risk]
            dstate = np.where(ev[risk], to[risk] - 1, r_from)
            coef = p[r_from] / ws[r_from]
            upd = -H[r_from] * coef[:, None]
            upd[np.arange(r_from.size), dstate] += coef
            np.add.at(U, sid[risk], upd)
            p = p @ H
            cur_std = np.sqrt(((U @ A) ** 2).sum(axis=0))
        pstate[it] = p
        std[it] = cur_std
    rmean = se_rmean = crm = cse = None
    if do_rmean:
        if lag < tau:
            dt = tau - lag
            I_int += U * dt
            r_int += p * dt
        rmean = r_int
        se_all = np.sqrt(((I_int @ A) ** 2).sum(axis=0))
        se_rmean = se_all[:S]
        crm = r_int @ combos
        cse = se_all[S:]
    # influences of a sum cancel exactly in theory (e.g. alive = 1 - dead with no deaths
    # yet); floating-point remainders below 1e-14 are reported as the zero they are
    std[std < 1e-14] = 0.0
    return AJFit(times, pstate, std[:, :S], n_risk, n_event, n_censor, p0, sp0,
                 pstate @ combos, std[:, S:], rmean, se_rmean, crm, cse, n_trans, nid)


# ------------------------------------------------------------------ data
def ms_rows(n, seed, S=4, *, delayed=True, gaps=True, splits=True, cont=False,
            self_tr=False, start_states=None, censor=True):
    """Random (start, stop] rows of ``n`` subjects; state ``S-1`` (death) absorbing.

    Whole-day times (ties) unless ``cont``; delayed entry (left truncation), gaps between
    a subject's rows, censored splits of a row (merged as R does), "transitions" to the
    state a subject is already in (``self_tr``), no censoring (``censor=False``: every
    subject dies, the living states empty)."""
    rng = np.random.default_rng(seed)
    st, sp, fr, to, ids = [], [], [], [], []
    for i in range(n):
        t = float(rng.integers(1, 15)) if (delayed and rng.random() < 0.3) else 0.0
        cens = t + (rng.exponential(40) if cont else float(rng.integers(1, 80)))
        if not censor:
            cens = np.inf
        s = int(rng.choice(start_states if start_states is not None else S - 1))
        while True:
            d = max(rng.exponential(15), 1e-3) if cont else float(np.ceil(rng.exponential(15)))
            if t + d >= cens:
                if splits and rng.random() < 0.2 and cens - t > 2:
                    mid = (t + cens) / 2 if cont else float(np.floor((t + cens) / 2))
                    if t < mid < cens:
                        st += [t]; sp += [mid]; fr += [s]; to += [0]; ids += [i]  # noqa: E702
                        t = mid
                st += [t]; sp += [cens]; fr += [s]; to += [0]; ids += [i]  # noqa: E702
                break
            nxt = int(rng.integers(0, S))
            if nxt == s and not self_tr:
                nxt = S - 1
            st += [t]; sp += [t + d]; fr += [s]; to += [nxt + 1]; ids += [i]  # noqa: E702
            t = t + d
            if nxt == S - 1:
                break
            s = nxt
            if gaps and rng.random() < 0.15:
                t = t + float(rng.integers(1, 5))
                if t >= cens:
                    break
    o = rng.permutation(len(st))     # rows in no particular order
    return tuple(np.array(x)[o] for x in (st, sp, fr, to, ids))


COMBOS4 = np.array([[1, 1, 0], [1, 0, 0], [0, 1, 1], [0, 0, 0]], float)  # incl. all living

EXACT = ["time", "pstate", "n_risk", "n_event", "n_censor", "p0", "sp0", "combo_estimate",
         "rmean", "combo_rmean", "n_transitions"]
SE = ["std_err", "combo_std_err", "se_rmean", "combo_se_rmean"]


def same_fit(new, old):
    for f in EXACT:
        a, b = getattr(new, f), getattr(old, f)
        if b is None:
            assert a is None, f
            continue
        np.testing.assert_array_equal(a, b, err_msg=f)
    for f in SE:
        a, b = getattr(new, f), getattr(old, f)
        if b is None:
            assert a is None, f
            continue
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-14, err_msg=f)
    assert new.n_subjects == old.n_subjects


def both(args, **kw):
    return aalen_johansen(*args, **kw), aalen_johansen_old(*args, **kw)


# ------------------------------------------------------------------ array level
@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("cont", [False, True])
def test_random_multistate_equals_former(seed, cont):
    args = ms_rows(250, seed, cont=cont, self_tr=seed % 2 == 1)
    same_fit(*both(args + (4,), combos=COMBOS4, tau=40.0))
    same_fit(*both(args + (4,)))


@pytest.mark.parametrize("tau", [0.5, 25.0, 1e4])   # before the first time, inside, after
def test_tau_positions(tau):
    args = ms_rows(200, 11, S=3)
    same_fit(*both(args + (3,), combos=np.array([[1.0, 1], [1, 0], [0, 0]]), tau=tau))


def test_given_p0_and_spread_initial_states():
    args = ms_rows(200, 12, S=3, start_states=[0, 1])   # p0 not degenerate: influence
    f, g = both(args + (3,), tau=30.0)
    assert (f.sp0 > 0).any()
    same_fit(f, g)
    same_fit(*both(args + (3,), p0=[0.5, 0.5, 0.0], tau=30.0))


def test_states_emptying():
    # no censoring: everybody dies, the living states empty (0 at risk, coef 0)
    args = ms_rows(150, 13, S=3, delayed=False, start_states=[0], censor=False)
    f, g = both(args + (3,), combos=np.array([[1.0], [1], [0]]), tau=50.0)
    assert f.pstate[-1, 2] == pytest.approx(1.0) and (f.n_risk[:, 0] == 0).any()
    same_fit(f, g)


def test_one_subject_and_no_events():
    same_fit(*both(([0.0], [5.0], [0], [2], [1], 2), tau=3.0))
    same_fit(*both(([0.0, 5.0], [5.0, 9.0], [0, 1], [2, 3], [1, 1], 3),
                   combos=np.array([[1.0], [1], [0]]), tau=20.0))
    same_fit(*both(([0.0, 0.0, 2.0], [5.0, 3.0, 8.0], [0, 1, 0], [0, 0, 0], [1, 2, 3], 3),
                   combos=np.array([[1.0], [1], [0]]), tau=4.0))


def test_sums_with_an_identically_zero_influence_are_zero():
    # "all living states" before the first death and "all states" have no influence
    args = ms_rows(200, 14, S=3, start_states=[0, 1])
    f, g = both(args + (3,), combos=np.array([[1.0, 1], [1, 1], [0, 1]]))
    first_death = f.time[f.n_event[:, 2] > 0].min()
    assert (f.combo_std_err[f.time < first_death, 0] == 0).all()
    assert (f.combo_std_err[:, 1] == 0).all()
    assert (f.combo_std_err[f.time >= first_death, 0] > 0).all()
    same_fit(f, g)


@pytest.mark.parametrize("seed", range(3))
def test_tree_blocks_stepped_one_time_at_a_time(monkeypatch, seed):
    # a tiny memory budget: the tree starts at blocks of many times, the range ends are
    # stepped one time at a time
    monkeypatch.setattr(occ._AffineRanges, "_BUDGET", 3000)
    args = ms_rows(300, 100 + seed, cont=True)
    same_fit(*both(args + (4,), combos=COMBOS4, tau=30.0))
    same_fit(*both(args + (4,)))


def test_overlapping_rows_of_a_subject_are_refused():
    with pytest.raises(InputError, match="overlapping rows"):
        aalen_johansen([0.0, 2.0, 0.0], [4.0, 6.0, 3.0], [0, 0, 0], [2, 0, 2], [1, 1, 2], 2)


# ------------------------------------------------------------------ front ends
def _use_former(monkeypatch):
    monkeypatch.setattr(occ, "aalen_johansen", aalen_johansen_old)


def _frames_equal(a, b):
    pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-10, atol=1e-14)


def test_state_occupancy_equals_former(monkeypatch):
    s0, s1, fr, to, ids = ms_rows(300, 21, S=4)
    names = np.array(["CR", "relapse", "ATO", "death"])
    d = pd.DataFrame({"id": ids, "tstart": s0, "tstop": s1, "from_state": names[fr],
                      "to_state": np.where(to > 0, names[np.maximum(to - 1, 0)], None),
                      "arm": ids % 2})
    kw = dict(states=list(names), group="arm", sums={"alive": ["CR", "relapse", "ATO"],
                                                     "CR or ATO": ["CR", "ATO"]}, tau=30)
    new = occ.state_occupancy(d, **kw)
    _use_former(monkeypatch)
    old = occ.state_occupancy(d, **kw)
    for name in ["table", "occupancy", "sums", "rmean", "transitions", "p0"]:
        _frames_equal(getattr(new, name), getattr(old, name))
    _frames_equal(new.state_at([5, 20, 60]), old.state_at([5, 20, 60]))


def test_clfs_equals_former(monkeypatch):
    from aplcohort.cohort import load
    from aplcohort.multistate import build_transitions, clfs, relapsed_leukemia_model

    tr = build_transitions(load(os.path.join(HERE, "..", "data", "synthetic", "min2022.csv")),
                           relapsed_leukemia_model())
    new = clfs(tr, tau=1826)
    _use_former(monkeypatch)
    old = clfs(tr, tau=1826)
    for name in ["table", "curves"]:
        _frames_equal(getattr(new, name), getattr(old, name))
    _frames_equal(new.occupancy.occupancy, old.occupancy.occupancy)
    _frames_equal(new.occupancy.rmean, old.occupancy.rmean)
