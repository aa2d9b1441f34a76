"""What the use cases need from outside the transaction, bundled once per process."""

from __future__ import annotations

from dataclasses import dataclass

from contracts.amqp import Topology
from gateway.agencies import Agencies
from gateway.signatures import TrustAnchors
from gateway.workdays import WorkingCalendar


@dataclass(frozen=True)
class Context:
    calendar: WorkingCalendar
    agencies: Agencies
    topology: Topology
    trust: TrustAnchors | None = None
    """The certification authorities whose officials' signatures on hand-overs count
    (`GATEWAY_CA_ROOT`); None: every signed hand-over is refused, never accepted unchecked."""
    broker_identities_required: bool = False
    """`GATEWAY_BROKER_IDENTITIES=required`: a status message without a body's validated
    AMQP `user_id` is refused (gateway/broker/identity.py)."""
