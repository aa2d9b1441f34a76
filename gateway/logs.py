"""Logging that never writes a personal identifier in clear, as text or as JSON lines.

Every line passes through masking of anything shaped like an IIN (twelve digits standing
alone), after formatting, so a traceback or a value in an exception's text is masked too,
whatever the code that logged it meant to do.

Each line carries the ids of what is being handled: the trace id of the current
OpenTelemetry span, and the case (plan), task and message ids bound by the code handling a
request or a message (`bind`). The human format puts them at the end in brackets; the JSON
format (GATEWAY_LOG_FORMAT=json) gives each its own key, for a log shipper.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from opentelemetry import trace

from contracts.iin import mask_iin

_IIN_LIKE = re.compile(r"(?<!\d)\d{12}(?!\d)")
_BOUND: contextvars.ContextVar[dict[str, str]] = contextvars.ContextVar("gateway_log_ids")
_ID_KEYS = ("case_id", "task_id", "message_id")


def mask_text(text: str) -> str:
    return _IIN_LIKE.sub(lambda m: mask_iin(m.group(0)), text)


@contextlib.contextmanager
def bind(**ids: str | None) -> Iterator[None]:
    """Put these ids on every line logged inside the block (and in tasks it starts)."""
    merged = {**_BOUND.get({}), **{k: v for k, v in ids.items() if v}}
    token = _BOUND.set(merged)
    try:
        yield
    finally:
        _BOUND.reset(token)


def bind_now(**ids: str | None) -> None:
    """Like `bind`, for the rest of the current task (a request handler's context)."""
    _BOUND.set({**_BOUND.get({}), **{k: v for k, v in ids.items() if v}})


def current_ids() -> dict[str, str]:
    ids = dict(_BOUND.get({}))
    context = trace.get_current_span().get_span_context()
    if context.is_valid:
        ids["trace_id"] = format(context.trace_id, "032x")
        ids["span_id"] = format(context.span_id, "016x")
    return ids


class MaskPersonalData(logging.Filter):
    """Masks the message itself, for handlers that format it themselves."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_text(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        ids = current_ids()
        if ids:
            shown = " ".join(
                f"{key}={ids[key]}" for key in ("trace_id", *_ID_KEYS) if key in ids
            )
            line = f"{line} [{shown}]"
        return mask_text(line)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": mask_text(record.getMessage()),
            **current_ids(),
        }
        if record.exc_info:
            entry["exception"] = mask_text(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False)


def configure(level: str = "INFO", fmt: str = "text") -> None:
    """Set up the root logger; `fmt` is `text` (default) or `json`."""
    if fmt not in ("text", "json"):
        raise ValueError(f"log format must be text or json, not {fmt!r}")
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handler.addFilter(MaskPersonalData())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("aiormq").setLevel(logging.WARNING)
    logging.getLogger("aio_pika").setLevel(logging.WARNING)
