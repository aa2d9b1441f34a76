"""Submit by group commit: concurrent submits share one transaction.

Each submit on its own costs a transaction (on SQLite a turn of the one writer's lock,
on PostgreSQL a pool connection held across a dozen round trips) and a second one to
read the plan back. Submits that arrive within a few milliseconds of each other are
written one after another in one transaction instead, and each answer is built from
the rows it wrote (`queries.view_of_written`), so a plan costs its inserts and nothing
more.

Nothing is answered before the commit: a centre that got its 201 has its plan on disk.
Any failure in a group (a submit the rules refuse, a lost connection, two submits racing
on one Idempotency-Key) rolls the whole group back, and each of its submits is then
written alone in a transaction of its own, as before group commit: the refused one is
refused alone, the others are accepted. So no failure can leave half a plan behind.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts.plans import PlanSubmission, PlanView
from gateway.auth import Caller
from gateway.services import plans as plan_service
from gateway.services import queries
from gateway.services.context import Context


@dataclass(frozen=True)
class _Submit:
    submission: PlanSubmission
    caller: Caller
    idempotency_key: str | None
    now: datetime
    answer: asyncio.Future[tuple[plan_service.SubmitResult, PlanView]]


class SubmitGroup:
    def __init__(
        self,
        engine: AsyncEngine,
        ctx: Context,
        *,
        on_commit: Callable[[], None] = lambda: None,
        linger_seconds: float = 0.002,
        max_group: int = 64,
    ) -> None:
        self._engine = engine
        self._ctx = ctx
        self._on_commit = on_commit
        self._linger = linger_seconds
        self._max = max_group
        self._waiting: list[_Submit] = []
        self._writer: asyncio.Task[None] | None = None

    async def submit(
        self,
        submission: PlanSubmission,
        caller: Caller,
        *,
        idempotency_key: str | None,
        now: datetime,
    ) -> tuple[plan_service.SubmitResult, PlanView]:
        answer: asyncio.Future[tuple[plan_service.SubmitResult, PlanView]]
        answer = asyncio.get_running_loop().create_future()
        self._waiting.append(_Submit(submission, caller, idempotency_key, now, answer))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write())
        return await answer

    async def _write(self) -> None:
        while self._waiting:
            if len(self._waiting) < self._max and self._linger > 0:
                await asyncio.sleep(self._linger)  # let the concurrent submits join
            group, self._waiting = self._waiting[: self._max], self._waiting[self._max :]
            try:
                await self._write_group(group)
            except Exception:
                for item in group:
                    await self._write_alone(item)
            self._on_commit()  # wake the relay: the group's tasks are in the outbox

    async def _write_group(self, group: list[_Submit]) -> None:
        answers: list[tuple[_Submit, tuple[plan_service.SubmitResult, PlanView]]] = []
        async with self._engine.begin() as conn:
            for item in group:
                result = await plan_service.submit_plan(
                    conn,
                    self._ctx,
                    item.submission,
                    item.caller,
                    idempotency_key=item.idempotency_key,
                    now=item.now,
                )
                if result.written is not None:
                    view = queries.view_of_written(result.written, item.now)
                else:  # an Idempotency-Key seen before: the plan as it stands
                    view = await queries.read_plan(conn, result.plan_id, item.caller, item.now)
                answers.append((item, (result, view)))
        for item, outcome in answers:  # committed: now they may be told
            if not item.answer.done():
                item.answer.set_result(outcome)

    async def _write_alone(self, item: _Submit) -> None:
        """One submit in its own transaction: the retry of a group that failed."""
        if item.answer.done():
            return
        try:
            try:
                async with self._engine.begin() as conn:
                    result = await plan_service.submit_plan(
                        conn,
                        self._ctx,
                        item.submission,
                        item.caller,
                        idempotency_key=item.idempotency_key,
                        now=item.now,
                    )
                    view = await queries.read_plan(conn, result.plan_id, item.caller, item.now)
            except IntegrityError:
                # Two submits with one key raced; the loser reads the winner's plan.
                if not item.idempotency_key:
                    raise
                async with self._engine.begin() as conn:
                    found = await plan_service.find_by_idempotency_key(
                        conn,
                        item.submission.centre,
                        item.idempotency_key,
                        plan_service.request_fingerprint(item.submission),
                    )
                    if found is None:
                        raise
                    result = plan_service.SubmitResult(found, created=False)
                    view = await queries.read_plan(conn, found, item.caller, item.now)
        except Exception as error:
            item.answer.set_exception(error)
            return
        item.answer.set_result((result, view))
