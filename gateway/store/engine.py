"""Opening the store: one async engine per process, tuned per backend."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from gateway.store import sqlite_inline


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def open_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    if is_sqlite(url):
        return _sqlite_engine(url)
    # No ping per checkout: it was a round trip before every transaction. A connection
    # the server dropped fails its first statement instead; SQLAlchemy then invalidates
    # the pool, and the callers already retry (the relay's next pass, the collector's
    # redelivery, a centre's retried submit under its Idempotency-Key). Connections are
    # recycled before a server or proxy idle timeout is likely to drop them.
    return create_async_engine(
        url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=False, pool_recycle=1800
    )


def _sqlite_engine(url: str) -> AsyncEngine:
    parsed = make_url(url)
    database = parsed.database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    # One connection, so writers queue in the event loop (FIFO, no cost while waiting)
    # instead of in SQLite's busy handler, which sleeps up to 100 ms between tries and
    # made every request wait on the slowest writer. SQLite has one writer anyway.
    # Statements run in the event loop's thread (gateway/store/sqlite_inline.py), so
    # the busy timeout is short: it is time the whole process waits.
    sqlite_inline.register()
    inline = parsed.set(drivername=f"sqlite+{sqlite_inline.DRIVER}")
    engine = create_async_engine(
        inline,
        connect_args={
            "timeout": sqlite_inline.BUSY_TIMEOUT_MS / 1000,
            "check_same_thread": False,
            "factory": sqlite_inline.InlineConnection,
        },
        pool_size=1,
        max_overflow=0,
        pool_timeout=120,
    )

    @event.listens_for(engine.sync_engine, "connect")
    def _pragmas(dbapi_conn: Any, _record: Any) -> None:
        # WAL lets readers (the API) run while a worker writes; the busy timeout turns a
        # momentary write lock into a wait instead of an error. Foreign keys are off by
        # default in SQLite.
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={sqlite_inline.BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _begin_immediate(conn: Any) -> None:
        # Take the write lock at BEGIN: a deferred transaction that reads and then writes
        # fails with "database is locked" instead of waiting when another writer got there.
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine
