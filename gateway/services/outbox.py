"""Queueing a message in the same transaction as the change that caused it.

On PostgreSQL the same transaction also sends a NOTIFY on `OUTBOX_CHANNEL`: PostgreSQL
delivers it when (and only if) the transaction commits, so every relay listening, in
this process or another worker, wakes at the commit instead of at its next poll.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway import tracing
from gateway.store import bulk
from gateway.store.tables import outbox

#: The PostgreSQL channel a committed outbox write is announced on (see the relay).
OUTBOX_CHANNEL = "gateway_outbox"
_NOTIFY = bulk.Statement.of(f"NOTIFY {OUTBOX_CHANNEL}")


async def enqueue(conn: AsyncConnection, envelope: BaseModel, **fields: Any) -> None:
    await conn.execute(insert(outbox).values(**message_row(envelope, **fields)))
    await announce(conn)


async def enqueue_many(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    if rows:
        await bulk.insert_many(conn, outbox, rows)
        await announce(conn)


async def announce(conn: AsyncConnection) -> None:
    """Wake the relays of every process when the transaction commits (LISTEN/NOTIFY)."""
    # PostgreSQL folds repeated identical notifications of one transaction into one.
    if conn.dialect.name == "postgresql":
        await bulk.fetch(conn, _NOTIFY, ())


def message_row(
    envelope: BaseModel,
    *,
    message_id: str,
    message_type: str,
    exchange: str,
    routing_key: str,
    plan_id: str,
    task_id: str | None,
    now: datetime,
) -> dict[str, Any]:
    return dict(
        message_id=message_id,
        exchange=exchange,
        routing_key=routing_key,
        message_type=message_type,
        plan_id=plan_id,
        task_id=task_id,
        body=envelope.model_dump_json(),
        created_at=now,
        attempts=0,
        trace_context=tracing.carrier(),
    )
