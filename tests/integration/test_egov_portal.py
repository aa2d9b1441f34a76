"""The portal client against the mock portal over real HTTP (uvicorn in a thread).

An application's life as a receiving body's system sees it, the portal's refusals
naming their field, and a fault injected through the mock's admin API that the
client's retry absorbs, with the journal showing both calls.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest

from adapters.egov import (
    AppealForm,
    AppealStatus,
    Attachment,
    CabinetNotification,
    EgovClient,
    HttpSettings,
    SmsMessage,
    UpstreamError,
    UpstreamRejected,
    UpstreamUnavailable,
)
from mocks.admin import MockAdmin
from mocks.egov import create_app, load_register
from mocks.population import Person, Population, generate_population
from mocks.shep.server import RunningServer, serve_in_thread

pytestmark = pytest.mark.integration

ALMATY = ZoneInfo("Asia/Almaty")
SERVICE = "Назначение государственной адресной социальной помощи"
# Friday 9 October 2026, 10:00 in Almaty: the 2 working days run to Tuesday 13th.
RECEIVED = datetime(2026, 10, 9, 10, 0, tzinfo=ALMATY)


@dataclass
class Portal:
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
def portal(population: Population) -> Iterator[Portal]:
    admin = MockAdmin(seed=1)
    admin.clock.set(RECEIVED)
    with serve_in_thread(create_app(population, admin)) as server:
        yield Portal(server, admin, population)


@pytest.fixture
async def egov(portal: Portal) -> AsyncIterator[EgovClient]:
    settings = HttpSettings(
        base_url=portal.url, deadline=5.0, backoff_initial=0.05, backoff_max=0.2
    )
    async with EgovClient(settings) as client:
        yield client


def applicant(population: Population) -> Person:
    return next(
        p
        for p in population.people
        if p.role == "father" and not p.deceased and p.permanent_address is not None
    )


def form_for(person: Person, **changes: object) -> AppealForm:
    register = load_register()
    service = register.service(SERVICE)
    assert service is not None
    address = person.permanent_address
    assert address is not None
    region = address.region
    values: dict[str, object] = {
        "iin": person.iin,
        "surname": person.last_name,
        "name": person.first_name,
        "patronymic": person.middle_name,
        "email": "citizen@example.kz",
        "postal_address": f"{address.locality}, {address.street}",
        "phone": "+77011234567",
        "service_name": SERVICE,
        "region": region,
        "recipient": register.recipient(service, region),
        "content": "Прошу назначить адресную социальную помощь семье.",
        "attachments": (
            Attachment(name="Справка о доходах", pages=2),
            Attachment(name="Удостоверение личности", pages=1, note="копия"),
        ),
        "signature": "MIIB-test-signature",
    }
    values.update(changes)
    return AppealForm.model_validate(values)


async def test_an_appeals_life(portal: Portal, egov: EgovClient) -> None:
    person = applicant(portal.population)
    submitted = await egov.submit_appeal(form_for(person))
    assert submitted.status is AppealStatus.RECEIVED
    assert submitted.forward_due == datetime(2026, 10, 13, 23, 59, 59, tzinfo=ALMATY)

    new = await egov.new_appeals()
    assert [a.id for a in new] == [submitted.id]
    assert new[0].form.attachments[1].note == "копия"

    portal.admin.clock.advance(timedelta(days=3).total_seconds())  # Monday 12th
    forwarded = await egov.forward(submitted.id, "Отдел занятости и социальных программ района")
    assert forwarded.forwarded_on_time is True
    assert await egov.new_appeals() == []
    assert [a.id for a in await egov.appeals(AppealStatus.FORWARDED)] == [submitted.id]

    await egov.set_status(submitted.id, AppealStatus.IN_REVIEW)
    answered = await egov.set_status(
        submitted.id, AppealStatus.ANSWERED, result="Назначена АСП с 1 ноября 2026 года."
    )
    assert answered.result == "Назначена АСП с 1 ноября 2026 года."
    assert [e.status for e in answered.history] == [
        AppealStatus.RECEIVED,
        AppealStatus.FORWARDED,
        AppealStatus.IN_REVIEW,
        AppealStatus.ANSWERED,
    ]

    receipt = await egov.notify_cabinet(
        CabinetNotification(
            iin=person.iin,
            title=f"Обращение {submitted.number}",
            text=answered.result or "",
            appeal_id=submitted.id,
        ),
        idempotency_key=f"{submitted.id}:answered:cabinet",
    )
    text = f"Обращение {submitted.number} рассмотрено. Результат в личном кабинете egov.kz"
    sms = await egov.send_sms(SmsMessage(phone="+77011234567", text=text, appeal_id=submitted.id))
    assert sms.encoding == "UCS-2" and sms.segments == 2  # Cyrillic: 67 a segment once split

    async with httpx.AsyncClient(base_url=portal.url) as admin_http:
        outbox = (await admin_http.get("/__admin/outbox")).json()
        journal = (await admin_http.get("/__admin/requests")).json()["requests"]
    assert [c["id"] for c in outbox["cabinet"]] == [receipt.id]
    assert outbox["cabinet"][0]["notification"]["appeal_id"] == submitted.id
    assert [s["sms"]["text"] for s in outbox["sms"]] == [text]
    assert [r["service"] for r in journal][-2:] == ["notifications.cabinet", "notifications.sms"]


async def test_a_late_forward_is_marked(portal: Portal, egov: EgovClient) -> None:
    appeal = await egov.submit_appeal(form_for(applicant(portal.population)))
    portal.admin.clock.advance(timedelta(days=5).total_seconds())  # Wednesday 14th
    forwarded = await egov.forward(appeal.id, "Отдел занятости")
    assert forwarded.forwarded_on_time is False


async def test_refusals_name_the_field(portal: Portal, egov: EgovClient) -> None:
    person = applicant(portal.population)
    cases = [
        (form_for(person, recipient="Акимат города"), "recipient"),
        (form_for(person, service_name="Выдача лицензии на охоту"), "service_name"),
        (form_for(person, iin=portal.population.absent_iin), "iin"),
        (form_for(person, iin=portal.population.deceased_iin), "iin"),
        (form_for(person, phone="12345"), "phone"),
    ]
    for form, field in cases:
        with pytest.raises(UpstreamRejected) as caught:
            await egov.submit_appeal(form)
        assert caught.value.field == field, caught.value

    appeal = await egov.submit_appeal(form_for(person))
    with pytest.raises(UpstreamRejected) as caught:
        await egov.set_status(appeal.id, AppealStatus.ANSWERED, result="…")
    assert caught.value.field == "status" and caught.value.status == 409
    with pytest.raises(UpstreamRejected) as caught:
        await egov.set_status(appeal.id, AppealStatus.FORWARDED)
    assert caught.value.field == "district_office"
    with pytest.raises(UpstreamRejected) as caught:
        await egov.send_sms(SmsMessage(phone="+77011234567", text="Ж" * 500))
    assert caught.value.field == "text" and "segments" in caught.value.reason


async def test_a_retried_submission_files_one_appeal(portal: Portal, egov: EgovClient) -> None:
    form = form_for(applicant(portal.population))
    first = await egov.submit_appeal(form, idempotency_key="portal-form-77")
    again = await egov.submit_appeal(form, idempotency_key="portal-form-77")
    assert again.id == first.id
    assert len(await egov.new_appeals()) == 1


async def test_an_injected_503_is_absorbed_and_journalled(portal: Portal, egov: EgovClient) -> None:
    async with httpx.AsyncClient(base_url=portal.url) as admin_http:
        rule = await admin_http.post(
            "/__admin/faults",
            json={"service": "appeals.list", "kind": "http_error", "status": 503, "times": 1},
        )
        assert rule.status_code == 201, rule.text
        assert await egov.new_appeals() == []
        journal = (
            await admin_http.get("/__admin/requests", params={"service": "appeals.list"})
        ).json()["requests"]
    assert [(r["http_status"], r["fault"]) for r in journal] == [
        (503, f"http_error#{rule.json()['id']}"),
        (200, None),
    ]


async def test_a_dropped_connection_on_submit_is_retried_once_safely(
    portal: Portal, egov: EgovClient
) -> None:
    # The retry carries the same Idempotency-Key, so a portal that did see the first
    # attempt would answer it again rather than file a second application.
    async with httpx.AsyncClient(base_url=portal.url) as admin_http:
        await admin_http.post(
            "/__admin/faults",
            json={"service": "appeals.submit", "kind": "connection_reset", "times": 1},
        )
        appeal = await egov.submit_appeal(form_for(applicant(portal.population)))
        journal = (
            await admin_http.get("/__admin/requests", params={"service": "appeals.submit"})
        ).json()["requests"]
    assert [r["http_status"] for r in journal] == [None, 201]
    assert [a.id for a in await egov.new_appeals()] == [appeal.id]


async def test_a_malformed_answer_is_an_error_not_a_retry(portal: Portal, egov: EgovClient) -> None:
    async with httpx.AsyncClient(base_url=portal.url) as admin_http:
        await admin_http.post(
            "/__admin/faults", json={"service": "appeals.list", "kind": "malformed", "times": 1}
        )
        with pytest.raises(UpstreamError) as caught:
            await egov.new_appeals()
        assert not isinstance(caught.value, UpstreamUnavailable)
        count = (
            await admin_http.get("/__admin/requests/count", params={"service": "appeals.list"})
        ).json()["count"]
    assert count == 1
