"""The broker link against the shared RabbitMQ (nothing here restarts it): failover to
the next node in the list, and a set-up the broker refuses is said once, not per try."""

from __future__ import annotations

import asyncio
import logging
import uuid

import pytest
from aio_pika.abc import AbstractConnection
from yarl import URL

from bench.chaos.nodes import free_port
from gateway.broker.connection import BrokerLink, BrokerUnavailable
from tests.conftest import AMQP_URL
from tests.integration.harness import eventually

pytestmark = pytest.mark.integration


async def test_a_dead_first_node_is_skipped_for_the_next() -> None:
    shared = URL(AMQP_URL)
    dead = free_port()
    link = BrokerLink(
        f"{shared.with_port(dead)},{shared.host}:{shared.port}", name="t", retry_seconds=0.1
    )
    await link.start(wait_seconds=5)
    try:
        status = link.status()
        assert status["state"] == "up" and status["node"] == f"{shared.host}:{shared.port}"
        assert status["nodes"] == [f"127.0.0.1:{dead}", f"{shared.host}:{shared.port}"]
    finally:
        await link.close()


async def test_no_node_answering_gives_up_at_start_with_what_to_do() -> None:
    link = BrokerLink(f"amqp://guest:guest@127.0.0.1:{free_port()}/", retry_seconds=0.1)
    with pytest.raises(BrokerUnavailable, match="rabbitmq-server"):
        await link.start(wait_seconds=0.5)


async def test_a_refused_set_up_is_logged_once_and_retried_until_it_works(
    caplog: pytest.LogCaptureFixture,
) -> None:
    queue = f"t{uuid.uuid4().hex[:10]}.missing"
    attempts = 0

    async def consume_missing_queue(connection: AbstractConnection) -> None:
        nonlocal attempts
        attempts += 1
        channel = await connection.channel()
        await channel.get_queue(queue, ensure=True)  # 404 until the queue exists

    link = BrokerLink(AMQP_URL, retry_seconds=0.05, max_retry_seconds=0.1)
    await link.attach(consume_missing_queue)
    started = asyncio.create_task(link.start(wait_seconds=30))
    await eventually(lambda: _more_than(lambda: attempts, 3), timeout=10)
    refused = [r for r in caplog.records if r.getMessage().startswith("setting up on RabbitMQ")]
    assert len(refused) == 1 and refused[0].exc_info is not None
    helper = BrokerLink(AMQP_URL)
    await helper.start(wait_seconds=5)
    connection = helper.require()
    channel = await connection.channel()
    await channel.declare_queue(queue)
    try:
        await started
        assert link.up
    finally:
        await link.close()
        await channel.queue_delete(queue)
        await helper.close()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR and "aiormq" in r.name]


async def _more_than(value: object, limit: int) -> bool:
    return bool(value() > limit)  # type: ignore[operator]
