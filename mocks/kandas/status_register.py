"""Who holds kandas status, as the Kandas system records it (the status of the act
formerly called «оралман»).

The synthetic population has two kandas families: the family that arrived on residence
permits and the newcomers registered only temporarily at an adaptation centre; every
member of both holds the status. A developer or a test grants or withdraws it for anyone
else through ``PUT /__admin/kandas-status/{iin}`` (e.g. a kandas who is already a citizen
and registered unemployed, to show the referral's portal rule).
"""

from __future__ import annotations

import threading
from datetime import date, timedelta

from mocks.population import REFERENCE_DATE, Population

__all__ = ["KandasStatusRegister"]


class KandasStatusRegister:
    def __init__(self, population: Population) -> None:
        self._lock = threading.Lock()
        self._population = population
        self._granted: dict[str, date] = {}
        self.reset()

    def reset(self) -> None:
        holders: dict[str, date] = {}
        for iin in (
            self._population.foreign_iin,
            self._population.kandas_without_registration_iin,
        ):
            family = self._population.family_of(iin)
            for member in family.members if family is not None else ():
                holders[member.iin] = REFERENCE_DATE - timedelta(days=60)
        with self._lock:
            self._granted = holders

    def set(self, iin: str, holds: bool, since: date | None = None) -> None:
        with self._lock:
            if holds:
                self._granted[iin] = since or REFERENCE_DATE
            else:
                self._granted.pop(iin, None)

    def since(self, iin: str) -> date | None:
        with self._lock:
            return self._granted.get(iin)
