"""A task message its body's system keeps failing on is dead-lettered after the queue's
delivery limit, recorded as an incident, and its task marked failed."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from gateway.store.tables import incidents
from tests.integration.harness import Harness, eventually, plan_body

pytestmark = pytest.mark.integration


async def test_poison_task_is_dead_lettered_after_the_delivery_limit(harness: Harness) -> None:
    h = harness
    plan_id = (await h.submit(plan_body(h.centre, agencies=("health", "housing")))).json()["id"]
    queue = await h.channel.get_queue(h.topology.agency_queue("health"), ensure=False)

    deliveries = 0
    async with asyncio.timeout(10):
        while deliveries < h.topology.delivery_limit + 1:
            message = await queue.get(fail=False)
            if message is None:
                await asyncio.sleep(0.05)
                continue
            deliveries += 1
            await message.nack(requeue=True)  # the body's system crashes on it, every time

    async def failed() -> bool:
        tasks = (await h.plan(plan_id))["tasks"]
        return bool(next(t for t in tasks if t["agency"] == "health")["state"] == "failed")

    await eventually(failed)
    assert await queue.get(fail=False) is None  # gone from the work queue, not redelivered
    async with h.engine.connect() as conn:
        (incident,) = (await conn.execute(select(incidents))).all()
    assert incident.queue == h.topology.agency_queue("health")
    assert incident.message_type == "task.assigned"
    # The real count: the test's body failed on every one of the deliveries it counted.
    assert incident.error == f"delivery_limit after {deliveries} deliveries"
    plan = await h.plan(plan_id)
    health = next(t for t in plan["tasks"] if t["agency"] == "health")
    event = next(e for e in plan["timeline"] if e["type"] == "task_failed")
    assert event["task_id"] == health["id"] and event["actor"] == "gateway"
    housing = next(t for t in plan["tasks"] if t["agency"] == "housing")
    assert housing["state"] == "dispatched"  # the other body's task is untouched
    # The routing clock keeps running for the failed task: the breach must stay visible.
    routing = next(d for d in health["deadlines"] if d["kind"] == "routing")
    assert routing["met_at"] is None
