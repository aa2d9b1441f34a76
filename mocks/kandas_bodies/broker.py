"""Reaching RabbitMQ: the first connection, and the declarations a body relies on.

The mocks are often started together with the broker, so the first connection is
retried for a while with a plain log line instead of a traceback; after that,
`connect_robust` reconnects on its own and restores the consumers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

import aio_pika
from aio_pika.abc import AbstractConnection, AbstractRobustConnection
from aio_pika.exceptions import CONNECTION_EXCEPTIONS, ChannelPreconditionFailed
from yarl import URL

from contracts.amqp import Topology

log = logging.getLogger(__name__)


class BrokerUnavailable(ConnectionError):
    """RabbitMQ did not answer within the start-up grace period."""


def describe(url: str) -> str:
    """host:port/vhost of an AMQP URL, for logs: never the password."""
    parsed = URL(url)
    return f"{parsed.host}:{parsed.port}{parsed.path}"


async def connect_with_retry(
    url: str, *, give_up_after: float = 60.0, pause: float = 2.0, stop: asyncio.Event
) -> AbstractRobustConnection | None:
    """A robust connection, or None if `stop` was set while waiting for the broker."""
    deadline = time.monotonic() + give_up_after
    while True:
        try:
            return await aio_pika.connect_robust(url)
        except CONNECTION_EXCEPTIONS as exc:
            left = deadline - time.monotonic()
            if left <= 0:
                raise BrokerUnavailable(
                    f"RabbitMQ at {describe(url)} is not reachable after {give_up_after:.0f} s"
                ) from exc
            log.warning(
                "RabbitMQ at %s is not reachable yet (%s); retrying for another %.0f s",
                describe(url),
                type(exc).__name__,
                left,
            )
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), pause)
        if stop.is_set():
            return None


async def ensure_topology(connection: AbstractConnection, topology: Topology, body: str) -> None:
    """Declare the exchanges and this body's queue, as the gateway would.

    A queue that already exists with other arguments (another delivery limit, say) is
    the gateway's to own: the body only needs it to exist, so it warns and goes on.
    """
    own = Topology(topology.prefix, (body,), topology.delivery_limit)
    channel = await connection.channel()
    try:
        await own.declare(channel)
    except ChannelPreconditionFailed as exc:
        log.warning("%s: topology differs from what the mock would declare: %s", body, exc)
    finally:
        with contextlib.suppress(*CONNECTION_EXCEPTIONS):
            await channel.close()
