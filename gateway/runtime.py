"""One gateway process: the API and the workers it was asked to run.

All parts are stateless and share the store and the broker, so production runs several
processes with different parts (`--no-api` for a worker box, for example); on one
machine a single process runs everything, which suits SQLite's single writer.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
import sys
from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any

import prometheus_client
import uvicorn

from contracts.amqp import Topology
from contracts.clock import Clock, SystemClock
from gateway import deadline_watcher, metrics, outside_systems, tracing
from gateway.agencies import load_agencies
from gateway.api.app import create_app
from gateway.api.deps import AppState
from gateway.broker.backlog import BacklogMonitor
from gateway.broker.connection import BrokerLink
from gateway.broker.dead_letters import DeadLetterRecorder
from gateway.broker.depths import queue_depths
from gateway.broker.outbox_relay import OutboxRelay
from gateway.broker.portal_notifier import PortalNotifier
from gateway.broker.status_collector import StatusCollector
from gateway.config import Settings
from gateway.media.store import LocalMediaStore
from gateway.reports.conclusion_mailer import ConclusionMailer, mailer_sender
from gateway.reports.family_card import card_client
from gateway.services import kandas_followup, kandas_intake, portal_intake
from gateway.services.context import Context
from gateway.services.kandas_intake import FamilyCardLookup
from gateway.services.registry_lookup import ShepRegistryGateway, build_registry_gateway
from gateway.signatures import TrustAnchors
from gateway.store.engine import is_sqlite, open_engine
from gateway.store.migrate import upgrade
from gateway.workdays import default_calendar

if TYPE_CHECKING:
    from aio_pika.abc import AbstractConnection
    from sqlalchemy.ext.asyncio import AsyncEngine

    from adapters.family_card import FamilyCardClient
    from adapters.kandas_ais import KandasClient
    from adapters.police_migration.residence import PoliceResidenceChecker

log = logging.getLogger("gateway")

COMPONENTS = ("api", "relay", "collector", "watcher", "dead-letters", "digest")
"""`digest` (the daily escalation mail) is off in `gateway serve` unless asked for: with
several gateway processes on PostgreSQL each would send it; `gateway up` turns it on."""


def _clock(settings: Settings) -> Clock:
    if settings.clock_file is None:
        return SystemClock()
    from gateway.clock_file import FileOffsetClock

    return FileOffsetClock(settings.clock_file)


def declare_topology(topology: Topology) -> Callable[[AbstractConnection], Awaitable[None]]:
    """The first set-up on every connection: exchanges, queues and bindings, idempotently."""

    async def declare(connection: AbstractConnection) -> None:
        channel = await connection.channel()
        try:
            await topology.declare(channel)
        finally:
            if not channel.is_closed:
                await channel.close()

    return declare


def build_context(settings: Settings) -> Context:
    agencies = load_agencies(settings.agencies_file)
    topology = Topology(settings.amqp_prefix, agencies.enabled_codes(), settings.delivery_limit)
    trust = TrustAnchors.from_file(settings.ca_root) if settings.ca_root else None
    if trust is None:
        log.warning("GATEWAY_CA_ROOT is not set: every signed hand-over will be refused")
    return Context(
        default_calendar(),
        agencies,
        topology,
        trust=trust,
        broker_identities_required=settings.broker_identities == "required",
    )


def _freeze_startup_objects() -> None:
    """Take what start-up made out of the garbage collector's sight.

    The modules, tables, models and routes the process holds for its whole life are
    well over a million objects, and the collector's oldest generation walked all of them
    each time: 100–135 ms with the whole process stopped, several times a minute under
    load, and each a hole in the submit latency (the p99 at half rate). `gc.freeze`
    moves them into a generation that is never scanned; what the process makes from now
    on is collected as before.
    """
    gc.collect()
    gc.freeze()


async def serve(
    settings: Settings,
    components: set[str],
    *,
    clock: Clock | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    clock = clock or _clock(settings)
    stop = stop or asyncio.Event()
    traces = tracing.configure(settings)
    if is_sqlite(settings.database_url):
        # aiosqlite runs each statement on its own thread and hands the result back to
        # the event loop; with the default 5 ms GIL switch interval each of those hand-offs
        # can wait a whole interval while the loop is busy, which dominated request time.
        sys.setswitchinterval(0.0005)
    engine = open_engine(settings.database_url)
    await upgrade(engine)
    ctx = build_context(settings)
    # Every (re)connection first declares the topology (idempotent), then each part sets
    # itself up again: a broker restart or a lost cluster node is survived in-process.
    link = BrokerLink(settings.amqp_url, name="gateway")
    await link.attach(declare_topology(ctx.topology))
    await link.start(wait_seconds=settings.broker_wait_seconds)

    relay = OutboxRelay(
        engine,
        link,
        clock,
        batch=settings.relay_batch,
        poll_seconds=settings.relay_poll_seconds,
        lease_seconds=settings.relay_lease_seconds,
        publish_timeout=settings.relay_publish_timeout_seconds,
        fault_hold=settings.fault_hold,
        fault_marker=settings.fault_marker,
    )
    collector = StatusCollector(
        engine,
        link,
        ctx,
        clock,
        batch=settings.collector_batch,
        linger_seconds=settings.collector_linger_seconds,
        fault_hold=settings.fault_hold,
        fault_marker=settings.fault_marker,
    )
    portal = outside_systems.egov_portal(settings)
    labour = outside_systems.labour_market(settings)
    notifier = PortalNotifier(engine, link, ctx, clock, portal) if portal is not None else None
    dead_letters = DeadLetterRecorder(engine, link, ctx, clock)
    mail_sender, mail_channel = mailer_sender(settings)
    mailer = ConclusionMailer(
        engine, link, ctx.topology, clock, mail_sender, channel_name=mail_channel
    )

    async def broker_ready() -> bool:
        return link.up

    workers: list[Callable[[], Coroutine[Any, Any, None]]] = []
    if "relay" in components:
        workers.append(relay.run)
    if "watcher" in components:
        workers.append(lambda: deadline_watcher.run(engine, clock, settings.watcher_poll_seconds))
        workers.append(_audit_sealer(engine, clock, settings))
    if "digest" in components:
        workers.append(_digest_worker(settings, engine, clock))
    registry = _registry_or_none(settings) if {"api", "watcher"} & components else None
    card = card_client(settings.family_card_url) if {"api", "watcher"} & components else None
    if "watcher" in components:
        workers.append(lambda: _follow_up(engine, registry, card, clock, settings))
        workers.append(lambda: _owed_to_others(engine, clock, settings))
    kandas = outside_systems.kandas(settings) if {"api", "watcher"} & components else None
    police = outside_systems.residence(registry, clock)
    if "watcher" in components:
        workers.append(_adaptation_worker(settings, engine, ctx, clock, kandas, card, police))
    if "collector" in components:
        await collector.start()
        await mailer.start()  # the quarterly conclusions queued for the authorised body
        if notifier is not None:
            await notifier.start()
    if "watcher" in components and portal is not None:
        workers.append(
            lambda: portal_intake.run(
                engine, ctx, portal, clock, settings.egov_poll_seconds,
                labour=labour, kandas=kandas, on_outbox_write=relay.wake,
            )
        )
    if "dead-letters" in components:
        await dead_letters.start()

    backlog = None
    if "api" in components:
        backlog = BacklogMonitor(
            engine, clock, store_timeout_seconds=settings.store_timeout_seconds
        )
        workers.append(backlog.run)
    state = AppState(
        settings=settings,
        engine=engine,
        ctx=ctx,
        clock=clock,
        on_outbox_write=relay.wake if "relay" in components else (lambda: None),
        broker_ready=broker_ready,
        broker_status=link.status,
        backlog=backlog,
        registry=registry,
        family_card=card,
        media=LocalMediaStore(settings.media_dir),
        kandas=kandas,
        residence=police,
        labour_market=labour,
    )

    async def dead_queue_depths() -> dict[str, int] | None:
        return await queue_depths(link.connection, ctx.topology.dead_queues())

    state.dead_queue_depths = dead_queue_depths
    if "api" not in components and settings.metrics_port:
        # A worker without the API still has counters worth scraping.
        prometheus_client.start_http_server(
            settings.metrics_port, addr=settings.api_host, registry=metrics.REGISTRY
        )
    app = create_app(state) if "api" in components else None
    _freeze_startup_objects()
    running = [asyncio.create_task(worker()) for worker in workers]
    log.info("gateway running: %s", ", ".join(sorted(components)))
    try:
        if app is not None:
            server = uvicorn.Server(
                uvicorn.Config(
                    app,
                    host=settings.api_host,
                    port=settings.api_port,
                    log_level="warning",
                    lifespan="off",
                    access_log=False,
                )
            )
            api = asyncio.create_task(server.serve())
            stopper = asyncio.create_task(stop.wait())
            await asyncio.wait({api, stopper}, return_when=asyncio.FIRST_COMPLETED)
            server.should_exit = True
            await api
            stopper.cancel()
        else:
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                with contextlib.suppress(NotImplementedError):
                    loop.add_signal_handler(sig, stop.set)
            await stop.wait()
    finally:
        gc.unfreeze()  # back to the collector: a process may serve again, and start up again
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
        await collector.stop()
        await mailer.stop()
        if notifier is not None:
            await notifier.stop()
        await dead_letters.stop()
        await relay.stop()
        await link.close()
        for client in (portal, labour):
            if client is not None:
                await client.aclose()
        await engine.dispose()
        if registry is not None:
            await registry.aclose()
        if card is not None:
            await card.aclose()
        if traces is not None:
            traces.shutdown()  # flush what the exporter still holds
        if kandas is not None:
            await kandas.aclose()
        log.info("gateway stopped")


def _registry_or_none(settings: Settings) -> ShepRegistryGateway | None:
    """The e-government bus clients, or None when their credentials are not there.

    Plan routing does not need the registries, so a gateway without bus credentials still
    starts; its lookup endpoints then answer 503 "not configured", which says what is
    wrong more plainly than a process that refuses to start.
    """
    try:
        return build_registry_gateway(settings)
    except (OSError, KeyError, ValueError) as error:
        log.warning("registry lookups disabled: bus credentials not readable (%s)", error)
        return None


async def _follow_up(
    engine: AsyncEngine,
    registry: ShepRegistryGateway | None,
    card: FamilyCardLookup | None,
    clock: Clock,
    settings: Settings,
) -> None:
    """Ask the registries and the ЦКС again for what open applications are still owed."""
    while True:
        await asyncio.sleep(settings.followup_poll_seconds)
        try:
            changed = await kandas_intake.refresh(engine, registry, card, clock.now())
            if changed:
                log.info("follow-up: %d application(s) got facts they were owed", changed)
        except Exception:
            log.exception("follow-up pass failed; trying again next time")


async def _owed_to_others(engine: AsyncEngine, clock: Clock, settings: Settings) -> None:
    """p.7 registration and mirroring on the migration portal; p.18 drafts."""
    portal = outside_systems.migration_portal(settings)
    labour = outside_systems.labour_market(settings)
    try:
        while True:
            await asyncio.sleep(settings.followup_poll_seconds)
            try:
                changed = await kandas_followup.run_once(engine, portal, labour, clock.now())
                if changed:
                    log.info("follow-up: %d call(s) to other systems done", changed)
            except Exception:
                log.exception("follow-up to other systems failed; trying again next time")
    finally:
        for client in (portal, labour):
            if client is not None:
                await client.aclose()


def _adaptation_worker(
    settings: Settings,
    engine: AsyncEngine,
    ctx: Context,
    clock: Clock,
    kandas: KandasClient | None,
    card: FamilyCardClient | None,
    police: PoliceResidenceChecker | None,
) -> Callable[[], Coroutine[Any, Any, None]]:
    """Order 170 p.34-50: uploads and relays owed to the Kandas system and the family card,
    monitoring come due, period cases whose period ended."""
    from gateway.domain import kandas_quality
    from gateway.services import kandas_delivery, kandas_worker

    rules = kandas_quality.load(settings.kandas_quality_file or kandas_quality.QUALITY_PATH)
    handlers = kandas_delivery.handlers(engine, kandas, card, settings.public_url)
    return lambda: kandas_worker.run(
        engine, ctx, rules, handlers, kandas, card, police, clock, settings.kandas_poll_seconds
    )


def _digest_worker(
    settings: Settings, engine: AsyncEngine, clock: Clock
) -> Callable[[], Coroutine[Any, Any, None]]:
    """The daily digest's loop, with its sender and recipients read (and checked) now, so a
    bad recipients file stops the start instead of the first morning's mail."""
    from gateway.reports.digest import run_daily
    from gateway.reports.mail import load_recipients, sender_from_settings

    sender = sender_from_settings(settings)
    recipients = load_recipients(settings.digest_recipients)
    return lambda: run_daily(engine, clock, sender, settings.digest_at, recipients=recipients)


def _audit_sealer(
    engine: AsyncEngine, clock: Clock, settings: Settings
) -> Callable[[], Coroutine[Any, Any, None]]:
    """The interagency log's one sealer runs beside the one deadline watcher."""
    from gateway import audit_sealer
    from gateway.audit_keys import signing_key

    key = signing_key(settings.audit_signing_key_file)
    return lambda: audit_sealer.run(
        engine,
        clock,
        key,
        seal_seconds=settings.audit_seal_seconds,
        checkpoint_seconds=settings.audit_checkpoint_seconds,
    )
