"""The O(n log n) rewrites of issue 13 (growth exponents) change no number.

Each test keeps the former implementation (quadratic in time or memory) as a local
reference, written out here, and compares the public function to it bit for bit (or at
1e-10 where the summation order changed) on several simulated cohorts: tied times,
tied markers / covariates, strata and weights where the function takes them.
"""

import numpy as np
import pandas as pd
import pytest

from aplcohort.stats import coxph, td_auc


def cohort(n, seed, *, tie_x=False):
    """Whole-day times (ties), 3 covariates (one integer when ``tie_x``: tied markers)."""
    rng = np.random.default_rng(seed)
    x1 = rng.integers(0, 3, n).astype(float) if tie_x else rng.normal(size=n)
    x2 = rng.integers(0, 2, n).astype(float)
    x3 = rng.normal(size=n)
    lp = 0.4 * x1 - 0.3 * x2 + 0.2 * x3
    t = np.ceil(rng.exponential(100 * np.exp(-lp)))
    c = np.ceil(rng.uniform(10, 300, n))
    return pd.DataFrame({"t": np.minimum(t, c), "e": (t <= c).astype(int), "x1": x1,
                         "x2": x2, "x3": x3, "g": rng.integers(0, 2, n),
                         "w": rng.uniform(0.5, 2.0, n)})


# ------------------------------------------------------------------------ td_auc
def td_auc_matrix(res, times):
    """The former td_auc: a cases x controls comparison matrix per time."""
    from aplcohort.stats.coxpredict import _model, predict_lp
    m = _model(res)
    time, ev = m.time, np.asarray(m.event, float)
    lp = predict_lp(res, reference="sample").to_numpy()
    ut = np.unique(time)
    st = np.sort(time)
    n_risk = time.size - np.searchsorted(st, ut, side="left")
    nc = np.bincount(np.searchsorted(ut, time[ev == 0]), minlength=ut.size)
    Gs = np.concatenate([[1.0], np.cumprod(1.0 - nc / n_risk)])
    out = []
    for t in times:
        case = np.flatnonzero((time <= t) & (ev == 1))
        ctrl = np.flatnonzero(time > t)
        wi = 1.0 / Gs[np.searchsorted(ut, time[case], side="left")]
        wj = 1.0 / Gs[np.searchsorted(ut, t, side="right")]
        d = lp[case][:, None] - lp[ctrl][None, :]
        cmp = (d > 0) + 0.5 * (d == 0)
        out.append(float(wi @ cmp.sum(axis=1) * wj / (wi.sum() * wj * ctrl.size)))
    return np.array(out)


@pytest.mark.parametrize("seed,tie_x,covs", [(1, False, ["x1", "x2", "x3"]),
                                             (2, True, ["x1", "x2"]),
                                             (3, True, ["x1"]),
                                             (4, False, ["x3"])])
def test_td_auc_equals_the_matrix_form_bitwise(seed, tie_x, covs):
    d = cohort(700, seed, tie_x=tie_x)
    res = coxph(d, time="t", event="e", covariates=covs)
    times = [10.0, 30.0, 60.0, 100.0, float(np.median(d["t"]))]
    got = td_auc(res, times)["auc"].to_numpy()
    np.testing.assert_array_equal(got, td_auc_matrix(res, times))


