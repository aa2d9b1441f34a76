"""Time as an injected dependency, and the one time zone every party speaks.

Part of the shared kernel: the gateway, its adapters and the mock systems all stamp and
read Almaty wall time, and tests move an injected clock instead of sleeping.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

ALMATY: ZoneInfo = ZoneInfo("Asia/Almaty")


def to_almaty(moment: datetime) -> datetime:
    """Almaty wall time of ``moment``; naive values are taken as Almaty time.

    Clients of Kazakh state systems send local times without an offset far
    more often than UTC ones, so naive means Almaty rather than UTC.
    """
    if moment.tzinfo is None or moment.utcoffset() is None:
        return moment.replace(tzinfo=ALMATY)
    return moment.astimezone(ALMATY)


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock that only moves when told to."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime")
        self._now = start

    def now(self) -> datetime:
        return self._now

    def set(self, moment: datetime) -> None:
        self._now = moment

    def advance(self, delta: timedelta) -> None:
        self._now += delta
