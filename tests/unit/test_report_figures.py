"""The pure computation of the quarterly figures, on rows made by hand."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from contracts.clock import ALMATY
from gateway.reports.family_card import (
    Direction,
    FamilyCardReading,
    NoDataReason,
    StatusChange,
)
from gateway.reports.quarter import Quarter
from gateway.reports.quarterly import (
    DeadlineRow,
    EventRow,
    FamilyRow,
    QuarterRows,
    TaskRow,
    breached_by,
    compute_agency_figures,
    compute_report,
    monitoring_days,
)
from gateway.workdays import default_calendar

Q = Quarter(2026, 3)
CAL = default_calendar()


def t(month: int, day: int, hour: int = 10) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=ALMATY)


@dataclass
class Rows:
    tasks: list[TaskRow] = field(default_factory=list)
    events: list[EventRow] = field(default_factory=list)
    deadlines: list[DeadlineRow] = field(default_factory=list)
    families: list[FamilyRow] = field(default_factory=list)

    def task(self, task_id: str, agency: str, created: datetime) -> None:
        self.tasks.append(TaskRow(task_id, "plan-" + task_id, agency))
        self.event(task_id, "task_created", created)
        self.deadlines.append(DeadlineRow(task_id, "routing", 0, CAL.deadline(created, 2), None))

    def event(self, task_id: str, type_: str, at: datetime, to_state: str | None = None) -> None:
        self.events.append(
            EventRow(len(self.events) + 1, "plan-" + task_id, task_id, at, type_, None, to_state)
        )

    def meet(self, task_id: str, kind: str, at: datetime) -> None:
        self.deadlines = [
            DeadlineRow(d.task_id, d.kind, d.round, d.due_at, at)
            if d.task_id == task_id and d.kind == kind and d.met_at is None
            else d
            for d in self.deadlines
        ]

    def rows(self) -> QuarterRows:
        return QuarterRows(self.tasks, self.events, self.deadlines, self.families)


def test_cohort_is_tasks_created_in_the_quarter() -> None:
    r = Rows()
    r.task("june", "health", t(6, 30, 23))
    r.task("july", "health", t(7, 1, 0))
    r.task("october", "health", t(10, 1, 0))
    (health,), total = compute_agency_figures(r.rows(), Q, Q.end, CAL)
    assert health.received == 1 == total.received


def test_delivery_on_time_and_late() -> None:
    r = Rows()
    r.task("a", "housing", t(7, 1))  # routing due Fri 3 July 23:59:59
    r.task("b", "housing", t(7, 1))
    r.event("a", "task_delivered", t(7, 3, 23))
    r.meet("a", "routing", t(7, 3, 23))
    r.event("b", "task_delivered", t(7, 7, 9))
    r.meet("b", "routing", t(7, 7, 9))
    (housing,), _ = compute_agency_figures(r.rows(), Q, Q.end, CAL)
    assert (housing.delivered, housing.delivered_on_time, housing.delivered_late) == (2, 1, 1)
    assert housing.breached_routing == 1 and housing.tasks_with_breach == 1


def test_breach_rule() -> None:
    due = t(7, 10)
    cut = t(8, 1)
    assert breached_by(DeadlineRow("x", "review", 0, due, None), cut)
    assert breached_by(DeadlineRow("x", "review", 0, due, due + timedelta(seconds=1)), cut)
    assert breached_by(DeadlineRow("x", "review", 0, due, t(9, 1)), cut)  # met after cut-off
    assert not breached_by(DeadlineRow("x", "review", 0, due, due), cut)
    assert not breached_by(DeadlineRow("x", "review", 0, t(8, 2), None), cut)  # not due yet


def test_returns_first_time_acceptance_and_median() -> None:
    r = Rows()
    for name in ("a", "b", "c"):
        r.task(name, "education", t(7, 1))
        r.event(name, "task_delivered", t(7, 2))
        r.event(name, "agency_report", t(7, 8), to_state="reported")
    r.event("a", "task_accepted", t(7, 9))  # 5 working days after 2 July (6 July is off)
    r.event("b", "task_returned", t(7, 9))
    r.event("b", "agency_report", t(7, 13), to_state="reported")
    r.event("b", "task_returned", t(7, 14))
    r.event("b", "agency_report", t(7, 15), to_state="reported")
    r.event("b", "task_accepted", t(7, 16))
    (edu,), _ = compute_agency_figures(r.rows(), Q, Q.end, CAL)
    assert (edu.reported, edu.accepted, edu.accepted_first_time, edu.returned) == (3, 2, 1, 2)
    a = CAL.working_days_between(t(7, 2), t(7, 9))
    b = CAL.working_days_between(t(7, 2), t(7, 16))
    assert a == 4 and edu.median_days_to_accept == (a + b) / 2 and edu.accept_samples == 2


def test_events_after_the_cut_off_are_ignored() -> None:
    r = Rows()
    r.task("a", "health", t(9, 28))
    r.event("a", "task_delivered", t(10, 1, 9))
    r.meet("a", "routing", t(10, 1, 9))
    (health,), _ = compute_agency_figures(r.rows(), Q, Q.end, CAL)
    assert health.delivered == 0 and health.breached_routing == 1


def test_rejected_failed_cancelled_and_listed_agencies() -> None:
    r = Rows()
    r.task("a", "internal_affairs", t(7, 1))
    r.event("a", "agency_report", t(7, 2), to_state="rejected_by_agency")
    r.task("b", "health", t(7, 1))
    r.event("b", "task_failed", t(7, 2))
    r.event("b", "task_cancelled", t(7, 20))
    names = {"health": "Здравоохранение", "internal_affairs": "Внутренние дела", "sport": "Спорт"}
    figures, total = compute_agency_figures(
        r.rows(), Q, Q.end, CAL, names=names, always_list=["sport"]
    )
    by = {f.agency: f for f in figures}
    assert [f.name for f in figures] == sorted(names.values())
    assert by["internal_affairs"].rejected == 1
    assert (by["health"].failed, by["health"].cancelled) == (1, 1)
    assert by["sport"].received == 0 and by["sport"].median_days_to_accept is None
    assert total.received == 2


def test_report_families_and_preliminary() -> None:
    r = Rows()
    r.task("a", "health", t(7, 1))
    r.families = [FamilyRow("p1", "ИПР-1", ("1",)), FamilyRow("p2", "ИПР-2", ("2",))]
    change = StatusChange(date(2026, 7, 20), "малообеспеченная", "вышла из ТЖС", Direction.improved)
    card = FamilyCardReading(url="http://card.test", fetched_at=t(8, 1), changes={"p2": (change,)})
    report = compute_report(
        r.rows(), centre="c", quarter=Q, now=t(8, 1), calendar=CAL, family_card=card
    )
    assert report.preliminary and report.cutoff == t(8, 1)
    assert report.families_monitored == 2
    assert [(f.plan_id, f.changes) for f in report.families] == [("p2", (change,))]
    assert report.family_card is card
    assert "у 1 в Цифровой карте семьи" in report.conclusion.families


def test_report_without_card_data_has_no_family_changes() -> None:
    r = Rows()
    r.task("a", "health", t(7, 1))
    r.families = [FamilyRow("p1", "ИПР-1", ("1",))]
    card = FamilyCardReading.without_data(NoDataReason.not_configured)
    report = compute_report(
        r.rows(), centre="c", quarter=Q, now=t(8, 1), calendar=CAL, family_card=card
    )
    assert report.families_monitored == 1 and report.families == ()
    assert report.conclusion.families.startswith(
        "Нет данных из Цифровой карты семьи (подключение к ЦКС не настроено)"
    )


def test_monitoring_days_stop_at_the_cut_off() -> None:
    assert monitoring_days(Q, Q.end) == (date(2026, 7, 1), date(2026, 9, 30))
    assert monitoring_days(Q, t(8, 15)) == (date(2026, 7, 1), date(2026, 8, 15))
