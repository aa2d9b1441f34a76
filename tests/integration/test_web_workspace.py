"""The centre's web workspace over the real store and broker, signed in as a person."""

from __future__ import annotations

import asyncio
import html
import json
import re
import uuid
from datetime import date, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import insert, select, update

from contracts.clock import ALMATY
from contracts.messages import ReportStatus
from gateway.api.deps import AppState
from gateway.errors import Conflict, Forbidden
from gateway.services.incidents import replay_incident
from gateway.services.staff import StaffRole, StaffUser, add_staff
from gateway.store.tables import access_log, events, incidents, outbox, staff_users, tasks
from gateway.web.stream import plan_changes
from mocks.population import Family
from tests.integration.family_card_mock import members_of, running_card
from tests.integration.harness import Harness, eventually, family_members, plan_body

pytestmark = pytest.mark.integration

PASSWORD = "correct horse battery"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


async def add_person(
    h: Harness, login: str, *, role: StaffRole = StaffRole.worker, centre: str | None = None
) -> StaffUser:
    async with h.engine.begin() as conn:
        return await add_staff(
            conn,
            login=login,
            full_name=f"Тестова {login}",
            centre=centre or h.centre,
            role=role,
            password=PASSWORD,
            now=h.clock.now(),
        )


def browser(h: Harness) -> httpx.AsyncClient:
    """A client with its own cookie jar, as a second person's browser."""
    return httpx.AsyncClient(transport=h.http._transport, base_url="http://gw")


async def sign_in(h: Harness, login: str, password: str = PASSWORD) -> httpx.AsyncClient:
    client = browser(h)
    response = await try_sign_in(client, login, password)
    assert response.status_code == 303, response.text
    return client


async def try_sign_in(client: httpx.AsyncClient, login: str, password: str) -> httpx.Response:
    form = await client.get("/web/login")
    assert form.status_code == 200
    token = CSRF.search(form.text)
    assert token
    return await client.post(
        "/web/login", data={"login": login, "password": password, "csrf": token.group(1)}
    )


def csrf_of(page: httpx.Response) -> str:
    found = CSRF.search(page.text)
    assert found, page.text[:500]
    return found.group(1)


async def reported_plan(h: Harness, agencies: tuple[str, ...]) -> tuple[str, dict[str, str]]:
    """A plan whose tasks have all been reported done by their bodies."""
    plan_id = (await h.submit(plan_body(h.centre, agencies=agencies))).json()["id"]
    task_ids = {}
    for code in agencies:
        (message,) = await h.take(code, 1)
        task_ids[code] = message["body"]["payload"]["task_id"]
        await h.report(task_ids[code], code, ReportStatus.done, plan_id=plan_id, comment="сделано")

    async def all_reported() -> bool:
        plan = await h.plan(plan_id)
        return {t["state"] for t in plan["tasks"]} == {"reported"}

    await eventually(all_reported)
    return plan_id, task_ids


async def test_sign_in_refuses_bad_password_and_disabled_accounts(harness: Harness) -> None:
    h = harness
    person = await add_person(h, f"w{uuid.uuid4().hex[:6]}")
    anonymous = browser(h)
    page = await anonymous.get("/web/")
    assert page.status_code == 303 and page.headers["location"].startswith("/web/login")

    refused = await try_sign_in(browser(h), person.login, "wrong password")
    assert refused.status_code == 401
    assert "Неверный логин или пароль" in refused.text
    assert "gw_session" not in refused.headers.get("set-cookie", "")
    unknown = await try_sign_in(browser(h), "nobody-here", PASSWORD)
    assert unknown.status_code == 401

    # A sign-in form posted from elsewhere (no double-submit token) is refused.
    forged = await browser(h).post("/web/login", data={"login": person.login, "password": PASSWORD})
    assert forged.status_code == 403

    client = await sign_in(h, person.login)
    page = await client.get("/web/")
    assert page.status_code == 200 and "Планы центра" in page.text
    cookie = next(c for c in client.cookies.jar if c.name == "gw_session")
    assert cookie.path == "/web" and cookie.has_nonstandard_attr("HttpOnly")

    async with h.engine.begin() as conn:
        await conn.execute(
            update(staff_users).where(staff_users.c.id == person.id).values(disabled=True)
        )
    # Disabling ends the running session at once, and a new sign-in is refused.
    assert (await client.get("/web/")).status_code == 303
    assert (await try_sign_in(browser(h), person.login, PASSWORD)).status_code == 401


