"""Reaching RabbitMQ, and staying connected, as a body's system would.

The mocks are often started together with the broker (compose, CI), so the first
connection is retried for a while with a plain log line instead of a traceback. After
that the body never gives up: when the connection drops (a broker restart, a cluster
node lost) it dials the nodes it was given in order until one answers, declares what it
relies on again and re-registers its consumer. The loss and the return are logged once
each.

This is the mocks' own loop, not the gateway's: a mock shares only `contracts/` with the
product it tests. aio-pika's `connect_robust` would be the short way for one node, but it
re-dials a single URL and does not bring back consumers of queues it did not declare
itself, and a body must follow a cluster to its surviving nodes.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import Awaitable, Callable, Sequence

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractConnection
from aio_pika.exceptions import CONNECTION_EXCEPTIONS, ChannelPreconditionFailed
from yarl import URL

from contracts.amqp import Topology

log = logging.getLogger(__name__)

SetUp = Callable[[AbstractConnection], Awaitable[None]]


class BrokerUnavailable(ConnectionError):
    """RabbitMQ did not answer within the start-up grace period."""


class BrokerAway(ConnectionError):
    """No connection right now; the body is reconnecting."""


def describe(url: str) -> str:
    """host:port/vhost of an AMQP URL (or of each of a comma-separated list): no password."""
    parts = []
    for entry in node_urls(url):
        parsed = URL(entry)
        parts.append(f"{parsed.host}:{parsed.port}{parsed.path}")
    return ", ".join(parts)


def node_urls(value: str) -> list[str]:
    """`amqp://u:p@h1:5672/,h2:5673` -> one URL per node (bare host:port borrow the rest)."""
    entries = [e.strip() for e in value.split(",") if e.strip()]
    if not entries:
        raise ValueError("no broker URL given")
    first = URL(entries[0])
    urls = [str(first)]
    for entry in entries[1:]:
        if "://" in entry:
            urls.append(str(URL(entry)))
            continue
        host, _, port = entry.partition(":")
        url = first.with_host(host)
        urls.append(str(url.with_port(int(port)) if port else url.with_port(None)))
    return urls


class _Quiet(logging.Filter):
    """aiormq logs each failed dial as an ERROR; the body's own two lines say it all."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno > logging.ERROR or log.isEnabledFor(logging.DEBUG)


_QUIET = _Quiet()


