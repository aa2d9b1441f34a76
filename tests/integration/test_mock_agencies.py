"""The mock bodies against the real RabbitMQ, with the test playing the gateway.

Each test gets its own name prefix, so tests never see each other's messages and can
run against a broker that a developer is also using.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from uuid import uuid4

import aio_pika
import pytest
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage, AbstractRobustConnection

from contracts.amqp import Topology, persistent_message
from contracts.iin import next_valid_iin
from contracts.messages import (
    Beneficiary,
    ReportStatus,
    StatusEnvelope,
    TaskAssigned,
    TaskAssignedEnvelope,
    TaskCancelled,
    TaskCancelledEnvelope,
    TaskReturned,
    TaskReturnedEnvelope,
)
from gateway.ids import new_uuid
from mocks.agencies.config import AgencyBehaviour
from mocks.agencies.journal import count_taken, journal
from mocks.agencies.plan import Step, WorkPlan
from mocks.agencies.runner import run_agencies
from mocks.agencies.schema import Effect, database_path
from mocks.agencies.store import AgencyStore

AMQP_URL = os.environ.get("GATEWAY_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
AGENCY = "health"
FAST = AgencyBehaviour(work_seconds=0.05)

Envelope = TaskAssignedEnvelope | TaskReturnedEnvelope | TaskCancelledEnvelope


# -- the gateway's side ------------------------------------------------------------------


@dataclass
class FakeGateway:
    prefix: str
    topology: Topology
    channel: AbstractChannel
    reports: asyncio.Queue[StatusEnvelope] = field(default_factory=asyncio.Queue)

    async def send(self, envelope: Envelope) -> None:
        await self.send_raw(
            envelope.model_dump_json().encode(),
            message_id=str(envelope.message_id),
            message_type=envelope.type.value,
        )

    async def send_raw(
        self, body: bytes, *, message_id: str, message_type: str = "task.assigned"
    ) -> None:
        tasks = await self.channel.get_exchange(self.topology.tasks_exchange, ensure=False)
        message = persistent_message(
            body, message_id=message_id, correlation_id="plan", message_type=message_type
        )
        await tasks.publish(message, routing_key=AGENCY, mandatory=True)

    async def expect(self, count: int, within: float = 5.0) -> list[StatusEnvelope]:
        """The next `count` reports, in the order the status queue delivered them."""
        async with asyncio.timeout(within):
            return [await self.reports.get() for _ in range(count)]

    async def quiet(self, seconds: float) -> list[StatusEnvelope]:
        """Whatever arrives within `seconds`: proves that nothing more is coming."""
        extra: list[StatusEnvelope] = []
        loop = asyncio.get_running_loop()
        until = loop.time() + seconds
        while (left := until - loop.time()) > 0:
            try:
                extra.append(await asyncio.wait_for(self.reports.get(), left))
            except TimeoutError:
                break
        return extra

    async def dead_letters(self, count: int, within: float = 5.0) -> list[AbstractIncomingMessage]:
        """The first `count` messages dead-lettered from the body's queue."""
        queue = await self.channel.get_queue(self.topology.dead_queue(AGENCY), ensure=False)
        found: list[AbstractIncomingMessage] = []
        async with asyncio.timeout(within):
            while True:
                message = await queue.get(no_ack=True, fail=False)
                if message is not None:
                    found.append(message)
                if len(found) == count:
                    return found
                if message is None:
                    await asyncio.sleep(0.05)


@pytest.fixture
async def gateway() -> AsyncIterator[FakeGateway]:
    prefix = f"t{uuid4().hex[:8]}"
    topology = Topology(prefix, (AGENCY,))
    connection: AbstractRobustConnection = await aio_pika.connect_robust(AMQP_URL)
    try:
        channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
        await topology.declare(channel)
        fake = FakeGateway(prefix, topology, channel)

        async def collect(message: AbstractIncomingMessage) -> None:
            await fake.reports.put(StatusEnvelope.model_validate_json(message.body))
            await message.ack()

        status = await channel.get_queue(topology.status_queue, ensure=False)
        tag = await status.consume(collect)
        try:
            yield fake
        finally:
            await status.cancel(tag)
            await topology.delete(channel)
    finally:
        await connection.close()


@asynccontextmanager
async def mock_agency(
    gateway: FakeGateway, state_dir: Path, behaviour: AgencyBehaviour = FAST
) -> AsyncIterator[None]:
    stop = asyncio.Event()
    runner = asyncio.create_task(
        run_agencies(
            [AGENCY],
            amqp_url=AMQP_URL,
            prefix=gateway.prefix,
            state_dir=state_dir,
            behaviour=behaviour,
            stop=stop,
        )
    )
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(runner, 15)


# -- messages --------------------------------------------------------------------------


