"""Cases of signed hand-overs: the kandas application (order 170 p.6–31) over HTTP.

A career centre's system opens an application; each body's system reads its inbox and
hands its step on, back or out with a signed decision. The same decision can arrive over
AMQP (`case.decision` on the status exchange) and from a staff page; all three go through
`gateway.services.cases.decide`.

A body's system authenticates with its agency-kind key, scoped to its body code (the
code names its kind and region, e.g. `cc_turkestan`; the agency registry gives each
body's kind and region), so "a client kind per body, a scope per region" is the pair
(registry kind, registry region) behind one scope.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field

from contracts.cases import (
    CaseSummary,
    CaseView,
    ChainVerification,
    DecisionAnswer,
    KandasApplicationIn,
    Scan,
    StepDecision,
)
from contracts.plans import PlanStatus
from gateway.api.deps import CallerDep, State
from gateway.api.openapi import problem_responses
from gateway.errors import GatewayError
from gateway.services import case_queries, cases, intake_lookup, kandas_intake, timeline
from gateway.services.handover_chain import verify_case_chain

router = APIRouter(prefix="/api/v1", tags=["cases"])

_NOTES = {
    403: "The caller's body does not own this step, may not read this case, or may not "
    "open applications.",
    404: "No such case or step.",
    409: "The step was already decided, the decision is for another round, or the case is "
    "closed; for an open, the Idempotency-Key was used for another application.",
}


@router.post(
    "/kandas/applications",
    response_model=CaseView,
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {"model": CaseView, "description": "A retry with the same Idempotency-Key."},
        **problem_responses(403, 409, notes={403: _NOTES[403], 409: _NOTES[409]}),
    },
)
async def open_application(
    application: KandasApplicationIn,
    state: State,
    caller: CallerDep,
    response: Response,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)] = None,
) -> CaseView:
    """p.6–7: a career centre of the region of departure opens the application.

    The gateway asks the registries on the e-government bus for every fact they hold
    (never the applicant), records each fact with its source, and lists the scans still
    needed and why. A person the individuals registry does not know is refused (422
    naming the member); a registry that does not answer leaves the fact missing and the
    application waiting, to be asked again.
    """
    now = state.clock.now()
    cases.opening_body(state.ctx, caller, application)
    async with state.engine.begin() as conn:
        await timeline.record_access(
            conn, client_id=caller.client_id, action="kandas_application_lookup", at=now
        )
    # Trust (issue 12): the registries are asked only with the consent on file.
    await intake_lookup.audit_and_check_consent(
        state.engine, state.settings, caller, application, now
    )
    intake = await kandas_intake.intake_for(state.registry, application, now)
    card = await kandas_intake.close_relatives(state.family_card, application.applicant_iin, now)
    async with state.engine.begin() as conn:
        opened = await cases.open_application(
            conn,
            state.ctx,
            application,
            intake,
            card,
            caller=caller,
            idempotency_key=idempotency_key,
            now=now,
        )
        view = await case_queries.read_case(conn, opened.case_id, caller, now)
    state.on_outbox_write()
    if not opened.created:
        response.status_code = status.HTTP_200_OK
    return view


class ScansIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scans: list[Scan] = Field(min_length=1, max_length=50)


@router.post(
    "/cases/{case_id}/scans",
    response_model=CaseView,
    responses=problem_responses(
        403, 404, 409, notes={403: _NOTES[403], 404: _NOTES[404], 409: _NOTES[409]}
    ),
)
async def attach_scans(case_id: str, body: ScansIn, state: State, caller: CallerDep) -> CaseView:
    """p.6: the career centre attaches a scan where no registry holds the fact; only the
    scans the application lists as needed are taken (never one a registry could give)."""
    now = state.clock.now()
    async with state.engine.begin() as conn:
        await cases.attach_scans(conn, case_id, body.scans, caller=caller, now=now)
        return await case_queries.read_case(conn, case_id, caller, now)


@router.get(
    "/cases",
    response_model=list[CaseSummary],
    responses=problem_responses(403, notes={403: _NOTES[403]}),
)
async def list_cases(
    state: State,
    caller: CallerDep,
    open_only: Annotated[bool, Query(alias="open")] = True,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> list[CaseSummary]:
    """The caller's body's inbox: cases with a step of its own, most urgent first."""
    now = state.clock.now()
    async with state.engine.begin() as conn:
        found = await case_queries.inbox(
            conn, caller, now, open_only=open_only, limit=limit, offset=offset
        )
        await timeline.record_access(conn, client_id=caller.client_id, action="list_cases", at=now)
    return found


@router.get(
    "/cases/{case_id}",
    response_model=CaseView,
    responses=problem_responses(403, 404, notes={403: _NOTES[403], 404: _NOTES[404]}),
)
async def read_case(case_id: str, state: State, caller: CallerDep) -> CaseView:
    now = state.clock.now()
    async with state.engine.begin() as conn:
        view = await case_queries.read_case(conn, case_id, caller, now)
        await timeline.record_access(
            conn, client_id=caller.client_id, action="read_case", at=now, plan_id=case_id
        )
    return view


@router.post(
    "/cases/{case_id}/steps/{step_id}/decision",
    response_model=DecisionAnswer,
    responses=problem_responses(
        403, 404, 409, notes={403: _NOTES[403], 404: _NOTES[404], 409: _NOTES[409]}
    ),
)
async def decide(
    case_id: str, step_id: str, decision: StepDecision, state: State, caller: CallerDep
) -> DecisionAnswer:
    """Hand the step on (`forward`), back (`return`, remarks required) or out (`refuse`),
    signed by the official of the owning body with the step's role."""
    now = state.clock.now()
    if decision.case_id != case_id:
        raise GatewayError(
            "case_id in the body differs from the path",
            errors=[{"field": "case_id", "reason": "must equal the case id in the path"}],
        )
    try:
        async with state.engine.begin() as conn:
            new_state = await cases.decide(
                conn,
                state.ctx,
                cases.verifier(state.ctx),
                step_id,
                decision,
                caller_body=caller.scope,
                actor=caller.actor,
                via="api",
                now=now,
            )
            view = await case_queries.read_case(conn, case_id, caller, now)
    except cases.SignatureRejected as error:
        await cases.record_refusal(
            state.engine,
            case_id=case_id,
            task_id=step_id,
            actor=caller.actor,
            error=error,
            via="api",
            now=now,
        )
        raise
    state.on_outbox_write()
    return DecisionAnswer(
        case_id=case_id,
        step=decision.step,
        state=new_state,
        next_step=view.current_step,
        case_status=PlanStatus(view.status),
    )


@router.get(
    "/cases/{case_id}/handovers/verification",
    response_model=ChainVerification,
    responses=problem_responses(403, 404, notes={403: _NOTES[403], 404: _NOTES[404]}),
)
async def verify_chain(case_id: str, state: State, caller: CallerDep) -> ChainVerification:
    """Re-verify, after the fact, every signature of the case against the trusted roots."""
    async with state.engine.begin() as conn:
        await case_queries.load_case_for(conn, case_id, caller)
        return await verify_case_chain(conn, state.ctx, case_id)
