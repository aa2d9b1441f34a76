"""The p.45 residence check over a fake registration source (no bus, no SOAP)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

import pytest

from adapters.police_migration import (
    PoliceResidenceChecker,
    Registration,
    ResidenceChecker,
    same_region,
)
from adapters.shep.errors import ShepNotFound, ShepUnavailable
from contracts.clock import ManualClock

IIN = "850312300012"


@dataclass(frozen=True)
class Record:
    """Shaped like the bus client's ``ResidenceRegistration`` (upper-case kinds)."""

    kind: str
    region: str
    locality: str
    registered_from: date
    registered_until: date | None = None


class FakeSource:
    def __init__(self, records: dict[str, Sequence[Record]], *, error: Exception | None = None):
        self.records = records
        self.error = error
        self.asked: list[str] = []

    async def registrations_of(self, iin: str) -> Sequence[Record]:
        self.asked.append(iin)
        if self.error is not None:
            raise self.error
        return self.records.get(iin, ())


def checker(source: FakeSource, today: date = date(2026, 10, 15)) -> PoliceResidenceChecker:
    clock = ManualClock(datetime(today.year, today.month, today.day, 6, tzinfo=UTC))
    return PoliceResidenceChecker(source, clock=clock)


async def test_registered_permanently_in_the_region() -> None:
    source = FakeSource(
        {IIN: [Record("PERMANENT", "Павлодарская область", "Павлодар", date(2026, 3, 1))]}
    )
    residence: ResidenceChecker = checker(source)
    assert await residence.lives_in_region(IIN, "Павлодарская обл.") is True
    assert await residence.lives_in_region(IIN, "Карагандинская область") is False
    assert source.asked == [IIN, IIN]


async def test_registrations_are_normalised() -> None:
    source = FakeSource(
        {IIN: [Record("TEMPORARY", "г. Алматы", "Алматы", date(2026, 1, 1), date(2026, 12, 31))]}
    )
    assert await checker(source).registrations_of(IIN) == [
        Registration("temporary", "г. Алматы", "Алматы", date(2026, 1, 1), date(2026, 12, 31))
    ]


async def test_a_temporary_registration_in_an_adaptation_centre_counts() -> None:
    # p.31: without housing, a year's temporary registration in the settlement region.
    source = FakeSource(
        {
            IIN: [
                Record("PERMANENT", "Туркестанская область", "Туркестан", date(2010, 1, 1)),
                Record("TEMPORARY", "г. Астана", "Астана", date(2026, 5, 1), date(2027, 4, 30)),
            ]
        }
    )
    assert await checker(source).lives_in_region(IIN, "Астана") is True
    permanent_only = PoliceResidenceChecker(source, kinds=frozenset({"permanent"}))
    assert await permanent_only.lives_in_region(IIN, "Астана", on=date(2026, 10, 15)) is False


async def test_expired_and_future_registrations_do_not_count() -> None:
    source = FakeSource(
        {
            IIN: [
                Record("TEMPORARY", "г. Астана", "Астана", date(2025, 1, 1), date(2025, 12, 31)),
                Record("PERMANENT", "г. Астана", "Астана", date(2027, 1, 1)),
            ]
        }
    )
    assert await checker(source).lives_in_region(IIN, "г. Астана") is None
    assert await checker(source).lives_in_region(IIN, "г. Астана", on=date(2025, 6, 1)) is True


async def test_nobody_registered_is_unknown_not_false() -> None:
    assert await checker(FakeSource({})).lives_in_region(IIN, "г. Астана") is None
    not_found = FakeSource({}, error=ShepNotFound("no record", code="E404"))
    assert await checker(not_found).registrations_of(IIN) == []


async def test_an_unavailable_registry_propagates() -> None:
    down = FakeSource({}, error=ShepUnavailable("bus down"))
    with pytest.raises(ShepUnavailable):
        await checker(down).lives_in_region(IIN, "г. Астана")


async def test_an_invalid_iin_never_reaches_the_registry() -> None:
    source = FakeSource({})
    with pytest.raises(ValueError):
        await checker(source).lives_in_region("850312300015", "г. Астана")
    assert source.asked == []


async def test_an_unknown_kind_is_a_contract_error() -> None:
    source = FakeSource({IIN: [Record("VISITOR", "г. Астана", "Астана", date(2026, 1, 1))]})
    with pytest.raises(ValueError, match="kind"):
        await checker(source).registrations_of(IIN)


def test_region_spellings() -> None:
    assert same_region("г. Алматы", "Алматы")
    assert same_region("Карагандинская область", "карагандинская обл.")
    assert not same_region("Алматинская область", "г. Алматы")
