"""Per-request plumbing: the process's shared state and the calling system."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts.clock import Clock
from gateway.api.submit_group import SubmitGroup
from gateway.auth import Caller
from gateway.config import Settings
from gateway.media.store import MediaStore
from gateway.services.clients import keys_changed_at, recognise, touch
from gateway.services.context import Context
from gateway.services.kandas_intake import FamilyCardLookup
from gateway.services.kandas_monitoring import KandasReader, ResidenceChecker
from gateway.services.registry_lookup import RegistryGateway

if TYPE_CHECKING:
    from gateway.broker.backlog import BacklogMonitor

AUTH_CACHE_SECONDS = 30.0
KEY_CHANGES_POLL_SECONDS = 1.0
"""How often a process asks the store whether any key was revoked or rotated; a change
empties the cache, so a revocation by another process takes effect within this time."""
LAST_USE_SECONDS = 60.0
"""A key's last use is written at most this often per key and process."""


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
    labour_market: Any = None
    """The labour market system's client, for the referral's precondition (seed 002)."""
    _auth_cache: dict[str, tuple[float, Caller, datetime | None]] = field(default_factory=dict)
    _keys_checked: float = float("-inf")
    _keys_changed: Any = None
    _last_use: dict[str, float] = field(default_factory=dict)
    _submit_group: SubmitGroup | None = None

    def submit_group(self) -> SubmitGroup:
        """The process's group committer of submits (made on first use)."""
        if self._submit_group is None:
            self._submit_group = SubmitGroup(
                self.engine,
                self.ctx,
                on_commit=self.on_outbox_write,
                linger_seconds=self.settings.submit_linger_seconds,
                max_writers=(
                    1 if self.engine.dialect.name == "sqlite" else self.settings.submit_writers
                ),
            )
        return self._submit_group

    def forget_keys(self) -> None:
        """Drop every recognised key (after a revocation or rotation in this process)."""
        self._auth_cache.clear()

    async def _watch_key_changes(self, now: float) -> None:
        if now - self._keys_checked < KEY_CHANGES_POLL_SECONDS:
            return
        self._keys_checked = now
        async with self.engine.connect() as conn:
            changed = await keys_changed_at(conn)
        if changed != self._keys_changed:
            self._keys_changed = changed
            self._auth_cache.clear()

    async def _note_use(self, caller: Caller, now: float) -> None:
        last = self._last_use.get(caller.client_id)
        if last is not None and now - last < LAST_USE_SECONDS:
            return
        self._last_use[caller.client_id] = now
        async with self.engine.begin() as conn:
            await touch(conn, [caller.client_id], self.clock.now())

    async def caller_for(self, api_key: str) -> Caller | None:
        """Recognise a key, caching for a few seconds to keep the store off the hot path.

        The cache never outlives a revocation: at most once a second the process reads
        the latest key change (one indexed MAX) and empties the cache when it moved.
        """
        now = time.monotonic()
        await self._watch_key_changes(now)
        hit = self._auth_cache.get(api_key)
        if hit and now < hit[0] and (hit[2] is None or self.clock.now() < hit[2]):
            await self._note_use(hit[1], now)
            return hit[1]
        async with self.engine.connect() as conn:
            found = await recognise(conn, api_key, self.clock.now())
        if found is None:
            self._auth_cache.pop(api_key, None)
            return None
        if len(self._auth_cache) > 10_000:
            self._auth_cache.clear()
        # A rotated key in its overlap is never taken from the cache past its window.
        self._auth_cache[api_key] = (now + AUTH_CACHE_SECONDS, found.caller, found.valid_until)
        await self._note_use(found.caller, now)
        return found.caller


async def get_state(request: Request) -> AppState:
    """Async although it awaits nothing: FastAPI runs a plain `def` dependency in its
    thread pool, a thread hop on every request (seen in the hot path's profile)."""
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
