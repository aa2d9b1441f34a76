"""Typed client of the e-government portal for a receiving body's system.

What flow 3 needs: fetch new e-applications, move each through its statuses (forward
to the district office within 2 working days, review, answer or refuse), and tell the
citizen through the personal cabinet and by SMS; plus submitting an application, which
only tests and demos do (citizens file on the portal itself). Every call goes through
``adapters.http_discipline.RestCaller``: the same timeouts, retries, breakers and typed
errors as the Kandas client.
"""

from __future__ import annotations

from typing import Any

from adapters.egov.models import (
    Appeal,
    AppealForm,
    AppealList,
    AppealStatus,
    CabinetNotification,
    CabinetReceipt,
    SmsMessage,
    SmsReceipt,
    StatusChange,
)
from adapters.http_discipline import HttpSettings, RestCaller

__all__ = ["SERVICE", "EgovClient"]

SERVICE = "egov"


class EgovClient:
    def __init__(self, settings: HttpSettings, **caller_options: Any) -> None:
        """``caller_options`` go to ``RestCaller`` (``http``, ``transport``, ``breakers``,
        ``monotonic``, ``sleep``), so tests can inject a transport and a clock."""
        self.caller = RestCaller(SERVICE, settings, **caller_options)

    async def aclose(self) -> None:
        await self.caller.aclose()

    async def __aenter__(self) -> EgovClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def submit_appeal(
        self, form: AppealForm, *, idempotency_key: str | None = None
    ) -> Appeal:
        response = await self.caller.call(
            "POST",
            "/api/v1/appeals",
            endpoint="POST /api/v1/appeals",
            json=form.model_dump(mode="json"),
            idempotency_key=idempotency_key,
        )
        return RestCaller.parse(response, Appeal, service=SERVICE)

    async def appeals(
        self, status: AppealStatus | str = "new", *, recipient: str | None = None
    ) -> list[Appeal]:
        """Applications in ``status`` (``new``: received, not yet forwarded)."""
        params = {"status": str(status)}
        if recipient is not None:
            params["recipient"] = recipient
        response = await self.caller.call(
            "GET", "/api/v1/appeals", endpoint="GET /api/v1/appeals", params=params
        )
        return list(RestCaller.parse(response, AppealList, service=SERVICE).items)

    async def new_appeals(self, *, recipient: str | None = None) -> list[Appeal]:
        return await self.appeals("new", recipient=recipient)

    async def appeal(self, appeal_id: str) -> Appeal:
        response = await self.caller.call(
            "GET", f"/api/v1/appeals/{appeal_id}", endpoint="GET /api/v1/appeals/{id}"
        )
        return RestCaller.parse(response, Appeal, service=SERVICE)

    async def set_status(
        self,
        appeal_id: str,
        status: AppealStatus,
        *,
        district_office: str | None = None,
        result: str | None = None,
        comment: str | None = None,
    ) -> Appeal:
        """Move an application on; repeating the same move is harmless (the portal
        answers with the application as it stands), so this is safe to retry."""
        change = StatusChange(
            status=status, district_office=district_office, result=result, comment=comment
        )
        response = await self.caller.call(
            "POST",
            f"/api/v1/appeals/{appeal_id}/status",
            endpoint="POST /api/v1/appeals/{id}/status",
            json=change.model_dump(mode="json", exclude_none=True),
        )
        return RestCaller.parse(response, Appeal, service=SERVICE)

    async def forward(self, appeal_id: str, district_office: str) -> Appeal:
        return await self.set_status(
            appeal_id, AppealStatus.FORWARDED, district_office=district_office
        )

    async def notify_cabinet(
        self, note: CabinetNotification, *, idempotency_key: str | None = None
    ) -> CabinetReceipt:
        """Deliver to the citizen's personal cabinet; pass ``idempotency_key`` (e.g. the
        appeal id and status) when a retry of the whole job must not notify twice."""
        response = await self.caller.call(
            "POST",
            "/api/v1/notifications/cabinet",
            endpoint="POST /api/v1/notifications/cabinet",
            json=note.model_dump(mode="json", exclude_none=True),
            idempotency_key=idempotency_key,
        )
        return RestCaller.parse(response, CabinetReceipt, service=SERVICE)

    async def send_sms(self, sms: SmsMessage, *, idempotency_key: str | None = None) -> SmsReceipt:
        response = await self.caller.call(
            "POST",
            "/api/v1/notifications/sms",
            endpoint="POST /api/v1/notifications/sms",
            json=sms.model_dump(mode="json", exclude_none=True),
            idempotency_key=idempotency_key,
        )
        return RestCaller.parse(response, SmsReceipt, service=SERVICE)
