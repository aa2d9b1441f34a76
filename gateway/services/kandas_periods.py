"""A career centre's periodic duties on kandas adaptation, as watched cases (order 170).

- p.39: the appendix 3 report for a month, to the local executive body by the 5th of the
  next month (`kandas_monthly_report`, one case per career centre and month);
- p.47-50: the workforce development centre's quality scores of a career centre for a
  quarter by the 5th of the month after it, and the conclusion to the authorised body by
  the 25th (`kandas_quality`, one case per career centre and quarter).

Each period is a row of `plans` of its flow, so its terms are rows of `deadlines` that the
one deadline watcher warns and breaches, and what happened is on its timeline. The cases
are opened when the period ends (the adaptation worker's pass) or when someone acts on
the period first, whichever comes first; the idempotency key makes it one case.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from contracts.clock import ALMATY, to_almaty
from contracts.plans import DeadlineKind, PlanStatus
from gateway.auth import Caller, ClientKind
from gateway.domain import kandas_quality
from gateway.domain.deadlines import WARN_FRACTION, Deadline
from gateway.errors import Conflict, Forbidden, InvalidInput, NotFound
from gateway.ids import new_id
from gateway.reports import kandas_monthly
from gateway.reports.quarter import Quarter, QuarterError, parse_quarter
from gateway.services import deadline_store, timeline
from gateway.services.context import Context
from gateway.store.tables import (
    deadlines,
    kandas_adaptations,
    kandas_quality_scores,
    kandas_work_reports,
    plans,
)

MONTHLY = "kandas_monthly_report"
QUALITY = "kandas_quality"
ACTOR = "gateway:periods"
WDC_KIND = "workforce_development_centre"


def _end_of(day: date) -> datetime:
    return datetime.combine(day, time(23, 59, 59), tzinfo=ALMATY)


def _calendar_term(kind: DeadlineKind, start: date, due: date, version: str) -> Deadline:
    """A term that ends on a calendar day ("by the 5th"), warned at three quarters."""
    starts_at = datetime.combine(start, time(0), tzinfo=ALMATY)
    due_at = _end_of(due)
    return Deadline(
        kind=kind,
        starts_at=starts_at,
        warn_at=starts_at + (due_at - starts_at) * WARN_FRACTION,
        due_at=due_at,
        calendar_version=version,
    )


async def period_case(
    conn: AsyncConnection,
    ctx: Context,
    flow: str,
    centre: str,
    period: str,
    terms: list[Deadline],
    now: datetime,
) -> Any:
    """The period's case, opened with its terms if it is not there yet."""
    key = f"{flow}:{period}"
    query = select(plans).where(plans.c.centre == centre, plans.c.idempotency_key == key)
    row = (await conn.execute(query)).first()
    if row is not None:
        return row
    case_id = new_id()
    await conn.execute(
        plans.insert().values(
            id=case_id,
            flow=flow,
            centre=centre,
            external_id=period,
            status=PlanStatus.active.value,
            approved_at=now,
            created_at=now,
            family={"career_centre": centre, "period": period},
            grounds=[],
            created_by=ACTOR,
            idempotency_key=key,
        )
    )
    for term in terms:
        await deadline_store.open_deadline(conn, term, plan_id=case_id, task_id=None)
    await timeline.record(
        conn,
        plan_id=case_id,
        at=now,
        actor=ACTOR,
        type="period_opened",
        data={"flow": flow, "period": period, "due": [t.due_at.isoformat() for t in terms]},
    )
    return (await conn.execute(query)).one()


def monthly_terms(month: str, ctx: Context) -> list[Deadline]:
    _, following = kandas_monthly.month_bounds(month)
    due = following.replace(day=5)
    return [_calendar_term(DeadlineKind.monthly_report, following, due, ctx.calendar.version)]


def quality_terms(
    quarter: Quarter, rules: kandas_quality.QualityRules, ctx: Context
) -> list[Deadline]:
    after = quarter.next_first_day
    v = ctx.calendar.version
    return [
        _calendar_term(
            DeadlineKind.evaluation, after, after.replace(day=rules.evaluation_due_day), v
        ),
        _calendar_term(
            DeadlineKind.conclusion, after, after.replace(day=rules.conclusion_due_day), v
        ),
    ]


async def _meet(conn: AsyncConnection, case_id: str, kind: DeadlineKind, now: datetime) -> None:
    await conn.execute(
        update(deadlines)
        .where(
            deadlines.c.plan_id == case_id,
            deadlines.c.kind == kind.value,
            deadlines.c.met_at.is_(None),
        )
        .values(met_at=now)
    )


def _previous_month(today: date) -> str:
    last = today.replace(day=1) - timedelta(days=1)
    return f"{last.year:04d}-{last.month:02d}"


