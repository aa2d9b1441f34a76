"""The e-government portal (egov.kz «Электронное обращение»): e-applications in,
status, cabinet notifications and SMS out; over REST with ``adapters.http_discipline``.
"""

from adapters.egov.client import SERVICE, EgovClient
from adapters.egov.models import (
    Appeal,
    AppealForm,
    AppealStatus,
    Attachment,
    CabinetNotification,
    CabinetReceipt,
    SmsMessage,
    SmsReceipt,
    StatusEvent,
)
from adapters.http_discipline import (
    HttpSettings,
    Problem,
    UpstreamCircuitOpen,
    UpstreamError,
    UpstreamNotFound,
    UpstreamRejected,
    UpstreamUnavailable,
)

__all__ = [
    "SERVICE",
    "Appeal",
    "AppealForm",
    "AppealStatus",
    "Attachment",
    "CabinetNotification",
    "CabinetReceipt",
    "EgovClient",
    "HttpSettings",
    "Problem",
    "SmsMessage",
    "SmsReceipt",
    "StatusEvent",
    "UpstreamCircuitOpen",
    "UpstreamError",
    "UpstreamNotFound",
    "UpstreamRejected",
    "UpstreamUnavailable",
]
