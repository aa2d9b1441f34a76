"""The workspace as a new user meets it, at 1280 and 390 px, against the real system.

Checks each point of issue 14's polish, with screenshots in `.gateway/screenshots/`:
incidents and the timeline in Russian and Kazakh with the real delivery count; the
quarterly page on the current quarter with the choice shown; its wide table fitting at
1280 px with no header cut; the centre's name in the header; /favicon.ico; and the
refused activity's re-route and close buttons on the plan page.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.browser.test_centre_workspace import add_staff, quarter_now, sign_in
from tests.e2e.system import System, free_port
from tests.integration.harness import plan_body

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

CENTRE = "demo-centre"
CENTRE_NAME = "ЦПС Бостандыкского района"
SHOTS = Path(__file__).resolve().parents[2] / ".gateway" / "screenshots"
LIMIT = 2  # GATEWAY_DELIVERY_LIMIT for this run: a crashing body's task dies after 3
WIDTHS = (1280, 390)


def shoot(page: Any, name: str) -> None:
    """The page at both widths, full height; back at 1280 afterwards."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900 if width > 400 else 844})
        page.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=True)
        # Nothing wider than the screen at either width: wide tables scroll in their box.
        overflow = page.evaluate("() => document.documentElement.scrollWidth")
        assert overflow <= width, (name, width, overflow)
    page.set_viewport_size({"width": 1280, "height": 900})


