"""`/metrics` (issue 15): parses with prometheus-client's own parser and says what happened."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import insert

from contracts.messages import ReportStatus
from gateway.store.tables import outbox
from tests.integration.harness import Harness, eventually, plan_body

pytestmark = pytest.mark.integration


async def scrape(h: Harness) -> dict[str, list[tuple[dict[str, str], float]]]:
    response = await h.http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    families: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            families.setdefault(sample.name, []).append((sample.labels, sample.value))
    return families


def value(
    families: dict[str, list[tuple[dict[str, str], float]]], name: str, **labels: str
) -> float:
    return sum(
        v for ls, v in families.get(name, []) if all(ls.get(k) == w for k, w in labels.items())
    )


async def test_metrics_follow_a_plan_to_its_end(harness: Harness) -> None:
    h = harness
    body = plan_body(h.centre, agencies=("health", "education"))
    before = await scrape(h)
    submitted = await h.submit(body)
    assert submitted.status_code == 201
    plan_id = submitted.json()["id"]
    assert value(await scrape(h), "gateway_tasks") == 2

    messages = await h.take("health", 1) + await h.take("education", 1)
    for message in messages:
        payload = message["body"]["payload"]
        task, agency = payload["task_id"], payload["agency"]
        await h.report(task, agency, ReportStatus.done, plan_id=plan_id, comment="сделано")

    async def reported() -> bool:
        plan = await h.plan(plan_id)
        return all(t["state"] == "reported" for t in plan["tasks"])

    await eventually(reported)
    families = await scrape(h)
    assert value(families, "gateway_tasks", state="reported", agency="health") == 1
    assert value(families, "gateway_tasks", state="reported", agency="education") == 1
    assert value(families, "gateway_tasks", state="created") == 0
    assert value(families, "gateway_outbox_unsent") == 0
    assert value(families, "gateway_outbox_lag_seconds") == 0
    assert value(families, "gateway_cases", flow="ipr", status="active") >= 1
    assert value(families, "gateway_incidents_open") == 0
    # This process's counters moved with this plan: two tasks published, reports collected.
    published = "gateway_relay_published_messages_total"
    assert value(families, published) - value(before, published) >= 2
    batches = "gateway_collector_batch_size_count"
    assert value(families, batches) - value(before, batches) >= 1
    assert value(families, "gateway_collector_batch_size_sum") - value(
        before, "gateway_collector_batch_size_sum"
    ) >= 2
    # HTTP series are per route template, not per plan.
    assert (
        value(
            families,
            "gateway_http_requests_total",
            method="POST",
            route="/api/v1/plans",
            status="201",
        )
        >= 1
    )
    assert (
        value(
            families, "gateway_http_requests_total", route="/api/v1/plans/{plan_id}", status="200"
        )
        >= 1
    )
    assert not any(
        plan_id in labels.get("route", "") for labels, _ in families["gateway_http_requests_total"]
    )


async def test_a_waiting_message_shows_as_outbox_lag(harness: Harness) -> None:
    h = harness
    now = h.clock.now()
    async with h.engine.begin() as conn:
        # A message another relay claimed and has not published (it hangs, say): it waits.
        await conn.execute(
            insert(outbox).values(
                message_id=str(uuid.uuid4()),
                exchange=h.topology.tasks_exchange,
                routing_key="health",
                message_type="task.assigned",
                plan_id=str(uuid.uuid4()),
                body="{}",
                created_at=now - timedelta(seconds=90),
                attempts=0,
                lease_until=now + timedelta(days=1),
            )
        )
    families = await scrape(h)
    assert value(families, "gateway_outbox_unsent") == 1
    assert 90 <= value(families, "gateway_outbox_lag_seconds") < 120
