"""The Kandas client's HTTP discipline, with respx standing in for the network.

The same discipline as the portal's client (one implementation in
``adapters.http_discipline``); these tests check that the Kandas calls go through it
and that the Kandas-specific answers parse: a plan, a work report, the monthly report.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import httpx
import pytest
import respx

from adapters.kandas_ais import (
    Geolocation,
    HttpSettings,
    KandasClient,
    Media,
    MemberRequest,
    PlannedServiceRequest,
    PlanRequest,
    ServiceStatus,
    UpstreamCircuitOpen,
    UpstreamError,
    UpstreamNotFound,
    UpstreamRejected,
    UpstreamUnavailable,
    WorkReportRequest,
)
from adapters.shep.breaker import BreakerState

BASE = "http://kandas.test"
IIN = "850312300012"


class FakeTime:
    def __init__(self) -> None:
        self.now = 5000.0
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
    }
    base.update(changes)
    return HttpSettings(**base)


@pytest.fixture
async def client(fake_time: FakeTime) -> AsyncIterator[KandasClient]:
    async with KandasClient(
        settings(), monotonic=fake_time.monotonic, sleep=fake_time.sleep
    ) as kandas:
        yield kandas


def plan_request() -> PlanRequest:
    return PlanRequest(
        kandas_iin=IIN,
        region="Павлодарская область",
        career_centre="Карьерный центр г. Павлодара",
        quota_date=date(2026, 9, 1),
        members=(
            MemberRequest(
                iin=IIN,
                relation="kandas",
                services=(PlannedServiceRequest(code=7), PlannedServiceRequest(code=15)),
            ),
        ),
    )


def plan_json(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": "p1",
        "created_at": "2026-10-01T04:00:00Z",
        "kandas_iin": IIN,
        "region": "Павлодарская область",
        "career_centre": "Карьерный центр г. Павлодара",
        "quota_date": "2026-09-01",
        "members": [
            {
                "iin": IIN,
                "full_name": "Ахметов Ерлан",
                "relation": "kandas",
                "services": [
                    {
                        "code": 7,
                        "name_ru": "Содействие в регистрации по месту жительства",
                        "name_kk": "Тұрғылықты жері бойынша тіркеуге жәрдемдесу",
                        "due_date": None,
                        "status": "planned",
                    }
                ],
            }
        ],
        "reports": [],
    }
    body.update(changes)
    return body


def report_request(lat: float = 52.28, lon: float = 76.97) -> WorkReportRequest:
    return WorkReportRequest(
        member_iin=IIN,
        service_code=7,
        done_on=date(2026, 10, 12),
        comment="Зарегистрирован по месту жительства",
        media=(Media(kind="photo", url="https://files.example.kz/1.jpg"),),
        geolocation=Geolocation(lat=lat, lon=lon),
    )


def report_json() -> dict[str, Any]:
    return {
        "id": "r1",
        "plan_id": "p1",
        "received_at": "2026-10-12T06:00:00Z",
        "report": report_request().model_dump(mode="json"),
    }


def monthly_json(columns: int = 27) -> dict[str, Any]:
    cols = [
        {"number": 1, "key": "row", "title_ru": "№", "title_kk": "№"},
        {"number": 2, "key": "iin", "title_ru": "ИИН", "title_kk": "ЖСН"},
    ]
    cols += [
        {
            "number": c + 2,
            "key": f"service_{c}",
            "title_ru": "…",
            "title_kk": "…",
            "service_code": c,
        }
        for c in range(1, columns - 1)
    ]
    row: list[Any] = [1, IIN] + [None] * (columns - 2)
    row[2 + 6] = "2026-10-12"  # service 7
    return {
        "month": "2026-10",
        "due_by": "2026-11-05",
        "form": "order No. 170, appendix 3",
        "columns": cols,
        "rows": [row],
    }


@respx.mock(base_url=BASE)
async def test_creates_and_reads_a_plan(respx_mock: respx.MockRouter, client: KandasClient) -> None:
    created = respx_mock.post("/api/v1/adaptation-plans").respond(201, json=plan_json())
    respx_mock.get("/api/v1/adaptation-plans/p1").respond(200, json=plan_json())
    plan = await client.create_plan(plan_request(), idempotency_key="ipr-1")
    assert plan.id == "p1"
    sent = created.calls.last.request
    assert sent.headers["Idempotency-Key"] == "ipr-1"
    assert b'"code":15' in sent.content.replace(b" ", b"")
    again = await client.plan("p1")
    member = again.member(IIN)
    assert member is not None and member.services[0].status is ServiceStatus.PLANNED


@respx.mock(base_url=BASE)
async def test_posts_a_work_report(respx_mock: respx.MockRouter, client: KandasClient) -> None:
    route = respx_mock.post("/api/v1/adaptation-plans/p1/reports").respond(201, json=report_json())
    report = await client.report_work("p1", report_request())
    assert report.report.geolocation.lat == 52.28
    assert report.report.media[0].kind == "photo"
    assert route.call_count == 1


@respx.mock(base_url=BASE)
async def test_422_is_rejected_naming_the_field(
    respx_mock: respx.MockRouter, client: KandasClient
) -> None:
    route = respx_mock.post("/api/v1/adaptation-plans/p1/reports").respond(
        422,
        json={
            "status": 422,
            "errors": [
                {"field": "geolocation.lat", "reason": "latitude 0.0 is outside Kazakhstan"}
            ],
        },
    )
    with pytest.raises(UpstreamRejected) as caught:
        await client.report_work("p1", report_request(lat=0.0, lon=0.0))
    assert caught.value.field == "geolocation.lat"
    assert "outside Kazakhstan" in caught.value.reason
    assert route.call_count == 1


@respx.mock(base_url=BASE)
async def test_503_then_200_recovers(
    respx_mock: respx.MockRouter, client: KandasClient, fake_time: FakeTime
) -> None:
    route = respx_mock.post("/api/v1/adaptation-plans").mock(
        side_effect=[httpx.Response(503), httpx.Response(201, json=plan_json())]
    )
    plan = await client.create_plan(plan_request())
    assert plan.id == "p1"
    assert route.call_count == 2
    first, second = (c.request.headers["Idempotency-Key"] for c in route.calls)
    assert first == second, "the retry is recognisable as the same upload"
    assert len(fake_time.sleeps) == 1


@respx.mock(base_url=BASE)
async def test_503_always_gives_unavailable_within_the_deadline(
    respx_mock: respx.MockRouter, fake_time: FakeTime
) -> None:
    route = respx_mock.get("/api/v1/reports/monthly").respond(503)
    async with KandasClient(
        settings(deadline=1.5, max_attempts=100, backoff_initial=0.1, backoff_max=0.5),
        monotonic=fake_time.monotonic,
        sleep=fake_time.sleep,
    ) as kandas:
        started = fake_time.now
        with pytest.raises(UpstreamUnavailable):
            await kandas.monthly_report("2026-10")
    assert fake_time.now - started < 1.5
    assert route.call_count >= 2


@respx.mock(base_url=BASE)
async def test_breaker_opens_then_half_opens(
    respx_mock: respx.MockRouter, fake_time: FakeTime
) -> None:
    route = respx_mock.get("/api/v1/adaptation-plans/p1").mock(
        side_effect=[
            httpx.Response(502),
            httpx.Response(504),
            httpx.Response(200, json=plan_json()),
        ]
    )
    async with KandasClient(
        settings(max_attempts=1, breaker_failures=2, breaker_cool_down=60.0),
        monotonic=fake_time.monotonic,
        sleep=fake_time.sleep,
    ) as kandas:
        endpoint = "GET /api/v1/adaptation-plans/{id}"
        for _ in range(2):
            with pytest.raises(UpstreamUnavailable):
                await kandas.plan("p1")
        with pytest.raises(UpstreamCircuitOpen):
            await kandas.plan("p1")
        assert route.call_count == 2
        fake_time.now += 59.0
        assert kandas.caller.breaker_state(endpoint) is BreakerState.OPEN
        fake_time.now += 1.0
        assert kandas.caller.breaker_state(endpoint) is BreakerState.HALF_OPEN
        assert (await kandas.plan("p1")).id == "p1"
        assert kandas.caller.breaker_state(endpoint) is BreakerState.CLOSED


@respx.mock(base_url=BASE)
async def test_429_retry_after_is_honoured(
    respx_mock: respx.MockRouter, client: KandasClient, fake_time: FakeTime
) -> None:
    route = respx_mock.get("/api/v1/reports/monthly").mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": "2"}),
            httpx.Response(200, json=monthly_json()),
        ]
    )
    report = await client.monthly_report("2026-10")
    assert route.call_count == 2
    assert fake_time.sleeps[0] >= 2.0
    assert report.by_iin()[IIN] == {7: date(2026, 10, 12)}


@respx.mock(base_url=BASE)
async def test_timeout_is_retried_then_recovers(
    respx_mock: respx.MockRouter, client: KandasClient
) -> None:
    route = respx_mock.get("/api/v1/adaptation-plans/p1").mock(
        side_effect=[httpx.ConnectTimeout("no"), httpx.Response(200, json=plan_json())]
    )
    assert (await client.plan("p1")).id == "p1"
    assert route.call_count == 2


# The cancelled call never completes, so respx never records it as called.
@respx.mock(base_url=BASE, assert_all_called=False)
async def test_a_hanging_upstream_is_cut_at_the_deadline(respx_mock: respx.MockRouter) -> None:
    async def hang(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(5)
        return httpx.Response(200)

    respx_mock.get("/api/v1/adaptation-plans/p1").mock(side_effect=hang)
    async with KandasClient(settings(deadline=0.3, read_timeout=10.0)) as kandas:
        started = time.monotonic()
        with pytest.raises(UpstreamUnavailable):
            await kandas.plan("p1")
        assert time.monotonic() - started < 1.0


@respx.mock(base_url=BASE)
async def test_unknown_plan_is_not_found(
    respx_mock: respx.MockRouter, client: KandasClient
) -> None:
    respx_mock.get("/api/v1/adaptation-plans/zzz").respond(404)
    with pytest.raises(UpstreamNotFound):
        await client.plan("zzz")


@respx.mock(base_url=BASE)
async def test_a_monthly_report_of_the_wrong_width_is_refused(
    respx_mock: respx.MockRouter, client: KandasClient
) -> None:
    respx_mock.get("/api/v1/reports/monthly").respond(200, json=monthly_json(columns=26))
    with pytest.raises(UpstreamError, match="27"):
        await client.monthly_report("2026-10")


def test_service_codes_are_checked_before_they_leave() -> None:
    with pytest.raises(ValueError, match="code"):
        PlannedServiceRequest(code=26)
