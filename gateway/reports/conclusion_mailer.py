"""The mailer: sends each queued quarterly conclusion to the authorised body.

It consumes the reports queue (filled by the outbox relay, `gateway.services.
conclusions`), sends the conclusion with the e-mail sender chosen by settings (console,
file or SMTP, the same senders as the daily digest), records the moment and the channel
on the conclusion's record, and only then acks. A redelivered message whose record is
already sent is acked without a second mail; a send that fails is returned to the queue
and, after the delivery limit, dead-lettered into an incident an operator sees.
"""

from __future__ import annotations

import html
import logging
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING

from aio_pika.abc import AbstractChannel, AbstractConnection, AbstractIncomingMessage
from pydantic import ValidationError
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts.amqp import Topology
from contracts.clock import Clock, to_almaty
from contracts.messages import ConclusionEnvelope, ConclusionReport
from gateway.broker.connection import BrokerLink, settle
from gateway.reports.mail import DigestSender, sender_from_settings

if TYPE_CHECKING:
    from gateway.config import Settings
from gateway.store.tables import conclusion_dispatches

log = logging.getLogger("gateway.conclusions")


@dataclass(frozen=True)
class ConclusionMail:
    """A conclusion in the shape the mail senders take (`gateway.reports.mail.Digest`)."""

    report: ConclusionReport
    generated_at: datetime

    @property
    def centre(self) -> str:
        return self.report.centre

    @property
    def day(self) -> date:
        return to_almaty(self.generated_at).date()

    @property
    def subject(self) -> str:
        return self.report.subject

    @property
    def text(self) -> str:
        return self.report.text

    @property
    def html(self) -> str:
        return f"<html><body><pre>{html.escape(self.report.text)}</pre></body></html>"

    @property
    def file_name(self) -> str:
        """Apart from the centre's daily digest of the same day."""
        return f"conclusion-{self.report.quarter}-{self.report.centre}.eml"


class ConclusionMailer:
    def __init__(
        self,
        engine: AsyncEngine,
        link: BrokerLink,
        topology: Topology,
        clock: Clock,
        sender: DigestSender,
        *,
        channel_name: str,
    ) -> None:
        self._engine = engine
        self._link = link
        self._topology = topology
        self._clock = clock
        self._sender = sender
        self._channel_name = channel_name
        self._channel: AbstractChannel | None = None

    async def start(self) -> None:
        await self._link.attach(self._attach)

    async def _attach(self, connection: AbstractConnection) -> None:
        channel = await self._link.channel(connection, "conclusion mailer")
        await channel.set_qos(prefetch_count=4)
        queue = await channel.get_queue(self._topology.reports_queue, ensure=False)
        await queue.consume(self.handle)
        self._channel = channel

    async def stop(self) -> None:
        self._link.detach(self._attach)
        channel, self._channel = self._channel, None
        await self._link.close_channel(channel)

    async def handle(self, message: AbstractIncomingMessage) -> None:
        try:
            envelope = ConclusionEnvelope.model_validate_json(message.body)
        except ValidationError as error:
            log.warning("unreadable conclusion message %s: %s", message.message_id, error)
            await settle(message.reject(requeue=False), "dead-letter a conclusion")
            return
        report = envelope.payload
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(
                    select(conclusion_dispatches.c.sent_at).where(
                        conclusion_dispatches.c.id == report.dispatch_id
                    )
                )
            ).first()
        if row is None:
            log.warning("conclusion %s has no record; dead-lettered", report.dispatch_id)
            await settle(message.reject(requeue=False), "dead-letter a conclusion")
            return
        if row.sent_at is not None:
            await settle(message.ack(), "ack a conclusion sent before")
            return
        try:
            await self._sender.send(ConclusionMail(report, envelope.occurred_at), report.recipients)
        except Exception as error:
            log.warning("sending the conclusion %s failed: %r", report.dispatch_id, error)
            await settle(message.nack(requeue=True), "return a conclusion")
            return
        async with self._engine.begin() as conn:
            await conn.execute(
                update(conclusion_dispatches)
                .where(
                    conclusion_dispatches.c.id == report.dispatch_id,
                    conclusion_dispatches.c.sent_at.is_(None),
                )
                .values(sent_at=self._clock.now(), channel=self._channel_name)
            )
        log.info(
            "conclusion of centre %s for %s sent (%s)",
            report.centre,
            report.quarter,
            self._channel_name,
        )
        await settle(message.ack(), "ack a conclusion")


def mailer_sender(settings: Settings) -> tuple[DigestSender, str]:
    """The sender the settings name for conclusions, and that channel's name."""
    kind = (settings.conclusion_sender or settings.digest_sender).strip().lower()
    return sender_from_settings(settings.model_copy(update={"digest_sender": kind})), kind