def assigned(task_id: str | None = None) -> TaskAssignedEnvelope:
    task_id = task_id or f"task-{uuid4().hex[:12]}"
    plan_id = f"plan-{uuid4().hex[:12]}"
    now = datetime.now(UTC)
    return TaskAssignedEnvelope(
        message_id=new_uuid(),
        correlation_id=plan_id,
        occurred_at=now,
        sent_at=now,
        payload=TaskAssigned(
            task_id=task_id,
            plan_id=plan_id,
            centre="almaty-bostandyk",
            agency=AGENCY,
            title="Medical examination of the children",
            beneficiaries=[
                Beneficiary(
                    iin=next_valid_iin(date(2015, 3, 1), "female", 1),
                    last_name="Sarsenova",
                    first_name="Aigerim",
                )
            ],
        ),
    )


def returned(task: TaskAssignedEnvelope, round_: int) -> TaskReturnedEnvelope:
    now = datetime.now(UTC)
    return TaskReturnedEnvelope(
        message_id=new_uuid(),
        correlation_id=task.correlation_id,
        occurred_at=now,
        payload=TaskReturned(
            task_id=task.payload.task_id,
            plan_id=task.payload.plan_id,
            agency=AGENCY,
            round=round_,
            reason="The report does not say which clinic examined the children.",
        ),
    )


def cancelled(task: TaskAssignedEnvelope) -> TaskCancelledEnvelope:
    now = datetime.now(UTC)
    return TaskCancelledEnvelope(
        message_id=new_uuid(),
        correlation_id=task.correlation_id,
        occurred_at=now,
        payload=TaskCancelled(
            task_id=task.payload.task_id,
            plan_id=task.payload.plan_id,
            agency=AGENCY,
            reason="The family moved to another region.",
        ),
    )


def statuses(reports: Sequence[StatusEnvelope]) -> list[ReportStatus]:
    return [report.payload.status for report in reports]


async def journal_settles(state_dir: Path, rows: int, within: float = 5.0) -> None:
    """Wait until the body has journalled `rows` messages (acks may trail the reports)."""
    async with asyncio.timeout(within):
        while True:
            if len(journal(state_dir, AGENCY)) >= rows:
                return
            await asyncio.sleep(0.02)


# -- tests -----------------------------------------------------------------------------


