"""A kandas family's five years after arrival over HTTP (order 170 p.32-51).

The career centre of settlement approves the adaptation plan of an application whose
plan was drafted, reports each service done with photo/video and geolocation, delivers
the monthly appendix 3 report to its local executive body and asks for a monitoring run;
the local executive body reads the reports and decides p.46 cases; the workforce
development centre scores each career centre's quarter. Everything is in
`gateway.services.kandas_*`; here only the HTTP shapes.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Header, Path, Query, Response, UploadFile, status
from pydantic import BaseModel, ConfigDict, Field

from contracts.clock import to_almaty
from gateway.api.deps import CallerDep, State
from gateway.api.openapi import problem_responses
from gateway.domain import kandas_quality
from gateway.domain.kandas_quality import QualityRules
from gateway.errors import GatewayError, InvalidInput, NotFound
from gateway.media.store import MediaLimits, MediaRefused, StoredMedia, check, sniff
from gateway.reports import kandas_monthly
from gateway.services import kandas_adaptation, kandas_monitoring, kandas_periods, timeline

router = APIRouter(prefix="/api/v1", tags=["kandas adaptation"])

IIN_PATTERN = r"^[0-9]{12}$"
SHA256_PATTERN = r"^[0-9a-f]{64}$"
MONTH_PATTERN = r"^[0-9]{4}-[0-9]{2}$"


class TooLarge(GatewayError):
    status = 413
    title = "Payload too large"


class MemberPlanIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    iin: str = Field(pattern=IIN_PATTERN)
    services: list[int] | None = Field(
        default=None,
        min_length=1,
        max_length=25,
        description="The appendix 1 codes planned for the member; omitted: all 25.",
    )


class AdaptationPlanIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    quota_date: date = Field(description="The family's inclusion in the regional quota (p.33).")
    members: list[MemberPlanIn] | None = Field(default=None, min_length=1, max_length=30)


class QualityIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    career_centre: str = Field(min_length=1, max_length=40)
    quarter: str = Field(min_length=6, max_length=8, examples=["2026Q4"])
    scores: dict[str, int] = Field(
        examples=[{"relevance": 4, "effectiveness": 3, "social_impact": 4}]
    )
    comment: str = Field(default="", max_length=4000)


class SupportReturnDecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: str = Field(pattern="^(return|no_return)$")
    reason: str = Field(min_length=1, max_length=4000)


def quality_rules(state: State) -> QualityRules:
    path = state.settings.kandas_quality_file
    return kandas_quality.load(path) if path else kandas_quality.load()


async def _adaptation_view(state: State, caller: Any, adaptation_id: str) -> dict[str, Any]:
    now = state.clock.now()
    async with state.engine.begin() as conn:
        row = await kandas_adaptation.load_for(conn, adaptation_id, caller)
        reports = await kandas_adaptation.reports_of(conn, adaptation_id)
        term, pending = await kandas_adaptation.upload_state(conn, row.case_id)
        runs = await kandas_monitoring.runs_of(conn, adaptation_id)
        await timeline.record_access(
            conn, client_id=caller.client_id, action="adaptation_read", at=now, plan_id=row.case_id
        )
    view = kandas_adaptation.view(row, reports, term, pending, now)
    view["monitoring"] = {
        "schedule": kandas_monitoring.schedule_view(row.quota_date, runs, to_almaty(now).date()),
        "runs": [
            {
                "seq": r.seq,
                "cadence": r.cadence,
                "due_on": r.due_on.isoformat(),
                "run_at": to_almaty(r.run_at).isoformat(),
                "outcome": r.outcome,
                "findings": r.findings,
                "support_return_case": r.return_case_id,
            }
            for r in runs
        ],
    }
    return view


@router.post(
    "/kandas/applications/{case_id}/adaptation-plan",
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {"description": "The plan was approved before; the same plan."},
        **problem_responses(403, 404, 409),
    },
)
async def approve_plan(
    case_id: str, body: AdaptationPlanIn, state: State, caller: CallerDep, response: Response
) -> dict[str, Any]:
    """p.32-34: the career centre of settlement approves the plan per appendix 1; the
    upload to the Kandas system is queued and due within one working day."""
    now = state.clock.now()
    members = (
        [
            kandas_adaptation.MemberPlan(m.iin, tuple(m.services) if m.services else None)
            for m in body.members
        ]
        if body.members
        else None
    )
    async with state.engine.begin() as conn:
        adaptation_id, created = await kandas_adaptation.approve(
            conn, state.ctx, caller, case_id, quota_date=body.quota_date, members=members, now=now
        )
    if not created:
        response.status_code = status.HTTP_200_OK
    return await _adaptation_view(state, caller, adaptation_id)


@router.get("/kandas/adaptations/{adaptation_id}", responses=problem_responses(404))
async def read_adaptation(adaptation_id: str, state: State, caller: CallerDep) -> dict[str, Any]:
    """The plan with each service's term and state, the reports and the monitoring."""
    return await _adaptation_view(state, caller, adaptation_id)