async def test_plan_list_masks_iins_and_puts_the_most_urgent_first(harness: Harness) -> None:
    h = harness
    person = await add_person(h, f"w{uuid.uuid4().hex[:6]}")
    calm = (await h.submit(plan_body(h.centre, agencies=("health",)))).json()["id"]
    late = (await h.submit(plan_body(h.centre, agencies=("housing",)))).json()["id"]
    (message,) = await h.take("health", 1)
    await h.report(message["body"]["payload"]["task_id"], "health", ReportStatus.received)
    await h.take("housing", 1)

    async def delivered() -> bool:
        return bool((await h.plan(calm))["tasks"][0]["state"] == "delivered")

    await eventually(delivered)
    # Past the routing limit: the housing plan was never delivered, so it is breached.
    from datetime import timedelta

    h.clock.advance(timedelta(days=6))
    client = await sign_in(h, person.login)
    page = await client.get("/web/")
    assert page.status_code == 200
    html = page.text
    iin = family_members()[0]["iin"]
    assert iin not in html and family_members()[1]["iin"] not in html
    assert f"{iin[:2]}********{iin[-2:]} · С." in html
    assert html.index(f"/web/plans/{late}") < html.index(f"/web/plans/{calm}")
    assert "Просрочено" in html and "Госорган в сфере жилищных отношений" in html
    assert "Получено органом" in html

    overdue = await client.get("/web/?overdue=yes")
    assert f"/web/plans/{late}" in overdue.text and f"/web/plans/{calm}" not in overdue.text
    by_agency = await client.get("/web/fragment/plan-rows?agency=health")
    assert f"/web/plans/{calm}" in by_agency.text and f"/web/plans/{late}" not in by_agency.text

    async with h.engine.connect() as conn:
        logged = (
            await conn.execute(
                select(access_log.c.action).where(access_log.c.client_id == f"staff:{person.id}")
            )
        ).scalars()
        assert "list_plans" in set(logged)


async def test_accept_and_return_from_the_page_reach_the_body(harness: Harness) -> None:
    h = harness
    person = await add_person(h, f"w{uuid.uuid4().hex[:6]}")
    plan_id, task_ids = await reported_plan(h, ("health", "housing"))
    client = await sign_in(h, person.login)
    page = await client.get(f"/web/plans/{plan_id}")
    assert page.status_code == 200
    assert page.text.count("Принять отчёт") == 2 and "сделано" in page.text
    token = csrf_of(page)

    accepted = await client.post(
        f"/web/plans/{plan_id}/tasks/{task_ids['health']}/accept", data={"csrf": token}
    )
    assert accepted.status_code == 303
    assert accepted.headers["location"].startswith(f"/web/plans/{plan_id}?msg=accepted")

    no_reason = await client.post(
        f"/web/plans/{plan_id}/tasks/{task_ids['housing']}/return",
        data={"csrf": token, "reason": "  "},
    )
    assert no_reason.status_code == 422 and "причина обязательна" in no_reason.text
    returned = await client.post(
        f"/web/plans/{plan_id}/tasks/{task_ids['housing']}/return",
        data={"csrf": token, "reason": "нет акта обследования"},
    )
    assert returned.status_code == 303

    # The body gets the return through its usual channel: its queue.
    (message,) = await h.take("housing", 1)
    assert message["body"]["type"] == "task.returned"
    assert message["body"]["payload"]["reason"] == "нет акта обследования"

    plan = await h.plan(plan_id)
    states = {t["agency"]: t["state"] for t in plan["tasks"]}
    assert states == {"health": "accepted", "housing": "returned"}
    actors = {
        e["actor"] for e in plan["timeline"] if e["type"] in ("task_accepted", "task_returned")
    }
    assert actors == {f"staff:{person.login}@{h.centre}"}

    again = await client.get(f"/web/plans/{plan_id}?msg=returned")
    assert "Мероприятие возвращено на доработку" in again.text
    assert person.full_name in again.text  # the timeline names the person
    assert "нет акта обследования" in again.text
    # Reviewing twice is a conflict shown as a page, not a crash.
    twice = await client.post(
        f"/web/plans/{plan_id}/tasks/{task_ids['health']}/accept", data={"csrf": token}
    )
    assert twice.status_code == 409 and "text/html" in twice.headers["content-type"]


