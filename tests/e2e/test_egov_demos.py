"""`gateway up`, then the three e-government demos against it, each to its result:
`gateway demo e-application` (order 109), `gateway demo employment-referral` (seed 002,
with a kandas applicant refused on the portal) and `gateway demo proactive-assistance`
(order 109 p.12–18)."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.e2e.system import System, free_port

pytestmark = pytest.mark.e2e


def test_up_then_the_e_government_demos_reach_their_results(system: System) -> None:
    ports = [str(free_port()) for _ in range(9)]
    system.start(
        "up", "up", "--work-seconds", "0.1",
        "--shep-port", ports[0], "--egov-port", ports[1], "--kandas-port", ports[2],
        "--agencies-admin-port", ports[3],
        "--migration-portal-port", ports[4], "--labour-market-port", ports[5],
        "--ca-port", ports[6], "--kandas-bodies-admin-port", ports[7],
        "--family-card-port", ports[8],
        GATEWAY_EGOV_POLL_SECONDS="0.5",
    )  # fmt: skip
    system.wait_ready(timeout=60)
    credentials = system.root / "credentials.json"
    deadline = time.monotonic() + 10
    while not credentials.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    portal = f"http://127.0.0.1:{ports[1]}"
    urls = [
        "--egov-url", portal, "--kandas-url", f"http://127.0.0.1:{ports[2]}",
        "--ca-url", f"http://127.0.0.1:{ports[6]}",
    ]  # fmt: skip

    for flow, says in (
        ("e-application", "ЭЦП заявителя: verified"),
        ("employment-referral", "кандасу на портале отказано"),
        ("proactive-assistance", "семья уведомлена"),
    ):
        result = system.gateway("demo", flow, "--timeout", "60", *urls)
        output = result.stdout + result.stderr
        assert result.returncode == 0, flow + "\n" + output[-4000:] + system.log("up")[-3000:]
        assert says in result.stdout, output[-3000:]
        print(result.stdout)

    box = httpx.get(f"{portal}/__admin/outbox", timeout=5).json()
    by_appeal: dict[str, int] = {}
    for note in box["cabinet"]:
        appeal = note["notification"].get("appeal_id")
        if appeal:
            by_appeal[appeal] = by_appeal.get(appeal, 0) + 1
    # e-application, bad form (no cabinet: its IIN is no IIN), referral, kandas refusal
    assert sorted(by_appeal.values()) == [1, 1, 1], by_appeal
