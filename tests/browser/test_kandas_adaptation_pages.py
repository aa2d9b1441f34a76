"""The adaptation pages in Chromium against the running system: the career centre of
settlement watches its family's plan appear while `gateway demo kandas-adaptation` runs,
without a reload, with the upload term's colour; the workforce development centre sees the
act's band inconsistency, in Russian and in Kazakh."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.system import System, free_port

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

LIVE = 120_000


def _up(system: System) -> dict[str, Any]:
    ports = [str(free_port()) for _ in range(9)]
    system.start(
        "up", "up", "--work-seconds", "0.1",
        "--shep-port", ports[0], "--egov-port", ports[1], "--kandas-port", ports[2],
        "--agencies-admin-port", ports[3], "--migration-portal-port", ports[4],
        "--labour-market-port", ports[5], "--ca-port", ports[6], "--family-card-port", ports[7],
        "--kandas-bodies-admin-port", ports[8],
        GATEWAY_SESSION_SECRET="browser-test-secret-" + "x" * 20,
    )  # fmt: skip
    system.wait_ready(timeout=60)
    credentials = system.root / "credentials.json"
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if credentials.exists() and "wdc-s" in json.loads(credentials.read_text() or "{}").get(
            "staff", {}
        ):
            break
        time.sleep(0.2)
    data: dict[str, Any] = json.loads(credentials.read_text())
    return data


def _sign_in(page: Any, system: System, login: str, password: str) -> None:
    page.goto(f"{system.url}/web/login")
    page.get_by_label("Логин").fill(login)
    page.get_by_label("Пароль").fill(password)
    page.get_by_role("button", name="Войти").click()
    page.wait_for_url(re.compile(r"/web/cases$"))


def test_the_career_centre_sees_the_plan_arrive_live_and_the_evaluator_the_bands(
    system: System, chromium_contexts: Any, screenshots: Path
) -> None:
    creds = _up(system)
    centre = chromium_contexts("career-centre").new_page()
    _sign_in(centre, system, "cc_north_kazakhstan-s", creds["staff"]["cc_north_kazakhstan-s"])
    centre.get_by_role("link", name="Адаптация кандасов").click()
    centre.wait_for_url(re.compile(r"/web/kandas/adaptations$"))
    assert centre.locator("[data-adaptation]").count() == 0
    centre.evaluate("() => { window.__stayed = true; }")

    demo = system.start("demo", "demo", "kandas-adaptation", "--timeout", "80")
    row = centre.locator("[data-adaptation]")
    row.wait_for(timeout=LIVE)
    assert centre.evaluate("() => window.__stayed === true")  # no reload
    assert demo.wait(timeout=150) == 0, system.log("demo")[-3000:]
    centre.screenshot(path=str(screenshots / "kandas-adaptations-1280.png"), full_page=True)
    row.get_by_role("link").click()
    centre.wait_for_url(re.compile(r"/web/kandas/adaptations/[0-9a-f-]+$"))
    text = centre.content()
    assert "Регистрация кандаса и его семьи в базе «Мобильные граждане»" in text
    assert "выгружен" in text and "передан в АИС «Кандас»" in text
    centre.get_by_role("link", name="Отчёт (прил. 3)").click()
    centre.wait_for_url(re.compile(r"/web/kandas/monthly"))
    assert centre.locator("table.report27 thead tr").first.locator("th").count() == 27

    evaluator = chromium_contexts("evaluator").new_page()
    _sign_in(evaluator, system, "wdc-s", creds["staff"]["wdc-s"])
    evaluator.goto(f"{system.url}/web/kandas/quality")
    box = evaluator.locator("#band-inconsistency")
    assert "доходит до 25" in box.inner_text()
    assert "два уровня" in evaluator.content()
    evaluator.screenshot(path=str(screenshots / "kandas-quality-1280.png"), full_page=True)
    evaluator.get_by_role("link", name="Қазақша").click()
    evaluator.wait_for_url(re.compile(r"/web/kandas/quality"))
    assert "Бұйрықтың шкаласы" in evaluator.locator("#band-inconsistency").inner_text()
