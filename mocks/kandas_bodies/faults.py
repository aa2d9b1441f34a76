"""Fault rules of the bodies: what the admin API makes a body do with its next steps.

Kinds (the bodies speak AMQP, so the faults are about what a body does with a step, not
with an HTTP answer):

* ``silent``      - the body takes nothing: its consumer stops until the rule is removed,
  so the steps wait in its queue, undelivered, and their terms run out at the gateway;
* ``delay``       - the body works ``delay_seconds`` longer on the steps it takes;
* ``return_next`` - the body returns the next step it takes, with ``remarks``;
* ``refuse_next`` - the body refuses the next step it takes, with ``remarks`` as reason;
* ``crash``       - the body hands the delivery back (nack with requeue) without taking it,
  so RabbitMQ counts the delivery and dead-letters the message past the delivery limit.

A return or refusal fires only on a step that allows it, unless ``force`` is set (to
watch the gateway refuse a decision the step does not allow). ``step`` narrows a rule to
one step of the flow, ``body`` to one body (default ``*``). Triggers as in
``mocks.admin``: ``probability`` (seeded), ``every_nth``, ``times``; the ``*_next`` kinds
fire once unless ``times`` says otherwise, the others until removed. A fault that changes
a decision is pinned to the step when it is taken and stored with it, so a restarted
body decides the same way.
"""

from __future__ import annotations

import itertools
import random
import threading
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from contracts.cases import Decision, StepAssigned
from mocks.kandas_bodies.decide import Forced, Override

ANY = "*"


class FaultKind(StrEnum):
    SILENT = "silent"
    DELAY = "delay"
    RETURN_NEXT = "return_next"
    REFUSE_NEXT = "refuse_next"
    CRASH = "crash"


_ONCE_BY_DEFAULT = (FaultKind.RETURN_NEXT, FaultKind.REFUSE_NEXT)
_FORCED = {FaultKind.RETURN_NEXT: Forced.return_, FaultKind.REFUSE_NEXT: Forced.refuse}


class FaultSpec(BaseModel):
    """What a client posts to ``/__admin/faults``; unknown fields are refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    body: str = Field(default=ANY, min_length=1, max_length=100)
    kind: FaultKind
    step: str | None = Field(default=None, min_length=1, max_length=100)
    remarks: str | None = Field(default=None, min_length=1, max_length=4000)
    force: bool = False
    delay_seconds: float = Field(default=0.0, ge=0.0, le=30 * 86400, allow_inf_nan=False)
    probability: float | None = Field(default=None, ge=0.0, le=1.0)
    seed: int | None = None
    every_nth: int | None = Field(default=None, ge=1)
    times: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _coherent(self) -> FaultSpec:
        if self.kind is FaultKind.DELAY and self.delay_seconds <= 0:
            raise ValueError("a delay fault needs delay_seconds > 0")
        if self.kind is FaultKind.SILENT and (
            self.probability is not None or self.every_nth is not None or self.times is not None
        ):
            raise ValueError("a silent fault lasts until it is removed: no triggers")
        return self


@dataclass(frozen=True)
class Imposed:
    """What the fault that fired imposes on one step being taken."""

    rule_id: int
    extra_seconds: float = 0.0
    override: Override | None = None


class FaultRule:
    def __init__(self, rule_id: int, spec: FaultSpec, rng: random.Random) -> None:
        self.id = rule_id
        self.spec = spec
        self._rng = rng
        self.seen = 0
        self.fired = 0
        times = spec.times
        if times is None and spec.kind in _ONCE_BY_DEFAULT:
            times = 1
        self.remaining = times

    @property
    def active(self) -> bool:
        return self.remaining is None or self.remaining > 0

    def matches(self, body: str, step: StepAssigned | None) -> bool:
        s = self.spec
        if not self.active or s.body not in (ANY, body):
            return False
        if step is None:
            return True
        if s.step is not None and s.step != step.step:
            return False
        forced = _FORCED.get(s.kind)
        return forced is None or s.force or Decision(forced.value) in step.decisions

    def count(self) -> None:
        self.seen += 1

    def fires(self) -> bool:
        """Whether this (already counted) call triggers the rule; spends it if so."""
        s = self.spec
        if s.every_nth is not None and self.seen % s.every_nth != 0:
            return False
        if s.probability is not None and self._rng.random() >= s.probability:
            return False
        self.fired += 1
        if self.remaining is not None:
            self.remaining -= 1
        return True

    def impose(self) -> Imposed:
        s = self.spec
        forced = _FORCED.get(s.kind)
        override = Override(forced, s.remarks, s.force) if forced is not None else None
        return Imposed(self.id, s.delay_seconds, override)

    def as_json(self) -> dict[str, Any]:
        data = self.spec.model_dump(mode="json", exclude_none=True)
        data.update(id=self.id, seen=self.seen, fired=self.fired, active=self.active)
        if self.remaining is not None:
            data["remaining"] = self.remaining
        return data


class Faults:
    """The rules of all bodies of one process, evaluated in the order added."""

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed
        self._rules: list[FaultRule] = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def add(self, spec: FaultSpec) -> FaultRule:
        with self._lock:
            rule_id = next(self._ids)
            seed: int | str = spec.seed if spec.seed is not None else f"{self.seed}:{rule_id}"
            rule = FaultRule(rule_id, spec, random.Random(seed))
            self._rules.append(rule)
            return rule

    def rules(self) -> list[FaultRule]:
        with self._lock:
            return list(self._rules)

    def remove(self, rule_id: int) -> bool:
        with self._lock:
            before = len(self._rules)
            self._rules = [r for r in self._rules if r.id != rule_id]
            return len(self._rules) != before

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()
            self._ids = itertools.count(1)

    def silent(self, body: str) -> bool:
        """Whether `body` must take nothing now."""
        with self._lock:
            return any(
                r.spec.kind is FaultKind.SILENT and r.matches(body, None) for r in self._rules
            )

    def crashes(self, body: str, step: StepAssigned) -> int | None:
        """The id of a crash rule that fires on this delivery, or None."""
        rule = self._first(body, step, (FaultKind.CRASH,))
        return rule.id if rule is not None else None

    def on_take(self, body: str, step: StepAssigned) -> Imposed | None:
        """What a delay, return or refuse rule imposes on a step being taken, or None."""
        rule = self._first(
            body, step, (FaultKind.DELAY, FaultKind.RETURN_NEXT, FaultKind.REFUSE_NEXT)
        )
        return rule.impose() if rule is not None else None

    def _first(
        self, body: str, step: StepAssigned, kinds: tuple[FaultKind, ...]
    ) -> FaultRule | None:
        """Every matching rule counts the call (so `every_nth` counts all of them); the
        first that fires is applied."""
        with self._lock:
            chosen: FaultRule | None = None
            for rule in self._rules:
                if rule.spec.kind not in kinds or not rule.matches(body, step):
                    continue
                rule.count()
                if chosen is None and rule.fires():
                    chosen = rule
            return chosen
