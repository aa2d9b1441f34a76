"""SIGKILL the gateway while the status collector is in the middle of a batch.

The batch's writes are done and not committed when the process dies. After a restart
the broker hands every unacknowledged report out again: none is lost, and none is
applied twice (the inbox has each message id once, each task's timeline each report once,
in the body's order).
"""

from __future__ import annotations

import sqlite3
import time
from typing import Any

import httpx
import pytest

from tests.e2e.system import System
from tests.integration.harness import AGENCIES, plan_body

pytestmark = pytest.mark.e2e

PLANS = 3


def _wait(check: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _rows(system: System, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(system.database) as db:
        return db.execute(sql).fetchall()


def test_no_report_is_lost_or_applied_twice_after_a_sigkill_mid_batch(system: System) -> None:
    registered = system.gateway("centres", "add", "c1", "--name-ru", "ЦПС", "--name-kk", "Орталық")
    assert registered.returncode == 0, registered.stderr
    key = system.gateway("clients", "add", "--name", "centre", "--kind", "centre", "--scope", "c1")
    assert key.returncode == 0, key.stderr
    headers = {"Authorization": f"Bearer {key.stdout.strip()}"}
    marker = system.root / "held"

    # The plans first and the bodies after, so their reports reach the collector together.
    system.start_gateway(
        GATEWAY_FAULT_HOLD="collector_before_commit",
        GATEWAY_FAULT_MARKER=str(marker),
        GATEWAY_COLLECTOR_LINGER_SECONDS="0.2",
    )
    plan_ids = []
    for n in range(PLANS):
        body = plan_body("c1")
        body["external_id"] = f"crash-{n}"
        response = httpx.post(f"{system.url}/api/v1/plans", json=body, headers=headers, timeout=10)
        assert response.status_code == 201, response.text
        plan_ids.append(response.json()["id"])
    system.start_mocks()

    _wait(marker.exists, 30, "the collector to hold inside a batch")
    held = int(marker.read_text().split()[1])
    assert held >= 2  # in the middle of a batch, not of a single report
    system.kill("gateway")
    # Nothing of the held batch was committed.
    assert _rows(system, "SELECT count(*) FROM inbox WHERE consumer = 'status-collector'") == [(0,)]

    system.start_gateway()
    tasks = len(plan_ids) * len(AGENCIES)

    def plans() -> list[dict[str, Any]]:
        return [
            httpx.get(f"{system.url}/api/v1/plans/{p}", headers=headers, timeout=5).json()
            for p in plan_ids
        ]

    def all_reported() -> bool:
        return all({t["state"] for t in plan["tasks"]} == {"reported"} for plan in plans())

    _wait(all_reported, 60, "every task reported by its body")
    for plan in plans():
        timeline = plan["timeline"]
        for task in plan["tasks"]:
            mine = [e for e in timeline if e["task_id"] == task["id"]]
            assert [e["type"] for e in mine].count("task_delivered") == 1
            reports = [e["to_state"] for e in mine if e["type"] == "agency_report"]
            assert reports == ["delivered", "in_progress", "reported"]
            assert not [e for e in mine if e["type"] == "report_ignored"]
    # Each of the bodies' reports (received, in progress, done) is in the inbox once.
    assert _rows(system, "SELECT count(*) FROM inbox WHERE consumer = 'status-collector'") == [
        (tasks * 3,)
    ]
