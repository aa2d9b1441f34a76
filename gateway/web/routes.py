"""The family support centre's web workspace: server-rendered pages under /web.

A signed-in staff member acts as their centre (`StaffUser.caller`), so every page goes
through the same use cases and access rules as the centre's API key, and every read and
change is recorded under the person's own id.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException as StarletteHTTPException

from contracts.plans import DeadlineState, PlanStatus, ReviewDecision, TaskState
from gateway.api.deps import AppState
from gateway.calendar_sources import load_disputes
from gateway.errors import Forbidden, GatewayError, InvalidInput, NotFound
from gateway.incident_text import incident_text
from gateway.reports.chart import report_chart_svg
from gateway.reports.export import sections as report_sections
from gateway.reports.export import to_csv, to_xlsx
from gateway.reports.family_card import BreakerBoard, card_client
from gateway.reports.quarter import Quarter, QuarterError, parse_quarter
from gateway.reports.quarterly import QuarterlyReport, build_quarterly_report
from gateway.services import clients, conclusions, queries, rerouting, staff, tasks, timeline
from gateway.services import incidents as incident_service
from gateway.services import plans as plan_service
from gateway.services.staff import StaffRole, StaffUser
from gateway.web import session as sessions
from gateway.web.i18n import LANGUAGE_NAMES, LANGUAGES, language, translate
from gateway.web.stream import plan_changes
from gateway.web.views import (
    agency_name,
    disputed_days,
    fmt_time,
    plan_rows,
    task_cards,
    timeline_entry,
)

PREFIX = "/web"
HERE = Path(__file__).parent
FAVICON = HERE / "static" / "favicon.ico"
PAGE_SIZE = 50
MAX_REASON = 4000
FLASHES = {"accepted", "returned", "cancelled", "replayed", "rerouted", "closed"}
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}

router = APIRouter(prefix=PREFIX, include_in_schema=False)
templates = Jinja2Templates(directory=HERE / "templates")


class SignInRequired(Exception):
    """No valid session: pages redirect to the sign-in form, fragments answer 401."""


class CsrfRefused(Exception):
    """A POST without this session's token: another site's form, or a stale page."""


@dataclass(frozen=True)
class Signed:
    staff: StaffUser
    session: sessions.Session
    organisation: str = ""
    """The name of the staff member's centre (or body) for the header; their code when no
    name is registered."""


def _state(request: Request) -> AppState:
    state: AppState = request.app.state.gw
    return state


def _secret(request: Request) -> bytes:
    cached: bytes | None = getattr(request.app.state, "web_secret", None)
    if cached is None:
        cached = sessions.session_secret(_state(request).settings)
        request.app.state.web_secret = cached
    return cached


def _lang(request: Request) -> str:
    return language(request.cookies.get(sessions.LANG_COOKIE))


async def _signed(request: Request) -> Signed:
    state = _state(request)
    found = sessions.verify(
        request.cookies.get(sessions.COOKIE), _secret(request), state.clock.now()
    )
    if found is None:
        raise SignInRequired
    async with state.engine.connect() as conn:
        person = await staff.get_staff(conn, found.staff_id)
        if person is None:
            raise SignInRequired
        body = state.ctx.agencies.get(person.centre)
        named = (
            agency_name(state.ctx.agencies, person.centre, _lang(request))
            if body is not None
            else await clients.centre_name(conn, person.centre, _lang(request))
        )
    return Signed(person, found, named or person.centre)


async def _form(request: Request, signed: Signed) -> FormData:
    form = await request.form()
    token = form.get("csrf")
    if not sessions.csrf_matches(signed.session, token if isinstance(token, str) else None):
        raise CsrfRefused
    return form


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _required_reason(form: FormData) -> str:
    reason = _text(form, "reason")
    if not reason:
        raise InvalidInput.field("reason", "is required")
    if len(reason) > MAX_REASON:
        raise InvalidInput.field("reason", f"at most {MAX_REASON} characters")
    return reason


def _render(
    request: Request,
    name: str,
    context: dict[str, Any],
    *,
    signed: Signed | None = None,
    status: int = 200,
) -> HTMLResponse:
    lang = _lang(request)

    def t(key: str, **values: object) -> str:
        return translate(lang, key, **values)

    response = templates.TemplateResponse(
        request,
        name,
        {
            "lang": lang,
            "t": t,
            "languages": [(code, LANGUAGE_NAMES[code]) for code in LANGUAGES],
            "staff": signed.staff if signed else None,
            "organisation": signed.organisation if signed else "",
            "csrf": signed.session.csrf if signed else "",
            "is_head": bool(signed and signed.staff.role is StaffRole.head),
            "here": request.url.path + (f"?{request.url.query}" if request.url.query else ""),
            "fmt_time": fmt_time,
            **context,
        },
        status_code=status,
    )
    response.headers.update(SECURITY_HEADERS)
    return response


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _safe_next(value: str | None) -> str:
    """Only our own pages: an open redirect would let a phishing link borrow our name."""
    if value and value.startswith(PREFIX + "/") and not value.startswith("//"):
        return value
    return PREFIX + "/"


# --- signing in and out ---------------------------------------------------------------


@router.get("/login")
async def login_form(request: Request, next: str | None = None) -> Response:
    try:
        await _signed(request)
        return _see_other(_safe_next(next))
    except SignInRequired:
        pass
    return _login_page(request, next, failed=False)


def _login_page(request: Request, next_url: str | None, *, failed: bool) -> Response:
    # Sign-in has no session yet, so its CSRF token is a double-submit cookie.
    token = secrets.token_urlsafe(24)
    response = _render(
        request,
        "login.html",
        {"login_csrf": token, "next": _safe_next(next_url), "failed": failed},
        status=401 if failed else 200,
    )
    response.set_cookie(
        sessions.LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        path=PREFIX,
        secure=request.url.scheme == "https",
    )
    return response


@router.post("/login")
async def login(request: Request) -> Response:
    form = await request.form()
    token = form.get("csrf")
    expected = request.cookies.get(sessions.LOGIN_CSRF_COOKIE)
    if not (isinstance(token, str) and expected and secrets.compare_digest(token, expected)):
        raise CsrfRefused
    state = _state(request)
    async with state.engine.connect() as conn:
        person = await staff.authenticate_staff(
            conn, _text(form, "login"), str(form.get("password") or "")
        )
    next_url = _text(form, "next") or None
    if person is None:
        return _login_page(request, next_url, failed=True)
    session = sessions.new_session(person.id, state.clock.now())
    response = _see_other(_safe_next(next_url))
    response.set_cookie(
        sessions.COOKIE,
        sessions.sign(session, _secret(request)),
        max_age=int(sessions.LIFETIME.total_seconds()),
        httponly=True,
        samesite="lax",
        path=PREFIX,
        secure=request.url.scheme == "https",
    )
    response.delete_cookie(sessions.LOGIN_CSRF_COOKIE, path=PREFIX)
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    signed = await _signed(request)
    await _form(request, signed)
    return _signed_out()


@router.get("/logout")
async def logout_link() -> Response:
    """Signing out by a plain link is harmless (it only ends a session), so allowed."""
    return _signed_out()


def _signed_out() -> Response:
    response = _see_other(PREFIX + "/login")
    response.delete_cookie(sessions.COOKIE, path=PREFIX)
    return response


@router.get("/lang/{code}")
async def switch_language(code: str, next: str | None = None) -> Response:
    response = _see_other(_safe_next(next))
    response.set_cookie(
        sessions.LANG_COOKIE, language(code), max_age=365 * 24 * 3600, samesite="lax", path="/"
    )
    return response


# --- the plan list ----------------------------------------------------------------------


def _filter(request: Request, centre: str) -> tuple[queries.PlanFilter, dict[str, str], int]:
    params = request.query_params
    status_value = params.get("status", "")
    status = PlanStatus(status_value) if status_value in PlanStatus.__members__ else None
    agency = params.get("agency", "")
    if not _state(request).ctx.agencies.get(agency):
        agency = ""
    overdue_value = params.get("overdue", "")
    overdue = {"yes": True, "no": False}.get(overdue_value)
    try:
        page = max(1, int(params.get("page", "1")))
    except ValueError:
        page = 1
    chosen = {
        "status": status.value if status else "",
        "agency": agency,
        "overdue": overdue_value if overdue is not None else "",
    }
    flt = queries.PlanFilter(
        centre=centre,
        status=status,
        agency=agency or None,
        overdue=overdue,
        limit=PAGE_SIZE,
        offset=(page - 1) * PAGE_SIZE,
    )
    return flt, chosen, page


async def _list_context(request: Request, signed: Signed) -> dict[str, Any]:
    state = _state(request)
    now = state.clock.now()
    flt, chosen, page = _filter(request, signed.staff.centre)
    caller = signed.staff.caller()
    async with state.engine.begin() as conn:
        rows, total = await plan_rows(conn, caller, flt, state.ctx.agencies, _lang(request), now)
        await timeline.record_access(conn, client_id=caller.client_id, action="list_plans", at=now)
    query = {k: v for k, v in chosen.items() if v}
    lang = _lang(request)
    return {
        "rows": rows,
        "total": total,
        "chosen": chosen,
        "page": page,
        "pages": max(1, -(-total // PAGE_SIZE)),
        "query": urlencode(query),
        "page_url": lambda n: f"{PREFIX}/?" + urlencode({**query, "page": n}),
        "statuses": list(PlanStatus),
        "agencies": [
            (a.code, a.name_kk if lang == "kk" else a.name_ru)
            for a in state.ctx.agencies.in_flow("ipr")
        ],
    }


@router.get("/")
async def plan_list(request: Request) -> Response:
    signed = await _signed(request)
    body = _state(request).ctx.agencies.get(signed.staff.centre)
    if body is not None and body.kind in (
        "regional_office",
        "district_office",
        "employment_centre",
    ):
        return _see_other(PREFIX + "/egov")  # an office of the e-government flows
    if body is not None and "ipr" not in body.flows:  # a kandas chain body: its inbox
        return _see_other(PREFIX + "/cases")
    return _render(request, "plans.html", await _list_context(request, signed), signed=signed)


@router.get("/fragment/plan-rows")
async def plan_rows_fragment(request: Request) -> Response:
    signed = await _signed(request)
    return _render(request, "_plan_rows.html", await _list_context(request, signed), signed=signed)


# --- one plan ---------------------------------------------------------------------------


async def _plan_context(
    request: Request, signed: Signed, plan_id: str, *, action: str = "read_plan"
) -> dict[str, Any]:
    state = _state(request)
    now = state.clock.now()
    caller = signed.staff.caller()
    lang = _lang(request)
    async with state.engine.begin() as conn:
        view = await queries.read_plan(conn, plan_id, caller, now)
        names = await staff.staff_names(conn, view.centre)
        await timeline.record_access(
            conn, client_id=caller.client_id, action=action, at=now, plan_id=plan_id
        )
    flash = request.query_params.get("msg", "")
    disputes = load_disputes()
    return {
        "plan": view,
        "cards": task_cards(view, state.ctx.agencies, lang, disputes),
        "entries": [
            timeline_entry(e, state.ctx.agencies, names, lang) for e in reversed(view.timeline)
        ],
        "plan_deadlines": [
            {
                "kind": d.kind.value,
                "state": d.state,
                "due": fmt_time(d.due_at),
                "met": fmt_time(d.met_at),
                "disputed": disputed_days(disputes, d.starts_at, d.due_at),
            }
            for d in view.deadlines
        ],
        "flash": flash if flash in FLASHES else "",
        "reveal": False,
        "route_to": [
            (a.code, agency_name(state.ctx.agencies, a.code, lang))
            for a in state.ctx.agencies.in_flow("ipr")
        ],
        "TaskState": TaskState,
        "DeadlineState": DeadlineState,
    }


@router.get("/plans/{plan_id}")
async def plan_page(plan_id: str, request: Request) -> Response:
    signed = await _signed(request)
    context = await _plan_context(request, signed, plan_id)
    return _render(request, "plan.html", context, signed=signed)


@router.get("/plans/{plan_id}/fragment/tasks")
async def tasks_fragment(plan_id: str, request: Request) -> Response:
    signed = await _signed(request)
    context = await _plan_context(request, signed, plan_id)
    return _render(request, "_tasks.html", context, signed=signed)


@router.get("/plans/{plan_id}/fragment/timeline")
async def timeline_fragment(plan_id: str, request: Request) -> Response:
    signed = await _signed(request)
    context = await _plan_context(request, signed, plan_id)
    return _render(request, "_timeline.html", context, signed=signed)


@router.post("/plans/{plan_id}/reveal-iin")
async def reveal_iin(plan_id: str, request: Request) -> Response:
    """Full IINs, for the person who needs them now; each reveal is on the access log."""
    signed = await _signed(request)
    await _form(request, signed)
    context = await _plan_context(request, signed, plan_id, action="reveal_iin")
    context["reveal"] = True
    if request.headers.get("x-fragment"):
        return _render(request, "_family.html", context, signed=signed)
    return _render(request, "plan.html", context, signed=signed)


async def _review(
    request: Request, plan_id: str, task_id: str, decision: ReviewDecision
) -> Response:
    signed = await _signed(request)
    form = await _form(request, signed)
    reason = _required_reason(form) if decision is ReviewDecision.return_for_rework else None
    state = _state(request)
    async with state.engine.begin() as conn:
        await tasks.review_task(
            conn,
            state.ctx,
            plan_id=plan_id,
            task_id=task_id,
            decision=decision,
            reason=reason,
            caller=signed.staff.caller(),
            now=state.clock.now(),
        )
    state.on_outbox_write()
    flash = "accepted" if decision is ReviewDecision.accept else "returned"
    return _see_other(f"{PREFIX}/plans/{plan_id}?msg={flash}#task-{task_id}")


@router.post("/plans/{plan_id}/tasks/{task_id}/accept")
async def accept_task(plan_id: str, task_id: str, request: Request) -> Response:
    return await _review(request, plan_id, task_id, ReviewDecision.accept)


@router.post("/plans/{plan_id}/tasks/{task_id}/return")
async def return_task(plan_id: str, task_id: str, request: Request) -> Response:
    return await _review(request, plan_id, task_id, ReviewDecision.return_for_rework)


@router.post("/plans/{plan_id}/cancel")
async def cancel_plan(plan_id: str, request: Request) -> Response:
    signed = await _signed(request)
    form = await _form(request, signed)
    reason = _required_reason(form)[:500]
    state = _state(request)
    async with state.engine.begin() as conn:
        await plan_service.cancel_plan(
            conn, state.ctx, plan_id, reason, signed.staff.caller(), state.clock.now()
        )
    state.on_outbox_write()
    return _see_other(f"{PREFIX}/plans/{plan_id}?msg=cancelled")


@router.post("/plans/{plan_id}/tasks/{task_id}/reroute")
async def reroute_task(plan_id: str, task_id: str, request: Request) -> Response:
    """Send a refused or undeliverable activity to the competent body (p.9, p.11)."""
    signed = await _signed(request)
    form = await _form(request, signed)
    reason = _required_reason(form)[:500]
    agency = _text(form, "agency")
    if not agency:
        raise InvalidInput.field("agency", "is required")
    state = _state(request)
    async with state.engine.begin() as conn:
        await rerouting.reroute_task(
            conn,
            state.ctx,
            plan_id=plan_id,
            task_id=task_id,
            agency=agency,
            reason=reason,
            due_date=None,
            caller=signed.staff.caller(),
            now=state.clock.now(),
        )
    state.on_outbox_write()
    return _see_other(f"{PREFIX}/plans/{plan_id}?msg=rerouted")


@router.post("/plans/{plan_id}/tasks/{task_id}/close")
async def close_task(plan_id: str, task_id: str, request: Request) -> Response:
    """Close a refused or undeliverable activity with the centre's reason."""
    signed = await _signed(request)
    form = await _form(request, signed)
    reason = _required_reason(form)[:500]
    state = _state(request)
    async with state.engine.begin() as conn:
        await rerouting.close_task(
            conn,
            state.ctx,
            plan_id=plan_id,
            task_id=task_id,
            reason=reason,
            caller=signed.staff.caller(),
            now=state.clock.now(),
        )
    return _see_other(f"{PREFIX}/plans/{plan_id}?msg=closed#task-{task_id}")


