"""One trace across the gateway's edges (issue 15), recorded by an in-memory exporter."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from gateway.services.registry_lookup import ShepRegistryGateway
from tests.conftest import AMQP_URL
from tests.integration.flows import bodies_on
from tests.integration.harness import Harness, eventually, plan_body
from tests.integration.test_registry_lookup import Bus
from tests.integration.test_registry_lookup import bus as bus  # the module's bus fixture
from tests.tracing import spans as spans

pytestmark = pytest.mark.integration



async def test_a_registry_lookup_carries_its_trace_to_the_bus(
    bus: Bus, spans: InMemorySpanExporter
) -> None:
    registry = ShepRegistryGateway(bus.channel())
    person = bus.population.families[0].members[0]
    tracer = trace.get_tracer("tests")
    try:
        with tracer.start_as_current_span("a centre asks who the family is") as root:
            found = await registry.person(person.iin)
    finally:
        await registry.aclose()
    assert found is not None
    trace_id = root.get_span_context().trace_id

    client_spans = [s for s in spans.get_finished_spans() if s.name.startswith("ШЭП ")]
    assert client_spans and all(s.context.trace_id == trace_id for s in client_spans)
    # The bus received the same trace in its W3C header (its journal keeps what it heard).
    async with httpx.AsyncClient(base_url=bus.server.base_url) as admin:
        journal = (await admin.get("/__admin/requests")).json()
    heard = [r.get("traceparent", "") for r in journal["requests"]]
    assert any(h.split("-")[1] == format(trace_id, "032x") for h in heard if h), heard


async def test_one_trace_from_the_submit_through_the_body_to_the_collector(
    spans: InMemorySpanExporter, harness: Harness, tmp_path: Path
) -> None:
    h = harness
    async with bodies_on(AMQP_URL, h, tmp_path / "bodies", work_seconds=0.05):
        submitted = await h.submit(plan_body(h.centre, agencies=("health",)))
        assert submitted.status_code == 201, submitted.text
        plan_id = submitted.json()["id"]

        async def reported() -> bool:
            return bool((await h.plan(plan_id))["tasks"][0]["state"] == "reported")

        await eventually(reported, timeout=30)

    finished = spans.get_finished_spans()
    submit = [s for s in finished if s.kind is trace.SpanKind.SERVER and "/api/v1/plans" in s.name]
    assert submit, [s.name for s in finished]
    trace_id = submit[0].context.trace_id
    in_trace = {s.name for s in finished if s.context.trace_id == trace_id}
    assert "publish task.assigned" in in_trace, in_trace
    assert "health takes task.assigned" in in_trace, in_trace
    assert "apply status report" in in_trace, in_trace
