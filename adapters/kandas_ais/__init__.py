"""The Kandas system (АИС «Кандас»): adaptation plans, work reports with photo/video
and geolocation, and the monthly appendix 3 report; REST with ``adapters.http_discipline``.
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
from adapters.kandas_ais.client import SERVICE, KandasClient
from adapters.kandas_ais.models import (
    MONTHLY_REPORT_COLUMNS,
    Geolocation,
    Media,
    Member,
    MemberRequest,
    MonthlyReport,
    Plan,
    PlannedService,
    PlannedServiceRequest,
    PlanRequest,
    ServiceStatus,
    WorkReport,
    WorkReportRequest,
)

__all__ = [
    "MONTHLY_REPORT_COLUMNS",
    "SERVICE",
    "Geolocation",
    "HttpSettings",
    "KandasClient",
    "Media",
    "Member",
    "MemberRequest",
    "MonthlyReport",
    "Plan",
    "PlanRequest",
    "PlannedService",
    "PlannedServiceRequest",
    "Problem",
    "ServiceStatus",
    "UpstreamCircuitOpen",
    "UpstreamError",
    "UpstreamNotFound",
    "UpstreamRejected",
    "UpstreamUnavailable",
    "WorkReport",
    "WorkReportRequest",
]
