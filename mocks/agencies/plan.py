"""Repeatable decisions about each task: how long each step takes and how it ends.

Every draw comes from its own generator seeded by (seed, agency, task, round, purpose),
not from one shared stream. A shared stream would make the outcome depend on the order
in which concurrent messages happen to arrive, and on whether the mock was restarted;
a keyed draw gives the same answer for the same task every time.
"""

from __future__ import annotations

import random
from enum import StrEnum

from mocks.agencies.config import AgencyBehaviour


class Step(StrEnum):
    """A report the schedule still owes on a task."""

    in_progress = "in_progress"
    done = "done"
    rejected = "rejected"


class WorkPlan:
    def __init__(self, behaviour: AgencyBehaviour, agency: str) -> None:
        self.behaviour = behaviour
        self.agency = agency

    def rng(self, task_id: str, round_: int, purpose: str) -> random.Random:
        # A str seed is hashed with SHA-512 by `random`, so it is stable across processes
        # regardless of PYTHONHASHSEED.
        return random.Random(f"{self.behaviour.seed}:{self.agency}:{task_id}:{round_}:{purpose}")

    def working_time(self, task_id: str, round_: int, step: Step) -> float:
        base = self.behaviour.work_seconds
        jitter = self.behaviour.jitter
        if jitter == 0:
            return base
        spread = self.rng(task_id, round_, f"time:{step.value}").uniform(-jitter, jitter)
        return max(0.0, base + spread)

    def rejects(self, task_id: str) -> bool:
        """Whether the body refuses a freshly assigned task once it has looked at it."""
        return self.rng(task_id, 0, "reject").random() < self.behaviour.reject_rate

    def reworks(self, task_id: str, round_: int) -> bool:
        """Whether the body accepts the centre's return and redoes the work."""
        return self.rng(task_id, round_, "rework").random() < self.behaviour.rework_rate

    def after_in_progress(self, task_id: str, round_: int) -> Step:
        """How work that has started ends; only a first assignment can end in refusal,
        a return's refusal was decided when the return arrived."""
        if round_ == 0 and self.rejects(task_id):
            return Step.rejected
        return Step.done
