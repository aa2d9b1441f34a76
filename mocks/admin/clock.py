"""The mock's own clock, so developers can play "it is now the last day of the deadline".

Answers that carry a date (the bus's ``responseDate``, a portal's status time) and any
time-dependent behaviour read this clock instead of the system's. Three modes: real
time; fixed at an instant (repeatable tests); or running from an instant, that is real
time shifted (a developer's session that should still see time pass).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any


class ClockMode(StrEnum):
    REAL = "real"
    FIXED = "fixed"
    SHIFTED = "shifted"


def _aware(moment: datetime) -> datetime:
    # A naive instant over the admin API is read as UTC rather than refused: less
    # friction for curl users, and the answer always shows the offset it applied.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


class MockClock:
    """Satisfies ``contracts.clock.Clock``; safe to read from the server's worker threads."""

    def __init__(self, real: Callable[[], datetime] | None = None) -> None:
        self._real = real or (lambda: datetime.now(UTC))
        self._lock = threading.Lock()
        self._fixed: datetime | None = None
        self._offset = timedelta(0)

    @property
    def mode(self) -> ClockMode:
        with self._lock:
            if self._fixed is not None:
                return ClockMode.FIXED
            return ClockMode.SHIFTED if self._offset else ClockMode.REAL

    def now(self) -> datetime:
        with self._lock:
            if self._fixed is not None:
                return self._fixed
            return self._real() + self._offset

    def set(self, moment: datetime, *, running: bool = False) -> None:
        """Stop at ``moment``, or with ``running`` keep ticking from it."""
        moment = _aware(moment)
        with self._lock:
            if running:
                self._fixed = None
                self._offset = moment - self._real()
            else:
                self._fixed = moment
                self._offset = timedelta(0)

    def advance(self, seconds: float) -> None:
        """Move forward (or back, if negative) without changing the mode."""
        delta = timedelta(seconds=seconds)
        with self._lock:
            if self._fixed is not None:
                self._fixed += delta
            else:
                self._offset += delta

    def reset(self) -> None:
        """Back to real time."""
        with self._lock:
            self._fixed = None
            self._offset = timedelta(0)

    def as_json(self) -> dict[str, Any]:
        mode = self.mode
        return {"now": self.now().isoformat(), "mode": str(mode)}
