"""Back-pressure: refuse a write with 503 and `Retry-After` while the system is behind.

Accepting a plan the gateway cannot move yet only makes the queue longer and every
caller slower, until requests time out in piles. So a write (POST, PUT, PATCH or DELETE
under /api/) is refused at once, before it touches the store, when:

- the outbox holds more unsent messages than `GATEWAY_OUTBOX_BACKLOG_LIMIT` (the broker
  is down or slower than the intake);
- the store did not answer the last backlog reading within
  `GATEWAY_STORE_TIMEOUT_SECONDS`;
- `GATEWAY_MAX_INFLIGHT_WRITES` writes are already running and no slot frees within
  `GATEWAY_WRITE_QUEUE_SECONDS`.

Reads stay open: a centre can still see its plans. A store that fails a request with
a timeout or a lost connection answers 503 too, instead of a bare 500. Nothing
accepted is lost by any of this: a refused write was never accepted, and a client that
retries with the same `Idempotency-Key` gets one plan.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import TYPE_CHECKING

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.api.problems import problem

if TYPE_CHECKING:
    from gateway.api.deps import AppState

log = logging.getLogger("gateway.api.back_pressure")

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
LOG_EVERY_SECONDS = 10.0


class BackPressureMiddleware:
    def __init__(self, app: ASGIApp, state: AppState) -> None:
        self.app = app
        self.state = state
        settings = state.settings
        self.limit = settings.outbox_backlog_limit
        self.retry_after = max(1, int(settings.retry_after_seconds))
        self.queue_wait = settings.write_queue_seconds
        self.slots = (
            asyncio.Semaphore(settings.max_inflight_writes)
            if settings.max_inflight_writes > 0
            else None
        )
        self._last_log = 0.0
        self.refused = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope.get("method") not in WRITE_METHODS
            or not str(scope.get("path", "")).startswith("/api/")
        ):
            await self.app(scope, receive, send)
            return
        reason = self._behind()
        if reason is not None:
            await self._refuse(send, reason)
            return
        if self.slots is None:
            await self.app(scope, receive, send)
            return
        try:
            await asyncio.wait_for(self.slots.acquire(), self.queue_wait)
        except TimeoutError:
            await self._refuse(send, "too many writes in progress; the store is behind")
            return
        try:
            await self.app(scope, receive, send)
        finally:
            self.slots.release()

    def _behind(self) -> str | None:
        monitor = self.state.backlog
        if monitor is None:
            return None
        if monitor.store_slow:
            return "the store is not answering in time"
        latest = monitor.latest
        if self.limit > 0 and latest is not None and latest.pending >= self.limit:
            return (
                f"{latest.pending} messages are waiting in the outbox (limit {self.limit}); "
                "the broker is down or behind"
            )
        return None

    async def _refuse(self, send: Send, reason: str) -> None:
        self.refused += 1
        now = time.monotonic()
        if now - self._last_log >= LOG_EVERY_SECONDS:
            self._last_log = now
            log.warning("refusing writes with 503 (%d so far): %s", self.refused, reason)
        body = json.dumps(_problem_body(reason, self.retry_after)).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 503,
                "headers": [
                    (b"content-type", b"application/problem+json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"retry-after", str(self.retry_after).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def _problem_body(reason: str, retry_after: int) -> dict[str, object]:
    return {
        "type": "https://gateway.example.kz/problems/service-unavailable",
        "title": "Service unavailable",
        "status": 503,
        "detail": f"{reason}; nothing was accepted, retry after {retry_after} s "
        "(with the same Idempotency-Key)",
    }


def install(app: FastAPI, state: AppState) -> None:
    """The middleware, and 503 for a store that times out or drops the connection."""
    retry_after = str(max(1, int(state.settings.retry_after_seconds)))

    async def store_unavailable(request: Request, exc: Exception) -> JSONResponse:
        log.warning("store unavailable for %s %s: %r", request.method, request.url.path, exc)
        body = _problem_body("the store did not answer in time", int(retry_after))
        return problem(
            503,
            "Service unavailable",
            str(body["detail"]),
            instance=request.url.path,
            headers={"Retry-After": retry_after},
        )

    app.add_exception_handler(PoolTimeout, store_unavailable)
    app.add_exception_handler(OperationalError, store_unavailable)
    app.add_middleware(BackPressureMiddleware, state=state)
