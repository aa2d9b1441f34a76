"""The status collector: applies the bodies' reports from the status queue.

Each message is deduplicated on its `message_id` (the inbox table) and applied in one
transaction; the message is acked only after that transaction commits. A message that
cannot be parsed goes straight to the dead-letter queue with the error attached; one that
fails for another reason is returned to the queue, and RabbitMQ dead-letters it after the
queue's delivery limit, so a poison message cannot block the queue.
"""

from __future__ import annotations

import logging

from aio_pika.abc import AbstractChannel, AbstractIncomingMessage, AbstractRobustConnection
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts.amqp import STATUS_ROUTING_KEY, persistent_message
from contracts.cases import CaseMessageType, StepDecisionEnvelope
from contracts.clock import Clock
from contracts.messages import StatusEnvelope
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
        connection: AbstractRobustConnection,
        ctx: Context,
        clock: Clock,
        *,
        prefetch: int = 100,
    ) -> None:
        self._engine = engine
        self._connection = connection
        self._ctx = ctx
        self._clock = clock
        self._prefetch = prefetch
        self._channel: AbstractChannel | None = None
        # Reports on one task are applied in queue order, though many run at once.
        self._per_task = KeyedLocks()

    async def start(self) -> None:
        self._channel = await self._connection.channel(publisher_confirms=True)
        await self._channel.set_qos(prefetch_count=self._prefetch)
        queue = await self._channel.get_queue(self._ctx.topology.status_queue, ensure=False)
        await queue.consume(self.handle)

    async def stop(self) -> None:
        if self._channel is not None and not self._channel.is_closed:
            await self._channel.close()

    async def handle(self, message: AbstractIncomingMessage) -> None:
        if message.type == CaseMessageType.decision.value:
            await self._handle_decision(message)
            return
        try:
            envelope = StatusEnvelope.model_validate_json(message.body)
        except ValidationError as error:
            await self._dead_letter(message, f"invalid status message: {error}")
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
            await message.nack(requeue=True)
            return
        await message.ack()

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
            await message.nack(requeue=True)
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
        await message.ack()

    async def _dead_letter(self, message: AbstractIncomingMessage, error: str) -> None:
        """Park a message that can never succeed, with the reason, and let the queue go on."""
        assert self._channel is not None
        log.warning("dead-lettering status message %s: %s", message.message_id, error[:300])
        dlx = await self._channel.get_exchange(
            self._ctx.topology.dead_letter_exchange, ensure=False
        )
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
        await message.ack()
