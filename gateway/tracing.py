"""OpenTelemetry traces across HTTP → outbox → AMQP → the body → status → collector, and
across a registry lookup → the bus → the registry.

Off by default (GATEWAY_TRACES=off): the API's no-op tracer then costs next to nothing.
The W3C `traceparent` travels in AMQP message headers and in the bus's HTTP headers. Between
the submit and the publish sits the outbox, which no instrumentation reaches: the submit's
trace context is stored with the outbox row (`carrier`) and the relay continues it.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Mapping
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter

from gateway.config import Settings

tracer = trace.get_tracer("gateway")


def configure(settings: Settings, service: str = "gateway") -> TracerProvider | None:
    """Install the span exporter the settings ask for; None when traces are off."""
    if settings.traces == "off":
        return None
    processor: SpanProcessor
    if settings.traces == "console":
        processor = BatchSpanProcessor(ConsoleSpanExporter())
    elif settings.traces == "otlp":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        endpoint = settings.otlp_endpoint
        exporter = OTLPSpanExporter(endpoint=endpoint) if endpoint else OTLPSpanExporter()
        processor = BatchSpanProcessor(exporter)
    else:
        raise ValueError(f"GATEWAY_TRACES must be off, console or otlp, not {settings.traces!r}")
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(processor)
    trace.set_tracer_provider(provider)
    return provider


def enabled() -> bool:
    """Whether spans are recorded in this process (an SDK provider is installed)."""
    return isinstance(trace.get_tracer_provider(), TracerProvider)


def instrument(app: Any) -> None:
    """Server spans for every request, continuing a caller's `traceparent`; only when spans
    are recorded, so that the hot path pays nothing with traces off."""
    if not enabled():
        return
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    FastAPIInstrumentor.instrument_app(app, tracer_provider=trace.get_tracer_provider())


def carrier() -> str | None:
    """The current trace context, as stored beside an outbox row; None outside a trace."""
    headers: dict[str, str] = {}
    propagate.inject(headers)
    return json.dumps(headers) if headers else None


def context_of(stored: str | None) -> otel_context.Context:
    """The trace context an outbox row was written in (empty when it had none)."""
    if not stored:
        return otel_context.Context()
    try:
        headers = json.loads(stored)
    except ValueError:
        return otel_context.Context()
    return propagate.extract(headers if isinstance(headers, dict) else {})


def headers_from(ctx: otel_context.Context) -> dict[str, str]:
    """`traceparent` (and `tracestate`) for a message sent in `ctx`."""
    headers: dict[str, str] = {}
    propagate.inject(headers, context=ctx)
    return headers


@contextlib.contextmanager
def producing(stored: str | None, name: str) -> Iterator[dict[str, str]]:
    """A producer span continuing the trace an outbox row was written in; yields the
    headers to send with the message. Nothing (and no span) when traces are off."""
    if not stored or not enabled():
        yield {}
        return
    with tracer.start_as_current_span(
        name, context=context_of(stored), kind=trace.SpanKind.PRODUCER
    ):
        yield headers_from(otel_context.get_current())


def consuming(headers: Mapping[str, Any] | None, name: str) -> trace.Span | None:
    """A consumer span for a received message, continuing its sender's trace; the caller
    ends it. None when traces are off."""
    if not enabled():
        return None
    return tracer.start_span(
        name, context=context_from_headers(headers), kind=trace.SpanKind.CONSUMER
    )


def context_from_headers(headers: Mapping[str, Any] | None) -> otel_context.Context:
    """The trace context an AMQP message arrived with."""
    plain = {
        str(k): v.decode() if isinstance(v, bytes) else str(v) for k, v in (headers or {}).items()
    }
    return propagate.extract(plain)
