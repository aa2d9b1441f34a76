"""The mock migration portal (migration.enbek.kz); see README.md."""

from mocks.migration_portal.app import create_app
from mocks.migration_portal.state import PortalState

__all__ = ["PortalState", "create_app"]
