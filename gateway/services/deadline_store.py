"""Storing deadlines when their clock starts, and stopping the clock when met."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert, update
from sqlalchemy.ext.asyncio import AsyncConnection

from contracts.plans import DeadlineKind
from gateway.domain.deadlines import Deadline
from gateway.store import bulk
from gateway.store.tables import deadlines


async def open_deadline(
    conn: AsyncConnection,
    deadline: Deadline,
    *,
    plan_id: str,
    task_id: str | None,
    met_at: datetime | None = None,
) -> None:
    await conn.execute(insert(deadlines).values(**deadline_row(deadline, plan_id, task_id, met_at)))


async def open_many(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    if rows:
        await bulk.insert_many(conn, deadlines, rows)


def deadline_row(
    deadline: Deadline, plan_id: str, task_id: str | None, met_at: datetime | None = None
) -> dict[str, Any]:
    return dict(
        plan_id=plan_id,
        task_id=task_id,
        kind=deadline.kind.value,
        round=deadline.round,
        starts_at=deadline.starts_at,
        warn_at=deadline.warn_at,
        due_at=deadline.due_at,
        calendar_version=deadline.calendar_version,
        met_at=met_at,
        warned_at=None,
        breached_at=None,
    )


async def meet(
    conn: AsyncConnection,
    *,
    task_id: str,
    kinds: tuple[DeadlineKind, ...],
    at: datetime,
) -> None:
    """Stop the task's open clocks of the given kinds at `at`."""
    await conn.execute(
        update(deadlines)
        .where(
            deadlines.c.task_id == task_id,
            deadlines.c.kind.in_([k.value for k in kinds]),
            deadlines.c.met_at.is_(None),
        )
        .values(met_at=at)
    )
