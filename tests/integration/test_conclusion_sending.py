"""The quarterly conclusion goes to the authorised body once per quarter and centre.

Through the real outbox relay and broker, on both stores, with the mailer sending by the
file sender (an .eml an operator can open); time moves by the injected clock.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage, Message
from pathlib import Path

import pytest
from sqlalchemy import select

from contracts.amqp import REPORTS_ROUTING_KEY, persistent_message
from gateway.errors import Conflict
from gateway.reports.conclusion_mailer import ConclusionMailer
from gateway.reports.mail import Digest, FileSender
from gateway.reports.quarter import parse_quarter
from gateway.reports.quarterly import build_quarterly_report
from gateway.services.conclusions import find_dispatch, request_sending
from gateway.store.tables import conclusion_dispatches, incidents, outbox
from tests.integration.harness import Harness, eventually, plan_body

pytestmark = pytest.mark.integration

AUTHORITY = ("monitoring@authority.example.kz",)


class Recording:
    """The file sender, counting what it was asked to send (or failing on purpose)."""

    def __init__(self, directory: Path, *, fail: bool = False) -> None:
        self.file = FileSender(directory)
        self.sent: list[tuple[str, list[str]]] = []
        self.fail = fail

    async def send(self, digest: Digest, recipients: Sequence[str]) -> None:
        if self.fail:
            raise ConnectionRefusedError("smtp down")
        await self.file.send(digest, recipients)
        self.sent.append((digest.subject, list(recipients)))


def _eml(path: Path) -> EmailMessage:
    message: Message = message_from_bytes(path.read_bytes(), policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


async def test_the_conclusion_is_sent_once_per_quarter_and_centre(
    harness: Harness, tmp_path: Path
) -> None:
    h = harness
    sender = Recording(tmp_path)
    mailer = ConclusionMailer(h.engine, h.link, h.topology, h.clock, sender, channel_name="file")
    await mailer.start()
    try:
        h.clock.set(datetime(2026, 8, 10, 6, 0, tzinfo=UTC))
        assert (await h.submit(plan_body(h.centre, approved_at=h.clock.now()))).status_code == 201
        quarter = parse_quarter("2026Q3")

        # Before the quarter ends the report is preliminary: nothing is sent.
        early = await build_quarterly_report(
            h.engine, h.centre, quarter, source=None, now=h.clock.now()
        )
        with pytest.raises(Conflict, match="not over"):
            await request_sending(
                h.engine, h.ctx, early, recipients=AUTHORITY, actor="staff:head", now=h.clock.now()
            )

        h.clock.set(datetime(2026, 10, 1, 4, 0, tzinfo=UTC))  # 1 October, 09:00 Almaty
        report = await build_quarterly_report(
            h.engine, h.centre, quarter, source=None, now=h.clock.now()
        )
        assert not report.preliminary and report.total.received == 4
        dispatch = await request_sending(
            h.engine, h.ctx, report, recipients=AUTHORITY, actor="staff:head", now=h.clock.now()
        )
        h.relay.wake()
        with pytest.raises(Conflict, match="once per quarter"):
            await request_sending(
                h.engine,
                h.ctx,
                report,
                recipients=AUTHORITY,
                actor="staff:other",
                now=h.clock.now(),
            )

        async def sent() -> bool:
            async with h.engine.connect() as conn:
                found = await find_dispatch(conn, h.centre, quarter)
            return found is not None and found.sent_at is not None

        await eventually(sent, timeout=15)
        async with h.engine.connect() as conn:
            found = await find_dispatch(conn, h.centre, quarter)
            rows = (
                await conn.execute(
                    select(conclusion_dispatches).where(conclusion_dispatches.c.centre == h.centre)
                )
            ).all()
            queued = (
                await conn.execute(select(outbox).where(outbox.c.plan_id == dispatch.id))
            ).one()
        assert len(rows) == 1 and found is not None
        assert found.channel == "file" and found.requested_by == "staff:head"
        assert found.recipients == AUTHORITY
        assert queued.exchange == h.topology.reports_exchange and queued.published_at is not None

        eml = _eml(tmp_path / f"conclusion-2026Q3-{h.centre}.eml")
        assert eml["To"] == AUTHORITY[0]
        assert "за III квартал 2026" in str(eml["Subject"]) and "п. 14" in str(eml["Subject"])
        body = eml.get_body(preferencelist=("plain",))
        assert body is not None
        text = body.get_content()
        assert "Заключение по итогам мониторинга" in text and "Сроки центра" in text
        assert "Поступило" in text
        for member in plan_body(h.centre)["family"]["members"]:
            assert member["iin"] not in text  # figures, no family's IIN

        # A redelivered message (a lost ack) sends no second mail.
        exchange = await h.channel.get_exchange(h.topology.reports_exchange, ensure=False)
        await exchange.publish(
            persistent_message(
                queued.body.encode(),
                message_id=queued.message_id,
                correlation_id=dispatch.id,
                message_type=queued.message_type,
            ),
            routing_key=REPORTS_ROUTING_KEY,
        )
        queue = await h.channel.get_queue(h.topology.reports_queue, ensure=False)

        async def drained() -> bool:
            declared = await h.channel.declare_queue(queue.name, passive=True)
            return declared.declaration_result.message_count == 0

        await eventually(drained)
        assert len(sender.sent) == 1
    finally:
        await mailer.stop()


async def test_a_conclusion_that_cannot_be_sent_becomes_an_incident(
    harness: Harness, tmp_path: Path
) -> None:
    h = harness
    sender = Recording(tmp_path, fail=True)
    mailer = ConclusionMailer(h.engine, h.link, h.topology, h.clock, sender, channel_name="smtp")
    await mailer.start()
    try:
        h.clock.set(datetime(2026, 10, 2, 4, 0, tzinfo=UTC))
        report = await build_quarterly_report(
            h.engine, h.centre, parse_quarter("2026Q3"), source=None, now=h.clock.now()
        )
        await request_sending(
            h.engine, h.ctx, report, recipients=AUTHORITY, actor="staff:head", now=h.clock.now()
        )
        h.relay.wake()

        async def recorded() -> bool:
            async with h.engine.connect() as conn:
                rows = (
                    await conn.execute(
                        select(incidents).where(incidents.c.queue == h.topology.reports_queue)
                    )
                ).all()
            return len(rows) == 1

        await eventually(recorded, timeout=20)
        async with h.engine.connect() as conn:
            found = await find_dispatch(conn, h.centre, parse_quarter("2026Q3"))
        assert found is not None and found.sent_at is None  # not claimed as sent
    finally:
        await mailer.stop()
