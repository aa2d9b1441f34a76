"""The bus client against the mock bus over real HTTP (uvicorn in a thread).

Needs nothing but the loopback interface; marked ``integration`` because it runs a
server and sockets and measures wall-clock time.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, replace

import httpx
import pytest
import zeep
from lxml import etree

from adapters.shep import (
    IndividualsClient,
    ShepAuthError,
    ShepCircuitOpen,
    ShepError,
    ShepSettings,
    ShepUnavailable,
    SyncChannelClient,
    TrustStore,
)
from adapters.shep.dsig import RsaSigner, generate_rsa_credentials
from contracts.shep import GBDFL_NS, codes
from mocks.population import Population, generate_population
from mocks.shep import BusConfig, Journal, SenderAccount, create_app
from mocks.shep.server import RunningServer, serve_in_thread
from mocks.shep.wsse import KeyPair

pytestmark = pytest.mark.integration

PATH = "/bip-sync-wss-gost/"


@dataclass(frozen=True)
class Bus:
    server: RunningServer
    population: Population
    bus_key: KeyPair
    client_key: RsaSigner
    config: BusConfig
    journal: Journal

    @property
    def address(self) -> str:
        return self.server.base_url + PATH

    def settings(self, **changes: object) -> ShepSettings:
        base = ShepSettings(
            address=self.address,
            sender_id="GW",
            password="secret",
            deadline=5.0,
            backoff_initial=0.05,
            backoff_max=0.2,
        )
        return replace(base, **changes)  # type: ignore[arg-type]

    def channel(self, signer: RsaSigner | None = None, **changes: object) -> SyncChannelClient:
        return SyncChannelClient(
            self.settings(**changes),
            signer or self.client_key,
            TrustStore([self.bus_key.certificate_der]),
        )


@pytest.fixture(scope="module")
def bus() -> Iterator[Bus]:
    bus_key, client_key = KeyPair.generate("bus"), generate_rsa_credentials("gateway")
    account = SenderAccount("GW", "secret", (client_key.certificate_der,))
    config = BusConfig(signer=bus_key, senders={"GW": account})
    population = generate_population(42)
    journal = Journal()
    with serve_in_thread(create_app(population, config, journal=journal)) as server:
        yield Bus(server, population, bus_key, client_key, config, journal)


@pytest.fixture
async def individuals(bus: Bus) -> AsyncIterator[IndividualsClient]:
    async with bus.channel() as channel:
        yield IndividualsClient(channel)


from tests.e2e.system import free_port  # noqa: E402  (below the ephemeral range)


async def test_a_person_is_found_with_documents_and_registration(
    bus: Bus, individuals: IndividualsClient
) -> None:
    expected = bus.population.families[0].members[0]
    person = await individuals.person_by_iin(expected.iin)
    assert person is not None
    assert (person.last_name, person.first_name, person.middle_name) == (
        expected.last_name,
        expected.first_name,
        expected.middle_name,
    )
    assert person.birth_date == expected.birth_date
    assert person.sex == expected.sex
    assert person.identity_document.number == expected.document.number
    assert person.permanent_address is not None and expected.permanent_address is not None
    assert person.permanent_address.street == expected.permanent_address.street
    assert person.temporary_address is None
    assert not person.deceased


async def test_a_valid_iin_nobody_holds_gives_none(
    bus: Bus, individuals: IndividualsClient
) -> None:
    assert await individuals.person_by_iin(bus.population.absent_iin) is None


async def test_a_deceased_person_is_flagged(bus: Bus, individuals: IndividualsClient) -> None:
    person = await individuals.person_by_iin(bus.population.deceased_iin)
    assert person is not None and person.deceased
    assert person.death_date == bus.population.find(bus.population.deceased_iin).death_date  # type: ignore[union-attr]


async def test_a_temporary_registration_comes_through(
    bus: Bus, individuals: IndividualsClient
) -> None:
    person = await individuals.person_by_iin(bus.population.temporary_iin)
    assert person is not None and person.temporary_address is not None
    assert person.temporary_address.registered_until is not None


@pytest.mark.parametrize("sender_id, password", [("GW", "wrong"), ("STRANGER", "secret")])
async def test_a_bad_sender_is_refused(bus: Bus, sender_id: str, password: str) -> None:
    async with bus.channel(sender_id=sender_id, password=password) as channel:
        with pytest.raises(ShepAuthError) as caught:
            await IndividualsClient(channel).person_by_iin(bus.population.deceased_iin)
    assert caught.value.code == codes.SENDER_UNKNOWN


async def test_a_signature_by_another_key_is_refused(bus: Bus) -> None:
    async with bus.channel(signer=generate_rsa_credentials("impostor")) as channel:
        with pytest.raises(ShepAuthError) as caught:
            await IndividualsClient(channel).person_by_iin(bus.population.deceased_iin)
    assert caught.value.code == codes.SIGNATURE_INVALID


async def test_an_unknown_service_is_an_error_not_retried(bus: Bus) -> None:
    payload = etree.Element(f"{{{GBDFL_NS}}}PersonRequest")
    etree.SubElement(payload, f"{{{GBDFL_NS}}}iin").text = bus.population.deceased_iin
    before = len(bus.journal.entries())
    async with bus.channel() as channel:
        with pytest.raises(ShepError) as caught:
            await channel.send("NO_SUCH_SERVICE", payload)
    assert caught.value.code == codes.SERVICE_UNKNOWN
    assert not isinstance(caught.value, ShepUnavailable)
    assert len(bus.journal.entries()) == before + 1


def test_the_wsdl_is_served_with_the_mock_address(bus: Bus) -> None:
    client = zeep.Client(bus.address + "?wsdl")  # type: ignore[no-untyped-call]
    assert client.service._binding_options["address"] == bus.address


async def test_the_journal_lists_the_calls(bus: Bus, individuals: IndividualsClient) -> None:
    await individuals.person_by_iin(bus.population.absent_iin)
    async with httpx.AsyncClient() as http:
        journal = (await http.get(bus.server.base_url + "/__admin/requests")).json()
    last = journal["requests"][-1]
    assert last["status_code"] == codes.NOT_FOUND
    assert last["service_id"] == "GBDFL_UniversalServiceSync"
    assert last["sender_id"] == "GW"


async def test_a_bus_that_is_down_fails_within_the_deadline(bus: Bus) -> None:
    retries = 0
    settings = bus.settings(
        address=f"http://127.0.0.1:{free_port()}{PATH}",
        deadline=1.0,
        max_attempts=100,
        backoff_initial=0.05,
        backoff_max=0.3,
    )

    async def counting_sleep(seconds: float) -> None:
        nonlocal retries
        retries += 1
        await asyncio.sleep(seconds)

    channel = SyncChannelClient(
        settings, bus.client_key, TrustStore([bus.bus_key.certificate_der]), sleep=counting_sleep
    )
    async with channel:
        started = time.monotonic()
        with pytest.raises(ShepUnavailable):
            await IndividualsClient(channel).person_by_iin(bus.population.deceased_iin)
        elapsed = time.monotonic() - started
    assert retries >= 3, "connection refused is transient and must be retried"
    assert elapsed < 1.0 + 0.25, f"took {elapsed:.2f}s against a 1.0s deadline"


@pytest.fixture
def black_hole() -> Iterator[int]:
    """A port that accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    listener.close()


