"""The gateway's parts and the mock bodies in-process on a given broker URL (one node or
a cluster's list), for the tests that restart or kill the broker under a running flow."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from mocks.agencies.config import AgencyBehaviour
from mocks.agencies.runner import run_agencies
from tests.integration.harness import AGENCIES, Harness, plan_body, start_harness


@asynccontextmanager
async def gateway_on(
    engine: AsyncEngine, url: str, *, delete_topology: bool = True
) -> AsyncIterator[Harness]:
    """`delete_topology=False` for a throwaway broker: deleting quorum queues that lost a
    member waits on the dead member (seconds per queue), and the broker goes anyway."""
    h, stop = await start_harness(
        engine, f"r{uuid.uuid4().hex[:8]}", url, centre=f"centre-{uuid.uuid4().hex[:6]}"
    )
    h.delete_topology = delete_topology
    try:
        yield h
    finally:
        await stop()


@asynccontextmanager
async def bodies_on(
    url: str, h: Harness, state_dir: Path, work_seconds: float = 0.3
) -> AsyncIterator[None]:
    stop = asyncio.Event()
    runner = asyncio.create_task(
        run_agencies(
            list(AGENCIES),
            amqp_url=url,
            prefix=h.topology.prefix,
            state_dir=state_dir,
            behaviour=AgencyBehaviour(work_seconds=work_seconds, jitter=0.2),
            stop=stop,
            delivery_limit=h.topology.delivery_limit,
        )
    )
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(runner, 30)


async def plans_of(h: Harness, ids: list[str]) -> list[dict[str, Any]]:
    return [await h.plan(plan_id) for plan_id in ids]


async def submit_plans(h: Harness, count: int) -> list[str]:
    ids = []
    for _ in range(count):
        response = await h.submit(plan_body(h.centre), **{"Idempotency-Key": uuid.uuid4().hex})
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
    return ids


async def is_(value: bool, expected: bool) -> bool:
    return value is expected
