"""The digital family card (ЦКС): status-change feed and family lookup; REST with
``adapters.http_discipline``, wire format in ``contracts.family_card``."""

from adapters.family_card.client import SERVICE, FamilyCardClient, FamilyCardMalformed
from adapters.http_discipline import (
    HttpSettings,
    Problem,
    UpstreamCircuitOpen,
    UpstreamError,
    UpstreamNotFound,
    UpstreamRejected,
    UpstreamUnavailable,
)
from adapters.shep.breaker import BreakerBoard, BreakerState

__all__ = [
    "SERVICE",
    "BreakerBoard",
    "BreakerState",
    "FamilyCardClient",
    "FamilyCardMalformed",
    "HttpSettings",
    "Problem",
    "UpstreamCircuitOpen",
    "UpstreamError",
    "UpstreamNotFound",
    "UpstreamRejected",
    "UpstreamUnavailable",
]
