"""Typed client of the migration portal for the kandas flow (order 170 p.7–29).

Register the application once (p.7), then mirror each verified, signed hand-over onto
it, and read it back with its history. Every call goes through
``adapters.http_discipline.RestCaller`` (timeouts, retries of transient failures within a
deadline, a breaker per endpoint, typed errors), as the portal's and Kandas clients do.

Idempotency: pass a key that is stable for the logical write (the case's id for the
registration; case, step and round for a hand-over), so a retry of the whole job, not
only of one call, cannot register the application twice. The portal also recognises
a hand-over it already has by its signature digest.
"""

from __future__ import annotations

from typing import Any

from adapters.http_discipline import HttpSettings, RestCaller
from contracts.migration_portal import (
    Application,
    ApplicationIn,
    ApplicationRegistered,
    HandoverEventIn,
    HandoverRecorded,
)

__all__ = ["SERVICE", "MigrationPortalClient"]

SERVICE = "migration_portal"


class MigrationPortalClient:
    def __init__(self, settings: HttpSettings, **caller_options: Any) -> None:
        """``caller_options`` go to ``RestCaller`` (``http``, ``transport``, ``breakers``,
        ``monotonic``, ``sleep``), so tests can inject a transport and a clock."""
        self.caller = RestCaller(SERVICE, settings, **caller_options)

    async def aclose(self) -> None:
        await self.caller.aclose()

    async def __aenter__(self) -> MigrationPortalClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def register_application(
        self, application: ApplicationIn, *, idempotency_key: str | None = None
    ) -> ApplicationRegistered:
        response = await self.caller.call(
            "POST",
            "/api/v1/applications",
            endpoint="POST /api/v1/applications",
            json=application.model_dump(mode="json", exclude_none=True),
            idempotency_key=idempotency_key,
        )
        return RestCaller.parse(response, ApplicationRegistered, service=SERVICE)

    async def record_handover(
        self, number: str, event: HandoverEventIn, *, idempotency_key: str | None = None
    ) -> HandoverRecorded:
        response = await self.caller.call(
            "POST",
            f"/api/v1/applications/{number}/events",
            endpoint="POST /api/v1/applications/{number}/events",
            json=event.model_dump(mode="json", exclude_none=True),
            idempotency_key=idempotency_key,
        )
        return RestCaller.parse(response, HandoverRecorded, service=SERVICE)

    async def application(self, number: str) -> Application:
        response = await self.caller.call(
            "GET",
            f"/api/v1/applications/{number}",
            endpoint="GET /api/v1/applications/{number}",
        )
        return RestCaller.parse(response, Application, service=SERVICE)
