"""Е-опека through the bus: guardianship and trusteeship decisions (order 170 p.6).

A child's guardian is the adult the career centre deals with instead of the parents,
so the gateway asks both ways: who guards this child, and whom does this adult guard.
No decision is an ordinary answer (an empty tuple).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from adapters.shep._registry import RecordedPerson, RegistryService, recorded_person
from adapters.shep.client import SyncChannelClient
from adapters.shep.errors import ShepError
from contracts.iin import check_iin

__all__ = ["GuardianshipClient", "GuardianshipDecision"]

GuardianshipKind = Literal["GUARDIANSHIP", "TRUSTEESHIP"]


@dataclass(frozen=True, slots=True)
class GuardianshipDecision:
    """Опека (GUARDIANSHIP, under 14) or попечительство (TRUSTEESHIP, 14 to 18)."""

    number: str
    decided: date
    authority: str
    kind: GuardianshipKind
    child: RecordedPerson
    guardian: RecordedPerson
    valid_until: date


def _decision(value: Any) -> GuardianshipDecision:
    return GuardianshipDecision(
        number=value.number,
        decided=value.decided,
        authority=value.authority,
        kind=value.kind,
        child=recorded_person(value.child),
        guardian=recorded_person(value.guardian),
        valid_until=value.validUntil,
    )


class GuardianshipClient:
    def __init__(self, channel: SyncChannelClient) -> None:
        self._service = RegistryService(channel, "guardianship")

    async def _decisions(
        self, key: str, iin: str, correlation_id: str | None
    ) -> tuple[GuardianshipDecision, ...]:
        check_iin(iin)
        values = await self._service.ask_list({key: iin}, "decision", correlation_id=correlation_id)
        found = tuple(_decision(v) for v in values)
        side = "child" if key == "childIin" else "guardian"
        if any(getattr(d, side).iin != iin for d in found):
            raise ShepError(f"Е-опека answered about another {side}")
        return found

    async def decisions_for_child(
        self, iin: str, *, correlation_id: str | None = None
    ) -> tuple[GuardianshipDecision, ...]:
        return await self._decisions("childIin", iin, correlation_id)

    async def decisions_by_guardian(
        self, iin: str, *, correlation_id: str | None = None
    ) -> tuple[GuardianshipDecision, ...]:
        return await self._decisions("guardianIin", iin, correlation_id)
