"""Steps of the e-government flows: opened with their term, closed by their owner.

The e-application (order 109), the employment referral (seed 002) and the proactive
check (order 109 p.12–18) are cases of the same core as the kandas chain: a row of
`plans` with its `flow`, one row of `tasks` per step visit owned by one body, the step's
term a stored deadline watched by the one deadline watcher, each change on the
timeline. Unlike the kandas chain, their owners are offices whose staff act in the
gateway itself (the API with the office's key, or the pages), not systems on their own
queues, so opening a step sends no message to a body; what the citizen is owed goes to
the portal through the outbox (`gateway.services.citizen_notices`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from contracts.plans import DeadlineKind, PlanStatus
from gateway.domain import deadlines as rules
from gateway.domain.flow import Flow, InvalidTransition
from gateway.errors import Conflict, Forbidden, NotFound
from gateway.ids import new_id
from gateway.services import deadline_store, timeline
from gateway.services.context import Context
from gateway.store.tables import plans, tasks

GATEWAY_ACTOR = "gateway"


@dataclass(frozen=True)
class OpenStep:
    case: Any
    task: Any


async def open_step(
    conn: AsyncConnection,
    ctx: Context,
    flow: Flow,
    *,
    case_id: str,
    step: str,
    body: str,
    title: str,
    clause: str,
    iins: list[str],
    term: rules.Deadline,
    now: datetime,
    actor: str = GATEWAY_ACTOR,
) -> str:
    """A step visit owned by `body`, with its term stored and on the timeline."""
    seq = (
        await conn.execute(
            select(func.count()).select_from(tasks).where(tasks.c.plan_id == case_id)
        )
    ).scalar_one()
    round_ = (
        await conn.execute(
            select(func.count())
            .select_from(tasks)
            .where(tasks.c.plan_id == case_id, tasks.c.step == step)
        )
    ).scalar_one()
    task_id = new_id()
    await conn.execute(
        insert(tasks).values(
            id=task_id,
            plan_id=case_id,
            seq=seq,
            step=step,
            agency=body,
            title=title,
            description=clause,
            due_date=None,
            beneficiary_iins=iins,
            state=flow.initial_state,
            round=round_,
            created_at=now,
            updated_at=now,
        )
    )
    await deadline_store.open_deadline(conn, term, plan_id=case_id, task_id=task_id)
    await timeline.record(
        conn,
        plan_id=case_id,
        task_id=task_id,
        at=now,
        actor=actor,
        type="step_assigned",
        to_state=flow.initial_state,
        data={
            "step": step,
            "clause": clause,
            "body": body,
            "round": round_,
            "due_at": term.due_at.isoformat(),
        },
    )
    return task_id


def step_term(flow: Flow, clock: str, start: datetime, ctx: Context) -> rules.Deadline:
    return rules.term(DeadlineKind.step, flow.clock(clock), start, ctx.calendar)


async def load_case(conn: AsyncConnection, case_id: str, flows: tuple[str, ...]) -> Any:
    case = (
        await conn.execute(select(plans).where(plans.c.id == case_id).with_for_update())
    ).first()
    if case is None or case.flow not in flows:
        raise NotFound(f"no case with id '{case_id}'")
    return case


async def open_task_of(conn: AsyncConnection, case: Any, step: str, *, body: str | None) -> Any:
    """The open visit of `step`, checked to be `body`'s (None: anyone, e.g. an admin)."""
    if case.status != PlanStatus.active.value:
        raise Conflict(f"the case is {case.status}")
    task = (
        await conn.execute(
            select(tasks)
            .where(tasks.c.plan_id == case.id, tasks.c.step == step, tasks.c.state == "created")
            .order_by(tasks.c.seq.desc())
        )
    ).first()
    if task is None:
        raise Conflict(f"the case has no open step '{step}'")
    if body is not None and task.agency != body:
        raise Forbidden(f"step {step} of this case belongs to '{task.agency}', not '{body}'")
    return task


async def close_step(
    conn: AsyncConnection,
    flow: Flow,
    task: Any,
    event: str,
    *,
    actor: str,
    reason: str | None,
    data: dict[str, Any],
    now: datetime,
) -> str:
    """The owner's decision on the step: its state moves, its term stops, the timeline says."""
    try:
        to_state = flow.next_state(task.state, event)
    except InvalidTransition as error:
        raise Conflict(str(error)) from None
    await conn.execute(
        update(tasks)
        .where(tasks.c.id == task.id)
        .values(state=to_state, updated_at=now, reported_at=now, last_comment=reason)
    )
    await deadline_store.meet(conn, task_id=task.id, kinds=(DeadlineKind.step,), at=now)
    await timeline.record(
        conn,
        plan_id=task.plan_id,
        task_id=task.id,
        at=now,
        actor=actor,
        type="step_decided",
        from_state=task.state,
        to_state=to_state,
        reason=reason,
        data={"step": task.step, "decision": event, **data},
    )
    return to_state


async def close_case(
    conn: AsyncConnection, case_id: str, *, refused: bool, reason: str | None, now: datetime
) -> None:
    values: dict[str, Any] = (
        dict(status=PlanStatus.cancelled.value, cancelled_at=now, cancel_reason=reason)
        if refused
        else dict(status=PlanStatus.completed.value, completed_at=now)
    )
    await conn.execute(update(plans).where(plans.c.id == case_id).values(**values))
    await timeline.record(
        conn,
        plan_id=case_id,
        at=now,
        actor=GATEWAY_ACTOR,
        type="case_refused" if refused else "case_completed",
        to_state=values["status"],
        reason=reason,
    )


async def set_document(conn: AsyncConnection, case_id: str, document: dict[str, Any]) -> None:
    await conn.execute(update(plans).where(plans.c.id == case_id).values(family=document))
