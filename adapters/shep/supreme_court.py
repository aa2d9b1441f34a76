"""The Supreme Court's system through the bus: adoption decisions (order 170 p.6).

After an adoption the child's birth record names the adopters as parents (the secrecy
of adoption), so the court's decision is the only place the fact shows; the gateway
needs it to tell adoptive parents from birth parents when the law treats them apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from adapters.shep._registry import RecordedPerson, RegistryService, recorded_person
from adapters.shep.client import SyncChannelClient
from adapters.shep.errors import ShepError
from contracts.iin import check_iin

__all__ = ["AdoptionDecision", "SupremeCourtClient"]


@dataclass(frozen=True, slots=True)
class AdoptionDecision:
    case_number: str
    court: str
    decided: date
    in_force: date
    child: RecordedPerson
    adoptive_parents: tuple[RecordedPerson, ...]


class SupremeCourtClient:
    def __init__(self, channel: SyncChannelClient) -> None:
        self._service = RegistryService(channel, "adoption")

    async def adoptions_of_child(
        self, iin: str, *, correlation_id: str | None = None
    ) -> tuple[AdoptionDecision, ...]:
        """Decisions on adopting this child; an empty tuple when nobody adopted them."""
        check_iin(iin)
        values = await self._service.ask_list(
            {"childIin": iin}, "decision", correlation_id=correlation_id
        )
        found = tuple(
            AdoptionDecision(
                case_number=v.caseNumber,
                court=v.court,
                decided=v.decided,
                in_force=v.inForce,
                child=recorded_person(v.child),
                adoptive_parents=tuple(recorded_person(p) for p in v.adoptiveParent),
            )
            for v in values
        )
        if any(d.child.iin != iin for d in found):
            raise ShepError("the Supreme Court's system answered about another child")
        return found
