"""The e-government flows over HTTP: e-applications (order 109) and referrals (seed 002).

The offices act with their agency-kind keys, scoped to their code (`uzsp_almaty`, the
regional office; `ozsp_almaty`, the district office): each may act only on a step it
owns. Applications come from the portal (polled by the gateway); a district office
opens an in-person referral itself.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, status
from pydantic import BaseModel, ConfigDict, Field

from contracts.cases import Consent
from contracts.common import IIN
from gateway.api.deps import CallerDep, State
from gateway.api.openapi import problem_responses
from gateway.auth import Caller, ClientKind
from gateway.errors import Forbidden, NotFound
from gateway.services import (
    complaints,
    e_application,
    egov_queries,
    employment_referral,
    proactive_assistance,
    service_steps,
)

router = APIRouter(prefix="/api/v1", tags=["e-government"])

_FLOWS = (
    e_application.E_APPLICATION,
    employment_referral.REFERRAL,
    proactive_assistance.PROACTIVE,
)


def _body(caller: Caller) -> str | None:
    """The office acting; None for an admin (who may act for any, on the timeline as admin)."""
    if caller.kind is ClientKind.admin:
        return None
    if caller.kind is not ClientKind.agency or not caller.scope:
        raise Forbidden("only an office's system (agency key) acts on these cases")
    return caller.scope


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CheckIn(_In):
    decision: Literal["forward", "refuse"] = Field(
        description="`forward`: the documents match the standard, `result` is the answer; "
        "`refuse`: `result` is the reason."
    )
    result: str = Field(min_length=1, max_length=4000)


class ContactIn(_In):
    channel: Literal["phone", "email"]
    question: str = Field(min_length=1, max_length=2000)
    answer: str | None = Field(default=None, max_length=2000)


class InPersonIn(_In):
    iin: IIN
    kind: str = Field(
        description="employment, public_works, vocational_training, social_jobs, "
        "youth_practice, career_guidance"
    )
    phone: str | None = None
    consent: Consent | None = Field(
        default=None,
        description="The applicant's written consent to the use of legally protected "
        "information, taken at registration (standard p.5.1). Without it the case holds no "
        "consent and registry lookups for it (purpose employment_referral) are refused.",
    )


class ProcedureIn(_In):
    step: str = Field(description="accept, to_head, assign, review, sign, issue")


class ReferralDecisionIn(_In):
    decision: Literal["issue", "refuse"]
    reason: str | None = Field(default=None, max_length=2000)


class ComplaintIn(_In):
    to: Literal["provider", "quality_authority"]
    text: str = Field(min_length=1, max_length=4000)


class ProactiveCheckIn(_In):
    applicant_iin: IIN = Field(description="The recipient of targeted social assistance.")
    members: list[IIN] = Field(
        min_length=1, max_length=30, description="The family as the recipient's file has it."
    )
    phone: str | None = None


class AnswerIn(_In):
    text: str = Field(min_length=1, max_length=4000)


async def _case_view(state: State, caller: Caller, case_id: str) -> dict[str, Any]:
    async with state.engine.begin() as conn:
        return await egov_queries.read_case(
            conn, case_id, body=_body(caller), client_id=caller.client_id, now=state.clock.now()
        )


@router.get("/e-government/cases", responses=problem_responses(403))
async def inbox(state: State, caller: CallerDep) -> dict[str, Any]:
    """The office's open steps: breached first, then at risk, then the nearest term."""
    async with state.engine.connect() as conn:
        items = await egov_queries.inbox(conn, _body(caller), state.clock.now())
    return {
        "items": [
            {
                **i,
                "opened_at": i["opened_at"].isoformat(),
                "due_at": i["due_at"].isoformat(),
                "deadline": i["deadline"].value,
            }
            for i in items
        ]
    }


@router.get("/e-government/cases/{case_id}", responses=problem_responses(403, 404))
async def case(case_id: str, state: State, caller: CallerDep) -> dict[str, Any]:
    return await _case_view(state, caller, case_id)


