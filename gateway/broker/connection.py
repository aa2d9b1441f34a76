"""Staying connected to RabbitMQ: one connection, re-made after every loss, with every
part that uses it set up again on the new one.

Why a loop of our own rather than aio-pika's `connect_robust`:

- `connect_robust` re-dials the one URL it was given. A cluster needs the next node
  when one is gone, so `GATEWAY_AMQP_URL` takes several and each reconnect tries them
  in order (aio-pika has no multi-host connection; its issue #141 is still open).
- `connect_robust` restores only what its channel objects remember. Queues taken with
  `get_queue(ensure=False)` (what our consumers used) are not remembered at all, which
  is why on main nothing consumed again after a broker restart. Here each part's own
  set-up (declare the topology, set QoS, consume) simply runs again on the new
  connection, so what comes back is what a fresh start would build.
- One object knows whether the broker is there: `/ready` reads it, the relay waits on
  it instead of failing a pass every half second, and the loss and the recovery are
  each logged once, not as a traceback per reconnect attempt.

The parts register an `attach(connection)` coroutine; it runs on every connection in
registration order (the topology first), and a part whose channel dies on its own asks
for a new connection with `lost()`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractConnection
from aio_pika.exceptions import CONNECTION_EXCEPTIONS
from aiormq.exceptions import AMQPConnectionError, ChannelInvalidStateError
from yarl import URL

log = logging.getLogger("gateway.broker")

HOW_TO_START = (
    "start it with 'rabbitmq-server -detached' (Debian package rabbitmq-server), "
    "or set GATEWAY_AMQP_URL to a running broker"
)

Attach = Callable[[AbstractConnection], Awaitable[None]]

STILL_DOWN_EVERY_SECONDS = 300.0
"""While the broker stays away, a reminder at most this often (not one line per try)."""


class BrokerUnavailable(RuntimeError):
    pass


class BrokerDown(ConnectionError):
    """The broker is not connected right now; the link is reconnecting."""


NETWORK_ERRORS: tuple[type[BaseException], ...] = (
    AMQPConnectionError,
    ConnectionError,
    OSError,
    TimeoutError,
    ChannelInvalidStateError,
)
"""Failures that mean "the connection is gone", as opposed to a channel error that the
broker answered on purpose (a missing queue, other queue arguments), which a reconnect
would only repeat."""


def amqp_urls(value: str) -> list[str]:
    """The nodes of `GATEWAY_AMQP_URL`: one URL, or several separated by commas.

    A later entry may be a bare `host:port`; it takes the scheme, credentials, virtual
    host and options of the first, so a cluster reads
    `amqp://user:pass@10.0.0.1:5672/,10.0.0.2:5672,10.0.0.3:5672`.
    """
    entries = [part.strip() for part in value.split(",") if part.strip()]
    if not entries:
        raise ValueError("GATEWAY_AMQP_URL: no broker URL given")
    first = URL(entries[0])
    if first.scheme not in ("amqp", "amqps") or not first.host:
        raise ValueError(
            f"GATEWAY_AMQP_URL: '{safe_url(entries[0])}' is not an amqp:// or amqps:// URL"
        )
    urls = [str(first)]
    for entry in entries[1:]:
        if "://" in entry:
            url = URL(entry)
            if url.scheme not in ("amqp", "amqps") or not url.host:
                raise ValueError(
                    f"GATEWAY_AMQP_URL: '{safe_url(entry)}' is not an amqp:// or amqps:// URL"
                )
            urls.append(str(url))
            continue
        host, _, port = entry.rpartition(":") if ":" in entry else (entry, "", "")
        if not host or (port and not port.isdigit()):
            raise ValueError(f"GATEWAY_AMQP_URL: '{entry}' is neither a URL nor host:port")
        url = first.with_host(host)
        url = url.with_port(int(port)) if port else url.with_port(None)
        urls.append(str(url))
    return urls


def safe_url(url: str) -> str:
    """The URL without its credentials, for messages."""
    if "@" not in url:
        return url
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('@', 1)[1]}"


def _node(url: str) -> str:
    parsed = URL(url)
    return f"{parsed.host}:{parsed.port}"


class _TransportNoise(logging.Filter):
    """aiormq logs every failed dial as an ERROR (with a traceback when a connection
    drops); the link reports the loss and the recovery itself, once each. With the
    `gateway.broker` logger at DEBUG they pass through, for whoever needs them."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno > logging.ERROR or log.isEnabledFor(logging.DEBUG)


