"""Clients of the other organisations' REST systems, built once per process from settings.

Each is an adapter (`adapters/…`) with its own timeouts, retries and breaker; building
them here keeps `runtime` to wiring. A system with no URL configured is None, and the
work it would take stays owed and visible rather than silently skipped.
"""

from __future__ import annotations

from adapters.egov import EgovClient
from adapters.http_discipline import HttpSettings
from adapters.kandas_ais import KandasClient
from adapters.labour_market import LabourMarketClient
from adapters.migration_portal import MigrationPortalClient
from gateway.config import Settings


def migration_portal(settings: Settings) -> MigrationPortalClient | None:
    url = settings.migration_portal_url
    return MigrationPortalClient(HttpSettings(base_url=url)) if url else None


def labour_market(settings: Settings) -> LabourMarketClient | None:
    url = settings.labour_market_url
    return LabourMarketClient(HttpSettings(base_url=url)) if url else None



def egov_portal(settings: Settings) -> EgovClient | None:
    url = settings.egov_url
    return EgovClient(HttpSettings(base_url=url)) if url else None


def kandas_system(settings: Settings) -> KandasClient | None:
    url = settings.kandas_url
    return KandasClient(HttpSettings(base_url=url)) if url else None
