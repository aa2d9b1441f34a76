"""Typed client of the labour market system (АИС «Рынок труда»).

Two uses: the kandas flow's step `unemployment` sends the draft decision on registering
the kandas as unemployed (order 170 p.18) and forwards with its id; a later
e-government flow asks whether a person is registered as a job seeker or unemployed.
Every call goes through ``adapters.http_discipline.RestCaller``, like the other REST
clients.

The registration lookup puts the IIN in the URL path, so its "not found" is re-raised
with the IIN masked: the shared discipline names the path, and an error message ends up
in logs and incidents.
"""

from __future__ import annotations

from typing import Any

from adapters.http_discipline import HttpSettings, RestCaller, UpstreamNotFound
from contracts.iin import check_iin, mask_iin
from contracts.labour_market import PersonRegistration, UnemploymentDraft, UnemploymentDraftIn

__all__ = ["SERVICE", "LabourMarketClient"]

SERVICE = "labour_market"
_REGISTRATION = "GET /api/v1/persons/{iin}/registration"


class LabourMarketClient:
    def __init__(self, settings: HttpSettings, **caller_options: Any) -> None:
        """``caller_options`` go to ``RestCaller`` (``http``, ``transport``, ``breakers``,
        ``monotonic``, ``sleep``), so tests can inject a transport and a clock."""
        self.caller = RestCaller(SERVICE, settings, **caller_options)

    async def aclose(self) -> None:
        await self.caller.aclose()

    async def __aenter__(self) -> LabourMarketClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def create_unemployment_draft(
        self, draft: UnemploymentDraftIn, *, idempotency_key: str | None = None
    ) -> UnemploymentDraft:
        """Send the p.18 draft. Pass ``idempotency_key`` (e.g. case, step and round) so a
        retried step sends one draft, not two."""
        response = await self.caller.call(
            "POST",
            "/api/v1/unemployment-drafts",
            endpoint="POST /api/v1/unemployment-drafts",
            json=draft.model_dump(mode="json", exclude_none=True),
            idempotency_key=idempotency_key,
        )
        return RestCaller.parse(response, UnemploymentDraft, service=SERVICE)

    async def unemployment_draft(self, draft_id: str) -> UnemploymentDraft:
        response = await self.caller.call(
            "GET",
            f"/api/v1/unemployment-drafts/{draft_id}",
            endpoint="GET /api/v1/unemployment-drafts/{id}",
        )
        return RestCaller.parse(response, UnemploymentDraft, service=SERVICE)

    async def registration(self, iin: str) -> PersonRegistration:
        """Job seeker, unemployed or not registered; ``UpstreamNotFound`` for an IIN the
        system does not know (nobody holds it); ``InvalidIIN`` before any call for a
        malformed one."""
        check_iin(iin)
        try:
            response = await self.caller.call(
                "GET", f"/api/v1/persons/{iin}/registration", endpoint=_REGISTRATION
            )
        except UpstreamNotFound as exc:
            raise UpstreamNotFound(
                f"{SERVICE}: no person {mask_iin(iin)}",
                service=SERVICE,
                endpoint=_REGISTRATION,
                status=exc.status,
            ) from None
        return RestCaller.parse(response, PersonRegistration, service=SERVICE)
