"""Cases that move between bodies by signed hand-overs: the wire formats.

The ИПР of order 192 fans out into parallel tasks (`contracts.plans`, `contracts.messages`);
the kandas application of order 170 moves along a chain of steps, each owned by one body
of one region, each handed on, returned or refused by a signed decision. These models are
what travels for the chain: to a body's queue when a step becomes its turn
(`case.step_assigned`), back on the status exchange when it decides (`case.decision`), and
through the API for bodies that call it over HTTP.

Personal data stays off the broker where it can (claim check): a step carries the IINs
and names of the people the body must act on; addresses, registry facts and scans stay in
the gateway's store and are read through the API, with the purpose logged.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from contracts.common import IIN, AgencyCode, LongText, Text, Timestamp
from contracts.signing import DataValue, Signature

SCHEMA_VERSION: Literal[1] = 1


class CaseMessageType(StrEnum):
    step_assigned = "case.step_assigned"
    step_withdrawn = "case.step_withdrawn"
    decision = "case.decision"


class Decision(StrEnum):
    forward = "forward"  # sign and send on to the next step's body
    return_ = "return"  # return with remarks to an earlier step, for rework
    refuse = "refuse"  # end the case with a reason (e.g. the kandas declined)


RegionCode = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z][a-z0-9_]{1,39}$"),
    Field(description="Region code, e.g. `turkestan`, `north_kazakhstan`."),
]


class Relation(StrEnum):
    applicant = "applicant"
    spouse = "spouse"
    child = "child"
    parent = "parent"
    other = "other"


class Person(BaseModel):
    model_config = ConfigDict(extra="forbid")

    iin: IIN
    relation: Relation
    last_name: str | None = None
    first_name: str | None = None
    middle_name: str | None = None


class StepAssigned(BaseModel):
    """It is this body's turn on a case: act within the term (`due_at`)."""

    model_config = ConfigDict(extra="forbid")

    case_id: str
    flow: str
    step: str
    round: int = Field(description="How many times the case has come back to this step.")
    body: AgencyCode
    region: RegionCode
    title: str = Field(description="The step's name in Russian, as the body's staff read it.")
    role: str = Field(description="Who in the body signs this step: `specialist` or `head`.")
    due_at: Timestamp
    decisions: list[Decision] = Field(description="What this step allows.")
    requires: list[str] = Field(
        default_factory=list, description="Keys the decision's `data` must carry to forward."
    )
    people: list[Person] = Field(default_factory=list)
    remarks: str | None = Field(
        default=None, description="Why the case came back, when it was returned here."
    )


class StepWithdrawn(BaseModel):
    """The step is no longer this body's (the case was cancelled or moved on)."""

    model_config = ConfigDict(extra="forbid")

    case_id: str
    step: str
    round: int
    body: AgencyCode
    reason: str


class StepDecision(BaseModel):
    """A body's signed decision on its step: over AMQP (`case.decision`) or the API.

    The signature covers `contracts.signing.HandoverStatement` built from these fields
    and the case's flow; the gateway rebuilds that statement and verifies it.
    """

    model_config = ConfigDict(extra="forbid")

    case_id: str
    step: str
    round: int = Field(ge=0)
    body: AgencyCode
    decision: Decision
    remarks: LongText | None = Field(default=None, description="Required to return or refuse.")
    data: dict[str, DataValue] = Field(default_factory=dict)
    signed_at: Timestamp
    signature: Signature

    @model_validator(mode="after")
    def _return_needs_remarks(self) -> StepDecision:
        if self.decision is not Decision.forward and not (self.remarks or "").strip():
            raise ValueError(f"remarks are required to {self.decision.value}")
        return self


class _EnvelopeBase(BaseModel):
    model_config = ConfigDict(extra="forbid")

    message_id: UUID
    correlation_id: str = Field(description="The case's id.")
    schema_version: Literal[1] = SCHEMA_VERSION
    occurred_at: Timestamp
    sent_at: Timestamp | None = None


class StepAssignedEnvelope(_EnvelopeBase):
    type: Literal[CaseMessageType.step_assigned] = CaseMessageType.step_assigned
    payload: StepAssigned


class StepWithdrawnEnvelope(_EnvelopeBase):
    type: Literal[CaseMessageType.step_withdrawn] = CaseMessageType.step_withdrawn
    payload: StepWithdrawn


class StepDecisionEnvelope(_EnvelopeBase):
    type: Literal[CaseMessageType.decision] = CaseMessageType.decision
    payload: StepDecision


CaseInbound = Annotated[
    StepAssignedEnvelope | StepWithdrawnEnvelope, Field(discriminator="type")
]
"""Anything the gateway sends to a chain body's queue."""


# --- The kandas application (order 170, appendix 2) through the API -----------------


class Scan(BaseModel):
    """A scanned document the applicant gave, where no registry holds the fact."""

    model_config = ConfigDict(extra="forbid")

    fact: Text = Field(description="The fact it proves, e.g. `marriage` or `birth:<IIN>`.")
    file_name: Text
    sha256: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]


class Consent(BaseModel):
    """Consent to the collection and processing of personal data (p.12.3)."""

    model_config = ConfigDict(extra="forbid")

    given: bool
    signed_on: date
    document: Text = Field(description="Where the signed consent is kept, e.g. its number.")


class KandasApplicationIn(BaseModel):
    """A career centre of the region of departure opens an application (p.6–7)."""

    model_config = ConfigDict(extra="forbid")

    external_id: Text | None = Field(default=None, description="The career centre's own number.")
    departure_region: RegionCode
    settlement_region: RegionCode
    applicant_iin: IIN = Field(description="The kandas's IIN.")
    members: list[Person] = Field(
        default_factory=list, max_length=30, description="Family members moving with them."
    )
    phone: Annotated[str, StringConstraints(pattern=r"^\+?[0-9]{10,15}$")] | None = None
    email: Annotated[str, StringConstraints(max_length=200)] | None = None
    education: Text | None = None
    profession: Text | None = None
    consent: Consent | None = None
    scans: list[Scan] = Field(default_factory=list, max_length=50)

    @model_validator(mode="after")
    def _distinct_people(self) -> KandasApplicationIn:
        seen = {self.applicant_iin}
        for index, member in enumerate(self.members):
            if member.iin in seen:
                raise ValueError(f"members[{index}].iin: the same person is given twice")
            seen.add(member.iin)
        if self.departure_region == self.settlement_region:
            raise ValueError("settlement_region must differ from departure_region")
        return self
