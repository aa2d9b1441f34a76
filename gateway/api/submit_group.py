"""Submit by group commit: concurrent submits share one transaction.

Each submit on its own costs a transaction (on SQLite a turn of the one writer's lock,
on PostgreSQL a pool connection held across a dozen round trips) and a second one to
read the plan back. Submits that arrive within a few milliseconds of each other are
written one after another in one transaction instead, and each answer is built from
the rows it wrote (`queries.view_of_written`), so a plan costs its inserts and nothing
more.

Nothing is answered before the commit: a centre that got its 201 has its plan on disk.
A submit the rules refuse (a body that is not connected, a date in the future) is
refused before the group's transaction and leaves the group; so does a new plan of a
centre that is not (or no longer) in the register, found in the group's transaction with
one query for all its centres, before anything is written. The group's plans are then
written with one statement per table (`plans.write_plans`), and its Idempotency-Keys
looked up in one query. Any other failure in a group (a lost connection, a key reused for
another plan, one key twice in the group, two submits racing on one key) rolls the whole
group back, and each of its submits is then written alone in a transaction of its own,
as before group commit. So no failure can leave half a plan behind.

On PostgreSQL more than one group may be in its transaction at once (`max_writers`,
each on a pool connection of its own). With one writer, a submit that arrives while a
group is being written waits for that group's round trips and then for its own (two
writers against one at `--rate 200`: submit p99 73 / 49 / 51 ms against 109 / 73 / 51,
bench/README.md, session 9). Groups are independent (each
writes rows of its own; two racing on one Idempotency-Key fail on the unique index and
are settled one by one, as above), and the outbox relay claims rows by lease, not by a
high-water mark, so groups may commit in any order. SQLite has one connection, so there
a second writer would only wait for the first.
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
from gateway.services import centres, queries
from gateway.services import plans as plan_service
from gateway.services.context import Context


class _OneByOne(Exception):
    """A group that must be settled submit by submit, each in its own transaction."""


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
        max_writers: int = 1,
    ) -> None:
        self._engine = engine
        self._ctx = ctx
        self._on_commit = on_commit
        self._linger = linger_seconds
        self._max = max_group
        self._max_writers = max(1, max_writers)
        self._waiting: list[_Submit] = []
        self._writers: set[asyncio.Task[None]] = set()
        self._gathering = False
        """A writer is in its linger: a new submit joins its group instead of starting one."""

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
        self._start_writer()
        return await answer

    def _start_writer(self) -> None:
        """A new writer when submits wait that no writer is gathering and one is free.
        It owns the gathering from now on, so the submits of this turn of the loop join
        its group instead of starting writers of their own."""
        if self._waiting and not self._gathering and len(self._writers) < self._max_writers:
            self._gathering = True
            writer = asyncio.create_task(self._write())
            self._writers.add(writer)
            writer.add_done_callback(self._writers.discard)

    async def _write(self) -> None:
        """Gather a group, write it, and go on while submits wait that no other writer
        is gathering (those that arrive while every writer is busy are taken by the
        first to finish)."""
        while True:
            try:
                if len(self._waiting) < self._max and self._linger > 0:
                    await asyncio.sleep(self._linger)  # let the concurrent submits join
            finally:
                self._gathering = False
            group, self._waiting = self._waiting[: self._max], self._waiting[self._max :]
            self._start_writer()  # more than a group waits: another writer takes the rest
            try:
                await self._write_group(group)
            except Exception:
                for item in group:
                    await self._write_alone(item)
            self._on_commit()  # wake the relay: the group's tasks are in the outbox
            if not self._waiting or self._gathering:
                return
            self._gathering = True

    async def _write_group(self, group: list[_Submit]) -> None:
        """The group's plans in one transaction and one statement per table.

        A submit the rules refuse is answered at once and leaves the group; anything
        else that fails (a key used for another plan, a key twice in one group, the
        store) fails the group, which is then written one by one (`_write`).
        """
        checked: list[_Submit] = []
        for item in group:
            try:
                plan_service.check_submission(self._ctx, item.submission, item.caller, item.now)
            except Exception as refused:
                if not item.answer.done():
                    item.answer.set_exception(refused)
                continue
            checked.append(item)
        if not checked:
            return
        keyed = [(i.submission.centre, i.idempotency_key) for i in checked if i.idempotency_key]
        if len(set(keyed)) != len(keyed):
            raise _OneByOne("one Idempotency-Key twice in a group")
        answers: list[tuple[_Submit, tuple[plan_service.SubmitResult, PlanView]]] = []
        async with self._engine.begin() as conn:
            used = await plan_service.find_by_idempotency_keys(conn, keyed)
            registered = await centres.open_codes(conn, {i.submission.centre for i in checked})
            prepared: list[plan_service.PreparedPlan] = []
            for item in checked:
                fingerprint = plan_service.request_fingerprint(item.submission)
                seen = used.get((item.submission.centre, item.idempotency_key or ""))
                if item.idempotency_key and seen is not None:
                    plan_id, request_hash = seen
                    if request_hash != fingerprint:
                        raise _OneByOne("an Idempotency-Key used for another plan")
                    view = await queries.read_plan(conn, plan_id, item.caller, item.now)
                    again = plan_service.SubmitResult(plan_id, created=False)
                    answers.append((item, (again, view)))
                    continue
                if item.submission.centre not in registered:
                    if not item.answer.done():  # nothing of it is written
                        item.answer.set_exception(centres.not_registered(item.submission.centre))
                    continue
                plan = plan_service.prepare_plan(
                    self._ctx,
                    item.submission,
                    item.caller,
                    idempotency_key=item.idempotency_key,
                    fingerprint=fingerprint,
                    now=item.now,
                )
                prepared.append(plan)
                result = plan_service.SubmitResult(plan.plan["id"], True, plan.written)
                answers.append((item, (result, queries.view_of_written(plan.written, item.now))))
            await plan_service.write_plans(conn, prepared)
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
