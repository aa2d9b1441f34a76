"""The bench's ratio, CPU and mode arithmetic (bench/baseline.py, bench/cpu.py, bench/load.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.baseline import BaselineResult, rate, ratio, status_body, task_body
from bench.cpu import (
    BODIES,
    GATEWAY,
    find_pids,
    matches,
    ms_per_task,
    parse_environ,
    parse_stat_cpu_ticks,
    used_between,
)
from bench.load import BenchConfig, Report, format_report, submit_offsets, with_measures
from contracts.messages import ReportStatus, StatusEnvelope, TaskAssignedEnvelope
from tests.unit.test_bench_stats import T0, plan, task

# A real /proc/PID/stat line, with a command name that holds a space and a parenthesis.
STAT = (
    "4242 (python3 (x)) S 1 4242 4242 0 -1 4194560 2904 0 0 0 "
    "1234 567 0 0 20 0 3 0 1733 1227497472 41150 18446744073709551615"
)


def test_cpu_ticks_are_utime_plus_stime_counted_after_the_command_name() -> None:
    assert parse_stat_cpu_ticks(STAT) == 1234 + 567


def test_environ_is_split_on_nul_and_keeps_equals_in_values() -> None:
    raw = b"GATEWAY_AMQP_PREFIX=b1\0URL=amqp://a=b\0NOEQUALS\0"

    assert parse_environ(raw) == {"GATEWAY_AMQP_PREFIX": "b1", "URL": "amqp://a=b"}


@pytest.mark.parametrize(
    ("argv", "group", "expected"),
    [
        (["/v/bin/python", "-m", "gateway", "serve", "--digest"], GATEWAY, True),
        (["/v/bin/python", "/v/bin/gateway", "serve", "--no-api"], GATEWAY, True),
        (["/v/bin/python", "/v/bin/gateway", "up", "--work-seconds", "0"], GATEWAY, False),
        (["/v/bin/python", "-m", "mocks.agencies", "run"], BODIES, True),
        (["/v/bin/python", "-m", "mocks.shep", "--port", "1"], BODIES, False),
        (["/v/bin/python", "-m", "bench", "--baseline"], GATEWAY, False),
    ],
)
def test_processes_are_told_apart_by_their_command_line(
    argv: list[str], group: object, expected: bool
) -> None:
    assert matches(argv, {"GATEWAY_AMQP_PREFIX": "b1"}, group, "b1") is expected  # type: ignore[arg-type]


def test_another_deployments_gateway_is_not_counted() -> None:
    argv = ["/v/bin/python", "-m", "gateway", "serve"]

    assert not matches(argv, {"GATEWAY_AMQP_PREFIX": "other"}, GATEWAY, "b1")
    assert matches(argv, {}, GATEWAY, "gw")  # no prefix set: the settings' default


def test_pids_are_found_in_a_proc_tree(tmp_path: Path) -> None:
    for pid, argv, prefix in [
        (11, [b"/v/python", b"-m", b"gateway", b"serve"], b"b1"),
        (12, [b"/v/python", b"-m", b"gateway", b"serve"], b"b2"),
        (13, [b"/v/python", b"-m", b"mocks.agencies", b"run"], b"b1"),
    ]:
        d = tmp_path / str(pid)
        d.mkdir()
        (d / "cmdline").write_bytes(b"\0".join(argv) + b"\0")
        (d / "environ").write_bytes(b"GATEWAY_AMQP_PREFIX=" + prefix + b"\0")
    (tmp_path / "self").mkdir()

    assert find_pids(GATEWAY, "b1", tmp_path) == [11]
    assert find_pids(BODIES, "b1", tmp_path) == [13]


def test_cpu_used_counts_only_processes_alive_at_both_samples() -> None:
    before = {1: 10.0, 2: 5.0, 3: 1.0}
    after = {1: 12.5, 2: 5.5, 4: 100.0}  # 3 died, 4 was not there before

    assert used_between(before, after) == pytest.approx(3.0)


def test_cpu_per_task_is_in_milliseconds_and_none_without_tasks() -> None:
    assert ms_per_task(1.8, 1200) == 1.5
    assert ms_per_task(1.8, 0) is None
    assert ms_per_task(None, 10) is None


def test_ratio_is_gateway_over_baseline_and_none_when_either_is_missing() -> None:
    assert ratio(600.0, 1200.0) == 0.5
    assert ratio(None, 1200.0) is None
    assert ratio(600.0, None) is None
    assert ratio(600.0, 0.0) is None


def test_baseline_rate_needs_a_positive_window() -> None:
    assert rate(1200, 1.0) == 1200.0
    assert rate(1200, 0.0) is None
    assert rate(0, 1.0) is None
    assert rate(10, None) is None


def test_baseline_messages_are_the_gateways_envelopes() -> None:
    body = task_body(3, "health", T0)
    envelope = TaskAssignedEnvelope.model_validate_json(body)
    status = StatusEnvelope.model_validate_json(
        status_body(envelope.payload.task_id, envelope.payload.plan_id, "health", ReportStatus.done)
    )

    assert len(envelope.payload.beneficiaries) == 2
    assert status.payload.status is ReportStatus.done
    assert json.loads(body)["payload"]["agency"] == "health"


def test_rate_mode_spaces_plans_by_activities_over_the_rate() -> None:
    # 40 tasks/s with 4 activities a plan: a plan every 0.1 s, from 0.
    assert submit_offsets(4, 40.0, 4) == pytest.approx([0.0, 0.1, 0.2, 0.3])
    with pytest.raises(ValueError):
        submit_offsets(1, 0.0, 4)


def test_burst_is_given_in_tasks_and_rounded_up_to_whole_plans() -> None:
    config = BenchConfig(api_url="x", api_key="k", plans=5, activities=4, burst=10, rate=3.0)

    assert config.plan_count == 3
    assert config.mode == "burst"
    assert BenchConfig(api_url="x", api_key="k", plans=5).plan_count == 5
    assert BenchConfig(api_url="x", api_key="k", rate=2.0).mode == "rate"


def _report() -> Report:
    from bench.load import Submitted, summarize

    config = BenchConfig(api_url="x", api_key="k", plans=1, activities=2, concurrency=1)
    plans = [plan("p1", 0.0, task(1, delivered=0.5, done=1.0), task(2, delivered=1.5, done=2.0))]
    return summarize(
        config, [Submitted(0, "p1", 5.0, 1)], plans, wall_seconds=2.5, submit_seconds=0.1,
        timed_out=False,
    )  # fmt: skip


def test_all_delivered_is_the_last_delivery_after_the_first_submit() -> None:
    assert _report().all_delivered_seconds == pytest.approx(1.5)
    assert _report().tasks_per_second == 1.0


def test_measures_give_cpu_per_done_task_and_the_ratio() -> None:
    baseline = BaselineResult(
        tasks=2, tasks_done=2, seconds=0.5, tasks_per_second=4.0, timed_out=False,
        cpu_seconds=0.002,
    )

    report = with_measures(
        _report(),
        gateway_cpu_seconds=0.003,
        gateway_processes=1,
        bodies_cpu_seconds=0.001,
        baseline=baseline,
    )

    assert report.gateway_cpu_ms_per_task == 1.5
    assert report.bodies_cpu_ms_per_task == 0.5
    assert report.ratio == 0.25
    text = format_report(report)
    assert "ratio               0.25" in text
    assert "gateway CPU         1.5 ms a task" in text
    assert "baseline            4 tasks/s" in text
    assert report.baseline_cpu_ms_per_task == 1.0  # the bare pipeline's CPU, per done task
    assert "baseline CPU        1 ms a task" in text
