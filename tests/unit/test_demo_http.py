"""`gateway demo` against a faked gateway (respx): the centre's side of the conversation."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import respx

from contracts.iin import next_valid_iin
from gateway import demo
from gateway.agencies import load_agencies

API = "http://gw.test"


def _plan(state: str, status: str = "active") -> dict[str, Any]:
    now = datetime(2026, 11, 20, 10, tzinfo=UTC).isoformat()
    iin = next_valid_iin(datetime(1990, 1, 1).date(), "female", 1)
    tasks: list[dict[str, Any]] = [
        {
            "id": f"task-{code}",
            "seq": i,
            "agency": code,
            "title": f"activity {code}",
            "description": "",
            "due_date": None,
            "beneficiary_iins": [],
            "state": state,
            "round": 0,
            "delivered_at": now,
            "reported_at": now if state != "delivered" else None,
            "accepted_at": now if state == "accepted" else None,
            "last_comment": None,
            "last_reason": None,
            "deadlines": [],
        }
        for i, code in enumerate(load_agencies().enabled_codes("ipr"), start=1)
    ]
    return {
        "id": "plan-1",
        "centre": "demo-centre",
        "external_id": "x",
        "status": status,
        "approved_at": now,
        "created_at": now,
        "completed_at": now if status == "completed" else None,
        "cancelled_at": None,
        "cancel_reason": None,
        "family": {
            "members": [{"iin": iin, "last_name": "А", "first_name": "Б", "role": "applicant"}]
        },
        "grounds": [],
        "tasks": tasks,
        "deadlines": [],
        "timeline": [],
    }


def _registry() -> list[dict[str, Any]]:
    return [a.model_dump() for a in load_agencies().all()]


@respx.mock
async def test_demo_accepts_every_report_and_exits_zero_when_completed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(demo, "POLL_SECONDS", 0.0)
    respx.get(f"{API}/api/v1/agencies").respond(200, json=_registry())
    submit = respx.post(f"{API}/api/v1/plans").respond(201, json=_plan("delivered"))
    reads = respx.get(f"{API}/api/v1/plans/plan-1")
    reads.side_effect = [
        httpx.Response(200, json=_plan("reported")),
        httpx.Response(200, json=_plan("accepted", status="completed")),
    ]
    review = respx.post(url__regex=rf"{API}/api/v1/plans/plan-1/tasks/task-\w+/review").respond(
        200, json=_plan("accepted")["tasks"][0]
    )

    code = await demo.run_demo(API, "gw_key", "demo-centre", timeout=10)

    assert code == 0
    sent = json.loads(submit.calls.last.request.content)
    assert sent["centre"] == "demo-centre" and len(sent["activities"]) == 4
    assert submit.calls.last.request.headers["Authorization"] == "Bearer gw_key"
    assert "Idempotency-Key" in submit.calls.last.request.headers
    assert review.call_count == 4
    assert {json.loads(c.request.content)["decision"] for c in review.calls} == {"accept"}


@respx.mock
async def test_demo_says_when_the_credential_is_refused() -> None:
    respx.get(f"{API}/api/v1/agencies").respond(
        401,
        json={"title": "Unauthorized", "status": 401, "detail": "the credential is not valid"},
        headers={"content-type": "application/problem+json"},
    )
    assert await demo.run_demo(API, "bad", "demo-centre", timeout=5) == demo.EXIT_CREDENTIAL_REFUSED


@respx.mock
async def test_demo_names_the_unreachable_gateway() -> None:
    respx.get(f"{API}/api/v1/agencies").mock(side_effect=httpx.ConnectError("refused"))
    assert await demo.run_demo(API, "k", "demo-centre", timeout=5) == demo.EXIT_UNREACHABLE
