"""Calling systems (admin), the agency registry, health and readiness."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Body, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from contracts.agencies import Agency
from gateway.api import examples
from gateway.api.deps import CallerDep, State
from gateway.api.openapi import problem_responses
from gateway.api.readiness import readiness
from gateway.auth import ClientKind
from gateway.errors import Forbidden
from gateway.services import clients

router = APIRouter()


class ClientIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    kind: ClientKind
    scope: str | None = Field(None, description="The centre's or agency's code; none for admin.")


class ClientOut(BaseModel):
    id: str
    name: str
    kind: ClientKind
    scope: str | None
    api_key: str = Field(description="Shown once; only its hash is stored.")


@router.post(
    "/api/v1/clients",
    response_model=ClientOut,
    status_code=status.HTTP_201_CREATED,
    tags=["admin"],
    responses=problem_responses(403, notes={403: "Only an admin's credential manages clients."}),
)
async def add_client(
    body: Annotated[ClientIn, Body(openapi_examples=examples.CLIENT)],
    state: State,
    caller: CallerDep,
) -> ClientOut:
    if caller.kind is not ClientKind.admin:
        raise Forbidden("only an admin credential manages clients")
    async with state.engine.begin() as conn:
        new = await clients.add_client(
            conn,
            name=body.name,
            kind=body.kind,
            scope=body.scope,
            agencies=state.ctx.agencies,
            now=state.clock.now(),
        )
    return ClientOut(id=new.id, name=new.name, kind=new.kind, scope=new.scope, api_key=new.api_key)


@router.get("/api/v1/agencies", response_model=list[Agency], tags=["agencies"])
async def list_agencies(state: State, caller: CallerDep) -> list[Agency]:
    return state.ctx.agencies.all()


@router.get("/health", tags=["ops"])
async def health() -> dict[str, str]:
    """Liveness: the process answers."""
    return {"status": "ok"}


class Readiness(BaseModel):
    status: Literal["ready", "not ready"]
    checks: dict[str, str] = Field(
        description="Each dependency: `ok`, `failing: <why>` or `not used by this process`."
    )


@router.get(
    "/ready",
    tags=["ops"],
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "A dependency is failing."}},
)
async def ready(state: State) -> JSONResponse:
    """Readiness: the store and the broker both answer."""
    return await readiness(state)
