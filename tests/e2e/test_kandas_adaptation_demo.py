"""`gateway up`, then `gateway demo kandas-adaptation`: an arrived family's plan approved and
uploaded to the mock Kandas system, three work reports with media relayed there and to the
mock family card, the month's appendix 3 report, a monitoring run, a quality evaluation;
then the same records read back through the API and from the mocks' own state."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from tests.e2e.system import System, free_port

pytestmark = pytest.mark.e2e


def test_up_then_adaptation_demo_takes_a_family_through_its_first_month(system: System) -> None:
    ports = [free_port() for _ in range(9)]
    system.start(
        "up", "up", "--work-seconds", "0.1",
        "--shep-port", str(ports[0]), "--egov-port", str(ports[1]),
        "--kandas-port", str(ports[2]), "--agencies-admin-port", str(ports[3]),
        "--migration-portal-port", str(ports[4]), "--labour-market-port", str(ports[5]),
        "--ca-port", str(ports[6]), "--kandas-bodies-admin-port", str(ports[7]),
        "--family-card-port", str(ports[8]),
    )  # fmt: skip
    system.wait_ready(timeout=60)
    credentials = system.root / "credentials.json"
    deadline = time.monotonic() + 10
    while not credentials.exists() and time.monotonic() < deadline:
        time.sleep(0.1)

    result = system.gateway("demo", "kandas-adaptation", "--timeout", "80")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:] + system.log("up")[-3000:]
    for line in (
        "план адаптации утверждён",
        "выгружен в АИС «Кандас»",
        "отражены в Цифровой карте семьи",
        "граф 27",
        "мониторинг (п. 43–45)",
        "оценка качества за",
        "шкала приказа",
    ):
        assert line in result.stdout, output[-3000:]

    # The mock Kandas system holds the plan and the three reports the gateway relayed.
    keys = json.loads(credentials.read_text())["agencies"]
    headers = {"Authorization": f"Bearer {keys['cc_north_kazakhstan']}"}
    month = time.strftime("%Y-%m")
    ours = httpx.get(
        f"{system.url}/api/v1/kandas/monthly-reports/cc_north_kazakhstan/{month}",
        headers=headers,
        timeout=10,
    ).json()
    theirs = httpx.get(
        f"http://127.0.0.1:{ports[2]}/api/v1/reports/monthly", params={"month": month}, timeout=10
    ).json()
    assert len(ours["columns"]) == len(theirs["columns"]) == 27
    mine = {r[1]: r[2:] for r in ours["rows"] if any(r[2:])}
    kandas = {r[1]: [c or "" for c in r[2:]] for r in theirs["rows"] if any(r[2:])}
    assert mine and mine == {iin: kandas[iin] for iin in mine}
