"""Where a mock keeps its state on disk, and the shape of that state.

One SQLite file per body: bodies are separate systems in reality, and separate files let
a test wipe or inspect one body without touching the others.
"""

from __future__ import annotations

import sqlite3
from enum import StrEnum
from pathlib import Path

SCHEMA_VERSION = 1


class Effect(StrEnum):
    """What a received message did, as the journal records it."""

    taken = "taken"
    applied = "applied"
    duplicate = "duplicate"
    ignored = "ignored"


_DDL = """
-- Every message that reached the body, including duplicates, so that a test can prove
-- what was acted on. `effect`: taken (a task accepted), applied (a return or a
-- cancellation acted on), duplicate (message_id seen before), ignored (nothing to do).
CREATE TABLE IF NOT EXISTS journal (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id   TEXT    NOT NULL,
    type         TEXT    NOT NULL,
    task_id      TEXT,
    received_at  TEXT    NOT NULL,
    duplicate    INTEGER NOT NULL CHECK (duplicate IN (0, 1)),
    effect       TEXT    NOT NULL
);
CREATE INDEX IF NOT EXISTS journal_by_message ON journal (message_id);
CREATE INDEX IF NOT EXISTS journal_by_task ON journal (task_id);

-- The work still owed: `next_step` is the next report and `next_at` (unix seconds) when
-- it is due; both are NULL once the task is finished or cancelled.
CREATE TABLE IF NOT EXISTS tasks (
    task_id     TEXT    PRIMARY KEY,
    plan_id     TEXT    NOT NULL,
    state       TEXT    NOT NULL CHECK (state IN ('working', 'finished', 'cancelled')),
    round       INTEGER NOT NULL DEFAULT 0,
    next_step   TEXT    CHECK (next_step IN ('in_progress', 'done', 'rejected')),
    next_at     REAL,
    updated_at  TEXT    NOT NULL
);
CREATE INDEX IF NOT EXISTS tasks_due ON tasks (next_at) WHERE next_step IS NOT NULL;

-- Status reports, written before they are published so that a re-send after a crash
-- carries the same message_id and the gateway drops it as a duplicate.
-- `source_message_id` is the inbound message whose ack waits for this report.
CREATE TABLE IF NOT EXISTS reports (
    seq                INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id         TEXT    NOT NULL UNIQUE,
    task_id            TEXT    NOT NULL,
    plan_id            TEXT    NOT NULL,
    source_message_id  TEXT,
    status             TEXT    NOT NULL,
    comment            TEXT,
    reason             TEXT,
    reported_at        TEXT    NOT NULL,
    created_at         REAL    NOT NULL,
    published_at       TEXT
);
CREATE INDEX IF NOT EXISTS reports_unpublished ON reports (task_id) WHERE published_at IS NULL;
"""


def database_path(state_dir: Path, agency: str) -> Path:
    return Path(state_dir) / f"{agency}.sqlite3"


def open_database(path: Path) -> sqlite3.Connection:
    """Open (creating if needed) a body's file for the mock itself.

    Autocommit mode, because the store opens its transactions explicitly with
    BEGIN IMMEDIATE; WAL, so that a test can read the journal while the mock writes.
    synchronous=NORMAL survives a crash of the process, which is what the mock models.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA busy_timeout=5000")
    conn.executescript(_DDL)
    conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
    return conn


def open_read_only(path: Path) -> sqlite3.Connection:
    """Open a body's file for inspection without any chance of changing it."""
    if not path.exists():
        raise FileNotFoundError(f"no mock state at {path}")
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA busy_timeout=5000")
    return conn
