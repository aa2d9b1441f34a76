"""Which task state follows which event, and who may cause it.

A report that does not fit the task's current state (a late duplicate, a report after
cancellation, messages arriving out of order) is not an error of the system: the
collector records it on the timeline as ignored and acknowledges the message, so a
stale report never becomes a poison message.
"""

from __future__ import annotations

from enum import StrEnum

from contracts.plans import TaskState
from gateway.domain.flow import InvalidTransition, load_flow

__all__ = [
    "IPR",
    "TERMINAL",
    "InvalidTransition",
    "TaskEvent",
    "counts_as_delivered",
    "is_noop",
    "next_state",
]


class TaskEvent(StrEnum):
    published = "published"  # the relay's publish was confirmed by the broker
    received = "received"  # the body's system took the task (delivery)
    in_progress = "in_progress"
    done = "done"  # the body reports the activity fulfilled
    rejected = "rejected"  # the body says the activity is not its competence
    accepted = "accepted"  # the centre accepts the report
    returned = "returned"  # the centre returns it for rework
    cancelled = "cancelled"
    failed = "failed"  # delivery exhausted: dead-lettered
    rerouted = "rerouted"  # the centre sends the refused activity to another body
    closed = "closed"  # the centre closes the refused activity with a reason


#: The ИПР's flow: its task states, transitions and terms are data (`gateway/flows/ipr.json`),
#: run by the same engine as every other flow (`gateway.domain.flow`).
IPR = load_flow("ipr")

TERMINAL: frozenset[TaskState] = frozenset(TaskState(s) for s in IPR.terminal_states)


def next_state(state: TaskState, event: TaskEvent) -> TaskState:
    """The state after `event`; raises InvalidTransition when the event does not fit."""
    return TaskState(IPR.next_state(state.value, event.value))


def is_noop(state: TaskState, event: TaskEvent) -> bool:
    return IPR.is_noop(state.value, event.value)


def counts_as_delivered(event: TaskEvent) -> bool:
    """Any word from the body about the task proves it was delivered to the body."""
    return event in (TaskEvent.received, TaskEvent.in_progress, TaskEvent.done, TaskEvent.rejected)
