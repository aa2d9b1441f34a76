"""SQLite run in the event loop's own thread, under SQLAlchemy's asyncio API.

aiosqlite hands every statement to a thread of its own and back: a queue put, a
future, a wake-up of the event loop through its self-pipe. Profiles of the hot path put
that round trip (aiosqlite, asyncio's cross-thread callbacks) at a quarter of the
gateway's CPU, several times what SQLite itself spends on the statement, which on a
local file in WAL mode takes microseconds. Here the standard library's `sqlite3` runs
the statement in place, inside the greenlet SQLAlchemy's asyncio layer already runs the
synchronous engine in, so no thread is involved.

What this gives up: a statement blocks the event loop while it runs. On the gateway's
store that is microseconds, except when another *process* holds SQLite's write lock,
when `BEGIN IMMEDIATE` waits in SQLite's busy handler; `gateway serve` is the only
writer of a SQLite store in normal running, so the wait is for the short transactions
of an operator's command (`gateway clients ...`, `gateway db backup`). The wait is
bounded by `BUSY_TIMEOUT_MS`. PostgreSQL, the store for more than one process, keeps
asyncpg.

Connections are checked out through SQLAlchemy's asyncio-aware queue pool, so a
coroutine waiting for the store's one connection waits in the event loop, not in a
lock.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite
from sqlalchemy.pool import AsyncAdaptedQueuePool, Pool
from sqlalchemy.util import await_

DRIVER = "inline"
"""The driver name: `sqlite+inline:///path`."""

BUSY_TIMEOUT_MS = 5000
"""How long a statement waits for another process's write lock before it fails."""


class SQLiteDialectInline(SQLiteDialect_pysqlite):
    """pysqlite, declared usable from `create_async_engine` (see the module)."""

    driver = DRIVER
    is_async = True
    supports_statement_cache = True

    @classmethod
    def get_pool_class(cls, url: Any) -> type[Pool]:
        return AsyncAdaptedQueuePool

    # SQLAlchemy's asyncio layer checks that a statement's execution awaited something
    # (a sync driver used by mistake would otherwise block unnoticed); here it is by
    # design, so each execution yields once to the coroutine that runs it. Awaiting a
    # finished coroutine does not go through the event loop.
    def do_execute(self, cursor: Any, statement: Any, parameters: Any, context: Any = None) -> None:
        super().do_execute(cursor, statement, parameters, context)  # type: ignore[no-untyped-call]
        await_(_done())

    def do_executemany(
        self, cursor: Any, statement: Any, parameters: Any, context: Any = None
    ) -> None:
        super().do_executemany(cursor, statement, parameters, context)  # type: ignore[no-untyped-call]
        await_(_done())

    def do_execute_no_params(self, cursor: Any, statement: Any, context: Any = None) -> None:
        super().do_execute_no_params(cursor, statement, context)  # type: ignore[no-untyped-call]
        await_(_done())


async def _done() -> None:
    return None


class InlineCursor(sqlite3.Cursor):
    """A `sqlite3` cursor that answers the asyncio layer's soft close.

    SQLAlchemy's asyncio results close an async driver's cursor early, keeping only its
    description; a `sqlite3` cursor holds nothing worth releasing early, so this is a
    no-op and the cursor closes with its result.
    """

    async def _async_soft_close(self) -> None:
        return None


class InlineConnection(sqlite3.Connection):
    """A `sqlite3` connection whose cursors are `InlineCursor`s (`connect(factory=...)`)."""

    def cursor(self, factory: Any = InlineCursor) -> InlineCursor:  # type: ignore[override]
        return super().cursor(factory)  # type: ignore[no-any-return]


def register() -> None:
    """Make `sqlite+inline` known to SQLAlchemy's URL registry (idempotent)."""
    from sqlalchemy.dialects import registry

    registry.register(f"sqlite.{DRIVER}", __name__, "SQLiteDialectInline")
