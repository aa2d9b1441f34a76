"""The bus client's HTTP behaviour, with respx standing in for the network.

The answers are real: respx hands each request to the mock bus's ``SyncBus`` (no
server), so signatures and schemas are exercised while the test decides what the wire
does (a 503, a timeout, a forged answer).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

import httpx
import pytest
import respx
from lxml import etree

from adapters.shep import (
    IndividualsClient,
    ShepError,
    ShepSettings,
    ShepSignatureError,
    ShepUnavailable,
    SyncChannelClient,
    TrustStore,
)
from adapters.shep.dsig import RsaSigner, generate_rsa_credentials
from contracts.shep import codes
from mocks.population import Population, generate_population
from mocks.shep import BusConfig, SenderAccount, SyncBus
from mocks.shep.registries import IndividualsRegistry, RegistryFault
from mocks.shep.wsse import KeyPair

ADDRESS = "http://bus.test/bip-sync-wss-gost/"


@dataclass(frozen=True)
class Keys:
    bus: KeyPair
    forger: KeyPair
    client: RsaSigner


@pytest.fixture(scope="module")
def keys() -> Keys:
    return Keys(KeyPair.generate("bus"), KeyPair.generate("forger"), generate_rsa_credentials("gw"))


@pytest.fixture(scope="module")
def population() -> Population:
    return generate_population(42)


@pytest.fixture
def bus(keys: Keys, population: Population) -> SyncBus:
    account = SenderAccount("GW", "secret", (keys.client.certificate_der,))
    config = BusConfig(signer=keys.bus, senders={"GW": account})
    return SyncBus(config, {"individuals": IndividualsRegistry(population)})


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
async def channel(keys: Keys, sleeps: list[float]) -> AsyncIterator[SyncChannelClient]:
    async def no_sleep(seconds: float) -> None:
        sleeps.append(seconds)

    settings = ShepSettings(
        address=ADDRESS,
        sender_id="GW",
        password="secret",
        max_attempts=4,
        backoff_initial=0.1,
        backoff_max=1.0,
        breaker_failures=100,
    )
    trust = TrustStore([keys.bus.certificate_der])
    async with SyncChannelClient(settings, keys.client, trust, sleep=no_sleep) as client:
        yield client


def bus_answer(bus: SyncBus):  # type: ignore[no-untyped-def]
    def answer(request: httpx.Request) -> httpx.Response:
        reply = bus.handle(
            request.content,
            content_type=request.headers.get("content-type"),
            soap_action=request.headers.get("soapaction"),
        )
        return httpx.Response(reply.http_status, content=reply.body)

    return answer


def message_ids(calls: Sequence[respx.models.Call]) -> list[str]:
    return [
        etree.fromstring(call.request.content).findtext(".//requestInfo/messageId") or ""
        for call in calls
    ]


@respx.mock
async def test_a_503_then_an_answer_is_retried_and_recovers(
    bus: SyncBus, channel: SyncChannelClient, population: Population, sleeps: list[float]
) -> None:
    route = respx.post(ADDRESS).mock(side_effect=[httpx.Response(503), bus_answer(bus)])
    person = await IndividualsClient(channel).person_by_iin(population.temporary_iin)
    assert person is not None and person.iin == population.temporary_iin
    assert route.call_count == 2
    assert len(sleeps) == 1
    ids = message_ids(route.calls)
    assert ids[0] == ids[1], "a retry must carry the same messageId"


@respx.mock
async def test_timeouts_are_retried_until_the_attempts_run_out(
    channel: SyncChannelClient, population: Population, sleeps: list[float]
) -> None:
    route = respx.post(ADDRESS).mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(ShepUnavailable, match="ReadTimeout"):
        await IndividualsClient(channel).person_by_iin(population.temporary_iin)
    assert route.call_count == 4
    assert len(sleeps) == 3
    assert all(0 < s <= 1.0 + 0.1 for s in sleeps)


@respx.mock
async def test_a_client_error_is_not_retried(
    channel: SyncChannelClient, population: Population
) -> None:
    route = respx.post(ADDRESS).mock(return_value=httpx.Response(404, text="no such path"))
    with pytest.raises(ShepError) as caught:
        await IndividualsClient(channel).person_by_iin(population.temporary_iin)
    assert not isinstance(caught.value, ShepUnavailable)
    assert route.call_count == 1


@respx.mock
async def test_a_transient_registry_fault_is_retried(
    bus: SyncBus, channel: SyncChannelClient, population: Population
) -> None:
    real = bus.registries["individuals"]
    calls = 0

    class Flaky:
        def handle(self, data: Sequence[etree._Element]) -> list[etree._Element]:
            nonlocal calls
            calls += 1
            if calls == 1:
                raise RegistryFault(codes.SERVICE_UNAVAILABLE, "registry timed out")
            return real.handle(data)

    bus.registries = {"individuals": Flaky()}
    respx.post(ADDRESS).mock(side_effect=bus_answer(bus))
    person = await IndividualsClient(channel).person_by_iin(population.deceased_iin)
    assert person is not None and person.deceased
    assert calls == 2


@respx.mock
async def test_an_answer_signed_by_someone_else_is_refused(
    bus: SyncBus,
    keys: Keys,
    channel: SyncChannelClient,
    population: Population,
) -> None:
    forged = SyncBus(BusConfig(signer=keys.forger, senders=bus.config.senders), bus.registries)
    route = respx.post(ADDRESS).mock(side_effect=bus_answer(forged))
    with pytest.raises(ShepSignatureError, match="not trusted"):
        await IndividualsClient(channel).person_by_iin(population.deceased_iin)
    assert route.call_count == 1, "a forged answer is not retried"


@respx.mock
async def test_a_payload_that_breaks_the_contract_is_refused(
    bus: SyncBus, channel: SyncChannelClient, population: Population
) -> None:
    class Sloppy:
        def handle(self, data: Sequence[etree._Element]) -> list[etree._Element]:
            answer = IndividualsRegistry(population).handle(data)
            answer[0].find("{*}sex").text = "UNKNOWN"
            return answer

    bus.registries = {"individuals": Sloppy()}
    respx.post(ADDRESS).mock(side_effect=bus_answer(bus))
    with pytest.raises(ShepError, match="breaks the contract"):
        await IndividualsClient(channel).person_by_iin(population.deceased_iin)


async def test_a_malformed_iin_is_refused_before_sending(channel: SyncChannelClient) -> None:
    with respx.mock(assert_all_called=False) as mock:
        route = mock.post(ADDRESS)
        with pytest.raises(ValueError):
            await IndividualsClient(channel).person_by_iin("900101300018")
        assert route.call_count == 0
