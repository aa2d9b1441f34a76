"""The four legal clocks of a plan and how each one stands at a given moment.

Deadlines are absolute timestamps computed once, when their clock starts, from the
working-day calendar, and then stored: a change to the calendar data later does not
silently move a deadline that a centre was already shown (the calendar's version is
stored beside it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time

from contracts.clock import ALMATY
from contracts.plans import DeadlineKind, DeadlineState
from gateway.workdays import WorkingCalendar

ROUTING_WORKING_DAYS = 2  # order 192 p.9: send the plan to the bodies
REVIEW_WORKING_DAYS = 2  # p.11: check a body's report and mark the activity
COMPLETION_WORKING_DAYS = 1  # p.12: mark the plan completed
WARN_FRACTION = 0.75


@dataclass(frozen=True)
class Deadline:
    kind: DeadlineKind
    starts_at: datetime
    warn_at: datetime
    due_at: datetime
    round: int = 0
    calendar_version: str = ""


def _working_days_deadline(
    kind: DeadlineKind, start: datetime, days: int, calendar: WorkingCalendar, round_: int = 0
) -> Deadline:
    return Deadline(
        kind=kind,
        starts_at=start,
        warn_at=calendar.fraction_point(start, days, WARN_FRACTION),
        due_at=calendar.deadline(start, days),
        round=round_,
        calendar_version=calendar.version,
    )


def routing(approved_at: datetime, calendar: WorkingCalendar) -> Deadline:
    return _working_days_deadline(DeadlineKind.routing, approved_at, ROUTING_WORKING_DAYS, calendar)


def review(reported_at: datetime, calendar: WorkingCalendar, round_: int) -> Deadline:
    return _working_days_deadline(
        DeadlineKind.review, reported_at, REVIEW_WORKING_DAYS, calendar, round_
    )


def completion(last_accepted_at: datetime, calendar: WorkingCalendar) -> Deadline:
    return _working_days_deadline(
        DeadlineKind.completion, last_accepted_at, COMPLETION_WORKING_DAYS, calendar
    )


def due_date(approved_at: datetime, due: date, calendar: WorkingCalendar) -> Deadline:
    """The body's own term from the plan: the end of that day in Almaty."""
    due_at = datetime.combine(due, time(23, 59, 59), tzinfo=ALMATY)
    start = min(approved_at, due_at)
    return Deadline(
        kind=DeadlineKind.due_date,
        starts_at=start,
        warn_at=start + (due_at - start) * WARN_FRACTION,
        due_at=due_at,
        calendar_version=calendar.version,
    )


def state_at(
    warn_at: datetime, due_at: datetime, met_at: datetime | None, now: datetime
) -> DeadlineState:
    """On time, at risk or breached: a met deadline is judged by when it was met."""
    moment = met_at if met_at is not None else now
    if moment > due_at:
        return DeadlineState.breached
    if met_at is None and moment >= warn_at:
        return DeadlineState.at_risk
    return DeadlineState.on_time


def needs_warning(warn_at: datetime, due_at: datetime, now: datetime) -> bool:
    return warn_at <= now <= due_at
