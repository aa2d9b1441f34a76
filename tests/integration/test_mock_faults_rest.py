"""The admin library on a REST mock under uvicorn: what a client on a socket sees.

The e-government portal and Kandas mocks install ``mocks.admin`` with its middleware;
this checks the parts only a real server shows: a reset leaves the client with no
response at all, delays are real, and the server keeps serving afterwards.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from fastapi import FastAPI

from mocks.admin import MockAdmin, install_admin
from mocks.shep.server import RunningServer, serve_in_thread

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def server() -> Iterator[RunningServer]:
    app = FastAPI()
    admin = MockAdmin()
    install_admin(app, admin, middleware=True)

    @app.get("/status/{number}", name="status")
    async def status(number: str) -> dict[str, str]:
        return {"number": number, "at": admin.clock.now().isoformat()}

    with serve_in_thread(app) as running:
        yield running


@pytest.fixture
async def http(server: RunningServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.base_url) as client:
        (await client.post("/__admin/reset")).raise_for_status()
        yield client


async def test_a_connection_reset_is_a_transport_error_and_the_server_goes_on(
    http: httpx.AsyncClient,
) -> None:
    rule = {"service": "status", "kind": "connection_reset", "every_nth": 2}
    assert (await http.post("/__admin/faults", json=rule)).status_code == 201
    assert (await http.get("/status/1")).status_code == 200
    with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)):
        await http.get("/status/2")
    assert (await http.get("/status/3")).json()["number"] == "3"
    journal = (await http.get("/__admin/requests", params={"service": "status"})).json()
    assert [r["http_status"] for r in journal["requests"]] == [200, None, 200]


async def test_a_delay_is_real_time(http: httpx.AsyncClient) -> None:
    await http.post("/__admin/faults", json={"kind": "delay", "delay_ms": 200, "times": 1})
    started = time.monotonic()
    assert (await http.get("/status/1")).status_code == 200
    assert time.monotonic() - started >= 0.2
    (record,) = (await http.get("/__admin/requests")).json()["requests"]
    assert record["duration_ms"] >= 200 and record["fault"] == "delay#1"


async def test_a_timeout_cut_short_by_the_client_still_shows_in_the_journal(
    http: httpx.AsyncClient,
) -> None:
    await http.post("/__admin/faults", json={"kind": "delay", "delay_ms": 400, "times": 1})
    with pytest.raises(httpx.ReadTimeout):
        await http.get("/status/1", timeout=0.1)
    for _ in range(40):
        if (await http.get("/__admin/requests/count")).json()["count"]:
            break
        await asyncio.sleep(0.025)
    assert (await http.get("/__admin/requests/count", params={"fault": "delay"})).json() == {
        "count": 1
    }
