"""Typed client of the Kandas system for the gateway's kandas flow (order 170, p.32–39).

Upload a family's adaptation plan, read it back, report each service done with its
photo/video evidence and geolocation, and fetch the appendix 3 monthly report. Every
call goes through ``adapters.http_discipline.RestCaller`` (timeouts, retries within a
deadline, a breaker per endpoint, typed errors), the same as the portal's client.
"""

from __future__ import annotations

from typing import Any

from adapters.http_discipline import HttpSettings, RestCaller, UpstreamError
from adapters.kandas_ais.models import (
    MONTHLY_REPORT_COLUMNS,
    KandasStatus,
    MonthlyReport,
    Plan,
    PlanRequest,
    WorkReport,
    WorkReportRequest,
)
from contracts.iin import check_iin

__all__ = ["SERVICE", "KandasClient"]

SERVICE = "kandas"


class KandasClient:
    def __init__(self, settings: HttpSettings, **caller_options: Any) -> None:
        """``caller_options`` go to ``RestCaller`` (``http``, ``transport``, ``breakers``,
        ``monotonic``, ``sleep``), so tests can inject a transport and a clock."""
        self.caller = RestCaller(SERVICE, settings, **caller_options)

    async def aclose(self) -> None:
        await self.caller.aclose()

    async def __aenter__(self) -> KandasClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def create_plan(self, plan: PlanRequest, *, idempotency_key: str | None = None) -> Plan:
        """Upload a plan. Pass ``idempotency_key`` (e.g. our plan's id) so that a retry
        of the whole job, not only of this call, cannot upload the plan twice."""
        response = await self.caller.call(
            "POST",
            "/api/v1/adaptation-plans",
            endpoint="POST /api/v1/adaptation-plans",
            json=plan.model_dump(mode="json", exclude_none=True),
            idempotency_key=idempotency_key,
        )
        return RestCaller.parse(response, Plan, service=SERVICE)

    async def plan(self, plan_id: str) -> Plan:
        response = await self.caller.call(
            "GET",
            f"/api/v1/adaptation-plans/{plan_id}",
            endpoint="GET /api/v1/adaptation-plans/{id}",
        )
        return RestCaller.parse(response, Plan, service=SERVICE)

    async def report_work(
        self, plan_id: str, report: WorkReportRequest, *, idempotency_key: str | None = None
    ) -> WorkReport:
        response = await self.caller.call(
            "POST",
            f"/api/v1/adaptation-plans/{plan_id}/reports",
            endpoint="POST /api/v1/adaptation-plans/{id}/reports",
            json=report.model_dump(mode="json", exclude_none=True),
            idempotency_key=idempotency_key,
        )
        return RestCaller.parse(response, WorkReport, service=SERVICE)

    async def monthly_report(self, month: str) -> MonthlyReport:
        """The appendix 3 report for ``month`` (``YYYY-MM``); checks its 27 columns,
        because a report of another shape would be filed wrong, not fail loudly."""
        response = await self.caller.call(
            "GET",
            "/api/v1/reports/monthly",
            endpoint="GET /api/v1/reports/monthly",
            params={"month": month},
        )
        report = RestCaller.parse(response, MonthlyReport, service=SERVICE)
        widths = {len(report.columns), *(len(row) for row in report.rows)}
        if widths != {MONTHLY_REPORT_COLUMNS}:
            raise UpstreamError(
                f"{SERVICE}: monthly report has {sorted(widths)} columns, "
                f"appendix 3 has {MONTHLY_REPORT_COLUMNS}",
                service=SERVICE,
                endpoint="GET /api/v1/reports/monthly",
                status=response.status_code,
            )
        return report

    async def kandas_status(self, iin: str) -> KandasStatus:
        """Whether ``iin`` holds kandas status (seed 002: the referral is not open on the
        portal to a kandas); ``UpstreamNotFound`` for an IIN nobody holds."""
        check_iin(iin)
        response = await self.caller.call(
            "GET",
            f"/api/v1/persons/{iin}/kandas-status",
            endpoint="GET /api/v1/persons/{iin}/kandas-status",
        )
        return RestCaller.parse(response, KandasStatus, service=SERVICE)
