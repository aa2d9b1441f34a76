"""The mock bodies' admin API over HTTP, against the real RabbitMQ.

The test plays the gateway as in test_mock_agencies.py (own name prefix per test) and
drives the bodies through ``/__admin`` on a free local port.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import uuid4

import aio_pika
import httpx
import pytest
from aio_pika.abc import AbstractIncomingMessage, AbstractRobustConnection

from contracts.amqp import Topology
from contracts.messages import ReportStatus, StatusEnvelope
from mocks.agencies.config import AgencyBehaviour
from mocks.agencies.journal import count_taken
from mocks.agencies.runner import run_agencies
from tests.integration.test_mock_agencies import (
    AGENCY,
    AMQP_URL,
    FAST,
    FakeGateway,
    assigned,
    statuses,
)

DELIVERY_LIMIT = 2


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
async def gateway() -> AsyncIterator[FakeGateway]:
    prefix = f"t{uuid4().hex[:8]}"
    topology = Topology(prefix, (AGENCY,), DELIVERY_LIMIT)
    connection: AbstractRobustConnection = await aio_pika.connect_robust(AMQP_URL)
    try:
        channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
        await topology.declare(channel)
        fake = FakeGateway(prefix, topology, channel)

        async def collect(message: AbstractIncomingMessage) -> None:
            await fake.reports.put(StatusEnvelope.model_validate_json(message.body))
            await message.ack()

        status = await channel.get_queue(topology.status_queue, ensure=False)
        tag = await status.consume(collect)
        try:
            yield fake
        finally:
            await status.cancel(tag)
            await topology.delete(channel)
    finally:
        await connection.close()


@asynccontextmanager
async def mocks_with_admin(
    gateway: FakeGateway, state_dir: Path, behaviour: AgencyBehaviour = FAST
) -> AsyncIterator[httpx.AsyncClient]:
    port = _free_port()
    stop = asyncio.Event()
    runner = asyncio.create_task(
        run_agencies(
            [AGENCY],
            amqp_url=AMQP_URL,
            prefix=gateway.prefix,
            state_dir=state_dir,
            behaviour=behaviour,
            stop=stop,
            delivery_limit=DELIVERY_LIMIT,
            admin_port=port,
        )
    )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}/__admin") as client:
            async with asyncio.timeout(10):
                while True:
                    try:
                        if (await client.get("/clock")).status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    if runner.done():
                        runner.result()
                    await asyncio.sleep(0.05)
            yield client
    finally:
        stop.set()
        await asyncio.wait_for(runner, 15)


@pytest.mark.integration
async def test_reject_once_then_done_and_the_journal_counts_the_takes(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    reason = "Not our competence: the family is served by the regional akimat."
    first, second = assigned(), assigned()
    async with mocks_with_admin(gateway, tmp_path) as admin:
        added = await admin.post(
            "/faults", json={"agency": AGENCY, "kind": "reject", "reason": reason, "times": 1}
        )
        assert added.status_code == 201, added.text
        await gateway.send(first)
        rejected = await gateway.expect(3)
        await gateway.send(second)
        done = await gateway.expect(3)

        counted = await admin.get(
            "/requests/count", params={"agency": AGENCY, "type": "task.assigned"}
        )
        assert counted.json() == {"count": 2}
        one = await admin.get("/requests", params={"task_id": first.payload.task_id})
        body = one.json()
        assert body["total"] == 1
        assert body["requests"][0]["effect"] == "taken"
        assert body["requests"][0]["agency"] == AGENCY
        rules = (await admin.get("/faults")).json()["faults"]
        assert rules[0]["fired"] == 1 and rules[0]["active"] is False

    assert statuses(rejected) == [
        ReportStatus.received,
        ReportStatus.in_progress,
        ReportStatus.rejected,
    ]
    assert rejected[-1].payload.reason == reason
    assert statuses(done) == [ReportStatus.received, ReportStatus.in_progress, ReportStatus.done]


@pytest.mark.integration
async def test_crash_dead_letters_the_task_after_the_delivery_limit(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    task = assigned()
    async with mocks_with_admin(gateway, tmp_path) as admin:
        await admin.post("/faults", json={"agency": AGENCY, "kind": "crash"})
        await gateway.send(task)
        dead = await gateway.dead_letters(1, within=10)
        assert await gateway.quiet(0.3) == []
        rule = (await admin.get("/faults/1")).json()
        reset = await admin.post("/reset")
        assert reset.status_code == 204
        assert (await admin.get("/faults")).json() == {"faults": []}

    assert dead[0].message_id == str(task.message_id)
    assert rule["fired"] >= DELIVERY_LIMIT
    assert count_taken(tmp_path, AGENCY, task.payload.task_id) == 0


@pytest.mark.integration
async def test_silent_body_reports_received_and_nothing_more(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    silent, normal = assigned(), assigned()
    async with mocks_with_admin(gateway, tmp_path) as admin:
        await admin.post("/faults", json={"kind": "silent", "every_nth": 2, "times": 1})
        await gateway.send(normal)
        normal_reports = await gateway.expect(3)
        await gateway.send(silent)
        silent_reports = await gateway.expect(1)
        # Even an hour later on the body's clock the silent task stays where it was.
        await admin.put("/clock", json={"advance_seconds": 3600})
        later = await gateway.quiet(0.8)

    assert statuses(normal_reports)[-1] is ReportStatus.done
    assert statuses(silent_reports) == [ReportStatus.received]
    assert silent_reports[0].payload.task_id == silent.payload.task_id
    assert later == []
    assert count_taken(tmp_path, AGENCY, silent.payload.task_id) == 1


@pytest.mark.integration
async def test_the_clock_dates_reports_and_advancing_it_runs_due_work(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    start = datetime(2030, 3, 4, 9, 0, tzinfo=UTC)
    task = assigned()
    slow = AgencyBehaviour(work_seconds=3600)
    async with mocks_with_admin(gateway, tmp_path, slow) as admin:
        put = await admin.put("/clock", json={"now": start.isoformat()})
        assert put.json()["mode"] == "fixed"
        await gateway.send(task)
        received = await gateway.expect(1)
        assert await gateway.quiet(0.3) == []  # an hour of work, and the clock stands still
        await admin.put("/clock", json={"advance_seconds": 3600})
        in_progress = await gateway.expect(1)
        await admin.put("/clock", json={"advance_seconds": 3600})
        done = await gateway.expect(1)
        back = await admin.delete("/clock")
        assert back.json()["mode"] == "real"

    assert received[0].payload.status is ReportStatus.received
    assert received[0].payload.reported_at == start
    assert in_progress[0].payload.status is ReportStatus.in_progress
    assert in_progress[0].payload.reported_at == start + timedelta(hours=1)
    assert done[0].payload.status is ReportStatus.done
    assert done[0].payload.reported_at == start + timedelta(hours=2)


@pytest.mark.integration
async def test_bad_requests_are_refused(gateway: FakeGateway, tmp_path: Path) -> None:
    async with mocks_with_admin(gateway, tmp_path) as admin:
        unknown_kind = await admin.post("/faults", json={"kind": "explode"})
        delay_without_seconds = await admin.post("/faults", json={"kind": "delay"})
        other_agency = await admin.post("/faults", json={"kind": "crash", "agency": "nowhere"})
        both = await admin.put("/clock", json={"now": "2030-01-01T00:00:00Z", "advance_seconds": 1})
        missing = await admin.delete("/faults/42")

    assert unknown_kind.status_code == 422
    assert delay_without_seconds.status_code == 422
    assert other_agency.status_code == 422
    assert both.status_code == 422
    assert missing.status_code == 404


@pytest.mark.integration
async def test_the_bodies_metrics_count_what_their_journal_holds(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    from prometheus_client.parser import text_string_to_metric_families

    first = assigned()
    async with mocks_with_admin(gateway, tmp_path) as admin:
        await gateway.send(first)
        await gateway.expect(3)
        await gateway.send(first)  # the same message again: a duplicate, not a second take

        async def scraped() -> dict[tuple[str, ...], float]:
            root = str(admin.base_url).split("/__admin")[0]
            response = await admin.get(f"{root}/metrics")
            assert response.status_code == 200
            return {
                (s.name, *(s.labels[k] for k in sorted(s.labels))): s.value
                for family in text_string_to_metric_families(response.text)
                for s in family.samples
            }

        async with asyncio.timeout(10):
            while (samples := await scraped()).get(("mock_body_duplicates", AGENCY)) != 1:
                await asyncio.sleep(0.1)
    taken = ("mock_body_messages_received", AGENCY, "taken", "task.assigned")  # sorted keys
    assert samples.get(taken) == 1, samples
