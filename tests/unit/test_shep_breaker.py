"""The circuit breaker's states, moved by a fake clock."""

from __future__ import annotations

import pytest

from adapters.shep.breaker import BreakerBoard, BreakerState, CircuitBreaker
from adapters.shep.errors import ShepCircuitOpen, ShepUnavailable


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def state(breaker: CircuitBreaker) -> BreakerState:
    """Read afresh: mypy would otherwise narrow ``breaker.state`` across clock moves."""
    return breaker.state


def fail(breaker: CircuitBreaker, times: int) -> None:
    for _ in range(times):
        breaker.before_call()
        breaker.record_failure()


def test_opens_after_n_consecutive_failures_only() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker("svc", failure_threshold=3, cool_down=30, clock=clock)
    fail(breaker, 2)
    breaker.before_call()
    breaker.record_success()  # a success in between resets the count
    fail(breaker, 2)
    assert state(breaker) is BreakerState.CLOSED
    fail(breaker, 1)
    assert state(breaker) is BreakerState.OPEN
    with pytest.raises(ShepCircuitOpen, match="svc"):
        breaker.before_call()


def test_circuit_open_is_a_kind_of_unavailable() -> None:
    assert issubclass(ShepCircuitOpen, ShepUnavailable)


def test_half_opens_after_the_cool_down_and_lets_one_probe_through() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker("svc", failure_threshold=1, cool_down=30, clock=clock)
    fail(breaker, 1)
    clock.now += 29.9
    assert state(breaker) is BreakerState.OPEN
    clock.now += 0.1
    assert state(breaker) is BreakerState.HALF_OPEN
    breaker.before_call()  # the probe
    with pytest.raises(ShepCircuitOpen):
        breaker.before_call()  # a second caller while the probe is out
    breaker.record_success()
    assert state(breaker) is BreakerState.CLOSED
    breaker.before_call()


def test_a_failed_probe_opens_again_for_a_full_cool_down() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker("svc", failure_threshold=5, cool_down=10, clock=clock)
    fail(breaker, 5)
    clock.now += 10
    breaker.before_call()
    breaker.record_failure()
    assert state(breaker) is BreakerState.OPEN
    clock.now += 9
    assert state(breaker) is BreakerState.OPEN
    clock.now += 1
    assert state(breaker) is BreakerState.HALF_OPEN


def test_an_abandoned_probe_frees_the_slot() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker("svc", failure_threshold=1, cool_down=1, clock=clock)
    fail(breaker, 1)
    clock.now += 1
    breaker.before_call()
    breaker.abandon()
    breaker.before_call()  # another probe may go


def test_board_keeps_one_breaker_per_service() -> None:
    board = BreakerBoard(failure_threshold=1, cool_down=5, clock=FakeClock())
    fail(board.get("A"), 1)
    assert state(board.get("A")) is BreakerState.OPEN
    assert state(board.get("B")) is BreakerState.CLOSED
    assert board.get("A") is board.get("A")


@pytest.mark.parametrize("threshold, cool_down", [(0, 1.0), (1, -1.0)])
def test_rejects_nonsense_settings(threshold: int, cool_down: float) -> None:
    with pytest.raises(ValueError):
        CircuitBreaker("svc", failure_threshold=threshold, cool_down=cool_down)