async def test_another_centres_worker_is_refused(harness: Harness) -> None:
    h = harness
    plan_id, task_ids = await reported_plan(h, ("health",))
    stranger = await add_person(h, f"x{uuid.uuid4().hex[:6]}", centre="other-centre")
    client = await sign_in(h, stranger.login)
    page = await client.get(f"/web/plans/{plan_id}")
    assert page.status_code == 403
    assert "text/html" in page.headers["content-type"] and "Нет доступа" in page.text
    assert (await client.get(f"/web/plans/{plan_id}/fragment/tasks")).status_code == 403
    token = csrf_of(await client.get("/web/"))
    review = await client.post(
        f"/web/plans/{plan_id}/tasks/{task_ids['health']}/accept", data={"csrf": token}
    )
    assert review.status_code == 403
    listing = await client.get("/web/")
    assert plan_id not in listing.text
    assert (await h.plan(plan_id))["tasks"][0]["state"] == "reported"


async def test_a_post_without_the_sessions_token_is_refused(harness: Harness) -> None:
    h = harness
    person = await add_person(h, f"w{uuid.uuid4().hex[:6]}")
    plan_id, task_ids = await reported_plan(h, ("health",))
    client = await sign_in(h, person.login)
    url = f"/web/plans/{plan_id}/tasks/{task_ids['health']}/accept"
    assert (await client.post(url)).status_code == 403
    other = await sign_in(h, person.login)  # another session's token does not fit this one
    wrong = csrf_of(await other.get("/web/"))
    refused = await client.post(url, data={"csrf": wrong})
    assert refused.status_code == 403 and "Форма устарела" in refused.text
    assert (await h.plan(plan_id))["tasks"][0]["state"] == "reported"


async def test_revealing_iins_is_recorded(harness: Harness) -> None:
    h = harness
    person = await add_person(h, f"w{uuid.uuid4().hex[:6]}")
    plan_id = (await h.submit(plan_body(h.centre, agencies=("health",)))).json()["id"]
    client = await sign_in(h, person.login)
    page = await client.get(f"/web/plans/{plan_id}")
    iin = family_members()[0]["iin"]
    assert iin not in page.text and "Показать ИИН" in page.text
    shown = await client.post(
        f"/web/plans/{plan_id}/reveal-iin",
        data={"csrf": csrf_of(page)},
        headers={"X-Fragment": "1"},
    )
    assert shown.status_code == 200 and iin in shown.text
    assert shown.text.lstrip().startswith('<section id="family"')
    async with h.engine.connect() as conn:
        rows = (
            await conn.execute(
                select(access_log.c.action, access_log.c.plan_id).where(
                    access_log.c.client_id == f"staff:{person.id}"
                )
            )
        ).all()
    assert ("reveal_iin", plan_id) in {tuple(r) for r in rows}
    assert ("read_plan", plan_id) in {tuple(r) for r in rows}


async def test_language_switch_to_kazakh_and_back(harness: Harness) -> None:
    h = harness
    person = await add_person(h, f"w{uuid.uuid4().hex[:6]}")
    plan_id = (await h.submit(plan_body(h.centre, agencies=("health",)))).json()["id"]
    client = await sign_in(h, person.login)
    switched = await client.get("/web/lang/kk", params={"next": f"/web/plans/{plan_id}"})
    assert switched.status_code == 303 and switched.headers["location"] == f"/web/plans/{plan_id}"
    page = await client.get(f"/web/plans/{plan_id}")
    assert '<html lang="kk">' in page.text
    assert "Жеке жұмыс жоспары" in page.text
    assert "Денсаулық сақтау саласындағы мемлекеттік орган" in page.text
    assert "Индивидуальный план работы" not in page.text
    listing = await client.get("/web/")
    assert "Орталықтың жоспарлары" in listing.text
    # An open redirect is not offered: `next` must be one of our pages.
    outside = await client.get("/web/lang/ru", params={"next": "https://evil.example/"})
    assert outside.headers["location"] == "/web/"
    assert '<html lang="ru">' in (await client.get("/web/")).text


async def _dead_lettered_assignment(h: Harness) -> tuple[str, str, int, str]:
    """A plan whose health task's delivery was exhausted, as the dead-letter recorder
    leaves it: the task `failed`, an incident holding the message."""
    plan_id = (await h.submit(plan_body(h.centre, agencies=("health",)))).json()["id"]
    (message,) = await h.take("health", 1)
    task_id = message["body"]["payload"]["task_id"]
    async with h.engine.begin() as conn:
        body = (
            await conn.execute(select(outbox.c.body).where(outbox.c.task_id == task_id))
        ).scalar_one()
        await conn.execute(update(tasks).where(tasks.c.id == task_id).values(state="failed"))
        incident_id = (
            await conn.execute(
                insert(incidents)
                .values(
                    at=h.clock.now(),
                    queue=h.topology.agency_queue("health"),
                    message_id=message["message_id"],
                    message_type="task.assigned",
                    routing_key="health",
                    task_id=task_id,
                    error="delivery_limit after 3 delivery attempt(s)",
                    body=body,
                )
                .returning(incidents.c.id)
            )
        ).scalar_one()
    return plan_id, task_id, int(incident_id), message["message_id"]


async def test_a_head_replays_a_dead_lettered_assignment(harness: Harness) -> None:
    h = harness
    head = await add_person(h, f"h{uuid.uuid4().hex[:6]}", role=StaffRole.head)
    worker = await add_person(h, f"w{uuid.uuid4().hex[:6]}")
    plan_id, task_id, incident_id, old_message = await _dead_lettered_assignment(h)

    worker_client = await sign_in(h, worker.login)
    assert (await worker_client.get("/web/incidents")).status_code == 403
    page = await worker_client.get("/web/")
    assert "/web/incidents" not in page.text
    refused = await worker_client.post(
        f"/web/incidents/{incident_id}/replay", data={"csrf": csrf_of(page)}
    )
    assert refused.status_code == 403

    client = await sign_in(h, head.login)
    page = await client.get("/web/incidents")
    assert page.status_code == 200 and "Отправить повторно" in page.text
    replayed = await client.post(
        f"/web/incidents/{incident_id}/replay", data={"csrf": csrf_of(page)}
    )
    assert replayed.status_code == 303

    (message,) = await h.take("health", 1)
    assert message["body"]["type"] == "task.assigned"
    assert message["body"]["payload"]["task_id"] == task_id
    assert message["message_id"] != old_message

    async def dispatched() -> bool:
        return bool((await h.plan(plan_id))["tasks"][0]["state"] == "dispatched")

    await eventually(dispatched)
    plan = await h.plan(plan_id)
    replay = next(e for e in plan["timeline"] if e["type"] == "delivery_replayed")
    assert replay["from_state"] == "failed" and replay["to_state"] == "created"
    assert replay["actor"] == f"staff:{head.login}@{h.centre}"
    async with h.engine.connect() as conn:
        resolved = (
            await conn.execute(select(incidents.c.resolved_at).where(incidents.c.id == incident_id))
        ).scalar_one()
    assert resolved is not None
    listed = await client.get("/web/incidents")
    assert f'id="incident-{incident_id}"' not in listed.text
    twice = await client.post(
        f"/web/incidents/{incident_id}/replay", data={"csrf": csrf_of(listed)}
    )
    assert twice.status_code == 409


