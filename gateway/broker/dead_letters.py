"""Turning dead-lettered messages into incidents an operator can see and replay.

A task message that a body's system failed on `delivery_limit` times, or a status
message the gateway could not apply, ends in a dead queue. This consumer records an
incident with the message and its error, marks a never-delivered task `failed` (its
routing clock keeps running, so the breach stays visible), and acks. A message whose
ack was lost with the connection comes back and is recorded again: an incident is a
report to an operator, and a second line for one message says what happened.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from aio_pika.abc import AbstractChannel, AbstractConnection, AbstractIncomingMessage
from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts.clock import Clock
from contracts.messages import MessageType
from contracts.plans import TaskState
from gateway.broker.connection import BrokerLink, settle
from gateway.domain.task_lifecycle import InvalidTransition, TaskEvent, next_state
from gateway.services import timeline
from gateway.services.context import Context
from gateway.store.tables import incidents, tasks

log = logging.getLogger("gateway.dead_letters")


def describe_death(headers: dict[str, Any], delivery_limit: int | None = None) -> tuple[str, str]:
    """(source queue, error) from our own x-error header or RabbitMQ's x-death.

    x-death's `count` is how many times the message was dead-lettered, not how many times
    it was delivered, and the dead queue resets `x-delivery-count`: a quorum queue with
    `x-delivery-limit` N dead-letters a message on its (N+1)th failed delivery (checked
    against RabbitMQ), so that is the count recorded. The text stays machine-readable
    (`gateway.incident_text` renders it in Russian and Kazakh for staff).
    """
    if "x-error" in headers:
        return str(headers.get("x-source-queue", "")), str(headers["x-error"])
    deaths = headers.get("x-death") or []
    if deaths:
        death = deaths[0]
        queue = str(death.get("queue", ""))
        reason = str(death.get("reason", "dead-lettered"))
        if reason == "delivery_limit" and delivery_limit is not None:
            return queue, f"delivery_limit after {delivery_limit + 1} deliveries"
        return queue, f"{reason} (dead-lettered {death.get('count', '?')} time(s))"
    return "", "dead-lettered"


class DeadLetterRecorder:
    def __init__(self, engine: AsyncEngine, link: BrokerLink, ctx: Context, clock: Clock) -> None:
        self._engine = engine
        self._link = link
        self._ctx = ctx
        self._clock = clock
        self._channel: AbstractChannel | None = None

    async def start(self) -> None:
        await self._link.attach(self._attach)

    async def _attach(self, connection: AbstractConnection) -> None:
        channel = await self._link.channel(connection, "dead-letter recorder")
        await channel.set_qos(prefetch_count=20)
        for name in self._ctx.topology.dead_queues():
            queue = await channel.get_queue(name, ensure=False)
            await queue.consume(self.handle)
        self._channel = channel

    async def stop(self) -> None:
        self._link.detach(self._attach)
        channel, self._channel = self._channel, None
        await self._link.close_channel(channel)

    async def handle(self, message: AbstractIncomingMessage) -> None:
        source, error = describe_death(
            dict(message.headers or {}), self._ctx.topology.delivery_limit
        )
        task_id = _task_id(message.body)
        now = self._clock.now()
        async with self._engine.begin() as conn:
            await conn.execute(
                insert(incidents).values(
                    at=now,
                    queue=source or "unknown",
                    message_id=message.message_id,
                    message_type=message.type,
                    routing_key=message.routing_key,
                    task_id=task_id,
                    error=error,
                    body=message.body.decode("utf-8", "replace"),
                )
            )
            if task_id and message.type == MessageType.task_assigned:
                row = (await conn.execute(select(tasks).where(tasks.c.id == task_id))).first()
                if row is not None:
                    try:
                        to_state = next_state(TaskState(row.state), TaskEvent.failed)
                    except InvalidTransition:
                        to_state = None
                    if to_state is not None:
                        await conn.execute(
                            update(tasks)
                            .where(tasks.c.id == task_id)
                            .values(state=to_state.value, updated_at=now)
                        )
                        await timeline.record(
                            conn,
                            plan_id=row.plan_id,
                            task_id=task_id,
                            at=now,
                            actor="gateway",
                            type="task_failed",
                            from_state=row.state,
                            to_state=to_state.value,
                            reason=error,
                        )
        log.warning("incident recorded from %s: %s", source, error[:300])
        await settle(message.ack(), "ack a dead letter")


def _task_id(body: bytes) -> str | None:
    try:
        payload = json.loads(body).get("payload", {})
    except (ValueError, AttributeError):
        return None
    value = payload.get("task_id") if isinstance(payload, dict) else None
    return value if isinstance(value, str) else None
