"""Logs never carry an IIN in clear, in either format, tracebacks included (issue 15)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from gateway import logs
from tests.e2e.log_scan import unmasked_iins

IIN = "900101300017"  # valid: born 1 Jan 1990, male, serial 1


def _record(message: str, *args: object, exc: bool = False) -> logging.LogRecord:
    exc_info = None
    if exc:
        try:
            raise ValueError(f"no person {IIN}")
        except ValueError as error:
            exc_info = (type(error), error, error.__traceback__)
    return logging.LogRecord("gateway.test", logging.ERROR, __file__, 1, message, args, exc_info)


def test_text_lines_are_masked_and_carry_the_bound_ids() -> None:
    formatter = logs.TextFormatter()
    with logs.bind(case_id="plan-1", task_id="task-9"):
        line = formatter.format(_record("lookup of %s", IIN, exc=True))
    assert IIN not in line
    assert "90********17" in line
    assert "case_id=plan-1" in line and "task_id=task-9" in line


def test_json_lines_are_masked_and_keyed() -> None:
    formatter = logs.JsonFormatter()
    with logs.bind(case_id="plan-2"):
        entry = json.loads(formatter.format(_record("lookup of %s", IIN, exc=True)))
    assert entry["message"] == "lookup of 90********17"
    assert IIN not in entry["exception"] and "no person" in entry["exception"]
    assert entry["case_id"] == "plan-2" and entry["level"] == "ERROR"
    outside = json.loads(formatter.format(_record("no ids here")))
    assert "case_id" not in outside


def test_the_scanner_finds_a_valid_iin_and_ignores_other_numbers(tmp_path: Path) -> None:
    (tmp_path / "gateway.log").write_text(f"ok 90********17\nleak {IIN}\n123456789012\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "mock.log").write_text(f"id={IIN}, 1{IIN}\n")
    assert unmasked_iins(tmp_path) == [
        "gateway.log:2: 90********17",
        "sub/mock.log:1: 90********17",
    ]
