"""Dead-lettered deliveries as a centre's head sees them, and sending one again.

A message lands in a dead queue when a body's system failed on it `delivery_limit` times
(an outage, a bug on their side). Once the body says it is fixed, the centre's head
replays it. The rules:

- only an unresolved incident about a task of the head's own centre, whose plan is
  still active, can be replayed;
- `task.assigned`: only while the task is `failed` (the body never took it); the task
  goes back to `created`, and the relay dispatches it again;
- `task.returned`: only while the task is still `returned` (the body has not answered);
- `task.cancelled`: only while the task is `cancelled`, so the body learns of it;
- the message goes out through the outbox with a new `message_id`, because the body's
  system has seen the old one and deduplicates on it; its content is unchanged;
- the incident is marked resolved in the same transaction, so a second click finds it
  resolved and changes nothing.

Status messages (body → gateway) and unreadable messages are not replayable: they are
the bodies' to resend.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy import Select, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from contracts.clock import to_almaty
from contracts.messages import (
    MessageType,
    TaskAssignedEnvelope,
    TaskCancelledEnvelope,
    TaskReturnedEnvelope,
)
from contracts.plans import PlanStatus, TaskState
from gateway.auth import Caller, ClientKind
from gateway.errors import Conflict, Forbidden, InvalidInput, NotFound
from gateway.ids import new_uuid
from gateway.services import outbox, timeline
from gateway.services.context import Context
from gateway.services.plans import load_plan_for
from gateway.store.tables import incidents, plans, tasks

_ENVELOPES: dict[str, type[BaseModel]] = {
    MessageType.task_assigned.value: TaskAssignedEnvelope,
    MessageType.task_returned.value: TaskReturnedEnvelope,
    MessageType.task_cancelled.value: TaskCancelledEnvelope,
}

# The task state in which re-sending each message type still makes sense.
_REPLAYABLE_IN: dict[str, TaskState] = {
    MessageType.task_assigned.value: TaskState.failed,
    MessageType.task_returned.value: TaskState.returned,
    MessageType.task_cancelled.value: TaskState.cancelled,
}


@dataclass(frozen=True)
class IncidentView:
    id: int
    at: datetime
    queue: str
    message_type: str | None
    agency: str | None
    task_id: str | None
    plan_id: str | None
    task_state: str | None
    error: str
    resolved_at: datetime | None
    replayable: bool
    centre: str | None = None
    resolved_by: str | None = None
    resolution: str | None = None


def _replayable(row: Any) -> bool:
    wanted = _REPLAYABLE_IN.get(row.message_type or "")
    plan_ok = row.plan_status == PlanStatus.active.value or (
        row.message_type == MessageType.task_cancelled.value
    )
    return (
        row.resolved_at is None
        and wanted is not None
        and row.task_state == wanted.value
        and plan_ok
    )


def _incident_query() -> Select[Any]:
    # Outer joins: an unreadable message names no task, and an operator still sees it.
    return (
        select(
            incidents,
            tasks.c.agency,
            tasks.c.plan_id,
            tasks.c.state.label("task_state"),
            plans.c.status.label("plan_status"),
            plans.c.centre,
        )
        .outerjoin(tasks, tasks.c.id == incidents.c.task_id)
        .outerjoin(plans, plans.c.id == tasks.c.plan_id)
    )


def _view(row: Any) -> IncidentView:
    return IncidentView(
        id=row.id,
        at=to_almaty(row.at),
        queue=row.queue,
        message_type=row.message_type,
        agency=row.agency,
        task_id=row.task_id,
        plan_id=row.plan_id,
        task_state=row.task_state,
        error=row.error,
        resolved_at=None if row.resolved_at is None else to_almaty(row.resolved_at),
        replayable=_replayable(row),
        centre=row.centre,
        resolved_by=row.resolved_by,
        resolution=row.resolution,
    )


def _scoped(query: Select[Any], caller: Caller) -> Select[Any]:
    """A centre sees the incidents about its own tasks; an operator (admin) sees all."""
    if caller.kind is ClientKind.admin:
        return query
    if caller.kind is not ClientKind.centre or caller.scope is None:
        raise Forbidden("incidents are seen by the centre whose tasks they are about, or an admin")
    return query.where(plans.c.centre == caller.scope)


async def list_incidents(
    conn: AsyncConnection, caller: Caller, *, include_resolved: bool = False, limit: int = 200
) -> list[IncidentView]:
    """The incidents the caller may see, newest first."""
    query = _scoped(_incident_query(), caller).order_by(incidents.c.id.desc()).limit(limit)
    if not include_resolved:
        query = query.where(incidents.c.resolved_at.is_(None))
    return [_view(row) for row in await conn.execute(query)]


@dataclass(frozen=True)
class IncidentDetail:
    incident: IncidentView
    message_id: str | None
    routing_key: str | None
    body: str


async def show_incident(conn: AsyncConnection, incident_id: int, caller: Caller) -> IncidentDetail:
    """One incident with the dead-lettered message as it arrived."""
    row = (
        await conn.execute(_scoped(_incident_query(), caller).where(incidents.c.id == incident_id))
    ).first()
    if row is None:
        # The same answer whether it does not exist or is another centre's: no probing.
        raise NotFound(f"no incident {incident_id}")
    return IncidentDetail(_view(row), row.message_id, row.routing_key, row.body)


async def resolve_incident(
    conn: AsyncConnection, incident_id: int, caller: Caller, reason: str, now: datetime
) -> IncidentView:
    """Close an incident without sending anything (the body resent it, or it is moot)."""
    reason = reason.strip()
    if not reason:
        raise InvalidInput.field("reason", "say why the incident is closed without a replay")
    detail = await show_incident(conn, incident_id, caller)
    if detail.incident.resolved_at is not None:
        raise Conflict("the incident is already resolved")
    await conn.execute(
        update(incidents)
        .where(incidents.c.id == incident_id)
        .values(resolved_at=now, resolved_by=caller.actor, resolution=reason)
    )
    if detail.incident.task_id is not None and detail.incident.plan_id is not None:
        await timeline.record(
            conn,
            plan_id=detail.incident.plan_id,
            task_id=detail.incident.task_id,
            at=now,
            actor=caller.actor,
            type="incident_resolved",
            from_state=detail.incident.task_state,
            to_state=detail.incident.task_state,
            data={"incident": incident_id, "reason": reason},
        )
    return (await show_incident(conn, incident_id, caller)).incident


@dataclass(frozen=True)
class ReplayResult:
    incident_id: int
    message_id: str
    task_id: str
    plan_id: str
    task_state: TaskState


async def replay_incident(
    conn: AsyncConnection, ctx: Context, incident_id: int, caller: Caller, now: datetime
) -> ReplayResult:
    """Send a dead-lettered task message again (see the module's rules).

    Whether the caller may replay at all (a centre's head) is the web layer's check; this
    use case checks that the incident is the caller's centre's and that it still fits.
    """
    incident = (
        await conn.execute(select(incidents).where(incidents.c.id == incident_id).with_for_update())
    ).first()
    if incident is None:
        raise NotFound(f"no incident {incident_id}")
    if incident.task_id is None:
        raise Conflict("this incident is not about a task; there is nothing to send again")
    task = (
        await conn.execute(select(tasks).where(tasks.c.id == incident.task_id).with_for_update())
    ).first()
    if task is None:
        raise Conflict("the incident names a task the store does not have")
    plan = await load_plan_for(conn, task.plan_id, caller)
    if caller.kind is not ClientKind.admin and caller.scope != plan.centre:
        raise Forbidden("only the plan's own centre, or an operator, replays its deliveries")
    if incident.resolved_at is not None:
        raise Conflict("the incident is already resolved")
    message_type = incident.message_type or ""
    envelope_type = _ENVELOPES.get(message_type)
    wanted = _REPLAYABLE_IN.get(message_type)
    if envelope_type is None or wanted is None:
        raise Conflict(f"a '{message_type or 'unknown'}' message is not replayed by the gateway")
    if message_type != MessageType.task_cancelled.value and plan.status != PlanStatus.active.value:
        raise Conflict(f"the plan is {plan.status}; its tasks are not sent any more")
    if task.state != wanted.value:
        raise Conflict(
            f"the task is {task.state}; a {message_type} message is replayed "
            f"only while it is {wanted.value}"
        )
    try:
        envelope = envelope_type.model_validate_json(incident.body)
    except ValidationError:
        raise Conflict(
            "the dead-lettered message cannot be read; it cannot be sent again"
        ) from None

    message_id = new_uuid()
    fresh = envelope.model_copy(update={"message_id": message_id, "sent_at": None})
    await outbox.enqueue(
        conn,
        fresh,
        message_id=str(message_id),
        message_type=message_type,
        exchange=ctx.topology.tasks_exchange,
        routing_key=task.agency,
        plan_id=task.plan_id,
        task_id=task.id,
        now=now,
    )
    to_state = TaskState(task.state)
    if message_type == MessageType.task_assigned.value:
        # The body never took the task: it starts its way to the body again. The routing
        # clock is not restarted; a breach that happened stays on record.
        to_state = TaskState.created
        await conn.execute(
            update(tasks).where(tasks.c.id == task.id).values(state=to_state.value, updated_at=now)
        )
    await conn.execute(
        update(incidents)
        .where(incidents.c.id == incident_id)
        .values(resolved_at=now, resolved_by=caller.actor, resolution="replayed")
    )
    await timeline.record(
        conn,
        plan_id=task.plan_id,
        task_id=task.id,
        at=now,
        actor=caller.actor,
        type="delivery_replayed",
        from_state=task.state,
        to_state=to_state.value,
        data={"incident": incident_id, "message_type": message_type, "message_id": str(message_id)},
    )
    return ReplayResult(incident_id, str(message_id), task.id, task.plan_id, to_state)
