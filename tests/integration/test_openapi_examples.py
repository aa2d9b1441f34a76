"""Every request example in the OpenAPI document is a request the API accepts.

The examples are read from the served `/openapi.json`, not from `gateway.api.examples`,
so an example added to any route later is picked up here; one this scenario does not
know how to send fails the test instead of passing unseen. Each is sent in the order a
plan's life needs (submit, the body's reports, the centre's review, cancel) and must get
the status the document gives for that operation's success.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from gateway.auth import ClientKind
from tests.integration.harness import Harness

pytestmark = pytest.mark.integration


def _request_examples(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for path, item in document["paths"].items():
        for method, operation in item.items():
            content = operation.get("requestBody", {}).get("content", {})
            examples = content.get("application/json", {}).get("examples", {})
            if examples:
                found[(method.upper(), path)] = {k: v["value"] for k, v in examples.items()}
    return found


def _documented(document: dict[str, Any], method: str, path: str, status: int) -> bool:
    return str(status) in document["paths"][path][method.lower()]["responses"]


async def test_each_documented_example_gets_the_documented_status(harness: Harness) -> None:
    h = harness
    document = (await h.http.get("/openapi.json")).json()
    examples = _request_examples(document)
    sent: set[tuple[str, str, str]] = set()

    async def send(
        method: str, path: str, name: str, who: str, status: int, **ids: str
    ) -> httpx.Response:
        assert _documented(document, method, path, status), (method, path, status)
        body = examples[(method, path)][name]
        response = await h.http.request(method, path.format(**ids), json=body, headers=h.auth(who))
        assert response.status_code == status, (method, path, name, response.text)
        sent.add((method, path, name))
        return response

    submit = ("POST", "/api/v1/plans")
    (centre,) = {body["centre"] for body in examples[submit].values()}
    register = ("POST", "/api/v1/centres")  # the examples' centre, before its key
    for name in examples[register]:
        assert (await send(*register, name, "admin", 201)).json()["code"] == centre
    h.keys["example-centre"] = await h.add_key(ClientKind.centre, centre)
    plans = [(await send(*submit, name, "example-centre", 201)).json() for name in examples[submit]]
    tasks = {t["agency"]: t["id"] for t in plans[0]["tasks"]}
    plan_id = plans[0]["id"]

    report = ("POST", "/api/v1/tasks/{task_id}/reports")
    order = ["received", "in-progress", "done"]
    assert set(examples[report]) == {*order, "rejected"}
    for name in order:
        await send(*report, name, "health", 202, task_id=tasks["health"])
    await send(*report, "rejected", "education", 202, task_id=tasks["education"])
    housing = await h.http.post(
        f"/api/v1/tasks/{tasks['housing']}/reports",
        json={"status": "done"},
        headers=h.auth("housing"),
    )
    assert housing.json()["state"] == "reported"

    review = ("POST", "/api/v1/plans/{plan_id}/tasks/{task_id}/review")
    assert set(examples[review]) == {"accept", "return"}
    accepted = await send(
        *review, "accept", "example-centre", 200, plan_id=plan_id, task_id=tasks["health"]
    )
    assert accepted.json()["state"] == "accepted"
    returned = await send(
        *review, "return", "example-centre", 200, plan_id=plan_id, task_id=tasks["housing"]
    )
    assert returned.json()["state"] == "returned"

    reroute = ("POST", "/api/v1/plans/{plan_id}/tasks/{task_id}/reroute")
    for name in examples[reroute]:
        rerouted = await send(
            *reroute, name, "example-centre", 200, plan_id=plan_id, task_id=tasks["education"]
        )
        states = {t["id"]: t["state"] for t in rerouted.json()["tasks"]}
        assert states[tasks["education"]] == "rerouted"
    (moved,) = [t["id"] for t in rerouted.json()["tasks"] if t["id"] not in tasks.values()]
    refused = await h.http.post(
        f"/api/v1/tasks/{moved}/reports",
        json={"status": "rejected", "reason": "не наша компетенция"},
        headers=h.auth("housing"),
    )
    assert refused.json()["state"] == "rejected_by_agency"
    close = ("POST", "/api/v1/plans/{plan_id}/tasks/{task_id}/close")
    for name in examples[close]:
        closed = await send(*close, name, "example-centre", 200, plan_id=plan_id, task_id=moved)
        assert {t["id"]: t["state"] for t in closed.json()["tasks"]}[moved] == "closed"

    cancel = ("POST", "/api/v1/plans/{plan_id}/cancel")
    for name in examples[cancel]:
        cancelled = await send(*cancel, name, "example-centre", 200, plan_id=plan_id)
        assert cancelled.json()["status"] == "cancelled"

    clients = ("POST", "/api/v1/clients")
    for name in examples[clients]:
        await send(*clients, name, "admin", 201)

    every = {(m, p, n) for (m, p), named in examples.items() for n in named}
    assert every - sent == set(), "examples this test does not send yet"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("offset=9223372036854775808", "offset"),
        ("offset=1000001", "offset"),
        ("offset=-1", "offset"),
        ("limit=0", "limit"),
        ("limit=501", "limit"),
        ("centre=Not%20a%20code", "centre"),
    ],
)
async def test_paging_out_of_range_is_a_422_naming_the_parameter(
    harness: Harness, query: str, field: str
) -> None:
    """`offset=2**63` used to reach SQLite and come back a 500 (OverflowError)."""
    response = await harness.http.get(f"/api/v1/plans?{query}", headers=harness.auth("centre"))
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in response.json()["errors"]] == [field]
    if field == "offset" or query == "limit=0":  # the tasks list pages the same way
        tasks = await harness.http.get(f"/api/v1/tasks?{query}", headers=harness.auth("health"))
        assert tasks.status_code == 422 and tasks.json()["errors"][0]["field"] == field


async def test_the_largest_offset_still_answers(harness: Harness) -> None:
    page = await harness.http.get("/api/v1/plans?offset=1000000", headers=harness.auth("centre"))
    assert page.status_code == 200 and page.json()["items"] == []
