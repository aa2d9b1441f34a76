"""What travels over RabbitMQ between the gateway and the state bodies' systems.

Every message is an `Envelope`: a stable `message_id` that every consumer deduplicates
on, the plan id as `correlation_id`, a `type` and a `schema_version`, so a body's system
can refuse a version it does not know instead of guessing.

Personal data stays off the broker where it can (claim check): a task carries the
beneficiaries' IINs and names, which the body needs to act; the family's address and
the rest stay in the gateway's store.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, model_validator

from contracts.common import IIN, AgencyCode, LongText, Timestamp

SCHEMA_VERSION: Literal[1] = 1


class MessageType(StrEnum):
    task_assigned = "task.assigned"
    task_returned = "task.returned"
    task_cancelled = "task.cancelled"
    task_status = "task.status"
    report_conclusion = "report.conclusion"


class Beneficiary(BaseModel):
    model_config = ConfigDict(extra="forbid")

    iin: IIN
    last_name: str
    first_name: str
    middle_name: str | None = None


class TaskAssigned(BaseModel):
    model_config = ConfigDict(extra="forbid")

    task_id: str
    plan_id: str
    centre: str
    agency: AgencyCode
    title: str
    description: str = ""
    due_date: date | None = None
    beneficiaries: list[Beneficiary] = Field(default_factory=list)


class TaskReturned(BaseModel):
    """The centre sent a report back for rework (order 192 p.11)."""

    model_config = ConfigDict(extra="forbid")

    task_id: str
    plan_id: str
    agency: AgencyCode
    round: int = Field(description="Rework round: 1 for the first return.")
    reason: str


class TaskCancelled(BaseModel):
    model_config = ConfigDict(extra="forbid")

    task_id: str
    plan_id: str
    agency: AgencyCode
    reason: str


class ReportStatus(StrEnum):
    received = "received"
    in_progress = "in_progress"
    done = "done"
    rejected = "rejected"


class StatusReport(BaseModel):
    """A body's report on its task: receipt, progress, completion or refusal."""

    model_config = ConfigDict(extra="forbid")

    task_id: str
    agency: AgencyCode
    status: ReportStatus
    comment: LongText | None = None
    reason: LongText | None = Field(default=None, description="Required when status is rejected.")
    reported_at: Timestamp

    @model_validator(mode="after")
    def _rejection_needs_reason(self) -> StatusReport:
        if self.status is ReportStatus.rejected and not (self.reason or "").strip():
            raise ValueError("reason is required when a task is rejected")
        return self


class StatusReportIn(BaseModel):
    """The REST form of a report, for bodies that do not use AMQP."""

    model_config = ConfigDict(extra="forbid")

    status: ReportStatus
    comment: LongText | None = None
    reason: LongText | None = None
    message_id: UUID | None = Field(
        default=None, description="Optional idempotency key: a repeated report with it is ignored."
    )

    @model_validator(mode="after")
    def _rejection_needs_reason(self) -> StatusReportIn:
        if self.status is ReportStatus.rejected and not (self.reason or "").strip():
            raise ValueError("reason is required when a task is rejected")
        return self


class _EnvelopeBase(BaseModel):
    model_config = ConfigDict(extra="forbid")

    message_id: UUID
    correlation_id: str = Field(description="The plan's id.")
    schema_version: Literal[1] = SCHEMA_VERSION
    occurred_at: Timestamp
    sent_at: Timestamp | None = None


class TaskAssignedEnvelope(_EnvelopeBase):
    type: Literal[MessageType.task_assigned] = MessageType.task_assigned
    payload: TaskAssigned


class TaskReturnedEnvelope(_EnvelopeBase):
    type: Literal[MessageType.task_returned] = MessageType.task_returned
    payload: TaskReturned


class TaskCancelledEnvelope(_EnvelopeBase):
    type: Literal[MessageType.task_cancelled] = MessageType.task_cancelled
    payload: TaskCancelled


class StatusEnvelope(_EnvelopeBase):
    type: Literal[MessageType.task_status] = MessageType.task_status
    payload: StatusReport


class ConclusionReport(BaseModel):
    """The quarterly conclusion of a centre (order 192 p.14), for the authorised body.

    Figures and findings only: no family's IIN or name (families appear by the plan's
    number), so the message may go by e-mail."""

    model_config = ConfigDict(extra="forbid")

    dispatch_id: str = Field(description="The gateway's record of this sending.")
    centre: str
    quarter: str = Field(pattern=r"^[0-9]{4}Q[1-4]$")
    subject: str
    text: str = Field(description="The report with its conclusion, as plain text (Russian).")
    recipients: list[str] = Field(description="E-mail addresses of the authorised body.")


class ConclusionEnvelope(_EnvelopeBase):
    type: Literal[MessageType.report_conclusion] = MessageType.report_conclusion
    payload: ConclusionReport


AgencyInbound = Annotated[
    TaskAssignedEnvelope | TaskReturnedEnvelope | TaskCancelledEnvelope,
    Field(discriminator="type"),
]
"""Anything the gateway sends to a body's queue."""
