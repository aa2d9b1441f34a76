"""Five years of monitoring a kandas family (order 170 p.40-46).

Each family has sixteen runs (`gateway.domain.kandas_schedule`): quarterly for three
years, half-yearly in years four and five, then none. A run gathers facts from three
systems and records what each said, or that it did not answer:

- the Kandas system: the plan's services done (p.44);
- the digital family card: the family as the card holds it (p.44);
- the migration police: is each member registered in the settlement region now (p.45)?
  Only a current registration elsewhere made after the family's inclusion in the quota
  counts as leaving; the registration from before the move is "not registered in the
  settlement region yet", a finding for the career centre, not a p.46 case.

A police answer that is missing or malformed is "no answer", never "moved away": only a
current registration in another region is evidence of leaving. When a member is found
registered elsewhere, the run opens a p.46 case (return of state support, by the rules
of order 234) for the local executive body to decide; the gateway decides nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, Protocol

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from adapters.police_migration.residence import same_region
from contracts.clock import to_almaty
from contracts.plans import PlanStatus
from gateway.auth import Caller
from gateway.domain import kandas_geo, kandas_schedule
from gateway.errors import Conflict, Forbidden, InvalidInput, NotFound
from gateway.ids import new_id
from gateway.services import kandas_adaptation, timeline
from gateway.store.tables import kandas_adaptations, kandas_monitoring_runs, plans

ACTOR = "gateway:monitoring"
SUPPORT_RETURN = "kandas_support_return"
ON_DEMAND_BASE = 1000
"""On-demand runs (a person asked for one) are numbered from here, apart from the act's 16."""


class KandasReader(Protocol):
    async def plan(self, plan_id: str) -> Any: ...


class CardReader(Protocol):
    async def family(self, iin: str) -> Any: ...


class RegistrationLike(Protocol):
    @property
    def kind(self) -> str: ...
    @property
    def region(self) -> str: ...
    @property
    def registered_from(self) -> date: ...

    def current_on(self, day: date) -> bool: ...


class ResidenceChecker(Protocol):
    """The migration police's registrations of a person
    (`adapters.police_migration.PoliceResidenceChecker`)."""

    async def registrations_of(self, iin: str) -> Sequence[RegistrationLike]: ...


def residence_answer(
    registrations: Sequence[RegistrationLike], region: str, quota_date: date, today: date
) -> str:
    """p.45 for one person, from what the police hold:

    - `residing`: a current registration in the settlement region;
    - `registered_elsewhere`: current registrations only elsewhere, one of them made after
      the family's inclusion in the quota: evidence of moving away (p.46);
    - `not_registered_in_settlement`: only the registration from before the move, so the
      person has not registered where they settled: a finding, not evidence of leaving;
    - `no_current_registration`: the police hold nothing current.
    """
    current = [r for r in registrations if r.current_on(today)]
    if not current:
        return "no_current_registration"
    names = kandas_geo.region_names(region)
    if any(same_region(r.region, name) for r in current for name in names):
        return "residing"
    if any(r.registered_from > quota_date for r in current):
        return "registered_elsewhere"
    return "not_registered_in_settlement"


