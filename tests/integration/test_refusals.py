"""A body's refusal: the centre's review clock, re-routing to the competent body, closing.

Real broker, both stores, the bodies played by the test; time moves by the injected
clock (order 192 p.9, p.11).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from contracts.messages import ReportStatus
from gateway.auth import ClientKind
from gateway.deadline_watcher import scan
from tests.integration.harness import Harness, eventually, plan_body

pytestmark = pytest.mark.integration

REFUSAL = "не относится к компетенции органа"


async def _refuse(h: Harness, plan_id: str, agency: str) -> str:
    """The body takes its task and refuses it; returns the task id."""
    (message,) = await h.take(agency, 1)
    task_id = str(message["body"]["payload"]["task_id"])
    await h.report(task_id, agency, ReportStatus.received, plan_id=plan_id)
    await h.report(task_id, agency, ReportStatus.rejected, plan_id=plan_id, reason=REFUSAL)

    async def refused() -> bool:
        return bool(await _task(h, plan_id, task_id, "state") == "rejected_by_agency")

    await eventually(refused)
    return task_id


async def _task(h: Harness, plan_id: str, task_id: str, key: str = "") -> Any:
    task = next(t for t in (await h.plan(plan_id))["tasks"] if t["id"] == task_id)
    return task[key] if key else task


async def _finish(h: Harness, plan_id: str, agency: str, task_id: str | None = None) -> str:
    """The body takes its task and reports it done; the centre accepts it."""
    (message,) = await h.take(agency, 1)
    payload = message["body"]["payload"]
    assert task_id is None or payload["task_id"] == task_id
    await h.report(payload["task_id"], agency, ReportStatus.received, plan_id=plan_id)
    await h.report(payload["task_id"], agency, ReportStatus.done, plan_id=plan_id)

    async def reported() -> bool:
        return bool(await _task(h, plan_id, payload["task_id"], "state") == "reported")

    await eventually(reported)
    accepted = await h.http.post(
        f"/api/v1/plans/{plan_id}/tasks/{payload['task_id']}/review",
        json={"decision": "accept"},
        headers=h.auth("centre"),
    )
    assert accepted.status_code == 200, accepted.text
    return str(payload["task_id"])


async def test_a_refusal_starts_the_centres_review_clock(harness: Harness) -> None:
    h = harness
    plan_id = (await h.submit(plan_body(h.centre, agencies=("education",)))).json()["id"]
    task_id = await _refuse(h, plan_id, "education")

    task = await _task(h, plan_id, task_id)
    (review,) = [d for d in task["deadlines"] if d["kind"] == "review"]
    assert review["met_at"] is None and review["state"] == "on_time"
    assert task["last_reason"] == REFUSAL
    # The refusal stops the body's own clocks: nothing is owed by the body any more.
    assert all(d["met_at"] for d in task["deadlines"] if d["kind"] != "review")

    warn_at = datetime.fromisoformat(review["warn_at"])
    due_at = datetime.fromisoformat(review["due_at"])
    # Two working days from the day after the refusal, ending at 23:59:59 Almaty.
    assert (
        h.ctx.calendar.working_days_between(datetime.fromisoformat(review["starts_at"]), due_at)
        == 2
    )
    h.clock.set(warn_at + timedelta(minutes=1))
    assert (await scan(h.engine, h.clock.now())).warnings == 1
    assert (await scan(h.engine, h.clock.now())).warnings == 0
    task = await _task(h, plan_id, task_id)
    assert [d["state"] for d in task["deadlines"] if d["kind"] == "review"] == ["at_risk"]

    h.clock.set(due_at + timedelta(seconds=1))
    assert (await scan(h.engine, h.clock.now())).breaches == 1
    plan = await h.plan(plan_id)
    crossings = [
        (e["type"], e["data"]["kind"], e["task_id"])
        for e in plan["timeline"]
        if e["type"] in ("deadline_warning", "deadline_breached")
    ]
    assert crossings == [
        ("deadline_warning", "review", task_id),
        ("deadline_breached", "review", task_id),
    ]
    listed = (await h.http.get("/api/v1/plans?overdue=true", headers=h.auth("centre"))).json()
    assert [p["id"] for p in listed["items"]] == [plan_id]

    # Closing it late meets the clock, which stays a breach: it is judged by when it was met.
    closed = await h.http.post(
        f"/api/v1/plans/{plan_id}/tasks/{task_id}/close",
        json={"reason": "мероприятие выполнено силами центра"},
        headers=h.auth("centre"),
    )
    assert closed.status_code == 200, closed.text
    (review,) = [d for d in closed.json()["tasks"][0]["deadlines"] if d["kind"] == "review"]
    assert review["met_at"] is not None and review["state"] == "breached"


async def test_rerouting_a_refused_activity_to_the_competent_body(harness: Harness) -> None:
    h = harness
    body = plan_body(h.centre, agencies=("education", "health"))
    plan_id = (await h.submit(body)).json()["id"]
    refused = await _refuse(h, plan_id, "education")
    await _finish(h, plan_id, "health")
    assert (await h.plan(plan_id))["status"] == "active"  # the refusal keeps it open

    url = f"/api/v1/plans/{plan_id}/tasks/{refused}/reroute"
    same = await h.http.post(
        url, json={"agency": "education", "reason": "ещё раз"}, headers=h.auth("centre")
    )
    assert same.status_code == 422 and same.json()["errors"][0]["field"] == "agency"
    unknown = await h.http.post(
        url, json={"agency": "sport", "reason": "спорт"}, headers=h.auth("centre")
    )
    assert unknown.status_code == 422
    assert unknown.json()["errors"] == [
        {"field": "agency", "reason": unknown.json()["errors"][0]["reason"]}
    ]
    assert "not connected" in unknown.json()["errors"][0]["reason"]
    no_reason = await h.http.post(url, json={"agency": "housing"}, headers=h.auth("centre"))
    assert no_reason.status_code == 422
    other = await h.add_key(ClientKind.centre, "another-centre")
    foreign = await h.http.post(
        url,
        json={"agency": "housing", "reason": "жильё"},
        headers={"Authorization": f"Bearer {other}"},
    )
    assert foreign.status_code == 403
    admin = await h.http.post(
        url, json={"agency": "housing", "reason": "жильё"}, headers=h.auth("admin")
    )
    assert admin.status_code == 403  # only the plan's own centre acts on it

    rerouted = await h.http.post(
        url,
        json={"agency": "housing", "reason": "вопрос жилья — компетенция жилищного отдела"},
        headers=h.auth("centre"),
    )
    assert rerouted.status_code == 200, rerouted.text
    plan = rerouted.json()
    states = {t["id"]: (t["agency"], t["state"]) for t in plan["tasks"]}
    assert states[refused] == ("education", "rerouted")
    (new_id,) = [i for i, (a, _) in states.items() if a == "housing"]
    new = next(t for t in plan["tasks"] if t["id"] == new_id)
    assert new["state"] == "created" and new["title"] == "Мероприятие: education"
    assert {d["kind"] for d in new["deadlines"]} == {"routing", "due_date"}
    old_review = next(
        d
        for t in plan["tasks"]
        if t["id"] == refused
        for d in t["deadlines"]
        if d["kind"] == "review"
    )
    assert old_review["met_at"] is not None and old_review["state"] == "on_time"
    event = next(e for e in plan["timeline"] if e["type"] == "task_rerouted")
    assert event["task_id"] == refused and event["actor"] == f"centre:{h.centre}"
    assert event["data"] == {
        "from_agency": "education",
        "to_agency": "housing",
        "new_task_id": new_id,
    }
    again = await h.http.post(
        url, json={"agency": "housing", "reason": "жильё"}, headers=h.auth("centre")
    )
    assert again.status_code == 409  # already re-routed

    # The new task goes out through the outbox to the competent body, is delivered and done.
    await _finish(h, plan_id, "housing", new_id)
    plan = await h.plan(plan_id)
    assert plan["status"] == "completed"
    housing = next(t for t in plan["tasks"] if t["id"] == new_id)
    assert housing["state"] == "accepted" and housing["delivered_at"] is not None
    types = [e["type"] for e in plan["timeline"] if e["task_id"] == new_id]
    assert types[:3] == ["task_created", "task_dispatched", "task_delivered"]


async def test_closing_a_refused_activity_lets_the_plan_complete(harness: Harness) -> None:
    h = harness
    plan_id = (await h.submit(plan_body(h.centre, agencies=("education", "health")))).json()["id"]
    refused = await _refuse(h, plan_id, "education")
    health = await _finish(h, plan_id, "health")
    url = f"/api/v1/plans/{plan_id}/tasks/{{}}/close"

    blank = await h.http.post(url.format(refused), json={"reason": "  "}, headers=h.auth("centre"))
    assert blank.status_code == 422 and blank.json()["errors"][0]["field"] == "reason"
    accepted = await h.http.post(
        url.format(health), json={"reason": "не нужно"}, headers=h.auth("centre")
    )
    assert accepted.status_code == 409  # an accepted activity is not closed
    missing = await h.http.post(
        url.format("no-such-task"), json={"reason": "нет"}, headers=h.auth("centre")
    )
    assert missing.status_code == 404

    closed = await h.http.post(
        url.format(refused),
        json={"reason": "семья получила услугу по другой программе"},
        headers=h.auth("centre"),
    )
    assert closed.status_code == 200, closed.text
    plan = closed.json()
    assert plan["status"] == "completed" and plan["completed_at"] is not None
    assert {t["id"]: t["state"] for t in plan["tasks"]} == {refused: "closed", health: "accepted"}
    event = next(e for e in plan["timeline"] if e["type"] == "task_closed")
    assert event["reason"] == "семья получила услугу по другой программе"
    assert event["from_state"] == "rejected_by_agency" and event["to_state"] == "closed"
    assert plan["timeline"][-1]["type"] == "plan_completed"
