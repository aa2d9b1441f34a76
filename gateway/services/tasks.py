"""What happens to a task when its body reports and when the centre reviews it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from contracts.clock import ALMATY
from contracts.messages import (
    MessageType,
    ReportStatus,
    StatusReport,
    TaskReturned,
    TaskReturnedEnvelope,
)
from contracts.plans import DeadlineKind, PlanStatus, ReviewDecision, TaskState
from gateway.auth import Caller
from gateway.domain import deadlines as rules
from gateway.domain.deadlines import Deadline
from gateway.domain.plan_lifecycle import is_complete
from gateway.domain.task_lifecycle import (
    InvalidTransition,
    TaskEvent,
    counts_as_delivered,
    is_noop,
    next_state,
)
from gateway.errors import Conflict, Forbidden, NotFound
from gateway.ids import new_uuid
from gateway.services import deadline_store, outbox, timeline
from gateway.services.context import Context
from gateway.services.plans import load_plan_for
from gateway.store.tables import inbox, plans, tasks

GATEWAY_ACTOR = "gateway"

_REPORT_EVENTS = {
    ReportStatus.received: TaskEvent.received,
    ReportStatus.in_progress: TaskEvent.in_progress,
    ReportStatus.done: TaskEvent.done,
    ReportStatus.rejected: TaskEvent.rejected,
}


async def claim_message(
    conn: AsyncConnection, message_id: str, consumer: str, now: datetime
) -> bool:
    """Record a message as handled; False when it was handled before (a redelivery).

    The insert runs in the consumer's transaction, so a crash before commit leaves no
    mark and the redelivered message is handled then.
    """
    exists = (
        await conn.execute(select(inbox.c.message_id).where(inbox.c.message_id == message_id))
    ).first()
    if exists:
        return False
    try:
        async with conn.begin_nested():
            await conn.execute(
                insert(inbox).values(message_id=message_id, consumer=consumer, received_at=now)
            )
    except IntegrityError:
        return False
    return True


async def _load_task(conn: AsyncConnection, task_id: str) -> Any:
    """The task's row, locked until commit: the collector handles many reports at once,
    and two reports on one task must not both read the same old state (PostgreSQL row
    lock; SQLite's single writer already serialises them)."""
    row = (await conn.execute(select(tasks).where(tasks.c.id == task_id).with_for_update())).first()
    if row is None:
        raise NotFound(f"no task with id '{task_id}'")
    return row


@dataclass
class ReportEffects:
    """What one report does to its task, decided without I/O.

    `changes` are the task's columns to write (empty: the row is not touched); the
    deadlines of the `meets` kinds are met at the report's time of receipt, the
    `opens` are started, the `events` go on the timeline in this order.
    """

    state: TaskState
    changes: dict[str, Any] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)
    meets: list[tuple[DeadlineKind, ...]] = field(default_factory=list)
    opens: list[Deadline] = field(default_factory=list)


def decide_report(
    task: Mapping[str, Any], ctx: Context, report: StatusReport, *, actor: str, now: datetime
) -> ReportEffects:
    """The effects of a body's report on a task as it stands; a report that does not fit
    is recorded and ignored. Pure, so the collector can decide a whole batch in memory."""
    state = TaskState(task["state"])
    event = _REPORT_EVENTS[report.status]
    base: dict[str, Any] = dict(plan_id=task["plan_id"], task_id=task["id"], at=now, actor=actor)
    data = {
        "status": report.status.value,
        "comment": report.comment,
        "reported_at": report.reported_at.isoformat(),
    }
    out = ReportEffects(state)

    if report.agency != task["agency"]:
        owner = task["agency"]
        out.events.append(
            timeline.event_row(
                **base,
                type="report_ignored",
                from_state=state.value,
                reason=f"report came from '{report.agency}', the task belongs to '{owner}'",
                data=data,
            )
        )
        return out

    changes: dict[str, Any] = {}
    if counts_as_delivered(event) and task["delivered_at"] is None:
        # The legal clock runs on the gateway's time of receipt: the body's own clock
        # is not ours to trust, and its `reported_at` stays on the timeline for reference.
        delivered_at = now
        changes["delivered_at"] = delivered_at
        out.meets.append((DeadlineKind.routing,))
        out.events.append(
            timeline.event_row(
                **base, type="task_delivered", data={"delivered_at": delivered_at.isoformat()}
            )
        )

    if is_noop(state, event):
        if changes:
            out.changes = {**changes, "updated_at": now}
        out.events.append(
            timeline.event_row(
                **base,
                type="agency_report",
                from_state=state.value,
                to_state=state.value,
                data=data,
            )
        )
        return out
    try:
        to_state = next_state(state, event)
    except InvalidTransition as error:
        out.events.append(
            timeline.event_row(
                **base,
                type="report_ignored",
                from_state=state.value,
                reason=str(error),
                data=data,
            )
        )
        if changes:
            out.changes = {**changes, "updated_at": now}
        return out

    if to_state is TaskState.reported:
        changes.update(reported_at=now, last_comment=report.comment)
        out.meets.append((DeadlineKind.due_date,))
    elif to_state is TaskState.rejected_by_agency:
        changes.update(last_reason=report.reason, last_comment=report.comment)
        out.meets.append((DeadlineKind.routing, DeadlineKind.due_date))
    elif report.comment:
        changes["last_comment"] = report.comment
    if rules.starts_review(to_state.value):
        # A fulfilment and a refusal alike are reports the centre must act on (p.11).
        out.opens.append(rules.review(now, ctx.calendar, task["round"]))

    out.state = to_state
    out.changes = {"state": to_state.value, "updated_at": now, **changes}
    out.events.append(
        timeline.event_row(
            **base,
            type="agency_report",
            from_state=state.value,
            to_state=to_state.value,
            reason=report.reason,
            data=data,
        )
    )
    return out


