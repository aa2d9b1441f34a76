"""Where a body keeps its state on disk, and the shape of that state.

One SQLite file per body: the bodies are separate systems in reality, and separate files
let a test wipe or inspect one body without touching the others.
"""

from __future__ import annotations

import sqlite3
from enum import StrEnum
from pathlib import Path

SCHEMA_VERSION = 1


class Effect(StrEnum):
    """What a received message did, as the journal records it."""

    taken = "taken"  # a step assignment accepted as work
    withdrawn = "withdrawn"  # a withdrawal that cancelled work (or came before it)
    duplicate = "duplicate"  # message_id seen before
    ignored = "ignored"  # nothing to do: the step was known, or already decided and sent


class StepState(StrEnum):
    working = "working"  # taken; the decision is due at `due_at`
    decided = "decided"  # signed and recorded; not yet confirmed by the broker
    published = "published"  # the broker confirmed the decision
    withdrawn = "withdrawn"  # the gateway took the step back before it was sent


_DDL = """
-- Every message that reached the body, including duplicates, so that a test can prove
-- what was acted on.
CREATE TABLE IF NOT EXISTS journal (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id   TEXT    NOT NULL,
    type         TEXT    NOT NULL,
    case_id      TEXT    NOT NULL,
    step         TEXT    NOT NULL,
    round        INTEGER NOT NULL,
    received_at  TEXT    NOT NULL,
    effect       TEXT    NOT NULL
);
CREATE INDEX IF NOT EXISTS journal_by_message ON journal (message_id);
CREATE INDEX IF NOT EXISTS journal_by_case ON journal (case_id);

-- One row per visit of a step (case, step, round): taken once whatever envelope it came
-- in. `due_at` is on the body's clock (unix seconds); `fault` is what the admin API
-- imposed when the step was taken, kept so that a restart decides the same way. The
-- signed decision is stored before it is published, with its message id, so a re-send
-- after a crash is the same message and the gateway takes it once.
CREATE TABLE IF NOT EXISTS steps (
    case_id          TEXT    NOT NULL,
    step             TEXT    NOT NULL,
    round            INTEGER NOT NULL,
    message_id       TEXT,
    assignment       TEXT,
    state            TEXT    NOT NULL
                     CHECK (state IN ('working', 'decided', 'published', 'withdrawn')),
    taken_at         TEXT,
    due_at           REAL,
    fault            TEXT,
    decision_id      TEXT,
    decision         TEXT,
    decision_kind    TEXT,
    signer           TEXT,
    decided_at       TEXT,
    decided_real     REAL,
    published_at     TEXT,
    withdrawn_reason TEXT,
    updated_at       TEXT    NOT NULL,
    PRIMARY KEY (case_id, step, round)
);
CREATE INDEX IF NOT EXISTS steps_due ON steps (due_at) WHERE state = 'working';
CREATE INDEX IF NOT EXISTS steps_unsent ON steps (decided_real) WHERE state = 'decided';
"""


def database_path(state_dir: Path, body: str) -> Path:
    return Path(state_dir) / f"{body}.sqlite3"


def open_database(path: Path) -> sqlite3.Connection:
    """Open (creating if needed) a body's file for the mock itself.

    Autocommit mode, because the store opens its transactions explicitly with
    BEGIN IMMEDIATE; WAL, so that a test or the admin API can read while the body
    writes; synchronous=NORMAL survives a crash of the process, which is what is modelled.
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
