"""The signed statement of a hand-over (ЭЦП), as signer and verifier both see it.

Every hand-over of a case between officials is signed by the official who makes it
(order 170 p.8–13: "подписывает с помощью ЭЦП"). Whoever signs (a body's system, a mock
official, a staff member's browser) and whoever verifies (the gateway, and anyone who
checks the chain later) must hash the same bytes, so the statement and its canonical
encoding are a contract, not an implementation detail of one side.

Canonical encoding: the statement's JSON form with keys sorted at every level, no
insignificant whitespace, UTF-8 without escaping non-ASCII, timestamps in UTC with a
`Z`, and no floating-point numbers (data values are strings, integers, booleans or
null). A change to this encoding breaks every stored signature: a test pins it.

Certificates: the certification authority (НУЦ РК in production, a mock here) puts the
official's body code in the subject's organisation (O), their role in the title, their
region in the state or province name (ST) and their IIN in serialNumber as `IIN…`, as
НУЦ certificates carry the IIN.
"""

from __future__ import annotations

import json
from datetime import UTC
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from contracts.common import AgencyCode

#: Values a statement's `data` may carry: nothing whose encoding is ambiguous.
DataValue = str | int | bool | None


class SignatureAlgorithm(StrEnum):
    """Algorithms the gateway knows. ГОСТ 34.10-2015 is what НУЦ РК issues; it needs a
    provider this machine does not have, so only RSA-SHA256 is implemented, behind the
    same seam."""

    rsa_sha256 = "RSA-SHA256"
    gost_2015_512 = "GOST34.10-2015-512"


class Signature(BaseModel):
    """A detached signature over a statement's canonical bytes, with the signer's
    certificate (PEM), so the verifier needs nothing but the trusted roots."""

    model_config = ConfigDict(extra="forbid")

    algorithm: SignatureAlgorithm
    certificate: Annotated[str, StringConstraints(min_length=64, max_length=16000)] = Field(
        description="The signer's X.509 certificate, PEM."
    )
    value: Annotated[str, StringConstraints(min_length=16, max_length=4000)] = Field(
        description="The signature, base64."
    )


class HandoverStatement(BaseModel):
    """What an official signs: this case, this step, this round, this decision."""

    model_config = ConfigDict(extra="forbid")

    case_id: str
    flow: str
    step: str
    round: int = Field(ge=0)
    body: AgencyCode = Field(description="The body that owns the step and decides.")
    decision: str
    remarks: str | None = None
    data: dict[str, DataValue] = Field(default_factory=dict)
    signed_at: AwareDatetime


def canonical_bytes(statement: HandoverStatement) -> bytes:
    """The exact bytes a signature covers (see the module's docstring)."""
    form: dict[str, Any] = statement.model_dump(mode="python")
    form["signed_at"] = (
        statement.signed_at.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds") + "Z"
    )
    for key, value in form["data"].items():
        if isinstance(value, float):
            raise ValueError(f"data.{key}: floating-point values cannot be signed; use a string")
    return json.dumps(form, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


#: Subject attributes of an official's certificate (see the module's docstring).
SUBJECT_IIN_PREFIX = "IIN"


#: The «Электронное обращение» fields a citizen's ЭЦП covers (order 109, appendix).
FORM_FIELDS = (
    "iin", "surname", "name", "patronymic", "email", "postal_address", "phone",
    "service_name", "region", "recipient", "content", "attachments",
)  # fmt: skip


def canonical_form_bytes(form: dict[str, Any]) -> bytes:
    """The bytes a citizen's ЭЦП on an e-application covers (order 109 p.4): the form's
    fields (`FORM_FIELDS`) as the portal holds them, absent and null values left out at
    every level, encoded as the statement is (keys sorted, no insignificant whitespace,
    UTF-8 unescaped). Whoever signs and whoever verifies build it the same way."""

    def clean(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items() if v is not None}
        if isinstance(value, list | tuple):
            return [clean(v) for v in value]
        return value

    fields = {k: clean(form[k]) for k in FORM_FIELDS if form.get(k) is not None}
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
