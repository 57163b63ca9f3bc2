"""The one Cox partial-likelihood kernel: log-likelihood, score and information.

Used by :func:`aplcohort.stats.cox.cox_fit` (one cohort; strata, case weights,
(entry, stop] data, Efron or Breslow ties) and by :func:`aplcohort.batch.batch_cox`
(many replicate cohorts at once: each replicate is a group of strata with its own
coefficient vector), so the statistic exists once.

Why our own code and not a library: lifelines / scikit-survival / statsmodels do
not reproduce R ``coxph``'s Efron likelihood with case weights, strata and
counting-process data together, and they keep per-row ``p x p`` arrays (memory
~ n p^2); this kernel aggregates per distinct time.

Method
------
Rows are grouped into *blocks* (stratum, distinct stop time), each split into its
deaths and its other rows (two *segments* per block). One cohort keeps its rows in
their original order and the design transposed, ``(p, n)`` (the layout
:func:`aplcohort.stats._design.build_design` produces, so no copy): per evaluation
the segment sums of ``w_i exp(x_i b - c) [1, x_i]`` are bincounts of contiguous
rows into a few thousand bins -- no sort of the rows and no gather of the design,
so the cost is O(n p) (a sort would make it O(n log n)). A large cohort is
evaluated in blocks of ``_CHUNK`` rows whose work arrays stay in the CPU cache. A
small cohort is put in block order, each block's deaths first, and summed with one
``np.add.reduceat`` (the layout of earlier releases: the same numbers to the bit).
A batch of replicates keeps an ``(n, p)`` layout in block order and a sparse block
indicator. The information matrix is one Gram product (see :class:`RiskSetKernel`;
no ``n x p^2`` array is ever held); the risk-set sums are reverse cumulative sums
over the blocks of the stratum, minus (with entry times) the same sums over the
rows whose entry is at or after the event time: per (stratum, entry time) block,
binned from the same work buffer as the stop-block sums, so (entry, stop] data are
evaluated in one pass too (cache blocks above ``_ENTRY_BLOCKED_MIN`` rows). Whole-number
times (days) get their distinct values and block codes from counting passes
(:func:`distinct_intervals`, ``_dense_codes``) instead of sorts of the rows
(other times are still sorted). The Efron terms of ``d`` tied deaths (weight
``mean w`` of the tied deaths, as R) enter through scalar sums over
``k = 0 .. d - 1`` of ``1/den_k``, ``f_k/den_k``, ``1/den_k^2``,
``f_k/den_k^2``, ``f_k^2/den_k^2`` with ``f_k = k / d``.

Why numpy only (no numba / cython): the install stays lean; every per-row step is
a streaming numpy pass or a BLAS call, and the per-row Python work is none.
"""

from __future__ import annotations

import numpy as np

__all__ = ["RiskSetKernel", "distinct_times", "distinct_intervals"]

_CHUNK = 1 << 14          # rows per cache block of a large one-cohort evaluation
_FLAT_MAX = 1 << 18      # small cohort: (p + 1) n up to this (block order, flat sums)
_ENTRY_BLOCKED_MIN = 1 << 17   # (entry, stop] data: blocked evaluation above this many rows


def distinct_times(time):
    """``(ut, inverse)`` as ``np.unique(time, return_inverse=True)``.

    Whole-number times (days) use a counting pass instead of a sort.
    """
    t = np.asarray(time, float)
    if t.size and t.min() >= 0:
        tmax = t.max()
        if tmax <= 4 * t.size + 100_000:
            ti = t.astype(np.int64)
            if np.array_equal(ti, t):                     # whole numbers (no floor temp)
                cnt = np.bincount(ti, minlength=int(tmax) + 1)
                present = cnt > 0
                ut = np.flatnonzero(present).astype(float)
                rank = np.cumsum(present) - 1
                return ut, rank[ti]
    return np.unique(t, return_inverse=True)


def distinct_intervals(entry, time):
    """``(values, time_rank, entry_rank)``: the sorted distinct values of the entry and
    stop times together and the position of each row's stop / entry among them (as
    ``np.unique(np.concatenate([time, entry]), return_inverse=True)``, split).

    Whole-number times (days) use one counting pass over both arrays instead of a
    sort of ``2 n`` values (the sort was the step of a (start, stop] Cox fit that grew
    faster than ``n``); other times are sorted.
    """
    t = np.asarray(time, float)
    s = np.asarray(entry, float)
    n = t.size
    if n:
        lo = min(s.min(), t.min())
        hi = max(s.max(), t.max())
        if lo >= 0 and hi <= 8 * n + 100_000:
            ti = t.astype(np.int64)
            si = s.astype(np.int64)
            if np.array_equal(ti, t) and np.array_equal(si, s):
                m = int(hi) + 1
                cnt = np.bincount(ti, minlength=m)
                cnt += np.bincount(si, minlength=m)
                present = cnt > 0
                rank = np.cumsum(present) - 1
                return np.flatnonzero(present).astype(float), rank[ti], rank[si]
    vals, inv = np.unique(np.concatenate([t, s]), return_inverse=True)
    return vals, inv[:n], inv[n:]


