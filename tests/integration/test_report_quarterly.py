"""The quarterly report for a seeded quarter, checked against the raw timeline.

The quarter is seeded by driving the use cases (submit, the bodies' reports, the centre's
reviews, cancellation) with a moved clock, and the deadline watcher scans at chosen
moments. The expected figures are then recomputed here from `SELECT * FROM events` with
plain Python, deliberately not through the report's helpers: the routing, review and
plan terms are derived again from the plan's approval, the reports' times and the
calendar, so a wrong reading of the deadlines table in the report would show up.
"""

from __future__ import annotations

import asyncio
import io
import json
import statistics
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine
from typer.testing import CliRunner

from contracts.amqp import Topology
from contracts.clock import ALMATY
from contracts.messages import ReportStatus, StatusReport
from contracts.plans import PlanSubmission, ReviewDecision
from gateway.agencies import load_agencies
from gateway.auth import Caller, ClientKind
from gateway.deadline_watcher import scan
from gateway.reports import export
from gateway.reports.chart import report_chart_svg
from gateway.reports.family_card import NoDataReason, card_client
from gateway.reports.quarter import parse_quarter
from gateway.reports.quarterly import QuarterlyReport, build_quarterly_report
from gateway.services.context import Context
from gateway.services.plans import cancel_plan, submit_plan
from gateway.services.tasks import apply_report, review_task
from gateway.store.tables import tasks
from gateway.workdays import default_calendar
from mocks.population import generate_population
from tests.integration.family_card_mock import members_of, running_card
from tests.integration.harness import register_centre

pytestmark = pytest.mark.integration

CENTRE = "centre-report"
OTHER_CENTRE = "centre-other"
QUARTER = parse_quarter("2026Q3")
#: The families of the plans are people of the mocks' population, so the mock family
#: card knows them: plan number n is the population's family n.
POPULATION = generate_population(42)


def at(month: int, day: int, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=ALMATY)


@dataclass
class Seeder:
    engine: AsyncEngine
    ctx: Context
    serial: int = 0

    def caller(self, centre: str = CENTRE) -> Caller:
        return Caller(client_id=f"client-{centre}", kind=ClientKind.centre, scope=centre)

    async def submit(
        self, when: datetime, activities: dict[str, date | None], centre: str = CENTRE
    ) -> tuple[str, dict[str, str]]:
        self.serial += 1
        members = members_of(POPULATION.families[self.serial - 1])
        submission = PlanSubmission.model_validate(
            {
                "centre": centre,
                "external_id": f"ИПР-2026-{self.serial:04d}",
                "approved_at": when.isoformat(),
                "family": {"members": members},
                "grounds": ["малообеспеченность"],
                "activities": [
                    {
                        "agency": code,
                        "title": f"Мероприятие {code}",
                        "due_date": due.isoformat() if due else None,
                    }
                    for code, due in activities.items()
                ],
            }
        )
        async with self.engine.begin() as conn:
            await register_centre(conn, centre, when)  # a plan is accepted from a registered one
            result = await submit_plan(
                conn, self.ctx, submission, self.caller(centre), idempotency_key=None, now=when
            )
            rows = await conn.execute(
                select(tasks.c.id, tasks.c.agency).where(tasks.c.plan_id == result.plan_id)
            )
            return result.plan_id, {r.agency: r.id for r in rows}

    async def report(self, task_id: str, agency: str, status: ReportStatus, when: datetime) -> None:
        reason = "не относится к компетенции органа" if status is ReportStatus.rejected else None
        async with self.engine.begin() as conn:
            await apply_report(
                conn,
                self.ctx,
                StatusReport(
                    task_id=task_id, agency=agency, status=status, reason=reason, reported_at=when
                ),
                actor=f"agency:{agency}",
                now=when,
            )

    async def review(self, plan_id: str, task_id: str, accept: bool, when: datetime) -> None:
        async with self.engine.begin() as conn:
            await review_task(
                conn,
                self.ctx,
                plan_id=plan_id,
                task_id=task_id,
                decision=ReviewDecision.accept if accept else ReviewDecision.return_for_rework,
                reason=None if accept else "отчёт не подтверждает исполнение",
                caller=self.caller(),
                now=when,
            )

    async def cancel(self, plan_id: str, when: datetime) -> None:
        async with self.engine.begin() as conn:
            await cancel_plan(conn, self.ctx, plan_id, "семья переехала", self.caller(), when)