class BodyLink:
    """The body's connection to the broker, re-made after every loss."""

    def __init__(self, url: str, *, pause: float = 0.5, max_pause: float = 2.0) -> None:
        self._urls = node_urls(url)
        self._pause = pause
        self._max_pause = max_pause
        self._set_ups: list[SetUp] = []
        self._connection: AbstractConnection | None = None
        self._up = asyncio.Event()
        self._lost = asyncio.Event()
        self._why = ""
        self._closing = False
        self._loop_task: asyncio.Task[None] | None = None
        self.reconnects = 0
        for name in ("aiormq.connection",):
            logging.getLogger(name).addFilter(_QUIET)

    @property
    def up(self) -> bool:
        return self._up.is_set() and self._connection is not None

    @property
    def connection(self) -> AbstractConnection | None:
        return self._connection if self.up else None

    async def wait_up(self, seconds: float | None = None) -> bool:
        if not self.up:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._up.wait(), seconds)
        return self.up

    async def add(self, set_up: SetUp) -> None:
        """Run `set_up` now (when connected) and again on every new connection."""
        self._set_ups.append(set_up)
        connection = self.connection
        if connection is not None:
            try:
                await set_up(connection)
            except CONNECTION_EXCEPTIONS as exc:
                if not isinstance(exc, ChannelPreconditionFailed) and not self.up:
                    return  # dropped meanwhile: the reconnect runs it again
                raise

    def remove(self, set_up: SetUp) -> None:
        with contextlib.suppress(ValueError):
            self._set_ups.remove(set_up)

    async def channel(
        self, connection: AbstractConnection, *, confirms: bool = True, returns: bool = False
    ) -> AbstractChannel:
        """A channel whose unexpected closing makes the body reconnect and set up again."""
        channel = await connection.channel(publisher_confirms=confirms, on_return_raises=returns)
        underlay = await channel.get_underlay_channel()

        def closed(_: object, exc: BaseException | None = None) -> None:
            if not getattr(channel, "_mock_closing", False) and not isinstance(
                exc, asyncio.CancelledError
            ):
                self.lost(f"channel closed: {exc!r}", connection)

        channel.close_callbacks.add(closed)
        underlay.on_consumer_cancel_callbacks.add(
            lambda _frame: self.lost("consumer cancelled by the broker", connection)
        )
        return channel

    @staticmethod
    async def close_channel(channel: AbstractChannel | None) -> None:
        if channel is None:
            return
        channel._mock_closing = True  # type: ignore[attr-defined]
        if not channel.is_closed:
            with contextlib.suppress(*CONNECTION_EXCEPTIONS):
                await channel.close()

    def lost(self, why: str, connection: AbstractConnection | None = None) -> None:
        if self._closing or self._connection is None:
            return
        if connection is not None and connection is not self._connection:
            return
        if not self._lost.is_set():
            self._why = why
        self._up.clear()
        self._lost.set()

    async def start(
        self, *, give_up_after: float = 60.0, stop: asyncio.Event | None = None
    ) -> bool:
        """Connect (waiting up to `give_up_after` s); False if `stop` was set meanwhile."""
        if not await self._dial(time.monotonic() + give_up_after, stop):
            return False
        self._loop_task = asyncio.create_task(self._keep(), name="mock-agencies-broker")
        return True

    async def close(self) -> None:
        self._closing = True
        self._up.clear()
        if self._loop_task is not None:
            self._loop_task.cancel()
            await asyncio.gather(self._loop_task, return_exceptions=True)
        connection, self._connection = self._connection, None
        await _close(connection)

    async def _keep(self) -> None:
        while not self._closing:
            await self._lost.wait()
            old, self._connection = self._connection, None
            self._up.clear()
            since = time.monotonic()
            log.warning("lost RabbitMQ (%s); reconnecting to %s", self._why[:200], self._where())
            await _close(old)
            await self._dial(None, None)
            self.reconnects += 1
            log.info("RabbitMQ is back after %.1f s; consuming again", time.monotonic() - since)

    async def _dial(self, deadline: float | None, stop: asyncio.Event | None) -> bool:
        pause = self._pause
        said_waiting = False
        said: set[str] = set()
        while True:
            last: BaseException | None = None
            for url in self._urls:
                try:
                    connection = await aio_pika.connect(url, timeout=5)
                except (*CONNECTION_EXCEPTIONS, TimeoutError) as exc:
                    last = exc
                    continue
                try:
                    for set_up in list(self._set_ups):
                        await set_up(connection)
                except asyncio.CancelledError:
                    await _close(connection)
                    raise
                except Exception as exc:
                    last = exc
                    if repr(exc) not in said:
                        said.add(repr(exc))
                        log.warning("set-up on %s failed, will retry: %r", describe(url), exc)
                    await _close(connection)
                    continue
                self._adopt(connection)
                return True
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise BrokerUnavailable(
                        f"RabbitMQ at {self._where()} is not reachable ({type(last).__name__})"
                    )
                if not said_waiting:
                    said_waiting = True
                    log.warning(
                        "RabbitMQ at %s is not reachable yet (%s); retrying for another %.0f s",
                        self._where(),
                        type(last).__name__,
                        left,
                    )
            if stop is None:
                await asyncio.sleep(pause)
            else:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), pause)
                if stop.is_set():
                    return False
            pause = min(pause * 2, self._max_pause)

    def _adopt(self, connection: AbstractConnection) -> None:
        connection.close_callbacks.add(
            lambda _c, exc=None: self.lost(f"{exc!r}" if exc else "closed", connection)
        )
        self._connection = connection
        self._lost.clear()
        self._up.set()

    def _where(self) -> str:
        return describe(",".join(self._urls))


async def _close(connection: AbstractConnection | None) -> None:
    if connection is None or connection.is_closed:
        return
    with contextlib.suppress(*CONNECTION_EXCEPTIONS, TimeoutError):
        await asyncio.wait_for(connection.close(), 5)


def topology_set_up(topology: Topology, agencies: Sequence[str]) -> SetUp:
    """Declare the exchanges and these bodies' queues, as the gateway would, on each
    connection.

    A queue that already exists with other arguments (another delivery limit, say) is
    the gateway's to own: the body only needs it to exist, so it warns and goes on.
    """

    async def set_up(connection: AbstractConnection) -> None:
        for agency in agencies:
            own = dataclasses.replace(topology, agencies=(agency,))
            channel = await connection.channel()
            try:
                await own.declare(channel)
            except ChannelPreconditionFailed as exc:
                log.warning(
                    "%s: topology differs from what the mock would declare: %s", agency, exc
                )
            finally:
                with contextlib.suppress(*CONNECTION_EXCEPTIONS):
                    await channel.close()

    return set_up
