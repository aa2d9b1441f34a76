"""The quarterly monitoring report of a family support centre (order No. 192, p.13–14).

Each quarter the centre monitors the bodies' joint work on its plans, taking the changes of
the families' social status in the digital family card into account, and writes a
conclusion on how effective each body's work was. This module turns the store's timeline
into those figures; `conclusion` turns the figures into the text.

Definitions (repeated in Russian in the report's notes, so a reader of the export sees
them too):

- Quarter: Almaty wall time, half-open: `2026Q3` is [1 July 00:00, 1 October 00:00).
- Cut-off: the quarter's end, or the moment the report is built if that is earlier (the
  report is then marked preliminary). Only timeline events before the cut-off count, so a
  report for a past quarter gives the same figures whenever it is rebuilt.
- Received: a task whose `task_created` event falls in the quarter. Creation is the
  moment the centre hands the activity to the gateway and the routing clock is already
  running from the plan's approval; `task_dispatched` is the relay's publish, a transport
  detail that a restart can delay. Every other figure is about this cohort of tasks: a task
  received in June and accepted in July counts in neither quarter's acceptance figures.
- Delivered within the routing limit: the task's first `task_delivered` event (the
  gateway's receipt of the body's first word, README) is before the cut-off and not later
  than the routing deadline's due time (two working days after approval, p.9).
- Reported: at least one `agency_report` event that moved the task to `reported` (a
  `done` report the gateway applied).
- Accepted on the first report: a `task_accepted` event and no `task_returned` event,
  i.e. accepted in round 0.
- Returned for rework: the number of `task_returned` events (a task returned twice counts
  twice).
- Rejected by the body, delivery failed, cancelled: tasks with an `agency_report` to
  `rejected_by_agency`, a `task_failed`, a `task_cancelled` event.
- Breached, by kind (routing, review, due_date): stored deadlines whose due time is before
  the cut-off and that were not met by their due time (met late, or still unmet at the
  cut-off). Stored deadlines rather than the watcher's `deadline_breached` events, because
  the watcher records a breach only if it scans while the deadline is still open: a
  deadline met late between two scans, or while no watcher ran, is a breach in law all the
  same. Review deadlines are counted per round, so one task can breach review twice.
- Whose breach: the routing term (p.9, sending the plan to the body) and the review term
  (p.11, checking the body's report or refusal) are the centre's duties; the term set in
  the plan (p.10) is the body's. Every format keeps them apart: the bodies' table has the
  body's term only, the centre's table has its two terms per body whose task they concern,
  and the conclusion attributes them to the centre, never to the body.
- Tasks with a breach: distinct received tasks with at least one breach of the three kinds.
- Median working days from delivery to acceptance: the calendar's
  `working_days_between(first task_delivered, task_accepted)` over the received tasks that
  have both before the cut-off.
- Families monitored: families of the centre's plans open at some moment of the quarter
  (created before its end, not completed or cancelled before its start); their status
  changes come from the digital family card (a `FamilyCardSource`, the ЦКС adapter) for
  the quarter's days up to the cut-off, asked once per report. The report carries the
  card's address and the moment of the answer, or, with no answer, the reason: then the
  families' changes are "no data", not zero.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from contracts.clock import Clock, ManualClock, to_almaty
from gateway.agencies import Agencies, load_agencies
from gateway.reports.conclusion import Conclusion, Finding, conclude
from gateway.reports.family_card import FamilyCardReading, FamilyCardSource, read_family_card
from gateway.reports.figures import AgencyFigures, FamilyStatus
from gateway.reports.quarter import Quarter
from gateway.store.tables import deadlines, events, plans, tasks
from gateway.workdays import WorkingCalendar, default_calendar

__all__ = [
    "BODY_KINDS",
    "BREACH_KINDS",
    "CENTRE_KINDS",
    "AgencyFigures",
    "Conclusion",
    "DeadlineRow",
    "EventRow",
    "FamilyRow",
    "FamilyStatus",
    "Finding",
    "QuarterRows",
    "QuarterlyReport",
    "TaskRow",
    "agency_name_ru",
    "breached_by",
    "build_quarterly_report",
    "cohort",
    "compute_agency_figures",
    "compute_report",
    "load_rows",
    "monitoring_days",
]

BREACH_KINDS = ("routing", "review", "due_date")
#: Whose duty each term is: sending within two working days (p.9) and checking a report
#: (p.11) are the centre's; the term set in the plan for the activity (p.10) is the body's.
CENTRE_KINDS = frozenset({"routing", "review"})
BODY_KINDS = frozenset({"due_date"})

#: Short Russian names for the report's tables; an agency missing here is shown by its
#: registry name, so connecting a new body needs no change to this module.
SHORT_NAMES_RU: dict[str, str] = {
    "education": "Образование",
    "health": "Здравоохранение",
    "employment": "Занятость населения",
    "social_protection": "Социальная защита",
    "sport": "Спорт",
    "culture": "Культура",
    "tourism": "Туризм",
    "family_policy": "Общественное развитие и семейная политика",
    "housing": "Жилищные отношения",
    "youth_policy": "Молодёжная политика",
    "internal_policy": "Внутренняя политика",
    "internal_affairs": "Внутренние дела",
}

NOTES_RU: tuple[str, ...] = (
    "Квартал — по времени Алматы, с 00:00 первого дня квартала до 00:00 первого дня "
    "следующего квартала.",
    "Учитываются события журнала до окончания квартала (или до момента формирования "
    "отчёта, если квартал ещё не закончился — тогда отчёт предварительный).",
    "Поступило — поручения, созданные (переданные центром в шлюз) в отчётном квартале; "
    "все остальные показатели рассчитаны по этим поручениям.",
    "Доставлено в срок — первое подтверждение получения органом (момент приёма шлюзом) "
    "не позднее срока маршрутизации: двух рабочих дней после утверждения ИПР (п. 9).",
    "Отчитались — поручения, по которым орган прислал отчёт об исполнении (done), принятый шлюзом.",
    "Приняты с первого раза — приняты центром без единого возврата на доработку.",
    "Возвраты на доработку — число возвратов (одно поручение может быть возвращено несколько раз).",
    "Нарушения сроков — сроки, которые истекли до окончания периода и не были соблюдены к "
    "своему сроку. Срок исполнения по ИПР — обязанность органа (п. 10). Срок направления "
    "ИПР органу (п. 9) и срок проверки отчёта или отказа органа (п. 11) — обязанности "
    "центра: они показаны в таблице «Сроки центра» и не учитываются в оценке органа; срок "
    "проверки считается для каждого раунда отдельно.",
    "Медиана — медиана числа рабочих дней от доставки поручения до принятия отчёта "
    "(производственный календарь Республики Казахстан).",
    "Семьи — семьи по ИПР центра, действовавшим в квартале; изменения статуса — из "
    "Цифровой карты семьи (ЦКС) за дни квартала до окончания периода, запрошенные через "
    "шлюз при формировании отчёта; адрес ЦКС и время получения указаны в отчёте. Если ЦКС "
    "не ответила, указано «нет данных» и причина, а не ноль изменений.",
)


def agency_name_ru(code: str, agencies: Agencies | None = None) -> str:
    if code in SHORT_NAMES_RU:
        return SHORT_NAMES_RU[code]
    agency = agencies.get(code) if agencies is not None else None
    return agency.name_ru if agency is not None else code


# --- rows read from the store -------------------------------------------------------


@dataclass(frozen=True)
class TaskRow:
    id: str
    plan_id: str
    agency: str


@dataclass(frozen=True)
class EventRow:
    id: int
    plan_id: str
    task_id: str | None
    at: datetime
    type: str
    from_state: str | None = None
    to_state: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DeadlineRow:
    task_id: str
    kind: str
    round: int
    due_at: datetime
    met_at: datetime | None


@dataclass(frozen=True)
class FamilyRow:
    plan_id: str
    external_id: str | None
    iins: tuple[str, ...]


@dataclass(frozen=True)
class QuarterRows:
    tasks: Sequence[TaskRow]
    events: Sequence[EventRow]
    deadlines: Sequence[DeadlineRow]
    families: Sequence[FamilyRow]


# --- the report -----------------------------------------------------------------------


@dataclass(frozen=True)
class QuarterlyReport:
    centre: str
    quarter: Quarter
    generated_at: datetime
    cutoff: datetime
    agencies: tuple[AgencyFigures, ...]
    total: AgencyFigures
    families_monitored: int
    families: tuple[FamilyStatus, ...]
    """Families with a change in the card; empty when the card gave no data."""
    family_card: FamilyCardReading
    conclusion: Conclusion
    notes: tuple[str, ...] = NOTES_RU

    @property
    def preliminary(self) -> bool:
        return self.cutoff < self.quarter.end


# --- pure computation ------------------------------------------------------------------


def cohort(rows: QuarterRows, quarter: Quarter) -> set[str]:
    """Ids of the tasks received in the quarter (their `task_created` event in it)."""
    return {
        e.task_id
        for e in rows.events
        if e.type == "task_created" and e.task_id is not None and quarter.contains(e.at)
    }


@dataclass
class _Tally:
    received: int = 0
    delivered: int = 0
    delivered_on_time: int = 0
    reported: int = 0
    accepted: int = 0
    accepted_first_time: int = 0
    returned: int = 0
    rejected: int = 0
    failed: int = 0
    cancelled: int = 0
    breaches: dict[str, int] = field(default_factory=lambda: dict.fromkeys(BREACH_KINDS, 0))
    tasks_with_breach: int = 0
    tasks_with_centre_breach: int = 0
    days_to_accept: list[int] = field(default_factory=list)

    def figures(self, code: str, name: str) -> AgencyFigures:
        median = float(statistics.median(self.days_to_accept)) if self.days_to_accept else None
        return AgencyFigures(
            agency=code,
            name=name,
            received=self.received,
            delivered=self.delivered,
            delivered_on_time=self.delivered_on_time,
            reported=self.reported,
            accepted=self.accepted,
            accepted_first_time=self.accepted_first_time,
            returned=self.returned,
            rejected=self.rejected,
            failed=self.failed,
            cancelled=self.cancelled,
            breached_routing=self.breaches["routing"],
            breached_review=self.breaches["review"],
            breached_due_date=self.breaches["due_date"],
            tasks_with_breach=self.tasks_with_breach,
            tasks_with_centre_breach=self.tasks_with_centre_breach,
            median_days_to_accept=median,
            accept_samples=len(self.days_to_accept),
        )


def breached_by(deadline: DeadlineRow, cutoff: datetime) -> bool:
    """Due before the cut-off and not met by its due time."""
    if deadline.due_at >= cutoff:
        return False
    return deadline.met_at is None or deadline.met_at > deadline.due_at


def compute_agency_figures(
    rows: QuarterRows,
    quarter: Quarter,
    cutoff: datetime,
    calendar: WorkingCalendar,
    *,
    names: Mapping[str, str] | None = None,
    always_list: Iterable[str] = (),
) -> tuple[tuple[AgencyFigures, ...], AgencyFigures]:
    """Figures per body (sorted by its Russian name) and the centre's total."""
    names = names or {}
    received = cohort(rows, quarter)
    by_task: dict[str, list[EventRow]] = defaultdict(list)
    for event in rows.events:
        if event.task_id in received and event.at < cutoff:
            by_task[event.task_id].append(event)
    task_deadlines: dict[str, list[DeadlineRow]] = defaultdict(list)
    for deadline in rows.deadlines:
        if deadline.task_id in received:
            task_deadlines[deadline.task_id].append(deadline)

    tallies: dict[str, _Tally] = {code: _Tally() for code in always_list}
    total = _Tally()
    for task in rows.tasks:
        if task.id not in received:
            continue
        tally = tallies.setdefault(task.agency, _Tally())
        timeline = sorted(by_task[task.id], key=lambda e: (e.at, e.id))
        for target in (tally, total):
            _count_task(target, timeline, task_deadlines[task.id], cutoff, calendar)

    figures = [tally.figures(code, names.get(code, code)) for code, tally in tallies.items()]
    figures.sort(key=lambda f: (f.name, f.agency))
    return tuple(figures), total.figures("", "Итого")


