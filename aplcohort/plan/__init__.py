"""Declarative analysis plans: YAML plan -> results.json, tables, figures, report.

>>> from aplcohort.plan import run_plan
>>> res = run_plan("min2022", data="data/synthetic/min2022.csv", out="reports/min2022")  # doctest: +SKIP
"""

from .runner import PlanResults, load_plan, replicate, run_plan
from .spec import validate_plan

__all__ = ["run_plan", "replicate", "load_plan", "validate_plan", "PlanResults"]