@pytest.mark.integration
async def test_task_is_received_then_in_progress_then_done(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    task = assigned()
    async with mock_agency(gateway, tmp_path):
        await gateway.send(task)
        reports = await gateway.expect(3)

    assert statuses(reports) == [ReportStatus.received, ReportStatus.in_progress, ReportStatus.done]
    for report in reports:
        assert report.correlation_id == task.payload.plan_id
        assert report.payload.task_id == task.payload.task_id
        assert report.payload.agency == AGENCY
    assert len({report.message_id for report in reports}) == 3
    assert reports[-1].payload.comment
    assert count_taken(tmp_path, AGENCY, task.payload.task_id) == 1


@pytest.mark.integration
async def test_duplicate_delivery_is_taken_once(gateway: FakeGateway, tmp_path: Path) -> None:
    task = assigned()
    async with mock_agency(gateway, tmp_path):
        await gateway.send(task)
        await gateway.send(task)  # redelivered while the first copy is being handled
        reports = await gateway.expect(3)
        await gateway.send(task)  # and once more long after the task was done
        extra = await gateway.quiet(0.4)
        await journal_settles(tmp_path, 3)

    assert statuses(reports) == [ReportStatus.received, ReportStatus.in_progress, ReportStatus.done]
    assert extra == []
    entries = journal(tmp_path, AGENCY)
    assert [entry.duplicate for entry in entries] == [False, True, True]
    assert {entry.message_id for entry in entries} == {str(task.message_id)}
    assert count_taken(tmp_path, AGENCY, task.payload.task_id) == 1


@pytest.mark.integration
async def test_reject_rate_one_rejects_with_a_reason(gateway: FakeGateway, tmp_path: Path) -> None:
    task = assigned()
    behaviour = AgencyBehaviour(work_seconds=0.05, reject_rate=1.0)
    async with mock_agency(gateway, tmp_path, behaviour):
        await gateway.send(task)
        reports = await gateway.expect(3)
        extra = await gateway.quiet(0.2)

    assert statuses(reports) == [
        ReportStatus.received,
        ReportStatus.in_progress,
        ReportStatus.rejected,
    ]
    reason = reports[-1].payload.reason
    assert reason is not None and "компетенции" in reason
    assert extra == []


@pytest.mark.integration
async def test_returned_task_is_reworked(gateway: FakeGateway, tmp_path: Path) -> None:
    task = assigned()
    behaviour = AgencyBehaviour(work_seconds=0.05, rework_rate=1.0)
    async with mock_agency(gateway, tmp_path, behaviour):
        await gateway.send(task)
        first = await gateway.expect(3)
        await gateway.send(returned(task, 1))
        rework = await gateway.expect(2)

    assert statuses(first)[-1] is ReportStatus.done
    assert statuses(rework) == [ReportStatus.in_progress, ReportStatus.done]
    assert "доработка 1" in (rework[-1].payload.comment or "")
    assert count_taken(tmp_path, AGENCY, task.payload.task_id) == 1


@pytest.mark.integration
async def test_returned_task_can_be_refused(gateway: FakeGateway, tmp_path: Path) -> None:
    task = assigned()
    behaviour = AgencyBehaviour(work_seconds=0.05, rework_rate=0.0)
    async with mock_agency(gateway, tmp_path, behaviour):
        await gateway.send(task)
        await gateway.expect(3)
        await gateway.send(returned(task, 1))
        (answer,) = await gateway.expect(1)

    assert answer.payload.status is ReportStatus.rejected
    assert "доработка 1" in (answer.payload.reason or "")


@pytest.mark.integration
async def test_cancellation_stops_pending_work(gateway: FakeGateway, tmp_path: Path) -> None:
    task = assigned()
    behaviour = AgencyBehaviour(work_seconds=0.3)
    async with mock_agency(gateway, tmp_path, behaviour):
        await gateway.send(task)
        (received,) = await gateway.expect(1)
        await gateway.send(cancelled(task))
        later = await gateway.quiet(0.9)  # in_progress was due at 0.3 s, done at 0.6 s
        await journal_settles(tmp_path, 2)

    assert received.payload.status is ReportStatus.received
    assert later == []
    last = journal(tmp_path, AGENCY)[-1]
    assert (last.type, last.effect) == ("task.cancelled", Effect.applied)


@pytest.mark.integration
async def test_restarted_mock_finishes_pending_work(gateway: FakeGateway, tmp_path: Path) -> None:
    task = assigned()
    behaviour = AgencyBehaviour(work_seconds=0.4)
    async with mock_agency(gateway, tmp_path, behaviour):
        await gateway.send(task)
        (received,) = await gateway.expect(1)
    # Stopped mid-work (normally before in_progress is due, but a slow shutdown may
    # still have sent it); what remains is on disk only.
    early = await gateway.quiet(0.05)
    async with mock_agency(gateway, tmp_path, behaviour):
        rest = await gateway.expect(2 - len(early))
        extra = await gateway.quiet(0.2)

    assert received.payload.status is ReportStatus.received
    assert statuses([*early, *rest]) == [ReportStatus.in_progress, ReportStatus.done]
    assert rest[-1].payload.status is ReportStatus.done
    assert extra == []
    in_progress, done = [*early, *rest]
    assert done.payload.reported_at - in_progress.payload.reported_at >= timedelta(seconds=0.35)
    assert count_taken(tmp_path, AGENCY, task.payload.task_id) == 1


@pytest.mark.integration
async def test_report_planned_before_a_crash_is_resent_with_its_id(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    # Simulate a crash between the commit and the publish: the store has the task and
    # its planned `received` report, the broker has seen nothing.
    task = assigned()
    store = await AgencyStore.open(database_path(tmp_path, AGENCY), WorkPlan(FAST, AGENCY))
    acceptance = await store.accept(task)
    await store.close()
    (planned,) = acceptance.owed

    async with mock_agency(gateway, tmp_path):
        reports = await gateway.expect(3)
        # The assignment itself is redelivered too (it was never acked): a duplicate.
        await gateway.send(task)
        extra = await gateway.quiet(0.3)

    assert statuses(reports) == [ReportStatus.received, ReportStatus.in_progress, ReportStatus.done]
    assert str(reports[0].message_id) == planned.message_id
    assert extra == []
    assert count_taken(tmp_path, AGENCY, task.payload.task_id) == 1


@pytest.mark.integration
async def test_unreadable_message_is_dead_lettered_and_consumer_survives(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    wrong_shape = assigned().model_dump(mode="json")
    wrong_shape["payload"]["beneficiaries"][0]["iin"] = "123456789012"  # bad control digit

    task = assigned()
    async with mock_agency(gateway, tmp_path):
        await gateway.send_raw(b"{not json", message_id="garbage-1")
        await gateway.send_raw(json.dumps(wrong_shape).encode(), message_id="garbage-2")
        await gateway.send(task)
        reports = await gateway.expect(3)
        dead = await gateway.dead_letters(2)

    assert statuses(reports) == [ReportStatus.received, ReportStatus.in_progress, ReportStatus.done]
    assert {message.message_id for message in dead} == {"garbage-1", "garbage-2"}
    assert [entry.message_id for entry in journal(tmp_path, AGENCY)] == [str(task.message_id)]


def test_choices_are_repeatable_per_seed() -> None:
    behaviour = AgencyBehaviour(reject_rate=0.5, rework_rate=0.5, jitter=0.5, seed=7)
    first, again = WorkPlan(behaviour, AGENCY), WorkPlan(behaviour, AGENCY)
    other = WorkPlan(AgencyBehaviour(reject_rate=0.5, rework_rate=0.5, seed=8), AGENCY)
    tasks = [f"task-{n}" for n in range(200)]

    decisions = [(first.rejects(t), first.reworks(t, 1)) for t in tasks]
    assert decisions == [(again.rejects(t), again.reworks(t, 1)) for t in tasks]
    assert decisions != [(other.rejects(t), other.reworks(t, 1)) for t in tasks]
    assert 60 < sum(rejected for rejected, _ in decisions) < 140
    times = [first.working_time(t, 0, Step.in_progress) for t in tasks]
    assert all(0.5 <= value <= 1.5 for value in times)
    assert times == [again.working_time(t, 0, Step.in_progress) for t in tasks]
