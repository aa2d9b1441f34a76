"""Calendar quarters as the monitoring of order 192 p.13 counts them.

A quarter is a half-open interval of Almaty wall time: `2026Q3` is from 1 July 2026 00:00
to 1 October 2026 00:00 Asia/Almaty, so a moment at midnight belongs to exactly one quarter
whatever the server's time zone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time

from contracts.clock import ALMATY, to_almaty

_PATTERN = re.compile(r"^\s*(\d{4})\s*-?\s*[Qq]([1-4])\s*$")
_ROMAN = ("I", "II", "III", "IV")


class QuarterError(ValueError):
    """A quarter given by a person that cannot be read; the message says what is expected."""


@dataclass(frozen=True, order=True)
class Quarter:
    year: int
    number: int

    def __post_init__(self) -> None:
        if not 1 <= self.number <= 4:
            raise QuarterError(f"a quarter is 1 to 4, not {self.number}")
        if not 2000 <= self.year <= 2100:
            raise QuarterError(f"year {self.year} is outside 2000–2100")

    @property
    def label(self) -> str:
        return f"{self.year}Q{self.number}"

    @property
    def title_ru(self) -> str:
        return f"{_ROMAN[self.number - 1]} квартал {self.year} г."

    @property
    def first_day(self) -> date:
        return date(self.year, 3 * (self.number - 1) + 1, 1)

    @property
    def next_first_day(self) -> date:
        if self.number == 4:
            return date(self.year + 1, 1, 1)
        return date(self.year, 3 * self.number + 1, 1)

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first_day, time(0), tzinfo=ALMATY)

    @property
    def end(self) -> datetime:
        """The first moment after the quarter (exclusive bound)."""
        return datetime.combine(self.next_first_day, time(0), tzinfo=ALMATY)

    def contains(self, moment: datetime) -> bool:
        return self.start <= moment < self.end

    def previous(self) -> Quarter:
        if self.number == 1:
            return Quarter(self.year - 1, 4)
        return Quarter(self.year, self.number - 1)

    @classmethod
    def of(cls, moment: datetime) -> Quarter:
        local = to_almaty(moment)
        return cls(local.year, (local.month - 1) // 3 + 1)


def parse_quarter(text: str) -> Quarter:
    """`2026Q3` (also `2026q3`, `2026-Q3`) to a Quarter; anything else is a QuarterError."""
    match = _PATTERN.match(text or "")
    if match is None:
        raise QuarterError(
            f"'{text}' is not a quarter; write the year and the quarter number, e.g. 2026Q3"
        )
    return Quarter(int(match.group(1)), int(match.group(2)))