async def open_due_periods(
    engine: AsyncEngine, ctx: Context, rules: kandas_quality.QualityRules, now: datetime
) -> int:
    """At each period's end, the cases of every career centre that had families in it."""
    today = to_almaty(now).date()
    month = _previous_month(today)
    _, month_end = kandas_monthly.month_bounds(month)
    quarter = Quarter.of(now).previous()
    opened = 0
    async with engine.begin() as conn:
        rows = (
            await conn.execute(
                select(kandas_adaptations.c.career_centre, kandas_adaptations.c.approved_at)
            )
        ).all()
        centres_month = {
            r.career_centre for r in rows if to_almaty(r.approved_at).date() < month_end
        }
        centres_quarter = {r.career_centre for r in rows if r.approved_at < quarter.end}
        for centre in sorted(centres_month):
            before = await _exists(conn, centre, f"{MONTHLY}:{month}")
            await period_case(conn, ctx, MONTHLY, centre, month, monthly_terms(month, ctx), now)
            opened += not before
        for centre in sorted(centres_quarter):
            before = await _exists(conn, centre, f"{QUALITY}:{quarter.label}")
            await period_case(
                conn, ctx, QUALITY, centre, quarter.label, quality_terms(quarter, rules, ctx), now
            )
            opened += not before
    return opened


async def _exists(conn: AsyncConnection, centre: str, key: str) -> bool:
    return (
        await conn.execute(
            select(plans.c.id).where(plans.c.centre == centre, plans.c.idempotency_key == key)
        )
    ).first() is not None


async def monthly_report(
    conn: AsyncConnection, career_centre: str, month: str
) -> kandas_monthly.MonthlyReport:
    """Appendix 3 for the centre's month, from the gateway's own work reports."""
    try:
        kandas_monthly.month_bounds(month)
    except ValueError as error:
        raise InvalidInput.field("month", str(error).removeprefix("month: ")) from None
    adaptations = (
        await conn.execute(
            select(kandas_adaptations).where(kandas_adaptations.c.career_centre == career_centre)
        )
    ).all()
    reports = (
        await conn.execute(
            select(kandas_work_reports).where(
                kandas_work_reports.c.adaptation_id.in_([a.id for a in adaptations])
            )
        )
    ).all()
    return kandas_monthly.build(career_centre, month, [_Approved(a) for a in adaptations], reports)


@dataclass(frozen=True, slots=True)
class _Approved:
    row: Any

    @property
    def id(self) -> str:
        return str(self.row.id)

    @property
    def approved_on(self) -> date:
        return to_almaty(self.row.approved_at).date()

    @property
    def members(self) -> list[dict[str, Any]]:
        return list(self.row.members)


def readable_by(caller: Caller, ctx: Context, career_centre: str) -> bool:
    """The centre itself, its region's local executive body, the evaluators, an admin."""
    if caller.kind is ClientKind.admin:
        return True
    if caller.kind is not ClientKind.agency or caller.scope is None:
        return False
    if caller.scope == career_centre:
        return True
    centre, me = ctx.agencies.get(career_centre), ctx.agencies.get(caller.scope)
    if centre is None or me is None:
        return False
    if me.kind == "local_executive_body" and me.region == centre.region:
        return True
    return me.kind == WDC_KIND


async def deliver_monthly(
    conn: AsyncConnection, ctx: Context, caller: Caller, month: str, now: datetime
) -> tuple[Any, kandas_monthly.MonthlyReport]:
    """p.39: the career centre delivers the month's report to its local executive body."""
    centre = ctx.agencies.get(caller.scope or "")
    if caller.kind is not ClientKind.agency or centre is None or centre.kind != "career_centre":
        raise Forbidden("the monthly report is delivered by a career centre")
    leb = ctx.agencies.body_for("local_executive_body", centre.region or "")
    if leb is None:
        raise Conflict(f"no connected local executive body of '{centre.region}'")
    report = await monthly_report(conn, centre.code, month)
    case = await period_case(conn, ctx, MONTHLY, centre.code, month, monthly_terms(month, ctx), now)
    _, following = kandas_monthly.month_bounds(month)
    document = dict(case.family)
    deliveries = list(document.get("deliveries", []))
    deliveries.append(
        {
            "at": now.isoformat(),
            "to": leb.code,
            "rows": [list(r) for r in report.rows],
            "before_month_end": to_almaty(now).date() < following,
        }
    )
    document["deliveries"] = deliveries
    await conn.execute(update(plans).where(plans.c.id == case.id).values(family=document))
    await _meet(conn, case.id, DeadlineKind.monthly_report, now)
    await timeline.record(
        conn,
        plan_id=case.id,
        at=now,
        actor=caller.actor,
        type="monthly_report_delivered",
        data={
            "month": month,
            "to": leb.code,
            "rows": len(report.rows),
            "before_month_end": deliveries[-1]["before_month_end"],
            "clause": "order 170 p.39, appendix 3",
        },
    )
    return case, report