async def test_replay_rules(harness: Harness) -> None:
    h = harness
    plan_id, task_id, incident_id, _ = await _dead_lettered_assignment(h)
    stranger = await add_person(h, f"x{uuid.uuid4().hex[:6]}", centre="other-centre")
    head = await add_person(h, f"h{uuid.uuid4().hex[:6]}", role=StaffRole.head)
    async with h.engine.begin() as conn:
        with pytest.raises(Forbidden):
            await replay_incident(conn, h.ctx, incident_id, stranger.caller(), h.clock.now())
    # A task the body has since taken is not sent again.
    async with h.engine.begin() as conn:
        await conn.execute(update(tasks).where(tasks.c.id == task_id).values(state="delivered"))
    async with h.engine.begin() as conn:
        with pytest.raises(Conflict, match="only while it is failed"):
            await replay_incident(conn, h.ctx, incident_id, head.caller(), h.clock.now())
    # A status message (body → gateway) is not the gateway's to replay.
    async with h.engine.begin() as conn:
        status_incident = (
            await conn.execute(
                insert(incidents)
                .values(
                    at=h.clock.now(),
                    queue=h.topology.status_queue,
                    message_id="m-1",
                    message_type="task.status",
                    routing_key="status",
                    task_id=task_id,
                    error="boom",
                    body=json.dumps({"payload": {"task_id": task_id}}),
                )
                .returning(incidents.c.id)
            )
        ).scalar_one()
    async with h.engine.begin() as conn:
        with pytest.raises(Conflict, match="not replayed"):
            await replay_incident(conn, h.ctx, int(status_incident), head.caller(), h.clock.now())
    assert plan_id


async def test_stream_sends_the_centres_plan_changes_only(harness: Harness) -> None:
    h = harness
    chunks: asyncio.Queue[str] = asyncio.Queue()

    async def consume() -> None:
        async for chunk in plan_changes(h.engine, h.centre, poll_seconds=0.05):
            await chunks.put(chunk)

    reader = asyncio.create_task(consume())
    try:
        async with asyncio.timeout(10):
            assert "event: ready" in await chunks.get()
            h.keys["other"] = await h.add_key(
                __import__("gateway.auth", fromlist=["ClientKind"]).ClientKind.centre,
                "other-centre",
            )
            foreign = await h.http.post(
                "/api/v1/plans", json=plan_body("other-centre"), headers=h.auth("other")
            )
            assert foreign.status_code == 201
            ours = (await h.submit(plan_body(h.centre, agencies=("health",)))).json()["id"]
            seen: list[dict[str, Any]] = []
            while not any(e["plan_id"] == ours for e in seen):
                chunk = await chunks.get()
                if chunk.startswith("event: plan"):
                    seen.append(json.loads(chunk.split("data: ", 1)[1]))
            assert all(e["plan_id"] == ours for e in seen)
            assert "plan_submitted" in seen[0]["types"]

            # A watcher's warning on a deadline reaches the page too.
            async with h.engine.begin() as conn:
                await conn.execute(
                    insert(events).values(
                        plan_id=ours,
                        at=h.clock.now(),
                        actor="gateway:deadline-watcher",
                        type="deadline_warning",
                        data={"kind": "routing"},
                    )
                )
            while True:
                chunk = await chunks.get()
                if chunk.startswith("event: plan") and "deadline_warning" in chunk:
                    break
    finally:
        reader.cancel()
        await asyncio.gather(reader, return_exceptions=True)


async def test_fragments_and_stream_ask_for_sign_in(harness: Harness) -> None:
    client = browser(harness)
    assert (await client.get("/web/fragment/plan-rows")).status_code == 401
    assert (await client.get("/web/stream")).status_code == 401
    assert (await client.get("/web/static/app.js")).status_code == 200
    # The API keeps its problem documents.
    api = await client.get("/api/v1/plans/nope")
    assert api.headers["content-type"] == "application/problem+json"


