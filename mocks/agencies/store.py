"""A body's durable memory: what it received, what it still owes, what it reported.

Each inbound message is deduplicated, acted on and turned into planned reports in one
transaction, so a crash leaves either all of it or none.

The calls run on the event loop, not in a worker thread. Each is a few small statements
on a local file in WAL mode with `synchronous=NORMAL`, so a commit does not wait for the
disk and a call takes tens of microseconds. A hop to a thread and back cost more CPU than
that: under `python -m bench` at 140 tasks a second, a py-spy profile of the bodies put
25 % of their time in `asyncio.to_thread`'s machinery, 16 % in
`ThreadPoolExecutor.submit` alone. Running inline also serialises the consumer and the
scheduler, which share the one connection, without a lock.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from contracts.messages import (
    AgencyInbound,
    ReportStatus,
    TaskAssignedEnvelope,
    TaskCancelledEnvelope,
    TaskReturnedEnvelope,
)
from mocks.agencies import wording
from mocks.agencies.plan import Step, WorkPlan
from mocks.agencies.schema import Effect, open_database


@dataclass(frozen=True)
class PlannedReport:
    """A status report whose message_id is already fixed on disk."""

    message_id: str
    task_id: str
    plan_id: str
    status: ReportStatus
    comment: str | None
    reason: str | None
    reported_at: datetime


@dataclass(frozen=True)
class Acceptance:
    """What became of one inbound message, and the reports its ack must wait for."""

    effect: Effect
    owed: list[PlannedReport]


@dataclass(frozen=True)
class _Task:
    plan_id: str
    state: str
    round: int


class AgencyStore:
    def __init__(
        self,
        conn: sqlite3.Connection,
        plan: WorkPlan,
        *,
        now: Callable[[], float] = time.time,
    ) -> None:
        self._conn = conn
        self._plan = plan
        # The body's clock (unix seconds): what reports and the journal are dated with and
        # what schedules work. The admin API may shift or stop it; bookkeeping that only
        # matters to the mock itself (created_at, published_at) stays on real time.
        self._now = now
        self._accepts: list[tuple[AgencyInbound, asyncio.Future[Acceptance]]] = []
        self._accepting = False
        self._drainer: asyncio.Task[None] | None = None
        self._marks: list[tuple[list[str], asyncio.Future[None]]] = []
        self._marking = False
        self._marker: asyncio.Task[None] | None = None

    @classmethod
    async def open(
        cls, path: Path, plan: WorkPlan, *, now: Callable[[], float] = time.time
    ) -> AgencyStore:
        conn = await asyncio.to_thread(open_database, path)
        return cls(conn, plan, now=now)

    async def close(self) -> None:
        self._conn.close()

    async def accept(self, envelope: AgencyInbound) -> Acceptance:
        """Journal and act on one message; concurrent calls share one transaction.

        The body's consumer handles up to its prefetch of messages at once; each one
        committing on its own cost a commit a message. The calls made in one turn of the
        event loop (the messages of one read from the broker) wait for the next commit,
        which takes them all (group commit). Each still returns only after its commit,
        so "record first, then answer, then ack" holds; a message that fails is rolled
        back to its own savepoint and fails alone.
        """
        future: asyncio.Future[Acceptance] = asyncio.get_running_loop().create_future()
        self._accepts.append((envelope, future))
        if not self._accepting:
            self._accepting = True
            self._drainer = asyncio.create_task(self._drain_accepts())
        return await future

    async def _drain_accepts(self) -> None:
        try:
            while self._accepts:
                batch, self._accepts = self._accepts, []
                envelopes = [e for e, _ in batch]
                outcomes: list[Acceptance | Exception]
                try:
                    outcomes = self._accept_many(envelopes, self._now())
                except Exception as exc:  # the whole commit failed: so did each message
                    outcomes = [exc] * len(batch)
                for (_, future), outcome in zip(batch, outcomes, strict=True):
                    if future.done():
                        continue
                    if isinstance(outcome, BaseException):
                        future.set_exception(outcome)
                    else:
                        future.set_result(outcome)
        finally:
            self._accepting = False

    async def claim_due(self, now: float, limit: int) -> list[PlannedReport]:
        """Plan the reports of every step that is due and move each task on.

        A task whose previous report is not yet confirmed is skipped, so that the body's
        reports on one task leave in order.
        """
        return self._claim_due(now, limit)

    async def mark_published(self, message_ids: Sequence[str]) -> None:
        """Record confirmed reports; the calls of one turn of the loop share one transaction,
        as in `accept`."""
        if not message_ids:
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._marks.append((list(message_ids), future))
        if not self._marking:
            self._marking = True
            self._marker = asyncio.create_task(self._drain_marks())
        await future

    async def _drain_marks(self) -> None:
        try:
            while self._marks:
                batch, self._marks = self._marks, []
                ids = [m for chunk, _ in batch for m in chunk]
                error: Exception | None = None
                try:
                    self._mark_published(ids)
                except Exception as exc:
                    error = exc
                for _, future in batch:
                    if future.done():
                        continue
                    if error is not None:
                        future.set_exception(error)
                    else:
                        future.set_result(None)
        finally:
            self._marking = False

    async def unpublished(self, created_before: float) -> list[PlannedReport]:
        """Reports planned but never confirmed, oldest first: the ones a crash or a lost
        channel left behind."""
        return self._unpublished(created_before)

    async def next_due_at(self) -> float | None:
        return self._next_due_at()

    # -- plumbing -------------------------------------------------------------------

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield self._conn
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    # -- inbound --------------------------------------------------------------------

    def _accept_many(
        self, envelopes: Sequence[AgencyInbound], now: float
    ) -> list[Acceptance | Exception]:
        """Each message under its own savepoint, all in one transaction, in order."""
        outcomes: list[Acceptance | Exception] = []
        with self._transaction() as conn:
            for envelope in envelopes:
                conn.execute("SAVEPOINT one_message")
                try:
                    outcomes.append(self._accept_in(conn, envelope, now))
                except Exception as exc:
                    conn.execute("ROLLBACK TO one_message")
                    outcomes.append(exc)
                conn.execute("RELEASE one_message")
        return outcomes

    def _accept_in(
        self, conn: sqlite3.Connection, envelope: AgencyInbound, now: float
    ) -> Acceptance:
        message_id = str(envelope.message_id)
        task_id = envelope.payload.task_id
        seen = conn.execute(
            "SELECT 1 FROM journal WHERE message_id = ? LIMIT 1", (message_id,)
        ).fetchone()
        if seen is not None:
            acceptance = Acceptance(Effect.duplicate, self._owed_by(message_id))
        elif isinstance(envelope, TaskAssignedEnvelope):
            acceptance = self._assign(envelope, now)
        elif isinstance(envelope, TaskReturnedEnvelope):
            acceptance = self._return(envelope, now)
        else:
            acceptance = self._cancel(envelope, now)
        conn.execute(
            "INSERT INTO journal (message_id, type, task_id, received_at, duplicate, effect)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (
                message_id,
                envelope.type.value,
                task_id,
                _iso(now),
                int(acceptance.effect is Effect.duplicate),
                acceptance.effect.value,
            ),
        )
        return acceptance

    def _assign(self, envelope: TaskAssignedEnvelope, now: float) -> Acceptance:
        task = envelope.payload
        if self._task(task.task_id) is not None:
            # Already known under another message id (or cancelled before it arrived):
            # a body takes a task once, whatever envelope it comes in.
            return Acceptance(Effect.ignored, [])
        delay = self._plan.working_time(task.task_id, 0, Step.in_progress)
        self._conn.execute(
            "INSERT INTO tasks (task_id, plan_id, state, round, next_step, next_at, updated_at)"
            " VALUES (?, ?, 'working', 0, ?, ?, ?)",
            (task.task_id, task.plan_id, Step.in_progress.value, now + delay, _iso(now)),
        )
        received = self._plan_report(
            task.task_id,
            task.plan_id,
            ReportStatus.received,
            now,
            source=str(envelope.message_id),
            comment=wording.received_comment(),
        )
        return Acceptance(Effect.taken, [received])

    def _return(self, envelope: TaskReturnedEnvelope, now: float) -> Acceptance:
        ret = envelope.payload
        known = self._task(ret.task_id)
        if known is not None and (known.state == "cancelled" or ret.round <= known.round):
            return Acceptance(Effect.ignored, [])
        if known is None:
            # The body lost track of the task (e.g. its state was wiped); answering the
            # return is more useful to the gateway than silence.
            self._conn.execute(
                "INSERT INTO tasks (task_id, plan_id, state, round, updated_at)"
                " VALUES (?, ?, 'working', 0, ?)",
                (ret.task_id, ret.plan_id, _iso(now)),
            )
        owed: list[PlannedReport] = []
        if self._plan.reworks(ret.task_id, ret.round):
            next_step = Step.done
            owed.append(
                self._plan_report(
                    ret.task_id,
                    ret.plan_id,
                    ReportStatus.in_progress,
                    now,
                    source=str(envelope.message_id),
                    comment=wording.in_progress_comment(ret.round),
                )
            )
        else:
            next_step = Step.rejected
        delay = self._plan.working_time(ret.task_id, ret.round, next_step)
        self._conn.execute(
            "UPDATE tasks SET state = 'working', round = ?, next_step = ?, next_at = ?,"
            " updated_at = ? WHERE task_id = ?",
            (ret.round, next_step.value, now + delay, _iso(now), ret.task_id),
        )
        return Acceptance(Effect.applied, owed)

    def _cancel(self, envelope: TaskCancelledEnvelope, now: float) -> Acceptance:
        cancel = envelope.payload
        # Upsert: a cancellation that overtakes its assignment must still win.
        self._conn.execute(
            "INSERT INTO tasks (task_id, plan_id, state, round, updated_at)"
            " VALUES (?, ?, 'cancelled', 0, ?)"
            " ON CONFLICT (task_id) DO UPDATE SET state = 'cancelled', next_step = NULL,"
            " next_at = NULL, updated_at = excluded.updated_at",
            (cancel.task_id, cancel.plan_id, _iso(now)),
        )
        return Acceptance(Effect.applied, [])

    # -- schedule -------------------------------------------------------------------

    def _claim_due(self, now: float, limit: int) -> list[PlannedReport]:
        with self._transaction() as conn:
            rows = conn.execute(
                "SELECT task_id, plan_id, round, next_step FROM tasks t"
                " WHERE next_step IS NOT NULL AND next_at <= ?"
                f" AND {_NOTHING_UNCONFIRMED} ORDER BY next_at LIMIT ?",
                (now, limit),
            ).fetchall()
            return [self._advance(row, now) for row in rows]

    def _advance(self, row: sqlite3.Row, now: float) -> PlannedReport:
        task_id: str = row["task_id"]
        plan_id: str = row["plan_id"]
        round_: int = row["round"]
        step = Step(row["next_step"])
        if step is Step.in_progress:
            following = self._plan.after_in_progress(task_id, round_)
            delay = self._plan.working_time(task_id, round_, following)
            self._conn.execute(
                "UPDATE tasks SET next_step = ?, next_at = ?, updated_at = ? WHERE task_id = ?",
                (following.value, now + delay, _iso(now), task_id),
            )
            return self._plan_report(
                task_id,
                plan_id,
                ReportStatus.in_progress,
                now,
                comment=wording.in_progress_comment(round_),
            )
        self._conn.execute(
            "UPDATE tasks SET state = 'finished', next_step = NULL, next_at = NULL,"
            " updated_at = ? WHERE task_id = ?",
            (_iso(now), task_id),
        )
        if step is Step.done:
            return self._plan_report(
                task_id, plan_id, ReportStatus.done, now, comment=wording.done_comment(round_)
            )
        reason = self._plan.rejection_reason(task_id, round_)
        return self._plan_report(task_id, plan_id, ReportStatus.rejected, now, reason=reason)

    def _next_due_at(self) -> float | None:
        row = self._conn.execute(
            "SELECT MIN(next_at) FROM tasks t WHERE next_step IS NOT NULL"
            f" AND {_NOTHING_UNCONFIRMED}"
        ).fetchone()
        value: float | None = row[0]
        return value

    # -- reports --------------------------------------------------------------------

    def _plan_report(
        self,
        task_id: str,
        plan_id: str,
        status: ReportStatus,
        now: float,
        *,
        source: str | None = None,
        comment: str | None = None,
        reason: str | None = None,
    ) -> PlannedReport:
        report = PlannedReport(
            message_id=str(uuid.uuid4()),
            task_id=task_id,
            plan_id=plan_id,
            status=status,
            comment=comment,
            reason=reason,
            reported_at=datetime.fromtimestamp(now, UTC),
        )
        self._conn.execute(
            "INSERT INTO reports (message_id, task_id, plan_id, source_message_id, status,"
            " comment, reason, reported_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                report.message_id,
                task_id,
                plan_id,
                source,
                status.value,
                comment,
                reason,
                report.reported_at.isoformat(),
                time.time(),
            ),
        )
        return report

    def _owed_by(self, source_message_id: str) -> list[PlannedReport]:
        rows = self._conn.execute(
            f"SELECT {_REPORT_COLUMNS} FROM reports"
            " WHERE source_message_id = ? AND published_at IS NULL ORDER BY seq",
            (source_message_id,),
        ).fetchall()
        return [_report(row) for row in rows]

    def _unpublished(self, created_before: float) -> list[PlannedReport]:
        rows = self._conn.execute(
            f"SELECT {_REPORT_COLUMNS} FROM reports"
            " WHERE published_at IS NULL AND created_at <= ? ORDER BY seq",
            (created_before,),
        ).fetchall()
        return [_report(row) for row in rows]

    def _mark_published(self, message_ids: Sequence[str]) -> None:
        stamp = _iso(time.time())
        with self._transaction() as conn:
            conn.executemany(
                "UPDATE reports SET published_at = ? WHERE message_id = ? AND published_at IS NULL",
                [(stamp, message_id) for message_id in message_ids],
            )

    def _task(self, task_id: str) -> _Task | None:
        row = self._conn.execute(
            "SELECT plan_id, state, round FROM tasks WHERE task_id = ?", (task_id,)
        ).fetchone()
        if row is None:
            return None
        return _Task(plan_id=row["plan_id"], state=row["state"], round=row["round"])


_NOTHING_UNCONFIRMED = (
    "NOT EXISTS (SELECT 1 FROM reports r WHERE r.task_id = t.task_id AND r.published_at IS NULL)"
)
_REPORT_COLUMNS = "message_id, task_id, plan_id, status, comment, reason, reported_at"


def _report(row: sqlite3.Row) -> PlannedReport:
    return PlannedReport(
        message_id=row["message_id"],
        task_id=row["task_id"],
        plan_id=row["plan_id"],
        status=ReportStatus(row["status"]),
        comment=row["comment"],
        reason=row["reason"],
        reported_at=datetime.fromisoformat(row["reported_at"]),
    )


def _iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).isoformat()
