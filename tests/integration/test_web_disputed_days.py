"""A deadline whose term crosses a disputed calendar day is flagged on the plan's page."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from gateway.calendar_sources import ENV_DISPUTES, add_dispute
from tests.integration.harness import Harness, plan_body
from tests.integration.test_web_workspace import add_person, sign_in

pytestmark = pytest.mark.integration

FLAG = "Срок проходит через оспариваемый день календаря"


async def test_plan_pages_flag_terms_that_cross_a_disputed_day(
    harness: Harness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = harness
    monkeypatch.setenv(ENV_DISPUTES, str(tmp_path / "disputes.json"))
    person = await add_person(h, f"w{uuid.uuid4().hex[:6]}")
    # Approved on Friday 28 August 2026: the routing term (2 working days) runs through
    # Monday 31 August, which the sources disagree on (gateway/data/calendar_disputes.json).
    h.clock.set(datetime(2026, 8, 28, 5, 0, tzinfo=UTC))
    crossing = (
        await h.submit(plan_body(h.centre, agencies=("health",), approved_at=h.clock.now()))
    ).json()["id"]
    h.clock.set(datetime(2026, 9, 8, 5, 0, tzinfo=UTC))
    clear = (
        await h.submit(plan_body(h.centre, agencies=("health",), approved_at=h.clock.now()))
    ).json()["id"]
    client = await sign_in(h, person.login)

    page = await client.get(f"/web/plans/{crossing}")
    assert page.status_code == 200
    assert page.text.count(FLAG) == 1  # the routing term; the body's due date is in 2027
    assert "31.08.2026 — День Конституции" in page.text
    other = await client.get(f"/web/plans/{clear}")
    assert FLAG not in other.text

    # An operator marks another day disputed: it shows at once, without a restart.
    add_dispute(date(2026, 9, 9), "ожидается постановление о переносе")
    other = await client.get(f"/web/plans/{clear}")
    assert other.text.count(FLAG) == 1 and "09.09.2026 — ожидается постановление" in other.text
    kazakh = await client.get("/web/lang/kk", params={"next": f"/web/plans/{clear}"})
    assert kazakh.status_code in (302, 303, 307)
    other = await client.get(f"/web/plans/{clear}")
    assert "Мерзім күнтізбенің даулы күні арқылы өтеді" in other.text