def _dense_codes(key, kmax):
    """``np.unique(key, return_inverse=True)`` of integer keys in ``[0, kmax)``.

    A counting pass (no sort) when the key range is at most a few times the number
    of keys, as for (stratum, time rank) keys; a sort otherwise.
    """
    if key.size and kmax <= 4 * key.size + 100_000:
        present = np.bincount(key, minlength=kmax) > 0
        rank = np.cumsum(present) - 1
        return np.flatnonzero(present), rank[key]
    return np.unique(key, return_inverse=True)


def _stable_order(key, kmax):
    """Stable argsort of non-negative integer keys (radix sort for small key ranges)."""
    if kmax < 1 << 16:
        return np.argsort(key.astype(np.uint16), kind="stable")
    if kmax < 1 << 32:
        return np.argsort(key.astype(np.uint32), kind="stable")
    return np.argsort(key, kind="stable")


def _seg_cumsum(V, starts, reverse=False):
    """Cumulative sums of the rows of ``V`` restarted at each segment start.

    Exact per segment (no subtraction of running totals across segments), so a
    replicate's or stratum's sums never depend on the rows of the others.
    """
    m = V.shape[0]
    out = np.empty_like(V)
    if m == 0:
        return out
    if starts.size == 1 and starts[0] == 0:                          # one segment
        return (np.cumsum(V[::-1], axis=0)[::-1] if reverse
                else np.cumsum(V, axis=0, out=out))
    bounds = np.append(starts, m)                                   # (np.r_ is slow)
    if starts.size <= 64:
        for a, b in zip(bounds[:-1], bounds[1:]):
            if reverse:
                out[a:b] = np.cumsum(V[a:b][::-1], axis=0)[::-1]
            else:
                np.cumsum(V[a:b], axis=0, out=out[a:b])
        return out
    lens = np.diff(bounds)
    grp = np.repeat(np.arange(starts.size), lens)
    pos = np.arange(m) - np.repeat(starts, lens)
    if reverse:
        pos = np.repeat(lens, lens) - 1 - pos
    P = np.zeros((starts.size, int(lens.max())) + V.shape[1:])
    P[grp, pos] = V
    np.cumsum(P, axis=1, out=P)
    return P[grp, pos]


def _starts(codes):
    """Positions where a sorted code array changes (segment starts)."""
    if codes.size == 0:
        return np.zeros(0, np.int64)
    new = np.empty(codes.size, bool)
    new[0] = True
    np.not_equal(codes[1:], codes[:-1], out=new[1:])
    return np.flatnonzero(new)


class _Indicator:
    """Sparse block x row indicator: ``sums(r, X)`` = per block ``[sum r, sum r x]``
    (one sparse product, no n x p temporary)."""

    def __init__(self, codes, nb):
        from scipy import sparse

        codes = np.asarray(codes, np.int64)
        # rows are usually already in block order (the kernel sorts them once)
        order = (np.arange(codes.size) if codes.size < 2 or np.all(codes[1:] >= codes[:-1])
                 else _stable_order(codes, nb))
        counts = np.bincount(codes, minlength=nb)
        self.order = order
        self.codes = codes
        self.nb = nb
        self.P = sparse.csr_matrix((np.ones(codes.size), order,
                                    np.concatenate([[0], np.cumsum(counts)])),
                                   shape=(nb, codes.size))

    def sums(self, r, X):
        """Per block ``[sum r, sum r x]``; ``X`` is (n, p)."""
        out = np.empty((self.nb, 1 + X.shape[1]))
        out[:, 0] = np.bincount(self.codes, weights=r, minlength=self.nb)
        self.P.data = r[self.order]
        out[:, 1:] = self.P @ X
        return out


