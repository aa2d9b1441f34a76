"""`python -m bench.store_writes [URL]`: the CPU a transaction of timeline rows costs,
written through SQLAlchemy and through the driver (`gateway.store.bulk`), side by side.

The whole-system bench varies by ±20 % from one minute to the next on a shared machine,
more than a change to one statement moves it; this measures that statement alone, in
one process, so the two ways are compared on the same store in the same minute. It
writes into a throwaway plan and deletes it afterwards. URL: a store URL (default: the
gateway's `GATEWAY_DATABASE_URL`); the store is migrated first, as `gateway serve` does.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import typer
from sqlalchemy import delete, insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from gateway.config import Settings
from gateway.services import timeline
from gateway.store import bulk
from gateway.store.engine import open_engine
from gateway.store.migrate import upgrade
from gateway.store.tables import events, plans

Write = Callable[[AsyncConnection, list[dict[str, Any]]], Awaitable[Any]]

WAYS: dict[str, Write] = {
    "sqlalchemy": lambda conn, rows: conn.execute(insert(events), rows),
    "driver": lambda conn, rows: bulk.insert_many(conn, events, rows),
}


async def _cpu_per_transaction(
    engine: AsyncEngine, write: Write | None, rows: list[dict[str, Any]], rounds: int
) -> float:
    """Microseconds of this process's CPU per transaction; `write` None: an empty one."""
    started = time.process_time()
    for _ in range(rounds):
        async with engine.begin() as conn:
            if write is not None:
                await write(conn, rows)
    return (time.process_time() - started) / rounds * 1e6


async def measure(url: str, sizes: tuple[int, ...], rounds: int, repeats: int) -> list[str]:
    engine = open_engine(url)
    lines: list[str] = []
    plan_id = str(uuid.uuid4())
    try:
        await upgrade(engine)
        now = datetime.now(UTC)
        async with engine.begin() as conn:
            await conn.execute(
                insert(plans).values(
                    id=plan_id, flow="ipr", centre="bench-store-writes", status="active",
                    approved_at=now, created_at=now, family={}, grounds=[], created_by="bench",
                )
            )  # fmt: skip
        empty = min([await _cpu_per_transaction(engine, None, [], rounds) for _ in range(repeats)])
        lines.append(f"empty transaction      {empty:7.0f} µs CPU")
        for size in sizes:
            rows = [
                timeline.event_row(
                    plan_id=plan_id, task_id="bench", at=now, actor="agency:bench",
                    type="task_received", from_state="dispatched", to_state="received", data={},
                )
                for _ in range(size)
            ]  # fmt: skip
            for way in WAYS.values():  # warm up: compiled and prepared statements
                await _cpu_per_transaction(engine, way, rows, 10)
            costs = {
                name: min(
                    [await _cpu_per_transaction(engine, way, rows, rounds) for _ in range(repeats)]
                )
                - empty
                for name, way in WAYS.items()
            }
            lines.append(
                f"{size:3} event rows         "
                + "  ".join(f"{name} {cost:6.0f} µs" for name, cost in costs.items())
                + f"  (driver / sqlalchemy {costs['driver'] / costs['sqlalchemy']:.2f})"
            )
    finally:
        async with engine.begin() as conn:
            await conn.execute(delete(events).where(events.c.plan_id == plan_id))
            await conn.execute(delete(plans).where(plans.c.id == plan_id))
        await engine.dispose()
    return lines


def main(
    url: str = typer.Argument("", help="Store URL; default GATEWAY_DATABASE_URL."),
    rounds: int = typer.Option(200, help="Transactions per measurement."),
    repeats: int = typer.Option(3, help="Measurements per way; the least is printed."),
) -> None:
    """Print the CPU a transaction's insert of timeline rows costs, beyond an empty
    transaction, both ways (the least of `repeats` measurements of `rounds`)."""
    target = url or Settings().database_url
    typer.echo(f"store {target.split('://')[0]}, CPU of this process beyond an empty transaction")
    for line in asyncio.run(measure(target, (1, 4, 40), rounds, repeats)):
        typer.echo(line)


if __name__ == "__main__":
    typer.run(main)
