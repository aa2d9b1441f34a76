"""The kandas chain's mock bodies against the real RabbitMQ, with the test playing the gateway.

Each test gets its own name prefix, so tests never see each other's messages. The test
sends step assignments as the gateway would, reads the decisions from the status queue,
and verifies every signature against a tiny CA of its own (`tests/kandas_ca.py`), which
writes the same files as the mock CA.
"""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from uuid import UUID, uuid4

import aio_pika
import httpx
import pytest
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage, AbstractRobustConnection
from cryptography.exceptions import InvalidSignature

from contracts.amqp import Topology, persistent_message
from contracts.cases import (
    CaseMessageType,
    Decision,
    Person,
    Relation,
    StepAssigned,
    StepAssignedEnvelope,
    StepDecision,
    StepDecisionEnvelope,
    StepWithdrawn,
    StepWithdrawnEnvelope,
)
from contracts.iin import next_valid_iin
from contracts.signing import HandoverStatement
from mocks.admin.clock import MockClock
from mocks.kandas_bodies.admin_api import BodiesAdmin
from mocks.kandas_bodies.body import decision_message_id
from mocks.kandas_bodies.config import Behaviour
from mocks.kandas_bodies.faults import FaultKind, FaultSpec
from mocks.kandas_bodies.journal import count_taken, journal, steps
from mocks.kandas_bodies.officials import Officials
from mocks.kandas_bodies.runner import run_bodies
from mocks.kandas_bodies.schema import Effect, StepState, database_path
from mocks.kandas_bodies.store import BodyStore, StepKey
from tests.conftest import AMQP_URL
from tests.kandas_ca import BODIES, FLOW, TinyCA, make_test_ca, role_of

pytestmark = pytest.mark.integration

DELIVERY_LIMIT = 2
FAST = Behaviour.of(work_seconds=0.05)

#: The chain's steps as the flow defines them (order 170): body, role, decisions, requires.
STEPS: dict[str, tuple[str, str, tuple[str, ...], tuple[str, ...]]] = {
    "cc_check": ("cc_turkestan", "specialist", ("forward", "refuse"), ()),
    "lmc_review": ("lmc_turkestan", "head", ("forward", "return"), ()),
    "leb_departure": ("leb_turkestan", "head", ("forward", "return"), ()),
    "leb_settlement": ("leb_north_kazakhstan", "specialist", ("forward", "return"), ()),
    "lmc_settlement": ("lmc_north_kazakhstan", "specialist", ("forward",), ("outcome",)),
    "relocation": (
        "lmc_north_kazakhstan",
        "specialist",
        ("forward",),
        ("route", "relocation_date", "transport", "members_arriving"),
    ),
    "unemployment": ("cc_north_kazakhstan", "specialist", ("forward",), ("labour_market_draft",)),
    "cc_plan": ("cc_north_kazakhstan", "specialist", ("forward",), ()),
    "kandas_confirm": (
        "cc_north_kazakhstan",
        "specialist",
        ("forward", "refuse"),
        ("quota_applied", "arrival_date", "housing"),
    ),
}


# -- the gateway's side ------------------------------------------------------------------


@dataclass
class Received:
    envelope: StepDecisionEnvelope
    message: AbstractIncomingMessage

    @property
    def decision(self) -> StepDecision:
        return self.envelope.payload


