"""The portal notifier: delivers what the gateway owes the e-government portal.

It consumes `{p}.portal.egov`, the queue the outbox relay publishes the portal's
notices to (`contracts/portal_notices.py`), one at a time and in order (an application
must be `forwarded` on the portal before it is `answered`), and calls the portal through
`adapters/egov` with the message id as the Idempotency-Key. Exactly once at the portal,
at least once on the way:

- a relay that crashed between publishing and marking publishes the notice again; the
  second copy reaches the portal with the same key and the portal answers it with the
  first answer, notifying nobody twice (the inbox also skips a copy already delivered);
- the inbox row and the timeline entry are written after the portal answered and before
  the ack, so a crash between the two redelivers, and the key makes that harmless;
- a portal that is down is waited for: the notice stays unacknowledged at the head of
  the queue and is tried again with a growing pause, and nothing behind it overtakes it;
- a notice the portal refuses as wrong (4xx naming a field) will never succeed: it goes
  on the case's timeline with the portal's reason and is acknowledged.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Protocol

from aio_pika.abc import AbstractChannel, AbstractConnection, AbstractIncomingMessage
from pydantic import TypeAdapter, ValidationError
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.egov.models import (
    AppealStatus,
    CabinetNotification,
    SmsMessage,
)
from adapters.http_discipline import UpstreamNotFound, UpstreamRejected
from contracts.amqp import PORTAL_ROUTING_KEY
from contracts.clock import Clock
from contracts.portal_notices import (
    CabinetNoticeEnvelope,
    PortalNotice,
    PortalStatusEnvelope,
    SmsNoticeEnvelope,
)
from gateway.broker.connection import BrokerLink, settle
from gateway.broker.dead_letters import park
from gateway.services import tasks, timeline
from gateway.services.context import Context

log = logging.getLogger("gateway.portal")

CONSUMER = "portal-notifier"
ACTOR = "gateway:portal-notifier"
_NOTICE: TypeAdapter[PortalNotice] = TypeAdapter(PortalNotice)


class Portal(Protocol):
    """What the notifier needs of `adapters.egov.EgovClient`."""

    async def set_status(
        self,
        appeal_id: str,
        status: AppealStatus,
        *,
        district_office: str | None = None,
        result: str | None = None,
        comment: str | None = None,
    ) -> Any: ...

    async def notify_cabinet(
        self, note: CabinetNotification, *, idempotency_key: str | None = None
    ) -> Any: ...

    async def send_sms(self, sms: SmsMessage, *, idempotency_key: str | None = None) -> Any: ...


class PortalNotifier:
    def __init__(
        self,
        engine: AsyncEngine,
        link: BrokerLink,
        ctx: Context,
        clock: Clock,
        portal: Portal,
        *,
        first_pause: float = 0.5,
        max_pause: float = 30.0,
    ) -> None:
        self._engine = engine
        self._link = link
        self._ctx = ctx
        self._clock = clock
        self._portal = portal
        self._first_pause = first_pause
        self._max_pause = max_pause
        self._channel: AbstractChannel | None = None
        self.delivered = 0

    async def start(self) -> None:
        await self._link.attach(self._attach)

    async def _attach(self, connection: AbstractConnection) -> None:
        channel = await self._link.channel(connection, "portal notifier", publisher_confirms=True)
        await channel.set_qos(prefetch_count=1)
        queue = await channel.get_queue(self._ctx.topology.portal_queue, ensure=False)
        await queue.consume(self.handle)
        self._channel = channel

    async def stop(self) -> None:
        self._link.detach(self._attach)
        channel, self._channel = self._channel, None
        await self._link.close_channel(channel)

    async def handle(self, message: AbstractIncomingMessage) -> None:
        try:
            notice = _NOTICE.validate_json(message.body)
        except ValidationError as error:
            await self._dead_letter(message, f"invalid portal notice: {error}")
            return
        message_id = str(notice.message_id)
        async with self._engine.connect() as conn:
            seen = await tasks.already_handled(conn, message_id)
        if seen:
            await settle(message.ack(), "ack a portal notice delivered before")
            return
        pause = self._first_pause
        while True:
            try:
                answer = await self._deliver(notice)
                outcome, detail = "citizen_notified", answer
                break
            except (UpstreamRejected, UpstreamNotFound) as error:
                outcome, detail = "portal_refused_notice", {"reason": str(error)[:500]}
                break
            except asyncio.CancelledError:
                raise
            except Exception as error:  # down, slow, breaker open: wait and try again
                log.warning(
                    "portal did not take notice %s (%s); trying again in %.1f s",
                    message_id,
                    type(error).__name__,
                    pause,
                )
                await asyncio.sleep(pause)
                pause = min(pause * 2, self._max_pause)
        async with self._engine.begin() as conn:
            now = self._clock.now()
            if await tasks.claim_message(conn, message_id, CONSUMER, now):
                await timeline.record(
                    conn,
                    plan_id=notice.correlation_id,
                    at=now,
                    actor=ACTOR,
                    type=outcome,
                    data={"notice": notice.type.value, "message_id": message_id, **detail},
                )
        self.delivered += outcome == "citizen_notified"
        await settle(message.ack(), "ack a portal notice")

    async def _deliver(self, notice: PortalNotice) -> dict[str, Any]:
        key = str(notice.message_id)
        if isinstance(notice, PortalStatusEnvelope):
            p = notice.payload
            await self._portal.set_status(
                p.appeal_id,
                AppealStatus(p.status),
                district_office=p.district_office,
                result=p.result,
                comment=p.comment,
            )
            return {"status": p.status}
        if isinstance(notice, CabinetNoticeEnvelope):
            c = notice.payload
            receipt = await self._portal.notify_cabinet(
                CabinetNotification(
                    iin=c.iin,
                    title=c.title,
                    text=c.text,
                    appeal_id=c.appeal_id,
                    document_url=c.document_url,
                ),
                idempotency_key=key,
            )
            return {"portal_id": str(getattr(receipt, "id", ""))}
        assert isinstance(notice, SmsNoticeEnvelope)
        s = notice.payload
        receipt = await self._portal.send_sms(
            SmsMessage(phone=s.phone, text=s.text, appeal_id=s.appeal_id), idempotency_key=key
        )
        return {"portal_id": str(getattr(receipt, "id", ""))}

    async def _dead_letter(self, message: AbstractIncomingMessage, error: str) -> None:
        await park(
            self._channel,
            message,
            error,
            dead_letter_exchange=self._ctx.topology.dead_letter_exchange,
            routing_key=PORTAL_ROUTING_KEY,
            source_queue=self._ctx.topology.portal_queue,
        )
