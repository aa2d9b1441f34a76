"""Connecting to RabbitMQ, waiting a while for it at start-up."""

from __future__ import annotations

import asyncio
import logging
import time

import aio_pika
from aio_pika.abc import AbstractRobustConnection

log = logging.getLogger("gateway.broker")

HOW_TO_START = (
    "start it with 'rabbitmq-server -detached' (Debian package rabbitmq-server), "
    "or set GATEWAY_AMQP_URL to a running broker"
)


class BrokerUnavailable(RuntimeError):
    pass


async def connect(
    url: str, *, wait_seconds: float = 60.0, name: str = "gateway"
) -> AbstractRobustConnection:
    deadline = time.monotonic() + wait_seconds
    attempt = 0
    while True:
        attempt += 1
        try:
            return await aio_pika.connect_robust(url, client_properties={"connection_name": name})
        except (OSError, aio_pika.exceptions.AMQPConnectionError) as error:
            if time.monotonic() >= deadline:
                raise BrokerUnavailable(
                    f"RabbitMQ at {_safe(url)} is not reachable ({error}); {HOW_TO_START}"
                ) from error
            if attempt == 1:
                log.warning("waiting for RabbitMQ at %s ...", _safe(url))
            await asyncio.sleep(1.0)


def _safe(url: str) -> str:
    """The URL without its password, for messages."""
    if "@" not in url:
        return url
    scheme, rest = url.split("://", 1)
    return f"{scheme}://{rest.split('@', 1)[1]}"
