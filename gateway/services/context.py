"""What the use cases need from outside the transaction, bundled once per process."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from contracts.amqp import Topology
from gateway.agencies import Agencies
from gateway.workdays import WorkingCalendar


@dataclass(frozen=True)
class Context:
    calendar: WorkingCalendar
    agencies: Agencies
    topology: Topology
    verify: Callable[..., Any] | None = None
    """Checks a hand-over's signature against the trusted roots (`gateway.signatures`);
    None where no certification authority is configured: every signed hand-over is then
    refused, never accepted unchecked."""
