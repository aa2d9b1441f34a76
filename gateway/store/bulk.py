"""Many rows written straight through the driver, inside SQLAlchemy's transaction.

The hot path writes a few rows of the same shape per task (timeline events, audit
records, deadlines, task updates, inbox claims, outbox marks). Through SQLAlchemy each
executemany costs far more in Python than in the database: the statement's cache key is
generated again, every row's parameters are processed one by one (the timestamp type
decorator, the JSON serializer), and on PostgreSQL the asyncio layer hops through a
greenlet per statement. Profiles of the bench put SQLAlchemy at a fifth to a quarter of
the gateway's CPU. Here the SQL is built once per table and column set, each value is
converted by a plain function chosen once per column, and the rows go to `asyncpg`'s
pipelined `executemany` or to `sqlite3`'s `executemany` in one call.

The rows are stored exactly as SQLAlchemy stores them (`gateway.store.tables`):
timestamps as naive UTC (on SQLite the text SQLAlchemy writes), JSON as text, dates as
dates (on SQLite ISO text), so everything else reads them through the tables as before.

The statements join the transaction of the `AsyncConnection` they are given, which
must be inside `engine.begin()`. SQLAlchemy's asyncpg adapter begins its transaction
lazily, at its first statement; `_driver` begins it here when no statement has run yet,
through the adapter's own mutex, so a statement of ours is never outside the
transaction it was meant for. Errors come up as the driver raises them (`asyncpg`'s or
`sqlite3`'s), not wrapped by SQLAlchemy: callers of these functions catch any
exception, not only SQLAlchemy's.
"""

from __future__ import annotations

import json
import re
from collections import namedtuple
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import JSON, Boolean, Date, Table
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.store.tables import UtcDateTime

Convert = Callable[[Any], Any]

_PG = postgresql.dialect()  # type: ignore[no-untyped-call]


@dataclass(frozen=True)
class Statement:
    """One statement in both dialects: written with `$1`-style parameters (PostgreSQL's)
    and rewritten once as SQLite's numbered `?1`."""

    postgresql: str
    sqlite: str

    @classmethod
    def of(cls, sql: str) -> Statement:
        return cls(postgresql=sql, sqlite=re.sub(r"\$(\d+)", r"?\1", sql))

    def text(self, dialect: str) -> str:
        return self.sqlite if dialect == "sqlite" else self.postgresql


def _same(value: Any) -> Any:
    return value


