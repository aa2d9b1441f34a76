"""What the adaptation's outbox rows do: upload the plan and relay each work report to the
Kandas system, mirror each report to the digital family card (order 170 p.34, p.37).

Each handler reads the row's subject from the store, calls the adapter with an
idempotency key derived from the subject (our plan's or report's id) and records the
answer in a short transaction of its own.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Protocol

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.kandas_ais import (
    Geolocation,
    Media,
    MemberRequest,
    Plan,
    PlannedServiceRequest,
    PlanRequest,
    WorkReport,
    WorkReportRequest,
)
from contracts.family_card.adaptation import AdaptationReportIn, AdaptationReportRecorded
from gateway.domain.kandas_services import by_code
from gateway.services import kandas_adaptation, timeline
from gateway.services.http_outbox import Handler, NotYet
from gateway.store.tables import kandas_work_reports


class KandasSystem(Protocol):
    async def create_plan(
        self, plan: PlanRequest, *, idempotency_key: str | None = None
    ) -> Plan: ...

    async def report_work(
        self, plan_id: str, report: WorkReportRequest, *, idempotency_key: str | None = None
    ) -> WorkReport: ...


class CardMirror(Protocol):
    async def record_adaptation_report(
        self, report: AdaptationReportIn, *, idempotency_key: str | None = None
    ) -> AdaptationReportRecorded: ...


def media_url(public_url: str, sha256: str) -> str:
    return f"{public_url.rstrip('/')}/api/v1/media/{sha256}"


def plan_request(row: Any) -> PlanRequest:
    return PlanRequest(
        kandas_iin=row.kandas_iin,
        region=row.region,
        career_centre=row.career_centre,
        quota_date=row.quota_date,
        members=tuple(
            MemberRequest(
                iin=m["iin"],
                relation=m["relation"],
                services=tuple(
                    PlannedServiceRequest(
                        code=s["code"], due_date=date.fromisoformat(s["due_date"])
                    )
                    for s in m["services"]
                ),
            )
            for m in row.members
        ),
    )


async def _report(engine: AsyncEngine, report_id: str) -> tuple[Any, Any]:
    async with engine.connect() as conn:
        report = (
            await conn.execute(
                select(kandas_work_reports).where(kandas_work_reports.c.id == report_id)
            )
        ).one()
        adaptation = await kandas_adaptation.load(conn, report.adaptation_id)
    return report, adaptation


def handlers(
    engine: AsyncEngine,
    kandas: KandasSystem | None,
    card: CardMirror | None,
    public_url: str,
) -> dict[str, Handler]:
    """The handlers for the systems that are configured; the others' rows wait."""

    async def upload(body: dict[str, Any], now: datetime) -> None:
        assert kandas is not None
        async with engine.connect() as conn:
            row = await kandas_adaptation.load(conn, body["adaptation_id"])
        if row.kandas_plan_id is not None:
            return
        plan = await kandas.create_plan(plan_request(row), idempotency_key=f"{row.id}:plan")
        async with engine.begin() as conn:
            await kandas_adaptation.mark_uploaded(conn, row.id, plan.id, now)

    async def relay(body: dict[str, Any], now: datetime) -> None:
        assert kandas is not None
        report, adaptation = await _report(engine, body["report_id"])
        if report.kandas_report_id is not None:
            return
        if adaptation.kandas_plan_id is None:
            raise NotYet("the plan is not in the Kandas system yet")
        answer = await kandas.report_work(
            adaptation.kandas_plan_id,
            WorkReportRequest(
                member_iin=report.member_iin,
                service_code=report.service_code,
                done_on=report.done_on,
                comment=report.comment,
                media=tuple(
                    Media(kind=m["kind"], url=media_url(public_url, m["sha256"]))
                    for m in report.media
                ),
                geolocation=Geolocation(lat=report.lat, lon=report.lon),
            ),
            idempotency_key=f"{report.id}:report",
        )
        async with engine.begin() as conn:
            await conn.execute(
                update(kandas_work_reports)
                .where(kandas_work_reports.c.id == report.id)
                .values(kandas_report_id=answer.id, relayed_at=now)
            )
            await timeline.record(
                conn,
                plan_id=adaptation.case_id,
                at=now,
                actor=kandas_adaptation.ACTOR,
                type="work_report_relayed",
                data={"report_id": report.id, "kandas_report_id": answer.id},
            )

    async def mirror(body: dict[str, Any], now: datetime) -> None:
        assert card is not None
        report, adaptation = await _report(engine, body["report_id"])
        if report.card_mirrored_at is not None:
            return
        service = by_code()[report.service_code]
        answer = await card.record_adaptation_report(
            AdaptationReportIn(
                report_id=report.id,
                member_iin=report.member_iin,
                service_code=report.service_code,
                service_name_ru=service.name_ru,
                service_name_kk=service.name_kk,
                done_on=report.done_on,
                career_centre=adaptation.career_centre,
                media_urls=[media_url(public_url, m["sha256"]) for m in report.media],
            ),
            idempotency_key=f"{report.id}:card",
        )
        async with engine.begin() as conn:
            await conn.execute(
                update(kandas_work_reports)
                .where(kandas_work_reports.c.id == report.id)
                .values(card_mirrored_at=now)
            )
            await timeline.record(
                conn,
                plan_id=adaptation.case_id,
                at=now,
                actor=kandas_adaptation.ACTOR,
                type="work_report_mirrored",
                data={"report_id": report.id, "card_record": answer.id},
            )

    out: dict[str, Handler] = {}
    if kandas is not None:
        out[kandas_adaptation.PLAN_UPLOAD] = upload
        out[kandas_adaptation.REPORT_RELAY] = relay
    if card is not None:
        out[kandas_adaptation.CARD_MIRROR] = mirror
    return out