def _quarter(text: str) -> Quarter:
    try:
        return parse_quarter(text)
    except QuarterError as error:
        raise InvalidInput.field("quarter", str(error)) from None


def _evaluator(ctx: Context, caller: Caller) -> str:
    me = ctx.agencies.get(caller.scope or "")
    if caller.kind is not ClientKind.agency or me is None or me.kind != WDC_KIND:
        raise Forbidden("quality is scored by the workforce development centre (p.47)")
    return me.code


async def evaluate(
    conn: AsyncConnection,
    ctx: Context,
    caller: Caller,
    rules: kandas_quality.QualityRules,
    *,
    career_centre: str,
    quarter: str,
    scores: dict[str, int],
    comment: str,
    now: datetime,
) -> Any:
    """p.47-49: a career centre's quarter scored; the bands a total falls in, not a guess."""
    _evaluator(ctx, caller)
    centre = ctx.agencies.get(career_centre)
    if centre is None or centre.kind != "career_centre":
        raise InvalidInput.field("career_centre", "is not a connected career centre")
    period = _quarter(quarter)
    try:
        result = kandas_quality.score(rules, scores)
    except ValueError as error:
        field, _, reason = str(error).partition(": ")
        raise InvalidInput.field(field, reason) from None
    case = await period_case(
        conn, ctx, QUALITY, career_centre, period.label, quality_terms(period, rules, ctx), now
    )
    seen = (
        await conn.execute(
            select(kandas_quality_scores.c.id).where(
                kandas_quality_scores.c.period_case_id == case.id
            )
        )
    ).first()
    if seen is not None:
        raise Conflict(f"{career_centre} is already scored for {period.label}")
    await conn.execute(
        kandas_quality_scores.insert().values(
            period_case_id=case.id,
            career_centre=career_centre,
            quarter=period.label,
            scores=scores,
            total=result.total,
            bands=[b.key for b in result.bands],
            comment=comment,
            evaluated_at=now,
            evaluated_by=caller.client_id,
        )
    )
    await _meet(conn, case.id, DeadlineKind.evaluation, now)
    await timeline.record(
        conn,
        plan_id=case.id,
        at=now,
        actor=caller.actor,
        type="quality_evaluated",
        data={
            "scores": scores,
            "total": result.total,
            "bands": [b.key for b in result.bands],
            "band": result.band_key,
            "clause": "order 170 p.47-49",
        },
    )
    return case


async def send_conclusion(
    conn: AsyncConnection,
    ctx: Context,
    caller: Caller,
    career_centre: str,
    quarter: str,
    now: datetime,
) -> None:
    """p.50: the conclusion on the quarter goes to the authorised body by the 25th."""
    _evaluator(ctx, caller)
    period = _quarter(quarter)
    row = (
        await conn.execute(
            select(kandas_quality_scores).where(
                kandas_quality_scores.c.career_centre == career_centre,
                kandas_quality_scores.c.quarter == period.label,
            )
        )
    ).first()
    if row is None:
        raise NotFound(f"{career_centre} is not scored for {period.label} yet")
    if row.conclusion_sent_at is not None:
        return
    await conn.execute(
        update(kandas_quality_scores)
        .where(kandas_quality_scores.c.id == row.id)
        .values(conclusion_sent_at=now)
    )
    await _meet(conn, row.period_case_id, DeadlineKind.conclusion, now)
    await timeline.record(
        conn,
        plan_id=row.period_case_id,
        at=now,
        actor=caller.actor,
        type="quality_conclusion_sent",
        data={"to": "authorised body (migration of the population)", "clause": "order 170 p.50"},
    )


async def evaluations(conn: AsyncConnection, quarter: str | None = None) -> list[Any]:
    query = select(kandas_quality_scores).order_by(
        kandas_quality_scores.c.quarter.desc(), kandas_quality_scores.c.career_centre
    )
    if quarter:
        query = query.where(kandas_quality_scores.c.quarter == _quarter(quarter).label)
    return list((await conn.execute(query)).all())


async def period_terms(conn: AsyncConnection, flow: str, centre: str | None = None) -> list[Any]:
    """The period cases of a flow with their terms, newest first: for the pages."""
    query = (
        select(plans.c.id, plans.c.centre, plans.c.external_id, deadlines)
        .join(deadlines, deadlines.c.plan_id == plans.c.id)
        .where(plans.c.flow == flow)
        .order_by(plans.c.external_id.desc(), deadlines.c.kind)
    )
    if centre:
        query = query.where(plans.c.centre == centre)
    return list((await conn.execute(query)).all())
