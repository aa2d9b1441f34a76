"""`gateway db backup` and `gateway db restore` on the SQLite store (issue 15)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gateway.cli import app

pytestmark = pytest.mark.integration


def run(db: Path, *args: str) -> tuple[int, str]:
    env = {"GATEWAY_DATABASE_URL": f"sqlite+aiosqlite:///{db}"}
    result = CliRunner().invoke(app, list(args), env=env)
    return result.exit_code, result.output


def clients(db: Path) -> list[str]:
    with sqlite3.connect(db) as conn:
        return [row[0] for row in conn.execute("SELECT name FROM api_clients ORDER BY name")]


def test_backup_while_writing_then_restore(tmp_path: Path) -> None:
    db = tmp_path / "gateway.sqlite3"
    assert run(db, "db", "upgrade")[0] == 0
    assert run(db, "clients", "add", "--name", "centre one", "--kind", "admin")[0] == 0

    # Another connection holds a write transaction open: the online backup still takes a
    # consistent copy (without the uncommitted row).
    writer = sqlite3.connect(db)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute(
        "INSERT INTO api_clients (id, name, kind, scope, key_prefix, key_hash, created_at, "
        "disabled) SELECT 'x', 'uncommitted', kind, scope, 'p', 'h', created_at, 0 "
        "FROM api_clients LIMIT 1"
    )
    code, out = run(db, "db", "backup", str(tmp_path / "copy.sqlite3"))
    writer.rollback()
    writer.close()
    assert code == 0, out
    assert "schema" in out and "rows" in out

    assert run(db, "clients", "add", "--name", "after the backup", "--kind", "admin")[0] == 0
    assert clients(db) == ["after the backup", "centre one"]

    code, out = run(db, "db", "restore", str(tmp_path / "copy.sqlite3"))
    assert code == 0, out
    assert clients(db) == ["centre one"]
    kept = next(tmp_path.glob("gateway.sqlite3.before-restore-*"))
    assert clients(kept) == ["after the backup", "centre one"]


def test_refusals_name_the_reason(tmp_path: Path) -> None:
    db = tmp_path / "gateway.sqlite3"
    assert run(db, "db", "upgrade")[0] == 0
    target = tmp_path / "exists.sqlite3"
    target.write_text("x")
    code, out = run(db, "db", "backup", str(target))
    assert code == 2 and "exists" in out

    junk = tmp_path / "junk.sqlite3"
    junk.write_bytes(b"not a database at all" * 100)
    code, out = run(db, "db", "restore", str(junk))
    assert code == 2 and "not a gateway store" in out

    empty = tmp_path / "empty.sqlite3"
    sqlite3.connect(empty).close()
    code, out = run(db, "db", "restore", str(empty))
    assert code == 2 and "gateway store" in out

    result = CliRunner().invoke(
        app,
        ["db", "backup", str(tmp_path / "pg.sqlite3")],
        env={"GATEWAY_DATABASE_URL": "postgresql+asyncpg://u@127.0.0.1/db"},
    )
    assert result.exit_code == 2 and "pg_dump" in result.output
