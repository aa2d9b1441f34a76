"""Sending planned status reports to the gateway and recording that the broker has them.

A report counts as sent only once the broker confirmed it (publisher confirms, mandatory
routing); only then is it marked in the store. A report that fails stays unmarked and is
sent again later with the same message_id, which the gateway deduplicates.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from uuid import UUID

from aio_pika.abc import AbstractExchange

from contracts.amqp import STATUS_ROUTING_KEY, persistent_message
from contracts.messages import MessageType, StatusEnvelope, StatusReport
from mocks.agencies import tracing
from mocks.agencies.broker import BrokerAway
from mocks.agencies.store import AgencyStore, PlannedReport

log = logging.getLogger(__name__)


def render(report: PlannedReport, agency: str) -> StatusEnvelope:
    """The wire form; `sent_at` is the moment of this attempt, the rest is as planned."""
    return StatusEnvelope(
        message_id=UUID(report.message_id),
        correlation_id=report.plan_id,
        occurred_at=report.reported_at,
        sent_at=datetime.now(UTC),
        payload=StatusReport(
            task_id=report.task_id,
            agency=agency,
            status=report.status,
            comment=report.comment,
            reason=report.reason,
            reported_at=report.reported_at,
        ),
    )


class Reporter:
    """Publishes on the status exchange of the current connection (`exchange` is swapped
    on every reconnect, None while the broker is away)."""

    def __init__(
        self,
        exchange: AbstractExchange | None,
        store: AgencyStore,
        agency: str,
        *,
        broker_up: Callable[[], bool] = lambda: True,
        user_id: str | None = None,
    ) -> None:
        self.exchange = exchange
        self._user_id = user_id
        """The body's own broker user: set on every report, RabbitMQ checks it against the
        connection's user and the gateway takes the reporting body from it."""
        self._store = store
        self._agency = agency
        self._broker_up = broker_up

    def _level(self) -> int:
        # While the broker is away every send fails; the link has said so once already.
        return logging.WARNING if self._broker_up() else logging.DEBUG

    async def deliver_in_order(self, reports: Sequence[PlannedReport]) -> bool:
        """Send reports one after another, stopping at the first failure so that a later
        report on a task never overtakes an earlier one. True when all were confirmed."""
        confirmed: list[str] = []
        try:
            for report in reports:
                await self._publish(report)
                confirmed.append(report.message_id)
        except Exception as exc:  # any failure means "send it again later"
            log.log(
                self._level(), "%s: status report not confirmed, will resend: %r", self._agency, exc
            )
        await self._store.mark_published(confirmed)
        return len(confirmed) == len(reports)

    async def deliver_concurrently(self, reports: Sequence[PlannedReport]) -> bool:
        """Send reports on distinct tasks at once: their relative order does not matter,
        and waiting for each confirm in turn would make the schedule crawl under load."""
        results = await asyncio.gather(
            *(self._publish(report) for report in reports), return_exceptions=True
        )
        confirmed = [r.message_id for r, res in zip(reports, results, strict=True) if res is None]
        failures = [res for res in results if isinstance(res, BaseException)]
        if failures:
            log.log(
                self._level(),
                "%s: %d status report(s) not confirmed, will resend: %r",
                self._agency,
                len(failures),
                failures[0],
            )
        await self._store.mark_published(confirmed)
        return not failures

    async def _publish(self, report: PlannedReport) -> None:
        exchange = self.exchange
        if exchange is None or not self._broker_up():
            raise BrokerAway("not connected to RabbitMQ")
        body = render(report, self._agency).model_dump_json().encode()
        message = persistent_message(
            body,
            message_id=report.message_id,
            correlation_id=report.plan_id,
            message_type=MessageType.task_status.value,
            headers=dict[str, object](tracing.headers_for(report.task_id)),
        )
        message.user_id = self._user_id
        await exchange.publish(message, routing_key=STATUS_ROUTING_KEY, mandatory=True, timeout=30)
        log.debug("%s: reported %s on task %s", self._agency, report.status, report.task_id)
