"""The deadline watcher: records warnings and breaches as they happen.

It scans the stored deadlines (indexed by their open state and time), so one scan costs
the same whether a thousand or a million plans are active. Each warning and breach is
written once, as a timeline event, in the same transaction that marks it; two watchers
running at once would at worst try the same row, and the `IS NULL` guard in the update
lets only one of them record it.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Column, ColumnElement, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from contracts.clock import Clock
from gateway.services import timeline
from gateway.store.tables import deadlines

log = logging.getLogger("gateway.watcher")

WATCHER_ACTOR = "gateway:deadline-watcher"


@dataclass(frozen=True)
class ScanResult:
    warnings: int
    breaches: int


async def scan(engine: AsyncEngine, now: datetime, *, limit: int = 1000) -> ScanResult:
    async with engine.begin() as conn:
        warned = await _record_crossings(
            conn,
            now,
            limit,
            mark=deadlines.c.warned_at,
            event_type="deadline_warning",
            crossed=(deadlines.c.warn_at <= now, deadlines.c.due_at >= now),
        )
        breached = await _record_crossings(
            conn,
            now,
            limit,
            mark=deadlines.c.breached_at,
            event_type="deadline_breached",
            crossed=(deadlines.c.due_at < now,),
        )
    if warned or breached:
        log.info("deadline scan: %d warning(s), %d breach(es)", warned, breached)
    return ScanResult(warned, breached)


async def _record_crossings(
    conn: AsyncConnection,
    now: datetime,
    limit: int,
    *,
    mark: Column[Any],
    event_type: str,
    crossed: tuple[ColumnElement[bool], ...],
) -> int:
    """Stamp each open deadline that crossed a point and put it on the timeline, once."""
    rows = (
        await conn.execute(
            select(deadlines)
            .where(deadlines.c.met_at.is_(None), mark.is_(None), *crossed)
            .limit(limit)
        )
    ).all()
    recorded = 0
    for row in rows:
        result = await conn.execute(
            update(deadlines)
            .where(deadlines.c.id == row.id, mark.is_(None))
            .values({mark.name: now})
        )
        if result.rowcount:
            recorded += 1
            await timeline.record(
                conn,
                plan_id=row.plan_id,
                task_id=row.task_id,
                at=now,
                actor=WATCHER_ACTOR,
                type=event_type,
                data={"kind": row.kind, "round": row.round, "due_at": row.due_at.isoformat()},
            )
    return recorded


async def run(engine: AsyncEngine, clock: Clock, poll_seconds: float) -> None:
    while True:
        try:
            await scan(engine, clock.now())
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("deadline scan failed; will retry")
        await asyncio.sleep(poll_seconds)