def _count_task(
    tally: _Tally,
    timeline: list[EventRow],
    task_deadlines: list[DeadlineRow],
    cutoff: datetime,
    calendar: WorkingCalendar,
) -> None:
    tally.received += 1
    delivered_at = next((e.at for e in timeline if e.type == "task_delivered"), None)
    accepted_at = next((e.at for e in timeline if e.type == "task_accepted"), None)
    returns = sum(1 for e in timeline if e.type == "task_returned")
    routing = [d for d in task_deadlines if d.kind == "routing"]
    if delivered_at is not None:
        tally.delivered += 1
        if routing and all(delivered_at <= d.due_at for d in routing):
            tally.delivered_on_time += 1
    if any(e.type == "agency_report" and e.to_state == "reported" for e in timeline):
        tally.reported += 1
    if accepted_at is not None:
        tally.accepted += 1
        if returns == 0:
            tally.accepted_first_time += 1
        if delivered_at is not None:
            tally.days_to_accept.append(calendar.working_days_between(delivered_at, accepted_at))
    tally.returned += returns
    if any(e.type == "agency_report" and e.to_state == "rejected_by_agency" for e in timeline):
        tally.rejected += 1
    if any(e.type == "task_failed" for e in timeline):
        tally.failed += 1
    if any(e.type == "task_cancelled" for e in timeline):
        tally.cancelled += 1
    breached = [d for d in task_deadlines if d.kind in BREACH_KINDS and breached_by(d, cutoff)]
    for deadline in breached:
        tally.breaches[deadline.kind] += 1
    if breached:
        tally.tasks_with_breach += 1
    if any(d.kind in CENTRE_KINDS for d in breached):
        tally.tasks_with_centre_breach += 1


