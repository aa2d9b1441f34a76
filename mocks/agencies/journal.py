"""Read-only view of what a body received, for tests and operators.

It reads the file rather than asking the running mock, so a test can check "taken exactly
once" after the mock has stopped, or even after it crashed.
"""

from __future__ import annotations

from contextlib import closing
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from contracts.messages import MessageType
from mocks.agencies.schema import Effect, database_path, open_read_only


@dataclass(frozen=True)
class JournalEntry:
    seq: int
    message_id: str
    type: str
    task_id: str | None
    received_at: datetime
    duplicate: bool
    effect: Effect


def journal(state_dir: Path, code: str) -> list[JournalEntry]:
    """Every message the body received, in arrival order; empty before its first start."""
    path = database_path(state_dir, code)
    if not path.exists():
        return []
    with closing(open_read_only(path)) as conn:
        rows = conn.execute(
            "SELECT seq, message_id, type, task_id, received_at, duplicate, effect"
            " FROM journal ORDER BY seq"
        ).fetchall()
    return [
        JournalEntry(
            seq=row["seq"],
            message_id=row["message_id"],
            type=row["type"],
            task_id=row["task_id"],
            received_at=datetime.fromisoformat(row["received_at"]),
            duplicate=bool(row["duplicate"]),
            effect=Effect(row["effect"]),
        )
        for row in rows
    ]


def count_taken(state_dir: Path, code: str, task_id: str) -> int:
    """How many times the body acted on an assignment of `task_id`: 1 when dedup works.

    Duplicates and re-sent assignments of a known task are journalled but not counted.
    """
    path = database_path(state_dir, code)
    if not path.exists():
        return 0
    with closing(open_read_only(path)) as conn:
        row = conn.execute(
            "SELECT COUNT(*) FROM journal WHERE task_id = ? AND type = ? AND effect = ?",
            (task_id, MessageType.task_assigned.value, Effect.taken.value),
        ).fetchone()
    count: int = row[0]
    return count
