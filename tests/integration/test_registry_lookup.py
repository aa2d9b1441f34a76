"""The gateway's registry lookups against the mock bus, end to end in one process.

The mock bus runs with uvicorn in a thread (real HTTP, real signatures); the gateway's
API is driven through httpx's ASGI transport on an SQLite store. Every expectation is
taken from the population the mock answers from, never written out by hand.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.shep import (
    ShepCircuitOpen,
    ShepSettings,
    ShepUnavailable,
    SyncChannelClient,
    TrustStore,
)
from adapters.shep.dsig import RsaSigner, generate_rsa_credentials
from contracts.amqp import Topology
from contracts.clock import ManualClock
from gateway.agencies import load_agencies
from gateway.api.app import create_app
from gateway.api.deps import AppState
from gateway.auth import ClientKind
from gateway.config import Settings
from gateway.services.clients import add_client
from gateway.services.context import Context
from gateway.services.registry_lookup import RegistryGateway, ShepRegistryGateway
from gateway.store.engine import open_engine
from gateway.store.migrate import upgrade
from gateway.store.tables import access_log
from gateway.workdays import default_calendar
from mocks.population import Population, generate_population
from mocks.shep import BusConfig, SenderAccount
from mocks.shep import create_app as create_bus
from mocks.shep.server import RunningServer, serve_in_thread
from mocks.shep.wsse import KeyPair
from tests.integration.harness import register_centre

pytestmark = pytest.mark.integration

PATH = "/bip-sync-wss-gost/"


@dataclass(frozen=True)
class Bus:
    server: RunningServer
    population: Population
    bus_key: KeyPair
    client_key: RsaSigner

    def channel(self, address: str | None = None) -> SyncChannelClient:
        settings = ShepSettings(
            address=address or self.server.base_url + PATH,
            sender_id="GW",
            password="secret",
            deadline=2.0,
            backoff_initial=0.02,
            backoff_max=0.05,
        )
        return SyncChannelClient(
            settings, self.client_key, TrustStore([self.bus_key.certificate_der])
        )


@dataclass
class Gateway:
    state: AppState
    http: httpx.AsyncClient
    engine: AsyncEngine
    keys: dict[str, str]

    async def get(self, path: str, who: str = "centre") -> httpx.Response:
        if "/registry/" in path and "?" not in path:
            path += "?purpose=ipr_monitoring"  # every lookup names its purpose (issue 12)
        return await self.http.get(path, headers={"Authorization": f"Bearer {self.keys[who]}"})

    async def family(self, iin: str, who: str = "centre") -> dict[str, Any]:
        response = await self.get(f"/api/v1/registry/families/{iin}", who)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


@pytest.fixture(scope="module")
def bus() -> Iterator[Bus]:
    bus_key, client_key = KeyPair.generate("bus"), generate_rsa_credentials("gateway")
    account = SenderAccount("GW", "secret", (client_key.certificate_der,))
    population = generate_population(42)
    app = create_bus(population, BusConfig(signer=bus_key, senders={"GW": account}))
    with serve_in_thread(app) as server:
        yield Bus(server, population, bus_key, client_key)


@pytest.fixture
async def registry(bus: Bus) -> AsyncIterator[ShepRegistryGateway]:
    gateway = ShepRegistryGateway(bus.channel())
    yield gateway
    await gateway.aclose()


@pytest.fixture
async def gw(tmp_path: Path, registry: ShepRegistryGateway) -> AsyncIterator[Gateway]:
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'gw.sqlite3'}")
    engine = open_engine(settings.database_url)
    await upgrade(engine)
    agencies = load_agencies()
    ctx = Context(default_calendar(), agencies, Topology("t", agencies.enabled_codes()))
    clock = ManualClock(datetime(2025, 1, 10, 6, 0, tzinfo=UTC))
    state = AppState(settings=settings, engine=engine, ctx=ctx, clock=clock, registry=registry)
    keys = {}
    async with engine.begin() as conn:
        for who, kind, scope in (
            ("centre", ClientKind.centre, "almaty-bostandyk"),
            ("admin", ClientKind.admin, None),
            ("agency", ClientKind.agency, "health"),
        ):
            if kind is ClientKind.centre and scope:
                await register_centre(conn, scope, clock.now())
            client = await add_client(
                conn, name=who, kind=kind, scope=scope, agencies=agencies, now=clock.now()
            )
            keys[who] = client.api_key
    transport = httpx.ASGITransport(app=create_app(state))
    async with httpx.AsyncClient(transport=transport, base_url="http://gw.test") as http:
        yield Gateway(state, http, engine, keys)
    await engine.dispose()


class Failing:
    """The real registries, with some answering as if down."""

    def __init__(self, real: RegistryGateway, down: set[str], error: Exception) -> None:
        self.real, self.down, self.error = real, down, error

    def __getattr__(self, name: str) -> Any:
        if name in self.down:

            async def fail(*args: object) -> None:
                raise self.error

            return fail
        return getattr(self.real, name)


def iins(people: Sequence[dict[str, Any]]) -> set[str]:
    return {p["iin"] for p in people}


async def test_a_family_is_what_the_registries_agree_on(
    gw: Gateway, bus: Bus, capsys: pytest.CaptureFixture[str]
) -> None:
    people = bus.population
    # The ordinary family with the most recorded children.
    father = max(
        (m for m in people.people if m.role == "father"),
        key=lambda m: len(people.births_by_parent(m.iin)),
    )
    births = people.births_by_parent(father.iin)
    assert len(births) >= 2
    (marriage,) = people.marriages_of(father.iin)

    body = await gw.family(father.iin)

    assert body["missing"] == []
    assert body["person"]["iin"] == father.iin
    assert body["person"]["last_name"] == father.last_name
    assert body["spouse"]["iin"] == marriage.wife_iin and body["spouse"]["deceased"] is False
    children = {c["member"]["iin"]: c for c in body["children"]}
    assert set(children) == {b.child_iin for b in births}
    for record in births:
        child = children[record.child_iin]
        assert child["relation"] == "child"
        assert child["birth_record"]["number"] == record.number
        assert child["birth_record"]["mother"]["iin"] == record.mother_iin
        assert child["guardianship"] == [] and child["adoptions"] == []
        assert child["member"]["birth_date"] == people.find(record.child_iin).birth_date.isoformat()  # type: ignore[union-attr]
    assert [r["kind"] for r in body["registrations"]] == ["PERMANENT"]
    assert body["registrations"][0]["street"] == father.permanent_address.street  # type: ignore[union-attr]

    # The figure for the report: the same lookup, warm, against the mock bus over HTTP.
    timings = []
    for _ in range(20):
        started = time.perf_counter()
        await gw.family(father.iin)
        timings.append((time.perf_counter() - started) * 1000)
    # Round one: person, own birth, marriages, births, guardianship (twice), adoptions,
    # registrations; round two: spouse and each child in ГБД ФЛ, guardianship and adoption.
    calls = 8 + 1 + len(births) * 4
    with capsys.disabled():  # shown with or without -s: the figure goes in the report
        print(
            f"\nfamily lookup, {len(births)} children, ~{calls} bus calls: "
            f"median {statistics.median(timings):.1f} ms, max {max(timings):.1f} ms (20 runs)"
        )


async def test_a_deceased_mother_is_flagged_and_her_son_is_under_guardianship(
    gw: Gateway, bus: Bus
) -> None:
    people = bus.population
    body = await gw.family(people.guarded_child_iin)
    (mother,) = body["parents"]
    record = people.birth_of_child(people.guarded_child_iin)
    assert record is not None and mother["iin"] == record.mother_iin
    assert mother["deceased"] is True
    assert mother["death_date"] == people.find(mother["iin"]).death_date.isoformat()  # type: ignore[union-attr]
    assert body["birth_record"]["father"] is None
    (decision,) = body["guardianship"]
    (expected,) = people.guardianships_of_child(people.guarded_child_iin)
    assert decision["guardian"]["iin"] == expected.guardian_iin
    assert decision["kind"] == expected.kind

    # The guardian's family: the ward in her care, with the same decision.
    guardian = await gw.family(expected.guardian_iin)
    (ward,) = guardian["children"]
    assert ward["relation"] == "ward" and ward["member"]["iin"] == people.guarded_child_iin
    assert ward["guardianship"][0]["number"] == expected.number

    # The deceased mother's own lookup: the person is flagged, her son is there.
    own = await gw.family(record.mother_iin)  # type: ignore[arg-type]
    assert own["person"]["death_date"] is not None
    assert iins([c["member"] for c in own["children"]]) == {people.guarded_child_iin}


async def test_an_adopted_child_shows_the_courts_decision(gw: Gateway, bus: Bus) -> None:
    people = bus.population
    (adoption,) = people.adoptions_of_child(people.adopted_child_iin)
    body = await gw.family(adoption.adoptive_parent_iins[0])
    child = next(c for c in body["children"] if c["member"]["iin"] == people.adopted_child_iin)
    (decision,) = child["adoptions"]
    assert decision["case_number"] == adoption.case_number
    assert iins(decision["adoptive_parents"]) == set(adoption.adoptive_parent_iins)
    others = [c for c in body["children"] if c["member"]["iin"] != people.adopted_child_iin]
    assert all(c["adoptions"] == [] for c in others)
    assert body["spouse"]["iin"] == adoption.adoptive_parent_iins[1]


async def test_a_single_mother_and_the_remarried_man(gw: Gateway, bus: Bus) -> None:
    people = bus.population
    record = people.birth_of_child(people.fatherless_child_iin)
    assert record is not None and record.mother_iin is not None
    mother = await gw.family(record.mother_iin)
    assert mother["spouse"] is None
    (dissolved,) = mother["marriages"]
    assert dissolved["dissolved"] is not None
    (child,) = mother["children"]
    assert child["birth_record"]["father"] is None

    man = await gw.family(people.remarried_iin)
    assert len(man["marriages"]) == 2
    current = next(m for m in people.marriages_of(people.remarried_iin) if m.dissolved is None)
    assert man["spouse"]["iin"] == current.wife_iin
    assert people.fatherless_child_iin not in iins([c["member"] for c in man["children"]])


async def test_registrations_temporary_and_kandas_without_permanent(gw: Gateway, bus: Bus) -> None:
    people = bus.population
    student = await gw.family(people.temporary_iin)
    kinds = {r["kind"]: r for r in student["registrations"]}
    assert set(kinds) == {"PERMANENT", "TEMPORARY"}
    assert kinds["TEMPORARY"]["registered_until"] is not None
    assert student["birth_record"] is None  # born before the electronic records began

    kandas = await gw.family(people.kandas_without_registration_iin)
    assert kandas["person"]["permanent_address"] is None
    (only,) = kandas["registrations"]
    assert only["kind"] == "TEMPORARY"
    # Born and married abroad: the RK civil registry has nothing, and that is no failure.
    assert kandas["children"] == [] and kandas["marriages"] == [] and kandas["missing"] == []

    deceased = await gw.get(f"/api/v1/registry/persons/{people.deceased_iin}")
    assert deceased.status_code == 200
    assert deceased.json()["death_date"] is not None


async def test_refusals_are_problems_naming_what_is_wrong(gw: Gateway, bus: Bus) -> None:
    for kind in ("persons", "families"):
        absent = await gw.get(f"/api/v1/registry/{kind}/{bus.population.absent_iin}")
        assert absent.status_code == 404
        assert absent.headers["content-type"] == "application/problem+json"

        invalid = await gw.get(f"/api/v1/registry/{kind}/900101300018")
        assert invalid.status_code == 422
        assert invalid.json()["errors"][0]["field"] == "iin"

        agency = await gw.get(f"/api/v1/registry/{kind}/{bus.population.deceased_iin}", "agency")
        assert agency.status_code == 403
    admin = await gw.get(f"/api/v1/registry/persons/{bus.population.deceased_iin}", "admin")
    assert admin.status_code == 403  # admin keys administer; they do not look people up


@pytest.mark.parametrize("error", [ShepUnavailable("ESRV002: down"), ShepCircuitOpen("open")])
async def test_individuals_registry_down_is_a_503_naming_it(
    gw: Gateway, bus: Bus, registry: ShepRegistryGateway, error: Exception
) -> None:
    gw.state.registry = Failing(registry, {"person"}, error)
    for kind in ("persons", "families"):
        response = await gw.get(f"/api/v1/registry/{kind}/{bus.population.deceased_iin}")
        assert response.status_code == 503, response.text
        assert response.headers["content-type"] == "application/problem+json"
        body = response.json()
        assert body["errors"] == [{"field": "registry", "reason": "individuals"}]
        assert "ГБД ФЛ" in body["detail"]


async def test_the_whole_bus_unreachable_is_a_503_not_a_500(gw: Gateway, bus: Bus) -> None:
    dead = ShepRegistryGateway(bus.channel("http://127.0.0.1:9/bip-sync-wss-gost/"))
    gw.state.registry = dead
    try:
        response = await gw.get(f"/api/v1/registry/families/{bus.population.deceased_iin}")
    finally:
        await dead.aclose()
    assert response.status_code == 503, response.text
    assert response.json()["errors"][0]["reason"] == "individuals"


async def test_civil_registry_down_gives_the_rest_and_says_what_is_missing(
    gw: Gateway, bus: Bus, registry: ShepRegistryGateway
) -> None:
    people = bus.population
    gw.state.registry = Failing(
        registry, {"marriages", "births", "birth_record"}, ShepUnavailable("ESRV002: down")
    )
    body = await gw.family(people.temporary_iin)
    assert [m["registry"] for m in body["missing"]] == ["civil_registry"]
    assert body["missing"][0]["reason"].startswith("unavailable")
    assert body["person"]["iin"] == people.temporary_iin
    assert body["children"] == [] and body["spouse"] is None
    assert {r["kind"] for r in body["registrations"]} == {"PERMANENT", "TEMPORARY"}


async def test_not_configured_is_a_503(gw: Gateway, bus: Bus) -> None:
    gw.state.registry = None
    response = await gw.get(f"/api/v1/registry/persons/{bus.population.deceased_iin}")
    assert response.status_code == 503
    assert "not configured" in response.json()["detail"]


async def test_every_lookup_is_in_the_access_log_with_its_caller(gw: Gateway, bus: Bus) -> None:
    people = bus.population
    await gw.get(f"/api/v1/registry/persons/{people.deceased_iin}")
    await gw.get(f"/api/v1/registry/families/{people.absent_iin}")
    await gw.get(f"/api/v1/registry/families/{people.deceased_iin}", "admin")
    await gw.get("/api/v1/registry/families/12345", "admin")  # refused before any lookup
    async with gw.engine.connect() as conn:
        rows = (await conn.execute(select(access_log.c.client_id, access_log.c.action))).all()
    ids = {who: await _client_id(gw, who) for who in ("centre", "admin")}
    assert sorted((r.client_id, r.action) for r in rows) == sorted(
        [
            (ids["centre"], "registry_person"),
            (ids["centre"], "registry_family"),
            (ids["admin"], "registry_family"),
        ]
    )


async def _client_id(gw: Gateway, who: str) -> str:
    caller = await gw.state.caller_for(gw.keys[who])
    assert caller is not None
    return caller.client_id
