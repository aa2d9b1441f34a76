"""The migration portal (migration.enbek.kz): what the gateway sends it and reads back.

Order 170 p.7: the career centre of the region of departure registers the kandas's
application on the portal with the IINs of the kandas and the family members; every
later hand-over (p.8–29) is signed and moves on the portal. The gateway routes the
hand-overs itself (`contracts.cases`), so it registers the application once and then
mirrors each signed decision onto the portal, where the officials of both regions see it.

The real portal's API is not published; these shapes are our own design, shared by the
mock (`mocks/migration_portal`) and the client (`adapters/migration_portal`). Requests
forbid unknown fields, so a misspelt field is refused by name; answers ignore fields they
do not know, so the portal may add some without breaking the client.

What the portal refuses, naming the field (its rules, not the model's): a person not in
the state database of individuals or recorded as deceased (`members[1].iin`), the same
person twice (`members[2].iin`), an applicant without kandas status (`applicant_iin`),
settlement equal to departure (`settlement_region`), a career centre that is not the
departure region's (`career_centre`); a return or refusal without remarks (`remarks`), a
hand-over after the application was refused (409).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from contracts.cases import Decision, RegionCode, Relation, StepDecision
from contracts.common import IIN, AgencyCode, LongText, Text, Timestamp

__all__ = [
    "Application",
    "ApplicationIn",
    "ApplicationMember",
    "ApplicationMemberIn",
    "ApplicationRegistered",
    "ApplicationStatus",
    "HandoverEvent",
    "HandoverEventIn",
    "HandoverRecorded",
    "signature_digest",
]

ApplicationNumber = Annotated[
    str,
    StringConstraints(pattern=r"^MIG-[0-9]{4}-[0-9]{6}$"),
    Field(description="The portal's number of the application, e.g. `MIG-2026-000001`."),
]
StepName = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z][a-z0-9_]{1,39}$"),
    Field(description="The flow's step the hand-over decides, e.g. `lmc_review`."),
]
Sha256Hex = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Answer(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


def signature_digest(signature_value: str) -> str:
    """SHA-256 (hex) of a signature's bytes, from its base64 form (`Signature.value`).

    The portal keeps a digest, not the signature: enough to tie its record to the
    signed statement the gateway stores, without a second copy of the signature."""
    try:
        raw = base64.b64decode(signature_value, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("the signature value is not base64") from None
    return hashlib.sha256(raw).hexdigest()


# --- registering an application (p.7) ----------------------------------------------


class ApplicationMemberIn(_Request):
    iin: IIN
    relation: Relation


class ApplicationIn(_Request):
    """The career centre registers the application (p.7): the people by IIN, the regions."""

    applicant_iin: IIN = Field(description="The kandas's IIN; the person must hold kandas status.")
    members: list[ApplicationMemberIn] = Field(
        default_factory=list, max_length=30, description="Family members moving with them."
    )
    departure_region: RegionCode
    settlement_region: RegionCode
    career_centre: AgencyCode = Field(
        description="The departure region's career centre that registers it, `cc_<region>`."
    )
    external_id: Text | None = Field(
        default=None, description="The caller's reference (the gateway's case id)."
    )


class ApplicationRegistered(_Answer):
    """201: the portal's number, which every later hand-over names."""

    number: ApplicationNumber
    registered_at: Timestamp


# --- mirroring a signed hand-over (p.8–29) -----------------------------------------


class HandoverEventIn(_Request):
    """A signed hand-over, as the portal records it: who decided what, when, signed how."""

    step: StepName
    round: int = Field(default=0, ge=0, description="How many times the case came back here.")
    body: AgencyCode = Field(description="The body that owns the step and decided.")
    decision: Decision
    remarks: LongText | None = Field(default=None, description="Required to return or refuse.")
    signed_at: Timestamp
    signer_iin: IIN = Field(description="The official's IIN, from the certificate's subject.")
    signature_digest: Sha256Hex = Field(description="`signature_digest(signature.value)`.")

    @classmethod
    def of(cls, decision: StepDecision, *, signer_iin: str) -> HandoverEventIn:
        """The portal's record of a verified decision (the signer's IIN is read from the
        certificate, which this contract does not parse)."""
        return cls(
            step=decision.step,
            round=decision.round,
            body=decision.body,
            decision=decision.decision,
            remarks=decision.remarks,
            signed_at=decision.signed_at,
            signer_iin=signer_iin,
            signature_digest=signature_digest(decision.signature.value),
        )


class HandoverRecorded(_Answer):
    """202: recorded (or recognised as already recorded: same signature, same answer)."""

    number: ApplicationNumber
    sequence: int = Field(description="The event's place in the application's history, from 1.")
    received_at: Timestamp


class ApplicationStatus(StrEnum):
    registered = "registered"  # no hand-over yet
    in_progress = "in_progress"
    refused = "refused"  # a hand-over refused it; nothing follows


class ApplicationMember(_Answer):
    iin: str
    relation: Relation
    full_name: str = Field(description="As the state database of individuals has it.")


class HandoverEvent(_Answer):
    sequence: int
    received_at: Timestamp
    step: str
    round: int
    body: str
    decision: Decision
    remarks: str | None = None
    signed_at: Timestamp
    signer_iin: str
    signature_digest: str


class Application(_Answer):
    number: ApplicationNumber
    registered_at: Timestamp
    status: ApplicationStatus
    applicant_iin: str
    applicant_name: str
    members: list[ApplicationMember]
    departure_region: str
    settlement_region: str
    career_centre: str
    external_id: str | None = None
    events: list[HandoverEvent] = Field(default_factory=list)

    @property
    def last_event(self) -> HandoverEvent | None:
        return self.events[-1] if self.events else None
