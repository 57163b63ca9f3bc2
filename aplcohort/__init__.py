"""aplcohort: retrospective cohort analysis of relapsed acute leukemia.

Sub-packages mirror the data flow: ``cohort`` (load, validate, derive
endpoints) -> ``stats`` (estimators) -> ``plots`` / ``tables`` (presentation)
-> ``plan`` (declarative analyses and reports). ``synthetic`` generates
labelled synthetic cohorts; ``batch`` runs estimators over many replicate
cohorts at once.

>>> import aplcohort
>>> res = aplcohort.run_plan("min2022", data="data/synthetic/min2022.csv")  # doctest: +SKIP
"""

from ._version import __version__
from .plan import run_plan

__all__ = ["__version__", "run_plan"]
