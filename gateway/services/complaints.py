"""Complaints about a public service's decision, each with its clock (seed 002 p.10).

A complaint to the head of the service provider (or the akim) is considered within 5
working days of its registration; one to the authorised body for the quality of public
services within 15. A complaint is a step of the case it is about, owned by whoever
considers it, so the one deadline watcher warns and breaches it like any other term,
and the answer goes to the applicant's cabinet and by SMS through the outbox.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from gateway.errors import InvalidInput
from gateway.services import citizen_notices, service_steps, timeline
from gateway.services.context import Context
from gateway.services.e_application import E_APPLICATION
from gateway.services.employment_referral import REFERRAL
from gateway.services.employment_referral import flow as referral_flow

#: Who considers a complaint, its step and its clock (`employment_referral.json`).
ADDRESSEES = {
    "provider": ("complaint", "complaint"),
    "quality_authority": ("quality_complaint", "quality_complaint"),
}
QUALITY_AUTHORITY = "quality_authority"


async def file(
    conn: Any, ctx: Context, case_id: str, *, to: str, text: str, actor: str, now: datetime
) -> str:
    if to not in ADDRESSEES:
        raise InvalidInput.field("to", "must be provider or quality_authority")
    if not text.strip():
        raise InvalidInput.field("text", "the complaint's text is required")
    from sqlalchemy import select

    from gateway.store.tables import plans, tasks

    case = (await conn.execute(select(plans).where(plans.c.id == case_id))).first()
    if case is None or case.flow not in (REFERRAL, E_APPLICATION):
        raise InvalidInput.field("case", "no such case of a public service")
    provider = (
        await conn.execute(
            select(tasks.c.agency).where(tasks.c.plan_id == case_id).order_by(tasks.c.seq.desc())
        )
    ).scalar()
    step, clock = ADDRESSEES[to]
    owner = provider if to == "provider" else QUALITY_AUTHORITY
    the_flow = referral_flow()
    term = service_steps.step_term(the_flow, clock, now, ctx)
    task_id = await service_steps.open_step(
        conn,
        ctx,
        the_flow,
        case_id=case_id,
        step=step,
        body=str(owner),
        title="Жалоба" if to == "provider" else "Жалоба в уполномоченный орган по качеству",
        clause=the_flow.clock(clock).clause,
        iins=[case.family["form"]["iin"]],
        term=term,
        now=now,
        actor=actor,
    )
    await timeline.record(
        conn,
        plan_id=case_id,
        task_id=task_id,
        at=now,
        actor=actor,
        type="complaint_filed",
        reason=text,
        data={"to": to, "due_at": term.due_at.isoformat()},
    )
    return task_id


async def answer(
    conn: Any,
    ctx: Context,
    case_id: str,
    task_id: str,
    *,
    body: str | None,
    text: str,
    actor: str,
    now: datetime,
) -> None:
    from sqlalchemy import select

    from gateway.store.tables import plans, tasks

    if not text.strip():
        raise InvalidInput.field("text", "the answer is required")
    task = (
        await conn.execute(select(tasks).where(tasks.c.id == task_id, tasks.c.plan_id == case_id))
    ).first()
    if task is None or task.step not in ("complaint", "quality_complaint"):
        raise InvalidInput.field("task", "no such complaint on this case")
    if body is not None and task.agency != body:
        from gateway.errors import Forbidden

        raise Forbidden(f"this complaint is considered by '{task.agency}'")
    await service_steps.close_step(
        conn, referral_flow(), task, "forward", actor=actor, reason=text, data={}, now=now
    )
    case = (await conn.execute(select(plans).where(plans.c.id == case_id))).first()
    form = case.family["form"]
    await citizen_notices.tell_citizen(
        conn,
        ctx,
        case_id,
        iin=form["iin"],
        phone=form.get("phone"),
        title="Ответ на жалобу",
        text=text,
        sms="Ответ на вашу жалобу: см. личный кабинет egov.kz.",
        appeal_id=None,
        now=now,
    )
