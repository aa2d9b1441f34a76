"""Reading the e-government flows' cases: an office's inbox and one case, for the API and
the pages alike. Every read of a case is written to the access log with the caller."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from contracts.plans import DeadlineState
from gateway.domain import deadlines as rules
from gateway.errors import Forbidden, NotFound
from gateway.services import employment_referral, timeline
from gateway.services.e_application import E_APPLICATION
from gateway.services.proactive_assistance import PROACTIVE
from gateway.store.tables import deadlines, events, plans, tasks

FLOWS = (E_APPLICATION, employment_referral.REFERRAL, PROACTIVE)


def _state(row: Any, now: datetime) -> DeadlineState:
    return rules.state_at(row.warn_at, row.due_at, row.met_at, now)


async def inbox(conn: AsyncConnection, body: str | None, now: datetime) -> list[dict[str, Any]]:
    """Open steps (of `body`, or all for None), breached first, then at risk, then due."""
    query = (
        select(
            tasks.c.plan_id,
            tasks.c.id,
            tasks.c.step,
            tasks.c.title,
            tasks.c.agency,
            deadlines.c.warn_at,
            deadlines.c.due_at,
            deadlines.c.met_at,
            plans.c.flow,
            plans.c.external_id,
            plans.c.created_at,
        )
        .join(deadlines, deadlines.c.task_id == tasks.c.id)
        .join(plans, plans.c.id == tasks.c.plan_id)
        .where(tasks.c.state == "created", plans.c.flow.in_(FLOWS))
        .order_by(deadlines.c.due_at)
    )
    if body is not None:
        query = query.where(tasks.c.agency == body)
    rows = (await conn.execute(query)).all()
    order = {DeadlineState.breached: 0, DeadlineState.at_risk: 1, DeadlineState.on_time: 2}
    items = [
        {
            "case_id": r.plan_id,
            "task_id": r.id,
            "flow": r.flow,
            "step": r.step,
            "title": r.title,
            "body": r.agency,
            "number": r.external_id,
            "opened_at": r.created_at,
            "due_at": r.due_at,
            "deadline": _state(r, now),
        }
        for r in rows
    ]
    return sorted(items, key=lambda i: (order[i["deadline"]], i["due_at"]))


async def read_case(
    conn: AsyncConnection, case_id: str, *, body: str | None, client_id: str, now: datetime
) -> dict[str, Any]:
    """The case for an office with a step in it (None: an admin), written to the access log."""
    case = (await conn.execute(select(plans).where(plans.c.id == case_id))).first()
    if case is None or case.flow not in FLOWS:
        raise NotFound(f"no case with id '{case_id}'")
    steps = (
        await conn.execute(select(tasks).where(tasks.c.plan_id == case_id).order_by(tasks.c.seq))
    ).all()
    if body is not None and body not in {s.agency for s in steps}:
        raise Forbidden("the caller's office has no step in this case")
    terms = (await conn.execute(select(deadlines).where(deadlines.c.plan_id == case_id))).all()
    history = (
        await conn.execute(select(events).where(events.c.plan_id == case_id).order_by(events.c.id))
    ).all()
    await timeline.record_access(
        conn, client_id=client_id, action="egov_case_read", at=now, plan_id=case_id
    )
    procedure = (
        await employment_referral.procedure_report(conn, case_id, case.created_at)
        if case.flow == employment_referral.REFERRAL
        else []
    )
    by_task = {t.task_id: t for t in terms}

    def stamp(value: datetime | None) -> str | None:
        return value.isoformat() if value is not None else None

    return {
        "id": case.id,
        "flow": case.flow,
        "status": case.status,
        "number": case.external_id,
        "opened_at": case.created_at.isoformat(),
        "document": case.family,
        "steps": [
            {
                "id": s.id,
                "step": s.step,
                "title": s.title,
                "clause": s.description,
                "body": s.agency,
                "state": s.state,
                "round": s.round,
                "decided_with": s.last_comment,
                "due_at": stamp(by_task[s.id].due_at) if s.id in by_task else None,
                "met_at": stamp(by_task[s.id].met_at) if s.id in by_task else None,
                "breached_at": stamp(by_task[s.id].breached_at) if s.id in by_task else None,
                "deadline": _state(by_task[s.id], now).value if s.id in by_task else None,
            }
            for s in steps
        ],
        "procedure": procedure,
        "timeline": [
            {
                "at": e.at.isoformat(),
                "actor": e.actor,
                "type": e.type,
                "task_id": e.task_id,
                "from_state": e.from_state,
                "to_state": e.to_state,
                "reason": e.reason,
                "data": e.data,
            }
            for e in history
        ],
    }
