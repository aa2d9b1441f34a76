"""The mock bus's memory of what it was asked and what it answered.

Since the admin library (``mocks.admin``) came, this is its request journal with the
bus's own facts attached to each record (the status code it answered, messageId,
serviceId, senderId) and the bus's older view of it, ``entries()``, which the contract
tests check message by message. Bodies are kept up to 1 MiB, the bus's request limit,
so every message the contract tests see is whole.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from mocks.admin import JournalRecord, RequestJournal

_BODY_LIMIT = 1 << 20


@dataclass(frozen=True, slots=True)
class JournalEntry:
    received_at: datetime
    http_status: int
    """0 when the bus answered nothing (a connection_reset fault)."""
    status_code: str
    """The bus's code (``SCSS001``, an ``ErrorInfo`` code), or "" when a fault replaced it."""
    message_id: str | None
    service_id: str | None
    sender_id: str | None
    request: bytes
    response: bytes
    fault: str | None = None

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["received_at"] = self.received_at.isoformat()
        data["request"] = self.request.decode("utf-8", "replace")
        data["response"] = self.response.decode("utf-8", "replace")
        return data

    @classmethod
    def from_record(cls, record: JournalRecord) -> JournalEntry:
        extra = record.extra
        return cls(
            received_at=record.received_at,
            http_status=record.http_status or 0,
            status_code=str(extra.get("status_code") or ""),
            message_id=extra.get("message_id"),
            service_id=extra.get("service_id"),
            sender_id=extra.get("sender_id"),
            request=record.request,
            response=record.response,
            fault=record.fault,
        )


class Journal(RequestJournal):
    """Thread-safe: tests read it from the thread that drives the server."""

    def __init__(self, size: int = 1000, *, body_limit: int = _BODY_LIMIT) -> None:
        super().__init__(size, body_limit=body_limit)

    def record(self, entry: JournalEntry, *, method: str = "POST", path: str = "") -> None:
        """Add an entry in the bus's older shape (kept for callers written before)."""
        self.add(
            method=method,
            path=path,
            service=entry.service_id,
            http_status=entry.http_status or None,
            request=entry.request,
            response=entry.response,
            fault=entry.fault,
            received_at=entry.received_at,
            extra={
                "status_code": entry.status_code,
                "message_id": entry.message_id,
                "service_id": entry.service_id,
                "sender_id": entry.sender_id,
            },
        )

    def entries(self) -> list[JournalEntry]:
        return [JournalEntry.from_record(r) for r in self.records()]
