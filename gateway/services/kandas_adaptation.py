"""A kandas family's adaptation plan and the work reported on it (order 170 p.32-37).

When the career centre of settlement approves the individual plan of an application whose
plan was drafted (the `cc_plan` hand-over, p.19/28), the gateway makes the appendix 1
plan: every included family member with the 25 services, each term counted from the
family's inclusion in the regional quota (p.33). The plan hangs on the application's case,
so its timeline and terms are the case's. The upload to the Kandas system (p.34, one
working day) is an outbox row written in the same transaction as the approval; the
adaptation worker delivers it through the adapter with an idempotency key, retries while
the system is down, and the upload term on the case shows the wait.

A work report (p.35-37) names a member and a service of that member's plan, with photo or
video evidence (stored by content hash) and the phone's geolocation; a point outside
Kazakhstan or far from the settlement is flagged. The report is relayed to the Kandas
system and mirrored to the digital family card, each through the same outbox.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from contracts.clock import to_almaty
from contracts.plans import DeadlineKind, PlanStatus
from gateway.auth import Caller, ClientKind
from gateway.domain import deadlines as rules
from gateway.domain import kandas_geo, kandas_schedule
from gateway.domain.flow import Clock
from gateway.domain.kandas_services import by_code, load_services
from gateway.errors import Conflict, Forbidden, InvalidInput, NotFound
from gateway.ids import new_id, new_uuid
from gateway.media.store import StoredMedia
from gateway.services import deadline_store, timeline
from gateway.services.context import Context
from gateway.store.tables import (
    deadlines,
    kandas_adaptations,
    kandas_work_reports,
    outbox,
    plans,
    tasks,
)

KANDAS = "kandas_application"
ACTOR = "gateway:adaptation"
#: Outbox rows for another organisation's REST system: `exchange` starts with `http:` and
#: the adaptation worker (not the AMQP relay) delivers them.
HTTP_KANDAS = "http:kandas"
HTTP_FAMILY_CARD = "http:family_card"
PLAN_UPLOAD = "kandas.plan_upload"
REPORT_RELAY = "kandas.work_report"
CARD_MIRROR = "family_card.work_report"
UPLOAD_CLOCK = Clock(
    name="upload", working_days=1, clause="order 170 p.34: the plan in the Kandas system"
)


@dataclass(frozen=True, slots=True)
class MemberPlan:
    iin: str
    services: tuple[int, ...] | None = None
    """The appendix 1 codes planned for the member; None: all 25."""


def _caller_body(caller: Caller) -> str:
    if caller.kind is not ClientKind.agency or not caller.scope:
        raise Forbidden("only a career centre's system acts on adaptation plans")
    return caller.scope


def _http_row(
    message_type: str, exchange: str, case_id: str, body: dict[str, Any], now: datetime
) -> dict[str, Any]:
    return dict(
        message_id=str(new_uuid()),
        exchange=exchange,
        routing_key=message_type,
        message_type=message_type,
        plan_id=case_id,
        task_id=None,
        body=json.dumps(body),
        created_at=now,
        attempts=0,
    )


async def approve(
    conn: AsyncConnection,
    ctx: Context,
    caller: Caller,
    case_id: str,
    *,
    quota_date: date,
    members: list[MemberPlan] | None,
    now: datetime,
) -> tuple[str, bool]:
    """p.32-34: the plan per appendix 1, its upload queued and its term opened.

    Returns (adaptation id, created). A second approval of the same case returns the
    first plan: approving twice must not upload two plans.
    """
    body = _caller_body(caller)
    case = (
        await conn.execute(select(plans).where(plans.c.id == case_id).with_for_update())
    ).first()
    if case is None or case.flow != KANDAS:
        raise NotFound("no such kandas application")
    application = case.family["application"]
    region = application["settlement_region"]
    centre = ctx.agencies.body_for("career_centre", region)
    leb = ctx.agencies.body_for("local_executive_body", region)
    if centre is None or leb is None:
        raise Conflict(f"no connected career centre and local executive body of '{region}'")
    if body != centre.code:
        raise Forbidden(f"the plan is approved by the career centre of settlement '{centre.code}'")
    existing = (
        await conn.execute(
            select(kandas_adaptations.c.id).where(kandas_adaptations.c.case_id == case_id)
        )
    ).scalar()
    if existing is not None:
        return str(existing), False
    drafted = (
        await conn.execute(
            select(tasks.c.id).where(
                tasks.c.plan_id == case_id, tasks.c.step == "cc_plan", tasks.c.state == "forwarded"
            )
        )
    ).first()
    if drafted is None:
        raise Conflict("the individual plan is not drafted yet (order 170 p.19, p.28)")
    if quota_date > to_almaty(now).date():
        raise InvalidInput.field("quota_date", "is in the future")
    people = [p for p in case.family["intake"]["people"] if p.get("included", True)]
    known = {p["iin"]: p for p in people}
    chosen = members or [MemberPlan(p["iin"]) for p in people]
    services = by_code()
    planned: list[dict[str, Any]] = []
    for i, member in enumerate(chosen):
        if member.iin not in known:
            raise InvalidInput.field(f"members[{i}].iin", "is not a member of this application")
        codes = member.services or tuple(services)
        bad = [c for c in codes if c not in services]
        if bad:
            raise InvalidInput.field(f"members[{i}].services", f"{bad[0]} is not a service 1..25")
        if len(set(codes)) != len(codes):
            raise InvalidInput.field(f"members[{i}].services", "lists a service twice")
        planned.append(
            {
                "iin": member.iin,
                "relation": known[member.iin]["relation"],
                "services": [
                    {"code": c, "due_date": services[c].due_on(quota_date).isoformat()}
                    for c in sorted(codes)
                ],
            }
        )
    if len({m["iin"] for m in planned}) != len(planned):
        raise InvalidInput.field("members", "lists a member twice")
    if application["applicant_iin"] not in {m["iin"] for m in planned}:
        raise InvalidInput.field("members", "must include the kandas")
    adaptation_id = new_id()
    await conn.execute(
        kandas_adaptations.insert().values(
            id=adaptation_id,
            case_id=case_id,
            career_centre=centre.code,
            leb=leb.code,
            region=region,
            kandas_iin=application["applicant_iin"],
            quota_date=quota_date,
            ends_on=kandas_schedule.ends_on(quota_date),
            members=planned,
            approved_at=now,
            approved_by=caller.client_id,
        )
    )
    term = rules.term(DeadlineKind.upload, UPLOAD_CLOCK, now, ctx.calendar)
    await deadline_store.open_deadline(conn, term, plan_id=case_id, task_id=None)
    await conn.execute(
        outbox.insert().values(
            **_http_row(PLAN_UPLOAD, HTTP_KANDAS, case_id, {"adaptation_id": adaptation_id}, now)
        )
    )
    await timeline.record(
        conn,
        plan_id=case_id,
        at=now,
        actor=caller.actor,
        type="adaptation_plan_approved",
        data={
            "adaptation_id": adaptation_id,
            "career_centre": centre.code,
            "quota_date": quota_date.isoformat(),
            "members": len(planned),
            "services": sum(len(m["services"]) for m in planned),
            "upload_due_at": term.due_at.isoformat(),
            "clause": "order 170 p.32-34",
        },
    )
    await timeline.record_access(
        conn, client_id=caller.client_id, action="adaptation_approve", at=now, plan_id=case_id
    )
    return adaptation_id, True


async def load(conn: AsyncConnection, adaptation_id: str) -> Any:
    row = (
        await conn.execute(
            select(kandas_adaptations).where(kandas_adaptations.c.id == adaptation_id)
        )
    ).first()
    if row is None:
        raise NotFound("no such adaptation plan")
    return row


def may_read(caller: Caller, row: Any) -> bool:
    if caller.kind is ClientKind.admin:
        return True
    return caller.kind is ClientKind.agency and caller.scope in (row.career_centre, row.leb)


async def load_for(conn: AsyncConnection, adaptation_id: str, caller: Caller) -> Any:
    row = await load(conn, adaptation_id)
    if not may_read(caller, row):
        raise NotFound("no such adaptation plan")  # not 403: do not confirm it exists
    return row


async def mark_uploaded(
    conn: AsyncConnection, adaptation_id: str, kandas_plan_id: str, now: datetime
) -> None:
    row = await load(conn, adaptation_id)
    if row.kandas_plan_id is not None:
        return
    await conn.execute(
        update(kandas_adaptations)
        .where(kandas_adaptations.c.id == adaptation_id)
        .values(kandas_plan_id=kandas_plan_id, uploaded_at=now)
    )
    await conn.execute(
        update(deadlines)
        .where(
            deadlines.c.plan_id == row.case_id,
            deadlines.c.kind == DeadlineKind.upload.value,
            deadlines.c.met_at.is_(None),
        )
        .values(met_at=now)
    )
    await timeline.record(
        conn,
        plan_id=row.case_id,
        at=now,
        actor=ACTOR,
        type="adaptation_plan_uploaded",
        data={"adaptation_id": adaptation_id, "kandas_plan_id": kandas_plan_id},
    )


@dataclass(frozen=True, slots=True)
class ReportIn:
    member_iin: str
    service_code: int
    done_on: date
    comment: str
    lat: float
    lon: float
    idempotency_key: str | None = None


async def add_report(
    conn: AsyncConnection,
    caller: Caller,
    adaptation_id: str,
    report: ReportIn,
    media: list[StoredMedia],
    *,
    far_km: float,
    now: datetime,
) -> tuple[str, bool]:
    """p.35-37: one service done, with its evidence; returns (report id, created)."""
    body = _caller_body(caller)
    row = await load(conn, adaptation_id)
    if body != row.career_centre:
        raise NotFound("no such adaptation plan")
    if report.idempotency_key:
        seen = (
            await conn.execute(
                select(kandas_work_reports.c.id).where(
                    kandas_work_reports.c.adaptation_id == adaptation_id,
                    kandas_work_reports.c.idempotency_key == report.idempotency_key,
                )
            )
        ).scalar()
        if seen is not None:
            return str(seen), False
    member = next((m for m in row.members if m["iin"] == report.member_iin), None)
    if member is None:
        raise InvalidInput.field("member_iin", "is not a member of this adaptation plan")
    if report.service_code not in {s["code"] for s in member["services"]}:
        raise InvalidInput.field(
            "service_code", f"service {report.service_code} is not in this member's plan"
        )
    if report.done_on > to_almaty(now).date():
        raise InvalidInput.field("done_on", "is in the future")
    if report.done_on < row.quota_date:
        raise InvalidInput.field("done_on", "is before the family's inclusion in the quota")
    if not media:
        raise InvalidInput.field("media", "at least one photo or video is required (p.36)")
    flags = [
        {"code": f.code, "reason": f.reason}
        for f in kandas_geo.check(report.lat, report.lon, row.region, far_km)
    ]
    report_id = new_id()
    await conn.execute(
        kandas_work_reports.insert().values(
            id=report_id,
            adaptation_id=adaptation_id,
            member_iin=report.member_iin,
            service_code=report.service_code,
            done_on=report.done_on,
            comment=report.comment,
            media=[
                {
                    "sha256": m.sha256,
                    "kind": m.kind,
                    "content_type": m.content_type,
                    "size": m.size,
                    "file_name": m.file_name,
                }
                for m in media
            ],
            lat=report.lat,
            lon=report.lon,
            flags=flags,
            received_at=now,
            reported_by=caller.client_id,
            idempotency_key=report.idempotency_key,
        )
    )
    for message_type, exchange in ((REPORT_RELAY, HTTP_KANDAS), (CARD_MIRROR, HTTP_FAMILY_CARD)):
        await conn.execute(
            outbox.insert().values(
                **_http_row(message_type, exchange, row.case_id, {"report_id": report_id}, now)
            )
        )
    await timeline.record(
        conn,
        plan_id=row.case_id,
        at=now,
        actor=caller.actor,
        type="work_report",
        data={
            "report_id": report_id,
            "service_code": report.service_code,
            "service": by_code()[report.service_code].name_ru,
            "done_on": report.done_on.isoformat(),
            "media": len(media),
            "flags": [f["code"] for f in flags],
            "clause": "order 170 p.35-37",
        },
    )
    return report_id, True


async def reports_of(conn: AsyncConnection, adaptation_id: str) -> list[Any]:
    return list(
        (
            await conn.execute(
                select(kandas_work_reports)
                .where(kandas_work_reports.c.adaptation_id == adaptation_id)
                .order_by(kandas_work_reports.c.received_at, kandas_work_reports.c.id)
            )
        ).all()
    )


async def upload_state(conn: AsyncConnection, case_id: str) -> Any:
    """The upload term and the outbox row behind it: what the page shows while it waits."""
    term = (
        await conn.execute(
            select(deadlines).where(
                deadlines.c.plan_id == case_id, deadlines.c.kind == DeadlineKind.upload.value
            )
        )
    ).first()
    pending = (
        await conn.execute(
            select(outbox.c.attempts, outbox.c.last_error, outbox.c.published_at).where(
                outbox.c.plan_id == case_id, outbox.c.message_type == PLAN_UPLOAD
            )
        )
    ).first()
    return term, pending


def view(row: Any, reports: list[Any], term: Any, pending: Any, now: datetime) -> dict[str, Any]:
    """The plan as the API and the pages show it, names in both languages."""
    services = by_code()
    done: dict[tuple[str, int], date] = {}
    for r in reports:
        key = (r.member_iin, r.service_code)
        done[key] = max(done.get(key, r.done_on), r.done_on)
    upload: dict[str, Any] = {
        "kandas_plan_id": row.kandas_plan_id,
        "uploaded_at": to_almaty(row.uploaded_at).isoformat() if row.uploaded_at else None,
    }
    if term is not None:
        upload["due_at"] = to_almaty(term.due_at).isoformat()
        upload["deadline"] = rules.state_at(term.warn_at, term.due_at, term.met_at, now).value
    if pending is not None and pending.published_at is None:
        upload["attempts"] = pending.attempts
        upload["last_error"] = pending.last_error
    return {
        "id": row.id,
        "case_id": row.case_id,
        "career_centre": row.career_centre,
        "leb": row.leb,
        "region": row.region,
        "kandas_iin": row.kandas_iin,
        "quota_date": row.quota_date.isoformat(),
        "ends_on": row.ends_on.isoformat(),
        "approved_at": to_almaty(row.approved_at).isoformat(),
        "upload": upload,
        "members": [
            {
                "iin": m["iin"],
                "relation": m["relation"],
                "services": [
                    {
                        "code": s["code"],
                        "name_ru": services[s["code"]].name_ru,
                        "name_kk": services[s["code"]].name_kk,
                        "due_date": s["due_date"],
                        "done_on": (
                            done[(m["iin"], s["code"])].isoformat()
                            if (m["iin"], s["code"]) in done
                            else None
                        ),
                    }
                    for s in m["services"]
                ],
            }
            for m in row.members
        ],
        "reports": [
            {
                "id": r.id,
                "member_iin": r.member_iin,
                "service_code": r.service_code,
                "done_on": r.done_on.isoformat(),
                "comment": r.comment,
                "media": r.media,
                "geolocation": {"lat": r.lat, "lon": r.lon},
                "flags": r.flags,
                "received_at": to_almaty(r.received_at).isoformat(),
                "kandas_report_id": r.kandas_report_id,
                "relayed_at": to_almaty(r.relayed_at).isoformat() if r.relayed_at else None,
                "card_mirrored_at": (
                    to_almaty(r.card_mirrored_at).isoformat() if r.card_mirrored_at else None
                ),
            }
            for r in reports
        ],
        "service_count": len(load_services()),
        "status": (
            PlanStatus.active.value
            if to_almaty(now).date() <= row.ends_on
            else PlanStatus.completed.value
        ),
    }


async def may_read_media(conn: AsyncConnection, caller: Caller, sha256: str) -> bool:
    """A photo of a family is the family's data: only the bodies that may read a report
    carrying it (its career centre, its local executive body) or an admin."""
    if caller.kind is ClientKind.admin:
        return True
    if caller.kind is not ClientKind.agency or not caller.scope:
        return False
    rows = (
        await conn.execute(
            select(kandas_work_reports.c.media)
            .join(
                kandas_adaptations,
                kandas_adaptations.c.id == kandas_work_reports.c.adaptation_id,
            )
            .where(
                (kandas_adaptations.c.career_centre == caller.scope)
                | (kandas_adaptations.c.leb == caller.scope)
            )
        )
    ).scalars()
    return any(m.get("sha256") == sha256 for media in rows for m in media)
