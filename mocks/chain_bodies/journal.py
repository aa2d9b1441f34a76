"""What each mock body took and decided, in its own SQLite file, so nothing is lost or
decided twice across a crash.

A step assignment is recorded (deduplicated on its message id) before the broker's copy
is acknowledged; the decision is recorded before it is published, with a message id
derived from the assignment's, so a re-publish after a crash carries the same id and the
gateway's inbox takes it once.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS steps (
    message_id TEXT PRIMARY KEY,
    case_id TEXT NOT NULL,
    step TEXT NOT NULL,
    round INTEGER NOT NULL,
    assignment TEXT NOT NULL,
    taken_at REAL NOT NULL,
    decision TEXT,            -- the signed StepDecision, JSON, once made
    decision_id TEXT,
    published INTEGER NOT NULL DEFAULT 0,
    withdrawn INTEGER NOT NULL DEFAULT 0
);
"""


@dataclass(frozen=True)
class Pending:
    message_id: str
    assignment: dict[str, Any]
    taken_at: float
    decision: str | None
    decision_id: str | None


class Journal:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()

    def take(self, message_id: str, assignment: dict[str, Any], now: float) -> bool:
        """Record an assignment; False when this copy was taken before."""
        with self._lock:
            cursor = self._db.execute(
                "INSERT OR IGNORE INTO steps (message_id, case_id, step, round, assignment,"
                " taken_at) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    message_id,
                    assignment["case_id"],
                    assignment["step"],
                    assignment["round"],
                    json.dumps(assignment, ensure_ascii=False),
                    now,
                ),
            )
            return cursor.rowcount == 1

    def withdraw(self, case_id: str, step: str, round_: int) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE steps SET withdrawn = 1 WHERE case_id = ? AND step = ? AND round = ?"
                " AND decision IS NULL",
                (case_id, step, round_),
            )

    def pending(self) -> list[Pending]:
        """Undecided or unpublished steps, oldest first: the work to do (again) now."""
        with self._lock:
            rows = self._db.execute(
                "SELECT message_id, assignment, taken_at, decision, decision_id FROM steps"
                " WHERE withdrawn = 0 AND published = 0 ORDER BY taken_at"
            ).fetchall()
        return [Pending(r[0], json.loads(r[1]), r[2], r[3], r[4]) for r in rows]

    def decide(self, message_id: str, decision: str) -> str:
        decision_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"decision:{message_id}"))
        with self._lock:
            self._db.execute(
                "UPDATE steps SET decision = ?, decision_id = ? WHERE message_id = ?"
                " AND decision IS NULL",
                (decision, decision_id, message_id),
            )
        return decision_id

    def published(self, message_id: str) -> None:
        with self._lock:
            self._db.execute("UPDATE steps SET published = 1 WHERE message_id = ?", (message_id,))

    def rounds_returned(self, case_id: str, step: str) -> int:
        with self._lock:
            rows = self._db.execute(
                "SELECT decision FROM steps"
                " WHERE case_id = ? AND step = ? AND decision IS NOT NULL",
                (case_id, step),
            ).fetchall()
        return sum(1 for (d,) in rows if json.loads(d)["decision"] == "return")

    def entries(self) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT message_id, case_id, step, round, decision IS NOT NULL, published,"
                " withdrawn FROM steps ORDER BY taken_at"
            ).fetchall()
        keys = ("message_id", "case_id", "step", "round", "decided", "published", "withdrawn")
        return [dict(zip(keys, r, strict=True)) for r in rows]

    def close(self) -> None:
        self._db.close()
