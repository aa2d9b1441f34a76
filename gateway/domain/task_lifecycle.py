"""Which task state follows which event, and who may cause it.

A report that does not fit the task's current state (a late duplicate, a report after
cancellation, messages arriving out of order) is not an error of the system: the
collector records it on the timeline as ignored and acknowledges the message, so a
stale report never becomes a poison message.
"""

from __future__ import annotations

from enum import StrEnum

from contracts.plans import TaskState


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


S = TaskState
E = TaskEvent

TERMINAL: frozenset[TaskState] = frozenset(
    {S.accepted, S.rejected_by_agency, S.cancelled, S.failed}
)

# Reports may overtake one another (the body's "received" can arrive before the relay has
# marked the task dispatched), so later states are reachable from every earlier one.
_PRE_DELIVERY = (S.created, S.dispatched)
_AT_AGENCY = (S.created, S.dispatched, S.delivered, S.in_progress, S.returned)

_TRANSITIONS: dict[tuple[TaskState, TaskEvent], TaskState] = {
    (S.created, E.published): S.dispatched,
    **{(s, E.received): S.delivered for s in _PRE_DELIVERY},
    **{(s, E.in_progress): S.in_progress for s in _AT_AGENCY},
    **{(s, E.done): S.reported for s in _AT_AGENCY},
    **{(s, E.rejected): S.rejected_by_agency for s in _AT_AGENCY},
    (S.reported, E.accepted): S.accepted,
    (S.reported, E.returned): S.returned,
    **{(s, E.failed): S.failed for s in _PRE_DELIVERY},
    **{(s, E.cancelled): S.cancelled for s in S if s not in TERMINAL},
}

# Events that are harmless repeats in a given state: recorded, but not a transition.
_NO_OPS: frozenset[tuple[TaskState, TaskEvent]] = frozenset(
    {(s, E.published) for s in S if s is not S.created}
    | {(s, E.received) for s in (S.delivered, S.in_progress, S.returned, S.reported)}
    | {(S.in_progress, E.in_progress)}
)


class InvalidTransition(ValueError):
    def __init__(self, state: TaskState, event: TaskEvent) -> None:
        super().__init__(f"a task that is {state.value} cannot take '{event.value}'")
        self.state = state
        self.event = event


def next_state(state: TaskState, event: TaskEvent) -> TaskState:
    """The state after `event`; raises InvalidTransition when the event does not fit."""
    try:
        return _TRANSITIONS[(state, event)]
    except KeyError:
        raise InvalidTransition(state, event) from None


def is_noop(state: TaskState, event: TaskEvent) -> bool:
    return (state, event) in _NO_OPS


def counts_as_delivered(event: TaskEvent) -> bool:
    """Any word from the body about the task proves it was delivered to the body."""
    return event in (E.received, E.in_progress, E.done, E.rejected)
