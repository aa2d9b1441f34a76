"""One FIFO asyncio lock per key, created on demand and dropped when nobody holds it.

Consumers handle many deliveries at once (a prefetch window), yet some work must run one
at a time per key: the gateway applies a task's reports in the order the queue gave them
(received before in_progress before done), and a mock body must not publish the reports
owed for one message twice when two copies of it arrive together.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class KeyedLocks:
    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)

    def __len__(self) -> int:
        """Keys held or waited for; zero when idle (nothing leaks)."""
        return len(self._locks)
