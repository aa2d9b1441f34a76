"""Cases of a chain flow: opening one, and each signed hand-over that moves it on.

The kandas application (order 170 p.6–31) is the first chain flow. A case is a row of
`plans` with its `flow`; each step it reaches is a row of `tasks` owned by one body, with
its term as a stored deadline, its assignment as an outbox message to the body's queue
and every decision as a signed, verified hand-over on the timeline (`handovers`). The
same outbox relay, deadline watcher and timeline serve the ИПР; only the step graph, the
owners and the terms come from the flow's file (`gateway/flows/kandas_application.json`).

A hand-over arrives the same way whatever carried it (the API, AMQP, a staff page):
`decide` checks, in this order, that the step exists and is still open (404/409), that the
caller's body owns it (403), that the decision is one the step allows and carries what the
step requires (422), that the step's checks pass (422), and that the signature is the
step owner's over exactly this statement (`SignatureRejected`, 422). Then it moves the
case in one transaction.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any, Protocol

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from contracts.agencies import Agency
from contracts.cases import (
    Decision,
    KandasApplicationIn,
    Person,
    Relation,
    Scan,
    StepAssigned,
    StepAssignedEnvelope,
    StepDecision,
)
from contracts.plans import DeadlineKind, PlanStatus
from contracts.signing import HandoverStatement, Signature, canonical_bytes
from gateway.auth import Caller, ClientKind
from gateway.domain import deadlines as rules
from gateway.domain import kandas_checks
from gateway.domain.flow import COMPLETE, Flow, InvalidTransition, load_flow
from gateway.errors import Conflict, Forbidden, GatewayError, InvalidInput, NotFound
from gateway.ids import new_id, new_uuid
from gateway.services import deadline_store, outbox, service_steps, timeline
from gateway.services.context import Context
from gateway.signatures import SignatureRefused, Signer, verify_handover
from gateway.store.tables import handovers, plans, tasks

log = logging.getLogger("gateway.cases")

KANDAS = "kandas_application"
GATEWAY_ACTOR = "gateway"
_REGION_KEYS = {"departure": "departure_region", "settlement": "settlement_region"}


class Verifier(Protocol):
    """Checks a hand-over's signature: `gateway.signatures.verify_handover` over the
    context's trusted roots."""

    def __call__(
        self,
        statement: HandoverStatement,
        signature: Signature,
        *,
        expected_body: str,
        expected_role: str,
        now: datetime,
    ) -> Signer: ...


class SignatureRejected(GatewayError):
    """The hand-over's signature is not its owner's over this statement: refused, logged."""

    status = 422
    title = "Signature refused"

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail, errors=[{"field": "signature", "reason": detail}])
        self.reason = reason


@dataclass(frozen=True)
class OpenResult:
    case_id: str
    created: bool


def kandas_flow() -> Flow:
    return load_flow(KANDAS)


def check_flow_owners(ctx: Context, flow: Flow, regions: dict[str, str]) -> list[str]:
    """Why the flow cannot run between these regions: a step whose body is not connected."""
    problems = []
    for step in flow.steps:
        region = regions[step.owner.region]
        if ctx.agencies.body_for(step.owner.kind, region) is None:
            problems.append(
                f"step {step.id} ({step.clause}) needs a connected {step.owner.kind} "
                f"of region '{region}'"
            )
    unknown = {c for s in flow.steps for c in s.checks} - set(kandas_checks.CHECKS)
    problems += [f"check '{name}' is named by the flow but not defined" for name in unknown]
    return problems


def opening_body(ctx: Context, caller: Caller, application: KandasApplicationIn) -> Agency:
    """The career centre that may open this application, or why not (before any lookup:
    a caller who may not open it learns nothing from the registries)."""
    body = ctx.agencies.get(caller.scope or "") if caller.kind is ClientKind.agency else None
    if body is None or body.kind != "career_centre":
        raise Forbidden("only a career centre's system opens a kandas application")
    if body.region != application.departure_region:
        raise Forbidden(
            f"career centre '{body.code}' serves region '{body.region}', "
            f"not the region of departure '{application.departure_region}'"
        )
    regions = {
        "departure": application.departure_region,
        "settlement": application.settlement_region,
    }
    problems = check_flow_owners(ctx, kandas_flow(), regions)
    if problems:
        raise InvalidInput(
            "; ".join(problems),
            errors=[{"field": "settlement_region", "reason": p} for p in problems],
        )
    return body


