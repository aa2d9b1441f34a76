"""Submitting and cancelling a plan.

A new plan is accepted only from a centre in the register (gateway/services/centres.py);
a retried submit of a plan already accepted still gets that plan, even once its centre
is closed, since nothing accepted is taken back.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from contracts.messages import (
    Beneficiary,
    MessageType,
    TaskAssigned,
    TaskAssignedEnvelope,
    TaskCancelled,
    TaskCancelledEnvelope,
)
from contracts.plans import ActivityIn, Member, PlanStatus, PlanSubmission, TaskState
from gateway.auth import Caller, ClientKind
from gateway.domain import deadlines as rules
from gateway.domain.task_lifecycle import TERMINAL, TaskEvent, next_state
from gateway.errors import Conflict, Forbidden, InvalidInput, NotFound
from gateway.ids import new_id, new_uuid
from gateway.services import centres, deadline_store, outbox, timeline
from gateway.services.context import Context
from gateway.store import bulk
from gateway.store.tables import deadlines, plans, tasks
from gateway.store.tables import outbox as outbox_table

CLOCK_SKEW = timedelta(minutes=5)

#: The ИПР's flow and its one step kind: each activity is a step owned by one body.
IPR_FLOW = "ipr"
IPR_STEP = "activity"


@dataclass(frozen=True)
class WrittenPlan:
    """The rows a submit wrote, in the order written: enough to answer the centre
    without reading them back (`queries.view_of_written`)."""

    plan: dict[str, Any]
    tasks: list[dict[str, Any]]
    deadlines: list[dict[str, Any]]
    events: list[dict[str, Any]]


@dataclass(frozen=True)
class SubmitResult:
    plan_id: str
    created: bool
    written: WrittenPlan | None = None
    """What was written, when `created`."""


def request_fingerprint(submission: PlanSubmission) -> str:
    return hashlib.sha256(submission.model_dump_json().encode()).hexdigest()


async def find_by_idempotency_key(
    conn: AsyncConnection, centre: str, key: str, fingerprint: str
) -> str | None:
    row = (
        await conn.execute(
            select(plans.c.id, plans.c.request_hash).where(
                plans.c.centre == centre, plans.c.idempotency_key == key
            )
        )
    ).first()
    if row is None:
        return None
    if row.request_hash != fingerprint:
        raise Conflict(
            "this Idempotency-Key was already used for a different plan; "
            "use a new key for a new plan"
        )
    return str(row.id)


def check_submission(
    ctx: Context, submission: PlanSubmission, caller: Caller, now: datetime
) -> None:
    if caller.kind not in (ClientKind.centre, ClientKind.admin):
        raise Forbidden("only a family support centre's system submits plans")
    if not caller.may_see_centre(submission.centre):
        raise Forbidden(f"this credential submits plans for centre '{caller.scope}' only")
    for index, activity in enumerate(submission.activities):
        reason = ctx.agencies.why_not_routable(activity.agency)
        if reason:
            raise InvalidInput.field(f"activities[{index}].agency", reason)
    if submission.approved_at > now + CLOCK_SKEW:
        raise InvalidInput.field("approved_at", "is in the future")


def beneficiaries(activity: ActivityIn, members: dict[str, Member]) -> list[Beneficiary]:
    """The task's copies of its members. Built without validating again: every value
    comes from the submission's members, which were validated when it was parsed, and a
    second check of each IIN was 2 % of the gateway's CPU at full load."""
    chosen = activity.beneficiary_iins or list(members)
    return [
        Beneficiary.model_construct(
            iin=iin,
            last_name=members[iin].last_name,
            first_name=members[iin].first_name,
            middle_name=members[iin].middle_name,
        )
        for iin in chosen
    ]


async def submit_plan(
    conn: AsyncConnection,
    ctx: Context,
    submission: PlanSubmission,
    caller: Caller,
    *,
    idempotency_key: str | None,
    now: datetime,
) -> SubmitResult:
    check_submission(ctx, submission, caller, now)
    fingerprint = request_fingerprint(submission)
    if idempotency_key:
        existing = await find_by_idempotency_key(
            conn, submission.centre, idempotency_key, fingerprint
        )
        if existing:
            return SubmitResult(existing, created=False)
    await centres.require_open(conn, submission.centre)
    prepared = prepare_plan(
        ctx, submission, caller, idempotency_key=idempotency_key, fingerprint=fingerprint, now=now
    )
    await write_plans(conn, [prepared])
    return SubmitResult(prepared.plan["id"], created=True, written=prepared.written)


