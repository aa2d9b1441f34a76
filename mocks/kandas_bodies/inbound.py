"""Turning a delivery from a body's queue into an envelope, or into a loggable refusal.

A refusal carries only where and what kind of error was found, never the offending
values: a malformed step may still carry IINs and names.
"""

from __future__ import annotations

from pydantic import TypeAdapter, ValidationError

from contracts.cases import CaseInbound, StepAssignedEnvelope, StepWithdrawnEnvelope

_ADAPTER: TypeAdapter[StepAssignedEnvelope | StepWithdrawnEnvelope] = TypeAdapter(CaseInbound)


class Unreadable(ValueError):
    """The body cannot act on this message; retrying will not change that."""


def parse(body: bytes, code: str) -> StepAssignedEnvelope | StepWithdrawnEnvelope:
    try:
        envelope = _ADAPTER.validate_json(body)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or '<body>'}: {error['type']}"
            for error in exc.errors(include_input=False, include_url=False)[:5]
        )
        raise Unreadable(f"{exc.error_count()} problem(s): {problems}") from None
    if envelope.payload.body != code:
        raise Unreadable(f"addressed to '{envelope.payload.body}', not to '{code}'")
    return envelope
