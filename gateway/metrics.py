"""What an operator alerts on, in Prometheus' format (prometheus-client).

Two kinds of figure:
- counters and histograms this process keeps as it works (HTTP requests, relay publishes,
  collector batches, registry calls);
- gauges read from the store when `/metrics` is scraped (tasks and cases by state, deadlines
  at risk and breached, outbox lag, open incidents) and from the broker (dead-queue depth).
  These are the same for every process on one store, so scrape one API process for them.

Each `gateway serve` process exposes its own counters: scrape every process (an API process
at /metrics; a worker without the API at GATEWAY_METRICS_PORT). Figures are never summed
across processes by the gateway itself.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Iterable
from datetime import datetime
from typing import TypeVar

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from adapters.shep import ShepError, ShepUnavailable
from gateway.store.tables import deadlines, incidents, outbox, plans, tasks

T = TypeVar("T")

REGISTRY = CollectorRegistry(auto_describe=True)
CONTENT_TYPE = CONTENT_TYPE_LATEST

_FAST = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

HTTP_REQUESTS = Counter(
    "gateway_http_requests",
    "HTTP requests answered, by route template and status.",
    ["method", "route", "status"],
    registry=REGISTRY,
)
HTTP_SECONDS = Histogram(
    "gateway_http_request_seconds",
    "Time to answer an HTTP request, by route template.",
    ["method", "route"],
    buckets=_FAST,
    registry=REGISTRY,
)
RELAY_PUBLISH_SECONDS = Histogram(
    "gateway_relay_publish_seconds",
    "From the first publish of a relay batch to the broker's last confirm.",
    buckets=_FAST,
    registry=REGISTRY,
)
RELAY_PUBLISHED = Counter(
    "gateway_relay_published_messages",
    "Outbox messages the broker confirmed.",
    registry=REGISTRY,
)
COLLECTOR_BATCH_SIZE = Histogram(
    "gateway_collector_batch_size",
    "Status messages applied in one store transaction.",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
    registry=REGISTRY,
)
COLLECTOR_BATCH_SECONDS = Histogram(
    "gateway_collector_batch_seconds",
    "Time to apply one batch of status messages and commit it.",
    buckets=_FAST,
    registry=REGISTRY,
)
REGISTRY_CALL_SECONDS = Histogram(
    "gateway_registry_call_seconds",
    "A registry question through the e-government bus, by registry and outcome.",
    ["registry", "outcome"],
    buckets=_FAST,
    registry=REGISTRY,
)
REGISTRY_ERRORS = Counter(
    "gateway_registry_errors",
    "Registry questions that failed, by registry and reason (unavailable or failed).",
    ["registry", "reason"],
    registry=REGISTRY,
)
BREAKER_OPEN = Gauge(
    "gateway_registry_breaker_open",
    "1 while the circuit breaker of a bus service is open (calls refused at once).",
    ["service"],
    registry=REGISTRY,
)

TASKS = Gauge("gateway_tasks", "Tasks by state and body.", ["state", "agency"], registry=REGISTRY)
CASES = Gauge("gateway_cases", "Cases by flow and status.", ["flow", "status"], registry=REGISTRY)
DEADLINES = Gauge(
    "gateway_deadlines",
    "Open deadlines past their warning (at_risk) or their term (breached), by kind and body.",
    ["kind", "agency", "level"],
    registry=REGISTRY,
)
OUTBOX_UNSENT = Gauge(
    "gateway_outbox_unsent", "Outbox messages not yet confirmed by the broker.", registry=REGISTRY
)
OUTBOX_LAG = Gauge(
    "gateway_outbox_lag_seconds",
    "Age of the oldest outbox message not yet confirmed; 0 when none waits.",
    registry=REGISTRY,
)
INCIDENTS_OPEN = Gauge(
    "gateway_incidents_open", "Dead-lettered deliveries not resolved.", registry=REGISTRY
)
DEAD_QUEUE_DEPTH = Gauge(
    "gateway_dead_letter_queue_messages",
    "Messages waiting in each dead queue, as the broker says (absent: broker not reachable).",
    ["queue"],
    registry=REGISTRY,
)


def _set_all(gauge: Gauge, rows: Iterable[tuple[tuple[str, ...], float]]) -> None:
    """Replace a labelled gauge's series, so a state that emptied shows no stale value."""
    gauge.clear()
    for labels, value in rows:
        gauge.labels(*labels).set(value)


