"""The labour market system (АИС «Рынок труда» / «Еңбек нарығы»): drafts and registration.

Order 170 p.18: when the career centre found no suitable job for the kandas in time, or
the kandas refused the job offered, the career centre sends the labour mobility centre,
within one working day and through this system, a draft decision on registering the
kandas as unemployed. The step `unemployment` of the kandas flow forwards with the
draft's id (`labour_market_draft`). A later e-government flow asks the same system
whether a person is registered as a job seeker or as unemployed (the "referral to
active employment measures" service requires the applicant to be registered unemployed).

The real system's API is not published; these shapes are our own design, shared by the
mock (`mocks/labour_market`) and the client (`adapters/labour_market`). Requests forbid
unknown fields; answers ignore fields they do not know.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from contracts.common import IIN, AgencyCode, Text, Timestamp

__all__ = [
    "DraftReason",
    "DraftStatus",
    "PersonRegistration",
    "RegistrationStatus",
    "UnemploymentDraft",
    "UnemploymentDraftIn",
]

DraftId = Annotated[
    str,
    StringConstraints(pattern=r"^UD-[0-9]{4}-[0-9]{6}$"),
    Field(description="The system's id of the draft decision, e.g. `UD-2026-000001`."),
]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Answer(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class DraftReason(StrEnum):
    """Why p.18 applies: the two outcomes of `lmc_settlement` that lead to it."""

    no_job = "no_job"  # no suitable job found within the period
    declined = "declined"  # the kandas refused the job offered


class DraftStatus(StrEnum):
    """Only the draft is modelled: the labour mobility centre's decision on it happens
    in the labour market system, outside the kandas flow."""

    draft = "draft"


class UnemploymentDraftIn(_Request):
    iin: IIN = Field(description="The person to register as unemployed (the kandas).")
    career_centre: AgencyCode = Field(
        description="The career centre that drafts it, `cc_<region>`."
    )
    reason: DraftReason
    external_id: Text | None = Field(
        default=None, description="The caller's reference (the gateway's case id)."
    )


class UnemploymentDraft(_Answer):
    draft_id: DraftId
    status: DraftStatus
    created_at: Timestamp
    iin: str
    career_centre: str
    reason: DraftReason
    external_id: str | None = None


class RegistrationStatus(StrEnum):
    not_registered = "not_registered"
    job_seeker = "job_seeker"  # registered as looking for work
    unemployed = "unemployed"  # recognised as unemployed (a job seeker first)


class PersonRegistration(_Answer):
    """Whether the person is registered with an employment office, and since when."""

    iin: str
    status: RegistrationStatus
    job_seeker_since: date | None = None
    unemployed_since: date | None = None
    career_centre: str | None = Field(
        default=None, description="The career centre where the person is registered."
    )
    as_of: Timestamp = Field(description="The system's time of the answer.")

    @property
    def registered_unemployed(self) -> bool:
        return self.status is RegistrationStatus.unemployed
