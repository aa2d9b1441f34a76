"""The gateway's parts wired in-process against the real broker and a real store.

The API is driven through httpx's ASGI transport, the relay, the collector and the
dead-letter recorder run as they do in `gateway serve`, and time comes from a manual
clock so that deadlines move without sleeping.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import aio_pika
import httpx
from aio_pika.abc import AbstractChannel, AbstractRobustConnection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from contracts.amqp import STATUS_ROUTING_KEY, Topology, persistent_message
from contracts.clock import ManualClock
from contracts.iin import next_valid_iin
from contracts.messages import ReportStatus, StatusEnvelope, StatusReport
from gateway.agencies import load_agencies
from gateway.api.app import create_app
from gateway.api.deps import AppState
from gateway.auth import ClientKind
from gateway.broker.connection import BrokerLink, amqp_urls
from gateway.broker.dead_letters import DeadLetterRecorder
from gateway.broker.outbox_relay import OutboxRelay
from gateway.broker.status_collector import StatusCollector
from gateway.config import Settings
from gateway.ids import new_uuid
from gateway.runtime import declare_topology
from gateway.services.centres import ensure_centre
from gateway.services.clients import add_client
from gateway.services.context import Context
from gateway.services.kandas_intake import FamilyCardLookup
from gateway.services.registry_lookup import RegistryGateway
from gateway.signatures import TrustAnchors
from gateway.workdays import default_calendar

AGENCIES = ("education", "health", "housing", "internal_affairs")


def family_members() -> list[dict[str, Any]]:
    return [
        {
            "iin": next_valid_iin(date(1987, 3, 14), "female", 1),
            "last_name": "Сейткали",
            "first_name": "Динара",
            "role": "applicant",
        },
        {
            "iin": next_valid_iin(date(2014, 6, 2), "male", 10),
            "last_name": "Сейткали",
            "first_name": "Алихан",
            "role": "child",
        },
    ]


async def register_centre(conn: AsyncConnection, code: str, now: datetime) -> None:
    """Put a test's centre in the register, as an operator would before issuing its key
    (`gateway centres add`): a key and the plans of an unregistered centre are refused."""
    await ensure_centre(
        conn,
        code=code,
        name_ru=f"ЦПС {code}",
        name_kk=f"Отбасыны қолдау орталығы {code}",
        actor="test",
        now=now,
    )


def plan_body(
    centre: str, *, agencies: tuple[str, ...] = AGENCIES, approved_at: datetime | None = None
) -> dict[str, Any]:
    members = family_members()
    return {
        "centre": centre,
        "external_id": "ИПР-2026-0001",
        "approved_at": (approved_at or datetime.now(UTC)).isoformat(),
        "family": {"members": members, "address": "г. Алматы, ул. Абая, 1"},
        "grounds": ["малообеспеченность"],
        "activities": [
            {
                "agency": code,
                "title": f"Мероприятие: {code}",
                "due_date": "2027-01-29",
                "beneficiary_iins": [members[1]["iin"]] if code == "education" else [],
            }
            for code in agencies
        ],
    }


@dataclass
class Harness:
    engine: AsyncEngine
    ctx: Context
    clock: ManualClock
    connection: AbstractRobustConnection
    channel: AbstractChannel
    http: httpx.AsyncClient
    relay: OutboxRelay
    centre: str
    link: BrokerLink
    keys: dict[str, str] = field(default_factory=dict)
    delete_topology: bool = True
    """Whether stopping deletes the test's exchanges and queues."""

    @property
    def topology(self) -> Topology:
        return self.ctx.topology

    async def add_key(self, kind: ClientKind, scope: str | None, name: str = "test") -> str:
        """A new key; a centre's is issued only for a registered centre, so the centre is
        put in the register first (`register_centre`)."""
        async with self.engine.begin() as conn:
            if kind is ClientKind.centre and scope:
                await register_centre(conn, scope, self.clock.now())
            client = await add_client(
                conn,
                name=name,
                kind=kind,
                scope=scope,
                agencies=self.ctx.agencies,
                now=self.clock.now(),
            )
        return client.api_key

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[who]}"}

    async def submit(self, body: dict[str, Any] | None = None, **headers: str) -> httpx.Response:
        return await self.http.post(
            "/api/v1/plans",
            json=body or plan_body(self.centre),
            headers={**self.auth("centre"), **headers},
        )

    async def plan(self, plan_id: str, who: str = "centre") -> dict[str, Any]:
        response = await self.http.get(f"/api/v1/plans/{plan_id}", headers=self.auth(who))
        assert response.status_code == 200, response.text
        return dict(response.json())

    async def take(self, agency: str, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        """Act as the body's system: consume `count` messages from its queue and ack them."""
        queue = await self.channel.get_queue(self.topology.agency_queue(agency), ensure=False)
        got: list[dict[str, Any]] = []
        async with asyncio.timeout(timeout):
            while len(got) < count:
                message = await queue.get(fail=False)
                if message is None:
                    await asyncio.sleep(0.05)
                    continue
                got.append({"body": json.loads(message.body), "message_id": message.message_id})
                await message.ack()
        return got

    async def report(
        self,
        task_id: str,
        agency: str,
        status: ReportStatus,
        *,
        plan_id: str = "",
        message_id: str | None = None,
        reason: str | None = None,
        comment: str | None = None,
    ) -> str:
        """Publish a status message on the status exchange, as a body's system does."""
        mid = message_id or str(new_uuid())
        envelope = StatusEnvelope(
            message_id=mid,
            correlation_id=plan_id,
            occurred_at=datetime.now(UTC),
            payload=StatusReport(
                task_id=task_id,
                agency=agency,
                status=status,
                reason=reason,
                comment=comment,
                reported_at=datetime.now(UTC),
            ),
        )
        await self.publish_raw(envelope.model_dump_json().encode(), message_id=mid)
        return mid

    async def publish_raw(self, body: bytes, *, message_id: str) -> None:
        exchange = await self.channel.get_exchange(self.topology.status_exchange, ensure=False)
        await exchange.publish(
            persistent_message(
                body, message_id=message_id, correlation_id="", message_type="task.status"
            ),
            routing_key=STATUS_ROUTING_KEY,
        )


async def eventually(
    check: Callable[[], Awaitable[bool]], timeout: float = 10.0, what: str = ""
) -> None:
    async with asyncio.timeout(timeout):
        while not await check():
            await asyncio.sleep(0.05)


async def start_harness(
    engine: AsyncEngine,
    prefix: str,
    amqp_url: str,
    centre: str,
    *,
    registry: RegistryGateway | None = None,
    trust: TrustAnchors | None = None,
    family_card: FamilyCardLookup | None = None,
    reuse: bool = False,
    identities_required: bool = False,
    labour_market: Any = None,
) -> tuple[Harness, Callable[[], Awaitable[None]]]:
    """A gateway in-process on `engine` and the broker under `prefix`.

    `reuse`: the prefix's queues are shared with the run's other tests (conftest's
    `harness`): they are emptied at the start and the end instead of being created and
    deleted by every test. Each quorum queue is a Raft cluster of its own; creating and
    deleting some thirty of them per test, thousands in a run, wedged the broker.
    """
    settings = Settings(amqp_prefix=prefix, amqp_url=amqp_url, relay_poll_seconds=0.1)
    agencies = load_agencies()
    topology = Topology(prefix, agencies.enabled_codes(), delivery_limit=3)
    ctx = Context(
        default_calendar(),
        agencies,
        topology,
        trust=trust,
        broker_identities_required=identities_required,
    )
    clock = ManualClock(datetime.now(UTC))
    # The gateway's parts share a BrokerLink, as in `gateway serve`; it declares the
    # topology first, so on a cluster the queues' leaders sit on its (first) node. The
    # test's own connection (acting as the bodies) is aio-pika's robust one, to the last
    # node of the list, which the cluster test keeps alive.
    link = BrokerLink(amqp_url, name="gateway-test", retry_seconds=0.2, max_retry_seconds=1.0)
    await link.attach(declare_topology(topology))
    await link.start(wait_seconds=10)
    connection = await aio_pika.connect_robust(amqp_urls(amqp_url)[-1])
    channel = await connection.channel()
    await topology.declare(channel)
    if reuse:
        await _purge(channel, topology)
    relay = OutboxRelay(engine, link, clock, poll_seconds=0.1)
    collector = StatusCollector(engine, link, ctx, clock)
    dead = DeadLetterRecorder(engine, link, ctx, clock)
    await collector.start()
    await dead.start()
    relay_task = asyncio.create_task(relay.run())

    async def broker_ready() -> bool:
        return link.up

    state = AppState(
        settings=settings,
        engine=engine,
        ctx=ctx,
        clock=clock,
        on_outbox_write=relay.wake,
        registry=registry,
        family_card=family_card,
        labour_market=labour_market,
        broker_ready=broker_ready,
        broker_status=link.status,
    )
    http = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(state)), base_url="http://gw"
    )
    harness = Harness(engine, ctx, clock, connection, channel, http, relay, centre, link)
    harness.keys["centre"] = await harness.add_key(ClientKind.centre, centre)
    harness.keys["admin"] = await harness.add_key(ClientKind.admin, None)
    for code in AGENCIES:
        harness.keys[code] = await harness.add_key(ClientKind.agency, code)

    async def stop() -> None:
        relay_task.cancel()
        await asyncio.gather(relay_task, return_exceptions=True)
        await collector.stop()
        await dead.stop()
        await relay.stop()
        await link.close()
        await http.aclose()
        if reuse:
            await _purge(channel, topology)
        elif harness.delete_topology:
            await topology.delete(channel)
        await connection.close()

    return harness, stop


async def _purge(channel: AbstractChannel, topology: Topology) -> None:
    for name in topology.all_queues():
        queue = await channel.get_queue(name, ensure=False)
        await queue.purge()
