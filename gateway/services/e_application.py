"""The e-application (order No. 109, «Электронное обращение»): from the portal to the result.

p.2–4: the citizen files the form on the portal, signed with ЭЦП; the recipient is the
one the register of public services names. p.5: the recipient (the regional office)
forwards it within 2 working days to the district office of the applicant's residence.
p.6: a specialist there checks the documents within 2 working days; p.7: questions go
to the applicant by phone or e-mail. p.10: the result or the refusal goes to the
personal cabinet and by SMS.

`receive` turns one application the portal delivered into a case, once: the portal's
application id is the case's idempotency key, so the same application delivered twice
(a retried poll, a re-sent push) is one case. A form the gateway cannot act on is
refused with every field named, and the portal is told why, through the outbox like
every other notice. Both terms are stored deadlines, watched by the one watcher.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from contracts.iin import mask_iin
from contracts.plans import PlanStatus
from contracts.portal_notices import PortalStatus
from gateway.domain.e_application_form import check_form, refusal_text
from gateway.domain.flow import COMPLETE, Flow, load_flow
from gateway.domain.public_services import Routing, load_register
from gateway.errors import InvalidInput
from gateway.ids import new_id
from gateway.services import citizen_notices, service_steps, timeline
from gateway.services.context import Context
from gateway.store.tables import plans

E_APPLICATION = "e_application"
#: Cases that arrive from the portal are opened by it: `plans.centre` of every one.
PORTAL = "egov"
INTAKE_ACTOR = "gateway:portal-intake"


@dataclass(frozen=True)
class Received:
    case_id: str
    created: bool
    refused: bool


def flow() -> Flow:
    return load_flow(E_APPLICATION)


def intake_key(appeal_id: str) -> str:
    return f"egov:{appeal_id}"


async def known_case(conn: AsyncConnection, appeal_id: str) -> str | None:
    """The case already opened for this portal application, if any."""
    found = (
        await conn.execute(
            select(plans.c.id).where(
                plans.c.centre == PORTAL, plans.c.idempotency_key == intake_key(appeal_id)
            )
        )
    ).scalar()
    return str(found) if found is not None else None


def _problems_of(
    ctx: Context, form: dict[str, Any], signature_problem: str | None
) -> tuple[list[tuple[str, str]], Routing | None]:
    problems, routing = check_form(form, load_register())
    if signature_problem is not None and form.get("signature"):
        problems.append(("signature", signature_problem))
    if routing is not None:
        for office in (routing.regional_office, routing.district_office):
            if ctx.agencies.get(office) is None or not ctx.agencies.get(office).enabled:  # type: ignore[union-attr]
                problems.append(
                    (
                        "region",
                        f"the office '{office}' of this region is not connected to the gateway",
                    )
                )
    return problems, routing


async def insert_case(
    conn: AsyncConnection,
    *,
    flow_id: str,
    appeal: dict[str, Any],
    document: dict[str, Any],
    status: PlanStatus,
    now: datetime,
    reason: str | None = None,
) -> str:
    case_id = new_id()
    await conn.execute(
        insert(plans).values(
            id=case_id,
            flow=flow_id,
            centre=PORTAL,
            external_id=appeal.get("number"),
            status=status.value,
            approved_at=now,
            created_at=now,
            cancelled_at=now if status is PlanStatus.cancelled else None,
            cancel_reason=reason,
            family=document,
            grounds=[],
            created_by=INTAKE_ACTOR,
            idempotency_key=intake_key(appeal["id"]),
            request_hash=None,
        )
    )
    return case_id


async def refuse_at_intake(
    conn: AsyncConnection,
    ctx: Context,
    *,
    flow_id: str,
    appeal: dict[str, Any],
    document: dict[str, Any],
    errors: list[dict[str, str]],
    text: str,
    now: datetime,
) -> str:
    """A form refused before any step: the case records it, the portal and the citizen
    are told why (the application moves `received → refused` on the portal)."""
    document = {**document, "refusal": {"errors": errors, "text": text}}
    case_id = await insert_case(
        conn,
        flow_id=flow_id,
        appeal=appeal,
        document=document,
        status=PlanStatus.cancelled,
        now=now,
        reason=text,
    )
    await timeline.record(
        conn,
        plan_id=case_id,
        at=now,
        actor=INTAKE_ACTOR,
        type="case_opened",
        to_state=PlanStatus.active.value,
        data={"flow": flow_id, "appeal": appeal.get("number")},
    )
    await timeline.record(
        conn,
        plan_id=case_id,
        at=now,
        actor=INTAKE_ACTOR,
        type="form_refused",
        to_state=PlanStatus.cancelled.value,
        reason=text,
        data={"errors": errors},
    )
    form = appeal.get("form") or {}
    await citizen_notices.portal_status(
        conn,
        ctx,
        case_id,
        PortalStatus(appeal_id=appeal["id"], status="refused", result=text[:4000]),
        now,
    )
    await citizen_notices.tell_citizen(
        conn,
        ctx,
        case_id,
        iin=form.get("iin") if not any(e["field"] == "iin" for e in errors) else None,
        phone=form.get("phone"),
        title=f"Отказ в приёме заявления {appeal.get('number', '')}".strip(),
        text=text,
        sms=f"Заявление {appeal.get('number', '')} не принято. Причина в личном кабинете egov.kz.",
        appeal_id=appeal["id"],
        now=now,
    )
    return case_id


def _document(
    appeal: dict[str, Any], routing: Routing | None, signature: dict[str, Any]
) -> dict[str, Any]:
    form = dict(appeal.get("form") or {})
    form.pop("signature", None)  # verified and recorded below; the bytes stay on the portal
    return {
        "appeal": {
            "id": appeal["id"],
            "number": appeal.get("number"),
            "received_at": appeal.get("received_at"),
            "source": "egov.kz «Электронное обращение»",
        },
        "form": form,
        "signature": signature,
        "routing": None
        if routing is None
        else {
            "service_code": routing.service.code,
            "service_name": routing.service.name,
            "region": routing.region,
            "region_name": routing.region_name,
            "recipient": routing.recipient,
            "regional_office": routing.regional_office,
            "district_office": routing.district_office,
            "source": "register of public services (gateway/data/public_services.json)",
        },
    }


async def receive(
    conn: AsyncConnection,
    ctx: Context,
    appeal: dict[str, Any],
    *,
    signature: dict[str, Any],
    received_at: datetime,
    now: datetime,
) -> Received:
    """One portal application in: a case with its first step, or a refusal; once."""
    existing = await known_case(conn, appeal["id"])
    if existing is not None:
        return Received(existing, created=False, refused=False)
    form = dict(appeal.get("form") or {})
    problems, routing = _problems_of(ctx, form, signature.get("problem"))
    document = _document(appeal, routing, signature)
    if problems:
        errors = [{"field": f, "reason": r} for f, r in problems]
        case_id = await refuse_at_intake(
            conn,
            ctx,
            flow_id=E_APPLICATION,
            appeal=appeal,
            document=document,
            errors=errors,
            text=refusal_text(problems),
            now=now,
        )
        return Received(case_id, created=True, refused=True)
    assert routing is not None
    the_flow = flow()
    case_id = await insert_case(
        conn,
        flow_id=E_APPLICATION,
        appeal=appeal,
        document=document,
        status=PlanStatus.active,
        now=now,
    )
    await timeline.record(
        conn,
        plan_id=case_id,
        at=now,
        actor=INTAKE_ACTOR,
        type="case_opened",
        to_state=PlanStatus.active.value,
        data={
            "flow": E_APPLICATION,
            "appeal": appeal.get("number"),
            "service": routing.service.code,
            "recipient": routing.recipient,
            "applicant": mask_iin(form["iin"]),
            "signature": signature.get("status"),
        },
    )
    step = the_flow.step("forward")
    await service_steps.open_step(
        conn,
        ctx,
        the_flow,
        case_id=case_id,
        step=step.id,
        body=routing.regional_office,
        title=step.title.ru,
        clause=step.clause,
        iins=[form["iin"]],
        # p.5 counts from the day the recipient received it: the portal's time of receipt.
        term=service_steps.step_term(the_flow, step.term, received_at, ctx),
        now=now,
    )
    return Received(case_id, created=True, refused=False)


async def forward(
    conn: AsyncConnection,
    ctx: Context,
    case_id: str,
    *,
    body: str | None,
    actor: str,
    now: datetime,
) -> None:
    """p.5: the regional office hands the application to the district office of residence."""
    the_flow = flow()
    case = await service_steps.load_case(conn, case_id, (E_APPLICATION,))
    task = await service_steps.open_task_of(conn, case, "forward", body=body)
    routing = case.family["routing"]
    district = ctx.agencies.get(routing["district_office"])
    await service_steps.close_step(
        conn,
        the_flow,
        task,
        "forward",
        actor=actor,
        reason=None,
        data={"to": routing["district_office"]},
        now=now,
    )
    step = the_flow.step("check")
    await service_steps.open_step(
        conn,
        ctx,
        the_flow,
        case_id=case_id,
        step=step.id,
        body=routing["district_office"],
        title=step.title.ru,
        clause=step.clause,
        iins=list(task.beneficiary_iins),
        term=service_steps.step_term(the_flow, step.term, now, ctx),
        now=now,
        actor=actor,
    )
    appeal_id = case.family["appeal"]["id"]
    office = district.name_ru if district is not None else routing["district_office"]
    await citizen_notices.portal_status(
        conn,
        ctx,
        case_id,
        PortalStatus(appeal_id=appeal_id, status="forwarded", district_office=office),
        now,
    )
    await citizen_notices.portal_status(
        conn, ctx, case_id, PortalStatus(appeal_id=appeal_id, status="in_review"), now
    )


async def record_contact(
    conn: AsyncConnection,
    case_id: str,
    *,
    body: str | None,
    channel: str,
    question: str,
    answer: str | None,
    actor: str,
    now: datetime,
) -> None:
    """p.7: the specialist's question to the applicant, by the phone or e-mail of the form."""
    case = await service_steps.load_case(conn, case_id, (E_APPLICATION,))
    task = await service_steps.open_task_of(conn, case, "check", body=body)
    form = case.family["form"]
    to = form.get("phone") if channel == "phone" else form.get("email")
    if not to:
        raise InvalidInput.field("channel", f"the form gives no {channel} to contact the applicant")
    await timeline.record(
        conn,
        plan_id=case_id,
        task_id=task.id,
        at=now,
        actor=actor,
        type="applicant_contacted",
        reason=question,
        data={
            "channel": channel,
            "to": _masked_contact(str(to)),
            "answer": answer,
            "clause": "order 109 p.7",
        },
    )