def application_fingerprint(application: KandasApplicationIn) -> str:
    return hashlib.sha256(application.model_dump_json().encode()).hexdigest()


async def open_application(
    conn: AsyncConnection,
    ctx: Context,
    application: KandasApplicationIn,
    intake: dict[str, Any],
    family_card: dict[str, Any],
    *,
    caller: Caller,
    idempotency_key: str | None,
    now: datetime,
) -> OpenResult:
    """p.6–7: the career centre of departure opens the application; p.8 becomes its step."""
    flow = kandas_flow()
    body = opening_body(ctx, caller, application)
    regions = {
        "departure": application.departure_region,
        "settlement": application.settlement_region,
    }
    fingerprint = application_fingerprint(application)
    if idempotency_key is not None:
        row = (
            await conn.execute(
                select(plans.c.id, plans.c.request_hash).where(
                    plans.c.centre == body.code, plans.c.idempotency_key == idempotency_key
                )
            )
        ).first()
        if row is not None:
            if row.request_hash != fingerprint:
                raise Conflict("this Idempotency-Key was already used for a different application")
            return OpenResult(row.id, created=False)

    case_id = new_id()
    document = {
        "application": application.model_dump(mode="json"),
        "intake": intake,
        "family_card": family_card,
        "migration_portal": None,
    }
    await conn.execute(
        insert(plans).values(
            id=case_id,
            flow=flow.id,
            centre=body.code,
            external_id=application.external_id,
            status=PlanStatus.active.value,
            approved_at=now,
            created_at=now,
            family=document,
            grounds=[],
            created_by=caller.client_id,
            idempotency_key=idempotency_key,
            request_hash=fingerprint,
        )
    )
    await timeline.record(
        conn,
        plan_id=case_id,
        at=now,
        actor=caller.actor,
        type="case_opened",
        to_state=PlanStatus.active.value,
        data={"flow": flow.id, **regions},
    )
    await timeline.record(
        conn,
        plan_id=case_id,
        at=now,
        actor=GATEWAY_ACTOR,
        type="registry_facts",
        data=_intake_summary(intake),
    )
    await assign(
        conn, ctx, case_id, document, flow.first_step or "", round_=0, remarks=None, now=now
    )
    return OpenResult(case_id, created=True)


def _intake_summary(intake: dict[str, Any]) -> dict[str, Any]:
    return {
        "facts": len(intake["facts"]),
        "scans_needed": sum(1 for s in intake["scans_needed"] if not s["provided"]),
        "outcomes": [o["kind"] for o in intake["outcomes"]],
        "missing": sorted({m["registry"] for m in intake["missing"]}),
    }


def _people(document: dict[str, Any]) -> list[Person]:
    return [
        Person(
            iin=p["iin"],
            relation=Relation(p["relation"]),
            last_name=p.get("last_name"),
            first_name=p.get("first_name"),
            middle_name=p.get("middle_name"),
        )
        for p in document["intake"]["people"]
        if p.get("included", True)
    ]


