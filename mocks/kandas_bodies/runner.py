"""Running the chain's bodies in one process, as `gateway up` and the tests do.

Without broker users, one connection carries them all: the mocks are cheap. With
`broker_users` (written by `gateway broker provision`, `contracts/broker_users.py`) each
body connects as its own user, as a real body's system does, and waits for the gateway
to declare its queue, since such a user may declare nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from aio_pika.abc import AbstractRobustConnection

from contracts.amqp import Topology, agency_codes, wait_for_queue
from contracts.broker_users import BrokerUser, require_users
from mocks.kandas_bodies.admin_api import BodiesAdmin, serve_admin
from mocks.kandas_bodies.body import KandasBody
from mocks.kandas_bodies.broker import connect_with_retry, describe
from mocks.kandas_bodies.config import Behaviour
from mocks.kandas_bodies.officials import Officials

__all__ = ["KandasBody", "run_bodies"]

log = logging.getLogger(__name__)


async def run_bodies(
    codes: Sequence[str],
    *,
    amqp_url: str,
    prefix: str,
    state_dir: Path,
    ca_dir: Path,
    behaviour: Behaviour,
    stop: asyncio.Event | None = None,
    prefetch: int = 50,
    delivery_limit: int = 5,
    connect_timeout: float = 60.0,
    admin_port: int | None = None,
    admin_host: str = "127.0.0.1",
    admin: BodiesAdmin | None = None,
    broker_users: Mapping[str, BrokerUser] | None = None,
) -> None:
    """Serve the given bodies until `stop` is set (or the task is cancelled).

    `delivery_limit` must match the gateway's (GATEWAY_DELIVERY_LIMIT) because the mock
    declares the same quorum queues and RabbitMQ refuses a redeclaration with other
    arguments. With `admin_port` (not 0) the admin API listens there in this same event
    loop; `admin` lets a caller hold the admin state itself (a test may drive faults and
    the clock without HTTP).
    """
    if not codes:
        raise ValueError("no bodies to run")
    if broker_users is not None:
        require_users(broker_users, codes)
    stop = stop if stop is not None else asyncio.Event()
    topology = Topology(prefix, agency_codes(codes), delivery_limit)
    connections = await _connect(amqp_url, topology.agencies, broker_users, connect_timeout, stop)
    if connections is None:
        return
    if admin is None and admin_port:
        admin = BodiesAdmin(state_dir, topology.agencies)
    if admin is not None and not admin.codes:
        admin.codes = list(topology.agencies)
    officials = Officials(ca_dir)
    started: list[KandasBody] = []
    serving = contextlib.AsyncExitStack()
    try:
        for code in topology.agencies:
            user_id = broker_users[code].user if broker_users is not None else None
            if user_id is not None and not await wait_for_queue(
                _fixed(connections[code]), topology.agency_queue(code), stop
            ):
                return
            body = KandasBody(
                code,
                connection=connections[code],
                user_id=user_id,
                topology=topology,
                state_dir=state_dir,
                officials=officials,
                behaviour=behaviour,
                admin=admin,
                prefetch=prefetch,
            )
            await body.start()
            started.append(body)
        log.info(
            "mock kandas bodies %s serving %s with prefix '%s', state in %s, keys from %s",
            ", ".join(topology.agencies),
            describe(amqp_url),
            prefix,
            state_dir,
            ca_dir,
        )
        if admin is not None and admin_port:
            try:
                await serving.enter_async_context(
                    serve_admin(admin, host=admin_host, port=admin_port)
                )
            except RuntimeError as exc:
                # The queues matter more than the admin API: keep serving them.
                log.error("%s; the mock kandas bodies run without it", exc)
            else:
                log.info(
                    "mock kandas bodies' admin API on http://%s:%d/__admin", admin_host, admin_port
                )
        await stop.wait()
    finally:
        await serving.aclose()
        for body in reversed(started):
            await body.stop()
        await _close_all(connections)
        log.info("mock kandas bodies stopped")


async def _connect(
    amqp_url: str,
    codes: Sequence[str],
    broker_users: Mapping[str, BrokerUser] | None,
    connect_timeout: float,
    stop: asyncio.Event,
) -> dict[str, AbstractRobustConnection] | None:
    """Each body's connection: one shared, or one per body as its own user; None (and
    nothing left open) if `stop` was set while waiting for the broker."""
    urls = {c: broker_users[c].amqp_url(amqp_url) for c in codes} if broker_users else {}
    opened: dict[str, AbstractRobustConnection] = {}
    try:
        for url in dict.fromkeys(urls.values()) if urls else [amqp_url]:
            connection = await connect_with_retry(url, give_up_after=connect_timeout, stop=stop)
            if connection is None:
                await _close_all(opened)
                return None
            opened[url] = connection
    except BaseException:
        await _close_all(opened)
        raise
    return {c: opened[urls.get(c, amqp_url)] for c in codes}


def _fixed(connection: AbstractRobustConnection) -> Callable[[], AbstractRobustConnection]:
    return lambda: connection


async def _close_all(connections: Mapping[str, AbstractRobustConnection]) -> None:
    for connection in dict.fromkeys(connections.values()):
        await connection.close()