_NOISE = _TransportNoise()


class BrokerLink:
    """One AMQP connection kept alive, failing over between the given nodes."""

    def __init__(
        self,
        urls: str | Sequence[str],
        *,
        name: str = "gateway",
        retry_seconds: float = 0.5,
        max_retry_seconds: float = 2.0,
        connect_timeout: float = 5.0,
    ) -> None:
        self._urls = amqp_urls(urls) if isinstance(urls, str) else list(urls)
        if not self._urls:
            raise ValueError("no broker URL given")
        self._name = name
        self._retry = retry_seconds
        self._max_retry = max_retry_seconds
        self._connect_timeout = connect_timeout
        self._attachments: list[Attach] = []
        self._connection: AbstractConnection | None = None
        self._url: str | None = None
        self._up = asyncio.Event()
        self._lost = asyncio.Event()
        self._lost_reason = ""
        self._closing = False
        self._supervisor: asyncio.Task[None] | None = None
        self._since = datetime.now(UTC)
        self.reconnects = 0
        for noisy in ("aiormq.connection",):
            logging.getLogger(noisy).addFilter(_NOISE)

    # -- what the parts see -----------------------------------------------------------

    @property
    def up(self) -> bool:
        return self._up.is_set() and self._connection is not None

    @property
    def connection(self) -> AbstractConnection | None:
        """The current connection, or None while the broker is away."""
        return self._connection if self.up else None

    def require(self) -> AbstractConnection:
        connection = self.connection
        if connection is None:
            raise BrokerDown("RabbitMQ is not connected; reconnecting")
        return connection

    async def wait_up(self, seconds: float | None = None) -> AbstractConnection | None:
        """The connection once the broker is there, or None after `seconds`."""
        if not self.up:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._up.wait(), seconds)
        return self.connection

    async def attach(self, part: Attach) -> None:
        """Run `part` on this connection (if there is one) and on every later one."""
        self._attachments.append(part)
        connection = self.connection
        if connection is None:
            return
        try:
            await part(connection)
        except NETWORK_ERRORS as error:
            self.lost(f"connection dropped while setting up: {error!r}", connection)

    def detach(self, part: Attach) -> None:
        with contextlib.suppress(ValueError):
            self._attachments.remove(part)

    async def channel(
        self,
        connection: AbstractConnection,
        purpose: str,
        *,
        publisher_confirms: bool = True,
        on_return_raises: bool = False,
    ) -> AbstractChannel:
        """A channel on `connection` whose unexpected closing makes the link reconnect:
        a part whose channel the broker closed (a missing queue, a consumer cancelled)
        is set up again from scratch rather than left deaf."""
        channel = await connection.channel(
            publisher_confirms=publisher_confirms, on_return_raises=on_return_raises
        )
        underlay = await channel.get_underlay_channel()

        def on_close(_: object, error: BaseException | None = None) -> None:
            if getattr(channel, "_gw_closing", False) or isinstance(error, asyncio.CancelledError):
                return
            self.lost(f"{purpose} channel closed: {error!r}", connection)

        def on_cancel(_: object) -> None:
            self.lost(f"the broker cancelled the {purpose} consumer", connection)

        channel.close_callbacks.add(on_close)
        underlay.on_consumer_cancel_callbacks.add(on_cancel)
        return channel

    @staticmethod
    async def close_channel(channel: AbstractChannel | None) -> None:
        """Close a channel made by `channel()` on purpose (no reconnect)."""
        if channel is None:
            return
        channel._gw_closing = True  # type: ignore[attr-defined]
        if not channel.is_closed:
            with contextlib.suppress(*CONNECTION_EXCEPTIONS):
                await channel.close()

    def lost(self, reason: str, connection: AbstractConnection | None = None) -> None:
        """A part found the connection (or its channel) broken: reconnect everything."""
        if self._closing or self._connection is None:
            return
        if connection is not None and connection is not self._connection:
            return  # about an older connection, already replaced
        if not self._lost.is_set():
            self._lost_reason = reason
        self._up.clear()
        self._lost.set()

    def status(self) -> dict[str, Any]:
        """For `/ready`: whether the broker is there, which node, since when."""
        return {
            "state": "up" if self.up else "down",
            "node": _node(self._url) if self._url and self.up else None,
            "since": self._since.isoformat(),
            "reconnects": self.reconnects,
            "nodes": [_node(url) for url in self._urls],
        }

    # -- the loop -----------------------------------------------------------------------

    async def start(self, wait_seconds: float = 60.0) -> None:
        """Connect (waiting up to `wait_seconds` for a broker) and keep connected."""
        await self._establish(deadline=time.monotonic() + wait_seconds)
        self._supervisor = asyncio.create_task(self._supervise(), name=f"{self._name}-broker")

    async def close(self) -> None:
        self._closing = True
        self._up.clear()
        if self._supervisor is not None:
            self._supervisor.cancel()
            await asyncio.gather(self._supervisor, return_exceptions=True)
            self._supervisor = None
        connection, self._connection = self._connection, None
        await _close_quietly(connection)

    async def _supervise(self) -> None:
        while not self._closing:
            await self._lost.wait()
            old, self._connection = self._connection, None
            self._up.clear()
            node = _node(self._url) if self._url else "?"
            lost_at = time.monotonic()
            self._since = datetime.now(UTC)
            log.warning(
                "lost RabbitMQ at %s (%s); reconnecting, nodes: %s",
                node,
                self._lost_reason[:300],
                ", ".join(_node(u) for u in self._urls),
            )
            await _close_quietly(old)
            await self._establish(deadline=None)
            self.reconnects += 1
            log.info(
                "RabbitMQ connected again at %s after %.1f s",
                _node(self._url or ""),
                time.monotonic() - lost_at,
            )

    async def _establish(self, deadline: float | None) -> None:
        """Connect to the first node that answers and set every part up on it."""
        pause = self._retry
        started = time.monotonic()
        reminded = started
        warned_waiting = False
        reported: set[str] = set()
        while True:
            last_error: BaseException | None = None
            for url in self._urls:
                try:
                    connection = await aio_pika.connect(
                        url,
                        timeout=self._connect_timeout,
                        client_properties={"connection_name": self._name},
                    )
                except (*CONNECTION_EXCEPTIONS, TimeoutError) as error:
                    last_error = error
                    log.debug("RabbitMQ at %s: %r", _node(url), error)
                    continue
                try:
                    for part in list(self._attachments):
                        await part(connection)
                except asyncio.CancelledError:
                    await _close_quietly(connection)
                    raise
                except Exception as error:
                    last_error = error
                    await _close_quietly(connection)
                    key = f"{type(error).__name__}: {error}"
                    if not isinstance(error, NETWORK_ERRORS) and key not in reported:
                        # Not the network: a part's set-up itself fails (a queue declared
                        # with other arguments, say). Say it once, with the traceback.
                        reported.add(key)
                        log.exception("setting up on RabbitMQ at %s failed", _node(url))
                    continue
                self._adopt(connection, url)
                return
            now = time.monotonic()
            if deadline is not None:
                if now >= deadline:
                    raise BrokerUnavailable(
                        f"RabbitMQ at {', '.join(_node(u) for u in self._urls)} is not "
                        f"reachable ({last_error!r}); {HOW_TO_START}"
                    )
                if not warned_waiting:
                    warned_waiting = True
                    log.warning(
                        "waiting for RabbitMQ at %s ...",
                        ", ".join(safe_url(u) for u in self._urls),
                    )
            elif now - reminded >= STILL_DOWN_EVERY_SECONDS:
                reminded = now
                log.warning(
                    "RabbitMQ still unreachable after %.0f s (%r); still trying",
                    now - started,
                    last_error,
                )
            await asyncio.sleep(pause)
            pause = min(pause * 2, self._max_retry)

    def _adopt(self, connection: AbstractConnection, url: str) -> None:
        def on_close(_: object, error: BaseException | None = None) -> None:
            self.lost(f"{error!r}" if error else "connection closed", connection)

        connection.close_callbacks.add(on_close)
        self._connection = connection
        self._url = url
        self._since = datetime.now(UTC)
        self._lost.clear()
        self._up.set()


async def _close_quietly(connection: AbstractConnection | None) -> None:
    if connection is None or connection.is_closed:
        return
    with contextlib.suppress(*CONNECTION_EXCEPTIONS, TimeoutError):
        await asyncio.wait_for(connection.close(), 5)


async def settle(outcome: Awaitable[Any], what: str) -> None:
    """Ack or nack, tolerating a channel that has gone with its connection: the broker
    hands the message out again after the reconnect, and every consumer deduplicates."""
    try:
        await outcome
    except CONNECTION_EXCEPTIONS as error:
        log.debug("could not %s (channel gone, the broker will redeliver): %r", what, error)
