"""The plan (ИПР) as a centre's system submits it and as the gateway shows it back."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from contracts.common import IIN, AgencyCode, CentreCode, LongText, Text, Timestamp

MAX_ACTIVITIES = 100
MAX_MEMBERS = 30


class MemberRole(StrEnum):
    applicant = "applicant"
    spouse = "spouse"
    child = "child"
    guardian = "guardian"
    other = "other"


class Member(BaseModel):
    model_config = ConfigDict(extra="forbid")

    iin: IIN
    last_name: Text
    first_name: Text
    middle_name: Annotated[str, Field(max_length=200)] | None = None
    role: MemberRole = MemberRole.other


class Family(BaseModel):
    model_config = ConfigDict(extra="forbid")

    members: Annotated[list[Member], Field(min_length=1, max_length=MAX_MEMBERS)]
    address: LongText | None = None

    @model_validator(mode="after")
    def _members_are_distinct(self) -> Family:
        seen: set[str] = set()
        for member in self.members:
            if member.iin in seen:
                raise ValueError("the same IIN appears twice among the family's members")
            seen.add(member.iin)
        return self


class ActivityIn(BaseModel):
    """One activity of the plan; it becomes one task for the body that owns it."""

    model_config = ConfigDict(extra="forbid")

    agency: AgencyCode
    title: Text
    description: LongText = ""
    due_date: date | None = Field(
        default=None, description="The body's own term for the activity (the term in the ИПР)."
    )
    beneficiary_iins: list[IIN] = Field(
        default_factory=list,
        description="Members the activity is for; empty means the whole family.",
    )


class PlanSubmission(BaseModel):
    """An approved individual work plan (ИПР), as the centre's system sends it."""

    model_config = ConfigDict(extra="forbid")

    centre: CentreCode
    external_id: Annotated[str, Field(max_length=100)] | None = Field(
        default=None, description="The plan's number in the centre's own system."
    )
    approved_at: Timestamp = Field(description="When the centre approved the plan (order 192 p.8).")
    family: Family
    grounds: list[Text] = Field(
        default_factory=list, description="Grounds of the difficult life situation."
    )
    activities: Annotated[list[ActivityIn], Field(min_length=1, max_length=MAX_ACTIVITIES)]

    @model_validator(mode="after")
    def _beneficiaries_are_members(self) -> PlanSubmission:
        members = {m.iin for m in self.family.members}
        for index, activity in enumerate(self.activities):
            for iin in activity.beneficiary_iins:
                if iin not in members:
                    raise ValueError(
                        f"activities[{index}].beneficiary_iins names an IIN "
                        "that is not a family member"
                    )
        return self


class PlanStatus(StrEnum):
    active = "active"
    completed = "completed"
    cancelled = "cancelled"


class TaskState(StrEnum):
    created = "created"
    dispatched = "dispatched"
    delivered = "delivered"
    in_progress = "in_progress"
    reported = "reported"
    accepted = "accepted"
    returned = "returned"
    rejected_by_agency = "rejected_by_agency"
    failed = "failed"
    cancelled = "cancelled"
    rerouted = "rerouted"  # refused or failed; the centre sent the activity to another body
    closed = "closed"  # refused or failed; the centre closed the activity with a reason


class DeadlineKind(StrEnum):
    routing = "routing"
    review = "review"
    completion = "completion"
    due_date = "due_date"
    step = "step"  # a chain step's term: the owner's time to decide (order 170 p.8–29)
    upload = "upload"  # order 170 p.34: the adaptation plan in the Kandas system, 1 wd
    monthly_report = "monthly_report"  # order 170 p.39: appendix 3 by the 5th
    evaluation = "evaluation"  # order 170 p.47: quality scores by the 5th
    conclusion = "conclusion"  # order 170 p.50: conclusion by the 25th


class DeadlineState(StrEnum):
    on_time = "on_time"
    at_risk = "at_risk"
    breached = "breached"


class DeadlineView(BaseModel):
    kind: DeadlineKind
    round: int
    starts_at: datetime
    warn_at: datetime
    due_at: datetime
    met_at: datetime | None
    state: DeadlineState


class EventView(BaseModel):
    at: datetime
    actor: str
    type: str
    task_id: str | None
    from_state: str | None
    to_state: str | None
    reason: str | None
    data: dict[str, object] = Field(default_factory=dict)


class TaskView(BaseModel):
    id: str
    seq: int
    agency: str
    title: str
    description: str
    due_date: date | None
    beneficiary_iins: list[str]
    state: TaskState
    round: int
    delivered_at: datetime | None
    reported_at: datetime | None
    accepted_at: datetime | None
    last_comment: str | None
    last_reason: str | None
    deadlines: list[DeadlineView]


class PlanView(BaseModel):
    id: str
    centre: str
    external_id: str | None
    status: PlanStatus
    approved_at: datetime
    created_at: datetime
    completed_at: datetime | None
    cancelled_at: datetime | None
    cancel_reason: str | None
    family: Family
    grounds: list[str]
    tasks: list[TaskView]
    deadlines: list[DeadlineView]
    timeline: list[EventView]


class PlanSummary(BaseModel):
    id: str
    centre: str
    external_id: str | None
    status: PlanStatus
    approved_at: datetime
    created_at: datetime
    completed_at: datetime | None
    task_states: dict[str, int]
    overdue: bool


class PlanPage(BaseModel):
    items: list[PlanSummary]
    total: int
    limit: int
    offset: int


class ReviewDecision(StrEnum):
    accept = "accept"
    return_for_rework = "return"


class ReviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: ReviewDecision
    reason: LongText | None = None

    @model_validator(mode="after")
    def _return_needs_reason(self) -> ReviewIn:
        if self.decision is ReviewDecision.return_for_rework and not (self.reason or "").strip():
            raise ValueError("reason is required when returning a task for rework")
        return self


class CancelIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Text


class RerouteIn(BaseModel):
    """Send a refused (or undeliverable) activity to the competent body (order 192 p.9, p.11)."""

    model_config = ConfigDict(extra="forbid")

    agency: AgencyCode = Field(description="The competent body; another than the one that refused.")
    reason: Text = Field(description="Why this body: shown on the timeline and to the body.")
    due_date: date | None = Field(
        default=None, description="A new term for the activity; by default the activity's own."
    )


class CloseIn(BaseModel):
    """Close a refused (or undeliverable) activity so that the plan can complete."""

    model_config = ConfigDict(extra="forbid")

    reason: Text = Field(description="Why the activity is closed without being done.")
