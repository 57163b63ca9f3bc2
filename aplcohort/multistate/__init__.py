"""aplcohort.multistate: multi-state models of the disease course.

Data flow: a :class:`StateModel` (bundled: :func:`relapsed_leukemia_model`) ->
:func:`build_transitions` (cohort dates -> (start, stop] rows, every problem in one
report; :func:`check_intervals` is R ``survcheck`` for any rows) ->
:func:`state_occupancy` (Aalen–Johansen with IJ SE, by group, restricted mean time
in state) -> :func:`transition_cox` (transition-specific Cox) -> :func:`clfs`
(current leukaemia-free survival beside DFS and OS).
"""

from .clfs import CLFSResult, clfs, dfs_states
from .cox import TransitionCoxResult, transition_cox
from .model import REMISSION_STATUS, StateModel, StateRule, relapsed_leukemia_model
from .occupancy import AJFit, StateOccupancyResult, aalen_johansen, state_occupancy
from .transitions import (CheckReport, TransitionCheckError, TransitionsData, add_from_state,
                          build_transitions, check_intervals)

__all__ = [
    "StateModel", "StateRule", "relapsed_leukemia_model", "REMISSION_STATUS",
    "build_transitions", "TransitionsData", "check_intervals", "CheckReport",
    "TransitionCheckError", "add_from_state",
    "aalen_johansen", "AJFit", "state_occupancy", "StateOccupancyResult",
    "transition_cox", "TransitionCoxResult", "clfs", "CLFSResult", "dfs_states",
]
