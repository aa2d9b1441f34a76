"""On PostgreSQL a committed outbox write wakes every relay, in whatever process it runs."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import pytest
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from contracts.clock import ManualClock
from gateway.broker.connection import BrokerLink
from gateway.broker.outbox_relay import OutboxRelay
from gateway.services import outbox
from gateway.store import bulk
from gateway.store.engine import is_sqlite
from gateway.store.tables import outbox as outbox_table
from tests.conftest import AMQP_URL

pytestmark = pytest.mark.integration


def _row(n: int) -> dict[str, object]:
    return dict(
        message_id=f"00000000-0000-7000-8000-{n:012d}",
        exchange="nowhere",
        routing_key="nobody",
        message_type="task.assigned",
        plan_id="plan-of-no-one",
        task_id=None,
        body="{}",
        created_at=datetime.now(UTC),
        attempts=0,
    )


async def _enqueue(conn: AsyncConnection, row: dict[str, object]) -> None:
    await outbox.enqueue_many(conn, [row])


async def _in_one_statement(conn: AsyncConnection, row: dict[str, object]) -> None:
    """As a submit group writes: the rows and the notification in one statement."""
    await bulk.insert_all(conn, [(outbox_table, [row])], notify=outbox.OUTBOX_CHANNEL)


@pytest.mark.parametrize("write", [_enqueue, _in_one_statement])
async def test_a_relay_wakes_at_the_commit_of_an_outbox_write(
    engine: AsyncEngine, write: Callable[[AsyncConnection, dict[str, object]], Awaitable[None]]
) -> None:
    if is_sqlite(str(engine.url)):
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's; on SQLite one process has the one relay")
    # A relay that would otherwise sleep for a minute between polls, as in a worker
    # process that serves no API and so is never woken directly.
    relay = OutboxRelay(
        engine, BrokerLink(AMQP_URL), ManualClock(datetime.now(UTC)), poll_seconds=60
    )
    listener = asyncio.create_task(relay._listen())
    try:
        await asyncio.sleep(1.0)  # the LISTEN is in place
        relay._wake.clear()
        async with engine.begin() as conn:
            await write(conn, _row(1))
            await asyncio.sleep(0.5)
            assert not relay._wake.is_set()  # nothing is announced before the commit
        async with asyncio.timeout(5):
            await relay._wake.wait()

        relay._wake.clear()
        with pytest.raises(RuntimeError):
            async with engine.begin() as conn:
                await write(conn, _row(2))
                raise RuntimeError("rolled back")
        await asyncio.sleep(1.0)
        assert not relay._wake.is_set()  # a rolled-back write wakes nobody
    finally:
        listener.cancel()
        await asyncio.gather(listener, return_exceptions=True)
