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
- `{p}.dlx` (direct): where quorum queues dead-letter after `x-delivery-limit`
  deliveries; one queue per source, `{p}.dead.agency.{code}` and `{p}.dead.status`, so an
  operator sees at once whose messages are stuck.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractExchange
from pamqp.common import FieldTable

STATUS_ROUTING_KEY = "status"
REPORTS_ROUTING_KEY = "conclusion"


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

    def agency_queue(self, agency: str) -> str:
        return f"{self.prefix}.agency.{agency}"

    def dead_queue(self, source_routing_key: str) -> str:
        if source_routing_key == STATUS_ROUTING_KEY:
            return f"{self.prefix}.dead.status"
        if source_routing_key == REPORTS_ROUTING_KEY:
            return f"{self.prefix}.dead.reports"
        return f"{self.prefix}.dead.agency.{source_routing_key}"

    def dead_queues(self) -> list[str]:
        return [
            self.dead_queue(STATUS_ROUTING_KEY),
            self.dead_queue(REPORTS_ROUTING_KEY),
            *(self.dead_queue(a) for a in self.agencies),
        ]

    def all_queues(self) -> list[str]:
        return [
            self.status_queue,
            self.reports_queue,
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

        for key in (STATUS_ROUTING_KEY, REPORTS_ROUTING_KEY, *self.agencies):
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
