from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bench.load import (
    BenchConfig,
    Submitted,
    format_report,
    is_settled,
    percentile,
    percentiles,
    plan_body,
    summarize,
    task_timings,
)
from contracts.plans import PlanStatus, PlanSubmission, PlanView, TaskState, TaskView

T0 = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)


def test_percentile_interpolates_between_closest_ranks() -> None:
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    # 1..100: rank (100 - 1) * 0.95 = 94.05, between the 95th and 96th smallest values.
    assert percentile([float(v) for v in range(1, 101)], 95) == pytest.approx(95.05)
    assert percentile([float(v) for v in range(1, 101)], 99) == pytest.approx(99.01)


def test_percentile_does_not_need_sorted_input() -> None:
    assert percentile([40.0, 10.0, 30.0, 20.0], 0) == 10.0
    assert percentile([40.0, 10.0, 30.0, 20.0], 100) == 40.0


def test_one_value_is_every_percentile() -> None:
    assert percentile([7.0], 50) == 7.0
    assert percentile([7.0], 99) == 7.0


def test_percentile_refuses_nothing_and_out_of_range() -> None:
    with pytest.raises(ValueError):
        percentile([], 50)
    with pytest.raises(ValueError):
        percentile([1.0], 101)


def test_percentiles_names_each_quantile_and_gives_none_without_data() -> None:
    assert percentiles([1.0, 2.0, 3.0, 4.0], (50, 99)) == {"p50": 2.5, "p99": 3.97}
    assert percentiles([]) == {"p50": None, "p95": None, "p99": None}


def test_plan_body_deals_activities_round_the_bodies_and_is_valid() -> None:
    body = plan_body(
        centre="demo-centre",
        run_id="r1",
        index=7,
        agencies=["education", "health"],
        activities=5,
        now=T0,
    )

    submission = PlanSubmission.model_validate(body)

    assert [a.agency for a in submission.activities] == [
        "education",
        "health",
        "education",
        "health",
        "education",
    ]
    assert submission.external_id == "BENCH-r1-000007"


def test_a_plan_is_settled_when_every_task_has_the_bodys_final_word() -> None:
    assert is_settled({"reported": 3, "rejected_by_agency": 1})
    assert not is_settled({"reported": 3, "in_progress": 1})
    assert not is_settled({})


def task(seq: int, *, delivered: float | None, done: float | None) -> TaskView:
    return TaskView(
        id=f"t{seq}",
        seq=seq,
        agency="health",
        title="x",
        description="",
        due_date=None,
        beneficiary_iins=[],
        state=TaskState.reported if done is not None else TaskState.delivered,
        round=0,
        delivered_at=None if delivered is None else T0 + timedelta(seconds=delivered),
        reported_at=None if done is None else T0 + timedelta(seconds=done),
        accepted_at=None,
        last_comment=None,
        last_reason=None,
        deadlines=[],
    )


def plan(plan_id: str, created: float, *tasks: TaskView) -> PlanView:
    values: dict[str, Any] = dict(
        id=plan_id,
        centre="demo-centre",
        external_id=None,
        status=PlanStatus.active,
        approved_at=T0,
        created_at=T0 + timedelta(seconds=created),
        completed_at=None,
        cancelled_at=None,
        cancel_reason=None,
        family={"members": [{"iin": "900101300017", "last_name": "A", "first_name": "B"}]},
        grounds=[],
        tasks=list(tasks),
        deadlines=[],
        timeline=[],
    )
    return PlanView(**values)


def test_task_timings_count_from_the_plans_submit() -> None:
    timings = task_timings(plan("p1", 1.0, task(1, delivered=1.25, done=2.0)))

    assert timings[0].delivered_ms == pytest.approx(250.0)
    assert timings[0].done_ms == pytest.approx(1000.0)


def test_summary_counts_throughput_on_the_gateways_clock_and_the_tasks_not_done() -> None:
    config = BenchConfig(api_url="http://x", api_key="k", plans=3, activities=2, concurrency=2)
    submits = [
        Submitted(0, "p1", 10.0, 1),
        Submitted(1, "p2", 30.0, 2),
        Submitted(2, None, None, 1, error="422: invalid"),
    ]
    plans = [
        plan("p1", 0.0, task(1, delivered=0.1, done=0.5), task(2, delivered=0.2, done=1.0)),
        plan("p2", 0.5, task(3, delivered=0.6, done=2.0), task(4, delivered=None, done=None)),
    ]

    report = summarize(config, submits, plans, wall_seconds=3.0, submit_seconds=1.0, timed_out=True)

    assert (report.plans_submitted, report.submit_failures, report.submit_retries) == (2, 1, 1)
    assert (report.tasks, report.tasks_done, report.tasks_not_done) == (4, 3, 1)
    # Three done between the first created_at (0 s) and the last reported_at (2 s).
    assert report.done_window_seconds == 2.0
    assert report.tasks_per_second == 1.5
    assert report.submit_latency_ms["p50"] == 20.0
    assert report.submit_to_done_ms["p50"] == pytest.approx(1000.0)
    assert report.errors == ["422: invalid"]
    assert "(timed out)" in format_report(report)


def test_a_run_where_nothing_was_done_reports_no_rate_instead_of_zero() -> None:
    config = BenchConfig(api_url="http://x", api_key="k", plans=1, activities=1)
    report = summarize(
        config,
        [Submitted(0, "p1", 5.0, 1)],
        [plan("p1", 0.0, task(1, delivered=None, done=None))],
        wall_seconds=1.0,
        submit_seconds=0.1,
        timed_out=True,
    )

    assert report.tasks_per_second is None
    assert report.submit_to_done_ms == {"p50": None, "p95": None, "p99": None}
    assert "no task done" in format_report(report)


async def test_a_burst_waits_out_back_pressure_and_a_plain_run_gives_up() -> None:
    import time

    import httpx
    import respx

    from bench.load import _submit

    busy = httpx.Response(503, headers={"Retry-After": "0"}, json={"detail": "behind"})
    created = httpx.Response(201, json={"id": "p-1", "created_at": "2026-12-02T10:00:00+00:00"})
    with respx.mock(base_url="http://gw") as mock:
        route = mock.post("/api/v1/plans").mock(side_effect=[busy] * 5 + [created])
        async with httpx.AsyncClient(base_url="http://gw") as client:
            patient = await _submit(client, 0, {}, "k", 1, time.monotonic() + 60)
        assert patient.plan_id == "p-1" and patient.attempts == 6
        assert {c.request.headers["Idempotency-Key"] for c in route.calls} == {"k"}

        route.mock(side_effect=[busy] * 5 + [created])
        async with httpx.AsyncClient(base_url="http://gw") as client:
            impatient = await _submit(client, 0, {}, "k", 1)
        assert impatient.plan_id is None and impatient.attempts == 2
        assert impatient.error is not None and impatient.error.startswith("503")


def test_the_first_page_is_watched_alone_while_one_of_its_plans_is_open() -> None:
    from bench.load import _open_on_first_page

    # Plans a, b on the first page (b still open); c, d beyond it, unseen by that read.
    assert _open_on_first_page({"a"}, {"b", "c", "d"}, {"c", "d"}) is True
    assert _open_on_first_page({"a", "b"}, {"c", "d"}, {"c", "d"}) is False
