"""The collector's batches on both stores: the same effects as one report at a time,
in queue order, each message once, and a poison message that cannot sink its batch."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from contracts.messages import ReportStatus, StatusReport
from gateway.services import report_batch, tasks
from gateway.store.tables import deadlines, events, inbox, incidents
from gateway.store.tables import tasks as tasks_table
from tests.integration.harness import Harness, eventually, plan_body

pytestmark = pytest.mark.integration


def _report(task_id: str, agency: str, status: ReportStatus, **extra: Any) -> StatusReport:
    return StatusReport(
        task_id=task_id, agency=agency, status=status, reported_at=datetime.now(UTC), **extra
    )


def _item(report: StatusReport, message_id: str | None = None) -> report_batch.Report:
    return report_batch.Report(
        message_id=message_id or str(uuid.uuid4()), report=report, actor=f"agency:{report.agency}"
    )


async def _new_tasks(h: Harness, *agencies: str) -> dict[str, str]:
    """Submit a plan and wait for the relay to dispatch it: {agency: task id}."""
    plan_id = (await h.submit(plan_body(h.centre, agencies=agencies))).json()["id"]
    for agency in agencies:
        await h.take(agency, 1)
    plan = await h.plan(plan_id)
    return {t["agency"]: t["id"] for t in plan["tasks"]}


async def _effects(h: Harness, task_id: str) -> dict[str, Any]:
    """Everything a report can change, without ids and clocks: to compare two tasks."""
    async with h.engine.connect() as conn:
        task = (await conn.execute(select(tasks_table).where(tasks_table.c.id == task_id))).one()
        timeline = (
            await conn.execute(
                select(events.c.type, events.c.from_state, events.c.to_state, events.c.reason)
                .where(events.c.task_id == task_id)
                .order_by(events.c.id)
            )
        ).all()
        clocks = (
            await conn.execute(
                select(deadlines.c.kind, deadlines.c.round, deadlines.c.met_at.is_not(None))
                .where(deadlines.c.task_id == task_id)
                .order_by(deadlines.c.kind)
            )
        ).all()
    return {
        "state": task.state,
        "delivered": task.delivered_at is not None,
        "reported": task.reported_at is not None,
        "comment": task.last_comment,
        "reason": task.last_reason,
        "timeline": [tuple(r) for r in timeline],
        "deadlines": [tuple(r) for r in clocks],
    }


async def test_a_batch_has_the_effects_of_its_reports_one_by_one(harness: Harness) -> None:
    h = harness
    batched = await _new_tasks(h, "health", "housing")
    single = await _new_tasks(h, "health", "housing")

    def reports(ids: dict[str, str]) -> list[StatusReport]:
        return [
            _report(ids["health"], "health", ReportStatus.received),
            _report(ids["housing"], "housing", ReportStatus.rejected, reason="не наше"),
            _report(ids["health"], "health", ReportStatus.in_progress, comment="в работе"),
            _report(ids["health"], "health", ReportStatus.done, comment="сделано"),
            _report(ids["health"], "health", ReportStatus.in_progress),  # stale: ignored
            _report(ids["housing"], "education", ReportStatus.done),  # not its body: ignored
        ]

    now = h.clock.now()
    async with h.engine.begin() as conn:
        outcome = await report_batch.apply_reports(
            conn, h.ctx, [_item(r) for r in reports(batched)], consumer="t", now=now
        )
    assert len(outcome.applied) == 6 and not outcome.duplicates and not outcome.missing
    for report in reports(single):
        async with h.engine.begin() as conn:
            await tasks.apply_report(conn, h.ctx, report, actor=f"agency:{report.agency}", now=now)

    for agency in ("health", "housing"):
        assert await _effects(h, batched[agency]) == await _effects(h, single[agency])
    health = await _effects(h, batched["health"])
    assert health["state"] == "reported" and health["comment"] == "сделано"
    assert [t[0] for t in health["timeline"]][-5:] == [
        "task_delivered",
        "agency_report",
        "agency_report",
        "agency_report",
        "report_ignored",
    ]
    assert ("review", 0, False) in health["deadlines"]
    assert (await _effects(h, batched["housing"]))["state"] == "rejected_by_agency"


async def test_each_message_applies_once_and_a_missing_task_is_set_aside(harness: Harness) -> None:
    h = harness
    ids = await _new_tasks(h, "health")
    done = _item(_report(ids["health"], "health", ReportStatus.done))
    batch = [
        _item(_report(ids["health"], "health", ReportStatus.received)),
        done,
        done,  # the same message twice in one batch
        _item(_report("no-such-task", "health", ReportStatus.done)),
    ]
    async with h.engine.begin() as conn:
        first = await report_batch.apply_reports(
            conn, h.ctx, batch, consumer="t", now=h.clock.now()
        )
    async with h.engine.begin() as conn:
        again = await report_batch.apply_reports(
            conn, h.ctx, batch, consumer="t", now=h.clock.now()
        )

    assert first.applied == [batch[0].message_id, done.message_id]
    assert first.duplicates == [done.message_id]
    assert list(first.missing) == [batch[3].message_id]
    assert again.applied == [] and len(again.duplicates) == 3
    effects = await _effects(h, ids["health"])
    assert [t[0] for t in effects["timeline"]].count("agency_report") == 2
    async with h.engine.connect() as conn:
        claimed = (
            await conn.execute(
                select(func.count()).select_from(inbox).where(inbox.c.consumer == "t")
            )
        ).scalar_one()
    assert claimed == 2  # the missing task's message left no mark: it goes to the dead letters


async def test_a_poison_report_is_dead_lettered_and_its_batch_still_applies(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = harness
    ids = await _new_tasks(h, "health", "housing", "education")
    real = tasks.decide_report

    def choke_on_housing(task: Any, *args: Any, **kwargs: Any) -> tasks.ReportEffects:
        if task["agency"] == "housing":
            raise RuntimeError("the rules choke on this one")
        return real(task, *args, **kwargs)

    monkeypatch.setattr(report_batch, "decide_report", choke_on_housing)
    monkeypatch.setattr(tasks, "decide_report", choke_on_housing)
    for status in (ReportStatus.received, ReportStatus.in_progress, ReportStatus.done):
        for agency in ("health", "housing", "education"):
            await h.report(ids[agency], agency, status)

    async def settled() -> bool:
        async with h.engine.connect() as conn:
            parked = (
                await conn.execute(
                    select(func.count())
                    .select_from(incidents)
                    .where(incidents.c.queue == h.topology.status_queue)
                )
            ).scalar_one()
        states = {
            a: (await _effects(h, ids[a]))["state"] for a in ("health", "education", "housing")
        }
        return parked == 3 and states["health"] == states["education"] == "reported"

    await eventually(settled, timeout=30)
    assert (await _effects(h, ids["housing"]))["state"] == "dispatched"
    for agency in ("health", "education"):
        types = [t[0] for t in (await _effects(h, ids[agency]))["timeline"]]
        assert types.count("agency_report") == 3 and types.count("task_delivered") == 1
