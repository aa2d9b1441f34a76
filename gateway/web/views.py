"""What the workspace's pages show, computed from the store: the read side of the web.

The plan list is its own query rather than `queries.list_plans`: a worker needs the
family, every task's agency and state, and the plans ordered by urgency (breached before
at risk before on time, then the nearest due date), which the API's summary does not
carry and which has to be ordered in the store to page correctly.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import case, exists, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from contracts.clock import to_almaty
from contracts.iin import mask_iin
from contracts.plans import (
    DeadlineKind,
    DeadlineState,
    EventView,
    PlanStatus,
    PlanView,
    TaskState,
)
from gateway.agencies import Agencies
from gateway.auth import Caller
from gateway.calendar_sources import Dispute, crossed
from gateway.domain.deadlines import state_at
from gateway.errors import Forbidden
from gateway.incident_text import incident_text
from gateway.services.queries import PlanFilter
from gateway.store.tables import deadlines, plans, tasks
from gateway.web.i18n import translate

SEVERITY = {DeadlineState.on_time: 0, DeadlineState.at_risk: 1, DeadlineState.breached: 2}
BY_SEVERITY = {value: key for key, value in SEVERITY.items()}


def worst(states: list[DeadlineState]) -> DeadlineState | None:
    return max(states, key=SEVERITY.__getitem__) if states else None


def fmt_time(moment: datetime | None) -> str:
    """Almaty wall time, day first, as Kazakhstan writes dates in both languages."""
    return "" if moment is None else to_almaty(moment).strftime("%d.%m.%Y %H:%M")


def agency_name(agencies: Agencies, code: str, lang: str, *, short: bool = False) -> str:
    """The registry's name; `short` uses the usual Russian abbreviation «госорган» so
    that a list row's chips stay readable (Kazakh has no such settled short form)."""
    agency = agencies.get(code)
    if agency is None:
        return code
    if lang == "kk":
        return agency.name_kk
    if short:
        return agency.name_ru.replace("Государственный орган", "Госорган", 1)
    return agency.name_ru


def applicant(family: dict[str, Any]) -> dict[str, Any]:
    members = family.get("members") or [{}]
    return next((m for m in members if m.get("role") == "applicant"), members[0])


def family_label(family: dict[str, Any]) -> str:
    """Masked IIN and the surname's initial: enough to tell families apart in a list,
    too little to identify one (order 192 p.7.3, confidentiality)."""
    person = applicant(family)
    initial = (person.get("last_name") or "?")[:1].upper()
    return f"{mask_iin(str(person.get('iin', '')))} · {initial}."


@dataclass
class Chip:
    agency: str
    agency_name: str
    state: TaskState
    deadline: DeadlineState | None


@dataclass
class PlanRow:
    id: str
    external_id: str | None
    status: PlanStatus
    family: str
    severity: DeadlineState
    next_due: datetime | None
    next_due_kind: str | None
    chips: list[Chip] = field(default_factory=list)


def _severity_subquery(now: datetime) -> Any:
    """Per plan: the worst standing of its open deadlines and the nearest due time."""
    return (
        select(
            deadlines.c.plan_id,
            func.max(
                case(
                    (deadlines.c.due_at < now, 2),
                    (deadlines.c.warn_at <= now, 1),
                    else_=0,
                )
            ).label("severity"),
            func.min(deadlines.c.due_at).label("next_due"),
        )
        .where(deadlines.c.met_at.is_(None))
        .group_by(deadlines.c.plan_id)
        .subquery()
    )


async def plan_rows(
    conn: AsyncConnection,
    caller: Caller,
    flt: PlanFilter,
    agencies: Agencies,
    lang: str,
    now: datetime,
) -> tuple[list[PlanRow], int]:
    if caller.scope is None:
        raise Forbidden("the workspace shows one centre's plans")
    urgency = _severity_subquery(now)
    query = (
        select(
            plans.c.id,
            plans.c.external_id,
            plans.c.status,
            plans.c.family,
            func.coalesce(urgency.c.severity, 0).label("severity"),
            urgency.c.next_due,
        )
        .select_from(plans.outerjoin(urgency, urgency.c.plan_id == plans.c.id))
        .where(plans.c.centre == caller.scope, plans.c.flow == "ipr")
    )
    if flt.status:
        query = query.where(plans.c.status == flt.status.value)
    if flt.agency:
        query = query.where(
            exists().where(tasks.c.plan_id == plans.c.id, tasks.c.agency == flt.agency)
        )
    if flt.overdue is not None:
        overdue = exists().where(
            deadlines.c.plan_id == plans.c.id,
            deadlines.c.met_at.is_(None),
            deadlines.c.due_at < now,
        )
        query = query.where(overdue if flt.overdue else ~overdue)
    total = (await conn.execute(select(func.count()).select_from(query.subquery()))).scalar_one()
    rows = (
        await conn.execute(
            query.order_by(
                func.coalesce(urgency.c.severity, 0).desc(),
                case((urgency.c.next_due.is_(None), 1), else_=0),
                urgency.c.next_due,
                plans.c.created_at.desc(),
                plans.c.id,
            )
            .limit(flt.limit)
            .offset(flt.offset)
        )
    ).all()
    ids = [r.id for r in rows]
    task_rows: dict[str, list[Any]] = defaultdict(list)
    task_states: dict[str, list[DeadlineState]] = defaultdict(list)
    next_kind: dict[str, tuple[datetime, str]] = {}
    if ids:
        for t in await conn.execute(
            select(tasks.c.id, tasks.c.plan_id, tasks.c.agency, tasks.c.state)
            .where(tasks.c.plan_id.in_(ids))
            .order_by(tasks.c.plan_id, tasks.c.seq)
        ):
            task_rows[t.plan_id].append(t)
        for d in await conn.execute(select(deadlines).where(deadlines.c.plan_id.in_(ids))):
            if d.task_id:
                task_states[d.task_id].append(state_at(d.warn_at, d.due_at, d.met_at, now))
            if d.met_at is None:
                best = next_kind.get(d.plan_id)
                if best is None or d.due_at < best[0]:
                    next_kind[d.plan_id] = (d.due_at, d.kind)
    result = []
    for r in rows:
        result.append(
            PlanRow(
                id=r.id,
                external_id=r.external_id,
                status=PlanStatus(r.status),
                family=family_label(r.family),
                severity=BY_SEVERITY[int(r.severity)],
                next_due=r.next_due,
                next_due_kind=next_kind[r.id][1] if r.id in next_kind else None,
                chips=[
                    Chip(
                        agency=t.agency,
                        agency_name=agency_name(agencies, t.agency, lang, short=True),
                        state=TaskState(t.state),
                        deadline=worst(task_states[t.id]),
                    )
                    for t in task_rows[r.id]
                ],
            )
        )
    return result, total


