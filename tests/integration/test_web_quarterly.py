"""The quarterly page: the current quarter by default, the choice shown, the conclusion sent."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gateway.reports.conclusion_mailer import ConclusionMailer
from gateway.reports.mail import FileSender
from gateway.services.staff import StaffRole
from tests.integration.harness import Harness, eventually, plan_body
from tests.integration.test_web_workspace import add_person, csrf_of, sign_in

pytestmark = pytest.mark.integration


async def test_the_page_defaults_to_the_current_quarter_and_sends_the_conclusion(
    harness: Harness, tmp_path: Path
) -> None:
    h = harness
    mailer = ConclusionMailer(
        h.engine, h.link, h.topology, h.clock, FileSender(tmp_path), channel_name="file"
    )
    await mailer.start()
    try:
        h.clock.set(datetime(2026, 8, 10, 6, 0, tzinfo=UTC))
        assert (await h.submit(plan_body(h.centre, approved_at=h.clock.now()))).status_code == 201
        h.clock.set(datetime(2026, 8, 10, 6, 5, tzinfo=UTC))  # the report counts before "now"
        head = await add_person(h, f"h{uuid.uuid4().hex[:6]}", role=StaffRole.head)
        client = await sign_in(h, head.login)

        page = await client.get("/web/reports/quarterly")
        assert page.status_code == 200
        assert 'value="2026Q3" selected' in page.text  # the current quarter, chosen
        assert "Показан отчёт за III квартал 2026 г. (2026Q3) — текущий квартал" in page.text
        assert 'value="2026Q2"' in page.text and 'value="2024Q4"' in page.text
        assert re.search(r"Итого</td>\s*<td[^>]*>[^<]*</td>\s*<td[^>]*>4</td>", page.text)
        assert "отправляется после окончания квартала" in page.text
        assert 'id="send-conclusion"' not in page.text

        h.clock.set(datetime(2026, 10, 5, 4, 0, tzinfo=UTC))
        client = await sign_in(h, head.login)  # a new day, a new session
        page = await client.get("/web/reports/quarterly?quarter=2026Q3")
        assert page.status_code == 200, page.text[-2000:]
        assert "текущий квартал" not in page.text.split('id="report-shown"')[1].split("</p>")[0]
        assert 'id="send-conclusion"' in page.text
        sent = await client.post(
            "/web/reports/quarterly/send", data={"csrf": csrf_of(page), "quarter": "2026Q3"}
        )
        assert sent.status_code == 303
        queued = await client.get(sent.headers["location"])
        assert "Заключение поставлено в очередь на отправку." in queued.text

        async def shown_sent() -> bool:
            page = await client.get("/web/reports/quarterly?quarter=2026Q3")
            return "Отправлено 05.10.2026" in page.text

        await eventually(shown_sent, timeout=15)
        assert (tmp_path / f"conclusion-2026Q3-{h.centre}.eml").exists()
        again = await client.post(
            "/web/reports/quarterly/send", data={"csrf": csrf_of(page), "quarter": "2026Q3"}
        )
        assert again.status_code == 409 and "once per quarter" in again.text
    finally:
        await mailer.stop()
