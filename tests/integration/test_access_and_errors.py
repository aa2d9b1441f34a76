"""Who may do what, and how bad input is refused: a problem naming the field and reason."""

from __future__ import annotations

import pytest

from gateway.auth import ClientKind
from tests.integration.harness import Harness, plan_body

pytestmark = pytest.mark.integration


async def test_each_cross_access_is_refused(harness: Harness) -> None:
    h = harness
    h.keys["other-centre"] = await h.add_key(ClientKind.centre, "other-centre")
    plan = (await h.submit()).json()
    plan_id = plan["id"]
    task = next(t for t in plan["tasks"] if t["agency"] == "health")

    async def status(method: str, url: str, who: str, **kw: object) -> int:
        response = await h.http.request(method, url, headers=h.auth(who), **kw)  # type: ignore[arg-type]
        if response.status_code >= 400:
            assert response.headers["content-type"] == "application/problem+json"
        return response.status_code

    # Another centre cannot read, list, review, cancel or submit for this centre.
    assert await status("GET", f"/api/v1/plans/{plan_id}", "other-centre") == 403
    assert await status("GET", f"/api/v1/plans?centre={h.centre}", "other-centre") == 403
    assert (await h.http.get("/api/v1/plans", headers=h.auth("other-centre"))).json()["total"] == 0
    assert await status("GET", f"/api/v1/tasks/{task['id']}", "other-centre") == 403
    review = f"/api/v1/plans/{plan_id}/tasks/{task['id']}/review"
    assert await status("POST", review, "other-centre", json={"decision": "accept"}) == 403
    assert (
        await status(
            "POST", f"/api/v1/plans/{plan_id}/cancel", "other-centre", json={"reason": "x"}
        )
        == 403
    )
    assert await status("POST", "/api/v1/plans", "other-centre", json=plan_body(h.centre)) == 403

    # An agency sees and reports on its own tasks only, and never lists plans.
    assert await status("GET", f"/api/v1/tasks/{task['id']}", "health") == 200
    assert await status("GET", f"/api/v1/tasks/{task['id']}", "housing") == 403
    report = f"/api/v1/tasks/{task['id']}/reports"
    assert await status("POST", report, "housing", json={"status": "received"}) == 403
    assert await status("GET", "/api/v1/plans", "health") == 403
    assert await status("GET", f"/api/v1/plans/{plan_id}", "health") == 403
    assert await status("POST", "/api/v1/plans", "health", json=plan_body(h.centre)) == 403
    assert await status("POST", review, "health", json={"decision": "accept"}) == 403
    own = (await h.http.get("/api/v1/tasks", headers=h.auth("health"))).json()
    assert [t["id"] for t in own] == [task["id"]]
    assert (await h.http.get("/api/v1/tasks", headers=h.auth("housing"))).json()[0][
        "agency"
    ] == "housing"

    # Only an admin manages clients (a centre's for a registered centre only) and the
    # register; a centre cannot act as admin, nor report as a body.
    new_client = {"name": "x", "kind": "centre", "scope": "c2"}
    assert await status("POST", "/api/v1/clients", "centre", json=new_client) == 403
    assert await status("POST", "/api/v1/clients", "health", json=new_client) == 403
    assert await status("POST", "/api/v1/clients", "admin", json=new_client) == 422
    c2 = {"code": "c2", "name_ru": "ЦПС 2", "name_kk": "Орталық 2"}
    assert await status("POST", "/api/v1/centres", "centre", json=c2) == 403
    assert await status("POST", "/api/v1/centres", "admin", json=c2) == 201
    assert await status("POST", "/api/v1/clients", "admin", json=new_client) == 201
    assert await status("POST", report, "centre", json={"status": "received"}) == 403
    # The admin reads any plan but does not review for the centre.
    assert await status("GET", f"/api/v1/plans/{plan_id}", "admin") == 200
    assert await status("POST", review, "admin", json={"decision": "accept"}) == 403

    # No credential, or a wrong one.
    assert (await h.http.get(f"/api/v1/plans/{plan_id}")).status_code == 401
    bad = {"Authorization": "Bearer gw_000000000000_nope"}
    assert (await h.http.get(f"/api/v1/plans/{plan_id}", headers=bad)).status_code == 401
    stolen_prefix = h.keys["centre"].rsplit("_", 1)[0] + "_wrongsecret"
    stolen = {"Authorization": f"Bearer {stolen_prefix}"}
    assert (await h.http.get(f"/api/v1/plans/{plan_id}", headers=stolen)).status_code == 401

    # One way to pass a key: a valid key in X-API-Key is refused, alone or beside a bearer
    # (it used to win silently over Authorization).
    valid = h.keys["centre"]
    for headers in ({"X-API-Key": valid}, {"X-API-Key": valid, **h.auth("centre")}):
        refused = await h.http.get(f"/api/v1/plans/{plan_id}", headers=headers)
        assert refused.status_code == 401
        assert refused.headers["www-authenticate"] == "Bearer"
        assert "X-API-Key is not read" in refused.json()["detail"]


