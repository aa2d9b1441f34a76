"""Parameters several routes share, with the bounds that keep a bad value a 422.

An unbounded integer reaches the database as it is: `offset=9223372036854775808` does
not fit SQLite's 64-bit integer and was a 500. Every paging parameter is bounded here,
so the refusal names the parameter and the document shows the range.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path, Query

from contracts.common import IIN, IIN_PATTERN

MAX_OFFSET = 1_000_000
"""Far beyond any list a centre or body pages through (a district sees thousands of
plans a year), and far below the 64-bit limit of SQLite and PostgreSQL."""


def page_limit(default: int, maximum: int) -> Any:
    return Query(default, ge=1, le=maximum, description=f"Page size, 1 to {maximum}.")


def page_offset() -> Any:
    return Query(0, ge=0, le=MAX_OFFSET, description=f"Items to skip, 0 to {MAX_OFFSET}.")


IINPath = Annotated[
    IIN,
    Path(
        description="The person's IIN: 12 digits with a valid control digit.",
        json_schema_extra={"pattern": IIN_PATTERN, "minLength": 12, "maxLength": 12},
    ),
]
