"""Each fault the mock bus's admin API injects, as the bus client experiences it.

The issue's acceptance: for each fault kind, the adapter's documented behaviour
(retried and recovered, a typed error, or the breaker open then half-open) and the
journal showing the calls. The bus runs in-process under uvicorn; faults go in over
HTTP exactly as a developer would send them with curl.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from adapters.shep import (
    IndividualsClient,
    ShepAuthError,
    ShepCircuitOpen,
    ShepError,
    ShepSettings,
    ShepUnavailable,
    ShepUnexpectedReply,
    SyncChannelClient,
    TrustStore,
)
from adapters.shep.dsig import RsaSigner, generate_rsa_credentials
from contracts.shep import codes
from mocks.population import Population, generate_population
from mocks.shep import BusConfig, SenderAccount, create_app
from mocks.shep.server import RunningServer, serve_in_thread
from mocks.shep.wsse import KeyPair

pytestmark = pytest.mark.integration

PATH = "/bip-sync-wss-gost/"
SERVICE = "GBDFL_UniversalServiceSync"


@dataclass(frozen=True)
class Bus:
    server: RunningServer
    population: Population
    bus_key: KeyPair
    client_key: RsaSigner

    @property
    def iin(self) -> str:
        return self.population.deceased_iin

    def settings(self, **changes: Any) -> ShepSettings:
        base = ShepSettings(
            address=self.server.base_url + PATH,
            sender_id="GW",
            password="secret",
            deadline=5.0,
            max_attempts=4,
            backoff_initial=0.02,
            backoff_max=0.05,
        )
        return replace(base, **changes)

    def channel(self, **changes: Any) -> SyncChannelClient:
        monotonic = changes.pop("monotonic", None)
        return SyncChannelClient(
            self.settings(**changes),
            self.client_key,
            TrustStore([self.bus_key.certificate_der]),
            monotonic=monotonic,
        )


@pytest.fixture(scope="module")
def bus() -> Iterator[Bus]:
    bus_key, client_key = KeyPair.generate("bus"), generate_rsa_credentials("gateway")
    config = BusConfig(
        signer=bus_key, senders={"GW": SenderAccount("GW", "secret", (client_key.certificate_der,))}
    )
    population = generate_population(42)
    with serve_in_thread(create_app(population, config)) as server:
        yield Bus(server, population, bus_key, client_key)


@pytest.fixture
async def admin(bus: Bus) -> AsyncIterator[httpx.AsyncClient]:
    """The admin API, with the bus reset before and after each test."""
    async with httpx.AsyncClient(base_url=bus.server.base_url + "/__admin") as http:
        (await http.post("/reset")).raise_for_status()
        yield http
        (await http.post("/reset")).raise_for_status()


async def inject(admin: httpx.AsyncClient, **spec: Any) -> dict[str, Any]:
    response = await admin.post("/faults", json={"service": SERVICE, **spec})
    assert response.status_code == 201, response.text
    rule: dict[str, Any] = response.json()
    return rule


async def calls(admin: httpx.AsyncClient, **query: str) -> list[dict[str, Any]]:
    response = await admin.get("/requests", params={"service": SERVICE, **query})
    response.raise_for_status()
    requests: list[dict[str, Any]] = response.json()["requests"]
    return requests


async def count(admin: httpx.AsyncClient, **query: str) -> int:
    response = await admin.get("/requests/count", params={"service": SERVICE, **query})
    response.raise_for_status()
    number: int = response.json()["count"]
    return number


# --- delay -------------------------------------------------------------------------


async def test_a_delay_under_the_deadline_only_slows_the_answer(
    bus: Bus, admin: httpx.AsyncClient
) -> None:
    rule = await inject(admin, kind="delay", delay_ms=300)
    async with bus.channel(deadline=3.0) as channel:
        started = time.monotonic()
        person = await IndividualsClient(channel).person_by_iin(bus.iin)
        elapsed = time.monotonic() - started
    assert person is not None
    assert 0.3 <= elapsed < 3.0
    (call,) = await calls(admin)
    assert call["fault"] == f"delay#{rule['id']}"
    assert call["status_code"] == codes.SUCCESS


async def test_a_delay_over_the_deadline_is_unavailable_within_the_deadline(
    bus: Bus, admin: httpx.AsyncClient
) -> None:
    await inject(admin, kind="delay", delay_ms=1500)
    async with bus.channel(deadline=0.5, read_timeout=30.0) as channel:
        started = time.monotonic()
        with pytest.raises(ShepUnavailable, match="deadline"):
            await IndividualsClient(channel).person_by_iin(bus.iin)
        elapsed = time.monotonic() - started
    assert elapsed < 0.5 + 0.25, f"took {elapsed:.2f}s against a 0.5s deadline"
    # The bus journals the call once its delay is over, though nobody listens any more.
    for _ in range(60):
        if await count(admin, fault="delay"):
            break
        await asyncio.sleep(0.05)
    assert await count(admin) == 1


# --- soap_fault --------------------------------------------------------------------


async def test_a_transient_soap_fault_is_retried_and_recovers(
    bus: Bus, admin: httpx.AsyncClient
) -> None:
    rule = await inject(admin, kind="soap_fault", code=codes.SERVICE_UNAVAILABLE, times=1)
    async with bus.channel() as channel:
        assert await IndividualsClient(channel).person_by_iin(bus.iin) is not None
    first, second = await calls(admin)
    assert (first["status_code"], first["http_status"]) == (codes.SERVICE_UNAVAILABLE, 500)
    assert first["fault"] == f"soap_fault#{rule['id']}"
    assert "soap-env:Server" in first["response"], "ESRV002 says the request may be repeated"
    assert (second["status_code"], second["fault"]) == (codes.SUCCESS, None)
    assert first["message_id"] == second["message_id"], "a retry repeats the messageId"
    listed = (await admin.get(f"/faults/{rule['id']}")).json()
    assert (listed["active"], listed["remaining"], listed["fired"]) == (False, 0, 1)


@pytest.mark.parametrize(
    "code, error",
    [(codes.INVALID_DATA, ShepError), (codes.SIGNATURE_INVALID, ShepAuthError)],
)
async def test_a_permanent_soap_fault_is_a_typed_error_not_retried(
    bus: Bus, admin: httpx.AsyncClient, code: str, error: type[ShepError]
) -> None:
    await inject(admin, kind="soap_fault", code=code, message="refused by the test")
    async with bus.channel() as channel:
        with pytest.raises(error) as caught:
            await IndividualsClient(channel).person_by_iin(bus.iin)
    assert type(caught.value) is error
    assert caught.value.code == code
    assert await count(admin) == 1


async def test_a_not_found_soap_fault_reads_as_no_such_person(
    bus: Bus, admin: httpx.AsyncClient
) -> None:
    await inject(admin, kind="soap_fault", code=codes.NOT_FOUND)
    async with bus.channel() as channel:
        assert await IndividualsClient(channel).person_by_iin(bus.iin) is None
    assert await count(admin) == 1


# --- http_error and the breaker ----------------------------------------------------


async def test_http_503_twice_is_retried_and_recovers(bus: Bus, admin: httpx.AsyncClient) -> None:
    await inject(admin, kind="http_error", status=503, body="maintenance", times=2)
    async with bus.channel() as channel:
        assert await IndividualsClient(channel).person_by_iin(bus.iin) is not None
    assert [c["http_status"] for c in await calls(admin)] == [503, 503, 200]


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_http_500_always_exhausts_the_retries_then_opens_the_breaker(
    bus: Bus, admin: httpx.AsyncClient
) -> None:
    rule = await inject(admin, kind="http_error", status=500)
    clock = FakeMonotonic()
    async with bus.channel(
        max_attempts=2, breaker_failures=4, breaker_cool_down=30.0, monotonic=clock
    ) as channel:
        client = IndividualsClient(channel)
        breaker = channel.breakers.get(SERVICE)
        for attempts_so_far in (2, 4):
            with pytest.raises(ShepUnavailable) as caught:
                await client.person_by_iin(bus.iin)
            assert not isinstance(caught.value, ShepCircuitOpen)
            assert await count(admin) == attempts_so_far, "bounded retries, each journaled"
        assert str(breaker.state) == "open"

        with pytest.raises(ShepCircuitOpen):
            await client.person_by_iin(bus.iin)
        assert await count(admin) == 4, "an open breaker sends nothing"

        # After the cool-down one probe goes out; it fails, so the breaker opens again.
        clock.now += 30.0
        assert str(breaker.state) == "half_open"
        with pytest.raises(ShepUnavailable):
            await client.person_by_iin(bus.iin)
        assert await count(admin) == 5
        assert str(breaker.state) == "open"

        # The bus recovers; the next probe after the cool-down closes the breaker.
        assert (await admin.delete(f"/faults/{rule['id']}")).status_code == 204
        clock.now += 30.0
        assert str(breaker.state) == "half_open"
        assert await client.person_by_iin(bus.iin) is not None
        assert str(breaker.state) == "closed"
        assert await count(admin) == 6


async def test_a_client_error_status_is_not_retried(bus: Bus, admin: httpx.AsyncClient) -> None:
    await inject(admin, kind="http_error", status=400, body="bad request")
    async with bus.channel() as channel:
        with pytest.raises(ShepError) as caught:
            await IndividualsClient(channel).person_by_iin(bus.iin)
    assert not isinstance(caught.value, ShepUnavailable)
    assert await count(admin) == 1


# --- connection_reset ----------------------------------------------------------------


async def test_a_connection_reset_gives_the_client_no_answer(
    bus: Bus, admin: httpx.AsyncClient
) -> None:
    # Not SOAP, so no serviceId: the rule has to match every service.
    await inject(admin, service="*", kind="connection_reset", times=1)
    async with httpx.AsyncClient() as raw:
        with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)):
            await raw.post(bus.server.base_url + PATH, content=b"<x/>")
    (call,) = (await admin.get("/requests")).json()["requests"]
    assert call["http_status"] is None and call["fault"].startswith("connection_reset#")


async def test_a_connection_reset_once_is_retried_and_recovers(
    bus: Bus, admin: httpx.AsyncClient
) -> None:
    await inject(admin, kind="connection_reset", times=1)
    async with bus.channel() as channel:
        assert await IndividualsClient(channel).person_by_iin(bus.iin) is not None
    assert [c["http_status"] for c in await calls(admin)] == [None, 200]


async def test_connection_resets_always_are_unavailable_after_the_retries(
    bus: Bus, admin: httpx.AsyncClient
) -> None:
    await inject(admin, kind="connection_reset")
    async with bus.channel(max_attempts=3) as channel:
        with pytest.raises(ShepUnavailable, match="unreachable"):
            await IndividualsClient(channel).person_by_iin(bus.iin)
    assert await count(admin) == 3


# --- malformed and truncated ---------------------------------------------------------


@pytest.mark.parametrize("kind", ["malformed", "truncated"])
async def test_an_unreadable_answer_is_a_contract_error_not_retried(
    bus: Bus, admin: httpx.AsyncClient, kind: str
) -> None:
    await inject(admin, kind=kind)
    async with bus.channel() as channel:
        with pytest.raises(ShepError) as caught:
            await IndividualsClient(channel).person_by_iin(bus.iin)
    # The client's documented split: not transient, not auth, so a plain ShepError
    # (an incident). Its message reads "bus answered HTTP 200": see the report.
    assert type(caught.value) is ShepError
    assert caught.value.code is None
    (call,) = await calls(admin)
    assert call["http_status"] == 200 and call["fault"].startswith(kind + "#")
    if kind == "truncated":
        assert (
            call["response"].startswith("<?xml") and "</soap-env:Envelope>" not in call["response"]
        )


async def test_a_well_formed_but_unsigned_answer_is_a_signature_error(
    bus: Bus, admin: httpx.AsyncClient
) -> None:
    await inject(admin, kind="malformed", body="<a>not the bus</a>")
    async with bus.channel() as channel:
        with pytest.raises(ShepAuthError):
            await IndividualsClient(channel).person_by_iin(bus.iin)
    assert await count(admin) == 1


# --- replay_reply ----------------------------------------------------------------------


async def test_a_replayed_reply_is_refused_by_the_adapter(
    bus: Bus, admin: httpx.AsyncClient
) -> None:
    """The issue's acceptance: an earlier signed answer, replayed by the bus, is refused.

    The replayed answer is genuine and seconds old: signature and timestamp hold, only
    its correlation (another request's messageId) gives it away.
    """
    first, second = bus.population.people[0].iin, bus.population.people[1].iin
    async with bus.channel() as channel:
        client = IndividualsClient(channel)
        person = await client.person_by_iin(first)
        assert person is not None and person.iin == first
        await inject(admin, kind="replay_reply", times=1)
        with pytest.raises(ShepUnexpectedReply, match="correlationId") as caught:
            await client.person_by_iin(second)
        again = await client.person_by_iin(second)
        assert again is not None and again.iin == second
    original, replayed, answered = await calls(admin)
    assert replayed["fault"].startswith("replay_reply#")
    assert replayed["http_status"] == 200
    assert replayed["response"] == original["response"], "byte for byte, signature and all"
    assert replayed["replay_of"] == original["message_id"] != replayed["message_id"]
    assert caught.value.message_id == replayed["message_id"]
    assert answered["fault"] is None and answered["message_id"] != replayed["message_id"]


async def test_with_nothing_to_replay_the_call_is_answered(
    bus: Bus, admin: httpx.AsyncClient
) -> None:
    await inject(admin, kind="replay_reply", times=1)
    async with bus.channel() as channel:
        assert await IndividualsClient(channel).person_by_iin(bus.iin) is not None
    (call,) = await calls(admin)
    assert call["fault"] is None and call["http_status"] == 200


# --- triggers ------------------------------------------------------------------------


async def outcomes(bus: Bus, calls_to_make: int) -> list[bool]:
    """One attempt per call (no retries), True where the call succeeded."""
    results = []
    async with bus.channel(max_attempts=1, breaker_failures=100) as channel:
        client = IndividualsClient(channel)
        for _ in range(calls_to_make):
            try:
                results.append(await client.person_by_iin(bus.iin) is not None)
            except ShepUnavailable:
                results.append(False)
    return results


async def test_every_second_call_fails(bus: Bus, admin: httpx.AsyncClient) -> None:
    await inject(admin, kind="http_error", status=503, every_nth=2)
    assert await outcomes(bus, 6) == [True, False] * 3
    assert await count(admin, fault="http_error") == 3
    assert await count(admin) == 6


async def test_a_seeded_probability_replays_the_same_calls(
    bus: Bus, admin: httpx.AsyncClient
) -> None:
    await inject(admin, kind="http_error", status=503, probability=0.5, seed=7)
    draws = random.Random(7)
    expected = [draws.random() >= 0.5 for _ in range(12)]
    assert True in expected and False in expected
    assert await outcomes(bus, 12) == expected


# --- scenarios -------------------------------------------------------------------------


async def test_a_scenario_503_then_success(bus: Bus, admin: httpx.AsyncClient) -> None:
    await inject(
        admin,
        kind="http_error",
        status=503,
        scenario="flaky",
        required_state="Started",
        new_state="recovered",
    )
    assert await outcomes(bus, 3) == [False, True, True]
    assert (await admin.get("/scenarios/flaky")).json() == {"name": "flaky", "state": "recovered"}
    # Back to the start: it fails once more, then recovers within one retried call.
    await admin.put("/scenarios/flaky", json={"state": "Started"})
    async with bus.channel() as channel:
        assert await IndividualsClient(channel).person_by_iin(bus.iin) is not None
    assert [c["http_status"] for c in await calls(admin)][-2:] == [503, 200]


async def test_a_scenario_not_found_until_registered(bus: Bus, admin: httpx.AsyncClient) -> None:
    await inject(
        admin, kind="soap_fault", code=codes.NOT_FOUND, scenario="gbdfl", required_state="Started"
    )
    async with bus.channel() as channel:
        client = IndividualsClient(channel)
        assert await client.person_by_iin(bus.iin) is None
        assert await client.person_by_iin(bus.iin) is None
        await admin.put("/scenarios/gbdfl", json={"state": "registered"})
        assert await client.person_by_iin(bus.iin) is not None


# --- clock and reset ---------------------------------------------------------------------


async def test_the_bus_dates_its_answers_by_the_mock_clock(
    bus: Bus, admin: httpx.AsyncClient
) -> None:
    moment = datetime(2025, 3, 14, 10, 0, tzinfo=UTC)
    assert (await admin.put("/clock", json={"now": moment.isoformat()})).json()["mode"] == "fixed"
    async with bus.channel() as channel:
        client = IndividualsClient(channel)
        await client.person_by_iin(bus.iin)
        assert await _response_date(admin) == moment
        await admin.put("/clock", json={"advance_seconds": 3600})
        await client.person_by_iin(bus.iin)
        assert await _response_date(admin) == moment + timedelta(hours=1)
        assert (await admin.delete("/clock")).json()["mode"] == "real"
        await client.person_by_iin(bus.iin)
        assert abs(await _response_date(admin) - datetime.now(UTC)) < timedelta(seconds=30)


async def _response_date(admin: httpx.AsyncClient) -> datetime:
    last = (await calls(admin))[-1]["response"]
    start = last.index("<responseDate>") + len("<responseDate>")
    return datetime.fromisoformat(last[start : last.index("</responseDate>")])


async def test_reset_clears_rules_journal_scenarios_and_clock(
    bus: Bus, admin: httpx.AsyncClient
) -> None:
    await inject(admin, kind="http_error", status=503, times=1)
    await admin.put("/scenarios/flaky", json={"state": "recovered"})
    await admin.put("/clock", json={"now": "2025-01-01T00:00:00+05:00"})
    async with bus.channel() as channel:
        await IndividualsClient(channel).person_by_iin(bus.iin)
    assert await count(admin) == 2

    assert (await admin.post("/reset")).status_code == 204
    assert (await admin.get("/faults")).json() == {"faults": []}
    assert (await admin.get("/requests")).json() == {"requests": [], "total": 0}
    assert (await admin.get("/scenarios")).json() == {"scenarios": []}
    assert (await admin.get("/scenarios/flaky")).json()["state"] == "Started"
    assert (await admin.get("/clock")).json()["mode"] == "real"


async def test_a_bad_rule_is_refused_naming_the_field(admin: httpx.AsyncClient) -> None:
    response = await admin.post("/faults", json={"kind": "soap_fault", "probability": 2})
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    fields = {e["field"] for e in response.json()["errors"]}
    assert fields == {"code", "probability"}
