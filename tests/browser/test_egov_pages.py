"""The district office's specialist in a real browser against the real system (order 109):
a citizen's signed e-application arrives from the mock portal, the regional office forwards
it, and the specialist finds it in the office's inbox, records a question put to the
applicant, gives the result, and reads the case in Kazakh; the portal shows it answered."""

from __future__ import annotations

import asyncio
import json
import re
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from rich.console import Console

from gateway.demo_egov import ASP_SERVICE, Demo, form_of, offices_for
from tests.e2e.system import System, free_port

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


def test_the_district_specialist_checks_an_e_application_on_the_page(
    system: System, chromium_contexts: Any, screenshots: Path
) -> None:
    ports = [str(free_port()) for _ in range(9)]
    system.start(
        "up", "up", "--work-seconds", "0.1",
        "--shep-port", ports[0], "--egov-port", ports[1], "--kandas-port", ports[2],
        "--agencies-admin-port", ports[3], "--migration-portal-port", ports[4],
        "--labour-market-port", ports[5], "--ca-port", ports[6], "--family-card-port", ports[7],
        "--kandas-bodies-admin-port", ports[8],
        GATEWAY_SESSION_SECRET="browser-test-secret-" + "x" * 20,
        GATEWAY_EGOV_POLL_SECONDS="0.5",
    )  # fmt: skip
    system.wait_ready(timeout=60)
    credentials = system.root / "credentials.json"
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if credentials.exists() and "staff" in json.loads(credentials.read_text() or "{}"):
            break
        time.sleep(0.2)
    creds = json.loads(credentials.read_text())
    sample = json.loads((system.root / ".gateway/mocks/shep/sample-people.json").read_text())
    person = sample["e_government"]["applicant"]
    regional, district = offices_for(person, ASP_SERVICE)
    portal = f"http://127.0.0.1:{ports[1]}"

    async def file() -> dict[str, Any]:
        demo = Demo(
            system.url, creds["agencies"], portal, Console(quiet=True), 30,
            ca_url=f"http://127.0.0.1:{ports[6]}",
        )  # fmt: skip
        try:
            appeal = await demo.file(form_of(person, ASP_SERVICE, "Прошу назначить АСП"))
            case = await demo.case_of(appeal["id"], regional)
            await demo.call("POST", f"/api/v1/e-applications/{case['id']}/forward", regional)
            return {"appeal": appeal, "case": case}
        finally:
            await demo.aclose()

    # Playwright's sync API holds this thread's event loop: the citizen files from another.
    with ThreadPoolExecutor(1) as pool:
        filed = pool.submit(asyncio.run, file()).result()
    case_id = filed["case"]["id"]

    page = chromium_contexts("district").new_page()
    page.goto(f"{system.url}/web/login")
    page.get_by_label("Логин").fill(f"{district}-s")
    page.get_by_label("Пароль").fill(creds["staff"][f"{district}-s"])
    page.get_by_role("button", name="Войти").click()
    page.wait_for_url(re.compile(r"/web/egov$"))
    row = page.locator(f".case-row[data-case='{case_id}']")
    row.wait_for(timeout=10_000)
    page.screenshot(path=str(screenshots / "egov-inbox-1280.png"), full_page=True)
    row.get_by_role("link").click()
    page.wait_for_url(re.compile(f"/web/egov/{case_id}$"))
    content = page.content()
    assert person["iin"] not in content  # the IIN is masked
    assert "проверена" in content  # the applicant's ЭЦП was verified
    page.fill("#question", "Сколько человек в семье?")
    page.fill("#answer", "Четыре")
    page.click("#record-contact")
    page.wait_for_url(re.compile(r"msg=done"))
    page.fill("#result", "Документы соответствуют стандарту; АСП назначена.")
    page.click("#check")
    page.wait_for_url(re.compile(r"msg=done"))
    assert "Вопрос заявителю" in page.content()
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(screenshots / "egov-case-390.png"), full_page=True)
    page.goto(f"{system.url}/web/lang/kk?next=/web/egov/{case_id}")
    assert "Қадамдар мен мерзімдер" in page.content()

    def answered() -> bool:
        appeal = httpx.get(f"{portal}/api/v1/appeals/{filed['appeal']['id']}", timeout=5).json()
        return bool(appeal["status"] == "answered")

    deadline = time.monotonic() + 20
    while not answered() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert answered()
