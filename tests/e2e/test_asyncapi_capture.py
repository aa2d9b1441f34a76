"""Every message of an end-to-end run matches `contracts/asyncapi.json`.

The gateway and the mock bodies run as processes on the real RabbitMQ. Before anything
is sent, an extra queue of the test's own is bound to every exchange the document names,
with every routing key, so it receives a copy of each message as the broker routed it.
A run then produces every kind of message: plans submitted (`task.assigned`), the bodies'
reports (`task.status`), a report returned for rework (`task.returned`) and accepted, a
plan cancelled (`task.cancelled`), a body that crashes on its task until RabbitMQ
dead-letters it (`x-death`), a body that rejects, and a broken report the gateway parks
itself (`x-error`). Each captured message's AMQP properties, headers and body are
validated with `jsonschema` against the schemas of the message the document gives for
its exchange and type; its properties must agree with its envelope.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import aio_pika
import httpx
import jsonschema
import pytest
from aio_pika.abc import AbstractIncomingMessage

from contracts.amqp import STATUS_ROUTING_KEY, Topology, persistent_message
from contracts.export import ASYNCAPI_FILE
from gateway.agencies import load_agencies
from gateway.api.examples import PLAN
from tests.conftest import AMQP_URL
from tests.e2e.system import System, free_port

pytestmark = pytest.mark.e2e

DELIVERY_LIMIT = "2"
CENTRE = "demo-centre"
EXCHANGE_CHANNELS = {
    "tasks": "taskRoutingKey",
    "status": "statusRoutingKey",
    "dlx": "deadLetterRoutingKey",
}


def _properties(message: AbstractIncomingMessage) -> dict[str, Any]:
    """The AMQP basic properties that are set, named as AMQP 0-9-1 names them."""
    found = {
        "message_id": message.message_id,
        "correlation_id": message.correlation_id,
        "type": message.type,
        "content_type": message.content_type,
        "delivery_mode": int(message.delivery_mode) if message.delivery_mode else None,
        "user_id": message.user_id,
        "timestamp": int(message.timestamp.timestamp()) if message.timestamp else None,
    }
    return {k: v for k, v in found.items() if v is not None}


class Contract:
    def __init__(self) -> None:
        self.document: dict[str, Any] = json.loads(ASYNCAPI_FILE.read_text())

    def validator(self, schema: dict[str, Any]) -> jsonschema.Validator:
        return jsonschema.Draft7Validator(
            {**schema, "components": self.document["components"]},
            format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER,
        )

    def message_for(self, exchange_kind: str, message_type: str) -> tuple[str, dict[str, Any]]:
        channel = self.document["channels"][EXCHANGE_CHANNELS[exchange_kind]]
        messages = self.document["components"]["messages"]
        keys = [ref["$ref"].rsplit("/", 1)[-1] for ref in channel["messages"].values()]
        if exchange_kind == "dlx":
            return "deadLetter", messages["deadLetter"]
        matching = [k for k in keys if messages[k]["name"] == message_type]
        assert matching, f"the document has no '{message_type}' on {exchange_kind}"
        return matching[0], messages[matching[0]]

    def check(self, exchange_kind: str, message: AbstractIncomingMessage) -> str:
        """Validate one captured message; its message's key in the document."""
        key, spec = self.message_for(exchange_kind, message.type or "")
        properties = _properties(message)
        headers = dict(message.headers or {})
        self.validator(spec["x-amqp-properties"]).validate(properties)
        self.validator(spec["headers"]).validate(json.loads(json.dumps(headers, default=str)))
        if key == "deadLetter":
            return key + (":x-death" if "x-death" in headers else ":x-error")
        body = json.loads(message.body)
        self.validator(spec["payload"]).validate(body)
        assert properties["message_id"] == body["message_id"]
        assert properties["correlation_id"] == body["correlation_id"]
        assert properties["type"] == body["type"]
        return key


def _plan(activities: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        **PLAN,
        "centre": CENTRE,
        "approved_at": datetime.now(UTC).isoformat(),
        "activities": activities,
    }


