"""The labour market system's client with respx standing in for the network.

The p.18 draft goes out once per key and survives a transient failure; refusals name
the system's field; the breaker opens per endpoint; a registration parses with its
dates; and the IIN in the registration URL stays out of the error messages.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import httpx
import pytest
import respx

from adapters.labour_market import (
    DraftReason,
    DraftStatus,
    LabourMarketClient,
    RegistrationStatus,
    UnemploymentDraftIn,
    UpstreamCircuitOpen,
    UpstreamNotFound,
    UpstreamRejected,
    UpstreamUnavailable,
)
from adapters.shep.breaker import BreakerState
from contracts.iin import InvalidIIN, mask_iin, next_valid_iin
from tests.unit.http_fakes import FakeTime, fast_settings

BASE = "http://labour.test"
KANDAS = next_valid_iin(date(1988, 4, 2), "male", 120)
DRAFT_ID = "UD-2026-000003"


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
async def client(fake_time: FakeTime) -> AsyncIterator[LabourMarketClient]:
    async with LabourMarketClient(
        fast_settings(BASE), monotonic=fake_time.monotonic, sleep=fake_time.sleep
    ) as labour:
        yield labour


def draft_in(reason: DraftReason = DraftReason.declined) -> UnemploymentDraftIn:
    return UnemploymentDraftIn(
        iin=KANDAS, career_centre="cc_north_kazakhstan", reason=reason, external_id="case-1"
    )


def draft_json(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "draft_id": DRAFT_ID,
        "status": "draft",
        "created_at": "2026-10-20T06:00:00Z",
        "iin": KANDAS,
        "career_centre": "cc_north_kazakhstan",
        "reason": "declined",
        "external_id": "case-1",
    }
    return body | changes


def registration_path(iin: str = KANDAS) -> str:
    return f"/api/v1/persons/{iin}/registration"


@respx.mock(base_url=BASE)
async def test_sends_the_draft_with_the_given_key(
    respx_mock: respx.MockRouter, client: LabourMarketClient
) -> None:
    route = respx_mock.post("/api/v1/unemployment-drafts").respond(201, json=draft_json())
    draft = await client.create_unemployment_draft(draft_in(), idempotency_key="case-1:unemp:0")
    assert (draft.draft_id, draft.status) == (DRAFT_ID, DraftStatus.draft)
    sent = route.calls.last.request
    assert sent.headers["Idempotency-Key"] == "case-1:unemp:0"
    assert json.loads(sent.content) == {
        "iin": KANDAS,
        "career_centre": "cc_north_kazakhstan",
        "reason": "declined",
        "external_id": "case-1",
    }


@respx.mock(base_url=BASE)
async def test_a_refusal_names_the_field(
    respx_mock: respx.MockRouter, client: LabourMarketClient
) -> None:
    route = respx_mock.post("/api/v1/unemployment-drafts").respond(
        422,
        json={
            "status": 422,
            "errors": [{"field": "iin", "reason": "the person is under 16, not of working age"}],
        },
    )
    with pytest.raises(UpstreamRejected) as caught:
        await client.create_unemployment_draft(draft_in())
    assert (caught.value.field, caught.value.status) == ("iin", 422)
    assert "working age" in caught.value.reason
    assert route.call_count == 1


@respx.mock(base_url=BASE)
async def test_a_503_is_retried_with_the_same_key(
    respx_mock: respx.MockRouter, client: LabourMarketClient, fake_time: FakeTime
) -> None:
    route = respx_mock.post("/api/v1/unemployment-drafts").mock(
        side_effect=[httpx.Response(503), httpx.Response(201, json=draft_json())]
    )
    assert (await client.create_unemployment_draft(draft_in())).draft_id == DRAFT_ID
    assert route.call_count == 2
    first, second = (c.request.headers["Idempotency-Key"] for c in route.calls)
    assert first == second, "one draft, however many attempts"
    assert len(fake_time.sleeps) == 1


@respx.mock(base_url=BASE)
async def test_a_retry_after_beyond_the_deadline_fails_at_once(
    respx_mock: respx.MockRouter, fake_time: FakeTime
) -> None:
    route = respx_mock.post("/api/v1/unemployment-drafts").respond(
        429, headers={"Retry-After": "120"}
    )
    async with LabourMarketClient(
        fast_settings(BASE, deadline=5.0), monotonic=fake_time.monotonic, sleep=fake_time.sleep
    ) as labour:
        with pytest.raises(UpstreamUnavailable) as caught:
            await labour.create_unemployment_draft(draft_in())
    assert caught.value.retry_after == 120.0
    assert route.call_count == 1 and fake_time.sleeps == []


@respx.mock(base_url=BASE)
async def test_the_breaker_opens_on_the_registration_lookup(
    respx_mock: respx.MockRouter, fake_time: FakeTime
) -> None:
    lookups = respx_mock.get(registration_path()).mock(side_effect=httpx.ConnectError("refused"))
    drafts = respx_mock.get(f"/api/v1/unemployment-drafts/{DRAFT_ID}").respond(
        200, json=draft_json()
    )
    async with LabourMarketClient(
        fast_settings(BASE, max_attempts=1, breaker_failures=3, breaker_cool_down=10.0),
        monotonic=fake_time.monotonic,
        sleep=fake_time.sleep,
    ) as labour:
        for _ in range(3):
            with pytest.raises(UpstreamUnavailable):
                await labour.registration(KANDAS)
        with pytest.raises(UpstreamCircuitOpen):
            await labour.registration(KANDAS)
        assert lookups.call_count == 3
        endpoint = "GET /api/v1/persons/{iin}/registration"
        assert labour.caller.breaker_state(endpoint) is BreakerState.OPEN
        assert (await labour.unemployment_draft(DRAFT_ID)).reason is DraftReason.declined
        assert drafts.call_count == 1


@respx.mock(base_url=BASE)
async def test_a_registration_parses_with_its_dates(
    respx_mock: respx.MockRouter, client: LabourMarketClient
) -> None:
    respx_mock.get(registration_path()).respond(
        200,
        json={
            "iin": KANDAS,
            "status": "unemployed",
            "job_seeker_since": "2024-10-22",
            "unemployed_since": "2024-10-27",
            "career_centre": "cc_karaganda",
            "as_of": "2026-10-20T06:00:00Z",
        },
    )
    found = await client.registration(KANDAS)
    assert found.status is RegistrationStatus.unemployed and found.registered_unemployed
    assert (found.job_seeker_since, found.unemployed_since) == (
        date(2024, 10, 22),
        date(2024, 10, 27),
    )


@respx.mock(base_url=BASE)
async def test_an_unknown_person_is_not_found_without_the_iin_in_the_message(
    respx_mock: respx.MockRouter, client: LabourMarketClient
) -> None:
    respx_mock.get(registration_path()).respond(404, json={"status": 404})
    with pytest.raises(UpstreamNotFound) as caught:
        await client.registration(KANDAS)
    assert KANDAS not in str(caught.value)
    assert mask_iin(KANDAS) in str(caught.value)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


@respx.mock(base_url=BASE, assert_all_called=False)
async def test_a_malformed_iin_is_refused_before_any_call(
    respx_mock: respx.MockRouter, client: LabourMarketClient
) -> None:
    route = respx_mock.get(url__regex=r"/api/v1/persons/.*").respond(200)
    with pytest.raises(InvalidIIN):
        await client.registration("880402700000")
    assert route.call_count == 0


def test_the_draft_reason_is_one_of_p18s_two() -> None:
    with pytest.raises(ValueError, match="reason"):
        UnemploymentDraftIn.model_validate(draft_in().model_dump() | {"reason": "moved_away"})
