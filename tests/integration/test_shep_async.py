"""The AsyncChannel client against the mock bus's asynchronous channel over real HTTP.

A REQUEST goes to the individuals registry, its RESPONSE is queued, collected and
confirmed; the delivery states and the typed errors follow the contract.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, replace
from datetime import timedelta

import pytest
from fastapi import FastAPI
from lxml import etree

from adapters.shep import (
    RsaSigner,
    ShepAuthError,
    ShepError,
    ShepNotFound,
    ShepSettings,
    TrustStore,
    generate_rsa_credentials,
)
from adapters.shep.async_channel import AsyncChannelClient, DeliveryState
from contracts.shep import GBDFL_NS, codes, service_by_key
from mocks.admin import MockAdmin
from mocks.population import Population, generate_population
from mocks.shep import BusConfig, Journal, SenderAccount, create_app
from mocks.shep.async_bus import ASYNC_PATH, AsyncBus, install_async_channel
from mocks.shep.registries import registries_for
from mocks.shep.server import RunningServer, serve_in_thread
from mocks.shep.wsse import KeyPair

pytestmark = pytest.mark.integration

INDIVIDUALS = service_by_key("individuals").service_id


@dataclass(frozen=True)
class Bus:
    server: RunningServer
    population: Population
    bus_key: KeyPair
    client_key: RsaSigner

    @property
    def address(self) -> str:
        return self.server.base_url + ASYNC_PATH

    def client(self, signer: RsaSigner | None = None, **changes: object) -> AsyncChannelClient:
        settings = ShepSettings(
            address=self.address,
            sender_id="GW",
            password="secret",
            deadline=5.0,
            backoff_initial=0.02,
            backoff_max=0.1,
        )
        return AsyncChannelClient(
            replace(settings, **changes),  # type: ignore[arg-type]
            signer or self.client_key,
            TrustStore([self.bus_key.certificate_der]),
        )


@pytest.fixture(scope="module")
def keys() -> tuple[KeyPair, RsaSigner]:
    return KeyPair.generate("bus"), generate_rsa_credentials("gateway")


@pytest.fixture(scope="module")
def population() -> Population:
    return generate_population(42)


def _config(keys: tuple[KeyPair, RsaSigner]) -> BusConfig:
    bus_key, client_key = keys
    account = SenderAccount("GW", "secret", (client_key.certificate_der,))
    return BusConfig(signer=bus_key, senders={"GW": account})


@pytest.fixture(scope="module")
def bus(keys: tuple[KeyPair, RsaSigner], population: Population) -> Iterator[Bus]:
    """The whole mock bus app, as developers run it: both channels on one server."""
    app = create_app(population, _config(keys), journal=Journal())
    with serve_in_thread(app) as server:
        yield Bus(server, population, *keys)


@pytest.fixture(scope="module")
def slow_bus(keys: tuple[KeyPair, RsaSigner], population: Population) -> Iterator[Bus]:
    """Only the async channel, with registries that take 0.3 s to answer."""
    config = _config(keys)
    admin = MockAdmin(journal=Journal())
    async_bus = AsyncBus(
        config,
        registries_for(population),
        clock=admin.clock,
        response_delay=timedelta(seconds=0.3),
    )
    app = FastAPI()
    install_async_channel(app, async_bus, admin)
    with serve_in_thread(app) as server:
        yield Bus(server, population, *keys)


@pytest.fixture
async def client(bus: Bus) -> AsyncIterator[AsyncChannelClient]:
    async with bus.client() as client:
        yield client


def person_request(iin: str) -> etree._Element:
    payload = etree.Element(f"{{{GBDFL_NS}}}PersonRequest", nsmap={"fl": GBDFL_NS})
    etree.SubElement(payload, f"{{{GBDFL_NS}}}iin").text = iin
    return payload


async def test_a_request_gets_its_response_by_correlation(
    bus: Bus, client: AsyncChannelClient
) -> None:
    expected = bus.population.families[0].members[0]
    message_id = await client.send_request(INDIVIDUALS, person_request(expected.iin))
    (response,) = await client.fetch_responses(correlation_id=message_id)
    assert response.correlation_id == message_id
    assert response.message_type == "RESPONSE"
    assert response.service_id == INDIVIDUALS
    assert response.status_code == codes.SUCCESS
    (person,) = response.data
    assert person.tag == f"{{{GBDFL_NS}}}PersonResponse"
    assert person.findtext(f"{{{GBDFL_NS}}}iin") == expected.iin
    assert person.findtext(f"{{{GBDFL_NS}}}lastName") == expected.last_name
    await client.confirm([response.message_id])


async def test_states_go_from_on_delivery_to_delivered_on_confirmation(
    bus: Bus, client: AsyncChannelClient
) -> None:
    iin = bus.population.people[1].iin
    request_id = await client.send_request(INDIVIDUALS, person_request(iin))
    (response,) = await client.fetch_responses(correlation_id=request_id)
    states = await client.status([request_id, response.message_id, "no-such-message"])
    assert set(states) == {request_id, response.message_id}, "unknown ids are left out"
    assert states[request_id].message_type == "REQUEST"
    assert states[request_id].state == DeliveryState.DELIVERED  # the registry took it
    assert states[response.message_id].state == DeliveryState.ON_DELIVERY

    confirmed = await client.confirm([response.message_id])
    assert confirmed[response.message_id].state == DeliveryState.DELIVERED
    after = await client.status([response.message_id])
    assert after[response.message_id].state == DeliveryState.DELIVERED


async def test_confirmed_responses_are_no_longer_offered(
    bus: Bus, client: AsyncChannelClient
) -> None:
    ids = [
        await client.send_request(INDIVIDUALS, person_request(p.iin))
        for p in bus.population.people[2:5]
    ]
    waiting = await client.fetch_responses(100)
    ours = [m for m in waiting if m.correlation_id in ids]
    assert {m.correlation_id for m in ours} == set(ids)
    # Not confirmed yet: offered again (at-least-once).
    again = {m.message_id for m in await client.fetch_responses(100)}
    assert {m.message_id for m in ours} <= again

    await client.confirm([ours[0].message_id])
    left = {m.message_id for m in await client.fetch_responses(100)}
    assert ours[0].message_id not in left
    assert {m.message_id for m in ours[1:]} <= left
    assert len(await client.fetch_responses(1)) == 1, "maxCount is honoured"
    await client.confirm(m.message_id for m in ours[1:])
    left = {m.message_id for m in await client.fetch_responses(100)}
    assert not left & {m.message_id for m in ours}


async def test_request_and_wait_returns_the_confirmed_response(
    bus: Bus, client: AsyncChannelClient
) -> None:
    iin = bus.population.people[6].iin
    response = await client.request_and_wait(INDIVIDUALS, person_request(iin), deadline=5)
    assert response.data[0].findtext(f"{{{GBDFL_NS}}}iin") == iin
    states = await client.status([response.message_id])
    assert states[response.message_id].state == DeliveryState.DELIVERED


async def test_request_and_wait_polls_until_a_slow_registry_answers(slow_bus: Bus) -> None:
    async with slow_bus.client() as client:
        iin = slow_bus.population.people[7].iin
        request_id = await client.send_request(INDIVIDUALS, person_request(iin))
        assert await client.fetch_responses(correlation_id=request_id) == []
        assert (await client.status([request_id]))[request_id].state == DeliveryState.ON_DELIVERY
        response = await client.request_and_wait(INDIVIDUALS, person_request(iin), deadline=5)
        assert response.data[0].findtext(f"{{{GBDFL_NS}}}iin") == iin


async def test_request_and_wait_gives_up_at_its_deadline(slow_bus: Bus) -> None:
    async with slow_bus.client() as client:
        iin = slow_bus.population.people[8].iin
        with pytest.raises(ShepError, match="deadline"):
            await client.request_and_wait(INDIVIDUALS, person_request(iin), deadline=0.1)


async def test_a_registry_refusal_arrives_as_a_response(
    bus: Bus, client: AsyncChannelClient
) -> None:
    with pytest.raises(ShepNotFound):
        await client.request_and_wait(INDIVIDUALS, person_request(bus.population.absent_iin))


async def test_bad_sender_is_refused(bus: Bus) -> None:
    async with bus.client(password="wrong") as client:
        with pytest.raises(ShepAuthError) as caught:
            await client.send_request(INDIVIDUALS, person_request(bus.population.people[0].iin))
        assert caught.value.code == codes.SENDER_UNKNOWN
        with pytest.raises(ShepAuthError):
            await client.fetch_responses()
    async with bus.client(signer=generate_rsa_credentials("impostor")) as client:
        with pytest.raises(ShepAuthError) as caught:
            await client.status(["anything"])
        assert caught.value.code == codes.SIGNATURE_INVALID


async def test_unknown_service_is_refused(bus: Bus, client: AsyncChannelClient) -> None:
    with pytest.raises(ShepError) as caught:
        await client.send_request("NO_SUCH_SERVICE", person_request(bus.population.people[0].iin))
    assert caught.value.code == codes.SERVICE_UNKNOWN


async def test_another_sender_does_not_see_our_messages(
    keys: tuple[KeyPair, RsaSigner], population: Population
) -> None:
    bus_key, client_key = keys
    other_key = generate_rsa_credentials("other")
    config = BusConfig(
        signer=bus_key,
        senders={
            "GW": SenderAccount("GW", "secret", (client_key.certificate_der,)),
            "OTHER": SenderAccount("OTHER", "pw", (other_key.certificate_der,)),
        },
    )
    with serve_in_thread(create_app(population, config, journal=Journal())) as server:
        bus = Bus(server, population, bus_key, client_key)
        async with (
            bus.client() as ours,
            bus.client(other_key, sender_id="OTHER", password="pw") as theirs,
        ):
            request_id = await ours.send_request(
                INDIVIDUALS, person_request(population.people[0].iin)
            )
            assert await theirs.fetch_responses() == []
            assert await theirs.status([request_id]) == {}
            assert len(await ours.fetch_responses(correlation_id=request_id)) == 1
