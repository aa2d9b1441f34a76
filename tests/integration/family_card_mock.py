"""The mock digital family card (ЦКС) over real HTTP, for the report's and the adapter's tests.

uvicorn in a thread (`mocks.shep.server.serve_in_thread`), the way the other REST mocks
run in tests; the card's clock is fixed so that "what the card has recorded by now" is
the same on every run. Stopping it plays the card being down.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime

from mocks.admin import MockAdmin
from mocks.family_card import CardHistory, create_app
from mocks.population import Family, Population, generate_population
from mocks.shep.server import RunningServer, serve_in_thread

SEED = 42


@dataclass
class RunningCard:
    server: RunningServer
    admin: MockAdmin
    population: Population

    @property
    def url(self) -> str:
        return self.server.base_url

    def expected_changes(self, family: Family, first: date, last: date) -> list[tuple[date, str]]:
        """What the card should report for ``family``, from the mock's own history (a path
        that shares nothing with the gateway's adapter and report)."""
        history = CardHistory(self.population, self.population.seed)
        now = self.admin.clock.now()
        return [
            (c.effective_on, c.to_status)
            for c in history.changes(family, last)
            if first <= c.effective_on and c.recorded_at <= now
        ]


@contextmanager
def running_card(now: datetime, population: Population | None = None) -> Iterator[RunningCard]:
    population = population or generate_population(SEED)
    admin = MockAdmin(seed=1)
    admin.clock.set(now)
    with serve_in_thread(create_app(population, admin)) as server:
        yield RunningCard(server, admin, population)


def members_of(family: Family) -> list[dict[str, str]]:
    """A plan's family (contracts.plans.Member) made of a population family's people."""
    return [
        {
            "iin": person.iin,
            "last_name": person.last_name,
            "first_name": person.first_name,
            "role": "applicant" if index == 0 else "child" if person.role == "child" else "other",
        }
        for index, person in enumerate(family.members)
        if not person.deceased
    ]
