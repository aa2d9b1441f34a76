"""Repeatable decisions about each task: how long each step takes and how it ends.

Every draw comes from its own generator seeded by (seed, agency, task, round, purpose),
not from one shared stream. A shared stream would make the outcome depend on the order
in which concurrent messages happen to arrive, and on whether the mock was restarted;
a keyed draw gives the same answer for the same task every time.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from enum import StrEnum

from mocks.agencies import wording
from mocks.agencies.config import AgencyBehaviour


class Step(StrEnum):
    """A report the schedule still owes on a task."""

    in_progress = "in_progress"
    done = "done"
    rejected = "rejected"


@dataclass(frozen=True)
class TaskOverride:
    """What an injected fault (``mocks.agencies.admin_api``) imposes on one new task.

    Held in memory only: a restarted body plans the task as usual again, except that a
    silent task stays silent (its next step was stored as never due).
    """

    extra_seconds: float = 0.0
    silent: bool = False
    reject_reason: str | None = None


class WorkPlan:
    def __init__(self, behaviour: AgencyBehaviour, agency: str) -> None:
        self.behaviour = behaviour
        self.agency = agency
        self._overrides: dict[str, TaskOverride] = {}

    def override(self, task_id: str, override: TaskOverride) -> None:
        """Bend the first round of `task_id` (set before the task is accepted)."""
        self._overrides[task_id] = override

    def _first_round_override(self, task_id: str, round_: int) -> TaskOverride | None:
        return self._overrides.get(task_id) if round_ == 0 else None

    def rng(self, task_id: str, round_: int, purpose: str) -> random.Random:
        # A str seed is hashed with SHA-512 by `random`, so it is stable across processes
        # regardless of PYTHONHASHSEED.
        return random.Random(f"{self.behaviour.seed}:{self.agency}:{task_id}:{round_}:{purpose}")

    def working_time(self, task_id: str, round_: int, step: Step) -> float:
        extra = 0.0
        forced = self._first_round_override(task_id, round_)
        if forced is not None and step is Step.in_progress:
            # The first step of a fresh task: a silent body never reaches it.
            if forced.silent:
                return math.inf
            extra = forced.extra_seconds
        base = self.behaviour.work_seconds + extra
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
        forced = self._first_round_override(task_id, round_)
        if forced is not None and forced.reject_reason is not None:
            return Step.rejected
        if round_ == 0 and self.rejects(task_id):
            return Step.rejected
        return Step.done

    def rejection_reason(self, task_id: str, round_: int) -> str:
        forced = self._first_round_override(task_id, round_)
        if forced is not None and forced.reject_reason is not None:
            return forced.reject_reason
        return wording.rejection_reason(self.rng(task_id, round_, "reason"), round_)
