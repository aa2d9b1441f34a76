"""A body's system continues the gateway's trace (W3C traceparent in AMQP headers).

It remembers, per task, the trace of the last message it received about the task and sends
it with each status report, so one trace shows the submit, the publish, the body and the
collector. Kept in memory only: after a restart of the mock, reports go out without it.
No spans are recorded unless an OpenTelemetry SDK is installed in the process.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from opentelemetry import propagate, trace

tracer = trace.get_tracer("mocks.agencies")
_LIMIT = 10_000
_by_task: OrderedDict[str, dict[str, str]] = OrderedDict()


def _plain(headers: Mapping[str, Any] | None) -> dict[str, str]:
    return {
        str(k): v.decode() if isinstance(v, bytes) else str(v)
        for k, v in (headers or {}).items()
        if k in ("traceparent", "tracestate")
    }


def received(task_id: str, headers: Mapping[str, Any] | None) -> None:
    plain = _plain(headers)
    if not plain:
        return
    _by_task[task_id] = plain
    _by_task.move_to_end(task_id)
    while len(_by_task) > _LIMIT:
        _by_task.popitem(last=False)


def span_for(headers: Mapping[str, Any] | None, name: str) -> Any:
    return tracer.start_as_current_span(
        name, context=propagate.extract(_plain(headers)), kind=trace.SpanKind.CONSUMER
    )


def headers_for(task_id: str) -> dict[str, str]:
    """The headers a report about `task_id` carries: a child of the body's span."""
    remembered = _by_task.get(task_id)
    if not remembered:
        return {}
    with tracer.start_as_current_span(
        "report status", context=propagate.extract(remembered), kind=trace.SpanKind.PRODUCER
    ):
        out: dict[str, str] = {}
        propagate.inject(out)
        return out or dict(remembered)