# ------------------------------------------------------------------------ finegray_expand
def finegray_rows_loop(y1, y2, st, last, cause):
    """The former row loop of finegray_expand (one Python iteration per row and per added
    row), from the same ranks and censoring KM: (rows, fgstart, fgstop, fgwt)."""
    from aplcohort.stats.finegray_td import _censoring_km_counting
    n = y2.size
    utime = np.unique(np.concatenate([y1, y2]))
    r1 = np.searchsorted(utime, y1, side="right").astype(float)
    r2 = np.searchsorted(utime, y2, side="right").astype(float)
    r2 = np.where(st != 0, r2 - 0.2, r2)
    cr, cprob = _censoring_km_counting(r1, r2, last & (st == 0))
    ctime = utime[cr.astype(np.int64) - 1] if cr.size else np.zeros(0)
    times = np.unique(y2[st == cause])
    ct2 = np.concatenate([ctime, [np.max(y2)]])
    cp2 = np.concatenate([[1.0], cprob])
    idx = np.searchsorted(ct2, times, side="left")
    keep = np.zeros(ct2.size + 1, dtype=bool)
    keep[0] = True
    keep[idx[idx >= 1]] = True
    ncut = cp2.size
    expand = (st != 0) & (st != cause) & last
    rows, s_out, e_out, w_out = [], [], [], []
    for i in range(n):
        rows.append(i)
        s_out.append(y1[i])
        w_out.append(1.0)
        if not expand[i]:
            e_out.append(y2[i])
            continue
        j = int(np.searchsorted(ct2, y2[i], side="left"))
        e_out.append(ct2[j])
        tempwt = cp2[j]
        for jj in range(j + 1, ncut):
            if keep[jj]:
                rows.append(i)
                s_out.append(ct2[jj - 1])
                e_out.append(ct2[jj])
                w_out.append(cp2[jj] / tempwt)
    return (np.asarray(rows), np.asarray(s_out, float), np.asarray(e_out, float),
            np.asarray(w_out, float))


def competing(n, seed, *, days=True):
    rng = np.random.default_rng(seed)
    t = rng.exponential(200, n)
    t = np.ceil(t) if days else t
    code = rng.choice([0, 1, 2, 3], n, p=[0.3, 0.35, 0.25, 0.1])
    return pd.DataFrame({"t": t, "c": code, "x": rng.normal(size=n)})


def split_rows(d, seed):
    """(start, stop] rows with ``id``: about half the subjects split once, event on the last."""
    rng = np.random.default_rng(seed)
    cut = np.floor(d["t"].to_numpy() * rng.random(len(d)))
    two = (cut > 0) & (rng.random(len(d)) < 0.5)
    a = pd.DataFrame({"id": np.arange(len(d)), "a": 0.0,
                      "b": np.where(two, cut, d["t"]), "c": np.where(two, 0, d["c"])})
    b = pd.DataFrame({"id": np.arange(len(d))[two], "a": cut[two], "b": d["t"][two],
                      "c": d["c"][two]})
    out = pd.concat([a, b]).sample(frac=1.0, random_state=seed).reset_index(drop=True)
    out["x"] = rng.normal(size=len(out))
    return out


@pytest.mark.parametrize("seed,days,cause,counting", [(1, True, 1, False), (2, False, 1, False),
                                                      (3, True, 2, False), (4, True, 1, True),
                                                      (5, False, 2, True), (6, True, 3, True)])
def test_finegray_expand_equals_the_row_loop_bitwise(seed, days, cause, counting):
    from aplcohort.stats import finegray_expand
    d = competing(400, seed, days=days)
    if counting:
        d = split_rows(d, seed)
        fg = finegray_expand(d, stop="b", code="c", start="a", id="id", cause=cause)
        y1, y2 = d["a"].to_numpy(float), d["b"].to_numpy(float)
        ids = pd.factorize(d["id"])[0]
        o = np.lexsort((y2, ids))
        last = np.zeros(len(d), bool)
        last[o[np.r_[ids[o][1:] != ids[o][:-1], True]]] = True
    else:
        fg = finegray_expand(d, stop="t", code="c", cause=cause)
        y2 = d["t"].to_numpy(float)
        y1 = np.zeros_like(y2)
        last = np.ones(len(d), bool)
    rows, s, e, w = finegray_rows_loop(y1, y2, d["c"].to_numpy(), last, cause)
    assert len(fg) == rows.size > len(d)
    pd.testing.assert_frame_equal(fg[list(d.columns)], d.iloc[rows].reset_index(drop=True),
                                  check_exact=True)
    np.testing.assert_array_equal(fg["fgstart"].to_numpy(), s)
    np.testing.assert_array_equal(fg["fgstop"].to_numpy(), e)
    np.testing.assert_array_equal(fg["fgwt"].to_numpy(), w)
    np.testing.assert_array_equal(fg["fgstatus"].to_numpy(), (d["c"].to_numpy()[rows] == cause))


