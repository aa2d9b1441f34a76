"""The daily escalation digest: per centre, the tasks whose terms are at risk or breached.

The centre sees every clock on its pages, but a head of centre does not watch pages all
day; once a working day the gateway sends each centre the list of activities whose legal
terms are at risk (three quarters gone) or already breached and still unmet, grouped by
the body that owns them, so the head can call that body the same morning.

A centre with nothing at risk gets no digest: an empty mail every day teaches people to
ignore the mail. Days off get none either (the working-day calendar decides), because
nobody would act on it before the next working day, which gets a fresh one.
"""

from __future__ import annotations

import asyncio
import html
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from contracts.clock import ALMATY, Clock, to_almaty
from gateway.agencies import Agencies, load_agencies
from gateway.reports.mail import DigestSender, recipients_for
from gateway.reports.quarterly import agency_name_ru
from gateway.store.tables import deadlines, plans, tasks
from gateway.workdays import WorkingCalendar, default_calendar

log = logging.getLogger("gateway.digest")

DEFAULT_AT = time(9, 0)
#: Longest single sleep of the scheduler: a suspended machine or a corrected system clock
#: is noticed within this time instead of after a whole night's sleep.
MAX_SLEEP_SECONDS = 600.0

KIND_RU = {
    "step": "срок шага (п. 8–29 приказа № 170)",
    "routing": "срок маршрутизации — доставка органу (п. 9)",
    "review": "срок проверки отчёта центром (п. 11)",
    "due_date": "срок исполнения по ИПР",
    "completion": "отметка о завершении ИПР (п. 12)",
}
STATE_RU = {"breached": "НАРУШЕН", "at_risk": "под угрозой"}


@dataclass(frozen=True)
class Wording:
    """How a digest speaks to its addressee: a centre about its ИПР, or a kandas chain
    body about the steps it owns (order 170), whose terms run against the body itself."""

    addressee: str
    subject: str
    terms_of: str
    case: str
    item: str
    footnote: str


WORDINGS = {
    "ipr": Wording(
        addressee="Руководителю центра поддержки семьи «{who}»",
        subject="ЦПС {who}: сроки по ИПР",
        terms_of="мероприятиям ИПР",
        case="ИПР",
        item="мероприятие",
        footnote="Сроки в рабочих днях по приказу № 192 от 14.06.2024",
    ),
    "kandas_application": Wording(
        addressee="Руководителю органа «{who}»",
        subject="{who}: сроки шагов по заявлениям кандасов",
        terms_of="шагам заявлений кандасов, которые ведёт ваш орган",
        case="Заявление",
        item="шаг",
        footnote="Сроки в рабочих днях по приказу № 170 от 30.05.2024",
    ),
}


@dataclass(frozen=True)
class Escalation:
    centre: str
    """The digest's addressee: the plan's centre, or for a chain case the body that owns
    the step (its term runs against that body)."""
    agency: str
    plan_id: str
    plan_external_id: str | None
    task_id: str
    task_seq: int
    task_title: str
    kind: str
    round: int
    due_at: datetime
    state: str  # "at_risk" or "breached"
    flow: str = "ipr"

    @property
    def due_local(self) -> str:
        return to_almaty(self.due_at).strftime("%d.%m.%Y %H:%M")

    @property
    def plan_label(self) -> str:
        return self.plan_external_id or self.plan_id


