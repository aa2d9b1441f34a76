"""The labour market client against the mock system over real HTTP (uvicorn in a thread).

The p.18 draft for a kandas, sent once however it is retried and read back; refusals
naming the field; the registration of people the population has on the books (job
seeker, unemployed, not registered) and 404 for an IIN nobody holds; faults injected
through the admin API, absorbed by the client's retry or reported, with the journal.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import httpx
import pytest

from adapters.labour_market import (
    DraftReason,
    DraftStatus,
    HttpSettings,
    LabourMarketClient,
    RegistrationStatus,
    UnemploymentDraftIn,
    UpstreamError,
    UpstreamNotFound,
    UpstreamRejected,
    UpstreamUnavailable,
)
from mocks.admin import MockAdmin
from mocks.labour_market import LabourMarketState, create_app
from mocks.population import Population, generate_population
from mocks.shep.server import RunningServer, serve_in_thread

pytestmark = pytest.mark.integration

ALMATY = ZoneInfo("Asia/Almaty")
NOW = datetime(2026, 10, 20, 11, 0, tzinfo=ALMATY)


@dataclass
class LabourMarket:
    server: RunningServer
    admin: MockAdmin
    state: LabourMarketState
    population: Population

    @property
    def url(self) -> str:
        return self.server.base_url


@pytest.fixture(scope="module")
def population() -> Population:
    return generate_population(42)


@pytest.fixture
def labour(population: Population) -> Iterator[LabourMarket]:
    admin = MockAdmin(seed=1)
    admin.clock.set(NOW)
    app = create_app(population, admin)
    with serve_in_thread(app) as server:
        yield LabourMarket(server, admin, app.state.labour_market, population)


@pytest.fixture
async def client(labour: LabourMarket) -> AsyncIterator[LabourMarketClient]:
    settings = HttpSettings(
        base_url=labour.url, deadline=5.0, backoff_initial=0.05, backoff_max=0.2
    )
    async with LabourMarketClient(settings) as labour_client:
        yield labour_client


def draft_for(iin: str, reason: DraftReason = DraftReason.no_job) -> UnemploymentDraftIn:
    return UnemploymentDraftIn(
        iin=iin, career_centre="cc_north_kazakhstan", reason=reason, external_id="case-42"
    )


async def test_a_draft_for_a_kandas(labour: LabourMarket, client: LabourMarketClient) -> None:
    kandas = labour.population.foreign_iin
    draft = await client.create_unemployment_draft(
        draft_for(kandas, DraftReason.declined), idempotency_key="case-42:unemployment:0"
    )
    assert draft.draft_id == "UD-2026-000001"
    assert (draft.status, draft.reason, draft.iin) == (
        DraftStatus.draft,
        DraftReason.declined,
        kandas,
    )
    assert draft.created_at == NOW
    again = await client.create_unemployment_draft(
        draft_for(kandas, DraftReason.declined), idempotency_key="case-42:unemployment:0"
    )
    assert again == draft and len(labour.state.drafts) == 1
    assert await client.unemployment_draft(draft.draft_id) == draft
    with pytest.raises(UpstreamNotFound):
        await client.unemployment_draft("UD-2026-999999")
    # A draft is not a decision: the person's registration has not changed.
    assert (await client.registration(kandas)).status is RegistrationStatus.not_registered


async def test_drafts_are_refused_naming_the_field(
    labour: LabourMarket, client: LabourMarketClient
) -> None:
    people = labour.population
    child = next(
        p
        for f in people.families
        for p in f.members
        if p.role == "child" and p.birth_date.year >= 2015
    )
    cases = [
        (draft_for(people.absent_iin), "iin", "no such person"),
        (draft_for(people.deceased_iin), "iin", "deceased"),
        (draft_for(child.iin), "iin", "working age"),
        (
            draft_for(people.foreign_iin).model_copy(update={"career_centre": "cc_atlantis"}),
            "career_centre",
            "no such career centre",
        ),
    ]
    for form, field, reason in cases:
        with pytest.raises(UpstreamRejected) as caught:
            await client.create_unemployment_draft(form)
        assert caught.value.field == field, caught.value
        assert reason in caught.value.reason
    assert labour.state.drafts == {}


async def test_registrations_from_the_population(
    labour: LabourMarket, client: LabourMarketClient
) -> None:
    books = labour.state.books
    by_status = {
        status: next(iin for iin, r in books.items() if r.status is status)
        for status in (RegistrationStatus.unemployed, RegistrationStatus.job_seeker)
    }
    unemployed = await client.registration(by_status[RegistrationStatus.unemployed])
    assert unemployed.registered_unemployed
    assert unemployed.job_seeker_since is not None and unemployed.unemployed_since is not None
    assert unemployed.job_seeker_since < unemployed.unemployed_since
    assert unemployed.career_centre is not None and unemployed.career_centre.startswith("cc_")
    assert unemployed.as_of == NOW

    seeker = await client.registration(by_status[RegistrationStatus.job_seeker])
    assert (seeker.status, seeker.unemployed_since) == (RegistrationStatus.job_seeker, None)

    not_on_books = next(p.iin for p in labour.population.people if p.iin not in books)
    nobody = await client.registration(not_on_books)
    assert nobody.status is RegistrationStatus.not_registered
    assert nobody.job_seeker_since is None

    with pytest.raises(UpstreamNotFound):
        await client.registration(labour.population.absent_iin)

    async with httpx.AsyncClient(base_url=labour.url) as admin_http:
        listed = (await admin_http.get("/__admin/registrations")).json()["registrations"]
        invalid = await admin_http.get("/api/v1/persons/123/registration")
    assert {r["iin"] for r in listed} == set(books)
    assert invalid.status_code == 422
    assert invalid.json()["errors"][0]["field"] == "iin"


async def test_injected_faults_are_absorbed_or_reported_and_journalled(
    labour: LabourMarket, client: LabourMarketClient
) -> None:
    kandas = labour.population.foreign_iin
    async with httpx.AsyncClient(base_url=labour.url) as admin_http:
        rule = await admin_http.post(
            "/__admin/faults",
            json={"service": "drafts.create", "kind": "http_error", "status": 503, "times": 2},
        )
        assert rule.status_code == 201, rule.text
        draft = await client.create_unemployment_draft(draft_for(kandas))
        journal = (
            await admin_http.get("/__admin/requests", params={"service": "drafts.create"})
        ).json()["requests"]

        # Down for longer than the deadline allows: a typed "unavailable", not a hang.
        await admin_http.post(
            "/__admin/faults",
            json={"service": "persons.registration", "kind": "http_error", "status": 502},
        )
        with pytest.raises(UpstreamUnavailable):
            await client.registration(kandas)
        failed = (
            await admin_http.get(
                "/__admin/requests/count", params={"service": "persons.registration"}
            )
        ).json()["count"]
        (await admin_http.delete("/__admin/faults")).raise_for_status()

        # A broken body is a contract problem: reported at once, not retried.
        await admin_http.post(
            "/__admin/faults",
            json={"service": "drafts.get", "kind": "malformed", "times": 1},
        )
        with pytest.raises(UpstreamError) as caught:
            await client.unemployment_draft(draft.draft_id)
        gets = (
            await admin_http.get("/__admin/requests/count", params={"service": "drafts.get"})
        ).json()["count"]
    fault = f"http_error#{rule.json()['id']}"
    assert [(r["http_status"], r["fault"]) for r in journal] == [
        (503, fault),
        (503, fault),
        (201, None),
    ]
    assert len(labour.state.drafts) == 1
    assert failed >= 2, "retried before giving up"
    assert not isinstance(caught.value, UpstreamUnavailable)
    assert gets == 1
    assert (await client.unemployment_draft(draft.draft_id)).draft_id == draft.draft_id
