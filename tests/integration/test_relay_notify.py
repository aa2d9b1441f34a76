"""On PostgreSQL a committed outbox write wakes every relay, in whatever process it runs."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts.clock import ManualClock
from gateway.broker.connection import BrokerLink
from gateway.broker.outbox_relay import OutboxRelay
from gateway.services import outbox
from gateway.store.engine import is_sqlite
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


async def test_a_relay_wakes_at_the_commit_of_an_outbox_write(engine: AsyncEngine) -> None:
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
            await outbox.enqueue_many(conn, [_row(1)])
            await asyncio.sleep(0.5)
            assert not relay._wake.is_set()  # nothing is announced before the commit
        async with asyncio.timeout(5):
            await relay._wake.wait()

        relay._wake.clear()
        with pytest.raises(RuntimeError):
            async with engine.begin() as conn:
                await outbox.enqueue_many(conn, [_row(2)])
                raise RuntimeError("rolled back")
        await asyncio.sleep(1.0)
        assert not relay._wake.is_set()  # a rolled-back write wakes nobody
    finally:
        listener.cancel()
        await asyncio.gather(listener, return_exceptions=True)