@dataclass(frozen=True)
class PreparedPlan:
    """Every row one submit writes, built without the store (`prepare_plan`)."""

    written: WrittenPlan
    messages: list[dict[str, Any]]

    @property
    def plan(self) -> dict[str, Any]:
        return self.written.plan


def prepare_plan(
    ctx: Context,
    submission: PlanSubmission,
    caller: Caller,
    *,
    idempotency_key: str | None,
    fingerprint: str,
    now: datetime,
) -> PreparedPlan:
    """The rows of a checked submission: the plan, its tasks, their clocks, the task
    messages for the outbox and the timeline, ready for `write_plans`."""
    plan_id = new_id()
    plan_row: dict[str, Any] = dict(
        id=plan_id,
        centre=submission.centre,
        external_id=submission.external_id,
        status=PlanStatus.active.value,
        approved_at=submission.approved_at,
        created_at=now,
        family=submission.family.model_dump(mode="json"),
        grounds=submission.grounds,
        created_by=caller.client_id,
        idempotency_key=idempotency_key,
        request_hash=fingerprint,
    )
    members = {m.iin: m for m in submission.family.members}
    routing = rules.routing(submission.approved_at, ctx.calendar)
    task_rows: list[dict[str, Any]] = []
    for seq, activity in enumerate(submission.activities, start=1):
        task_rows.append(
            dict(
                id=new_id(),
                plan_id=plan_id,
                seq=seq,
                agency=activity.agency,
                title=activity.title,
                description=activity.description,
                due_date=activity.due_date,
                beneficiary_iins=activity.beneficiary_iins,
                state=TaskState.created.value,
                round=0,
                created_at=now,
                updated_at=now,
            )
        )
    deadline_rows: list[dict[str, Any]] = []
    message_rows: list[dict[str, Any]] = []
    event_rows: list[dict[str, Any]] = [
        timeline.event_row(
            plan_id=plan_id,
            at=now,
            actor=caller.actor,
            type="plan_submitted",
            data={"activities": len(submission.activities)},
        )
    ]
    for row, activity in zip(task_rows, submission.activities, strict=True):
        task_id = row["id"]
        deadline_rows.append(deadline_store.deadline_row(routing, plan_id, task_id))
        if activity.due_date is not None:
            due = rules.due_date(submission.approved_at, activity.due_date, ctx.calendar)
            deadline_rows.append(deadline_store.deadline_row(due, plan_id, task_id))
        message_id = new_uuid()
        envelope = TaskAssignedEnvelope(
            message_id=message_id,
            correlation_id=plan_id,
            occurred_at=now,
            payload=TaskAssigned(
                task_id=task_id,
                plan_id=plan_id,
                centre=submission.centre,
                agency=activity.agency,
                title=activity.title,
                description=activity.description,
                due_date=activity.due_date,
                beneficiaries=beneficiaries(activity, members),
            ),
        )
        message_rows.append(
            outbox.message_row(
                envelope,
                message_id=str(message_id),
                message_type=MessageType.task_assigned,
                exchange=ctx.topology.tasks_exchange,
                routing_key=activity.agency,
                plan_id=plan_id,
                task_id=task_id,
                now=now,
            )
        )
        event_rows.append(
            timeline.event_row(
                plan_id=plan_id,
                task_id=task_id,
                at=now,
                actor=caller.actor,
                type="task_created",
                to_state=TaskState.created.value,
                data={"agency": activity.agency},
            )
        )
    return PreparedPlan(WrittenPlan(plan_row, task_rows, deadline_rows, event_rows), message_rows)


async def write_plans(conn: AsyncConnection, prepared: list[PreparedPlan]) -> None:
    """All the plans' rows whatever their number: on PostgreSQL one statement for every
    table (`bulk.insert_all`), with the outbox's notification; on SQLite one executemany
    a table. A group of sixteen plans of four activities once cost a hundred and twenty
    round trips, which bounded submits on PostgreSQL."""
    if not prepared:
        return
    events_written = [e for p in prepared for e in p.written.events]
    await bulk.insert_all(
        conn,
        [
            (plans, [p.plan for p in prepared]),
            (tasks, [t for p in prepared for t in p.written.tasks]),
            (deadlines, [d for p in prepared for d in p.written.deadlines]),
            (outbox_table, [m for p in prepared for m in p.messages]),
            *timeline.writes_of(events_written),
        ],
        notify=outbox.OUTBOX_CHANNEL,  # what `outbox.announce` sends, in the same round trip
    )


