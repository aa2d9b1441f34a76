"""The OpenAPI document's promises that need no running system.

What the API really answers is checked against the running system by schemathesis
(`tests/e2e/test_openapi_fuzz.py`) and by sending each example
(`tests/integration/test_openapi_examples.py`); here, the document's own shape: no
FastAPI default error schema, problem documents for every refusal, one bearer scheme,
IIN patterns, bounded paging, examples valid against their schemas, and a route added
later documenting itself through the helper.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import jsonschema
import pytest
from fastapi import APIRouter, FastAPI
from pydantic import BaseModel

from contracts.amqp import Topology
from contracts.clock import ManualClock
from contracts.iin import check_iin
from gateway.agencies import load_agencies
from gateway.api import openapi
from gateway.api.app import create_app
from gateway.api.deps import AppState, CallerDep
from gateway.api.openapi import PROBLEM, problem_responses
from gateway.config import Settings
from gateway.services.context import Context
from gateway.store.engine import open_engine
from gateway.workdays import default_calendar

METHODS = ("get", "post", "put", "patch", "delete")


@pytest.fixture(scope="module")
def document(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('doc') / 'never-opened.sqlite3'}"
    settings = Settings(database_url=url)
    agencies = load_agencies()
    ctx = Context(default_calendar(), agencies, Topology("t", agencies.enabled_codes()))
    state = AppState(
        settings=settings,
        engine=open_engine(settings.database_url),  # never connected: the document needs none
        ctx=ctx,
        clock=ManualClock(datetime(2026, 1, 5, tzinfo=UTC)),
    )
    return create_app(state).openapi()


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method in METHODS:
            if method in item:
                yield method.upper(), path, item[method]


def validator(document: dict[str, Any], schema: dict[str, Any]) -> jsonschema.Validator:
    """A 2020-12 validator whose `#/components/...` references resolve in the document."""
    return jsonschema.Draft202012Validator({**schema, "components": document["components"]})


def test_no_fastapi_default_error_shape(document: dict[str, Any]) -> None:
    text = json.dumps(document)
    assert "HTTPValidationError" not in text and '"loc"' not in text


def test_every_refusal_is_a_problem_document_with_its_own_status(
    document: dict[str, Any],
) -> None:
    for method, path, operation in operations(document):
        for status, response in operation["responses"].items():
            if int(status) < 400 or path == "/ready":
                continue
            assert list(response["content"]) == [PROBLEM], (method, path, status)
            schema = response["content"][PROBLEM]["schema"]
            assert {"$ref": "#/components/schemas/Problem"} in schema["allOf"]
            example = response["content"][PROBLEM]["example"]
            validator(document, schema).validate(example)
            wrong = {**example, "status": 599 if int(status) != 599 else 400}
            assert not validator(document, schema).is_valid(wrong), (method, path, status)


def test_edges_every_route_answers_are_documented(document: dict[str, Any]) -> None:
    for method, path, operation in operations(document):
        statuses = set(operation["responses"])
        if path.startswith("/api/"):
            assert operation["security"] == [{"apiKey": []}], (method, path)
            assert "401" in statuses, (method, path)
        if "requestBody" in operation:
            assert {"400", "413", "422"} <= statuses, (method, path)
        if operation.get("parameters"):
            assert "422" in statuses, (method, path)
        if path in ("/health", "/ready"):
            assert "security" not in operation and not statuses & {"401", "422"}


def test_one_way_to_pass_a_key(document: dict[str, Any]) -> None:
    assert document["components"]["securitySchemes"]["apiKey"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "gw_<prefix>_<secret>",
        "description": document["components"]["securitySchemes"]["apiKey"]["description"],
    }
    names = {
        p["name"].lower()
        for _, _, operation in operations(document)
        for p in operation.get("parameters", [])
    }
    assert not names & {"x-api-key", "authorization"}


def _iin_schemas(node: Any, name: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(node, dict):
        if name == "iin" or name.endswith("_iins"):
            yield name, node
        for key, value in node.items():
            if key == "properties" and isinstance(value, dict):
                for prop, schema in value.items():
                    yield from _iin_schemas(schema, prop)
            else:
                yield from _iin_schemas(value, name if key in ("items", "anyOf") else "")
    elif isinstance(node, list):
        for item in node:
            yield from _iin_schemas(item, name)


def test_every_iin_field_and_parameter_has_the_pattern(document: dict[str, Any]) -> None:
    input_models = ["PlanSubmission", "Member", "ActivityIn", "Family"]
    schemas = document["components"]["schemas"]
    found = [
        (name, schema)
        for model in input_models
        for name, schema in _iin_schemas(schemas.get(model, schemas.get(f"{model}-Input")))
    ]
    assert {name for name, _ in found} == {"iin", "beneficiary_iins"}
    for name, schema in found:
        leaf = schema.get("items", schema)
        assert leaf["pattern"] == "^[0-9]{12}$", name
    parameters = [
        p
        for _, path, operation in operations(document)
        for p in operation.get("parameters", [])
        if p["name"] == "iin"
    ]
    assert len(parameters) == 2
    for parameter in parameters:
        assert parameter["schema"]["pattern"] == "^[0-9]{12}$"


def test_paging_parameters_are_bounded(document: dict[str, Any]) -> None:
    seen = 0
    for _, _, operation in operations(document):
        for parameter in operation.get("parameters", []):
            if parameter["name"] in ("limit", "offset"):
                seen += 1
                assert parameter["schema"]["minimum"] >= 0
                assert parameter["schema"]["maximum"] <= 2**31, parameter
    assert seen == 6  # plans, tasks and the chain bodies' inbox: limit and offset each


def test_request_examples_pass_their_schemas(document: dict[str, Any]) -> None:
    checked = 0
    for _, _, operation in operations(document):
        content = operation.get("requestBody", {}).get("content", {}).get("application/json")
        if content is None:
            continue
        for example in content.get("examples", {}).values():
            validator(document, content["schema"]).validate(example["value"])
            checked += 1
            for iin in _example_iins(example["value"]):
                check_iin(iin)
    assert checked >= 9


def _example_iins(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "iin":
                yield item
            elif key.endswith("_iins"):
                yield from item
            else:
                yield from _example_iins(item)
    elif isinstance(value, list):
        for item in value:
            yield from _example_iins(item)


class _Thing(BaseModel):
    name: str


def test_a_route_added_later_documents_itself_through_the_helper() -> None:
    router = APIRouter()

    @router.post("/api/v1/things/{thing_id}", responses=problem_responses(404, 409))
    async def add_thing(thing_id: str, body: _Thing, caller: CallerDep) -> _Thing:
        return body

    @router.get("/api/v1/plain")
    async def plain(limit: int = 5) -> dict[str, int]:
        return {"limit": limit}

    app = FastAPI()
    openapi.install(app)
    app.include_router(router)
    document = app.openapi()
    thing = document["paths"]["/api/v1/things/{thing_id}"]["post"]["responses"]
    assert sorted(thing) == ["200", "400", "401", "404", "409", "413", "422", "503"]
    assert thing["404"]["content"][PROBLEM]["schema"]["allOf"][1] == {
        "properties": {"status": {"const": 404}}
    }
    assert list(thing["422"]["content"]) == [PROBLEM]
    # A route that forgot the helper still gets our 422, never FastAPI's.
    assert list(document["paths"]["/api/v1/plain"]["get"]["responses"]["422"]["content"]) == [
        PROBLEM
    ]
    assert "HTTPValidationError" not in json.dumps(document)


def test_notes_must_name_a_listed_status() -> None:
    with pytest.raises(ValueError, match="404"):
        problem_responses(403, notes={404: "no such thing"})
    assert problem_responses(404, notes={404: "No thing."})[404]["description"] == "No thing."
