"""The migration police system through the bus: registrations at the place of residence.

Order 170 p.45 checks that arrived kandas actually live in the region they settled in,
and p.31 lets a newcomer without housing live on a temporary registration for up to a
year; so the gateway needs both kinds, with their dates. A person with no registration
at all is an ordinary answer (an empty tuple), not an error.

Over the bus (SOAP); the migration police's own REST interface, if the gateway ever
uses it, belongs in ``adapters/police_migration``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

from adapters.shep._registry import RegistryService
from adapters.shep.client import SyncChannelClient
from adapters.shep.errors import ShepError
from contracts.iin import check_iin

__all__ = ["MigrationPoliceClient", "ResidenceRegistration"]

RegistrationKind = Literal["PERMANENT", "TEMPORARY"]


@dataclass(frozen=True, slots=True)
class ResidenceRegistration:
    kind: RegistrationKind
    region: str
    locality: str
    street: str
    house: str
    flat: str | None
    registered_from: date
    registered_until: date | None


class MigrationPoliceClient:
    def __init__(self, channel: SyncChannelClient) -> None:
        self._service = RegistryService(channel, "migration_police")

    async def registrations_of(
        self, iin: str, *, correlation_id: str | None = None
    ) -> tuple[ResidenceRegistration, ...]:
        check_iin(iin)
        value = await self._service.ask({"iin": iin}, correlation_id=correlation_id)
        if value is None:
            return ()
        if value.iin != iin:
            raise ShepError("the migration police answered about another IIN")
        return tuple(
            ResidenceRegistration(
                kind=r.kind,
                region=r.region,
                locality=r.locality,
                street=r.street,
                house=r.house,
                flat=r.flat,
                registered_from=r.registeredFrom,
                registered_until=r.registeredUntil,
            )
            for r in value.registration or []
        )