def pg_timestamp(value: datetime | None) -> datetime | None:
    """An aware timestamp as the store keeps it on PostgreSQL: naive UTC."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("naive datetime given to the store")
    return value.astimezone(UTC).replace(tzinfo=None)


def sqlite_timestamp(value: datetime | None) -> str | None:
    """An aware timestamp as SQLAlchemy's SQLite DATETIME stores it: naive UTC text with
    microseconds always present, so that text order is time order."""
    naive = pg_timestamp(value)
    return None if naive is None else naive.isoformat(sep=" ", timespec="microseconds")


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value)


def _sqlite_date(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def _sqlite_bool(value: bool | None) -> int | None:
    return None if value is None else int(value)


def timestamp_for(dialect: str) -> Convert:
    """The conversion of a timestamp parameter of a hand-written `Statement`."""
    return sqlite_timestamp if dialect == "sqlite" else pg_timestamp


def _converter(column_type: Any, dialect: str) -> Convert:
    sqlite = dialect == "sqlite"
    if isinstance(column_type, UtcDateTime):
        return timestamp_for(dialect)
    if isinstance(column_type, JSON):
        return _json
    if sqlite and isinstance(column_type, Date):
        return _sqlite_date
    if sqlite and isinstance(column_type, Boolean):
        return _sqlite_bool
    return _same


@lru_cache(maxsize=256)
def converters(
    table: Table, columns: tuple[str, ...], dialect: str
) -> tuple[tuple[str, Convert], ...]:
    """(column, conversion) for the named columns of `table`, for a hand-written
    `Statement` that sets them."""
    return tuple((c, _converter(table.c[c].type, dialect)) for c in columns)


@lru_cache(maxsize=256)
def _insert_sql(table: Table, columns: tuple[str, ...], dialect: str) -> str:
    marks = ", ".join(f"${i}" for i in range(1, len(columns) + 1))
    names = ", ".join(f'"{c}"' for c in columns)
    return Statement.of(f'INSERT INTO "{table.name}" ({names}) VALUES ({marks})').text(dialect)


def _pg_read_timestamp(value: datetime | None) -> datetime | None:
    return None if value is None else value.replace(tzinfo=UTC)


def _sqlite_read_timestamp(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value).replace(tzinfo=UTC)


def _sqlite_read_json(value: str | None) -> Any:
    # Not on PostgreSQL: there SQLAlchemy's asyncpg dialect gives the connection a JSON
    # codec that takes text in (what `_json` makes) and hands decoded values out.
    return None if value is None else json.loads(value)


def _sqlite_read_date(value: str | None) -> date | None:
    return None if value is None else date.fromisoformat(value)


def _sqlite_read_bool(value: int | None) -> bool | None:
    return None if value is None else bool(value)


def _reader(column_type: Any, dialect: str) -> Convert:
    sqlite = dialect == "sqlite"
    if isinstance(column_type, UtcDateTime):
        return _sqlite_read_timestamp if sqlite else _pg_read_timestamp
    if sqlite and isinstance(column_type, JSON):
        return _sqlite_read_json
    if sqlite and isinstance(column_type, Date):
        return _sqlite_read_date
    if sqlite and isinstance(column_type, Boolean):
        return _sqlite_read_bool
    return _same


@lru_cache(maxsize=64)
def column_list(table: Table) -> str:
    """Every column of `table`, in its order: what a statement for `fetch_rows` selects
    (or returns)."""
    return ", ".join(f'"{c.name}"' for c in table.columns)


@lru_cache(maxsize=128)
def _row_shape(table: Table, dialect: str) -> tuple[Any, tuple[Convert, ...]]:
    row_type = namedtuple(f"{table.name}_row", [c.name for c in table.columns])  # type: ignore[misc]
    return row_type, tuple(_reader(c.type, dialect) for c in table.columns)


def array(conn: AsyncConnection, values: Iterable[Any]) -> Any:
    """Many values as one parameter, so that a statement's text does not change with
    their number: a list for a PostgreSQL array (`= ANY($1::varchar[])`), JSON text on
    SQLite (`IN (SELECT value FROM json_each(?1))`)."""
    items = list(values)
    return json.dumps(items) if conn.dialect.name == "sqlite" else items


def _runs(
    table: Table, rows: Sequence[Mapping[str, Any]], dialect: str
) -> Iterable[tuple[tuple[str, ...], list[tuple[Any, ...]]]]:
    """The rows cut into runs of the same keys, each with its values converted."""
    start = 0
    while start < len(rows):
        columns = tuple(rows[start])
        end = start + 1
        while end < len(rows) and len(rows[end]) == len(columns) and tuple(rows[end]) == columns:
            end += 1
        pairs = converters(table, columns, dialect)
        values = [tuple(convert(row[name]) for name, convert in pairs) for row in rows[start:end]]
        yield columns, values
        start = end


async def insert_many(
    conn: AsyncConnection, table: Table, rows: Sequence[Mapping[str, Any]]
) -> None:
    """Insert `rows` (mappings keyed by the table's column names), in their order.

    Rows with the same keys go in one executemany; a row with other keys starts the
    next one, so the ids an autoincrement gives still follow the rows' order.
    """
    dialect = conn.dialect.name
    for columns, values in _runs(table, rows, dialect):
        await execute_many(conn, _insert_sql(table, columns, dialect), values)


async def insert_all(
    conn: AsyncConnection,
    writes: Sequence[tuple[Table, Sequence[Mapping[str, Any]]]],
    *,
    notify: str | None = None,
) -> None:
    """Insert the rows of several tables, as `insert_many` does each.

    On PostgreSQL all of them go in one statement, one round trip: an `INSERT … SELECT
    FROM unnest(…)` per table in a `WITH`, each column's values one array parameter.
    A submit group writes six tables: one round trip instead of six took submit p50 from
    18-20 to 13-16 ms at `--rate 150` on PostgreSQL (bench/README.md, session 9), and
    every await saved is one wait less for the busy event loop. The statement's text depends
    only on the tables and column sets, so asyncpg prepares it once. The foreign keys
    hold: PostgreSQL checks them when the whole statement is done. Within a table the
    rows go in array order, and a table's later runs of other keys wait for its earlier
    ones (`_insert_all_sql`), so ids still follow the rows' order. On SQLite, where a
    statement costs no round trip, each table is its own `executemany`.

    ``notify`` names a LISTEN channel to notify when the transaction commits, if any
    row was written. On
    PostgreSQL the statement's final SELECT does it (`pg_notify`), so a submit group's
    notification costs no round trip of its own; SQLite has no LISTEN and ignores it.
    """
    dialect = conn.dialect.name
    if dialect != "postgresql":
        for table, rows in writes:
            await insert_many(conn, table, rows)
        return
    shape: list[tuple[Table, tuple[str, ...]]] = []
    args: list[list[Any]] = []
    for table, rows in writes:
        for columns, values in _runs(table, rows, dialect):
            shape.append((table, columns))
            args.extend(list(column) for column in zip(*values, strict=True))
    if not shape:
        return  # nothing written, nothing to announce
    adapted = _asyncpg_adapter(conn)
    async with adapted._execute_mutex:
        await _begun(adapted)
        await adapted._connection.execute(_insert_all_sql(tuple(shape), notify), *args)


@lru_cache(maxsize=64)
def _insert_all_sql(shape: tuple[tuple[Table, tuple[str, ...]], ...], notify: str | None) -> str:
    parts: list[str] = []
    number = 0
    last_of: dict[str, int] = {}
    for index, (table, columns) in enumerate(shape):
        arrays: list[str] = []
        values: list[str] = []
        for name in columns:
            number += 1
            column_type = table.c[name].type
            if isinstance(column_type, JSON):  # given as text (`_json`), as everywhere here
                arrays.append(f"${number}::text[]")
                values.append(f'"{name}"::json')
            else:
                arrays.append(f"${number}::{column_type.compile(dialect=_PG)}[]")
                values.append(f'"{name}"')
        names = ", ".join(f'"{name}"' for name in columns)
        # The parts of a WITH run in no set order. A second run of rows of one table
        # waits for the first (a subquery on it is evaluated once, before its own first
        # row), so that the table's ids follow the rows' order across runs too.
        after = last_of.get(table.name)
        wait = "" if after is None else f" WHERE (SELECT count(*) FROM w{after}) >= 0"
        last_of[table.name] = index
        parts.append(
            f'w{index} AS (INSERT INTO "{table.name}" ({names}) SELECT {", ".join(values)} '
            f"FROM unnest({', '.join(arrays)}) AS u({names}){wait} RETURNING 1)"
        )
    # The channel is one of our constants, never input; quoted as a literal all the same.
    last = "1" if notify is None else "pg_notify('" + notify.replace("'", "''") + "', '')"
    return f"WITH {', '.join(parts)} SELECT {last}"


async def execute_many(
    conn: AsyncConnection, sql: str | Statement, rows: Iterable[Sequence[Any]]
) -> None:
    """Run one statement once per row of already converted values."""
    dialect = conn.dialect.name
    text = sql.text(dialect) if isinstance(sql, Statement) else sql
    batch = list(rows)
    if not batch:
        return
    if dialect == "sqlite":
        sqlite_connection = _sqlite(conn)
        sqlite_connection.executemany(text, batch)
        return
    adapted = _asyncpg_adapter(conn)
    async with adapted._execute_mutex:
        await _begun(adapted)
        await adapted._connection.executemany(text, batch)


async def fetch(conn: AsyncConnection, sql: Statement, args: Sequence[Any]) -> list[Sequence[Any]]:
    """Run one statement and return its rows as tuples of the driver's values."""
    dialect = conn.dialect.name
    text = sql.text(dialect)
    if dialect == "sqlite":
        return list(_sqlite(conn).execute(text, tuple(args)).fetchall())
    adapted = _asyncpg_adapter(conn)
    async with adapted._execute_mutex:
        await _begun(adapted)
        return list(await adapted._connection.fetch(text, *args))


async def fetch_rows(
    conn: AsyncConnection, table: Table, sql: Statement, args: Sequence[Any]
) -> list[Any]:
    """Run a statement that selects or returns `column_list(table)` and give its rows as
    SQLAlchemy's would be: named tuples (`row.id`, `row._asdict()`) of the values the
    table's types read (aware UTC timestamps, decoded JSON, dates, booleans)."""
    row_type, readers = _row_shape(table, conn.dialect.name)
    return [
        row_type(*(read(value) for read, value in zip(readers, row, strict=True)))
        for row in await fetch(conn, sql, args)
    ]


def _fairy(conn: AsyncConnection) -> Any:
    sync = conn.sync_connection
    if sync is None or sync.closed:
        raise RuntimeError("bulk statements need a started connection inside engine.begin()")
    if not sync.in_transaction():
        raise RuntimeError("bulk statements must run inside a transaction (engine.begin())")
    return sync.connection


def _sqlite(conn: AsyncConnection) -> Any:
    """The `sqlite3` connection (`gateway.store.sqlite_inline`): its BEGIN IMMEDIATE has
    run already, at `engine.begin()`, so a statement here is inside the transaction."""
    return _fairy(conn).driver_connection


def _asyncpg_adapter(conn: AsyncConnection) -> Any:
    return _fairy(conn).dbapi_connection


async def _begun(adapted: Any) -> None:
    """Begin the adapter's transaction if no statement has yet (see the module)."""
    if adapted._transaction is None:
        await adapted._start_transaction()
        if adapted._transaction is None and adapted.isolation_level != "autocommit":
            raise RuntimeError("the store's transaction did not begin")
