"""Where a person is registered as living, for the p.45 monitoring of arrived kandas.

Order 170 p.45 checks through the migration police system that arrived kandas and
their families actually live in the region they settled in. The gateway asks one
question, "is this person registered in that region now?", and needs three answers:
yes, no, and "the registry has nothing current" (``None``), because a kandas with no
current registration at all is a different finding from one registered elsewhere.

The registrations come from any object with an async ``registrations_of(iin)`` (today
the bus client, ``adapters.shep.migration_police.MigrationPoliceClient``). It is taken
as a Protocol, not imported, so the monitoring code and its tests do not depend on the
SOAP stack, and a REST source can replace the bus without changing them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal, Protocol

from adapters.http_discipline import UpstreamNotFound
from adapters.shep.errors import ShepNotFound
from contracts.clock import Clock, SystemClock, to_almaty
from contracts.iin import check_iin

__all__ = [
    "PoliceResidenceChecker",
    "Registration",
    "RegistrationKind",
    "RegistrationRecord",
    "RegistrationSource",
    "ResidenceChecker",
    "same_region",
]

RegistrationKind = Literal["permanent", "temporary"]


class RegistrationRecord(Protocol):
    """What we read from a source's registration; the bus client's dataclass fits."""

    @property
    def kind(self) -> str: ...
    @property
    def region(self) -> str: ...
    @property
    def locality(self) -> str: ...
    @property
    def registered_from(self) -> date: ...
    @property
    def registered_until(self) -> date | None: ...


class RegistrationSource(Protocol):
    async def registrations_of(self, iin: str) -> Sequence[RegistrationRecord]: ...


@dataclass(frozen=True, slots=True)
class Registration:
    kind: RegistrationKind
    region: str
    locality: str
    registered_from: date
    registered_until: date | None

    def current_on(self, day: date) -> bool:
        return self.registered_from <= day and (
            self.registered_until is None or day <= self.registered_until
        )


class ResidenceChecker(Protocol):
    """What the gateway's monitoring needs from the migration police, and no more."""

    async def registrations_of(self, iin: str) -> Sequence[Registration]: ...

    async def lives_in_region(
        self, iin: str, region: str, *, on: date | None = None
    ) -> bool | None: ...


# Words that vary between systems for the same region: "г. Алматы" / "Алматы",
# "Карагандинская область" / "Карагандинская обл." / "Қарағанды облысы" is not
# handled (another language), but the common Russian spellings are.
_NOISE = re.compile(r"\b(г|город|обл|область|облысы|қаласы)\b\.?", re.IGNORECASE)


def _region_key(region: str) -> str:
    text = _NOISE.sub(" ", region.casefold().replace("ё", "е"))
    return " ".join(re.sub(r"[^\w\s-]", " ", text).split())


def same_region(a: str, b: str) -> bool:
    """Whether two spellings name the same region ("г. Алматы" is "Алматы")."""
    return _region_key(a) == _region_key(b)


class PoliceResidenceChecker:
    """``ResidenceChecker`` over any ``RegistrationSource``.

    Errors of the source other than "not found" (unavailable, refused) propagate: a
    monitoring run that could not ask must be retried, not recorded as "unknown".
    """

    def __init__(
        self,
        source: RegistrationSource,
        *,
        clock: Clock | None = None,
        kinds: frozenset[RegistrationKind] = frozenset({"permanent", "temporary"}),
    ) -> None:
        self._source = source
        self._clock = clock or SystemClock()
        # Temporary registrations count by default: p.31 settles a newcomer without
        # housing on a temporary registration in the region, and that is living there.
        self._kinds = kinds

    async def registrations_of(self, iin: str) -> list[Registration]:
        check_iin(iin)
        try:
            records = await self._source.registrations_of(iin)
        except (ShepNotFound, UpstreamNotFound):
            return []
        return [_normalise(r) for r in records]

    async def lives_in_region(
        self, iin: str, region: str, *, on: date | None = None
    ) -> bool | None:
        """True if a registration current ``on`` (default: today in Almaty) is in
        ``region``; False if current ones exist but all elsewhere; None if none is."""
        day = on or to_almaty(self._clock.now()).date()
        current = [
            r
            for r in await self.registrations_of(iin)
            if r.kind in self._kinds and r.current_on(day)
        ]
        if not current:
            return None
        return any(same_region(r.region, region) for r in current)


def _normalise(record: RegistrationRecord) -> Registration:
    kind = record.kind.strip().lower()
    if kind not in ("permanent", "temporary"):
        raise ValueError(f"unknown registration kind {record.kind!r}")
    return Registration(
        kind="permanent" if kind == "permanent" else "temporary",
        region=record.region,
        locality=record.locality,
        registered_from=record.registered_from,
        registered_until=record.registered_until,
    )
