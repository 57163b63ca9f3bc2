"""Declarative analysis plans: YAML plan -> results.json, tables, figures, report.

>>> from aplcohort.plan import run_plan
>>> res = run_plan("min2022", data="data/synthetic/min2022.csv", out="reports/min2022")  # doctest: +SKIP
"""

__all__ = ["run_plan", "replicate", "load_plan", "validate_plan", "PlanResults"]

_LAZY = {"run_plan": "runner", "replicate": "runner", "load_plan": "runner",
         "PlanResults": "runner", "validate_plan": "spec"}


def __getattr__(name):
    # imported on first use (PEP 562): loading a cohort uses plan.identifiers, and must
    # not import the plan runner and everything it needs
    if name in _LAZY:
        import importlib
        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
