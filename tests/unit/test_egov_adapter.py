"""The portal client's HTTP discipline, with respx standing in for the network.

Time is a fake: ``sleep`` moves a fake monotonic clock that the retry deadline and the
breaker both read, so back-off, Retry-After and cool-down are checked without waiting.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import respx

from adapters.egov import (
    AppealForm,
    AppealStatus,
    CabinetNotification,
    EgovClient,
    HttpSettings,
    SmsMessage,
    UpstreamCircuitOpen,
    UpstreamError,
    UpstreamNotFound,
    UpstreamRejected,
    UpstreamUnavailable,
)
from adapters.http_discipline import parse_retry_after
from adapters.shep.breaker import BreakerState

BASE = "http://egov.test"
IIN = "850312300012"  # a well-formed IIN (born 1985-03-12, male)


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


def settings(**changes: Any) -> HttpSettings:
    base: dict[str, Any] = {
        "base_url": BASE,
        "connect_timeout": 0.5,
        "read_timeout": 0.5,
        "deadline": 10.0,
        "max_attempts": 4,
        "backoff_initial": 0.1,
        "backoff_max": 1.0,
        "breaker_failures": 100,
        "breaker_cool_down": 30.0,
    }
    base.update(changes)
    return HttpSettings(**base)


@pytest.fixture
async def client(fake_time: FakeTime) -> AsyncIterator[EgovClient]:
    async with EgovClient(settings(), monotonic=fake_time.monotonic, sleep=fake_time.sleep) as egov:
        yield egov


def appeal_json(status: str = "received", **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": "a1",
        "number": "ЭО-2026-000001",
        "status": status,
        "received_at": "2026-10-05T04:00:00Z",
        "forward_due": "2026-10-07T23:59:59+05:00",
        "history": [{"status": "received", "at": "2026-10-05T04:00:00Z"}],
        "form": {
            "iin": IIN,
            "surname": "Ахметов",
            "name": "Ерлан",
            "email": "e@example.kz",
            "postal_address": "Алматы, пр. Абая 1",
            "phone": "+77011234567",
            "service_name": "Назначение государственной адресной социальной помощи",
            "region": "г. Алматы",
            "recipient": "Управление координации занятости и социальных программ — г. Алматы",
            "content": "Прошу назначить АСП",
            "attachments": [{"name": "Справка", "pages": 2}],
            "unknown_future_field": True,
        },
    }
    body.update(changes)
    return body


def form() -> AppealForm:
    return AppealForm(
        iin=IIN,
        surname="Ахметов",
        name="Ерлан",
        email="e@example.kz",
        postal_address="Алматы, пр. Абая 1",
        phone="+77011234567",
        service_name="Назначение государственной адресной социальной помощи",
        region="г. Алматы",
        recipient="Управление координации занятости и социальных программ — г. Алматы",
        content="Прошу назначить АСП",
        signature="MIIB...",
    )


@respx.mock(base_url=BASE)
async def test_fetches_new_appeals_and_ignores_unknown_fields(
    respx_mock: respx.MockRouter, client: EgovClient
) -> None:
    route = respx_mock.get("/api/v1/appeals", params={"status": "new"}).respond(
        200, json={"items": [appeal_json()], "total": 1}
    )
    appeals = await client.new_appeals()
    assert route.call_count == 1
    assert [a.id for a in appeals] == ["a1"]
    assert appeals[0].status is AppealStatus.RECEIVED
    assert appeals[0].form.attachments[0].pages == 2
    # A read carries no idempotency key; it needs none.
    assert "Idempotency-Key" not in route.calls.last.request.headers


@respx.mock(base_url=BASE)
async def test_every_write_call_sends_one_idempotency_key(
    respx_mock: respx.MockRouter, client: EgovClient, fake_time: FakeTime
) -> None:
    route = respx_mock.post("/api/v1/appeals").mock(
        side_effect=[httpx.Response(503), httpx.Response(201, json=appeal_json())]
    )
    appeal = await client.submit_appeal(form(), idempotency_key="form-1")
    assert appeal.number == "ЭО-2026-000001"
    keys = {call.request.headers["Idempotency-Key"] for call in route.calls}
    assert keys == {"form-1"}


@respx.mock(base_url=BASE)
async def test_422_is_rejected_naming_the_field(
    respx_mock: respx.MockRouter, client: EgovClient, fake_time: FakeTime
) -> None:
    route = respx_mock.post("/api/v1/appeals/a1/status").respond(
        422,
        json={
            "title": "Invalid input",
            "status": 422,
            "errors": [{"field": "district_office", "reason": "is required"}],
        },
        headers={"Content-Type": "application/problem+json"},
    )
    with pytest.raises(UpstreamRejected) as caught:
        await client.set_status("a1", AppealStatus.FORWARDED)
    assert caught.value.field == "district_office"
    assert caught.value.reason == "is required"
    assert caught.value.status == 422
    assert route.call_count == 1, "a refusal is not retried"
    assert fake_time.sleeps == []


@respx.mock(base_url=BASE)
async def test_fastapi_default_validation_shape_is_read_too(
    respx_mock: respx.MockRouter, client: EgovClient
) -> None:
    respx_mock.post("/api/v1/notifications/sms").respond(
        422, json={"detail": [{"loc": ["body", "phone"], "msg": "bad phone"}]}
    )
    with pytest.raises(UpstreamRejected) as caught:
        await client.send_sms(SmsMessage(phone="123", text="hi"))
    assert caught.value.fields == ["phone"]


@respx.mock(base_url=BASE)
async def test_503_then_200_recovers(
    respx_mock: respx.MockRouter, client: EgovClient, fake_time: FakeTime
) -> None:
    route = respx_mock.post("/api/v1/notifications/cabinet").mock(
        side_effect=[
            httpx.Response(503),
            httpx.Response(202, json={"id": "n1", "delivered_at": "2026-10-05T04:00:00Z"}),
        ]
    )
    note = CabinetNotification(iin=IIN, title="Обращение", text="Ответ готов")
    receipt = await client.notify_cabinet(note)
    assert receipt.id == "n1"
    assert route.call_count == 2
    assert len(fake_time.sleeps) == 1
    assert 0.1 <= fake_time.sleeps[0] <= 0.2 + 1e-9, "one back-off step plus jitter"


@respx.mock(base_url=BASE)
async def test_503_always_gives_unavailable_within_the_deadline(
    respx_mock: respx.MockRouter, fake_time: FakeTime
) -> None:
    route = respx_mock.get("/api/v1/appeals").respond(503)
    async with EgovClient(
        settings(deadline=2.0, max_attempts=50, backoff_initial=0.2, backoff_max=1.0),
        monotonic=fake_time.monotonic,
        sleep=fake_time.sleep,
    ) as egov:
        started = fake_time.now
        with pytest.raises(UpstreamUnavailable) as caught:
            await egov.new_appeals()
    assert caught.value.status == 503
    assert fake_time.now - started < 2.0, "never sleeps past the deadline"
    assert 2 <= route.call_count < 50


@respx.mock(base_url=BASE)
async def test_503_always_real_time_stays_within_the_deadline(
    respx_mock: respx.MockRouter,
) -> None:
    respx_mock.get("/api/v1/appeals").respond(503)
    async with EgovClient(
        settings(deadline=0.4, max_attempts=100, backoff_initial=0.05, backoff_max=0.1)
    ) as egov:
        started = time.monotonic()
        with pytest.raises(UpstreamUnavailable):
            await egov.new_appeals()
        assert time.monotonic() - started < 0.4 + 0.2


@respx.mock(base_url=BASE)
async def test_404_is_not_found_and_not_retried(
    respx_mock: respx.MockRouter, client: EgovClient
) -> None:
    route = respx_mock.get("/api/v1/appeals/nope").respond(404, json={"title": "Not found"})
    with pytest.raises(UpstreamNotFound):
        await client.appeal("nope")
    assert route.call_count == 1


@respx.mock(base_url=BASE)
async def test_500_is_an_error_not_retried(
    respx_mock: respx.MockRouter, client: EgovClient
) -> None:
    route = respx_mock.get("/api/v1/appeals/a1").respond(500)
    with pytest.raises(UpstreamError) as caught:
        await client.appeal("a1")
    assert not isinstance(caught.value, UpstreamUnavailable)
    assert route.call_count == 1


@respx.mock(base_url=BASE)
async def test_breaker_opens_then_half_opens(
    respx_mock: respx.MockRouter, fake_time: FakeTime
) -> None:
    route = respx_mock.get("/api/v1/appeals").mock(
        side_effect=[
            httpx.Response(503),
            httpx.Response(503),
            httpx.Response(200, json={"items": [], "total": 0}),
        ]
    )
    other = respx_mock.get("/api/v1/appeals/a1").respond(200, json=appeal_json())
    async with EgovClient(
        settings(max_attempts=1, breaker_failures=2, breaker_cool_down=30.0),
        monotonic=fake_time.monotonic,
        sleep=fake_time.sleep,
    ) as egov:
        endpoint = "GET /api/v1/appeals"
        for _ in range(2):
            with pytest.raises(UpstreamUnavailable):
                await egov.new_appeals()
        assert egov.caller.breaker_state(endpoint) is BreakerState.OPEN
        with pytest.raises(UpstreamCircuitOpen):
            await egov.new_appeals()
        assert route.call_count == 2, "an open breaker does not call"
        # Another endpoint of the same portal has its own breaker.
        assert (await egov.appeal("a1")).id == "a1"
        assert other.call_count == 1

        fake_time.now += 30.0
        assert egov.caller.breaker_state(endpoint) is BreakerState.HALF_OPEN
        assert await egov.new_appeals() == []
        assert route.call_count == 3
        assert egov.caller.breaker_state(endpoint) is BreakerState.CLOSED


@respx.mock(base_url=BASE)
async def test_a_failed_probe_opens_the_breaker_again(
    respx_mock: respx.MockRouter, fake_time: FakeTime
) -> None:
    respx_mock.get("/api/v1/appeals").respond(503)
    async with EgovClient(
        settings(max_attempts=1, breaker_failures=1, breaker_cool_down=10.0),
        monotonic=fake_time.monotonic,
        sleep=fake_time.sleep,
    ) as egov:
        with pytest.raises(UpstreamUnavailable):
            await egov.new_appeals()
        fake_time.now += 10.0
        with pytest.raises(UpstreamUnavailable) as probe:
            await egov.new_appeals()
        assert not isinstance(probe.value, UpstreamCircuitOpen)
        assert egov.caller.breaker_state("GET /api/v1/appeals") is BreakerState.OPEN


@respx.mock(base_url=BASE)
async def test_429_retry_after_is_honoured(
    respx_mock: respx.MockRouter, client: EgovClient, fake_time: FakeTime
) -> None:
    route = respx_mock.post("/api/v1/notifications/sms").mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": "3"}),
            httpx.Response(
                202,
                json={
                    "id": "s1",
                    "accepted_at": "2026-10-05T04:00:00Z",
                    "encoding": "UCS-2",
                    "segments": 1,
                },
            ),
        ]
    )
    receipt = await client.send_sms(SmsMessage(phone="+77011234567", text="Готово"))
    assert receipt.segments == 1
    assert route.call_count == 2
    assert fake_time.sleeps and fake_time.sleeps[0] >= 3.0


@respx.mock(base_url=BASE)
async def test_429_retry_after_beyond_the_deadline_gives_up_at_once(
    respx_mock: respx.MockRouter, client: EgovClient, fake_time: FakeTime
) -> None:
    route = respx_mock.post("/api/v1/notifications/sms").respond(
        429, headers={"Retry-After": "120"}
    )
    with pytest.raises(UpstreamUnavailable) as caught:
        await client.send_sms(SmsMessage(phone="+77011234567", text="Готово"))
    assert caught.value.retry_after == 120.0
    assert route.call_count == 1
    assert fake_time.sleeps == []


@respx.mock(base_url=BASE)
async def test_timeouts_and_connect_errors_are_retried_then_unavailable(
    respx_mock: respx.MockRouter, client: EgovClient, fake_time: FakeTime
) -> None:
    route = respx_mock.get("/api/v1/appeals").mock(
        side_effect=[
            httpx.ConnectError("refused"),
            httpx.ReadTimeout("slow"),
            httpx.ReadTimeout("slow"),
            httpx.ReadTimeout("slow"),
        ]
    )
    with pytest.raises(UpstreamUnavailable) as caught:
        await client.new_appeals()
    assert "ReadTimeout" in str(caught.value)
    assert route.call_count == 4
    assert len(fake_time.sleeps) == 3


# The cancelled call never completes, so respx never records it as called.
@respx.mock(base_url=BASE, assert_all_called=False)
async def test_a_hanging_upstream_is_cut_at_the_deadline(respx_mock: respx.MockRouter) -> None:
    async def hang(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(5)
        return httpx.Response(200)

    respx_mock.get("/api/v1/appeals").mock(side_effect=hang)
    async with EgovClient(settings(deadline=0.3, read_timeout=10.0)) as egov:
        started = time.monotonic()
        with pytest.raises(UpstreamUnavailable) as caught:
            await egov.new_appeals()
        assert time.monotonic() - started < 1.0
    assert "deadline" in str(caught.value)


@respx.mock(base_url=BASE)
async def test_an_answer_off_contract_is_an_error(
    respx_mock: respx.MockRouter, client: EgovClient
) -> None:
    respx_mock.get("/api/v1/appeals/a1").respond(200, json={"id": "a1"})
    with pytest.raises(UpstreamError, match="does not fit Appeal"):
        await client.appeal("a1")


def test_an_iin_is_checked_before_it_leaves() -> None:
    with pytest.raises(ValueError, match="iin"):
        CabinetNotification(iin="850312300016", title="t", text="x")


def test_retry_after_parses_seconds_and_dates() -> None:
    from datetime import UTC, datetime

    now = datetime(2026, 10, 5, 4, 0, tzinfo=UTC)
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after("Mon, 05 Oct 2026 04:00:30 GMT", now=now) == 30.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None
