"""One simulated body: its queue consumer, its store and its scheduler, started together.

The consumer's rule is the one the gateway expects of any real body: record first, then
answer, then ack. An ack sent before the record is on disk could lose the task in a crash;
an ack sent before the owed report is confirmed could leave the gateway waiting forever.

The store and the scheduler live as long as the body; the channels live as long as one
broker connection and are opened again on every new one (`BodyLink.add`), so a broker
restart costs the body nothing but a pause: unconfirmed reports wait in the store and go
out again, redelivered tasks are recognised in the journal.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable
from pathlib import Path

from aio_pika.abc import (
    AbstractChannel,
    AbstractConnection,
    AbstractIncomingMessage,
    AbstractQueue,
)
from aio_pika.exceptions import CONNECTION_EXCEPTIONS

from contracts.amqp import Topology
from contracts.messages import TaskAssignedEnvelope
from mocks.agencies import tracing
from mocks.agencies.admin_api import AgenciesAdmin, BodyFault, BodyFaultKind
from mocks.agencies.broker import BodyLink, topology_set_up
from mocks.agencies.config import AgencyBehaviour
from mocks.agencies.inbound import Unreadable, parse
from mocks.agencies.message_gate import MessageGate
from mocks.agencies.plan import TaskOverride, WorkPlan
from mocks.agencies.reports import Reporter
from mocks.agencies.scheduler import Scheduler
from mocks.agencies.schema import Effect, database_path
from mocks.agencies.store import AgencyStore

log = logging.getLogger(__name__)

_RETRY_PAUSE = 0.5
"""Pause before handing back a message the body could not finish (report not confirmed,
store failure), so that a persistent fault does not spin through the redeliveries."""

_DRAIN_SECONDS = 10.0


class MockAgency:
    """One body on a shared connection.

    Separate from the runner so that a test can stop and restart a single body over the
    same state directory, which is how a crash of the body's system is simulated.
    """

    def __init__(
        self,
        code: str,
        *,
        link: BodyLink,
        topology: Topology,
        state_dir: Path,
        behaviour: AgencyBehaviour,
        prefetch: int = 50,
        admin: AgenciesAdmin | None = None,
        user_id: str | None = None,
    ) -> None:
        """`user_id`: the body's own broker user, when it connects as one (a provisioned
        deployment). Such a user may declare nothing: the gateway owns the topology, and
        the body waits for its queue instead of declaring it."""
        self.code = code
        self._user_id = user_id
        self._admin = admin
        self.state_path = database_path(state_dir, code)
        self._link = link
        self._topology = topology
        self._plan = WorkPlan(behaviour, code)
        self._prefetch = prefetch
        self._per_message = MessageGate()
        self._inflight: set[asyncio.Task[object]] = set()
        self._store: AgencyStore | None = None
        self._channels: list[AbstractChannel] = []
        self._queue: AbstractQueue | None = None
        self._consumer_tag: str | None = None
        self._reporter: Reporter | None = None
        self._scheduler: Scheduler | None = None
        self._scheduler_task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self._store is not None:
            raise RuntimeError(f"mock agency {self.code} is already running")
        try:
            await self._start()
        except BaseException:
            await self.stop()
            raise

    async def _start(self) -> None:
        now = self._admin.now if self._admin is not None else time.time
        self._store = await AgencyStore.open(self.state_path, self._plan, now=now)
        self._reporter = Reporter(
            None, self._store, self.code, broker_up=lambda: self._link.up, user_id=self._user_id
        )
        self._scheduler = Scheduler(
            self._store, self._reporter, self.code, now=now, ready=lambda: self._link.up
        )
        if self._admin is not None:
            self._admin.on_clock_change(self._scheduler)
        # The topology and the publishing channel first, so that recovering the
        # unconfirmed reports below can already send them.
        await self._link.add(self._set_up_publishing)
        await self._scheduler.recover()
        self._scheduler_task = asyncio.create_task(
            self._scheduler.run(), name=f"mock-agency-{self.code}-scheduler"
        )
        await self._link.add(self._set_up_consuming)

    async def _set_up_publishing(self, connection: AbstractConnection) -> None:
        if self._user_id is None:
            await topology_set_up(self._topology, (self.code,))(connection)
        await self._close_channels()
        channel = await self._link.channel(connection, confirms=True, returns=True)
        self._channels.append(channel)
        status = await channel.get_exchange(self._topology.status_exchange, ensure=False)
        if self._reporter is not None:
            self._reporter.exchange = status

    async def _set_up_consuming(self, connection: AbstractConnection) -> None:
        channel = await self._link.channel(connection, confirms=False)
        self._channels.append(channel)
        await channel.set_qos(prefetch_count=self._prefetch)
        self._queue = await channel.get_queue(self._topology.agency_queue(self.code), ensure=False)
        self._consumer_tag = await self._queue.consume(self._on_message, no_ack=False)
        if self._scheduler is not None:
            self._scheduler.wake()  # reports that failed while the broker was away
        log.info("%s: consuming %s", self.code, self._queue.name)

    async def _close_channels(self) -> None:
        channels, self._channels = self._channels, []
        for channel in reversed(channels):
            await self._link.close_channel(channel)

    async def stop(self) -> None:
        """Stop taking messages, let the ones in hand finish, then stop the clock.

        Work that is scheduled but not yet due stays in the store for the next start.
        """
        self._link.remove(self._set_up_consuming)
        self._link.remove(self._set_up_publishing)
        if self._queue is not None and self._consumer_tag is not None:
            with contextlib.suppress(*CONNECTION_EXCEPTIONS):
                await self._queue.cancel(self._consumer_tag)
        self._queue = self._consumer_tag = None
        if self._inflight:
            await asyncio.wait(set(self._inflight), timeout=_DRAIN_SECONDS)
        if self._admin is not None and self._scheduler is not None:
            self._admin.forget(self._scheduler)
        if self._scheduler_task is not None:
            self._scheduler_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._scheduler_task
            self._scheduler_task = None
        await self._close_channels()
        if self._store is not None:
            await self._store.close()
            self._store = None
        self._reporter = self._scheduler = None
        log.info("%s: stopped", self.code)

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._inflight.add(task)
        try:
            await self._handle(message)
        except Exception:
            if self._link.up:
                log.exception("%s: failed to handle message %s", self.code, message.message_id)
            await asyncio.sleep(_RETRY_PAUSE)
            await _settle(message.nack(requeue=True))
        finally:
            if task is not None:
                self._inflight.discard(task)

    async def _handle(self, message: AbstractIncomingMessage) -> None:
        store, reporter, scheduler = self._store, self._reporter, self._scheduler
        if store is None or reporter is None or scheduler is None:
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

        if self._admin is not None and isinstance(envelope, TaskAssignedEnvelope):
            fault = self._admin.faults.decide(self.code)
            if fault is not None:
                log.info(
                    "%s: injected fault %s#%d on task %s (message %s)",
                    self.code,
                    fault.kind.value,
                    fault.rule_id,
                    envelope.payload.task_id,
                    envelope.message_id,
                )
                if fault.kind is BodyFaultKind.CRASH:
                    # Neither recorded nor answered: the broker counts the delivery and
                    # dead-letters the message past the queue's delivery limit.
                    await _settle(message.nack(requeue=True))
                    return
                self._plan.override(envelope.payload.task_id, _override(fault))

        message_id = str(envelope.message_id)
        tracing.received(envelope.payload.task_id, message.headers)
        with tracing.span_for(message.headers, f"{self.code} takes {envelope.type.value}"):
            async with self._per_message.one_copy(message_id):
                acceptance = await store.accept(envelope)
                delivered = await reporter.deliver_in_order(acceptance.owed)
        if not delivered:
            await asyncio.sleep(_RETRY_PAUSE)
            await _settle(message.nack(requeue=True))
            return
        if acceptance.effect is not Effect.duplicate:
            scheduler.wake()
        log.log(
            logging.INFO if acceptance.effect is Effect.duplicate else logging.DEBUG,
            "%s: %s %s for task %s (message %s)",
            self.code,
            acceptance.effect.value,
            envelope.type.value,
            envelope.payload.task_id,
            message_id,
        )
        await _settle(message.ack())


def _override(fault: BodyFault) -> TaskOverride:
    if fault.kind is BodyFaultKind.REJECT:
        return TaskOverride(reject_reason=fault.reason)
    if fault.kind is BodyFaultKind.SILENT:
        return TaskOverride(silent=True)
    return TaskOverride(extra_seconds=fault.delay_seconds)


async def _settle(outcome: Awaitable[None]) -> None:
    """Ack, nack or reject, tolerating a channel that has gone: the broker redelivers the
    message then, and deduplication makes that harmless."""
    try:
        await outcome
    except CONNECTION_EXCEPTIONS as exc:
        log.debug("could not settle a message, the broker will redeliver it: %r", exc)
