"""Reading plans and tasks back, with each deadline's standing at this moment."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import exists, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from contracts.clock import to_almaty
from contracts.plans import (
    DeadlineKind,
    DeadlineView,
    EventView,
    Family,
    PlanPage,
    PlanStatus,
    PlanSummary,
    PlanView,
    TaskState,
    TaskView,
)
from gateway.auth import Caller, ClientKind
from gateway.domain.deadlines import state_at
from gateway.errors import Forbidden, NotFound
from gateway.services.plans import IPR_FLOW, IPR_STEP, WrittenPlan, load_plan_for
from gateway.store.tables import deadlines, events, plans, tasks


def local(moment: datetime | None) -> datetime | None:
    """Times go out in Asia/Almaty: the centres read deadlines as local dates."""
    return None if moment is None else to_almaty(moment)


def deadline_view(row: Any, now: datetime) -> DeadlineView:
    return DeadlineView(
        kind=DeadlineKind(row.kind),
        round=row.round,
        starts_at=to_almaty(row.starts_at),
        warn_at=to_almaty(row.warn_at),
        due_at=to_almaty(row.due_at),
        met_at=local(row.met_at),
        state=state_at(row.warn_at, row.due_at, row.met_at, now),
    )


async def read_timeline(conn: AsyncConnection, case_id: str) -> list[EventView]:
    """A case's timeline, oldest first, in Almaty time (plans and chain cases alike)."""
    return [
        EventView(
            at=to_almaty(row.at),
            actor=row.actor,
            type=row.type,
            task_id=row.task_id,
            from_state=row.from_state,
            to_state=row.to_state,
            reason=row.reason,
            data=row.data,
        )
        for row in await conn.execute(
            select(events).where(events.c.plan_id == case_id).order_by(events.c.id)
        )
    ]


def _task_view(row: Any, task_deadlines: list[DeadlineView]) -> TaskView:
    return TaskView(
        id=row.id,
        seq=row.seq,
        agency=row.agency,
        title=row.title,
        description=row.description,
        due_date=row.due_date,
        beneficiary_iins=row.beneficiary_iins,
        state=TaskState(row.state),
        round=row.round,
        delivered_at=local(row.delivered_at),
        reported_at=local(row.reported_at),
        accepted_at=local(row.accepted_at),
        last_comment=row.last_comment,
        last_reason=row.last_reason,
        deadlines=task_deadlines,
    )


async def read_plan(conn: AsyncConnection, plan_id: str, caller: Caller, now: datetime) -> PlanView:
    plan = await load_plan_for(conn, plan_id, caller)
    task_rows = (
        await conn.execute(select(tasks).where(tasks.c.plan_id == plan_id).order_by(tasks.c.seq))
    ).all()
    by_task: dict[str | None, list[DeadlineView]] = defaultdict(list)
    for row in await conn.execute(
        select(deadlines).where(deadlines.c.plan_id == plan_id).order_by(deadlines.c.id)
    ):
        by_task[row.task_id].append(deadline_view(row, now))
    timeline = await read_timeline(conn, plan_id)
    return PlanView(
        id=plan.id,
        centre=plan.centre,
        external_id=plan.external_id,
        status=PlanStatus(plan.status),
        approved_at=to_almaty(plan.approved_at),
        created_at=to_almaty(plan.created_at),
        completed_at=local(plan.completed_at),
        cancelled_at=local(plan.cancelled_at),
        cancel_reason=plan.cancel_reason,
        family=Family.model_validate(plan.family),
        grounds=plan.grounds,
        tasks=[_task_view(t, by_task[t.id]) for t in task_rows],
        deadlines=by_task[None],
        timeline=timeline,
    )


#: A task's columns a submit leaves to their defaults.
_TASK_DEFAULTS: dict[str, Any] = dict(
    delivered_at=None, reported_at=None, accepted_at=None, last_comment=None, last_reason=None
)


def view_of_written(written: WrittenPlan, now: datetime) -> PlanView:
    """The plan as `read_plan` would show it right after its submit, from the rows the
    submit wrote: the answer to a submit needs no second trip to the store."""
    plan = written.plan
    by_task: dict[str | None, list[DeadlineView]] = defaultdict(list)
    for row in written.deadlines:
        by_task[row["task_id"]].append(deadline_view(SimpleNamespace(**row), now))
    return PlanView(
        id=plan["id"],
        centre=plan["centre"],
        external_id=plan["external_id"],
        status=PlanStatus(plan["status"]),
        approved_at=to_almaty(plan["approved_at"]),
        created_at=to_almaty(plan["created_at"]),
        completed_at=None,
        cancelled_at=None,
        cancel_reason=None,
        family=Family.model_validate(plan["family"]),
        grounds=plan["grounds"],
        tasks=[
            _task_view(SimpleNamespace(**{**_TASK_DEFAULTS, **t}), by_task[t["id"]])
            for t in sorted(written.tasks, key=lambda t: t["seq"])
        ],
        deadlines=by_task[None],
        timeline=[
            EventView(
                at=to_almaty(e["at"]),
                actor=e["actor"],
                type=e["type"],
                task_id=e["task_id"],
                from_state=e["from_state"],
                to_state=e["to_state"],
                reason=e["reason"],
                data=e["data"],
            )
            for e in written.events
        ],
    )