def _why(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"[:300]


async def gather(
    row: Any,
    kandas: KandasReader | None,
    card: CardReader | None,
    police: ResidenceChecker | None,
    today: date,
) -> tuple[str, dict[str, Any]]:
    """The facts of one run and its outcome: `residing`, `not_residing` (p.46),
    `not_registered` (someone has no registration in the settlement region, none newer
    elsewhere either) or `no_answer`."""
    findings: dict[str, Any] = {"as_of": today.isoformat()}
    if kandas is None or row.kandas_plan_id is None:
        reason = "not configured" if kandas is None else "the plan is not uploaded yet"
        findings["kandas"] = {"answer": "no_answer", "reason": reason}
    else:
        try:
            plan = await kandas.plan(row.kandas_plan_id)
            services = [s for m in plan.members for s in m.services]
            findings["kandas"] = {
                "answer": "ok",
                "services_planned": len(services),
                "services_done": sum(1 for s in services if s.status == "done"),
            }
        except Exception as error:
            findings["kandas"] = {"answer": "no_answer", "reason": _why(error)}
    if card is None:
        findings["family_card"] = {"answer": "no_answer", "reason": "not configured"}
    else:
        try:
            family = await card.family(row.kandas_iin)
            findings["family_card"] = {
                "answer": "ok",
                "family_id": family.family_id,
                "members": len(family.members),
                "as_of": str(family.as_of),
            }
        except Exception as error:
            findings["family_card"] = {"answer": "no_answer", "reason": _why(error)}
    residence: list[dict[str, Any]] = []
    for member in row.members:
        entry: dict[str, Any] = {"iin": member["iin"]}
        if police is None:
            entry |= {"answer": "no_answer", "reason": "not configured"}
        else:
            try:
                found = await police.registrations_of(member["iin"])
                entry["answer"] = residence_answer(found, row.region, row.quota_date, today)
                entry["registrations"] = [
                    {"kind": r.kind, "region": r.region, "from": r.registered_from.isoformat()}
                    for r in found
                ]
            except Exception as error:  # unavailable, refused or malformed: no answer
                entry = {"iin": member["iin"], "answer": "no_answer", "reason": _why(error)}
        residence.append(entry)
    findings["migration_police"] = residence
    answers = {e["answer"] for e in residence}
    if "registered_elsewhere" in answers:
        outcome = "not_residing"
    elif "no_answer" in answers or not residence:
        outcome = "no_answer"
    elif answers == {"residing"}:
        outcome = "residing"
    else:  # someone not (yet) registered where the family settled: a finding to follow up
        outcome = "not_registered"
    return outcome, findings


async def _open_support_return(
    conn: AsyncConnection, row: Any, seq: int, findings: dict[str, Any], now: datetime
) -> str:
    """p.46: a case for the local executive body; the return is a person's decision."""
    away = [e["iin"] for e in findings["migration_police"] if e["answer"] == "registered_elsewhere"]
    case_id = new_id()
    await conn.execute(
        plans.insert().values(
            id=case_id,
            flow=SUPPORT_RETURN,
            centre=row.leb,
            external_id=f"{row.id}:{seq}",
            status=PlanStatus.active.value,
            approved_at=now,
            created_at=now,
            family={
                "adaptation_id": row.id,
                "application_case_id": row.case_id,
                "kandas_iin": row.kandas_iin,
                "region": row.region,
                "registered_elsewhere": away,
                "monitoring_seq": seq,
                "clause": "order 170 p.46 (return of state support under order No. 234)",
            },
            grounds=[],
            created_by=ACTOR,
            idempotency_key=f"{SUPPORT_RETURN}:{row.id}:{seq}",
        )
    )
    for plan_id in (case_id, row.case_id):
        await timeline.record(
            conn,
            plan_id=plan_id,
            at=now,
            actor=ACTOR,
            type="support_return_opened",
            data={"support_return_case": case_id, "members": len(away), "monitoring_seq": seq},
        )
    return case_id


async def record_run(
    engine: AsyncEngine,
    row: Any,
    seq: int,
    cadence: str,
    due_on: date,
    outcome: str,
    findings: dict[str, Any],
    now: datetime,
) -> bool:
    async with engine.begin() as conn:
        seen = (
            await conn.execute(
                select(kandas_monitoring_runs.c.id).where(
                    kandas_monitoring_runs.c.adaptation_id == row.id,
                    kandas_monitoring_runs.c.seq == seq,
                )
            )
        ).first()
        if seen is not None:  # another worker recorded it meanwhile
            return False
        return_case = None
        if outcome == "not_residing":
            return_case = await _open_support_return(conn, row, seq, findings, now)
        await conn.execute(
            kandas_monitoring_runs.insert().values(
                adaptation_id=row.id,
                seq=seq,
                cadence=cadence,
                due_on=due_on,
                run_at=now,
                outcome=outcome,
                findings=findings,
                return_case_id=return_case,
            )
        )
        await timeline.record(
            conn,
            plan_id=row.case_id,
            at=now,
            actor=ACTOR,
            type="monitoring_run",
            data={"seq": seq, "cadence": cadence, "due_on": due_on.isoformat(), "outcome": outcome},
        )
    return True


async def _done(conn: AsyncConnection, adaptation_id: str) -> set[int]:
    return set(
        (
            await conn.execute(
                select(kandas_monitoring_runs.c.seq).where(
                    kandas_monitoring_runs.c.adaptation_id == adaptation_id
                )
            )
        ).scalars()
    )


async def run_due(
    engine: AsyncEngine,
    kandas: KandasReader | None,
    card: CardReader | None,
    police: ResidenceChecker | None,
    now: datetime,
) -> int:
    """Every owed scheduled run of every family still in its five years."""
    today = to_almaty(now).date()
    async with engine.connect() as conn:
        rows = (await conn.execute(select(kandas_adaptations))).all()
    recorded = 0
    for row in rows:
        async with engine.connect() as conn:
            done = await _done(conn, row.id)
        for slot in kandas_schedule.due(row.quota_date, today, done):
            outcome, findings = await gather(row, kandas, card, police, today)
            recorded += await record_run(
                engine, row, slot.seq, slot.cadence, slot.due_on, outcome, findings, now
            )
    return recorded


async def run_now(
    engine: AsyncEngine,
    caller: Caller,
    adaptation_id: str,
    kandas: KandasReader | None,
    card: CardReader | None,
    police: ResidenceChecker | None,
    now: datetime,
) -> int:
    """A run a person asked for, outside the schedule (numbered from 1001)."""
    async with engine.connect() as conn:
        row = await kandas_adaptation.load_for(conn, adaptation_id, caller)
        if caller.scope != row.career_centre:
            raise Forbidden("monitoring is run by the family's career centre")
        extra = (
            await conn.execute(
                select(func.count())
                .select_from(kandas_monitoring_runs)
                .where(
                    kandas_monitoring_runs.c.adaptation_id == adaptation_id,
                    kandas_monitoring_runs.c.seq > ON_DEMAND_BASE,
                )
            )
        ).scalar_one()
    today = to_almaty(now).date()
    outcome, findings = await gather(row, kandas, card, police, today)
    seq = ON_DEMAND_BASE + int(extra) + 1
    await record_run(engine, row, seq, "on_demand", today, outcome, findings, now)
    return seq


async def runs_of(conn: AsyncConnection, adaptation_id: str) -> list[Any]:
    return list(
        (
            await conn.execute(
                select(kandas_monitoring_runs)
                .where(kandas_monitoring_runs.c.adaptation_id == adaptation_id)
                .order_by(kandas_monitoring_runs.c.seq)
            )
        ).all()
    )


def schedule_view(quota_date: date, runs: Sequence[Any], today: date) -> list[dict[str, Any]]:
    """The sixteen slots with what each run found (or that it is owed / still ahead)."""
    by_seq = {r.seq: r for r in runs}
    out = []
    for slot in kandas_schedule.schedule(quota_date):
        run = by_seq.get(slot.seq)
        out.append(
            {
                "seq": slot.seq,
                "cadence": slot.cadence,
                "due_on": slot.due_on.isoformat(),
                "state": "done" if run else ("owed" if slot.due_on <= today else "ahead"),
                "outcome": run.outcome if run else None,
                "run_at": to_almaty(run.run_at).isoformat() if run else None,
            }
        )
    return out


async def decide_support_return(
    conn: AsyncConnection, caller: Caller, case_id: str, decision: str, reason: str, now: datetime
) -> None:
    """p.46: the local executive body's person decides; the gateway records who and why."""
    case = (
        await conn.execute(
            select(plans).where(plans.c.id == case_id, plans.c.flow == SUPPORT_RETURN)
        )
    ).first()
    if case is None or caller.scope != case.centre:
        raise NotFound("no such support-return case")
    if case.status != PlanStatus.active.value:
        raise Conflict(f"the case is {case.status}")
    if decision not in ("return", "no_return"):
        raise InvalidInput.field("decision", "must be 'return' or 'no_return'")
    if not reason.strip():
        raise InvalidInput.field("reason", "is required: the decision must say why")
    await conn.execute(
        update(plans)
        .where(plans.c.id == case_id)
        .values(status=PlanStatus.completed.value, completed_at=now, cancel_reason=None)
    )
    await timeline.record(
        conn,
        plan_id=case_id,
        at=now,
        actor=caller.actor,
        type="support_return_decided",
        reason=reason,
        data={"decision": decision},
    )
