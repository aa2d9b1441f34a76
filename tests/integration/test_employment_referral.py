"""The referral to active employment measures (seed 002) on both stores, the real broker,
the mock portal, the mock labour market system and the mock Kandas system.

The preconditions come from the systems that hold them (registered unemployed: the
labour market system; kandas status: the Kandas system), never from the applicant; a
kandas applicant on the portal is refused naming the rule; the standard's procedures
are recorded against their minutes; the result is an e-document in the cabinet; the
portal's 1 working day, the 30 minutes in person and the complaints' 5 and 15 working
days are each breached by the one watcher when missed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.egov import EgovClient
from adapters.http_discipline import HttpSettings
from adapters.kandas_ais import KandasClient
from adapters.labour_market import LabourMarketClient
from gateway import deadline_watcher
from gateway.auth import ClientKind
from gateway.broker.portal_notifier import PortalNotifier
from gateway.services import complaints, employment_referral, portal_intake
from gateway.store.tables import deadlines, events, plans, tasks
from mocks.admin import MockAdmin
from mocks.kandas import create_app as kandas_app
from mocks.labour_market import create_app as labour_app
from mocks.population import Person, Population
from mocks.shep.server import serve_in_thread
from tests.conftest import AMQP_URL
from tests.integration.egov_fixtures import (  # noqa: F401  (fixtures)
    OFFICES,
    RECEIVED,
    REFERRAL,
    Portal,
    citizen_trust,
    egov_fixture,
    form_for,
    offices_of,
    population_fixture,
    portal_fixture,
)
from tests.integration.harness import Harness, eventually, start_harness

pytestmark = pytest.mark.integration

UNEMPLOYED = "720204379737"  # г. Алматы, registered unemployed in the seed-42 books
JOB_SEEKER = "851214408212"  # г. Алматы, a job seeker, not unemployed
OTHER_UNEMPLOYED = "951016470629"  # г. Астана, unemployed


def _settings(url: str) -> HttpSettings:
    return HttpSettings(
        base_url=url, deadline=2.0, backoff_initial=0.05, backoff_max=0.1, breaker_cool_down=0.3
    )


@pytest.fixture(name="others")
def others_fixture(population: Population) -> Iterator[dict[str, Any]]:
    labour_admin, kandas_admin = MockAdmin(seed=2), MockAdmin(seed=3)
    with (
        serve_in_thread(labour_app(population, labour_admin)) as labour,
        serve_in_thread(kandas_app(population, kandas_admin)) as kandas,
    ):
        yield {
            "labour_url": labour.base_url,
            "kandas_url": kandas.base_url,
            "labour_admin": labour_admin,
        }


@pytest.fixture(name="system")
async def system_fixture(
    engine: AsyncEngine, amqp_prefix: str, egov: EgovClient, others: dict[str, Any]
) -> AsyncIterator[dict[str, Any]]:
    h, stop = await start_harness(
        engine, amqp_prefix, AMQP_URL, "demo-centre", trust=citizen_trust()
    )
    h.clock.set(RECEIVED)
    for office in (o for pair in OFFICES.values() for o in pair):
        h.keys[office] = await h.add_key(ClientKind.agency, office)
    notifier = PortalNotifier(engine, h.link, h.ctx, h.clock, egov, first_pause=0.05, max_pause=0.2)
    await notifier.start()
    labour = LabourMarketClient(_settings(others["labour_url"]))
    kandas = KandasClient(_settings(others["kandas_url"]))
    try:
        yield {"h": h, "labour": labour, "kandas": kandas, **others}
    finally:
        await labour.aclose()
        await kandas.aclose()
        await notifier.stop()
        await stop()


def _person(population: Population, iin: str) -> Person:
    found = population.find(iin)
    assert found is not None
    return found


async def _poll(s: dict[str, Any], egov: EgovClient) -> portal_intake.PollResult:
    h: Harness = s["h"]
    result = await portal_intake.poll_once(
        h.engine, h.ctx, egov, labour=s["labour"], kandas=s["kandas"], now=h.clock.now()
    )
    h.relay.wake()
    return result


async def _case(engine: AsyncEngine, case_id: str) -> Any:
    async with engine.connect() as conn:
        return (await conn.execute(select(plans).where(plans.c.id == case_id))).one()


async def _events(engine: AsyncEngine, case_id: str, kind: str) -> list[Any]:
    async with engine.connect() as conn:
        return list(
            (
                await conn.execute(
                    select(events).where(events.c.plan_id == case_id, events.c.type == kind)
                )
            ).all()
        )


def _told(portal: Portal, appeal_id: str) -> tuple[list[Any], list[Any]]:
    box = portal.outbox()
    return (
        [c for c in box["cabinet"] if c["notification"].get("appeal_id") == appeal_id],
        [m for m in box["sms"] if m["sms"].get("appeal_id") == appeal_id],
    )


def _referral_form(person: Person, content: str) -> Any:
    return form_for(person, service=REFERRAL, content=content)


async def test_a_referral_on_the_portal_is_issued_as_an_e_document(
    system: dict[str, Any], portal: Portal, egov: EgovClient
) -> None:
    h: Harness = system["h"]
    person = _person(portal.population, UNEMPLOYED)
    _, district = offices_of(person)
    appeal = await egov.submit_appeal(
        _referral_form(person, "Прошу направление на общественные работы")
    )
    polled = await _poll(system, egov)
    opened = polled.opened
    assert len(opened) == 1, polled
    case_id = opened[0]
    case = await _case(h.engine, case_id)
    assert case.flow == "employment_referral"
    assert case.family["kind"]["code"] == "public_works"
    assert case.family["facts"]["registration"]["source"] == "АИС «Рынок труда»"
    assert case.family["facts"]["kandas_status"]["holds_status"] is False
    # The request signed with the applicant's ЭЦП is the consent p.5.1 asks for (issue 12).
    assert case.family["consent"]["given"] is True
    assert "ЭЦП" in case.family["consent"]["document"]

    for code, minutes in (
        ("accept", 20),
        ("to_head", 4),
        ("assign", 9),
        ("review", 10),
        ("sign", 3),
    ):
        h.clock.advance(timedelta(minutes=minutes))
        done = await h.http.post(
            f"/api/v1/employment-referrals/{case_id}/procedure",
            json={"step": code},
            headers=h.auth(district),
        )
        assert done.status_code == 200, done.text
    view = (
        await h.http.get(f"/api/v1/e-government/cases/{case_id}", headers=h.auth(district))
    ).json()
    rows = {r["code"]: r for r in view["procedure"]}
    assert rows["accept"]["within_norm"] is True and rows["accept"]["norm_minutes"] == 30
    assert rows["assign"]["within_norm"] is False and rows["assign"]["minutes"] == 9.0

    issued = await h.http.post(
        f"/api/v1/employment-referrals/{case_id}/decision",
        json={"decision": "issue"},
        headers=h.auth(district),
    )
    assert issued.status_code == 200, issued.text
    document = issued.json()["document"]
    assert document["kind"]["code"] == "public_works" and len(document["sha256"]) == 64

    async def told() -> bool:
        cabinet, sms = _told(portal, appeal.id)
        return (
            len(cabinet) == 1 and len(sms) == 1 and portal.appeal(appeal.id)["status"] == "answered"
        )

    await eventually(told, timeout=15)
    cabinet, _ = _told(portal, appeal.id)
    assert cabinet[0]["notification"]["document_url"].endswith(f"{case_id}/document")
    fetched = await h.http.get(
        f"/api/v1/employment-referrals/{case_id}/document", headers=h.auth(district)
    )
    assert fetched.json()["sha256"] == document["sha256"]


async def test_a_kandas_on_the_portal_is_refused_naming_the_rule(
    system: dict[str, Any], portal: Portal, egov: EgovClient
) -> None:
    person = _person(portal.population, OTHER_UNEMPLOYED)
    async with httpx.AsyncClient(base_url=system["kandas_url"]) as http:
        put = await http.put(f"/__admin/kandas-status/{person.iin}", json={"holds_status": True})
    assert put.status_code == 200
    appeal = await egov.submit_appeal(_referral_form(person, "employment: прошу направление"))
    refused = (await _poll(system, egov)).refused
    assert len(refused) == 1
    case = await _case(system["h"].engine, refused[0])
    assert case.status == "cancelled"
    assert case.family["refusal"]["rule"] == "no_kandas_on_portal"
    assert "оралман" in case.family["refusal"]["text"]
    (failed,) = await _events(system["h"].engine, refused[0], "precondition_failed")
    assert failed.data["facts"]["kandas_status"]["source"] == "АИС «Кандас»"

    async def told() -> bool:
        cabinet, sms = _told(portal, appeal.id)
        return (
            len(cabinet) == 1 and len(sms) == 1 and portal.appeal(appeal.id)["status"] == "refused"
        )

    await eventually(told, timeout=15)
    assert "оралман" in portal.appeal(appeal.id)["result"]


async def test_an_applicant_not_registered_unemployed_is_refused_naming_the_rule(
    system: dict[str, Any], portal: Portal, egov: EgovClient
) -> None:
    person = _person(portal.population, JOB_SEEKER)
    await egov.submit_appeal(_referral_form(person, "Направление на молодежную практику"))
    refused = (await _poll(system, egov)).refused
    case = await _case(system["h"].engine, refused[0])
    assert case.family["refusal"]["rule"] == "registered_unemployed"


async def test_a_silent_labour_market_leaves_the_application_on_the_portal(
    system: dict[str, Any], portal: Portal, egov: EgovClient
) -> None:
    person = _person(portal.population, UNEMPLOYED)
    system["labour_admin"].add_fault(
        {"service": "persons.registration", "kind": "http_error", "status": 503, "times": 100}
    )
    await egov.submit_appeal(_referral_form(person, "career_guidance"))
    first = await _poll(system, egov)
    assert first.waiting == 1 and first.opened == [] and first.refused == []
    system["labour_admin"].clear_faults()
    import asyncio

    await asyncio.sleep(0.4)  # the breaker cools down
    assert len((await _poll(system, egov)).opened) == 1


async def test_each_term_is_breached_when_missed(
    system: dict[str, Any], portal: Portal, egov: EgovClient
) -> None:
    h: Harness = system["h"]
    person = _person(portal.population, UNEMPLOYED)
    await egov.submit_appeal(_referral_form(person, "vocational_training"))
    case_id = (await _poll(system, egov)).opened[0]
    # Received Friday 9 October 2026, 10:00: 1 working day ends Monday 12th, 23:59:59.
    h.clock.set(RECEIVED + timedelta(days=3, hours=14, minutes=1))
    await deadline_watcher.scan(h.engine, h.clock.now())
    assert len(await _events(h.engine, case_id, "deadline_breached")) == 1

    async with h.engine.begin() as conn:
        await employment_referral.decide(
            conn,
            h.ctx,
            case_id,
            body=None,
            decision="refuse",
            reason="нет вакансий",
            actor="test",
            now=h.clock.now(),
        )
        await complaints.file(
            conn, h.ctx, case_id, to="provider", text="Не согласен", actor="test", now=h.clock.now()
        )
        await complaints.file(
            conn,
            h.ctx,
            case_id,
            to="quality_authority",
            text="Жалоба",
            actor="test",
            now=h.clock.now(),
        )
    filed = h.clock.now()
    async with h.engine.connect() as conn:
        terms = (
            await conn.execute(
                select(tasks.c.step, deadlines.c.due_at)
                .join(tasks, tasks.c.id == deadlines.c.task_id)
                .where(deadlines.c.plan_id == case_id)
            )
        ).all()
    due = {t.step: t.due_at for t in terms}
    assert due["complaint"] == h.ctx.calendar.deadline(filed, 5)
    assert due["quality_complaint"] == h.ctx.calendar.deadline(filed, 15)
    h.clock.set(due["complaint"] + timedelta(seconds=1))
    await deadline_watcher.scan(h.engine, h.clock.now())
    assert len(await _events(h.engine, case_id, "deadline_breached")) == 2
    h.clock.set(due["quality_complaint"] + timedelta(seconds=1))
    await deadline_watcher.scan(h.engine, h.clock.now())
    assert len(await _events(h.engine, case_id, "deadline_breached")) == 3


async def test_in_person_the_term_is_thirty_minutes(system: dict[str, Any], portal: Portal) -> None:
    h: Harness = system["h"]
    facts, record = await employment_referral.gather_facts(
        system["labour"], None, UNEMPLOYED, on_portal=False
    )
    async with h.engine.begin() as conn:
        case_id, created = await employment_referral.open_in_person(
            conn,
            h.ctx,
            office="ozsp_almaty",
            iin=UNEMPLOYED,
            kind_code="social_jobs",
            phone="+77011234567",
            facts=facts,
            facts_record=record,
            idempotency_key="q-1",
            actor="agency:ozsp_almaty",
            now=h.clock.now(),
        )
        again, created_again = await employment_referral.open_in_person(
            conn,
            h.ctx,
            office="ozsp_almaty",
            iin=UNEMPLOYED,
            kind_code="social_jobs",
            phone="+77011234567",
            facts=facts,
            facts_record=record,
            idempotency_key="q-1",
            actor="agency:ozsp_almaty",
            now=h.clock.now(),
        )
    assert created and not created_again and again == case_id
    h.clock.advance(timedelta(minutes=23))
    await deadline_watcher.scan(h.engine, h.clock.now())
    assert len(await _events(h.engine, case_id, "deadline_warning")) == 1
    h.clock.advance(timedelta(minutes=8))
    await deadline_watcher.scan(h.engine, h.clock.now())
    assert len(await _events(h.engine, case_id, "deadline_breached")) == 1
