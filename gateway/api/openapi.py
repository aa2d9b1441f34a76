"""What every operation answers, written once, so the OpenAPI document tells the truth.

The API refuses with RFC 9457 problem documents (`problems.py`), but FastAPI on its own
documents only the success and its own 422 shape (`detail[{loc, msg, type}]`), which we
never send. This module fixes that in two layers:

- **What only the route knows** (403, 404, 409, 502, 503: its rules and its resources)
  the route declares with :func:`problem_responses`::

      @router.post("/{plan_id}/cancel", responses=problem_responses(403, 404, 409))

  Each status gets the problem schema with its own `status`, a description (the table
  below, or a route's own words through ``notes={404: "No plan with this id."}``) and an
  example. A success other than the route's main one is added beside it, e.g.
  ``responses={200: {...}, **problem_responses(...)}``.
- **What every route of a kind answers** is added by :func:`install` when the document is
  built, from what FastAPI knows of the route: 401 wherever a credential is required
  (the operation has `security`); 422 wherever there is a parameter or a body to
  validate; 400 and 413 wherever there is a body to read (`BodyLimitMiddleware` and the
  JSON reader); 503 on every write under /api/ (back-pressure, `back_pressure.py`).
  FastAPI's default 422 is replaced by ours wherever it slipped in, and its
  `HTTPValidationError` schemas are dropped.

A route added later needs only ``responses=problem_responses(...)`` for its own
refusals; the schemathesis test (`tests/e2e/test_openapi_fuzz.py`) fails on any
status or body the document does not describe.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NotRequired

from fastapi import FastAPI
from pydantic import ConfigDict, TypeAdapter, with_config
from typing_extensions import TypedDict

PROBLEM = "application/problem+json"
PROBLEM_TYPE_BASE = "https://gateway.example.kz/problems/"
REF = "#/components/schemas/"


@with_config(ConfigDict(use_attribute_docstrings=True))
class FieldError(TypedDict):
    """One refused field: where it is and why."""

    field: str
    """A JSON path into the body (`activities[0].agency`), a parameter's name (`limit`,
    `iin`), or `body` for the body as a whole."""
    reason: str


@with_config(ConfigDict(use_attribute_docstrings=True))
class Problem(TypedDict):
    """An RFC 9457 problem document: how the gateway answers every refusal."""

    type: str
    """A URI naming the kind of problem; the same for every refusal of one kind."""
    title: str
    """The kind of problem in a few words, e.g. `Invalid input`."""
    status: int
    """The HTTP status, repeated."""
    detail: str
    """What was wrong with this request, in a sentence."""
    instance: NotRequired[str]
    """The path that was asked for."""
    errors: NotRequired[list[FieldError]]
    """Each refused field, when the problem is about fields."""


TITLES: dict[int, str] = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Payload too large",
    422: "Invalid input",
    500: "Internal error",
    502: "Registry failed",
    503: "Unavailable",
}

DESCRIPTIONS: dict[int, str] = {
    400: "The body could not be read at all (for example, it is not UTF-8).",
    401: (
        "No credential, or one the gateway does not know. Send the calling system's key as "
        "`Authorization: Bearer gw_…`; a key in `X-API-Key` is refused, not read."
    ),
    403: "The credential is valid, but its kind or its centre or agency may not do this.",
    404: "There is no such resource.",
    409: "The request does not fit the resource's present state.",
    413: "The body is over the size limit (`GATEWAY_MAX_BODY_BYTES`, 256 KiB by default).",
    422: "A parameter or a field of the body is invalid; `errors` names each one and why.",
    502: "An upstream registry answered, but not usefully.",
    503: "A service this answer needs is unavailable; try again later.",
}

_EXAMPLES: dict[int, tuple[str, list[FieldError] | None]] = {
    400: ("There was an error parsing the body", [{"field": "body", "reason": "not UTF-8"}]),
    401: ("a credential is required: send 'Authorization: Bearer <api key>'", None),
    403: ("this plan belongs to another centre", None),
    404: ("no plan with id '0192f1e6-7a3c-7d2e-9a41-2b6f0c1d5e77'", None),
    409: ("the plan is cancelled; only an active plan can be cancelled", None),
    413: (
        "the request body is over the limit of 262144 bytes",
        [{"field": "body", "reason": "over 262144 bytes"}],
    ),
    422: (
        "family.members[0].iin: control digit does not match",
        [{"field": "family.members[0].iin", "reason": "control digit does not match"}],
    ),
    502: (
        "the individuals registry (ГБД ФЛ) refused the request",
        [{"field": "registry", "reason": "gbdfl"}],
    ),
    503: (
        "the individuals registry (ГБД ФЛ) did not answer",
        [{"field": "registry", "reason": "gbdfl"}],
    ),
}


def problem_type(title: str) -> str:
    """The problem's `type` URI, derived from its title (one place for both writers)."""
    return PROBLEM_TYPE_BASE + title.lower().replace(" ", "-")


