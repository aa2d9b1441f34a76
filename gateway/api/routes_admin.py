"""Calling systems (admin), the agency registry, health and readiness."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Body, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from contracts.agencies import Agency
from gateway.api import examples
from gateway.api.deps import CallerDep, State
from gateway.api.openapi import problem_responses
from gateway.api.readiness import readiness
from gateway.auth import Caller, ClientKind
from gateway.errors import Forbidden
from gateway.services import clients

router = APIRouter()


class ClientIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    kind: ClientKind
    scope: str | None = Field(
        None,
        description="The centre's or agency's code; none for admin. A centre must be in the "
        "register (`POST /api/v1/centres`), an agency connected.",
    )


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
    responses=problem_responses(
        403,
        422,
        notes={
            403: "Only an admin's credential manages clients.",
            422: "A field is invalid; `scope` names an agency that is not connected, or a "
            "centre that is not in the register of centres (`POST /api/v1/centres`) or closed.",
        },
    ),
)
async def add_client(
    body: Annotated[ClientIn, Body(openapi_examples=examples.CLIENT)],
    state: State,
    caller: CallerDep,
) -> ClientOut:
    _admin_only(caller)
    async with state.engine.begin() as conn:
        new = await clients.add_client(
            conn,
            name=body.name,
            kind=body.kind,
            scope=body.scope,
            agencies=state.ctx.agencies,
            now=state.clock.now(),
            actor=caller.actor,
        )
    return ClientOut(id=new.id, name=new.name, kind=new.kind, scope=new.scope, api_key=new.api_key)


def _admin_only(caller: Caller) -> None:
    if caller.kind is not ClientKind.admin:
        raise Forbidden("only an admin credential manages clients")


class ClientRow(BaseModel):
    id: str
    name: str
    kind: ClientKind
    scope: str | None
    created_at: datetime
    disabled: bool
    revoked_at: datetime | None
    old_key_until: datetime | None = Field(
        description="After a rotation: until when the previous key still works."
    )
    last_used_at: datetime | None = Field(
        description="The key's last use, recorded at most once a minute per API process."
    )


_ADMIN_PROBLEMS = problem_responses(
    403, 404, notes={403: "Only an admin's credential manages clients.", 404: "No such client."}
)


@router.get(
    "/api/v1/clients",
    response_model=list[ClientRow],
    tags=["admin"],
    responses=problem_responses(403),
)
async def list_clients(state: State, caller: CallerDep) -> list[ClientRow]:
    _admin_only(caller)
    async with state.engine.connect() as conn:
        rows = await clients.list_clients(conn)
    return [ClientRow.model_validate(r) for r in rows]


@router.post(
    "/api/v1/clients/{client_id}/revoke",
    status_code=status.HTTP_204_NO_CONTENT,
    tags=["admin"],
    responses=_ADMIN_PROBLEMS,
)
async def revoke_client(client_id: str, state: State, caller: CallerDep) -> None:
    """Refuse the client's key from now on, in every API process within a second."""
    _admin_only(caller)
    async with state.engine.begin() as conn:
        await clients.revoke(conn, client_id, actor=caller.actor, now=state.clock.now())
    state.forget_keys()


class RotateIn(BaseModel):
    overlap_seconds: float | None = Field(
        None,
        ge=0,
        le=90 * 24 * 3600,
        description="How long the previous key keeps working; default GATEWAY_KEY_OVERLAP_SECONDS.",
    )


class RotatedOut(BaseModel):
    id: str
    api_key: str = Field(description="The new key, shown once.")
    previous_key_until: datetime


@router.post(
    "/api/v1/clients/{client_id}/rotate",
    response_model=RotatedOut,
    tags=["admin"],
    responses=_ADMIN_PROBLEMS,
)
async def rotate_client(
    client_id: str, state: State, caller: CallerDep, body: RotateIn | None = None
) -> RotatedOut:
    """A new key at once; the previous one works until the end of the overlap."""
    _admin_only(caller)
    seconds = body.overlap_seconds if body and body.overlap_seconds is not None else None
    overlap = timedelta(seconds=state.settings.key_overlap_seconds if seconds is None else seconds)
    async with state.engine.begin() as conn:
        key, until = await clients.rotate(
            conn, client_id, overlap=overlap, actor=caller.actor, now=state.clock.now()
        )
    state.forget_keys()
    return RotatedOut(id=client_id, api_key=key, previous_key_until=until)


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
