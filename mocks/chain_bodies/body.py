"""One mock body of the kandas chain: takes its steps from its queue, decides, signs, reports.

It stands for the information system of a career centre, labour mobility centre or local
executive body. It knows the wire contract (`contracts.cases`, `contracts.signing`,
`contracts.amqp`) and its officials' keys from the mock certification authority's files,
and nothing of the gateway.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import aio_pika
from aio_pika.abc import AbstractIncomingMessage, AbstractRobustConnection
from pydantic import TypeAdapter, ValidationError

from contracts.amqp import STATUS_ROUTING_KEY, Topology, persistent_message
from contracts.cases import (
    CaseInbound,
    Decision,
    StepAssignedEnvelope,
    StepDecision,
    StepDecisionEnvelope,
)
from contracts.signing import DataValue, HandoverStatement
from mocks.ca.signing import load_official
from mocks.chain_bodies.journal import Journal, Pending

log = logging.getLogger("mocks.chain_bodies")

_INBOUND: TypeAdapter[Any] = TypeAdapter(CaseInbound)

REMARKS = {
    "lmc_review": "Не заполнены сведения о близких родственниках (родители, дети) по данным ЦКС",
}
DEFAULT_REMARKS = "Заявление возвращено на доработку: уточните сведения"


@dataclass
class Behaviour:
    work_seconds: float = 1.0
    return_at: frozenset[str] = frozenset()
    refuse_at: frozenset[str] = frozenset()
    silent: set[str] = field(default_factory=set)  # bodies that take nothing (admin)


def data_for(requires: list[str], people: int, today: date) -> dict[str, DataValue]:
    """What a forward at this step must carry, filled the way an official would."""
    values: dict[str, DataValue] = {
        "outcome": "interested",
        "route": "Шымкент — Петропавловск",
        "relocation_date": (today + timedelta(days=7)).isoformat(),
        "transport": "rail",
        "members_arriving": max(1, people),
        "quota_applied": True,
        "arrival_date": (today + timedelta(days=8)).isoformat(),
        "housing": "none",
    }
    # `labour_market_draft` is not here: the draft is the labour market system's, and the
    # gateway checks the body forwards the one it made; this mock cannot know it.
    return {key: values[key] for key in requires if key in values}


def decide(
    assignment: dict[str, Any], behaviour: Behaviour, returned_before: int
) -> tuple[Decision, str | None, dict[str, DataValue]]:
    step = assignment["step"]
    allowed = assignment["decisions"]
    if step in behaviour.refuse_at and "refuse" in allowed:
        return Decision.refuse, "Кандас отказался от переезда", {}
    if step in behaviour.return_at and "return" in allowed and returned_before == 0:
        return Decision.return_, REMARKS.get(step, DEFAULT_REMARKS), {}
    data = data_for(assignment["requires"], len(assignment["people"]), datetime.now(UTC).date())
    return Decision.forward, None, data


class ChainBody:
    def __init__(
        self,
        code: str,
        connection: AbstractRobustConnection,
        topology: Topology,
        journal: Journal,
        ca_dir: Path,
        behaviour: Behaviour,
    ) -> None:
        self.code = code
        self._connection = connection
        self._topology = topology
        self._journal = journal
        self._ca_dir = ca_dir
        self._behaviour = behaviour
        self._wake = asyncio.Event()

    async def start(self) -> None:
        channel = await self._connection.channel()
        await Topology(self._topology.prefix, (self.code,), self._topology.delivery_limit).declare(
            channel
        )
        await channel.set_qos(prefetch_count=50)
        queue = await channel.get_queue(self._topology.agency_queue(self.code), ensure=False)
        await queue.consume(self._on_message)
        self._publish = await self._connection.channel(publisher_confirms=True)

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        if self.code in self._behaviour.silent:
            await message.nack(requeue=True)
            await asyncio.sleep(1)
            return
        try:
            envelope = _INBOUND.validate_json(message.body)
        except ValidationError as error:
            log.warning(
                "%s: unparseable message %s: %s", self.code, message.message_id, str(error)[:200]
            )
            await message.reject(requeue=False)  # to the dead letters
            return
        payload = envelope.payload
        if isinstance(envelope, StepAssignedEnvelope):
            fresh = self._journal.take(
                str(envelope.message_id), payload.model_dump(mode="json"), time.time()
            )
            if fresh:
                self._wake.set()
        else:
            self._journal.withdraw(payload.case_id, payload.step, payload.round)
        await message.ack()

    async def work(self) -> None:
        """Decide what is due and publish what is decided, again after a restart."""
        while True:
            now = time.time()
            due = now + 3600.0
            for pending in self._journal.pending():
                ready_at = pending.taken_at + self._behaviour.work_seconds
                if pending.decision is None and ready_at > now:
                    due = min(due, ready_at)
                    continue
                try:
                    await self._settle(pending)
                except Exception:
                    log.exception(
                        "%s: deciding %s failed; trying again", self.code, pending.message_id
                    )
                    due = min(due, now + 2.0)
            self._wake.clear()
            try:
                async with asyncio.timeout(max(0.02, due - time.time())):
                    await self._wake.wait()
            except TimeoutError:
                pass

    async def _settle(self, pending: Pending) -> None:
        decision_json, decision_id = pending.decision, pending.decision_id
        if decision_json is None:
            decision_json = self._signed(pending.assignment).model_dump_json()
            decision_id = self._journal.decide(pending.message_id, decision_json)
        assert decision_id is not None
        decision = StepDecision.model_validate_json(decision_json)
        envelope = StepDecisionEnvelope(
            message_id=decision_id,
            correlation_id=decision.case_id,
            occurred_at=decision.signed_at,
            payload=decision,
        )
        exchange = await self._publish.get_exchange(self._topology.status_exchange, ensure=False)
        await exchange.publish(
            persistent_message(
                envelope.model_dump_json().encode(),
                message_id=decision_id,
                correlation_id=decision.case_id,
                message_type="case.decision",
            ),
            routing_key=STATUS_ROUTING_KEY,
            mandatory=True,
        )
        self._journal.published(pending.message_id)
        log.info(
            "%s: %s at %s (case %s)",
            self.code,
            decision.decision.value,
            decision.step,
            decision.case_id,
        )

    def _signed(self, assignment: dict[str, Any]) -> StepDecision:
        returned = self._journal.rounds_returned(assignment["case_id"], assignment["step"])
        choice, remarks, data = decide(assignment, self._behaviour, returned)
        statement = HandoverStatement(
            case_id=assignment["case_id"],
            flow=assignment["flow"],
            step=assignment["step"],
            round=assignment["round"],
            body=self.code,
            decision=choice.value,
            remarks=remarks,
            data=data,
            signed_at=datetime.now(UTC).replace(microsecond=0),
        )
        official = load_official(self._ca_dir, f"{self.code}_{assignment['role']}")
        return StepDecision(
            case_id=statement.case_id,
            step=statement.step,
            round=statement.round,
            body=self.code,
            decision=choice,
            remarks=remarks,
            data=data,
            signed_at=statement.signed_at,
            signature=official.sign(statement),
        )


async def run(
    codes: list[str],
    amqp_url: str,
    prefix: str,
    state_dir: Path,
    ca_dir: Path,
    behaviour: Behaviour,
    stop: asyncio.Event,
) -> None:
    connection = await aio_pika.connect_robust(amqp_url)
    topology = Topology(prefix, tuple(codes))
    bodies = []
    for code in codes:
        body = ChainBody(
            code, connection, topology, Journal(state_dir / f"{code}.sqlite3"), ca_dir, behaviour
        )
        await body.start()
        bodies.append(body)
    workers = [asyncio.create_task(b.work()) for b in bodies]
    log.info("mock chain bodies running: %s", ", ".join(codes))
    try:
        await stop.wait()
    finally:
        for worker in workers:
            worker.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        await connection.close()
