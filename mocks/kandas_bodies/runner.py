"""Running the chain's bodies in one process, as `gateway up` and the tests do.

One connection carries them all: the mocks are cheap, and one connection per body would
only multiply the reconnection noise when the broker restarts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from pathlib import Path

from contracts.amqp import Topology, agency_codes
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
    stop = stop if stop is not None else asyncio.Event()
    connection = await connect_with_retry(amqp_url, give_up_after=connect_timeout, stop=stop)
    if connection is None:
        return
    topology = Topology(prefix, agency_codes(codes), delivery_limit)
    if admin is None and admin_port:
        admin = BodiesAdmin(state_dir, topology.agencies)
    if admin is not None and not admin.codes:
        admin.codes = list(topology.agencies)
    officials = Officials(ca_dir)
    started: list[KandasBody] = []
    serving = contextlib.AsyncExitStack()
    try:
        for code in topology.agencies:
            body = KandasBody(
                code,
                connection=connection,
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
        await connection.close()
        log.info("mock kandas bodies stopped")
