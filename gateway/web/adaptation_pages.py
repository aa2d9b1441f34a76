"""Pages of a kandas family's five years after arrival (order 170 p.32-51).

For the staff of the career centre of settlement (its families' plans, services, reports,
monitoring), the local executive body (the same for its region, the monthly appendix 3
reports and the p.46 cases) and the workforce development centre (quality scores, with
the act's band inconsistency shown, not resolved). Same sign-in, live updates (the
timeline's events) and deadline colours as the chain's case pages.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Request, Response
from sqlalchemy import select

from contracts.clock import to_almaty
from contracts.iin import mask_iin
from gateway.domain import deadlines as rules
from gateway.domain import kandas_quality
from gateway.domain.kandas_services import by_code
from gateway.errors import NotFound
from gateway.reports import kandas_monthly
from gateway.services import kandas_adaptation, kandas_monitoring, kandas_periods, timeline
from gateway.store.tables import deadlines, kandas_adaptations, kandas_work_reports, plans
from gateway.web.case_pages import body_caller
from gateway.web.routes import PREFIX, _lang, _render, _signed, _state
from gateway.web.views import agency_name, fmt_time

router = APIRouter(prefix=PREFIX, include_in_schema=False)


def _rules(request: Request) -> kandas_quality.QualityRules:
    path = _state(request).settings.kandas_quality_file
    return kandas_quality.load(path) if path else kandas_quality.load()


def _visible(ctx: Any, scope: str, row: Any) -> bool:
    me = ctx.agencies.get(scope)
    if me is None:
        return False
    if me.kind == kandas_periods.WDC_KIND:
        return True
    return scope in (row.career_centre, row.leb)


async def _list_context(request: Request) -> dict[str, Any]:
    signed = await _signed(request)
    state = _state(request)
    caller = body_caller(request, signed)
    now = state.clock.now()
    today = to_almaty(now).date()
    lang = _lang(request)
    async with state.engine.begin() as conn:
        found = (await conn.execute(select(kandas_adaptations))).all()
        mine = [r for r in found if _visible(state.ctx, caller.scope or "", r)]
        terms = {
            t.plan_id: t
            for t in (
                await conn.execute(
                    select(deadlines).where(
                        deadlines.c.kind == "upload",
                        deadlines.c.plan_id.in_([r.case_id for r in mine]),
                    )
                )
            ).all()
        }
        done = {
            (r.adaptation_id, r.member_iin, r.service_code)
            for r in (await conn.execute(select(kandas_work_reports))).all()
        }
        returns = (
            await conn.execute(
                select(plans).where(
                    plans.c.flow == kandas_monitoring.SUPPORT_RETURN, plans.c.centre == caller.scope
                )
            )
        ).all()
        runs = {r.id: await kandas_monitoring.runs_of(conn, r.id) for r in mine}
        await timeline.record_access(
            conn, client_id=caller.client_id, action="list_adaptations", at=now
        )
    rows = []
    for r in mine:
        term = terms.get(r.case_id)
        state_ = rules.state_at(term.warn_at, term.due_at, term.met_at, now) if term else None
        planned = sum(len(m["services"]) for m in r.members)
        schedule = kandas_monitoring.schedule_view(r.quota_date, runs[r.id], today)
        upcoming = next((s for s in schedule if s["state"] != "done"), None)
        last = runs[r.id][-1] if runs[r.id] else None
        rows.append(
            {
                "id": r.id,
                "kandas": mask_iin(r.kandas_iin),
                "centre": agency_name(state.ctx.agencies, r.career_centre, lang),
                "quota_date": r.quota_date.strftime("%d.%m.%Y"),
                "ends_on": r.ends_on.strftime("%d.%m.%Y"),
                "uploaded": r.kandas_plan_id is not None,
                "deadline": state_.value if state_ else None,
                "due": fmt_time(term.due_at) if term else "",
                "done": sum(1 for d in done if d[0] == r.id),
                "planned": planned,
                "next_run": upcoming,
                "last_outcome": last.outcome if last else None,
            }
        )
    severity = {"breached": 0, "at_risk": 1, "on_time": 2, None: 3}
    rows.sort(
        key=lambda x: (severity.get(x["deadline"] if not x["uploaded"] else None, 3), x["id"])
    )
    return {
        "rows": rows,
        "returns": [
            {
                "id": c.id,
                "kandas": mask_iin(c.family["kandas_iin"]),
                "status": c.status,
                "opened": fmt_time(c.created_at),
                "members": len(c.family["registered_elsewhere"]),
            }
            for c in returns
        ],
        "active": "adaptation",
        "body_nav": True,
        "body_name": agency_name(state.ctx.agencies, caller.scope or "", lang),
    }


@router.get("/kandas/adaptations")
async def adaptations_page(request: Request) -> Response:
    signed = await _signed(request)
    return _render(request, "kandas_adaptations.html", await _list_context(request), signed=signed)


@router.get("/kandas/adaptations/fragment/rows")
async def adaptations_rows(request: Request) -> Response:
    signed = await _signed(request)
    return _render(request, "_adaptation_rows.html", await _list_context(request), signed=signed)


@router.get("/kandas/adaptations/{adaptation_id}")
async def adaptation_page(adaptation_id: str, request: Request) -> Response:
    signed = await _signed(request)
    state = _state(request)
    caller = body_caller(request, signed)
    now = state.clock.now()
    lang = _lang(request)
    async with state.engine.begin() as conn:
        row = await kandas_adaptation.load(conn, adaptation_id)
        if not _visible(state.ctx, caller.scope or "", row):
            raise NotFound("no such adaptation plan")
        reports = await kandas_adaptation.reports_of(conn, adaptation_id)
        term, pending = await kandas_adaptation.upload_state(conn, row.case_id)
        runs = await kandas_monitoring.runs_of(conn, adaptation_id)
        await timeline.record_access(
            conn, client_id=caller.client_id, action="read_adaptation", at=now, plan_id=row.case_id
        )
    view = kandas_adaptation.view(row, reports, term, pending, now)
    names = by_code()
    for m in view["members"]:
        m["masked"] = mask_iin(m["iin"])
        for s in m["services"]:
            s["name"] = s["name_kk"] if lang == "kk" else s["name_ru"]
    for r in view["reports"]:
        r["masked"] = mask_iin(r["member_iin"])
        service = names[r["service_code"]]
        r["service"] = service.name_kk if lang == "kk" else service.name_ru
    context = {
        "plan": view,
        "kandas": mask_iin(row.kandas_iin),
        "upload_due": fmt_time(term.due_at) if term else "",
        "schedule": kandas_monitoring.schedule_view(row.quota_date, runs, to_almaty(now).date()),
        "runs": runs,
        "active": "adaptation",
        "body_nav": True,
    }
    return _render(request, "kandas_adaptation.html", context, signed=signed)


@router.get("/kandas/monthly")
async def monthly_page(request: Request) -> Response:
    signed = await _signed(request)
    state = _state(request)
    caller = body_caller(request, signed)
    lang = _lang(request)
    today = to_almaty(state.clock.now()).date()
    month = request.query_params.get("month") or f"{today.year:04d}-{today.month:02d}"
    me = state.ctx.agencies.get(caller.scope or "")
    centre = caller.scope or ""
    if me is not None and me.kind != "career_centre":
        region_centre = state.ctx.agencies.body_for("career_centre", me.region or "")
        centre = request.query_params.get("centre") or (region_centre.code if region_centre else "")
    if not kandas_periods.readable_by(caller, state.ctx, centre):
        raise NotFound("no such career centre's report")
    async with state.engine.begin() as conn:
        try:
            report = await kandas_periods.monthly_report(conn, centre, month)
        except Exception:
            month = f"{today.year:04d}-{today.month:02d}"
            report = await kandas_periods.monthly_report(conn, centre, month)
        terms = await kandas_periods.period_terms(conn, kandas_periods.MONTHLY, centre)
        await timeline.record_access(
            conn, client_id=caller.client_id, action="monthly_report_read", at=state.clock.now()
        )
    now = state.clock.now()
    context = {
        "report": report,
        "titles": [c.title_kk if lang == "kk" else c.title_ru for c in report.columns],
        "rows": [[r[0], mask_iin(r[1]), *r[2:]] for r in report.rows],
        "centre": centre,
        "centre_name": agency_name(state.ctx.agencies, centre, lang),
        "month": month,
        "due_by": report.due_by.strftime("%d.%m.%Y"),
        "terms": [
            {
                "period": t.external_id,
                "due": fmt_time(t.due_at),
                "met": fmt_time(t.met_at),
                "state": rules.state_at(t.warn_at, t.due_at, t.met_at, now).value,
            }
            for t in terms
        ],
        "active": "monthly",
        "body_nav": True,
    }
    return _render(request, "kandas_monthly.html", context, signed=signed)


@router.get("/kandas/monthly/{centre}/{month}.{fmt}")
async def monthly_download(centre: str, month: str, fmt: str, request: Request) -> Response:
    signed = await _signed(request)
    state = _state(request)
    caller = body_caller(request, signed)
    if fmt not in ("csv", "xlsx") or not kandas_periods.readable_by(caller, state.ctx, centre):
        raise NotFound("no such report")
    async with state.engine.begin() as conn:
        report = await kandas_periods.monthly_report(conn, centre, month)
        await timeline.record_access(
            conn, client_id=caller.client_id, action="monthly_report_download", at=state.clock.now()
        )
    lang = _lang(request)
    name = f"appendix3-{centre}-{month}.{fmt}"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    if fmt == "csv":
        return Response(
            kandas_monthly.to_csv(report, lang),
            media_type="text/csv; charset=utf-8",
            headers=headers,
        )
    return Response(
        kandas_monthly.to_xlsx(report, lang),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers=headers,
    )


@router.get("/kandas/quality")
async def quality_page(request: Request) -> Response:
    signed = await _signed(request)
    state = _state(request)
    caller = body_caller(request, signed)
    lang = _lang(request)
    quality = _rules(request)
    now = state.clock.now()
    async with state.engine.begin() as conn:
        rows = await kandas_periods.evaluations(conn)
        terms = await kandas_periods.period_terms(conn, kandas_periods.QUALITY)
    bands = {b.key: b for b in quality.bands}
    short = {  # "Актуальность: соответствие …" → "Актуальность"
        c.key: (c.name_kk if lang == "kk" else c.name_ru).split(":")[0] for c in quality.criteria
    }
    visible = [r for r in rows if kandas_periods.readable_by(caller, state.ctx, r.career_centre)]
    context = {
        "rules": quality,
        "inconsistencies": [i.kk if lang == "kk" else i.ru for i in quality.inconsistencies()],
        "criteria": [
            (c.name_kk if lang == "kk" else c.name_ru, c.min, c.max) for c in quality.criteria
        ],
        "bands": [(b.name_kk if lang == "kk" else b.name_ru, b.min, b.max) for b in quality.bands],
        "rows": [
            {
                "centre": agency_name(state.ctx.agencies, r.career_centre, lang),
                "quarter": r.quarter,
                "scores": {short.get(k, k): v for k, v in r.scores.items()},
                "total": r.total,
                "bands": [
                    (bands[k].name_kk if lang == "kk" else bands[k].name_ru)
                    for k in r.bands
                    if k in bands
                ],
                "ambiguous": len(r.bands) != 1,
                "conclusion": fmt_time(r.conclusion_sent_at),
            }
            for r in visible
        ],
        "terms": [
            {
                "centre": agency_name(state.ctx.agencies, t.centre, lang),
                "period": t.external_id,
                "kind": t.kind,
                "due": fmt_time(t.due_at),
                "met": fmt_time(t.met_at),
                "state": rules.state_at(t.warn_at, t.due_at, t.met_at, now).value,
            }
            for t in terms
            if kandas_periods.readable_by(caller, state.ctx, t.centre)
        ],
        "active": "quality",
        "body_nav": True,
        "today": date.today(),
    }
    return _render(request, "kandas_quality.html", context, signed=signed)
