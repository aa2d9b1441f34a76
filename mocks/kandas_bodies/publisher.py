"""Sending a recorded decision to the gateway and knowing that the broker has it.

A decision counts as sent only once the broker confirmed it (publisher confirms,
mandatory routing to the status queue); a failed send is tried again later with the same
message id and body, which the gateway deduplicates.
"""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

from aio_pika.abc import AbstractExchange

from contracts.amqp import STATUS_ROUTING_KEY, persistent_message
from contracts.cases import CaseMessageType, StepDecision, StepDecisionEnvelope


def envelope(message_id: str, decision: StepDecision) -> StepDecisionEnvelope:
    """The wire form; `sent_at` is the moment of this attempt, the rest as recorded."""
    return StepDecisionEnvelope(
        message_id=UUID(message_id),
        correlation_id=decision.case_id,
        occurred_at=decision.signed_at,
        sent_at=datetime.now(UTC),
        payload=decision,
    )


async def publish(
    exchange: AbstractExchange,
    message_id: str,
    decision: StepDecision,
    *,
    user_id: str | None = None,
) -> None:
    """Publish and wait for the broker's confirm; raises if it is not confirmed or routed.

    `user_id` is the body's own broker user where it has one: RabbitMQ checks it against
    the connection, and the gateway takes the deciding body from it."""
    body = envelope(message_id, decision).model_dump_json().encode()
    message = persistent_message(
        body,
        message_id=message_id,
        correlation_id=decision.case_id,
        message_type=CaseMessageType.decision.value,
    )
    message.user_id = user_id
    await exchange.publish(message, routing_key=STATUS_ROUTING_KEY, mandatory=True)
