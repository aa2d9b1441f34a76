"""The mock portal in a thread and forms for the e-government flows' tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from adapters.egov import AppealForm, Attachment, EgovClient, HttpSettings
from gateway.signatures import TrustAnchors
from mocks.admin import MockAdmin
from mocks.egov import create_app
from mocks.population import Person, Population, generate_population
from mocks.shep.server import RunningServer, serve_in_thread
from tests.citizen_signing import CitizenAuthority

ALMATY = ZoneInfo("Asia/Almaty")
#: Friday 9 October 2026, 10:00 in Almaty: 2 working days run to Tuesday 13th.
RECEIVED = datetime(2026, 10, 9, 10, 0, tzinfo=ALMATY)
SERVICE = "Назначение государственной адресной социальной помощи"
REFERRAL = "Выдача направлений лицам на участие в активных формах содействия занятости"
LEB = "Управление координации занятости и социальных программ"


@dataclass
class Portal:
    server: RunningServer
    admin: MockAdmin
    population: Population

    @property
    def url(self) -> str:
        return self.server.base_url

    def outbox(self) -> dict[str, list[dict[str, Any]]]:
        answer = httpx.get(f"{self.url}/__admin/outbox", timeout=5)
        return dict(answer.json())

    def appeal(self, appeal_id: str) -> dict[str, Any]:
        return dict(httpx.get(f"{self.url}/api/v1/appeals/{appeal_id}", timeout=5).json())

    def unchecked(self, form: dict[str, Any]) -> dict[str, Any]:
        answer = httpx.post(f"{self.url}/__admin/appeals/unchecked", json=form, timeout=5)
        assert answer.status_code == 201, answer.text
        return dict(answer.json())


@pytest.fixture(scope="module", name="population")
def population_fixture() -> Population:
    return generate_population(42)


@pytest.fixture(name="portal")
def portal_fixture(population: Population) -> Iterator[Portal]:
    admin = MockAdmin(seed=1)
    admin.clock.set(RECEIVED)
    with serve_in_thread(create_app(population, admin)) as server:
        yield Portal(server, admin, population)


@pytest.fixture(name="egov")
async def egov_fixture(portal: Portal) -> AsyncIterator[EgovClient]:
    settings = HttpSettings(
        base_url=portal.url,
        deadline=3.0,
        backoff_initial=0.05,
        backoff_max=0.2,
        breaker_cool_down=0.5,
    )
    async with EgovClient(settings) as client:
        yield client


#: Regions whose offices are connected in gateway/data/agencies.json.
CONNECTED = ("г. Алматы", "г. Астана", "Карагандинская область")


OFFICES = {
    "г. Алматы": ("uzsp_almaty", "ozsp_almaty"),
    "г. Астана": ("uzsp_astana", "ozsp_astana"),
    "Карагандинская область": ("uzsp_karaganda", "ozsp_karaganda"),
}


def offices_of(person: Person) -> tuple[str, str]:
    """The regional office that receives the person's application, and the district office."""
    assert person.permanent_address is not None
    return OFFICES[person.permanent_address.region]


def connected_people(population: Population) -> list[Person]:
    """Adults living where the gateway's offices are connected."""
    return [
        p
        for p in population.people
        if not p.deceased
        and p.permanent_address is not None
        and p.permanent_address.region in CONNECTED
        and p.role in ("father", "mother")
    ]


CITIZENS = CitizenAuthority()
"""The tests' authority for the applicants' ЭЦП; the gateway trusts its root."""


def citizen_trust() -> TrustAnchors:
    return TrustAnchors.from_pem(CITIZENS.root_pem)


def form_for(person: Person, service: str = SERVICE, **changes: object) -> AppealForm:
    address = person.permanent_address
    assert address is not None
    values: dict[str, object] = {
        "iin": person.iin,
        "surname": person.last_name,
        "name": person.first_name,
        "patronymic": person.middle_name,
        "email": "citizen@example.kz",
        "postal_address": f"{address.locality}, {address.street}, {address.house}",
        "phone": "+77011234567",
        "service_name": service,
        "region": address.region,
        "recipient": f"{LEB} — {address.region}",
        "content": "Прошу назначить адресную социальную помощь семье.",
        "attachments": (Attachment(name="Справка о доходах", pages=2),),
    }
    values.update(changes)
    if "signature" not in changes:
        shaped = AppealForm.model_validate({**values, "signature": "-"}).model_dump(mode="json")
        values["signature"] = CITIZENS.sign(shaped)
    return AppealForm.model_validate(values)
