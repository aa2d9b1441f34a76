"""`gateway up`, then `gateway demo kandas-application`: a kandas family's application through
the whole chain of order 170, with a return at p.9, every hand-over signed by the mock
bodies' officials (keys from the mock certification authority) and verified, every term
stored."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import aio_pika
import httpx
import pytest

from contracts.amqp import STATUS_ROUTING_KEY, Topology
from gateway.agencies import load_agencies
from tests.conftest import AMQP_URL
from tests.e2e.system import System, free_port
from tests.e2e.test_asyncapi_capture import Contract

pytestmark = pytest.mark.e2e


async def _capture(system: System) -> tuple[Any, Any, Any]:
    """A queue that sees every chain message on the tasks and status exchanges."""
    topology = Topology(system.prefix, load_agencies().enabled_codes("kandas_application"))
    connection = await aio_pika.connect(AMQP_URL)
    channel = await connection.channel()
    await topology.declare(channel)
    queue = await channel.declare_queue(exclusive=True, auto_delete=True)
    for body in topology.agencies:
        await queue.bind(topology.tasks_exchange, routing_key=body)
    await queue.bind(topology.status_exchange, routing_key=STATUS_ROUTING_KEY)
    return connection, queue, topology


async def _validated(queue: Any, topology: Topology) -> dict[str, int]:
    """Each captured message against the AsyncAPI document; counts per message."""
    contract = Contract()
    kinds = {topology.tasks_exchange: "tasks", topology.status_exchange: "status"}
    seen: dict[str, int] = {}
    while (message := await queue.get(fail=False, no_ack=True)) is not None:
        name = contract.check(kinds[message.exchange or ""], message)
        seen[name] = seen.get(name, 0) + 1
    return seen


def test_up_then_kandas_demo_reaches_the_adaptation_plan(system: System) -> None:
    ports = [str(free_port()) for _ in range(7)]
    system.start(
        "up", "up", "--work-seconds", "0.1",
        "--shep-port", ports[0], "--egov-port", ports[1], "--kandas-port", ports[2],
        "--agencies-admin-port", ports[3],
        "--migration-portal-port", ports[4], "--labour-market-port", ports[5],
        "--ca-port", ports[6], "--kandas-bodies-admin-port", str(free_port()),
    )  # fmt: skip
    system.wait_ready(timeout=60)
    credentials = system.root / "credentials.json"
    deadline = time.monotonic() + 10
    while not credentials.exists() and time.monotonic() < deadline:
        time.sleep(0.1)

    loop = asyncio.new_event_loop()
    connection, queue, topology = loop.run_until_complete(_capture(system))
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
    # Every message of the run is what the AsyncAPI document says.
    seen = loop.run_until_complete(_validated(queue, topology))
    loop.run_until_complete(connection.close())
    loop.close()
    assert seen.get("caseStepAssigned", 0) == len(steps), seen
    assert seen.get("caseDecision", 0) >= verified["handovers"], seen
