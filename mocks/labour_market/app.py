"""The mock labour market system (АИС «Рынок труда»): drafts in, registration out.

A career centre sends a draft decision on registering a kandas as unemployed (order 170
p.18); anyone with access asks whether a person is registered as a job seeker or as
unemployed. Errors are problems naming the field; writes honour ``Idempotency-Key``.
State lives in memory, for one process.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from contracts.clock import Clock, to_almaty
from contracts.common import IIN
from contracts.labour_market import (
    DraftStatus,
    PersonRegistration,
    RegistrationStatus,
    UnemploymentDraft,
    UnemploymentDraftIn,
)
from mocks.admin import MockAdmin, install_admin
from mocks.labour_market.registrations import WORKING_AGE, Registration, age_on, seed_registrations
from mocks.population import Population
from mocks.regions import career_centre_region
from mocks.rest_app import IdempotentState, Refused, idempotent, install_problem_handlers

__all__ = ["LabourMarketState", "create_app"]


def _refuse(field: str, reason: str, *, status: int = 422) -> Refused:
    title = {404: "Not found", 409: "Conflict"}.get(status, "Invalid input")
    return Refused(status, title, [{"field": field, "reason": reason}])


class LabourMarketState(IdempotentState):
    def __init__(self, population: Population, clock: Clock) -> None:
        super().__init__()
        self.population = population
        self.clock = clock
        self.books: dict[str, Registration] = seed_registrations(population)
        self.drafts: dict[str, UnemploymentDraft] = {}
        self._numbers = 0

    def reset(self) -> None:
        with self._lock:
            self.drafts.clear()
            self._replies.clear()
            self._numbers = 0

    def create_draft(self, form: UnemploymentDraftIn) -> UnemploymentDraft:
        """Refuses only what makes a draft impossible; a person already registered gets a
        draft too: the labour mobility centre decides on it, and the real system's rule
        for that case is not in our sources."""
        person = self.population.find(form.iin)
        if person is None:
            raise _refuse("iin", "no such person in the individuals database")
        if person.deceased:
            raise _refuse("iin", "the person is recorded as deceased")
        now = self.clock.now()
        if age_on(person, to_almaty(now).date()) < WORKING_AGE[0]:
            raise _refuse("iin", f"the person is under {WORKING_AGE[0]}, not of working age")
        if career_centre_region(form.career_centre) is None:
            raise _refuse("career_centre", "no such career centre")
        with self._lock:
            self._numbers += 1
            draft = UnemploymentDraft(
                draft_id=f"UD-{to_almaty(now):%Y}-{self._numbers:06d}",
                status=DraftStatus.draft,
                created_at=now,
                iin=form.iin,
                career_centre=form.career_centre,
                reason=form.reason,
                external_id=form.external_id,
            )
            self.drafts[draft.draft_id] = draft
        return draft

    def draft(self, draft_id: str) -> UnemploymentDraft:
        with self._lock:
            found = self.drafts.get(draft_id)
        if found is None:
            raise _refuse("draft_id", "no such draft decision", status=404)
        return found

    def registration(self, iin: str) -> PersonRegistration:
        if self.population.find(iin) is None:
            raise _refuse("iin", "no such person in the individuals database", status=404)
        now = self.clock.now()
        entry = self.books.get(iin)
        if entry is None:
            return PersonRegistration(iin=iin, status=RegistrationStatus.not_registered, as_of=now)
        return PersonRegistration(
            iin=iin,
            status=entry.status,
            job_seeker_since=entry.job_seeker_since,
            unemployed_since=entry.unemployed_since,
            career_centre=entry.career_centre,
            as_of=now,
        )


def create_app(population: Population, admin: MockAdmin | None = None) -> FastAPI:
    """The mock system for ``population``; ``admin`` shares faults, journal and clock."""
    admin = admin or MockAdmin()
    state = LabourMarketState(population, admin.clock)
    app = FastAPI(title="Mock labour market system (АИС «Рынок труда»)")
    app.state.labour_market = state
    app.state.admin = admin

    install_problem_handlers(app)

    @app.post(
        "/api/v1/unemployment-drafts",
        status_code=201,
        response_model=UnemploymentDraft,
        name="drafts.create",
    )
    async def create_draft(form: UnemploymentDraftIn, request: Request) -> JSONResponse:
        async def make() -> Any:
            return state.create_draft(form).model_dump(mode="json")

        return await idempotent(state, request, "drafts.create", 201, make)

    @app.get(
        "/api/v1/unemployment-drafts/{draft_id}",
        response_model=UnemploymentDraft,
        name="drafts.get",
    )
    async def get_draft(draft_id: str) -> UnemploymentDraft:
        return state.draft(draft_id)

    @app.get(
        "/api/v1/persons/{iin}/registration",
        response_model=PersonRegistration,
        name="persons.registration",
    )
    async def registration(iin: IIN) -> PersonRegistration:
        return state.registration(iin)

    @app.get("/__admin/registrations", include_in_schema=False)
    async def books() -> dict[str, Any]:
        """Who is registered, for developers choosing a person to try."""
        return {
            "registrations": [
                state.registration(iin).model_dump(mode="json", exclude={"as_of"})
                for iin in state.books
            ]
        }

    @app.post("/__admin/data/reset", status_code=204, include_in_schema=False)
    async def reset_data() -> None:
        """Forget every draft (``/__admin/reset`` keeps them); the books stay as seeded."""
        state.reset()

    install_admin(app, admin, middleware=True)
    return app
