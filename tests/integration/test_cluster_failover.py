"""A 3-node RabbitMQ cluster loses the node everyone is connected to, mid-run.

The cluster is this test's own (`bench.chaos.nodes.start_cluster`, what
`scripts/rabbitmq-cluster start` runs). The gateway's parts and the mock bodies get
the three nodes as one `GATEWAY_AMQP_URL`; both connect to the first, which also leads
every quorum queue (the gateway declared them there). That node is SIGKILLed while
tasks are in flight: the quorum queues elect leaders on the two survivors, the gateway
and the bodies fail over to the second node, and the run finishes with nothing lost
and nothing taken twice.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.chaos import nodes
from bench.chaos.nodes import Nodes
from mocks.agencies.journal import count_taken
from tests.integration.flows import bodies_on, gateway_on, is_, plans_of, submit_plans
from tests.integration.harness import AGENCIES, eventually

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def cluster() -> Iterator[Nodes]:
    if not nodes.available():
        pytest.skip("rabbitmq-server is not installed (apt-get install rabbitmq-server)")
    group, seconds = nodes.start_cluster(3)
    print(f"\n3-node RabbitMQ cluster started in {seconds:.1f} s")
    try:
        yield group
    finally:
        group.remove()


def _members(cluster: Nodes, queue: str) -> tuple[str, list[str]]:
    """(leader, members) of a quorum queue, as a surviving node sees it."""
    for node in cluster.nodes:
        if not nodes.port_open(node.port):
            continue
        out = node.ctl("list_queues", "name", "leader", "members", "--formatter", "json")
        for row in json.loads(out):
            if row["name"] == queue:
                return str(row["leader"]), [str(m) for m in row["members"]]
    raise AssertionError(f"{queue} not found on any running node")


# Where one machine is not enough the gateway runs on PostgreSQL (several processes) and a
# RabbitMQ cluster; that is the pairing tried here.
@pytest.mark.parametrize("store_url", ["postgresql"], indirect=True)
async def test_losing_one_node_of_three_loses_nothing(
    engine: AsyncEngine, cluster: Nodes, tmp_path: Path
) -> None:
    first = cluster.nodes[0]
    async with (
        gateway_on(engine, cluster.url, delete_topology=False) as h,
        bodies_on(cluster.url, h, tmp_path),
    ):
        queue = h.topology.agency_queue("health")
        leader, members = _members(cluster, queue)
        assert sorted(members) == sorted(n.nodename for n in cluster.nodes)  # replicated
        assert leader == first.nodename
        assert h.link.status()["node"] == f"127.0.0.1:{first.port}"

        ids = await submit_plans(h, 12)

        async def some_delivered() -> bool:
            states = [t["state"] for p in await plans_of(h, ids) for t in p["tasks"]]
            return sum(s not in ("created", "dispatched") for s in states) >= 8

        await eventually(some_delivered, timeout=30)
        killed_at = time.monotonic()
        await asyncio.to_thread(first.kill)
        await eventually(lambda: is_(h.link.up, False), timeout=10)
        ids += await submit_plans(h, 4)  # taken into the outbox while failing over

        async def failed_over() -> bool:
            return h.link.up

        await eventually(failed_over, timeout=30)
        failover = time.monotonic() - killed_at
        assert h.link.status()["node"] != f"127.0.0.1:{first.port}"
        ids += await submit_plans(h, 4)

        async def all_reported() -> bool:
            return all(t["state"] == "reported" for p in await plans_of(h, ids) for t in p["tasks"])

        await eventually(all_reported, timeout=90)
        plans = await plans_of(h, ids)
        new_leader, _ = _members(cluster, queue)
        assert new_leader != first.nodename

    lost = doubled = 0
    for plan in plans:
        for task in plan["tasks"]:
            taken = count_taken(tmp_path, task["agency"], task["id"])
            lost += taken == 0
            doubled += taken > 1
            delivered = [
                e
                for e in plan["timeline"]
                if e["task_id"] == task["id"] and e["type"] == "task_delivered"
            ]
            assert len(delivered) == 1
    assert (lost, doubled) == (0, 0)
    assert len(plans) * len(AGENCIES) == sum(len(p["tasks"]) for p in plans) == 80
    print(f"\nnode {first.nodename} killed; the gateway was connected again after {failover:.1f} s")
