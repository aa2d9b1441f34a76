"""The migration portal's client with respx standing in for the network.

The discipline itself is ``adapters.http_discipline``'s (tested with the Kandas and
portal clients); here: the portal's calls go through it, the key of a write is the one
given and stays the same on a retry, refusals name the portal's field, a hand-over is
mirrored with the digest of its signature, and the answers parse.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest
import respx

from adapters.migration_portal import (
    ApplicationIn,
    ApplicationMemberIn,
    ApplicationStatus,
    HandoverEventIn,
    MigrationPortalClient,
    UpstreamCircuitOpen,
    UpstreamError,
    UpstreamNotFound,
    UpstreamRejected,
    UpstreamUnavailable,
    signature_digest,
)
from adapters.shep.breaker import BreakerState
from contracts.cases import Decision, Relation, StepDecision
from contracts.iin import next_valid_iin
from contracts.signing import Signature, SignatureAlgorithm
from tests.unit.http_fakes import FakeTime, fast_settings

BASE = "http://portal.test"
KANDAS = next_valid_iin(date(1988, 4, 2), "male", 120)
SPOUSE = next_valid_iin(date(1990, 7, 9), "female", 340)
CHILD = next_valid_iin(date(2015, 1, 20), "female", 560)
OFFICIAL = next_valid_iin(date(1979, 11, 30), "male", 780)
NUMBER = "MIG-2026-000007"


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
async def client(fake_time: FakeTime) -> AsyncIterator[MigrationPortalClient]:
    async with MigrationPortalClient(
        fast_settings(BASE), monotonic=fake_time.monotonic, sleep=fake_time.sleep
    ) as portal:
        yield portal


def application() -> ApplicationIn:
    return ApplicationIn(
        applicant_iin=KANDAS,
        members=[
            ApplicationMemberIn(iin=SPOUSE, relation=Relation.spouse),
            ApplicationMemberIn(iin=CHILD, relation=Relation.child),
        ],
        departure_region="turkestan",
        settlement_region="north_kazakhstan",
        career_centre="cc_turkestan",
        external_id="case-1",
    )


def registered_json() -> dict[str, Any]:
    return {"number": NUMBER, "registered_at": "2026-10-05T04:00:00Z"}


def decision(value: bytes = b"\x01signature-bytes\x02" * 4) -> StepDecision:
    return StepDecision(
        case_id="case-1",
        step="lmc_review",
        round=1,
        body="lmc_turkestan",
        decision=Decision.return_,
        remarks="Не указан второй ребёнок",
        signed_at=datetime(2026, 10, 6, 5, 30, tzinfo=UTC),
        signature=Signature(
            algorithm=SignatureAlgorithm.rsa_sha256,
            certificate="-----BEGIN CERTIFICATE-----\n" + "A" * 64 + "\n-----END CERTIFICATE-----",
            value=base64.b64encode(value).decode(),
        ),
    )


def application_json(events: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "number": NUMBER,
        "registered_at": "2026-10-05T04:00:00Z",
        "status": "in_progress" if events else "registered",
        "applicant_iin": KANDAS,
        "applicant_name": "Сеитов Ерлан",
        "members": [{"iin": SPOUSE, "relation": "spouse", "full_name": "Сеитова Айгуль"}],
        "departure_region": "turkestan",
        "settlement_region": "north_kazakhstan",
        "career_centre": "cc_turkestan",
        "external_id": "case-1",
        "events": events,
        "unknown_later_field": {"ignored": True},
    }


@respx.mock(base_url=BASE)
async def test_registers_an_application_with_the_given_key(
    respx_mock: respx.MockRouter, client: MigrationPortalClient
) -> None:
    route = respx_mock.post("/api/v1/applications").respond(201, json=registered_json())
    registered = await client.register_application(application(), idempotency_key="case-1:p7")
    assert registered.number == NUMBER
    assert registered.registered_at == datetime(2026, 10, 5, 4, tzinfo=UTC)
    sent = route.calls.last.request
    assert sent.headers["Idempotency-Key"] == "case-1:p7"
    body = json.loads(sent.content)
    assert body["applicant_iin"] == KANDAS
    assert [m["iin"] for m in body["members"]] == [SPOUSE, CHILD]
    assert (body["departure_region"], body["career_centre"]) == ("turkestan", "cc_turkestan")


@respx.mock(base_url=BASE)
async def test_a_refusal_names_the_portals_field_and_is_not_retried(
    respx_mock: respx.MockRouter, client: MigrationPortalClient
) -> None:
    route = respx_mock.post("/api/v1/applications").respond(
        422,
        json={
            "type": "about:blank",
            "title": "Invalid input",
            "status": 422,
            "errors": [
                {"field": "members[1].iin", "reason": "no such person in the individuals database"},
                {"field": "applicant_iin", "reason": "the person has no kandas status"},
            ],
        },
    )
    with pytest.raises(UpstreamRejected) as caught:
        await client.register_application(application())
    assert caught.value.field == "members[1].iin"
    assert caught.value.fields == ["members[1].iin", "applicant_iin"]
    assert "individuals database" in caught.value.reason
    assert caught.value.status == 422
    assert route.call_count == 1


@respx.mock(base_url=BASE)
async def test_a_503_is_retried_with_the_same_key(
    respx_mock: respx.MockRouter, client: MigrationPortalClient, fake_time: FakeTime
) -> None:
    route = respx_mock.post("/api/v1/applications").mock(
        side_effect=[httpx.Response(503), httpx.Response(201, json=registered_json())]
    )
    registered = await client.register_application(application())
    assert registered.number == NUMBER
    assert route.call_count == 2
    first, second = (c.request.headers["Idempotency-Key"] for c in route.calls)
    assert first == second, "the retry must be recognisable as the same registration"
    assert len(fake_time.sleeps) == 1 and fake_time.sleeps[0] > 0


@respx.mock(base_url=BASE)
async def test_always_503_gives_up_within_the_deadline(
    respx_mock: respx.MockRouter, fake_time: FakeTime
) -> None:
    route = respx_mock.post("/api/v1/applications").respond(503)
    async with MigrationPortalClient(
        fast_settings(BASE, deadline=1.5, max_attempts=100, backoff_max=0.5),
        monotonic=fake_time.monotonic,
        sleep=fake_time.sleep,
    ) as portal:
        started = fake_time.now
        with pytest.raises(UpstreamUnavailable):
            await portal.register_application(application())
    assert fake_time.now - started < 1.5
    assert route.call_count >= 2


@respx.mock(base_url=BASE)
async def test_the_breaker_opens_per_endpoint(
    respx_mock: respx.MockRouter, fake_time: FakeTime
) -> None:
    posts = respx_mock.post(f"/api/v1/applications/{NUMBER}/events").respond(502)
    gets = respx_mock.get(f"/api/v1/applications/{NUMBER}").respond(200, json=application_json([]))
    async with MigrationPortalClient(
        fast_settings(BASE, max_attempts=1, breaker_failures=2, breaker_cool_down=30.0),
        monotonic=fake_time.monotonic,
        sleep=fake_time.sleep,
    ) as portal:
        event = HandoverEventIn.of(decision(), signer_iin=OFFICIAL)
        for _ in range(2):
            with pytest.raises(UpstreamUnavailable):
                await portal.record_handover(NUMBER, event)
        with pytest.raises(UpstreamCircuitOpen):
            await portal.record_handover(NUMBER, event)
        assert posts.call_count == 2, "an open breaker does not call"
        endpoint = "POST /api/v1/applications/{number}/events"
        assert portal.caller.breaker_state(endpoint) is BreakerState.OPEN
        # Reading the application is another endpoint: its breaker is closed.
        assert (await portal.application(NUMBER)).status is ApplicationStatus.registered
        assert gets.call_count == 1
        fake_time.now += 30.0
        assert portal.caller.breaker_state(endpoint) is BreakerState.HALF_OPEN


@respx.mock(base_url=BASE)
async def test_a_handover_is_mirrored_with_its_signature_digest(
    respx_mock: respx.MockRouter, client: MigrationPortalClient
) -> None:
    route = respx_mock.post(f"/api/v1/applications/{NUMBER}/events").respond(
        202, json={"number": NUMBER, "sequence": 2, "received_at": "2026-10-06T05:31:00Z"}
    )
    signed = decision(b"the signature bytes")
    recorded = await client.record_handover(
        NUMBER, HandoverEventIn.of(signed, signer_iin=OFFICIAL), idempotency_key="case-1:lmc:1"
    )
    assert recorded.sequence == 2
    sent = route.calls.last.request
    assert sent.headers["Idempotency-Key"] == "case-1:lmc:1"
    body = json.loads(sent.content)
    assert body["signature_digest"] == hashlib.sha256(b"the signature bytes").hexdigest()
    assert body == {
        "step": "lmc_review",
        "round": 1,
        "body": "lmc_turkestan",
        "decision": "return",
        "remarks": "Не указан второй ребёнок",
        "signed_at": "2026-10-06T05:30:00Z",
        "signer_iin": OFFICIAL,
        "signature_digest": body["signature_digest"],
    }


@respx.mock(base_url=BASE)
async def test_a_conflict_after_a_refusal_is_a_typed_rejection(
    respx_mock: respx.MockRouter, client: MigrationPortalClient
) -> None:
    respx_mock.post(f"/api/v1/applications/{NUMBER}/events").respond(
        409,
        json={
            "status": 409,
            "errors": [
                {"field": "number", "reason": "the application was refused at step cc_check"}
            ],
        },
    )
    with pytest.raises(UpstreamRejected) as caught:
        await client.record_handover(NUMBER, HandoverEventIn.of(decision(), signer_iin=OFFICIAL))
    assert (caught.value.status, caught.value.field) == (409, "number")


@respx.mock(base_url=BASE)
async def test_reads_the_application_with_its_events(
    respx_mock: respx.MockRouter, client: MigrationPortalClient
) -> None:
    event = HandoverEventIn.of(decision(), signer_iin=OFFICIAL).model_dump(mode="json")
    event |= {"sequence": 1, "received_at": "2026-10-06T05:31:00Z"}
    respx_mock.get(f"/api/v1/applications/{NUMBER}").respond(200, json=application_json([event]))
    found = await client.application(NUMBER)
    assert found.status is ApplicationStatus.in_progress
    assert found.last_event is not None
    assert (found.last_event.step, found.last_event.decision) == ("lmc_review", Decision.return_)
    assert found.members[0].relation is Relation.spouse


@respx.mock(base_url=BASE)
async def test_an_unknown_number_is_not_found_and_a_bad_answer_is_an_error(
    respx_mock: respx.MockRouter, client: MigrationPortalClient
) -> None:
    respx_mock.get("/api/v1/applications/MIG-2026-999999").respond(404)
    with pytest.raises(UpstreamNotFound):
        await client.application("MIG-2026-999999")
    respx_mock.post("/api/v1/applications").respond(201, json={"number": "not-a-number"})
    with pytest.raises(UpstreamError, match="ApplicationRegistered"):
        await client.register_application(application())


def test_the_digest_needs_a_base64_signature() -> None:
    assert signature_digest(base64.b64encode(b"x").decode()) == hashlib.sha256(b"x").hexdigest()
    with pytest.raises(ValueError, match="base64"):
        signature_digest("not base64!")


def test_the_request_checks_iins_and_forbids_unknown_fields() -> None:
    # A 7th digit of 7 encodes no century: never a valid IIN.
    with pytest.raises(ValueError, match="applicant_iin"):
        ApplicationIn.model_validate(application().model_dump() | {"applicant_iin": "880402700000"})
    with pytest.raises(ValueError, match="extra"):
        ApplicationIn.model_validate(application().model_dump() | {"phone": "+77011234567"})
