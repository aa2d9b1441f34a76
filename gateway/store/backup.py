"""Backing up and restoring the embedded SQLite store with SQLite's online backup API.

The backup is taken page by page while the gateway keeps running and writing; SQLite
guarantees the copy is one consistent snapshot. A restore first checks that the file is a
sound gateway store (integrity check, a schema version), keeps the current file beside it,
and copies the backup in. Stop the gateway before a restore: a running process would go on
with what it had in memory.

PostgreSQL has its own tools for this (pg_dump / pg_restore; README, operations).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import make_url


class BackupError(Exception):
    pass


def sqlite_path(database_url: str) -> Path:
    url = make_url(database_url)
    if not url.drivername.startswith("sqlite"):
        raise BackupError(
            f"the store is {url.drivername}, not SQLite: use pg_dump and pg_restore "
            "(see README, operations)"
        )
    if not url.database or url.database == ":memory:":
        raise BackupError("the SQLite store is in memory; there is nothing to back up")
    return Path(url.database)


@dataclass(frozen=True)
class StoreSummary:
    schema_version: str
    tables: dict[str, int]


def summarise(path: Path) -> StoreSummary:
    """Check a store file and count its rows; raise BackupError when it is not sound."""
    if not path.is_file():
        raise BackupError(f"{path} does not exist")
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
            (check,) = db.execute("PRAGMA integrity_check").fetchone()
            if check != "ok":
                raise BackupError(f"{path} fails SQLite's integrity check: {check}")
            version = db.execute("SELECT version_num FROM alembic_version").fetchone()
            names = [
                row[0]
                for row in db.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table' "
                    "AND name NOT LIKE 'sqlite_%' AND name != 'alembic_version' ORDER BY name"
                )
            ]
            counts = {n: db.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0] for n in names}
    except sqlite3.DatabaseError as error:
        raise BackupError(f"{path} is not a gateway store: {error}") from None
    if version is None:
        raise BackupError(f"{path} has no schema version; it is not a gateway store")
    return StoreSummary(str(version[0]), counts)


def backup(database_url: str, target: Path) -> StoreSummary:
    """Copy the live store to `target` (which must not exist), consistently."""
    source = sqlite_path(database_url)
    if target.exists():
        raise BackupError(f"{target} exists; choose a new file")
    summarise(source)
    target.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(source) as live, sqlite3.connect(target) as copy:
        live.backup(copy, pages=1024)
    return summarise(target)


def restore(database_url: str, backup_file: Path) -> tuple[StoreSummary, Path | None]:
    """Replace the store with a checked backup; returns what was restored and where the
    previous store was kept."""
    wanted = summarise(backup_file)
    live = sqlite_path(database_url)
    kept: Path | None = None
    if live.exists():
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        kept = live.with_name(f"{live.name}.before-restore-{stamp}")
        with sqlite3.connect(live) as current, sqlite3.connect(kept) as copy:
            current.backup(copy)
    live.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(backup_file) as source, sqlite3.connect(live) as target:
        source.backup(target)
    restored = summarise(live)
    if restored.tables != wanted.tables:
        raise BackupError("the restored store does not match the backup; the previous one is kept")
    return restored, kept

