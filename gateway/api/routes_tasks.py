"""Tasks: an agency reads its tasks and reports on them over REST."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query, status

from contracts.messages import StatusReport, StatusReportIn
from contracts.plans import TaskState, TaskView
from gateway.api import examples
from gateway.api.deps import CallerDep, State
from gateway.api.openapi import problem_responses
from gateway.api.params import page_limit, page_offset
from gateway.auth import ClientKind
from gateway.errors import Forbidden
from gateway.services import queries, tasks, timeline

router = APIRouter(prefix="/api/v1/tasks", tags=["tasks"])


@router.get(
    "",
    response_model=list[TaskView],
    responses=problem_responses(403, notes={403: "Not an agency's credential."}),
)
async def list_tasks(
    state: State,
    caller: CallerDep,
    state_: TaskState | None = Query(None, alias="state"),
    limit: int = page_limit(100, 1000),
    offset: int = page_offset(),
) -> list[TaskView]:
    async with state.engine.begin() as conn:
        found = await queries.list_agency_tasks(conn, caller, state_, limit, offset)
        await timeline.record_access(
            conn, client_id=caller.client_id, action="list_tasks", at=state.clock.now()
        )
    return found


@router.get(
    "/{task_id}",
    response_model=TaskView,
    responses=problem_responses(
        403, 404, notes={403: "Another agency's task, or a plan of another centre."}
    ),
)
async def read_task(task_id: str, state: State, caller: CallerDep) -> TaskView:
    now = state.clock.now()
    async with state.engine.begin() as conn:
        view = await queries.read_task(conn, task_id, caller, now)
        await timeline.record_access(
            conn, client_id=caller.client_id, action="read_task", at=now, task_id=task_id
        )
    return view


@router.post(
    "/{task_id}/reports",
    response_model=TaskView,
    status_code=status.HTTP_202_ACCEPTED,
    responses={
        202: {
            "description": (
                "The report is recorded; the task as it now stands. A report that does not fit "
                "the task's state (stale, repeated) is recorded on the timeline as ignored."
            )
        },
        **problem_responses(
            403, 404, notes={403: "Not an agency's credential, or another agency's task."}
        ),
    },
)
async def report(
    task_id: str,
    body: Annotated[StatusReportIn, Body(openapi_examples=examples.REPORT)],
    state: State,
    caller: CallerDep,
) -> TaskView:
    """The REST path for a body that does not use AMQP; same rules as a status message."""
    if caller.kind is not ClientKind.agency or caller.scope is None:
        raise Forbidden("only an agency's credential reports on tasks")
    now = state.clock.now()
    async with state.engine.begin() as conn:
        current = await queries.read_task(conn, task_id, caller, now)
        fresh = body.message_id is None or await tasks.claim_message(
            conn, str(body.message_id), "rest", now
        )
        if fresh:
            await tasks.apply_report(
                conn,
                state.ctx,
                StatusReport(
                    task_id=task_id,
                    agency=caller.scope,
                    status=body.status,
                    comment=body.comment,
                    reason=body.reason,
                    reported_at=now,
                ),
                actor=caller.actor,
                now=now,
            )
            current = await queries.read_task(conn, task_id, caller, now)
    return current
