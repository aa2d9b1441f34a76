"""The adapter checks what it receives: whose answer it is, how old, and what it holds.

respx hands each request to the mock bus in-process (``SyncBus``, ``AsyncBus``), so
every answer is genuinely signed; the test then decides what comes back: a fresh
answer, an earlier one replayed, one stamped long ago, one with a DOCTYPE.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import respx
from lxml import etree

from adapters.shep import (
    IndividualsClient,
    RsaSigner,
    ShepError,
    ShepSettings,
    ShepSignatureError,
    ShepUnexpectedReply,
    SyncChannelClient,
    TrustStore,
    generate_rsa_credentials,
)
from adapters.shep.async_channel import AsyncChannelClient
from contracts.clock import ManualClock
from contracts.shep import GBDFL_NS
from mocks.population import Population, generate_population
from mocks.shep import BusConfig, SenderAccount, SyncBus
from mocks.shep.async_bus import AsyncBus
from mocks.shep.bus import BusReply
from mocks.shep.registries import registries_for
from mocks.shep.wsse import KeyPair

SYNC = "http://bus.test/bip-sync-wss-gost/"
ASYNC = "http://bus.test/bip-async-wss-gost/"
SERVICE = "GBDFL_UniversalServiceSync"


@dataclass(frozen=True)
class Keys:
    bus: KeyPair
    client: RsaSigner


@pytest.fixture(scope="module")
def keys() -> Keys:
    return Keys(KeyPair.generate("bus"), generate_rsa_credentials("gw"))


@pytest.fixture(scope="module")
def population() -> Population:
    return generate_population(42)


def config(keys: Keys, *, timestamp_window: float = 300.0) -> BusConfig:
    account = SenderAccount("GW", "secret", (keys.client.certificate_der,))
    return BusConfig(signer=keys.bus, senders={"GW": account}, timestamp_window=timestamp_window)


def settings(address: str) -> ShepSettings:
    return ShepSettings(address=address, sender_id="GW", password="secret", max_attempts=3)


def over_http(handle: Callable[..., BusReply]) -> Callable[[httpx.Request], httpx.Response]:
    def answer(request: httpx.Request) -> httpx.Response:
        reply = handle(
            request.content,
            content_type=request.headers.get("content-type"),
            soap_action=request.headers.get("soapaction"),
        )
        return httpx.Response(reply.http_status, content=reply.body)

    return answer


async def no_sleep(seconds: float) -> None:
    return None


@pytest.fixture
async def channel(keys: Keys) -> AsyncIterator[SyncChannelClient]:
    trust = TrustStore([keys.bus.certificate_der])
    async with SyncChannelClient(settings(SYNC), keys.client, trust, sleep=no_sleep) as client:
        yield client


@respx.mock
async def test_an_earlier_answer_replayed_is_refused_and_not_retried(
    keys: Keys, population: Population, channel: SyncChannelClient
) -> None:
    bus = SyncBus(config(keys), registries_for(population))
    first: list[httpx.Response] = []

    def replay(request: httpx.Request) -> httpx.Response:
        if not first:
            first.append(over_http(bus.handle)(request))
        return first[0]

    route = respx.post(SYNC).mock(side_effect=replay)
    client = IndividualsClient(channel)
    iin = population.people[0].iin
    assert await client.person_by_iin(iin) is not None
    with pytest.raises(ShepUnexpectedReply, match="correlationId"):
        await client.person_by_iin(iin)  # the same question: only the correlation differs
    assert route.call_count == 2, "a replay is refused, not retried"


@respx.mock
async def test_an_answer_stamped_long_ago_is_refused_as_stale(
    keys: Keys, population: Population, channel: SyncChannelClient
) -> None:
    """A bus whose clock is an hour behind (and lenient about ours): its answers are stale."""
    late = ManualClock(datetime.now(UTC) - timedelta(hours=1))
    bus = SyncBus(config(keys, timestamp_window=7200), registries_for(population), wall_clock=late)
    route = respx.post(SYNC).mock(side_effect=over_http(bus.handle))
    with pytest.raises(ShepSignatureError, match="stale"):
        await IndividualsClient(channel).person_by_iin(population.people[0].iin)
    assert route.call_count == 1


@respx.mock
async def test_an_answer_with_a_doctype_is_refused(
    keys: Keys, population: Population, channel: SyncChannelClient
) -> None:
    bus = SyncBus(config(keys), registries_for(population))
    answer = over_http(bus.handle)

    def with_doctype(request: httpx.Request) -> httpx.Response:
        body = answer(request).content
        declaration, rest = body.split(b"\n", 1)
        return httpx.Response(200, content=declaration + b"\n<!DOCTYPE Envelope>\n" + rest)

    route = respx.post(SYNC).mock(side_effect=with_doctype)
    with pytest.raises(ShepError, match="DOCTYPE"):
        await IndividualsClient(channel).person_by_iin(population.people[0].iin)
    assert route.call_count == 1


@respx.mock
async def test_an_answer_whose_timestamp_was_stripped_is_refused(
    keys: Keys, population: Population, channel: SyncChannelClient
) -> None:
    bus = SyncBus(config(keys), registries_for(population))
    answer = over_http(bus.handle)

    def stripped(request: httpx.Request) -> httpx.Response:
        body = answer(request).content
        start, end = body.index(b"<wsu:Timestamp"), body.index(b"</wsu:Timestamp>")
        return httpx.Response(200, content=body[:start] + body[end + len(b"</wsu:Timestamp>") :])

    respx.post(SYNC).mock(side_effect=stripped)
    with pytest.raises(ShepSignatureError, match="Timestamp"):
        await IndividualsClient(channel).person_by_iin(population.people[0].iin)


def person_request(iin: str) -> etree._Element:
    payload = etree.Element(f"{{{GBDFL_NS}}}PersonRequest")
    etree.SubElement(payload, f"{{{GBDFL_NS}}}iin").text = iin
    return payload


@respx.mock
async def test_the_async_channel_refuses_responses_to_another_request(
    keys: Keys, population: Population
) -> None:
    """getMessages answered with the queue of an earlier poll, for another request."""
    bus = AsyncBus(config(keys), registries_for(population))
    answer = over_http(bus.handle)
    polls: list[httpx.Response] = []

    def replay_first_poll(request: httpx.Request) -> httpx.Response:
        if b"getMessages" not in request.headers.get("soapaction", "").encode():
            return answer(request)
        if not polls:
            polls.append(answer(request))
        return polls[0]

    respx.post(ASYNC).mock(side_effect=replay_first_poll)
    trust = TrustStore([keys.bus.certificate_der])
    async with AsyncChannelClient(settings(ASYNC), keys.client, trust, sleep=no_sleep) as client:
        first = await client.send_request(SERVICE, person_request(population.people[0].iin))
        responses = await client.fetch_responses(correlation_id=first)
        assert [m.correlation_id for m in responses] == [first]
        second = await client.send_request(SERVICE, person_request(population.people[1].iin))
        with pytest.raises(ShepUnexpectedReply, match="got one to"):
            await client.fetch_responses(correlation_id=second)


@respx.mock
async def test_the_async_channel_refuses_an_acknowledgement_of_another_message(
    keys: Keys, population: Population
) -> None:
    bus = AsyncBus(config(keys), registries_for(population))
    answer = over_http(bus.handle)
    acks: list[httpx.Response] = []

    def replay_first_ack(request: httpx.Request) -> httpx.Response:
        if not acks:
            acks.append(answer(request))
        return acks[0]

    respx.post(ASYNC).mock(side_effect=replay_first_ack)
    trust = TrustStore([keys.bus.certificate_der])
    async with AsyncChannelClient(settings(ASYNC), keys.client, trust, sleep=no_sleep) as client:
        payload = person_request(population.people[0].iin)
        await client.send_request(SERVICE, payload)
        with pytest.raises(ShepUnexpectedReply, match="acknowledged"):
            await client.send_request(SERVICE, payload)