async def refresh_from_store(conn: AsyncConnection, now: datetime) -> None:
    """Read the store's gauges; a few grouped counts, cheap even on a large store."""
    _set_all(
        TASKS,
        (
            ((row.state, row.agency), row.n)
            for row in await conn.execute(
                select(tasks.c.state, tasks.c.agency, func.count().label("n")).group_by(
                    tasks.c.state, tasks.c.agency
                )
            )
        ),
    )
    _set_all(
        CASES,
        (
            ((row.flow, row.status), row.n)
            for row in await conn.execute(
                select(plans.c.flow, plans.c.status, func.count().label("n")).group_by(
                    plans.c.flow, plans.c.status
                )
            )
        ),
    )
    open_ = deadlines.c.met_at.is_(None)
    rows: list[tuple[tuple[str, ...], float]] = []
    for level, condition in (
        ("breached", deadlines.c.breached_at.is_not(None)),
        ("at_risk", and_(deadlines.c.breached_at.is_(None), deadlines.c.warned_at.is_not(None))),
    ):
        query = (
            select(deadlines.c.kind, tasks.c.agency, func.count().label("n"))
            .select_from(deadlines.outerjoin(tasks, tasks.c.id == deadlines.c.task_id))
            .where(open_, condition)
            .group_by(deadlines.c.kind, tasks.c.agency)
        )
        rows.extend(
            ((row.kind, row.agency or "", level), row.n) for row in await conn.execute(query)
        )
    _set_all(DEADLINES, rows)
    pending = (
        await conn.execute(
            select(func.count(), func.min(outbox.c.created_at)).where(
                outbox.c.published_at.is_(None)
            )
        )
    ).one()
    OUTBOX_UNSENT.set(pending[0])
    oldest = pending[1]
    OUTBOX_LAG.set(0.0 if oldest is None else max(0.0, (now - oldest).total_seconds()))
    INCIDENTS_OPEN.set(
        (
            await conn.execute(
                select(func.count()).select_from(incidents).where(incidents.c.resolved_at.is_(None))
            )
        ).scalar_one()
    )


def set_dead_queue_depths(depths: dict[str, int] | None) -> None:
    DEAD_QUEUE_DEPTH.clear()
    for queue, depth in (depths or {}).items():
        DEAD_QUEUE_DEPTH.labels(queue).set(depth)


def set_breakers(open_services: dict[str, bool]) -> None:
    for service, is_open in open_services.items():
        BREAKER_OPEN.labels(service).set(1.0 if is_open else 0.0)


def exposition() -> bytes:
    return generate_latest(REGISTRY)


async def timed_registry_call(registry: str, call: Awaitable[T]) -> T:
    """Await one registry question, counting its time and its failure by registry."""
    started = time.perf_counter()
    outcome = "ok"
    try:
        return await call
    except ShepUnavailable:
        outcome = "unavailable"
        raise
    except ShepError:
        outcome = "failed"
        raise
    except Exception:
        outcome = "error"
        raise
    finally:
        REGISTRY_CALL_SECONDS.labels(registry, outcome).observe(time.perf_counter() - started)
        if outcome != "ok":
            REGISTRY_ERRORS.labels(registry, outcome).inc()


class HttpMetrics:
    """ASGI middleware: each answered request counted under its route's template (so
    `/api/v1/plans/{plan_id}` is one series, not one per plan)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            method = str(scope.get("method", ""))
            HTTP_REQUESTS.labels(method, template, str(status)).inc()
            HTTP_SECONDS.labels(method, template).observe(time.perf_counter() - started)

