"""What the drill checks at the end, as pure arithmetic over what the API and the mock
bodies' journals say (so it is tested without a running system).

- nothing lost: every submitted plan is in the store once, with all its tasks, each
  delivered (exactly one `task_delivered` on its timeline);
- each body took each task exactly once: one `taken` journal entry per task in the
  body's own journal, and none for a task the gateway does not know;
- every report applied: each task's `done` is on its timeline once and the task was
  accepted;
- every breach recorded: each task of the body that was down has one routing warning
  and one routing breach on its timeline, and no other task has any;
- every plan settled: completed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Verdict:
    plans_submitted: int = 0
    plans_in_store: int = 0
    tasks_expected: int = 0
    tasks_in_store: int = 0
    delivered_once: int = 0
    not_delivered: int = 0
    delivered_twice: int = 0
    taken_once: int = 0
    never_taken: int = 0
    taken_twice: int = 0
    taken_unknown: int = 0
    done_applied: int = 0
    accepted: int = 0
    breaches_expected: int = 0
    breaches_recorded: int = 0
    breaches_unexpected: int = 0
    warnings_recorded: int = 0
    plans_completed: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def lines(self) -> list[str]:
        return [
            f"plans: submitted {self.plans_submitted}, in the store {self.plans_in_store}, "
            f"completed {self.plans_completed}",
            f"tasks: expected {self.tasks_expected}, in the store {self.tasks_in_store}",
            f"delivered exactly once: {self.delivered_once}; never: {self.not_delivered}; "
            f"twice or more: {self.delivered_twice}",
            f"taken by its body exactly once (journals): {self.taken_once}; never: "
            f"{self.never_taken}; twice or more: {self.taken_twice}; unknown tasks: "
            f"{self.taken_unknown}",
            f"reports applied (done once): {self.done_applied}; accepted: {self.accepted}",
            f"routing breaches: expected {self.breaches_expected}, recorded "
            f"{self.breaches_recorded}, unexpected {self.breaches_unexpected}; routing "
            f"warnings recorded {self.warnings_recorded}",
        ]


def judge(
    *,
    submitted: Mapping[str, str],
    plans: Sequence[Mapping[str, Any]],
    plans_listed: int,
    taken: Mapping[str, Iterable[str]],
    down_agency: str,
    activities: int,
) -> Verdict:
    """`submitted`: Idempotency-Key -> plan id as answered; `plans`: every plan read in
    full from the API; `plans_listed`: the total the list endpoint reports; `taken`:
    per agency, the task ids of its journal's `taken` entries."""
    v = Verdict(plans_submitted=len(submitted), plans_in_store=plans_listed)
    v.tasks_expected = len(submitted) * activities
    by_id = {str(p["id"]): p for p in plans}
    if len(set(submitted.values())) != len(submitted):
        v.problems.append("two Idempotency-Keys were answered with the same plan")
    missing = set(submitted.values()) - set(by_id)
    if missing:
        v.problems.append(f"{len(missing)} submitted plan(s) cannot be read back")
    if plans_listed != len(submitted):
        v.problems.append(f"the centre has {plans_listed} plans, {len(submitted)} were submitted")

    takes: dict[str, Counter[str]] = {agency: Counter(ids) for agency, ids in taken.items()}
    known: set[tuple[str, str]] = set()
    for plan in by_id.values():
        if plan["status"] == "completed":
            v.plans_completed += 1
        events = plan["timeline"]
        for task in plan["tasks"]:
            v.tasks_in_store += 1
            task_id, agency = str(task["id"]), str(task["agency"])
            known.add((agency, task_id))
            mine = [e for e in events if e.get("task_id") == task_id]
            delivered = sum(e["type"] == "task_delivered" for e in mine)
            v.delivered_once += delivered == 1
            v.not_delivered += delivered == 0
            v.delivered_twice += delivered > 1
            count = takes.get(agency, Counter())[task_id]
            v.taken_once += count == 1
            v.never_taken += count == 0
            v.taken_twice += count > 1
            done = sum(
                e["type"] == "agency_report" and (e.get("data") or {}).get("status") == "done"
                for e in mine
            )
            v.done_applied += done == 1
            v.accepted += task["state"] == "accepted"
            breaches = [e for e in mine if e["type"] == "deadline_breached"]
            warnings = [
                e
                for e in mine
                if e["type"] == "deadline_warning"
                and (e.get("data") or {}).get("kind") == "routing"
            ]
            routing = [b for b in breaches if (b.get("data") or {}).get("kind") == "routing"]
            if agency == down_agency:
                v.breaches_expected += 1
                v.breaches_recorded += len(routing) == 1
                v.warnings_recorded += len(warnings) == 1
                v.breaches_unexpected += len(breaches) - len(routing) + max(0, len(routing) - 1)
            else:
                v.breaches_unexpected += len(breaches)
    for agency, counter in takes.items():
        v.taken_unknown += sum(1 for task_id in counter if (agency, task_id) not in known)

    expected = v.tasks_expected
    for label, value in (
        ("tasks in the store", v.tasks_in_store),
        ("tasks delivered exactly once", v.delivered_once),
        ("tasks taken exactly once", v.taken_once),
        ("tasks with their done report applied once", v.done_applied),
        ("tasks accepted", v.accepted),
    ):
        if value != expected:
            v.problems.append(f"{label}: {value} of {expected}")
    if v.taken_unknown:
        v.problems.append(f"{v.taken_unknown} task(s) taken by a body that the gateway never sent")
    if v.breaches_recorded != v.breaches_expected:
        v.problems.append(
            f"routing breaches recorded once: {v.breaches_recorded} of {v.breaches_expected}"
        )
    if v.warnings_recorded != v.breaches_expected:
        v.problems.append(
            f"routing warnings recorded once: {v.warnings_recorded} of {v.breaches_expected}"
        )
    if v.breaches_unexpected:
        v.problems.append(f"{v.breaches_unexpected} breach(es) recorded that should not be")
    if v.plans_completed != len(submitted):
        v.problems.append(f"plans completed: {v.plans_completed} of {len(submitted)}")
    return v