# ------------------------------------------------------------------------ adjust.finegray_data
def finegray_data_loop(time, code, cause=1):
    """The former finegray_data: a loop over censoring times (risk sets by full scans) and
    a Python loop over rows."""
    t = np.asarray(time, float)
    c = np.asarray(code).astype(int)
    ctimes = np.unique(t[c == 0])
    G = np.empty(ctimes.size)
    g = 1.0
    for j, u in enumerate(ctimes):
        at_risk = np.sum((t > u) | ((t == u) & (c == 0)))
        g *= 1 - np.sum((t == u) & (c == 0)) / at_risk
        G[j] = g
    ct2 = np.concatenate([ctimes, [t.max()]])
    cp2 = np.concatenate([[1.0], G])
    ev_times = np.unique(t[c == cause])
    keep_int = np.zeros(ct2.size + 1, bool)
    keep_int[np.searchsorted(ct2, ev_times, side="left")] = True
    rows = []
    for i in range(t.size):
        if c[i] == 0 or c[i] == cause:
            rows.append((i, 0.0, t[i], int(c[i] == cause), 1.0))
            continue
        k0 = np.searchsorted(ct2, t[i], side="left")
        g_ti = cp2[np.searchsorted(ctimes, t[i], side="left")]
        if k0 >= ct2.size:
            rows.append((i, 0.0, t[i], 0, 1.0))
            continue
        rows.append((i, 0.0, ct2[k0], 0, 1.0))
        for k in range(k0 + 1, ct2.size):
            if ct2[k] <= ct2[k - 1]:
                continue
            if keep_int[k]:
                rows.append((i, ct2[k - 1], ct2[k], 0, cp2[k] / g_ti))
    return pd.DataFrame(rows, columns=["row", "fgstart", "fgstop", "fgstatus", "fgwt"])


@pytest.mark.parametrize("seed,days,cause", [(1, True, 1), (2, False, 1), (3, True, 2),
                                             (4, True, 3), (5, False, 2)])
def test_finegray_data_equals_the_loops_bitwise(seed, days, cause):
    from aplcohort.adjust import finegray_data
    d = competing(500, seed, days=days)
    t, c = d["t"].to_numpy().copy(), d["c"].to_numpy().copy()  # writable under pandas 3 (CoW)
    if seed == 4:                      # the largest time a censoring (a repeated ct2 end)
        c[np.argmax(t)] = 0
    got = finegray_data(t, c, cause)
    pd.testing.assert_frame_equal(got, finegray_data_loop(t, c, cause), check_exact=True)
    # the hand example of the docstring too
    ex = ([1, 2, 2, 3, 4, 4, 5, 6, 7, 8], [1, 2, 0, 2, 0, 1, 2, 0, 1, 0])
    pd.testing.assert_frame_equal(finegray_data(*ex), finegray_data_loop(*ex), check_exact=True)


# ------------------------------------------------------------------------ firth_coxph
def penalised_per_row(eng, beta, penalty=0.5):
    """The former Firth evaluation: per-row (n, p, p, p) third moments and risk-set sums."""
    from aplcohort.stats.cox import _risk_sums
    X, w, p = eng.X, eng.w, eng.p
    eta = X @ beta
    ll, U, Imat, dI = 0.0, np.zeros(p), np.zeros((p, p)), np.zeros((p, p, p))
    for st in eng.strata:
        if len(st.tau) == 0:
            continue
        eta_s = eta[st.idx]
        c = eta_s.max()
        r = w[st.idx] * np.exp(eta_s - c)
        Xs = X[st.idx]
        rX = r[:, None] * Xs
        rXX = rX[:, :, None] * Xs[:, None, :]
        rXXX = rXX[:, :, :, None] * Xs[:, None, None, :]
        J = len(st.tau)
        S0, S1, S2, S3 = (_risk_sums(st, v) for v in (r, rX, rXX, rXXX))
        dd = st.dead
        S0D = np.bincount(st.dead_j, weights=r[dd], minlength=J)
        S1D, S2D, S3D = np.zeros((J, p)), np.zeros((J, p, p)), np.zeros((J, p, p, p))
        np.add.at(S1D, st.dead_j, rX[dd])
        np.add.at(S2D, st.dead_j, rXX[dd])
        np.add.at(S3D, st.dead_j, rXXX[dd])
        jj, fr = st.row_j, st.frac
        den = S0[jj] - fr * S0D[jj]
        m = (S1[jj] - fr[:, None] * S1D[jj]) / den[:, None]
        s2 = (S2[jj] - fr[:, None, None] * S2D[jj]) / den[:, None, None]
        s3 = (S3[jj] - fr[:, None, None, None] * S3D[jj]) / den[:, None, None, None]
        W = np.bincount(st.dead_j, weights=w[st.idx][dd], minlength=J)
        mw = (W / st.d)[jj]
        wd = w[st.idx][dd]
        ll += np.sum(wd * (eta_s[dd] - c)) - np.sum(mw * np.log(den))
        U += wd @ Xs[dd] - mw @ m
        Imat += np.einsum("r,rab->ab", mw, s2) - np.einsum("r,ra,rb->ab", mw, m, m)
        c3 = (s3 - np.einsum("ra,rbt->rabt", m, s2) - np.einsum("rb,rat->rabt", m, s2)
              - np.einsum("rt,rab->rabt", m, s2) + 2 * np.einsum("ra,rb,rt->rabt", m, m, m))
        dI += np.einsum("r,rabt->abt", mw, c3)
    sign, logdet = np.linalg.slogdet(Imat)
    if sign <= 0:
        return -np.inf, np.full(p, np.nan), Imat, ll
    Ustar = U + penalty * np.einsum("ab,abt->t", np.linalg.inv(Imat), dI)
    return ll + penalty * logdet, Ustar, Imat, ll


