"""`gateway up`, then `gateway demo kandas-application`: a kandas family's application through
the whole chain of order 170, with a return at p.9, every hand-over signed by the mock
bodies' officials (keys from the mock certification authority) and verified, every term
stored."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from tests.e2e.system import System, free_port

pytestmark = pytest.mark.e2e


def test_up_then_kandas_demo_reaches_the_adaptation_plan(system: System) -> None:
    ports = [str(free_port()) for _ in range(7)]
    system.start(
        "up", "up", "--work-seconds", "0.1",
        "--shep-port", ports[0], "--egov-port", ports[1], "--kandas-port", ports[2],
        "--agencies-admin-port", ports[3],
        "--migration-portal-port", ports[4], "--labour-market-port", ports[5],
        "--ca-port", ports[6],
    )  # fmt: skip
    system.wait_ready(timeout=60)
    credentials = system.root / "credentials.json"
    deadline = time.monotonic() + 10
    while not credentials.exists() and time.monotonic() < deadline:
        time.sleep(0.1)

    result = system.gateway("demo", "kandas-application", "--timeout", "90")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:] + system.log("up")[-3000:]
    assert "план адаптации составлен" in result.stdout

    key = json.loads(credentials.read_text())["agencies"]["cc_turkestan"]
    headers = {"Authorization": f"Bearer {key}"}
    mine = httpx.get(f"{system.url}/api/v1/cases?open=false", headers=headers, timeout=5).json()
    (summary,) = mine
    case = httpx.get(f"{system.url}/api/v1/cases/{summary['id']}", headers=headers, timeout=5)
    steps = case.json()["steps"]
    names = [s["step"] for s in steps]
    # p.8, the return at p.9, p.8 again, then on to the plan.
    assert names[:3] == ["cc_check", "lmc_review", "cc_check"]
    assert steps[1]["state"] == "returned" and steps[2]["remarks"]
    assert "cc_plan" in names
    for step in steps:
        if step["state"] in ("forwarded", "returned"):
            assert step["handover"] is not None  # signed by the official
        assert step["deadlines"] and step["deadlines"][0]["kind"] == "step"  # every term stored
    verified = httpx.get(
        f"{system.url}/api/v1/cases/{summary['id']}/handovers/verification",
        headers=headers,
        timeout=5,
    ).json()
    assert verified["first_failure"] is None
    assert verified["verified"] == verified["handovers"] >= 8
