"""The docstring examples of the security-related modules run and give what they show."""

import doctest
import importlib

import pytest

MODULES = ["aplcohort.expr", "aplcohort.plan.write", "aplcohort.plan.identifiers",
           "aplcohort.plan.provenance", "aplcohort.tables.export", "aplcohort.cohort.cohort"]


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name):
    mod = importlib.import_module(name)
    res = doctest.testmod(mod, optionflags=doctest.ELLIPSIS)
    assert res.attempted > 0
    assert res.failed == 0
