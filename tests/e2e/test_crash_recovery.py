"""SIGKILL the gateway between committing a plan and publishing (or marking) its tasks.

After a restart every task is delivered, and each body took each task exactly once in
effect: redelivered copies are deduplicated on their message id.
"""

from __future__ import annotations

import sqlite3
import time

import httpx
import pytest

from mocks.agencies.journal import count_taken, journal
from tests.e2e.system import System
from tests.integration.harness import AGENCIES, plan_body

pytestmark = pytest.mark.e2e


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


@pytest.mark.parametrize("hold", ["before_publish", "before_mark"])
def test_tasks_survive_a_sigkill_of_the_gateway(system: System, hold: str) -> None:
    registered = system.gateway("centres", "add", "c1", "--name-ru", "ЦПС", "--name-kk", "Орталық")
    assert registered.returncode == 0, registered.stderr
    key = system.gateway("clients", "add", "--name", "centre", "--kind", "centre", "--scope", "c1")
    assert key.returncode == 0, key.stderr
    headers = {"Authorization": f"Bearer {key.stdout.strip()}"}
    marker = system.root / "held"

    system.start_mocks()
    system.start_gateway(GATEWAY_FAULT_HOLD=hold, GATEWAY_FAULT_MARKER=str(marker))
    response = httpx.post(
        f"{system.url}/api/v1/plans", json=plan_body("c1"), headers=headers, timeout=10
    )
    assert response.status_code == 201, response.text
    plan_id = response.json()["id"]
    task_ids = {t["agency"]: t["id"] for t in response.json()["tasks"]}

    _wait(marker.exists, 15, f"the relay to reach {hold}")
    system.kill("gateway")
    pending = _rows(system, "SELECT count(*) FROM outbox WHERE published_at IS NULL")
    assert pending == [(4,)]  # committed, never marked sent
    if hold == "before_mark":
        # The broker has them already: the bodies take them while the gateway is dead.
        _wait(
            lambda: all(count_taken(system.mock_state, a, task_ids[a]) == 1 for a in AGENCIES),
            15,
            "mocks",
        )

    system.start_gateway()

    def all_reported() -> bool:
        plan = httpx.get(f"{system.url}/api/v1/plans/{plan_id}", headers=headers, timeout=5).json()
        return {t["state"] for t in plan["tasks"]} == {"reported"}

    _wait(all_reported, 30, "every task reported by its body")
    plan = httpx.get(f"{system.url}/api/v1/plans/{plan_id}", headers=headers, timeout=5).json()
    for code, task_id in task_ids.items():
        assert count_taken(system.mock_state, code, task_id) == 1
        delivered = [
            e for e in plan["timeline"] if e["type"] == "task_delivered" and e["task_id"] == task_id
        ]
        assert len(delivered) == 1
        reports = [
            e for e in plan["timeline"] if e["type"] == "agency_report" and e["task_id"] == task_id
        ]
        assert [r["to_state"] for r in reports] == ["delivered", "in_progress", "reported"]
    # The restarted relay takes the dead one's batch over once its lease has run out.
    _wait(
        lambda: _rows(system, "SELECT count(*) FROM outbox WHERE published_at IS NULL") == [(0,)],
        15,
        "the outbox to drain",
    )

    def duplicates() -> int:
        return sum(
            1 for code in AGENCIES for entry in journal(system.mock_state, code) if entry.duplicate
        )

    # Killed before publishing: nothing was sent twice. Killed before marking: all four
    # were sent again after the restart, and the bodies dropped the copies.
    expected = 0 if hold == "before_publish" else 4
    _wait(lambda: duplicates() == expected, 10, f"{expected} duplicate(s) in the bodies' journals")
    time.sleep(0.5)
    assert duplicates() == expected
    for code, task_id in task_ids.items():
        assert count_taken(system.mock_state, code, task_id) == 1
