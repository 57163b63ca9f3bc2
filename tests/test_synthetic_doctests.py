"""The docstring examples of aplcohort.synthetic run and give what they show."""

import doctest
import importlib

import pytest

MODULES = ["aplcohort.synthetic.min2022", "aplcohort.synthetic.scenario", "aplcohort.synthetic.engine",
           "aplcohort.synthetic.published", "aplcohort.synthetic.variant_apl",
           "aplcohort.synthetic.vocab_additions"]


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name):
    mod = importlib.import_module(name)
    res = doctest.testmod(mod, optionflags=doctest.ELLIPSIS)
    assert res.attempted > 0
    assert res.failed == 0