async def seed_quarter(engine: AsyncEngine) -> dict[str, Any]:
    agencies = load_agencies()
    ctx = Context(default_calendar(), agencies, Topology("t-report", agencies.enabled_codes()))
    s = Seeder(engine, ctx)
    R = ReportStatus

    # Q2: a plan whose events spill into July, not a task of Q3.
    p0, t0 = await s.submit(at(6, 25), {"housing": date(2026, 7, 10)})
    await s.report(t0["housing"], "housing", R.received, at(6, 26))
    await s.report(t0["housing"], "housing", R.done, at(7, 2))
    await s.review(p0, t0["housing"], True, at(7, 3))

    # 1 July (routing due Fri 3 July): four bodies.
    p1, t1 = await s.submit(
        at(7, 1),
        {
            "health": date(2026, 7, 20),
            "education": date(2026, 7, 31),
            "housing": date(2026, 7, 15),
            "internal_affairs": None,
        },
    )
    await s.report(t1["health"], "health", R.received, at(7, 2, 9))
    await s.report(t1["housing"], "housing", R.received, at(7, 2, 10))
    await s.report(t1["internal_affairs"], "internal_affairs", R.rejected, at(7, 2, 11))
    await scan(engine, at(7, 3, 20))  # warning for education's routing
    await scan(engine, at(7, 4))  # education's routing breached (still undelivered)
    await s.report(t1["health"], "health", R.done, at(7, 7, 11))
    await s.review(p1, t1["health"], True, at(7, 8))
    await s.report(t1["education"], "education", R.received, at(7, 6, 9))  # late delivery
    await s.report(t1["education"], "education", R.done, at(7, 10))
    await s.review(p1, t1["education"], False, at(7, 13))
    await scan(engine, at(7, 16))  # housing's own term (15 July) breached
    await s.report(t1["education"], "education", R.done, at(7, 20))
    await s.report(t1["housing"], "housing", R.done, at(7, 20, 12))
    await s.review(p1, t1["education"], True, at(7, 21))
    await scan(engine, at(7, 23))  # the centre's review of housing's report is late
    await s.review(p1, t1["housing"], False, at(7, 24))
    await s.report(t1["housing"], "housing", R.done, at(7, 28))
    await s.review(p1, t1["housing"], True, at(7, 29))

    # 3 August (routing due 5 August): health delivered late with no scan in between (a
    # breach with no watcher event), housing never delivered, then the plan is cancelled.
    p2, t2 = await s.submit(at(8, 3), {"health": date(2026, 8, 31), "housing": None})
    await s.report(t2["health"], "health", R.received, at(8, 6, 9))
    await scan(engine, at(8, 7))
    await s.report(t2["health"], "health", R.done, at(8, 10))
    await s.review(p2, t2["health"], True, at(8, 11))
    await s.cancel(p2, at(8, 20))

    # 28 September (routing due 30 September): education delivered after the quarter,
    # health reported in the quarter and accepted after it.
    p3, t3 = await s.submit(at(9, 28), {"education": date(2026, 10, 30), "health": None})
    await s.report(t3["health"], "health", R.received, at(9, 29))
    await s.report(t3["health"], "health", R.done, at(9, 30))
    await s.report(t3["education"], "education", R.received, at(10, 1, 9))
    await s.review(p3, t3["health"], True, at(10, 1))
    await scan(engine, at(10, 2))

    # After the quarter, and another centre's plan inside it: neither counts.
    await s.submit(at(10, 2), {"education": None})
    await s.submit(at(7, 15), {"health": None}, centre=OTHER_CENTRE)
    await scan(engine, at(11, 1))
    return {"plans": [p0, p1, p2, p3]}


