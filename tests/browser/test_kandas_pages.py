"""The kandas chain's bodies in a real browser against the real system: the head of the
labour mobility centre sees an application arrive in the inbox without a reload, returns it
with remarks, signing in the browser with the key the mock certification authority issued,
and the career centre sees it come back without a reload."""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from contracts.cases import Decision, StepDecision
from contracts.signing import HandoverStatement
from mocks.ca.signing import load_official
from tests.e2e.system import System, free_port

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

LIVE = 30_000


def _up(system: System) -> dict[str, Any]:
    ports = [str(free_port()) for _ in range(8)]
    system.start(
        "up", "up", "--work-seconds", "0.1",
        "--shep-port", ports[0], "--egov-port", ports[1], "--kandas-port", ports[2],
        "--agencies-admin-port", ports[3], "--migration-portal-port", ports[4],
        "--labour-market-port", ports[5], "--ca-port", ports[6], "--family-card-port", ports[7],
        "--kandas-bodies-admin-port", str(free_port()),
        "--manual-bodies", "cc_turkestan,lmc_turkestan",
        GATEWAY_SESSION_SECRET="browser-test-secret-" + "x" * 20,
    )  # fmt: skip
    system.wait_ready(timeout=60)
    credentials = system.root / "credentials.json"
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if credentials.exists() and "staff" in json.loads(credentials.read_text() or "{}"):
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
    page.evaluate("() => { window.__stayed = true; }")


def test_a_body_returns_an_application_and_the_career_centre_sees_it_live(
    system: System, chromium_contexts: Any, screenshots: Path
) -> None:
    creds = _up(system)
    ca_dir = system.root / ".gateway" / "mocks" / "ca"
    sample = json.loads((system.root / ".gateway/mocks/shep/sample-people.json").read_text())
    cc_key = {"Authorization": f"Bearer {creds['agencies']['cc_turkestan']}"}

    cc_page = chromium_contexts("career-centre").new_page()
    _sign_in(cc_page, system, "cc_turkestan-s", creds["staff"]["cc_turkestan-s"])
    lmc_page = chromium_contexts("labour-mobility-centre").new_page()
    _sign_in(lmc_page, system, "lmc_turkestan-h", creds["staff"]["lmc_turkestan-h"])
    assert lmc_page.locator(".case-row").count() == 0

    # The career centre's system opens the application and hands p.8 on, signed.
    family = sample["kandas_family"]
    body = {
        "external_id": "КЦ-БРАУЗЕР-1",
        "departure_region": "turkestan",
        "settlement_region": "north_kazakhstan",
        "applicant_iin": family[0]["iin"],
        "members": family[1:],
        "phone": "+77010000001",
        "consent": {"given": True, "signed_on": "2026-12-01", "document": "Согласие № 1"},
    }
    case = httpx.post(
        f"{system.url}/api/v1/kandas/applications", json=body, headers=cc_key, timeout=20
    ).json()
    step = case["steps"][0]
    official = load_official(ca_dir, "cc_turkestan_specialist")
    statement = HandoverStatement(
        case_id=case["id"], flow="kandas_application", step="cc_check", round=0,
        body="cc_turkestan", decision="forward",
        signed_at=datetime.now(UTC).replace(microsecond=0),
    )  # fmt: skip
    decision = StepDecision(
        case_id=case["id"], step="cc_check", round=0, body="cc_turkestan",
        decision=Decision.forward, signed_at=statement.signed_at,
        signature=official.sign(statement),
    )  # fmt: skip
    handed = httpx.post(
        f"{system.url}/api/v1/cases/{case['id']}/steps/{step['id']}/decision",
        content=decision.model_dump_json(),
        headers={**cc_key, "Content-Type": "application/json"},
        timeout=10,
    )
    assert handed.status_code == 200, handed.text

    # It arrives in the head's inbox without a reload.
    row = lmc_page.locator(f".case-row[data-case='{case['id']}']")
    row.wait_for(timeout=LIVE)
    assert lmc_page.evaluate("() => window.__stayed === true")
    lmc_page.screenshot(path=str(screenshots / "kandas-inbox-1280.png"), full_page=True)
    row.get_by_role("link").click()
    lmc_page.wait_for_url(re.compile(f"/web/cases/{case['id']}$"))
    assert "ГБД ФЛ" in lmc_page.content()  # facts say which registry gave them
    lmc_page.check("#decision-return")
    lmc_page.fill("#remarks", "Уточните сведения о родителях заявителя")
    lmc_page.click("#prepare")
    lmc_page.wait_for_selector("[data-sign-widget]")
    officials = ca_dir / "officials"
    lmc_page.set_input_files("[data-sign-key]", str(officials / "lmc_turkestan_head.key.pem"))
    lmc_page.set_input_files("[data-sign-cert]", str(officials / "lmc_turkestan_head.cert.pem"))
    lmc_page.screenshot(path=str(screenshots / "kandas-sign-1280.png"), full_page=True)
    lmc_page.click("#sign-submit")
    lmc_page.wait_for_url(re.compile(r"msg=handed_over"), timeout=LIVE)
    assert "Возвращено на доработку" in lmc_page.content()

    # The career centre sees it come back without a reload, with the remarks.
    back = cc_page.locator(f".case-row[data-case='{case['id']}']")
    back.wait_for(timeout=LIVE)
    assert cc_page.evaluate("() => window.__stayed === true")
    cc_page.set_viewport_size({"width": 390, "height": 844})
    cc_page.screenshot(path=str(screenshots / "kandas-returned-390.png"), full_page=True)
    back.get_by_role("link").click()
    cc_page.wait_for_url(re.compile(f"/web/cases/{case['id']}$"))
    assert "Уточните сведения о родителях заявителя" in cc_page.content()
    chain = httpx.get(
        f"{system.url}/api/v1/cases/{case['id']}/handovers/verification", headers=cc_key,
        timeout=5,
    ).json()
    assert chain["handovers"] == 2 and chain["first_failure"] is None