def compute_report(
    rows: QuarterRows,
    *,
    centre: str,
    quarter: Quarter,
    now: datetime,
    calendar: WorkingCalendar,
    family_card: FamilyCardReading,
    names: Mapping[str, str] | None = None,
    always_list: Iterable[str] = (),
) -> QuarterlyReport:
    """The whole report from rows already read and the card's reading; no I/O, so tests
    feed it rows and readings directly."""
    cutoff = min(quarter.end, now)
    figures, total = compute_agency_figures(
        rows, quarter, cutoff, calendar, names=names, always_list=always_list
    )
    families = tuple(
        FamilyStatus(f.plan_id, f.external_id, tuple(family_card.changes.get(f.plan_id, ())))
        for f in sorted(rows.families, key=lambda f: (f.external_id or "", f.plan_id))
    )
    return QuarterlyReport(
        centre=centre,
        quarter=quarter,
        generated_at=now,
        cutoff=cutoff,
        agencies=figures,
        total=total,
        families_monitored=len(families),
        families=tuple(f for f in families if f.changes),
        family_card=family_card,
        conclusion=conclude(figures, families, card=family_card),
    )


# --- reading the store -----------------------------------------------------------------


def _received_ids(centre: str, quarter: Quarter) -> Any:
    return (
        select(events.c.task_id)
        .select_from(events.join(plans, events.c.plan_id == plans.c.id))
        .where(
            plans.c.centre == centre,
            plans.c.flow == "ipr",
            events.c.type == "task_created",
            events.c.at >= quarter.start,
            events.c.at < quarter.end,
        )
    )


