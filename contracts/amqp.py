"""Exchange and queue names, and their idempotent declaration.

Every name carries a prefix (GATEWAY_AMQP_PREFIX) so that two deployments, or two
test runs, can share one broker without seeing each other's messages.

Layout:
- `{p}.tasks` (direct): gateway -> bodies; routing key = agency code; one durable quorum
  queue per enabled agency, `{p}.agency.{code}`.
- `{p}.status` (direct): bodies -> gateway; routing key `status`; queue `{p}.status`.
- `{p}.reports` (direct): the gateway's outgoing reports to the authorised body (the
  quarterly conclusion, order 192 p.14); routing key `conclusion`; queue `{p}.reports`,
  consumed by the gateway's mailer (or by the authorised body's own system).
- `{p}.portal.egov` (quorum queue on `{p}.tasks`, routing key `portal.egov`): what the
  gateway owes the e-government portal (statuses, cabinet notices, SMS), consumed by the
  gateway's own portal notifier (`contracts/portal_notices.py`).
- `{p}.dlx` (direct): where quorum queues dead-letter after `x-delivery-limit`
  deliveries; one queue per source, `{p}.dead.agency.{code}` and `{p}.dead.status`, so an
  operator sees at once whose messages are stuck.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractConnection, AbstractExchange
from aio_pika.exceptions import CONNECTION_EXCEPTIONS, ChannelNotFoundEntity
from pamqp.common import FieldTable

STATUS_ROUTING_KEY = "status"
REPORTS_ROUTING_KEY = "conclusion"
PORTAL_ROUTING_KEY = "portal.egov"


@dataclass(frozen=True)
class Topology:
    prefix: str
    agencies: tuple[str, ...]
    delivery_limit: int = 5

    @property
    def tasks_exchange(self) -> str:
        return f"{self.prefix}.tasks"

    @property
    def status_exchange(self) -> str:
        return f"{self.prefix}.status"

    @property
    def status_queue(self) -> str:
        return f"{self.prefix}.status"

    @property
    def reports_exchange(self) -> str:
        return f"{self.prefix}.reports"

    @property
    def reports_queue(self) -> str:
        return f"{self.prefix}.reports"

    @property
    def dead_letter_exchange(self) -> str:
        return f"{self.prefix}.dlx"

    @property
    def portal_queue(self) -> str:
        return f"{self.prefix}.{PORTAL_ROUTING_KEY}"

    def agency_queue(self, agency: str) -> str:
        return f"{self.prefix}.agency.{agency}"

    def dead_queue(self, source_routing_key: str) -> str:
        if source_routing_key == STATUS_ROUTING_KEY:
            return f"{self.prefix}.dead.status"
        if source_routing_key == REPORTS_ROUTING_KEY:
            return f"{self.prefix}.dead.reports"
        if source_routing_key == PORTAL_ROUTING_KEY:
            return f"{self.prefix}.dead.{PORTAL_ROUTING_KEY}"
        return f"{self.prefix}.dead.agency.{source_routing_key}"

    def dead_queues(self) -> list[str]:
        return [
            self.dead_queue(STATUS_ROUTING_KEY),
            self.dead_queue(REPORTS_ROUTING_KEY),
            self.dead_queue(PORTAL_ROUTING_KEY),
            *(self.dead_queue(a) for a in self.agencies),
        ]

    def all_queues(self) -> list[str]:
        return [
            self.status_queue,
            self.reports_queue,
            self.portal_queue,
            *(self.agency_queue(a) for a in self.agencies),
            *self.dead_queues(),
        ]

    def _work_queue_arguments(self) -> FieldTable:
        return {
            "x-queue-type": "quorum",
            "x-delivery-limit": self.delivery_limit,
            "x-dead-letter-exchange": self.dead_letter_exchange,
            # at-least-once dead-lettering keeps a poison message until the dead queue has
            # confirmed it; it needs reject-publish overflow.
            "x-dead-letter-strategy": "at-least-once",
            "x-overflow": "reject-publish",
        }

    async def declare(self, channel: AbstractChannel) -> None:
        """Declare everything; safe to run at every start of every process."""
        durable = aio_pika.ExchangeType.DIRECT
        tasks = await channel.declare_exchange(self.tasks_exchange, durable, durable=True)
        status = await channel.declare_exchange(self.status_exchange, durable, durable=True)
        dlx = await channel.declare_exchange(self.dead_letter_exchange, durable, durable=True)

        for agency in self.agencies:
            queue = await channel.declare_queue(
                self.agency_queue(agency), durable=True, arguments=self._work_queue_arguments()
            )
            await queue.bind(tasks, routing_key=agency)
        queue = await channel.declare_queue(
            self.status_queue, durable=True, arguments=self._work_queue_arguments()
        )
        await queue.bind(status, routing_key=STATUS_ROUTING_KEY)
        reports = await channel.declare_exchange(self.reports_exchange, durable, durable=True)
        queue = await channel.declare_queue(
            self.reports_queue, durable=True, arguments=self._work_queue_arguments()
        )
        await queue.bind(reports, routing_key=REPORTS_ROUTING_KEY)

        portal = await channel.declare_queue(
            self.portal_queue, durable=True, arguments=self._work_queue_arguments()
        )
        await portal.bind(tasks, routing_key=PORTAL_ROUTING_KEY)

        for key in (STATUS_ROUTING_KEY, REPORTS_ROUTING_KEY, PORTAL_ROUTING_KEY, *self.agencies):
            dead = await channel.declare_queue(
                self.dead_queue(key), durable=True, arguments={"x-queue-type": "quorum"}
            )
            await dead.bind(dlx, routing_key=key)

    async def delete(self, channel: AbstractChannel) -> None:
        """Remove everything this topology declared (test clean-up)."""
        for queue in self.all_queues():
            await channel.queue_delete(queue)
        for exchange in (
            self.tasks_exchange,
            self.status_exchange,
            self.reports_exchange,
            self.dead_letter_exchange,
        ):
            await channel.exchange_delete(exchange)


def persistent_message(
    body: bytes,
    *,
    message_id: str,
    correlation_id: str,
    message_type: str,
    headers: dict[str, object] | None = None,
) -> aio_pika.Message:
    return aio_pika.Message(
        body=body,
        content_type="application/json",
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        message_id=message_id,
        correlation_id=correlation_id,
        type=message_type,
        headers=headers or {},  # type: ignore[arg-type]
    )


async def exchange(channel: AbstractChannel, name: str) -> AbstractExchange:
    return await channel.get_exchange(name, ensure=False)


def agency_codes(codes: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted(set(codes)))


async def wait_for_queue(
    connection: Callable[[], AbstractConnection | None],
    queue: str,
    stop: asyncio.Event,
    *,
    pause: float = 0.5,
) -> bool:
    """Wait until `queue` exists; False if `stop` was set first.

    A body that connects as its own broker user may not declare anything: the gateway
    declares the body's queue, and it may start after the body. A passive declare is
    allowed to any user. `connection` is asked again on every try, since a body's link
    may have reconnected meanwhile (None while it is away).
    """
    said = False
    while not stop.is_set():
        if await _queue_exists(connection(), queue):
            return True
        if not said:
            said = True
            logging.getLogger(__name__).info(
                "%s does not exist yet (or the broker is away); waiting for the gateway", queue
            )
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), pause)
    return False


async def _queue_exists(connection: AbstractConnection | None, queue: str) -> bool:
    """A passive declare on a channel of its own (a missing queue closes the channel)."""
    if connection is None:
        return False
    try:
        channel = await connection.channel()
    except CONNECTION_EXCEPTIONS:
        return False
    try:
        await channel.declare_queue(queue, passive=True)
        return True
    except (ChannelNotFoundEntity, *CONNECTION_EXCEPTIONS):
        return False
    finally:
        with contextlib.suppress(*CONNECTION_EXCEPTIONS):
            await channel.close()
