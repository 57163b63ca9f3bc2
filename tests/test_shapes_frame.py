"""``shapes.frame`` builds the same DataFrame as ``pd.DataFrame`` (issue 13: it builds the
blocks itself under pandas 2, so every result table depends on this equivalence)."""

import numpy as np
import pandas as pd
import pytest

from aplcohort.stats import shapes
from aplcohort.stats.shapes import frame


def _cases():
    n = 7
    rng = np.random.default_rng(3)
    obj = np.empty(n, dtype=object)
    obj[:] = ["a", "b", "a", "c", "b", "a", "c"]
    mixed = np.empty(n, dtype=object)
    mixed[:] = [1, "x", 2.5, None, "y", 3, "z"]
    ints = pd.arrays.IntegerArray(np.arange(n, dtype=np.int64), np.arange(n) % 3 == 0)
    yield {"group": obj, "cause": ints, "time": rng.random(n), "estimate": rng.random(n)}
    # dtypes interleaved: the float block's columns are not contiguous
    yield {"a": rng.random(n), "b": np.arange(n), "c": rng.random(n), "d": obj,
           "e": np.arange(n) % 2 == 0, "f": np.arange(n, dtype=np.int32), "g": mixed,
           "h": rng.random(n).astype(np.float32), "i": pd.Categorical(obj),
           "j": pd.array([True, None, False, True, True, None, False], dtype="boolean")}
    yield {"only": rng.random(n)}
    yield {"x": np.array([], dtype=float), "y": np.array([], dtype=object)}
    yield {0: np.arange(3.0), 1: np.arange(3)}                # non-string column names
    # inputs that take the fallback: tz-aware datetimes, numpy unicode strings
    yield {"t": pd.array(pd.date_range("2020-01-01", periods=3, tz="UTC")),
           "u": np.array(["p", "q", "r"]), "v": np.arange(3.0)}


@pytest.mark.parametrize("cols", list(_cases()))
def test_frame_equals_dataframe_constructor(cols):
    got = frame(cols)
    want = pd.DataFrame({k: (v.copy() if hasattr(v, "copy") else v) for k, v in cols.items()})
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    assert got.dtypes.tolist() == want.dtypes.tolist()
    assert isinstance(got.index, pd.RangeIndex) and got.index.equals(pd.RangeIndex(len(got)))
    assert got.columns.tolist() == list(cols)


def test_frame_copies_inputs_and_owns_its_columns():
    a = np.arange(4.0)
    ints = pd.arrays.IntegerArray(np.arange(4, dtype=np.int64), np.zeros(4, bool))
    f1 = frame({"a": a, "k": ints})
    f1.loc[0, "a"] = 99.0
    f1.loc[1, "k"] = 42
    assert a[0] == 0.0 and ints[1] == 1                       # inputs untouched
    f2 = frame({"a": a, "k": ints})
    f1.columns.name = "renamed"                               # same names: a cached Index
    assert f2.columns.name is None
    f1["new"] = 1.0
    assert f2.columns.tolist() == ["a", "k"]


def test_curve_frame_blocks_consolidated():
    t = shapes.curve_frame("A", 1, [0.0, 1.0], [0.0, 0.5], [0.0, 0.1], [0.0, 0.3],
                           [0.0, 0.8], [2, 2], [0, 1], [0, 0])
    assert t.columns.tolist() == shapes.CURVE_COLUMNS
    assert str(t["cause"].dtype) == "Int64" and t["group"].dtype == object
    assert t._mgr.is_consolidated()
    assert (t["estimate"] + 1).tolist() == [1.0, 1.5]


def test_frame_index_owned_per_frame():
    a = frame({"x": np.arange(3.0)})
    b = frame({"x": np.arange(3.0)})
    a.index.name = "row"
    assert b.index.name is None and frame({"x": np.arange(3.0)}).index.name is None
    assert a.index.equals(pd.RangeIndex(3))


@pytest.mark.parametrize("args", [
    ("a", 1, [1.0, 2.0], [0.5, np.nan], [0.1, np.nan], [0.2, np.nan], [0.9, np.nan], [3, 0], None),
    (["x", "y"], None, [1.0, 2.0], [0.5, 0.4], [0.1, 0.1], [0.2, 0.1], [0.9, 0.8], [3, 2],
     ["", "past follow-up"]),
    (np.array([1, 2]), [1, 2], np.array([1, 2]), [0.5, 0.4], [0.1, 0.1], [0.2, 0.1],
     [0.9, 0.8], [3, 2], None),
    ("a", 1, [], [], [], [], [], [], None),
])
def test_at_frame_fast_path_is_the_dataframe_path(args, monkeypatch):
    """``at_frame`` builds blocks itself under pandas 2; the same frame and dtypes as the
    ``pd.DataFrame`` path it takes otherwise."""
    fast = shapes.at_frame(*args)
    monkeypatch.setattr(shapes, "_BLOCK_API", None)
    slow = shapes.at_frame(*args)
    assert list(fast.columns) == shapes.AT_COLUMNS
    pd.testing.assert_frame_equal(fast, slow, check_exact=True)
    assert fast.dtypes.tolist() == slow.dtypes.tolist()