# --- incidents (a head's page) ----------------------------------------------------------


def _require_head(signed: Signed) -> None:
    if signed.staff.role is not StaffRole.head:
        raise Forbidden("this page is for the centre's head")


@router.get("/incidents")
async def incidents_page(request: Request) -> Response:
    signed = await _signed(request)
    _require_head(signed)
    state = _state(request)
    async with state.engine.connect() as conn:
        found = await incident_service.list_incidents(conn, signed.staff.caller())
    lang = _lang(request)
    agencies = state.ctx.agencies
    flash = request.query_params.get("msg", "")
    return _render(
        request,
        "incidents.html",
        {
            "incidents": found,
            "agency_name": lambda code: agency_name(agencies, code, lang) if code else "",
            "incident_text": lambda error: incident_text(error, lang),
            "flash": flash if flash in FLASHES else "",
        },
        signed=signed,
    )


@router.post("/incidents/{incident_id}/replay")
async def replay(incident_id: int, request: Request) -> Response:
    signed = await _signed(request)
    _require_head(signed)
    await _form(request, signed)
    state = _state(request)
    async with state.engine.begin() as conn:
        await incident_service.replay_incident(
            conn, state.ctx, incident_id, signed.staff.caller(), state.clock.now()
        )
    state.on_outbox_write()
    return _see_other(f"{PREFIX}/incidents?msg=replayed")


