"""Fault rules: which calls a mock should spoil, how, and how often.

A rule names a service key (``*`` for all), a kind of fault and its parameters, and
when it fires: with a probability (seeded, so a test replays the same sequence), on
every Nth call, for the next K calls only, and/or only while a scenario is in a given
state (moving it on when it fires). The rules are plain data; ``MockAdmin`` evaluates
them in the order they were added and applies the first that fires.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from mocks.admin.journal import JournalRecord
from mocks.admin.scenarios import Scenarios

ANY_SERVICE = "*"


class FaultKind(StrEnum):
    DELAY = "delay"
    """Answer normally, ``delay_ms`` later."""
    SOAP_FAULT = "soap_fault"
    """A SOAP fault with ``code`` and ``message``, rendered by the mock as its own faults."""
    HTTP_ERROR = "http_error"
    """HTTP ``status`` with ``body``, without reaching the mock's logic."""
    CONNECTION_RESET = "connection_reset"
    """Close the connection without any answer."""
    MALFORMED = "malformed"
    """HTTP 200 with a body that is neither XML nor JSON."""
    TRUNCATED = "truncated"
    """The mock's real answer cut in half (the headers agree with the shorter body)."""
    REPLAY_REPLY = "replay_reply"
    """The answer the mock gave to an earlier call of the same service, byte for byte
    (signed and dated then), instead of answering this one: a replay, as an attacker or
    a confused proxy would send it. With no earlier answer to replay, the call is
    answered normally."""


class FaultSpec(BaseModel):
    """What a client posts to ``/__admin/faults``; unknown fields are refused by name."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    service: str = Field(default=ANY_SERVICE, min_length=1, max_length=200)
    kind: FaultKind
    # Any kind may carry a delay, so "slow, then 503" is one rule.
    delay_ms: int = Field(default=0, ge=0, le=600_000, validate_default=True)
    code: str | None = Field(default=None, max_length=100, validate_default=True)
    message: str = Field(default="fault injected by the mock's admin API", max_length=2000)
    status: int | None = Field(default=None, ge=400, le=599, validate_default=True)
    body: str | None = Field(default=None, max_length=1 << 20)
    content_type: str | None = Field(default=None, max_length=200)
    probability: float | None = Field(default=None, ge=0.0, le=1.0)
    seed: int | None = None
    every_nth: int | None = Field(default=None, ge=1)
    times: int | None = Field(default=None, ge=1)
    scenario: str | None = Field(default=None, min_length=1, max_length=200)
    required_state: str | None = Field(default=None, min_length=1, validate_default=True)
    new_state: str | None = Field(default=None, min_length=1, validate_default=True)

    @field_validator("delay_ms")
    @classmethod
    def _delay_needs_ms(cls, value: int, info: ValidationInfo) -> int:
        if info.data.get("kind") is FaultKind.DELAY and value <= 0:
            raise ValueError("a delay rule needs delay_ms > 0")
        return value

    @field_validator("code")
    @classmethod
    def _soap_fault_needs_code(cls, value: str | None, info: ValidationInfo) -> str | None:
        if info.data.get("kind") is FaultKind.SOAP_FAULT and not value:
            raise ValueError("a soap_fault rule needs the error code to answer with")
        return value

    @field_validator("status")
    @classmethod
    def _http_error_needs_status(cls, value: int | None, info: ValidationInfo) -> int | None:
        if info.data.get("kind") is FaultKind.HTTP_ERROR and value is None:
            raise ValueError("an http_error rule needs the HTTP status (400-599)")
        return value

    @field_validator("required_state", "new_state")
    @classmethod
    def _states_need_a_scenario(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None and not info.data.get("scenario"):
            raise ValueError("a state only means something with a scenario name")
        return value


@dataclass(frozen=True, slots=True)
class AppliedFault:
    """The decision for one call: what the mock must do instead of (or before) answering."""

    rule_id: int
    kind: FaultKind
    delay_ms: int = 0
    code: str | None = None
    message: str = ""
    status: int | None = None
    body: str | None = None
    content_type: str | None = None

    @property
    def label(self) -> str:
        """How the journal names it: kind and rule, e.g. ``http_error#3``."""
        return f"{self.kind}#{self.rule_id}"

    @property
    def delay_seconds(self) -> float:
        return self.delay_ms / 1000


class FaultRule:
    """A spec plus its counters. Not locked: ``MockAdmin`` holds its lock around it."""

    def __init__(self, rule_id: int, spec: FaultSpec, rng: random.Random) -> None:
        self.id = rule_id
        self.spec = spec
        self._rng = rng
        self.seen = 0
        """Calls that matched service and state (what ``every_nth`` counts)."""
        self.fired = 0
        self.remaining = spec.times

    @property
    def active(self) -> bool:
        return self.remaining is None or self.remaining > 0

    def matches(self, service: str | None, scenarios: Scenarios) -> bool:
        s = self.spec
        if not self.active:
            return False
        if s.service != ANY_SERVICE and s.service != service:
            return False
        if s.scenario and s.required_state is not None:
            return scenarios.holds(s.scenario, s.required_state)
        return True

    def count(self) -> None:
        self.seen += 1

    def fires(self, scenarios: Scenarios) -> bool:
        """Whether this (already counted) call triggers the rule; spends it if so."""
        s = self.spec
        if s.every_nth is not None and self.seen % s.every_nth != 0:
            return False
        if s.probability is not None and self._rng.random() >= s.probability:
            return False
        if s.scenario and not scenarios.move_if(s.scenario, s.required_state, s.new_state):
            return False
        self.fired += 1
        if self.remaining is not None:
            self.remaining -= 1
        return True

    def applied(self) -> AppliedFault:
        s = self.spec
        return AppliedFault(
            rule_id=self.id,
            kind=s.kind,
            delay_ms=s.delay_ms,
            code=s.code,
            message=s.message,
            status=s.status,
            body=s.body,
            content_type=s.content_type,
        )

    def as_json(self) -> dict[str, Any]:
        data = self.spec.model_dump(mode="json", exclude_none=True)
        data.update(
            id=self.id,
            seen=self.seen,
            fired=self.fired,
            active=self.active,
        )
        if self.remaining is not None:
            data["remaining"] = self.remaining
        return data


_GARBAGE = b"\x00\xffnot xml, not json: <<<{{{ \xfe\xfd the mock's admin API broke this body"


def malformed_body(body: str | None = None) -> bytes:
    """The body of a ``malformed`` answer: the rule's own, or bytes no parser accepts."""
    return body.encode() if body is not None else _GARBAGE


def truncate_body(body: bytes) -> bytes:
    """The first half of a real answer: starts right, so only a full parse notices."""
    return body[: len(body) // 2]


def earlier_reply(
    records: Sequence[JournalRecord], *, exclude: Callable[[JournalRecord], bool]
) -> JournalRecord | None:
    """What a ``replay_reply`` answers with: the latest whole, successful, genuine
    answer among ``records`` (oldest first) that ``exclude`` does not rule out (say,
    the answers to this very request)."""
    for record in reversed(records):
        if (
            record.http_status is not None
            and 200 <= record.http_status < 300
            and record.fault is None
            and record.response
            and not record.response_truncated
            and not exclude(record)
        ):
            return record
    return None
