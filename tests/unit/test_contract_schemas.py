"""The committed JSON Schemas are what the models produce (run `gateway contracts export`)."""

from __future__ import annotations

import pytest

from contracts.export import MODELS, SCHEMA_DIR, render_all


@pytest.mark.parametrize("name", sorted(MODELS))
def test_committed_schema_matches_model(name: str) -> None:
    committed = (SCHEMA_DIR / name).read_text()
    assert committed == render_all()[name], f"{name} drifted: run `gateway contracts export`"


def test_submission_schema_requires_what_the_api_requires() -> None:
    import json

    schema = json.loads((SCHEMA_DIR / "plan-submission.json").read_text())
    assert set(schema["required"]) == {"centre", "approved_at", "family", "activities"}
