"""A kandas family's five years after arrival (order 170 p.32-51) on both stores.

The API runs in-process over ASGI with a ManualClock; the Kandas system, the family card
and the migration police are fakes at the adapter boundary (their real clients are tested
against their mocks elsewhere), so a test can take them down and bring them back.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.http_discipline import UpstreamUnavailable
from adapters.police_migration.residence import Registration
from contracts.amqp import Topology
from contracts.clock import ManualClock, to_almaty
from contracts.family_card.adaptation import AdaptationReportIn, AdaptationReportRecorded
from contracts.iin import make_iin
from gateway import deadline_watcher
from gateway.agencies import load_agencies
from gateway.api.app import create_app
from gateway.api.deps import AppState
from gateway.auth import ClientKind
from gateway.broker.outbox_relay import OutboxRelay
from gateway.config import Settings
from gateway.domain import kandas_quality, kandas_schedule
from gateway.domain.kandas_services import load_services
from gateway.ids import new_id
from gateway.media.store import LocalMediaStore
from gateway.services import http_outbox, kandas_delivery, kandas_monitoring, kandas_worker
from gateway.services.clients import add_client
from gateway.services.context import Context
from gateway.services.staff import StaffRole, add_staff
from gateway.store.tables import (
    deadlines,
    events,
    kandas_adaptations,
    kandas_monitoring_runs,
    kandas_work_reports,
    outbox,
    plans,
    tasks,
)
from gateway.workdays import default_calendar

pytestmark = pytest.mark.integration

START = datetime(2026, 12, 2, 5, 0, tzinfo=UTC)  # a Wednesday, 10:00 in Almaty
QUOTA = date(2026, 11, 20)
JPEG = b"\xff\xd8\xff\xe0" + b"\x10" * 600
MP4 = b"\x00\x00\x00\x18ftypmp42" + b"\x20" * 600
PUBLIC = "http://gateway.test"
PASSWORD = "correct horse battery staple"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def iin(serial: int, born: date = date(1985, 4, 12)) -> str:
    return make_iin(born, "male" if serial % 2 else "female", serial)


@dataclass
class FakeKandas:
    down: bool = False
    plans: dict[str, Any] = field(default_factory=dict)
    keys: list[str] = field(default_factory=list)
    reports: list[Any] = field(default_factory=list)

    async def create_plan(self, plan: Any, *, idempotency_key: str | None = None) -> Any:
        if self.down:
            raise UpstreamUnavailable("kandas: connection refused", service="kandas", endpoint="x")
        self.keys.append(idempotency_key or "")
        plan_id = f"k-{len(self.plans) + 1}"
        self.plans[plan_id] = plan
        return _Obj(id=plan_id)

    async def report_work(
        self, plan_id: str, report: Any, *, idempotency_key: str | None = None
    ) -> Any:
        if self.down:
            raise UpstreamUnavailable("kandas: connection refused", service="kandas", endpoint="x")
        self.reports.append((plan_id, report, idempotency_key))
        return _Obj(id=f"r-{len(self.reports)}")

    async def plan(self, plan_id: str) -> Any:
        if self.down:
            raise UpstreamUnavailable("kandas: down", service="kandas", endpoint="x")
        request = self.plans[plan_id]
        members = [
            _Obj(services=[_Obj(status="planned") for _ in m.services]) for m in request.members
        ]
        return _Obj(members=members)


class _Obj:
    def __init__(self, **kw: Any) -> None:
        self.__dict__.update(kw)


@dataclass
class FakeCard:
    mirrored: list[AdaptationReportIn] = field(default_factory=list)

    async def record_adaptation_report(
        self, report: AdaptationReportIn, *, idempotency_key: str | None = None
    ) -> AdaptationReportRecorded:
        self.mirrored.append(report)
        return AdaptationReportRecorded(
            id=f"c-{len(self.mirrored)}", family_id="f", recorded_at=START
        )

    async def family(self, iin: str) -> Any:
        return _Obj(family_id="fam-1", members=[1, 2, 3], as_of="2026-12-01")


def registered(region: str, since: date) -> Registration:
    return Registration("permanent", region, "—", since, None)


SETTLED = [registered("Северо-Казахстанская область", date(2026, 11, 25))]


@dataclass
class FakePolice:
    answers: dict[str, Any] = field(default_factory=dict)
    default: Any = field(default_factory=lambda: SETTLED)

    async def registrations_of(self, iin: str) -> Any:
        answer = self.answers.get(iin, self.default)
        if isinstance(answer, Exception):
            raise answer
        return answer


@dataclass
class World:
    engine: AsyncEngine
    ctx: Context
    clock: ManualClock
    http: httpx.AsyncClient
    keys: dict[str, str]
    settings: Settings
    kandas: FakeKandas
    card: FakeCard
    police: FakePolice

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[who]}"}

    def handlers(self) -> dict[str, http_outbox.Handler]:
        return kandas_delivery.handlers(self.engine, self.kandas, self.card, PUBLIC)

    async def case(self, serial: int, *, drafted: bool = True) -> tuple[str, list[str]]:
        """An application whose plan was drafted (the cc_plan hand-over), stored directly."""
        people = [iin(serial), iin(serial + 1, date(1987, 2, 3)), iin(serial + 2, date(2015, 6, 1))]
        case_id = new_id()
        now = self.clock.now()
        async with self.engine.begin() as conn:
            await conn.execute(
                plans.insert().values(
                    id=case_id,
                    flow="kandas_application",
                    centre="cc_turkestan",
                    status="completed",
                    approved_at=now,
                    created_at=now,
                    family={
                        "application": {
                            "applicant_iin": people[0],
                            "departure_region": "turkestan",
                            "settlement_region": "north_kazakhstan",
                        },
                        "intake": {
                            "people": [
                                {"iin": people[0], "relation": "applicant"},
                                {"iin": people[1], "relation": "spouse"},
                                {"iin": people[2], "relation": "child"},
                            ],
                            "facts": [],
                            "scans_needed": [],
                            "outcomes": [],
                            "missing": [],
                            "fetched_at": "2026-12-02T10:00:00+05:00",
                        },
                    },
                    grounds=[],
                    created_by="test",
                )
            )
            await conn.execute(
                tasks.insert().values(
                    id=new_id(),
                    plan_id=case_id,
                    seq=0,
                    step="cc_plan",
                    agency="cc_north_kazakhstan",
                    title="plan",
                    description="p.19",
                    beneficiary_iins=people,
                    state="forwarded" if drafted else "dispatched",
                    round=0,
                    created_at=now,
                    updated_at=now,
                )
            )
        return case_id, people

    async def approve(self, case_id: str, **body: Any) -> httpx.Response:
        return await self.http.post(
            f"/api/v1/kandas/applications/{case_id}/adaptation-plan",
            json={"quota_date": QUOTA.isoformat(), **body},
            headers=self.auth("cc_north_kazakhstan"),
        )

    async def report(
        self,
        adaptation_id: str,
        member: str,
        code: int,
        done_on: date,
        *,
        lat: float = 54.9,
        lon: float = 69.2,
        files: list[tuple[str, bytes, str]] | None = None,
        key: str | None = None,
    ) -> httpx.Response:
        headers = self.auth("cc_north_kazakhstan")
        if key:
            headers["Idempotency-Key"] = key
        return await self.http.post(
            f"/api/v1/kandas/adaptations/{adaptation_id}/reports",
            data={
                "member_iin": member,
                "service_code": str(code),
                "done_on": done_on.isoformat(),
                "lat": str(lat),
                "lon": str(lon),
                "comment": "сделано",
            },
            files=[("media", f) for f in (files or [("photo.jpg", JPEG, "image/jpeg")])],
            headers=headers,
        )


@pytest.fixture
async def world(engine: AsyncEngine, tmp_path: Path) -> AsyncIterator[World]:
    clock = ManualClock(START)
    agencies = load_agencies()
    ctx = Context(default_calendar(), agencies, Topology("t", agencies.enabled_codes()))
    settings = Settings(
        database_url=str(engine.url),
        media_dir=tmp_path / "media",
        media_photo_max_bytes=2000,
        media_video_max_bytes=4000,
        public_url=PUBLIC,
    )
    kandas, card, police = FakeKandas(), FakeCard(), FakePolice()
    state = AppState(
        settings=settings,
        engine=engine,
        ctx=ctx,
        clock=clock,
        media=LocalMediaStore(settings.media_dir),
        kandas=kandas,
        family_card=card,
        residence=police,
    )
    keys: dict[str, str] = {}
    async with engine.begin() as conn:
        for code in ("cc_north_kazakhstan", "cc_turkestan", "leb_north_kazakhstan", "wdc"):
            client = await add_client(
                conn, name=code, kind=ClientKind.agency, scope=code, agencies=agencies, now=START
            )
            keys[code] = client.api_key
    app = create_app(state)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://gw"
    ) as http:
        yield World(engine, ctx, clock, http, keys, settings, kandas, card, police)


async def test_plan_upload_waits_while_kandas_is_down_and_its_term_shows_it(world: World) -> None:
    w = world
    case_id, people = await w.case(100)
    undrafted, _ = await w.case(200, drafted=False)
    assert (await w.approve(undrafted)).status_code == 409
    refused = await w.http.post(
        f"/api/v1/kandas/applications/{case_id}/adaptation-plan",
        json={"quota_date": QUOTA.isoformat()},
        headers=w.auth("cc_turkestan"),
    )
    assert refused.status_code == 403  # the career centre of departure does not approve it

    first = await w.approve(case_id)
    assert first.status_code == 201, first.text
    plan = first.json()
    assert [m["iin"] for m in plan["members"]] == people
    for member in plan["members"]:
        assert [s["code"] for s in member["services"]] == list(range(1, 26))
        assert member["services"][8]["name_ru"] == load_services()[8].name_ru
        assert member["services"][8]["name_kk"] == load_services()[8].name_kk
        assert {s["due_date"] for s in member["services"]} == {"2027-11-20"}  # quota + 365 d
    assert plan["upload"]["deadline"] == "on_time" and plan["upload"]["kandas_plan_id"] is None
    again = await w.approve(case_id)
    assert again.status_code == 200 and again.json()["id"] == plan["id"]

    async with w.engine.connect() as conn:
        rows = (await conn.execute(select(outbox).where(outbox.c.plan_id == case_id))).all()
    assert [(r.exchange, r.message_type) for r in rows] == [("http:kandas", "kandas.plan_upload")]

    # The Kandas system is down: the upload waits in the outbox and the term runs out.
    w.kandas.down = True
    assert await http_outbox.deliver(w.engine, w.handlers(), w.clock.now()) == 0
    w.clock.advance(timedelta(minutes=10))
    assert await http_outbox.deliver(w.engine, w.handlers(), w.clock.now()) == 0
    w.clock.advance(timedelta(days=2))  # Friday: one working day after Wednesday has passed
    await deadline_watcher.scan(w.engine, w.clock.now())
    waiting = (
        await w.http.get(
            f"/api/v1/kandas/adaptations/{plan['id']}", headers=w.auth("cc_north_kazakhstan")
        )
    ).json()
    assert waiting["upload"]["deadline"] == "breached"
    assert (
        waiting["upload"]["attempts"] >= 1
        and "UpstreamUnavailable" in waiting["upload"]["last_error"]
    )
    async with w.engine.connect() as conn:
        kinds = [
            e.type
            for e in (await conn.execute(select(events).where(events.c.plan_id == case_id))).all()
        ]
    assert kinds.count("delivery_failed") == 1 and "deadline_breached" in kinds

    # Back up: delivered once, the term met (late), a retry changes nothing.
    w.kandas.down = False
    w.clock.advance(timedelta(minutes=10))
    assert await http_outbox.deliver(w.engine, w.handlers(), w.clock.now()) == 1
    assert await http_outbox.deliver(w.engine, w.handlers(), w.clock.now()) == 0
    assert w.kandas.keys == [f"{plan['id']}:plan"]
    uploaded = (
        await w.http.get(
            f"/api/v1/kandas/adaptations/{plan['id']}", headers=w.auth("cc_north_kazakhstan")
        )
    ).json()
    assert uploaded["upload"]["kandas_plan_id"] == "k-1"
    assert uploaded["upload"]["deadline"] == "breached"  # met, but after its end
    sent = w.kandas.plans["k-1"]
    assert sent.quota_date == QUOTA and len(sent.members) == 3
    # The leb of settlement reads it; another region's bodies do not see it.
    assert (
        await w.http.get(
            f"/api/v1/kandas/adaptations/{plan['id']}", headers=w.auth("leb_north_kazakhstan")
        )
    ).status_code == 200
    assert (
        await w.http.get(f"/api/v1/kandas/adaptations/{plan['id']}", headers=w.auth("cc_turkestan"))
    ).status_code == 404


async def test_work_reports_check_media_plan_and_place_and_are_relayed(world: World) -> None:
    w = world
    case_id, people = await w.case(300)
    plan = (
        await w.approve(
            case_id,
            members=[
                {"iin": people[0]},
                {"iin": people[1], "services": [1, 2, 15]},
                {"iin": people[2], "services": [9, 11]},
            ],
        )
    ).json()
    pid = plan["id"]
    done = date(2026, 12, 1)

    ok = await w.report(pid, people[0], 6, done, key="r-1")
    assert ok.status_code == 201, ok.text
    assert ok.json()["flags"] == [] and ok.json()["media"][0]["content_type"] == "image/jpeg"
    repeat = await w.report(pid, people[0], 6, done, key="r-1")
    assert repeat.status_code == 200 and repeat.json()["id"] == ok.json()["id"]

    far = await w.report(
        pid, people[1], 15, done, lat=43.24, lon=76.89, files=[("v.mp4", MP4, "video/mp4")]
    )
    assert [f["code"] for f in far.json()["flags"]] == ["far_from_settlement"]
    abroad = await w.report(pid, people[2], 9, done, lat=55.75, lon=37.62)
    assert [f["code"] for f in abroad.json()["flags"]] == ["outside_kazakhstan"]

    # Bad input: named precisely, nothing stored.
    wrong = await w.report(
        pid,
        people[0],
        7,
        done,
        files=[
            ("ok.jpg", JPEG, "image/jpeg"),
            ("scan.jpg", b"%PDF-1.7 not a photo", "image/jpeg"),
        ],
    )
    assert wrong.status_code == 422
    assert wrong.headers["content-type"] == "application/problem+json"
    assert (
        wrong.json()["errors"][0]["field"] == "media[1]"
        and "scan.jpg" in wrong.json()["errors"][0]["reason"]
    )
    big = await w.report(pid, people[0], 7, done, files=[("big.jpg", JPEG * 4, "image/jpeg")])
    assert big.status_code == 413 and "big.jpg" in big.json()["errors"][0]["reason"]
    outside_plan = await w.report(pid, people[2], 15, done)
    assert outside_plan.status_code == 422
    assert outside_plan.json()["errors"] == [
        {"field": "service_code", "reason": "service 15 is not in this member's plan"}
    ]
    stranger = await w.report(pid, iin(900), 1, done)
    assert stranger.status_code == 422 and stranger.json()["errors"][0]["field"] == "member_iin"
    async with w.engine.connect() as conn:
        stored = (await conn.execute(select(kandas_work_reports))).all()
    assert len(stored) == 3

    # Relayed to the Kandas system (after the plan's upload) and mirrored to the card.
    await http_outbox.deliver(w.engine, w.handlers(), w.clock.now())
    w.clock.advance(timedelta(minutes=5))
    await http_outbox.deliver(w.engine, w.handlers(), w.clock.now())
    assert len(w.kandas.reports) == 3 and len(w.card.mirrored) == 3
    _, first, key = w.kandas.reports[0]
    digest = ok.json()["media"][0]["sha256"]
    assert (
        first.media[0].url == f"{PUBLIC}/api/v1/media/{digest}"
        and key == f"{ok.json()['id']}:report"
    )
    assert w.card.mirrored[0].service_name_kk == load_services()[5].name_kk
    media = await w.http.get(f"/api/v1/media/{digest}", headers=w.auth("leb_north_kazakhstan"))
    assert media.content == JPEG and media.headers["content-type"] == "image/jpeg"
    other = await w.http.get(f"/api/v1/media/{digest}", headers=w.auth("cc_turkestan"))
    assert other.status_code == 404  # knowing the hash is not a permission
    view = (
        await w.http.get(f"/api/v1/kandas/adaptations/{pid}", headers=w.auth("cc_north_kazakhstan"))
    ).json()
    assert all(r["relayed_at"] and r["card_mirrored_at"] for r in view["reports"])
    kandas_member = next(m for m in view["members"] if m["iin"] == people[0])
    assert next(s for s in kandas_member["services"] if s["code"] == 6)["done_on"] == "2026-12-01"


async def test_the_monthly_report_matches_an_independent_recount_of_the_raw_records(
    world: World,
) -> None:
    w = world
    w.clock.set(datetime(2026, 12, 1, 5, 0, tzinfo=UTC))
    case_a, a = await w.case(400)
    plan_a = (await w.approve(case_a)).json()["id"]
    w.clock.set(datetime(2027, 1, 10, 5, 0, tzinfo=UTC))
    for member, code, day in [
        (a[0], 1, date(2026, 12, 3)),
        (a[0], 1, date(2026, 12, 20)),  # the later one counts
        (a[0], 25, date(2026, 12, 31)),
        (a[1], 9, date(2026, 12, 1)),
        (a[2], 10, date(2026, 11, 30)),  # before the month: not in it
        (a[2], 11, date(2027, 1, 2)),  # after the month
    ]:
        assert (await w.report(plan_a, member, code, day)).status_code == 201
    # A plan approved after the month with work done in it is reported; one without is not.
    case_b, b = await w.case(500)
    plan_b = (await w.approve(case_b, quota_date="2026-11-01")).json()["id"]
    assert (await w.report(plan_b, b[1], 3, date(2026, 12, 28))).status_code == 201
    case_c, _ = await w.case(600)
    assert (await w.approve(case_c)).status_code == 201

    got = await w.http.get(
        "/api/v1/kandas/monthly-reports/cc_north_kazakhstan/2026-12",
        headers=w.auth("leb_north_kazakhstan"),
    )
    assert got.status_code == 200, got.text
    report = got.json()

    # The independent recount: straight from the stored rows, no gateway code.
    async with w.engine.connect() as conn:
        approved = (await conn.execute(select(kandas_adaptations))).all()
        raw = (await conn.execute(select(kandas_work_reports))).all()
    first, following = date(2026, 12, 1), date(2027, 1, 1)
    cells: dict[str, dict[int, str]] = {}
    for r in raw:
        if first <= r.done_on < following:
            cell = cells.setdefault(r.member_iin, {})
            cell[r.service_code] = max(cell.get(r.service_code, ""), r.done_on.isoformat())
    expected: list[list[str]] = []
    for adaptation in sorted(approved, key=lambda x: (to_almaty(x.approved_at).date(), x.id)):
        for m in adaptation.members:
            late = to_almaty(adaptation.approved_at).date() >= following
            if late and m["iin"] not in cells:
                continue
            row = [str(len(expected) + 1), m["iin"]] + [
                cells.get(m["iin"], {}).get(c, "") for c in range(1, 26)
            ]
            expected.append(row)
    assert report["rows"] == expected
    assert len(expected) == 4 and {r[1] for r in expected} == {*a, b[1]}

    # The form: 27 columns, numbered, № and IIN, then the 25 services in appendix order.
    form = json.loads(Path("gateway/data/kandas_services.json").read_text(encoding="utf-8"))
    assert [c["number"] for c in report["columns"]] == list(range(1, 28))
    assert [c["title_ru"] for c in report["columns"][2:]] == [
        s["name_ru"] for s in form["services"]
    ]
    assert [c["title_kk"] for c in report["columns"][2:]] == [
        s["name_kk"] for s in form["services"]
    ]
    assert all(len(r) == 27 for r in report["rows"]) and report["due_by"] == "2027-01-05"

    as_csv = await w.http.get(
        "/api/v1/kandas/monthly-reports/cc_north_kazakhstan/2026-12?format=csv",
        headers=w.auth("cc_north_kazakhstan"),
    )
    lines = list(csv.reader(io.StringIO(as_csv.text)))
    assert lines[1] == [str(n) for n in range(1, 28)] and lines[3:] == expected
    as_xlsx = await w.http.get(
        "/api/v1/kandas/monthly-reports/cc_north_kazakhstan/2026-12?format=xlsx&lang=kk",
        headers=w.auth("cc_north_kazakhstan"),
    )
    sheet = load_workbook(io.BytesIO(as_xlsx.content)).active
    assert sheet is not None
    values = [
        [("" if v is None else str(v)) for v in row] for row in sheet.iter_rows(values_only=True)
    ]
    assert values[3][2] == form["services"][0]["name_kk"] and values[4:] == expected
    assert (
        await w.http.get(
            "/api/v1/kandas/monthly-reports/cc_north_kazakhstan/2026-13",
            headers=w.auth("cc_north_kazakhstan"),
        )
    ).json()["errors"][0]["field"] == "month"
    assert (
        await w.http.get(
            "/api/v1/kandas/monthly-reports/cc_north_kazakhstan/2026-12",
            headers=w.auth("cc_turkestan"),
        )
    ).status_code == 404

    # The 5th is a watched term; delivering to the local executive body meets it.
    rules = kandas_quality.load()
    await kandas_worker.run_once(w.engine, w.ctx, rules, {}, None, None, None, w.clock)
    async with w.engine.connect() as conn:
        period = (
            await conn.execute(
                select(plans.c.id).where(
                    plans.c.flow == "kandas_monthly_report", plans.c.external_id == "2026-12"
                )
            )
        ).scalar_one()
        term = (await conn.execute(select(deadlines).where(deadlines.c.plan_id == period))).one()
    assert to_almaty(term.due_at).date() == date(2027, 1, 5) and term.met_at is None
    delivered = await w.http.post(
        "/api/v1/kandas/monthly-reports/2026-12/delivery", headers=w.auth("cc_north_kazakhstan")
    )
    assert delivered.status_code == 200 and delivered.json()["period_case_id"] == period
    async with w.engine.connect() as conn:
        assert (
            await conn.execute(select(deadlines.c.met_at).where(deadlines.c.plan_id == period))
        ).scalar_one()
    assert (
        await w.http.post(
            "/api/v1/kandas/monthly-reports/2026-12/delivery",
            headers=w.auth("leb_north_kazakhstan"),
        )
    ).status_code == 403


async def test_five_years_of_monitoring_then_none_and_leaving_opens_a_p46_case(
    world: World,
) -> None:
    w = world
    case_id, _ = await w.case(700)
    plan = (await w.approve(case_id)).json()
    await http_outbox.deliver(w.engine, w.handlers(), w.clock.now())
    police, kandas, card = w.police, w.kandas, w.card

    # Walk six years a week at a time; every run must come in the week its period closes.
    end = START + timedelta(days=6 * 366)
    while w.clock.now() < end:
        w.clock.advance(timedelta(days=7))
        await kandas_monitoring.run_due(w.engine, kandas, card, police, w.clock.now())
    async with w.engine.connect() as conn:
        runs = (
            await conn.execute(
                select(kandas_monitoring_runs)
                .where(kandas_monitoring_runs.c.adaptation_id == plan["id"])
                .order_by(kandas_monitoring_runs.c.seq)
            )
        ).all()
    slots = kandas_schedule.schedule(QUOTA)
    assert [r.cadence for r in runs] == ["quarterly"] * 12 + ["half_yearly"] * 4
    assert [r.due_on for r in runs] == [s.due_on for s in slots]
    assert runs[0].due_on == date(2027, 2, 20) and runs[-1].due_on == date(2031, 11, 20)
    for r in runs:
        assert timedelta(0) <= to_almaty(r.run_at).date() - r.due_on < timedelta(days=7)
        assert r.outcome == "residing" and r.return_case_id is None
        assert (
            r.findings["kandas"]["answer"] == "ok"
            and r.findings["family_card"]["family_id"] == "fam-1"
        )
    # Past the five years nothing more comes.
    w.clock.advance(timedelta(days=800))
    assert await kandas_monitoring.run_due(w.engine, kandas, card, police, w.clock.now()) == 0


async def test_a_missing_police_answer_is_no_answer_and_registration_elsewhere_opens_p46(
    world: World,
) -> None:
    w = world
    case_id, people = await w.case(800)
    plan = (await w.approve(case_id)).json()
    w.clock.set(datetime(2027, 2, 21, 5, 0, tzinfo=UTC))  # the first quarter has closed
    w.police.answers = {
        people[1]: UpstreamUnavailable("no answer", service="shep", endpoint="x"),
        people[2]: "garbage",
    }
    assert await kandas_monitoring.run_due(w.engine, w.kandas, w.card, w.police, w.clock.now()) == 1
    async with w.engine.connect() as conn:
        run = (await conn.execute(select(kandas_monitoring_runs))).one()
    assert run.outcome == "no_answer" and run.return_case_id is None
    answers = {e["iin"]: e["answer"] for e in run.findings["migration_police"]}
    assert answers == {people[0]: "residing", people[1]: "no_answer", people[2]: "no_answer"}
    assert run.findings["kandas"]["answer"] == "no_answer"  # the plan was never uploaded

    # Still only the registration from before the move: a finding, not "moved away".
    w.police.answers = {people[1]: [registered("Туркестанская область", date(2010, 5, 1))]}
    before = await w.http.post(
        f"/api/v1/kandas/adaptations/{plan['id']}/monitoring-runs",
        headers=w.auth("cc_north_kazakhstan"),
    )
    assert before.json()["outcome"] == "not_registered"
    assert before.json()["support_return_case"] is None
    # A member registered in another region since the quota: a p.46 case for a person.
    w.police.answers = {people[1]: [registered("Павлодарская область", date(2027, 1, 10))]}
    made = await w.http.post(
        f"/api/v1/kandas/adaptations/{plan['id']}/monitoring-runs",
        headers=w.auth("cc_north_kazakhstan"),
    )
    assert made.status_code == 201, made.text
    assert made.json()["outcome"] == "not_residing"
    return_case = made.json()["support_return_case"]
    async with w.engine.connect() as conn:
        opened = (await conn.execute(select(plans).where(plans.c.id == return_case))).one()
    assert opened.flow == "kandas_support_return" and opened.centre == "leb_north_kazakhstan"
    assert opened.status == "active" and opened.family["registered_elsewhere"] == [people[1]]
    decision = await w.http.post(
        f"/api/v1/kandas/support-returns/{return_case}/decision",
        json={"decision": "return", "reason": "переехал в другой регион"},
        headers=w.auth("leb_north_kazakhstan"),
    )
    assert decision.status_code == 200
    refused = await w.http.post(
        f"/api/v1/kandas/support-returns/{return_case}/decision",
        json={"decision": "return", "reason": "x"},
        headers=w.auth("cc_north_kazakhstan"),
    )
    assert refused.status_code == 404


async def test_quality_scores_show_the_acts_band_inconsistency_and_follow_the_configuration(
    world: World, tmp_path: Path
) -> None:
    w = world
    case_id, _ = await w.case(900)
    assert (await w.approve(case_id)).status_code == 201
    body = {
        "career_centre": "cc_north_kazakhstan",
        "quarter": "2026Q4",
        "scores": {"relevance": 5, "effectiveness": 5, "social_impact": 5},
        "comment": "",
    }
    assert (
        await w.http.post(
            "/api/v1/kandas/quality-evaluations", json=body, headers=w.auth("cc_north_kazakhstan")
        )
    ).status_code == 403
    bad = await w.http.post(
        "/api/v1/kandas/quality-evaluations",
        json={**body, "scores": {"relevance": 7, "effectiveness": 5, "social_impact": 5}},
        headers=w.auth("wdc"),
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "scores.relevance"
    scored = await w.http.post(
        "/api/v1/kandas/quality-evaluations", json=body, headers=w.auth("wdc")
    )
    assert scored.status_code == 201, scored.text
    evaluation = scored.json()["evaluations"][0]
    assert evaluation["total"] == 15 and evaluation["bands"] == ["medium", "high"]
    assert evaluation["band"] is None and evaluation["ambiguous"] is True
    assert {"scale_top", "overlap_10", "overlap_15"} <= {
        i["code"] for i in scored.json()["inconsistencies"]
    }
    assert (
        await w.http.post("/api/v1/kandas/quality-evaluations", json=body, headers=w.auth("wdc"))
    ).status_code == 409
    sent = await w.http.post(
        "/api/v1/kandas/quality-evaluations/cc_north_kazakhstan/2026Q4/conclusion",
        headers=w.auth("wdc"),
    )
    assert sent.json()["evaluations"][0]["conclusion_sent_at"]
    async with w.engine.connect() as conn:
        period = (
            await conn.execute(select(plans.c.id).where(plans.c.flow == "kandas_quality"))
        ).scalar_one()
        terms = {
            t.kind: t
            for t in (
                await conn.execute(select(deadlines).where(deadlines.c.plan_id == period))
            ).all()
        }
    assert to_almaty(terms["evaluation"].due_at).date() == date(2027, 1, 5)
    assert to_almaty(terms["conclusion"].due_at).date() == date(2027, 1, 25)
    assert terms["evaluation"].met_at and terms["conclusion"].met_at

    # Other bands in the configuration: the same scores now fall in one band, no warning.
    document = json.loads(kandas_quality.QUALITY_PATH.read_text(encoding="utf-8"))
    document["bands"][0].update(min=3, max=7)
    document["bands"][1].update(min=8, max=11)
    document["bands"][2].update(min=12, max=15)
    path = tmp_path / "quality.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    w.settings.kandas_quality_file = path
    page = (
        await w.http.get(
            "/api/v1/kandas/quality?quarter=2026Q4", headers=w.auth("leb_north_kazakhstan")
        )
    ).json()
    assert page["inconsistencies"] == []
    assert [b["max"] for b in page["bands"]] == [7, 11, 15]


async def _staff_browser(w: World, login: str, body: str) -> httpx.AsyncClient:
    async with w.engine.begin() as conn:
        await add_staff(
            conn,
            login=login,
            full_name=f"Тестова {login}",
            centre=body,
            role=StaffRole.worker,
            password=PASSWORD,
            now=w.clock.now(),
        )
    client = httpx.AsyncClient(transport=w.http._transport, base_url="http://gw")
    form = await client.get("/web/login")
    token = CSRF.search(form.text)
    assert token
    signed = await client.post(
        "/web/login", data={"login": login, "password": PASSWORD, "csrf": token.group(1)}
    )
    assert signed.status_code == 303, signed.text
    return client


async def test_pages_show_terms_in_colour_and_the_band_inconsistency_in_both_languages(
    world: World, tmp_path: Path
) -> None:
    w = world
    case_id, people = await w.case(1000)
    plan = (await w.approve(case_id)).json()
    w.kandas.down = True
    await http_outbox.deliver(w.engine, w.handlers(), w.clock.now())
    w.clock.advance(timedelta(days=2))
    await deadline_watcher.scan(w.engine, w.clock.now())
    assert (
        await w.report(plan["id"], people[0], 6, date(2026, 12, 1), lat=55.7, lon=37.6)
    ).status_code == 201

    centre = await _staff_browser(w, "cc-nk-s", "cc_north_kazakhstan")
    # The application's own case reads on, its timeline naming the adaptation's events.
    as_case = await w.http.get(f"/api/v1/cases/{case_id}", headers=w.auth("cc_north_kazakhstan"))
    assert as_case.status_code == 200, as_case.text
    assert "adaptation_plan_approved" in {e["type"] for e in as_case.json()["timeline"]}
    case_page = await centre.get(f"/web/cases/{case_id}")
    assert case_page.status_code == 200 and "План адаптации утверждён (п. 32–34)" in case_page.text
    listing = await centre.get("/web/kandas/adaptations")
    assert listing.status_code == 200
    assert "edge-breached" in listing.text and "ожидает выгрузки" in listing.text
    assert people[0] not in listing.text  # IINs masked on the list
    detail = await centre.get(f"/web/kandas/adaptations/{plan['id']}")
    assert load_services()[5].name_ru in detail.text
    assert "геолокация за пределами Казахстана" in detail.text
    assert "UpstreamUnavailable" in detail.text  # why the upload is late
    monthly = await centre.get("/web/kandas/monthly?month=2026-12")
    assert monthly.status_code == 200 and monthly.text.count('<th scope="col">') >= 27
    xlsx = await centre.get("/web/kandas/monthly/cc_north_kazakhstan/2026-12.xlsx")
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"

    evaluator = await _staff_browser(w, "wdc-s", "wdc")
    await w.http.post(
        "/api/v1/kandas/quality-evaluations",
        json={
            "career_centre": "cc_north_kazakhstan",
            "quarter": "2026Q4",
            "scores": {"relevance": 4, "effectiveness": 3, "social_impact": 3},
        },
        headers=w.auth("wdc"),
    )
    quality = await evaluator.get("/web/kandas/quality")
    assert 'id="band-inconsistency"' in quality.text
    assert "Шкала оценок доходит до 25" in quality.text
    assert "Сумма 10 попадает в два уровня" in quality.text and "два уровня:" in quality.text
    await evaluator.get("/web/lang/kk?next=/web/kandas/quality")
    kazakh = await evaluator.get("/web/kandas/quality")
    assert "Бұйрықтың шкаласы өлшемшарттарға сәйкес келмейді" in kazakh.text

    # Configured bands that fit: no inconsistency box.
    document = json.loads(kandas_quality.QUALITY_PATH.read_text(encoding="utf-8"))
    for band, (lo, hi) in zip(document["bands"], [(3, 7), (8, 11), (12, 15)], strict=True):
        band.update(min=lo, max=hi)
    path = tmp_path / "fits.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    w.settings.kandas_quality_file = path
    fitted = await evaluator.get("/web/kandas/quality")
    assert 'id="band-inconsistency"' not in fitted.text and "12–15" in fitted.text


async def test_the_amqp_relay_leaves_rest_deliveries_to_the_adaptation_worker(
    world: World,
) -> None:
    w = world
    case_id, _ = await w.case(1100)
    assert (await w.approve(case_id)).status_code == 201
    async with w.engine.begin() as conn:
        await conn.execute(
            outbox.insert().values(
                message_id=new_id(), exchange="t.tasks", routing_key="health",
                message_type="task.assigned", plan_id=case_id, task_id=None, body="{}",
                created_at=w.clock.now(), attempts=0,
            )
        )  # fmt: skip
    relay = OutboxRelay(w.engine, None, w.clock)  # type: ignore[arg-type]  # claims only
    claimed = await relay._claim()
    assert [r.exchange for r in claimed] == ["t.tasks"]
    # The warning comes at three quarters of the upload's working day, then the breach.
    w.kandas.down = True
    await http_outbox.deliver(w.engine, w.handlers(), w.clock.now())
    async with w.engine.connect() as conn:
        term = (
            await conn.execute(
                select(deadlines).where(
                    deadlines.c.plan_id == case_id, deadlines.c.kind == "upload"
                )
            )
        ).one()
    assert (
        await deadline_watcher.scan(w.engine, term.warn_at + timedelta(seconds=1))
    ).warnings == 1
    assert (await deadline_watcher.scan(w.engine, term.due_at + timedelta(seconds=1))).breaches == 1