# --- quarterly monitoring (a head's page) -------------------------------------------------

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _card_breakers(request: Request) -> BreakerBoard:
    """One breaker board per app: each report opens a short-lived client of the family
    card, and the breaker must remember the card's failures across them."""
    board: BreakerBoard | None = getattr(request.app.state, "family_card_breakers", None)
    if board is None:
        board = BreakerBoard()
        request.app.state.family_card_breakers = board
    return board


async def _quarterly(request: Request, signed: Signed, text: str) -> QuarterlyReport:
    state = _state(request)
    quarter = parse_quarter(text)
    card = card_client(state.settings.family_card_url, _card_breakers(request))
    try:
        return await build_quarterly_report(
            state.engine,
            signed.staff.centre,
            quarter,
            source=card,
            now=state.clock.now(),
            clock=state.clock,
            calendar=state.ctx.calendar,
            agencies=state.ctx.agencies,
        )
    finally:
        if card is not None:
            await card.aclose()


def _default_quarter(request: Request) -> str:
    """The current quarter: a fresh install shows this quarter's work (preliminary, and
    said so) rather than a past quarter of zeros; the choice is on the page."""
    return Quarter.of(_state(request).clock.now()).label


#: How many quarters back the page's choice offers (two years).
QUARTER_CHOICES = 8