async def apply_report(
    conn: AsyncConnection, ctx: Context, report: StatusReport, *, actor: str, now: datetime
) -> TaskState:
    """Apply a body's report; a report that does not fit is recorded and ignored."""
    task = await _load_task(conn, report.task_id)
    effects = decide_report(task._mapping, ctx, report, actor=actor, now=now)
    for kinds in effects.meets:
        await deadline_store.meet(conn, task_id=task.id, kinds=kinds, at=now)
    for deadline in effects.opens:
        await deadline_store.open_deadline(conn, deadline, plan_id=task.plan_id, task_id=task.id)
    if effects.changes:
        await conn.execute(update(tasks).where(tasks.c.id == task.id).values(**effects.changes))
    await timeline.record_many(conn, effects.events)
    return effects.state


async def review_task(
    conn: AsyncConnection,
    ctx: Context,
    *,
    plan_id: str,
    task_id: str,
    decision: ReviewDecision,
    reason: str | None,
    caller: Caller,
    now: datetime,
) -> TaskState:
    """The centre marks a reported activity: accepted, or returned for rework (p.11)."""
    plan = await load_plan_for(conn, plan_id, caller)
    if caller.scope is None or caller.scope != plan.centre:
        raise Forbidden("only the plan's own centre reviews its reports")
    task = await _load_task(conn, task_id)
    if task.plan_id != plan_id:
        raise NotFound(f"the plan has no task with id '{task_id}'")
    state = TaskState(task.state)
    event = TaskEvent.accepted if decision is ReviewDecision.accept else TaskEvent.returned
    try:
        to_state = next_state(state, event)
    except InvalidTransition as error:
        raise Conflict(f"{error}; only a reported task can be accepted or returned") from None

    await deadline_store.meet(conn, task_id=task.id, kinds=(DeadlineKind.review,), at=now)
    values: dict[str, Any] = dict(state=to_state.value, updated_at=now)
    if to_state is TaskState.accepted:
        values["accepted_at"] = now
    else:
        values.update(round=task.round + 1, last_reason=reason)
        message_id = new_uuid()
        await outbox.enqueue(
            conn,
            TaskReturnedEnvelope(
                message_id=message_id,
                correlation_id=plan_id,
                occurred_at=now,
                payload=TaskReturned(
                    task_id=task.id,
                    plan_id=plan_id,
                    agency=task.agency,
                    round=task.round + 1,
                    reason=reason or "",
                ),
            ),
            message_id=str(message_id),
            message_type=MessageType.task_returned,
            exchange=ctx.topology.tasks_exchange,
            routing_key=task.agency,
            plan_id=plan_id,
            task_id=task.id,
            now=now,
        )
    await conn.execute(update(tasks).where(tasks.c.id == task.id).values(**values))
    await timeline.record(
        conn,
        plan_id=plan_id,
        task_id=task.id,
        at=now,
        actor=caller.actor,
        type="task_accepted" if to_state is TaskState.accepted else "task_returned",
        from_state=state.value,
        to_state=to_state.value,
        reason=reason,
    )
    if to_state is TaskState.accepted:
        await complete_if_done(conn, ctx, plan_id, now)
    return to_state


async def complete_if_done(
    conn: AsyncConnection, ctx: Context, plan_id: str, now: datetime
) -> bool:
    """Mark the plan completed at once when its last activity is accepted (p.12).

    The law gives the centre one working day; the gateway does it in the same
    transaction, and records the completion clock as met at that moment.
    """
    states = (await conn.execute(select(tasks.c.state).where(tasks.c.plan_id == plan_id))).scalars()
    if not is_complete(TaskState(s) for s in states):
        return False
    await conn.execute(
        update(plans)
        .where(plans.c.id == plan_id, plans.c.status == PlanStatus.active.value)
        .values(status=PlanStatus.completed.value, completed_at=now)
    )
    clock = rules.completion(now, ctx.calendar)
    await deadline_store.open_deadline(conn, clock, plan_id=plan_id, task_id=None, met_at=now)
    await timeline.record(
        conn,
        plan_id=plan_id,
        at=now,
        actor=GATEWAY_ACTOR,
        type="plan_completed",
        to_state=PlanStatus.completed.value,
        data={"completed_on": now.astimezone(ALMATY).date().isoformat()},
    )
    return True