async def load_rows(
    conn: AsyncConnection, centre: str, quarter: Quarter, cutoff: datetime
) -> QuarterRows:
    """Everything the figures need, in four set-based queries (no per-plan round trips)."""
    received = _received_ids(centre, quarter)
    task_rows = [
        TaskRow(r.id, r.plan_id, r.agency)
        for r in await conn.execute(
            select(tasks.c.id, tasks.c.plan_id, tasks.c.agency).where(tasks.c.id.in_(received))
        )
    ]
    event_rows = [
        EventRow(
            id=r.id,
            plan_id=r.plan_id,
            task_id=r.task_id,
            at=r.at,
            type=r.type,
            from_state=r.from_state,
            to_state=r.to_state,
            data=r.data or {},
        )
        for r in await conn.execute(
            select(events)
            .where(events.c.task_id.in_(received), events.c.at < cutoff)
            .order_by(events.c.at, events.c.id)
        )
    ]
    deadline_rows = [
        DeadlineRow(r.task_id, r.kind, r.round, r.due_at, r.met_at)
        for r in await conn.execute(
            select(
                deadlines.c.task_id,
                deadlines.c.kind,
                deadlines.c.round,
                deadlines.c.due_at,
                deadlines.c.met_at,
            ).where(deadlines.c.task_id.in_(received))
        )
    ]
    family_rows = [
        FamilyRow(
            r.id,
            r.external_id,
            tuple(str(m["iin"]) for m in (r.family or {}).get("members", [])),
        )
        for r in await conn.execute(
            select(plans.c.id, plans.c.external_id, plans.c.family).where(
                plans.c.centre == centre,
                plans.c.flow == "ipr",
                plans.c.created_at < quarter.end,
                or_(plans.c.completed_at.is_(None), plans.c.completed_at >= quarter.start),
                or_(plans.c.cancelled_at.is_(None), plans.c.cancelled_at >= quarter.start),
                plans.c.created_at < cutoff,
            )
        )
    ]
    return QuarterRows(task_rows, event_rows, deadline_rows, family_rows)


