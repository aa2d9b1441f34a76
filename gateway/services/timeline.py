"""Writing the plan's timeline and the access log: who did what, when and why."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.store.tables import access_log, events


async def record(conn: AsyncConnection, **fields: Any) -> None:
    await conn.execute(insert(events).values(**event_row(**fields)))


async def record_many(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    if rows:
        await conn.execute(insert(events), rows)


def event_row(
    *,
    plan_id: str,
    at: datetime,
    actor: str,
    type: str,
    task_id: str | None = None,
    from_state: str | None = None,
    to_state: str | None = None,
    reason: str | None = None,
    data: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return dict(
        plan_id=plan_id,
        task_id=task_id,
        at=at,
        actor=actor,
        type=type,
        from_state=from_state,
        to_state=to_state,
        reason=reason,
        data=data or {},
    )


async def record_access(
    conn: AsyncConnection,
    *,
    client_id: str,
    action: str,
    at: datetime,
    plan_id: str | None = None,
    task_id: str | None = None,
) -> None:
    """Every read or change of a family's data is attributable to a calling system."""
    await conn.execute(
        insert(access_log).values(
            at=at, client_id=client_id, action=action, plan_id=plan_id, task_id=task_id
        )
    )
