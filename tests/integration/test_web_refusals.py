"""The plan page's buttons for a refused activity: re-route it, or close it with a reason."""

from __future__ import annotations

import uuid

import pytest

from contracts.messages import ReportStatus
from tests.integration.harness import Harness, eventually, plan_body
from tests.integration.test_web_workspace import add_person, csrf_of, sign_in

pytestmark = pytest.mark.integration


async def test_reroute_and_close_from_the_plan_page(harness: Harness) -> None:
    h = harness
    person = await add_person(h, f"w{uuid.uuid4().hex[:6]}")
    plan_id = (await h.submit(plan_body(h.centre, agencies=("education", "health")))).json()["id"]
    ids = {}
    for code in ("education", "health"):
        (message,) = await h.take(code, 1)
        ids[code] = message["body"]["payload"]["task_id"]
        await h.report(ids[code], code, ReportStatus.rejected, plan_id=plan_id, reason="не наше")

    async def both_refused() -> bool:
        states = {t["state"] for t in (await h.plan(plan_id))["tasks"]}
        return states == {"rejected_by_agency"}

    await eventually(both_refused)
    client = await sign_in(h, person.login)
    page = await client.get(f"/web/plans/{plan_id}")
    assert page.text.count("Направить другому органу") == 2
    assert page.text.count("Закрыть мероприятие") == 2
    assert "в течение 2 рабочих дней" in page.text
    # The choice offers the other connected bodies, not the one that refused.
    form = page.text.split(f'id="agency-{ids["education"]}"')[1].split("</select>")[0]
    assert 'value="housing"' in form and 'value="education"' not in form
    token = csrf_of(page)

    rerouted = await client.post(
        f"/web/plans/{plan_id}/tasks/{ids['education']}/reroute",
        data={"csrf": token, "agency": "housing", "reason": "жильё — компетенция отдела"},
    )
    assert rerouted.status_code == 303
    assert rerouted.headers["location"] == f"/web/plans/{plan_id}?msg=rerouted"
    (message,) = await h.take("housing", 1)
    assert message["body"]["type"] == "task.assigned"
    no_reason = await client.post(
        f"/web/plans/{plan_id}/tasks/{ids['health']}/close", data={"csrf": token, "reason": ""}
    )
    assert no_reason.status_code == 422
    closed = await client.post(
        f"/web/plans/{plan_id}/tasks/{ids['health']}/close",
        data={"csrf": token, "reason": "услуга оказана по другой программе"},
    )
    assert closed.status_code == 303

    plan = await h.plan(plan_id)
    states = {t["id"]: t["state"] for t in plan["tasks"]}
    assert states[ids["education"]] == "rerouted" and states[ids["health"]] == "closed"
    actors = {e["actor"] for e in plan["timeline"] if e["type"] in ("task_rerouted", "task_closed")}
    assert actors == {f"staff:{person.login}@{h.centre}"}
    again = await client.get(f"/web/plans/{plan_id}?msg=closed")
    assert "Мероприятие закрыто." in again.text
    assert "Направлено другому органу" in again.text  # the timeline, in Russian
    assert "Закрыто центром" in again.text