FIRTH_CASES = [  # (seed, ties, strata, weights, entry)
    (1, "breslow", False, False, False), (2, "efron", False, False, False),
    (3, "breslow", True, False, False), (4, "efron", True, True, False),
    (5, "breslow", False, True, True), (6, "efron", True, False, True)]


def firth_data(seed, entry):
    d = cohort(300, seed, tie_x=True)
    if entry:
        d["t0"] = np.floor(d["t"] * np.random.default_rng(seed).uniform(0, 0.5, len(d)))
    return d


@pytest.mark.parametrize("seed,ties,strata,weights,entry", FIRTH_CASES)
def test_firth_penalised_equals_the_per_row_form(seed, ties, strata, weights, entry):
    from aplcohort.stats.cox import _Engine
    from aplcohort.stats.firth import _penalised
    d = firth_data(seed, entry)
    X = d[["x1", "x2", "x3"]].to_numpy(float)
    X = X - X.mean(axis=0)
    eng = _Engine(X, d["t"].to_numpy(float), d["e"].to_numpy(), d["t0"].to_numpy(float)
                  if entry else None, d["g"].to_numpy() if strata else None,
                  d["w"].to_numpy(float) if weights else np.ones(len(d)), ties)
    for beta in ([0.0, 0.0, 0.0], [0.4, -0.3, 0.2], [-1.0, 2.0, 0.5]):
        beta = np.array(beta)
        new, old = _penalised(eng, beta), penalised_per_row(eng, beta)
        for a, b in zip(new, old):
            np.testing.assert_allclose(a, b, rtol=1e-10, atol=0)


@pytest.mark.parametrize("seed,ties,strata,weights,entry", FIRTH_CASES[:4])
def test_firth_coxph_results_equal_the_per_row_form(monkeypatch, seed, ties, strata, weights,
                                                    entry):
    import aplcohort.stats.firth as firth
    d = firth_data(seed, entry)
    kw = dict(time="t", event="e", covariates=["x1", "x2", "x3"], ties=ties,
              strata="g" if strata else None, weights="w" if weights else None)
    new = firth.firth_coxph(d, **kw)
    monkeypatch.setattr(firth, "_penalised", penalised_per_row)
    old = firth.firth_coxph(d, **kw)
    for col in ("coef", "se", "lower", "upper", "statistic", "p"):
        np.testing.assert_allclose(new.terms[col], old.terms[col], rtol=1e-10, atol=0)
    np.testing.assert_allclose(new.loglik, old.loglik, rtol=1e-10)