async def test_every_read_is_attributed_to_a_caller(harness: Harness) -> None:
    from sqlalchemy import select

    from gateway.store.tables import access_log

    h = harness
    plan_id = (await h.submit()).json()["id"]
    await h.plan(plan_id)
    await h.plan(plan_id, who="admin")
    async with h.engine.connect() as conn:
        rows = (await conn.execute(select(access_log).where(access_log.c.plan_id == plan_id))).all()
    assert len(rows) == 2 and len({r.client_id for r in rows}) == 2


def _problem(response: object) -> dict[str, object]:
    import httpx

    assert isinstance(response, httpx.Response)
    assert response.headers["content-type"] == "application/problem+json", response.text
    data: dict[str, object] = response.json()
    return data


async def test_bad_input_gets_a_problem_naming_field_and_reason(harness: Harness) -> None:
    h = harness
    body = plan_body(h.centre)
    body["family"]["members"][0]["iin"] = body["family"]["members"][0]["iin"][:-1] + str(
        (int(body["family"]["members"][0]["iin"][-1]) + 1) % 10
    )
    bad_iin = _problem(await h.submit(body))
    assert bad_iin["status"] == 422
    assert bad_iin["errors"] == [
        {"field": "family.members[0].iin", "reason": "control digit does not match"}
    ]

    body = plan_body(h.centre)
    body["activities"][2]["agency"] = "ministry_of_magic"
    unknown = _problem(await h.submit(body))
    assert unknown["status"] == 422
    assert unknown["errors"][0]["field"] == "activities[2].agency"  # type: ignore[index]
    assert "unknown agency 'ministry_of_magic'" in unknown["errors"][0]["reason"]  # type: ignore[index]

    body = plan_body(h.centre)
    body["activities"][0]["agency"] = "sport"
    not_connected = _problem(await h.submit(body))
    assert "not connected" in str(not_connected["detail"])

    body = plan_body(h.centre)
    del body["approved_at"]
    missing = _problem(await h.submit(body))
    assert missing["errors"] == [{"field": "approved_at", "reason": "is required"}]

    body = plan_body(h.centre)
    body["approved_at"] = "2026-11-20T10:00:00"
    naive = _problem(await h.submit(body))
    assert naive["errors"][0]["field"] == "approved_at"  # type: ignore[index]

    body = plan_body(h.centre)
    body["family"]["address"] = "д" * 300_000
    too_big = await h.http.post("/api/v1/plans", json=body, headers=h.auth("centre"))
    assert too_big.status_code == 413
    assert _problem(too_big)["errors"] == [{"field": "body", "reason": "over 262144 bytes"}]

    malformed = await h.http.post(
        "/api/v1/plans",
        content=b'{"centre": ',
        headers={**h.auth("centre"), "content-type": "application/json"},
    )
    problem = _problem(malformed)
    assert problem["status"] == 422 and problem["errors"][0]["field"] == "body"  # type: ignore[index]
    assert "malformed JSON" in problem["errors"][0]["reason"]  # type: ignore[index]

    # Nothing already accepted is lost by all that: no plan was created by the refusals.
    listed = (await h.http.get("/api/v1/plans", headers=h.auth("centre"))).json()
    assert listed["total"] == 0


async def test_readiness_checks_the_store_and_the_broker(harness: Harness) -> None:
    h = harness
    state = h.http._transport.app.state.gw  # type: ignore[attr-defined]

    async def broker_up() -> bool:
        return not h.connection.is_closed

    async def broker_down() -> bool:
        return False

    state.broker_ready = broker_up
    ready = await h.http.get("/ready")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok", "broker": "ok"}
    state.broker_ready = broker_down
    not_ready = await h.http.get("/ready")
    # Issue 16: "broker: down" while the link is reconnecting (was "failing: not connected").
    assert not_ready.status_code == 503 and not_ready.json()["checks"]["broker"] == "down"
    assert (await h.http.get("/health")).json() == {"status": "ok"}