async def test_every_message_of_a_run_matches_the_asyncapi_document(system: System) -> None:
    contract = Contract()
    system.start_gateway(GATEWAY_DELIVERY_LIMIT=DELIVERY_LIMIT)
    topology = Topology(system.prefix, load_agencies().enabled_codes())
    kinds = {
        topology.tasks_exchange: "tasks",
        topology.status_exchange: "status",
        topology.dead_letter_exchange: "dlx",
    }

    connection = await aio_pika.connect(AMQP_URL)
    async with connection:
        channel = await connection.channel()
        capture = await channel.declare_queue(exclusive=True, auto_delete=True)
        for agency in topology.agencies:
            await capture.bind(topology.tasks_exchange, routing_key=agency)
            await capture.bind(topology.dead_letter_exchange, routing_key=agency)
        await capture.bind(topology.status_exchange, routing_key=STATUS_ROUTING_KEY)
        await capture.bind(topology.dead_letter_exchange, routing_key=STATUS_ROUTING_KEY)

        admin = free_port()
        system.start(
            "mocks", "mocks", "agencies", "run", "--work-seconds", "0.05", "--rework-rate", "1",
            "--state-dir", str(system.mock_state), "--admin-port", str(admin),
            GATEWAY_DELIVERY_LIMIT=DELIVERY_LIMIT,
        )  # fmt: skip
        registered = system.gateway("centres", "add", CENTRE, "--name-ru", "x", "--name-kk", "x")
        assert registered.returncode == 0, registered.stderr
        key = system.gateway("clients", "add", "--kind", "centre", "--scope", CENTRE, "--name", "x")
        assert key.returncode == 0, key.stderr
        api = httpx.AsyncClient(
            base_url=system.url,
            headers={"Authorization": f"Bearer {key.stdout.strip().splitlines()[-1]}"},
            timeout=10,
        )
        async with api, httpx.AsyncClient(base_url=f"http://127.0.0.1:{admin}") as bodies:
            await _until(lambda: _answers(bodies), "the mock bodies' admin API")
            for fault in (
                {"agency": "internal_affairs", "kind": "crash"},
                {"agency": "housing", "kind": "reject", "reason": "Не наша компетенция"},
            ):
                assert (await bodies.post("/__admin/faults", json=fault)).status_code in (200, 201)
            await _run_a_plan_through(api)
            garbage_id = str(uuid.uuid4())
            status = await channel.get_exchange(topology.status_exchange, ensure=False)
            await status.publish(
                persistent_message(
                    b"{not json",
                    message_id=garbage_id,
                    correlation_id="",
                    message_type="task.status",
                ),
                routing_key=STATUS_ROUTING_KEY,
            )

            seen: dict[str, int] = {}
            wanted = {
                "taskAssigned", "taskReturned", "taskCancelled", "taskStatus",
                "deadLetter:x-death", "deadLetter:x-error",
            }  # fmt: skip
            deadline = time.monotonic() + 30
            while not wanted <= set(seen) and time.monotonic() < deadline:
                message = await capture.get(fail=False, no_ack=True)
                if message is None:
                    await asyncio.sleep(0.05)
                    continue
                kind = kinds[message.exchange or ""]
                if kind == "status" and message.message_id == garbage_id:
                    continue  # the broken report itself: the test's, and not a valid one
                name = contract.check(kind, message)
                seen[name] = seen.get(name, 0) + 1
            while (message := await capture.get(fail=False, no_ack=True)) is not None:
                if message.message_id != garbage_id or message.exchange != topology.status_exchange:
                    name = contract.check(kinds[message.exchange or ""], message)
                    seen[name] = seen.get(name, 0) + 1
    print("captured and valid:", dict(sorted(seen.items())))
    assert wanted <= set(seen), seen
    assert seen["taskAssigned"] == 5 and seen["taskStatus"] >= 10, seen


async def _answers(client: httpx.AsyncClient) -> bool:
    try:
        return (await client.get("/__admin/faults")).status_code == 200
    except httpx.TransportError:
        return False


async def _until(check: Any, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


async def _run_a_plan_through(api: httpx.AsyncClient) -> None:
    """A plan to four bodies: one returned for rework then accepted, one accepted, one
    rejected by its body, one dead-lettered; and a second plan, cancelled."""
    activities = [
        {"agency": code, "title": f"Мероприятие: {code}"}
        for code in ("health", "education", "housing", "internal_affairs")
    ]
    created = await api.post("/api/v1/plans", json=_plan(activities))
    assert created.status_code == 201, created.text
    plan_id = created.json()["id"]
    ids = {t["agency"]: t["id"] for t in created.json()["tasks"]}

    async def states() -> dict[str, str]:
        plan = (await api.get(f"/api/v1/plans/{plan_id}")).json()
        return {t["agency"]: t["state"] for t in plan["tasks"]}

    async def reached(wanted: dict[str, str]) -> bool:
        now = await states()
        return all(now[agency] == state for agency, state in wanted.items())

    await _until(lambda: reached({"health": "reported", "education": "reported"}), "reports")
    review = "/api/v1/plans/{}/tasks/{}/review"
    returned = await api.post(
        review.format(plan_id, ids["health"]), json={"decision": "return", "reason": "Дополнить"}
    )
    assert returned.status_code == 200, returned.text
    accepted = await api.post(review.format(plan_id, ids["education"]), json={"decision": "accept"})
    assert accepted.status_code == 200, accepted.text
    await _until(lambda: reached({"health": "reported"}), "the rework")
    again = await api.post(review.format(plan_id, ids["health"]), json={"decision": "accept"})
    assert again.status_code == 200, again.text
    await _until(
        lambda: reached({"housing": "rejected_by_agency", "internal_affairs": "failed"}),
        "the rejection and the dead letter",
    )

    second = await api.post("/api/v1/plans", json=_plan(activities[:1]))
    assert second.status_code == 201, second.text
    cancelled = await api.post(
        f"/api/v1/plans/{second.json()['id']}/cancel", json={"reason": "Семья переехала"}
    )
    assert cancelled.status_code == 200, cancelled.text
