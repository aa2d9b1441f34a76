"""A stand-in for the digital family card (ЦКС): status changes derived from the IINs.

Deterministic so that a report, a test and a demo give the same families the same
history every time: the family is keyed by its smallest IIN (members' order in a plan must
not change the answer), and for each month a hash of that key and the month decides
whether the status changed that month, on which day, and how. No personal data leaves
the process; the real adapter will replace this class behind `FamilyCardSource`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import date

from gateway.reports.family_card import Direction, StatusChange

#: Transitions the mock chooses from, with how each one reads for the monitoring.
TRANSITIONS: tuple[tuple[str, str, Direction], ...] = (
    ("малообеспеченная", "вышла из ТЖС", Direction.improved),
    ("в ТЖС", "малообеспеченная", Direction.improved),
    ("безработный член семьи", "член семьи трудоустроен", Direction.improved),
    ("без жилья", "предоставлено жильё", Direction.improved),
    ("не получает АСП", "назначена АСП", Direction.neutral),
    ("вышла из ТЖС", "в ТЖС", Direction.worsened),
    ("малообеспеченная", "в ТЖС", Direction.worsened),
)

#: One month in this many has a change, on average.
CHANGE_EVERY_MONTHS = 4


class MockFamilyCard:
    """Answers like the card would, without the network; see the module docstring."""

    def __init__(self, salt: str = "") -> None:
        self._salt = salt

    async def status_changes(
        self, iins: Sequence[str], first_day: date, last_day: date
    ) -> list[StatusChange]:
        return changes_for(iins, first_day, last_day, salt=self._salt)


def changes_for(
    iins: Sequence[str], first_day: date, last_day: date, *, salt: str = ""
) -> list[StatusChange]:
    """The pure core of the mock, usable without an event loop."""
    if not iins or last_day < first_day:
        return []
    key = min(iins)
    changes: list[StatusChange] = []
    year, month = first_day.year, first_day.month
    while date(year, month, 1) <= last_day:
        digest = hashlib.sha256(f"{salt}:{key}:{year:04d}-{month:02d}".encode()).digest()
        if digest[0] % CHANGE_EVERY_MONTHS == 0:
            day = date(year, month, digest[1] % 28 + 1)
            if first_day <= day <= last_day:
                before, after, direction = TRANSITIONS[digest[2] % len(TRANSITIONS)]
                changes.append(StatusChange(day, before, after, direction))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return changes
