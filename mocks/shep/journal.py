"""The mock bus's memory of what it was asked and what it answered.

Tests and developers verify calls against it the way they would with WireMock's
request journal; it is bounded so a long-running mock does not grow without limit.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class JournalEntry:
    received_at: datetime
    http_status: int
    status_code: str
    message_id: str | None
    service_id: str | None
    sender_id: str | None
    request: bytes
    response: bytes

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["received_at"] = self.received_at.isoformat()
        data["request"] = self.request.decode("utf-8", "replace")
        data["response"] = self.response.decode("utf-8", "replace")
        return data


class Journal:
    """Thread-safe: tests read it from the thread that drives the server."""

    def __init__(self, size: int = 1000) -> None:
        self._entries: deque[JournalEntry] = deque(maxlen=size)
        self._lock = threading.Lock()

    def record(self, entry: JournalEntry) -> None:
        with self._lock:
            self._entries.append(entry)

    def entries(self) -> list[JournalEntry]:
        with self._lock:
            return list(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
