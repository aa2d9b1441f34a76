"""A plan's life through the real broker and both stores, the body played by the test."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from contracts.messages import ReportStatus
from gateway.store.tables import incidents, outbox
from tests.integration.harness import AGENCIES, Harness, eventually, plan_body

pytestmark = pytest.mark.integration


async def _states(h: Harness, plan_id: str) -> dict[str, str]:
    plan = await h.plan(plan_id)
    return {t["agency"]: t["state"] for t in plan["tasks"]}


async def test_plan_goes_from_submit_to_completed(harness: Harness) -> None:
    h = harness
    response = await h.submit()
    assert response.status_code == 201, response.text
    plan = response.json()
    plan_id = plan["id"]
    assert response.headers["location"] == f"/api/v1/plans/{plan_id}"
    assert {t["agency"] for t in plan["tasks"]} == set(AGENCIES)

    # Each activity arrives in its own body's queue, with the claim-check payload.
    tasks = {}
    for code in AGENCIES:
        (message,) = await h.take(code, 1)
        body = message["body"]
        assert body["type"] == "task.assigned"
        assert body["correlation_id"] == plan_id
        assert body["payload"]["agency"] == code
        assert message["message_id"] == body["message_id"]
        assert "address" not in json.dumps(body)  # the family's address stays in the store
        tasks[code] = body["payload"]["task_id"]
    education = next(t for t in plan["tasks"] if t["agency"] == "education")
    assert len(education["beneficiary_iins"]) == 1

    for code, task_id in tasks.items():
        await h.report(task_id, code, ReportStatus.received, plan_id=plan_id)
        await h.report(task_id, code, ReportStatus.in_progress, plan_id=plan_id)
        await h.report(task_id, code, ReportStatus.done, plan_id=plan_id, comment="сделано")

    async def all_reported() -> bool:
        return set((await _states(h, plan_id)).values()) == {"reported"}

    await eventually(all_reported)
    plan = await h.plan(plan_id)
    for task in plan["tasks"]:
        kinds = {d["kind"]: d for d in task["deadlines"]}
        assert kinds["routing"]["met_at"] is not None and kinds["routing"]["state"] == "on_time"
        assert kinds["review"]["met_at"] is None and kinds["review"]["state"] == "on_time"
        assert task["last_comment"] == "сделано"

    for i, task_id in enumerate(tasks.values()):
        r = await h.http.post(
            f"/api/v1/plans/{plan_id}/tasks/{task_id}/review",
            json={"decision": "accept"},
            headers=h.auth("centre"),
        )
        assert r.status_code == 200, r.text
        assert r.json()["state"] == "accepted"
        expected = "completed" if i == len(tasks) - 1 else "active"
        assert (await h.plan(plan_id))["status"] == expected

    plan = await h.plan(plan_id)
    assert plan["completed_at"] is not None
    assert plan["completed_at"].endswith("+05:00")
    types = [e["type"] for e in plan["timeline"]]
    assert types[0] == "plan_submitted" and types[-1] == "plan_completed"
    assert types.count("task_dispatched") == 4 and types.count("task_delivered") == 4
    assert types.count("task_accepted") == 4
    (completion,) = plan["deadlines"]
    assert completion["kind"] == "completion" and completion["state"] == "on_time"
    actors = {e["actor"] for e in plan["timeline"]}
    assert f"centre:{h.centre}" in actors and "agency:health" in actors and "gateway" in actors


async def test_retried_submit_with_the_same_key_creates_no_second_plan(harness: Harness) -> None:
    h = harness
    body = plan_body(h.centre)
    first = await h.submit(body, **{"Idempotency-Key": "ipr-77"})
    again = await h.submit(body, **{"Idempotency-Key": "ipr-77"})
    assert first.status_code == 201 and again.status_code == 200
    assert first.json()["id"] == again.json()["id"]
    async with h.engine.connect() as conn:
        rows = (
            await conn.execute(
                select(func.count())
                .select_from(outbox)
                .where(outbox.c.plan_id == first.json()["id"])
            )
        ).scalar_one()
    assert rows == 4
    listed = (await h.http.get("/api/v1/plans", headers=h.auth("centre"))).json()
    assert listed["total"] == 1

    body["external_id"] = "another"
    clash = await h.submit(body, **{"Idempotency-Key": "ipr-77"})
    assert clash.status_code == 409
    assert "Idempotency-Key" in clash.json()["detail"]


async def test_duplicate_status_message_is_applied_once(harness: Harness) -> None:
    h = harness
    plan_id = (await h.submit(plan_body(h.centre, agencies=("health",)))).json()["id"]
    (message,) = await h.take("health", 1)
    task_id = message["body"]["payload"]["task_id"]
    mid = await h.report(task_id, "health", ReportStatus.done, plan_id=plan_id)
    await h.report(task_id, "health", ReportStatus.done, plan_id=plan_id, message_id=mid)
    await h.report(
        task_id, "health", ReportStatus.in_progress, plan_id=plan_id
    )  # stale, out of order

    async def handled() -> bool:
        types = [e["type"] for e in (await h.plan(plan_id))["timeline"]]
        return "report_ignored" in types

    await eventually(handled)
    plan = await h.plan(plan_id)
    reports = [e for e in plan["timeline"] if e["type"] == "agency_report"]
    assert len(reports) == 1 and reports[0]["to_state"] == "reported"
    assert plan["tasks"][0]["state"] == "reported"


async def test_return_for_rework_reaches_the_body_and_comes_back(harness: Harness) -> None:
    h = harness
    plan_id = (await h.submit(plan_body(h.centre, agencies=("housing",)))).json()["id"]
    (message,) = await h.take("housing", 1)
    task_id = message["body"]["payload"]["task_id"]
    await h.report(task_id, "housing", ReportStatus.done, plan_id=plan_id)

    async def reported() -> bool:
        return (await _states(h, plan_id))["housing"] == "reported"

    await eventually(reported)
    no_reason = await h.http.post(
        f"/api/v1/plans/{plan_id}/tasks/{task_id}/review",
        json={"decision": "return"},
        headers=h.auth("centre"),
    )
    assert no_reason.status_code == 422
    assert no_reason.json()["errors"][0]["reason"].startswith("reason is required")

    r = await h.http.post(
        f"/api/v1/plans/{plan_id}/tasks/{task_id}/review",
        json={"decision": "return", "reason": "нет подтверждающих документов"},
        headers=h.auth("centre"),
    )
    assert r.status_code == 200 and r.json()["state"] == "returned" and r.json()["round"] == 1
    (returned,) = await h.take("housing", 1)
    assert returned["body"]["type"] == "task.returned"
    assert returned["body"]["payload"] == {
        "task_id": task_id,
        "plan_id": plan_id,
        "agency": "housing",
        "round": 1,
        "reason": "нет подтверждающих документов",
    }
    again = await h.http.post(
        f"/api/v1/plans/{plan_id}/tasks/{task_id}/review",
        json={"decision": "accept"},
        headers=h.auth("centre"),
    )
    assert again.status_code == 409  # nothing to review until the body reports again

    await h.report(task_id, "housing", ReportStatus.done, plan_id=plan_id, comment="исправлено")
    await eventually(reported)
    r = await h.http.post(
        f"/api/v1/plans/{plan_id}/tasks/{task_id}/review",
        json={"decision": "accept"},
        headers=h.auth("centre"),
    )
    assert r.json()["state"] == "accepted"
    plan = await h.plan(plan_id)
    assert plan["status"] == "completed"
    reviews = [d for d in plan["tasks"][0]["deadlines"] if d["kind"] == "review"]
    assert [d["round"] for d in reviews] == [0, 1] and all(d["met_at"] for d in reviews)


async def test_rest_report_from_an_agency(harness: Harness) -> None:
    h = harness
    plan_id = (await h.submit(plan_body(h.centre, agencies=("education",)))).json()["id"]
    task_id = (await h.plan(plan_id))["tasks"][0]["id"]
    r = await h.http.post(
        f"/api/v1/tasks/{task_id}/reports",
        json={
            "status": "rejected",
            "reason": "не относится к компетенции",
            "message_id": "0193a4c0-0000-7000-8000-000000000001",
        },
        headers=h.auth("education"),
    )
    assert r.status_code == 202, r.text
    assert r.json()["state"] == "rejected_by_agency"
    assert r.json()["last_reason"] == "не относится к компетенции"
    assert r.json()["delivered_at"] is not None
    missing_reason = await h.http.post(
        f"/api/v1/tasks/{task_id}/reports", json={"status": "rejected"}, headers=h.auth("education")
    )
    assert missing_reason.status_code == 422
    assert missing_reason.json()["errors"][0]["field"] == "body"


async def test_poison_status_message_is_dead_lettered_as_an_incident(harness: Harness) -> None:
    h = harness
    await h.publish_raw(b"{not json", message_id="poison-1")
    await h.report(
        "no-such-task",
        "health",
        ReportStatus.done,
        message_id="0193a4c0-0000-7000-8000-0000000000aa",
    )

    async def recorded() -> bool:
        async with h.engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(incidents).where(incidents.c.queue == h.topology.status_queue)
                )
            ).all()
        return len(rows) == 2

    await eventually(recorded)
    async with h.engine.connect() as conn:
        rows = (await conn.execute(select(incidents).order_by(incidents.c.id))).all()
    errors = {r.message_id: r.error for r in rows}
    assert "invalid status message" in errors["poison-1"]
    assert "no task" in errors["0193a4c0-0000-7000-8000-0000000000aa"]
    # The queue kept flowing: a good report after the poison is applied.
    plan_id = (await h.submit(plan_body(h.centre, agencies=("health",)))).json()["id"]
    task_id = (await h.plan(plan_id))["tasks"][0]["id"]
    await h.report(task_id, "health", ReportStatus.received, plan_id=plan_id)

    async def delivered() -> bool:
        return (await _states(h, plan_id))["health"] == "delivered"

    await eventually(delivered)


async def test_cancel_withdraws_the_tasks_from_the_bodies(harness: Harness) -> None:
    h = harness
    plan_id = (await h.submit(plan_body(h.centre, agencies=("health", "housing")))).json()["id"]
    r = await h.http.post(
        f"/api/v1/plans/{plan_id}/cancel",
        json={"reason": "семья переехала"},
        headers=h.auth("centre"),
    )
    assert r.status_code == 200
    plan = r.json()
    assert plan["status"] == "cancelled" and plan["cancel_reason"] == "семья переехала"
    assert {t["state"] for t in plan["tasks"]} == {"cancelled"}
    for code in ("health", "housing"):
        messages = await h.take(code, 2)
        assert [m["body"]["type"] for m in messages] == ["task.assigned", "task.cancelled"]
    again = await h.http.post(
        f"/api/v1/plans/{plan_id}/cancel", json={"reason": "x"}, headers=h.auth("centre")
    )
    assert again.status_code == 409
