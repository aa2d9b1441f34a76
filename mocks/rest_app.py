"""Plumbing shared by the REST mocks (e-government portal, Kandas system).

Both mocks answer errors the way the real systems do, as RFC 9457 problems naming the
field and the reason, and both honour ``Idempotency-Key`` on writes so a client that
retries after a lost answer gets the first answer again. That behaviour is one
contract, so it lives here once rather than in each mock's ``create_app``.
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

__all__ = ["IdempotentState", "Refused", "idempotent", "install_problem_handlers"]

PROBLEM = "application/problem+json"


def problem(
    status: int,
    title: str,
    detail: str,
    *,
    errors: list[dict[str, str]] | None = None,
    instance: str | None = None,
) -> JSONResponse:
    """An RFC 9457 problem as the real portal and Kandas system answer one.

    The mocks write their own rather than share the gateway's: they stand for other
    organisations' systems, whose error documents the gateway must parse, not produce.
    """
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status}
    body["detail"] = detail
    if instance:
        body["instance"] = instance
    if errors:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, media_type=PROBLEM)


def field_path(loc: tuple[Any, ...] | list[Any]) -> str:
    """A pydantic error location as a dotted path: `members[0].iin`."""
    parts: list[str] = []
    for part in loc:
        if isinstance(part, int):
            parts.append(f"[{part}]")
        elif part in ("body", "query", "path", "header") and not parts:
            continue
        elif isinstance(part, str) and "[" not in part and "(" not in part:
            parts.append(f".{part}" if parts else part)
    return "".join(parts) or "body"


class Refused(Exception):
    """A request the mock understands and refuses, naming the field and the reason."""

    def __init__(self, status: int, title: str, errors: list[dict[str, str]]) -> None:
        super().__init__("; ".join(f"{e['field']}: {e['reason']}" for e in errors))
        self.status = status
        self.title = title
        self.errors = errors


class IdempotentState:
    """A mock's in-memory state with the answers it gave per ``Idempotency-Key``.

    One lock guards everything, since uvicorn may use threads; subclasses use
    ``self._lock`` for their own data too and clear ``self._replies`` on reset.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._replies: dict[tuple[str, str], tuple[int, Any]] = {}

    def replay(self, route: str, key: str | None) -> tuple[int, Any] | None:
        """The (status, body) first given for ``key`` on ``route``, if any."""
        if key is None:
            return None
        with self._lock:
            return self._replies.get((route, key))

    def remember(self, route: str, key: str | None, status: int, body: Any) -> None:
        if key is not None:
            with self._lock:
                self._replies[(route, key)] = (status, body)


async def idempotent(
    state: IdempotentState,
    request: Request,
    route: str,
    status: int,
    make: Callable[[], Awaitable[Any]],
) -> JSONResponse:
    """Answer a write once per ``Idempotency-Key``: a repeat gets the first answer."""
    key = request.headers.get("Idempotency-Key")
    seen = state.replay(route, key)
    if seen is not None:
        return JSONResponse(seen[1], status_code=seen[0])
    body = await make()
    state.remember(route, key, status, body)
    return JSONResponse(body, status_code=status)


def install_problem_handlers(app: FastAPI) -> None:
    """Answer ``Refused``, validation and HTTP errors as problems naming the field."""

    @app.exception_handler(Refused)
    async def _refused(request: Request, exc: Refused) -> JSONResponse:
        return problem(
            exc.status, exc.title, str(exc), errors=exc.errors, instance=request.url.path
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {
                "field": field_path(e.get("loc", ())),
                "reason": "is required"
                if e.get("type") == "missing"
                else str(e.get("msg", "invalid")).removeprefix("Value error, "),
            }
            for e in exc.errors()
        ]
        detail = "; ".join(f"{e['field']}: {e['reason']}" for e in errors)
        return problem(422, "Invalid input", detail, errors=errors, instance=request.url.path)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return problem(exc.status_code, "Error", str(exc.detail), instance=request.url.path)
