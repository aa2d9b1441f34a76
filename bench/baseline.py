"""The bare pipeline: the gateway's message pattern through the same broker, nothing else.

What the gateway's hot path should be compared with is what the broker alone can carry
with the same pattern, measured in the same minute on the same machine (a figure from
another day says nothing on a shared 2-core box). The pattern, as the gateway and the
mock bodies run it:

- a task is published with publisher confirms (mandatory, persistent) to the tasks
  exchange and routed to one of 4 durable quorum queues, one per body, in pipelined
  batches as the outbox relay does;
- a body takes it, publishes `received`, `in_progress` and `done` to the status
  exchange with confirms, one after another as a body's system would, and acks the task;
- a collector consumes the status queue and acks each report.

There is no store and no HTTP. The message bodies are real envelopes of the same shape
and size as the gateway's (a task with its two beneficiaries, a status report).

The queues get a prefix of their own, derived from the deployment's, and are deleted at
the end, so a baseline never touches the gateway's queues.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractExchange, AbstractIncomingMessage

from contracts.amqp import STATUS_ROUTING_KEY, Topology, persistent_message
from contracts.iin import next_valid_iin
from contracts.messages import (
    Beneficiary,
    MessageType,
    ReportStatus,
    StatusEnvelope,
    StatusReport,
    TaskAssigned,
    TaskAssignedEnvelope,
)

RELAY_BATCH = 200  # the outbox relay's default batch
BODY_PREFETCH = 50  # the mock bodies' prefetch
COLLECTOR_PREFETCH = 100  # the status collector's prefetch
REPORTS = (ReportStatus.received, ReportStatus.in_progress, ReportStatus.done)


@dataclass(frozen=True)
class BaselineResult:
    tasks: int
    tasks_done: int
    seconds: float | None
    tasks_per_second: float | None
    timed_out: bool
    cpu_seconds: float | None = None
    """CPU time of the bench's process over the same span: the bare pipeline's relay,
    bodies and collector sides together, so a measure of this machine's speed for the
    message pattern to set the gateway's and the bodies' CPU a task against."""


def task_body(index: int, agency: str, now: datetime) -> bytes:
    """A task envelope like the gateway's: same fields, same beneficiaries, same size."""
    parent = next_valid_iin(date(1975, 1, 1) + timedelta(days=index % 9000), "female", 1)
    child = next_valid_iin(date(2012, 1, 1) + timedelta(days=index % 4000), "male", 1)
    envelope = TaskAssignedEnvelope(
        message_id=uuid.uuid4(),
        correlation_id=str(uuid.uuid4()),
        occurred_at=now,
        payload=TaskAssigned(
            task_id=str(uuid.uuid4()),
            plan_id=str(uuid.uuid4()),
            centre="demo-centre",
            agency=agency,
            title=f"Мероприятие {index % 4 + 1} (нагрузочный тест)",
            description="Проверка пропускной способности шлюза.",
            due_date=now.date() + timedelta(days=30),
            beneficiaries=[
                Beneficiary(iin=parent, last_name="Сериккызы", first_name="Гульнар"),
                Beneficiary(iin=child, last_name="Серикулы", first_name="Арман"),
            ],
        ),
    )
    return envelope.model_dump_json().encode()


def status_body(task_id: str, plan_id: str, agency: str, status: ReportStatus) -> bytes:
    envelope = StatusEnvelope(
        message_id=uuid.uuid4(),
        correlation_id=plan_id,
        occurred_at=datetime.now(UTC),
        payload=StatusReport(
            task_id=task_id, agency=agency, status=status, reported_at=datetime.now(UTC)
        ),
    )
    return envelope.model_dump_json().encode()


def rate(done: int, seconds: float | None) -> float | None:
    if seconds is None or seconds <= 0 or done <= 0:
        return None
    return round(done / seconds, 1)


def ratio(gateway: float | None, baseline: float | None) -> float | None:
    """Gateway tasks/s over baseline tasks/s; None when either is missing."""
    if gateway is None or baseline is None or baseline <= 0:
        return None
    return round(gateway / baseline, 3)


