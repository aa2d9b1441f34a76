"""The daily digest: its wording, the senders, the recipients file and the schedule."""

from __future__ import annotations

import asyncio
import io
import json
from datetime import date, datetime, time, timedelta
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import pytest

from contracts.clock import ALMATY, ManualClock
from gateway.config import Settings
from gateway.reports import digest as digest_module
from gateway.reports.digest import Digest, Escalation, group_digests, next_run, run_daily
from gateway.reports.mail import (
    ConsoleSender,
    FileSender,
    SmtpSender,
    load_recipients,
    outbox_name,
    sender_from_settings,
)
from gateway.workdays import default_calendar

NOW = datetime(2026, 7, 8, 9, 0, tzinfo=ALMATY)


def item(agency: str, state: str, due: datetime, **kw: Any) -> Escalation:
    base: dict[str, Any] = dict(
        centre="almaty-bostandyk",
        agency=agency,
        plan_id="plan-1",
        plan_external_id="ИПР-2026-0001",
        task_id=f"task-{agency}-{state}",
        task_seq=1,
        task_title="Постановка на учёт <нуждающихся>",
        kind="routing",
        round=0,
        due_at=due,
        state=state,
    )
    base.update(kw)
    return Escalation(**base)


def sample() -> Digest:
    items = [
        item("housing", "at_risk", NOW + timedelta(hours=10)),
        item("housing", "breached", NOW - timedelta(days=2), kind="review", round=1, task_seq=2),
        item("education", "breached", NOW - timedelta(days=1), kind="due_date"),
        item("health", "at_risk", NOW + timedelta(hours=3), centre="other-centre"),
    ]
    digests = group_digests(items, NOW)
    assert [d.centre for d in digests] == ["almaty-bostandyk", "other-centre"]
    return digests[0]


def test_digest_groups_by_agency_breaches_first() -> None:
    d = sample()
    assert (d.breached, d.at_risk) == (2, 1)
    groups = d.by_agency()
    assert [name for name, _ in groups] == ["Жилищные отношения", "Образование"]
    housing = groups[0][1]
    assert [i.state for i in housing] == ["breached", "at_risk"]
    assert d.subject == (
        "ЦПС almaty-bostandyk: сроки по ИПР на 08.07.2026 — нарушено 2, под угрозой 1"
    )


def test_digest_text_names_plan_task_kind_and_almaty_due_time() -> None:
    text = sample().text
    assert "Руководителю центра поддержки семьи «almaty-bostandyk»" in text
    assert "Жилищные отношения (2)" in text
    assert (
        "[НАРУШЕН] ИПР ИПР-2026-0001, мероприятие № 2 «Постановка на учёт <нуждающихся>»: "
        "срок проверки отчёта центром (п. 11), раунд 1, срок 06.07.2026 09:00"
    ) in text
    assert "[под угрозой]" in text and "срок 08.07.2026 19:00" in text


def test_digest_html_escapes_and_has_a_table_per_agency() -> None:
    html = sample().html
    assert html.count("<table") == 2
    assert "&lt;нуждающихся&gt;" in html and "<нуждающихся>" not in html
    assert '<html lang="ru">' in html


async def test_file_sender_writes_a_readable_eml(tmp_path: Path) -> None:
    d = sample()
    sender = FileSender(tmp_path / "outbox", "gateway@example.kz")
    await sender.send(d, ["head@example.kz", "deputy@example.kz"])
    path = tmp_path / "outbox" / "2026-07-08-almaty-bostandyk.eml"
    assert path.exists() and outbox_name(d) == path.name
    message = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
    assert isinstance(message, EmailMessage)
    assert message["Subject"] == d.subject
    assert message["To"] == "head@example.kz, deputy@example.kz"
    assert message["X-Gateway-Centre"] == "almaty-bostandyk"
    plain = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert plain is not None and "Жилищные отношения (2)" in plain.get_content()
    assert html is not None and "<table" in html.get_content()
    # a second run the same day replaces the file: one digest per centre and day
    await sender.send(d, [])
    assert [p.name for p in (tmp_path / "outbox").iterdir()] == [path.name]
    again = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
    assert again["To"] == "undisclosed-recipients:;"


