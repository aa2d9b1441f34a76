"""Errors the services raise; the API turns each into a problem response."""

from __future__ import annotations


class GatewayError(Exception):
    status = 400
    title = "Bad request"

    def __init__(self, detail: str, *, errors: list[dict[str, str]] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []


class NotFound(GatewayError):
    status = 404
    title = "Not found"


class Forbidden(GatewayError):
    status = 403
    title = "Forbidden"


class Conflict(GatewayError):
    status = 409
    title = "Conflict"


class InvalidInput(GatewayError):
    status = 422
    title = "Invalid input"

    @classmethod
    def field(cls, field: str, reason: str) -> InvalidInput:
        return cls(f"{field}: {reason}", errors=[{"field": field, "reason": reason}])