@dataclass(frozen=True)
class Digest:
    centre: str
    generated_at: datetime
    items: tuple[Escalation, ...]
    agency_names: Mapping[str, str]

    @property
    def day(self) -> date:
        return to_almaty(self.generated_at).date()

    @property
    def wording(self) -> Wording:
        return WORDINGS[self.items[0].flow if self.items else "ipr"]

    @property
    def breached(self) -> int:
        return sum(1 for i in self.items if i.state == "breached")

    @property
    def at_risk(self) -> int:
        return sum(1 for i in self.items if i.state == "at_risk")

    def by_agency(self) -> list[tuple[str, list[Escalation]]]:
        groups: dict[str, list[Escalation]] = defaultdict(list)
        for item in self.items:
            groups[item.agency].append(item)
        return sorted(
            ((self.agency_names.get(code, code), items) for code, items in groups.items()),
            key=lambda pair: pair[0],
        )

    @property
    def subject(self) -> str:
        return (
            f"{self.wording.subject.format(who=self.centre)} на {self.day:%d.%m.%Y} — "
            f"нарушено {self.breached}, под угрозой {self.at_risk}"
        )

    @property
    def text(self) -> str:
        w = self.wording
        lines = [
            w.addressee.format(who=self.centre),
            "",
            f"На {to_almaty(self.generated_at):%d.%m.%Y %H:%M} (время Алматы) сроки по "
            f"{w.terms_of}: нарушено — {self.breached}, под угрозой — {self.at_risk}.",
        ]
        for name, items in self.by_agency():
            lines += ["", f"{name} ({len(items)})"]
            for item in items:
                lines.append(
                    f"  - [{STATE_RU[item.state]}] {w.case} {item.plan_label}, {w.item} "
                    f"№ {item.task_seq} «{item.task_title}»: {KIND_RU.get(item.kind, item.kind)}"
                    f"{_round(item)}, срок {item.due_local}"
                )
        lines += [
            "",
            f"{w.footnote}; «под угрозой» — прошло три четверти срока.",
            "Письмо сформировано шлюзом автоматически.",
        ]
        return "\n".join(lines) + "\n"

    @property
    def html(self) -> str:
        e = html.escape
        w = self.wording
        parts = [
            "<!DOCTYPE html>",
            '<html lang="ru"><head><meta charset="utf-8">',
            f"<title>{e(self.subject)}</title></head><body>",
            f"<p>{e(w.addressee.format(who=self.centre))}</p>",
            f"<p>На {to_almaty(self.generated_at):%d.%m.%Y %H:%M} (время Алматы) сроки по "
            f"{e(w.terms_of)}: нарушено — <strong>{self.breached}</strong>, под угрозой — "
            f"<strong>{self.at_risk}</strong>.</p>",
        ]
        for name, items in self.by_agency():
            parts.append(f"<h2>{e(name)} ({len(items)})</h2>")
            parts.append(
                '<table border="1" cellpadding="4" cellspacing="0">'
                f"<thead><tr><th>Состояние</th><th>{e(w.case)}</th>"
                f"<th>{e(w.item.capitalize())}</th>"
                "<th>Срок</th><th>Истекает (Алматы)</th></tr></thead><tbody>"
            )
            for item in items:
                parts.append(
                    f"<tr><td>{e(STATE_RU[item.state])}</td><td>{e(item.plan_label)}</td>"
                    f"<td>№ {item.task_seq} {e(item.task_title)}</td>"
                    f"<td>{e(KIND_RU.get(item.kind, item.kind) + _round(item))}</td>"
                    f"<td>{e(item.due_local)}</td></tr>"
                )
            parts.append("</tbody></table>")
        parts.append(
            f"<p><small>{e(w.footnote)}; «под угрозой» — "
            "прошло три четверти срока. Письмо сформировано шлюзом автоматически.</small></p>"
        )
        parts.append("</body></html>")
        return "\n".join(parts) + "\n"


def _round(item: Escalation) -> str:
    return f", раунд {item.round}" if item.kind == "review" and item.round else ""


async def load_escalations(
    conn: AsyncConnection, now: datetime, centre: str | None = None
) -> list[Escalation]:
    """Unmet task deadlines whose warning point has passed, with their task and plan."""
    query = (
        select(
            plans.c.centre,
            plans.c.flow,
            plans.c.id.label("plan_id"),
            plans.c.external_id,
            tasks.c.id.label("task_id"),
            tasks.c.seq,
            tasks.c.title,
            tasks.c.agency,
            deadlines.c.kind,
            deadlines.c.round,
            deadlines.c.due_at,
        )
        .select_from(
            deadlines.join(tasks, deadlines.c.task_id == tasks.c.id).join(
                plans, deadlines.c.plan_id == plans.c.id
            )
        )
        .where(
            deadlines.c.met_at.is_(None),
            deadlines.c.warn_at <= now,
            plans.c.status == "active",
        )
        .order_by(plans.c.centre, deadlines.c.due_at, tasks.c.seq)
    )
    found = [
        Escalation(
            centre=r.centre if r.flow == "ipr" else r.agency,
            agency=r.agency,
            plan_id=r.plan_id,
            plan_external_id=r.external_id,
            task_id=r.task_id,
            task_seq=r.seq,
            task_title=r.title,
            kind=r.kind,
            round=r.round,
            due_at=r.due_at,
            state="breached" if r.due_at < now else "at_risk",
            flow=r.flow,
        )
        for r in await conn.execute(query)
    ]
    return [e for e in found if centre is None or e.centre == centre]


