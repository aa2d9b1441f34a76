"""The outbox relay: moves committed messages from the store to RabbitMQ.

A batch is published with all its publisher confirms in flight at once (pipelined), then
marked sent in one statement. A crash between publish and mark re-sends the batch; every
consumer deduplicates on `message_id`, so the effect is still once.

While the broker is away the relay claims nothing: it waits on the broker link, and the
messages wait in the outbox. A publish whose confirm never came (the connection dropped
under it) is released and sent again on the next pass.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

import asyncpg
from aio_pika.abc import AbstractChannel, AbstractConnection, AbstractExchange
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from contracts.amqp import persistent_message
from contracts.cases import CaseMessageType
from contracts.clock import Clock
from contracts.messages import MessageType
from contracts.plans import TaskState
from gateway import metrics, tracing
from gateway.broker.connection import BrokerLink
from gateway.services.outbox import OUTBOX_CHANNEL
from gateway.store import bulk
from gateway.store.engine import is_sqlite
from gateway.store.tables import events, outbox

log = logging.getLogger("gateway.relay")

RELAY_ACTOR = "gateway:relay"
HTTP_PREFIX = "http:"


class OutboxRelay:
    def __init__(
        self,
        engine: AsyncEngine,
        link: BrokerLink,
        clock: Clock,
        *,
        batch: int = 200,
        poll_seconds: float = 0.5,
        lease_seconds: float = 30.0,
        publish_timeout: float = 30.0,
        fault_hold: str | None = None,
        fault_marker: Path | None = None,
    ) -> None:
        self._engine = engine
        self._link = link
        self._publish_timeout = publish_timeout
        self._channel_of: AbstractConnection | None = None
        self._failed_passes = 0
        self._failure_reported = False
        self._clock = clock
        self._batch = batch
        self._poll = poll_seconds
        self._lease = timedelta(seconds=lease_seconds)
        self._wake = asyncio.Event()
        self._channel: AbstractChannel | None = None
        self._exchanges: dict[str, AbstractExchange] = {}
        self._fault_hold = fault_hold
        self._fault_marker = fault_marker
        self._skip_locked = not is_sqlite(str(engine.url))

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        listener = None if not self._skip_locked else asyncio.create_task(self._listen())
        try:
            await self._run()
        finally:
            if listener is not None:
                listener.cancel()
                await asyncio.gather(listener, return_exceptions=True)

    async def _listen(self) -> None:
        """PostgreSQL: wake at every committed outbox write, whichever process made it.

        The writers NOTIFY in their transaction (`services.outbox`), so a worker without
        the API (`gateway serve --no-api`) does not wait for its next poll. The poll
        stays: a notification lost with a dropped connection only costs that delay.
        """
        url = self._engine.url.set(drivername="postgresql")
        dsn = url.render_as_string(hide_password=False)
        while True:
            try:
                await self._listen_once(dsn)
            except asyncio.CancelledError:
                raise
            except Exception as error:
                log.debug("outbox listener lost (%r); listening again", error)
            await asyncio.sleep(self._poll)

    async def _listen_once(self, dsn: str) -> None:
        """Listen on one connection until it is lost."""
        connection = await asyncpg.connect(dsn, timeout=10)
        try:
            lost = asyncio.Event()
            connection.add_termination_listener(lambda *_: lost.set())
            await connection.add_listener(OUTBOX_CHANNEL, lambda *_: self.wake())
            await lost.wait()
        finally:
            if not connection.is_closed():
                with contextlib.suppress(Exception):
                    await asyncio.shield(connection.close(timeout=2))

    async def _run(self) -> None:
        while True:
            if await self._link.wait_up(self._poll) is None:
                continue  # the link has said the broker is gone; the outbox keeps it all
            # Cleared before the pass, so that a wake-up during it is not lost.
            self._wake.clear()
            try:
                sent = await self.publish_pending()
            except asyncio.CancelledError:
                raise
            except Exception:
                self._pass_failed()
                await self._drop_channel()
                await asyncio.sleep(self._poll)
                continue
            self._pass_succeeded()
            if sent >= self._batch:
                continue
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a
            # cancellation that lands as the wake-up completes, and the relay then never
            # stops (seen as a hung test teardown).
            try:
                async with asyncio.timeout(self._poll):
                    await self._wake.wait()
            except TimeoutError:
                pass

    def _pass_failed(self) -> None:
        """Log a failing pass once per streak: the broker's own loss is the link's to
        report, and a store that keeps failing should not print a traceback twice a
        second."""
        self._failed_passes += 1
        if not self._link.up:
            log.debug("outbox relay pass failed with the broker away", exc_info=True)
        elif not self._failure_reported:
            self._failure_reported = True
            log.exception("outbox relay pass failed; retrying")
        else:
            log.debug("outbox relay pass failed again", exc_info=True)

    def _pass_succeeded(self) -> None:
        if self._failure_reported:
            log.info("outbox relay works again after %d failed pass(es)", self._failed_passes)
        self._failure_reported = False
        self._failed_passes = 0

    async def _exchange(self, name: str) -> AbstractExchange:
        connection = self._link.require()
        if self._channel is None or self._channel.is_closed or self._channel_of is not connection:
            await self._link.close_channel(self._channel)
            self._channel = await self._link.channel(
                connection, "outbox relay", publisher_confirms=True, on_return_raises=True
            )
            self._channel_of = connection
            self._exchanges.clear()
        if name not in self._exchanges:
            self._exchanges[name] = await self._channel.get_exchange(name, ensure=False)
        return self._exchanges[name]

    async def publish_pending(self) -> int:
        """Publish one batch; returns how many messages it took.

        The batch is claimed with a short lease in its own transaction and marked in
        another, so no database transaction stays open across the broker round trip
        (on SQLite that would stop every other writer while confirms come back). The
        lease lets several relays share the outbox on PostgreSQL; a relay that dies
        holding one only delays its batch until the lease runs out.
        """
        rows = await self._claim()
        if not rows:
            return 0
        await self._hold("before_publish")
        # Resolve the channel and exchanges first, then issue the publishes in outbox
        # order: the broker keeps a channel's order, so a task's `assigned` always goes
        # out before its `returned` or `cancelled`.
        try:
            exchanges = {name: await self._exchange(name) for name in {r.exchange for r in rows}}
        except BaseException:
            await self._release(rows)
            raise
        started = time.perf_counter()
        outcomes = await asyncio.gather(
            *(self._publish(exchanges[row.exchange], row) for row in rows),
            return_exceptions=True,
        )
        metrics.RELAY_PUBLISH_SECONDS.observe(time.perf_counter() - started)
        await self._hold("before_mark")
        pairs = list(zip(rows, outcomes, strict=True))
        sent = [row for row, outcome in pairs if outcome is None]
        metrics.RELAY_PUBLISHED.inc(len(sent))
        failed = [(row, outcome) for row, outcome in pairs if outcome is not None]
        async with self._engine.begin() as conn:
            now = self._clock.now()
            if sent:
                at = bulk.timestamp_for(conn.dialect.name)(now)
                await bulk.fetch(conn, _PUBLISHED, (at, bulk.array(conn, [r.id for r in sent])))
                await _mark_dispatched(
                    conn, [r for r in sent if r.message_type in _ASSIGNMENTS], now
                )
            if failed:
                # One line per batch: a dropped connection fails every publish in flight.
                log.log(
                    logging.WARNING if self._link.up else logging.DEBUG,
                    "%d of %d publish(es) not confirmed, will resend (first: message %s, %r)",
                    len(failed),
                    len(rows),
                    failed[0][0].message_id,
                    failed[0][1],
                )
            for row, error in failed:
                await conn.execute(
                    update(outbox)
                    .where(outbox.c.id == row.id)
                    .values(
                        attempts=outbox.c.attempts + 1,
                        last_error=repr(error)[:2000],
                        lease_until=None,
                    )
                )
        if failed:
            await self._drop_channel()
            await asyncio.sleep(self._poll)
        return len(rows)

    async def _drop_channel(self) -> None:
        channel, self._channel = self._channel, None
        await self._link.close_channel(channel)

    async def stop(self) -> None:
        await self._drop_channel()

    async def _release(self, rows: list[Any]) -> None:
        """Give a claimed batch back at once (rather than when its lease runs out)."""
        async with self._engine.begin() as conn:
            await conn.execute(
                update(outbox).where(outbox.c.id.in_([r.id for r in rows])).values(lease_until=None)
            )

    async def _claim(self) -> list[Any]:
        """Lease the oldest pending rows in one statement (an UPDATE of the rows a
        sub-select picks, returning them) rather than a SELECT and an UPDATE: a round
        trip less on every pass."""
        claim = _CLAIM_SKIP_LOCKED if self._skip_locked else _CLAIM
        async with self._engine.begin() as conn:
            now = self._clock.now()
            at = bulk.timestamp_for(conn.dialect.name)
            rows = await bulk.fetch_rows(
                conn, outbox, claim, (at(now + self._lease), at(now), self._batch, _NOT_HTTP)
            )
            # RETURNING keeps no order: the publishes go out in outbox order.
            rows.sort(key=lambda row: row.id)
            return rows

    async def _publish(self, exchange: AbstractExchange, row: Any) -> None:
        with tracing.producing(row.trace_context, f"publish {row.message_type}") as trace_headers:
            message = persistent_message(
                row.body.encode(),
                message_id=row.message_id,
                correlation_id=row.plan_id,
                message_type=row.message_type,
                headers={"schema_version": 1, **trace_headers},
            )
            message.timestamp = row.created_at
            await exchange.publish(
                message, routing_key=row.routing_key, mandatory=True, timeout=self._publish_timeout
            )

    async def _hold(self, point: str) -> None:
        """Test hook: stop here for good, so a test can kill the process at this point."""
        if self._fault_hold != point:
            return
        log.warning("fault hold at %s: waiting to be killed", point)
        if self._fault_marker is not None:
            self._fault_marker.write_text(point)
        await asyncio.Event().wait()


# The relay's statements, through the driver (gateway/store/bulk.py): every pass runs
# them. The lease takes the rows pending (never published, no live lease) that are not
# for another organisation's REST system: those are the adaptation worker's to deliver
# (gateway/services/http_outbox.py), not AMQP's. $1 the lease's end, $2 now.
_PENDING = (
    "SELECT id FROM outbox WHERE published_at IS NULL "
    "AND (lease_until IS NULL OR lease_until < $2) AND exchange NOT LIKE $4 "
    "ORDER BY id LIMIT $3"
)
_LEASE = "UPDATE outbox SET lease_until = $1 WHERE id IN ({pending}) RETURNING {columns}"
_CLAIM = bulk.Statement.of(_LEASE.format(pending=_PENDING, columns=bulk.column_list(outbox)))
_CLAIM_SKIP_LOCKED = bulk.Statement.of(
    _LEASE.format(pending=_PENDING + " FOR UPDATE SKIP LOCKED", columns=bulk.column_list(outbox))
)
_NOT_HTTP = HTTP_PREFIX + "%"
_PUBLISHED = bulk.Statement(
    postgresql="UPDATE outbox SET published_at = $1, lease_until = NULL "
    "WHERE id = ANY($2::integer[])",
    sqlite="UPDATE outbox SET published_at = ?1, lease_until = NULL "
    "WHERE id IN (SELECT value FROM json_each(?2))",
)
_DISPATCH = bulk.Statement(
    postgresql=f"UPDATE tasks SET state = '{TaskState.dispatched.value}', dispatched_at = $1, "
    f"updated_at = $1 WHERE id = ANY($2::varchar[]) AND state = '{TaskState.created.value}' "
    "RETURNING id, plan_id",
    sqlite=f"UPDATE tasks SET state = '{TaskState.dispatched.value}', dispatched_at = ?1, "
    "updated_at = ?1 WHERE id IN (SELECT value FROM json_each(?2)) "
    f"AND state = '{TaskState.created.value}' RETURNING id, plan_id",
)


class _Moved(NamedTuple):
    id: str
    plan_id: str


#: The first message of a step: once the broker has it, the step is dispatched.
_ASSIGNMENTS = frozenset({MessageType.task_assigned.value, CaseMessageType.step_assigned.value})


async def _mark_dispatched(conn: AsyncConnection, rows: list[Any], now: datetime) -> None:
    """created -> dispatched for tasks whose first message the broker confirmed.

    One UPDATE returns the tasks it moved (a task a body already answered has left
    `created` and is not touched), and their events go in one executemany.
    """
    task_ids = [r.task_id for r in rows if r.task_id]
    if not task_ids:
        return
    at = bulk.timestamp_for(conn.dialect.name)(now)
    moved = [
        _Moved(*row) for row in await bulk.fetch(conn, _DISPATCH, (at, bulk.array(conn, task_ids)))
    ]
    await bulk.insert_many(
        conn,
        events,
        [
            dict(
                plan_id=t.plan_id,
                task_id=t.id,
                at=now,
                actor=RELAY_ACTOR,
                type="task_dispatched",
                from_state=TaskState.created.value,
                to_state=TaskState.dispatched.value,
                reason=None,
                data={},
            )
            for t in sorted(moved, key=lambda t: t.id)
        ],
    )
