"""The register of family support centres (admin): list and add.

Only an admin's credential reads or changes the register: a centre's key is issued, and
its plans accepted, only for a centre listed here (gateway/services/centres.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Body, status
from pydantic import BaseModel, Field

from contracts.common import CentreCode
from gateway.api import examples
from gateway.api.deps import CallerDep, State
from gateway.api.openapi import problem_responses
from gateway.auth import Caller, ClientKind
from gateway.errors import Forbidden
from gateway.services import centres

router = APIRouter(prefix="/api/v1/centres", tags=["admin"])

_ADMIN_ONLY = "Only an admin's credential reads or changes the register of centres."


class CentreIn(BaseModel):
    code: CentreCode
    name_ru: str = Field(min_length=1, max_length=200, description="The centre's name in Russian.")
    name_kk: str = Field(min_length=1, max_length=200, description="The centre's name in Kazakh.")


class CentreOut(BaseModel):
    code: str
    name_ru: str
    name_kk: str
    added_at: datetime
    added_by: str
    closed_at: datetime | None = Field(
        description="Set once the centre is closed: its new plans are refused from then on."
    )


def _out(centre: centres.Centre) -> CentreOut:
    return CentreOut(
        code=centre.code,
        name_ru=centre.name_ru,
        name_kk=centre.name_kk,
        added_at=centre.added_at,
        added_by=centre.added_by,
        closed_at=centre.closed_at,
    )


def _admin_only(caller: Caller) -> None:
    if caller.kind is not ClientKind.admin:
        raise Forbidden("only an admin credential reads or changes the register of centres")


@router.get(
    "", response_model=list[CentreOut], responses=problem_responses(403, notes={403: _ADMIN_ONLY})
)
async def list_centres(state: State, caller: CallerDep) -> list[CentreOut]:
    """Every centre in the register, open and closed, by code."""
    _admin_only(caller)
    async with state.engine.connect() as conn:
        return [_out(c) for c in await centres.list_centres(conn)]


@router.post(
    "",
    response_model=CentreOut,
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(
        403,
        409,
        notes={403: _ADMIN_ONLY, 409: "The centre is already in the register and open."},
    ),
)
async def add_centre(
    body: Annotated[CentreIn, Body(openapi_examples=examples.CENTRE)],
    state: State,
    caller: CallerDep,
) -> CentreOut:
    """Add a centre to the register (a closed one is reopened), recorded in the
    interagency audit log; its keys can then be issued (`POST /api/v1/clients`)."""
    _admin_only(caller)
    async with state.engine.begin() as conn:
        added = await centres.add_centre(
            conn,
            code=body.code,
            name_ru=body.name_ru,
            name_kk=body.name_kk,
            actor=caller.actor,
            now=state.clock.now(),
        )
    return _out(added)