class _SegmentSums:
    """Per-segment sums of ``[r, r x]`` for a transposed ``(p, n)`` design, rows in
    their ORIGINAL order (no sort, no gather of the design).

    A segment is one (block, dead / not dead) pair: ``seg = 2 * block + (not dead)``.
    One ``np.bincount`` per row of the ``(p + 1, n)`` work buffer streams the
    contiguous row through a small accumulator (a few thousand bins), so the cost
    is O(n p) with no O(n log n) sort and no random gather of the ``n x p``
    design: on 1e6 x 7 this is as fast as a ``reduceat`` over rows held in block
    order, and it saves the sort and the gather that the block order needed
    (about a quarter of a public ``coxph`` call). Within a segment the rows are
    summed in row order, as the block-ordered (stable) layout did. The buffer is
    allocated once and reused by every evaluation.

    With entry times (``ecode``: each row's entry block) the same pass also bins each
    row of the buffer by entry block: the sums over the rows that enter at or after an
    event time come from the buffer already in hand (no sort of the rows by entry, no
    gather, no second pass over the design).
    """

    def __init__(self, seg, nseg, p, ecode=None, neblk=0):
        self.seg = np.asarray(seg, np.intp)      # bincount's index type: no per-call cast
        self.nseg = nseg
        self.ecode = None if ecode is None else np.asarray(ecode, np.intp)
        self.neblk = neblk
        self.buf = np.empty((p + 1, self.seg.size))

    def sums(self, r, XT):
        """``(B, D, E)``: per block over all rows / over its deaths, each ``(nb, 1 + p)``;
        per entry block (``(neblk, 1 + p)``, None without entry times)."""
        p1 = XT.shape[0] + 1
        nb = self.nseg // 2
        E = None if self.ecode is None else np.zeros((self.neblk, p1))
        if r.size == 0:
            return np.zeros((nb, p1)), np.zeros((nb, p1)), E
        W = self.buf
        W[0] = r
        np.multiply(XT, r, out=W[1:])
        red = np.empty((p1, self.nseg))
        for j in range(p1):
            red[j] = np.bincount(self.seg, weights=W[j], minlength=self.nseg)
        if E is not None:
            for j in range(p1):
                E[:, j] = np.bincount(self.ecode, weights=W[j], minlength=self.neblk)
        D = red[:, 0::2].T                                  # deaths of each block
        B = red[:, 1::2].T + D                              # others + deaths (as before)
        return B, np.ascontiguousarray(D), E


class _DeathFirstBlocks:
    """Per-block sums of ``[r, r x]`` over rows held in block order with each block's
    deaths first, for a transposed ``(p, n)`` design (small cohorts; see
    :class:`RiskSetKernel`).

    One ``np.add.reduceat`` along the contiguous row axis gives, per block, the sums
    over its deaths and over its other rows, so the risk-set terms and the tied-death
    terms come from ONE streaming pass (no separate gather of the deaths). The
    ``(p + 1, n)`` work buffer is allocated once and reused by every evaluation.
    """

    def __init__(self, block, dead, nb, p, ecode=None, neblk=0):
        self.ecode = None if ecode is None else np.asarray(ecode, np.intp)
        self.neblk = neblk
        seg = np.asarray(block, np.int64) * 2 + (~np.asarray(dead, bool))
        self.starts = _starts(seg)
        sb = seg[self.starts]
        self.blk = sb // 2
        self.is_dead = sb % 2 == 0
        # integer positions of the death / other segments and their blocks (no boolean
        # masks to convert on every evaluation)
        self.sd = np.flatnonzero(self.is_dead)
        self.so = np.flatnonzero(~self.is_dead)
        self.bd, self.bo = self.blk[self.sd], self.blk[self.so]
        self.nb = nb
        self.buf = np.empty((p + 1, seg.size))

    def sums(self, r, XT):
        """``(B, D, E)`` as :meth:`_SegmentSums.sums`."""
        p = XT.shape[0]
        B = np.zeros((self.nb, p + 1))
        D = np.zeros((self.nb, p + 1))
        E = None if self.ecode is None else np.zeros((self.neblk, p + 1))
        if r.size == 0:
            return B, D, E
        W = self.buf
        W[0] = r
        np.multiply(XT, r, out=W[1:])
        red = np.add.reduceat(W, self.starts, axis=1).T                  # (segments, 1 + p)
        D[self.bd] = red[self.sd]
        B[self.bo] = red[self.so]
        B += D
        if E is not None:              # entry blocks: same buffer, binned by entry block
            for j in range(p + 1):
                E[:, j] = np.bincount(self.ecode, weights=W[j], minlength=self.neblk)
        return B, D, E


