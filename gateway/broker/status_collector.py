"""The status collector: applies the bodies' reports from the status queue.

Each message is deduplicated on its `message_id` (the inbox table) and applied in one
transaction; the message is acked only after that transaction commits. A message that
cannot be parsed goes straight to the dead-letter queue with the error attached; one that
fails for another reason is returned to the queue, and RabbitMQ dead-letters it after the
queue's delivery limit, so a poison message cannot block the queue.

The consumer is set up again on every new broker connection (`BrokerLink.attach`); an
ack that finds its channel gone is dropped, the broker hands the message out again,
and the inbox makes the second copy a no-op.
"""

from __future__ import annotations

import logging

from aio_pika.abc import AbstractChannel, AbstractConnection, AbstractIncomingMessage
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts.amqp import STATUS_ROUTING_KEY, persistent_message
from contracts.cases import CaseMessageType, StepDecisionEnvelope
from contracts.clock import Clock
from contracts.messages import StatusEnvelope
from gateway.broker import identity
from gateway.broker.connection import NETWORK_ERRORS, BrokerLink, settle
from gateway.errors import GatewayError, NotFound
from gateway.keyed_locks import KeyedLocks
from gateway.services import cases, tasks
from gateway.services.context import Context

log = logging.getLogger("gateway.collector")

CONSUMER = "status-collector"


class StatusCollector:
    def __init__(
        self,
        engine: AsyncEngine,
        link: BrokerLink,
        ctx: Context,
        clock: Clock,
        *,
        prefetch: int = 100,
    ) -> None:
        self._engine = engine
        self._link = link
        self._ctx = ctx
        self._clock = clock
        self._prefetch = prefetch
        self._channel: AbstractChannel | None = None
        # Reports on one task are applied in queue order, though many run at once.
        self._per_task = KeyedLocks()

    async def start(self) -> None:
        await self._link.attach(self._attach)

    async def _attach(self, connection: AbstractConnection) -> None:
        channel = await self._link.channel(connection, "status collector", publisher_confirms=True)
        await channel.set_qos(prefetch_count=self._prefetch)
        queue = await channel.get_queue(self._ctx.topology.status_queue, ensure=False)
        await queue.consume(self.handle)
        self._channel = channel

    async def stop(self) -> None:
        self._link.detach(self._attach)
        channel, self._channel = self._channel, None
        await self._link.close_channel(channel)

    async def handle(self, message: AbstractIncomingMessage) -> None:
        if message.type == CaseMessageType.decision.value:
            await self._handle_decision(message)
            return
        try:
            envelope = StatusEnvelope.model_validate_json(message.body)
        except ValidationError as error:
            await self._dead_letter(message, f"invalid status message: {error}")
            return
        # trust (issue 12): the reporting body is the broker-validated user_id.
        _, refused_identity = identity.reporting_body(
            message.user_id,
            envelope.payload.agency,
            self._ctx.topology.prefix,
            required=self._ctx.broker_identities_required,
        )
        if refused_identity is not None:
            await self._dead_letter(message, refused_identity)
            return
        try:
            async with self._per_task.hold(envelope.payload.task_id), self._engine.begin() as conn:
                now = self._clock.now()
                if await tasks.claim_message(conn, str(envelope.message_id), CONSUMER, now):
                    await tasks.apply_report(
                        conn,
                        self._ctx,
                        envelope.payload,
                        actor=f"agency:{envelope.payload.agency}",
                        now=now,
                    )
        except NotFound as error:
            await self._dead_letter(message, str(error))
            return
        except Exception:
            log.exception(
                "status message %s failed; returning it to the queue", envelope.message_id
            )
            await settle(message.nack(requeue=True), "return a status message")
            return
        await settle(message.ack(), "ack a status message")

    async def _handle_decision(self, message: AbstractIncomingMessage) -> None:
        """A chain body's signed hand-over (`case.decision`): the same rules as the API.

        A decision the rules refuse (not the body's step, a failed check, a bad signature)
        is recorded on the case's timeline and acknowledged: it will never succeed, and the
        body learns of it from the case (its next assignment, or none). Only a message
        that is not a decision at all goes to the dead letters.
        """
        try:
            envelope = StepDecisionEnvelope.model_validate_json(message.body)
        except ValidationError as error:
            await self._dead_letter(message, f"invalid decision message: {error}")
            return
        decision = envelope.payload
        # trust (issue 12): the deciding body is the broker-validated user_id.
        _, refused_identity = identity.reporting_body(
            message.user_id,
            decision.body,
            self._ctx.topology.prefix,
            required=self._ctx.broker_identities_required,
        )
        if refused_identity is not None:
            await self._dead_letter(message, refused_identity)
            return
        actor = f"agency:{decision.body}"
        refused: GatewayError | None = None
        task_id: str | None = None
        try:
            async with self._per_task.hold(decision.case_id), self._engine.begin() as conn:
                now = self._clock.now()
                if await tasks.claim_message(conn, str(envelope.message_id), CONSUMER, now):
                    task_id = await cases.find_step(
                        conn, decision.case_id, decision.step, decision.round
                    )
                    await cases.decide(
                        conn,
                        self._ctx,
                        cases.verifier(self._ctx),
                        task_id,
                        decision,
                        caller_body=decision.body,
                        actor=actor,
                        via="amqp",
                        now=now,
                    )
        except NotFound as error:
            await self._dead_letter(message, str(error))
            return
        except GatewayError as error:
            refused = error
        except Exception:
            log.exception("decision %s failed; returning it to the queue", envelope.message_id)
            await settle(message.nack(requeue=True), "return a decision")
            return
        if refused is not None and task_id is not None:
            await cases.record_refusal(
                self._engine,
                case_id=decision.case_id,
                task_id=task_id,
                actor=actor,
                error=refused,
                via="amqp",
                now=self._clock.now(),
            )
        await settle(message.ack(), "ack a decision")

    async def _dead_letter(self, message: AbstractIncomingMessage, error: str) -> None:
        """Park a message that can never succeed, with the reason, and let the queue go on."""
        if self._channel is None or self._channel.is_closed:
            return  # the connection is being replaced; the broker hands the message out again
        log.warning("dead-lettering status message %s: %s", message.message_id, error[:300])
        dlx = await self._channel.get_exchange(
            self._ctx.topology.dead_letter_exchange, ensure=False
        )
        try:
            await dlx.publish(
                persistent_message(
                    message.body,
                    message_id=message.message_id or "",
                    correlation_id=message.correlation_id or "",
                    message_type=message.type or "",
                    headers={
                        "x-error": error[:2000],
                        "x-source-queue": self._ctx.topology.status_queue,
                    },
                ),
                routing_key=STATUS_ROUTING_KEY,
            )
        except NETWORK_ERRORS:
            return  # not parked and not acked: it comes back after the reconnect
        await settle(message.ack(), "ack a dead-lettered status message")
