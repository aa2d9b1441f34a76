"""The e-application (order 109) on both stores, the real broker and the mock portal.

From the portal's inbox to the result in the citizen's cabinet and by SMS: polled and
deduplicated, forwarded and checked within their terms, a question to the applicant on
the timeline, exactly one notice of each kind even after a relay crash between publish
and mark, a bad form refused with its fields named and the portal told, a portal that
is down waited for.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.egov import EgovClient
from gateway import deadline_watcher
from gateway.auth import ClientKind
from gateway.broker.outbox_relay import OutboxRelay
from gateway.broker.portal_notifier import PortalNotifier
from gateway.services import e_application, portal_intake
from gateway.store.tables import deadlines, events, outbox, plans
from tests.conftest import AMQP_URL
from tests.integration.egov_fixtures import (  # noqa: F401  (fixtures)
    OFFICES,
    RECEIVED,
    Portal,
    citizen_trust,
    connected_people,
    egov_fixture,
    form_for,
    offices_of,
    population_fixture,
    portal_fixture,
)
from tests.integration.harness import Harness, eventually, start_harness

pytestmark = pytest.mark.integration


@pytest.fixture
async def system(
    engine: AsyncEngine, amqp_prefix: str, egov: EgovClient
) -> AsyncIterator[tuple[Harness, PortalNotifier]]:
    h, stop = await start_harness(
        engine, amqp_prefix, AMQP_URL, "demo-centre", trust=citizen_trust()
    )
    h.clock.set(RECEIVED)
    for office in (o for pair in OFFICES.values() for o in pair):
        h.keys[office] = await h.add_key(ClientKind.agency, office)
    notifier = PortalNotifier(engine, h.link, h.ctx, h.clock, egov, first_pause=0.05, max_pause=0.2)
    await notifier.start()
    try:
        yield h, notifier
    finally:
        await notifier.stop()
        await stop()


async def _poll(h: Harness, egov: EgovClient) -> portal_intake.PollResult:
    result = await portal_intake.poll_once(
        h.engine, h.ctx, egov, labour=None, kandas=None, now=h.clock.now()
    )
    h.relay.wake()
    return result


async def _timeline(engine: AsyncEngine, case_id: str) -> list[Any]:
    async with engine.connect() as conn:
        return list(
            (
                await conn.execute(
                    select(events).where(events.c.plan_id == case_id).order_by(events.c.id)
                )
            ).all()
        )


def _for(outbox_: dict[str, list[dict[str, Any]]], appeal_id: str) -> tuple[list[Any], list[Any]]:
    cabinet = [c for c in outbox_["cabinet"] if c["notification"].get("appeal_id") == appeal_id]
    sms = [s for s in outbox_["sms"] if s["sms"].get("appeal_id") == appeal_id]
    return cabinet, sms


async def test_an_application_through_to_its_result_once(
    system: tuple[Harness, PortalNotifier], portal: Portal, egov: EgovClient
) -> None:
    h, _ = system
    person = connected_people(portal.population)[0]
    appeal = await egov.submit_appeal(form_for(person))

    first = await _poll(h, egov)
    again = await _poll(h, egov)  # the portal still lists it as new: the same case
    assert len(first.opened) == 1 and again.opened == [] and again.known == 1
    case_id = first.opened[0]

    region = person.permanent_address.region  # type: ignore[union-attr]
    office, district = offices_of(person)
    refused = await h.http.post(
        f"/api/v1/e-applications/{case_id}/forward", headers=h.auth(district)
    )
    assert refused.status_code == 403, refused.text  # the district office does not forward

    h.clock.advance(timedelta(hours=2))
    forwarded = await h.http.post(
        f"/api/v1/e-applications/{case_id}/forward", headers=h.auth(office)
    )
    assert forwarded.status_code == 200, forwarded.text
    view = forwarded.json()
    assert [(s["step"], s["body"], s["state"]) for s in view["steps"]] == [
        ("forward", office, "forwarded"),
        ("check", district, "created"),
    ]
    assert view["document"]["routing"]["recipient"].endswith(region)

    asked = await h.http.post(
        f"/api/v1/e-applications/{case_id}/contacts",
        json={"channel": "phone", "question": "Уточните состав семьи", "answer": "4 человека"},
        headers=h.auth(district),
    )
    assert asked.status_code == 201, asked.text
    checked = await h.http.post(
        f"/api/v1/e-applications/{case_id}/check",
        json={"decision": "forward", "result": "Назначена адресная социальная помощь."},
        headers=h.auth(district),
    )
    assert checked.status_code == 200, checked.text
    assert checked.json()["status"] == "completed"

    async def told() -> bool:
        cabinet, sms = _for(portal.outbox(), appeal.id)
        return (
            len(cabinet) == 1 and len(sms) == 1 and portal.appeal(appeal.id)["status"] == "answered"
        )

    await eventually(told, timeout=15)
    await asyncio.sleep(0.5)  # nothing more arrives
    cabinet, sms = _for(portal.outbox(), appeal.id)
    assert len(cabinet) == 1 and len(sms) == 1
    assert cabinet[0]["notification"]["text"] == "Назначена адресная социальная помощь."
    history = [e["status"] for e in portal.appeal(appeal.id)["history"]]
    assert history == ["received", "forwarded", "in_review", "answered"]

    kinds = [e.type for e in await _timeline(h.engine, case_id)]
    assert "applicant_contacted" in kinds
    contact = next(e for e in await _timeline(h.engine, case_id) if e.type == "applicant_contacted")
    assert contact.reason == "Уточните состав семьи" and "4567" not in contact.data["to"][:-2]
    async with h.engine.connect() as conn:
        met = (
            await conn.execute(select(deadlines.c.met_at).where(deadlines.c.plan_id == case_id))
        ).all()
    assert len(met) == 2 and all(m.met_at is not None for m in met)


async def test_a_bad_form_is_refused_naming_its_fields_and_the_portal_is_told(
    system: tuple[Harness, PortalNotifier], portal: Portal, egov: EgovClient
) -> None:
    h, _ = system
    person = connected_people(portal.population)[0]
    form = form_for(person).model_dump(mode="json")
    form["iin"] = "123456789012"
    form["email"] = ""
    bad = portal.unchecked(form)

    result = await _poll(h, egov)
    assert len(result.refused) == 1
    async with h.engine.connect() as conn:
        case = (await conn.execute(select(plans).where(plans.c.id == result.refused[0]))).one()
    fields = {e["field"] for e in case.family["refusal"]["errors"]}
    # Changed after it was signed: the applicant's ЭЦП no longer covers it.
    assert fields == {"iin", "email", "signature"}
    assert case.status == "cancelled"

    async def portal_told() -> bool:
        return bool(portal.appeal(bad["id"])["status"] == "refused")

    await eventually(portal_told, timeout=15)
    said = portal.appeal(bad["id"])["result"]
    assert "«ИИН» — неверный ИИН" in said and "«E-mail» — не заполнено" in said
    cabinet, _ = _for(portal.outbox(), bad["id"])
    assert cabinet == []  # no cabinet for an IIN that is not one
    await eventually(lambda: _async(len(_for(portal.outbox(), bad["id"])[1]) == 1), timeout=10)
    assert (await _poll(h, egov)).refused == []  # refused once; no longer new on the portal


async def _async(value: bool) -> bool:
    return value


async def test_notices_wait_while_the_portal_is_down(
    system: tuple[Harness, PortalNotifier], portal: Portal, egov: EgovClient
) -> None:
    h, _ = system
    person = connected_people(portal.population)[0]
    appeal = await egov.submit_appeal(form_for(person))
    case_id = (await _poll(h, egov)).opened[0]
    for route in ("appeals.status", "notifications.cabinet", "notifications.sms"):
        portal.admin.add_fault({"service": route, "kind": "http_error", "status": 503, "times": 6})
    async with h.engine.begin() as conn:
        await e_application.forward(
            conn, h.ctx, case_id, body=None, actor="test", now=h.clock.now()
        )
        await e_application.check(
            conn,
            h.ctx,
            case_id,
            body=None,
            decision="refuse",
            result="Нет справки о доходах.",
            actor="test",
            now=h.clock.now(),
        )
    h.relay.wake()

    async def told() -> bool:
        cabinet, sms = _for(portal.outbox(), appeal.id)
        return len(cabinet) == 1 and len(sms) == 1

    await eventually(told, timeout=20)
    assert portal.appeal(appeal.id)["status"] == "refused"

    async def recorded() -> bool:  # the notifier records each after the portal answered
        kinds = [e.type for e in await _timeline(h.engine, case_id)]
        return kinds.count("citizen_notified") == 5  # forwarded, in_review, refused, cabinet, SMS

    await eventually(recorded, timeout=10)


async def test_one_notice_per_result_after_a_relay_crash_between_publish_and_mark(
    system: tuple[Harness, PortalNotifier], portal: Portal, egov: EgovClient
) -> None:
    h, _ = system
    person = connected_people(portal.population)[0]
    appeal = await egov.submit_appeal(form_for(person))
    case_id = (await _poll(h, egov)).opened[0]
    # The harness's relay is stopped; a relay that publishes and then "dies" before marking.
    crashing = OutboxRelay(h.engine, h.link, h.clock, poll_seconds=0.05, fault_hold="before_mark")
    await h.relay.stop()
    harness_relay_tasks = [
        t for t in asyncio.all_tasks() if "OutboxRelay.run" in repr(t.get_coro())
    ]
    for task in harness_relay_tasks:
        task.cancel()
    async with h.engine.begin() as conn:
        await e_application.forward(
            conn, h.ctx, case_id, body=None, actor="test", now=h.clock.now()
        )
        await e_application.check(
            conn,
            h.ctx,
            case_id,
            body=None,
            decision="forward",
            result="Услуга оказана.",
            actor="test",
            now=h.clock.now(),
        )
    crash = asyncio.create_task(crashing.run())

    async def delivered_once() -> bool:
        cabinet, sms = _for(portal.outbox(), appeal.id)
        return len(cabinet) == 1 and len(sms) == 1

    await eventually(delivered_once, timeout=15)
    crash.cancel()
    await asyncio.gather(crash, return_exceptions=True)
    async with h.engine.connect() as conn:
        unmarked = (
            await conn.execute(
                select(outbox.c.message_id).where(
                    outbox.c.plan_id == case_id, outbox.c.published_at.is_(None)
                )
            )
        ).all()
    assert unmarked, "the crash left the published notices unmarked"
    async with h.engine.begin() as conn:  # the lease of the dead relay runs out
        await conn.execute(
            outbox.update().where(outbox.c.plan_id == case_id).values(lease_until=None)
        )
    restarted = OutboxRelay(h.engine, h.link, h.clock, poll_seconds=0.05)
    assert await restarted.publish_pending() >= len(unmarked)  # everything is sent again
    await asyncio.sleep(1.0)
    cabinet, sms = _for(portal.outbox(), appeal.id)
    assert len(cabinet) == 1 and len(sms) == 1
    assert portal.appeal(appeal.id)["status"] == "answered"
    await restarted.stop()


async def test_the_portal_counts_a_notice_resent_with_its_key_once(
    system: tuple[Harness, PortalNotifier], portal: Portal, egov: EgovClient
) -> None:
    """A crash after the portal answered and before the inbox row: the copy reaches the
    portal again, with the same key, and the portal does not notify twice."""
    from contracts.portal_notices import CabinetNotice, CabinetNoticeEnvelope
    from gateway.ids import new_uuid

    h, notifier = system
    person = connected_people(portal.population)[0]
    appeal = await egov.submit_appeal(form_for(person))
    notice = CabinetNoticeEnvelope(
        message_id=new_uuid(),
        correlation_id="c",
        occurred_at=h.clock.now(),
        payload=CabinetNotice(iin=person.iin, title="t", text="x", appeal_id=appeal.id),
    )
    await notifier._deliver(notice)
    await notifier._deliver(notice)
    assert len(_for(portal.outbox(), appeal.id)[0]) == 1


async def test_forward_and_check_terms_are_breached_when_missed(
    system: tuple[Harness, PortalNotifier], portal: Portal, egov: EgovClient
) -> None:
    h, _ = system
    person = connected_people(portal.population)[0]
    await egov.submit_appeal(form_for(person))
    case_id = (await _poll(h, egov)).opened[0]
    # Received Friday 9 October 2026: forward due by the end of Tuesday 13th.
    h.clock.set(RECEIVED + timedelta(days=4, hours=14, minutes=1))  # Wed 14th 00:01
    await deadline_watcher.scan(h.engine, h.clock.now())
    async with h.engine.begin() as conn:
        await e_application.forward(
            conn, h.ctx, case_id, body=None, actor="test", now=h.clock.now()
        )
    h.clock.advance(timedelta(days=3))  # forwarded Wed 14th: check due Fri 16th
    await deadline_watcher.scan(h.engine, h.clock.now())
    breaches = [e for e in await _timeline(h.engine, case_id) if e.type == "deadline_breached"]
    assert len(breaches) == 2
    async with h.engine.connect() as conn:
        rows = (
            await conn.execute(
                select(deadlines.c.due_at)
                .where(deadlines.c.plan_id == case_id)
                .order_by(deadlines.c.id)
            )
        ).all()
    assert [r.due_at.astimezone(RECEIVED.tzinfo).date().isoformat() for r in rows] == [
        "2026-10-13",
        "2026-10-16",
    ]


async def test_the_offices_act_from_their_pages_in_russian_and_kazakh(
    system: tuple[Harness, PortalNotifier], portal: Portal, egov: EgovClient
) -> None:
    from tests.integration.test_web_workspace import add_person, csrf_of, sign_in

    h, _ = system
    person = connected_people(portal.population)[0]
    office, district = offices_of(person)
    appeal = await egov.submit_appeal(form_for(person))
    case_id = (await _poll(h, egov)).opened[0]
    regional_staff = await add_person(h, "reg-s", centre=office)
    district_staff = await add_person(h, "dist-s", centre=district)

    regional = await sign_in(h, regional_staff.login)
    landing = await regional.get("/web/", follow_redirects=True)
    assert "Обращения и государственные услуги" in landing.text and case_id in landing.text
    page = await regional.get(f"/web/egov/{case_id}")
    assert person.iin not in page.text  # masked
    assert person.iin[:2] + "********" + person.iin[-2:] in page.text
    assert "Направить в районный отдел" in page.text
    done = await regional.post(
        f"/web/egov/{case_id}/act", data={"csrf": csrf_of(page), "action": "forward"}
    )
    assert done.status_code == 303, done.text

    clerk = await sign_in(h, district_staff.login)
    page = await clerk.get(f"/web/egov/{case_id}")
    token = csrf_of(page)
    await clerk.post(
        f"/web/egov/{case_id}/act",
        data={"csrf": token, "action": "contact", "channel": "email", "question": "Где справка?"},
    )
    await clerk.post(
        f"/web/egov/{case_id}/act",
        data={"csrf": token, "action": "check", "decision": "refuse", "result": "Нет справки"},
    )
    kk = await clerk.get("/web/lang/kk?next=/web/egov/" + case_id, follow_redirects=True)
    assert "Қадамдар мен мерзімдер" in kk.text and "Өтініш берушіге сұрақ" in kk.text
    async with h.engine.connect() as conn:
        actors = {
            e.actor
            for e in (await conn.execute(select(events).where(events.c.plan_id == case_id))).all()
        }
    assert f"staff:{district_staff.login}@{district}" in actors

    async def told() -> bool:
        return bool(portal.appeal(appeal.id)["status"] == "refused")

    await eventually(told, timeout=15)


@pytest.mark.parametrize("how", ["another_persons_key", "not_an_ecp", "tampered"])
async def test_a_form_whose_signature_fails_is_refused_naming_the_signature(
    system: tuple[Harness, PortalNotifier], portal: Portal, egov: EgovClient, how: str
) -> None:
    from tests.integration.egov_fixtures import CITIZENS

    h, _ = system
    person, other = connected_people(portal.population)[:2]
    form = form_for(person).model_dump(mode="json")
    if how == "another_persons_key":
        form["signature"] = CITIZENS.sign(form, as_iin=other.iin)
    elif how == "not_an_ecp":
        form["signature"] = "MIIB-opaque-bytes"
    else:
        form["content"] = "Прошу назначить АСП в двойном размере"
    appeal = portal.unchecked(form)
    (case_id,) = (await _poll(h, egov)).refused
    async with h.engine.connect() as conn:
        case = (await conn.execute(select(plans).where(plans.c.id == case_id))).one()
    assert [e["field"] for e in case.family["refusal"]["errors"]] == ["signature"]
    assert case.family["signature"]["status"] == "refused"

    async def portal_told() -> bool:
        return bool(portal.appeal(appeal["id"])["status"] == "refused")

    await eventually(portal_told, timeout=15)
    assert "«ЭЦП»" in portal.appeal(appeal["id"])["result"]
