"""The AsyncAPI 3.0 document of the gateway's exchanges, queues and messages.

Rendered, like the JSON Schemas beside it, from what the code uses: the names from
`contracts.amqp.Topology` (with `{prefix}` and `{agency}` standing for a deployment's
GATEWAY_AMQP_PREFIX and a connected body's code) and the payloads from the envelope
models of `contracts.messages`, so the document cannot say one thing while the code
sends another. `gateway contracts export` writes `contracts/asyncapi.json`; a test fails
when the committed file drifts, and another validates every message of an end-to-end
run against it (`tests/e2e/test_asyncapi_capture.py`).

The application described is the gateway: it sends tasks and receives reports and dead
letters. A body's system does the mirror image: it consumes its queue and publishes
`task.status` on the status exchange.

AMQP's message properties (message id, correlation id, type, user id, content type,
delivery mode, timestamp) are not headers and AsyncAPI's AMQP bindings name only some of
them, so each message carries them as a JSON Schema under `x-amqp-properties`, keyed as
AMQP 0-9-1 names them (`message_id`, `correlation_id`, `type`, `user_id`,
`content_type`, `delivery_mode`, `timestamp` in POSIX seconds).
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from contracts.amqp import REPORTS_ROUTING_KEY, STATUS_ROUTING_KEY, Topology
from contracts.cases import (
    CaseMessageType,
    StepAssignedEnvelope,
    StepDecisionEnvelope,
    StepWithdrawnEnvelope,
)
from contracts.messages import (
    SCHEMA_VERSION,
    ConclusionEnvelope,
    MessageType,
    StatusEnvelope,
    TaskAssignedEnvelope,
    TaskCancelledEnvelope,
    TaskReturnedEnvelope,
)

ASYNCAPI_VERSION = "3.0.0"
BINDING_VERSION = "0.3.0"
REF = "#/components/schemas/"
CONTENT_TYPE = "application/json"
PERSISTENT = 2

_NAMES = Topology("{prefix}", ())
"""Addresses with placeholders, from the one place that names them."""

ENVELOPES: dict[StrEnum, type[BaseModel]] = {
    MessageType.task_assigned: TaskAssignedEnvelope,
    MessageType.task_returned: TaskReturnedEnvelope,
    MessageType.task_cancelled: TaskCancelledEnvelope,
    MessageType.task_status: StatusEnvelope,
    MessageType.report_conclusion: ConclusionEnvelope,
    CaseMessageType.step_assigned: StepAssignedEnvelope,
    CaseMessageType.step_withdrawn: StepWithdrawnEnvelope,
    CaseMessageType.decision: StepDecisionEnvelope,
}

#: What the bodies send (on the status exchange); everything else the gateway sends.
FROM_BODIES = frozenset({MessageType.task_status, CaseMessageType.decision})
#: What the gateway sends to the authorised body, not to a body of a flow.
TO_AUTHORITY = frozenset({MessageType.report_conclusion})

_SUMMARIES = {
    MessageType.task_assigned: "A new task for the body: one activity of an approved plan.",
    MessageType.task_returned: "The centre returned the body's report for rework (p.11).",
    MessageType.task_cancelled: "The plan was cancelled; the body stops work on the task.",
    MessageType.task_status: "The body's report: received, in progress, done or rejected.",
    MessageType.report_conclusion: (
        "A centre's quarterly conclusion for the authorised body (order 192 p.14), once "
        "per centre and quarter; the gateway's mailer sends it on by e-mail."
    ),
    CaseMessageType.step_assigned: (
        "A step of a chain case (the kandas application, order 170) is this body's turn, "
        "with its term and the role that signs it."
    ),
    CaseMessageType.step_withdrawn: "The step is no longer this body's (the case moved on).",
    CaseMessageType.decision: (
        "A chain body's signed hand-over: forward, return with remarks, or refuse; the "
        "signature covers `contracts.signing.HandoverStatement`."
    ),
}

_PREFIX = {
    "description": "The deployment's prefix (GATEWAY_AMQP_PREFIX); `gw` by default.",
    "default": "gw",
    "examples": ["gw"],
}
_AGENCY = {
    "description": (
        "A connected body's code from the agency registry (`gateway/data/agencies.json`, "
        "`enabled: true`); connecting another body adds its queues, no code."
    ),
    "examples": ["education", "health", "housing", "internal_affairs"],
}
_SOURCE_KEY = {
    "description": "The dead message's original routing key: `status`, or a body's code.",
    "examples": ["status", "health"],
}


def _key(message_type: StrEnum) -> str:
    """`task.assigned` -> `taskAssigned`, the component's key."""
    head, _, tail = message_type.value.partition(".")
    return head + tail.title().replace("_", "")