async def test_demo_staff_are_bootstrapped_once(engine: Any, tmp_path: Any) -> None:
    from gateway.bootstrap import DEMO_CENTRE, ensure_demo_staff
    from gateway.services.staff import authenticate_staff

    path = tmp_path / "credentials.json"
    path.write_text(json.dumps({"api_url": "http://127.0.0.1:9999", "admin": "gw_x_y"}))
    first = await ensure_demo_staff(engine, path)
    again = await ensure_demo_staff(engine, path)
    assert first["staff"] == again["staff"]
    assert again["admin"] == "gw_x_y" and again["web_url"] == "http://127.0.0.1:9999/web/"
    async with engine.connect() as conn:
        head = await authenticate_staff(conn, "demo-head", again["staff"]["demo-head"])
        worker = await authenticate_staff(conn, "demo-worker", again["staff"]["demo-worker"])
    assert head is not None and head.role is StaffRole.head and head.centre == DEMO_CENTRE
    assert worker is not None and worker.role is StaffRole.worker
    assert oct(path.stat().st_mode & 0o777) == "0o600"


async def test_the_head_reads_the_quarterly_report_with_chart_and_downloads(
    harness: Harness,
) -> None:
    import io

    from openpyxl import load_workbook

    from gateway.reports.quarter import Quarter

    h = harness
    head = await add_person(h, f"h{uuid.uuid4().hex[:6]}", role=StaffRole.head)
    worker = await add_person(h, f"w{uuid.uuid4().hex[:6]}")
    assert (await h.submit()).status_code == 201
    h.clock.advance(timedelta(minutes=5))  # the report counts what happened before "now"
    quarter = Quarter.of(h.clock.now())
    text = f"{quarter.year}Q{quarter.number}"

    worker_client = await sign_in(h, worker.login)
    assert (await worker_client.get(f"/web/reports/quarterly?quarter={text}")).status_code == 403

    client = await sign_in(h, head.login)
    page = await client.get(f"/web/reports/quarterly?quarter={text}")
    assert page.status_code == 200
    assert "<svg" in page.text and "Показатели по органам" in page.text
    assert "предварительный" in page.text  # the quarter is still running
    # Four tasks received this quarter, one per body, shown in the totals row.
    assert re.search(r"Итого</td>\s*<td[^>]*>[^<]*</td>\s*<td[^>]*>4</td>", page.text), page.text[
        -3000:
    ]

    bad = await client.get("/web/reports/quarterly?quarter=2026Q9")
    assert bad.status_code == 422 and "2026Q3" in bad.text

    csv_file = await client.get(f"/web/reports/quarterly.csv?quarter={text}")
    assert csv_file.status_code == 200
    assert csv_file.content.startswith(b"\xef\xbb\xbf")  # BOM for Excel
    assert "attachment" in csv_file.headers["content-disposition"]
    xlsx = await client.get(f"/web/reports/quarterly.xlsx?quarter={text}")
    book = load_workbook(io.BytesIO(xlsx.content))
    assert len(book.sheetnames) >= 3


async def family_plan(h: Harness, when: datetime) -> tuple[str, Family]:
    """A plan approved at ``when`` for a family of the mocks' population (so the mock
    family card knows it) with a change in the card between the quarter's start and then."""
    from contracts.clock import to_almaty
    from gateway.reports.quarter import Quarter

    quarter = Quarter.of(when)
    with running_card(when) as probe:
        family = next(
            f
            for f in probe.population.families
            if probe.expected_changes(f, quarter.first_day, to_almaty(when).date())
        )
    body = plan_body(h.centre, approved_at=when)
    body["family"]["members"] = members_of(family)
    for activity in body["activities"]:
        activity["beneficiary_iins"] = []
    response = await h.submit(body)
    assert response.status_code == 201, response.text
    return str(response.json()["id"]), family


def web_state(h: Harness) -> AppState:
    transport = h.http._transport
    assert isinstance(transport, httpx.ASGITransport)
    state: AppState = transport.app.state.gw  # type: ignore[attr-defined]
    return state


