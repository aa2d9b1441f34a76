"""An agency that is down: its task crosses the routing-limit warning and breach.

Time moves through the gateway's injected clock, never by sleeping; the bodies are
the mock agency systems, running for real against the broker.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest

from gateway.deadline_watcher import scan
from mocks.agencies.config import AgencyBehaviour
from mocks.agencies.journal import count_taken
from mocks.agencies.runner import run_agencies
from tests.conftest import AMQP_URL
from tests.integration.harness import Harness, eventually

pytestmark = pytest.mark.integration


def _routing(task: dict[str, object]) -> dict[str, object]:
    (routing,) = [d for d in task["deadlines"] if d["kind"] == "routing"]  # type: ignore[attr-defined]
    return routing  # type: ignore[no-any-return]


async def test_stopped_agency_crosses_warning_and_breach_then_gets_its_task(
    harness: Harness, tmp_path: Path
) -> None:
    h = harness
    behaviour = AgencyBehaviour(work_seconds=60.0)  # they take the task and then work slowly

    def start(codes: list[str]) -> tuple[asyncio.Task[None], asyncio.Event]:
        stop = asyncio.Event()
        task = asyncio.create_task(
            run_agencies(
                codes,
                amqp_url=AMQP_URL,
                prefix=h.topology.prefix,
                state_dir=tmp_path,
                behaviour=behaviour,
                stop=stop,
                delivery_limit=h.topology.delivery_limit,
            )
        )
        return task, stop

    running, stop_running = start(["education", "health", "internal_affairs"])
    started = [(running, stop_running)]
    try:
        plan_id = (await h.submit()).json()["id"]

        async def three_delivered() -> bool:
            states = {t["agency"]: t["state"] for t in (await h.plan(plan_id))["tasks"]}
            return sorted(states.values()) == ["delivered", "delivered", "delivered", "dispatched"]

        await eventually(three_delivered, timeout=15)
        housing = next(t for t in (await h.plan(plan_id))["tasks"] if t["agency"] == "housing")
        routing = _routing(housing)
        assert routing["state"] == "on_time" and routing["met_at"] is None

        # Three quarters of the limit: a warning, once, on the timeline and in the API.
        from datetime import datetime

        warn_at = datetime.fromisoformat(str(routing["warn_at"]))
        due_at = datetime.fromisoformat(str(routing["due_at"]))
        h.clock.set(warn_at + timedelta(minutes=1))
        assert (await scan(h.engine, h.clock.now())).warnings == 1
        assert (await scan(h.engine, h.clock.now())).warnings == 0  # recorded once
        plan = await h.plan(plan_id)
        housing = next(t for t in plan["tasks"] if t["agency"] == "housing")
        assert _routing(housing)["state"] == "at_risk"
        warnings = [e for e in plan["timeline"] if e["type"] == "deadline_warning"]
        assert [(w["task_id"], w["data"]["kind"]) for w in warnings] == [(housing["id"], "routing")]
        others = [t for t in plan["tasks"] if t["agency"] != "housing"]
        assert all(_routing(t)["state"] == "on_time" for t in others)

        # Past the end of the second working day: a breach.
        h.clock.set(due_at + timedelta(seconds=1))
        assert (await scan(h.engine, h.clock.now())).breaches == 1
        listed = (await h.http.get("/api/v1/plans?overdue=true", headers=h.auth("centre"))).json()
        assert [p["id"] for p in listed["items"]] == [plan_id]
        plan = await h.plan(plan_id)
        housing = next(t for t in plan["tasks"] if t["agency"] == "housing")
        assert _routing(housing)["state"] == "breached"
        breach = [e for e in plan["timeline"] if e["type"] == "deadline_breached"]
        assert len(breach) == 1 and breach[0]["actor"] == "gateway:deadline-watcher"

        # The body's system comes back: the task waiting in its queue is delivered.
        late, stop_late = start(["housing"])
        started.append((late, stop_late))

        async def housing_delivered() -> bool:
            tasks = (await h.plan(plan_id))["tasks"]
            return bool(next(t for t in tasks if t["agency"] == "housing")["state"] == "delivered")

        await eventually(housing_delivered, timeout=15)
        plan = await h.plan(plan_id)
        housing = next(t for t in plan["tasks"] if t["agency"] == "housing")
        routing = _routing(housing)
        assert routing["met_at"] is not None and routing["state"] == "breached"  # met, but late
        assert count_taken(tmp_path, "housing", housing["id"]) == 1
        no_longer = (
            await h.http.get("/api/v1/plans?overdue=true", headers=h.auth("centre"))
        ).json()
        assert no_longer["total"] == 0

    finally:
        for _task, stop in started:
            stop.set()
        await asyncio.gather(*(task for task, _ in started), return_exceptions=True)