def monitoring_days(quarter: Quarter, cutoff: datetime) -> tuple[date, date]:
    """The card is asked about whole Almaty days of the quarter up to the cut-off."""
    last = to_almaty(cutoff - timedelta(microseconds=1)).date()
    return quarter.first_day, min(last, quarter.next_first_day - timedelta(days=1))


async def build_quarterly_report(
    engine: AsyncEngine,
    centre: str,
    quarter: Quarter,
    *,
    source: FamilyCardSource | None,
    now: datetime,
    clock: Clock | None = None,
    calendar: WorkingCalendar | None = None,
    agencies: Agencies | None = None,
) -> QuarterlyReport:
    """Read the store, ask the family card, compute: the report as the CLI and web show it.

    ``source`` None means no card is configured; the report then says so. ``clock``
    stamps the card's answer when it arrives (default: the answer is taken as of ``now``).
    """
    calendar = calendar or default_calendar()
    agencies = agencies or load_agencies()
    cutoff = min(quarter.end, now)
    async with engine.connect() as conn:
        rows = await load_rows(conn, centre, quarter, cutoff)
    first, last = monitoring_days(quarter, cutoff)
    card = await read_family_card(
        source,
        {f.plan_id: f.iins for f in rows.families},
        first,
        last,
        clock or ManualClock(now),
    )
    codes = {t.agency for t in rows.tasks} | set(agencies.enabled_codes("ipr"))
    return compute_report(
        rows,
        centre=centre,
        quarter=quarter,
        now=now,
        calendar=calendar,
        family_card=card,
        names={code: agency_name_ru(code, agencies) for code in codes},
        always_list=sorted(agencies.enabled_codes("ipr")),
    )
