"""The portal's wire shapes, as the mock accepts and answers them.

Field names follow the «Электронное обращение» form (order No. 109, appendix) in
English; the adapter in ``adapters/egov`` keeps its own copies rather than importing
these, so a change to the mock cannot silently change what the gateway sends.
"""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from contracts.iin import check_iin

_PHONE = re.compile(r"\+7[0-9]{10}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def _phone(value: str) -> str:
    digits = re.sub(r"[\s()\-]", "", value)
    if digits.startswith("8") and len(digits) == 11:
        digits = "+7" + digits[1:]
    if _PHONE.fullmatch(digits) is None:
        raise ValueError("must be a Kazakhstan mobile number, +7 and 10 digits")
    return digits


def _email(value: str) -> str:
    if _EMAIL.fullmatch(value) is None:
        raise ValueError("must be an e-mail address")
    return value


Iin = Annotated[str, AfterValidator(check_iin)]
Phone = Annotated[str, AfterValidator(_phone)]
Email = Annotated[str, AfterValidator(_email)]
Text = Annotated[str, Field(min_length=1, max_length=4000)]
Name = Annotated[str, Field(min_length=1, max_length=100)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Attachment(_Strict):
    name: Annotated[str, Field(min_length=1, max_length=255)]
    pages: Annotated[int, Field(ge=1, le=1000)]
    note: Annotated[str, Field(max_length=500)] | None = None


class AppealIn(_Strict):
    iin: Iin
    surname: Name
    name: Name
    patronymic: Name | None = None
    email: Email
    postal_address: Annotated[str, Field(min_length=1, max_length=500)]
    phone: Phone
    service_name: Annotated[str, Field(min_length=1, max_length=500)]
    region: Annotated[str, Field(min_length=1, max_length=100)]
    recipient: Annotated[str, Field(min_length=1, max_length=500)]
    content: Text
    attachments: list[Attachment] = Field(default_factory=list, max_length=50)
    signature: Annotated[str, Field(min_length=1, max_length=20000)]
    """The citizen's ЭЦП over the form; the mock checks it is present, not its maths."""


class AppealStatus(StrEnum):
    RECEIVED = "received"
    FORWARDED = "forwarded"
    IN_REVIEW = "in_review"
    ANSWERED = "answered"
    REFUSED = "refused"


NEXT_STATUSES: dict[AppealStatus, frozenset[AppealStatus]] = {
    # A recipient refuses a form it cannot act on before forwarding it (order 109 p.10).
    AppealStatus.RECEIVED: frozenset({AppealStatus.FORWARDED, AppealStatus.REFUSED}),
    AppealStatus.FORWARDED: frozenset({AppealStatus.IN_REVIEW}),
    AppealStatus.IN_REVIEW: frozenset({AppealStatus.ANSWERED, AppealStatus.REFUSED}),
    AppealStatus.ANSWERED: frozenset(),
    AppealStatus.REFUSED: frozenset(),
}


class StatusChange(_Strict):
    status: AppealStatus
    district_office: Annotated[str, Field(min_length=1, max_length=500)] | None = None
    """Where the regional office forwarded it (required with ``forwarded``)."""
    result: Annotated[str, Field(min_length=1, max_length=4000)] | None = None
    """The answer or the reason for refusal (required with ``answered``/``refused``)."""
    comment: Annotated[str, Field(max_length=1000)] | None = None


class StatusEvent(BaseModel):
    status: AppealStatus
    at: datetime
    comment: str | None = None


class Appeal(BaseModel):
    id: str
    number: str
    status: AppealStatus
    received_at: datetime
    forward_due: datetime
    """The end of the 2 working days the regional office has to forward it."""
    forwarded_at: datetime | None = None
    forwarded_on_time: bool | None = None
    district_office: str | None = None
    result: str | None = None
    history: list[StatusEvent]
    form: AppealIn


class AppealList(BaseModel):
    items: list[Appeal]
    total: int


class CabinetNotificationIn(_Strict):
    iin: Iin
    title: Annotated[str, Field(min_length=1, max_length=200)]
    text: Text
    appeal_id: str | None = None
    document_url: Annotated[str, Field(max_length=1000)] | None = None
    """Where the signed result document is (the portal shows it as a download)."""


class CabinetNotification(BaseModel):
    id: str
    delivered_at: datetime
    notification: CabinetNotificationIn


class SmsIn(_Strict):
    phone: Phone
    text: Annotated[str, Field(min_length=1, max_length=1000)]
    appeal_id: str | None = None


class Sms(BaseModel):
    id: str
    accepted_at: datetime
    encoding: str
    units: int
    segments: int
    sms: SmsIn
