"""Every docstring example in the package runs and shows what it says.

One test per module of ``aplcohort`` that has examples (found with
:class:`doctest.DocTestFinder`, so a new module's examples are picked up without editing
this file). Examples marked ``# doctest: +SKIP`` (those that need a cohort file or write
outputs) are not run.
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import matplotlib
import pytest

import aplcohort

matplotlib.use("Agg")

FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def _modules_with_examples() -> list[str]:
    names = [aplcohort.__name__] + [m.name for m in pkgutil.walk_packages(aplcohort.__path__,
                                                                          prefix="aplcohort.")]
    finder = doctest.DocTestFinder()
    out = []
    for name in sorted(names):
        mod = importlib.import_module(name)
        if any(not e.options.get(doctest.SKIP) for t in finder.find(mod, name) for e in t.examples):
            out.append(name)  # modules whose every example is +SKIP have nothing to run
    return out


MODULES = _modules_with_examples()


def test_doctests_are_found():
    # the collection itself cannot silently find nothing (e.g. after a package rename)
    assert "aplcohort.stats.cox" in MODULES and "aplcohort.stats.km" in MODULES


@pytest.mark.parametrize("name", MODULES)
def test_module_doctests(name):
    import matplotlib.pyplot as plt

    mod = importlib.import_module(name)
    finder = doctest.DocTestFinder()
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    failures = []
    attempted = 0
    for test in finder.find(mod, name):
        if not test.examples:
            continue
        res = runner.run(test, out=failures.append)
        attempted += res.attempted
    plt.close("all")
    assert attempted > 0
    assert not failures, "".join(failures)
