"""Back-pressure: a gateway that is behind refuses writes with 503 and Retry-After.

The API runs without a relay here, so what it accepts stays in the outbox (as it does
while the broker is down). Reads keep working throughout, and nothing refused was
accepted: the plan count only moves with the 201s.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts.clock import ManualClock
from gateway.agencies import load_agencies
from gateway.api.app import create_app
from gateway.api.deps import AppState
from gateway.auth import ClientKind
from gateway.broker.backlog import BacklogMonitor
from gateway.config import Settings
from gateway.runtime import build_context
from gateway.services.clients import add_client
from gateway.store.engine import open_engine
from gateway.store.migrate import upgrade
from tests.integration.harness import plan_body, register_centre

pytestmark = pytest.mark.integration

CENTRE = "bp-centre"


@asynccontextmanager
async def api(
    engine: AsyncEngine, **settings: Any
) -> AsyncIterator[tuple[httpx.AsyncClient, BacklogMonitor, dict[str, str]]]:
    config = Settings(amqp_prefix=f"bp{uuid.uuid4().hex[:6]}", **settings)
    clock = ManualClock(datetime.now(UTC))
    monitor = BacklogMonitor(engine, clock, store_timeout_seconds=config.store_timeout_seconds)
    state = AppState(
        settings=config, engine=engine, ctx=build_context(config), clock=clock, backlog=monitor
    )
    async with engine.begin() as conn:
        await register_centre(conn, CENTRE, clock.now())
        client = await add_client(
            conn,
            name="c",
            kind=ClientKind.centre,
            scope=CENTRE,
            agencies=load_agencies(),
            now=clock.now(),
        )
    headers = {"Authorization": f"Bearer {client.api_key}"}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(state)), base_url="http://gw"
    ) as http:
        yield http, monitor, headers


async def _submit(http: httpx.AsyncClient, headers: dict[str, str]) -> httpx.Response:
    return await http.post(
        "/api/v1/plans",
        json=plan_body(CENTRE),
        headers={**headers, "Idempotency-Key": uuid.uuid4().hex},
    )


def _refused(response: httpx.Response) -> str:
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"] == "5"
    assert response.headers["content-type"] == "application/problem+json"
    return str(response.json()["detail"])


async def test_an_outbox_over_its_limit_refuses_writes_and_shows_in_ready(
    engine: AsyncEngine,
) -> None:
    async with api(engine, outbox_backlog_limit=6) as (http, monitor, headers):
        assert (await _submit(http, headers)).status_code == 201  # 4 messages in the outbox
        await monitor.sample()
        assert (await _submit(http, headers)).status_code == 201  # 4 < 6: still taken
        await monitor.sample()
        detail = _refused(await _submit(http, headers))
        assert "8 messages are waiting in the outbox (limit 6)" in detail
        listed = await http.get("/api/v1/plans", headers=headers)
        assert listed.status_code == 200 and listed.json()["total"] == 2  # reads stay open
        ready = (await http.get("/ready")).json()
        outbox = ready["details"]["outbox"]
        assert outbox["pending"] == 8 and outbox["limit"] == 6
        assert outbox["oldest_age_seconds"] is not None and outbox["oldest_created_at"]


async def test_a_store_that_does_not_answer_in_time_refuses_writes(tmp_path: Path) -> None:
    # SQLite's single pooled connection, held by another writer, is a store not answering.
    engine = open_engine(f"sqlite+aiosqlite:///{tmp_path / 'gw.sqlite3'}")
    await upgrade(engine)
    try:
        async with api(engine, store_timeout_seconds=0.3) as (http, monitor, headers):
            hold = await engine.connect()
            try:
                assert await monitor.sample() is None and monitor.store_slow
                detail = _refused(await _submit(http, headers))
                assert "the store is not answering in time" in detail
                ready = await http.get("/ready")
                assert ready.status_code == 503
                assert ready.json()["checks"]["database"].startswith("slow")
            finally:
                await hold.close()
            await asyncio.sleep(0.2)
            assert await monitor.sample() is not None and not monitor.store_slow
            assert (await _submit(http, headers)).status_code == 201
    finally:
        await engine.dispose()


async def test_writes_over_the_in_flight_limit_are_refused_not_queued(tmp_path: Path) -> None:
    engine = open_engine(f"sqlite+aiosqlite:///{tmp_path / 'gw.sqlite3'}")
    await upgrade(engine)
    try:
        async with api(engine, max_inflight_writes=1, write_queue_seconds=0.2) as (
            http,
            _monitor,
            headers,
        ):
            await http.get("/api/v1/plans", headers=headers)  # caches the key
            hold = await engine.connect()
            first = asyncio.create_task(_submit(http, headers))
            await asyncio.sleep(0.3)  # the first write now waits for the store
            detail = _refused(await _submit(http, headers))
            assert "too many writes in progress" in detail
            await hold.close()
            assert (await first).status_code == 201
            assert (await _submit(http, headers)).status_code == 201
            listed = await http.get("/api/v1/plans", headers=headers)
            assert listed.json()["total"] == 2
    finally:
        await engine.dispose()
