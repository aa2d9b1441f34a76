"""How many messages wait in named queues, asked of the broker with passive declares."""

from __future__ import annotations

import asyncio
import contextlib

import aiormq
from aio_pika.abc import AbstractConnection
from aio_pika.exceptions import CONNECTION_EXCEPTIONS


async def queue_depths(
    connection: AbstractConnection | None, names: list[str], within: float = 2.0
) -> dict[str, int] | None:
    """Each queue's ready messages; None when the broker cannot be asked now.

    A plain channel, not the link's: a passive declare of a queue that does not exist closes
    its channel, and that must not make the link reconnect.
    """
    if connection is None or connection.is_closed:
        return None
    depths: dict[str, int] = {}
    try:
        async with asyncio.timeout(within):
            channel = await connection.channel(publisher_confirms=False)
            try:
                for name in names:
                    try:
                        declared = await channel.declare_queue(name, passive=True)
                    except aiormq.exceptions.ChannelNotFoundEntity:
                        channel = await connection.channel(publisher_confirms=False)
                        continue
                    depths[name] = declared.declaration_result.message_count or 0
            finally:
                with contextlib.suppress(*CONNECTION_EXCEPTIONS):
                    await channel.close()
    except (TimeoutError, *CONNECTION_EXCEPTIONS):
        return None
    return depths
