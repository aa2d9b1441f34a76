"""Keys with a lifecycle, on both stores: revoke at once, rotate with an overlap, last
use recorded cheaply, admin keys that only administer, no client for an unconnected body."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from gateway.api.deps import AppState
from gateway.cli import app
from gateway.services import clients
from gateway.store.tables import api_clients, audit_log
from tests.integration.harness import Harness, plan_body

pytestmark = pytest.mark.integration


async def _id_of(h: Harness, who: str) -> str:
    caller = await h_state(h).caller_for(h.keys[who])
    assert caller is not None
    return caller.client_id


def h_state(h: Harness) -> AppState:
    state: AppState = h.http._transport.app.state.gw  # type: ignore[attr-defined]
    return state


async def _tasks_status(h: Harness, key: str) -> int:
    response = await h.http.get("/api/v1/tasks", headers={"Authorization": f"Bearer {key}"})
    return response.status_code


async def _audited(h: Harness) -> list[str]:
    async with h.engine.connect() as conn:
        return list((await conn.execute(select(audit_log.c.action))).scalars())


async def test_revoking_through_the_admin_api_refuses_the_key_at_once(harness: Harness) -> None:
    h = harness
    assert await _tasks_status(h, h.keys["health"]) == 200  # recognised and now cached
    client_id = await _id_of(h, "health")
    revoked = await h.http.post(f"/api/v1/clients/{client_id}/revoke", headers=h.auth("admin"))
    assert revoked.status_code == 204, revoked.text
    assert await _tasks_status(h, h.keys["health"]) == 401
    assert "client_revoked" in await _audited(h)
    listed = await h.http.get("/api/v1/clients", headers=h.auth("admin"))
    (row,) = [r for r in listed.json() if r["id"] == client_id]
    assert row["revoked_at"] is not None


async def test_a_revocation_by_another_process_beats_the_auth_cache(harness: Harness) -> None:
    h = harness
    assert await _tasks_status(h, h.keys["housing"]) == 200  # cached for 30 s
    client_id = await _id_of(h, "housing")
    async with h.engine.begin() as conn:  # as `gateway clients revoke` does, elsewhere
        await clients.revoke(conn, client_id, actor="operator:cli", now=h.clock.now())
    await asyncio.sleep(1.1)  # KEY_CHANGES_POLL_SECONDS
    assert await _tasks_status(h, h.keys["housing"]) == 401


async def test_rotation_keeps_the_old_key_for_the_overlap_only(harness: Harness) -> None:
    h = harness
    old = h.keys["education"]
    assert await _tasks_status(h, old) == 200
    client_id = await _id_of(h, "education")
    rotated = await h.http.post(
        f"/api/v1/clients/{client_id}/rotate",
        json={"overlap_seconds": 3600},
        headers=h.auth("admin"),
    )
    assert rotated.status_code == 200, rotated.text
    new = rotated.json()["api_key"]
    assert new != old
    assert await _tasks_status(h, new) == 200
    assert await _tasks_status(h, old) == 200  # in the overlap
    h.clock.advance(timedelta(minutes=61))
    assert await _tasks_status(h, old) == 401  # the overlap is over, cache or not
    assert await _tasks_status(h, new) == 200
    assert "client_key_rotated" in await _audited(h)
    negative = await h.http.post(
        f"/api/v1/clients/{client_id}/rotate",
        json={"overlap_seconds": -1},
        headers=h.auth("admin"),
    )
    assert negative.status_code == 422
    assert negative.json()["errors"][0]["field"] == "overlap_seconds"


async def test_the_last_use_is_recorded_at_most_once_a_minute(harness: Harness) -> None:
    h = harness
    assert await _tasks_status(h, h.keys["internal_affairs"]) == 200
    client_id = await _id_of(h, "internal_affairs")

    async def last_used() -> object:
        async with h.engine.connect() as conn:
            return (
                await conn.execute(
                    select(api_clients.c.last_used_at).where(api_clients.c.id == client_id)
                )
            ).scalar()

    first = await last_used()
    assert first is not None
    h.clock.advance(timedelta(seconds=10))
    for _ in range(5):
        assert await _tasks_status(h, h.keys["internal_affairs"]) == 200
    assert await last_used() == first  # no write per request


async def test_admin_keys_administer_and_do_not_act_as_a_centre(harness: Harness) -> None:
    h = harness
    submitted = await h.http.post(
        "/api/v1/plans", json=plan_body(h.centre), headers=h.auth("admin")
    )
    assert submitted.status_code == 403
    assert "does not act as a centre" in submitted.json()["detail"]
    # For a centre that does not exist at all, the same: no key may submit for it.
    ghost = await h.http.post(
        "/api/v1/plans", json=plan_body("no-such-centre"), headers=h.auth("admin")
    )
    assert ghost.status_code == 403
    other = await h.http.post(
        "/api/v1/plans", json=plan_body("no-such-centre"), headers=h.auth("centre")
    )
    assert other.status_code == 403 and h.centre in other.json()["detail"]
    plan = await h.submit()
    assert plan.status_code == 201
    cancel = await h.http.post(
        f"/api/v1/plans/{plan.json()['id']}/cancel",
        json={"reason": "проверка"},
        headers=h.auth("admin"),
    )
    assert cancel.status_code == 403


async def test_a_client_for_a_body_that_is_not_connected_is_refused(harness: Harness) -> None:
    h = harness
    refused = await h.http.post(
        "/api/v1/clients",
        json={"name": "x", "kind": "agency", "scope": "employment"},
        headers=h.auth("admin"),
    )
    assert refused.status_code == 422
    (error,) = refused.json()["errors"]
    assert error["field"] == "scope" and "not connected" in error["reason"]
    by_centre = await h.http.post(
        "/api/v1/clients",
        json={"name": "x", "kind": "agency", "scope": "health"},
        headers=h.auth("centre"),
    )
    assert by_centre.status_code == 403


async def test_the_cli_revokes_and_rotates(
    harness: Harness, store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = harness
    monkeypatch.setenv("GATEWAY_DATABASE_URL", store_url)
    runner = CliRunner()
    client_id = await _id_of(h, "education")
    rotated = await asyncio.to_thread(
        runner.invoke, app, ["clients", "rotate", client_id, "--overlap-seconds", "0"]
    )
    assert rotated.exit_code == 0, rotated.output
    new = rotated.output.splitlines()[0]
    assert new.startswith("gw_")
    await asyncio.sleep(1.1)
    h.clock.advance(timedelta(seconds=60))  # the harness's clock started before the CLI's
    assert await _tasks_status(h, new) == 200
    assert await _tasks_status(h, h.keys["education"]) == 401  # overlap 0: gone at once
    revoked = await asyncio.to_thread(runner.invoke, app, ["clients", "revoke", client_id])
    assert revoked.exit_code == 0, revoked.output
    await asyncio.sleep(1.1)
    assert await _tasks_status(h, new) == 401
    unknown = await asyncio.to_thread(runner.invoke, app, ["clients", "revoke", "nope"])
    assert unknown.exit_code == 2
