"""aplcohort: retrospective cohort analysis of relapsed acute leukemia.

Sub-packages mirror the data flow: ``cohort`` (load, validate, derive
endpoints) -> ``stats`` (estimators) -> ``plots`` / ``tables`` (presentation)
-> ``plan`` (declarative analyses and reports). ``synthetic`` generates
labelled synthetic cohorts; ``batch`` runs estimators over many replicate
cohorts at once.
"""

from ._version import __version__

__all__ = ["__version__"]
