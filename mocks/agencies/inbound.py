"""Turning a delivery from the body's queue into an envelope, or into a loggable refusal.

A refusal carries only where and what kind of error was found, never the offending
values: a malformed task may still contain IINs and names.
"""

from __future__ import annotations

from pydantic import TypeAdapter, ValidationError

from contracts.messages import AgencyInbound

_ADAPTER: TypeAdapter[AgencyInbound] = TypeAdapter(AgencyInbound)


class Unreadable(ValueError):
    """The body cannot act on this message; retrying will not change that."""


def parse(body: bytes, agency: str) -> AgencyInbound:
    try:
        envelope = _ADAPTER.validate_json(body)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or '<body>'}: {error['type']}"
            for error in exc.errors(include_input=False, include_url=False)[:5]
        )
        raise Unreadable(f"{exc.error_count()} problem(s): {problems}") from None
    if envelope.payload.agency != agency:
        raise Unreadable(f"addressed to '{envelope.payload.agency}', not to '{agency}'")
    return envelope