async def test_the_report_page_shows_the_family_cards_changes_with_source_and_time(
    harness: Harness,
) -> None:
    import io

    from openpyxl import load_workbook

    h = harness
    when = datetime(2026, 9, 20, 12, 0, tzinfo=ALMATY)
    h.clock.set(when)
    head = await add_person(h, f"h{uuid.uuid4().hex[:6]}", role=StaffRole.head)
    _, family = await family_plan(h, when)
    h.clock.advance(timedelta(minutes=5))
    client = await sign_in(h, head.login)
    with running_card(h.clock.now()) as card:
        web_state(h).settings.family_card_url = card.url
        page = await client.get("/web/reports/quarterly?quarter=2026Q3")
        csv_file = await client.get("/web/reports/quarterly.csv?quarter=2026Q3")
        xlsx = await client.get("/web/reports/quarterly.xlsx?quarter=2026Q3")
        expected = card.expected_changes(family, date(2026, 7, 1), date(2026, 9, 20))
        asked = card.admin.journal.count(service="status-changes.query")
    assert page.status_code == 200 and asked == 3
    source = re.search(r'<p id="family-card-source">([^<]*)</p>', page.text)
    assert source, page.text[-4000:]
    assert card.url in source.group(1) and "20.09.2026 12:05" in source.group(1)
    assert "Нет данных" not in page.text
    for _, status in expected:
        assert html.escape(status) in page.text
    assert "изменение социального статуса в ЦКС у 1 из 1" in page.text  # the chart's line
    text = csv_file.content.decode("utf-8-sig")
    assert all(status in text for _, status in expected) and card.url in text
    sheet = load_workbook(io.BytesIO(xlsx.content))["Семьи (ЦКС)"]
    rows = [[c.value for c in row] for row in sheet.iter_rows(min_row=2)]
    assert [r[5] for r in rows] == [status for _, status in expected]
    assert {r[9] for r in rows} == {f"Цифровая карта семьи (ЦКС), {card.url}"}


async def test_the_report_page_says_no_data_when_the_card_is_down(harness: Harness) -> None:
    h = harness
    when = datetime(2026, 9, 20, 12, 0, tzinfo=ALMATY)
    h.clock.set(when)
    head = await add_person(h, f"h{uuid.uuid4().hex[:6]}", role=StaffRole.head)
    await family_plan(h, when)
    h.clock.advance(timedelta(minutes=5))
    client = await sign_in(h, head.login)

    # Not configured at all.
    web_state(h).settings.family_card_url = None
    page = await client.get("/web/reports/quarterly?quarter=2026Q3")
    assert page.status_code == 200 and "<svg" in page.text
    assert "Нет данных из Цифровой карты семьи (подключение к ЦКС не настроено)" in page.text

    # Configured, but the card is down: the page still renders, and says why.
    with running_card(h.clock.now()) as card:
        url = card.url
    web_state(h).settings.family_card_url = url
    page = await client.get("/web/reports/quarterly?quarter=2026Q3")
    assert page.status_code == 200 and "Показатели по органам" in page.text
    no_data = re.search(r'<p id="family-card-no-data"[^>]*>([^<]*)</p>', page.text)
    assert no_data, page.text[-4000:]
    assert no_data.group(1) == (
        "Нет данных из Цифровой карты семьи (ЦКС недоступна или не ответила вовремя)."
    )
    csv_file = await client.get("/web/reports/quarterly.csv?quarter=2026Q3")
    assert csv_file.status_code == 200
    assert "No data from the digital family card" in csv_file.content.decode("utf-8-sig")

    # After repeated failures the breaker stops asking, and the page says that too, in
    # the staff member's language.
    assert (await client.get("/web/lang/kk", params={"next": "/web/"})).status_code == 303
    page = await client.get("/web/reports/quarterly?quarter=2026Q3")
    assert "Отбасының цифрлық картасынан деректер жоқ (ОЦК қатарынан бірнеше рет" in page.text