def _masked_contact(value: str) -> str:
    if "@" in value:
        name, _, domain = value.partition("@")
        return f"{name[:1]}***@{domain}"
    return value[:4] + "*" * max(0, len(value) - 6) + value[-2:]


async def check(
    conn: AsyncConnection,
    ctx: Context,
    case_id: str,
    *,
    body: str | None,
    decision: str,
    result: str,
    actor: str,
    now: datetime,
) -> str:
    """p.6–10: the documents match the standard (`forward`: the result) or not (`refuse`);
    either way the citizen is told in the cabinet and by SMS, once."""
    if not result.strip():
        raise InvalidInput.field(
            "result", "the result or the reason for refusal is required (p.10)"
        )
    the_flow = flow()
    if the_flow.route("check", decision, {}) != COMPLETE:
        raise InvalidInput.field(
            "decision", "step check (order 109 p.6-10) allows: forward, refuse"
        )
    case = await service_steps.load_case(conn, case_id, (E_APPLICATION,))
    task = await service_steps.open_task_of(conn, case, "check", body=body)
    state = await service_steps.close_step(
        conn, the_flow, task, decision, actor=actor, reason=result, data={}, now=now
    )
    refused = decision == "refuse"
    await service_steps.close_case(conn, case_id, refused=refused, reason=result, now=now)
    await tell_result(conn, ctx, case, refused=refused, result=result, now=now)
    return state


async def tell_result(
    conn: AsyncConnection,
    ctx: Context,
    case: Any,
    *,
    refused: bool,
    result: str,
    now: datetime,
    document_url: str | None = None,
) -> None:
    appeal = case.family["appeal"]
    form = case.family["form"]
    status = "refused" if refused else "answered"
    await citizen_notices.portal_status(
        conn,
        ctx,
        case.id,
        PortalStatus(appeal_id=appeal["id"], status=status, result=result[:4000]),
        now,
    )
    word = "Отказ в оказании услуги" if refused else "Результат оказания услуги"
    await citizen_notices.tell_citizen(
        conn,
        ctx,
        case.id,
        iin=form["iin"],
        phone=form.get("phone"),
        title=f"{word}: заявление {appeal.get('number') or ''}".strip(),
        text=result,
        sms=f"{word} по заявлению {appeal.get('number') or ''}: см. личный кабинет egov.kz.",
        appeal_id=appeal["id"],
        document_url=document_url,
        now=now,
    )
