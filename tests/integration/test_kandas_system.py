"""The Kandas client against the mock Kandas system over real HTTP (uvicorn in a thread).

A family's adaptation plan with a work report carrying photo, video and geolocation; a
report from outside Kazakhstan refused naming the coordinate; the appendix 3 monthly
report's 27 columns; and a fault injected through the admin API that the client's retry
absorbs, with the journal showing both calls.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

import httpx
import pytest

from adapters.kandas_ais import (
    MONTHLY_REPORT_COLUMNS,
    Geolocation,
    HttpSettings,
    KandasClient,
    Media,
    MemberRequest,
    Plan,
    PlannedServiceRequest,
    PlanRequest,
    ServiceStatus,
    UpstreamNotFound,
    UpstreamRejected,
    WorkReportRequest,
)
from mocks.admin import MockAdmin
from mocks.kandas import create_app
from mocks.population import Family, Population, generate_population
from mocks.shep.server import RunningServer, serve_in_thread

pytestmark = pytest.mark.integration

ALMATY = ZoneInfo("Asia/Almaty")
PAVLODAR = Geolocation(lat=52.2873, lon=76.9674)


@dataclass
class Kandas:
    server: RunningServer
    admin: MockAdmin
    population: Population

    @property
    def url(self) -> str:
        return self.server.base_url


@pytest.fixture(scope="module")
def population() -> Population:
    return generate_population(42)


@pytest.fixture
def kandas(population: Population) -> Iterator[Kandas]:
    admin = MockAdmin(seed=1)
    admin.clock.set(datetime(2026, 10, 20, 12, 0, tzinfo=ALMATY))
    with serve_in_thread(create_app(population, admin)) as server:
        yield Kandas(server, admin, population)


@pytest.fixture
async def client(kandas: Kandas) -> AsyncIterator[KandasClient]:
    settings = HttpSettings(
        base_url=kandas.url, deadline=5.0, backoff_initial=0.05, backoff_max=0.2
    )
    async with KandasClient(settings) as kandas_client:
        yield kandas_client


def family(population: Population) -> Family:
    return next(f for f in population.families if len(f.members) >= 3)


def plan_for(fam: Family) -> PlanRequest:
    head, *others = fam.members
    return PlanRequest(
        kandas_iin=head.iin,
        region="Павлодарская область",
        career_centre="Карьерный центр г. Павлодара",
        quota_date=date(2026, 9, 1),
        members=(
            MemberRequest(
                iin=head.iin,
                relation="kandas",
                services=tuple(
                    PlannedServiceRequest(code=c, due_date=date(2026, 12, 1))
                    for c in (1, 2, 6, 7, 15)
                ),
            ),
            *(
                MemberRequest(
                    iin=m.iin,
                    relation=m.role,
                    services=(PlannedServiceRequest(code=7), PlannedServiceRequest(code=11)),
                )
                for m in others
            ),
        ),
    )


def report(iin: str, code: int, done_on: date, where: Geolocation = PAVLODAR) -> WorkReportRequest:
    return WorkReportRequest(
        member_iin=iin,
        service_code=code,
        done_on=done_on,
        comment="Услуга оказана, документы получены",
        media=(
            Media(kind="photo", url="https://files.example.kz/reports/1.jpg"),
            Media(kind="video", url="https://files.example.kz/reports/1.mp4"),
        ),
        geolocation=where,
    )


async def test_a_plan_with_a_work_report(kandas: Kandas, client: KandasClient) -> None:
    fam = family(kandas.population)
    plan = await client.create_plan(plan_for(fam), idempotency_key="ipr-kandas-1")
    assert len(plan.members) == len(fam.members)
    head = plan.member(fam.members[0].iin)
    assert head is not None and head.full_name.startswith(fam.members[0].last_name)
    registration = next(s for s in head.services if s.code == 7)
    assert registration.name_kk == "Тұрғылықты жері бойынша тіркеуге жәрдемдесу"
    assert registration.status is ServiceStatus.PLANNED

    done = await client.report_work(plan.id, report(head.iin, 7, date(2026, 10, 12)))
    assert done.report.geolocation.lat == PAVLODAR.lat
    assert [m.kind for m in done.report.media] == ["photo", "video"]

    again: Plan = await client.plan(plan.id)
    head_again = again.member(head.iin)
    assert head_again is not None
    service = next(s for s in head_again.services if s.code == 7)
    assert (service.status, service.done_on) == (ServiceStatus.DONE, date(2026, 10, 12))
    assert [r.id for r in again.reports] == [done.id]

    # The upload retried with the same key is the same plan, not a second one.
    assert (await client.create_plan(plan_for(fam), idempotency_key="ipr-kandas-1")).id == plan.id


async def test_reports_are_refused_naming_the_field(kandas: Kandas, client: KandasClient) -> None:
    fam = family(kandas.population)
    plan = await client.create_plan(plan_for(fam))
    head = fam.members[0].iin
    cases = [
        (report(head, 7, date(2026, 10, 12), Geolocation(lat=0.0, lon=0.0)), "geolocation.lat"),
        # Swapped coordinates: a classic of phone apps.
        (report(head, 7, date(2026, 10, 12), Geolocation(lat=52.0, lon=30.0)), "geolocation.lon"),
        (report(head, 9, date(2026, 10, 12)), "service_code"),
        (report(kandas.population.deceased_iin, 7, date(2026, 10, 12)), "member_iin"),
        (report(head, 7, date(2026, 10, 25)), "done_on"),
    ]
    for bad, field in cases:
        with pytest.raises(UpstreamRejected) as caught:
            await client.report_work(plan.id, bad)
        assert caught.value.field == field, caught.value
    with pytest.raises(UpstreamNotFound):
        await client.report_work("no-such-plan", report(head, 7, date(2026, 10, 12)))


@pytest.mark.parametrize("who", ["absent_iin", "deceased_iin"])
async def test_a_plan_for_unknown_or_dead_people_is_refused(
    kandas: Kandas, client: KandasClient, who: str
) -> None:
    fam = family(kandas.population)
    iin: str = getattr(kandas.population, who)
    extra = MemberRequest(iin=iin, services=(PlannedServiceRequest(code=1),))
    plan = plan_for(fam).model_copy(update={"members": (*plan_for(fam).members, extra)})
    with pytest.raises(UpstreamRejected) as caught:
        await client.create_plan(plan)
    assert caught.value.field == f"members[{len(fam.members)}].iin"


async def test_the_monthly_report_has_27_columns(kandas: Kandas, client: KandasClient) -> None:
    fam = family(kandas.population)
    plan = await client.create_plan(plan_for(fam))
    head, second = fam.members[0].iin, fam.members[1].iin
    await client.report_work(plan.id, report(head, 7, date(2026, 10, 12)))
    await client.report_work(plan.id, report(head, 15, date(2026, 10, 19)))
    await client.report_work(plan.id, report(second, 11, date(2026, 9, 30)))

    october = await client.monthly_report("2026-10")
    assert len(october.columns) == MONTHLY_REPORT_COLUMNS == 27
    assert [c.number for c in october.columns] == list(range(1, 28))
    assert [c.key for c in october.columns[:2]] == ["row", "iin"]
    assert october.columns[2 + 6].service_code == 7
    assert october.due_by == date(2026, 11, 5)
    assert [row[1] for row in october.rows] == [m.iin for m in fam.members]
    assert all(len(row) == 27 for row in october.rows)
    assert october.rows[0][0] == 1
    assert october.rows[0][2 + 6] == "2026-10-12"
    by_iin = october.by_iin()
    assert by_iin[head] == {7: date(2026, 10, 12), 15: date(2026, 10, 19)}
    assert by_iin[second] == {}, "September's work is not October's"
    september = (await client.monthly_report("2026-09")).by_iin()
    # The plan was uploaded in October: September lists only who had work done then.
    assert september == {second: {11: date(2026, 9, 30)}}

    with pytest.raises(UpstreamRejected) as caught:
        await client.monthly_report("2026-13")
    assert caught.value.field == "month"


async def test_an_injected_503_is_absorbed_and_journalled(
    kandas: Kandas, client: KandasClient
) -> None:
    async with httpx.AsyncClient(base_url=kandas.url) as admin_http:
        rule = await admin_http.post(
            "/__admin/faults",
            json={"service": "plans.create", "kind": "http_error", "status": 503, "times": 1},
        )
        assert rule.status_code == 201, rule.text
        plan = await client.create_plan(plan_for(family(kandas.population)))
        journal = (
            await admin_http.get("/__admin/requests", params={"service": "plans.create"})
        ).json()["requests"]
    assert [(r["http_status"], r["fault"]) for r in journal] == [
        (503, f"http_error#{rule.json()['id']}"),
        (201, None),
    ]
    assert (await client.plan(plan.id)).id == plan.id
