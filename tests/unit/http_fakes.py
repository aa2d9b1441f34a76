"""Test doubles for the REST clients: a clock that sleeps by moving, and settings.

``RestCaller`` takes ``monotonic`` and ``sleep``; with these, a test of back-off and
deadlines runs in no real time and can assert exactly what was waited.
"""

from __future__ import annotations

from typing import Any

from adapters.http_discipline import HttpSettings


class FakeTime:
    def __init__(self) -> None:
        self.now = 5000.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def fast_settings(base_url: str, **changes: Any) -> HttpSettings:
    """Short timeouts and back-off, a breaker that stays shut unless a test lowers it."""
    base: dict[str, Any] = {
        "base_url": base_url,
        "connect_timeout": 0.5,
        "read_timeout": 0.5,
        "deadline": 10.0,
        "max_attempts": 4,
        "backoff_initial": 0.1,
        "backoff_max": 1.0,
        "breaker_failures": 100,
    }
    base.update(changes)
    return HttpSettings(**base)
