"""What the citizen is told, written to the outbox with the change that caused it.

Order 109 p.10: the result or the refusal goes to the applicant by SMS and to the
personal cabinet; the portal shows the application's status as it moves. Each is one
outbox row in the caller's transaction (so a decision and its notice commit together or
not at all), published by the one relay to the portal queue and delivered by
`gateway.broker.portal_notifier` with the row's message id as the Idempotency-Key: the
portal counts each notice once however often a crash makes us send it.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncConnection

from contracts.amqp import PORTAL_ROUTING_KEY
from contracts.portal_notices import (
    CabinetNotice,
    CabinetNoticeEnvelope,
    PortalStatus,
    PortalStatusEnvelope,
    SmsNotice,
    SmsNoticeEnvelope,
)
from gateway.domain.e_application_form import normal_phone
from gateway.ids import new_uuid
from gateway.services import outbox
from gateway.services.context import Context

#: The portal refuses an SMS longer than this many UCS-2 segments; the cabinet has the rest.
SMS_LIMIT = 300


async def _enqueue(
    conn: AsyncConnection, ctx: Context, envelope: BaseModel, kind: str, case_id: str, now: datetime
) -> None:
    await outbox.enqueue(
        conn,
        envelope,
        message_id=str(envelope.message_id),  # type: ignore[attr-defined]
        message_type=kind,
        exchange=ctx.topology.tasks_exchange,
        routing_key=PORTAL_ROUTING_KEY,
        plan_id=case_id,
        task_id=None,
        now=now,
    )


async def portal_status(
    conn: AsyncConnection, ctx: Context, case_id: str, status: PortalStatus, now: datetime
) -> None:
    envelope = PortalStatusEnvelope(
        message_id=new_uuid(), correlation_id=case_id, occurred_at=now, payload=status
    )
    await _enqueue(conn, ctx, envelope, envelope.type.value, case_id, now)


async def tell_citizen(
    conn: AsyncConnection,
    ctx: Context,
    case_id: str,
    *,
    iin: str | None,
    phone: str | None,
    title: str,
    text: str,
    sms: str,
    appeal_id: str | None,
    document_url: str | None = None,
    now: datetime,
) -> int:
    """The cabinet notice and the SMS; returns how many were queued (a form refused for a
    bad IIN has no cabinet to go to, one with a bad phone no SMS)."""
    queued = 0
    if iin is not None:
        cabinet = CabinetNoticeEnvelope(
            message_id=new_uuid(),
            correlation_id=case_id,
            occurred_at=now,
            payload=CabinetNotice(
                iin=iin,
                title=title[:200],
                text=text[:4000],
                appeal_id=appeal_id,
                document_url=document_url,
            ),
        )
        await _enqueue(conn, ctx, cabinet, cabinet.type.value, case_id, now)
        queued += 1
    number = normal_phone(phone or "")
    if number is not None:
        message = SmsNoticeEnvelope(
            message_id=new_uuid(),
            correlation_id=case_id,
            occurred_at=now,
            payload=SmsNotice(phone=number, text=sms[:SMS_LIMIT], appeal_id=appeal_id),
        )
        await _enqueue(conn, ctx, message, message.type.value, case_id, now)
        queued += 1
    return queued
