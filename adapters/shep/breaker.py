"""A circuit breaker per bus service.

When a registry behind the bus is down, every call would wait out its timeouts and
retries; the breaker fails such calls at once for a cool-down period and then lets one
probe through to find out whether the service is back. Time comes from an injected
monotonic clock so tests move it instead of sleeping.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from enum import StrEnum

from adapters.shep.errors import ShepCircuitOpen

MonotonicClock = Callable[[], float]


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    """closed → open after ``failure_threshold`` consecutive failures → half-open after
    ``cool_down`` seconds (one probe at a time) → closed on the probe's success, or open
    again on its failure.

    Not locked: it lives on one event loop, and every method runs without awaiting.
    """

    def __init__(
        self,
        name: str,
        *,
        failure_threshold: int = 5,
        cool_down: float = 30.0,
        clock: MonotonicClock = time.monotonic,
    ) -> None:
        if failure_threshold < 1:
            raise ValueError("failure_threshold must be at least 1")
        if cool_down < 0:
            raise ValueError("cool_down must not be negative")
        self.name = name
        self.failure_threshold = failure_threshold
        self.cool_down = cool_down
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        self._probe_in_flight = False

    @property
    def state(self) -> BreakerState:
        if self._opened_at is None:
            return BreakerState.CLOSED
        if self._clock() - self._opened_at >= self.cool_down:
            return BreakerState.HALF_OPEN
        return BreakerState.OPEN

    @property
    def consecutive_failures(self) -> int:
        return self._failures

    def before_call(self) -> None:
        """Raise ``ShepCircuitOpen`` unless a call may go out now."""
        state = self.state
        if state is BreakerState.CLOSED:
            return
        if state is BreakerState.HALF_OPEN and not self._probe_in_flight:
            self._probe_in_flight = True
            return
        assert self._opened_at is not None
        retry_in = max(0.0, self.cool_down - (self._clock() - self._opened_at))
        raise ShepCircuitOpen(f"circuit for {self.name} is open; next probe in {retry_in:.1f}s")

    def record_success(self) -> None:
        self._failures = 0
        self._opened_at = None
        self._probe_in_flight = False

    def record_failure(self) -> None:
        self._failures += 1
        probe_failed = self._probe_in_flight
        self._probe_in_flight = False
        if probe_failed or self._failures >= self.failure_threshold:
            self._opened_at = self._clock()

    def abandon(self) -> None:
        """A call ended without telling us anything (e.g. cancelled): free the probe."""
        self._probe_in_flight = False


class BreakerBoard:
    """One breaker per service id, created on first use with shared settings."""

    def __init__(
        self,
        *,
        failure_threshold: int = 5,
        cool_down: float = 30.0,
        clock: MonotonicClock = time.monotonic,
    ) -> None:
        self._settings = (failure_threshold, cool_down)
        self._clock = clock
        self._breakers: dict[str, CircuitBreaker] = {}

    def get(self, service_id: str) -> CircuitBreaker:
        breaker = self._breakers.get(service_id)
        if breaker is None:
            threshold, cool_down = self._settings
            breaker = CircuitBreaker(
                service_id, failure_threshold=threshold, cool_down=cool_down, clock=self._clock
            )
            self._breakers[service_id] = breaker
        return breaker

    def states(self) -> dict[str, BreakerState]:
        """Each service's breaker as it stands, for an operator's metrics."""
        return {service_id: b.state for service_id, b in self._breakers.items()}
