"""The short chaos drill, in the test suite: the same drill as `python -m bench.chaos`,
at a size that runs in about a minute.

200 tasks (50 plans) in flight; the API process and the worker process SIGKILLed once
each; the drill's own RabbitMQ node restarted once; the housing body down through a
simulated working day (its 50 tasks get a routing warning and a breach); the mock bus
failing 20% of its calls. The drill checks, from the API and the bodies' journals, that
nothing was lost or doubled, every breach recorded and every plan completed.
"""

from __future__ import annotations

import time

import pytest

from bench.chaos import nodes
from bench.chaos.drill import DrillConfig, run_drill
from tests.conftest import PG_ADMIN_URL

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(170)]


async def test_the_short_chaos_drill_loses_nothing() -> None:
    if not nodes.available():
        pytest.skip("rabbitmq-server is not installed (apt-get install rabbitmq-server)")
    config = DrillConfig(
        tasks=200,
        concurrency=8,
        gateway_kills=2,
        broker_restarts=1,
        broker_down_seconds=2.0,
        lookup_every=2,
        work_seconds=0.5,
        pg_admin_url=PG_ADMIN_URL,
        timeout=120,
    )
    began = time.monotonic()
    result = await run_drill(config, print)
    print(result.report())
    assert result.ok, result.report()
    verdict = result.verdict
    assert verdict.tasks_in_store == verdict.taken_once == verdict.done_applied == 200
    assert verdict.breaches_recorded == verdict.warnings_recorded == 50
    assert len([e for e in result.events if e.startswith("SIGKILL")]) == 2
    assert len([e for e in result.events if e.startswith("RabbitMQ restarted")]) == 1
    assert time.monotonic() - began < 120
