"""The centre's way out of a refused or undeliverable activity (order 192 p.9, p.11).

A body that says an activity is not its competence (`rejected_by_agency`), or a body whose
system never took the task (`failed`), leaves the plan unable to complete. The centre acts
on it within its review term, in one of two ways:

- re-route: the activity goes to the competent body as a new task of the same plan (a new
  `task.assigned` through the outbox, its own routing clock from the centre's decision,
  since sending within two working days is the centre's duty, p.9); the old task becomes
  `rerouted` and both are linked on the timeline;
- close: the activity ends without being done, with the centre's reason (`closed`).

Either way the review clock started by the refusal is met, and the plan completes once
every other activity is settled. Only the plan's own centre may do this, as for review.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from contracts.messages import MessageType, TaskAssigned, TaskAssignedEnvelope
from contracts.plans import ActivityIn, Member, PlanStatus, TaskState
from gateway.auth import Caller
from gateway.domain import deadlines as rules
from gateway.domain.task_lifecycle import InvalidTransition, TaskEvent, next_state
from gateway.errors import Conflict, Forbidden, InvalidInput, NotFound
from gateway.ids import new_id, new_uuid
from gateway.services import deadline_store, outbox, timeline
from gateway.services.context import Context
from gateway.services.plans import beneficiaries, load_plan_for
from gateway.services.tasks import complete_if_done
from gateway.store.tables import deadlines, tasks


async def _refused_task(
    conn: AsyncConnection, plan_id: str, task_id: str, caller: Caller, event: TaskEvent
) -> tuple[Any, Any, TaskState]:
    """The plan, the task (locked) and the state the event moves it to, or the refusal."""
    plan = await load_plan_for(conn, plan_id, caller)
    if caller.scope is None or caller.scope != plan.centre:
        raise Forbidden("only the plan's own centre re-routes or closes its activities")
    if plan.status != PlanStatus.active.value:
        raise Conflict(f"the plan is {plan.status}; only an active plan's activities change")
    task = (
        await conn.execute(select(tasks).where(tasks.c.id == task_id).with_for_update())
    ).first()
    if task is None or task.plan_id != plan_id:
        raise NotFound(f"the plan has no task with id '{task_id}'")
    try:
        to_state = next_state(TaskState(task.state), event)
    except InvalidTransition as error:
        raise Conflict(
            f"{error}; only an activity the body refused or that could not be delivered "
            "is re-routed or closed"
        ) from None
    return plan, task, to_state


async def _stop_clocks(conn: AsyncConnection, task_id: str, now: datetime) -> None:
    """Nothing more is owed on the old task: its open clocks stop now (a clock already
    past its due time stays a breach: it is judged by when it was met)."""
    await conn.execute(
        update(deadlines)
        .where(deadlines.c.task_id == task_id, deadlines.c.met_at.is_(None))
        .values(met_at=now)
    )


async def reroute_task(
    conn: AsyncConnection,
    ctx: Context,
    *,
    plan_id: str,
    task_id: str,
    agency: str,
    reason: str,
    due_date: date | None,
    caller: Caller,
    now: datetime,
) -> str:
    """Send the activity to `agency` as a new task; returns the new task's id."""
    plan, task, to_state = await _refused_task(conn, plan_id, task_id, caller, TaskEvent.rerouted)
    why_not = ctx.agencies.why_not_routable(agency)
    if why_not:
        raise InvalidInput.field("agency", why_not)
    if agency == task.agency:
        raise InvalidInput.field(
            "agency", f"'{agency}' is the body the activity is with; name the competent body"
        )
    await _stop_clocks(conn, task.id, now)
    await conn.execute(
        update(tasks)
        .where(tasks.c.id == task.id)
        .values(state=to_state.value, updated_at=now)  # the body's reason stays on it
    )
    seq = (
        await conn.execute(select(func.max(tasks.c.seq)).where(tasks.c.plan_id == plan_id))
    ).scalar_one()
    new_task_id = new_id()
    term = due_date if due_date is not None else task.due_date
    await conn.execute(
        insert(tasks).values(
            id=new_task_id,
            plan_id=plan_id,
            seq=int(seq or 0) + 1,
            agency=agency,
            title=task.title,
            description=task.description,
            due_date=term,
            beneficiary_iins=task.beneficiary_iins,
            state=TaskState.created.value,
            round=0,
            created_at=now,
            updated_at=now,
        )
    )
    await deadline_store.open_deadline(
        conn, rules.routing(now, ctx.calendar), plan_id=plan_id, task_id=new_task_id
    )
    if term is not None:
        await deadline_store.open_deadline(
            conn,
            rules.due_date(max(plan.approved_at, now), term, ctx.calendar),
            plan_id=plan_id,
            task_id=new_task_id,
        )
    members = {m["iin"]: Member.model_validate(m) for m in plan.family.get("members", [])}
    activity = ActivityIn(
        agency=agency,
        title=task.title,
        description=task.description,
        due_date=term,
        beneficiary_iins=list(task.beneficiary_iins or []),
    )
    message_id = new_uuid()
    await outbox.enqueue(
        conn,
        TaskAssignedEnvelope(
            message_id=message_id,
            correlation_id=plan_id,
            occurred_at=now,
            payload=TaskAssigned(
                task_id=new_task_id,
                plan_id=plan_id,
                centre=plan.centre,
                agency=agency,
                title=task.title,
                description=task.description,
                due_date=term,
                beneficiaries=beneficiaries(activity, members),
            ),
        ),
        message_id=str(message_id),
        message_type=MessageType.task_assigned,
        exchange=ctx.topology.tasks_exchange,
        routing_key=agency,
        plan_id=plan_id,
        task_id=new_task_id,
        now=now,
    )
    await timeline.record(
        conn,
        plan_id=plan_id,
        task_id=task.id,
        at=now,
        actor=caller.actor,
        type="task_rerouted",
        from_state=task.state,
        to_state=to_state.value,
        reason=reason,
        data={"from_agency": task.agency, "to_agency": agency, "new_task_id": new_task_id},
    )
    await timeline.record(
        conn,
        plan_id=plan_id,
        task_id=new_task_id,
        at=now,
        actor=caller.actor,
        type="task_created",
        to_state=TaskState.created.value,
        reason=reason,
        data={"agency": agency, "rerouted_from": task.id, "from_agency": task.agency},
    )
    return new_task_id


async def close_task(
    conn: AsyncConnection,
    ctx: Context,
    *,
    plan_id: str,
    task_id: str,
    reason: str,
    caller: Caller,
    now: datetime,
) -> bool:
    """Close the activity with the centre's reason; True when the plan completed with it."""
    _, task, to_state = await _refused_task(conn, plan_id, task_id, caller, TaskEvent.closed)
    await _stop_clocks(conn, task.id, now)
    await conn.execute(
        update(tasks).where(tasks.c.id == task.id).values(state=to_state.value, updated_at=now)
    )
    await timeline.record(
        conn,
        plan_id=plan_id,
        task_id=task.id,
        at=now,
        actor=caller.actor,
        type="task_closed",
        from_state=task.state,
        to_state=to_state.value,
        reason=reason,
        data={"agency": task.agency},
    )
    return await complete_if_done(conn, ctx, plan_id, now)
