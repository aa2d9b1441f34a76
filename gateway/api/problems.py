"""Errors as RFC 9457 problem documents (application/problem+json).

Every refusal names the field and the reason, so a calling system's developer can fix
the request without reading our logs.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from gateway.api.openapi import PROBLEM, TITLES, problem_type
from gateway.errors import GatewayError


def problem(
    status: int,
    title: str,
    detail: str,
    *,
    errors: list[dict[str, str]] | None = None,
    instance: str | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": problem_type(title),
        "title": title,
        "status": status,
        "detail": detail,
    }
    if instance:
        body["instance"] = instance
    if errors:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def field_path(loc: tuple[Any, ...] | list[Any]) -> str:
    """`('body', 'activities', 0, 'agency')` -> `activities[0].agency`."""
    path = ""
    for part in loc:
        if part in ("body", "query", "path", "header"):
            continue
        if isinstance(part, int):
            path += f"[{part}]"
        elif isinstance(part, str) and part.startswith(("function-after", "constrained-str")):
            continue
        else:
            path += f".{part}" if path else str(part)
    return path or "body"


def _validation_errors(exc: RequestValidationError) -> list[dict[str, str]]:
    errors = []
    for error in exc.errors():
        reason = str(error.get("msg", "invalid"))
        reason = reason.removeprefix("Value error, ")
        field = field_path(error.get("loc", ()))
        if error.get("type") == "missing":
            reason = "is required"
        elif error.get("type") == "json_invalid":
            position = error.get("loc", ("body", "?"))[-1]
            cause = error.get("ctx", {}).get("error", reason)
            reason = f"malformed JSON at character {position}: {cause}"
            field = "body"
        errors.append({"field": field, "reason": reason})
    return errors


def install(app: FastAPI) -> None:
    @app.exception_handler(GatewayError)
    async def _gateway_error(request: Request, exc: GatewayError) -> JSONResponse:
        return problem(
            exc.status, exc.title, exc.detail, errors=exc.errors, instance=request.url.path
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = _validation_errors(exc)
        detail = "; ".join(f"{e['field']}: {e['reason']}" for e in errors)
        return problem(422, "Invalid input", detail, errors=errors, instance=request.url.path)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        errors = None
        if exc.status_code == 400:
            # FastAPI's JSON reader: the bytes are not text (e.g. not UTF-8).
            errors = [{"field": "body", "reason": "could not be read as JSON text"}]
        return problem(
            exc.status_code,
            TITLES.get(exc.status_code, "Error"),
            str(exc.detail),
            errors=errors,
            instance=request.url.path,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # A problem document even for our own bug, with nothing of the cause in it; the
        # server still logs the traceback (Starlette re-raises after this answer).
        return problem(
            500, TITLES[500], "the gateway failed on this request", instance=request.url.path
        )