def _limits(state: State) -> MediaLimits:
    s = state.settings
    return MediaLimits(
        photo_bytes=s.media_photo_max_bytes,
        video_bytes=s.media_video_max_bytes,
        allowed_types=frozenset(t.strip() for t in s.media_types.split(",") if t.strip()),
    )


@router.post(
    "/kandas/adaptations/{adaptation_id}/reports",
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {"description": "A retry with the same Idempotency-Key."},
        **problem_responses(403, 404, 413),
    },
)
async def add_report(
    adaptation_id: str,
    state: State,
    caller: CallerDep,
    response: Response,
    member_iin: Annotated[str, Form(pattern=IIN_PATTERN)],
    service_code: Annotated[int, Form(ge=1, le=25)],
    done_on: Annotated[date, Form()],
    lat: Annotated[float, Form(ge=-90, le=90)],
    lon: Annotated[float, Form(ge=-180, le=180)],
    media: Annotated[list[UploadFile], File(description="Photos or videos of the work.")],
    comment: Annotated[str, Form(max_length=4000)] = "",
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)] = None,
) -> dict[str, Any]:
    """p.35-37: a service done, with photo/video evidence and the phone's geolocation.

    Each file is checked by its bytes (type) and size before it is kept (422 or 413
    naming the file); a service not in the member's plan is 422. A geolocation outside
    Kazakhstan or far from the settlement is accepted and flagged.
    """
    if state.media is None:
        raise GatewayError("no media store is configured")
    limits = _limits(state)
    checked: list[tuple[bytes, str, str, Any]] = []
    for i, upload in enumerate(media):
        field = f"media[{i}]"
        name = upload.filename or field
        cap = max(limits.photo_bytes, limits.video_bytes) + 1
        data = await upload.read(cap)
        try:
            content_type, kind = check(data, name, field, limits)
        except MediaRefused as refused:
            error_type = TooLarge if refused.status == 413 else InvalidInput
            raise error_type(
                f"{refused.field}: {refused.reason}",
                errors=[{"field": refused.field, "reason": refused.reason}],
            ) from None
        checked.append((data, name, content_type, kind))
    now = state.clock.now()
    stored = [
        StoredMedia(await state.media.put(data), kind, content_type, len(data), name)
        for data, name, content_type, kind in checked
    ]
    async with state.engine.begin() as conn:
        report_id, created = await kandas_adaptation.add_report(
            conn,
            caller,
            adaptation_id,
            kandas_adaptation.ReportIn(
                member_iin, service_code, done_on, comment, lat, lon, idempotency_key
            ),
            stored,
            far_km=state.settings.kandas_geo_far_km,
            now=now,
        )
    if not created:
        response.status_code = status.HTTP_200_OK
    view = await _adaptation_view(state, caller, adaptation_id)
    report: dict[str, Any] = next(r for r in view["reports"] if r["id"] == report_id)
    return report


@router.get(
    "/media/{sha256}",
    responses={200: {"content": {"application/octet-stream": {}}}, **problem_responses(404)},
)
async def media_file(
    sha256: Annotated[str, Path(pattern=SHA256_PATTERN)],
    state: State,
    caller: CallerDep,
) -> Response:
    """A work report's photo or video by its content hash, for the bodies that may read a
    report carrying it (404 for others: a hash is not a permission)."""
    async with state.engine.begin() as conn:
        allowed = await kandas_adaptation.may_read_media(conn, caller, sha256)
        if allowed:
            await timeline.record_access(
                conn, client_id=caller.client_id, action="media_read", at=state.clock.now()
            )
    data = await state.media.get(sha256) if state.media and allowed else None
    if data is None:
        raise NotFound("no such media file")
    found = sniff(data)
    return Response(data, media_type=found[0] if found else "application/octet-stream")


@router.get(
    "/kandas/monthly-reports/{career_centre}/{month}",
    responses={
        200: {
            "content": {
                "text/csv": {},
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {},
            }
        },
        **problem_responses(404),
    },
)
async def monthly_report(
    career_centre: str,
    month: str,
    state: State,
    caller: CallerDep,
    format: Annotated[str, Query(pattern="^(json|csv|xlsx)$")] = "json",
    lang: Annotated[str, Query(pattern="^(ru|kk)$")] = "ru",
) -> Any:
    """p.39: appendix 3 for a career centre's month (27 columns), from our own records."""
    if not kandas_periods.readable_by(caller, state.ctx, career_centre):
        raise NotFound("no such career centre's report")
    async with state.engine.begin() as conn:
        report = await kandas_periods.monthly_report(conn, career_centre, month)
        await timeline.record_access(
            conn, client_id=caller.client_id, action="monthly_report_read", at=state.clock.now()
        )
    name = f"appendix3-{career_centre}-{month}"
    if format == "csv":
        return Response(
            kandas_monthly.to_csv(report, lang),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
        )
    if format == "xlsx":
        return Response(
            kandas_monthly.to_xlsx(report, lang),
            media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'},
        )
    return kandas_monthly.to_json(report)