def group_digests(
    items: Sequence[Escalation], now: datetime, agencies: Agencies | None = None
) -> list[Digest]:
    """One digest per centre, breaches first, then by due time."""
    by_centre: dict[str, list[Escalation]] = defaultdict(list)
    for item in items:
        by_centre[item.centre].append(item)
    names = {i.agency: agency_name_ru(i.agency, agencies) for i in items}
    return [
        Digest(
            centre,
            now,
            tuple(sorted(found, key=lambda i: (i.state != "breached", i.due_at, i.task_seq))),
            names,
        )
        for centre, found in sorted(by_centre.items())
    ]


async def build_digests(
    engine: AsyncEngine, now: datetime, *, centre: str | None = None
) -> list[Digest]:
    async with engine.connect() as conn:
        items = await load_escalations(conn, now, centre)
    return group_digests(items, now, load_agencies())


async def send_digests(
    engine: AsyncEngine,
    sender: DigestSender,
    now: datetime,
    *,
    recipients: Mapping[str, Sequence[str]] | None = None,
    centre: str | None = None,
) -> list[Digest]:
    """Build today's digests and hand each to the sender; a failing centre does not stop
    the others, because one bad address must not silence every centre's escalations."""
    sent: list[Digest] = []
    for digest in await build_digests(engine, now, centre=centre):
        try:
            await sender.send(digest, recipients_for(recipients or {}, digest.centre))
        except Exception:
            log.exception("digest for centre %s could not be sent", digest.centre)
            continue
        sent.append(digest)
    return sent


def next_run(
    now: datetime, at: time, calendar: WorkingCalendar, *, not_on: date | None = None
) -> datetime:
    """The first working day's `at` (Almaty) not before `now`, skipping the day `not_on`."""
    local = to_almaty(now)
    day = local.date()
    for _ in range(366):
        moment = datetime.combine(day, at, tzinfo=ALMATY)
        if moment >= local and day != not_on and calendar.is_working_day(day):
            return moment
        day += timedelta(days=1)
    raise RuntimeError("no working day within a year; the calendar data is wrong")


async def run_daily(
    engine: AsyncEngine,
    clock: Clock,
    sender: DigestSender,
    at: time = DEFAULT_AT,
    *,
    calendar: WorkingCalendar | None = None,
    recipients: Mapping[str, Sequence[str]] | None = None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> None:
    """Send the digests once per working day at `at`, Almaty time, until cancelled.

    Started after the day's time has passed (a restart at noon), it waits for the next
    working day rather than sending late: the digest is a morning list, and a restart must
    not send a second one the same day. Time comes from `clock` and waiting from `sleep`,
    so a test drives days with a manual clock and no real sleeping.
    """
    calendar = calendar or default_calendar()
    last_day: date | None = None
    while True:
        target = next_run(clock.now(), at, calendar, not_on=last_day)
        while (now := clock.now()) < target:
            await sleep(min((target - now).total_seconds(), MAX_SLEEP_SECONDS))
        if not calendar.is_working_day(to_almaty(clock.now()).date()):
            continue  # overslept into a day off (a suspended machine): wait for a working one
        last_day = to_almaty(clock.now()).date()
        try:
            sent = await send_digests(engine, sender, clock.now(), recipients=recipients)
            log.info("daily digest: %d centre(s) with escalations", len(sent))
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("daily digest failed; next attempt on the next working day")
