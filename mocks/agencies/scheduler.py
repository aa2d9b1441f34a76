"""The body's clock: turns due steps into reports and re-sends what was never confirmed.

The schedule lives in the store, not in timers, so that a restarted mock picks up every
unfinished task where it stood. The loop sleeps until the earliest due step (or until the
consumer wakes it), so a work time of 0 costs no polling delay.

Due times are read on the body's clock (`now`, which the admin API can stop or move), so
advancing that clock makes the work it passes over run at once; re-sending unconfirmed
reports is bookkeeping and stays on real time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from mocks.agencies.reports import Reporter
from mocks.agencies.store import AgencyStore

log = logging.getLogger(__name__)


class Scheduler:
    def __init__(
        self,
        store: AgencyStore,
        reporter: Reporter,
        agency: str,
        *,
        batch: int = 200,
        idle_seconds: float = 1.0,
        resend_after: float = 5.0,
        now: Callable[[], float] = time.time,
        ready: Callable[[], bool] = lambda: True,
    ) -> None:
        self._store = store
        self._reporter = reporter
        self._agency = agency
        self._batch = batch
        self._idle = idle_seconds
        # A report younger than this may still be on its way (its inbound handler is
        # publishing it); re-sending it would only make a harmless duplicate.
        self._resend_after = resend_after
        self._now = now
        # While the broker is away nothing is claimed or re-sent: the steps stay due in
        # the store and go out when the consumer is back (which wakes the loop).
        self._ready = ready
        self._wake = asyncio.Event()
        self._last_resend = 0.0

    def wake(self) -> None:
        self._wake.set()

    async def recover(self) -> None:
        """Send whatever a previous run planned but never got confirmed.

        Called before the consumer starts, so that a redelivered message finds its report
        already sent instead of racing the scheduler to send it.
        """
        self._last_resend = time.time()
        await self._resend(created_before=self._last_resend)

    async def run(self) -> None:
        while True:
            self._wake.clear()
            if not self._ready():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self._idle)
                continue
            try:
                if await self._tick():
                    continue
                timeout = await self._time_to_next_step()
            except Exception:
                log.exception("%s: scheduler step failed; retrying", self._agency)
                timeout = self._idle
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)

    async def _tick(self) -> bool:
        """One pass; True when there may be more due work right away."""
        now = time.time()
        if now - self._last_resend >= self._idle:
            self._last_resend = now
            await self._resend(created_before=now - self._resend_after)
        due = await self._store.claim_due(self._now(), self._batch)
        if not due:
            return False
        # Each claimed report is on a different task, so they may go out together.
        await self._reporter.deliver_concurrently(due)
        return True

    async def _resend(self, created_before: float) -> None:
        stale = await self._store.unpublished(created_before)
        if stale:
            log.info("%s: re-sending %d unconfirmed status report(s)", self._agency, len(stale))
            await self._reporter.deliver_in_order(stale)

    async def _time_to_next_step(self) -> float:
        next_at = await self._store.next_due_at()
        if next_at is None:
            return self._idle
        return min(self._idle, max(0.0, next_at - self._now()))
