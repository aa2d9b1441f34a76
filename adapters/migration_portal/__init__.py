"""The migration portal (migration.enbek.kz): kandas applications registered (p.7) and
their signed hand-overs mirrored; REST with ``adapters.http_discipline``.
"""

from adapters.http_discipline import (
    HttpSettings,
    Problem,
    UpstreamCircuitOpen,
    UpstreamError,
    UpstreamNotFound,
    UpstreamRejected,
    UpstreamUnavailable,
)
from adapters.migration_portal.client import SERVICE, MigrationPortalClient
from contracts.migration_portal import (
    Application,
    ApplicationIn,
    ApplicationMember,
    ApplicationMemberIn,
    ApplicationRegistered,
    ApplicationStatus,
    HandoverEvent,
    HandoverEventIn,
    HandoverRecorded,
    signature_digest,
)

__all__ = [
    "SERVICE",
    "Application",
    "ApplicationIn",
    "ApplicationMember",
    "ApplicationMemberIn",
    "ApplicationRegistered",
    "ApplicationStatus",
    "HandoverEvent",
    "HandoverEventIn",
    "HandoverRecorded",
    "HttpSettings",
    "MigrationPortalClient",
    "Problem",
    "UpstreamCircuitOpen",
    "UpstreamError",
    "UpstreamNotFound",
    "UpstreamRejected",
    "UpstreamUnavailable",
    "signature_digest",
]
