"""Exception and warning taxonomy of aplcohort.

Errors
------
AplcohortError
    Base class of every error raised on purpose by aplcohort.
InputError
    Base class of errors caused by user input (data files, mappings, plans,
    scenarios). The CLI turns these into a readable message and exit code 2.
CohortValidationError
    A cohort table broke one or more validation rules. ``.problems`` holds every
    problem (row, patient id, column, value, rule, fix); ``str(err)`` is the
    readable report.
PlanError, ScenarioError
    An analysis plan or a synthetic-cohort scenario is invalid.

Warnings
--------
AplcohortWarning
    Base class.
StatisticalWarning
    A statistical caveat (small expected counts, few events, ...).
ConvergenceWarning
    An iterative fit did not converge or converged to a boundary.
SeparationWarning (ConvergenceWarning)
    Monotone likelihood / separation: a coefficient diverges (e.g. a group
    without events). The message names the covariate.
ApproximationWarning
    A normal approximation or Monte Carlo estimate was used where an exact
    computation was requested or expected.
ImmortalTimeWarning
    Groups are defined by a treatment that starts after time zero.
DataQualityWarning
    A cohort value is legal but suspicious (e.g. ATO given for an
    ATO-resistant fusion).
"""

from __future__ import annotations


class AplcohortError(Exception):
    """Base class of aplcohort errors."""


class InputError(AplcohortError, ValueError):
    """An error caused by user input; the CLI reports it and exits with status 2."""


class CohortValidationError(InputError):
    """A cohort table broke validation rules.

    Parameters
    ----------
    problems : list
        Every problem found (objects with ``row``, ``patient_id``, ``column``,
        ``value``, ``rule``, ``fix`` attributes).
    report : str
        The readable report; it is also ``str(self)``.
    """

    def __init__(self, report: str, problems=None):
        super().__init__(report)
        self.report = report
        self.problems = list(problems or [])


class PlanError(InputError):
    """An analysis plan is invalid."""

    def __init__(self, report: str, problems=None):
        super().__init__(report)
        self.report = report
        self.problems = list(problems or [])


class ScenarioError(InputError):
    """A synthetic-cohort scenario is invalid."""

    def __init__(self, report: str, problems=None):
        super().__init__(report)
        self.report = report
        self.problems = list(problems or [])


class AplcohortWarning(UserWarning):
    """Base class of aplcohort warnings."""


class StatisticalWarning(AplcohortWarning):
    """A statistical caveat."""


class ConvergenceWarning(AplcohortWarning):
    """An iterative fit did not converge."""


class SeparationWarning(ConvergenceWarning):
    """Monotone likelihood or separation; the message names the covariate."""


class ApproximationWarning(AplcohortWarning):
    """An approximation was used."""


class ImmortalTimeWarning(AplcohortWarning):
    """Groups are defined by a treatment that starts after time zero."""


class DataQualityWarning(AplcohortWarning):
    """A legal but suspicious cohort value."""


class FigureTextWarning(AplcohortWarning):
    """A figure shows a text differently from the data: a label too long for a figure was
    shortened (tables keep the full text), a control character is shown as its symbol, or
    the figure font has no glyph for a character."""
