"""When a plan is complete (order 192 p.12)."""

from __future__ import annotations

from collections.abc import Iterable

from contracts.plans import TaskState

#: Tasks that no longer count as open work of the plan.
WITHDRAWN = frozenset({TaskState.cancelled, TaskState.rerouted, TaskState.closed})


def is_complete(task_states: Iterable[TaskState]) -> bool:
    """Every activity is done when each task is accepted or was withdrawn.

    A task the body rejected as not its competence, or whose delivery failed, keeps
    the plan open: the centre has to act on it (p.11) — send the activity to the
    competent body (the old task becomes `rerouted`, a new task carries the activity) or
    close it with a reason (`closed`) — or cancel the plan.
    """
    states = list(task_states)
    accepted = sum(1 for s in states if s is TaskState.accepted)
    withdrawn = sum(1 for s in states if s in WITHDRAWN)
    closed = sum(1 for s in states if s is TaskState.closed)
    # Something was settled: an accepted report or a reasoned closing (a plan whose
    # every task was cancelled is cancelled, not completed).
    return accepted + closed > 0 and accepted + withdrawn == len(states)
