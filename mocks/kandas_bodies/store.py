"""A body's durable memory: what it received, what it still has to decide, what it sent.

Each inbound message is deduplicated and acted on in one transaction (the ack waits for
its commit), and each decision is recorded, signed and with its message id, before it is
published, so a crash leaves either all of a change or none: a restarted body neither
loses a step nor decides it twice, and a re-sent decision is the same message. sqlite3
blocks, so every call runs in a worker thread; one lock serialises them because one
connection is shared by the body's consumer and its worker.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from contracts.cases import StepAssigned, StepAssignedEnvelope, StepWithdrawnEnvelope
from mocks.kandas_bodies.decide import Forced, Override
from mocks.kandas_bodies.faults import Imposed
from mocks.kandas_bodies.schema import Effect, StepState, open_database

T = TypeVar("T")

Inbound = StepAssignedEnvelope | StepWithdrawnEnvelope
OnTake = Callable[[StepAssigned], Imposed | None]


@dataclass(frozen=True)
class StepKey:
    case_id: str
    step: str
    round: int


@dataclass(frozen=True)
class DueStep:
    """A step whose working time is over: the body decides it now."""

    key: StepKey
    assignment: StepAssigned
    override: Override | None


@dataclass(frozen=True)
class Outgoing:
    """A recorded decision the broker has not confirmed yet."""

    key: StepKey
    message_id: str
    decision_json: str


class BodyStore:
    def __init__(
        self,
        conn: sqlite3.Connection,
        *,
        work_seconds: float,
        now: Callable[[], float] = time.time,
    ) -> None:
        self._conn = conn
        self._work_seconds = work_seconds
        # The body's clock (unix seconds): what the journal is dated with and what
        # schedules work. The admin API may shift or stop it; bookkeeping that only
        # matters to the mock itself (when a decision was last tried) stays on real time.
        self._now = now
        self._lock = threading.Lock()

    @classmethod
    async def open(
        cls, path: Path, *, work_seconds: float, now: Callable[[], float] = time.time
    ) -> BodyStore:
        conn = await asyncio.to_thread(open_database, path)
        return cls(conn, work_seconds=work_seconds, now=now)

    async def close(self) -> None:
        await self._call(self._conn.close)

    async def accept(self, envelope: Inbound, on_take: OnTake | None = None) -> Effect:
        """Journal one inbound message and act on it; `on_take` is asked for a fault only
        when an assignment is really taken (not for a duplicate)."""
        return await self._call(lambda: self._accept(envelope, self._now(), on_take))

    async def due(self, limit: int) -> list[DueStep]:
        return await self._call(lambda: self._due(self._now(), limit))

    async def postpone(self, key: StepKey, seconds: float) -> None:
        """Try a step again later (its official had no key yet, say)."""
        await self._call(lambda: self._postpone(key, self._now() + seconds))

    async def record_decision(
        self, key: StepKey, message_id: str, decision_json: str, kind: str, signer: str
    ) -> bool:
        """Record the signed decision before it is sent; False when the step was
        withdrawn meanwhile (the decision is then dropped, never sent)."""
        return await self._call(
            lambda: self._record(key, message_id, decision_json, kind, signer, self._now())
        )

    async def mark_published(self, key: StepKey) -> None:
        await self._call(lambda: self._mark_published(key, self._now()))

    async def unsent(self, decided_before: float) -> list[Outgoing]:
        """Decisions recorded (before `decided_before`, real time) but never confirmed,
        oldest first: the ones a crash or a lost channel left behind."""
        return await self._call(lambda: self._unsent(decided_before))

    async def touch_unsent(self, key: StepKey) -> None:
        """Note a failed send so the next retry waits a while."""
        await self._call(lambda: self._touch(key))

    async def next_due_at(self) -> float | None:
        return await self._call(self._next_due_at)

    # -- plumbing -------------------------------------------------------------------

    async def _call(self, fn: Callable[[], T]) -> T:
        return await asyncio.to_thread(self._locked, fn)

    def _locked(self, fn: Callable[[], T]) -> T:
        with self._lock:
            return fn()

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

    def _accept(self, envelope: Inbound, now: float, on_take: OnTake | None) -> Effect:
        message_id = str(envelope.message_id)
        payload = envelope.payload
        key = StepKey(payload.case_id, payload.step, payload.round)
        with self._transaction() as conn:
            seen = conn.execute(
                "SELECT 1 FROM journal WHERE message_id = ? LIMIT 1", (message_id,)
            ).fetchone()
            if seen is not None:
                effect = Effect.duplicate
            elif isinstance(envelope, StepAssignedEnvelope):
                effect = self._take(envelope, key, now, on_take)
            else:
                effect = self._withdraw(key, envelope.payload.reason, now)
            conn.execute(
                "INSERT INTO journal (message_id, type, case_id, step, round, received_at,"
                " effect) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    message_id,
                    envelope.type.value,
                    key.case_id,
                    key.step,
                    key.round,
                    _iso(now),
                    effect.value,
                ),
            )
        return effect

    def _take(
        self, envelope: StepAssignedEnvelope, key: StepKey, now: float, on_take: OnTake | None
    ) -> Effect:
        if self._state(key) is not None:
            # Known under another message id, or withdrawn before it arrived: a body
            # takes a step once, whatever envelope it comes in.
            return Effect.ignored
        imposed = on_take(envelope.payload) if on_take is not None else None
        extra = imposed.extra_seconds if imposed is not None else 0.0
        self._conn.execute(
            "INSERT INTO steps (case_id, step, round, message_id, assignment, state, taken_at,"
            " due_at, fault, updated_at) VALUES (?, ?, ?, ?, ?, 'working', ?, ?, ?, ?)",
            (
                key.case_id,
                key.step,
                key.round,
                str(envelope.message_id),
                envelope.payload.model_dump_json(),
                _iso(now),
                now + self._work_seconds + extra,
                _fault_json(imposed),
                _iso(now),
            ),
        )
        return Effect.taken

    def _withdraw(self, key: StepKey, reason: str, now: float) -> Effect:
        state = self._state(key)
        if state in (StepState.published, StepState.withdrawn):
            return Effect.ignored
        # Upsert: a withdrawal that overtakes its assignment must still win. A decision
        # recorded but not yet confirmed is not sent either: the step is no longer ours.
        self._conn.execute(
            "INSERT INTO steps (case_id, step, round, state, withdrawn_reason, updated_at)"
            " VALUES (?, ?, ?, 'withdrawn', ?, ?)"
            " ON CONFLICT (case_id, step, round) DO UPDATE SET state = 'withdrawn',"
            " withdrawn_reason = excluded.withdrawn_reason, due_at = NULL,"
            " updated_at = excluded.updated_at",
            (key.case_id, key.step, key.round, reason, _iso(now)),
        )
        return Effect.withdrawn

    def _state(self, key: StepKey) -> StepState | None:
        row = self._conn.execute(
            "SELECT state FROM steps WHERE case_id = ? AND step = ? AND round = ?",
            (key.case_id, key.step, key.round),
        ).fetchone()
        return StepState(row["state"]) if row is not None else None

    # -- work -----------------------------------------------------------------------

    def _due(self, now: float, limit: int) -> list[DueStep]:
        rows = self._conn.execute(
            "SELECT case_id, step, round, assignment, fault FROM steps"
            " WHERE state = 'working' AND due_at <= ? ORDER BY due_at LIMIT ?",
            (now, limit),
        ).fetchall()
        return [
            DueStep(
                key=StepKey(row["case_id"], row["step"], row["round"]),
                assignment=StepAssigned.model_validate_json(row["assignment"]),
                override=_override(row["fault"]),
            )
            for row in rows
        ]

    def _postpone(self, key: StepKey, until: float) -> None:
        self._conn.execute(
            "UPDATE steps SET due_at = ? WHERE case_id = ? AND step = ? AND round = ?"
            " AND state = 'working'",
            (until, key.case_id, key.step, key.round),
        )

    def _record(
        self,
        key: StepKey,
        message_id: str,
        decision_json: str,
        kind: str,
        signer: str,
        now: float,
    ) -> bool:
        with self._transaction() as conn:
            cursor = conn.execute(
                "UPDATE steps SET state = 'decided', decision_id = ?, decision = ?,"
                " decision_kind = ?, signer = ?, decided_at = ?, decided_real = ?,"
                " due_at = NULL, updated_at = ?"
                " WHERE case_id = ? AND step = ? AND round = ? AND state = 'working'",
                (
                    message_id,
                    decision_json,
                    kind,
                    signer,
                    _iso(now),
                    time.time(),
                    _iso(now),
                    key.case_id,
                    key.step,
                    key.round,
                ),
            )
            return cursor.rowcount == 1

    def _mark_published(self, key: StepKey, now: float) -> None:
        self._conn.execute(
            "UPDATE steps SET state = 'published', published_at = ?, updated_at = ?"
            " WHERE case_id = ? AND step = ? AND round = ? AND state = 'decided'",
            (_iso(now), _iso(now), key.case_id, key.step, key.round),
        )

    def _unsent(self, decided_before: float) -> list[Outgoing]:
        rows = self._conn.execute(
            "SELECT case_id, step, round, decision_id, decision FROM steps"
            " WHERE state = 'decided' AND decided_real <= ? ORDER BY decided_real",
            (decided_before,),
        ).fetchall()
        return [
            Outgoing(StepKey(r["case_id"], r["step"], r["round"]), r["decision_id"], r["decision"])
            for r in rows
        ]

    def _touch(self, key: StepKey) -> None:
        self._conn.execute(
            "UPDATE steps SET decided_real = ? WHERE case_id = ? AND step = ? AND round = ?"
            " AND state = 'decided'",
            (time.time(), key.case_id, key.step, key.round),
        )

    def _next_due_at(self) -> float | None:
        row = self._conn.execute("SELECT MIN(due_at) FROM steps WHERE state = 'working'").fetchone()
        value: float | None = row[0]
        return value


def _fault_json(imposed: Imposed | None) -> str | None:
    if imposed is None:
        return None
    data: dict[str, Any] = {"rule_id": imposed.rule_id, "extra_seconds": imposed.extra_seconds}
    if imposed.override is not None:
        data.update(
            kind=imposed.override.kind.value,
            remarks=imposed.override.remarks,
            force=imposed.override.force,
        )
    return json.dumps(data, ensure_ascii=False)


def _override(fault: str | None) -> Override | None:
    if not fault:
        return None
    data = json.loads(fault)
    if "kind" not in data:
        return None
    return Override(Forced(data["kind"]), data.get("remarks"), bool(data.get("force")))


def _iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).isoformat()
