"""The AsyncAPI document is what the code declares and sends (its drift, its names, its
message schemas); `tests/e2e/test_asyncapi_capture.py` checks it against real traffic."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import jsonschema
import pytest

from contracts.amqp import STATUS_ROUTING_KEY, Topology, persistent_message
from contracts.export import ASYNCAPI_FILE, SCHEMA_DIR, render_files
from contracts.messages import MessageType, StatusEnvelope, StatusReport

AGENCIES = ("education", "health", "housing", "internal_affairs")


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(ASYNCAPI_FILE.read_text())
    return loaded


def test_committed_document_matches_the_models() -> None:
    committed = ASYNCAPI_FILE.read_text()
    assert committed == render_files()[ASYNCAPI_FILE], "drifted: run `gateway contracts export`"


def _addresses(document: dict[str, Any], prefix: str) -> dict[str, set[str]]:
    """Concrete exchange and queue names the document describes, for these agencies."""
    found: dict[str, set[str]] = {"exchange": set(), "queue": set()}
    for channel in document["channels"].values():
        binding = channel["bindings"]["amqp"]
        if binding["is"] == "routingKey":
            kind, name = "exchange", binding["exchange"]["name"]
        else:
            kind, name = "queue", channel["address"]
        for agency in AGENCIES:
            found[kind].add(name.replace("{prefix}", prefix).replace("{agency}", agency))
    return found


def test_every_exchange_and_queue_declared_is_in_the_document(document: dict[str, Any]) -> None:
    topology = Topology("gw", AGENCIES)
    described = _addresses(document, "gw")
    assert described["queue"] == set(topology.all_queues())
    assert described["exchange"] == {
        topology.tasks_exchange,
        topology.status_exchange,
        topology.reports_exchange,
        topology.dead_letter_exchange,
    }
    assert document["channels"]["statusRoutingKey"]["address"] == STATUS_ROUTING_KEY


def test_every_message_type_has_a_message(document: dict[str, Any]) -> None:
    named = {m["name"] for m in document["components"]["messages"].values()}
    assert {t.value for t in MessageType} <= named


def _validator(document: dict[str, Any], schema: dict[str, Any]) -> jsonschema.Validator:
    return jsonschema.Draft7Validator({**schema, "components": document["components"]})


def _message(document: dict[str, Any], message_type: str) -> dict[str, Any]:
    messages: dict[str, dict[str, Any]] = document["components"]["messages"]
    (found,) = (m for m in messages.values() if m["name"] == message_type)
    return found


@pytest.mark.parametrize("message_type", [t.value for t in MessageType])
def test_payload_is_the_committed_json_schema(document: dict[str, Any], message_type: str) -> None:
    """One source: the payload and `contracts/schemas/amqp-*.json` accept and refuse alike."""
    committed = json.loads((SCHEMA_DIR / f"amqp-{message_type.replace('.', '-')}.json").read_text())
    ours = _message(document, message_type)["payload"]["$ref"].rsplit("/", 1)[-1]
    theirs = dict(committed)
    theirs.pop("$defs", None)
    theirs.pop("$schema", None)
    mine = dict(document["components"]["schemas"][ours])
    as_text = json.dumps(mine).replace("#/components/schemas/", "#/$defs/")
    assert json.loads(as_text) == theirs


def test_properties_accept_what_persistent_message_sets(document: dict[str, Any]) -> None:
    mid = str(uuid4())
    envelope = StatusEnvelope(
        message_id=mid,
        correlation_id="plan-1",
        occurred_at=datetime.now(UTC),
        payload=StatusReport(
            task_id="t", agency="health", status="received", reported_at=datetime.now(UTC)
        ),
    )
    message = persistent_message(
        envelope.model_dump_json().encode(),
        message_id=mid,
        correlation_id="plan-1",
        message_type="task.status",
    )
    spec = _message(document, "task.status")
    props = {
        "message_id": message.message_id,
        "correlation_id": message.correlation_id,
        "type": message.type,
        "content_type": message.content_type,
        "delivery_mode": int(message.delivery_mode),
    }
    _validator(document, spec["x-amqp-properties"]).validate(props)
    _validator(document, spec["payload"]).validate(json.loads(message.body))
    _validator(document, spec["headers"]).validate(dict(message.headers or {}))
    wrong = {**props, "type": "task.assigned"}
    assert not _validator(document, spec["x-amqp-properties"]).is_valid(wrong)
    gateway_headers = _message(document, "task.assigned")["headers"]
    assert not _validator(document, gateway_headers).is_valid({})
    assert _validator(document, gateway_headers).is_valid({"schema_version": 1})


def test_document_is_asyncapi_3_in_shape(document: dict[str, Any]) -> None:
    assert document["asyncapi"] == "3.0.0"
    for name, operation in document["operations"].items():
        assert operation["action"] in ("send", "receive"), name
        channel = operation["channel"]["$ref"].removeprefix("#/channels/")
        for ref in operation["messages"]:
            assert ref["$ref"].startswith(f"#/channels/{channel}/messages/"), name
            key = ref["$ref"].rsplit("/", 1)[-1]
            assert key in document["channels"][channel]["messages"], (name, key)
    for channel in document["channels"].values():
        assert set(re.findall(r"{(\w+)}", channel["address"])) == set(channel["parameters"])
