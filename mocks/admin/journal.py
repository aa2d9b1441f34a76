"""What a mock was asked and what it answered, for tests and developers to verify calls.

Bodies are kept whole up to a cap (the mocks serve synthetic people, so nothing needs
masking, but a long-running mock must not grow without bound), and the journal keeps
only the last ``size`` calls. ``received_at`` is real time, so ``since`` queries work
whatever the mock's clock says; ``clock_time`` is what the mock's clock said.
"""

from __future__ import annotations

import itertools
import threading
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

DEFAULT_BODY_LIMIT = 256 * 1024


@dataclass(frozen=True, slots=True)
class JournalRecord:
    id: int
    received_at: datetime
    clock_time: datetime
    method: str
    path: str
    service: str | None
    http_status: int | None
    """None when the mock answered nothing (a connection reset)."""
    fault: str | None
    """The rule that applied, e.g. ``http_error#3``; None for a normal answer."""
    duration_ms: float
    request: bytes
    response: bytes
    request_truncated: bool = False
    response_truncated: bool = False
    extra: Mapping[str, Any] = field(default_factory=dict)
    """Mock-specific facts (the bus: status_code, message_id, service_id, sender_id)."""

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "received_at": self.received_at.isoformat(),
            "clock_time": self.clock_time.isoformat(),
            "method": self.method,
            "path": self.path,
            "service": self.service,
            "http_status": self.http_status,
            "fault": self.fault,
            "duration_ms": round(self.duration_ms, 1),
            "request": self.request.decode("utf-8", "replace"),
            "response": self.response.decode("utf-8", "replace"),
        }
        if self.request_truncated:
            data["request_truncated"] = True
        if self.response_truncated:
            data["response_truncated"] = True
        data.update(self.extra)
        return data


class RequestJournal:
    """Thread-safe: mocks record from worker threads while tests read from theirs."""

    def __init__(self, size: int = 1000, *, body_limit: int = DEFAULT_BODY_LIMIT) -> None:
        self._records: deque[JournalRecord] = deque(maxlen=size)
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self.body_limit = body_limit

    def add(
        self,
        *,
        method: str,
        path: str,
        service: str | None,
        http_status: int | None,
        request: bytes = b"",
        response: bytes = b"",
        fault: str | None = None,
        received_at: datetime | None = None,
        clock_time: datetime | None = None,
        duration_ms: float = 0.0,
        extra: Mapping[str, Any] | None = None,
    ) -> JournalRecord:
        received = received_at or datetime.now(UTC)
        limit = self.body_limit
        with self._lock:
            record = JournalRecord(
                id=next(self._ids),
                received_at=received,
                clock_time=clock_time or received,
                method=method,
                path=path,
                service=service,
                http_status=http_status,
                fault=fault,
                duration_ms=duration_ms,
                request=request[:limit],
                response=response[:limit],
                request_truncated=len(request) > limit,
                response_truncated=len(response) > limit,
                extra=dict(extra or {}),
            )
            self._records.append(record)
        return record

    def records(
        self,
        *,
        service: str | None = None,
        path: str | None = None,
        since: datetime | None = None,
        fault: str | None = None,
    ) -> list[JournalRecord]:
        """Oldest first. ``fault``: a kind (``http_error``) or a label (``http_error#3``)."""
        if since is not None and since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
        with self._lock:
            records = list(self._records)
        return [r for r in records if _wanted(r, service, path, since, fault)]

    def count(self, **query: Any) -> int:
        return len(self.records(**query))

    def clear(self) -> None:
        with self._lock:
            self._records.clear()


def _wanted(
    record: JournalRecord,
    service: str | None,
    path: str | None,
    since: datetime | None,
    fault: str | None,
) -> bool:
    if service is not None and record.service != service:
        return False
    if path is not None and record.path != path:
        return False
    if since is not None and record.received_at < since:
        return False
    if fault is not None:
        applied = record.fault or ""
        return applied == fault or applied.split("#", 1)[0] == fault
    return True
