"""Live updates for a signed-in centre: Server-Sent Events from the timeline.

Every change to a plan is already written to the `events` table (reports, reviews,
dispatches, and the watcher's `deadline_warning` / `deadline_breached`), in the same
transaction as the change. So the stream only has to poll that table for rows newer than
the last one it sent, which works the same with one process or several behind a
balancer, and on SQLite and PostgreSQL alike, with no extra broker subscription.

Each poll is one short statement on a pooled connection, never a held transaction: the
SQLite store has a single connection that every writer needs too.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable

from sqlalchemy import exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.store.tables import events, plans, tasks

POLL_SECONDS = 1.0
HEARTBEAT_SECONDS = 15.0
BATCH = 500
LOOKBACK = 100


async def latest_event_id(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        value = (await conn.execute(select(func.max(events.c.id)))).scalar()
    return int(value or 0)


async def changes_since(
    engine: AsyncEngine, centre: str, after: int, seen: set[int]
) -> dict[str, list[str]]:
    """Plan id → event types of the centre's events not yet seen.

    Ids come from a sequence, but on PostgreSQL a transaction that took a lower id can
    commit after one that took a higher id; the query looks back LOOKBACK ids past the
    newest seen, and `seen` keeps such a late row from being missed or sent twice.
    """
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                select(events.c.id, events.c.plan_id, events.c.type)
                .join(plans, plans.c.id == events.c.plan_id)
                .where(
                    events.c.id > after - LOOKBACK,
                    or_(
                        plans.c.centre == centre,
                        # a chain body follows the cases where it has (had) a step
                        exists().where(tasks.c.plan_id == plans.c.id, tasks.c.agency == centre),
                    ),
                )
                .order_by(events.c.id)
                .limit(BATCH)
            )
        ).all()
    changed: dict[str, list[str]] = {}
    for row in rows:
        if row.id in seen:
            continue
        seen.add(row.id)
        types = changed.setdefault(row.plan_id, [])
        if row.type not in types:
            types.append(row.type)
    return changed


def sse(event: str, data: object, event_id: int | None = None) -> str:
    lines = [f"event: {event}"]
    if event_id is not None:
        lines.append(f"id: {event_id}")
    lines.append("data: " + json.dumps(data, ensure_ascii=False))
    return "\n".join(lines) + "\n\n"


async def plan_changes(
    engine: AsyncEngine,
    centre: str,
    *,
    after: int | None = None,
    disconnected: Callable[[], Awaitable[bool]] | None = None,
    poll_seconds: float = POLL_SECONDS,
    heartbeat_seconds: float = HEARTBEAT_SECONDS,
) -> AsyncIterator[str]:
    """Yield one `plan` event per changed plan, until the client goes away.

    `after` is the browser's Last-Event-ID on reconnect, so changes made while the
    connection was down are still sent; a fresh connection starts from now.
    """
    last = after if after is not None else await latest_event_id(engine)
    seen: set[int] = set(range(max(0, last - LOOKBACK), last + 1))
    yield "retry: 3000\n\n" + sse("ready", {"after": last}, last)
    quiet_since = time.monotonic()
    while True:
        if disconnected is not None and await disconnected():
            return
        changed = await changes_since(engine, centre, last, seen)
        last = max(seen)
        seen.difference_update({i for i in seen if i < last - LOOKBACK})
        for plan_id, types in changed.items():
            yield sse("plan", {"plan_id": plan_id, "types": types}, last)
            quiet_since = time.monotonic()
        if time.monotonic() - quiet_since >= heartbeat_seconds:
            # A comment line: keeps proxies from closing an idle connection.
            yield ": keep-alive\n\n"
            quiet_since = time.monotonic()
        await asyncio.sleep(poll_seconds)