@router.post("/e-applications/{case_id}/forward", responses=problem_responses(403, 404, 409))
async def forward(case_id: str, state: State, caller: CallerDep) -> dict[str, Any]:
    """Order 109 p.5: the regional office forwards to the district office of residence."""
    async with state.engine.begin() as conn:
        await e_application.forward(
            conn, state.ctx, case_id, body=_body(caller), actor=caller.actor, now=state.clock.now()
        )
    state.on_outbox_write()
    return await _case_view(state, caller, case_id)


@router.post(
    "/e-applications/{case_id}/contacts",
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(403, 404, 409),
)
async def contact(
    case_id: str, contact: ContactIn, state: State, caller: CallerDep
) -> dict[str, str]:
    """Order 109 p.7: a question put to the applicant, recorded on the timeline."""
    async with state.engine.begin() as conn:
        await e_application.record_contact(
            conn,
            case_id,
            body=_body(caller),
            channel=contact.channel,
            question=contact.question,
            answer=contact.answer,
            actor=caller.actor,
            now=state.clock.now(),
        )
    return {"recorded": "applicant_contacted"}


@router.post("/e-applications/{case_id}/check", responses=problem_responses(403, 404, 409))
async def check(case_id: str, decision: CheckIn, state: State, caller: CallerDep) -> dict[str, Any]:
    """Order 109 p.6–10: the district specialist's result or refusal; the citizen is told."""
    async with state.engine.begin() as conn:
        await e_application.check(
            conn,
            state.ctx,
            case_id,
            body=_body(caller),
            decision=decision.decision,
            result=decision.result,
            actor=caller.actor,
            now=state.clock.now(),
        )
    state.on_outbox_write()
    return await _case_view(state, caller, case_id)


@router.post(
    "/employment-referrals",
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(403, 409),
)
async def open_in_person(
    referral: InPersonIn,
    state: State,
    caller: CallerDep,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)] = None,
) -> dict[str, Any]:
    """In person (standard p.4.1): 30 minutes; the registration as unemployed is checked
    in the labour market system, not asked of the applicant."""
    body = _body(caller)
    if body is None:
        raise Forbidden("an in-person referral is opened by the district office's system")
    facts, record = await employment_referral.gather_facts(
        state.labour_market, None, referral.iin, on_portal=False
    )
    async with state.engine.begin() as conn:
        case_id, _ = await employment_referral.open_in_person(
            conn,
            state.ctx,
            office=body,
            iin=referral.iin,
            kind_code=referral.kind,
            phone=referral.phone,
            facts=facts,
            facts_record=record,
            idempotency_key=idempotency_key,
            actor=caller.actor,
            now=state.clock.now(),
            consent=referral.consent.model_dump(mode="json") if referral.consent else None,
        )
    return await _case_view(state, caller, case_id)


@router.post(
    "/employment-referrals/{case_id}/procedure", responses=problem_responses(403, 404, 409)
)
async def procedure(
    case_id: str, step: ProcedureIn, state: State, caller: CallerDep
) -> dict[str, Any]:
    """A procedure of the regulation done (p.5): its minutes against its norm."""
    async with state.engine.begin() as conn:
        return await employment_referral.record_procedure(
            conn,
            case_id,
            body=_body(caller),
            code=step.step,
            actor=caller.actor,
            now=state.clock.now(),
        )


@router.post("/employment-referrals/{case_id}/decision", responses=problem_responses(403, 404, 409))
async def referral_decision(
    case_id: str, decision: ReferralDecisionIn, state: State, caller: CallerDep
) -> dict[str, Any]:
    async with state.engine.begin() as conn:
        answer = await employment_referral.decide(
            conn,
            state.ctx,
            case_id,
            body=_body(caller),
            decision=decision.decision,
            reason=decision.reason,
            actor=caller.actor,
            now=state.clock.now(),
        )
    state.on_outbox_write()
    return answer


@router.get("/employment-referrals/{case_id}/document", responses=problem_responses(403, 404))
async def referral_document(case_id: str, state: State, caller: CallerDep) -> dict[str, Any]:
    view = await _case_view(state, caller, case_id)
    document = view["document"].get("result")
    if not document:
        raise NotFound("no referral was issued in this case")
    return dict(document)


