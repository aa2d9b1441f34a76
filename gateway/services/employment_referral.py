"""The referral to active employment measures (seed 002), on the portal and in person.

The standard: six kinds of referral; the result in 1 working day on the portal and in
30 minutes in person; five procedures with their minutes (accept and register 30, to the
head 5, assign 5, review and draft 15, decide and sign 5, issue 30); the result an
e-document in the applicant's personal cabinet; complaints answered in 5 working days
(15 at the quality authority, `gateway.services.complaints`).

Preconditions are facts held by other systems, never asked of the applicant: the labour
market system says whether the applicant is registered as unemployed; the Kandas system
whether they hold kandas status, which closes the service on the portal (not in person).
The caller gathers them before the transaction (`gather_facts`); a system that does not
answer leaves the application on the portal, to be taken on the next poll, rather than
deciding without the fact.
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import datetime, timedelta
from typing import Any, Protocol

from contracts.iin import mask_iin
from contracts.plans import DeadlineKind, PlanStatus
from contracts.portal_notices import PortalStatus
from gateway.domain import deadlines as rules
from gateway.domain.e_application_form import check_form
from gateway.domain.employment_referral import (
    Facts,
    Kind,
    load_standard,
    missing_facts,
    procedure_against_norms,
    refusal_rule,
)
from gateway.domain.flow import Flow, load_flow
from gateway.domain.public_services import load_register
from gateway.errors import Conflict, InvalidInput
from gateway.services import citizen_notices, e_application, service_steps, timeline
from gateway.services.context import Context
from gateway.store.tables import events

log = logging.getLogger("gateway.employment_referral")

REFERRAL = "employment_referral"
LABOUR_MARKET = "АИС «Рынок труда»"
KANDAS_SYSTEM = "АИС «Кандас»"


class LabourMarketLookup(Protocol):
    async def registration(self, iin: str) -> Any: ...


class KandasLookup(Protocol):
    async def kandas_status(self, iin: str) -> Any: ...


def _failure(error: Exception) -> str:
    return f"{type(error).__name__}: {error}"[:300]


def flow() -> Flow:
    return load_flow(REFERRAL)


async def gather_facts(
    labour: LabourMarketLookup | None, kandas: KandasLookup | None, iin: str, *, on_portal: bool
) -> tuple[Facts, dict[str, Any]]:
    """Ask the systems that hold the facts; each answer with its source and time."""
    record: dict[str, Any] = {}
    unemployed: bool | None = None
    holds: bool | None = None
    if labour is not None:
        try:
            answer = await labour.registration(iin)
            unemployed = bool(answer.registered_unemployed)
            record["registration"] = {
                "status": str(answer.status),
                "since": str(answer.unemployed_since or ""),
                "source": LABOUR_MARKET,
                "as_of": answer.as_of.isoformat(),
            }
        except Exception as error:  # another organisation's system: any failure is "no answer"
            record["registration"] = {"source": LABOUR_MARKET, "failed": _failure(error)}
    else:
        record["registration"] = {"source": LABOUR_MARKET, "failed": "not connected"}
    if on_portal:
        if kandas is not None:
            try:
                status = await kandas.kandas_status(iin)
                holds = bool(status.holds_status)
                record["kandas_status"] = {
                    "holds_status": holds,
                    "source": KANDAS_SYSTEM,
                    "as_of": status.as_of.isoformat(),
                }
            except Exception as error:
                record["kandas_status"] = {
                    "source": KANDAS_SYSTEM,
                    "failed": _failure(error),
                }
        else:
            record["kandas_status"] = {"source": KANDAS_SYSTEM, "failed": "not connected"}
    return Facts(unemployed, LABOUR_MARKET, holds, KANDAS_SYSTEM), record


def _kind_problem(kind: Kind | None) -> tuple[str, str] | None:
    if kind is not None:
        return None
    names = "; ".join(f"{k.code} ({k.ru})" for k in load_standard().kinds)
    return ("content", f"must name the kind of referral, one of: {names}")


async def receive_from_portal(
    conn: Any,
    ctx: Context,
    appeal: dict[str, Any],
    *,
    facts: Facts,
    facts_record: dict[str, Any],
    signature: dict[str, Any],
    received_at: datetime,
    now: datetime,
) -> e_application.Received | None:
    """One portal application for the service: refused naming the rule, or a case whose
    1-working-day term started at the portal's receipt. None: a fact is missing (asked
    again at the next poll)."""
    existing = await e_application.known_case(conn, appeal["id"])
    if existing is not None:
        return e_application.Received(existing, created=False, refused=False)
    form = dict(appeal.get("form") or {})
    problems, routing = check_form(form, load_register())
    if signature.get("problem") and form.get("signature"):
        problems.append(("signature", signature["problem"]))
    kind = load_standard().kind_in(str(form.get("content") or ""))
    if (problem := _kind_problem(kind)) is not None and form.get("content"):
        problems.append(problem)
    document = e_application._document(appeal, routing, signature)
    document["channel"] = "portal"
    document["facts"] = facts_record
    if routing is not None and ctx.agencies.get(routing.district_office) is None:
        problems.append(("region", f"the office '{routing.district_office}' is not connected"))
    if problems:
        errors = [{"field": f, "reason": r} for f, r in problems]
        from gateway.domain.e_application_form import refusal_text

        case_id = await e_application.refuse_at_intake(
            conn,
            ctx,
            flow_id=REFERRAL,
            appeal=appeal,
            document=document,
            errors=errors,
            text=refusal_text(problems),
            now=now,
        )
        return e_application.Received(case_id, created=True, refused=True)
    if missing_facts(facts, on_portal=True):
        log.warning(
            "referral %s waits: no answer from %s",
            appeal.get("number"),
            ", ".join(f"{k} ({v.get('failed')})" for k, v in facts_record.items() if "failed" in v),
        )
        return None
    assert routing is not None and kind is not None
    document["kind"] = {"code": kind.code, "ru": kind.ru, "kk": kind.kk, "clause": kind.clause}
    rule = refusal_rule(facts, on_portal=True)
    if rule is not None:
        text = f"Отказ в оказании услуги: {rule.ru}."
        document["refusal"] = {"rule": rule.code, "clause": rule.clause, "text": text}
        case_id = await e_application.insert_case(
            conn,
            flow_id=REFERRAL,
            appeal=appeal,
            document=document,
            status=PlanStatus.cancelled,
            now=now,
            reason=text,
        )
        await timeline.record(
            conn,
            plan_id=case_id,
            at=now,
            actor=e_application.INTAKE_ACTOR,
            type="case_opened",
            to_state=PlanStatus.active.value,
            data={"flow": REFERRAL, "channel": "portal"},
        )
        await timeline.record(
            conn,
            plan_id=case_id,
            at=now,
            actor=e_application.INTAKE_ACTOR,
            type="precondition_failed",
            to_state=PlanStatus.cancelled.value,
            reason=text,
            data={"rule": rule.code, "clause": rule.clause, "facts": facts_record},
        )
        case = await service_steps.load_case(conn, case_id, (REFERRAL,))
        await e_application.tell_result(conn, ctx, case, refused=True, result=text, now=now)
        return e_application.Received(case_id, created=True, refused=True)
    document["consent"] = portal_consent(appeal, signature, received_at)
    case_id = await e_application.insert_case(
        conn, flow_id=REFERRAL, appeal=appeal, document=document, status=PlanStatus.active, now=now
    )
    await _opened(
        conn,
        ctx,
        case_id,
        form["iin"],
        routing.district_office,
        facts_record,
        "portal",
        service_steps.step_term(flow(), "portal_service", received_at, ctx),
        now,
        e_application.INTAKE_ACTOR,
    )
    # The provider is the district office of residence: the portal shows it at once.
    office = ctx.agencies.get(routing.district_office)
    for status in ("forwarded", "in_review"):
        await citizen_notices.portal_status(
            conn,
            ctx,
            case_id,
            PortalStatus(
                appeal_id=appeal["id"],
                status=status,
                district_office=(office.name_ru if office else routing.district_office)
                if status == "forwarded"
                else None,
            ),
            now,
        )
    return e_application.Received(case_id, created=True, refused=False)


def portal_consent(
    appeal: dict[str, Any], signature: dict[str, Any], received_at: datetime
) -> dict[str, Any] | None:
    """The consent p.5.1 asks of the applicant, as the portal gives it: the request itself,
    signed with the applicant's own ЭЦП (the portal's forms carry the consent to the use of
    legally protected information). A request without a verified signature gives none, and
    the registries are then not asked about the applicant under this purpose."""
    if signature.get("status") != "verified":
        return None
    return {
        "given": True,
        "signed_on": received_at.date().isoformat(),
        "document": f"заявление на портале № {appeal.get('number') or appeal['id']}, "
        "подписанное ЭЦП заявителя",
    }


async def _opened(
    conn: Any,
    ctx: Context,
    case_id: str,
    iin: str,
    office: str,
    facts_record: dict[str, Any],
    channel: str,
    term: rules.Deadline,
    now: datetime,
    actor: str,
) -> None:
    await timeline.record(
        conn,
        plan_id=case_id,
        at=now,
        actor=actor,
        type="case_opened",
        to_state=PlanStatus.active.value,
        data={
            "flow": REFERRAL,
            "channel": channel,
            "applicant": mask_iin(iin),
            "facts": facts_record,
        },
    )
    step = flow().step("service")
    await service_steps.open_step(
        conn,
        ctx,
        flow(),
        case_id=case_id,
        step=step.id,
        body=office,
        title=step.title.ru,
        clause=step.clause if channel == "portal" else load_standard().in_person_clause,
        iins=[iin],
        term=term,
        now=now,
        actor=actor,
    )


def in_person_term(start: datetime, ctx: Context) -> rules.Deadline:
    """30 minutes from handing in the documents (standard p.4.1): a term in minutes, not
    working days, warned at the same three quarters."""
    minutes = load_standard().in_person_minutes
    return rules.Deadline(
        kind=DeadlineKind.step,
        starts_at=start,
        warn_at=start + timedelta(minutes=minutes * 0.75),
        due_at=start + timedelta(minutes=minutes),
        calendar_version=ctx.calendar.version,
    )


async def open_in_person(
    conn: Any,
    ctx: Context,
    *,
    office: str,
    iin: str,
    kind_code: str,
    phone: str | None,
    facts: Facts,
    facts_record: dict[str, Any],
    idempotency_key: str | None,
    actor: str,
    now: datetime,
    consent: dict[str, Any] | None = None,
) -> tuple[str, bool]:
    """The provider's specialist accepts the documents in person: a case with 30 minutes.

    `consent` is the applicant's written consent the specialist takes at registration
    (p.5.1); without it the case holds none, and registry lookups under the referral's
    purpose are refused."""
    kind = load_standard().kind(kind_code)
    if kind is None:
        raise InvalidInput.field(
            "kind", f"unknown kind; one of {', '.join(k.code for k in load_standard().kinds)}"
        )
    if missing_facts(facts, on_portal=False):
        raise Conflict(f"{LABOUR_MARKET} did not answer: the registration cannot be checked now")
    rule = refusal_rule(facts, on_portal=False)
    if rule is not None:
        raise InvalidInput.field("iin", f"{rule.clause}: {rule.ru}")
    key = f"in-person:{office}:{idempotency_key}" if idempotency_key else None
    if key is not None:
        from sqlalchemy import select

        from gateway.store.tables import plans

        found = (
            await conn.execute(
                select(plans.c.id).where(
                    plans.c.centre == e_application.PORTAL, plans.c.idempotency_key == key
                )
            )
        ).scalar()
        if found is not None:
            return str(found), False
    from sqlalchemy import insert

    from gateway.ids import new_id
    from gateway.store.tables import plans

    case_id = new_id()
    document = {
        "channel": "in_person",
        "form": {"iin": iin, "phone": phone},
        "kind": {"code": kind.code, "ru": kind.ru, "kk": kind.kk, "clause": kind.clause},
        "facts": facts_record,
        "routing": {"district_office": office},
        "consent": consent,
    }
    await conn.execute(
        insert(plans).values(
            id=case_id,
            flow=REFERRAL,
            centre=e_application.PORTAL,
            external_id=None,
            status=PlanStatus.active.value,
            approved_at=now,
            created_at=now,
            family=document,
            grounds=[],
            created_by=actor,
            idempotency_key=key,
            request_hash=None,
        )
    )
    await _opened(
        conn,
        ctx,
        case_id,
        iin,
        office,
        facts_record,
        "in_person",
        in_person_term(now, ctx),
        now,
        actor,
    )
    return case_id, True


async def record_procedure(
    conn: Any, case_id: str, *, body: str | None, code: str, actor: str, now: datetime
) -> dict[str, Any]:
    """One procedure of the regulation done: its minutes are measured against its norm."""
    step = load_standard().step(code)
    if step is None:
        codes = ", ".join(p.code for p in load_standard().procedure)
        raise InvalidInput.field("step", f"unknown procedure; one of {codes}")
    case = await service_steps.load_case(conn, case_id, (REFERRAL,))
    task = await service_steps.open_task_of(conn, case, "service", body=body)
    await timeline.record(
        conn,
        plan_id=case_id,
        task_id=task.id,
        at=now,
        actor=actor,
        type="procedure_step",
        data={"code": code, "norm_minutes": step.minutes, "clause": step.clause},
    )
    rows = await procedure_report(conn, case_id, case.created_at)
    return rows[-1]


async def procedure_report(conn: Any, case_id: str, opened_at: datetime) -> list[dict[str, Any]]:
    from sqlalchemy import select

    recorded = (
        await conn.execute(
            select(events.c.at, events.c.data)
            .where(events.c.plan_id == case_id, events.c.type == "procedure_step")
            .order_by(events.c.id)
        )
    ).all()
    return procedure_against_norms(
        [{"at": r.at, "code": r.data["code"]} for r in recorded], opened_at
    )


def result_document(case: Any, *, office_name: str, issued_at: datetime) -> dict[str, Any]:
    """The referral as an e-document: its fields in canonical JSON and their SHA-256."""
    body = {
        "document": "Направление на участие в активных формах содействия занятости",
        "number": f"НАП-{case.id[:8]}",
        "kind": case.family["kind"],
        "applicant_iin": case.family["form"]["iin"],
        "provider": office_name,
        "issued_at": issued_at.isoformat(),
        "act": flow().act,
    }
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return {**body, "sha256": hashlib.sha256(canonical.encode()).hexdigest()}


async def decide(
    conn: Any,
    ctx: Context,
    case_id: str,
    *,
    body: str | None,
    decision: str,
    reason: str | None,
    actor: str,
    now: datetime,
) -> dict[str, Any]:
    """The head decides (regulation p.5.4): issue the referral, or refuse with the reason."""
    if decision not in ("issue", "refuse"):
        raise InvalidInput.field("decision", "must be issue or refuse")
    if decision == "refuse" and not (reason or "").strip():
        raise InvalidInput.field("reason", "a refusal needs its reason")
    case = await service_steps.load_case(conn, case_id, (REFERRAL,))
    task = await service_steps.open_task_of(conn, case, "service", body=body)
    office = ctx.agencies.get(task.agency)
    office_name = office.name_ru if office is not None else task.agency
    refused = decision == "refuse"
    document = None if refused else result_document(case, office_name=office_name, issued_at=now)
    await service_steps.close_step(
        conn,
        flow(),
        task,
        "refuse" if refused else "forward",
        actor=actor,
        reason=reason,
        data={"document_sha256": document["sha256"] if document else None},
        now=now,
    )
    family = dict(case.family)
    family["result"] = document
    await service_steps.set_document(conn, case_id, family)
    text = (
        f"Отказ в выдаче направления: {reason}"
        if refused
        else f"{document['document']} № {document['number']}: {case.family['kind']['ru']}; "  # type: ignore[index]
        f"обратитесь в {office_name}."
    )
    await service_steps.close_case(conn, case_id, refused=refused, reason=reason, now=now)
    if case.family.get("channel") == "portal":
        fresh = await service_steps.load_case(conn, case_id, (REFERRAL,))
        await e_application.tell_result(
            conn,
            ctx,
            fresh,
            refused=refused,
            result=text,
            now=now,
            document_url=f"/api/v1/employment-referrals/{case_id}/document" if document else None,
        )
    else:
        form = case.family["form"]
        await citizen_notices.tell_citizen(
            conn,
            ctx,
            case_id,
            iin=form["iin"],
            phone=form.get("phone"),
            title="Направление на участие в активных мерах содействия занятости",
            text=text,
            sms="Результат по направлению на меры содействия занятости: "
            "см. личный кабинет egov.kz.",
            appeal_id=None,
            document_url=f"/api/v1/employment-referrals/{case_id}/document" if document else None,
            now=now,
        )
    return {"decision": decision, "document": document}