async def test_a_silent_bus_is_cut_off_at_the_deadline(bus: Bus, black_hole: int) -> None:
    async with bus.channel(
        address=f"http://127.0.0.1:{black_hole}{PATH}", deadline=0.5, read_timeout=30.0
    ) as channel:
        started = time.monotonic()
        with pytest.raises(ShepUnavailable, match="deadline"):
            await IndividualsClient(channel).person_by_iin(bus.population.deceased_iin)
        elapsed = time.monotonic() - started
    assert 0.45 < elapsed < 0.5 + 0.25


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_the_breaker_opens_and_half_opens_after_the_cool_down(bus: Bus) -> None:
    clock = FakeClock()
    port = free_port()
    settings = bus.settings(
        address=f"http://127.0.0.1:{port}{PATH}",
        max_attempts=1,
        breaker_failures=2,
        breaker_cool_down=30.0,
    )
    channel = SyncChannelClient(
        settings, bus.client_key, TrustStore([bus.bus_key.certificate_der]), monotonic=clock
    )
    async with channel:
        client = IndividualsClient(channel)
        breaker = channel.breakers.get(client.service.service_id)
        for _ in range(2):
            with pytest.raises(ShepUnavailable) as caught:
                await client.person_by_iin(bus.population.deceased_iin)
            assert not isinstance(caught.value, ShepCircuitOpen)
        assert str(breaker.state) == "open"

        # The bus comes back, but the breaker does not know until the cool-down ends.
        with serve_in_thread(create_app(bus.population, bus.config), port=port):
            with pytest.raises(ShepCircuitOpen):
                await client.person_by_iin(bus.population.deceased_iin)
            clock.now += 30.0
            assert str(breaker.state) == "half_open"
            person = await client.person_by_iin(bus.population.deceased_iin)
            assert person is not None
            assert str(breaker.state) == "closed"