def _quarter_choices(request: Request, chosen: str) -> list[tuple[str, str]]:
    current = Quarter.of(_state(request).clock.now())
    found: list[tuple[str, str]] = []
    quarter = current
    for _ in range(QUARTER_CHOICES):
        found.append((quarter.label, quarter.title_ru))
        quarter = quarter.previous()
    if chosen not in {label for label, _ in found}:
        try:
            other = parse_quarter(chosen)
            found.append((other.label, other.title_ru))
        except QuarterError:
            pass
    return found


@router.get("/reports/quarterly")
async def quarterly_page(request: Request, quarter: str | None = None) -> Response:
    signed = await _signed(request)
    _require_head(signed)
    text = (quarter or _default_quarter(request)).strip()
    state = _state(request)
    current = Quarter.of(state.clock.now()).label
    try:
        report = await _quarterly(request, signed, text)
    except QuarterError:
        context: dict[str, Any] = {
            "quarter": text,
            "report": None,
            "error": True,
            "choices": _quarter_choices(request, text),
            "current": current,
        }
        return _render(request, "report.html", context, signed=signed, status=422)
    async with state.engine.connect() as conn:
        dispatch = await conclusions.find_dispatch(conn, signed.staff.centre, report.quarter)
    flash = request.query_params.get("msg", "")
    context = {
        "quarter": report.quarter.label,
        "report": report,
        "error": False,
        "chart": report_chart_svg(report),
        "sections": report_sections(report),
        "choices": _quarter_choices(request, report.quarter.label),
        "current": current,
        "dispatch": dispatch,
        "recipients": state.settings.conclusion_addresses,
        "flash": flash if flash in ("conclusion_queued",) else "",
    }
    return _render(request, "report.html", context, signed=signed)


