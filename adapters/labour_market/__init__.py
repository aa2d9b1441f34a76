"""The labour market system (АИС «Рынок труда»): the p.18 draft decision on unemployed
status, and whether a person is registered; REST with ``adapters.http_discipline``.
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
from adapters.labour_market.client import SERVICE, LabourMarketClient
from contracts.labour_market import (
    DraftReason,
    DraftStatus,
    PersonRegistration,
    RegistrationStatus,
    UnemploymentDraft,
    UnemploymentDraftIn,
)

__all__ = [
    "SERVICE",
    "DraftReason",
    "DraftStatus",
    "HttpSettings",
    "LabourMarketClient",
    "PersonRegistration",
    "Problem",
    "RegistrationStatus",
    "UnemploymentDraft",
    "UnemploymentDraftIn",
    "UpstreamCircuitOpen",
    "UpstreamError",
    "UpstreamNotFound",
    "UpstreamRejected",
    "UpstreamUnavailable",
]
