"""When a kandas family is monitored (order 170 p.40, p.43).

Adaptation measures last five years from the family's inclusion in the regional quota
(p.40). Monitoring runs quarterly in the first three years and half-yearly in the fourth
and fifth (p.43), so twelve quarterly runs, then four half-yearly ones, then none. A run
is due at the end of its period: the day its quarter or half-year of the adaptation
closes. Pure date arithmetic, no I/O, so the schedule can be checked against the act.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date
from typing import Literal

Cadence = Literal["quarterly", "half_yearly"]
YEARS = 5
QUARTERLY_YEARS = 3


@dataclass(frozen=True, slots=True)
class MonitoringSlot:
    seq: int
    """1..16 in order."""
    cadence: Cadence
    due_on: date
    """The day the period closes: from then on the run is owed."""


def add_months(start: date, months: int) -> date:
    """`start` plus whole months, the day clipped to the month's length (31 Jan + 1 = 28/29 Feb)."""
    index = start.month - 1 + months
    year, month = start.year + index // 12, index % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def schedule(quota_date: date) -> tuple[MonitoringSlot, ...]:
    """The sixteen runs of a family included in the quota on `quota_date`."""
    slots: list[MonitoringSlot] = []
    for quarter in range(1, QUARTERLY_YEARS * 4 + 1):
        slots.append(
            MonitoringSlot(len(slots) + 1, "quarterly", add_months(quota_date, 3 * quarter))
        )
    first_half = QUARTERLY_YEARS * 2 + 1
    for half in range(first_half, YEARS * 2 + 1):
        slots.append(
            MonitoringSlot(len(slots) + 1, "half_yearly", add_months(quota_date, 6 * half))
        )
    return tuple(slots)


def ends_on(quota_date: date) -> date:
    """The last day the measures run (p.40: five years)."""
    return add_months(quota_date, 12 * YEARS)


def due(quota_date: date, today: date, done: set[int]) -> list[MonitoringSlot]:
    """The runs owed on `today` that have not been done, oldest first."""
    return [s for s in schedule(quota_date) if s.due_on <= today and s.seq not in done]
