"""The monitoring schedule against order 170 p.40, p.43: quarterly for three years,
half-yearly in years four and five, then nothing."""

from __future__ import annotations

from datetime import date
from itertools import pairwise

from gateway.domain.kandas_schedule import add_months, due, ends_on, schedule


def test_twelve_quarterly_then_four_half_yearly_then_none() -> None:
    slots = schedule(date(2026, 3, 10))
    assert [s.cadence for s in slots] == ["quarterly"] * 12 + ["half_yearly"] * 4
    assert [s.seq for s in slots] == list(range(1, 17))
    assert slots[0].due_on == date(2026, 6, 10)
    assert slots[11].due_on == date(2029, 3, 10)  # the end of year 3
    assert [s.due_on for s in slots[12:]] == [
        date(2029, 9, 10),
        date(2030, 3, 10),
        date(2030, 9, 10),
        date(2031, 3, 10),  # the end of year 5
    ]
    assert ends_on(date(2026, 3, 10)) == date(2031, 3, 10) == slots[-1].due_on
    gaps = [(b.due_on - a.due_on).days for a, b in pairwise(slots)]
    assert all(89 <= g <= 92 for g in gaps[:11]) and all(181 <= g <= 184 for g in gaps[12:])


def test_month_ends_are_clipped_not_skipped() -> None:
    assert add_months(date(2026, 11, 30), 3) == date(2027, 2, 28)
    assert add_months(date(2027, 11, 30), 3) == date(2028, 2, 29)
    assert len({s.due_on for s in schedule(date(2026, 8, 31))}) == 16


def test_due_lists_what_is_owed_and_not_done() -> None:
    quota = date(2026, 1, 15)
    assert due(quota, date(2026, 4, 14), set()) == []
    assert [s.seq for s in due(quota, date(2026, 10, 15), set())] == [1, 2, 3]
    assert [s.seq for s in due(quota, date(2026, 10, 15), {1, 3})] == [2]
    assert due(quota, date(2040, 1, 1), set(range(1, 17))) == []