def _properties(message_type: str | None, *, sent_by: str) -> dict[str, Any]:
    """The AMQP properties a message carries, as a JSON Schema."""
    properties: dict[str, Any] = {
        "message_id": {
            "type": "string",
            "format": "uuid",
            "description": (
                "Stable across re-sends, equal to the envelope's `message_id`: every "
                "consumer deduplicates on it."
            ),
        },
        "correlation_id": {
            "type": "string",
            "description": "The plan's id, equal to the envelope's `correlation_id`.",
        },
        "type": {"type": "string", "description": "The envelope's `type`."},
        "content_type": {"const": CONTENT_TYPE},
        "delivery_mode": {"const": PERSISTENT, "description": "Persistent."},
        "user_id": {
            "type": "string",
            "description": (
                "Optional for now. When set, RabbitMQ has checked it is the publisher's "
                "login; production gives each body its own user, and this will become "
                "required for `task.status`."
            ),
        },
        "timestamp": {
            "type": "integer",
            "minimum": 0,
            "description": f"When {sent_by} wrote the message (POSIX seconds); optional.",
        },
    }
    if message_type is not None:
        properties["type"] = {"const": message_type, "description": "The envelope's `type`."}
    return {
        "type": "object",
        "required": ["message_id", "correlation_id", "type", "content_type", "delivery_mode"],
        "properties": properties,
        "additionalProperties": False,
    }


def _headers(*, required: bool) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {
            "schema_version": {
                "const": SCHEMA_VERSION,
                "description": (
                    "The envelope's schema version, readable before the body is parsed. "
                    + (
                        "The gateway always sets it."
                        if required
                        else "Optional from a body: the envelope's own field is authoritative."
                    )
                ),
            }
        },
    }
    if required:
        schema["required"] = ["schema_version"]
    return schema


def _message(message_type: StrEnum, model: type[BaseModel]) -> dict[str, Any]:
    from_gateway = message_type not in FROM_BODIES
    return {
        "name": message_type.value,
        "title": message_type.value,
        "summary": _SUMMARIES[message_type],
        "contentType": CONTENT_TYPE,
        "headers": _headers(required=from_gateway),
        "payload": {"$ref": REF + model.__name__},
        "correlationId": {
            "description": "The plan's id.",
            "location": "$message.payload#/correlation_id",
        },
        "bindings": {
            "amqp": {"messageType": message_type.value, "bindingVersion": BINDING_VERSION}
        },
        "x-amqp-properties": _properties(
            message_type.value, sent_by="the gateway" if from_gateway else "the body's system"
        ),
    }


def _dead_letter() -> dict[str, Any]:
    return {
        "name": "dead-letter",
        "title": "A dead letter",
        "summary": "A message that could not be processed, parked for an operator.",
        "description": (
            "Either RabbitMQ's: a message delivered `x-delivery-limit` times without an ack "
            "(its properties and body as sent, RabbitMQ's `x-death` header added); or the "
            "gateway's: a status message it cannot parse, re-published at once with "
            "`x-error` and `x-source-queue`. The body is the original bytes, which may not "
            "be JSON at all; the gateway records each as an incident."
        ),
        "contentType": CONTENT_TYPE,
        "headers": {
            "type": "object",
            "properties": {
                "x-death": {"type": "array", "description": "Set by RabbitMQ."},
                "x-error": {"type": "string", "maxLength": 2000},
                "x-source-queue": {"type": "string"},
                "schema_version": {"const": SCHEMA_VERSION},
            },
            "anyOf": [{"required": ["x-death"]}, {"required": ["x-error", "x-source-queue"]}],
        },
        "payload": {"description": "The original body, as it was."},
        "x-amqp-properties": _dead_properties(),
    }


def _dead_properties() -> dict[str, Any]:
    schema = _properties(None, sent_by="the first publisher")
    schema["required"] = ["delivery_mode"]
    schema["description"] = "As the original message had them; any of them may be empty."
    for name in ("message_id", "correlation_id"):
        schema["properties"][name] = {"type": "string", "description": "As the original's."}
    return schema


def _exchange(name: str) -> dict[str, Any]:
    return {"name": name, "type": "direct", "durable": True, "autoDelete": False, "vhost": "/"}


def _routing_key(address: str, exchange: str, description: str, **params: Any) -> dict[str, Any]:
    return {
        "address": address,
        "description": description,
        "parameters": params,
        "bindings": {
            "amqp": {
                "is": "routingKey",
                "exchange": _exchange(exchange),
                "bindingVersion": BINDING_VERSION,
            }
        },
    }


