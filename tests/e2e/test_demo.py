"""The README's promise: `gateway up`, then `gateway demo` completes a plan through all
four mock agencies."""

from __future__ import annotations

import json
import re
import subprocess
import time

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from gateway.broker.identity import body_user
from mocks.population import generate_population
from tests.e2e.system import System, free_port

pytestmark = pytest.mark.e2e


def test_up_then_demo_completes_a_plan(system: System) -> None:
    ports = [str(free_port()) for _ in range(8)]
    system.start(
        "up", "up", "--work-seconds", "0.1",
        "--shep-port", ports[0], "--egov-port", ports[1], "--kandas-port", ports[2],
        "--agencies-admin-port", ports[3],
        "--migration-portal-port", ports[4], "--labour-market-port", ports[5],
        "--family-card-port", ports[6], "--ca-port", ports[7],
    )  # fmt: skip
    system.wait_ready(timeout=60)
    credentials = system.root / "credentials.json"
    deadline = time.monotonic() + 10
    while not credentials.exists() and time.monotonic() < deadline:
        time.sleep(0.1)

    result = system.gateway("demo", "--timeout", "60")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "completed" in result.stdout.lower()

    key = json.loads(credentials.read_text())["centres"]["demo-centre"]
    page = httpx.get(
        f"{system.url}/api/v1/plans?status=completed",
        headers={"Authorization": f"Bearer {key}"},
        timeout=5,
    ).json()
    assert page["total"] == 1
    (plan,) = page["items"]
    assert plan["task_states"] == {"accepted": 4}

    # Issue 12: `gateway up` gave every mock body its own RabbitMQ user and the gateway
    # requires them, so the four bodies' reports were taken on the broker-checked user_id.
    # The broker itself shows each body connected as its own user, never as guest.
    assert "broker identities: NOT provisioned" not in system.log("up")
    connected = subprocess.run(
        ["rabbitmqctl", "-q", "list_connections", "user", "--no-table-headers"],
        capture_output=True, text=True, timeout=60, check=True,
    ).stdout.split()  # fmt: skip
    bodies = ("health", "education", "housing", "internal_affairs", "cc_turkestan", "leb_turkestan")
    for body in bodies:
        assert body_user(system.prefix, body) in connected, (body, connected)

    # Issue 15: /metrics, parsed by prometheus-client's own parser, tells the same story:
    # the demo's four tasks in their final state, nothing left in the outbox, and the
    # collector's batches that carried the bodies' reports.
    samples: dict[str, float] = {}
    scraped = httpx.get(f"{system.url}/metrics", timeout=10)
    assert scraped.status_code == 200
    for family_ in text_string_to_metric_families(scraped.text):
        for sample in family_.samples:
            series = sample.name + "".join(f"|{k}={v}" for k, v in sorted(sample.labels.items()))
            samples[series] = samples.get(series, 0.0) + sample.value
    accepted = sum(
        v for k, v in samples.items() if k.startswith("gateway_tasks|") and "state=accepted" in k
    )
    assert accepted == 4, samples
    assert samples["gateway_outbox_lag_seconds"] == 0
    assert samples["gateway_collector_batch_size_count"] > 0

    # The same command brought up the mock e-government bus and the gateway's lookups on it:
    # "who is this family?" with one member's IIN, assembled from the registries.
    family = generate_population(42).families[0]
    answer = httpx.get(
        f"{system.url}/api/v1/registry/families/{family.members[0].iin}?purpose=ipr_monitoring",
        headers={"Authorization": f"Bearer {key}"},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    found = answer.json()
    assert found["person"]["iin"] == family.members[0].iin
    assert found["missing"] == []
    # Issue 12: the interagency log of all of it is chained by the watcher's sealer within
    # a second or two, and verifies.
    deadline = time.monotonic() + 15
    while True:
        verified = system.gateway("audit", "verify")
        assert verified.returncode == 0, verified.stdout + verified.stderr
        if " 0 not yet sealed" in verified.stdout or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    chained = re.search(r"(\d+) records chained", verified.stdout)
    assert chained is not None and int(chained.group(1)) > 20, verified.stdout
    print(verified.stdout)
    for port in ports[1:6]:  # the portals, Kandas, the labour market and the bodies' admin too
        assert httpx.get(f"http://127.0.0.1:{port}/__admin/requests", timeout=5).status_code == 200


def test_demo_without_a_running_system_says_what_to_do(system: System) -> None:
    (system.root / "credentials.json").write_text(
        json.dumps({"api_url": system.url, "centres": {"demo-centre": "gw_x_y"}})
    )
    result = system.gateway("demo", "--timeout", "5")
    assert result.returncode != 0
    assert "gateway up" in (result.stdout + result.stderr)