# ------------------------------------------------------------------------ Cox residual engine
@pytest.mark.parametrize("seed,ties,strata,weights,entry", FIRTH_CASES)
def test_cox_engine_without_unused_moments_is_bitwise_the_same(monkeypatch, seed, ties, strata,
                                                              weights, entry):
    """Martingale / score residuals (hence dfbeta and the robust variance) and Schoenfeld
    residuals no longer build the second-moment sums they never used: every number is the
    same bit for bit as with the full moments."""
    from aplcohort.stats import cox_residuals
    from aplcohort.stats.cox import _Engine
    d = firth_data(seed, entry)
    kw = dict(time="t", event="e", covariates=["x1", "x2", "x3"], ties=ties,
              strata="g" if strata else None, weights="w" if weights else None,
              entry="t0" if entry else None, robust=True)
    if entry:
        d["id"] = np.arange(len(d))
        kw["cluster"] = "id"

    def run():
        f = coxph(d, **kw)
        out = [f.terms["robust_se"].to_numpy()]
        out += [cox_residuals(f, t).to_numpy(float)
                for t in ("martingale", "deviance", "score", "schoenfeld", "dfbeta")]
        return out

    new = run()
    full = _Engine._stratum_terms
    monkeypatch.setattr(_Engine, "_stratum_terms",
                        lambda self, st, eta_s, r, Xs, moments=2: full(self, st, eta_s, r, Xs, 2))
    for a, b in zip(new, run()):
        np.testing.assert_array_equal(a, b)


# ------------------------------------------------------------------------ concordance
class FenwickRef:
    """Binary indexed tree of weights over ranks 0..K-1 (prefix sums in O(log K))."""

    def __init__(self, K):
        self.K = K
        self.t = [0.0] * (K + 1)
        self.total = 0.0

    def add(self, r, v):
        t, K = self.t, self.K
        self.total += v
        i = r + 1
        while i <= K:
            t[i] += v
            i += i & -i

    def below(self, r):
        """Sum of the weights at ranks < r."""
        t = self.t
        s = 0.0
        i = r
        while i > 0:
            s += t[i]
            i -= i & -i
        return s


def count_fenwick(time, event, entry, lp, w):
    """The former counting (Python sweeps with a binary indexed tree).

    Pair counts and per-row influence of one stratum (R ``concordance`` counting).

    Returns (counts (5,), imat (n, 3)) with counts = [concordant, discordant, tied.x,
    tied.y, tied.xy] (weighted) and imat the weighted numbers of concordant, discordant
    and tied.x pairs each row is part of.

    Two sweeps over the distinct event times with a binary indexed tree over the ranks of
    the linear predictor (O(n log n), as R's C code): row ``j`` is a comparator of the
    events at the k-th event time ``U[k]`` when ``lo_j <= k < hi_j`` (``hi``: event times
    before its stop, or at it when censored; ``lo``: event times at or before its entry).
    """
    n = time.size
    imat = np.zeros((n, 3))
    counts = np.zeros(5)
    dead = event == 1
    U = np.unique(time[dead])
    J = U.size
    if J == 0:
        return counts, imat
    _u, rank = np.unique(lp, return_inverse=True)
    K = int(rank.max()) + 1
    hi = np.where(dead, np.searchsorted(U, time, side="left"),
                  np.searchsorted(U, time, side="right"))
    lo = (np.zeros(n, np.int64) if entry is None
          else np.searchsorted(U, entry, side="right"))
    kd = np.full(n, -1, np.int64)
    kd[dead] = np.searchsorted(U, time[dead])
    rl, wl, hil, lol = rank.tolist(), w.tolist(), hi.tolist(), lo.tolist()

    def by(key, rows):
        """rows grouped by key value (lists indexed 0..J)."""
        out = [[] for _ in range(J + 1)]
        for j in rows:
            out[key[j]].append(j)
        return out

    allrows = range(n)
    add_at = by(hil, allrows)                      # enters the comparator set below hi
    sub_at = by(lol, allrows) if entry is not None else None
    deaths_at = by(kd.tolist(), np.flatnonzero(dead).tolist())
    # events' side: sums over their comparators (sweep k downwards)
    side = np.zeros((n, 3))
    f = FenwickRef(K)
    for k in range(J - 1, -1, -1):
        for j in add_at[k + 1]:
            f.add(rl[j], wl[j])
        if sub_at is not None:
            for j in sub_at[k + 1]:
                f.add(rl[j], -wl[j])
        for i in deaths_at[k]:
            lt = f.below(rl[i])
            le = f.below(rl[i] + 1)
            side[i, 0] = lt                        # comparator lower: concordant
            side[i, 1] = f.total - le              # comparator higher: discordant
            side[i, 2] = le - lt
    # comparators' side: sums over the events they are compared with (sweep k upwards)
    g = FenwickRef(K)
    for k in range(J + 1):
        for sign, rows in ((1.0, add_at[k]), (-1.0, None if sub_at is None else sub_at[k])):
            if not rows:
                continue
            for j in rows:
                lt = g.below(rl[j])
                le = g.below(rl[j] + 1)
                imat[j, 0] += sign * (g.total - le)     # event higher: concordant
                imat[j, 1] += sign * lt
                imat[j, 2] += sign * (le - lt)
        if k < J:
            for i in deaths_at[k]:
                g.add(rl[i], wl[i])
    imat += side
    counts[:3] = w @ side                          # each pair once, from its event's side
    # pairs of events at the same time (R's tied.y; tied.xy when the predictor ties too)
    wd, td, rd = w[dead], time[dead], rank[dead]
    for keys, slot in (((td,), 3), ((td, rd), 4)):
        _k, grp = np.unique(np.column_stack(keys), axis=0, return_inverse=True)
        grp = grp.ravel()
        sw = np.bincount(grp, weights=wd)
        sw2 = np.bincount(grp, weights=wd * wd)
        counts[slot] = np.sum(sw * sw - sw2) / 2
    counts[3] -= counts[4]
    return counts, imat


