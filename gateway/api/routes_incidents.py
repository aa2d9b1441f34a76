"""Dead-lettered deliveries over the API: an operator's (admin) or a centre's system view.

The same rules as the head's page (gateway.services.incidents): a replay sends the message
again through the outbox under a new message id and resolves the incident in the same
transaction, so a second replay is refused with 409 and nothing is sent twice.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Body, Path, Query
from pydantic import BaseModel, Field

from gateway.api.deps import CallerDep, State
from gateway.api.openapi import problem_responses
from gateway.services import incidents, timeline

router = APIRouter(prefix="/api/v1/incidents", tags=["incidents"])


class IncidentOut(BaseModel):
    id: int
    at: datetime
    queue: str = Field(description="The dead queue the message landed in.")
    message_type: str | None
    agency: str | None
    centre: str | None
    task_id: str | None
    plan_id: str | None
    task_state: str | None
    error: str = Field(description="Why the broker dead-lettered it, as the broker said.")
    resolved_at: datetime | None
    resolved_by: str | None
    resolution: str | None
    replayable: bool = Field(description="Whether a replay would be accepted now.")


class IncidentDetailOut(IncidentOut):
    message_id: str | None
    routing_key: str | None
    body: str = Field(description="The dead-lettered message, as it arrived.")


class ReplayOut(BaseModel):
    incident_id: int
    message_id: str = Field(description="The new message id the body receives.")
    task_id: str
    plan_id: str
    task_state: str


class ResolveIn(BaseModel):
    reason: str = Field(min_length=1, max_length=2000, description="Why no replay is needed.")


def _out(view: incidents.IncidentView) -> IncidentOut:
    return IncidentOut.model_validate(view, from_attributes=True)


_SEEN = "Neither an admin's nor a centre's credential."

# The store's integer key: a larger number is refused as input (422), not sent to SQL.
IncidentId = Annotated[int, Path(ge=1, le=2**31 - 1, description="The incident's number.")]


@router.get(
    "",
    response_model=list[IncidentOut],
    responses=problem_responses(403, notes={403: _SEEN}),
)
async def list_incidents(
    state: State,
    caller: CallerDep,
    include_resolved: Annotated[bool, Query(description="Also the resolved ones.")] = False,
) -> list[IncidentOut]:
    async with state.engine.begin() as conn:
        found = await incidents.list_incidents(conn, caller, include_resolved=include_resolved)
        await timeline.record_access(
            conn, client_id=caller.client_id, action="list_incidents", at=state.clock.now()
        )
    return [_out(view) for view in found]


@router.get(
    "/{incident_id}",
    response_model=IncidentDetailOut,
    responses=problem_responses(403, 404, notes={403: _SEEN}),
)
async def show_incident(
    incident_id: IncidentId, state: State, caller: CallerDep
) -> IncidentDetailOut:
    async with state.engine.begin() as conn:
        detail = await incidents.show_incident(conn, incident_id, caller)
        await timeline.record_access(
            conn,
            client_id=caller.client_id,
            action="read_incident",
            at=state.clock.now(),
            task_id=detail.incident.task_id,
        )
    return IncidentDetailOut(
        **_out(detail.incident).model_dump(),
        message_id=detail.message_id,
        routing_key=detail.routing_key,
        body=detail.body,
    )


@router.post(
    "/{incident_id}/replay",
    response_model=ReplayOut,
    responses=problem_responses(
        403,
        404,
        409,
        notes={409: "Already resolved, or the task or plan no longer fits a replay."},
    ),
)
async def replay_incident(incident_id: IncidentId, state: State, caller: CallerDep) -> ReplayOut:
    async with state.engine.begin() as conn:
        result = await incidents.replay_incident(
            conn, state.ctx, incident_id, caller, state.clock.now()
        )
    state.on_outbox_write()
    return ReplayOut(
        incident_id=result.incident_id,
        message_id=result.message_id,
        task_id=result.task_id,
        plan_id=result.plan_id,
        task_state=result.task_state.value,
    )


@router.post(
    "/{incident_id}/resolve",
    response_model=IncidentOut,
    responses=problem_responses(403, 404, 409, 422, notes={409: "Already resolved."}),
)
async def resolve_incident(
    incident_id: IncidentId, body: Annotated[ResolveIn, Body()], state: State, caller: CallerDep
) -> IncidentOut:
    async with state.engine.begin() as conn:
        view = await incidents.resolve_incident(
            conn, incident_id, caller, body.reason, state.clock.now()
        )
    return _out(view)