@router.post("/kandas/monthly-reports/{month}/delivery", responses=problem_responses(403, 409))
async def deliver_monthly(month: str, state: State, caller: CallerDep) -> dict[str, Any]:
    """p.39: the career centre delivers the month's report to its local executive body."""
    now = state.clock.now()
    async with state.engine.begin() as conn:
        case, report = await kandas_periods.deliver_monthly(conn, state.ctx, caller, month, now)
    return {"period_case_id": case.id, **kandas_monthly.to_json(report)}


@router.post(
    "/kandas/adaptations/{adaptation_id}/monitoring-runs",
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(403, 404),
)
async def run_monitoring(adaptation_id: str, state: State, caller: CallerDep) -> dict[str, Any]:
    """p.43-46: a monitoring run now, outside the schedule: facts from the Kandas system,
    the family card and the migration police, recorded with what each said."""
    seq = await kandas_monitoring.run_now(
        state.engine,
        caller,
        adaptation_id,
        state.kandas,
        state.family_card,
        state.residence,
        state.clock.now(),
    )
    view = await _adaptation_view(state, caller, adaptation_id)
    return next(r for r in view["monitoring"]["runs"] if r["seq"] == seq)


def _quality_view(rules: QualityRules, rows: list[Any]) -> dict[str, Any]:
    bands = {b.key: b for b in rules.bands}
    return {
        "criteria": [
            {"key": c.key, "min": c.min, "max": c.max, "name_ru": c.name_ru, "name_kk": c.name_kk}
            for c in rules.criteria
        ],
        "bands": [
            {"key": b.key, "min": b.min, "max": b.max, "name_ru": b.name_ru, "name_kk": b.name_kk}
            for b in rules.bands
        ],
        "total_range": [rules.total_min, rules.total_max],
        "inconsistencies": [
            {"code": i.code, "ru": i.ru, "kk": i.kk, "en": i.en} for i in rules.inconsistencies()
        ],
        "source": rules.source,
        "evaluations": [
            {
                "career_centre": r.career_centre,
                "quarter": r.quarter,
                "scores": r.scores,
                "total": r.total,
                "bands": r.bands,
                "band": r.bands[0] if len(r.bands) == 1 else None,
                "ambiguous": len(r.bands) != 1,
                "band_names_ru": [bands[k].name_ru for k in r.bands if k in bands],
                "comment": r.comment,
                "evaluated_at": to_almaty(r.evaluated_at).isoformat(),
                "conclusion_sent_at": (
                    to_almaty(r.conclusion_sent_at).isoformat() if r.conclusion_sent_at else None
                ),
            }
            for r in rows
        ],
    }


@router.get("/kandas/quality", responses=problem_responses(403))
async def read_quality(
    state: State, caller: CallerDep, quarter: Annotated[str | None, Query(max_length=8)] = None
) -> dict[str, Any]:
    """p.47-51: the criteria, the bands, what in them does not add up, and the scores."""
    rules = quality_rules(state)
    async with state.engine.connect() as conn:
        rows = await kandas_periods.evaluations(conn, quarter)
    visible = [r for r in rows if kandas_periods.readable_by(caller, state.ctx, r.career_centre)]
    return _quality_view(rules, visible)


@router.post(
    "/kandas/quality-evaluations",
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(403, 409),
)
async def evaluate(body: QualityIn, state: State, caller: CallerDep) -> dict[str, Any]:
    """p.47-49: the workforce development centre scores a career centre's quarter."""
    rules = quality_rules(state)
    now = state.clock.now()
    async with state.engine.begin() as conn:
        await kandas_periods.evaluate(
            conn,
            state.ctx,
            caller,
            rules,
            career_centre=body.career_centre,
            quarter=body.quarter,
            scores=body.scores,
            comment=body.comment,
            now=now,
        )
        rows = await kandas_periods.evaluations(conn, body.quarter)
    mine = [r for r in rows if r.career_centre == body.career_centre]
    return _quality_view(rules, mine)


@router.post(
    "/kandas/quality-evaluations/{career_centre}/{quarter}/conclusion",
    responses=problem_responses(403, 404),
)
async def send_conclusion(
    career_centre: str, quarter: str, state: State, caller: CallerDep
) -> dict[str, Any]:
    """p.50: the conclusion on the quarter to the authorised body (due by the 25th)."""
    rules = quality_rules(state)
    now = state.clock.now()
    async with state.engine.begin() as conn:
        await kandas_periods.send_conclusion(conn, state.ctx, caller, career_centre, quarter, now)
        rows = await kandas_periods.evaluations(conn, quarter)
    return _quality_view(rules, [r for r in rows if r.career_centre == career_centre])


@router.post("/kandas/support-returns/{case_id}/decision", responses=problem_responses(404, 409))
async def decide_support_return(
    case_id: str, body: SupportReturnDecisionIn, state: State, caller: CallerDep
) -> dict[str, str]:
    """p.46: the local executive body's decision on returning state support."""
    async with state.engine.begin() as conn:
        await kandas_monitoring.decide_support_return(
            conn, caller, case_id, body.decision, body.reason, state.clock.now()
        )
    return {"case_id": case_id, "decision": body.decision}
