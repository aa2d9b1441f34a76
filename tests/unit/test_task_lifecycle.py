from __future__ import annotations

import pytest

from contracts.plans import TaskState as S
from gateway.domain.plan_lifecycle import is_complete
from gateway.domain.task_lifecycle import (
    TERMINAL,
    InvalidTransition,
    is_noop,
    next_state,
)
from gateway.domain.task_lifecycle import (
    TaskEvent as E,
)


@pytest.mark.parametrize(
    ("state", "event", "expected"),
    [
        (S.created, E.published, S.dispatched),
        (S.dispatched, E.received, S.delivered),
        (S.created, E.received, S.delivered),  # the body answered before the relay marked it
        (S.delivered, E.in_progress, S.in_progress),
        (S.in_progress, E.done, S.reported),
        (S.delivered, E.done, S.reported),
        (S.reported, E.accepted, S.accepted),
        (S.reported, E.returned, S.returned),
        (S.returned, E.in_progress, S.in_progress),
        (S.returned, E.done, S.reported),
        (S.in_progress, E.rejected, S.rejected_by_agency),
        (S.dispatched, E.failed, S.failed),
        (S.reported, E.cancelled, S.cancelled),
    ],
)
def test_allowed_transitions(state: S, event: E, expected: S) -> None:
    assert next_state(state, event) is expected


@pytest.mark.parametrize(
    ("state", "event"),
    [
        (S.accepted, E.done),
        (S.reported, E.in_progress),  # a stale progress report after the final one
        (S.delivered, E.accepted),  # nothing to accept before a report
        (S.in_progress, E.returned),
        (S.cancelled, E.done),
        (S.delivered, E.failed),  # delivered tasks cannot fail delivery
        (S.accepted, E.cancelled),
    ],
)
def test_refused_transitions(state: S, event: E) -> None:
    with pytest.raises(InvalidTransition, match=state.value):
        next_state(state, event)


def test_terminal_states_take_no_event() -> None:
    """No body's word moves a finished task; only the centre settles a refused one."""
    settling = {E.rerouted, E.closed}
    for state in TERMINAL:
        for event in E:
            if state in (S.rejected_by_agency, S.failed) and event in settling:
                continue
            with pytest.raises(InvalidTransition):
                next_state(state, event)


@pytest.mark.parametrize("state", [S.rejected_by_agency, S.failed])
def test_the_centre_settles_a_refused_or_failed_task(state: S) -> None:
    assert next_state(state, E.rerouted) is S.rerouted
    assert next_state(state, E.closed) is S.closed
    for other in (S.reported, S.accepted, S.cancelled, S.in_progress):
        with pytest.raises(InvalidTransition):
            next_state(other, E.rerouted)
        with pytest.raises(InvalidTransition):
            next_state(other, E.closed)


def test_repeats_are_noops_not_errors() -> None:
    assert is_noop(S.delivered, E.received)
    assert is_noop(S.dispatched, E.published)
    assert not is_noop(S.created, E.published)


@pytest.mark.parametrize(
    ("states", "complete"),
    [
        ([S.accepted, S.accepted], True),
        ([S.accepted, S.cancelled], True),
        ([S.cancelled, S.cancelled], False),
        ([S.accepted, S.reported], False),
        ([S.accepted, S.rejected_by_agency], False),
        ([S.accepted, S.rerouted, S.accepted], True),
        ([S.rerouted, S.created], False),
        ([S.closed, S.accepted], True),
        ([S.closed], True),
        ([S.cancelled, S.rerouted], False),
        ([], False),
    ],
)
def test_plan_completion(states: list[S], complete: bool) -> None:
    assert is_complete(states) is complete
