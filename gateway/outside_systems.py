"""Clients of the other organisations' REST systems, built once per process from settings.

Each is an adapter (`adapters/…`) with its own timeouts, retries and breaker; building
them here keeps `runtime` to wiring. A system with no URL configured is None, and the
work it would take stays owed and visible rather than silently skipped.
"""

from __future__ import annotations

from collections.abc import Sequence

from adapters.http_discipline import HttpSettings
from adapters.kandas_ais import KandasClient
from adapters.labour_market import LabourMarketClient
from adapters.migration_portal import MigrationPortalClient
from adapters.police_migration.residence import PoliceResidenceChecker
from adapters.shep.migration_police import ResidenceRegistration
from contracts.clock import Clock
from gateway.config import Settings
from gateway.services.registry_lookup import ShepRegistryGateway


def migration_portal(settings: Settings) -> MigrationPortalClient | None:
    url = settings.migration_portal_url
    return MigrationPortalClient(HttpSettings(base_url=url)) if url else None


def labour_market(settings: Settings) -> LabourMarketClient | None:
    url = settings.labour_market_url
    return LabourMarketClient(HttpSettings(base_url=url)) if url else None



def kandas(settings: Settings) -> KandasClient | None:
    """The Kandas system (order 170 p.32-39); None: uploads wait in the outbox."""
    url = settings.kandas_url
    return KandasClient(HttpSettings(base_url=url)) if url else None


class _BusRegistrations:
    """The bus client's registrations under the name the residence checker asks for."""

    def __init__(self, registry: ShepRegistryGateway) -> None:
        self._registry = registry

    async def registrations_of(self, iin: str) -> Sequence[ResidenceRegistration]:
        return await self._registry.registrations(iin)


def residence(registry: ShepRegistryGateway | None, clock: Clock) -> PoliceResidenceChecker | None:
    """p.45: is a person registered in a region, from the migration police on the bus."""
    return PoliceResidenceChecker(_BusRegistrations(registry), clock=clock) if registry else None
