"""The portal's own working-day count for its forwarding term.

The portal is another organisation's system: it counts its terms with its own calendar
(weekends and the public holidays of the `holidays` package), not with the gateway's,
which adds decrees and operator data. Where the two disagree, a test sees it.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import holidays

from contracts.clock import to_almaty


class PortalCalendar:
    def __init__(self) -> None:
        self._days_off = holidays.country_holidays("KZ")

    def is_working_day(self, day: date) -> bool:
        return day.weekday() < 5 and day not in self._days_off

    def deadline(self, event: datetime, working_days: int) -> datetime:
        """23:59:59 Almaty of the last of ``working_days`` counted from the day after."""
        local = to_almaty(event)
        day = local.date()
        left = working_days
        while left > 0:
            day += timedelta(days=1)
            left -= self.is_working_day(day)
        return datetime.combine(day, time(23, 59, 59), tzinfo=local.tzinfo)
