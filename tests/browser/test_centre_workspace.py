"""A centre's worker in a real browser against the real system (gateway and mock bodies
as processes): sign in, watch a plan arrive and move without reloading, accept one
report, return another, accept its rework, see the plan completed."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.system import System, free_port
from tests.integration.harness import plan_body

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

CENTRE = "demo-centre"
PASSWORD = "Сложный-пароль-1"
LIVE = 30_000  # ms: the mock bodies work a second or so per step


def add_staff(system: System, login: str, centre: str, role: str = "worker") -> None:
    result = system.gateway(
        "staff", "add", "--login", login, "--name", f"Сотрудник {login}",
        "--centre", centre, "--role", role, "--password", PASSWORD,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr


def centre_key(system: System) -> str:
    """The centre's key, the centre put in the register first (its key is refused otherwise)."""
    registered = system.gateway(
        "centres", "add", CENTRE, "--name-ru", "ЦПС", "--name-kk", "Отбасыны қолдау орталығы"
    )
    assert registered.returncode == 0, registered.stderr
    result = system.gateway(
        "clients", "add", "--kind", "centre", "--scope", CENTRE, "--name", "ЦПС"
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def sign_in(page: Any, system: System, login: str) -> None:
    page.goto(f"{system.url}/web/login")
    page.get_by_label("Логин").fill(login)
    page.get_by_label("Пароль").fill(PASSWORD)
    page.get_by_role("button", name="Войти").click()
    page.wait_for_url(re.compile(r"/web/$"))


def task_ids(system: System, key: str, plan_id: str) -> dict[str, str]:
    plan = httpx.get(
        f"{system.url}/api/v1/plans/{plan_id}",
        headers={"Authorization": f"Bearer {key}"},
        timeout=5,
    ).json()
    return {t["agency"]: t["id"] for t in plan["tasks"]}


def not_reloaded(page: Any) -> bool:
    return bool(page.evaluate("() => window.__stayed === true"))


def test_worker_reviews_a_plan_live_in_the_browser(
    system: System, chromium: Any, screenshots: Path
) -> None:
    card_url = start_family_card(system)
    system.start_gateway(
        GATEWAY_SESSION_SECRET="browser-test-secret-" + "x" * 20, GATEWAY_FAMILY_CARD_URL=card_url
    )
    system.start(
        "mocks", "mocks", "agencies", "run", "--work-seconds", "0.4",
        "--rework-rate", "1", "--state-dir", str(system.mock_state), "--admin-port", "0",
    )  # fmt: skip
    key = centre_key(system)
    add_staff(system, "anna", CENTRE)
    add_staff(system, "stranger", "other-centre")
    add_staff(system, "head", CENTRE, role="head")

    page = chromium.new_page()
    sign_in(page, system, "anna")
    assert page.locator("html").get_attribute("lang") == "ru"
    assert page.get_by_text("Планов не найдено.").is_visible()
    page.evaluate("() => { window.__stayed = true; }")
    page.wait_for_selector("#live-status:has-text('Обновляется автоматически')")

    # A plan submitted by the centre's system after the page opened appears by itself.
    body = plan_body(CENTRE, agencies=("health", "housing"), approved_at=datetime.now(UTC))
    response = httpx.post(
        f"{system.url}/api/v1/plans",
        json=body,
        headers={"Authorization": f"Bearer {key}"},
        timeout=10,
    )
    assert response.status_code == 201, response.text
    plan_id = response.json()["id"]
    link = page.locator(f"#plan-link-{plan_id}")
    link.wait_for(timeout=LIVE)
    assert not_reloaded(page)
    iin = body["family"]["members"][0]["iin"]
    assert iin not in page.content()

    # The bodies report; the chips follow live until both reports are in.
    page.wait_for_selector(
        f"tr[data-plan='{plan_id}'] .chip:nth-child(2) .chip-state:has-text('Отчёт получен')",
        timeout=LIVE,
    )
    page.wait_for_selector(
        f"tr[data-plan='{plan_id}'] .chip:nth-child(1) .chip-state:has-text('Отчёт получен')",
        timeout=LIVE,
    )
    assert not_reloaded(page)
    page.screenshot(path=str(screenshots / "plan-list-1280.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(screenshots / "plan-list-390.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})

    # Keyboard: the first Tab reaches the skip link, Enter on the plan link opens it.
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.className") == "skip"
    link.focus()
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/web/plans/{plan_id}")
    ids = task_ids(system, key, plan_id)

    page.locator(f"#accept-{ids['health']}").click()
    page.wait_for_url(re.compile(r"msg=accepted"))
    assert page.get_by_text("Отчёт принят.").first.is_visible()

    page.locator(f"#return-summary-{ids['housing']}").click()
    page.get_by_label("Причина возврата (обязательно)").fill("Нет акта обследования жилья")
    page.locator(f"#send-return-{ids['housing']}").click()
    page.wait_for_url(re.compile(r"msg=returned"))
    page.evaluate("() => { window.__stayed = true; }")
    housing = page.locator(f"#task-{ids['housing']}")
    assert "Нет акта обследования жилья" in housing.inner_text()

    # The body reworks the returned task; the new report shows up without a reload.
    page.locator(f"#accept-{ids['housing']}").wait_for(timeout=LIVE)
    assert not_reloaded(page)
    assert "доработка 1" in page.locator(f"#task-{ids['housing']}").inner_text()
    page.screenshot(path=str(screenshots / "plan-page-1280.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(screenshots / "plan-page-390.png"), full_page=True)
    page.evaluate("() => window.scrollTo(0, 0)")
    page.screenshot(path=str(screenshots / "plan-page-390-first-screen.png"))
    page.locator(f"#task-{ids['housing']}").scroll_into_view_if_needed()
    page.screenshot(path=str(screenshots / "plan-page-390-returned-task.png"))
    page.set_viewport_size({"width": 1280, "height": 900})

    page.locator(f"#accept-{ids['housing']}").click()
    page.wait_for_url(re.compile(r"msg=accepted"))
    assert page.locator("#plan-status").inner_text() == "Завершён"
    timeline = page.locator("#timeline").inner_text()
    assert "План завершён" in timeline and "Сотрудник anna" in timeline
    assert "Нет акта обследования жилья" in timeline

    # The family's IINs only on request, and then in full.
    page.get_by_role("button", name="Показать ИИН").click()
    page.wait_for_selector(".full-iin")
    assert iin in page.locator("#family").inner_text()

    # Kazakh as the second language.
    page.get_by_role("link", name="Қазақша").click()
    page.wait_for_selector("html[lang='kk']")
    assert page.locator("#plan-status").inner_text() == "Аяқталды"
    page.get_by_role("link", name="Русский").click()
    page.wait_for_selector("html[lang='ru']")

    # Another centre's worker cannot open the plan (same Chromium, the first person's
    # cookies gone: a second person at the same machine).
    chromium.clear_cookies()
    stranger_page = chromium.new_page()
    sign_in(stranger_page, system, "stranger")
    response = stranger_page.goto(f"{system.url}/web/plans/{plan_id}")
    assert response is not None and response.status == 403
    assert stranger_page.get_by_text("Нет доступа").is_visible()
    assert iin[:2] + "********" not in stranger_page.content()

    # The head reads the quarter's monitoring report, with its chart, on a page.
    chromium.clear_cookies()
    head_page = chromium.new_page()
    head_page.set_viewport_size({"width": 1280, "height": 900})
    sign_in(head_page, system, "head")
    head_page.get_by_role("link", name="Мониторинг").click()
    head_page.locator("#quarter").select_option(quarter_now())
    head_page.get_by_role("button", name="Сформировать").click()
    head_page.wait_for_selector("figure.chart svg")
    assert "Показатели по органам" in head_page.content()
    # The family card's part says where it came from: the ЦКС mock, over HTTP.
    source = head_page.locator("#family-card-source").inner_text()
    assert card_url in source and "получены из ЦКС" in source
    head_page.screenshot(path=str(screenshots / "quarterly-report-1280.png"), full_page=True)


def start_family_card(system: System) -> str:
    """The mock ЦКС as its own process, as `gateway mocks up` runs it; its URL once it answers."""
    port = free_port()
    log = open(system.root / "family_card.log", "ab")
    system.procs["family_card"] = subprocess.Popen(
        [sys.executable, "-m", "mocks.family_card", "--port", str(port), "--seed", "42"],
        cwd=system.root,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/__admin/requests", timeout=1).status_code == 200:
                return url
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError(f"the mock family card did not start: {system.log('family_card')}")


def quarter_now() -> str:
    from datetime import datetime

    from gateway.reports.quarter import Quarter

    quarter = Quarter.of(datetime.now().astimezone())
    return f"{quarter.year}Q{quarter.number}"