@pytest.mark.parametrize("seed,tie_x,entry,weights", [(1, False, False, False),
                                                      (2, True, False, False),
                                                      (3, True, True, False),
                                                      (4, False, True, True),
                                                      (5, True, False, True),
                                                      (6, True, True, True)])
def test_concordance_counts_equal_the_fenwick_sweeps(seed, tie_x, entry, weights):
    """Unit weights: every count is an integer sum, equal bit for bit. Case weights: the
    sums are taken in another order, equal at rtol 1e-10; a per-row count that is zero
    comes out of both as a difference of two weight sums (Fenwick prefixes there, block
    sums here), so it is compared at 1e-10 of the total weight, the scale of those sums."""
    from aplcohort.stats.concordance import _count
    d = firth_data(seed, entry) if entry else cohort(600, seed, tie_x=tie_x)
    lp = np.round(0.4 * d["x1"].to_numpy() - 0.3 * d["x2"].to_numpy(), 1 if tie_x else 12)
    w = d["w"].to_numpy(float) if weights else np.ones(len(d))
    args = (d["t"].to_numpy(float), d["e"].to_numpy(), d["t0"].to_numpy(float) if entry else None,
            lp, w)
    (c_new, i_new), (c_old, i_old) = _count(*args), count_fenwick(*args)
    if weights:
        np.testing.assert_allclose(c_new, c_old, rtol=1e-10, atol=0)
        np.testing.assert_allclose(i_new, i_old, rtol=1e-10, atol=1e-10 * w.sum())
    else:
        np.testing.assert_array_equal(c_new, c_old)
        np.testing.assert_array_equal(i_new, i_old)


@pytest.mark.parametrize("n", [0, 1, 2, 3, 5, 8, 17, 64])
@pytest.mark.parametrize("later_first", [True, False])
def test_dominance_by_brute_force(n, later_first):
    from aplcohort.stats.concordance import _dominance
    rng = np.random.default_rng(n)
    pk, pr, pw = rng.integers(-3, 4, n), rng.integers(0, 5, n), rng.uniform(0.5, 2, n)
    qk, qr = rng.integers(-4, 5, 30), rng.integers(-1, 6, 30)
    got = _dominance(pk, pr, pw, qk, qr, later_first)
    beyond = (pk[None, :] > qk[:, None]) if later_first else (pk[None, :] < qk[:, None])
    want = [(beyond & (pr[None, :] < qr[:, None])) @ pw,
            (beyond & (pr[None, :] <= qr[:, None])) @ pw, beyond @ pw]
    for g, w_ in zip(got, want):
        np.testing.assert_allclose(g, w_, rtol=1e-13, atol=0)


