"""The mock bodies' own `/metrics` (Prometheus' text format), read from their journals.

Read at each scrape from the journal files, so the figures survive a restart of the mock
and agree with `/__admin/requests` by construction.
"""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Sequence
from pathlib import Path

from prometheus_client import CollectorRegistry, Gauge, generate_latest

from mocks.agencies.journal import journal

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def exposition(state_dir: Path, codes: Sequence[str]) -> bytes:
    registry = CollectorRegistry()
    received = Gauge(
        "mock_body_messages_received",
        "Messages each body's system received, by type and effect (journal).",
        ["agency", "type", "effect"],
        registry=registry,
    )
    duplicates = Gauge(
        "mock_body_duplicates",
        "Copies each body recognised as already received and did not act on again.",
        ["agency"],
        registry=registry,
    )
    for code in codes:
        entries = journal(state_dir, code)
        for (type_, effect), n in Tally((e.type, e.effect.value) for e in entries).items():
            received.labels(code, type_, effect).set(n)
        duplicates.labels(code).set(sum(1 for e in entries if e.duplicate))
    return generate_latest(registry)
