"""Writing the plan's timeline and the access log: who did what, when and why."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Table, insert
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.services import audit_log
from gateway.store import bulk
from gateway.store.tables import access_log, events
from gateway.store.tables import audit_log as audit_log_table

# Reads of a family's data that also go to the interagency log (besides every change).
AUDITED_ACCESS = frozenset({"reveal_iin"})


async def record(conn: AsyncConnection, **fields: Any) -> None:
    row = event_row(**fields)
    await conn.execute(insert(events).values(**row))
    await audit_log.record_many(conn, [_audited(row)])


async def record_many(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    if rows:
        await bulk.insert_all(conn, writes_of(rows))


def writes_of(rows: list[dict[str, Any]]) -> list[tuple[Table, list[dict[str, Any]]]]:
    """The events and their audit records, for `bulk.insert_all` beside other rows of
    the same transaction."""
    return [(events, rows), (audit_log_table, [_audited(row) for row in rows])]


def _audited(event: dict[str, Any]) -> dict[str, Any]:
    """Every timeline event is also an interagency record: who, what, when, which case.

    The reason and the event's data stay on the timeline (they may name people); the
    record keeps the states, which is what a body checks a hand-over or report against.
    """
    return audit_log.audit_row(
        at=event["at"],
        actor=event["actor"],
        action=event["type"],
        case_id=event["plan_id"],
        task_id=event.get("task_id"),
        data={k: event[k] for k in ("from_state", "to_state") if event.get(k) is not None},
    )


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
    if action in AUDITED_ACCESS:
        await audit_log.record(
            conn,
            at=at,
            actor=f"client:{client_id}",
            action=action,
            case_id=plan_id,
            task_id=task_id,
        )
