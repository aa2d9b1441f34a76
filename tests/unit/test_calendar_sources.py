"""`gateway calendar show YEAR` lists each day with its source; disputes are data."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from contracts.clock import ALMATY
from gateway.calendar_sources import (
    ENV_DISPUTES,
    add_dispute,
    crossed,
    load_disputes,
    remove_dispute,
    year_days,
)
from gateway.cli import app
from gateway.workdays import default_calendar


@pytest.fixture(autouse=True)
def _operator_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "disputes.json"
    monkeypatch.setenv(ENV_DISPUTES, str(path))
    return path


def test_show_2026_lists_the_days_off_with_sources_and_the_disputed_31_august() -> None:
    result = CliRunner().invoke(app, ["calendar", "show", "2026"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    nauryz = next(line for line in lines if line.startswith("2026-03-24"))
    assert "выходной" in nauryz and "Наурыз" in nauryz and "источник: holidays 0.109" in nauryz
    (august,) = [line for line in lines if line.startswith("2026-08-31 пн")]
    # The package counts it a working day; the calendar follows it and says it is disputed.
    assert "рабочий" in august and "[ОСПАРИВАЕТСЯ]" in august
    claims = [line for line in lines if line.startswith("  – ")]
    assert any("holidays 0.109" in c and ": рабочий." in c for c in claims)
    assert any("опубликованный в начале 2026" in c and ": выходной." in c for c in claims)
    # Every day off of the package's 2026 that is not a plain weekend is listed.
    listed = {line[:10] for line in lines if line[:4] == "2026"}
    assert {d.day.isoformat() for d in year_days(default_calendar(), 2026)} <= listed
    assert "104 дн." in result.output


def test_show_2025_names_the_decree_and_its_file() -> None:
    result = CliRunner().invoke(app, ["calendar", "show", "2025"])
    assert result.exit_code == 0, result.output
    (sunday,) = [ln for ln in result.output.splitlines() if ln.startswith("2025-01-05 вс")]
    assert "рабочий" in sunday and "G24G0000436" in sunday
    assert "решение в данных шлюза" in sunday and "workday_transfers.json" in sunday


def test_an_operator_marks_and_settles_a_disputed_day(_operator_file: Path) -> None:
    runner = CliRunner()
    refused = runner.invoke(app, ["calendar", "dispute", "2026-12-31"])
    assert refused.exit_code == 2  # a reason is required
    marked = runner.invoke(
        app, ["calendar", "dispute", "2026-12-31", "--reason", "ожидается постановление"]
    )
    assert marked.exit_code == 0, marked.output
    assert _operator_file.exists()
    days = {d.day: d for d in load_disputes()}
    assert days[date(2026, 12, 31)].reason == "ожидается постановление"
    assert days[date(2026, 12, 31)].file == str(_operator_file)
    shown = runner.invoke(app, ["calendar", "show", "2026"]).output
    assert "2026-12-31 чт  рабочий" in shown and "ожидается постановление" in shown
    settled = runner.invoke(app, ["calendar", "dispute", "2026-12-31", "--clear"])
    assert settled.exit_code == 0
    assert date(2026, 12, 31) not in {d.day for d in load_disputes()}
    assert runner.invoke(app, ["calendar", "dispute", "2026-12-31", "--clear"]).exit_code == 1
    assert runner.invoke(app, ["calendar", "dispute", "31.12.2026", "--reason", "x"]).exit_code == 2


def test_a_term_crosses_a_disputed_day_after_its_start_up_to_its_due_day(
    _operator_file: Path,
) -> None:
    disputes = load_disputes()
    friday = datetime(2026, 8, 28, 10, 0, tzinfo=ALMATY)
    due = default_calendar().deadline(friday, 2)
    assert due.date() == date(2026, 9, 1)  # Monday 31 August counted as working
    assert [d.day for d in crossed(disputes, friday, due)] == [date(2026, 8, 31)]
    monday = datetime(2026, 8, 31, 10, 0, tzinfo=ALMATY)  # the event's own day never counts
    assert crossed(disputes, monday, default_calendar().deadline(monday, 2)) == []
    before = datetime(2026, 8, 25, 10, 0, tzinfo=ALMATY)
    assert crossed(disputes, before, default_calendar().deadline(before, 2)) == []
    add_dispute(date(2026, 9, 1), "проверка")
    assert [d.day for d in crossed(load_disputes(), friday, due)] == [
        date(2026, 8, 31),
        date(2026, 9, 1),
    ]
    assert remove_dispute(date(2026, 9, 1))
