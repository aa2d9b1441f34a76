"""SIGKILL the gateway between the relay's publish and its mark, with a full batch in flight.

A hundred tasks wait in the outbox; the relay publishes them in one batch, the bodies
take them and report, and the gateway dies before marking the batch sent. After a
restart the relay sends the whole batch again: every body drops every copy, and every
task is delivered, reported and recorded exactly once.
"""

from __future__ import annotations

import sqlite3
import time
from typing import Any

import httpx
import pytest

from mocks.agencies.journal import count_taken, journal
from tests.e2e.system import System
from tests.integration.harness import AGENCIES, plan_body

pytestmark = pytest.mark.e2e

PLANS = 25


def _wait(check: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _rows(system: System, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(system.database) as db:
        return db.execute(sql).fetchall()


def test_a_batch_resent_after_a_kill_between_publish_and_mark_has_one_effect(
    system: System,
) -> None:
    registered = system.gateway("centres", "add", "c1", "--name-ru", "ЦПС", "--name-kk", "Орталық")
    assert registered.returncode == 0, registered.stderr
    key = system.gateway("clients", "add", "--name", "centre", "--kind", "centre", "--scope", "c1")
    assert key.returncode == 0, key.stderr
    headers = {"Authorization": f"Bearer {key.stdout.strip()}"}
    marker = system.root / "held"

    # The plans go in with no relay running, so the first pass takes them all at once.
    system.start("gateway", "serve", "--no-relay")
    system.wait_ready()
    plan_ids = []
    for n in range(PLANS):
        body = plan_body("c1")
        body["external_id"] = f"load-{n}"
        response = httpx.post(f"{system.url}/api/v1/plans", json=body, headers=headers, timeout=10)
        assert response.status_code == 201, response.text
        plan_ids.append(response.json()["id"])
    system.kill("gateway")
    tasks = PLANS * len(AGENCIES)

    system.start_mocks()
    system.start_gateway(
        GATEWAY_FAULT_HOLD="before_mark",
        GATEWAY_FAULT_MARKER=str(marker),
        GATEWAY_RELAY_BATCH="500",
    )
    _wait(marker.exists, 30, "the relay to publish its batch and hold before marking it")
    # The bodies take the whole batch from the broker while the gateway holds.
    _wait(
        lambda: (
            sum(len({e.task_id for e in journal(system.mock_state, c)}) for c in AGENCIES) == tasks
        ),
        30,
        "the bodies to take every task",
    )
    system.kill("gateway")
    assert _rows(system, "SELECT count(*) FROM outbox WHERE published_at IS NULL") == [(tasks,)]

    system.start_gateway()

    def plans() -> list[dict[str, Any]]:
        return [
            httpx.get(f"{system.url}/api/v1/plans/{p}", headers=headers, timeout=10).json()
            for p in plan_ids
        ]

    _wait(
        lambda: all({t["state"] for t in p["tasks"]} == {"reported"} for p in plans()),
        90,
        "every task reported",
    )
    _wait(
        lambda: _rows(system, "SELECT count(*) FROM outbox WHERE published_at IS NULL") == [(0,)],
        30,
        "the outbox to drain",
    )

    def duplicates() -> int:
        return sum(
            1 for code in AGENCIES for entry in journal(system.mock_state, code) if entry.duplicate
        )

    # The whole batch was sent twice; every second copy was dropped by its body.
    _wait(lambda: duplicates() == tasks, 30, f"{tasks} duplicates in the bodies' journals")
    for plan in plans():
        for task in plan["tasks"]:
            assert count_taken(system.mock_state, task["agency"], task["id"]) == 1
            mine = [e for e in plan["timeline"] if e["task_id"] == task["id"]]
            assert [e["type"] for e in mine].count("task_delivered") == 1
            # Marked dispatched at most once: a task its body reported on before the mark
            # is past `dispatched` already.
            assert [e["type"] for e in mine].count("task_dispatched") <= 1
            reports = [e["to_state"] for e in mine if e["type"] == "agency_report"]
            assert reports == ["delivered", "in_progress", "reported"]
