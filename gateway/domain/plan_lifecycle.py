"""When a plan is complete (order 192 p.12)."""

from __future__ import annotations

from collections.abc import Iterable

from contracts.plans import TaskState


def is_complete(task_states: Iterable[TaskState]) -> bool:
    """Every activity is done when each task is accepted or was withdrawn.

    A task the body rejected as not its competence, or whose delivery failed, keeps
    the plan open: the centre has to act on it (cancel the plan or re-plan), which is
    what p.11 asks of the centre when a body does not meet the requirements.
    """
    states = list(task_states)
    accepted = sum(1 for s in states if s is TaskState.accepted)
    withdrawn = sum(1 for s in states if s is TaskState.cancelled)
    return accepted > 0 and accepted + withdrawn == len(states)