# --- the independent recomputation ----------------------------------------------------


def _moment(value: Any) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    assert isinstance(value, datetime)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def _day(value: Any) -> date | None:
    if value is None:
        return None
    return date.fromisoformat(value) if isinstance(value, str) else value


def _data(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        value = json.loads(value)
    return dict(value or {})


async def recompute(
    engine: AsyncEngine, centre: str, start: datetime, end: datetime
) -> dict[str, Any]:
    """Figures per agency from the raw tables, by a path that shares nothing with the report."""
    cal = default_calendar()
    async with engine.connect() as conn:
        raw_events = (await conn.execute(text("SELECT * FROM events ORDER BY id"))).mappings().all()
        raw_plans = (
            (await conn.execute(text("SELECT id, centre, approved_at FROM plans"))).mappings().all()
        )
        raw_tasks = (await conn.execute(text("SELECT id, due_date FROM tasks"))).mappings().all()
    plan_centre = {p["id"]: p["centre"] for p in raw_plans}
    approved = {p["id"]: _moment(p["approved_at"]) for p in raw_plans}
    due_dates = {t["id"]: _day(t["due_date"]) for t in raw_tasks}
    timeline: dict[str, list[dict[str, Any]]] = defaultdict(list)
    created: dict[str, dict[str, Any]] = {}
    for e in raw_events:
        event = dict(e, at=_moment(e["at"]), data=_data(e["data"]))
        if event["task_id"] is None:
            continue
        timeline[event["task_id"]].append(event)
        if event["type"] == "task_created":
            created[event["task_id"]] = event

    def first(events: list[dict[str, Any]], *types: str, after: datetime | None = None) -> Any:
        for event in events:
            if event["type"] in types and (after is None or event["at"] > after):
                return event
        return None

    def breached(due: datetime, stop: datetime | None) -> bool:
        return due < end and (stop is None or stop > due)

    figures: dict[str, dict[str, Any]] = defaultdict(lambda: defaultdict(int))
    samples: dict[str, list[int]] = defaultdict(list)
    for task_id, made in created.items():
        if plan_centre[made["plan_id"]] != centre or not start <= made["at"] < end:
            continue
        agency = made["data"]["agency"]
        f = figures[agency]
        seen = [e for e in timeline[task_id] if e["at"] < end]
        f["received"] += 1
        delivered = first(seen, "task_delivered")
        accepted = first(seen, "task_accepted")
        returns = [e for e in seen if e["type"] == "task_returned"]
        routing_due = cal.deadline(approved[made["plan_id"]], 2)
        if delivered:
            f["delivered"] += 1
            f["delivered_on_time"] += delivered["at"] <= routing_due
        done = [e for e in seen if e["type"] == "agency_report" and e["to_state"] == "reported"]
        f["reported"] += bool(done)
        if accepted:
            f["accepted"] += 1
            f["accepted_first_time"] += not returns
            if delivered:
                samples[agency].append(cal.working_days_between(delivered["at"], accepted["at"]))
        f["returned"] += len(returns)
        f["rejected"] += any(
            e["type"] == "agency_report" and e["to_state"] == "rejected_by_agency" for e in seen
        )
        f["cancelled"] += any(e["type"] == "task_cancelled" for e in seen)
        cancelled = first(seen, "task_cancelled")
        cancel_at = cancelled["at"] if cancelled else None

        def stop(*candidates: datetime | None) -> datetime | None:
            present = [c for c in candidates if c is not None]
            return min(present) if present else None

        kinds: list[str] = []
        if breached(routing_due, stop(delivered and delivered["at"], cancel_at)):
            kinds.append("routing")
        due_day = due_dates[task_id]
        if due_day is not None:
            due = datetime.combine(due_day, time(23, 59, 59), tzinfo=ALMATY)
            answer = first(seen, "agency_report")
            while answer and answer["to_state"] not in ("reported", "rejected_by_agency"):
                answer = first(seen, "agency_report", after=answer["at"])
            if breached(due, stop(answer and answer["at"], cancel_at)):
                kinds.append("due_date")
        # A refusal is a report the centre must act on as well (p.11).
        refusals = [
            e
            for e in seen
            if e["type"] == "agency_report" and e["to_state"] == "rejected_by_agency"
        ]
        for report in [*done, *refusals]:
            review_due = cal.deadline(report["at"], 2)
            decided = first(
                seen,
                "task_accepted",
                "task_returned",
                "task_rerouted",
                "task_closed",
                after=report["at"],
            )
            if breached(review_due, stop(decided and decided["at"], cancel_at)):
                kinds.append("review")
        for kind in kinds:
            f[f"breached_{kind}"] += 1
        f["tasks_with_breach"] += bool(kinds)
        f["tasks_with_centre_breach"] += bool({"routing", "review"} & set(kinds))
    for agency, values in samples.items():
        figures[agency]["median"] = float(statistics.median(values))
    return {agency: dict(values) for agency, values in figures.items()}


FIELDS = (
    "received",
    "delivered",
    "delivered_on_time",
    "reported",
    "accepted",
    "accepted_first_time",
    "returned",
    "rejected",
    "cancelled",
    "breached_routing",
    "breached_review",
    "breached_due_date",
    "tasks_with_breach",
    "tasks_with_centre_breach",
)


async def test_quarterly_figures_match_the_timeline(engine: AsyncEngine) -> None:
    await seed_quarter(engine)
    report = await build_quarterly_report(engine, CENTRE, QUARTER, source=None, now=at(11, 20))
    expected = await recompute(engine, CENTRE, QUARTER.start, QUARTER.end)

    got = {f.agency: f for f in report.agencies if f.received}
    assert set(got) == set(expected) == {"health", "education", "housing", "internal_affairs"}
    for agency, figures in got.items():
        for name in FIELDS:
            assert getattr(figures, name) == expected[agency].get(name, 0), (agency, name)
        assert figures.median_days_to_accept == expected[agency].get("median"), agency

    # Hand-checked against the seeding, so that both computations being wrong the same way
    # would still fail.
    health, education, housing = got["health"], got["education"], got["housing"]
    assert (health.received, health.delivered_on_time, health.breached_routing) == (3, 2, 1)
    assert (health.reported, health.accepted, health.accepted_first_time) == (3, 2, 2)
    assert (education.received, education.delivered, education.breached_routing) == (2, 1, 2)
    assert (education.returned, education.accepted_first_time) == (1, 0)
    assert education.median_days_to_accept == 11.0
    assert (housing.breached_due_date, housing.breached_review, housing.cancelled) == (1, 1, 1)
    assert got["internal_affairs"].rejected == 1
    assert report.total.received == 8
    assert not report.preliminary

    # A breach is a legal fact whether or not the watcher ran: every breach the watcher
    # recorded for this cohort is counted, and so are the two late deliveries it never saw
    # open (P2's health delivered between scans, P3's education delivered after its term
    # but before the next scan).
    cohort = await _cohort_ids(engine)
    async with engine.connect() as conn:
        breach_events = (
            await conn.execute(
                text("SELECT task_id, data, at FROM events WHERE type = 'deadline_breached'")
            )
        ).all()
    recorded: dict[str, int] = defaultdict(int)
    for task_id, data, when in breach_events:
        if task_id in cohort and _moment(when) < QUARTER.end:
            recorded[_data(data)["kind"]] += 1
    assert recorded["routing"] == report.total.breached_routing - 2
    assert recorded["review"] == report.total.breached_review
    assert recorded["due_date"] == report.total.breached_due_date

    # Families: every plan open in the quarter; with no card connected, no changes and
    # the reason, not zero changes.
    assert report.families_monitored == 4
    assert report.family_card.no_data is NoDataReason.not_configured and report.families == ()
    # Routing breaches are the centre's (p.9): not among the body's shortcomings, but in the
    # centre's finding with the count per body, apart from the body's own term (p.10).
    finding = next(f for f in report.conclusion.findings if f.agency == "education")
    assert not any("срок направления" in s for s in finding.shortcomings)
    centre = next(f for f in report.conclusion.findings if f.agency is None)
    total = report.total
    (routing,) = [s for s in centre.shortcomings if "срок направления ИПР органу" in s]
    assert routing.startswith(f"по {total.breached_routing} из {total.received} поручений")
    assert f"{education.name} — {education.breached_routing}" in routing
    assert any(f"п. 11): {total.breached_review}" in s for s in centre.shortcomings)
    sections = {s.key: s for s in export.sections(report)}
    assert "Нарушен срок направления органу (п. 9)" not in sections["figures"].headers
    centre_rows = {row[1]: row for row in sections["centre"].rows}
    assert centre_rows["education"][3] == education.breached_routing
    assert centre_rows["housing"][4] == housing.breached_review


async def test_family_changes_come_from_the_card(engine: AsyncEngine) -> None:
    """With the mock ЦКС running, the report shows its changes, fetched through the adapter
    over HTTP, with the card's address and the time, in every format."""
    seeded = await seed_quarter(engine)
    now = at(11, 20)
    with running_card(now, POPULATION) as card:
        source = card_client(card.url)
        try:
            report = await build_quarterly_report(engine, CENTRE, QUARTER, source=source, now=now)
        finally:
            assert source is not None
            await source.aclose()
        asked = card.admin.journal.count(service="status-changes.query")
    assert asked == 1  # one question for the whole report

    families = {plan_id: POPULATION.families[n] for n, plan_id in enumerate(seeded["plans"])}
    expected = {
        plan_id: changes
        for plan_id, family in families.items()
        if (changes := card.expected_changes(family, date(2026, 7, 1), date(2026, 9, 30)))
    }
    assert expected, "the seed should give some of these families a change in the quarter"
    assert report.families_monitored == len(seeded["plans"])
    assert {f.plan_id: [(c.on, c.to_status) for c in f.changes] for f in report.families} == (
        expected
    )
    reading = report.family_card
    assert reading.available and reading.url == card.url
    assert reading.fetched_at == now and reading.as_of == now and reading.unknown == ()

    one = report.families[0].changes[0]
    changed = f"изменение социального статуса в ЦКС у {len(expected)} из 4"
    check_every_format(
        report, [card.url, one.to_status], absent=["Нет данных"], chart=[card.url, changed]
    )


async def test_with_the_card_stopped_the_report_says_no_data(engine: AsyncEngine) -> None:
    await seed_quarter(engine)
    with running_card(at(11, 20), POPULATION) as card:
        url = card.url
    source = card_client(url)
    assert source is not None
    try:
        report = await build_quarterly_report(
            engine, CENTRE, QUARTER, source=source, now=at(11, 20)
        )
    finally:
        await source.aclose()
    reading = report.family_card
    assert reading.no_data is NoDataReason.unavailable and reading.url == url
    assert "unreachable" in reading.detail and reading.fetched_at is None
    assert report.families == () and report.families_monitored == 4
    assert report.total.received == 8  # the rest of the report is whole
    check_every_format(
        report,
        ["Нет данных из Цифровой карты семьи (ЦКС недоступна или не ответила вовремя)"],
        absent=["изменений нет", "не зафиксировано"],
    )


async def test_a_malformed_card_answer_gives_no_data(engine: AsyncEngine) -> None:
    await seed_quarter(engine)
    with running_card(at(11, 20), POPULATION) as card:
        card.admin.add_fault({"service": "status-changes.query", "kind": "malformed"})
        source = card_client(card.url)
        assert source is not None
        try:
            report = await build_quarterly_report(
                engine, CENTRE, QUARTER, source=source, now=at(11, 20)
            )
        finally:
            await source.aclose()
    assert report.family_card.no_data is NoDataReason.malformed and report.families == ()
    check_every_format(
        report, ["Нет данных из Цифровой карты семьи (ЦКС прислала ответ не по формату)"]
    )


def check_every_format(
    report: QuarterlyReport,
    present: list[str],
    absent: Sequence[str] = (),
    chart: list[str] | None = None,
) -> None:
    """Each export renders and carries ``present`` (the chart: ``chart``, since it counts
    changes rather than listing them)."""
    xlsx = load_workbook(io.BytesIO(export.to_xlsx(report)))
    rendered = {
        "text": export.to_text(report),
        "csv": export.to_csv(report).decode("utf-8-sig"),
        "xlsx": "\n".join(
            str(c.value)
            for sheet in ("Семьи (ЦКС)", "Примечания")
            for row in xlsx[sheet].iter_rows()
            for c in row
            if c.value is not None
        ),
        "json": json.dumps(json.loads(export.to_json(report)), ensure_ascii=False),
        "svg": report_chart_svg(report),
    }
    for name, body in rendered.items():
        for needle in chart if name == "svg" and chart is not None else present:
            assert needle in body, (name, needle)
        for needle in absent:
            assert needle not in body, (name, needle)


async def _cohort_ids(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                text(
                    "SELECT e.task_id, e.at FROM events e JOIN plans p ON p.id = e.plan_id "
                    "WHERE e.type = 'task_created' AND p.centre = :c"
                ),
                {"c": CENTRE},
            )
        ).all()
    return {t for t, when in rows if QUARTER.start <= _moment(when) < QUARTER.end}


