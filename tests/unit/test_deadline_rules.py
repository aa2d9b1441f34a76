from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from contracts.clock import ALMATY
from contracts.plans import DeadlineKind, DeadlineState
from gateway.domain import deadlines as rules
from gateway.workdays import default_calendar

CAL = default_calendar()


def test_routing_limit_is_two_working_days_with_warning_at_three_quarters() -> None:
    approved = datetime(2025, 3, 20, 15, 0, tzinfo=ALMATY)  # Thursday before Nowruz
    d = rules.routing(approved, CAL)
    assert d.kind is DeadlineKind.routing
    # 21-25 March 2025 are days off: Wed 26 and Thu 27 are the two working days.
    assert d.due_at == datetime(2025, 3, 27, 23, 59, 59, tzinfo=ALMATY)
    assert d.warn_at == approved + (d.due_at - approved) * 0.75
    assert d.calendar_version == CAL.version


def test_review_and_completion_terms() -> None:
    reported = datetime(2025, 1, 3, 9, 0, tzinfo=ALMATY)  # Friday 3 January 2025 was a day off
    assert rules.review(reported, CAL, 2).due_at == datetime(2025, 1, 6, 23, 59, 59, tzinfo=ALMATY)
    assert rules.review(reported, CAL, 2).round == 2
    assert rules.completion(reported, CAL).due_at == datetime(2025, 1, 5, 23, 59, 59, tzinfo=ALMATY)


def test_due_date_ends_at_the_end_of_that_day_in_almaty() -> None:
    approved = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
    d = rules.due_date(approved, date(2026, 11, 30), CAL)
    assert d.due_at == datetime(2026, 11, 30, 23, 59, 59, tzinfo=ALMATY)
    assert d.starts_at < d.warn_at < d.due_at


def test_state_at_each_moment() -> None:
    warn = datetime(2026, 1, 1, 12, tzinfo=UTC)
    due = warn + timedelta(hours=6)
    before, between, after = (
        warn - timedelta(seconds=1),
        warn + timedelta(hours=1),
        due + timedelta(seconds=1),
    )
    assert rules.state_at(warn, due, None, before) is DeadlineState.on_time
    assert rules.state_at(warn, due, None, between) is DeadlineState.at_risk
    assert rules.state_at(warn, due, None, after) is DeadlineState.breached
    # A met clock is judged by when it was met, whatever the time now.
    assert rules.state_at(warn, due, between, after) is DeadlineState.on_time
    assert rules.state_at(warn, due, after, after + timedelta(days=3)) is DeadlineState.breached
