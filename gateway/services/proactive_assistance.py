"""The proactive check of targeted social assistance (order 109 p.12–18).

With no application, an employment centre checks whether a family that receives
targeted social assistance still meets its criteria: it asks, through the e-government
bus, the migration police (registration), the real estate register, the vehicle
register, the household book (plot), the enforcement proceedings system (alimony) and
the pension fund (income and pension contributions), each question with its purpose
and legal ground, written in the case and carried on the request. Then the per-capita
income is compared with the poverty line (`gateway.domain.targeted_assistance`), the
family is told (cabinet and SMS, through the outbox) and a specialist of the centre gets
the case, with its term. A registry that does not answer leaves its fact missing: the
check says which, tells the family nothing, and does not conclude.

The registry calls run before the case's transaction, never inside it.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import insert

from contracts.clock import to_almaty
from contracts.iin import mask_iin
from contracts.plans import PlanStatus
from gateway.domain.flow import Flow, load_flow
from gateway.domain.targeted_assistance import FACT_SOURCES, assess, load_config, period
from gateway.errors import Forbidden, InvalidInput
from gateway.ids import new_id
from gateway.services import citizen_notices, service_steps, timeline
from gateway.services.context import Context
from gateway.store.tables import plans

PROACTIVE = "proactive_assistance"


class Ground(Protocol):
    purpose: str
    legal_ground: str


class AspRegistries(Protocol):
    """`adapters.shep.AspFactsClient`, as this check uses it."""

    async def real_estate(self, iin: str, ground: Any) -> Any: ...
    async def vehicles(self, iin: str, ground: Any) -> Any: ...
    async def household_plots(self, iin: str, ground: Any) -> Any: ...
    async def alimony(self, iin: str, ground: Any) -> Any: ...
    async def pension_contributions(
        self, iin: str, first_month: str, last_month: str, ground: Any
    ) -> Any: ...


class Registrations(Protocol):
    async def registrations(self, iin: str) -> Any: ...


def flow() -> Flow:
    return load_flow(PROACTIVE)


def _items(values: Any) -> list[dict[str, Any]]:
    return [
        {
            k: (v.isoformat() if hasattr(v, "isoformat") else v)
            for k, v in (x.__dict__ if hasattr(x, "__dict__") else _slots(x)).items()
        }
        for x in values
    ]


def _slots(value: Any) -> dict[str, Any]:
    return {name: getattr(value, name) for name in value.__slots__}


async def gather(
    asp: AspRegistries,
    registrations: Registrations | None,
    members: list[str],
    *,
    ground_of: Any,
    now: datetime,
) -> tuple[dict[str, dict[str, Any]], list[dict[str, Any]]]:
    """Every fact of p.13 for every member at once; each query with its purpose and
    legal ground; a failure recorded as the missing fact, never raised."""
    config = load_config()
    first, last = period(to_almaty(now).date(), config.months)
    queries: list[dict[str, Any]] = []
    facts: dict[str, dict[str, Any]] = {fact: {} for fact in FACT_SOURCES}

    async def ask(fact: str, iin: str, call: Any) -> None:
        q = config.queries[fact]
        entry = {
            "fact": fact,
            "registry": FACT_SOURCES[fact],
            "subject": mask_iin(iin),
            "purpose": q["purpose"],
            "legal_ground": q["legal_ground"],
            "asked_at": now.isoformat(),
        }
        try:
            facts[fact][iin] = {"items": _items(await call)}
            entry["status"] = "answered"
        except Exception as error:  # another body's registry: any failure is "no answer"
            facts[fact][iin] = {"failed": f"{type(error).__name__}: {error}"[:300]}
            entry["status"] = "failed"
        queries.append(entry)

    calls = []
    for iin in members:
        calls += [
            ask("real_estate", iin, asp.real_estate(iin, ground_of("real_estate"))),
            ask("vehicles", iin, asp.vehicles(iin, ground_of("vehicles"))),
            ask("household_plot", iin, asp.household_plots(iin, ground_of("household_plot"))),
            ask("alimony", iin, asp.alimony(iin, ground_of("alimony"))),
            ask(
                "pension_contributions",
                iin,
                asp.pension_contributions(iin, first, last, ground_of("pension_contributions")),
            ),
        ]
        if registrations is not None:
            calls.append(ask("registration", iin, registrations.registrations(iin)))
        else:
            facts["registration"][iin] = {"failed": "the migration police is not connected"}
    await asyncio.gather(*calls)
    return facts, queries


async def open_check(
    conn: Any,
    ctx: Context,
    *,
    centre: str,
    applicant_iin: str,
    members: list[str],
    phone: str | None,
    facts: dict[str, dict[str, Any]],
    queries: list[dict[str, Any]],
    caller_id: str,
    actor: str,
    now: datetime,
) -> str:
    """The check's case: facts with sources, the assessment, the specialist's step, and
    the family told when (only when) the check concluded."""
    office = ctx.agencies.get(centre)
    if office is None or office.kind != "employment_centre":
        raise Forbidden("only an employment centre's system runs a proactive check")
    if applicant_iin not in members:
        raise InvalidInput.field("members", "must include the assistance recipient")
    config = load_config()
    assessment = assess(facts, members, config)
    case_id = new_id()
    document = {
        "channel": "proactive",
        "form": {"iin": applicant_iin, "phone": phone},
        "members": members,
        "facts": {
            fact: {mask_iin(iin): answer for iin, answer in by.items()}
            for fact, by in facts.items()
        },
        "queries": queries,
        "assessment": assessment,
        "routing": {"district_office": centre},
    }
    await conn.execute(
        insert(plans).values(
            id=case_id,
            flow=PROACTIVE,
            centre=centre,
            external_id=None,
            status=PlanStatus.active.value,
            approved_at=now,
            created_at=now,
            family=document,
            grounds=[],
            created_by=caller_id,
            idempotency_key=None,
            request_hash=None,
        )
    )
    await timeline.record(
        conn,
        plan_id=case_id,
        at=now,
        actor=actor,
        type="case_opened",
        to_state=PlanStatus.active.value,
        data={"flow": PROACTIVE, "applicant": mask_iin(applicant_iin), "members": len(members)},
    )
    await timeline.record(
        conn,
        plan_id=case_id,
        at=now,
        actor=actor,
        type="registry_queries",
        data={"queries": len(queries), "failed": sum(q["status"] == "failed" for q in queries)},
    )
    for q in queries:
        await timeline.record_access(
            conn,
            client_id=caller_id,
            action=f"asp_query:{q['fact']}"[:40],
            at=now,
            plan_id=case_id,
        )
    await timeline.record(
        conn,
        plan_id=case_id,
        at=now,
        actor="gateway",
        type="assessment" if assessment["concluded"] else "assessment_incomplete",
        reason=None
        if assessment["concluded"]
        else "нет сведений: "
        + "; ".join(f"{m['source']} ({m['fact']})" for m in assessment["missing"]),
        data={k: v for k, v in assessment.items() if k != "threshold"},
    )
    step = flow().step("review")
    await service_steps.open_step(
        conn,
        ctx,
        flow(),
        case_id=case_id,
        step=step.id,
        body=centre,
        title=step.title.ru,
        clause=step.clause,
        iins=members,
        term=service_steps.step_term(flow(), step.term, now, ctx),
        now=now,
        actor=actor,
    )
    if assessment["concluded"]:
        eligible = assessment["eligible_by_income"]
        verdict = "соответствует" if eligible else "не соответствует"
        text = (
            f"По сведениям государственных органов среднедушевой доход вашей семьи за "
            f"{config.months} мес. — {assessment['per_capita_income']} тг; черта бедности — "
            f"{assessment['poverty_line']} тг. Семья {verdict} критерию дохода для адресной "
            "социальной помощи. Специалист центра занятости свяжется с вами."
        )
        await citizen_notices.tell_citizen(
            conn,
            ctx,
            case_id,
            iin=applicant_iin,
            phone=phone,
            title="Адресная социальная помощь: проверка без заявления",
            text=text,
            sms="Центр занятости проверил право семьи на АСП: см. личный кабинет egov.kz.",
            appeal_id=None,
            now=now,
        )
    return case_id