@pytest.mark.parametrize("seed,strata,weights", [(1, False, False), (2, True, False),
                                                 (3, False, True), (4, True, True)])
def test_concordance_results_equal_the_fenwick_sweeps(monkeypatch, seed, strata, weights):
    import importlib
    conc = importlib.import_module("aplcohort.stats.concordance")
    d = cohort(500, seed, tie_x=True)
    f = coxph(d, time="t", event="e", covariates=["x1", "x2"], strata="g" if strata else None,
              weights="w" if weights else None)
    new = conc.concordance(f).table
    monkeypatch.setattr(conc, "_count", count_fenwick)
    old = conc.concordance(f).table
    num = new.select_dtypes("number").columns
    np.testing.assert_allclose(new[num].to_numpy(float), old[num].to_numpy(float), rtol=1e-10,
                               atol=0)


# ------------------------------------------------------------------------ cox.zph event terms
def event_terms_per_row(eng, beta):
    """The former per-event-time information of cox.zph: per-row (n, p, p) moments."""
    eta = eng.X @ beta
    out_t, out_u, out_v = [], [], []
    for st in eng.strata:
        J = len(st.tau)
        if J == 0:
            continue
        eta_s = eta[st.idx]
        r = eng.w[st.idx] * np.exp(eta_s - eta_s.max())
        Xs = eng.X[st.idx]
        den, m, s2, meanwt = eng._stratum_terms(st, eta_s, r, Xs, moments=2)
        wd = eng.w[st.idx][st.dead]
        u = np.zeros((J, eng.p))
        np.add.at(u, st.dead_j, wd[:, None] * Xs[st.dead])
        np.add.at(u, st.row_j, -meanwt[:, None] * m)
        v = np.zeros((J, eng.p, eng.p))
        np.add.at(v, st.row_j, meanwt[:, None, None] * (s2 - m[:, :, None] * m[:, None, :]))
        out_t.append(st.tau)
        out_u.append(u)
        out_v.append(v)
    return np.concatenate(out_t), np.concatenate(out_u), np.concatenate(out_v)


@pytest.mark.parametrize("seed,ties,strata,weights,entry", FIRTH_CASES)
def test_zph_event_terms_equal_the_per_row_form(seed, ties, strata, weights, entry):
    from aplcohort.stats.cox import _Engine
    d = firth_data(seed, entry)
    X = d[["x1", "x2", "x3"]].to_numpy(float)
    eng = _Engine(X - X.mean(axis=0), d["t"].to_numpy(float), d["e"].to_numpy(),
                  d["t0"].to_numpy(float) if entry else None,
                  d["g"].to_numpy() if strata else None,
                  d["w"].to_numpy(float) if weights else np.ones(len(d)), ties)
    beta = np.array([0.4, -0.3, 0.2])
    _s, tau, u, v = eng.event_terms(beta)
    tau0, u0, v0 = event_terms_per_row(eng, beta)
    np.testing.assert_array_equal(tau, tau0)
    np.testing.assert_array_equal(u, u0)
    # entries that are zero in exact arithmetic (one row left at risk) come out of both
    # forms as cancellation residues (~1e-17): compared at 1e-12 of the largest entry
    np.testing.assert_allclose(v, v0, rtol=1e-10, atol=1e-12 * np.abs(v0).max())


@pytest.mark.parametrize("seed,ties,strata,weights,entry", FIRTH_CASES)
def test_cox_zph_equals_the_per_row_form(monkeypatch, seed, ties, strata, weights, entry):
    from aplcohort.stats import cox_zph
    from aplcohort.stats.cox import _Engine
    d = firth_data(seed, entry)
    kw = dict(time="t", event="e", covariates=["x1", "x2", "x3"], ties=ties,
              strata="g" if strata else None, weights="w" if weights else None,
              entry="t0" if entry else None)
    new = cox_zph(coxph(d, **kw)).table
    monkeypatch.setattr(_Engine, "event_terms",
                        lambda self, beta: (None,) + event_terms_per_row(self, beta))
    old = cox_zph(coxph(d, **kw)).table
    np.testing.assert_allclose(new[["chisq", "p"]].to_numpy(float),
                               old[["chisq", "p"]].to_numpy(float), rtol=1e-10, atol=0)