@dataclass
class FakeGateway:
    prefix: str
    topology: Topology
    channel: AbstractChannel
    decisions: asyncio.Queue[Received] = field(default_factory=asyncio.Queue)

    async def send(self, envelope: StepAssignedEnvelope | StepWithdrawnEnvelope) -> None:
        await self.send_raw(
            envelope.model_dump_json().encode(),
            body=envelope.payload.body,
            message_id=str(envelope.message_id),
            message_type=envelope.type.value,
        )

    async def send_raw(
        self, payload: bytes, *, body: str, message_id: str, message_type: str
    ) -> None:
        tasks = await self.channel.get_exchange(self.topology.tasks_exchange, ensure=False)
        message = persistent_message(
            payload, message_id=message_id, correlation_id="case", message_type=message_type
        )
        await tasks.publish(message, routing_key=body, mandatory=True)

    async def expect(self, count: int = 1, within: float = 10.0) -> list[Received]:
        async with asyncio.timeout(within):
            return [await self.decisions.get() for _ in range(count)]

    async def quiet(self, seconds: float) -> list[Received]:
        """Whatever arrives within `seconds`: proves that nothing more is coming."""
        extra: list[Received] = []
        loop = asyncio.get_running_loop()
        until = loop.time() + seconds
        while (left := until - loop.time()) > 0:
            try:
                extra.append(await asyncio.wait_for(self.decisions.get(), left))
            except TimeoutError:
                break
        return extra

    async def dead_letters(
        self, body: str, count: int, within: float = 10.0
    ) -> list[AbstractIncomingMessage]:
        queue = await self.channel.get_queue(self.topology.dead_queue(body), ensure=False)
        found: list[AbstractIncomingMessage] = []
        async with asyncio.timeout(within):
            while len(found) < count:
                message = await queue.get(no_ack=True, fail=False)
                if message is None:
                    await asyncio.sleep(0.05)
                else:
                    found.append(message)
        return found

    async def ready(self, body: str) -> int:
        """Messages waiting, undelivered, in the body's queue."""
        # aio-pika's own passive declaration reports 0 for a quorum queue; the protocol
        # answer (Queue.DeclareOk) has the true count.
        underlay = await self.channel.get_underlay_channel()
        answer = await underlay.queue_declare(self.topology.agency_queue(body), passive=True)
        count = answer.message_count
        assert count is not None
        return count


@pytest.fixture(scope="session")
def ca(tmp_path_factory: pytest.TempPathFactory) -> TinyCA:
    return make_test_ca(tmp_path_factory.mktemp("ca"))


@pytest.fixture
async def gateway() -> AsyncIterator[FakeGateway]:
    prefix = f"t{uuid4().hex[:8]}"
    topology = Topology(prefix, tuple(sorted(BODIES)), DELIVERY_LIMIT)
    connection: AbstractRobustConnection = await aio_pika.connect_robust(AMQP_URL)
    try:
        channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
        await topology.declare(channel)
        fake = FakeGateway(prefix, topology, channel)

        async def collect(message: AbstractIncomingMessage) -> None:
            envelope = StepDecisionEnvelope.model_validate_json(message.body)
            await fake.decisions.put(Received(envelope, message))
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
async def mock_bodies(
    gateway: FakeGateway,
    state_dir: Path,
    ca: TinyCA,
    behaviour: Behaviour = FAST,
    admin: BodiesAdmin | None = None,
    bodies: tuple[str, ...] = tuple(BODIES),
) -> AsyncIterator[BodiesAdmin]:
    admin = admin or BodiesAdmin(state_dir, bodies)
    stop = asyncio.Event()
    runner = asyncio.create_task(
        run_bodies(
            bodies,
            amqp_url=AMQP_URL,
            prefix=gateway.prefix,
            state_dir=state_dir,
            ca_dir=ca.directory,
            behaviour=behaviour,
            stop=stop,
            delivery_limit=DELIVERY_LIMIT,
            admin=admin,
        )
    )
    try:
        async with asyncio.timeout(15):
            while not all(database_path(state_dir, b).exists() for b in bodies):
                if runner.done():
                    runner.result()
                await asyncio.sleep(0.02)
        await asyncio.sleep(0.1)  # the consumers are registered right after the stores
        yield admin
    finally:
        stop.set()
        await asyncio.wait_for(runner, 20)


# -- messages --------------------------------------------------------------------------


