"""Incidents from the terminal and the admin API (issue 15): a real dead-lettering, then
replay once and only once, resolve with a reason, and who may see what."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest
from typer.testing import CliRunner

from gateway.auth import ClientKind
from gateway.cli import app
from tests.integration.harness import Harness, eventually, plan_body

pytestmark = pytest.mark.integration


async def _exhaust_delivery(h: Harness) -> tuple[str, str, int]:
    """The health body's system fails on the task until the broker dead-letters it."""
    plan_id = (await h.submit(plan_body(h.centre, agencies=("health",)))).json()["id"]
    queue = await h.channel.get_queue(h.topology.agency_queue("health"), ensure=False)
    task_id = ""
    async with asyncio.timeout(20):
        for _ in range(h.topology.delivery_limit + 1):
            message = None
            while message is None:
                message = await queue.get(fail=False)
                if message is None:
                    await asyncio.sleep(0.05)
            task_id = json.loads(message.body)["payload"]["task_id"]
            await message.nack(requeue=True)

    async def failed() -> bool:
        return bool((await h.plan(plan_id))["tasks"][0]["state"] == "failed")

    await eventually(failed, timeout=20)
    listed = await h.http.get("/api/v1/incidents", headers=h.auth("admin"))
    assert listed.status_code == 200, listed.text
    (incident,) = [i for i in listed.json() if i["task_id"] == task_id]
    assert incident["replayable"] is True and incident["centre"] == h.centre
    return plan_id, task_id, int(incident["id"])


def _cli(h: Harness, *args: str) -> tuple[int, str]:
    env = {
        "GATEWAY_DATABASE_URL": h.engine.url.render_as_string(hide_password=False),
        "GATEWAY_AMQP_PREFIX": h.topology.prefix,
    }
    result = CliRunner().invoke(app, ["incidents", *args], env=env)
    return result.exit_code, result.output


async def test_cli_replay_delivers_a_dead_lettered_task_once(harness: Harness) -> None:
    h = harness
    plan_id, task_id, incident_id = await _exhaust_delivery(h)

    code, out = await asyncio.to_thread(_cli, h, "list")
    assert code == 0 and str(incident_id) in out and "replayable" in out
    code, out = await asyncio.to_thread(_cli, h, "show", str(incident_id))
    assert code == 0 and json.loads(out)["body"] and json.loads(out)["task_id"] == task_id

    code, out = await asyncio.to_thread(_cli, h, "replay", str(incident_id))
    assert code == 0, out
    assert "queued again" in out
    (message,) = await h.take("health", 1)
    assert message["body"]["type"] == "task.assigned"
    assert message["body"]["payload"]["task_id"] == task_id

    code, out = await asyncio.to_thread(_cli, h, "replay", str(incident_id))
    assert code == 2 and "already resolved" in out
    with pytest.raises(TimeoutError):
        await h.take("health", 1, timeout=2.0)  # nothing was sent a second time

    async def dispatched() -> bool:
        return bool((await h.plan(plan_id))["tasks"][0]["state"] == "dispatched")

    await eventually(dispatched)
    timeline = (await h.plan(plan_id))["timeline"]
    replayed = [e for e in timeline if e["type"] == "delivery_replayed"]
    assert len(replayed) == 1 and replayed[0]["actor"].startswith("admin:cli:")
    code, out = await asyncio.to_thread(_cli, h, "list")
    assert code == 0 and "no open incidents" in out
    code, out = await asyncio.to_thread(_cli, h, "list", "--all", "--json")
    (row,) = [json.loads(line) for line in out.splitlines() if str(task_id) in line]
    assert row["resolution"] == "replayed" and row["resolved_by"].startswith("admin:cli:")


async def test_api_resolve_and_who_sees_what(harness: Harness) -> None:
    h = harness
    _, task_id, incident_id = await _exhaust_delivery(h)
    other_centre = await h.add_key(ClientKind.centre, f"centre-{uuid.uuid4().hex[:6]}")
    other = {"Authorization": f"Bearer {other_centre}"}

    own = await h.http.get("/api/v1/incidents", headers=h.auth("centre"))
    assert [i["id"] for i in own.json()] == [incident_id]
    assert (await h.http.get("/api/v1/incidents", headers=other)).json() == []
    assert (await h.http.get(f"/api/v1/incidents/{incident_id}", headers=other)).status_code == 404
    agency = await h.http.get("/api/v1/incidents", headers=h.auth("health"))
    assert agency.status_code == 403
    replay = await h.http.post(f"/api/v1/incidents/{incident_id}/replay", headers=other)
    assert replay.status_code in (403, 404)

    empty = await h.http.post(
        f"/api/v1/incidents/{incident_id}/resolve", json={"reason": " "}, headers=h.auth("admin")
    )
    assert empty.status_code == 422 and empty.json()["errors"][0]["field"] == "reason"
    done = await h.http.post(
        f"/api/v1/incidents/{incident_id}/resolve",
        json={"reason": "the body resent the report itself"},
        headers=h.auth("admin"),
    )
    assert done.status_code == 200, done.text
    assert done.json()["resolution"] == "the body resent the report itself"
    again = await h.http.post(f"/api/v1/incidents/{incident_id}/replay", headers=h.auth("centre"))
    assert again.status_code == 409
    detail = await h.http.get(f"/api/v1/incidents/{incident_id}", headers=h.auth("admin"))
    assert detail.json()["resolved_by"].startswith("admin:") and detail.json()["task_id"] == task_id
