"""The public entry points the notebooks use: example cohorts and top-level names."""

from pathlib import Path

import pytest

import aplcohort as apc
from aplcohort.errors import InputError
from aplcohort.synthetic import min2022

ROOT = Path(__file__).resolve().parents[1]


def test_example_data_is_the_bundled_replica():
    assert min2022.to_csv_bytes(apc.example_data()) == (ROOT / "data/synthetic/min2022.csv").read_bytes()


def test_example_cohort_is_labelled_synthetic_and_validated():
    c = apc.example_cohort()
    assert c.n == 52
    assert c.source["synthetic"] is True and "SYNTHETIC" in c.source["path"]
    assert (c.data["synthetic"].astype(str).str.lower().isin(["yes", "true"])).all()
    other = apc.example_cohort(seed=7)
    assert "seed 7" in other.source["path"]
    assert not other.data["patient_id"].equals(c.data["patient_id"]) or \
        not other.data.equals(c.data)


def test_with_derived_adds_columns_without_overwriting():
    c = apc.example_cohort()
    d = c.with_derived()
    assert set(c.data.columns) < set(d.data.columns)
    assert d.source["derived_columns"] == [x for x in d.data.columns if x not in c.data.columns]
    for col in c.data.columns:
        assert d.data[col].equals(c.data[col])


def test_unknown_example_is_a_readable_error():
    with pytest.raises(InputError, match="unknown example cohort 'aml'.*min2022"):
        apc.example_cohort("aml")


def test_every_top_level_name_resolves():
    for name in apc.__all__:
        assert getattr(apc, name) is not None
    assert callable(apc.stats.td_coxph)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        apc.nope


def test_run_plan_on_a_cohort_with_derived_columns(tmp_path):
    """The validated, derived table can be given back to run_plan: the derived True/False
    flags are read back as logical columns (as R's read.csv does), not as text."""
    c = apc.example_cohort().with_derived()
    res = apc.run_plan("min2022", data=c.data, figures=False)
    raw = apc.run_plan("min2022", data=apc.example_data(), figures=False)
    a, b = res["early_death_by_reinduction"], raw["early_death_by_reinduction"]
    assert a.summary == b.summary