@router.post("/reports/quarterly/send")
async def quarterly_send(request: Request) -> Response:
    """The head sends the finished quarter's conclusion to the authorised body (p.14)."""
    signed = await _signed(request)
    _require_head(signed)
    form = await _form(request, signed)
    text = _text(form, "quarter")
    try:
        report = await _quarterly(request, signed, text)
    except QuarterError as error:
        raise InvalidInput.field("quarter", str(error)) from None
    state = _state(request)
    await conclusions.request_sending(
        state.engine,
        state.ctx,
        report,
        recipients=state.settings.conclusion_addresses,
        actor=signed.staff.caller().actor,
        now=state.clock.now(),
    )
    state.on_outbox_write()
    return _see_other(
        f"{PREFIX}/reports/quarterly?quarter={report.quarter.label}&msg=conclusion_queued"
    )


@router.get("/reports/quarterly.{fmt}")
async def quarterly_download(request: Request, fmt: str, quarter: str) -> Response:
    signed = await _signed(request)
    _require_head(signed)
    if fmt not in ("csv", "xlsx"):
        raise NotFound(f"no export format '{fmt}'")
    try:
        report = await _quarterly(request, signed, quarter)
    except QuarterError as error:
        raise InvalidInput.field("quarter", str(error)) from None
    name = f"monitoring-{signed.staff.centre}-{quarter}.{fmt}"
    body, media = (
        (to_csv(report), "text/csv; charset=utf-8")
        if fmt == "csv"
        else (to_xlsx(report), XLSX_MEDIA_TYPE)
    )
    return Response(
        body,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{name}"', **SECURITY_HEADERS},
    )