# Through the driver (gateway/store/bulk.py): once for every submit group.
_USED_KEYS = bulk.Statement(
    postgresql="SELECT id, centre, idempotency_key, request_hash FROM plans "
    "WHERE centre = ANY($1::varchar[]) AND idempotency_key = ANY($2::varchar[])",
    sqlite="SELECT id, centre, idempotency_key, request_hash FROM plans "
    "WHERE centre IN (SELECT value FROM json_each(?1)) "
    "AND idempotency_key IN (SELECT value FROM json_each(?2))",
)


async def find_by_idempotency_keys(
    conn: AsyncConnection, centre_keys: list[tuple[str, str]]
) -> dict[tuple[str, str], tuple[str, str]]:
    """(centre, key) -> (plan id, request hash) for the keys already used, in one query."""
    if not centre_keys:
        return {}
    codes = sorted({centre for centre, _ in centre_keys})
    keys = sorted({key for _, key in centre_keys})
    rows = await bulk.fetch(conn, _USED_KEYS, (bulk.array(conn, codes), bulk.array(conn, keys)))
    wanted = set(centre_keys)
    return {
        (centre, key): (str(plan_id), str(request_hash))
        for plan_id, centre, key, request_hash in rows
        if (centre, key) in wanted
    }


async def load_plan_for(conn: AsyncConnection, plan_id: str, caller: Caller) -> Any:
    """The plan's row, or NotFound/Forbidden for this caller."""
    row = (
        await conn.execute(select(plans).where(plans.c.id == plan_id, plans.c.flow == IPR_FLOW))
    ).first()
    if row is None:
        raise NotFound(f"no plan with id '{plan_id}'")
    if not caller.may_see_centre(row.centre):
        raise Forbidden("this plan belongs to another centre")
    return row


async def cancel_plan(
    conn: AsyncConnection, ctx: Context, plan_id: str, reason: str, caller: Caller, now: datetime
) -> None:
    plan = await load_plan_for(conn, plan_id, caller)
    if plan.status != PlanStatus.active.value:
        raise Conflict(f"the plan is {plan.status}; only an active plan can be cancelled")
    await conn.execute(
        update(plans)
        .where(plans.c.id == plan_id)
        .values(status=PlanStatus.cancelled.value, cancelled_at=now, cancel_reason=reason)
    )
    open_tasks = (
        await conn.execute(
            select(tasks.c.id, tasks.c.state, tasks.c.agency).where(
                tasks.c.plan_id == plan_id, tasks.c.state.not_in([s.value for s in TERMINAL])
            )
        )
    ).all()
    for task in open_tasks:
        to_state = next_state(TaskState(task.state), TaskEvent.cancelled)
        await conn.execute(
            update(tasks).where(tasks.c.id == task.id).values(state=to_state.value, updated_at=now)
        )
        await timeline.record(
            conn,
            plan_id=plan_id,
            task_id=task.id,
            at=now,
            actor=caller.actor,
            type="task_cancelled",
            from_state=task.state,
            to_state=to_state.value,
            reason=reason,
        )
        message_id = new_uuid()
        await outbox.enqueue(
            conn,
            TaskCancelledEnvelope(
                message_id=message_id,
                correlation_id=plan_id,
                occurred_at=now,
                payload=TaskCancelled(
                    task_id=task.id, plan_id=plan_id, agency=task.agency, reason=reason
                ),
            ),
            message_id=str(message_id),
            message_type=MessageType.task_cancelled,
            exchange=ctx.topology.tasks_exchange,
            routing_key=task.agency,
            plan_id=plan_id,
            task_id=task.id,
            now=now,
        )
    # The clocks of a withdrawn plan stop: nothing is owed on it any more.
    await conn.execute(
        update(deadlines)
        .where(deadlines.c.plan_id == plan_id, deadlines.c.met_at.is_(None))
        .values(met_at=now)
    )
    await timeline.record(
        conn, plan_id=plan_id, at=now, actor=caller.actor, type="plan_cancelled", reason=reason
    )
