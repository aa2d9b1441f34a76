"""The mock migration portal (migration.enbek.kz): kandas applications and their hand-overs.

A career centre registers the application (p.7); each signed hand-over after it is
mirrored onto the portal, where the officials of both regions follow the application.
Errors are problems naming the field; writes honour ``Idempotency-Key``.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict

from contracts.common import IIN
from contracts.migration_portal import (
    Application,
    ApplicationIn,
    ApplicationRegistered,
    HandoverEventIn,
    HandoverRecorded,
)
from mocks.admin import MockAdmin, install_admin
from mocks.migration_portal.state import PortalState
from mocks.population import Population
from mocks.rest_app import idempotent, install_problem_handlers

__all__ = ["create_app"]


class KandasStatusChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    holds: bool


def create_app(population: Population, admin: MockAdmin | None = None) -> FastAPI:
    """The mock portal for ``population``; ``admin`` shares faults, journal and clock."""
    admin = admin or MockAdmin()
    state = PortalState(population, admin.clock)
    app = FastAPI(title="Mock migration portal (migration.enbek.kz)")
    app.state.portal = state
    app.state.admin = admin

    install_problem_handlers(app)

    @app.post(
        "/api/v1/applications",
        status_code=201,
        response_model=ApplicationRegistered,
        name="applications.register",
    )
    async def register(form: ApplicationIn, request: Request) -> JSONResponse:
        async def make() -> Any:
            application = state.register(form)
            return ApplicationRegistered(
                number=application.number, registered_at=application.registered_at
            ).model_dump(mode="json")

        return await idempotent(state, request, "applications.register", 201, make)

    @app.get("/api/v1/applications/{number}", response_model=Application, name="applications.get")
    async def get_application(number: str) -> Application:
        return state.application(number)

    @app.post(
        "/api/v1/applications/{number}/events",
        status_code=202,
        response_model=HandoverRecorded,
        name="events.record",
    )
    async def record_event(number: str, event: HandoverEventIn, request: Request) -> JSONResponse:
        async def make() -> Any:
            return state.record(number, event).model_dump(mode="json")

        return await idempotent(state, request, f"events.record {number}", 202, make)

    @app.put("/__admin/kandas-status/{iin}", include_in_schema=False)
    async def set_kandas_status(iin: IIN, change: KandasStatusChange) -> dict[str, Any]:
        """Withdraw (or give back) a person's kandas status: the population has none."""
        state.set_kandas_status(iin, change.holds)
        return {"iin": iin, "holds": state.holds_kandas_status(iin)}

    @app.post("/__admin/data/reset", status_code=204, include_in_schema=False)
    async def reset_data() -> None:
        """Forget every application and status change (``/__admin/reset`` keeps them)."""
        state.reset()

    install_admin(app, admin, middleware=True)
    return app
