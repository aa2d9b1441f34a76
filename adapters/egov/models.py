"""What the gateway sends to and reads from the portal, as typed values.

Our own copies of the portal's shapes, not the mock's: outgoing models are strict
(an IIN is checked before it leaves, so a typo fails here with the field named, not as
a refusal an hour later), incoming ones ignore fields they do not know, so the portal
may add to its answers without breaking us.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from contracts.iin import check_iin

Iin = Annotated[str, AfterValidator(check_iin)]


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _In(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class AppealStatus(StrEnum):
    RECEIVED = "received"
    FORWARDED = "forwarded"
    IN_REVIEW = "in_review"
    ANSWERED = "answered"
    REFUSED = "refused"


class Attachment(_Out):
    name: str = Field(min_length=1)
    pages: int = Field(ge=1)
    note: str | None = None


class AppealForm(_Out):
    """The «Электронное обращение» form (order No. 109, appendix), field by field."""

    iin: Iin
    surname: str
    name: str
    patronymic: str | None = None
    email: str
    postal_address: str
    phone: str
    service_name: str
    region: str
    recipient: str
    content: str
    attachments: tuple[Attachment, ...] = ()
    signature: str


class AttachmentIn(_In):
    name: str | None = None
    pages: int | None = None
    note: str | None = None


class AppealFormIn(_In):
    """The form as the portal delivered it: every field optional, so that a form with a
    field missing or malformed still reaches the receiving body, which refuses it naming
    the field (order 109 p.10) instead of failing to read the whole inbox."""

    iin: str | None = None
    surname: str | None = None
    name: str | None = None
    patronymic: str | None = None
    email: str | None = None
    postal_address: str | None = None
    phone: str | None = None
    service_name: str | None = None
    region: str | None = None
    recipient: str | None = None
    content: str | None = None
    attachments: tuple[AttachmentIn, ...] = ()
    signature: str | None = None


class StatusEvent(_In):
    status: AppealStatus
    at: datetime
    comment: str | None = None


class Appeal(_In):
    id: str
    number: str
    status: AppealStatus
    received_at: datetime
    forward_due: datetime
    forwarded_at: datetime | None = None
    forwarded_on_time: bool | None = None
    district_office: str | None = None
    result: str | None = None
    history: tuple[StatusEvent, ...] = ()
    form: AppealFormIn


class AppealList(_In):
    items: tuple[Appeal, ...]
    total: int


class StatusChange(_Out):
    status: AppealStatus
    district_office: str | None = None
    result: str | None = None
    comment: str | None = None


class CabinetNotification(_Out):
    iin: Iin
    title: str
    text: str
    appeal_id: str | None = None
    document_url: str | None = None


class CabinetReceipt(_In):
    id: str
    delivered_at: datetime


class SmsMessage(_Out):
    phone: str
    text: str
    appeal_id: str | None = None


class SmsReceipt(_In):
    id: str
    accepted_at: datetime
    encoding: str
    segments: int
