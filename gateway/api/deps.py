"""Per-request plumbing: the process's shared state and the calling system."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts.clock import Clock
from gateway.api.submit_group import SubmitGroup
from gateway.auth import Caller
from gateway.config import Settings
from gateway.media.store import MediaStore
from gateway.services.clients import authenticate
from gateway.services.context import Context
from gateway.services.kandas_intake import FamilyCardLookup
from gateway.services.kandas_monitoring import KandasReader, ResidenceChecker
from gateway.services.registry_lookup import RegistryGateway

if TYPE_CHECKING:
    from gateway.broker.backlog import BacklogMonitor

AUTH_CACHE_SECONDS = 30.0


@dataclass
class AppState:
    settings: Settings
    engine: AsyncEngine
    ctx: Context
    clock: Clock
    on_outbox_write: Callable[[], None] = lambda: None
    """Wakes the in-process outbox relay, so a task leaves within milliseconds."""
    broker_ready: Callable[[], Awaitable[bool]] | None = None
    broker_status: Callable[[], dict[str, Any]] | None = None
    """For `/ready` details: the broker node, since when, reconnects."""
    backlog: BacklogMonitor | None = None
    """The outbox's latest size and age, for `/ready` and back-pressure."""
    registry: RegistryGateway | None = None
    family_card: FamilyCardLookup | None = None
    dead_queue_depths: Callable[[], Awaitable[dict[str, int] | None]] | None = None
    """For `/metrics`: messages waiting in each dead queue; None when not known."""
    media: MediaStore | None = None
    """Work-report photos and videos (order 170 p.35-37), by content hash."""
    kandas: KandasReader | None = None
    """The Kandas system, read by an on-demand monitoring run (p.44)."""
    residence: ResidenceChecker | None = None
    """The migration police's registrations, for monitoring (p.45)."""
    _auth_cache: dict[str, tuple[float, Caller]] = field(default_factory=dict)
    _submit_group: SubmitGroup | None = None

    def submit_group(self) -> SubmitGroup:
        """The process's group committer of submits (made on first use)."""
        if self._submit_group is None:
            self._submit_group = SubmitGroup(
                self.engine,
                self.ctx,
                on_commit=self.on_outbox_write,
                linger_seconds=self.settings.submit_linger_seconds,
            )
        return self._submit_group

    async def caller_for(self, api_key: str) -> Caller | None:
        """Recognise a key, caching for a few seconds to keep the store off the hot path."""
        hit = self._auth_cache.get(api_key)
        now = time.monotonic()
        if hit and now - hit[0] < AUTH_CACHE_SECONDS:
            return hit[1]
        async with self.engine.connect() as conn:
            caller = await authenticate(conn, api_key)
        if caller is None:
            self._auth_cache.pop(api_key, None)
            return None
        if len(self._auth_cache) > 10_000:
            self._auth_cache.clear()
        self._auth_cache[api_key] = (now, caller)
        return caller


def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.gw
    return state


State = Annotated[AppState, Depends(get_state)]


bearer = HTTPBearer(
    scheme_name="apiKey",
    bearerFormat="gw_<prefix>_<secret>",
    description=(
        "The calling system's API key (`gateway clients add` prints it once), as "
        "`Authorization: Bearer gw_…`. It is the only place a key is read: a request that "
        "also or instead carries `X-API-Key` is refused with 401, so a key is never taken "
        "from one header while another key sits in the other."
    ),
    auto_error=False,
)
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(401, detail, headers={"WWW-Authenticate": "Bearer"})


async def get_caller(request: Request, state: State, credentials: Credentials) -> Caller:
    if "x-api-key" in request.headers:
        raise _unauthorized(
            "X-API-Key is not read: send the key as 'Authorization: Bearer <api key>' only"
        )
    key = credentials.credentials.strip() if credentials else ""
    if not key:
        raise _unauthorized("a credential is required: send 'Authorization: Bearer <api key>'")
    caller = await state.caller_for(key)
    if caller is None:
        raise _unauthorized("the credential is not valid")
    return caller


CallerDep = Annotated[Caller, Depends(get_caller)]
