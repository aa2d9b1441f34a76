"""Plans: submit, read, list, review a task, cancel (the centre's side)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Header, Query, Response, status

from contracts.common import AgencyCode, CentreCode
from contracts.plans import (
    CancelIn,
    CloseIn,
    PlanPage,
    PlanStatus,
    PlanSubmission,
    PlanView,
    RerouteIn,
    ReviewIn,
    TaskView,
)
from gateway.api import examples
from gateway.api.deps import CallerDep, State
from gateway.api.openapi import problem_responses
from gateway.api.params import page_limit, page_offset
from gateway.auth import administers_only
from gateway.errors import InvalidInput
from gateway.services import plans as plan_service
from gateway.services import queries, rerouting, tasks, timeline

router = APIRouter(prefix="/api/v1/plans", tags=["plans"])

IdempotencyKey = Annotated[
    str | None,
    Header(
        max_length=200,
        description=(
            "Repeat a submit with the same key and the same body: "
            "you get the same plan back, never a second one."
        ),
    ),
]


_LOCATION = {"Location": {"description": "The plan's URL.", "schema": {"type": "string"}}}


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=PlanView,
    responses={
        201: {"description": "The plan, its tasks and their deadlines.", "headers": _LOCATION},
        200: {
            "description": "A retried submit: the plan created by the first one.",
            "headers": _LOCATION,
        },
        **problem_responses(
            403,
            409,
            notes={
                403: "Not a centre's credential, another centre's plan, or a centre that "
                "is not (or no longer) in the register of centres: nothing is written.",
                409: "This Idempotency-Key was already used for a different plan.",
            },
        ),
    },
)
async def submit_plan(
    submission: Annotated[PlanSubmission, Body(openapi_examples=examples.SUBMIT)],
    state: State,
    caller: CallerDep,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> PlanView:
    administers_only(caller)
    now = state.clock.now()
    # Group commit: written in one transaction with the submits arriving meanwhile, and
    # answered from what was written once that transaction has committed.
    result, view = await state.submit_group().submit(
        submission, caller, idempotency_key=idempotency_key, now=now
    )
    if not result.created:
        response.status_code = status.HTTP_200_OK
    response.headers["Location"] = f"/api/v1/plans/{result.plan_id}"
    return view


@router.get(
    "",
    response_model=PlanPage,
    responses=problem_responses(
        403, notes={403: "An agency's credential, or another centre named in `centre`."}
    ),
)
async def list_plans(
    state: State,
    caller: CallerDep,
    centre: Annotated[
        CentreCode | None,
        Query(description="Only this centre's plans (a centre's key may name only its own)."),
    ] = None,
    status_: Annotated[PlanStatus | None, Query(alias="status")] = None,
    agency: Annotated[
        AgencyCode | None, Query(description="Only plans with a task for this body.")
    ] = None,
    overdue: bool | None = Query(
        None, description="Only plans with a deadline passed and not met (or, false, none)."
    ),
    limit: int = page_limit(50, 500),
    offset: int = page_offset(),
) -> PlanPage:
    if agency is not None and state.ctx.agencies.get(agency) is None:
        raise InvalidInput.field("agency", f"unknown agency '{agency}'")
    flt = queries.PlanFilter(centre, status_, agency, overdue, limit, offset)
    async with state.engine.begin() as conn:
        page = await queries.list_plans(conn, caller, flt, state.clock.now())
        await timeline.record_access(
            conn, client_id=caller.client_id, action="list_plans", at=state.clock.now()
        )
    return page


@router.get(
    "/{plan_id}",
    response_model=PlanView,
    responses=problem_responses(
        403, 404, notes={403: "Another centre's plan, or an agency's credential."}
    ),
)
async def read_plan(plan_id: str, state: State, caller: CallerDep) -> PlanView:
    now = state.clock.now()
    async with state.engine.begin() as conn:
        view = await queries.read_plan(conn, plan_id, caller, now)
        await timeline.record_access(
            conn, client_id=caller.client_id, action="read_plan", at=now, plan_id=plan_id
        )
    return view


@router.post(
    "/{plan_id}/tasks/{task_id}/review",
    response_model=TaskView,
    responses=problem_responses(
        403,
        404,
        409,
        notes={
            403: "Only the plan's own centre reviews (not an admin, not a body).",
            404: "No such plan, or the plan has no such task.",
            409: "The task is not `reported`: only a reported task is accepted or returned.",
        },
    ),
)
async def review_task(
    plan_id: str,
    task_id: str,
    review: Annotated[ReviewIn, Body(openapi_examples=examples.REVIEW)],
    state: State,
    caller: CallerDep,
) -> TaskView:
    now = state.clock.now()
    async with state.engine.begin() as conn:
        await tasks.review_task(
            conn,
            state.ctx,
            plan_id=plan_id,
            task_id=task_id,
            decision=review.decision,
            reason=review.reason,
            caller=caller,
            now=now,
        )
        view = await queries.read_task(conn, task_id, caller, now)
    state.on_outbox_write()
    return view


@router.post(
    "/{plan_id}/cancel",
    response_model=PlanView,
    responses=problem_responses(
        403,
        404,
        409,
        notes={
            403: "Another centre's plan, or an agency's credential.",
            409: "The plan is already completed or cancelled.",
        },
    ),
)
async def cancel_plan(
    plan_id: str,
    body: Annotated[CancelIn, Body(openapi_examples=examples.CANCEL)],
    state: State,
    caller: CallerDep,
) -> PlanView:
    administers_only(caller)
    now = state.clock.now()
    async with state.engine.begin() as conn:
        await plan_service.cancel_plan(conn, state.ctx, plan_id, body.reason, caller, now)
        view = await queries.read_plan(conn, plan_id, caller, now)
    state.on_outbox_write()
    return view


_REFUSED_NOTES = {
    403: "Only the plan's own centre re-routes or closes (not an admin, not a body).",
    404: "No such plan, or the plan has no such task.",
    409: ("The task is not `rejected_by_agency` or `failed`, or the plan is no longer active."),
}


@router.post(
    "/{plan_id}/tasks/{task_id}/reroute",
    response_model=PlanView,
    responses=problem_responses(403, 404, 409, notes=_REFUSED_NOTES),
    summary="Send a refused or undeliverable activity to the competent body",
)
async def reroute_task(
    plan_id: str,
    task_id: str,
    body: Annotated[RerouteIn, Body(openapi_examples=examples.REROUTE)],
    state: State,
    caller: CallerDep,
) -> PlanView:
    """The old task becomes `rerouted`; a new task for `agency` goes out through the outbox
    with its own routing clock (p.9). 422 names `agency` when it is unknown, not
    connected, or the body the activity is already with."""
    now = state.clock.now()
    async with state.engine.begin() as conn:
        await rerouting.reroute_task(
            conn,
            state.ctx,
            plan_id=plan_id,
            task_id=task_id,
            agency=body.agency,
            reason=body.reason,
            due_date=body.due_date,
            caller=caller,
            now=now,
        )
        view = await queries.read_plan(conn, plan_id, caller, now)
    state.on_outbox_write()
    return view


@router.post(
    "/{plan_id}/tasks/{task_id}/close",
    response_model=PlanView,
    responses=problem_responses(403, 404, 409, notes=_REFUSED_NOTES),
    summary="Close a refused or undeliverable activity with a reason",
)
async def close_task(
    plan_id: str,
    task_id: str,
    body: Annotated[CloseIn, Body(openapi_examples=examples.CLOSE)],
    state: State,
    caller: CallerDep,
) -> PlanView:
    """The task becomes `closed`; the plan completes when every other activity is settled."""
    now = state.clock.now()
    async with state.engine.begin() as conn:
        await rerouting.close_task(
            conn,
            state.ctx,
            plan_id=plan_id,
            task_id=task_id,
            reason=body.reason,
            caller=caller,
            now=now,
        )
        view = await queries.read_plan(conn, plan_id, caller, now)
    return view