def problem_example(status: int, detail: str, errors: list[FieldError] | None = None) -> Problem:
    title = TITLES.get(status, "Error")
    example: Problem = {
        "type": problem_type(title),
        "title": title,
        "status": status,
        "detail": detail,
        "instance": "/api/v1/…",
    }
    if errors:
        example["errors"] = errors
    return example


def problem_response(status: int, description: str | None = None) -> dict[str, Any]:
    """One response object: the problem schema with this `status`, and an example."""
    detail, errors = _EXAMPLES.get(status, (TITLES.get(status, "Error"), None))
    response: dict[str, Any] = {
        "description": description or DESCRIPTIONS.get(status, TITLES.get(status, "Error")),
        "content": {
            PROBLEM: {
                "schema": {
                    "allOf": [
                        {"$ref": REF + "Problem"},
                        {"properties": {"status": {"const": status}}},
                    ]
                },
                "example": problem_example(status, detail, errors),
            }
        },
    }
    if status == 401:
        response["headers"] = {
            "WWW-Authenticate": {
                "description": "`Bearer`: the scheme to authenticate with.",
                "schema": {"type": "string"},
            }
        }
    return response


def problem_responses(
    *statuses: int, notes: Mapping[int, str] | None = None
) -> dict[int | str, dict[str, Any]]:
    """The `responses=` of a route: each refusal it can answer, as a problem document."""
    notes = notes or {}
    unknown = set(notes) - set(statuses)
    if unknown:
        raise ValueError(f"notes for statuses not listed: {sorted(unknown)}")
    return {status: problem_response(status, notes.get(status)) for status in statuses}


def _component_schemas() -> dict[str, Any]:
    schema = TypeAdapter(Problem).json_schema(ref_template=REF + "{model}")
    defs: dict[str, Any] = schema.pop("$defs", {})
    schema["properties"]["status"].update({"minimum": 400, "maximum": 599})
    schema["properties"]["type"]["format"] = "uri"
    return {"Problem": schema, **defs}


_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


def _is_fastapis_422(response: Mapping[str, Any]) -> bool:
    return "application/json" in response.get("content", {}) and "HTTPValidationError" in str(
        response
    )


def complete(document: dict[str, Any]) -> dict[str, Any]:
    """Add the statuses every route of a kind answers, and the problem schemas."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    schemas.update(_component_schemas())
    for path, item in document.get("paths", {}).items():
        for method in _METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            responses: dict[str, Any] = operation.setdefault("responses", {})
            if _is_fastapis_422(responses.get("422", {})):
                del responses["422"]
            edges: list[int] = []
            if operation.get("security"):
                edges.append(401)
            if operation.get("requestBody"):
                edges += [400, 413, 422]
            if operation.get("parameters"):
                edges.append(422)
            if method != "get" and path.startswith("/api/"):
                edges.append(503)  # back-pressure (gateway/api/back_pressure.py)
            for status in edges:
                responses.setdefault(str(status), problem_response(status))
            operation["responses"] = dict(sorted(responses.items()))
    return document


def install(app: FastAPI) -> None:
    """Make `app.openapi()` (and so `/openapi.json`) return the completed document."""
    build: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = complete(build())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