class _Pipeline:
    def __init__(self, topology: Topology, tasks: int) -> None:
        self.topology = topology
        self.tasks = tasks
        self.done = 0
        self.all_done = asyncio.Event()
        self.last_done_at: float | None = None
        self.collector_channel: AbstractChannel | None = None

    async def body(self, connection: aio_pika.abc.AbstractConnection, agency: str) -> None:
        publish = await connection.channel(publisher_confirms=True, on_return_raises=True)
        status = await publish.get_exchange(self.topology.status_exchange, ensure=False)
        consume = await connection.channel(publisher_confirms=False)
        await consume.set_qos(prefetch_count=BODY_PREFETCH)
        queue = await consume.get_queue(self.topology.agency_queue(agency), ensure=False)

        async def on_task(message: AbstractIncomingMessage) -> None:
            payload = json.loads(message.body)["payload"]
            for report in REPORTS:
                await status.publish(
                    persistent_message(
                        status_body(payload["task_id"], payload["plan_id"], agency, report),
                        message_id=str(uuid.uuid4()),
                        correlation_id=payload["plan_id"],
                        message_type=MessageType.task_status.value,
                    ),
                    routing_key=STATUS_ROUTING_KEY,
                    mandatory=True,
                )
            await message.ack()

        await queue.consume(on_task)

    async def collector(self, connection: aio_pika.abc.AbstractConnection) -> None:
        channel = await connection.channel(publisher_confirms=True)
        self.collector_channel = channel
        await channel.set_qos(prefetch_count=COLLECTOR_PREFETCH)
        queue = await channel.get_queue(self.topology.status_queue, ensure=False)

        async def on_status(message: AbstractIncomingMessage) -> None:
            status = json.loads(message.body)["payload"]["status"]
            await message.ack()
            if status == ReportStatus.done.value:
                self.done += 1
                if self.done >= self.tasks:
                    self.last_done_at = time.perf_counter()
                    self.all_done.set()

        await queue.consume(on_status)


async def _publish_all(
    channel: AbstractChannel, exchange: AbstractExchange, bodies: Sequence[tuple[str, bytes]]
) -> None:
    for start in range(0, len(bodies), RELAY_BATCH):
        batch = bodies[start : start + RELAY_BATCH]
        await asyncio.gather(
            *(
                exchange.publish(
                    persistent_message(
                        body,
                        message_id=str(uuid.uuid4()),
                        correlation_id="",
                        message_type=MessageType.task_assigned.value,
                        headers={"schema_version": 1},
                    ),
                    routing_key=agency,
                    mandatory=True,
                )
                for agency, body in batch
            )
        )


async def run_baseline(
    amqp_url: str, prefix: str, agencies: Sequence[str], tasks: int, *, give_up_after: float = 120.0
) -> BaselineResult:
    """Carry `tasks` tasks through the bare pipeline; the clock runs from the first publish
    to the last `done` consumed."""
    topology = Topology(
        prefix=f"{prefix}-baseline-{uuid.uuid4().hex[:6]}", agencies=tuple(agencies)
    )
    now = datetime.now(UTC)
    bodies = [
        (agencies[i % len(agencies)], task_body(i, agencies[i % len(agencies)], now))
        for i in range(tasks)
    ]
    pipeline = _Pipeline(topology, tasks)
    # Three connections, as in the real system: the gateway's relay and collector share
    # one, the bodies another; the producer gets its own so it is not slowed by the bodies.
    gateway_side = await aio_pika.connect(amqp_url)
    bodies_side = await aio_pika.connect(amqp_url)
    timed_out = False
    started = time.perf_counter()
    cpu_seconds = 0.0
    try:
        setup = await gateway_side.channel()
        await topology.declare(setup)
        for agency in agencies:
            await pipeline.body(bodies_side, agency)
        await pipeline.collector(gateway_side)
        publisher = await gateway_side.channel(publisher_confirms=True, on_return_raises=True)
        tasks_exchange = await publisher.get_exchange(topology.tasks_exchange, ensure=False)
        started = time.perf_counter()
        cpu_started = time.process_time()
        await _publish_all(publisher, tasks_exchange, bodies)
        try:
            async with asyncio.timeout(give_up_after):
                await pipeline.all_done.wait()
        except TimeoutError:
            timed_out = True
        cpu_seconds = time.process_time() - cpu_started
    finally:
        # Consumers go first, so deleting the queues under them cancels nothing.
        await bodies_side.close()
        if pipeline.collector_channel is not None:
            await pipeline.collector_channel.close()
        with contextlib.suppress(Exception):
            cleanup = await gateway_side.channel()
            await topology.delete(cleanup)
        await gateway_side.close()
    seconds = None if pipeline.last_done_at is None else pipeline.last_done_at - started
    return BaselineResult(
        tasks=tasks,
        tasks_done=pipeline.done,
        seconds=None if seconds is None else round(seconds, 3),
        tasks_per_second=rate(pipeline.done, seconds),
        timed_out=timed_out,
        cpu_seconds=round(cpu_seconds, 3),
    )