@dataclass
class TimelineEntry:
    at: str
    who: str
    what: str
    states: str
    why: str


def actor_label(actor: str, agencies: Agencies, names: dict[str, str], lang: str) -> str:
    kind, _, rest = actor.partition(":")
    if actor == "gateway":
        return translate(lang, "actor_gateway")
    if actor == "gateway:relay":
        return translate(lang, "actor_relay")
    if actor == "gateway:deadline-watcher":
        return translate(lang, "actor_watcher")
    if kind == "agency":
        return agency_name(agencies, rest, lang)
    if kind == "centre":
        return translate(lang, "actor_centre_system")
    if kind == "admin":
        return translate(lang, "actor_admin")
    if kind == "staff":
        login = rest.split("@", 1)[0]
        return names.get(login, login)
    return actor


def _state_label(lang: str, state: str | None) -> str:
    if not state:
        return ""
    key = f"state_{state}"
    text = translate(lang, key)
    return state if text == key else text


def timeline_entry(
    event: EventView, agencies: Agencies, names: dict[str, str], lang: str
) -> TimelineEntry:
    what_key = f"event_{event.type}"
    what = translate(lang, what_key)
    if what == what_key:
        what = translate(lang, "event_other") + f" ({event.type})"
    data = event.data or {}
    if event.type in ("deadline_warning", "deadline_breached") and "kind" in data:
        what += ": " + translate(lang, f"deadline_{data['kind']}")
        if isinstance(data.get("due_at"), str):
            what += " — " + translate(
                lang, "due_by", when=fmt_time(datetime.fromisoformat(str(data["due_at"])))
            )
    if event.type == "task_rerouted" and isinstance(data.get("to_agency"), str):
        what += ": " + agency_name(agencies, str(data["to_agency"]), lang)
    states = ""
    if event.from_state and event.to_state and event.from_state != event.to_state:
        states = f"{_state_label(lang, event.from_state)} → {_state_label(lang, event.to_state)}"
    elif event.to_state and event.type not in ("plan_completed",):
        states = _state_label(lang, event.to_state)
    reason = incident_text(event.reason, lang) if event.type == "task_failed" else event.reason
    why_parts = [p for p in (reason, data.get("comment")) if isinstance(p, str) and p]
    return TimelineEntry(
        at=fmt_time(event.at),
        who=actor_label(event.actor, agencies, names, lang),
        what=what,
        states=states,
        why=" · ".join(why_parts),
    )


@dataclass
class TaskCard:
    id: str
    seq: int
    agency: str
    agency_name: str
    title: str
    description: str
    state: TaskState
    round: int
    worst: DeadlineState | None
    deadlines: list[dict[str, Any]]
    last_comment: str | None
    last_reason: str | None
    beneficiaries: list[str]


def disputed_days(disputes: Sequence[Dispute], starts_at: datetime, due_at: datetime) -> str:
    """The disputed days a term crosses, as the page shows them ('' when none)."""
    return "; ".join(f"{d.day:%d.%m.%Y} — {d.reason}" for d in crossed(disputes, starts_at, due_at))


def task_cards(
    view: PlanView, agencies: Agencies, lang: str, disputes: Sequence[Dispute] = ()
) -> list[TaskCard]:
    members = {m.iin: m for m in view.family.members}
    cards = []
    for task in view.tasks:
        dls = [
            {
                "kind": d.kind.value,
                "round": d.round,
                "state": d.state,
                "due": fmt_time(d.due_at),
                "met": fmt_time(d.met_at) if d.met_at else "",
                # Met ones too: whether a term was kept may depend on the disputed day.
                # The body's own due date is a calendar date, not counted in working days.
                "disputed": ""
                if d.kind is DeadlineKind.due_date
                else disputed_days(disputes, d.starts_at, d.due_at),
            }
            for d in task.deadlines
        ]
        cards.append(
            TaskCard(
                id=task.id,
                seq=task.seq,
                agency=task.agency,
                agency_name=agency_name(agencies, task.agency, lang),
                title=task.title,
                description=task.description,
                state=task.state,
                round=task.round,
                worst=worst([d.state for d in task.deadlines if d.met_at is None])
                or worst([d.state for d in task.deadlines]),
                deadlines=dls,
                last_comment=task.last_comment,
                last_reason=task.last_reason,
                beneficiaries=[
                    f"{members[i].last_name} {members[i].first_name[:1]}."
                    for i in task.beneficiary_iins
                    if i in members
                ],
            )
        )
    return cards