@router.post(
    "/e-government/cases/{case_id}/complaints",
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(403, 404),
)
async def complain(
    case_id: str, complaint: ComplaintIn, state: State, caller: CallerDep
) -> dict[str, str]:
    """A complaint registered (standard p.10): 5 working days, 15 at the quality authority."""
    async with state.engine.begin() as conn:
        await service_steps.load_case(conn, case_id, _FLOWS)
        task_id = await complaints.file(
            conn,
            state.ctx,
            case_id,
            to=complaint.to,
            text=complaint.text,
            actor=caller.actor,
            now=state.clock.now(),
        )
    return {"task_id": task_id}


@router.post(
    "/e-government/cases/{case_id}/complaints/{task_id}/answer",
    responses=problem_responses(403, 404),
)
async def answer_complaint(
    case_id: str, task_id: str, answer: AnswerIn, state: State, caller: CallerDep
) -> dict[str, str]:
    async with state.engine.begin() as conn:
        await complaints.answer(
            conn,
            state.ctx,
            case_id,
            task_id,
            body=_body(caller),
            text=answer.text,
            actor=caller.actor,
            now=state.clock.now(),
        )
    state.on_outbox_write()
    return {"answered": task_id}


@router.post(
    "/proactive-assistance/checks",
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(403, 503),
)
async def proactive_check(
    check: ProactiveCheckIn, state: State, caller: CallerDep
) -> dict[str, Any]:
    """Order 109 p.12–18: the employment centre checks, with no application, whether the
    family still meets the criteria of targeted social assistance. Every query through
    the bus records its purpose and legal ground; a registry that does not answer leaves
    its fact missing, and the check does not conclude."""
    from adapters.shep import AspFactsClient, QueryGround
    from gateway.domain.targeted_assistance import load_config
    from gateway.services.registry_lookup import RegistryUnavailable

    body = _body(caller)
    office = state.ctx.agencies.get(body or "")
    if office is None or office.kind != "employment_centre":
        raise Forbidden("only an employment centre's system runs a proactive check")
    channel = getattr(state.registry, "channel", None)
    if channel is None:
        raise RegistryUnavailable("shep", "the e-government bus is not configured")
    queries = load_config().queries

    def ground_of(fact: str) -> QueryGround:
        return QueryGround(queries[fact]["purpose"], queries[fact]["legal_ground"])

    members = list(dict.fromkeys(check.members))
    now = state.clock.now()
    facts, asked = await proactive_assistance.gather(
        AspFactsClient(channel), state.registry, members, ground_of=ground_of, now=now
    )
    async with state.engine.begin() as conn:
        case_id = await proactive_assistance.open_check(
            conn,
            state.ctx,
            centre=office.code,
            applicant_iin=check.applicant_iin,
            members=members,
            phone=check.phone,
            facts=facts,
            queries=asked,
            caller_id=caller.client_id,
            actor=caller.actor,
            now=now,
        )
    state.on_outbox_write()
    return await _case_view(state, caller, case_id)


@router.post(
    "/proactive-assistance/checks/{case_id}/review",
    responses=problem_responses(403, 404, 409),
)
async def proactive_review(
    case_id: str, answer: AnswerIn, state: State, caller: CallerDep
) -> dict[str, Any]:
    """The specialist closes the check with what was decided (p.14–15)."""
    async with state.engine.begin() as conn:
        case = await service_steps.load_case(conn, case_id, (proactive_assistance.PROACTIVE,))
        task = await service_steps.open_task_of(conn, case, "review", body=_body(caller))
        await service_steps.close_step(
            conn,
            proactive_assistance.flow(),
            task,
            "forward",
            actor=caller.actor,
            reason=answer.text,
            data={},
            now=state.clock.now(),
        )
        await service_steps.close_case(
            conn, case_id, refused=False, reason=answer.text, now=state.clock.now()
        )
    return await _case_view(state, caller, case_id)
