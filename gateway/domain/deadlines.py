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
from gateway.domain.flow import Clock, load_flow
from gateway.workdays import WorkingCalendar

# The ИПР's terms are data of its flow (gateway/flows/ipr.json): p.9 routing, p.11 review,
# p.12 completion.
_IPR = load_flow("ipr")
ROUTING = _IPR.clock("routing")
REVIEW = _IPR.clock("review")
COMPLETION = _IPR.clock("completion")
WARN_FRACTION = 0.75  # for terms not counted in working days (a body's own due date)


@dataclass(frozen=True)
class Deadline:
    kind: DeadlineKind
    starts_at: datetime
    warn_at: datetime
    due_at: datetime
    round: int = 0
    calendar_version: str = ""


def term(
    kind: DeadlineKind, clock: Clock, start: datetime, calendar: WorkingCalendar, round_: int = 0
) -> Deadline:
    """A flow's clock started at `start`: warn at its fraction, due at its last working day."""
    return Deadline(
        kind=kind,
        starts_at=start,
        warn_at=calendar.fraction_point(start, clock.working_days, clock.warn_fraction),
        due_at=calendar.deadline(start, clock.working_days),
        round=round_,
        calendar_version=calendar.version,
    )


def routing(approved_at: datetime, calendar: WorkingCalendar) -> Deadline:
    return term(DeadlineKind.routing, ROUTING, approved_at, calendar)


def review(reported_at: datetime, calendar: WorkingCalendar, round_: int) -> Deadline:
    return term(DeadlineKind.review, REVIEW, reported_at, calendar, round_)


def starts_review(state: str) -> bool:
    """Whether entering `state` starts the centre's review term (data: ipr.json)."""
    return state in REVIEW.starts_in


def completion(last_accepted_at: datetime, calendar: WorkingCalendar) -> Deadline:
    return term(DeadlineKind.completion, COMPLETION, last_accepted_at, calendar)


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