# --- live updates -----------------------------------------------------------------------


@router.get("/stream")
async def stream(request: Request) -> Response:
    signed = await _signed(request)
    last_event = request.headers.get("last-event-id", "")
    return StreamingResponse(
        plan_changes(
            _state(request).engine,
            signed.staff.centre,
            after=int(last_event) if last_event.isdigit() else None,
            disconnected=request.is_disconnected,
        ),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


# --- wiring -----------------------------------------------------------------------------


def _wants_page(request: Request) -> bool:
    return request.url.path.startswith(PREFIX + "/") or request.url.path == PREFIX


def _error_page(request: Request, status: int, detail: str, key: str | None = None) -> Response:
    return _render(
        request,
        "error.html",
        {"status": status, "message_key": key or f"error_{status}", "detail": detail},
        status=status,
    )


def install(app: FastAPI) -> None:
    """Mount the workspace; its errors are pages, the API's stay problem documents."""
    app.include_router(router)
    app.mount(PREFIX + "/static", StaticFiles(directory=HERE / "static"), name="web-static")

    async def favicon() -> Response:
        """Browsers ask for /favicon.ico on every page; without it each is a 404 line."""
        return Response(
            FAVICON.read_bytes(),
            media_type="image/vnd.microsoft.icon",
            headers={"Cache-Control": "public, max-age=86400"},
        )

    app.add_api_route("/favicon.ico", favicon, methods=["GET"], include_in_schema=False)

    async def sign_in(request: Request, exc: Exception) -> Response:
        path = request.url.path
        if "/fragment/" in path or path.endswith("/stream") or request.headers.get("x-fragment"):
            return Response("sign in again", status_code=401)
        return _see_other(f"{PREFIX}/login?" + urlencode({"next": path}))

    async def csrf(request: Request, exc: Exception) -> Response:
        return _error_page(request, 403, "csrf", "error_csrf")

    app.add_exception_handler(SignInRequired, sign_in)
    app.add_exception_handler(CsrfRefused, csrf)

    for kind in (GatewayError, RequestValidationError, StarletteHTTPException):
        api_handler = app.exception_handlers.get(kind)
        if api_handler is not None:
            app.add_exception_handler(kind, _page_or(api_handler))


def _page_or(api_handler: Any) -> Any:
    async def handle(request: Request, exc: Exception) -> Response:
        if not _wants_page(request) or request.url.path.startswith(PREFIX + "/static/"):
            response: Response = await api_handler(request, exc)
            return response
        if isinstance(exc, GatewayError):
            status = exc.status if exc.status in (403, 404, 409, 422) else 400
            return _error_page(request, status, exc.detail)
        if isinstance(exc, StarletteHTTPException):
            status = exc.status_code if exc.status_code in (403, 404) else 400
            return _error_page(request, status, str(exc.detail))
        return _error_page(request, 422, str(exc))

    return handle
