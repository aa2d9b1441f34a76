"""Pages for the staff of the kandas chain's bodies: an inbox and the case with its hand-over.

A staff member of a career centre, labour mobility centre or local executive body signs in
like a centre's staff (their `staff_users.centre` is the body's code) and sees the cases
where their body has a step: what is due, at risk or breached first. On a case they see
the facts the registries gave (each with its source), the scans and why they were needed,
every step with its term, and the timeline; when the open step is their body's and their
role's, they decide it in two steps, as with NCALayer in production: choose the decision
(remarks and the data the step requires), then sign exactly the statement shown, with
their own key in the browser (`_sign.html`, `sign.js`). The hand-over then goes through
`gateway.services.cases.decide`, as one from the API or AMQP does.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request, Response
from starlette.datastructures import FormData

from contracts.cases import Decision, StepDecision
from contracts.iin import mask_iin
from contracts.plans import DeadlineState
from contracts.signing import HandoverStatement
from gateway.auth import Caller, ClientKind
from gateway.domain.flow import load_flow
from gateway.errors import Forbidden, GatewayError, InvalidInput
from gateway.services import case_queries, cases, staff, timeline
from gateway.services.staff import StaffRole
from gateway.signatures import signature_from_form, signing_request
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

#: A body's staff roles as the flow's step roles: a worker is the body's specialist.
STEP_ROLE = {StaffRole.worker: "specialist", StaffRole.head: "head"}
MAX_REMARKS = 2000


def clause(text: str, lang: str) -> str:
    """`order 170 p.9` (the flow file's English) as staff read the act's name."""
    act = "№ 170 бұйрық, " if lang == "kk" else "приказ № 170, "
    return text.replace("order 170 ", act)


def body_caller(request: Request, signed: Signed) -> Caller:
    """The person acts as their body: the services' access rules apply unchanged."""
    agency = _state(request).ctx.agencies.get(signed.staff.centre)
    if agency is None or "ipr" in agency.flows:
        raise Forbidden("these pages are for the staff of the kandas chain's bodies")
    return Caller(
        client_id=signed.staff.client_id,
        kind=ClientKind.agency,
        scope=agency.code,
        name=signed.staff.login,
    )


def is_body_staff(request: Request, signed: Signed) -> bool:
    agency = _state(request).ctx.agencies.get(signed.staff.centre)
    return agency is not None and "ipr" not in agency.flows


def _deadline(d: Any) -> dict[str, Any]:
    return {"state": d.state, "due": fmt_time(d.due_at), "met": fmt_time(d.met_at)}


async def _inbox_context(request: Request, signed: Signed) -> dict[str, Any]:
    state = _state(request)
    caller = body_caller(request, signed)
    lang = _lang(request)
    now = state.clock.now()
    show_all = request.query_params.get("all") == "1"
    async with state.engine.begin() as conn:
        found = await case_queries.inbox(conn, caller, now, open_only=not show_all)
        await timeline.record_access(conn, client_id=caller.client_id, action="list_cases", at=now)
    flow = load_flow(cases.KANDAS)
    rows = [
        {
            "id": c.id,
            "number": c.external_id,
            "status": c.status.value,
            "step": flow.step(c.current_step).title.kk if lang == "kk" and c.current_step
            else (flow.step(c.current_step).title.ru if c.current_step else ""),
            "clause": clause(flow.step(c.current_step).clause, lang) if c.current_step else "",
            "mine": c.current_body == caller.scope,
            "body": agency_name(state.ctx.agencies, c.current_body, lang) if c.current_body else "",
            "deadline": c.deadline_state,
            "due": fmt_time(c.due_at),
            "opened": fmt_time(c.opened_at),
        }
        for c in found
    ]
    return {"rows": rows, "show_all": show_all, "active": "cases", "body_nav": True,
            "body_name": agency_name(state.ctx.agencies, caller.scope or "", lang)}


@router.get("/cases")
async def cases_page(request: Request) -> Response:
    signed = await _signed(request)
    return _render(request, "cases.html", await _inbox_context(request, signed), signed=signed)


@router.get("/cases/fragment/rows")
async def cases_rows(request: Request) -> Response:
    signed = await _signed(request)
    return _render(request, "_case_rows.html", await _inbox_context(request, signed), signed=signed)


async def _case_context(request: Request, signed: Signed, case_id: str) -> dict[str, Any]:
    state = _state(request)
    caller = body_caller(request, signed)
    lang = _lang(request)
    now = state.clock.now()
    async with state.engine.begin() as conn:
        view = await case_queries.read_case(conn, case_id, caller, now)
        names = await staff.staff_names(conn, caller.scope or "")
        await timeline.record_access(
            conn, client_id=caller.client_id, action="read_case", at=now, plan_id=case_id
        )
    flow = load_flow(view.flow)
    agencies = state.ctx.agencies
    steps = []
    for s in view.steps:
        step = flow.step(s.step)
        steps.append(
            {
                "id": s.id,
                "title": step.title.kk if lang == "kk" else step.title.ru,
                "clause": clause(s.clause, lang),
                "body": agency_name(agencies, s.body, lang),
                "role": s.role,
                "round": s.round,
                "state": s.state,
                "remarks": s.remarks,
                "deadlines": [_deadline(d) for d in s.deadlines],
                "worst": s.deadlines[-1].state if s.deadlines else None,
                "handover": s.handover,
                "signed_at": fmt_time(s.handover.signed_at) if s.handover else "",
            }
        )
    current = next((s for s in reversed(view.steps) if not flow.is_terminal(s.state)), None)
    actionable = None
    if current is not None and current.body == caller.scope and view.status.value == "active":
        step = flow.step(current.step)
        actionable = {
            "id": current.id,
            "step": step.id,
            "round": current.round,
            "decisions": list(step.decisions),
            "requires": list(step.requires),
            "role_ok": STEP_ROLE[signed.staff.role] == step.role,
            "role": step.role,
        }
    intake: dict[str, Any] = dict(view.intake)
    people = [{**p, "iin": mask_iin(p["iin"]), "subject": p["iin"]} for p in intake["people"]]
    masked = {p["subject"]: p["iin"] for p in people}
    return {
        "case": view,
        "steps": steps,
        "actionable": actionable,
        "people": people,
        "facts": [{**f, "subject": masked.get(f["subject"], "")} for f in intake["facts"]],
        "scans": [{**s, "subject": masked.get(s["subject"], "")} for s in intake["scans_needed"]],
        "outcomes": [{**o, "subject": masked.get(o["subject"], "")} for o in intake["outcomes"]],
        "missing": [{**m, "subject": masked.get(m["subject"], "")} for m in intake["missing"]],
        "card": view.family_card or {},
        "entries": [timeline_entry(e, agencies, names, lang) for e in reversed(view.timeline)],
        "flash": request.query_params.get("msg", ""),
        "active": "cases",
        "body_nav": True,
        "DeadlineState": DeadlineState,
    }


@router.get("/cases/{case_id}")
async def case_page(case_id: str, request: Request) -> Response:
    signed = await _signed(request)
    return _render(request, "case.html", await _case_context(request, signed, case_id),
                   signed=signed)


@router.get("/cases/{case_id}/fragment/main")
async def case_fragment(case_id: str, request: Request) -> Response:
    signed = await _signed(request)
    return _render(request, "_case_main.html", await _case_context(request, signed, case_id),
                   signed=signed)


def _data(form: FormData, requires: list[str]) -> dict[str, str | int | bool | None]:
    """The step's required data from the form, typed as the flow's checks expect."""
    data: dict[str, str | int | bool | None] = {}
    for key in requires:
        value = _text(form, f"data_{key}")
        if key == "members_arriving" and value.isdigit():
            data[key] = int(value)
        elif key == "quota_applied" and value in ("true", "false"):
            data[key] = value == "true"
        elif value:
            data[key] = value
    return data


def _draft(form: FormData, case_id: str, caller: Caller, requires: list[str]) -> dict[str, Any]:
    decision = _text(form, "decision")
    try:
        Decision(decision)
    except ValueError:
        raise InvalidInput.field("decision", "choose a decision") from None
    remarks = _text(form, "remarks") or None
    if remarks and len(remarks) > MAX_REMARKS:
        raise InvalidInput.field("remarks", f"at most {MAX_REMARKS} characters")
    if decision != Decision.forward.value and not remarks:
        raise InvalidInput.field("remarks", f"remarks are required to {decision}")
    return {
        "case_id": case_id,
        "step": _text(form, "step"),
        "round": int(_text(form, "round") or 0),
        "body": caller.scope,
        "decision": decision,
        "remarks": remarks,
        "data": _data(form, requires),
    }


@router.post("/cases/{case_id}/steps/{step_id}/prepare")
async def prepare_decision(case_id: str, step_id: str, request: Request) -> Response:
    """Step one: the decision as the official chose it, shown as the exact statement to sign."""
    signed = await _signed(request)
    form = await _form(request, signed)
    caller = body_caller(request, signed)
    context = await _case_context(request, signed, case_id)
    actionable = context["actionable"]
    if actionable is None or actionable["id"] != step_id:
        raise Forbidden("this step is not open for your body")
    draft = _draft(form, case_id, caller, actionable["requires"])
    signed_at = datetime.now(UTC).replace(microsecond=0)
    statement = HandoverStatement(flow=cases.KANDAS, signed_at=signed_at, **draft)
    context |= {
        "draft": draft,
        "signed_at": signed_at.isoformat(),
        "signing": signing_request(statement),
        "step_id": step_id,
    }
    return _render(request, "case_sign.html", context, signed=signed)


@router.post("/cases/{case_id}/steps/{step_id}/sign")
async def sign_decision(case_id: str, step_id: str, request: Request) -> Response:
    """Step two: the signed statement, verified and applied like any other hand-over."""
    signed = await _signed(request)
    form = await _form(request, signed)
    caller = body_caller(request, signed)
    state = _state(request)
    flow = load_flow(cases.KANDAS)
    step = flow.step(_text(form, "step"))
    draft = _draft(form, case_id, caller, list(step.requires))
    signature = signature_from_form(dict(form))
    if signature is None:
        raise InvalidInput.field("signature", "the hand-over is not signed")
    decision = StepDecision(
        **draft, signed_at=datetime.fromisoformat(_text(form, "signed_at")), signature=signature
    )
    now = state.clock.now()
    try:
        async with state.engine.begin() as conn:
            await cases.decide(
                conn,
                state.ctx,
                cases.verifier(state.ctx),
                step_id,
                decision,
                caller_body=caller.scope,
                actor=caller.actor,
                via="web",
                now=now,
            )
    except GatewayError as error:
        if isinstance(error, cases.SignatureRejected):
            await cases.record_refusal(
                state.engine, case_id=case_id, task_id=step_id, actor=caller.actor,
                error=error, via="web", now=now,
            )
        raise
    state.on_outbox_write()
    return _see_other(f"{PREFIX}/cases/{case_id}?msg=handed_over")
