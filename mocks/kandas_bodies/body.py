"""One simulated body: its queue consumer, its journal and its worker, started together.

The consumer's rule is the one the gateway expects of any real body: record first, then
ack. The worker's rule: record the signed decision, then publish it, then mark it sent.
An ack before the record could lose a step in a crash; a publish before the record could
send two different decisions for one step (a restarted body would sign anew).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

from aio_pika.abc import (
    AbstractChannel,
    AbstractConnection,
    AbstractExchange,
    AbstractIncomingMessage,
    AbstractQueue,
)
from aio_pika.exceptions import CONNECTION_EXCEPTIONS

from contracts.amqp import Topology
from contracts.cases import StepAssignedEnvelope, StepDecision
from contracts.clock import to_almaty
from contracts.signing import HandoverStatement
from mocks.kandas_bodies.admin_api import BodiesAdmin
from mocks.kandas_bodies.broker import ensure_topology
from mocks.kandas_bodies.config import Behaviour
from mocks.kandas_bodies.decide import decide
from mocks.kandas_bodies.inbound import Unreadable, parse
from mocks.kandas_bodies.officials import NoOfficial, Officials
from mocks.kandas_bodies.publisher import publish
from mocks.kandas_bodies.schema import Effect, database_path
from mocks.kandas_bodies.store import BodyStore, DueStep, Outgoing, StepKey

log = logging.getLogger(__name__)

_RETRY_PAUSE = 0.5
"""Pause before handing back a message the body could not record (a store failure), so
that a persistent fault does not spin through the redeliveries."""

_NO_KEY_RETRY = 5.0
"""How long a step waits when its official has no key yet (the CA is still starting)."""

_DRAIN_SECONDS = 10.0

_DECISION_IDS = uuid.UUID("6f1d1f0e-3b1c-4c57-9a57-6b616e646173")


def decision_message_id(body: str, key: StepKey) -> str:
    """One message id per decision of a step visit, whatever envelope the step came in
    and however often it is re-sent: the gateway takes it once."""
    return str(uuid.uuid5(_DECISION_IDS, f"{body}:{key.case_id}:{key.step}:{key.round}"))


class KandasBody:
    """One body on a shared connection.

    Separate from the runner so that a test can stop and restart a single body over the
    same state directory, which is how a crash of the body's system is simulated.
    """

    def __init__(
        self,
        code: str,
        *,
        connection: AbstractConnection,
        topology: Topology,
        state_dir: Path,
        officials: Officials,
        behaviour: Behaviour,
        admin: BodiesAdmin | None = None,
        prefetch: int = 50,
        resend_after: float = 5.0,
        user_id: str | None = None,
    ) -> None:
        """`user_id`: the body's own broker user, when it connects as one. Such a user may
        declare nothing, so the body waits for the gateway to declare its queue."""
        self.code = code
        self._user_id = user_id
        self.state_path = database_path(state_dir, code)
        self._connection = connection
        self._topology = topology
        self._officials = officials
        self._behaviour = behaviour
        self._admin = admin
        self._prefetch = prefetch
        # A decision younger than this may still be on its way (the worker is publishing
        # it); re-sending it would only make a harmless duplicate.
        self._resend_after = resend_after
        self._now: Callable[[], float] = admin.now if admin is not None else time.time
        self._store: BodyStore | None = None
        self._exchange: AbstractExchange | None = None
        self._channels: list[AbstractChannel] = []
        self._queue: AbstractQueue | None = None
        self._consumer_tag: str | None = None
        self._consuming = asyncio.Lock()
        self._inflight: set[asyncio.Task[object]] = set()
        self._wake = asyncio.Event()
        self._worker: asyncio.Task[None] | None = None
        self._silence: asyncio.Task[None] | None = None
        self._last_resend = 0.0

    # -- life cycle ------------------------------------------------------------------

    async def start(self) -> None:
        if self._store is not None:
            raise RuntimeError(f"mock body {self.code} is already running")
        try:
            await self._start()
        except BaseException:
            await self.stop()
            raise

    async def _start(self) -> None:
        if self._user_id is None:
            await ensure_topology(self._connection, self._topology, self.code)
        self._store = await BodyStore.open(
            self.state_path, work_seconds=self._behaviour.work_seconds, now=self._now
        )
        publish_channel = await self._connection.channel(
            publisher_confirms=True, on_return_raises=True
        )
        self._channels.append(publish_channel)
        self._exchange = await publish_channel.get_exchange(
            self._topology.status_exchange, ensure=False
        )
        # What a previous run decided but never got confirmed goes out before anything new.
        self._last_resend = time.time()
        await self._resend(created_before=self._last_resend)
        self._worker = asyncio.create_task(self._work(), name=f"mock-body-{self.code}-worker")

        consume_channel = await self._connection.channel()
        self._channels.append(consume_channel)
        await consume_channel.set_qos(prefetch_count=self._prefetch)
        self._queue = await consume_channel.get_queue(
            self._topology.agency_queue(self.code), ensure=False
        )
        if self._admin is not None:
            self._admin.listen(self)
        await self._apply_silence()

    async def stop(self) -> None:
        """Stop taking messages, let the ones in hand finish, then stop the worker.

        Work that is taken but not yet decided stays in the journal for the next start.
        """
        if self._admin is not None:
            self._admin.forget(self)
        if self._silence is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._silence
        await self._stop_consuming()
        self._queue = None
        if self._inflight:
            await asyncio.wait(set(self._inflight), timeout=_DRAIN_SECONDS)
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
            self._worker = None
        for channel in reversed(self._channels):
            with contextlib.suppress(*CONNECTION_EXCEPTIONS):
                await channel.close()
        self._channels.clear()
        self._exchange = None
        if self._store is not None:
            await self._store.close()
            self._store = None
        log.info("%s: stopped", self.code)

    # -- admin listener ----------------------------------------------------------------

    def wake(self) -> None:
        self._wake.set()

    def faults_changed(self) -> None:
        """A `silent` rule appeared or went: stop or resume taking messages."""
        self._silence = asyncio.get_running_loop().create_task(self._apply_silence())

    async def _apply_silence(self) -> None:
        silent = self._admin is not None and self._admin.faults.silent(self.code)
        if silent:
            await self._stop_consuming()
        else:
            await self._start_consuming()

    async def _start_consuming(self) -> None:
        async with self._consuming:
            if self._queue is None or self._consumer_tag is not None:
                return
            self._consumer_tag = await self._queue.consume(self._on_message, no_ack=False)
            log.info("%s: consuming %s", self.code, self._queue.name)

    async def _stop_consuming(self) -> None:
        async with self._consuming:
            if self._queue is None or self._consumer_tag is None:
                return
            with contextlib.suppress(*CONNECTION_EXCEPTIONS):
                await self._queue.cancel(self._consumer_tag)
            self._consumer_tag = None
            log.info("%s: silent, taking nothing from %s", self.code, self._queue.name)

    # -- inbound -----------------------------------------------------------------------

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._inflight.add(task)
        try:
            await self._handle(message)
        except Exception:
            log.exception("%s: failed to handle message %s", self.code, message.message_id)
            await asyncio.sleep(_RETRY_PAUSE)
            await _settle(message.nack(requeue=True))
        finally:
            if task is not None:
                self._inflight.discard(task)

    async def _handle(self, message: AbstractIncomingMessage) -> None:
        store = self._store
        if store is None:
            return  # stopping: leave the message unacked, the broker hands it back
        try:
            envelope = parse(message.body, self.code)
        except Unreadable as exc:
            # Dead-letters through the queue's policy; retrying would fail the same way.
            log.warning(
                "%s: rejecting unreadable message %s: %s",
                self.code,
                message.message_id or "<no message_id>",
                exc,
            )
            await _settle(message.reject(requeue=False))
            return
        admin = self._admin
        if admin is not None and isinstance(envelope, StepAssignedEnvelope):
            rule = admin.faults.crashes(self.code, envelope.payload)
            if rule is not None:
                # Neither recorded nor answered: the broker counts the delivery and
                # dead-letters the message past the queue's delivery limit.
                log.info(
                    "%s: injected crash #%d on message %s", self.code, rule, envelope.message_id
                )
                await _settle(message.nack(requeue=True))
                return
        on_take = (lambda step: admin.faults.on_take(self.code, step)) if admin else None
        effect = await store.accept(envelope, on_take)
        if effect is not Effect.duplicate:
            self._wake.set()
        p = envelope.payload
        log.log(
            logging.INFO if effect is not Effect.duplicate else logging.DEBUG,
            "%s: %s %s %s round %d of case %s (message %s)",
            self.code,
            effect.value,
            envelope.type.value,
            p.step,
            p.round,
            p.case_id,
            envelope.message_id,
        )
        await _settle(message.ack())

    # -- work --------------------------------------------------------------------------

    async def _work(self) -> None:
        """Decide what is due and send what is decided; sleep until the next step is due
        or the consumer (or the admin clock) wakes it."""
        while True:
            self._wake.clear()
            try:
                if await self._tick():
                    continue
                timeout = await self._time_to_next_step()
            except Exception:
                log.exception("%s: worker step failed; retrying", self.code)
                timeout = 1.0
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)

    async def _tick(self) -> bool:
        """One pass; True when there may be more due work right away."""
        assert self._store is not None
        now = time.time()
        if now - self._last_resend >= 1.0:
            self._last_resend = now
            await self._resend(created_before=now - self._resend_after)
        due = await self._store.due(limit=50)
        for step in due:
            await self._decide(step)
        return bool(due)

    async def _time_to_next_step(self) -> float:
        assert self._store is not None
        next_at = await self._store.next_due_at()
        if next_at is None:
            return 1.0
        return min(1.0, max(0.0, next_at - self._now()))

    async def _decide(self, due: DueStep) -> None:
        assert self._store is not None
        step = due.assignment
        moment = datetime.fromtimestamp(self._now(), UTC).replace(microsecond=0)
        choice = decide(step, self._behaviour, due.override, to_almaty(moment).date())
        statement = HandoverStatement(
            case_id=step.case_id,
            flow=step.flow,
            step=step.step,
            round=step.round,
            body=self.code,
            decision=choice.decision.value,
            remarks=choice.remarks,
            data=choice.data,
            signed_at=moment,
        )
        try:
            official = await asyncio.to_thread(self._officials.for_step, self.code, step.role)
            signature = await asyncio.to_thread(official.sign, statement)
        except NoOfficial as exc:
            log.error("%s: cannot sign %s of case %s: %s", self.code, step.step, step.case_id, exc)
            await self._store.postpone(due.key, _NO_KEY_RETRY)
            return
        decision = StepDecision(
            case_id=step.case_id,
            step=step.step,
            round=step.round,
            body=self.code,
            decision=choice.decision,
            remarks=choice.remarks,
            data=choice.data,
            signed_at=moment,
            signature=signature,
        )
        message_id = decision_message_id(self.code, due.key)
        recorded = await self._store.record_decision(
            due.key, message_id, decision.model_dump_json(), choice.decision.value, official.login
        )
        if not recorded:
            log.info(
                "%s: %s of case %s was withdrawn meanwhile", self.code, step.step, step.case_id
            )
            return
        log.info(
            "%s: %s at %s round %d of case %s, signed by %s",
            self.code,
            choice.decision.value,
            step.step,
            step.round,
            step.case_id,
            official.login,
        )
        await self._send(Outgoing(due.key, message_id, decision.model_dump_json()))

    async def _resend(self, created_before: float) -> None:
        assert self._store is not None
        stale = await self._store.unsent(created_before)
        if stale:
            log.info("%s: re-sending %d unconfirmed decision(s)", self.code, len(stale))
        for outgoing in stale:
            await self._send(outgoing)

    async def _send(self, outgoing: Outgoing) -> None:
        assert self._store is not None and self._exchange is not None
        decision = StepDecision.model_validate_json(outgoing.decision_json)
        try:
            await publish(self._exchange, outgoing.message_id, decision, user_id=self._user_id)
        except Exception as exc:  # any failure means "send it again later"
            log.warning(
                "%s: decision %s not confirmed, will resend: %r",
                self.code,
                outgoing.message_id,
                exc,
            )
            await self._store.touch_unsent(outgoing.key)
            return
        await self._store.mark_published(outgoing.key)


async def _settle(outcome: Awaitable[None]) -> None:
    """Ack, nack or reject, tolerating a channel that has gone: the broker redelivers the
    message then, and deduplication makes that harmless."""
    try:
        await outcome
    except CONNECTION_EXCEPTIONS as exc:
        log.warning("could not settle a message, the broker will redeliver it: %r", exc)
