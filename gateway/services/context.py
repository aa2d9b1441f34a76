"""What the use cases need from outside the transaction, bundled once per process."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.agencies import Agencies
from gateway.broker.topology import Topology
from gateway.workdays import WorkingCalendar


@dataclass(frozen=True)
class Context:
    calendar: WorkingCalendar
    agencies: Agencies
    topology: Topology