async def assign(
    conn: AsyncConnection,
    ctx: Context,
    case_id: str,
    document: dict[str, Any],
    step_id: str,
    *,
    round_: int,
    remarks: str | None,
    now: datetime,
) -> str:
    """Make `step_id` its owner's turn: the task, its term, the message to its queue."""
    flow = kandas_flow()
    step = flow.step(step_id)
    region = document["application"][_REGION_KEYS[step.owner.region]]
    body = ctx.agencies.body_for(step.owner.kind, region)
    if body is None:  # checked when the case was opened; the registry changed since
        raise Conflict(f"no connected {step.owner.kind} of region '{region}' for {step.id}")
    seq = (
        await conn.execute(
            select(func.count()).select_from(tasks).where(tasks.c.plan_id == case_id)
        )
    ).scalar_one()
    people = _people(document)
    task_id = new_id()
    await conn.execute(
        insert(tasks).values(
            id=task_id,
            plan_id=case_id,
            seq=seq,
            step=step.id,
            agency=body.code,
            title=step.title.ru,
            description=step.clause,
            due_date=None,
            beneficiary_iins=[p.iin for p in people],
            state=flow.initial_state,
            round=round_,
            created_at=now,
            updated_at=now,
            last_reason=remarks,
        )
    )
    term = rules.term(DeadlineKind.step, flow.clock(step.term), now, ctx.calendar, round_)
    await deadline_store.open_deadline(conn, term, plan_id=case_id, task_id=task_id)
    message_id = new_uuid()
    await outbox.enqueue(
        conn,
        StepAssignedEnvelope(
            message_id=message_id,
            correlation_id=case_id,
            occurred_at=now,
            payload=StepAssigned(
                case_id=case_id,
                flow=flow.id,
                step=step.id,
                round=round_,
                body=body.code,
                region=region,
                title=step.title.ru,
                role=step.role,
                due_at=term.due_at,
                decisions=[Decision(d) for d in step.decisions],
                requires=list(step.requires),
                people=people,
                remarks=remarks,
            ),
        ),
        message_id=str(message_id),
        message_type=StepAssignedEnvelope.model_fields["type"].default.value,
        exchange=ctx.topology.tasks_exchange,
        routing_key=body.code,
        plan_id=case_id,
        task_id=task_id,
        now=now,
    )
    await timeline.record(
        conn,
        plan_id=case_id,
        task_id=task_id,
        at=now,
        actor=GATEWAY_ACTOR,
        type="step_assigned",
        to_state=flow.initial_state,
        reason=remarks,
        data={
            "step": step.id,
            "clause": step.clause,
            "body": body.code,
            "round": round_,
            "due_at": term.due_at.isoformat(),
        },
    )
    return task_id


async def find_step(conn: AsyncConnection, case_id: str, step: str, round_: int) -> str:
    """The task of a step visit, for a decision that names the step (over AMQP)."""
    task_id = (
        await conn.execute(
            select(tasks.c.id).where(
                tasks.c.plan_id == case_id, tasks.c.step == step, tasks.c.round == round_
            )
        )
    ).scalar()
    if task_id is None:
        raise NotFound(f"case '{case_id}' has no step {step} round {round_}")
    return str(task_id)


def verifier(ctx: Context) -> Verifier:
    if ctx.trust is None:

        def refuse(*_: object, **__: object) -> Signer:
            raise SignatureRejected(
                "not_configured", "no trusted certification authority is configured"
            )

        return refuse
    return partial(verify_handover, trust=ctx.trust)


async def _load_step(conn: AsyncConnection, case_id: str, task_id: str) -> tuple[Any, Any]:
    task = (
        await conn.execute(select(tasks).where(tasks.c.id == task_id).with_for_update())
    ).first()
    if task is None or task.plan_id != case_id:
        raise NotFound(f"the case has no step with id '{task_id}'")
    case = (await conn.execute(select(plans).where(plans.c.id == case_id))).first()
    if case is None or case.flow != KANDAS:
        raise NotFound(f"no kandas application with id '{case_id}'")
    return case, task


def statement_of(decision: StepDecision) -> HandoverStatement:
    """What the official signed, rebuilt from what they sent: any change breaks it."""
    return HandoverStatement(
        case_id=decision.case_id,
        flow=KANDAS,
        step=decision.step,
        round=decision.round,
        body=decision.body,
        decision=decision.decision.value,
        remarks=decision.remarks,
        data=decision.data,
        signed_at=decision.signed_at,
    )


