"""`gateway calendar deadline START N` prints the deadline alone on one line."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from gateway.cli import app


@pytest.mark.parametrize(
    ("start", "days", "printed"),
    [
        ("2025-01-03T10:00", "1", "2025-01-05T23:59:59+05:00"),  # Sunday 5 January 2025 was worked
        ("2025-01-03T10:00:00+05:00", "2", "2025-01-06T23:59:59+05:00"),
        ("2025-03-20T20:00:00Z", "1", "2025-03-26T23:59:59+05:00"),  # already 21 March in Almaty
        ("2026-11-20T18:00:00+05:00", "2", "2026-11-24T23:59:59+05:00"),  # Friday evening
    ],
)
def test_deadline_output(start: str, days: str, printed: str) -> None:
    result = CliRunner().invoke(app, ["calendar", "deadline", start, days])
    assert result.exit_code == 0, result.output
    assert result.output == printed + "\n"


@pytest.mark.parametrize(("start", "days"), [("yesterday", "1"), ("2025-01-03", "0")])
def test_bad_arguments_are_refused(start: str, days: str) -> None:
    result = CliRunner().invoke(app, ["calendar", "deadline", start, days])
    assert result.exit_code == 2
