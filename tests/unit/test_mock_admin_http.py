"""The admin endpoints and the REST fault middleware, in-process over httpx's ASGI transport."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI

from mocks.admin import ConnectionDropped, MockAdmin, install_admin


@pytest.fixture
def admin() -> MockAdmin:
    return MockAdmin()


@pytest.fixture
async def http(admin: MockAdmin) -> AsyncIterator[httpx.AsyncClient]:
    app = FastAPI()
    install_admin(app, admin, middleware=True)

    @app.get("/people/{iin}", name="person")
    async def person(iin: str) -> dict[str, str]:
        return {"iin": iin, "at": admin.clock.now().isoformat()}

    @app.post("/applications", name="application")
    async def application() -> dict[str, str]:
        return {"status": admin.scenarios.state("application")}

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://mock") as client:
        yield client


async def add(http: httpx.AsyncClient, **spec: object) -> dict[str, object]:
    response = await http.post("/__admin/faults", json=spec)
    assert response.status_code == 201, response.text
    rule: dict[str, object] = response.json()
    return rule


async def test_faults_are_added_listed_and_removed(http: httpx.AsyncClient) -> None:
    a = await add(http, service="person", kind="http_error", status=503, times=1)
    b = await add(http, kind="malformed")
    listed = (await http.get("/__admin/faults")).json()["faults"]
    assert [r["id"] for r in listed] == [a["id"], b["id"]]
    assert (await http.get(f"/__admin/faults/{a['id']}")).json()["remaining"] == 1
    assert (await http.delete(f"/__admin/faults/{a['id']}")).status_code == 204
    missing = await http.delete(f"/__admin/faults/{a['id']}")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    assert (await http.delete("/__admin/faults")).status_code == 204
    assert (await http.get("/__admin/faults")).json() == {"faults": []}


async def test_rules_match_the_route_name(http: httpx.AsyncClient) -> None:
    await add(http, service="person", kind="http_error", status=503, body="down")
    failed = await http.get("/people/1")
    assert (failed.status_code, failed.text) == (503, "down")
    assert (await http.post("/applications")).status_code == 200


async def test_each_kind_over_rest(http: httpx.AsyncClient) -> None:
    await add(http, kind="soap_fault", code="E1", message="nope", times=1)
    failed = await http.get("/people/1")
    assert (failed.status_code, failed.json()) == (500, {"code": "E1", "message": "nope"})

    await add(http, kind="malformed", times=1)
    garbage = await http.get("/people/1")
    assert garbage.status_code == 200
    with pytest.raises(ValueError):
        garbage.json()

    await add(http, kind="truncated", times=1)
    cut = await http.get("/people/1234")
    whole = await http.get("/people/1234")
    assert len(cut.content) == len(whole.content) // 2
    assert whole.content.startswith(cut.content[:10])

    await add(http, kind="connection_reset", times=1)
    with pytest.raises(ConnectionDropped):
        await http.get("/people/1")

    journal = (await http.get("/__admin/requests")).json()["requests"]
    assert [r["fault"].split("#")[0] if r["fault"] else None for r in journal] == [
        "soap_fault",
        "malformed",
        "truncated",
        None,
        "connection_reset",
    ]
    assert journal[-1]["http_status"] is None


async def test_the_journal_is_queried_and_counted(http: httpx.AsyncClient) -> None:
    before = datetime.now(UTC) - timedelta(seconds=1)
    await http.get("/people/1")
    await http.post("/applications", json={"iin": "1"})
    await http.post("/applications", json={"iin": "2"})
    count = await http.get("/__admin/requests/count", params={"service": "application"})
    assert count.json() == {"count": 2}
    by_path = await http.get("/__admin/requests", params={"path": "/people/1"})
    (record,) = by_path.json()["requests"]
    assert (record["method"], record["service"], record["http_status"]) == ("GET", "person", 200)
    posted = (await http.get("/__admin/requests", params={"service": "application"})).json()
    assert posted["requests"][1]["request"] == '{"iin":"2"}'
    since = {"since": before.isoformat()}
    assert (await http.get("/__admin/requests/count", params=since)).json() == {"count": 3}
    later = {"since": (datetime.now(UTC) + timedelta(hours=1)).isoformat()}
    assert (await http.get("/__admin/requests/count", params=later)).json() == {"count": 0}
    bad = await http.get("/__admin/requests", params={"since": "yesterday"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "since"
    assert (await http.delete("/__admin/requests")).status_code == 204
    assert (await http.get("/__admin/requests/count")).json() == {"count": 0}


async def test_scenarios_over_http(http: httpx.AsyncClient) -> None:
    assert (await http.get("/__admin/scenarios/application")).json() == {
        "name": "application",
        "state": "Started",
    }
    put = await http.put("/__admin/scenarios/application", json={"state": "registered"})
    assert put.json()["state"] == "registered"
    assert (await http.post("/applications")).json() == {"status": "registered"}
    assert (await http.get("/__admin/scenarios")).json() == {
        "scenarios": [{"name": "application", "state": "registered"}]
    }
    bad = await http.put("/__admin/scenarios/application", json={"state": ""})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "state"
    assert (await http.delete("/__admin/scenarios")).status_code == 204


async def test_the_clock_over_http(http: httpx.AsyncClient) -> None:
    moment = "2025-03-14T10:00:00+05:00"
    assert (await http.put("/__admin/clock", json={"now": moment})).json() == {
        "now": moment,
        "mode": "fixed",
    }
    assert (await http.get("/people/1")).json()["at"] == moment
    advanced = await http.put("/__admin/clock", json={"advance_seconds": 86400})
    assert advanced.json()["now"] == "2025-03-15T10:00:00+05:00"
    running = await http.put("/__admin/clock", json={"now": moment, "running": True})
    assert running.json()["mode"] == "shifted"
    assert (await http.delete("/__admin/clock")).json()["mode"] == "real"
    for body in ({}, {"now": moment, "advance_seconds": 1}, {"now": "soon"}, {"tick": 1}):
        bad = await http.put("/__admin/clock", json=body)
        assert bad.status_code == 422, body
        assert bad.headers["content-type"] == "application/problem+json"


async def test_invalid_rules_are_problems_naming_the_field(http: httpx.AsyncClient) -> None:
    response = await http.post("/__admin/faults", json={"kind": "http_error", "every_nth": 0})
    assert response.status_code == 422
    problem = response.json()
    assert problem["status"] == 422
    assert {e["field"] for e in problem["errors"]} == {"status", "every_nth"}
    not_json = await http.post("/__admin/faults", content=b"{oops")
    assert not_json.status_code == 400 and not_json.json()["errors"][0]["field"] == "body"


async def test_reset_over_http(http: httpx.AsyncClient, admin: MockAdmin) -> None:
    await add(http, kind="malformed")
    await http.get("/people/1")
    await http.put("/__admin/clock", json={"advance_seconds": 60})
    assert (await http.post("/__admin/reset")).status_code == 204
    assert admin.faults() == [] and admin.journal.records() == []
    assert admin.clock.mode == "real"
