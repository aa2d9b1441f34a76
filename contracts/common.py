"""Field types shared by every wire contract.

The IIN check lives in `contracts.iin` (pure code); here it becomes a pydantic type so
that every model that carries an IIN rejects a bad one with the field's name attached.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, Field, StringConstraints

from contracts.iin import check_iin

IIN_PATTERN = r"^[0-9]{12}$"
"""What a schema can say of an IIN; the control digit and the birth date it encodes are
checked by `check_iin`, whose reasons (not the pattern's) reach the caller."""

IIN = Annotated[
    str,
    StringConstraints(strip_whitespace=True),
    AfterValidator(check_iin),
    Field(
        description="Individual identification number (ИИН): 12 digits with a valid control digit.",
        json_schema_extra={"pattern": IIN_PATTERN, "minLength": 12, "maxLength": 12},
    ),
]

AgencyCode = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z][a-z0-9_]{1,39}$"),
    Field(description="Code of a state body from the agency registry, e.g. `health`."),
]

CentreCode = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z0-9][a-z0-9_.-]{1,63}$"),
    Field(description="Code of a family support centre (ЦПС), e.g. `almaty-bostandyk`."),
]

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
LongText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=4000)]

Timestamp = AwareDatetime
"""Every timestamp on the wire carries its offset: a naive one is ambiguous between
UTC and Asia/Almaty, and a deadline computed from the wrong one is a day off."""


def utc_now() -> datetime:
    from datetime import UTC

    return datetime.now(UTC)