class RiskSetKernel:
    """Cox log partial likelihood, score and information for one or many cohorts.

    Parameters
    ----------
    X : ndarray (n, p)
        Covariates (centred by the caller; centring does not change estimates).
    time, event : ndarray (n,)
        Stop time and 0/1 event.
    entry : ndarray (n,), optional
        Entry times: a row is at risk at ``t`` when ``entry < t <= time``.
    strata : int ndarray (n,), optional
        Stratum codes 0..S-1 (separate baseline hazards).
    weights : ndarray (n,), optional
        Case weights.
    ties : {"efron", "breslow"}
    rep : int ndarray (n,), optional
        Replicate codes 0..R-1: independent cohorts (each with its own beta);
        :meth:`stats` then returns one log-likelihood / score / information per
        replicate.
    nrep : int
    distinct : tuple, optional
        ``(values, inverse)`` of ``time`` as :func:`distinct_times` returns them, or with
        ``entry`` ``(values, time_rank, entry_rank)`` as :func:`distinct_intervals`
        returns them, when the caller has them already.

    Notes
    -----
    Only ``[1, x]`` is summed per block (``np.bincount``); the information matrix
    is one weighted Gram matrix ``X' diag(v) X`` minus the Efron mean terms, where
    ``v_i = w_i r_i (sum of a0_j over the event times in row i's risk interval)
    - [death] w_i r_i a1_j(i)`` (the order of the two sums swapped), so no
    ``n x p^2`` array exists and one evaluation costs O(n p) plus a BLAS call.
    """

    def __init__(self, X, time, event, *, entry=None, strata=None, weights=None, ties="efron",
                 rep=None, nrep=1, distinct=None):
        X = np.asarray(X, dtype=float)
        n, p = X.shape
        self.n, self.p, self.nrep = n, p, int(nrep)
        self.unit_w = weights is None
        w = np.ones(n) if weights is None else np.asarray(weights, float)
        rep = None if rep is None else np.asarray(rep, np.int64)
        if self.nrep > 1 and rep is None:
            raise ValueError("rep codes are needed with nrep > 1")
        sc = np.zeros(n, np.int64) if strata is None else np.asarray(strata, np.int64)
        ns = int(sc.max()) + 1 if (n and strata is not None) else 1
        skey = (sc if rep is None else rep * ns + sc)       # combined stratum key
        nsk = ns * self.nrep
        dead = np.asarray(event) > 0
        t = np.asarray(time, float)
        if entry is None:
            # ``distinct``: the caller's (values, inverse) of these times (no second pass)
            vals, trank = distinct_times(t) if distinct is None else distinct
            erank = None
        else:
            # one counting pass for whole-number times (distinct_intervals), no sort
            vals, trank, erank = (distinct_intervals(entry, t) if distinct is None
                                  else distinct)
        M = vals.size
        # ---- stop blocks: (stratum, stop time)
        if nsk == 1:
            bk_u, block, nblk = None, trank, M
            bstrat = np.zeros(nblk, np.int64)
        else:
            bk_u, block = _dense_codes(skey * M + trank, nsk * M)
            nblk = bk_u.size
            bstrat = bk_u // M
        small = False
        if rep is None:
            # one cohort: the design is held transposed (p, n) (free when the caller
            # passes the transpose of a C-ordered (p, n) array, as cox_fit does), so every
            # per-row product streams along contiguous rows; rows stay in their original
            # order and per-block sums are bincounts (see _SegmentSums)
            XT = np.ascontiguousarray(X.T)
            seg = block * 2 + ~dead
            small = (p + 1) * n <= _FLAT_MAX
            if small:
                # a small cohort is put in block order, each block's deaths first (its
                # sort costs nothing): every sum then runs in the order of earlier
                # releases, so a study-sized fit gives the same numbers to the last bit
                perm = _stable_order(seg, 2 * nblk)
                XT = np.take(XT, perm, axis=1)
                seg = np.repeat(np.arange(2 * nblk), np.bincount(seg, minlength=2 * nblk))
                block, dead = seg // 2, seg % 2 == 0
                w = w if weights is None else w[perm]
                trank = block if nsk == 1 else trank[perm]
                skey = skey if nsk == 1 else skey[perm]
                if erank is not None:
                    erank = erank[perm]
            X = XT.T
        else:
            # a batch: rows in block order, each block's deaths first, (n, p) layout and
            # a sparse block indicator (many replicates share no accumulator)
            skey2 = block * 2 + (np.asarray(event) <= 0)
            perm = _stable_order(skey2, 2 * nblk)
            XT = None
            X = np.ascontiguousarray(X[perm])
            # the sorted keys are runs of equal values: rebuilt from their counts, no gather
            skey2 = np.repeat(np.arange(2 * nblk), np.bincount(skey2, minlength=2 * nblk))
            block, dead = skey2 // 2, skey2 % 2 == 0
            w = w if weights is None else w[perm]
            trank = block if nsk == 1 else trank[perm]
            skey = skey if nsk == 1 else skey[perm]
            if erank is not None:
                erank = erank[perm]
            rep = rep[perm]
        # ---- entry blocks: (stratum, entry time); rows with entry >= t of the same
        # stratum leave the risk set at t (codes by a counting pass: no sort of the rows)
        ek_u = eblock = None
        neblk = 0
        if erank is not None:
            ek_u, eblock = _dense_codes(erank if nsk == 1 else skey * M + erank, nsk * M)
            neblk = ek_u.size
        self.X, self.w, self.rep = X, w, rep
        self._work = None                 # (eta - c, w r) buffers of one cohort (stats)
        self.dead = dead
        self.dead_rows = np.flatnonzero(dead)
        self.block, self.nblk = block, nblk
        self.XT = XT
        # one cohort: the entry-block sums come from the same pass as the stop-block sums
        self._P = (_Indicator(block, nblk) if rep is not None
                   else _DeathFirstBlocks(block, dead, nblk, p, eblock, neblk) if small
                   else _SegmentSums(seg, 2 * nblk, p, eblock, neblk))
        bdead = block[self.dead_rows]
        d = np.bincount(bdead, minlength=nblk)
        self.jd = np.flatnonzero(d > 0)                    # event blocks, in key order
        dd = d[self.jd]
        self.dd = dd
        nj = self.jd.size
        self.nj = nj
        self.row = np.repeat(np.arange(nj), dd)            # Efron rows (block, k)
        k = np.arange(dd.sum()) - np.repeat(np.cumsum(dd) - dd, dd)
        self.f = k / np.repeat(dd, dd) if ties == "efron" else np.zeros(k.size)
        self.blk_starts = _starts(bstrat)                 # strata of the blocks
        self.one_stratum = nsk == 1
        jkey = (self.jd if bk_u is None else bk_u[self.jd])  # stratum * M + time rank
        jstrat = jkey // M
        self.jrep = jstrat // ns
        self.wdead = self.w[self.dead_rows]
        if self.unit_w:
            self.meanwt = None                             # 1 for every Efron row
        else:
            wd = np.bincount(bdead, weights=self.wdead, minlength=nblk)[self.jd]
            self.meanwt = (wd / dd)[self.row]              # R: mean weight of tied deaths
        # beta-free products of the Efron terms, formed as the expressions in stats()
        # evaluate them left to right (mw * f * inv == (mw * f) * inv): same numbers
        self.mwf = self.f if self.unit_w else self.meanwt * self.f   # (1 * f is f)
        self.mwff = self.mwf * self.f
        # small cohorts: the five per-block Efron sums as one bincount (codes (sum, block))
        m = self.row.size
        self.row5 = ((self.row[None, :] + nj * np.arange(5)[:, None]).ravel()
                     if 5 * m <= _FLAT_MAX else None)
        # event block of each death; the event blocks in each row's risk interval
        jpos = np.full(nblk, -1, np.int64)
        jpos[self.jd] = np.arange(nj)
        self.dead_j = jpos[bdead]
        if rep is None:
            self.deadw = np.where(dead, self.w, 0.0)
            self.xd_sum = self.XT @ self.deadw                            # beta-free
        else:
            self._Pd = _Indicator(self.dead_j, nj)
            self.Xd = X[self.dead_rows]
            self.xd_sum = self.w[self.dead_rows] @ self.Xd       # sum_dead w x: beta-free
        self.j_starts = _starts(jstrat)                    # strata of the event blocks
        cum = np.cumsum(d > 0)                              # event blocks up to each block
        if rep is None and erank is None:
            # without entry times a row's risk interval depends on its block only: the
            # per-row terms of stats() are gathers from per-segment tables (index hi_seg)
            hi = np.repeat(cum, 2)                                      # per segment
            if nsk > 1:
                sfirst = np.searchsorted(jstrat, bstrat, side="left")   # per block
                hi = np.where(hi > np.repeat(sfirst, 2), hi, 0)
            self.hi_seg = hi
            self.seg = np.asarray(seg, np.intp)
            self.hi_idx = self.lo_idx = None
            # large cohorts are evaluated in cache-sized blocks of rows (_stats_blocked)
            # (not with the small-cohort sums: their layout has no cache-block form)
            self.blocked = n > 4 * _CHUNK and isinstance(self._P, _SegmentSums)
            if self.blocked:
                self._P.buf = np.empty((p + 1, _CHUNK))          # one block, reused
                # the Efron rows of an event block are contiguous: per-block sums are
                # reduceat over runs (bincount re-scans its index array on every call)
                self.row_starts = np.cumsum(dd) - dd
        else:
            self.hi_seg = None
            self.blocked = False
            # indices into [0, cumsum-within-stratum of a0]: 0 = nothing summed. Both
            # depend on a row's block only: computed per block and gathered (a per-row
            # searchsorted was O(n log J))
            hi = cum                                            # t_j <= stop: j < hi
            if nsk > 1:
                # stratum's first event block (0 with one stratum)
                first = np.searchsorted(jstrat, bstrat, side="left")
                hi = np.where(hi > first, hi, 0)
            lo = None                                           # from the stratum start
            if erank is not None:
                lo = np.searchsorted(jkey, ek_u, side="right")  # per entry block: t_j > entry
                if nsk > 1:
                    first = np.searchsorted(jstrat, ek_u // M, side="left")
                    lo = np.where(lo > first, lo, 0)
            if rep is None:
                # one cohort with entry times: a row's risk interval is (lo of its entry
                # block, hi of its stop block]: two small tables indexed by the codes the
                # sums read anyway (seg, eblock), no per-row index arrays
                self.hi_blk, self.lo_eblk = hi, lo
                self.seg = np.asarray(seg, np.intp)
                self.hi_idx = self.lo_idx = None
                # a large cohort: cache-sized blocks of rows too (_sums_blocked /
                # _gram_blocked; the whole-array passes left the CPU cache past ~1e5 rows
                # and grew faster than n)
                self.blocked = n > _ENTRY_BLOCKED_MIN and isinstance(self._P, _SegmentSums)
                if self.blocked:
                    self._P.buf = np.empty((p + 1, _CHUNK))      # one block, reused
                    self.row_starts = np.cumsum(dd) - dd
            else:
                self.hi_idx = hi[block]
                self.lo_idx = None if lo is None else lo[eblock]
        # ---- entry blocks: rows with entry >= t of the same stratum leave the risk set
        self.eblock = eblock
        if erank is not None:
            self.neblk = neblk
            if rep is not None:
                self._Pe = _Indicator(eblock, neblk)     # a batch: entry order != row order
            estrat = ek_u // M
            self.e_starts = _starts(estrat)
            e_first = np.searchsorted(ek_u, jkey, side="left")       # entry >= t
            e_next = np.searchsorted(ek_u, (jstrat + 1) * M, side="left")
            self.e_idx = np.where(e_first < e_next, e_first, self.neblk)  # neblk: zero row
        if self.rep is not None:
            self.dead_rep = self.rep[dead]
            self.i0, self.i1 = np.triu_indices(p)

    # ------------------------------------------------------------------
    def _per_rep(self, v, codes):
        """Sum the rows of ``v`` into (nrep, ...) by replicate code."""
        if self.rep is None:
            return v.sum(axis=0)[None]
        if v.ndim == 1:
            return np.bincount(codes, weights=v, minlength=self.nrep)
        return np.stack([np.bincount(codes, weights=v[:, j], minlength=self.nrep)
                         for j in range(v.shape[1])], axis=1)

    # ---- one large cohort, block by block --------------------------------------------
    # The two passes over the rows (per-segment sums of w r [1, x]; the Gram matrix of
    # sqrt(v) [x, 1]) run over blocks of _CHUNK rows whose work arrays stay in the CPU
    # cache, instead of writing and re-reading two (p + 1, n) arrays: the same terms,
    # summed block by block (the sums differ from the one-pass sums only in rounding).
    def _sums_blocked(self, wr):
        """``(B, D, E)`` as :meth:`_SegmentSums.sums`, block by block."""
        XT, seg, nseg = self.XT, self.seg, self._P.nseg
        ecode, neblk = self._P.ecode, self._P.neblk
        p1 = self.p + 1
        red = np.zeros((p1, nseg))
        ered = None if ecode is None else np.zeros((p1, neblk))
        buf = self._P.buf
        for a in range(0, self.n, _CHUNK):
            b = min(a + _CHUNK, self.n)
            W = buf[:, :b - a]
            W[0] = wr[a:b]
            np.multiply(XT[:, a:b], W[0], out=W[1:])
            sc = seg[a:b]
            for j in range(p1):
                red[j] += np.bincount(sc, weights=W[j], minlength=nseg)
            if ered is not None:
                ec = ecode[a:b]
                for j in range(p1):
                    ered[j] += np.bincount(ec, weights=W[j], minlength=neblk)
        D = red[:, 0::2].T
        return (red[:, 1::2].T + D, np.ascontiguousarray(D),
                None if ered is None else np.ascontiguousarray(ered.T))

    def _gram_blocked(self, wr, g0, g1, glo=None):
        """``Z'Z`` with ``Z = sqrt(v) [x, 1]``, ``v = wr g0[seg] - wr g1[seg]``; with entry
        times ``v = wr (g0[seg] - glo[eblock]) - wr g1[seg]`` (the row's risk interval)."""
        XT, seg, p = self.XT, self.seg, self.p
        Mz = np.zeros((p + 1, p + 1))
        buf = self._P.buf
        for a in range(0, self.n, _CHUNK):
            b = min(a + _CHUNK, self.n)
            sc, w = seg[a:b], wr[a:b]
            if glo is None:
                v = w * g0[sc]
            else:
                A = g0[sc]
                A -= glo[self.eblock[a:b]]
                v = w * A
            v -= w * g1[sc]
            sv = np.sqrt(np.maximum(v, 0.0, out=v), out=v)
            Z = buf[:, :b - a]
            np.multiply(XT[:, a:b], sv, out=Z[:p])
            Z[p] = sv
            Mz += Z @ Z.T
        return Mz

    def stats(self, beta, need_info=True):
        """``(loglik (R,), score (R, p), information (R, p, p))`` at ``beta`` (R, p) or (p,)."""
        beta = np.asarray(beta, float)
        single = beta.ndim == 1
        B = beta[None] if single else beta
        p = self.p
        X = self.X
        if self.rep is None:
            # the two n-vectors of an evaluation (eta - c, w exp(eta - c)) are written
            # into buffers kept across Newton iterations: no fresh n-sized arrays (and
            # their page faults) per evaluation; the same operations, the same numbers
            if self._work is None:
                self._work = np.empty((2, self.n))
            eta_c, wr = self._work
            np.matmul(B[0], self.XT, out=eta_c)
            c = eta_c.max() if eta_c.size else 0.0
            np.subtract(eta_c, c, out=eta_c)
            np.exp(eta_c, out=wr)
            if not self.unit_w:
                np.multiply(self.w, wr, out=wr)
        else:
            eta = np.einsum("np,np->n", X, B[self.rep])
            cr = np.full(self.nrep, -np.inf)
            np.maximum.at(cr, self.rep, eta)
            cr[~np.isfinite(cr)] = 0.0
            eta_c = eta - cr[self.rep]
            wr = np.exp(eta_c)
            if not self.unit_w:             # (w * r with w = 1 is r: skip the pass)
                wr = self.w * wr
        dr = self.dead_rows
        E = None
        if self.blocked:
            Bk, Dk, E = self._sums_blocked(wr)
            Dk = Dk[self.jd]
        elif self.rep is None:
            Bk, Dk, E = self._P.sums(wr, self.XT)            # all rows, deaths, entry blocks
            Dk = Dk[self.jd]
        else:
            Bk = self._P.sums(wr, X)                                      # all rows
            Dk = self._Pd.sums(wr[dr], self.Xd)                           # tied deaths
            if self.eblock is not None:
                E = self._Pe.sums(wr, X)
        if self.one_stratum:                                # (_seg_cumsum's one-segment case)
            S = np.cumsum(Bk[::-1], axis=0)[::-1][self.jd]                # stop >= t
        else:
            S = _seg_cumsum(Bk, self.blk_starts, reverse=True)[self.jd]  # stop >= t
        if self.eblock is not None:
            RE = np.zeros((self.neblk + 1, 1 + p))
            RE[:-1] = _seg_cumsum(E, self.e_starts, reverse=True)
            S -= RE[self.e_idx]                                           # entry >= t
        f, row, mw = self.f, self.row, self.meanwt
        dd = self.dd
        # np.repeat over the sorted Efron rows = S[row, 0] (same values, no gather)
        den = np.repeat(S[:, 0], dd) - f * np.repeat(Dk[:, 0], dd)
        inv = 1.0 / den
        nj = self.nj
        mwi = inv if self.unit_w else mw * inv            # (mw = 1: mw * inv is inv)
        mwfi = self.mwf * inv
        if self.blocked:
            rs = self.row_starts
            a0 = np.add.reduceat(mwi, rs)
            a1 = np.add.reduceat(mwfi, rs)
            b0 = np.add.reduceat(mwi * inv, rs)
            b1 = np.add.reduceat(mwfi * inv, rs)
            b2 = np.add.reduceat(self.mwff * inv * inv, rs)
        elif self.row5 is not None:
            E5 = np.empty((5, inv.size))
            E5[0], E5[1] = mwi, mwfi
            np.multiply(mwi, inv, out=E5[2])
            np.multiply(mwfi, inv, out=E5[3])
            np.multiply(self.mwff * inv, inv, out=E5[4])
            a0, a1, b0, b1, b2 = np.bincount(self.row5, weights=E5.ravel(),
                                             minlength=5 * nj).reshape(5, nj)
        else:
            a0 = np.bincount(row, weights=mwi, minlength=nj)
            a1 = np.bincount(row, weights=mwfi, minlength=nj)
        lden = np.log(den)
        if not self.unit_w:
            lden *= mw
        if self.blocked:
            ll = np.array([np.dot(self.deadw, eta_c) - lden.sum()])
        else:
            if self.rep is None:
                ll = np.array([(self.wdead * eta_c[dr]).sum(axis=0) - lden.sum(axis=0)])
            else:
                ll = self._per_rep(self.wdead * eta_c[dr], self.dead_rep) \
                    - self._per_rep(lden, self.jrep[row])
        # v_i: row i's share of sum_j a0_j S_j - a1_j D_j (summation order swapped)
        C0 = np.empty(nj + 1)
        C0[0] = 0.0
        if self.one_stratum:
            np.cumsum(a0, out=C0[1:])
        else:
            C0[1:] = _seg_cumsum(a0, self.j_starts)
        if self.blocked:
            pass                                  # v is formed block by block below
        elif self.hi_seg is not None:
            # per segment (block, dead): A0 of the block; a1 of the block for its deaths,
            # 0 for the others (v - wr * 0 is v: the numbers of the per-row update)
            a1s = np.zeros(self.hi_seg.size)
            a1s[2 * self.jd] = a1
            v = wr * C0[self.hi_seg][self.seg]
            v -= wr * a1s[self.seg]
        elif self.rep is None:
            # (entry, stop] rows: A0 of the stop block minus A0 before the entry block;
            # a1 of the block for its deaths, 0 for the others (as above)
            a1s = np.zeros(2 * self.nblk)
            a1s[2 * self.jd] = a1
            A0 = np.repeat(C0[self.hi_blk], 2)[self.seg]
            A0 -= C0[self.lo_eblk][self.eblock]
            v = wr * A0
            v -= wr * a1s[self.seg]
        else:
            A0 = C0[self.hi_idx] if self.lo_idx is None else C0[self.hi_idx] - C0[self.lo_idx]
            v = wr * A0
            v[dr] -= wr[dr] * a1[self.dead_j]
        Mz = None
        if self.blocked:
            a1s = np.zeros(2 * self.nblk)                 # per segment (block, dead)
            a1s[2 * self.jd] = a1
            Mz = (self._gram_blocked(wr, C0[self.hi_seg], a1s) if self.hi_seg is not None
                  else self._gram_blocked(wr, np.repeat(C0[self.hi_blk], 2), a1s,
                                          C0[self.lo_eblk]))
            U = (self.xd_sum - Mz[:p, p])[None]
        elif self.rep is None:
            # v >= 0 (a row's own a0_j >= a1_j): Z = sqrt(v) [x, 1]; Z'Z holds the Gram
            # matrix X' diag(v) X and X'v in one symmetric BLAS product
            sv = np.sqrt(np.maximum(v, 0.0, out=v), out=v)
            Z = self._P.buf                                               # reused buffer
            np.multiply(self.XT, sv, out=Z[:p])
            Z[p] = sv
            Mz = Z @ Z.T
            U = (self.xd_sum - Mz[:p, p])[None]
        else:
            xd = self.wdead[:, None] * self.Xd
            U = self._per_rep(xd, self.dead_rep) - self._per_rep(v[:, None] * X, self.rep)
        Imat = None
        if need_info:
            if self.row5 is None and not self.blocked:
                b0 = np.bincount(row, weights=mwi * inv, minlength=nj)
                b1 = np.bincount(row, weights=mwfi * inv, minlength=nj)
                b2 = np.bincount(row, weights=self.mwff * inv * inv, minlength=nj)
            S1, D1 = S[:, 1:], Dk[:, 1:]
            # sum_k mw m_k m_k' with m_k = (S1 - f_k D1) / den_k, per event block
            P0 = S1 * np.sqrt(b0)[:, None]
            if self.rep is None:
                mm = P0.T @ P0 - (S1 * b1[:, None]).T @ D1 - (D1 * b1[:, None]).T @ S1 \
                    + (D1 * b2[:, None]).T @ D1
                Imat = (Mz[:p, :p] - mm)[None]
            else:
                i0, i1 = self.i0, self.i1
                per = (b0[:, None] * S1[:, i0] * S1[:, i1]
                       - b1[:, None] * (S1[:, i0] * D1[:, i1] + D1[:, i0] * S1[:, i1])
                       + b2[:, None] * D1[:, i0] * D1[:, i1])
                G = self._per_rep((v[:, None] * X[:, i0]) * X[:, i1], self.rep) - \
                    self._per_rep(per, self.jrep)
                Imat = np.empty((self.nrep, p, p))
                Imat[:, i0, i1] = G
                Imat[:, i1, i0] = G
        if single:
            return ll[0], U[0], (None if Imat is None else Imat[0])
        return ll, U, Imat
