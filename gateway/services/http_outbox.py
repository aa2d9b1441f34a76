"""Delivering outbox rows addressed to another organisation's REST system.

The one outbox carries these rows beside the AMQP messages: their `exchange` starts with
`http:` (the AMQP relay leaves them alone) and `message_type` names what to do. A row is
written in the transaction of the change that owes it, so an approved plan or an
accepted work report cannot lose its upload. This worker claims due rows with a lease
(the same columns and rule as the relay), calls the handler (an adapter call with an
idempotency key derived from the row's subject, so a retry after a lost answer creates
nothing twice), and marks the row published. A failure counts an attempt, keeps the
error and waits longer before the next try; the first failure of a row goes on the
case's timeline once, so the people watching the term see why it is late.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.services import timeline
from gateway.store.tables import outbox

log = logging.getLogger("gateway.http_outbox")

ACTOR = "gateway:http-outbox"
HTTP_PREFIX = "http:"
MAX_BACKOFF_SECONDS = 300.0

Handler = Callable[[dict[str, Any], datetime], Awaitable[None]]


class NotYet(Exception):
    """The row cannot go yet (e.g. a report before its plan is uploaded): retry later
    without counting it as the other system's failure."""


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(MAX_BACKOFF_SECONDS, 2.0 ** min(attempts, 10)))


async def _claim(engine: AsyncEngine, types: list[str], now: datetime, limit: int) -> list[Any]:
    async with engine.begin() as conn:
        rows = list(
            (
                await conn.execute(
                    select(outbox)
                    .where(
                        outbox.c.published_at.is_(None),
                        outbox.c.exchange.startswith(HTTP_PREFIX),
                        outbox.c.message_type.in_(types),
                        or_(outbox.c.lease_until.is_(None), outbox.c.lease_until < now),
                    )
                    .order_by(outbox.c.id)
                    .limit(limit)
                )
            ).all()
        )
        claimed = []
        for row in rows:
            done = await conn.execute(
                update(outbox)
                .where(outbox.c.id == row.id, outbox.c.published_at.is_(None))
                .where(or_(outbox.c.lease_until.is_(None), outbox.c.lease_until < now))
                .values(lease_until=now + timedelta(seconds=60))
            )
            if done.rowcount:
                claimed.append(row)
        return claimed


async def deliver(
    engine: AsyncEngine, handlers: dict[str, Handler], now: datetime, *, limit: int = 50
) -> int:
    """One pass: every due row whose handler is configured; returns how many were sent.

    A row whose system is not configured (no handler) stays in the outbox, unclaimed.
    """
    if not handlers:
        return 0
    sent = 0
    for row in await _claim(engine, sorted(handlers), now, limit):
        try:
            await handlers[row.message_type](json.loads(row.body), now)
        except NotYet as waiting:
            await _failed(engine, row, f"waiting: {waiting}", now, count=False)
            continue
        except Exception as error:  # any failure is retried; the error is kept
            log.info("delivery of %s %s failed: %s", row.message_type, row.message_id, error)
            await _failed(engine, row, f"{type(error).__name__}: {error}", now, count=True)
            continue
        async with engine.begin() as conn:
            await conn.execute(
                update(outbox)
                .where(outbox.c.id == row.id)
                .values(published_at=now, lease_until=None, attempts=outbox.c.attempts + 1)
            )
        sent += 1
    return sent


async def _failed(engine: AsyncEngine, row: Any, error: str, now: datetime, *, count: bool) -> None:
    attempts = row.attempts + (1 if count else 0)
    async with engine.begin() as conn:
        await conn.execute(
            update(outbox)
            .where(outbox.c.id == row.id)
            .values(
                attempts=attempts,
                last_error=error[:2000],
                lease_until=now + backoff(attempts if count else 2),
            )
        )
        if count and row.attempts == 0:
            await timeline.record(
                conn,
                plan_id=row.plan_id,
                at=now,
                actor=ACTOR,
                type="delivery_failed",
                reason=error[:300],
                data={"system": row.exchange.removeprefix(HTTP_PREFIX), "what": row.message_type},
            )
