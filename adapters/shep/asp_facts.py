"""The registries of the proactive targeted social assistance check, through the bus.

Order No. 109 p.13 and p.17: with no application, the employment centre asks the
bodies that hold them for the family's real estate, vehicles, household plot, alimony
received, and the income on which mandatory pension contributions were paid. Each
question carries its purpose and legal ground as ``requestInfo`` properties
(``purpose``, ``legalGround``), so the bus's journal shows why every person was asked
about, as the gateway's own record does. A person with nothing recorded is an ordinary
answer: an empty tuple.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from adapters.shep._registry import RegistryService
from adapters.shep.client import SyncChannelClient
from adapters.shep.errors import ShepError
from contracts.iin import check_iin

__all__ = [
    "AlimonyOrder",
    "AspFactsClient",
    "Contribution",
    "HouseholdPlot",
    "Property",
    "QueryGround",
    "Vehicle",
]


@dataclass(frozen=True, slots=True)
class QueryGround:
    """Why a person's record is asked for: written on the request and in our records."""

    purpose: str
    legal_ground: str

    def properties(self) -> dict[str, str]:
        return {"purpose": self.purpose, "legalGround": self.legal_ground}


@dataclass(frozen=True, slots=True)
class Property:
    cadastral_number: str
    kind: str
    address: str
    share: str
    registered: date


@dataclass(frozen=True, slots=True)
class Vehicle:
    plate: str
    make: str
    year: int
    registered: date


@dataclass(frozen=True, slots=True)
class HouseholdPlot:
    akimat: str
    area_ares: int
    livestock_heads: int
    recorded: date


@dataclass(frozen=True, slots=True)
class AlimonyOrder:
    case_number: str
    payer_iin: str
    monthly_amount: int
    since: date


@dataclass(frozen=True, slots=True)
class Contribution:
    month: str
    income: int
    amount: int
    agent: str


def _year(value: Any) -> int:
    """zeep reads an ``xs:gYear`` as ``(year, tzinfo)``."""
    return int(value[0] if isinstance(value, tuple) else value)


class AspFactsClient:
    def __init__(self, channel: SyncChannelClient) -> None:
        self._estate = RegistryService(channel, "real_estate")
        self._vehicles = RegistryService(channel, "vehicles")
        self._plots = RegistryService(channel, "household_plot")
        self._alimony = RegistryService(channel, "alimony")
        self._pension = RegistryService(channel, "pension_contributions")

    async def _list(
        self, service: RegistryService, fields: dict[str, str], item: str, ground: QueryGround
    ) -> list[Any]:
        check_iin(fields["iin"])
        value = await service.ask(fields, properties=ground.properties())
        if value is None:
            return []
        if value.iin != fields["iin"]:
            raise ShepError(f"{service.service.registry} answered about another person")
        return list(getattr(value, item) or [])

    async def real_estate(self, iin: str, ground: QueryGround) -> tuple[Property, ...]:
        items = await self._list(self._estate, {"iin": iin}, "property", ground)
        return tuple(
            Property(v.cadastralNumber, v.kind, v.address, v.share, v.registered) for v in items
        )

    async def vehicles(self, iin: str, ground: QueryGround) -> tuple[Vehicle, ...]:
        items = await self._list(self._vehicles, {"iin": iin}, "vehicle", ground)
        return tuple(Vehicle(v.plate, v.make, _year(v.year), v.registered) for v in items)

    async def household_plots(self, iin: str, ground: QueryGround) -> tuple[HouseholdPlot, ...]:
        items = await self._list(self._plots, {"iin": iin}, "plot", ground)
        return tuple(
            HouseholdPlot(v.akimat, int(v.areaAres), int(v.livestockHeads), v.recorded)
            for v in items
        )

    async def alimony(self, iin: str, ground: QueryGround) -> tuple[AlimonyOrder, ...]:
        items = await self._list(self._alimony, {"iin": iin}, "order", ground)
        return tuple(
            AlimonyOrder(v.caseNumber, v.payerIin, int(v.monthlyAmount), v.since) for v in items
        )

    async def pension_contributions(
        self, iin: str, first_month: str, last_month: str, ground: QueryGround
    ) -> tuple[Contribution, ...]:
        fields = {"iin": iin, "fromMonth": first_month, "toMonth": last_month}
        items = await self._list(self._pension, fields, "contribution", ground)
        return tuple(Contribution(v.month, int(v.income), int(v.amount), v.agent) for v in items)