def wait_for(check: Any, timeout: float = 40.0, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def test_the_workspace_polish_at_1280_and_390(system: System, chromium: Any) -> None:
    admin_port = free_port()
    system.start_gateway(
        GATEWAY_SESSION_SECRET="browser-polish-secret-" + "x" * 20,
        GATEWAY_DELIVERY_LIMIT=str(LIMIT),
    )
    system.start(
        "mocks", "mocks", "agencies", "run", "--work-seconds", "0.3",
        "--state-dir", str(system.mock_state), "--admin-port", str(admin_port),
    )  # fmt: skip
    admin = f"http://127.0.0.1:{admin_port}/__admin"
    wait_for(lambda: _answers(f"{admin}/faults"), what="the mock bodies' admin")
    for rule in (
        {"agency": "internal_affairs", "kind": "crash"},
        {"agency": "education", "kind": "reject", "reason": "Не относится к компетенции"},
    ):
        assert httpx.post(f"{admin}/faults", json=rule, timeout=5).status_code in (200, 201)
    registered = system.gateway(
        "centres", "add", CENTRE, "--name-ru", CENTRE_NAME,
        "--name-kk", "Бостандық ауданының отбасыны қолдау орталығы",
    )  # fmt: skip
    assert registered.returncode == 0, registered.stderr
    added = system.gateway(
        "clients", "add", "--kind", "centre", "--scope", CENTRE, "--name", CENTRE_NAME
    )
    assert added.returncode == 0, added.stderr
    key = added.stdout.strip().splitlines()[-1]
    add_staff(system, "head", CENTRE, role="head")

    body = plan_body(
        CENTRE,
        agencies=("health", "education", "internal_affairs"),
        approved_at=datetime.now(UTC),
    )
    created = httpx.post(
        f"{system.url}/api/v1/plans",
        json=body,
        headers={"Authorization": f"Bearer {key}"},
        timeout=10,
    )
    assert created.status_code == 201, created.text
    plan_id = created.json()["id"]

    def states() -> dict[str, str]:
        plan = httpx.get(
            f"{system.url}/api/v1/plans/{plan_id}",
            headers={"Authorization": f"Bearer {key}"},
            timeout=5,
        ).json()
        return {t["agency"]: t["state"] for t in plan["tasks"]}

    wait_for(
        lambda: (
            states().get("internal_affairs") == "failed"
            and states().get("education") == "rejected_by_agency"
        ),
        what="the crash to be dead-lettered and the refusal to arrive",
    )

    page = chromium.new_page()
    sign_in(page, system, "head")

    # The header names the centre, not its code.
    brand = page.locator("header .brand .centre")
    assert brand.inner_text() == CENTRE_NAME and brand.get_attribute("title") == CENTRE
    # /favicon.ico is served, and the pages point at it.
    icon = page.request.get(f"{system.url}/favicon.ico")
    assert icon.status == 200 and icon.headers["content-type"] == "image/vnd.microsoft.icon"
    assert icon.body()[:4] == b"\x00\x00\x01\x00"  # an ICO file
    assert page.locator("link[rel='icon']").get_attribute("href") == "/favicon.ico"

    # Incidents: Russian, the real count (limit 2: three deliveries), no raw English.
    page.get_by_role("link", name="Сбои доставки").click()
    page.wait_for_url(re.compile(r"/web/incidents"))
    row = page.locator("table.incidents tbody tr").first
    text = row.inner_text()
    assert f"доставок — {LIMIT + 1}, все неудачны" in text, text
    assert "delivery_limit" not in text and "attempt" not in text
    shoot(page, "incidents-ru")
    page.get_by_role("link", name="Қазақша").click()
    page.wait_for_selector("html[lang='kk']")
    assert f"жеткізу саны — {LIMIT + 1}" in page.locator("table.incidents").inner_text()
    shoot(page, "incidents-kk")
    page.get_by_role("link", name="Русский").click()
    page.wait_for_selector("html[lang='ru']")

    # The plan's timeline says the same; the refused and the failed task offer re-route
    # and close.
    page.goto(f"{system.url}/web/plans/{plan_id}")
    timeline = page.locator("#timeline").inner_text()
    assert "Доставка не удалась" in timeline and f"доставок — {LIMIT + 1}" in timeline
    assert "delivery_limit" not in timeline
    assert page.get_by_text("Направить другому органу").count() == 2
    assert page.get_by_text("Закрыть мероприятие").count() == 2
    shoot(page, "plan-refused")
    ids = _task_ids(system, key, plan_id)
    page.locator(f"#reroute-summary-{ids['education']}").click()
    page.locator(f"#agency-{ids['education']}").select_option("housing")
    page.locator(f"#reroute-reason-{ids['education']}").fill("Жильё — компетенция отдела")
    page.locator(f"#send-reroute-{ids['education']}").click()
    page.wait_for_url(re.compile(r"msg=rerouted"))
    page.locator(f"#close-summary-{ids['internal_affairs']}").click()
    page.locator(f"#close-reason-{ids['internal_affairs']}").fill("Документы восстановлены")
    page.locator(f"#send-close-{ids['internal_affairs']}").click()
    page.wait_for_url(re.compile(r"msg=closed"))
    assert "Закрыто центром" in page.locator("#live-tasks").inner_text()
    assert "Передано другому органу" in page.locator("#live-tasks").inner_text()
    shoot(page, "plan-rerouted-closed")

    # The quarterly page: the current quarter by default, the choice shown.
    page.get_by_role("link", name="Мониторинг").click()
    page.wait_for_selector("figure.chart svg")
    chosen = page.locator("#quarter")
    assert chosen.input_value() == quarter_now()
    assert "текущий квартал" in page.locator("#report-shown").inner_text()
    assert chosen.locator("option").count() >= 8
    # The bodies' table fits at 1280 px: no horizontal scroll, every header inside.
    fit = page.evaluate(
        """() => {
            const table = document.querySelector('#section-figures table');
            const box = table.parentElement.getBoundingClientRect();
            const ths = [...table.querySelectorAll('th')];
            const heads = ths.map(th => th.getBoundingClientRect());
            return {
                columns: heads.length,
                scroll: table.parentElement.scrollWidth - table.parentElement.clientWidth,
                inside: heads.every(h => h.left >= box.left - 1 && h.right <= box.right + 1),
                cut: ths.some(th => th.scrollWidth > th.clientWidth + 1),
            };
        }"""
    )
    assert fit == {"columns": fit["columns"], "scroll": 0, "inside": True, "cut": False}, fit
    assert fit["columns"] >= 14
    assert "Сроки центра (пп. 9, 11)" in page.content()
    shoot(page, "quarterly")
    page.get_by_role("link", name="Қазақша").click()
    page.wait_for_selector("html[lang='kk']")
    assert "ағымдағы тоқсан" in page.locator("#report-shown").inner_text()
    shoot(page, "quarterly-kk")


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.TransportError:
        return False


def _task_ids(system: System, key: str, plan_id: str) -> dict[str, str]:
    plan = httpx.get(
        f"{system.url}/api/v1/plans/{plan_id}",
        headers={"Authorization": f"Bearer {key}"},
        timeout=5,
    ).json()
    return {t["agency"]: t["id"] for t in plan["tasks"]}