async def test_mid_quarter_report_is_preliminary_and_cut_at_now(engine: AsyncEngine) -> None:
    await seed_quarter(engine)
    now = at(7, 5)
    report = await build_quarterly_report(engine, CENTRE, QUARTER, source=None, now=now)
    expected = await recompute(engine, CENTRE, QUARTER.start, now)
    assert report.preliminary
    got = {f.agency: f for f in report.agencies if f.received}
    assert set(got) == set(expected)
    for agency, figures in got.items():
        for name in FIELDS:
            assert getattr(figures, name) == expected[agency].get(name, 0), (agency, name)
    assert got["education"].breached_routing == 1 and got["education"].delivered == 0


async def test_cli_prints_the_report(engine: AsyncEngine, store_url: str) -> None:
    await seed_quarter(engine)
    runner = CliRunner()
    from gateway.cli import app

    env = {"GATEWAY_DATABASE_URL": store_url}
    result = await asyncio.to_thread(
        runner.invoke,
        app,
        ["report", "quarterly", "--centre", CENTRE, "--quarter", "2026Q3", "--format", "json"],
        env=env,
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["quarter"] == "2026Q3" and data["total"]["received"] == 8
    assert data["family_card"]["no_data"]["reason"] == "not_configured"
    assert data["families"] is None

    # With the card set up, the command reads it: the mock's clock at the real now, so
    # the finished quarter's changes are all recorded.
    with running_card(datetime.now(UTC), POPULATION) as card:
        with_card = await asyncio.to_thread(
            runner.invoke,
            app,
            ["report", "quarterly", "--centre", CENTRE, "--quarter", "2026Q3", "--format", "json"],
            env={**env, "GATEWAY_FAMILY_CARD_URL": card.url},
        )
    assert with_card.exit_code == 0, with_card.output
    card_data = json.loads(with_card.stdout)["family_card"]
    assert card_data["available"] is True and card_data["url"] == card.url
    assert card_data["fetched_at"] is not None

    text_result = await asyncio.to_thread(
        runner.invoke,
        app,
        ["report", "quarterly", "--centre", CENTRE, "--quarter", "2026Q3"],
        env=env,
    )
    assert text_result.exit_code == 0
    assert "Заключение по итогам мониторинга" in text_result.stdout

    bad = await asyncio.to_thread(
        runner.invoke,
        app,
        ["report", "quarterly", "--centre", CENTRE, "--quarter", "2026-7"],
        env=env,
    )
    assert bad.exit_code == 2 and "2026Q3" in bad.output
