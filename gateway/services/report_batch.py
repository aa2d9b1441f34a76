"""Applying a batch of the bodies' reports in one transaction, with set-based statements.

One report at a time costs three commits and some thirty statements a task (select and
insert the inbox row under a savepoint, select and update the task, insert the events,
update and insert the deadlines), and each statement costs far more in SQLAlchemy and
the async driver than in the database. A batch costs one transaction and a handful of
statements whatever its size:

1. the batch's tasks are read and locked in one statement (in id order, so two workers
   on PostgreSQL lock them in the same order);
2. the inbox takes the batch's message ids in one `INSERT … ON CONFLICT DO NOTHING
   RETURNING`: what comes back is new, the rest are redeliveries;
3. each new report is decided in memory by the same pure rules as a single one
   (`tasks.decide_report`, on top of `gateway.domain.task_lifecycle`), in queue order,
   each on the task as the reports before it left it;
4. the deadlines met, the tasks changed, the events and the deadlines opened are each
   written with one executemany.

The effects are the same as applying the reports one by one in that order; the
single-report path (`tasks.apply_report`) is kept for the retry of a failed batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from contracts.messages import StatusReport
from gateway.services import deadline_store, timeline
from gateway.services.context import Context
from gateway.services.tasks import decide_report
from gateway.store import bulk
from gateway.store.tables import tasks

#: The task's columns a report may change (see `tasks.decide_report`).
_WRITABLE = ("state", "updated_at", "delivered_at", "reported_at", "last_comment", "last_reason")

# Written once, run through the driver (gateway/store/bulk.py): executemany through
# SQLAlchemy cost more in Python than the database spent on the statements.
_MEET = bulk.Statement.of(
    "UPDATE deadlines SET met_at = $1 WHERE task_id = $2 AND kind = $3 AND met_at IS NULL"
)
_UPDATE_TASK = bulk.Statement.of(
    "UPDATE tasks SET "
    + ", ".join(f"{name} = ${i}" for i, name in enumerate(_WRITABLE, start=2))
    + " WHERE id = $1"
)
# The batch's message ids as one parameter (`bulk.array`), so the statement's text does
# not change with the batch's size.
_CLAIM = bulk.Statement(
    postgresql="INSERT INTO inbox (message_id, consumer, received_at) "
    "SELECT m, $2, $3 FROM unnest($1::varchar[]) AS m "
    "ON CONFLICT (message_id) DO NOTHING RETURNING message_id",
    sqlite="INSERT INTO inbox (message_id, consumer, received_at) "
    "SELECT value, ?2, ?3 FROM json_each(?1) WHERE true "
    "ON CONFLICT (message_id) DO NOTHING RETURNING message_id",
)
# The batch's tasks, locked in id order (SQLite's BEGIN IMMEDIATE holds the whole store).
_LOCK_TASKS = bulk.Statement(
    postgresql=f"SELECT {bulk.column_list(tasks)} FROM tasks WHERE id = ANY($1::varchar[]) "
    "ORDER BY id FOR UPDATE",
    sqlite=f"SELECT {bulk.column_list(tasks)} FROM tasks "
    "WHERE id IN (SELECT value FROM json_each(?1)) ORDER BY id",
)


@dataclass(frozen=True)
class Report:
    """One status message of the batch: its id and what the body said."""

    message_id: str
    report: StatusReport
    actor: str


@dataclass
class BatchOutcome:
    applied: list[str] = field(default_factory=list)
    """Message ids applied now."""
    duplicates: list[str] = field(default_factory=list)
    """Message ids handled before (or twice in this batch): acknowledged, no effect."""
    missing: dict[str, str] = field(default_factory=dict)
    """Message id -> why it cannot apply (no such task): for the dead letters."""


async def claim_messages(
    conn: AsyncConnection, message_ids: Sequence[str], consumer: str, now: datetime
) -> set[str]:
    """Record the messages as handled; returns those that were not handled before."""
    if not message_ids:
        return set()
    at = bulk.timestamp_for(conn.dialect.name)(now)
    rows = await bulk.fetch(conn, _CLAIM, (bulk.array(conn, message_ids), consumer, at))
    return {row[0] for row in rows}


async def apply_reports(
    conn: AsyncConnection,
    ctx: Context,
    batch: Sequence[Report],
    *,
    consumer: str,
    now: datetime,
) -> BatchOutcome:
    """Apply `batch` in queue order within the caller's transaction (see the module)."""
    outcome = BatchOutcome()
    task_ids = sorted({r.report.task_id for r in batch})
    found = await bulk.fetch_rows(conn, tasks, _LOCK_TASKS, (bulk.array(conn, task_ids),))
    current: dict[str, dict[str, Any]] = {row.id: row._asdict() for row in found}

    wanted: list[Report] = []
    seen: set[str] = set()
    for item in batch:
        if item.report.task_id not in current:
            outcome.missing[item.message_id] = f"no task with id '{item.report.task_id}'"
        elif item.message_id in seen:
            outcome.duplicates.append(item.message_id)
        else:
            seen.add(item.message_id)
            wanted.append(item)
    fresh = await claim_messages(conn, [r.message_id for r in wanted], consumer, now)

    meets: list[tuple[str, str]] = []
    events: list[dict[str, Any]] = []
    opened: list[dict[str, Any]] = []
    changed: set[str] = set()
    for item in wanted:
        if item.message_id not in fresh:
            outcome.duplicates.append(item.message_id)
            continue
        task = current[item.report.task_id]
        effects = decide_report(task, ctx, item.report, actor=item.actor, now=now)
        for kinds in effects.meets:
            meets.extend((task["id"], k.value) for k in kinds)
        opened.extend(
            deadline_store.deadline_row(d, task["plan_id"], task["id"]) for d in effects.opens
        )
        events.extend(effects.events)
        if effects.changes:
            task.update(effects.changes)
            changed.add(task["id"])
        outcome.applied.append(item.message_id)

    dialect = conn.dialect.name
    at = bulk.timestamp_for(dialect)(now)
    await bulk.execute_many(conn, _MEET, [(at, tid, kind) for tid, kind in meets])
    writable = bulk.converters(tasks, _WRITABLE, dialect)
    await bulk.execute_many(
        conn,
        _UPDATE_TASK,
        [
            (tid, *(convert(current[tid][name]) for name, convert in writable))
            for tid in sorted(changed)
        ],
    )
    await timeline.record_many(conn, events)
    await deadline_store.open_many(conn, opened)
    return outcome
