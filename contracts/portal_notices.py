"""What the gateway owes the e-government portal, as messages through the outbox.

Order No. 109 p.10: the result of a public service, or the refusal, goes to the
applicant by SMS and to the personal cabinet on the portal; the portal also shows the
application's status as the receiving body moves it. Each of these is a message the
gateway writes to its outbox in the same transaction as the decision that caused it,
the relay publishes to the broker, and the portal notifier delivers to the portal with
the message id as the Idempotency-Key: a relay that crashes between publishing and
marking re-sends the message, and the portal answers the second copy with the first
answer instead of notifying twice.

Personal data on the broker: the applicant's IIN (the cabinet is keyed by it) and phone
(the SMS needs it), nothing else; the application itself stays in the store.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from contracts.amqp import PORTAL_ROUTING_KEY
from contracts.common import IIN, Timestamp

__all__ = ["PORTAL_ROUTING_KEY", "PortalNotice", "PortalNoticeType"]


class PortalNoticeType(StrEnum):
    status = "portal.status"
    cabinet = "portal.cabinet"
    sms = "portal.sms"


class PortalStatus(BaseModel):
    """Move the application on the portal (`received → forwarded → in_review →
    answered | refused`; `refused` also straight from `received` for a form refused at
    intake)."""

    model_config = ConfigDict(extra="forbid")

    appeal_id: str
    status: Literal["forwarded", "in_review", "answered", "refused"]
    district_office: str | None = None
    result: str | None = Field(default=None, max_length=4000)
    comment: str | None = Field(default=None, max_length=1000)


class CabinetNotice(BaseModel):
    model_config = ConfigDict(extra="forbid")

    iin: IIN
    title: str = Field(max_length=200)
    text: str = Field(max_length=4000)
    appeal_id: str | None = None
    document_url: str | None = Field(default=None, max_length=1000)


class SmsNotice(BaseModel):
    model_config = ConfigDict(extra="forbid")

    phone: str
    text: str = Field(max_length=1000)
    appeal_id: str | None = None


class _Notice(BaseModel):
    model_config = ConfigDict(extra="forbid")

    message_id: UUID
    correlation_id: str = Field(description="The case id.")
    schema_version: Literal[1] = 1
    occurred_at: Timestamp


class PortalStatusEnvelope(_Notice):
    type: Literal[PortalNoticeType.status] = PortalNoticeType.status
    payload: PortalStatus


class CabinetNoticeEnvelope(_Notice):
    type: Literal[PortalNoticeType.cabinet] = PortalNoticeType.cabinet
    payload: CabinetNotice


class SmsNoticeEnvelope(_Notice):
    type: Literal[PortalNoticeType.sms] = PortalNoticeType.sms
    payload: SmsNotice


PortalNotice = PortalStatusEnvelope | CabinetNoticeEnvelope | SmsNoticeEnvelope