def test_outbox_name_is_a_safe_file_name() -> None:
    d = Digest("../етс/ centre", NOW, (), {})
    assert outbox_name(d) == "2026-07-08-.._centre.eml"
    assert "/" not in outbox_name(d)


async def test_console_sender_names_the_head_when_no_address() -> None:
    out = io.StringIO()
    await ConsoleSender(out).send(sample(), [])
    printed = out.getvalue()
    assert printed.startswith("Кому: руководитель ЦПС «almaty-bostandyk» (адрес не настроен)")
    assert "Тема: ЦПС almaty-bostandyk" in printed


def test_recipients_file(tmp_path: Path) -> None:
    good = tmp_path / "r.json"
    good.write_text(json.dumps({"c1": ["head@example.kz"], "c2": []}))
    assert load_recipients(good) == {"c1": ["head@example.kz"], "c2": []}
    assert load_recipients(None) == {}
    for content, message in [
        ("{", "not valid JSON"),
        ("[]", "expected an object"),
        ('{"c1": "head@example.kz"}', "list of e-mail"),
        ('{"c1": ["head"]}', "not e-mail"),
    ]:
        bad = tmp_path / "bad.json"
        bad.write_text(content)
        with pytest.raises(ValueError, match=message):
            load_recipients(bad)


def test_sender_from_settings(tmp_path: Path) -> None:
    assert isinstance(sender_from_settings(Settings(digest_sender="console")), ConsoleSender)
    file_sender = sender_from_settings(Settings(digest_outbox_dir=tmp_path))
    assert isinstance(file_sender, FileSender) and file_sender.directory == tmp_path
    assert isinstance(sender_from_settings(Settings(digest_sender="smtp")), SmtpSender)
    with pytest.raises(ValueError, match="console, file or smtp"):
        sender_from_settings(Settings(digest_sender="pigeon"))


