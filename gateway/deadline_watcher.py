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

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.clock import Clock
from gateway.services import timeline
from gateway.store.tables import deadlines

log = logging.getLogger("gateway.watcher")

WATCHER_ACTOR = "gateway:deadline-watcher"


@dataclass(frozen=True)
class ScanResult:
    warnings: int
    breaches: int


async def scan(engine: AsyncEngine, now: datetime, *, limit: int = 1000) -> ScanResult:
    warned = breached = 0
    async with engine.begin() as conn:
        due_warnings = (
            await conn.execute(
                select(deadlines)
                .where(
                    deadlines.c.met_at.is_(None),
                    deadlines.c.warned_at.is_(None),
                    deadlines.c.warn_at <= now,
                    deadlines.c.due_at >= now,
                )
                .limit(limit)
            )
        ).all()
        for row in due_warnings:
            result = await conn.execute(
                update(deadlines)
                .where(deadlines.c.id == row.id, deadlines.c.warned_at.is_(None))
                .values(warned_at=now)
            )
            if result.rowcount:
                warned += 1
                await timeline.record(
                    conn,
                    plan_id=row.plan_id,
                    task_id=row.task_id,
                    at=now,
                    actor=WATCHER_ACTOR,
                    type="deadline_warning",
                    data={"kind": row.kind, "round": row.round, "due_at": row.due_at.isoformat()},
                )
        due_breaches = (
            await conn.execute(
                select(deadlines)
                .where(
                    deadlines.c.met_at.is_(None),
                    deadlines.c.breached_at.is_(None),
                    deadlines.c.due_at < now,
                )
                .limit(limit)
            )
        ).all()
        for row in due_breaches:
            result = await conn.execute(
                update(deadlines)
                .where(deadlines.c.id == row.id, deadlines.c.breached_at.is_(None))
                .values(breached_at=now)
            )
            if result.rowcount:
                breached += 1
                await timeline.record(
                    conn,
                    plan_id=row.plan_id,
                    task_id=row.task_id,
                    at=now,
                    actor=WATCHER_ACTOR,
                    type="deadline_breached",
                    data={"kind": row.kind, "round": row.round, "due_at": row.due_at.isoformat()},
                )
    if warned or breached:
        log.info("deadline scan: %d warning(s), %d breach(es)", warned, breached)
    return ScanResult(warned, breached)


async def run(engine: AsyncEngine, clock: Clock, poll_seconds: float) -> None:
    while True:
        try:
            await scan(engine, clock.now())
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("deadline scan failed; will retry")
        await asyncio.sleep(poll_seconds)