def family(size: int = 3) -> list[Person]:
    relations = (Relation.applicant, Relation.spouse, Relation.child, Relation.child)
    return [
        Person(iin=next_valid_iin(date(1980 + 10 * (i // 2), 5, 1), "male", 100 + i), relation=r)
        for i, r in enumerate(relations[:size])
    ]


def assigned(
    step: str, *, case_id: str | None = None, round_: int = 0, people: int = 3
) -> StepAssignedEnvelope:
    body, role, decisions, requires = STEPS[step]
    case_id = case_id or str(uuid4())
    now = datetime.now(UTC)
    return StepAssignedEnvelope(
        message_id=uuid4(),
        correlation_id=case_id,
        occurred_at=now,
        sent_at=now,
        payload=StepAssigned(
            case_id=case_id,
            flow=FLOW,
            step=step,
            round=round_,
            body=body,
            region=BODIES[body],
            title="Шаг заявления кандаса",
            role=role,
            due_at=now + timedelta(days=1),
            decisions=[Decision(d) for d in decisions],
            requires=list(requires),
            people=family(people),
            remarks="Вернули на доработку" if round_ else None,
        ),
    )


def withdrawn(step: StepAssignedEnvelope) -> StepWithdrawnEnvelope:
    p = step.payload
    return StepWithdrawnEnvelope(
        message_id=uuid4(),
        correlation_id=p.case_id,
        occurred_at=datetime.now(UTC),
        payload=StepWithdrawn(
            case_id=p.case_id, step=p.step, round=p.round, body=p.body, reason="Заявление отозвано"
        ),
    )


def check_signed(ca: TinyCA, received: Received, sent: StepAssignedEnvelope) -> StepDecision:
    """What the gateway would check of a decision, and the message's properties."""
    decision = received.decision
    p = sent.payload
    assert (decision.case_id, decision.step, decision.round, decision.body) == (
        p.case_id,
        p.step,
        p.round,
        p.body,
    )
    certificate = ca.verify(decision)
    assert role_of(certificate) == p.role
    message = received.message
    assert message.type == CaseMessageType.decision.value
    assert message.correlation_id == p.case_id
    assert message.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
    assert message.message_id == str(received.envelope.message_id)
    assert received.envelope.correlation_id == p.case_id
    return decision


# -- tests -----------------------------------------------------------------------------


async def test_each_step_is_forwarded_signed_with_the_data_it_requires(
    gateway: FakeGateway, tmp_path: Path, ca: TinyCA
) -> None:
    sent = {name: assigned(name) for name in STEPS}
    async with mock_bodies(gateway, tmp_path, ca):
        for envelope in sent.values():
            await gateway.send(envelope)
        got = {r.decision.step: r for r in await gateway.expect(len(sent))}
    assert set(got) == set(STEPS)
    for name, envelope in sent.items():
        decision = check_signed(ca, got[name], envelope)
        assert decision.decision is Decision.forward
        assert set(decision.data) == set(envelope.payload.requires)

    relocation = got["relocation"].decision.data
    assert relocation["route"] == "Шымкент — Петропавловск"
    assert relocation["transport"] == "rail"
    assert relocation["members_arriving"] == 3
    moved = date.fromisoformat(str(relocation["relocation_date"]))
    assert 0 < (moved - date.today()).days <= 7
    assert got["lmc_settlement"].decision.data == {"outcome": "interested"}
    confirm = got["kandas_confirm"].decision.data
    assert confirm["quota_applied"] is True and confirm["housing"] == "none"
    assert date.fromisoformat(str(confirm["arrival_date"])) >= moved
    case = sent["unemployment"].payload.case_id
    assert got["unemployment"].decision.data == {"labour_market_draft": "LM-" + case[:8]}
    # The head of the labour mobility centre signs p.9, a specialist p.8.
    lmc = ca.official("lmc_turkestan", "head")
    record = next(r for r in steps(tmp_path, "lmc_turkestan"))
    assert record.signer == lmc["login"] and record.state is StepState.published


async def test_a_decision_signed_over_other_data_does_not_verify(
    gateway: FakeGateway, tmp_path: Path, ca: TinyCA
) -> None:
    """The check the other tests rely on can fail: a changed field breaks the signature."""
    envelope = assigned("relocation")
    async with mock_bodies(gateway, tmp_path, ca):
        await gateway.send(envelope)
        (received,) = await gateway.expect()
    ca.verify(received.decision)
    forged = received.decision.model_copy(
        update={"data": {**received.decision.data, "members_arriving": 9}}
    )
    with pytest.raises(InvalidSignature):
        ca.verify(forged)


async def test_return_at_returns_round_zero_with_remarks_and_forwards_later_rounds(
    gateway: FakeGateway, tmp_path: Path, ca: TinyCA
) -> None:
    behaviour = Behaviour.of(work_seconds=0.05, return_at=["lmc_review"])
    first = assigned("lmc_review")
    case = first.payload.case_id
    async with mock_bodies(gateway, tmp_path, ca, behaviour):
        await gateway.send(first)
        (returned,) = await gateway.expect()
        again = assigned("lmc_review", case_id=case, round_=1)
        await gateway.send(again)
        (forwarded,) = await gateway.expect()
        other = assigned("leb_departure", case_id=case)
        await gateway.send(other)
        (untouched,) = await gateway.expect()

    decision = check_signed(ca, returned, first)
    assert decision.decision is Decision.return_
    assert decision.remarks is not None and "близких родственниках" in decision.remarks
    assert "ЦКС" in decision.remarks
    assert check_signed(ca, forwarded, again).decision is Decision.forward
    assert check_signed(ca, untouched, other).decision is Decision.forward
    assert returned.envelope.message_id != forwarded.envelope.message_id


async def test_refuse_at_refuses_with_a_reason(
    gateway: FakeGateway, tmp_path: Path, ca: TinyCA
) -> None:
    behaviour = Behaviour.of(work_seconds=0.05, refuse_at=["kandas_confirm"])
    envelope = assigned("kandas_confirm")
    async with mock_bodies(gateway, tmp_path, ca, behaviour):
        await gateway.send(envelope)
        (received,) = await gateway.expect()
    decision = check_signed(ca, received, envelope)
    assert decision.decision is Decision.refuse
    assert decision.remarks is not None and "отказался" in decision.remarks
    assert decision.data == {}


async def test_a_redelivered_message_is_taken_and_decided_once(
    gateway: FakeGateway, tmp_path: Path, ca: TinyCA
) -> None:
    envelope = assigned("cc_check")
    p = envelope.payload
    # The same step again under a new message id: still one visit of the step.
    resent = envelope.model_copy(update={"message_id": uuid4()})
    async with mock_bodies(gateway, tmp_path, ca, Behaviour.of(work_seconds=0.3)):
        await gateway.send(envelope)
        await gateway.send(envelope)
        await gateway.send(resent)
        (received,) = await gateway.expect()
        assert await gateway.quiet(1.0) == []
    check_signed(ca, received, envelope)
    effects = [e.effect for e in journal(tmp_path, p.body)]
    assert effects == [Effect.taken, Effect.duplicate, Effect.ignored]
    assert count_taken(tmp_path, p.body, p.case_id, p.step) == 1
    assert str(received.envelope.message_id) == decision_message_id(
        p.body, StepKey(p.case_id, p.step, p.round)
    )


async def test_a_withdrawal_cancels_the_pending_decision(
    gateway: FakeGateway, tmp_path: Path, ca: TinyCA
) -> None:
    clock = MockClock()
    clock.set(datetime.now(UTC))  # stopped: the work is due only when the test says so
    admin = BodiesAdmin(tmp_path, tuple(BODIES), clock=clock)
    keep, drop = assigned("leb_settlement"), assigned("leb_settlement")
    body = keep.payload.body
    async with mock_bodies(gateway, tmp_path, ca, Behaviour.of(work_seconds=60), admin):
        await gateway.send(keep)
        await gateway.send(drop)
        await gateway.send(withdrawn(drop))
        await _until(lambda: len(journal(tmp_path, body)) == 3)
        clock.advance(61)
        admin.clock_changed()
        (received,) = await gateway.expect()
        assert await gateway.quiet(0.5) == []
    assert received.decision.case_id == keep.payload.case_id
    records = {r.case_id: r for r in steps(tmp_path, body)}
    assert records[drop.payload.case_id].state is StepState.withdrawn
    assert records[drop.payload.case_id].withdrawn_reason == "Заявление отозвано"
    assert records[drop.payload.case_id].decision is None


async def test_a_withdrawal_that_overtakes_its_assignment_still_wins(
    gateway: FakeGateway, tmp_path: Path, ca: TinyCA
) -> None:
    envelope = assigned("cc_plan")
    async with mock_bodies(gateway, tmp_path, ca):
        await gateway.send(withdrawn(envelope))
        await gateway.send(envelope)
        assert await gateway.quiet(0.8) == []
    effects = [e.effect for e in journal(tmp_path, envelope.payload.body)]
    assert effects == [Effect.withdrawn, Effect.ignored]


async def test_a_restarted_body_decides_the_work_it_had_taken(
    gateway: FakeGateway, tmp_path: Path, ca: TinyCA
) -> None:
    behaviour = Behaviour.of(work_seconds=1.5)
    envelope = assigned("leb_departure")
    body = envelope.payload.body
    async with mock_bodies(gateway, tmp_path, ca, behaviour, bodies=(body,)):
        await gateway.send(envelope)
        await _until(
            lambda: count_taken(tmp_path, body, envelope.payload.case_id, "leb_departure") == 1
        )
    # Stopped before the working time was over: nothing was decided, nothing lost.
    assert [r.state for r in steps(tmp_path, body)] == [StepState.working]
    assert await gateway.ready(body) == 0  # the message was acked, the journal has it
    async with mock_bodies(gateway, tmp_path, ca, behaviour, bodies=(body,)):
        (received,) = await gateway.expect()
        assert await gateway.quiet(0.5) == []
    check_signed(ca, received, envelope)


async def test_a_decision_recorded_before_a_crash_is_sent_with_its_id(
    gateway: FakeGateway, tmp_path: Path, ca: TinyCA
) -> None:
    """A crash between the journal's commit and the publish: the restarted body sends the
    recorded decision itself (same message id, same signature), not a new one."""
    envelope = assigned("lmc_review")
    p = envelope.payload
    key = StepKey(p.case_id, p.step, p.round)
    store = await BodyStore.open(database_path(tmp_path, p.body), work_seconds=0)
    try:
        assert await store.accept(envelope) is Effect.taken
        official = Officials(ca.directory).for_step(p.body, p.role)
        signed_at = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=3)
        statement = HandoverStatement(
            case_id=p.case_id,
            flow=FLOW,
            step=p.step,
            round=p.round,
            body=p.body,
            decision="forward",
            signed_at=signed_at,
        )
        decision = StepDecision(
            case_id=p.case_id,
            step=p.step,
            round=p.round,
            body=p.body,
            decision=Decision.forward,
            signed_at=signed_at,
            signature=official.sign(statement),
        )
        message_id = decision_message_id(p.body, key)
        assert await store.record_decision(
            key, message_id, decision.model_dump_json(), "forward", official.login
        )
    finally:
        await store.close()

    async with mock_bodies(gateway, tmp_path, ca, bodies=(p.body,)):
        (received,) = await gateway.expect()
        # The broker redelivers the assignment (its ack was lost in the crash, say).
        await gateway.send(envelope)
        assert await gateway.quiet(0.8) == []
    assert received.envelope.message_id == UUID(message_id)
    assert received.decision.signed_at == signed_at
    assert received.decision.signature == decision.signature
    check_signed(ca, received, envelope)
    assert steps(tmp_path, p.body)[0].state is StepState.published


async def test_a_poison_message_is_dead_lettered_and_the_body_goes_on(
    gateway: FakeGateway, tmp_path: Path, ca: TinyCA
) -> None:
    body = "cc_turkestan"
    good = assigned("cc_check")
    misaddressed = assigned("lmc_review")  # another body's step on this body's queue
    async with mock_bodies(gateway, tmp_path, ca, bodies=(body,)):
        await gateway.send_raw(b"{not json", body=body, message_id="poison-1", message_type="x")
        await gateway.send_raw(
            misaddressed.model_dump_json().encode(),
            body=body,
            message_id="poison-2",
            message_type=CaseMessageType.step_assigned.value,
        )
        await gateway.send(good)
        dead = await gateway.dead_letters(body, 2)
        (received,) = await gateway.expect()
    assert sorted(m.message_id or "" for m in dead) == ["poison-1", "poison-2"]
    check_signed(ca, received, good)
    assert [e.message_id for e in journal(tmp_path, body)] == [str(good.message_id)]


async def test_faults_return_next_delay_crash_and_silent(
    gateway: FakeGateway, tmp_path: Path, ca: TinyCA
) -> None:
    body = "leb_turkestan"
    admin = BodiesAdmin(tmp_path, (body,))
    async with mock_bodies(gateway, tmp_path, ca, admin=admin, bodies=(body,)):
        # return_next: the next step that may be returned is, with the given remarks.
        admin.faults.add(
            FaultSpec(body=body, kind=FaultKind.RETURN_NEXT, remarks="Уточните адрес выбытия")
        )
        first, second = assigned("leb_departure"), assigned("leb_departure")
        await gateway.send(first)
        (returned,) = await gateway.expect()
        await gateway.send(second)
        (forwarded,) = await gateway.expect()
        assert check_signed(ca, returned, first).remarks == "Уточните адрес выбытия"
        assert check_signed(ca, forwarded, second).decision is Decision.forward

        # crash: never taken, dead-lettered past the delivery limit.
        admin.faults.add(FaultSpec(body=body, kind=FaultKind.CRASH, times=DELIVERY_LIMIT + 1))
        crashed = assigned("leb_departure")
        await gateway.send(crashed)
        (dead,) = await gateway.dead_letters(body, 1)
        assert dead.message_id == str(crashed.message_id)
        admin.faults.clear()

        # silent: nothing is taken while the rule stands; removing it lets the step in.
        rule = admin.faults.add(FaultSpec(body=body, kind=FaultKind.SILENT))
        admin.faults_changed()
        waiting = assigned("leb_departure")
        await asyncio.sleep(0.2)
        await gateway.send(waiting)
        assert await gateway.quiet(0.8) == []
        assert await gateway.ready(body) == 1
        admin.faults.remove(rule.id)
        admin.faults_changed()
        (late,) = await gateway.expect()
        check_signed(ca, late, waiting)

    taken = [e.message_id for e in journal(tmp_path, body) if e.effect is Effect.taken]
    assert str(crashed.message_id) not in taken
    assert taken == [str(first.message_id), str(second.message_id), str(waiting.message_id)]
    first_record = steps(tmp_path, body)[0]
    assert first_record.fault is not None and first_record.fault["kind"] == "return"


async def test_a_delay_fault_is_kept_across_a_restart(
    gateway: FakeGateway, tmp_path: Path, ca: TinyCA
) -> None:
    body = "cc_north_kazakhstan"
    clock = MockClock()
    clock.set(datetime.now(UTC))
    admin = BodiesAdmin(tmp_path, (body,), clock=clock)
    admin.faults.add(FaultSpec(body=body, kind=FaultKind.DELAY, delay_seconds=3600))
    envelope = assigned("cc_plan")
    async with mock_bodies(gateway, tmp_path, ca, FAST, admin, bodies=(body,)):
        await gateway.send(envelope)
        await _until(lambda: len(journal(tmp_path, body)) == 1)
        clock.advance(60)
        admin.clock_changed()
        assert await gateway.quiet(0.5) == []
    admin.faults.clear()  # the delay was pinned to the step when it was taken
    async with mock_bodies(gateway, tmp_path, ca, FAST, admin, bodies=(body,)):
        assert await gateway.quiet(0.5) == []
        clock.advance(3600)
        admin.clock_changed()
        (received,) = await gateway.expect()
    check_signed(ca, received, envelope)
    assert received.decision.signed_at >= clock.now() - timedelta(seconds=5)


async def test_a_body_without_its_officials_key_waits_and_loses_nothing(
    gateway: FakeGateway, tmp_path: Path, ca: TinyCA
) -> None:
    """The CA starts after the bodies, say: the step is kept until a key is there."""
    body = "lmc_north_kazakhstan"
    empty = tmp_path / "no-ca"
    empty.mkdir()
    envelope = assigned("lmc_settlement")
    missing = TinyCA(empty, ca.root)
    async with mock_bodies(gateway, tmp_path / "state", missing, bodies=(body,)):
        await gateway.send(envelope)
        assert await gateway.quiet(0.8) == []
        for name in ("officials.json", "officials"):
            source = ca.directory / name
            (empty / name).symlink_to(source, target_is_directory=source.is_dir())
        (received,) = await gateway.expect(within=15)
    check_signed(ca, received, envelope)
    assert json.loads(json.dumps(received.decision.data)) == {"outcome": "interested"}


async def _until(condition: object, within: float = 5.0) -> None:
    assert callable(condition)
    async with asyncio.timeout(within):
        while not condition():
            await asyncio.sleep(0.02)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def test_the_command_line_serves_the_bodies_and_their_admin_api(
    gateway: FakeGateway, tmp_path: Path, ca: TinyCA
) -> None:
    """`python -m mocks.kandas_bodies run` as `gateway up` starts it, driven over HTTP."""
    port = _free_port()
    state = tmp_path / "state"
    command = [
        sys.executable, "-m", "mocks.kandas_bodies", "run",
        "--bodies", ",".join(BODIES), "--amqp-url", AMQP_URL, "--prefix", gateway.prefix,
        "--state-dir", str(state), "--ca-dir", str(ca.directory), "--work-seconds", "0.1",
        "--return-at", "lmc_review", "--delivery-limit", str(DELIVERY_LIMIT),
        "--admin-port", str(port),
    ]  # fmt: skip
    proc = await asyncio.create_subprocess_exec(*command)
    base = f"http://127.0.0.1:{port}/__admin"
    try:
        async with httpx.AsyncClient(base_url=base, timeout=5) as client:
            async with asyncio.timeout(20):
                while True:
                    assert proc.returncode is None, "the mock exited"
                    try:
                        if (await client.get("/clock")).status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    await asyncio.sleep(0.1)
            made = await client.post(
                "/faults", json={"body": "cc_turkestan", "kind": "refuse_next"}
            )
            assert made.status_code == 201, made.text
            review, check = assigned("lmc_review"), assigned("cc_check")
            await gateway.send(review)
            await gateway.send(check)
            got = {r.decision.step: r for r in await gateway.expect(2, within=15)}
            assert check_signed(ca, got["lmc_review"], review).decision is Decision.return_
            assert check_signed(ca, got["cc_check"], check).decision is Decision.refuse
            listed = (await client.get("/decisions", params={"state": "published"})).json()
            assert {(d["body"], d["decision"]) for d in listed["decisions"]} == {
                ("lmc_turkestan", "return"),
                ("cc_turkestan", "refuse"),
            }
            assert {d["signer"] for d in listed["decisions"]} == {
                "lmc_turkestan_head",
                "cc_turkestan_specialist",
            }
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 20) == 0