async def decide(
    conn: AsyncConnection,
    ctx: Context,
    verify: Verifier,
    task_id: str,
    decision: StepDecision,
    *,
    caller_body: str | None,
    actor: str,
    via: str,
    now: datetime,
) -> str:
    """Apply one signed hand-over; returns the step's new state."""
    flow = kandas_flow()
    case, task = await _load_step(conn, decision.case_id, task_id)
    if caller_body != task.agency or decision.body != task.agency:
        raise Forbidden(
            f"step {task.step} of this case belongs to '{task.agency}'; "
            f"'{caller_body or decision.body}' cannot hand it over"
        )
    if case.status != PlanStatus.active.value:
        raise Conflict(f"the case is {case.status}")
    if decision.step != task.step or decision.round != task.round:
        raise Conflict(
            f"the decision is for step {decision.step} round {decision.round}; "
            f"the step is {task.step} round {task.round}"
        )
    if flow.is_terminal(task.state):
        raise Conflict(f"step {task.step} was already decided ({task.state})")
    step = flow.step(task.step)
    target = flow.route(step.id, decision.decision.value, decision.data)
    if target is None:
        allowed = ", ".join(step.decisions)
        raise InvalidInput.field("decision", f"step {step.id} ({step.clause}) allows: {allowed}")
    if decision.decision is Decision.forward:
        missing = [key for key in step.requires if decision.data.get(key) in (None, "")]
        if missing:
            raise InvalidInput(
                "; ".join(f"data.{k}: is required to forward at {step.clause}" for k in missing),
                errors=[
                    {"field": f"data.{k}", "reason": f"is required to forward at {step.clause}"}
                    for k in missing
                ],
            )
        problems = kandas_checks.run(step.checks, case.family, decision.data)
        if problems:
            raise InvalidInput(
                "; ".join(f"{f}: {r}" for f, r in problems),
                errors=[{"field": f, "reason": r} for f, r in problems],
            )
    statement = statement_of(decision)
    try:
        signer = verify(
            statement,
            decision.signature,
            expected_body=task.agency,
            expected_role=step.role,
            now=now,
        )
    except SignatureRefused as refusal:
        raise SignatureRejected(refusal.reason.value, refusal.detail) from refusal

    try:
        to_state = flow.next_state(task.state, flow.decision_events[decision.decision.value])
    except InvalidTransition as error:
        raise Conflict(str(error)) from None
    await conn.execute(
        update(tasks)
        .where(tasks.c.id == task.id)
        .values(state=to_state, updated_at=now, reported_at=now, last_comment=decision.remarks)
    )
    await deadline_store.meet(conn, task_id=task.id, kinds=(DeadlineKind.step,), at=now)
    await conn.execute(
        insert(handovers).values(
            plan_id=case.id,
            task_id=task.id,
            step=task.step,
            round=task.round,
            body=task.agency,
            decision=decision.decision.value,
            statement=canonical_bytes(statement).decode(),
            signature=decision.signature.model_dump(mode="json"),
            signer_name=signer.full_name,
            signer_role=signer.role,
            certificate_serial=signer.serial,
            certificate_sha256=signer.fingerprint_sha256,
            signed_at=decision.signed_at,
            received_at=now,
            via=via,
        )
    )
    await timeline.record(
        conn,
        plan_id=case.id,
        task_id=task.id,
        at=now,
        actor=actor,
        type="handover",
        from_state=task.state,
        to_state=to_state,
        reason=decision.remarks,
        data={
            "step": task.step,
            "decision": decision.decision.value,
            "to": target,
            "signer": signer.full_name,
            "signer_role": signer.role,
            "certificate_serial": signer.serial,
            "data": decision.data,
            "via": via,
        },
    )
    if target == COMPLETE:
        await _close(conn, case.id, decision, now)
    else:
        visits = (
            await conn.execute(
                select(func.count())
                .select_from(tasks)
                .where(tasks.c.plan_id == case.id, tasks.c.step == target)
            )
        ).scalar_one()
        remarks = decision.remarks if decision.decision is Decision.return_ else None
        await assign(
            conn, ctx, case.id, case.family, target, round_=visits, remarks=remarks, now=now
        )
    return to_state


async def _close(
    conn: AsyncConnection, case_id: str, decision: StepDecision, now: datetime
) -> None:
    await service_steps.close_case(
        conn,
        case_id,
        refused=decision.decision is Decision.refuse,
        reason=decision.remarks,
        now=now,
    )


