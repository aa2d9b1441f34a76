"""Sending a centre's quarterly conclusion to the authorised body (order 192 p.14).

Once per centre and quarter: the record (`conclusion_dispatches`, unique on centre and
quarter) and its message go into the store in one transaction, through the one outbox;
the relay publishes it on the reports exchange and the mailer (`gateway.reports.
conclusion_mailer`) sends it on and records when. Only a finished quarter is sent: a
preliminary report would be a different document next week.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from contracts.amqp import REPORTS_ROUTING_KEY
from contracts.messages import ConclusionEnvelope, ConclusionReport, MessageType
from gateway.errors import Conflict, InvalidInput
from gateway.ids import new_id, new_uuid
from gateway.reports.export import to_text, when
from gateway.reports.quarter import Quarter
from gateway.reports.quarterly import QuarterlyReport
from gateway.services import outbox
from gateway.services.context import Context
from gateway.store.tables import conclusion_dispatches


@dataclass(frozen=True)
class Dispatch:
    id: str
    centre: str
    quarter: str
    requested_at: datetime
    requested_by: str
    recipients: tuple[str, ...]
    subject: str
    sent_at: datetime | None
    channel: str | None


def _dispatch(row: Any) -> Dispatch:
    return Dispatch(
        id=row.id,
        centre=row.centre,
        quarter=row.quarter,
        requested_at=row.requested_at,
        requested_by=row.requested_by,
        recipients=tuple(row.recipients or ()),
        subject=row.subject,
        sent_at=row.sent_at,
        channel=row.channel,
    )


def subject_of(report: QuarterlyReport) -> str:
    return (
        f"Заключение ЦПС «{report.centre}» по итогам мониторинга ИПР за "
        f"{report.quarter.title_ru} (приказ № 192, п. 14)"
    )


async def find_dispatch(conn: AsyncConnection, centre: str, quarter: Quarter) -> Dispatch | None:
    row = (
        await conn.execute(
            select(conclusion_dispatches).where(
                conclusion_dispatches.c.centre == centre,
                conclusion_dispatches.c.quarter == quarter.label,
            )
        )
    ).first()
    return None if row is None else _dispatch(row)


def _already(found: Dispatch) -> Conflict:
    state = f"sent {when(found.sent_at)}" if found.sent_at else "queued for sending"
    return Conflict(
        f"the conclusion of centre '{found.centre}' for {found.quarter} was already "
        f"requested {when(found.requested_at)} by {found.requested_by} ({state}); "
        "it is sent once per quarter"
    )


async def request_sending(
    engine: AsyncEngine,
    ctx: Context,
    report: QuarterlyReport,
    *,
    recipients: tuple[str, ...],
    actor: str,
    now: datetime,
) -> Dispatch:
    """Record the conclusion and queue its message; Conflict when already done or early."""
    if report.preliminary:
        raise Conflict(
            f"{report.quarter.label} is not over yet (the report is preliminary); the "
            "conclusion is sent after the quarter ends"
        )
    if not recipients:
        raise InvalidInput.field(
            "recipients",
            "no address of the authorised body: set GATEWAY_CONCLUSION_RECIPIENTS",
        )
    dispatch_id = new_id()
    message_id = new_uuid()
    subject = subject_of(report)
    envelope = ConclusionEnvelope(
        message_id=message_id,
        correlation_id=dispatch_id,
        occurred_at=now,
        payload=ConclusionReport(
            dispatch_id=dispatch_id,
            centre=report.centre,
            quarter=report.quarter.label,
            subject=subject,
            text=to_text(report),
            recipients=list(recipients),
        ),
    )
    try:
        async with engine.begin() as conn:
            found = await find_dispatch(conn, report.centre, report.quarter)
            if found is not None:
                raise _already(found)
            await conn.execute(
                insert(conclusion_dispatches).values(
                    id=dispatch_id,
                    centre=report.centre,
                    quarter=report.quarter.label,
                    message_id=str(message_id),
                    requested_at=now,
                    requested_by=actor,
                    recipients=list(recipients),
                    subject=subject,
                )
            )
            await outbox.enqueue(
                conn,
                envelope,
                message_id=str(message_id),
                message_type=MessageType.report_conclusion,
                exchange=ctx.topology.reports_exchange,
                routing_key=REPORTS_ROUTING_KEY,
                plan_id=dispatch_id,
                task_id=None,
                now=now,
            )
    except IntegrityError:
        # Two requests raced past the check; the unique key let one through.
        async with engine.connect() as conn:
            found = await find_dispatch(conn, report.centre, report.quarter)
        if found is None:
            raise
        raise _already(found) from None
    return Dispatch(
        dispatch_id,
        report.centre,
        report.quarter.label,
        now,
        actor,
        recipients,
        subject,
        None,
        None,
    )
