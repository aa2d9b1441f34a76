"""The chaos drill's arithmetic: the verdict, the clock steps and the fault schedule."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.chaos.checks import judge
from bench.chaos.drill import DrillConfig, _schedule, warning_steps

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def _plan(
    plan_id: str, *, down_breached: bool = True, extra: Sequence[dict[str, Any]] = ()
) -> dict[str, Any]:
    tasks = [
        {"id": f"{plan_id}-{a}", "agency": a, "state": "accepted"} for a in ("health", "housing")
    ]
    timeline: list[dict[str, Any]] = []
    for task in tasks:
        timeline.append({"type": "task_delivered", "task_id": task["id"], "data": {}})
        timeline.append(
            {"type": "agency_report", "task_id": task["id"], "data": {"status": "done"}}
        )
    if down_breached:
        for kind in ("deadline_warning", "deadline_breached"):
            timeline.append(
                {"type": kind, "task_id": f"{plan_id}-housing", "data": {"kind": "routing"}}
            )
    timeline.extend(extra)
    return {"id": plan_id, "status": "completed", "tasks": tasks, "timeline": timeline}


def _judge(plans: list[dict[str, Any]], taken: dict[str, list[str]], **kw: Any) -> Any:
    return judge(
        submitted={f"k{i}": p["id"] for i, p in enumerate(plans)},
        plans=plans,
        plans_listed=kw.pop("listed", len(plans)),
        taken=taken,
        down_agency="housing",
        activities=2,
    )


def test_a_clean_run_passes_with_every_count() -> None:
    plans = [_plan("p1"), _plan("p2")]
    verdict = _judge(
        plans, {"health": ["p1-health", "p2-health"], "housing": ["p1-housing", "p2-housing"]}
    )
    assert verdict.ok, verdict.problems
    assert (verdict.delivered_once, verdict.taken_once, verdict.breaches_recorded) == (4, 4, 2)


def test_a_task_taken_twice_or_never_fails() -> None:
    plans = [_plan("p1")]
    twice = _judge(plans, {"health": ["p1-health", "p1-health"], "housing": ["p1-housing"]})
    assert not twice.ok and twice.taken_twice == 1
    never = _judge(plans, {"health": [], "housing": ["p1-housing"]})
    assert never.never_taken == 1 and "tasks taken exactly once: 1 of 2" in never.problems
    unknown = _judge(plans, {"health": ["p1-health", "ghost"], "housing": ["p1-housing"]})
    assert unknown.taken_unknown == 1 and not unknown.ok


def test_missing_or_extra_breaches_fail() -> None:
    taken = {"health": ["p1-health"], "housing": ["p1-housing"]}
    missing = _judge([_plan("p1", down_breached=False)], taken)
    assert missing.breaches_recorded == 0 and not missing.ok
    extra = _judge(
        [
            _plan(
                "p1",
                extra=[
                    {
                        "type": "deadline_breached",
                        "task_id": "p1-health",
                        "data": {"kind": "review"},
                    }
                ],
            )
        ],
        taken,
    )
    assert extra.breaches_unexpected == 1 and not extra.ok


def test_an_extra_plan_in_the_store_fails() -> None:
    verdict = _judge([_plan("p1")], {"health": ["p1-health"], "housing": ["p1-housing"]}, listed=2)
    assert not verdict.ok and "the centre has 2 plans, 1 were submitted" in verdict.problems


def test_one_clock_step_when_the_windows_overlap_two_when_they_do_not() -> None:
    same_day = [
        (T0 + timedelta(hours=40, seconds=i), T0 + timedelta(hours=60, seconds=i)) for i in range(5)
    ]
    assert warning_steps(same_day) == [T0 + timedelta(hours=40, seconds=4, minutes=1)]
    next_day = [(T0 + timedelta(hours=70), T0 + timedelta(hours=84))]
    steps = warning_steps(same_day + next_day)
    assert len(steps) == 2 and steps[1] == T0 + timedelta(hours=70, minutes=1)
    for warn, due in same_day + next_day:
        assert any(warn < step <= due for step in steps)


def test_kills_and_restarts_alternate_over_the_load() -> None:
    schedule = _schedule(DrillConfig(gateway_kills=3, broker_restarts=2))
    assert [(k, t) for _, k, t in schedule] == [
        ("kill", "gateway-api"),
        ("restart", "rabbitmq"),
        ("kill", "gateway-worker"),
        ("restart", "rabbitmq"),
        ("kill", "gateway-api"),
    ]
    fractions = [f for f, _, _ in schedule]
    assert fractions == sorted(fractions) and 0 < fractions[0] and fractions[-1] < 1