@dataclass(frozen=True)
class PlanFilter:
    centre: str | None = None
    status: PlanStatus | None = None
    agency: str | None = None
    overdue: bool | None = None
    limit: int = 50
    offset: int = 0


def _overdue_clause(now: datetime) -> Any:
    return exists().where(
        deadlines.c.plan_id == plans.c.id,
        deadlines.c.met_at.is_(None),
        deadlines.c.due_at < now,
    )


async def list_plans(
    conn: AsyncConnection, caller: Caller, flt: PlanFilter, now: datetime
) -> PlanPage:
    if caller.kind is ClientKind.agency:
        raise Forbidden("an agency's credential lists its tasks at /api/v1/tasks, not plans")
    query = select(plans.c.id).where(plans.c.flow == IPR_FLOW)
    if caller.kind is ClientKind.centre:
        if flt.centre and flt.centre != caller.scope:
            raise Forbidden("this credential sees its own centre's plans only")
        query = query.where(plans.c.centre == caller.scope)
    elif flt.centre:
        query = query.where(plans.c.centre == flt.centre)
    if flt.status:
        query = query.where(plans.c.status == flt.status.value)
    if flt.agency:
        query = query.where(
            exists().where(tasks.c.plan_id == plans.c.id, tasks.c.agency == flt.agency)
        )
    if flt.overdue is not None:
        clause = _overdue_clause(now)
        query = query.where(clause if flt.overdue else ~clause)

    total = (await conn.execute(select(func.count()).select_from(query.subquery()))).scalar_one()
    page = (
        query.add_columns(
            plans.c.centre,
            plans.c.external_id,
            plans.c.status,
            plans.c.approved_at,
            plans.c.created_at,
            plans.c.completed_at,
            _overdue_clause(now).label("overdue"),
        )
        .order_by(plans.c.created_at.desc(), plans.c.id.desc())
        .limit(flt.limit)
        .offset(flt.offset)
    )
    rows = (await conn.execute(page)).all()

    counts: dict[str, dict[str, int]] = defaultdict(dict)
    if rows:
        for plan_id, state, n in await conn.execute(
            select(tasks.c.plan_id, tasks.c.state, func.count())
            .where(tasks.c.plan_id.in_([r.id for r in rows]))
            .group_by(tasks.c.plan_id, tasks.c.state)
        ):
            counts[plan_id][state] = n
    items = [
        PlanSummary(
            id=r.id,
            centre=r.centre,
            external_id=r.external_id,
            status=PlanStatus(r.status),
            approved_at=to_almaty(r.approved_at),
            created_at=to_almaty(r.created_at),
            completed_at=local(r.completed_at),
            task_states=counts[r.id],
            overdue=bool(r.overdue),
        )
        for r in rows
    ]
    return PlanPage(items=items, total=total, limit=flt.limit, offset=flt.offset)


async def read_task(conn: AsyncConnection, task_id: str, caller: Caller, now: datetime) -> TaskView:
    row = (
        await conn.execute(
            select(tasks).where(tasks.c.id == task_id, tasks.c.step == IPR_STEP)
        )
    ).first()
    if row is None:
        raise NotFound(f"no task with id '{task_id}'")
    if caller.kind is ClientKind.agency:
        if not caller.may_act_for_agency(row.agency):
            raise Forbidden("this task belongs to another agency")
    else:
        await load_plan_for(conn, row.plan_id, caller)
    task_deadlines = [
        deadline_view(d, now)
        for d in await conn.execute(
            select(deadlines).where(deadlines.c.task_id == task_id).order_by(deadlines.c.id)
        )
    ]
    return _task_view(row, task_deadlines)


async def list_agency_tasks(
    conn: AsyncConnection, caller: Caller, state: TaskState | None, limit: int, offset: int
) -> list[TaskView]:
    if caller.kind is not ClientKind.agency:
        raise Forbidden("this list is for an agency's credential")
    query = select(tasks).where(tasks.c.agency == caller.scope, tasks.c.step == IPR_STEP)
    if state:
        query = query.where(tasks.c.state == state.value)
    rows = (
        await conn.execute(query.order_by(tasks.c.created_at).limit(limit).offset(offset))
    ).all()
    return [_task_view(r, []) for r in rows]
