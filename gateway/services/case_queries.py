"""Reading chain cases back: one case with its steps and timeline, a body's inbox.

Who may read a case: the admin, and every body that owns or owned a step of it (the
career centre that opened it included). A body sees only the cases it has a part in:
the application carries a family's personal data (order 170 p.12: confidentiality of
personal data of limited access).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncConnection

from contracts.cases import CaseSummary, CaseView, Decision, HandoverView, StepView
from contracts.clock import to_almaty
from contracts.plans import DeadlineView, PlanStatus
from gateway.auth import Caller, ClientKind
from gateway.domain.flow import load_flow
from gateway.errors import Forbidden, NotFound
from gateway.services.plans import IPR_STEP
from gateway.services.queries import deadline_view, local, read_timeline
from gateway.store.tables import deadlines, handovers, plans, tasks


def _may_read(caller: Caller, case_id: str) -> Any:
    """A condition: the caller's body has (had) a step of the case, or opened it."""
    return exists().where(tasks.c.plan_id == case_id, tasks.c.agency == caller.scope)


async def load_case_for(conn: AsyncConnection, case_id: str, caller: Caller) -> Any:
    case = (
        await conn.execute(select(plans).where(plans.c.id == case_id, plans.c.flow != "ipr"))
    ).first()
    if case is None:
        raise NotFound(f"no case with id '{case_id}'")
    if caller.kind is ClientKind.admin:
        return case
    if caller.kind is not ClientKind.agency:
        raise Forbidden("cases of hand-overs are read by the bodies that take part in them")
    allowed = (
        case.centre == caller.scope
        or (await conn.execute(select(_may_read(caller, case_id)))).scalar()
    )
    if not allowed:
        raise Forbidden("this body has no step in this case")
    return case


async def read_case(conn: AsyncConnection, case_id: str, caller: Caller, now: datetime) -> CaseView:
    case = await load_case_for(conn, case_id, caller)
    flow = load_flow(case.flow)
    step_rows = (
        await conn.execute(select(tasks).where(tasks.c.plan_id == case_id).order_by(tasks.c.seq))
    ).all()
    by_task: dict[str | None, list[DeadlineView]] = defaultdict(list)
    for row in await conn.execute(
        select(deadlines).where(deadlines.c.plan_id == case_id).order_by(deadlines.c.id)
    ):
        by_task[row.task_id].append(deadline_view(row, now))
    signed = {
        row.task_id: HandoverView(
            decision=Decision(row.decision),
            signer_name=row.signer_name,
            signer_role=row.signer_role,
            certificate_serial=row.certificate_serial,
            signed_at=to_almaty(row.signed_at),
            received_at=to_almaty(row.received_at),
            via=row.via,
        )
        for row in await conn.execute(select(handovers).where(handovers.c.plan_id == case_id))
    }
    steps = []
    for row in step_rows:
        step = flow.step(row.step)
        steps.append(
            StepView(
                id=row.id,
                step=row.step,
                title=row.title,
                clause=step.clause,
                body=row.agency,
                role=step.role,
                round=row.round,
                state=row.state,
                remarks=row.last_reason,
                created_at=to_almaty(row.created_at),
                decided_at=local(row.reported_at),
                deadlines=by_task[row.id],
                handover=signed.get(row.id),
            )
        )
    timeline = await read_timeline(conn, case_id)
    summary = _summary(case, steps)
    return CaseView(
        **summary.model_dump(),
        completed_at=local(case.completed_at) or local(case.cancelled_at),
        closed_reason=case.cancel_reason,
        application=case.family["application"],
        intake=case.family["intake"],
        family_card=case.family.get("family_card"),
        steps=steps,
        timeline=timeline,
    )


def _summary(case: Any, steps: list[StepView]) -> CaseSummary:
    flow = load_flow(case.flow)
    current = next((s for s in reversed(steps) if not flow.is_terminal(s.state)), None)
    deadline = current.deadlines[-1] if current and current.deadlines else None
    return CaseSummary(
        id=case.id,
        flow=case.flow,
        status=PlanStatus(case.status),
        opened_by=case.centre,
        external_id=case.external_id,
        opened_at=to_almaty(case.created_at),
        current_step=current.step if current else None,
        current_body=current.body if current else None,
        due_at=deadline.due_at if deadline else None,
        deadline_state=deadline.state if deadline else None,
    )


async def inbox(
    conn: AsyncConnection,
    caller: Caller,
    now: datetime,
    *,
    open_only: bool = True,
    limit: int = 50,
    offset: int = 0,
) -> list[CaseSummary]:
    """The cases where the caller's body has a step (open ones only, by default),
    most urgent first: breached, then at risk, then nearest due."""
    if caller.kind is not ClientKind.agency or caller.scope is None:
        raise Forbidden("a body's inbox is read with that body's credential")
    query = select(tasks.c.plan_id).where(
        tasks.c.agency == caller.scope, tasks.c.step != IPR_STEP  # a chain case's steps
    )
    if open_only:
        query = query.where(tasks.c.state.in_(("created", "dispatched")))
    ids = list(dict.fromkeys((await conn.execute(query.order_by(tasks.c.created_at))).scalars()))
    summaries = []
    for case_id in ids:
        view = await read_case(conn, case_id, caller, now)
        summaries.append(CaseSummary(**view.model_dump(include=set(CaseSummary.model_fields))))
    rank = {"breached": 0, "at_risk": 1, "on_time": 2, None: 3}
    summaries.sort(key=lambda s: (rank[s.deadline_state], s.due_at or now))
    return summaries[offset : offset + limit]