async def record_refusal(
    engine: AsyncEngine,
    *,
    case_id: str,
    task_id: str,
    actor: str,
    error: GatewayError,
    via: str,
    now: datetime,
) -> None:
    """A refused hand-over goes on the timeline in a transaction of its own: the one that
    tried it is rolled back, and the refusal must not vanish with it."""
    log.warning(
        "hand-over refused on case %s step %s (%s): %s", case_id, task_id, via, error.detail[:300]
    )
    async with engine.begin() as conn:
        exists = (
            await conn.execute(
                select(tasks.c.id).where(tasks.c.id == task_id, tasks.c.plan_id == case_id)
            )
        ).first()
        if exists is None:
            return
        await timeline.record(
            conn,
            plan_id=case_id,
            task_id=task_id,
            at=now,
            actor=actor,
            type="handover_refused",
            reason=error.detail[:2000],
            data={"status": error.status, "errors": error.errors, "via": via},
        )


async def attach_scans(
    conn: AsyncConnection, case_id: str, scans: list[Scan], *, caller: Caller, now: datetime
) -> None:
    """The opening career centre attaches scans where no registry holds the fact (p.6)."""
    case = (
        await conn.execute(select(plans).where(plans.c.id == case_id).with_for_update())
    ).first()
    if case is None or case.flow != KANDAS:
        raise NotFound(f"no kandas application with id '{case_id}'")
    if caller.kind is not ClientKind.agency or caller.scope != case.centre:
        raise Forbidden("only the career centre that opened the application attaches scans")
    if case.status != PlanStatus.active.value:
        raise Conflict(f"the case is {case.status}")
    document = dict(case.family)
    needed = {s["key"] for s in document["intake"]["scans_needed"]}
    for index, scan in enumerate(scans):
        if scan.fact not in needed:
            raise InvalidInput.field(
                f"scans[{index}].fact",
                f"no scan of '{scan.fact}' is needed: a registry holds it, or it is unknown "
                f"(needed: {', '.join(sorted(needed)) or 'none'})",
            )
    application = dict(document["application"])
    application["scans"] = [
        *application.get("scans", []),
        *(s.model_dump(mode="json") for s in scans),
    ]
    given = {s["fact"] for s in application["scans"]}
    intake = dict(document["intake"])
    intake["scans_needed"] = [
        {**s, "provided": s["key"] in given} for s in document["intake"]["scans_needed"]
    ]
    document["application"] = application
    document["intake"] = intake
    await conn.execute(update(plans).where(plans.c.id == case_id).values(family=document))
    await timeline.record(
        conn,
        plan_id=case_id,
        at=now,
        actor=caller.actor,
        type="scans_attached",
        data={"facts": [s.fact for s in scans]},
    )


async def waiting_cases(conn: AsyncConnection, limit: int = 50) -> list[Any]:
    """Open applications still owed facts by a registry or by the ЦКС."""
    rows = (
        await conn.execute(
            select(plans.c.id, plans.c.family).where(
                plans.c.flow == KANDAS, plans.c.status == PlanStatus.active.value
            )
        )
    ).all()
    owed = [
        r
        for r in rows
        if r.family["intake"]["missing"]
        or (r.family.get("family_card") or {}).get("status") != "fetched"
    ]
    return owed[:limit]


async def store_refreshed(
    conn: AsyncConnection,
    case_id: str,
    intake: dict[str, Any] | None,
    family_card: dict[str, Any] | None,
    now: datetime,
) -> bool:
    """Write facts asked again; the timeline says what arrived. False: nothing new."""
    case = (
        await conn.execute(select(plans).where(plans.c.id == case_id).with_for_update())
    ).first()
    if case is None:
        return False
    document = dict(case.family)
    changes: dict[str, Any] = {}
    if intake is not None and intake["missing"] != document["intake"]["missing"]:
        document["intake"] = intake
        changes["registry_facts"] = _intake_summary(intake)
    if family_card is not None and family_card.get("status") != (
        document.get("family_card") or {}
    ).get("status"):
        document["family_card"] = family_card
        changes["family_card"] = family_card["status"]
    if not changes:
        return False
    await conn.execute(update(plans).where(plans.c.id == case_id).values(family=document))
    await timeline.record(
        conn, plan_id=case_id, at=now, actor=GATEWAY_ACTOR, type="facts_refreshed", data=changes
    )
    return True
