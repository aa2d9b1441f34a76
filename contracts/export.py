"""Rendering the JSON Schema files in `contracts/schemas/` from the pydantic models,
and the AsyncAPI document `contracts/asyncapi.json` from the same models and names.

The committed files are what other teams build against; a test renders them again and
fails when a model changed without its schema (`gateway contracts export` rewrites them).
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel

from contracts import asyncapi
from contracts.agencies import AgencyRegistry
from contracts.family_card import (
    CardFamily,
    FamilyLookup,
    StatusChangeFeed,
    StatusChangeQuery,
)
from contracts.messages import (
    ConclusionEnvelope,
    StatusEnvelope,
    StatusReportIn,
    TaskAssignedEnvelope,
    TaskCancelledEnvelope,
    TaskReturnedEnvelope,
)
from contracts.plans import CancelIn, PlanPage, PlanSubmission, PlanView, ReviewIn, TaskView

SCHEMA_DIR = Path(__file__).parent / "schemas"
ASYNCAPI_FILE = Path(__file__).parent / "asyncapi.json"

MODELS: dict[str, type[BaseModel]] = {
    "plan-submission.json": PlanSubmission,
    "plan.json": PlanView,
    "plan-page.json": PlanPage,
    "task.json": TaskView,
    "review.json": ReviewIn,
    "cancel.json": CancelIn,
    "status-report-rest.json": StatusReportIn,
    "amqp-task-assigned.json": TaskAssignedEnvelope,
    "amqp-task-returned.json": TaskReturnedEnvelope,
    "amqp-task-cancelled.json": TaskCancelledEnvelope,
    "amqp-task-status.json": StatusEnvelope,
    "amqp-report-conclusion.json": ConclusionEnvelope,
    "agency-registry.json": AgencyRegistry,
    "family-card-status-change-query.json": StatusChangeQuery,
    "family-card-status-change-feed.json": StatusChangeFeed,
    "family-card-lookup.json": FamilyLookup,
    "family-card-family.json": CardFamily,
}


def render(model: type[BaseModel]) -> str:
    schema = model.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return json.dumps(schema, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def render_all() -> dict[str, str]:
    return {name: render(model) for name, model in MODELS.items()}


def render_files() -> dict[Path, str]:
    """Every generated contract file, by path: the JSON Schemas and the AsyncAPI document."""
    files = {SCHEMA_DIR / name: text for name, text in render_all().items()}
    files[ASYNCAPI_FILE] = asyncapi.render()
    return files
