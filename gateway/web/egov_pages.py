"""Pages for the offices of the e-government flows: the regional and district offices
(order 109), the provider of the employment referral (seed 002) and the employment
centre (the proactive check, order 109 p.12–18).

A staff member of an office signs in like any other (`staff_users.centre` is the office's
code) and sees the office's open steps, most urgent first; on a case they see the form
as the portal delivered it (the IIN masked), every fact with the system it came from,
each step with its term, the procedures against their norms, the proactive check's
calculation with its threshold's source and every query's purpose and legal ground, and
the timeline; and they act on their office's open step. Each action goes through the same
service as the API, so the rules and the timeline are one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request, Response

from contracts.iin import mask_iin
from contracts.plans import EventView
from gateway.auth import Caller, ClientKind
from gateway.domain.employment_referral import load_standard
from gateway.errors import Forbidden
from gateway.services import (
    e_application,
    egov_queries,
    employment_referral,
    proactive_assistance,
    service_steps,
    staff,
)
from gateway.web.routes import (
    PREFIX,
    Signed,
    _form,
    _lang,
    _render,
    _see_other,
    _signed,
    _state,
    _text,
)
from gateway.web.views import agency_name, fmt_time, timeline_entry

router = APIRouter(prefix=PREFIX, include_in_schema=False)

#: The kinds of office these pages are for (gateway/data/agencies.json).
OFFICE_KINDS = frozenset({"regional_office", "district_office", "employment_centre"})


def is_office_staff(request: Request, signed: Signed) -> bool:
    agency = _state(request).ctx.agencies.get(signed.staff.centre)
    return agency is not None and agency.kind in OFFICE_KINDS


def office_caller(request: Request, signed: Signed) -> Caller:
    if not is_office_staff(request, signed):
        raise Forbidden("these pages are for the staff of the e-government flows' offices")
    return Caller(
        client_id=signed.staff.client_id,
        kind=ClientKind.agency,
        scope=signed.staff.centre,
        name=signed.staff.login,
    )


def _when(value: str | None) -> str:
    return fmt_time(datetime.fromisoformat(value)) if value else ""


async def _inbox_context(request: Request, signed: Signed) -> dict[str, Any]:
    state = _state(request)
    caller = office_caller(request, signed)
    lang = _lang(request)
    async with state.engine.connect() as conn:
        items = await egov_queries.inbox(conn, caller.scope, state.clock.now())
    rows = [
        {
            **i,
            "due": fmt_time(i["due_at"]),
            "opened": fmt_time(i["opened_at"]),
            "deadline": i["deadline"].value,
        }
        for i in items
    ]
    return {
        "rows": rows,
        "active": "egov",
        "egov_nav": True,
        "office_name": agency_name(state.ctx.agencies, caller.scope or "", lang),
    }


@router.get("/egov")
async def egov_inbox(request: Request) -> Response:
    signed = await _signed(request)
    return _render(request, "egov_inbox.html", await _inbox_context(request, signed), signed=signed)


def _form_view(document: dict[str, Any]) -> dict[str, Any]:
    form = dict(document.get("form") or {})
    name = " ".join(str(form.get(k) or "") for k in ("surname", "name", "patronymic")).strip()
    return {
        "iin": mask_iin(str(form.get("iin") or "")),
        "name": name,
        "service": form.get("service_name"),
        "contacts": " / ".join(
            p for p in (_masked_phone(form.get("phone")), form.get("email")) if p
        ),
        "content": form.get("content"),
        "attachments": form.get("attachments") or [],
    }


def _masked_phone(value: object) -> str:
    text = str(value or "")
    return text[:4] + "*" * max(0, len(text) - 6) + text[-2:] if text else ""


async def _case_context(request: Request, signed: Signed, case_id: str) -> dict[str, Any]:
    state = _state(request)
    caller = office_caller(request, signed)
    lang = _lang(request)
    now = state.clock.now()
    async with state.engine.begin() as conn:
        view = await egov_queries.read_case(
            conn, case_id, body=caller.scope, client_id=caller.client_id, now=now
        )
        names = await staff.staff_names(conn, caller.scope or "")
    agencies = state.ctx.agencies
    document = view["document"]
    open_step = next(
        (s for s in view["steps"] if s["state"] == "created" and s["body"] == caller.scope), None
    )
    entries = [
        timeline_entry(
            EventView.model_validate({**e, "at": datetime.fromisoformat(e["at"])}),
            agencies,
            names,
            lang,
        )
        for e in reversed(view["timeline"])
    ]
    assessment = document.get("assessment")
    return {
        "case": view,
        "document": document,
        "form": _form_view(document),
        "steps": [
            {
                **s,
                "office": agency_name(agencies, s["body"], lang),
                "due": _when(s["due_at"]),
                "met": _when(s["met_at"]),
            }
            for s in view["steps"]
        ],
        "open_step": open_step,
        "procedure": view["procedure"],
        "procedure_codes": [p.code for p in load_standard().procedure],
        "procedure_names": {
            p.code: (p.kk if lang == "kk" else p.ru)
            for p in load_standard().procedure
        },
        "assessment": assessment,
        "missing": "; ".join(
            f"{m['source']} ({m['fact']})" for m in (assessment or {}).get("missing", [])
        ),
        "entries": entries,
        "flash": request.query_params.get("msg", ""),
        "active": "egov",
        "egov_nav": True,
    }


@router.get("/egov/{case_id}")
async def egov_case(case_id: str, request: Request) -> Response:
    signed = await _signed(request)
    return _render(
        request, "egov_case.html", await _case_context(request, signed, case_id), signed=signed
    )


@router.post("/egov/{case_id}/act")
async def egov_act(case_id: str, request: Request) -> Response:
    """One action on the office's open step, through the service the API uses too."""
    signed = await _signed(request)
    form = await _form(request, signed)
    caller = office_caller(request, signed)
    state = _state(request)
    action = _text(form, "action")
    now = state.clock.now()
    async with state.engine.begin() as conn:
        if action == "forward":
            await e_application.forward(
                conn, state.ctx, case_id, body=caller.scope, actor=caller.actor, now=now
            )
        elif action == "contact":
            await e_application.record_contact(
                conn,
                case_id,
                body=caller.scope,
                channel=_text(form, "channel") or "phone",
                question=_text(form, "question"),
                answer=_text(form, "answer") or None,
                actor=caller.actor,
                now=now,
            )
        elif action == "check":
            await e_application.check(
                conn,
                state.ctx,
                case_id,
                body=caller.scope,
                decision=_text(form, "decision"),
                result=_text(form, "result"),
                actor=caller.actor,
                now=now,
            )
        elif action == "procedure":
            await employment_referral.record_procedure(
                conn,
                case_id,
                body=caller.scope,
                code=_text(form, "step"),
                actor=caller.actor,
                now=now,
            )
        elif action == "referral":
            await employment_referral.decide(
                conn,
                state.ctx,
                case_id,
                body=caller.scope,
                decision=_text(form, "decision"),
                reason=_text(form, "reason") or None,
                actor=caller.actor,
                now=now,
            )
        elif action == "review":
            case = await service_steps.load_case(conn, case_id, (proactive_assistance.PROACTIVE,))
            task = await service_steps.open_task_of(conn, case, "review", body=caller.scope)
            text = _text(form, "text")
            await service_steps.close_step(
                conn,
                proactive_assistance.flow(),
                task,
                "forward",
                actor=caller.actor,
                reason=text,
                data={},
                now=now,
            )
            await service_steps.close_case(conn, case_id, refused=False, reason=text, now=now)
        else:
            raise Forbidden(f"unknown action '{action}'")
    state.on_outbox_write()
    return _see_other(f"{PREFIX}/egov/{case_id}?msg=done")
