"""Running several simulated bodies in one process, as the demo and the benchmarks do.

Without broker users, one connection (as `amqp_url`'s user) carries them all: the mocks
are cheap, and one connection per body would only multiply the reconnection noise when
the broker restarts. With `broker_users` (the file `gateway broker provision` writes,
`contracts/broker_users.py`) each body connects as its own user, as a real body's system
does, so that the broker checks who reports; such a user may declare nothing, so the body
waits for the gateway to declare its queue. `amqp_url` may list a cluster's nodes
separated by commas; the bodies follow the connection to whichever answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from aio_pika.abc import AbstractConnection

from contracts.amqp import Topology, agency_codes, wait_for_queue
from contracts.broker_users import BrokerUser, require_users
from mocks.agencies.admin_api import AgenciesAdmin, serve_admin
from mocks.agencies.agency import MockAgency
from mocks.agencies.broker import BodyLink, describe
from mocks.agencies.config import AgencyBehaviour

__all__ = ["MockAgency", "run_agencies"]

log = logging.getLogger(__name__)


async def run_agencies(
    codes: Sequence[str],
    *,
    amqp_url: str,
    prefix: str,
    state_dir: Path,
    behaviour: AgencyBehaviour,
    stop: asyncio.Event | None = None,
    prefetch: int = 50,
    delivery_limit: int = 5,
    connect_timeout: float = 60.0,
    admin_port: int | None = None,
    admin_host: str = "127.0.0.1",
    admin: AgenciesAdmin | None = None,
    broker_users: Mapping[str, BrokerUser] | None = None,
) -> None:
    """Serve the given bodies until `stop` is set (or the task is cancelled).

    `delivery_limit` must match the gateway's (GATEWAY_DELIVERY_LIMIT) because the mock
    declares the same quorum queues and RabbitMQ refuses a redeclaration with other
    arguments.

    With `admin_port` (not 0) the admin API (``mocks.agencies.admin_api``) listens there
    in this same event loop. `admin` lets a caller hold the admin state itself (a test
    may drive faults and the clock without HTTP); it is created when only a port is given.
    """
    if not codes:
        raise ValueError("no agencies to run")
    if broker_users is not None:
        require_users(broker_users, codes)
    stop = stop if stop is not None else asyncio.Event()
    topology = Topology(prefix, agency_codes(codes), delivery_limit)
    if broker_users is None:
        shared = BodyLink(amqp_url)
        links = dict.fromkeys(topology.agencies, shared)
    else:
        links = {c: BodyLink(broker_users[c].amqp_url(amqp_url)) for c in topology.agencies}
    for link in dict.fromkeys(links.values()):
        if not await link.start(give_up_after=connect_timeout, stop=stop):
            await _close_all(links)
            return
    if admin is None and admin_port:
        admin = AgenciesAdmin(state_dir, topology.agencies, seed=behaviour.seed)
    if admin is not None and not admin.codes:
        admin.codes = list(topology.agencies)
    started: list[MockAgency] = []
    serving = contextlib.AsyncExitStack()
    try:
        for code in topology.agencies:
            user_id = broker_users[code].user if broker_users is not None else None
            if user_id is not None and not await wait_for_queue(
                _current(links[code]), topology.agency_queue(code), stop
            ):
                return
            agency = MockAgency(
                code,
                link=links[code],
                user_id=user_id,
                topology=topology,
                state_dir=state_dir,
                behaviour=behaviour,
                prefetch=prefetch,
                admin=admin,
            )
            await agency.start()
            started.append(agency)
        log.info(
            "mock agencies %s serving %s with prefix '%s' as %s, state in %s",
            ", ".join(topology.agencies),
            describe(amqp_url),
            prefix,
            "their own broker users" if broker_users is not None else "one shared user",
            state_dir,
        )
        if admin is not None and admin_port:
            try:
                await serving.enter_async_context(
                    serve_admin(admin, host=admin_host, port=admin_port)
                )
            except RuntimeError as exc:
                # The queues matter more than the admin API: keep serving them.
                log.error("%s; the mock agencies run without it", exc)
            else:
                log.info("mock agencies' admin API on http://%s:%d/__admin", admin_host, admin_port)
        await stop.wait()
    finally:
        await serving.aclose()
        for agency in reversed(started):
            await agency.stop()
        await _close_all(links)
        log.info("mock agencies stopped")


def _current(link: BodyLink) -> Callable[[], AbstractConnection | None]:
    return lambda: link.connection


async def _close_all(links: Mapping[str, BodyLink]) -> None:
    for link in dict.fromkeys(links.values()):
        await link.close()
