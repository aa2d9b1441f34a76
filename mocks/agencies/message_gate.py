"""One copy of a message at a time, inside a body's mock system.

Two copies of one task message can arrive together (a redelivery overtaking the first
delivery within the prefetch window). The body must not publish the reports it owes for
that message twice, so a second copy waits until the first has been journalled.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class MessageGate:
    def __init__(self) -> None:
        self._busy: dict[str, asyncio.Event] = {}

    @asynccontextmanager
    async def one_copy(self, message_id: str) -> AsyncIterator[None]:
        while (busy := self._busy.get(message_id)) is not None:
            await busy.wait()
        done = asyncio.Event()
        self._busy[message_id] = done
        try:
            yield
        finally:
            del self._busy[message_id]
            done.set()

    def __len__(self) -> int:
        """Messages being handled now; zero when idle."""
        return len(self._busy)
