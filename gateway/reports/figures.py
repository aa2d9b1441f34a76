"""The quarterly report's figures as plain values, shared by the computation and the rules.

Kept apart from `quarterly` (which computes them from the store) and `conclusion` (which
judges them), so both depend on this module and neither on the other's internals.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.reports.family_card import StatusChange

__all__ = ["AgencyFigures", "FamilyStatus"]


@dataclass(frozen=True)
class AgencyFigures:
    agency: str
    name: str
    received: int = 0
    delivered: int = 0
    delivered_on_time: int = 0
    reported: int = 0
    accepted: int = 0
    accepted_first_time: int = 0
    returned: int = 0
    rejected: int = 0
    failed: int = 0
    cancelled: int = 0
    breached_routing: int = 0
    breached_review: int = 0
    breached_due_date: int = 0
    tasks_with_breach: int = 0
    tasks_with_centre_breach: int = 0
    """Tasks with a breach of the centre's own terms: routing (p.9) or review (p.11)."""
    median_days_to_accept: float | None = None
    accept_samples: int = 0

    @property
    def delivered_late(self) -> int:
        return self.delivered - self.delivered_on_time

    @property
    def breached_by_centre(self) -> int:
        """Routing (p.9: sending is the centre's duty) and review (p.11) breaches."""
        return self.breached_routing + self.breached_review

    @property
    def breached_by_body(self) -> int:
        """The body's own term for the activity, set in the plan (p.10)."""
        return self.breached_due_date

    @property
    def breached_total(self) -> int:
        return self.breached_routing + self.breached_review + self.breached_due_date


@dataclass(frozen=True)
class FamilyStatus:
    plan_id: str
    external_id: str | None
    changes: tuple[StatusChange, ...]
