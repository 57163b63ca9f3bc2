"""aplcohort: retrospective cohort analysis of relapsed acute leukemia.

Sub-packages mirror the data flow: ``cohort`` (load, validate, derive
endpoints) -> ``stats`` (estimators) -> ``plots`` / ``tables`` (presentation)
-> ``plan`` (declarative analyses and reports). ``synthetic`` generates
labelled synthetic cohorts; ``batch`` runs estimators over many replicate
cohorts at once.

The names below are imported on first use, so ``import aplcohort`` stays fast
(scipy.stats alone costs about half a second).

>>> import aplcohort as apc
>>> res = apc.run_plan("min2022", data="data/synthetic/min2022.csv")  # doctest: +SKIP
"""

from importlib import import_module

from ._version import __version__

# public name -> module that defines it
_LAZY = {
    "run_plan": "aplcohort.plan",
    "replicate": "aplcohort.plan",
    "load": "aplcohort.cohort",
    "validate": "aplcohort.cohort",
    "kaplan_meier": "aplcohort.stats.km",
    "logrank_test": "aplcohort.stats.logrank",
    "coxph": "aplcohort.stats.cox",
    "cumulative_incidence": "aplcohort.stats.competing",
    "gray_test": "aplcohort.stats.competing",
    "fine_gray": "aplcohort.stats.finegray",
    "cause_specific_cox": "aplcohort.stats.competing",
    "example_cohort": "aplcohort.datasets",
    "example_data": "aplcohort.datasets",
    "example_mapping": "aplcohort.datasets",
    "plot_km": "aplcohort.plots.survival",
    "plot_cif": "aplcohort.plots.survival",
    "plot_forest": "aplcohort.plots.forest",
    "save_figure": "aplcohort.plots.export",
    "table1": "aplcohort.tables.table1",
    "save_table": "aplcohort.tables.export",
}
# sub-packages reachable as attributes (``apc.stats.td_coxph``), imported on first use
_SUBPACKAGES = ("adjust", "batch", "cohort", "datasets", "multistate", "plan", "plots", "stats",
                "synthetic", "tables")

__all__ = ["__version__", *_LAZY]


def __getattr__(name):
    if name in _SUBPACKAGES:
        value = import_module(f"aplcohort.{name}")
        globals()[name] = value
        return value
    mod = _LAZY.get(name)
    if mod is None:
        raise AttributeError(f"module 'aplcohort' has no attribute {name!r}")
    value = getattr(import_module(mod), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY) | set(_SUBPACKAGES))