def _queue(
    address: str, description: str, arguments: dict[str, Any], **params: Any
) -> dict[str, Any]:
    return {
        "address": address,
        "description": description,
        "parameters": params,
        "bindings": {
            "amqp": {
                "is": "queue",
                "queue": {
                    "name": address,
                    "durable": True,
                    "exclusive": False,
                    "autoDelete": False,
                    "vhost": "/",
                },
                "bindingVersion": BINDING_VERSION,
            }
        },
        "x-arguments": arguments,
    }


def _refs(*keys: str) -> dict[str, dict[str, str]]:
    return {key: {"$ref": f"#/components/messages/{key}"} for key in keys}


def _channel_refs(channel: str, *keys: str) -> list[dict[str, str]]:
    return [{"$ref": f"#/channels/{channel}/messages/{key}"} for key in keys]


def _schemas() -> dict[str, Any]:
    """Every envelope and what it contains, rendered together so shared parts agree."""
    refs, defs = models_json_schema(
        [(model, "validation") for model in ENVELOPES.values()], ref_template=REF + "{model}"
    )
    schemas: dict[str, Any] = dict(defs.get("$defs", {}))
    for model in ENVELOPES.values():
        assert refs[(model, "validation")] == {"$ref": REF + model.__name__}
    return dict(sorted(schemas.items()))