class FakeSmtp:
    """Just enough of SMTP for smtplib: one message, kept in memory."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sender, rcpts = "", []
        writer.write(b"220 fake ESMTP\r\n")
        while line := await reader.readline():
            command = line.decode().strip()
            verb = command.split(" ", 1)[0].upper()
            if verb in ("EHLO", "HELO"):
                writer.write(b"250 fake\r\n")
            elif verb == "MAIL":
                sender = command[10:]
                writer.write(b"250 OK\r\n")
            elif verb == "RCPT":
                rcpts.append(command[8:])
                writer.write(b"250 OK\r\n")
            elif verb == "DATA":
                writer.write(b"354 go on\r\n")
                await writer.drain()
                data = await reader.readuntil(b"\r\n.\r\n")
                self.messages.append((sender, rcpts, data[:-5]))
                writer.write(b"250 queued\r\n")
            elif verb == "QUIT":
                writer.write(b"221 bye\r\n")
                await writer.drain()
                break
            else:
                writer.write(b"250 OK\r\n")
            await writer.drain()
        writer.close()


async def test_smtp_sender_against_an_in_process_server() -> None:
    fake = FakeSmtp()
    server = await asyncio.start_server(fake.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        sender = SmtpSender("127.0.0.1", port, sender="gateway@example.kz", timeout=5)
        await sender.send(sample(), ["head@example.kz"])
        await sender.send(sample(), [])  # no address: skipped, not an error
    finally:
        server.close()
        await server.wait_closed()
    assert len(fake.messages) == 1
    mail_from, rcpts, data = fake.messages[0]
    assert "gateway@example.kz" in mail_from and rcpts == ["<head@example.kz>"]
    message = BytesParser(policy=policy.default).parsebytes(data)
    assert message["Subject"] == sample().subject


# --- the schedule -------------------------------------------------------------------------


def test_next_run_skips_days_off_and_today_once_past() -> None:
    cal = default_calendar()
    at = time(9, 0)
    friday_noon = datetime(2026, 7, 3, 12, 0, tzinfo=ALMATY)
    # Saturday, Sunday, then Monday 6 July 2026 is a public holiday (Capital Day).
    assert next_run(friday_noon, at, cal) == datetime(2026, 7, 7, 9, 0, tzinfo=ALMATY)
    tuesday_early = datetime(2026, 7, 7, 8, 0, tzinfo=ALMATY)
    assert next_run(tuesday_early, at, cal) == datetime(2026, 7, 7, 9, 0, tzinfo=ALMATY)
    nine = datetime(2026, 7, 7, 9, 0, tzinfo=ALMATY)
    assert next_run(nine, at, cal) == nine
    assert next_run(nine, at, cal, not_on=date(2026, 7, 7)) == nine + timedelta(days=1)


async def test_run_daily_sends_once_per_working_day(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = ManualClock(datetime(2026, 7, 2, 15, 0, tzinfo=ALMATY))  # Thursday afternoon
    sent: list[datetime] = []
    slept: list[float] = []
    three = asyncio.Event()

    async def fake_send(engine: Any, sender: Any, now: datetime, **kw: Any) -> list[Digest]:
        sent.append(now)
        if len(sent) == 3:
            three.set()
        return []

    async def fake_sleep(seconds: float) -> None:
        assert seconds > 0
        slept.append(seconds)
        clock.advance(timedelta(seconds=seconds))
        await asyncio.sleep(0)

    monkeypatch.setattr(digest_module, "send_digests", fake_send)
    task = asyncio.create_task(
        run_daily(None, clock, ConsoleSender(), time(9, 0), sleep=fake_sleep)  # type: ignore[arg-type]
    )
    try:
        await asyncio.wait_for(three.wait(), timeout=5)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    # Friday 3rd, then not Sat 4th, Sun 5th nor the holiday Mon 6th: Tue 7th, Wed 8th.
    assert [s.astimezone(ALMATY).date().day for s in sent] == [3, 7, 8]
    assert all(s.astimezone(ALMATY).time() == time(9, 0) for s in sent)
    assert max(slept) <= digest_module.MAX_SLEEP_SECONDS


async def test_run_daily_keeps_going_after_a_failed_send(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = ManualClock(datetime(2026, 7, 7, 8, 59, tzinfo=ALMATY))
    calls: list[datetime] = []
    two = asyncio.Event()

    async def failing(engine: Any, sender: Any, now: datetime, **kw: Any) -> list[Digest]:
        calls.append(now)
        if len(calls) == 2:
            two.set()
        raise RuntimeError("store down")

    async def fake_sleep(seconds: float) -> None:
        clock.advance(timedelta(seconds=seconds))
        await asyncio.sleep(0)

    monkeypatch.setattr(digest_module, "send_digests", failing)
    task = asyncio.create_task(
        run_daily(None, clock, ConsoleSender(), sleep=fake_sleep)  # type: ignore[arg-type]
    )
    try:
        await asyncio.wait_for(two.wait(), timeout=5)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert [c.astimezone(ALMATY).date().day for c in calls] == [7, 8]


def test_runtime_knows_the_digest_component(tmp_path: Path) -> None:
    from contracts.clock import SystemClock
    from gateway import runtime

    assert "digest" in runtime.COMPONENTS
    worker = runtime._digest_worker(Settings(digest_sender="console"), None, SystemClock())  # type: ignore[arg-type]
    assert callable(worker)
    bad = tmp_path / "recipients.json"
    bad.write_text('{"c": ["nobody"]}')
    with pytest.raises(ValueError, match="not e-mail"):
        runtime._digest_worker(Settings(digest_recipients=bad), None, SystemClock())  # type: ignore[arg-type]
