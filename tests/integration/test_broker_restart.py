"""RabbitMQ restarted in the middle of a flow; nothing restarted on our side.

The gateway's parts (API, relay, collector, dead-letter recorder) and the mock bodies
run in-process against a RabbitMQ node of this test run's own (`rabbit_node`), which
the test stops and starts with `rabbitmqctl stop_app` / `start_app` while plans are
being submitted and tasks are in flight. Afterwards every task is delivered, each body
took each task exactly once, every report is applied, and the loss and the recovery
were each logged once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.chaos.nodes import Node
from mocks.agencies.journal import count_taken, journal
from tests.integration.flows import bodies_on, gateway_on, is_, plans_of, submit_plans
from tests.integration.harness import AGENCIES, eventually

pytestmark = pytest.mark.integration


async def test_a_broker_restart_mid_flow_loses_and_doubles_nothing(
    engine: AsyncEngine,
    rabbit_node: Node,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    # Bodies that take a second a step: the batched collector finishes twelve plans of
    # quick bodies before the test can restart the broker, and nothing would be in flight.
    async with (
        gateway_on(engine, rabbit_node.url) as h,
        bodies_on(rabbit_node.url, h, tmp_path, work_seconds=1.0),
    ):
        before = await submit_plans(h, 12)

        async def some_delivered() -> bool:
            states = [t["state"] for p in await plans_of(h, before) for t in p["tasks"]]
            return sum(s not in ("dispatched", "created") for s in states) >= 8

        await eventually(some_delivered, timeout=30)
        states = [t["state"] for p in await plans_of(h, before) for t in p["tasks"]]
        assert "reported" not in states or states.count("reported") < len(states), (
            "the flow finished before the restart; nothing would be in flight"
        )

        # The restart runs in a thread; meanwhile centres keep submitting plans: the API
        # takes them into the outbox with the broker down.
        restart = asyncio.create_task(asyncio.to_thread(rabbit_node.restart, 2.0))
        await eventually(lambda: is_(h.link.up, False), timeout=10)
        ready = await h.http.get("/ready")
        assert ready.status_code == 503 and ready.json()["checks"]["broker"] == "down"
        during = await submit_plans(h, 4)
        down_for = await restart

        async def broker_back() -> bool:
            return (await h.http.get("/ready")).status_code == 200

        await eventually(broker_back, timeout=30)
        after = await submit_plans(h, 4)
        ids = before + during + after

        async def all_reported() -> bool:
            return all(t["state"] == "reported" for p in await plans_of(h, ids) for t in p["tasks"])

        await eventually(all_reported, timeout=60)
        plans = await plans_of(h, ids)

    for plan in plans:
        for task in plan["tasks"]:
            assert count_taken(tmp_path, task["agency"], task["id"]) == 1, task
            events = [e for e in plan["timeline"] if e["task_id"] == task["id"]]
            assert [e["type"] for e in events].count("task_delivered") == 1
            reports = [e["data"].get("status") for e in events if e["type"] == "agency_report"]
            assert reports.count("done") == 1, reports
    taken = sum(
        1 for code in AGENCIES for e in journal(tmp_path, code) if e.effect.value == "taken"
    )
    assert taken == len(ids) * len(AGENCIES)

    gateway_lost = _records(caplog, "gateway.broker", logging.WARNING, "lost RabbitMQ")
    gateway_back = _records(caplog, "gateway.broker", logging.INFO, "RabbitMQ connected again")
    bodies_lost = _records(caplog, "mocks.agencies.broker", logging.WARNING, "lost RabbitMQ")
    bodies_back = _records(caplog, "mocks.agencies.broker", logging.INFO, "RabbitMQ is back")
    assert (len(gateway_lost), len(gateway_back)) == (1, 1), caplog.text[-3000:]
    assert (len(bodies_lost), len(bodies_back)) == (1, 1), caplog.text[-3000:]
    tracebacks = [r for r in caplog.records if r.exc_info and r.levelno >= logging.WARNING]
    assert tracebacks == [], [r.getMessage() for r in tracebacks]
    print(f"\nbroker down for {down_for:.1f} s (stop_app, 2 s pause, start_app)")


def _records(
    caplog: pytest.LogCaptureFixture, logger: str, level: int, text: str
) -> list[logging.LogRecord]:
    return [
        r
        for r in caplog.records
        if r.name == logger and r.levelno == level and r.getMessage().startswith(text)
    ]


async def test_ready_reports_the_outage_and_recovers_by_itself(
    engine: AsyncEngine, rabbit_node: Node
) -> None:
    async with gateway_on(engine, rabbit_node.url) as h:
        first = (await h.http.get("/ready")).json()
        assert first["checks"]["broker"] == "ok"
        assert first["details"]["broker"]["node"] == f"127.0.0.1:{rabbit_node.port}"
        rabbit_node.stop_app()
        try:
            await eventually(lambda: is_(h.link.up, False), timeout=10)
            down = await h.http.get("/ready")
            assert down.status_code == 503
            assert down.json()["checks"] == {"database": "ok", "broker": "down"}
            assert down.json()["details"]["broker"]["state"] == "down"
            # A plan is still accepted: it waits in the outbox.
            response = await h.submit()
            assert response.status_code == 201
            await asyncio.sleep(1.0)  # the relay is waiting, not failing
            plan = await h.plan(response.json()["id"])
            assert {t["state"] for t in plan["tasks"]} == {"created"}
        finally:
            rabbit_node.start_app()
        began = time.monotonic()

        async def ready_again() -> bool:
            return (await h.http.get("/ready")).status_code == 200

        await eventually(ready_again, timeout=30)
        recovered = time.monotonic() - began
        body = (await h.http.get("/ready")).json()
        assert body["details"]["broker"]["reconnects"] == 1

        async def dispatched() -> bool:
            plan = await h.plan(response.json()["id"])
            return {t["state"] for t in plan["tasks"]} == {"dispatched"}

        await eventually(dispatched, timeout=15)  # the outbox drained by itself
        print(f"\n/ready back {recovered:.1f} s after start_app returned")