def build() -> dict[str, Any]:
    tasks = [_key(t) for t in ENVELOPES if t not in FROM_BODIES | TO_AUTHORITY]
    outgoing = [_key(t) for t in ENVELOPES if t in TO_AUTHORITY]
    reports = [_key(t) for t in ENVELOPES if t in FROM_BODIES]
    work_queue = dict(_NAMES._work_queue_arguments())  # the arguments `declare` uses
    dead_queue = {"x-queue-type": "quorum"}
    channels = {
        "taskRoutingKey": {
            **_routing_key(
                "{agency}",
                _NAMES.tasks_exchange,
                f"Tasks to one body: published on `{_NAMES.tasks_exchange}` with the body's "
                "code as routing key, `mandatory`, persistent, each with a publisher confirm.",
                agency=_AGENCY,
            ),
            "messages": _refs(*tasks),
        },
        "agencyQueue": {
            **_queue(
                _NAMES.agency_queue("{agency}"),
                "One body's queue (quorum), bound to the tasks exchange by the body's code. "
                "The body's system consumes it and acks after it has stored the task; a "
                "message it nacks `x-delivery-limit` times is dead-lettered.",
                work_queue,
                prefix=_PREFIX,
                agency=_AGENCY,
            ),
            "messages": _refs(*tasks),
        },
        "statusRoutingKey": {
            **_routing_key(
                STATUS_ROUTING_KEY,
                _NAMES.status_exchange,
                f"Bodies' reports: published by a body's system on `{_NAMES.status_exchange}` "
                f"with routing key `{STATUS_ROUTING_KEY}`.",
            ),
            "messages": _refs(*reports),
        },
        "statusQueue": {
            **_queue(
                _NAMES.status_queue,
                "The gateway's queue of reports (quorum). The status collector applies each in "
                "one transaction with its `message_id` in the inbox, then acks.",
                work_queue,
                prefix=_PREFIX,
            ),
            "messages": _refs(*reports),
        },
        "reportsRoutingKey": {
            **_routing_key(
                REPORTS_ROUTING_KEY,
                _NAMES.reports_exchange,
                f"Reports to the authorised body: the outbox relay publishes on "
                f"`{_NAMES.reports_exchange}` with routing key `{REPORTS_ROUTING_KEY}`.",
            ),
            "messages": _refs(*outgoing),
        },
        "reportsQueue": {
            **_queue(
                _NAMES.reports_queue,
                "The reports waiting to be sent on (quorum). The gateway's mailer sends each "
                "once (inbox on message_id), records it as sent, then acks.",
                work_queue,
                prefix=_PREFIX,
            ),
            "messages": _refs(*outgoing),
        },
        "deadLetterRoutingKey": {
            **_routing_key(
                "{sourceRoutingKey}",
                _NAMES.dead_letter_exchange,
                f"Dead letters: the work queues dead-letter to `{_NAMES.dead_letter_exchange}` "
                "with the message's own routing key; the gateway publishes an unparseable "
                f"report there with `{STATUS_ROUTING_KEY}`.",
                sourceRoutingKey=_SOURCE_KEY,
            ),
            "messages": _refs("deadLetter"),
        },
        "deadStatusQueue": {
            **_queue(
                _NAMES.dead_queue(STATUS_ROUTING_KEY),
                "Reports that failed, bound to the dead-letter exchange by `status`.",
                dead_queue,
                prefix=_PREFIX,
            ),
            "messages": _refs("deadLetter"),
        },
        "deadReportsQueue": {
            **_queue(
                _NAMES.dead_queue(REPORTS_ROUTING_KEY),
                "Reports the mailer could not send `x-delivery-limit` times, bound to the "
                f"dead-letter exchange by `{REPORTS_ROUTING_KEY}`.",
                dead_queue,
                prefix=_PREFIX,
            ),
            "messages": _refs("deadLetter"),
        },
        "deadAgencyQueue": {
            **_queue(
                _NAMES.dead_queue("{agency}"),
                "One body's tasks that failed, bound to the dead-letter exchange by its code.",
                dead_queue,
                prefix=_PREFIX,
                agency=_AGENCY,
            ),
            "messages": _refs("deadLetter"),
        },
    }
    confirm = {
        "amqp": {"deliveryMode": PERSISTENT, "mandatory": True, "bindingVersion": BINDING_VERSION}
    }
    ack = {"amqp": {"ack": True, "bindingVersion": BINDING_VERSION}}
    operations = {
        "sendTask": {
            "action": "send",
            "channel": {"$ref": "#/channels/taskRoutingKey"},
            "summary": "The outbox relay publishes each task message written with the plan.",
            "messages": _channel_refs("taskRoutingKey", *tasks),
            "bindings": confirm,
        },
        "sendConclusion": {
            "action": "send",
            "channel": {"$ref": "#/channels/reportsRoutingKey"},
            "summary": "The outbox relay publishes the conclusion written with its record.",
            "messages": _channel_refs("reportsRoutingKey", *outgoing),
            "bindings": confirm,
        },
        "receiveConclusion": {
            "action": "receive",
            "channel": {"$ref": "#/channels/reportsQueue"},
            "summary": "The mailer sends the conclusion to the authorised body by e-mail.",
            "messages": _channel_refs("reportsQueue", *outgoing),
            "bindings": ack,
        },
        "receiveStatus": {
            "action": "receive",
            "channel": {"$ref": "#/channels/statusQueue"},
            "summary": "The status collector applies each report once (inbox on message_id).",
            "messages": _channel_refs("statusQueue", *reports),
            "bindings": ack,
        },
        "sendDeadStatus": {
            "action": "send",
            "channel": {"$ref": "#/channels/deadLetterRoutingKey"},
            "summary": "An unparseable report is parked at once, with the error.",
            "messages": _channel_refs("deadLetterRoutingKey", "deadLetter"),
        },
        "receiveDeadStatus": {
            "action": "receive",
            "channel": {"$ref": "#/channels/deadStatusQueue"},
            "summary": "Each dead report becomes an incident.",
            "messages": _channel_refs("deadStatusQueue", "deadLetter"),
            "bindings": ack,
        },
        "receiveDeadReport": {
            "action": "receive",
            "channel": {"$ref": "#/channels/deadReportsQueue"},
            "summary": "Each report that could not be sent becomes an incident.",
            "messages": _channel_refs("deadReportsQueue", "deadLetter"),
            "bindings": ack,
        },
        "receiveDeadTask": {
            "action": "receive",
            "channel": {"$ref": "#/channels/deadAgencyQueue"},
            "summary": "Each dead task becomes an incident; a never-delivered task is failed.",
            "messages": _channel_refs("deadAgencyQueue", "deadLetter"),
            "bindings": ack,
        },
    }
    messages = {_key(t): _message(t, model) for t, model in ENVELOPES.items()}
    messages["deadLetter"] = _dead_letter()
    return {
        "asyncapi": ASYNCAPI_VERSION,
        "id": "urn:kz:gateway:family-support:amqp",
        "info": {
            "title": "Interagency family support gateway: queues",
            "version": str(SCHEMA_VERSION),
            "description": (
                "How the gateway and the state bodies' systems talk over RabbitMQ. Every "
                "message is a JSON envelope: a stable `message_id` every consumer "
                "deduplicates on, the plan's id as `correlation_id`, `type`, "
                "`schema_version`, `occurred_at`, `payload`. Delivery is at least once."
            ),
        },
        "defaultContentType": CONTENT_TYPE,
        "servers": {
            "local": {
                "host": "127.0.0.1:5672",
                "protocol": "amqp",
                "protocolVersion": "0.9.1",
                "pathname": "/",
                "description": "The local RabbitMQ (GATEWAY_AMQP_URL names another).",
            }
        },
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": _schemas()},
    }


def render() -> str:
    return json.dumps(build(), indent=2, ensure_ascii=False, sort_keys=False) + "\n"
