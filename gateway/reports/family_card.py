"""The digital family card (ЦКС) as the quarterly monitoring sees it.

Order 192 p.13 asks the centre to take changes of a family's social status in the digital
family card into account. The real card is an e-government system reached through the bus;
until that adapter exists the report reads a `FamilyCardSource`, so the mock in
`mocks/family_card.py` and a real adapter are interchangeable.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Protocol


class Direction(StrEnum):
    """Whether a change moves the family out of the difficult situation or deeper into it."""

    improved = "improved"
    worsened = "worsened"
    neutral = "neutral"


DIRECTION_RU = {
    Direction.improved: "улучшение",
    Direction.worsened: "ухудшение",
    Direction.neutral: "без оценки",
}


@dataclass(frozen=True)
class StatusChange:
    """One change of the family's social status recorded in the card, on a given day."""

    on: date
    from_status: str
    to_status: str
    direction: Direction

    @property
    def text_ru(self) -> str:
        return f"{self.from_status} → {self.to_status}"


class FamilyCardSource(Protocol):
    async def status_changes(
        self, iins: Sequence[str], first_day: date, last_day: date
    ) -> list[StatusChange]:
        """Changes of the family made up of `iins`, between the two days inclusive, by date."""
        ...
