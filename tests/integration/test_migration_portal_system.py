"""The migration portal's client against the mock portal over real HTTP (uvicorn in a thread).

A kandas family's application registered once however it is retried, its signed
hand-overs mirrored (a return with remarks, the repeat of one recognised), a refusal
that ends it; the portal's refusals naming the field; and faults injected through the
admin API that the client absorbs or reports, with the journal showing every call.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest

from adapters.migration_portal import (
    ApplicationIn,
    ApplicationMemberIn,
    ApplicationStatus,
    HandoverEventIn,
    HttpSettings,
    MigrationPortalClient,
    UpstreamError,
    UpstreamNotFound,
    UpstreamRejected,
)
from contracts.cases import Decision, Relation
from contracts.iin import next_valid_iin
from mocks.admin import MockAdmin
from mocks.migration_portal import PortalState, create_app
from mocks.population import Family, Population, generate_population
from mocks.shep.server import RunningServer, serve_in_thread

pytestmark = pytest.mark.integration

ALMATY = ZoneInfo("Asia/Almaty")
NOW = datetime(2026, 10, 5, 10, 0, tzinfo=ALMATY)
OFFICIAL = next_valid_iin(date(1979, 1, 1), "male", 17)
RELATION = {"mother": Relation.spouse, "child": Relation.child}


@dataclass
class Portal:
    server: RunningServer
    admin: MockAdmin
    state: PortalState
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
    admin.clock.set(NOW)
    app = create_app(population, admin)
    with serve_in_thread(app) as server:
        yield Portal(server, admin, app.state.portal, population)


@pytest.fixture
async def client(portal: Portal) -> AsyncIterator[MigrationPortalClient]:
    settings = HttpSettings(
        base_url=portal.url, deadline=5.0, read_timeout=2.0, backoff_initial=0.05, backoff_max=0.2
    )
    async with MigrationPortalClient(settings) as portal_client:
        yield portal_client


def kandas_family(population: Population) -> Family:
    family = population.family_of(population.foreign_iin)
    assert family is not None and len(family.members) >= 3
    return family


def application_of(family: Family, **changes: object) -> ApplicationIn:
    applicant, *others = family.members
    form = ApplicationIn(
        applicant_iin=applicant.iin,
        members=[
            ApplicationMemberIn(iin=m.iin, relation=RELATION.get(m.role, Relation.other))
            for m in others
        ],
        departure_region="turkestan",
        settlement_region="north_kazakhstan",
        career_centre="cc_turkestan",
        external_id="case-42",
    )
    return form.model_copy(update=changes)


def handover(
    step: str,
    body: str,
    decision: Decision = Decision.forward,
    *,
    round: int = 0,
    remarks: str | None = None,
    minutes: int = 0,
) -> HandoverEventIn:
    signature = f"{step}:{round}:{decision.value}".encode()
    return HandoverEventIn(
        step=step,
        round=round,
        body=body,
        decision=decision,
        remarks=remarks,
        signed_at=NOW + timedelta(minutes=minutes),
        signer_iin=OFFICIAL,
        signature_digest=hashlib.sha256(signature).hexdigest(),
    )


async def test_an_application_with_its_handovers(
    portal: Portal, client: MigrationPortalClient
) -> None:
    family = kandas_family(portal.population)
    registered = await client.register_application(
        application_of(family), idempotency_key="case-42:register"
    )
    assert registered.number == "MIG-2026-000001"
    assert registered.registered_at == NOW
    again = await client.register_application(
        application_of(family), idempotency_key="case-42:register"
    )
    assert again == registered, "the same key is the same registration"
    assert len(portal.state.applications) == 1

    found = await client.application(registered.number)
    assert found.status is ApplicationStatus.registered and found.events == []
    applicant = family.members[0]
    assert found.applicant_name.startswith(f"{applicant.last_name} {applicant.first_name}")
    assert [m.iin for m in found.members] == [m.iin for m in family.members[1:]]
    assert found.members[0].relation is Relation.spouse
    assert found.external_id == "case-42"

    chain = [
        handover("cc_check", "cc_turkestan"),
        handover(
            "lmc_review",
            "lmc_turkestan",
            Decision.return_,
            remarks="Уточните состав семьи",
            minutes=30,
        ),
        handover("cc_check", "cc_turkestan", round=1, minutes=60),
    ]
    recorded = [await client.record_handover(registered.number, e) for e in chain]
    assert [r.sequence for r in recorded] == [1, 2, 3]
    # The second hand-over mirrored again, without a key: recognised by its signature.
    repeat = await client.record_handover(registered.number, chain[1])
    assert repeat == recorded[1]

    found = await client.application(registered.number)
    assert found.status is ApplicationStatus.in_progress
    assert [(e.step, e.round, e.decision) for e in found.events] == [
        ("cc_check", 0, Decision.forward),
        ("lmc_review", 0, Decision.return_),
        ("cc_check", 1, Decision.forward),
    ]
    assert found.events[1].remarks == "Уточните состав семьи"
    assert found.events[1].signed_at == NOW + timedelta(minutes=30)

    refused = handover(
        "lmc_review", "lmc_turkestan", Decision.refuse, round=1, remarks="Отказ", minutes=90
    )
    await client.record_handover(registered.number, refused)
    assert (await client.application(registered.number)).status is ApplicationStatus.refused
    with pytest.raises(UpstreamRejected) as caught:
        await client.record_handover(
            registered.number, handover("leb_departure", "leb_turkestan", minutes=120)
        )
    assert (caught.value.status, caught.value.field) == (409, "number")


async def test_a_digest_reused_for_another_handover_is_a_conflict(
    portal: Portal, client: MigrationPortalClient
) -> None:
    number = (
        await client.register_application(application_of(kandas_family(portal.population)))
    ).number
    first = handover("cc_check", "cc_turkestan")
    await client.record_handover(number, first)
    forged = first.model_copy(update={"step": "lmc_review", "body": "lmc_turkestan"})
    with pytest.raises(UpstreamRejected) as caught:
        await client.record_handover(number, forged)
    assert (caught.value.status, caught.value.field) == (409, "signature_digest")


async def test_refusals_name_the_field(portal: Portal, client: MigrationPortalClient) -> None:
    people = portal.population
    family = kandas_family(people)
    members = application_of(family).members
    absent = ApplicationMemberIn(iin=people.absent_iin, relation=Relation.child)
    dead = ApplicationMemberIn(iin=people.deceased_iin, relation=Relation.parent)
    twice = ApplicationMemberIn(iin=members[0].iin, relation=Relation.other)
    cases: list[tuple[ApplicationIn, list[str]]] = [
        (application_of(family, members=[*members, absent]), [f"members[{len(members)}].iin"]),
        (application_of(family, members=[*members, dead]), [f"members[{len(members)}].iin"]),
        (application_of(family, members=[*members, twice]), [f"members[{len(members)}].iin"]),
        (
            application_of(
                family,
                members=[ApplicationMemberIn(iin=family.members[0].iin, relation=Relation.spouse)],
            ),
            ["members[0].iin"],
        ),
        (application_of(family, settlement_region="turkestan"), ["settlement_region"]),
        (
            application_of(family, departure_region="atlantis"),
            ["departure_region", "career_centre"],
        ),
        (application_of(family, career_centre="cc_pavlodar"), ["career_centre"]),
        (application_of(family, career_centre="cc_nowhere"), ["career_centre"]),
    ]
    for form, fields in cases:
        with pytest.raises(UpstreamRejected) as caught:
            await client.register_application(form)
        assert caught.value.fields == fields, caught.value
    assert portal.state.applications == {}, "nothing refused was registered"


async def test_an_applicant_without_kandas_status_is_refused(
    portal: Portal, client: MigrationPortalClient
) -> None:
    family = kandas_family(portal.population)
    async with httpx.AsyncClient(base_url=portal.url) as admin_http:
        answer = await admin_http.put(
            f"/__admin/kandas-status/{family.members[0].iin}", json={"holds": False}
        )
        assert answer.json()["holds"] is False
        with pytest.raises(UpstreamRejected) as caught:
            await client.register_application(application_of(family))
        assert (caught.value.field, caught.value.reason) == (
            "applicant_iin",
            "the person has no kandas status",
        )
        # A member need not hold the status: the spouse applies with the applicant as member.
        spouse, applicant = family.members[1], family.members[0]
        swapped = application_of(
            family,
            applicant_iin=spouse.iin,
            members=[ApplicationMemberIn(iin=applicant.iin, relation=Relation.spouse)],
        )
        assert (await client.register_application(swapped)).number
        (await admin_http.post("/__admin/data/reset")).raise_for_status()
    assert (await client.register_application(application_of(family))).number == "MIG-2026-000001"


async def test_handover_rules(portal: Portal, client: MigrationPortalClient) -> None:
    number = (
        await client.register_application(application_of(kandas_family(portal.population)))
    ).number
    with pytest.raises(UpstreamRejected) as caught:
        await client.record_handover(
            number, handover("lmc_review", "lmc_turkestan", Decision.return_, remarks="   ")
        )
    assert caught.value.field == "remarks"
    with pytest.raises(UpstreamNotFound):
        await client.record_handover("MIG-2026-999999", handover("cc_check", "cc_turkestan"))
    with pytest.raises(UpstreamNotFound):
        await client.application("MIG-2026-999999")
    # What the contract cannot say is checked by the model before it leaves.
    with pytest.raises(ValueError, match="signature_digest"):
        HandoverEventIn.model_validate(
            {**handover("cc_check", "cc_turkestan").model_dump(), "signature_digest": "abc"}
        )


async def test_injected_faults_are_absorbed_and_journalled(
    portal: Portal, client: MigrationPortalClient
) -> None:
    family = kandas_family(portal.population)
    async with httpx.AsyncClient(base_url=portal.url) as admin_http:
        rule = await admin_http.post(
            "/__admin/faults",
            json={
                "service": "applications.register",
                "kind": "http_error",
                "status": 503,
                "times": 1,
            },
        )
        assert rule.status_code == 201, rule.text
        number = (await client.register_application(application_of(family))).number
        reset = await admin_http.post(
            "/__admin/faults",
            json={"service": "events.record", "kind": "connection_reset", "times": 1},
        )
        recorded = await client.record_handover(number, handover("cc_check", "cc_turkestan"))
        register_calls = (
            await admin_http.get("/__admin/requests", params={"service": "applications.register"})
        ).json()["requests"]
        event_calls = (
            await admin_http.get("/__admin/requests", params={"service": "events.record"})
        ).json()["requests"]
    assert [(r["http_status"], r["fault"]) for r in register_calls] == [
        (503, f"http_error#{rule.json()['id']}"),
        (201, None),
    ]
    assert [(r["http_status"], r["fault"]) for r in event_calls] == [
        (None, f"connection_reset#{reset.json()['id']}"),
        (202, None),
    ]
    assert recorded.sequence == 1
    assert len((await client.application(number)).events) == 1


async def test_a_lost_answer_retried_with_its_key_registers_once(
    portal: Portal, client: MigrationPortalClient
) -> None:
    """The portal registered it but the answer arrived cut short: not a transient failure
    (the client does not retry a broken answer by itself), so the job retries with its key."""
    family = kandas_family(portal.population)
    async with httpx.AsyncClient(base_url=portal.url) as admin_http:
        await admin_http.post(
            "/__admin/faults",
            json={"service": "applications.register", "kind": "truncated", "times": 1},
        )
        with pytest.raises(UpstreamError):
            await client.register_application(application_of(family), idempotency_key="job-7")
        again = await client.register_application(application_of(family), idempotency_key="job-7")
        count = await admin_http.get(
            "/__admin/requests/count", params={"service": "applications.register"}
        )
    assert list(portal.state.applications) == [again.number]
    assert count.json() == {"count": 2}


async def test_a_slow_answer_is_retried_without_a_second_application(
    portal: Portal,
) -> None:
    """The first attempt times out while the portal still works on it; the retry carries
    the same key, so whichever the portal finishes second is answered with the first."""
    settings = HttpSettings(
        base_url=portal.url, deadline=5.0, read_timeout=0.2, backoff_initial=0.05, backoff_max=0.1
    )
    async with (
        httpx.AsyncClient(base_url=portal.url) as admin_http,
        MigrationPortalClient(settings) as impatient,
    ):
        await admin_http.post(
            "/__admin/faults",
            json={"service": "applications.register", "kind": "delay", "delay_ms": 600, "times": 1},
        )
        registered = await impatient.register_application(
            application_of(kandas_family(portal.population))
        )
        for _ in range(100):  # the slow first attempt finishes on the server afterwards
            journal = (await admin_http.get("/__admin/requests/count")).json()["count"]
            if journal == 2:
                break
            await asyncio.sleep(0.02)
    assert journal == 2
    assert list(portal.state.applications) == [registered.number]
