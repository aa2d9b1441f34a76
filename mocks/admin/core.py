"""One object holding a mock's admin state: rules, scenarios, journal and clock.

A mock creates one ``MockAdmin``, hands its clock to whatever dates answers, asks
``decide`` on each call which fault (if any) applies, and records the call in the
journal. The HTTP endpoints in ``mocks.admin.http`` are a thin layer over it, so
in-process tests may also drive it directly.
"""

from __future__ import annotations

import itertools
import random
import threading
from collections.abc import Mapping
from typing import Any

from mocks.admin.clock import MockClock
from mocks.admin.faults import AppliedFault, FaultRule, FaultSpec
from mocks.admin.journal import RequestJournal
from mocks.admin.scenarios import Scenarios


class MockAdmin:
    def __init__(
        self,
        *,
        journal: RequestJournal | None = None,
        clock: MockClock | None = None,
        scenarios: Scenarios | None = None,
        seed: int = 0,
    ) -> None:
        self.journal = journal if journal is not None else RequestJournal()
        self.clock = clock or MockClock()
        self.scenarios = scenarios or Scenarios()
        self.seed = seed
        self._rules: list[FaultRule] = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def add_fault(self, spec: FaultSpec | Mapping[str, Any]) -> FaultRule:
        """Add a rule after the existing ones (earlier rules win on the same call)."""
        if not isinstance(spec, FaultSpec):
            spec = FaultSpec.model_validate(spec)
        with self._lock:
            rule_id = next(self._ids)
            # Each rule draws from its own generator, seeded from the rule's seed or the
            # admin's seed and the rule's id: adding another rule never changes its sequence.
            seed: int | str = spec.seed if spec.seed is not None else f"{self.seed}:{rule_id}"
            rule = FaultRule(rule_id, spec, random.Random(seed))
            self._rules.append(rule)
        return rule

    def faults(self) -> list[FaultRule]:
        with self._lock:
            return list(self._rules)

    def fault(self, rule_id: int) -> FaultRule | None:
        with self._lock:
            return next((r for r in self._rules if r.id == rule_id), None)

    def remove_fault(self, rule_id: int) -> bool:
        with self._lock:
            before = len(self._rules)
            self._rules = [r for r in self._rules if r.id != rule_id]
            return len(self._rules) != before

    def clear_faults(self) -> None:
        with self._lock:
            self._rules.clear()

    def decide(self, service: str | None) -> AppliedFault | None:
        """The fault for one call to ``service``, or None to answer normally.

        Every rule that matches the service (and its required state) counts the call,
        so ``every_nth`` means every Nth call to the service whatever other rules do;
        the first rule, in the order added, whose trigger fires is applied and spent.
        """
        with self._lock:
            chosen: FaultRule | None = None
            for rule in self._rules:
                if not rule.matches(service, self.scenarios):
                    continue
                rule.count()
                if chosen is None and rule.fires(self.scenarios):
                    chosen = rule
            return chosen.applied() if chosen is not None else None

    def reset(self) -> None:
        """Back to a fresh mock: no rules, no journal, scenarios at the start, real time."""
        with self._lock:
            self._rules.clear()
            self._ids = itertools.count(1)
        self.journal.clear()
        self.scenarios.reset()
        self.clock.reset()
