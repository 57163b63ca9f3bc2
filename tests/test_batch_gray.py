"""batch_gray: Gray's test over a replicate axis on the kernel of gray_test (issue 13).

Every replicate of seeded batches is compared with the public ``gray_test`` on that
replicate alone: statistic and p within 1e-12 (relative), the same df, and the
replicates that ``gray_test`` refuses or cannot estimate reported as not estimable
with the reason.
"""

import warnings

import numpy as np
import pytest

from aplcohort.batch import BatchGray, batch_gray
from aplcohort.batch.cif import NOTE_NO_EVENTS, NOTE_ONE_GROUP
from aplcohort.errors import InputError, StatisticalWarning
from aplcohort.stats.competing import NOTE_GRAY_SINGULAR, gray_test

REPS, N, K = 300, 40, 3


def _batch(seed):
    """Replicates with tied whole-day times, two strata and special replicates."""
    rng = np.random.default_rng(seed)
    t = rng.integers(1, 25, (REPS, N)).astype(float)
    code = rng.choice([0, 1, 2], (REPS, N), p=[0.3, 0.4, 0.3])
    g = rng.integers(0, K, (REPS, N))
    s = rng.integers(0, 2, (REPS, N))
    kinds = np.arange(REPS) % 10
    for r in np.flatnonzero(kinds == 1):          # group 2 without events of cause 1
        code[r, (g[r] == 2) & (code[r] == 1)] = 2
    for r in np.flatnonzero(kinds == 2):          # group 1 without rows: tested on 0 and 2
        g[r, g[r] == 1] = 0
    for r in np.flatnonzero(kinds == 3):          # no event of cause 1 at all
        code[r, code[r] == 1] = 2
    for r in np.flatnonzero(kinds == 4):          # one group only
        g[r] = 2
    for r in np.flatnonzero(kinds == 5):          # group 2 censored before every event:
        t[r, g[r] == 2] = 0.5                     # its score and variance are 0
        code[r, g[r] == 2] = 0
    for r in np.flatnonzero(kinds == 6):          # heavy ties: two distinct times
        t[r] = rng.integers(1, 3, N)
    return t, code, g, s


def _public(t, code, g, s, cause, rho):
    """gray_test on one replicate: (statistic, df, p) or the reason it refuses."""
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        try:
            r = gray_test(t, code, g, cause=cause, rho=rho, strata=s)
        except InputError as e:
            return None, str(e)
    singular = any(issubclass(x.category, StatisticalWarning) for x in w)
    return (r.statistic, r.df, r.p), singular


@pytest.mark.parametrize("rho,stratified,seed", [(0.0, False, 1), (0.0, True, 2),
                                                 (0.5, True, 3), (-1.0, False, 4)])
def test_batch_gray_equals_gray_test_per_replicate(rho, stratified, seed):
    t, code, g, s = _batch(seed)
    b = batch_gray(t, code, g, cause=1, rho=rho, strata=s if stratified else None, k=K)
    assert isinstance(b, BatchGray) and b.reps == REPS
    seen = {"estimable": 0, "refused": 0, "singular": 0, "two groups": 0}
    for r in range(REPS):
        got, info = _public(t[r], code[r], g[r], s[r] if stratified else None, 1, rho)
        if got is None:                           # gray_test refuses the replicate
            seen["refused"] += 1
            assert not b.estimable[r] and np.isnan(b.statistic[r]) and np.isnan(b.p[r])
            if "does not occur" in info:
                assert b.note[r] == NOTE_NO_EVENTS.format(cause=1)
            else:
                assert "at least two groups" in info and b.note[r] == NOTE_ONE_GROUP
            continue
        stat, df, p = got
        assert b.df[r] == df
        seen["two groups"] += df == 1
        if info:                                  # singular: NaN with a warning
            seen["singular"] += 1
            assert np.isnan(stat) and np.isnan(b.statistic[r]) and np.isnan(b.p[r])
            assert not b.estimable[r] and b.note[r] == NOTE_GRAY_SINGULAR
            continue
        seen["estimable"] += 1
        assert b.estimable[r] and b.note[r] == ""
        np.testing.assert_allclose(b.statistic[r], stat, rtol=1e-12, atol=0)
        np.testing.assert_allclose(b.p[r], p, rtol=1e-12, atol=1e-300)
    # every kind of replicate occurred
    assert seen["refused"] >= 40 and seen["singular"] >= 20 and seen["two groups"] >= 20
    assert seen["estimable"] >= 150


def test_batch_gray_does_not_depend_on_chunks_and_broadcasts():
    t, code, g, s = _batch(5)
    a = batch_gray(t, code, g, strata=s, k=K)
    b = batch_gray(t, code, g, strata=s, k=K, chunk=7)
    np.testing.assert_allclose(b.statistic, a.statistic, rtol=1e-12, atol=0)
    assert np.array_equal(a.estimable, b.estimable) and np.array_equal(a.df, b.df)
    assert list(a.note) == list(b.note)
    # one set of times and groups shared by every replicate, codes per replicate
    one = batch_gray(t[0], code[:3], g[0], k=K)
    for r in range(3):
        ref = gray_test(t[0], code[r], g[0])
        np.testing.assert_allclose(one.statistic[r], ref.statistic, rtol=1e-12)


def test_batch_gray_table_and_choices():
    t, code, g, s = _batch(6)
    b = batch_gray(t[:20], code[:20], g[:20], k=K)
    tab = b.tables["replicates"]
    assert list(tab.columns) == ["replicate", "statistic", "df", "p", "estimable", "note"]
    assert len(tab) == 20 and b.choices["cause"] == 1
    bad = tab[~tab["estimable"]]
    assert (bad["note"] != "").all() and bad["statistic"].isna().all()


@pytest.mark.parametrize("kwargs,match", [
    (dict(group=None), "group is required"),
    (dict(cause=0), "positive integer"),
    (dict(rho=float("nan")), "rho must be a finite number"),
    (dict(k=1), "group codes must be < k"),
    (dict(time=[[1.0, -2.0, 3.0]]), "finite and >= 0"),
    (dict(code=[[0, 1]]), r"code must have shape"),
    (dict(strata=[[0, -1, 0]]), "non-negative integer codes"),
])
def test_batch_gray_input_errors(kwargs, match):
    args = dict(time=[[1.0, 2.0, 3.0]], code=[[1, 2, 1]], group=[[0, 1, 1]])
    args.update(kwargs)
    time, code, group = args.pop("time"), args.pop("code"), args.pop("group")
    with pytest.raises(InputError, match=match):
        batch_gray(time, code, group, **args)
