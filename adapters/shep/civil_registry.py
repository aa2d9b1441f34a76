"""The civil registry (ЗАГС / АХАЖ) through the bus: births, marriages, deaths.

Order 170 p.6 has the career centre take birth, marriage and death records from the
registry rather than from the applicant. Three services of ``services.json`` stand
behind one client because a caller thinks of them as one registry. A child's birth
record and a death record are single records (``None`` when the registry has none: a
birth registered before 13 August 2007 and never digitised, a person alive); births
by parent and marriages are searches, and an empty tuple is an ordinary answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from adapters.shep._registry import (
    RecordedPerson,
    RegistryService,
    optional_person,
    recorded_person,
)
from adapters.shep.client import SyncChannelClient
from adapters.shep.errors import ShepError
from contracts.iin import check_iin

__all__ = ["BirthRecord", "CivilRegistryClient", "DeathRecord", "MarriageRecord"]


@dataclass(frozen=True, slots=True)
class BirthRecord:
    number: str
    registered: date
    office: str
    child: RecordedPerson
    mother: RecordedPerson | None
    father: RecordedPerson | None
    """None when no father is entered (a single mother's child)."""


@dataclass(frozen=True, slots=True)
class MarriageRecord:
    number: str
    registered: date
    office: str
    husband: RecordedPerson
    wife: RecordedPerson
    dissolved: date | None

    @property
    def current(self) -> bool:
        return self.dissolved is None

    def spouse_of(self, iin: str) -> RecordedPerson:
        return self.wife if self.husband.iin == iin else self.husband


@dataclass(frozen=True, slots=True)
class DeathRecord:
    number: str
    registered: date
    office: str
    deceased: RecordedPerson
    death_date: date


def _birth(value: Any) -> BirthRecord:
    return BirthRecord(
        number=value.number,
        registered=value.registered,
        office=value.office,
        child=recorded_person(value.child),
        mother=optional_person(value.mother),
        father=optional_person(value.father),
    )


class CivilRegistryClient:
    """Typed queries to the civil registry's three services over one channel."""

    def __init__(self, channel: SyncChannelClient) -> None:
        self._births = RegistryService(channel, "civil_births")
        self._marriages = RegistryService(channel, "civil_marriages")
        self._deaths = RegistryService(channel, "civil_deaths")

    async def birth_of_child(
        self, iin: str, *, correlation_id: str | None = None
    ) -> BirthRecord | None:
        check_iin(iin)
        records = await self._births.ask_list(
            {"childIin": iin}, "record", correlation_id=correlation_id
        )
        found = [_birth(r) for r in records]
        if len(found) > 1 or any(r.child.iin != iin for r in found):
            raise ShepError("the civil registry answered with another child's birth record")
        return found[0] if found else None

    async def births_by_parent(
        self, iin: str, *, correlation_id: str | None = None
    ) -> tuple[BirthRecord, ...]:
        """The births where ``iin`` is entered as mother or father."""
        check_iin(iin)
        records = await self._births.ask_list(
            {"parentIin": iin}, "record", correlation_id=correlation_id
        )
        found = tuple(_birth(r) for r in records)
        for record in found:
            parents = {p.iin for p in (record.mother, record.father) if p is not None}
            if iin not in parents:
                raise ShepError("the civil registry answered with a birth of someone else's child")
        return found

    async def marriages_of(
        self, iin: str, *, correlation_id: str | None = None
    ) -> tuple[MarriageRecord, ...]:
        """Every marriage on record, dissolved ones included, oldest first."""
        check_iin(iin)
        records = await self._marriages.ask_list(
            {"iin": iin}, "record", correlation_id=correlation_id
        )
        found = [
            MarriageRecord(
                number=r.number,
                registered=r.registered,
                office=r.office,
                husband=recorded_person(r.husband),
                wife=recorded_person(r.wife),
                dissolved=r.dissolved,
            )
            for r in records
        ]
        if any(iin not in (m.husband.iin, m.wife.iin) for m in found):
            raise ShepError("the civil registry answered with someone else's marriage")
        return tuple(sorted(found, key=lambda m: m.registered))

    async def death_of(self, iin: str, *, correlation_id: str | None = None) -> DeathRecord | None:
        check_iin(iin)
        value = await self._deaths.ask({"iin": iin}, correlation_id=correlation_id)
        if value is None:
            return None
        record = value.record
        found = DeathRecord(
            number=record.number,
            registered=record.registered,
            office=record.office,
            deceased=recorded_person(record.deceased),
            death_date=record.deathDate,
        )
        if found.deceased.iin != iin:
            raise ShepError("the civil registry answered with another person's death record")
        return found
