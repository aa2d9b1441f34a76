"""`/metrics` for Prometheus: this process's counters and the store's gauges.

Unauthenticated, as `/health` is: it holds counts and timings, never a person's data or an
id. Expose it on the internal network only (the README's operations section).
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from gateway import metrics
from gateway.api.deps import State

router = APIRouter()


@router.get(
    "/metrics",
    tags=["ops"],
    response_class=Response,
    responses={200: {"content": {metrics.CONTENT_TYPE: {"schema": {"type": "string"}}}}},
)
async def scrape(state: State) -> Response:
    """Prometheus' text format: tasks, cases, deadlines, outbox lag, incidents, dead queues,
    relay, collector, registry calls and breakers, HTTP requests."""
    async with state.engine.connect() as conn:
        await metrics.refresh_from_store(conn, state.clock.now())
    if state.dead_queue_depths is not None:
        metrics.set_dead_queue_depths(await state.dead_queue_depths())
    breakers = getattr(state.registry, "breaker_states", None)
    if callable(breakers):
        metrics.set_breakers({name: value == "open" for name, value in breakers().items()})
    return Response(metrics.exposition(), media_type=metrics.CONTENT_TYPE)
