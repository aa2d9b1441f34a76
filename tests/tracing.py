"""An in-memory span exporter for the tests that follow a trace (issue 15).

OpenTelemetry allows one global tracer provider per process, so it is installed once, the
first time a test asks, and each test starts from an empty exporter. Tests that run later
in the same process record spans too; that costs little and changes no behaviour.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

_EXPORTER = InMemorySpanExporter()


def _install() -> None:
    provider = trace.get_tracer_provider()
    if isinstance(provider, TracerProvider):
        return
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(_EXPORTER))
    trace.set_tracer_provider(provider)


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    _install()
    _EXPORTER.clear()
    yield _EXPORTER
    _EXPORTER.clear()


def trace_ids(found: tuple[ReadableSpan, ...], name_part: str) -> set[int]:
    return {s.context.trace_id for s in found if s.context is not None and name_part in s.name}
