"""The status collector: applies the bodies' reports from the status queue, in batches.

The consumer only queues what the broker hands it; one worker takes up to `batch`
messages at a time (waiting a few milliseconds for more when fewer are there) and
applies the reports among them in one transaction (`gateway.services.report_batch`):
set-based dedupe on the inbox, the tasks read and locked in one statement, the
transitions decided by the pure domain rules in queue order, executemany for the
writes. Only after the commit are the messages acknowledged, with one `multiple` ack per
channel. A task's reports apply in queue order: one worker takes the queue in order,
and a batch applies its reports in that order.

A message that cannot be parsed goes straight to the dead-letter queue with the error
attached, and so does a report on a task the store does not have. When a batch fails
for any other reason (a poison message the rules choke on, a store error) it is rolled
back and retried one message at a time, each in its own transaction: the good ones
apply, and the guilty one is returned to the queue, which dead-letters it after its
delivery limit. So a poison message never sinks its batch.

The consumer is set up again on every new broker connection (`BrokerLink.attach`); an
ack that finds its channel gone is dropped, the broker hands the message out again,
and the inbox makes the second copy a no-op. Decisions on a case (`case.decision`) are
applied one at a time between the batches, in their place in the queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from pathlib import Path
from typing import Any

from aio_pika.abc import AbstractChannel, AbstractConnection, AbstractIncomingMessage
from aio_pika.exceptions import CONNECTION_EXCEPTIONS
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts.amqp import STATUS_ROUTING_KEY
from contracts.cases import CaseMessageType, StepDecisionEnvelope
from contracts.clock import Clock
from contracts.messages import StatusEnvelope
from gateway import metrics, tracing
from gateway.broker import identity
from gateway.broker.connection import BrokerLink, settle
from gateway.broker.dead_letters import park
from gateway.errors import GatewayError, NotFound
from gateway.services import cases, report_batch, tasks
from gateway.services.context import Context

log = logging.getLogger("gateway.collector")

CONSUMER = "status-collector"

#: Test hook (GATEWAY_FAULT_HOLD): stop inside a batch's transaction, its writes done and
#: not committed, so a test can SIGKILL the collector in the middle of a batch.
HOLD_BEFORE_COMMIT = "collector_before_commit"

_Parsed = tuple[AbstractIncomingMessage, StatusEnvelope]


class StatusCollector:
    def __init__(
        self,
        engine: AsyncEngine,
        link: BrokerLink,
        ctx: Context,
        clock: Clock,
        *,
        prefetch: int = 400,
        batch: int = 200,
        linger_seconds: float = 0.005,
        fault_hold: str | None = None,
        fault_marker: Path | None = None,
    ) -> None:
        self._engine = engine
        self._link = link
        self._ctx = ctx
        self._clock = clock
        # Prefetch above the batch: while one batch commits the next one arrives.
        self._prefetch = max(prefetch, batch)
        self._batch = batch
        self._linger = linger_seconds
        self._fault_hold = fault_hold
        self._fault_marker = fault_marker
        self._channel: AbstractChannel | None = None
        self._waiting: deque[AbstractIncomingMessage] = deque()
        self._arrived = asyncio.Event()
        self._worker: asyncio.Task[None] | None = None
        # Messages acknowledged by another one's `multiple` ack: aio-pika does not know.
        self._covered: set[int] = set()

    async def start(self) -> None:
        self._worker = asyncio.create_task(self._run(), name="status-collector")
        await self._link.attach(self._attach)

    async def _attach(self, connection: AbstractConnection) -> None:
        channel = await self._link.channel(connection, "status collector", publisher_confirms=True)
        await channel.set_qos(prefetch_count=self._prefetch)
        queue = await channel.get_queue(self._ctx.topology.status_queue, ensure=False)
        await queue.consume(self.handle)
        self._channel = channel

    async def stop(self) -> None:
        self._link.detach(self._attach)
        worker, self._worker = self._worker, None
        if worker is not None:
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker
        channel, self._channel = self._channel, None
        await self._link.close_channel(channel)
        # Whatever was still waiting is unacked: the broker hands it out again.
        self._waiting.clear()

    async def handle(self, message: AbstractIncomingMessage) -> None:
        """The consumer: queue the message for the worker, in the order it came."""
        self._waiting.append(message)
        self._arrived.set()

    async def _run(self) -> None:
        while True:
            await self._arrived.wait()
            if len(self._waiting) < self._batch and self._linger > 0:
                await asyncio.sleep(self._linger)
            count = min(len(self._waiting), self._batch)
            batch = [self._waiting.popleft() for _ in range(count)]
            if not self._waiting:
                self._arrived.clear()
            try:
                await self._handle_batch(batch)
            except asyncio.CancelledError:
                raise
            except Exception:
                # Never reached by design (every path settles its messages); if it is,
                # hand back what is unsettled rather than stop collecting.
                log.exception("status batch of %d failed; returning it to the queue", len(batch))
                for message in batch:
                    if not message.processed and id(message) not in self._covered:
                        await settle(message.nack(requeue=True), "return a status message")
            finally:
                self._covered.clear()

    async def _handle_batch(self, batch: list[AbstractIncomingMessage]) -> None:
        """Decisions one by one in their place; the reports between them as one batch each."""
        run: list[_Parsed] = []
        for message in batch:
            if message.type == CaseMessageType.decision.value:
                await self._apply_reports(run)
                run = []
                await self._handle_decision(message)
                continue
            try:
                envelope = StatusEnvelope.model_validate_json(message.body)
            except ValidationError as error:
                await self._dead_letter(message, f"invalid status message: {error}")
                continue
            # trust (issue 12): the reporting body is the broker-validated user_id.
            _, refused_identity = identity.reporting_body(
                message.user_id,
                envelope.payload.agency,
                self._ctx.topology.prefix,
                required=self._ctx.broker_identities_required,
            )
            if refused_identity is not None:
                await self._dead_letter(message, refused_identity)
                continue
            run.append((message, envelope))
        await self._apply_reports(run)

    async def _apply_reports(self, run: list[_Parsed]) -> None:
        if not run:
            return
        items = [
            report_batch.Report(
                message_id=str(envelope.message_id),
                report=envelope.payload,
                actor=f"agency:{envelope.payload.agency}",
            )
            for _, envelope in run
        ]
        started = time.perf_counter()
        spans = [tracing.consuming(m.headers, "apply status report") for m, _ in run]
        try:
            async with self._engine.begin() as conn:
                outcome = await report_batch.apply_reports(
                    conn, self._ctx, items, consumer=CONSUMER, now=self._clock.now()
                )
                if len(run) > 1:
                    await self._hold(HOLD_BEFORE_COMMIT, len(run))
        except Exception:
            _end(spans)
            log.warning(
                "a batch of %d status message(s) failed; applying them one at a time",
                len(run),
                exc_info=True,
            )
            for message, envelope in run:
                await self._apply_one(message, envelope)
            return
        _end(spans)
        metrics.COLLECTOR_BATCH_SIZE.observe(len(run))
        metrics.COLLECTOR_BATCH_SECONDS.observe(time.perf_counter() - started)
        by_id = {str(envelope.message_id): message for message, envelope in run}
        for message_id, error in outcome.missing.items():
            await self._dead_letter(by_id[message_id], error)
        missing = {id(by_id[m]) for m in outcome.missing}
        await self._ack_all([m for m, _ in run if id(m) not in missing])

    async def _ack_all(self, messages: list[AbstractIncomingMessage]) -> None:
        """One `multiple` ack per channel, for its last message.

        Everything before it on that channel is settled by then: the worker takes the
        queue in order and settles each batch (and each message it dead-letters) before
        the next.
        """
        last: dict[int, AbstractIncomingMessage] = {}
        channel_of: dict[int, int] = {}
        for message in messages:
            try:
                key = id(message.channel)
            except CONNECTION_EXCEPTIONS:
                # Its channel is gone with the connection: the broker hands the message
                # out again, and the inbox makes the second copy a no-op.
                self._covered.add(id(message))
                continue
            channel_of[id(message)] = key
            if key not in last or (message.delivery_tag or 0) > (last[key].delivery_tag or 0):
                last[key] = message
        for message in messages:
            on = channel_of.get(id(message))
            if on is not None and message is not last[on]:
                self._covered.add(id(message))
        for message in last.values():
            await settle(message.ack(multiple=True), "ack status messages")

    async def _apply_one(self, message: AbstractIncomingMessage, envelope: StatusEnvelope) -> None:
        """One report in its own transaction: the retry of a batch that failed."""
        try:
            async with self._engine.begin() as conn:
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

    async def _hold(self, point: str, size: int) -> None:
        """Test hook: stop here for good, so a test can kill the process at this point."""
        if self._fault_hold != point:
            return
        log.warning("fault hold at %s (batch of %d): waiting to be killed", point, size)
        if self._fault_marker is not None:
            self._fault_marker.write_text(f"{point} {size}")
        await asyncio.Event().wait()

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
            async with self._engine.begin() as conn:
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
        await park(
            self._channel,
            message,
            error,
            dead_letter_exchange=self._ctx.topology.dead_letter_exchange,
            routing_key=STATUS_ROUTING_KEY,
            source_queue=self._ctx.topology.status_queue,
            # Not parked: hand it back now, so no later `multiple` ack can cover it.
            requeue_on_failure=True,
        )


def _end(spans: list[Any]) -> None:
    for span in spans:
        if span is not None:
            span.end()
