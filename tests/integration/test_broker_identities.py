"""Identities the broker checks, against the real (shared) RabbitMQ.

`gateway broker provision` makes one user per body, scoped to this test's prefix; every
user is deleted at the end (the broker is shared: guest and others' users are never
touched). The collector runs with identities required, as a provisioned deployment does.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aio_pika
import aiormq.exceptions
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts.amqp import STATUS_ROUTING_KEY, persistent_message
from contracts.messages import ReportStatus, StatusEnvelope, StatusReport
from gateway.broker.identity import body_user
from gateway.broker.provision import BodyCredentials, Rabbitmqctl, deprovision, provision
from gateway.store.tables import events, incidents, tasks
from tests.conftest import AMQP_URL
from tests.integration.harness import Harness, eventually, start_harness

pytestmark = pytest.mark.integration

BODIES = ("health", "education")


@pytest.fixture
async def world(
    engine: AsyncEngine, amqp_prefix: str, tmp_path: Path
) -> AsyncIterator[tuple[Harness, dict[str, BodyCredentials], Path]]:
    ctl = Rabbitmqctl()
    credentials = tmp_path / "broker-users.json"
    h, stop = await start_harness(
        engine,
        amqp_prefix,
        AMQP_URL,
        centre=f"centre-{uuid.uuid4().hex[:8]}",
        identities_required=True,
    )
    try:
        made = await provision(ctl, amqp_prefix, BODIES, credentials)
        yield h, {c.body: c for c in made}, credentials
    finally:
        await deprovision(ctl, amqp_prefix)
        await stop()


def _url(c: BodyCredentials) -> str:
    return f"amqp://{c.user}:{c.password}@127.0.0.1:5672/"


def _report(task_id: str, agency: str, status: ReportStatus = ReportStatus.done) -> bytes:
    envelope = StatusEnvelope(
        message_id=str(uuid.uuid4()),
        correlation_id="",
        occurred_at=datetime.now(UTC),
        payload=StatusReport(
            task_id=task_id,
            agency=agency,
            status=status,
            reason="подделка" if status is ReportStatus.rejected else None,
            reported_at=datetime.now(UTC),
        ),
    )
    return envelope.model_dump_json().encode()


async def _publish_as(c: BodyCredentials, h: Harness, body: bytes, *, user_id: str | None) -> None:
    connection = await aio_pika.connect(_url(c))
    try:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange(h.topology.status_exchange, ensure=False)
        message = persistent_message(
            body, message_id=str(uuid.uuid4()), correlation_id="", message_type="task.status"
        )
        message.user_id = user_id
        await exchange.publish(message, routing_key=STATUS_ROUTING_KEY)
    finally:
        await connection.close()


async def _tasks(h: Harness) -> dict[str, str]:
    response = await h.submit()
    assert response.status_code == 201, response.text
    found = {}
    for code in BODIES:
        (message,) = await h.take(code, 1)
        found[code] = message["body"]["payload"]["task_id"]
    return found


async def _state(h: Harness, task_id: str) -> str:
    async with h.engine.connect() as conn:
        return str(
            (await conn.execute(select(tasks.c.state).where(tasks.c.id == task_id))).scalar()
        )


async def _incidents(h: Harness) -> list[Any]:
    async with h.engine.connect() as conn:
        return list((await conn.execute(select(incidents.c.error))).scalars())


async def test_provisioning_is_idempotent_and_scoped_to_the_prefix(
    world: tuple[Harness, dict[str, BodyCredentials], Path], amqp_prefix: str
) -> None:
    _, made, file = world
    again = await provision(Rabbitmqctl(), amqp_prefix, BODIES, file)
    assert {c.body: c.password for c in again} == {b: made[b].password for b in BODIES}
    stored = json.loads(file.read_text())
    assert stored["health"]["user"] == body_user(amqp_prefix, "health")
    assert oct(file.stat().st_mode & 0o777) == "0o600"
    users = await Rabbitmqctl().users()
    assert {body_user(amqp_prefix, b) for b in BODIES} <= users and "guest" in users


async def test_a_body_reads_its_own_queue_and_not_another_bodys(
    world: tuple[Harness, dict[str, BodyCredentials], Path],
) -> None:
    h, made, _ = world
    await h.submit()
    connection = await aio_pika.connect(_url(made["health"]))
    try:
        channel = await connection.channel()
        own = await channel.get_queue(h.topology.agency_queue("health"), ensure=False)
        await eventually(lambda: _has_message(own))
        with pytest.raises(aiormq.exceptions.ChannelAccessRefused):
            other = await channel.get_queue(h.topology.agency_queue("education"), ensure=False)
            await other.get(fail=False)
    finally:
        await connection.close()


async def _has_message(queue: aio_pika.abc.AbstractQueue) -> bool:
    message = await queue.get(fail=False)
    if message is None:
        await asyncio.sleep(0.05)
        return False
    await message.nack(requeue=True)
    return True


async def test_a_body_may_publish_only_status_messages(
    world: tuple[Harness, dict[str, BodyCredentials], Path],
) -> None:
    h, made, _ = world
    connection = await aio_pika.connect(_url(made["health"]))
    try:
        channel = await connection.channel(publisher_confirms=True)
        tasks_exchange = await channel.get_exchange(h.topology.tasks_exchange, ensure=False)
        with pytest.raises(aiormq.exceptions.ChannelAccessRefused):
            await tasks_exchange.publish(aio_pika.Message(b"{}"), routing_key="education")
    finally:
        await connection.close()


async def test_the_reporting_body_is_the_validated_user_and_refusals_change_nothing(
    world: tuple[Harness, dict[str, BodyCredentials], Path],
) -> None:
    h, made, _ = world
    ids = await _tasks(h)
    health, education = made["health"], made["education"]

    # A user_id that is not its publisher's: the broker itself refuses the publish.
    with pytest.raises(aiormq.exceptions.ChannelPreconditionFailed):
        await _publish_as(health, h, _report(ids["education"], "education"), user_id=education.user)

    # A forged report from guest (no user_id, and with guest's own): refused.
    await h.report(ids["education"], "education", ReportStatus.rejected, reason="подделка")
    await _publish_as_guest(h, _report(ids["education"], "education", ReportStatus.rejected))

    # Health, as itself, claiming to be education: refused (the identity is health).
    await _publish_as(health, h, _report(ids["education"], "education"), user_id=health.user)

    # Health, as itself, reporting on education's task: ignored, on the timeline.
    await _publish_as(health, h, _report(ids["education"], "health"), user_id=health.user)

    async def refused_and_ignored() -> bool:
        async with h.engine.connect() as conn:
            ignored = (
                await conn.execute(
                    select(events.c.id).where(
                        events.c.task_id == ids["education"], events.c.type == "report_ignored"
                    )
                )
            ).first()
        return len(await _incidents(h)) >= 3 and ignored is not None

    await eventually(refused_and_ignored, timeout=15)
    errors = await _incidents(h)
    assert sum("no user_id" in e for e in errors) == 1
    assert sum("user 'guest'" in e for e in errors) == 1
    assert sum("may not report for 'education'" in e for e in errors) == 1
    assert await _state(h, ids["education"]) not in {"rejected_by_agency", "reported"}

    # The real body's own report still counts.
    await _publish_as(education, h, _report(ids["education"], "education"), user_id=education.user)

    async def applied() -> bool:
        return await _state(h, ids["education"]) == "reported"

    await eventually(applied, timeout=10)


async def _publish_as_guest(h: Harness, body: bytes) -> None:
    exchange = await h.channel.get_exchange(h.topology.status_exchange, ensure=False)
    message = persistent_message(
        body, message_id=str(uuid.uuid4()), correlation_id="", message_type="task.status"
    )
    message.user_id = "guest"  # valid for guest's own connection: and still no body
    await exchange.publish(message, routing_key=STATUS_ROUTING_KEY)
