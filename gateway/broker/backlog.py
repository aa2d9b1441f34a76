"""How far behind the outbox is: messages committed but not yet confirmed by the broker.

The figure is sampled on a timer rather than per request, so that `/ready` and the
back-pressure check on every write cost a dictionary read, not a query; a store that
does not answer the sample within its timeout is itself a finding (`store_slow`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts.clock import Clock
from gateway.store.tables import outbox

log = logging.getLogger("gateway.backlog")


@dataclass(frozen=True)
class Backlog:
    pending: int
    """Messages in the outbox that no broker has confirmed yet."""
    oldest_created_at: datetime | None
    oldest_age_seconds: float | None
    sampled_at: float
    """`time.monotonic()` of the sample."""

    def as_json(self) -> dict[str, Any]:
        return {
            "pending": self.pending,
            "oldest_created_at": self.oldest_created_at.isoformat()
            if self.oldest_created_at
            else None,
            "oldest_age_seconds": round(self.oldest_age_seconds, 1)
            if self.oldest_age_seconds is not None
            else None,
        }


async def measure(engine: AsyncEngine, clock: Clock) -> Backlog:
    """One reading: the count uses the pending index, the oldest is the lowest id."""
    async with engine.connect() as conn:
        pending = (
            await conn.execute(
                select(func.count()).select_from(outbox).where(outbox.c.published_at.is_(None))
            )
        ).scalar_one()
        oldest = (
            await conn.execute(
                select(outbox.c.created_at)
                .where(outbox.c.published_at.is_(None))
                .order_by(outbox.c.id)
                .limit(1)
            )
        ).scalar_one_or_none()
    age = max(0.0, (clock.now() - oldest).total_seconds()) if oldest is not None else None
    return Backlog(int(pending), oldest, age, time.monotonic())


class BacklogMonitor:
    """Keeps the latest outbox reading and whether the store answered it in time."""

    def __init__(
        self,
        engine: AsyncEngine,
        clock: Clock,
        *,
        interval_seconds: float = 1.0,
        store_timeout_seconds: float = 5.0,
    ) -> None:
        self._engine = engine
        self._clock = clock
        self._interval = interval_seconds
        self._timeout = store_timeout_seconds
        self.latest: Backlog | None = None
        self._reading: asyncio.Task[Backlog] | None = None
        self.store_slow = False
        """The last reading did not come back within the store timeout (or failed)."""

    async def sample(self) -> Backlog | None:
        # A reading that overruns is left to finish rather than cancelled: cancelling a
        # statement half-way can leave a pooled (or SQLite's single) connection unusable.
        if self._reading is None or self._reading.done():
            self._reading = asyncio.create_task(measure(self._engine, self._clock))
        done, _ = await asyncio.wait({self._reading}, timeout=self._timeout)
        error: BaseException | None = None
        if done:
            error = self._reading.exception()
        if not done or error is not None:
            if not self.store_slow:
                log.warning(
                    "the store did not answer the outbox reading within %.1f s%s",
                    self._timeout,
                    f": {error!r}" if error is not None else "",
                )
            self.store_slow = True
            return None
        reading = self._reading.result()
        if self.store_slow:
            log.info("the store answers again (outbox: %d pending)", reading.pending)
        self.store_slow = False
        self.latest = reading
        return reading

    async def run(self) -> None:
        try:
            while True:
                await self.sample()
                await asyncio.sleep(self._interval)
        finally:
            if self._reading is not None and not self._reading.done():
                self._reading.cancel()
                with contextlib.suppress(BaseException):
                    await self._reading
